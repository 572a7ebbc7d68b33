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

/*
 * ipBlock {cidr, except}: every except a strict subset of cidr. Unlike a
 * Cilium CIDR rule it selects every address inside, pods' included, as
 * Kubernetes defines it (docs/policy-semantics.md).
 */
static int parse_ip_block(struct parse_ctx *ctx, const yaml_node_t *node,
			  struct policy_cidr *out)
{
	int ret;

	ret = parse_map__check(ctx, node, ip_block_fields, false);
	if (ret)
		return ret;
	out->selects_pods = true;
	return parse_cidr_except(ctx, node, true, out);
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

/* The peers of one rule: counted in a first pass, parsed in a second. */
struct peer_list {
	struct policy_rule *rule;
	size_t selectors; /* pod/namespace selector peers */
	size_t blocks;	  /* ipBlock peers */
};

/* First pass: the shape of a peer, to size the two arrays. */
static int count_peer_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *arg)
{
	const yaml_node_t *pods, *namespaces, *block;
	struct peer_list *l = arg;
	int ret;

	(void)index;
	ret = parse_map__check(ctx, item, peer_fields, false);
	if (ret)
		return ret;
	pods = parse_map__field(ctx, item, "podSelector");
	namespaces = parse_map__field(ctx, item, "namespaceSelector");
	block = parse_map__field(ctx, item, "ipBlock");
	if (block && (pods || namespaces))
		return parse_ctx__error(ctx, item,
					"ipBlock cannot be combined with podSelector or "
					"namespaceSelector in one peer");
	if (!block && !pods && !namespaces)
		return parse_ctx__error(ctx, item,
					"a peer needs podSelector, namespaceSelector or "
					"ipBlock");
	if (block)
		l->blocks++;
	else
		l->selectors++;
	return 0;
}

/* Second pass: the peer into the next selector or CIDR of the rule. */
static int parse_peer_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *arg)
{
	const yaml_node_t *block = parse_map__field(ctx, item, "ipBlock");
	struct peer_list *l = arg;
	size_t saved;
	int ret;

	(void)index;
	if (!block)
		return parse_selector_peer(
		    ctx, parse_map__field(ctx, item, "podSelector"),
		    parse_map__field(ctx, item, "namespaceSelector"),
		    &l->rule->endpoints[l->selectors++]);
	saved = parse_ctx__push_key(ctx, "ipBlock");
	ret = parse_ip_block(ctx, block, &l->rule->cidrs[l->blocks++]);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return 0;
}

/* from / to: the peers of one rule. */
static int parse_peers(struct parse_ctx *ctx, const char *name, const yaml_node_t *list,
		       size_t count, struct policy_rule *rule)
{
	struct peer_list peers = {.rule = rule};
	int ret;

	ret = parse_seq__each(ctx, name, list, count, count_peer_item, &peers);
	if (!ret)
		rule->endpoints = parse_ctx__calloc(ctx, peers.selectors,
						    sizeof(*rule->endpoints), &ret);
	if (ret)
		return ret;
	rule->endpoint_count = peers.selectors;
	rule->cidrs = parse_ctx__calloc(ctx, peers.blocks, sizeof(*rule->cidrs), &ret);
	if (ret)
		return ret;
	rule->cidr_count = peers.blocks;
	peers.selectors = peers.blocks = 0;
	return parse_seq__each(ctx, name, list, count, parse_peer_item, &peers);
}

static int parse_port_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *ports)
{
	return parse_port(ctx, item, PARSE_PORT_K8S,
			  &((struct policy_port *)ports)[index]);
}

/* ports: one port rule holding every entry; none = every port. */
static int parse_ports(struct parse_ctx *ctx, const yaml_node_t *list, size_t count,
		       struct policy_rule *rule)
{
	struct policy_port_rule *pr;
	int ret;

	if (!count)
		return 0;
	rule->port_rules = parse_ctx__calloc(ctx, 1, sizeof(*rule->port_rules), &ret);
	if (ret)
		return ret;
	rule->port_rule_count = 1;
	pr = &rule->port_rules[0];
	pr->ports = parse_ctx__calloc(ctx, count, sizeof(*pr->ports), &ret);
	if (ret)
		return ret;
	pr->port_count = count;
	return parse_seq__each(ctx, "ports", list, count, parse_port_item, pr->ports);
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
	size_t peer_count = 0, port_count = 0;
	int ret;

