// SPDX-License-Identifier: Apache-2.0
/*
 * Flow events: the datapath's ring buffer records and the proxy's access
 * log, kept in a history and written as JSON lines (wire.c) to every
 * `warden monitor` client. Nothing here blocks: lines go into each
 * client's bounded output queue, and a client that cannot keep up loses
 * events (counted, and told how many) instead of stalling the agent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "agent.h"
#include "monitor.h"
#include "outq.h"
#include "warden/abi/maps.h"
#include "wire.h"

/*
 * One event of the history. Datapath events are kept raw and turned into
 * JSON only when someone reads them (a monitor attached when they arrive,
 * or a later --last): with nobody watching, an event costs a copy, not the
 * JSON (the agent sees one per new flow, and one per HTTP request from the
 * proxy, whose records stay text until read).
 * Names (endpoints, labels) are resolved when the JSON is built; policy
 * names resolve by stable id, so they stay right after a delete.
 */
struct monitor_record {
	char *text; /* a relayed proxy record (JSON text); NULL for a raw one */
	size_t text_len;
	struct warden_event raw;
	struct timespec when; /* CLOCK_REALTIME when the agent got it */
};

/*
 * A subscriber. Until it has caught up with the history (`live`), it reads
 * the history from cursor on, as far as its queue allows; then it takes
 * the batches, which hold exactly the events after the ones it read.
 */
struct monitor_client {
	struct monitor_client *next;
	struct monitor_sink sink;
	bool drops_only;
	bool follow;
	bool live;
	bool finished;	      /* a replay without follow was sent: sink.done called */
	uint64_t cursor;      /* replaying: the next history sequence number to send */
	uint64_t end;	      /* without follow: where the replay stops */
	uint64_t lost_untold; /* lost since the last "lost" line */
};

/*
 * Lines for the caught-up clients, written at monitor__flush: one append
 * per client per batch of events instead of one per event (each send
 * wakes the client). [0]: every event; [1]: drops only.
 */
struct monitor_batch {
	char *buf;
	size_t len;
	size_t cap;
	size_t lines;
};

/* Flush early past this: a burst does not grow the agent without bound. */
#define MONITOR_BATCH_MAX (256u << 10)

/* monitor__new's state, in agent->monitor. */
struct monitor {
	struct monitor_client *clients;
	struct monitor_batch batches[2]; /* lines waiting for monitor__flush */
	/* The last MONITOR_HISTORY events, for `warden monitor --last N` and
	 * for clients catching up: record number seq lives at
	 * history[seq % MONITOR_HISTORY] while seq >= history_seq -
	 * history_count. */
	struct monitor_record *history;
	uint64_t history_seq; /* records ever written */
	size_t history_count;
	size_t live_clients; /* the ones that take batches */
	/* Live clients with room after the last flush. With none, new events
	 * are not even formatted: they are counted here, [0] all and [1]
	 * drops, and charged to the live clients at the next flush. */
	size_t live_with_room;
	uint64_t unbatched[2];
	uint64_t events_seen;
	uint64_t events_lost_clients;
};

