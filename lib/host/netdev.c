// SPDX-License-Identifier: Apache-2.0
/*
 * Endpoint plumbing over route netlink (netlink.h) and named namespaces
 * (netns.h); see netdev.h for the layout. Each request is the one `ip`
 * makes for the command named in its comment, so the kernel state is the
 * one the iproute2 commands of earlier versions left.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "warden/errbuf.h"
#include "warden/fault.h"
#include "warden/log.h"
#include "warden/netdev.h"
#include "warden/netlink.h"
#include "warden/netns.h"

/* The endpoint's end of the veth pair, inside its namespace. */
#define ENDPOINT_IFNAME "eth0"

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -errno : 0;
}

static void format_prefix(uint32_t net, int len, char *buf, size_t size)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &net, addr, sizeof(addr));
	snprintf(buf, size, "%s/%d", addr, len);
}

/* A socket of the calling thread's namespace, its failure said in err. */
static int host_nl_open(struct nl_sock *nl, char *err, size_t err_len)
{
	int ret = nl_sock__open(nl);

	if (ret)
		errbuf__printf(err, err_len, "open a route netlink socket: %s",
			       strerror(-ret));
	return ret;
}

/* `ip route replace unreachable CIDR` / `ip route del unreachable CIDR` */
static struct nl_route unreachable_route(uint32_t pod_net, int pod_prefix_len, bool add)
{
	return (struct nl_route){.table = RT_TABLE_MAIN,
				 .type = RTN_UNREACHABLE,
				 .scope = add ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE,
				 .protocol = add ? RTPROT_BOOT : 0,
				 .dst = pod_net,
				 .dst_len = (uint8_t)pod_prefix_len};
}

int netdev_host__setup(uint32_t pod_net, int pod_prefix_len, uint32_t gateway, char *err,
		       size_t err_len)
{
	struct nl_route unreachable = unreachable_route(pod_net, pod_prefix_len, true);
	char cidr[32], gw[40], what[96];
	struct nl_sock nl = {0};
	struct nl_link lo;
	union nl_buf req;
	int ret;

	format_prefix(pod_net, pod_prefix_len, cidr, sizeof(cidr));
	format_prefix(gateway, 32, gw, sizeof(gw));
	ret = host_nl_open(&nl, err, err_len);
	if (ret)
		return ret;
	/* On lo rather than a dummy device: not every kernel has the dummy
	 * driver, and a local address answers ARP on every interface.
	 * `ip addr replace G/32 dev lo` */
	ret = nl_sock__link_get(&nl, "lo", &lo, err, err_len);
	if (!ret) {
		snprintf(what, sizeof(what), "add the gateway address %s to lo", gw);
		ret = nl_sock__request(&nl,
				       nl_msg__addr(req.buf, sizeof(req), RTM_NEWADDR,
						    NLM_F_CREATE | NLM_F_REPLACE,
						    lo.ifindex, gateway, 32),
				       what, err, err_len);
	}
	/* A packet to an unassigned pod address must never leave the host. */
	if (!ret) {
		snprintf(what, sizeof(what), "add the route unreachable %s", cidr);
		ret = nl_sock__request(&nl,
				       nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
						     NLM_F_CREATE | NLM_F_REPLACE,
						     &unreachable),
				       what, err, err_len);
	}
	nl_sock__close(&nl);
	if (!ret) {
		ret = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
		if (ret)
			errbuf__printf(err, err_len, "enable net.ipv4.ip_forward: %s",
				       strerror(-ret));
	}
	if (ret)
		netdev_host__teardown(pod_net, pod_prefix_len, gateway);
	return ret;
}

void netdev_host__teardown(uint32_t pod_net, int pod_prefix_len, uint32_t gateway)
{
	struct nl_route unreachable = unreachable_route(pod_net, pod_prefix_len, false);
	struct nl_sock nl;
	struct nl_link lo;
	union nl_buf req;

	if (nl_sock__open(&nl))
		return;
	/* What is already gone is not an error here. */
	nl_sock__request(
	    &nl, nl_msg__route(req.buf, sizeof(req), RTM_DELROUTE, 0, &unreachable), "",
	    NULL, 0);
	if (!nl_sock__link_get(&nl, "lo", &lo, NULL, 0))
		nl_sock__request(&nl,
				 nl_msg__addr(req.buf, sizeof(req), RTM_DELADDR, 0,
					      lo.ifindex, gateway, 32),
				 "", NULL, 0);
	nl_sock__close(&nl);
}

/*
 * Inside a new endpoint namespace, before any device in it is up: IPv6
 * off (IPv4 only for now; "all" also sets the default that eth0 takes when
 * it arrives, so no device here ever has an IPv6 address; absent when the
 * kernel has no IPv6, then there is nothing to turn off), and the socket
 * that configures the namespace from outside.
 */
static int endpoint_netns_init(void *arg)
{
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	return nl_sock__open(arg);
}

/*
 * One netlink step of an endpoint's plumbing, behind a fault point
 * (warden/fault.h) so that tests can make any step fail.
 */
