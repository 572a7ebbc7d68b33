/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy model: what the YAML parser produces and the compiler consumes.
 *
 * All three accepted kinds (CiliumNetworkPolicy, CiliumClusterwideNetwork-
 * Policy, Kubernetes NetworkPolicy) are normalised into this one model by
 * the parser, including the namespace scoping rules, so the compiler only
 * matches selectors against identity labels:
 *  - a namespaced policy's subject selector requires
 *    k8s:io.kubernetes.pod.namespace=<ns>;
 *  - its peer endpoint selectors require the same unless they name that
 *    key themselves (Cilium's rule);
 *  - Kubernetes namespaceSelector terms become requirements on
 *    k8s:io.cilium.k8s.namespace.labels.<key>, and a podSelector without
 *    namespaceSelector is pinned to the policy's namespace;
 *  - a clusterwide policy's peer endpoint selectors require
 *    k8s:io.kubernetes.pod.namespace to exist (Cilium's rule: a peer `{}`
 *    means every pod, never world or host).
 * The exceptions follow Cilium (see lib/policy/policy_parse_cilium.c).
 *
 * Ownership: a struct policy_set owns everything below it; free it with
 * policy_set__free().
 */
#ifndef WARDEN_POLICY_H
#define WARDEN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/prefix.h"
#include "warden/selector.h"

enum policy_kind {
	POLICY_KIND_CILIUM,		/* CiliumNetworkPolicy */
	POLICY_KIND_CILIUM_CLUSTERWIDE, /* CiliumClusterwideNetworkPolicy */
	POLICY_KIND_K8S,		/* networking.k8s.io/v1 NetworkPolicy */
};

/* Cilium entities, as a bit set. */
enum policy_entity {
	POLICY_ENTITY_HOST = 1u << 0,
	POLICY_ENTITY_WORLD = 1u << 1, /* also world-ipv4 */
	POLICY_ENTITY_WORLD_IPV6 = 1u << 2,
	POLICY_ENTITY_CLUSTER = 1u << 3,
	POLICY_ENTITY_ALL = 1u << 4,
	POLICY_ENTITY_INIT = 1u << 5,
	POLICY_ENTITY_HEALTH = 1u << 6,
	POLICY_ENTITY_UNMANAGED = 1u << 7,
	POLICY_ENTITY_REMOTE_NODE = 1u << 8,
	POLICY_ENTITY_KUBE_APISERVER = 1u << 9,
	POLICY_ENTITY_INGRESS = 1u << 10,
	POLICY_ENTITY_NONE = 1u << 11,
};

/*
 * fromCIDR / toCIDR (no except) and fromCIDRSet / toCIDRSet, ipBlock.
 * selects_pods: the addresses of pods inside it count too (Kubernetes'
 * ipBlock); a Cilium CIDR rule leaves it false and selects no endpoint
 * (Cilium's rule), unless the agent runs with --cidr-rules-select-pods.
 */
struct policy_cidr {
	struct policy_prefix prefix;
	struct policy_prefix *except;
	size_t except_count;
	bool selects_pods;
};

/*
 * One port entry. protocol 0 = ANY. port 0 = every port (then end_port is
 * 0). A named port has name set and port 0; it is resolved per endpoint by
 * the compiler. For ICMP rules (icmps) protocol is IPPROTO_ICMP and port
 * holds the ICMP type, end_port 0.
 */
struct policy_port {
	uint16_t port;
	uint16_t end_port; /* 0 = single port */
	uint8_t protocol;  /* IPPROTO_TCP/UDP/SCTP/ICMP/..., 0 = any */
	char *name;	   /* named port, or NULL */
};

/* One `rules.http[]` entry (enforced by the L7 proxy, a later issue). */
struct policy_http_header_match {
	char *name;
	char *value;	/* NULL = presence only */
	char *mismatch; /* headerMatches.mismatch: LOG/ADD/DELETE/REPLACE, or NULL */
};

struct policy_http_rule {
	char *method; /* regular expressions, NULL = any */
	char *path;
	char *host;
	struct policy_http_header_match *headers; /* headers + headerMatches */
	size_t header_count;
};

/*
 * One `toPorts[]` entry: ports plus optional L7 rules. An entry without
 * ports (port_count 0) matches nothing, as in Cilium.
 */
struct policy_port_rule {
	struct policy_port *ports;
	size_t port_count;
	struct policy_http_rule *http;
	size_t http_count;
	bool has_http; /* `rules.http` present (even as an empty list) */
};

/*
 * One element of ingress / egress / ingressDeny / egressDeny, normalised.
 * Peers: if none of endpoints/entities/cidrs/requires is set (has_peers
 * false), the rule applies to every peer (Cilium: an L4-only rule).
 */
struct policy_rule {
	bool deny;
	uint8_t direction; /* enum warden_direction */
	bool has_peers;
	struct selector *endpoints; /* fromEndpoints / toEndpoints, ORed */
	size_t endpoint_count;
	uint32_t entities;	   /* enum policy_entity bits */
	struct policy_cidr *cidrs; /* ORed with the above */
	size_t cidr_count;
	struct selector *requires; /* fromRequires / toRequires */
	size_t require_count;
	struct policy_port_rule *port_rules; /* toPorts (+ icmps as ports) */
	size_t port_rule_count;		     /* 0 = every port and protocol */
	int line;			     /* 1-based source line */
	uint32_t index;			     /* position in its list */
};

/* enableDefaultDeny: unset, false or true per direction. */
enum policy_default_deny {
	POLICY_DEFAULT_DENY_UNSET = -1,
	POLICY_DEFAULT_DENY_OFF = 0,
	POLICY_DEFAULT_DENY_ON = 1,
};

/* One `spec` / `specs[]` entry (one Kubernetes NetworkPolicy spec). */
struct policy_spec {
	struct selector subject;   /* endpointSelector / podSelector, scoped */
	struct policy_rule *rules; /* ingress, egress and their deny twins */
	size_t rule_count;
	/*
	 * Whether this spec puts its subjects into default deny, resolved by
	 * the parser: Cilium's "a direction with rules (even `[{}]`)" unless
	 * enableDefaultDeny says otherwise; for Kubernetes, policyTypes.
	 */
	bool default_deny_ingress;
	bool default_deny_egress;
	char *description;
	int line;
};

/* What a denied packet gets (annotation policy.warden.io/deny-response). */
enum policy_deny_response {
	POLICY_DENY_RESPONSE_DEFAULT = 0, /* the agent's --deny-response */
	POLICY_DENY_RESPONSE_DROP,
	POLICY_DENY_RESPONSE_REJECT, /* TCP RST, ICMP unreachable */
};

/* Warden's own annotations (metadata.annotations), see docs/policy-modes.md. */
#define POLICY_ANNOTATION_PREFIX "policy.warden.io/"
#define POLICY_ANNOTATION_AUDIT "policy.warden.io/audit-mode"
#define POLICY_ANNOTATION_DENY_RESPONSE "policy.warden.io/deny-response"

struct policy {
	enum policy_kind kind;
	char *name;
	char *namespace; /* NULL for clusterwide */
	/*
	 * Stable id for rule cookies, given by the agent when the policy is
	 * imported (a re-imported object keeps its id); 0 = not assigned, then
	 * the compiler uses the policy's position + 1.
	 */
	uint16_t id;
	bool audit; /* audit mode: would-be drops are forwarded, reported AUDIT */
	enum policy_deny_response deny_response;
	struct policy_spec *specs;
	size_t spec_count;
	char *file;   /* where it came from, for errors and `policy get` */
	int document; /* 0-based YAML document index in the file */
	int line;     /* line of the document's start */
	char *source; /* the document's YAML text (for `policy get`) */
};

struct policy_set {
	struct policy *items;
	size_t count;
};

/* Diagnostics: the first error stops the parse; warnings accumulate. */
#define POLICY_DIAG_MAX_WARNINGS 32
struct policy_diag_entry {
	char file[256];
	int document; /* 0-based, -1 if not known */
	int line;     /* 1-based, 0 if not known */
	int column;
	char field[256];   /* path such as "spec.ingress[0].toPorts[0].ports[0].port" */
	char message[512]; /* what is wrong, in words */
	bool unsupported;  /* valid Cilium, but a feature Warden lacks yet */
};

struct policy_diag {
	/*
	 * Input, kept by the parse: accept L7 `rules.http`. They are parsed
	 * in full either way; while this is false (until the L7 proxy
	 * enforces them) they are reported as unsupported.
	 */
	bool allow_http;
	bool failed;
	struct policy_diag_entry error;
	struct policy_diag_entry warnings[POLICY_DIAG_MAX_WARNINGS];
	size_t warning_count;
};

/*
 * Parse a YAML buffer with one or more documents into out (appending).
 * Documents that are not a policy kind are an error. On error returns
 * -EINVAL, fills diag->error and leaves out as it was (all-or-nothing).
 * file names the source in diagnostics.
 */
int policy_parse_buffer(const char *file, const char *buf, size_t len,
			struct policy_set *out, struct policy_diag *diag);
int policy_parse_file(const char *path, struct policy_set *out, struct policy_diag *diag);

/* "file:line: document N: field: message" into buf. */
size_t policy_diag_entry__format(const struct policy_diag_entry *e, char *buf,
				 size_t len);

void policy__free(struct policy *p);
void policy_set__free(struct policy_set *set);

#endif /* WARDEN_POLICY_H */
