// SPDX-License-Identifier: Apache-2.0
/*
 * Kubernetes NetworkPolicy (networking.k8s.io/v1): the spec, validated as
 * the API server does, normalised into the policy model the way Cilium
 * translates it (pkg/k8s/network_policy.go): pod selectors get the k8s
 * label source and the policy's namespace, namespace selectors become
 * requirements on Cilium's namespace labels.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parse_internal.h"
#include "warden/abi/maps.h"
#include "warden/prefix.h"

static const char *const spec_fields[] = {
    "podSelector", "ingress", "egress", "policyTypes", NULL,
};
static const char *const ingress_fields[] = {"from", "ports", NULL};
static const char *const egress_fields[] = {"to", "ports", NULL};
static const char *const peer_fields[] = {
    "podSelector",
    "namespaceSelector",
    "ipBlock",
    NULL,
};
static const char *const ip_block_fields[] = {"cidr", "except", NULL};

/* ipBlock {cidr, except}: every except a strict subset of cidr. */
static int parse_ip_block(struct parse_ctx *ctx, const yaml_node_t *node,
			  struct policy_cidr *out)
{
	const yaml_node_t *cidr, *except;
	size_t count, i, saved;
	int ret;

	ret = parse_map__check(ctx, node, ip_block_fields, false);
	if (ret)
		return ret;
	cidr = parse_map__field(ctx, node, "cidr");
	saved = parse_ctx__push_key(ctx, "cidr");
	if (!cidr)
		return parse_ctx__error(ctx, node, "`cidr` is required");
	ret = parse_prefix(ctx, cidr, true, &out->prefix);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);

	except = parse_map__field(ctx, node, "except");
	saved = parse_ctx__push_key(ctx, "except");
	ret = parse_seq__check(ctx, except, &count);
	if (ret)
		return ret;
	if (count) {
		out->except = calloc(count, sizeof(*out->except));
		if (!out->except)
			return parse_ctx__nomem(ctx);
		out->except_count = count;
	}
	for (i = 0; i < count; i++) {
		struct policy_prefix *ex = &out->except[i];
		yaml_node_t *item;
		size_t saved_item = parse_ctx__push_index(ctx, i);

		ret = parse_seq__item(ctx, except, i, &item);
		if (!ret)
			ret = parse_prefix(ctx, item, true, ex);
		if (ret)
			return ret;
		if (!policy_prefix__contains(&out->prefix, ex) ||
		    ex->len <= out->prefix.len)
			return parse_ctx__error(
			    ctx, item, "except `%s` must be a strict subset of cidr `%s`",
			    (const char *)item->data.scalar.value,
			    (const char *)cidr->data.scalar.value);
		parse_ctx__restore(ctx, saved_item);
	}
	parse_ctx__restore(ctx, saved);
	return 0;
}

/*
 * A pod/namespace selector peer into one selector (both given = AND):
 *  - podSelector alone: pods of the policy's own namespace;
 *  - namespaceSelector: pods (anything with a namespace) in the namespaces
 *    whose labels match; `{}` = every namespace.
 */
static int parse_selector_peer(struct parse_ctx *ctx, const yaml_node_t *pods,
			       const yaml_node_t *namespaces, struct selector *out)
{
	size_t saved;
	int ret;

	if (pods) {
		saved = parse_ctx__push_key(ctx, "podSelector");
		ret = parse_selector(ctx, pods, PARSE_SELECTOR_K8S_POD, out);
		if (ret)
			return ret;
		parse_ctx__restore(ctx, saved);
	}
	if (!namespaces)
		return parse_selector__pin_namespace(ctx, out, ctx->namespace);
	saved = parse_ctx__push_key(ctx, "namespaceSelector");
	ret = parse_selector(ctx, namespaces, PARSE_SELECTOR_K8S_NAMESPACE, out);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return parse_selector__any_namespace(ctx, out);
}

/* from / to: the peers of one rule. */
static int parse_peers(struct parse_ctx *ctx, const yaml_node_t *list, size_t count,
		       struct policy_rule *rule)
{
	size_t selectors = 0, blocks = 0, i;
	int ret;

