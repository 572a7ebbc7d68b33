// SPDX-License-Identifier: Apache-2.0
/*
 * CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2):
 * the `spec` / `specs` rules and their peers, validated as strictly as
 * Cilium's CRD schema and its Rule.Sanitize(), and normalised into the
 * policy model with Cilium's namespace scoping. Port rules are in
 * lib/policy/policy_parse_ports.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parse_internal.h"
#include "warden/abi/maps.h"
#include "warden/labels.h"
#include "warden/prefix.h"

static const char *const spec_fields[] = {
    "endpointSelector", "nodeSelector", "ingress", "ingressDeny",
    "egress",		"egressDeny",	"labels",  "enableDefaultDeny",
    "description",	"log",		NULL,
};
static const char *const ingress_fields[] = {
    "fromEndpoints", "fromRequires",   "fromCIDR",  "fromCIDRSet",
    "fromEntities",  "fromGroups",     "fromNodes", "toPorts",
    "icmps",	     "authentication", "auth",	    NULL,
};
static const char *const ingress_deny_fields[] = {
    "fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities",
    "fromGroups",    "fromNodes",    "toPorts",	 "icmps",	NULL,
};
static const char *const egress_fields[] = {
    "toEndpoints", "toRequires",     "toCIDR",	"toCIDRSet", "toEntities",
    "toServices",  "toGroups",	     "toNodes", "toFQDNs",   "toPorts",
    "icmps",	   "authentication", "auth",	NULL,
};
static const char *const egress_deny_fields[] = {
    "toEndpoints", "toRequires", "toCIDR",  "toCIDRSet", "toEntities", "toServices",
    "toGroups",	   "toNodes",	 "toPorts", "icmps",	 NULL,
};
static const char *const fqdn_fields[] = {"matchName", "matchPattern", NULL};
static const char *const service_fields[] = {"k8sService", "k8sServiceSelector", NULL};
static const char *const cidr_rule_fields[] = {
    "cidr", "cidrGroupRef", "cidrGroupSelector", "except", NULL,
};
static const char *const authentication_fields[] = {"mode", NULL};
static const char *const legacy_auth_fields[] = {"type", NULL};
static const char *const log_fields[] = {"value", NULL};
static const char *const default_deny_fields[] = {"ingress", "egress", NULL};
static const char *const rule_label_fields[] = {"key", "value", "source", NULL};

/* The field names of one rule list; ingress and egress mirror each other. */
struct direction_desc {
	const char *list; /* "ingress", "egressDeny", ... */
	bool deny;
	uint8_t direction;
	const char *const *fields;
	const char *endpoints, *requires, *cidr, *cidr_set, *entities, *groups, *nodes;
	const char *services, *fqdns; /* egress only */
};

static const struct direction_desc directions[] = {
    {"ingress", false, WARDEN_DIR_INGRESS, ingress_fields, "fromEndpoints",
     "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities", "fromGroups", "fromNodes",
     NULL, NULL},
    {"ingressDeny", true, WARDEN_DIR_INGRESS, ingress_deny_fields, "fromEndpoints",
     "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities", "fromGroups", "fromNodes",
     NULL, NULL},
    {"egress", false, WARDEN_DIR_EGRESS, egress_fields, "toEndpoints", "toRequires",
     "toCIDR", "toCIDRSet", "toEntities", "toGroups", "toNodes", "toServices", "toFQDNs"},
    {"egressDeny", true, WARDEN_DIR_EGRESS, egress_deny_fields, "toEndpoints",
     "toRequires", "toCIDR", "toCIDRSet", "toEntities", "toGroups", "toNodes",
     "toServices", NULL},
};

