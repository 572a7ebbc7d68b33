// SPDX-License-Identifier: Apache-2.0
/*
 * The etcd client against a real etcd: key-value verbs, transactions and
 * their races, leases, watches (delivery, restart from a revision,
 * compaction, etcd killed and restarted), endpoint failover.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <cmocka.h>

#include "kvtest.h"

static void put_str(struct kvstore *kv, const char *key, const char *value)
{
	assert_int_equal(kvstore__put(kv, key, value, strlen(value), 0, NULL), 0);
}

static void test_put_get_list_delete(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_kv one;
	struct kvstore_kv_list list;
	char p[128], key[192];
	int64_t rev = 0, deleted = -1;

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "basic");
	snprintf(key, sizeof(key), "%s/a", p);
	assert_int_equal(kvstore__put(kv, key, "one", 3, 0, &rev), 0);
	assert_true(rev > 0);
	assert_int_equal(kvstore__get(kv, key, &one), 0);
	assert_string_equal(one.key, key);
	assert_int_equal(one.value_len, 3);
	assert_string_equal(one.value, "one");
	assert_int_equal(one.mod_revision, rev);
	assert_int_equal(one.create_revision, rev);
	assert_int_equal(one.version, 1);
	kvstore_kv__free(&one);

	/* Binary values survive (NUL and high bytes). */
	snprintf(key, sizeof(key), "%s/bin", p);
	assert_int_equal(kvstore__put(kv, key, "\0\xff\x01z", 4, 0, NULL), 0);
	assert_int_equal(kvstore__get(kv, key, &one), 0);
	assert_int_equal(one.value_len, 4);
	assert_memory_equal(one.value, "\0\xff\x01z", 4);
	kvstore_kv__free(&one);

	/* A missing key is -ENOENT with a reason. */
	snprintf(key, sizeof(key), "%s/missing", p);
	assert_int_equal(kvstore__get(kv, key, &one), -ENOENT);
	assert_non_null(strstr(kvstore__error(kv), "missing"));

	/* The prefix "<p>/b" must not match "<p>/bin" in a list of "<p>/b/". */
	snprintf(key, sizeof(key), "%s/b/1", p);
	put_str(kv, key, "x");
	snprintf(key, sizeof(key), "%s/b/2", p);
	put_str(kv, key, "y");
	snprintf(key, sizeof(key), "%s/b/", p);
	assert_int_equal(kvstore__list(kv, key, 0, &list), 0);
	assert_int_equal(list.count, 2);
	assert_string_equal(list.items[0].value, "x");
	assert_string_equal(list.items[1].value, "y");
	assert_true(list.revision >= list.items[1].mod_revision);
	kvstore_kv_list__free(&list);

	assert_int_equal(kvstore__list(kv, p, KVSTORE_LIST_KEYS_ONLY, &list), 0);
	assert_int_equal(list.count, 4);
	assert_int_equal(list.items[0].value_len, 0);
	kvstore_kv_list__free(&list);

	/* Delete one, then the whole prefix. */
	snprintf(key, sizeof(key), "%s/a", p);
	assert_int_equal(kvstore__delete(kv, key, false, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(kvstore__get(kv, key, &one), -ENOENT);
	assert_int_equal(kvstore__delete(kv, p, true, &deleted), 0);
	assert_int_equal(deleted, 3);
	assert_int_equal(kvstore__list(kv, p, 0, &list), 0);
	assert_int_equal(list.count, 0);
	kvstore_kv_list__free(&list);
	kvstore__free(kv);
}

/* More keys than one page (1000): the list is complete, in order, and at
 * one revision even when keys are written between pages' requests. */
static void test_list_pages(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_kv_list list;
	char p[128], key[192];
	const int total = 2500;

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "pages");
	for (int base = 0; base < total; base += 100) {
		char keys[100][192], vals[100][16];
		struct kvstore_op ops[100];
		struct kvstore_txn txn = {.success = ops, .success_count = 100};
		struct kvstore_txn_result res;

		for (int i = 0; i < 100; i++) {
			snprintf(keys[i], sizeof(keys[i]), "%s/k%05d", p, base + i);
			snprintf(vals[i], sizeof(vals[i]), "%d", base + i);
			ops[i] = (struct kvstore_op){.type = KVSTORE_OP_PUT,
						     .key = keys[i],
						     .value = vals[i],
						     .value_len = strlen(vals[i])};
		}
		assert_int_equal(kvstore__txn(kv, &txn, &res), 0);
		assert_true(res.succeeded);
		assert_int_equal(res.result_count, 100);
		kvstore_txn_result__free(&res);
	}
	snprintf(key, sizeof(key), "%s/", p);
	assert_int_equal(kvstore__list(kv, key, 0, &list), 0);
	assert_int_equal(list.count, total);
	for (int i = 0; i < total; i++) {
		char want[16];

		snprintf(want, sizeof(want), "%d", i);
		assert_string_equal(list.items[i].value, want);
	}
	kvstore_kv_list__free(&list);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

static void test_create_and_cas(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_kv cur;
	char p[128], key[192];
	int64_t rev;

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "cas");
	snprintf(key, sizeof(key), "%s/k", p);
	assert_int_equal(kvstore__create(kv, key, "first", 5, 0, NULL), 0);
	assert_int_equal(kvstore__create(kv, key, "second", 6, 0, &cur), -EEXIST);
	assert_string_equal(cur.value, "first");
	rev = cur.mod_revision;
	kvstore_kv__free(&cur);
	/* CAS with the right revision wins, with a stale one loses. */
	assert_int_equal(kvstore__cas(kv, key, rev, "third", 5, 0, NULL), 0);
	assert_int_equal(kvstore__cas(kv, key, rev, "fourth", 6, 0, &cur), -ESTALE);
	assert_string_equal(cur.value, "third");
	assert_true(cur.mod_revision > rev);
	kvstore_kv__free(&cur);
	/* mod_revision 0: "only if absent". */
	assert_int_equal(kvstore__cas(kv, key, 0, "x", 1, 0, NULL), -ESTALE);
	snprintf(key, sizeof(key), "%s/new", p);
	assert_int_equal(kvstore__cas(kv, key, 0, "x", 1, 0, NULL), 0);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

/* Range comparisons, which the identity allocator's safety rests on. */
static void test_txn_range_compare(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_txn_result res;
	char p[128], refs[192], k1[192], k2[192];
	struct kvstore_cmp cmp = {.key = refs, .prefix = true};
	struct kvstore_txn txn = {.compare = &cmp, .compare_count = 1};

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "range");
	snprintf(refs, sizeof(refs), "%s/refs/", p);
	snprintf(k1, sizeof(k1), "%s/refs/n1", p);
	snprintf(k2, sizeof(k2), "%s/refs/n2", p);
	/* Empty range: "no key" holds, "all values are 7" does not. */
	cmp.target = KVSTORE_CMP_CREATE;
	cmp.result = KVSTORE_CMP_EQUAL;
	assert_int_equal(kvstore__txn(kv, &txn, &res), 0);
	assert_true(res.succeeded);
	kvstore_txn_result__free(&res);
	cmp.target = KVSTORE_CMP_VALUE;
	cmp.value = "7";
	cmp.value_len = 1;
	assert_int_equal(kvstore__txn(kv, &txn, &res), 0);
	assert_false(res.succeeded);
	kvstore_txn_result__free(&res);
	/* One key of 7: both flip. */
	put_str(kv, k1, "7");
	assert_int_equal(kvstore__txn(kv, &txn, &res), 0);
	assert_true(res.succeeded);
	kvstore_txn_result__free(&res);
	cmp.target = KVSTORE_CMP_CREATE;
	assert_int_equal(kvstore__txn(kv, &txn, &res), 0);
	assert_false(res.succeeded);
	kvstore_txn_result__free(&res);
	/* A second key of 8: "all are 7" fails. */
	put_str(kv, k2, "8");
	cmp.target = KVSTORE_CMP_VALUE;
	assert_int_equal(kvstore__txn(kv, &txn, &res), 0);
	assert_false(res.succeeded);
	kvstore_txn_result__free(&res);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

#define RACERS 8

struct racer {
	const char *key;
	int index;
	pthread_barrier_t *barrier;
	int result;
	char seen[32];
};

static void *race_create(void *arg)
{
	struct racer *r = arg;
	struct kvstore *kv = kvtest_connect();
	struct kvstore_kv cur = {0};
	char value[32];

	pthread_barrier_wait(r->barrier);
	if (!kv) {
		r->result = -EIO;
		return NULL;
	}
	snprintf(value, sizeof(value), "racer-%d", r->index);
	r->result = kvstore__create(kv, r->key, value, strlen(value), 0, &cur);
	snprintf(r->seen, sizeof(r->seen), "%s", r->result ? cur.value : value);
	kvstore_kv__free(&cur);
	kvstore__free(kv);
	return NULL;
}

/* Eight clients create one key at once: exactly one wins; the others are
 * told so and see the winner's value. */
static void test_create_race(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct racer racers[RACERS];
	pthread_t threads[RACERS];
	pthread_barrier_t barrier;
	struct kvstore_kv winner;
	char p[128], key[192];
	int wins = 0;

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "race");
	snprintf(key, sizeof(key), "%s/k", p);
	pthread_barrier_init(&barrier, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){.key = key, .index = i, .barrier = &barrier};
		pthread_create(&threads[i], NULL, race_create, &racers[i]);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&barrier);
	assert_int_equal(kvstore__get(kv, key, &winner), 0);
	for (int i = 0; i < RACERS; i++) {
		if (racers[i].result == 0)
			wins++;
		else
			assert_int_equal(racers[i].result, -EEXIST);
		assert_string_equal(racers[i].seen, winner.value);
	}
	assert_int_equal(wins, 1);
	assert_int_equal(winner.version, 1);
	kvstore_kv__free(&winner);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

