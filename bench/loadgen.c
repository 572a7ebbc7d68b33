/*
 * loadgen: a small open-loop HTTP/1.1 load generator (wrk2's method).
 *
 *   loadgen --host IP [--port 80] [--path /] [--connections N]
 *           [--duration S] [--warmup S] [--rate R] [--close] [--curve]
 *
 * N keep-alive connections, one epoll loop. With --rate R (requests/s for the
 * whole run) every connection c has a fixed schedule of intended send times,
 * t0 + (k*N + c)/R for its k-th request; a request whose connection is still
 * busy with the previous one is sent as soon as the response arrives, and its
 * latency is always (response complete) - (intended send time): the wait
 * counts, so a stall is not hidden by sending fewer requests (coordinated
 * omission corrected). Without --rate (or --rate 0) it is closed-loop: each
 * connection sends its next request as soon as the previous response is
 * complete (max throughput; latency is then measured from the actual send).
 *
 * With --close every request gets its own connection ("Connection: close"):
 * the N connections become N slots, each opening a new connection at its
 * intended send time, sending once connected and closing after the
 * response, so --rate is then new connections/s and the latency includes
 * the handshake. This is the fixed connection rate of the benchmark, where
 * the datapath's per-new-flow work (policy lookup, conntrack creation,
 * events) shows, and the CPU it costs can be counted per connection.
 *
 * Latencies go into a log-bucketed histogram (HdrHistogram-style: 64
 * sub-buckets per power of two, values reported at the bucket's midpoint,
 * relative error < 0.8%). Requests completed during --warmup are not
 * recorded. Output: one JSON object on stdout (--curve adds the whole
 * percentile curve). A response with a status other than 200, a connection
 * error or a timeout counts in "errors".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SUB_BITS 6
#define SUB (1 << SUB_BITS)	      /* 64 sub-buckets per power of two */
#define NBUCKETS (2 * SUB + 58 * SUB) /* up to 2^64 ns, more than enough */

static uint64_t hist[NBUCKETS];
static uint64_t hist_count, hist_max;

static int bucket_of(uint64_t v)
{
	if (v < 2 * SUB)
		return (int)v;
	int msb = 63 - __builtin_clzll(v);
	int shift = msb - SUB_BITS; /* >= 1 */
	return 2 * SUB + (shift - 1) * SUB + (int)((v >> shift) - SUB);
}

/* the midpoint of a bucket, in ns */
static double bucket_value(int i)
{
	if (i < 2 * SUB)
		return i;
	int shift = (i - 2 * SUB) / SUB + 1;
	uint64_t lo = ((uint64_t)(SUB + (i - 2 * SUB) % SUB)) << shift;
	return (double)lo + (double)((1ull << shift) - 1) / 2.0;
}

static void record(uint64_t ns)
{
	hist[bucket_of(ns)]++;
	hist_count++;
	if (ns > hist_max)
		hist_max = ns;
}

/* value (us) at percentile p (0..100) */
static double percentile(double p)
{
	if (!hist_count)
		return 0;
	uint64_t want = (uint64_t)((p / 100.0) * (double)hist_count + 0.5);
	if (want < 1)
		want = 1;
	if (want > hist_count)
		want = hist_count;
	uint64_t seen = 0;
	for (int i = 0; i < NBUCKETS; i++) {
		seen += hist[i];
		if (seen >= want) {
			double v = bucket_value(i);
			if (v > (double)hist_max)
				v = (double)hist_max;
			return v / 1000.0;
		}
	}
	return (double)hist_max / 1000.0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct conn {
	int fd;
	int idx;
	int busy;	   /* a request is in flight */
	int connecting;	   /* --close: waiting for connect() to finish */
	uint64_t k;	   /* requests sent on this connection */
	uint64_t intended; /* intended send time of the request in flight */
	size_t len;
	char buf[8192];
};

static const char *host = NULL, *path = "/";
static int port = 80, nconns = 16, want_curve = 0, close_mode = 0;
static double duration = 5, warmup = 0, rate = 0;
static char req[512];
static size_t reqlen;
static uint64_t errors, completed_total, recorded, reconnects, connects;
static struct sockaddr_in sa;
static int ep;

static int conn_open(struct conn *c, uint32_t events)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	struct epoll_event ev = {.events = events, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	c->len = 0;
	return 0;
}

static void conn_reset(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	reconnects++;
	conn_open(c, EPOLLIN);
}

/* --close: the connection is done (response read, or failed); the slot
 * waits for its next intended time. */
static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->busy = 0;
	c->connecting = 0;
	c->len = 0;
}

