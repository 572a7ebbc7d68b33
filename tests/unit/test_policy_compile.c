// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for lib/policy/policy_compile.c. Policies are built directly in C (no
 * YAML) and the output is checked both as raw keys and through a model of
 * the datapath's decision (LPM on the peer's identity and on identity 0, a
 * deny from either wins), which is what matters in the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "warden/identity.h"
#include "warden/policy_compile.h"
#include "warden/prefix.h"

/* ---- building the model ---------------------------------------------- */

#define GROW(arr, count)                                                                 \
	do {                                                                             \
		(arr) = realloc((arr), ((count) + 1) * sizeof(*(arr)));                  \
		assert_non_null(arr);                                                    \
		memset(&(arr)[(count)], 0, sizeof(*(arr)));                              \
	} while (0)

/* "k8s:org=empire,class" → In(empire) on k8s:org, Exists on class. "" = {} */
static void selector_from_text(struct selector *sel, const char *text)
{
	char *copy = strdup(text), *save = NULL, *tok;

	memset(sel, 0, sizeof(*sel));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (tok[0] == '!') {
			assert_int_equal(selector__add(sel, tok + 1,
						       SELECTOR_OP_DOES_NOT_EXIST, NULL,
						       0),
					 0);
		} else if (eq) {
			const char *value = eq + 1;

			*eq = '\0';
			assert_int_equal(
			    selector__add(sel, tok, SELECTOR_OP_IN, &value, 1), 0);
		} else {
			assert_int_equal(
			    selector__add(sel, tok, SELECTOR_OP_EXISTS, NULL, 0), 0);
		}
	}
	free(copy);
}

static struct policy *add_policy(struct policy_set *set, const char *name)
{
	struct policy *p;

	GROW(set->items, set->count);
	p = &set->items[set->count++];
	p->name = strdup(name);
	return p;
}

/* Both directions default-deny, as Cilium does for a spec with rules. */
static struct policy_spec *add_spec(struct policy *p, const char *subject)
{
	struct policy_spec *s;

	GROW(p->specs, p->spec_count);
	s = &p->specs[p->spec_count++];
	selector_from_text(&s->subject, subject);
	s->default_deny_ingress = true;
	s->default_deny_egress = false;
	return s;
}

static struct policy_rule *add_rule(struct policy_spec *s, uint8_t direction, bool deny)
{
	struct policy_rule *r;

	GROW(s->rules, s->rule_count);
	r = &s->rules[s->rule_count];
	r->direction = direction;
	r->deny = deny;
	r->line = 10 + (int)s->rule_count;
	r->index = (uint32_t)s->rule_count;
	s->rule_count++;
	return r;
}

static void rule_endpoints(struct policy_rule *r, const char *sel)
{
	GROW(r->endpoints, r->endpoint_count);
	selector_from_text(&r->endpoints[r->endpoint_count++], sel);
	r->has_peers = true;
}

static void rule_requires(struct policy_rule *r, const char *sel)
{
	GROW(r->requires, r->require_count);
	selector_from_text(&r->requires[r->require_count++], sel);
	r->has_peers = true;
}

static void rule_entities(struct policy_rule *r, uint32_t entities)
{
	r->entities |= entities;
	r->has_peers = true;
}

/* cidr then a NULL-terminated list of excepts */
static void rule_cidr(struct policy_rule *r, const char *cidr, ...)
{
	struct policy_cidr *c;
	const char *except;
	va_list ap;

	GROW(r->cidrs, r->cidr_count);
	c = &r->cidrs[r->cidr_count++];
	assert_int_equal(policy_prefix__parse(cidr, &c->prefix), 0);
	va_start(ap, cidr);
	while ((except = va_arg(ap, const char *))) {
		GROW(c->except, c->except_count);
		assert_int_equal(
		    policy_prefix__parse(except, &c->except[c->except_count++]), 0);
	}
	va_end(ap);
	r->has_peers = true;
}

/* Adds one toPorts entry with one port. */
static struct policy_port_rule *rule_port(struct policy_rule *r, uint8_t protocol,
					  uint16_t port, uint16_t end_port,
					  const char *name)
{
	struct policy_port_rule *pr;
	struct policy_port *p;

	GROW(r->port_rules, r->port_rule_count);
	pr = &r->port_rules[r->port_rule_count++];
	GROW(pr->ports, pr->port_count);
	p = &pr->ports[pr->port_count++];
	p->protocol = protocol;
	p->port = port;
	p->end_port = end_port;
	p->name = name ? strdup(name) : NULL;
	return pr;
}

static void free_set(struct policy_set *set)
{
	size_t pi, si, ri, i, j;

	for (pi = 0; pi < set->count; pi++) {
		struct policy *p = &set->items[pi];

		for (si = 0; si < p->spec_count; si++) {
			struct policy_spec *s = &p->specs[si];

			selector__free(&s->subject);
			for (ri = 0; ri < s->rule_count; ri++) {
				struct policy_rule *r = &s->rules[ri];

				for (i = 0; i < r->endpoint_count; i++)
					selector__free(&r->endpoints[i]);
				free(r->endpoints);
				for (i = 0; i < r->require_count; i++)
					selector__free(&r->requires[i]);
				free(r->requires);
				for (i = 0; i < r->cidr_count; i++)
					free(r->cidrs[i].except);
				free(r->cidrs);
				for (i = 0; i < r->port_rule_count; i++) {
					for (j = 0; j < r->port_rules[i].port_count; j++)
						free(r->port_rules[i].ports[j].name);
					free(r->port_rules[i].ports);
				}
				free(r->port_rules);
			}
			free(s->rules);
		}
		free(p->specs);
		free(p->name);
	}
	free(set->items);
	memset(set, 0, sizeof(*set));
}

/* ---- the world: identities and endpoints ----------------------------- */

#define ID_DEATHSTAR 256
#define ID_TIEFIGHTER 257
#define ID_XWING 258
#define ID_PROD 259
#define ID_OTHER_NS 260
#define ID_CIDR_10 (WARDEN_IDENTITY_LOCAL_MIN + 0)   /* 10.0.0.0/8 */
#define ID_CIDR_10_1 (WARDEN_IDENTITY_LOCAL_MIN + 1) /* 10.1.0.0/16 */
#define ID_CIDR_192 (WARDEN_IDENTITY_LOCAL_MIN + 2)  /* 192.168.0.0/16 */

#define EP_DEATHSTAR 11
#define EP_TIE_A 12
#define EP_XWING 13
#define EP_TIE_B 14

struct fixture {
	struct label_set labels[32];
	struct compile_identity identities[32];
	size_t identity_count;
	struct compile_endpoint endpoints[8];
	struct compile_world world;
	struct policy_set set;
	struct policy_entries out;
	char err[256];
};

static const struct compile_named_port deathstar_ports[] = {
    {"http", 80, IPPROTO_TCP},
    {"dns", 53, IPPROTO_UDP},
};
static const struct compile_named_port tie_a_ports[] = {{"web", 8080, IPPROTO_TCP}};
static const struct compile_named_port tie_b_ports[] = {{"web", 8081, IPPROTO_TCP}};
static const struct compile_named_port xwing_ports[] = {{"web", 9090, IPPROTO_TCP}};

static void fx_identity(struct fixture *f, uint32_t id, const char *labels,
			const char *cidr)
{
	size_t i = f->identity_count++;
	char err[128];

	memset(&f->labels[i], 0, sizeof(f->labels[i]));
	if (cidr) {
		struct policy_prefix p;

		assert_int_equal(policy_prefix__parse(cidr, &p), 0);
		assert_int_equal(identity__cidr_labels(&p, &f->labels[i]), 0);
		f->identities[i].is_cidr = true;
		f->identities[i].prefix = p;
	} else {
		assert_int_equal(
		    label_set__parse_list(&f->labels[i], labels, err, sizeof(err)), 0);
	}
	f->identities[i].id = id;
	f->identities[i].labels = &f->labels[i];
}

static const struct label_set *fx_labels(struct fixture *f, uint32_t id)
{
	size_t i;

	for (i = 0; i < f->identity_count; i++)
		if (f->identities[i].id == id)
			return f->identities[i].labels;
	fail_msg("no identity %u", id);
	return NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_identity(f, WARDEN_IDENTITY_HOST, "reserved:host", NULL);
	fx_identity(f, WARDEN_IDENTITY_WORLD, "reserved:world", NULL);
	fx_identity(f, WARDEN_IDENTITY_UNMANAGED, "reserved:unmanaged", NULL);
	fx_identity(f, WARDEN_IDENTITY_HEALTH, "reserved:health", NULL);
	fx_identity(f, WARDEN_IDENTITY_INIT, "reserved:init", NULL);
	fx_identity(f, WARDEN_IDENTITY_REMOTE_NODE, "reserved:remote-node", NULL);
	fx_identity(f, WARDEN_IDENTITY_KUBE_APISERVER, "reserved:kube-apiserver", NULL);
	fx_identity(f, WARDEN_IDENTITY_INGRESS, "reserved:ingress", NULL);
	fx_identity(f, WARDEN_IDENTITY_WORLD_IPV6, "reserved:world-ipv6", NULL);
	fx_identity(f, ID_DEATHSTAR,
		    "org=empire,class=deathstar,io.kubernetes.pod.namespace=default",
		    NULL);
	fx_identity(f, ID_TIEFIGHTER,
		    "org=empire,class=tiefighter,io.kubernetes.pod.namespace=default",
		    NULL);
	fx_identity(f, ID_XWING,
		    "org=alliance,class=xwing,io.kubernetes.pod.namespace=default", NULL);
	fx_identity(
	    f, ID_PROD,
	    "org=empire,class=tiefighter,env=prod,io.kubernetes.pod.namespace=default",
	    NULL);
	fx_identity(f, ID_OTHER_NS, "org=empire,io.kubernetes.pod.namespace=other", NULL);
	fx_identity(f, ID_CIDR_10, NULL, "10.0.0.0/8");
	fx_identity(f, ID_CIDR_10_1, NULL, "10.1.0.0/16");
	fx_identity(f, ID_CIDR_192, NULL, "192.168.0.0/16");

	f->endpoints[0] = (struct compile_endpoint){
	    EP_DEATHSTAR, ID_DEATHSTAR, fx_labels(f, ID_DEATHSTAR), deathstar_ports, 2};
	f->endpoints[1] = (struct compile_endpoint){
	    EP_TIE_A, ID_TIEFIGHTER, fx_labels(f, ID_TIEFIGHTER), tie_a_ports, 1};
	f->endpoints[2] = (struct compile_endpoint){
	    EP_XWING, ID_XWING, fx_labels(f, ID_XWING), xwing_ports, 1};
	f->endpoints[3] = (struct compile_endpoint){
	    EP_TIE_B, ID_TIEFIGHTER, fx_labels(f, ID_TIEFIGHTER), tie_b_ports, 1};
	f->world.identities = f->identities;
	f->world.identity_count = f->identity_count;
	f->world.endpoints = f->endpoints;
	f->world.endpoint_count = 4;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < f->identity_count; i++)
		label_set__free(&f->labels[i]);
	free_set(&f->set);
	policy_entries__free(&f->out);
	free(f);
	return 0;
}

