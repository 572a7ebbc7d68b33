// SPDX-License-Identifier: Apache-2.0
/*
 * src/proxy/http_session.c: the HTTP/1 sequencing of one client connection,
 * driven without sockets. A small transport in this file plays conn.c: it
 * puts bytes into the two channels, carries out the actions the session
 * returns (open or close the upstream, tunnel, close, abort) and moves the
 * approved bytes to "the server" and "the client". Each test then checks
 * what the server received and what the client received, byte for byte,
 * and the access-log records the session sent (a real Unix datagram socket,
 * the format of access_log.h).
 *
 * Covered: pipelining (two and three requests in one read, one denied),
 * Expect: 100-continue (allowed and denied), Upgrade (WebSocket allowed,
 * h2c and a denied path refused, the tunnel afterwards, a 101 nobody asked
 * for), errors in the middle of a body (cut short, bad chunk size, the
 * client or the server closing), smuggling shapes (CL + TE, two
 * Content-Lengths), response framing (chunked, HEAD, until close, 1xx,
 * malformed, unsolicited bytes), upstream failures, the timeouts and audit
 * mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_session.h"

/* ---- the policy ---------------------------------------------------------- */

/*
 * The server 10.0.0.2 (endpoint default/server) has ingress L7 rules on
 * port 80: GET|HEAD /public.*, POST|PUT /upload.*, GET /ws. The client 10.0.0.1
 * is not an endpoint. %s: the server's audit flag.
 */
static const char policy_format[] =
    "{\"revision\": 7,"
    " \"ipcache\": [{\"prefix\": \"10.0.0.2/32\", \"identity\": 256}],"
    " \"identities\": [{\"id\": 256, \"labels\": [\"k8s:app=server\"]}],"
    " \"endpoints\": [{\"id\": 1, \"name\": \"default/server\", \"ipv4\": \"10.0.0.2\","
    "                  \"identity\": 256, \"audit\": %s}],"
    " \"l7\": [{\"endpoint\": 1, \"direction\": \"ingress\", \"port\": 80, \"identity\": "
    "0,"
    "          \"exempt\": [], \"rules\": ["
    "   {\"method\": \"GET|HEAD\", \"path\": \"/public.*\", \"host\": null, \"headers\": "
    "[],"
    "    \"cookie\": 65537},"
    "   {\"method\": \"POST|PUT\", \"path\": \"/upload.*\", \"host\": null, \"headers\": "
    "[],"
    "    \"cookie\": 65538},"
    "   {\"method\": \"GET\", \"path\": \"/ws\", \"host\": null, \"headers\": [],"
    "    \"cookie\": 65539}]}]}";

/* ---- the transport: conn.c without sockets -------------------------------- */

#define CHANNEL_SIZE 65536
#define SEEN_MAX (4 * CHANNEL_SIZE)

struct harness {
	struct policy_holder holder;
	struct proxy_config config;
	struct http_env env;
	struct http_session session;
	struct channel req, resp;
	struct session_io io;
	char req_buf[CHANNEL_SIZE];
	char resp_buf[CHANNEL_SIZE];
	bool refuse_connect; /* the next upstream connect fails */
	bool upstream_open;
	int upstream_opens; /* how many times the session asked for one */
	bool tunnel, closing, aborted;
	/* What each peer received, in order. */
	char server_seen[SEEN_MAX];
	size_t server_len;
	char client_seen[SEEN_MAX];
	size_t client_len;
	/* The access log's receiving end. */
	int log_fd;
	char log_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	json_t *records; /* array of {verdict, json} */
	size_t records_read;
};