int monitor__new(struct monitor **out)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->history = calloc(MONITOR_HISTORY, sizeof(*m->history));
	if (!m->history) {
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

/* The next history slot, emptied. */
static struct monitor_record *history_slot(struct monitor *m)
{
	struct monitor_record *r = &m->history[m->history_seq % MONITOR_HISTORY];

	free(r->text);
	memset(r, 0, sizeof(*r));
	m->history_seq++;
	if (m->history_count < MONITOR_HISTORY)
		m->history_count++;
	return r;
}

/* A record as a JSON line, built now (NULL if a relayed text does not parse). */
static char *record_line(struct agent *agent, const struct monitor_record *r, size_t *len)
{
	if (r->text)
		return wire__proxy_event_line(agent, r->text, r->text_len, len);
	return r->raw.type ? wire__flow_event_line(agent, &r->raw, &r->when, len) : NULL;
}

/* Only datapath events are drops (HTTP denials are "DENIED"). */
static bool record_is_drop(const struct monitor_record *r)
{
	return !r->text && r->raw.type == WARDEN_EVENT_DROP;
}

static bool batch_append(struct monitor_batch *b, const char *line, size_t len)
{
	if (b->cap - b->len < len) {
		size_t cap = b->cap ? b->cap * 2 : 16384;
		char *buf;

		while (cap - b->len < len)
			cap *= 2;
		buf = realloc(b->buf, cap);
		if (!buf)
			return false;
		b->buf = buf;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, line, len);
	b->len += len;
	b->lines++;
	return true;
}

/* Nobody live can take more now: count the event instead of formatting it. */
static bool skip_unwanted(struct monitor *m, bool drop)
{
	if (m->live_with_room)
		return false;
	m->unbatched[0]++;
	if (drop)
		m->unbatched[1]++;
	return true;
}

/* A new event's line (owned, freed here) for the clients' next batch. */
static void broadcast(struct agent *agent, char *line, size_t len, bool drop)
{
	struct monitor *m = agent->monitor;

	if (!line)
		return;
	batch_append(&m->batches[0], line, len);
	if (drop)
		batch_append(&m->batches[1], line, len);
	free(line);
	if (m->batches[0].len > MONITOR_BATCH_MAX)
		monitor__flush(agent);
}

void monitor__on_event(void *ctx, const struct warden_event *event)
{
	struct agent *agent = ctx;
	struct monitor *m = agent->monitor;
	struct monitor_record *r = history_slot(m);
	struct timespec now;
	size_t len = 0;
	char *line;

	m->events_seen++;
	clock_gettime(CLOCK_REALTIME, &now);
	r->raw = *event;
	r->when = now;
	if (!m->live_clients || skip_unwanted(m, event->type == WARDEN_EVENT_DROP))
		return;
	line = wire__flow_event_line(agent, event, &now, &len);
	broadcast(agent, line, len, event->type == WARDEN_EVENT_DROP);
}

void monitor__relay_proxy(struct agent *agent, const char *json, size_t len)
{
	struct monitor *m = agent->monitor;
	struct monitor_record *r = history_slot(m);
	size_t line_len = 0;
	char *line;

	r->text = strndup(json, len);
	r->text_len = r->text ? len : 0; /* no text: an empty record */
	clock_gettime(CLOCK_REALTIME, &r->when);
	if (!m->live_clients || skip_unwanted(m, false))
		return;
	/* The proxy's verdicts are FORWARDED, DENIED, AUDIT, ERROR: never a
	 * drop (`--type drop` is the datapath's). */
	line = wire__proxy_event_line(agent, json, len, &line_len);
	broadcast(agent, line, line_len, false);
}

static size_t count_lines(const char *p, size_t n)
{
	size_t lines = 0;

	for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		lines++;
	return lines;
}

static void client_lost(struct monitor *m, struct monitor_client *c, uint64_t lines)
{
	c->lost_untold += lines;
	m->events_lost_clients += lines;
}

static bool client_has_room(const struct monitor_client *c)
{
	return outq__pending(c->sink.out) < MONITOR_QUEUE_MAX;
}

/* Tell the client how many events it lost since it was last told, once
 * there is room for the line. */
static void client_tell_lost(struct monitor_client *c)
{
	size_t len;
	char *line;

	if (!c->lost_untold || !client_has_room(c))
		return;
	line = wire__lost_line(c->lost_untold, &len);
	if (line && !outq__append(c->sink.out, line, len))
		c->lost_untold = 0;
	free(line);
}

/*
 * A batch to a caught-up client: the whole lines that fit under
 * MONITOR_QUEUE_MAX go, the rest is lost for it (counted). A line is never
 * cut: the stream stays one JSON object per line.
 */
static void client_take_batch(struct monitor *m, struct monitor_client *c,
			      const struct monitor_batch *b)
{
	size_t pending = outq__pending(c->sink.out), fit;
	const char *cut;

	if (!b->len)
		return;
	fit = pending < MONITOR_QUEUE_MAX ? MONITOR_QUEUE_MAX - pending : 0;
	if (fit >= b->len) {
		if (outq__append(c->sink.out, b->buf, b->len))
			client_lost(m, c, b->lines);
		return;
	}
	cut = fit ? memrchr(b->buf, '\n', fit) : NULL;
	fit = cut ? (size_t)(cut + 1 - b->buf) : 0;
	if (fit && outq__append(c->sink.out, b->buf, fit))
		fit = 0;
	client_lost(m, c, count_lines(b->buf + fit, b->len - fit));
}

/*
 * Send a catching-up client more of the history, as far as its queue
 * allows. Records the ring overwrote before it read them are lost for it.
 * Caught up, it becomes live (with follow) or finished (without).
 */
static void client_replay(struct agent *agent, struct monitor_client *c)
{
	struct monitor *m = agent->monitor;
	uint64_t oldest = m->history_seq - m->history_count;
	uint64_t stop = c->follow ? m->history_seq : c->end;

	if (c->cursor < oldest) {
		client_lost(m, c, oldest - c->cursor);
		c->cursor = oldest;
	}
	while (c->cursor < stop && client_has_room(c)) {
		const struct monitor_record *r = &m->history[c->cursor % MONITOR_HISTORY];
		size_t len;
		char *line;

		c->cursor++;
		if (c->drops_only && !record_is_drop(r))
			continue;
		line = record_line(agent, r, &len);
		if (!line)
			continue;
		if (outq__append(c->sink.out, line, len))
			client_lost(m, c, 1);
		free(line);
	}
	if (c->cursor < stop)
		return;
	if (c->follow) {
		c->live = true;
		m->live_clients++;
	} else if (!c->finished) {
		c->finished = true;
		c->sink.done(c->sink.ctx);
	}
}

void monitor__flush(struct agent *agent)
{
	struct monitor *m = agent->monitor;
	struct monitor_batch *b = m->batches;

	m->live_with_room = 0;
	for (struct monitor_client *c = m->clients; c; c = c->next) {
		size_t before = outq__pending(c->sink.out);

		if (c->finished)
			continue;
		/* The batch holds events the history already gave a client
		 * that catches up in this very call: it is for the live ones. */
		if (c->live) {
			client_lost(m, c, m->unbatched[c->drops_only ? 1 : 0]);
			client_tell_lost(c);
			client_take_batch(m, c, &b[c->drops_only ? 1 : 0]);
		} else {
			client_replay(agent, c);
		}
		if (c->live && client_has_room(c))
			m->live_with_room++;
		if (outq__pending(c->sink.out) != before)
			c->sink.wake(c->sink.ctx);
	}
	for (int i = 0; i < 2; i++) {
		b[i].len = 0;
		b[i].lines = 0;
		m->unbatched[i] = 0;
	}
}

int monitor__subscribe(struct agent *agent, const struct monitor_sink *sink,
		       const struct monitor_options *options, struct monitor_client **out)
{
	struct monitor *m = agent->monitor;
	struct monitor_client *c = calloc(1, sizeof(*c));
	size_t last = options->last < m->history_count ? options->last : m->history_count;

	if (!c)
		return -ENOMEM;
	/* It starts by catching up: from `last` records back (or from now),
	 * through the history, which also holds whatever arrives until the
	 * next flush. */
	c->sink = *sink;
	c->drops_only = options->drops_only;
	c->follow = options->follow;
	c->cursor = m->history_seq - last;
	c->end = m->history_seq;
	c->next = m->clients;
	m->clients = c;
	*out = c;
	return 0;
}

void monitor__unsubscribe(struct agent *agent, struct monitor_client *client)
{
	struct monitor *m = agent->monitor;

	for (struct monitor_client **pp = &m->clients; *pp; pp = &(*pp)->next) {
		if (*pp != client)
			continue;
		*pp = client->next;
		if (client->live)
			m->live_clients--;
		free(client);
		return;
	}
}

uint64_t monitor__events_lost(const struct agent *agent)
{
	return agent->monitor ? agent->monitor->events_lost_clients : 0;
}

void monitor__free(struct monitor *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < MONITOR_HISTORY; i++)
		free(m->history[i].text);
	free(m->history);
	for (int i = 0; i < 2; i++)
		free(m->batches[i].buf);
	while (m->clients) {
		struct monitor_client *c = m->clients;

		m->clients = c->next;
		free(c);
	}
	free(m);
}
