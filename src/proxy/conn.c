// SPDX-License-Identifier: Apache-2.0
/*
 * Connections: sockets, channels, the pump, timeouts.
 *
 * Both sockets are registered once, edge-triggered, for in and out; the
 * readiness seen is kept in flags (readable, writable) and the pump tries
 * I/O only where a flag says it may succeed and a channel says it is
 * useful. No epoll_ctl per request, and a flag is cleared only by
 * EAGAIN or a short read/write, after which the kernel reports the next
 * edge. A short read is taken as "drained" (one recv instead of two),
 * except after a hang-up was reported: then the EOF is still to be read.
 *
 * The pump runs at most PUMP_ROUNDS rounds per event; a connection that
 * could go on (a fast bulk transfer) is scheduled to continue after the
 * others had their turn.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "http_session.h"
#include "warden/log.h"

#define CONN_BUFFER_SIZE (32 * 1024)
#define PUMP_ROUNDS 16

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum conn_mode {
	MODE_HTTP,   /* the session interprets the bytes */
	MODE_TUNNEL, /* after 101: bytes copied blindly both ways */
	MODE_FLUSH,  /* send the client what it still has to read, then shut */
	MODE_LINGER, /* our side is shut; read and drop until the client closes */
	MODE_DEAD,
};

enum upstream_state {
	UPSTREAM_NONE,
	UPSTREAM_CONNECTING,
	UPSTREAM_READY
};

struct side {
	int fd;
	bool readable;
	bool writable;
	bool hangup; /* RDHUP/HUP/ERR seen: a short read does not mean drained */
	bool shut;   /* we shut its write side (tunnel, flush) */
	struct watch watch;
};

struct conn {
	struct list_node link; /* worker->conns */
	struct task run_task;  /* continue pumping next round */
	struct task reap_task; /* free at the end of the round */
	struct timer timer;
	struct worker *worker;
	struct http_env *env;
	enum conn_mode mode;
	enum upstream_state upstream_state;
	struct side client;
	struct side upstream;
	struct session_io io;
	struct channel req;  /* client → upstream */
	struct channel resp; /* upstream → client */
	uint64_t last_io;
	uint64_t connect_started;
	uint64_t linger_since;
	struct http_session session;
	char buffers[2 * CONN_BUFFER_SIZE];
};

static void conn_run(struct conn *c);

struct conn *conn__of_link(struct list_node *link)
{
	return container_of(link, struct conn, link);
}

/* ---- closing ---------------------------------------------------------- */

static void close_upstream(struct conn *c)
{
	if (c->upstream.fd >= 0)
		close(c->upstream.fd);
	c->upstream.fd = -1;
	c->upstream.readable = c->upstream.writable = false;
	c->upstream.hangup = c->upstream.shut = false;
	c->upstream_state = UPSTREAM_NONE;
	c->io.upstream_eof = c->io.upstream_failed = c->io.upstream_connected = false;
	/* Approved bytes that never reached the old server are not for a new one. */
	if (c->req.fwd) {
		c->req.head += c->req.fwd;
		c->req.fwd = 0;
		if (c->req.head == c->req.tail)
			c->req.head = c->req.tail = 0;
	}
}

static void conn_free(struct task *t)
{
	free(container_of(t, struct conn, reap_task));
}

void conn__abort(struct conn *c)
{
	if (c->mode == MODE_DEAD)
		return;
	http_session__finish(&c->session, c->env);
	close_upstream(c);
	close(c->client.fd);
	c->client.fd = -1;
	c->mode = MODE_DEAD;
	worker__timer_cancel(c->worker, &c->timer);
	/* Scheduled to continue (a bulk transfer) and aborted meanwhile by a
	 * timer or the other socket's event: it must leave the run queue
	 * before the end of the round frees it. */
	worker__unschedule(&c->run_task);
	worker__conn_detach(c->worker, &c->link, c->session.source.sin_addr.s_addr);
	worker__reap(c->worker, &c->reap_task);
}

/* ---- I/O -------------------------------------------------------------- */

/* 1: bytes or EOF arrived, 0: nothing to do now, <0: -errno. */
static int side_recv(struct conn *c, struct side *side, struct channel *ch, bool *eof)
{
	uint32_t room;
	ssize_t n;

	if (!side->readable || *eof)
		return 0;
	channel__make_room(ch);
	room = channel__room(ch);
	if (!room)
		return 0;
	n = recv(side->fd, ch->data + ch->tail, room, 0);
	if (n > 0) {
		ch->tail += (uint32_t)n;
		c->last_io = c->io.now;
		if ((uint32_t)n < room && !side->hangup)
			side->readable = false;
		return 1;
	}
	if (n == 0) {
		*eof = true;
		side->readable = false;
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		side->readable = false;
		return 0;
	}
	return errno == EINTR ? 1 : -errno;
}