static const struct compile_endpoint *ep_deathstar(struct fixture *f)
{
	return &f->endpoints[0];
}

static int compile(struct fixture *f, const struct compile_endpoint *ep)
{
	policy_entries__free(&f->out);
	return policy_compile_endpoint(&f->set, &f->world, ep, &f->out, f->err,
				       sizeof(f->err));
}

static void compile_ok(struct fixture *f, const struct compile_endpoint *ep)
{
	int ret = compile(f, ep);

	if (ret)
		fail_msg("compile failed: %d: %s", ret, f->err);
}

/* ---- looking at the output ------------------------------------------- */

static const struct policy_entry *find(const struct policy_entries *out,
				       uint32_t identity, uint8_t direction,
				       uint8_t protocol, uint16_t port,
				       uint32_t prefixlen)
{
	size_t i;

	for (i = 0; i < out->count; i++) {
		const struct warden_policy_key *k = &out->items[i].key;

		if (k->identity == identity && k->direction == direction &&
		    k->protocol == protocol && k->dport == htons(port) &&
		    k->prefixlen == prefixlen)
			return &out->items[i];
	}
	return NULL;
}

static size_t count_identity(const struct policy_entries *out, uint32_t identity,
			     uint8_t direction)
{
	size_t i, n = 0;

	for (i = 0; i < out->count; i++)
		if (out->items[i].key.identity == identity &&
		    out->items[i].key.direction == direction)
			n++;
	return n;
}

/* The LPM trie: the longest entry whose first prefixlen bits match. */
static const struct policy_entry *lpm(const struct policy_entries *out,
				      uint32_t endpoint_id, uint32_t identity,
				      uint8_t direction, uint8_t protocol, uint16_t port)
{
	const struct policy_entry *best = NULL;
	uint32_t want = (uint32_t)protocol << 16 | port;
	size_t i;

	for (i = 0; i < out->count; i++) {
		const struct warden_policy_key *k = &out->items[i].key;
		uint32_t have = (uint32_t)k->protocol << 16 | ntohs(k->dport);
		uint32_t bits = k->prefixlen - WARDEN_POLICY_PREFIX_ANY_PROTO;
		uint32_t shift = 24 - bits;

		if (k->endpoint_id != endpoint_id || k->identity != identity ||
		    k->direction != direction)
			continue;
		if ((have >> shift) != (want >> shift))
			continue;
		if (!best || k->prefixlen > best->key.prefixlen)
			best = &out->items[i];
	}
	return best;
}

enum verdict {
	NO_MATCH,
	ALLOW,
	DENY
};

/* What the datapath decides: a deny from either lookup wins. */
static enum verdict verdict(const struct policy_entries *out, uint32_t endpoint_id,
			    uint32_t identity, uint8_t direction, uint8_t protocol,
			    uint16_t port)
{
	const struct policy_entry *a =
	    lpm(out, endpoint_id, identity, direction, protocol, port);
	const struct policy_entry *b =
	    lpm(out, endpoint_id, 0, direction, protocol, port);

	if ((a && a->value.flags & WARDEN_POLICY_DENY) ||
	    (b && b->value.flags & WARDEN_POLICY_DENY))
		return DENY;
	if (a || b)
		return ALLOW;
	return NO_MATCH;
}

#define IN WARDEN_DIR_INGRESS
#define EG WARDEN_DIR_EGRESS
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP

/* ---- tests ----------------------------------------------------------- */

static void test_no_policy_only_host(void **state)
{
	struct fixture *f = *state;
	const struct policy_entry *e;

	compile_ok(f, ep_deathstar(f));
	assert_int_equal(f->out.endpoint_flags, 0);
	assert_int_equal(f->out.count, 1);
	e = &f->out.items[0];
	assert_int_equal(e->key.prefixlen, WARDEN_POLICY_PREFIX_ANY_PROTO);
	assert_int_equal(e->key.endpoint_id, EP_DEATHSTAR);
	assert_int_equal(e->key.identity, WARDEN_IDENTITY_HOST);
	assert_int_equal(e->key.direction, IN);
	assert_int_equal(e->key.protocol, 0);
	assert_int_equal(e->key.dport, 0);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	assert_int_equal(e->value.rule_cookie, 0);
}

static void test_l3_allow(void **state)
{
	struct fixture *f = *state;
	struct policy *p = add_policy(&f->set, "l3");
	struct policy_spec *s = add_spec(p, "k8s:class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);
	const struct policy_entry *e;

	rule_endpoints(r, "k8s:org=empire,io.kubernetes.pod.namespace=default");
	compile_ok(f, ep_deathstar(f));

	assert_int_equal(f->out.endpoint_flags, WARDEN_EP_ENFORCE_INGRESS);
	e = find(&f->out, ID_TIEFIGHTER, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 0));
	assert_non_null(
	    find(&f->out, ID_DEATHSTAR, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO));
	assert_non_null(find(&f->out, ID_PROD, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO));
	/* Other namespace, other org, CIDR identities, world: nothing. */
	assert_int_equal(count_identity(&f->out, ID_OTHER_NS, IN), 0);
	assert_int_equal(count_identity(&f->out, ID_XWING, IN), 0);
	assert_int_equal(count_identity(&f->out, ID_CIDR_10, IN), 0);
	assert_int_equal(count_identity(&f->out, WARDEN_IDENTITY_WORLD, IN), 0);
	/* 256, 257, 259 and the host. */
	assert_int_equal(f->out.count, 4);

	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, UDP, 1234),
			 ALLOW);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_XWING, IN, TCP, 80), NO_MATCH);
	/* The rule is ingress only. */
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, EG, TCP, 80),
			 NO_MATCH);

	/* The policy does not select the x-wing: only the host entry. */
	compile_ok(f, &f->endpoints[2]);
	assert_int_equal(f->out.count, 1);
	assert_int_equal(f->out.endpoint_flags, 0);
}

static void test_l4_ports(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "l4"), "class=deathstar");
	struct policy_rule *r;
	const struct policy_entry *e;

	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 80, 0, NULL);
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=xwing");
	rule_port(r, 0, 53, 0, NULL);  /* ANY/53: TCP, UDP, SCTP */
	rule_port(r, UDP, 0, 0, NULL); /* all of UDP */
	r = add_rule(s, IN, false);
	rule_endpoints(r, "env=prod");
	rule_port(r, 0, 0, 0, NULL); /* ANY/0: everything */
	compile_ok(f, ep_deathstar(f));

	e = find(&f->out, ID_TIEFIGHTER, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	/* dport is stored in network order. */
	assert_int_equal(((const uint8_t *)&e->key.dport)[0], 0);
	assert_int_equal(((const uint8_t *)&e->key.dport)[1], 80);
	assert_int_equal(count_identity(&f->out, ID_TIEFIGHTER, IN), 1);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, TCP, 81),
			 NO_MATCH);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, UDP, 80),
			 NO_MATCH);

	assert_non_null(find(&f->out, ID_XWING, IN, TCP, 53, WARDEN_POLICY_PREFIX_FULL));
	assert_non_null(find(&f->out, ID_XWING, IN, UDP, 53, WARDEN_POLICY_PREFIX_FULL));
	assert_non_null(find(&f->out, ID_XWING, IN, SCTP, 53, WARDEN_POLICY_PREFIX_FULL));
	e = find(&f->out, ID_XWING, IN, UDP, 0, WARDEN_POLICY_PREFIX_ANY_PORT);
	assert_non_null(e);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 1));
	assert_int_equal(count_identity(&f->out, ID_XWING, IN), 4);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_XWING, IN, UDP, 9999), ALLOW);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_XWING, IN, TCP, 9999),
			 NO_MATCH);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_XWING, IN, IPPROTO_ICMP, 0),
			 NO_MATCH);

	e = find(&f->out, ID_PROD, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO);
	assert_non_null(e);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 2));
}

static void test_l4_only_rule_is_any_peer(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s =
	    add_spec(add_policy(&f->set, "l4only"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);

	rule_port(r, TCP, 443, 0, NULL); /* no from*: every peer */
	compile_ok(f, ep_deathstar(f));
	assert_non_null(find(&f->out, 0, IN, TCP, 443, WARDEN_POLICY_PREFIX_FULL));
	assert_int_equal(f->out.count, 2); /* + host */
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_CIDR_192, IN, TCP, 443),
			 ALLOW);
}

/* All ports in [lo, hi] allowed, none outside, for TCP; UDP untouched. */
static void check_range_exact(struct fixture *f, uint32_t identity, uint16_t lo,
			      uint16_t hi)
{
	uint32_t port;

	for (port = 0; port <= 0xffff; port++) {
		enum verdict want = (port >= lo && port <= hi) ? ALLOW : NO_MATCH;
		enum verdict got =
		    verdict(&f->out, EP_DEATHSTAR, identity, IN, TCP, (uint16_t)port);

		if (got != want)
			fail_msg("port %u: verdict %d, want %d (range %u-%u)", port, got,
				 want, lo, hi);
	}
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, identity, IN, UDP, lo), NO_MATCH);
}

static void test_port_range(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "range"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);
	static const struct {
		uint16_t port;
		uint32_t prefixlen;
	} blocks[] = {
	    {1000, 93}, /* 1000-1007 */
	    {1008, 92}, /* 1008-1023 */
	    {1024, 87}, /* 1024-1535 */
	    {1536, 88}, /* 1536-1791 */
	    {1792, 89}, /* 1792-1919 */
	    {1920, 90}, /* 1920-1983 */
	    {1984, 92}, /* 1984-1999 */
	};
	size_t i;

	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 1000, 1999, NULL);
	compile_ok(f, ep_deathstar(f));

	assert_int_equal(count_identity(&f->out, ID_TIEFIGHTER, IN), 7);
	for (i = 0; i < 7; i++) {
		const struct policy_entry *e = find(&f->out, ID_TIEFIGHTER, IN, TCP,
						    blocks[i].port, blocks[i].prefixlen);

		if (!e)
			fail_msg("no block %u/%u", blocks[i].port, blocks[i].prefixlen);
	}
	check_range_exact(f, ID_TIEFIGHTER, 1000, 1999);
}

