// SPDX-License-Identifier: Apache-2.0
/*
 * `warden policy trace`: the verdict for a flow without sending traffic.
 *
 * It reads the same compiled entries the datapath has (every endpoint keeps
 * the entries it last wrote to the policy map) and decides the same way:
 * longest-prefix match for the peer's identity and for "any peer", a deny
 * from either wins, then an allow, then the endpoint's default. Egress is
 * judged at the source endpoint, ingress at the destination endpoint. For
 * HTTP, the proxy's own matcher (lib/l7_policy.c) judges the request
 * against a snapshot built from the same document the proxy reads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"
#include "warden/l7_policy.h"
#include "warden/prefix.h"

struct trace_peer {
	uint32_t identity;
	struct endpoint *ep; /* a local endpoint, or NULL */
	uint32_t ipv4;       /* network order, 0 if not known */
	char name[256];
};

/* The datapath's LPM lookup, over an endpoint's entries. */
static const struct policy_entry *lpm(const struct policy_entries *entries,
				      uint32_t identity, uint8_t direction, uint8_t protocol,
				      uint16_t port)
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

/* One side's decision, as JSON: verdict, rule, redirect. */
static json_t *judge(struct agent *agent, const struct endpoint *ep, uint32_t peer,
		     uint8_t direction, uint8_t protocol, uint16_t port, bool *allowed,
		     bool *redirect)
{
	const struct policy_entry *by_id = lpm(&ep->entries, peer, direction, protocol, port);
	const struct policy_entry *any = lpm(&ep->entries, 0, direction, protocol, port);
	const struct policy_entry *decided = NULL;
	const char *verdict;
	char rule[600], ref[300];
	uint32_t cookie = 0;

	*redirect = false;
	if (by_id && (by_id->value.flags & WARDEN_POLICY_DENY))
		decided = by_id;
	else if (any && (any->value.flags & WARDEN_POLICY_DENY))
		decided = any;
	if (decided) {
		*allowed = false;
		verdict = "DENIED";
		cookie = decided->value.rule_cookie;
	} else if (by_id || any) {
		bool plain = (by_id && !by_id->value.proxy_port) ||
			     (any && !any->value.proxy_port);

		decided = by_id ? by_id : any;
		*allowed = true;
		*redirect = !plain;
		verdict = "ALLOWED";
		cookie = decided->value.rule_cookie;
	} else {
		bool enforced = ep->flags & (direction == WARDEN_DIR_INGRESS ?
						     WARDEN_EP_ENFORCE_INGRESS :
						     WARDEN_EP_ENFORCE_EGRESS);

		*allowed = !enforced;
		verdict = enforced ? "DENIED" : "ALLOWED";
	}
	if (!cookie && decided && decided->key.identity == WARDEN_IDENTITY_HOST)
		snprintf(rule, sizeof(rule), "implicit host allow");
	else
		monitor__describe_cookie(agent, cookie, *allowed, rule, sizeof(rule));
	snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:b}", "endpoint", ref, "direction",
			 direction == WARDEN_DIR_INGRESS ? "ingress" : "egress", "verdict",
			 verdict, "policy", rule, "rule",
			 cookie ? (json_int_t)POLICY_COOKIE_RULE(cookie) : -1, "l7", *redirect);
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
		out->identity = out->ep ? out->ep->identity : ipcache__lookup(agent->ipcache, &p);
		return 0;
	}
	if (strchr(text, '=')) {
		struct label_set user = { 0 }, want;
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
			snprintf(err, err_len, "no identity has the labels %s (in namespace %s)",
				 text, ns);
			return -ENOENT;
		}
		for (size_t i = 0; i < agent->endpoint_count; i++)
			if (agent->endpoints[i]->identity == out->identity)
				out->ep = agent->endpoints[i];
		return 0;
	}
	snprintf(err, err_len, "`%s` is not an endpoint in %s, labels k=v or an IPv4 address",
		 text, ns);
	return -ENOENT;
}

