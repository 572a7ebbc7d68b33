// SPDX-License-Identifier: Apache-2.0
/*
 * Cilium's port rules: a `toPorts[]` entry (ports, L7 rules, listener, TLS
 * and SNI options) and an `icmps[]` entry, validated as Cilium's
 * PortRule.sanitize() does. Only L3/L4 is enforced by Warden today; the L7
 * HTTP rules are parsed into the model but refused by default (one switch,
 * policy_diag.allow_http), and the rest is refused as unsupported.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "policy_parse_internal.h"

/* Cilium's limits (pkg/policy/api/rule_validation.go). */
#define CILIUM_MAX_PORTS 40
#define CILIUM_MAX_ICMP_FIELDS 40

static const char *const port_rule_fields[] = {
    "ports", "rules", "listener", "serverNames", "terminatingTLS", "originatingTLS", NULL,
};
static const char *const port_deny_rule_fields[] = {"ports", NULL};
static const char *const l7_fields[] = {"http", "kafka", "dns", "l7proto", "l7", NULL};
static const char *const http_fields[] = {
    "path", "method", "host", "headers", "headerMatches", NULL,
};
static const char *const header_match_fields[] = {
    "name", "value", "secret", "mismatch", NULL,
};
static const char *const secret_fields[] = {"namespace", "name", NULL};
static const char *const kafka_fields[] = {
    "role", "apiKey", "apiVersion", "clientID", "topic", NULL,
};
static const char *const listener_fields[] = {"envoyConfig", "name", "priority", NULL};
static const char *const envoy_config_fields[] = {"kind", "name", NULL};
static const char *const tls_fields[] = {
    "secret", "certificate", "privateKey", "trustedCA", NULL,
};
static const char *const icmp_rule_fields[] = {"fields", NULL};
static const char *const icmp_field_fields[] = {"type", "family", NULL};
static const char *const dns_fields[] = {"matchName", "matchPattern", NULL};

/* Cilium's ICMP type names (pkg/policy/api/icmp.go). */
struct icmp_name {
	const char *name;
	uint8_t type;
};

static const struct icmp_name icmp4_names[] = {
    {"EchoReply", 0},
    {"DestinationUnreachable", 3},
    {"Redirect", 5},
    {"Echo", 8},
    {"EchoRequest", 8},
    {"RouterAdvertisement", 9},
    {"RouterSelection", 10},
    {"TimeExceeded", 11},
    {"ParameterProblem", 12},
    {"Timestamp", 13},
    {"TimestampReply", 14},
    {"Photuris", 40},
    {"ExtendedEchoRequest", 42},
    {"ExtendedEchoReply", 43},
    {NULL, 0},
};

static const struct icmp_name icmp6_names[] = {
    {"DestinationUnreachable", 1},
    {"PacketTooBig", 2},
    {"TimeExceeded", 3},
    {"ParameterProblem", 4},
    {"EchoRequest", 128},
    {"EchoReply", 129},
    {"MulticastListenerQuery", 130},
    {"MulticastListenerReport", 131},
    {"MulticastListenerDone", 132},
    {"RouterSolicitation", 133},
    {"RouterAdvertisement", 134},
    {"NeighborSolicitation", 135},
    {"NeighborAdvertisement", 136},
    {"RedirectMessage", 137},
    {"RouterRenumbering", 138},
    {"ICMPNodeInformationQuery", 139},
    {"ICMPNodeInformationResponse", 140},
    {"InverseNeighborDiscoverySolicitation", 141},
    {"InverseNeighborDiscoveryAdvertisement", 142},
    {"HomeAgentAddressDiscoveryRequest", 144},
    {"HomeAgentAddressDiscoveryReply", 145},
    {"MobilePrefixSolicitation", 146},
    {"MobilePrefixAdvertisement", 147},
    {"DuplicateAddressRequestCodeSuffix", 157},
    {"DuplicateAddressConfirmationCodeSuffix", 158},
    {"ExtendedEchoRequest", 160},
    {"ExtendedEchoReply", 161},
    {NULL, 0},
};

/* --- L7 rules --- */

