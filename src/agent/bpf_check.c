// SPDX-License-Identifier: Apache-2.0
/*
 * `warden bpf check`: the kernel's maps against the agent's view. The
 * agent's side is rebuilt from its state (the entries each endpoint keeps,
 * the endpoint entries regenerate.c would write, the ipcache), the
 * kernel's side is dumped (lib/host/datapath.c), and both are compared as
 * sorted arrays of fixed-size records: key bytes, then value bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "bpf_check.h"
#include "endpoint.h"
#include "proxy.h"
#include "regenerate.h"
#include "warden/ipcache.h"

const char *bpf_check_problem__name(enum bpf_check_problem problem)
{
	switch (problem) {
	case BPF_CHECK_MISSING:
		return "missing";
	case BPF_CHECK_STALE:
		return "stale";
	case BPF_CHECK_DIFFERING:
		return "differing";
	}
	return "?";
}

const char *bpf_check_proxy__name(enum bpf_check_proxy state)
{
	switch (state) {
	case BPF_CHECK_PROXY_CURRENT:
		return "current";
	case BPF_CHECK_PROXY_STARTING:
		return "starting";
	case BPF_CHECK_PROXY_BEHIND:
		return "behind";
	case BPF_CHECK_PROXY_NOT_RUNNING:
		return "not running";
	}
	return "?";
}

/* Where key and value sit in one record of a compared array. */
struct layout {
	size_t size; /* of a record */
	size_t key_offset, key_size;
	size_t value_offset, value_size;
};

static int record_cmp(const void *a, const void *b, void *ctx)
{
	const struct layout *l = ctx;

	return memcmp((const char *)a + l->key_offset, (const char *)b + l->key_offset,
		      l->key_size);
}

/* Fills one item of map from an agent and a kernel record (either NULL). */
typedef void (*item_fn)(struct bpf_check_item *item, const void *agent,
			const void *kernel);

static void note(struct bpf_check_map *map, enum bpf_check_problem problem, item_fn fill,
		 const void *agent, const void *kernel)
{
	struct bpf_check_item *item;

	if (problem == BPF_CHECK_MISSING)
		map->missing++;
	else if (problem == BPF_CHECK_STALE)
		map->stale++;
	else
		map->differing++;
	if (map->item_count == BPF_CHECK_ITEMS_MAX)
		return;
	item = &map->items[map->item_count++];
	memset(item, 0, sizeof(*item));
	item->problem = problem;
	fill(item, agent, kernel);
}

/* Sort both arrays by key and walk them together. */
static void compare(struct bpf_check_map *map, const struct layout *l, void *agent,
		    size_t na, void *kernel, size_t nk, item_fn fill)
{
	const char *a = agent, *k = kernel;
	size_t i = 0, j = 0;

	map->agent = na;
	map->kernel = nk;
	if (na)
		qsort_r(agent, na, l->size, record_cmp, (void *)l);
	if (nk)
		qsort_r(kernel, nk, l->size, record_cmp, (void *)l);
	while (i < na || j < nk) {
		const char *x = i < na ? a + i * l->size : NULL;
		const char *y = j < nk ? k + j * l->size : NULL;
		int c = !x ? 1 : !y ? -1 : record_cmp(x, y, (void *)l);

		if (c < 0) {
			note(map, BPF_CHECK_MISSING, fill, x, NULL);
			i++;
		} else if (c > 0) {
			note(map, BPF_CHECK_STALE, fill, NULL, y);
			j++;
		} else {
			if (memcmp(x + l->value_offset, y + l->value_offset,
				   l->value_size))
				note(map, BPF_CHECK_DIFFERING, fill, x, y);
			i++;
			j++;
		}
	}
}

static void fill_policy(struct bpf_check_item *item, const void *agent,
			const void *kernel)
{
	const struct policy_entry *a = agent, *k = kernel;

	item->policy.key = a ? a->key : k->key;
	if (a)
		item->policy.agent = a->value;
	if (k)
		item->policy.kernel = k->value;
}

static int check_policy(struct agent *agent, struct bpf_check_map *map)
{
	const struct layout l = {
	    .size = sizeof(struct policy_entry),
	    .key_offset = offsetof(struct policy_entry, key),
	    .key_size = sizeof(struct warden_policy_key),
	    .value_offset = offsetof(struct policy_entry, value),
	    .value_size = sizeof(struct warden_policy_value),
	};
	struct policy_entry *mine, *theirs = NULL;
	size_t n = 0, nk = 0;
	int ret;

	for (size_t i = 0; i < agent->endpoint_count; i++)
		n += agent->endpoints[i]->entries.count;
	mine = calloc(n + 1, sizeof(*mine));
	if (!mine)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		const struct policy_entries *e = &agent->endpoints[i]->entries;

		if (e->count)
			memcpy(&mine[n], e->items, e->count * sizeof(*mine));
		n += e->count;
	}
	ret = datapath__policy_dump(agent->datapath, &theirs, &nk);
	if (!ret)
		compare(map, &l, mine, n, theirs, nk, fill_policy);
	free(theirs);
	free(mine);
	return ret;
}

static void fill_endpoint(struct bpf_check_item *item, const void *agent,
			  const void *kernel)
{
	const struct datapath_endpoint_entry *a = agent, *k = kernel, *any = a ? a : k;

	item->endpoint.ifindex = any->ifindex;
	item->endpoint.ipv4 = any->ipv4;
	if (a)
		item->endpoint.agent = a->info;
	if (k)
		item->endpoint.kernel = k->info;
}