	rule->direction = egress ? WARDEN_DIR_EGRESS : WARDEN_DIR_INGRESS;
	rule->line = parse_node__line(node);
	rule->index = (uint32_t)index;
	if (parse_node__is_null(node))
		return 0;
	ret = parse_map__check(ctx, node, egress ? egress_fields : ingress_fields, false);
	if (ret)
		return ret;

	ret = parse_map__list(ctx, node, peers_name, &peers, &peer_count);
	if (!ret)
		ret = parse_peers(ctx, peers_name, peers, peer_count, rule);
	if (ret)
		return ret;
	rule->has_peers = peer_count > 0;

	ret = parse_map__list(ctx, node, "ports", &ports, &port_count);
	if (!ret)
		ret = parse_ports(ctx, ports, port_count, rule);
	return ret;
}

/* One policyTypes entry into enabled[0] (Ingress) or enabled[1] (Egress). */
static int parse_policy_type_item(struct parse_ctx *ctx, const yaml_node_t *item,
				  size_t index, void *arg)
{
	bool **enabled = arg;
	const char *s;
	int ret;

	(void)index;
	ret = parse_node__string(ctx, item, &s);
	if (ret)
		return ret;
	if (!strcmp(s, "Ingress"))
		*enabled[0] = true;
	else if (!strcmp(s, "Egress"))
		*enabled[1] = true;
	else
		return parse_ctx__error(ctx, item,
					"invalid policy type `%s` (expected Ingress or "
					"Egress)",
					s);
	return 0;
}

static int parse_policy_types(struct parse_ctx *ctx, const yaml_node_t *spec,
			      bool *ingress, bool *egress)
{
	const yaml_node_t *list = parse_map__field(ctx, spec, "policyTypes");
	const yaml_node_t *egress_rules = parse_map__field(ctx, spec, "egress");
	size_t count, egress_count, saved;
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
	ret = parse_seq__each(ctx, NULL, list, count, parse_policy_type_item,
			      (bool *[]){ingress, egress});
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return 0;
}

/* The ingress or egress list of a spec, as its elements are parsed. */
struct rule_list {
	struct policy_spec *spec;
	bool egress;
	bool enabled; /* policyTypes lists this direction */
};

static int parse_rule_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *arg)
{
	const struct rule_list *l = arg;
	struct policy_rule rule = {0};
	int ret;

	ret = parse_rule(ctx, item, l->egress, index, &rule);
	/* Rules of a type policyTypes leaves out do nothing. */
	if (ret || !l->enabled)
		policy_rule__release(&rule);
	else
		l->spec->rules[l->spec->rule_count++] = rule;
	return ret;
}

static int parse_spec(struct parse_ctx *ctx, const yaml_node_t *node,
		      struct policy_spec *spec)
{
	const char *names[2] = {"ingress", "egress"};
	const yaml_node_t *lists[2];
	bool enabled[2];
	size_t counts[2], total, d, saved;
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
		ret = parse_map__list(ctx, node, names[d], &lists[d], &counts[d]);
		if (ret)
			return ret;
	}
	total = counts[0] + counts[1];
	spec->rules = parse_ctx__calloc(ctx, total, sizeof(*spec->rules), &ret);
	if (ret)
		return ret;
	for (d = 0; d < 2; d++) {
		ret = parse_seq__each(ctx, names[d], lists[d], counts[d], parse_rule_item,
				      &(struct rule_list){spec, d == 1, enabled[d]});
		if (ret)
			return ret;
		if (counts[d] && !enabled[d]) {
			saved = parse_ctx__push_key(ctx, names[d]);
			parse_ctx__warn(
			    ctx, lists[d],
			    "%s rules are ignored: policyTypes does not list %s",
			    names[d], d ? "Egress" : "Ingress");
			parse_ctx__restore(ctx, saved);
		}
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
	p->specs = parse_ctx__calloc(ctx, 1, sizeof(*p->specs), &ret);
	if (ret)
		return ret;
	p->spec_count = 1;
	saved = parse_ctx__push_key(ctx, "spec");
	ret = parse_spec(ctx, spec, &p->specs[0]);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return 0;
}