/* Cilium compiles these as regular expressions; refuse what cannot be. */
static int check_regex(struct parse_ctx *ctx, const yaml_node_t *node, const char *re)
{
	PCRE2_UCHAR message[128];
	PCRE2_SIZE offset;
	pcre2_code *code;
	int errcode;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &errcode, &offset,
			     NULL);
	if (code) {
		pcre2_code_free(code);
		return 0;
	}
	pcre2_get_error_message(errcode, message, sizeof(message));
	return parse_ctx__error(ctx, node,
				"invalid regular expression `%s`: %s at offset %zu", re,
				(const char *)message, (size_t)offset);
}

static int http_regex_field(struct parse_ctx *ctx, const yaml_node_t *rule,
			    const char *name, char **out)
{
	const yaml_node_t *node = parse_map__field(ctx, rule, name);
	size_t saved = parse_ctx__push_key(ctx, name);
	int ret;

	ret = parse_node__strdup(ctx, node, out);
	if (!ret && *out)
		ret = check_regex(ctx, node, *out);
	if (!ret)
		parse_ctx__restore(ctx, saved);
	return ret;
}

/*
 * `headers` entries are "Name" (presence) or "Name: value" (exact match);
 * Cilium splits at the first space and drops the colon, we split at the
 * first colon or else the first space, which reads the same inputs alike.
 */
static int parse_header_string(struct parse_ctx *ctx, const yaml_node_t *node,
			       struct policy_http_header_match *out)
{
	const char *s, *sep, *name_end, *value;
	int ret;

	ret = parse_node__string(ctx, node, &s);
	if (ret)
		return ret;
	while (*s == ' ' || *s == '\t')
		s++;
	sep = strchr(s, ':');
	if (!sep)
		sep = strpbrk(s, " \t");
	name_end = sep ? sep : s + strlen(s);
	while (name_end > s && (name_end[-1] == ' ' || name_end[-1] == '\t'))
		name_end--;
	if (name_end == s)
		return parse_ctx__error(ctx, node, "header `%s` has no name", s);
	out->name = strndup(s, (size_t)(name_end - s));
	if (!out->name)
		return parse_ctx__nomem(ctx);
	if (!sep)
		return 0;
	value = sep + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	out->value = strdup(value);
	return out->value ? 0 : parse_ctx__nomem(ctx);
}

static int parse_header_match(struct parse_ctx *ctx, const yaml_node_t *node,
			      struct policy_http_header_match *out)
{
	const yaml_node_t *name, *value, *secret, *mismatch;
	const char *action;
	size_t saved;
	int ret;

	ret = parse_map__check(ctx, node, header_match_fields, false);
	if (ret)
		return ret;
	name = parse_map__field(ctx, node, "name");
	value = parse_map__field(ctx, node, "value");
	secret = parse_map__field(ctx, node, "secret");
	mismatch = parse_map__field(ctx, node, "mismatch");

	saved = parse_ctx__push_key(ctx, "name");
	if (!name)
		return parse_ctx__error(ctx, node, "`name` is required");
	ret = parse_node__strdup(ctx, name, &out->name);
	if (ret)
		return ret;
	if (!*out->name)
		return parse_ctx__error(ctx, name, "header name is empty");
	parse_ctx__restore(ctx, saved);

	saved = parse_ctx__push_key(ctx, "value");
	ret = parse_node__strdup(ctx, value, &out->value);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);

	saved = parse_ctx__push_key(ctx, "mismatch");
	if (mismatch) {
		ret = parse_node__string(ctx, mismatch, &action);
		if (ret)
			return ret;
		if (strcmp(action, "LOG") && strcmp(action, "ADD") &&
		    strcmp(action, "DELETE") && strcmp(action, "REPLACE"))
			return parse_ctx__error(
			    ctx, mismatch,
			    "invalid mismatch action `%s` (expected LOG, "
			    "ADD, DELETE or REPLACE)",
			    action);
		out->mismatch = strdup(action);
		if (!out->mismatch)
			return parse_ctx__nomem(ctx);
	}
	parse_ctx__restore(ctx, saved);

	if (secret) {
		saved = parse_ctx__push_key(ctx, "secret");
		ret = parse_map__check_strings(ctx, secret, secret_fields);
		if (ret)
			return ret;
		parse_ctx__unsupported(
		    ctx, secret, "headerMatches with a secret is not supported yet");
		parse_ctx__restore(ctx, saved);
	}
	return 0;
}

