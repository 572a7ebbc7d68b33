/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Label selectors (Kubernetes LabelSelector semantics, Cilium's label
 * sources): a conjunction of requirements. An empty selector matches every
 * label set; a selector marked match_nothing matches none (used for peers
 * such as `toServices: [{}]` that must never widen to "all").
 */
#ifndef WARDEN_SELECTOR_H
#define WARDEN_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/labels.h"

enum selector_op {
	SELECTOR_OP_IN,
	SELECTOR_OP_NOT_IN,
	SELECTOR_OP_EXISTS,
	SELECTOR_OP_DOES_NOT_EXIST,
};

struct selector_requirement {
	char *source; /* "k8s", "reserved", ...; "any" matches every source */
	char *key;
	enum selector_op op;
	char **values; /* In/NotIn only */
	size_t value_count;
};

struct selector {
	struct selector_requirement *requirements;
	size_t count;
	bool match_nothing;
};

/*
 * Does sel select labels? A requirement on key K with source "any" looks at
 * every label named K whatever its source. NotIn and DoesNotExist also hold
 * when the key is absent (Kubernetes semantics).
 */
bool selector__matches(const struct selector *sel, const struct label_set *labels);

/*
 * Add a requirement; key may carry a source prefix ("k8s:app",
 * "reserved:host"); without one the source is "any". Copies every string.
 */
int selector__add(struct selector *sel, const char *key, enum selector_op op,
		  const char *const *values, size_t value_count);
/* True if some requirement names this key (any source). */
bool selector__has_key(const struct selector *sel, const char *key);
int selector__copy(struct selector *dst, const struct selector *src);
void selector__free(struct selector *sel);
/* Human-readable form, e.g. "k8s:org=empire,any:class in (a,b)". */
size_t selector__format(const struct selector *sel, char *buf, size_t len);

#endif /* WARDEN_SELECTOR_H */
