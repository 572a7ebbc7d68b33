// SPDX-License-Identifier: Apache-2.0
/*
 * Pieces of the policy grammar that Cilium and Kubernetes share: label
 * selectors (with the label-source rules of each dialect), CIDRs, port
 * entries, and the Kubernetes name syntaxes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parse_internal.h"
#include "warden/labels.h"
#include "warden/prefix.h"

/* --- names --- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool parse_is_service_name(const char *s, bool allow_upper)
{
	size_t len = strlen(s), i;
	bool letter = false;

	if (len < 1 || len > 15 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (allow_upper && c >= 'A' && c <= 'Z'))
			letter = true;
		else if (c == '-' && s[i + 1] == '-')
			return false;
		else if (c != '-' && !(c >= '0' && c <= '9'))
			return false;
	}
	return letter;
}

/* One DNS label of [start, start + len). */
static bool dns_label_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	for (i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool parse_is_dns1123_label(const char *s)
{
	return dns_label_ok(s, strlen(s));
}

bool parse_is_dns1123_subdomain(const char *s)
{
	size_t len = strlen(s);
	const char *dot;

	if (len < 1 || len > 253)
		return false;
	for (;;) {
		dot = strchr(s, '.');
		if (!dns_label_ok(s, dot ? (size_t)(dot - s) : strlen(s)))
			return false;
		if (!dot)
			return true;
		s = dot + 1;
	}
}

/* --- selectors --- */

static const char *const selector_fields[] = {"matchLabels", "matchExpressions", NULL};
static const char *const expression_fields[] = {"key", "operator", "values", NULL};

/* Cilium's label sources (pkg/labels), as they may prefix a selector key. */
static const char *const cilium_sources[] = {
    "any",    "k8s",	 "reserved", "cidr", "cidrgroup",	 "container", "cni",
    "unspec", "kvstore", "node",     "fqdn", "cilium-generated", "directory", NULL,
};

static bool source_known(const char *s, size_t len)
{
	const char *const *p;

	for (p = cilium_sources; *p; p++)
		if (strlen(*p) == len && !strncmp(*p, s, len))
			return true;
	return false;
}

/*
 * Validate a selector key of the given flavour and build the key string
 * selector__add() takes ("source:key"). Cilium keys keep their own source
 * or none (= any); Kubernetes keys get the k8s source, namespace-selector
 * keys Cilium's namespace-label prefix. *out is allocated.
 */
static int selector_key(struct parse_ctx *ctx, const yaml_node_t *node, const char *key,
			enum parse_selector_flavour flavour, char **out)
{
	const char *colon = strchr(key, ':');
	const char *name = key;
	char err[256];
	int n = -1;

	if (flavour == PARSE_SELECTOR_CILIUM && colon) {
		if (!source_known(key, (size_t)(colon - key)))
			return parse_ctx__error(ctx, node,
						"unknown label source `%.*s` in key `%s`",
						(int)(colon - key), key, key);
		name = colon + 1;
		/* A CIDR label's "key" is an address, not a Kubernetes name. */
		if (!strncmp(key, LABEL_SOURCE_CIDR ":", 5))
			goto build;
	}
	if (label_key__validate(name, err, sizeof(err)))
		return parse_ctx__error(ctx, node, "invalid label key `%s`: %s", key,
					err);
build:
	switch (flavour) {
	case PARSE_SELECTOR_CILIUM:
		*out = strdup(key);
		return *out ? 0 : parse_ctx__nomem(ctx);
	case PARSE_SELECTOR_K8S_POD:
		n = asprintf(out, LABEL_SOURCE_K8S ":%s", key);
		break;
	case PARSE_SELECTOR_K8S_NAMESPACE:
		n = asprintf(out, LABEL_SOURCE_K8S ":" LABEL_NAMESPACE_LABELS_PREFIX "%s",
			     key);
		break;
	}
	if (n < 0) {
		*out = NULL;
		return parse_ctx__nomem(ctx);
	}
	return 0;
}

static int selector_value(struct parse_ctx *ctx, const yaml_node_t *node, const char *key,
			  const char **out)
{
	char err[256];
	int ret;

	/* `key:` with nothing after it decodes to "" in Go. */
	if (parse_node__is_null(node)) {
		*out = "";
		return 0;
	}
	ret = parse_node__string(ctx, node, out);
	if (ret)
		return ret;
	if (!strncmp(key, LABEL_SOURCE_CIDR ":", 5))
		return 0;
	if (label_value__validate(*out, err, sizeof(err)))
		return parse_ctx__error(ctx, node, "invalid label value `%s`: %s", *out,
					err);
	return 0;
}

static int selector_add(struct parse_ctx *ctx, const yaml_node_t *node,
			struct selector *sel, const char *key, enum selector_op op,
			const char *const *values, size_t count)
{
	int ret = selector__add(sel, key, op, values, count);

	if (ret == -ENOMEM)
		return parse_ctx__nomem(ctx);
	if (ret)
		return parse_ctx__error(ctx, node, "invalid selector requirement on `%s`",
					key);
	return 0;
}

static int parse_match_labels(struct parse_ctx *ctx, const yaml_node_t *node,
			      enum parse_selector_flavour flavour, struct selector *out)
{
	yaml_node_pair_t *pair;
	int ret;

	if (!node)
		return 0;
	ret = parse_map__check(ctx, node, NULL, false);
	if (ret)
		return ret;
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ctx->doc, pair->value);
		const char *key = (const char *)k->data.scalar.value;
		const char *value;
		char *full = NULL;
		size_t saved = parse_ctx__push_key(ctx, key);

		ret = selector_key(ctx, k, key, flavour, &full);
		if (!ret)
			ret = selector_value(ctx, v, key, &value);
		if (!ret)
			ret = selector_add(ctx, k, out, full, SELECTOR_OP_IN, &value, 1);
		free(full);
		if (ret)
			return ret;
		parse_ctx__restore(ctx, saved);
	}
	return 0;
}

