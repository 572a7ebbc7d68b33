/* SPDX-License-Identifier: Apache-2.0 */
/*
 * warden-proxy: what every module of the proxy shares — the run-time
 * configuration, filled once by main.c and read-only afterwards (workers
 * read it without locks).
 */
#ifndef WARDEN_PROXY_H
#define WARDEN_PROXY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define PROXY_DEFAULT_PORT 15001
#define PROXY_DEFAULT_MARK 0xa00
#define PROXY_DEFAULT_MAX_CONNS 4096 /* per worker */

/* Every duration in microseconds: the loop's clock is CLOCK_MONOTONIC in us. */
struct proxy_timeouts {
	uint64_t header;  /* complete request head, since accept / previous response */
	uint64_t idle;	  /* keep-alive: no byte of a next request */
	uint64_t connect; /* upstream TCP handshake */
	uint64_t data;	  /* an exchange in which no byte moves either way */
	uint64_t tunnel;  /* an upgraded connection in which no byte moves */
	uint64_t linger;  /* draining a client after our last byte (see conn.c) */
	uint64_t drain;	  /* SIGTERM: time left for exchanges in progress */
};

struct proxy_config {
	const char *policy_path;
	const char *events_path;  /* NULL: no access log */
	struct in_addr bind_addr; /* 0.0.0.0 unless --bind */
	uint16_t port;
	unsigned int workers;
	unsigned int max_conns;		   /* per worker */
	unsigned int max_conns_per_source; /* per client address, all workers */
	uint32_t mark;			   /* SO_MARK of every proxy socket; 0: not set */
	/*
	 * --upstream: a test and benchmark mode. The proxy listens like any
	 * server (no IP_TRANSPARENT) and every connection's "original
	 * destination" is this address; the upstream socket is not bound to
	 * the client's address.
	 */
	bool upstream_mode;
	struct sockaddr_in upstream;
	struct proxy_timeouts timeouts;
};

#endif /* WARDEN_PROXY_H */
