// SPDX-License-Identifier: Apache-2.0
/* The cluster's etcd key layout (lib/identity/etcd_keys.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/identity/etcd_keys.h"
#include "warden/abi/maps.h"
#include "warden/prefix.h"

static void test_names(void **state)
{
	char long_name[300];

	(void)state;
	assert_true(etcd_keys__valid_node("node-1.example_a"));
	assert_false(etcd_keys__valid_node(""));
	assert_false(etcd_keys__valid_node(NULL));
	assert_false(etcd_keys__valid_node("a/b"));
	assert_false(etcd_keys__valid_node("a b"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(etcd_keys__valid_node(long_name));
	long_name[253] = '\0';
	assert_true(etcd_keys__valid_node(long_name));
	assert_true(etcd_keys__valid_prefix("/warden"));
	assert_true(etcd_keys__valid_prefix("/cluster/a"));
	assert_false(etcd_keys__valid_prefix("warden"));
	assert_false(etcd_keys__valid_prefix("/warden/"));
	assert_false(etcd_keys__valid_prefix("/"));
	assert_false(etcd_keys__valid_prefix("/war den"));
}

static void check_escape(const char *text, const char *want)
{
	char *esc = etcd_keys__escape(text), *back;

	assert_non_null(esc);
	assert_string_equal(esc, want);
	assert_int_equal(etcd_keys__unescape(esc, strlen(esc), &back), 0);
	assert_string_equal(back, text);
	free(esc);
	free(back);
}

static void test_escape(void **state)
{
	char *out;

	(void)state;
	check_escape("k8s:org=empire,k8s:class=deathstar",
		     "k8s:org=empire,k8s:class=deathstar");
	check_escape("k8s:app.kubernetes.io/name=web",
		     "k8s:app.kubernetes.io%2Fname=web");
	check_escape("a%b c", "a%25b%20c");
	check_escape("", "");
	/* Refused: truncated or bad %XX, an escaped NUL, raw '/' or space. */
	assert_int_equal(etcd_keys__unescape("a%2", 3, &out), -EINVAL);
	assert_int_equal(etcd_keys__unescape("a%", 2, &out), -EINVAL);
	assert_int_equal(etcd_keys__unescape("%zz", 3, &out), -EINVAL);
	assert_int_equal(etcd_keys__unescape("%00", 3, &out), -EINVAL);
	assert_int_equal(etcd_keys__unescape("a/b", 3, &out), -EINVAL);
	assert_int_equal(etcd_keys__unescape("a b", 3, &out), -EINVAL);
	/* Lower-case hex is accepted. */
	assert_int_equal(etcd_keys__unescape("a%2fb", 5, &out), 0);
	assert_string_equal(out, "a/b");
	free(out);
}

static void test_labels_text(void **state)
{
	struct label_set set = {0}, again = {0};
	char err[128], *text;

	(void)state;
	assert_int_equal(label_set__parse_list(&set,
					       "org=empire,reserved:host,k8s:a=,b=2", err,
					       sizeof(err)),
			 0);
	text = etcd_keys__labels_text(&set);
	assert_string_equal(text, "k8s:a,k8s:b=2,k8s:org=empire,reserved:host");
	/* The master's value parses back into the same set. */
	assert_int_equal(label_set__parse_list(&again, text, err, sizeof(err)), 0);
	assert_true(label_set__equal(&set, &again));
	free(text);
	label_set__free(&set);
	label_set__free(&again);
}

