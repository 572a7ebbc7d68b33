// SPDX-License-Identifier: Apache-2.0
/*
 * The control protocol's JSON, in one place (docs/control-protocol.md).
 * Parsers check the shape of a request and turn it into the structs the
 * domain modules take (endpoint_spec, label_changes, policy_document,
 * trace_request, ...); serializers turn the domain's objects and results
 * into reply values, and flow events into monitor lines. Names the JSON
 * shows (endpoints, labels, policies) are looked up here, read-only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent.h"
#include "bpf_check.h"
#include "endpoint.h"
#include "label_json.h"
#include "policy_repo.h"
#include "trace.h"
#include "warden/abi/maps.h"
#include "warden/identity.h"
#include "warden/policy_compile.h"
#include "warden/prefix.h"
#include "warden/reason.h"
#include "warden/version.h"
#include "wire.h"

static const char *ipv4_text(uint32_t addr, char *buf, size_t len)
{
	return inet_ntop(AF_INET, &addr, buf, (socklen_t)len);
}

static const char *proto_name(uint8_t proto)
{
	const char *name = warden_protocol__name(proto);

	return name ? name : "OTHER";
}

/* ---- replies ---- */

json_t *wire__status(struct agent *agent, const struct agent_status *status)
{
	json_t *maps = json_array(), *result;
	char net[16], gw[16], cidr[40];

	for (size_t i = 0; i < status->map_count; i++) {
		const struct datapath_map_usage *m = &status->maps[i];

		/* LRU conntrack recycles entries by design; others must not fill. */
		json_array_append_new(maps,
				      json_pack("{s:s, s:i, s:i, s:b}", "name", m->name,
						"used", (json_int_t)m->used, "capacity",
						(json_int_t)m->capacity, "near_capacity",
						strcmp(m->name, "warden_ct") &&
						    m->used * 10 >= m->capacity * 9));
	}
	snprintf(cidr, sizeof(cidr), "%s/%d", ipv4_text(agent->config.pod_net, net, 16),
		 agent->config.pod_prefix_len);
	result = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:{s:[s,s], s:o}, s:i, s:i, "
	    "s:i}",
	    "version", WARDEN_VERSION, "state_dir", agent->config.state_dir, "socket",
	    agent->config.socket_path, "pod_cidr", cidr, "host_ipv4",
	    ipv4_text(agent->config.gateway, gw, sizeof(gw)), "policy_revision",
	    (json_int_t)agent->policy_revision, "endpoints",
	    (json_int_t)agent->endpoint_count, "identities",
	    (json_int_t)status->identities, "policies", (json_int_t)agent->policies.count,
	    "datapath", "programs", "warden_from_container", "warden_to_container",
	    "maps", maps, "drops", (json_int_t)status->drops, "forwards",
	    (json_int_t)status->forwards, "events_lost", (json_int_t)status->events_lost);
	json_object_set_new(
	    result, "deny_response",
	    json_string(agent->config.reject_by_default ? "reject" : "drop"));
	json_object_set_new(result, "cidr_rules_select_pods",
			    json_boolean(agent->config.cidr_rules_select_pods));
	return result;
}

json_t *wire__endpoint(const struct endpoint *ep)
{
	char ip[16];
	json_t *ports = json_array();

	for (size_t i = 0; i < ep->port_count; i++)
		json_array_append_new(
		    ports, json_pack("{s:s, s:i, s:s}", "name", ep->ports[i].name, "port",
				     ep->ports[i].port, "protocol",
				     proto_name(ep->ports[i].protocol)));
	return json_pack(
	    "{s:i, s:s, s:s, s:s, s:i, s:o, s:s, s:s, s:i, s:o, s:{s:b, s:b}, s:i, "
	    "s:b}",
	    "id", (json_int_t)ep->id, "name", ep->name, "namespace", ep->namespace,
	    "ipv4", ipv4_text(ep->net.ipv4, ip, sizeof(ip)), "identity",
	    (json_int_t)ep->identity, "labels", label_json__list(&ep->labels), "netns",
	    ep->net.netns, "interface", ep->net.host_ifname, "ifindex",
	    ep->net.host_ifindex, "ports", ports, "policy_enforcement", "ingress",
	    (ep->flags & WARDEN_EP_ENFORCE_INGRESS) != 0, "egress",
	    (ep->flags & WARDEN_EP_ENFORCE_EGRESS) != 0, "policy_revision",
	    (json_int_t)ep->policy_revision, "audit", ep->audit_mode);
}