static void test_port_range_edges(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "edges"), "class=deathstar");
	struct policy_rule *r;

	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 1, 65535, NULL); /* 16 blocks: 1, 2-3, ..., 32768-65535 */
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=xwing");
	rule_port(r, TCP, 65534, 65535, NULL);
	compile_ok(f, ep_deathstar(f));

	assert_int_equal(count_identity(&f->out, ID_TIEFIGHTER, IN), 16);
	check_range_exact(f, ID_TIEFIGHTER, 1, 65535);
	assert_int_equal(count_identity(&f->out, ID_XWING, IN), 1);
	assert_non_null(find(&f->out, ID_XWING, IN, TCP, 65534, 95));
	check_range_exact(f, ID_XWING, 65534, 65535);

	/* A range that runs backwards is an error naming the policy. */
	r = add_rule(s, IN, false);
	rule_port(r, TCP, 2000, 1000, NULL);
	assert_int_equal(compile(f, ep_deathstar(f)), -EINVAL);
	assert_non_null(strstr(f->err, "edges"));
	assert_int_equal(f->out.count, 0);
	assert_null(f->out.items);
}

static void test_icmp(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "icmp"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);
	const struct policy_entry *e;

	rule_endpoints(r, "class=tiefighter");
	rule_port(r, IPPROTO_ICMP, 8, 0, NULL); /* echo request */
	rule_port(r, IPPROTO_ICMP, 0, 0, NULL); /* echo reply: type 0, not "any" */
	compile_ok(f, ep_deathstar(f));

	e = find(&f->out, ID_TIEFIGHTER, IN, IPPROTO_ICMP, 8 << 8,
		 WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	/* As the datapath builds it: bpf_htons(type << 8), type first on the wire. */
	assert_int_equal(e->key.dport, htons(8 << 8));
	assert_int_equal(((const uint8_t *)&e->key.dport)[0], 8);
	assert_int_equal(((const uint8_t *)&e->key.dport)[1], 0);
	assert_non_null(
	    find(&f->out, ID_TIEFIGHTER, IN, IPPROTO_ICMP, 0, WARDEN_POLICY_PREFIX_FULL));
	assert_int_equal(
	    verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, IPPROTO_ICMP, 8 << 8),
	    ALLOW);
	assert_int_equal(
	    verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, IPPROTO_ICMP, 3 << 8),
	    NO_MATCH);
}

static void test_named_ports_ingress(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "named"), "class=deathstar");
	struct policy_rule *r;

	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, 0, 0, 0, "HTTP"); /* case-insensitive, protocol taken */
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=xwing");
	rule_port(r, TCP, 0, 0, "dns"); /* dns is UDP: no entry */
	rule_port(r, 0, 0, 0, "nope");	/* unknown: no entry, no error */
	rule_port(r, UDP, 0, 0, "dns");
	compile_ok(f, ep_deathstar(f));

	assert_non_null(
	    find(&f->out, ID_TIEFIGHTER, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL));
	assert_int_equal(count_identity(&f->out, ID_TIEFIGHTER, IN), 1);
	assert_non_null(find(&f->out, ID_XWING, IN, UDP, 53, WARDEN_POLICY_PREFIX_FULL));
	assert_int_equal(count_identity(&f->out, ID_XWING, IN), 1);

	/* The tie fighter has no "http" port: the rule gives nothing there. */
	free_set(&f->set);
	s = add_spec(add_policy(&f->set, "named"), "class=tiefighter");
	r = add_rule(s, IN, false);
	rule_port(r, 0, 0, 0, "http");
	compile_ok(f, &f->endpoints[1]);
	assert_int_equal(f->out.count, 1); /* the host only */
	assert_int_equal(f->out.endpoint_flags, WARDEN_EP_ENFORCE_INGRESS);
}

static void test_named_port_conflict(void **state)
{
	struct fixture *f = *state;
	static const struct compile_named_port ports[] = {
	    {"http", 80, IPPROTO_TCP},
	    {"http", 8080, IPPROTO_TCP},
	};
	struct compile_endpoint ep = *ep_deathstar(f);
	struct policy_spec *s =
	    add_spec(add_policy(&f->set, "conflict"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);

	ep.ports = ports;
	ep.port_count = 2;
	rule_port(r, 0, 0, 0, "http");
	assert_int_equal(compile(f, &ep), -EINVAL);
	assert_non_null(strstr(f->err, "http"));
	assert_non_null(strstr(f->err, "8080"));
}

static void test_named_ports_egress(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "egress"), "class=xwing");
	struct policy_rule *r;

	s->default_deny_egress = true;
	r = add_rule(s, EG, false);
	rule_endpoints(r, "org=empire");
	rule_port(r, TCP, 0, 0, "web");
	compile_ok(f, &f->endpoints[2]);

	assert_int_equal(f->out.endpoint_flags,
			 WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS);
	/* Two tie fighter pods number "web" differently: both are allowed. */
	assert_non_null(
	    find(&f->out, ID_TIEFIGHTER, EG, TCP, 8080, WARDEN_POLICY_PREFIX_FULL));
	assert_non_null(
	    find(&f->out, ID_TIEFIGHTER, EG, TCP, 8081, WARDEN_POLICY_PREFIX_FULL));
	assert_int_equal(count_identity(&f->out, ID_TIEFIGHTER, EG), 2);
	/* The death star has no "web" port, prod no endpoint at all. */
	assert_int_equal(count_identity(&f->out, ID_DEATHSTAR, EG), 0);
	assert_int_equal(count_identity(&f->out, ID_PROD, EG), 0);
	/* The x-wing's own 9090 is not a port of any selected peer. */
	assert_int_equal(verdict(&f->out, EP_XWING, ID_TIEFIGHTER, EG, TCP, 9090),
			 NO_MATCH);

	/* Any peer: resolved over every endpoint. */
	free_set(&f->set);
	s = add_spec(add_policy(&f->set, "egress"), "class=xwing");
	r = add_rule(s, EG, false);
	rule_port(r, 0, 0, 0, "web");
	compile_ok(f, &f->endpoints[2]);
	assert_non_null(find(&f->out, 0, EG, TCP, 8080, WARDEN_POLICY_PREFIX_FULL));
	assert_non_null(find(&f->out, 0, EG, TCP, 8081, WARDEN_POLICY_PREFIX_FULL));
	assert_non_null(find(&f->out, 0, EG, TCP, 9090, WARDEN_POLICY_PREFIX_FULL));
	assert_int_equal(count_identity(&f->out, 0, EG), 3);
}

static void test_deny_folding(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "deny"), "class=deathstar");
	struct policy_rule *r;
	const struct policy_entry *e;

	/* rule 0: allow empire TCP 80 */
	r = add_rule(s, IN, false);
	rule_endpoints(r, "org=empire");
	rule_port(r, TCP, 80, 0, NULL);
	/* rule 1: deny tie fighters everything */
	r = add_rule(s, IN, true);
	rule_endpoints(r, "class=tiefighter,!env");
	compile_ok(f, ep_deathstar(f));

	e = find(&f->out, ID_TIEFIGHTER, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 1));
	e = find(&f->out, ID_TIEFIGHTER, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
	e = find(&f->out, ID_DEATHSTAR, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 0));
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, TCP, 80),
			 DENY);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_PROD, IN, TCP, 80), ALLOW);
}

static void test_deny_folding_ports(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "deny"), "class=deathstar");
	struct policy_rule *r;
	const struct policy_entry *e;
	uint32_t port;

	/* allow 80, 443, 1000-1999 and all of UDP; deny all TCP ports
	 * except ... well, deny TCP (any port) and UDP 53 */
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 80, 0, NULL);
	rule_port(r, TCP, 1000, 1999, NULL);
	rule_port(r, UDP, 0, 0, NULL);
	r = add_rule(s, IN, true);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 0, 0, NULL);
	rule_port(r, UDP, 53, 0, NULL);
	rule_port(r, UDP, 1500, 0, NULL);
	compile_ok(f, ep_deathstar(f));

	e = find(&f->out, ID_TIEFIGHTER, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 1));
	e = find(&f->out, ID_TIEFIGHTER, IN, TCP, 1024, 87);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
	/* UDP: allow everything but 53 and 1500 (deny nested in allow). */
	e = find(&f->out, ID_TIEFIGHTER, IN, UDP, 0, WARDEN_POLICY_PREFIX_ANY_PORT);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	for (port = 0; port <= 0xffff; port += 1) {
		enum verdict want = (port == 53 || port == 1500) ? DENY : ALLOW;

		if (verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, UDP,
			    (uint16_t)port) != want)
			fail_msg("udp %u", port);
		if (verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, TCP,
			    (uint16_t)port) != DENY)
			fail_msg("tcp %u", port);
	}
	/* No allow survives anywhere under the TCP deny. */
	for (size_t i = 0; i < f->out.count; i++) {
		const struct policy_entry *x = &f->out.items[i];

		if (x->key.identity == ID_TIEFIGHTER && x->key.protocol == TCP)
			assert_int_equal(x->value.flags, WARDEN_POLICY_DENY);
	}
}

static void test_dedupe(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s;
	struct policy_rule *r;
	const struct policy_entry *e;
	size_t i;

	/* Two policies allow the same thing: one entry, first cookie. */
	s = add_spec(add_policy(&f->set, "a"), "class=deathstar");
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 80, 0, NULL);
	rule_port(r, TCP, 80, 0, NULL);
	s = add_spec(add_policy(&f->set, "b"), "class=deathstar");
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 80, 0, NULL);
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=xwing");
	rule_port(r, TCP, 80, 0, NULL);
	/* and a later deny on an equal key wins over the earlier allow */
	s = add_spec(add_policy(&f->set, "c"), "class=deathstar");
	r = add_rule(s, IN, true);
	rule_endpoints(r, "class=xwing");
	rule_port(r, TCP, 80, 0, NULL);
	compile_ok(f, ep_deathstar(f));

	e = find(&f->out, ID_TIEFIGHTER, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 0));
	assert_int_equal(count_identity(&f->out, ID_TIEFIGHTER, IN), 1);
	e = find(&f->out, ID_XWING, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(2, 0));
	assert_int_equal(count_identity(&f->out, ID_XWING, IN), 1);

	/* Sorted, and no two equal keys. */
	for (i = 1; i < f->out.count; i++)
		assert_true(memcmp(&f->out.items[i - 1].key, &f->out.items[i].key,
				   sizeof(struct warden_policy_key)) != 0);
}