static int side_send(struct conn *c, struct side *side, struct channel *ch)
{
	ssize_t n;

	if (!ch->fwd || !side->writable)
		return 0;
	n = send(side->fd, ch->data + ch->head, ch->fwd, MSG_NOSIGNAL);
	if (n > 0) {
		if ((uint32_t)n < ch->fwd)
			side->writable = false;
		channel__sent(ch, (uint32_t)n);
		c->last_io = c->io.now;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		side->writable = false;
		return 0;
	}
	return n < 0 && errno == EINTR ? 1 : (n < 0 ? -errno : 0);
}

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) < 0 ? -errno : 0;
}

/*
 * The upstream socket. In transparent mode it is bound to the client's
 * address (IP_TRANSPARENT allows a non-local source), port chosen at
 * connect (IP_BIND_ADDRESS_NO_PORT: the 4-tuple, not the address alone,
 * must be unique, so many clients behind one address do not exhaust
 * ports), and marked so the datapath neither redirects it back to us nor
 * treats it as a new flow of the client.
 */
static int upstream_open(struct conn *c)
{
	const struct proxy_config *config = c->env->config;
	const struct sockaddr_in *dst = &c->session.destination;
	struct sockaddr_in src = c->session.source;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!config->upstream_mode) {
		src.sin_port = 0;
		err = set_int(fd, SOL_IP, IP_TRANSPARENT, 1);
		if (!err)
			err = set_int(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1);
		if (!err && bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
			err = -errno;
	}
	if (!err && config->mark)
		err = set_int(fd, SOL_SOCKET, SO_MARK, (int)config->mark);
	if (!err)
		err = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (!err && connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 &&
	    errno != EINPROGRESS)
		err = -errno;
	if (!err)
		err = worker__watch(c->worker, fd, &c->upstream.watch);
	if (err) {
		close(fd);
		return err;
	}
	c->upstream.fd = fd;
	c->upstream_state = UPSTREAM_CONNECTING;
	c->connect_started = c->io.now;
	return 0;
}

static void upstream_connect_failed(struct conn *c, int err)
{
	char ip[INET_ADDRSTRLEN];

	pr_debug("upstream connect to %s:%u: %s\n",
		 inet_ntop(AF_INET, &c->session.destination.sin_addr, ip, sizeof(ip)),
		 ntohs(c->session.destination.sin_port), strerror(-err));
	close_upstream(c);
	c->io.upstream_failed = true;
	c->io.upstream_connected = false;
}

/* ---- session actions -------------------------------------------------- */

/* Enter FLUSH: nothing more is read for the upstream or the session. */
static void begin_flush(struct conn *c)
{
	close_upstream(c);
	c->req.head = c->req.tail = c->req.fwd = 0;
	c->mode = MODE_FLUSH;
}

static void apply(struct conn *c, unsigned int act)
{
	if (act & SESSION_CLOSE_UPSTREAM)
		close_upstream(c);
	if (act & SESSION_ABORT) {
		conn__abort(c);
		return;
	}
	if ((act & SESSION_OPEN_UPSTREAM) && c->upstream_state == UPSTREAM_NONE) {
		int err = upstream_open(c);

		if (err)
			upstream_connect_failed(c, err);
	}
	if (act & SESSION_TUNNEL)
		c->mode = MODE_TUNNEL;
	if (act & SESSION_CLOSE)
		begin_flush(c);
}

/* ---- the pump, per mode ----------------------------------------------- */

static bool pump_http(struct conn *c)
{
	unsigned int act;
	bool moved = false;
	int r;

	r = side_recv(c, &c->client, &c->req, &c->io.client_eof);
	if (r < 0)
		goto client_error;
	moved |= r > 0;
	if (c->upstream_state == UPSTREAM_READY) {
		r = side_recv(c, &c->upstream, &c->resp, &c->io.upstream_eof);
		if (r < 0)
			c->io.upstream_failed = true;
		moved |= r != 0;
	}
	act = http_session__step(&c->session, c->env, &c->io);
	if (act) {
		apply(c, act);
		if (c->mode != MODE_HTTP)
			return true;
		moved = true;
	}
	if (c->upstream_state == UPSTREAM_READY) {
		r = side_send(c, &c->upstream, &c->req);
		if (r < 0)
			c->io.upstream_failed = true;
		moved |= r != 0;
	}
	r = side_send(c, &c->client, &c->resp);
	if (r < 0)
		goto client_error;
	return moved || r > 0;
client_error:
	/* Reset by the client: nobody is left to answer. */
	conn__abort(c);
	return false;
}

