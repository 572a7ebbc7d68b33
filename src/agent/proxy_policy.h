/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's policy document (proxy_policy.c, format in
 * docs/proxy-policy.md): what warden-proxy needs of the state to judge
 * HTTP requests, written after every regeneration.
 */
#ifndef WARDEN_AGENT_PROXY_POLICY_H
#define WARDEN_AGENT_PROXY_POLICY_H

#include <stddef.h>

struct agent;
struct l7_policy;

/* <state-dir>/proxy/policy.json */
void proxy_policy__path(const struct agent *agent, char *buf, size_t len);
/*
 * Write the document for the state now (whole, then renamed) and tell the
 * running proxy (SIGHUP). Does nothing before proxy__start(). Returns 0 or
 * -EIO (logged; the proxy then keeps its previous snapshot).
 */
int proxy_policy__publish(struct agent *agent);
/* The proxy's own rule snapshot of the state now (for `policy trace`);
 * release with l7_policy__put(). */
int proxy_policy__snapshot(struct agent *agent, struct l7_policy **out, char *err,
			   size_t err_len);

#endif /* WARDEN_AGENT_PROXY_POLICY_H */
