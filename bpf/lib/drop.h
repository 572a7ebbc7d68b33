/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Verdict reporting: per-endpoint counters for every verdict, and ring
 * buffer events for drops and for the first packet of each allowed or
 * audited flow. This is what `warden monitor` and the metrics endpoint
 * read.
 */
#ifndef WARDEN_BPF_DROP_H
#define WARDEN_BPF_DROP_H

#include "lib/common.h"

/* Who a verdict was about, filled in as the program learns it. */
struct warden_trace {
	__u32 endpoint_id;    /* 0 until the endpoint is known */
	__u32 local_identity; /* the endpoint's identity */
	__u32 peer_identity;  /* the other side's, 0 until looked up */
	__u32 rule_cookie;    /* deciding policy rule, 0 = default/none */
	__u8 direction;	      /* enum warden_direction, endpoint's view */
};

/*
 * Add one packet to the (endpoint, reason, direction) counter. The map is
 * per-CPU, so a plain add is safe; the first packet creates the entry with
 * its own count, and if another CPU's first packet raced us to create the
 * key (NOEXIST fails), our slot already exists and we add to it.
 */
static __always_inline void metrics_count(void *metrics, __u32 endpoint_id, __u8 reason,
					  __u8 direction, __u32 bytes)
{
	struct warden_metrics_key key = {
	    .endpoint_id = endpoint_id,
	    .reason = reason,
	    .direction = direction,
	};
	struct warden_metrics_value *value;

	value = bpf_map_lookup_elem(metrics, &key);
	if (!value) {
		struct warden_metrics_value first = {.packets = 1, .bytes = bytes};

		if (bpf_map_update_elem(metrics, &key, &first, BPF_NOEXIST) == 0)
			return;
		value = bpf_map_lookup_elem(metrics, &key);
		if (!value)
			return;
	}
	value->packets += 1;
	value->bytes += bytes;
}

/*
 * Send one event to user space, about a packet of `length` bytes. Ring
 * buffer memory is not zeroed, so every byte is written. When the buffer
 * is full (user space too slow), the event is counted under reason
 * WARDEN_REASON_MAX ("lost events") instead.
 */
static __always_inline void event_emit_len(void *events, void *metrics,
					   const struct __sk_buff *skb,
					   const struct warden_trace *trace,
					   const struct warden_packet *pkt, __u8 type,
					   __u8 reason, __u32 length, __u8 flags)
{
	struct warden_event *e;

	e = bpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e) {
		metrics_count(metrics, trace->endpoint_id, WARDEN_REASON_MAX,
			      trace->direction, length);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->timestamp_ns = bpf_ktime_get_ns();
	e->type = type;
	e->reason = reason;
	e->direction = trace->direction;
	e->family = pkt->family;
	e->protocol = pkt->protocol;
	e->tcp_flags = pkt->tcp_flags;
	e->flags = flags;
	e->endpoint_id = trace->endpoint_id;
	e->ifindex = skb->ifindex;
	if (trace->direction == WARDEN_DIR_EGRESS) {
		e->src_identity = trace->local_identity;
		e->dst_identity = trace->peer_identity;
	} else {
		e->src_identity = trace->peer_identity;
		e->dst_identity = trace->local_identity;
	}
	e->rule_cookie = trace->rule_cookie;
	__builtin_memcpy(e->saddr, &pkt->saddr, sizeof(pkt->saddr));
	__builtin_memcpy(e->daddr, &pkt->daddr, sizeof(pkt->daddr));
	/* The real ports, not the policy port, so ICMP shows its echo id. */
	e->sport = pkt->sport;
	e->dport = pkt->dport;
	e->length = length;
	/* Batched: see WARDEN_EVENTS_WAKEUP_BYTES. */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(events, BPF_RB_AVAIL_DATA) >=
				      WARDEN_EVENTS_WAKEUP_BYTES
				  ? BPF_RB_FORCE_WAKEUP
				  : BPF_RB_NO_WAKEUP);
}

/* An event about the packet as it is now. */
static __always_inline void event_emit(void *events, void *metrics, struct __sk_buff *skb,
				       const struct warden_trace *trace,
				       const struct warden_packet *pkt, __u8 type,
				       __u8 reason)
{
	event_emit_len(events, metrics, skb, trace, pkt, type, reason, skb->len, 0);
}

/*
 * Count and report the drop of a packet of `length` bytes, with event
 * flags (WARDEN_EVENT_F_REJECTED when bpf/lib/reject.h answered it: the
 * skb is the answer by then, so its own length is not the dropped one's).
 */
static __always_inline void drop_report(void *events, void *metrics,
					const struct __sk_buff *skb,
					const struct warden_trace *trace,
					const struct warden_packet *pkt, __u8 reason,
					__u32 length, __u8 flags)
{
	metrics_count(metrics, trace->endpoint_id, reason, trace->direction, length);
	event_emit_len(events, metrics, skb, trace, pkt, WARDEN_EVENT_DROP, reason,
		       length, flags);
}

/* Count a forwarded packet; the value to return from the tc program. */
static __always_inline int forward_report(void *metrics, struct __sk_buff *skb,
					  const struct warden_trace *trace)
{
	metrics_count(metrics, trace->endpoint_id, WARDEN_REASON_FORWARDED,
		      trace->direction, skb->len);
	return TC_ACT_OK;
}

#endif /* WARDEN_BPF_DROP_H */