static int parse_operator(struct parse_ctx *ctx, const yaml_node_t *node,
			  enum selector_op *op)
{
	const char *s;
	int ret;

	ret = parse_node__string(ctx, node, &s);
	if (ret)
		return ret;
	if (!strcmp(s, "In"))
		*op = SELECTOR_OP_IN;
	else if (!strcmp(s, "NotIn"))
		*op = SELECTOR_OP_NOT_IN;
	else if (!strcmp(s, "Exists"))
		*op = SELECTOR_OP_EXISTS;
	else if (!strcmp(s, "DoesNotExist"))
		*op = SELECTOR_OP_DOES_NOT_EXIST;
	else
		/*
		 * Cilium's agent turns an unknown operator into a selector that
		 * matches nothing; refusing it here is the only honest option.
		 */
		return parse_ctx__error(
		    ctx, node,
		    "invalid operator `%s` (expected In, NotIn, Exists or "
		    "DoesNotExist; operators are case-sensitive)",
		    s);
	return 0;
}

/* The values of one matchExpressions entry, as they are parsed. */
struct expression_values {
	const char *key; /* the requirement's key, with its source */
	const char **values;
};

static int parse_value_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			    void *arg)
{
	struct expression_values *e = arg;

	return selector_value(ctx, item, e->key, &e->values[index]);
}

static int parse_expression(struct parse_ctx *ctx, const yaml_node_t *node,
			    enum parse_selector_flavour flavour, struct selector *out)
{
	const yaml_node_t *key_node, *values_node, *op_node;
	const char **values = NULL;
	enum selector_op op = SELECTOR_OP_IN;
	size_t count = 0, saved;
	const char *key;
	char *full = NULL;
	int ret;

	ret = parse_map__check(ctx, node, expression_fields, false);
	if (ret)
		return ret;

