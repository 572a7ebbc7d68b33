// SPDX-License-Identifier: Apache-2.0
/*
 * The local ipcache backend: an array of (prefix, identity) mirrored into a
 * sink. Lookups are linear longest-prefix scans; they serve the control
 * plane (`policy trace`, events), never the packet path, which uses the
 * kernel's LPM trie.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "warden/abi/maps.h"
#include "warden/ipcache.h"
#include "warden/prefix.h"

struct ipcache_entry {
	struct policy_prefix prefix;
	uint32_t identity;
};

struct local_ipcache {
	struct ipcache base;
	struct ipcache_sink sink;
	struct ipcache_entry *items;
	size_t count;
	size_t capacity;
};

static struct local_ipcache *to_local(struct ipcache *c)
{
	return (struct local_ipcache *)c;
}

static bool prefix_equal(const struct policy_prefix *a, const struct policy_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int local_upsert(struct ipcache *c, const struct policy_prefix *prefix,
			uint32_t identity)
{
	struct local_ipcache *lc = to_local(c);
	struct ipcache_entry *slot = NULL;
	int err;

	for (size_t i = 0; i < lc->count; i++)
		if (prefix_equal(&lc->items[i].prefix, prefix))
			slot = &lc->items[i];
	if (!slot && lc->count == lc->capacity) {
		size_t cap = lc->capacity ? lc->capacity * 2 : 64;
		struct ipcache_entry *items = realloc(lc->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		lc->items = items;
		lc->capacity = cap;
	}
	/* The datapath first: if the kernel refuses, the cache stays as it was. */
	if (lc->sink.set) {
		err = lc->sink.set(lc->sink.ctx, prefix, identity);
		if (err)
			return err;
	}
	if (!slot)
		slot = &lc->items[lc->count++];
	slot->prefix = *prefix;
	slot->identity = identity;
	return 0;
}

static int local_remove(struct ipcache *c, const struct policy_prefix *prefix)
{
	struct local_ipcache *lc = to_local(c);

	for (size_t i = 0; i < lc->count; i++) {
		if (!prefix_equal(&lc->items[i].prefix, prefix))
			continue;
		if (lc->sink.remove)
			lc->sink.remove(lc->sink.ctx, prefix);
		lc->items[i] = lc->items[--lc->count];
		return 0;
	}
	return -ENOENT;
}

static uint32_t local_lookup(struct ipcache *c, const struct policy_prefix *addr)
{
	struct local_ipcache *lc = to_local(c);
	uint32_t identity = WARDEN_IDENTITY_WORLD;
	int best = -1;

	for (size_t i = 0; i < lc->count; i++) {
		const struct policy_prefix *p = &lc->items[i].prefix;

		if (p->len > best && policy_prefix__contains(p, addr)) {
			best = p->len;
			identity = lc->items[i].identity;
		}
	}
	return identity;
}

static size_t local_count(struct ipcache *c)
{
	return to_local(c)->count;
}

static void local_destroy(struct ipcache *c)
{
	struct local_ipcache *lc = to_local(c);

	free(lc->items);
	free(lc);
}

static const struct ipcache_ops local_ops = {
	.upsert = local_upsert,
	.remove = local_remove,
	.lookup = local_lookup,
	.count = local_count,
	.destroy = local_destroy,
};

int ipcache__new_local(struct ipcache **out, const struct ipcache_sink *sink)
{
	struct local_ipcache *lc = calloc(1, sizeof(*lc));

	if (!lc)
		return -ENOMEM;
	lc->base.ops = &local_ops;
	if (sink)
		lc->sink = *sink;
	*out = &lc->base;
	return 0;
}
