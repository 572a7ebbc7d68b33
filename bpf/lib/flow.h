/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow decision for one IPv4 packet of a known endpoint, once it is
 * parsed and its peer's identity is known: conntrack first (an ICMP error
 * related to a flow, an established flow, the reply of one, a SYN that
 * reuses an old tuple), the re-check of a tracked flow when the endpoint's
 * policy revision moved (revocation cuts established connections), then
 * for a packet without an entry the revocation records (a revoked flow
 * stays cut after its entry is evicted) and a reply whose entry was lost,
 * the policy lookup for a new flow, the L7 proxy redirect, and the event
 * of a newly allowed or audited flow.
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
	void *revoked;	       /* warden_ct_revoked */
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

static __always_inline bool flow_bare_syn(const struct warden_packet *pkt)
{
	return pkt->protocol == IPPROTO_TCP &&
	       (pkt->tcp_flags & (WARDEN_TCP_SYN | WARDEN_TCP_ACK)) == WARDEN_TCP_SYN;
}

/* The other side's address, whichever way this packet goes. */
static __always_inline __be32 flow_peer_addr(const struct warden_packet *pkt,
					     const struct warden_trace *trace)
{
	return trace->direction == WARDEN_DIR_EGRESS ? pkt->daddr : pkt->saddr;
}

/*
 * The enforced proxy port that the local endpoint at `addr` (if there is
 * one) names for a TCP flow with `peer_identity` in `direction` to port
 * `port`; 0 when it names none or denies. Only the source's hook can
 * redirect (the destination's is at tc egress, too late to steer), so
 * the other end's L7 rules are looked up from here; its L3/L4 verdict
 * itself (audit included) stays with its own hook.
 */
static __always_inline __be16 flow_local_endpoint_proxy_port(
    const struct flow_maps *maps, __be32 addr, __u32 peer_identity, __be32 peer_addr,
    __u8 direction, __be16 port, __u32 *cookie)
{
	struct warden_endpoint_addr_key key = {.family = WARDEN_FAMILY_IPV4};
	struct warden_endpoint_info *other;
	struct policy_verdict verdict;

	__builtin_memcpy(key.addr, &addr, sizeof(addr));
	other = bpf_map_lookup_elem(maps->local_endpoints, &key);
	if (!other)
		return 0;
	verdict = policy_can_access(maps->policy, maps->pod_cidr, other, peer_identity,
				    peer_addr, direction, IPPROTO_TCP, port, false);
	if (verdict.drop || !verdict.proxy_port)
		return 0;
	if (cookie)
		*cookie = verdict.cookie;
	return verdict.proxy_port;
}

/*
 * The re-check of a tracked flow after a policy change (the endpoint's
 * revision moved since the entry was checked): its original direction is
 * judged again, so that revoking a rule cuts established connections
 * instead of only new ones. The peer is the same address either way, so
 * its identity is reused. Returns 0 (the entry takes the new revision) or
 * a negated reason (the entry is marked REVOKED).
 */
static __always_inline int
flow_recheck(struct __sk_buff *skb, const struct flow_maps *maps,
	     const struct warden_endpoint_info *ep, const struct warden_packet *pkt,
	     struct warden_trace *trace, struct warden_ct_value *entry,
	     const struct warden_ct_key *orig, int status, __u64 now)
{
	struct policy_verdict verdict;
	int ret;

	verdict =
	    policy_can_access(maps->policy, maps->pod_cidr, ep, trace->peer_identity,
			      flow_peer_addr(pkt, trace), orig->direction, orig->protocol,
			      ct_original_policy_port(orig, pkt, status), true);
	/* Audited counts as allowed: audit never cuts a flow. */
	ret = -(int)verdict.drop;
	/*
	 * A flow that now needs the L7 proxy but does not go through it
	 * cannot be moved there mid-connection: cut it (fail closed). Not
	 * the proxy's own connection (PROXIED), whose packets from the
	 * endpoint carry no mark but are replies to the proxy.
	 */
	if (!ret && verdict.proxy_port && !entry->proxy_port &&
	    !(entry->flags & WARDEN_CT_PROXIED) && !flow_from_proxy(skb))
		ret = -WARDEN_DROP_PROXY_REQUIRED;
	trace->rule_cookie = verdict.cookie;
	entry->policy_revision = ep->policy_revision;
	entry->remote_identity = trace->peer_identity;
	entry->rule_cookie = verdict.cookie;
	/*
	 * Keep a revoked entry instead of deleting it: without it the next
	 * packet of the other side would look like a new flow in the other
	 * direction (a server pushing data to a client, say) and could be
	 * allowed there. The LRU may still evict it, so the revocation is
	 * also recorded where other flows cannot evict it (warden_ct_revoked).
	 * A later revision that allows the flow again revives it.
	 */
	if (ret < 0) {
		entry->flags |= WARDEN_CT_REVOKED;
		ct_revoked_record(maps->revoked, orig, entry, now);
	} else if (entry->flags & WARDEN_CT_REVOKED) {
		entry->flags &= ~WARDEN_CT_REVOKED;
		bpf_map_delete_elem(maps->revoked, orig);
	}
	return ret;
}