static const struct {
	const char *name;
	uint32_t bits;
} entity_names[] = {
    {"host", POLICY_ENTITY_HOST},
    {"remote-node", POLICY_ENTITY_REMOTE_NODE},
    {"kube-apiserver", POLICY_ENTITY_KUBE_APISERVER},
    {"ingress", POLICY_ENTITY_INGRESS},
    {"cluster", POLICY_ENTITY_CLUSTER},
    {"init", POLICY_ENTITY_INIT},
    {"health", POLICY_ENTITY_HEALTH},
    {"unmanaged", POLICY_ENTITY_UNMANAGED},
    /* "world" is both families in Cilium; world-ipv4 shares WORLD's bit. */
    {"world", POLICY_ENTITY_WORLD | POLICY_ENTITY_WORLD_IPV6},
    {"world-ipv4", POLICY_ENTITY_WORLD},
    {"world-ipv6", POLICY_ENTITY_WORLD_IPV6},
    {"all", POLICY_ENTITY_ALL},
    {"none", POLICY_ENTITY_NONE},
};

/* What one spec needs while its rules are parsed. */
struct spec_scope {
	/* The subject selects reserved:init (pods still initialising). */
	bool matches_init;
};

/* --- peers --- */

/*
 * Cilium's scoping of peer selectors (getEndpointSelector() in
 * pkg/k8s/apis/cilium.io/utils), so that the compiler only matches labels:
 *  - to/fromEndpoints naming a reserved: label are left as written (the
 *    host or health endpoint has no namespace);
 *  - a selector naming io.kubernetes.pod.namespace is left as written;
 *  - a namespaced policy pins the peer to its own namespace, unless the
 *    selector names namespace labels (io.cilium.k8s.namespace.labels.*),
 *    which already choose namespaces;
 *  - a clusterwide policy requires the peer to be a pod (to have a
 *    namespace at all), so `fromEndpoints: [{}]` never means world or
 *    host; except when the subject selects init endpoints, which have no
 *    labels yet.
 */
static int scope_peer(struct parse_ctx *ctx, struct selector *sel, bool is_endpoints,
		      const struct spec_scope *scope)
{
	if (is_endpoints && parse_selector__uses_source(sel, LABEL_SOURCE_RESERVED))
		return 0;
	if (parse_selector__names(sel, LABEL_POD_NAMESPACE))
		return 0;
	if (ctx->namespace) {
		if (parse_selector__names_prefix(sel, LABEL_NAMESPACE_LABELS_PREFIX))
			return 0;
		return parse_selector__pin_namespace(ctx, sel, ctx->namespace);
	}
	if (scope->matches_init)
		return 0;
	return parse_selector__any_namespace(ctx, sel);
}

/* The peer selectors of one rule list (to/fromEndpoints, to/fromRequires). */
struct peer_selectors {
	struct selector *selectors;
	bool is_endpoints;
	const struct spec_scope *scope;
};

static int parse_peer_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *arg)
{
	const struct peer_selectors *p = arg;
	int ret;

	if (parse_node__is_null(item))
		return parse_ctx__error(ctx, item, "expected a selector, got null");
	ret = parse_selector(ctx, item, PARSE_SELECTOR_CILIUM, &p->selectors[index]);
	if (!ret)
		ret = scope_peer(ctx, &p->selectors[index], p->is_endpoints, p->scope);
	return ret;
}

static int parse_peer_selectors(struct parse_ctx *ctx, const yaml_node_t *list,
				size_t count, const char *name, bool is_endpoints,
				const struct spec_scope *scope, struct selector **out,
				size_t *out_count)
{
	int ret;

	*out = parse_ctx__calloc(ctx, count, sizeof(**out), &ret);
	if (ret)
		return ret;
	*out_count = count;
	return parse_seq__each(ctx, name, list, count, parse_peer_item,
			       &(struct peer_selectors){*out, is_endpoints, scope});
}

static int parse_cidr_rule(struct parse_ctx *ctx, const yaml_node_t *node,
			   struct policy_cidr *out)
{
	const yaml_node_t *cidr, *ref, *group_sel;
	struct selector ignored = {0};
	size_t saved;
	int ret;