static int parse_header_string_item(struct parse_ctx *ctx, const yaml_node_t *item,
				    size_t index, void *headers)
{
	return parse_header_string(ctx, item,
				   &((struct policy_http_header_match *)headers)[index]);
}

static int parse_header_match_item(struct parse_ctx *ctx, const yaml_node_t *item,
				   size_t index, void *headers)
{
	return parse_header_match(ctx, item,
				  &((struct policy_http_header_match *)headers)[index]);
}

static int parse_http_rule(struct parse_ctx *ctx, const yaml_node_t *node,
			   struct policy_http_rule *out)
{
	const yaml_node_t *headers, *matches;
	size_t header_count, match_count;
	int ret;

	/* `http: [{}]` is a rule that allows every request. */
	if (parse_node__is_null(node))
		return 0;
	ret = parse_map__check(ctx, node, http_fields, false);
	if (ret)
		return ret;
	ret = http_regex_field(ctx, node, "method", &out->method);
	if (!ret)
		ret = http_regex_field(ctx, node, "path", &out->path);
	if (!ret)
		ret = http_regex_field(ctx, node, "host", &out->host);
	if (!ret)
		ret = parse_map__list(ctx, node, "headers", &headers, &header_count);
	if (!ret)
		ret = parse_map__list(ctx, node, "headerMatches", &matches, &match_count);
	if (ret)
		return ret;
	out->headers = parse_ctx__calloc(ctx, header_count + match_count,
					 sizeof(*out->headers), &ret);
	if (ret)
		return ret;
	out->header_count = header_count + match_count;
	ret = parse_seq__each(ctx, "headers", headers, header_count,
			      parse_header_string_item, out->headers);
	if (!ret)
		ret =
		    parse_seq__each(ctx, "headerMatches", matches, match_count,
				    parse_header_match_item, out->headers + header_count);
	return ret;
}

/* What a `rules` block holds, for the checks that span ports and rules. */
struct l7_summary {
	bool any; /* Cilium's !Rules.IsEmpty() */
	bool dns; /* DNS rules present and non-empty */
	const yaml_node_t *node;
};

static int parse_http_rule_item(struct parse_ctx *ctx, const yaml_node_t *item,
				size_t index, void *rules)
{
	return parse_http_rule(ctx, item, &((struct policy_http_rule *)rules)[index]);
}

/* An `l7` entry of an l7proto rule: a mapping of strings, or null. */
static int check_l7_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			 void *arg)
{
	(void)index;
	(void)arg;
	if (parse_node__is_null(item))
		return 0;
	return parse_map__check_strings(ctx, item, NULL);
}

/*
 * The list field `key` of L7 rules Warden does not enforce yet (Kafka,
 * DNS): its entries are checked as mappings of strings, then the feature
 * is reported as unsupported.
 */
static int check_unsupported_rules(struct parse_ctx *ctx, const yaml_node_t *list,
				   const char *key, const char *const *known,
				   const char *protocol)
{
	size_t saved = parse_ctx__push_key(ctx, key);
	int ret;

	ret = parse_seq__check_string_maps(ctx, list, known);
	if (ret)
		return ret;
	parse_ctx__unsupported(ctx, list, "%s rules are not supported yet", protocol);
	parse_ctx__restore(ctx, saved);
	return 0;
}

static int parse_l7_rules(struct parse_ctx *ctx, const yaml_node_t *node,
			  struct policy_port_rule *out, struct l7_summary *sum)
{
	const yaml_node_t *http, *kafka, *dns, *l7proto, *l7;
	size_t http_count, kafka_count, dns_count, l7_count, saved;
	const char *proto_name;
	int ret, types;

	ret = parse_map__check(ctx, node, l7_fields, false);
	if (!ret)
		ret = parse_map__list(ctx, node, "http", &http, &http_count);
	if (!ret)
		ret = parse_map__list(ctx, node, "kafka", &kafka, &kafka_count);
	if (!ret)
		ret = parse_map__list(ctx, node, "dns", &dns, &dns_count);
	if (!ret)
		ret = parse_map__list(ctx, node, "l7", &l7, &l7_count);
	if (ret)
		return ret;
	l7proto = parse_map__field(ctx, node, "l7proto");

