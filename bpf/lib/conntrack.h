/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking: one LRU hash whose entries are owned by the
 * endpoint and direction that accepted the flow. The key is the tuple of
 * the flow's first packet as seen at that endpoint, plus endpoint_id and
 * direction, so two local endpoints talking to each other get one entry
 * each (one at the sender's egress, one at the receiver's ingress).
 *
 * At endpoint E, a packet in direction D is
 *   - ESTABLISHED if (tuple, E, D) exists: a later packet of a flow E
 *     accepted in direction D;
 *   - REPLY if (reversed tuple, E, !D) exists: the answer to a flow E
 *     accepted the other way, which policy does not judge again;
 *   - NEW otherwise.
 * Expired entries count as absent; the LRU reclaims them eventually, and
 * creating the same flow again overwrites them.
 *
 * An ICMP error about a packet of such a flow is RELATED to it (see
 * ct_icmp_error_related()): it passes without policy, but it neither
 * creates nor refreshes an entry.
 */
#ifndef WARDEN_BPF_CONNTRACK_H
#define WARDEN_BPF_CONNTRACK_H

#include "lib/common.h"

enum ct_status {
	CT_NEW = 0,
	CT_ESTABLISHED = 1,
	CT_REPLY = 2,
};

/* The key of pkt as seen at endpoint_id in direction. */
static __always_inline void ct_key_init(struct warden_ct_key *key,
					const struct warden_packet *pkt,
					__u32 endpoint_id, __u8 direction)
{
	__builtin_memset(key, 0, sizeof(*key));
	__builtin_memcpy(key->saddr, &pkt->saddr, sizeof(pkt->saddr));
	__builtin_memcpy(key->daddr, &pkt->daddr, sizeof(pkt->daddr));
	key->sport = pkt->sport;
	key->dport = pkt->dport;
	key->protocol = pkt->protocol;
	key->direction = direction;
	key->family = pkt->family;
	key->endpoint_id = endpoint_id;
}

/* The key of the flow this packet would be the reply of. */
static __always_inline void ct_key_reverse(struct warden_ct_key *rev,
					   const struct warden_ct_key *key)
{
	*rev = *key;
	__builtin_memcpy(rev->saddr, key->daddr, sizeof(rev->saddr));
	__builtin_memcpy(rev->daddr, key->saddr, sizeof(rev->daddr));
	rev->sport = key->dport;
	rev->dport = key->sport;
	rev->direction =
	    key->direction == WARDEN_DIR_INGRESS ? WARDEN_DIR_EGRESS : WARDEN_DIR_INGRESS;
}

/*
 * How long an entry lives after this packet. TCP: a SYN nobody answered
 * yet gets the short SYN timeout (so SYN floods age out), FIN/RST the
 * closing one, anything else the established one; a flow picked up in the
 * middle (no SYN, e.g. it predates the program) counts as established.
 */
static __always_inline __u64 ct_lifetime(__u8 protocol, __u8 tcp_flags, __u16 ct_flags)
{
	if (protocol != IPPROTO_TCP)
		return WARDEN_CT_NONTCP_NS;
	if (ct_flags & WARDEN_CT_CLOSING)
		return WARDEN_CT_TCP_CLOSING_NS;
	if (ct_flags & WARDEN_CT_SEEN_REPLY)
		return WARDEN_CT_TCP_ESTABLISHED_NS;
	if ((tcp_flags & (WARDEN_TCP_SYN | WARDEN_TCP_ACK)) == WARDEN_TCP_SYN)
		return WARDEN_CT_TCP_SYN_NS;
	return WARDEN_CT_TCP_ESTABLISHED_NS;
}

static __always_inline __u16 ct_flags_of_packet(const struct warden_packet *pkt)
{
	if (pkt->protocol == IPPROTO_TCP &&
	    (pkt->tcp_flags & (WARDEN_TCP_FIN | WARDEN_TCP_RST)))
		return WARDEN_CT_CLOSING;
	return 0;
}

/*
 * Classify the packet whose forward key is *key. *rev always receives the
 * reversed key; on a hit *entry points at the map value, whose key is
 * *key for CT_ESTABLISHED and *rev for CT_REPLY.
 */
static __always_inline int ct_lookup(void *ct, const struct warden_ct_key *key,
				     struct warden_ct_key *rev,
				     struct warden_ct_value **entry, __u64 now)
{
	struct warden_ct_value *value;

	ct_key_reverse(rev, key);

