/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to the policy parser (lib/policy/policy_parse*.c): the context of a walk
 * over one libyaml document, the field path that diagnostics name, typed
 * accessors that decode YAML nodes the way Kubernetes does, and the pieces
 * shared by the Cilium and the Kubernetes dialects (selectors, ports, CIDRs).
 *
 * Error protocol: every function returns 0 or a negative errno. A hard
 * error is recorded in ctx->diag->error by parse_ctx__error() before the
 * -EINVAL travels up; nothing above it adds to the message. A feature that
 * is valid Cilium but not implemented (parse_ctx__unsupported()) does not
 * stop the walk: the rest of the file is still validated, and the first
 * such feature is reported only if no hard error turns up (so a file that
 * is both broken and uses an unsupported feature is reported as broken).
 */
#ifndef WARDEN_POLICY_PARSE_INTERNAL_H
#define WARDEN_POLICY_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "warden/policy.h"
#include "warden/selector.h"

/*
 * Upper bound on list items and mapping entries visited per document.
 * Aliases let a small file expand into an enormous tree (each alias is the
 * same node again); this bounds the walk long before time or memory do.
 */
#define PARSE_VISIT_BUDGET (1u << 20)

/*
 * Limits checked on the event stream before libyaml builds a document
 * (policy_parse.c, prescan()), per document: nodes (scalars, aliases,
 * sequences and mappings), nesting of sequences and mappings, anchors and
 * aliases. The 10,000-rule policy of tests/e2e/test_scale.sh has 180,019
 * nodes and parses in 41 MiB (bench/policy_parse_rss.sh), so the node
 * limit holds about 120 MiB. libyaml's loader looks an anchor up by a
 * linear search, for every alias and every new anchor: the two counts
 * bound that work (a 2 MiB file of 20,000 anchors and 200,000 aliases took
 * 19 s).
 */
#define PARSE_MAX_NODES (1u << 19)
/* All documents of one buffer: the parsed set grows with it. */
#define PARSE_MAX_STREAM_NODES (1u << 20)
#define PARSE_MAX_DEPTH 64
#define PARSE_MAX_ANCHORS 1024
#define PARSE_MAX_ALIASES 65536

struct parse_ctx {
	yaml_document_t *doc;
	const char *file;
	int document; /* 0-based */
	struct policy_diag *diag;
	bool allow_http;

	char path[256]; /* "spec.ingress[0].toPorts[0]" */
	size_t path_len;

	bool have_unsupported;
	struct policy_diag_entry unsupported;

	size_t visit_budget;

	/* The policy being parsed. */
	enum policy_kind kind;
	const char *namespace; /* NULL for a clusterwide policy */
};

/* --- diagnostics and the field path (policy_parse_yaml.c) --- */

/* Append ".key" (or "key" at the root); returns the length to restore. */
size_t parse_ctx__push_key(struct parse_ctx *ctx, const char *key);
/* Append "[index]"; returns the length to restore. */
size_t parse_ctx__push_index(struct parse_ctx *ctx, size_t index);
void parse_ctx__restore(struct parse_ctx *ctx, size_t saved);

