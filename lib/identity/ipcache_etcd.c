// SPDX-License-Identifier: Apache-2.0
/*
 * The etcd ipcache backend (include/warden/ipcache_etcd.h). A local
 * ipcache holds what is in effect and feeds the sink; this file decides,
 * per address, which claim is in effect (this node's, else another
 * node's) and keeps etcd in step with this node's claims.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_keys.h"
#include "warden/abi/maps.h"
#include "warden/ipcache_etcd.h"
#include "warden/kvstore.h"
#include "warden/log.h"
#include "warden/prefix.h"

#define BUCKETS 16384

/* Both claims on one address. */
struct claim_entry {
	struct policy_prefix prefix;
	struct claim_entry *next;
	bool local; /* this node's endpoint has it */
	uint32_t local_id;
	bool published; /* our value is in etcd (as far as we know) */
	uint32_t published_id;
	bool pending; /* etcd lags behind local (publish or unpublish) */
	bool remote;  /* another node has it */
	uint32_t remote_id;
	char *remote_node;
	bool applied; /* in the local table, with applied_id */
	uint32_t applied_id;
	bool seen;     /* during a resync: another node's claim listed */
	bool seen_own; /* during a resync: our own key listed */
};

struct etcd_ipcache {
	struct ipcache base;
	struct ipcache *inner; /* what is in effect; mirrors into the sink */
	struct kvstore *kv;
	char *prefix;
	char *node;
	char *ip_prefix;
	int64_t lease;
	struct kvstore_watch *watch;
	struct claim_entry *buckets[BUCKETS];
	size_t pending;
	char error[512];
};

static const struct ipcache_ops etcd_ops;

static struct etcd_ipcache *to_etcd(const struct ipcache *c)
{
	return (struct etcd_ipcache *)c;
}

static void set_error(struct etcd_ipcache *ec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct etcd_ipcache *ec, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ec->error, sizeof(ec->error), fmt, ap);
	va_end(ap);
}

static bool is_cluster_id(uint32_t id)
{
	return id >= WARDEN_IDENTITY_USER_MIN && id <= WARDEN_IDENTITY_USER_MAX;
}

static size_t bucket_of(const struct policy_prefix *p)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = (h ^ p->family) * 0x100000001b3ull;
	h = (h ^ p->len) * 0x100000001b3ull;
	for (size_t i = 0; i < sizeof(p->addr); i++)
		h = (h ^ p->addr[i]) * 0x100000001b3ull;
	return h % BUCKETS;
}