static void test_enforcement_flags(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s;

	/* A spec that does not select the endpoint does not count. */
	s = add_spec(add_policy(&f->set, "other"), "class=xwing");
	s->default_deny_egress = true;
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(f->out.endpoint_flags, 0);

	s = add_spec(add_policy(&f->set, "egress-only"), "class=deathstar");
	s->default_deny_ingress = false;
	s->default_deny_egress = true;
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(f->out.endpoint_flags, WARDEN_EP_ENFORCE_EGRESS);

	/* enableDefaultDeny off in one spec, on in another: on wins. */
	s = add_spec(add_policy(&f->set, "audit"), "org=empire");
	s->default_deny_ingress = true;
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(f->out.endpoint_flags,
			 WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS);
}

static void test_entities(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s =
	    add_spec(add_policy(&f->set, "entities"), "class=deathstar");
	struct policy_rule *r;
	uint32_t id;

	r = add_rule(s, IN, false);
	rule_entities(r, POLICY_ENTITY_CLUSTER);
	rule_port(r, TCP, 1, 0, NULL);
	r = add_rule(s, IN, false);
	rule_entities(r, POLICY_ENTITY_WORLD);
	rule_port(r, TCP, 2, 0, NULL);
	r = add_rule(s, IN, false);
	rule_entities(r, POLICY_ENTITY_ALL);
	rule_port(r, TCP, 3, 0, NULL);
	r = add_rule(s, IN, false);
	rule_entities(r, POLICY_ENTITY_HOST | POLICY_ENTITY_REMOTE_NODE);
	rule_port(r, TCP, 4, 0, NULL);
	r = add_rule(s, IN, false);
	rule_entities(r, POLICY_ENTITY_NONE);
	rule_port(r, TCP, 5, 0, NULL);
	r = add_rule(s, IN, false);
	rule_entities(r, POLICY_ENTITY_WORLD_IPV6 | POLICY_ENTITY_KUBE_APISERVER);
	rule_port(r, TCP, 6, 0, NULL);
	compile_ok(f, ep_deathstar(f));

	/* cluster: every endpoint identity and the in-cluster reserved ones */
	for (id = 1; id <= 8; id++) {
		bool want = id != WARDEN_IDENTITY_WORLD;

		assert_int_equal(find(&f->out, id, IN, TCP, 1, 96) != NULL, want);
	}
	for (id = ID_DEATHSTAR; id <= ID_OTHER_NS; id++)
		assert_non_null(find(&f->out, id, IN, TCP, 1, 96));
	assert_null(find(&f->out, WARDEN_IDENTITY_WORLD_IPV6, IN, TCP, 1, 96));
	assert_null(find(&f->out, ID_CIDR_10, IN, TCP, 1, 96));
	assert_null(find(&f->out, 0, IN, TCP, 1, 96));

	/* world: world and every CIDR identity, no pods, no host */
	assert_non_null(find(&f->out, WARDEN_IDENTITY_WORLD, IN, TCP, 2, 96));
	assert_non_null(find(&f->out, ID_CIDR_10, IN, TCP, 2, 96));
	assert_non_null(find(&f->out, ID_CIDR_10_1, IN, TCP, 2, 96));
	assert_non_null(find(&f->out, ID_CIDR_192, IN, TCP, 2, 96));
	assert_null(find(&f->out, ID_DEATHSTAR, IN, TCP, 2, 96));
	assert_null(find(&f->out, WARDEN_IDENTITY_HOST, IN, TCP, 2, 96));

	/* all: one entry, identity 0 */
	assert_non_null(find(&f->out, 0, IN, TCP, 3, 96));
	for (size_t i = 0; i < f->out.count; i++)
		if (f->out.items[i].key.identity != 0)
			assert_false(f->out.items[i].key.protocol == TCP &&
				     f->out.items[i].key.dport == htons(3));

	assert_non_null(find(&f->out, WARDEN_IDENTITY_HOST, IN, TCP, 4, 96));
	assert_non_null(find(&f->out, WARDEN_IDENTITY_REMOTE_NODE, IN, TCP, 4, 96));
	assert_null(find(&f->out, WARDEN_IDENTITY_HEALTH, IN, TCP, 4, 96));

	/* none: nothing at all */
	for (size_t i = 0; i < f->out.count; i++)
		assert_false(f->out.items[i].key.dport == htons(5));

	assert_non_null(find(&f->out, WARDEN_IDENTITY_WORLD_IPV6, IN, TCP, 6, 96));
	assert_non_null(find(&f->out, WARDEN_IDENTITY_KUBE_APISERVER, IN, TCP, 6, 96));
	assert_null(find(&f->out, WARDEN_IDENTITY_WORLD, IN, TCP, 6, 96));
}

static void test_reserved_identities_implied(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s =
	    add_spec(add_policy(&f->set, "implied"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);

	/* A world that lists no reserved identity still has them. */
	f->world.identities = &f->identities[9];
	f->world.identity_count = f->identity_count - 9;
	rule_entities(r, POLICY_ENTITY_HEALTH);
	r = add_rule(s, IN, false);
	rule_endpoints(r, "reserved:init");
	compile_ok(f, ep_deathstar(f));
	assert_non_null(find(&f->out, WARDEN_IDENTITY_HEALTH, IN, 0, 0, 72));
	assert_non_null(find(&f->out, WARDEN_IDENTITY_INIT, IN, 0, 0, 72));
	f->world.identities = f->identities;
	f->world.identity_count = f->identity_count;
}

static void test_cidr_except(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "cidr"), "class=deathstar");
	struct policy_rule *r;

	s->default_deny_egress = true;
	r = add_rule(s, EG, false);
	rule_cidr(r, "10.0.0.0/8", "10.1.0.0/16", NULL);
	rule_port(r, TCP, 443, 0, NULL);
	r = add_rule(s, EG, false);
	rule_cidr(r, "0.0.0.0/0", "192.168.0.0/16", NULL);
	rule_port(r, TCP, 80, 0, NULL);
	compile_ok(f, ep_deathstar(f));

	assert_non_null(find(&f->out, ID_CIDR_10, EG, TCP, 443, 96));
	assert_null(find(&f->out, ID_CIDR_10_1, EG, TCP, 443, 96));
	assert_null(find(&f->out, ID_CIDR_192, EG, TCP, 443, 96));
	assert_null(find(&f->out, WARDEN_IDENTITY_WORLD, EG, TCP, 443, 96));
	/* Pods never match CIDR rules, even 0.0.0.0/0. */
	assert_null(find(&f->out, ID_TIEFIGHTER, EG, TCP, 443, 96));
	assert_null(find(&f->out, ID_TIEFIGHTER, EG, TCP, 80, 96));
	/* /0: world and the CIDR identities outside the except */
	assert_non_null(find(&f->out, WARDEN_IDENTITY_WORLD, EG, TCP, 80, 96));
	assert_non_null(find(&f->out, ID_CIDR_10, EG, TCP, 80, 96));
	assert_non_null(find(&f->out, ID_CIDR_10_1, EG, TCP, 80, 96));
	assert_null(find(&f->out, ID_CIDR_192, EG, TCP, 80, 96));
	/* An IPv4 /0 is not the IPv6 world. */
	assert_null(find(&f->out, WARDEN_IDENTITY_WORLD_IPV6, EG, TCP, 80, 96));
}

static void test_requires(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s;
	struct policy_rule *r;

	/* policy a: allow empire on 80; deny tie fighters on 9 */
	s = add_spec(add_policy(&f->set, "a"), "class=deathstar");
	r = add_rule(s, IN, false);
	rule_endpoints(r, "org=empire");
	rule_port(r, TCP, 80, 0, NULL);
	r = add_rule(s, IN, true);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 9, 0, NULL);
	/* an egress rule is not constrained by ingress requires */
	r = add_rule(s, EG, false);
	rule_endpoints(r, "org=empire");
	/* policy b: everyone who talks to the death star must be prod */
	s = add_spec(add_policy(&f->set, "b"), "class=deathstar");
	r = add_rule(s, IN, false);
	rule_requires(r, "env=prod");
	/* policy c: an L4-only rule (any peer) on 8080 */
	s = add_spec(add_policy(&f->set, "c"), "class=deathstar");
	r = add_rule(s, IN, false);
	rule_port(r, TCP, 8080, 0, NULL);
	compile_ok(f, ep_deathstar(f));

	/* Only prod empire pods keep port 80. */
	assert_non_null(find(&f->out, ID_PROD, IN, TCP, 80, 96));
	assert_null(find(&f->out, ID_TIEFIGHTER, IN, TCP, 80, 96));
	assert_null(find(&f->out, ID_DEATHSTAR, IN, TCP, 80, 96));
	/* The deny is not narrowed by the allow rules' requirement. */
	assert_non_null(find(&f->out, ID_TIEFIGHTER, IN, TCP, 9, 96));
	assert_non_null(find(&f->out, ID_PROD, IN, TCP, 9, 96));
	/* "Any peer" becomes the identities that satisfy the requirement. */
	assert_null(find(&f->out, 0, IN, TCP, 8080, 96));
	assert_non_null(find(&f->out, ID_PROD, IN, TCP, 8080, 96));
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_XWING, IN, TCP, 8080),
			 NO_MATCH);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_CIDR_10, IN, TCP, 8080),
			 NO_MATCH);
	/* The requires-only rule selects nobody by itself. */
	assert_null(find(&f->out, ID_PROD, IN, 0, 0, 72));
	/* Egress is untouched; the host default too. */
	assert_non_null(find(&f->out, ID_TIEFIGHTER, EG, 0, 0, 72));
	assert_non_null(find(&f->out, WARDEN_IDENTITY_HOST, IN, 0, 0, 72));

	/* policy_rule__selects_peer applies a rule's own requires. */
	{
		const struct policy_rule *req_rule = &f->set.items[1].specs[0].rules[0];
		const struct policy_rule *allow80 = &f->set.items[0].specs[0].rules[0];
		struct compile_identity prod = {ID_PROD, fx_labels(f, ID_PROD)};
		struct compile_identity tie = {ID_TIEFIGHTER,
					       fx_labels(f, ID_TIEFIGHTER)};

		assert_true(policy_rule__selects_peer(allow80, &tie, &f->world));
		assert_false(policy_rule__selects_peer(req_rule, &tie, &f->world));
		assert_false(policy_rule__selects_peer(req_rule, &prod, &f->world));
	}
}

