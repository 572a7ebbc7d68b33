// SPDX-License-Identifier: Apache-2.0
/*
 * The policy parser, case by case: the normalised model it builds (namespace
 * scoping, default deny, ports, peers) and the exact field, line and reason
 * of what it refuses.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "warden/policy.h"
#include "warden/prefix.h"

#define CNP_HEAD                                                                         \
	"apiVersion: cilium.io/v2\n"                                                     \
	"kind: CiliumNetworkPolicy\n"                                                    \
	"metadata:\n"                                                                    \
	"  name: p\n"
#define CCNP_HEAD                                                                        \
	"apiVersion: cilium.io/v2\n"                                                     \
	"kind: CiliumClusterwideNetworkPolicy\n"                                         \
	"metadata:\n"                                                                    \
	"  name: p\n"
#define KNP_HEAD                                                                         \
	"apiVersion: networking.k8s.io/v1\n"                                             \
	"kind: NetworkPolicy\n"                                                          \
	"metadata:\n"                                                                    \
	"  name: p\n"

static int parse(const char *yaml, struct policy_set *set, struct policy_diag *diag)
{
	return policy_parse_buffer("test.yaml", yaml, strlen(yaml), set, diag);
}

/* Parse what must succeed; returns the single spec of the single policy. */
static struct policy_spec *parse_one(const char *yaml, struct policy_set *set)
{
	struct policy_diag diag = {0};
	char message[1024];
	int ret = parse(yaml, set, &diag);

	if (ret) {
		policy_diag_entry__format(&diag.error, message, sizeof(message));
		fail_msg("unexpected parse error: %s", message);
	}
	assert_int_equal(set->count, 1);
	assert_int_equal(set->items[0].spec_count, 1);
	return &set->items[0].specs[0];
}

/* Parse what must fail; checks out is untouched and returns the error. */
static const struct policy_diag_entry *parse_fail(const char *yaml,
						  struct policy_diag *diag)
{
	struct policy_set set = {0};

	assert_int_equal(parse(yaml, &set, diag), -EINVAL);
	assert_true(diag->failed);
	assert_int_equal(set.count, 0);
	assert_null(set.items);
	return &diag->error;
}

static void assert_error(const struct policy_diag_entry *e, const char *field, int line,
			 const char *message_part, bool unsupported)
{
	if (strcmp(e->field, field) || e->line != line ||
	    !strstr(e->message, message_part) || e->unsupported != unsupported)
		fail_msg("error was line %d field \"%s\" message \"%s\" unsupported %d; "
			 "expected line %d field \"%s\" message containing \"%s\" "
			 "unsupported %d",
			 e->line, e->field, e->message, e->unsupported, line, field,
			 message_part, unsupported);
}

/* Does sel hold the requirement source:key op [value]? */
static bool has_req(const struct selector *sel, const char *source, const char *key,
		    enum selector_op op, const char *value)
{
	size_t i, j;

	for (i = 0; i < sel->count; i++) {
		const struct selector_requirement *r = &sel->requirements[i];

		if (strcmp(r->source, source) || strcmp(r->key, key) || r->op != op)
			continue;
		if (!value)
			return r->value_count == 0;
		for (j = 0; j < r->value_count; j++)
			if (!strcmp(r->values[j], value))
				return true;
	}
	return false;
}

static bool names_namespace(const struct selector *sel)
{
	size_t i;

	for (i = 0; i < sel->count; i++)
		if (!strcmp(sel->requirements[i].key, "io.kubernetes.pod.namespace"))
			return true;
	return false;
}

/* --- the model --- */

