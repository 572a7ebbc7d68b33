// SPDX-License-Identifier: Apache-2.0
/*
 * warden-proxy: the transparent L7 (HTTP/1) proxy. The datapath diverts
 * the connections that L7 rules cover to it (TPROXY); it judges every
 * request against the policy document the agent writes
 * (docs/proxy-policy.md), forwards or refuses it, and logs it.
 *
 * This file: options, the policy file, signals, workers. The main thread
 * only waits for signals: SIGHUP reloads the policy (a bad document keeps
 * the old snapshot), SIGTERM/SIGINT stop accepting and end the process
 * once the exchanges in progress finished or the drain time ran out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "http_session.h"
#include "policy_holder.h"
#include "proxy.h"
#include "source_limit.h"
#include "warden/log.h"
#include "worker.h"

#define MAX_WORKERS 256
#define SEC 1000000ull

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: warden-proxy --policy FILE [--port PORT] [--workers N] [--events "
	    "PATH]\n"
	    "                    [--mark MARK] [--upstream IP:PORT] [--bind IP]\n"
	    "                    [--max-conns N] [--max-conns-per-source N]\n"
	    "                    [--header-timeout S] [--idle-timeout S]\n"
	    "                    [--connect-timeout S] [-v|--debug]\n"
	    "  --policy FILE       the agent's L7 policy document (JSON); SIGHUP reloads "
	    "it\n"
	    "  --port PORT         listening port (default %u)\n"
	    "  --workers N         worker threads (default: number of CPUs)\n"
	    "  --events PATH       Unix datagram socket for the access log\n"
	    "  --mark MARK         SO_MARK of every proxy socket (default %#x; 0: none)\n"
	    "  --upstream IP:PORT  test mode: no TPROXY, every connection goes to "
	    "IP:PORT\n"
	    "  --bind IP           listening address (default 0.0.0.0)\n"
	    "  --max-conns N       connections per worker (default %u)\n"
	    "  --max-conns-per-source N  connections from one client address, all\n"
	    "                      workers (default: a quarter of workers x max-conns)\n"
	    "  --header-timeout S  complete request head within S seconds (default 10)\n"
	    "  --idle-timeout S    keep-alive idle connection (default 60)\n"
	    "  --connect-timeout S upstream connect (default 5)\n",
	    PROXY_DEFAULT_PORT, PROXY_DEFAULT_MARK, PROXY_DEFAULT_MAX_CONNS);
}

/* ---- options ---------------------------------------------------------- */

static int parse_uint(const char *text, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(text, &end, 0);
	if (errno || end == text || *end || *out > max || text[0] == '-')
		return -EINVAL;
	return 0;
}

static int parse_seconds(const char *text, uint64_t *out)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(text, &end);
	if (errno || end == text || *end || s <= 0 || s > 86400)
		return -EINVAL;
	*out = (uint64_t)(s * SEC);
	return 0;
}

static int parse_endpoint(const char *text, struct sockaddr_in *out)
{
	char ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(text, ':');
	unsigned long port;

	if (!colon || (size_t)(colon - text) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, text, (size_t)(colon - text));
	ip[colon - text] = '\0';
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &out->sin_addr) != 1 ||
	    parse_uint(colon + 1, 65535, &port) || port == 0)
		return -EINVAL;
	out->sin_port = htons((uint16_t)port);
	return 0;
}

/* Connections the proxy may hold at once: the cap of every worker. */
static uint64_t total_conns(const struct proxy_config *config)
{
	return (uint64_t)config->workers * config->max_conns;
}