/* Record the error at node (may be NULL) and the current path; -EINVAL. */
int parse_ctx__error(struct parse_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record an allocation failure; returns -ENOMEM. */
int parse_ctx__nomem(struct parse_ctx *ctx);
/* Remember the first unsupported feature; returns 0 (the walk goes on). */
int parse_ctx__unsupported(struct parse_ctx *ctx, const yaml_node_t *node,
			   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Add a warning (dropped silently past POLICY_DIAG_MAX_WARNINGS). */
void parse_ctx__warn(struct parse_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- typed access to YAML nodes (policy_parse_yaml.c) --- */

/*
 * YAML null: an absent value, "~" or "null" (plain style only). Go's JSON
 * decoding, which Kubernetes uses, treats a null field as an absent one.
 */
bool parse_node__is_null(const yaml_node_t *node);
/* The value of key in a mapping, NULL if absent; *key_node if wanted. */
yaml_node_t *parse_map__get(struct parse_ctx *ctx, const yaml_node_t *map,
			    const char *key, yaml_node_t **key_node);
/* As parse_map__get, but an explicit null counts as absent. */
yaml_node_t *parse_map__field(struct parse_ctx *ctx, const yaml_node_t *map,
			      const char *key);
/*
 * Check that node is a mapping with string keys, no duplicates, and only
 * keys from known (NULL-terminated). An unknown key is an error, or a
 * warning when warn_unknown is set (then it is ignored).
 */
int parse_map__check(struct parse_ctx *ctx, const yaml_node_t *node,
		     const char *const *known, bool warn_unknown);
/* Error unless node is a sequence; a null is an empty one (*count = 0). */
int parse_seq__check(struct parse_ctx *ctx, const yaml_node_t *node, size_t *count);
/* Item i of a sequence checked with parse_seq__check; counts the budget. */
int parse_seq__item(struct parse_ctx *ctx, const yaml_node_t *seq, size_t index,
		    yaml_node_t **item);

/*
 * Parses one list item (item is never NULL; index is its position); arg is
 * what the caller gave parse_seq__each().
 */
typedef int (*parse_item_fn)(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			     void *arg);
/*
 * The one shape of the grammar's lists: with the field `key` on the path
 * (NULL: the caller has put the path there), parse each of the count items
 * of seq with fn, "[index]" on the path. count is what parse_seq__check()
 * or parse_map__list() found. The first error stops the walk with the
 * path left at the item, where the diagnostic points.
 */
int parse_seq__each(struct parse_ctx *ctx, const char *key, const yaml_node_t *seq,
		    size_t count, parse_item_fn fn, void *arg);
/*
 * Room in the model for the items of a list: count zeroed elements of
 * size bytes, NULL for none. *ret is 0, or -ENOMEM (recorded).
 */
void *parse_ctx__calloc(struct parse_ctx *ctx, size_t count, size_t size, int *ret);
/*
 * A string scalar. Plain scalars that YAML resolves to a boolean, a number
 * or null are refused as Kubernetes does ("cannot unmarshal bool into
 * string"): `app: true` is not the label value "true". *out points into
 * the document.
 */
int parse_node__string(struct parse_ctx *ctx, const yaml_node_t *node, const char **out);
/* An integer scalar (plain style, decimal). */
int parse_node__int(struct parse_ctx *ctx, const yaml_node_t *node, long long *out);
/* Plain scalar that is a decimal integer? (quoted "80" is not) */
bool parse_node__is_int(const yaml_node_t *node);
/* A YAML boolean (true/false and the YAML 1.1 spellings, plain style). */
int parse_node__bool(struct parse_ctx *ctx, const yaml_node_t *node, bool *out);
/* Newly allocated copy of a string field; NULL node gives NULL. */
int parse_node__strdup(struct parse_ctx *ctx, const yaml_node_t *node, char **out);
int parse_node__line(const yaml_node_t *node);

/*
 * A list field of map: *value (NULL if absent or null) and its *count;
 * error if it is not a list. name NULL = a field this dialect lacks.
 */
int parse_map__list(struct parse_ctx *ctx, const yaml_node_t *map, const char *name,
		    const yaml_node_t **value, size_t *count);
/*
 * Shape checks for what Warden validates but does not implement (Kafka,
 * DNS and FQDN entries, rule labels): a list of strings; a mapping whose
 * values are strings (known NULL = any keys); a list of such mappings.
 */
int parse_seq__check_strings(struct parse_ctx *ctx, const yaml_node_t *node);
int parse_map__check_strings(struct parse_ctx *ctx, const yaml_node_t *node,
			     const char *const *known);
int parse_seq__check_string_maps(struct parse_ctx *ctx, const yaml_node_t *node,
				 const char *const *known);

/* --- shared pieces (policy_parse_common.c) --- */

enum parse_selector_flavour {
	/* Cilium: keys may carry a source ("k8s:app"); no source = any. */
	PARSE_SELECTOR_CILIUM,
	/* Kubernetes podSelector: every key gets the k8s source. */
	PARSE_SELECTOR_K8S_POD,
	/* Kubernetes namespaceSelector: keys become namespace-label keys. */
	PARSE_SELECTOR_K8S_NAMESPACE,
};

/* A LabelSelector {matchLabels, matchExpressions}; null = empty (all). */
int parse_selector(struct parse_ctx *ctx, const yaml_node_t *node,
		   enum parse_selector_flavour flavour, struct selector *out);
/* Add the requirement k8s:io.kubernetes.pod.namespace In [ns]. */
int parse_selector__pin_namespace(struct parse_ctx *ctx, struct selector *sel,
				  const char *ns);
/* Add the requirement k8s:io.kubernetes.pod.namespace Exists. */
int parse_selector__any_namespace(struct parse_ctx *ctx, struct selector *sel);
/* Does a requirement with source k8s or any name this key? */
bool parse_selector__names(const struct selector *sel, const char *key);
/* Same for any key starting with prefix. */
bool parse_selector__names_prefix(const struct selector *sel, const char *prefix);
/* Does a requirement use this source? */
bool parse_selector__uses_source(const struct selector *sel, const char *source);

/*
 * A CIDR string. require_length: the text must be "addr/len" (CIDRSet and
 * ipBlock); otherwise a bare address is a host prefix (toCIDR).
 */
int parse_prefix(struct parse_ctx *ctx, const yaml_node_t *node, bool require_length,
		 struct policy_prefix *out);
/*
 * `cidr` and `except` of a Cilium CIDRSet entry or a Kubernetes ipBlock
 * (the caller checks the mapping's fields): cidr is required, every except
 * must lie inside it, and with strict_subset (Kubernetes) must be smaller;
 * Kubernetes also accepts host bits (`10.1.2.3/8`), which are then cleared
 * with a warning instead of refused.
 */
int parse_cidr_except(struct parse_ctx *ctx, const yaml_node_t *node, bool strict_subset,
		      struct policy_cidr *out);

enum parse_port_flavour {
	PARSE_PORT_CILIUM,
	PARSE_PORT_K8S,
};

/*
 * One ports[] entry {port, endPort, protocol} into out (out->name is
 * allocated for a named port). Cilium's default protocol is ANY,
 * Kubernetes' TCP.
 */
int parse_port(struct parse_ctx *ctx, const yaml_node_t *node,
	       enum parse_port_flavour flavour, struct policy_port *out);

/* IANA service name (RFC 6335 5.1): 1-15 chars, alnum + non-edge '-'. */
bool parse_is_service_name(const char *s, bool allow_upper);
/* Kubernetes object names. */
bool parse_is_dns1123_subdomain(const char *s);
bool parse_is_dns1123_label(const char *s);

/* --- the two dialects --- */

/*
 * Cilium toPorts[] entry (a deny rule takes ports only) and icmps[] entry
 * (lib/policy/policy_parse_ports.c).
 */
int parse_cilium_port_rule(struct parse_ctx *ctx, const yaml_node_t *node, bool ingress,
			   bool deny, struct policy_port_rule *out);
int parse_cilium_icmp_rule(struct parse_ctx *ctx, const yaml_node_t *node,
			   struct policy_port_rule *out);

/* spec / specs of a CiliumNetworkPolicy or a clusterwide one, into p. */
int parse_cilium_policy(struct parse_ctx *ctx, const yaml_node_t *root, struct policy *p);
/* spec of a networking.k8s.io/v1 NetworkPolicy, into p. */
int parse_k8s_policy(struct parse_ctx *ctx, const yaml_node_t *root, struct policy *p);

/* --- release helpers (policy_free.c) --- */
void policy_rule__release(struct policy_rule *rule);
void policy_port_rule__release(struct policy_port_rule *pr);
void policy_spec__release(struct policy_spec *spec);

#endif /* WARDEN_POLICY_PARSE_INTERNAL_H */
