// SPDX-License-Identifier: Apache-2.0
/*
 * Flow events: the datapath's ring buffer records are turned into JSON
 * lines (docs/control-protocol.md) and written to every `warden monitor`
 * client. A client that cannot keep up loses events, counted, instead of
 * stalling the agent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "warden/reason.h"

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

const char *ipv4__format(uint32_t addr, char *buf, size_t len)
{
	return inet_ntop(AF_INET, &addr, buf, (socklen_t)len);
}

static const char *protocol_name(uint8_t proto, char *buf, size_t len)
{
	const char *name = proto ? warden_protocol__name(proto) : NULL;

	if (name)
		return name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

static void tcp_flags_text(uint8_t flags, char *buf, size_t len)
{
	static const char *const names[] = { "FIN", "SYN", "RST", "PSH",
					     "ACK", "URG", "ECE", "CWR" };
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < 8 && off < len; i++)
		if (flags & (1u << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "",
						names[i]);
}

void monitor__describe_cookie(struct agent *agent, uint32_t cookie, bool allowed,
			      char *buf, size_t len)
{
	const char *name;
	bool live;

	if (!cookie) {
		snprintf(buf, len, "%s", allowed ? "no policy" : "default deny");
		return;
	}
	name = policy_repo__name_by_id(agent, (uint16_t)POLICY_COOKIE_POLICY_ID(cookie), &live);
	if (!name)
		snprintf(buf, len, "rule %#x (unknown policy)", cookie);
	else
		snprintf(buf, len, "%s%s", name, live ? "" : " (deleted)");
}

static json_t *peer_json(struct agent *agent, const uint8_t addr[16], uint16_t port_be,
			 uint32_t identity)
{
	const struct identity *ident = identity__lookup(agent->identities, identity);
	struct endpoint *ep;
	uint32_t ipv4;
	char ip[INET_ADDRSTRLEN], ref[256];
	json_t *obj;

	memcpy(&ipv4, addr, 4);
	ep = endpoint__find_by_ipv4(agent, ipv4);
	obj = json_pack("{s:s, s:i, s:i}", "ip", ipv4__format(ipv4, ip, sizeof(ip)), "port",
			ntohs(port_be), "identity", (json_int_t)identity);
	if (ep) {
		snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
		json_object_set_new(obj, "endpoint", json_string(ref));
	} else {
		json_object_set_new(obj, "endpoint", json_null());
	}
	json_object_set_new(obj, "labels",
			    ident ? json_label_list(&ident->labels) : json_array());
	return obj;
}

static json_t *event_json(struct agent *agent, const struct warden_event *ev,
			  const struct timespec *ts)
{
	struct endpoint *ep = endpoint__find_by_id(agent, ev->endpoint_id);
	bool dropped = ev->type == WARDEN_EVENT_DROP;
	bool audit = ev->type == WARDEN_EVENT_AUDIT;
	/* Hubble's REDIRECTED: allowed, and handed to the L7 proxy. */
	bool redirected = !dropped && !audit && (ev->flags & WARDEN_EVENT_F_REDIRECTED);
	char when[64], proto[8], flags[64], policy[600], ref[256];
	struct tm tm;
	json_t *obj;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%06ldZ",
		 ts->tv_nsec / 1000);
	tcp_flags_text(ev->protocol == 6 ? ev->tcp_flags : 0, flags, sizeof(flags));
	/* An audit event names the policy that would have dropped the flow. */
	monitor__describe_cookie(agent, ev->rule_cookie, !dropped && !audit, policy,
				 sizeof(policy));
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "time", when, "type",
			dropped ? "drop" : "policy-verdict", "reason",
			redirected ? "to-proxy" : warden_reason__name(ev->reason), "verdict",
			dropped	   ? "DROPPED" :
			audit	   ? "AUDIT" :
			redirected ? "REDIRECTED" :
				     "FORWARDED",
			"direction",
			ev->direction == WARDEN_DIR_INGRESS ? "ingress" : "egress", "protocol",
			protocol_name(ev->protocol, proto, sizeof(proto)), "tcp_flags", flags,
			"length", (json_int_t)ev->length);
	json_object_set_new(obj, "source",
			    peer_json(agent, ev->saddr, ev->sport, ev->src_identity));
	json_object_set_new(obj, "destination",
			    peer_json(agent, ev->daddr, ev->dport, ev->dst_identity));
	if (ep) {
		snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
		json_object_set_new(obj, "endpoint", json_string(ref));
	} else {
		json_object_set_new(obj, "endpoint", json_null());
	}
	json_object_set_new(obj, "policy", json_string(policy));
	if (dropped)
		json_object_set_new(obj, "response",
				    json_string(ev->flags & WARDEN_EVENT_F_REJECTED ? "reject" :
										     "drop"));
	return obj;
}

