// SPDX-License-Identifier: Apache-2.0
/* The local identity allocator and the local ipcache (pure logic). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warden/abi/maps.h"
#include "warden/identity.h"
#include "warden/ipcache.h"
#include "warden/prefix.h"

static void labels_of(struct label_set *set, const char *text)
{
	char err[256];

	memset(set, 0, sizeof(*set));
	assert_int_equal(label_set__parse_list(set, text, err, sizeof(err)), 0);
}

static void test_reserved_identities_exist(void **state)
{
	struct identity_allocator *a;
	const struct identity *host, *world;

	(void)state;
	assert_int_equal(identity_allocator__new_local(&a), 0);
	host = identity__lookup(a, WARDEN_IDENTITY_HOST);
	world = identity__lookup(a, WARDEN_IDENTITY_WORLD);
	assert_non_null(host);
	assert_non_null(world);
	assert_true(host->reserved);
	assert_non_null(label_set__find(&host->labels, "reserved", "host"));
	assert_string_equal(identity__reserved_name(WARDEN_IDENTITY_WORLD), "world");
	/* Releasing a reserved identity never removes it. */
	identity__release(a, WARDEN_IDENTITY_HOST);
	assert_non_null(identity__lookup(a, WARDEN_IDENTITY_HOST));
	identity_allocator__free(a);
}

static void test_equal_labels_share_identity(void **state)
{
	struct identity_allocator *a;
	struct label_set x, y, z;
	uint32_t id1, id2, id3;

	(void)state;
	assert_int_equal(identity_allocator__new_local(&a), 0);
	labels_of(&x, "org=empire,class=deathstar");
	labels_of(&y, "class=deathstar,org=empire");
	labels_of(&z, "org=alliance");
	assert_int_equal(identity__acquire(a, &x, &id1), 0);
	assert_int_equal(identity__acquire(a, &y, &id2), 0);
	assert_int_equal(identity__acquire(a, &z, &id3), 0);
	assert_int_equal(id1, id2);
	assert_int_not_equal(id1, id3);
	assert_true(id1 >= WARDEN_IDENTITY_USER_MIN && id1 <= WARDEN_IDENTITY_USER_MAX);
	/* Two references: the first release keeps it. */
	identity__release(a, id1);
	assert_non_null(identity__lookup(a, id1));
	identity__release(a, id2);
	assert_null(identity__lookup(a, id1));
	label_set__free(&x);
	label_set__free(&y);
	label_set__free(&z);
	identity_allocator__free(a);
}

static void test_cidr_identities(void **state)
{
	struct identity_allocator *a;
	struct policy_prefix p, q;
	const struct identity *ident;
	uint32_t id1, id2, id3;

	(void)state;
	assert_int_equal(identity_allocator__new_local(&a), 0);
	assert_int_equal(policy_prefix__parse("10.0.0.0/8", &p), 0);
	assert_int_equal(policy_prefix__parse("10.1.0.0/16", &q), 0);
	assert_int_equal(identity__acquire_cidr(a, &p, &id1), 0);
	assert_int_equal(identity__acquire_cidr(a, &p, &id2), 0);
	assert_int_equal(identity__acquire_cidr(a, &q, &id3), 0);
	assert_int_equal(id1, id2);
	assert_int_not_equal(id1, id3);
	assert_true(id1 >= WARDEN_IDENTITY_LOCAL_MIN);
	ident = identity__lookup(a, id1);
	assert_true(ident->is_cidr);
	assert_non_null(label_set__find(&ident->labels, "cidr", "10.0.0.0/8"));
	assert_non_null(label_set__find(&ident->labels, "reserved", "world"));
	identity_allocator__free(a);
}

/*
 * A prefix's pod-CIDR identity is its own: never the CIDR identity of the
 * same prefix (a Cilium toCIDR rule must not select pods through it),
 * shared by every acquire of that prefix, and released with its last
 * reference.
 */