static int parse_options(int argc, char **argv, struct proxy_config *config)
{
	enum {
		OPT_BIND = 256,
		OPT_MAX_CONNS,
		OPT_MAX_CONNS_SOURCE,
		OPT_HEADER,
		OPT_IDLE,
		OPT_CONNECT
	};
	static const struct option options[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"port", required_argument, NULL, 'P'},
	    {"workers", required_argument, NULL, 'w'},
	    {"events", required_argument, NULL, 'e'},
	    {"mark", required_argument, NULL, 'm'},
	    {"upstream", required_argument, NULL, 'u'},
	    {"bind", required_argument, NULL, OPT_BIND},
	    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
	    {"max-conns-per-source", required_argument, NULL, OPT_MAX_CONNS_SOURCE},
	    {"header-timeout", required_argument, NULL, OPT_HEADER},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE},
	    {"connect-timeout", required_argument, NULL, OPT_CONNECT},
	    {"debug", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long value;
	int opt, err = 0;

	*config = (struct proxy_config){
	    .port = PROXY_DEFAULT_PORT,
	    .workers =
		cpus > 0 ? (unsigned int)(cpus < MAX_WORKERS ? cpus : MAX_WORKERS) : 1,
	    .max_conns = PROXY_DEFAULT_MAX_CONNS,
	    .mark = PROXY_DEFAULT_MARK,
	    .bind_addr = {.s_addr = htonl(INADDR_ANY)},
	    .timeouts =
		{
		    .header = 10 * SEC,
		    .idle = 60 * SEC,
		    .connect = 5 * SEC,
		    .data = 60 * SEC,
		    .tunnel = 3600 * SEC,
		    .linger = 2 * SEC,
		    /* The agent sends SIGKILL one second after SIGTERM. */
		    .drain = SEC / 2,
		},
	};
	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		const char *what = NULL;

		switch (opt) {
		case 'p':
			config->policy_path = optarg;
			break;
		case 'P':
			if (parse_uint(optarg, 65535, &value) || !value)
				what = "--port: expected 1..65535";
			config->port = (uint16_t)value;
			break;
		case 'w':
			if (parse_uint(optarg, MAX_WORKERS, &value) || !value)
				what = "--workers: expected 1..256";
			config->workers = (unsigned int)value;
			break;
		case 'e':
			config->events_path = optarg;
			break;
		case 'm':
			if (parse_uint(optarg, UINT32_MAX, &value))
				what = "--mark: expected a 32-bit number";
			config->mark = (uint32_t)value;
			break;
		case 'u':
			if (parse_endpoint(optarg, &config->upstream))
				what = "--upstream: expected IPv4:PORT";
			config->upstream_mode = true;
			break;
		case OPT_BIND:
			if (inet_pton(AF_INET, optarg, &config->bind_addr) != 1)
				what = "--bind: expected an IPv4 address";
			break;
		case OPT_MAX_CONNS:
			if (parse_uint(optarg, 1u << 20, &value) || !value)
				what = "--max-conns: expected 1..1048576";
			config->max_conns = (unsigned int)value;
			break;
		case OPT_MAX_CONNS_SOURCE:
			if (parse_uint(optarg, UINT32_MAX, &value) || !value)
				what = "--max-conns-per-source: expected a positive "
				       "number";
			config->max_conns_per_source = (unsigned int)value;
			break;
		case OPT_HEADER:
			if (parse_seconds(optarg, &config->timeouts.header))
				what = "--header-timeout: expected seconds";
			break;
		case OPT_IDLE:
			if (parse_seconds(optarg, &config->timeouts.idle))
				what = "--idle-timeout: expected seconds";
			break;
		case OPT_CONNECT:
			if (parse_seconds(optarg, &config->timeouts.connect))
				what = "--connect-timeout: expected seconds";
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (what) {
			fprintf(stderr, "warden-proxy: %s (got '%s')\n", what, optarg);
			err = -EINVAL;
		}
	}
	if (!err && optind < argc) {
		fprintf(stderr, "warden-proxy: unexpected argument '%s'\n", argv[optind]);
		err = -EINVAL;
	}
	if (!err && !config->policy_path) {
		fprintf(stderr, "warden-proxy: --policy FILE is required\n");
		usage(stderr);
		err = -EINVAL;
	}
	/* A quarter of the total: one client can hold many connections, and
	 * at least three others as many. */
	if (!err && !config->max_conns_per_source)
		config->max_conns_per_source =
		    (unsigned int)(total_conns(config) / 4 ? total_conns(config) / 4 : 1);
	return err;
}