static void test_cnp_basic_model(void **state)
{
	static const char yaml[] = CNP_HEAD /* 1-4 */
	    "  namespace: prod\n"	    /* 5 */
	    "spec:\n"			    /* 6 */
	    "  description: web\n"	    /* 7 */
	    "  endpointSelector:\n"	    /* 8 */
	    "    matchLabels:\n"	    /* 9 */
	    "      app: web\n"		    /* 10 */
	    "  ingress:\n"		    /* 11 */
	    "  - fromEndpoints:\n"	    /* 12 */
	    "    - matchLabels:\n"	    /* 13 */
	    "        role: frontend\n"	    /* 14 */
	    "    toPorts:\n"		    /* 15 */
	    "    - ports:\n"		    /* 16 */
	    "      - port: \"80\"\n"	    /* 17 */
	    "        protocol: TCP\n"	    /* 18 */
	    "      - port: \"53\"\n";	    /* 19 */
	struct policy_set set = {0};
	struct policy_spec *spec = parse_one(yaml, &set);
	struct policy *p = &set.items[0];
	struct policy_rule *r;

	(void)state;
	assert_int_equal(p->kind, POLICY_KIND_CILIUM);
	assert_string_equal(p->name, "p");
	assert_string_equal(p->namespace, "prod");
	assert_string_equal(p->file, "test.yaml");
	assert_int_equal(p->document, 0);
	assert_int_equal(p->line, 1);
	assert_string_equal(p->source, yaml);
	assert_string_equal(spec->description, "web");
	assert_int_equal(spec->line, 7);

	assert_int_equal(spec->subject.count, 2);
	assert_true(has_req(&spec->subject, "any", "app", SELECTOR_OP_IN, "web"));
	assert_true(has_req(&spec->subject, "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_IN, "prod"));
	assert_true(spec->default_deny_ingress);
	assert_false(spec->default_deny_egress);

	assert_int_equal(spec->rule_count, 1);
	r = &spec->rules[0];
	assert_false(r->deny);
	assert_int_equal(r->direction, 0);
	assert_true(r->has_peers);
	assert_int_equal(r->line, 12);
	assert_int_equal(r->index, 0);
	assert_int_equal(r->endpoint_count, 1);
	assert_true(has_req(&r->endpoints[0], "any", "role", SELECTOR_OP_IN, "frontend"));
	assert_true(has_req(&r->endpoints[0], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_IN, "prod"));
	assert_int_equal(r->port_rule_count, 1);
	assert_int_equal(r->port_rules[0].port_count, 2);
	assert_int_equal(r->port_rules[0].ports[0].port, 80);
	assert_int_equal(r->port_rules[0].ports[0].protocol, IPPROTO_TCP);
	/* Cilium's default protocol is ANY. */
	assert_int_equal(r->port_rules[0].ports[1].port, 53);
	assert_int_equal(r->port_rules[0].ports[1].protocol, 0);
	assert_false(r->port_rules[0].has_http);
	policy_set__free(&set);
	assert_int_equal(set.count, 0);
}

static void test_cnp_default_namespace_and_entities(void **state)
{
	struct policy_set set = {0};
	struct policy_spec *spec =
	    parse_one(CNP_HEAD "spec:\n"
			       "  endpointSelector: {}\n"
			       "  egress:\n"
			       "  - toEntities: [world, kube-apiserver]\n"
			       "  - toEntities: [world-ipv4]\n",
		      &set);

	(void)state;
	assert_string_equal(set.items[0].namespace, "default");
	/* `{}` stays empty, then namespaced. */
	assert_int_equal(spec->subject.count, 1);
	assert_true(has_req(&spec->subject, "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_IN, "default"));
	assert_int_equal(spec->rule_count, 2);
	assert_int_equal(spec->rules[0].direction, 1);
	assert_int_equal(spec->rules[0].entities, POLICY_ENTITY_WORLD |
						      POLICY_ENTITY_WORLD_IPV6 |
						      POLICY_ENTITY_KUBE_APISERVER);
	assert_int_equal(spec->rules[1].entities, POLICY_ENTITY_WORLD);
	assert_true(spec->default_deny_egress);
	assert_false(spec->default_deny_ingress);
	policy_set__free(&set);
}

static void test_cnp_peer_namespace_scoping(void **state)
{
	struct policy_set set = {0};
	struct policy_spec *spec = parse_one(
	    CNP_HEAD "  namespace: ns1\n"
		     "spec:\n"
		     "  endpointSelector: {}\n"
		     "  ingress:\n"
		     "  - fromEndpoints:\n"
		     "    - {}\n"
		     "    - matchLabels: {k8s:io.kubernetes.pod.namespace: ns2}\n"
		     "    - matchExpressions:\n"
		     "      - {key: io.kubernetes.pod.namespace, operator: Exists}\n"
		     "    - matchLabels: {\"reserved:host\": \"\"}\n"
		     "    - matchLabels: {io.cilium.k8s.namespace.labels.team: a}\n"
		     "  - fromRequires:\n"
		     "    - matchLabels: {env: prod}\n",
	    &set);
	const struct policy_rule *r = &spec->rules[0];

	(void)state;
	assert_int_equal(r->endpoint_count, 5);
	/* {} means every endpoint of the policy's namespace. */
	assert_int_equal(r->endpoints[0].count, 1);
	assert_true(has_req(&r->endpoints[0], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_IN, "ns1"));
	/* Naming the namespace key (any source) opts out of the pinning. */
	assert_int_equal(r->endpoints[1].count, 1);
	assert_true(has_req(&r->endpoints[1], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_IN, "ns2"));
	assert_int_equal(r->endpoints[2].count, 1);
	assert_true(has_req(&r->endpoints[2], "any", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_EXISTS, NULL));
	/* Reserved identities have no namespace. */
	assert_int_equal(r->endpoints[3].count, 1);
	assert_true(has_req(&r->endpoints[3], "reserved", "host", SELECTOR_OP_IN, ""));
	/* Namespace labels choose the namespaces themselves. */
	assert_int_equal(r->endpoints[4].count, 1);
	assert_false(names_namespace(&r->endpoints[4]));

	r = &spec->rules[1];
	assert_true(r->has_peers);
	assert_int_equal(r->require_count, 1);
	assert_true(has_req(&r->requires[0], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_IN, "ns1"));
	policy_set__free(&set);
}

static void test_ccnp_scoping(void **state)
{
	struct policy_set set = {0};
	struct policy_diag diag = {0};
	struct policy_spec *spec;
	const struct policy_rule *r;

	(void)state;
	/* Clusterwide: nothing pins a namespace; peers must be pods. */
	assert_int_equal(parse(CCNP_HEAD
			       "  namespace: ignored\n"
			       "spec:\n"
			       "  endpointSelector: {matchLabels: {app: dns}}\n"
			       "  ingress:\n"
			       "  - fromEndpoints: [{}, {matchLabels: {a: b}}]\n"
			       "---\n" CCNP_HEAD "spec:\n"
			       "  endpointSelector:\n"
			       "    matchLabels: {\"reserved:init\": \"\"}\n"
			       "  egress:\n"
			       "  - toEndpoints: [{}]\n",
			       &set, &diag),
			 0);
	assert_int_equal(set.count, 2);
	assert_null(set.items[0].namespace);
	assert_int_equal(set.items[0].kind, POLICY_KIND_CILIUM_CLUSTERWIDE);
	assert_int_equal(diag.warning_count, 1);
	assert_string_equal(diag.warnings[0].field, "metadata.namespace");

	spec = &set.items[0].specs[0];
	assert_int_equal(spec->subject.count, 1);
	assert_false(names_namespace(&spec->subject));
	r = &spec->rules[0];
	assert_int_equal(r->endpoint_count, 2);
	assert_int_equal(r->endpoints[0].count, 1);
	assert_true(has_req(&r->endpoints[0], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_EXISTS, NULL));
	assert_true(has_req(&r->endpoints[1], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_EXISTS, NULL));

	/* A subject of init endpoints talks to peers that have no labels. */
	spec = &set.items[1].specs[0];
	assert_int_equal(spec->rules[0].endpoints[0].count, 0);
	policy_set__free(&set);
}

static void test_knp_model(void **state)
{
	static const char yaml[] = KNP_HEAD /* 1-4 */
	    "  namespace: shop\n"	    /* 5 */
	    "spec:\n"			    /* 6 */
	    "  podSelector:\n"		    /* 7 */
	    "    matchLabels: {app: db}\n"  /* 8 */
	    "  ingress:\n"		    /* 9 */
	    "  - from:\n"		    /* 10 */
	    "    - namespaceSelector:\n"    /* 11: one peer, AND */
	    "        matchLabels: {team: ops}\n"
	    "      podSelector:\n"
	    "        matchLabels: {type: monitoring}\n"
	    "  - from:\n" /* 15: two peers, OR */
	    "    - namespaceSelector:\n"
	    "        matchLabels: {team: ops}\n"
	    "    - podSelector:\n"
	    "        matchLabels: {type: monitoring}\n"
	    "    ports:\n"
	    "    - port: 5432\n"
	    "    - port: metrics\n"
	    "      protocol: UDP\n"
	    "    - port: 8000\n"
	    "      endPort: 8080\n"
	    "  - from:\n" /* 26 */
	    "    - ipBlock:\n"
	    "        cidr: 10.0.0.0/8\n"
	    "        except: [10.1.0.0/16, 10.2.0.0/16]\n"
	    "    - namespaceSelector: {}\n"
	    "  - {}\n" /* 31 */
	    "  egress:\n"
	    "  - to: []\n";
	struct policy_set set = {0};
	struct policy_spec *spec = parse_one(yaml, &set);
	const struct policy_rule *r;
	const struct policy_port *ports;
	char buf[64];

	(void)state;
	assert_int_equal(set.items[0].kind, POLICY_KIND_K8S);
	assert_string_equal(set.items[0].namespace, "shop");
	assert_true(has_req(&spec->subject, "k8s", "app", SELECTOR_OP_IN, "db"));
	assert_true(has_req(&spec->subject, "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_IN, "shop"));
	/* No policyTypes: Ingress always, Egress because there are egress rules. */
	assert_true(spec->default_deny_ingress);
	assert_true(spec->default_deny_egress);
	assert_int_equal(spec->rule_count, 5);

	/* namespaceSelector + podSelector in one peer: one selector (AND). */
	r = &spec->rules[0];
	assert_int_equal(r->line, 10);
	assert_int_equal(r->endpoint_count, 1);
	assert_int_equal(r->endpoints[0].count, 3);
	assert_true(
	    has_req(&r->endpoints[0], "k8s", "type", SELECTOR_OP_IN, "monitoring"));
	assert_true(has_req(&r->endpoints[0], "k8s",
			    "io.cilium.k8s.namespace.labels.team", SELECTOR_OP_IN,
			    "ops"));
	assert_true(has_req(&r->endpoints[0], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_EXISTS, NULL));
	assert_int_equal(r->port_rule_count, 0);

	/* Two peers: two selectors (OR); the podSelector one is pinned. */
	r = &spec->rules[1];
	assert_int_equal(r->endpoint_count, 2);
	assert_int_equal(r->endpoints[0].count, 2);
	assert_true(has_req(&r->endpoints[0], "k8s",
			    "io.cilium.k8s.namespace.labels.team", SELECTOR_OP_IN,
			    "ops"));
	assert_true(has_req(&r->endpoints[0], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_EXISTS, NULL));
	assert_int_equal(r->endpoints[1].count, 2);
	assert_true(
	    has_req(&r->endpoints[1], "k8s", "type", SELECTOR_OP_IN, "monitoring"));
	assert_true(has_req(&r->endpoints[1], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_IN, "shop"));
	assert_int_equal(r->port_rule_count, 1);
	assert_int_equal(r->port_rules[0].port_count, 3);
	ports = r->port_rules[0].ports;
	assert_int_equal(ports[0].port, 5432);
	assert_int_equal(ports[0].protocol, IPPROTO_TCP); /* Kubernetes' default */
	assert_null(ports[0].name);
	assert_string_equal(ports[1].name, "metrics");
	assert_int_equal(ports[1].port, 0);
	assert_int_equal(ports[1].protocol, IPPROTO_UDP);
	assert_int_equal(ports[2].port, 8000);
	assert_int_equal(ports[2].end_port, 8080);

	/* ipBlock with except; an empty namespaceSelector = every pod. */
	r = &spec->rules[2];
	assert_int_equal(r->cidr_count, 1);
	policy_prefix__format(&r->cidrs[0].prefix, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8");
	assert_int_equal(r->cidrs[0].except_count, 2);
	policy_prefix__format(&r->cidrs[0].except[1], buf, sizeof(buf));
	assert_string_equal(buf, "10.2.0.0/16");
	/* Kubernetes' ipBlock selects pod addresses too (Cilium's CIDRs not). */
	assert_true(r->cidrs[0].selects_pods);
	assert_int_equal(r->endpoint_count, 1);
	assert_int_equal(r->endpoints[0].count, 1);
	assert_true(has_req(&r->endpoints[0], "k8s", "io.kubernetes.pod.namespace",
			    SELECTOR_OP_EXISTS, NULL));

	/* `- {}` and `to: []`: every peer (world included), every port. */
	r = &spec->rules[3];
	assert_int_equal(r->line, 31);
	assert_false(r->has_peers);
	assert_int_equal(r->port_rule_count, 0);
	r = &spec->rules[4];
	assert_int_equal(r->direction, 1);
	assert_false(r->has_peers);
	policy_set__free(&set);
}

static void test_knp_policy_types(void **state)
{
	struct policy_set set = {0};
	struct policy_diag diag = {0};
	struct policy_spec *spec;

	(void)state;
	/* `ingress: []` (or none) with type Ingress: deny all ingress. */
	spec = parse_one(KNP_HEAD "spec:\n"
				  "  podSelector: {}\n"
				  "  ingress: []\n"
				  "  egress: []\n",
			 &set);
	assert_true(spec->default_deny_ingress);
	assert_false(spec->default_deny_egress); /* no egress rules, no Egress */
	assert_int_equal(spec->rule_count, 0);
	policy_set__free(&set);

	spec = parse_one(KNP_HEAD "spec:\n"
				  "  podSelector:\n"
				  "    matchLabels:\n"
				  "  policyTypes: [Egress]\n",
			 &set);
	assert_false(spec->default_deny_ingress);
	assert_true(spec->default_deny_egress);
	assert_int_equal(spec->subject.count, 1);
	policy_set__free(&set);

	assert_error(parse_fail(KNP_HEAD "spec:\n"
					 "  podSelector: {}\n"
					 "  policyTypes: [ingress]\n",
				&diag),
		     "spec.policyTypes[0]", 7, "invalid policy type `ingress`", false);

	/* Rules of a type policyTypes leaves out are dropped, with a warning. */
	assert_int_equal(parse(KNP_HEAD "spec:\n"
					"  podSelector: {}\n"
					"  policyTypes: [Egress]\n"
					"  ingress:\n"
					"  - {}\n",
			       &set, &diag),
			 0);
	assert_int_equal(set.items[0].specs[0].rule_count, 0);
	assert_int_equal(diag.warning_count, 1);
	policy_set__free(&set);
}

static void test_default_deny_resolution(void **state)
{
	struct policy_set set = {0};
	struct policy_spec *spec;

	(void)state;
	/* `ingress: [{}]`: default deny, and the element allows nothing. */
	spec = parse_one(CNP_HEAD "spec:\n"
				  "  endpointSelector: {}\n"
				  "  ingress:\n"
				  "  - {}\n",
			 &set);
	assert_true(spec->default_deny_ingress);
	assert_false(spec->default_deny_egress);
	assert_int_equal(spec->rule_count, 0);
	policy_set__free(&set);

	/* An empty list does not count for Cilium. */
	spec = parse_one(CNP_HEAD "spec:\n"
				  "  endpointSelector: {}\n"
				  "  ingress: []\n"
				  "  egress: []\n",
			 &set);
	assert_false(spec->default_deny_ingress);
	assert_false(spec->default_deny_egress);
	policy_set__free(&set);

	/* Deny rules count too; enableDefaultDeny overrides both ways. */
	spec = parse_one(CNP_HEAD "spec:\n"
				  "  endpointSelector: {}\n"
				  "  enableDefaultDeny:\n"
				  "    ingress: false\n"
				  "    egress: true\n"
				  "  ingressDeny:\n"
				  "  - fromEntities: [world]\n",
			 &set);
	assert_false(spec->default_deny_ingress);
	assert_true(spec->default_deny_egress);
	assert_int_equal(spec->rule_count, 1);
	assert_true(spec->rules[0].deny);
	policy_set__free(&set);

	spec = parse_one(CNP_HEAD "spec:\n"
				  "  endpointSelector: {}\n"
				  "  egressDeny:\n"
				  "  - toPorts:\n"
				  "    - ports: [{port: \"25\", protocol: TCP}]\n",
			 &set);
	assert_true(spec->default_deny_egress);
	assert_int_equal(spec->rule_count, 1);
	assert_true(spec->rules[0].deny);
	/* Only toPorts: from every peer. */
	assert_false(spec->rules[0].has_peers);
	policy_set__free(&set);
}

static void test_empty_peer_list_selects_nothing(void **state)
{
	struct policy_set set = {0};
	struct policy_spec *spec;

	(void)state;
	/* `fromEndpoints: []` must not turn into "every peer". */
	spec = parse_one(CNP_HEAD "spec:\n"
				  "  endpointSelector: {}\n"
				  "  ingress:\n"
				  "  - fromEndpoints: []\n"
				  "    toPorts:\n"
				  "    - ports: [{port: \"80\"}]\n",
			 &set);
	assert_int_equal(spec->rule_count, 1);
	assert_true(spec->rules[0].has_peers);
	assert_int_equal(spec->rules[0].endpoint_count, 0);
	policy_set__free(&set);
}

/* --- ports --- */

static void test_ports(void **state)
{
	struct policy_set set = {0};
	const struct policy_port *ports;
	struct policy_spec *spec;

	(void)state;
	spec = parse_one(CNP_HEAD "spec:\n"
				  "  endpointSelector: {}\n"
				  "  egress:\n"
				  "  - toPorts:\n"
				  "    - ports:\n"
				  "      - {port: http, protocol: TCP}\n"
				  "      - {port: HTTPS-Alt}\n"
				  "      - {port: 8080, endPort: 8090, protocol: UDP}\n"
				  "      - {port: \"0\", protocol: SCTP}\n"
				  "      - {protocol: VRRP}\n"
				  "      - {port: \"443\", endPort: 443}\n",
			 &set);
	ports = spec->rules[0].port_rules[0].ports;
	assert_int_equal(spec->rules[0].port_rules[0].port_count, 6);
	assert_string_equal(ports[0].name, "http");
	assert_int_equal(ports[0].port, 0);
	/* Cilium compares port names without case. */
	assert_string_equal(ports[1].name, "https-alt");
	assert_int_equal(ports[2].port, 8080);
	assert_int_equal(ports[2].end_port, 8090);
	assert_int_equal(ports[2].protocol, IPPROTO_UDP);
	assert_int_equal(ports[3].port, 0);
	assert_int_equal(ports[3].protocol, IPPROTO_SCTP);
	assert_int_equal(ports[4].protocol, 112);
	assert_int_equal(ports[5].port, 443);
	assert_int_equal(ports[5].end_port, 0);
	policy_set__free(&set);
}

#define PORT_DOC(ports_yaml)                                                             \
	CNP_HEAD "spec:\n" /* 5 */                                                       \
		 "  endpointSelector: {}\n"                                              \
		 "  ingress:\n"                                                          \
		 "  - toPorts:\n"                                                        \
		 "    - ports:\n"	    /* 9 */                                      \
		 "      - " ports_yaml "\n" /* 10 */

static void test_bad_ports(void **state)
{
	struct policy_diag diag = {0};
	const char *field = "spec.ingress[0].toPorts[0].ports[0].port";

	(void)state;
	assert_error(parse_fail(PORT_DOC("port: \"70000\""), &diag), field, 10,
		     "port 70000 is out of range", false);
	assert_error(parse_fail(PORT_DOC("port: 65536"), &diag), field, 10,
		     "port 65536 is out of range (0-65535)", false);
	assert_error(
	    parse_fail(PORT_DOC("port: REMOVE_ME_AFTER_DOUBLE_CHECKING_PORTS"), &diag),
	    field, 10, "invalid port `REMOVE_ME_AFTER_DOUBLE_CHECKING_PORTS`", false);
	assert_error(parse_fail(PORT_DOC("port: web--admin"), &diag), field, 10,
		     "invalid port `web--admin`", false);
	assert_error(parse_fail(PORT_DOC("port: \"-http\""), &diag), field, 10,
		     "invalid port", false);
	assert_error(parse_fail(PORT_DOC("port: averyveryverylongname"), &diag), field,
		     10, "invalid port", false);

	field = "spec.ingress[0].toPorts[0].ports[0].endPort";
	assert_error(parse_fail(PORT_DOC("{port: \"90\", endPort: 80}"), &diag), field,
		     10, "endPort 80 must be between port (90) and 65535", false);
	assert_error(parse_fail(PORT_DOC("{port: http, endPort: 80}"), &diag), field, 10,
		     "endPort requires a numeric port", false);
	assert_error(parse_fail(PORT_DOC("{endPort: 80}"), &diag), field, 10,
		     "endPort requires port", false);
	assert_error(parse_fail(PORT_DOC("{port: \"80\", endPort: \"90\"}"), &diag),
		     field, 10, "expected an integer", false);

	field = "spec.ingress[0].toPorts[0].ports[0].protocol";
	assert_error(parse_fail(PORT_DOC("{port: \"80\", protocol: tcp}"), &diag), field,
		     10, "invalid protocol `tcp`", false);
	assert_error(parse_fail(PORT_DOC("{port: \"80\", protocol: VRRP}"), &diag),
		     "spec.ingress[0].toPorts[0].ports[0].port", 10,
		     "protocol VRRP has no ports", false);
	assert_error(parse_fail(PORT_DOC("{port: \"80\", proto: TCP}"), &diag),
		     "spec.ingress[0].toPorts[0].ports[0].proto", 10,
		     "unknown field `proto`", false);
}

static void test_knp_bad_ports(void **state)
{
	struct policy_diag diag = {0};
	const char *head = KNP_HEAD "spec:\n"
				    "  podSelector: {}\n"
				    "  ingress:\n"
				    "  - ports:\n";
	char yaml[1024];

	(void)state;
	/* A quoted number is a (bad) port name in Kubernetes. */
	snprintf(yaml, sizeof(yaml), "%s    - port: \"80\"\n", head);
	assert_error(parse_fail(yaml, &diag), "spec.ingress[0].ports[0].port", 9,
		     "write the number without quotes", false);
	snprintf(yaml, sizeof(yaml), "%s    - port: 0\n", head);
	assert_error(parse_fail(yaml, &diag), "spec.ingress[0].ports[0].port", 9,
		     "port 0 is out of range (1-65535)", false);
	/* Kubernetes port names are lower case. */
	snprintf(yaml, sizeof(yaml), "%s    - port: HTTP\n", head);
	assert_error(parse_fail(yaml, &diag), "spec.ingress[0].ports[0].port", 9,
		     "invalid port `HTTP`", false);
	snprintf(yaml, sizeof(yaml), "%s    - {port: 80, protocol: ANY}\n", head);
	assert_error(parse_fail(yaml, &diag), "spec.ingress[0].ports[0].protocol", 9,
		     "invalid protocol `ANY` (expected TCP, UDP or SCTP)", false);
}

static void test_icmps(void **state)
{
	struct policy_set set = {0};
	struct policy_diag diag = {0};
	const struct policy_port_rule *pr;
	struct policy_spec *spec;

	(void)state;
	spec = parse_one(CNP_HEAD "spec:\n"
				  "  endpointSelector: {}\n"
				  "  egress:\n"
				  "  - icmps:\n"
				  "    - fields:\n"
				  "      - {type: 8, family: IPv4}\n"
				  "      - {type: EchoReply}\n"
				  "      - {type: DestinationUnreachable}\n",
			 &set);
	assert_int_equal(spec->rule_count, 1);
	assert_false(spec->rules[0].has_peers);
	assert_int_equal(spec->rules[0].port_rule_count, 1);
	pr = &spec->rules[0].port_rules[0];
	assert_int_equal(pr->port_count, 3);
	assert_int_equal(pr->ports[0].protocol, IPPROTO_ICMP);
	assert_int_equal(pr->ports[0].port, 8);
	assert_int_equal(pr->ports[1].port, 0);
	assert_int_equal(pr->ports[2].port, 3);
	policy_set__free(&set);

	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - icmps:\n"
					 "    - fields:\n"
					 "      - {type: 128, family: IPv6}\n",
				&diag),
		     "spec.egress[0].icmps[0].fields[0].family", 10,
		     "ICMPv6 (family IPv6) is not supported yet", true);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - icmps:\n"
					 "    - fields:\n"
					 "      - {type: PacketTooBig}\n",
				&diag),
		     "spec.egress[0].icmps[0].fields[0].type", 10,
		     "unknown ICMP type `PacketTooBig` for IPv4", false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - icmps: [{fields: [{type: 8}]}]\n"
					 "    toPorts: [{ports: [{port: \"80\"}]}]\n",
				&diag),
		     "spec.egress[0]", 8, "icmps may only be given without toPorts",
		     false);
}

/* --- L7 --- */

static const char http_doc[] = CNP_HEAD /* 1-4 */
    "spec:\n"				/* 5 */
    "  endpointSelector: {}\n"		/* 6 */
    "  ingress:\n"			/* 7 */
    "  - toPorts:\n"			/* 8 */
    "    - ports:\n"			/* 9 */
    "      - port: \"80\"\n"		/* 10 */
    "        protocol: TCP\n"		/* 11 */
    "      rules:\n"			/* 12 */
    "        http:\n"			/* 13 */
    "        - method: GET\n"		/* 14 */
    "          path: \"/public$\"\n"
    "          host: \"^api\\\\.example\\\\.com$\"\n"
    "          headers:\n"
    "          - 'X-My-Header: true'\n"
    "          - X-Present\n"
    "          headerMatches:\n"
    "          - name: X-Token\n"
    "            value: abc\n"
    "            mismatch: LOG\n"
    "        - {}\n";

static void test_http_parsed_but_unsupported(void **state)
{
	struct policy_diag diag = {0};

	(void)state;
	assert_error(parse_fail(http_doc, &diag), "spec.ingress[0].toPorts[0].rules.http",
		     14, "L7 HTTP rules are not supported yet", true);
}

static void test_http_model(void **state)
{
	struct policy_set set = {0};
	struct policy_diag diag = {.allow_http = true};
	const struct policy_port_rule *pr;
	const struct policy_http_rule *h;

	(void)state;
	assert_int_equal(parse(http_doc, &set, &diag), 0);
	/* The switch is the caller's; a parse leaves it as it was. */
	assert_true(diag.allow_http);
	pr = &set.items[0].specs[0].rules[0].port_rules[0];
	assert_true(pr->has_http);
	assert_int_equal(pr->http_count, 2);
	h = &pr->http[0];
	assert_string_equal(h->method, "GET");
	assert_string_equal(h->path, "/public$");
	assert_string_equal(h->host, "^api\\.example\\.com$");
	assert_int_equal(h->header_count, 3);
	assert_string_equal(h->headers[0].name, "X-My-Header");
	assert_string_equal(h->headers[0].value, "true");
	assert_string_equal(h->headers[1].name, "X-Present");
	assert_null(h->headers[1].value);
	assert_string_equal(h->headers[2].name, "X-Token");
	assert_string_equal(h->headers[2].value, "abc");
	assert_string_equal(h->headers[2].mismatch, "LOG");
	/* `- {}` allows every request. */
	h = &pr->http[1];
	assert_null(h->method);
	assert_null(h->path);
	assert_int_equal(h->header_count, 0);
	policy_set__free(&set);
}

static void test_http_invalid(void **state)
{
	struct policy_diag diag = {.allow_http = true};

	(void)state;
	/* A bad L7 rule is a real error, whatever allow_http says. */
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  ingress:\n"
					 "  - toPorts:\n"
					 "    - ports: [{port: \"53\", protocol: UDP}]\n"
					 "      rules:\n"
					 "        http: [{method: GET}]\n",
				&diag),
		     "spec.ingress[0].toPorts[0].rules", 11,
		     "L7 rules can only apply to TCP", false);
	diag.allow_http = false;
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  ingress:\n"
					 "  - toPorts:\n"
					 "    - ports: [{port: \"80\", protocol: TCP}]\n"
					 "      rules:\n"
					 "        http: [{path: \"/a(\"}]\n",
				&diag),
		     "spec.ingress[0].toPorts[0].rules.http[0].path", 11,
		     "invalid regular expression", false);
}

