/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of the L7 redirect: the datapath marks packets of flows
 * that need the proxy (WARDEN_MARK_TO_PROXY); these rules hand them to it.
 *
 *   nftables, table ip warden, prerouting (mangle priority):
 *     1. a marked TCP packet is TPROXYed: to the socket of its connection
 *        if it has one (the proxy's accepted client socket for a client's
 *        packet, its upstream socket for a local server's reply: the
 *        datapath marks both, bpf/lib/flow.h), else, a new connection, to
 *        the proxy's listener. TIME_WAIT sockets only ever see packets of
 *        their own, proxied, connections: an unproxied one is not marked.
 *     2. a marked packet the proxy cannot take (it is down) is dropped:
 *        L7-filtered traffic never passes unfiltered.
 *     3. a TCP packet to a pod address that did not come from an endpoint
 *        (no datapath hook saw it) and belongs to one of the proxy's full
 *        sockets, i.e. one carrying its mark (not TIME_WAIT): the reply of
 *        a peer outside the node to the proxy's upstream connection, marked
 *        and delivered. The only socket lookup of an unmarked packet.
 *   policy routing: fwmark TO_PROXY -> table 2004: local 0.0.0.0/0 dev lo,
 *     so marked packets are delivered to the local socket, not forwarded.
 *   net.ipv4.tcp_early_demux = 0: the kernel's own socket lookup before
 *     routing would let the proxy's TIME_WAIT sockets drop forwarded
 *     packets of new connections on the same ports (lib/host/redirect.c).
 */
#ifndef WARDEN_REDIRECT_H
#define WARDEN_REDIRECT_H

#include <stddef.h>
#include <stdint.h>

#define REDIRECT_NFT_TABLE "warden"
#define REDIRECT_ROUTE_TABLE 2004
#define REDIRECT_RULE_PRIORITY 9000

/* Install (replacing any earlier copy) for the pod CIDR pod_net (network
 * order) / pod_prefix_len; on failure nothing is left and err says which
 * piece failed and why. */
int redirect__setup(uint16_t proxy_port, uint32_t pod_net, int pod_prefix_len, char *err,
		    size_t err_len);
void redirect__teardown(void);

#endif /* WARDEN_REDIRECT_H */
