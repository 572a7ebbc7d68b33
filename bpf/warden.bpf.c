// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Warden's datapath: the two tc programs attached to an endpoint's
 * host-side veth, and the maps they share with the agent.
 *
 *   warden_from_container  tc ingress of the host veth = the pod's egress
 *   warden_to_container    tc egress of the host veth  = the pod's ingress
 *
 * Per packet: endpoint by ifindex -> parse -> peer identity (ipcache) and
 * where the source came from -> conntrack (an ICMP error related to a flow
 * passes here) -> (new flow) policy -> verdict, counters and events; a
 * denied packet may be answered (RST / ICMP) instead of only dropped.
 * All the logic is in bpf/lib/
 * (the flow decision in bpf/lib/flow.h); this file owns the maps and
 * wires the modules together. The map layouts and names are the ABI
 * in include/warden/abi/maps.h.
 */
#include "lib/common.h"
#include "lib/conntrack.h"
#include "lib/drop.h"
#include "lib/flow.h"
#include "lib/ipcache.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/reject.h"
#include "lib/source.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct warden_ipcache_key);
	__type(value, struct warden_ipcache_value);
	__uint(max_entries, WARDEN_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
} warden_ipcache SEC(".maps");

/* Prefixes of CIDR rules that select pods -> pod-CIDR identity (maps.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct warden_ipcache_key);
	__type(value, struct warden_ipcache_value);
	__uint(max_entries, WARDEN_POD_CIDR_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} warden_pod_cidr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct warden_endpoint_key);
	__type(value, struct warden_endpoint_info);
	__uint(max_entries, WARDEN_ENDPOINTS_MAX);
} warden_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct warden_policy_key);
	__type(value, struct warden_policy_value);
	__uint(max_entries, WARDEN_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} warden_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct warden_ct_key);
	__type(value, struct warden_ct_value);
	__uint(max_entries, WARDEN_CT_MAX);
} warden_ct SEC(".maps");

/* Only revocations write here: see struct warden_ct_revoked. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct warden_ct_key);
	__type(value, struct warden_ct_revoked);
	__uint(max_entries, WARDEN_CT_REVOKED_MAX);
} warden_ct_revoked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct warden_metrics_key);
	__type(value, struct warden_metrics_value);
	__uint(max_entries, WARDEN_METRICS_MAX);
} warden_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct warden_endpoint_addr_key);
	__type(value, struct warden_endpoint_info);
	__uint(max_entries, WARDEN_ENDPOINTS_MAX);
} warden_local_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WARDEN_EVENTS_BYTES);
} warden_events SEC(".maps");

/*
 * The whole pipeline for one packet at the endpoint on skb->ifindex, seen
 * in `direction` (the pod's view). Every path ends at the forward or the
 * drop label, so every verdict is counted and every drop reported.
 */
static __always_inline int handle_packet(struct __sk_buff *skb, __u8 direction)
{
	const struct flow_maps maps = {
	    .ct = &warden_ct,
	    .revoked = &warden_ct_revoked,
	    .policy = &warden_policy,
	    .pod_cidr = &warden_pod_cidr,
	    .local_endpoints = &warden_local_endpoints,
	    .events = &warden_events,
	    .metrics = &warden_metrics,
	};
	struct warden_endpoint_key ep_key = {.ifindex = skb->ifindex};
	struct warden_trace trace = {.direction = direction};
	struct warden_packet pkt = {};
	struct warden_endpoint_info ep, *ep_value;
	bool reject = false, answer;
	__u8 event_flags = 0;
	__be32 ep_addr;
	__u32 length;
	int ret;

	/*
	 * An answer to a denied packet that the other program of this veth
	 * just sent back (bpf/lib/reject.h): it passes here once, whatever
	 * the rest would say (it would fail the source check, or be judged
	 * as the peer's packet). Counted as forwarded, if the veth is known.
	 */
	answer = reject_answer_passes(skb);
	ep_value = bpf_map_lookup_elem(&warden_endpoints, &ep_key);
	if (answer) {
		if (!ep_value)
			return TC_ACT_OK;
		trace.endpoint_id = ep_value->endpoint_id;
		goto forward;
	}

	/* Fail closed: a veth we do not know has no policy to apply. */
	if (!ep_value) {
		ret = -WARDEN_DROP_UNKNOWN_ENDPOINT;
		goto drop;
	}
	/* One consistent snapshot, even if the agent rewrites it meanwhile. */
	ep = *ep_value;
	trace.endpoint_id = ep.endpoint_id;
	trace.local_identity = ep.identity;

	ret = parse_packet(skb, &pkt);
	if (ret == WARDEN_PARSE_PASS)
		goto forward;
	if (ret < 0)
		goto drop;

	/* The source address names the sender only where it came from (lib/source.h). */
	__builtin_memcpy(&ep_addr, ep.ipv4, sizeof(ep_addr));
	if (direction == WARDEN_DIR_EGRESS) {
		trace.peer_identity = ipcache_lookup4(&warden_ipcache, pkt.daddr);
		ret = source_check_own(&pkt, ep_addr);
	} else {
		trace.peer_identity = ipcache_lookup4(&warden_ipcache, pkt.saddr);
		ret = source_check_peer(skb, &warden_local_endpoints, pkt.saddr,
					trace.peer_identity);
	}
	if (ret < 0)
		goto drop;

	ret = flow_handle(skb, &maps, &ep, ep_addr, &pkt, &trace, &reject);
	if (ret < 0)
		goto drop;
forward:
	return forward_report(&warden_metrics, skb, &trace);

drop:
	/*
	 * When policy wants the sender told (reject), the answer is built
	 * before the drop is reported, so that the event says whether one
	 * went out; the skb is the answer by then, hence the length kept
	 * here. Anything that cannot be answered, or fails halfway, is
	 * dropped: never forwarded.
	 */
	length = skb->len;
	if (reject && reject_build(skb, &pkt) == 0)
		event_flags = WARDEN_EVENT_F_REJECTED;
	/* Keeps clang from making a second copy of the reporting per value. */
	barrier_var(event_flags);
	drop_report(&warden_events, &warden_metrics, skb, &trace, &pkt, -ret, length,
		    event_flags);
	if (event_flags & WARDEN_EVENT_F_REJECTED)
		return reject_send(skb, direction);
	return TC_ACT_SHOT;
}

SEC("tc")
int warden_from_container(struct __sk_buff *skb)
{
	return handle_packet(skb, WARDEN_DIR_EGRESS);
}

SEC("tc")
int warden_to_container(struct __sk_buff *skb)
{
	return handle_packet(skb, WARDEN_DIR_INGRESS);
}
