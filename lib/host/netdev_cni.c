// SPDX-License-Identifier: Apache-2.0
/*
 * CNI attachment plumbing through iproute2 (netdev_cni.h). Commands inside
 * the runtime's namespace run as `nsenter --net=PATH ip …`: the namespace
 * is named by a path (/run/netns/cni-…, /proc/PID/ns/net), which `ip -n`
 * does not take.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "warden/cni.h"
#include "warden/netdev.h"
#include "warden/netdev_cni.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int netdev_cni__check_netns(const char *path, char *err, size_t err_len)
{
	struct statfs fs;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "netns %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstatfs(fd, &fs) < 0) {
		ret = -errno;
		snprintf(err, err_len, "netns %s: %s", path, strerror(errno));
	} else if (fs.f_type != NSFS_MAGIC) {
		ret = -EINVAL;
		snprintf(err, err_len, "netns %s: not a network namespace", path);
	}
	close(fd);
	return ret;
}

/* Run @argv; on failure "what: stderr" into err and -EIO. */
static int step(const char *what, const char *const argv[], char *err, size_t err_len)
{
	char out[512];
	int ret = netdev__run(argv, out, sizeof(out));

	if (!ret)
		return 0;
	snprintf(err, err_len, "%s: %s", what, out[0] ? out : "failed");
	return ret < 0 ? ret : -EIO;
}

static int read_mac(const char *ifname, char *mac, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, mac, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	mac[n] = '\0';
	mac[strcspn(mac, "\n")] = '\0';
	return 0;
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

int netdev_cni__attach(struct netdev_cni *out, const char *container_id,
		       const char *ifname, const char *netns, uint32_t ipv4,
		       uint32_t gateway, char *err, size_t err_len)
{
	char peer[16], addr[INET_ADDRSTRLEN], addr32[32], gw[INET_ADDRSTRLEN];
	char nsarg[4200], v6[96], path[96];
	int ret;

	memset(out, 0, sizeof(*out));
	ret = netdev_cni__check_netns(netns, err, err_len);
	if (ret)
		return ret;
	cni_attachment__ifname(CNI_HOST_IFNAME_PREFIX, container_id, ifname,
			       out->host_ifname, sizeof(out->host_ifname));
	cni_attachment__ifname(CNI_PEER_IFNAME_PREFIX, container_id, ifname, peer,
			       sizeof(peer));
	snprintf(out->ifname, sizeof(out->ifname), "%s", ifname);
	out->ipv4 = ipv4;
	inet_ntop(AF_INET, &ipv4, addr, sizeof(addr));
	snprintf(addr32, sizeof(addr32), "%s/32", addr);
	inet_ntop(AF_INET, &gateway, gw, sizeof(gw));
	snprintf(nsarg, sizeof(nsarg), "--net=%s", netns);
	snprintf(v6, sizeof(v6), "net.ipv6.conf.%s.disable_ipv6=1", ifname);

	const char *exists[] = {"nsenter", nsarg, "ip",	  "link",
				"show",	   "dev", ifname, NULL};
	const char *add[] = {"ip",   "link", "add",  out->host_ifname,
			     "type", "veth", "peer", "name",
			     peer,   NULL};
	/* Moved and renamed in one request: the runtime never sees wdtX. */
	const char *move[] = {"ip",  "link", "set",  peer, "netns",
			      netns, "name", ifname, NULL};
	const char *ns_addr[] = {"nsenter", nsarg, "ip",   "addr", "add",
				 addr32,    "dev", ifname, NULL};
	const char *ns_lo[] = {"nsenter", nsarg, "ip", "link", "set", "lo", "up", NULL};
	const char *ns_up[] = {"nsenter", nsarg, "ip", "link", "set", ifname, "up", NULL};
	const char *ns_gw[] = {"nsenter", nsarg,  "ip",	   "route", "add", gw,
			       "dev",	  ifname, "scope", "link",  NULL};
	const char *ns_default[] = {"nsenter", nsarg, "ip", "route", "add",
				    "default", "via", gw,   "dev",   ifname,
				    "src",     addr,  NULL};
	const char *ns_v6[] = {"nsenter", nsarg, "sysctl", "-qw", v6, NULL};
	const char *host_up[] = {"ip", "link", "set", out->host_ifname, "up", NULL};
	const char *host_route[] = {
	    "ip", "route", "replace", addr32, "dev", out->host_ifname, "src", gw, NULL};

	if (netdev__run(exists, NULL, 0) == 0) {
		snprintf(err, err_len, "%s already exists in %s", ifname, netns);
		return -EEXIST;
	}
	ret = step("create the veth pair", add, err, err_len);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 out->host_ifname);
	write_sysctl(path, "1");
	if (read_mac(out->host_ifname, out->host_mac, sizeof(out->host_mac)) ||
	    read_mac(peer, out->container_mac, sizeof(out->container_mac))) {
		snprintf(err, err_len, "read the MAC addresses of %s", out->host_ifname);
		ret = -EIO;
		goto fail;
	}
	ret = step("move the container end into the namespace", move, err, err_len);
	if (!ret)
		ret = step("address the container interface", ns_addr, err, err_len);
	if (!ret)
		ret = step("bring lo up in the namespace", ns_lo, err, err_len);
	if (!ret)
		ret = step("bring the container interface up", ns_up, err, err_len);
	if (!ret)
		netdev__run(ns_v6, NULL, 0);
	if (!ret)
		ret = step("bring the host device up", host_up, err, err_len);
	if (!ret)
		ret = step("route to the gateway in the namespace", ns_gw, err, err_len);
	if (!ret)
		ret = step("default route in the namespace", ns_default, err, err_len);
	if (!ret)
		ret = step("route to the endpoint on the host", host_route, err, err_len);
	if (ret)
		goto fail;
	out->host_ifindex = (int)if_nametoindex(out->host_ifname);
	if (!out->host_ifindex) {
		ret = -errno;
		snprintf(err, err_len, "%s vanished: %s", out->host_ifname,
			 strerror(errno));
		goto fail;
	}
	return 0;
fail:
	netdev_cni__detach(container_id, ifname);
	return ret;
}

int netdev_cni__detach(const char *container_id, const char *ifname)
{
	char host[16];

	cni_attachment__ifname(CNI_HOST_IFNAME_PREFIX, container_id, ifname, host,
			       sizeof(host));
	if (!if_nametoindex(host))
		return 0;
	const char *del[] = {"ip", "link", "del", host, NULL};

	return netdev__run(del, NULL, 0) == 0;
}