static struct harness *harness_new(bool audit)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct sockaddr_in source = {.sin_family = AF_INET, .sin_port = htons(40000)};
	struct sockaddr_in destination = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct l7_policy *policy = NULL;
	char doc_text[sizeof(policy_format) + 8], err[256];
	json_error_t jerr;
	json_t *doc;

	assert_non_null(h);
	snprintf(doc_text, sizeof(doc_text), policy_format, audit ? "true" : "false");
	doc = json_loads(doc_text, 0, &jerr);
	if (!doc)
		fail_msg("policy JSON: %s", jerr.text);
	if (l7_policy__load(doc, &policy, err, sizeof(err)))
		fail_msg("policy load: %s", err);
	json_decref(doc);
	policy_holder__init(&h->holder, policy);

	snprintf(h->log_path, sizeof(h->log_path), "/tmp/warden-test-session-%d.sock",
		 (int)getpid());
	unlink(h->log_path);
	h->log_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(h->log_fd >= 0);
	strcpy(addr.sun_path, h->log_path);
	assert_int_equal(bind(h->log_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	h->records = json_array();

	h->config.events_path = h->log_path;
	h->config.timeouts = (struct proxy_timeouts){
	    .header = 10000000, .idle = 60000000, .data = 30000000};
	assert_int_equal(http_env__init(&h->env, &h->config, &h->holder), 0);

	channel__init(&h->req, h->req_buf, CHANNEL_SIZE);
	channel__init(&h->resp, h->resp_buf, CHANNEL_SIZE);
	h->io.req = &h->req;
	h->io.resp = &h->resp;
	h->io.now = 1000000;
	inet_pton(AF_INET, "10.0.0.1", &source.sin_addr);
	inet_pton(AF_INET, "10.0.0.2", &destination.sin_addr);
	http_session__init(&h->session, &source, &destination, h->io.now);
	return h;
}

static void harness_free(struct harness *h)
{
	http_session__finish(&h->session, &h->env);
	http_env__destroy(&h->env);
	policy_holder__destroy(&h->holder);
	close(h->log_fd);
	unlink(h->log_path);
	json_decref(h->records);
	free(h);
}

static int setup(void **state)
{
	*state = harness_new(false);
	return 0;
}

static int setup_audit(void **state)
{
	*state = harness_new(true);
	return 0;
}

static int teardown(void **state)
{
	harness_free(*state);
	return 0;
}

/* Bytes arrive from a peer into the channel it fills. */
static void arrive(struct channel *ch, const char *bytes, size_t len)
{
	channel__make_room(ch);
	assert_true(len <= channel__room(ch));
	memcpy(ch->data + ch->tail, bytes, len);
	ch->tail += (uint32_t)len;
}

static void from_client(struct harness *h, const char *text)
{
	arrive(&h->req, text, strlen(text));
}

static void from_server(struct harness *h, const char *text)
{
	assert_true(h->upstream_open);
	arrive(&h->resp, text, strlen(text));
}

/* conn.c's close_upstream: approved bytes the old server never got are
 * not for a new one. */
static void close_upstream(struct harness *h)
{
	h->upstream_open = false;
	h->io.upstream_eof = h->io.upstream_failed = h->io.upstream_connected = false;
	if (h->req.fwd) {
		h->req.head += h->req.fwd;
		h->req.fwd = 0;
		if (h->req.head == h->req.tail)
			h->req.head = h->req.tail = 0;
	}
}

/* Send the approved bytes of ch to a peer's record. */
static void deliver(struct channel *ch, char *seen, size_t *seen_len)
{
	uint32_t n = ch->fwd;

	assert_true(*seen_len + n <= SEEN_MAX);
	memcpy(seen + *seen_len, ch->data + ch->head, n);
	*seen_len += n;
	channel__sent(ch, n);
}

/*
 * One round of the transport: step the session, apply its actions as
 * conn.c does, then move approved bytes. Returns the actions.
 */
static unsigned int step(struct harness *h)
{
	unsigned int act;

	assert_false(h->aborted);
	act = http_session__step(&h->session, &h->env, &h->io);
	if (act & SESSION_CLOSE_UPSTREAM)
		close_upstream(h);
	if (act & SESSION_ABORT) {
		h->aborted = true;
		return act;
	}
	if ((act & SESSION_OPEN_UPSTREAM) && !h->upstream_open) {
		h->upstream_opens++;
		if (h->refuse_connect) {
			h->io.upstream_failed = true;
		} else {
			h->upstream_open = true;
			h->io.upstream_connected = true;
		}
	}
	if (act & SESSION_TUNNEL)
		h->tunnel = true;
	if (act & SESSION_CLOSE) {
		/* FLUSH: the client gets what is approved, nothing more is read. */
		h->closing = true;
		close_upstream(h);
		h->req.head = h->req.tail = h->req.fwd = 0;
	}
	if (h->upstream_open)
		deliver(&h->req, h->server_seen, &h->server_len);
	deliver(&h->resp, h->client_seen, &h->client_len);
	return act;
}

/* Exactly these bytes reached the peer so far. */
#define assert_seen(seen, len, want)                                                     \
	do {                                                                             \
		const char *w_ = (want);                                                 \
		if ((len) != strlen(w_) || memcmp((seen), w_, (len)))                    \
			fail_msg("%s was\n---\n%.*s\n---\nexpected\n---\n%s\n---",       \
				 #seen, (int)(len), (seen), w_);                         \
	} while (0)
#define assert_server_saw(h, want) assert_seen((h)->server_seen, (h)->server_len, want)
#define assert_client_saw(h, want) assert_seen((h)->client_seen, (h)->client_len, want)

/* The access-log records sent since the previous call, read from the socket. */
static void read_records(struct harness *h)
{
	char buf[65536];
	ssize_t n;

	access_log__flush(&h->env.log);
	while ((n = recv(h->log_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		char *line = buf, *end;

		buf[n] = '\0';
		while ((end = strchr(line, '\n'))) {
			char verdict[16];
			char *json_start = strchr(line, '{');
			json_error_t jerr;
			json_t *rec;

			*end = '\0';
			assert_non_null(json_start);
			assert_int_equal(sscanf(line, "%15s", verdict), 1);
			rec = json_loads(json_start, 0, &jerr);
			if (!rec)
				fail_msg("access log line is not JSON: %s: %s", jerr.text,
					 line);
			if (strcmp(verdict,
				   json_string_value(json_object_get(rec, "verdict"))))
				fail_msg("line prefix %s disagrees with %s", verdict,
					 line);
			json_array_append_new(h->records, rec);
			line = end + 1;
		}
	}
}

/*
 * The next access-log record is (verdict, method, url, status) and, for
 * errors, names why (a substring of "error").
 */
static void assert_record(struct harness *h, const char *verdict, const char *method,
			  const char *url, int status, const char *error)
{
	json_t *rec;
	const char *got_error;

	read_records(h);
	if (h->records_read >= json_array_size(h->records))
		fail_msg("no access-log record for %s %s %s", verdict, method, url);
	rec = json_array_get(h->records, h->records_read++);
	assert_string_equal(json_string_value(json_object_get(rec, "verdict")), verdict);
	assert_string_equal(json_string_value(json_object_get(rec, "method")), method);
	assert_string_equal(json_string_value(json_object_get(rec, "url")), url);
	assert_int_equal(json_integer_value(json_object_get(rec, "status")), status);
	assert_int_equal(json_integer_value(json_object_get(rec, "revision")), 7);
	got_error = json_string_value(json_object_get(rec, "error"));
	if (error) {
		if (!got_error || !strstr(got_error, error))
			fail_msg("error was \"%s\", expected it to name \"%s\"",
				 got_error ? got_error : "(none)", error);
	} else {
		assert_null(got_error);
	}
}

static void assert_no_more_records(struct harness *h)
{
	read_records(h);
	if (h->records_read != json_array_size(h->records))
		fail_msg("unexpected access-log record: %s",
			 json_dumps(json_array_get(h->records, h->records_read), 0));
}

/* ---- messages ------------------------------------------------------------ */

/* The proxy's own responses (http_session.c), as literals so that the
 * expected byte streams below can be written by concatenation. */
#define R403                                                                             \
	"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"                         \
	"Content-Length: 15\r\n\r\nAccess denied\r\n"
#define R403_CLOSE                                                                       \
	"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"                         \
	"Content-Length: 15\r\nConnection: close\r\n\r\nAccess denied\r\n"
#define R400                                                                             \
	"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"                       \
	"Content-Length: 13\r\nConnection: close\r\n\r\nBad request\r\n"
#define R408                                                                             \
	"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\n"                   \
	"Content-Length: 17\r\nConnection: close\r\n\r\nRequest timeout\r\n"
#define R502                                                                             \
	"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"                       \
	"Content-Length: 13\r\nConnection: close\r\n\r\nBad gateway\r\n"
#define R503                                                                             \
	"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"               \
	"Content-Length: 21\r\nConnection: close\r\n\r\nService unavailable\r\n"
#define R504                                                                             \
	"HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\n"                   \
	"Content-Length: 17\r\nConnection: close\r\n\r\nGateway timeout\r\n"

/* Requests: GET /public/... is allowed, PUT /public/... is not. */
#define GET_A "GET /public/a HTTP/1.1\r\nHost: s\r\n\r\n"
#define GET_B "GET /public/b HTTP/1.1\r\nHost: s\r\n\r\n"
#define PUT_DENIED "PUT /public/a HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n\r\nabc"
#define SMUGGLED "GET /public/smuggled HTTP/1.1\r\nHost: s\r\n\r\n"
/* Responses of the server. */
#define OK_A "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#define OK_B "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"

/* ---- one exchange ---------------------------------------------------------- */

static void test_allowed_exchange(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, GET_A);
	assert_client_saw(h, "");
	/* The response head in two pieces, then the body byte by byte. */
	from_server(h, "HTTP/1.1 200 OK\r\nContent-Le");
	assert_int_equal(step(h), 0);
	assert_client_saw(h, "");
	from_server(h, "ngth: 2\r\n\r\no");
	assert_int_equal(step(h), 0);
	assert_client_saw(h, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no");
	assert_int_equal(h->session.phase, SESSION_EXCHANGE);
	from_server(h, "k");
	assert_int_equal(step(h), 0);
	assert_client_saw(h, OK_A);
	/* Over: keep-alive, idle until a next request, the upstream kept. */
	assert_int_equal(h->session.phase, SESSION_HEAD);
	assert_true(h->session.idle);
	assert_true(h->upstream_open);
	assert_null(h->session.snapshot);
	assert_record(h, "FORWARDED", "GET", "/public/a", 200, NULL);
	assert_no_more_records(h);
	assert_int_equal(h->env.requests[ACCESS_FORWARDED], 1);
}

static void test_denied_keeps_connection(void **state)
{
	struct harness *h = *state;

	from_client(h, PUT_DENIED);
	assert_int_equal(step(h), 0);
	assert_int_equal(h->upstream_opens, 0);
	assert_client_saw(h, R403);
	/* The body was dropped; the connection waits for a next request. */
	assert_int_equal(h->session.phase, SESSION_HEAD);
	assert_int_equal(channel__pending(&h->req), 0);
	assert_record(h, "DENIED", "PUT", "/public/a", 403, NULL);
	/* Control: the same connection serves an allowed request. */
	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, OK_A);
	assert_int_equal(step(h), 0);
	assert_server_saw(h, GET_A);
	assert_client_saw(h, R403 OK_A);
	assert_record(h, "FORWARDED", "GET", "/public/a", 200, NULL);
}

/* A denied request whose body comes later, in pieces: every byte of it is
 * dropped, none is taken for a next request. */
static void test_denied_body_in_pieces(void **state)
{
	struct harness *h = *state;

	from_client(h, "PUT /public/a HTTP/1.1\r\nHost: s\r\nContent-Length: 40\r\n\r\n");
	assert_int_equal(step(h), 0);
	assert_client_saw(h, R403);
	assert_int_equal(h->session.phase, SESSION_EXCHANGE);
	/* Bytes that look like a request, inside the body: still body. */
	from_client(h, "GET /public/x HTTP/1.1\r\nHost: s\r\n\r\n");
	assert_int_equal(step(h), 0);
	assert_int_equal(h->session.phase, SESSION_EXCHANGE);
	from_client(h, "12345" GET_B);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, GET_B);
}

static void test_http10_denied_closes(void **state)
{
	struct harness *h = *state;

	from_client(h, "PUT /public/a HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, R403_CLOSE);
	assert_int_equal(h->session.phase, SESSION_CLOSED);
	assert_record(h, "DENIED", "PUT", "/public/a", 403, NULL);
}

/* ---- pipelining ------------------------------------------------------------ */

static void test_pipelined_two_second_denied(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A PUT_DENIED);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	/* Only the first request goes out; the second waits its turn. */
	assert_server_saw(h, GET_A);
	assert_client_saw(h, "");
	from_server(h, OK_A);
	assert_int_equal(step(h), 0);
	/* The 403 comes after the first response, never before it. */
	assert_client_saw(h, OK_A R403);
	assert_server_saw(h, GET_A);
	assert_int_equal(h->session.phase, SESSION_HEAD);
	assert_true(h->upstream_open);
	assert_record(h, "FORWARDED", "GET", "/public/a", 200, NULL);
	assert_record(h, "DENIED", "PUT", "/public/a", 403, NULL);
	assert_no_more_records(h);
}

static void test_pipelined_three_second_denied(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A PUT_DENIED GET_B);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, GET_A);
	/* Half the first response: the denied request is not answered yet. */
	from_server(h, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no");
	assert_int_equal(step(h), 0);
	assert_client_saw(h, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no");
	assert_server_saw(h, GET_A);
	/* The rest: 403 for the second, the third goes to the server. */
	from_server(h, "k");
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_client_saw(h, OK_A R403);
	assert_server_saw(h, GET_A GET_B);
	from_server(h, OK_B);
	assert_int_equal(step(h), 0);
	assert_client_saw(h, OK_A R403 OK_B);
	assert_server_saw(h, GET_A GET_B);
	assert_record(h, "FORWARDED", "GET", "/public/a", 200, NULL);
	assert_record(h, "DENIED", "PUT", "/public/a", 403, NULL);
	assert_record(h, "FORWARDED", "GET", "/public/b", 200, NULL);
	assert_no_more_records(h);
	assert_int_equal(h->env.requests[ACCESS_FORWARDED], 2);
	assert_int_equal(h->env.requests[ACCESS_DENIED], 1);
}

/* A request split anywhere, even inside the blank line that ends its head. */
static void test_head_split_across_reads(void **state)
{
	struct harness *h = *state;

	from_client(h, "GET /public/a HTTP/1.1\r\nHost: s\r\n\r");
	assert_int_equal(step(h), 0);
	assert_server_saw(h, "");
	from_client(h, "\n");
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, GET_A);
}

/* ---- Expect: 100-continue ---------------------------------------------------- */

#define PUT_UPLOAD_CONTINUE                                                              \
	"PUT /upload/x HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\n"                     \
	"Expect: 100-continue\r\n\r\n"
#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
#define CREATED "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"

static void test_continue_allowed(void **state)
{
	struct harness *h = *state;

	from_client(h, PUT_UPLOAD_CONTINUE);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, PUT_UPLOAD_CONTINUE);
	/* The server's 100 reaches the client; the final response is awaited. */
	from_server(h, CONTINUE);
	assert_int_equal(step(h), 0);
	assert_client_saw(h, CONTINUE);
	assert_int_equal(h->session.phase, SESSION_EXCHANGE);
	from_client(h, "hello");
	assert_int_equal(step(h), 0);
	assert_server_saw(h, PUT_UPLOAD_CONTINUE "hello");
	from_server(h, CREATED);
	assert_int_equal(step(h), 0);
	assert_client_saw(h, CONTINUE CREATED);
	assert_int_equal(h->session.phase, SESSION_HEAD);
	assert_record(h, "FORWARDED", "PUT", "/upload/x", 201, NULL);
}

