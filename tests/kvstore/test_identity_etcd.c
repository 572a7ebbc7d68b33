// SPDX-License-Identifier: Apache-2.0
/*
 * The etcd identity allocator against a real etcd, with several allocator
 * instances acting as nodes: same labels -> same number on every node,
 * never one number for two label sets (also when nodes race), references
 * that go with a node's lease, rejoining with the same numbers, garbage
 * collection, etcd going away, and how long allocation and propagation
 * take.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvtest.h"
#include "warden/abi/maps.h"
#include "warden/identity_etcd.h"
#include "warden/prefix.h"

struct node {
	struct kvstore *kv;
	struct identity_allocator *alloc;
	int64_t lease;
	size_t notified;
	uint32_t last_notified;
};

static void on_notify(void *ctx, uint32_t id, const struct identity *ident)
{
	struct node *n = ctx;

	(void)ident;
	n->notified++;
	n->last_notified = id;
}

/* A node: its own client, a lease of ttl seconds, an allocator. */
static int node_start(struct node *n, const char *prefix, const char *name, int64_t ttl)
{
	struct identity_etcd_config cfg = {
	    .prefix = prefix,
	    .node = name,
	    .notify = on_notify,
	    .notify_ctx = n,
	};
	char err[512];
	int ret;

	memset(n, 0, sizeof(*n));
	n->kv = kvtest_connect();
	if (!n->kv)
		return -EIO;
	ret = kvstore__lease_grant(n->kv, ttl, &n->lease, NULL);
	if (ret)
		return ret;
	cfg.kv = n->kv;
	cfg.lease = n->lease;
	ret = identity_allocator__new_etcd(&n->alloc, &cfg, err, sizeof(err));
	if (ret)
		fprintf(stderr, "allocator for %s: %s\n", name, err);
	return ret;
}

static void node_stop(struct node *n)
{
	identity_allocator__free(n->alloc);
	kvstore__free(n->kv);
	memset(n, 0, sizeof(*n));
}

static void labels_of(struct label_set *set, const char *text)
{
	char err[256];

	memset(set, 0, sizeof(*set));
	assert_int_equal(label_set__parse_list(set, text, err, sizeof(err)), 0);
}

static int acquire_text(struct identity_allocator *a, const char *text, uint32_t *id)
{
	struct label_set set;
	int err;

	labels_of(&set, text);
	err = identity__acquire(a, &set, id);
	label_set__free(&set);
	return err;
}

/* Poll the node until lookup(id) has labels, for up to timeout_ms. */
static const struct identity *wait_identity(struct node *n, uint32_t id, int timeout_ms)
{
	double start = kvtest_now_ms();
	const struct identity *ident;

	while (!(ident = identity__lookup(n->alloc, id)) &&
	       kvtest_now_ms() - start < timeout_ms) {
		struct pollfd pfd = {.fd = identity_etcd__fd(n->alloc), .events = POLLIN};

		poll(&pfd, 1, 10);
		assert_int_equal(identity_etcd__poll(n->alloc, NULL), 0);
	}
	return ident;
}

/* Poll the node until its watch is established (as an agent's loop
 * would from the start). */
static void wait_connected(struct node *n)
{
	double start = kvtest_now_ms();

	while (!identity_etcd__connected(n->alloc) && kvtest_now_ms() - start < 5000) {
		struct pollfd pfd = {.fd = identity_etcd__fd(n->alloc), .events = POLLIN};

		poll(&pfd, 1, 10);
		assert_int_equal(identity_etcd__poll(n->alloc, NULL), 0);
	}
	assert_true(identity_etcd__connected(n->alloc));
}

static void get_value(struct kvstore *kv, const char *key, char *buf, size_t len,
		      int64_t *lease)
{
	struct kvstore_kv one;

	assert_int_equal(kvstore__get(kv, key, &one), 0);
	snprintf(buf, len, "%s", one.value);
	if (lease)
		*lease = one.lease;
	kvstore_kv__free(&one);
}

