// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for lib/l7/http_parser.c: request and response heads, the
 * smuggling shapes the proxy must refuse, chunked framing fed in pieces,
 * and request-target normalisation.
 *
 * Every input is copied so that it ends exactly where a PROT_NONE page
 * begins: a read of one byte past buf + len is a SIGSEGV, not a silent
 * pass (and ASan covers the rest under `make SAN=1`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "warden/http_parser.h"

/* ---- inputs against a guard page ---------------------------------------- */

struct guarded {
	char *map;
	size_t map_len;
};

#define MAX_GUARDED 1024
static struct guarded guarded[MAX_GUARDED];
static size_t guarded_count;

/* Copy s so that its last byte is the last one before a PROT_NONE page. */
static char *guard_map(const void *s, size_t len, struct guarded *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = len ? (len + page - 1) / page : 1;
	char *data;

	g->map_len = (pages + 1) * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + pages * page, page, PROT_NONE), 0);
	data = g->map + pages * page - len;
	memcpy(data, s, len);
	return data;
}

static void guard_unmap(struct guarded *g)
{
	munmap(g->map, g->map_len);
}

/* A guarded copy that lives until the end of the test (slices into it are
 * checked after the parse). */
static char *guard(const void *s, size_t len)
{
	assert_true(guarded_count < MAX_GUARDED);
	return guard_map(s, len, &guarded[guarded_count++]);
}