	sum->node = node;
	sum->any = http || kafka || dns || l7proto || l7;
	sum->dns = dns_count > 0;
	types = !!http + !!kafka + !!dns + !!l7proto;
	if (types > 1)
		return parse_ctx__error(
		    ctx, node,
		    "multiple L7 protocol rule types in one rule (use "
		    "one of http, kafka, dns or l7proto)");
	if (l7 && !l7proto)
		return parse_ctx__error(ctx, l7, "`l7` may only be given with `l7proto`");

	if (http) {
		out->has_http = true;
		out->http = parse_ctx__calloc(ctx, http_count, sizeof(*out->http), &ret);
		if (ret)
			return ret;
		out->http_count = http_count;
		ret = parse_seq__each(ctx, "http", http, http_count, parse_http_rule_item,
				      out->http);
		if (ret)
			return ret;
		/*
		 * THE switch for L7 HTTP: the rules are parsed in full above,
		 * and refused here until the proxy enforces them (a later
		 * issue turns allow_http on). Keep this the only check.
		 */
		saved = parse_ctx__push_key(ctx, "http");
		if (!ctx->allow_http)
			parse_ctx__unsupported(ctx, http,
					       "L7 HTTP rules are not supported yet");
		parse_ctx__restore(ctx, saved);
	}
	if (kafka)
		ret = check_unsupported_rules(ctx, kafka, "kafka", kafka_fields, "Kafka");
	if (!ret && dns)
		ret = check_unsupported_rules(ctx, dns, "dns", dns_fields, "DNS");
	if (ret)
		return ret;
	if (l7proto) {
		saved = parse_ctx__push_key(ctx, "l7proto");
		ret = parse_node__string(ctx, l7proto, &proto_name);
		if (ret)
			return ret;
		parse_ctx__restore(ctx, saved);
		ret = parse_seq__each(ctx, "l7", l7, l7_count, check_l7_item, NULL);
		if (ret)
			return ret;
		saved = parse_ctx__push_key(ctx, "l7proto");
		parse_ctx__unsupported(
		    ctx, l7proto, "L7 protocol `%s` (rules.l7proto) is not supported yet",
		    proto_name);
		parse_ctx__restore(ctx, saved);
	}
	return 0;
}

/* A TLS context (terminatingTLS, originatingTLS): checked, then unsupported. */
static int check_unsupported_tls(struct parse_ctx *ctx, const yaml_node_t *node,
				 const char *key)
{
	size_t saved;
	int ret;

	if (!node)
		return 0;
	saved = parse_ctx__push_key(ctx, key);
	ret = parse_map__check(ctx, node, tls_fields, false);
	if (ret)
		return ret;
	parse_ctx__unsupported(ctx, node, "%s is not supported yet", key);
	parse_ctx__restore(ctx, saved);
	return 0;
}

