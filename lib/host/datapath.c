// SPDX-License-Identifier: Apache-2.0
/*
 * Datapath loader and map writer. The skeleton lifecycle follows
 * libbpf-bootstrap: open -> load -> attach (per endpoint) -> destroy.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "warden/datapath.h"
#include "warden/fault.h"
#include "warden/log.h"
#include "warden/policy_plan.h"
#include "warden.skel.h"

struct datapath {
	struct warden_bpf *skel;
	struct ring_buffer *events;
	datapath_event_fn on_event;
	void *ctx;
	unsigned int polled; /* events taken in this datapath__events_poll() */
	uint64_t writes;     /* map writes by this process, for the usage cache */
	/*
	 * datapath__map_usage()'s last answer: counting a map's entries walks
	 * it (an LPM trie's walk is quadratic), and a crowd of `status` clients
	 * must not hold up the agent. Read again after a write of ours or a
	 * second later (conntrack and metrics move by themselves).
	 */
	struct {
		uint64_t read_ns; /* CLOCK_MONOTONIC; 0: never */
		uint64_t writes;
		struct datapath_map_usage maps[8];
		size_t count;
	} usage;
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

/* The skeleton's map of each enum datapath_map. */
static struct bpf_map *skel_map(const struct datapath *dp, enum datapath_map which)
{
	switch (which) {
	case DATAPATH_MAP_IPCACHE:
		return dp->skel->maps.warden_ipcache;
	case DATAPATH_MAP_ENDPOINTS:
		return dp->skel->maps.warden_endpoints;
	case DATAPATH_MAP_LOCAL_ENDPOINTS:
		return dp->skel->maps.warden_local_endpoints;
	case DATAPATH_MAP_POLICY:
		return dp->skel->maps.warden_policy;
	case DATAPATH_MAP_CT:
		return dp->skel->maps.warden_ct;
	case DATAPATH_MAP_METRICS:
		return dp->skel->maps.warden_metrics;
	default:
		return NULL;
	}
}

static int map_fd(const struct datapath *dp, enum datapath_map which)
{
	return bpf_map__fd(skel_map(dp, which));
}

int datapath__open(struct datapath **out, datapath_event_fn on_event, void *ctx)
{
	return datapath__open_sized(out, on_event, ctx, NULL);
}

