/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's side of warden-proxy (proxy.c): supervision and the access
 * log. Its state is agent->proxy; its policy document is proxy_policy.c's.
 */
#ifndef WARDEN_AGENT_PROXY_H
#define WARDEN_AGENT_PROXY_H

#include <stdint.h>
#include <stddef.h>

struct agent;
struct proxy_policy_view;

/* Open the access-log socket, write the policy document, start the proxy. */
int proxy__start(struct agent *agent);
/*
 * Make the proxy take the document of view (docs/proxy-policy.md,
 * "Updates"): write it at a new revision (*revision), signal the running
 * proxy and wait for its LOADED. Returns 0 once the proxy holds it, or
 * when no proxy runs (it reads the file when it starts; the agent checked
 * that it loads). -EPROTO when the proxy refused it, -ETIMEDOUT when it did
 * not answer in time (it is then restarted), -errno when the file could
 * not be written (then it is unchanged); err says which.
 */
int proxy__publish(struct agent *agent, const struct proxy_policy_view *view,
		   uint64_t *revision, char *err, size_t err_len);
void proxy__stop(struct agent *agent);
/* SIGCHLD: reap children; a proxy that died is started again. */
void proxy__on_child_exit(struct agent *agent);
/* Called every loop round: start a proxy whose restarts were held back. */
void proxy__retry(struct agent *agent);
/* agent->proxy.events_fd is readable: acknowledgements and access-log
 * datagrams. */
void proxy__on_events(struct agent *agent);

#endif /* WARDEN_AGENT_PROXY_H */
