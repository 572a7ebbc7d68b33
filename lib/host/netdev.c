// SPDX-License-Identifier: Apache-2.0
/* Endpoint plumbing through iproute2; see netdev.h for the layout. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "warden/log.h"
#include "warden/netdev.h"

/* Append what the child wrote to err (as much as fits). */
static void stderr_take(int fd, char *err, size_t err_len, size_t *used)
{
	for (;;) {
		char buf[256];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (err && *used + 1 < err_len) {
			size_t take = (size_t)n < err_len - *used - 1
					  ? (size_t)n
					  : err_len - *used - 1;

			memcpy(err + *used, buf, take);
			*used += take;
			err[*used] = '\0';
		}
	}
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait for the child to exit, collecting its stderr, for at most
 * timeout_ms; then kill it. The child's exit is watched through a pidfd,
 * not only the pipe's end, since a grandchild it left behind may hold the
 * pipe open. Returns 0 (it exited) or -ETIMEDOUT (killed).
 */
static int child_wait(pid_t pid, int out_fd, int timeout_ms, char *err, size_t err_len,
		      size_t *used)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int64_t deadline = monotonic_ms() + timeout_ms;
	struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN},
				{.fd = pidfd, .events = POLLIN}};
	int ret = 0;

	fcntl(out_fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		int64_t left = deadline - monotonic_ms();
		int n;

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		/* Without a pidfd (before Linux 5.3): the pipe's end it is,
		 * and the timeout. */
		n = poll(fds, pidfd >= 0 ? 2 : 1, (int)(left < 100 ? left : 100));
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (fds[0].fd >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			stderr_take(out_fd, err, err_len, used);
			if (fds[0].revents & (POLLHUP | POLLERR)) {
				fds[0].fd = -1; /* its end: wait for the exit */
				if (pidfd < 0)
					break;
			}
		}
		if (pidfd >= 0 && (fds[1].revents & POLLIN)) {
			stderr_take(out_fd, err, err_len, used);
			break;
		}
	}
	if (ret == -ETIMEDOUT)
		kill(pid, SIGKILL);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

int netdev__run_timeout(const char *const argv[], int timeout_ms, char *err,
			size_t err_len)
{
	int pipefd[2], status, ret;
	pid_t pid;
	size_t used = 0;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	if (err && err_len)
		err[0] = '\0';
	ret = child_wait(pid, pipefd[0], timeout_ms, err, err_len, &used);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (ret == -ETIMEDOUT) {
		if (err && err_len)
			snprintf(err, err_len, "%s: no answer after %d ms, killed",
				 argv[0], timeout_ms);
		return ret;
	}
	if (err && used && err[used - 1] == '\n')
		err[used - 1] = '\0';
	if (!WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status);
}

int netdev__run(const char *const argv[], char *err, size_t err_len)
{
	return netdev__run_timeout(argv, NETDEV_RUN_TIMEOUT_MS, err, err_len);
}

/* Run and turn a failure into -EIO with "cmd: stderr" in err. */
static int run_checked(const char *const argv[], char *err, size_t err_len)
{
	char out[512];
	int ret = netdev__run(argv, out, sizeof(out));

	if (ret == 0)
		return 0;
	if (err) {
		size_t off = 0;

		for (int i = 0; argv[i] && off < err_len; i++)
			off += snprintf(err + off, err_len - off, "%s%s", i ? " " : "",
					argv[i]);
		if (off < err_len)
			snprintf(err + off, err_len - off, ": %s",
				 out[0] ? out : "failed");
	}
	return ret < 0 ? ret : -EIO;
}

static void run_quiet(const char *const argv[])
{
	netdev__run(argv, NULL, 0);
}

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

int netdev_host__setup(uint32_t pod_net, int pod_prefix_len, uint32_t gateway, char *err,
		       size_t err_len)
{
	char cidr[32], gw[40];
	int ret;

	format_prefix(pod_net, pod_prefix_len, cidr, sizeof(cidr));
	format_prefix(gateway, 32, gw, sizeof(gw));

	/* On lo rather than a dummy device: not every kernel has the dummy
	 * driver, and a local address answers ARP on every interface. */
	const char *add_addr[] = {"ip", "addr", "replace", gw, "dev", "lo", NULL};
	/* A packet to an unassigned pod address must never leave the host. */
	const char *unreachable[] = {"ip", "route", "replace", "unreachable", cidr, NULL};

	ret = run_checked(add_addr, err, err_len);
	if (!ret)
		ret = run_checked(unreachable, err, err_len);
	if (!ret) {
		ret = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
		if (ret && err)
			snprintf(err, err_len, "enable net.ipv4.ip_forward: %s",
				 strerror(-ret));
	}
	if (ret)
		netdev_host__teardown(pod_net, pod_prefix_len, gateway);
	return ret;
}

void netdev_host__teardown(uint32_t pod_net, int pod_prefix_len, uint32_t gateway)
{
	char cidr[32], gw[40];

	format_prefix(pod_net, pod_prefix_len, cidr, sizeof(cidr));
	format_prefix(gateway, 32, gw, sizeof(gw));
	const char *del_route[] = {"ip", "route", "del", "unreachable", cidr, NULL};
	const char *del_addr[] = {"ip", "addr", "del", gw, "dev", "lo", NULL};

	run_quiet(del_route);
	run_quiet(del_addr);
}

