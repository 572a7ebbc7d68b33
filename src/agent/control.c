// SPDX-License-Identifier: Apache-2.0
/*
 * The control socket's commands (docs/control-protocol.md): a table of
 * {"object.verb", handler}. Each handler fills `result` or writes a reason
 * into err and returns -errno; the reply is built in one place.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "warden/abi/maps.h"
#include "warden/log.h"
#include "warden/prefix.h"
#include "warden/reason.h"

#define ERR_LEN 2048

int control__listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* stale from a crashed agent; the lock file proves it */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

json_t *json_label_list(const struct label_set *labels)
{
	json_t *list = json_array();
	char buf[1024];

	for (size_t i = 0; i < labels->count; i++) {
		const struct label *l = &labels->items[i];

		if (l->value[0])
			snprintf(buf, sizeof(buf), "%s:%s=%s", l->source, l->key, l->value);
		else
			snprintf(buf, sizeof(buf), "%s:%s", l->source, l->key);
		json_array_append_new(list, json_string(buf));
	}
	return list;
}

static const char *proto_name(uint8_t proto)
{
	const char *name = warden_protocol__name(proto);

	return name ? name : "OTHER";
}

json_t *json_endpoint(struct agent *agent, const struct endpoint *ep)
{
	char ip[16];
	json_t *ports = json_array();

	(void)agent;
	for (size_t i = 0; i < ep->port_count; i++)
		json_array_append_new(ports, json_pack("{s:s, s:i, s:s}", "name",
						       ep->ports[i].name, "port",
						       ep->ports[i].port, "protocol",
						       proto_name(ep->ports[i].protocol)));
	return json_pack("{s:i, s:s, s:s, s:s, s:i, s:o, s:s, s:s, s:i, s:o, s:{s:b, s:b}, s:i, "
			 "s:b}",
			 "id", (json_int_t)ep->id, "name", ep->name, "namespace",
			 ep->namespace, "ipv4", ipv4__format(ep->net.ipv4, ip, sizeof(ip)),
			 "identity", (json_int_t)ep->identity, "labels",
			 json_label_list(&ep->labels), "netns", ep->net.netns, "interface",
			 ep->net.host_ifname, "ifindex", ep->net.host_ifindex, "ports", ports,
			 "policy_enforcement", "ingress",
			 (ep->flags & WARDEN_EP_ENFORCE_INGRESS) != 0, "egress",
			 (ep->flags & WARDEN_EP_ENFORCE_EGRESS) != 0, "policy_revision",
			 (json_int_t)ep->policy_revision, "audit", ep->audit_mode);
}

json_t *json_identity(struct agent *agent, const struct identity *ident)
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
	if (ident->is_cidr)
		policy_prefix__format(&ident->prefix, cidr, sizeof(cidr));
	return json_pack("{s:i, s:o, s:b, s:o, s:o}", "id", (json_int_t)ident->id, "labels",
			 json_label_list(&ident->labels), "reserved", ident->reserved,
			 "endpoints", eps, "cidr",
			 ident->is_cidr ? json_string(cidr) : json_null());
}

static const char *arg_string(json_t *args, const char *key, const char *fallback)
{
	const char *v = json_string_value(json_object_get(args, key));

	return v ? v : fallback;
}

static struct endpoint *require_endpoint(struct agent *agent, json_t *args, char *err)
{
	const char *name = arg_string(args, "name", NULL);
	const char *ns = arg_string(args, "namespace", "default");
	struct endpoint *ep;

	if (!name) {
		snprintf(err, ERR_LEN, "missing endpoint name");
		return NULL;
	}
	ep = endpoint__find(agent, name, ns);
	if (!ep)
		snprintf(err, ERR_LEN, "endpoint %s/%s not found", ns, name);
	return ep;
}

typedef int (*handler_fn)(struct agent *agent, int fd, json_t *args, json_t **result,
			  char *err);