/* The Envoy listener, TLS and SNI options of a port rule. */
static int parse_port_rule_extras(struct parse_ctx *ctx, const yaml_node_t *node,
				  bool ingress, const struct l7_summary *l7)
{
	const yaml_node_t *listener, *server_names, *term_tls, *orig_tls, *envoy;
	size_t count, i, saved;
	int ret;

	listener = parse_map__field(ctx, node, "listener");
	if (listener) {
		saved = parse_ctx__push_key(ctx, "listener");
		ret = parse_map__check(ctx, listener, listener_fields, false);
		if (ret)
			return ret;
		envoy = parse_map__field(ctx, listener, "envoyConfig");
		if (envoy) {
			size_t saved_envoy = parse_ctx__push_key(ctx, "envoyConfig");

			ret = parse_map__check_strings(ctx, envoy, envoy_config_fields);
			if (ret)
				return ret;
			parse_ctx__restore(ctx, saved_envoy);
		}
		/* Both are refused by Cilium itself (PortRule.sanitize()). */
		if (ingress)
			return parse_ctx__error(ctx, listener,
						"a listener is not allowed on ingress");
		if (l7->any)
			return parse_ctx__error(
			    ctx, listener, "a listener is not allowed with L7 rules");
		parse_ctx__unsupported(ctx, listener,
				       "listener (Envoy redirect) is not supported yet");
		parse_ctx__restore(ctx, saved);
	}

	term_tls = parse_map__field(ctx, node, "terminatingTLS");
	orig_tls = parse_map__field(ctx, node, "originatingTLS");
	server_names = parse_map__field(ctx, node, "serverNames");
	if (server_names) {
		saved = parse_ctx__push_key(ctx, "serverNames");
		ret = parse_seq__check_strings(ctx, server_names);
		if (!ret)
			ret = parse_seq__check(ctx, server_names, &count);
		if (ret)
			return ret;
		for (i = 0; i < count; i++) {
			yaml_node_t *item;

			ret = parse_seq__item(ctx, server_names, i, &item);
			if (ret)
				return ret;
			if (!*(const char *)item->data.scalar.value) {
				parse_ctx__push_index(ctx, i);
				return parse_ctx__error(ctx, item, "empty server name");
			}
		}
		if (count && l7->any && !term_tls)
			return parse_ctx__error(
			    ctx, server_names,
			    "serverNames are not allowed with L7 rules "
			    "without terminatingTLS");
		if (count)
			parse_ctx__unsupported(
			    ctx, server_names,
			    "serverNames (TLS SNI) is not supported yet");
		parse_ctx__restore(ctx, saved);
	}
	ret = check_unsupported_tls(ctx, term_tls, "terminatingTLS");
	if (!ret)
		ret = check_unsupported_tls(ctx, orig_tls, "originatingTLS");
	return ret;
}

static int parse_port_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			   void *ports)
{
	return parse_port(ctx, item, PARSE_PORT_CILIUM,
			  &((struct policy_port *)ports)[index]);
}

/*
 * One toPorts[] entry. A deny rule takes ports only. A port rule without
 * ports is kept with port_count 0, which matches nothing (Cilium builds no
 * filter for it).
 */
int parse_cilium_port_rule(struct parse_ctx *ctx, const yaml_node_t *node, bool ingress,
			   bool deny, struct policy_port_rule *out)
{
	const yaml_node_t *ports, *rules;
	struct l7_summary l7 = {0};
	bool zero_port = false;
	size_t count, i, saved;
	int ret;

	if (parse_node__is_null(node))
		return 0;
	ret = parse_map__check(ctx, node, deny ? port_deny_rule_fields : port_rule_fields,
			       false);
	if (!ret)
		ret = parse_map__list(ctx, node, "ports", &ports, &count);
	if (ret)
		return ret;
	if (count > CILIUM_MAX_PORTS) {
		parse_ctx__push_key(ctx, "ports");
		return parse_ctx__error(ctx, ports,
					"too many ports (%zu), the maximum is %d", count,
					CILIUM_MAX_PORTS);
	}
	out->ports = parse_ctx__calloc(ctx, count, sizeof(*out->ports), &ret);
	if (ret)
		return ret;
	out->port_count = count;
	ret = parse_seq__each(ctx, "ports", ports, count, parse_port_item, out->ports);
	if (ret)
		return ret;
	for (i = 0; i < count; i++)
		if (!out->ports[i].port && !out->ports[i].name)
			zero_port = true;

	rules = parse_map__field(ctx, node, "rules");
	if (rules) {
		saved = parse_ctx__push_key(ctx, "rules");
		ret = parse_l7_rules(ctx, rules, out, &l7);
		if (ret)
			return ret;
		/* Cilium's PortRule.sanitize() refuses all of these. */
		if (ingress && l7.dns)
			return parse_ctx__error(ctx, rules,
						"DNS rules are not allowed on ingress");
		if (l7.any && l7.dns && !count)
			return parse_ctx__error(
			    ctx, rules, "port 53 must be specified for DNS rules");
		for (i = 0; l7.any && i < count; i++) {
			const struct policy_port *p = &out->ports[i];

			if (!l7.dns && p->protocol != IPPROTO_TCP)
				return parse_ctx__error(ctx, rules,
							"L7 rules can only apply to TCP "
							"ports (ports[%zu] is not TCP), "
							"except for DNS rules",
							i);
			if (l7.dns && p->end_port)
				return parse_ctx__error(
				    ctx, rules, "DNS rules do not support port ranges");
		}
		if (l7.any && zero_port)
			return parse_ctx__error(
			    ctx, rules, "L7 rules can not be used when a port is 0");
		parse_ctx__restore(ctx, saved);
	}
	return deny ? 0 : parse_port_rule_extras(ctx, node, ingress, &l7);
}