	key_node = parse_map__field(ctx, node, "key");
	saved = parse_ctx__push_key(ctx, "key");
	if (!key_node)
		return parse_ctx__error(ctx, node, "`key` is required");
	ret = parse_node__string(ctx, key_node, &key);
	if (!ret)
		ret = selector_key(ctx, key_node, key, flavour, &full);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);

	op_node = parse_map__field(ctx, node, "operator");
	saved = parse_ctx__push_key(ctx, "operator");
	if (op_node)
		ret = parse_operator(ctx, op_node, &op);
	else
		ret = parse_ctx__error(ctx, node, "`operator` is required");
	if (ret)
		goto out;
	parse_ctx__restore(ctx, saved);

	values_node = parse_map__field(ctx, node, "values");
	saved = parse_ctx__push_key(ctx, "values");
	ret = parse_seq__check(ctx, values_node, &count);
	if (ret)
		goto out;
	if ((op == SELECTOR_OP_IN || op == SELECTOR_OP_NOT_IN) && !count) {
		ret = parse_ctx__error(ctx, values_node ? values_node : node,
				       "`values` must be non-empty for operator %s",
				       op == SELECTOR_OP_IN ? "In" : "NotIn");
		goto out;
	}
	if ((op == SELECTOR_OP_EXISTS || op == SELECTOR_OP_DOES_NOT_EXIST) && count) {
		ret = parse_ctx__error(
		    ctx, values_node, "`values` must be empty for operator %s",
		    op == SELECTOR_OP_EXISTS ? "Exists" : "DoesNotExist");
		goto out;
	}
	values = parse_ctx__calloc(ctx, count, sizeof(*values), &ret);
	if (ret)
		goto out;
	ret = parse_seq__each(ctx, NULL, values_node, count, parse_value_item,
			      &(struct expression_values){full, values});
	if (ret)
		goto out;
	parse_ctx__restore(ctx, saved);
	ret = selector_add(ctx, node, out, full, op, values, count);
out:
	free(values);
	free(full);
	return ret;
}

/* Where the requirements of a selector's matchExpressions go. */
struct selector_target {
	enum parse_selector_flavour flavour;
	struct selector *selector;
};

static int parse_expression_item(struct parse_ctx *ctx, const yaml_node_t *item,
				 size_t index, void *arg)
{
	const struct selector_target *t = arg;

	(void)index;
	return parse_expression(ctx, item, t->flavour, t->selector);
}

int parse_selector(struct parse_ctx *ctx, const yaml_node_t *node,
		   enum parse_selector_flavour flavour, struct selector *out)
{
	const yaml_node_t *exprs;
	size_t count, saved;
	int ret;

	/* `podSelector:` (null) decodes to an empty selector in Go. */
	if (!node || parse_node__is_null(node))
		return 0;
	ret = parse_map__check(ctx, node, selector_fields, false);
	if (ret)
		return ret;

	saved = parse_ctx__push_key(ctx, "matchLabels");
	ret = parse_match_labels(ctx, parse_map__field(ctx, node, "matchLabels"), flavour,
				 out);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);

	ret = parse_map__list(ctx, node, "matchExpressions", &exprs, &count);
	if (ret)
		return ret;
	return parse_seq__each(ctx, "matchExpressions", exprs, count,
			       parse_expression_item,
			       &(struct selector_target){flavour, out});
}

int parse_selector__pin_namespace(struct parse_ctx *ctx, struct selector *sel,
				  const char *ns)
{
	return selector_add(ctx, NULL, sel, LABEL_SOURCE_K8S ":" LABEL_POD_NAMESPACE,
			    SELECTOR_OP_IN, &ns, 1);
}

int parse_selector__any_namespace(struct parse_ctx *ctx, struct selector *sel)
{
	return selector_add(ctx, NULL, sel, LABEL_SOURCE_K8S ":" LABEL_POD_NAMESPACE,
			    SELECTOR_OP_EXISTS, NULL, 0);
}

static bool source_k8s_or_any(const char *source)
{
	return !strcmp(source, LABEL_SOURCE_K8S) || !strcmp(source, LABEL_SOURCE_ANY);
}

bool parse_selector__names(const struct selector *sel, const char *key)
{
	size_t i;

	for (i = 0; i < sel->count; i++)
		if (source_k8s_or_any(sel->requirements[i].source) &&
		    !strcmp(sel->requirements[i].key, key))
			return true;
	return false;
}