static int release_guarded(void **state)
{
	(void)state;
	while (guarded_count)
		guard_unmap(&guarded[--guarded_count]);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static struct http_request req;
static struct http_response resp;

#define S(lit)                                                                           \
	(struct http_slice)                                                              \
	{                                                                                \
		(lit), sizeof(lit) - 1                                                   \
	}

static void assert_slice_at(struct http_slice s, const char *want, const char *file,
			    int line)
{
	size_t len = strlen(want);

	if (s.len != len || (len && memcmp(s.ptr, want, len))) {
		print_error("slice \"%.*s\" != \"%s\"\n", (int)s.len, s.ptr ? s.ptr : "",
			    want);
		_fail(file, line);
	}
}
#define assert_slice(s, want) assert_slice_at((s), (want), __FILE__, __LINE__)

static int parse_request_len(const char *text, size_t len, const struct http_limits *lim,
			     enum http_error *err)
{
	return http_request__parse(guard(text, len), len, lim, &req, err);
}

/* Parse text (a literal) as a whole request head; returns the result. */
#define PARSE_REQ(text, err) parse_request_len((text), sizeof(text) - 1, NULL, (err))

/* text must parse as a request consuming all of it. */
static void request_ok_at(const char *text, size_t len, const char *file, int line)
{
	enum http_error err = HTTP_ERR_NONE;
	int rc = parse_request_len(text, len, NULL, &err);

	if (rc != (int)len) {
		print_error("request %s: rc %d, error %s\n", text, rc,
			    http_error__name(err));
		_fail(file, line);
	}
	_assert_int_equal(err, HTTP_ERR_NONE, file, line);
}
#define REQUEST_OK(text) request_ok_at((text), sizeof(text) - 1, __FILE__, __LINE__)

/* text must be refused with exactly this error. */
static void request_error_at(const char *text, size_t len, enum http_error want,
			     const char *file, int line)
{
	enum http_error err = HTTP_ERR_NONE;
	int rc = parse_request_len(text, len, NULL, &err);

	if (rc != HTTP_PARSE_ERROR || err != want) {
		print_error("request \"%.*s\": rc %d, error \"%s\", want \"%s\"\n",
			    (int)len, text, rc, http_error__name(err),
			    http_error__name(want));
		_fail(file, line);
	}
}
#define REQUEST_ERROR(text, want)                                                        \
	request_error_at((text), sizeof(text) - 1, (want), __FILE__, __LINE__)

static int parse_response_len(const char *text, size_t len, struct http_slice method,
			      enum http_error *err)
{
	return http_response__parse(guard(text, len), len, NULL, method, &resp, err);
}

static void response_error_at(const char *text, size_t len, enum http_error want,
			      const char *file, int line)
{
	enum http_error err = HTTP_ERR_NONE;
	int rc = parse_response_len(text, len, S("GET"), &err);

	if (rc != HTTP_PARSE_ERROR || err != want) {
		print_error("response \"%.*s\": rc %d, error \"%s\", want \"%s\"\n",
			    (int)len, text, rc, http_error__name(err),
			    http_error__name(want));
		_fail(file, line);
	}
}
#define RESPONSE_ERROR(text, want)                                                       \
	response_error_at((text), sizeof(text) - 1, (want), __FILE__, __LINE__)

/* Parse text as a response to method, consuming all of it. */
static void response_ok_at(const char *text, size_t len, struct http_slice method,
			   const char *file, int line)
{
	enum http_error err = HTTP_ERR_NONE;
	int rc = parse_response_len(text, len, method, &err);

	if (rc != (int)len) {
		print_error("response %s: rc %d, error %s\n", text, rc,
			    http_error__name(err));
		_fail(file, line);
	}
}
#define RESPONSE_OK(text, method)                                                        \
	response_ok_at((text), sizeof(text) - 1, (method), __FILE__, __LINE__)

/* ---- requests: what a valid head gives ---------------------------------- */

static void test_request_simple(void **state)
{
	static const char text[] = "GET /index.html?q=1 HTTP/1.1\r\n"
				   "Host: example.com\r\n"
				   "User-Agent:  curl/8.0 \t\r\n"
				   "Accept:*/*\r\n"
				   "X-Empty:\r\n"
				   "X-Blank:   \r\n"
				   "X-Tab:\ta\tb\t\r\n"
				   "X-Obs-Text: caf\xc3\xa9\r\n"
				   "\r\n";
	enum http_error err = HTTP_ERR_BAD_METHOD;

	(void)state;
	assert_int_equal(PARSE_REQ(text, &err), sizeof(text) - 1);
	assert_int_equal(err, HTTP_ERR_NONE);
	assert_slice(req.method, "GET");
	assert_slice(req.target, "/index.html?q=1");
	assert_int_equal(req.minor_version, 1);
	assert_int_equal(req.header_count, 7);
	assert_slice(req.headers[0].name, "Host");
	assert_slice(req.headers[0].value, "example.com");
	assert_slice(req.headers[1].name, "User-Agent");
	assert_slice(req.headers[1].value, "curl/8.0");
	assert_slice(req.headers[2].value, "*/*");
	assert_slice(req.headers[3].name, "X-Empty");
	assert_slice(req.headers[3].value, "");
	assert_slice(req.headers[4].value, "");
	assert_slice(req.headers[5].value, "a\tb");
	assert_slice(req.headers[6].value, "caf\xc3\xa9");
	assert_slice(req.host, "example.com");
	assert_int_equal(req.body, HTTP_BODY_NONE);
	assert_true(req.keep_alive);
	assert_false(req.expect_continue);
	assert_false(req.upgrade);
}

static void test_request_methods(void **state)
{
	(void)state;
	REQUEST_OK("POST / HTTP/1.1\r\nHost: a\r\n\r\n");
	REQUEST_OK("M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n");
	REQUEST_OK("PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n");
	REQUEST_OK("get / HTTP/1.1\r\nHost: a\r\n\r\n"); /* a token, if unusual */
	REQUEST_ERROR("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_METHOD);
	REQUEST_ERROR("GET/ HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_METHOD);
	REQUEST_ERROR("G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_METHOD);
	REQUEST_ERROR("G\x80T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_METHOD);
	REQUEST_ERROR(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_REQUEST_LINE);
	REQUEST_ERROR("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_REQUEST_LINE);
	REQUEST_ERROR("GET\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_REQUEST_LINE);
}

static void test_request_line_errors(void **state)
{
	(void)state;
	REQUEST_ERROR("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_REQUEST_LINE);
	REQUEST_ERROR("GET \r\nHost: a\r\n\r\n", HTTP_ERR_BAD_REQUEST_LINE);
	REQUEST_ERROR("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /\r\n\r\n", HTTP_ERR_BAD_VERSION); /* HTTP/0.9 */
	REQUEST_ERROR("GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET / HTTP/1.2\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET / HTTP/0.9\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET / http/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET / HTTP/1.10\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET / HTTP/1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
	REQUEST_ERROR("GET / HTTP/1.1\0\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_VERSION);
}

static void test_request_targets(void **state)
{
	enum http_error err;

	(void)state;
	/* absolute-form: its authority is the host, and must agree with Host. */
	assert_int_equal(PARSE_REQ("GET http://Example.com:8080/a?b HTTP/1.1\r\n"
				   "Host: example.COM:8080\r\n\r\n",
				   &err),
			 sizeof("GET http://Example.com:8080/a?b HTTP/1.1\r\n"
				"Host: example.COM:8080\r\n\r\n") -
			     1);
	assert_slice(req.target, "http://Example.com:8080/a?b");
	assert_slice(req.host, "Example.com:8080");
	REQUEST_OK("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n");
	REQUEST_OK("GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n");
	REQUEST_OK("GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
	REQUEST_OK("GET http://h/ HTTP/1.0\r\n\r\n");
	assert_slice(req.host, "h");
	REQUEST_ERROR("GET http://h/ HTTP/1.1\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET http://good/ HTTP/1.1\r\nHost: evil\r\n\r\n",
		      HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET http://h:80/ HTTP/1.1\r\nHost: h\r\n\r\n",
		      HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET http://good@evil/ HTTP/1.1\r\nHost: evil\r\n\r\n",
		      HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET http://h:/ HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET http://h:65536/ HTTP/1.1\r\nHost: h\r\n\r\n",
		      HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET http://a,b/ HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET http:/h/ HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);

	/* asterisk-form for OPTIONS only; authority-form for CONNECT only. */
	REQUEST_OK("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
	REQUEST_OK("OPTIONS /x HTTP/1.1\r\nHost: h\r\n\r\n");
	REQUEST_ERROR("GET * HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("OPTIONS ** HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_OK("CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n");
	assert_slice(req.host, "db.internal:5432");
	REQUEST_ERROR("CONNECT db:5432 HTTP/1.1\r\nHost: other:5432\r\n\r\n",
		      HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("CONNECT db HTTP/1.1\r\nHost: db\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("CONNECT / HTTP/1.1\r\nHost: db\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("CONNECT http://db:1/ HTTP/1.1\r\nHost: db:1\r\n\r\n",
		      HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET db:5432 HTTP/1.1\r\nHost: db\r\n\r\n", HTTP_ERR_BAD_TARGET);

	/* Bytes a target cannot hold, and percent-encoding. */
	REQUEST_OK("GET /a%20b%2F%2e?x=%41 HTTP/1.1\r\nHost: h\r\n\r\n");
	REQUEST_ERROR("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /a\\..\\b HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
		      HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /%4 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /% HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /%00 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
	REQUEST_ERROR("GET /?a=%0 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_TARGET);
}

static void test_request_leading_empty_lines(void **state)
{
	(void)state;
	REQUEST_OK("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
	REQUEST_OK("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_slice(req.method, "GET");
	REQUEST_ERROR("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BARE_LF);
	REQUEST_ERROR("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_ERR_BARE_CR);
	REQUEST_ERROR("\r\n \r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		      HTTP_ERR_BAD_REQUEST_LINE);
}

static void test_request_bare_cr_lf(void **state)
{
	(void)state;
	REQUEST_ERROR("GET / HTTP/1.1\nHost: h\r\n\r\n", HTTP_ERR_BARE_LF);
	REQUEST_ERROR("GET / HTTP/1.1\rHost: h\r\n\r\n", HTTP_ERR_BARE_CR);
	REQUEST_ERROR("GET / HTTP/1.1\r\r\nHost: h\r\n\r\n", HTTP_ERR_BARE_CR);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\n\r\n", HTTP_ERR_BARE_LF);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\n\n", HTTP_ERR_BARE_LF);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\n\rX", HTTP_ERR_BARE_CR);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", HTTP_ERR_BARE_CR);
	/* The classic: a bare CR inside a value hides a second field from
	 * one reader and not the other. */
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: a\rContent-Length: 5\r\n\r\n",
		      HTTP_ERR_BARE_CR);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: a\nContent-Length: 5\r\n\r\n",
		      HTTP_ERR_BARE_LF);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX\n: a\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\n\n", HTTP_ERR_BARE_LF);
}

static void test_request_header_errors(void **state)
{
	(void)state;
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost : h\r\n\r\n", HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX Y: a\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX(: a\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX\0: a\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX\xc3\xa9: a\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	/* '_' for '-' in framing fields (CGI-style mapping). */
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent_Length: 5\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer_encoding: chunked\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_NAME);

	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_VALUE);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_VALUE);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_VALUE);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: \x0b\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_VALUE);
	/* A CTL far into a long value (the 8-byte scan must stop at it). */
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789abcdef0123\x1f"
		      "456789abcdef\r\n\r\n",
		      HTTP_ERR_BAD_HEADER_VALUE);

	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		      HTTP_ERR_OBS_FOLD);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n",
		      HTTP_ERR_OBS_FOLD);
	REQUEST_ERROR("GET / HTTP/1.1\r\n Host: h\r\n\r\n", HTTP_ERR_OBS_FOLD);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n 5\r\n\r\n",
		      HTTP_ERR_OBS_FOLD);
}

static void test_request_too_many_headers(void **state)
{
	char text[8192];
	size_t len;
	int i;

	(void)state;
	len = (size_t)sprintf(text, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 1; i < HTTP_MAX_HEADERS; i++)
		len += (size_t)sprintf(text + len, "X-%d: %d\r\n", i, i);
	len += (size_t)sprintf(text + len, "\r\n");
	request_ok_at(text, len, __FILE__, __LINE__);
	assert_int_equal(req.header_count, HTTP_MAX_HEADERS);
	assert_slice(req.headers[HTTP_MAX_HEADERS - 1].name, "X-99");

	len -= 2;
	len += (size_t)sprintf(text + len, "X-100: 100\r\n\r\n");
	request_error_at(text, len, HTTP_ERR_TOO_MANY_HEADERS, __FILE__, __LINE__);
}

static void test_request_head_too_large(void **state)
{
	struct http_limits small = {.max_head = 64};
	enum http_error err;
	static char big[20000];
	const char *head = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
	size_t i, hl = strlen(head);

	(void)state;
	/* Exactly at the limit is fine; one byte more is not. */
	memcpy(big, head, hl);
	memset(big + hl, 'a', 64 - hl - 4);
	memcpy(big + 60, "\r\n\r\n", 4);
	assert_int_equal(parse_request_len(big, 64, &small, &err), 64);
	memset(big + hl, 'a', 65 - hl - 4);
	memcpy(big + 61, "\r\n\r\n", 4);
	assert_int_equal(parse_request_len(big, 65, &small, &err), HTTP_PARSE_ERROR);
	assert_int_equal(err, HTTP_ERR_HEAD_TOO_LARGE);
	/* An error inside the window is still reported as itself. */
	static const char early[] = "GET / HTTP/1.1\r\nHost: h\r\nX\x01: a\r\n"
				    "0123456789012345678901234567890123456789\r\n";
	assert_int_equal(parse_request_len(early, sizeof(early) - 1, &small, &err),
			 HTTP_PARSE_ERROR);
	assert_int_equal(err, HTTP_ERR_BAD_HEADER_NAME);

	/* Default limit, 16 KiB: a client that never ends its head is cut
	 * off as soon as it has sent more than that, complete or not. */
	memcpy(big, head, hl);
	for (i = hl; i < sizeof(big); i++)
		big[i] = 'a';
	assert_int_equal(parse_request_len(big, 16384, NULL, &err),
			 HTTP_PARSE_INCOMPLETE);
	assert_int_equal(err, HTTP_ERR_NONE);
	assert_int_equal(parse_request_len(big, 16385, NULL, &err), HTTP_PARSE_ERROR);
	assert_int_equal(err, HTTP_ERR_HEAD_TOO_LARGE);
	memcpy(big + 16381, "\r\n\r\n", 4);
	assert_int_equal(parse_request_len(big, 16385, NULL, &err), HTTP_PARSE_ERROR);
	assert_int_equal(err, HTTP_ERR_HEAD_TOO_LARGE);
	memcpy(big + 16380, "\r\n\r\n", 4);
	assert_int_equal(parse_request_len(big, 16385, NULL, &err), 16384);

	/* Incrementally: INCOMPLETE while it could still fit, then refused. */
	for (i = 1; i <= 200; i++) {
		struct guarded g;
		char *p = guard_map(big, i, &g);
		int rc = http_request__parse(p, i, &small, &req, &err);

		guard_unmap(&g);
		if (i <= 64)
			assert_int_equal(rc, HTTP_PARSE_INCOMPLETE);
		else
			assert_int_equal(err, HTTP_ERR_HEAD_TOO_LARGE);
	}
	/* The same for responses. */
	{
		static const char r[] =
		    "HTTP/1.1 200 OK\r\nServer: 0123456789012345678901234"
		    "567890123456789012345678901234567890\r\n\r\n";

		assert_int_equal(http_response__parse(guard(r, sizeof(r) - 1),
						      sizeof(r) - 1, &small, S("GET"),
						      &resp, &err),
				 HTTP_PARSE_ERROR);
		assert_int_equal(err, HTTP_ERR_HEAD_TOO_LARGE);
	}
}

/* ---- requests: framing and smuggling ------------------------------------ */

static void test_request_content_length(void **state)
{
	(void)state;
	REQUEST_OK("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n");
	assert_int_equal(req.body, HTTP_BODY_LENGTH);
	assert_int_equal(req.content_length, 5);
	REQUEST_OK("POST / HTTP/1.1\r\nHost: h\r\ncontent-length:0\r\n\r\n");
	assert_int_equal(req.body, HTTP_BODY_LENGTH);
	assert_int_equal(req.content_length, 0);
	REQUEST_OK("POST / HTTP/1.1\r\nHost: h\r\nCONTENT-LENGTH: \t007 \r\n\r\n");
	assert_int_equal(req.content_length, 7);
	REQUEST_OK("POST / HTTP/1.0\r\nContent-Length: 12\r\n\r\n");
	assert_int_equal(req.content_length, 12);
	REQUEST_OK(
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4611686018427387904\r\n\r\n");
	assert_int_equal(req.content_length, UINT64_C(1) << 62);

	REQUEST_ERROR(
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4611686018427387905\r\n\r\n",
	    HTTP_ERR_BAD_CL);
	REQUEST_ERROR(
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n",
	    HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
		      "99999999999999999999999\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,5\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: a\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1e3\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5.0\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:   \r\n\r\n",
		      HTTP_ERR_BAD_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \xd9\xa5\r\n\r\n",
		      HTTP_ERR_BAD_CL);

	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
		      "Content-Length: 5\r\n\r\n",
		      HTTP_ERR_DUPLICATE_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
		      "content-length: 6\r\n\r\n",
		      HTTP_ERR_DUPLICATE_CL);
	REQUEST_ERROR("POST / HTTP/1.1\r\nContent-Length: 0\r\nHost: h\r\n"
		      "X: y\r\nCONTENT-LENGTH: 0\r\n\r\n",
		      HTTP_ERR_DUPLICATE_CL);
}

static void test_request_transfer_encoding(void **state)
{
	(void)state;
	REQUEST_OK("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(req.body, HTTP_BODY_CHUNKED);
	REQUEST_OK("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding:  CHUNKED\t\r\n\r\n");
	assert_int_equal(req.body, HTTP_BODY_CHUNKED);

	REQUEST_ERROR(
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
	    HTTP_ERR_BAD_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
		      HTTP_ERR_BAD_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n",
		      HTTP_ERR_BAD_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunkedx\r\n\r\n",
		      HTTP_ERR_BAD_TE);
	REQUEST_ERROR(
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    HTTP_ERR_BAD_TE);
	REQUEST_ERROR(
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	    HTTP_ERR_BAD_TE);
	REQUEST_ERROR(
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
	    HTTP_ERR_BAD_TE);
	REQUEST_ERROR(
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
	    HTTP_ERR_BAD_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n",
		      HTTP_ERR_BAD_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		      "Transfer-Encoding: chunked\r\n\r\n",
		      HTTP_ERR_BAD_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
		      "Transfer-Encoding: chunked\r\n\r\n",
		      HTTP_ERR_BAD_TE);
	REQUEST_ERROR("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		      HTTP_ERR_BAD_TE);
	REQUEST_ERROR(
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\x0b\r\n\r\n",
	    HTTP_ERR_BAD_HEADER_VALUE);
}

static void test_request_cl_and_te(void **state)
{
	(void)state;
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
		      "Transfer-Encoding: chunked\r\n\r\n",
		      HTTP_ERR_CL_AND_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		      "Content-Length: 5\r\n\r\n",
		      HTTP_ERR_CL_AND_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		      "Content-Length: 0\r\n\r\n",
		      HTTP_ERR_CL_AND_TE);
	REQUEST_ERROR("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
		      "Content-Length: 3\r\n\r\n",
		      HTTP_ERR_CL_AND_TE);
	REQUEST_ERROR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n"
		      "Content-Length: 3\r\n\r\n",
		      HTTP_ERR_CL_AND_TE);
}

static void test_request_host(void **state)
{
	(void)state;
	REQUEST_ERROR("GET / HTTP/1.1\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
		      HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
		      HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
		      HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost:\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_ERROR("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", HTTP_ERR_MISSING_HOST);
	REQUEST_OK("GET / HTTP/1.1\r\nHost: a.example-1.com:8080\r\n\r\n");
	assert_slice(req.host, "a.example-1.com:8080");
	REQUEST_OK("GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n");
	assert_slice(req.host, "[2001:db8::1]");
	REQUEST_OK("GET / HTTP/1.0\r\n\r\n");
	assert_null(req.host.ptr);
	assert_int_equal(req.host.len, 0);
}

static void test_request_connection(void **state)
{
	(void)state;
	REQUEST_OK("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(req.keep_alive);
	REQUEST_OK("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
	assert_false(req.keep_alive);
	REQUEST_OK("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, CLOSE\r\n\r\n");
	assert_false(req.keep_alive);
	REQUEST_OK(
	    "GET / HTTP/1.1\r\nHost: h\r\nConnection: x\r\nConnection: ,Close,\r\n\r\n");
	assert_false(req.keep_alive);
	REQUEST_OK("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n");
	assert_true(req.keep_alive);
	REQUEST_OK("GET / HTTP/1.0\r\n\r\n");
	assert_false(req.keep_alive);
	REQUEST_OK("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	assert_true(req.keep_alive);
	REQUEST_OK("GET / HTTP/1.0\r\nConnection: keep-alive ,close\r\n\r\n");
	assert_false(req.keep_alive);

	REQUEST_OK("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
		   "Content-Length: 3\r\n\r\n");
	assert_true(req.expect_continue);
	REQUEST_OK("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue-x\r\n\r\n");
	assert_false(req.expect_continue);
	REQUEST_OK("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
	assert_false(req.expect_continue);

	REQUEST_OK("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
		   "Upgrade: websocket\r\n\r\n");
	assert_true(req.upgrade);
	assert_true(req.keep_alive);
	REQUEST_OK("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n");
	assert_false(req.upgrade);
	REQUEST_OK(
	    "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, upgrade\r\n\r\n");
	assert_false(req.upgrade);
	REQUEST_OK("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
	assert_false(req.upgrade);
}

static void test_request_pipelined(void **state)
{
	static const char text[] =
	    "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"
	    "hello"
	    "\r\nGET /three HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *buf = guard(text, sizeof(text) - 1), *p = buf;
	size_t left = sizeof(text) - 1;
	enum http_error err;
	int rc;

	(void)state;
	rc = http_request__parse(p, left, NULL, &req, &err);
	assert_int_equal(rc, strlen("GET /one HTTP/1.1\r\nHost: h\r\n\r\n"));
	assert_slice(req.target, "/one");
	p += rc;
	left -= (size_t)rc;

	rc = http_request__parse(p, left, NULL, &req, &err);
	assert_int_equal(
	    rc, strlen("POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"));
	assert_slice(req.target, "/two");
	assert_int_equal(req.content_length, 5);
	p += rc + 5;
	left -= (size_t)rc + 5;

	/* A stray CRLF after a body is skipped (RFC 9112 2.2). */
	rc = http_request__parse(p, left, NULL, &req, &err);
	assert_int_equal(rc, left);
	assert_slice(req.target, "/three");
}

/* Every strict prefix of text is INCOMPLETE (each against a guard page);
 * the whole of it parses. */
static void check_every_prefix_request(const char *text, size_t len)
{
	enum http_error err;
	size_t i;

	for (i = 0; i < len; i++) {
		struct guarded g;
		char *p = guard_map(text, i, &g);
		int rc = http_request__parse(p, i, NULL, &req, &err);

		guard_unmap(&g);
		if (rc != HTTP_PARSE_INCOMPLETE) {
			print_error("prefix %zu of \"%s\": %d (%s)\n", i, text, rc,
				    http_error__name(err));
			fail();
		}
	}
	assert_int_equal(parse_request_len(text, len, NULL, &err), len);
}

static void check_every_prefix_response(const char *text, size_t len, struct http_slice m)
{
	enum http_error err;
	size_t i;

	for (i = 0; i < len; i++) {
		struct guarded g;
		char *p = guard_map(text, i, &g);
		int rc = http_response__parse(p, i, NULL, m, &resp, &err);

		guard_unmap(&g);
		if (rc != HTTP_PARSE_INCOMPLETE) {
			print_error("prefix %zu of \"%s\": %d (%s)\n", i, text, rc,
				    http_error__name(err));
			fail();
		}
	}
	assert_int_equal(parse_response_len(text, len, m, &err), len);
}

static void test_incremental(void **state)
{
	static const char *const requests[] = {
	    "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	    "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
	    "POST /api/v1/things?x=%2F HTTP/1.1\r\nHost: api.internal:8080\r\n"
	    "Content-Type: application/json\r\nX-Long: "
	    "0123456789abcdef0123456789abcdef\r\n"
	    "X-Empty:\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "OPTIONS * HTTP/1.0\r\n\r\n",
	    "GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n",
	};
	static const char *const responses[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
	    "HTTP/1.1 204\r\n\r\n",
	    "HTTP/1.0 404 Not Found\r\nServer: x\r\nX-Long: 0123456789abcdef0123\r\n\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		check_every_prefix_request(requests[i], strlen(requests[i]));
	for (i = 0; i < sizeof(responses) / sizeof(responses[0]); i++)
		check_every_prefix_response(responses[i], strlen(responses[i]), S("GET"));
}

/* A bad head never parses as good from any prefix: each prefix is
 * INCOMPLETE or the same error. */
static void test_incremental_errors(void **state)
{
	static const struct {
		const char *text;
		enum http_error err;
	} cases[] = {
	    {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n",
	     HTTP_ERR_CL_AND_TE},
	    {"GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n", HTTP_ERR_BARE_CR},
	    {"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", HTTP_ERR_BARE_LF},
	    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", HTTP_ERR_OBS_FOLD},
	    {"GET / HTTP/1.3\r\nHost: h\r\n\r\n", HTTP_ERR_BAD_VERSION},
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);

		for (j = 0; j <= len; j++) {
			enum http_error err = HTTP_ERR_NONE;
			struct guarded g;
			char *p = guard_map(cases[i].text, j, &g);
			int rc = http_request__parse(p, j, NULL, &req, &err);

			guard_unmap(&g);
			if (j == len || rc != HTTP_PARSE_INCOMPLETE) {
				assert_int_equal(rc, HTTP_PARSE_ERROR);
				assert_int_equal(err, cases[i].err);
			}
		}
	}
}

/* Inputs cut at every point of a long value, each ending on the guard page
 * (the 8-byte value scan must not look past the end). */
static void test_guard_page_values(void **state)
{
	static const char text[] =
	    "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: 0123456789abcdef0123456789abcdef0123456789abcdef01"
	    "\r\n\r\n";
	enum http_error err;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++)
		check_every_prefix_request(text, sizeof(text) - 1);
	assert_int_equal(PARSE_REQ("GET / HTTP/1.1\r\nHost: h\r\nX: 01234567", &err),
			 HTTP_PARSE_INCOMPLETE);
	assert_int_equal(PARSE_REQ("GET / HTTP/1.1\r\nHost: h\r\nX: 01234567\r", &err),
			 HTTP_PARSE_INCOMPLETE);
	assert_int_equal(PARSE_REQ("GET / HTTP/1.1\r\nHost: h\r\n\r", &err),
			 HTTP_PARSE_INCOMPLETE);
	assert_int_equal(http_request__parse(guard("", 0), 0, NULL, &req, &err),
			 HTTP_PARSE_INCOMPLETE);
	assert_int_equal(
	    http_response__parse(guard("", 0), 0, NULL, S("GET"), &resp, &err),
	    HTTP_PARSE_INCOMPLETE);
	assert_int_equal(
	    parse_response_len("HTTP/1.1 200 0123456789abcdef", 29, S("GET"), &err),
	    HTTP_PARSE_INCOMPLETE);
}

/* Empty input (even NULL), and the optional out-parameters left NULL. */
static void test_empty_and_null(void **state)
{
	struct http_chunked c = {0};
	enum http_error err = HTTP_ERR_BAD_CL;
	bool done = true;
	char out[4];

	(void)state;
	assert_int_equal(http_request__parse(NULL, 0, NULL, &req, &err),
			 HTTP_PARSE_INCOMPLETE);
	assert_int_equal(err, HTTP_ERR_NONE);
	assert_int_equal(http_response__parse(NULL, 0, NULL, S("GET"), &resp, &err),
			 HTTP_PARSE_INCOMPLETE);
	assert_int_equal(http_chunked__feed(&c, NULL, 0, &done), 0);
	assert_false(done);
	assert_int_equal(
	    http_target__normalise((struct http_slice){NULL, 0}, out, 4, NULL), -1);
	assert_int_equal(
	    http_request__parse("GET / HTTP/1.1\r\n\r\n", 18, NULL, &req, NULL),
	    HTTP_PARSE_ERROR);
	assert_int_equal(
	    http_request__parse("GET / HTTP/1.0\r\n\r\n", 18, NULL, &req, NULL), 18);
	assert_int_equal(http_chunked__feed(&c, "0\r\n\r\n", 5, NULL), 5);
	assert_int_equal(http_chunked__feed(&c, "0\r\n\r\n", 5, &done), 0);
	assert_true(done);
}

/* ---- responses ---------------------------------------------------------- */

static void test_response_framing(void **state)
{
	enum http_error err;

	(void)state;
	RESPONSE_OK("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", S("GET"));
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.minor_version, 1);
	assert_slice(resp.reason, "OK");
	assert_int_equal(resp.header_count, 1);
	assert_int_equal(resp.body, HTTP_BODY_LENGTH);
	assert_int_equal(resp.content_length, 12);
	assert_true(resp.keep_alive);

	RESPONSE_OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", S("POST"));
	assert_int_equal(resp.body, HTTP_BODY_CHUNKED);
	assert_true(resp.keep_alive);

	RESPONSE_OK("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", S("GET"));
	assert_int_equal(resp.body, HTTP_BODY_UNTIL_CLOSE);
	assert_false(resp.keep_alive);

	/* No body, whatever the fields say. */
	RESPONSE_OK("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", S("HEAD"));
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	assert_true(resp.keep_alive);
	RESPONSE_OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", S("HEAD"));
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	RESPONSE_OK("HTTP/1.1 200 OK\r\n\r\n", S("HEAD"));
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	assert_true(resp.keep_alive);
	RESPONSE_OK("HTTP/1.1 100 Continue\r\n\r\n", S("PUT"));
	assert_int_equal(resp.status, 100);
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	RESPONSE_OK("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		    "Upgrade: websocket\r\n\r\n",
		    S("GET"));
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	RESPONSE_OK("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", S("DELETE"));
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	assert_int_equal(resp.content_length, 0);
	RESPONSE_OK("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", S("GET"));
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	RESPONSE_OK("HTTP/1.1 200 Connection established\r\n\r\n", S("CONNECT"));
	assert_int_equal(resp.body, HTTP_BODY_NONE);
	RESPONSE_OK("HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n", S("CONNECT"));
	assert_int_equal(resp.body, HTTP_BODY_LENGTH);
	RESPONSE_OK("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", S("head"));
	assert_int_equal(resp.body, HTTP_BODY_LENGTH);

	/* Keep-alive by version and Connection. */
	RESPONSE_OK("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		    S("GET"));
	assert_false(resp.keep_alive);
	RESPONSE_OK("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", S("GET"));
	assert_int_equal(resp.minor_version, 0);
	assert_false(resp.keep_alive);
	RESPONSE_OK(
	    "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
	    S("GET"));
	assert_true(resp.keep_alive);
	RESPONSE_OK("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", S("GET"));
	assert_int_equal(resp.body, HTTP_BODY_UNTIL_CLOSE);
	assert_false(resp.keep_alive);

	/* Reason phrases. */
	RESPONSE_OK("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", S("GET"));
	assert_slice(resp.reason, "");
	RESPONSE_OK("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", S("GET"));
	assert_slice(resp.reason, "");
	RESPONSE_OK("HTTP/1.1 404 Not\tFound caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
		    S("GET"));
	assert_slice(resp.reason, "Not\tFound caf\xc3\xa9");
	assert_int_equal(resp.status, 404);
	assert_int_equal(
	    parse_response_len("HTTP/1.1 599 x\r\n\r\nHTTP/1.1", 26, S("GET"), &err), 18);
}

static void test_response_errors(void **state)
{
	(void)state;
	RESPONSE_ERROR("HTTP/2 200 OK\r\n\r\n", HTTP_ERR_BAD_VERSION);
	RESPONSE_ERROR("HTTP/1.2 200 OK\r\n\r\n", HTTP_ERR_BAD_VERSION);
	RESPONSE_ERROR("ICY 200 OK\r\n\r\n", HTTP_ERR_BAD_VERSION);
	RESPONSE_ERROR("\r\nHTTP/1.1 200 OK\r\n\r\n", HTTP_ERR_BAD_VERSION);
	RESPONSE_ERROR("HTTP/1.1  200 OK\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 20 OK\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 2000 OK\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 099 OK\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 600 OK\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 -20 OK\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 200 O\x01K\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 200 O\0K\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 200\tOK\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1\t200 OK\r\n\r\n", HTTP_ERR_BAD_STATUS);
	RESPONSE_ERROR("HTTP/1.1 200 OK\n\r\n", HTTP_ERR_BARE_LF);
	RESPONSE_ERROR("HTTP/1.1 200 OK\rX\r\n", HTTP_ERR_BARE_CR);
	RESPONSE_ERROR("HTTP/1.1 200 OK\r\nContent-Length: 1\nX: y\r\n\r\n",
		       HTTP_ERR_BARE_LF);
	RESPONSE_ERROR("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", HTTP_ERR_OBS_FOLD);
	RESPONSE_ERROR("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", HTTP_ERR_BAD_HEADER_NAME);
	RESPONSE_ERROR(
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    HTTP_ERR_CL_AND_TE);
	RESPONSE_ERROR(
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
	    HTTP_ERR_DUPLICATE_CL);
	RESPONSE_ERROR("HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\n", HTTP_ERR_BAD_CL);
	RESPONSE_ERROR("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		       HTTP_ERR_BAD_TE);
	RESPONSE_ERROR("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		       HTTP_ERR_BAD_TE);
}

/* ---- chunked framing ---------------------------------------------------- */

/*
 * Feed text in pieces of `step` bytes (0: all at once), each piece on its
 * own guard page. Returns the bytes the body took, or -1 on an error;
 * *done as the decoder said.
 */
static long feed_pieces(const char *text, size_t len, size_t step, bool *done)
{
	struct http_chunked c = {0};
	size_t off = 0;

	*done = false;
	if (!step)
		step = len ? len : 1;
	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		struct guarded g;
		char *p = guard_map(text + off, n, &g);
		long rc = http_chunked__feed(&c, p, n, done);

		guard_unmap(&g);
		if (rc < 0)
			return -1;
		assert_true((size_t)rc <= n);
		off += (size_t)rc;
		if (*done)
			return (long)off;
		assert_int_equal(rc, n); /* not done: it took all of it */
	}
	return (long)off;
}

/* text is a whole chunked body (plus maybe `extra` bytes of the next
 * message): in one piece, byte by byte and in 2-, 3- and 7-byte pieces. */
static void chunked_ok_at(const char *text, size_t len, size_t extra, const char *file,
			  int line)
{
	static const size_t steps[] = {0, 1, 2, 3, 7};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bool done;
		long rc = feed_pieces(text, len, steps[i], &done);

		if (rc != (long)(len - extra) || !done) {
			print_error("chunked \"%s\" step %zu: %ld, done %d\n", text,
				    steps[i], rc, done);
			_fail(file, line);
		}
	}
}
#define CHUNKED_OK(text) chunked_ok_at((text), sizeof(text) - 1, 0, __FILE__, __LINE__)

/* text must fail, however it is split. */
static void chunked_error_at(const char *text, size_t len, const char *file, int line)
{
	static const size_t steps[] = {0, 1, 2, 3, 7};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bool done;
		long rc = feed_pieces(text, len, steps[i], &done);

		if (rc != -1) {
			print_error("chunked \"%s\" step %zu: %ld, done %d\n", text,
				    steps[i], rc, done);
			_fail(file, line);
		}
	}
}
#define CHUNKED_ERROR(text) chunked_error_at((text), sizeof(text) - 1, __FILE__, __LINE__)

static void test_chunked_valid(void **state)
{
	(void)state;
	CHUNKED_OK("0\r\n\r\n");
	CHUNKED_OK("5\r\nhello\r\n0\r\n\r\n");
	CHUNKED_OK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
	CHUNKED_OK("a\r\n0123456789\r\nA\r\n0123456789\r\n000\r\n\r\n");
	CHUNKED_OK("0004\r\n\r\n\r\n\r\n0\r\n\r\n"); /* data may be CRLFs */
	CHUNKED_OK("5;ext\r\nhello\r\n0;last\r\n\r\n");
	CHUNKED_OK("5;a=b;c=\"quoted; \\\"x\\\" \t\";d\r\nhello\r\n0\r\n\r\n");
	CHUNKED_OK("5;a=\"\"\r\nhello\r\n0\r\n\r\n");
	CHUNKED_OK("0\r\nX-Checksum: abc\r\nY:\r\nZ:  spaced \t\r\n\r\n");
	CHUNKED_OK("3\r\n\0\x01\xff\r\n0\r\nX: caf\xc3\xa9\r\n\r\n");
	chunked_ok_at("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
		      sizeof("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n") - 1,
		      strlen("GET / HTTP/1.1\r\n"), __FILE__, __LINE__);
}

static void test_chunked_state(void **state)
{
	static const char body[] = "4;x=y\r\nWiki\r\n0\r\nT: v\r\n\r\n";
	struct http_chunked c = {0};
	bool done = true;
	size_t i;

	(void)state;
	/* Byte by byte, each byte is taken, and done comes with the last. */
	for (i = 0; i < sizeof(body) - 1; i++) {
		char *p = guard(body + i, 1);

		assert_int_equal(http_chunked__feed(&c, p, 1, &done), 1);
		assert_int_equal(done, i == sizeof(body) - 2);
		release_guarded(NULL);
	}
	/* After done, nothing more is the body's. */
	assert_int_equal(http_chunked__feed(&c, "5\r\n", 3, &done), 0);
	assert_true(done);
	assert_int_equal(http_chunked__feed(&c, "", 0, &done), 0);
	assert_true(done);

	/* Empty feeds in the middle change nothing. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(http_chunked__feed(&c, "5\r\nhel", 6, &done), 6);
	assert_false(done);
	assert_int_equal(http_chunked__feed(&c, "", 0, &done), 0);
	assert_false(done);
	assert_int_equal(http_chunked__feed(&c, "lo\r\n0\r\n\r\nNEXT", 13, &done), 9);
	assert_true(done);

	/* An error stays an error. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(http_chunked__feed(&c, "x", 1, &done), HTTP_PARSE_ERROR);
	assert_int_equal(http_chunked__feed(&c, "0\r\n\r\n", 5, &done), HTTP_PARSE_ERROR);
	assert_int_equal(http_chunked__feed(&c, "", 0, &done), HTTP_PARSE_ERROR);
	assert_false(done);

	/* The largest chunk is 2^62 bytes; the data is counted down. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(http_chunked__feed(&c, "4000000000000000\r\nab", 20, &done), 20);
	assert_int_equal(c.remaining, (UINT64_C(1) << 62) - 2);
	memset(&c, 0, sizeof(c));
	assert_int_equal(http_chunked__feed(&c, "3fffffffffffffff\r\n", 18, &done), 18);
	assert_int_equal(c.remaining, (UINT64_C(1) << 62) - 1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(http_chunked__feed(&c, "00000000000000000000001\r\n", 25, &done),
			 25);
	assert_int_equal(c.remaining, 1);
}

static void test_chunked_errors(void **state)
{
	char line[5000];

	(void)state;
	/* Sizes. */
	CHUNKED_ERROR("\r\n\r\n");
	CHUNKED_ERROR("x\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("g\r\n");
	CHUNKED_ERROR("0x10\r\n0123456789abcdef\r\n0\r\n\r\n");
	CHUNKED_ERROR("-1\r\n");
	CHUNKED_ERROR("+1\r\nx\r\n0\r\n\r\n");
	CHUNKED_ERROR(" 5\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5 \r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5\t\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5 ;a\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("4000000000000001\r\n");
	CHUNKED_ERROR("10000000000000000\r\n"); /* 2^64 */
	CHUNKED_ERROR("fffffffffffffffffffffff\r\n");
	CHUNKED_ERROR("5\0\r\nhello\r\n0\r\n\r\n");
	/* Line ends. */
	CHUNKED_ERROR("5\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5\rhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5\r\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5\r\nhello\n0\r\n\r\n");
	CHUNKED_ERROR("5\r\nhello\r0\r\n\r\n");
	CHUNKED_ERROR("5\r\nhelloX\r\n0\r\n\r\n");
	CHUNKED_ERROR("5\r\nhello0\r\n\r\n");
	CHUNKED_ERROR("5\r\nhello\r\n\r\n0\r\n\r\n");
	CHUNKED_ERROR("5\r\nhello\r\n0\n\r\n");
	CHUNKED_ERROR("5\r\nhello\r\n0\r\n\n");
	CHUNKED_ERROR("5\r\nhello\r\n0\r\n\rX");
	/* Extensions. */
	CHUNKED_ERROR("5;\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5; a\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a =b\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a=\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a=b c\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a=\x01\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a\nb\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a\rb\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a=\"x\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n");
	CHUNKED_ERROR("5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n");
	/* Trailers. */
	CHUNKED_ERROR("0\r\nX: a\r\n b\r\n\r\n");
	CHUNKED_ERROR("0\r\n X: a\r\n\r\n");
	CHUNKED_ERROR("0\r\nX : a\r\n\r\n");
	CHUNKED_ERROR("0\r\n: a\r\n\r\n");
	CHUNKED_ERROR("0\r\nX\r\n\r\n");
	CHUNKED_ERROR("0\r\nX: a\n\r\n");
	CHUNKED_ERROR("0\r\nX: a\rb\r\n\r\n");
	CHUNKED_ERROR("0\r\nX: a\x7f\r\n\r\n");
	CHUNKED_ERROR("0\r\nX: a\0\r\n\r\n");

	/* Lines of at most 4096 bytes. */
	memset(line, 0, sizeof(line));
	strcpy(line, "5;a=");
	memset(line + 4, 'x', 4091);
	strcat(line, "\r\nhello\r\n0\r\n\r\n"); /* 4095 bytes + CR */
	chunked_ok_at(line, strlen(line), 0, __FILE__, __LINE__);
	memset(line, 0, sizeof(line));
	strcpy(line, "5;a=");
	memset(line + 4, 'x', 4092);
	strcat(line, "\r\nhello\r\n0\r\n\r\n");
	chunked_error_at(line, strlen(line), __FILE__, __LINE__);
	memset(line, 0, sizeof(line));
	strcpy(line, "0\r\nX: ");
	memset(line + 6, 'x', 4092);
	strcat(line, "\r\nY: y\r\n\r\n"); /* "X: " 4092 bytes CR */
	chunked_ok_at(line, strlen(line), 0, __FILE__, __LINE__);
	memset(line, 0, sizeof(line));
	strcpy(line, "0\r\nX: ");
	memset(line + 6, 'x', 4093);
	strcat(line, "\r\n\r\n");
	chunked_error_at(line, strlen(line), __FILE__, __LINE__);
}

/* ---- normalisation ------------------------------------------------------ */

static void normalise_ok_at(const char *target, const char *want, const char *want_host,
			    const char *file, int line)
{
	char out[256];
	struct http_slice host = {"x", 1};
	size_t len = strlen(target);
	long rc = http_target__normalise((struct http_slice){guard(target, len), len},
					 out, sizeof(out), &host);

	if (rc < 0 || strcmp(out, want) || (size_t)rc != strlen(want)) {
		print_error("normalise \"%s\": %ld \"%s\", want \"%s\"\n", target, rc,
			    rc < 0 ? "" : out, want);
		_fail(file, line);
	}
	if (want_host)
		assert_slice_at(host, want_host, file, line);
	else if (host.ptr || host.len)
		_fail(file, line);
}
#define NORMALISE_OK(target, want)                                                       \
	normalise_ok_at((target), (want), NULL, __FILE__, __LINE__)
#define NORMALISE_HOST(target, want, host)                                               \
	normalise_ok_at((target), (want), (host), __FILE__, __LINE__)

static void normalise_bad_at(const char *target, size_t len, const char *file, int line)
{
	char out[256];
	long rc = http_target__normalise((struct http_slice){guard(target, len), len},
					 out, sizeof(out), NULL);

	if (rc != -1) {
		print_error("normalise \"%.*s\": %ld \"%s\", want -1\n", (int)len, target,
			    rc, out);
		_fail(file, line);
	}
}
#define NORMALISE_BAD(target)                                                            \
	normalise_bad_at((target), sizeof(target) - 1, __FILE__, __LINE__)

static void test_normalise_paths(void **state)
{
	(void)state;
	NORMALISE_OK("/", "/");
	NORMALISE_OK("/a/b?q=1", "/a/b?q=1");
	NORMALISE_OK("/a/./b/../c", "/a/c");
	NORMALISE_OK("/a/b/c/./../../g", "/a/g");
	NORMALISE_OK("/..", "/");
	NORMALISE_OK("/../../x", "/x");
	NORMALISE_OK("/.", "/");
	NORMALISE_OK("/./", "/");
	NORMALISE_OK("/a/.", "/a/");
	NORMALISE_OK("/a/..", "/");
	NORMALISE_OK("/a/b/..", "/a/");
	NORMALISE_OK("/a/b/../", "/a/");
	NORMALISE_OK("/a/./", "/a/");
	NORMALISE_OK("/a//b", "/a//b");
	NORMALISE_OK("//", "//");
	NORMALISE_OK("/a/b//", "/a/b//");
	NORMALISE_OK("/a//b/../c", "/a//c");
	NORMALISE_OK("/...", "/...");
	NORMALISE_OK("/..a/a..", "/..a/a..");
	NORMALISE_OK("/.hidden/x", "/.hidden/x");
	NORMALISE_OK("/a;b/c;d=1", "/a;b/c;d=1");
	NORMALISE_OK("/public/../admin?x", "/admin?x");

	/* Percent-encoding: unreserved decoded, the rest uppercased. */
	NORMALISE_OK("/%41%62c%2d%2E%5f%7e%30", "/Abc-._~0");
	NORMALISE_OK("/%2e%2e/", "/");
	NORMALISE_OK("/%2E%2e", "/");
	NORMALISE_OK("/a/%2e/b/.%2E/c", "/a/c");
	NORMALISE_OK("/public/%2e%2e/admin", "/admin");
	NORMALISE_OK("/a%2fb", "/a%2Fb");
	NORMALISE_OK("/a%2Fb/..%2f", "/a%2Fb/..%2F");
	NORMALISE_OK("/public/..%2Fadmin", "/public/..%2Fadmin");
	NORMALISE_OK("/%5c%3f%23%20", "/%5C%3F%23%20");
	NORMALISE_OK("/%c3%a9", "/%C3%A9");
	NORMALISE_OK("/%25", "/%25");
	NORMALISE_OK("/%252e%252e/", "/%252e%252e/"); /* one decoding only */
	NORMALISE_OK("/%ff", "/%FF");

	/* The query is kept as received. */
	NORMALISE_OK("/a/../b?x=/../%2f&y=%41", "/b?x=/../%2f&y=%41");
	NORMALISE_OK("/?", "/?");
	NORMALISE_OK("/a??b", "/a??b");
}

static void test_normalise_forms(void **state)
{
	(void)state;
	NORMALISE_HOST("http://Example.com:8080/a/../b?q", "/b?q", "Example.com:8080");
	NORMALISE_HOST("http://h", "/", "h");
	NORMALISE_HOST("http://h?x=1", "/?x=1", "h");
	NORMALISE_HOST("HTTPS://h/%41", "/A", "h");
	NORMALISE_HOST("http://[::1]:80/", "/", "[::1]:80");
	NORMALISE_HOST("db.internal:5432", "", "db.internal:5432");
	NORMALISE_OK("*", "*");
	NORMALISE_BAD("http://u@h/");
	NORMALISE_BAD("http:///a");
	NORMALISE_BAD("http://h:x/");
	NORMALISE_BAD("ftp://h/");
	NORMALISE_BAD("a/b");
	NORMALISE_BAD("db.internal");
	NORMALISE_BAD("**");
	NORMALISE_BAD("");
}

static void test_normalise_invalid(void **state)
{
	char out[8];
	long rc;

	(void)state;
	NORMALISE_BAD("/%zz");
	NORMALISE_BAD("/%4");
	NORMALISE_BAD("/%");
	NORMALISE_BAD("/%4?");
	NORMALISE_BAD("/%00");
	NORMALISE_BAD("/a?%00");
	NORMALISE_BAD("/a?%g1");
	NORMALISE_BAD("/a?b%");
	NORMALISE_BAD("/a#frag");
	NORMALISE_BAD("/a\\..\\b");
	NORMALISE_BAD("/a b");
	NORMALISE_BAD("/a\0b");
	NORMALISE_BAD("/a\x01");
	NORMALISE_BAD("/a\x7f");
	NORMALISE_BAD("/caf\xc3\xa9");
	/* Shapes servers resolve differently. */
	NORMALISE_BAD("/a//../b");
	NORMALISE_BAD("//..");
	NORMALISE_BAD("/public//../admin");
	NORMALISE_BAD("/a/%2e%2e//../b");
	NORMALISE_BAD("/public/..;/admin");
	NORMALISE_BAD("/public/.;/admin");
	NORMALISE_BAD("/public/..;x=1/admin");
	NORMALISE_BAD("/public/%2e%2e;/admin");

	/* Output space: the result and its NUL must fit. */
	rc = http_target__normalise(S("/abcdef"), out, 8, NULL);
	assert_int_equal(rc, 7);
	assert_string_equal(out, "/abcdef");
	assert_int_equal(http_target__normalise(S("/abcdefg"), out, 8, NULL), -1);
	assert_int_equal(http_target__normalise(S("/ab?cdef"), out, 8, NULL), -1);
	assert_int_equal(http_target__normalise(S("/a/../b?cdef"), out, 8, NULL), 7);
	assert_string_equal(out, "/b?cdef");
	assert_int_equal(http_target__normalise(S("/%c3%a9"), out, 8, NULL), 7);
	assert_int_equal(http_target__normalise(S("/%c3%a9"), out, 7, NULL), -1);
	assert_int_equal(http_target__normalise(S("*"), out, 1, NULL), -1);
	assert_int_equal(http_target__normalise(S("http://h"), out, 1, NULL), -1);
	assert_int_equal(http_target__normalise(S("/"), out, 0, NULL), -1);
	assert_int_equal(http_target__normalise(S("/"), NULL, 8, NULL), -1);
}

/* ---- small things ------------------------------------------------------- */

static void test_headers_find(void **state)
{
	static const char text[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Token: one\r\n"
				   "x-token: two\r\nAccept: */*\r\n\r\n";
	const struct http_header *h;
	enum http_error err;

	(void)state;
	assert_int_equal(PARSE_REQ(text, &err), sizeof(text) - 1);
	h = http_headers__find(req.headers, req.header_count, "X-TOKEN");
	assert_non_null(h);
	assert_slice(h->value, "one");
	h = http_headers__find(req.headers, req.header_count, "accept");
	assert_non_null(h);
	assert_slice(h->value, "*/*");
	assert_null(http_headers__find(req.headers, req.header_count, "X-Tok"));
	assert_null(http_headers__find(req.headers, req.header_count, "X-Tokens"));
	assert_null(http_headers__find(req.headers, 0, "Host"));
}

static void test_error_names(void **state)
{
	const char *seen[HTTP_ERR_BAD_STATUS + 1];
	int i, j;

	(void)state;
	assert_string_equal(http_error__name(HTTP_ERR_CL_AND_TE),
			    "conflicting Content-Length and Transfer-Encoding");
	assert_string_equal(http_error__name(HTTP_ERR_BARE_LF),
			    "line ending in LF without CR");
	for (i = 0; i <= HTTP_ERR_BAD_STATUS; i++) {
		seen[i] = http_error__name((enum http_error)i);
		assert_non_null(seen[i]);
		assert_true(strlen(seen[i]) > 3);
		assert_null(strstr(seen[i], "unknown"));
		for (j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
	assert_string_equal(http_error__name((enum http_error)999), "unknown HTTP error");
}

#define T(name) cmocka_unit_test_teardown(name, release_guarded)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_request_simple),
	    T(test_request_methods),
	    T(test_request_line_errors),
	    T(test_request_targets),
	    T(test_request_leading_empty_lines),
	    T(test_request_bare_cr_lf),
	    T(test_request_header_errors),
	    T(test_request_too_many_headers),
	    T(test_request_head_too_large),
	    T(test_request_content_length),
	    T(test_request_transfer_encoding),
	    T(test_request_cl_and_te),
	    T(test_request_host),
	    T(test_request_connection),
	    T(test_request_pipelined),
	    T(test_incremental),
	    T(test_incremental_errors),
	    T(test_guard_page_values),
	    T(test_empty_and_null),
	    T(test_response_framing),
	    T(test_response_errors),
	    T(test_chunked_valid),
	    T(test_chunked_state),
	    T(test_chunked_errors),
	    T(test_normalise_paths),
	    T(test_normalise_forms),
	    T(test_normalise_invalid),
	    T(test_headers_find),
	    T(test_error_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
