// SPDX-License-Identifier: Apache-2.0
/*
 * The pure part of the etcd client (lib/kvstore/etcd_json.c): base64,
 * range ends, the JSON of requests, and parsing of responses as the etcd
 * 3.4 gateway writes them (the samples below were taken from one).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/kvstore/etcd_json.h"

static void check_encode(const char *in, size_t len, const char *want)
{
	char *out = etcd_base64__encode(in, len), *back;
	size_t back_len;

	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(etcd_base64__decode(out, strlen(out), &back, &back_len), 0);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, in, len);
	assert_int_equal(back[len], '\0');
	free(out);
	free(back);
}

static void test_base64(void **state)
{
	unsigned char all[256];
	char *out, *back;
	size_t back_len;

	(void)state;
	/* RFC 4648's test vectors. */
	check_encode("", 0, "");
	check_encode("f", 1, "Zg==");
	check_encode("fo", 2, "Zm8=");
	check_encode("foo", 3, "Zm9v");
	check_encode("foob", 4, "Zm9vYg==");
	check_encode("fooba", 5, "Zm9vYmE=");
	check_encode("foobar", 6, "Zm9vYmFy");
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	out = etcd_base64__encode(all, sizeof(all));
	assert_int_equal(etcd_base64__decode(out, strlen(out), &back, &back_len), 0);
	assert_int_equal(back_len, 256);
	assert_memory_equal(back, all, 256);
	free(out);
	free(back);
	/* Refused: bad length, stray padding, foreign characters, non-zero
	 * leftover bits (a second spelling of "f"). */
	assert_int_equal(etcd_base64__decode("Zm9", 3, &back, &back_len), -EINVAL);
	assert_int_equal(etcd_base64__decode("Zm9v=", 5, &back, &back_len), -EINVAL);
	assert_int_equal(etcd_base64__decode("Z===", 4, &back, &back_len), -EINVAL);
	assert_int_equal(etcd_base64__decode("=Zm9", 4, &back, &back_len), -EINVAL);
	assert_int_equal(etcd_base64__decode("Zm!v", 4, &back, &back_len), -EINVAL);
	assert_int_equal(etcd_base64__decode("Zh==", 4, &back, &back_len), -EINVAL);
	assert_int_equal(etcd_base64__decode("Zm\n9v", 5, &back, &back_len), -EINVAL);
}

static void check_end(const char *prefix, size_t len, const char *want, size_t want_len)
{
	char *end;
	size_t end_len;

	assert_int_equal(etcd_prefix__end(prefix, len, &end, &end_len), 0);
	assert_int_equal(end_len, want_len);
	assert_memory_equal(end, want, want_len);
	free(end);
}

static void test_prefix_end(void **state)
{
	(void)state;
	check_end("/w/ip/", 6, "/w/ip0", 6);
	check_end("a", 1, "b", 1);
	check_end("a\xff", 2, "b", 1);
	check_end("\xff\xff", 2, "\0", 1); /* no end: every key */
	check_end("", 0, "\0", 1);
}

static void test_int64(void **state)
{
	json_t *v;
	int64_t out;

	(void)state;
	assert_int_equal(etcd_json__int64(NULL, &out), 0);
	assert_int_equal(out, 0);
#define CHECK(json, ret, want)                                                           \
	do {                                                                             \
		v = json_loads(json, JSON_DECODE_ANY, NULL);                             \
		assert_non_null(v);                                                      \
		assert_int_equal(etcd_json__int64(v, &out), ret);                        \
		if (!(ret))                                                              \
			assert_int_equal(out, want);                                     \
		json_decref(v);                                                          \
	} while (0)
	CHECK("\"42\"", 0, 42);
	CHECK("42", 0, 42);
	CHECK("\"-5\"", 0, -5);
	CHECK("\"9223372036854775807\"", 0, INT64_MAX);
	CHECK("\"9223372036854775808\"", -EINVAL, 0);
	CHECK("\"4x\"", -EINVAL, 0);
	CHECK("\"\"", -EINVAL, 0);
	CHECK("\" 4\"", -EINVAL, 0);
	CHECK("true", -EINVAL, 0);
	CHECK("4.5", -EINVAL, 0);
#undef CHECK
}

static void check_json(json_t *req, const char *want)
{
	char *text;

	assert_non_null(req);
	text = json_dumps(req, JSON_COMPACT);
	assert_string_equal(text, want);
	free(text);
	json_decref(req);
}