/* --- unsupported features --- */

static void test_unsupported_features(void **state)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};

	(void)state;
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toFQDNs:\n"
					 "    - matchName: example.com\n",
				&diag),
		     "spec.egress[0].toFQDNs", 9, "toFQDNs is not supported yet", true);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toServices: [{}]\n",
				&diag),
		     "spec.egress[0].toServices", 8, "toServices is not supported yet",
		     true);
	assert_error(parse_fail(CCNP_HEAD "spec:\n"
					  "  nodeSelector: {}\n",
				&diag),
		     "spec.nodeSelector", 6,
		     "nodeSelector (host policies) is not supported yet", true);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toEndpoints: [{}]\n"
					 "    authentication: {mode: required}\n",
				&diag),
		     "spec.egress[0].authentication.mode", 9, "not supported yet", true);

	/* The no-op mutual-auth forms are accepted. */
	assert_int_equal(parse(CNP_HEAD "spec:\n"
					"  endpointSelector: {}\n"
					"  egress:\n"
					"  - toEndpoints: [{}]\n"
					"    auth: {type: \"null\"}\n"
					"  - toEndpoints: [{}]\n"
					"    authentication: {mode: disabled}\n",
			       &set, &diag),
			 0);
	policy_set__free(&set);

	/* A real error anywhere in the file wins over an unsupported feature. */
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toFQDNs: [{matchName: example.com}]\n"
					 "---\n" CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toEntities: [moon]\n",
				&diag),
		     "spec.egress[0].toEntities[0]", 17, "unknown entity `moon`", false);
	assert_int_equal(diag.error.document, 1);
}