static void test_pod_cidr_identities(void **state)
{
	struct identity_allocator *a;
	struct policy_prefix p, q;
	const struct identity *ident;
	uint32_t cidr, pods1, pods2, other;

	(void)state;
	assert_int_equal(identity_allocator__new_local(&a), 0);
	assert_int_equal(policy_prefix__parse("10.200.0.7/32", &p), 0);
	assert_int_equal(policy_prefix__parse("10.200.0.0/24", &q), 0);
	assert_int_equal(identity__acquire_cidr(a, &p, &cidr), 0);
	assert_int_equal(identity__acquire_pod_cidr(a, &p, &pods1), 0);
	assert_int_equal(identity__acquire_pod_cidr(a, &p, &pods2), 0);
	assert_int_equal(identity__acquire_pod_cidr(a, &q, &other), 0);
	assert_int_not_equal(cidr, pods1);
	assert_int_equal(pods1, pods2);
	assert_int_not_equal(pods1, other);
	assert_true(pods1 >= WARDEN_IDENTITY_LOCAL_MIN);
	ident = identity__lookup(a, pods1);
	assert_true(ident->is_pod_cidr);
	assert_false(ident->is_cidr);
	assert_non_null(label_set__find(&ident->labels, "cidr", "10.200.0.7/32"));
	assert_non_null(label_set__find(&ident->labels, "warden", "pod-cidr"));
	assert_null(label_set__find(&ident->labels, "reserved", "world"));
	ident = identity__lookup(a, cidr);
	assert_true(ident->is_cidr);
	assert_false(ident->is_pod_cidr);
	identity__release(a, pods1);
	assert_non_null(identity__lookup(a, pods1));
	identity__release(a, pods2);
	assert_null(identity__lookup(a, pods1));
	assert_non_null(identity__lookup(a, cidr));
	/* A new acquire after the release still is not the CIDR identity. */
	assert_int_equal(identity__acquire_pod_cidr(a, &p, &pods1), 0);
	assert_int_not_equal(pods1, cidr);
	identity_allocator__free(a);
}

static void test_many_identities_stay_distinct(void **state)
{
	struct identity_allocator *a;
	struct policy_prefix p = {.family = 4, .len = 32};
	uint32_t ids[5000];

	(void)state;
	assert_int_equal(identity_allocator__new_local(&a), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t be = __builtin_bswap32(0xac100000u + i);

		memcpy(p.addr, &be, 4);
		assert_int_equal(identity__acquire_cidr(a, &p, &ids[i]), 0);
		if (i)
			assert_int_not_equal(ids[i], ids[i - 1]);
	}
	for (uint32_t i = 0; i < 5000; i++)
		identity__release(a, ids[i]);
	for (uint32_t i = 0; i < 5000; i++)
		assert_null(identity__lookup(a, ids[i]));
	identity_allocator__free(a);
}

struct sink_log {
	int sets;
	int removes;
	uint32_t last_identity;
	int fail_next;
};

static int sink_set(void *ctx, const struct policy_prefix *p, uint32_t identity)
{
	struct sink_log *log = ctx;

	(void)p;
	if (log->fail_next) {
		log->fail_next = 0;
		return -ENOSPC;
	}
	log->sets++;
	log->last_identity = identity;
	return 0;
}

static int sink_remove(void *ctx, const struct policy_prefix *p)
{
	(void)p;
	((struct sink_log *)ctx)->removes++;
	return 0;
}

static void test_ipcache_longest_prefix_and_sink(void **state)
{
	struct sink_log log = {0};
	struct ipcache_sink sink = {.set = sink_set, .remove = sink_remove, .ctx = &log};
	struct ipcache *c;
	struct policy_prefix wide, narrow, addr, other;

	(void)state;
	assert_int_equal(ipcache__new_local(&c, &sink), 0);
	policy_prefix__parse("10.0.0.0/8", &wide);
	policy_prefix__parse("10.1.2.0/24", &narrow);
	policy_prefix__parse("10.1.2.3/32", &addr);
	policy_prefix__parse("192.168.1.1/32", &other);
	assert_int_equal(ipcache__upsert(c, &wide, 1100), 0);
	assert_int_equal(ipcache__upsert(c, &narrow, 1200), 0);
	assert_int_equal(log.sets, 2);
	assert_int_equal(ipcache__lookup(c, &addr), 1200);
	assert_int_equal(ipcache__lookup(c, &other), WARDEN_IDENTITY_WORLD);
	/* A refused datapath write leaves the cache as it was. */
	log.fail_next = 1;
	assert_int_equal(ipcache__upsert(c, &narrow, 1300), -ENOSPC);
	assert_int_equal(ipcache__lookup(c, &addr), 1200);
	assert_int_equal(ipcache__remove(c, &narrow, 1200), 0);
	assert_int_equal(log.removes, 1);
	assert_int_equal(ipcache__lookup(c, &addr), 1100);
	assert_int_equal(ipcache__remove(c, &narrow, 1200), -ENOENT);
	ipcache__free(c);
}

static void test_ipcache_many_prefixes(void **state)
{
	struct ipcache *c;
	struct policy_prefix p = {.family = 4, .len = 32};

	(void)state;
	assert_int_equal(ipcache__new_local(&c, NULL), 0);
	for (uint32_t i = 0; i < 10000; i++) {
		uint32_t be = __builtin_bswap32(0xac100000u + i);

		memcpy(p.addr, &be, 4);
		assert_int_equal(ipcache__upsert(c, &p, 1000 + i), 0);
	}
	assert_int_equal(c->ops->count(c), 10000);
	/* Remove every other one, then check what is left. */
	for (uint32_t i = 0; i < 10000; i += 2) {
		uint32_t be = __builtin_bswap32(0xac100000u + i);

		memcpy(p.addr, &be, 4);
		assert_int_equal(ipcache__remove(c, &p, 1000 + i), 0);
	}
	for (uint32_t i = 0; i < 10000; i++) {
		uint32_t be = __builtin_bswap32(0xac100000u + i);

		memcpy(p.addr, &be, 4);
		assert_int_equal(ipcache__lookup(c, &p),
				 i % 2 ? 1000 + i : WARDEN_IDENTITY_WORLD);
	}
	ipcache__free(c);
}

