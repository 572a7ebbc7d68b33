/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision for a flow: two O(1) LPM lookups into the policy
 * map, whatever the number of rules, and a third (after one lookup in the
 * small pod-CIDR map) only for endpoints whose policy has CIDR rules that
 * select pods (Kubernetes ipBlock). User space has already compiled
 * selectors, CIDRs, port ranges and deny precedence into the entries (see
 * struct warden_policy_key in include/warden/abi/maps.h).
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
#include "lib/ipcache.h"

/*
 * What policy says about one flow. drop and audit are never both set:
 *   drop = 0, audit = 0   forward (through the proxy if proxy_port);
 *   drop = R              drop with reason R (reject: answer the sender);
 *   drop = 0, audit = R   forward, but policy would have dropped it with
 *                         reason R: report it as WARDEN_EVENT_AUDIT.
 * cookie names the rule behind what is reported: the deciding rule of
 * the enforced verdict, or for an audited flow the rule that would have
 * dropped it; 0 for a default verdict without an audit-mode policy.
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

static __always_inline __u32 policy_pod_cidr_flag(__u8 direction)
{
	return direction == WARDEN_DIR_INGRESS ? WARDEN_EP_POD_CIDR_INGRESS
					       : WARDEN_EP_POD_CIDR_EGRESS;
}

/*
 * Copies of the policy entries that apply to one flow, all zero (no flags:
 * no rule) when the LPM trie has none: the peer's own identity, its
 * pod-CIDR identity (only looked up for an endpoint peer of an endpoint
 * with CIDR rules that select pods), and identity 0, "any peer". Copies,
 * not pointers: three pointers that may each be NULL made the verifier
 * walk every combination at every call site.
 */
struct policy_lookup {
	struct warden_policy_value by_identity;
	struct warden_policy_value by_pod_cidr;
	struct warden_policy_value any_peer;
};

/* The entry for key into *out, or zeros. */
static __always_inline void policy_lookup_entry(void *policy,
						const struct warden_policy_key *key,
						struct warden_policy_value *out)
{
	const struct warden_policy_value *v = bpf_map_lookup_elem(policy, key);

	if (v)
		*out = *v;
}

/*
 * The pod-CIDR identity of an IPv4 address (warden_pod_cidr, see
 * include/warden/abi/maps.h), 0 when no CIDR rule that selects pods
 * covers it.
 */
static __always_inline __u32 policy_pod_cidr_lookup4(void *pod_cidr, __be32 addr)
{
	struct warden_ipcache_value *value = ipcache_lpm_lookup4(pod_cidr, addr);

	return value ? value->identity : 0;
}

/*
 * Does this entry allow, and as is (not only through the proxy)? A plain
 * allow among the matching ones lifts L7 for the flow.
 */
static __always_inline bool policy_plain_allow(const struct warden_policy_value *v)
{
	return (v->flags & WARDEN_POLICY_ALLOW) && !v->proxy_port;
}

/*
 * The enforced verdict from the entries found (any may be NULL): a deny
 * from any of them wins, then an allow, the identity-specific one first,
 * then the pod-CIDR one, then "any peer" (its cookie names the rule);
 * with none, the endpoint's ENFORCE flag for the direction gives default
 * deny, else allow, both with cookie 0. An allow names the proxy only when
 * every matching allow does (an L4-only rule for the same peer and port
 * lifts L7). A deny is answered (reject) when its entry says
 * WARDEN_POLICY_REJECT; a default deny when the endpoint's REJECT flag for
 * the direction is set. *verdict starts zeroed.
 */
static __always_inline void policy_decide(const struct policy_lookup *e, __u32 ep_flags,
					  __u8 direction, struct policy_verdict *verdict)
{
	const struct warden_policy_value *by_identity = &e->by_identity;
	const struct warden_policy_value *by_pod_cidr = &e->by_pod_cidr;
	const struct warden_policy_value *any_peer = &e->any_peer;

	if (by_identity->flags & WARDEN_POLICY_DENY) {
		verdict->drop = WARDEN_DROP_POLICY_DENY;
		verdict->cookie = by_identity->rule_cookie;
		verdict->reject = by_identity->flags & WARDEN_POLICY_REJECT;
	} else if (by_pod_cidr->flags & WARDEN_POLICY_DENY) {
		verdict->drop = WARDEN_DROP_POLICY_DENY;
		verdict->cookie = by_pod_cidr->rule_cookie;
		verdict->reject = by_pod_cidr->flags & WARDEN_POLICY_REJECT;
	} else if (any_peer->flags & WARDEN_POLICY_DENY) {
		verdict->drop = WARDEN_DROP_POLICY_DENY;
		verdict->cookie = any_peer->rule_cookie;
		verdict->reject = any_peer->flags & WARDEN_POLICY_REJECT;
	} else if (by_identity->flags & WARDEN_POLICY_ALLOW) {
		verdict->by_rule = true;
		verdict->cookie = by_identity->rule_cookie;
		verdict->proxy_port = by_identity->proxy_port;
	} else if (by_pod_cidr->flags & WARDEN_POLICY_ALLOW) {
		verdict->by_rule = true;
		verdict->cookie = by_pod_cidr->rule_cookie;
		verdict->proxy_port = by_pod_cidr->proxy_port;
	} else if (any_peer->flags & WARDEN_POLICY_ALLOW) {
		verdict->by_rule = true;
		verdict->cookie = any_peer->rule_cookie;
		verdict->proxy_port = any_peer->proxy_port;
	} else if (ep_flags & policy_enforce_flag(direction)) {
		verdict->drop = WARDEN_DROP_POLICY;
		verdict->reject = ep_flags & policy_reject_flag(direction);
	}
	if (verdict->proxy_port &&
	    (policy_plain_allow(by_identity) || policy_plain_allow(by_pod_cidr) ||
	     policy_plain_allow(any_peer)))
		verdict->proxy_port = 0;
}

