// SPDX-License-Identifier: Apache-2.0
/*
 * Strict HTTP/1.x parsing for the L7 proxy: request and response heads,
 * streaming chunked framing and request-target normalisation.
 *
 * One pass over (buf, len), table lookups and an 8-bytes-at-a-time scan of
 * header values; no allocation, no callbacks. Every read is bounded by the
 * end of the input (the tests put it against a PROT_NONE page).
 *
 * Whatever two implementations could frame or route differently is an
 * error here (RFC 9112 lets a recipient reject it), because the proxy
 * judges a request by how it reads it and the server acts on how it reads
 * it. The choices beyond the RFC's MUSTs are marked "strict:" below.
 */
#include <limits.h>
#include <string.h>

#include "warden/http_parser.h"

#define DEFAULT_MAX_HEAD 16384
#define MAX_MAX_HEAD (1u << 30)		/* the parse functions return int */
#define MAX_CONTENT_LENGTH (1ull << 62) /* also the largest chunk */
#define MAX_CHUNK_LINE 4096		/* a chunk-size or trailer line */

/* Character classes (RFC 9110 5.6.2, 5.5; RFC 3986 2.3). */
#define C_TCHAR 0x01	  /* token */
#define C_VALUE 0x02	  /* field-value: HTAB, SP, VCHAR, obs-text */
#define C_TARGET 0x04	  /* request-target: VCHAR except '#' and '\' */
#define C_UNRESERVED 0x08 /* ALPHA DIGIT - . _ ~ (also our reg-name set) */
#define C_HEX 0x10	  /* HEXDIG */
#define C_QDTEXT 0x20	  /* quoted-string text: HTAB SP ! #-[ ]-~ obs-text */