static void test_requests(void **state)
{
	(void)state;
	check_json(etcd_json__range_request("/a/", 3, "/a0", 3, 1000, 7, true),
		   "{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\",\"limit\":\"1000\","
		   "\"revision\":\"7\",\"keys_only\":true}");
	check_json(etcd_json__range_request("foo", 3, NULL, 0, 0, 0, false),
		   "{\"key\":\"Zm9v\"}");
	check_json(etcd_json__put_request("foo", "bar", 3, 0),
		   "{\"key\":\"Zm9v\",\"value\":\"YmFy\"}");
	/* Lease IDs beyond 2^53 survive as strings. */
	check_json(etcd_json__put_request("foo", "", 0, 7587861296475133955LL),
		   "{\"key\":\"Zm9v\",\"value\":\"\",\"lease\":\"7587861296475133955\"}");
	check_json(etcd_json__delete_request("/a/", 3, "/a0", 3),
		   "{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\"}");
	check_json(etcd_json__watch_request("/a/", 3, "/a0", 3, 12),
		   "{\"create_request\":{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\","
		   "\"start_revision\":\"12\",\"progress_notify\":true}}");
	check_json(etcd_json__lease_grant_request(10), "{\"TTL\":\"10\"}");
	check_json(etcd_json__lease_id_request(5), "{\"ID\":\"5\"}");
	check_json(etcd_json__compact_request(99),
		   "{\"revision\":\"99\",\"physical\":true}");
}

static void test_txn_request(void **state)
{
	const struct kvstore_cmp cmps[] = {
	    {.key = "/r/",
	     .prefix = true,
	     .target = KVSTORE_CMP_VALUE,
	     .result = KVSTORE_CMP_EQUAL,
	     .value = "300",
	     .value_len = 3},
	    {.key = "m", .target = KVSTORE_CMP_CREATE, .result = KVSTORE_CMP_GREATER},
	    {.key = "m",
	     .target = KVSTORE_CMP_MOD,
	     .result = KVSTORE_CMP_NOT_EQUAL,
	     .revision = 4},
	};
	const struct kvstore_op ok[] = {
	    {.type = KVSTORE_OP_PUT,
	     .key = "/r/n",
	     .value = "300",
	     .value_len = 3,
	     .lease = 9},
	    {.type = KVSTORE_OP_DELETE, .key = "/d/", .prefix = true},
	};
	const struct kvstore_op fail[] = {
	    {.type = KVSTORE_OP_GET, .key = "/r/", .prefix = true, .limit = 1},
	};
	struct kvstore_txn txn = {
	    .compare = cmps,
	    .compare_count = 3,
	    .success = ok,
	    .success_count = 2,
	    .failure = fail,
	    .failure_count = 1,
	};
	struct kvstore_cmp bad = {.key = "m", .target = (enum kvstore_cmp_target)9};
	struct kvstore_op bad_op = {.type = (enum kvstore_op_type)9, .key = "m"};
	int err;

	(void)state;
	check_json(
	    etcd_json__txn_request(&txn, &err),
	    "{\"compare\":["
	    "{\"key\":\"L3Iv\",\"range_end\":\"L3Iw\",\"target\":\"VALUE\","
	    "\"result\":\"EQUAL\",\"value\":\"MzAw\"},"
	    "{\"key\":\"bQ==\",\"target\":\"CREATE\",\"result\":\"GREATER\","
	    "\"create_revision\":\"0\"},"
	    "{\"key\":\"bQ==\",\"target\":\"MOD\",\"result\":\"NOT_EQUAL\","
	    "\"mod_revision\":\"4\"}],"
	    "\"success\":["
	    "{\"request_put\":{\"key\":\"L3Ivbg==\",\"value\":\"MzAw\",\"lease\":\"9\"}},"
	    "{\"request_delete_range\":{\"key\":\"L2Qv\",\"range_end\":\"L2Qw\"}}],"
	    "\"failure\":["
	    "{\"request_range\":{\"key\":\"L3Iv\",\"range_end\":\"L3Iw\",\"limit\":\"1\"}"
	    "}]}");
	assert_int_equal(err, 0);
	/* Invalid pieces are refused, not sent. */
	txn = (struct kvstore_txn){.compare = &bad, .compare_count = 1};
	assert_null(etcd_json__txn_request(&txn, &err));
	assert_int_equal(err, -EINVAL);
	txn = (struct kvstore_txn){.success = &bad_op, .success_count = 1};
	assert_null(etcd_json__txn_request(&txn, &err));
	assert_int_equal(err, -EINVAL);
	/* An empty transaction is valid (it reads the revision). */
	txn = (struct kvstore_txn){0};
	check_json(etcd_json__txn_request(&txn, &err), "{}");
}

