// SPDX-License-Identifier: Apache-2.0
/*
 * Prometheus text exposition on a loopback TCP address (default
 * 127.0.0.1:9962): GET /metrics answers with the datapath counters (per
 * endpoint, reason and direction), policy import count and duration,
 * identity and endpoint counts, proxy requests by verdict with a latency
 * histogram, and lost monitor events.
 *
 * The port is open to every local user, so nothing here may hold the loop
 * up: connections are non-blocking and served by the loop like control
 * clients, at most METRICS_MAX_CONNECTIONS at once (more are closed at
 * once), and one that has not sent its request within
 * METRICS_REQUEST_TIMEOUT_MS, or not taken its answer within
 * METRICS_SEND_TIMEOUT_MS, is closed by metrics__tick(). A scrape reads
 * the datapath's counters in one walk of the map.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "endpoint.h"
#include "loop.h"
#include "metrics.h"
#include "monitor.h"
#include "outq.h"
#include "warden/datapath.h"
#include "warden/identity.h"
#include "warden/reason.h"

#define METRICS_MAX_CONNECTIONS 32
#define METRICS_REQUEST_TIMEOUT_MS 1000
#define METRICS_SEND_TIMEOUT_MS 5000
/* The request head we read; a longer one is answered 431 and closed. */
#define METRICS_REQUEST_MAX 4096

/* One scrape: the request head as it arrives, then the answer. */
struct metrics_conn {
	struct metrics_conn *next, *prev;
	struct metrics_server *server;
	int fd;
	char in[METRICS_REQUEST_MAX];
	size_t in_len;
	struct outq out;
	bool answered;
	uint64_t deadline; /* ms, CLOCK_MONOTONIC */
};

struct metrics_server {
	struct agent *agent;
	struct loop *loop;
	int listen_fd;
	struct metrics_conn *conns;
	size_t conn_count;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const double latency_bounds_s[METRICS_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
};

static int listen_on(const char *address)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	char host[64];
	unsigned int port;
	int fd, one = 1;

	if (sscanf(address, "%63[^:]:%u", host, &port) != 2 || port == 0 ||
	    port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		return -EINVAL;
	addr.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 64) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

void metrics__observe_proxy(struct agent *agent, const char *verdict, const char *reason,
			    double latency_s)
{
	int v = !verdict			? 2
		: !strcmp(verdict, "FORWARDED") ? 0
		: !strcmp(verdict, "DENIED")	? 1
		: !strcmp(verdict, "AUDIT")	? 3
						: 2;

	agent->metrics.proxy_requests[v]++;
	if (reason && !strcmp(reason, "no-rule"))
		agent->metrics.proxy_no_rule++;
	else if (reason && !strcmp(reason, "lifted"))
		agent->metrics.proxy_lifted++;
	agent->metrics.proxy_latency_sum_s += latency_s;
	for (int b = 0; b < METRICS_LATENCY_BUCKETS; b++)
		if (latency_s <= latency_bounds_s[b])
			agent->metrics.proxy_latency_buckets[b]++;
}

/* The access log's reasons, in agent->metrics.proxy_limit_hits order. */
static const char *const proxy_limits[METRICS_PROXY_LIMITS] = {
    "regex_limit",
    "connection_limit",
    "per_source_limit",
};

void metrics__observe_proxy_limit(struct agent *agent, const char *reason)
{
	for (int i = 0; i < METRICS_PROXY_LIMITS; i++)
		if (reason && !strcmp(reason, proxy_limits[i]))
			agent->metrics.proxy_limit_hits[i]++;
}

/* Appends to a growing buffer; the text is small (per endpoint x reason). */
struct text {
	char *buf;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL,
			      t->buf ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 16384) + (size_t)n;
		char *grown = realloc(t->buf, cap);

		if (!grown)
			return;
		t->buf = grown;
		t->cap = cap;
	}
}

/* The counters of the endpoint id in list (sorted by id), summed by reason
 * and direction. */
static void endpoint_counts(const struct datapath_metric *list, size_t n, uint32_t id,
			    uint64_t counts[WARDEN_REASON_MAX + 1][2])
{
	size_t lo = 0, hi = n;

	memset(counts, 0, sizeof(uint64_t) * (WARDEN_REASON_MAX + 1) * 2);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (list[mid].endpoint_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && list[lo].endpoint_id == id; lo++)
		counts[list[lo].reason][list[lo].direction] += list[lo].packets;
}

