/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision for a flow: at most two O(1) LPM lookups into the
 * policy map, whatever the number of rules. User space has already
 * compiled selectors, port ranges and deny precedence into the entries
 * (see struct warden_policy_key in include/warden/abi/maps.h).
 *
 * Each entry carries two verdicts: the enforced one (flags, rule_cookie)
 * and, for endpoints selected by audit-mode policies, the one with those
 * policies included (audit_flags, audit_cookie). The packet always goes
 * where the enforced verdict says, unless audit turns a policy drop into
 * "forward and report"; see policy_can_access().
 */
#ifndef WARDEN_BPF_POLICY_H
#define WARDEN_BPF_POLICY_H

#include "lib/common.h"

/*
 * What policy says about one flow. drop and audit are never both set:
 *   drop = 0, audit = 0   forward (through the proxy if proxy_port);
 *   drop = R              drop with reason R (reject: answer the sender);
 *   drop = 0, audit = R   forward, but policy would have dropped it with
 *                         reason R: report it as WARDEN_EVENT_AUDIT.
 * cookie names the rule behind what is reported: the deciding rule of
 * the enforced verdict, or for an audited flow the rule that would have
 * dropped it; 0 for a default verdict without an audit-mode policy.
 * by_rule tells an allow that a map entry gave from the default allow of
 * a direction no policy enforces.
 */
struct policy_verdict {
	__u32 cookie;
	__be16 proxy_port; /* allowed only through the L7 proxy on this port */
	__u8 drop;	   /* enum warden_reason, 0 = forward */
	__u8 audit;	   /* enum warden_reason policy would have dropped with */
	bool reject;	   /* with drop: answer with a TCP RST / ICMP unreachable */
	bool by_rule;	   /* without drop: an allow entry matched */
};

static __always_inline __u32 policy_enforce_flag(__u8 direction)
{
	return direction == WARDEN_DIR_INGRESS ? WARDEN_EP_ENFORCE_INGRESS
					       : WARDEN_EP_ENFORCE_EGRESS;
}

static __always_inline __u32 policy_audit_enforce_flag(__u8 direction)
{
	return direction == WARDEN_DIR_INGRESS ? WARDEN_EP_AUDIT_ENFORCE_INGRESS
					       : WARDEN_EP_AUDIT_ENFORCE_EGRESS;
}

static __always_inline __u32 policy_reject_flag(__u8 direction)
{
	return direction == WARDEN_DIR_INGRESS ? WARDEN_EP_REJECT_INGRESS
					       : WARDEN_EP_REJECT_EGRESS;
}

/*
 * The enforced verdict from the two entries found (either may be NULL): a
 * deny from either wins, then an allow, the identity-specific one first
 * (its cookie names the rule); with neither, the endpoint's ENFORCE flag
 * for the direction gives default deny, else allow, both with cookie 0.
 * An allow names the proxy only when every matching allow does (an L4-only
 * rule for the same peer and port lifts L7). A deny is answered (reject)
 * when its entry says WARDEN_POLICY_REJECT; a default deny when the
 * endpoint's REJECT flag for the direction is set.
 *
 * *verdict starts zeroed. Every field is read under its own NULL check:
 * the verifier does not follow a pointer picked earlier by a flag
 * correlated with one.
 */
static __always_inline void policy_decide(const struct warden_policy_value *by_identity,
					  const struct warden_policy_value *any_peer,
					  __u32 ep_flags, __u8 direction,
					  struct policy_verdict *verdict)
{
	if (by_identity && (by_identity->flags & WARDEN_POLICY_DENY)) {
		verdict->drop = WARDEN_DROP_POLICY_DENY;
		verdict->cookie = by_identity->rule_cookie;
		verdict->reject = by_identity->flags & WARDEN_POLICY_REJECT;
	} else if (any_peer && (any_peer->flags & WARDEN_POLICY_DENY)) {
		verdict->drop = WARDEN_DROP_POLICY_DENY;
		verdict->cookie = any_peer->rule_cookie;
		verdict->reject = any_peer->flags & WARDEN_POLICY_REJECT;
	} else if (by_identity && (by_identity->flags & WARDEN_POLICY_ALLOW)) {
		verdict->by_rule = true;
		verdict->cookie = by_identity->rule_cookie;
		verdict->proxy_port = by_identity->proxy_port;
		if (any_peer && (any_peer->flags & WARDEN_POLICY_ALLOW) &&
		    !any_peer->proxy_port)
			verdict->proxy_port = 0;
	} else if (any_peer && (any_peer->flags & WARDEN_POLICY_ALLOW)) {
		verdict->by_rule = true;
		verdict->cookie = any_peer->rule_cookie;
		verdict->proxy_port = any_peer->proxy_port;
	} else if (ep_flags & policy_enforce_flag(direction)) {
		verdict->drop = WARDEN_DROP_POLICY;
		verdict->reject = ep_flags & policy_reject_flag(direction);
	}
}