/* --- validation errors --- */

static void test_unknown_fields(void **state)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};

	(void)state;
	/* Inside spec: Cilium's CRD schema is strict. */
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  ingress:\n"
					 "  - fromEndpoints:\n"
					 "    - matchLabels:\n"
					 "      role: frontend\n",
				&diag),
		     "spec.ingress[0].fromEndpoints[0].role", 10, "unknown field `role`",
		     false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  podSelector: {}\n",
				&diag),
		     "spec.podSelector", 6, "unknown field `podSelector`", false);

	/* At the top and in metadata: a warning, the policy is accepted. */
	assert_int_equal(parse("apiVersion: cilium.io/v2\n"
			       "kind: CiliumNetworkPolicy\n"
			       "description: top\n"
			       "metadata:\n"
			       "  name: p\n"
			       "  description: meta\n"
			       "spec:\n"
			       "  endpointSelector: {}\n",
			       &set, &diag),
			 0);
	assert_int_equal(set.count, 1);
	assert_int_equal(diag.warning_count, 2);
	assert_string_equal(diag.warnings[0].field, "description");
	assert_int_equal(diag.warnings[0].line, 3);
	assert_string_equal(diag.warnings[1].field, "metadata.description");
	assert_int_equal(diag.warnings[1].line, 6);
	assert_non_null(strstr(diag.warnings[1].message, "unknown field `description`"));
	policy_set__free(&set);
}

