/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security identities: equal identity-relevant label sets share one number.
 *
 * Allocation sits behind an ops table so a cluster backend (etcd, shared
 * across nodes) can replace the local, embedded one without touching the
 * agent. The local backend: reserved identities 1..10, endpoint identities
 * from 256, CIDR identities from 1 << 24 (node-local, as Cilium), and
 * pod-CIDR identities from the same node-local range: one per prefix of a
 * CIDR rule that selects pods (a NetworkPolicy ipBlock), never the CIDR
 * identity of the same prefix (see warden_pod_cidr in abi/maps.h).
 */
#ifndef WARDEN_IDENTITY_H
#define WARDEN_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/labels.h"
#include "warden/prefix.h"

struct identity {
	uint32_t id;
	struct label_set labels;
	unsigned int refcount; /* reserved identities are never released */
	bool reserved;
	bool is_cidr;
	bool is_pod_cidr;
	struct policy_prefix prefix; /* when is_cidr or is_pod_cidr */
};

struct identity_allocator;

struct identity_allocator_ops {
	/* Find or allocate the identity of labels; takes a reference. For a
	 * CIDR identity pass its prefix (labels are then derived from it),
	 * with pods for the prefix's pod-CIDR identity instead. */
	int (*acquire)(struct identity_allocator *alloc, const struct label_set *labels,
		       const struct policy_prefix *cidr, bool pods, uint32_t *id);
	/* Drop a reference; the identity goes away at zero. */
	void (*release)(struct identity_allocator *alloc, uint32_t id);
	const struct identity *(*lookup)(struct identity_allocator *alloc, uint32_t id);
	/* Every identity, in id order; the array is owned by the allocator and
	 * valid until the next acquire/release. */
	size_t (*list)(struct identity_allocator *alloc,
		       const struct identity *const **out);
	void (*destroy)(struct identity_allocator *alloc);
};

struct identity_allocator {
	const struct identity_allocator_ops *ops;
};

/* The local, embedded backend. */
int identity_allocator__new_local(struct identity_allocator **out);

static inline int identity__acquire(struct identity_allocator *a,
				    const struct label_set *labels, uint32_t *id)
{
	return a->ops->acquire(a, labels, NULL, false, id);
}

static inline int identity__acquire_cidr(struct identity_allocator *a,
					 const struct policy_prefix *prefix, uint32_t *id)
{
	return a->ops->acquire(a, NULL, prefix, false, id);
}

/* The pod-CIDR identity of prefix (node-local, never its CIDR identity). */
static inline int identity__acquire_pod_cidr(struct identity_allocator *a,
					     const struct policy_prefix *prefix,
					     uint32_t *id)
{
	return a->ops->acquire(a, NULL, prefix, true, id);
}

static inline void identity__release(struct identity_allocator *a, uint32_t id)
{
	a->ops->release(a, id);
}

static inline const struct identity *identity__lookup(struct identity_allocator *a,
						      uint32_t id)
{
	return a->ops->lookup(a, id);
}

static inline size_t identity__list(struct identity_allocator *a,
				    const struct identity *const **out)
{
	return a->ops->list(a, out);
}

static inline void identity_allocator__free(struct identity_allocator *a)
{
	if (a)
		a->ops->destroy(a);
}

/* Name of a reserved identity ("host", "world", ...) or NULL. */
const char *identity__reserved_name(uint32_t id);

/*
 * The labels of the CIDR identity of prefix p: "cidr:<p>" and
 * "reserved:world" (every CIDR is outside the cluster). out is
 * overwritten; free it with label_set__free(). Returns 0 or -errno.
 */
int identity__cidr_labels(const struct policy_prefix *p, struct label_set *out);

/*
 * The labels of the pod-CIDR identity of prefix p: "cidr:<p>" and
 * "warden:pod-cidr" (the pods inside p, not the world). No selector
 * matches them: the compiler selects such an identity by its prefix only.
 */
int identity__pod_cidr_labels(const struct policy_prefix *p, struct label_set *out);

#endif /* WARDEN_IDENTITY_H */
