/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wardend's state. The agent is single-threaded: the event loop (main.c)
 * serves the control socket (control.c), the datapath's event ring buffer
 * (monitor.c), and signals; every state change goes through endpoint.c or
 * policy_repo.c, which end in agent__regenerate().
 */
#ifndef WARDEN_AGENT_H
#define WARDEN_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "warden/datapath.h"
#include "warden/identity.h"
#include "warden/ipcache.h"
#include "warden/labels.h"
#include "warden/netdev.h"
#include "warden/policy.h"
#include "warden/policy_compile.h"
#include "warden/version.h"


struct agent_config {
	const char *state_dir;
	const char *socket_path;
	uint32_t pod_net;   /* network order */
	int pod_prefix_len;
	uint32_t gateway;   /* first address of the pod CIDR, on lo */
	uint16_t proxy_port; /* the L7 proxy's TPROXY listener */
	bool reject_by_default; /* --deny-response=reject */
	unsigned int proxy_workers; /* --proxy-workers; 0 = one per CPU */
	const char *metrics_address; /* Prometheus endpoint, "" = off */
};

struct endpoint {
	uint32_t id;
	char *name;
	char *namespace;
	struct label_set user_labels; /* what the user gave, source k8s */
	struct label_set labels;      /* identity labels: user + derived */
	uint32_t identity;
	struct netdev_endpoint net;
	struct compile_named_port *ports; /* names owned */
	size_t port_count;
	struct policy_entries entries;    /* what the policy map holds now */
	uint32_t flags;                   /* WARDEN_EP_* flags in the map */
	uint32_t policy_revision;
	bool audit_mode;                  /* `warden endpoint config NAME audit=on` */
};

struct namespace_labels {
	char *name;
	struct label_set labels;
};

/* A CIDR prefix used by the current policies, and its identity. */
struct cidr_identity {
	struct policy_prefix prefix;
	uint32_t identity;
};

struct monitor_client;
struct monitor_record;
struct monitor_batch;

#define METRICS_LATENCY_BUCKETS 10
#define MONITOR_HISTORY 4096
#define METRICS_ADDRESS_DEFAULT "127.0.0.1:9962"

struct agent {
	struct agent_config config;
	struct identity_allocator *identities;
	struct ipcache *ipcache;
	struct datapath *datapath;

	struct endpoint **endpoints;
	size_t endpoint_count;
	uint32_t next_endpoint_id;

	struct namespace_labels *namespaces;
	size_t namespace_count;

	struct policy_set policies;
	uint64_t policy_revision;
	/* "ns/name" behind every policy id given out (index = id), kept after
	 * a delete so events decided earlier still name their policy; ids are
	 * reused only after wrapping around 65,535. */
	char **policy_names;
	uint16_t last_policy_id;
	struct cidr_identity *cidrs;
	size_t cidr_count;

	uint64_t last_compile_ns;
	uint64_t last_apply_ns;
	size_t last_entries;

	pid_t proxy_pid;
	int proxy_events_fd;
	bool stopping;
	uint64_t proxy_restarts;
	uint64_t proxy_requests;
	time_t proxy_restart_window;
	unsigned int proxy_burst;
	time_t proxy_retry_at;

	struct {
		uint64_t policy_imports;
		uint64_t proxy_requests[4]; /* forwarded, denied, error, audit */
		uint64_t proxy_latency_buckets[METRICS_LATENCY_BUCKETS];
		double proxy_latency_sum_s;
	} metrics;

	struct monitor_client *monitors;
	struct monitor_batch *monitor_batches; /* lines waiting for monitor__flush */
	/* The last MONITOR_HISTORY events, for `warden monitor --last N`. */
	struct monitor_record *history; /* MONITOR_HISTORY records, a ring */
	size_t history_next;
	size_t history_count;
	uint64_t events_seen;
	uint64_t events_lost_clients;
};

/* endpoint.c */
int endpoint__create(struct agent *agent, const char *name, const char *ns,
		     json_t *labels, json_t *ports, struct endpoint **out, char *err,
		     size_t err_len);
int endpoint__delete(struct agent *agent, struct endpoint *ep);
int endpoint__relabel(struct agent *agent, struct endpoint *ep, json_t *set,
		      json_t *remove, char *err, size_t err_len);
struct endpoint *endpoint__find(struct agent *agent, const char *name, const char *ns);
struct endpoint *endpoint__find_by_id(struct agent *agent, uint32_t id);
struct endpoint *endpoint__find_by_ipv4(struct agent *agent, uint32_t ipv4);
void endpoint__delete_all(struct agent *agent);
int namespace__relabel(struct agent *agent, const char *ns, json_t *set, json_t *remove,
		       char *err, size_t err_len);
