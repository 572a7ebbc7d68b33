/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Regeneration (regenerate.c): policy x identities x endpoints, compiled,
 * then handed to the proxy and written to the maps; all or nothing.
 */
#ifndef WARDEN_AGENT_REGENERATE_H
#define WARDEN_AGENT_REGENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/abi/maps.h"
#include "warden/policy.h"

struct agent;
struct endpoint;

/* A CIDR prefix used by the policy in force, and its identity. */
struct cidr_identity {
	struct policy_prefix prefix;
	uint32_t identity;
};

/*
 * Make `candidate` the policy in force (or, when candidate is NULL, just
 * recompute the current one after an endpoint or identity change):
 * compile every endpoint, hand the proxy its rules, write the maps (see
 * regenerate.c for the order). All or nothing: on error every map and the
 * proxy hold what they held before, and err says why (a full map is
 * named). The caller swaps candidate into agent->policies after a success.
 */
int regenerate__apply(struct agent *agent, const struct policy_set *candidate, char *err,
		      size_t err_len);
/*
 * Turn ep's audit mode on or off: the proxy's document, then its endpoint
 * entry at a new policy revision, so established flows are re-checked. On
 * error nothing changed.
 */
int regenerate__endpoint(struct agent *agent, struct endpoint *ep, bool audit, char *err,
			 size_t err_len);
/* The endpoint entry the maps should hold for ep (for `warden bpf check`). */
void regenerate__endpoint_info(const struct endpoint *ep,
			       struct warden_endpoint_info *out);
/* Release the CIDR identities of the policy in force (shutdown). */
void regenerate__free(struct agent *agent);
/*
 * The pod-CIDR identity that IPv4 address ipv4 (network order) resolves
 * to in the pod-CIDR map of the policy in force (longest prefix), 0 for
 * none; *prefix (may be NULL) gets its prefix. For `policy trace`.
 */
uint32_t regenerate__pod_cidr_lookup(const struct agent *agent, uint32_t ipv4,
				     struct policy_prefix *prefix);

#endif /* WARDEN_AGENT_REGENERATE_H */
