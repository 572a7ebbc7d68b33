/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy compiler: turns the policy model plus the current identities
 * and endpoints into the policy-map entries of one endpoint. It is pure:
 * no maps, no netlink, no allocation that outlives the call except *out.
 *
 * All rule evaluation happens here, so the datapath does one or two O(1)
 * lookups per new flow however many rules there are.
 */
#ifndef WARDEN_POLICY_COMPILE_H
#define WARDEN_POLICY_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/abi/maps.h"
#include "warden/labels.h"
#include "warden/policy.h"
#include "warden/policy_entry.h"

/*
 * An identity as the compiler sees it. A pod-CIDR identity stands for the
 * pod addresses that resolve to its prefix in the datapath's pod-CIDR map
 * (warden_pod_cidr): only a CIDR rule that selects pods (an ipBlock, or
 * any CIDR rule with world->cidr_rules_select_pods) selects it, never a
 * label selector, an entity or "any peer".
 */
struct compile_identity {
	uint32_t id;
	const struct label_set *labels;
	bool is_cidr;		     /* a CIDR identity (node-local range) */
	bool is_pod_cidr;	     /* a pod-CIDR identity (node-local range) */
	struct policy_prefix prefix; /* its prefix when is_cidr or is_pod_cidr */
};

/* A declared container port (`warden endpoint create --port NAME=PORT/PROTO`). */
struct compile_named_port {
	const char *name;
	uint16_t port;
	uint8_t protocol;
};

struct compile_endpoint {
	uint32_t endpoint_id;
	uint32_t identity;
	const struct label_set *labels; /* the identity's labels */
	const struct compile_named_port *ports;
	size_t port_count;
};

/* Everything the compiler may look at besides the policies. */
struct compile_world {
	uint16_t proxy_port;	/* L7 proxy port for redirect entries; 0 = default */
	bool reject_by_default; /* agent's --deny-response=reject */
	/* wardend --cidr-rules-select-pods: Cilium's CIDR rules select the
	 * pods inside them too, as ipBlocks do. */
	bool cidr_rules_select_pods;
	const struct compile_identity *identities; /* reserved ones included */
	size_t identity_count;
	const struct compile_endpoint *endpoints; /* for egress named ports */
	size_t endpoint_count;
};

/* One HTTP rule that applies to an L7 entry, and the rule that carried it. */
struct policy_l7_rule_ref {
	const struct policy_http_rule *rule; /* borrowed from the policy set */
	uint32_t cookie;
};

/*
 * The L7 rules for (direction, port, peer identity) of the endpoint, for the
 * proxy (docs/proxy-policy.md). Only emitted where the datapath really
 * redirects: a peer allowed on the port at L4 only is never restricted.
 * identity 0 = any peer, minus `exempt` (peers with such an L4-only allow).
 */
struct policy_l7_entry {
	uint8_t direction;
	uint8_t protocol;
	uint16_t port;
	uint32_t identity;
	struct policy_l7_rule_ref *rules; /* ORed; owned */
	size_t rule_count;
	uint32_t *exempt; /* owned */
	size_t exempt_count;
};

/* The compiled policy of one endpoint (owned; free with _free). */
struct policy_entries {
	struct policy_entry *items;
	size_t count;
	size_t capacity;
	uint32_t
	    endpoint_flags; /* WARDEN_EP_ENFORCE_*, _REJECT_*, _AUDIT_*, _POD_CIDR_* */
	uint32_t audit_default_cookie[2]; /* see struct warden_endpoint_info */
	struct policy_l7_entry *l7;
	size_t l7_count;
};

/*
 * Rule cookies tell which rule decided a verdict (monitor, trace):
 *   cookie = policy id << 16 | rule ordinal within that policy
 * where the id is struct policy's stable id (the agent gives one to every
 * imported policy and keeps it across re-imports, so an event names the
 * right policy even after others were deleted) or, when unset, the policy's
 * position + 1; the ordinal counts the rules of all its specs in order. 0
 * means "no rule" (default deny, or the implicit host allow).
 */
#define POLICY_COOKIE_ID(policy_id, rule_ordinal)                                        \
	(((uint32_t)(policy_id) << 16) | ((uint32_t)(rule_ordinal)&0xffff))
#define POLICY_COOKIE(policy_index, rule_ordinal)                                        \
	POLICY_COOKIE_ID((uint32_t)(policy_index) + 1, rule_ordinal)
#define POLICY_COOKIE_POLICY_ID(c) ((c) >> 16)
#define POLICY_COOKIE_RULE(c) ((c)&0xffff)
/* Rule ordinal of a cookie that names a policy's default deny. */
#define POLICY_COOKIE_DEFAULT_DENY 0xffff

/*
 * Compile the policy of endpoint ep. Deny precedence is folded into the
 * entries (see the comment on struct warden_policy_key). Policies in audit
 * mode are left out of the enforced half of each entry; when any selects
 * ep, the audit half (audit_flags/audit_cookie) holds the verdict with them
 * included, and WARDEN_EP_AUDIT_* flags are set. A deny of a policy whose
 * deny response is reject (its annotation, else world->reject_by_default)
 * carries WARDEN_POLICY_REJECT; default deny answers with reject
 * (WARDEN_EP_REJECT_*) only if every policy enabling it says reject. A
 * CIDR rule that selects pods also gets entries for the pod-CIDR
 * identities inside it (not inside an except), and WARDEN_EP_POD_CIDR_*
 * says so for its direction; an HTTP rule never does (the proxy knows
 * peers by their own identity only). Also adds the
 * implicit ingress allow from the local host. A port rule with HTTP rules
 * becomes an allow entry with the proxy port, plus an L7 entry, unless a
 * plain (L4-only) allow for the same peer covers the port. Returns 0, or -errno with a
 * reason in err (for example a named port that resolves to two numbers).
 */
int policy_compile_endpoint(const struct policy_set *policies,
			    const struct compile_world *world,
			    const struct compile_endpoint *ep, struct policy_entries *out,
			    char *err, size_t err_len);

void policy_entries__free(struct policy_entries *entries);

/*
 * Every prefix named by a CIDR rule (and its excepts) in policies, without
 * duplicates, so the caller can give each a CIDR identity before compiling.
 * *out is allocated; free() it.
 */
int policy_set__collect_prefixes(const struct policy_set *policies,
				 struct policy_prefix **out, size_t *count);

/*
 * The same for the CIDR rules that select pods: ipBlocks, or every CIDR
 * rule when cidr_rules_select_pods. The caller gives each a pod-CIDR
 * identity and writes it into the pod-CIDR map.
 */
int policy_set__collect_pod_prefixes(const struct policy_set *policies,
				     bool cidr_rules_select_pods,
				     struct policy_prefix **out, size_t *count);

/*
 * Does the identity match the peer part of a rule? Exposed for `policy
 * trace` and tests. Namespace scoping is already in the selectors. A
 * pod-CIDR identity matches only a CIDR that selects pods; when the rule
 * has requires, which cannot be judged for an address range, it matches
 * a deny rule and not an allow rule (both fail closed).
 */
bool policy_rule__selects_peer(const struct policy_rule *rule,
			       const struct compile_identity *peer,
			       const struct compile_world *world);

#endif /* WARDEN_POLICY_COMPILE_H */