/* ---- file descriptors ------------------------------------------------- */

/*
 * A connection holds two descriptors (client, upstream); each worker has
 * its epoll, eventfd, listener and access-log socket, plus one accept past
 * the cap (refused at once); the process its standard streams, the policy
 * file while it is read, and what libraries open.
 */
#define FDS_PER_WORKER 8
#define FDS_MARGIN 64

static uint64_t fds_needed(const struct proxy_config *config)
{
	return total_conns(config) * 2 + (uint64_t)config->workers * FDS_PER_WORKER +
	       FDS_MARGIN;
}

/*
 * The connection cap is only real if the descriptors exist: with the
 * inherited RLIMIT_NOFILE (often 1,024) accept() would fail long before
 * it, at about 500 proxied connections for the whole node. Raise the soft
 * limit up to the hard one; past the hard one, raise both (root: the
 * kernel's fs.nr_open is the ceiling). If neither works, refuse to start:
 * a proxy that silently holds fewer connections than configured is the
 * bug this prevents.
 */
static int fit_fd_limit(const struct proxy_config *config)
{
	uint64_t need = fds_needed(config);
	struct rlimit before, want;
	int err;

	if (getrlimit(RLIMIT_NOFILE, &before) < 0)
		return -errno;
	if (before.rlim_cur == RLIM_INFINITY || before.rlim_cur >= need)
		return 0;
	want.rlim_cur = need;
	want.rlim_max = before.rlim_max == RLIM_INFINITY || before.rlim_max >= need
			    ? before.rlim_max
			    : need;
	if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
		err = -errno;
		fprintf(stderr,
			"warden-proxy: %u workers x %u connections need %llu file "
			"descriptors (2 per connection), but RLIMIT_NOFILE is %llu "
			"(hard %llu) and raising it failed: %s; lower --max-conns or "
			"--workers, or raise the limit (ulimit -n, fs.nr_open)\n",
			config->workers, config->max_conns, (unsigned long long)need,
			(unsigned long long)before.rlim_cur,
			(unsigned long long)before.rlim_max, strerror(-err));
		return err;
	}
	pr_info("file descriptor limit raised from %llu (hard %llu) to %llu (hard "
		"%llu) for %u workers x %u connections\n",
		(unsigned long long)before.rlim_cur, (unsigned long long)before.rlim_max,
		(unsigned long long)want.rlim_cur, (unsigned long long)want.rlim_max,
		config->workers, config->max_conns);
	return 0;
}

/* ---- policy ----------------------------------------------------------- */

/*
 * Load and compile the document. On failure err says why, naming the file
 * (and the line for JSON syntax). *revision is the document's revision
 * when it could be read, also when the document is refused, else 0.
 */
static int load_policy(const char *path, struct l7_policy **out, uint64_t *revision,
		       char *err, size_t err_len)
{
	char why[512];
	json_error_t jerr;
	json_t *doc;
	int ret;

	*revision = 0;
	doc = json_load_file(path, 0, &jerr);
	if (!doc) {
		snprintf(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column,
			 jerr.text);
		return -EINVAL;
	}
	if (json_is_integer(json_object_get(doc, "revision")) &&
	    json_integer_value(json_object_get(doc, "revision")) > 0)
		*revision =
		    (uint64_t)json_integer_value(json_object_get(doc, "revision"));
	why[0] = '\0';
	ret = l7_policy__load(doc, out, why, sizeof(why));
	json_decref(doc);
	if (ret)
		snprintf(err, err_len, "%s: %s", path, why[0] ? why : strerror(-ret));
	return ret;
}

