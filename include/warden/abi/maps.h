/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The map ABI: every struct that crosses the kernel boundary lives here and
 * only here, so the BPF programs and user space cannot drift apart.
 *
 * Rules for this file:
 *  - fixed-width types only, explicit padding, no implicit holes;
 *  - addresses are 16 bytes so IPv6 can follow without a format change
 *    (an IPv4 address sits in the first 4 bytes, the rest is zero);
 *  - ports are in network byte order, everything else in host order.
 *
 * It is included by bpf/ (with the kernel's linux/types.h) and by user space
 * (with linux/types.h as well), so only __u8/__u16/__u32/__u64/__be16 types.
 */
#ifndef WARDEN_ABI_MAPS_H
#define WARDEN_ABI_MAPS_H

#include <linux/types.h>

/*
 * Where maps will be pinned (/sys/fs/bpf/warden/<map name>). Nothing pins
 * yet: kept for keeping endpoints across an agent restart.
 */
#define WARDEN_PIN_DIR "/sys/fs/bpf/warden"

/* Capacities: user space reports usage against these. */
#define WARDEN_IPCACHE_MAX 65536
#define WARDEN_POD_CIDR_MAX 16384 /* prefixes of NetworkPolicy ipBlocks */
#define WARDEN_ENDPOINTS_MAX 4096 /* also the local-endpoints-by-address map */
#define WARDEN_POLICY_MAX 262144
#define WARDEN_CT_MAX 262144
#define WARDEN_CT_REVOKED_MAX 16384
#define WARDEN_METRICS_MAX 16384
#define WARDEN_EVENTS_BYTES (1 << 20)
/*
 * The datapath wakes the agent only when this much waits in the ring
 * buffer; otherwise the agent collects events every WARDEN_EVENTS_POLL_MS.
 * A wake-up per event (one per new flow) cost the agent more CPU than
 * handling the event.
 */
#define WARDEN_EVENTS_WAKEUP_BYTES (64 << 10)
#define WARDEN_EVENTS_POLL_MS 25

/* Reserved numeric identities, the same numbers Cilium uses. */
enum warden_reserved_identity {
	WARDEN_IDENTITY_UNKNOWN = 0, /* in a policy key: "any peer" */
	WARDEN_IDENTITY_HOST = 1,
	WARDEN_IDENTITY_WORLD = 2,
	WARDEN_IDENTITY_UNMANAGED = 3,
	WARDEN_IDENTITY_HEALTH = 4,
	WARDEN_IDENTITY_INIT = 5,
	WARDEN_IDENTITY_REMOTE_NODE = 6,
	WARDEN_IDENTITY_KUBE_APISERVER = 7,
	WARDEN_IDENTITY_INGRESS = 8,
	WARDEN_IDENTITY_WORLD_IPV4 = 9,
	WARDEN_IDENTITY_WORLD_IPV6 = 10,
};
/* Endpoint identities are allocated from here (cluster-local range). */
#define WARDEN_IDENTITY_USER_MIN 256
#define WARDEN_IDENTITY_USER_MAX 65535
/*
 * CIDR identities are node-local, allocated from 1 << 24 like Cilium; so
 * are pod-CIDR identities (see warden_pod_cidr below), from the same range.
 */
#define WARDEN_IDENTITY_LOCAL_MIN (1u << 24)
#define WARDEN_IDENTITY_LOCAL_MAX ((1u << 24) + 0xffffff)

enum warden_direction {
	WARDEN_DIR_INGRESS = 0, /* traffic entering the endpoint */
	WARDEN_DIR_EGRESS = 1,	/* traffic leaving the endpoint */
};

enum warden_family {
	WARDEN_FAMILY_IPV4 = 4,
	WARDEN_FAMILY_IPV6 = 6,
};

/*
 * IP -> identity cache, longest-prefix match.
 * prefixlen counts bits of the data after it: 32 for family+pad, then the
 * address prefix length (so an IPv4 /24 is prefixlen 32 + 24).
 */
struct warden_ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
#define WARDEN_IPCACHE_PREFIX_BASE 32

struct warden_ipcache_value {
	__u32 identity;
	__u32 flags; /* reserved, 0 */
};

/*
 * The pod-CIDR map (warden_pod_cidr): an LPM trie with the ipcache's key
 * and value, holding only the prefixes (and except prefixes) of CIDR peers
 * that select pods too: Kubernetes NetworkPolicy ipBlocks, and with
 * `wardend --cidr-rules-select-pods` every CIDR rule. Each prefix maps to
 * a pod-CIDR identity of its own, never the CIDR identity the same prefix
 * has in the ipcache, so that rules which must not select pods (Cilium's
 * toCIDR) have no entry for it. A pod's address resolves to the pod's own
 * identity in the ipcache; for an endpoint with WARDEN_EP_POD_CIDR_<dir>,
 * a new flow whose peer has an endpoint identity also looks the peer's
 * address up here and the policy map once more with the identity found
 * (bpf/lib/policy.h). A miss means no such rule covers the address.
 */

/*
 * Endpoint table, keyed by the ifindex of the endpoint's host-side veth
 * (where the tc programs are attached).
 */
enum warden_endpoint_flags {
	WARDEN_EP_ENFORCE_INGRESS = 1u << 0, /* default deny on ingress */
	WARDEN_EP_ENFORCE_EGRESS = 1u << 1,  /* default deny on egress */
	/* Endpoint audit mode: every policy drop is forwarded instead and
	 * reported with verdict AUDIT (Cilium's PolicyAuditMode). */
	WARDEN_EP_AUDIT_MODE = 1u << 2,
	/* Audit-mode policies select this endpoint: the audit_* fields of its
	 * policy entries and the two flags below hold the verdict with them
	 * included; a flow they would drop is forwarded and reported AUDIT. */
	WARDEN_EP_AUDIT_POLICIES = 1u << 3,
	WARDEN_EP_AUDIT_ENFORCE_INGRESS = 1u << 4,
	WARDEN_EP_AUDIT_ENFORCE_EGRESS = 1u << 5,
	/* Answer a default-deny drop with a TCP RST / ICMP unreachable. */
	WARDEN_EP_REJECT_INGRESS = 1u << 6,
	WARDEN_EP_REJECT_EGRESS = 1u << 7,
	/* Its policy has entries for pod-CIDR identities in this direction:
	 * a new flow with an endpoint peer also looks up warden_pod_cidr. */
	WARDEN_EP_POD_CIDR_INGRESS = 1u << 8,
	WARDEN_EP_POD_CIDR_EGRESS = 1u << 9,
};

struct warden_endpoint_key {
	__u32 ifindex;
};

struct warden_endpoint_info {
	__u32 endpoint_id;
	__u32 identity;
	__u32 flags;	       /* enum warden_endpoint_flags */
	__u32 policy_revision; /* bumped by user space on every policy or
				* identity change touching this endpoint;
				* conntrack entries older than it are
				* re-checked against the policy map. */
	__u8 ipv4[4];	       /* the endpoint's address (host byte layout
				* as on the wire, i.e. network order) */
	__u32 host_ifindex;    /* its host-side veth (the warden_endpoints
				* key), where its packets enter the host: in
				* warden_local_endpoints, how a destination's
				* hook tells a packet the endpoint sent from
				* one that only claims its address */
	/* Rule cookie naming the audit-mode policy whose default deny would
	 * drop a flow, per enum warden_direction (see POLICY_COOKIE in policy_compile.h).
	 */
	__u32 audit_default_cookie[2];
};

/*
 * Local endpoints by address, so the source side can see the destination's
 * ingress policy (an L7 ingress rule must redirect at the source's hook:
 * tc egress, where the destination's hook sits, cannot redirect).
 */
struct warden_endpoint_addr_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/*
 * skb marks between the datapath, netfilter's TPROXY rule and the proxy.
 * TO_PROXY: set by from_container on packets of a redirected flow; the
 * nftables rules deliver them to the proxy (see lib/host/redirect.c).
 * FROM_PROXY: the proxy's sockets carry it (SO_MARK); the destination's
 * to_container lets such packets use L7-redirect entries, which the proxy
 * has enforced already.
 */
#define WARDEN_MARK_MASK 0xf00
#define WARDEN_MARK_TO_PROXY 0x200
#define WARDEN_MARK_FROM_PROXY 0xa00
/*
 * REJECT: a TCP RST or ICMP unreachable the datapath built in answer to a
 * denied packet and sent back through the same host veth. The hook that
 * sees it next (the other program of that veth) lets it pass once and
 * clears the mark; later hooks judge it as any packet (a reply of the
 * sender's own flow). Marks never cross into a pod (veth scrubs them).
 */
#define WARDEN_MARK_REJECT 0x300
#define WARDEN_PROXY_PORT_DEFAULT 15001

/*
 * Policy map: one LPM trie for all endpoints. The bits, in order:
 *   endpoint_id (32) identity (32) direction (8) protocol (8) dport (16)
 * A full key is prefixlen 96. Wildcards are shorter prefixes:
 *   - any protocol and port:  prefixlen 72 (stops after direction)
 *   - a protocol, any port:   prefixlen 80
 *   - a port range:           80 + n, the range split into aligned blocks
 * identity 0 means "any peer"; the datapath looks up the peer's identity
 * first and identity 0 second (and, for an endpoint peer of an endpoint
 * with WARDEN_EP_POD_CIDR_<dir>, the peer address's pod-CIDR identity),
 * and a deny from any of them wins. User space
 * folds deny precedence into the entries of one trie (an allow entry that a
 * broader deny covers is written as a deny), so one lookup per identity is
 * the whole decision.
 */
struct warden_policy_key {
	__u32 prefixlen;
	__u32 endpoint_id; /* host order: always inside the prefix */
	__u32 identity;	   /* host order: always inside the prefix; 0 = any */
	__u8 direction;	   /* enum warden_direction */
	__u8 protocol;	   /* IPPROTO_*, 0 only with a wildcard prefix */
	__be16 dport;	   /* network order, so ranges split into prefixes;
			    * for ICMP: the ICMP type in the high byte */
};
#define WARDEN_POLICY_PREFIX_FULL 96
#define WARDEN_POLICY_PREFIX_ANY_PROTO 72
#define WARDEN_POLICY_PREFIX_ANY_PORT 80

enum warden_policy_flags {
	WARDEN_POLICY_ALLOW = 1u << 0,
	WARDEN_POLICY_DENY = 1u << 1,
	WARDEN_POLICY_REJECT = 1u << 2, /* with DENY: answer with RST/ICMP */
};

/*
 * flags/rule_cookie: the enforced verdict (audit-mode policies left out);
 * 0 flags = no enforced rule covers this key. audit_flags/audit_cookie: the
 * same with audit-mode policies included, used only when the endpoint has
 * WARDEN_EP_AUDIT_POLICIES. Both halves keep LPM semantics: each holds what
 * a lookup of its own rule set would have returned for this key.
 */
struct warden_policy_value {
	__u16 flags;	   /* enum warden_policy_flags */
	__be16 proxy_port; /* allowed, but only through the L7 proxy on this
			    * port; 0 = allowed as is. When both lookups
			    * allow, the flow is redirected only if neither
			    * allow is a plain one (an L4-only rule for the
			    * same peer and port lifts the L7 restriction). */
	__u32 rule_cookie; /* which policy rule decided: see POLICY_COOKIE */
	__u16 audit_flags; /* ALLOW or DENY, 0 = none */
	__u16 pad;
	__u32 audit_cookie;
};

/*
 * Connection tracking, one LRU hash for everything. An entry is owned by
 * the endpoint that created it and the direction it was created in; the
 * tuple is stored as seen in that original direction.
 */
struct warden_ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport; /* for ICMP echo: the echo id, in both ports */
	__be16 dport;
	__u8 protocol;
	__u8 direction; /* enum warden_direction of the original packet */
	__u8 family;
	__u8 pad;
	__u32 endpoint_id;
};

