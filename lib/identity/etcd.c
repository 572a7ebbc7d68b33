// SPDX-License-Identifier: Apache-2.0
/*
 * The etcd identity backend (include/warden/identity_etcd.h), allocating
 * the way Cilium's kvstore allocator does: a master key per number holding
 * its label set, and per-node references under the label set, leased, so a
 * dead node's references go with it.
 *
 * Why it cannot hand one number to two label sets, or two numbers to one
 * label set, without any lock: every write that chooses a number is one
 * transaction whose comparisons cover the label set's references as a
 * whole (etcd compares every key of a range):
 *
 *  join   "all references of L hold n"            -> add mine = n
 *  adopt  "L has no reference, master n unchanged" -> add mine = n
 *  create "L has no reference, no master n"        -> master n = L, mine = n
 *
 * Two nodes racing for L both compare "L has no reference"; etcd orders the
 * transactions, so the second fails and joins the first's number. A master
 * is created only where none exists and deleted (gc) only while L has no
 * reference, in one transaction each. Whatever the cache (kept by a watch)
 * believes, a stale belief only makes a transaction fail and be retried.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_keys.h"
#include "warden/abi/maps.h"
#include "warden/identity_etcd.h"
#include "warden/kvstore.h"
#include "warden/log.h"

#define TEXT_BUCKETS 4096
/* Retries of one allocation when transactions lose races. Each lost race
 * means another node made progress, so this only bounds a pathological
 * storm. */
#define CLAIM_ATTEMPTS 64

/* A cluster identity as this node knows it. */
struct cluster_ident {
	struct identity ident; /* ident.refcount: this node's references */
	char *text;	       /* canonical label text, the master's value */
	char *escaped;	       /* text as a key component */
	uint64_t hash;	       /* of text */
	int64_t mod_revision;  /* of its master key, when in_store */
	int64_t gc_mark;       /* mod_revision at which gc found it unreferenced */
	bool in_store;	       /* its master key exists (as far as we know) */
	bool delete_pending;   /* our reference is still to be deleted */
	struct cluster_ident *hnext;
};

struct etcd_allocator {
	struct identity_allocator base;
	struct identity_allocator *local; /* reserved and CIDR identities */
	struct kvstore *kv;
	char *prefix;
	char *node;
	int64_t lease;
	char *id_prefix;     /* <prefix>/identities/id/ */
	char *values_prefix; /* <prefix>/identities/value/ */
	struct kvstore_watch *watch;
	struct cluster_ident **items; /* sorted by id */
	size_t count;
	size_t capacity;
	struct cluster_ident *by_text[TEXT_BUCKETS];
	const struct identity **view; /* list()'s answer */
	size_t view_capacity;
	bool view_dirty;
	size_t delete_pending;
	struct identity_etcd_stats stats;
	void (*notify)(void *ctx, uint32_t id, const struct identity *ident);
	void *notify_ctx;
	char error[512];
};

static const struct identity_allocator_ops etcd_ops;

static struct etcd_allocator *to_etcd(const struct identity_allocator *a)
{
	return (struct etcd_allocator *)a;
}

static void set_error(struct etcd_allocator *ea, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct etcd_allocator *ea, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ea->error, sizeof(ea->error), fmt, ap);
	va_end(ap);
}

static bool is_cluster_id(uint32_t id)
{
	return id >= WARDEN_IDENTITY_USER_MIN && id <= WARDEN_IDENTITY_USER_MAX;
}

static uint64_t text_hash(const char *text)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *text; text++)
		h = (h ^ (unsigned char)*text) * 0x100000001b3ull;
	return h;
}

/* --- the cache --- */

static size_t find_index(const struct etcd_allocator *ea, uint32_t id, bool *found)
{
	size_t lo = 0, hi = ea->count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ea->items[mid]->ident.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < ea->count && ea->items[lo]->ident.id == id;
	return lo;
}

static struct cluster_ident *find_by_id(const struct etcd_allocator *ea, uint32_t id)
{
	bool found;
	size_t at = find_index(ea, id, &found);

	return found ? ea->items[at] : NULL;
}

/* The entry for text this node refers to, else one whose master exists. */
static struct cluster_ident *find_by_text(const struct etcd_allocator *ea,
					  const char *text)
{
	uint64_t h = text_hash(text);
	struct cluster_ident *stored = NULL;

	for (struct cluster_ident *e = ea->by_text[h % TEXT_BUCKETS]; e; e = e->hnext) {
		if (e->hash != h || strcmp(e->text, text))
			continue;
		if (e->ident.refcount)
			return e;
		if (e->in_store && (!stored || e->ident.id < stored->ident.id))
			stored = e;
	}
	return stored;
}