int datapath__open_sized(struct datapath **out, datapath_event_fn on_event, void *ctx,
			 const uint32_t max_entries[DATAPATH_MAP_COUNT])
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
	/* Test set-ups shrink maps so that filling them is quick. */
	for (int i = 0; max_entries && i < DATAPATH_MAP_COUNT; i++) {
		if (!max_entries[i])
			continue;
		err = bpf_map__set_max_entries(skel_map(dp, i), max_entries[i]);
		if (err) {
			pr_warn("size of %s: %s\n", bpf_map__name(skel_map(dp, i)),
				strerror(-err));
			goto cleanup;
		}
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

/*
 * Every write to a map the agent owns goes through these two, so a test can
 * make any one of them fail (include/warden/fault.h), and so that a full
 * map says which map it is.
 */
static int map_update(struct datapath *dp, enum datapath_map which, const void *key,
		      const void *value)
{
	if (fault__hit(FAULT_MAP_WRITE))
		return -EIO;
	dp->writes++;
	if (bpf_map_update_elem(map_fd(dp, which), key, value, BPF_ANY)) {
		int err = -errno;

		if (err == -ENOSPC || err == -E2BIG)
			pr_warn("%s is full (%u entries)\n",
				datapath__map_name(dp, which),
				datapath__map_capacity(dp, which));
		return err == -E2BIG ? -ENOSPC : err;
	}
	return 0;
}

/* A missing key is not an error: the map is as wanted. */
static int map_delete(struct datapath *dp, enum datapath_map which, const void *key)
{
	if (fault__hit(FAULT_MAP_WRITE))
		return -EIO;
	dp->writes++;
	if (bpf_map_delete_elem(map_fd(dp, which), key) && errno != ENOENT)
		return -errno;
	return 0;
}

const char *datapath__map_name(const struct datapath *dp, enum datapath_map which)
{
	const struct bpf_map *map = skel_map(dp, which);

	return map ? bpf_map__name(map) : "?";
}

uint32_t datapath__map_capacity(const struct datapath *dp, enum datapath_map which)
{
	const struct bpf_map *map = skel_map(dp, which);

	return map ? bpf_map__max_entries(map) : 0;
}

static struct warden_endpoint_addr_key endpoint_addr_key(const __u8 ipv4[4])
{
	struct warden_endpoint_addr_key key = {.family = WARDEN_FAMILY_IPV4};

	memcpy(key.addr, ipv4, 4);
	return key;
}

/*
 * Both tables: by veth (the endpoint's own hooks) and by address (a source
 * endpoint's hook looking at its local destination's ingress policy, a
 * destination's hook checking that a packet with the endpoint's address
 * came from its veth). The entry's host_ifindex is that veth, ifindex.
 * All or nothing: if the second write fails, the first is put back.
 */
int datapath__endpoint_set(struct datapath *dp, int ifindex,
			   const struct warden_endpoint_info *info)
{
	struct warden_endpoint_key key = {.ifindex = (__u32)ifindex};
	struct warden_endpoint_addr_key addr = endpoint_addr_key(info->ipv4);
	struct warden_endpoint_info entry = *info, before;
	bool had = !bpf_map_lookup_elem(map_fd(dp, DATAPATH_MAP_LOCAL_ENDPOINTS), &addr,
					&before);
	int err;

	entry.host_ifindex = (__u32)ifindex;
	err = map_update(dp, DATAPATH_MAP_LOCAL_ENDPOINTS, &addr, &entry);
	if (err)
		return err;
	err = map_update(dp, DATAPATH_MAP_ENDPOINTS, &key, &entry);
	if (err) {
		if (had)
			map_update(dp, DATAPATH_MAP_LOCAL_ENDPOINTS, &addr, &before);
		else
			map_delete(dp, DATAPATH_MAP_LOCAL_ENDPOINTS, &addr);
	}
	return err;
}

int datapath__endpoint_delete(struct datapath *dp, int ifindex)
{
	struct warden_endpoint_key key = {.ifindex = (__u32)ifindex};
	struct warden_endpoint_info info;
	int err = 0;

	if (!bpf_map_lookup_elem(map_fd(dp, DATAPATH_MAP_ENDPOINTS), &key, &info)) {
		struct warden_endpoint_addr_key addr = endpoint_addr_key(info.ipv4);

		err = map_delete(dp, DATAPATH_MAP_LOCAL_ENDPOINTS, &addr);
	}
	if (!err)
		err = map_delete(dp, DATAPATH_MAP_ENDPOINTS, &key);
	return err;
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
	return map_update(dp, DATAPATH_MAP_IPCACHE, &key, &value);
}

int datapath__ipcache_delete(struct datapath *dp, const struct policy_prefix *prefix)
{
	struct warden_ipcache_key key;

	ipcache_key_from_prefix(prefix, &key);
	return map_delete(dp, DATAPATH_MAP_IPCACHE, &key);
}

/* Run op forwards (undo false) or backwards (undo true). */
static int policy_op_run(struct datapath *dp, const struct policy_op *op, bool undo)
{
	if (!undo)
		return op->remove
			   ? map_delete(dp, DATAPATH_MAP_POLICY, &op->key)
			   : map_update(dp, DATAPATH_MAP_POLICY, &op->key, &op->value);
	return op->had_previous
		   ? map_update(dp, DATAPATH_MAP_POLICY, &op->key, &op->previous)
		   : map_delete(dp, DATAPATH_MAP_POLICY, &op->key);
}

/* Undo ops[0..count) backwards; returns the first error (all are tried). */
static int policy_ops_undo(struct datapath *dp, const struct policy_op *ops, size_t count)
{
	int first = 0;

	while (count--) {
		int err = policy_op_run(dp, &ops[count], true);

		if (err && !first)
			first = err;
	}
	if (first)
		pr_warn("undo of a policy-map update failed: %s (`warden bpf check` "
			"shows what differs)\n",
			strerror(-first));
	return first;
}

int datapath__policy_apply(struct datapath *dp, const struct policy_plan *plan)
{
	for (size_t i = 0; i < plan->count; i++) {
		int err = policy_op_run(dp, &plan->ops[i], false);

		if (err) {
			policy_ops_undo(dp, plan->ops, i);
			return err;
		}
	}
	return 0;
}

int datapath__pod_cidr_set(struct datapath *dp, const struct policy_prefix *prefix,
			   uint32_t identity)
{
	struct warden_ipcache_key key;
	struct warden_ipcache_value value = {.identity = identity};

	ipcache_key_from_prefix(prefix, &key);
	dp->writes++;
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.warden_pod_cidr), &key, &value,
				BPF_ANY))
		return -errno;
	return 0;
}

