// SPDX-License-Identifier: Apache-2.0
/*
 * The etcd client's requests (include/warden/kvstore.h): one libcurl easy
 * handle per client, so the HTTP connection is reused between requests;
 * failover over the endpoint list; each verb is a JSON request built and
 * parsed by etcd_json.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "etcd_internal.h"
#include "etcd_json.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int kvstore_curl__init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_init_result == CURLE_OK ? 0 : -EIO;
}

/* Three unanswered keepalive probes end the connection (Linux's default of
 * nine would take 23 s to notice with the intervals below). */
static int set_keepalive_count(void *ctx, curl_socket_t fd, curlsocktype purpose)
{
	int count = 3;

	(void)ctx;
	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
	return CURL_SOCKOPT_OK;
}

/*
 * TCP keepalive on every connection: a watch stream is silent while nothing
 * changes, and an etcd host that vanished without closing the connection
 * (powered off, partitioned) would otherwise never be noticed. With these
 * settings a dead peer is found within about 11 s.
 */
void kvstore_curl__setup(CURL *curl, const struct curl_slist *headers, long connect_ms)
{
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 2L);
	curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, set_keepalive_count);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
}

size_t kvstore_buffer__write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct kvstore_buffer *buf = ctx;
	size_t n = size * nmemb;

	if (buf->len + n + 1 > buf->cap) {
		size_t cap = buf->cap ? buf->cap : 4096;
		char *p;

		while (cap < buf->len + n + 1)
			cap *= 2;
		p = realloc(buf->data, cap);
		if (!p)
			return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
		buf->data = p;
		buf->cap = cap;
	}
	memcpy(buf->data + buf->len, data, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return n;
}

int kvstore_curl__errno(CURLcode code)
{
	switch (code) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_WRITE_ERROR:
		return -ENOMEM;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

static void set_error(struct kvstore *kv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct kvstore *kv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kv->error, sizeof(kv->error), fmt, ap);
	va_end(ap);
}

const char *kvstore__error(const struct kvstore *kv)
{
	return kv->error;
}

const char *kvstore__endpoint(const struct kvstore *kv)
{
	return kv->endpoints[kv->current];
}

void kvstore__free(struct kvstore *kv)
{
	if (!kv)
		return;
	if (kv->curl)
		curl_easy_cleanup(kv->curl);
	curl_slist_free_all(kv->headers);
	for (size_t i = 0; i < kv->endpoint_count; i++)
		free(kv->endpoints[i]);
	free(kv->endpoints);
	free(kv->rx.data);
	free(kv);
}