enum warden_ct_flags {
	WARDEN_CT_SEEN_REPLY = 1u << 0,
	WARDEN_CT_CLOSING = 1u << 1, /* FIN or RST seen */
	WARDEN_CT_REVOKED = 1u << 2, /* policy no longer allows it: every packet
				      * of the flow, either way, is dropped (the
				      * entry stays so that the other direction
				      * cannot restart the flow as a new one) */
	WARDEN_CT_PROXIED = 1u << 3, /* the proxy's own connection (its first
				      * packet carried WARDEN_MARK_FROM_PROXY):
				      * the proxy enforces its L7 rules, and the
				      * endpoint's packets of it are replies that
				      * the proxy's socket must receive */
};

struct warden_ct_value {
	__u64 expires_ns; /* bpf_ktime_get_ns() deadline */
	__u64 packets;
	__u64 bytes;
	__u32 policy_revision; /* endpoint revision this flow was last
				* checked against */
	__u32 remote_identity;
	__u32 rule_cookie;
	__u16 flags; /* enum warden_ct_flags */
	__be16 proxy_port;
};

/*
 * Revoked flows, apart from conntrack (warden_ct_revoked, an LRU hash keyed
 * like the flow's conntrack entry in its original direction). The
 * conntrack map is one LRU for everything: other traffic can evict a
 * revoked entry, after which the flow's next packet would be judged as a
 * new flow, in whichever direction it goes. Only revocations write here,
 * so no flood of other flows can evict these records; a packet without a
 * conntrack entry is checked against them before policy.
 */