/* obj as one compact line ending in '\n' (allocated); *len includes it. */
static char *json_line(json_t *obj, size_t *len)
{
	char *line = json_dumps(obj, JSON_COMPACT);

	if (!line)
		return NULL;
	*len = strlen(line);
	line[(*len)++] = '\n'; /* json_dumps leaves room: the NUL goes */
	return line;
}

static bool is_drop(json_t *obj)
{
	const char *verdict = json_string_value(json_object_get(obj, "verdict"));

	return verdict && !strcmp(verdict, "DROPPED");
}

static void broadcast(struct agent *agent, json_t *obj);

/* The next history slot, emptied. */
static struct monitor_record *history_slot(struct agent *agent)
{
	struct monitor_record *r;

	if (!agent->history) {
		agent->history = calloc(MONITOR_HISTORY, sizeof(*agent->history));
		if (!agent->history)
			return NULL;
	}
	r = &agent->history[agent->history_next];
	free(r->text);
	memset(r, 0, sizeof(*r));
	agent->history_next = (agent->history_next + 1) % MONITOR_HISTORY;
	if (agent->history_count < MONITOR_HISTORY)
		agent->history_count++;
	return r;
}

/* A record's JSON, built now (NULL if a relayed text does not parse). */
static json_t *record_json(struct agent *agent, const struct monitor_record *r)
{
	if (r->text)
		return proxy__event_json(agent, r->text, r->text_len);
	return r->raw.type ? event_json(agent, &r->raw, &r->when) : NULL;
}

/* Only datapath events are drops (HTTP denials are "DENIED"). */
static bool record_is_drop(const struct monitor_record *r)
{
	return !r->text && r->raw.type == WARDEN_EVENT_DROP;
}

void monitor__on_event(void *ctx, const struct warden_event *event)
{
	struct agent *agent = ctx;
	struct monitor_record *r = history_slot(agent);
	struct timespec now;
	json_t *obj;

	agent->events_seen++;
	clock_gettime(CLOCK_REALTIME, &now);
	if (r) {
		r->raw = *event;
		r->when = now;
	}
	if (!agent->monitors)
		return;
	obj = event_json(agent, event, &now);
	broadcast(agent, obj);
	json_decref(obj);
}

void monitor__relay_text(struct agent *agent, const char *json, size_t len)
{
	struct monitor_record *r = history_slot(agent);
	json_t *event;

	if (r) {
		r->text = strndup(json, len);
		r->text_len = r->text ? len : 0; /* no text: an empty record */
		clock_gettime(CLOCK_REALTIME, &r->when);
	}
	if (!agent->monitors)
		return;
	event = proxy__event_json(agent, json, len);
	if (event)
		broadcast(agent, event);
	json_decref(event);
}

static bool send_line(int fd, json_t *obj)
{
	size_t len;
	char *line = json_line(obj, &len);
	bool ok;

	if (!line)
		return false;
	ok = send(fd, line, len, MSG_NOSIGNAL) == (ssize_t)len;
	free(line);
	return ok;
}