/*
 * One prefix, claimed by a CIDR rule, the host and an endpoint: the host
 * is in force over the endpoint over the CIDR, whatever the order, and
 * the sink learns only changes of the identity in force.
 */
static void test_ipcache_claims_priority(void **state)
{
	const uint32_t cidr = WARDEN_IDENTITY_LOCAL_MIN + 1, endpoint = 300;
	struct sink_log log = {0};
	struct ipcache_sink sink = {.set = sink_set, .remove = sink_remove, .ctx = &log};
	struct ipcache *c;
	struct policy_prefix p;

	(void)state;
	assert_int_equal(ipcache__new_local(&c, &sink), 0);
	policy_prefix__parse("10.250.0.1/32", &p);

	/* The host's address, then a CIDR rule names it: still the host. */
	assert_int_equal(ipcache__upsert(c, &p, WARDEN_IDENTITY_HOST), 0);
	assert_int_equal(ipcache__upsert(c, &p, cidr), 0);
	assert_int_equal(ipcache__lookup(c, &p), WARDEN_IDENTITY_HOST);
	assert_int_equal(log.sets, 1);
	/* The rule goes: still the host, the datapath untouched. */
	assert_int_equal(ipcache__remove(c, &p, cidr), 0);
	assert_int_equal(ipcache__lookup(c, &p), WARDEN_IDENTITY_HOST);
	assert_int_equal(log.sets, 1);
	assert_int_equal(log.removes, 0);
	assert_int_equal(c->ops->count(c), 1);

	/* The other order: a CIDR first, then the host takes over. */
	assert_int_equal(ipcache__upsert(c, &p, cidr), 0);
	assert_int_equal(ipcache__remove(c, &p, WARDEN_IDENTITY_HOST), 0);
	assert_int_equal(ipcache__lookup(c, &p), cidr);
	assert_int_equal(log.last_identity, cidr);
	assert_int_equal(ipcache__upsert(c, &p, WARDEN_IDENTITY_HOST), 0);
	assert_int_equal(log.last_identity, WARDEN_IDENTITY_HOST);

	/* An endpoint sits between the two. */
	assert_int_equal(ipcache__upsert(c, &p, endpoint), 0);
	assert_int_equal(ipcache__lookup(c, &p), WARDEN_IDENTITY_HOST);
	assert_int_equal(ipcache__remove(c, &p, endpoint + 1), -ENOENT);
	assert_int_equal(ipcache__remove(c, &p, WARDEN_IDENTITY_HOST), 0);
	assert_int_equal(ipcache__lookup(c, &p), endpoint);
	assert_int_equal(log.last_identity, endpoint);
	assert_int_equal(ipcache__remove(c, &p, WARDEN_IDENTITY_HOST), -ENOENT);

	/* A datapath that refuses the next identity keeps the claim. */
	log.fail_next = 1;
	assert_int_equal(ipcache__remove(c, &p, endpoint), -ENOSPC);
	assert_int_equal(ipcache__lookup(c, &p), endpoint);
	assert_int_equal(ipcache__remove(c, &p, endpoint), 0);
	assert_int_equal(ipcache__lookup(c, &p), cidr);

	/* The last claim gone: the prefix leaves the cache and the datapath. */
	assert_int_equal(ipcache__remove(c, &p, cidr), 0);
	assert_int_equal(log.removes, 1);
	assert_int_equal(ipcache__lookup(c, &p), WARDEN_IDENTITY_WORLD);
	assert_int_equal(c->ops->count(c), 0);
	assert_int_equal(ipcache__remove(c, &p, cidr), -ENOENT);
	assert_int_equal(ipcache__upsert(c, &p, 0), -EINVAL);
	ipcache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reserved_identities_exist),
	    cmocka_unit_test(test_equal_labels_share_identity),
	    cmocka_unit_test(test_cidr_identities),
	    cmocka_unit_test(test_pod_cidr_identities),
	    cmocka_unit_test(test_many_identities_stay_distinct),
	    cmocka_unit_test(test_ipcache_longest_prefix_and_sink),
	    cmocka_unit_test(test_ipcache_many_prefixes),
	    cmocka_unit_test(test_ipcache_claims_priority),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
