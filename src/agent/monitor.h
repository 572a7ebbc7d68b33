/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow events for `warden monitor` (monitor.c): the history of the last
 * MONITOR_HISTORY events and the clients that follow them. The JSON of an
 * event is wire.c's.
 */
#ifndef WARDEN_AGENT_MONITOR_H
#define WARDEN_AGENT_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct monitor;
struct warden_event;

#define MONITOR_HISTORY 4096

/* What a `monitor` request asks for. */
struct monitor_options {
	bool drops_only;
	size_t last; /* replay that many events of the history first */
	bool follow; /* false: close after the replay */
};

int monitor__new(struct monitor **out);
void monitor__free(struct monitor *monitor);

/* The datapath's ring buffer callback (ctx: the agent). */
void monitor__on_event(void *ctx, const struct warden_event *event);
/* An access-log record of the proxy (JSON text): into the history, and to
 * the clients if any are attached. */
void monitor__relay_proxy(struct agent *agent, const char *json, size_t len);
/* Write the events gathered since the last call to the clients. */
void monitor__flush(struct agent *agent);

int monitor__subscribe(struct agent *agent, int fd,
		       const struct monitor_options *options);
void monitor__unsubscribe(struct agent *agent, int fd);
/*
 * After the subscribe reply: send the client the history it asked for
 * (`last`). Returns false when the client wanted only that (no `follow`)
 * and the connection should now close.
 */
bool monitor__replay(struct agent *agent, int fd);
/* Events slow clients could not take. */
uint64_t monitor__events_lost(const struct agent *agent);

#endif /* WARDEN_AGENT_MONITOR_H */