bool parse_selector__names_prefix(const struct selector *sel, const char *prefix)
{
	size_t i;

	for (i = 0; i < sel->count; i++)
		if (source_k8s_or_any(sel->requirements[i].source) &&
		    !strncmp(sel->requirements[i].key, prefix, strlen(prefix)))
			return true;
	return false;
}

bool parse_selector__uses_source(const struct selector *sel, const char *source)
{
	size_t i;

	for (i = 0; i < sel->count; i++)
		if (!strcmp(sel->requirements[i].source, source))
			return true;
	return false;
}

/* --- CIDRs --- */

/*
 * "address/length" with host bits set: the prefix with them cleared into
 * *out. Returns false for anything else (valid or not).
 */
static bool prefix__with_host_bits(const char *s, struct policy_prefix *out)
{
	const char *slash = strchr(s, '/');
	struct policy_prefix base;
	unsigned long len, bits;
	char addr[64], *end;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	len = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || policy_prefix__parse(addr, &base))
		return false;
	bits = base.family == 4 ? 32u : 128u;
	if (len > bits)
		return false;
	*out = base;
	out->len = (uint8_t)len;
	for (unsigned long i = len; i < bits; i++)
		out->addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	return true;
}

/*
 * A prefix node. Host bits are an error naming the prefix meant, unless
 * mask_host_bits: then they are cleared with a warning (Kubernetes accepts
 * an ipBlock such as `10.1.2.3/8`: its own e2e suite writes them).
 */
static int parse_prefix_node(struct parse_ctx *ctx, const yaml_node_t *node,
			     bool require_length, bool mask_host_bits,
			     struct policy_prefix *out)
{
	struct policy_prefix masked;
	char fixed[64];
	const char *s;
	int ret;

	ret = parse_node__string(ctx, node, &s);
	if (ret)
		return ret;
	if (require_length && !strchr(s, '/'))
		return parse_ctx__error(
		    ctx, node, "`%s` is not a CIDR (expected address/prefix-length)", s);
	if (!policy_prefix__parse(s, out))
		return 0;

	/* Say why: a valid address and length with host bits is common. */
	if (prefix__with_host_bits(s, &masked)) {
		policy_prefix__format(&masked, fixed, sizeof(fixed));
		if (!mask_host_bits)
			return parse_ctx__error(
			    ctx, node, "CIDR `%s` has host bits set (did you mean `%s`?)",
			    s, fixed);
		parse_ctx__warn(ctx, node, "CIDR `%s` has host bits set: read as `%s`", s,
				fixed);
		*out = masked;
		return 0;
	}
	return parse_ctx__error(ctx, node, "invalid CIDR `%s`", s);
}

int parse_prefix(struct parse_ctx *ctx, const yaml_node_t *node, bool require_length,
		 struct policy_prefix *out)
{
	return parse_prefix_node(ctx, node, require_length, false, out);
}

/* The except list of one {cidr, except}, as it is parsed. */
struct except_list {
	struct policy_cidr *cidr;
	const yaml_node_t *cidr_node;
	bool strict_subset;
};

static int parse_except_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			     void *arg)
{
	const struct except_list *l = arg;
	const struct policy_prefix *outer = &l->cidr->prefix;
	struct policy_prefix *except = &l->cidr->except[index];
	int ret;

	/* Kubernetes (strict_subset) clears host bits, with a warning. */
	ret = parse_prefix_node(ctx, item, true, l->strict_subset, except);
	if (ret)
		return ret;
	/* Kubernetes wants a strict subset; Cilium accepts the cidr itself. */
	if (l->strict_subset &&
	    (!policy_prefix__contains(outer, except) || except->len <= outer->len))
		return parse_ctx__error(
		    ctx, item, "except `%s` must be a strict subset of cidr `%s`",
		    (const char *)item->data.scalar.value,
		    (const char *)l->cidr_node->data.scalar.value);
	if (!l->strict_subset && !policy_prefix__contains(outer, except))
		return parse_ctx__error(ctx, item, "except `%s` is not inside cidr `%s`",
					(const char *)item->data.scalar.value,
					(const char *)l->cidr_node->data.scalar.value);
	return 0;
}

