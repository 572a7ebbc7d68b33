/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Answering a denied packet (`--deny-response=reject`): the skb that policy
 * just dropped is rewritten in place into a TCP RST or an ICMP "destination
 * unreachable, communication administratively prohibited" for its sender,
 * and sent back through the host veth it came from. Policy decides whether
 * to answer (struct policy_verdict.reject); this module builds and sends.
 *
 * Why in place: a tc program cannot allocate a packet. The denied skb is
 * the one buffer we have and it is ours to drop anyway; cutting or growing
 * it (bpf_skb_change_tail, bpf_skb_adjust_room) and writing new headers
 * over it gives the answer, already on the right device.
 *
 * Where it goes: back the way it came. From warden_from_container (tc
 * ingress, the pod sent the packet) the answer is transmitted on the same
 * veth, so the pod receives it. From warden_to_container (tc egress,
 * someone sent it to the pod) it enters the host's receive path of the
 * same veth, as if the pod had answered, and the host routes it to the
 * sender. Either way the other program of this veth sees it next. There it
 * would be judged as a packet of the pod's peer (and fail the pod's source
 * check), so it carries WARDEN_MARK_REJECT and passes that one hook
 * (reject_answer_passes()), which clears the mark. Every later hook judges
 * it like any packet: a RST is the reply of the sender's own conntrack
 * entry. A pod cannot forge the mark: crossing the veth between network
 * namespaces scrubs skb->mark.
 *
 * What is never answered (the packet is just dropped): ICMP errors (no
 * error about an error, RFC 1122 3.2.2; unassigned types count as errors,
 * as in Linux's icmp_send()), TCP segments with RST (RFC 793), non-first
 * fragments (no L4 header; the first fragment was answered, if anything),
 * packets to a broadcast or multicast address and packets from an address
 * nobody can be answered at (0.0.0.0, broadcast, multicast).
 *
 * Checksums are computed in full here and written with the headers, not
 * patched with bpf_l4_csum_replace(), which does nothing on a
 * CHECKSUM_PARTIAL skb (what veth offload gives a pod's TCP and UDP). The
 * skb's checksum state is left as it was: a partial checksum is trusted,
 * not computed, on the local paths such answers take (to the pod, or back
 * to a local sender), and what comes in from a NIC is not partial.
 *
 * Any helper failing midway leaves a half-built packet: the caller must
 * then drop it (never forward it).
 */
#ifndef WARDEN_BPF_REJECT_H
#define WARDEN_BPF_REJECT_H

#include "lib/common.h"

/* The answers' fixed parts. */
#define REJECT_TTL 64
#define REJECT_IP_LEN sizeof(struct iphdr) /* no options */
/*
 * The ICMP answer quotes the original IP header (options included, up to
 * 60 bytes) and the first 8 bytes after it (RFC 792). SCTP gets its whole
 * 12-byte common header: with the CRC offloaded by the pod's veth, the
 * kernel refuses to cut the packet before the end of the checksum field
 * (RFC 1812 4.3.2.3 allows quoting more than 8 bytes).
 */
#define REJECT_QUOTE_L4 8
#define REJECT_QUOTE_L4_SCTP 12
#define REJECT_QUOTE_MAX (60 + REJECT_QUOTE_L4_SCTP)

/*
 * The headers, first as read from the packet, then rewritten in place
 * into the answer's and stored back with one call: Ethernet, IPv4 and the
 * L4 header are contiguous from `eth` on. `align` puts the IPv4 header on
 * a 4-byte boundary (ethhdr is 14 bytes), so its fields are plain loads.
 */
struct reject_headers {
	__u16 align;
	struct ethhdr eth;
	struct iphdr ip;
	union {
		struct tcphdr tcp;
		struct warden_icmphdr icmp;
	};
};
#define REJECT_L3_LEN (ETH_HLEN + sizeof(struct iphdr))
#define REJECT_RST_LEN (REJECT_L3_LEN + sizeof(struct tcphdr))
#define REJECT_ICMP_LEN (REJECT_L3_LEN + sizeof(struct warden_icmphdr))
_Static_assert(__builtin_offsetof(struct reject_headers, ip) ==
		   __builtin_offsetof(struct reject_headers, eth) + ETH_HLEN,
	       "Ethernet and IPv4 headers must be contiguous");
_Static_assert(__builtin_offsetof(struct reject_headers, tcp) ==
		   __builtin_offsetof(struct reject_headers, ip) + sizeof(struct iphdr),
	       "IPv4 and L4 headers must be contiguous");

/* The TCP pseudo-header the checksum covers (RFC 793 3.1). */
struct reject_pseudo_header {
	__be32 saddr;
	__be32 daddr;
	__u8 zero;
	__u8 protocol;
	__be16 length;
};

/* Fold a 32-bit one's complement sum (from bpf_csum_diff) to a checksum. */
static __always_inline __sum16 reject_csum_fold(__s64 partial)
{
	__u32 sum = (__u32)partial;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

static __always_inline bool reject_address_unanswerable(__be32 addr)
{
	__u32 host = bpf_ntohl(addr);

	/* 0.0.0.0, 255.255.255.255, multicast (224/4) */
	return host == 0 || host == 0xffffffff || (host >> 28) == 0xe;
}

/*
 * A TCP segment becomes a RST (RFC 793, "Reset Generation" for a closed
 * port): if it had ACK, the RST takes its sequence number from that ack;
 * otherwise it has sequence 0 and acknowledges everything the segment
 * occupied (payload, +1 for SYN, +1 for FIN), flags RST|ACK. No options,
 * window 0. The skb is cut to the headers: IP options out first (keeping
 * the TCP header, and a pending partial checksum's start, where they
 * are), then everything after the TCP header.
 */
static __always_inline int reject_tcp(struct __sk_buff *skb,
				      const struct warden_packet *pkt,
				      struct reject_headers *h, __u32 ip_header_len)
{
	struct reject_pseudo_header pseudo;
	struct tcphdr *tcp = &h->tcp;
	__u32 tot_len, header_len, occupied;
	__be32 seq, ack_seq;
	__be16 source;
	__s64 sum;

	if (pkt->tcp_flags & WARDEN_TCP_RST)
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + ip_header_len, tcp, sizeof(*tcp)) < 0)
		return -1;

	/* tot_len is 0 on BIG TCP packets: then the skb tells the length. */
	tot_len = bpf_ntohs(h->ip.tot_len);
	if (!tot_len)
		tot_len = skb->len - ETH_HLEN;
	header_len = ip_header_len + tcp->doff * 4;
	occupied = tot_len > header_len ? tot_len - header_len : 0;
	if (pkt->tcp_flags & WARDEN_TCP_SYN)
		occupied++;
	if (pkt->tcp_flags & WARDEN_TCP_FIN)
		occupied++;
	seq = tcp->seq;
	ack_seq = tcp->ack_seq;
	source = tcp->source;

	__builtin_memset(tcp, 0, sizeof(*tcp));
	tcp->source = pkt->dport;
	tcp->dest = source;
	tcp->doff = sizeof(*tcp) / 4;
	tcp->rst = 1;
	if (pkt->tcp_flags & WARDEN_TCP_ACK) {
		tcp->seq = ack_seq;
	} else {
		tcp->ack_seq = bpf_htonl(bpf_ntohl(seq) + occupied);
		tcp->ack = 1;
	}
	/* Addresses swapped: the answer's pseudo-header. */
	pseudo.saddr = pkt->daddr;
	pseudo.daddr = pkt->saddr;
	pseudo.zero = 0;
	pseudo.protocol = IPPROTO_TCP;
	pseudo.length = bpf_htons(sizeof(*tcp));
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&pseudo, sizeof(pseudo), 0);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)tcp, sizeof(*tcp), (__wsum)sum);
	tcp->check = reject_csum_fold(sum);

	if (ip_header_len > REJECT_IP_LEN &&
	    bpf_skb_adjust_room(skb, -(__s32)(ip_header_len - REJECT_IP_LEN),
				BPF_ADJ_ROOM_NET, 0) < 0)
		return -1;
	if (bpf_skb_change_tail(skb, REJECT_RST_LEN, 0) < 0)
		return -1;
	return REJECT_RST_LEN;
}

