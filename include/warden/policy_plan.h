/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The order of the policy-map writes that turn one endpoint's entries
 * into new ones (pure: no BPF here; lib/host/datapath.c executes a plan).
 *
 * A packet is judged by two longest-prefix lookups (its peer's identity and
 * "any peer"), so what an intermediate map allows depends on the order of
 * the writes. Each entry's verdict has an openness: closed (a deny, or no
 * enforced verdict under default deny), through the proxy (an L7 allow),
 * open (a plain allow). A plan writes new and changed entries in rising
 * openness and deletes stale ones in falling openness:
 *
 *   write first:  write closed, proxy, open; delete open, proxy, closed
 *
 * So a write never uncovers a longer new entry that is less open and not
 * written yet, and a delete never falls back on a shorter entry that is
 * more open than what the old or the new entries say. In every
 * intermediate state each of the two lookups finds something no more open
 * than the old or the new entries give it (checked op by op on random
 * entry sets by tests/unit/test_policy_plan.c). The endpoint's revision
 * moves only after its plan ran, so flows accepted meanwhile are checked
 * again against the final entries.
 *
 * "write first" needs room for every new key at once (old + new entries).
 * With less room there are two tighter orders, still safe in the same
 * sense, at the price of moments in which a new flow both the old and the
 * new entries allow may be refused (established flows are re-checked only
 * after the revision moves, by then against the final entries):
 *
 *   stale allows first: delete open; write closed, proxy, open;
 *                       delete proxy, closed
 *   stale allows and redirects first:
 *                       delete open; write closed, proxy; delete proxy;
 *                       write open; delete closed
 *
 * When no order fits, the plan is refused (-ENOSPC) and nothing is
 * written. Deleting stale denies earlier would fit more, but could open
 * what both the old and the new entries close.
 *
 * Each op remembers what its key held before, so a plan is undone exactly
 * by running its ops backwards (every state of the undo is a state the
 * plan went through, so the undo is as safe and fits as well).
 */
#ifndef WARDEN_POLICY_PLAN_H
#define WARDEN_POLICY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/policy_entry.h"

struct policy_op {
	struct warden_policy_key key;
	struct warden_policy_value value;    /* written (unless delete) */
	struct warden_policy_value previous; /* what the key held, if had_previous */
	bool remove;			     /* delete the key instead of writing */
	bool had_previous;
};

enum policy_plan_order {
	POLICY_PLAN_WRITE_FIRST,
	POLICY_PLAN_STALE_ALLOWS_FIRST,
	POLICY_PLAN_STALE_FIRST, /* stale allows and redirects first */
};

struct policy_plan {
	struct policy_op *ops; /* owned */
	size_t count;
	enum policy_plan_order order;
	long peak;  /* entries above the start at the fullest moment (>= 0) */
	long delta; /* entries after the plan minus before */
};

/*
 * Plan the writes that make one endpoint's map entries go from prev to next
 * (either may be NULL with count 0; keys unique within each), using at most
 * `room` entries more than the map holds now at any moment. endpoint_flags:
 * the endpoint's WARDEN_EP_* flags while the plan runs (they say what an
 * entry without an enforced verdict means). Returns 0 with *out filled
 * (free with policy_plan__free), -ENOSPC when no order fits (out->peak then
 * says how much room the tightest order needs), -ENOMEM.
 */
int policy_plan__build(const struct policy_entry *prev, size_t prev_count,
		       const struct policy_entry *next, size_t next_count,
		       uint32_t endpoint_flags, long room, struct policy_plan *out);
void policy_plan__free(struct policy_plan *plan);
/* "write first", "stale allows first", "stale first". */
const char *policy_plan__order_name(enum policy_plan_order order);

#endif /* WARDEN_POLICY_PLAN_H */
