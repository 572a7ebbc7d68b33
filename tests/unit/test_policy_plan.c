// SPDX-License-Identifier: Apache-2.0
/*
 * lib/host/policy_plan.c: the order of policy-map writes. A simulated map
 * (the datapath's longest-prefix lookup over one endpoint's entries) runs
 * random plans op by op and checks, in every intermediate state and for
 * every lookup, that the map never allows more than both the old and the
 * new entries; that it never holds more entries than the room allowed;
 * that the plan ends at the new entries and its undo at the old ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "warden/policy_plan.h"

#define MAX_ENTRIES 64
#define ENF WARDEN_EP_ENFORCE_INGRESS

/* One endpoint's map: entries in no order. */
struct sim {
	struct policy_entry items[MAX_ENTRIES * 2];
	size_t count;
	size_t peak;
};

static int sim_find(const struct sim *m, const struct warden_policy_key *key)
{
	for (size_t i = 0; i < m->count; i++)
		if (!memcmp(&m->items[i].key, key, sizeof(*key)))
			return (int)i;
	return -1;
}

static void sim_run(struct sim *m, const struct policy_op *op, bool undo)
{
	int at = sim_find(m, &op->key);
	bool remove = undo ? !op->had_previous : op->remove;
	const struct warden_policy_value *value = undo ? &op->previous : &op->value;

	if (remove) {
		assert_true(at >= 0);
		m->items[at] = m->items[--m->count];
		return;
	}
	if (at < 0) {
		at = (int)m->count++;
		m->items[at].key = op->key;
	}
	m->items[at].value = *value;
	if (m->count > m->peak)
		m->peak = m->count;
}

/*
 * How open one lookup is (the identity's own entries or the any-peer
 * ones): 0 closed (deny, or no entry: the endpoint enforces default deny,
 * or an entry without an enforced verdict), 1 through the proxy, 2 open.
 */
static bool enforced = true; /* the endpoint's default deny on ingress */

static int openness(const struct policy_entry *items, size_t count, uint32_t identity,
		    uint16_t port)
{
	const struct policy_entry *best = NULL;
	uint32_t want = (uint32_t)6 << 16 | port;

	for (size_t i = 0; i < count; i++) {
		const struct warden_policy_key *k = &items[i].key;
		uint32_t have = (uint32_t)k->protocol << 16 | ntohs(k->dport);
		uint32_t bits = k->prefixlen - WARDEN_POLICY_PREFIX_ANY_PROTO;

		if (k->identity != identity)
			continue;
		if (bits && (have >> (24 - bits)) != (want >> (24 - bits)))
			continue;
		if (!best || k->prefixlen > best->key.prefixlen)
			best = &items[i];
	}
	if (best && (best->value.flags & WARDEN_POLICY_DENY))
		return 0;
	if (!best || !(best->value.flags & WARDEN_POLICY_ALLOW))
		return enforced ? 0 : 2; /* the endpoint's default */
	return best->value.proxy_port ? 1 : 2;
}

static const uint32_t identities[] = {0, 256, 257};
static const uint16_t ports[] = {80, 81, 82, 83, 443, 8080};

/* Every lookup of state m no more open than in both a and b. */
static void assert_safe(const struct sim *m, const struct policy_entry *a, size_t na,
			const struct policy_entry *b, size_t nb, size_t op)
{
	for (size_t i = 0; i < sizeof(identities) / sizeof(identities[0]); i++)
		for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++) {
			int now = openness(m->items, m->count, identities[i], ports[j]);
			int before = openness(a, na, identities[i], ports[j]);
			int after = openness(b, nb, identities[i], ports[j]);

			if (now > before && now > after)
				fail_msg("after op %zu, identity %u port %u is open %d, "
					 "old %d, new %d",
					 op, identities[i], ports[j], now, before, after);
		}
}

static void assert_holds(const struct sim *m, const struct policy_entry *want, size_t n)
{
	assert_int_equal(m->count, n);
	for (size_t i = 0; i < n; i++) {
		int at = sim_find(m, &want[i].key);

		assert_true(at >= 0);
		assert_memory_equal(&m->items[at].value, &want[i].value,
				    sizeof(want[i].value));
	}
}