static int do_status(struct agent *agent, int fd, json_t *args, json_t **result,
		     char *err)
{
	struct datapath_map_usage usage[8];
	uint64_t counts[WARDEN_REASON_MAX + 1][2];
	uint64_t drops = 0, forwards = 0;
	const struct identity *const *list;
	json_t *maps = json_array();
	char net[16], gw[16], cidr[40];
	size_t n;

	(void)fd;
	(void)args;
	(void)err;
	n = datapath__map_usage(agent->datapath, usage, 8);
	for (size_t i = 0; i < n; i++)
		/* LRU conntrack recycles entries by design; others must not fill. */
		json_array_append_new(
			maps, json_pack("{s:s, s:i, s:i, s:b}", "name", usage[i].name, "used",
					(json_int_t)usage[i].used, "capacity",
					(json_int_t)usage[i].capacity, "near_capacity",
					strcmp(usage[i].name, "warden_ct") &&
						usage[i].used * 10 >= usage[i].capacity * 9));
	if (!datapath__metrics_sum(agent->datapath, 0, counts)) {
		for (int r = 0; r < WARDEN_REASON_MAX; r++)
			for (int d = 0; d < 2; d++) {
				if (r == WARDEN_REASON_FORWARDED)
					forwards += counts[r][d];
				else
					drops += counts[r][d];
			}
	}
	snprintf(cidr, sizeof(cidr), "%s/%d", ipv4__format(agent->config.pod_net, net, 16),
		 agent->config.pod_prefix_len);
	*result = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:{s:[s,s], s:o}, s:i, s:i, s:i}",
		"version", WARDEN_VERSION, "state_dir", agent->config.state_dir, "socket",
		agent->config.socket_path, "pod_cidr", cidr, "host_ipv4",
		ipv4__format(agent->config.gateway, gw, sizeof(gw)), "policy_revision",
		(json_int_t)agent->policy_revision, "endpoints",
		(json_int_t)agent->endpoint_count, "identities",
		(json_int_t)identity__list(agent->identities, &list), "policies",
		(json_int_t)agent->policies.count, "datapath", "programs",
		"warden_from_container", "warden_to_container", "maps", maps, "drops",
		(json_int_t)drops, "forwards", (json_int_t)forwards, "events_lost",
		(json_int_t)(counts[WARDEN_REASON_MAX][0] + counts[WARDEN_REASON_MAX][1] +
			     agent->events_lost_clients));
	json_object_set_new(*result, "deny_response",
			    json_string(agent->config.reject_by_default ? "reject" : "drop"));
	return 0;
}

static int do_endpoint_create(struct agent *agent, int fd, json_t *args,
			      json_t **result, char *err)
{
	const char *name = arg_string(args, "name", NULL);
	const char *ns = arg_string(args, "namespace", "default");
	struct endpoint *ep;
	int ret;

	(void)fd;
	if (!name) {
		snprintf(err, ERR_LEN, "missing endpoint name");
		return -EINVAL;
	}
	ret = endpoint__create(agent, name, ns, json_object_get(args, "labels"),
			       json_object_get(args, "ports"), &ep, err, ERR_LEN);
	if (!ret)
		*result = json_endpoint(agent, ep);
	return ret;
}

static int do_endpoint_list(struct agent *agent, int fd, json_t *args, json_t **result,
			    char *err)
{
	const char *ns = arg_string(args, "namespace", NULL);

	(void)fd;
	(void)err;
	*result = json_array();
	for (size_t i = 0; i < agent->endpoint_count; i++)
		if (!ns || !strcmp(ns, agent->endpoints[i]->namespace))
			json_array_append_new(*result,
					      json_endpoint(agent, agent->endpoints[i]));
	return 0;
}

static int do_endpoint_get(struct agent *agent, int fd, json_t *args, json_t **result,
			   char *err)
{
	struct endpoint *ep = require_endpoint(agent, args, err);

	(void)fd;
	if (!ep)
		return -ENOENT;
	*result = json_endpoint(agent, ep);
	return 0;
}

static int do_endpoint_delete(struct agent *agent, int fd, json_t *args,
			      json_t **result, char *err)
{
	struct endpoint *ep = require_endpoint(agent, args, err);
	char ref[256];

	(void)fd;
	if (!ep)
		return -ENOENT;
	snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
	endpoint__delete(agent, ep);
	*result = json_pack("{s:s}", "deleted", ref);
	return 0;
}

static int do_endpoint_label(struct agent *agent, int fd, json_t *args, json_t **result,
			     char *err)
{
	struct endpoint *ep = require_endpoint(agent, args, err);
	int ret;

	(void)fd;
	if (!ep)
		return -ENOENT;
	ret = endpoint__relabel(agent, ep, json_object_get(args, "set"),
				json_object_get(args, "remove"), err, ERR_LEN);
	if (!ret)
		*result = json_endpoint(agent, ep);
	return ret;
}

