// SPDX-License-Identifier: Apache-2.0
/*
 * The etcd ipcache against a real etcd, with several instances acting as
 * nodes: what one node's endpoints publish reaches the other nodes' sinks
 * (the datapath in the agent), node-local identities stay local, a dead
 * node's addresses expire with its lease, and etcd going away neither
 * blocks nor loses a local change.
 */
#include <errno.h>
#include <poll.h>
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
#include "warden/ipcache_etcd.h"
#include "warden/prefix.h"

#define SINK_MAX 2048

/* What a datapath would hold: address -> identity. */
struct sink_log {
	char addr[SINK_MAX][64];
	uint32_t id[SINK_MAX];
	size_t count;
	size_t sets;
	size_t removes;
};

static long sink_find(struct sink_log *log, const char *addr)
{
	for (size_t i = 0; i < log->count; i++)
		if (!strcmp(log->addr[i], addr))
			return (long)i;
	return -1;
}

static int sink_set(void *ctx, const struct policy_prefix *p, uint32_t identity)
{
	struct sink_log *log = ctx;
	char addr[64];
	long at;

	policy_prefix__format(p, addr, sizeof(addr));
	at = sink_find(log, addr);
	if (at < 0) {
		if (log->count == SINK_MAX)
			return -ENOSPC;
		at = (long)log->count++;
		snprintf(log->addr[at], sizeof(log->addr[at]), "%s", addr);
	}
	log->id[at] = identity;
	log->sets++;
	return 0;
}

static int sink_remove(void *ctx, const struct policy_prefix *p)
{
	struct sink_log *log = ctx;
	char addr[64];
	long at;

	policy_prefix__format(p, addr, sizeof(addr));
	at = sink_find(log, addr);
	log->removes++;
	if (at < 0)
		return -ENOENT;
	log->count--;
	memmove(log->addr[at], log->addr[log->count], sizeof(log->addr[at]));
	log->id[at] = log->id[log->count];
	return 0;
}

/* The identity the sink holds for addr, 0 if none. */
static uint32_t sink_get(struct sink_log *log, const char *addr)
{
	long at = sink_find(log, addr);

	return at < 0 ? 0 : log->id[at];
}

struct node {
	struct kvstore *kv;
	struct ipcache *cache;
	int64_t lease;
	struct sink_log *sink;
};

static int node_start(struct node *n, const char *prefix, const char *name, int64_t ttl)
{
	struct ipcache_sink sink = {.set = sink_set, .remove = sink_remove};
	struct ipcache_etcd_config cfg = {.prefix = prefix, .node = name, .sink = &sink};
	char err[512];
	int ret;

	memset(n, 0, sizeof(*n));
	n->sink = calloc(1, sizeof(*n->sink));
	n->kv = kvtest_connect();
	if (!n->sink || !n->kv)
		return -EIO;
	sink.ctx = n->sink;
	ret = kvstore__lease_grant(n->kv, ttl, &n->lease, NULL);
	if (ret)
		return ret;
	cfg.kv = n->kv;
	cfg.lease = n->lease;
	ret = ipcache__new_etcd(&n->cache, &cfg, err, sizeof(err));
	if (ret)
		fprintf(stderr, "ipcache for %s: %s\n", name, err);
	return ret;
}

static void node_stop(struct node *n)
{
	ipcache__free(n->cache);
	kvstore__free(n->kv);
	free(n->sink);
	memset(n, 0, sizeof(*n));
}

static void node_poll(struct node *n, int timeout_ms)
{
	struct pollfd pfd = {.fd = ipcache_etcd__fd(n->cache), .events = POLLIN};

	poll(&pfd, 1, timeout_ms);
	assert_int_equal(ipcache_etcd__poll(n->cache, NULL), 0);
}

/* Poll n until its sink holds want for addr (0: holds nothing). */
static bool wait_sink(struct node *n, const char *addr, uint32_t want, int timeout_ms)
{
	double start = kvtest_now_ms();

	while (sink_get(n->sink, addr) != want && kvtest_now_ms() - start < timeout_ms)
		node_poll(n, 10);
	return sink_get(n->sink, addr) == want;
}

static void wait_connected(struct node *n)
{
	double start = kvtest_now_ms();

	while (!ipcache_etcd__connected(n->cache) && kvtest_now_ms() - start < 5000)
		node_poll(n, 10);
	assert_true(ipcache_etcd__connected(n->cache));
}

static void upsert(struct node *n, const char *addr, uint32_t id)
{
	struct policy_prefix p;

	assert_int_equal(policy_prefix__parse(addr, &p), 0);
	assert_int_equal(ipcache__upsert(n->cache, &p, id), 0);
}