/*
 * Anything else becomes an ICMP destination unreachable, code 13: the
 * skb is cut after the quote (original IP header + 8 bytes), and room for
 * the new IPv4 and ICMP headers is made in front of it.
 */
static __always_inline int reject_icmp(struct __sk_buff *skb,
				       const struct warden_packet *pkt,
				       struct reject_headers *h, __u32 ip_header_len)
{
	/* Zeroed: the checksum runs over all of it, the tail adds nothing. */
	__u8 quote[REJECT_QUOTE_MAX] = {};
	/* 64-bit: no 32-bit copies for the bounds checks to get lost on. */
	__u64 quote_len, available, tot_len;
	__s64 sum;

	if (pkt->protocol == IPPROTO_ICMP &&
	    icmp_is_error(bpf_ntohs(pkt->policy_dport) >> 8))
		return -1;

	quote_len = ip_header_len + (pkt->protocol == IPPROTO_SCTP ? REJECT_QUOTE_L4_SCTP
								   : REJECT_QUOTE_L4);
	/* Less if the datagram is shorter (tot_len, else the frame). */
	available = skb->len - ETH_HLEN;
	tot_len = bpf_ntohs(h->ip.tot_len);
	if (tot_len >= ip_header_len && tot_len < available)
		available = tot_len;
	if (quote_len > available)
		quote_len = available;
	if (quote_len < sizeof(struct iphdr) || quote_len > sizeof(quote))
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, quote, quote_len) < 0)
		return -1;

	__builtin_memset(&h->icmp, 0, sizeof(h->icmp));
	h->icmp.type = WARDEN_ICMP_DEST_UNREACH;
	h->icmp.code = WARDEN_ICMP_PKT_FILTERED;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h->icmp, sizeof(h->icmp), 0);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)quote, sizeof(quote), (__wsum)sum);
	h->icmp.checksum = reject_csum_fold(sum);

	/* Cut first: a GSO packet stops being one, which growing needs. */
	if (bpf_skb_change_tail(skb, ETH_HLEN + quote_len, 0) < 0)
		return -1;
	if (bpf_skb_adjust_room(skb, REJECT_IP_LEN + sizeof(h->icmp), BPF_ADJ_ROOM_MAC,
				0) < 0)
		return -1;
	return REJECT_ICMP_LEN + quote_len;
}

