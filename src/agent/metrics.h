/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Prometheus endpoint (metrics.c). The counters it shows live in
 * agent->metrics and in the datapath's metrics map.
 */
#ifndef WARDEN_AGENT_METRICS_H
#define WARDEN_AGENT_METRICS_H

struct agent;
struct loop;
struct metrics_server;

/*
 * Listen on address ("IP:PORT") and serve scrapes from the loop. Returns 0
 * or -errno (-EINVAL: not an IPv4 address and port).
 */
int metrics__open(struct metrics_server **out, struct agent *agent, struct loop *loop,
		  const char *address);
void metrics__close(struct metrics_server *server);
/* After every loop round: scrapes past their deadline are closed. */
void metrics__tick(struct metrics_server *server);
/* One request judged by the proxy: its verdict, the reason for it when it
 * was not the rules' own ("no-rule", "lifted"; or NULL), and latency. */
void metrics__observe_proxy(struct agent *agent, const char *verdict, const char *reason,
			    double latency_s);
/*
 * A limit of the proxy decided, not the rules: reason is the access log's
 * (regex_limit, connection_limit, per_source_limit). Unknown reasons are
 * not counted.
 */
void metrics__observe_proxy_limit(struct agent *agent, const char *reason);

#endif /* WARDEN_AGENT_METRICS_H */
