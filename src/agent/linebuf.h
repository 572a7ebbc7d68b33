/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request framing (linebuf.c): bytes read from a client in, complete lines
 * out, and never more than max bytes held for a line that has not ended.
 * No I/O: the caller reads into linebuf__space() and commits what it got.
 */
#ifndef WARDEN_AGENT_LINEBUF_H
#define WARDEN_AGENT_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

struct linebuf {
	char *buf;
	size_t len; /* bytes held */
	size_t cap;
	size_t consumed; /* bytes of lines already returned */
	size_t scanned;	 /* bytes searched for '\n' (from 0) */
	size_t max;	 /* the longest line taken, '\n' excluded */
};

/* An empty buffer for lines of at most max bytes. */
void linebuf__init(struct linebuf *b, size_t max);
/*
 * Where the next read may write, and how much (*room). *room is 0 when
 * max + 1 bytes are held: serve the complete lines first, or, if there
 * are none, the line is too long (linebuf__too_long()). NULL with *room 0
 * when memory ran out.
 */
char *linebuf__space(struct linebuf *b, size_t *room);
/* n bytes were written at linebuf__space(). */
void linebuf__commit(struct linebuf *b, size_t n);
/*
 * The next complete line (its '\n' replaced by a NUL; *len excludes it),
 * valid until the next call on b, or NULL if none has ended yet.
 */
char *linebuf__next(struct linebuf *b, size_t *len);
/* The unfinished line is longer than max: it will never be served. */
bool linebuf__too_long(const struct linebuf *b);
/* Bytes held and not returned; after linebuf__next() returned NULL, those
 * of a line not complete yet. */
size_t linebuf__held(const struct linebuf *b);
void linebuf__free(struct linebuf *b);

#endif /* WARDEN_AGENT_LINEBUF_H */
