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

typedef void (*datapath_event_fn)(void *ctx, const struct warden_event *event);

/* Open, load (verifier) and set up the event ring buffer. */
int datapath__open(struct datapath **out, datapath_event_fn on_event, void *ctx);
void datapath__close(struct datapath *dp);

/* tc clsact on the host-side veth: from-container at ingress, to-container
 * at egress. */
int datapath__attach(struct datapath *dp, int ifindex);
void datapath__detach(struct datapath *dp, int ifindex);

int datapath__endpoint_set(struct datapath *dp, int ifindex,
			   const struct warden_endpoint_info *info);
int datapath__endpoint_delete(struct datapath *dp, int ifindex);

int datapath__ipcache_set(struct datapath *dp, const struct policy_prefix *prefix,
			  uint32_t identity);
int datapath__ipcache_delete(struct datapath *dp, const struct policy_prefix *prefix);

/*
 * Make the map hold exactly next[0..next_count) for one endpoint, given that
 * it holds prev[0..prev_count) now (either may be NULL with count 0): new
 * and changed entries are written first, stale ones removed last, so a
 * packet never sees less than the old or the new policy allows.
 */
int datapath__policy_sync(struct datapath *dp, const struct policy_entry *prev,
			  size_t prev_count, const struct policy_entry *next,
			  size_t next_count);

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
size_t datapath__map_usage(struct datapath *dp, struct datapath_map_usage *out,
			   size_t max);

#endif /* WARDEN_DATAPATH_H */