static void test_host_implicit_allow(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "host"), "class=deathstar");
	struct policy_rule *r;
	const struct policy_entry *e;

	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	compile_ok(f, ep_deathstar(f));
	e = find(&f->out, WARDEN_IDENTITY_HOST, IN, 0, 0, 72);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	assert_int_equal(e->value.rule_cookie, 0);
	assert_null(find(&f->out, WARDEN_IDENTITY_HOST, EG, 0, 0, 72));

	/* A rule that allows the host explicitly keeps its own cookie. */
	r = add_rule(s, IN, false);
	rule_entities(r, POLICY_ENTITY_HOST);
	compile_ok(f, ep_deathstar(f));
	e = find(&f->out, WARDEN_IDENTITY_HOST, IN, 0, 0, 72);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 1));

	/* Denying the host wins over the implicit allow. */
	r = add_rule(s, IN, true);
	rule_entities(r, POLICY_ENTITY_HOST);
	rule_port(r, TCP, 22, 0, NULL);
	r = add_rule(s, IN, true);
	rule_endpoints(r, "reserved:host");
	compile_ok(f, ep_deathstar(f));
	e = find(&f->out, WARDEN_IDENTITY_HOST, IN, 0, 0, 72);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 3));
	e = find(&f->out, WARDEN_IDENTITY_HOST, IN, TCP, 22, 96);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
	assert_int_equal(
	    verdict(&f->out, EP_DEATHSTAR, WARDEN_IDENTITY_HOST, IN, TCP, 10250), DENY);
}

static void test_cookies_across_specs(void **state)
{
	struct fixture *f = *state;
	struct policy *p;
	struct policy_spec *s;
	struct policy_rule *r;
	const struct policy_entry *e;

	add_spec(add_policy(&f->set, "first"), "class=xwing");
	p = add_policy(&f->set, "second");
	s = add_spec(p, "class=xwing"); /* does not select: its rules still count */
	add_rule(s, IN, false);
	add_rule(s, EG, false);
	s = add_spec(p, "class=deathstar");
	add_rule(s, IN, false);
	r = &s->rules[0];
	rule_endpoints(r, "class=tiefighter");
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=xwing");
	compile_ok(f, ep_deathstar(f));

	e = find(&f->out, ID_TIEFIGHTER, IN, 0, 0, 72);
	assert_non_null(e);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(1, 2));
	assert_int_equal(POLICY_COOKIE_POLICY_ID(e->value.rule_cookie), 2);
	assert_int_equal(POLICY_COOKIE_RULE(e->value.rule_cookie), 2);
	e = find(&f->out, ID_XWING, IN, 0, 0, 72);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(1, 3));
}

/* Give a port rule n HTTP rules with these paths (method GET). */
static void port_rule_http(struct policy_port_rule *pr, const char *const *paths,
			   size_t n)
{
	pr->has_http = true;
	pr->http = calloc(n + 1, sizeof(*pr->http));
	assert_non_null(pr->http);
	for (size_t i = 0; i < n; i++) {
		pr->http[i].method = "GET";
		pr->http[i].path = (char *)paths[i];
	}
	pr->http_count = n;
}

static const struct policy_l7_entry *find_l7(const struct policy_entries *out,
					     uint8_t direction, uint16_t port,
					     uint32_t identity)
{
	for (size_t i = 0; i < out->l7_count; i++)
		if (out->l7[i].direction == direction && out->l7[i].port == port &&
		    out->l7[i].identity == identity)
			return &out->l7[i];
	return NULL;
}

static uint16_t proxy_port_of(const struct policy_entries *out, uint32_t identity,
			      uint8_t direction, uint16_t port)
{
	const struct policy_entry *e =
	    lpm(out, EP_DEATHSTAR, identity, direction, TCP, port);

	return e ? ntohs(e->value.proxy_port) : 0;
}

static void free_http(struct policy_set *set)
{
	for (size_t pi = 0; pi < set->count; pi++)
		for (size_t si = 0; si < set->items[pi].spec_count; si++)
			for (size_t ri = 0; ri < set->items[pi].specs[si].rule_count;
			     ri++) {
				struct policy_rule *r =
				    &set->items[pi].specs[si].rules[ri];

				for (size_t k = 0; k < r->port_rule_count; k++)
					free(r->port_rules[k].http);
			}
}

static void test_l7_redirects_with_rules(void **state)
{
	static const char *const paths[] = {"/v1/request-landing", "/v1"};
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "l7"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);
	const struct policy_l7_entry *le;

	rule_endpoints(r, "org=empire");
	port_rule_http(rule_port(r, TCP, 80, 0, NULL), paths, 2);
	compile_ok(f, ep_deathstar(f));
	/* Empire peers may reach port 80, through the proxy only. */
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, TCP, 80),
			 ALLOW);
	assert_int_equal(proxy_port_of(&f->out, ID_TIEFIGHTER, IN, 80),
			 WARDEN_PROXY_PORT_DEFAULT);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_XWING, IN, TCP, 80), NO_MATCH);
	le = find_l7(&f->out, IN, 80, ID_TIEFIGHTER);
	assert_non_null(le);
	assert_int_equal(le->rule_count, 2);
	assert_string_equal(le->rules[1].rule->path, "/v1");
	assert_int_equal(le->rules[0].cookie, POLICY_COOKIE(0, 0));
	assert_null(find_l7(&f->out, IN, 80, ID_XWING));
	/* The implicit host allow is plain: the node is never proxied. */
	assert_int_equal(proxy_port_of(&f->out, WARDEN_IDENTITY_HOST, IN, 80), 0);
	free_http(&f->set);
}

static void test_l7_lifted_by_l4_rule_for_same_peer(void **state)
{
	static const char *const paths[] = {"/public"};
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "l7"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);

	rule_endpoints(r, "org=empire");
	port_rule_http(rule_port(r, TCP, 80, 0, NULL), paths, 1);
	/* Another rule allows tiefighters on every port at L4 only. */
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(proxy_port_of(&f->out, ID_TIEFIGHTER, IN, 80), 0);
	assert_null(find_l7(&f->out, IN, 80, ID_TIEFIGHTER));
	/* The deathstar itself (org=empire, not a tiefighter) stays L7. */
	assert_int_equal(proxy_port_of(&f->out, ID_DEATHSTAR, IN, 80),
			 WARDEN_PROXY_PORT_DEFAULT);
	assert_non_null(find_l7(&f->out, IN, 80, ID_DEATHSTAR));
	free_http(&f->set);
}

static void test_l7_any_peer_with_exempt_and_union(void **state)
{
	static const char *const a[] = {"/a"}, *const b[] = {"/b", "/c"};
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "l7"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);
	const struct policy_l7_entry *le;

	port_rule_http(rule_port(r, TCP, 80, 0, NULL), a, 1); /* any peer */
	r = add_rule(s, IN, false);
	port_rule_http(rule_port(r, TCP, 80, 0, NULL), b, 2); /* any peer again */
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 80, 0, NULL); /* L4 only on 80 */
	compile_ok(f, ep_deathstar(f));
	le = find_l7(&f->out, IN, 80, 0);
	assert_non_null(le);
	assert_int_equal(le->rule_count, 3); /* unioned */
	/* Exempt: the host (implicit plain allow) and both tiefighter
	 * identities (plain and env=prod), sorted. */
	assert_int_equal(le->exempt_count, 3);
	assert_int_equal(le->exempt[0], WARDEN_IDENTITY_HOST);
	assert_int_equal(le->exempt[1], ID_TIEFIGHTER);
	assert_int_equal(le->exempt[2], ID_PROD);
	assert_int_equal(proxy_port_of(&f->out, 0, IN, 80), WARDEN_PROXY_PORT_DEFAULT);
	assert_int_equal(proxy_port_of(&f->out, ID_TIEFIGHTER, IN, 80), 0);
	free_http(&f->set);
}

static void test_l7_deny_wins(void **state)
{
	static const char *const paths[] = {"/"};
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "l7"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);

	rule_endpoints(r, "org=empire");
	port_rule_http(rule_port(r, TCP, 80, 0, NULL), paths, 1);
	r = add_rule(s, IN, true);
	rule_endpoints(r, "class=tiefighter");
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, IN, TCP, 80),
			 DENY);
	assert_null(find_l7(&f->out, IN, 80, ID_TIEFIGHTER));
	assert_non_null(find_l7(&f->out, IN, 80, ID_DEATHSTAR));
	free_http(&f->set);
}

/* Selectors against CIDR identities: the generic shortcut must agree with
 * testing each identity's own labels. */
static void test_selectors_on_cidr_identities(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "sel"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);

	rule_endpoints(r, "!nonexistent"); /* matches everything, CIDRs too */
	rule_port(r, TCP, 80, 0, NULL);
	r = add_rule(s, IN, false);
	rule_endpoints(r, "cidr:10.1.0.0/16"); /* names one CIDR identity */
	rule_port(r, TCP, 81, 0, NULL);
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_CIDR_10, IN, TCP, 80), ALLOW);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_CIDR_192, IN, TCP, 80), ALLOW);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_CIDR_10_1, IN, TCP, 81),
			 ALLOW);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_CIDR_10, IN, TCP, 81),
			 NO_MATCH);
	assert_int_equal(verdict(&f->out, EP_DEATHSTAR, ID_CIDR_192, IN, TCP, 81),
			 NO_MATCH);
}

static void test_l7_port_range_refused(void **state)
{
	static const char *const paths[] = {"/"};
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "l7"), "class=deathstar");
	struct policy_rule *r = add_rule(s, IN, false);

	rule_endpoints(r, "org=empire");
	port_rule_http(rule_port(r, TCP, 8000, 8003, NULL), paths, 1);
	assert_int_equal(compile(f, ep_deathstar(f)), -EOPNOTSUPP);
	assert_non_null(strstr(f->err, "single port"));
	free_http(&f->set);
}

