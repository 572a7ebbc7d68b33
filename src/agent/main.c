// SPDX-License-Identifier: Apache-2.0
/*
 * wardend: the agent. Owns identities, endpoints, policy and the datapath,
 * and serves the CLI on a Unix socket. Single-threaded: one event loop
 * (loop.c) over the control socket and its clients (control.c), the
 * datapath's event ring buffer (monitor.c), the proxy's access log
 * (proxy.c), the metrics endpoint (metrics.c) and a signalfd (here).
 *
 * Lifetime: endpoints live as long as the agent. On SIGTERM/SIGINT/SIGHUP
 * it removes every endpoint, its own devices, routes and maps, and exits 0.
 * After a crash the next start sweeps what the dead agent left.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "control.h"
#include "loop.h"
#include "metrics.h"
#include "monitor.h"
#include "proxy.h"
#include "warden/abi/maps.h"
#include "warden/datapath.h"
#include "warden/log.h"
#include "warden/version.h"

/* What the loop's callbacks need. */
struct daemon {
	struct agent agent;
	struct loop *loop;
	int signal_fd;
	struct control *control;
	struct metrics_server *metrics;
};

/*
 * Signals arrive through a signalfd, between two requests, never inside
 * one. They are blocked before anything is set up (a child unblocks them).
 */
static int signals_open(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static void on_signal(void *ctx, uint32_t events)
{
	struct daemon *d = ctx;
	struct signalfd_siginfo si;

	(void)events;
	while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			proxy__on_child_exit(&d->agent);
			continue;
		}
		pr_info("signal %u: shutting down\n", si.ssi_signo);
		loop__stop(d->loop);
	}
}

static void on_proxy_events(void *ctx, uint32_t events)
{
	(void)events;
	proxy__on_events(ctx);
}

/* The ring buffer woke us for a big batch: it is read in on_round. */
static void on_datapath_events(void *ctx, uint32_t events)
{
	(void)ctx;
	(void)events;
}

/*
 * After every round (at least every WARDEN_EVENTS_POLL_MS): a proxy that
 * keeps crashing is retried once a second; the datapath's events are
 * collected, then queued with the proxy's records, one batch per monitor
 * client; clients and scrapes that took too long are dropped.
 */
static void on_round(void *ctx)
{
	struct daemon *d = ctx;
	struct agent *agent = &d->agent;

	proxy__retry(agent);
	datapath__events_poll(agent->datapath);
	monitor__flush(agent);
	if (d->control)
		control__tick(d->control);
	if (d->metrics)
		metrics__tick(d->metrics);
}

/*
 * Every client and scrape costs a descriptor: take all the hard limit
 * allows (the soft limit is often 1024, which --max-clients alone would
 * exhaust). Running out anyway is handled (loop__accept()).
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The descriptors the agent itself owns, into the loop. */
static int watch_agent(struct daemon *d)
{
	struct agent *agent = &d->agent;
	int ret;

	ret = loop__watch(d->loop, d->signal_fd, EPOLLIN, on_signal, d);
	if (!ret)
		ret = loop__watch(d->loop, datapath__events_fd(agent->datapath), EPOLLIN,
				  on_datapath_events, agent);
	if (!ret && agent->proxy.events_fd >= 0)
		ret = loop__watch(d->loop, agent->proxy.events_fd, EPOLLIN,
				  on_proxy_events, agent);
	if (ret)
		pr_warn("event loop: %s\n", strerror(-ret));
	return ret;
}

/* The control socket and the metrics endpoint. */
static int open_servers(struct daemon *d)
{
	const struct agent_config *config = &d->agent.config;
	int ret;

	ret = control__open(&d->control, &d->agent, d->loop);
	if (ret) {
		pr_warn("listen on %s: %s\n", config->socket_path, strerror(-ret));
		return ret;
	}
	if (!config->metrics_address[0])
		return 0;
	ret = metrics__open(&d->metrics, &d->agent, d->loop, config->metrics_address);
	if (ret)
		pr_warn("metrics on %s: %s\n", config->metrics_address, strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	struct daemon d = {.signal_fd = -1};
	struct agent_config config;
	int ret;

	ret = agent_config__parse(&config, argc, argv);
	if (ret)
		return ret == CONFIG_HELP ? 0 : 2;
	if (config.debug)
		log_set_level(LOG_LEVEL_DEBUG);
	log_route_libbpf();
	raise_fd_limit();
	agent__init(&d.agent, &config);
	d.signal_fd = signals_open();
	ret = d.signal_fd < 0 ? d.signal_fd : loop__new(&d.loop);
	if (!ret)
		ret = agent__start(&d.agent);
	if (!ret)
		ret = watch_agent(&d);
	if (!ret)
		ret = open_servers(&d);
	if (!ret) {
		pr_info("wardend %s ready: socket %s, pod CIDR %s\n", WARDEN_VERSION,
			config.socket_path, config.pod_cidr);
		/* A failing epoll is logged; the agent then stops as on SIGTERM. */
		loop__run(d.loop, WARDEN_EVENTS_POLL_MS, on_round, &d);
	}
	control__close(d.control);
	metrics__close(d.metrics);
	agent__stop(&d.agent);
	loop__free(d.loop);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	pr_info("wardend stopped\n");
	return ret ? 1 : 0;
}
