// SPDX-License-Identifier: Apache-2.0
/*
 * CNI attachment plumbing over route netlink (netdev_cni.h): the layout of
 * netdev.c, in the runtime's namespace, which is named by a path
 * (/run/netns/cni-…, /proc/PID/ns/net). Requests for inside it go through a
 * netlink socket opened there (netns.h), so this thread never enters it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "warden/cni.h"
#include "warden/errbuf.h"
#include "warden/netdev_cni.h"
#include "warden/netlink.h"
#include "warden/netns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Open @path and check that it is a network namespace (a file of nsfs). */
static int open_netns(const char *path, int *nsfd, char *err, size_t err_len)
{
	struct statfs fs;
	int fd, ret = 0;

	*nsfd = -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		errbuf__printf(err, err_len, "netns %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstatfs(fd, &fs) < 0) {
		ret = -errno;
		errbuf__printf(err, err_len, "netns %s: %s", path, strerror(-ret));
	} else if (fs.f_type != NSFS_MAGIC) {
		ret = -EINVAL;
		errbuf__printf(err, err_len, "netns %s: not a network namespace", path);
	}
	if (ret)
		close(fd);
	else
		*nsfd = fd;
	return ret;
}

int netdev_cni__check_netns(const char *path, char *err, size_t err_len)
{
	int fd, ret = open_netns(path, &fd, err, err_len);

	if (!ret)
		close(fd);
	return ret;
}

static void format_mac(const struct nl_link *link, char *mac, size_t len)
{
	const unsigned char *m = link->mac;

	snprintf(mac, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
}

static void write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, value, strlen(value)) < 0) {
			/* IPv6 may be off in this kernel: nothing to disable. */
		}
		close(fd);
	}
}

/* Inside the runtime's namespace: IPv6 off on the container interface
 * (@arg, its name), before it is up. */
static int container_ipv6_off(void *arg)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 (const char *)arg);
	write_sysctl(path, "1");
	return 0;
}

/* The steps of an attachment once the sockets are open: @host in the
 * host's namespace, @ns in the runtime's (@nsfd). *@made is set once the
 * veth pair exists (then a failure must remove it). */
