// SPDX-License-Identifier: Apache-2.0
/*
 * `warden policy trace`: the verdict for a flow without sending traffic.
 *
 * It reads the same compiled entries the datapath has (every endpoint keeps
 * the entries it last wrote to the policy map) and decides the same way:
 * longest-prefix match for the peer's identity, for its address's
 * pod-CIDR identity (an endpoint peer of an endpoint with ipBlock rules),
 * and for "any peer"; a deny from any wins, then an allow, then the
 * endpoint's default. Egress is
 * judged at the source endpoint, ingress at the destination endpoint. For
 * HTTP, the proxy's own matcher (lib/l7_policy.c) judges the request
 * against a snapshot built from the same document the proxy reads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "endpoint.h"
#include "policy_repo.h"
#include "proxy_policy.h"
#include "regenerate.h"
#include "trace.h"
#include "warden/identity.h"
#include "warden/ipcache.h"
#include "warden/l7_policy.h"
#include "warden/prefix.h"

struct trace_peer {
	uint32_t identity;
	struct endpoint *ep; /* a local endpoint, or NULL */
	uint32_t ipv4;	     /* network order, 0 if not known */
	char name[256];
};

/* The datapath's LPM lookup, over an endpoint's entries. */
static const struct policy_entry *lpm(const struct policy_entries *entries,
				      uint32_t identity, uint8_t direction,
				      uint8_t protocol, uint16_t port)
{
	const struct policy_entry *best = NULL;
	uint32_t want = (uint32_t)protocol << 16 | port;

	for (size_t i = 0; i < entries->count; i++) {
		const struct warden_policy_key *k = &entries->items[i].key;
		uint32_t have = (uint32_t)k->protocol << 16 | ntohs(k->dport);
		uint32_t bits = k->prefixlen - WARDEN_POLICY_PREFIX_ANY_PROTO;

		if (k->identity != identity || k->direction != direction)
			continue;
		if (bits && (have >> (24 - bits)) != (want >> (24 - bits)))
			continue;
		if (!best || k->prefixlen > best->key.prefixlen)
			best = &entries->items[i];
	}
	return best;
}

/* One rule set's answer for a flow (the datapath's policy_can_access). */
struct side_verdict {
	bool allowed;
	bool redirect; /* enforced half only: through the L7 proxy */
	bool reject;
	uint32_t cookie;
	const struct policy_entry *decided;
};

/*
 * Combine the lookups for one half of the entries: the enforced one
 * (flags, rule_cookie) or, with audit, the one that includes audit-mode
 * policies (audit_flags, audit_cookie). A half with no flags is no entry.
 * e[] is in the datapath's order of precedence: the peer's identity, its
 * pod-CIDR identity, any peer (policy_decide() in bpf/lib/policy.h).
 */
static struct side_verdict decide(const struct endpoint *ep,
				  const struct policy_entry *const e[3],
				  uint8_t direction, bool audit)
{
	struct side_verdict v = {0};
	uint16_t flags[3];
	bool enforced;

	for (int i = 0; i < 3; i++)
		flags[i] = !e[i]   ? 0
			   : audit ? e[i]->value.audit_flags
				   : e[i]->value.flags;
	for (int i = 0; i < 3 && !v.decided; i++)
		if (flags[i] & WARDEN_POLICY_DENY) {
			v.decided = e[i];
			v.reject = !audit && (flags[i] & WARDEN_POLICY_REJECT);
		}
	if (!v.decided) {
		bool plain = false;

		for (int i = 2; i >= 0; i--)
			if (flags[i] & WARDEN_POLICY_ALLOW) {
				v.decided = e[i];
				plain |= !e[i]->value.proxy_port;
			}
		v.allowed = v.decided != NULL;
		v.redirect = v.allowed && !audit && !plain;
	}
	if (v.decided) {
		v.cookie =
		    audit ? v.decided->value.audit_cookie : v.decided->value.rule_cookie;
		return v;
	}
	if (audit)
		enforced = ep->flags & (direction == WARDEN_DIR_INGRESS
					    ? WARDEN_EP_AUDIT_ENFORCE_INGRESS
					    : WARDEN_EP_AUDIT_ENFORCE_EGRESS);
	else
		enforced = ep->flags &
			   (direction == WARDEN_DIR_INGRESS ? WARDEN_EP_ENFORCE_INGRESS
							    : WARDEN_EP_ENFORCE_EGRESS);
	v.allowed = !enforced;
	v.reject =
	    enforced && !audit &&
	    (ep->flags & (direction == WARDEN_DIR_INGRESS ? WARDEN_EP_REJECT_INGRESS
							  : WARDEN_EP_REJECT_EGRESS));
	if (enforced && audit)
		v.cookie = ep->entries.audit_default_cookie[direction];
	return v;
}

