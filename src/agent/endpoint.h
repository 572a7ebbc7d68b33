/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Endpoints and namespaces (endpoint.c): an endpoint's identity labels are
 * its own labels plus the ones Cilium derives from its namespace.
 */
#ifndef WARDEN_AGENT_ENDPOINT_H
#define WARDEN_AGENT_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str_list.h"
#include "warden/labels.h"
#include "warden/netdev.h"
#include "warden/policy_compile.h"
#include "warden/policy_lifted.h"

struct agent;

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
	struct policy_entries entries;	 /* what the policy map holds now */
	struct policy_lifted_set lifted; /* in the proxy's document (policy_lifted.h) */
	uint32_t flags;			 /* WARDEN_EP_* flags in the map */
	uint32_t policy_revision;
	bool audit_mode; /* `warden endpoint config NAME audit=on` */
	/* The network namespace as the kernel names it (st_dev, st_ino of
	 * its nsfs file): how control.c recognises a client inside it. */
	uint64_t netns_dev;
	uint64_t netns_ino;
};

struct namespace_labels {
	char *name;
	struct label_set labels;
};

/* What `endpoint create` asks for. */
struct endpoint_spec {
	const char *name;		  /* borrowed */
	const char *namespace;		  /* borrowed */
	struct label_set labels;	  /* the user's labels, owned */
	struct compile_named_port *ports; /* owned, names too */
	size_t port_count;
};
/* In wire_request.c, which makes these requests. */
void endpoint_spec__free(struct endpoint_spec *spec);

/* A change of user labels: keys removed first, then labels set. */
struct label_changes {
	struct label_set set;
	struct str_list remove; /* keys (source k8s) */
};
/* In wire_request.c, as endpoint_spec__free(). */
void label_changes__free(struct label_changes *changes);

/*
 * Create an endpoint as spec says (labels and ports are copied): identity,
 * netns and veth, ipcache, policy, then the tc programs. On error nothing is
 * left behind and err says why.
 */
int endpoint__create(struct agent *agent, const struct endpoint_spec *spec,
		     struct endpoint **out, char *err, size_t err_len);
int endpoint__delete(struct agent *agent, struct endpoint *ep);
/* Every endpoint, without recomputing the others' policy (shutdown). */
void endpoint__delete_all(struct agent *agent);
/* A new identity for ep's new labels; on failure nothing changes. */
int endpoint__relabel(struct agent *agent, struct endpoint *ep,
		      const struct label_changes *changes, char *err, size_t err_len);
/* Switch ep's audit mode; established flows are re-checked. */
int endpoint__set_audit(struct agent *agent, struct endpoint *ep, bool on, char *err,
			size_t err_len);
struct endpoint *endpoint__find(struct agent *agent, const char *name, const char *ns);
struct endpoint *endpoint__find_by_id(struct agent *agent, uint32_t id);
struct endpoint *endpoint__find_by_ipv4(struct agent *agent, uint32_t ipv4);
/* The endpoint whose network namespace has this nsfs (dev, inode). */
struct endpoint *endpoint__find_by_netns(struct agent *agent, uint64_t dev, uint64_t ino);
/* The identity labels an endpoint with these user labels has in ns. */
int endpoint__derive_labels(struct agent *agent, const char *ns,
			    const struct label_set *user, struct label_set *out);

/* Relabel a namespace: every endpoint in it gets a new identity. */
int namespace__relabel(struct agent *agent, const char *ns,
		       const struct label_changes *changes, char *err, size_t err_len);
const struct label_set *namespace__labels(struct agent *agent, const char *ns);
void namespace__free_all(struct agent *agent);

#endif /* WARDEN_AGENT_ENDPOINT_H */