static void test_wrong_types(void **state)
{
	struct policy_diag diag = {0};

	(void)state;
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "    toCIDR: [1.2.3.4/32]\n",
				&diag),
		     "spec.egress", 8, "expected a list, got a mapping", false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toCIDR:\n"
					 "      ip: 8.8.8.8/32\n",
				&diag),
		     "spec.egress[0].toCIDR", 9, "expected a list", false);
	/* `true` is not the string "true" (quote it). */
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector:\n"
					 "    matchLabels:\n"
					 "      egress-node: true\n",
				&diag),
		     "spec.endpointSelector.matchLabels.egress-node", 8,
		     "expected a string, got a boolean `true`", false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  enableDefaultDeny: {ingress: \"yes\"}\n",
				&diag),
		     "spec.enableDefaultDeny.ingress", 7, "expected true or false",
		     false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  endpointSelector: {}\n",
				&diag),
		     "spec.endpointSelector", 7, "duplicate field `endpointSelector`",
		     false);
}

static void test_selectors(void **state)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};
	struct policy_spec *spec;

	(void)state;
	spec = parse_one(CNP_HEAD
			 "spec:\n"
			 "  endpointSelector:\n"
			 "    matchLabels: null\n"
			 "    matchExpressions:\n"
			 "    - {key: \"k8s:tier\", operator: NotIn, values: [a, b]}\n"
			 "    - {key: legacy, operator: DoesNotExist}\n",
			 &set);
	assert_int_equal(spec->subject.count, 3);
	assert_true(has_req(&spec->subject, "k8s", "tier", SELECTOR_OP_NOT_IN, "b"));
	assert_true(
	    has_req(&spec->subject, "any", "legacy", SELECTOR_OP_DOES_NOT_EXIST, NULL));
	policy_set__free(&set);

	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector:\n"
					 "    matchExpressions:\n"
					 "    - key: app\n"
					 "      operator: in\n"
					 "      values: [a]\n",
				&diag),
		     "spec.endpointSelector.matchExpressions[0].operator", 9,
		     "invalid operator `in`", false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector:\n"
					 "    matchExpressions:\n"
					 "    - {key: app, operator: In}\n",
				&diag),
		     "spec.endpointSelector.matchExpressions[0].values", 8,
		     "`values` must be non-empty for operator In", false);
	assert_error(parse_fail(CNP_HEAD
				"spec:\n"
				"  endpointSelector:\n"
				"    matchExpressions:\n"
				"    - {key: app, operator: Exists, values: [a]}\n",
				&diag),
		     "spec.endpointSelector.matchExpressions[0].values", 8,
		     "`values` must be empty for operator Exists", false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector:\n"
					 "    matchLabels: {\"bad key!\": x}\n",
				&diag),
		     "spec.endpointSelector.matchLabels.bad key!", 7, "invalid label key",
		     false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector:\n"
					 "    matchLabels: {app: \"-x-\"}\n",
				&diag),
		     "spec.endpointSelector.matchLabels.app", 7, "invalid label value",
		     false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector:\n"
					 "    matchLabels: {\"moon:app\": x}\n",
				&diag),
		     "spec.endpointSelector.matchLabels.moon:app", 7,
		     "unknown label source `moon`", false);
}