static uint64_t t0, t_warm, t_end;

static uint64_t intended_time(struct conn *c, uint64_t k)
{
	return t0 + (uint64_t)(((double)k * nconns + c->idx) * 1e9 / rate);
}

static void send_req(struct conn *c, uint64_t intended)
{
	if (close_mode) {
		/* a new connection; the request goes out once it is connected */
		conn_close(c);
		c->busy = 1;
		c->intended = intended;
		c->k++;
		if (conn_open(c, EPOLLOUT) < 0) {
			errors++;
			c->busy = 0;
			return;
		}
		c->connecting = 1;
		connects++;
		return;
	}
	/* the request is tiny: one write on an idle keep-alive socket */
	ssize_t n = write(c->fd, req, reqlen);
	if (n != (ssize_t)reqlen) {
		errors++;
		conn_reset(c);
		if (c->fd < 0)
			return;
		n = write(c->fd, req, reqlen); /* may not be connected yet: EAGAIN */
		if (n != (ssize_t)reqlen) {
			c->busy = 0;
			return;
		}
	}
	c->busy = 1;
	c->intended = intended;
	c->k++;
}

/* a complete response at the head of buf? returns its length, 0 if not yet */
static size_t parse_response(struct conn *c, int *status)
{
	c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = 0;
	char *end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return 0;
	size_t hdr = (size_t)(end - c->buf) + 4;
	*status = atoi(c->buf + 9);
	size_t clen = 0;
	*end = 0;
	char *cl = strcasestr(c->buf, "\r\ncontent-length:");
	*end = '\r';
	if (cl)
		clen = strtoul(cl + 17, NULL, 10);
	if (c->len < hdr + clen)
		return 0;
	return hdr + clen;
}

