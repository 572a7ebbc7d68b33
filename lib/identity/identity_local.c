// SPDX-License-Identifier: Apache-2.0
/*
 * The local identity backend: a sorted array of identities in memory.
 * Endpoint counts are small (thousands), so a linear search by labels on
 * acquire is simpler than a hash and fast enough; lookups by id bisect.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "warden/abi/maps.h"
#include "warden/identity.h"
#include "warden/labels.h"
#include "warden/prefix.h"

/* Index by content (labels, or prefix and kind for CIDR and pod-CIDR
 * identities), so acquiring 10,000 CIDR identities is not 10,000 linear
 * scans. */
#define CONTENT_BUCKETS 16384

struct content_node {
	struct content_node *next;
	struct identity *ident;
	uint64_t hash;
};

struct local_allocator {
	struct identity_allocator base;
	struct identity **items; /* sorted by id */
	size_t count;
	size_t capacity;
	uint32_t next_user;
	uint32_t next_local;
	struct content_node **by_content; /* CONTENT_BUCKETS chains */
};

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t content_hash(const struct label_set *labels,
			     const struct policy_prefix *cidr, bool pods)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (cidr) {
		uint8_t kind = pods;

		h = fnv1a(h, &kind, 1);
		h = fnv1a(h, &cidr->family, 1);
		h = fnv1a(h, &cidr->len, 1);
		return fnv1a(h, cidr->addr, sizeof(cidr->addr));
	}
	for (size_t i = 0; labels && i < labels->count; i++) {
		const struct label *l = &labels->items[i];

		h = fnv1a(h, l->source, strlen(l->source) + 1);
		h = fnv1a(h, l->key, strlen(l->key) + 1);
		h = fnv1a(h, l->value, strlen(l->value) + 1);
	}
	return h;
}

static bool content_equal(const struct identity *it, const struct label_set *labels,
			  const struct policy_prefix *cidr, bool pods)
{
	if (cidr)
		return (pods ? it->is_pod_cidr : it->is_cidr) &&
		       it->prefix.family == cidr->family && it->prefix.len == cidr->len &&
		       !memcmp(it->prefix.addr, cidr->addr, sizeof(cidr->addr));
	return !it->is_cidr && !it->is_pod_cidr && label_set__equal(&it->labels, labels);
}

static const struct {
	uint32_t id;
	const char *name;
} reserved_identities[] = {
    {WARDEN_IDENTITY_HOST, "host"},
    {WARDEN_IDENTITY_WORLD, "world"},
    {WARDEN_IDENTITY_UNMANAGED, "unmanaged"},
    {WARDEN_IDENTITY_HEALTH, "health"},
    {WARDEN_IDENTITY_INIT, "init"},
    {WARDEN_IDENTITY_REMOTE_NODE, "remote-node"},
    {WARDEN_IDENTITY_KUBE_APISERVER, "kube-apiserver"},
    {WARDEN_IDENTITY_INGRESS, "ingress"},
    {WARDEN_IDENTITY_WORLD_IPV4, "world-ipv4"},
    {WARDEN_IDENTITY_WORLD_IPV6, "world-ipv6"},
};

const char *identity__reserved_name(uint32_t id)
{
	for (size_t i = 0;
	     i < sizeof(reserved_identities) / sizeof(reserved_identities[0]); i++)
		if (reserved_identities[i].id == id)
			return reserved_identities[i].name;
	return NULL;
}

