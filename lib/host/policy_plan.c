// SPDX-License-Identifier: Apache-2.0
/* The order of policy-map writes (include/warden/policy_plan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "warden/policy_plan.h"

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct policy_entry *)a)->key,
		      &((const struct policy_entry *)b)->key,
		      sizeof(struct warden_policy_key));
}

/* A copy sorted by key (NULL for none). */
static int sorted_copy(const struct policy_entry *items, size_t count,
		       struct policy_entry **out)
{
	*out = NULL;
	if (!items || !count)
		return 0;
	*out = malloc(count * sizeof(*items));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, items, count * sizeof(*items));
	qsort(*out, count, sizeof(*items), entry_cmp);
	return 0;
}

/*
 * How open an entry's enforced verdict is: a deny (or an entry without an
 * enforced verdict under default deny) closes, an L7 allow lets the flow
 * through the proxy, a plain allow (or no verdict without default deny)
 * opens. The phases of a plan write in rising and delete in falling
 * openness.
 */
enum openness {
	OPEN_NONE,
	OPEN_PROXY,
	OPEN_FULL,
	OPEN_LEVELS
};

static enum openness openness(const struct warden_policy_value *v,
			      uint32_t endpoint_flags, uint8_t direction)
{
	uint32_t enforce = direction == WARDEN_DIR_INGRESS ? WARDEN_EP_ENFORCE_INGRESS
							   : WARDEN_EP_ENFORCE_EGRESS;

	if (v->flags & WARDEN_POLICY_DENY)
		return OPEN_NONE;
	if (v->flags & WARDEN_POLICY_ALLOW)
		return v->proxy_port ? OPEN_PROXY : OPEN_FULL;
	return (endpoint_flags & enforce) ? OPEN_NONE : OPEN_FULL;
}

/* A phase: writes or deletes of one openness. */
enum phase {
	WRITE_NONE,
	WRITE_PROXY,
	WRITE_FULL,
	DELETE_FULL,
	DELETE_PROXY,
	DELETE_NONE,
	PHASE_COUNT,
};

static const enum phase orders[][PHASE_COUNT] = {
    [POLICY_PLAN_WRITE_FIRST] = {WRITE_NONE, WRITE_PROXY, WRITE_FULL, DELETE_FULL,
				 DELETE_PROXY, DELETE_NONE},
    [POLICY_PLAN_STALE_ALLOWS_FIRST] = {DELETE_FULL, WRITE_NONE, WRITE_PROXY, WRITE_FULL,
					DELETE_PROXY, DELETE_NONE},
    [POLICY_PLAN_STALE_FIRST] = {DELETE_FULL, WRITE_NONE, WRITE_PROXY, DELETE_PROXY,
				 WRITE_FULL, DELETE_NONE},
};

const char *policy_plan__order_name(enum policy_plan_order order)
{
	switch (order) {
	case POLICY_PLAN_WRITE_FIRST:
		return "write first";
	case POLICY_PLAN_STALE_ALLOWS_FIRST:
		return "stale allows first";
	case POLICY_PLAN_STALE_FIRST:
		return "stale allows and redirects first";
	}
	return "?";
}

/* The op for a key, and the phase it belongs to. */
static enum phase classify(const struct policy_entry *old, const struct policy_entry *new,
			   uint32_t endpoint_flags, struct policy_op *op)
{
	memset(op, 0, sizeof(*op));
	if (!new) {
		op->key = old->key;
		op->remove = true;
		op->had_previous = true;
		op->previous = old->value;
		return DELETE_NONE - (enum phase)openness(&old->value, endpoint_flags,
							  old->key.direction);
	}
	op->key = new->key;
	op->value = new->value;
	if (old) {
		op->had_previous = true;
		op->previous = old->value;
	}
	return WRITE_NONE +
	       (enum phase)openness(&new->value, endpoint_flags, new->key.direction);
}

/* The most entries above the start while running phases in order.
 * added[p]: keys phase p adds (negative: removes). */
static long order_peak(enum policy_plan_order order, const long added[PHASE_COUNT])
{
	long running = 0, peak = 0;

	for (int i = 0; i < PHASE_COUNT; i++) {
		running += added[orders[order][i]];
		if (running > peak)
			peak = running;
	}
	return peak;
}

int policy_plan__build(const struct policy_entry *prev, size_t prev_count,
		       const struct policy_entry *next, size_t next_count,
		       uint32_t endpoint_flags, long room, struct policy_plan *out)
{
	struct policy_entry *a = NULL, *b = NULL;
	struct policy_op *ops = NULL;
	enum phase *phases = NULL;
	long added[PHASE_COUNT] = {0};
	size_t i = 0, j = 0, n = 0, at = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!prev)
		prev_count = 0;
	if (!next)
		next_count = 0;
	ret = sorted_copy(prev, prev_count, &a);
	if (!ret)
		ret = sorted_copy(next, next_count, &b);
	if (ret)
		goto out;
	ops = calloc(prev_count + next_count + 1, sizeof(*ops));
	phases = calloc(prev_count + next_count + 1, sizeof(*phases));
	if (!ops || !phases) {
		ret = -ENOMEM;
		goto out;
	}
	/* One merge walk over both sorted lists classifies every key. */
	while (i < prev_count || j < next_count) {
		int c = i == prev_count	  ? 1
			: j == next_count ? -1
					  : entry_cmp(&a[i], &b[j]);
		enum phase phase;

		if (c == 0) {
			if (!memcmp(&a[i].value, &b[j].value, sizeof(a[i].value))) {
				i++;
				j++;
				continue;
			}
			phase = classify(&a[i++], &b[j++], endpoint_flags, &ops[n]);
		} else if (c < 0) {
			phase = classify(&a[i++], NULL, endpoint_flags, &ops[n]);
			added[phase]--;
		} else {
			phase = classify(NULL, &b[j++], endpoint_flags, &ops[n]);
			added[phase]++;
		}
		phases[n++] = phase;
	}
	out->delta = 0;
	for (int p = 0; p < PHASE_COUNT; p++)
		out->delta += added[p];
	out->order = POLICY_PLAN_WRITE_FIRST;
	while (order_peak(out->order, added) > room &&
	       out->order != POLICY_PLAN_STALE_FIRST)
		out->order++;
	out->peak = order_peak(out->order, added);
	if (out->peak > room) {
		ret = -ENOSPC;
		goto out;
	}
	/* Lay the ops out phase by phase, in the chosen order (a stable
	 * pass per phase keeps key order within one). */
	out->ops = calloc(n + 1, sizeof(*out->ops));
	if (!out->ops) {
		ret = -ENOMEM;
		goto out;
	}
	for (int p = 0; p < PHASE_COUNT; p++)
		for (size_t k = 0; k < n; k++)
			if (phases[k] == orders[out->order][p])
				out->ops[at++] = ops[k];
	out->count = at;
out:
	free(phases);
	free(ops);
	free(b);
	free(a);
	if (ret) {
		free(out->ops);
		out->ops = NULL;
		out->count = 0;
	}
	return ret;
}

void policy_plan__free(struct policy_plan *plan)
{
	free(plan->ops);
	plan->ops = NULL;
	plan->count = 0;
}
