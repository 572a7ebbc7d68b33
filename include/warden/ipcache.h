/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IP -> identity cache. The agent (and later a cluster backend that
 * learns remote nodes' endpoints) writes prefixes here; a sink mirrors every
 * change into the datapath's LPM map. Keeping the sink separate means the
 * cache can be filled from etcd without knowing about BPF.
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
	int (*remove)(struct ipcache *cache, const struct policy_prefix *prefix);
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

static inline int ipcache__remove(struct ipcache *c, const struct policy_prefix *p)
{
	return c->ops->remove(c, p);
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
