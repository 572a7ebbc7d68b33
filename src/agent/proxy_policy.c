// SPDX-License-Identifier: Apache-2.0
/*
 * The proxy's policy document: the ipcache, the identities with their
 * labels, the endpoints, every L7 entry of the compiled policy and the
 * lifted keys, as JSON (docs/proxy-policy.md); during a policy switch also
 * the rules of the revision being replaced. The proxy reads it at start and
 * on SIGHUP (proxy.c sends it and waits for its answer); the agent's
 * `policy trace` loads the same document into the proxy's matcher.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "endpoint.h"
#include "label_json.h"
#include "proxy_policy.h"
#include "warden/errbuf.h"
#include "warden/fault.h"
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

/* One endpoint's L7 entries appended to l7. */
static void endpoint_l7_json(const struct endpoint *ep, const struct policy_entries *e,
			     json_t *l7)
{
	for (size_t j = 0; j < e->l7_count; j++) {
		const struct policy_l7_entry *le = &e->l7[j];
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

static void endpoint_lifted_json(const struct endpoint *ep,
				 const struct policy_lifted_set *lifted, json_t *out)
{
	for (size_t j = 0; j < lifted->count; j++) {
		const struct policy_lifted *k = &lifted->items[j];

		json_array_append_new(
		    out,
		    json_pack("{s:i, s:s, s:i, s:i, s:I}", "endpoint", (json_int_t)ep->id,
			      "direction",
			      k->direction == WARDEN_DIR_INGRESS ? "ingress" : "egress",
			      "port", k->port, "identity", (json_int_t)k->identity,
			      "since", (json_int_t)k->since));
	}
}

/* {"l7": [...], "lifted": [...]} of one generation (owned). */
static json_t *rules_json(struct agent *agent, const struct proxy_policy_rules *rules)
{
	json_t *l7 = json_array(), *lifted = json_array();

	for (size_t i = 0; i < agent->endpoint_count; i++) {
		const struct endpoint *ep = agent->endpoints[i];

		endpoint_l7_json(ep, rules->entries ? &rules->entries[i] : &ep->entries,
				 l7);
		endpoint_lifted_json(ep, rules->lifted ? &rules->lifted[i] : &ep->lifted,
				     lifted);
	}
	return json_pack("{s:o, s:o}", "l7", l7, "lifted", lifted);
}

bool proxy_policy__rules_differ(struct agent *agent, const struct proxy_policy_rules *a,
				const struct proxy_policy_rules *b)
{
	json_t *x = rules_json(agent, a), *y = rules_json(agent, b);
	bool differ = !json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return differ;
}

/* The document of view at revision (owned). */
static json_t *document(struct agent *agent, const struct proxy_policy_view *view,
			uint64_t revision)
{
	const struct identity *const *ids;
	size_t id_count = identity__list(agent->identities, &ids);
	json_t *ipcache = json_array(), *identities = json_array();
	json_t *endpoints = json_array(), *doc;
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
	}
	doc = rules_json(agent, &view->current);
	json_object_set_new(doc, "revision", json_integer((json_int_t)revision));
	json_object_set_new(doc, "ipcache", ipcache);
	json_object_set_new(doc, "identities", identities);
	json_object_set_new(doc, "endpoints", endpoints);
	if (view->previous)
		json_object_set_new(doc, "previous", rules_json(agent, view->previous));
	return doc;
}

int proxy_policy__write(struct agent *agent, const struct proxy_policy_view *view,
			uint64_t revision, bool validate, char *err, size_t err_len)
{
	char path[600], tmp[640];
	json_t *doc = document(agent, view, revision);
	int ret = 0;

	proxy_policy__path(agent, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* A test hook: a field the proxy refuses, so it REJECTs the document. */
	if (fault__hit(FAULT_PROXY_REJECT))
		json_object_set_new(doc, "fault_injected", json_true());
	if (validate) {
		struct l7_policy *check = NULL;
		char why[512];

		/* Nobody else will load it before it is in force. */
		ret = l7_policy__load(doc, &check, why, sizeof(why));
		l7_policy__put(check);
		if (ret) {
			errbuf__printf(err, err_len,
				       "the proxy's policy document of revision %llu "
				       "does not load: %s",
				       (unsigned long long)revision, why);
			goto out;
		}
	}
	if (fault__hit(FAULT_PROXY_WRITE)) {
		errbuf__printf(err, err_len, "write %s: %s (injected by a test hook)",
			       path, strerror(EIO));
		ret = -EIO;
		goto out;
	}
	/* Written whole, then renamed: the proxy never reads half a file. */
	errno = 0;
	if (json_dump_file(doc, tmp, JSON_COMPACT) || rename(tmp, path)) {
		ret = errno ? -errno : -EIO;
		errbuf__printf(err, err_len, "write %s: %s", path, strerror(-ret));
		unlink(tmp);
		goto out;
	}
out:
	json_decref(doc);
	return ret;
}

int proxy_policy__snapshot(struct agent *agent, struct l7_policy **out, char *err,
			   size_t err_len)
{
	struct proxy_policy_view view = {0};
	json_t *doc = document(agent, &view, agent->policy_revision);
	int ret = l7_policy__load(doc, out, err, err_len);

	json_decref(doc);
	return ret;
}
