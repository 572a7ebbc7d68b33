/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow decision for one IPv4 packet of a known endpoint, once it is
 * parsed and its peer's identity is known: conntrack first (an ICMP error
 * related to a flow, an established flow, the reply of one, a SYN that
 * reuses an old tuple), the re-check of a tracked flow when the endpoint's
 * policy revision moved (revocation cuts established connections), the
 * policy lookup for a new flow, the L7 proxy redirect, and the event of a
 * newly allowed or audited flow.
 *
 * The maps belong to the entry file (bpf/warden.bpf.c); it hands them in
 * with struct flow_maps, as the other modules take theirs as arguments.
 */
#ifndef WARDEN_BPF_FLOW_H
#define WARDEN_BPF_FLOW_H

#include "lib/common.h"
#include "lib/conntrack.h"
#include "lib/drop.h"
#include "lib/parse.h"
#include "lib/policy.h"

/* The maps a flow decision reads and writes. */
struct flow_maps {
	void *ct;	       /* warden_ct */
	void *policy;	       /* warden_policy */
	void *pod_cidr;	       /* warden_pod_cidr */
	void *local_endpoints; /* warden_local_endpoints */
	void *events;	       /* warden_events */
	void *metrics;	       /* warden_metrics */
};

static __always_inline bool flow_from_proxy(const struct __sk_buff *skb)
{
	return (skb->mark & WARDEN_MARK_MASK) == WARDEN_MARK_FROM_PROXY;
}

/* Hand the packet to the L7 proxy: netfilter's TPROXY rule and policy
 * routing act on this mark (lib/host/redirect.c sets them up). */
static __always_inline void flow_redirect_to_proxy(struct __sk_buff *skb)
{
	skb->mark = (skb->mark & ~WARDEN_MARK_MASK) | WARDEN_MARK_TO_PROXY;
}

/*
 * When a TCP flow goes to another local endpoint, does that endpoint's
 * ingress policy want it through the proxy? Only the source's hook can
 * redirect, so the destination's ingress entry is consulted here; its
 * L3/L4 verdict itself (audit included) stays with the destination's own
 * hook, so only the enforced proxy port matters here.
 */
static __always_inline __be16 flow_local_destination_proxy_port(
    const struct flow_maps *maps, const struct warden_endpoint_info *ep,
    const struct warden_packet *pkt, __u32 *cookie)
{
	struct warden_endpoint_addr_key addr = {.family = WARDEN_FAMILY_IPV4};
	struct warden_endpoint_info *dst;
	struct policy_verdict verdict;

	if (pkt->protocol != IPPROTO_TCP)
		return 0;
	__builtin_memcpy(addr.addr, &pkt->daddr, sizeof(pkt->daddr));
	dst = bpf_map_lookup_elem(maps->local_endpoints, &addr);
	if (!dst)
		return 0;
	verdict = policy_can_access(maps->policy, maps->pod_cidr, dst, ep->identity,
				    pkt->saddr, WARDEN_DIR_INGRESS, pkt->protocol,
				    pkt->policy_dport, false);
	if (verdict.drop || !verdict.proxy_port)
		return 0;
	*cookie = verdict.cookie;
	return verdict.proxy_port;
}

/*
 * Conntrack and policy for an IPv4 packet of endpoint ep (address
 * ep_addr). Returns 0 to forward or a negated drop reason;
 * trace->rule_cookie is filled either way. *reject is set when policy
 * wants a drop answered (only a new flow's POLICY / POLICY_DENY drop:
 * never a revoked flow, never PROXY_REQUIRED).
 */
static __always_inline int flow_handle(struct __sk_buff *skb,
				       const struct flow_maps *maps,
				       const struct warden_endpoint_info *ep,
				       __be32 ep_addr, const struct warden_packet *pkt,
				       struct warden_trace *trace, bool *reject)
{
	struct warden_ct_key key, rev;
	struct warden_ct_value *entry;
	struct policy_verdict verdict;
	__u64 now = bpf_ktime_get_ns();
	/* The other side's address, whichever way this packet goes. */
	__be32 peer_addr =
	    trace->direction == WARDEN_DIR_EGRESS ? pkt->daddr : pkt->saddr;
	__u32 redirect_cookie = 0;
	__be16 proxy_port;
	int status, ret;

	/*
	 * An ICMP error about a packet of one of the endpoint's flows passes
	 * like the flow's own packets do, without policy (and without an
	 * event: the flow had its verdict). An unrelated one, or one whose
	 * quote we cannot read, goes on as any packet.
	 */
	if (pkt->quote_offset) {
		struct warden_packet quoted = {};

		if (parse_icmp_quote(skb, pkt->quote_offset, &quoted) == 0 &&
		    ct_icmp_error_related(maps->ct, pkt, &quoted, ep, ep_addr,
					  trace->direction, &key, &rev, now))
			return 0;
	}