/* Per-endpoint options; today only "audit" (a boolean), absent = unchanged. */
static int do_endpoint_config(struct agent *agent, int fd, json_t *args, json_t **result,
			      char *err)
{
	struct endpoint *ep = require_endpoint(agent, args, err);
	json_t *audit = json_object_get(args, "audit");
	int ret = 0;

	(void)fd;
	if (!ep)
		return -ENOENT;
	if (audit && !json_is_boolean(audit)) {
		snprintf(err, ERR_LEN, "audit must be true or false");
		return -EINVAL;
	}
	if (audit && json_is_true(audit) != ep->audit_mode)
		ret = agent__set_endpoint_audit(agent, ep, json_is_true(audit), err, ERR_LEN);
	if (!ret)
		*result = json_endpoint(agent, ep);
	return ret;
}

static int do_namespace_label(struct agent *agent, int fd, json_t *args,
			      json_t **result, char *err)
{
	const char *ns = arg_string(args, "namespace", NULL);
	int ret;

	(void)fd;
	if (!ns) {
		snprintf(err, ERR_LEN, "missing namespace");
		return -EINVAL;
	}
	ret = namespace__relabel(agent, ns, json_object_get(args, "set"),
				 json_object_get(args, "remove"), err, ERR_LEN);
	if (!ret)
		*result = json_pack("{s:s, s:o}", "namespace", ns, "labels",
				    json_label_list(namespace__labels(agent, ns)));
	return ret;
}

static int do_namespace_list(struct agent *agent, int fd, json_t *args, json_t **result,
			     char *err)
{
	(void)fd;
	(void)args;
	(void)err;
	*result = json_array();
	for (size_t i = 0; i < agent->namespace_count; i++)
		json_array_append_new(*result,
				      json_pack("{s:s, s:o}", "namespace",
						agent->namespaces[i].name, "labels",
						json_label_list(&agent->namespaces[i].labels)));
	return 0;
}

static int do_identity_list(struct agent *agent, int fd, json_t *args, json_t **result,
			    char *err)
{
	const struct identity *const *list;
	size_t n = identity__list(agent->identities, &list);

	(void)fd;
	(void)args;
	(void)err;
	*result = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*result, json_identity(agent, list[i]));
	return 0;
}

static int do_identity_get(struct agent *agent, int fd, json_t *args, json_t **result,
			   char *err)
{
	json_t *id = json_object_get(args, "id");
	const struct identity *ident;

	(void)fd;
	if (!json_is_integer(id)) {
		snprintf(err, ERR_LEN, "identity id must be a number");
		return -EINVAL;
	}
	ident = identity__lookup(agent->identities, (uint32_t)json_integer_value(id));
	if (!ident) {
		snprintf(err, ERR_LEN, "identity %lld not found", json_integer_value(id));
		return -ENOENT;
	}
	*result = json_identity(agent, ident);
	return 0;
}

static int do_policy_import(struct agent *agent, int fd, json_t *args, json_t **result,
			    char *err)
{
	struct policy_set incoming = { 0 };
	json_t *warnings = json_array();
	int ret;

	(void)fd;
	ret = policy_repo__parse_documents(json_object_get(args, "documents"), &incoming,
					   warnings, err, ERR_LEN);
	if (!ret) {
		*result = json_object();
		ret = policy_repo__import(agent, &incoming, *result, err, ERR_LEN);
		json_object_set(*result, "warnings", warnings);
	}
	if (!ret)
		pr_info("policy import: %zu policies, revision %llu\n",
			json_array_size(json_object_get(*result, "imported")),
			(unsigned long long)agent->policy_revision);
	policy_set__free(&incoming);
	json_decref(warnings);
	return ret;
}

static json_t *policy_names(const struct policy_set *set)
{
	json_t *names = json_array();
	char ref[600];

	for (size_t i = 0; i < set->count; i++) {
		const struct policy *p = &set->items[i];

		if (p->namespace)
			snprintf(ref, sizeof(ref), "%s/%s", p->namespace, p->name);
		else
			snprintf(ref, sizeof(ref), "%s", p->name);
		json_array_append_new(names, json_string(ref));
	}
	return names;
}

static int do_policy_validate(struct agent *agent, int fd, json_t *args, json_t **result,
			      char *err)
{
	struct policy_set parsed = { 0 };
	json_t *warnings = json_array();
	int ret;

	(void)agent;
	(void)fd;
	ret = policy_repo__parse_documents(json_object_get(args, "documents"), &parsed,
					   warnings, err, ERR_LEN);
	if (!ret)
		*result = json_pack("{s:b, s:o, s:O}", "valid", 1, "policies",
				    policy_names(&parsed), "warnings", warnings);
	policy_set__free(&parsed);
	json_decref(warnings);
	return ret;
}

