// SPDX-License-Identifier: Apache-2.0
/*
 * Drives lib/host/netdev_cni.c for tests/cni/test_netdev.sh:
 *   netdev-cni-probe attach CONTAINER_ID IFNAME NETNS_PATH ADDRESS GATEWAY
 *   netdev-cni-probe detach CONTAINER_ID IFNAME
 * attach prints "HOST_IFNAME HOST_IFINDEX HOST_MAC CONTAINER_MAC", or the
 * error on stderr and exits 1.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "warden/netdev_cni.h"

int main(int argc, char **argv)
{
	struct netdev_cni att;
	uint32_t addr, gw;
	char err[1024];

	if (argc == 4 && !strcmp(argv[1], "detach"))
		return netdev_cni__detach(argv[2], argv[3]) ? 0 : 2;
	if (argc != 7 || strcmp(argv[1], "attach") ||
	    inet_pton(AF_INET, argv[5], &addr) != 1 ||
	    inet_pton(AF_INET, argv[6], &gw) != 1) {
		fprintf(stderr,
			"usage: %s attach CID IFNAME NETNS ADDR GW | detach CID IFNAME\n",
			argv[0]);
		return 2;
	}
	if (netdev_cni__attach(&att, argv[2], argv[3], argv[4], addr, gw, err,
			       sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%s %d %s %s\n", att.host_ifname, att.host_ifindex, att.host_mac,
	       att.container_mac);
	return 0;
}
