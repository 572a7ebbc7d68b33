// SPDX-License-Identifier: Apache-2.0
/*
 * wardend: the agent. Owns identities, endpoints, policy and the datapath,
 * and serves the CLI on a Unix socket. Single-threaded: one epoll loop over
 * the control socket, its clients, the datapath's event ring buffer and a
 * signalfd.
 *
 * Lifetime: endpoints live as long as the agent. On SIGTERM/SIGINT it
 * removes every endpoint, its own devices, routes and maps, and exits 0.
 * After a crash the next start sweeps what the dead agent left.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "warden/bpffs.h"
#include "warden/log.h"
#include "warden/prefix.h"
#include "warden/redirect.h"

#define MAX_REQUEST (64u << 20)

struct client {
	struct client *next;
	int fd;
	char *buf;
	size_t len;
	size_t cap;
	bool monitoring;
	bool replayed;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: wardend [--state-dir DIR] [--socket PATH] [--pod-cidr CIDR] [-v|--debug]\n"
		"  --state-dir DIR   lock file and state (default /var/lib/warden)\n"
		"  --socket PATH     control socket (default /run/warden/warden.sock)\n"
		"  --pod-cidr CIDR   IPv4 range for endpoints (default 10.200.0.0/16)\n"
		"  --proxy-port PORT the L7 proxy's listener (default 15001)\n"
		"  --proxy-workers N the L7 proxy's worker threads (default: one per CPU)\n"
		"  --metrics-address IP:PORT  Prometheus endpoint (default 127.0.0.1:9962,\n"
		"                    \"\" to disable)\n"
		"  --deny-response drop|reject  what a policy-denied packet gets by default:\n"
		"                    silence, or a TCP RST / ICMP unreachable (default drop;\n"
		"                    a policy may override it, docs/policy-modes.md)\n");
}

static int mkdir_p(const char *path)
{
	char tmp[512];

	if (strlen(path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	strcpy(tmp, path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int dirname_mkdir(const char *file)
{
	char dir[512];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir);
}

/* One agent per state dir: an exclusive flock held for the whole run. */
static int take_lock(const char *state_dir)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/wardend.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", getpid());
	return fd;
}

static int ipcache_sink_set(void *ctx, const struct policy_prefix *p, uint32_t identity)
{
	return datapath__ipcache_set(ctx, p, identity);
}

static int ipcache_sink_remove(void *ctx, const struct policy_prefix *p)
{
	return datapath__ipcache_delete(ctx, p);
}

/* Every IPv4 address of the host is the host identity (Cilium does the
 * same), so traffic from the node itself is `host`, never `world`. */
static int register_host_addresses(struct agent *agent)
{
	struct ifaddrs *ifa, *it;
	struct policy_prefix p = { .family = 4, .len = 32 };
	int err;

	memcpy(p.addr, &agent->config.gateway, 4);
	err = ipcache__upsert(agent->ipcache, &p, WARDEN_IDENTITY_HOST);
	if (err)
		return err;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (it = ifa; it; it = it->ifa_next) {
		if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET)
			continue;
		memset(p.addr, 0, sizeof(p.addr));
		memcpy(p.addr, &((struct sockaddr_in *)it->ifa_addr)->sin_addr, 4);
		err = ipcache__upsert(agent->ipcache, &p, WARDEN_IDENTITY_HOST);
		if (err)
			break;
	}
	freeifaddrs(ifa);
	return err;
}

static void client_close(struct agent *agent, struct client **list, struct client *c)
{
	for (struct client **pp = list; *pp; pp = &(*pp)->next) {
		if (*pp != c)
			continue;
		*pp = c->next;
		break;
	}
	if (c->monitoring)
		monitor__unsubscribe(agent, c->fd);
	close(c->fd);
	free(c->buf);
	free(c);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read what is there and answer every complete line. Returns -1 to close. */
static int client_readable(struct agent *agent, struct client *c)
{
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 65536) {
			size_t cap = c->cap ? c->cap * 2 : 131072;
			char *buf;

			if (cap > MAX_REQUEST)
				return -1;
			buf = realloc(c->buf, cap);
			if (!buf)
				return -1;
			c->buf = buf;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		json_t *reply;
		char *text;
		int err;

		if (!nl)
			break;
		*nl = '\0';
		reply = control__handle(agent, c->fd, c->buf);
		if (!strncmp(c->buf, "{", 1) && json_is_true(json_object_get(reply, "ok")) &&
		    json_object_get(json_object_get(reply, "result"), "streaming"))
			c->monitoring = true;
		text = json_dumps(reply, JSON_COMPACT);
		json_decref(reply);
		if (!text)
			return -1;
		err = write_all(c->fd, text, strlen(text));
		if (!err)
			err = write_all(c->fd, "\n", 1);
		free(text);
		if (err)
			return -1;
		/* A monitor gets its history right after the reply; one that
		 * asked for history only is done then. */
		if (c->monitoring && !c->replayed) {
			c->replayed = true;
			if (!monitor__replay(agent, c->fd))
				return -1;
		}
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len);
	}
	return 0;
}