	ret = parse_map__check(ctx, node, cidr_rule_fields, false);
	if (ret)
		return ret;
	cidr = parse_map__field(ctx, node, "cidr");
	ref = parse_map__field(ctx, node, "cidrGroupRef");
	group_sel = parse_map__field(ctx, node, "cidrGroupSelector");
	if (!!cidr + !!ref + !!group_sel != 1)
		return parse_ctx__error(ctx, node,
					"exactly one of `cidr`, `cidrGroupRef` or "
					"`cidrGroupSelector` is required");
	if (ref) {
		saved = parse_ctx__push_key(ctx, "cidrGroupRef");
		parse_ctx__unsupported(ctx, ref, "cidrGroupRef is not supported yet");
		parse_ctx__restore(ctx, saved);
		return 0;
	}
	if (group_sel) {
		saved = parse_ctx__push_key(ctx, "cidrGroupSelector");
		ret = parse_selector(ctx, group_sel, PARSE_SELECTOR_CILIUM, &ignored);
		selector__free(&ignored);
		if (ret)
			return ret;
		parse_ctx__unsupported(ctx, group_sel,
				       "cidrGroupSelector is not supported yet");
		parse_ctx__restore(ctx, saved);
		return 0;
	}
	return parse_cidr_except(ctx, node, false, out);
}

static int parse_cidr_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *cidrs)
{
	return parse_prefix(ctx, item, false,
			    &((struct policy_cidr *)cidrs)[index].prefix);
}

static int parse_cidr_set_item(struct parse_ctx *ctx, const yaml_node_t *item,
			       size_t index, void *cidrs)
{
	return parse_cidr_rule(ctx, item, &((struct policy_cidr *)cidrs)[index]);
}

/* toCIDR (plain prefixes) then toCIDRSet (with except) into rule->cidrs. */
static int parse_cidrs(struct parse_ctx *ctx, const struct direction_desc *d,
		       const yaml_node_t *cidr, size_t cidr_count,
		       const yaml_node_t *cidr_set, size_t set_count,
		       struct policy_rule *rule)
{
	int ret;

	rule->cidrs =
	    parse_ctx__calloc(ctx, cidr_count + set_count, sizeof(*rule->cidrs), &ret);
	if (ret)
		return ret;
	rule->cidr_count = cidr_count + set_count;
	ret =
	    parse_seq__each(ctx, d->cidr, cidr, cidr_count, parse_cidr_item, rule->cidrs);
	if (!ret)
		ret = parse_seq__each(ctx, d->cidr_set, cidr_set, set_count,
				      parse_cidr_set_item, rule->cidrs + cidr_count);
	return ret;
}

/* One entity name, ORed into *(uint32_t *)entities. */
static int parse_entity_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			     void *entities)
{
	const char *s;
	size_t j;
	int ret;

	(void)index;
	ret = parse_node__string(ctx, item, &s);
	if (ret)
		return ret;
	for (j = 0; j < sizeof(entity_names) / sizeof(entity_names[0]); j++)
		if (!strcmp(entity_names[j].name, s))
			break;
	if (j == sizeof(entity_names) / sizeof(entity_names[0]))
		return parse_ctx__error(ctx, item,
					"unknown entity `%s` (expected host, "
					"remote-node, kube-apiserver, ingress, cluster, "
					"init, health, unmanaged, world, world-ipv4, "
					"world-ipv6, all or none)",
					s);
	*(uint32_t *)entities |= entity_names[j].bits;
	return 0;
}

/*
 * Mutual authentication: only the forms that change nothing are accepted,
 * `authentication: {mode: disabled}` and the older `auth: {type: "null"}`.
 */
