/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A proxied connection: the client socket, at most one upstream socket,
 * the two channels between them, and the transport state machine
 *
 *   HTTP ──(101)──▶ TUNNEL ──(both directions shut)──▶ closed
 *    │
 *    └─(close after the response / our error reply)──▶ FLUSH ─▶ LINGER ─▶ closed
 *
 * The HTTP meaning of the bytes is http_session.c's; this file moves
 * them, with backpressure: a side is read only while its channel has
 * room, so a slow reader stalls its writer and memory stays fixed (two
 * 32 KiB buffers per connection, allocated with it).
 */
#ifndef WARDEN_PROXY_CONN_H
#define WARDEN_PROXY_CONN_H

#include <netinet/in.h>

#include "worker.h"

struct conn;

/* Take over an accepted socket (worker->ctx is the worker's http_env).
 * Returns 0, or -errno (the caller closes fd). */
int conn__accept(struct worker *w, int fd, const struct sockaddr_in *peer);
/* Which limit refused a connection at accept. */
enum conn_limit {
	CONN_LIMIT_WORKER, /* --max-conns of the worker (or the source table full) */
	CONN_LIMIT_SOURCE, /* --max-conns-per-source */
};
/* Refuse an accepted socket: count and log it (access log), close fd. */
void conn__refuse(struct worker *w, int fd, const struct sockaddr_in *peer,
		  enum conn_limit which);
/* SIGTERM: close at the next request boundary. */
void conn__drain(struct conn *c);
/* Close both sockets now; the memory goes at the end of the round. */
void conn__abort(struct conn *c);
struct conn *conn__of_link(struct list_node *link);
/* The end of a worker round: what the connections queued (the access log)
 * goes out if due. Returns when to be called again (us), 0 if never. */
uint64_t conn__round_end(struct worker *w);

#endif /* WARDEN_PROXY_CONN_H */