static void remove_addr(struct node *n, const char *addr, uint32_t id)
{
	struct policy_prefix p;

	assert_int_equal(policy_prefix__parse(addr, &p), 0);
	assert_int_equal(ipcache__remove(n->cache, &p, id), 0);
}

static uint32_t lookup(struct node *n, const char *addr)
{
	struct policy_prefix p;

	assert_int_equal(policy_prefix__parse(addr, &p), 0);
	return ipcache__lookup(n->cache, &p);
}

static void test_publish_and_receive(void **state)
{
	struct node a, b;
	struct kvstore_kv one;
	struct kvstore_kv_list list;
	char p[128], key[256], want[256];
	double t0, lat;

	(void)state;
	kvtest_prefix(p, sizeof(p), "ip");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	assert_true(ipcache__is_etcd(a.cache));
	wait_connected(&b);

	t0 = kvtest_now_ms();
	upsert(&a, "10.200.1.5", 300);
	assert_int_equal(sink_get(a.sink, "10.200.1.5/32"), 300); /* local at once */
	assert_true(wait_sink(&b, "10.200.1.5/32", 300, 5000));
	lat = kvtest_now_ms() - t0;
	assert_int_equal(lookup(&b, "10.200.1.5"), 300);
	printf("# address published by node a in node b's datapath sink after %.1f ms\n",
	       lat);

	/* The key an operator reads, on node a's lease. */
	snprintf(key, sizeof(key), "%s/ip/10.200.1.5", p);
	assert_int_equal(kvstore__get(a.kv, key, &one), 0);
	assert_string_equal(one.value, "{\"identity\":300,\"node\":\"node-a\"}");
	assert_int_equal(one.lease, a.lease);
	kvstore_kv__free(&one);

	/* Node-local identities (CIDR, reserved) are not published; the
	 * address written after them is (the positive control): once b has
	 * it, b would have had the others. */
	upsert(&a, "10.0.0.0/8", WARDEN_IDENTITY_LOCAL_MIN + 5);
	upsert(&a, "10.200.0.1", WARDEN_IDENTITY_HOST);
	upsert(&a, "10.200.1.6", 301);
	assert_true(wait_sink(&b, "10.200.1.6/32", 301, 5000));
	assert_int_equal(sink_get(b.sink, "10.0.0.0/8"), 0);
	assert_int_equal(sink_get(b.sink, "10.200.0.1/32"), 0);
	assert_int_equal(sink_get(a.sink, "10.0.0.0/8"), WARDEN_IDENTITY_LOCAL_MIN + 5);
	snprintf(key, sizeof(key), "%s/ip/", p);
	assert_int_equal(kvstore__list(a.kv, key, 0, &list), 0);
	assert_int_equal(list.count, 2);
	kvstore_kv_list__free(&list);
	assert_int_equal(a.cache->ops->count(a.cache), 4);
	assert_int_equal(b.cache->ops->count(b.cache), 2);

	/* A change and a removal travel too. */
	upsert(&a, "10.200.1.6", 302);
	assert_true(wait_sink(&b, "10.200.1.6/32", 302, 5000));
	remove_addr(&a, "10.200.1.5", 300);
	assert_true(wait_sink(&b, "10.200.1.5/32", 0, 5000));
	assert_int_equal(lookup(&b, "10.200.1.5"), WARDEN_IDENTITY_WORLD);
	assert_int_equal(sink_get(b.sink, "10.200.1.6/32"), 302);
	snprintf(want, sizeof(want), "%s/ip/10.200.1.5", p);
	assert_int_equal(kvstore__get(a.kv, want, &one), -ENOENT);
	/* Removing what is not there is an error, as in the local backend. */
	{
		struct policy_prefix x;

		assert_int_equal(policy_prefix__parse("10.9.9.9", &x), 0);
		assert_int_equal(ipcache__remove(a.cache, &x, 300), -ENOENT);
	}
	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
	node_stop(&b);
}

/* An address that is an endpoint here stays ours even if another node
 * claims it; when ours goes, theirs takes effect. */