static int parse_authentication(struct parse_ctx *ctx, const yaml_node_t *rule)
{
	const yaml_node_t *node, *value;
	const char *s = "";
	size_t saved;
	int ret;

	node = parse_map__field(ctx, rule, "authentication");
	if (node) {
		saved = parse_ctx__push_key(ctx, "authentication");
		ret = parse_map__check(ctx, node, authentication_fields, false);
		if (ret)
			return ret;
		value = parse_map__field(ctx, node, "mode");
		parse_ctx__push_key(ctx, "mode");
		if (!value)
			return parse_ctx__error(ctx, node, "`mode` is required");
		ret = parse_node__string(ctx, value, &s);
		if (ret)
			return ret;
		if (strcmp(s, "disabled") && strcmp(s, "required") &&
		    strcmp(s, "test-always-fail"))
			return parse_ctx__error(
			    ctx, value,
			    "invalid authentication mode `%s` (expected "
			    "disabled, required or test-always-fail)",
			    s);
		if (strcmp(s, "disabled"))
			parse_ctx__unsupported(
			    ctx, value, "authentication mode `%s` is not supported yet",
			    s);
		parse_ctx__restore(ctx, saved);
	}

	node = parse_map__field(ctx, rule, "auth");
	if (node) {
		saved = parse_ctx__push_key(ctx, "auth");
		ret = parse_map__check(ctx, node, legacy_auth_fields, false);
		if (ret)
			return ret;
		value = parse_map__field(ctx, node, "type");
		parse_ctx__push_key(ctx, "type");
		if (!value)
			return parse_ctx__error(ctx, node, "`type` is required");
		ret = parse_node__string(ctx, value, &s);
		if (ret)
			return ret;
		/* "null" is the no-op authentication type used in tests. */
		if (strcmp(s, "null"))
			parse_ctx__unsupported(ctx, value,
					       "auth type `%s` is not supported yet", s);
		parse_ctx__restore(ctx, saved);
	}
	return 0;
}

/* Report the field `name` (value node) as a feature Warden lacks yet. */
static void unsupported_field(struct parse_ctx *ctx, const yaml_node_t *node,
			      const char *name)
{
	size_t saved = parse_ctx__push_key(ctx, name);

	parse_ctx__unsupported(ctx, node, "%s is not supported yet", name);
	parse_ctx__restore(ctx, saved);
}

/* A selector that is validated and thrown away (fromNodes / toNodes). */
static int check_selector_item(struct parse_ctx *ctx, const yaml_node_t *item,
			       size_t index, void *arg)
{
	struct selector ignored = {0};
	int ret;

	(void)index;
	(void)arg;
	ret = parse_selector(ctx, item, PARSE_SELECTOR_CILIUM, &ignored);
	selector__free(&ignored);
	return ret;
}

static int check_service_item(struct parse_ctx *ctx, const yaml_node_t *item,
			      size_t index, void *arg)
{
	(void)index;
	(void)arg;
	if (parse_node__is_null(item))
		return 0;
	return parse_map__check(ctx, item, service_fields, false);
}

/* fromGroups/toGroups, fromNodes/toNodes, toServices, toFQDNs. */
static int parse_unsupported_peers(struct parse_ctx *ctx, const struct direction_desc *d,
				   const yaml_node_t *rule)
{
	const yaml_node_t *node;
	size_t count, saved;
	int ret;

	ret = parse_map__list(ctx, rule, d->groups, &node, &count);
	if (ret)
		return ret;
	if (node)
		unsupported_field(ctx, node, d->groups);

	ret = parse_map__list(ctx, rule, d->nodes, &node, &count);
	if (!ret)
		ret = parse_seq__each(ctx, d->nodes, node, count, check_selector_item,
				      NULL);
	if (ret)
		return ret;
	if (node)
		unsupported_field(ctx, node, d->nodes);

	/*
	 * toServices must never widen to "all" (`toServices: [{}]` selects no
	 * service); as long as it is unsupported, the whole file is refused.
	 */
	ret = parse_map__list(ctx, rule, d->services, &node, &count);
	if (ret)
		return ret;
	if (node) {
		ret = parse_seq__each(ctx, d->services, node, count, check_service_item,
				      NULL);
		if (ret)
			return ret;
		unsupported_field(ctx, node, d->services);
	}

	ret = parse_map__list(ctx, rule, d->fqdns, &node, &count);
	if (ret)
		return ret;
	if (node) {
		saved = parse_ctx__push_key(ctx, d->fqdns);
		ret = parse_seq__check_string_maps(ctx, node, fqdn_fields);
		if (ret)
			return ret;
		parse_ctx__restore(ctx, saved);
		unsupported_field(ctx, node, d->fqdns);
	}
	return 0;
}

