/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's side of warden-proxy (proxy.c): supervision and the access
 * log. Its state is agent->proxy; its policy document is proxy_policy.c's.
 */
#ifndef WARDEN_AGENT_PROXY_H
#define WARDEN_AGENT_PROXY_H

struct agent;

/* Open the access-log socket, write the policy document, start the proxy. */
int proxy__start(struct agent *agent);
void proxy__stop(struct agent *agent);
/* SIGCHLD: reap children; a proxy that died is started again. */
void proxy__on_child_exit(struct agent *agent);
/* Called every loop round: start a proxy whose restarts were held back. */
void proxy__retry(struct agent *agent);
/* agent->proxy.events_fd is readable: access-log datagrams. */
void proxy__on_events(struct agent *agent);

#endif /* WARDEN_AGENT_PROXY_H */
