// SPDX-License-Identifier: Apache-2.0
/*
 * Datapath loader and map writer. The skeleton lifecycle follows
 * libbpf-bootstrap: open -> load -> attach (per endpoint) -> destroy.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "warden/datapath.h"
#include "warden/log.h"
#include "warden.skel.h"

struct datapath {
	struct warden_bpf *skel;
	struct ring_buffer *events;
	datapath_event_fn on_event;
	void *ctx;
	unsigned int polled; /* events taken in this datapath__events_poll() */
};

/*
 * libbpf's consumer loops while the ring holds records, and rereads the
 * producer's position as it goes: under a flood of drops that outpaces
 * the consumer it would never return. A negative return stops it after
 * this record (the rest stays in the ring for the next poll).
 */
static int handle_event(void *ctx, void *data, size_t size)
{
	struct datapath *dp = ctx;

	if (size < sizeof(struct warden_event))
		return 0;
	dp->on_event(dp->ctx, data);
	return ++dp->polled >= DATAPATH_EVENTS_BUDGET ? -EAGAIN : 0;
}

int datapath__open(struct datapath **out, datapath_event_fn on_event, void *ctx)
{
	struct datapath *dp;
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->on_event = on_event;
	dp->ctx = ctx;
	dp->skel = warden_bpf__open();
	if (!dp->skel) {
		err = -errno;
		pr_warn("open BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	err = warden_bpf__load(dp->skel);
	if (err) {
		pr_warn("load BPF object (verifier): %s\n", strerror(-err));
		goto cleanup;
	}
	if (on_event) {
		dp->events = ring_buffer__new(bpf_map__fd(dp->skel->maps.warden_events),
					      handle_event, dp, NULL);
		if (!dp->events) {
			err = -errno;
			pr_warn("ring buffer: %s\n", strerror(-err));
			goto cleanup;
		}
	}
	*out = dp;
	return 0;
cleanup:
	datapath__close(dp);
	return err;
}

void datapath__close(struct datapath *dp)
{
	if (!dp)
		return;
	ring_buffer__free(dp->events);
	warden_bpf__destroy(dp->skel);
	free(dp);
}

int datapath__attach(struct datapath *dp, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, from_opts, .handle = 1, .priority = 1);
	LIBBPF_OPTS(bpf_tc_opts, to_opts, .handle = 1, .priority = 1);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	hook.attach_point = BPF_TC_INGRESS;
	from_opts.prog_fd = bpf_program__fd(dp->skel->progs.warden_from_container);
	from_opts.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&hook, &from_opts);
	if (err)
		goto fail;
	hook.attach_point = BPF_TC_EGRESS;
	to_opts.prog_fd = bpf_program__fd(dp->skel->progs.warden_to_container);
	to_opts.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&hook, &to_opts);
	if (err)
		goto fail;
	return 0;
fail:
	datapath__detach(dp, ifindex);
	return err;
}

void datapath__detach(struct datapath *dp, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	(void)dp;
	/* Destroying the clsact qdisc removes both filters with it. */
	bpf_tc_hook_destroy(&hook);
}

static struct warden_endpoint_addr_key endpoint_addr_key(const __u8 ipv4[4])
{
	struct warden_endpoint_addr_key key = {.family = WARDEN_FAMILY_IPV4};

	memcpy(key.addr, ipv4, 4);
	return key;
}

/* Both tables: by veth (the endpoint's own hooks) and by address (a source
 * endpoint's hook looking at its local destination's ingress policy). */
int datapath__endpoint_set(struct datapath *dp, int ifindex,
			   const struct warden_endpoint_info *info)
{
	struct warden_endpoint_key key = {.ifindex = (__u32)ifindex};
	struct warden_endpoint_addr_key addr = endpoint_addr_key(info->ipv4);

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.warden_local_endpoints), &addr,
				info, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.warden_endpoints), &key, info,
				BPF_ANY))
		return -errno;
	return 0;
}

int datapath__endpoint_delete(struct datapath *dp, int ifindex)
{
	struct warden_endpoint_key key = {.ifindex = (__u32)ifindex};
	struct warden_endpoint_info info;
	int fd = bpf_map__fd(dp->skel->maps.warden_endpoints);

	if (!bpf_map_lookup_elem(fd, &key, &info)) {
		struct warden_endpoint_addr_key addr = endpoint_addr_key(info.ipv4);

		bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.warden_local_endpoints),
				    &addr);
	}
	if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
		return -errno;
	return 0;
}

