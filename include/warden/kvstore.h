/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client for etcd v3, the store that cluster mode shares between nodes.
 *
 * It speaks etcd's JSON gateway (POST /v3/kv/range, /v3/kv/txn, /v3/watch,
 * ...) over HTTP with libcurl: Debian ships etcd but no C client, and the
 * gateway is part of every etcd server, documented and stable since 3.3.
 *
 * Requests block for at most the configured timeout. On a transport error
 * (refused, reset, timed out) or "unavailable" from the server, a request is
 * tried once on each other endpoint before it fails; the endpoint that
 * answered is kept for the next request. A write retried that way may have
 * been applied by the first endpoint: every caller in Warden writes with
 * transactions whose comparisons make a repeat harmless.
 *
 * Every call returns 0 or -errno; kvstore__error() then says why in words.
 * One client is used by one thread at a time (it owns one connection).
 * Keys are C strings; values are bytes with a length (kept NUL-terminated
 * for convenience).
 */
#ifndef WARDEN_KVSTORE_H
#define WARDEN_KVSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvstore;

struct kvstore_options {
	/* Comma-separated URLs, "http://127.0.0.1:2379,http://10.0.0.2:2379". */
	const char *endpoints;
	/* Per request, including connecting; 0 means 2000 ms. */
	long timeout_ms;
};

/* One key as stored: all revisions are etcd's (the store's counter). */
struct kvstore_kv {
	char *key;
	size_t key_len;
	char *value; /* NUL-terminated after value_len bytes; never NULL */
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease; /* 0: none */
};

struct kvstore_kv_list {
	struct kvstore_kv *items; /* sorted by key */
	size_t count;
	int64_t revision; /* the store's revision the list was read at */
};

struct kvstore_status {
	char version[32]; /* etcd's, "3.4.23" */
	int64_t revision;
	int64_t db_size; /* bytes */
	uint64_t member_id;
	uint64_t leader;
	char endpoint[128]; /* the URL that answered */
};

/*
 * Create a client for the endpoints (no I/O: it is usable before etcd is
 * up, and connects on the first request). On error writes the reason (a
 * bad URL list) into err.
 */
int kvstore__new(struct kvstore **out, const struct kvstore_options *opts, char *err,
		 size_t err_len);
/* kvstore__new() and kvstore__status(): fails when no endpoint answers. */
int kvstore__connect(struct kvstore **out, const struct kvstore_options *opts, char *err,
		     size_t err_len);
void kvstore__free(struct kvstore *kv);
/* Why the last call on kv failed; "" after a success. */
const char *kvstore__error(const struct kvstore *kv);
/* The endpoint requests go to now. */
const char *kvstore__endpoint(const struct kvstore *kv);

int kvstore__status(struct kvstore *kv, struct kvstore_status *out);

/* One key; -ENOENT when absent. Free out with kvstore_kv__free(). */
int kvstore__get(struct kvstore *kv, const char *key, struct kvstore_kv *out);

enum {
	KVSTORE_LIST_KEYS_ONLY = 1 << 0, /* values come back empty */
};

/*
 * Every key under prefix, read in pages at one revision (a consistent
 * snapshot; out->revision is it, so a watch from revision + 1 misses
 * nothing). Free with kvstore_kv_list__free().
 */
int kvstore__list(struct kvstore *kv, const char *prefix, unsigned int flags,
		  struct kvstore_kv_list *out);

/* Put key = value, attached to lease (0: none). *revision (may be NULL)
 * receives the revision of the write. */
int kvstore__put(struct kvstore *kv, const char *key, const void *value, size_t value_len,
		 int64_t lease, int64_t *revision);

/* Delete key, or every key under it when prefix; *deleted may be NULL. */
int kvstore__delete(struct kvstore *kv, const char *key, bool prefix, int64_t *deleted);

/*
 * Create key = value only if it does not exist (a transaction comparing its
 * create_revision with 0). Returns 0 when created, -EEXIST when the key was
 * there; then *existing (may be NULL) holds it.
 */
int kvstore__create(struct kvstore *kv, const char *key, const void *value,
		    size_t value_len, int64_t lease, struct kvstore_kv *existing);

/*
 * Compare-and-swap: write key = value only if its mod_revision is still
 * mod_revision (0: only if it is absent). Returns 0 when written, -ESTALE
 * when the key changed; then *current (may be NULL) holds it (key NULL and
 * revisions 0 if it is gone).
 */
int kvstore__cas(struct kvstore *kv, const char *key, int64_t mod_revision,
		 const void *value, size_t value_len, int64_t lease,
		 struct kvstore_kv *current);

/* Discard the history before revision (what an operator's auto-compaction
 * does); watches resuming from earlier then get -ESTALE. */
int kvstore__compact(struct kvstore *kv, int64_t revision);

/* --- Transactions: the general form the helpers above are built on. --- */

enum kvstore_cmp_target {
	KVSTORE_CMP_CREATE,  /* create_revision */
	KVSTORE_CMP_MOD,     /* mod_revision */
	KVSTORE_CMP_VERSION, /* version */
	KVSTORE_CMP_VALUE,   /* value (bytes) */
};

enum kvstore_cmp_result {
	KVSTORE_CMP_EQUAL,
	KVSTORE_CMP_NOT_EQUAL,
	KVSTORE_CMP_GREATER,
	KVSTORE_CMP_LESS,
};

/*
 * With prefix set, the comparison holds when it holds for every key under
 * key; for an empty range it compares against an absent key (revisions
 * 0), except that a value comparison over an empty range is false. So
 * "CREATE EQUAL 0 over a prefix" means "no key under the prefix", and
 * "VALUE EQUAL v over a prefix" means "some keys, all with value v".
 */