/*
 * Turn skb, an IPv4 packet (parsed into *pkt) that policy denied, into
 * the answer to its sender. Returns 0 when skb is the answer now (send it
 * with reject_send()), or -1 when the packet is not to be answered or the
 * answer could not be built: drop it then.
 */
static __always_inline int reject_build(struct __sk_buff *skb,
					const struct warden_packet *pkt)
{
	struct reject_headers h;
	__u8 mac[ETH_ALEN];
	__u32 ip_header_len;
	int len;

	if (pkt->fragment || reject_address_unanswerable(pkt->saddr) ||
	    reject_address_unanswerable(pkt->daddr))
		return -1;
	if (bpf_skb_load_bytes(skb, 0, &h.eth, REJECT_L3_LEN) < 0)
		return -1;
	/* An Ethernet group address: broadcast or multicast. */
	if (h.eth.h_dest[0] & 1)
		return -1;
	/* parse_ipv4() checked it; bounded again for the verifier. */
	ip_header_len = h.ip.ihl * 4;
	if (ip_header_len < sizeof(struct iphdr))
		return -1;

	/* The L4 part, and the skb cut and grown to the answer's size. */
	if (pkt->protocol == IPPROTO_TCP)
		len = reject_tcp(skb, pkt, &h, ip_header_len);
	else
		len = reject_icmp(skb, pkt, &h, ip_header_len);
	if (len < 0)
		return -1;

	/* Ethernet and IPv4, turned around: from the one it was sent to. */
	__builtin_memcpy(mac, h.eth.h_dest, ETH_ALEN);
	__builtin_memcpy(h.eth.h_dest, h.eth.h_source, ETH_ALEN);
	__builtin_memcpy(h.eth.h_source, mac, ETH_ALEN);
	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tos = 0;
	h.ip.tot_len = bpf_htons(len - ETH_HLEN);
	h.ip.id = 0;
	h.ip.frag_off = bpf_htons(WARDEN_IP_DF);
	h.ip.ttl = REJECT_TTL;
	h.ip.protocol = pkt->protocol == IPPROTO_TCP ? IPPROTO_TCP : IPPROTO_ICMP;
	h.ip.check = 0;
	h.ip.saddr = pkt->daddr;
	h.ip.daddr = pkt->saddr;
	h.ip.check =
	    reject_csum_fold(bpf_csum_diff(NULL, 0, (__be32 *)&h.ip, sizeof(h.ip), 0));

	if (bpf_skb_store_bytes(
		skb, 0, &h.eth,
		pkt->protocol == IPPROTO_TCP ? REJECT_RST_LEN : REJECT_ICMP_LEN, 0) < 0)
		return -1;
	return 0;
}

/*
 * Send the answer back through the veth it came from (see the top of this
 * file): to the pod when the pod sent the denied packet (egress), into the
 * host's receive path when it was on its way to the pod (ingress).
 * Returns the tc verdict (TC_ACT_REDIRECT).
 */
static __always_inline int reject_send(struct __sk_buff *skb, __u8 direction)
{
	skb->mark = (skb->mark & ~WARDEN_MARK_MASK) | WARDEN_MARK_REJECT;
	return bpf_redirect(skb->ifindex,
			    direction == WARDEN_DIR_EGRESS ? 0 : BPF_F_INGRESS);
}

/*
 * Is skb an answer this datapath sent, meeting the other program of its
 * veth? Then it passes there, once: the mark is cleared, so every later
 * hook judges it as any packet.
 */
static __always_inline bool reject_answer_passes(struct __sk_buff *skb)
{
	if ((skb->mark & WARDEN_MARK_MASK) != WARDEN_MARK_REJECT)
		return false;
	skb->mark &= ~WARDEN_MARK_MASK;
	return true;
}

#endif /* WARDEN_BPF_REJECT_H */