static int plumb_request(struct nl_sock *sock, struct nlmsghdr *msg, const char *what,
			 char *err, size_t err_len)
{
	if (fault__hit(FAULT_NETDEV)) {
		snprintf(err, err_len, "%s: failed (injected by a test hook)", what);
		return -EIO;
	}
	return nl_sock__request(sock, msg, what, err, err_len);
}

/* The steps of netdev_endpoint__create() after the namespace: @host and
 * @ns are sockets of the host's and of the endpoint's namespace. */
static int endpoint_plumb(struct netdev_endpoint *ep, struct nl_sock *host,
			  struct nl_sock *ns, int nsfd, uint32_t gateway, char *err,
			  size_t err_len)
{
	char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], what[128], path[128];
	struct nl_link eth0, wdh;
	union nl_buf req;
	int ret;

	inet_ntop(AF_INET, &ep->ipv4, addr, sizeof(addr));
	inet_ntop(AF_INET, &gateway, gw, sizeof(gw));
	/* `ip link add wdhN type veth peer name eth0 netns NS`: the peer is
	 * made in the namespace under its final name. */
	snprintf(what, sizeof(what), "create the veth pair %s / %s in %s",
		 ep->host_ifname, ENDPOINT_IFNAME, ep->netns);
	ret = plumb_request(
	    host,
	    nl_msg__veth(req.buf, sizeof(req), ep->host_ifname, ENDPOINT_IFNAME, nsfd),
	    what, err, err_len);
	if (ret)
		return ret;
	/* IPv4 only for now: keep IPv6 chatter off the veth (before it is up). */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ep->host_ifname);
	write_sysctl(path, "1");
	ret = nl_sock__link_get(ns, ENDPOINT_IFNAME, &eth0, err, err_len);
	if (ret)
		return ret;
	/* `ip -n NS addr add A/32 dev eth0` */
	snprintf(what, sizeof(what), "add %s/32 to %s in %s", addr, ENDPOINT_IFNAME,
		 ep->netns);
	ret = plumb_request(ns,
			    nl_msg__addr(req.buf, sizeof(req), RTM_NEWADDR,
					 NLM_F_CREATE | NLM_F_EXCL, eth0.ifindex,
					 ep->ipv4, 32),
			    what, err, err_len);
	if (ret)
		return ret;
	/* `ip -n NS link set lo up`, `… eth0 up`, `ip link set wdhN up` */
	snprintf(what, sizeof(what), "bring lo up in %s", ep->netns);
	ret = plumb_request(ns, nl_msg__link_up(req.buf, sizeof(req), 0, "lo"), what, err,
			    err_len);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "bring %s up in %s", ENDPOINT_IFNAME, ep->netns);
	ret = plumb_request(ns, nl_msg__link_up(req.buf, sizeof(req), eth0.ifindex, NULL),
			    what, err, err_len);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "bring %s up", ep->host_ifname);
	ret =
	    plumb_request(host, nl_msg__link_up(req.buf, sizeof(req), 0, ep->host_ifname),
			  what, err, err_len);
	if (ret)
		return ret;
	/* `ip -n NS route add G dev eth0 scope link` */
	struct nl_route to_gw = {.table = RT_TABLE_MAIN,
				 .type = RTN_UNICAST,
				 .scope = RT_SCOPE_LINK,
				 .protocol = RTPROT_BOOT,
				 .dst = gateway,
				 .dst_len = 32,
				 .oif = eth0.ifindex};
	snprintf(what, sizeof(what), "add the route %s dev %s scope link in %s", gw,
		 ENDPOINT_IFNAME, ep->netns);
	ret = plumb_request(ns,
			    nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
					  NLM_F_CREATE | NLM_F_EXCL, &to_gw),
			    what, err, err_len);
	if (ret)
		return ret;
	/* `ip -n NS route add default via G dev eth0 src A` */
	struct nl_route dflt = {.table = RT_TABLE_MAIN,
				.type = RTN_UNICAST,
				.scope = RT_SCOPE_UNIVERSE,
				.protocol = RTPROT_BOOT,
				.gateway = gateway,
				.prefsrc = ep->ipv4,
				.oif = eth0.ifindex};
	snprintf(what, sizeof(what), "add the route default via %s src %s in %s", gw,
		 addr, ep->netns);
	ret = plumb_request(ns,
			    nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
					  NLM_F_CREATE | NLM_F_EXCL, &dflt),
			    what, err, err_len);
	if (ret)
		return ret;
	/* `ip route replace A/32 dev wdhN src G` */
	ret = nl_sock__link_get(host, ep->host_ifname, &wdh, err, err_len);
	if (ret)
		return ret;
	struct nl_route to_ep = {.table = RT_TABLE_MAIN,
				 .type = RTN_UNICAST,
				 .scope = RT_SCOPE_LINK,
				 .protocol = RTPROT_BOOT,
				 .dst = ep->ipv4,
				 .dst_len = 32,
				 .prefsrc = gateway,
				 .oif = wdh.ifindex};
	snprintf(what, sizeof(what), "add the route %s/32 dev %s src %s", addr,
		 ep->host_ifname, gw);
	ret = plumb_request(host,
			    nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
					  NLM_F_CREATE | NLM_F_REPLACE, &to_ep),
			    what, err, err_len);
	if (ret)
		return ret;
	ep->host_ifindex = wdh.ifindex;
	return 0;
}