/* clang-format off */
static const unsigned char char_class[256] = {
	/* 00 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 10 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 20 */ 0x22, 0x27, 0x06, 0x23, 0x27, 0x27, 0x27, 0x27, 0x26, 0x26, 0x27, 0x27, 0x26, 0x2f, 0x2f, 0x26,
	/* 30 */ 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26,
	/* 40 */ 0x26, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f,
	/* 50 */ 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x26, 0x02, 0x26, 0x27, 0x2f,
	/* 60 */ 0x27, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f,
	/* 70 */ 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x26, 0x27, 0x26, 0x2f, 0x00,
	/* 80 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* 90 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* a0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* b0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* c0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* d0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* e0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* f0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
};
/* clang-format on */

static inline bool is_class(char c, unsigned char cls)
{
	return char_class[(unsigned char)c] & cls;
}

static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char lower(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 'A' && u <= 'Z' ? u + ('a' - 'A') : u;
}

/* HEXDIG value; only for characters in C_HEX. */
static inline unsigned hex_value(char c)
{
	unsigned char u = (unsigned char)c;

	return u <= '9' ? u - '0' : (u | 0x20) - 'a' + 10;
}

/* ASCII case-insensitive equality of (a, a_len) and (b, b_len). */
static bool equals_nocase(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t i;

	if (a_len != b_len)
		return false;
	for (i = 0; i < a_len; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

#define EQUALS_LOWER(p, len, lit) equals_nocase((p), (len), (lit), sizeof(lit) - 1)

/*
 * Like EQUALS_LOWER, but '_' in p also matches '-' in lit; *underscore says
 * whether it had to.
 */
static bool equals_lower_dash(const char *p, size_t len, const char *lit, size_t lit_len,
			      bool *underscore)
{
	size_t i;

	*underscore = false;
	if (len != lit_len)
		return false;
	for (i = 0; i < len; i++) {
		if (p[i] == '_' && lit[i] == '-') {
			*underscore = true;
			continue;
		}
		if (lower(p[i]) != (unsigned char)lit[i])
			return false;
	}
	return true;
}

/* First byte at or after p that is not a token character, or end. */
static inline const char *scan_token(const char *p, const char *end)
{
	while (p < end && is_class(*p, C_TCHAR))
		p++;
	return p;
}

/*
 * First byte at or after p that is not a field-value character (a CTL other
 * than HTAB, or DEL), or end. Eight bytes at a time while none of them is
 * below 0x20 or 0x7f: HTAB stops the fast loop only for its own word.
 */
static inline const char *scan_value(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	for (;;) {
		const char *stop;

		while (end - p >= 8) {
			uint64_t x, del;

			memcpy(&x, p, 8);
			del = x ^ (ones * 0x7f);
			if (((x - ones * 0x20) & ~x & highs) |
			    ((del - ones) & ~del & highs))
				break;
			p += 8;
		}
		stop = end - p >= 8 ? p + 8 : end;
		for (; p < stop; p++)
			if (!is_class(*p, C_VALUE))
				return p;
		if (p == end)
			return p;
	}
}

/*
 * First byte at or after p that cannot be in a request-target, or end:
 * like scan_value, eight bytes at a time while none of them is a CTL, SP,
 * DEL, non-ASCII, '#' or '\'.
 */
static inline const char *scan_target(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	for (;;) {
		const char *stop;

		while (end - p >= 8) {
			uint64_t x, del, hash, backslash;

			memcpy(&x, p, 8);
			del = x ^ (ones * 0x7f);
			hash = x ^ (ones * '#');
			backslash = x ^ (ones * '\\');
			if (((x - ones * 0x21) & ~x & highs) | (x & highs) |
			    ((del - ones) & ~del & highs) |
			    ((hash - ones) & ~hash & highs) |
			    ((backslash - ones) & ~backslash & highs))
				break;
			p += 8;
		}
		stop = end - p >= 8 ? p + 8 : end;
		for (; p < stop; p++)
			if (!is_class(*p, C_TARGET))
				return p;
		if (p == end)
			return p;
	}
}

/*
 * At p is CR or LF, expected to end a line. Returns 0 and moves *pp past
 * the CRLF, HTTP_PARSE_INCOMPLETE, or HTTP_PARSE_ERROR (bare CR / LF).
 */
static inline int eat_crlf(const char **pp, const char *end, enum http_error *err)
{
	const char *p = *pp;

	if (*p == '\n') {
		*err = HTTP_ERR_BARE_LF;
		return HTTP_PARSE_ERROR;
	}
	if (p + 1 == end)
		return HTTP_PARSE_INCOMPLETE;
	if (p[1] != '\n') {
		*err = HTTP_ERR_BARE_CR;
		return HTTP_PARSE_ERROR;
	}
	*pp = p + 2;
	return 0;
}

/*
 * authority = host [ ":" port ] as a URI or Host carries it, strict:
 * host is a reg-name of ALPHA / DIGIT / "-" / "." / "_" / "~" (so no
 * userinfo "@", no percent-encoding, no sub-delims such as ",") or an
 * IP-literal "[" HEXDIG / ":" / "." "]"; port, when the ":" is there, is
 * 1 to 5 digits up to 65535. need_port: CONNECT's authority-form.
 */
static bool authority_valid(const char *p, size_t len, bool need_port)
{
	const char *end = p + len, *q = p;
	unsigned port = 0;
	size_t digits;

	if (q == end)
		return false;
	if (*q == '[') {
		for (q++; q < end && (is_class(*q, C_HEX) || *q == ':' || *q == '.'); q++)
			;
		if (q == end || *q != ']' || q == p + 1)
			return false;
		q++;
	} else {
		for (; q < end && is_class(*q, C_UNRESERVED); q++)
			;
		if (q == p)
			return false;
	}
	if (q == end)
		return !need_port;
	if (*q++ != ':')
		return false;
	for (digits = 0; q < end; q++, digits++) {
		if (*q < '0' || *q > '9' || digits == 5)
			return false;
		port = port * 10 + (unsigned)(*q - '0');
	}
	return digits > 0 && port <= 65535;
}

/* Length of an "http://" or "https://" prefix (any case), else 0. */
static size_t scheme_length(const char *p, size_t len)
{
	if (len >= 7 && EQUALS_LOWER(p, 7, "http://"))
		return 7;
	if (len >= 8 && EQUALS_LOWER(p, 8, "https://"))
		return 8;
	return 0;
}

/* Every '%' starts "%" HEXDIG HEXDIG, and none of them is %00. */
static bool escapes_valid(const char *p, const char *end)
{
	while ((p = memchr(p, '%', (size_t)(end - p))) != NULL) {
		if (end - p < 3 || !is_class(p[1], C_HEX) || !is_class(p[2], C_HEX))
			return false;
		if (p[1] == '0' && p[2] == '0')
			return false;
		p += 3;
	}
	return true;
}

/* What the framing and routing decisions need from the header fields. */
struct head_fields {
	unsigned cl_count, te_count, host_count;
	struct http_slice cl, te, host;
	bool conn_close, conn_keep_alive, conn_upgrade;
	bool upgrade, expect_continue;
};

/* Scan a Connection value: a comma list of case-insensitive tokens. */
static void connection_tokens(const char *p, size_t len, struct head_fields *f)
{
	const char *end = p + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end, *s = p;

		while (s < e && is_ows(*s))
			s++;
		while (e > s && is_ows(e[-1]))
			e--;
		if (EQUALS_LOWER(s, (size_t)(e - s), "close"))
			f->conn_close = true;
		else if (EQUALS_LOWER(s, (size_t)(e - s), "keep-alive"))
			f->conn_keep_alive = true;
		else if (EQUALS_LOWER(s, (size_t)(e - s), "upgrade"))
			f->conn_upgrade = true;
		if (!comma)
			break;
		p = comma + 1;
	}
}

/*
 * Note the fields that decide framing and routing. Fails (BAD_HEADER_NAME)
 * on "Content_Length" and "Transfer_Encoding": strict: a server or gateway
 * that maps '_' to '-' (CGI-style environments do) would frame the message
 * by a field we did not see.
 */
static int note_field(const struct http_header *h, struct head_fields *f,
		      enum http_error *err)
{
	const char *n = h->name.ptr;
	bool underscore;

	switch (h->name.len) {
	case 4:
		if (EQUALS_LOWER(n, 4, "host")) {
			f->host_count++;
			f->host = h->value;
		}
		break;
	case 6:
		if (EQUALS_LOWER(n, 6, "expect") &&
		    EQUALS_LOWER(h->value.ptr, h->value.len, "100-continue"))
			f->expect_continue = true;
		break;
	case 7:
		if (EQUALS_LOWER(n, 7, "upgrade"))
			f->upgrade = true;
		break;
	case 10:
		if (EQUALS_LOWER(n, 10, "connection"))
			connection_tokens(h->value.ptr, h->value.len, f);
		break;
	case 14:
		if (equals_lower_dash(n, 14, "content-length", 14, &underscore)) {
			if (underscore)
				goto bad_name;
			f->cl_count++;
			f->cl = h->value;
		}
		break;
	case 17:
		if (equals_lower_dash(n, 17, "transfer-encoding", 17, &underscore)) {
			if (underscore)
				goto bad_name;
			f->te_count++;
			f->te = h->value;
		}
		break;
	}
	return 0;
bad_name:
	*err = HTTP_ERR_BAD_HEADER_NAME;
	return HTTP_PARSE_ERROR;
}

/*
 * Header fields up to and including the empty line. Returns 0 with *pp past
 * the empty line, or HTTP_PARSE_INCOMPLETE / HTTP_PARSE_ERROR.
 */
static int parse_fields(const char **pp, const char *end, struct http_header *headers,
			size_t *count, struct head_fields *f, enum http_error *err)
{
	const char *p = *pp;
	size_t n = 0;
	int rc;

	for (;;) {
		struct http_header *h;
		const char *name, *value, *value_end;

		if (p == end)
			goto incomplete;
		if (*p == '\r' || *p == '\n') {
			rc = eat_crlf(&p, end, err);
			if (rc)
				goto out;
			break;
		}
		if (is_ows(*p)) {
			/* obs-fold, or whitespace before the first field
			 * (RFC 9112 2.2 lets us reject both). */
			*err = HTTP_ERR_OBS_FOLD;
			rc = HTTP_PARSE_ERROR;
			goto out;
		}
		if (n == HTTP_MAX_HEADERS) {
			*err = HTTP_ERR_TOO_MANY_HEADERS;
			rc = HTTP_PARSE_ERROR;
			goto out;
		}
		name = p;
		p = scan_token(p, end);
		if (p == end)
			goto incomplete;
		if (p == name || *p != ':') {
			/* No name, whitespace before the colon, no colon. */
			*err = HTTP_ERR_BAD_HEADER_NAME;
			rc = HTTP_PARSE_ERROR;
			goto out;
		}
		h = &headers[n];
		h->name.ptr = name;
		h->name.len = (size_t)(p - name);
		for (p++; p < end && is_ows(*p); p++)
			;
		value = p;
		p = scan_value(p, end);
		if (p == end)
			goto incomplete;
		if (*p != '\r' && *p != '\n') {
			*err = HTTP_ERR_BAD_HEADER_VALUE; /* a CTL, NUL or DEL */
			rc = HTTP_PARSE_ERROR;
			goto out;
		}
		value_end = p;
		rc = eat_crlf(&p, end, err);
		if (rc)
			goto out;
		while (value_end > value && is_ows(value_end[-1]))
			value_end--;
		h->value.ptr = value;
		h->value.len = (size_t)(value_end - value);
		n++;
		rc = note_field(h, f, err);
		if (rc)
			goto out;
	}
	*pp = p;
	rc = 0;
	goto out;
incomplete:
	rc = HTTP_PARSE_INCOMPLETE;
out:
	*count = n;
	return rc;
}

/* Content-Length = 1*DIGIT, at most MAX_CONTENT_LENGTH. */
static bool content_length_value(struct http_slice v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (!v.len)
		return false;
	for (i = 0; i < v.len; i++) {
		unsigned d = (unsigned char)v.ptr[i] - '0';

		if (d > 9 || n > (MAX_CONTENT_LENGTH - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

/*
 * Message framing from the fields (RFC 9112 6.1-6.3, strict): both
 * Content-Length and Transfer-Encoding, more than one of either, a
 * Transfer-Encoding other than exactly "chunked" or in HTTP/1.0, or a
 * Content-Length that is not a plain decimal are errors. Sets *body
 * (CHUNKED, LENGTH or NONE) and *length.
 */
static int framing(const struct head_fields *f, int minor_version, enum http_body *body,
		   uint64_t *length, enum http_error *err)
{
	*length = 0;
	*body = HTTP_BODY_NONE;
	if (f->cl_count && f->te_count) {
		*err = HTTP_ERR_CL_AND_TE;
		return HTTP_PARSE_ERROR;
	}
	if (f->te_count) {
		if (f->te_count > 1 || minor_version == 0 ||
		    !EQUALS_LOWER(f->te.ptr, f->te.len, "chunked")) {
			*err = HTTP_ERR_BAD_TE;
			return HTTP_PARSE_ERROR;
		}
		*body = HTTP_BODY_CHUNKED;
	} else if (f->cl_count) {
		if (f->cl_count > 1) {
			*err = HTTP_ERR_DUPLICATE_CL;
			return HTTP_PARSE_ERROR;
		}
		if (!content_length_value(f->cl, length)) {
			*err = HTTP_ERR_BAD_CL;
			return HTTP_PARSE_ERROR;
		}
		*body = HTTP_BODY_LENGTH;
	}
	return 0;
}

/*
 * "HTTP/1.0" or "HTTP/1.1" at *pp; an early mismatch is an error even
 * before all eight bytes are there.
 */
static int parse_version(const char **pp, const char *end, int *minor,
			 enum http_error *err)
{
	static const char prefix[] = "HTTP/1.";
	const char *p = *pp;
	size_t i;

	for (i = 0; i < 7; i++) {
		if (p + i == end)
			return HTTP_PARSE_INCOMPLETE;
		if (p[i] != prefix[i])
			goto bad;
	}
	if (p + 7 == end)
		return HTTP_PARSE_INCOMPLETE;
	if (p[7] != '0' && p[7] != '1')
		goto bad;
	*minor = p[7] - '0';
	*pp = p + 8;
	return 0;
bad:
	*err = HTTP_ERR_BAD_VERSION;
	return HTTP_PARSE_ERROR;
}

static size_t head_limit(const struct http_limits *limits)
{
	size_t max = limits && limits->max_head ? limits->max_head : DEFAULT_MAX_HEAD;

	return max > MAX_MAX_HEAD ? MAX_MAX_HEAD : max;
}

/*
 * The request-target against the method (RFC 9112 3.2): origin-form
 * "/...", absolute-form "http[s]://authority[/...][?...]", "*" for OPTIONS
 * only, authority-form "host:port" for CONNECT only (and CONNECT only with
 * it). Sets req->host for the forms that carry an authority.
 */
static int check_target(struct http_request *req, enum http_error *err)
{
	const char *t = req->target.ptr, *end = t + req->target.len;
	/* Methods are case-sensitive: "connect" is some other method. */
	bool connect = req->method.len == 7 && !memcmp(req->method.ptr, "CONNECT", 7);
	size_t scheme;

	req->host.ptr = NULL;
	req->host.len = 0;
	if (connect) {
		if (!authority_valid(t, req->target.len, true))
			goto bad;
		req->host = req->target;
		return 0;
	}
	if (req->target.len == 1 && *t == '*') {
		if (req->method.len != 7 || memcmp(req->method.ptr, "OPTIONS", 7))
			goto bad;
		return 0;
	}
	if (*t != '/') {
		const char *a, *a_end;

		scheme = scheme_length(t, req->target.len);
		if (!scheme)
			goto bad;
		a = t + scheme;
		for (a_end = a; a_end < end && *a_end != '/' && *a_end != '?'; a_end++)
			;
		if (!authority_valid(a, (size_t)(a_end - a), false))
			goto bad;
		req->host.ptr = a;
		req->host.len = (size_t)(a_end - a);
	}
	if (!escapes_valid(t, end))
		goto bad;
	return 0;
bad:
	*err = HTTP_ERR_BAD_TARGET;
	return HTTP_PARSE_ERROR;
}

static int parse_request(const char *buf, const char *end, struct http_request *req,
			 enum http_error *err)
{
	const char *p = buf;
	struct head_fields f = {0};
	struct http_slice target_host;
	int rc;

	/* RFC 9112 2.2: ignore empty lines (CRLF only) before the request. */
	while (p < end && (*p == '\r' || *p == '\n')) {
		rc = eat_crlf(&p, end, err);
		if (rc)
			return rc;
	}

	req->method.ptr = p;
	p = scan_token(p, end);
	if (p == end)
		return HTTP_PARSE_INCOMPLETE;
	if (*p != ' ' || p == req->method.ptr) {
		/* A separator out of place, or a byte no method has. */
		*err = *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'
			   ? HTTP_ERR_BAD_REQUEST_LINE
			   : HTTP_ERR_BAD_METHOD;
		return HTTP_PARSE_ERROR;
	}
	req->method.len = (size_t)(p - req->method.ptr);

	req->target.ptr = ++p;
	p = scan_target(p, end);
	if (p == end)
		return HTTP_PARSE_INCOMPLETE;
	if (p == req->target.ptr) {
		*err = HTTP_ERR_BAD_REQUEST_LINE; /* two spaces, or no target */
		return HTTP_PARSE_ERROR;
	}
	if (*p != ' ') {
		/* "GET /\r\n" is HTTP/0.9; anything else is a byte a target
		 * cannot hold (CTL, non-ASCII, '#', '\'). */
		*err =
		    *p == '\r' || *p == '\n' ? HTTP_ERR_BAD_VERSION : HTTP_ERR_BAD_TARGET;
		return HTTP_PARSE_ERROR;
	}
	req->target.len = (size_t)(p - req->target.ptr);
	p++;

	rc = parse_version(&p, end, &req->minor_version, err);
	if (rc)
		return rc;
	if (p == end)
		return HTTP_PARSE_INCOMPLETE;
	if (*p != '\r' && *p != '\n') {
		*err = HTTP_ERR_BAD_VERSION; /* "HTTP/1.10", trailing space */
		return HTTP_PARSE_ERROR;
	}
	rc = eat_crlf(&p, end, err);
	if (rc)
		return rc;
	rc = check_target(req, err);
	if (rc)
		return rc;
	target_host = req->host;

	rc = parse_fields(&p, end, req->headers, &req->header_count, &f, err);
	if (rc)
		return rc;

	rc = framing(&f, req->minor_version, &req->body, &req->content_length, err);
	if (rc)
		return rc;

	/*
	 * RFC 9112 3.2: exactly one valid Host in HTTP/1.1, at most one in
	 * 1.0. Strict: when the target carries the authority, the Host must
	 * be the same (RFC 9112 3.2 makes that the client's duty), so a
	 * server that routes by Host cannot be sent elsewhere than the
	 * proxy judged.
	 */
	if (f.host_count > 1 || (f.host_count == 0 && req->minor_version == 1) ||
	    (f.host_count == 1 && !authority_valid(f.host.ptr, f.host.len, false)) ||
	    (f.host_count == 1 && target_host.ptr &&
	     !equals_nocase(f.host.ptr, f.host.len, target_host.ptr, target_host.len))) {
		*err = HTTP_ERR_MISSING_HOST;
		return HTTP_PARSE_ERROR;
	}
	if (!target_host.ptr)
		req->host = f.host_count ? f.host : (struct http_slice){NULL, 0};

	if (req->minor_version == 1) {
		req->keep_alive = !f.conn_close;
		req->expect_continue = f.expect_continue;
		req->upgrade = f.conn_upgrade && f.upgrade;
	} else {
		/* RFC 9110 10.1.1, 7.8: 1.0 has neither Expect nor Upgrade. */
		req->keep_alive = f.conn_keep_alive && !f.conn_close;
		req->expect_continue = false;
		req->upgrade = false;
	}
	return (int)(p - buf);
}

/*
 * Parse within the first max_head bytes; a head not complete there is too
 * large as soon as more bytes than that have arrived.
 */
int http_request__parse(const char *buf, size_t len, const struct http_limits *limits,
			struct http_request *req, enum http_error *error)
{
	enum http_error scratch;
	size_t max = head_limit(limits);
	int rc;

	if (!error)
		error = &scratch;
	*error = HTTP_ERR_NONE;
	req->header_count = 0;
	req->body = HTTP_BODY_NONE;
	req->content_length = 0;
	req->keep_alive = req->expect_continue = req->upgrade = false;
	if (!len)
		return HTTP_PARSE_INCOMPLETE; /* (and buf may be NULL) */
	rc = parse_request(buf, buf + (len < max ? len : max), req, error);
	if (rc == HTTP_PARSE_INCOMPLETE && len > max) {
		*error = HTTP_ERR_HEAD_TOO_LARGE;
		rc = HTTP_PARSE_ERROR;
	}
	return rc;
}

static int parse_response(const char *buf, const char *end, struct http_slice method,
			  struct http_response *resp, enum http_error *err)
{
	const char *p = buf;
	struct head_fields f = {0};
	bool no_body;
	int rc, i;

	rc = parse_version(&p, end, &resp->minor_version, err);
	if (rc)
		return rc;
	if (p == end)
		return HTTP_PARSE_INCOMPLETE;
	if (*p++ != ' ')
		goto bad_status;
	resp->status = 0;
	for (i = 0; i < 3; i++, p++) {
		if (p == end)
			return HTTP_PARSE_INCOMPLETE;
		if (*p < '0' || *p > '9')
			goto bad_status;
		resp->status = resp->status * 10 + (*p - '0');
	}
	if (resp->status < 100 || resp->status > 599)
		goto bad_status;
	if (p == end)
		return HTTP_PARSE_INCOMPLETE;
	/* The SP before an empty reason is required, but some servers omit
	 * it; that is harmless, so it is accepted. */
	if (*p == ' ') {
		resp->reason.ptr = ++p;
		p = scan_value(p, end);
		if (p == end)
			return HTTP_PARSE_INCOMPLETE;
		resp->reason.len = (size_t)(p - resp->reason.ptr);
	} else {
		resp->reason.ptr = p;
		resp->reason.len = 0;
	}
	if (*p != '\r' && *p != '\n')
		goto bad_status;
	rc = eat_crlf(&p, end, err);
	if (rc)
		return rc;

	rc = parse_fields(&p, end, resp->headers, &resp->header_count, &f, err);
	if (rc)
		return rc;
	rc = framing(&f, resp->minor_version, &resp->body, &resp->content_length, err);
	if (rc)
		return rc;

	resp->keep_alive =
	    resp->minor_version == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
	/* RFC 9112 6.3 (1, 2): these never have a body, whatever the fields
	 * say (the fields were still checked above). */
	no_body =
	    resp->status < 200 || resp->status == 204 || resp->status == 304 ||
	    (method.len == 4 && !memcmp(method.ptr, "HEAD", 4)) ||
	    (method.len == 7 && !memcmp(method.ptr, "CONNECT", 7) && resp->status < 300);
	if (no_body) {
		resp->body = HTTP_BODY_NONE;
		resp->content_length = 0;
	} else if (resp->body == HTTP_BODY_NONE) {
		resp->body = HTTP_BODY_UNTIL_CLOSE;
		resp->keep_alive = false;
	}
	return (int)(p - buf);
bad_status:
	*err = HTTP_ERR_BAD_STATUS;
	return HTTP_PARSE_ERROR;
}

int http_response__parse(const char *buf, size_t len, const struct http_limits *limits,
			 struct http_slice request_method, struct http_response *resp,
			 enum http_error *error)
{
	enum http_error scratch;
	size_t max = head_limit(limits);
	int rc;

	if (!error)
		error = &scratch;
	*error = HTTP_ERR_NONE;
	resp->status = 0;
	resp->minor_version = 0;
	resp->reason.ptr = NULL;
	resp->reason.len = 0;
	resp->header_count = 0;
	resp->body = HTTP_BODY_NONE;
	resp->content_length = 0;
	resp->keep_alive = false;
	if (!len)
		return HTTP_PARSE_INCOMPLETE;
	rc = parse_response(buf, buf + (len < max ? len : max), request_method, resp,
			    error);
	if (rc == HTTP_PARSE_INCOMPLETE && len > max) {
		*error = HTTP_ERR_HEAD_TOO_LARGE;
		rc = HTTP_PARSE_ERROR;
	}
	return rc;
}

/*
 * Chunked framing (RFC 9112 7.1), one state per position in the grammar so
 * that input may be split anywhere. State 0 is the start, so a zeroed
 * struct http_chunked is ready to use.
 *
 * Strict: chunk-size is 1*HEXDIG directly followed by ";" or CRLF (no
 * whitespace, no "0x", no sign); extensions are ";name[=token|quoted]"
 * with no whitespace outside the quotes; a size line or a trailer line is
 * at most MAX_CHUNK_LINE bytes; trailer fields are checked like header
 * fields (no obs-fold, no whitespace before the colon, no CTL); CR and LF
 * appear only as CRLF.
 */
enum {
	CH_SIZE_FIRST = 0,  /* first HEXDIG of a chunk-size */
	CH_SIZE,	    /* more HEXDIG, ";" or CR */
	CH_EXT_NAME_FIRST,  /* after ";" */
	CH_EXT_NAME,	    /* token, "=", ";" or CR */
	CH_EXT_VALUE_FIRST, /* after "=": token or DQUOTE */
	CH_EXT_VALUE,	    /* token, ";" or CR */
	CH_EXT_QUOTED,	    /* inside a quoted-string */
	CH_EXT_QUOTED_PAIR, /* after a backslash in it */
	CH_EXT_QUOTED_END,  /* after the closing DQUOTE: ";" or CR */
	CH_SIZE_LF,	    /* CR seen at the end of the size line */
	CH_DATA,
	CH_DATA_CR, /* CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER_START, /* a trailer field or the final CRLF */
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF, /* CR seen at the end of a trailer field */
	CH_FINAL_LF,   /* CR seen at the end of the trailer section */
	CH_DONE,
	CH_ERROR,
};

long http_chunked__feed(struct http_chunked *c, const char *buf, size_t len, bool *done)
{
	const char *p = buf, *end;
	bool scratch;

	if (!done)
		done = &scratch;
	*done = false;
	if (c->state == CH_DONE) {
		*done = true;
		return 0;
	}
	if (c->state == CH_ERROR)
		return HTTP_PARSE_ERROR;
	if (!len)
		return 0; /* (and buf may be NULL) */
	if (len > LONG_MAX)
		len = LONG_MAX;
	end = buf + len;

	while (p < end) {
		char ch = *p;

		if (c->state == CH_DATA) {
			uint64_t n = (uint64_t)(end - p);

			if (n > c->remaining)
				n = c->remaining;
			p += n;
			c->remaining -= n;
			if (!c->remaining)
				c->state = CH_DATA_CR;
			continue;
		}
		p++;
		if (c->state < CH_SIZE_LF ||
		    (c->state >= CH_TRAILER_START && c->state <= CH_TRAILER_VALUE)) {
			if (++c->line_len > MAX_CHUNK_LINE)
				goto bad;
		}

		switch (c->state) {
		case CH_SIZE_FIRST:
		case CH_SIZE:
			if (is_class(ch, C_HEX)) {
				if (c->remaining > (MAX_CONTENT_LENGTH - hex_value(ch)) >>
				    4)
					goto bad;
				c->remaining = (c->remaining << 4) | hex_value(ch);
				c->state = CH_SIZE;
			} else if (c->state == CH_SIZE && ch == ';') {
				c->state = CH_EXT_NAME_FIRST;
			} else if (c->state == CH_SIZE && ch == '\r') {
				c->state = CH_SIZE_LF;
			} else {
				goto bad;
			}
			break;
		case CH_EXT_NAME_FIRST:
			if (!is_class(ch, C_TCHAR))
				goto bad;
			c->state = CH_EXT_NAME;
			break;
		case CH_EXT_NAME:
		case CH_EXT_VALUE:
		case CH_EXT_QUOTED_END:
			if (ch == ';')
				c->state = CH_EXT_NAME_FIRST;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (c->state == CH_EXT_NAME && ch == '=')
				c->state = CH_EXT_VALUE_FIRST;
			else if (c->state == CH_EXT_QUOTED_END || !is_class(ch, C_TCHAR))
				goto bad;
			break;
		case CH_EXT_VALUE_FIRST:
			if (ch == '"')
				c->state = CH_EXT_QUOTED;
			else if (is_class(ch, C_TCHAR))
				c->state = CH_EXT_VALUE;
			else
				goto bad;
			break;
		case CH_EXT_QUOTED:
			if (ch == '"')
				c->state = CH_EXT_QUOTED_END;
			else if (ch == '\\')
				c->state = CH_EXT_QUOTED_PAIR;
			else if (!is_class(ch, C_QDTEXT))
				goto bad;
			break;
		case CH_EXT_QUOTED_PAIR:
			if (!is_class(ch, C_VALUE))
				goto bad;
			c->state = CH_EXT_QUOTED;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				goto bad;
			c->line_len = 0;
			c->state = c->remaining ? CH_DATA : CH_TRAILER_START;
			break;
		case CH_DATA_CR:
			if (ch != '\r')
				goto bad;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_SIZE_FIRST;
			break;
		case CH_TRAILER_START:
			if (ch == '\r')
				c->state = CH_FINAL_LF;
			else if (is_class(ch, C_TCHAR))
				c->state = CH_TRAILER_NAME;
			else
				goto bad; /* bare LF, obs-fold, not a token */
			break;
		case CH_TRAILER_NAME:
			if (ch == ':')
				c->state = CH_TRAILER_VALUE;
			else if (!is_class(ch, C_TCHAR))
				goto bad;
			break;
		case CH_TRAILER_VALUE:
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (!is_class(ch, C_VALUE))
				goto bad;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				goto bad;
			c->line_len = 0;
			c->state = CH_TRAILER_START;
			break;
		case CH_FINAL_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_DONE;
			*done = true;
			return (long)(p - buf);
		default:
			goto bad;
		}
	}
	return (long)(p - buf);
bad:
	c->state = CH_ERROR;
	return HTTP_PARSE_ERROR;
}

/*
 * The dot segments of an absolute path (RFC 3986 5.2.4), in place; the
 * result is never longer. Each segment is pushed onto, or pops, the output
 * "/s1/s2..."; a "." or ".." that ends the path leaves a trailing "/".
 * Returns the new length or -1 for the two shapes servers disagree on:
 *  - ".." removing an empty segment ("/a//../b" is "/a/b" to a server that
 *    keeps empty segments and "/b" to one that merges slashes first);
 *  - "." or ".." followed by ";" ("/..;/" is ".." to Tomcat and Jetty,
 *    which strip path parameters before resolving dot segments).
 */
static long remove_dot_segments(char *buf, size_t len)
{
	size_t start = 1, w = 0;

	for (;;) {
		const char *slash = memchr(buf + start, '/', len - start);
		size_t end = slash ? (size_t)(slash - buf) : len, seg = end - start;
		const char *s = buf + start;
		bool last = !slash;

		if ((seg >= 2 && s[0] == '.' && s[1] == ';') ||
		    (seg >= 3 && s[0] == '.' && s[1] == '.' && s[2] == ';'))
			return -1;
		if (seg == 1 && s[0] == '.') {
			if (last)
				buf[w++] = '/';
		} else if (seg == 2 && s[0] == '.' && s[1] == '.') {
			if (w) {
				if (buf[w - 1] == '/')
					return -1;
				while (buf[--w] != '/')
					;
			}
			if (last)
				buf[w++] = '/';
		} else {
			buf[w++] = '/';
			memmove(buf + w, s, seg);
			w += seg;
		}
		if (last)
			break;
		start = end + 1;
	}
	if (!w)
		buf[w++] = '/';
	return (long)w;
}

/*
 * Normalisation for matching (the exact rules are in the report / docs):
 *  1. Every byte is VCHAR (no CTL, SP, DEL or non-ASCII) and not '#' (a
 *     fragment is never sent) or '\' (some servers read it as '/').
 *  2. Forms: "*" → "*"; "/path[?query]"; "http[s]://authority[path][?q]"
 *     → path ("/" if empty), *host_out = authority; "host:port"
 *     (CONNECT) → "" and *host_out = the target. Anything else: -1.
 *     An authority is checked as authority_valid() says.
 *  3. Every '%' is followed by two HEXDIG and is not %00 (path and query).
 *  4. Path only: %XX of an unreserved character (ALPHA DIGIT - . _ ~) is
 *     decoded; any other %xx is kept with uppercase hex (%2f → %2F, so an
 *     encoded '/' never separates segments, %25 stays %25).
 *  5. Then dot segments are removed (so %2e%2e is ".."), "/.." → "/",
 *     empty segments are kept ("/a//b"); -1 for ".." that would remove an
 *     empty segment and for "."/".." followed by ";" (see above).
 *  6. The query (from the first '?') is copied as received.
 */
long http_target__normalise(struct http_slice target, char *out, size_t out_len,
			    struct http_slice *host_out)
{
	static const char hex_upper[] = "0123456789ABCDEF";
	const char *p = target.ptr, *end, *path_end, *q;
	size_t w = 0, i, scheme;
	unsigned v;
	long reduced;

	if (host_out) {
		host_out->ptr = NULL;
		host_out->len = 0;
	}
	if (!p || !target.len || !out || !out_len)
		return -1;
	end = p + target.len;
	for (i = 0; i < target.len; i++)
		if (!is_class(p[i], C_TARGET))
			return -1;

	if (target.len == 1 && *p == '*') {
		if (out_len < 2)
			return -1;
		out[0] = '*';
		out[1] = '\0';
		return 1;
	}
	if (*p != '/') {
		const char *a;

		scheme = scheme_length(p, target.len);
		if (!scheme) {
			if (!authority_valid(p, target.len, true))
				return -1;
			if (host_out)
				*host_out = target;
			out[0] = '\0';
			return 0;
		}
		for (a = p += scheme; p < end && *p != '/' && *p != '?'; p++)
			;
		if (!authority_valid(a, (size_t)(p - a), false))
			return -1;
		if (host_out) {
			host_out->ptr = a;
			host_out->len = (size_t)(p - a);
		}
	}
	path_end = memchr(p, '?', (size_t)(end - p));
	if (!path_end)
		path_end = end;
	if (!escapes_valid(p, end))
		return -1;

	/* Decode into out, then resolve dot segments there. */
	if (p == path_end) {
		if (out_len < 2)
			return -1;
		out[w++] = '/';
	}
	for (q = p; q < path_end; q++) {
		if (w + 1 >= out_len)
			return -1;
		if (*q != '%') {
			out[w++] = *q;
			continue;
		}
		if (q + 2 >= path_end)
			return -1; /* "%4?" : the escape runs into the query */
		v = hex_value(q[1]) << 4 | hex_value(q[2]);
		if (is_class((char)v, C_UNRESERVED)) {
			out[w++] = (char)v;
		} else {
			if (w + 3 >= out_len)
				return -1;
			out[w++] = '%';
			out[w++] = hex_upper[v >> 4];
			out[w++] = hex_upper[v & 15];
		}
		q += 2;
	}
	reduced = remove_dot_segments(out, w);
	if (reduced < 0)
		return -1;
	w = (size_t)reduced;

	if ((size_t)(end - path_end) >= out_len - w)
		return -1;
	memcpy(out + w, path_end, (size_t)(end - path_end));
	w += (size_t)(end - path_end);
	out[w] = '\0';
	return (long)w;
}

const struct http_header *http_headers__find(const struct http_header *headers,
					     size_t count, const char *name)
{
	size_t len = strlen(name), i, j;

	for (i = 0; i < count; i++) {
		const struct http_header *h = &headers[i];

		if (h->name.len != len)
			continue;
		for (j = 0; j < len && lower(h->name.ptr[j]) == lower(name[j]); j++)
			;
		if (j == len)
			return h;
	}
	return NULL;
}

const char *http_error__name(enum http_error err)
{
	switch (err) {
	case HTTP_ERR_NONE:
		return "no error";
	case HTTP_ERR_BAD_REQUEST_LINE:
		return "malformed request line";
	case HTTP_ERR_BAD_METHOD:
		return "invalid method";
	case HTTP_ERR_BAD_TARGET:
		return "invalid request target";
	case HTTP_ERR_BAD_VERSION:
		return "unsupported HTTP version";
	case HTTP_ERR_BAD_HEADER_NAME:
		return "invalid header name";
	case HTTP_ERR_BAD_HEADER_VALUE:
		return "invalid character in header value";
	case HTTP_ERR_BARE_CR:
		return "CR not followed by LF";
	case HTTP_ERR_BARE_LF:
		return "line ending in LF without CR";
	case HTTP_ERR_OBS_FOLD:
		return "obsolete line folding";
	case HTTP_ERR_TOO_MANY_HEADERS:
		return "too many header fields";
	case HTTP_ERR_HEAD_TOO_LARGE:
		return "request or response head too large";
	case HTTP_ERR_CL_AND_TE:
		return "conflicting Content-Length and Transfer-Encoding";
	case HTTP_ERR_DUPLICATE_CL:
		return "more than one Content-Length";
	case HTTP_ERR_BAD_CL:
		return "invalid Content-Length";
	case HTTP_ERR_BAD_TE:
		return "unsupported Transfer-Encoding";
	case HTTP_ERR_MISSING_HOST:
		return "missing, duplicate or invalid Host";
	case HTTP_ERR_BAD_CHUNK:
		return "invalid chunked framing";
	case HTTP_ERR_BAD_STATUS:
		return "invalid status line";
	}
	return "unknown HTTP error";
}