static void test_cidrs(void **state)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};
	struct policy_spec *spec;
	char buf[64];

	(void)state;
	spec = parse_one(CNP_HEAD "spec:\n"
				  "  endpointSelector: {}\n"
				  "  egress:\n"
				  "  - toCIDR: [192.0.2.7, 2001:db8::/32]\n"
				  "  - toCIDRSet:\n"
				  "    - cidr: 0.0.0.0/0\n"
				  "      except: [10.0.0.0/8]\n",
			 &set);
	assert_int_equal(spec->rules[0].cidr_count, 2);
	policy_prefix__format(&spec->rules[0].cidrs[0].prefix, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.7/32");
	assert_int_equal(spec->rules[0].cidrs[1].prefix.family, 6);
	assert_int_equal(spec->rules[1].cidrs[0].except_count, 1);
	/* Cilium's rule: CIDRs do not select endpoints. */
	assert_false(spec->rules[0].cidrs[0].selects_pods);
	assert_false(spec->rules[1].cidrs[0].selects_pods);
	policy_set__free(&set);

	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toCIDR: [20.1.1.1/32]\n"
					 "    toCIDRSet: [{cidr: 10.0.0.0/8}]\n",
				&diag),
		     "spec.egress[0]", 8,
		     "combining toCIDR and toCIDRSet in one rule is not supported",
		     false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toCIDR: [10.0.0.1/8]\n",
				&diag),
		     "spec.egress[0].toCIDR[0]", 8,
		     "CIDR `10.0.0.1/8` has host bits set (did you mean `10.0.0.0/8`?)",
		     false);
	assert_error(parse_fail(CNP_HEAD "spec:\n"
					 "  endpointSelector: {}\n"
					 "  egress:\n"
					 "  - toCIDRSet:\n"
					 "    - cidr: 10.0.0.0/8\n"
					 "      except: [192.168.0.0/16]\n",
				&diag),
		     "spec.egress[0].toCIDRSet[0].except[0]", 10, "is not inside cidr",
		     false);
	/* An ipBlock with host bits (Kubernetes' e2e suite writes `podIP/4`):
	 * read with them cleared, and a warning naming both. */
	{
		struct policy_diag warn = {0};
		struct policy_rule *r;

		assert_int_equal(parse(KNP_HEAD
				       "spec:\n"
				       "  podSelector: {}\n"
				       "  egress:\n"
				       "  - to:\n"
				       "    - ipBlock: {cidr: 10.200.0.5/4, except: "
				       "[10.200.0.5/32]}\n",
				       &set, &warn),
				 0);
		r = &set.items[0].specs[0].rules[0];
		policy_prefix__format(&r->cidrs[0].prefix, buf, sizeof(buf));
		assert_string_equal(buf, "0.0.0.0/4");
		policy_prefix__format(&r->cidrs[0].except[0], buf, sizeof(buf));
		assert_string_equal(buf, "10.200.0.5/32");
		assert_int_equal(warn.warning_count, 1);
		assert_non_null(strstr(warn.warnings[0].message,
				       "`10.200.0.5/4` has host bits set: read as "
				       "`0.0.0.0/4`"));
		policy_set__free(&set);
	}
	assert_error(
	    parse_fail(KNP_HEAD
		       "spec:\n"
		       "  podSelector: {}\n"
		       "  ingress:\n"
		       "  - from:\n"
		       "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}\n",
		       &diag),
	    "spec.ingress[0].from[0].ipBlock.except[0]", 9,
	    "must be a strict subset of cidr", false);
	assert_error(parse_fail(KNP_HEAD "spec:\n"
					 "  podSelector: {}\n"
					 "  ingress:\n"
					 "  - from:\n"
					 "    - ipBlock: {cidr: 10.0.0.0/8}\n"
					 "      podSelector: {}\n",
				&diag),
		     "spec.ingress[0].from[0]", 9, "ipBlock cannot be combined", false);
}

static void test_kinds_and_metadata(void **state)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};

	(void)state;
	assert_error(parse_fail("apiversion: cilium.io/v2\n"
				"kind: CiliumNetworkPolicy\n"
				"metadata: {name: p}\n"
				"spec: {endpointSelector: {}}\n",
				&diag),
		     "apiVersion", 1,
		     "`apiVersion` is missing (kind CiliumNetworkPolicy)", false);
	assert_non_null(strstr(diag.error.message, "`apiversion`"));
	assert_error(parse_fail("apiVersion: cilium.io/v1\n"
				"kind: CiliumNetworkPolicy\n"
				"metadata: {name: p}\n"
				"spec: {endpointSelector: {}}\n",
				&diag),
		     "apiVersion", 1, "apiVersion `cilium.io/v1` is not supported",
		     false);
	assert_error(parse_fail("apiVersion: extensions/v1beta1\n"
				"kind: NetworkPolicy\n"
				"metadata: {name: p}\n"
				"spec: {podSelector: {}}\n",
				&diag),
		     "apiVersion", 1, "apiVersion `extensions/v1beta1` is not supported",
		     false);
	assert_error(parse_fail("apiVersion: v1\n"
				"kind: Service\n"
				"metadata: {name: p}\n",
				&diag),
		     "kind", 2,
		     "kind `Service` (apiVersion `v1`) is not a network policy", false);
	assert_error(parse_fail("apiVersion: cilium.io/v2\n"
				"kind: CiliumNetworkPolicy\n"
				"metadata: {name: Bad_Name}\n"
				"spec: {endpointSelector: {}}\n",
				&diag),
		     "metadata.name", 3, "invalid name `Bad_Name`", false);
	assert_error(parse_fail("apiVersion: cilium.io/v2\n"
				"kind: CiliumNetworkPolicy\n"
				"metadata: {namespace: x}\n"
				"spec: {endpointSelector: {}}\n",
				&diag),
		     "metadata.name", 3, "`name` is required", false);
	assert_error(parse_fail(CNP_HEAD, &diag), "spec", 1, "neither `spec` nor `specs`",
		     false);
	assert_error(parse_fail(CNP_HEAD "spec: {}\n", &diag), "spec", 5,
		     "needs endpointSelector", false);
	assert_error(
	    parse_fail(CNP_HEAD
		       "spec:\n  endpointSelector: {}\n  egress:\n  - toEndpoints: [{]\n",
		       &diag),
	    "", 8, "YAML syntax error", false);

	/* Comments only: nothing to do, and that is fine. */
	assert_int_equal(parse("# nothing here\n", &set, &diag), 0);
	assert_int_equal(set.count, 0);
	assert_false(diag.failed);
}