static void test_continue_denied(void **state)
{
	struct harness *h = *state;

	/* The client may wait for a 100 or send its body anyway: no way to
	 * know where the next request starts, so the 403 closes. */
	from_client(h, "PUT /public/x HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\n"
		       "Expect: 100-continue\r\n\r\n");
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_int_equal(h->upstream_opens, 0);
	assert_server_saw(h, "");
	assert_client_saw(h, R403_CLOSE);
	assert_int_equal(h->session.phase, SESSION_CLOSED);
	assert_record(h, "DENIED", "PUT", "/public/x", 403, NULL);
}

/* A final status instead of the 100: the body the client still sends
 * cannot be told from a next request, so the connection ends after it. */
static void test_continue_answered_early(void **state)
{
	struct harness *h = *state;

	from_client(h, PUT_UPLOAD_CONTINUE);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h,
			  "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
	assert_record(h, "FORWARDED", "PUT", "/upload/x", 413, NULL);
}

/* ---- Upgrade ----------------------------------------------------------------- */

#define WS_REQUEST(path)                                                                 \
	"GET " path " HTTP/1.1\r\nHost: s\r\nConnection: Upgrade\r\n"                    \
	"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"                            \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
#define SWITCHING                                                                        \
	"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"                    \
	"Upgrade: websocket\r\n\r\n"

