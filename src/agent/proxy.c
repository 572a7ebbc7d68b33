// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's side of the L7 proxy: it keeps warden-proxy running (and
 * restarts it when it dies: meanwhile the datapath's redirect has no
 * listener and the nftables rules drop the traffic, so nothing that must be
 * L7-filtered passes unfiltered), and relays the proxy's access log to the
 * metrics and to `warden monitor`. The policy document it reads is written
 * by proxy_policy.c.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "metrics.h"
#include "monitor.h"
#include "proxy.h"
#include "proxy_policy.h"
#include "warden/log.h"

#define RESTART_WINDOW_S 10
#define RESTART_BURST 5

static void proxy_paths(struct agent *agent, char *policy, char *events, size_t len)
{
	proxy_policy__path(agent, policy, len);
	snprintf(events, len, "%s/proxy/events.sock", agent->config.state_dir);
}

/* warden-proxy sits next to wardend (build/ or an install's bin/). */
static int proxy_binary(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(out, len, "%s/warden-proxy", self) >= len)
		return -ENAMETOOLONG;
	return access(out, X_OK) ? -errno : 0;
}

static int proxy_spawn(struct agent *agent)
{
	char bin[PATH_MAX + 32], policy[600], events[600], port[16], workers[16];
	char max_conns[16], per_source[16];
	const char *argv[16];
	int argc = 0;
	pid_t pid;

	if (proxy_binary(bin, sizeof(bin))) {
		pr_warn(
		    "warden-proxy not found next to wardend: L7 traffic is dropped\n");
		return -ENOENT;
	}
	proxy_paths(agent, policy, events, sizeof(policy));
	snprintf(port, sizeof(port), "%u", agent->config.proxy_port);
	snprintf(workers, sizeof(workers), "%u", agent->config.proxy_workers);
	snprintf(max_conns, sizeof(max_conns), "%u", agent->config.proxy_max_conns);
	snprintf(per_source, sizeof(per_source), "%u",
		 agent->config.proxy_max_conns_per_source);
	argv[argc++] = bin;
	argv[argc++] = "--policy";
	argv[argc++] = policy;
	argv[argc++] = "--port";
	argv[argc++] = port;
	argv[argc++] = "--events";
	argv[argc++] = events;
	/* 0 is not valid for these: leave the proxy's defaults then. */
	if (agent->config.proxy_workers) {
		argv[argc++] = "--workers";
		argv[argc++] = workers;
	}
	if (agent->config.proxy_max_conns) {
		argv[argc++] = "--max-conns";
		argv[argc++] = max_conns;
	}
	if (agent->config.proxy_max_conns_per_source) {
		argv[argc++] = "--max-conns-per-source";
		argv[argc++] = per_source;
	}
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;

		/* The agent blocks these for its signalfd; the proxy wants them. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* The proxy raises its descriptor limit to fit its connection
		 * cap itself (it runs as root here, so past the hard limit too). */
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	agent->proxy.pid = pid;
	/* Until it says what it loaded (LOADED, proxy__on_events). */
	agent->proxy.loaded = 0;
	pr_info("warden-proxy started (pid %d, port %s)\n", pid, port);
	return 0;
}

