// SPDX-License-Identifier: Apache-2.0
/*
 * Access-log records, batched into datagrams (format in access_log.h). The
 * socket is not connected: the
 * agent may come and go (restart, re-bind the same path), and sendto() with
 * the address finds whoever is bound now, where a connected socket would
 * keep failing after the first restart.
 *
 * The JSON is written by hand into a fixed buffer: jansson would allocate
 * per record, and the shape is fixed. Strings that come from the client
 * (method, url, host) are escaped byte by byte; bytes outside ASCII become
 * \u00XX, so the datagram is valid JSON (and UTF-8) whatever was received.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "warden/abi/maps.h"

const char *access_verdict__name(enum access_verdict v)
{
	switch (v) {
	case ACCESS_FORWARDED:
		return "FORWARDED";
	case ACCESS_DENIED:
		return "DENIED";
	case ACCESS_AUDIT:
		return "AUDIT";
	default:
		return "ERROR";
	}
}

const char *access_reason__name(enum access_reason r)
{
	switch (r) {
	case ACCESS_REASON_REGEX_LIMIT:
		return "regex_limit";
	case ACCESS_REASON_CONNECTION_LIMIT:
		return "connection_limit";
	case ACCESS_REASON_SOURCE_LIMIT:
		return "per_source_limit";
	case ACCESS_REASON_NO_RULE:
		return "no-rule";
	case ACCESS_REASON_LIFTED:
		return "lifted";
	default:
		return NULL;
	}
}

const char *access_reason__text(enum access_reason r)
{
	switch (r) {
	case ACCESS_REASON_REGEX_LIMIT:
		return "L7 regex limit";
	case ACCESS_REASON_CONNECTION_LIMIT:
		return "Proxy connection limit";
	case ACCESS_REASON_SOURCE_LIMIT:
		return "Proxy per-source connection limit";
	case ACCESS_REASON_NO_RULE:
		return "no-rule";
	case ACCESS_REASON_LIFTED:
		return "lifted";
	default:
		return NULL;
	}
}

int access_log__open(struct access_log *log, const char *path)
{
	log->fd = -1;
	log->sent = log->dropped = 0;
	if (!path)
		return 0;
	if (strlen(path) >= sizeof(log->addr.sun_path))
		return -ENAMETOOLONG;
	memset(&log->addr, 0, sizeof(log->addr));
	log->addr.sun_family = AF_UNIX;
	strcpy(log->addr.sun_path, path);
	log->addr_len =
	    (unsigned int)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	log->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return log->fd < 0 ? -errno : 0;
}

void access_log__flush(struct access_log *log)
{
	if (!log->batch_len)
		return;
	/* EAGAIN (agent behind), ENOENT/ECONNREFUSED (no agent): drop. */
	if (sendto(log->fd, log->batch, log->batch_len, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (struct sockaddr *)&log->addr, log->addr_len) < 0)
		log->dropped += log->batch_records;
	else
		log->sent += log->batch_records;
	log->batch_len = 0;
	log->batch_records = 0;
}

uint64_t access_log__flush_due(struct access_log *log, uint64_t now_us)
{
	if (!log->batch_len)
		return 0;
	if (now_us >= log->batch_since_us + ACCESS_LOG_DELAY_US) {
		access_log__flush(log);
		return 0;
	}
	return log->batch_since_us + ACCESS_LOG_DELAY_US;
}

void access_log__close(struct access_log *log)
{
	if (log->fd >= 0) {
		access_log__flush(log);
		close(log->fd);
	}
	log->fd = -1;
}

/* A bounded JSON writer: on overflow it stops writing and says so. */
struct json_out {
	char *buf;
	size_t len;
	size_t cap;
	bool overflow;
};

static void out_raw(struct json_out *o, const char *s, size_t n)
{
	if (o->overflow || o->cap - o->len < n) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_str(struct json_out *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

static void out_fmt(struct json_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out_fmt(struct json_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->overflow = true;
	else
		o->len += (size_t)n;
}

/* A JSON string literal (quotes included) of arbitrary bytes. */
static void out_quoted(struct json_out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	out_raw(o, "\"", 1);
	for (size_t i = 0; i < n && !o->overflow; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};

		if (ch == '"' || ch == '\\') {
			esc[1] = (char)ch;
			out_raw(o, esc, 2);
		} else if (ch < 0x20 || ch >= 0x7f) {
			out_raw(o, esc, 6);
		} else {
			out_raw(o, s + i, 1);
		}
	}
	out_raw(o, "\"", 1);
}

/* "k8s:a=b,k8s:c=d" → ["k8s:a=b","k8s:c=d"]: label text has no commas. */
static void out_labels(struct json_out *o, const char *labels)
{
	const char *p = labels ? labels : "";

	out_raw(o, "[", 1);
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (p != labels)
			out_raw(o, ",", 1);
		out_quoted(o, p, n);
		p += n;
		if (*p == ',')
			p++;
	}
	out_raw(o, "]", 1);
}

static void out_peer(struct json_out *o, const char *key, const struct access_peer *peer)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &peer->ipv4, ip, sizeof(ip));
	out_fmt(o,
		",\"%s\":{\"ip\":\"%s\",\"port\":%u,\"identity\":%u,\"endpoint\":", key,
		ip, peer->port, peer->identity);
	if (peer->endpoint)
		out_quoted(o, peer->endpoint, strlen(peer->endpoint));
	else
		out_str(o, "null");
	out_str(o, ",\"labels\":");
	out_labels(o, peer->labels);
	out_raw(o, "}", 1);
}