static void test_output_deterministic(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "det"), "class=deathstar");
	struct policy_rule *r;
	struct policy_entries first;
	size_t i;

	r = add_rule(s, IN, false);
	rule_entities(r, POLICY_ENTITY_CLUSTER);
	rule_port(r, 0, 5000, 5100, NULL);
	r = add_rule(s, IN, true);
	rule_endpoints(r, "org=empire");
	rule_port(r, UDP, 5050, 0, NULL);
	compile_ok(f, ep_deathstar(f));
	first = f->out;
	memset(&f->out, 0, sizeof(f->out));
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(first.count, f->out.count);
	assert_memory_equal(first.items, f->out.items,
			    first.count * sizeof(*first.items));
	for (i = 0; i < first.count; i++)
		assert_int_equal(first.items[i].key.endpoint_id, EP_DEATHSTAR);
	policy_entries__free(&first);
	assert_null(first.items);
}

static void test_selects_peer(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "peer"), "");
	struct policy_rule *r = add_rule(s, IN, false);
	struct compile_identity tie = {ID_TIEFIGHTER, fx_labels(f, ID_TIEFIGHTER)};
	struct compile_identity cidr = f->identities[14]; /* 10.0.0.0/8 */
	struct selector *nothing;

	assert_int_equal(cidr.id, ID_CIDR_10);
	/* no peers at all: every identity */
	assert_true(policy_rule__selects_peer(r, &tie, &f->world));
	assert_true(policy_rule__selects_peer(r, &cidr, &f->world));

	rule_endpoints(r, "");
	nothing = &r->endpoints[0];
	nothing->match_nothing = true;
	assert_false(policy_rule__selects_peer(r, &tie, &f->world));
	nothing->match_nothing = false; /* {} matches every identity */
	assert_true(policy_rule__selects_peer(r, &tie, &f->world));

	r = add_rule(s, IN, false);
	rule_cidr(r, "10.0.0.0/7", NULL);
	assert_true(policy_rule__selects_peer(r, &cidr, &f->world));
	assert_false(policy_rule__selects_peer(r, &tie, &f->world));
}

