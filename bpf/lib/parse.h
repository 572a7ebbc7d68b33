/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: Ethernet, IPv4 and the L4 ports, through a cursor that
 * every helper bounds-checks against data_end before it reads and then
 * advances; for an ICMP error also the packet it quotes. Nothing here
 * looks at maps or decides a verdict; the result is a struct
 * warden_packet, or a drop reason for what cannot be parsed.
 */
#ifndef WARDEN_BPF_PARSE_H
#define WARDEN_BPF_PARSE_H

#include "lib/common.h"

/*
 * Bytes we may need in the linear part of the skb: Ethernet, IPv4 with the
 * largest options, and the larger of the L4 headers we read (TCP, 20).
 */
#define WARDEN_MAX_HEADER_BYTES (ETH_HLEN + 60 + 20)
/*
 * An ICMP error's, up to the end of its quote: Ethernet, IPv4 with the
 * largest options, the ICMP header, then the quoted IPv4 header with the
 * largest options and the 8 bytes of its L4 header that RFC 792 quotes.
 * Only pulled for ICMP errors, so big TCP packets whose payload sits in
 * fragments are not made to copy more of it into the linear part.
 */
#define WARDEN_QUOTE_L4_BYTES 8
#define WARDEN_MAX_ICMP_ERROR_BYTES                                                      \
	(ETH_HLEN + 60 + sizeof(struct warden_icmphdr) + 60 + WARDEN_QUOTE_L4_BYTES)

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
static __always_inline void parse_pull_headers(struct __sk_buff *skb, __u32 want)
{
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
 * fragment bit and leaves the cursor on the L4 header. Returns the header
 * length (20 to 60) or a negated drop reason.
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
	return header_len;
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
 * The packet an ICMP error quotes, at quote_offset of the frame
 * (pkt->quote_offset from parse_packet()): its IPv4 header (options
 * included) and the first 8 bytes after it, turned into a conntrack tuple
 * in *quoted (ports as parse_l4() gives them: TCP, UDP and SCTP ports, the
 * echo id for an echo request or reply, else 0). Returns 0, or -1 for a
 * quote we cannot use, which is no error: the ICMP error is then judged
 * by policy like any other. Unusable are a quote cut short (tot_len is
 * not trusted, as above: the frame decides), a quoted non-first fragment
 * (no L4 header to tell the flow) and a quoted ICMP error (never sent
 * about an error, RFC 1122 3.2.2).
 *
 * Run apart from parse_packet(), when conntrack asks, so that the quoted
 * tuple only lives where it is used. It pulls more headers into the
 * linear part first, which invalidates every packet pointer the caller
 * holds.
 */
static __always_inline int parse_icmp_quote(struct __sk_buff *skb, __u32 quote_offset,
					    struct warden_packet *quoted)
{
	struct warden_cursor c;
	__u8 *l4;

	parse_pull_headers(skb, WARDEN_MAX_ICMP_ERROR_BYTES);
	/* Bounded again here, for the verifier's sake. */
	if (quote_offset > ETH_HLEN + 60 + sizeof(struct warden_icmphdr))
		return -1;
	c.pos = (void *)(long)skb->data + quote_offset;
	c.end = (void *)(long)skb->data_end;

	if (parse_ipv4(&c, quoted) < 0 || quoted->fragment)
		return -1;
	l4 = c.pos;
	switch (quoted->protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		/* All three start with the source and destination ports. */
		if ((void *)(l4 + WARDEN_QUOTE_L4_BYTES) > c.end)
			return -1;
		quoted->sport = *(__be16 *)l4;
		quoted->dport = *(__be16 *)(l4 + 2);
		break;
	case IPPROTO_ICMP: {
		struct warden_icmphdr *icmp = c.pos;

		if ((void *)(icmp + 1) > c.end || icmp_is_error(icmp->type))
			return -1;
		if (icmp->type == WARDEN_ICMP_ECHO ||
		    icmp->type == WARDEN_ICMP_ECHOREPLY) {
			quoted->sport = icmp->echo_id;
			quoted->dport = icmp->echo_id;
		}
		break;
	}
	default:
		/* No ports, as in parse_l4(); nothing more to read. */
		break;
	}
	return 0;
}

/*
 * Parse the frame at skb->data into *pkt. Returns 0 for an IPv4 packet,
 * WARDEN_PARSE_PASS for ARP (needed for the pod to resolve its gateway;
 * not subject to policy), or a negated drop reason.
 *
 * An ICMP error that may be related to a flow (first fragment or
 * unfragmented) gets pkt->quote_offset, for parse_icmp_quote().
 */
static __always_inline int parse_packet(struct __sk_buff *skb, struct warden_packet *pkt)
{
	struct warden_cursor c;
	int proto, ret, header_len;

	parse_pull_headers(skb, WARDEN_MAX_HEADER_BYTES);
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

	header_len = parse_ipv4(&c, pkt);
	if (header_len < 0)
		return header_len;
	ret = parse_l4(&c, pkt);
	if (ret < 0)
		return ret;
	if (pkt->protocol == IPPROTO_ICMP && !pkt->fragment &&
	    icmp_error_may_be_related(bpf_ntohs(pkt->policy_dport) >> 8))
		pkt->quote_offset = ETH_HLEN + header_len + sizeof(struct warden_icmphdr);
	return 0;
}

#endif /* WARDEN_BPF_PARSE_H */
