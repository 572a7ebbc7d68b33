/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Things every datapath module needs: the kernel headers, the map ABI and
 * the parsed view of one packet that the modules pass to each other.
 *
 * Conventions of bpf/lib/:
 *  - header-only, every function `static __always_inline`, so each entry
 *    program is one function for the verifier (no BPF-to-BPF calls);
 *  - a module never names a map: the entry file owns the maps and passes
 *    them in, so each header can be read (and compiled) on its own;
 *  - functions that can fail return 0 or a negated enum warden_reason
 *    (Cilium-style DROP_* codes); the entry program turns a negative value
 *    into a drop at its single exit label.
 */
#ifndef WARDEN_BPF_COMMON_H
#define WARDEN_BPF_COMMON_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "warden/abi/maps.h"

/* The raw TCP flags byte (offset 13 of the TCP header). */
#define WARDEN_TCP_FIN 0x01
#define WARDEN_TCP_SYN 0x02
#define WARDEN_TCP_RST 0x04
#define WARDEN_TCP_ACK 0x10

/*
 * ICMP. linux/icmp.h drags in libc's socket headers (via linux/if.h), which
 * do not build for the BPF target, so the few bits we need are here.
 */
#define WARDEN_ICMP_ECHOREPLY 0
#define WARDEN_ICMP_DEST_UNREACH 3
#define WARDEN_ICMP_SOURCE_QUENCH 4
#define WARDEN_ICMP_REDIRECT 5
#define WARDEN_ICMP_ECHO 8
#define WARDEN_ICMP_TIME_EXCEEDED 11
#define WARDEN_ICMP_PARAMETERPROB 12
#define WARDEN_ICMP_MAX_TYPE 18 /* address mask reply; above: unassigned */
/* Destination unreachable code 13: communication administratively prohibited. */
#define WARDEN_ICMP_PKT_FILTERED 13

struct warden_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 echo_id; /* echo request/reply only */
	__be16 echo_sequence;
};

/* IPv4 fragment offset bits of iphdr.frag_off (host order mask). */
#define WARDEN_IP_OFFSET_MASK 0x1fff
#define WARDEN_IP_DF 0x4000

/*
 * One packet as the policy sees it. Addresses and ports are in network
 * order, exactly as on the wire and in the map keys. Also the packet an
 * ICMP error quotes (parse_icmp_quote()), of which only the fields of a
 * conntrack key are filled: family, addresses, protocol and ports.
 */
struct warden_packet {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;	     /* conntrack tuple ports; ICMP echo: the echo id */
	__be16 dport;	     /* in both, so reversing the tuple is symmetric */
	__be16 policy_dport; /* what the policy map is keyed on: dport, or
			      * for ICMP the type in the high byte */
	__u8 family;	     /* WARDEN_FAMILY_IPV4 once L3 parsed, else 0 */
	__u8 protocol;
	__u8 tcp_flags;	    /* raw flags byte, 0 unless TCP */
	__u8 fragment;	    /* non-first fragment: no L4 header, ports 0 */
	__u16 quote_offset; /* an ICMP error that may be related to a flow:
			     * where its quote starts in the frame; else 0 */
};

/* The policy-map port of an ICMP message: its type in the high byte. */
static __always_inline __be16 icmp_policy_port(__u8 type)
{
	return bpf_htons((__u16)type << 8);
}

/* The bit of an ICMP type in a set of types below 32 (see below). */
#define WARDEN_ICMP_BIT(type) (1u << (type))

/*
 * ICMP errors: messages about another packet, never a flow of their own.
 * Unassigned types count as errors, as in Linux's icmp_send(); never
 * answered by lib/reject.h (no error about an error). A bit set instead of a
 * chain of compares: a few instructions, on every ICMP packet.
 */
static __always_inline bool icmp_is_error(__u8 type)
{
	const __u32 errors = WARDEN_ICMP_BIT(WARDEN_ICMP_DEST_UNREACH) |
			     WARDEN_ICMP_BIT(WARDEN_ICMP_SOURCE_QUENCH) |
			     WARDEN_ICMP_BIT(WARDEN_ICMP_REDIRECT) |
			     WARDEN_ICMP_BIT(WARDEN_ICMP_TIME_EXCEEDED) |
			     WARDEN_ICMP_BIT(WARDEN_ICMP_PARAMETERPROB);

	return type > WARDEN_ICMP_MAX_TYPE || ((errors >> type) & 1);
}

/*
 * The errors that may be RELATED to a flow (lib/conntrack.h): those that
 * report on a packet of it to its sender, as netfilter and Cilium treat
 * them. Not redirects: they change the receiver's routes, not the fate of
 * one packet, so policy keeps judging them by type.
 */
static __always_inline bool icmp_error_may_be_related(__u8 type)
{
	const __u32 related = WARDEN_ICMP_BIT(WARDEN_ICMP_DEST_UNREACH) |
			      WARDEN_ICMP_BIT(WARDEN_ICMP_SOURCE_QUENCH) |
			      WARDEN_ICMP_BIT(WARDEN_ICMP_TIME_EXCEEDED) |
			      WARDEN_ICMP_BIT(WARDEN_ICMP_PARAMETERPROB);

	return type < 32 && ((related >> type) & 1);
}

#endif /* WARDEN_BPF_COMMON_H */
