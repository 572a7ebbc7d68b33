// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's lifetime on the host: what agent__start sets up, in order
 * (state dir and lock, host network, identities, datapath, ipcache, L7
 * redirect, proxy), and what agent__stop removes (every endpoint, then the
 * same in reverse). Endpoints live as long as the agent; after a crash the
 * next start sweeps what the dead agent left.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "endpoint.h"
#include "monitor.h"
#include "policy_repo.h"
#include "proxy.h"
#include "warden/bpffs.h"
#include "warden/identity.h"
#include "warden/ipcache.h"
#include "warden/log.h"
#include "warden/netdev.h"
#include "warden/prefix.h"
#include "warden/reason.h"
#include "warden/redirect.h"

void agent__init(struct agent *agent, const struct agent_config *config)
{
	memset(agent, 0, sizeof(*agent));
	agent->config = *config;
	agent->lock_fd = -1;
	agent->next_endpoint_id = 1;
	agent->proxy.events_fd = -1;
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

/* The state dir, the socket's directory, and the lock. */
static int state_dir_lock(struct agent *agent)
{
	const struct agent_config *config = &agent->config;

	if (mkdir_p(config->state_dir) || dirname_mkdir(config->socket_path)) {
		int err = -errno;

		pr_warn("cannot create %s or the socket's directory: %s\n",
			config->state_dir, strerror(errno));
		return err;
	}
	agent->lock_fd = take_lock(config->state_dir);
	if (agent->lock_fd == -EBUSY)
		pr_warn("wardend is already running (lock %s/wardend.lock is held)\n",
			config->state_dir);
	else if (agent->lock_fd < 0)
		pr_warn("lock %s/wardend.lock: %s\n", config->state_dir,
			strerror(-agent->lock_fd));
	return agent->lock_fd < 0 ? agent->lock_fd : 0;
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
	struct policy_prefix p = {.family = 4, .len = 32};
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

/* Gateway address, unreachable pod route, forwarding; a crashed agent's
 * leftovers swept first. */
static int host_network_setup(struct agent *agent)
{
	const struct agent_config *config = &agent->config;
	char err[1024];

	netdev__sweep_stale(config->netns_prefix);
	netdev_host__teardown(config->pod_net, config->pod_prefix_len, config->gateway);
	if (netdev_host__setup(config->pod_net, config->pod_prefix_len, config->gateway,
			       err, sizeof(err))) {
		pr_warn("host network set-up: %s\n", err);
		return -EIO;
	}
	agent->host_ready = true;
	return 0;
}

/* Identities, the datapath and the ipcache that feeds it. */
static int datapath_setup(struct agent *agent)
{
	struct ipcache_sink sink = {.set = ipcache_sink_set,
				    .remove = ipcache_sink_remove};
	int ret;

	ret = monitor__new(&agent->monitor);
	if (!ret)
		ret = identity_allocator__new_local(&agent->identities);
	if (ret)
		return ret;
	ret = datapath__open_sized(&agent->datapath, monitor__on_event, agent,
				   agent->config.map_max_entries);
	if (ret) {
		pr_warn("cannot load the datapath: %s\n", strerror(-ret));
		return ret;
	}
	sink.ctx = agent->datapath;
	ret = ipcache__new_local(&agent->ipcache, &sink);
	if (!ret)
		ret = register_host_addresses(agent);
	if (ret)
		pr_warn("cannot fill the ipcache\n");
	return ret;
}

int agent__start(struct agent *agent)
{
	char err[1024];
	int ret;

	ret = state_dir_lock(agent);
	/* Pinned state lives on the BPF filesystem: mount it if the machine
	 * has not (a fresh machine may not). */
	if (!ret && bpffs__ensure(BPFFS_ROOT, NULL)) {
		pr_warn("the BPF filesystem is needed at %s\n", BPFFS_ROOT);
		ret = -ENODEV;
	}
	if (!ret)
		ret = host_network_setup(agent);
	if (!ret)
		ret = datapath_setup(agent);
	if (ret)
		return ret;
	if (redirect__setup(agent->config.proxy_port, agent->config.pod_net,
			    agent->config.pod_prefix_len, err, sizeof(err))) {
		pr_warn("L7 redirect set-up: %s\n", err);
		return -EIO;
	}
	agent->redirect_ready = true;
	if (proxy__start(agent))
		pr_warn("the L7 proxy did not start: traffic that needs it is dropped\n");
	return 0;
}

void agent__stop(struct agent *agent)
{
	const struct agent_config *config = &agent->config;

	proxy__stop(agent);
	if (agent->redirect_ready)
		redirect__teardown();
	if (agent->datapath) {
		endpoint__delete_all(agent);
		policy_repo__free(agent);
	}
	namespace__free_all(agent);
	ipcache__free(agent->ipcache);
	datapath__close(agent->datapath);
	/* After the datapath: its events are the monitor's. */
	monitor__free(agent->monitor);
	identity_allocator__free(agent->identities);
	if (agent->host_ready)
		netdev_host__teardown(config->pod_net, config->pod_prefix_len,
				      config->gateway);
	if (agent->lock_fd >= 0)
		close(agent->lock_fd);
	agent->lock_fd = -1;
}

void agent__status(struct agent *agent, struct agent_status *out)
{
	uint64_t counts[WARDEN_REASON_MAX + 1][2] = {0};
	const struct identity *const *list;

	memset(out, 0, sizeof(*out));
	out->map_count = datapath__map_usage(agent->datapath, out->maps,
					     sizeof(out->maps) / sizeof(out->maps[0]));
	if (!datapath__metrics_sum(agent->datapath, 0, counts)) {
		for (int r = 0; r < WARDEN_REASON_MAX; r++)
			for (int d = 0; d < 2; d++) {
				if (r == WARDEN_REASON_FORWARDED)
					out->forwards += counts[r][d];
				else
					out->drops += counts[r][d];
			}
	}
	out->events_lost = counts[WARDEN_REASON_MAX][0] + counts[WARDEN_REASON_MAX][1] +
			   monitor__events_lost(agent);
	out->identities = identity__list(agent->identities, &list);
}