static void test_leases(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_kv one;
	char p[128], key[192], kept[192];
	int64_t lease, lease2, ttl;
	double start, gone_ms = -1;

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "lease");
	snprintf(key, sizeof(key), "%s/k", p);
	snprintf(kept, sizeof(kept), "%s/kept", p);
	assert_int_equal(kvstore__lease_grant(kv, 2, &lease, &ttl), 0);
	assert_true(lease != 0);
	assert_true(ttl >= 2);
	assert_int_equal(kvstore__put(kv, key, "v", 1, lease, NULL), 0);
	put_str(kv, kept, "no lease");
	assert_int_equal(kvstore__get(kv, key, &one), 0);
	assert_int_equal(one.lease, lease);
	kvstore_kv__free(&one);
	assert_int_equal(kvstore__lease_keepalive(kv, lease, &ttl), 0);
	assert_true(ttl >= 2);
	/* No more keepalives: the key goes with the lease. */
	start = kvtest_now_ms();
	while (kvtest_now_ms() - start < 10000) {
		if (kvstore__get(kv, key, &one) == -ENOENT) {
			gone_ms = kvtest_now_ms() - start;
			break;
		}
		kvstore_kv__free(&one);
		usleep(50 * 1000);
	}
	assert_true(gone_ms >= 0);
	printf("# lease of TTL %lld s: its key gone %.0f ms after the last keepalive\n",
	       (long long)ttl, gone_ms);
	assert_int_equal(kvstore__lease_keepalive(kv, lease, &ttl), -ENOENT);
	assert_non_null(strstr(kvstore__error(kv), "expired"));
	/* The key without a lease stays (the positive control). */
	assert_int_equal(kvstore__get(kv, kept, &one), 0);
	kvstore_kv__free(&one);
	/* Revoke: at once. */
	assert_int_equal(kvstore__lease_grant(kv, 60, &lease2, NULL), 0);
	assert_int_equal(kvstore__put(kv, key, "v", 1, lease2, NULL), 0);
	assert_int_equal(kvstore__lease_revoke(kv, lease2), 0);
	assert_int_equal(kvstore__get(kv, key, &one), -ENOENT);
	assert_int_equal(kvstore__lease_revoke(kv, lease2), -ENOENT);
	/* Putting on a dead lease is refused. */
	assert_int_equal(kvstore__put(kv, key, "v", 1, lease2, NULL), -ENOENT);
	assert_non_null(strstr(kvstore__error(kv), "lease not found"));
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