static void test_local_wins(void **state)
{
	struct node a, b;
	char p[128];

	(void)state;
	kvtest_prefix(p, sizeof(p), "wins");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	upsert(&b, "10.200.1.7", 400);
	upsert(&a, "10.200.1.7", 301);
	upsert(&a, "10.200.1.8", 302); /* the marker: b has seen a's writes */
	assert_true(wait_sink(&b, "10.200.1.8/32", 302, 5000));
	assert_int_equal(lookup(&b, "10.200.1.7"), 400);
	assert_int_equal(sink_get(b.sink, "10.200.1.7/32"), 400);
	remove_addr(&b, "10.200.1.7", 400);
	assert_int_equal(lookup(&b, "10.200.1.7"), 301);
	assert_int_equal(sink_get(b.sink, "10.200.1.7/32"), 301);
	/* b's removal did not delete a's key (a's value replaced b's). */
	{
		struct kvstore_kv one;
		char key[256];

		snprintf(key, sizeof(key), "%s/ip/10.200.1.7", p);
		assert_int_equal(kvstore__get(a.kv, key, &one), 0);
		assert_non_null(strstr(one.value, "node-a"));
		kvstore_kv__free(&one);
	}
	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
	node_stop(&b);
}

/* A node dies: its addresses leave every other node's datapath when its
 * lease expires. */
static void test_dead_node_expires(void **state)
{
	struct node b, c;
	char p[128];
	double t0, gone_ms;

	(void)state;
	kvtest_prefix(p, sizeof(p), "dead");
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	assert_int_equal(node_start(&c, p, "node-c", 2), 0);
	upsert(&c, "10.200.2.1", 310);
	upsert(&c, "10.200.2.2", 311);
	upsert(&b, "10.200.3.1", 320); /* b's own: stays */
	assert_true(wait_sink(&b, "10.200.2.2/32", 311, 5000));
	assert_int_equal(sink_get(b.sink, "10.200.2.1/32"), 310);
	/* c stops (no keepalive, no clean-up): as if killed. */
	t0 = kvtest_now_ms();
	assert_true(wait_sink(&b, "10.200.2.1/32", 0, 10000));
	assert_true(wait_sink(&b, "10.200.2.2/32", 0, 2000));
	gone_ms = kvtest_now_ms() - t0;
	assert_int_equal(sink_get(b.sink, "10.200.3.1/32"), 320);
	printf(
	    "# a dead node's addresses (lease TTL 2 s) left the other node's sink after "
	    "%.0f ms\n",
	    gone_ms);
	node_stop(&c);
	assert_int_equal(kvstore__delete(b.kv, p, true, NULL), 0);
	node_stop(&b);
}

/* etcd away: a local change takes effect at once and is published when
 * etcd is back; the other node's entries survive the outage. */
static void test_etcd_down(void **state)
{
	struct node a, b;
	char p[128];
	double t0;

	(void)state;
	kvtest_prefix(p, sizeof(p), "down");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	upsert(&a, "10.200.4.1", 330);
	assert_true(wait_sink(&b, "10.200.4.1/32", 330, 5000));
	assert_int_equal(kvtest_etcd("kill"), 0);
	upsert(&a, "10.200.4.2", 331);
	assert_int_equal(sink_get(a.sink, "10.200.4.2/32"), 331);
	assert_int_equal(ipcache_etcd__pending(a.cache), 1);
	assert_non_null(strstr(ipcache_etcd__error(a.cache), "10.200.4.2"));
	node_poll(&a, 10);
	node_poll(&b, 10);
	assert_int_equal(sink_get(b.sink, "10.200.4.1/32"), 330); /* kept */
	assert_int_equal(kvtest_etcd("start"), 0);
	t0 = kvtest_now_ms();
	while (ipcache_etcd__pending(a.cache) && kvtest_now_ms() - t0 < 5000)
		node_poll(&a, 10);
	assert_int_equal(ipcache_etcd__pending(a.cache), 0);
	assert_true(wait_sink(&b, "10.200.4.2/32", 331, 10000));
	assert_int_equal(sink_get(b.sink, "10.200.4.1/32"), 330);
	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
	node_stop(&b);
}

/* The node's lease is lost: its keys go (the others drop them), and come
 * back with set_lease(). */
static void test_set_lease(void **state)
{
	struct node a, b;
	char p[128];
	int64_t lease2;
	double t0;

	(void)state;
	kvtest_prefix(p, sizeof(p), "lease");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	upsert(&a, "10.200.5.1", 340);
	assert_true(wait_sink(&b, "10.200.5.1/32", 340, 5000));
	assert_int_equal(kvstore__lease_revoke(a.kv, a.lease), 0);
	assert_true(wait_sink(&b, "10.200.5.1/32", 0, 5000));
	/* a heard its key go: pending, and a put on the dead lease fails. */
	t0 = kvtest_now_ms();
	while (!ipcache_etcd__pending(a.cache) && kvtest_now_ms() - t0 < 5000)
		node_poll(&a, 10);
	assert_int_equal(ipcache_etcd__pending(a.cache), 1);
	assert_int_equal(sink_get(a.sink, "10.200.5.1/32"), 340); /* still enforced */
	assert_int_equal(kvstore__lease_grant(a.kv, 60, &lease2, NULL), 0);
	assert_int_equal(ipcache_etcd__set_lease(a.cache, lease2), 0);
	assert_int_equal(ipcache_etcd__pending(a.cache), 0);
	assert_true(wait_sink(&b, "10.200.5.1/32", 340, 5000));
	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
	node_stop(&b);
}