/*
 * A packet of a tracked flow (status CT_ESTABLISHED or CT_REPLY, *orig the
 * entry's key): re-checked if the policy changed, dropped if revoked,
 * else forwarded, to the proxy when the flow goes there.
 */
static __always_inline int
flow_tracked(struct __sk_buff *skb, const struct flow_maps *maps,
	     const struct warden_endpoint_info *ep, const struct warden_packet *pkt,
	     struct warden_trace *trace, struct warden_ct_value *entry,
	     const struct warden_ct_key *orig, int status, __u64 now)
{
	trace->rule_cookie = entry->rule_cookie;
	if (entry->policy_revision != ep->policy_revision)
		flow_recheck(skb, maps, ep, pkt, trace, entry, orig, status, now);
	if (entry->flags & WARDEN_CT_REVOKED) {
		trace->rule_cookie = entry->rule_cookie;
		entry->expires_ns = now + WARDEN_CT_TCP_ESTABLISHED_NS;
		ct_revoked_record(maps->revoked, orig, entry, now);
		return -WARDEN_DROP_POLICY_REVOKED;
	}
	/*
	 * The endpoint's packets of a flow that goes through the proxy: the
	 * client's of a redirected flow go to the proxy's socket for it, the
	 * server's replies on the proxy's own connection go to its upstream
	 * socket. Both are told to netfilter by the mark, so no other packet
	 * needs a socket lookup there (lib/host/redirect.c).
	 */
	if (trace->direction == WARDEN_DIR_EGRESS &&
	    ((status == CT_ESTABLISHED && entry->proxy_port) ||
	     (status == CT_REPLY && (entry->flags & WARDEN_CT_PROXIED))))
		flow_redirect_to_proxy(skb);
	ct_update(entry, pkt, status, skb->len, now);
	return 0;
}

/*
 * A packet without a conntrack entry whose flow was revoked and whose
 * entry is gone (evicted by other traffic, or deleted by a SYN that
 * reused the tuple): still dropped, unless the policy allows the flow's
 * original direction again (then the record goes and the packet is
 * judged as any other). A bare SYN is a new connection, judged as new:
 * *syn_over_record tells the caller to drop the record if the SYN starts
 * an allowed flow. Returns 0 or -WARDEN_DROP_POLICY_REVOKED.
 */
static __always_inline int
flow_revoked_check(struct __sk_buff *skb, const struct flow_maps *maps,
		   const struct warden_endpoint_info *ep, const struct warden_packet *pkt,
		   struct warden_trace *trace, const struct warden_ct_key *key,
		   const struct warden_ct_key *rev, bool *syn_over_record, __u64 now)
{
	const struct warden_ct_key *orig;
	struct warden_ct_revoked *record;
	struct policy_verdict verdict;
	int status;

	record = ct_revoked_lookup(maps->revoked, key, rev, &orig, &status, now);
	if (!record)
		return 0;
	if (flow_bare_syn(pkt)) {
		*syn_over_record = true;
		return 0;
	}
	if (record->policy_revision != ep->policy_revision) {
		verdict = policy_can_access(
		    maps->policy, maps->pod_cidr, ep, trace->peer_identity,
		    flow_peer_addr(pkt, trace), orig->direction, orig->protocol,
		    ct_original_policy_port(orig, pkt, status), true);
		if (!verdict.drop &&
		    (!verdict.proxy_port || record->proxy_port ||
		     (record->flags & WARDEN_CT_PROXIED) || flow_from_proxy(skb))) {
			bpf_map_delete_elem(maps->revoked, orig);
			return 0;
		}
		record->policy_revision = ep->policy_revision;
		record->rule_cookie = verdict.cookie;
	}
	record->expires_ns = now + WARDEN_CT_TCP_ESTABLISHED_NS;
	trace->rule_cookie = record->rule_cookie;
	return -WARDEN_DROP_POLICY_REVOKED;
}

