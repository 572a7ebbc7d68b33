/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IP -> identity cache. The agent (and later a cluster backend that
 * learns remote nodes' endpoints) writes prefixes here; a sink mirrors every
 * change into the datapath's LPM map. Keeping the sink separate means the
 * cache can be filled from etcd without knowing about BPF.
 *
 * Several owners may claim the same prefix at once, one per class of
 * identity, and the highest class is in force: reserved identities (the
 * host's addresses) over endpoint identities over CIDR identities (a
 * policy's `toCIDR: <host address>/32`). So a CIDR rule never takes an
 * address from the host or an endpoint, and when the rule goes, the
 * address keeps its owner's identity. upsert() sets the claim of its
 * identity's class, remove() drops it; the sink sees the identity in
 * force whenever it changes, and the prefix only when no claim is left.
 */
#ifndef WARDEN_IPCACHE_H
#define WARDEN_IPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "warden/prefix.h"

struct ipcache;

struct ipcache_sink {
	int (*set)(void *ctx, const struct policy_prefix *prefix, uint32_t identity);
	int (*remove)(void *ctx, const struct policy_prefix *prefix);
	void *ctx;
};

struct ipcache_ops {
	int (*upsert)(struct ipcache *cache, const struct policy_prefix *prefix,
		      uint32_t identity);
	/* Drop identity's claim; -ENOENT if its class holds none or another. */
	int (*remove)(struct ipcache *cache, const struct policy_prefix *prefix,
		      uint32_t identity);
	/* Longest-prefix lookup; returns WARDEN_IDENTITY_WORLD on a miss. */
	uint32_t (*lookup)(struct ipcache *cache, const struct policy_prefix *addr);
	size_t (*count)(struct ipcache *cache);
	/* Call fn for every entry; stops at and returns fn's first non-zero. */
	int (*foreach)(struct ipcache *cache,
		       int (*fn)(void *ctx, const struct policy_prefix *prefix,
				 uint32_t identity),
		       void *ctx);
	void (*destroy)(struct ipcache *cache);
};

struct ipcache {
	const struct ipcache_ops *ops;
};

/* Local backend: an in-memory table mirrored into sink (which may be NULL). */
int ipcache__new_local(struct ipcache **out, const struct ipcache_sink *sink);

static inline int ipcache__upsert(struct ipcache *c, const struct policy_prefix *p,
				  uint32_t identity)
{
	return c->ops->upsert(c, p, identity);
}

static inline int ipcache__remove(struct ipcache *c, const struct policy_prefix *p,
				  uint32_t identity)
{
	return c->ops->remove(c, p, identity);
}

static inline uint32_t ipcache__lookup(struct ipcache *c, const struct policy_prefix *a)
{
	return c->ops->lookup(c, a);
}

static inline void ipcache__free(struct ipcache *c)
{
	if (c)
		c->ops->destroy(c);
}

#endif /* WARDEN_IPCACHE_H */