int datapath__pod_cidr_delete(struct datapath *dp, const struct policy_prefix *prefix)
{
	struct warden_ipcache_key key;

	ipcache_key_from_prefix(prefix, &key);
	dp->writes++;
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.warden_pod_cidr), &key) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

int datapath__policy_undo(struct datapath *dp, const struct policy_plan *plan)
{
	return policy_ops_undo(dp, plan->ops, plan->count);
}

int datapath__policy_sync(struct datapath *dp, const struct policy_entry *prev,
			  size_t prev_count, const struct policy_entry *next,
			  size_t next_count, uint32_t endpoint_flags)
{
	struct policy_plan plan;
	int err;

	err = policy_plan__build(prev, prev_count, next, next_count, endpoint_flags,
				 LONG_MAX, &plan);
	if (!err)
		err = datapath__policy_apply(dp, &plan);
	policy_plan__free(&plan);
	return err;
}

/*
 * Every key and value of a map, collected first and looked up after: a
 * lookup during the walk could race a delete by the datapath (conntrack),
 * but the maps read here are written by user space only.
 */
static int map_dump(struct datapath *dp, enum datapath_map which, void **keys_out,
		    void **values_out, size_t *count_out)
{
	const struct bpf_map *map = skel_map(dp, which);
	size_t key_size = bpf_map__key_size(map), value_size = bpf_map__value_size(map);
	size_t cap = 64, n = 0;
	char *keys = malloc(cap * key_size), *values = NULL, prev[64];
	int fd = map_fd(dp, which), err = 0;
	bool first = true;

	if (!keys || key_size > sizeof(prev)) {
		err = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (n == cap) {
			char *grown = realloc(keys, cap * 2 * key_size);

			if (!grown) {
				err = -ENOMEM;
				goto fail;
			}
			keys = grown;
			cap *= 2;
		}
		if (bpf_map_get_next_key(fd, first ? NULL : prev, keys + n * key_size))
			break;
		memcpy(prev, keys + n * key_size, key_size);
		first = false;
		n++;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto fail;
	}
	values = calloc(n + 1, value_size);
	if (!values) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (!bpf_map_lookup_elem(fd, keys + i * key_size,
					 values + i * value_size))
			continue;
		/* Gone meanwhile: drop it from the dump. */
		memmove(keys + i * key_size, keys + (i + 1) * key_size,
			(n - i - 1) * key_size);
		n--;
		i--;
	}
	*keys_out = keys;
	*values_out = values;
	*count_out = n;
	return 0;
fail:
	free(keys);
	free(values);
	return err;
}

int datapath__policy_dump(struct datapath *dp, struct policy_entry **out, size_t *count)
{
	struct warden_policy_key *keys;
	struct warden_policy_value *values;
	size_t n;
	int err = map_dump(dp, DATAPATH_MAP_POLICY, (void **)&keys, (void **)&values, &n);

	if (err)
		return err;
	*out = calloc(n + 1, sizeof(**out));
	if (*out) {
		for (size_t i = 0; i < n; i++)
			(*out)[i] = (struct policy_entry){keys[i], values[i]};
		*count = n;
	} else {
		err = -ENOMEM;
	}
	free(keys);
	free(values);
	return err;
}