/*
 * Cilium refuses one rule that mixes two kinds of L3 peers (fromEndpoints
 * with fromCIDR, toCIDR with toCIDRSet, ...): "Combining X and Y is not
 * supported yet". Empty lists do not count, as in Cilium.
 */
static int check_l3_combination(struct parse_ctx *ctx, const struct direction_desc *d,
				const yaml_node_t *rule)
{
	const char *members[] = {d->endpoints, d->cidr,	 d->cidr_set, d->entities,
				 d->services,  d->fqdns, d->groups,   d->nodes};
	const char *first = NULL;
	size_t i, count;

	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		const yaml_node_t *node;

		if (!members[i])
			continue;
		node = parse_map__field(ctx, rule, members[i]);
		if (parse_seq__check(ctx, node, &count))
			return -EINVAL;
		if (!count)
			continue;
		if (first)
			return parse_ctx__error(ctx, rule,
						"combining %s and %s in one rule is not "
						"supported",
						first, members[i]);
		first = members[i];
	}
	return 0;
}

/* Where the toPorts entries of a rule go. */
struct port_rules {
	const struct direction_desc *direction;
	struct policy_port_rule *port_rules;
};

static int parse_port_rule_item(struct parse_ctx *ctx, const yaml_node_t *item,
				size_t index, void *arg)
{
	const struct port_rules *p = arg;

	return parse_cilium_port_rule(ctx, item,
				      p->direction->direction == WARDEN_DIR_INGRESS,
				      p->direction->deny, &p->port_rules[index]);
}

static int parse_icmp_rule_item(struct parse_ctx *ctx, const yaml_node_t *item,
				size_t index, void *port_rules)
{
	return parse_cilium_icmp_rule(ctx, item,
				      &((struct policy_port_rule *)port_rules)[index]);
}

/* toPorts then icmps, both as port rules of the rule. */
static int parse_rule_ports(struct parse_ctx *ctx, const struct direction_desc *d,
			    const yaml_node_t *node, struct policy_rule *rule)
{
	const yaml_node_t *ports, *icmps, *services;
	size_t port_count, icmp_count, service_count;
	int ret;

	ret = parse_map__list(ctx, node, "toPorts", &ports, &port_count);
	if (!ret)
		ret = parse_map__list(ctx, node, "icmps", &icmps, &icmp_count);
	if (!ret)
		ret = parse_map__list(ctx, node, d->services, &services, &service_count);
	if (ret)
		return ret;
	if (port_count && icmp_count)
		return parse_ctx__error(
		    ctx, node,
		    "icmps may only be given without toPorts; define a "
		    "separate rule for toPorts");
	if (port_count && service_count)
		return parse_ctx__error(
		    ctx, node, "combining toServices and toPorts is not supported");
	rule->port_rules = parse_ctx__calloc(ctx, port_count + icmp_count,
					     sizeof(*rule->port_rules), &ret);
	if (ret)
		return ret;
	rule->port_rule_count = port_count + icmp_count;
	ret = parse_seq__each(ctx, "toPorts", ports, port_count, parse_port_rule_item,
			      &(struct port_rules){d, rule->port_rules});
	if (!ret)
		ret =
		    parse_seq__each(ctx, "icmps", icmps, icmp_count, parse_icmp_rule_item,
				    rule->port_rules + port_count);
	return ret;
}