int parse_cidr_except(struct parse_ctx *ctx, const yaml_node_t *node, bool strict_subset,
		      struct policy_cidr *out)
{
	const yaml_node_t *cidr = parse_map__field(ctx, node, "cidr"), *except;
	size_t count, saved;
	int ret;

	saved = parse_ctx__push_key(ctx, "cidr");
	if (!cidr)
		return parse_ctx__error(ctx, node, "`cidr` is required");
	ret = parse_prefix_node(ctx, cidr, true, strict_subset, &out->prefix);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);

	ret = parse_map__list(ctx, node, "except", &except, &count);
	if (!ret)
		out->except = parse_ctx__calloc(ctx, count, sizeof(*out->except), &ret);
	if (ret)
		return ret;
	out->except_count = count;
	return parse_seq__each(ctx, "except", except, count, parse_except_item,
			       &(struct except_list){out, cidr, strict_subset});
}

/* --- ports --- */

static const char *const port_fields[] = {"port", "endPort", "protocol", NULL};

struct protocol_name {
	const char *name;
	uint8_t number;
	bool has_ports; /* TCP, UDP, SCTP; ICMP carries the type instead */
};

/* Cilium's L4Proto enum; the names are case-sensitive as in its CRD. */
static const struct protocol_name cilium_protocols[] = {
    {"ANY", 0, true},
    {"TCP", IPPROTO_TCP, true},
    {"UDP", IPPROTO_UDP, true},
    {"SCTP", IPPROTO_SCTP, true},
    {"ICMP", IPPROTO_ICMP, true},
    {"ICMPv6", IPPROTO_ICMPV6, true},
    {"VRRP", 112, false},
    {"IGMP", IPPROTO_IGMP, false},
    {NULL, 0, false},
};

static const struct protocol_name k8s_protocols[] = {
    {"TCP", IPPROTO_TCP, true},
    {"UDP", IPPROTO_UDP, true},
    {"SCTP", IPPROTO_SCTP, true},
    {NULL, 0, false},
};

static int parse_protocol(struct parse_ctx *ctx, const yaml_node_t *node,
			  enum parse_port_flavour flavour,
			  const struct protocol_name **out)
{
	const struct protocol_name *table =
	    flavour == PARSE_PORT_K8S ? k8s_protocols : cilium_protocols;
	const struct protocol_name *p;
	const char *s;
	int ret;

	if (!node) {
		/* Kubernetes defaults to TCP, Cilium to ANY. */
		*out = &table[0];
		return 0;
	}
	ret = parse_node__string(ctx, node, &s);
	if (ret)
		return ret;
	for (p = table; p->name; p++) {
		if (!strcmp(p->name, s)) {
			*out = p;
			return 0;
		}
	}
	if (flavour == PARSE_PORT_K8S)
		return parse_ctx__error(
		    ctx, node, "invalid protocol `%s` (expected TCP, UDP or SCTP)", s);
	return parse_ctx__error(
	    ctx, node,
	    "invalid protocol `%s` (expected TCP, UDP, SCTP, ICMP, "
	    "ICMPv6, VRRP, IGMP or ANY; protocols are case-sensitive)",
	    s);
}

