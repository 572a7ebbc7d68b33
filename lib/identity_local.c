// SPDX-License-Identifier: Apache-2.0
/*
 * The local identity backend: a sorted array of identities in memory.
 * Endpoint counts are small (thousands), so a linear search by labels on
 * acquire is simpler than a hash and fast enough; lookups by id bisect.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "warden/abi/maps.h"
#include "warden/identity.h"
#include "warden/policy_compile.h"

struct local_allocator {
	struct identity_allocator base;
	struct identity **items; /* sorted by id */
	size_t count;
	size_t capacity;
	uint32_t next_user;
	uint32_t next_local;
};

static const struct {
	uint32_t id;
	const char *name;
} reserved_identities[] = {
	{ WARDEN_IDENTITY_HOST, "host" },
	{ WARDEN_IDENTITY_WORLD, "world" },
	{ WARDEN_IDENTITY_UNMANAGED, "unmanaged" },
	{ WARDEN_IDENTITY_HEALTH, "health" },
	{ WARDEN_IDENTITY_INIT, "init" },
	{ WARDEN_IDENTITY_REMOTE_NODE, "remote-node" },
	{ WARDEN_IDENTITY_KUBE_APISERVER, "kube-apiserver" },
	{ WARDEN_IDENTITY_INGRESS, "ingress" },
	{ WARDEN_IDENTITY_WORLD_IPV4, "world-ipv4" },
	{ WARDEN_IDENTITY_WORLD_IPV6, "world-ipv6" },
};

const char *identity__reserved_name(uint32_t id)
{
	for (size_t i = 0; i < sizeof(reserved_identities) / sizeof(reserved_identities[0]);
	     i++)
		if (reserved_identities[i].id == id)
			return reserved_identities[i].name;
	return NULL;
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
	memmove(&la->items[at + 1], &la->items[at], (la->count - at) * sizeof(*la->items));
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
			 const struct policy_prefix *cidr, uint32_t *id)
{
	struct local_allocator *la = to_local(a);
	struct identity *ident;
	int err;

	for (size_t i = 0; i < la->count; i++) {
		struct identity *it = la->items[i];

		if (it->reserved)
			continue;
		if (cidr ? (it->is_cidr && it->prefix.family == cidr->family &&
			    it->prefix.len == cidr->len &&
			    !memcmp(it->prefix.addr, cidr->addr, sizeof(cidr->addr))) :
			   (!it->is_cidr && label_set__equal(&it->labels, labels))) {
			it->refcount++;
			*id = it->id;
			return 0;
		}
	}
	ident = calloc(1, sizeof(*ident));
	if (!ident)
		return -ENOMEM;
	if (cidr) {
		ident->is_cidr = true;
		ident->prefix = *cidr;
		err = policy_prefix__identity_labels(cidr, &ident->labels);
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
		return err;
	}
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
	identity_free(la->items[at]);
	memmove(&la->items[at], &la->items[at + 1], (la->count - at - 1) * sizeof(*la->items));
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
	la->next_user = WARDEN_IDENTITY_USER_MIN;
	la->next_local = WARDEN_IDENTITY_LOCAL_MIN;
	for (size_t i = 0; i < sizeof(reserved_identities) / sizeof(reserved_identities[0]);
	     i++) {
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
