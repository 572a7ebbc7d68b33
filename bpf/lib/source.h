/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where a packet may come from. Policy trusts a source address to name its
 * sender (the ipcache turns it into an identity), so an address has to be
 * checked against the way the packet came in before policy sees it:
 *
 *  - what a pod sends (warden_from_container) must carry the pod's own
 *    address, or it could borrow another endpoint's identity;
 *  - what is sent to a pod (warden_to_container) and claims the address
 *    of a local endpoint must have entered the host through that
 *    endpoint's own veth, and what claims a host address must have been
 *    made on this node: otherwise a machine outside the node could forge
 *    a pod's or the host's identity, whatever the host's rp_filter says.
 *
 * skb->ingress_ifindex is the device the packet entered the host on; the
 * host's own packets (the proxy's included) never entered, so it is 0.
 */
#ifndef WARDEN_BPF_SOURCE_H
#define WARDEN_BPF_SOURCE_H

#include "lib/common.h"

/* At warden_from_container: the pod's packets carry its own address. */
static __always_inline int source_check_own(const struct warden_packet *pkt,
					    __be32 ep_addr)
{
	return pkt->saddr == ep_addr ? 0 : -WARDEN_DROP_SPOOFED_SOURCE;
}

/*
 * At warden_to_container: may a packet with source address saddr, whose
 * identity the ipcache says is `identity`, reach the endpoint?
 *
 *  - host: only if the node made it (ingress_ifindex 0). A forwarded
 *    packet with one of the host's addresses as source would otherwise
 *    get the host's implicit allow. (Traffic that a node masquerades to
 *    its own address on the way to a pod is dropped too: it comes from
 *    outside and `host` is not its identity.)
 *  - an endpoint identity: only from the veth of the local endpoint that
 *    owns the address (warden_local_endpoints), or from the L7 proxy on
 *    this node, which connects upstream with the client's address: made
 *    here and marked WARDEN_MARK_FROM_PROXY (a mark that no packet from
 *    outside carries: marks do not cross a veth between namespaces, and
 *    only the proxy's sockets set this one). An endpoint address without
 *    a local endpoint fails closed: every endpoint identity belongs to
 *    this node (identities from other nodes would need their own rule).
 *  - anything else (world, CIDR identities): the address says nothing
 *    about the sender, policy judges it as it is.
 *
 * Returns 0 or -WARDEN_DROP_SPOOFED_PEER.
 */
static __always_inline int source_check_peer(const struct __sk_buff *skb,
					     void *local_endpoints, __be32 saddr,
					     __u32 identity)
{
	struct warden_endpoint_addr_key key;
	struct warden_endpoint_info *owner;
	__u32 from = skb->ingress_ifindex;

	if (identity == WARDEN_IDENTITY_HOST)
		return from == 0 ? 0 : -WARDEN_DROP_SPOOFED_PEER;
	if (identity < WARDEN_IDENTITY_USER_MIN || identity > WARDEN_IDENTITY_USER_MAX)
		return 0;
	if (from == 0 && (skb->mark & WARDEN_MARK_MASK) == WARDEN_MARK_FROM_PROXY)
		return 0;
	__builtin_memset(&key, 0, sizeof(key));
	key.family = WARDEN_FAMILY_IPV4;
	__builtin_memcpy(key.addr, &saddr, sizeof(saddr));
	owner = bpf_map_lookup_elem(local_endpoints, &key);
	if (owner && owner->host_ifindex && owner->host_ifindex == from)
		return 0;
	return -WARDEN_DROP_SPOOFED_PEER;
}

#endif /* WARDEN_BPF_SOURCE_H */
