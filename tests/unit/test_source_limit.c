// SPDX-License-Identifier: Apache-2.0
/*
 * src/proxy/source_limit.c: the per-source connection count shared by the
 * proxy's workers. The limit per address, addresses that collide in the
 * table, backward-shift deletion under long random churn (checked against
 * a plain array), the table-full refusal, and threads at once.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "source_limit.h"

static void test_limit_per_address(void **state)
{
	struct source_limit sl;

	(void)state;
	assert_int_equal(source_limit__init(&sl, 64, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(source_limit__acquire(&sl, 0x0100000a), 0);
	assert_int_equal(source_limit__acquire(&sl, 0x0100000a), -EUSERS);
	/* Another address is not affected. */
	assert_int_equal(source_limit__acquire(&sl, 0x0200000a), 0);
	assert_int_equal(source_limit__count(&sl, 0x0100000a), 3);
	source_limit__release(&sl, 0x0100000a);
	assert_int_equal(source_limit__acquire(&sl, 0x0100000a), 0);
	for (int i = 0; i < 3; i++)
		source_limit__release(&sl, 0x0100000a);
	source_limit__release(&sl, 0x0200000a);
	assert_int_equal(source_limit__count(&sl, 0x0100000a), 0);
	assert_int_equal(sl.used, 0);
	source_limit__destroy(&sl);
}

/*
 * Random acquire/release of 200 addresses in a 512-slot table (lots of
 * collisions and wrap-around), compared with a plain count per address
 * after every step: a lost or duplicated entry after a deletion shows.
 */
static void test_churn_matches_reference(void **state)
{
	enum {
		ADDRESSES = 200,
		STEPS = 200000,
		LIMIT = 4
	};
	unsigned int want[ADDRESSES] = {0};
	struct source_limit sl;
	unsigned int seed = 42;

	(void)state;
	assert_int_equal(source_limit__init(&sl, 256, LIMIT), 0);
	assert_int_equal(sl.mask + 1, 512);
	for (int step = 0; step < STEPS; step++) {
		unsigned int a = (unsigned int)rand_r(&seed) % ADDRESSES;
		/* Addresses that differ in high bits only, as pods in a /16 do
		 * in network order. */
		uint32_t ipv4 = 0x0000c80a | (a << 16) | ((a & 7) << 29);

		if (rand_r(&seed) & 1) {
			int ret = source_limit__acquire(&sl, ipv4);

			assert_int_equal(ret, want[a] < LIMIT ? 0 : -EUSERS);
			if (!ret)
				want[a]++;
		} else if (want[a]) {
			source_limit__release(&sl, ipv4);
			want[a]--;
		}
		if (step % 997 == 0) {
			size_t used = 0;

			for (unsigned int b = 0; b < ADDRESSES; b++) {
				uint32_t other = 0x0000c80a | (b << 16) | ((b & 7) << 29);

				assert_int_equal(source_limit__count(&sl, other),
						 want[b]);
				used += want[b] != 0;
			}
			assert_int_equal(sl.used, used);
		}
	}
	source_limit__destroy(&sl);
}

/* Sized for 8 connections: 16 slots, at most 8 addresses at once. */
static void test_table_full(void **state)
{
	struct source_limit sl;

	(void)state;
	assert_int_equal(source_limit__init(&sl, 8, 100), 0);
	assert_int_equal(sl.mask + 1, 16);
	for (uint32_t a = 1; a <= 8; a++)
		assert_int_equal(source_limit__acquire(&sl, a), 0);
	assert_int_equal(source_limit__acquire(&sl, 9), -ENOSPC);
	/* A known address still counts. */
	assert_int_equal(source_limit__acquire(&sl, 3), 0);
	source_limit__release(&sl, 5);
	assert_int_equal(source_limit__acquire(&sl, 9), 0);
	source_limit__destroy(&sl);
}

struct worker_arg {
	struct source_limit *sl;
	uint32_t ipv4;
	int refused;
};

static void *hammer(void *p)
{
	struct worker_arg *arg = p;

	for (int i = 0; i < 100000; i++) {
		if (source_limit__acquire(arg->sl, arg->ipv4))
			arg->refused++;
		else
			source_limit__release(arg->sl, arg->ipv4);
	}
	return NULL;
}

/* Four threads on two addresses with limit 2: never refused (each
 * address has at most two holders at once), and all released at the end. */
static void test_threads(void **state)
{
	struct source_limit sl;
	struct worker_arg args[4];
	pthread_t threads[4];

	(void)state;
	assert_int_equal(source_limit__init(&sl, 64, 2), 0);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){&sl, (uint32_t)(i % 2 + 1), 0};
		assert_int_equal(pthread_create(&threads[i], NULL, hammer, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(args[i].refused, 0);
	}
	assert_int_equal(sl.used, 0);
	source_limit__destroy(&sl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit_per_address),
	    cmocka_unit_test(test_churn_matches_reference),
	    cmocka_unit_test(test_table_full),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
