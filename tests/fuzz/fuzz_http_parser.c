// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for lib/l7/http_parser.c. Each input goes through all four
 * entry points, and besides "no crash, no leak, no UB, no read past the
 * end" (every buffer handed over is a malloc'd copy of exactly its length)
 * checks properties a parser that reads differently from itself would
 * break:
 *  - a head that parses also parses, to the same length, when cut right
 *    after it, and is INCOMPLETE one byte earlier; slices lie inside it;
 *  - a smaller max_head is never exceeded;
 *  - chunked framing fed in pieces (sizes drawn from the input) agrees
 *    with the same bytes fed at once;
 *  - normalising a normalised path changes nothing.
 * Build and run: `make fuzz` (tests/run-fuzz.sh), seeds in
 * tests/fuzz/seeds/fuzz_http_parser/.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "warden/http_parser.h"

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond))                                                             \
			__builtin_trap();                                                \
	} while (0)

static char *copy(const uint8_t *data, size_t len)
{
	char *p = malloc(len ? len : 1);

	CHECK(p);
	if (len)
		memcpy(p, data, len);
	return p;
}

static bool slice_inside(struct http_slice s, const char *buf, size_t len)
{
	if (!s.ptr)
		return s.len == 0;
	return s.ptr >= buf && s.ptr + s.len <= buf + len;
}

static void check_headers(const struct http_header *h, size_t count, const char *buf,
			  size_t len)
{
	size_t i;

	CHECK(count <= HTTP_MAX_HEADERS);
	for (i = 0; i < count; i++) {
		CHECK(h[i].name.len > 0);
		CHECK(slice_inside(h[i].name, buf, len));
		CHECK(slice_inside(h[i].value, buf, len));
	}
}

/* Normalise target; a result that is a path normalises to itself. */
static void normalise(const char *target, size_t len)
{
	size_t out_len = len + 2;
	char *out = malloc(out_len), *again;
	struct http_slice host;
	long rc, rc2;

	CHECK(out);
	rc =
	    http_target__normalise((struct http_slice){target, len}, out, out_len, &host);
	CHECK(rc >= -1 && rc < (long)out_len);
	if (rc >= 0) {
		CHECK(out[rc] == '\0' && strlen(out) == (size_t)rc);
		CHECK(slice_inside(host, target, len));
		if (rc > 0 && out[0] == '/') {
			again = malloc((size_t)rc + 1);
			CHECK(again);
			rc2 = http_target__normalise((struct http_slice){out, (size_t)rc},
						     again, (size_t)rc + 1, NULL);
			CHECK(rc2 == rc && !memcmp(out, again, (size_t)rc));
			free(again);
		}
	}
	/* Too little room is an error, never an overflow. */
	if (out_len > 2) {
		rc2 = http_target__normalise((struct http_slice){target, len}, out,
					     out_len / 2, NULL);
		CHECK(rc2 == -1 || (rc2 >= 0 && rc2 < (long)(out_len / 2)));
	}
	free(out);
}

static void fuzz_request(const uint8_t *data, size_t size)
{
	static struct http_request req;
	struct http_limits small = {.max_head = 1 + (size ? data[0] : 0) * 4};
	enum http_error err;
	char *buf = copy(data, size), *cut;
	int rc, rc2;

	rc = http_request__parse(buf, size, NULL, &req, &err);
	CHECK(rc == HTTP_PARSE_INCOMPLETE || rc == HTTP_PARSE_ERROR ||
	      (rc > 0 && (size_t)rc <= size));
	CHECK((rc == HTTP_PARSE_ERROR) == (err != HTTP_ERR_NONE));
	if (rc > 0) {
		check_headers(req.headers, req.header_count, buf, size);
		CHECK(slice_inside(req.method, buf, size) && req.method.len);
		CHECK(slice_inside(req.target, buf, size) && req.target.len);
		CHECK(slice_inside(req.host, buf, size));
		CHECK(req.minor_version == 0 || req.minor_version == 1);
		CHECK(req.body != HTTP_BODY_UNTIL_CLOSE);
		CHECK(req.minor_version == 1 || req.body != HTTP_BODY_CHUNKED);
		normalise(req.target.ptr, req.target.len);
		(void)http_headers__find(req.headers, req.header_count, "host");

		cut = copy(data, (size_t)rc);
		CHECK(http_request__parse(cut, (size_t)rc, NULL, &req, &err) == rc);
		CHECK(http_request__parse(cut, (size_t)rc - 1, NULL, &req, &err) ==
		      HTTP_PARSE_INCOMPLETE);
		free(cut);
	}

	rc2 = http_request__parse(buf, size, &small, &req, &err);
	CHECK(rc2 < 0 || (size_t)rc2 <= small.max_head);
	CHECK(rc2 != HTTP_PARSE_INCOMPLETE || size <= small.max_head);
	if (rc2 > 0)
		CHECK(rc2 == rc);
	if (rc > 0 && (size_t)rc <= small.max_head)
		CHECK(rc2 == rc);
	free(buf);
}