static json_t *parse(const char *text)
{
	json_t *root = json_loads(text, 0, NULL);

	assert_non_null(root);
	return root;
}

static void test_range_response(void **state)
{
	json_t *root;
	struct kvstore_kv_list list = {0};
	char msg[256];
	bool more;

	(void)state;
	root = parse(
	    "{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"
	    "\"13668033151171901709\",\"revision\":\"4\",\"raft_term\":\"2\"},"
	    "\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":"
	    "\"2\",\"version\":\"1\",\"value\":\"YmFy\"},{\"key\":\"Zm9vMg==\","
	    "\"create_revision\":\"3\",\"mod_revision\":\"4\",\"version\":\"2\","
	    "\"value\":\"eHg=\",\"lease\":\"7587861296475133955\"}],\"count\":\"2\","
	    "\"more\":true}");
	assert_int_equal(etcd_json__range_response(root, &list, &more, msg, sizeof(msg)),
			 0);
	json_decref(root);
	assert_true(more);
	assert_int_equal(list.revision, 4);
	assert_int_equal(list.count, 2);
	assert_string_equal(list.items[0].key, "foo");
	assert_string_equal(list.items[0].value, "bar");
	assert_int_equal(list.items[0].create_revision, 2);
	assert_int_equal(list.items[0].lease, 0);
	assert_string_equal(list.items[1].key, "foo2");
	assert_int_equal(list.items[1].value_len, 2);
	assert_int_equal(list.items[1].mod_revision, 4);
	assert_int_equal(list.items[1].version, 2);
	assert_int_equal(list.items[1].lease, 7587861296475133955LL);
	/* A second page appends. */
	root = parse("{\"header\":{\"revision\":\"4\"},\"kvs\":[{\"key\":\"eg==\"}]}");
	assert_int_equal(etcd_json__range_response(root, &list, &more, msg, sizeof(msg)),
			 0);
	json_decref(root);
	assert_false(more);
	assert_int_equal(list.count, 3);
	assert_string_equal(list.items[2].key, "z");
	assert_string_equal(list.items[2].value, ""); /* empty value left out */
	kvstore_kv_list__free(&list);

	/* No kvs at all: an empty answer. */
	root = parse("{\"header\":{\"revision\":\"9\"}}");
	assert_int_equal(etcd_json__range_response(root, &list, NULL, msg, sizeof(msg)),
			 0);
	assert_int_equal(list.count, 0);
	assert_int_equal(list.revision, 9);
	json_decref(root);
	kvstore_kv_list__free(&list);

	/* Broken answers say what is wrong. */
	root = parse("{\"kvs\":[{\"key\":\"not base64!\"}]}");
	assert_int_equal(etcd_json__range_response(root, &list, NULL, msg, sizeof(msg)),
			 -EPROTO);
	assert_non_null(strstr(msg, "\"key\" is not base64"));
	json_decref(root);
	kvstore_kv_list__free(&list);
	root = parse("{\"kvs\":{}}");
	assert_int_equal(etcd_json__range_response(root, &list, NULL, msg, sizeof(msg)),
			 -EPROTO);
	json_decref(root);
	kvstore_kv_list__free(&list);
	root = parse("{\"header\":{\"revision\":\"x\"}}");
	assert_int_equal(etcd_json__range_response(root, &list, NULL, msg, sizeof(msg)),
			 -EPROTO);
	assert_non_null(strstr(msg, "revision"));
	json_decref(root);
	kvstore_kv_list__free(&list);
	root = parse("{\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":true}]}");
	assert_int_equal(etcd_json__range_response(root, &list, NULL, msg, sizeof(msg)),
			 -EPROTO);
	json_decref(root);
	kvstore_kv_list__free(&list);
}