/* 1,000 addresses: how long until another node has them all; a node
 * started afterwards reads them at once. */
static void test_many(void **state)
{
	enum {
		COUNT = 1000
	};
	struct node a, b, late;
	char p[128], addr[32];
	double t0, pub_ms, follow_ms;

	(void)state;
	kvtest_prefix(p, sizeof(p), "many");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	wait_connected(&b);
	t0 = kvtest_now_ms();
	for (int i = 0; i < COUNT; i++) {
		snprintf(addr, sizeof(addr), "10.201.%d.%d", i / 250, i % 250 + 1);
		upsert(&a, addr, 256 + (uint32_t)i);
	}
	pub_ms = kvtest_now_ms() - t0;
	t0 = kvtest_now_ms();
	while (b.sink->count < COUNT && kvtest_now_ms() - t0 < 10000)
		node_poll(&b, 10);
	follow_ms = kvtest_now_ms() - t0;
	assert_int_equal(b.sink->count, COUNT);
	assert_int_equal(sink_get(b.sink, "10.201.3.250/32"), 256 + COUNT - 1);
	assert_int_equal(node_start(&late, p, "node-late", 60), 0);
	assert_int_equal(late.sink->count, COUNT);
	printf(
	    "# %d addresses published in %.0f ms (%.2f ms each); the other node had all "
	    "%.0f ms after the last\n",
	    COUNT, pub_ms, pub_ms / COUNT, follow_ms);
	assert_int_equal(kvstore__delete(a.kv, p, true, NULL), 0);
	node_stop(&a);
	node_stop(&b);
	node_stop(&late);
}

/* Node b's watch falls behind a compaction (it was away while a changed
 * things and the history was compacted): b resyncs from a list and ends
 * up with exactly a's entries. */
static void test_resync_after_compaction(void **state)
{
	struct node a, b;
	struct kvstore_status st;
	char p[128];
	double t0;

	(void)state;
	kvtest_prefix(p, sizeof(p), "resync");
	assert_int_equal(node_start(&a, p, "node-a", 60), 0);
	assert_int_equal(node_start(&b, p, "node-b", 60), 0);
	upsert(&a, "10.200.6.1", 350);
	upsert(&a, "10.200.6.2", 351);
	upsert(&b, "10.200.6.9", 359);
	assert_true(wait_sink(&b, "10.200.6.2/32", 351, 5000));
	/* b's stream breaks; b is not polled until the end. */
	assert_int_equal(kvtest_etcd("kill"), 0);
	while (ipcache_etcd__connected(b.cache))
		node_poll(&b, 10);
	assert_int_equal(kvtest_etcd("start"), 0);
	remove_addr(&a, "10.200.6.1", 350);
	upsert(&a, "10.200.6.2", 352);
	upsert(&a, "10.200.6.3", 353);
	assert_int_equal(kvstore__status(a.kv, &st), 0);
	assert_int_equal(kvstore__compact(a.kv, st.revision), 0);
	t0 = kvtest_now_ms();
	while ((sink_get(b.sink, "10.200.6.3/32") != 353 ||
		sink_get(b.sink, "10.200.6.1/32") != 0) &&
	       kvtest_now_ms() - t0 < 15000)
		node_poll(&b, 10);
	assert_int_equal(sink_get(b.sink, "10.200.6.1/32"), 0);
	assert_int_equal(sink_get(b.sink, "10.200.6.2/32"), 352);
	assert_int_equal(sink_get(b.sink, "10.200.6.3/32"), 353);
	assert_int_equal(sink_get(b.sink, "10.200.6.9/32"), 359); /* b's own */
	assert_int_equal(b.cache->ops->count(b.cache), 3);
	/* And the watch goes on from there. */
	upsert(&a, "10.200.6.4", 354);
	assert_true(wait_sink(&b, "10.200.6.4/32", 354, 5000));
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
	    cmocka_unit_test(test_publish_and_receive),
	    cmocka_unit_test(test_local_wins),
	    cmocka_unit_test(test_dead_node_expires),
	    cmocka_unit_test_teardown(test_etcd_down, etcd_running),
	    cmocka_unit_test(test_set_lease),
	    cmocka_unit_test_teardown(test_resync_after_compaction, etcd_running),
	    cmocka_unit_test(test_many),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