json_t *wire__endpoint_list(struct agent *agent, const char *ns)
{
	json_t *list = json_array();

	for (size_t i = 0; i < agent->endpoint_count; i++)
		if (!ns || !strcmp(ns, agent->endpoints[i]->namespace))
			json_array_append_new(list, wire__endpoint(agent->endpoints[i]));
	return list;
}

json_t *wire__deleted(const char *ref)
{
	return json_pack("{s:s}", "deleted", ref);
}

json_t *wire__namespace(const char *ns, const struct label_set *labels)
{
	return json_pack("{s:s, s:o}", "namespace", ns, "labels",
			 label_json__list(labels));
}

json_t *wire__namespace_list(struct agent *agent)
{
	json_t *list = json_array();

	for (size_t i = 0; i < agent->namespace_count; i++)
		json_array_append_new(list,
				      wire__namespace(agent->namespaces[i].name,
						      &agent->namespaces[i].labels));
	return list;
}

json_t *wire__identity(struct agent *agent, const struct identity *ident)
{
	json_t *eps = json_array();
	char ref[256], cidr[64];

	for (size_t i = 0; i < agent->endpoint_count; i++) {
		const struct endpoint *ep = agent->endpoints[i];

		if (ep->identity != ident->id)
			continue;
		snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
		json_array_append_new(eps, json_string(ref));
	}
	if (ident->is_cidr || ident->is_pod_cidr)
		policy_prefix__format(&ident->prefix, cidr, sizeof(cidr));
	/* A pod-CIDR identity stands for the pods inside its prefix. */
	return json_pack("{s:i, s:o, s:b, s:o, s:o, s:b}", "id", (json_int_t)ident->id,
			 "labels", label_json__list(&ident->labels), "reserved",
			 ident->reserved, "endpoints", eps, "cidr",
			 ident->is_cidr || ident->is_pod_cidr ? json_string(cidr)
							      : json_null(),
			 "pod_cidr", ident->is_pod_cidr);
}

json_t *wire__identity_list(struct agent *agent)
{
	const struct identity *const *ids;
	size_t n = identity__list(agent->identities, &ids);
	json_t *list = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, wire__identity(agent, ids[i]));
	return list;
}

static json_t *policy_json(struct agent *agent, const struct policy *p)
{
	json_t *selects = json_array();
	size_t rules = 0;
	char ref[256];

	for (size_t s = 0; s < p->spec_count; s++)
		rules += p->specs[s].rule_count;
	for (size_t e = 0; e < agent->endpoint_count; e++) {
		const struct endpoint *ep = agent->endpoints[e];

		if (!policy__selects(p, ep))
			continue;
		snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
		json_array_append_new(selects, json_string(ref));
	}
	return json_pack(
	    "{s:s, s:o, s:s, s:s, s:i, s:i, s:i, s:o, s:s}", "name", p->name, "namespace",
	    p->namespace ? json_string(p->namespace) : json_null(), "kind",
	    policy_kind__name(p->kind), "file", p->file ? p->file : "", "document",
	    p->document, "specs", (json_int_t)p->spec_count, "rules", (json_int_t)rules,
	    "selects", selects, "source", p->source ? p->source : "");
}

json_t *wire__policy_list(struct agent *agent, const char *name, const char *ns)
{
	json_t *list = json_array();

	for (size_t i = 0; i < agent->policies.count; i++) {
		const struct policy *p = &agent->policies.items[i];

		if (name && strcmp(name, p->name))
			continue;
		if (ns && (!p->namespace || strcmp(ns, p->namespace)))
			continue;
		json_array_append_new(list, policy_json(agent, p));
	}
	return list;
}

static json_t *string_list(const struct str_list *list)
{
	json_t *array = json_array();

	for (size_t i = 0; i < list->count; i++)
		json_array_append_new(array, json_string(list->items[i]));
	return array;
}

json_t *wire__policy_import(const struct policy_change *change,
			    const struct str_list *warnings)
{
	return json_pack(
	    "{s:I, s:o, s:f, s:f, s:I, s:o}", "revision", (json_int_t)change->revision,
	    "imported", string_list(&change->names), "compile_ms",
	    (double)change->compile_ns / 1e6, "apply_ms", (double)change->apply_ns / 1e6,
	    "entries", (json_int_t)change->entries, "warnings", string_list(warnings));
}