/* --close: connect() finished (or failed); send the request */
static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err ||
	    write(c->fd, req, reqlen) != (ssize_t)reqlen) {
		errors++;
		conn_close(c);
		return;
	}
	c->connecting = 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void on_readable(struct conn *c, uint64_t now)
{
	if (c->fd < 0)
		return;
	if (c->connecting) {
		on_connected(c);
		return;
	}
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			int status;
			size_t used;
			while (c->busy && (used = parse_response(c, &status)) > 0) {
				uint64_t t = now_ns();
				if (status != 200)
					errors++;
				completed_total++;
				if (t >= t_warm && t <= t_end) {
					record(t - c->intended);
					recorded++;
				}
				memmove(c->buf, c->buf + used, c->len - used);
				c->len -= used;
				c->busy = 0;
				if (close_mode)
					conn_close(c);
				if (rate <= 0) {
					send_req(c, t);
				} else {
					uint64_t next = intended_time(c, c->k);
					if (next <= t)
						send_req(c, next);
				}
			}
			if (c->fd < 0)
				return;
			if (c->len >= sizeof(c->buf) - 1) {
				errors++;
				conn_reset(c);
				return;
			}
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF or error: the connection is gone */
		if (c->busy)
			errors++;
		c->busy = 0;
		if (close_mode)
			conn_close(c);
		else
			conn_reset(c);
		(void)now;
		return;
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --host IP [--port P] [--path PATH] [--connections N]\n"
		"               [--duration S] [--warmup S] [--rate R] [--close] "
		"[--curve]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, 0, 'h'},
	    {"port", required_argument, 0, 'p'},
	    {"path", required_argument, 0, 'P'},
	    {"connections", required_argument, 0, 'c'},
	    {"duration", required_argument, 0, 'd'},
	    {"warmup", required_argument, 0, 'w'},
	    {"rate", required_argument, 0, 'r'},
	    {"curve", no_argument, 0, 'C'},
	    {"close", no_argument, 0, 'x'},
	    {0, 0, 0, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			path = optarg;
			break;
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'C':
			want_curve = 1;
			break;
		case 'x':
			close_mode = 1;
			break;
		default:
			usage();
		}
	}
	if (!host || nconns < 1 || nconns > 10000 || duration <= 0 || warmup < 0)
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		usage();
	reqlen =
	    (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
			     path, host, close_mode ? "Connection: close\r\n" : "");

	ep = epoll_create1(0);
	struct conn *conns = calloc((size_t)nconns, sizeof(*conns));
	if (!conns)
		return 1;
	for (int i = 0; i < nconns; i++) {
		conns[i].idx = i;
		conns[i].fd = -1;
		if (close_mode)
			continue;
		if (conn_open(&conns[i], EPOLLIN) < 0) {
			perror("connect");
			return 1;
		}
	}
	/* let the connections establish before the schedule starts */
	if (!close_mode)
		usleep(100000);

	t0 = now_ns();
	t_warm = t0 + (uint64_t)(warmup * 1e9);
	t_end = t_warm + (uint64_t)(duration * 1e9);
	if (rate <= 0)
		for (int i = 0; i < nconns; i++)
			send_req(&conns[i], t0);

	struct epoll_event evs[256];
	for (;;) {
		uint64_t now = now_ns();
		if (now >= t_end)
			break;
		uint64_t next_due = t_end;
		if (rate > 0) {
			for (int i = 0; i < nconns; i++) {
				struct conn *c = &conns[i];
				if (c->fd < 0 && !close_mode)
					conn_reset(c);
				if (c->busy)
					continue;
				uint64_t due = intended_time(c, c->k);
				if (due <= now)
					send_req(c, due);
				else if (due < next_due)
					next_due = due;
			}
		}
		/* wait at most until the next intended send (1 ms granularity of
		 * epoll_wait is too coarse: use epoll_pwait2 with a timespec) */
		uint64_t wait = next_due > now ? next_due - now : 0;
		struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000ull),
				      .tv_nsec = (long)(wait % 1000000000ull)};
		int n = epoll_pwait2(ep, evs, 256, &ts, NULL);
		now = now_ns();
		for (int i = 0; i < n; i++)
			on_readable(evs[i].data.ptr, now);
	}
	/* requests still in flight at the end are late by at least this much */
	uint64_t end = now_ns();
	for (int i = 0; i < nconns; i++)
		if (conns[i].busy && conns[i].intended >= t_warm &&
		    conns[i].intended < t_end) {
			record(end - conns[i].intended);
			recorded++;
		}

	double achieved = (double)recorded / duration;
	printf("{\"mode\":\"%s\",\"connection\":\"%s\",\"connects\":%llu,\"host\":\"%s\","
	       "\"port\":%d,\"connections\":%d,"
	       "\"duration_s\":%.3f,\"warmup_s\":%.3f,\"target_rps\":%.1f,"
	       "\"requests\":%llu,\"completed\":%llu,\"rps\":%.1f,\"errors\":%llu,"
	       "\"reconnects\":%llu,"
	       "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99.9\":%.1f,"
	       "\"p99.99\":%.1f,\"max\":%.1f}",
	       rate > 0 ? "open-loop" : "closed-loop",
	       close_mode ? "close" : "keep-alive", (unsigned long long)connects, host,
	       port, nconns, duration, warmup, rate, (unsigned long long)recorded,
	       (unsigned long long)completed_total, achieved, (unsigned long long)errors,
	       (unsigned long long)(reconnects), percentile(50), percentile(90),
	       percentile(99), percentile(99.9), percentile(99.99),
	       (double)hist_max / 1000.0);
	if (want_curve) {
		/* HdrHistogram-style percentile distribution: the value at
		 * percentiles approaching 100 in halving steps of the remainder */
		printf(",\"curve\":[");
		int first = 1;
		for (int step = 0; step <= 40; step++) {
			for (int j = 0; j < 5; j++) {
				double p = 100.0 - 100.0 / (double)(1ull << step) *
						       (1.0 - j / 10.0);
				if ((double)hist_count * (100.0 - p) / 100.0 < 0.5)
					goto done;
				printf("%s[%.6f,%.1f]", first ? "" : ",", p,
				       percentile(p));
				first = 0;
			}
		}
	done:
		printf("%s[100,%.1f]]", first ? "" : ",", (double)hist_max / 1000.0);
	}
	printf("}\n");
	return 0;
}
