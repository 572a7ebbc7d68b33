/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lifted L7 restrictions: (direction, port, peer identity) keys of one
 * endpoint that had L7 rules and have none any more (pure; used by the
 * agent for the proxy's document, docs/proxy-policy.md).
 *
 * A connection the datapath redirected to the proxy stays with the proxy
 * for its whole life, even after the policy stops asking for L7 on it:
 * the proxy terminates TCP, so the flow cannot be handed back. The proxy
 * refuses a redirected request no rule applies to (fail closed), so these
 * connections would be cut although the policy now allows them at L4. A
 * lifted key tells the proxy to forward them instead: L3/L4 is still the
 * datapath's, which re-checks both legs of such a connection against the
 * policy in force.
 */
#ifndef WARDEN_POLICY_LIFTED_H
#define WARDEN_POLICY_LIFTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/policy_compile.h"

struct policy_lifted {
	uint8_t direction;
	uint16_t port;
	uint32_t identity; /* 0: any peer */
	uint64_t since;	   /* the revision that lifted it */
};

struct policy_lifted_set {
	struct policy_lifted *items; /* owned, sorted by (direction, port, identity) */
	size_t count;
};

/*
 * The lifted keys after an endpoint's entries go from prev to next:
 * prev's L7 keys (TCP, as the proxy sees them) and prev_lifted's keys,
 * unless next has L7 rules for the key or for the any-peer key of its port
 * (then the rules, or an exemption, apply again), and unless the peer
 * identity no longer exists (identity_exists(ctx, id) says; identity 0
 * always does). A key keeps the revision it was first lifted at; new ones
 * get `revision`. Returns 0 or -ENOMEM; *out is allocated.
 */
int policy_lifted__next(const struct policy_entries *prev,
			const struct policy_lifted_set *prev_lifted,
			const struct policy_entries *next,
			bool (*identity_exists)(void *ctx, uint32_t identity), void *ctx,
			uint64_t revision, struct policy_lifted_set *out);
/* Same keys (since is not compared)? */
bool policy_lifted_set__same_keys(const struct policy_lifted_set *a,
				  const struct policy_lifted_set *b);
void policy_lifted_set__free(struct policy_lifted_set *set);

#endif /* WARDEN_POLICY_LIFTED_H */
