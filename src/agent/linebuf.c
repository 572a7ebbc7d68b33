// SPDX-License-Identifier: Apache-2.0
/*
 * Lines out of a byte stream, with a bound. Returned lines stay in the
 * buffer until the next call (no copy); their bytes are dropped when the
 * caller next asks for space. The buffer never holds more than max + 1
 * bytes not returned yet, complete lines included: a client that sends
 * requests faster than their replies go out is read no further.
 */
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"

#define LINEBUF_READ 65536

void linebuf__init(struct linebuf *b, size_t max)
{
	*b = (struct linebuf){.max = max};
}

/* Drop the lines already returned. */
static void compact(struct linebuf *b)
{
	if (!b->consumed)
		return;
	memmove(b->buf, b->buf + b->consumed, b->len - b->consumed);
	b->len -= b->consumed;
	b->scanned = b->scanned > b->consumed ? b->scanned - b->consumed : 0;
	b->consumed = 0;
}

char *linebuf__space(struct linebuf *b, size_t *room)
{
	size_t limit, want, cap;

	compact(b);
	*room = 0;
	/* Hold no more than one byte past the longest line: that byte (not a
	 * '\n') is what proves a line too long. Full of complete lines, the
	 * caller serves them before reading on. */
	if (b->len >= b->max + 1)
		return b->buf;
	limit = b->max + 1 - b->len;
	want = limit < LINEBUF_READ ? limit : LINEBUF_READ;
	if (b->cap - b->len < want) {
		char *grown;

		cap = b->cap ? b->cap : 4096;
		while (cap - b->len < want)
			cap *= 2;
		grown = realloc(b->buf, cap);
		if (!grown)
			return NULL;
		b->buf = grown;
		b->cap = cap;
	}
	*room = b->cap - b->len < limit ? b->cap - b->len : limit;
	return b->buf + b->len;
}

void linebuf__commit(struct linebuf *b, size_t n)
{
	b->len += n;
}

char *linebuf__next(struct linebuf *b, size_t *len)
{
	size_t from = b->scanned > b->consumed ? b->scanned : b->consumed;
	char *line = b->buf + b->consumed, *nl;

	if (from >= b->len)
		return NULL;
	nl = memchr(b->buf + from, '\n', b->len - from);
	if (!nl) {
		b->scanned = b->len;
		return NULL;
	}
	*nl = '\0';
	*len = (size_t)(nl - line);
	b->consumed = (size_t)(nl + 1 - b->buf);
	b->scanned = b->consumed;
	return line;
}

size_t linebuf__held(const struct linebuf *b)
{
	return b->len - b->consumed;
}

bool linebuf__too_long(const struct linebuf *b)
{
	/* Rare (once per such client): a search of the held bytes. */
	return linebuf__held(b) > b->max &&
	       !memchr(b->buf + b->consumed, '\n', linebuf__held(b));
}

void linebuf__free(struct linebuf *b)
{
	free(b->buf);
	*b = (struct linebuf){.max = b->max};
}