struct warden_ct_revoked {
	__u64 expires_ns;      /* refreshed by every packet it drops */
	__u32 policy_revision; /* endpoint revision it was last judged at */
	__u32 rule_cookie;
	__u16 flags;	   /* the conntrack entry's (PROXIED matters) */
	__be16 proxy_port; /* the conntrack entry's */
	__u32 pad;
};

/* Conntrack lifetimes (ns), as Cilium's defaults but shorter for SYN/close. */
#define WARDEN_CT_TCP_SYN_NS (60ull * 1000000000ull)
#define WARDEN_CT_TCP_ESTABLISHED_NS (6ull * 3600 * 1000000000ull)
#define WARDEN_CT_TCP_CLOSING_NS (10ull * 1000000000ull)
#define WARDEN_CT_NONTCP_NS (60ull * 1000000000ull)

/*
 * Verdict reasons. 0 is "forwarded"; drops are small positive codes here
 * (the programs use the negated value internally, Cilium-style).
 * docs/drop-reasons.md and lib/base/reason.c name each one.
 */
enum warden_reason {
	WARDEN_REASON_FORWARDED = 0,
	WARDEN_DROP_POLICY = 1,		  /* "Policy denied" (default deny) */
	WARDEN_DROP_POLICY_DENY = 2,	  /* "Policy denied by denylist" */
	WARDEN_DROP_INVALID_PACKET = 3,	  /* truncated or malformed headers */
	WARDEN_DROP_UNSUPPORTED_L3 = 4,	  /* not IPv4/ARP (IPv6 comes later) */
	WARDEN_DROP_UNKNOWN_ENDPOINT = 5, /* veth without endpoint entry */
	WARDEN_DROP_FRAGMENT = 6,	  /* non-first fragment, no L4 */
	WARDEN_DROP_POLICY_REVOKED = 7,	  /* established flow lost its allow */
	WARDEN_DROP_SPOOFED_SOURCE = 8,	  /* pod sent with a foreign source */
	WARDEN_DROP_PROXY_REQUIRED = 9,	  /* L7 rules apply, but the packet did
					   * not come through the proxy and
					   * cannot be redirected here */
	WARDEN_DROP_SPOOFED_PEER = 10,	  /* sent to a pod with the source of a
					   * local endpoint or of the host, but
					   * it came from elsewhere */
	WARDEN_REASON_MAX,
};