static void ipcache_key_from_prefix(const struct policy_prefix *prefix,
				    struct warden_ipcache_key *key)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = WARDEN_IPCACHE_PREFIX_BASE + prefix->len;
	key->family = prefix->family == 6 ? WARDEN_FAMILY_IPV6 : WARDEN_FAMILY_IPV4;
	memcpy(key->addr, prefix->addr, sizeof(key->addr));
}

int datapath__ipcache_set(struct datapath *dp, const struct policy_prefix *prefix,
			  uint32_t identity)
{
	struct warden_ipcache_key key;
	struct warden_ipcache_value value = {.identity = identity};

	ipcache_key_from_prefix(prefix, &key);
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.warden_ipcache), &key, &value,
				BPF_ANY))
		return -errno;
	return 0;
}

int datapath__ipcache_delete(struct datapath *dp, const struct policy_prefix *prefix)
{
	struct warden_ipcache_key key;

	ipcache_key_from_prefix(prefix, &key);
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.warden_ipcache), &key) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct policy_entry *)a)->key,
		      &((const struct policy_entry *)b)->key,
		      sizeof(struct warden_policy_key));
}

/* A copy of entries sorted by key (NULL for none), for O(log n) lookups. */
static int entries_sorted_copy(const struct policy_entry *items, size_t count,
			       struct policy_entry **out)
{
	*out = NULL;
	if (!items || !count)
		return 0;
	*out = malloc(count * sizeof(*items));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, items, count * sizeof(*items));
	qsort(*out, count, sizeof(*items), entry_cmp);
	return 0;
}

/* Is key in the sorted entries? Returns the entry or NULL. */
static const struct policy_entry *entries_find(const struct policy_entry *sorted,
					       size_t count,
					       const struct policy_entry *needle)
{
	if (!sorted || !count)
		return NULL;
	return bsearch(needle, sorted, count, sizeof(*needle), entry_cmp);
}