static void test_collect_prefixes_and_labels(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "p"), "");
	struct policy_rule *r = add_rule(s, EG, false);
	struct policy_prefix *prefixes = NULL;
	struct label_set labels;
	size_t count = 0;
	char buf[64];

	rule_cidr(r, "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", NULL);
	rule_cidr(r, "10.0.0.0/8", NULL);
	r = add_rule(add_spec(add_policy(&f->set, "q"), ""), IN, true);
	rule_cidr(r, "10.1.0.0/16", NULL);
	rule_cidr(r, "2001:db8::/32", NULL);
	assert_int_equal(policy_set__collect_prefixes(&f->set, &prefixes, &count), 0);
	assert_int_equal(count, 4);
	policy_prefix__format(&prefixes[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8");
	policy_prefix__format(&prefixes[1], buf, sizeof(buf));
	assert_string_equal(buf, "10.1.0.0/16");
	policy_prefix__format(&prefixes[2], buf, sizeof(buf));
	assert_string_equal(buf, "10.2.0.0/16");
	policy_prefix__format(&prefixes[3], buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/32");
	free(prefixes);

	assert_int_equal(identity__cidr_labels(&f->identities[15].prefix, &labels), 0);
	label_set__format(&labels, buf, sizeof(buf));
	assert_string_equal(buf, "cidr:10.1.0.0/16,reserved:world");
	assert_non_null(label_set__find(&labels, "cidr", "10.1.0.0/16"));
	assert_string_equal(label_set__find(&labels, "reserved", "world")->value, "");
	label_set__free(&labels);

	free_set(&f->set);
	assert_int_equal(policy_set__collect_prefixes(&f->set, &prefixes, &count), 0);
	assert_int_equal(count, 0);
	assert_null(prefixes);
}

/* 10,000 rules against a handful of identities; prints the time. */
static void test_scale(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "big"), "class=deathstar");
	struct timespec t0, t1;
	char sel[64];
	size_t i;
	double ms;

	for (i = 0; i < 10000; i++) {
		struct policy_rule *r = add_rule(s, i % 5 == 0 ? EG : IN, i % 7 == 0);

		switch (i % 4) {
		case 0:
			rule_endpoints(r, "org=empire");
			break;
		case 1:
			snprintf(sel, sizeof(sel), "class=%s",
				 i % 3 ? "tiefighter" : "xwing");
			rule_endpoints(r, sel);
			break;
		case 2:
			rule_entities(r, POLICY_ENTITY_CLUSTER);
			break;
		case 3:
			rule_cidr(r, "10.0.0.0/8", "10.1.0.0/16", NULL);
			break;
		}
		if (i % 3 == 0)
			rule_port(r, TCP, (uint16_t)(1 + i % 60000), 0, NULL);
		else if (i % 3 == 1)
			rule_port(r, 0, (uint16_t)(1000 + i % 5000),
				  (uint16_t)(1000 + i % 5000 + 777), NULL);
		if (i % 11 == 0)
			rule_requires(r, "!forbidden");
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	compile_ok(f, ep_deathstar(f));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message(
	    "compiled 10000 rules x %zu identities into %zu entries in %.1f ms\n",
	    f->identity_count, f->out.count, ms);
	assert_true(f->out.count > 10000);
	/* Still sorted and without duplicate keys. */
	for (i = 1; i < f->out.count; i++)
		assert_true(memcmp(&f->out.items[i - 1].key, &f->out.items[i].key,
				   sizeof(struct warden_policy_key)) != 0);
}

/* ---- deny response, stable cookie ids, audit mode --------------------- */

static void test_reject_flags(void **state)
{
	struct fixture *f = *state;
	struct policy *p = add_policy(&f->set, "reject");
	struct policy_spec *s = add_spec(p, "class=deathstar");
	struct policy_rule *r;
	const struct policy_entry *e;

	p->deny_response = POLICY_DENY_RESPONSE_REJECT;
	r = add_rule(s, IN, false);
	rule_endpoints(r, "org=empire");
	rule_port(r, TCP, 80, 0, NULL);
	r = add_rule(s, IN, true);
	rule_endpoints(r, "class=tiefighter,!env");
	compile_ok(f, ep_deathstar(f));

	/* The deny and the allow folded into it answer with reject. */
	e = find(&f->out, ID_TIEFIGHTER, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY | WARDEN_POLICY_REJECT);
	e = find(&f->out, ID_TIEFIGHTER, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY | WARDEN_POLICY_REJECT);
	e = find(&f->out, ID_PROD, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	/* Its default deny too: it is the only policy enabling it. */
	assert_true(f->out.endpoint_flags & WARDEN_EP_REJECT_INGRESS);
	assert_false(f->out.endpoint_flags & WARDEN_EP_REJECT_EGRESS);

	/* A second policy with the agent's default (drop) also enables default
	 * deny: silence wins unless every enabling policy says reject. */
	add_rule(add_spec(add_policy(&f->set, "plain"), "class=deathstar"), IN, false);
	compile_ok(f, ep_deathstar(f));
	assert_true(f->out.endpoint_flags & WARDEN_EP_ENFORCE_INGRESS);
	assert_false(f->out.endpoint_flags & WARDEN_EP_REJECT_INGRESS);
	f->world.reject_by_default = true;
	compile_ok(f, ep_deathstar(f));
	assert_true(f->out.endpoint_flags & WARDEN_EP_REJECT_INGRESS);
	/* An explicit drop overrides the agent's reject, for its own denies. */
	p = &f->set.items[0]; /* add_policy moved the array */
	p->deny_response = POLICY_DENY_RESPONSE_DROP;
	compile_ok(f, ep_deathstar(f));
	assert_false(f->out.endpoint_flags & WARDEN_EP_REJECT_INGRESS);
	e = find(&f->out, ID_TIEFIGHTER, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
}

static void test_cookie_uses_policy_id(void **state)
{
	struct fixture *f = *state;
	struct policy *p = add_policy(&f->set, "first");
	struct policy_rule *r;
	const struct policy_entry *e;

	add_spec(p, "class=xwing");
	p = add_policy(&f->set, "second");
	p->id = 4242;
	r = add_rule(add_spec(p, "class=deathstar"), IN, false);
	rule_endpoints(r, "class=tiefighter");
	compile_ok(f, ep_deathstar(f));
	e = find(&f->out, ID_TIEFIGHTER, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO);
	assert_non_null(e);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE_ID(4242, 0));
}

/* One half of merged entries, decided as the datapath does. */
static enum verdict half_verdict(const struct policy_entries *out, uint32_t identity,
				 uint8_t direction, uint8_t protocol, uint16_t port,
				 bool audit, uint32_t *cookie)
{
	const struct policy_entry *e[2] = {
	    lpm(out, EP_DEATHSTAR, identity, direction, protocol, port),
	    lpm(out, EP_DEATHSTAR, 0, direction, protocol, port),
	};
	enum verdict v = NO_MATCH;

	*cookie = 0;
	for (int i = 1; i >= 0; i--) {
		uint16_t flags = !e[i]	 ? 0
				 : audit ? e[i]->value.audit_flags
					 : e[i]->value.flags;
		uint32_t c = !e[i]   ? 0
			     : audit ? e[i]->value.audit_cookie
				     : e[i]->value.rule_cookie;

		if (flags & WARDEN_POLICY_DENY) {
			if (v != DENY || i == 0)
				*cookie = c;
			v = DENY;
		} else if ((flags & WARDEN_POLICY_ALLOW) && v != DENY) {
			*cookie = c;
			v = ALLOW;
		}
	}
	return v;
}

/*
 * The merged entries must answer, half by half, exactly what compiling each
 * rule set alone answers: enforced = without audit policies, audit = all of
 * them enforced. Checked for every identity, both directions, TCP and UDP,
 * over ports around the rules.
 */
static void check_audit_halves(struct fixture *f)
{
	struct policy_set enforced = {0}, all = {0};
	struct policy_entries e_out = {0}, a_out = {0};
	static const uint16_t ports[] = {1, 79, 80, 81, 439, 440, 443, 447, 448, 8080};

	enforced.items = calloc(f->set.count + 1, sizeof(*enforced.items));
	all.items = calloc(f->set.count + 1, sizeof(*all.items));
	for (size_t i = 0; i < f->set.count; i++) {
		if (!f->set.items[i].audit)
			enforced.items[enforced.count++] = f->set.items[i];
		all.items[all.count] = f->set.items[i];
		all.items[all.count].id = (uint16_t)(i + 1); /* same cookies as f->set */
		all.items[all.count++].audit = false;
	}
	for (size_t i = 0; i < enforced.count; i++)
		for (size_t j = 0; j < f->set.count; j++)
			if (!strcmp(enforced.items[i].name, f->set.items[j].name))
				enforced.items[i].id = (uint16_t)(j + 1);
	assert_int_equal(policy_compile_endpoint(&enforced, &f->world, ep_deathstar(f),
						 &e_out, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(policy_compile_endpoint(&all, &f->world, ep_deathstar(f), &a_out,
						 f->err, sizeof(f->err)),
			 0);
	for (size_t k = 0; k < f->identity_count; k++)
		for (uint8_t dir = 0; dir < 2; dir++)
			for (int pr = 0; pr < 2; pr++)
				for (size_t pi = 0; pi < sizeof(ports) / sizeof(ports[0]);
				     pi++) {
					uint32_t id = f->identities[k].id, c1, c2;
					uint8_t proto = pr ? UDP : TCP;

					assert_int_equal(
					    half_verdict(&f->out, id, dir, proto,
							 ports[pi], false, &c1),
					    half_verdict(&e_out, id, dir, proto,
							 ports[pi], false, &c2));
					assert_int_equal(c1, c2);
					assert_int_equal(
					    half_verdict(&f->out, id, dir, proto,
							 ports[pi], true, &c1),
					    half_verdict(&a_out, id, dir, proto,
							 ports[pi], false, &c2));
					assert_int_equal(c1, c2);
				}
	policy_entries__free(&e_out);
	policy_entries__free(&a_out);
	free(enforced.items);
	free(all.items);
}

static void test_audit_policy_halves(void **state)
{
	struct fixture *f = *state;
	struct policy *web = add_policy(&f->set, "web"), *audit;
	struct policy_spec *s = add_spec(web, "class=deathstar");
	struct policy_rule *r;
	const struct policy_entry *e;

	/* Enforced: any peer on every TCP port, xwing on 440-447 (a block). */
	r = add_rule(s, IN, false);
	rule_port(r, TCP, 0, 0, NULL);
	r = add_rule(s, IN, false);
	rule_endpoints(r, "class=xwing");
	rule_port(r, TCP, 440, 447, NULL);
	/* Audit: deny xwing 443 inside that block, and egress default deny
	 * with one allowed port. */
	audit = add_policy(&f->set, "lockdown");
	audit->audit = true;
	s = add_spec(audit, "class=deathstar");
	s->default_deny_ingress = false;
	s->default_deny_egress = true;
	r = add_rule(s, IN, true);
	rule_endpoints(r, "class=xwing");
	rule_port(r, TCP, 443, 0, NULL);
	r = add_rule(s, EG, false);
	rule_port(r, UDP, 53, 0, NULL);
	compile_ok(f, ep_deathstar(f));

	assert_true(f->out.endpoint_flags & WARDEN_EP_AUDIT_POLICIES);
	assert_true(f->out.endpoint_flags & WARDEN_EP_AUDIT_ENFORCE_EGRESS);
	assert_false(f->out.endpoint_flags & WARDEN_EP_ENFORCE_EGRESS);
	assert_int_equal(f->out.audit_default_cookie[EG],
			 POLICY_COOKIE(1, POLICY_COOKIE_DEFAULT_DENY));
	assert_int_equal(f->out.audit_default_cookie[IN], 0);
	/* xwing 443: enforced allow inherited from the 440-447 block, audit deny. */
	e = find(&f->out, ID_XWING, IN, TCP, 443, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 1));
	assert_int_equal(e->value.audit_flags, WARDEN_POLICY_DENY);
	assert_int_equal(e->value.audit_cookie, POLICY_COOKIE(1, 0));
	check_audit_halves(f);

	/* Without audit policies selecting it, the audit half stays unused. */
	f->endpoints[0].labels = fx_labels(f, ID_DEATHSTAR);
	audit->audit = false;
	compile_ok(f, ep_deathstar(f));
	assert_false(f->out.endpoint_flags & WARDEN_EP_AUDIT_POLICIES);
	for (size_t i = 0; i < f->out.count; i++)
		assert_int_equal(f->out.items[i].value.audit_flags, 0);
}

static void test_audit_only_policy(void **state)
{
	struct fixture *f = *state;
	struct policy *audit = add_policy(&f->set, "lockdown");
	struct policy_rule *r;
	const struct policy_entry *e;

	audit->audit = true;
	r = add_rule(add_spec(audit, "class=deathstar"), IN, false);
	rule_endpoints(r, "class=tiefighter");
	rule_port(r, TCP, 80, 0, NULL);
	compile_ok(f, ep_deathstar(f));
	/* Nothing enforced: the endpoint is open, the audit half is not. */
	assert_false(f->out.endpoint_flags & WARDEN_EP_ENFORCE_INGRESS);
	assert_true(f->out.endpoint_flags & WARDEN_EP_AUDIT_ENFORCE_INGRESS);
	assert_int_equal(f->out.audit_default_cookie[IN],
			 POLICY_COOKIE(0, POLICY_COOKIE_DEFAULT_DENY));
	e = find(&f->out, ID_TIEFIGHTER, IN, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, 0);
	assert_int_equal(e->value.audit_flags, WARDEN_POLICY_ALLOW);
	/* The implicit host allow is in both halves. */
	e = find(&f->out, WARDEN_IDENTITY_HOST, IN, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	assert_int_equal(e->value.audit_flags, WARDEN_POLICY_ALLOW);
	check_audit_halves(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* ---- ipBlock: CIDR rules that select pods ----------------------------- */

#define ID_POD_CIDR_24 (WARDEN_IDENTITY_LOCAL_MIN + 10) /* pods in 10.200.0.0/24 */
#define ID_POD_CIDR_7 (WARDEN_IDENTITY_LOCAL_MIN + 11)	/* pods in 10.200.0.7/32 */
#define ID_CIDR_200_24 (WARDEN_IDENTITY_LOCAL_MIN + 12) /* world in 10.200.0.0/24 */
#define ID_CIDR_200_7 (WARDEN_IDENTITY_LOCAL_MIN + 13)	/* world in 10.200.0.7/32 */

static void fx_pod_cidr(struct fixture *f, uint32_t id, const char *cidr)
{
	size_t i = f->identity_count++;
	struct policy_prefix p;

	assert_int_equal(policy_prefix__parse(cidr, &p), 0);
	assert_int_equal(identity__pod_cidr_labels(&p, &f->labels[i]), 0);
	f->identities[i] = (struct compile_identity){
	    .id = id, .labels = &f->labels[i], .is_pod_cidr = true, .prefix = p};
}

/*
 * What the agent has for an ipBlock 10.200.0.0/24 except 10.200.0.7/32:
 * both prefixes get a CIDR identity (world addresses) and a pod-CIDR
 * identity (pod addresses) of their own.
 */
static void fx_ipblock_identities(struct fixture *f)
{
	fx_pod_cidr(f, ID_POD_CIDR_24, "10.200.0.0/24");
	fx_pod_cidr(f, ID_POD_CIDR_7, "10.200.0.7/32");
	fx_identity(f, ID_CIDR_200_24, NULL, "10.200.0.0/24");
	fx_identity(f, ID_CIDR_200_7, NULL, "10.200.0.7/32");
	f->world.identity_count = f->identity_count;
}

/* An egress ipBlock of the deathstar (a NetworkPolicy's) on TCP 80. */
static struct policy_rule *ipblock_rule(struct fixture *f, bool selects_pods)
{
	struct policy_spec *s =
	    add_spec(add_policy(&f->set, "ipblock"), "class=deathstar");
	struct policy_rule *r;

	s->default_deny_ingress = false;
	s->default_deny_egress = true;
	r = add_rule(s, EG, false);
	rule_cidr(r, "10.200.0.0/24", "10.200.0.7/32", NULL);
	r->cidrs[0].selects_pods = selects_pods;
	rule_port(r, TCP, 80, 0, NULL);
	return r;
}

/*
 * The datapath's decision with the third lookup: the peer's identity, its
 * address's pod-CIDR identity (0: none), any peer; a deny from any wins.
 */
static enum verdict verdict_pod(const struct policy_entries *out, uint32_t endpoint_id,
				uint32_t identity, uint32_t pod_cidr, uint8_t direction,
				uint8_t protocol, uint16_t port)
{
	const struct policy_entry *e[3] = {
	    lpm(out, endpoint_id, identity, direction, protocol, port),
	    pod_cidr ? lpm(out, endpoint_id, pod_cidr, direction, protocol, port) : NULL,
	    lpm(out, endpoint_id, 0, direction, protocol, port),
	};

	for (int i = 0; i < 3; i++)
		if (e[i] && (e[i]->value.flags & WARDEN_POLICY_DENY))
			return DENY;
	return e[0] || e[1] || e[2] ? ALLOW : NO_MATCH;
}

static void test_ipblock_selects_pods_by_address(void **state)
{
	struct fixture *f = *state;
	const struct policy_entry *e;

	fx_ipblock_identities(f);
	ipblock_rule(f, true);
	compile_ok(f, ep_deathstar(f));

	assert_int_equal(f->out.endpoint_flags,
			 WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS);
	/* The block's pod-CIDR identity, not the except's. */
	e = find(&f->out, ID_POD_CIDR_24, EG, TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_ALLOW);
	assert_int_equal(e->value.rule_cookie, POLICY_COOKIE(0, 0));
	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_7, EG), 0);
	/* World addresses in the block keep their CIDR identities. */
	assert_non_null(find(&f->out, ID_CIDR_200_24, EG, TCP, 80, 96));
	assert_int_equal(count_identity(&f->out, ID_CIDR_200_7, EG), 0);
	/* Pods are still not selected by their own identity. */
	assert_int_equal(count_identity(&f->out, ID_TIEFIGHTER, EG), 0);

	/* Two tie fighters with one identity: the one at .5 resolves to the
	 * block, the one at .7 to the except. */
	assert_int_equal(verdict_pod(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, ID_POD_CIDR_24,
				     EG, TCP, 80),
			 ALLOW);
	assert_int_equal(
	    verdict_pod(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, ID_POD_CIDR_7, EG, TCP, 80),
	    NO_MATCH);
	assert_int_equal(verdict_pod(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, ID_POD_CIDR_24,
				     EG, TCP, 81),
			 NO_MATCH);
	/* Without the pod-CIDR lookup (outside every block): nothing. */
	assert_int_equal(
	    verdict_pod(&f->out, EP_DEATHSTAR, ID_TIEFIGHTER, 0, EG, TCP, 80), NO_MATCH);
}

static void test_cilium_cidr_rule_selects_no_pod(void **state)
{
	struct fixture *f = *state;

	fx_ipblock_identities(f);
	ipblock_rule(f, false);
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(f->out.endpoint_flags, WARDEN_EP_ENFORCE_EGRESS);
	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_24, EG), 0);
	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_7, EG), 0);
	assert_non_null(find(&f->out, ID_CIDR_200_24, EG, TCP, 80, 96));

	/* wardend --cidr-rules-select-pods: like an ipBlock. */
	f->world.cidr_rules_select_pods = true;
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(f->out.endpoint_flags,
			 WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS);
	assert_non_null(find(&f->out, ID_POD_CIDR_24, EG, TCP, 80, 96));
	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_7, EG), 0);
}