/*
 * The pod-CIDR identity the datapath would look up for this peer at ep
 * (policy_can_access() in bpf/lib/policy.h): only for an endpoint peer
 * with a known address, of an endpoint with such rules in the direction.
 */
static uint32_t peer_pod_cidr(struct agent *agent, const struct endpoint *ep,
			      uint32_t peer, uint32_t peer_ipv4, uint8_t direction,
			      struct policy_prefix *prefix)
{
	uint32_t flag = direction == WARDEN_DIR_INGRESS ? WARDEN_EP_POD_CIDR_INGRESS
							: WARDEN_EP_POD_CIDR_EGRESS;

	if (!(ep->flags & flag) || !peer_ipv4 || peer < WARDEN_IDENTITY_USER_MIN ||
	    peer > WARDEN_IDENTITY_USER_MAX)
		return 0;
	return regenerate__pod_cidr_lookup(agent, peer_ipv4, prefix);
}

/*
 * One side's decision: verdict (ALLOWED, DENIED, or AUDIT when audit mode
 * forwards what policy would drop), the deciding policy, rule, redirect,
 * the prefix of an ipBlock that decided through the peer pod's address,
 * and for a denial the response (drop or reject).
 */
static void judge(struct agent *agent, const struct endpoint *ep, uint32_t peer,
		  uint32_t peer_ipv4, uint8_t direction, uint8_t protocol, uint16_t port,
		  struct trace_step *out, bool *allowed, bool *audited, bool *redirect)
{
	struct policy_prefix prefix;
	uint32_t pod_cidr = peer_pod_cidr(agent, ep, peer, peer_ipv4, direction, &prefix);
	const struct policy_entry *e[3] = {
	    lpm(&ep->entries, peer, direction, protocol, port),
	    pod_cidr ? lpm(&ep->entries, pod_cidr, direction, protocol, port) : NULL,
	    lpm(&ep->entries, 0, direction, protocol, port),
	};
	struct side_verdict v = decide(ep, e, direction, false);

	*audited = false;
	if (!v.allowed && ep->audit_mode) {
		/* Endpoint audit mode: forwarded as is, reported. */
		*audited = true;
		v.allowed = true;
		v.redirect = false;
	} else if (v.allowed && (ep->flags & WARDEN_EP_AUDIT_POLICIES)) {
		struct side_verdict a = decide(ep, e, direction, true);

		if (!a.allowed) {
			*audited = true;
			v.cookie = a.cookie;
			v.decided = a.decided;
		}
	}
	*allowed = v.allowed;
	*redirect = v.redirect;
	memset(out, 0, sizeof(*out));
	out->verdict = *audited ? TRACE_AUDIT : v.allowed ? TRACE_ALLOWED : TRACE_DENIED;
	if (!v.cookie && v.decided && v.decided->key.identity == WARDEN_IDENTITY_HOST &&
	    !*audited)
		snprintf(out->policy, sizeof(out->policy), "implicit host allow");
	else
		policy_repo__describe_cookie(agent, v.cookie, v.allowed && !*audited,
					     out->policy, sizeof(out->policy));
	snprintf(out->endpoint, sizeof(out->endpoint), "%s/%s", ep->namespace, ep->name);
	out->direction = direction;
	out->rule = v.cookie && POLICY_COOKIE_RULE(v.cookie) != POLICY_COOKIE_DEFAULT_DENY
			? (long long)POLICY_COOKIE_RULE(v.cookie)
			: -1;
	out->l7 = *redirect;
	if (v.decided && v.decided == e[1])
		policy_prefix__format(&prefix, out->pod_cidr, sizeof(out->pod_cidr));
	if (!v.allowed)
		out->response = v.reject ? TRACE_RESPONSE_REJECT : TRACE_RESPONSE_DROP;
}