static void render(struct agent *agent, struct text *t)
{
	static const char *const verdicts[] = {"forwarded", "denied", "error", "audit"};
	static const char *const dirs[] = {"ingress", "egress"};
	uint64_t counts[WARDEN_REASON_MAX + 1][2];
	const struct identity *const *ids;
	uint64_t cumulative = 0, total = 0;
	struct datapath_metric *list = NULL;
	size_t n = 0;

	/* One walk of the map for the whole scrape. */
	if (datapath__metrics_read(agent->datapath, &list, &n))
		n = 0;
	put(t, "# HELP warden_forwarded_packets_total Packets the datapath forwarded.\n"
	       "# TYPE warden_forwarded_packets_total counter\n");
	put(t,
	    "# HELP warden_drop_packets_total Packets the datapath dropped, by reason.\n"
	    "# TYPE warden_drop_packets_total counter\n");
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		const struct endpoint *ep = agent->endpoints[i];

		endpoint_counts(list, n, ep->id, counts);
		for (int d = 0; d < 2; d++) {
			put(t,
			    "warden_forwarded_packets_total{endpoint=\"%s/"
			    "%s\",direction=\"%s\"} "
			    "%llu\n",
			    ep->namespace, ep->name, dirs[d],
			    (unsigned long long)counts[WARDEN_REASON_FORWARDED][d]);
			for (int r = 1; r < WARDEN_REASON_MAX; r++)
				if (counts[r][d])
					put(t,
					    "warden_drop_packets_total{endpoint=\"%s/"
					    "%s\","
					    "direction=\"%s\",reason=\"%s\"} %llu\n",
					    ep->namespace, ep->name, dirs[d],
					    warden_reason__metric((unsigned int)r),
					    (unsigned long long)counts[r][d]);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (list[i].reason == WARDEN_REASON_MAX)
			total += list[i].packets;
	free(list);
	put(t,
	    "# HELP warden_monitor_events_lost_total Events the ring buffer or a slow "
	    "monitor "
	    "client could not take.\n# TYPE warden_monitor_events_lost_total counter\n"
	    "warden_monitor_events_lost_total %llu\n",
	    (unsigned long long)(total + monitor__events_lost(agent)));
	put(t,
	    "# HELP warden_policy_imports_total Successful policy imports and deletes.\n"
	    "# TYPE warden_policy_imports_total counter\nwarden_policy_imports_total "
	    "%llu\n"
	    "# HELP warden_policy_import_duration_seconds Compile and apply time of the "
	    "last "
	    "policy change.\n# TYPE warden_policy_import_duration_seconds gauge\n"
	    "warden_policy_import_duration_seconds %.6f\n"
	    "# HELP warden_policy_revision The policy revision in force.\n"
	    "# TYPE warden_policy_revision gauge\nwarden_policy_revision %llu\n",
	    (unsigned long long)agent->metrics.policy_imports,
	    (double)(agent->last_compile_ns + agent->last_apply_ns) / 1e9,
	    (unsigned long long)agent->policy_revision);
	put(t,
	    "# HELP warden_identities Security identities allocated (reserved "
	    "included).\n"
	    "# TYPE warden_identities gauge\nwarden_identities %zu\n"
	    "# HELP warden_endpoints Endpoints managed by this agent.\n"
	    "# TYPE warden_endpoints gauge\nwarden_endpoints %zu\n",
	    identity__list(agent->identities, &ids), agent->endpoint_count);
	put(t,
	    "# HELP warden_proxy_requests_total HTTP requests judged by the L7 proxy.\n"
	    "# TYPE warden_proxy_requests_total counter\n");
	total = 0;
	for (int v = 0; v < 4; v++) {
		put(t, "warden_proxy_requests_total{verdict=\"%s\"} %llu\n", verdicts[v],
		    (unsigned long long)agent->metrics.proxy_requests[v]);
		total += agent->metrics.proxy_requests[v];
	}
	put(t,
	    "# HELP warden_proxy_no_rule_total Requests the proxy refused because no "
	    "L7 rule applies to their redirected flow (also in verdict=\"denied\").\n"
	    "# TYPE warden_proxy_no_rule_total counter\nwarden_proxy_no_rule_total %llu\n"
	    "# HELP warden_proxy_lifted_total Requests the proxy forwarded because the "
	    "L7 restriction of their flow was lifted (also in verdict=\"forwarded\").\n"
	    "# TYPE warden_proxy_lifted_total counter\nwarden_proxy_lifted_total %llu\n"
	    "# HELP warden_proxy_policy_revision The policy revision warden-proxy "
	    "confirmed it holds (0: none yet, or not running).\n"
	    "# TYPE warden_proxy_policy_revision gauge\nwarden_proxy_policy_revision "
	    "%llu\n",
	    (unsigned long long)agent->metrics.proxy_no_rule,
	    (unsigned long long)agent->metrics.proxy_lifted,
	    (unsigned long long)(agent->proxy.pid > 0 ? agent->proxy.loaded : 0));
	put(t, "# HELP warden_proxy_request_duration_seconds Proxy latency per request.\n"
	       "# TYPE warden_proxy_request_duration_seconds histogram\n");
	for (int b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
		cumulative = agent->metrics.proxy_latency_buckets[b];
		put(t, "warden_proxy_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    latency_bounds_s[b], (unsigned long long)cumulative);
	}
	put(t,
	    "warden_proxy_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "warden_proxy_request_duration_seconds_sum %.6f\n"
	    "warden_proxy_request_duration_seconds_count %llu\n",
	    (unsigned long long)total, agent->metrics.proxy_latency_sum_s,
	    (unsigned long long)total);
	put(t, "# HELP warden_proxy_limit_hits_total Requests the L7 proxy denied and "
	       "connections it refused because of a limit, not a rule.\n"
	       "# TYPE warden_proxy_limit_hits_total counter\n");
	for (int i = 0; i < METRICS_PROXY_LIMITS; i++)
		put(t, "warden_proxy_limit_hits_total{reason=\"%s\"} %llu\n",
		    proxy_limits[i],
		    (unsigned long long)agent->metrics.proxy_limit_hits[i]);
}

static void conn_close(struct metrics_conn *c)
{
	struct metrics_server *server = c->server;

	if (c->prev)
		c->prev->next = c->next;
	else
		server->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	server->conn_count--;
	loop__unwatch(server->loop, c->fd);
	close(c->fd);
	outq__free(&c->out);
	free(c);
}

/* The answer to a complete request head: the metrics, or 404/431. */
static void conn_answer(struct metrics_conn *c, bool too_long)
{
	struct text body = {0};
	char head[256];
	int n;

	c->in[c->in_len < sizeof(c->in) ? c->in_len : sizeof(c->in) - 1] = '\0';
	if (too_long) {
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 431 Request Header Fields Too Large\r\n"
			     "Content-Length: 0\r\nConnection: close\r\n\r\n");
	} else if (!strncmp(c->in, "GET /metrics ", 13) || !strncmp(c->in, "GET / ", 6)) {
		render(c->server->agent, &body);
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
			     "version=0.0.4\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			     body.len);
	} else {
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
			     "Connection: close\r\n\r\n");
	}
	outq__append(&c->out, head, (size_t)n);
	if (body.len)
		outq__append(&c->out, body.buf, body.len);
	free(body.buf);
	c->answered = true;
	c->deadline = now_ms() + METRICS_SEND_TIMEOUT_MS;
	loop__modify(c->server->loop, c->fd, EPOLLOUT);
}

