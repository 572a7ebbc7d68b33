/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wardend's state: one struct agent, the context every module gets. Its
 * fields are grouped by the module that owns them; a module's own types and
 * functions are in its header (endpoint.h, policy_repo.h, regenerate.h,
 * monitor.h, proxy.h, metrics.h, trace.h, control.h, wire.h).
 *
 * The agent is single-threaded: the event loop (loop.c) calls the control
 * socket (control.c), the datapath's events (monitor.c), the proxy's access
 * log (proxy.c), the metrics endpoint (metrics.c) and the signal handler
 * (main.c); every state change goes through endpoint.c or policy_repo.c,
 * which end in regenerate__apply().
 */
#ifndef WARDEN_AGENT_H
#define WARDEN_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "warden/datapath.h"
#include "warden/policy.h"

struct identity_allocator;
struct ipcache;
struct endpoint;
struct namespace_labels;
struct cidr_identity;
struct monitor;

/* What the command line chose (config.c). */
struct agent_config {
	const char *state_dir;
	const char *socket_path;
	const char *pod_cidr; /* as given, for the log */
	uint32_t pod_net;     /* network order */
	int pod_prefix_len;
	uint32_t gateway;	     /* first address of the pod CIDR, on lo */
	uint16_t proxy_port;	     /* the L7 proxy's TPROXY listener */
	bool reject_by_default;	     /* --deny-response=reject */
	bool cidr_rules_select_pods; /* --cidr-rules-select-pods */
	unsigned int proxy_workers;  /* --proxy-workers; 0 = one per CPU */
	/* --proxy-max-conns (per worker), --proxy-max-conns-per-source;
	 * 0 = the proxy's defaults. */
	unsigned int proxy_max_conns;
	unsigned int proxy_max_conns_per_source;
	const char *metrics_address; /* Prometheus endpoint, "" = off */
	const char *netns_prefix;    /* endpoint netns names: <prefix><id> */
	/* --proxy-reload-timeout: how long an update waits for warden-proxy to
	 * confirm a new policy document (ms). */
	unsigned int proxy_reload_timeout_ms;
	/* Test hooks (docs/control-protocol.md, "Test hooks"), from the
	 * environment: WARDEN_TEST_HOOKS=1 enables the `test.fault` command;
	 * WARDEN_TEST_MAP_MAX shrinks maps (0: the size in abi/maps.h). */
	bool test_hooks;
	uint32_t map_max_entries[DATAPATH_MAP_COUNT];
	const char *socket_group; /* --socket-group: may use the socket; NULL */
	unsigned int max_clients; /* control connections at once */
	bool debug;
};

#define METRICS_LATENCY_BUCKETS 10
#define METRICS_PROXY_LIMITS 3

struct agent {
	struct agent_config config;

	/* agent.c: what agent__start set up, for agent__stop. */
	int lock_fd;
	bool host_ready;
	bool redirect_ready;
	struct identity_allocator *identities;
	struct ipcache *ipcache;
	struct datapath *datapath;

	/* endpoint.c */
	struct endpoint **endpoints;
	size_t endpoint_count;
	uint32_t next_endpoint_id;
	struct namespace_labels *namespaces;
	size_t namespace_count;

	/* policy_repo.c */
	struct policy_set policies;
	uint64_t policy_revision;
	/* "ns/name" behind every policy id given out (index = id), kept after
	 * a delete so events decided earlier still name their policy; ids are
	 * reused only after wrapping around 65,535. */
	char **policy_names;
	uint16_t last_policy_id;

	/* regenerate.c: the CIDR prefixes of the policy in force, those
	 * that select pods with their pod-CIDR identities (warden_pod_cidr),
	 * and the cost of the last regeneration. */
	struct cidr_identity *cidrs;
	size_t cidr_count;
	struct cidr_identity *pod_cidrs;
	size_t pod_cidr_count;
	uint64_t last_compile_ns;
	uint64_t last_apply_ns;
	size_t last_entries;

	/* proxy.c */
	struct {
		pid_t pid;
		int events_fd; /* the access log; -1 before proxy__start */
		bool stopping;
		uint64_t restarts;
		uint64_t requests;
		time_t restart_window;
		unsigned int burst;
		time_t retry_at;
		/* The acknowledgements (proxy.c): the last revision the
		 * running proxy said it LOADED (0: none yet), the last it
		 * REJECTED and why, the last revision written. */
		uint64_t loaded;
		uint64_t rejected;
		char reject_reason[512];
		uint64_t last_published;
	} proxy;

	/* Counted by policy_repo.c and proxy.c, exposed by metrics.c. */
	struct {
		uint64_t policy_imports;
		uint64_t proxy_requests[4]; /* forwarded, denied, error, audit */
		/* Requests denied and connections refused by the proxy's
		 * limits: regex, connection cap, per-source (metrics.c). */
		uint64_t proxy_limit_hits[METRICS_PROXY_LIMITS];
		uint64_t proxy_no_rule; /* denied: no rule for a redirected flow */
		uint64_t proxy_lifted;	/* forwarded: the L7 restriction lifted */
		uint64_t proxy_latency_buckets[METRICS_LATENCY_BUCKETS];
		double proxy_latency_sum_s;
	} metrics;

	/* monitor.c: subscribers, the event history, batches. */
	struct monitor *monitor;
};

/* What `status` reports beyond the state above (agent__status). */
struct agent_status {
	struct datapath_map_usage maps[8];
	size_t map_count;
	uint64_t drops;
	uint64_t forwards;
	uint64_t events_lost; /* by the ring buffer and by slow monitors */
	size_t identities;
};

/* agent.c */
/* The state of a new agent for config (nothing set up yet). */
void agent__init(struct agent *agent, const struct agent_config *config);
/*
 * Set the host up: state dir and lock, host network, identities, datapath,
 * ipcache, L7 redirect, the proxy. Returns 0 or -errno (logged); after a
 * failure agent__stop() undoes what was done.
 */
int agent__start(struct agent *agent);
/* Remove every endpoint and everything agent__start set up. */
void agent__stop(struct agent *agent);
void agent__status(struct agent *agent, struct agent_status *out);

#endif /* WARDEN_AGENT_H */
