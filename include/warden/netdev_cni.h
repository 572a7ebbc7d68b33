/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Endpoint plumbing for CNI attachments (docs/cni.md, "The agent side"):
 * the layout of netdev.h (a /32 behind a veth, the gateway G on the host's
 * lo, a default route via G), but in a network namespace the container
 * runtime made and owns, given by path. Warden never creates, enters for
 * good, kills processes in, or deletes that namespace; removing the host
 * device is all a detach does (the container end goes with it).
 *
 * Device names come from the attachment (include/warden/cni.h): host side
 * wdcX; the container end is created in the runtime's namespace under the
 * runtime's CNI_IFNAME, in the request that creates the pair.
 */
#ifndef WARDEN_NETDEV_CNI_H
#define WARDEN_NETDEV_CNI_H

#include <stddef.h>
#include <stdint.h>

struct netdev_cni {
	char host_ifname[16];
	char ifname[16]; /* inside the runtime's namespace */
	char host_mac[18];
	char container_mac[18];
	int host_ifindex;
	uint32_t ipv4; /* network order */
};

/*
 * Is @path a network namespace (a file of nsfs)? 0, or -errno with the
 * reason in @err.
 */
int netdev_cni__check_netns(const char *path, char *err, size_t err_len);

/*
 * Make the attachment (container_id, ifname) in the namespace at @netns with
 * address @ipv4 and the pod gateway @gateway. All or nothing: on failure the
 * host device is removed again and @err says which step failed. Fails when
 * @ifname already exists in the namespace.
 */
int netdev_cni__attach(struct netdev_cni *out, const char *container_id,
		       const char *ifname, const char *netns, uint32_t ipv4,
		       uint32_t gateway, char *err, size_t err_len);

/* Remove the attachment's host device if it exists; true if it did. */
int netdev_cni__detach(const char *container_id, const char *ifname);

#endif /* WARDEN_NETDEV_CNI_H */
