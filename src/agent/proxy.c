// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's side of the L7 proxy: it keeps warden-proxy running (and
 * restarts it when it dies: meanwhile the datapath's redirect has no
 * listener and the nftables rules drop the traffic, so nothing that must be
 * L7-filtered passes unfiltered), writes the proxy's policy document after
 * every regeneration (docs/proxy-policy.md), and relays the proxy's access
 * log to `warden monitor`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
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
#include "warden/log.h"
#include "warden/prefix.h"

#define RESTART_WINDOW_S 10
#define RESTART_BURST 5

static void proxy_paths(struct agent *agent, char *policy, char *events, size_t len)
{
	snprintf(policy, len, "%s/proxy/policy.json", agent->config.state_dir);
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

static int json_ipcache_entry(void *ctx, const struct policy_prefix *p, uint32_t identity)
{
	char text[64];

	policy_prefix__format(p, text, sizeof(text));
	return json_array_append_new(ctx, json_pack("{s:s, s:i}", "prefix", text, "identity",
						    (json_int_t)identity));
}

static json_t *l7_rule_json(const struct policy_l7_rule_ref *ref)
{
	const struct policy_http_rule *r = ref->rule;
	json_t *headers = json_array();

	for (size_t i = 0; i < r->header_count; i++)
		json_array_append_new(
			headers, json_pack("{s:s, s:o}", "name", r->headers[i].name, "value",
					   r->headers[i].value ? json_string(r->headers[i].value) :
								 json_null()));
	return json_pack("{s:o, s:o, s:o, s:o, s:i}", "method",
			 r->method ? json_string(r->method) : json_null(), "path",
			 r->path ? json_string(r->path) : json_null(), "host",
			 r->host ? json_string(r->host) : json_null(), "headers", headers,
			 "cookie", (json_int_t)ref->cookie);
}

json_t *proxy__policy_document(struct agent *agent)
{
	const struct identity *const *ids;
	size_t id_count = identity__list(agent->identities, &ids);
	json_t *ipcache = json_array(), *identities = json_array();
	json_t *endpoints = json_array(), *l7 = json_array();
	char ip[16], ref[256];

	agent->ipcache->ops->foreach(agent->ipcache, json_ipcache_entry, ipcache);
	for (size_t i = 0; i < id_count; i++)
		json_array_append_new(identities,
				      json_pack("{s:i, s:o}", "id", (json_int_t)ids[i]->id,
						"labels", json_label_list(&ids[i]->labels)));
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		const struct endpoint *ep = agent->endpoints[i];

		snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
		json_array_append_new(endpoints,
				      json_pack("{s:i, s:s, s:s, s:i, s:b}", "id", (json_int_t)ep->id,
						"name", ref, "ipv4",
						ipv4__format(ep->net.ipv4, ip, sizeof(ip)),
						"identity", (json_int_t)ep->identity, "audit",
						(int)ep->audit_mode));
		for (size_t j = 0; j < ep->entries.l7_count; j++) {
			const struct policy_l7_entry *le = &ep->entries.l7[j];
			json_t *rules, *exempt;

			/* HTTP is TCP; the UDP/SCTP twins of a protocol-less port
			 * keep their proxy entry in the map, where the redirect
			 * rules drop them (only TCP is TPROXYed). */
			if (le->protocol != IPPROTO_TCP)
				continue;
			rules = json_array();
			exempt = json_array();

			for (size_t k = 0; k < le->rule_count; k++)
				json_array_append_new(rules, l7_rule_json(&le->rules[k]));
			for (size_t k = 0; k < le->exempt_count; k++)
				json_array_append_new(exempt, json_integer(le->exempt[k]));
			json_array_append_new(
				l7, json_pack("{s:i, s:s, s:i, s:i, s:o, s:o}", "endpoint",
					      (json_int_t)ep->id, "direction",
					      le->direction == WARDEN_DIR_INGRESS ? "ingress" :
										    "egress",
					      "port", le->port, "identity",
					      (json_int_t)le->identity, "exempt", exempt, "rules",
					      rules));
		}
	}
	return json_pack("{s:I, s:o, s:o, s:o, s:o}", "revision",
			 (json_int_t)agent->policy_revision, "ipcache", ipcache, "identities",
			 identities, "endpoints", endpoints, "l7", l7);
}