static void test_upgrade_websocket_tunnels(void **state)
{
	struct harness *h = *state;
	const char frames[] = "\x81\x05hello GARBAGE / HTTP/9\r\n\r\n";

	from_client(h, WS_REQUEST("/ws"));
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, WS_REQUEST("/ws"));
	from_server(h, SWITCHING);
	assert_int_equal(step(h), SESSION_TUNNEL);
	assert_client_saw(h, SWITCHING);
	assert_int_equal(h->session.phase, SESSION_TUNNEL_PHASE);
	/* A tunnel may last hours: it holds no policy snapshot. */
	assert_null(h->session.snapshot);
	assert_record(h, "FORWARDED", "GET", "/ws", 101, NULL);
	/* From now on the bytes are not HTTP: the session neither judges
	 * nor refuses them (the transport copies them blindly). */
	from_client(h, frames);
	from_server(h, "\x81\x02ok");
	assert_int_equal(step(h), 0);
	assert_int_equal(channel__pending(&h->req), strlen(frames));
	assert_int_equal(channel__pending(&h->resp), 4);
	assert_int_equal(h->session.phase, SESSION_TUNNEL_PHASE);
	assert_no_more_records(h);
}

static void test_upgrade_denied_path(void **state)
{
	struct harness *h = *state;

	from_client(h, WS_REQUEST("/private/ws"));
	assert_int_equal(step(h), 0);
	assert_int_equal(h->upstream_opens, 0);
	assert_client_saw(h, R403);
	assert_record(h, "DENIED", "GET", "/private/ws", 403, NULL);
	/* Control: the allowed path upgrades on the same connection. */
	from_client(h, WS_REQUEST("/ws"));
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, WS_REQUEST("/ws"));
}

