/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of the L7 redirect: the datapath marks packets of flows
 * that need the proxy (WARDEN_MARK_TO_PROXY); these rules hand them to it.
 *
 *   nftables, table ip warden, prerouting (mangle priority):
 *     1. a packet of a connection that already has a transparent socket
 *        (the proxy's accepted client socket, or its upstream socket
 *        receiving the server's replies) is marked and accepted;
 *     2. a marked packet without one (a new connection) is TPROXYed to the
 *        proxy's listener;
 *     3. a marked packet the proxy cannot take (it is down) is dropped:
 *        L7-filtered traffic never passes unfiltered.
 *   policy routing: fwmark TO_PROXY -> table 2004: local 0.0.0.0/0 dev lo,
 *     so marked packets are delivered to the local socket, not forwarded.
 */
#ifndef WARDEN_REDIRECT_H
#define WARDEN_REDIRECT_H

#include <stddef.h>
#include <stdint.h>

#define REDIRECT_NFT_TABLE "warden"
#define REDIRECT_ROUTE_TABLE 2004
#define REDIRECT_RULE_PRIORITY 9000

/* Install (replacing any earlier copy); on failure nothing is left and err
 * says which piece failed and why. */
int redirect__setup(uint16_t proxy_port, char *err, size_t err_len);
void redirect__teardown(void);

#endif /* WARDEN_REDIRECT_H */