int proxy__write_policy(struct agent *agent)
{
	char path[600], events[600], tmp[640];
	json_t *doc = proxy__policy_document(agent);
	int ret;

	proxy_paths(agent, path, events, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* Written whole, then renamed: the proxy never reads half a file. */
	ret = json_dump_file(doc, tmp, JSON_COMPACT);
	json_decref(doc);
	if (ret || rename(tmp, path)) {
		pr_warn("write %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	if (agent->proxy_pid > 0)
		kill(agent->proxy_pid, SIGHUP);
	return 0;
}

static int proxy_spawn(struct agent *agent)
{
	char bin[PATH_MAX + 32], policy[600], events[600], port[16], workers[16];
	pid_t pid;

	if (proxy_binary(bin, sizeof(bin))) {
		pr_warn("warden-proxy not found next to wardend: L7 traffic is dropped\n");
		return -ENOENT;
	}
	proxy_paths(agent, policy, events, sizeof(policy));
	snprintf(port, sizeof(port), "%u", agent->config.proxy_port);
	snprintf(workers, sizeof(workers), "%u", agent->config.proxy_workers);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;

		/* The agent blocks these for its signalfd; the proxy wants them. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* --workers 0 is not valid: leave the proxy's default then. */
		if (agent->config.proxy_workers)
			execl(bin, bin, "--policy", policy, "--port", port, "--events", events,
			      "--workers", workers, (char *)NULL);
		else
			execl(bin, bin, "--policy", policy, "--port", port, "--events", events,
			      (char *)NULL);
		_exit(127);
	}
	agent->proxy_pid = pid;
	pr_info("warden-proxy started (pid %d, port %s)\n", pid, port);
	return 0;
}

int proxy__start(struct agent *agent)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char policy[600], events[600], dir[600];
	int ret;

	snprintf(dir, sizeof(dir), "%s/proxy", agent->config.state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	proxy_paths(agent, policy, events, sizeof(policy));
	if (strlen(events) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, events);
	unlink(events);
	agent->proxy_events_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (agent->proxy_events_fd < 0)
		return -errno;
	if (bind(agent->proxy_events_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -errno;
	ret = proxy__write_policy(agent);
	if (ret)
		return ret;
	return proxy_spawn(agent);
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

		if (pid != agent->proxy_pid)
			continue;
		agent->proxy_pid = 0;
		if (agent->stopping)
			continue;
		pr_warn("warden-proxy exited (%s %d); restarting\n",
			WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		agent->proxy_restarts++;
		if (now - agent->proxy_restart_window > RESTART_WINDOW_S) {
			agent->proxy_restart_window = now;
			agent->proxy_burst = 0;
		}
		if (++agent->proxy_burst > RESTART_BURST) {
			agent->proxy_retry_at = now + 1;
			continue;
		}
		proxy_spawn(agent);
	}
}

void proxy__retry(struct agent *agent)
{
	if (agent->proxy_pid > 0 || agent->stopping || !agent->proxy_retry_at ||
	    time(NULL) < agent->proxy_retry_at)
		return;
	agent->proxy_retry_at = 0;
	proxy_spawn(agent);
}

void proxy__stop(struct agent *agent)
{
	char policy[600], events[600];

	agent->stopping = true;
	if (agent->proxy_pid > 0) {
		kill(agent->proxy_pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(agent->proxy_pid, NULL, WNOHANG) == 0; i++)
			usleep(20000);
		kill(agent->proxy_pid, SIGKILL);
		waitpid(agent->proxy_pid, NULL, 0);
		agent->proxy_pid = 0;
	}
	if (agent->proxy_events_fd > 0) {
		close(agent->proxy_events_fd);
		agent->proxy_events_fd = -1;
		proxy_paths(agent, policy, events, sizeof(policy));
		unlink(events);
	}
}

json_t *proxy__event_json(struct agent *agent, const char *text, size_t len)
{
	json_t *event = json_loadb(text, len, 0, NULL);
	const char *verdict = json_string_value(json_object_get(event, "verdict"));
	char policy[600];

	if (!json_is_object(event)) {
		json_decref(event);
		return NULL;
	}
	/* Name the deciding policy, as for datapath events. */
	if (json_is_integer(json_object_get(event, "rule_cookie"))) {
		monitor__describe_cookie(
			agent, (uint32_t)json_integer_value(json_object_get(event, "rule_cookie")),
			verdict && !strcmp(verdict, "FORWARDED"), policy, sizeof(policy));
		json_object_set_new(event, "policy", json_string(policy));
	}
	return event;
}

/*
 * Access-log datagrams from the proxy: lines "VERDICT LATENCY_US {JSON}"
 * (src/proxy/access_log.h). The prefix feeds the metrics; the JSON is kept
 * as text and parsed only if a monitor reads it.
 */
void proxy__on_events(struct agent *agent)
{
	static char buf[65536];

	for (;;) {
		ssize_t n = recv(agent->proxy_events_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		char *line, *end;

		if (n <= 0)
			return;
		buf[n] = '\0';
		for (line = buf; line < buf + n; line = end + 1) {
			char *verdict = line, *space, *json;
			unsigned long long latency_us;

			end = strchr(line, '\n');
			if (!end)
				end = buf + n;
			*end = '\0';
			space = strchr(verdict, ' ');
			if (!space)
				continue;
			*space = '\0';
			latency_us = strtoull(space + 1, &json, 10);
			if (*json != ' ' || json[1] != '{')
				continue;
			json++;
			agent->proxy_requests++;
			metrics__observe_proxy(agent, verdict, (double)latency_us / 1e6);
			monitor__relay_text(agent, json, (size_t)(end - json));
		}
	}
}
