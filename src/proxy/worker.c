// SPDX-License-Identifier: Apache-2.0
/*
 * The worker loop: epoll, a timer wheel, accept, and the end-of-round
 * bookkeeping (run again what did not finish, free what died).
 *
 * Round: epoll_wait (0 ms when something is runnable, else until the next
 * wheel tick) → refresh the clock → dispatch events → run runnable tasks →
 * fire timers → reap → the access log's batch, if due (the wait is cut
 * short for it: round_end_due). Freeing at the end of the round is what makes it
 * safe for a callback to close a connection whose other socket still has
 * an event waiting in this round's array.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "warden/log.h"
#include "worker.h"

#define MAX_EVENTS 256
#define ACCEPT_BATCH 64 /* per listener event: do not starve open connections */
#define ACCEPT_PAUSE_US 100000

static uint64_t clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- timers ----------------------------------------------------------- */

/*
 * A hashed timer wheel: slot = tick % slots. Arm and cancel are O(1); a
 * tick visits one slot and re-files what belongs to a later turn. While a
 * slot is processed, wheel_tick already points past it, so a timer armed
 * from a callback for "now" lands in the next tick, not a turn later.
 */
void worker__timer_arm(struct worker *w, struct timer *t, uint64_t deadline)
{
	uint64_t tick = deadline / WORKER_TICK_US;

	if (list__linked(&t->link))
		list__del(&t->link);
	else
		w->timer_count++;
	if (tick < w->wheel_tick)
		tick = w->wheel_tick;
	t->deadline = deadline;
	list__add_tail(&w->wheel[tick % WORKER_WHEEL_SLOTS], &t->link);
}

void worker__timer_cancel(struct worker *w, struct timer *t)
{
	if (!list__linked(&t->link))
		return;
	list__del(&t->link);
	w->timer_count--;
}

static void timers_run(struct worker *w)
{
	uint64_t now_tick = w->now / WORKER_TICK_US;

	/* After a long stall, one visit of each slot is enough. */
	if (now_tick >= w->wheel_tick + WORKER_WHEEL_SLOTS)
		w->wheel_tick = now_tick - WORKER_WHEEL_SLOTS + 1;
	while (w->wheel_tick <= now_tick) {
		struct list_node *slot = &w->wheel[w->wheel_tick % WORKER_WHEEL_SLOTS];
		struct list_node due;

		w->wheel_tick++;
		if (list__empty(slot))
			continue;
		/* Detach the slot: callbacks may arm and cancel freely. */
		due = *slot;
		due.next->prev = &due;
		due.prev->next = &due;
		list__init(slot);
		while (!list__empty(&due)) {
			struct timer *t = container_of(due.next, struct timer, link);

			list__del(&t->link);
			if (t->deadline / WORKER_TICK_US <= now_tick) {
				w->timer_count--;
				t->fire(t);
			} else {
				list__add_tail(&w->wheel[(t->deadline / WORKER_TICK_US) %
							 WORKER_WHEEL_SLOTS],
					       &t->link);
			}
		}
	}
}

static int next_timeout_ms(const struct worker *w)
{
	uint64_t next = 0;

	if (!list__empty(&w->runnable))
		return 0;
	if (w->timer_count || w->stopping)
		next = w->wheel_tick * WORKER_TICK_US;
	if (w->round_end_due && (!next || w->round_end_due < next))
		next = w->round_end_due;
	if (!next)
		return -1;
	return next <= w->now ? 0 : (int)((next - w->now) / 1000) + 1;
}

/* ---- tasks ------------------------------------------------------------ */

void worker__schedule(struct worker *w, struct task *t)
{
	if (!list__linked(&t->link))
		list__add_tail(&w->runnable, &t->link);
}

void worker__unschedule(struct task *t)
{
	if (list__linked(&t->link))
		list__del(&t->link);
}

void worker__reap(struct worker *w, struct task *t)
{
	if (!list__linked(&t->link))
		list__add_tail(&w->reap, &t->link);
}

