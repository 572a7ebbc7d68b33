/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: Ethernet, IPv4 and the L4 ports, through a cursor that
 * every helper bounds-checks against data_end before it reads and then
 * advances. Nothing here looks at maps or decides a verdict; the result is
 * a struct warden_packet, or a drop reason for what cannot be parsed.
 */
#ifndef WARDEN_BPF_PARSE_H
#define WARDEN_BPF_PARSE_H

#include "lib/common.h"

/*
 * Bytes we may need in the linear part of the skb: Ethernet, IPv4 with the
 * largest options, and the larger of the L4 headers we read (TCP, 20).
 */
#define WARDEN_MAX_HEADER_BYTES (ETH_HLEN + 60 + 20)

/* warden_parse_packet() result for frames that pass without policy. */
#define WARDEN_PARSE_PASS 1

struct warden_cursor {
	void *pos;
	void *end;
};

/* SCTP common header; only the ports matter to us. */
struct warden_sctphdr {
	__be16 source;
	__be16 dest;
	__be32 vtag;
	__le32 checksum;
};

/*
 * Make sure the headers are in the linear part of the skb. Veth packets
 * nearly always are, but GRO'd or locally built skbs may keep the L4
 * header in a fragment, and direct packet access only sees linear data.
 * Pulling invalidates packet pointers, so this runs before any are taken.
 */
static __always_inline void parse_pull_headers(struct __sk_buff *skb)
{
	__u32 want = WARDEN_MAX_HEADER_BYTES;

	if (want > skb->len)
		want = skb->len;
	if ((void *)(long)skb->data + want > (void *)(long)skb->data_end)
		bpf_skb_pull_data(skb, want);
}

/* Returns the EtherType (network order), or -1 if the frame is too short. */
static __always_inline int parse_ethhdr(struct warden_cursor *c)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	return eth->h_proto;
}

/*
 * IPv4 header, options included (ihl). Fills addresses, protocol and the
 * fragment bit and leaves the cursor on the L4 header.
 *
 * tot_len is deliberately not checked against the packet length: BIG TCP
 * and some GSO paths carry tot_len 0, and we never read the payload.
 */
static __always_inline int parse_ipv4(struct warden_cursor *c, struct warden_packet *pkt)
{
	struct iphdr *ip = c->pos;
	__u32 header_len;

	if ((void *)(ip + 1) > c->end)
		return -WARDEN_DROP_INVALID_PACKET;
	if (ip->version != 4 || ip->ihl < 5)
		return -WARDEN_DROP_INVALID_PACKET;
	header_len = ip->ihl * 4;
	if (c->pos + header_len > c->end)
		return -WARDEN_DROP_INVALID_PACKET;

	pkt->family = WARDEN_FAMILY_IPV4;
	pkt->saddr = ip->saddr;
	pkt->daddr = ip->daddr;
	pkt->protocol = ip->protocol;
	pkt->fragment = (ip->frag_off & bpf_htons(WARDEN_IP_OFFSET_MASK)) != 0;
	c->pos += header_len;
	return 0;
}

/*
 * L4 ports (and TCP flags, ICMP type). A first fragment or unfragmented
 * packet must carry the whole L4 header we read; a non-first fragment has
 * none, so it keeps ports 0 (see docs/datapath.md for what policy does
 * with it). Protocols without ports keep ports 0 too.
 */
static __always_inline int parse_l4(struct warden_cursor *c, struct warden_packet *pkt)
{
	if (pkt->fragment)
		return 0;

	switch (pkt->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = c->pos;

		if ((void *)(tcp + 1) > c->end)
			return -WARDEN_DROP_INVALID_PACKET;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = c->pos;

		if ((void *)(udp + 1) > c->end)
			return -WARDEN_DROP_INVALID_PACKET;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
		break;
	}
	case IPPROTO_SCTP: {
		struct warden_sctphdr *sctp = c->pos;

		if ((void *)(sctp + 1) > c->end)
			return -WARDEN_DROP_INVALID_PACKET;
		pkt->sport = sctp->source;
		pkt->dport = sctp->dest;
		break;
	}
	case IPPROTO_ICMP: {
		struct warden_icmphdr *icmp = c->pos;

		if ((void *)(icmp + 1) > c->end)
			return -WARDEN_DROP_INVALID_PACKET;
		/*
		 * Echo request and reply share the id: put it in both ports
		 * so the reply's reversed tuple is the request's tuple.
		 * Other messages have no flow identity: ports 0.
		 */
		if (icmp->type == WARDEN_ICMP_ECHO ||
		    icmp->type == WARDEN_ICMP_ECHOREPLY) {
			pkt->sport = icmp->echo_id;
			pkt->dport = icmp->echo_id;
		}
		pkt->policy_dport = icmp_policy_port(icmp->type);
		return 0;
	}
	default:
		break;
	}
	pkt->policy_dport = pkt->dport;
	return 0;
}

/*
 * Parse the frame at skb->data into *pkt. Returns 0 for an IPv4 packet,
 * WARDEN_PARSE_PASS for ARP (needed for the pod to resolve its gateway;
 * not subject to policy), or a negated drop reason.
 */
static __always_inline int parse_packet(struct __sk_buff *skb, struct warden_packet *pkt)
{
	struct warden_cursor c;
	int proto, ret;

	parse_pull_headers(skb);
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;

	proto = parse_ethhdr(&c);
	if (proto < 0)
		return -WARDEN_DROP_INVALID_PACKET;
	if (proto == bpf_htons(ETH_P_ARP))
		return WARDEN_PARSE_PASS;
	/* IPv4 only for now; IPv6, VLAN tags and anything else fail closed. */
	if (proto != bpf_htons(ETH_P_IP))
		return -WARDEN_DROP_UNSUPPORTED_L3;

	ret = parse_ipv4(&c, pkt);
	if (ret < 0)
		return ret;
	return parse_l4(&c, pkt);
}

#endif /* WARDEN_BPF_PARSE_H */
