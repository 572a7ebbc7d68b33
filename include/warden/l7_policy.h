/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The L7 (HTTP) policy as the proxy holds it: one immutable snapshot per
 * policy revision, loaded from the JSON document the agent writes
 * (docs/proxy-policy.md), with every regular expression compiled once
 * (PCRE2, JIT) at load time. Workers share a snapshot by reference count
 * and swap to a new one between requests.
 */
#ifndef WARDEN_L7_POLICY_H
#define WARDEN_L7_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "warden/http_parser.h"

struct l7_policy;

/* A local endpoint as the proxy needs to know it. */
struct l7_endpoint {
	uint32_t id;
	uint32_t ipv4; /* network order */
	uint32_t identity;
	const char *name; /* "namespace/name" */
	/*
	 * Audit mode (`warden endpoint config NAME audit=on`): a request this
	 * endpoint's L7 rules deny is forwarded anyway and logged as AUDIT.
	 */
	bool audit;
};

/*
 * Load a snapshot from the agent's JSON document. Returns 0, or -EINVAL
 * with the reason in err (a regex that does not compile, a missing field).
 * The snapshot starts with one reference.
 */
int l7_policy__load(const json_t *doc, struct l7_policy **out, char *err, size_t err_len);
struct l7_policy *l7_policy__get(struct l7_policy *p); /* +1 reference */
void l7_policy__put(struct l7_policy *p);	       /* -1, frees at 0 */
uint64_t l7_policy__revision(const struct l7_policy *p);

/* The identity of an address (longest prefix in the snapshot's ipcache;
 * WARDEN_IDENTITY_WORLD on a miss). */
uint32_t l7_policy__identity_of(const struct l7_policy *p, uint32_t ipv4);
/* The local endpoint with this address, or NULL. */
const struct l7_endpoint *l7_policy__endpoint_of(const struct l7_policy *p,
						 uint32_t ipv4);
/* Labels of an identity as "k8s:a=b,..." for the access log ("" if unknown). */
const char *l7_policy__identity_labels(const struct l7_policy *p, uint32_t identity);

/* What the proxy needs to judge one request. */
struct l7_request {
	struct http_slice method;
	struct http_slice path; /* normalised, query included */
	struct http_slice host;
	const struct http_header *headers;
	size_t header_count;
};

enum l7_verdict {
	L7_NOT_APPLICABLE, /* no L7 rules for this endpoint/direction/port/peer;
			    * from l7_policy__decide: the peer is exempt (allowed
			    * at L4 only), forward it */
	L7_ALLOW,
	L7_DENY,
	L7_AUDIT,   /* denied, but only by endpoints in audit mode: forward it
		     * (l7_policy__decide only; l7_policy__check knows no modes) */
	L7_EXEMPT,  /* l7_policy__check only: the port has any-peer rules, but this
		     * peer is allowed there at L4 only, so they do not apply */
	L7_LIFTED,  /* l7_policy__decide only: no rule applies, but a revision
		     * lifted the L7 restriction of this key (the peer is allowed
		     * at L4 now): forward it */
	L7_NO_RULE, /* l7_policy__decide only: no rule applies to the flow at
		     * all, so nothing explains why it was redirected: refuse it
		     * (fail closed) */
};

/*
 * Judge a request against the L7 rules in force of endpoint_id in direction
 * (WARDEN_DIR_INGRESS/EGRESS) for destination port and peer identity:
 * the rules of that peer plus those of "any peer" (unless the peer is
 * exempt from them because it is allowed at L4 only: L7_EXEMPT when no
 * rule of its own applies either). Rules are ORed;
 * the fields of one rule are ANDed; method, path and host are anchored
 * regular expressions. A regex that cannot be evaluated within its limits
 * (L7_REGEX_*_LIMIT in l7_policy.c) does not match: a request no rule
 * allows for certain is denied (fail closed). *rule_cookie names the rule
 * that allowed it; on deny, the first rule of the entry that applied (the
 * peer's own entry before the any-peer one; an entry without rules is
 * skipped), so the access log can name the policy that restricted the
 * port; 0 when no entry applied or none of them has a rule.
 */
enum l7_verdict l7_policy__check(const struct l7_policy *p, uint32_t endpoint_id,
				 uint8_t direction, uint16_t port, uint32_t peer_identity,
				 const struct l7_request *req, uint32_t *rule_cookie);

/* One connection as the proxy sees it (lookups from the same snapshot). */
struct l7_flow {
	const struct l7_endpoint *source;      /* a local endpoint, or NULL */
	const struct l7_endpoint *destination; /* a local endpoint, or NULL */
	uint32_t source_identity;
	uint32_t destination_identity;
	uint16_t port; /* destination port, host order */
};

struct l7_decision {
	enum l7_verdict verdict;
	int direction;	      /* WARDEN_DIR_* of the side that decided; -1: none */
	uint32_t rule_cookie; /* as l7_policy__check says, for that side */
	/*
	 * That side's deny (or audited deny) is there because a regex gave up
	 * (its match, depth, heap or JIT stack limit, lib/l7/l7_policy.c): no
	 * rule allowed the request for certain, and one might have.
	 */
	bool limit_hit;
};

/*
 * The verdict of a request on a flow the datapath redirected: the source
 * endpoint's egress rules and the destination endpoint's ingress rules,
 * each when it exists. A side that denies is enforced unless its endpoint
 * is in audit mode. The request passes when no side enforces a deny:
 * L7_AUDIT if some side's deny was audited, else L7_ALLOW. When no rule
 * applies on either side: L7_NOT_APPLICABLE if a side exempts the peer
 * (allowed at L4 only), L7_LIFTED if a side's restriction was lifted,
 * else L7_NO_RULE, which the proxy refuses. The deciding side: for DENY
 * the side that enforced its deny, for AUDIT the side whose deny was
 * audited (egress before ingress in both cases), for ALLOW ingress when
 * it allowed, else egress; for LIFTED the lifted side.
 *
 * A snapshot with previous rules (a policy switch in progress) judges the
 * request by both generations and the stricter decision wins; a
 * generation with no rule for the flow does not restrict it unless the
 * other has none either (then L7_NO_RULE).
 */
void l7_policy__decide(const struct l7_policy *p, const struct l7_flow *flow,
		       const struct l7_request *req, struct l7_decision *out);

#endif /* WARDEN_L7_POLICY_H */