/*
 * A packet without a conntrack entry may be a reply: its flow's entry was
 * evicted (one LRU map for the whole node), or the flow predates the
 * program. Judged only in its own direction, the replies of a server
 * whose egress is default deny would be dropped, and a client's TCP
 * connection would lose what comes back. So, unless it is a bare SYN or a
 * fragment, the reverse direction is judged too, and the packet is taken
 * as a reply, its flow's entry recreated the other way round (*rev, with
 * SEEN_REPLY), when:
 *
 *  - TCP (a mid-stream segment is a reply or a later packet of a flow,
 *    never a new one): the reverse is allowed, and the own direction is
 *    denied, or allowed only by default (no policy in that direction)
 *    while an entry allows the reverse, or the reverse flow goes through
 *    the L7 proxy (its replies must reach the proxy's sockets). An
 *    orientation that policy allows both ways by rules stays as it is.
 *  - ICMP echo replies: only what the endpoint sends (egress), when the
 *    own direction is denied and the echo request allowed. An echo reply
 *    starts nothing.
 *  - Never UDP or SCTP: a datagram has no handshake to tell a reply from
 *    a new flow. Taken as a reply of what the ingress allows, a datagram
 *    the egress denies would go out whenever the peer may reach the
 *    endpoint on its source port (an ingress "allow from X" would open
 *    every UDP port of X to the endpoint: fail open). So an evicted
 *    datagram flow's answers are judged by policy (dropped where the
 *    egress denies them) until the peer's next datagram, which the
 *    ingress allows, recreates the entry: a request/response protocol
 *    loses one answer, never its policy.
 *
 * The reverse flow goes through the proxy when the endpoint's policy, or
 * that of the local endpoint at the other end, names it: then, at egress,
 * the entry is PROXIED and the packet goes to the proxy; at ingress, the
 * recreated egress entry redirects the endpoint's later packets, and the
 * packet itself must come from the proxy (else it is no such reply).
 * A revocation record was checked before. Returns true when the packet
 * was taken as a reply (forward it), false to judge it as a new flow.
 */
