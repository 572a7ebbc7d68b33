/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A worker: one thread, one epoll, one SO_REUSEPORT listening socket, a
 * timer wheel and the connections it accepted. The kernel spreads new
 * connections over the workers' listeners; a connection then lives and
 * dies on its worker, so nothing on the request path is shared between
 * threads except the policy snapshot (read-only, reference counted).
 *
 * The loop knows nothing of HTTP: it dispatches epoll events to watches,
 * runs tasks that asked to run again, fires timers, and frees what died
 * during the round, after every callback that could still see it ran.
 */
#ifndef WARDEN_PROXY_WORKER_H
#define WARDEN_PROXY_WORKER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy.h"
#include "source_limit.h"

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

/* Intrusive doubly linked list; an unlinked node has next == NULL. */
struct list_node {
	struct list_node *prev, *next;
};

static inline void list__init(struct list_node *head)
{
	head->prev = head->next = head;
}

static inline bool list__empty(const struct list_node *head)
{
	return head->next == head;
}

static inline bool list__linked(const struct list_node *node)
{
	return node->next != NULL;
}

static inline void list__add_tail(struct list_node *head, struct list_node *node)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

static inline void list__del(struct list_node *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->prev = node->next = NULL;
}

/* Something on the worker's epoll (edge-triggered for connections). */
struct watch {
	void (*on_event)(struct watch *watch, uint32_t events);
};

/* A deadline. Resolution: one wheel tick (WORKER_TICK_US). */
struct timer {
	struct list_node link;
	uint64_t deadline; /* us, CLOCK_MONOTONIC */
	void (*fire)(struct timer *timer);
};

/* A callback run later in this round (fairness, deferred frees). */
struct task {
	struct list_node link;
	void (*run)(struct task *task);
};

#define WORKER_TICK_US 100000u
#define WORKER_WHEEL_SLOTS 1024u /* 102 s per turn; longer deadlines wait turns */

struct worker {
	unsigned int index;
	const struct proxy_config *config;
	void *ctx; /* per-worker state of the layer above (the HTTP env) */
	pthread_t thread;
	int epoll_fd;
	int listen_fd;
	int stop_fd; /* eventfd: main thread → worker */
	struct watch listen_watch;
	struct watch stop_watch;
	struct timer accept_resume; /* after EMFILE: accept again later */
	uint64_t now; /* us, CLOCK_MONOTONIC, refreshed once per loop round */
	struct list_node wheel[WORKER_WHEEL_SLOTS];
	uint64_t wheel_tick; /* next tick to process */
	unsigned int timer_count;
	struct list_node runnable; /* tasks to run again before sleeping */
	struct list_node reap;	   /* tasks that free the dead, end of round */
	struct list_node conns;	   /* every live connection (for SIGTERM) */
	unsigned int conn_count;
	bool stopping;
	uint64_t stop_deadline;
	uint64_t round_end_due;	      /* conn__round_end wants another call by then */
	struct source_limit *sources; /* shared by the workers */
	uint64_t accepted;
	uint64_t refused;	 /* over the connection cap */
	uint64_t refused_source; /* over the per-source limit */
};

/*
 * Create a worker and its listening socket (bound now, so an address in use
 * is reported before any thread starts). ctx is handed to connections;
 * sources counts connections per client address over all workers.
 * Returns 0 or -errno with a message logged.
 */
int worker__new(const struct proxy_config *config, unsigned int index, void *ctx,
		struct source_limit *sources, struct worker **out);
int worker__start(struct worker *w);
/* Ask the worker to stop accepting and finish (any thread; async-safe). */
void worker__stop(struct worker *w);
void worker__join(struct worker *w);
void worker__free(struct worker *w);

/* For connections. */
int worker__watch(struct worker *w, int fd, struct watch *watch);
void worker__timer_arm(struct worker *w, struct timer *t, uint64_t deadline);
void worker__timer_cancel(struct worker *w, struct timer *t);
/* Run t once more this round (no-op if already queued). */
void worker__schedule(struct worker *w, struct task *t);
void worker__unschedule(struct task *t);
/*
 * Run t (which frees its owner) at the end of the round, after every event
 * and timer that could still name the owner. The owner must have left the
 * run queue and cancelled its timers first.
 */
void worker__reap(struct worker *w, struct task *t);
void worker__conn_attach(struct worker *w, struct list_node *link);
/* The connection is gone: it leaves the list and gives back the slot of
 * its source address (ipv4, network order) taken at accept. */
void worker__conn_detach(struct worker *w, struct list_node *link, uint32_t source);

static inline uint64_t worker__now(const struct worker *w)
{
	return w->now;
}

#endif /* WARDEN_PROXY_WORKER_H */