/*
 * The verdict of the audit halves of the same two entries (audit-mode
 * policies included), the same way: deny from either, then allow, then
 * the endpoint's AUDIT_ENFORCE flag with audit_default_cookie. Returns 0
 * or the drop reason, *cookie the rule that would drop.
 */
static __always_inline __u8
policy_decide_audit(const struct warden_policy_value *by_identity,
		    const struct warden_policy_value *any_peer,
		    const struct warden_endpoint_info *ep, __u8 direction, __u32 *cookie)
{
	if (by_identity && (by_identity->audit_flags & WARDEN_POLICY_DENY)) {
		*cookie = by_identity->audit_cookie;
		return WARDEN_DROP_POLICY_DENY;
	}
	if (any_peer && (any_peer->audit_flags & WARDEN_POLICY_DENY)) {
		*cookie = any_peer->audit_cookie;
		return WARDEN_DROP_POLICY_DENY;
	}
	if (by_identity && (by_identity->audit_flags & WARDEN_POLICY_ALLOW))
		return 0;
	if (any_peer && (any_peer->audit_flags & WARDEN_POLICY_ALLOW))
		return 0;
	if (!(ep->flags & policy_audit_enforce_flag(direction)))
		return 0;
	*cookie = direction == WARDEN_DIR_INGRESS
		      ? ep->audit_default_cookie[WARDEN_DIR_INGRESS]
		      : ep->audit_default_cookie[WARDEN_DIR_EGRESS];
	return WARDEN_DROP_POLICY;
}

/*
 * May `identity` talk to endpoint ep in `direction` with (protocol, dport)?
 *
 * Looks up the peer's identity, then identity 0 ("any peer"); the LPM trie
 * gives the most specific protocol/port entry for each, and
 * policy_decide() turns the two into the enforced verdict.
 *
 * With with_audit (a compile-time constant; the destination-side L7 lookup
 * only wants the enforced proxy port), audit may turn a policy drop into
 * a forward:
 *  - endpoint audit mode (WARDEN_EP_AUDIT_MODE): every policy drop is
 *    forwarded as is (no proxy, no reject) and reported as audit, with the
 *    reason and cookie it would have been dropped with;
 *  - audit-mode policies (WARDEN_EP_AUDIT_POLICIES): an enforced allow is
 *    judged again on the audit halves of the same two entries
 *    (policy_decide_audit()). If that would drop, the flow still goes
 *    where the enforced allow says (proxy port included) and is reported
 *    as audit, with the audit cookie.
 * Without those flags the audit halves are never read.
 */
static __always_inline struct policy_verdict
policy_can_access(void *policy, const struct warden_endpoint_info *ep, __u32 identity,
		  __u8 direction, __u8 protocol, __be16 dport, const bool with_audit)
{
	struct policy_verdict verdict = {};
	struct warden_policy_key key = {
	    .prefixlen = WARDEN_POLICY_PREFIX_FULL,
	    .endpoint_id = ep->endpoint_id,
	    .identity = identity,
	    .direction = direction,
	    .protocol = protocol,
	    .dport = dport,
	};
	struct warden_policy_value *by_identity, *any_peer;
	__u32 ep_flags = ep->flags;
	__u32 cookie = 0;

	by_identity = bpf_map_lookup_elem(policy, &key);
	key.identity = WARDEN_IDENTITY_UNKNOWN;
	any_peer = bpf_map_lookup_elem(policy, &key);

	policy_decide(by_identity, any_peer, ep_flags, direction, &verdict);
	if (!with_audit)
		return verdict;
	if (verdict.drop) {
		if (ep_flags & WARDEN_EP_AUDIT_MODE) {
			verdict.audit = verdict.drop;
			verdict.drop = 0;
			verdict.reject = false;
		}
		return verdict;
	}
	if (ep_flags & WARDEN_EP_AUDIT_POLICIES) {
		verdict.audit =
		    policy_decide_audit(by_identity, any_peer, ep, direction, &cookie);
		if (verdict.audit)
			verdict.cookie = cookie;
	}
	return verdict;
}

#endif /* WARDEN_BPF_POLICY_H */