/* Split "url,url" into kv->endpoints, checking each is http(s)://host. */
static int parse_endpoints(struct kvstore *kv, const char *text, char *err,
			   size_t err_len)
{
	const char *p = text;

	if (!text || !*text) {
		snprintf(err, err_len, "no etcd endpoint given");
		return -EINVAL;
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *url, **arr;

		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len &&
		       (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '/'))
			len--;
		if ((strncmp(p, "http://", 7) || len <= 7) &&
		    (strncmp(p, "https://", 8) || len <= 8)) {
			snprintf(
			    err, err_len,
			    "etcd endpoint \"%.*s\" is not an http:// or https:// URL",
			    (int)len, p);
			return -EINVAL;
		}
		url = strndup(p, len);
		arr = realloc(kv->endpoints, (kv->endpoint_count + 1) * sizeof(*arr));
		if (!url || !arr) {
			free(url);
			if (arr)
				kv->endpoints = arr;
			return -ENOMEM;
		}
		kv->endpoints = arr;
		kv->endpoints[kv->endpoint_count++] = url;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

int kvstore__new(struct kvstore **out, const struct kvstore_options *opts, char *err,
		 size_t err_len)
{
	struct kvstore *kv;
	int ret;

	ret = kvstore_curl__init();
	if (ret) {
		snprintf(err, err_len, "libcurl failed to initialise");
		return ret;
	}
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	ret = parse_endpoints(kv, opts->endpoints, err, err_len);
	if (ret)
		goto fail;
	kv->timeout_ms =
	    opts->timeout_ms > 0 ? opts->timeout_ms : KVSTORE_DEFAULT_TIMEOUT_MS;
	/* "Expect:" off: curl would wait for a 100-continue on larger bodies. */
	kv->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (kv->headers)
		kv->headers = curl_slist_append(kv->headers, "Expect:");
	kv->curl = curl_easy_init();
	if (!kv->headers || !kv->curl) {
		ret = -ENOMEM;
		goto fail;
	}
	kvstore_curl__setup(kv->curl, kv->headers, kv->timeout_ms);
	curl_easy_setopt(kv->curl, CURLOPT_TIMEOUT_MS, kv->timeout_ms);
	curl_easy_setopt(kv->curl, CURLOPT_WRITEFUNCTION, kvstore_buffer__write);
	curl_easy_setopt(kv->curl, CURLOPT_WRITEDATA, &kv->rx);
	*out = kv;
	return 0;
fail:
	kvstore__free(kv);
	return ret;
}

int kvstore__connect(struct kvstore **out, const struct kvstore_options *opts, char *err,
		     size_t err_len)
{
	struct kvstore_status st;
	struct kvstore *kv;
	int ret;

	ret = kvstore__new(&kv, opts, err, err_len);
	if (ret)
		return ret;
	ret = kvstore__status(kv, &st);
	if (ret) {
		snprintf(err, err_len, "%s", kv->error);
		kvstore__free(kv);
		return ret;
	}
	*out = kv;
	return 0;
}

/* Worth trying another endpoint after this? Refused, reset, timed out, or
 * the member said it cannot serve (no leader). */
static bool should_fail_over(int err)
{
	return err == -ECONNREFUSED || err == -ECONNRESET || err == -ETIMEDOUT ||
	       err == -EHOSTUNREACH || err == -EIO || err == -EAGAIN;
}

/*
 * POST body to path on one endpoint. Returns 0 with the parsed response in
 * *resp, or -errno with kv->error set (a transport error, an HTTP error with
 * etcd's message, or an unparseable body).
 */
static int call_one(struct kvstore *kv, const char *endpoint, const char *path,
		    const char *body, json_t **resp)
{
	char url[512], curl_err[CURL_ERROR_SIZE] = "";
	json_error_t jerr;
	long status = 0;
	CURLcode rc;
	json_t *root;
	int err;

	snprintf(url, sizeof(url), "%s%s", endpoint, path);
	kv->rx.len = 0;
	curl_easy_setopt(kv->curl, CURLOPT_URL, url);
	curl_easy_setopt(kv->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(kv->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(kv->curl, CURLOPT_ERRORBUFFER, curl_err);
	rc = curl_easy_perform(kv->curl);
	curl_easy_setopt(kv->curl, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		set_error(kv, "etcd %s: %s", endpoint,
			  curl_err[0] ? curl_err : curl_easy_strerror(rc));
		return kvstore_curl__errno(rc);
	}
	curl_easy_getinfo(kv->curl, CURLINFO_RESPONSE_CODE, &status);
	root = json_loadb(kv->rx.data ? kv->rx.data : "", kv->rx.len, 0, &jerr);
	if (!root) {
		set_error(kv, "etcd %s%s: HTTP %ld with a body that is not JSON (%s)",
			  endpoint, path, status, jerr.text);
		return status == 200 ? -EPROTO : -EIO;
	}
	err = etcd_json__error(root, kv->error, sizeof(kv->error));
	if (!err && status != 200) {
		set_error(kv, "etcd %s%s: HTTP %ld", endpoint, path, status);
		err = -EIO;
	}
	if (err) {
		json_decref(root);
		return err;
	}
	*resp = root;
	return 0;
}

/*
 * POST req (consumed) to path, failing over across the endpoints from the
 * one that answered last. *resp is the parsed response body.
 */
static int call(struct kvstore *kv, const char *path, json_t *req, json_t **resp)
{
	char *body;
	int err = -EIO;

	kv->error[0] = '\0';
	if (!req)
		return -ENOMEM;
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!body)
		return -ENOMEM;
	for (size_t i = 0; i < kv->endpoint_count; i++) {
		size_t at = (kv->current + i) % kv->endpoint_count;

		err = call_one(kv, kv->endpoints[at], path, body, resp);
		if (!err) {
			kv->current = at;
			kv->error[0] = '\0';
			break;
		}
		if (!should_fail_over(err))
			break;
	}
	free(body);
	return err;
}

/* A parse failure of a response: its message is already in kv->error. */
static int parsed(struct kvstore *kv, int err, json_t *resp)
{
	json_decref(resp);
	if (err && !kv->error[0])
		set_error(kv, "etcd: %s", strerror(-err));
	return err;
}

int kvstore__status(struct kvstore *kv, struct kvstore_status *out)
{
	json_t *resp;
	int err = call(kv, "/v3/maintenance/status", json_object(), &resp);

	if (err)
		return err;
	err = etcd_json__status_response(resp, out, kv->error, sizeof(kv->error));
	if (!err)
		snprintf(out->endpoint, sizeof(out->endpoint), "%s",
			 kvstore__endpoint(kv));
	return parsed(kv, err, resp);
}

int kvstore__get(struct kvstore *kv, const char *key, struct kvstore_kv *out)
{
	struct kvstore_kv_list list = {0};
	json_t *resp;
	int err;

	err =
	    call(kv, "/v3/kv/range",
		 etcd_json__range_request(key, strlen(key), NULL, 0, 0, 0, false), &resp);
	if (err)
		return err;
	err = etcd_json__range_response(resp, &list, NULL, kv->error, sizeof(kv->error));
	if (!err && !list.count) {
		set_error(kv, "etcd: no key \"%s\"", key);
		err = -ENOENT;
	}
	if (!err) {
		*out = list.items[0];
		memset(&list.items[0], 0, sizeof(list.items[0]));
	}
	kvstore_kv_list__free(&list);
	return parsed(kv, err, resp);
}

/* Pages of this many keys: a response stays well below the gateway's and
 * the client's buffers however large the prefix is. */
#define LIST_PAGE 1000

static int list_once(struct kvstore *kv, const char *prefix, unsigned int flags,
		     struct kvstore_kv_list *out)
{
	size_t prefix_len = strlen(prefix), end_len, from_len = prefix_len;
	char *end = NULL, *from = NULL;
	int64_t revision = 0;
	bool more = true;
	int err;

	memset(out, 0, sizeof(*out));
	err = etcd_prefix__end(prefix, prefix_len, &end, &end_len);
	if (err)
		return err;
	from = strdup(prefix);
	if (!from) {
		err = -ENOMEM;
		goto out;
	}
	while (more) {
		json_t *resp;

		err = call(kv, "/v3/kv/range",
			   etcd_json__range_request(from, from_len, end, end_len,
						    LIST_PAGE, revision,
						    flags & KVSTORE_LIST_KEYS_ONLY),
			   &resp);
		if (err)
			goto out;
		err = etcd_json__range_response(resp, out, &more, kv->error,
						sizeof(kv->error));
		err = parsed(kv, err, resp);
		if (err)
			goto out;
		/* Every later page at the first page's revision: one snapshot. */
		if (!revision)
			revision = out->revision;
		out->revision = revision;
		if (more && out->count) {
			const struct kvstore_kv *last = &out->items[out->count - 1];
			char *next = malloc(last->key_len + 2);

			if (!next) {
				err = -ENOMEM;
				goto out;
			}
			/* The smallest key after the last one: it with a NUL appended. */
			memcpy(next, last->key, last->key_len);
			next[last->key_len] = '\0';
			next[last->key_len + 1] = '\0';
			free(from);
			from = next;
			from_len = last->key_len + 1;
		} else {
			more = false;
		}
	}
out:
	if (err)
		kvstore_kv_list__free(out);
	free(from);
	free(end);
	return err;
}

/* A compaction between two pages makes the later page's revision
 * unreadable (-ESTALE): start again at the new revision. */
int kvstore__list(struct kvstore *kv, const char *prefix, unsigned int flags,
		  struct kvstore_kv_list *out)
{
	int err = -ESTALE;

	for (int attempt = 0; attempt < 3 && err == -ESTALE; attempt++)
		err = list_once(kv, prefix, flags, out);
	return err;
}

int kvstore__put(struct kvstore *kv, const char *key, const void *value, size_t value_len,
		 int64_t lease, int64_t *revision)
{
	json_t *resp;
	int err;

	err = call(kv, "/v3/kv/put", etcd_json__put_request(key, value, value_len, lease),
		   &resp);
	if (err)
		return err;
	err = etcd_json__put_response(resp, revision, kv->error, sizeof(kv->error));
	return parsed(kv, err, resp);
}

int kvstore__delete(struct kvstore *kv, const char *key, bool prefix, int64_t *deleted)
{
	size_t len = strlen(key), end_len = 0;
	char *end = NULL;
	json_t *resp;
	int err;

	if (prefix) {
		err = etcd_prefix__end(key, len, &end, &end_len);
		if (err)
			return err;
	}
	err = call(kv, "/v3/kv/deleterange",
		   etcd_json__delete_request(key, len, end, end_len), &resp);
	free(end);
	if (err)
		return err;
	err = etcd_json__delete_response(resp, deleted, kv->error, sizeof(kv->error));
	return parsed(kv, err, resp);
}

int kvstore__txn(struct kvstore *kv, const struct kvstore_txn *txn,
		 struct kvstore_txn_result *out)
{
	json_t *req, *resp;
	int err;

	memset(out, 0, sizeof(*out));
	req = etcd_json__txn_request(txn, &err);
	if (!req) {
		set_error(kv, "etcd: invalid transaction");
		return err;
	}
	err = call(kv, "/v3/kv/txn", req, &resp);
	if (err)
		return err;
	err = etcd_json__txn_response(resp, out, kv->error, sizeof(kv->error));
	return parsed(kv, err, resp);
}

int kvstore__compact(struct kvstore *kv, int64_t revision)
{
	json_t *resp;
	int err;

	err = call(kv, "/v3/kv/compaction", etcd_json__compact_request(revision), &resp);
	if (err)
		return err;
	return parsed(kv, 0, resp);
}

/*
 * The helpers below run one comparison on key, one write on success and a
 * read of key on failure, so a lost race says what won it without another
 * round trip.
 */
static int txn_put_if(struct kvstore *kv, const char *key, enum kvstore_cmp_target target,
		      int64_t revision, const void *value, size_t value_len,
		      int64_t lease, struct kvstore_kv *current, int lost)
{
	const struct kvstore_cmp cmp = {
	    .key = key,
	    .target = target,
	    .result = KVSTORE_CMP_EQUAL,
	    .revision = revision,
	};
	const struct kvstore_op put = {
	    .type = KVSTORE_OP_PUT,
	    .key = key,
	    .value = value,
	    .value_len = value_len,
	    .lease = lease,
	};
	const struct kvstore_op get = {.type = KVSTORE_OP_GET, .key = key};
	const struct kvstore_txn txn = {
	    .compare = &cmp,
	    .compare_count = 1,
	    .success = &put,
	    .success_count = 1,
	    .failure = &get,
	    .failure_count = 1,
	};
	struct kvstore_txn_result res;
	int err;

	if (current)
		memset(current, 0, sizeof(*current));
	err = kvstore__txn(kv, &txn, &res);
	if (err)
		return err;
	if (!res.succeeded) {
		err = lost;
		set_error(kv, "etcd: key \"%s\" %s", key,
			  lost == -EEXIST ? "exists"
					  : "changed since the revision compared");
		if (current && res.result_count == 1 && res.results[0].range.count) {
			*current = res.results[0].range.items[0];
			memset(&res.results[0].range.items[0], 0, sizeof(*current));
		}
	}
	kvstore_txn_result__free(&res);
	return err;
}

int kvstore__create(struct kvstore *kv, const char *key, const void *value,
		    size_t value_len, int64_t lease, struct kvstore_kv *existing)
{
	return txn_put_if(kv, key, KVSTORE_CMP_CREATE, 0, value, value_len, lease,
			  existing, -EEXIST);
}

int kvstore__cas(struct kvstore *kv, const char *key, int64_t mod_revision,
		 const void *value, size_t value_len, int64_t lease,
		 struct kvstore_kv *current)
{
	return txn_put_if(kv, key, KVSTORE_CMP_MOD, mod_revision, value, value_len, lease,
			  current, -ESTALE);
}

int kvstore__lease_grant(struct kvstore *kv, int64_t ttl, int64_t *id,
			 int64_t *granted_ttl)
{
	json_t *resp;
	int err;

	err = call(kv, "/v3/lease/grant", etcd_json__lease_grant_request(ttl), &resp);
	if (err)
		return err;
	err = etcd_json__lease_response(resp, id, granted_ttl, kv->error,
					sizeof(kv->error));
	if (!err && !*id) {
		set_error(kv, "etcd: lease grant answered without an ID");
		err = -EPROTO;
	}
	return parsed(kv, err, resp);
}

int kvstore__lease_keepalive(struct kvstore *kv, int64_t id, int64_t *ttl)
{
	int64_t left = 0;
	json_t *resp;
	int err;

	err = call(kv, "/v3/lease/keepalive", etcd_json__lease_id_request(id), &resp);
	if (err)
		return err;
	err = etcd_json__lease_response(resp, NULL, &left, kv->error, sizeof(kv->error));
	/* An expired or unknown lease is answered with TTL 0 (left out). */
	if (!err && left <= 0) {
		set_error(kv, "etcd: lease %lld has expired", (long long)id);
		err = -ENOENT;
	}
	if (!err && ttl)
		*ttl = left;
	return parsed(kv, err, resp);
}

int kvstore__lease_revoke(struct kvstore *kv, int64_t id)
{
	json_t *resp;
	int err;

	err = call(kv, "/v3/lease/revoke", etcd_json__lease_id_request(id), &resp);
	if (err)
		return err;
	return parsed(kv, 0, resp);
}