static bool prefix_equal(const struct policy_prefix *a, const struct policy_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static struct claim_entry *find(struct etcd_ipcache *ec, const struct policy_prefix *p)
{
	for (struct claim_entry *e = ec->buckets[bucket_of(p)]; e; e = e->next)
		if (prefix_equal(&e->prefix, p))
			return e;
	return NULL;
}

static struct claim_entry *find_or_add(struct etcd_ipcache *ec,
				       const struct policy_prefix *p)
{
	struct claim_entry *e = find(ec, p);
	size_t b;

	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	/* Only the meaningful bytes: a parsed and a built prefix compare equal. */
	e->prefix.family = p->family;
	e->prefix.len = p->len;
	memcpy(e->prefix.addr, p->addr, p->family == 4 ? 4 : 16);
	b = bucket_of(&e->prefix);
	e->next = ec->buckets[b];
	ec->buckets[b] = e;
	return e;
}

static void set_pending(struct etcd_ipcache *ec, struct claim_entry *e, bool pending)
{
	if (e->pending == pending)
		return;
	e->pending = pending;
	if (pending)
		ec->pending++;
	else
		ec->pending--;
}

/* Free the entry once nothing refers to it. */
static void maybe_forget(struct etcd_ipcache *ec, struct claim_entry *e)
{
	size_t b = bucket_of(&e->prefix);

	if (e->local || e->remote || e->pending || e->published || e->applied)
		return;
	for (struct claim_entry **pp = &ec->buckets[b]; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	free(e->remote_node);
	free(e);
}

/* Put the claim in effect (local first, else remote) into the table. */
static int apply(struct etcd_ipcache *ec, struct claim_entry *e)
{
	bool want = e->local || e->remote;
	uint32_t id = e->local ? e->local_id : e->remote_id;
	int err = 0;

	if (want && (!e->applied || e->applied_id != id)) {
		err = ipcache__upsert(ec->inner, &e->prefix, id);
		/* The table keeps a claim per class of identity: the old one
		 * goes (a claim of the same class was just replaced). */
		if (!err && e->applied)
			ipcache__remove(ec->inner, &e->prefix, e->applied_id);
		if (!err) {
			e->applied = true;
			e->applied_id = id;
		}
	} else if (!want && e->applied) {
		err = ipcache__remove(ec->inner, &e->prefix, e->applied_id);
		if (!err || err == -ENOENT) {
			e->applied = false;
			err = 0;
		}
	}
	return err;
}

static int publish(struct etcd_ipcache *ec, struct claim_entry *e)
{
	char *key = etcd_keys__ip_key(ec->prefix, &e->prefix);
	char *value = etcd_keys__ip_value(e->local_id, ec->node);
	int err = -ENOMEM;

	if (key && value)
		err = kvstore__put(ec->kv, key, value, strlen(value), ec->lease, NULL);
	if (!err) {
		e->published = true;
		e->published_id = e->local_id;
	} else if (key && value) {
		set_error(ec, "publishing %s: %s", key, kvstore__error(ec->kv));
	}
	free(key);
	free(value);
	return err;
}

/* Delete our key, unless another node's value replaced ours meanwhile. */
static int unpublish(struct etcd_ipcache *ec, struct claim_entry *e)
{
	char *key = etcd_keys__ip_key(ec->prefix, &e->prefix);
	char *value = etcd_keys__ip_value(e->published_id, ec->node);
	int err = -ENOMEM;

	if (key && value) {
		const struct kvstore_cmp cmp = {
		    .key = key,
		    .target = KVSTORE_CMP_VALUE,
		    .result = KVSTORE_CMP_EQUAL,
		    .value = value,
		    .value_len = strlen(value),
		};
		const struct kvstore_op del = {.type = KVSTORE_OP_DELETE, .key = key};
		const struct kvstore_txn txn = {
		    .compare = &cmp,
		    .compare_count = 1,
		    .success = &del,
		    .success_count = 1,
		};
		struct kvstore_txn_result res;

		err = kvstore__txn(ec->kv, &txn, &res);
		if (err)
			set_error(ec, "withdrawing %s: %s", key, kvstore__error(ec->kv));
		else
			kvstore_txn_result__free(&res);
	}
	if (!err)
		e->published = false;
	free(key);
	free(value);
	return err;
}

/* Bring etcd in step with e's local claim. */
static int sync_entry(struct etcd_ipcache *ec, struct claim_entry *e)
{
	int err = 0;

	if (e->local && is_cluster_id(e->local_id)) {
		if (!e->published || e->published_id != e->local_id)
			err = publish(ec, e);
	} else if (e->published) {
		err = unpublish(ec, e);
	}
	set_pending(ec, e, err != 0);
	return err;
}

static int etcd_upsert(struct ipcache *c, const struct policy_prefix *prefix,
		       uint32_t identity)
{
	struct etcd_ipcache *ec = to_etcd(c);
	struct claim_entry *e = find_or_add(ec, prefix);
	bool was_local;
	uint32_t was_id;
	int err;

	if (!e)
		return -ENOMEM;
	was_local = e->local;
	was_id = e->local_id;
	e->local = true;
	e->local_id = identity;
	/* The datapath first: if it refuses, nothing changed. */
	err = apply(ec, e);
	if (err) {
		e->local = was_local;
		e->local_id = was_id;
		maybe_forget(ec, e);
		return err;
	}
	if (sync_entry(ec, e))
		pr_warn("kvstore: %s (will retry)\n", ec->error);
	return 0;
}

static int etcd_remove(struct ipcache *c, const struct policy_prefix *prefix,
		       uint32_t identity)
{
	struct etcd_ipcache *ec = to_etcd(c);
	struct claim_entry *e = find(ec, prefix);
	int err;

	if (!e || !e->local || e->local_id != identity)
		return -ENOENT;
	e->local = false;
	err = apply(ec, e); /* another node's claim, if any, takes effect */
	if (err)
		pr_warn(
		    "kvstore: applying the remaining claim on an address failed: %s\n",
		    strerror(-err));
	if (sync_entry(ec, e))
		pr_warn("kvstore: %s (will retry)\n", ec->error);
	maybe_forget(ec, e);
	return 0;
}

static uint32_t etcd_lookup(struct ipcache *c, const struct policy_prefix *addr)
{
	return ipcache__lookup(to_etcd(c)->inner, addr);
}

static size_t etcd_count(struct ipcache *c)
{
	struct ipcache *inner = to_etcd(c)->inner;

	return inner->ops->count(inner);
}

static int etcd_foreach(struct ipcache *c,
			int (*fn)(void *ctx, const struct policy_prefix *prefix,
				  uint32_t identity),
			void *ctx)
{
	struct ipcache *inner = to_etcd(c)->inner;

	return inner->ops->foreach(inner, fn, ctx);
}

/* Leaves the published keys: they end with the node's lease, or a
 * restarted agent publishes them again. */
static void etcd_destroy(struct ipcache *c)
{
	struct etcd_ipcache *ec = to_etcd(c);

	kvstore_watch__free(ec->watch);
	for (size_t b = 0; b < BUCKETS; b++)
		while (ec->buckets[b]) {
			struct claim_entry *e = ec->buckets[b];

			ec->buckets[b] = e->next;
			free(e->remote_node);
			free(e);
		}
	ipcache__free(ec->inner);
	free(ec->prefix);
	free(ec->node);
	free(ec->ip_prefix);
	free(ec);
}

static const struct ipcache_ops etcd_ops = {
    .upsert = etcd_upsert,
    .remove = etcd_remove,
    .lookup = etcd_lookup,
    .count = etcd_count,
    .foreach = etcd_foreach,
    .destroy = etcd_destroy,
};

/* --- other nodes' claims --- */

/* A key/value of <prefix>/ip/ as stored: another node's claim, or ours. */
static int on_put(struct etcd_ipcache *ec, const struct kvstore_kv *kv, bool *changed)
{
	char node[ETCD_KEYS_NODE_MAX + 1];
	struct policy_prefix p;
	struct claim_entry *e;
	uint32_t id;
	int err;

	*changed = false;
	if (etcd_keys__parse_ip_key(kv->key, kv->key_len, ec->ip_prefix, &p) ||
	    etcd_keys__parse_ip_value(kv->value, kv->value_len, &id, node)) {
		pr_warn(
		    "kvstore: ignoring %s = %s: not an address and {identity, node}\n",
		    kv->key, kv->value);
		return 0;
	}
	/* Ours: what we wrote, or a previous run's, which ends with its lease. */
	if (!strcmp(node, ec->node)) {
		e = find(ec, &p);
		if (e)
			e->seen_own = true;
		return 0;
	}
	e = find_or_add(ec, &p);
	if (!e)
		return -ENOMEM;
	e->seen = true;
	if (e->remote && e->remote_id == id && !strcmp(e->remote_node, node))
		return 0;
	free(e->remote_node);
	e->remote_node = strdup(node);
	if (!e->remote_node) {
		e->remote = false;
		maybe_forget(ec, e);
		return -ENOMEM;
	}
	if (e->local)
		pr_warn("kvstore: node %s claims %s, which is an endpoint here: keeping "
			"ours\n",
			node, kv->key + strlen(ec->ip_prefix));
	e->remote = true;
	e->remote_id = id;
	*changed = true;
	err = apply(ec, e);
	if (err)
		pr_warn("kvstore: applying %s from node %s failed: %s\n", kv->key, node,
			strerror(-err));
	return 0;
}

static void on_delete(struct etcd_ipcache *ec, const struct kvstore_kv *kv, bool *changed)
{
	struct policy_prefix p;
	struct claim_entry *e;

	*changed = false;
	if (etcd_keys__parse_ip_key(kv->key, kv->key_len, ec->ip_prefix, &p))
		return;
	e = find(ec, &p);
	if (!e)
		return;
	if (e->remote) {
		e->remote = false;
		*changed = true;
		if (apply(ec, e))
			pr_warn("kvstore: removing %s failed\n", kv->key);
	}
	/* Our own key went (our lease expired, or someone deleted it): write
	 * it again on the next poll. */
	if (e->local && e->published) {
		e->published = false;
		set_pending(ec, e, true);
	}
	maybe_forget(ec, e);
}

static int resync(struct etcd_ipcache *ec, size_t *changed)
{
	struct kvstore_kv_list list;
	int err;

	err = kvstore__list(ec->kv, ec->ip_prefix, 0, &list);
	if (err) {
		set_error(ec, "listing addresses: %s", kvstore__error(ec->kv));
		return err;
	}
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct claim_entry *e = ec->buckets[b]; e; e = e->next)
			e->seen = e->seen_own = false;
	for (size_t i = 0; !err && i < list.count; i++) {
		bool ch;

		err = on_put(ec, &list.items[i], &ch);
		*changed += ch;
	}
	/* Remote claims the list no longer has are gone. */
	for (size_t b = 0; !err && b < BUCKETS; b++) {
		struct claim_entry *e = ec->buckets[b];

		while (e) {
			struct claim_entry *next = e->next;

			if (e->remote && !e->seen) {
				e->remote = false;
				(*changed)++;
				apply(ec, e);
				maybe_forget(ec, e);
			} else if (e->local && e->published && !e->seen_own) {
				/* Our key went while the watch was behind. */
				e->published = false;
				set_pending(ec, e, true);
			}
			e = next;
		}
	}
	if (!err)
		err = ec->watch ? kvstore_watch__restart(ec->watch, list.revision + 1)
				: kvstore_watch__new(&ec->watch, ec->kv, ec->ip_prefix,
						     list.revision + 1);
	kvstore_kv_list__free(&list);
	return err;
}

int ipcache_etcd__poll(struct ipcache *c, size_t *changed)
{
	struct etcd_ipcache *ec = to_etcd(c);
	const struct kvstore_event *events;
	size_t count, n = 0;
	int err;

	if (!ipcache__is_etcd(c))
		return -EINVAL;
	err = kvstore_watch__poll(ec->watch, &events, &count);
	if (err == -ESTALE) {
		pr_info("kvstore: address watch fell behind compaction: resyncing\n");
		err = resync(ec, &n);
		count = 0;
	}
	for (size_t i = 0; !err && i < count; i++) {
		bool ch = false;

		if (events[i].type == KVSTORE_EVENT_PUT)
			err = on_put(ec, &events[i].kv, &ch);
		else
			on_delete(ec, &events[i].kv, &ch);
		n += ch;
	}
	/* Local changes etcd missed; stop at the first failure. */
	for (size_t b = 0; !err && ec->pending && b < BUCKETS; b++) {
		struct claim_entry *e = ec->buckets[b];

		while (e) {
			struct claim_entry *next = e->next;

			if (e->pending) {
				if (sync_entry(ec, e))
					goto out;
				maybe_forget(ec, e);
			}
			e = next;
		}
	}
out:
	if (changed)
		*changed = n;
	return err;
}

int ipcache_etcd__set_lease(struct ipcache *c, int64_t lease)
{
	struct etcd_ipcache *ec = to_etcd(c);
	int first = 0;

	if (!ipcache__is_etcd(c))
		return -EINVAL;
	ec->lease = lease;
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct claim_entry *e = ec->buckets[b]; e; e = e->next) {
			int err;

			if (!e->local || !is_cluster_id(e->local_id))
				continue;
			e->published = false; /* on the old lease: write again */
			err = sync_entry(ec, e);
			if (err && !first)
				first = err;
		}
	return first;
}