/* Any L3 peer field present, even as an empty list (which selects none). */
static bool rule_has_peers(struct parse_ctx *ctx, const struct direction_desc *d,
			   const yaml_node_t *node)
{
	const char *peers[] = {d->endpoints, d->requires, d->cidr,
			       d->cidr_set,  d->entities, d->groups,
			       d->nodes,     d->services, d->fqdns};
	size_t i;

	for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		if (peers[i] && parse_map__field(ctx, node, peers[i]))
			return true;
	return false;
}

/*
 * One element of ingress/egress/ingressDeny/egressDeny. The rule is built
 * aside and appended to spec->rules (sized by the caller) only if it says
 * something: an element without L3 peers and without ports, such as the
 * `{}` of `ingress: [{}]`, allows nothing; it only puts the subject into
 * default deny, which the caller accounts for.
 */
static int parse_rule(struct parse_ctx *ctx, const struct direction_desc *d,
		      const yaml_node_t *node, size_t index,
		      const struct spec_scope *scope, struct policy_spec *spec)
{
	const yaml_node_t *endpoints, *requires, *cidr, *cidr_set, *entities;
	size_t endpoint_count, require_count, cidr_count, set_count, entity_count;
	struct policy_rule rule = {0};
	int ret;

	/* Go decodes a null list element as an empty rule. */
	if (parse_node__is_null(node))
		return 0;
	ret = parse_map__check(ctx, node, d->fields, false);
	if (ret)
		return ret;
	rule.deny = d->deny;
	rule.direction = d->direction;
	rule.line = parse_node__line(node);
	rule.index = (uint32_t)index;
	rule.has_peers = rule_has_peers(ctx, d, node);

	ret = parse_map__list(ctx, node, d->endpoints, &endpoints, &endpoint_count);
	if (!ret)
		ret = parse_map__list(ctx, node, d->requires, &requires, &require_count);
	if (!ret)
		ret = parse_map__list(ctx, node, d->cidr, &cidr, &cidr_count);
	if (!ret)
		ret = parse_map__list(ctx, node, d->cidr_set, &cidr_set, &set_count);
	if (!ret)
		ret = parse_map__list(ctx, node, d->entities, &entities, &entity_count);
	if (!ret)
		ret = parse_peer_selectors(ctx, endpoints, endpoint_count, d->endpoints,
					   true, scope, &rule.endpoints,
					   &rule.endpoint_count);
	if (!ret)
		ret =
		    parse_peer_selectors(ctx, requires, require_count, d->requires, false,
					 scope, &rule.requires, &rule.require_count);
	if (!ret)
		ret = parse_cidrs(ctx, d, cidr, cidr_count, cidr_set, set_count, &rule);
	if (!ret)
		ret = parse_seq__each(ctx, d->entities, entities, entity_count,
				      parse_entity_item, &rule.entities);
	if (!ret)
		ret = parse_unsupported_peers(ctx, d, node);
	if (!ret)
		ret = check_l3_combination(ctx, d, node);
	if (!ret)
		ret = parse_rule_ports(ctx, d, node, &rule);
	if (!ret && !d->deny)
		ret = parse_authentication(ctx, node);
	if (ret)
		goto fail;

	if (!rule.has_peers && !rule.port_rule_count) {
		policy_rule__release(&rule);
		return 0;
	}
	spec->rules[spec->rule_count++] = rule;
	return 0;
fail:
	policy_rule__release(&rule);
	return ret;
}

/* One of the four rule lists of a spec, as its elements are parsed. */
struct rule_list {
	const struct direction_desc *direction;
	const struct spec_scope *scope;
	struct policy_spec *spec;
};

static int parse_rule_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *arg)
{
	const struct rule_list *l = arg;

	return parse_rule(ctx, l->direction, item, index, l->scope, l->spec);
}

static int parse_default_deny(struct parse_ctx *ctx, const yaml_node_t *spec,
			      enum policy_default_deny *ingress,
			      enum policy_default_deny *egress)
{
	const yaml_node_t *node = parse_map__field(ctx, spec, "enableDefaultDeny");
	const char *names[] = {"ingress", "egress"};
	enum policy_default_deny *out[] = {ingress, egress};
	size_t saved, i;
	int ret;