int datapath__endpoints_dump(struct datapath *dp, enum datapath_map which,
			     struct datapath_endpoint_entry **out, size_t *count)
{
	struct warden_endpoint_info *values;
	char *keys;
	size_t n, key_size;
	int err;

	if (which != DATAPATH_MAP_ENDPOINTS && which != DATAPATH_MAP_LOCAL_ENDPOINTS)
		return -EINVAL;
	key_size = bpf_map__key_size(skel_map(dp, which));
	err = map_dump(dp, which, (void **)&keys, (void **)&values, &n);
	if (err)
		return err;
	*out = calloc(n + 1, sizeof(**out));
	if (*out) {
		for (size_t i = 0; i < n; i++) {
			struct datapath_endpoint_entry *e = &(*out)[i];

			if (which == DATAPATH_MAP_ENDPOINTS) {
				memcpy(&e->ifindex, keys + i * key_size,
				       sizeof(e->ifindex));
			} else {
				const struct warden_endpoint_addr_key *k =
				    (const void *)(keys + i * key_size);

				memcpy(&e->ipv4, k->addr, 4);
			}
			e->info = values[i];
		}
		*count = n;
	} else {
		err = -ENOMEM;
	}
	free(keys);
	free(values);
	return err;
}

int datapath__ipcache_dump(struct datapath *dp, struct datapath_ipcache_entry **out,
			   size_t *count)
{
	struct warden_ipcache_key *keys;
	struct warden_ipcache_value *values;
	size_t n;
	int err =
	    map_dump(dp, DATAPATH_MAP_IPCACHE, (void **)&keys, (void **)&values, &n);

	if (err)
		return err;
	*out = calloc(n + 1, sizeof(**out));
	if (*out) {
		for (size_t i = 0; i < n; i++) {
			struct datapath_ipcache_entry *e = &(*out)[i];

			e->prefix.family = keys[i].family == WARDEN_FAMILY_IPV6 ? 6 : 4;
			e->prefix.len =
			    (uint8_t)(keys[i].prefixlen - WARDEN_IPCACHE_PREFIX_BASE);
			memcpy(e->prefix.addr, keys[i].addr, sizeof(e->prefix.addr));
			e->identity = values[i].identity;
		}
		*count = n;
	} else {
		err = -ENOMEM;
	}
	free(keys);
	free(values);
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
	delete_matching(bpf_map__fd(dp->skel->maps.warden_ct_revoked),
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

static size_t map_usage_read(struct datapath *dp, struct datapath_map_usage *out,
			     size_t max)
{
	struct bpf_map *maps[] = {
	    dp->skel->maps.warden_ipcache,    dp->skel->maps.warden_endpoints,
	    dp->skel->maps.warden_policy,     dp->skel->maps.warden_ct,
	    dp->skel->maps.warden_ct_revoked, dp->skel->maps.warden_metrics,
	    dp->skel->maps.warden_pod_cidr};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]) && n < max; i++, n++) {
		out[n].name = bpf_map__name(maps[i]);
		out[n].capacity = bpf_map__max_entries(maps[i]);
		out[n].used =
		    count_entries(bpf_map__fd(maps[i]), bpf_map__key_size(maps[i]));
	}
	return n;
}

size_t datapath__map_usage(struct datapath *dp, struct datapath_map_usage *out,
			   size_t max)
{
	const size_t cap = sizeof(dp->usage.maps) / sizeof(dp->usage.maps[0]);
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (!dp->usage.read_ns || dp->usage.writes != dp->writes ||
	    now - dp->usage.read_ns >= 1000000000ull) {
		dp->usage.count = map_usage_read(dp, dp->usage.maps, cap);
		dp->usage.read_ns = now;
		dp->usage.writes = dp->writes;
	}
	if (max > dp->usage.count)
		max = dp->usage.count;
	memcpy(out, dp->usage.maps, max * sizeof(*out));
	return max;
}