/* "name" (endpoint in ns), "k=v,..." (labels of an existing identity), or an
 * IPv4 address/CIDR (identity from the ipcache). */
static int resolve(struct agent *agent, const char *text, const char *ns,
		   struct trace_peer *out, char *err, size_t err_len)
{
	struct policy_prefix p;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", text);
	out->ep = endpoint__find(agent, text, ns);
	if (out->ep) {
		out->identity = out->ep->identity;
		out->ipv4 = out->ep->net.ipv4;
		snprintf(out->name, sizeof(out->name), "%s/%s", ns, text);
		return 0;
	}
	if (!policy_prefix__parse(text, &p) && p.family == 4) {
		memcpy(&out->ipv4, p.addr, 4);
		out->ep = endpoint__find_by_ipv4(agent, out->ipv4);
		out->identity =
		    out->ep ? out->ep->identity : ipcache__lookup(agent->ipcache, &p);
		return 0;
	}
	if (strchr(text, '=')) {
		struct label_set user = {0}, want;
		const struct identity *const *ids;
		size_t n = identity__list(agent->identities, &ids);
		int ret = label_set__parse_list(&user, text, err, err_len);

		if (ret)
			return ret;
		/* The labels an endpoint with these labels in ns would have. */
		ret = endpoint__derive_labels(agent, ns, &user, &want);
		label_set__free(&user);
		if (ret)
			return ret;
		for (size_t i = 0; i < n; i++)
			if (label_set__equal(&ids[i]->labels, &want)) {
				out->identity = ids[i]->id;
				break;
			}
		label_set__free(&want);
		if (!out->identity) {
			snprintf(err, err_len,
				 "no identity has the labels %s (in namespace %s)", text,
				 ns);
			return -ENOENT;
		}
		for (size_t i = 0; i < agent->endpoint_count; i++)
			if (agent->endpoints[i]->identity == out->identity)
				out->ep = agent->endpoints[i];
		return 0;
	}
	snprintf(err, err_len,
		 "`%s` is not an endpoint in %s, labels k=v or an IPv4 address", text,
		 ns);
	return -ENOENT;
}

