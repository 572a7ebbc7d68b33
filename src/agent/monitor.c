// SPDX-License-Identifier: Apache-2.0
/*
 * Flow events: the datapath's ring buffer records and the proxy's access
 * log, kept in a history and written as JSON lines (wire.c) to every
 * `warden monitor` client. A client that cannot keep up loses events,
 * counted, instead of stalling the agent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "agent.h"
#include "monitor.h"
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

struct monitor_client {
	struct monitor_client *next;
	int fd;
	bool drops_only;
	bool follow;
	size_t last;
	uint64_t lost;
	char *tail; /* the rest of a line the socket took only part of */
	size_t tail_len;
};

/*
 * Lines for the clients, written at monitor__flush: one write per client
 * per batch of events instead of one per event (each write wakes the
 * client). [0]: every event; [1]: drops only.
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
	/* The last MONITOR_HISTORY events, for `warden monitor --last N`. */
	struct monitor_record *history; /* MONITOR_HISTORY records, a ring */
	size_t history_next;
	size_t history_count;
	uint64_t events_seen;
	uint64_t events_lost_clients;
};

int monitor__new(struct monitor **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

/* The next history slot, emptied. */
static struct monitor_record *history_slot(struct monitor *m)
{
	struct monitor_record *r;

	if (!m->history) {
		m->history = calloc(MONITOR_HISTORY, sizeof(*m->history));
		if (!m->history)
			return NULL;
	}
	r = &m->history[m->history_next];
	free(r->text);
	memset(r, 0, sizeof(*r));
	m->history_next = (m->history_next + 1) % MONITOR_HISTORY;
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
	if (r) {
		r->raw = *event;
		r->when = now;
	}
	if (!m->clients)
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

	if (r) {
		r->text = strndup(json, len);
		r->text_len = r->text ? len : 0; /* no text: an empty record */
		clock_gettime(CLOCK_REALTIME, &r->when);
	}
	if (!m->clients)
		return;
	/* The proxy's verdicts are FORWARDED, DENIED, AUDIT, ERROR: never a
	 * drop (`--type drop` is the datapath's). */
	line = wire__proxy_event_line(agent, json, len, &line_len);
	broadcast(agent, line, line_len, false);
}

bool monitor__replay(struct agent *agent, int fd)
{
	struct monitor *m = agent->monitor;
	struct monitor_client *c;
	size_t n, start;

	for (c = m->clients; c && c->fd != fd; c = c->next)
		;
	if (!c)
		return true;
	n = c->last < m->history_count ? c->last : m->history_count;
	start = (m->history_next + MONITOR_HISTORY - n) % MONITOR_HISTORY;
	for (size_t i = 0; i < n; i++) {
		const struct monitor_record *r =
		    &m->history[(start + i) % MONITOR_HISTORY];
		size_t len;
		char *line;
		bool sent;

		if (c->drops_only && !record_is_drop(r))
			continue;
		line = record_line(agent, r, &len);
		if (!line)
			continue;
		sent = send(fd, line, len, MSG_NOSIGNAL) == (ssize_t)len;
		free(line);
		if (!sent)
			break;
	}
	return c->follow;
}

static size_t count_lines(const char *p, size_t n)
{
	size_t lines = 0;

	for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		lines++;
	return lines;
}

static void client_lost(struct monitor *m, struct monitor_client *c, size_t lines)
{
	c->lost += lines;
	m->events_lost_clients += lines;
}

/*
 * Write a batch to one client without blocking and without ever cutting a
 * line: what a full socket did not take is lost, counted, except the rest
 * of a line it took part of, which goes first next time (until it has, new
 * lines for this client are lost whole).
 */
static void client_write(struct monitor *m, struct monitor_client *c,
			 const struct monitor_batch *b)
{
	ssize_t n;

	if (c->tail_len) {
		n = send(c->fd, c->tail, c->tail_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			memmove(c->tail, c->tail + n, c->tail_len - (size_t)n);
			c->tail_len -= (size_t)n;
		}
		if (c->tail_len) {
			client_lost(m, c, b->lines);
			return;
		}
	}
	if (!b->len)
		return;
	n = send(c->fd, b->buf, b->len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		n = 0;
	if ((size_t)n == b->len)
		return;
	if (n > 0 && b->buf[n - 1] != '\n') {
		const char *eol = memchr(b->buf + n, '\n', b->len - (size_t)n);
		size_t rest = (size_t)(eol + 1 - (b->buf + n));
		char *tail = realloc(c->tail, rest);

		if (tail) {
			memcpy(tail, b->buf + n, rest);
			c->tail = tail;
			c->tail_len = rest;
		}
		client_lost(m, c,
			    count_lines(eol + 1, (size_t)(b->buf + b->len - eol - 1)));
	} else {
		client_lost(m, c, count_lines(b->buf + n, b->len - (size_t)n));
	}
}

void monitor__flush(struct agent *agent)
{
	struct monitor *m = agent->monitor;
	struct monitor_batch *b = m->batches;

	if (!b[0].len && !b[1].len)
		return;
	for (struct monitor_client *c = m->clients; c; c = c->next)
		client_write(m, c, &b[c->drops_only ? 1 : 0]);
	for (int i = 0; i < 2; i++) {
		b[i].len = 0;
		b[i].lines = 0;
	}
}

int monitor__subscribe(struct agent *agent, int fd, const struct monitor_options *options)
{
	struct monitor *m = agent->monitor;
	struct monitor_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	/* Events from before it subscribed go to the others only (a replay
	 * of the history would send them twice). */
	monitor__flush(agent);
	c->fd = fd;
	c->drops_only = options->drops_only;
	c->last = options->last;
	c->follow = options->follow;
	c->next = m->clients;
	m->clients = c;
	return 0;
}

void monitor__unsubscribe(struct agent *agent, int fd)
{
	struct monitor *m = agent->monitor;

	for (struct monitor_client **pp = &m->clients; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd != fd)
			continue;
		struct monitor_client *gone = *pp;

		*pp = gone->next;
		free(gone->tail);
		free(gone);
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
	for (size_t i = 0; m->history && i < MONITOR_HISTORY; i++)
		free(m->history[i].text);
	free(m->history);
	for (int i = 0; i < 2; i++)
		free(m->batches[i].buf);
	while (m->clients) {
		struct monitor_client *c = m->clients;

		m->clients = c->next;
		free(c->tail);
		free(c);
	}
	free(m);
}