bool ipcache_etcd__connected(const struct ipcache *c)
{
	return ipcache__is_etcd(c) && kvstore_watch__connected(to_etcd(c)->watch);
}

size_t ipcache_etcd__pending(const struct ipcache *c)
{
	return ipcache__is_etcd(c) ? to_etcd(c)->pending : 0;
}

const char *ipcache_etcd__error(const struct ipcache *c)
{
	return ipcache__is_etcd(c) ? to_etcd(c)->error : "not an etcd ipcache";
}

bool ipcache__is_etcd(const struct ipcache *c)
{
	return c && c->ops == &etcd_ops;
}

int ipcache_etcd__fd(const struct ipcache *c)
{
	if (!ipcache__is_etcd(c))
		return -EINVAL;
	return kvstore_watch__fd(to_etcd(c)->watch);
}

int ipcache__new_etcd(struct ipcache **out, const struct ipcache_etcd_config *cfg,
		      char *err, size_t err_len)
{
	struct etcd_ipcache *ec;
	size_t changed = 0;
	int ret;

	if (!cfg->kv || !etcd_keys__valid_prefix(cfg->prefix) ||
	    !etcd_keys__valid_node(cfg->node)) {
		snprintf(err, err_len, "etcd ipcache: %s",
			 !cfg->kv ? "no kvstore client"
			 : !etcd_keys__valid_prefix(cfg->prefix)
			     ? "the key prefix must start with '/', not end with one, "
			       "and hold no spaces"
			     : "the node name must be 1 to 253 of A-Z a-z 0-9 . _ -");
		return -EINVAL;
	}
	ec = calloc(1, sizeof(*ec));
	if (!ec)
		return -ENOMEM;
	ec->base.ops = &etcd_ops;
	ec->kv = cfg->kv;
	ec->lease = cfg->lease;
	ec->prefix = strdup(cfg->prefix);
	ec->node = strdup(cfg->node);
	ec->ip_prefix = etcd_keys__ip_prefix(cfg->prefix);
	ret = -ENOMEM;
	if (!ec->prefix || !ec->node || !ec->ip_prefix)
		goto fail;
	ret = ipcache__new_local(&ec->inner, cfg->sink);
	if (ret)
		goto fail;
	ret = resync(ec, &changed);
	if (ret) {
		snprintf(err, err_len, "%s", ec->error[0] ? ec->error : strerror(-ret));
		goto fail;
	}
	*out = &ec->base;
	return 0;
fail:
	etcd_destroy(&ec->base);
	return ret;
}