	*ingress = *egress = POLICY_DEFAULT_DENY_UNSET;
	if (!node)
		return 0;
	saved = parse_ctx__push_key(ctx, "enableDefaultDeny");
	ret = parse_map__check(ctx, node, default_deny_fields, false);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		const yaml_node_t *value = parse_map__field(ctx, node, names[i]);
		size_t saved_field = parse_ctx__push_key(ctx, names[i]);
		bool on;

		if (value) {
			ret = parse_node__bool(ctx, value, &on);
			if (ret)
				return ret;
			*out[i] = on ? POLICY_DEFAULT_DENY_ON : POLICY_DEFAULT_DENY_OFF;
		}
		parse_ctx__restore(ctx, saved_field);
	}
	parse_ctx__restore(ctx, saved);
	return 0;
}

/* Rule labels [{key, value, source}]: checked, not used by Warden. */
static int check_rule_labels(struct parse_ctx *ctx, const yaml_node_t *spec)
{
	const yaml_node_t *node = parse_map__field(ctx, spec, "labels");
	size_t saved;
	int ret;

	if (!node)
		return 0;
	saved = parse_ctx__push_key(ctx, "labels");
	ret = parse_seq__check_string_maps(ctx, node, rule_label_fields);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return 0;
}

static int parse_log(struct parse_ctx *ctx, const yaml_node_t *spec)
{
	const yaml_node_t *node = parse_map__field(ctx, spec, "log");
	size_t saved;
	int ret;

	if (!node)
		return 0;
	saved = parse_ctx__push_key(ctx, "log");
	ret = parse_map__check_strings(ctx, node, log_fields);
	if (ret)
		return ret;
	parse_ctx__unsupported(ctx, node, "log is not supported yet");
	parse_ctx__restore(ctx, saved);
	return 0;
}

/*
 * The subject: endpointSelector, scoped to the policy's namespace (always,
 * as Cilium does). nodeSelector selects nodes (host policies), which Warden
 * does not enforce; it is validated and reported as unsupported.
 */
static int parse_subject(struct parse_ctx *ctx, const yaml_node_t *spec_node,
			 struct policy_spec *spec, struct spec_scope *scope)
{
	const yaml_node_t *endpoints =
	    parse_map__field(ctx, spec_node, "endpointSelector");
	const yaml_node_t *nodes = parse_map__field(ctx, spec_node, "nodeSelector");
	struct selector ignored = {0};
	size_t saved;
	int ret;

	if (endpoints && nodes)
		return parse_ctx__error(ctx, spec_node,
					"a rule cannot have both endpointSelector and "
					"nodeSelector");
	if (!endpoints && !nodes)
		return parse_ctx__error(
		    ctx, spec_node, "a rule needs endpointSelector (or nodeSelector)");
	if (nodes) {
		saved = parse_ctx__push_key(ctx, "nodeSelector");
		ret = parse_selector(ctx, nodes, PARSE_SELECTOR_CILIUM, &ignored);
		selector__free(&ignored);
		if (ret)
			return ret;
		parse_ctx__unsupported(
		    ctx, nodes, "nodeSelector (host policies) is not supported yet");
		parse_ctx__restore(ctx, saved);
		return 0;
	}

	saved = parse_ctx__push_key(ctx, "endpointSelector");
	ret = parse_selector(ctx, endpoints, PARSE_SELECTOR_CILIUM, &spec->subject);
	if (ret)
		return ret;
	scope->matches_init = false;
	for (size_t i = 0; i < spec->subject.count; i++)
		if (!strcmp(spec->subject.requirements[i].source,
			    LABEL_SOURCE_RESERVED) &&
		    !strcmp(spec->subject.requirements[i].key, "init"))
			scope->matches_init = true;
	if (ctx->namespace) {
		if (parse_selector__names(&spec->subject, LABEL_POD_NAMESPACE))
			parse_ctx__warn(
			    ctx, endpoints,
			    "endpointSelector names %s, but a namespaced "
			    "policy only ever applies in its own namespace `%s`",
			    LABEL_POD_NAMESPACE, ctx->namespace);
		ret = parse_selector__pin_namespace(ctx, &spec->subject, ctx->namespace);
		if (ret)
			return ret;
	}
	parse_ctx__restore(ctx, saved);
	return 0;
}

