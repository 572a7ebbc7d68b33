/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure part of the etcd client: what goes into a gateway request and
 * what comes out of a response. No I/O here, so all of it is unit-tested
 * and fuzzed (tests/unit/test_kvstore_json.c, tests/fuzz/fuzz_etcd_json.c).
 *
 * The gateway's JSON is protobuf's canonical JSON: keys and values are
 * base64, 64-bit integers are strings ("revision":"42"), fields at their
 * zero value (false, 0, "") are left out.
 */
#ifndef WARDEN_KVSTORE_ETCD_JSON_H
#define WARDEN_KVSTORE_ETCD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "warden/kvstore.h"

/* Base64 (RFC 4648, with padding). Both allocate; the decoded bytes are
 * NUL-terminated. Decoding rejects anything but the alphabet and final
 * padding with -EINVAL. */
char *etcd_base64__encode(const void *data, size_t len);
int etcd_base64__decode(const char *text, size_t text_len, char **out, size_t *out_len);

/*
 * The range_end that makes [key, range_end) every key starting with
 * prefix: prefix with its last byte below 0xff incremented, the rest
 * dropped; "\0" (all keys) when there is no such byte. Allocates.
 */
int etcd_prefix__end(const char *prefix, size_t len, char **out, size_t *out_len);

/* A 64-bit field: a JSON string of digits or an integer; absent is 0.
 * -EINVAL for anything else. */
int etcd_json__int64(const json_t *value, int64_t *out);

/* --- Requests: each returns a new JSON object, or NULL without memory. --- */

json_t *etcd_json__range_request(const char *key, size_t key_len, const char *end,
				 size_t end_len, int64_t limit, int64_t revision,
				 bool keys_only);
json_t *etcd_json__put_request(const char *key, const void *value, size_t value_len,
			       int64_t lease);
json_t *etcd_json__delete_request(const char *key, size_t key_len, const char *end,
				  size_t end_len);
/* NULL also for an invalid txn (unknown target or op); sets *err. */
json_t *etcd_json__txn_request(const struct kvstore_txn *txn, int *err);
json_t *etcd_json__watch_request(const char *key, size_t key_len, const char *end,
				 size_t end_len, int64_t start_revision);
json_t *etcd_json__compact_request(int64_t revision);
json_t *etcd_json__lease_grant_request(int64_t ttl);
json_t *etcd_json__lease_id_request(int64_t id);

/* --- Responses: each returns 0 or -errno with the reason in msg. --- */

/*
 * An error body, {"error": "...", "message": "...", "code": N} (unary) or
 * {"error": {"grpc_code": N, "message": "..."}} (in a stream): returns the
 * errno for the gRPC code and copies the message, or 0 when root is not an
 * error.
 */
int etcd_json__error(const json_t *root, char *msg, size_t msg_len);
/* gRPC status code -> -errno. */
int etcd_grpc__errno(int code);

int etcd_json__kv(const json_t *obj, struct kvstore_kv *out, char *msg, size_t msg_len);
/* A range response: appends its keys to out (so pages add up), sets
 * out->revision and *more. */
int etcd_json__range_response(const json_t *root, struct kvstore_kv_list *out, bool *more,
			      char *msg, size_t msg_len);
int etcd_json__put_response(const json_t *root, int64_t *revision, char *msg,
			    size_t msg_len);
int etcd_json__delete_response(const json_t *root, int64_t *deleted, char *msg,
			       size_t msg_len);
int etcd_json__txn_response(const json_t *root, struct kvstore_txn_result *out, char *msg,
			    size_t msg_len);
/* Lease responses; a keepalive's may be wrapped in "result". A missing
 * TTL (0) means the lease does not exist. */
int etcd_json__lease_response(const json_t *root, int64_t *id, int64_t *ttl, char *msg,
			      size_t msg_len);
int etcd_json__status_response(const json_t *root, struct kvstore_status *out, char *msg,
			       size_t msg_len);

/* One message of the watch stream. */
struct etcd_watch_response {
	bool created;
	bool canceled;
	int64_t revision;	  /* the header's */
	int64_t compact_revision; /* when canceled because of compaction */
	char cancel_reason[256];
	struct kvstore_event *events;
	size_t event_count;
};

/*
 * Parse one line of the watch stream ({"result": {...}} or an error).
 * Returns 0, the errno of a stream error (message in msg), or -EPROTO for
 * malformed input. Free out with etcd_watch_response__free() (also after
 * an error).
 */
int etcd_json__watch_line(const char *line, size_t len, struct etcd_watch_response *out,
			  char *msg, size_t msg_len);
void etcd_watch_response__free(struct etcd_watch_response *resp);
void kvstore_event__free(struct kvstore_event *ev);

#endif /* WARDEN_KVSTORE_ETCD_JSON_H */