static bool spec_selects(const struct policy *p, const struct endpoint *ep)
{
	for (size_t s = 0; s < p->spec_count; s++)
		if (selector__matches(&p->specs[s].subject, &ep->labels))
			return true;
	return false;
}

static int do_policy_get(struct agent *agent, int fd, json_t *args, json_t **result,
			 char *err)
{
	const char *name = arg_string(args, "name", NULL);
	const char *ns = arg_string(args, "namespace", NULL);

	(void)fd;
	*result = json_array();
	for (size_t i = 0; i < agent->policies.count; i++) {
		const struct policy *p = &agent->policies.items[i];
		json_t *selects = json_array();
		size_t rules = 0;
		char ref[256];

		if (name && strcmp(name, p->name))
			continue;
		if (ns && (!p->namespace || strcmp(ns, p->namespace)))
			continue;
		for (size_t s = 0; s < p->spec_count; s++)
			rules += p->specs[s].rule_count;
		for (size_t e = 0; e < agent->endpoint_count; e++) {
			const struct endpoint *ep = agent->endpoints[e];

			if (!spec_selects(p, ep))
				continue;
			snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
			json_array_append_new(selects, json_string(ref));
		}
		json_array_append_new(
			*result,
			json_pack("{s:s, s:o, s:s, s:s, s:i, s:i, s:i, s:o, s:s}", "name",
				  p->name, "namespace",
				  p->namespace ? json_string(p->namespace) : json_null(),
				  "kind", policy_kind__name(p->kind), "file",
				  p->file ? p->file : "", "document", p->document, "specs",
				  (json_int_t)p->spec_count, "rules", (json_int_t)rules,
				  "selects", selects, "source", p->source ? p->source : ""));
	}
	if (name && !json_array_size(*result)) {
		snprintf(err, ERR_LEN, "policy %s not found", name);
		return -ENOENT;
	}
	return 0;
}

static int do_policy_delete(struct agent *agent, int fd, json_t *args, json_t **result,
			    char *err)
{
	const char *name = arg_string(args, "name", NULL);
	json_t *ns_arg = json_object_get(args, "namespace");
	bool all = json_is_true(json_object_get(args, "all"));
	int ret;

	(void)fd;
	if (!all && !name) {
		snprintf(err, ERR_LEN, "name a policy or give --all");
		return -EINVAL;
	}
	*result = json_object();
	/* Absent: "default" and clusterwide; null: clusterwide only. */
	ret = policy_repo__delete(agent, name, json_string_value(ns_arg),
				  json_is_null(ns_arg), all, *result, err, ERR_LEN);
	return ret;
}

static json_t *identity_labels_json(struct agent *agent, uint32_t id)
{
	const struct identity *ident;

	if (!id)
		return json_pack("[s]", "any");
	ident = identity__lookup(agent->identities, id);
	return ident ? json_label_list(&ident->labels) : json_array();
}