/* h2c would carry later requests past the rules: refused on an allowed path. */
static void test_upgrade_h2c_refused(void **state)
{
	struct harness *h = *state;

	from_client(
	    h,
	    "GET /public/a HTTP/1.1\r\nHost: s\r\nConnection: Upgrade, "
	    "HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");
	assert_int_equal(step(h), 0);
	assert_int_equal(h->upstream_opens, 0);
	assert_client_saw(h, R403);
	assert_record(h, "DENIED", "GET", "/public/a", 403, NULL);
	/* Control: the same path without the upgrade is forwarded. */
	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, GET_A);
}

static void test_101_nobody_asked_for(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, SWITCHING);
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, R502);
	assert_false(h->tunnel);
	assert_record(h, "ERROR", "GET", "/public/a", 502,
		      "101 without an upgrade request");
}

/* ---- errors in the middle of a body ---------------------------------------- */

#define POST_CHUNKED                                                                     \
	"POST /upload/x HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\n"

static void test_body_cut_short(void **state)
{
	struct harness *h = *state;

	from_client(
	    h, "POST /upload/x HTTP/1.1\r\nHost: s\r\nContent-Length: 10\r\n\r\nabcd");
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, "POST /upload/x HTTP/1.1\r\nHost: s\r\nContent-Length: "
			     "10\r\n\r\nabcd");
	/* The client goes away six bytes short: nobody to answer. */
	h->io.client_eof = true;
	assert_int_equal(step(h), SESSION_ABORT);
	assert_int_equal(h->session.phase, SESSION_CLOSED);
	assert_record(h, "ERROR", "POST", "/upload/x", 0,
		      "client closed in the request body");
}