static int attach_plumb(struct netdev_cni *out, struct nl_sock *host, struct nl_sock *ns,
			int nsfd, const char *netns, uint32_t gateway, bool *made,
			char *err, size_t err_len)
{
	char addr[INET_ADDRSTRLEN], path[96];
	struct nl_link container, wdc;
	union nl_buf req;
	int ret;

	inet_ntop(AF_INET, &out->ipv4, addr, sizeof(addr));
	ret = nl_sock__link_get(ns, out->ifname, &container, NULL, 0);
	if (ret != -ENODEV) {
		if (!ret)
			errbuf__printf(err, err_len, "%s already exists in %s",
				       out->ifname, netns);
		else
			errbuf__printf(err, err_len, "look up %s in %s: %s", out->ifname,
				       netns, strerror(-ret));
		return ret ? ret : -EEXIST;
	}
	/* The container end made in the namespace under its final name, in
	 * the same request as the pair: the runtime never sees another name,
	 * and a failure leaves nothing behind. */
	ret = nl_sock__request(
	    host, nl_msg__veth(req.buf, sizeof(req), out->host_ifname, out->ifname, nsfd),
	    "create the veth pair (its container end in the namespace)", err, err_len);
	if (ret)
		return ret;
	*made = true;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 out->host_ifname);
	write_sysctl(path, "1");
	netns__run(nsfd, container_ipv6_off, out->ifname);
	if (nl_sock__link_get(host, out->host_ifname, &wdc, NULL, 0) ||
	    nl_sock__link_get(ns, out->ifname, &container, NULL, 0) || !wdc.has_mac ||
	    !container.has_mac) {
		errbuf__printf(err, err_len, "read the MAC addresses of %s",
			       out->host_ifname);
		return -EIO;
	}
	format_mac(&wdc, out->host_mac, sizeof(out->host_mac));
	format_mac(&container, out->container_mac, sizeof(out->container_mac));
	ret = nl_sock__request(ns,
			       nl_msg__addr(req.buf, sizeof(req), RTM_NEWADDR,
					    NLM_F_CREATE | NLM_F_EXCL, container.ifindex,
					    out->ipv4, 32),
			       "address the container interface", err, err_len);
	if (!ret)
		ret = nl_sock__request(ns, nl_msg__link_up(req.buf, sizeof(req), 0, "lo"),
				       "bring lo up in the namespace", err, err_len);
	if (!ret)
		ret = nl_sock__request(
		    ns, nl_msg__link_up(req.buf, sizeof(req), container.ifindex, NULL),
		    "bring the container interface up", err, err_len);
	if (!ret)
		ret = nl_sock__request(
		    host, nl_msg__link_up(req.buf, sizeof(req), wdc.ifindex, NULL),
		    "bring the host device up", err, err_len);
	if (ret)
		return ret;
	struct nl_route to_gw = {.table = RT_TABLE_MAIN,
				 .type = RTN_UNICAST,
				 .scope = RT_SCOPE_LINK,
				 .protocol = RTPROT_BOOT,
				 .dst = gateway,
				 .dst_len = 32,
				 .oif = container.ifindex};
	struct nl_route dflt = {.table = RT_TABLE_MAIN,
				.type = RTN_UNICAST,
				.scope = RT_SCOPE_UNIVERSE,
				.protocol = RTPROT_BOOT,
				.gateway = gateway,
				.prefsrc = out->ipv4,
				.oif = container.ifindex};
	struct nl_route to_ep = {.table = RT_TABLE_MAIN,
				 .type = RTN_UNICAST,
				 .scope = RT_SCOPE_LINK,
				 .protocol = RTPROT_BOOT,
				 .dst = out->ipv4,
				 .dst_len = 32,
				 .prefsrc = gateway,
				 .oif = wdc.ifindex};

	ret = nl_sock__request(ns,
			       nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
					     NLM_F_CREATE | NLM_F_EXCL, &to_gw),
			       "route to the gateway in the namespace", err, err_len);
	if (!ret)
		ret = nl_sock__request(ns,
				       nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
						     NLM_F_CREATE | NLM_F_EXCL, &dflt),
				       "default route in the namespace", err, err_len);
	if (!ret)
		ret =
		    nl_sock__request(host,
				     nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
						   NLM_F_CREATE | NLM_F_REPLACE, &to_ep),
				     "route to the endpoint on the host", err, err_len);
	if (ret)
		return ret;
	out->host_ifindex = wdc.ifindex;
	return 0;
}

int netdev_cni__attach(struct netdev_cni *out, const char *container_id,
		       const char *ifname, const char *netns, uint32_t ipv4,
		       uint32_t gateway, char *err, size_t err_len)
{
	struct nl_sock host = {0}, ns = {0};
	bool made = false;
	int nsfd = -1, ret;

	memset(out, 0, sizeof(*out));
	ret = open_netns(netns, &nsfd, err, err_len);
	if (ret)
		return ret;
	cni_attachment__ifname(CNI_HOST_IFNAME_PREFIX, container_id, ifname,
			       out->host_ifname, sizeof(out->host_ifname));
	snprintf(out->ifname, sizeof(out->ifname), "%s", ifname);
	out->ipv4 = ipv4;
	ret = nl_sock__open(&host);
	if (ret) {
		errbuf__printf(err, err_len, "open a route netlink socket: %s",
			       strerror(-ret));
		goto out;
	}
	ret = netns__nl_open(nsfd, &ns);
	if (ret) {
		errbuf__printf(err, err_len, "open a route netlink socket in %s: %s",
			       netns, strerror(-ret));
		goto out;
	}
	ret = attach_plumb(out, &host, &ns, nsfd, netns, gateway, &made, err, err_len);
	/* Undo: removing the host device takes the container end with it. */
	if (ret && made)
		netdev_cni__detach(container_id, ifname);
out:
	nl_sock__close(&ns);
	nl_sock__close(&host);
	close(nsfd);
	return ret;
}

int netdev_cni__detach(const char *container_id, const char *ifname)
{
	struct nl_sock nl;
	union nl_buf req;
	char host[16];
	int ret;

	cni_attachment__ifname(CNI_HOST_IFNAME_PREFIX, container_id, ifname, host,
			       sizeof(host));
	if (nl_sock__open(&nl))
		return 0;
	/* `ip link del wdcX`; -ENODEV: nothing to remove. */
	ret = nl_sock__request(&nl, nl_msg__link_del(req.buf, sizeof(req), host), "",
			       NULL, 0);
	nl_sock__close(&nl);
	return ret == 0;
}