	/* First pass: shape of each peer, to size the two arrays. */
	for (i = 0; i < count; i++) {
		const yaml_node_t *pods, *namespaces, *block;
		yaml_node_t *item;
		size_t saved = parse_ctx__push_index(ctx, i);

		ret = parse_seq__item(ctx, list, i, &item);
		if (!ret)
			ret = parse_map__check(ctx, item, peer_fields, false);
		if (ret)
			return ret;
		pods = parse_map__field(ctx, item, "podSelector");
		namespaces = parse_map__field(ctx, item, "namespaceSelector");
		block = parse_map__field(ctx, item, "ipBlock");
		if (block && (pods || namespaces))
			return parse_ctx__error(
			    ctx, item,
			    "ipBlock cannot be combined with podSelector or "
			    "namespaceSelector in one peer");
		if (!block && !pods && !namespaces)
			return parse_ctx__error(
			    ctx, item,
			    "a peer needs podSelector, namespaceSelector or "
			    "ipBlock");
		if (block)
			blocks++;
		else
			selectors++;
		parse_ctx__restore(ctx, saved);
	}
	if (selectors) {
		rule->endpoints = calloc(selectors, sizeof(*rule->endpoints));
		if (!rule->endpoints)
			return parse_ctx__nomem(ctx);
		rule->endpoint_count = selectors;
	}
	if (blocks) {
		rule->cidrs = calloc(blocks, sizeof(*rule->cidrs));
		if (!rule->cidrs)
			return parse_ctx__nomem(ctx);
		rule->cidr_count = blocks;
	}

	selectors = blocks = 0;
	for (i = 0; i < count; i++) {
		const yaml_node_t *block;
		yaml_node_t *item;
		size_t saved = parse_ctx__push_index(ctx, i), saved_field;

		ret = parse_seq__item(ctx, list, i, &item);
		if (ret)
			return ret;
		block = parse_map__field(ctx, item, "ipBlock");
		if (block) {
			saved_field = parse_ctx__push_key(ctx, "ipBlock");
			ret = parse_ip_block(ctx, block, &rule->cidrs[blocks++]);
			if (ret)
				return ret;
			parse_ctx__restore(ctx, saved_field);
		} else {
			ret = parse_selector_peer(
			    ctx, parse_map__field(ctx, item, "podSelector"),
			    parse_map__field(ctx, item, "namespaceSelector"),
			    &rule->endpoints[selectors++]);
			if (ret)
				return ret;
		}
		parse_ctx__restore(ctx, saved);
	}
	return 0;
}

/* ports: one port rule holding every entry; none = every port. */
static int parse_ports(struct parse_ctx *ctx, const yaml_node_t *list, size_t count,
		       struct policy_rule *rule)
{
	struct policy_port_rule *pr;
	size_t i;
	int ret;

	if (!count)
		return 0;
	rule->port_rules = calloc(1, sizeof(*rule->port_rules));
	if (!rule->port_rules)
		return parse_ctx__nomem(ctx);
	rule->port_rule_count = 1;
	pr = &rule->port_rules[0];
	pr->ports = calloc(count, sizeof(*pr->ports));
	if (!pr->ports)
		return parse_ctx__nomem(ctx);
	pr->port_count = count;
	for (i = 0; i < count; i++) {
		yaml_node_t *item;
		size_t saved = parse_ctx__push_index(ctx, i);

		ret = parse_seq__item(ctx, list, i, &item);
		if (!ret)
			ret = parse_port(ctx, item, PARSE_PORT_K8S, &pr->ports[i]);
		if (ret)
			return ret;
		parse_ctx__restore(ctx, saved);
	}
	return 0;
}

/*
 * One ingress/egress element. Unlike Cilium, every element allows
 * something: no peers = from/to anywhere (world included), no ports =
 * every port, so `- {}` allows everything.
 */
static int parse_rule(struct parse_ctx *ctx, const yaml_node_t *node, bool egress,
		      size_t index, struct policy_rule *rule)
{
	const char *peers_name = egress ? "to" : "from";
	const yaml_node_t *peers = NULL, *ports = NULL;
	size_t peer_count = 0, port_count = 0, saved;
	int ret;

	rule->direction = egress ? WARDEN_DIR_EGRESS : WARDEN_DIR_INGRESS;
	rule->line = parse_node__line(node);
	rule->index = (uint32_t)index;
	if (parse_node__is_null(node))
		return 0;
	ret = parse_map__check(ctx, node, egress ? egress_fields : ingress_fields, false);
	if (ret)
		return ret;

	peers = parse_map__field(ctx, node, peers_name);
	saved = parse_ctx__push_key(ctx, peers_name);
	ret = parse_seq__check(ctx, peers, &peer_count);
	if (!ret)
		ret = parse_peers(ctx, peers, peer_count, rule);
	if (ret)
		return ret;
	rule->has_peers = peer_count > 0;
	parse_ctx__restore(ctx, saved);

	ports = parse_map__field(ctx, node, "ports");
	saved = parse_ctx__push_key(ctx, "ports");
	ret = parse_seq__check(ctx, ports, &port_count);
	if (!ret)
		ret = parse_ports(ctx, ports, port_count, rule);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return 0;
}