static void test_identity_keys(void **state)
{
	char *key, *labels;
	const char *node;
	uint32_t id;

	(void)state;
	key = etcd_keys__id_key("/w", 300);
	assert_string_equal(key, "/w/identities/id/300");
	assert_int_equal(
	    etcd_keys__parse_id_key(key, strlen(key), "/w/identities/id/", &id), 0);
	assert_int_equal(id, 300);
	free(key);
	key = etcd_keys__id_prefix("/w");
	assert_string_equal(key, "/w/identities/id/");
	free(key);
#define BAD(k, ret)                                                                      \
	assert_int_equal(                                                                \
	    etcd_keys__parse_id_key(k, strlen(k), "/w/identities/id/", &id), ret)
	BAD("/w/identities/id/0300", -EINVAL);
	BAD("/w/identities/id/", -EINVAL);
	BAD("/w/identities/id/30x", -EINVAL);
	BAD("/w/identities/id/-300", -EINVAL);
	BAD("/v/identities/id/300", -EINVAL);
	BAD("/w/identities/id/255", -ERANGE);
	BAD("/w/identities/id/65536", -ERANGE);
	BAD("/w/identities/id/99999999999", -EINVAL);
#undef BAD
	assert_int_equal(etcd_keys__parse_number("65535", 5, &id), 0);
	assert_int_equal(id, WARDEN_IDENTITY_USER_MAX);
	assert_int_equal(etcd_keys__parse_number("256", 3, &id), 0);
	assert_int_equal(etcd_keys__parse_number("", 0, &id), -EINVAL);

	key = etcd_keys__ref_key("/w", "k8s:a%2Fb=c", "node-1");
	assert_string_equal(key, "/w/identities/value/k8s:a%2Fb=c/node-1");
	assert_int_equal(etcd_keys__parse_ref_key(key, strlen(key),
						  "/w/identities/value/", &labels, &node),
			 0);
	assert_string_equal(labels, "k8s:a/b=c");
	assert_string_equal(node, "node-1");
	free(labels);
	free(key);
	key = etcd_keys__refs_prefix("/w", "k8s:a=b");
	assert_string_equal(key, "/w/identities/value/k8s:a=b/");
	assert_int_equal(etcd_keys__parse_ref_key(key, strlen(key),
						  "/w/identities/value/", &labels, &node),
			 -EINVAL); /* no node */
	free(key);
	assert_int_equal(etcd_keys__parse_ref_key("/w/identities/value/n", 21,
						  "/w/identities/value/", &labels, &node),
			 -EINVAL); /* no labels */
}

static void check_ip(const char *addr, const char *want_key)
{
	struct policy_prefix p, back;
	char *key;

	assert_int_equal(policy_prefix__parse(addr, &p), 0);
	key = etcd_keys__ip_key("/w", &p);
	assert_string_equal(key, want_key);
	assert_int_equal(etcd_keys__parse_ip_key(key, strlen(key), "/w/ip/", &back), 0);
	assert_int_equal(back.family, p.family);
	assert_int_equal(back.len, p.len);
	assert_memory_equal(back.addr, p.addr, sizeof(p.addr));
	free(key);
}

static void test_ip_keys(void **state)
{
	struct policy_prefix p;
	char node[ETCD_KEYS_NODE_MAX + 1], *v;
	uint32_t id;

	(void)state;
	check_ip("10.200.1.5", "/w/ip/10.200.1.5");
	check_ip("10.0.0.0/8", "/w/ip/10.0.0.0/8");
	check_ip("fd00::1", "/w/ip/fd00::1");
	check_ip("fd00::/64", "/w/ip/fd00::/64");
	assert_int_equal(etcd_keys__parse_ip_key("/w/ip/nonsense", 14, "/w/ip/", &p),
			 -EINVAL);
	assert_int_equal(etcd_keys__parse_ip_key("/w/ip/", 6, "/w/ip/", &p), -EINVAL);
	assert_int_equal(etcd_keys__parse_ip_key("/w/ip/10.0.0.1/8", 16, "/w/ip/", &p),
			 -EINVAL);

	v = etcd_keys__ip_value(300, "node-a");
	assert_string_equal(v, "{\"identity\":300,\"node\":\"node-a\"}");
	assert_int_equal(etcd_keys__parse_ip_value(v, strlen(v), &id, node), 0);
	assert_int_equal(id, 300);
	assert_string_equal(node, "node-a");
	free(v);
	/* Unknown fields are for later versions. */
	v = "{\"node\":\"b\",\"identity\":301,\"tunnel\":\"192.0.2.1\"}";
	assert_int_equal(etcd_keys__parse_ip_value(v, strlen(v), &id, node), 0);
	assert_int_equal(id, 301);
#define BAD(text)                                                                        \
	assert_int_equal(etcd_keys__parse_ip_value(text, strlen(text), &id, node),       \
			 -EINVAL)
	BAD("{\"identity\":300}");
	BAD("{\"identity\":0,\"node\":\"a\"}");
	BAD("{\"identity\":-1,\"node\":\"a\"}");
	BAD("{\"identity\":\"300\",\"node\":\"a\"}");
	BAD("{\"identity\":300,\"node\":\"a/b\"}");
	BAD("{\"identity\":4294967296,\"node\":\"a\"}");
	BAD("300");
	BAD("");
#undef BAD
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),	cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_labels_text), cmocka_unit_test(test_identity_keys),
	    cmocka_unit_test(test_ip_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