	ct_key_init(&key, pkt, ep->endpoint_id, trace->direction);
	status = ct_lookup(maps->ct, &key, &rev, &entry, now);
	/*
	 * A bare SYN on a known tuple is a new connection reusing the ports of
	 * an old one (in TIME_WAIT, closing, or revoked): judge it as new
	 * instead of letting the old entry's state decide for it.
	 */
	if (status != CT_NEW && entry && pkt->protocol == IPPROTO_TCP &&
	    (pkt->tcp_flags & (WARDEN_TCP_SYN | WARDEN_TCP_ACK)) == WARDEN_TCP_SYN &&
	    (entry->flags &
	     (WARDEN_CT_CLOSING | WARDEN_CT_REVOKED | WARDEN_CT_SEEN_REPLY))) {
		bpf_map_delete_elem(maps->ct, status == CT_REPLY ? &rev : &key);
		status = CT_NEW;
		entry = NULL;
	}
	if (status != CT_NEW && entry) {
		const struct warden_ct_key *orig = status == CT_REPLY ? &rev : &key;

		trace->rule_cookie = entry->rule_cookie;
		/*
		 * The policy changed since this flow was last checked: judge
		 * its original direction again, so that revoking a rule cuts
		 * established connections instead of only new ones. The peer
		 * is the same address either way, so its identity is reused.
		 */
		if (entry->policy_revision != ep->policy_revision) {
			verdict = policy_can_access(
			    maps->policy, maps->pod_cidr, ep, trace->peer_identity,
			    peer_addr, orig->direction, orig->protocol,
			    ct_original_policy_port(orig, pkt, status), true);
			/* Audited counts as allowed: audit never cuts a flow. */
			ret = -(int)verdict.drop;
			/*
			 * A flow that now needs the L7 proxy but does not go
			 * through it cannot be moved there mid-connection: cut
			 * it (fail closed) unless the proxy itself sends it.
			 */
			if (!ret && verdict.proxy_port && !entry->proxy_port &&
			    !flow_from_proxy(skb))
				ret = -WARDEN_DROP_PROXY_REQUIRED;
			trace->rule_cookie = verdict.cookie;
			entry->policy_revision = ep->policy_revision;
			entry->remote_identity = trace->peer_identity;
			entry->rule_cookie = verdict.cookie;
			/*
			 * Keep a revoked entry instead of deleting it: without
			 * it the next packet of the other side would look like
			 * a new flow in the other direction (a server pushing
			 * data to a client, say) and could be allowed there.
			 * A later revision that allows the flow again revives it.
			 */
			if (ret < 0)
				entry->flags |= WARDEN_CT_REVOKED;
			else
				entry->flags &= ~WARDEN_CT_REVOKED;
		}
		if (entry->flags & WARDEN_CT_REVOKED) {
			trace->rule_cookie = entry->rule_cookie;
			entry->expires_ns = now + WARDEN_CT_TCP_ESTABLISHED_NS;
			return -WARDEN_DROP_POLICY_REVOKED;
		}
		/* Every packet the client sends on a redirected flow goes to
		 * the proxy's socket for it. */
		if (entry->proxy_port && status == CT_ESTABLISHED &&
		    trace->direction == WARDEN_DIR_EGRESS)
			flow_redirect_to_proxy(skb);
		ct_update(entry, pkt, status, skb->len, now);
		return 0;
	}

	/*
	 * A new flow, or a TCP segment of a flow we never saw (it predates
	 * the program or its entry was evicted): policy decides, as Cilium
	 * does, so existing connections survive an agent restart if allowed.
	 */
	verdict = policy_can_access(maps->policy, maps->pod_cidr, ep,
				    trace->peer_identity, peer_addr, trace->direction,
				    pkt->protocol, pkt->policy_dport, true);
	trace->rule_cookie = verdict.cookie;
	if (verdict.drop) {
		/*
		 * Default deny of a non-first fragment is reported as a fragment
		 * drop: it had no ports, so only an any-port allow could match.
		 */
		if (verdict.drop == WARDEN_DROP_POLICY && pkt->fragment)
			return -WARDEN_DROP_FRAGMENT;
		*reject = verdict.reject;
		return -(int)verdict.drop;
	}
	/*
	 * From here the flow goes on: allowed, or audited (verdict.audit, a
	 * drop that audit mode forwards; the proxy port is still the enforced
	 * one, 0 when endpoint audit mode overrode a drop).
	 */
	proxy_port = verdict.proxy_port;
	/*
	 * Non-first fragments are judged one by one and never start a flow:
	 * their tuple (ports 0) is not the flow's tuple.
	 */
	if (pkt->fragment)
		return proxy_port && !flow_from_proxy(skb) ? -WARDEN_DROP_PROXY_REQUIRED
							   : 0;

	if (trace->direction == WARDEN_DIR_EGRESS) {
		/* Also the destination's ingress L7 rules redirect here; the
		 * REDIRECTED event then names the policy of those rules. */
		if (!proxy_port)
			proxy_port = flow_local_destination_proxy_port(maps, ep, pkt,
								       &redirect_cookie);
		if (proxy_port)
			flow_redirect_to_proxy(skb);
	} else if (proxy_port) {
		/*
		 * Ingress that needs L7: only the proxy's own connections may
		 * use it. Anything else did not pass a hook that could
		 * redirect it (traffic from outside the node), so it is
		 * dropped rather than let through unfiltered.
		 */
		if (!flow_from_proxy(skb))
			return -WARDEN_DROP_PROXY_REQUIRED;
		proxy_port = 0;
	}

	/* An audited flow is tracked like an allowed one: its reply passes. */
	ct_create(maps->ct, &key, pkt, trace->peer_identity, verdict.cookie,
		  ep->policy_revision, proxy_port, skb->len, now);
	if (redirect_cookie)
		trace->rule_cookie = redirect_cookie;
	event_emit_len(maps->events, maps->metrics, skb, trace, pkt,
		       verdict.audit ? WARDEN_EVENT_AUDIT : WARDEN_EVENT_POLICY_VERDICT,
		       verdict.audit, skb->len,
		       proxy_port ? WARDEN_EVENT_F_REDIRECTED : 0);
	return 0;
}

#endif /* WARDEN_BPF_FLOW_H */