/*
 * Tell the agent what became of a document: "LOADED <revision>" once it
 * is the snapshot requests are judged by (at start and after each SIGHUP),
 * "REJECTED <revision> <reason>" when it was refused (the old snapshot
 * stays). The agent writes the maps of a revision only after the proxy
 * said LOADED (docs/proxy-policy.md), so unlike the access log these lines
 * must not be dropped: the send waits (a bounded time) while the agent's
 * queue is full. Same socket as the access log; the first word tells them
 * apart.
 */
static void announce(const struct proxy_config *config, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void announce(const struct proxy_config *config, const char *fmt, ...)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 2};
	char line[1024];
	va_list ap;
	int fd, n;

	if (!config->events_path || strlen(config->events_path) >= sizeof(addr.sun_path))
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* One line: a reason must not break the framing. */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	strcpy(addr.sun_path, config->events_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (sendto(fd, line, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&addr,
		      sizeof(addr)) < 0) {
		if (errno == EINTR)
			continue;
		/* No agent (tests without one), or it did not read for 2 s. */
		pr_debug("announce to %s: %s\n", config->events_path, strerror(errno));
		break;
	}
	close(fd);
}

static void reload(const struct proxy_config *config, struct policy_holder *holder)
{
	struct l7_policy *next;
	uint64_t revision;
	char err[640];

	if (load_policy(config->policy_path, &next, &revision, err, sizeof(err))) {
		pr_warn("%s\n", err);
		pr_warn("policy reload failed: keeping revision %llu\n",
			(unsigned long long)l7_policy__revision(holder->current));
		announce(config, "REJECTED %llu %s", (unsigned long long)revision, err);
		return;
	}
	pr_info("policy revision %llu loaded\n",
		(unsigned long long)l7_policy__revision(next));
	policy_holder__swap(holder, next);
	announce(config, "LOADED %llu", (unsigned long long)revision);
}

/* ---- main ------------------------------------------------------------- */

/*
 * SO_MARK needs CAP_NET_ADMIN. In transparent mode that is a hard
 * requirement (IP_TRANSPARENT needs it too, and unmarked packets would be
 * diverted back to us); in --upstream mode nothing depends on the mark, so
 * tests and benchmarks may run unprivileged without it.
 */
static void check_mark(struct proxy_config *config)
{
	int fd, mark = (int)config->mark;

	if (!config->upstream_mode || !config->mark)
		return;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 &&
	    errno == EPERM) {
		pr_info("no CAP_NET_ADMIN: sockets are not marked (--upstream mode)\n");
		config->mark = 0;
	}
	close(fd);
}

struct proxy {
	struct proxy_config config;
	struct policy_holder holder;
	bool holder_ready;
	struct source_limit sources;
	unsigned int worker_count;
	struct worker *workers[MAX_WORKERS];
	struct http_env *envs[MAX_WORKERS];
};

static int start_workers(struct proxy *px)
{
	int err;

	for (unsigned int i = 0; i < px->config.workers; i++) {
		/* Large (parser scratch space): one allocation per worker. */
		px->envs[i] = calloc(1, sizeof(*px->envs[i]));
		if (!px->envs[i])
			return -ENOMEM;
		err = http_env__init(px->envs[i], &px->config, &px->holder);
		if (err)
			return err;
		err = worker__new(&px->config, i, px->envs[i], &px->sources,
				  &px->workers[i]);
		if (err)
			return err;
		px->worker_count = i + 1;
	}
	for (unsigned int i = 0; i < px->worker_count; i++) {
		err = worker__start(px->workers[i]);
		if (err) {
			pr_warn("worker %u: %s\n", i, strerror(-err));
			/* Threads already running must be stopped and joined. */
			for (unsigned int j = 0; j < i; j++) {
				worker__stop(px->workers[j]);
				worker__join(px->workers[j]);
			}
			return err;
		}
	}
	return 0;
}