/* Wait until the watch has delivered at least want events (appending
 * copies of (type, key, value, mod_revision) as text to log). */
static int collect(struct kvstore_watch *w, size_t want, char (*log)[256], size_t *have,
		   int timeout_ms)
{
	double start = kvtest_now_ms();

	while (*have < want && kvtest_now_ms() - start < timeout_ms) {
		const struct kvstore_event *evs;
		size_t n;
		int err = kvstore_watch__wait(w, 100, &evs, &n);

		if (err)
			return err;
		for (size_t i = 0; i < n && *have < want + 64; i++)
			snprintf(log[(*have)++], 256, "%s %s=%s @%lld",
				 evs[i].type == KVSTORE_EVENT_PUT ? "PUT" : "DELETE",
				 evs[i].kv.key, evs[i].kv.value,
				 (long long)evs[i].kv.mod_revision);
	}
	return 0;
}

static void wait_connected(struct kvstore_watch *w)
{
	double start = kvtest_now_ms();

	while (!kvstore_watch__connected(w) && kvtest_now_ms() - start < 10000) {
		const struct kvstore_event *evs;
		size_t n;

		assert_int_equal(kvstore_watch__wait(w, 50, &evs, &n), 0);
		assert_int_equal(n, 0);
	}
	assert_true(kvstore_watch__connected(w));
}