struct kvstore_cmp {
	const char *key;
	bool prefix;
	enum kvstore_cmp_target target;
	enum kvstore_cmp_result result;
	int64_t revision;  /* CREATE, MOD, VERSION */
	const void *value; /* VALUE */
	size_t value_len;
};

enum kvstore_op_type {
	KVSTORE_OP_GET,
	KVSTORE_OP_PUT,
	KVSTORE_OP_DELETE,
};

struct kvstore_op {
	enum kvstore_op_type type;
	const char *key;
	bool prefix;	   /* GET, DELETE: the whole prefix */
	int64_t limit;	   /* GET: at most this many keys (0: all) */
	const void *value; /* PUT */
	size_t value_len;
	int64_t lease; /* PUT */
};

/* The result of each operation of the branch that ran, in order. */
struct kvstore_op_result {
	enum kvstore_op_type type;
	struct kvstore_kv_list range; /* GET */
	int64_t deleted;	      /* DELETE */
};

struct kvstore_txn_result {
	bool succeeded;	  /* the comparisons held: the success branch ran */
	int64_t revision; /* the store's revision after the transaction */
	struct kvstore_op_result *results;
	size_t result_count;
};

struct kvstore_txn {
	const struct kvstore_cmp *compare;
	size_t compare_count;
	const struct kvstore_op *success;
	size_t success_count;
	const struct kvstore_op *failure;
	size_t failure_count;
};

/* Run txn atomically. Returns 0 whichever branch ran (see out->succeeded).
 * Free out with kvstore_txn_result__free(). */
int kvstore__txn(struct kvstore *kv, const struct kvstore_txn *txn,
		 struct kvstore_txn_result *out);

/* --- Leases: keys attached to a lease go away when it expires. --- */

/* A new lease of ttl seconds (etcd raises very short TTLs to its minimum,
 * about 2 s); *granted_ttl (may be NULL) is what the server granted. */
int kvstore__lease_grant(struct kvstore *kv, int64_t ttl, int64_t *id,
			 int64_t *granted_ttl);
/* Renew a lease; -ENOENT when it has expired (its keys are gone). */
int kvstore__lease_keepalive(struct kvstore *kv, int64_t id, int64_t *ttl);
/* End a lease now, deleting its keys. -ENOENT when it does not exist. */
int kvstore__lease_revoke(struct kvstore *kv, int64_t id);

void kvstore_kv__free(struct kvstore_kv *kv);
void kvstore_kv_list__free(struct kvstore_kv_list *list);
void kvstore_txn_result__free(struct kvstore_txn_result *res);

/* --- Watches --- */

struct kvstore_watch;

enum kvstore_event_type {
	KVSTORE_EVENT_PUT,
	KVSTORE_EVENT_DELETE,
};

/* For a DELETE, kv has the key and mod_revision (the deletion's) only. */
struct kvstore_event {
	enum kvstore_event_type type;
	struct kvstore_kv kv;
};

/*
 * Watch every key under prefix from start_revision on (0: from now). The
 * watch uses the endpoints of kv (it keeps a pointer: free the watch
 * first) but a connection of its own, and never blocks: it is driven by
 * kvstore_watch__poll() when kvstore_watch__fd() is readable (an epoll fd,
 * level-triggered; add it to the caller's loop for EPOLLIN).
 *
 * When the stream breaks (etcd restarted, endpoint down) the watch
 * reconnects by itself, to the next endpoint, with a backoff from 100 ms
 * to 5 s, and resumes at the revision after the last event it delivered:
 * no event is missed or repeated.
 */
int kvstore_watch__new(struct kvstore_watch **out, struct kvstore *kv, const char *prefix,
		       int64_t start_revision);
void kvstore_watch__free(struct kvstore_watch *w);
int kvstore_watch__fd(const struct kvstore_watch *w);

/*
 * Do the pending I/O and return the events that arrived, in revision
 * order, in *events (owned by the watch, valid until the next call; may be
 * none). Returns 0, or:
 *  -ESTALE: the revision to resume from was compacted away: events were
 *           lost. kvstore_watch__compact_revision() says from where history
 *           is kept. List the prefix again and kvstore_watch__restart(w,
 *           list.revision + 1). Returned until then.
 * A broken stream is not an error here (see kvstore_watch__connected()).
 */
int kvstore_watch__poll(struct kvstore_watch *w, const struct kvstore_event **events,
			size_t *count);
/* poll() on the fd for up to timeout_ms, then kvstore_watch__poll(). */
int kvstore_watch__wait(struct kvstore_watch *w, int timeout_ms,
			const struct kvstore_event **events, size_t *count);
/* Start over from revision (drops the stream; events before it are gone). */
int kvstore_watch__restart(struct kvstore_watch *w, int64_t revision);

/* The stream is established (etcd confirmed the watch) and not broken. */
bool kvstore_watch__connected(const struct kvstore_watch *w);
/* The revision the watch resumes from: after the last event delivered. */
int64_t kvstore_watch__next_revision(const struct kvstore_watch *w);
int64_t kvstore_watch__compact_revision(const struct kvstore_watch *w);
/* Why the stream last broke, or "". */
const char *kvstore_watch__error(const struct kvstore_watch *w);
/* How many times the stream was (re)established. */
unsigned int kvstore_watch__connects(const struct kvstore_watch *w);

#endif /* WARDEN_KVSTORE_H */