static void wait_signals(struct proxy *px, const sigset_t *set)
{
	for (;;) {
		int sig = sigwaitinfo(set, NULL);

		if (sig == SIGHUP) {
			reload(&px->config, &px->holder);
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT) {
			pr_info("signal %d: stopping\n", sig);
			return;
		}
	}
}

static void stop_workers(struct proxy *px)
{
	uint64_t totals[ACCESS_VERDICT_COUNT] = {0};
	uint64_t limited[ACCESS_REASON_COUNT] = {0};

	for (unsigned int i = 0; i < px->worker_count; i++)
		worker__stop(px->workers[i]);
	for (unsigned int i = 0; i < px->worker_count; i++) {
		worker__join(px->workers[i]);
		for (int v = 0; v < ACCESS_VERDICT_COUNT; v++)
			totals[v] += px->envs[i]->requests[v];
		for (int r = 0; r < ACCESS_REASON_COUNT; r++)
			limited[r] += px->envs[i]->limited[r];
	}
	pr_info("requests: %llu forwarded, %llu denied (%llu by the regex limits), "
		"%llu audited, %llu errors; connections refused: %llu over the cap, "
		"%llu over the per-source limit\n",
		(unsigned long long)totals[ACCESS_FORWARDED],
		(unsigned long long)totals[ACCESS_DENIED],
		(unsigned long long)limited[ACCESS_REASON_REGEX_LIMIT],
		(unsigned long long)totals[ACCESS_AUDIT],
		(unsigned long long)totals[ACCESS_ERROR],
		(unsigned long long)limited[ACCESS_REASON_CONNECTION_LIMIT],
		(unsigned long long)limited[ACCESS_REASON_SOURCE_LIMIT]);
}

int main(int argc, char **argv)
{
	struct proxy *px = calloc(1, sizeof(*px));
	struct l7_policy *initial;
	uint64_t revision;
	char err[640];
	sigset_t set;
	int ret = 1;

	if (!px)
		return 1;
	/*
	 * Workers inherit this mask: only the main thread takes signals. Set
	 * before anything else: a SIGHUP the agent sends while we start
	 * (a new document) must wait for sigwaitinfo, not kill us.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (parse_options(argc, argv, &px->config))
		goto cleanup;
	if (fit_fd_limit(&px->config))
		goto cleanup;
	if (source_limit__init(&px->sources, total_conns(&px->config),
			       px->config.max_conns_per_source)) {
		pr_warn("out of memory\n");
		goto cleanup;
	}
	if (load_policy(px->config.policy_path, &initial, &revision, err, sizeof(err))) {
		pr_warn("%s\n", err);
		announce(&px->config, "REJECTED %llu %s", (unsigned long long)revision,
			 err);
		goto cleanup;
	}
	check_mark(&px->config);
	policy_holder__init(&px->holder, initial);
	px->holder_ready = true;

	if (start_workers(px)) {
		/* Nothing runs: the workers created are freed below. */
		px->worker_count = 0;
		goto cleanup;
	}
	pr_info("warden-proxy: %u workers on %s:%u%s, policy revision %llu, "
		"%u connections per worker, %u per source\n",
		px->worker_count, inet_ntoa(px->config.bind_addr), px->config.port,
		px->config.upstream_mode ? " (upstream mode)" : " (transparent)",
		(unsigned long long)l7_policy__revision(initial), px->config.max_conns,
		px->config.max_conns_per_source);
	announce(&px->config, "LOADED %llu", (unsigned long long)revision);
	wait_signals(px, &set);
	stop_workers(px);
	ret = 0;
cleanup:
	for (unsigned int i = 0; i < MAX_WORKERS; i++) {
		worker__free(px->workers[i]);
		if (px->envs[i]) {
			http_env__destroy(px->envs[i]);
			free(px->envs[i]);
		}
	}
	if (px->holder_ready)
		policy_holder__destroy(&px->holder);
	source_limit__destroy(&px->sources);
	free(px);
	return ret;
}
