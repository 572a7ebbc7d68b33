// SPDX-License-Identifier: Apache-2.0
/*
 * One epoll set and a table of watches indexed by fd. An event carries its
 * fd and the watch's generation, so an event that was already fetched for
 * an fd that a callback of the same round unwatched (and that an accept may
 * have handed out again) is dropped instead of reaching the new owner.
 *
 * The loop also holds one spare descriptor (/dev/null) for the day the
 * process runs out: see loop__accept().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "warden/log.h"

#define LOOP_BATCH 32

struct watch {
	loop_fn *fn; /* NULL: not watched */
	void *ctx;
	uint32_t generation;
};

struct loop {
	int epoll_fd;
	struct watch *watches; /* index = fd */
	size_t watch_count;
	int reserve_fd; /* -1 while given up, see loop__accept() */
	bool running;
};

static void reserve_take(struct loop *loop)
{
	if (loop->reserve_fd < 0)
		loop->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int loop__new(struct loop **out)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0) {
		int err = -errno;

		free(loop);
		return err;
	}
	loop->reserve_fd = -1;
	reserve_take(loop);
	*out = loop;
	return 0;
}

void loop__free(struct loop *loop)
{
	if (!loop)
		return;
	close(loop->epoll_fd);
	if (loop->reserve_fd >= 0)
		close(loop->reserve_fd);
	free(loop->watches);
	free(loop);
}

static uint64_t event_tag(int fd, uint32_t generation)
{
	return (uint64_t)generation << 32 | (uint32_t)fd;
}

int loop__watch(struct loop *loop, int fd, uint32_t events, loop_fn *fn, void *ctx)
{
	struct epoll_event ev = {.events = events};
	struct watch *w;

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= loop->watch_count) {
		size_t count = (size_t)fd + 64;
		struct watch *grown = realloc(loop->watches, count * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		memset(grown + loop->watch_count, 0,
		       (count - loop->watch_count) * sizeof(*grown));
		loop->watches = grown;
		loop->watch_count = count;
	}
	w = &loop->watches[fd];
	if (w->fn)
		return -EEXIST;
	w->generation++;
	ev.data.u64 = event_tag(fd, w->generation);
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	w->fn = fn;
	w->ctx = ctx;
	return 0;
}

int loop__modify(struct loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events};

	if (fd < 0 || (size_t)fd >= loop->watch_count || !loop->watches[fd].fn)
		return -ENOENT;
	ev.data.u64 = event_tag(fd, loop->watches[fd].generation);
	return epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop__accept(struct loop *loop, int listen_fd, const char *refusal,
		 size_t refusal_len)
{
	int fd, err;

	for (;;) {
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		err = errno;
		if (err == EINTR || err == ECONNABORTED)
			continue;
		break;
	}
	if (err != EMFILE && err != ENFILE)
		return -err;
	/* Out of descriptors: give the spare back for a moment, so that the
	 * pending connection can be taken off the queue, told, and closed. */
	if (loop->reserve_fd < 0) {
		reserve_take(loop);
		return -ENFILE;
	}
	close(loop->reserve_fd);
	loop->reserve_fd = -1;
	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		if (refusal)
			send(fd, refusal, refusal_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
	}
	reserve_take(loop);
	return fd >= 0 ? -EMFILE : -ENFILE;
}

void loop__unwatch(struct loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->watch_count || !loop->watches[fd].fn)
		return;
	epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	loop->watches[fd].fn = NULL;
	loop->watches[fd].ctx = NULL;
}

static void dispatch(struct loop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t generation = (uint32_t)(ev->data.u64 >> 32);
	struct watch *w;

	if ((size_t)fd >= loop->watch_count)
		return;
	w = &loop->watches[fd];
	if (w->fn && w->generation == generation)
		w->fn(w->ctx, ev->events);
}

int loop__run(struct loop *loop, int tick_ms, void (*tick)(void *ctx), void *ctx)
{
	loop->running = true;
	while (loop->running) {
		struct epoll_event events[LOOP_BATCH];
		int n = epoll_wait(loop->epoll_fd, events, LOOP_BATCH, tick_ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			pr_warn("epoll: %s\n", strerror(errno));
			return err;
		}
		for (int i = 0; i < n; i++)
			dispatch(loop, &events[i]);
		if (tick)
			tick(ctx);
	}
	return 0;
}

void loop__stop(struct loop *loop)
{
	loop->running = false;
}
