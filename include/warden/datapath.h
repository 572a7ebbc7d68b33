/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath as user space sees it: loading the BPF object (through its
 * libbpf skeleton), attaching it to endpoint veths with tc, and writing the
 * maps. Everything that touches a BPF map goes through here.
 */
#ifndef WARDEN_DATAPATH_H
#define WARDEN_DATAPATH_H

#include <stddef.h>
#include <stdint.h>

#include "warden/abi/maps.h"
#include "warden/policy_entry.h"
#include "warden/prefix.h"

struct datapath;
struct ring_buffer;
struct policy_plan;

typedef void (*datapath_event_fn)(void *ctx, const struct warden_event *event);

/* The maps, for sizes, names and dumps. */
enum datapath_map {
	DATAPATH_MAP_IPCACHE,
	DATAPATH_MAP_ENDPOINTS,
	DATAPATH_MAP_LOCAL_ENDPOINTS,
	DATAPATH_MAP_POLICY,
	DATAPATH_MAP_CT,
	DATAPATH_MAP_METRICS,
	DATAPATH_MAP_COUNT,
};

/* Open, load (verifier) and set up the event ring buffer. */
int datapath__open(struct datapath **out, datapath_event_fn on_event, void *ctx);
/*
 * The same with other map sizes: max_entries[map], 0 keeps the size in
 * include/warden/abi/maps.h. For tests that fill maps (they would take too
 * long at full size); NULL is datapath__open.
 */
int datapath__open_sized(struct datapath **out, datapath_event_fn on_event, void *ctx,
			 const uint32_t max_entries[DATAPATH_MAP_COUNT]);
void datapath__close(struct datapath *dp);
/* "warden_policy", ... and how many entries the map holds at most. */
const char *datapath__map_name(const struct datapath *dp, enum datapath_map which);
uint32_t datapath__map_capacity(const struct datapath *dp, enum datapath_map which);

/* tc clsact on the host-side veth: from-container at ingress, to-container
 * at egress. */
int datapath__attach(struct datapath *dp, int ifindex);
void datapath__detach(struct datapath *dp, int ifindex);

/*
 * Every write below returns 0 or -errno; -ENOSPC means the map is full. A
 * write that fails changes nothing (endpoint_set writes two maps: if the
 * second write fails, the first is put back).
 */
int datapath__endpoint_set(struct datapath *dp, int ifindex,
			   const struct warden_endpoint_info *info);
int datapath__endpoint_delete(struct datapath *dp, int ifindex);

int datapath__ipcache_set(struct datapath *dp, const struct policy_prefix *prefix,
			  uint32_t identity);
int datapath__ipcache_delete(struct datapath *dp, const struct policy_prefix *prefix);

/* The pod-CIDR map (warden_pod_cidr): prefix -> pod-CIDR identity. */
int datapath__pod_cidr_set(struct datapath *dp, const struct policy_prefix *prefix,
			   uint32_t identity);
int datapath__pod_cidr_delete(struct datapath *dp, const struct policy_prefix *prefix);

/*
 * Run a plan of policy-map writes (warden/policy_plan.h). All or nothing:
 * when a write fails, the writes already done are undone backwards and the
 * error returned. policy_undo runs a plan that was applied whole backwards.
 */
int datapath__policy_apply(struct datapath *dp, const struct policy_plan *plan);
int datapath__policy_undo(struct datapath *dp, const struct policy_plan *plan);
/*
 * Make the map hold exactly next[0..next_count) for one endpoint, given that
 * it holds prev[0..prev_count) now (either may be NULL with count 0), in
 * the safe order of a plan without a room limit (endpoint_flags: the
 * endpoint's flags meanwhile); all or nothing.
 */
int datapath__policy_sync(struct datapath *dp, const struct policy_entry *prev,
			  size_t prev_count, const struct policy_entry *next,
			  size_t next_count, uint32_t endpoint_flags);

/* What the kernel holds, for `warden bpf check` (arrays allocated: free()). */
int datapath__policy_dump(struct datapath *dp, struct policy_entry **out, size_t *count);
struct datapath_endpoint_entry {
	int ifindex;   /* DATAPATH_MAP_ENDPOINTS */
	uint32_t ipv4; /* DATAPATH_MAP_LOCAL_ENDPOINTS, network order */
	struct warden_endpoint_info info;
};
int datapath__endpoints_dump(struct datapath *dp, enum datapath_map which,
			     struct datapath_endpoint_entry **out, size_t *count);
struct datapath_ipcache_entry {
	struct policy_prefix prefix;
	uint32_t identity;
};
int datapath__ipcache_dump(struct datapath *dp, struct datapath_ipcache_entry **out,
			   size_t *count);

/* Counters summed over CPUs: reason x direction for one endpoint, or all
 * endpoints when endpoint_id is 0. */
int datapath__metrics_sum(struct datapath *dp, uint32_t endpoint_id,
			  uint64_t packets[WARDEN_REASON_MAX + 1][2]);
/* One counter of the metrics map, summed over CPUs. */
struct datapath_metric {
	uint32_t endpoint_id;
	uint8_t reason; /* enum warden_reason, WARDEN_REASON_MAX: lost events */
	uint8_t direction;
	uint64_t packets;
};
/*
 * Every counter in one walk of the map (the cost of a scrape does not grow
 * with endpoints x entries): *out (owned, sorted by endpoint id), *count
 * entries. Returns 0 or -errno.
 */
int datapath__metrics_read(struct datapath *dp, struct datapath_metric **out,
			   size_t *count);
/* Drop a deleted endpoint's counters and flows. */
void datapath__forget_endpoint(struct datapath *dp, uint32_t endpoint_id);

/* For the event loop. */
int datapath__events_fd(struct datapath *dp);
/* The most events one poll hands to on_event: a flood of drops must not
 * keep the caller's loop in here. What is left waits in the ring (its fd
 * stays readable). */
#define DATAPATH_EVENTS_BUDGET 4096
/* Hand the events waiting in the ring to on_event, at most
 * DATAPATH_EVENTS_BUDGET. Returns how many, or -errno. */
int datapath__events_poll(struct datapath *dp);

/* Map usage for `warden status`. */
struct datapath_map_usage {
	const char *name;
	uint32_t used;
	uint32_t capacity;
};
/*
 * Counted by walking each map, so the answer is kept: read again after a
 * write through this datapath, or when it is a second old (conntrack and
 * the counters change without one).
 */
size_t datapath__map_usage(struct datapath *dp, struct datapath_map_usage *out,
			   size_t max);

#endif /* WARDEN_DATAPATH_H */
