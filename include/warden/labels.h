/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Labels: source:key=value triples, as Cilium writes them
 * ("k8s:org=empire", "reserved:host", "cidr:10.0.0.0/8").
 *
 * A label set is sorted by (source, key) and owns its strings.
 */
#ifndef WARDEN_LABELS_H
#define WARDEN_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#define LABEL_SOURCE_K8S "k8s"
#define LABEL_SOURCE_RESERVED "reserved"
#define LABEL_SOURCE_CIDR "cidr"
#define LABEL_SOURCE_ANY "any"

/* The labels Warden derives, named as Cilium names them. */
#define LABEL_POD_NAMESPACE "io.kubernetes.pod.namespace"
#define LABEL_NAMESPACE_LABELS_PREFIX "io.cilium.k8s.namespace.labels."
#define LABEL_POLICY_CLUSTER "io.cilium.k8s.policy.cluster"
#define LABEL_CLUSTER_NAME "default"

struct label {
	char *source; /* never NULL: "k8s", "reserved", "cidr", ... */
	char *key;
	char *value; /* "" when the label has no value */
};

struct label_set {
	struct label *items;
	size_t count;
};

/*
 * Validate a Kubernetes label key (optional DNS-subdomain prefix and '/',
 * then a name of at most 63 characters of [A-Za-z0-9-_.] that starts and
 * ends alphanumeric). On error writes the reason into err and returns
 * -EINVAL.
 */
int label_key__validate(const char *key, char *err, size_t err_len);
/* Validate a label value: empty, or as a key's name part. */
int label_value__validate(const char *value, char *err, size_t err_len);

/*
 * Parse "source:key=value", "key=value", "key" (empty value) into *out.
 * A missing source becomes default_source. The strings are allocated;
 * free with label__free(). Validates key and value (for the k8s source).
 */
int label__parse(const char *text, const char *default_source, struct label *out,
		 char *err, size_t err_len);
void label__free(struct label *label);

/* Empty set: zero-initialise. All functions keep the set sorted. */
int label_set__add(struct label_set *set, const char *source, const char *key,
		   const char *value); /* replaces an equal source+key */
int label_set__remove(struct label_set *set, const char *source, const char *key);
/* Find by source+key; source NULL or "any" matches any source. */
const struct label *label_set__find(const struct label_set *set, const char *source,
				    const char *key);
int label_set__copy(struct label_set *dst, const struct label_set *src);
bool label_set__equal(const struct label_set *a, const struct label_set *b);
void label_set__free(struct label_set *set);
/*
 * Parse "k=v,k2=v2" (the --labels syntax) into set with default source k8s.
 * Fails on the first invalid label with a reason naming it.
 */
int label_set__parse_list(struct label_set *set, const char *text, char *err,
			  size_t err_len);
/* "k8s:a=b,k8s:c=d" into buf; returns the length it needed (snprintf-like). */
size_t label_set__format(const struct label_set *set, char *buf, size_t len);

#endif /* WARDEN_LABELS_H */
