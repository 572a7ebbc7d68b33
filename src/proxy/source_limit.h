/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connections per client address, shared by every worker: the per-source
 * limit (--max-conns-per-source). Without it one pod could hold every
 * connection slot of the proxy (the per-worker cap) and starve the others.
 *
 * A connection takes a slot of its source address when it is accepted
 * (before anything is allocated for it) and gives it back when it closes.
 * The kernel spreads one client's connections over the workers'
 * SO_REUSEPORT listeners by hash, so the count must be shared: a small
 * open-addressing table under one mutex, touched twice per connection,
 * never per request. It never holds more addresses than there are open
 * connections, so it is sized from the caps and never grows.
 */
#ifndef WARDEN_PROXY_SOURCE_LIMIT_H
#define WARDEN_PROXY_SOURCE_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOURCE_LIMIT_MAX_SLOTS (1u << 21)

struct source_slot {
	uint32_t ipv4;	/* network order */
	uint32_t count; /* 0: the slot is free */
};

struct source_limit {
	pthread_mutex_t lock;
	struct source_slot *slots; /* a power-of-two count, at most half used */
	size_t mask;
	size_t used;
	unsigned int limit; /* connections per address */
};

/*
 * A table for at most max_conns open connections at once (all workers),
 * each address holding at most limit of them. Returns 0 or -ENOMEM.
 */
int source_limit__init(struct source_limit *sl, uint64_t max_conns, unsigned int limit);
void source_limit__destroy(struct source_limit *sl);
/*
 * A new connection from ipv4: 0 (counted), -EUSERS (the address holds
 * `limit` connections already) or -ENOSPC (more distinct addresses than
 * the table was sized for: only when the caps allow more than
 * SOURCE_LIMIT_MAX_SLOTS / 2 connections).
 */
int source_limit__acquire(struct source_limit *sl, uint32_t ipv4);
/* A connection counted by source_limit__acquire closed. */
void source_limit__release(struct source_limit *sl, uint32_t ipv4);
/* Connections open from ipv4 now (for tests and logs). */
unsigned int source_limit__count(struct source_limit *sl, uint32_t ipv4);

#endif /* WARDEN_PROXY_SOURCE_LIMIT_H */
