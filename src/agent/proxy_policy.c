// SPDX-License-Identifier: Apache-2.0
/*
 * The proxy's policy document: the ipcache, the identities with their
 * labels, the endpoints and every L7 entry of the compiled policy, as JSON
 * (docs/proxy-policy.md). The proxy reads it at start and on SIGHUP; the
 * agent's `policy trace` loads the same document into the proxy's matcher.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "endpoint.h"
#include "label_json.h"
#include "proxy_policy.h"
#include "warden/identity.h"
#include "warden/ipcache.h"
#include "warden/l7_policy.h"
#include "warden/log.h"
#include "warden/prefix.h"

void proxy_policy__path(const struct agent *agent, char *buf, size_t len)
{
	snprintf(buf, len, "%s/proxy/policy.json", agent->config.state_dir);
}

static int json_ipcache_entry(void *ctx, const struct policy_prefix *p, uint32_t identity)
{
	char text[64];

	policy_prefix__format(p, text, sizeof(text));
	return json_array_append_new(ctx, json_pack("{s:s, s:i}", "prefix", text,
						    "identity", (json_int_t)identity));
}

static json_t *l7_rule_json(const struct policy_l7_rule_ref *ref)
{
	const struct policy_http_rule *r = ref->rule;
	json_t *headers = json_array();

	for (size_t i = 0; i < r->header_count; i++)
		json_array_append_new(
		    headers,
		    json_pack("{s:s, s:o}", "name", r->headers[i].name, "value",
			      r->headers[i].value ? json_string(r->headers[i].value)
						  : json_null()));
	return json_pack("{s:o, s:o, s:o, s:o, s:i}", "method",
			 r->method ? json_string(r->method) : json_null(), "path",
			 r->path ? json_string(r->path) : json_null(), "host",
			 r->host ? json_string(r->host) : json_null(), "headers", headers,
			 "cookie", (json_int_t)ref->cookie);
}

/* ep's L7 entries appended to l7. */
static void endpoint_l7_json(const struct endpoint *ep, json_t *l7)
{
	for (size_t j = 0; j < ep->entries.l7_count; j++) {
		const struct policy_l7_entry *le = &ep->entries.l7[j];
		json_t *rules, *exempt;

		/* HTTP is TCP; the UDP/SCTP twins of a protocol-less port keep
		 * their proxy entry in the map, where the redirect rules drop
		 * them (only TCP is TPROXYed). */
		if (le->protocol != IPPROTO_TCP)
			continue;
		rules = json_array();
		exempt = json_array();
		for (size_t k = 0; k < le->rule_count; k++)
			json_array_append_new(rules, l7_rule_json(&le->rules[k]));
		for (size_t k = 0; k < le->exempt_count; k++)
			json_array_append_new(exempt, json_integer(le->exempt[k]));
		json_array_append_new(
		    l7,
		    json_pack("{s:i, s:s, s:i, s:i, s:o, s:o}", "endpoint",
			      (json_int_t)ep->id, "direction",
			      le->direction == WARDEN_DIR_INGRESS ? "ingress" : "egress",
			      "port", le->port, "identity", (json_int_t)le->identity,
			      "exempt", exempt, "rules", rules));
	}
}

/* The document for the state now (owned). */
static json_t *document(struct agent *agent)
{
	const struct identity *const *ids;
	size_t id_count = identity__list(agent->identities, &ids);
	json_t *ipcache = json_array(), *identities = json_array();
	json_t *endpoints = json_array(), *l7 = json_array();
	char ip[INET_ADDRSTRLEN], ref[256];

	agent->ipcache->ops->foreach(agent->ipcache, json_ipcache_entry, ipcache);
	for (size_t i = 0; i < id_count; i++)
		json_array_append_new(
		    identities, json_pack("{s:i, s:o}", "id", (json_int_t)ids[i]->id,
					  "labels", label_json__list(&ids[i]->labels)));
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		const struct endpoint *ep = agent->endpoints[i];

		snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
		json_array_append_new(
		    endpoints,
		    json_pack("{s:i, s:s, s:s, s:i, s:b}", "id", (json_int_t)ep->id,
			      "name", ref, "ipv4",
			      inet_ntop(AF_INET, &ep->net.ipv4, ip, sizeof(ip)),
			      "identity", (json_int_t)ep->identity, "audit",
			      (int)ep->audit_mode));
		endpoint_l7_json(ep, l7);
	}
	return json_pack("{s:I, s:o, s:o, s:o, s:o}", "revision",
			 (json_int_t)agent->policy_revision, "ipcache", ipcache,
			 "identities", identities, "endpoints", endpoints, "l7", l7);
}

int proxy_policy__publish(struct agent *agent)
{
	char path[600], tmp[640];
	json_t *doc;
	int ret;

	if (agent->proxy.events_fd < 0)
		return 0;
	doc = document(agent);
	proxy_policy__path(agent, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* Written whole, then renamed: the proxy never reads half a file. */
	ret = json_dump_file(doc, tmp, JSON_COMPACT);
	json_decref(doc);
	if (ret || rename(tmp, path)) {
		pr_warn("write %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	if (agent->proxy.pid > 0)
		kill(agent->proxy.pid, SIGHUP);
	return 0;
}

int proxy_policy__snapshot(struct agent *agent, struct l7_policy **out, char *err,
			   size_t err_len)
{
	json_t *doc = document(agent);
	int ret = l7_policy__load(doc, out, err, err_len);

	json_decref(doc);
	return ret;
}
