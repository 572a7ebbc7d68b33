/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's policy document (proxy_policy.c, format in
 * docs/proxy-policy.md): what warden-proxy needs of the state to judge
 * HTTP requests, written before the maps of every regeneration (proxy.c
 * waits until the proxy has it).
 */
#ifndef WARDEN_AGENT_PROXY_POLICY_H
#define WARDEN_AGENT_PROXY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct l7_policy;
struct policy_entries;
struct policy_lifted_set;

/*
 * One generation of L7 rules for the document: the compiled entries and the
 * lifted keys of each endpoint (arrays indexed like agent->endpoints; NULL:
 * each endpoint's own, the ones in force).
 */
struct proxy_policy_rules {
	const struct policy_entries *entries;
	const struct policy_lifted_set *lifted;
};

/* What a document says: the current rules, and during a switch the rules
 * of the revision being replaced (a request must pass both). */
struct proxy_policy_view {
	struct proxy_policy_rules current;
	const struct proxy_policy_rules *previous; /* NULL: no switch */
};

/* <state-dir>/proxy/policy.json */
void proxy_policy__path(const struct agent *agent, char *buf, size_t len);
/* Do the L7 parts (entries and lifted keys) of two generations differ? */
bool proxy_policy__rules_differ(struct agent *agent, const struct proxy_policy_rules *a,
				const struct proxy_policy_rules *b);
/*
 * Write the document of view at revision (whole, then renamed). With
 * validate, it is first loaded with the proxy's own loader, and one that
 * does not load is refused (for when no proxy runs to say so). Returns 0
 * or -errno with err; on error the file is as it was.
 */
int proxy_policy__write(struct agent *agent, const struct proxy_policy_view *view,
			uint64_t revision, bool validate, char *err, size_t err_len);
/* The proxy's own rule snapshot of the state now (for `policy trace`);
 * release with l7_policy__put(). */
int proxy_policy__snapshot(struct agent *agent, struct l7_policy **out, char *err,
			   size_t err_len);

#endif /* WARDEN_AGENT_PROXY_POLICY_H */