static void unlink_text(struct etcd_allocator *ea, struct cluster_ident *e)
{
	for (struct cluster_ident **pp = &ea->by_text[e->hash % TEXT_BUCKETS]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			return;
		}
}

static void link_text(struct etcd_allocator *ea, struct cluster_ident *e)
{
	e->hash = text_hash(e->text);
	e->hnext = ea->by_text[e->hash % TEXT_BUCKETS];
	ea->by_text[e->hash % TEXT_BUCKETS] = e;
}

static void entry_free(struct cluster_ident *e)
{
	if (!e)
		return;
	label_set__free(&e->ident.labels);
	free(e->text);
	free(e->escaped);
	free(e);
}

/*
 * Labels, canonical text and escaped text of a master's value. The value
 * is re-formatted: a hand-written "org=empire" indexes as "k8s:org=empire".
 */
static int parse_text(const char *value, struct label_set *labels, char **text,
		      char **escaped, char *why, size_t why_len)
{
	int err;

	memset(labels, 0, sizeof(*labels));
	*text = *escaped = NULL;
	err = label_set__parse_list(labels, value, why, why_len);
	if (!err && !labels->count) {
		snprintf(why, why_len, "an empty label set");
		err = -EINVAL;
	}
	if (err)
		goto fail;
	*text = etcd_keys__labels_text(labels);
	*escaped = *text ? etcd_keys__escape(*text) : NULL;
	if (!*escaped) {
		err = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	label_set__free(labels);
	free(*text);
	*text = NULL;
	return err;
}

static void notify(struct etcd_allocator *ea, uint32_t id, const struct identity *ident)
{
	ea->view_dirty = true;
	if (ea->notify)
		ea->notify(ea->notify_ctx, id, ident);
}

static void remove_entry(struct etcd_allocator *ea, struct cluster_ident *e)
{
	bool found;
	size_t at = find_index(ea, e->ident.id, &found);
	uint32_t id = e->ident.id;

	if (!found)
		return;
	unlink_text(ea, e);
	memmove(&ea->items[at], &ea->items[at + 1],
		(ea->count - at - 1) * sizeof(*ea->items));
	ea->count--;
	if (e->delete_pending)
		ea->delete_pending--;
	entry_free(e);
	notify(ea, id, NULL);
}

static int grow_items(struct etcd_allocator *ea)
{
	size_t cap = ea->capacity ? ea->capacity * 2 : 256;
	struct cluster_ident **items;

	if (ea->count < ea->capacity)
		return 0;
	items = realloc(ea->items, cap * sizeof(*items));
	if (!items)
		return -ENOMEM;
	ea->items = items;
	ea->capacity = cap;
	return 0;
}

/*
 * What the store says about master id: its value and mod_revision. Adds,
 * updates or replaces the cached entry. A value that is not a label set is
 * ignored with a warning (someone wrote it by hand). Returns the entry or
 * NULL.
 */
static struct cluster_ident *cache_put(struct etcd_allocator *ea, uint32_t id,
				       const char *value, int64_t mod_revision)
{
	struct cluster_ident *e = find_by_id(ea, id);
	struct label_set labels;
	char *text, *escaped, why[256];
	int err;

	err = parse_text(value, &labels, &text, &escaped, why, sizeof(why));
	if (err) {
		if (err != -ENOMEM)
			pr_warn("kvstore: ignoring identity %u in etcd: \"%s\" is not a "
				"label "
				"set (%s)\n",
				id, value, why);
		return NULL;
	}
	if (e && !strcmp(e->text, text)) {
		e->in_store = true;
		e->mod_revision = mod_revision;
		label_set__free(&labels);
		free(text);
		free(escaped);
		return e;
	}
	if (e && e->ident.refcount) {
		/* Never re-label an identity in use here: its endpoints keep it. */
		pr_warn(
		    "kvstore: identity %u is \"%s\" in etcd but \"%s\" on this node\n",
		    id, text, e->text);
		label_set__free(&labels);
		free(text);
		free(escaped);
		return NULL;
	}
	if (e) { /* the number was freed and given to another label set */
		unlink_text(ea, e);
		label_set__free(&e->ident.labels);
		free(e->text);
		free(e->escaped);
	} else {
		bool found;
		size_t at = find_index(ea, id, &found);

		e = calloc(1, sizeof(*e));
		if (!e || grow_items(ea)) {
			free(e);
			label_set__free(&labels);
			free(text);
			free(escaped);
			return NULL;
		}
		memmove(&ea->items[at + 1], &ea->items[at],
			(ea->count - at) * sizeof(*ea->items));
		ea->items[at] = e;
		ea->count++;
		e->ident.id = id;
	}
	e->ident.labels = labels;
	e->text = text;
	e->escaped = escaped;
	e->in_store = true;
	e->mod_revision = mod_revision;
	e->gc_mark = 0;
	link_text(ea, e);
	notify(ea, id, &e->ident);
	return e;
}

/* Master id is gone from the store. */
static void cache_drop(struct etcd_allocator *ea, uint32_t id)
{
	struct cluster_ident *e = find_by_id(ea, id);

	if (!e)
		return;
	e->in_store = false;
	if (!e->ident.refcount && !e->delete_pending)
		remove_entry(ea, e);
}

/* --- allocation --- */

static struct kvstore_kv *first_kv(struct kvstore_txn_result *res, size_t i)
{
	if (i >= res->result_count || res->results[i].type != KVSTORE_OP_GET ||
	    !res->results[i].range.count)
		return NULL;
	return &res->results[i].range.items[0];
}

/* Run a transaction; on an etcd error say which step failed. */
static int run_txn(struct etcd_allocator *ea, const struct kvstore_txn *txn,
		   struct kvstore_txn_result *res, const char *what)
{
	int err = kvstore__txn(ea->kv, txn, res);

	if (err)
		set_error(ea, "%s: %s", what, kvstore__error(ea->kv));
	return err;
}

/* The master's state from a failed transaction's read of it. */
static void learn_master(struct etcd_allocator *ea, uint32_t n,
			 const struct kvstore_kv *m)
{
	if (m)
		cache_put(ea, n, m->value, m->mod_revision);
	else
		cache_drop(ea, n);
}

struct claim {
	const char *text;
	const char *escaped;
	char *refs_prefix;
	char *ref_key;
	char *master_key; /* of the number being tried */
};

static int set_master_key(struct etcd_allocator *ea, struct claim *c, uint32_t n)
{
	free(c->master_key);
	c->master_key = etcd_keys__id_key(ea->prefix, n);
	return c->master_key ? 0 : -ENOMEM;
}

/*
 * join: every reference of the label set holds n -> add ours. The master
 * is read in the same transaction; if someone deleted it by hand while
 * references remained, it is written again (only where absent).
 */
static int try_join(struct etcd_allocator *ea, struct claim *c, uint32_t n, bool *done)
{
	char num[16];
	int len = snprintf(num, sizeof(num), "%u", n), err;
	const struct kvstore_cmp cmp = {
	    .key = c->refs_prefix,
	    .prefix = true,
	    .target = KVSTORE_CMP_VALUE,
	    .result = KVSTORE_CMP_EQUAL,
	    .value = num,
	    .value_len = (size_t)len,
	};
	const struct kvstore_op ops[] = {
	    {.type = KVSTORE_OP_PUT,
	     .key = c->ref_key,
	     .value = num,
	     .value_len = (size_t)len,
	     .lease = ea->lease},
	    {.type = KVSTORE_OP_GET, .key = c->master_key},
	};
	const struct kvstore_txn txn = {
	    .compare = &cmp,
	    .compare_count = 1,
	    .success = ops,
	    .success_count = 2,
	};
	struct kvstore_txn_result res;
	struct kvstore_kv *m;

	*done = false;
	err = run_txn(ea, &txn, &res, "joining an identity");
	if (err || !res.succeeded)
		goto out;
	m = first_kv(&res, 1);
	if (!m) {
		pr_warn(
		    "kvstore: identity %u had references but no master key: writing it "
		    "again\n",
		    n);
		err = kvstore__create(ea->kv, c->master_key, c->text, strlen(c->text), 0,
				      NULL);
		if (err && err != -EEXIST) {
			set_error(ea, "restoring master key %s: %s", c->master_key,
				  kvstore__error(ea->kv));
			goto out;
		}
		err = 0;
		/* Created, or recreated by a racing node: either way, read again. */
		goto out;
	}
	if (!cache_put(ea, n, m->value, m->mod_revision) ||
	    strcmp(find_by_id(ea, n)->text, c->text)) {
		set_error(ea,
			  "identity %u: references of \"%s\" point to it but its master "
			  "key holds \"%s\"",
			  n, c->text, m->value);
		kvstore__delete(ea->kv, c->ref_key, false, NULL);
		err = -EPROTO;
		goto out;
	}
	*done = true;
out:
	kvstore_txn_result__free(&res);
	return err;
}

/* adopt: the label set has no reference and master n (with its labels) is
 * unchanged since mod_revision -> add ours. */
static int try_adopt(struct etcd_allocator *ea, struct claim *c, uint32_t n,
		     int64_t mod_revision, bool *done)
{
	char num[16];
	int len = snprintf(num, sizeof(num), "%u", n), err;
	const struct kvstore_cmp cmps[] = {
	    {.key = c->refs_prefix,
	     .prefix = true,
	     .target = KVSTORE_CMP_CREATE,
	     .result = KVSTORE_CMP_EQUAL},
	    {.key = c->master_key,
	     .target = KVSTORE_CMP_MOD,
	     .result = KVSTORE_CMP_EQUAL,
	     .revision = mod_revision},
	};
	const struct kvstore_op put = {
	    .type = KVSTORE_OP_PUT,
	    .key = c->ref_key,
	    .value = num,
	    .value_len = (size_t)len,
	    .lease = ea->lease,
	};
	const struct kvstore_op get = {.type = KVSTORE_OP_GET, .key = c->master_key};
	const struct kvstore_txn txn = {
	    .compare = cmps,
	    .compare_count = 2,
	    .success = &put,
	    .success_count = 1,
	    .failure = &get,
	    .failure_count = 1,
	};
	struct kvstore_txn_result res;

	*done = false;
	err = run_txn(ea, &txn, &res, "adopting an identity");
	if (err)
		return err;
	if (res.succeeded)
		*done = true;
	else
		learn_master(ea, n, first_kv(&res, 0));
	kvstore_txn_result__free(&res);
	return 0;
}

/* create: the label set has no reference and there is no master n ->
 * write both. */
static int try_create(struct etcd_allocator *ea, struct claim *c, uint32_t n,
		      int64_t *revision, bool *done)
{
	char num[16];
	int len = snprintf(num, sizeof(num), "%u", n), err;
	const struct kvstore_cmp cmps[] = {
	    {.key = c->refs_prefix,
	     .prefix = true,
	     .target = KVSTORE_CMP_CREATE,
	     .result = KVSTORE_CMP_EQUAL},
	    {.key = c->master_key,
	     .target = KVSTORE_CMP_CREATE,
	     .result = KVSTORE_CMP_EQUAL},
	};
	const struct kvstore_op puts[] = {
	    {.type = KVSTORE_OP_PUT,
	     .key = c->master_key,
	     .value = c->text,
	     .value_len = strlen(c->text)},
	    {.type = KVSTORE_OP_PUT,
	     .key = c->ref_key,
	     .value = num,
	     .value_len = (size_t)len,
	     .lease = ea->lease},
	};
	const struct kvstore_op get = {.type = KVSTORE_OP_GET, .key = c->master_key};
	const struct kvstore_txn txn = {
	    .compare = cmps,
	    .compare_count = 2,
	    .success = puts,
	    .success_count = 2,
	    .failure = &get,
	    .failure_count = 1,
	};
	struct kvstore_txn_result res;

	*done = false;
	err = run_txn(ea, &txn, &res, "creating an identity");
	if (err)
		return err;
	if (res.succeeded) {
		*done = true;
		*revision = res.revision;
	} else {
		/* Taken (remember, so the next pick skips it), or not: then the
		 * label set got references meanwhile and the next round joins. */
		learn_master(ea, n, first_kv(&res, 0));
	}
	kvstore_txn_result__free(&res);
	return 0;
}

/* A number no cached identity has, probing from a point that depends on
 * the labels: nodes racing for one label set try the same number, nodes
 * allocating different sets rarely collide. */
static int pick_free(struct etcd_allocator *ea, const char *text, uint32_t *out)
{
	const uint32_t range = WARDEN_IDENTITY_USER_MAX - WARDEN_IDENTITY_USER_MIN + 1;
	uint32_t start = (uint32_t)(text_hash(text) % range);

	for (uint32_t i = 0; i < range; i++) {
		uint32_t n = WARDEN_IDENTITY_USER_MIN + (start + i) % range;

		if (!find_by_id(ea, n)) {
			*out = n;
			return 0;
		}
	}
	set_error(ea, "no free identity left in %u..%u", WARDEN_IDENTITY_USER_MIN,
		  WARDEN_IDENTITY_USER_MAX);
	return -ENOSPC;
}

/*
 * Make this node refer to the label set's cluster-wide number, allocating
 * one if the set has none. With only_prefer, succeed only with prefer
 * (-ESTALE if the set has another number now). Returns the number in
 * *out; the cache holds it.
 */
static int claim(struct etcd_allocator *ea, const char *text, const char *escaped,
		 uint32_t prefer, bool only_prefer, uint32_t *out)
{
	struct claim c = {.text = text, .escaped = escaped};
	int err = -ENOMEM;

	c.refs_prefix = etcd_keys__refs_prefix(ea->prefix, escaped);
	c.ref_key = etcd_keys__ref_key(ea->prefix, escaped, ea->node);
	if (!c.refs_prefix || !c.ref_key)
		goto out;
	for (int attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
		struct kvstore_kv_list refs;
		struct cluster_ident *e;
		int64_t revision = 0;
		bool done = false;
		uint32_t n;

		err = kvstore__list(ea->kv, c.refs_prefix, 0, &refs);
		if (err) {
			set_error(ea, "reading the references of \"%s\": %s", text,
				  kvstore__error(ea->kv));
			goto out;
		}
		if (refs.count) {
			/* The transaction checks that every reference agrees. */
			err = etcd_keys__parse_number(refs.items[0].value,
						      refs.items[0].value_len, &n);
			if (err)
				set_error(ea,
					  "reference %s holds \"%s\", not an identity",
					  refs.items[0].key, refs.items[0].value);
			kvstore_kv_list__free(&refs);
			if (err)
				goto out;
			if (only_prefer && n != prefer) {
				set_error(
				    ea,
				    "\"%s\" is identity %u in the cluster now, not %u",
				    text, n, prefer);
				err = -ESTALE;
				goto out;
			}
			err = set_master_key(ea, &c, n);
			if (!err)
				err = try_join(ea, &c, n, &done);
			ea->stats.joined += done;
		} else {
			kvstore_kv_list__free(&refs);
			e = prefer ? find_by_id(ea, prefer) : find_by_text(ea, text);
			if (e && e->in_store && !strcmp(e->text, text)) {
				/* A master for these labels that nobody refers to. */
				n = e->ident.id;
				err = set_master_key(ea, &c, n);
				if (!err)
					err =
					    try_adopt(ea, &c, n, e->mod_revision, &done);
				ea->stats.adopted += done;
			} else {
				if (prefer && (!e || !e->in_store)) {
					n = prefer; /* its master is gone: write it again
						     */
				} else if (only_prefer) {
					set_error(ea,
						  "identity %u is \"%s\" now, not \"%s\"",
						  prefer, e->text, text);
					err = -ESTALE;
				} else {
					err = pick_free(ea, text, &n);
				}
				if (!err)
					err = set_master_key(ea, &c, n);
				if (!err)
					err = try_create(ea, &c, n, &revision, &done);
				if (!err && done && !cache_put(ea, n, text, revision))
					err = -ENOMEM;
				ea->stats.created += done;
			}
		}
		if (err)
			goto out;
		if (done) {
			*out = n;
			goto out;
		}
		ea->stats.lost++;
	}
	set_error(ea,
		  "allocating an identity for \"%s\": still losing races after %d "
		  "attempts",
		  text, CLAIM_ATTEMPTS);
	err = -EAGAIN;
out:
	free(c.refs_prefix);
	free(c.ref_key);
	free(c.master_key);
	return err;
}

static int etcd_acquire(struct identity_allocator *a, const struct label_set *labels,
			const struct policy_prefix *cidr, bool pods, uint32_t *id)
{
	struct etcd_allocator *ea = to_etcd(a);
	struct cluster_ident *e;
	char *text, *escaped = NULL;
	uint32_t n;
	int err;

	if (cidr)
		return ea->local->ops->acquire(ea->local, NULL, cidr, pods, id);
	if (!labels || !labels->count) {
		set_error(ea, "an identity needs at least one label");
		return -EINVAL;
	}
	text = etcd_keys__labels_text(labels);
	if (!text)
		return -ENOMEM;
	e = find_by_text(ea, text);
	if (e && e->ident.refcount) {
		e->ident.refcount++;
		*id = e->ident.id;
		free(text);
		return 0;
	}
	escaped = etcd_keys__escape(text);
	err = escaped ? claim(ea, text, escaped, 0, false, &n) : -ENOMEM;
	if (err)
		goto out;
	e = find_by_id(ea, n);
	if (!e) { /* claim() leaves it cached; only memory can be missing */
		err = -ENOMEM;
		goto out;
	}
	if (e->delete_pending) {
		e->delete_pending = false; /* our reference was just written again */
		ea->delete_pending--;
	}
	e->ident.refcount++;
	ea->view_dirty = true;
	*id = n;
out:
	free(text);
	free(escaped);
	return err;
}

static int delete_ref(struct etcd_allocator *ea, struct cluster_ident *e)
{
	char *key = etcd_keys__ref_key(ea->prefix, e->escaped, ea->node);
	int err;

	if (!key)
		return -ENOMEM;
	err = kvstore__delete(ea->kv, key, false, NULL);
	if (err)
		set_error(ea, "deleting reference %s: %s", key, kvstore__error(ea->kv));
	free(key);
	return err;
}

static void etcd_release(struct identity_allocator *a, uint32_t id)
{
	struct etcd_allocator *ea = to_etcd(a);
	struct cluster_ident *e;

	if (!is_cluster_id(id)) {
		ea->local->ops->release(ea->local, id);
		return;
	}
	e = find_by_id(ea, id);
	if (!e || !e->ident.refcount || --e->ident.refcount)
		return;
	ea->view_dirty = true;
	if (delete_ref(ea, e)) {
		/* etcd away: poll() tries again; the lease is the last resort. */
		pr_warn("kvstore: %s (will retry)\n", ea->error);
		e->delete_pending = true;
		ea->delete_pending++;
		return;
	}
	if (!e->in_store)
		remove_entry(ea, e);
}

static const struct identity *etcd_lookup(struct identity_allocator *a, uint32_t id)
{
	struct etcd_allocator *ea = to_etcd(a);
	struct cluster_ident *e;

	if (!is_cluster_id(id))
		return ea->local->ops->lookup(ea->local, id);
	e = find_by_id(ea, id);
	return e ? &e->ident : NULL;
}

/* Reserved (< 256), then the cluster's, then CIDR (>= 1 << 24): id order. */
static size_t etcd_list(struct identity_allocator *a, const struct identity *const **out)
{
	struct etcd_allocator *ea = to_etcd(a);
	const struct identity *const *local;
	size_t n_local = ea->local->ops->list(ea->local, &local), total, k = 0, i = 0;

	total = n_local + ea->count;
	if (total > ea->view_capacity) {
		const struct identity **view = realloc(ea->view, total * sizeof(*view));

		if (!view) { /* keep the old answer rather than none */
			*out = (const struct identity *const *)ea->view;
			return 0;
		}
		ea->view = view;
		ea->view_capacity = total;
	}
	for (; i < n_local && local[i]->id < WARDEN_IDENTITY_USER_MIN; i++)
		ea->view[k++] = local[i];
	for (size_t j = 0; j < ea->count; j++)
		ea->view[k++] = &ea->items[j]->ident;
	for (; i < n_local; i++)
		ea->view[k++] = local[i];
	ea->view_dirty = false;
	*out = (const struct identity *const *)ea->view;
	return k;
}

/* Leaves this node's references in etcd: a restarting agent finds them
 * (same numbers); they end with the node's lease. */
static void etcd_destroy(struct identity_allocator *a)
{
	struct etcd_allocator *ea = to_etcd(a);

	kvstore_watch__free(ea->watch);
	for (size_t i = 0; i < ea->count; i++)
		entry_free(ea->items[i]);
	free(ea->items);
	free(ea->view);
	identity_allocator__free(ea->local);
	free(ea->prefix);
	free(ea->node);
	free(ea->id_prefix);
	free(ea->values_prefix);
	free(ea);
}

static const struct identity_allocator_ops etcd_ops = {
    .acquire = etcd_acquire,
    .release = etcd_release,
    .lookup = etcd_lookup,
    .list = etcd_list,
    .destroy = etcd_destroy,
};

/* --- keeping the cache current --- */

/* Apply every master key of a list: the whole truth at list->revision.
 * Entries whose master is not in it are dropped. */
static size_t apply_list(struct etcd_allocator *ea, const struct kvstore_kv_list *list)
{
	size_t changed = 0;
	bool *seen = calloc(WARDEN_IDENTITY_USER_MAX + 1, sizeof(*seen));

	if (!seen)
		return 0;
	for (size_t i = 0; i < list->count; i++) {
		const struct kvstore_kv *kv = &list->items[i];
		struct cluster_ident *before;
		uint32_t id;

		if (etcd_keys__parse_id_key(kv->key, kv->key_len, ea->id_prefix, &id)) {
			pr_warn("kvstore: ignoring key %s: not an identity in %u..%u\n",
				kv->key, WARDEN_IDENTITY_USER_MIN,
				WARDEN_IDENTITY_USER_MAX);
			continue;
		}
		before = find_by_id(ea, id);
		if (cache_put(ea, id, kv->value, kv->mod_revision) &&
		    (!before || before->mod_revision != kv->mod_revision))
			changed++;
		seen[id] = true;
	}
	for (size_t i = ea->count; i-- > 0;) {
		struct cluster_ident *e = ea->items[i];

		if (!seen[e->ident.id] && e->in_store) {
			cache_drop(ea, e->ident.id);
			changed++;
		}
	}
	free(seen);
	return changed;
}

/* List the masters and (re)start the watch after the list's revision. */
static int resync(struct etcd_allocator *ea, size_t *changed)
{
	struct kvstore_kv_list list;
	int err;

	err = kvstore__list(ea->kv, ea->id_prefix, 0, &list);
	if (err) {
		set_error(ea, "listing identities: %s", kvstore__error(ea->kv));
		return err;
	}
	*changed += apply_list(ea, &list);
	if (ea->watch)
		err = kvstore_watch__restart(ea->watch, list.revision + 1);
	else
		err = kvstore_watch__new(&ea->watch, ea->kv, ea->id_prefix,
					 list.revision + 1);
	if (err)
		set_error(ea, "watching identities: %s", strerror(-err));
	kvstore_kv_list__free(&list);
	return err;
}

int identity_etcd__poll(struct identity_allocator *a, size_t *changed)
{
	struct etcd_allocator *ea = to_etcd(a);
	const struct kvstore_event *events;
	size_t count, n = 0;
	int err;

	if (!identity_allocator__is_etcd(a))
		return -EINVAL;
	/* References released while etcd was away; stop at the first failure. */
	for (size_t i = ea->count; ea->delete_pending && i-- > 0;) {
		struct cluster_ident *e = ea->items[i];

		if (!e->delete_pending)
			continue;
		if (delete_ref(ea, e))
			break;
		e->delete_pending = false;
		ea->delete_pending--;
		if (!e->in_store && !e->ident.refcount)
			remove_entry(ea, e);
	}
	err = kvstore_watch__poll(ea->watch, &events, &count);
	if (err == -ESTALE) {
		pr_info("kvstore: identity watch fell behind compaction: resyncing\n");
		err = resync(ea, &n);
		count = 0;
	}
	for (size_t i = 0; !err && i < count; i++) {
		const struct kvstore_event *ev = &events[i];
		uint32_t id;

		if (etcd_keys__parse_id_key(ev->kv.key, ev->kv.key_len, ea->id_prefix,
					    &id))
			continue;
		if (ev->type == KVSTORE_EVENT_DELETE) {
			if (find_by_id(ea, id))
				n++;
			cache_drop(ea, id);
		} else if (cache_put(ea, id, ev->kv.value, ev->kv.mod_revision)) {
			n++;
		}
	}
	if (changed)
		*changed = n;
	return err;
}

int identity_etcd__set_lease(struct identity_allocator *a, int64_t lease)
{
	struct etcd_allocator *ea = to_etcd(a);
	int ret = 0;

	if (!identity_allocator__is_etcd(a))
		return -EINVAL;
	ea->lease = lease;
	for (size_t i = 0; i < ea->count; i++) {
		struct cluster_ident *e = ea->items[i];
		uint32_t n;
		int err;

		if (!e->ident.refcount)
			continue;
		err = claim(ea, e->text, e->escaped, e->ident.id, true, &n);
		if (err == -ESTALE)
			pr_warn("kvstore: %s\n", ea->error);
		else if (err)
			return err;
		if (err && !ret)
			ret = err;
		/* claim() may have re-cached entries: find our place again. */
		{
			bool found;

			i = find_index(ea, e->ident.id, &found);
		}
	}
	return ret;
}

/* Is escaped (a label set) among the sorted reference components? */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int identity_etcd__gc(struct identity_allocator *a, size_t *deleted)
{
	struct etcd_allocator *ea = to_etcd(a);
	struct kvstore_kv_list refs;
	char **sets = NULL;
	size_t nsets = 0, n = 0;
	int err;

	if (!identity_allocator__is_etcd(a))
		return -EINVAL;
	err = kvstore__list(ea->kv, ea->values_prefix, KVSTORE_LIST_KEYS_ONLY, &refs);
	if (err) {
		set_error(ea, "listing references: %s", kvstore__error(ea->kv));
		return err;
	}
	sets = calloc(refs.count ? refs.count : 1, sizeof(*sets));
	if (!sets) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < refs.count; i++) {
		const char *rest = refs.items[i].key + strlen(ea->values_prefix);
		const char *slash = strrchr(rest, '/');

		if (slash && slash > rest &&
		    (sets[nsets] = strndup(rest, (size_t)(slash - rest))))
			nsets++;
	}
	qsort(sets, nsets, sizeof(*sets), cmp_str);
	for (size_t i = ea->count; i-- > 0;) {
		struct cluster_ident *e = ea->items[i];
		char *key = e->escaped;
		uint32_t id = e->ident.id;

		if (!e->in_store || e->ident.refcount || e->delete_pending ||
		    bsearch(&key, sets, nsets, sizeof(*sets), cmp_str)) {
			e->gc_mark = 0;
			continue;
		}
		if (e->gc_mark != e->mod_revision) {
			e->gc_mark = e->mod_revision; /* delete next time, if still so */
			continue;
		}
		{
			char *refs_prefix =
			    etcd_keys__refs_prefix(ea->prefix, e->escaped);
			char *master = etcd_keys__id_key(ea->prefix, id);
			const struct kvstore_cmp cmps[] = {
			    {.key = refs_prefix,
			     .prefix = true,
			     .target = KVSTORE_CMP_CREATE,
			     .result = KVSTORE_CMP_EQUAL},
			    {.key = master,
			     .target = KVSTORE_CMP_MOD,
			     .result = KVSTORE_CMP_EQUAL,
			     .revision = e->mod_revision},
			};
			const struct kvstore_op del = {.type = KVSTORE_OP_DELETE,
						       .key = master};
			const struct kvstore_txn txn = {
			    .compare = cmps,
			    .compare_count = 2,
			    .success = &del,
			    .success_count = 1,
			};
			struct kvstore_txn_result res = {0};

			err = refs_prefix && master
				  ? run_txn(ea, &txn, &res, "collecting an identity")
				  : -ENOMEM;
			if (!err && res.succeeded) {
				n++;
				cache_drop(ea, id);
			}
			kvstore_txn_result__free(&res);
			free(refs_prefix);
			free(master);
			if (err)
				goto out;
		}
	}
out:
	for (size_t i = 0; i < nsets; i++)
		free(sets[i]);
	free(sets);
	kvstore_kv_list__free(&refs);
	if (deleted)
		*deleted = n;
	return err;
}