static int parse_pod_cidr(const char *text, struct agent_config *config)
{
	struct policy_prefix p;
	uint32_t net;

	if (policy_prefix__parse(text, &p) || p.family != 4 || p.len > 28 || p.len < 8)
		return -EINVAL;
	memcpy(&net, p.addr, 4);
	config->pod_net = net;
	config->pod_prefix_len = p.len;
	config->gateway = htonl(ntohl(net) + 1);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "pod-cidr", required_argument, NULL, 'p' },
		{ "proxy-port", required_argument, NULL, 'P' },
		{ "metrics-address", required_argument, NULL, 'm' },
		{ "deny-response", required_argument, NULL, 'd' },
		{ "proxy-workers", required_argument, NULL, 'W' },
		{ "debug", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent agent = { 0 };
	struct client *clients = NULL;
	const char *pod_cidr = "10.200.0.0/16";
	int lock_fd = -1, listen_fd = -1, sig_fd = -1, ep_fd = -1, events_fd, metrics_fd = -1;
	bool host_ready = false, redirect_ready = false, running = true;
	char err[1024];
	sigset_t mask;
	int opt, ret = 1;

	agent.config.state_dir = "/var/lib/warden";
	agent.config.socket_path = "/run/warden/warden.sock";
	agent.next_endpoint_id = 1;
	agent.config.proxy_port = WARDEN_PROXY_PORT_DEFAULT;
	agent.config.metrics_address = METRICS_ADDRESS_DEFAULT;
	agent.proxy_events_fd = -1;
	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			agent.config.state_dir = optarg;
			break;
		case 'S':
			agent.config.socket_path = optarg;
			break;
		case 'p':
			pod_cidr = optarg;
			break;
		case 'm':
			agent.config.metrics_address = optarg;
			break;
		case 'W':
			agent.config.proxy_workers = (unsigned int)atoi(optarg);
			if (agent.config.proxy_workers < 1 || agent.config.proxy_workers > 256) {
				fprintf(stderr, "wardend: --proxy-workers takes 1..256\n");
				return 2;
			}
			break;
		case 'd':
			if (strcmp(optarg, "drop") && strcmp(optarg, "reject")) {
				fprintf(stderr,
					"wardend: --deny-response takes drop or reject, not '%s'\n",
					optarg);
				return 2;
			}
			agent.config.reject_by_default = !strcmp(optarg, "reject");
			break;
		case 'P':
			agent.config.proxy_port = (uint16_t)atoi(optarg);
			if (!agent.config.proxy_port) {
				fprintf(stderr, "wardend: --proxy-port needs a port number\n");
				return 2;
			}
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (parse_pod_cidr(pod_cidr, &agent.config)) {
		fprintf(stderr, "wardend: --pod-cidr %s: expected an IPv4 network /8 to /28\n",
			pod_cidr);
		return 2;
	}
	log_route_libbpf();
	if (mkdir_p(agent.config.state_dir) || dirname_mkdir(agent.config.socket_path)) {
		pr_warn("cannot create %s or the socket's directory: %s\n",
			agent.config.state_dir, strerror(errno));
		return 1;
	}
	lock_fd = take_lock(agent.config.state_dir);
	if (lock_fd < 0) {
		if (lock_fd == -EBUSY)
			pr_warn("wardend is already running (lock %s/wardend.lock is held)\n",
				agent.config.state_dir);
		else
			pr_warn("lock %s/wardend.lock: %s\n", agent.config.state_dir,
				strerror(-lock_fd));
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	/* Pinned state lives on the BPF filesystem: mount it if the machine
	 * has not (a fresh machine may not). */
	if (bpffs__ensure(BPFFS_ROOT, NULL)) {
		pr_warn("the BPF filesystem is needed at %s\n", BPFFS_ROOT);
		goto cleanup;
	}
	netdev__sweep_stale();
	netdev_host__teardown(agent.config.pod_net, agent.config.pod_prefix_len,
				      agent.config.gateway);
	if (netdev_host__setup(agent.config.pod_net, agent.config.pod_prefix_len,
			       agent.config.gateway, err, sizeof(err))) {
		pr_warn("host network set-up: %s\n", err);
		goto cleanup;
	}
	host_ready = true;
	if (identity_allocator__new_local(&agent.identities))
		goto cleanup;
	ret = datapath__open(&agent.datapath, monitor__on_event, &agent);
	if (ret) {
		pr_warn("cannot load the datapath: %s\n", strerror(-ret));
		ret = 1;
		goto cleanup;
	}
	ret = 1;
	struct ipcache_sink sink = { .set = ipcache_sink_set,
				     .remove = ipcache_sink_remove,
				     .ctx = agent.datapath };
	if (ipcache__new_local(&agent.ipcache, &sink) || register_host_addresses(&agent)) {
		pr_warn("cannot fill the ipcache\n");
		goto cleanup;
	}
	if (redirect__setup(agent.config.proxy_port, agent.config.state_dir, err,
			    sizeof(err))) {
		pr_warn("L7 redirect set-up: %s\n", err);
		goto cleanup;
	}
	redirect_ready = true;
	if (proxy__start(&agent))
		pr_warn("the L7 proxy did not start: traffic that needs it is dropped\n");
	listen_fd = control__listen(agent.config.socket_path);
	if (listen_fd < 0) {
		pr_warn("listen on %s: %s\n", agent.config.socket_path, strerror(-listen_fd));
		goto cleanup;
	}
	if (agent.config.metrics_address[0]) {
		metrics_fd = metrics__listen(agent.config.metrics_address);
		if (metrics_fd < 0) {
			pr_warn("metrics on %s: %s\n", agent.config.metrics_address,
				strerror(-metrics_fd));
			goto cleanup;
		}
	}
	ep_fd = epoll_create1(EPOLL_CLOEXEC);
	events_fd = datapath__events_fd(agent.datapath);
	struct epoll_event ev = { .events = EPOLLIN };

	ev.data.ptr = &listen_fd;
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, listen_fd, &ev);
	ev.data.ptr = &sig_fd;
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, sig_fd, &ev);
	ev.data.ptr = &events_fd;
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, events_fd, &ev);
	if (metrics_fd >= 0) {
		ev.data.ptr = &metrics_fd;
		epoll_ctl(ep_fd, EPOLL_CTL_ADD, metrics_fd, &ev);
	}
	if (agent.proxy_events_fd >= 0) {
		ev.data.ptr = &agent.proxy_events_fd;
		epoll_ctl(ep_fd, EPOLL_CTL_ADD, agent.proxy_events_fd, &ev);
	}
	pr_info("wardend %s ready: socket %s, pod CIDR %s\n", WARDEN_VERSION,
		agent.config.socket_path, pod_cidr);

	while (running) {
		struct epoll_event events[32];
		/* Datapath events are collected every WARDEN_EVENTS_POLL_MS (the
		 * datapath wakes us early only for a big batch); a proxy that
		 * keeps crashing is retried once a second. */
		int n = epoll_wait(ep_fd, events, 32, WARDEN_EVENTS_POLL_MS);

		proxy__retry(&agent);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_warn("epoll: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			void *tag = events[i].data.ptr;

			if (tag == &sig_fd) {
				struct signalfd_siginfo si;

				while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGCHLD) {
						proxy__on_child_exit(&agent);
						continue;
					}
					pr_info("signal %u: shutting down\n", si.ssi_signo);
					running = false;
				}
			} else if (tag == &metrics_fd) {
				metrics__serve(&agent, metrics_fd);
			} else if (tag == &agent.proxy_events_fd) {
				proxy__on_events(&agent);
			} else if (tag == &events_fd) {
				/* Collected below, as on every round. */
			} else if (tag == &listen_fd) {
				int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
				struct timeval tv = { .tv_sec = 5 };
				struct client *c;

				if (fd < 0)
					continue;
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				/* Replies are written blocking, but never for long. */
				setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
				c->fd = fd;
				c->next = clients;
				clients = c;
				ev.events = EPOLLIN | EPOLLRDHUP;
				ev.data.ptr = c;
				epoll_ctl(ep_fd, EPOLL_CTL_ADD, fd, &ev);
			} else {
				struct client *c = tag;

				if (client_readable(&agent, c) < 0) {
					epoll_ctl(ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
					client_close(&agent, &clients, c);
				}
			}
		}
		/* Every round: the datapath's events, then one write per
		 * monitor client for them and for the proxy's records. */
		datapath__events_poll(agent.datapath);
		monitor__flush(&agent);
	}
	ret = 0;
cleanup:
	while (clients)
		client_close(&agent, &clients, clients);
	monitor__free_all(&agent);
	proxy__stop(&agent);
	if (redirect_ready)
		redirect__teardown();
	if (agent.datapath) {
		endpoint__delete_all(&agent);
		policy_repo__free(&agent);
	}
	for (size_t i = 0; i < agent.namespace_count; i++) {
		free(agent.namespaces[i].name);
		label_set__free(&agent.namespaces[i].labels);
	}
	free(agent.namespaces);
	free(agent.endpoints);
	ipcache__free(agent.ipcache);
	datapath__close(agent.datapath);
	identity_allocator__free(agent.identities);
	if (host_ready)
		netdev_host__teardown(agent.config.pod_net, agent.config.pod_prefix_len,
				      agent.config.gateway);
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(agent.config.socket_path);
	}
	if (ep_fd >= 0)
		close(ep_fd);
	if (metrics_fd >= 0)
		close(metrics_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	if (lock_fd >= 0)
		close(lock_fd);
	pr_info("wardend stopped\n");
	return ret;
}