static void test_watch_events(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_watch *w;
	static char log[256][256];
	char p[128], key[192], other[192], want[768];
	size_t have = 0;
	double lat[200];
	int64_t rev;

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "watch");
	snprintf(other, sizeof(other), "%sX/outside", p); /* not under "<p>/" */
	snprintf(key, sizeof(key), "%s/", p);
	assert_int_equal(kvstore_watch__new(&w, kv, key, 0), 0);
	assert_true(kvstore_watch__fd(w) >= 0);
	wait_connected(w);
	snprintf(key, sizeof(key), "%s/a", p);
	assert_int_equal(kvstore__put(kv, key, "1", 1, 0, &rev), 0);
	put_str(kv, other, "ignored");
	assert_int_equal(kvstore__delete(kv, key, false, NULL), 0);
	assert_int_equal(collect(w, 2, log, &have, 5000), 0);
	assert_int_equal(have, 2);
	snprintf(want, sizeof(want), "PUT %s=1 @%lld", key, (long long)rev);
	assert_string_equal(log[0], want);
	snprintf(want, sizeof(want), "DELETE %s= @%lld", key, (long long)rev + 2);
	assert_string_equal(log[1], want);
	assert_int_equal(kvstore_watch__next_revision(w), rev + 3);

	/* A transaction's three writes: three events of one revision. */
	{
		char k[3][192];
		struct kvstore_op ops[3];
		struct kvstore_txn txn = {.success = ops, .success_count = 3};
		struct kvstore_txn_result res;

		for (int i = 0; i < 3; i++) {
			snprintf(k[i], sizeof(k[i]), "%s/txn%d", p, i);
			ops[i] = (struct kvstore_op){.type = KVSTORE_OP_PUT,
						     .key = k[i],
						     .value = "t",
						     .value_len = 1};
		}
		assert_int_equal(kvstore__txn(kv, &txn, &res), 0);
		have = 0;
		assert_int_equal(collect(w, 3, log, &have, 5000), 0);
		assert_int_equal(collect(w, 4, log, &have, 200), 0);
		assert_int_equal(have, 3);
		for (int i = 0; i < 3; i++) {
			snprintf(want, sizeof(want), "PUT %s=t @%lld", k[i],
				 (long long)res.revision);
			assert_string_equal(log[i], want);
		}
		kvstore_txn_result__free(&res);
	}

	/* Driven from the caller's epoll loop: the fd nests in it. */
	{
		int ep = epoll_create1(0);
		struct epoll_event ev = {.events = EPOLLIN}, out;
		const struct kvstore_event *evs;
		size_t n = 0;
		double t0;

		assert_true(ep >= 0);
		assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, kvstore_watch__fd(w), &ev),
				 0);
		snprintf(key, sizeof(key), "%s/epoll", p);
		assert_int_equal(kvstore__put(kv, key, "e", 1, 0, &rev), 0);
		t0 = kvtest_now_ms();
		while (!n && kvtest_now_ms() - t0 < 5000) {
			double before;

			assert_int_equal(epoll_wait(ep, &out, 1, 1000), 1);
			before = kvtest_now_ms();
			assert_int_equal(kvstore_watch__poll(w, &evs, &n), 0);
			assert_true(kvtest_now_ms() - before < 50); /* never blocks */
		}
		assert_int_equal(n, 1);
		assert_int_equal(evs[0].kv.mod_revision, rev);
		close(ep);
	}

	/* Latency: put, then wait for the event, 200 times. */
	for (int i = 0; i < 200; i++) {
		const struct kvstore_event *evs;
		size_t n = 0;
		double t0;

		snprintf(key, sizeof(key), "%s/lat", p);
		t0 = kvtest_now_ms();
		assert_int_equal(kvstore__put(kv, key, "x", 1, 0, &rev), 0);
		while (n == 0 && kvtest_now_ms() - t0 < 5000)
			assert_int_equal(kvstore_watch__wait(w, 100, &evs, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(evs[0].kv.mod_revision, rev);
		lat[i] = kvtest_now_ms() - t0;
	}
	printf("# watch: put -> event delivered: p50 %.2f ms, p99 %.2f ms (200 puts)\n",
	       kvtest_percentile(lat, 200, 50), kvtest_percentile(lat, 200, 99));
	kvstore_watch__free(w);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	assert_int_equal(kvstore__delete(kv, other, false, NULL), 0);
	kvstore__free(kv);
}

/* A watch started from a revision delivers exactly what came after it:
 * the same events, in the same order, as a watch that saw them live. */
static void test_watch_from_revision(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_watch *live, *late;
	static char log_live[128][256], log_late[128][256];
	char p[128], key[192];
	size_t have_live = 0, have_late = 0;
	int64_t first = 0, rev;

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "fromrev");
	snprintf(key, sizeof(key), "%s/", p);
	assert_int_equal(kvstore_watch__new(&live, kv, key, 0), 0);
	wait_connected(live);
	for (int i = 0; i < 40; i++) {
		char v[16];

		snprintf(key, sizeof(key), "%s/k%d", p, i % 7);
		snprintf(v, sizeof(v), "%d", i);
		/* Every fifth a delete, of the key just written (a delete of
		 * a missing key would be no event). */
		if (i % 5 == 4) {
			snprintf(key, sizeof(key), "%s/k%d", p, (i - 1) % 7);
			assert_int_equal(kvstore__delete(kv, key, false, NULL), 0);
		} else {
			assert_int_equal(kvstore__put(kv, key, v, strlen(v), 0, &rev), 0);
		}
		if (i == 8)
			first = rev; /* the late watch starts after this one */
	}
	assert_int_equal(collect(live, 40, log_live, &have_live, 5000), 0);
	assert_int_equal(have_live, 40);
	snprintf(key, sizeof(key), "%s/", p);
	assert_int_equal(kvstore_watch__new(&late, kv, key, first + 1), 0);
	assert_int_equal(collect(late, 31, log_late, &have_late, 5000), 0);
	/* Nothing more must come: wait a little for a stray repeat. */
	assert_int_equal(collect(late, 32, log_late, &have_late, 300), 0);
	assert_int_equal(have_late, 31);
	for (size_t i = 0; i < 31; i++)
		assert_string_equal(log_late[i], log_live[i + 9]);
	kvstore_watch__free(live);
	kvstore_watch__free(late);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

/* History compacted away: the watch says so (-ESTALE with the compaction
 * revision); after a list and a restart from its revision it works. */
static void test_watch_compacted(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_watch *w;
	struct kvstore_kv_list list;
	const struct kvstore_event *evs;
	static char log[16][256];
	char p[128], key[192];
	int64_t old_rev, rev;
	size_t n, have = 0;
	int err = 0;
	double start;

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "compact");
	snprintf(key, sizeof(key), "%s/k", p);
	assert_int_equal(kvstore__put(kv, key, "a", 1, 0, &old_rev), 0);
	assert_int_equal(kvstore__put(kv, key, "b", 1, 0, &rev), 0);
	assert_int_equal(kvstore__compact(kv, rev), 0);
	snprintf(key, sizeof(key), "%s/", p);
	assert_int_equal(kvstore_watch__new(&w, kv, key, old_rev), 0);
	start = kvtest_now_ms();
	while (kvtest_now_ms() - start < 5000) {
		err = kvstore_watch__wait(w, 100, &evs, &n);
		assert_int_equal(n, 0);
		if (err)
			break;
	}
	assert_int_equal(err, -ESTALE);
	assert_int_equal(kvstore_watch__compact_revision(w), rev);
	assert_non_null(strstr(kvstore_watch__error(w), "compacted"));
	/* Stays so until restarted. */
	assert_int_equal(kvstore_watch__poll(w, &evs, &n), -ESTALE);
	assert_int_equal(kvstore__list(kv, key, 0, &list), 0);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.items[0].value, "b");
	assert_int_equal(kvstore_watch__restart(w, list.revision + 1), 0);
	kvstore_kv_list__free(&list);
	snprintf(key, sizeof(key), "%s/k", p);
	assert_int_equal(kvstore__put(kv, key, "c", 1, 0, &rev), 0);
	assert_int_equal(collect(w, 1, log, &have, 5000), 0);
	assert_int_equal(have, 1);
	assert_non_null(strstr(log[0], "=c @"));
	kvstore_watch__free(w);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

