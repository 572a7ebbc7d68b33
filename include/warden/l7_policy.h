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
};

/*
 * Load a snapshot from the agent's JSON document. Returns 0, or -EINVAL
 * with the reason in err (a regex that does not compile, a missing field).
 * The snapshot starts with one reference.
 */
int l7_policy__load(const json_t *doc, struct l7_policy **out, char *err, size_t err_len);
struct l7_policy *l7_policy__get(struct l7_policy *p);  /* +1 reference */
void l7_policy__put(struct l7_policy *p);               /* -1, frees at 0 */
uint64_t l7_policy__revision(const struct l7_policy *p);

/* The identity of an address (longest prefix in the snapshot's ipcache;
 * WARDEN_IDENTITY_WORLD on a miss). */
uint32_t l7_policy__identity_of(const struct l7_policy *p, uint32_t ipv4);
/* The local endpoint with this address, or NULL. */
const struct l7_endpoint *l7_policy__endpoint_of(const struct l7_policy *p, uint32_t ipv4);
/* Labels of an identity as "k8s:a=b,..." for the access log ("" if unknown). */
const char *l7_policy__identity_labels(const struct l7_policy *p, uint32_t identity);

/* What the proxy needs to judge one request. */
struct l7_request {
	struct http_slice method;
	struct http_slice path;  /* normalised, query included */
	struct http_slice host;
	const struct http_header *headers;
	size_t header_count;
};

enum l7_verdict {
	L7_NOT_APPLICABLE, /* no L7 rules for this endpoint/direction/port/peer */
	L7_ALLOW,
	L7_DENY,
};

/*
 * Judge a request against the L7 rules of endpoint_id in direction
 * (WARDEN_DIR_INGRESS/EGRESS) for destination port and peer identity:
 * the rules of that peer plus those of "any peer" (unless the peer is
 * exempt from them because it is allowed at L4 only). Rules are ORed;
 * the fields of one rule are ANDed; method, path and host are anchored
 * regular expressions. *rule_cookie names the rule that allowed it (0 on
 * deny).
 */
enum l7_verdict l7_policy__check(const struct l7_policy *p, uint32_t endpoint_id,
				 uint8_t direction, uint16_t port, uint32_t peer_identity,
				 const struct l7_request *req, uint32_t *rule_cookie);

#endif /* WARDEN_L7_POLICY_H */