static void test_bad_chunk_size(void **state)
{
	struct harness *h = *state;

	from_client(h, POST_CHUNKED "3\r\nabc\r\n");
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, POST_CHUNKED "3\r\nabc\r\n");
	/* Framing the server might read another way: 400, and nothing after
	 * it (the request that follows) is parsed. */
	from_client(h, "zz\r\n" SMUGGLED);
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_server_saw(h, POST_CHUNKED "3\r\nabc\r\n");
	assert_client_saw(h, R400);
	assert_record(h, "ERROR", "POST", "/upload/x", 400, "bad chunked request body");
	assert_no_more_records(h);
}

/* The same once the response is under way: no room left to say why. */
static void test_bad_chunk_while_response_streams(void **state)
{
	struct harness *h = *state;

	from_client(h, POST_CHUNKED "3\r\nabc\r\n");
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
	assert_int_equal(step(h), 0);
	from_client(h, "-1\r\n");
	assert_int_equal(step(h), SESSION_ABORT);
	assert_record(h, "FORWARDED", "POST", "/upload/x", 200,
		      "bad chunked request body");
}

static void test_client_closes_in_denied_body(void **state)
{
	struct harness *h = *state;

	from_client(
	    h, "PUT /public/a HTTP/1.1\r\nHost: s\r\nContent-Length: 100\r\n\r\nabc");
	assert_int_equal(step(h), 0);
	assert_client_saw(h, R403);
	/* The 403 is queued: the client still gets it, then the close. */
	h->io.client_eof = true;
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, R403);
	http_session__finish(&h->session, &h->env);
	assert_record(h, "DENIED", "PUT", "/public/a", 403, NULL);
	assert_no_more_records(h);
}

static void test_client_closes_in_head(void **state)
{
	struct harness *h = *state;

	from_client(h, "GET /public/a HTTP/1.1\r\nHo");
	assert_int_equal(step(h), 0);
	h->io.client_eof = true;
	assert_int_equal(step(h), SESSION_ABORT);
	assert_int_equal(h->upstream_opens, 0);
}

static void test_upstream_closes_in_response_body(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
	assert_int_equal(step(h), 0);
	assert_client_saw(h, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
	/* Seven bytes short: the client sees the connection cut, not a
	 * response that looks whole. */
	h->io.upstream_eof = true;
	assert_int_equal(step(h), SESSION_ABORT);
	assert_record(h, "FORWARDED", "GET", "/public/a", 200,
		      "upstream closed in the response body");
}

static void test_upstream_closes_before_response(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, "HTTP/1.1 200 OK\r\nContent-");
	h->io.upstream_eof = true;
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	/* The half head is not forwarded: the client gets our 502 whole. */
	assert_client_saw(h, R502);
	assert_record(h, "ERROR", "GET", "/public/a", 502,
		      "upstream closed before the response");
}

static void test_upstream_connect_fails(void **state)
{
	struct harness *h = *state;

	h->refuse_connect = true;
	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, R503);
	assert_record(h, "ERROR", "GET", "/public/a", 503, "upstream connect failed");
}

/* ---- smuggling --------------------------------------------------------------- */

static void test_smuggling_cl_and_te(void **state)
{
	struct harness *h = *state;

	from_client(h, "POST /upload HTTP/1.1\r\nHost: s\r\nContent-Length: 4\r\n"
		       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SMUGGLED);
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_int_equal(h->upstream_opens, 0);
	assert_server_saw(h, "");
	assert_client_saw(h, R400);
	assert_record(h, "ERROR", "", "", 400,
		      "conflicting Content-Length and Transfer-Encoding");
	assert_no_more_records(h);
}

static void test_smuggling_two_content_lengths(void **state)
{
	struct harness *h = *state;

	from_client(h, "POST /upload HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\n"
		       "Content-Length: 45\r\n\r\nhello" SMUGGLED);
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_server_saw(h, "");
	assert_client_saw(h, R400);
	assert_record(h, "ERROR", "", "", 400, "more than one Content-Length");
}

/* A smuggling attempt after an allowed request on the same connection:
 * the first is answered, the second refused, the third never parsed. */