json_t *wire__policy_delete(const struct policy_change *change)
{
	return json_pack("{s:o, s:I}", "deleted", string_list(&change->names), "revision",
			 (json_int_t)change->revision);
}

json_t *wire__policy_validate(const struct policy_set *parsed,
			      const struct str_list *warnings)
{
	json_t *names = json_array();
	char ref[600];

	for (size_t i = 0; i < parsed->count; i++) {
		policy__ref(&parsed->items[i], ref, sizeof(ref));
		json_array_append_new(names, json_string(ref));
	}
	return json_pack("{s:b, s:o, s:o}", "valid", 1, "policies", names, "warnings",
			 string_list(warnings));
}

static json_t *identity_labels_json(struct agent *agent, uint32_t id)
{
	const struct identity *ident;

	if (!id)
		return json_pack("[s]", "any");
	ident = identity__lookup(agent->identities, id);
	return ident ? label_json__list(&ident->labels) : json_array();
}

/* The ports a policy key covers, from its prefix length. */
static void key_ports(const struct warden_policy_key *key, char *buf, size_t len)
{
	uint32_t port_bits = key->prefixlen > WARDEN_POLICY_PREFIX_ANY_PORT
				 ? key->prefixlen - WARDEN_POLICY_PREFIX_ANY_PORT
				 : 0;
	uint16_t first = ntohs(key->dport);

	if (key->prefixlen <= WARDEN_POLICY_PREFIX_ANY_PORT)
		snprintf(buf, len, "any");
	else if (key->protocol == 1)
		snprintf(buf, len, "type %u", first >> 8);
	else if (port_bits >= 16)
		snprintf(buf, len, "%u", first);
	else
		snprintf(buf, len, "%u-%u", first,
			 (unsigned int)first + (1u << (16 - port_bits)) - 1);
}

/* One compiled entry of ep, with the policy behind it. */
static json_t *policy_entry_json(struct agent *agent, const struct endpoint *ep,
				 const struct policy_entry *e)
{
	bool deny = e->value.flags & WARDEN_POLICY_DENY;
	char ports[32], rule[600];
	json_t *obj;

	key_ports(&e->key, ports, sizeof(ports));
	policy_repo__describe_cookie(agent, e->value.rule_cookie, true, rule,
				     sizeof(rule));
	if (!e->value.rule_cookie && e->key.identity == WARDEN_IDENTITY_HOST)
		snprintf(rule, sizeof(rule), "implicit host allow");
	obj = json_pack("{s:s, s:i, s:o, s:s, s:s, s:s, s:s, s:i}", "direction",
			e->key.direction == WARDEN_DIR_INGRESS ? "ingress" : "egress",
			"identity", (json_int_t)e->key.identity, "labels",
			identity_labels_json(agent, e->key.identity), "protocol",
			e->key.prefixlen <= WARDEN_POLICY_PREFIX_ANY_PROTO
			    ? "ANY"
			    : proto_name(e->key.protocol),
			"ports", ports, "verdict",
			deny					  ? "deny"
			: !(e->value.flags & WARDEN_POLICY_ALLOW) ? "none"
			: e->value.proxy_port			  ? "redirect"
								  : "allow",
			"rule", rule, "proxy_port", ntohs(e->value.proxy_port));
	if (deny)
		json_object_set_new(obj, "response",
				    json_string(e->value.flags & WARDEN_POLICY_REJECT
						    ? "reject"
						    : "drop"));
	/* With audit-mode policies: the verdict they would give. */
	if (ep->flags & WARDEN_EP_AUDIT_POLICIES) {
		policy_repo__describe_cookie(agent, e->value.audit_cookie, true, rule,
					     sizeof(rule));
		json_object_set_new(obj, "audit_verdict",
				    json_string(e->value.audit_flags & WARDEN_POLICY_DENY
						    ? "deny"
						: e->value.audit_flags ? "allow"
								       : "none"));
		json_object_set_new(obj, "audit_rule", json_string(rule));
	}
	return obj;
}

json_t *wire__bpf_policy(struct agent *agent, const struct endpoint *ep)
{
	json_t *entries = json_array();
	char ref[256];

	for (size_t i = 0; i < ep->entries.count; i++)
		json_array_append_new(
		    entries, policy_entry_json(agent, ep, &ep->entries.items[i]));
	snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
	return json_pack("{s:s, s:i, s:{s:b, s:b}, s:o, s:b}", "endpoint", ref,
			 "endpoint_id", (json_int_t)ep->id, "policy_enforcement",
			 "ingress", (ep->flags & WARDEN_EP_ENFORCE_INGRESS) != 0,
			 "egress", (ep->flags & WARDEN_EP_ENFORCE_EGRESS) != 0, "entries",
			 entries, "audit", ep->audit_mode);
}