/* etcd killed: requests fail with a reason naming the endpoint, the watch
 * notices; etcd back: requests work, and the watch resumes where it was:
 * every event written after the restart arrives once. */
static void test_etcd_restart(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_watch *w;
	struct kvstore_kv one;
	static char log[64][256];
	char p[128], key[192];
	size_t have = 0;
	unsigned int connects;
	double start, down_ms, back_ms;
	int64_t revs[20];

	(void)state;
	assert_non_null(kv);
	kvtest_prefix(p, sizeof(p), "restart");
	snprintf(key, sizeof(key), "%s/", p);
	assert_int_equal(kvstore_watch__new(&w, kv, key, 0), 0);
	wait_connected(w);
	connects = kvstore_watch__connects(w);
	snprintf(key, sizeof(key), "%s/before", p);
	put_str(kv, key, "1");
	assert_int_equal(collect(w, 1, log, &have, 5000), 0);
	assert_int_equal(have, 1);

	assert_int_equal(kvtest_etcd("kill"), 0);
	start = kvtest_now_ms();
	assert_int_equal(kvstore__get(kv, key, &one), -ECONNREFUSED);
	assert_non_null(strstr(kvstore__error(kv), kvtest_endpoints()));
	while (kvstore_watch__connected(w) && kvtest_now_ms() - start < 5000) {
		const struct kvstore_event *evs;
		size_t n;

		assert_int_equal(kvstore_watch__wait(w, 50, &evs, &n), 0);
		assert_int_equal(n, 0);
	}
	down_ms = kvtest_now_ms() - start;
	assert_false(kvstore_watch__connected(w));
	assert_true(kvstore_watch__error(w)[0] != '\0');

	assert_int_equal(kvtest_etcd("start"), 0);
	start = kvtest_now_ms();
	/* The data survived; write 20 events at once, likely before the
	 * watch's next reconnect attempt. */
	assert_int_equal(kvstore__get(kv, key, &one), 0);
	kvstore_kv__free(&one);
	for (int i = 0; i < 20; i++) {
		char v[8];

		snprintf(key, sizeof(key), "%s/after%02d", p, i);
		snprintf(v, sizeof(v), "%d", i);
		assert_int_equal(kvstore__put(kv, key, v, strlen(v), 0, &revs[i]), 0);
	}
	assert_int_equal(collect(w, 21, log, &have, 15000), 0);
	back_ms = kvtest_now_ms() - start;
	assert_int_equal(collect(w, 22, log, &have, 300), 0); /* no repeats */
	assert_int_equal(have, 21);
	for (int i = 0; i < 20; i++) {
		char want[256];

		snprintf(want, sizeof(want), "PUT %s/after%02d=%d @%lld", p, i, i,
			 (long long)revs[i]);
		assert_string_equal(log[i + 1], want);
	}
	assert_true(kvstore_watch__connected(w));
	assert_true(kvstore_watch__connects(w) > connects);
	printf("# etcd killed: the watch saw it %.0f ms after the kill; restarted: 20 "
	       "events written meanwhile "
	       "delivered %.0f ms after etcd answered\n",
	       down_ms, back_ms);
	kvstore_watch__free(w);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);
}