static void test_multi_document(void **state)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};

	(void)state;
	assert_int_equal(parse(CNP_HEAD "spec: {endpointSelector: {}}\n" /* 1-5 */
					"---\n"				 /* 6 */
					"# just a comment\n"		 /* 7 */
					"---\n"				 /* 8 */
			       KNP_HEAD					 /* 9-12 */
					"spec: {podSelector: {}}\n"	 /* 13 */
					"---\n" CNP_HEAD		 /* 14-18 */
					"specs:\n"			 /* 19 */
					"- endpointSelector: {}\n"	 /* 20 */
					"- endpointSelector: {}\n",
			       &set, &diag),
			 0);
	assert_int_equal(set.count, 3);
	/* The comment-only document is skipped but keeps its index. */
	assert_int_equal(set.items[0].document, 0);
	assert_int_equal(set.items[1].document, 2);
	assert_int_equal(set.items[1].line, 9);
	assert_int_equal(set.items[1].kind, POLICY_KIND_K8S);
	assert_string_equal(set.items[1].source, KNP_HEAD "spec: {podSelector: {}}\n");
	assert_int_equal(set.items[2].document, 3);
	assert_int_equal(set.items[2].spec_count, 2);
	assert_int_equal(set.items[2].specs[1].line, 21);
	policy_set__free(&set);
}

static void test_all_or_nothing(void **state)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};
	struct policy *before;
	char message[512];
	size_t len;

	(void)state;
	assert_int_equal(parse(CNP_HEAD "spec: {endpointSelector: {}}\n", &set, &diag),
			 0);
	assert_int_equal(set.count, 1);
	before = set.items;

	/* Document 2 is broken: nothing of document 1 may be appended. */
	assert_int_equal(parse(CNP_HEAD "spec: {endpointSelector: {}}\n"
					"---\n" CNP_HEAD "spec:\n"
					"  endpointSelector: {}\n"
					"  ingress:\n"
					"  - toPorts: [{ports: [{port: \"99999\"}]}]\n",
			       &set, &diag),
			 -EINVAL);
	assert_int_equal(set.count, 1);
	assert_ptr_equal(set.items, before);
	assert_string_equal(set.items[0].name, "p");
	assert_int_equal(diag.error.document, 1);
	assert_int_equal(diag.error.line, 14);
	assert_string_equal(diag.error.file, "test.yaml");

	/* Documents are counted from 1 in messages. */
	len = policy_diag_entry__format(&diag.error, message, sizeof(message));
	assert_int_equal(len, strlen(message));
	assert_string_equal(message, "test.yaml:14: document 2: "
				     "spec.ingress[0].toPorts[0].ports[0].port: "
				     "port 99999 is out of range (0-65535)");
	/* snprintf-style: the needed length even when it does not fit. */
	assert_int_equal(policy_diag_entry__format(&diag.error, message, 10), len);
	assert_int_equal(strlen(message), 9);

	/* A good second parse appends. */
	assert_int_equal(parse(CNP_HEAD "spec: {endpointSelector: {}}\n", &set, &diag),
			 0);
	assert_int_equal(set.count, 2);
	policy_set__free(&set);
}

static void test_parse_file(void **state)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};
	char path[] = "/tmp/warden-policy-XXXXXX";
	char message[512];
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(policy_parse_file("/nonexistent/policy.yaml", &set, &diag),
			 -ENOENT);
	assert_true(diag.failed);
	policy_diag_entry__format(&diag.error, message, sizeof(message));
	assert_string_equal(
	    message, "/nonexistent/policy.yaml: cannot read: No such file or directory");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(CNP_HEAD "spec: {endpointSelector: {}}\n", f);
	fclose(f);
	assert_int_equal(policy_parse_file(path, &set, &diag), 0);
	assert_int_equal(set.count, 1);
	assert_string_equal(set.items[0].file, path);
	unlink(path);
	policy_set__free(&set);
}

/* Aliases must not let a few kilobytes expand into millions of rules. */
static void test_alias_expansion_bounded(void **state)
{
	struct policy_diag diag = {0};
	size_t cap = 64 * 1024, len = 0;
	char *yaml = malloc(cap);
	int i;

	(void)state;
	assert_non_null(yaml);
	len += (size_t)snprintf(yaml + len, cap - len,
				CNP_HEAD "x-expr: &e {key: a, operator: Exists}\n"
					 "x-spec: &s\n"
					 "  endpointSelector:\n"
					 "    matchExpressions: [");
	for (i = 0; i < 1000; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "%s*e", i ? "," : "");
	len += (size_t)snprintf(yaml + len, cap - len, "]\nspecs: [");
	for (i = 0; i < 1000; i++)
		len += (size_t)snprintf(yaml + len, cap - len, "%s*s", i ? "," : "");
	len += (size_t)snprintf(yaml + len, cap - len, "]\n");
	assert_true(len < cap);
	assert_non_null(strstr(parse_fail(yaml, &diag)->message, "document too large"));
	free(yaml);
}

/*
 * The limits of lib/policy/policy_parse_internal.h, checked on the event
 * stream before libyaml builds the document (bench/policy_parse_rss.sh
 * measures the memory). Each limit has a control just under it that gets
 * past the pre-scan and fails later, for having no spec.
 */
#define MAX_NODES 524288
#define MAX_STREAM_NODES 1048576
#define MAX_ANCHORS 1024
#define MAX_ALIASES 65536

/*
 * CNP_HEAD, then "x: [first, item, item...]" nested depth levels deep; item
 * NULL: a new anchor each, "&a1 a", "&a2 a"...
 */
static char *limits_doc(int depth, size_t items, const char *first, const char *item)
{
	size_t cap = strlen(CNP_HEAD) + 2 * (size_t)depth + strlen(first) +
		     items * (item ? strlen(item) + 1 : 16) + 16;
	char *yaml = malloc(cap);
	size_t len;

	assert_non_null(yaml);
	len = (size_t)snprintf(yaml, cap, CNP_HEAD "x: ");
	for (int i = 0; i < depth; i++)
		yaml[len++] = '[';
	len += (size_t)snprintf(yaml + len, cap - len, "%s", first);
	for (size_t i = 0; i < items; i++)
		len += item ? (size_t)snprintf(yaml + len, cap - len, ",%s", item)
			    : (size_t)snprintf(yaml + len, cap - len, ",&a%zu a", i + 1);
	for (int i = 0; i < depth; i++)
		yaml[len++] = ']';
	yaml[len++] = '\n';
	yaml[len] = 0;
	assert_true(len < cap);
	return yaml;
}

