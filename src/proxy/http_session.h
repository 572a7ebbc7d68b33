/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1 sequencing of one client connection, on top of the parser:
 * which bytes of the request channel are a head, a body to forward, a body
 * to drop; when a response head, 1xx, body or end arrives; what to answer
 * locally (403, 400, 408, 502, 503, 504); which request is judged against
 * which snapshot; when the exchange ends and the next one may start.
 *
 * It does no I/O. The transport (conn.c) fills the channels, reports
 * events in struct session_io, calls http_session__step and carries out
 * the actions it returns (SESSION_*). One exchange at a time: a pipelined
 * request is parsed only when the previous response is complete, so
 * responses keep the order of requests without any queue.
 */
#ifndef WARDEN_PROXY_HTTP_SESSION_H
#define WARDEN_PROXY_HTTP_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "access_log.h"
#include "channel.h"
#include "policy_holder.h"
#include "proxy.h"
#include "warden/http_parser.h"

#define HTTP_MAX_HEAD (16 * 1024)
#define SESSION_URL_MAX 1024 /* kept for the access log (longer: truncated) */
#define SESSION_HOST_MAX 256
#define SESSION_METHOD_MAX 24

/* Per worker: the policy view, the access log, counters and the scratch
 * space for the one head being parsed (heads are parsed synchronously). */
struct http_env {
	const struct proxy_config *config;
	struct policy_view policy;
	struct access_log log;
	struct http_limits limits;
	uint64_t requests[ACCESS_VERDICT_COUNT];
	struct http_request request;
	struct http_response response;
	char path[HTTP_MAX_HEAD + 1];
};

int http_env__init(struct http_env *env, const struct proxy_config *config,
		   struct policy_holder *holder);
void http_env__destroy(struct http_env *env);
/* The end of a worker round: the access log's batch goes out if due.
 * Returns when to be called again (us), 0 if nothing waits. */
uint64_t http_env__round_end(struct http_env *env, uint64_t now_us);

/* What the transport knows and the session needs. */
struct session_io {
	struct channel *req;  /* client → upstream */
	struct channel *resp; /* upstream → client */
	uint64_t now;
	bool client_eof;	 /* the client will send nothing more */
	bool upstream_eof;	 /* the server will send nothing more */
	bool upstream_failed;	 /* connect failed, timed out, or the connection broke */
	bool upstream_connected; /* the current upstream completed its handshake */
};

/* Actions returned to the transport, in the order it applies them. */
#define SESSION_CLOSE_UPSTREAM (1u << 0) /* not reusable: close it (events consumed) */
#define SESSION_ABORT (1u << 1)		 /* close everything now */
#define SESSION_OPEN_UPSTREAM (1u << 2)	 /* an allowed request needs the server */
#define SESSION_TUNNEL (1u << 3)	 /* 101: copy bytes blindly from now on */
#define SESSION_CLOSE (1u << 4)		 /* send what the client has, then close */

struct body_framing {
	enum http_body kind;
	uint64_t remaining; /* HTTP_BODY_LENGTH */
	struct http_chunked chunked;
	bool done;
};

enum session_phase {
	SESSION_HEAD,	  /* waiting for (the rest of) a request head */
	SESSION_EXCHANGE, /* a request body and/or its response in progress */
	SESSION_TUNNEL_PHASE,
	SESSION_CLOSED,
};

struct http_session {
	enum session_phase phase;
	bool idle;     /* HEAD, keep-alive: no byte of the next request yet */
	bool draining; /* SIGTERM: close at the next request boundary */
	bool close_after;
	bool in_request; /* a head was parsed and the exchange has not ended */
	bool denied;	 /* the body is dropped, not forwarded */
	bool awaiting_response;
	bool response_head_done;
	bool response_done;
	bool logged;
	bool is_head, is_connect, upgrade, keep_alive;
	uint32_t request_scan;	/* pending request bytes searched for the blank line */
	uint32_t response_scan; /* same for the response head */
	struct body_framing request_body;
	struct body_framing response_body;
	uint64_t wait_since;	/* HEAD: start of the header or idle timeout */
	uint64_t request_start; /* first byte of the request (or its turn) */

	/* The request in flight, for the access log. */
	struct l7_policy *snapshot; /* reference held until the exchange ends */
	uint64_t snapshot_generation;
	int status;
	enum access_verdict verdict;
	const char *error;
	const char *reason; /* ACCESS_REASON_*, or NULL */
	int direction;
	uint32_t rule_cookie;
	uint64_t latency_us;
	uint8_t method_len;
	uint16_t url_len;
	uint16_t host_len;
	char method[SESSION_METHOD_MAX];
	char url[SESSION_URL_MAX];
	char host[SESSION_HOST_MAX];

	/* The connection's addresses (the destination is the original one). */
	struct sockaddr_in source;
	struct sockaddr_in destination;
	/* Lookups of those addresses, valid for one snapshot generation. */
	uint64_t peers_generation;
	const struct l7_endpoint *source_endpoint;
	const struct l7_endpoint *destination_endpoint;
	uint32_t source_identity;
	uint32_t destination_identity;
};

void http_session__init(struct http_session *s, const struct sockaddr_in *source,
			const struct sockaddr_in *destination, uint64_t now);
/*
 * Advance as far as the bytes in the channels allow: parse, judge,
 * approve or drop bytes, queue local responses. Returns SESSION_* actions
 * (0: nothing for the transport to do besides moving approved bytes).
 */
unsigned int http_session__step(struct http_session *s, struct http_env *env,
				struct session_io *io);
/* When the session's deadline passes (deadline from http_session__deadline). */
unsigned int http_session__expire(struct http_session *s, struct http_env *env,
				  struct session_io *io);
/* The session's deadline in the HEAD and EXCHANGE phases (UINT64_MAX in the
 * others). last_io: the last time a byte moved on the connection. */
uint64_t http_session__deadline(const struct http_session *s,
				const struct proxy_timeouts *timeouts, uint64_t last_io);
/* SIGTERM: finish the exchange in progress, then close. */
unsigned int http_session__drain(struct http_session *s, struct session_io *io);
/* The connection is going away: log a request cut short, drop references. */
void http_session__finish(struct http_session *s, struct http_env *env);

#endif /* WARDEN_PROXY_HTTP_SESSION_H */