static bool pump_tunnel(struct conn *c)
{
	bool moved = false;
	int r[4];

	r[0] = side_recv(c, &c->client, &c->req, &c->io.client_eof);
	r[1] = side_recv(c, &c->upstream, &c->resp, &c->io.upstream_eof);
	channel__approve(&c->req, channel__pending(&c->req));
	channel__approve(&c->resp, channel__pending(&c->resp));
	r[2] = side_send(c, &c->upstream, &c->req);
	r[3] = side_send(c, &c->client, &c->resp);
	for (int i = 0; i < 4; i++) {
		if (r[i] < 0) {
			conn__abort(c);
			return false;
		}
		moved |= r[i] > 0;
	}
	/* Half-closes travel: EOF from one side, once its bytes are
	 * delivered, becomes a shutdown of the other side's write. */
	if (c->io.client_eof && channel__empty(&c->req) && !c->upstream.shut) {
		shutdown(c->upstream.fd, SHUT_WR);
		c->upstream.shut = true;
	}
	if (c->io.upstream_eof && channel__empty(&c->resp) && !c->client.shut) {
		shutdown(c->client.fd, SHUT_WR);
		c->client.shut = true;
	}
	if (c->client.shut && c->upstream.shut) {
		conn__abort(c);
		return false;
	}
	return moved;
}

/*
 * Closing a socket with unread bytes makes the kernel send a RST, which
 * can destroy our last response before the client read it (a 403 after
 * a body we did not want, a 400). So: send everything, shut our side,
 * then read and drop until the client closes or the linger time ends.
 */
static bool pump_flush(struct conn *c)
{
	int r = side_send(c, &c->client, &c->resp);

	if (r < 0) {
		conn__abort(c);
		return false;
	}
	if (!channel__empty(&c->resp))
		return r > 0;
	shutdown(c->client.fd, SHUT_WR);
	c->client.shut = true;
	c->mode = MODE_LINGER;
	c->linger_since = c->io.now;
	return true;
}

static bool pump_linger(struct conn *c)
{
	int r = side_recv(c, &c->client, &c->req, &c->io.client_eof);

	c->req.head = c->req.tail = c->req.fwd = 0;
	if (r < 0 || c->io.client_eof) {
		conn__abort(c);
		return false;
	}
	return r > 0;
}

/* ---- timers ----------------------------------------------------------- */

static uint64_t conn_deadline(const struct conn *c)
{
	const struct proxy_timeouts *t = &c->env->config->timeouts;
	uint64_t deadline;

	switch (c->mode) {
	case MODE_HTTP:
		deadline = http_session__deadline(&c->session, t, c->last_io);
		if (c->upstream_state == UPSTREAM_CONNECTING &&
		    c->connect_started + t->connect < deadline)
			deadline = c->connect_started + t->connect;
		return deadline;
	case MODE_TUNNEL:
		return c->last_io + t->tunnel;
	case MODE_FLUSH:
		return c->last_io + t->data;
	case MODE_LINGER:
		return c->linger_since + t->linger;
	default:
		return UINT64_MAX;
	}
}

/*
 * Lazy re-arming: a timer armed too early is harmless (it fires, finds
 * the deadline moved and re-arms), so activity that pushes the deadline
 * out (every byte, in an exchange) costs no timer operation; only an
 * earlier deadline re-arms at once.
 */
static void update_timer(struct conn *c)
{
	uint64_t deadline = conn_deadline(c);

	if (deadline == UINT64_MAX)
		worker__timer_cancel(c->worker, &c->timer);
	else if (!list__linked(&c->timer.link) || deadline < c->timer.deadline)
		worker__timer_arm(c->worker, &c->timer, deadline);
}

static void on_timer(struct timer *t)
{
	struct conn *c = container_of(t, struct conn, timer);
	const struct proxy_timeouts *timeouts = &c->env->config->timeouts;
	uint64_t now = worker__now(c->worker);
	uint64_t deadline = conn_deadline(c);

	c->io.now = now;
	if (deadline > now) {
		worker__timer_arm(c->worker, t, deadline);
		return;
	}
	if (c->mode != MODE_HTTP) {
		conn__abort(c);
		return;
	}
	if (c->upstream_state == UPSTREAM_CONNECTING &&
	    c->connect_started + timeouts->connect <= now)
		upstream_connect_failed(c, -ETIMEDOUT);
	else
		apply(c, http_session__expire(&c->session, c->env, &c->io));
	conn_run(c);
}

/* ---- events ----------------------------------------------------------- */

static void conn_run(struct conn *c)
{
	int round;

	c->io.now = worker__now(c->worker);
	for (round = 0; round < PUMP_ROUNDS; round++) {
		bool moved;

		switch (c->mode) {
		case MODE_HTTP:
			moved = pump_http(c);
			break;
		case MODE_TUNNEL:
			moved = pump_tunnel(c);
			break;
		case MODE_FLUSH:
			moved = pump_flush(c);
			break;
		case MODE_LINGER:
			moved = pump_linger(c);
			break;
		default:
			return;
		}
		if (c->mode == MODE_DEAD)
			return;
		if (!moved)
			break;
	}
	if (round == PUMP_ROUNDS)
		worker__schedule(c->worker, &c->run_task);
	update_timer(c);
}

