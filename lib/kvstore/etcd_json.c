// SPDX-License-Identifier: Apache-2.0
/*
 * Encoding of etcd gateway requests and decoding of its responses
 * (lib/kvstore/etcd_json.h). Decoding treats the server's output as
 * untrusted: every field is type-checked, every base64 string validated.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_json.h"

static void set_msg(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !msg_len)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
}

/*
 * Base64 by hand: about forty lines, and the libraries that have it
 * (OpenSSL's EVP_DecodeBlock, GLib) either pad decoded output with zero
 * bytes or would be a new dependency for this alone.
 */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_base64__encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = b64_alphabet[(v >> 6) & 63];
		*p++ = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v =
		    (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int etcd_base64__decode(const char *text, size_t text_len, char **out, size_t *out_len)
{
	unsigned char *buf;
	size_t n = 0, pad = 0, i;
	uint32_t acc = 0;
	unsigned int bits = 0;

	while (pad < 2 && text_len > pad && text[text_len - 1 - pad] == '=')
		pad++;
	if ((text_len % 4) != 0)
		return -EINVAL;
	buf = malloc(text_len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < text_len - pad; i++) {
		int v = b64_value(text[i]);

		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or two encodings would decode alike. */
	if (acc) {
		free(buf);
		return -EINVAL;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*out_len = n;
	return 0;
}

int etcd_prefix__end(const char *prefix, size_t len, char **out, size_t *out_len)
{
	char *end;

	while (len && (unsigned char)prefix[len - 1] == 0xff)
		len--;
	if (!len) {
		end = calloc(1, 2);
		if (!end)
			return -ENOMEM;
		*out = end;
		*out_len = 1; /* "\0": every key */
		return 0;
	}
	end = malloc(len + 1);
	if (!end)
		return -ENOMEM;
	memcpy(end, prefix, len);
	end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
	end[len] = '\0';
	*out = end;
	*out_len = len;
	return 0;
}

int etcd_json__int64(const json_t *value, int64_t *out)
{
	const char *s;
	char *endp;
	long long v;

	*out = 0;
	if (!value || json_is_null(value))
		return 0;
	if (json_is_integer(value)) {
		*out = json_integer_value(value);
		return 0;
	}
	if (!json_is_string(value))
		return -EINVAL;
	s = json_string_value(value);
	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &endp, 10);
	if (errno || *endp)
		return -EINVAL;
	*out = v;
	return 0;
}

/* --- requests --- */

/* obj[name] = base64(data); false when out of memory. */
static bool set_b64(json_t *obj, const char *name, const void *data, size_t len)
{
	char *text = etcd_base64__encode(data, len);

	if (!text)
		return false;
	if (json_object_set_new(obj, name, json_string(text))) {
		free(text);
		return false;
	}
	free(text);
	return true;
}

static bool set_int64(json_t *obj, const char *name, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return !json_object_set_new(obj, name, json_string(buf));
}

json_t *etcd_json__range_request(const char *key, size_t key_len, const char *end,
				 size_t end_len, int64_t limit, int64_t revision,
				 bool keys_only)
{
	json_t *req = json_object();

	if (!req || !set_b64(req, "key", key, key_len))
		goto fail;
	if (end && !set_b64(req, "range_end", end, end_len))
		goto fail;
	if (limit && !set_int64(req, "limit", limit))
		goto fail;
	if (revision && !set_int64(req, "revision", revision))
		goto fail;
	if (keys_only && json_object_set_new(req, "keys_only", json_true()))
		goto fail;
	return req;
fail:
	json_decref(req);
	return NULL;
}

json_t *etcd_json__put_request(const char *key, const void *value, size_t value_len,
			       int64_t lease)
{
	json_t *req = json_object();

	if (!req || !set_b64(req, "key", key, strlen(key)) ||
	    !set_b64(req, "value", value, value_len))
		goto fail;
	if (lease && !set_int64(req, "lease", lease))
		goto fail;
	return req;
fail:
	json_decref(req);
	return NULL;
}

json_t *etcd_json__delete_request(const char *key, size_t key_len, const char *end,
				  size_t end_len)
{
	json_t *req = json_object();

	if (!req || !set_b64(req, "key", key, key_len))
		goto fail;
	if (end && !set_b64(req, "range_end", end, end_len))
		goto fail;
	return req;
fail:
	json_decref(req);
	return NULL;
}

/* key and, for a prefix, its range_end into obj. */
static int set_key_range(json_t *obj, const char *key, bool prefix)
{
	size_t len = strlen(key), end_len;
	char *end;
	int err;

	if (!set_b64(obj, "key", key, len))
		return -ENOMEM;
	if (!prefix)
		return 0;
	err = etcd_prefix__end(key, len, &end, &end_len);
	if (err)
		return err;
	err = set_b64(obj, "range_end", end, end_len) ? 0 : -ENOMEM;
	free(end);
	return err;
}

static json_t *txn_compare(const struct kvstore_cmp *c, int *err)
{
	static const char *const targets[] = {"CREATE", "MOD", "VERSION", "VALUE"};
	static const char *const results[] = {"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
	static const char *const fields[] = {"create_revision", "mod_revision",
					     "version"};
	json_t *obj;

	if (!c->key || (unsigned int)c->target > KVSTORE_CMP_VALUE ||
	    (unsigned int)c->result > KVSTORE_CMP_LESS) {
		*err = -EINVAL;
		return NULL;
	}
	*err = -ENOMEM;
	obj = json_object();
	if (!obj)
		return NULL;
	*err = set_key_range(obj, c->key, c->prefix);
	if (*err)
		goto fail;
	*err = -ENOMEM;
	if (json_object_set_new(obj, "target", json_string(targets[c->target])) ||
	    json_object_set_new(obj, "result", json_string(results[c->result])))
		goto fail;
	if (c->target == KVSTORE_CMP_VALUE) {
		if (!set_b64(obj, "value", c->value, c->value_len))
			goto fail;
	} else if (!set_int64(obj, fields[c->target], c->revision)) {
		goto fail;
	}
	*err = 0;
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

static json_t *txn_op(const struct kvstore_op *op, int *err)
{
	json_t *wrap = NULL, *req = NULL;
	const char *name;

	switch (op->type) {
	case KVSTORE_OP_GET:
		name = "request_range";
		break;
	case KVSTORE_OP_PUT:
		name = "request_put";
		break;
	case KVSTORE_OP_DELETE:
		name = "request_delete_range";
		break;
	default:
		*err = -EINVAL;
		return NULL;
	}
	if (!op->key) {
		*err = -EINVAL;
		return NULL;
	}
	*err = -ENOMEM;
	wrap = json_object();
	req = json_object();
	if (!wrap || !req)
		goto fail;
	*err = set_key_range(req, op->key, op->type != KVSTORE_OP_PUT && op->prefix);
	if (*err)
		goto fail;
	*err = -ENOMEM;
	if (op->type == KVSTORE_OP_PUT) {
		if (!set_b64(req, "value", op->value ? op->value : "", op->value_len))
			goto fail;
		if (op->lease && !set_int64(req, "lease", op->lease))
			goto fail;
	}
	if (op->type == KVSTORE_OP_GET && op->limit &&
	    !set_int64(req, "limit", op->limit))
		goto fail;
	if (json_object_set_new(wrap, name, req)) {
		req = NULL;
		goto fail;
	}
	*err = 0;
	return wrap;
fail:
	json_decref(req);
	json_decref(wrap);
	return NULL;
}

static int txn_ops(json_t *req, const char *name, const struct kvstore_op *ops, size_t n)
{
	json_t *arr;
	int err = 0;

	if (!n)
		return 0;
	arr = json_array();
	if (!arr || json_object_set_new(req, name, arr))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *op = txn_op(&ops[i], &err);

		if (!op)
			return err;
		if (json_array_append_new(arr, op))
			return -ENOMEM;
	}
	return 0;
}

json_t *etcd_json__txn_request(const struct kvstore_txn *txn, int *err)
{
	json_t *req = json_object(), *cmps;

	*err = -ENOMEM;
	if (!req)
		return NULL;
	if (txn->compare_count) {
		cmps = json_array();
		if (!cmps || json_object_set_new(req, "compare", cmps))
			goto fail;
		for (size_t i = 0; i < txn->compare_count; i++) {
			json_t *c = txn_compare(&txn->compare[i], err);

			if (!c)
				goto fail;
			if (json_array_append_new(cmps, c)) {
				*err = -ENOMEM;
				goto fail;
			}
		}
	}
	*err = txn_ops(req, "success", txn->success, txn->success_count);
	if (!*err)
		*err = txn_ops(req, "failure", txn->failure, txn->failure_count);
	if (*err)
		goto fail;
	return req;
fail:
	json_decref(req);
	return NULL;
}

json_t *etcd_json__watch_request(const char *key, size_t key_len, const char *end,
				 size_t end_len, int64_t start_revision)
{
	json_t *req = json_object(), *create = json_object();

	if (!req || !create || !set_b64(create, "key", key, key_len))
		goto fail;
	if (end && !set_b64(create, "range_end", end, end_len))
		goto fail;
	if (start_revision && !set_int64(create, "start_revision", start_revision))
		goto fail;
	/* Progress notifications tell how far the stream got without events,
	 * so a reconnect after a quiet spell does not resume from further back
	 * than needed. */
	if (json_object_set_new(create, "progress_notify", json_true()))
		goto fail;
	if (json_object_set_new(req, "create_request", create)) {
		create = NULL;
		goto fail;
	}
	return req;
fail:
	json_decref(create);
	json_decref(req);
	return NULL;
}

/* physical: answer only once the history is really gone, so a watch
 * started after the call sees the compaction. */
json_t *etcd_json__compact_request(int64_t revision)
{
	json_t *req = json_object();

	if (!req || !set_int64(req, "revision", revision) ||
	    json_object_set_new(req, "physical", json_true())) {
		json_decref(req);
		return NULL;
	}
	return req;
}

json_t *etcd_json__lease_grant_request(int64_t ttl)
{
	json_t *req = json_object();

	if (!req || !set_int64(req, "TTL", ttl)) {
		json_decref(req);
		return NULL;
	}
	return req;
}

json_t *etcd_json__lease_id_request(int64_t id)
{
	json_t *req = json_object();

	if (!req || !set_int64(req, "ID", id)) {
		json_decref(req);
		return NULL;
	}
	return req;
}

/* --- responses --- */

int etcd_grpc__errno(int code)
{
	switch (code) {
	case 0:
		return 0;
	case 1: /* CANCELLED */
		return -ECANCELED;
	case 3: /* INVALID_ARGUMENT */
		return -EINVAL;
	case 4: /* DEADLINE_EXCEEDED */
		return -ETIMEDOUT;
	case 5: /* NOT_FOUND */
		return -ENOENT;
	case 6: /* ALREADY_EXISTS */
		return -EEXIST;
	case 7:	 /* PERMISSION_DENIED */
	case 16: /* UNAUTHENTICATED */
		return -EACCES;
	case 8: /* RESOURCE_EXHAUSTED: "database space exceeded" */
		return -ENOSPC;
	case 9: /* FAILED_PRECONDITION */
		return -EPERM;
	case 11: /* OUT_OF_RANGE: "required revision has been compacted" */
		return -ESTALE;
	case 14: /* UNAVAILABLE: no leader, stopping */
		return -EAGAIN;
	default:
		return -EIO;
	}
}

int etcd_json__error(const json_t *root, char *msg, size_t msg_len)
{
	const json_t *error = json_object_get(root, "error");
	const json_t *message, *code;
	json_int_t c;

	if (!error)
		return 0;
	if (json_is_object(error)) { /* a stream's error */
		message = json_object_get(error, "message");
		code = json_object_get(error, "grpc_code");
	} else {
		message = json_object_get(root, "message");
		code = json_object_get(root, "code");
		if (!message)
			message = error;
	}
	c = json_is_integer(code) ? json_integer_value(code) : 2 /* UNKNOWN */;
	set_msg(msg, msg_len, "etcd: %s (code %lld)",
		json_is_string(message) ? json_string_value(message) : "unknown error",
		(long long)c);
	c = etcd_grpc__errno((int)c);
	return c ? (int)c : -EIO;
}

/* A base64 field into a new NUL-terminated buffer ("" when absent). */
static int get_b64(const json_t *obj, const char *name, char **out, size_t *len,
		   char *msg, size_t msg_len)
{
	const json_t *v = json_object_get(obj, name);
	int err;

	if (!v) {
		*out = calloc(1, 1);
		*len = 0;
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_string(v)) {
		set_msg(msg, msg_len, "etcd response: \"%s\" is not a string", name);
		return -EPROTO;
	}
	err = etcd_base64__decode(json_string_value(v), json_string_length(v), out, len);
	if (err == -EINVAL) {
		set_msg(msg, msg_len, "etcd response: \"%s\" is not base64", name);
		return -EPROTO;
	}
	return err;
}

static int get_int64(const json_t *obj, const char *name, int64_t *out, char *msg,
		     size_t msg_len)
{
	if (etcd_json__int64(json_object_get(obj, name), out)) {
		set_msg(msg, msg_len, "etcd response: \"%s\" is not an integer", name);
		return -EPROTO;
	}
	return 0;
}

static int header_revision(const json_t *root, int64_t *rev, char *msg, size_t msg_len)
{
	const json_t *header = json_object_get(root, "header");

	*rev = 0;
	if (!header)
		return 0;
	if (!json_is_object(header)) {
		set_msg(msg, msg_len, "etcd response: \"header\" is not an object");
		return -EPROTO;
	}
	return get_int64(header, "revision", rev, msg, msg_len);
}

void kvstore_kv__free(struct kvstore_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void kvstore_kv_list__free(struct kvstore_kv_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		kvstore_kv__free(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

void kvstore_txn_result__free(struct kvstore_txn_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->result_count; i++)
		kvstore_kv_list__free(&res->results[i].range);
	free(res->results);
	memset(res, 0, sizeof(*res));
}

void kvstore_event__free(struct kvstore_event *ev)
{
	if (ev)
		kvstore_kv__free(&ev->kv);
}

int etcd_json__kv(const json_t *obj, struct kvstore_kv *out, char *msg, size_t msg_len)
{
	int err;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		set_msg(msg, msg_len, "etcd response: a key-value is not an object");
		return -EPROTO;
	}
	err = get_b64(obj, "key", &out->key, &out->key_len, msg, msg_len);
	if (!err)
		err = get_b64(obj, "value", &out->value, &out->value_len, msg, msg_len);
	if (!err)
		err = get_int64(obj, "create_revision", &out->create_revision, msg,
				msg_len);
	if (!err)
		err = get_int64(obj, "mod_revision", &out->mod_revision, msg, msg_len);
	if (!err)
		err = get_int64(obj, "version", &out->version, msg, msg_len);
	if (!err)
		err = get_int64(obj, "lease", &out->lease, msg, msg_len);
	if (err)
		kvstore_kv__free(out);
	return err;
}

int etcd_json__range_response(const json_t *root, struct kvstore_kv_list *out, bool *more,
			      char *msg, size_t msg_len)
{
	const json_t *kvs = json_object_get(root, "kvs"),
		     *m = json_object_get(root, "more");
	size_t n, i;
	int err;

	if (!json_is_object(root)) {
		set_msg(msg, msg_len, "etcd response: not an object");
		return -EPROTO;
	}
	err = header_revision(root, &out->revision, msg, msg_len);
	if (err)
		return err;
	if (more)
		*more = json_is_true(m);
	if (!kvs)
		return 0;
	if (!json_is_array(kvs)) {
		set_msg(msg, msg_len, "etcd response: \"kvs\" is not an array");
		return -EPROTO;
	}
	n = json_array_size(kvs);
	if (!n)
		return 0;
	{
		struct kvstore_kv *items =
		    realloc(out->items, (out->count + n) * sizeof(*items));

		if (!items)
			return -ENOMEM;
		out->items = items;
	}
	for (i = 0; i < n; i++) {
		err = etcd_json__kv(json_array_get(kvs, i), &out->items[out->count], msg,
				    msg_len);
		if (err)
			return err;
		out->count++;
	}
	return 0;
}

int etcd_json__put_response(const json_t *root, int64_t *revision, char *msg,
			    size_t msg_len)
{
	int64_t rev;
	int err;

	if (!json_is_object(root)) {
		set_msg(msg, msg_len, "etcd response: not an object");
		return -EPROTO;
	}
	err = header_revision(root, &rev, msg, msg_len);
	if (!err && revision)
		*revision = rev;
	return err;
}

int etcd_json__delete_response(const json_t *root, int64_t *deleted, char *msg,
			       size_t msg_len)
{
	int64_t n;
	int err;

	if (!json_is_object(root)) {
		set_msg(msg, msg_len, "etcd response: not an object");
		return -EPROTO;
	}
	err = get_int64(root, "deleted", &n, msg, msg_len);
	if (!err && deleted)
		*deleted = n;
	return err;
}

int etcd_json__txn_response(const json_t *root, struct kvstore_txn_result *out, char *msg,
			    size_t msg_len)
{
	const json_t *responses;
	size_t n;
	int err;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(root)) {
		set_msg(msg, msg_len, "etcd response: not an object");
		return -EPROTO;
	}
	err = header_revision(root, &out->revision, msg, msg_len);
	if (err)
		return err;
	out->succeeded = json_is_true(json_object_get(root, "succeeded"));
	responses = json_object_get(root, "responses");
	if (!responses)
		return 0;
	if (!json_is_array(responses)) {
		set_msg(msg, msg_len, "etcd response: \"responses\" is not an array");
		return -EPROTO;
	}
	n = json_array_size(responses);
	out->results = calloc(n ? n : 1, sizeof(*out->results));
	if (!out->results)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(responses, i), *body;
		struct kvstore_op_result *res = &out->results[i];

		out->result_count++;
		if ((body = json_object_get(r, "response_range"))) {
			res->type = KVSTORE_OP_GET;
			err = etcd_json__range_response(body, &res->range, NULL, msg,
							msg_len);
		} else if ((body = json_object_get(r, "response_put"))) {
			res->type = KVSTORE_OP_PUT;
		} else if ((body = json_object_get(r, "response_delete_range"))) {
			res->type = KVSTORE_OP_DELETE;
			err =
			    etcd_json__delete_response(body, &res->deleted, msg, msg_len);
		} else {
			set_msg(msg, msg_len, "etcd response: unknown txn response %zu",
				i);
			err = -EPROTO;
		}
		if (err) {
			kvstore_txn_result__free(out);
			return err;
		}
	}
	return 0;
}

/* Unwrap a streaming method's {"result": ...}. */
static const json_t *unwrap_result(const json_t *root)
{
	const json_t *result = json_object_get(root, "result");

	return json_is_object(result) ? result : root;
}

int etcd_json__lease_response(const json_t *root, int64_t *id, int64_t *ttl, char *msg,
			      size_t msg_len)
{
	const json_t *body;
	int64_t v_id, v_ttl;
	int err;

	if (!json_is_object(root)) {
		set_msg(msg, msg_len, "etcd response: not an object");
		return -EPROTO;
	}
	body = unwrap_result(root);
	err = get_int64(body, "ID", &v_id, msg, msg_len);
	if (!err)
		err = get_int64(body, "TTL", &v_ttl, msg, msg_len);
	if (err)
		return err;
	if (id)
		*id = v_id;
	if (ttl)
		*ttl = v_ttl;
	return 0;
}

/* A uint64 field ("member_id", "leader": random 64-bit numbers, often above
 * INT64_MAX, which strtoll() refuses); absent is 0. */
static int get_uint64(const json_t *obj, const char *name, uint64_t *out, char *msg,
		      size_t msg_len)
{
	const json_t *v = json_object_get(obj, name);
	const char *s;
	char *endp;

	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	s = json_is_string(v) ? json_string_value(v) : "";
	errno = 0;
	if (*s >= '0' && *s <= '9') {
		*out = strtoull(s, &endp, 10);
		if (!errno && !*endp)
			return 0;
	}
	set_msg(msg, msg_len, "etcd response: \"%s\" is not an unsigned integer", name);
	return -EPROTO;
}

int etcd_json__status_response(const json_t *root, struct kvstore_status *out, char *msg,
			       size_t msg_len)
{
	const json_t *header, *version;
	int err;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(root)) {
		set_msg(msg, msg_len, "etcd response: not an object");
		return -EPROTO;
	}
	header = json_object_get(root, "header");
	err = header_revision(root, &out->revision, msg, msg_len);
	if (!err && header)
		err = get_uint64(header, "member_id", &out->member_id, msg, msg_len);
	if (!err)
		err = get_uint64(root, "leader", &out->leader, msg, msg_len);
	if (!err)
		err = get_int64(root, "dbSize", &out->db_size, msg, msg_len);
	if (err)
		return err;
	version = json_object_get(root, "version");
	if (json_is_string(version))
		snprintf(out->version, sizeof(out->version), "%s",
			 json_string_value(version));
	return 0;
}

void etcd_watch_response__free(struct etcd_watch_response *resp)
{
	if (!resp)
		return;
	for (size_t i = 0; i < resp->event_count; i++)
		kvstore_event__free(&resp->events[i]);
	free(resp->events);
	resp->events = NULL;
	resp->event_count = 0;
}

int etcd_json__watch_line(const char *line, size_t len, struct etcd_watch_response *out,
			  char *msg, size_t msg_len)
{
	json_error_t jerr;
	json_t *root;
	const json_t *result, *events, *reason;
	size_t n;
	int err;

	memset(out, 0, sizeof(*out));
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		set_msg(msg, msg_len, "etcd watch: bad JSON at column %d: %s",
			jerr.column, jerr.text);
		return -EPROTO;
	}
	err = etcd_json__error(root, msg, msg_len);
	if (err)
		goto out;
	result = json_object_get(root, "result");
	if (!json_is_object(result)) {
		set_msg(msg, msg_len, "etcd watch: a message without \"result\"");
		err = -EPROTO;
		goto out;
	}
	err = header_revision(result, &out->revision, msg, msg_len);
	if (!err)
		err = get_int64(result, "compact_revision", &out->compact_revision, msg,
				msg_len);
	if (err)
		goto out;
	out->created = json_is_true(json_object_get(result, "created"));
	out->canceled = json_is_true(json_object_get(result, "canceled"));
	reason = json_object_get(result, "cancel_reason");
	if (json_is_string(reason))
		snprintf(out->cancel_reason, sizeof(out->cancel_reason), "%s",
			 json_string_value(reason));
	events = json_object_get(result, "events");
	if (!events)
		goto out;
	if (!json_is_array(events)) {
		set_msg(msg, msg_len, "etcd watch: \"events\" is not an array");
		err = -EPROTO;
		goto out;
	}
	n = json_array_size(events);
	out->events = calloc(n ? n : 1, sizeof(*out->events));
	if (!out->events) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *ev = json_array_get(events, i), *type;
		struct kvstore_event *e = &out->events[i];

		type = json_object_get(ev, "type");
		if (!type ||
		    (json_is_string(type) && !strcmp(json_string_value(type), "PUT"))) {
			e->type = KVSTORE_EVENT_PUT;
		} else if (json_is_string(type) &&
			   !strcmp(json_string_value(type), "DELETE")) {
			e->type = KVSTORE_EVENT_DELETE;
		} else {
			set_msg(msg, msg_len, "etcd watch: unknown event type");
			err = -EPROTO;
			goto out;
		}
		err = etcd_json__kv(json_object_get(ev, "kv"), &e->kv, msg, msg_len);
		if (err)
			goto out;
		out->event_count++;
	}
out:
	json_decref(root);
	return err;
}