static void test_txn_response(void **state)
{
	struct kvstore_txn_result res;
	json_t *root;
	char msg[256];

	(void)state;
	root = parse(
	    "{\"header\":{\"revision\":\"8\"},\"succeeded\":true,\"responses\":["
	    "{\"response_put\":{\"header\":{\"revision\":\"8\"}}},"
	    "{\"response_range\":{\"header\":{\"revision\":\"8\"},\"kvs\":[{\"key\":"
	    "\"bQ==\",\"value\":\"eA==\",\"mod_revision\":\"5\"}],\"count\":\"1\"}},"
	    "{\"response_delete_range\":{\"header\":{},\"deleted\":\"3\"}}]}");
	assert_int_equal(etcd_json__txn_response(root, &res, msg, sizeof(msg)), 0);
	json_decref(root);
	assert_true(res.succeeded);
	assert_int_equal(res.revision, 8);
	assert_int_equal(res.result_count, 3);
	assert_int_equal(res.results[0].type, KVSTORE_OP_PUT);
	assert_int_equal(res.results[1].type, KVSTORE_OP_GET);
	assert_int_equal(res.results[1].range.count, 1);
	assert_string_equal(res.results[1].range.items[0].value, "x");
	assert_int_equal(res.results[2].type, KVSTORE_OP_DELETE);
	assert_int_equal(res.results[2].deleted, 3);
	kvstore_txn_result__free(&res);
	/* A failed comparison with an empty failure branch: just the header. */
	root = parse("{\"header\":{\"revision\":\"9\"}}");
	assert_int_equal(etcd_json__txn_response(root, &res, msg, sizeof(msg)), 0);
	json_decref(root);
	assert_false(res.succeeded);
	assert_int_equal(res.result_count, 0);
	kvstore_txn_result__free(&res);
	root = parse("{\"responses\":[{\"response_other\":{}}]}");
	assert_int_equal(etcd_json__txn_response(root, &res, msg, sizeof(msg)), -EPROTO);
	json_decref(root);
}

static void test_errors(void **state)
{
	json_t *root;
	char msg[256];

	(void)state;
	root = parse("{\"error\":\"etcdserver: requested lease not found\",\"message\":"
		     "\"etcdserver: requested lease not found\",\"code\":5}");
	assert_int_equal(etcd_json__error(root, msg, sizeof(msg)), -ENOENT);
	assert_string_equal(msg, "etcd: etcdserver: requested lease not found (code 5)");
	json_decref(root);
	root = parse(
	    "{\"error\":\"mvcc: required revision has been compacted\",\"code\":11}");
	assert_int_equal(etcd_json__error(root, msg, sizeof(msg)), -ESTALE);
	json_decref(root);
	root = parse("{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
		     "\"etcdserver: no leader\"}}");
	assert_int_equal(etcd_json__error(root, msg, sizeof(msg)), -EAGAIN);
	assert_non_null(strstr(msg, "no leader"));
	json_decref(root);
	root = parse("{\"error\":\"odd\"}");
	assert_int_equal(etcd_json__error(root, msg, sizeof(msg)), -EIO);
	json_decref(root);
	root = parse("{\"header\":{}}");
	assert_int_equal(etcd_json__error(root, msg, sizeof(msg)), 0);
	json_decref(root);
	assert_int_equal(etcd_grpc__errno(8), -ENOSPC);
	assert_int_equal(etcd_grpc__errno(42), -EIO);
}

