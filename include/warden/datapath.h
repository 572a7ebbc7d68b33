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

/* The pod-CIDR map (warden_pod_cidr): prefix -> pod-CIDR identity. */
int datapath__pod_cidr_set(struct datapath *dp, const struct policy_prefix *prefix,
			   uint32_t identity);
int datapath__pod_cidr_delete(struct datapath *dp, const struct policy_prefix *prefix);

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
/* Drop a deleted endpoint's counters and flows. */
void datapath__forget_endpoint(struct datapath *dp, uint32_t endpoint_id);

/* For the event loop. */
int datapath__events_fd(struct datapath *dp);
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