static void test_allocate_and_keys(void **state)
{
	struct node a;
	char p[128], key[512], value[256];
	struct label_set l1;
	struct policy_prefix cidr;
	const struct identity *const *all;
	const struct identity *ident;
	struct kvstore_kv_list list;
	uint32_t id1, id1b, id2, cid;
	int64_t lease;
	size_t n;

	(void)state;
	kvtest_prefix(p, sizeof(p), "alloc");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_true(identity_allocator__is_etcd(a.alloc));
	assert_true(identity_etcd__fd(a.alloc) >= 0);

	assert_int_equal(acquire_text(a.alloc, "org=empire,class=deathstar", &id1), 0);
	assert_int_equal(acquire_text(a.alloc, "class=deathstar,org=empire", &id1b), 0);
	assert_int_equal(acquire_text(a.alloc, "org=alliance", &id2), 0);
	assert_int_equal(id1, id1b);
	assert_int_not_equal(id1, id2);
	assert_true(id1 >= WARDEN_IDENTITY_USER_MIN && id1 <= WARDEN_IDENTITY_USER_MAX);
	assert_true(id2 >= WARDEN_IDENTITY_USER_MIN && id2 <= WARDEN_IDENTITY_USER_MAX);
	ident = identity__lookup(a.alloc, id1);
	assert_non_null(ident);
	assert_int_equal(ident->refcount, 2);
	labels_of(&l1, "org=empire,class=deathstar");
	assert_true(label_set__equal(&ident->labels, &l1));
	label_set__free(&l1);

	/* The keys an operator reads. */
	snprintf(key, sizeof(key), "%s/identities/id/%u", p, id1);
	get_value(a.kv, key, value, sizeof(value), &lease);
	assert_string_equal(value, "k8s:class=deathstar,k8s:org=empire");
	assert_int_equal(lease, 0); /* masters outlive nodes */
	snprintf(key, sizeof(key),
		 "%s/identities/value/k8s:class=deathstar,k8s:org=empire/node-a", p);
	get_value(a.kv, key, value, sizeof(value), &lease);
	assert_int_equal(strtoul(value, NULL, 10), id1);
	assert_int_equal(lease, a.lease);

	/* CIDR and reserved identities stay local: no key for them. */
	assert_int_equal(policy_prefix__parse("10.0.0.0/8", &cidr), 0);
	assert_int_equal(identity__acquire_cidr(a.alloc, &cidr, &cid), 0);
	assert_true(cid >= WARDEN_IDENTITY_LOCAL_MIN);
	assert_non_null(identity__lookup(a.alloc, cid));
	assert_non_null(identity__lookup(a.alloc, WARDEN_IDENTITY_HOST));
	snprintf(key, sizeof(key), "%s/identities/id/", p);
	assert_int_equal(kvstore__list(a.kv, key, 0, &list), 0);
	assert_int_equal(list.count, 2);
	kvstore_kv_list__free(&list);

	/* list(): reserved, cluster, CIDR, in id order. */
	n = identity__list(a.alloc, &all);
	assert_int_equal(n, 10 + 2 + 1);
	for (size_t i = 1; i < n; i++)
		assert_true(all[i - 1]->id < all[i]->id);
	assert_int_equal(all[0]->id, WARDEN_IDENTITY_HOST);
	assert_int_equal(all[n - 1]->id, cid);

	/* Release: the reference goes at the last release, the master stays. */
	identity__release(a.alloc, id1);
	snprintf(key, sizeof(key),
		 "%s/identities/value/k8s:class=deathstar,k8s:org=empire/node-a", p);
	get_value(a.kv, key, value, sizeof(value), NULL);
	identity__release(a.alloc, id1);
	{
		struct kvstore_kv one;

		assert_int_equal(kvstore__get(a.kv, key, &one), -ENOENT);
	}
	snprintf(key, sizeof(key), "%s/identities/id/%u", p, id1);
	get_value(a.kv, key, value, sizeof(value), NULL);
	ident = identity__lookup(a.alloc, id1);
	assert_non_null(ident); /* still a cluster identity */
	assert_int_equal(ident->refcount, 0);
	/* Acquired again: the same number (adopted, not a new one). */
	assert_int_equal(acquire_text(a.alloc, "org=empire,class=deathstar", &id1b), 0);
	assert_int_equal(id1b, id1);

	/* No labels: refused with a reason. */
	{
		struct label_set none = {0};
		uint32_t x;

		assert_int_equal(identity__acquire(a.alloc, &none, &x), -EINVAL);
		assert_non_null(strstr(identity_etcd__error(a.alloc), "label"));
	}
	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
}