bool identity_etcd__connected(const struct identity_allocator *a)
{
	return identity_allocator__is_etcd(a) &&
	       kvstore_watch__connected(to_etcd(a)->watch);
}

void identity_etcd__stats(const struct identity_allocator *a,
			  struct identity_etcd_stats *out)
{
	if (identity_allocator__is_etcd(a))
		*out = to_etcd(a)->stats;
	else
		memset(out, 0, sizeof(*out));
}

bool identity_allocator__is_etcd(const struct identity_allocator *a)
{
	return a && a->ops == &etcd_ops;
}

int identity_etcd__fd(const struct identity_allocator *a)
{
	if (!identity_allocator__is_etcd(a))
		return -EINVAL;
	return kvstore_watch__fd(to_etcd(a)->watch);
}

const char *identity_etcd__error(const struct identity_allocator *a)
{
	return identity_allocator__is_etcd(a) ? to_etcd(a)->error
					      : "not an etcd allocator";
}

int identity_allocator__new_etcd(struct identity_allocator **out,
				 const struct identity_etcd_config *cfg, char *err,
				 size_t err_len)
{
	struct etcd_allocator *ea;
	size_t changed = 0;
	int ret;

	if (!cfg->kv || !etcd_keys__valid_prefix(cfg->prefix) ||
	    !etcd_keys__valid_node(cfg->node)) {
		snprintf(err, err_len, "etcd identities: %s",
			 !cfg->kv ? "no kvstore client"
			 : !etcd_keys__valid_prefix(cfg->prefix)
			     ? "the key prefix must start with '/', not end with one, "
			       "and hold no spaces"
			     : "the node name must be 1 to 253 of A-Z a-z 0-9 . _ -");
		return -EINVAL;
	}
	ea = calloc(1, sizeof(*ea));
	if (!ea)
		return -ENOMEM;
	ea->base.ops = &etcd_ops;
	ea->kv = cfg->kv;
	ea->lease = cfg->lease;
	ea->notify = cfg->notify;
	ea->notify_ctx = cfg->notify_ctx;
	ea->prefix = strdup(cfg->prefix);
	ea->node = strdup(cfg->node);
	ea->id_prefix = etcd_keys__id_prefix(cfg->prefix);
	if (asprintf(&ea->values_prefix, "%s/identities/value/", cfg->prefix) < 0)
		ea->values_prefix = NULL;
	ret = -ENOMEM;
	if (!ea->prefix || !ea->node || !ea->id_prefix || !ea->values_prefix)
		goto fail;
	ret = identity_allocator__new_local(&ea->local);
	if (ret)
		goto fail;
	ret = resync(ea, &changed);
	if (ret) {
		snprintf(err, err_len, "%s", ea->error);
		goto fail;
	}
	*out = &ea->base;
	return 0;
fail:
	etcd_destroy(&ea->base);
	return ret;
}