int datapath__policy_sync(struct datapath *dp, const struct policy_entry *prev,
			  size_t prev_count, const struct policy_entry *next,
			  size_t next_count)
{
	int fd = bpf_map__fd(dp->skel->maps.warden_policy);
	struct policy_entry *sorted_prev = NULL, *sorted_next = NULL;
	int err;

	if (!prev)
		prev_count = 0;
	if (!next)
		next_count = 0;
	/* The compiler's order is deterministic but not necessarily memcmp
	 * order; sort a copy of prev so lookups are O(log n). */
	err = entries_sorted_copy(prev, prev_count, &sorted_prev);
	if (err)
		return err;
	for (size_t i = 0; i < next_count; i++) {
		const struct policy_entry *old =
		    entries_find(sorted_prev, prev_count, &next[i]);

		if (old && !memcmp(&old->value, &next[i].value, sizeof(old->value)))
			continue;
		if (bpf_map_update_elem(fd, &next[i].key, &next[i].value, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	err = entries_sorted_copy(next, next_count, &sorted_next);
	if (err)
		goto out;
	for (size_t i = 0; i < prev_count; i++)
		if (!entries_find(sorted_next, next_count, &sorted_prev[i]))
			bpf_map_delete_elem(fd, &sorted_prev[i].key);
out:
	free(sorted_next);
	free(sorted_prev);
	return err;
}

int datapath__metrics_sum(struct datapath *dp, uint32_t endpoint_id,
			  uint64_t packets[WARDEN_REASON_MAX + 1][2])
{
	int fd = bpf_map__fd(dp->skel->maps.warden_metrics);
	int ncpu = libbpf_num_possible_cpus();
	struct warden_metrics_key key, next;
	struct warden_metrics_value *values;
	void *prev = NULL;

	if (ncpu <= 0)
		return ncpu;
	values = calloc((size_t)ncpu, sizeof(*values));
	if (!values)
		return -ENOMEM;
	memset(packets, 0, sizeof(uint64_t) * (WARDEN_REASON_MAX + 1) * 2);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (endpoint_id && key.endpoint_id != endpoint_id)
			continue;
		if (key.reason > WARDEN_REASON_MAX || key.direction > 1)
			continue;
		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		for (int c = 0; c < ncpu; c++)
			packets[key.reason][key.direction] += values[c].packets;
	}
	free(values);
	return 0;
}

static int metric_by_endpoint(const void *a, const void *b)
{
	const struct datapath_metric *x = a, *y = b;

	return x->endpoint_id < y->endpoint_id ? -1 : x->endpoint_id > y->endpoint_id;
}

int datapath__metrics_read(struct datapath *dp, struct datapath_metric **out,
			   size_t *count)
{
	int fd = bpf_map__fd(dp->skel->maps.warden_metrics);
	int ncpu = libbpf_num_possible_cpus();
	struct warden_metrics_key key, next;
	struct warden_metrics_value *values;
	struct datapath_metric *list = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	*out = NULL;
	*count = 0;
	if (ncpu <= 0)
		return ncpu;
	values = calloc((size_t)ncpu, sizeof(*values));
	if (!values)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		uint64_t packets = 0;

		key = next;
		prev = &key;
		if (key.reason > WARDEN_REASON_MAX || key.direction > 1 ||
		    bpf_map_lookup_elem(fd, &key, values))
			continue;
		for (int c = 0; c < ncpu; c++)
			packets += values[c].packets;
		if (n == cap) {
			size_t grown_cap = cap ? cap * 2 : 256;
			struct datapath_metric *grown =
			    realloc(list, grown_cap * sizeof(*grown));

			if (!grown) {
				free(list);
				free(values);
				return -ENOMEM;
			}
			list = grown;
			cap = grown_cap;
		}
		list[n++] = (struct datapath_metric){.endpoint_id = key.endpoint_id,
						     .reason = key.reason,
						     .direction = key.direction,
						     .packets = packets};
	}
	free(values);
	if (n)
		qsort(list, n, sizeof(*list), metric_by_endpoint);
	*out = list;
	*count = n;
	return 0;
}

/*
 * Collect the keys that belong to the endpoint, then delete them: deleting
 * while walking would restart the walk each time (quadratic in the map).
 */
static void delete_matching(int fd, size_t key_size, size_t id_offset,
			    uint32_t endpoint_id)
{
	size_t cap = 256, n = 0;
	char *keys = malloc(cap * key_size), cur[64], next[64];
	void *prev = NULL;

	if (!keys || key_size > sizeof(cur)) {
		free(keys);
		return;
	}
	while (!bpf_map_get_next_key(fd, prev, next)) {
		uint32_t id;

		memcpy(cur, next, key_size);
		prev = cur;
		memcpy(&id, cur + id_offset, sizeof(id));
		if (id != endpoint_id)
			continue;
		if (n == cap) {
			char *grown = realloc(keys, cap * 2 * key_size);

			if (!grown)
				break;
			keys = grown;
			cap *= 2;
		}
		memcpy(keys + n * key_size, cur, key_size);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
	free(keys);
}

void datapath__forget_endpoint(struct datapath *dp, uint32_t endpoint_id)
{
	delete_matching(bpf_map__fd(dp->skel->maps.warden_metrics),
			sizeof(struct warden_metrics_key),
			offsetof(struct warden_metrics_key, endpoint_id), endpoint_id);
	delete_matching(bpf_map__fd(dp->skel->maps.warden_ct),
			sizeof(struct warden_ct_key),
			offsetof(struct warden_ct_key, endpoint_id), endpoint_id);
}

int datapath__events_fd(struct datapath *dp)
{
	return dp->events ? ring_buffer__epoll_fd(dp->events) : -1;
}

int datapath__events_poll(struct datapath *dp)
{
	int ret;

	if (!dp->events)
		return 0;
	dp->polled = 0;
	ret = ring_buffer__consume(dp->events);
	return ret == -EAGAIN ? (int)dp->polled : ret;
}

static uint32_t count_entries(int fd, size_t key_size)
{
	char key[64], next[64];
	void *prev = NULL;
	uint32_t n = 0;

	if (key_size > sizeof(key))
		return 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

size_t datapath__map_usage(struct datapath *dp, struct datapath_map_usage *out,
			   size_t max)
{
	struct bpf_map *maps[] = {dp->skel->maps.warden_ipcache,
				  dp->skel->maps.warden_endpoints,
				  dp->skel->maps.warden_policy, dp->skel->maps.warden_ct,
				  dp->skel->maps.warden_metrics};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]) && n < max; i++, n++) {
		out[n].name = bpf_map__name(maps[i]);
		out[n].capacity = bpf_map__max_entries(maps[i]);
		out[n].used =
		    count_entries(bpf_map__fd(maps[i]), bpf_map__key_size(maps[i]));
	}
	return n;
}
