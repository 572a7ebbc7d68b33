// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1 request/response sequencing for one client connection.
 *
 * An exchange: request head → verdict → (allowed, or denied in audit mode)
 * head and body forwarded, response head(s) and body forwarded; (denied)
 * 403 queued, body dropped.
 * It ends when the request body is done and the response is done; only
 * then is the next (possibly already buffered, pipelined) request parsed,
 * against the snapshot current at that moment.
 *
 * 1xx responses are forwarded as they come and the final response is
 * still awaited; the request body keeps streaming meanwhile, which is all
 * Expect: 100-continue needs. A 101 to a request that asked for an upgrade
 * turns the connection into a blind tunnel (the transport does the copy).
 *
 * Heads are parsed only once the blank line that ends them is in the
 * buffer (or the buffer holds max_head bytes): re-parsing a growing head
 * at every byte would let a slow client cost us quadratic time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_session.h"
#include "warden/log.h"

/* ---- local responses -------------------------------------------------- */

#define LOCAL_REPLY_MAX 160 /* room kept in the response channel for one */

struct local_reply {
	int status;
	const char *text;
	size_t len;
};

/* The Content-Length of each is checked against its body at init. */
static struct local_reply replies[] = {
    {403, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 15\r\n\r\nAccess denied\r\n"},
    {403, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 15\r\nConnection: close\r\n\r\nAccess denied\r\n"},
    {400, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 13\r\nConnection: close\r\n\r\nBad request\r\n"},
    {408, "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 17\r\nConnection: close\r\n\r\nRequest timeout\r\n"},
    {502, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 13\r\nConnection: close\r\n\r\nBad gateway\r\n"},
    {503, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 21\r\nConnection: close\r\n\r\nService unavailable\r\n"},
    {504, "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 17\r\nConnection: close\r\n\r\nGateway timeout\r\n"},
};

enum {
	REPLY_403,
	REPLY_403_CLOSE,
	REPLY_400,
	REPLY_408,
	REPLY_502,
	REPLY_503,
	REPLY_504
};

/* Fill the lengths; a Content-Length that does not match its body is a
 * bug that would desynchronise every client: refuse to start. */
static int replies_init(void)
{
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		const char *cl = strstr(replies[i].text, "Content-Length: ");
		const char *body = strstr(replies[i].text, "\r\n\r\n");

		replies[i].len = strlen(replies[i].text);
		if (!cl || !body || (size_t)atoi(cl + 16) != strlen(body + 4) ||
		    replies[i].len > LOCAL_REPLY_MAX)
			return -EINVAL;
	}
	return 0;
}

/* Queue a response of ours. Unanalysed upstream bytes are dropped first. */
static bool local_reply(struct session_io *io, int which)
{
	channel__truncate_pending(io->resp);
	return channel__append(io->resp, replies[which].text,
			       (uint32_t)replies[which].len);
}

/* ---- env -------------------------------------------------------------- */

int http_env__init(struct http_env *env, const struct proxy_config *config,
		   struct policy_holder *holder)
{
	int err;

	env->log.fd = -1;
	policy_view__init(&env->policy, holder);
	err = replies_init();
	if (err) {
		pr_warn("proxy: a canned response has a wrong Content-Length\n");
		return err;
	}
	memset(env->requests, 0, sizeof(env->requests));
	memset(env->limited, 0, sizeof(env->limited));
	env->config = config;
	env->limits.max_head = HTTP_MAX_HEAD;
	return access_log__open(&env->log, config->events_path);
}

uint64_t http_env__round_end(struct http_env *env, uint64_t now_us)
{
	return access_log__flush_due(&env->log, now_us);
}

void http_env__destroy(struct http_env *env)
{
	policy_view__release(&env->policy);
	access_log__close(&env->log);
}

/* ---- helpers ---------------------------------------------------------- */

/*
 * Is the blank line that ends a head in p[0..len)? *scan remembers how far
 * previous calls looked; the terminator ("\n\r\n", or "\n\n" which the
 * parser then refuses) may straddle two reads, hence the 2-byte overlap.
 */
static bool head_complete(const char *p, uint32_t len, uint32_t *scan)
{
	uint32_t i = *scan > 2 ? *scan - 2 : 0;

	while (i < len) {
		const char *lf = memchr(p + i, '\n', len - i);

		if (!lf)
			break;
		i = (uint32_t)(lf - p) + 1;
		if (i < len && p[i] == '\n')
			return true;
		if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
			return true;
	}
	*scan = len;
	return false;
}

static void framing_start(struct body_framing *b, enum http_body kind, uint64_t length)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->remaining = length;
	b->done = kind == HTTP_BODY_NONE || (kind == HTTP_BODY_LENGTH && length == 0);
}

/* How many of the len bytes belong to the body; -1 on broken chunking. */
static long framing_feed(struct body_framing *b, const char *p, uint32_t len)
{
	bool done = false;
	long n;

	switch (b->kind) {
	case HTTP_BODY_LENGTH:
		n = b->remaining < len ? (long)b->remaining : (long)len;
		b->remaining -= (uint64_t)n;
		b->done = b->remaining == 0;
		return n;
	case HTTP_BODY_CHUNKED:
		n = http_chunked__feed(&b->chunked, p, len, &done);
		if (n < 0)
			return -1;
		b->done = done;
		return n;
	case HTTP_BODY_UNTIL_CLOSE:
		return len;
	default:
		b->done = true;
		return 0;
	}
}

/* Copy at most cap bytes of src into dst; returns the length copied. */
static size_t copy_slice(char *dst, size_t cap, const struct http_slice *src)
{
	size_t n = src->len < cap ? src->len : cap;

	if (n) /* an absent header is { NULL, 0 } */
		memcpy(dst, src->ptr, n);
	return n;
}

static bool slice_is(const struct http_slice *s, const char *word)
{
	size_t n = strlen(word);

	return s->len == n && memcmp(s->ptr, word, n) == 0;
}

/* Endpoint and identity lookups of the connection's two addresses, done
 * once per snapshot: the addresses never change on a connection. */
static void resolve_peers(struct http_session *s, const struct l7_policy *p,
			  uint64_t generation)
{
	uint32_t src = s->source.sin_addr.s_addr, dst = s->destination.sin_addr.s_addr;

	if (s->peers_generation == generation)
		return;
	s->source_endpoint = l7_policy__endpoint_of(p, src);
	s->destination_endpoint = l7_policy__endpoint_of(p, dst);
	s->source_identity = l7_policy__identity_of(p, src);
	s->destination_identity = l7_policy__identity_of(p, dst);
	s->peers_generation = generation;
}

void http_env__refuse(struct http_env *env, const struct sockaddr_in *source,
		      const struct sockaddr_in *destination, enum access_reason reason,
		      unsigned int limit)
{
	struct access_refusal ref;
	const struct l7_policy *p;
	const struct l7_endpoint *src_ep, *dst_ep;
	uint32_t src_id, dst_id;
	uint64_t generation;

	env->limited[reason]++;
	if (!access_log__enabled(&env->log))
		return;
	p = policy_view__peek(&env->policy, &generation);
	src_ep = l7_policy__endpoint_of(p, source->sin_addr.s_addr);
	dst_ep = l7_policy__endpoint_of(p, destination->sin_addr.s_addr);
	src_id = l7_policy__identity_of(p, source->sin_addr.s_addr);
	dst_id = l7_policy__identity_of(p, destination->sin_addr.s_addr);
	ref = (struct access_refusal){
	    .reason = reason,
	    .limit = limit,
	    .source =
		{
		    .ipv4 = source->sin_addr.s_addr,
		    .port = ntohs(source->sin_port),
		    .identity = src_id,
		    .labels = l7_policy__identity_labels(p, src_id),
		    .endpoint = src_ep ? src_ep->name : NULL,
		},
	    .destination =
		{
		    .ipv4 = destination->sin_addr.s_addr,
		    .port = ntohs(destination->sin_port),
		    .identity = dst_id,
		    .labels = l7_policy__identity_labels(p, dst_id),
		    .endpoint = dst_ep ? dst_ep->name : NULL,
		},
	};
	access_log__send_refusal(&env->log, &ref);
}

static void log_request(struct http_session *s, struct http_env *env)
{
	const struct l7_policy *p = s->snapshot;
	uint64_t generation = s->snapshot_generation;
	struct access_record rec;

	if (s->logged)
		return;
	s->logged = true;
	env->requests[s->verdict]++;
	env->limited[s->reason]++;
	if (!access_log__enabled(&env->log))
		return;
	if (!p)
		p = policy_view__peek(&env->policy, &generation);
	resolve_peers(s, p, generation);
	rec = (struct access_record){
	    .method = {s->method, s->method_len},
	    .url = {s->url, s->url_len},
	    .host = {s->host, s->host_len},
	    .status = s->status,
	    .verdict = s->verdict,
	    .reason = s->reason,
	    .error = s->error,
	    .direction = s->direction,
	    .rule_cookie = s->rule_cookie,
	    .latency_us = s->latency_us,
	    .revision = l7_policy__revision(p),
	    .source =
		{
		    .ipv4 = s->source.sin_addr.s_addr,
		    .port = ntohs(s->source.sin_port),
		    .identity = s->source_identity,
		    .labels = l7_policy__identity_labels(p, s->source_identity),
		    .endpoint = s->source_endpoint ? s->source_endpoint->name : NULL,
		},
	    .destination =
		{
		    .ipv4 = s->destination.sin_addr.s_addr,
		    .port = ntohs(s->destination.sin_port),
		    .identity = s->destination_identity,
		    .labels = l7_policy__identity_labels(p, s->destination_identity),
		    .endpoint =
			s->destination_endpoint ? s->destination_endpoint->name : NULL,
		},
	};
	access_log__send(&env->log, &rec);
}

static void request_reset(struct http_session *s)
{
	s->in_request = s->denied = s->awaiting_response = false;
	s->response_head_done = s->response_done = s->logged = false;
	s->is_head = s->is_connect = s->upgrade = false;
	s->keep_alive = true;
	s->request_scan = s->response_scan = 0;
	s->request_start = 0;
	s->status = 0;
	s->verdict = ACCESS_FORWARDED;
	s->reason = ACCESS_REASON_NONE;
	s->error = NULL;
	s->direction = -1;
	s->rule_cookie = 0;
	s->latency_us = 0;
	s->method_len = 0;
	s->url_len = s->host_len = 0;
}

/* End the connection with one of our error responses. */
static unsigned int fail(struct http_session *s, struct http_env *env,
			 struct session_io *io, int which, const char *why)
{
	unsigned int act = SESSION_CLOSE | SESSION_CLOSE_UPSTREAM;

	if (!local_reply(io, which))
		act = SESSION_ABORT; /* the client is not reading: no room to say why */
	s->status = replies[which].status;
	s->verdict = ACCESS_ERROR;
	s->error = why;
	if (s->request_start && !s->latency_us)
		s->latency_us = io->now - s->request_start;
	/* A head-timeout on a connection that never sent a byte is not a
	 * request: count and log only what was one. */
	if (s->request_start)
		log_request(s, env);
	s->phase = SESSION_CLOSED;
	io->upstream_eof = io->upstream_failed = io->upstream_connected = false;
	return act;
}

static unsigned int close_upstream_events(struct session_io *io)
{
	io->upstream_eof = io->upstream_failed = io->upstream_connected = false;
	return SESSION_CLOSE_UPSTREAM;
}

/*
 * No response is expected: whatever the server sends is a protocol
 * violation (drop it and the connection), and its close is just the end
 * of a keep-alive connection.
 */
static unsigned int idle_upstream(struct session_io *io)
{
	if (channel__pending(io->resp)) {
		channel__truncate_pending(io->resp);
		return close_upstream_events(io);
	}
	if (io->upstream_eof || io->upstream_failed)
		return close_upstream_events(io);
	return 0;
}

/* ---- the verdict ------------------------------------------------------ */

static bool upgrade_is_websocket(const struct http_request *req)
{
	const struct http_header *h =
	    http_headers__find(req->headers, req->header_count, "Upgrade");

	return h && h->value.len == 9 && !strncasecmp(h->value.ptr, "websocket", 9);
}

/*
 * The L7 verdict (l7_policy__decide): egress rules of the source endpoint
 * and ingress rules of the destination endpoint both apply when they
 * exist; an enforced deny from either wins; a deny from an endpoint in
 * audit mode is forwarded and logged as AUDIT. Then the protocol's own
 * refusal, which audit mode does not lift.
 */
static void judge(struct http_session *s, struct http_env *env,
		  const struct http_request *req, long path_len)
{
	struct l7_decision decision;
	struct l7_request lr = {
	    .method = req->method,
	    .path = {env->path, (size_t)path_len},
	    .host = req->host,
	    .headers = req->headers,
	    .header_count = req->header_count,
	};
	struct l7_flow flow;

	s->snapshot = policy_view__get(&env->policy, &s->snapshot_generation);
	resolve_peers(s, s->snapshot, s->snapshot_generation);
	flow = (struct l7_flow){
	    .source = s->source_endpoint,
	    .destination = s->destination_endpoint,
	    .source_identity = s->source_identity,
	    .destination_identity = s->destination_identity,
	    .port = ntohs(s->destination.sin_port),
	};
	l7_policy__decide(s->snapshot, &flow, &lr, &decision);
	s->direction = decision.direction;
	s->rule_cookie = decision.rule_cookie;
	switch (decision.verdict) {
	case L7_DENY:
		s->verdict = ACCESS_DENIED;
		break;
	case L7_AUDIT:
		s->verdict = ACCESS_AUDIT;
		break;
	case L7_NO_RULE:
		/*
		 * The datapath sent this flow here, but no rule of the
		 * snapshot applies to it (a snapshot behind the datapath, a
		 * bug): refuse it rather than pass it unfiltered.
		 */
		s->verdict = ACCESS_DENIED;
		s->reason = ACCESS_REASON_NO_RULE;
		break;
	case L7_LIFTED:
		s->reason = ACCESS_REASON_LIFTED;
		break;
	default:
		break;
	}
	/* A regex gave up: the deny (or the audited one) is the limit's. */
	if (decision.limit_hit)
		s->reason = ACCESS_REASON_REGEX_LIMIT;
	/*
	 * After a 101 the proxy only tunnels bytes. WebSocket keeps one
	 * exchange on the connection, but an upgrade to another protocol
	 * (h2c: HTTP/2 over the same connection) would carry later requests
	 * past the rules, so only WebSocket may upgrade — in audit mode too:
	 * audit lifts policy decisions, not this.
	 */
	if (s->verdict != ACCESS_DENIED && req->upgrade && !upgrade_is_websocket(req)) {
		s->verdict = ACCESS_DENIED;
		s->reason = ACCESS_REASON_NONE;
		s->rule_cookie = 0;
	}
}

/* ---- request head ----------------------------------------------------- */

static void remember_request(struct http_session *s, const struct http_env *env,
			     const struct http_request *req, long path_len)
{
	struct http_slice url = {env->path, (size_t)path_len};

	s->method_len = (uint8_t)copy_slice(s->method, sizeof(s->method), &req->method);
	s->url_len = (uint16_t)copy_slice(s->url, sizeof(s->url), &url);
	s->host_len = (uint16_t)copy_slice(s->host, sizeof(s->host), &req->host);
	s->is_head = slice_is(&req->method, "HEAD");
	s->is_connect = slice_is(&req->method, "CONNECT");
	s->upgrade = req->upgrade;
	s->keep_alive = req->keep_alive;
	s->in_request = true;
}

/* Returns true when the phase changed (the caller steps again). */
static bool step_head(struct http_session *s, struct http_env *env, struct session_io *io,
		      unsigned int *act)
{
	struct http_request *req = &env->request;
	uint32_t pending;
	enum http_error err = HTTP_ERR_NONE;
	bool must_close;
	long path_len;
	int n;

	*act |= idle_upstream(io);
	pending = channel__pending(io->req);
	if (!pending) {
		if (io->client_eof || s->draining) {
			s->phase = SESSION_CLOSED;
			*act |= SESSION_CLOSE;
			return true;
		}
		return false;
	}
	if (s->idle) {
		/* The first byte of a next request: the header timeout starts. */
		s->idle = false;
		s->wait_since = io->now;
	}
	if (!s->request_start)
		s->request_start = io->now;
	/* Our answer must fit behind what the client still has to read. */
	if (channel__free_space(io->resp) < LOCAL_REPLY_MAX)
		return false;
	if (!head_complete(channel__pending_ptr(io->req), pending, &s->request_scan)) {
		if (io->client_eof) {
			/* Closed in the middle of a head: nobody to answer. */
			s->phase = SESSION_CLOSED;
			*act |= SESSION_ABORT;
			return true;
		}
		if (pending < env->limits.max_head)
			return false;
	}
	n = http_request__parse(channel__pending_ptr(io->req), pending, &env->limits, req,
				&err);
	if (n == HTTP_PARSE_INCOMPLETE && pending < env->limits.max_head &&
	    !io->client_eof)
		return false;
	if (n < 0) {
		*act |= fail(s, env, io, REPLY_400,
			     n == HTTP_PARSE_ERROR ? http_error__name(err)
						   : "head too large");
		return true;
	}
	path_len =
	    http_target__normalise(req->target, env->path, sizeof(env->path), NULL);
	if (path_len < 0) {
		s->method_len =
		    (uint8_t)copy_slice(s->method, sizeof(s->method), &req->method);
		*act |= fail(s, env, io, REPLY_400, "bad target");
		return true;
	}
	remember_request(s, env, req, path_len);
	framing_start(&s->request_body, req->body, req->content_length);
	judge(s, env, req, path_len);
	s->phase = SESSION_EXCHANGE;

	if (s->verdict != ACCESS_DENIED) {
		channel__approve(io->req, (uint32_t)n);
		framing_start(&s->response_body, HTTP_BODY_NONE, 0);
		s->awaiting_response = true;
		*act |= SESSION_OPEN_UPSTREAM;
		return true;
	}

	/*
	 * Denied. Skipping the body keeps the connection usable — unless we
	 * cannot know whether a body will come (Expect: 100-continue: the
	 * client may wait for a 100 that never comes, or send anyway), or
	 * the client wants the connection closed, or it speaks HTTP/1.0 (an
	 * HTTP/1.1 response without "Connection: close" is ambiguous to it).
	 */
	must_close = !req->keep_alive || req->minor_version == 0 || s->draining ||
		     (req->expect_continue && !s->request_body.done);
	channel__discard(io->req, (uint32_t)n);
	s->denied = true;
	s->status = 403;
	s->latency_us = io->now - s->request_start;
	if (!local_reply(io, must_close ? REPLY_403_CLOSE : REPLY_403)) {
		*act |= SESSION_ABORT; /* cannot happen: room was checked above */
		s->phase = SESSION_CLOSED;
		return true;
	}
	s->response_done = true;
	log_request(s, env);
	if (must_close) {
		l7_policy__put(s->snapshot);
		s->snapshot = NULL;
		s->in_request = false;
		s->phase = SESSION_CLOSED;
		*act |= SESSION_CLOSE | SESSION_CLOSE_UPSTREAM;
	}
	return true;
}

/* ---- response --------------------------------------------------------- */

/* The server went away (or never came) before its response head. */
static unsigned int upstream_lost(struct http_session *s, struct http_env *env,
				  struct session_io *io)
{
	if (io->upstream_failed && !io->upstream_connected)
		return fail(s, env, io, REPLY_503, "upstream connect failed");
	return fail(s, env, io, REPLY_502, "upstream closed before the response");
}

static unsigned int abort_exchange(struct http_session *s, struct http_env *env,
				   const char *why)
{
	if (!s->error)
		s->error = why;
	if (!s->status)
		s->verdict = ACCESS_ERROR;
	log_request(s, env);
	s->phase = SESSION_CLOSED;
	return SESSION_ABORT;
}

static unsigned int start_tunnel(struct http_session *s, struct http_env *env)
{
	s->response_done = true;
	log_request(s, env);
	/* A tunnel may last hours: it must not keep an old snapshot alive. */
	l7_policy__put(s->snapshot);
	s->snapshot = NULL;
	s->in_request = false;
	s->phase = SESSION_TUNNEL_PHASE;
	return SESSION_TUNNEL;
}

static unsigned int step_response(struct http_session *s, struct http_env *env,
				  struct session_io *io)
{
	struct http_response *resp = &env->response;
	struct http_slice method = {s->method, s->method_len};
	enum http_error err = HTTP_ERR_NONE;
	uint32_t pending;
	long n;

	while (!s->response_head_done) {
		bool complete;

		pending = channel__pending(io->resp);
		complete = head_complete(channel__pending_ptr(io->resp), pending,
					 &s->response_scan);
		if (!complete && pending < env->limits.max_head) {
			if (io->upstream_eof || io->upstream_failed)
				return upstream_lost(s, env, io);
			return 0;
		}
		n = http_response__parse(channel__pending_ptr(io->resp), pending,
					 &env->limits, method, resp, &err);
		if (n == HTTP_PARSE_INCOMPLETE && pending < env->limits.max_head) {
			if (io->upstream_eof || io->upstream_failed)
				return upstream_lost(s, env, io);
			return 0;
		}
		if (n < 0)
			return fail(s, env, io, REPLY_502,
				    n == HTTP_PARSE_ERROR ? http_error__name(err)
							  : "response head too large");
		if (resp->status == 101) {
			if (!s->upgrade)
				return fail(s, env, io, REPLY_502,
					    "101 without an upgrade request");
			channel__approve(io->resp, (uint32_t)n);
			s->status = 101;
			s->latency_us = io->now - s->request_start;
			return start_tunnel(s, env);
		}
		channel__approve(io->resp, (uint32_t)n);
		if (resp->status < 200) {
			/* 100 Continue, 103 Early Hints: the final one is to come. */
			s->response_scan = 0;
			continue;
		}
		s->status = resp->status;
		s->latency_us = io->now - s->request_start;
		s->response_head_done = true;
		if (s->is_connect && resp->status / 100 == 2)
			return start_tunnel(s, env);
		framing_start(&s->response_body, resp->body, resp->content_length);
		if (!resp->keep_alive || !s->keep_alive ||
		    resp->body == HTTP_BODY_UNTIL_CLOSE)
			s->close_after = true;
	}

	pending = channel__pending(io->resp);
	if (!s->response_body.done && pending) {
		n = framing_feed(&s->response_body, channel__pending_ptr(io->resp),
				 pending);
		if (n < 0)
			return abort_exchange(s, env, "bad chunked response body");
		channel__approve(io->resp, (uint32_t)n);
	}
	if (s->response_body.kind == HTTP_BODY_UNTIL_CLOSE && io->upstream_eof)
		s->response_body.done = true;
	if (!s->response_body.done && (io->upstream_eof || io->upstream_failed))
		return abort_exchange(s, env, "upstream closed in the response body");
	if (s->response_body.done) {
		s->response_done = true;
		log_request(s, env);
	}
	return 0;
}

/* ---- exchange --------------------------------------------------------- */

static unsigned int end_exchange(struct http_session *s, struct session_io *io)
{
	unsigned int act = 0;

	l7_policy__put(s->snapshot);
	s->snapshot = NULL;
	if (s->close_after || s->draining) {
		s->phase = SESSION_CLOSED;
		return SESSION_CLOSE | SESSION_CLOSE_UPSTREAM;
	}
	request_reset(s);
	s->phase = SESSION_HEAD;
	s->wait_since = io->now;
	/* Bytes already here are a pipelined request: its header timeout
	 * runs from now; otherwise the keep-alive idle timeout does. */
	s->idle = channel__pending(io->req) == 0;
	return act;
}

static bool step_exchange(struct http_session *s, struct http_env *env,
			  struct session_io *io, unsigned int *act)
{
	uint32_t pending;

	if (!s->request_body.done) {
		pending = channel__pending(io->req);
		if (pending) {
			long n = framing_feed(&s->request_body,
					      channel__pending_ptr(io->req), pending);

			if (n < 0) {
				/* Framing the server might read differently: stop. */
				if (s->denied || s->response_head_done) {
					*act |= abort_exchange(
					    s, env, "bad chunked request body");
				} else {
					*act |= fail(s, env, io, REPLY_400,
						     "bad chunked request body");
				}
				return true;
			}
			if (s->denied)
				channel__discard(io->req, (uint32_t)n);
			else
				channel__approve(io->req, (uint32_t)n);
		}
		if (!s->request_body.done && io->client_eof) {
			if (s->denied) {
				/* The 403 is queued: let the client have it. */
				s->phase = SESSION_CLOSED;
				*act |= SESSION_CLOSE | SESSION_CLOSE_UPSTREAM;
			} else {
				*act |= abort_exchange(
				    s, env, "client closed in the request body");
			}
			return true;
		}
	}

	if (s->awaiting_response && !s->response_done) {
		*act |= step_response(s, env, io);
		if (s->phase != SESSION_EXCHANGE)
			return true;
	} else {
		*act |= idle_upstream(io);
	}

	if (!s->response_done)
		return false;
	if (!s->request_body.done) {
		if (s->denied)
			return false; /* still dropping the body */
		/* The server answered before the body ended (an error, or a
		 * final status instead of 100 Continue): what it will make of
		 * the rest is unknown, so this connection ends here. */
		s->close_after = true;
	}
	*act |= end_exchange(s, io);
	return true;
}

/* ---- API -------------------------------------------------------------- */

void http_session__init(struct http_session *s, const struct sockaddr_in *source,
			const struct sockaddr_in *destination, uint64_t now)
{
	memset(s, 0, sizeof(*s));
	request_reset(s);
	s->phase = SESSION_HEAD;
	s->wait_since = now; /* header timeout from the accept */
	s->source = *source;
	s->destination = *destination;
}

unsigned int http_session__step(struct http_session *s, struct http_env *env,
				struct session_io *io)
{
	unsigned int act = 0;
	bool again = true;

	while (again && !(act & SESSION_ABORT)) {
		switch (s->phase) {
		case SESSION_HEAD:
			again = step_head(s, env, io, &act);
			break;
		case SESSION_EXCHANGE:
			again = step_exchange(s, env, io, &act);
			break;
		default:
			again = false;
			break;
		}
	}
	return act;
}

uint64_t http_session__deadline(const struct http_session *s,
				const struct proxy_timeouts *timeouts, uint64_t last_io)
{
	switch (s->phase) {
	case SESSION_HEAD:
		return s->wait_since + (s->idle ? timeouts->idle : timeouts->header);
	case SESSION_EXCHANGE:
		return last_io + timeouts->data;
	default:
		return UINT64_MAX;
	}
}

unsigned int http_session__expire(struct http_session *s, struct http_env *env,
				  struct session_io *io)
{
	switch (s->phase) {
	case SESSION_HEAD:
		if (s->idle) {
			s->phase = SESSION_CLOSED;
			return SESSION_CLOSE | SESSION_CLOSE_UPSTREAM;
		}
		return fail(s, env, io, REPLY_408, "request header timeout");
	case SESSION_EXCHANGE:
		if (s->denied)
			return abort_exchange(s, env, "request body timeout");
		if (!s->response_head_done) {
			if (!s->request_body.done)
				return fail(s, env, io, REPLY_408,
					    "request body timeout");
			return fail(s, env, io, REPLY_504, "upstream response timeout");
		}
		return abort_exchange(s, env, "response body timeout");
	default:
		return SESSION_ABORT;
	}
}

unsigned int http_session__drain(struct http_session *s, struct session_io *io)
{
	s->draining = true;
	if (s->phase == SESSION_HEAD && !channel__pending(io->req)) {
		s->phase = SESSION_CLOSED;
		return SESSION_CLOSE | SESSION_CLOSE_UPSTREAM;
	}
	return 0;
}

void http_session__finish(struct http_session *s, struct http_env *env)
{
	if (s->in_request && !s->logged)
		abort_exchange(s, env, "connection closed before the response ended");
	l7_policy__put(s->snapshot);
	s->snapshot = NULL;
	s->in_request = false;
}