/* cidr:<prefix> and a second label, source:key, that tells the kind. */
static int prefix_labels(const struct policy_prefix *p, const char *source,
			 const char *key, struct label_set *out)
{
	char text[INET6_ADDRSTRLEN + 8];
	int ret;

	if (!p || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	policy_prefix__format(p, text, sizeof(text));
	ret = label_set__add(out, LABEL_SOURCE_CIDR, text, "");
	if (!ret)
		ret = label_set__add(out, source, key, "");
	if (ret)
		label_set__free(out);
	return ret;
}

int identity__cidr_labels(const struct policy_prefix *p, struct label_set *out)
{
	return prefix_labels(p, LABEL_SOURCE_RESERVED, "world", out);
}

int identity__pod_cidr_labels(const struct policy_prefix *p, struct label_set *out)
{
	return prefix_labels(p, "warden", "pod-cidr", out);
}

static struct local_allocator *to_local(struct identity_allocator *a)
{
	return (struct local_allocator *)a;
}

static size_t find_index(const struct local_allocator *la, uint32_t id, bool *found)
{
	size_t lo = 0, hi = la->count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (la->items[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < la->count && la->items[lo]->id == id;
	return lo;
}

static int insert_identity(struct local_allocator *la, struct identity *ident)
{
	bool found;
	size_t at = find_index(la, ident->id, &found);

	if (found)
		return -EEXIST;
	if (la->count == la->capacity) {
		size_t cap = la->capacity ? la->capacity * 2 : 64;
		struct identity **items = realloc(la->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		la->items = items;
		la->capacity = cap;
	}
	memmove(&la->items[at + 1], &la->items[at],
		(la->count - at) * sizeof(*la->items));
	la->items[at] = ident;
	la->count++;
	return 0;
}

static void identity_free(struct identity *ident)
{
	if (!ident)
		return;
	label_set__free(&ident->labels);
	free(ident);
}

/* Next free number in [*next, max], wrapping once to min. */
static int next_free_id(struct local_allocator *la, uint32_t *next, uint32_t min,
			uint32_t max, uint32_t *out)
{
	for (uint64_t tries = 0; tries <= (uint64_t)max - min; tries++) {
		uint32_t candidate = *next;
		bool found;

		*next = candidate >= max ? min : candidate + 1;
		find_index(la, candidate, &found);
		if (!found) {
			*out = candidate;
			return 0;
		}
	}
	return -ENOSPC;
}

static int local_acquire(struct identity_allocator *a, const struct label_set *labels,
			 const struct policy_prefix *cidr, bool pods, uint32_t *id)
{
	struct local_allocator *la = to_local(a);
	uint64_t hash = content_hash(labels, cidr, pods);
	struct content_node **bucket = &la->by_content[hash % CONTENT_BUCKETS];
	struct content_node *node;
	struct identity *ident;
	int err;

	for (node = *bucket; node; node = node->next) {
		if (node->hash != hash || !content_equal(node->ident, labels, cidr, pods))
			continue;
		node->ident->refcount++;
		*id = node->ident->id;
		return 0;
	}
	ident = calloc(1, sizeof(*ident));
	node = calloc(1, sizeof(*node));
	if (!ident || !node) {
		free(ident);
		free(node);
		return -ENOMEM;
	}
	if (cidr) {
		ident->is_cidr = !pods;
		ident->is_pod_cidr = pods;
		ident->prefix = *cidr;
		err = pods ? identity__pod_cidr_labels(cidr, &ident->labels)
			   : identity__cidr_labels(cidr, &ident->labels);
		if (!err)
			err = next_free_id(la, &la->next_local, WARDEN_IDENTITY_LOCAL_MIN,
					   WARDEN_IDENTITY_LOCAL_MAX, &ident->id);
	} else {
		err = label_set__copy(&ident->labels, labels);
		if (!err)
			err = next_free_id(la, &la->next_user, WARDEN_IDENTITY_USER_MIN,
					   WARDEN_IDENTITY_USER_MAX, &ident->id);
	}
	if (!err)
		err = insert_identity(la, ident);
	if (err) {
		identity_free(ident);
		free(node);
		return err;
	}
	node->ident = ident;
	node->hash = hash;
	node->next = *bucket;
	*bucket = node;
	ident->refcount = 1;
	*id = ident->id;
	return 0;
}

static void local_release(struct identity_allocator *a, uint32_t id)
{
	struct local_allocator *la = to_local(a);
	bool found;
	size_t at = find_index(la, id, &found);

	if (!found || la->items[at]->reserved)
		return;
	if (--la->items[at]->refcount)
		return;
	{
		struct identity *gone = la->items[at];
		bool prefixed = gone->is_cidr || gone->is_pod_cidr;
		uint64_t hash = content_hash(
		    &gone->labels, prefixed ? &gone->prefix : NULL, gone->is_pod_cidr);

		for (struct content_node **pp = &la->by_content[hash % CONTENT_BUCKETS];
		     *pp; pp = &(*pp)->next) {
			if ((*pp)->ident != gone)
				continue;
			struct content_node *node = *pp;

			*pp = node->next;
			free(node);
			break;
		}
	}
	identity_free(la->items[at]);
	memmove(&la->items[at], &la->items[at + 1],
		(la->count - at - 1) * sizeof(*la->items));
	la->count--;
}

static const struct identity *local_lookup(struct identity_allocator *a, uint32_t id)
{
	struct local_allocator *la = to_local(a);
	bool found;
	size_t at = find_index(la, id, &found);

	return found ? la->items[at] : NULL;
}

static size_t local_list(struct identity_allocator *a, const struct identity *const **out)
{
	struct local_allocator *la = to_local(a);

	*out = (const struct identity *const *)la->items;
	return la->count;
}

static void local_destroy(struct identity_allocator *a)
{
	struct local_allocator *la = to_local(a);

	for (size_t i = 0; i < la->count; i++)
		identity_free(la->items[i]);
	for (size_t b = 0; la->by_content && b < CONTENT_BUCKETS; b++)
		while (la->by_content[b]) {
			struct content_node *node = la->by_content[b];

			la->by_content[b] = node->next;
			free(node);
		}
	free(la->by_content);
	free(la->items);
	free(la);
}

static const struct identity_allocator_ops local_ops = {
    .acquire = local_acquire,
    .release = local_release,
    .lookup = local_lookup,
    .list = local_list,
    .destroy = local_destroy,
};

int identity_allocator__new_local(struct identity_allocator **out)
{
	struct local_allocator *la = calloc(1, sizeof(*la));
	int err = 0;

	if (!la)
		return -ENOMEM;
	la->base.ops = &local_ops;
	la->by_content = calloc(CONTENT_BUCKETS, sizeof(*la->by_content));
	if (!la->by_content) {
		free(la);
		return -ENOMEM;
	}
	la->next_user = WARDEN_IDENTITY_USER_MIN;
	la->next_local = WARDEN_IDENTITY_LOCAL_MIN;
	for (size_t i = 0;
	     i < sizeof(reserved_identities) / sizeof(reserved_identities[0]); i++) {
		struct identity *ident = calloc(1, sizeof(*ident));

		if (!ident) {
			err = -ENOMEM;
			break;
		}
		ident->id = reserved_identities[i].id;
		ident->reserved = true;
		ident->refcount = 1;
		err = label_set__add(&ident->labels, LABEL_SOURCE_RESERVED,
				     reserved_identities[i].name, "");
		if (!err)
			err = insert_identity(la, ident);
		if (err) {
			identity_free(ident);
			break;
		}
	}
	if (err) {
		local_destroy(&la->base);
		return err;
	}
	*out = &la->base;
	return 0;
}