static void test_smuggling_pipelined(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A "POST /upload HTTP/1.1\r\nHost: s\r\nContent-Length: 4\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SMUGGLED);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, OK_A);
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_server_saw(h, GET_A);
	assert_client_saw(h, OK_A R400);
}

static void test_bad_target(void **state)
{
	struct harness *h = *state;

	from_client(h, "GET /public/%zz HTTP/1.1\r\nHost: s\r\n\r\n");
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, R400);
	assert_record(h, "ERROR", "", "", 400, "invalid request target");
}

/* ---- responses ------------------------------------------------------------- */

#define CHUNKED_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

/* A chunked response ends at its last chunk; the pipelined request that
 * waited goes out then, not before. */
static void test_response_chunked(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A GET_B);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, CHUNKED_HEAD "5\r\nhello\r\n");
	assert_int_equal(step(h), 0);
	assert_server_saw(h, GET_A);
	from_server(h, "0\r\n\r");
	assert_int_equal(step(h), 0);
	assert_server_saw(h, GET_A);
	from_server(h, "\n");
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_client_saw(h, CHUNKED_HEAD "5\r\nhello\r\n0\r\n\r\n");
	assert_server_saw(h, GET_A GET_B);
}

static void test_response_bad_chunk(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, CHUNKED_HEAD "5\r\nhello\r\nxyz\r\n");
	assert_int_equal(step(h), SESSION_ABORT);
	assert_record(h, "FORWARDED", "GET", "/public/a", 200,
		      "bad chunked response body");
}

/* A response to HEAD has no body, whatever its Content-Length says. */
static void test_response_to_head(void **state)
{
	struct harness *h = *state;

	from_client(h, "HEAD /public/a HTTP/1.1\r\nHost: s\r\n\r\n" GET_B);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, "HEAD /public/a HTTP/1.1\r\nHost: s\r\n\r\n" GET_B);
	assert_record(h, "FORWARDED", "HEAD", "/public/a", 200, NULL);
}

/* No length: the body runs until the server closes, and so does the
 * connection. */
static void test_response_until_close(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, "HTTP/1.1 200 OK\r\n\r\nuntil ");
	assert_int_equal(step(h), 0);
	from_server(h, "the end");
	h->io.upstream_eof = true;
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, "HTTP/1.1 200 OK\r\n\r\nuntil the end");
	assert_record(h, "FORWARDED", "GET", "/public/a", 200, NULL);
}

static void test_response_early_hints_then_final(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" OK_A);
	assert_int_equal(step(h), 0);
	assert_client_saw(h, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" OK_A);
	assert_int_equal(h->session.phase, SESSION_HEAD);
	assert_record(h, "FORWARDED", "GET", "/public/a", 200, NULL);
}

static void test_response_malformed(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, R502);
	assert_record(h, "ERROR", "GET", "/public/a", 502, "invalid status line");
}

static void test_response_close_ends_connection(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A GET_B);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(
	    h, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	/* The pipelined request is never sent: the connection ends here. */
	assert_server_saw(h, GET_A);
}

/* Bytes from the server when no request is outstanding are a protocol
 * violation: dropped with that upstream connection, never forwarded. */
