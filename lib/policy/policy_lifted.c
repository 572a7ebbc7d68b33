// SPDX-License-Identifier: Apache-2.0
/* Lifted L7 restrictions (include/warden/policy_lifted.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "warden/policy_lifted.h"

static int lifted_cmp(const void *a, const void *b)
{
	const struct policy_lifted *x = a, *y = b;

	if (x->direction != y->direction)
		return x->direction < y->direction ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	return 0;
}

/* The TCP L7 keys of e, sorted (NULL when none or on ENOMEM: *ok false). */
static struct policy_lifted *l7_keys(const struct policy_entries *e, size_t *count,
				     bool *ok)
{
	struct policy_lifted *keys;

	*count = 0;
	*ok = true;
	if (!e || !e->l7_count)
		return NULL;
	keys = calloc(e->l7_count, sizeof(*keys));
	if (!keys) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < e->l7_count; i++)
		if (e->l7[i].protocol == IPPROTO_TCP)
			keys[(*count)++] =
			    (struct policy_lifted){.direction = e->l7[i].direction,
						   .port = e->l7[i].port,
						   .identity = e->l7[i].identity};
	qsort(keys, *count, sizeof(*keys), lifted_cmp);
	return keys;
}

static bool has_key(const struct policy_lifted *keys, size_t count, uint8_t direction,
		    uint16_t port, uint32_t identity)
{
	struct policy_lifted want = {
	    .direction = direction, .port = port, .identity = identity};

	return keys && bsearch(&want, keys, count, sizeof(*keys), lifted_cmp);
}

/* A candidate and where it came from: earlier ones win a duplicate. */
struct candidate {
	struct policy_lifted key;
	size_t position;
};

static int candidate_cmp(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	int c = lifted_cmp(&x->key, &y->key);

	if (c)
		return c;
	return x->position < y->position ? -1 : x->position > y->position;
}

int policy_lifted__next(const struct policy_entries *prev,
			const struct policy_lifted_set *prev_lifted,
			const struct policy_entries *next,
			bool (*identity_exists)(void *ctx, uint32_t identity), void *ctx,
			uint64_t revision, struct policy_lifted_set *out)
{
	size_t cap = (prev ? prev->l7_count : 0) + (prev_lifted ? prev_lifted->count : 0);
	struct candidate *all = calloc(cap + 1, sizeof(*all));
	struct policy_lifted *items = calloc(cap + 1, sizeof(*items));
	size_t n = 0, kept = 0, next_count;
	bool ok;
	struct policy_lifted *next_keys = l7_keys(next, &next_count, &ok);

	out->items = NULL;
	out->count = 0;
	if (!all || !items || !ok) {
		free(all);
		free(items);
		free(next_keys);
		return -ENOMEM;
	}
	/* Earlier lifted keys first, so a duplicate keeps its first revision. */
	for (size_t i = 0; prev_lifted && i < prev_lifted->count; i++, n++)
		all[n] = (struct candidate){prev_lifted->items[i], n};
	for (size_t i = 0; prev && i < prev->l7_count; i++) {
		const struct policy_l7_entry *le = &prev->l7[i];

		if (le->protocol != IPPROTO_TCP)
			continue;
		all[n] = (struct candidate){{.direction = le->direction,
					     .port = le->port,
					     .identity = le->identity,
					     .since = revision},
					    n};
		n++;
	}
	qsort(all, n, sizeof(*all), candidate_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct policy_lifted *k = &all[i].key;

		if (i && !lifted_cmp(&all[i - 1].key, k))
			continue; /* a later duplicate */
		if (has_key(next_keys, next_count, k->direction, k->port, k->identity) ||
		    has_key(next_keys, next_count, k->direction, k->port, 0))
			continue;
		if (k->identity && identity_exists && !identity_exists(ctx, k->identity))
			continue;
		items[kept++] = *k;
	}
	free(all);
	free(next_keys);
	out->items = items;
	out->count = kept;
	return 0;
}

bool policy_lifted_set__same_keys(const struct policy_lifted_set *a,
				  const struct policy_lifted_set *b)
{
	size_t na = a ? a->count : 0, nb = b ? b->count : 0;

	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (lifted_cmp(&a->items[i], &b->items[i]))
			return false;
	return true;
}

void policy_lifted_set__free(struct policy_lifted_set *set)
{
	free(set->items);
	set->items = NULL;
	set->count = 0;
}