/* A policy-map value as `bpf check` shows it (null for none). */
static json_t *check_policy_value(const struct warden_policy_value *v, bool present)
{
	if (!present)
		return json_null();
	return json_pack("{s:s, s:I, s:i}", "verdict",
			 v->flags & WARDEN_POLICY_DENY	     ? "deny"
			 : !(v->flags & WARDEN_POLICY_ALLOW) ? "none"
			 : v->proxy_port		     ? "redirect"
							     : "allow",
			 "rule_cookie", (json_int_t)v->rule_cookie, "proxy_port",
			 ntohs(v->proxy_port));
}

static json_t *check_endpoint_value(const struct warden_endpoint_info *info, bool present)
{
	if (!present)
		return json_null();
	return json_pack("{s:i, s:i, s:i, s:i}", "endpoint_id",
			 (json_int_t)info->endpoint_id, "identity",
			 (json_int_t)info->identity, "flags", (json_int_t)info->flags,
			 "policy_revision", (json_int_t)info->policy_revision);
}

static json_t *check_item_json(const struct bpf_check_map *map,
			       const struct bpf_check_item *item)
{
	bool has_agent = item->problem != BPF_CHECK_STALE;
	bool has_kernel = item->problem != BPF_CHECK_MISSING;
	char text[INET6_ADDRSTRLEN + 8];

	switch (map->map) {
	case DATAPATH_MAP_POLICY: {
		const struct warden_policy_key *k = &item->policy.key;

		key_ports(k, text, sizeof(text));
		return json_pack(
		    "{s:s, s:i, s:s, s:i, s:s, s:s, s:o, s:o}", "problem",
		    bpf_check_problem__name(item->problem), "endpoint_id",
		    (json_int_t)k->endpoint_id, "direction",
		    k->direction == WARDEN_DIR_INGRESS ? "ingress" : "egress", "identity",
		    (json_int_t)k->identity, "protocol",
		    k->prefixlen <= WARDEN_POLICY_PREFIX_ANY_PROTO
			? "ANY"
			: proto_name(k->protocol),
		    "ports", text, "agent",
		    check_policy_value(&item->policy.agent, has_agent), "kernel",
		    check_policy_value(&item->policy.kernel, has_kernel));
	}
	case DATAPATH_MAP_IPCACHE:
		policy_prefix__format(&item->ipcache.prefix, text, sizeof(text));
		return json_pack(
		    "{s:s, s:s, s:o, s:o}", "problem",
		    bpf_check_problem__name(item->problem), "prefix", text, "agent",
		    has_agent ? json_integer(item->ipcache.agent) : json_null(), "kernel",
		    has_kernel ? json_integer(item->ipcache.kernel) : json_null());
	default: {
		json_t *out = json_pack(
		    "{s:s, s:o, s:o}", "problem", bpf_check_problem__name(item->problem),
		    "agent", check_endpoint_value(&item->endpoint.agent, has_agent),
		    "kernel", check_endpoint_value(&item->endpoint.kernel, has_kernel));

		if (map->map == DATAPATH_MAP_ENDPOINTS)
			json_object_set_new(out, "ifindex",
					    json_integer(item->endpoint.ifindex));
		else
			json_object_set_new(
			    out, "ipv4",
			    json_string(inet_ntop(AF_INET, &item->endpoint.ipv4, text,
						  sizeof(text))));
		return out;
	}
	}
}

json_t *wire__test_fault(const char *point, long long nth, unsigned int fired)
{
	return json_pack("{s:s, s:I, s:i}", "point", point, "nth", (json_int_t)nth,
			 "fired", (json_int_t)fired);
}

