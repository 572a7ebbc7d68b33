/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An output queue (outq.c): the bytes a non-blocking socket has not taken
 * yet. It only queues and sends; how much a peer may have queued is its
 * owner's policy (control.c stops reading a client's requests while a
 * reply waits, monitor.c drops events past a limit and counts them).
 */
#ifndef WARDEN_AGENT_OUTQ_H
#define WARDEN_AGENT_OUTQ_H

#include <stddef.h>

struct outq {
	char *buf;
	size_t start; /* first byte not sent yet */
	size_t len;   /* bytes queued from start */
	size_t cap;
};

/* Queue a copy of data. Returns 0 or -ENOMEM (nothing queued). */
int outq__append(struct outq *q, const void *data, size_t len);
/* Queue data taking ownership of it (a reply line: no copy when the
 * queue is empty). data must come from malloc. Returns 0 or -ENOMEM, in
 * which case data was freed. */
int outq__append_owned(struct outq *q, char *data, size_t len);
/*
 * Send what fd takes now, without blocking. Returns 0 when the queue is
 * empty, -EAGAIN when bytes remain (wait for EPOLLOUT), or -errno when the
 * peer is gone.
 */
int outq__send(struct outq *q, int fd);
static inline size_t outq__pending(const struct outq *q)
{
	return q->len;
}
void outq__free(struct outq *q);

#endif /* WARDEN_AGENT_OUTQ_H */