/*
 * Per-endpoint, per-reason, per-direction counters (per-CPU hash).
 * reason WARDEN_REASON_MAX is not a verdict: it counts events the datapath
 * could not put in the ring buffer because it was full ("lost events";
 * packets = events lost, bytes = length of the packets they described).
 * endpoint_id 0 holds packets of interfaces without an endpoint entry.
 */
struct warden_metrics_key {
	__u32 endpoint_id;
	__u8 reason; /* enum warden_reason */
	__u8 direction;
	__u16 pad;
};

struct warden_metrics_value {
	__u64 packets;
	__u64 bytes;
};

/* Events sent to user space through the ring buffer. */
enum warden_event_type {
	WARDEN_EVENT_DROP = 1,
	WARDEN_EVENT_POLICY_VERDICT = 2, /* first packet of a new flow, allowed */
	WARDEN_EVENT_AUDIT = 3,		 /* first packet of a flow that policy would drop
					  * (reason says why), forwarded by audit mode */
};

enum warden_event_flags {
	WARDEN_EVENT_F_REJECTED = 1u << 0,   /* the drop was answered (RST/ICMP) */
	WARDEN_EVENT_F_REDIRECTED = 1u << 1, /* the new flow goes to the L7 proxy */
};

struct warden_event {
	__u64 timestamp_ns;
	__u8 type;	/* enum warden_event_type */
	__u8 reason;	/* enum warden_reason */
	__u8 direction; /* enum warden_direction, from the endpoint's view */
	__u8 family;
	__u8 protocol;
	__u8 tcp_flags;
	__u8 flags; /* enum warden_event_flags */
	__u8 pad;
	__u32 endpoint_id;
	__u32 ifindex;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 rule_cookie;
	__u32 pad2;
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport; /* the conntrack tuple's ports: for ICMP echo the echo */
	__be16 dport; /* id in both, for other ICMP and portless L4: 0 */
	__u32 length; /* skb->len, Ethernet header included */
};

