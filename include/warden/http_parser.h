/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A zero-copy, allocation-free HTTP/1.x parser for the L7 proxy, strict on
 * purpose: anything two implementations could read differently (request
 * smuggling) is an error, so what the proxy checks is what the server sees.
 *
 * Conventions (picohttpparser-style):
 *  - (buf, len) in, {ptr, len} slices into buf out; nothing is allocated and
 *    the slices are valid while buf is;
 *  - returns the number of bytes the head took (> 0), HTTP_PARSE_INCOMPLETE
 *    when more bytes are needed, HTTP_PARSE_ERROR when the input is bad (then
 *    *error says why, and the proxy answers 400 and closes);
 *  - buf need not be NUL-terminated; nothing reads past buf + len.
 */
#ifndef WARDEN_HTTP_PARSER_H
#define WARDEN_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_PARSE_INCOMPLETE (-2)
#define HTTP_PARSE_ERROR (-1)

#define HTTP_MAX_HEADERS 100

struct http_slice {
	const char *ptr;
	size_t len;
};

struct http_header {
	struct http_slice name;	 /* as received (case kept) */
	struct http_slice value; /* leading/trailing OWS trimmed */
};

enum http_body {
	HTTP_BODY_NONE,	       /* no body (or a response to HEAD, 1xx, 204, 304) */
	HTTP_BODY_LENGTH,      /* Content-Length bytes follow */
	HTTP_BODY_CHUNKED,     /* Transfer-Encoding: chunked */
	HTTP_BODY_UNTIL_CLOSE, /* responses only: read until the server closes */
};

/* Why a message was refused (for logs, the access log and tests). */
enum http_error {
	HTTP_ERR_NONE = 0,
	HTTP_ERR_BAD_REQUEST_LINE,
	HTTP_ERR_BAD_METHOD,
	HTTP_ERR_BAD_TARGET,
	HTTP_ERR_BAD_VERSION,
	HTTP_ERR_BAD_HEADER_NAME,
	HTTP_ERR_BAD_HEADER_VALUE,
	HTTP_ERR_BARE_CR,  /* CR not followed by LF */
	HTTP_ERR_BARE_LF,  /* LF without CR as a line end */
	HTTP_ERR_OBS_FOLD, /* obsolete line folding */
	HTTP_ERR_TOO_MANY_HEADERS,
	HTTP_ERR_HEAD_TOO_LARGE, /* head over limits.max_head bytes */
	HTTP_ERR_CL_AND_TE,	 /* both Content-Length and Transfer-Encoding */
	HTTP_ERR_DUPLICATE_CL,	 /* two Content-Length headers (even equal) */
	HTTP_ERR_BAD_CL,	 /* not a plain decimal, or too large */
	HTTP_ERR_BAD_TE,	 /* a coding other than a final "chunked" */
	HTTP_ERR_MISSING_HOST,	 /* HTTP/1.1 without exactly one Host */
	HTTP_ERR_BAD_CHUNK,	 /* invalid chunk size line or framing */
	HTTP_ERR_BAD_STATUS,	 /* responses */
};

const char *http_error__name(enum http_error err);

struct http_limits {
	size_t max_head; /* request line + headers, bytes; default 16 KiB */
};

struct http_request {
	struct http_slice method;
	struct http_slice target; /* as received */
	int minor_version;	  /* 0 or 1 (HTTP/1.0, HTTP/1.1) */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t header_count;
	struct http_slice host; /* the Host header, or the authority of an
				 * absolute-form target (which then wins) */
	enum http_body body;
	uint64_t content_length; /* when body == HTTP_BODY_LENGTH */
	bool keep_alive;	 /* after this request (version + Connection) */
	bool expect_continue;	 /* Expect: 100-continue */
	bool upgrade;		 /* Connection: upgrade + Upgrade: present */
};

struct http_response {
	int status;
	int minor_version;
	struct http_slice reason;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t header_count;
	enum http_body body;
	uint64_t content_length;
	bool keep_alive;
};

/*
 * Parse a request head. Returns bytes consumed, HTTP_PARSE_INCOMPLETE or
 * HTTP_PARSE_ERROR (with *error set). limits may be NULL (defaults).
 */
int http_request__parse(const char *buf, size_t len, const struct http_limits *limits,
			struct http_request *req, enum http_error *error);

/*
 * Parse a response head. request_method tells whether the request was HEAD
 * (no body whatever the headers say). Same return convention.
 */
int http_response__parse(const char *buf, size_t len, const struct http_limits *limits,
			 struct http_slice request_method, struct http_response *resp,
			 enum http_error *error);

/*
 * Streaming chunked-body framing, so a large body is forwarded as it comes
 * and never buffered whole. Feed it the bytes after the head; it says how
 * many of them belong to the body (framing included, to be forwarded
 * verbatim) and whether the body (with its trailers) ended. Zero the
 * struct before the first feed of each body.
 */
struct http_chunked {
	int state;	    /* private */
	uint64_t remaining; /* private: bytes left in the current chunk */
	size_t line_len;    /* private: length of the current size/trailer line */
};

/*
 * Returns the number of bytes of buf that belong to the body (0..len), or
 * HTTP_PARSE_ERROR on a bad chunk size, framing or bare CR/LF. *done is set
 * when the terminating chunk and trailers were consumed (bytes after that
 * belong to the next message).
 */
long http_chunked__feed(struct http_chunked *c, const char *buf, size_t len, bool *done);

/*
 * The path a server will see for target, for matching: origin-form
 * "/a/b?q" as is; absolute-form "http://host/a" → "/a" (and *host_out is
 * the authority); then percent-decoding of unreserved characters only
 * (%41 → A, but %2F stays %2F so a decoded '/' cannot create segments),
 * uppercase hex for the rest, and removal of dot segments (RFC 3986 5.2.4)
 * in the path part (the query is kept as is). Returns the length written
 * to out (NUL-terminated), or -1 if the target is invalid (bad percent
 * escape, a NUL, or too long for out).
 */
long http_target__normalise(struct http_slice target, char *out, size_t out_len,
			    struct http_slice *host_out);

/* Case-insensitive header lookup; the first match or NULL. */
const struct http_header *http_headers__find(const struct http_header *headers,
					     size_t count, const char *name);

#endif /* WARDEN_HTTP_PARSER_H */