/* A random entry set: unique keys over a small key space, so old and new
 * overlap and nest. */
static size_t random_entries(unsigned int *seed, struct policy_entry *out)
{
	static const uint8_t lengths[] = {72, 80, 94, 95, 96};
	size_t n = (size_t)rand_r(seed) % 12;
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		struct policy_entry e;
		uint8_t len = lengths[rand_r(seed) % 5];
		uint32_t bits = len - 72u,
			 value = (uint32_t)6 << 16 | ports[rand_r(seed) % 6];
		bool dup = false;

		memset(&e, 0, sizeof(e));
		value = bits ? value >> (24 - bits) << (24 - bits) : 0;
		e.key.prefixlen = len;
		e.key.endpoint_id = 1;
		e.key.identity = identities[rand_r(seed) % 3];
		e.key.direction = WARDEN_DIR_INGRESS;
		e.key.protocol = (uint8_t)(value >> 16);
		e.key.dport = htons((uint16_t)(value & 0xffff));
		switch (rand_r(seed) % 4) {
		case 0:
			e.value.flags = WARDEN_POLICY_DENY;
			break;
		case 1:
			e.value.flags = WARDEN_POLICY_ALLOW;
			break;
		case 2:
			e.value.flags = WARDEN_POLICY_ALLOW;
			e.value.proxy_port = htons(15001);
			break;
		default:
			e.value.audit_flags =
			    WARDEN_POLICY_DENY; /* no enforced verdict */
			break;
		}
		e.value.rule_cookie = (uint32_t)rand_r(seed) % 3;
		for (size_t j = 0; j < count && !dup; j++)
			dup = !memcmp(&out[j].key, &e.key, sizeof(e.key));
		if (!dup)
			out[count++] = e;
	}
	return count;
}

/* One plan for (a -> b) with room, run and undone in the simulator. */
static void run_one(const struct policy_entry *a, size_t na, const struct policy_entry *b,
		    size_t nb, long room)
{
	struct policy_plan plan;
	struct sim m = {.count = na, .peak = na};
	int ret = policy_plan__build(
	    a, na, b, nb, enforced ? WARDEN_EP_ENFORCE_INGRESS : 0, room, &plan);

	if (ret == -ENOSPC) {
		/* Refused only when even the tightest order does not fit. */
		assert_true(plan.peak > room);
		assert_int_equal(plan.order, POLICY_PLAN_STALE_FIRST);
		return;
	}
	assert_int_equal(ret, 0);
	assert_true(plan.peak <= room);
	assert_int_equal(plan.delta, (long)nb - (long)na);
	memcpy(m.items, a, na * sizeof(*a));
	for (size_t i = 0; i < plan.count; i++) {
		sim_run(&m, &plan.ops[i], false);
		assert_safe(&m, a, na, b, nb, i);
	}
	assert_holds(&m, b, nb);
	assert_true((long)m.peak - (long)na <= plan.peak);
	for (size_t i = plan.count; i-- > 0;) {
		sim_run(&m, &plan.ops[i], true);
		assert_safe(&m, a, na, b, nb, i);
	}
	assert_holds(&m, a, na);
	policy_plan__free(&plan);
}

static void test_random_plans_are_safe(void **state)
{
	unsigned int seed = 12345;

	(void)state;
	for (int round = 0; round < 40000; round++) {
		struct policy_entry a[MAX_ENTRIES], b[MAX_ENTRIES];
		size_t na = random_entries(&seed, a), nb = random_entries(&seed, b);

		/* With and without default deny; unlimited room, and room from
		 * none to a little. */
		enforced = round % 2;
		run_one(a, na, b, nb, LONG_MAX);
		run_one(a, na, b, nb, rand_r(&seed) % 6);
	}
	enforced = true;
}

static struct policy_entry entry(uint32_t identity, uint16_t port, uint16_t flags,
				 uint16_t proxy)
{
	struct policy_entry e;

	memset(&e, 0, sizeof(e));
	e.key.prefixlen = port ? 96 : 72;
	e.key.endpoint_id = 1;
	e.key.identity = identity;
	e.key.protocol = port ? 6 : 0;
	e.key.dport = htons(port);
	e.value.flags = flags;
	e.value.proxy_port = htons(proxy);
	return e;
}