	value = bpf_map_lookup_elem(ct, key);
	if (value && value->expires_ns > now) {
		*entry = value;
		return CT_ESTABLISHED;
	}
	value = bpf_map_lookup_elem(ct, rev);
	if (value && value->expires_ns > now) {
		*entry = value;
		return CT_REPLY;
	}
	*entry = NULL;
	return CT_NEW;
}

/* Account a packet of an existing flow and move its state and deadline. */
static __always_inline void ct_update(struct warden_ct_value *entry,
				      const struct warden_packet *pkt, int status,
				      __u32 bytes, __u64 now)
{
	__u16 flags = entry->flags;

	if (status == CT_REPLY)
		flags |= WARDEN_CT_SEEN_REPLY;
	flags |= ct_flags_of_packet(pkt);
	/*
	 * A SYN in the original direction on a closing entry is the tuple
	 * being reused by a new connection: start it over.
	 */
	if (status == CT_ESTABLISHED && (flags & WARDEN_CT_CLOSING) &&
	    (pkt->tcp_flags & (WARDEN_TCP_SYN | WARDEN_TCP_ACK)) == WARDEN_TCP_SYN)
		flags &= ~(WARDEN_CT_CLOSING | WARDEN_CT_SEEN_REPLY);
	/* Avoid dirtying the shared cache line when nothing changed. */
	if (flags != entry->flags)
		entry->flags = flags;
	entry->expires_ns = now + ct_lifetime(pkt->protocol, pkt->tcp_flags, flags);
	__sync_fetch_and_add(&entry->packets, 1);
	__sync_fetch_and_add(&entry->bytes, bytes);
}

/*
 * Record a flow that policy accepted, with `flags` (enum warden_ct_flags:
 * SEEN_REPLY for an entry recreated from a reply, PROXIED) besides what
 * the packet says. Failure to insert is ignored: the packet was allowed
 * and its successors will be judged again.
 */
static __always_inline void ct_create(void *ct, const struct warden_ct_key *key,
				      const struct warden_packet *pkt,
				      __u32 remote_identity, __u32 rule_cookie,
				      __u32 policy_revision, __be16 proxy_port,
				      __u16 flags, __u32 bytes, __u64 now)
{
	struct warden_ct_value value = {
	    .proxy_port = proxy_port,
	    .packets = 1,
	    .bytes = bytes,
	    .policy_revision = policy_revision,
	    .remote_identity = remote_identity,
	    .rule_cookie = rule_cookie,
	    .flags = flags | ct_flags_of_packet(pkt),
	};

	value.expires_ns = now + ct_lifetime(pkt->protocol, pkt->tcp_flags, value.flags);
	bpf_map_update_elem(ct, key, &value, BPF_ANY);
}

/*
 * Remember that the flow whose original-direction key is *orig was revoked
 * (struct warden_ct_revoked), or refresh the record: written when a
 * re-check revokes the flow and whenever a packet of it is dropped, so it
 * outlives the flow's conntrack entry for as long as the flow goes on.
 */
static __always_inline void ct_revoked_record(void *revoked,
					      const struct warden_ct_key *orig,
					      const struct warden_ct_value *entry,
					      __u64 now)
{
	struct warden_ct_revoked record = {
	    .expires_ns = now + WARDEN_CT_TCP_ESTABLISHED_NS,
	    .policy_revision = entry->policy_revision,
	    .rule_cookie = entry->rule_cookie,
	    .flags = entry->flags,
	    .proxy_port = entry->proxy_port,
	};

	bpf_map_update_elem(revoked, orig, &record, BPF_ANY);
}

/*
 * The revocation record of the flow a packet without a conntrack entry
 * belongs to: its own key (the packet goes the flow's original way,
 * *status CT_ESTABLISHED) or the reversed one (CT_REPLY); *orig is then
 * the record's key. NULL when there is none, or it expired.
 */
static __always_inline struct warden_ct_revoked *
ct_revoked_lookup(void *revoked, const struct warden_ct_key *key,
		  const struct warden_ct_key *rev, const struct warden_ct_key **orig,
		  int *status, __u64 now)
{
	struct warden_ct_revoked *record;

	record = bpf_map_lookup_elem(revoked, key);
	*orig = key;
	*status = CT_ESTABLISHED;
	if (!record) {
		record = bpf_map_lookup_elem(revoked, rev);
		*orig = rev;
		*status = CT_REPLY;
	}
	if (record && record->expires_ns <= now)
		return NULL;
	return record;
}

