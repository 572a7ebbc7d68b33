// SPDX-License-Identifier: Apache-2.0
/*
 * The local ipcache backend: an array of prefixes, each with the claims
 * its owners hold on it (host, endpoint, CIDR rule) and the one in force,
 * mirrored into a sink. Lookups are linear longest-prefix scans; they
 * serve the control plane (`policy trace`, events), never the packet
 * path, which uses the kernel's LPM trie.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "warden/abi/maps.h"
#include "warden/ipcache.h"
#include "warden/prefix.h"

/*
 * Who may claim a prefix, lowest priority first: the class of an identity
 * is its numeric range (include/warden/abi/maps.h).
 */
enum ipcache_claim {
	CLAIM_CIDR,	/* node-local CIDR identities, from policy rules */
	CLAIM_ENDPOINT, /* endpoint identities */
	CLAIM_RESERVED, /* host and the other reserved identities */
	CLAIM_COUNT,
};

struct ipcache_entry {
	struct policy_prefix prefix;
	uint32_t identity;	      /* in force: the highest claim */
	uint32_t claims[CLAIM_COUNT]; /* 0 = no claim of that class */
};

/* Open addressing over prefixes, so 10,000 CIDRs are not quadratic. */
struct local_ipcache {
	struct ipcache base;
	struct ipcache_sink sink;
	struct ipcache_entry *items; /* dense array, for lookups and count */
	size_t count;
	size_t capacity;
	size_t *slots; /* index + 1 into items, 0 = empty; power of two */
	size_t slot_count;
};

static uint64_t prefix_hash(const struct policy_prefix *p)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *bytes = p->addr;

	h = (h ^ p->family) * 0x100000001b3ull;
	h = (h ^ p->len) * 0x100000001b3ull;
	for (size_t i = 0; i < sizeof(p->addr); i++)
		h = (h ^ bytes[i]) * 0x100000001b3ull;
	return h;
}

static enum ipcache_claim claim_of(uint32_t identity)
{
	if (identity < WARDEN_IDENTITY_USER_MIN)
		return CLAIM_RESERVED;
	if (identity <= WARDEN_IDENTITY_USER_MAX)
		return CLAIM_ENDPOINT;
	return CLAIM_CIDR;
}

/* The claim in force among claims[], 0 if there is none. */
static uint32_t claims_winner(const uint32_t claims[CLAIM_COUNT])
{
	for (int i = CLAIM_COUNT - 1; i >= 0; i--)
		if (claims[i])
			return claims[i];
	return 0;
}

static struct local_ipcache *to_local(struct ipcache *c)
{
	return (struct local_ipcache *)c;
}