/* warden_endpoints (by ifindex) or warden_local_endpoints (by address). */
static int check_endpoints(struct agent *agent, struct bpf_check_map *map)
{
	bool by_address = map->map == DATAPATH_MAP_LOCAL_ENDPOINTS;
	const struct layout l = {
	    .size = sizeof(struct datapath_endpoint_entry),
	    .key_offset = by_address ? offsetof(struct datapath_endpoint_entry, ipv4)
				     : offsetof(struct datapath_endpoint_entry, ifindex),
	    .key_size = by_address ? sizeof(uint32_t) : sizeof(int),
	    .value_offset = offsetof(struct datapath_endpoint_entry, info),
	    .value_size = sizeof(struct warden_endpoint_info),
	};
	struct datapath_endpoint_entry *mine, *theirs = NULL;
	size_t n = 0, nk = 0;
	int ret;

	mine = calloc(agent->endpoint_count + 1, sizeof(*mine));
	if (!mine)
		return -ENOMEM;
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		const struct endpoint *ep = agent->endpoints[i];
		struct datapath_endpoint_entry *e = &mine[n];

		if (!ep->net.host_ifindex)
			continue;
		/* The other key field stays 0, as in a dump. */
		if (by_address)
			e->ipv4 = ep->net.ipv4;
		else
			e->ifindex = ep->net.host_ifindex;
		regenerate__endpoint_info(ep, &e->info);
		n++;
	}
	ret = datapath__endpoints_dump(agent->datapath, map->map, &theirs, &nk);
	if (!ret)
		compare(map, &l, mine, n, theirs, nk, fill_endpoint);
	free(theirs);
	free(mine);
	return ret;
}

static void fill_ipcache(struct bpf_check_item *item, const void *agent,
			 const void *kernel)
{
	const struct datapath_ipcache_entry *a = agent, *k = kernel;

	item->ipcache.prefix = a ? a->prefix : k->prefix;
	if (a)
		item->ipcache.agent = a->identity;
	if (k)
		item->ipcache.kernel = k->identity;
}

struct ipcache_collect {
	struct datapath_ipcache_entry *items;
	size_t count;
	size_t capacity;
};

static int collect_ipcache(void *ctx, const struct policy_prefix *prefix,
			   uint32_t identity)
{
	struct ipcache_collect *c = ctx;

	if (c->count == c->capacity)
		return -ENOSPC;
	memset(&c->items[c->count], 0, sizeof(c->items[c->count]));
	c->items[c->count].prefix = *prefix;
	c->items[c->count].identity = identity;
	c->count++;
	return 0;
}

static int check_ipcache(struct agent *agent, struct bpf_check_map *map)
{
	const struct layout l = {
	    .size = sizeof(struct datapath_ipcache_entry),
	    .key_offset = offsetof(struct datapath_ipcache_entry, prefix),
	    .key_size = sizeof(struct policy_prefix),
	    .value_offset = offsetof(struct datapath_ipcache_entry, identity),
	    .value_size = sizeof(uint32_t),
	};
	struct ipcache_collect mine = {.capacity =
					   agent->ipcache->ops->count(agent->ipcache)};
	struct datapath_ipcache_entry *theirs = NULL;
	size_t nk = 0;
	int ret;

	mine.items = calloc(mine.capacity + 1, sizeof(*mine.items));
	if (!mine.items)
		return -ENOMEM;
	ret = agent->ipcache->ops->foreach(agent->ipcache, collect_ipcache, &mine);
	if (!ret)
		ret = datapath__ipcache_dump(agent->datapath, &theirs, &nk);
	if (!ret)
		compare(map, &l, mine.items, mine.count, theirs, nk, fill_ipcache);
	free(theirs);
	free(mine.items);
	return ret;
}

int bpf_check__run(struct agent *agent, struct bpf_check_report *out, char *err,
		   size_t err_len)
{
	static const enum datapath_map maps[] = {
	    DATAPATH_MAP_POLICY, DATAPATH_MAP_ENDPOINTS, DATAPATH_MAP_LOCAL_ENDPOINTS,
	    DATAPATH_MAP_IPCACHE};
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->clean = true;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]) && !ret; i++) {
		struct bpf_check_map *map = &out->maps[out->map_count++];

		map->map = maps[i];
		map->name = datapath__map_name(agent->datapath, maps[i]);
		if (maps[i] == DATAPATH_MAP_POLICY)
			ret = check_policy(agent, map);
		else if (maps[i] == DATAPATH_MAP_IPCACHE)
			ret = check_ipcache(agent, map);
		else
			ret = check_endpoints(agent, map);
		if (ret)
			snprintf(err, err_len, "read %s: %s", map->name, strerror(-ret));
		if (map->missing || map->stale || map->differing)
			out->clean = false;
	}
	if (ret)
		return ret;
	/* The proxy is no kernel map, but it enforces the same revision
	 * (what it said last may still be queued). */
	proxy__on_events(agent);
	out->proxy_revision = agent->proxy.loaded;
	out->document_revision = agent->proxy.last_published;
	if (agent->proxy.pid <= 0)
		out->proxy = BPF_CHECK_PROXY_NOT_RUNNING;
	else if (!agent->proxy.loaded)
		out->proxy = BPF_CHECK_PROXY_STARTING;
	else if (agent->proxy.loaded != agent->proxy.last_published)
		out->proxy = BPF_CHECK_PROXY_BEHIND;
	else
		out->proxy = BPF_CHECK_PROXY_CURRENT;
	if (out->proxy == BPF_CHECK_PROXY_BEHIND)
		out->clean = false;
	return 0;
}