/* Two nodes: the second learns the first's identity by watch, and gets
 * the same number for the same labels (also with a '/' in a label key). */
static void test_two_nodes(void **state)
{
	struct node a, b;
	char p[128], key[512], value[64];
	const struct identity *ident;
	struct label_set want;
	uint32_t id_a, id_b, web_a, web_b;
	double t0, seen_ms;

	(void)state;
	kvtest_prefix(p, sizeof(p), "two");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	wait_connected(&b);
	t0 = kvtest_now_ms();
	assert_int_equal(acquire_text(a.alloc, "org=empire,class=tiefighter", &id_a), 0);
	ident = wait_identity(&b, id_a, 5000);
	seen_ms = kvtest_now_ms() - t0;
	assert_non_null(ident);
	assert_int_equal(ident->refcount, 0);
	labels_of(&want, "org=empire,class=tiefighter");
	assert_true(label_set__equal(&ident->labels, &want));
	label_set__free(&want);
	assert_true(b.notified >= 1);
	assert_int_equal(b.last_notified, id_a);
	printf(
	    "# node b knew node a's new identity %.1f ms after a started allocating it\n",
	    seen_ms);

	assert_int_equal(acquire_text(b.alloc, "class=tiefighter,org=empire", &id_b), 0);
	assert_int_equal(id_a, id_b);
	assert_int_equal(identity__lookup(b.alloc, id_b)->refcount, 1);

	assert_int_equal(acquire_text(a.alloc, "app.kubernetes.io/name=web", &web_a), 0);
	assert_int_equal(acquire_text(b.alloc, "app.kubernetes.io/name=web", &web_b), 0);
	assert_int_equal(web_a, web_b);
	assert_int_not_equal(web_a, id_a);
	snprintf(key, sizeof(key),
		 "%s/identities/value/k8s:app.kubernetes.io%%2Fname=web/node-b", p);
	get_value(a.kv, key, value, sizeof(value), NULL);
	assert_int_equal(strtoul(value, NULL, 10), web_a);

	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
	node_stop(&b);
}

#define RACE_NODES 4
#define RACE_SHARED 150
#define RACE_OWN 50

struct race_node {
	const char *prefix;
	int index;
	pthread_barrier_t *barrier;
	uint32_t shared[RACE_SHARED];
	uint32_t own[RACE_OWN];
	int err;
	double ms;
	struct identity_etcd_stats stats;
};

