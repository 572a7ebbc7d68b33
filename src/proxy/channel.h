/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A channel: the fixed buffer between one socket that fills it and one that
 * drains it (client → upstream, upstream → client). Bytes in it are of two
 * kinds, in this order:
 *
 *   data[head .. head+fwd)        approved: the HTTP layer said "send these"
 *   data[head+fwd .. tail)        pending: received, not yet analysed
 *
 * The transport only ever sends approved bytes; the HTTP layer approves
 * (forward), discards (a denied request's body) or truncates (unsolicited
 * upstream bytes) pending ones. The first pending byte — the analysis point —
 * keeps its offset relative to everything pending when bytes are sent or
 * the buffer is compacted, so the HTTP layer remembers positions relative
 * to it.
 *
 * Header-only: these are a few instructions each, on the hot path.
 */
#ifndef WARDEN_PROXY_CHANNEL_H
#define WARDEN_PROXY_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct channel {
	char *data; /* borrowed: the connection owns the memory */
	uint32_t size;
	uint32_t head; /* first byte not yet sent */
	uint32_t tail; /* end of the bytes received */
	uint32_t fwd;  /* bytes from head approved for sending */
};

static inline void channel__init(struct channel *ch, char *data, uint32_t size)
{
	ch->data = data;
	ch->size = size;
	ch->head = ch->tail = ch->fwd = 0;
}

static inline uint32_t channel__pending(const struct channel *ch)
{
	return ch->tail - ch->head - ch->fwd;
}

static inline const char *channel__pending_ptr(const struct channel *ch)
{
	return ch->data + ch->head + ch->fwd;
}

static inline bool channel__empty(const struct channel *ch)
{
	return ch->head == ch->tail;
}

/* Room for a recv() at the tail, without compacting. */
static inline uint32_t channel__room(const struct channel *ch)
{
	return ch->size - ch->tail;
}

static inline void channel__approve(struct channel *ch, uint32_t n)
{
	ch->fwd += n;
}

/* Drop n pending bytes at the analysis point (a denied request's bytes). */
static inline void channel__discard(struct channel *ch, uint32_t n)
{
	uint32_t at = ch->head + ch->fwd;

	if (ch->fwd == 0) {
		ch->head += n;
	} else {
		/* Rare: approved bytes still wait before them. */
		memmove(ch->data + at, ch->data + at + n, ch->tail - at - n);
		ch->tail -= n;
	}
	if (ch->head == ch->tail)
		ch->head = ch->tail = 0;
}

/* Drop every pending byte (bytes nobody asked for). */
static inline void channel__truncate_pending(struct channel *ch)
{
	ch->tail = ch->head + ch->fwd;
	if (ch->head == ch->tail)
		ch->head = ch->tail = 0;
}

/* n approved bytes were sent. */
static inline void channel__sent(struct channel *ch, uint32_t n)
{
	ch->head += n;
	ch->fwd -= n;
	if (ch->head == ch->tail)
		ch->head = ch->tail = 0;
}

/*
 * Move the bytes to the start of the buffer when the room left at the end
 * is small. Streaming usually empties the channel (head = tail = 0 again),
 * so this only copies when a peer is slower than the other.
 */
static inline void channel__make_room(struct channel *ch)
{
	if (ch->head == 0 || ch->size - ch->tail >= ch->size / 4)
		return;
	memmove(ch->data, ch->data + ch->head, ch->tail - ch->head);
	ch->tail -= ch->head;
	ch->head = 0;
}

/* Append and approve bytes we generate (a local response). */
static inline bool channel__append(struct channel *ch, const char *buf, uint32_t len)
{
	if (ch->size - ch->tail < len && ch->head > 0) {
		memmove(ch->data, ch->data + ch->head, ch->tail - ch->head);
		ch->tail -= ch->head;
		ch->head = 0;
	}
	if (ch->size - ch->tail < len || channel__pending(ch))
		return false;
	memcpy(ch->data + ch->tail, buf, len);
	ch->tail += len;
	ch->fwd += len;
	return true;
}

/* Everything that could be received, counting what compaction frees. */
static inline uint32_t channel__free_space(const struct channel *ch)
{
	return ch->size - (ch->tail - ch->head);
}

#endif /* WARDEN_PROXY_CHANNEL_H */