/* A dead endpoint first in the list: requests and watches go to the next. */
static void test_failover(void **state)
{
	struct kvstore_options opts = {.timeout_ms = 2000};
	struct kvstore *kv;
	struct kvstore_watch *w;
	struct kvstore_kv one;
	static char log[4][256];
	char endpoints[512], err[256], p[128], key[192];
	size_t have = 0;
	int64_t rev;

	(void)state;
	/* Port 1 on loopback: nothing listens there (refused at once). */
	snprintf(endpoints, sizeof(endpoints), "http://127.0.0.1:1, %s",
		 kvtest_endpoints());
	opts.endpoints = endpoints;
	assert_int_equal(kvstore__new(&kv, &opts, err, sizeof(err)), 0);
	assert_string_equal(kvstore__endpoint(kv), "http://127.0.0.1:1");
	kvtest_prefix(p, sizeof(p), "failover");
	snprintf(key, sizeof(key), "%s/k", p);
	assert_int_equal(kvstore__put(kv, key, "v", 1, 0, NULL), 0);
	assert_string_equal(kvstore__endpoint(kv), kvtest_endpoints());
	assert_int_equal(kvstore__get(kv, key, &one), 0);
	kvstore_kv__free(&one);
	kvstore__free(kv);

	/* The watch starts on the dead one and moves on. */
	snprintf(endpoints, sizeof(endpoints), "%s,http://127.0.0.1:1",
		 kvtest_endpoints());
	assert_int_equal(kvstore__new(&kv, &opts, err, sizeof(err)), 0);
	assert_int_equal(kvstore__put(kv, key, "w", 1, 0, &rev), 0);
	kvstore__free(kv);
	snprintf(endpoints, sizeof(endpoints), "http://127.0.0.1:1,%s",
		 kvtest_endpoints());
	assert_int_equal(kvstore__new(&kv, &opts, err, sizeof(err)), 0);
	assert_int_equal(kvstore_watch__new(&w, kv, p, rev), 0);
	assert_int_equal(collect(w, 1, log, &have, 5000), 0);
	assert_true(have >= 1);
	kvstore_watch__free(w);
	assert_int_equal(kvstore__delete(kv, p, true, NULL), 0);
	kvstore__free(kv);

	/* Every endpoint dead: a clear error. */
	opts.endpoints = "http://127.0.0.1:1";
	assert_int_equal(kvstore__connect(&kv, &opts, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "127.0.0.1:1"));
	/* Not a URL: refused before any I/O. */
	opts.endpoints = "127.0.0.1:2379";
	assert_int_equal(kvstore__new(&kv, &opts, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not an http"));
}

static void test_status(void **state)
{
	struct kvstore *kv = kvtest_connect();
	struct kvstore_status st;

	(void)state;
	assert_non_null(kv);
	assert_int_equal(kvstore__status(kv, &st), 0);
	assert_true(st.revision > 0);
	assert_true(st.db_size > 0);
	assert_true(st.member_id != 0);
	assert_int_equal(st.leader, st.member_id); /* a one-member cluster */
	assert_string_equal(st.endpoint, kvtest_endpoints());
	assert_memory_equal(st.version, "3.", 2);
	printf("# etcd %s, revision %lld, db %lld bytes\n", st.version,
	       (long long)st.revision, (long long)st.db_size);
	kvstore__free(kv);
}

/* Whatever a test did to etcd, the next one finds it running. */
static int etcd_running(void **state)
{
	(void)state;
	return kvtest_etcd("start");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_put_get_list_delete),
	    cmocka_unit_test(test_list_pages),
	    cmocka_unit_test(test_create_and_cas),
	    cmocka_unit_test(test_txn_range_compare),
	    cmocka_unit_test(test_create_race),
	    cmocka_unit_test(test_leases),
	    cmocka_unit_test(test_watch_events),
	    cmocka_unit_test(test_watch_from_revision),
	    cmocka_unit_test(test_watch_compacted),
	    cmocka_unit_test(test_failover),
	    cmocka_unit_test_teardown(test_etcd_restart, etcd_running),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