json_t *wire__bpf_check(const struct bpf_check_report *report)
{
	json_t *maps = json_array();

	for (size_t i = 0; i < report->map_count; i++) {
		const struct bpf_check_map *map = &report->maps[i];
		json_t *entries = json_array();

		for (size_t j = 0; j < map->item_count; j++)
			json_array_append_new(entries,
					      check_item_json(map, &map->items[j]));
		json_array_append_new(
		    maps,
		    json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:b}", "map", map->name,
			"agent", (json_int_t)map->agent, "kernel",
			(json_int_t)map->kernel, "missing", (json_int_t)map->missing,
			"stale", (json_int_t)map->stale, "differing",
			(json_int_t)map->differing, "entries", entries, "truncated",
			map->item_count < map->missing + map->stale + map->differing));
	}
	return json_pack("{s:b, s:o, s:{s:s, s:I, s:I}}", "clean", report->clean, "maps",
			 maps, "proxy", "state", bpf_check_proxy__name(report->proxy),
			 "revision", (json_int_t)report->proxy_revision,
			 "document_revision", (json_int_t)report->document_revision);
}

static const char *trace_verdict_name(enum trace_verdict v)
{
	return v == TRACE_DENIED ? "DENIED" : v == TRACE_AUDIT ? "AUDIT" : "ALLOWED";
}

static json_t *trace_step_json(const struct trace_step *step)
{
	json_t *out = json_pack(
	    "{s:s, s:s, s:s, s:s, s:I, s:b}", "endpoint", step->endpoint, "direction",
	    step->direction == WARDEN_DIR_INGRESS ? "ingress" : "egress", "verdict",
	    trace_verdict_name(step->verdict), "policy", step->policy, "rule",
	    (json_int_t)step->rule, "l7", step->l7);

	if (step->response != TRACE_RESPONSE_NONE)
		json_object_set_new(out, "response",
				    json_string(step->response == TRACE_RESPONSE_REJECT
						    ? "reject"
						    : "drop"));
	if (step->pod_cidr[0])
		json_object_set_new(out, "pod_cidr", json_string(step->pod_cidr));
	return out;
}

static json_t *trace_http_json(const struct trace_http *http)
{
	json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "method", http->method, "path",
				http->path, "verdict", trace_verdict_name(http->verdict),
				"policy", http->policy);

	if (http->restricted)
		json_object_set_new(out, "restricted_by",
				    json_string(http->restricted_by));
	return out;
}

json_t *wire__trace(const struct trace_result *trace)
{
	json_t *steps = json_array(), *out;

	for (size_t i = 0; i < trace->step_count; i++)
		json_array_append_new(steps, trace_step_json(&trace->steps[i]));
	out = json_pack("{s:s, s:{s:s, s:i}, s:{s:s, s:i}, s:s, s:o, s:b}", "verdict",
			trace_verdict_name(trace->verdict), "from", "name",
			trace->from.name, "identity", (json_int_t)trace->from.identity,
			"to", "name", trace->to.name, "identity",
			(json_int_t)trace->to.identity, "dport", trace->dport, "steps",
			steps, "l7_redirect", trace->l7_redirect);
	if (trace->has_http)
		json_object_set_new(out, "http", trace_http_json(&trace->http));
	return out;
}

json_t *wire__streaming(void)
{
	return json_pack("{s:b}", "streaming", 1);
}

/* ---- monitor events ---- */

