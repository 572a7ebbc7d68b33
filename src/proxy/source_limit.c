// SPDX-License-Identifier: Apache-2.0
/*
 * The per-source connection count (source_limit.h): linear probing keyed
 * by the IPv4 address, at most half full, and backward-shift deletion, so
 * a free slot always ends a probe (no tombstones to accumulate over days
 * of churn).
 */
#include <errno.h>
#include <stdlib.h>

#include "source_limit.h"

static size_t slot_of(const struct source_limit *sl, uint32_t ipv4)
{
	/* Fibonacci hashing: pod addresses differ in their low bits. */
	return (size_t)((uint32_t)(ipv4 * 2654435761u)) & sl->mask;
}

int source_limit__init(struct source_limit *sl, uint64_t max_conns, unsigned int limit)
{
	size_t slots = 16;

	while (slots < SOURCE_LIMIT_MAX_SLOTS && slots / 2 < max_conns)
		slots *= 2;
	sl->slots = calloc(slots, sizeof(*sl->slots));
	if (!sl->slots)
		return -ENOMEM;
	sl->mask = slots - 1;
	sl->used = 0;
	sl->limit = limit;
	pthread_mutex_init(&sl->lock, NULL);
	return 0;
}

void source_limit__destroy(struct source_limit *sl)
{
	if (!sl->slots)
		return;
	pthread_mutex_destroy(&sl->lock);
	free(sl->slots);
	sl->slots = NULL;
}

/* The slot holding ipv4, or the free slot that ends its probe. */
static struct source_slot *probe(struct source_limit *sl, uint32_t ipv4)
{
	size_t pos = slot_of(sl, ipv4);

	while (sl->slots[pos].count && sl->slots[pos].ipv4 != ipv4)
		pos = (pos + 1) & sl->mask;
	return &sl->slots[pos];
}

int source_limit__acquire(struct source_limit *sl, uint32_t ipv4)
{
	struct source_slot *slot;
	int ret = 0;

	pthread_mutex_lock(&sl->lock);
	slot = probe(sl, ipv4);
	if (slot->count >= sl->limit) {
		ret = -EUSERS;
	} else if (!slot->count && sl->used >= (sl->mask + 1) / 2) {
		ret = -ENOSPC;
	} else {
		if (!slot->count) {
			slot->ipv4 = ipv4;
			sl->used++;
		}
		slot->count++;
	}
	pthread_mutex_unlock(&sl->lock);
	return ret;
}

/*
 * Backward-shift deletion: after emptying a slot, move up every later
 * entry of the run that would otherwise be cut off from its home slot.
 */
static void slot_remove(struct source_limit *sl, size_t hole)
{
	size_t pos = hole;

	sl->slots[hole].count = 0;
	for (;;) {
		size_t home;

		pos = (pos + 1) & sl->mask;
		if (!sl->slots[pos].count)
			return;
		home = slot_of(sl, sl->slots[pos].ipv4);
		/* Leave it if its home lies cyclically in (hole, pos]. */
		if (((pos - home) & sl->mask) < ((pos - hole) & sl->mask))
			continue;
		sl->slots[hole] = sl->slots[pos];
		sl->slots[pos].count = 0;
		hole = pos;
	}
}

void source_limit__release(struct source_limit *sl, uint32_t ipv4)
{
	struct source_slot *slot;

	pthread_mutex_lock(&sl->lock);
	slot = probe(sl, ipv4);
	if (slot->count && --slot->count == 0) {
		slot_remove(sl, (size_t)(slot - sl->slots));
		sl->used--;
	}
	pthread_mutex_unlock(&sl->lock);
}

unsigned int source_limit__count(struct source_limit *sl, uint32_t ipv4)
{
	unsigned int count;

	pthread_mutex_lock(&sl->lock);
	count = probe(sl, ipv4)->count;
	pthread_mutex_unlock(&sl->lock);
	return count;
}