/*
 * The orders, on a case where they differ: three stale entries (an allow,
 * a redirect, a deny) and three new ones. Writing first needs room for 3
 * more entries; deleting the stale allow first, 2; also the stale redirect
 * before the new allow, 1; nothing less is safe.
 */
static void test_orders_by_room(void **state)
{
	struct policy_entry old[] = {entry(256, 80, WARDEN_POLICY_ALLOW, 0),
				     entry(256, 81, WARDEN_POLICY_ALLOW, 15001),
				     entry(256, 82, WARDEN_POLICY_DENY, 0)};
	struct policy_entry new[] = {entry(257, 80, WARDEN_POLICY_DENY, 0),
				     entry(257, 81, WARDEN_POLICY_ALLOW, 15001),
				     entry(257, 82, WARDEN_POLICY_ALLOW, 0)};
	struct policy_plan plan;

	(void)state;
	assert_int_equal(policy_plan__build(old, 3, new, 3, ENF, 3, &plan), 0);
	assert_int_equal(plan.order, POLICY_PLAN_WRITE_FIRST);
	assert_int_equal(plan.peak, 3);
	/* The new deny first, the stale deny last. */
	assert_true(plan.ops[0].value.flags & WARDEN_POLICY_DENY);
	assert_false(plan.ops[0].remove);
	assert_true(plan.ops[5].remove &&
		    (plan.ops[5].previous.flags & WARDEN_POLICY_DENY));
	policy_plan__free(&plan);

	assert_int_equal(policy_plan__build(old, 3, new, 3, ENF, 2, &plan), 0);
	assert_int_equal(plan.order, POLICY_PLAN_STALE_ALLOWS_FIRST);
	assert_int_equal(plan.peak, 2);
	assert_true(plan.ops[0].remove && !plan.ops[0].previous.proxy_port &&
		    (plan.ops[0].previous.flags & WARDEN_POLICY_ALLOW));
	policy_plan__free(&plan);

	assert_int_equal(policy_plan__build(old, 3, new, 3, ENF, 1, &plan), 0);
	assert_int_equal(plan.order, POLICY_PLAN_STALE_FIRST);
	assert_int_equal(plan.peak, 1);
	policy_plan__free(&plan);

	/* No room: refused, nothing planned, the room it would need said. */
	assert_int_equal(policy_plan__build(old, 3, new, 3, ENF, 0, &plan), -ENOSPC);
	assert_null(plan.ops);
	assert_int_equal(plan.peak, 1);
	assert_int_equal(policy_plan__build(NULL, 0, new, 3, ENF, 2, &plan), -ENOSPC);
	assert_int_equal(plan.peak, 3);

	/* Nothing changes: an empty plan, whatever the room. */
	assert_int_equal(policy_plan__build(old, 3, old, 3, ENF, 0, &plan), 0);
	assert_int_equal(plan.count, 0);
	policy_plan__free(&plan);
}

/* A redirect is less open than a plain allow: a plain allow becoming a
 * redirect is written before a redirect becoming a plain allow. */
static void test_redirect_is_restrictive(void **state)
{
	struct policy_entry plain[] = {entry(256, 80, WARDEN_POLICY_ALLOW, 0),
				       entry(256, 81, WARDEN_POLICY_ALLOW, 15001)};
	struct policy_entry swapped[] = {entry(256, 80, WARDEN_POLICY_ALLOW, 15001),
					 entry(256, 81, WARDEN_POLICY_ALLOW, 0)};
	struct policy_plan plan;

	(void)state;
	assert_int_equal(policy_plan__build(plain, 2, swapped, 2, ENF, 0, &plan), 0);
	assert_int_equal(plan.count, 2);
	assert_int_equal(ntohs(plan.ops[0].value.proxy_port), 15001);
	assert_int_equal(plan.ops[1].value.proxy_port, 0);
	policy_plan__free(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_plans_are_safe),
	    cmocka_unit_test(test_orders_by_room),
	    cmocka_unit_test(test_redirect_is_restrictive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