int proxy__start(struct agent *agent)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char policy[600], events[600], dir[600], err[640];
	int ret;

	snprintf(dir, sizeof(dir), "%s/proxy", agent->config.state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	proxy_paths(agent, policy, events, sizeof(policy));
	if (strlen(events) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, events);
	unlink(events);
	agent->proxy.events_fd =
	    socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (agent->proxy.events_fd < 0)
		return -errno;
	if (bind(agent->proxy.events_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -errno;
	/* Nothing runs yet: the proxy reads this when it starts. */
	ret = proxy_policy__write(agent, &(struct proxy_policy_view){0},
				  agent->policy_revision, false, err, sizeof(err));
	if (ret) {
		pr_warn("%s\n", err);
		return ret;
	}
	agent->proxy.last_published = agent->policy_revision;
	return proxy_spawn(agent);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Signal the running proxy and wait until it says it LOADED revision (0),
 * REJECTED it (-EPROTO), or the timeout passes (-ETIMEDOUT: the proxy is
 * killed, so that it cannot take the document later, behind our back; the
 * supervisor starts it again and it reads whatever file is then in force).
 * Meanwhile its access log is handled as usual, and a proxy that dies is
 * restarted: the new one reads the file, which is this revision already.
 * A proxy that dies and is not restarted (too many restarts) leaves
 * nothing to wait for: 0, as when none runs.
 */
static int proxy_await(struct agent *agent, uint64_t revision, char *err, size_t err_len)
{
	uint64_t deadline = now_ms() + agent->config.proxy_reload_timeout_ms;

	kill(agent->proxy.pid, SIGHUP);
	for (;;) {
		struct pollfd pfd = {.fd = agent->proxy.events_fd, .events = POLLIN};
		uint64_t now;

		proxy__on_events(agent);
		if (agent->proxy.loaded >= revision)
			return 0;
		if (agent->proxy.rejected == revision) {
			snprintf(err, err_len,
				 "warden-proxy refused the policy document of revision "
				 "%llu: %s",
				 (unsigned long long)revision,
				 agent->proxy.reject_reason);
			return -EPROTO;
		}
		proxy__on_child_exit(agent);
		if (agent->proxy.pid <= 0) {
			pr_warn("warden-proxy is not running: it loads revision %llu "
				"when it starts\n",
				(unsigned long long)revision);
			return 0;
		}
		now = now_ms();
		if (now >= deadline) {
			kill(agent->proxy.pid, SIGKILL);
			snprintf(err, err_len,
				 "warden-proxy did not confirm the policy document of "
				 "revision %llu within %.1f s (it was restarted)",
				 (unsigned long long)revision,
				 agent->config.proxy_reload_timeout_ms / 1000.0);
			return -ETIMEDOUT;
		}
		poll(&pfd, 1, (int)(deadline - now < 50 ? deadline - now : 50));
	}
}

int proxy__publish(struct agent *agent, const struct proxy_policy_view *view,
		   uint64_t *revision, char *err, size_t err_len)
{
	uint64_t next = agent->policy_revision > agent->proxy.last_published
			    ? agent->policy_revision
			    : agent->proxy.last_published;
	bool running = agent->proxy.pid > 0;
	int ret;

	*revision = 0;
	if (agent->proxy.events_fd < 0)
		return 0; /* no proxy set up (before proxy__start) */
	next++;
	/* With no proxy to refuse it, the agent checks the document itself. */
	ret = proxy_policy__write(agent, view, next, !running, err, err_len);
	if (ret)
		return ret;
	agent->proxy.last_published = next;
	*revision = next;
	if (!running) {
		pr_info("warden-proxy is not running: it loads revision %llu when it "
			"starts\n",
			(unsigned long long)next);
		return 0;
	}
	return proxy_await(agent, next, err, err_len);
}

/*
 * A child exited. If it was the proxy, start it again, unless it keeps
 * dying: then wait (the caller's timer calls proxy__retry) so a broken
 * binary does not spin the agent.
 */
void proxy__on_child_exit(struct agent *agent)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		time_t now = time(NULL);

		if (pid != agent->proxy.pid)
			continue;
		agent->proxy.pid = 0;
		if (agent->proxy.stopping)
			continue;
		pr_warn("warden-proxy exited (%s %d); restarting\n",
			WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		agent->proxy.restarts++;
		if (now - agent->proxy.restart_window > RESTART_WINDOW_S) {
			agent->proxy.restart_window = now;
			agent->proxy.burst = 0;
		}
		if (++agent->proxy.burst > RESTART_BURST) {
			agent->proxy.retry_at = now + 1;
			continue;
		}
		proxy_spawn(agent);
	}
}

void proxy__retry(struct agent *agent)
{
	if (agent->proxy.pid > 0 || agent->proxy.stopping || !agent->proxy.retry_at ||
	    time(NULL) < agent->proxy.retry_at)
		return;
	agent->proxy.retry_at = 0;
	proxy_spawn(agent);
}

void proxy__stop(struct agent *agent)
{
	char policy[600], events[600];

	agent->proxy.stopping = true;
	if (agent->proxy.pid > 0) {
		kill(agent->proxy.pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(agent->proxy.pid, NULL, WNOHANG) == 0;
		     i++)
			usleep(20000);
		kill(agent->proxy.pid, SIGKILL);
		waitpid(agent->proxy.pid, NULL, 0);
		agent->proxy.pid = 0;
	}
	if (agent->proxy.events_fd > 0) {
		close(agent->proxy.events_fd);
		agent->proxy.events_fd = -1;
		proxy_paths(agent, policy, events, sizeof(policy));
		unlink(events);
	}
}

/*
 * "LOADED <revision>" or "REJECTED <revision> <reason>" from the proxy's
 * main thread (src/proxy/main.c). A document the proxy could not even
 * read gives revision 0: the one it was told to read is the last one
 * written. Returns false when the line is not one of these.
 */
static bool proxy_ack(struct agent *agent, const char *line)
{
	unsigned long long revision;
	const char *rest;
	char *end;

	if (!strncmp(line, "LOADED ", 7)) {
		revision = strtoull(line + 7, &end, 10);
		if (end == line + 7 || *end)
			return true;
		agent->proxy.loaded = revision;
		pr_debug("warden-proxy loaded revision %llu\n", revision);
		return true;
	}
	if (strncmp(line, "REJECTED ", 9))
		return false;
	revision = strtoull(line + 9, &end, 10);
	if (end == line + 9)
		return true;
	rest = *end == ' ' ? end + 1 : end;
	agent->proxy.rejected = revision ? revision : agent->proxy.last_published;
	snprintf(agent->proxy.reject_reason, sizeof(agent->proxy.reject_reason), "%s",
		 rest);
	pr_warn("warden-proxy refused revision %llu: %s\n",
		(unsigned long long)agent->proxy.rejected, rest);
	return true;
}

/*
 * Datagrams from the proxy: its acknowledgements (proxy_ack), and its
 * access log, lines "VERDICT[:REASON] LATENCY_US {JSON}"
 * (src/proxy/access_log.h). The prefix feeds the metrics; the JSON is kept
 * as text and parsed only if a monitor reads it. A REFUSED line is a
 * connection refused by a limit, not a request.
 */
void proxy__on_events(struct agent *agent)
{
	static char buf[65536];

	for (;;) {
		ssize_t n =
		    recv(agent->proxy.events_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		char *line, *end;

		if (n <= 0)
			return;
		buf[n] = '\0';
		for (line = buf; line < buf + n; line = end + 1) {
			char *verdict = line, *space, *json, *reason;
			unsigned long long latency_us;

			end = strchr(line, '\n');
			if (!end)
				end = buf + n;
			*end = '\0';
			if (proxy_ack(agent, line))
				continue;
			space = strchr(verdict, ' ');
			if (!space)
				continue;
			*space = '\0';
			latency_us = strtoull(space + 1, &json, 10);
			if (*json != ' ' || json[1] != '{')
				continue;
			json++;
			reason = strchr(verdict, ':');
			if (reason) {
				*reason++ = '\0';
				metrics__observe_proxy_limit(agent, reason);
			}
			if (strcmp(verdict, "REFUSED")) {
				agent->proxy.requests++;
				metrics__observe_proxy(agent, verdict, reason,
						       (double)latency_us / 1e6);
			}
			monitor__relay_proxy(agent, json, (size_t)(end - json));
		}
	}
}