int netdev_endpoint__create(struct netdev_endpoint *ep, const char *netns_prefix,
			    uint32_t gateway, char *err, size_t err_len)
{
	struct nl_sock host = {0}, ns = {0};
	int nsfd = -1, ret;

	snprintf(ep->netns, sizeof(ep->netns), "%s%u", netns_prefix, ep->id);
	snprintf(ep->host_ifname, sizeof(ep->host_ifname), NETDEV_VETH_PREFIX "%u",
		 ep->id);
	ep->host_ifindex = 0;
	ret = host_nl_open(&host, err, err_len);
	if (ret)
		return ret;
	/* `ip netns add NS`, IPv6 off inside, a socket of it. When this
	 * fails nothing was made (and a namespace of that name that exists
	 * is not ours to remove). */
	ret = netns__add(ep->netns, endpoint_netns_init, &ns, &nsfd, err, err_len);
	if (ret) {
		nl_sock__close(&host);
		return ret;
	}
	ret = endpoint_plumb(ep, &host, &ns, nsfd, gateway, err, err_len);
	nl_sock__close(&ns);
	nl_sock__close(&host);
	close(nsfd);
	if (ret)
		netdev_endpoint__destroy(ep);
	return ret;
}

/*
 * Kill every process still inside the namespace: deleting an endpoint is a
 * container going away, and a process left behind would keep the namespace
 * (and its veth) alive after its mount is gone.
 */
static void kill_netns_processes(const char *netns)
{
	char path[300];
	struct stat ns_st, st;
	struct dirent *de;
	DIR *proc;

	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	if (stat(path, &ns_st) < 0)
		return;
	proc = opendir("/proc");
	if (!proc)
		return;
	while ((de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		if (stat(path, &st) == 0 && st.st_ino == ns_st.st_ino &&
		    st.st_dev == ns_st.st_dev)
			kill((pid_t)pid, SIGKILL);
	}
	closedir(proc);
}

void netdev_endpoint__destroy(const struct netdev_endpoint *ep)
{
	struct nl_sock nl;
	struct nl_link wdh;
	union nl_buf req;

	kill_netns_processes(ep->netns);
	if (!nl_sock__open(&nl)) {
		/* `ip route del A/32 dev wdhN`, `ip link del wdhN`; what is
		 * already gone is not an error here. */
		if (!nl_sock__link_get(&nl, ep->host_ifname, &wdh, NULL, 0)) {
			struct nl_route to_ep = {.table = RT_TABLE_MAIN,
						 .scope = RT_SCOPE_NOWHERE,
						 .dst = ep->ipv4,
						 .dst_len = 32,
						 .oif = wdh.ifindex};

			nl_sock__request(
			    &nl,
			    nl_msg__route(req.buf, sizeof(req), RTM_DELROUTE, 0, &to_ep),
			    "", NULL, 0);
			nl_sock__request(
			    &nl, nl_msg__link_del(req.buf, sizeof(req), ep->host_ifname),
			    "", NULL, 0);
		}
		nl_sock__close(&nl);
	}
	/* `ip netns del NS` */
	netns__delete(ep->netns);
}

/* Is name "<prefix><digits>", an endpoint namespace of this prefix? (Not
 * one of another prefix that merely starts the same way.) */
static bool is_endpoint_netns(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n) || !name[n])
		return false;
	for (const char *p = name + n; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

void netdev__sweep_stale(const char *netns_prefix)
{
	struct if_nameindex *ifs, *it;
	struct nl_sock nl = {0};
	union nl_buf req;
	struct dirent *de;
	DIR *dir;

	dir = opendir(NETNS_RUN_DIR);
	if (dir) {
		while ((de = readdir(dir))) {
			if (!is_endpoint_netns(de->d_name, netns_prefix))
				continue;
			kill_netns_processes(de->d_name);
			pr_info("removing stale namespace %s\n", de->d_name);
			netns__delete(de->d_name);
		}
		closedir(dir);
	}
	if (nl_sock__open(&nl))
		return;
	ifs = if_nameindex();
	for (it = ifs; it && it->if_index; it++) {
		if (strncmp(it->if_name, NETDEV_VETH_PREFIX, strlen(NETDEV_VETH_PREFIX)))
			continue;
		pr_info("removing stale device %s\n", it->if_name);
		nl_sock__request(&nl, nl_msg__link_del(req.buf, sizeof(req), it->if_name),
				 "", NULL, 0);
	}
	if (ifs)
		if_freenameindex(ifs);
	nl_sock__close(&nl);
}