static __always_inline bool
flow_accept_reply(struct __sk_buff *skb, const struct flow_maps *maps,
		  const struct warden_endpoint_info *ep, const struct warden_packet *pkt,
		  struct warden_trace *trace, const struct policy_verdict *own,
		  const struct warden_ct_key *rev, __u64 now)
{
	__u8 back = trace->direction == WARDEN_DIR_INGRESS ? WARDEN_DIR_EGRESS
							   : WARDEN_DIR_INGRESS;
	struct policy_verdict verdict;
	__be16 back_port = pkt->sport, proxy_port = 0;
	__u16 flags = WARDEN_CT_SEEN_REPLY;
	bool tcp = pkt->protocol == IPPROTO_TCP;

	switch (pkt->protocol) {
	case IPPROTO_TCP:
		break;
	case IPPROTO_ICMP:
		if (pkt->policy_dport != icmp_policy_port(WARDEN_ICMP_ECHOREPLY))
			return false;
		back_port = icmp_policy_port(WARDEN_ICMP_ECHO);
		if (trace->direction != WARDEN_DIR_EGRESS || !own->drop)
			return false;
		break;
	default:
		return false;
	}
	verdict = policy_can_access(maps->policy, maps->pod_cidr, ep,
				    trace->peer_identity, flow_peer_addr(pkt, trace),
				    back, pkt->protocol, back_port, true);
	if (verdict.drop)
		return false;
	if (tcp) {
		if (trace->direction == WARDEN_DIR_EGRESS) {
			if (verdict.proxy_port ||
			    flow_local_endpoint_proxy_port(maps, pkt->daddr, ep->identity,
							   pkt->saddr, WARDEN_DIR_EGRESS,
							   pkt->sport, NULL))
				flags |= WARDEN_CT_PROXIED;
		} else {
			proxy_port = verdict.proxy_port;
			if (!proxy_port)
				proxy_port = flow_local_endpoint_proxy_port(
				    maps, pkt->saddr, ep->identity, pkt->daddr,
				    WARDEN_DIR_INGRESS, pkt->sport, NULL);
			if (proxy_port && !flow_from_proxy(skb))
				return false;
		}
		if (!own->drop && !proxy_port && !(flags & WARDEN_CT_PROXIED) &&
		    (own->by_rule || !verdict.by_rule))
			return false;
	}
	trace->rule_cookie = verdict.cookie;
	ct_create(maps->ct, rev, pkt, trace->peer_identity, verdict.cookie,
		  ep->policy_revision, proxy_port, flags, skb->len, now);
	if (flags & WARDEN_CT_PROXIED)
		flow_redirect_to_proxy(skb);
	return true;
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
	bool syn_over_record = false;
	__u32 redirect_cookie = 0;
	__be16 proxy_port;
	__u16 ct_flags = 0;
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
	 * instead of letting the old entry's state decide for it. (A revoked
	 * flow's record stays: only an allowed new flow replaces it.)
	 */
	if (status != CT_NEW && entry && flow_bare_syn(pkt) &&
	    (entry->flags &
	     (WARDEN_CT_CLOSING | WARDEN_CT_REVOKED | WARDEN_CT_SEEN_REPLY))) {
		bpf_map_delete_elem(maps->ct, status == CT_REPLY ? &rev : &key);
		status = CT_NEW;
		entry = NULL;
	}
	if (status != CT_NEW && entry)
		return flow_tracked(skb, maps, ep, pkt, trace, entry,
				    status == CT_REPLY ? &rev : &key, status, now);

	/*
	 * A new flow, or a packet of a flow we never saw or no longer track
	 * (it predates the program, or its entry was evicted): a revoked
	 * flow stays cut, a reply is taken as one, anything else is judged
	 * by policy, as Cilium does, so existing connections survive an
	 * agent restart if allowed. Fragments carry no tuple of their flow.
	 */
	if (!pkt->fragment) {
		ret = flow_revoked_check(skb, maps, ep, pkt, trace, &key, &rev,
					 &syn_over_record, now);
		if (ret < 0)
			return ret;
	}
	verdict =
	    policy_can_access(maps->policy, maps->pod_cidr, ep, trace->peer_identity,
			      flow_peer_addr(pkt, trace), trace->direction, pkt->protocol,
			      pkt->policy_dport, true);
	trace->rule_cookie = verdict.cookie;
	if (!pkt->fragment && !flow_bare_syn(pkt) &&
	    flow_accept_reply(skb, maps, ep, pkt, trace, &verdict, &rev, now))
		return 0;
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
		if (!proxy_port && pkt->protocol == IPPROTO_TCP)
			proxy_port = flow_local_endpoint_proxy_port(
			    maps, pkt->daddr, ep->identity, pkt->saddr,
			    WARDEN_DIR_INGRESS, pkt->policy_dport, &redirect_cookie);
		if (proxy_port)
			flow_redirect_to_proxy(skb);
	} else if (flow_from_proxy(skb)) {
		/*
		 * The proxy's own connection (its upstream leg): it enforced
		 * any L7 rules, and the endpoint's replies must go back to
		 * its socket.
		 */
		ct_flags = WARDEN_CT_PROXIED;
		proxy_port = 0;
	} else if (proxy_port) {
		/*
		 * Ingress that needs L7, not from the proxy: it did not pass
		 * a hook that could redirect it (traffic from outside the
		 * node), so it is dropped rather than let through unfiltered.
		 */
		return -WARDEN_DROP_PROXY_REQUIRED;
	}

	/* An audited flow is tracked like an allowed one: its reply passes. */
	ct_create(maps->ct, &key, pkt, trace->peer_identity, verdict.cookie,
		  ep->policy_revision, proxy_port, ct_flags, skb->len, now);
	/* A new connection on a revoked flow's tuple replaces its record. */
	if (syn_over_record) {
		bpf_map_delete_elem(maps->revoked, &key);
		bpf_map_delete_elem(maps->revoked, &rev);
	}
	if (redirect_cookie)
		trace->rule_cookie = redirect_cookie;
	event_emit_len(maps->events, maps->metrics, skb, trace, pkt,
		       verdict.audit ? WARDEN_EVENT_AUDIT : WARDEN_EVENT_POLICY_VERDICT,
		       verdict.audit, skb->len,
		       proxy_port ? WARDEN_EVENT_F_REDIRECTED : 0);
	return 0;
}

#endif /* WARDEN_BPF_FLOW_H */