bool monitor__replay(struct agent *agent, int fd)
{
	struct monitor_client *c;
	size_t n, start;

	for (c = agent->monitors; c && c->fd != fd; c = c->next)
		;
	if (!c)
		return true;
	n = c->last < agent->history_count ? c->last : agent->history_count;
	start = (agent->history_next + MONITOR_HISTORY - n) % MONITOR_HISTORY;
	for (size_t i = 0; i < n; i++) {
		const struct monitor_record *r = &agent->history[(start + i) % MONITOR_HISTORY];
		json_t *obj;
		bool sent;

		if (c->drops_only && !record_is_drop(r))
			continue;
		obj = record_json(agent, r);
		if (!obj)
			continue;
		sent = send_line(fd, obj);
		json_decref(obj);
		if (!sent)
			break;
	}
	return c->follow;
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

static void broadcast(struct agent *agent, json_t *obj)
{
	bool drop = is_drop(obj);
	size_t len;
	char *line;

	if (!agent->monitor_batches) {
		agent->monitor_batches = calloc(2, sizeof(*agent->monitor_batches));
		if (!agent->monitor_batches)
			return;
	}
	line = json_line(obj, &len);
	if (!line)
		return;
	batch_append(&agent->monitor_batches[0], line, len);
	if (drop)
		batch_append(&agent->monitor_batches[1], line, len);
	free(line);
	if (agent->monitor_batches[0].len > MONITOR_BATCH_MAX)
		monitor__flush(agent);
}

static size_t count_lines(const char *p, size_t n)
{
	size_t lines = 0;

	for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		lines++;
	return lines;
}

static void client_lost(struct agent *agent, struct monitor_client *c, size_t lines)
{
	c->lost += lines;
	agent->events_lost_clients += lines;
}

/*
 * Write a batch to one client without blocking and without ever cutting a
 * line: what a full socket did not take is lost, counted, except the rest
 * of a line it took part of, which goes first next time (until it has, new
 * lines for this client are lost whole).
 */
static void client_write(struct agent *agent, struct monitor_client *c,
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
			client_lost(agent, c, b->lines);
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
		client_lost(agent, c, count_lines(eol + 1, (size_t)(b->buf + b->len - eol - 1)));
	} else {
		client_lost(agent, c, count_lines(b->buf + n, b->len - (size_t)n));
	}
}

void monitor__flush(struct agent *agent)
{
	struct monitor_batch *b = agent->monitor_batches;

	if (!b || (!b[0].len && !b[1].len))
		return;
	for (struct monitor_client *c = agent->monitors; c; c = c->next)
		client_write(agent, c, &b[c->drops_only ? 1 : 0]);
	for (int i = 0; i < 2; i++) {
		b[i].len = 0;
		b[i].lines = 0;
	}
}

int monitor__subscribe(struct agent *agent, int fd, json_t *args)
{
	struct monitor_client *c = calloc(1, sizeof(*c));
	const char *type = json_string_value(json_object_get(args, "type"));

	if (!c)
		return -ENOMEM;
	/* Events from before it subscribed go to the others only (a replay
	 * of the history would send them twice). */
	monitor__flush(agent);
	c->fd = fd;
	c->drops_only = type && !strcmp(type, "drop");
	c->last = json_is_integer(json_object_get(args, "last")) ?
			  (size_t)json_integer_value(json_object_get(args, "last")) :
			  0;
	c->follow = !json_is_false(json_object_get(args, "follow"));
	c->next = agent->monitors;
	agent->monitors = c;
	return 0;
}

void monitor__unsubscribe(struct agent *agent, int fd)
{
	for (struct monitor_client **pp = &agent->monitors; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd != fd)
			continue;
		struct monitor_client *gone = *pp;

		*pp = gone->next;
		free(gone->tail);
		free(gone);
		return;
	}
}

void monitor__free_all(struct agent *agent)
{
	for (size_t i = 0; agent->history && i < MONITOR_HISTORY; i++)
		free(agent->history[i].text);
	free(agent->history);
	agent->history = NULL;
	for (int i = 0; agent->monitor_batches && i < 2; i++)
		free(agent->monitor_batches[i].buf);
	free(agent->monitor_batches);
	agent->monitor_batches = NULL;
	while (agent->monitors) {
		struct monitor_client *c = agent->monitors;

		agent->monitors = c->next;
		free(c->tail);
		free(c);
	}
}
