/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision for a new flow: at most two O(1) LPM lookups into
 * the policy map, whatever the number of rules. User space has already
 * compiled selectors, port ranges and deny precedence into the entries
 * (see struct warden_policy_key in include/warden/abi/maps.h).
 */
#ifndef WARDEN_BPF_POLICY_H
#define WARDEN_BPF_POLICY_H

#include "lib/common.h"

static __always_inline __u32 policy_enforce_flag(__u8 direction)
{
	return direction == WARDEN_DIR_INGRESS ? WARDEN_EP_ENFORCE_INGRESS
					       : WARDEN_EP_ENFORCE_EGRESS;
}

/*
 * May `identity` talk to endpoint ep in `direction` with (protocol, dport)?
 *
 * Looks up the peer's identity, then identity 0 ("any peer"); the LPM trie
 * gives the most specific protocol/port entry for each. A deny from either
 * wins; then an allow, preferring the identity-specific one for the
 * cookie. With no entry at all the endpoint's enforcement flag decides:
 * default deny when enforced, allow (cookie 0) when not.
 *
 * Returns 0 (allowed) or -WARDEN_DROP_POLICY_DENY / -WARDEN_DROP_POLICY.
 * *cookie receives the deciding rule's cookie, 0 for the default verdict.
 * *proxy_port is the L7 proxy port when the allow requires the proxy (no
 * plain allow among the matches), else 0.
 */
static __always_inline int policy_can_access(void *policy,
					     const struct warden_endpoint_info *ep,
					     __u32 identity, __u8 direction,
					     __u8 protocol, __be16 dport, __u32 *cookie,
					     __be16 *proxy_port)
{
	struct warden_policy_value *allow = NULL;
	bool plain = false;

	struct warden_policy_key key = {
		.prefixlen = WARDEN_POLICY_PREFIX_FULL,
		.endpoint_id = ep->endpoint_id,
		.identity = identity,
		.direction = direction,
		.protocol = protocol,
		.dport = dport,
	};
	struct warden_policy_value *by_identity, *any_peer;

	by_identity = bpf_map_lookup_elem(policy, &key);
	key.identity = WARDEN_IDENTITY_UNKNOWN;
	any_peer = bpf_map_lookup_elem(policy, &key);

	if (by_identity && (by_identity->flags & WARDEN_POLICY_DENY)) {
		*cookie = by_identity->rule_cookie;
		return -WARDEN_DROP_POLICY_DENY;
	}
	if (any_peer && (any_peer->flags & WARDEN_POLICY_DENY)) {
		*cookie = any_peer->rule_cookie;
		return -WARDEN_DROP_POLICY_DENY;
	}
	/*
	 * An L4-only allow for this peer and port lifts L7: redirect only when
	 * every matching allow names the proxy. (Pointers are picked one by
	 * one: the verifier does not follow a flag correlated with a NULL
	 * check.)
	 */
	*proxy_port = 0;
	if (by_identity && (by_identity->flags & WARDEN_POLICY_ALLOW))
		allow = by_identity;
	if (allow && !allow->proxy_port)
		plain = true;
	if (any_peer && (any_peer->flags & WARDEN_POLICY_ALLOW)) {
		if (!any_peer->proxy_port)
			plain = true;
		if (!allow)
			allow = any_peer;
	}
	if (allow) {
		*cookie = allow->rule_cookie;
		if (!plain)
			*proxy_port = allow->proxy_port;
		return 0;
	}

	*cookie = 0;
	if (ep->flags & policy_enforce_flag(direction))
		return -WARDEN_DROP_POLICY;
	return 0;
}

#endif /* WARDEN_BPF_POLICY_H */
