/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The access log: one line per request, batched into datagrams to a Unix
 * datagram socket (the agent's, which counts them for the metrics and
 * relays them to `warden monitor`). A line is
 *
 *   VERDICT[:REASON] LATENCY_US {JSON object}\n
 *
 * so the agent can count a request without parsing its JSON (it parses
 * only what a monitor reads). REASON (a metrics label, e.g.
 * DENIED:regex_limit, DENIED:no-rule) is there when something other than
 * the rules' own verdict decided; a connection refused before any request
 * (REFUSED:per_source_limit) is a line of its own, type
 * "proxy-connection". Records are batched: a batch goes out when
 * it is full or ACCESS_LOG_DELAY_US after its first record, so the agent
 * wakes up at most ~50 times a second per worker whatever the request
 * rate (at 10,000 requests/s one wake-up per request cost the agent more
 * CPU than the proxy's own user-space work). Best effort by design: a full or absent
 * socket drops the batch, counted, and never blocks a worker. One
 * access_log per worker (no locks); nothing is allocated.
 */
#ifndef WARDEN_PROXY_ACCESS_LOG_H
#define WARDEN_PROXY_ACCESS_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "warden/http_parser.h"

enum access_verdict {
	ACCESS_FORWARDED, /* allowed and answered by the server */
	ACCESS_DENIED,	  /* 403 from the policy */
	ACCESS_ERROR,	  /* 400, 408, 502, 503, 504: answered by the proxy */
	ACCESS_AUDIT,	  /* denied by an endpoint in audit mode: forwarded anyway */
	ACCESS_VERDICT_COUNT,
};

/*
 * What decided when it was not the rules' own verdict:
 *   REGEX_LIMIT: DENIED, a regex gave up (l7_policy.c);
 *   CONNECTION_LIMIT, SOURCE_LIMIT: REFUSED at accept (--max-conns,
 *     --max-conns-per-source);
 *   NO_RULE: DENIED, no L7 rule applies to a flow the datapath redirected
 *     (nothing explains the redirect: fail closed);
 *   LIFTED: FORWARDED, a revision lifted the L7 restriction of the flow (a
 *     connection redirected before that, now allowed at L4).
 */
enum access_reason {
	ACCESS_REASON_NONE,
	ACCESS_REASON_REGEX_LIMIT,
	ACCESS_REASON_CONNECTION_LIMIT,
	ACCESS_REASON_SOURCE_LIMIT,
	ACCESS_REASON_NO_RULE,
	ACCESS_REASON_LIFTED,
	ACCESS_REASON_COUNT,
};

struct access_peer {
	uint32_t ipv4; /* network order */
	uint16_t port; /* host order */
	uint32_t identity;
	const char *labels;   /* "k8s:a=b,k8s:c=d" (borrowed from the snapshot) */
	const char *endpoint; /* "namespace/name", or NULL when not local */
};

/* Every pointer is borrowed for the duration of access_log__send. */
struct access_record {
	struct http_slice method;
	struct http_slice url; /* normalised path (and query) */
	struct http_slice host;
	int status;
	enum access_verdict verdict;
	enum access_reason reason; /* ACCESS_REASON_NONE: the rules decided */
	const char *error;	   /* why, for ACCESS_ERROR; else NULL */
	int direction;		   /* WARDEN_DIR_*, or -1 when no L7 rule applied */
	/* The allowing rule; on DENIED/AUDIT the first rule of the denying entry. */
	uint32_t rule_cookie;
	uint64_t latency_us;
	uint64_t revision;
	struct access_peer source;
	struct access_peer destination;
};

/* A connection closed at accept, before any request. */
struct access_refusal {
	enum access_reason reason;
	unsigned int limit; /* the limit it hit */
	struct access_peer source;
	struct access_peer destination;
};

struct access_log {
	int fd; /* -1: disabled */
	struct sockaddr_un addr;
	unsigned int addr_len;
	uint64_t sent;	  /* records */
	uint64_t dropped; /* records */
	char buf[16384];  /* one record being formatted */
	char batch[32768];
	size_t batch_len;
	unsigned int batch_records;
	uint64_t batch_since_us; /* CLOCK_MONOTONIC of its first record */
};

/* How long a record may wait for others before its batch is sent. */
#define ACCESS_LOG_DELAY_US 20000u

const char *access_verdict__name(enum access_verdict v);
/* "regex_limit", ... (the line prefix, a metrics label); NULL for NONE. */
const char *access_reason__name(enum access_reason r);
/* "L7 regex limit", ... (the JSON "reason"); NULL for NONE. */
const char *access_reason__text(enum access_reason r);

/* path NULL: a disabled log (send is a no-op). Returns 0 or -errno. */
int access_log__open(struct access_log *log, const char *path);
static inline bool access_log__enabled(const struct access_log *log)
{
	return log->fd >= 0;
}
/* Queue one record (the batch is flushed first if it has no room). */
void access_log__send(struct access_log *log, const struct access_record *rec);
/* Queue one refused connection (a "proxy-connection" line). */
void access_log__send_refusal(struct access_log *log, const struct access_refusal *ref);
/* Send what is queued (also when closing). */
void access_log__flush(struct access_log *log);
/*
 * At the end of a worker round: send the batch if it waited long enough.
 * Returns when to call again (us, CLOCK_MONOTONIC), 0 if nothing waits.
 */
uint64_t access_log__flush_due(struct access_log *log, uint64_t now_us);
void access_log__close(struct access_log *log);

#endif /* WARDEN_PROXY_ACCESS_LOG_H */
