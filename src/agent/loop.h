/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's event loop: file descriptors and the callbacks that serve
 * them, and a tick after every round. It knows nothing of clients, requests
 * or the datapath (loop.c).
 */
#ifndef WARDEN_AGENT_LOOP_H
#define WARDEN_AGENT_LOOP_H

#include <stdint.h>

struct loop;

/* Called with the epoll events (EPOLLIN, EPOLLRDHUP, ...) that fd has. */
typedef void loop_fn(void *ctx, uint32_t events);

int loop__new(struct loop **out);
/* Closes none of the watched descriptors: their owners do. */
void loop__free(struct loop *loop);
/*
 * Call fn(ctx, events) when fd has one of events. One watch per fd.
 * Returns 0 or -errno.
 */
int loop__watch(struct loop *loop, int fd, uint32_t events, loop_fn *fn, void *ctx);
/* Change the events fd's watch waits for (0: none for now; errors still
 * come). Returns 0 or -errno. */
int loop__modify(struct loop *loop, int fd, uint32_t events);
/*
 * Accept a connection on listen_fd, non-blocking and close-on-exec.
 * Returns its fd, -EAGAIN when none is pending, or another -errno. When
 * the process is out of descriptors, the loop's spare descriptor makes
 * room to take the pending connection anyway, write refusal to it (may be
 * NULL) and close it, so that a full descriptor table does not leave the
 * listener readable forever (a busy loop): the caller sees -EMFILE. If not
 * even that was possible, -ENFILE: nothing was taken, so the caller should
 * stop listening for a while.
 */
int loop__accept(struct loop *loop, int listen_fd, const char *refusal,
		 size_t refusal_len);
/*
 * Stop watching fd (before closing it). Safe from any callback: an event
 * of this round still pending for fd is not delivered.
 */
void loop__unwatch(struct loop *loop, int fd);
/*
 * Serve until loop__stop(): wait at most tick_ms for events, call their
 * callbacks, then tick(ctx), every round. Returns 0, or -errno if waiting
 * failed.
 */
int loop__run(struct loop *loop, int tick_ms, void (*tick)(void *ctx), void *ctx);
void loop__stop(struct loop *loop);

#endif /* WARDEN_AGENT_LOOP_H */