static int parse_spec(struct parse_ctx *ctx, const yaml_node_t *node,
		      struct policy_spec *spec)
{
	enum policy_default_deny deny_ingress, deny_egress;
	size_t counts[4], total = 0, d, saved;
	const yaml_node_t *lists[4];
	struct spec_scope scope = {0};
	int ret;

	ret = parse_map__check(ctx, node, spec_fields, false);
	if (ret)
		return ret;
	spec->line = parse_node__line(node);

	ret = parse_subject(ctx, node, spec, &scope);
	if (ret)
		return ret;

	saved = parse_ctx__push_key(ctx, "description");
	ret = parse_node__strdup(ctx, parse_map__field(ctx, node, "description"),
				 &spec->description);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);

	ret = check_rule_labels(ctx, node);
	if (!ret)
		ret = parse_log(ctx, node);
	if (!ret)
		ret = parse_default_deny(ctx, node, &deny_ingress, &deny_egress);
	for (d = 0; !ret && d < 4; d++) {
		ret =
		    parse_map__list(ctx, node, directions[d].list, &lists[d], &counts[d]);
		total += counts[d];
	}
	if (ret)
		return ret;

	spec->rules = parse_ctx__calloc(ctx, total, sizeof(*spec->rules), &ret);
	for (d = 0; !ret && d < 4; d++)
		ret = parse_seq__each(ctx, directions[d].list, lists[d], counts[d],
				      parse_rule_item,
				      &(struct rule_list){&directions[d], &scope, spec});
	if (ret)
		return ret;

	/*
	 * Cilium (Rule.Sanitize()): a direction is in default deny when the
	 * rule has at least one element for it, allow or deny, even `[{}]`;
	 * an empty list does not count. enableDefaultDeny overrides.
	 */
	spec->default_deny_ingress = deny_ingress != POLICY_DEFAULT_DENY_UNSET
					 ? deny_ingress == POLICY_DEFAULT_DENY_ON
					 : counts[0] + counts[1] > 0;
	spec->default_deny_egress = deny_egress != POLICY_DEFAULT_DENY_UNSET
					? deny_egress == POLICY_DEFAULT_DENY_ON
					: counts[2] + counts[3] > 0;
	return 0;
}

static int parse_spec_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *specs)
{
	return parse_spec(ctx, item, &((struct policy_spec *)specs)[index]);
}

int parse_cilium_policy(struct parse_ctx *ctx, const yaml_node_t *root, struct policy *p)
{
	const yaml_node_t *spec = parse_map__field(ctx, root, "spec");
	const yaml_node_t *specs;
	size_t count, saved, first;
	int ret;

	ret = parse_map__list(ctx, root, "specs", &specs, &count);
	if (ret)
		return ret;
	if (!spec && !specs) {
		parse_ctx__push_key(ctx, "spec");
		return parse_ctx__error(ctx, root,
					"the policy has neither `spec` nor `specs`");
	}
	first = spec ? 1 : 0;
	p->specs = parse_ctx__calloc(ctx, first + count, sizeof(*p->specs), &ret);
	if (ret)
		return ret;
	p->spec_count = first + count;
	if (spec) {
		saved = parse_ctx__push_key(ctx, "spec");
		ret = parse_spec(ctx, spec, &p->specs[0]);
		if (ret)
			return ret;
		parse_ctx__restore(ctx, saved);
	}
	return parse_seq__each(ctx, "specs", specs, count, parse_spec_item,
			       p->specs + first);
}