static void run_task(struct task *t)
{
	conn_run(container_of(t, struct conn, run_task));
}

static void note_events(struct side *side, uint32_t events)
{
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		side->hangup = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		side->readable = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		side->writable = true;
}

static void on_client_event(struct watch *watch, uint32_t events)
{
	struct conn *c = container_of(watch, struct conn, client.watch);

	if (c->mode == MODE_DEAD)
		return;
	note_events(&c->client, events);
	conn_run(c);
}

static void on_upstream_event(struct watch *watch, uint32_t events)
{
	struct conn *c = container_of(watch, struct conn, upstream.watch);

	/* A late event of an upstream socket closed earlier in this round. */
	if (c->mode == MODE_DEAD || c->upstream_state == UPSTREAM_NONE)
		return;
	if (c->upstream_state == UPSTREAM_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			c->io.now = worker__now(c->worker);
			upstream_connect_failed(c, -(err ? err : ECONNREFUSED));
			conn_run(c);
			return;
		}
		c->upstream_state = UPSTREAM_READY;
		c->io.upstream_connected = true;
	}
	note_events(&c->upstream, events);
	conn_run(c);
}

/* ---- API -------------------------------------------------------------- */

/* The address the client meant to reach. */
static int original_destination(const struct proxy_config *config, int fd,
				struct sockaddr_in *dst)
{
	socklen_t len = sizeof(*dst);

	if (config->upstream_mode) {
		*dst = config->upstream;
		return 0;
	}
	/* TPROXY: the local address of the accepted socket is the
	 * address the client meant to reach. */
	if (getsockname(fd, (struct sockaddr *)dst, &len) < 0)
		return -errno;
	return 0;
}

void conn__refuse(struct worker *w, int fd, const struct sockaddr_in *peer,
		  enum conn_limit which)
{
	const struct proxy_config *config = w->config;
	struct sockaddr_in dst;

	if (!original_destination(config, fd, &dst))
		http_env__refuse(w->ctx, peer, &dst,
				 which == CONN_LIMIT_SOURCE
				     ? ACCESS_REASON_SOURCE_LIMIT
				     : ACCESS_REASON_CONNECTION_LIMIT,
				 which == CONN_LIMIT_SOURCE ? config->max_conns_per_source
							    : config->max_conns);
	close(fd);
}

int conn__accept(struct worker *w, int fd, const struct sockaddr_in *peer)
{
	const struct proxy_config *config = w->config;
	struct sockaddr_in dst;
	struct conn *c;
	int err;

	err = original_destination(config, fd, &dst);
	if (err)
		return err;
	/* A connection made to our own port (not diverted to it) would make
	 * us connect to ourselves, again and again. */
	if (!config->upstream_mode && dst.sin_port == htons(config->port))
		return -ELOOP;
	/* Accepted sockets inherit TCP_NODELAY and SO_MARK from the
	 * listener (the kernel clones the listening socket). */
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	memset(c, 0, offsetof(struct conn, buffers));
	c->worker = w;
	c->env = w->ctx;
	c->mode = MODE_HTTP;
	c->client.fd = fd;
	c->upstream.fd = -1;
	c->client.watch.on_event = on_client_event;
	c->upstream.watch.on_event = on_upstream_event;
	c->run_task.run = run_task;
	c->reap_task.run = conn_free;
	c->timer.fire = on_timer;
	channel__init(&c->req, c->buffers, CONN_BUFFER_SIZE);
	channel__init(&c->resp, c->buffers + CONN_BUFFER_SIZE, CONN_BUFFER_SIZE);
	c->io.req = &c->req;
	c->io.resp = &c->resp;
	c->io.now = c->last_io = worker__now(w);
	http_session__init(&c->session, peer, &dst, c->io.now);
	/* Readiness comes with the first event: EPOLL_CTL_ADD reports what
	 * is already there, edge-triggered or not. */
	err = worker__watch(w, fd, &c->client.watch);
	if (err) {
		free(c);
		return err;
	}
	worker__conn_attach(w, &c->link);
	update_timer(c);
	return 0;
}

void conn__drain(struct conn *c)
{
	if (c->mode != MODE_HTTP)
		return;
	c->io.now = worker__now(c->worker);
	apply(c, http_session__drain(&c->session, &c->io));
	if (c->mode != MODE_DEAD)
		conn_run(c);
}

uint64_t conn__round_end(struct worker *w)
{
	return http_env__round_end(w->ctx, w->now);
}