/* The ports a policy key covers, from its prefix length. */
static void key_ports(const struct warden_policy_key *key, char *buf, size_t len)
{
	uint32_t port_bits = key->prefixlen > WARDEN_POLICY_PREFIX_ANY_PORT ?
				     key->prefixlen - WARDEN_POLICY_PREFIX_ANY_PORT :
				     0;
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

static int do_bpf_policy_get(struct agent *agent, int fd, json_t *args, json_t **result,
			     char *err)
{
	struct endpoint *ep = require_endpoint(agent, args, err);
	json_t *entries;
	char ref[256], ports[32], rule[600];

	(void)fd;
	if (!ep)
		return -ENOENT;
	entries = json_array();
	for (size_t i = 0; i < ep->entries.count; i++) {
		const struct policy_entry *e = &ep->entries.items[i];
		bool deny = e->value.flags & WARDEN_POLICY_DENY;

		key_ports(&e->key, ports, sizeof(ports));
		monitor__describe_cookie(agent, e->value.rule_cookie, true, rule, sizeof(rule));
		if (!e->value.rule_cookie && e->key.identity == WARDEN_IDENTITY_HOST)
			snprintf(rule, sizeof(rule), "implicit host allow");
		json_array_append_new(
			entries,
			json_pack("{s:s, s:i, s:o, s:s, s:s, s:s, s:s, s:i}", "direction",
				  e->key.direction == WARDEN_DIR_INGRESS ? "ingress" : "egress",
				  "identity", (json_int_t)e->key.identity, "labels",
				  identity_labels_json(agent, e->key.identity), "protocol",
				  e->key.prefixlen <= WARDEN_POLICY_PREFIX_ANY_PROTO ?
					  "ANY" :
					  proto_name(e->key.protocol),
				  "ports", ports, "verdict",
				  deny		       ? "deny" :
				  !(e->value.flags & WARDEN_POLICY_ALLOW) ? "none" :
				  e->value.proxy_port ? "redirect" :
							"allow",
				  "rule", rule, "proxy_port", ntohs(e->value.proxy_port)));
		if (deny)
			json_object_set_new(json_array_get(entries, json_array_size(entries) - 1),
					    "response",
					    json_string(e->value.flags & WARDEN_POLICY_REJECT ?
								"reject" :
								"drop"));
		/* With audit-mode policies: the verdict they would give. */
		if (ep->flags & WARDEN_EP_AUDIT_POLICIES) {
			json_t *last = json_array_get(entries, json_array_size(entries) - 1);

			monitor__describe_cookie(agent, e->value.audit_cookie, true, rule,
						 sizeof(rule));
			json_object_set_new(last, "audit_verdict",
					    json_string(e->value.audit_flags & WARDEN_POLICY_DENY ?
								"deny" :
							e->value.audit_flags ? "allow" :
									       "none"));
			json_object_set_new(last, "audit_rule", json_string(rule));
		}
	}
	snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
	*result = json_pack("{s:s, s:i, s:{s:b, s:b}, s:o, s:b}", "endpoint", ref,
			    "endpoint_id", (json_int_t)ep->id, "policy_enforcement", "ingress",
			    (ep->flags & WARDEN_EP_ENFORCE_INGRESS) != 0, "egress",
			    (ep->flags & WARDEN_EP_ENFORCE_EGRESS) != 0, "entries", entries, "audit",
			    ep->audit_mode);
	return 0;
}

static int do_policy_trace(struct agent *agent, int fd, json_t *args, json_t **result,
			   char *err)
{
	(void)fd;
	return trace__run(agent, args, result, err, ERR_LEN);
}

static int do_monitor(struct agent *agent, int fd, json_t *args, json_t **result,
		      char *err)
{
	int ret = monitor__subscribe(agent, fd, args);

	(void)err;
	if (!ret)
		*result = json_pack("{s:b}", "streaming", 1);
	return ret;
}

static const struct {
	const char *cmd;
	handler_fn fn;
} handlers[] = {
	{ "status", do_status },
	{ "endpoint.create", do_endpoint_create },
	{ "endpoint.list", do_endpoint_list },
	{ "endpoint.get", do_endpoint_get },
	{ "endpoint.delete", do_endpoint_delete },
	{ "endpoint.label", do_endpoint_label },
	{ "endpoint.config", do_endpoint_config },
	{ "namespace.label", do_namespace_label },
	{ "namespace.list", do_namespace_list },
	{ "identity.list", do_identity_list },
	{ "identity.get", do_identity_get },
	{ "policy.import", do_policy_import },
	{ "policy.validate", do_policy_validate },
	{ "policy.get", do_policy_get },
	{ "policy.delete", do_policy_delete },
	{ "policy.trace", do_policy_trace },
	{ "bpf.policy.get", do_bpf_policy_get },
	{ "monitor", do_monitor },
};

json_t *control__handle(struct agent *agent, int fd, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr), *result = NULL, *args;
	char *err = calloc(1, ERR_LEN);
	const char *cmd;
	json_t *reply;
	int ret = -EINVAL;

	if (!err) {
		json_decref(req);
		return json_pack("{s:b, s:s}", "ok", 0, "error", "out of memory");
	}
	if (!req) {
		snprintf(err, ERR_LEN, "request is not JSON: %s", jerr.text);
		goto reply;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	args = json_object_get(req, "args"); /* NULL reads as "no arguments" */
	if (!cmd) {
		snprintf(err, ERR_LEN, "request has no cmd");
		goto reply;
	}
	snprintf(err, ERR_LEN, "unknown command `%s`", cmd);
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (strcmp(cmd, handlers[i].cmd))
			continue;
		err[0] = '\0';
		ret = handlers[i].fn(agent, fd, args, &result, err);
		if (ret && !err[0])
			snprintf(err, ERR_LEN, "%s: %s", cmd, strerror(-ret));
		break;
	}
reply:
	if (ret) {
		json_decref(result);
		reply = json_pack("{s:b, s:s}", "ok", 0, "error", err);
	} else {
		reply = json_pack("{s:b, s:o}", "ok", 1, "result",
				  result ? result : json_null());
	}
	json_decref(req);
	free(err);
	return reply;
}