static bool prefix_equal(const struct policy_prefix *a, const struct policy_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Find prefix: returns its slot position; *found tells whether it is there
 * (else the position is the empty slot to use). */
static size_t slot_find(const struct local_ipcache *lc,
			const struct policy_prefix *prefix, bool *found)
{
	size_t mask = lc->slot_count - 1, pos = prefix_hash(prefix) & mask;

	for (;;) {
		size_t v = lc->slots[pos];

		if (!v) {
			*found = false;
			return pos;
		}
		if (prefix_equal(&lc->items[v - 1].prefix, prefix)) {
			*found = true;
			return pos;
		}
		pos = (pos + 1) & mask;
	}
}

static int slots_rebuild(struct local_ipcache *lc, size_t slot_count)
{
	size_t *slots = calloc(slot_count, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	free(lc->slots);
	lc->slots = slots;
	lc->slot_count = slot_count;
	for (size_t i = 0; i < lc->count; i++) {
		bool found;
		size_t pos = slot_find(lc, &lc->items[i].prefix, &found);

		lc->slots[pos] = i + 1;
	}
	return 0;
}

/*
 * Set identity's claim on prefix (replacing the claim of its class). The
 * sink learns the identity in force when it changes; if the sink refuses,
 * the cache stays as it was.
 */
static int local_upsert(struct ipcache *c, const struct policy_prefix *prefix,
			uint32_t identity)
{
	struct local_ipcache *lc = to_local(c);
	uint32_t claims[CLAIM_COUNT] = {0}, winner;
	struct ipcache_entry *slot = NULL;
	bool found;
	size_t pos;
	int err;

	if (!identity)
		return -EINVAL;
	/* Keep the table at most half full. */
	if ((lc->count + 1) * 2 > lc->slot_count) {
		err = slots_rebuild(lc, lc->slot_count ? lc->slot_count * 2 : 256);
		if (err)
			return err;
	}
	pos = slot_find(lc, prefix, &found);
	if (found) {
		slot = &lc->items[lc->slots[pos] - 1];
		memcpy(claims, slot->claims, sizeof(claims));
	}
	if (!slot && lc->count == lc->capacity) {
		size_t cap = lc->capacity ? lc->capacity * 2 : 64;
		struct ipcache_entry *items = realloc(lc->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		lc->items = items;
		lc->capacity = cap;
	}
	claims[claim_of(identity)] = identity;
	winner = claims_winner(claims);
	/* The datapath first: if the kernel refuses, the cache stays as it was. */
	if (lc->sink.set && (!slot || slot->identity != winner)) {
		err = lc->sink.set(lc->sink.ctx, prefix, winner);
		if (err)
			return err;
	}
	if (!slot) {
		slot = &lc->items[lc->count++];
		lc->slots[pos] = lc->count;
		slot->prefix = *prefix;
	}
	memcpy(slot->claims, claims, sizeof(claims));
	slot->identity = winner;
	return 0;
}

/* Forget the entry at slot position pos (the sink already knows). */
static void entry_forget(struct local_ipcache *lc, size_t pos)
{
	size_t idx, last, mask, next;
	bool found;

	idx = lc->slots[pos] - 1;
	last = lc->count - 1;
	lc->slots[pos] = 0;
	/* Linear probing: re-place the rest of the cluster after the hole. */
	mask = lc->slot_count - 1;
	for (next = (pos + 1) & mask; lc->slots[next]; next = (next + 1) & mask) {
		size_t v = lc->slots[next], at;

		lc->slots[next] = 0;
		at = slot_find(lc, &lc->items[v - 1].prefix, &found);
		lc->slots[at] = v;
	}
	/* Keep items dense: the last one moves into the freed index. */
	if (idx != last) {
		lc->items[idx] = lc->items[last];
		lc->slots[slot_find(lc, &lc->items[idx].prefix, &found)] = idx + 1;
	}
	lc->count--;
}

/*
 * Drop identity's claim on prefix (-ENOENT if its class holds another one,
 * or none). A lower claim left takes over; with none left the prefix
 * leaves the cache and the sink.
 */
static int local_remove(struct ipcache *c, const struct policy_prefix *prefix,
			uint32_t identity)
{
	struct local_ipcache *lc = to_local(c);
	enum ipcache_claim class = claim_of(identity);
	struct ipcache_entry *slot;
	uint32_t winner;
	bool found;
	size_t pos;
	int err;

	if (!lc->slot_count)
		return -ENOENT;
	pos = slot_find(lc, prefix, &found);
	if (!found)
		return -ENOENT;
	slot = &lc->items[lc->slots[pos] - 1];
	if (!identity || slot->claims[class] != identity)
		return -ENOENT;
	slot->claims[class] = 0;
	winner = claims_winner(slot->claims);
	if (winner) {
		if (winner != slot->identity && lc->sink.set) {
			err = lc->sink.set(lc->sink.ctx, prefix, winner);
			if (err) {
				slot->claims[class] = identity;
				return err;
			}
		}
		slot->identity = winner;
		return 0;
	}
	/* The datapath first, as for an upsert: if the kernel refuses, the
	 * cache keeps the entry the kernel still has. */
	if (lc->sink.remove) {
		err = lc->sink.remove(lc->sink.ctx, prefix);
		if (err) {
			slot->claims[class] = identity;
			return err;
		}
	}
	entry_forget(lc, pos);
	return 0;
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

static int local_foreach(struct ipcache *c,
			 int (*fn)(void *ctx, const struct policy_prefix *prefix,
				   uint32_t identity),
			 void *ctx)
{
	struct local_ipcache *lc = to_local(c);

	for (size_t i = 0; i < lc->count; i++) {
		int ret = fn(ctx, &lc->items[i].prefix, lc->items[i].identity);

		if (ret)
			return ret;
	}
	return 0;
}

static void local_destroy(struct ipcache *c)
{
	struct local_ipcache *lc = to_local(c);

	free(lc->slots);
	free(lc->items);
	free(lc);
}

static const struct ipcache_ops local_ops = {
    .upsert = local_upsert,
    .remove = local_remove,
    .lookup = local_lookup,
    .count = local_count,
    .foreach = local_foreach,
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