static const char *protocol_text(uint8_t proto, char *buf, size_t len)
{
	const char *name = proto ? warden_protocol__name(proto) : NULL;

	if (name)
		return name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

static void tcp_flags_text(uint8_t flags, char *buf, size_t len)
{
	static const char *const names[] = {"FIN", "SYN", "RST", "PSH",
					    "ACK", "URG", "ECE", "CWR"};
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < 8 && off < len; i++)
		if (flags & (1u << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						off ? "," : "", names[i]);
}

static json_t *peer_json(struct agent *agent, const uint8_t addr[16], uint16_t port_be,
			 uint32_t identity)
{
	const struct identity *ident = identity__lookup(agent->identities, identity);
	struct endpoint *ep;
	uint32_t ipv4;
	char ip[INET_ADDRSTRLEN], ref[256];
	json_t *obj;

	memcpy(&ipv4, addr, 4);
	ep = endpoint__find_by_ipv4(agent, ipv4);
	obj = json_pack("{s:s, s:i, s:i}", "ip", ipv4_text(ipv4, ip, sizeof(ip)), "port",
			ntohs(port_be), "identity", (json_int_t)identity);
	if (ep) {
		snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
		json_object_set_new(obj, "endpoint", json_string(ref));
	} else {
		json_object_set_new(obj, "endpoint", json_null());
	}
	json_object_set_new(obj, "labels",
			    ident ? label_json__list(&ident->labels) : json_array());
	return obj;
}

/* RFC 3339 in UTC with microseconds, as every event carries it. */
static void time_text(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%06ldZ", ts->tv_nsec / 1000);
}

static json_t *event_json(struct agent *agent, const struct warden_event *ev,
			  const struct timespec *ts)
{
	struct endpoint *ep = endpoint__find_by_id(agent, ev->endpoint_id);
	bool dropped = ev->type == WARDEN_EVENT_DROP;
	bool audit = ev->type == WARDEN_EVENT_AUDIT;
	/* Hubble's REDIRECTED: allowed, and handed to the L7 proxy. */
	bool redirected = !dropped && !audit && (ev->flags & WARDEN_EVENT_F_REDIRECTED);
	char when[64], proto[8], flags[64], policy[600], ref[256];
	json_t *obj;

	time_text(ts, when, sizeof(when));
	tcp_flags_text(ev->protocol == 6 ? ev->tcp_flags : 0, flags, sizeof(flags));
	/* An audit event names the policy that would have dropped the flow. */
	policy_repo__describe_cookie(agent, ev->rule_cookie, !dropped && !audit, policy,
				     sizeof(policy));
	obj = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "time", when, "type",
	    dropped ? "drop" : "policy-verdict", "reason",
	    redirected ? "to-proxy" : warden_reason__name(ev->reason), "verdict",
	    dropped	 ? "DROPPED"
	    : audit	 ? "AUDIT"
	    : redirected ? "REDIRECTED"
			 : "FORWARDED",
	    "direction", ev->direction == WARDEN_DIR_INGRESS ? "ingress" : "egress",
	    "protocol", protocol_text(ev->protocol, proto, sizeof(proto)), "tcp_flags",
	    flags, "length", (json_int_t)ev->length);
	json_object_set_new(obj, "source",
			    peer_json(agent, ev->saddr, ev->sport, ev->src_identity));
	json_object_set_new(obj, "destination",
			    peer_json(agent, ev->daddr, ev->dport, ev->dst_identity));
	if (ep) {
		snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
		json_object_set_new(obj, "endpoint", json_string(ref));
	} else {
		json_object_set_new(obj, "endpoint", json_null());
	}
	json_object_set_new(obj, "policy", json_string(policy));
	/* Which rule of that policy (as `policy trace` counts them), -1: none. */
	json_object_set_new(
	    obj, "rule",
	    json_integer(ev->rule_cookie && POLICY_COOKIE_RULE(ev->rule_cookie) !=
						POLICY_COOKIE_DEFAULT_DENY
			     ? (json_int_t)POLICY_COOKIE_RULE(ev->rule_cookie)
			     : -1));
	if (dropped)
		json_object_set_new(
		    obj, "response",
		    json_string(ev->flags & WARDEN_EVENT_F_REJECTED ? "reject" : "drop"));
	return obj;
}

char *wire__flow_event_line(struct agent *agent, const struct warden_event *event,
			    const struct timespec *when, size_t *len)
{
	json_t *obj = event_json(agent, event, when);
	char *line = obj ? wire__line(obj, len) : NULL;

	json_decref(obj);
	return line;
}

char *wire__proxy_event_line(struct agent *agent, const char *text, size_t text_len,
			     size_t *len)
{
	json_t *event = json_loadb(text, text_len, 0, NULL);
	const char *verdict = json_string_value(json_object_get(event, "verdict"));
	json_t *cookie = json_object_get(event, "rule_cookie");
	char policy[600], *line;

	if (!json_is_object(event)) {
		json_decref(event);
		return NULL;
	}
	/* Name the deciding policy, as for datapath events. */
	if (json_is_integer(cookie)) {
		policy_repo__describe_cookie(agent, (uint32_t)json_integer_value(cookie),
					     verdict && !strcmp(verdict, "FORWARDED"),
					     policy, sizeof(policy));
		json_object_set_new(event, "policy", json_string(policy));
	}
	line = wire__line(event, len);
	json_decref(event);
	return line;
}

char *wire__lost_line(uint64_t lost, size_t *len)
{
	struct timespec now;
	char when[64], *line;
	json_t *obj;

	clock_gettime(CLOCK_REALTIME, &now);
	time_text(&now, when, sizeof(when));
	obj = json_pack("{s:s, s:s, s:I}", "time", when, "type", "lost", "lost",
			(json_int_t)lost);
	line = obj ? wire__line(obj, len) : NULL;
	json_decref(obj);
	return line;
}