static void fuzz_response(const uint8_t *data, size_t size)
{
	static const struct http_slice methods[] = {
	    {"GET", 3}, {"HEAD", 4}, {"CONNECT", 7}, {NULL, 0}};
	static struct http_response resp;
	struct http_slice method = methods[size % 4];
	enum http_error err;
	char *buf = copy(data, size), *cut;
	int rc;

	rc = http_response__parse(buf, size, NULL, method, &resp, &err);
	CHECK(rc == HTTP_PARSE_INCOMPLETE || rc == HTTP_PARSE_ERROR ||
	      (rc > 0 && (size_t)rc <= size));
	CHECK((rc == HTTP_PARSE_ERROR) == (err != HTTP_ERR_NONE));
	if (rc > 0) {
		check_headers(resp.headers, resp.header_count, buf, size);
		CHECK(slice_inside(resp.reason, buf, size));
		CHECK(resp.status >= 100 && resp.status <= 599);
		CHECK(resp.body != HTTP_BODY_UNTIL_CLOSE || !resp.keep_alive);
		cut = copy(data, (size_t)rc);
		CHECK(http_response__parse(cut, (size_t)rc, NULL, method, &resp, &err) ==
		      rc);
		CHECK(http_response__parse(cut, (size_t)rc - 1, NULL, method, &resp,
					   &err) == HTTP_PARSE_INCOMPLETE);
		free(cut);
	}
	free(buf);
}

/* Feed all at once, then in pieces of 1..16 bytes; the two must agree. */
static void fuzz_chunked(const uint8_t *data, size_t size)
{
	struct http_chunked whole = {0}, parts = {0};
	bool done_whole = false, done_parts = false;
	char *buf = copy(data, size);
	long rc_whole, taken = 0;
	size_t off = 0, i = 0;

	rc_whole = http_chunked__feed(&whole, buf, size, &done_whole);
	CHECK(rc_whole == HTTP_PARSE_ERROR ||
	      (rc_whole >= 0 && (size_t)rc_whole <= size));
	CHECK(!done_whole || rc_whole >= 0);
	CHECK(done_whole || rc_whole < 0 || (size_t)rc_whole == size);
	free(buf);

	while (off < size) {
		size_t n = 1 + (data[i++ % size] & 15);
		char *piece;
		long rc;

		if (n > size - off)
			n = size - off;
		piece = copy(data + off, n);
		rc = http_chunked__feed(&parts, piece, n, &done_parts);
		free(piece);
		if (rc < 0) {
			taken = HTTP_PARSE_ERROR;
			break;
		}
		CHECK((size_t)rc <= n);
		taken += rc;
		off += n;
		if (done_parts)
			break;
		CHECK((size_t)rc == n);
	}
	CHECK(taken == rc_whole);
	CHECK(done_parts == done_whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	fuzz_request(data, size);
	fuzz_response(data, size);
	fuzz_chunked(data, size);
	buf = copy(data, size);
	normalise(buf, size);
	free(buf);
	return 0;
}