/* Read the request head; answer once it is complete. */
static void conn_read(struct metrics_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len,
				 MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
			conn_answer(c, false);
			return;
		}
		if (c->in_len == sizeof(c->in) - 1) {
			conn_answer(c, true);
			return;
		}
	}
}

static void conn_event(void *ctx, uint32_t events)
{
	struct metrics_conn *c = ctx;
	int ret;

	if (events & EPOLLERR) {
		conn_close(c);
		return;
	}
	if (!c->answered) {
		conn_read(c);
		return;
	}
	ret = outq__send(&c->out, c->fd);
	if (ret == -EAGAIN)
		return;
	/* All sent (or the scraper is gone): a half-close tells it the
	 * answer is complete. */
	if (!ret)
		shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

static void on_accept(void *ctx, uint32_t events)
{
	struct metrics_server *server = ctx;

	(void)events;
	for (int i = 0; i < METRICS_MAX_CONNECTIONS; i++) {
		struct metrics_conn *c;
		int fd = loop__accept(server->loop, server->listen_fd, NULL, 0);

		if (fd == -EMFILE)
			continue;
		if (fd < 0)
			return;
		if (server->conn_count >= METRICS_MAX_CONNECTIONS) {
			close(fd); /* busy: the scraper retries */
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		*c = (struct metrics_conn){.server = server,
					   .fd = fd,
					   .deadline =
					       now_ms() + METRICS_REQUEST_TIMEOUT_MS};
		if (loop__watch(server->loop, fd, EPOLLIN | EPOLLRDHUP, conn_event, c)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = server->conns;
		if (c->next)
			c->next->prev = c;
		server->conns = c;
		server->conn_count++;
	}
}

void metrics__tick(struct metrics_server *server)
{
	uint64_t now;
	struct metrics_conn *c, *next;

	if (!server->conns)
		return;
	now = now_ms();
	for (c = server->conns; c; c = next) {
		next = c->next;
		if (now >= c->deadline)
			conn_close(c);
	}
}

int metrics__open(struct metrics_server **out, struct agent *agent, struct loop *loop,
		  const char *address)
{
	struct metrics_server *server = calloc(1, sizeof(*server));
	int ret;

	if (!server)
		return -ENOMEM;
	*server = (struct metrics_server){.agent = agent, .loop = loop};
	server->listen_fd = listen_on(address);
	ret = server->listen_fd < 0
		  ? server->listen_fd
		  : loop__watch(loop, server->listen_fd, EPOLLIN, on_accept, server);
	if (ret) {
		metrics__close(server);
		return ret;
	}
	*out = server;
	return 0;
}

void metrics__close(struct metrics_server *server)
{
	if (!server)
		return;
	while (server->conns)
		conn_close(server->conns);
	if (server->listen_fd >= 0) {
		loop__unwatch(server->loop, server->listen_fd);
		close(server->listen_fd);
	}
	free(server);
}