static int parse_policy_types(struct parse_ctx *ctx, const yaml_node_t *spec,
			      bool *ingress, bool *egress)
{
	const yaml_node_t *list = parse_map__field(ctx, spec, "policyTypes");
	const yaml_node_t *egress_rules = parse_map__field(ctx, spec, "egress");
	size_t count, egress_count, i, saved;
	int ret;

	saved = parse_ctx__push_key(ctx, "policyTypes");
	ret = parse_seq__check(ctx, list, &count);
	if (ret)
		return ret;
	if (!count) {
		/*
		 * Kubernetes' defaulting: Ingress always, Egress when there
		 * is at least one egress rule.
		 */
		ret = parse_seq__check(ctx, egress_rules, &egress_count);
		if (ret)
			return ret;
		*ingress = true;
		*egress = egress_count > 0;
		parse_ctx__restore(ctx, saved);
		return 0;
	}
	*ingress = *egress = false;
	for (i = 0; i < count; i++) {
		yaml_node_t *item;
		const char *s;
		size_t saved_item = parse_ctx__push_index(ctx, i);

		ret = parse_seq__item(ctx, list, i, &item);
		if (!ret)
			ret = parse_node__string(ctx, item, &s);
		if (ret)
			return ret;
		if (!strcmp(s, "Ingress"))
			*ingress = true;
		else if (!strcmp(s, "Egress"))
			*egress = true;
		else
			return parse_ctx__error(
			    ctx, item,
			    "invalid policy type `%s` (expected Ingress or "
			    "Egress)",
			    s);
		parse_ctx__restore(ctx, saved_item);
	}
	parse_ctx__restore(ctx, saved);
	return 0;
}

static int parse_spec(struct parse_ctx *ctx, const yaml_node_t *node,
		      struct policy_spec *spec)
{
	const char *names[2] = {"ingress", "egress"};
	const yaml_node_t *lists[2];
	bool enabled[2];
	size_t counts[2], total, d, i, saved;
	int ret;

	ret = parse_map__check(ctx, node, spec_fields, false);
	if (ret)
		return ret;
	spec->line = parse_node__line(node);

	saved = parse_ctx__push_key(ctx, "podSelector");
	ret = parse_selector(ctx, parse_map__field(ctx, node, "podSelector"),
			     PARSE_SELECTOR_K8S_POD, &spec->subject);
	if (!ret)
		ret = parse_selector__pin_namespace(ctx, &spec->subject, ctx->namespace);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);

	ret = parse_policy_types(ctx, node, &enabled[0], &enabled[1]);
	if (ret)
		return ret;
	for (d = 0; d < 2; d++) {
		lists[d] = parse_map__field(ctx, node, names[d]);
		saved = parse_ctx__push_key(ctx, names[d]);
		ret = parse_seq__check(ctx, lists[d], &counts[d]);
		if (ret)
			return ret;
		parse_ctx__restore(ctx, saved);
	}
	total = counts[0] + counts[1];
	if (total) {
		spec->rules = calloc(total, sizeof(*spec->rules));
		if (!spec->rules)
			return parse_ctx__nomem(ctx);
	}
	for (d = 0; d < 2; d++) {
		saved = parse_ctx__push_key(ctx, names[d]);
		for (i = 0; i < counts[d]; i++) {
			struct policy_rule rule = {0};
			yaml_node_t *item;
			size_t saved_item = parse_ctx__push_index(ctx, i);

			ret = parse_seq__item(ctx, lists[d], i, &item);
			if (!ret)
				ret = parse_rule(ctx, item, d == 1, i, &rule);
			if (ret) {
				policy_rule__release(&rule);
				return ret;
			}
			/* Rules of a type policyTypes leaves out do nothing. */
			if (enabled[d])
				spec->rules[spec->rule_count++] = rule;
			else
				policy_rule__release(&rule);
			parse_ctx__restore(ctx, saved_item);
		}
		if (counts[d] && !enabled[d])
			parse_ctx__warn(
			    ctx, lists[d],
			    "%s rules are ignored: policyTypes does not list %s",
			    names[d], d ? "Egress" : "Ingress");
		parse_ctx__restore(ctx, saved);
	}
	/* Each listed type isolates the selected pods in that direction. */
	spec->default_deny_ingress = enabled[0];
	spec->default_deny_egress = enabled[1];
	return 0;
}

int parse_k8s_policy(struct parse_ctx *ctx, const yaml_node_t *root, struct policy *p)
{
	const yaml_node_t *spec = parse_map__field(ctx, root, "spec");
	size_t saved;
	int ret;

	if (!spec)
		return parse_ctx__error(ctx, root, "`spec` is required");
	p->specs = calloc(1, sizeof(*p->specs));
	if (!p->specs)
		return parse_ctx__nomem(ctx);
	p->spec_count = 1;
	saved = parse_ctx__push_key(ctx, "spec");
	ret = parse_spec(ctx, spec, &p->specs[0]);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return 0;
}