static void tasks_run(struct list_node *list)
{
	struct list_node batch;

	if (list__empty(list))
		return;
	/* Only what was queued before: a task that queues itself again runs
	 * next round, after the others had their events. */
	batch = *list;
	batch.next->prev = &batch;
	batch.prev->next = &batch;
	list__init(list);
	while (!list__empty(&batch)) {
		struct task *t = container_of(batch.next, struct task, link);

		list__del(&t->link);
		t->run(t);
	}
}

/* ---- connections ------------------------------------------------------ */

int worker__watch(struct worker *w, int fd, struct watch *watch)
{
	struct epoll_event ev = {
	    .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	    .data.ptr = watch,
	};

	return epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void worker__conn_attach(struct worker *w, struct list_node *link)
{
	list__add_tail(&w->conns, link);
	w->conn_count++;
}

void worker__conn_detach(struct worker *w, struct list_node *link, uint32_t source)
{
	list__del(link);
	w->conn_count--;
	source_limit__release(w->sources, source);
}

static void listener_pause(struct worker *w)
{
	epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, w->listen_fd, NULL);
	worker__timer_arm(w, &w->accept_resume, w->now + ACCEPT_PAUSE_US);
}

static void accept_resume(struct timer *t)
{
	struct worker *w = container_of(t, struct worker, accept_resume);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->listen_watch};

	if (w->listen_fd >= 0)
		epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->listen_fd, &ev);
}

/* Level-triggered: what is left after a batch is reported again. */
static void on_listen(struct watch *watch, uint32_t events)
{
	struct worker *w = container_of(watch, struct worker, listen_watch);

	(void)events;
	for (int i = 0; i < ACCEPT_BATCH && w->listen_fd >= 0; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int err, fd = accept4(w->listen_fd, (struct sockaddr *)&peer, &len,
				      SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors or memory: the listener would
				 * stay readable and spin the loop; pause it. */
				pr_warn("worker %u: accept: %s; pausing accept\n",
					w->index, strerror(errno));
				listener_pause(w);
			}
			return;
		}
		if (peer.sin_family != AF_INET) {
			close(fd);
			continue;
		}
		/* The cap protects the worker (memory, descriptors) from floods
		 * of idle or slow clients: closed at once, never queued. */
		if (w->conn_count >= w->config->max_conns) {
			w->refused++;
			conn__refuse(w, fd, &peer, CONN_LIMIT_WORKER);
			continue;
		}
		/* The per-source limit keeps one client (one pod) from taking
		 * every slot of every worker. */
		err = source_limit__acquire(w->sources, peer.sin_addr.s_addr);
		if (err) {
			if (err == -EUSERS)
				w->refused_source++;
			else
				w->refused++;
			conn__refuse(w, fd, &peer,
				     err == -EUSERS ? CONN_LIMIT_SOURCE
						    : CONN_LIMIT_WORKER);
			continue;
		}
		w->accepted++;
		if (conn__accept(w, fd, &peer) < 0) {
			source_limit__release(w->sources, peer.sin_addr.s_addr);
			close(fd);
		}
	}
}

static void begin_stop(struct worker *w)
{
	struct list_node *n, *next;

	if (w->stopping)
		return;
	w->stopping = true;
	w->stop_deadline = w->now + w->config->timeouts.drain;
	worker__timer_cancel(w, &w->accept_resume);
	if (w->listen_fd >= 0) {
		close(w->listen_fd); /* also leaves the epoll set */
		w->listen_fd = -1;
	}
	for (n = w->conns.next; n != &w->conns; n = next) {
		next = n->next;
		conn__drain(conn__of_link(n));
	}
}