/* Labels, entities and "any peer" never select a pod-CIDR identity. */
static void test_pod_cidr_only_through_cidrs(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s;
	struct policy_rule *r;

	fx_ipblock_identities(f);
	s = add_spec(add_policy(&f->set, "others"), "class=deathstar");
	s->default_deny_egress = true;
	r = add_rule(s, EG, false);
	rule_endpoints(r, "");
	r = add_rule(s, EG, false);
	rule_entities(r, POLICY_ENTITY_WORLD | POLICY_ENTITY_CLUSTER);
	r = add_rule(s, EG, false);
	rule_port(r, UDP, 53, 0, NULL); /* any peer, expanded by the requires */
	r = add_rule(s, EG, false);
	rule_requires(r, "!env");
	/* A CIDR that selects pods but does not contain them. */
	r = add_rule(s, EG, false);
	rule_cidr(r, "192.168.0.0/16", NULL);
	r->cidrs[0].selects_pods = true;
	compile_ok(f, ep_deathstar(f));

	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_24, EG), 0);
	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_7, EG), 0);
	assert_false(f->out.endpoint_flags & WARDEN_EP_POD_CIDR_EGRESS);
	/* The controls: the same rules did select others. */
	assert_non_null(find(&f->out, ID_TIEFIGHTER, EG, UDP, 53, 96));
	assert_non_null(find(&f->out, ID_CIDR_200_24, EG, 0, 0, 72));
	assert_non_null(find(&f->out, ID_CIDR_192, EG, 0, 0, 72));
}

/*
 * Requires cannot be judged for an address range: an allow leaves the
 * pod-CIDR identity out, a deny keeps it (both fail closed).
 */
static void test_pod_cidr_with_requires(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s;
	struct policy_rule *r;
	const struct policy_entry *e;

	fx_ipblock_identities(f);
	s = add_spec(add_policy(&f->set, "req"), "class=deathstar");
	s->default_deny_egress = true;
	r = add_rule(s, EG, false);
	rule_cidr(r, "10.200.0.0/24", NULL);
	r->cidrs[0].selects_pods = true;
	rule_requires(r, "env=prod");
	r = add_rule(s, EG, true);
	rule_cidr(r, "10.200.0.0/24", NULL);
	r->cidrs[0].selects_pods = true;
	rule_requires(r, "env=prod");
	rule_port(r, TCP, 22, 0, NULL);
	compile_ok(f, ep_deathstar(f));

	e = find(&f->out, ID_POD_CIDR_24, EG, TCP, 22, 96);
	assert_non_null(e);
	assert_int_equal(e->value.flags, WARDEN_POLICY_DENY);
	assert_null(find(&f->out, ID_POD_CIDR_24, EG, 0, 0, 72));
	assert_true(f->out.endpoint_flags & WARDEN_EP_POD_CIDR_EGRESS);

	/* policy_rule__selects_peer says the same. */
	struct compile_identity pods = f->identities[f->identity_count - 4];

	assert_int_equal(pods.id, ID_POD_CIDR_24);
	assert_false(policy_rule__selects_peer(&s->rules[0], &pods, &f->world));
	assert_true(policy_rule__selects_peer(&s->rules[1], &pods, &f->world));
}

/* An HTTP rule never selects pods by address: the proxy would not know. */
static void test_pod_cidr_not_for_l7_rules(void **state)
{
	static const char *const paths[] = {"/public"};
	struct fixture *f = *state;
	struct policy_rule *r;

	fx_ipblock_identities(f);
	f->world.cidr_rules_select_pods = true;
	r = ipblock_rule(f, false);
	port_rule_http(&r->port_rules[0], paths, 1);
	compile_ok(f, ep_deathstar(f));
	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_24, EG), 0);
	/* The control: world addresses in the block do go to the proxy. */
	assert_non_null(find(&f->out, ID_CIDR_200_24, EG, TCP, 80, 96));
	free(r->port_rules[0].http);
}

/* A named port towards pods of a block: resolved over every endpoint. */
static void test_pod_cidr_named_port(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s;
	struct policy_rule *r;

	fx_ipblock_identities(f);
	s = add_spec(add_policy(&f->set, "named"), "class=xwing");
	s->default_deny_egress = true;
	r = add_rule(s, EG, false);
	rule_cidr(r, "10.200.0.0/24", NULL);
	r->cidrs[0].selects_pods = true;
	rule_port(r, TCP, 0, 0, "web");
	compile_ok(f, &f->endpoints[2]);
	assert_non_null(find(&f->out, ID_POD_CIDR_24, EG, TCP, 8080, 96));
	assert_non_null(find(&f->out, ID_POD_CIDR_24, EG, TCP, 8081, 96));
	assert_non_null(find(&f->out, ID_POD_CIDR_24, EG, TCP, 9090, 96));
	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_24, EG), 3);
}

/* Ingress, and the flag of an ipBlock in an audit-mode policy only. */
static void test_pod_cidr_ingress_and_audit_flags(void **state)
{
	struct fixture *f = *state;
	struct policy *audit;
	struct policy_spec *s;
	struct policy_rule *r;

	fx_ipblock_identities(f);
	audit = add_policy(&f->set, "audited");
	audit->audit = true;
	s = add_spec(audit, "class=deathstar");
	r = add_rule(s, IN, false);
	rule_cidr(r, "10.200.0.0/24", "10.200.0.7/32", NULL);
	r->cidrs[0].selects_pods = true;
	compile_ok(f, ep_deathstar(f));

	assert_true(f->out.endpoint_flags & WARDEN_EP_POD_CIDR_INGRESS);
	assert_false(f->out.endpoint_flags & WARDEN_EP_POD_CIDR_EGRESS);
	assert_true(f->out.endpoint_flags & WARDEN_EP_AUDIT_POLICIES);
	/* Enforced: nothing for it; audit half: allow. */
	const struct policy_entry *e = find(&f->out, ID_POD_CIDR_24, IN, 0, 0, 72);

	assert_non_null(e);
	assert_int_equal(e->value.flags, 0);
	assert_int_equal(e->value.audit_flags, WARDEN_POLICY_ALLOW);
	assert_int_equal(count_identity(&f->out, ID_POD_CIDR_7, IN), 0);
}

static void test_collect_pod_prefixes(void **state)
{
	struct fixture *f = *state;
	struct policy_spec *s = add_spec(add_policy(&f->set, "p"), "");
	struct policy_rule *r = add_rule(s, EG, false);
	struct policy_prefix *prefixes = NULL;
	struct label_set labels;
	size_t count = 0;
	char buf[64];

	rule_cidr(r, "10.200.0.0/24", "10.200.0.7/32", NULL);
	r->cidrs[0].selects_pods = true;
	rule_cidr(r, "10.0.0.0/8", "10.1.0.0/16", NULL); /* a Cilium CIDR rule */
	assert_int_equal(
	    policy_set__collect_pod_prefixes(&f->set, false, &prefixes, &count), 0);
	assert_int_equal(count, 2);
	policy_prefix__format(&prefixes[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.200.0.0/24");
	policy_prefix__format(&prefixes[1], buf, sizeof(buf));
	assert_string_equal(buf, "10.200.0.7/32");
	free(prefixes);
	assert_int_equal(
	    policy_set__collect_pod_prefixes(&f->set, true, &prefixes, &count), 0);
	assert_int_equal(count, 4);
	free(prefixes);

	assert_int_equal(identity__pod_cidr_labels(&f->identities[14].prefix, &labels),
			 0);
	label_set__format(&labels, buf, sizeof(buf));
	assert_string_equal(buf, "cidr:10.0.0.0/8,warden:pod-cidr");
	label_set__free(&labels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_no_policy_only_host),
	    T(test_l3_allow),
	    T(test_l4_ports),
	    T(test_l4_only_rule_is_any_peer),
	    T(test_port_range),
	    T(test_port_range_edges),
	    T(test_icmp),
	    T(test_named_ports_ingress),
	    T(test_named_port_conflict),
	    T(test_named_ports_egress),
	    T(test_deny_folding),
	    T(test_deny_folding_ports),
	    T(test_dedupe),
	    T(test_enforcement_flags),
	    T(test_entities),
	    T(test_reserved_identities_implied),
	    T(test_cidr_except),
	    T(test_requires),
	    T(test_host_implicit_allow),
	    T(test_cookies_across_specs),
	    T(test_l7_redirects_with_rules),
	    T(test_l7_lifted_by_l4_rule_for_same_peer),
	    T(test_l7_any_peer_with_exempt_and_union),
	    T(test_l7_deny_wins),
	    T(test_l7_port_range_refused),
	    T(test_selectors_on_cidr_identities),
	    T(test_output_deterministic),
	    T(test_selects_peer),
	    T(test_collect_prefixes_and_labels),
	    T(test_scale),
	    T(test_reject_flags),
	    T(test_cookie_uses_policy_id),
	    T(test_audit_policy_halves),
	    T(test_audit_only_policy),
	    T(test_ipblock_selects_pods_by_address),
	    T(test_cilium_cidr_rule_selects_no_pod),
	    T(test_pod_cidr_only_through_cidrs),
	    T(test_pod_cidr_with_requires),
	    T(test_pod_cidr_not_for_l7_rules),
	    T(test_pod_cidr_named_port),
	    T(test_pod_cidr_ingress_and_audit_flags),
	    T(test_collect_pod_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