/* The HTTP verdict through the proxy's matcher. */
static int judge_http(struct agent *agent, const struct trace_peer *from,
		      const struct trace_peer *to, uint16_t port, struct trace_http *out,
		      char *err, size_t err_len)
{
	struct l7_policy *snap = NULL;
	struct l7_request req = {
	    .method = {out->method, strlen(out->method)},
	    .path = {out->path, strlen(out->path)},
	};
	struct l7_decision decision;
	struct l7_flow flow = {.source_identity = from->identity,
			       .destination_identity = to->identity,
			       .port = port};
	char policy[600];
	bool no_rule;
	int ret;

	ret = proxy_policy__snapshot(agent, &snap, err, err_len);
	if (ret)
		return ret;
	/* The proxy's own decision, from the same document it reads. */
	if (from->ep)
		flow.source = l7_policy__endpoint_of(snap, from->ep->net.ipv4);
	if (to->ep)
		flow.destination = l7_policy__endpoint_of(snap, to->ep->net.ipv4);
	l7_policy__decide(snap, &flow, &req, &decision);
	l7_policy__put(snap);
	policy_repo__describe_cookie(agent, decision.rule_cookie,
				     decision.verdict == L7_ALLOW ||
					 decision.verdict == L7_NOT_APPLICABLE ||
					 decision.verdict == L7_LIFTED,
				     policy, sizeof(policy));
	/* The proxy refuses a redirected flow no rule applies to. */
	no_rule = decision.verdict == L7_NO_RULE;
	if (no_rule)
		decision.verdict = L7_DENY;
	out->verdict = decision.verdict == L7_DENY    ? TRACE_DENIED
		       : decision.verdict == L7_AUDIT ? TRACE_AUDIT
						      : TRACE_ALLOWED;
	snprintf(out->policy, sizeof(out->policy), "%s",
		 no_rule		       ? "no L7 rule for this flow"
		 : decision.verdict == L7_DENY ? "no HTTP rule matched"
					       : policy);
	out->restricted = decision.verdict == L7_DENY || decision.verdict == L7_AUDIT;
	if (out->restricted)
		snprintf(out->restricted_by, sizeof(out->restricted_by), "%s", policy);
	return 0;
}

int trace__run(struct agent *agent, const struct trace_request *req,
	       struct trace_result *out, char *err, size_t err_len)
{
	const char *ns = req->namespace ? req->namespace : "default";
	struct trace_peer from, to;
	bool allowed = true, side_allowed, redirect = false, side_redirect;
	bool audited = false, side_audited;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = resolve(agent, req->from, ns, &from, err, err_len);
	if (!ret)
		ret = resolve(agent, req->to, ns, &to, err, err_len);
	if (ret)
		return ret;
	if (from.ep) {
		judge(agent, from.ep, to.identity, to.ipv4, WARDEN_DIR_EGRESS,
		      req->protocol, req->port, &out->steps[out->step_count++],
		      &side_allowed, &side_audited, &side_redirect);
		allowed &= side_allowed;
		audited |= side_audited;
		redirect |= side_redirect;
	}
	if (to.ep && allowed) {
		struct trace_step *step = &out->steps[out->step_count++];

		judge(agent, to.ep, from.identity, from.ipv4, WARDEN_DIR_INGRESS,
		      req->protocol, req->port, step, &side_allowed, &side_audited,
		      &side_redirect);
		/* From outside the node no hook could redirect it to the proxy:
		 * the destination drops it (WARDEN_DROP_PROXY_REQUIRED). */
		if (side_allowed && side_redirect && !from.ep) {
			side_allowed = false;
			step->verdict = TRACE_DENIED;
			snprintf(step->policy, sizeof(step->policy),
				 "L7 policy requires the proxy");
		}
		allowed &= side_allowed;
		audited |= side_audited;
		redirect |= side_redirect;
	}
	out->verdict = !allowed ? TRACE_DENIED : audited ? TRACE_AUDIT : TRACE_ALLOWED;
	snprintf(out->from.name, sizeof(out->from.name), "%s", from.name);
	out->from.identity = from.identity;
	snprintf(out->to.name, sizeof(out->to.name), "%s", to.name);
	out->to.identity = to.identity;
	out->dport = req->dport;
	out->l7_redirect = allowed && redirect;
	if (allowed && redirect && req->protocol == 6) {
		out->http.method = req->http_method ? req->http_method : "GET";
		out->http.path = req->http_path ? req->http_path : "/";
		ret = judge_http(agent, &from, &to, req->port, &out->http, err, err_len);
		if (ret)
			return -EINVAL;
		out->has_http = true;
		/* Only a request the user named decides the verdict. */
		if (req->http_method || req->http_path)
			out->verdict = out->http.verdict == TRACE_DENIED ? TRACE_DENIED
				       : out->http.verdict == TRACE_AUDIT || audited
					   ? TRACE_AUDIT
					   : TRACE_ALLOWED;
	}
	return 0;
}