/* A decimal string without sign, as Cilium writes ports ("80"). */
static bool text_is_decimal(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static int parse_port_number(struct parse_ctx *ctx, const yaml_node_t *node,
			     enum parse_port_flavour flavour, struct policy_port *out)
{
	long long min = flavour == PARSE_PORT_K8S ? 1 : 0;
	long long value;
	const char *s;
	char *end;
	int ret;

	if (parse_node__is_int(node)) {
		ret = parse_node__int(ctx, node, &value);
		if (ret)
			return ret;
		goto range;
	}
	ret = parse_node__string(ctx, node, &s);
	if (ret)
		return ret;
	if (text_is_decimal(s)) {
		/*
		 * Kubernetes ports are IntOrString and a string must be a port
		 * name, so "80" is refused there; Cilium writes ports as strings.
		 */
		if (flavour == PARSE_PORT_K8S)
			return parse_ctx__error(
			    ctx, node,
			    "port \"%s\" is a string, which must be a port "
			    "name; write the number without quotes",
			    s);
		if (strlen(s) > 5)
			return parse_ctx__error(
			    ctx, node, "port `%s` is out of range (%lld-65535)", s, min);
		value = strtoll(s, &end, 10);
		goto range;
	}
	if (!parse_is_service_name(s, flavour == PARSE_PORT_CILIUM))
		return parse_ctx__error(
		    ctx, node,
		    "invalid port `%s`: expected a number 0-65535 or a port "
		    "name (IANA service name: 1-15 lowercase letters, digits "
		    "and '-', at least one letter)",
		    s);
	out->name = strdup(s);
	if (!out->name)
		return parse_ctx__nomem(ctx);
	/* Cilium compares port names case-insensitively; keep them lower. */
	for (end = out->name; *end; end++)
		if (*end >= 'A' && *end <= 'Z')
			*end = (char)(*end - 'A' + 'a');
	out->port = 0;
	return 0;
range:
	if (value < min || value > 65535)
		return parse_ctx__error(
		    ctx, node, "port %lld is out of range (%lld-65535)", value, min);
	out->port = (uint16_t)value;
	return 0;
}

int parse_port(struct parse_ctx *ctx, const yaml_node_t *node,
	       enum parse_port_flavour flavour, struct policy_port *out)
{
	const struct protocol_name *proto = NULL;
	const yaml_node_t *port_node, *end_node, *proto_node;
	long long end_port;
	size_t saved;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_map__check(ctx, node, port_fields, false);
	if (ret)
		return ret;

	proto_node = parse_map__field(ctx, node, "protocol");
	saved = parse_ctx__push_key(ctx, "protocol");
	ret = parse_protocol(ctx, proto_node, flavour, &proto);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	out->protocol = proto->number;

	/* No port: every port of the protocol (a protocol-only entry). */
	port_node = parse_map__field(ctx, node, "port");
	saved = parse_ctx__push_key(ctx, "port");
	if (port_node) {
		ret = parse_port_number(ctx, port_node, flavour, out);
		if (ret)
			return ret;
		if (!proto->has_ports && (out->port || out->name))
			return parse_ctx__error(ctx, port_node,
						"protocol %s has no ports", proto->name);
		if ((out->protocol == IPPROTO_ICMP || out->protocol == IPPROTO_ICMPV6) &&
		    (out->name || out->port > 255))
			return parse_ctx__error(ctx, port_node,
						"an %s port is an ICMP type (0-255)",
						proto->name);
	}
	parse_ctx__restore(ctx, saved);

	end_node = parse_map__field(ctx, node, "endPort");
	saved = parse_ctx__push_key(ctx, "endPort");
	if (end_node) {
		ret = parse_node__int(ctx, end_node, &end_port);
		if (ret)
			return ret;
		/* Cilium's endPort 0 means "no range", as if absent. */
		if (end_port == 0 && flavour == PARSE_PORT_CILIUM)
			goto done;
		if (!port_node)
			return parse_ctx__error(ctx, end_node, "endPort requires port");
		if (out->name)
			return parse_ctx__error(
			    ctx, end_node,
			    "endPort requires a numeric port, not the "
			    "named port `%s`",
			    out->name);
		if (!out->port)
			return parse_ctx__error(ctx, end_node,
						"endPort requires a non-zero port");
		if (end_port < out->port || end_port > 65535)
			return parse_ctx__error(
			    ctx, end_node,
			    "endPort %lld must be between port (%u) and 65535", end_port,
			    out->port);
		if (end_port > out->port)
			out->end_port = (uint16_t)end_port;
	}
done:
	parse_ctx__restore(ctx, saved);
	return 0;
}