static void test_watch_lines(void **state)
{
	struct etcd_watch_response r;
	char msg[256];
	const char *line;

	(void)state;
	line = "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\","
	       "\"revision\":"
	       "\"5\",\"raft_term\":\"2\"},\"created\":true}}";
	assert_int_equal(etcd_json__watch_line(line, strlen(line), &r, msg, sizeof(msg)),
			 0);
	assert_true(r.created);
	assert_false(r.canceled);
	assert_int_equal(r.revision, 5);
	assert_int_equal(r.event_count, 0);
	etcd_watch_response__free(&r);

	line =
	    "{\"result\":{\"header\":{\"revision\":\"6\"},\"events\":[{\"kv\":{\"key\":"
	    "\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\","
	    "\"value\":\"YmFy\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"Zm9v\","
	    "\"mod_revision\":\"5\"}}]}}";
	assert_int_equal(etcd_json__watch_line(line, strlen(line), &r, msg, sizeof(msg)),
			 0);
	assert_int_equal(r.event_count, 2);
	assert_int_equal(r.events[0].type, KVSTORE_EVENT_PUT);
	assert_string_equal(r.events[0].kv.key, "foo");
	assert_string_equal(r.events[0].kv.value, "bar");
	assert_int_equal(r.events[0].kv.mod_revision, 2);
	assert_int_equal(r.events[1].type, KVSTORE_EVENT_DELETE);
	assert_int_equal(r.events[1].kv.mod_revision, 5);
	assert_int_equal(r.events[1].kv.value_len, 0);
	etcd_watch_response__free(&r);

	line = "{\"result\":{\"header\":{\"raft_term\":\"2\"},\"canceled\":true,"
	       "\"compact_revision\":\"5\"}}";
	assert_int_equal(etcd_json__watch_line(line, strlen(line), &r, msg, sizeof(msg)),
			 0);
	assert_true(r.canceled);
	assert_int_equal(r.compact_revision, 5);
	etcd_watch_response__free(&r);

	line = "{\"error\":{\"grpc_code\":14,\"message\":\"transport is closing\"}}";
	assert_int_equal(etcd_json__watch_line(line, strlen(line), &r, msg, sizeof(msg)),
			 -EAGAIN);
	assert_non_null(strstr(msg, "transport is closing"));
	etcd_watch_response__free(&r);

	/* Malformed lines: -EPROTO with a reason, nothing half-filled. */
	line = "{\"result\":{\"events\":[{\"type\":\"TRUNCATE\",\"kv\":{}}]}}";
	assert_int_equal(etcd_json__watch_line(line, strlen(line), &r, msg, sizeof(msg)),
			 -EPROTO);
	assert_non_null(strstr(msg, "event type"));
	etcd_watch_response__free(&r);
	line = "{\"result\":{\"events\":[{\"kv\":{\"key\":\"Zm9v\"}},{\"kv\":7}]}}";
	assert_int_equal(etcd_json__watch_line(line, strlen(line), &r, msg, sizeof(msg)),
			 -EPROTO);
	etcd_watch_response__free(&r);
	line = "{\"result\":{\"header\":{\"revision\":\"6\"}";
	assert_int_equal(etcd_json__watch_line(line, strlen(line), &r, msg, sizeof(msg)),
			 -EPROTO);
	assert_non_null(strstr(msg, "bad JSON"));
	etcd_watch_response__free(&r);
	line = "[1,2]";
	assert_int_equal(etcd_json__watch_line(line, strlen(line), &r, msg, sizeof(msg)),
			 -EPROTO);
	etcd_watch_response__free(&r);
}

static void test_lease_and_status(void **state)
{
	struct kvstore_status st;
	int64_t id, ttl;
	json_t *root;
	char msg[256];

	(void)state;
	root = parse("{\"header\":{\"revision\":\"2\"},\"ID\":\"4111120416519143432\","
		     "\"TTL\":\"5\"}");
	assert_int_equal(etcd_json__lease_response(root, &id, &ttl, msg, sizeof(msg)), 0);
	assert_int_equal(id, 4111120416519143432LL);
	assert_int_equal(ttl, 5);
	json_decref(root);
	/* A keepalive's answer is wrapped; an expired lease has no TTL. */
	root = parse("{\"result\":{\"header\":{\"revision\":\"4\"},\"ID\":\"1234\"}}");
	assert_int_equal(etcd_json__lease_response(root, &id, &ttl, msg, sizeof(msg)), 0);
	assert_int_equal(id, 1234);
	assert_int_equal(ttl, 0);
	json_decref(root);

	root = parse(
	    "{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"13668033151171901709\","
	    "\"revision\":\"6\",\"raft_term\":\"2\"},\"version\":\"3.4.23\","
	    "\"dbSize\":\"20480\",\"leader\":\"13668033151171901709\","
	    "\"raftIndex\":\"7\",\"raftTerm\":\"2\"}");
	assert_int_equal(etcd_json__status_response(root, &st, msg, sizeof(msg)), 0);
	assert_string_equal(st.version, "3.4.23");
	assert_int_equal(st.revision, 6);
	assert_int_equal(st.db_size, 20480);
	assert_true(st.member_id == 13668033151171901709ULL);
	assert_true(st.leader == st.member_id);
	json_decref(root);
	root = parse("{\"leader\":\"-1\"}");
	assert_int_equal(etcd_json__status_response(root, &st, msg, sizeof(msg)),
			 -EPROTO);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64),	 cmocka_unit_test(test_prefix_end),
	    cmocka_unit_test(test_int64),	 cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_txn_request),	 cmocka_unit_test(test_range_response),
	    cmocka_unit_test(test_txn_response), cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_watch_lines),	 cmocka_unit_test(test_lease_and_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