int netdev_endpoint__create(struct netdev_endpoint *ep, const char *netns_prefix,
			    uint32_t gateway, char *err, size_t err_len)
{
	char addr[40], addr32[48], gw[INET_ADDRSTRLEN], peer[16], path[128];
	int ret;

	snprintf(ep->netns, sizeof(ep->netns), "%s%u", netns_prefix, ep->id);
	snprintf(ep->host_ifname, sizeof(ep->host_ifname), NETDEV_VETH_PREFIX "%u",
		 ep->id);
	snprintf(peer, sizeof(peer), "wdp%u", ep->id);
	inet_ntop(AF_INET, &ep->ipv4, addr, sizeof(addr));
	snprintf(addr32, sizeof(addr32), "%s/32", addr);
	inet_ntop(AF_INET, &gateway, gw, sizeof(gw));

	const char *add_ns[] = {"ip", "netns", "add", ep->netns, NULL};
	const char *add_veth[] = {"ip",	  "link",  "add",     ep->host_ifname,
				  "type", "veth",  "peer",    "name",
				  peer,	  "netns", ep->netns, NULL};
	const char *rename[] = {"ip", "-n",   ep->netns, "link", "set",
				peer, "name", "eth0",	 NULL};
	const char *ns_addr[] = {"ip",	 "-n",	ep->netns, "addr", "add",
				 addr32, "dev", "eth0",	   NULL};
	const char *ns_lo[] = {"ip", "-n", ep->netns, "link", "set", "lo", "up", NULL};
	const char *ns_up[] = {"ip", "-n", ep->netns, "link", "set", "eth0", "up", NULL};
	const char *ns_gw[] = {"ip",  "-n",   ep->netns, "route", "add", gw,
			       "dev", "eth0", "scope",	 "link",  NULL};
	const char *ns_default[] = {"ip",      "-n",  ep->netns, "route", "add",
				    "default", "via", gw,	 "dev",	  "eth0",
				    "src",     addr,  NULL};
	const char *host_up[] = {"ip", "link", "set", ep->host_ifname, "up", NULL};
	const char *host_route[] = {
	    "ip", "route", "replace", addr32, "dev", ep->host_ifname, "src", gw, NULL};
	const char *const *steps[] = {add_ns, add_veth, rename, ns_addr,    ns_lo,
				      ns_up,  host_up,	ns_gw,	ns_default, host_route};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ret = run_checked(steps[i], err, err_len);
		if (ret)
			goto fail;
		if (steps[i] == add_veth) {
			/* IPv4 only for now: keep IPv6 chatter off the veth. */
			snprintf(path, sizeof(path),
				 "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
				 ep->host_ifname);
			write_sysctl(path, "1");
		}
	}
	{
		const char *ns_v6[] = {"ip",
				       "netns",
				       "exec",
				       ep->netns,
				       "sysctl",
				       "-qw",
				       "net.ipv6.conf.all.disable_ipv6=1",
				       NULL};
		run_quiet(ns_v6);
	}
	ep->host_ifindex = (int)if_nametoindex(ep->host_ifname);
	if (!ep->host_ifindex) {
		ret = -errno;
		snprintf(err, err_len, "%s vanished: %s", ep->host_ifname,
			 strerror(errno));
		goto fail;
	}
	return 0;
fail:
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
	char addr32[48], addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ep->ipv4, addr, sizeof(addr));
	snprintf(addr32, sizeof(addr32), "%s/32", addr);
	const char *del_route[] = {"ip",  "route",	   "del", addr32,
				   "dev", ep->host_ifname, NULL};
	const char *del_link[] = {"ip", "link", "del", ep->host_ifname, NULL};
	const char *del_ns[] = {"ip", "netns", "del", ep->netns, NULL};

	kill_netns_processes(ep->netns);
	run_quiet(del_route);
	run_quiet(del_link);
	run_quiet(del_ns);
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
	DIR *dir;
	struct dirent *de;

	dir = opendir("/run/netns");
	if (dir) {
		while ((de = readdir(dir))) {
			if (!is_endpoint_netns(de->d_name, netns_prefix))
				continue;
			const char *del_ns[] = {"ip", "netns", "del", de->d_name, NULL};

			kill_netns_processes(de->d_name);
			pr_info("removing stale namespace %s\n", de->d_name);
			run_quiet(del_ns);
		}
		closedir(dir);
	}
	ifs = if_nameindex();
	for (it = ifs; it && it->if_index; it++) {
		if (strncmp(it->if_name, NETDEV_VETH_PREFIX, strlen(NETDEV_VETH_PREFIX)))
			continue;
		const char *del_link[] = {"ip", "link", "del", it->if_name, NULL};

		pr_info("removing stale device %s\n", it->if_name);
		run_quiet(del_link);
	}
	if (ifs)
		if_freenameindex(ifs);
}