static void out_time(struct json_out *o)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	out_fmt(o, "\"time\":\"%s.%06ldZ\"", when, ts.tv_nsec / 1000);
}

/* Append a formatted line to the batch (flushing first if it has no room). */
static void batch_add(struct access_log *log, const struct json_out *o)
{
	if (o->overflow) {
		log->dropped++;
		return;
	}
	if (sizeof(log->batch) - log->batch_len < o->len)
		access_log__flush(log);
	if (!log->batch_len) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		log->batch_since_us =
		    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	}
	memcpy(log->batch + log->batch_len, o->buf, o->len);
	log->batch_len += o->len;
	log->batch_records++;
}

/* The line's prefix, what the agent counts without parsing the JSON. */
static void out_prefix(struct json_out *o, const char *verdict, enum access_reason reason,
		       uint64_t latency_us)
{
	const char *name = access_reason__name(reason);

	out_fmt(o, "%s%s%s %llu ", verdict, name ? ":" : "", name ? name : "",
		(unsigned long long)latency_us);
}

void access_log__send(struct access_log *log, const struct access_record *rec)
{
	struct json_out o = {.buf = log->buf, .cap = sizeof(log->buf)};

	if (log->fd < 0)
		return;
	out_prefix(&o, access_verdict__name(rec->verdict), rec->reason, rec->latency_us);
	out_str(&o, "{\"type\":\"http-request\",");
	out_time(&o);
	out_str(&o, ",\"verdict\":\"");
	out_str(&o, access_verdict__name(rec->verdict));
	out_fmt(&o, "\",\"status\":%d,\"method\":", rec->status);
	out_quoted(&o, rec->method.ptr, rec->method.len);
	out_str(&o, ",\"url\":");
	out_quoted(&o, rec->url.ptr, rec->url.len);
	out_str(&o, ",\"host\":");
	out_quoted(&o, rec->host.ptr, rec->host.len);
	out_str(&o, ",\"direction\":");
	out_str(&o, rec->direction == WARDEN_DIR_INGRESS  ? "\"ingress\""
		    : rec->direction == WARDEN_DIR_EGRESS ? "\"egress\""
							  : "null");
	out_fmt(&o, ",\"rule_cookie\":%u,\"latency_us\":%llu,\"revision\":%llu",
		rec->rule_cookie, (unsigned long long)rec->latency_us,
		(unsigned long long)rec->revision);
	if (rec->reason != ACCESS_REASON_NONE) {
		out_str(&o, ",\"reason\":\"");
		out_str(&o, access_reason__text(rec->reason));
		out_str(&o, "\"");
	}
	if (rec->error) {
		out_str(&o, ",\"error\":");
		out_quoted(&o, rec->error, strlen(rec->error));
	}
	out_peer(&o, "source", &rec->source);
	out_peer(&o, "destination", &rec->destination);
	out_raw(&o, "}\n", 2);
	batch_add(log, &o);
}

/*
 * A refused connection has no request: its line says who, to where, why
 * and the limit, in the shape of a datapath event (reason, verdict,
 * protocol), so `warden monitor` prints it like one.
 */
void access_log__send_refusal(struct access_log *log, const struct access_refusal *ref)
{
	struct json_out o = {.buf = log->buf, .cap = sizeof(log->buf)};

	if (log->fd < 0 || ref->reason == ACCESS_REASON_NONE)
		return;
	out_prefix(&o, "REFUSED", ref->reason, 0);
	out_str(&o, "{\"type\":\"proxy-connection\",");
	out_time(&o);
	out_str(&o, ",\"verdict\":\"REFUSED\",\"reason\":\"");
	out_str(&o, access_reason__text(ref->reason));
	out_fmt(&o, "\",\"limit\":%u,\"protocol\":\"TCP\"", ref->limit);
	out_peer(&o, "source", &ref->source);
	out_peer(&o, "destination", &ref->destination);
	out_raw(&o, "}\n", 2);
	batch_add(log, &o);
}
