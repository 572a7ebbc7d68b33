// SPDX-License-Identifier: Apache-2.0
/* nftables TPROXY rules and policy routing for the L7 redirect; see
 * redirect.h for what each piece does. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "warden/abi/maps.h"
#include "warden/cni.h"
#include "warden/netdev.h"
#include "warden/redirect.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * TCP early demux looks up an established or TIME_WAIT socket for every
 * incoming TCP packet, before routing, forwarded ones included; a
 * forwarded packet that found one is dropped (ip_forward() refuses an skb
 * that has a socket). The proxy's accepted sockets carry the tuple of the
 * client's connection (their local address is the server's), so after a
 * proxied connection the proxy's TIME_WAIT socket would swallow a new,
 * unproxied connection on the same ports for a minute. Off: forwarded
 * packets get no socket lookup, local ones find theirs after routing.
 */
static int early_demux_disable(char *err, size_t err_len)
{
	const char *path = "/proc/sys/net/ipv4/tcp_early_demux";
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0 || write(fd, "0", 1) != 1)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		snprintf(err, err_len, "write %s: %s", path, strerror(-ret));
	return ret;
}

int redirect__setup(uint16_t proxy_port, uint32_t pod_net, int pod_prefix_len,
		    const char *work_dir, char *err, size_t err_len)
{
	char path[512], mark[32], net[INET_ADDRSTRLEN];
	FILE *f;
	int ret;

	redirect__teardown();
	ret = early_demux_disable(err, err_len);
	if (ret)
		return ret;
	if (!inet_ntop(AF_INET, &pod_net, net, sizeof(net)) || pod_prefix_len < 0 ||
	    pod_prefix_len > 32) {
		snprintf(err, err_len, "bad pod CIDR for the redirect rules");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/redirect.nft", work_dir);
	f = fopen(path, "w");
	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "write %s: %s", path, strerror(errno));
		return ret;
	}
	/*
	 * No socket lookup for a packet the datapath did not mark, but for
	 * what comes from outside the node to a pod address: a lookup by
	 * tuple alone matched the proxy's TIME_WAIT sockets and captured new
	 * connections that reused their ports but were not proxied.
	 */
	fprintf(
	    f,
	    "table ip " REDIRECT_NFT_TABLE " {\n"
	    "  chain prerouting {\n"
	    "    type filter hook prerouting priority mangle; policy accept;\n"
	    "    meta mark & %#x == %#x meta l4proto tcp tproxy to 127.0.0.1:%u accept\n"
	    "    meta mark & %#x == %#x drop\n"
	    "    iifname \"" NETDEV_VETH_PREFIX "*\" return\n"
	    "    iifname \"" CNI_HOST_IFNAME_PREFIX "*\" return\n"
	    "    ip daddr %s/%d meta l4proto tcp socket mark & %#x == %#x "
	    "meta mark set meta mark & %#x | %#x accept\n"
	    "  }\n"
	    "}\n",
	    WARDEN_MARK_MASK, WARDEN_MARK_TO_PROXY, proxy_port, WARDEN_MARK_MASK,
	    WARDEN_MARK_TO_PROXY, net, pod_prefix_len, WARDEN_MARK_MASK,
	    WARDEN_MARK_FROM_PROXY, ~(unsigned int)WARDEN_MARK_MASK,
	    WARDEN_MARK_TO_PROXY);
	fclose(f);

	snprintf(mark, sizeof(mark), "%#x/%#x", WARDEN_MARK_TO_PROXY, WARDEN_MARK_MASK);
	const char *nft[] = {"nft", "-f", path, NULL};
	const char *rule[] = {
	    "ip",   "rule", "add", "fwmark", mark, "lookup", REDIRECT_ROUTE_TABLE,
	    "pref", "9000", NULL};
	const char *route[] = {"ip",	"route",     "replace",
			       "local", "0.0.0.0/0", "dev",
			       "lo",	"table",     REDIRECT_ROUTE_TABLE,
			       NULL};
	const char *const *steps[] = {nft, rule, route};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char out[512];

		ret = netdev__run(steps[i], out, sizeof(out));
		if (ret) {
			snprintf(err, err_len, "%s %s: %s", steps[i][0], steps[i][1],
				 out[0] ? out : "failed");
			redirect__teardown();
			return ret < 0 ? ret : -EIO;
		}
	}
	unlink(path);
	return 0;
}

void redirect__teardown(void)
{
	const char *nft[] = {"nft", "delete", "table", "ip", REDIRECT_NFT_TABLE, NULL};
	const char *rule[] = {"ip", "rule", "del", "pref", "9000", NULL};
	const char *route[] = {"ip", "route", "flush", "table", REDIRECT_ROUTE_TABLE,
			       NULL};

	netdev__run(nft, NULL, 0);
	/* Several copies can exist after a crash; remove them all. */
	while (netdev__run(rule, NULL, 0) == 0)
		;
	netdev__run(route, NULL, 0);
}