const struct label_set *namespace__labels(struct agent *agent, const char *ns);
/* The identity labels an endpoint with these user labels has in ns. */
int endpoint__derive_labels(struct agent *agent, const char *ns,
			    const struct label_set *user, struct label_set *out);
/* Parse "k=v" / "k-" lists into changes on a label set (source k8s). */
int labels__apply_changes(struct label_set *set, json_t *set_list, json_t *remove_list,
			  char *err, size_t err_len);

/* policy_repo.c */
/*
 * Make `candidate` the policy in force (or, when candidate is NULL, just
 * recompute the current one after an endpoint or identity change):
 * compile every endpoint, and only if all of that succeeds write the maps.
 * On error nothing changes and err says why.
 */
int agent__regenerate(struct agent *agent, struct policy_set *candidate, char *err,
		      size_t err_len);
int policy_repo__parse_documents(json_t *documents, struct policy_set *out,
				 json_t *warnings, char *err, size_t err_len);
int policy_repo__import(struct agent *agent, struct policy_set *incoming, json_t *result,
			char *err, size_t err_len);
/* ns NULL: the policy in "default" or a clusterwide one of that name;
 * clusterwide_only: only a clusterwide one. */
int policy_repo__delete(struct agent *agent, const char *name, const char *ns,
			bool clusterwide_only, bool all, json_t *result, char *err,
			size_t err_len);
const char *policy_kind__name(enum policy_kind kind);
void policy_repo__free(struct agent *agent);
/* Switch ep's audit mode; established flows are re-checked. */
int agent__set_endpoint_audit(struct agent *agent, struct endpoint *ep, bool on, char *err,
			      size_t err_len);
/* "ns/name" of a policy id (also of deleted ones); *live if still in force. */
const char *policy_repo__name_by_id(struct agent *agent, uint16_t id, bool *live);

/* monitor.c */
void monitor__on_event(void *ctx, const struct warden_event *event);
int monitor__subscribe(struct agent *agent, int fd, json_t *args);
void monitor__unsubscribe(struct agent *agent, int fd);
void monitor__free_all(struct agent *agent);
/* Write the events gathered since the last call to the clients. */
void monitor__flush(struct agent *agent);
/* An access-log record of the proxy (JSON text): into the history, and to
 * the clients (parsed, see proxy__event_json) if any are attached. */
void monitor__relay_text(struct agent *agent, const char *json, size_t len);
/*
 * After the subscribe reply: send the client the history it asked for
 * (`last`). Returns false when the client wanted only that (no `follow`)
 * and the connection should now close.
 */
bool monitor__replay(struct agent *agent, int fd);
/* "ns/name" of the policy behind a rule cookie, or "default deny" etc. */
void monitor__describe_cookie(struct agent *agent, uint32_t cookie, bool allowed,
			      char *buf, size_t len);

/* proxy.c */
int proxy__start(struct agent *agent);
void proxy__stop(struct agent *agent);
int proxy__write_policy(struct agent *agent);
/* The proxy's policy document (docs/proxy-policy.md) for the state now. */
json_t *proxy__policy_document(struct agent *agent);

/* trace.c */
int trace__run(struct agent *agent, json_t *args, json_t **result, char *err,
	       size_t err_len);
void proxy__on_child_exit(struct agent *agent);
void proxy__retry(struct agent *agent);
void proxy__on_events(struct agent *agent);
/* An access-log record's JSON text as a monitor event (policy named), or NULL. */
json_t *proxy__event_json(struct agent *agent, const char *text, size_t len);

/* metrics.c */
int metrics__listen(const char *address);
void metrics__serve(struct agent *agent, int listen_fd);
void metrics__observe_proxy(struct agent *agent, const char *verdict, double latency_s);

/* control.c */
int control__listen(const char *path);
/* Handle one request line; returns the response (owned) or NULL for a
 * connection that turned into a monitor stream. */
json_t *control__handle(struct agent *agent, int fd, const char *line);

/* json helpers shared by control.c and monitor.c */
json_t *json_label_list(const struct label_set *labels);
json_t *json_endpoint(struct agent *agent, const struct endpoint *ep);
json_t *json_identity(struct agent *agent, const struct identity *ident);
const char *ipv4__format(uint32_t addr, char *buf, size_t len);

#endif /* WARDEN_AGENT_H */