static void on_stop(struct watch *watch, uint32_t events)
{
	struct worker *w = container_of(watch, struct worker, stop_watch);
	uint64_t value;

	(void)events;
	if (read(w->stop_fd, &value, sizeof(value)) < 0 && errno != EAGAIN)
		pr_debug("worker %u: stop eventfd: %s\n", w->index, strerror(errno));
	begin_stop(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event events[MAX_EVENTS];

	w->now = clock_now();
	w->wheel_tick = w->now / WORKER_TICK_US;
	for (;;) {
		int n;

		if (w->stopping && (w->conn_count == 0 || w->now >= w->stop_deadline))
			break;
		n = epoll_wait(w->epoll_fd, events, MAX_EVENTS, next_timeout_ms(w));
		if (n < 0 && errno != EINTR) {
			pr_warn("worker %u: epoll_wait: %s\n", w->index, strerror(errno));
			break;
		}
		w->now = clock_now();
		for (int i = 0; i < n; i++) {
			struct watch *watch = events[i].data.ptr;

			watch->on_event(watch, events[i].events);
		}
		tasks_run(&w->runnable);
		timers_run(w);
		tasks_run(&w->reap);
		w->round_end_due = conn__round_end(w);
	}
	/* Drain time over (or a fatal loop error): close what is left. */
	while (!list__empty(&w->conns))
		conn__abort(conn__of_link(w->conns.next));
	tasks_run(&w->reap);
	return NULL;
}

/* ---- life cycle ------------------------------------------------------- */

static int set_int(int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) == 0)
		return 0;
	pr_warn("setsockopt %s: %s\n", what, strerror(errno));
	return -errno;
}

/*
 * The listening socket. IP_TRANSPARENT lets it accept connections that
 * TPROXY diverted to it whatever their destination address (then
 * getsockname() on the accepted socket is that original destination);
 * SO_MARK makes the replies recognisable by the datapath; SO_REUSEPORT
 * gives each worker its own accept queue (no thundering herd, no lock).
 */
static int listen_socket(const struct proxy_config *config)
{
	struct sockaddr_in addr = {
	    .sin_family = AF_INET,
	    .sin_port = htons(config->port),
	    .sin_addr = config->bind_addr,
	};
	int fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (!err)
		err = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
	if (!err && !config->upstream_mode)
		err = set_int(fd, SOL_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT");
	if (!err && config->mark)
		err = set_int(fd, SOL_SOCKET, SO_MARK, (int)config->mark, "SO_MARK");
	if (!err)
		err = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	if (err)
		goto fail;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 4096) < 0) {
		err = -errno;
		pr_warn("listen on %s:%u: %s\n", inet_ntoa(config->bind_addr),
			config->port, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

int worker__new(const struct proxy_config *config, unsigned int index, void *ctx,
		struct source_limit *sources, struct worker **out)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct worker *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->index = index;
	w->config = config;
	w->ctx = ctx;
	w->sources = sources;
	w->listen_fd = w->stop_fd = -1;
	w->listen_watch.on_event = on_listen;
	w->stop_watch.on_event = on_stop;
	w->accept_resume.fire = accept_resume;
	for (unsigned int i = 0; i < WORKER_WHEEL_SLOTS; i++)
		list__init(&w->wheel[i]);
	list__init(&w->runnable);
	list__init(&w->reap);
	list__init(&w->conns);
	w->now = clock_now();
	w->wheel_tick = w->now / WORKER_TICK_US;

	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epoll_fd < 0) {
		err = -errno;
		goto fail;
	}
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->stop_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = w->listen_fd = listen_socket(config);
	if (err < 0)
		goto fail;
	ev.data.ptr = &w->listen_watch;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->listen_fd, &ev) < 0) {
		err = -errno;
		goto fail;
	}
	ev.data.ptr = &w->stop_watch;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->stop_fd, &ev) < 0) {
		err = -errno;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	worker__free(w);
	return err;
}

int worker__start(struct worker *w)
{
	int err = pthread_create(&w->thread, NULL, worker_main, w);

	return -err;
}

void worker__stop(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->stop_fd, &one, sizeof(one)) < 0)
		pr_warn("worker %u: stop: %s\n", w->index, strerror(errno));
}

void worker__join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void worker__free(struct worker *w)
{
	if (!w)
		return;
	if (w->listen_fd >= 0)
		close(w->listen_fd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	if (w->epoll_fd >= 0)
		close(w->epoll_fd);
	free(w);
}