static void *race_node(void *arg)
{
	struct race_node *r = arg;
	struct node n;
	char name[16], text[64];
	double t0;

	snprintf(name, sizeof(name), "racer-%d", r->index);
	r->err = node_start(&n, r->prefix, name, 60);
	/* A node that failed to start still meets the others at every
	 * barrier, so they do not wait for it forever. */
	if (r->err) {
		for (int i = 0; i < RACE_SHARED; i++)
			pthread_barrier_wait(r->barrier);
		return NULL;
	}
	/* The shared sets first, then each node's own. */
	t0 = kvtest_now_ms();
	for (int i = 0; i < RACE_SHARED && !r->err; i++) {
		/* All four start each shared set together: a race every time. */
		pthread_barrier_wait(r->barrier);
		snprintf(text, sizeof(text), "app=shared-%d", i);
		r->err = acquire_text(n.alloc, text, &r->shared[i]);
	}
	for (int i = 0; i < RACE_OWN && !r->err; i++) {
		snprintf(text, sizeof(text), "app=own-%d-%d", r->index, i);
		r->err = acquire_text(n.alloc, text, &r->own[i]);
	}
	if (r->err)
		fprintf(stderr, "%s: %s\n", name, identity_etcd__error(n.alloc));
	identity_etcd__stats(n.alloc, &r->stats);
	r->ms = kvtest_now_ms() - t0;
	/* The references stay (the lease ends them); the test reads them. */
	node_stop(&n);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Four nodes allocate 150 shared and 50 own label sets each, all at once,
 * in different orders. */
static void test_race_nodes(void **state)
{
	static struct race_node racers[RACE_NODES];
	pthread_t threads[RACE_NODES];
	pthread_barrier_t barrier;
	struct kvstore *kv = kvtest_connect();
	struct kvstore_kv_list masters, refs;
	char p[128], key[256];
	static uint32_t all[RACE_SHARED + RACE_NODES * RACE_OWN];
	size_t n_all = 0;
	double slowest = 0;
	struct identity_etcd_stats sum = {0};

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "race");
	pthread_barrier_init(&barrier, NULL, RACE_NODES);
	for (int i = 0; i < RACE_NODES; i++) {
		racers[i] =
		    (struct race_node){.prefix = p, .index = i, .barrier = &barrier};
		pthread_create(&threads[i], NULL, race_node, &racers[i]);
	}
	for (int i = 0; i < RACE_NODES; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < RACE_NODES; i++) {
		assert_int_equal(racers[i].err, 0);
		if (racers[i].ms > slowest)
			slowest = racers[i].ms;
		sum.created += racers[i].stats.created;
		sum.joined += racers[i].stats.joined;
		sum.adopted += racers[i].stats.adopted;
		sum.lost += racers[i].stats.lost;
	}
	/* Same labels, same number on every node. */
	for (int s = 0; s < RACE_SHARED; s++) {
		for (int i = 1; i < RACE_NODES; i++)
			assert_int_equal(racers[i].shared[s], racers[0].shared[s]);
		all[n_all++] = racers[0].shared[s];
	}
	for (int i = 0; i < RACE_NODES; i++)
		for (int o = 0; o < RACE_OWN; o++)
			all[n_all++] = racers[i].own[o];
	/* Different labels, different numbers. */
	qsort(all, n_all, sizeof(*all), cmp_u32);
	for (size_t i = 1; i < n_all; i++)
		assert_int_not_equal(all[i - 1], all[i]);
	/* In etcd: exactly one master per label set, one reference per node
	 * and label set. */
	snprintf(key, sizeof(key), "%s/identities/id/", p);
	assert_int_equal(kvstore__list(kv, key, 0, &masters), 0);
	assert_int_equal(masters.count, RACE_SHARED + RACE_NODES * RACE_OWN);
	for (size_t i = 0; i < masters.count; i++)
		for (size_t j = i + 1; j < masters.count; j++)
			assert_string_not_equal(masters.items[i].value,
						masters.items[j].value);
	kvstore_kv_list__free(&masters);
	snprintf(key, sizeof(key), "%s/identities/value/", p);
	assert_int_equal(kvstore__list(kv, key, KVSTORE_LIST_KEYS_ONLY, &refs), 0);
	assert_int_equal(refs.count, RACE_NODES * (RACE_SHARED + RACE_OWN));
	kvstore_kv_list__free(&refs);
	/* Every label set created once; every other reference a join; and the
	 * nodes did race (else this test proved nothing about races). */
	assert_int_equal(sum.created, RACE_SHARED + RACE_NODES * RACE_OWN);
	assert_int_equal(sum.joined, (RACE_NODES - 1) * RACE_SHARED);
	assert_int_equal(sum.adopted, 0);
	assert_true(sum.lost > 0);
	printf(
	    "# race: %d nodes x %d label sets (%d shared) at once: %.0f ms, %zu distinct "
	    "identities, %llu transactions lost a race and were retried\n",
	    RACE_NODES, RACE_SHARED + RACE_OWN, RACE_SHARED, slowest, n_all,
	    (unsigned long long)sum.lost);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

/* A node dies (its lease expires): its references go, the master stays;
 * a node started again gets the same number for the same labels. */
static void test_lease_expiry_and_rejoin(void **state)
{
	struct node c, c2;
	struct kvstore_kv_list refs;
	char p[128], key[512];
	uint32_t id, again, other;
	double t0, gone_ms = -1;

	(void)state;
	kvtest_prefix(p, sizeof(p), "expiry");
	assert_int_equal(node_start(&c, p, "node-c", 2), 0);
	assert_int_equal(acquire_text(c.alloc, "app=ephemeral", &id), 0);
	assert_int_equal(acquire_text(c.alloc, "app=other", &other), 0);
	snprintf(key, sizeof(key), "%s/identities/value/", p);
	assert_int_equal(kvstore__list(c.kv, key, 0, &refs), 0);
	assert_int_equal(refs.count, 2);
	kvstore_kv_list__free(&refs);
	/* No keepalive from here on: the node is dead. */
	t0 = kvtest_now_ms();
	while (kvtest_now_ms() - t0 < 10000) {
		assert_int_equal(kvstore__list(c.kv, key, 0, &refs), 0);
		if (!refs.count) {
			gone_ms = kvtest_now_ms() - t0;
			kvstore_kv_list__free(&refs);
			break;
		}
		kvstore_kv_list__free(&refs);
		usleep(50 * 1000);
	}
	assert_true(gone_ms >= 0);
	printf("# a dead node's references (lease TTL 2 s) gone after %.0f ms\n",
	       gone_ms);
	snprintf(key, sizeof(key), "%s/identities/id/%u", p, id);
	{
		char value[64];

		get_value(c.kv, key, value, sizeof(value), NULL);
		assert_string_equal(value, "k8s:app=ephemeral");
	}
	node_stop(&c);
	/* The node restarts (new lease): same numbers, in either order. */
	assert_int_equal(node_start(&c2, p, "node-c", 60), 0);
	assert_int_equal(acquire_text(c2.alloc, "app=other", &again), 0);
	assert_int_equal(again, other);
	assert_int_equal(acquire_text(c2.alloc, "app=ephemeral", &again), 0);
	assert_int_equal(again, id);
	assert_int_equal(kvstore__delete(c2.kv, p, true, NULL), 0);
	node_stop(&c2);
}

/* The lease was lost while etcd was away: set_lease() writes every
 * reference again, with the same numbers. */
static void test_set_lease(void **state)
{
	struct node e;
	struct kvstore_kv one;
	char p[128], key[512];
	uint32_t id;
	int64_t lease2;

	(void)state;
	kvtest_prefix(p, sizeof(p), "setlease");
	assert_int_equal(node_start(&e, p, "node-e", 60), 0);
	assert_int_equal(acquire_text(e.alloc, "app=kept", &id), 0);
	snprintf(key, sizeof(key), "%s/identities/value/k8s:app=kept/node-e", p);
	assert_int_equal(kvstore__lease_revoke(e.kv, e.lease), 0);
	assert_int_equal(kvstore__get(e.kv, key, &one), -ENOENT);
	assert_int_equal(kvstore__lease_grant(e.kv, 60, &lease2, NULL), 0);
	assert_int_equal(identity_etcd__set_lease(e.alloc, lease2), 0);
	assert_int_equal(kvstore__get(e.kv, key, &one), 0);
	assert_int_equal(one.lease, lease2);
	assert_int_equal(strtoul(one.value, NULL, 10), id);
	kvstore_kv__free(&one);
	assert_int_equal(identity__lookup(e.alloc, id)->refcount, 1);
	assert_int_equal(kvstore__delete(e.kv, p, true, NULL), 0);
	node_stop(&e);
}

/* gc deletes a master nobody refers to, only at its second sighting, and
 * never one that is referenced; other nodes see it go. */
static void test_gc(void **state)
{
	struct node f, g;
	struct kvstore_kv one;
	char p[128], key[256], kept_key[256];
	uint32_t gone, kept;
	size_t deleted;
	double t0;

	(void)state;
	kvtest_prefix(p, sizeof(p), "gc");
	assert_int_equal(node_start(&f, p, "node-f", 60), 0);
	assert_int_equal(node_start(&g, p, "node-g", 60), 0);
	assert_int_equal(acquire_text(f.alloc, "app=gone", &gone), 0);
	assert_int_equal(acquire_text(f.alloc, "app=kept", &kept), 0);
	identity__release(f.alloc, gone);
	assert_non_null(wait_identity(&g, gone, 5000));
	snprintf(key, sizeof(key), "%s/identities/id/%u", p, gone);
	snprintf(kept_key, sizeof(kept_key), "%s/identities/id/%u", p, kept);
	assert_int_equal(identity_etcd__gc(f.alloc, &deleted), 0);
	assert_int_equal(deleted, 0); /* first sighting: only marked */
	assert_int_equal(kvstore__get(f.kv, key, &one), 0);
	kvstore_kv__free(&one);
	assert_int_equal(identity_etcd__gc(f.alloc, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(kvstore__get(f.kv, key, &one), -ENOENT);
	assert_int_equal(kvstore__get(f.kv, kept_key, &one), 0);
	kvstore_kv__free(&one);
	assert_null(identity__lookup(f.alloc, gone));
	assert_non_null(identity__lookup(f.alloc, kept));
	/* Node g hears of it by watch. */
	t0 = kvtest_now_ms();
	while (identity__lookup(g.alloc, gone) && kvtest_now_ms() - t0 < 5000) {
		assert_int_equal(identity_etcd__poll(g.alloc, NULL), 0);
		usleep(1000);
	}
	assert_null(identity__lookup(g.alloc, gone));
	assert_non_null(identity__lookup(g.alloc, kept));
	assert_int_equal(kvstore__delete(f.kv, p, true, NULL), 0);
	node_stop(&f);
	node_stop(&g);
}

/* etcd away: new label sets fail with a reason; label sets in use here
 * still resolve; a release is done later by poll(). */
static void test_etcd_down(void **state)
{
	struct node h;
	struct kvstore_kv one;
	char p[128], key[256];
	uint32_t id, again, x;
	double t0;

	(void)state;
	kvtest_prefix(p, sizeof(p), "down");
	assert_int_equal(node_start(&h, p, "node-h", 60), 0);
	assert_int_equal(acquire_text(h.alloc, "app=known", &id), 0);
	assert_int_equal(kvtest_etcd("kill"), 0);
	assert_int_equal(acquire_text(h.alloc, "app=new", &x), -ECONNREFUSED);
	assert_non_null(strstr(identity_etcd__error(h.alloc), "app=new"));
	assert_int_equal(acquire_text(h.alloc, "app=known", &again), 0);
	assert_int_equal(again, id);
	assert_int_equal(identity__lookup(h.alloc, id)->refcount, 2);
	identity__release(h.alloc, id);
	identity__release(h.alloc, id); /* the reference must go, later */
	assert_int_equal(kvtest_etcd("start"), 0);
	snprintf(key, sizeof(key), "%s/identities/value/k8s:app=known/node-h", p);
	assert_int_equal(kvstore__get(h.kv, key, &one), 0); /* still there */
	kvstore_kv__free(&one);
	t0 = kvtest_now_ms();
	while (kvtest_now_ms() - t0 < 5000) {
		identity_etcd__poll(h.alloc, NULL);
		if (kvstore__get(h.kv, key, &one) == -ENOENT)
			break;
		kvstore_kv__free(&one);
		usleep(10 * 1000);
	}
	assert_int_equal(kvstore__get(h.kv, key, &one), -ENOENT);
	assert_int_equal(acquire_text(h.alloc, "app=new", &x), 0);
	assert_int_equal(kvstore__delete(h.kv, p, true, NULL), 0);
	node_stop(&h);
}

/* Node b's watch falls behind a compaction while a allocates one label
 * set and collects another: b resyncs and knows exactly the store's. */
static void test_resync_after_compaction(void **state)
{
	struct node a, b;
	struct kvstore_status st;
	char p[128];
	uint32_t old, kept, fresh;
	size_t deleted;
	double t0;

	(void)state;
	kvtest_prefix(p, sizeof(p), "resync");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	assert_int_equal(acquire_text(a.alloc, "app=old", &old), 0);
	assert_int_equal(acquire_text(a.alloc, "app=kept", &kept), 0);
	assert_non_null(wait_identity(&b, old, 5000));
	assert_non_null(wait_identity(&b, kept, 5000));
	assert_int_equal(kvtest_etcd("kill"), 0);
	while (identity_etcd__connected(b.alloc))
		assert_int_equal(identity_etcd__poll(b.alloc, NULL), 0);
	assert_int_equal(kvtest_etcd("start"), 0);
	identity__release(a.alloc, old);
	assert_int_equal(identity_etcd__gc(a.alloc, &deleted), 0);
	assert_int_equal(identity_etcd__gc(a.alloc, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(acquire_text(a.alloc, "app=fresh", &fresh), 0);
	assert_int_equal(kvstore__status(a.kv, &st), 0);
	assert_int_equal(kvstore__compact(a.kv, st.revision), 0);
	t0 = kvtest_now_ms();
	while ((identity__lookup(b.alloc, old) || !identity__lookup(b.alloc, fresh)) &&
	       kvtest_now_ms() - t0 < 15000) {
		struct pollfd pfd = {.fd = identity_etcd__fd(b.alloc), .events = POLLIN};

		poll(&pfd, 1, 10);
		assert_int_equal(identity_etcd__poll(b.alloc, NULL), 0);
	}
	assert_null(identity__lookup(b.alloc, old));
	assert_non_null(identity__lookup(b.alloc, fresh));
	assert_non_null(identity__lookup(b.alloc, kept));
	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
	node_stop(&b);
}

/* 2,000 identities from one node; another node follows by watch. */
static void test_scale(void **state)
{
	enum {
		COUNT = 2000,
		PROBES = 200
	};
	struct node a, b;
	char p[128], text[64];
	static uint32_t ids[COUNT];
	static double lat[PROBES];
	double t0, alloc_ms, follow_ms;

	(void)state;
	kvtest_prefix(p, sizeof(p), "scale");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	wait_connected(&b);
	t0 = kvtest_now_ms();
	for (int i = 0; i < COUNT; i++) {
		snprintf(text, sizeof(text), "app=svc-%d,tier=t%d", i, i % 7);
		assert_int_equal(acquire_text(a.alloc, text, &ids[i]), 0);
	}
	alloc_ms = kvtest_now_ms() - t0;
	t0 = kvtest_now_ms();
	assert_non_null(wait_identity(&b, ids[COUNT - 1], 10000));
	for (int i = 0; i < COUNT; i++)
		assert_non_null(wait_identity(&b, ids[i], 1000));
	follow_ms = kvtest_now_ms() - t0;
	/* One at a time: from acquire() on a to usable on b. */
	for (int i = 0; i < PROBES; i++) {
		uint32_t id;

		snprintf(text, sizeof(text), "app=probe-%d", i);
		t0 = kvtest_now_ms();
		assert_int_equal(acquire_text(a.alloc, text, &id), 0);
		assert_non_null(wait_identity(&b, id, 5000));
		lat[i] = kvtest_now_ms() - t0;
	}
	printf("# 2000 identities allocated by one node in %.0f ms (%.2f ms each); the "
	       "other "
	       "node had all %.0f ms after the last\n",
	       alloc_ms, alloc_ms / COUNT, follow_ms);
	printf("# new identity usable on another node: p50 %.2f ms, p99 %.2f ms (%d)\n",
	       kvtest_percentile(lat, PROBES, 50), kvtest_percentile(lat, PROBES, 99),
	       PROBES);
	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
	node_stop(&b);
}

static int etcd_running(void **state)
{
	(void)state;
	return kvtest_etcd("start");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allocate_and_keys),
	    cmocka_unit_test(test_two_nodes),
	    cmocka_unit_test(test_race_nodes),
	    cmocka_unit_test(test_lease_expiry_and_rejoin),
	    cmocka_unit_test(test_set_lease),
	    cmocka_unit_test(test_gc),
	    cmocka_unit_test_teardown(test_etcd_down, etcd_running),
	    cmocka_unit_test_teardown(test_resync_after_compaction, etcd_running),
	    cmocka_unit_test(test_scale),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
