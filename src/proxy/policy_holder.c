// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot swap. Why a mutex at all: "load the pointer, then take a
 * reference" is two steps, and a swap plus the last put between them would
 * free what the reader is about to reference. The lock only covers those
 * two steps, and workers only take it when the generation moved, i.e. once
 * per SIGHUP, not once per request.
 */
#include "policy_holder.h"

void policy_holder__init(struct policy_holder *h, struct l7_policy *initial)
{
	pthread_mutex_init(&h->lock, NULL);
	h->current = initial;
	h->generation = 1;
}

void policy_holder__swap(struct policy_holder *h, struct l7_policy *next)
{
	struct l7_policy *old;

	pthread_mutex_lock(&h->lock);
	old = h->current;
	h->current = next;
	__atomic_add_fetch(&h->generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&h->lock);
	l7_policy__put(old);
}

void policy_holder__destroy(struct policy_holder *h)
{
	l7_policy__put(h->current);
	h->current = NULL;
	pthread_mutex_destroy(&h->lock);
}

void policy_view__init(struct policy_view *v, struct policy_holder *h)
{
	v->holder = h;
	v->snapshot = NULL;
	v->generation = 0;
}

static void view_refresh(struct policy_view *v)
{
	struct policy_holder *h = v->holder;
	struct l7_policy *old = v->snapshot;

	if (__atomic_load_n(&h->generation, __ATOMIC_ACQUIRE) == v->generation)
		return;
	pthread_mutex_lock(&h->lock);
	v->snapshot = l7_policy__get(h->current);
	v->generation = __atomic_load_n(&h->generation, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->lock);
	/* Outside the lock: the last put frees a whole snapshot (regexes...). */
	l7_policy__put(old);
}

const struct l7_policy *policy_view__peek(struct policy_view *v, uint64_t *generation)
{
	view_refresh(v);
	*generation = v->generation;
	return v->snapshot;
}

struct l7_policy *policy_view__get(struct policy_view *v, uint64_t *generation)
{
	view_refresh(v);
	*generation = v->generation;
	return l7_policy__get(v->snapshot);
}

void policy_view__release(struct policy_view *v)
{
	l7_policy__put(v->snapshot);
	v->snapshot = NULL;
	v->generation = 0;
}