/*
 * The verdict of the audit halves of the same entries (audit-mode
 * policies included), the same way: deny from any, then allow, then the
 * endpoint's AUDIT_ENFORCE flag with audit_default_cookie. Returns 0 or
 * the drop reason, *cookie the rule that would drop.
 */
static __always_inline __u8 policy_decide_audit(const struct policy_lookup *e,
						const struct warden_endpoint_info *ep,
						__u8 direction, __u32 *cookie)
{
	const struct warden_policy_value *by_identity = &e->by_identity;
	const struct warden_policy_value *by_pod_cidr = &e->by_pod_cidr;
	const struct warden_policy_value *any_peer = &e->any_peer;

	if (by_identity->audit_flags & WARDEN_POLICY_DENY) {
		*cookie = by_identity->audit_cookie;
		return WARDEN_DROP_POLICY_DENY;
	}
	if (by_pod_cidr->audit_flags & WARDEN_POLICY_DENY) {
		*cookie = by_pod_cidr->audit_cookie;
		return WARDEN_DROP_POLICY_DENY;
	}
	if (any_peer->audit_flags & WARDEN_POLICY_DENY) {
		*cookie = any_peer->audit_cookie;
		return WARDEN_DROP_POLICY_DENY;
	}
	if (by_identity->audit_flags & WARDEN_POLICY_ALLOW)
		return 0;
	if (by_pod_cidr->audit_flags & WARDEN_POLICY_ALLOW)
		return 0;
	if (any_peer->audit_flags & WARDEN_POLICY_ALLOW)
		return 0;
	if (!(ep->flags & policy_audit_enforce_flag(direction)))
		return 0;
	*cookie = direction == WARDEN_DIR_INGRESS
		      ? ep->audit_default_cookie[WARDEN_DIR_INGRESS]
		      : ep->audit_default_cookie[WARDEN_DIR_EGRESS];
	return WARDEN_DROP_POLICY;
}

/*
 * May the peer (`identity`, at address peer_addr) talk to endpoint ep in
 * `direction` with (protocol, dport)?
 *
 * Looks up the peer's identity, then identity 0 ("any peer"); the LPM trie
 * gives the most specific protocol/port entry for each. When ep has CIDR
 * rules that select pods in this direction (WARDEN_EP_POD_CIDR_<dir>) and
 * the peer is an endpoint (a pod, here or on another node: its own
 * identity hides its address from CIDR identities), the peer's address is
 * looked up in the pod-CIDR map, and the policy map once more with the
 * pod-CIDR identity found. Other endpoints, and peers that are not
 * endpoints (world addresses resolve to their CIDR identity already), pay
 * nothing. policy_decide() turns the entries into the enforced verdict.
 * Every caller (a new flow, the re-check of a tracked one, the source-side
 * look at a local destination's ingress) goes through here, so they all
 * decide the same way.
 *
 * With with_audit (a compile-time constant; the destination-side L7 lookup
 * only wants the enforced proxy port), audit may turn a policy drop into
 * a forward:
 *  - endpoint audit mode (WARDEN_EP_AUDIT_MODE): every policy drop is
 *    forwarded as is (no proxy, no reject) and reported as audit, with the
 *    reason and cookie it would have been dropped with;
 *  - audit-mode policies (WARDEN_EP_AUDIT_POLICIES): an enforced allow is
 *    judged again on the audit halves of the same entries
 *    (policy_decide_audit()). If that would drop, the flow still goes
 *    where the enforced allow says (proxy port included) and is reported
 *    as audit, with the audit cookie.
 * Without those flags the audit halves are never read.
 */
static __always_inline struct policy_verdict
policy_can_access(void *policy, void *pod_cidr, const struct warden_endpoint_info *ep,
		  __u32 identity, __be32 peer_addr, __u8 direction, __u8 protocol,
		  __be16 dport, const bool with_audit)
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
	struct policy_lookup entries = {};
	__u32 ep_flags = ep->flags;
	__u32 cookie = 0;

	policy_lookup_entry(policy, &key, &entries.by_identity);
	key.identity = WARDEN_IDENTITY_UNKNOWN;
	policy_lookup_entry(policy, &key, &entries.any_peer);
	if ((ep_flags & policy_pod_cidr_flag(direction)) &&
	    identity >= WARDEN_IDENTITY_USER_MIN &&
	    identity <= WARDEN_IDENTITY_USER_MAX) {
		key.identity = policy_pod_cidr_lookup4(pod_cidr, peer_addr);
		if (key.identity)
			policy_lookup_entry(policy, &key, &entries.by_pod_cidr);
	}

	policy_decide(&entries, ep_flags, direction, &verdict);
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
		verdict.audit = policy_decide_audit(&entries, ep, direction, &cookie);
		if (verdict.audit)
			verdict.cookie = cookie;
	}
	return verdict;
}

#endif /* WARDEN_BPF_POLICY_H */
