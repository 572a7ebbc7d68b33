/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The current L7 policy snapshot, swapped atomically on SIGHUP.
 *
 * One holder per process (main.c swaps), one view per worker. A view keeps
 * a reference to the snapshot it last saw and compares a generation number
 * before each request: the common case is one relaxed atomic load and no
 * lock. A request takes its own reference (policy_view__get) and drops it
 * when its exchange ends, so a snapshot lives until the last request that
 * was judged by it has been logged, whatever the swaps meanwhile.
 */
#ifndef WARDEN_PROXY_POLICY_HOLDER_H
#define WARDEN_PROXY_POLICY_HOLDER_H

#include <pthread.h>
#include <stdint.h>

#include "warden/l7_policy.h"

struct policy_holder {
	pthread_mutex_t lock; /* guards current against a swap during get */
	struct l7_policy *current;
	uint64_t generation; /* __atomic; +1 per swap */
};

struct policy_view {
	struct policy_holder *holder;
	struct l7_policy *snapshot; /* one reference, owned by the view */
	uint64_t generation;
};

/* Takes over the caller's reference to initial. */
void policy_holder__init(struct policy_holder *h, struct l7_policy *initial);
/* Takes over the caller's reference to next; drops the holder's on the old
 * one (freed when the last view and request let go). */
void policy_holder__swap(struct policy_holder *h, struct l7_policy *next);
void policy_holder__destroy(struct policy_holder *h);

void policy_view__init(struct policy_view *v, struct policy_holder *h);
/*
 * The snapshot current now, with a new reference for the caller (release
 * with l7_policy__put). *generation identifies the snapshot: equal numbers,
 * same snapshot, so per-connection caches of lookups can be keyed on it.
 */
struct l7_policy *policy_view__get(struct policy_view *v, uint64_t *generation);
/* The view's snapshot without a new reference: valid until the next
 * policy_view__get on this view (same thread). */
const struct l7_policy *policy_view__peek(struct policy_view *v, uint64_t *generation);
void policy_view__release(struct policy_view *v);

#endif /* WARDEN_PROXY_POLICY_HOLDER_H */