static int icmp_type(struct parse_ctx *ctx, const yaml_node_t *node, bool ipv6,
		     uint16_t *out)
{
	const struct icmp_name *names = ipv6 ? icmp6_names : icmp4_names;
	long long value;
	const char *s;
	char *end;
	int ret;

	if (!node)
		return parse_ctx__error(ctx, NULL, "`type` is required");
	if (parse_node__is_int(node)) {
		ret = parse_node__int(ctx, node, &value);
		if (ret)
			return ret;
	} else {
		ret = parse_node__string(ctx, node, &s);
		if (ret)
			return ret;
		for (; names->name; names++) {
			if (!strcmp(names->name, s)) {
				*out = names->type;
				return 0;
			}
		}
		value = strtoll(s, &end, 10);
		if (!*s || *end || strlen(s) > 3)
			return parse_ctx__error(ctx, node,
						"unknown ICMP type `%s` for %s", s,
						ipv6 ? "IPv6" : "IPv4");
	}
	if (value < 0 || value > 255)
		return parse_ctx__error(ctx, node,
					"ICMP type %lld is out of range (0-255)", value);
	*out = (uint16_t)value;
	return 0;
}

/* One icmps[].fields[] entry {type, family} into an ICMP "port". */
static int parse_icmp_field_item(struct parse_ctx *ctx, const yaml_node_t *item,
				 size_t index, void *ports)
{
	struct policy_port *out = &((struct policy_port *)ports)[index];
	const yaml_node_t *family_node;
	const char *family = "IPv4";
	size_t saved;
	bool ipv6;
	int ret;

	ret = parse_map__check(ctx, item, icmp_field_fields, false);
	if (ret)
		return ret;
	family_node = parse_map__field(ctx, item, "family");
	saved = parse_ctx__push_key(ctx, "family");
	if (family_node) {
		ret = parse_node__string(ctx, family_node, &family);
		if (ret)
			return ret;
		if (strcmp(family, "IPv4") && strcmp(family, "IPv6"))
			return parse_ctx__error(ctx, family_node,
						"invalid family `%s` (expected IPv4 "
						"or IPv6)",
						family);
	}
	ipv6 = !strcmp(family, "IPv6");
	if (ipv6)
		parse_ctx__unsupported(ctx, family_node,
				       "ICMPv6 (family IPv6) is not supported yet");
	parse_ctx__restore(ctx, saved);

	saved = parse_ctx__push_key(ctx, "type");
	ret = icmp_type(ctx, parse_map__field(ctx, item, "type"), ipv6, &out->port);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	out->protocol = ipv6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	return 0;
}

/* icmps[] entry: {fields: [{type, family}]} into ICMP "ports". */
int parse_cilium_icmp_rule(struct parse_ctx *ctx, const yaml_node_t *node,
			   struct policy_port_rule *out)
{
	const yaml_node_t *fields;
	size_t count;
	int ret;

	if (parse_node__is_null(node))
		return 0;
	ret = parse_map__check(ctx, node, icmp_rule_fields, false);
	if (!ret)
		ret = parse_map__list(ctx, node, "fields", &fields, &count);
	if (ret)
		return ret;
	if (count > CILIUM_MAX_ICMP_FIELDS) {
		parse_ctx__push_key(ctx, "fields");
		return parse_ctx__error(ctx, fields,
					"too many ICMP types (%zu), the maximum is %d",
					count, CILIUM_MAX_ICMP_FIELDS);
	}
	out->ports = parse_ctx__calloc(ctx, count, sizeof(*out->ports), &ret);
	if (ret)
		return ret;
	out->port_count = count;
	return parse_seq__each(ctx, "fields", fields, count, parse_icmp_field_item,
			       out->ports);
}
