/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow events for `warden monitor` (monitor.c): the history of the last
 * MONITOR_HISTORY events and the clients that follow them. The JSON of an
 * event is wire.c's; the bytes go out through each client's output queue
 * (outq.h), which its connection (control.c) sends.
 */
#ifndef WARDEN_AGENT_MONITOR_H
#define WARDEN_AGENT_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct monitor;
struct monitor_client;
struct outq;
struct warden_event;

#define MONITOR_HISTORY 4096
/*
 * The most a monitor client may have waiting in its output queue: past
 * it, new events are lost for that client (counted, and it is told with
 * a "lost" line once it has room again), and a replay waits.
 */
#define MONITOR_QUEUE_MAX (256u << 10)

/* What a `monitor` request asks for. */
struct monitor_options {
	bool drops_only;
	size_t last; /* replay that many events of the history first */
	bool follow; /* false: close after the replay */
};

/*
 * Where a client's lines go. monitor.c appends to out, then calls wake
 * (send what you can, watch for room); done says a replay without follow
 * is complete (close once out is sent). Neither may unsubscribe the
 * client from inside the call.
 */
struct monitor_sink {
	struct outq *out;
	void (*wake)(void *ctx);
	void (*done)(void *ctx);
	void *ctx;
};

int monitor__new(struct monitor **out);
void monitor__free(struct monitor *monitor);

/* The datapath's ring buffer callback (ctx: the agent). */
void monitor__on_event(void *ctx, const struct warden_event *event);
/* An access-log record of the proxy (JSON text): into the history, and to
 * the clients if any are attached. */
void monitor__relay_proxy(struct agent *agent, const char *json, size_t len);
/*
 * Once per loop round: write the events gathered since the last call to
 * the clients that are caught up, and continue the replay of those that
 * are not (as far as their queues allow).
 */
void monitor__flush(struct agent *agent);

/*
 * A new client: it first gets `last` events of the history, then (with
 * follow) every new event. Lines start at the next monitor__flush(), so
 * the caller's reply goes first. Returns 0 or -ENOMEM.
 */
int monitor__subscribe(struct agent *agent, const struct monitor_sink *sink,
		       const struct monitor_options *options,
		       struct monitor_client **out);
void monitor__unsubscribe(struct agent *agent, struct monitor_client *client);
/* Events slow clients could not take. */
uint64_t monitor__events_lost(const struct agent *agent);

#endif /* WARDEN_AGENT_MONITOR_H */