static int parse_dport(const char *text, uint16_t *port, uint8_t *protocol)
{
	char proto[16] = "tcp";
	unsigned int p;

	if (sscanf(text, "%u/%15s", &p, proto) < 1 || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	if (!strcasecmp(proto, "tcp"))
		*protocol = 6;
	else if (!strcasecmp(proto, "udp"))
		*protocol = 17;
	else if (!strcasecmp(proto, "sctp"))
		*protocol = 132;
	else
		return -EINVAL;
	return 0;
}

/* The HTTP verdict through the proxy's matcher. */
static json_t *judge_http(struct agent *agent, const struct trace_peer *from,
			  const struct trace_peer *to, uint16_t port, const char *method,
			  const char *path, bool *allowed, char *err, size_t err_len)
{
	json_t *doc = proxy__policy_document(agent);
	struct l7_policy *snap = NULL;
	struct l7_request req = {
		.method = { method, strlen(method) },
		.path = { path, strlen(path) },
	};
	enum l7_verdict egress = L7_NOT_APPLICABLE, ingress = L7_NOT_APPLICABLE;
	uint32_t cookie = 0;
	char policy[600];
	json_t *out;

	if (l7_policy__load(doc, &snap, err, err_len)) {
		json_decref(doc);
		return NULL;
	}
	json_decref(doc);
	if (from->ep)
		egress = l7_policy__check(snap, from->ep->id, WARDEN_DIR_EGRESS, port,
					  to->identity, &req, &cookie);
	if (to->ep && egress != L7_DENY)
		ingress = l7_policy__check(snap, to->ep->id, WARDEN_DIR_INGRESS, port,
					   from->identity, &req, &cookie);
	l7_policy__put(snap);
	*allowed = egress != L7_DENY && ingress != L7_DENY;
	monitor__describe_cookie(agent, cookie, *allowed, policy, sizeof(policy));
	out = json_pack("{s:s, s:s, s:s, s:s}", "method", method, "path", path, "verdict",
			*allowed ? "ALLOWED" : "DENIED", "policy",
			*allowed ? policy : "no HTTP rule matched");
	return out;
}

int trace__run(struct agent *agent, json_t *args, json_t **result, char *err, size_t err_len)
{
	const char *from_text = json_string_value(json_object_get(args, "from"));
	const char *to_text = json_string_value(json_object_get(args, "to"));
	const char *dport_text = json_string_value(json_object_get(args, "dport"));
	const char *ns = json_string_value(json_object_get(args, "namespace"));
	const char *method = json_string_value(json_object_get(args, "http_method"));
	const char *path = json_string_value(json_object_get(args, "http_path"));
	struct trace_peer from, to;
	bool allowed = true, side_allowed, redirect = false, side_redirect;
	json_t *steps = json_array();
	uint8_t protocol;
	uint16_t port;
	int ret;

	if (!ns)
		ns = "default";
	if (!from_text || !to_text || !dport_text) {
		snprintf(err, err_len, "trace needs --from, --to and --dport PORT/PROTO");
		return -EINVAL;
	}
	if (parse_dport(dport_text, &port, &protocol)) {
		snprintf(err, err_len, "--dport %s: expected PORT/tcp, PORT/udp or PORT/sctp",
			 dport_text);
		return -EINVAL;
	}
	ret = resolve(agent, from_text, ns, &from, err, err_len);
	if (!ret)
		ret = resolve(agent, to_text, ns, &to, err, err_len);
	if (ret) {
		json_decref(steps);
		return ret;
	}
	if (from.ep) {
		json_array_append_new(steps, judge(agent, from.ep, to.identity, WARDEN_DIR_EGRESS,
						   protocol, port, &side_allowed, &side_redirect));
		allowed &= side_allowed;
		redirect |= side_redirect;
	}
	if (to.ep && allowed) {
		json_t *step = judge(agent, to.ep, from.identity, WARDEN_DIR_INGRESS, protocol,
				     port, &side_allowed, &side_redirect);

		/* From outside the node no hook could redirect it to the proxy:
		 * the destination drops it (WARDEN_DROP_PROXY_REQUIRED). */
		if (side_allowed && side_redirect && !from.ep) {
			side_allowed = false;
			json_object_set_new(step, "verdict", json_string("DENIED"));
			json_object_set_new(step, "policy",
					    json_string("L7 policy requires the proxy"));
		}
		json_array_append_new(steps, step);
		allowed &= side_allowed;
		redirect |= side_redirect;
	}
	*result = json_pack("{s:s, s:{s:s, s:i}, s:{s:s, s:i}, s:s, s:o, s:b}", "verdict",
			    allowed ? "ALLOWED" : "DENIED", "from", "name", from.name, "identity",
			    (json_int_t)from.identity, "to", "name", to.name, "identity",
			    (json_int_t)to.identity, "dport", dport_text, "steps", steps,
			    "l7_redirect", allowed && redirect);
	if (allowed && redirect && protocol == 6) {
		json_t *http = judge_http(agent, &from, &to, port, method ? method : "GET",
					  path ? path : "/", &side_allowed, err, err_len);

		if (!http) {
			json_decref(*result);
			*result = NULL;
			return -EINVAL;
		}
		json_object_set_new(*result, "http", http);
		if (method || path)
			json_object_set_new(*result, "verdict",
					    json_string(side_allowed ? "ALLOWED" : "DENIED"));
	}
	return 0;
}
