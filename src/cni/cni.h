/* SPDX-License-Identifier: Apache-2.0 */
/*
 * warden-cni: the CNI plugin (docs/cni.md). A thin client: it reads the
 * runtime's request (environment + network configuration on stdin), asks
 * wardend over the control socket to make, check or remove the attachment,
 * and writes the CNI result or error object on stdout. The agent does the
 * plumbing (veth into the runtime's netns, address, routes, policy).
 *
 * Modules: version.c (spec versions), config.c (the network configuration),
 * identity.c (endpoint name, namespace and labels from what the runtime
 * passes), ipam.c (a delegated IPAM plugin), result.c (result objects per
 * version), main.c (the commands).
 */
#ifndef WARDEN_CNI_PLUGIN_H
#define WARDEN_CNI_PLUGIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The spec's well-known error codes (SPEC.md, "Error"), and ours (100+). */
enum cni_code {
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_NOT_AVAILABLE_LIMITED = 51,
	CNI_ERR_AGENT = 100, /* wardend refused or failed the request */
	CNI_ERR_CHECK = 101, /* CHECK found the attachment not as ADD made it */
	CNI_ERR_IPAM = 102, /* the delegated IPAM plugin failed without an error object */
};

struct cni_error {
	int code;
	char msg[256];
	char details[2048];
	json_t *passthrough; /* a delegated plugin's own error object, printed as is */
};

void cni_error__set(struct cni_error *e, int code, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The runtime's parameters (SPEC.md, "Parameters"); NULL when unset or empty. */
struct cni_env {
	const char *command;
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *args;
	const char *path;
};

enum cni_command {
	CNI_ADD,
	CNI_DEL,
	CNI_CHECK,
	CNI_GC,
	CNI_STATUS,
	CNI_VERSION
};

/* version.c */
/* The versions we speak, oldest first (result formats 0.3.x/0.4.0 and 1.x). */
extern const char *const cni_supported_versions[];
bool cni_version__supported(const char *version);
/* Compare two "X.Y.Z" versions like strcmp; unparsable counts as 0.0.0. */
int cni_version__compare(const char *a, const char *b);
/* The result format: 0.3.x and 0.4.0 carry "version" in each IP entry. */
bool cni_version__is_1x(const char *version);

/* config.c */
struct cni_config {
	json_t *root;		/* the whole request configuration (owned) */
	const char *version;	/* cniVersion */
	const char *network;	/* name */
	const char *socket;	/* wardend's control socket */
	const char *namespace;	/* endpoint namespace when the runtime gives none */
	bool runtime_namespace; /* use K8S_POD_NAMESPACE ("runtimeNamespace") */
	json_t *labels;		/* {"k": "v"} for every attachment of this network */
	const char *annotation_prefix; /* pod annotations that become labels */
	json_t *ipam;		       /* the delegated IPAM section, or NULL */
	json_t *prev_result;	       /* prevResult, or NULL */
	json_t *dns;		       /* the configuration's dns section, or NULL */
	json_t *valid_attachments;     /* cni.dev/valid-attachments (GC), or NULL */
	json_t *ports;		       /* ["name=port/proto"] named ports, or NULL */
	unsigned int timeout_s;	       /* how long to wait for the agent */
};

/*
 * Parse the request configuration read from stdin for @cmd. On error fills
 * @e (code 6 for bad JSON, 7 for an invalid field, 1 for a version we do not
 * speak) and returns -EINVAL.
 */
int cni_config__parse(const char *text, size_t len, enum cni_command cmd,
		      struct cni_config *out, struct cni_error *e);
void cni_config__free(struct cni_config *config);

/* identity.c */
struct cni_identity {
	char name[64];	    /* endpoint name: a DNS label */
	char namespace[64]; /* endpoint namespace: a DNS label */
	json_t *labels;	    /* ["k=v", ...], owned */
};

/*
 * The endpoint's name, namespace and labels from what the runtime passed:
 * K8S_POD_NAME / K8S_POD_NAMESPACE in CNI_ARGS, the configuration's
 * "labels", args.cni.labels, and pod annotations under the configured prefix
 * (runtimeConfig "io.kubernetes.cri.pod-annotations"). Later sources
 * override earlier ones for the same key. Fills @e (code 7) on an invalid
 * label or namespace.
 */
int cni_identity__build(const struct cni_env *env, const struct cni_config *config,
			struct cni_identity *out, struct cni_error *e);
void cni_identity__free(struct cni_identity *id);
/* Value of KEY in a "K1=V1;K2=V2" CNI_ARGS string into buf; false if absent. */
bool cni_args__get(const char *args, const char *key, char *buf, size_t len);

/* ipam.c */
/*
 * Run the delegated IPAM plugin named by config->ipam.type with @command and
 * the same configuration (@stdin_text) and environment we got. For ADD,
 * *result is its (abbreviated) result object. On failure fills @e, passing
 * the plugin's own error object through when it printed one.
 */
int cni_ipam__exec(const struct cni_env *env, const struct cni_config *config,
		   const char *command, const char *stdin_text, size_t stdin_len,
		   json_t **result, struct cni_error *e);

/* result.c */
/*
 * The ADD result for @version: prevResult's interfaces, ips and routes (if
 * any) followed by ours from the agent's answer (@attachment: see the cni.add
 * result in docs/control-protocol.md), with the ips' interface indexes
 * pointing at our container interface. Returns a new object or NULL.
 */
json_t *cni_result__build(const char *version, const struct cni_env *env,
			  const struct cni_config *config, json_t *attachment);
/* Print a JSON value on stdout, followed by a newline. */
void cni_result__print(json_t *value);

#endif /* WARDEN_CNI_PLUGIN_H */