/*
 * The layouts above are a contract between two compilers (clang -target
 * bpf and the host's cc) and the running kernel: pin the size of every
 * struct and the offset of every field, so a change that moves one fails
 * to build on both sides instead of misreading a map. C11's
 * _Static_assert and the compilers' __builtin_offsetof need no header,
 * so the checks work with the kernel's types and with user space's alike.
 */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define WARDEN_ABI_SIZE(type, size)                                                      \
	_Static_assert(sizeof(struct type) == (size), "struct " #type " changed size")
#define WARDEN_ABI_OFFSET(type, field, offset)                                           \
	_Static_assert(__builtin_offsetof(struct type, field) == (offset),               \
		       "struct " #type " moved " #field)

WARDEN_ABI_SIZE(warden_ipcache_key, 24);
WARDEN_ABI_OFFSET(warden_ipcache_key, prefixlen, 0);
WARDEN_ABI_OFFSET(warden_ipcache_key, family, 4);
WARDEN_ABI_OFFSET(warden_ipcache_key, pad, 5);
WARDEN_ABI_OFFSET(warden_ipcache_key, addr, 8);
WARDEN_ABI_SIZE(warden_ipcache_value, 8);
WARDEN_ABI_OFFSET(warden_ipcache_value, identity, 0);
WARDEN_ABI_OFFSET(warden_ipcache_value, flags, 4);

WARDEN_ABI_SIZE(warden_endpoint_key, 4);
WARDEN_ABI_OFFSET(warden_endpoint_key, ifindex, 0);
WARDEN_ABI_SIZE(warden_endpoint_info, 32);
WARDEN_ABI_OFFSET(warden_endpoint_info, endpoint_id, 0);
WARDEN_ABI_OFFSET(warden_endpoint_info, identity, 4);
WARDEN_ABI_OFFSET(warden_endpoint_info, flags, 8);
WARDEN_ABI_OFFSET(warden_endpoint_info, policy_revision, 12);
WARDEN_ABI_OFFSET(warden_endpoint_info, ipv4, 16);
WARDEN_ABI_OFFSET(warden_endpoint_info, host_ifindex, 20);
WARDEN_ABI_OFFSET(warden_endpoint_info, audit_default_cookie, 24);
WARDEN_ABI_SIZE(warden_endpoint_addr_key, 20);
WARDEN_ABI_OFFSET(warden_endpoint_addr_key, family, 0);
WARDEN_ABI_OFFSET(warden_endpoint_addr_key, pad, 1);
WARDEN_ABI_OFFSET(warden_endpoint_addr_key, addr, 4);

/* The LPM key: the bits after prefixlen are matched in this order. */
WARDEN_ABI_SIZE(warden_policy_key, 16);
WARDEN_ABI_OFFSET(warden_policy_key, prefixlen, 0);
WARDEN_ABI_OFFSET(warden_policy_key, endpoint_id, 4);
WARDEN_ABI_OFFSET(warden_policy_key, identity, 8);
WARDEN_ABI_OFFSET(warden_policy_key, direction, 12);
WARDEN_ABI_OFFSET(warden_policy_key, protocol, 13);
WARDEN_ABI_OFFSET(warden_policy_key, dport, 14);
WARDEN_ABI_SIZE(warden_policy_value, 16);
WARDEN_ABI_OFFSET(warden_policy_value, flags, 0);
WARDEN_ABI_OFFSET(warden_policy_value, proxy_port, 2);
WARDEN_ABI_OFFSET(warden_policy_value, rule_cookie, 4);
WARDEN_ABI_OFFSET(warden_policy_value, audit_flags, 8);
WARDEN_ABI_OFFSET(warden_policy_value, pad, 10);
WARDEN_ABI_OFFSET(warden_policy_value, audit_cookie, 12);

WARDEN_ABI_SIZE(warden_ct_key, 44);
WARDEN_ABI_OFFSET(warden_ct_key, saddr, 0);
WARDEN_ABI_OFFSET(warden_ct_key, daddr, 16);
WARDEN_ABI_OFFSET(warden_ct_key, sport, 32);
WARDEN_ABI_OFFSET(warden_ct_key, dport, 34);
WARDEN_ABI_OFFSET(warden_ct_key, protocol, 36);
WARDEN_ABI_OFFSET(warden_ct_key, direction, 37);
WARDEN_ABI_OFFSET(warden_ct_key, family, 38);
WARDEN_ABI_OFFSET(warden_ct_key, pad, 39);
WARDEN_ABI_OFFSET(warden_ct_key, endpoint_id, 40);
WARDEN_ABI_SIZE(warden_ct_value, 40);
WARDEN_ABI_OFFSET(warden_ct_value, expires_ns, 0);
WARDEN_ABI_OFFSET(warden_ct_value, packets, 8);
WARDEN_ABI_OFFSET(warden_ct_value, bytes, 16);
WARDEN_ABI_OFFSET(warden_ct_value, policy_revision, 24);
WARDEN_ABI_OFFSET(warden_ct_value, remote_identity, 28);
WARDEN_ABI_OFFSET(warden_ct_value, rule_cookie, 32);
WARDEN_ABI_OFFSET(warden_ct_value, flags, 36);
WARDEN_ABI_OFFSET(warden_ct_value, proxy_port, 38);

WARDEN_ABI_SIZE(warden_ct_revoked, 24);
WARDEN_ABI_OFFSET(warden_ct_revoked, expires_ns, 0);
WARDEN_ABI_OFFSET(warden_ct_revoked, policy_revision, 8);
WARDEN_ABI_OFFSET(warden_ct_revoked, rule_cookie, 12);
WARDEN_ABI_OFFSET(warden_ct_revoked, flags, 16);
WARDEN_ABI_OFFSET(warden_ct_revoked, proxy_port, 18);
WARDEN_ABI_OFFSET(warden_ct_revoked, pad, 20);

WARDEN_ABI_SIZE(warden_metrics_key, 8);
WARDEN_ABI_OFFSET(warden_metrics_key, endpoint_id, 0);
WARDEN_ABI_OFFSET(warden_metrics_key, reason, 4);
WARDEN_ABI_OFFSET(warden_metrics_key, direction, 5);
WARDEN_ABI_OFFSET(warden_metrics_key, pad, 6);
WARDEN_ABI_SIZE(warden_metrics_value, 16);
WARDEN_ABI_OFFSET(warden_metrics_value, packets, 0);
WARDEN_ABI_OFFSET(warden_metrics_value, bytes, 8);

WARDEN_ABI_SIZE(warden_event, 80);
WARDEN_ABI_OFFSET(warden_event, timestamp_ns, 0);
WARDEN_ABI_OFFSET(warden_event, type, 8);
WARDEN_ABI_OFFSET(warden_event, reason, 9);
WARDEN_ABI_OFFSET(warden_event, direction, 10);
WARDEN_ABI_OFFSET(warden_event, family, 11);
WARDEN_ABI_OFFSET(warden_event, protocol, 12);
WARDEN_ABI_OFFSET(warden_event, tcp_flags, 13);
WARDEN_ABI_OFFSET(warden_event, flags, 14);
WARDEN_ABI_OFFSET(warden_event, pad, 15);
WARDEN_ABI_OFFSET(warden_event, endpoint_id, 16);
WARDEN_ABI_OFFSET(warden_event, ifindex, 20);
WARDEN_ABI_OFFSET(warden_event, src_identity, 24);
WARDEN_ABI_OFFSET(warden_event, dst_identity, 28);
WARDEN_ABI_OFFSET(warden_event, rule_cookie, 32);
WARDEN_ABI_OFFSET(warden_event, pad2, 36);
WARDEN_ABI_OFFSET(warden_event, saddr, 40);
WARDEN_ABI_OFFSET(warden_event, daddr, 56);
WARDEN_ABI_OFFSET(warden_event, sport, 72);
WARDEN_ABI_OFFSET(warden_event, dport, 74);
WARDEN_ABI_OFFSET(warden_event, length, 76);

#undef WARDEN_ABI_SIZE
#undef WARDEN_ABI_OFFSET
#endif /* C11 */

#endif /* WARDEN_ABI_MAPS_H */
