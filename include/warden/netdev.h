/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Endpoint plumbing: network namespace, veth pair, addresses and routes,
 * the way a container runtime makes them. It drives iproute2 (`ip`), the
 * well-kept tool for this, rather than hand-written netlink; the BPF
 * attachment itself is in datapath.c.
 *
 * Layout of one endpoint (id N, address A, gateway G = first pod address):
 *   host:  wdhN (veth, no address) --- route A/32 dev wdhN src G
 *   netns warden-N:  eth0 A/32, route G dev eth0, default via G
 * G is a /32 on lo so the host has an address that is always the "host"
 * identity; ARP for G is answered by the host side of every veth.
 */
#ifndef WARDEN_NETDEV_H
#define WARDEN_NETDEV_H

#include <stddef.h>
#include <stdint.h>

/* The default prefix of endpoint namespace names (/run/netns/<prefix><id>):
 * an agent that serves another network namespace (a test node) takes its
 * own, so that agents never see, or sweep, each other's namespaces. */
#define NETDEV_NETNS_PREFIX "warden-"
#define NETDEV_NETNS_PREFIX_MAX 20
#define NETDEV_VETH_PREFIX "wdh"

struct netdev_endpoint {
	uint32_t id;
	uint32_t ipv4;	/* network order */
	char netns[32]; /* "<prefix>N", e.g. "warden-N" */
	char host_ifname[16];
	int host_ifindex;
};

/*
 * Host side set-up: the dummy device with the gateway address, an
 * unreachable route for the whole pod CIDR (so a packet to an unassigned
 * pod address never follows the default route), IPv4 forwarding.
 */
int netdev_host__setup(uint32_t pod_net, int pod_prefix_len, uint32_t gateway, char *err,
		       size_t err_len);
void netdev_host__teardown(uint32_t pod_net, int pod_prefix_len, uint32_t gateway);

/* Create the netns <netns_prefix><id> + veth + addresses + routes for ep
 * (fills netns, host_ifname and host_ifindex). */
int netdev_endpoint__create(struct netdev_endpoint *ep, const char *netns_prefix,
			    uint32_t gateway, char *err, size_t err_len);
void netdev_endpoint__destroy(const struct netdev_endpoint *ep);

/* Remove what an earlier, crashed agent left behind (netns <prefix>*, wdh*). */
void netdev__sweep_stale(const char *netns_prefix);

/*
 * Run argv (no shell); returns the exit status or -errno; stderr into err.
 * A command that has not exited after NETDEV_RUN_TIMEOUT_MS is killed
 * (-ETIMEDOUT): the agent's loop waits for it, so a hung tool must not
 * hang the agent.
 */
#define NETDEV_RUN_TIMEOUT_MS 10000
int netdev__run(const char *const argv[], char *err, size_t err_len);
/* netdev__run() with another timeout (tests). */
int netdev__run_timeout(const char *const argv[], int timeout_ms, char *err,
			size_t err_len);

#endif /* WARDEN_NETDEV_H */