/*
 * Does an ICMP error fit the packet it quotes? The quoted packet Q
 * travelled the other way than the error, between endpoint E (address
 * ep_addr) and its peer P:
 *
 *  - ingress, the error comes to E: E sent Q, so Q.saddr = E, and an
 *    error goes back to the sender of what it quotes: outer daddr =
 *    Q.saddr. Q.daddr is P; the error's source is P when P made it (port
 *    unreachable, bpf/lib/reject.h's answers) but any router on the path
 *    when a router did (fragmentation needed, time exceeded), so the
 *    outer source is not checked against anything, as in netfilter.
 *    Forging one takes the flow's whole tuple, and it can only tell E
 *    about E's own flow.
 *  - egress, E sends the error: E received Q, so Q.daddr = E, and the
 *    outer source is E (the source check already held). It must go to
 *    Q's sender: outer daddr = Q.saddr = P. Else a pod could quote one of
 *    its flows to get an error to anyone else past policy. (A pod that
 *    forwards others' traffic and reports errors about it is judged by
 *    policy, as before.)
 *
 * So in both: the error goes to Q's sender, and Q's address on E's side
 * is E's own.
 */
static __always_inline bool ct_icmp_error_fits(const struct warden_packet *pkt,
					       const struct warden_packet *quoted,
					       __be32 ep_addr, __u8 direction)
{
	if (pkt->daddr != quoted->saddr)
		return false;
	if (direction == WARDEN_DIR_INGRESS)
		return quoted->saddr == ep_addr;
	return quoted->daddr == ep_addr;
}

/*
 * Is the ICMP error pkt, which quotes *quoted (parse_icmp_quote()),
 * RELATED to a flow of endpoint ep, seen in `direction`? Then it is
 * forwarded without policy, as netfilter and Cilium do: path MTU
 * discovery (fragmentation needed), port unreachable for UDP clients,
 * time exceeded for traceroute, and the ICMP answers of bpf/lib/reject.h
 * to a local sender whose own ingress would deny them.
 *
 * The quoted packet belongs to the flow at E in the other direction, so
 * it is looked up as any packet of that direction would be: its own key
 * (Q was of the flow's original direction) or the reversed one (Q was a
 * reply). Related only if the addresses fit (ct_icmp_error_fits()) and
 * the entry is live, not revoked, and checked against the endpoint's
 * current policy revision. A stale revision is rare (Q itself just
 * passed E's other hook, which re-checks the entry) and only a policy
 * change in between causes it; then the error is judged by policy by its
 * type, as an unrelated one is, rather than re-judging the flow here. The
 * entry is only read: neither its deadline nor its counters move.
 *
 * *key and *rev are scratch space (the caller's, to spare stack).
 */
static __always_inline bool ct_icmp_error_related(
    void *ct, const struct warden_packet *pkt, const struct warden_packet *quoted,
    const struct warden_endpoint_info *ep, __be32 ep_addr, __u8 direction,
    struct warden_ct_key *key, struct warden_ct_key *rev, __u64 now)
{
	struct warden_ct_value *entry;

	if (!ct_icmp_error_fits(pkt, quoted, ep_addr, direction))
		return false;
	ct_key_init(key, quoted, ep->endpoint_id,
		    direction == WARDEN_DIR_INGRESS ? WARDEN_DIR_EGRESS
						    : WARDEN_DIR_INGRESS);
	ct_lookup(ct, key, rev, &entry, now);
	return entry && !(entry->flags & WARDEN_CT_REVOKED) &&
	       entry->policy_revision == ep->policy_revision;
}

/*
 * The policy-map port of the flow's original direction, for re-checking an
 * entry after a policy change. For ports that is the original tuple's
 * dport. ICMP keys carry the echo id instead, so derive the type: the
 * packet's own on the original side, the echo counterpart on the reply
 * side (a reply's original was a request, and vice versa).
 */
static __always_inline __be16 ct_original_policy_port(const struct warden_ct_key *orig,
						      const struct warden_packet *pkt,
						      int status)
{
	if (orig->protocol != IPPROTO_ICMP)
		return orig->dport;
	if (status == CT_REPLY) {
		if (pkt->policy_dport == icmp_policy_port(WARDEN_ICMP_ECHOREPLY))
			return icmp_policy_port(WARDEN_ICMP_ECHO);
		if (pkt->policy_dport == icmp_policy_port(WARDEN_ICMP_ECHO))
			return icmp_policy_port(WARDEN_ICMP_ECHOREPLY);
	}
	return pkt->policy_dport;
}

#endif /* WARDEN_BPF_CONNTRACK_H */