static void expect_limit(char *yaml, const char *message_part)
{
	struct policy_diag diag = {0};
	const struct policy_diag_entry *e = parse_fail(yaml, &diag);

	if (!strstr(e->message, message_part))
		fail_msg("error was \"%s\", expected one containing \"%s\"", e->message,
			 message_part);
	free(yaml);
}

static void test_document_limits(void **state)
{
	/* CNP_HEAD and the key x are 10 nodes, x's list 1 per level. */
	size_t head = 10;

	(void)state;
	expect_limit(limits_doc(63, 0, "a", ""), "neither `spec` nor `specs`");
	expect_limit(limits_doc(64, 0, "a", ""), "nests deeper than 64 levels");
	expect_limit(limits_doc(100000, 0, "a", ""), "nests deeper than 64 levels");
	expect_limit(limits_doc(1, MAX_NODES - head - 2, "a", "a"),
		     "neither `spec` nor `specs`");
	expect_limit(limits_doc(1, MAX_NODES - head - 1, "a", "a"),
		     "more than 524288 YAML nodes");
	expect_limit(limits_doc(1, MAX_ANCHORS - 1, "&a0 a", NULL),
		     "neither `spec` nor `specs`");
	expect_limit(limits_doc(1, MAX_ANCHORS, "&a0 a", NULL), "more than 1024 anchors");
	expect_limit(limits_doc(1, MAX_ALIASES, "&a0 a", "*a0"),
		     "neither `spec` nor `specs`");
	expect_limit(limits_doc(1, MAX_ALIASES + 1, "&a0 a", "*a0"),
		     "more than 65536 aliases");
}

/* All documents of one buffer together: the third of 400,000 nodes each. */
static void test_stream_limit(void **state)
{
	struct policy_diag diag = {0};
	size_t per_doc = 400000, cap = 3 * (per_doc * 2 + 64), len = 0;
	char *yaml = malloc(cap);

	(void)state;
	assert_non_null(yaml);
	for (int d = 0; d < 3; d++) {
		len += (size_t)snprintf(yaml + len, cap - len, "---\nx: [a");
		for (size_t i = 1; i < per_doc; i++) {
			yaml[len++] = ',';
			yaml[len++] = 'a';
		}
		len += (size_t)snprintf(yaml + len, cap - len, "]\n");
	}
	assert_true(len < cap);
	parse_fail(yaml, &diag);
	assert_int_equal(diag.error.document, 2);
	assert_non_null(
	    strstr(diag.error.message, "more than 1048576 YAML nodes in all"));
	free(yaml);
}

/* Duplicate keys are found in long mappings too (sorted, not pairwise). */
static void test_duplicate_in_long_mapping(void **state)
{
	struct policy_diag diag = {0};
	char yaml[8192];
	size_t len;
	int i;

	(void)state;
	len = (size_t)snprintf(yaml, sizeof(yaml),
			       CNP_HEAD "spec:\n  endpointSelector:\n    matchLabels:\n");
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(yaml + len, sizeof(yaml) - len, "      k%d: v\n",
					i == 70 ? 20 : i);
	assert_true(len < sizeof(yaml));
	/* k20 again on line 8 + 70. */
	assert_error(parse_fail(yaml, &diag), "spec.endpointSelector.matchLabels.k20", 78,
		     "duplicate field `k20`", false);
}

/* --- Warden's annotations --- */

static void test_annotations_modes(void **state)
{
	static const char yaml[] =
	    CNP_HEAD "  annotations:\n"
		     "    policy.warden.io/audit-mode: \"true\"\n"
		     "    policy.warden.io/deny-response: reject\n"
		     "    kubectl.kubernetes.io/last-applied-configuration: \"{}\"\n"
		     "spec:\n"
		     "  endpointSelector: {}\n";
	static const char plain[] = CNP_HEAD "spec:\n  endpointSelector: {}\n";
	struct policy_set set = {0};

	(void)state;
	parse_one(yaml, &set);
	assert_true(set.items[0].audit);
	assert_int_equal(set.items[0].deny_response, POLICY_DENY_RESPONSE_REJECT);
	policy_set__free(&set);
	parse_one(plain, &set);
	assert_false(set.items[0].audit);
	assert_int_equal(set.items[0].deny_response, POLICY_DENY_RESPONSE_DEFAULT);
	policy_set__free(&set);
}

static void test_annotations_errors(void **state)
{
	static const char bad_value[] = CNP_HEAD /* 1-4 */
	    "  annotations:\n"
	    "    policy.warden.io/deny-response: icmp\n" /* 6 */
	    "spec:\n"
	    "  endpointSelector: {}\n";
	static const char typo[] =
	    CNP_HEAD "  annotations:\n"
		     "    policy.warden.io/audit: \"true\"\n" /* 6 */
		     "spec:\n"
		     "  endpointSelector: {}\n";
	static const char not_string[] =
	    CNP_HEAD "  annotations:\n"
		     "    policy.warden.io/audit-mode: true\n" /* 6: a YAML bool */
		     "spec:\n"
		     "  endpointSelector: {}\n";
	struct policy_diag diag = {0};

	(void)state;
	assert_error(parse_fail(bad_value, &diag),
		     "metadata.annotations.policy.warden.io/deny-response", 6,
		     "use \"drop\" or \"reject\"", false);
	memset(&diag, 0, sizeof(diag));
	assert_error(parse_fail(typo, &diag),
		     "metadata.annotations.policy.warden.io/audit", 6,
		     "unknown Warden annotation", false);
	memset(&diag, 0, sizeof(diag));
	parse_fail(not_string, &diag);
	assert_int_equal(diag.error.line, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cnp_basic_model),
	    cmocka_unit_test(test_cnp_default_namespace_and_entities),
	    cmocka_unit_test(test_cnp_peer_namespace_scoping),
	    cmocka_unit_test(test_ccnp_scoping),
	    cmocka_unit_test(test_knp_model),
	    cmocka_unit_test(test_knp_policy_types),
	    cmocka_unit_test(test_default_deny_resolution),
	    cmocka_unit_test(test_empty_peer_list_selects_nothing),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_bad_ports),
	    cmocka_unit_test(test_knp_bad_ports),
	    cmocka_unit_test(test_icmps),
	    cmocka_unit_test(test_http_parsed_but_unsupported),
	    cmocka_unit_test(test_http_model),
	    cmocka_unit_test(test_http_invalid),
	    cmocka_unit_test(test_unsupported_features),
	    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_selectors),
	    cmocka_unit_test(test_cidrs),
	    cmocka_unit_test(test_kinds_and_metadata),
	    cmocka_unit_test(test_multi_document),
	    cmocka_unit_test(test_all_or_nothing),
	    cmocka_unit_test(test_parse_file),
	    cmocka_unit_test(test_alias_expansion_bounded),
	    cmocka_unit_test(test_document_limits),
	    cmocka_unit_test(test_stream_limit),
	    cmocka_unit_test(test_duplicate_in_long_mapping),
	    cmocka_unit_test(test_annotations_modes),
	    cmocka_unit_test(test_annotations_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
