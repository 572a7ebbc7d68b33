// SPDX-License-Identifier: Apache-2.0
/*
 * A byte queue in front of a non-blocking socket: what send() did not take
 * waits here, in order, until the socket has room again. The buffer is
 * compacted when it must grow, so a long-lived queue (a monitor stream)
 * does not creep forward in memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "outq.h"

/* Room for len more bytes after the queued ones. */
static int reserve(struct outq *q, size_t len)
{
	size_t cap;
	char *buf;

	if (q->cap - q->start - q->len >= len)
		return 0;
	if (q->start) {
		memmove(q->buf, q->buf + q->start, q->len);
		q->start = 0;
		if (q->cap - q->len >= len)
			return 0;
	}
	cap = q->cap ? q->cap : 4096;
	while (cap - q->len < len) {
		if (cap > (size_t)-1 / 2)
			return -ENOMEM;
		cap *= 2;
	}
	buf = realloc(q->buf, cap);
	if (!buf)
		return -ENOMEM;
	q->buf = buf;
	q->cap = cap;
	return 0;
}

int outq__append(struct outq *q, const void *data, size_t len)
{
	int ret = reserve(q, len);

	if (ret)
		return ret;
	memcpy(q->buf + q->start + q->len, data, len);
	q->len += len;
	return 0;
}

int outq__append_owned(struct outq *q, char *data, size_t len)
{
	int ret;

	if (!q->len) {
		free(q->buf);
		q->buf = data;
		q->start = 0;
		q->len = len;
		q->cap = len;
		return 0;
	}
	ret = outq__append(q, data, len);
	free(data);
	return ret;
}

int outq__send(struct outq *q, int fd)
{
	while (q->len) {
		ssize_t n =
		    send(fd, q->buf + q->start, q->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -EAGAIN;
			return -errno;
		}
		q->start += (size_t)n;
		q->len -= (size_t)n;
	}
	/* Empty: a big reply's buffer is not kept for the connection's life. */
	if (q->cap > 65536) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
	q->start = 0;
	return 0;
}

void outq__free(struct outq *q)
{
	free(q->buf);
	*q = (struct outq){0};
}