static void test_unsolicited_upstream_bytes(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	from_server(h, OK_A);
	assert_int_equal(step(h), 0);
	from_server(h, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra");
	assert_int_equal(step(h), SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, OK_A);
	assert_false(h->upstream_open);
	/* Control: the client's next request opens a new upstream. */
	from_client(h, GET_B);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_int_equal(h->upstream_opens, 2);
	assert_server_saw(h, GET_A GET_B);
}

/* ---- timeouts and draining ----------------------------------------------------- */

static void test_header_timeout(void **state)
{
	struct harness *h = *state;
	const struct proxy_timeouts *t = &h->config.timeouts;

	/* From the accept: the header timeout. */
	assert_int_equal(http_session__deadline(&h->session, t, 0), 1000000 + t->header);
	from_client(h, "GET /public/a HTTP/1.1\r\nHo");
	h->io.now += 500;
	assert_int_equal(step(h), 0);
	h->io.now = 1000000 + t->header;
	assert_int_equal(http_session__expire(&h->session, &h->env, &h->io),
			 SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	step(h);
	assert_client_saw(h, R408);
	assert_record(h, "ERROR", "", "", 408, "request header timeout");
}

static void test_idle_timeout(void **state)
{
	struct harness *h = *state;
	const struct proxy_timeouts *t = &h->config.timeouts;

	from_client(h, GET_A);
	step(h);
	from_server(h, OK_A);
	h->io.now += 2000;
	step(h);
	/* After a response: the keep-alive idle timeout, from its end. */
	assert_true(h->session.idle);
	assert_int_equal(http_session__deadline(&h->session, t, 0), h->io.now + t->idle);
	assert_int_equal(http_session__expire(&h->session, &h->env, &h->io),
			 SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	/* Closing an idle connection answers nothing and logs nothing more. */
	step(h);
	assert_client_saw(h, OK_A);
	assert_record(h, "FORWARDED", "GET", "/public/a", 200, NULL);
	assert_no_more_records(h);
}

static void test_response_timeout(void **state)
{
	struct harness *h = *state;
	const struct proxy_timeouts *t = &h->config.timeouts;

	from_client(h, GET_A);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	/* In an exchange: the data timeout, from the last byte that moved. */
	assert_int_equal(http_session__deadline(&h->session, t, 1234), 1234 + t->data);
	assert_int_equal(http_session__expire(&h->session, &h->env, &h->io),
			 SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	step(h);
	assert_client_saw(h, R504);
	assert_record(h, "ERROR", "GET", "/public/a", 504, "upstream response timeout");
}

static void test_drain_finishes_the_exchange(void **state)
{
	struct harness *h = *state;

	from_client(h, GET_A GET_B);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_int_equal(http_session__drain(&h->session, &h->io), 0);
	from_server(h, OK_A);
	assert_int_equal(step(h), SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_client_saw(h, OK_A);
	assert_server_saw(h, GET_A);
}

static void test_drain_idle_closes_at_once(void **state)
{
	struct harness *h = *state;

	assert_int_equal(http_session__drain(&h->session, &h->io),
			 SESSION_CLOSE | SESSION_CLOSE_UPSTREAM);
	assert_int_equal(h->session.phase, SESSION_CLOSED);
}

/* ---- audit mode ------------------------------------------------------------------ */

static void test_audit_forwards_denied(void **state)
{
	struct harness *h = *state;

	from_client(h, PUT_DENIED);
	assert_int_equal(step(h), SESSION_OPEN_UPSTREAM);
	assert_server_saw(h, PUT_DENIED);
	from_server(h, OK_A);
	assert_int_equal(step(h), 0);
	assert_client_saw(h, OK_A);
	assert_record(h, "AUDIT", "PUT", "/public/a", 200, NULL);
	assert_int_equal(h->env.requests[ACCESS_AUDIT], 1);
}

/* Audit lifts policy decisions, not the protocol's: h2c stays refused. */
static void test_audit_keeps_h2c_refused(void **state)
{
	struct harness *h = *state;

	from_client(h, "GET /public/a HTTP/1.1\r\nHost: s\r\nConnection: Upgrade\r\n"
		       "Upgrade: h2c\r\n\r\n");
	assert_int_equal(step(h), 0);
	assert_int_equal(h->upstream_opens, 0);
	assert_client_saw(h, R403);
	assert_record(h, "DENIED", "GET", "/public/a", 403, NULL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define T_AUDIT(name) cmocka_unit_test_setup_teardown(name, setup_audit, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_allowed_exchange),
	    T(test_denied_keeps_connection),
	    T(test_denied_body_in_pieces),
	    T(test_http10_denied_closes),
	    T(test_pipelined_two_second_denied),
	    T(test_pipelined_three_second_denied),
	    T(test_head_split_across_reads),
	    T(test_continue_allowed),
	    T(test_continue_denied),
	    T(test_continue_answered_early),
	    T(test_upgrade_websocket_tunnels),
	    T(test_upgrade_denied_path),
	    T(test_upgrade_h2c_refused),
	    T(test_101_nobody_asked_for),
	    T(test_body_cut_short),
	    T(test_bad_chunk_size),
	    T(test_bad_chunk_while_response_streams),
	    T(test_client_closes_in_denied_body),
	    T(test_client_closes_in_head),
	    T(test_upstream_closes_in_response_body),
	    T(test_upstream_closes_before_response),
	    T(test_upstream_connect_fails),
	    T(test_smuggling_cl_and_te),
	    T(test_smuggling_two_content_lengths),
	    T(test_smuggling_pipelined),
	    T(test_bad_target),
	    T(test_response_chunked),
	    T(test_response_bad_chunk),
	    T(test_response_to_head),
	    T(test_response_until_close),
	    T(test_response_early_hints_then_final),
	    T(test_response_malformed),
	    T(test_response_close_ends_connection),
	    T(test_unsolicited_upstream_bytes),
	    T(test_header_timeout),
	    T(test_idle_timeout),
	    T(test_response_timeout),
	    T(test_drain_finishes_the_exchange),
	    T(test_drain_idle_closes_at_once),
	    T_AUDIT(test_audit_forwards_denied),
	    T_AUDIT(test_audit_keeps_h2c_refused),
	};
#undef T
#undef T_AUDIT

	return cmocka_run_group_tests(tests, NULL, NULL);
}
