// SPDX-License-Identifier: Apache-2.0
/* nftables TPROXY rules and policy routing for the L7 redirect; see
 * redirect.h for what each piece does. The ruleset goes to the kernel
 * through libnftables (the library the nft tool is built on), the rule and
 * route through route netlink (netlink.h): no process is started. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "warden/abi/maps.h"
#include "warden/cni.h"
#include "warden/errbuf.h"
#include "warden/netdev.h"
#include "warden/netlink.h"
#include "warden/redirect.h"

/*
 * Run nft commands (the text an `nft -f` file would hold). 0, or -EIO with
 * nft's error in @err (its lines joined) when @err is given.
 */
static int nft_run(const char *commands, char *err, size_t err_len)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret = 0;

	if (!nft) {
		errbuf__printf(err, err_len, "nft: cannot make a context");
		return -ENOMEM;
	}
	/* Into buffers: nothing is printed on the agent's output. */
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, commands)) {
		const char *msg = nft_ctx_get_error_buffer(nft);
		size_t n;

		ret = -EIO;
		errbuf__printf(err, err_len, "nft: %s", msg && *msg ? msg : "failed");
		/* One line: nft points at the place over several. */
		if (err)
			for (n = 0; err[n]; n++)
				if (err[n] == '\n')
					err[n] = err[n + 1] ? ' ' : '\0';
	}
	nft_ctx_free(nft);
	return ret;
}

/* `ip rule add fwmark TO_PROXY/MASK lookup 2004 pref 9000`, `ip route
 * replace local 0.0.0.0/0 dev lo table 2004` */
static int policy_routing_setup(char *err, size_t err_len)
{
	struct nl_rule rule = {.priority = REDIRECT_RULE_PRIORITY,
			       .fwmark = WARDEN_MARK_TO_PROXY,
			       .fwmask = WARDEN_MARK_MASK,
			       .table = REDIRECT_ROUTE_TABLE};
	struct nl_route local = {.table = REDIRECT_ROUTE_TABLE,
				 .type = RTN_LOCAL,
				 .scope = RT_SCOPE_HOST,
				 .protocol = RTPROT_BOOT};
	struct nl_sock nl;
	struct nl_link lo;
	union nl_buf req;
	char what[96];
	int ret;

	ret = nl_sock__open(&nl);
	if (ret) {
		errbuf__printf(err, err_len, "open a route netlink socket: %s",
			       strerror(-ret));
		return ret;
	}
	snprintf(what, sizeof(what), "add the rule fwmark %#x/%#x lookup %u pref %u",
		 rule.fwmark, rule.fwmask, rule.table, rule.priority);
	ret = nl_sock__request(&nl,
			       nl_msg__rule(req.buf, sizeof(req), RTM_NEWRULE,
					    NLM_F_CREATE | NLM_F_EXCL, &rule),
			       what, err, err_len);
	if (!ret)
		ret = nl_sock__link_get(&nl, "lo", &lo, err, err_len);
	if (!ret) {
		local.oif = lo.ifindex;
		snprintf(what, sizeof(what),
			 "add the route local 0.0.0.0/0 dev lo table %u", local.table);
		ret =
		    nl_sock__request(&nl,
				     nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
						   NLM_F_CREATE | NLM_F_REPLACE, &local),
				     what, err, err_len);
	}
	nl_sock__close(&nl);
	return ret;
}

#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * TCP early demux looks up an established or TIME_WAIT socket for every
 * incoming TCP packet, before routing, forwarded ones included; a
 * forwarded packet that found one is dropped (ip_forward() refuses an skb
 * that has a socket). The proxy's accepted sockets carry the tuple of the
 * client's connection (their local address is the server's), so after a
 * proxied connection the proxy's TIME_WAIT socket would swallow a new,
 * unproxied connection on the same ports for a minute. Off (a per network
 * namespace setting): forwarded packets get no socket lookup, local ones
 * find theirs after routing.
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

int redirect__setup(uint16_t proxy_port, uint32_t pod_net, int pod_prefix_len, char *err,
		    size_t err_len)
{
	char net[INET_ADDRSTRLEN];
	char *ruleset = NULL;
	size_t ruleset_len = 0;
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
	f = open_memstream(&ruleset, &ruleset_len);
	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "ruleset: %s", strerror(errno));
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
	if (fclose(f)) {
		free(ruleset);
		snprintf(err, err_len, "ruleset: out of memory");
		return -ENOMEM;
	}
	ret = nft_run(ruleset, err, err_len);
	free(ruleset);
	if (!ret)
		ret = policy_routing_setup(err, err_len);
	if (ret)
		redirect__teardown();
	return ret;
}

void redirect__teardown(void)
{
	struct nl_rule rule = {.priority = REDIRECT_RULE_PRIORITY};
	union nl_buf req;
	struct nl_sock nl;

	nft_run("delete table ip " REDIRECT_NFT_TABLE, NULL, 0);
	if (nl_sock__open(&nl))
		return;
	/* `ip rule del pref 9000` until none is left: several copies can
	 * exist after a crash; remove them all (a bound, should a delete keep
	 * succeeding). */
	for (int i = 0; i < 1000; i++)
		if (nl_sock__request(
			&nl, nl_msg__rule(req.buf, sizeof(req), RTM_DELRULE, 0, &rule),
			"", NULL, 0))
			break;
	/* `ip route flush table 2004` */
	nl_sock__route_flush_table(&nl, REDIRECT_ROUTE_TABLE, NULL, 0);
	nl_sock__close(&nl);
}
