// SPDX-License-Identifier: Apache-2.0
/*
 * The policy compiler: policy model + identities + endpoints in, the
 * policy-map entries of one endpoint out.
 *
 * The work is done in three steps, so that nothing is quadratic in the
 * number of entries:
 *  1. collect the rules of every spec that selects the endpoint, and the
 *     fromRequires/toRequires of each direction;
 *  2. for each rule, resolve its peers to identities and its ports to LPM
 *     blocks, and append one working entry per (peer, block);
 *  3. sort the entries so that, per (identity, direction), every block comes
 *     after the blocks containing it, then dedupe and fold deny precedence
 *     in one pass with a stack of enclosing deny blocks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "warden/errbuf.h"
#include "warden/policy_compile.h"
#include "warden/prefix.h"

/* Bits of the key after the direction: protocol (8) + dport (16). */
#define L4_BITS 24
/* Ranges split into at most 2 * 16 aligned blocks; three protocols for ANY. */
#define MAX_BLOCKS (3 * 2 * 16)

/* One LPM block over (protocol, dport): the top `bits` bits of value. */
struct l4_block {
	uint32_t value; /* protocol << 16 | dport (host order) */
	uint8_t bits;	/* 0 = any protocol, 8 = any port, 24 = one port */
};

struct work_entry {
	uint32_t identity;
	uint32_t cookie;
	uint32_t seq; /* emission order: ties go to the first rule */
	struct l4_block block;
	uint8_t direction;
	bool deny;
	bool reject; /* deny answered with RST/ICMP (the deny's policy says so) */
	bool l7;     /* allow only through the proxy */
	const struct policy_port_rule *l7_rules; /* its HTTP rules, when l7 */
};

struct selected_rule {
	const struct policy_rule *rule;
	const struct policy *policy;
	uint32_t cookie;
};

struct selector_list {
	const struct selector **items;
	size_t count;
};

struct compile_ctx {
	const struct compile_world *world;
	const struct compile_endpoint *ep;

	/* Every identity a peer can have: the world's plus reserved ones it
	 * did not list (see add_reserved_identities). */
	struct compile_identity *identities;
	size_t identity_count;
	struct label_set *reserved_labels; /* owned labels of added ones */
	size_t reserved_count;

	struct selected_rule *rules;
	size_t rule_count;
	/* requires[direction][deny]: ANDed into every peer of those rules;
	 * requires_ok[direction][deny][i]: identity i satisfies all of them
	 * (computed once, so many rules with requires stay linear). */
	struct selector_list requires[2][2];
	bool *requires_ok[2][2];

	uint32_t *peers; /* scratch, per rule */
	size_t peer_count;
	/* The pod-CIDR identities' numbers, sorted (ctx__is_pod_cidr). */
	uint32_t *pod_cidr_ids;
	size_t pod_cidr_id_count;
	/* Bit per direction: a rule selected a pod-CIDR identity. */
	uint32_t pod_cidr_dirs;

	/* CIDR and pod-CIDR identities (indexes into identities) sorted by
	 * address, so a CIDR rule finds the identities inside it by bisection
	 * instead of testing every identity against every CIDR (10,000 x
	 * 10,000). */
	size_t *cidr_order;
	size_t cidr_order_count;
	bool *cidr_marked; /* scratch, per rule: identity i is inside a CIDR */
	struct label_set generic_cidr_labels; /* what every CIDR identity has */

	struct work_entry *entries;
	size_t entry_count;
	size_t entry_capacity;
	const struct policy_port_rule *cur_l7; /* set while pushing an L7 rule */
	bool cur_reject;		       /* set while pushing a rule */

	bool include_audit; /* compile audit-mode policies too */
	/* Default deny per direction: how many selecting specs enable it, how
	 * many of those answer with reject, and the cookie naming the first
	 * audit-mode policy among them. */
	uint32_t default_deny_specs[2];
	uint32_t default_deny_reject[2];
	uint32_t audit_default_cookie[2];

	char *err;
	size_t err_len;
};

static const char *policy_name(const struct policy *p)
{
	return p && p->name ? p->name : "<unnamed>";
}

/* ---- peers ------------------------------------------------------------ */

/* The policy's id in rule cookies: the agent's stable id, else position. */
static uint32_t policy_cookie_id(const struct policy *p, size_t index)
{
	return p->id ? p->id : (uint32_t)index + 1;
}

/* Does a deny of this policy answer with RST/ICMP? */
static bool policy__rejects(const struct policy *p, const struct compile_world *world)
{
	if (p->deny_response == POLICY_DENY_RESPONSE_DEFAULT)
		return world->reject_by_default;
	return p->deny_response == POLICY_DENY_RESPONSE_REJECT;
}

static bool is_reserved_cluster_identity(uint32_t id)
{
	/* Cilium's "cluster" entity: host, unmanaged, health, init,
	 * remote-node, kube-apiserver, ingress — never world. */
	return id == WARDEN_IDENTITY_HOST ||
	       (id >= WARDEN_IDENTITY_UNMANAGED && id <= WARDEN_IDENTITY_INGRESS);
}

static bool entities_select(uint32_t entities, const struct compile_identity *peer)
{
	uint32_t id = peer->id;

	if (entities & POLICY_ENTITY_ALL)
		return true;
	if ((entities & POLICY_ENTITY_HOST) && id == WARDEN_IDENTITY_HOST)
		return true;
	if ((entities & POLICY_ENTITY_UNMANAGED) && id == WARDEN_IDENTITY_UNMANAGED)
		return true;
	if ((entities & POLICY_ENTITY_HEALTH) && id == WARDEN_IDENTITY_HEALTH)
		return true;
	if ((entities & POLICY_ENTITY_INIT) && id == WARDEN_IDENTITY_INIT)
		return true;
	if ((entities & POLICY_ENTITY_REMOTE_NODE) && id == WARDEN_IDENTITY_REMOTE_NODE)
		return true;
	if ((entities & POLICY_ENTITY_KUBE_APISERVER) &&
	    id == WARDEN_IDENTITY_KUBE_APISERVER)
		return true;
	if ((entities & POLICY_ENTITY_INGRESS) && id == WARDEN_IDENTITY_INGRESS)
		return true;
	if ((entities & POLICY_ENTITY_WORLD_IPV6) && id == WARDEN_IDENTITY_WORLD_IPV6)
		return true;
	/* The world entity covers everything outside the cluster, which
	 * includes every CIDR identity (they carry reserved:world). The
	 * parser folds "world-ipv4" into this bit. */
	if ((entities & POLICY_ENTITY_WORLD) &&
	    (peer->is_cidr || id == WARDEN_IDENTITY_WORLD ||
	     id == WARDEN_IDENTITY_WORLD_IPV4))
		return true;
	if ((entities & POLICY_ENTITY_CLUSTER) && !peer->is_cidr &&
	    (id >= WARDEN_IDENTITY_USER_MIN || is_reserved_cluster_identity(id)))
		return true;
	return false;
}

/* Does the CIDR select the pods inside it too (pod-CIDR identities)? */
static bool cidr_selects_pods(const struct policy_cidr *cidr,
			      const struct compile_world *world)
{
	return cidr->selects_pods || (world && world->cidr_rules_select_pods);
}

/*
 * A CIDR identity or a pod-CIDR identity is selected when its prefix is
 * inside the CIDR and not inside an except. The datapath resolves an
 * address to the longest prefix that contains it, and every except is a
 * prefix of its own, so "prefix inside" is "every address of it inside".
 */
static bool cidr_selects(const struct policy_cidr *cidr,
			 const struct compile_identity *peer,
			 const struct compile_world *world)
{
	size_t i;

	if (peer->is_pod_cidr && !cidr_selects_pods(cidr, world))
		return false;
	if (peer->is_cidr || peer->is_pod_cidr) {
		if (!policy_prefix__contains(&cidr->prefix, &peer->prefix))
			return false;
		for (i = 0; i < cidr->except_count; i++)
			if (policy_prefix__contains(&cidr->except[i], &peer->prefix))
				return false;
		return true;
	}
	/*
	 * Addresses outside every known CIDR have the world identity, so
	 * only a rule that covers the whole address space may select it
	 * (its excepts have CIDR identities of their own). Pod identities
	 * never match CIDR rules: a pod's address is matched through its
	 * pod-CIDR identity instead, when the rule selects pods.
	 */
	if (cidr->prefix.len != 0)
		return false;
	if (peer->id == WARDEN_IDENTITY_WORLD)
		return true;
	if (peer->id == WARDEN_IDENTITY_WORLD_IPV4)
		return cidr->prefix.family == 4;
	if (peer->id == WARDEN_IDENTITY_WORLD_IPV6)
		return cidr->prefix.family == 6;
	return false;
}

static bool rule_selectors_match(const struct policy_rule *rule,
				 const struct label_set *labels)
{
	for (size_t i = 0; i < rule->endpoint_count; i++)
		if (selector__matches(&rule->endpoints[i], labels))
			return true;
	return false;
}

/* Does a selector of the rule look at cidr:<prefix> labels (source cidr,
 * or an any-source key that could be a prefix)? */
static bool rule_names_cidr_labels(const struct policy_rule *rule)
{
	for (size_t i = 0; i < rule->endpoint_count; i++)
		for (size_t r = 0; r < rule->endpoints[i].count; r++) {
			const struct selector_requirement *req =
			    &rule->endpoints[i].requirements[r];

			if (!strcmp(req->source, LABEL_SOURCE_CIDR) ||
			    (!strcmp(req->source, LABEL_SOURCE_ANY) &&
			     (strchr(req->key, '/') || strchr(req->key, ':'))))
				return true;
		}
	return false;
}

/* The endpoint-selector and entity part of a rule's peers. */
static bool peer_labels_select(const struct policy_rule *rule,
			       const struct compile_identity *peer)
{
	size_t i;

	for (i = 0; i < rule->endpoint_count; i++)
		if (selector__matches(&rule->endpoints[i], peer->labels))
			return true;
	return rule->entities && entities_select(rule->entities, peer);
}

/* The CIDR part of a rule. */
static bool cidrs_select(const struct policy_rule *rule,
			 const struct compile_identity *peer,
			 const struct compile_world *world)
{
	for (size_t i = 0; i < rule->cidr_count; i++)
		if (cidr_selects(&rule->cidrs[i], peer, world))
			return true;
	return false;
}

/* The peer part of a rule without ALL and without requires. */
static bool peer_part_selects(const struct policy_rule *rule,
			      const struct compile_identity *peer,
			      const struct compile_world *world)
{
	if (peer->is_pod_cidr)
		return cidrs_select(rule, peer, world);
	return peer_labels_select(rule, peer) || cidrs_select(rule, peer, world);
}

static bool all_match(const struct selector *const *sels, size_t count,
		      const struct label_set *labels)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (!selector__matches(sels[i], labels))
			return false;
	return true;
}

/*
 * The rule on its own: its peers, ANDed with its own requires. The compiler
 * ANDs the requires of every rule of the direction instead (Cilium's
 * semantics), which is why this does not call back into the compile path.
 */
bool policy_rule__selects_peer(const struct policy_rule *rule,
			       const struct compile_identity *peer,
			       const struct compile_world *world)
{
	size_t i;

	if (!rule || !peer)
		return false;
	if (!rule->has_peers)
		return true;
	if (peer->is_pod_cidr) {
		if (rule->require_count && !rule->deny)
			return false;
		return cidrs_select(rule, peer, world);
	}
	for (i = 0; i < rule->require_count; i++)
		if (!selector__matches(&rule->requires[i], peer -> labels))
			return false;
	if (rule->entities & POLICY_ENTITY_ALL)
		return true;
	return peer_part_selects(rule, peer, world);
}

/*
 * Reserved identities always exist in Cilium, whether or not the caller
 * listed them; add the missing ones (host .. ingress, world, world-ipv6)
 * with their reserved:<name> label so that entities and requires treat
 * them the same either way.
 */
static const char *const reserved_names[] = {
    [WARDEN_IDENTITY_HOST] = "host",
    [WARDEN_IDENTITY_WORLD] = "world",
    [WARDEN_IDENTITY_UNMANAGED] = "unmanaged",
    [WARDEN_IDENTITY_HEALTH] = "health",
    [WARDEN_IDENTITY_INIT] = "init",
    [WARDEN_IDENTITY_REMOTE_NODE] = "remote-node",
    [WARDEN_IDENTITY_KUBE_APISERVER] = "kube-apiserver",
    [WARDEN_IDENTITY_INGRESS] = "ingress",
    [WARDEN_IDENTITY_WORLD_IPV4] = NULL, /* only if the caller has it */
    [WARDEN_IDENTITY_WORLD_IPV6] = "world-ipv6",
};
#define RESERVED_COUNT (sizeof(reserved_names) / sizeof(reserved_names[0]))

static int ctx__init_identities(struct compile_ctx *ctx)
{
	const struct compile_world *world = ctx->world;
	bool present[RESERVED_COUNT] = {false};
	size_t i, n = world ? world->identity_count : 0, missing = 0;
	int ret;

	for (i = 0; i < n; i++)
		if (world->identities[i].id < RESERVED_COUNT)
			present[world->identities[i].id] = true;
	for (i = 1; i < RESERVED_COUNT; i++)
		if (!present[i] && reserved_names[i])
			missing++;

	ctx->identities = calloc(n + missing + 1, sizeof(*ctx->identities));
	ctx->reserved_labels = calloc(missing + 1, sizeof(*ctx->reserved_labels));
	if (!ctx->identities || !ctx->reserved_labels)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		ctx->identities[ctx->identity_count++] = world->identities[i];
	for (i = 1; i < RESERVED_COUNT; i++) {
		struct label_set *labels;
		struct compile_identity *id;

		if (present[i] || !reserved_names[i])
			continue;
		labels = &ctx->reserved_labels[ctx->reserved_count++];
		ret =
		    label_set__add(labels, LABEL_SOURCE_RESERVED, reserved_names[i], "");
		if (ret)
			return ret;
		id = &ctx->identities[ctx->identity_count++];
		id->id = (uint32_t)i;
		id->labels = labels;
	}
	return 0;
}

static int cidr_identity__cmp(const struct compile_identity *a,
			      const struct compile_identity *b)
{
	int c;

	if (a->prefix.family != b->prefix.family)
		return a->prefix.family < b->prefix.family ? -1 : 1;
	c = memcmp(a->prefix.addr, b->prefix.addr, sizeof(a->prefix.addr));
	if (c)
		return c;
	return (int)a->prefix.len - (int)b->prefix.len;
}

static int cidr_order__cmp(const void *a, const void *b, void *identities)
{
	const struct compile_identity *ids = identities;

	return cidr_identity__cmp(&ids[*(const size_t *)a], &ids[*(const size_t *)b]);
}

static int u32__cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool ctx__is_pod_cidr(const struct compile_ctx *ctx, uint32_t id)
{
	return ctx->pod_cidr_id_count &&
	       bsearch(&id, ctx->pod_cidr_ids, ctx->pod_cidr_id_count,
		       sizeof(*ctx->pod_cidr_ids), u32__cmp);
}

static int ctx__init_cidr_index(struct compile_ctx *ctx)
{
	size_t i;

	ctx->cidr_order = calloc(ctx->identity_count + 1, sizeof(*ctx->cidr_order));
	ctx->cidr_marked = calloc(ctx->identity_count + 1, sizeof(*ctx->cidr_marked));
	ctx->pod_cidr_ids = calloc(ctx->identity_count + 1, sizeof(*ctx->pod_cidr_ids));
	if (!ctx->cidr_order || !ctx->cidr_marked || !ctx->pod_cidr_ids)
		return -ENOMEM;
	for (i = 0; i < ctx->identity_count; i++) {
		if (ctx->identities[i].is_cidr || ctx->identities[i].is_pod_cidr)
			ctx->cidr_order[ctx->cidr_order_count++] = i;
		if (ctx->identities[i].is_pod_cidr)
			ctx->pod_cidr_ids[ctx->pod_cidr_id_count++] =
			    ctx->identities[i].id;
	}
	qsort(ctx->pod_cidr_ids, ctx->pod_cidr_id_count, sizeof(*ctx->pod_cidr_ids),
	      u32__cmp);
	if (label_set__add(&ctx->generic_cidr_labels, LABEL_SOURCE_RESERVED, "world", ""))
		return -ENOMEM;
	qsort_r(ctx->cidr_order, ctx->cidr_order_count, sizeof(*ctx->cidr_order),
		cidr_order__cmp, ctx->identities);
	return 0;
}

/*
 * Mark the CIDR identities inside one of rule's CIDRs (and not inside one
 * of its excepts). Prefixes have no host bits, so every prefix inside C
 * sorts at or after C's network address and before the first address past
 * C: bisect to the start and walk while still inside.
 */
static void ctx__mark_cidr_peers(struct compile_ctx *ctx, const struct policy_rule *rule)
{
	size_t ci;

	memset(ctx->cidr_marked, 0, ctx->identity_count * sizeof(*ctx->cidr_marked));
	for (ci = 0; ci < rule->cidr_count; ci++) {
		const struct policy_cidr *c = &rule->cidrs[ci];
		struct compile_identity probe = {.prefix = c->prefix};
		size_t lo = 0, hi = ctx->cidr_order_count;

		probe.prefix.len = 0;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (cidr_identity__cmp(&ctx->identities[ctx->cidr_order[mid]],
					       &probe) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < ctx->cidr_order_count; lo++) {
			size_t idx = ctx->cidr_order[lo];
			const struct compile_identity *peer = &ctx->identities[idx];
			struct policy_prefix net = peer->prefix;

			/* Still inside C? Compare only C's prefix bits. */
			net.len = c->prefix.len;
			if (peer->prefix.family != c->prefix.family ||
			    !policy_prefix__contains(&c->prefix, &net))
				break;
			if (cidr_selects(c, peer, ctx->world))
				ctx->cidr_marked[idx] = true;
		}
	}
}

/*
 * The identities rule r allows (or denies) for this endpoint, into
 * ctx->peers. 0 stands for "any peer"; with requires in play "any" is
 * expanded to the known identities that satisfy them, since identity 0 in
 * the map cannot carry a label condition.
 */
static void ctx__resolve_peers(struct compile_ctx *ctx, const struct policy_rule *rule)
{
	const struct selector_list *reqs = &ctx->requires[rule->direction][rule->deny];
	bool any = !rule->has_peers || (rule->entities & POLICY_ENTITY_ALL);
	int generic = -1; /* -1: test each CIDR identity's labels */
	size_t i;

	ctx->peer_count = 0;
	if (any && !reqs->count) {
		ctx->peers[ctx->peer_count++] = WARDEN_IDENTITY_UNKNOWN;
		return;
	}
	if (!any && rule->cidr_count)
		ctx__mark_cidr_peers(ctx, rule);
	/*
	 * CIDR identities differ only in their cidr:<prefix> label, so unless a
	 * selector looks at such a label, one test against a generic CIDR
	 * identity answers for all of them (10,000 rules x 10,000 CIDR
	 * identities would otherwise be 10^8 selector matches).
	 */
	if (!any && rule->endpoint_count && !rule_names_cidr_labels(rule))
		generic = rule_selectors_match(rule, &ctx->generic_cidr_labels) ? 1 : 0;
	for (i = 0; i < ctx->identity_count; i++) {
		const struct compile_identity *peer = &ctx->identities[i];

		/*
		 * A pod-CIDR identity only through a CIDR that selects pods.
		 * Requires cannot be judged for a range of pod addresses: an
		 * allow then leaves it out, a deny keeps it (fail closed).
		 */
		if (peer->is_pod_cidr) {
			if (any || !rule->cidr_count || !ctx->cidr_marked[i] ||
			    (reqs->count && !rule->deny))
				continue;
			ctx->peers[ctx->peer_count++] = peer->id;
			ctx->pod_cidr_dirs |= 1u << rule->direction;
			continue;
		}
		if (reqs->count && !ctx->requires_ok[rule->direction][rule->deny][i])
			continue;
		if (!any) {
			bool selected;

			if (peer->is_cidr) {
				selected =
				    (rule->cidr_count && ctx->cidr_marked[i]) ||
				    (rule->entities &&
				     entities_select(rule->entities, peer)) ||
				    (generic >= 0
					 ? generic == 1
					 : rule_selectors_match(rule, peer->labels));
			} else {
				selected = peer_part_selects(rule, peer, ctx->world);
			}
			if (!selected)
				continue;
		}
		ctx->peers[ctx->peer_count++] = peer->id;
	}
}

static int ctx__init_requires(struct compile_ctx *ctx)
{
	size_t d, deny, i;

	for (d = 0; d < 2; d++) {
		for (deny = 0; deny < 2; deny++) {
			const struct selector_list *reqs = &ctx->requires[d][deny];
			bool *ok;

			if (!reqs->count)
				continue;
			ok = calloc(ctx->identity_count + 1, sizeof(*ok));
			if (!ok)
				return -ENOMEM;
			ctx->requires_ok[d][deny] = ok;
			for (i = 0; i < ctx->identity_count; i++)
				ok[i] = all_match(reqs->items, reqs->count,
						  ctx->identities[i].labels);
		}
	}
	return 0;
}

/* ---- ports ------------------------------------------------------------ */

static void blocks__push(struct l4_block *blocks, size_t *n, uint8_t protocol,
			 uint16_t port, uint8_t bits)
{
	blocks[*n].value = ((uint32_t)protocol << 16) | port;
	blocks[*n].bits = bits;
	(*n)++;
}

/*
 * Split [first, last] into maximal aligned power-of-two blocks: each step
 * takes the largest block that starts at first, is aligned to its size and
 * does not pass last.
 */
static void blocks__push_range(struct l4_block *blocks, size_t *n, uint8_t protocol,
			       uint32_t first, uint32_t last)
{
	while (first <= last) {
		uint32_t size_log = 0;

		while (size_log < 16) {
			uint32_t size = 1u << (size_log + 1);

			if (first & (size - 1) || first + size - 1 > last)
				break;
			size_log++;
		}
		blocks__push(blocks, n, protocol, (uint16_t)first,
			     (uint8_t)(L4_BITS - size_log));
		first += 1u << size_log;
	}
}

static bool is_icmp(uint8_t protocol)
{
	return protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
}

/*
 * The blocks of one numeric port entry (after named-port resolution).
 * Returns 0 or -EINVAL for a range that runs backwards or an ICMP type
 * that does not fit a byte.
 */
static int blocks__from_port(struct l4_block *blocks, size_t *n, uint8_t protocol,
			     uint16_t port, uint16_t end_port)
{
	static const uint8_t any_protocols[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP};
	size_t i;
	int ret;

	if (protocol == 0) {
		if (port == 0) {
			blocks__push(blocks, n, 0, 0, 0);
			return 0;
		}
		/* Cilium's ANY with a port means TCP, UDP and SCTP. */
		for (i = 0; i < sizeof(any_protocols); i++) {
			ret = blocks__from_port(blocks, n, any_protocols[i], port,
						end_port);
			if (ret)
				return ret;
		}
		return 0;
	}
	if (is_icmp(protocol)) {
		/* port is the ICMP type (0 is echo reply, not "any"); the
		 * datapath builds the key as bpf_htons(type << 8). */
		if (port > 0xff || end_port)
			return -EINVAL;
		blocks__push(blocks, n, protocol, (uint16_t)(port << 8), L4_BITS);
		return 0;
	}
	if (port == 0) {
		blocks__push(blocks, n, protocol, 0, 8);
		return 0;
	}
	if (end_port == 0 || end_port == port) {
		blocks__push(blocks, n, protocol, port, L4_BITS);
		return 0;
	}
	if (end_port < port)
		return -EINVAL;
	blocks__push_range(blocks, n, protocol, port, end_port);
	return 0;
}

static int ctx__push(struct compile_ctx *ctx, uint32_t identity, uint8_t direction,
		     const struct l4_block *block, bool deny, uint32_t cookie)
{
	struct work_entry *e;

	if (ctx->entry_count == ctx->entry_capacity) {
		size_t cap = ctx->entry_capacity ? ctx->entry_capacity * 2 : 64;
		struct work_entry *items = realloc(ctx->entries, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		ctx->entries = items;
		ctx->entry_capacity = cap;
	}
	e = &ctx->entries[ctx->entry_count];
	e->identity = identity;
	e->cookie = cookie;
	e->seq = (uint32_t)ctx->entry_count;
	e->block = *block;
	e->direction = direction;
	e->deny = deny;
	e->reject = deny && ctx->cur_reject;
	e->l7 = !deny && ctx->cur_l7;
	e->l7_rules = e->l7 ? ctx->cur_l7 : NULL;
	ctx->entry_count++;
	return 0;
}

/*
 * Push blocks[0..n) of the rule sr for each of peers[0..peer_count). An
 * HTTP rule leaves pod-CIDR identities out: the proxy judges a request by
 * the peer's own identity and would find no HTTP rule for them, so such a
 * rule does not select pods by address (fail closed).
 */
static int ctx__push_blocks(struct compile_ctx *ctx, const struct selected_rule *sr,
			    const uint32_t *peers, size_t peer_count,
			    const struct l4_block *blocks, size_t n)
{
	size_t i, j;
	int ret;

	for (j = 0; j < peer_count; j++) {
		if (ctx->cur_l7 && ctx__is_pod_cidr(ctx, peers[j]))
			continue;
		for (i = 0; i < n; i++) {
			ret = ctx__push(ctx, peers[j], sr->rule->direction, &blocks[i],
					sr->rule->deny, sr->cookie);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Every port and protocol, for every peer of the rule. */
static int ctx__push_any_port(struct compile_ctx *ctx, const struct selected_rule *sr)
{
	struct l4_block any;
	size_t n = 0;

	blocks__push(&any, &n, 0, 0, 0);
	return ctx__push_blocks(ctx, sr, ctx->peers, ctx->peer_count, &any, n);
}

/* A declared port without protocol is TCP, as in a Kubernetes pod spec. */
static uint8_t named_port_protocol(const struct compile_named_port *np)
{
	return np->protocol ? np->protocol : IPPROTO_TCP;
}

static bool named_port_fits(const struct compile_named_port *np,
			    const struct policy_port *p)
{
	/* Cilium lowercases port names; IANA service names are
	 * case-insensitive. */
	if (!np->name || strcasecmp(np->name, p->name))
		return false;
	return !p->protocol || p->protocol == named_port_protocol(np);
}

/*
 * Push, for each of peers[0..peer_count), the single-port block of every
 * port declared by owner that named port p names. A declared port 0
 * carries the name but opens nothing.
 */
static int ctx__push_named_port(struct compile_ctx *ctx, const struct selected_rule *sr,
				const struct compile_endpoint *owner,
				const struct policy_port *p, const uint32_t *peers,
				size_t peer_count)
{
	struct l4_block block = {.bits = L4_BITS};
	size_t j, k;
	int ret;

	for (j = 0; j < peer_count; j++) {
		for (k = 0; k < owner->port_count; k++) {
			const struct compile_named_port *np = &owner->ports[k];

			if (!named_port_fits(np, p) || np->port == 0)
				continue;
			block.value = (uint32_t)named_port_protocol(np) << 16 | np->port;
			ret = ctx__push_blocks(ctx, sr, &peers[j], 1, &block, 1);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * Does the name resolve to one number on the endpoint? Two different
 * numbers for one name (and protocol) would make an ingress rule
 * ambiguous, so that is an error rather than a guess.
 */
static int ctx__check_named_port(struct compile_ctx *ctx, const struct selected_rule *sr,
				 const struct policy_port *p)
{
	const struct compile_endpoint *ep = ctx->ep;
	const struct compile_named_port *first = NULL;
	size_t i;

	for (i = 0; i < ep->port_count; i++) {
		const struct compile_named_port *np = &ep->ports[i];

		if (!named_port_fits(np, p))
			continue;
		if (first && first->port != np->port) {
			errbuf__printf(
			    ctx->err, ctx->err_len,
			    "policy %s line %d: named port \"%s\" of endpoint %u "
			    "resolves to both %u and %u",
			    policy_name(sr->policy), sr->rule->line, p->name,
			    ep->endpoint_id, first->port, np->port);
			return -EINVAL;
		}
		if (!first)
			first = np;
	}
	return 0;
}

/*
 * A named port of a rule. Ingress: the name is one of this endpoint's own
 * ports, the same for every peer. Egress: the name is a port of the peer,
 * so it is resolved per peer identity over the endpoints that have it
 * (over all endpoints for the "any" peer, and for a pod-CIDR identity,
 * which stands for pods of any identity); different pods of one identity
 * may number the name differently, and every distinct number is allowed,
 * as in Cilium.
 */
static int ctx__compile_named_port(struct compile_ctx *ctx,
				   const struct selected_rule *sr,
				   const struct policy_port *p)
{
	const struct compile_world *world = ctx->world;
	size_t j, e;
	int ret;

	if (sr->rule->direction == WARDEN_DIR_INGRESS) {
		ret = ctx__check_named_port(ctx, sr, p);
		if (ret)
			return ret;
		return ctx__push_named_port(ctx, sr, ctx->ep, p, ctx->peers,
					    ctx->peer_count);
	}
	for (j = 0; j < ctx->peer_count; j++) {
		for (e = 0; world && e < world->endpoint_count; e++) {
			const struct compile_endpoint *other = &world->endpoints[e];

			if (ctx->peers[j] != WARDEN_IDENTITY_UNKNOWN &&
			    other->identity != ctx->peers[j] &&
			    !ctx__is_pod_cidr(ctx, ctx->peers[j]))
				continue;
			ret = ctx__push_named_port(ctx, sr, other, p, &ctx->peers[j], 1);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * One toPorts entry (or icmps entry) of a rule. An entry without ports
 * (possible with L7 rules only) applies to every port.
 */
static int ctx__compile_port_rule(struct compile_ctx *ctx, const struct selected_rule *sr,
				  const struct policy_port_rule *pr)
{
	struct l4_block blocks[MAX_BLOCKS];
	size_t k, n;
	int ret;

	if (!pr->port_count)
		return ctx__push_any_port(ctx, sr);
	for (k = 0; k < pr->port_count; k++) {
		const struct policy_port *p = &pr->ports[k];

		if (p->name) {
			ret = ctx__compile_named_port(ctx, sr, p);
			if (ret)
				return ret;
			continue;
		}
		n = 0;
		ret = blocks__from_port(blocks, &n, p->protocol, p->port, p->end_port);
		if (ret) {
			errbuf__printf(ctx->err, ctx->err_len,
				       "policy %s line %d: invalid port %u-%u/%u",
				       policy_name(sr->policy), sr->rule->line, p->port,
				       p->end_port, p->protocol);
			return ret;
		}
		ret = ctx__push_blocks(ctx, sr, ctx->peers, ctx->peer_count, blocks, n);
		if (ret)
			return ret;
	}
	return 0;
}

static int ctx__compile_rule(struct compile_ctx *ctx, const struct selected_rule *sr)
{
	const struct policy_rule *rule = sr->rule;
	size_t i;
	int ret;

	ctx__resolve_peers(ctx, rule);
	if (!ctx->peer_count)
		return 0;
	ctx->cur_reject = policy__rejects(sr->policy, ctx->world);
	if (!rule->port_rule_count)
		return ctx__push_any_port(ctx, sr);

	for (i = 0; i < rule->port_rule_count; i++) {
		const struct policy_port_rule *pr = &rule->port_rules[i];

		ctx->cur_l7 = pr->has_http && !rule->deny ? pr : NULL;
		ret = ctx__compile_port_rule(ctx, sr, pr);
		ctx->cur_l7 = NULL;
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- selection -------------------------------------------------------- */

static int selector_list__append(struct selector_list *list, const struct selector *sels,
				 size_t count)
{
	const struct selector **items;
	size_t i;

	if (!count)
		return 0;
	items = realloc(list->items, (list->count + count) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	list->items = items;
	for (i = 0; i < count; i++)
		items[list->count++] = &sels[i];
	return 0;
}

/*
 * Find every rule of every spec that selects the endpoint, set the
 * enforcement flags, and gather requires per direction. Requires of allow
 * rules constrain allow rules and those of deny rules constrain deny rules
 * (Cilium keeps the two apart, so an allow rule's fromRequires can never
 * narrow a deny).
 */
static int ctx__select_rules(struct compile_ctx *ctx, const struct policy_set *policies,
			     uint32_t *flags)
{
	size_t pi, si, ri, total = 0;
	int ret;

	for (pi = 0; pi < policies->count; pi++)
		for (si = 0; si < policies->items[pi].spec_count; si++)
			total += policies->items[pi].specs[si].rule_count;
	ctx->rules = calloc(total + 1, sizeof(*ctx->rules));
	if (!ctx->rules)
		return -ENOMEM;

	for (pi = 0; pi < policies->count; pi++) {
		const struct policy *p = &policies->items[pi];
		uint32_t ordinal = 0, id = policy_cookie_id(p, pi);

		if (p->audit && !ctx->include_audit)
			continue;
		for (si = 0; si < p->spec_count; si++) {
			const struct policy_spec *spec = &p->specs[si];
			bool dd[2] = {spec->default_deny_ingress,
				      spec->default_deny_egress};

			if (!selector__matches(&spec->subject, ctx->ep->labels)) {
				ordinal += (uint32_t)spec->rule_count;
				continue;
			}
			for (int dir = 0; dir < 2; dir++) {
				if (!dd[dir])
					continue;
				*flags |= dir == WARDEN_DIR_INGRESS
					      ? WARDEN_EP_ENFORCE_INGRESS
					      : WARDEN_EP_ENFORCE_EGRESS;
				ctx->default_deny_specs[dir]++;
				if (policy__rejects(p, ctx->world))
					ctx->default_deny_reject[dir]++;
				if (p->audit && !ctx->audit_default_cookie[dir])
					ctx->audit_default_cookie[dir] = POLICY_COOKIE_ID(
					    id, POLICY_COOKIE_DEFAULT_DENY);
			}

			for (ri = 0; ri < spec->rule_count; ri++, ordinal++) {
				const struct policy_rule *rule = &spec->rules[ri];
				struct selected_rule *sr;
				size_t k;

				if (rule->direction > WARDEN_DIR_EGRESS) {
					errbuf__printf(ctx->err, ctx->err_len,
						       "policy %s line %d: invalid rule "
						       "direction %u",
						       policy_name(p), rule->line,
						       rule->direction);
					return -EINVAL;
				}
				(void)k;
				sr = &ctx->rules[ctx->rule_count++];
				sr->rule = rule;
				sr->policy = p;
				sr->cookie = POLICY_COOKIE_ID(id, ordinal);
				ret = selector_list__append(
				    &ctx->requires[rule->direction][rule->deny],
				    rule -> requires, rule->require_count);
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}

/* ---- sort, dedupe, fold ----------------------------------------------- */

static int work_entry__cmp(const void *a, const void *b)
{
	const struct work_entry *x = a, *y = b;

	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	if (x->direction != y->direction)
		return x->direction < y->direction ? -1 : 1;
	/* Within one (identity, direction), ordering by value then prefix
	 * length puts every block after all blocks that contain it. */
	if (x->block.value != y->block.value)
		return x->block.value < y->block.value ? -1 : 1;
	if (x->block.bits != y->block.bits)
		return x->block.bits < y->block.bits ? -1 : 1;
	if (x->deny != y->deny)
		return x->deny ? -1 : 1;
	/* For one key a plain allow beats an L7 one: L4-only lifts L7. */
	if (x->l7 != y->l7)
		return x->l7 ? 1 : -1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

static bool block__contains(const struct l4_block *outer, const struct l4_block *inner)
{
	uint32_t shift;

	if (outer->bits > inner->bits)
		return false;
	shift = L4_BITS - outer->bits;
	/* bits 0 means everything; shifting a uint32_t by 24 is defined. */
	return (outer->value >> shift) == (inner->value >> shift);
}

static bool work_entry__same_key(const struct work_entry *a, const struct work_entry *b)
{
	return a->identity == b->identity && a->direction == b->direction &&
	       a->block.value == b->block.value && a->block.bits == b->block.bits;
}

static void work_entry__to_policy(const struct work_entry *w, uint32_t endpoint_id,
				  struct policy_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->key.prefixlen = WARDEN_POLICY_PREFIX_ANY_PROTO + w->block.bits;
	out->key.endpoint_id = endpoint_id;
	out->key.identity = w->identity;
	out->key.direction = w->direction;
	out->key.protocol = (uint8_t)(w->block.value >> 16);
	out->key.dport = htons((uint16_t)(w->block.value & 0xffff));
	out->value.flags = w->deny ? WARDEN_POLICY_DENY : WARDEN_POLICY_ALLOW;
	if (w->reject)
		out->value.flags |= WARDEN_POLICY_REJECT;
	out->value.rule_cookie = w->cookie;
}

/* Where the HTTP rules of a kept L7 entry come from (several rules can
 * name the same peer and port: their HTTP rules are unioned). */
struct l7_source {
	size_t kept;
	const struct policy_port_rule *rules;
	uint32_t cookie;
};

struct l7_sources {
	struct l7_source *items;
	size_t count;
	size_t capacity;
};

static int l7_sources__add(struct l7_sources *s, size_t kept,
			   const struct policy_port_rule *rules, uint32_t cookie)
{
	if (s->count == s->capacity) {
		size_t cap = s->capacity ? s->capacity * 2 : 16;
		struct l7_source *items = realloc(s->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		s->items = items;
		s->capacity = cap;
	}
	s->items[s->count++] = (struct l7_source){kept, rules, cookie};
	return 0;
}

/* A plain (L4-only) allow of `identity` in e[0..kept) covering block? */
static bool plain_allow_covers(const struct work_entry *e, size_t kept, uint32_t identity,
			       uint8_t direction, const struct l4_block *block)
{
	for (size_t i = 0; i < kept; i++)
		if (e[i].identity == identity && e[i].direction == direction &&
		    !e[i].deny && !e[i].l7 && block__contains(&e[i].block, block))
			return true;
	return false;
}

/*
 * Turn the kept L7 entries into the proxy's view (struct policy_l7_entry).
 * A peer-specific L7 entry under an any-peer plain allow is lifted (the
 * datapath does not redirect it either); an any-peer L7 entry lists the
 * peers with their own plain allow as exempt.
 */
static int ctx__build_l7(struct compile_ctx *ctx, struct work_entry *e, size_t kept,
			 const struct l7_sources *srcs, struct policy_entries *out)
{
	size_t i = 0;

	while (i < srcs->count) {
		size_t idx = srcs->items[i].kept, end = i, rules = 0;
		struct work_entry *w = &e[idx];
		struct policy_l7_entry *le;

		while (end < srcs->count && srcs->items[end].kept == idx)
			rules += srcs->items[end++].rules->http_count;
		if (!w->l7)
			goto next;
		if (w->identity && plain_allow_covers(e, kept, WARDEN_IDENTITY_UNKNOWN,
						      w->direction, &w->block)) {
			w->l7 = false;
			goto next;
		}
		if (w->block.bits != L4_BITS) {
			errbuf__printf(
			    ctx->err, ctx->err_len,
			    "L7 rules need a single port (no range, no port 0) "
			    "on endpoint %u",
			    ctx->ep->endpoint_id);
			return -EOPNOTSUPP;
		}
		le = &out->l7[out->l7_count++];
		le->direction = w->direction;
		le->protocol = (uint8_t)(w->block.value >> 16);
		le->port = (uint16_t)(w->block.value & 0xffff);
		le->identity = w->identity;
		le->rules = calloc(rules + 1, sizeof(*le->rules));
		if (!le->rules)
			return -ENOMEM;
		for (size_t k = i; k < end; k++)
			for (size_t h = 0; h < srcs->items[k].rules->http_count; h++)
				le->rules[le->rule_count++] = (struct policy_l7_rule_ref){
				    &srcs->items[k].rules->http[h],
				    srcs->items[k].cookie};
		if (!w->identity) {
			le->exempt = calloc(kept + 1, sizeof(*le->exempt));
			if (!le->exempt)
				return -ENOMEM;
			for (size_t k = 0; k < kept; k++) {
				uint32_t id = e[k].identity;

				if (!id || (le->exempt_count &&
					    le->exempt[le->exempt_count - 1] == id))
					continue;
				if (plain_allow_covers(e, kept, id, w->direction,
						       &w->block))
					le->exempt[le->exempt_count++] = id;
			}
		}
	next:
		i = end;
	}
	return 0;
}

/*
 * Sort, then one pass: the first entry of each run of equal keys wins (the
 * sort puts denies first, then emission order), and an allow inside a deny
 * block of the same identity and direction becomes that deny. Aligned
 * blocks are nested or disjoint, so the enclosing denies form a stack.
 */
static int ctx__finish(struct compile_ctx *ctx, struct policy_entries *out)
{
	struct work_entry *e = ctx->entries;
	size_t n = ctx->entry_count, i, kept = 0;
	size_t *stack = NULL, depth = 0, *plain = NULL, plain_depth = 0;
	struct l7_sources srcs = {0};
	uint16_t proxy_port =
	    ctx->world->proxy_port ? ctx->world->proxy_port : WARDEN_PROXY_PORT_DEFAULT;
	int ret = 0;

	if (n) {
		qsort(e, n, sizeof(*e), work_entry__cmp);
		stack = malloc((L4_BITS + 1) * sizeof(*stack));
		plain = malloc((L4_BITS + 1) * sizeof(*plain));
		out->items = calloc(n, sizeof(*out->items));
		if (!stack || !plain || !out->items) {
			ret = -ENOMEM;
			goto out;
		}
	}

	for (i = 0; i < n; i++) {
		struct work_entry *cur = &e[i];

		if (kept && work_entry__same_key(&e[kept - 1], cur)) {
			/* Same peer and port: HTTP rules are unioned. */
			if (e[kept - 1].l7 && cur->l7) {
				ret = l7_sources__add(&srcs, kept - 1, cur->l7_rules,
						      cur->cookie);
				if (ret)
					goto out;
			}
			continue;
		}
		/* Deny (and plain allow) blocks of another identity or
		 * direction, or that do not contain this one, no longer apply. */
		while (depth) {
			const struct work_entry *top = &e[stack[depth - 1]];

			if (top->identity == cur->identity &&
			    top->direction == cur->direction &&
			    block__contains(&top->block, &cur->block))
				break;
			depth--;
		}
		while (plain_depth) {
			const struct work_entry *top = &e[plain[plain_depth - 1]];

			if (top->identity == cur->identity &&
			    top->direction == cur->direction &&
			    block__contains(&top->block, &cur->block))
				break;
			plain_depth--;
		}
		if (!cur->deny && depth) {
			cur->deny = true;
			cur->reject = e[stack[depth - 1]].reject;
			cur->l7 = false;
			cur->cookie = e[stack[depth - 1]].cookie;
		} else if (cur->l7 && plain_depth) {
			/* An L4-only allow of this peer covers the port. */
			cur->l7 = false;
		}
		e[kept] = *cur;
		if (e[kept].l7) {
			ret = l7_sources__add(&srcs, kept, e[kept].l7_rules,
					      e[kept].cookie);
			if (ret)
				goto out;
		}
		/* The stacks hold chains of nested blocks, at most one per
		 * prefix length; an equal key was skipped above. */
		if (e[kept].deny && depth <= L4_BITS)
			stack[depth++] = kept;
		else if (!e[kept].deny && !e[kept].l7 && plain_depth <= L4_BITS)
			plain[plain_depth++] = kept;
		kept++;
	}

	if (srcs.count) {
		out->l7 = calloc(srcs.count, sizeof(*out->l7));
		if (!out->l7) {
			ret = -ENOMEM;
			goto out;
		}
		ret = ctx__build_l7(ctx, e, kept, &srcs, out);
		if (ret)
			goto out;
	}
	for (i = 0; i < kept; i++) {
		work_entry__to_policy(&e[i], ctx->ep->endpoint_id, &out->items[i]);
		if (e[i].l7)
			out->items[i].value.proxy_port = htons(proxy_port);
	}
	out->count = kept;
	out->capacity = n;
out:
	free(srcs.items);
	free(stack);
	free(plain);
	return ret;
}

static void ctx__free(struct compile_ctx *ctx)
{
	size_t i, j;

	for (i = 0; i < ctx->reserved_count; i++)
		label_set__free(&ctx->reserved_labels[i]);
	free(ctx->reserved_labels);
	free(ctx->identities);
	free(ctx->rules);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			free(ctx->requires[i][j].items);
			free(ctx->requires_ok[i][j]);
		}
	free(ctx->peers);
	free(ctx->entries);
	free(ctx->cidr_order);
	free(ctx->cidr_marked);
	free(ctx->pod_cidr_ids);
	label_set__free(&ctx->generic_cidr_labels);
}

/* One compile of ep's entries, with or without the audit-mode policies. */
static int compile_pass(const struct policy_set *policies,
			const struct compile_world *world,
			const struct compile_endpoint *ep, bool include_audit,
			struct policy_entries *out, char *err, size_t err_len)
{
	static const struct l4_block any_block = {0, 0};
	struct compile_ctx ctx = {.world = world,
				  .ep = ep,
				  .err = err,
				  .err_len = err_len,
				  .include_audit = include_audit};
	uint32_t flags = 0;
	size_t i;
	int ret;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!ep || !world) {
		errbuf__printf(err, err_len, "no endpoint or world to compile against");
		return -EINVAL;
	}
	if (err && err_len)
		err[0] = '\0';

	ret = ctx__init_identities(&ctx);
	if (!ret)
		ret = ctx__init_cidr_index(&ctx);
	if (ret)
		goto cleanup;
	ctx.peers = calloc(ctx.identity_count + 1, sizeof(*ctx.peers));
	if (!ctx.peers) {
		ret = -ENOMEM;
		goto cleanup;
	}
	if (policies) {
		ret = ctx__select_rules(&ctx, policies, &flags);
		if (ret)
			goto cleanup;
	}
	ret = ctx__init_requires(&ctx);
	if (ret)
		goto cleanup;
	for (i = 0; i < ctx.rule_count; i++) {
		ret = ctx__compile_rule(&ctx, &ctx.rules[i]);
		if (ret)
			goto cleanup;
	}
	/* Cilium's allow-localhost default: the node may always reach its
	 * pods (kubelet probes). Pushed last so a rule that also allows the
	 * host keeps its own cookie; a deny from the host still wins. */
	ret = ctx__push(&ctx, WARDEN_IDENTITY_HOST, WARDEN_DIR_INGRESS, &any_block, false,
			0);
	if (ret)
		goto cleanup;

	ret = ctx__finish(&ctx, out);
	if (ret)
		goto cleanup;
	for (int dir = 0; dir < 2; dir++) {
		if (ctx.default_deny_specs[dir] &&
		    ctx.default_deny_reject[dir] == ctx.default_deny_specs[dir])
			flags |= dir == WARDEN_DIR_INGRESS ? WARDEN_EP_REJECT_INGRESS
							   : WARDEN_EP_REJECT_EGRESS;
		if (ctx.pod_cidr_dirs & (1u << dir))
			flags |= dir == WARDEN_DIR_INGRESS ? WARDEN_EP_POD_CIDR_INGRESS
							   : WARDEN_EP_POD_CIDR_EGRESS;
	}
	out->endpoint_flags = flags;
	memcpy(out->audit_default_cookie, ctx.audit_default_cookie,
	       sizeof(out->audit_default_cookie));
cleanup:
	if (ret == -ENOMEM)
		errbuf__printf(err, err_len, "out of memory compiling endpoint %u",
			       ep->endpoint_id);
	if (ret)
		policy_entries__free(out);
	ctx__free(&ctx);
	return ret;
}

/* ---- audit mode -------------------------------------------------------- */

static bool audit_policy_selects(const struct policy_set *policies,
				 const struct compile_endpoint *ep)
{
	for (size_t pi = 0; policies && pi < policies->count; pi++) {
		const struct policy *p = &policies->items[pi];

		for (size_t si = 0; p->audit && si < p->spec_count; si++)
			if (selector__matches(&p->specs[si].subject, ep->labels))
				return true;
	}
	return false;
}

static struct l4_block entry__block(const struct policy_entry *e)
{
	return (struct l4_block){
	    .value = (uint32_t)e->key.protocol << 16 | ntohs(e->key.dport),
	    .bits = (uint8_t)(e->key.prefixlen - WARDEN_POLICY_PREFIX_ANY_PROTO),
	};
}

/* The order ctx__finish emits entries in (see work_entry__cmp). */
static int entry__cmp(const struct policy_entry *x, const struct policy_entry *y)
{
	struct l4_block bx = entry__block(x), by = entry__block(y);

	if (x->key.identity != y->key.identity)
		return x->key.identity < y->key.identity ? -1 : 1;
	if (x->key.direction != y->key.direction)
		return x->key.direction < y->key.direction ? -1 : 1;
	if (bx.value != by.value)
		return bx.value < by.value ? -1 : 1;
	if (bx.bits != by.bits)
		return bx.bits < by.bits ? -1 : 1;
	return 0;
}

static bool entry__contains(const struct policy_entry *outer,
			    const struct policy_entry *inner)
{
	struct l4_block bo = entry__block(outer), bi = entry__block(inner);

	return outer->key.identity == inner->key.identity &&
	       outer->key.direction == inner->key.direction && block__contains(&bo, &bi);
}

/*
 * Merge the entries compiled with audit-mode policies (full) into the
 * enforced ones: one entry per key of either, each half holding what an
 * LPM lookup of its own set returns for that key (the key itself, or the
 * closest enclosing block of that set). Both lists are sorted with
 * enclosing blocks first, so one merge pass with a stack per side does it.
 */
static int entries__merge_audit(struct policy_entries *enforced,
				const struct policy_entries *full)
{
	const struct policy_entry *e_stack[L4_BITS + 1], *f_stack[L4_BITS + 1];
	size_t i = 0, j = 0, k = 0, e_depth = 0, f_depth = 0;
	struct policy_entry *items;

	items = calloc(enforced->count + full->count + 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	while (i < enforced->count || j < full->count) {
		const struct policy_entry *a =
		    i < enforced->count ? &enforced->items[i] : NULL;
		const struct policy_entry *b = j < full->count ? &full->items[j] : NULL;
		int c = !a ? 1 : !b ? -1 : entry__cmp(a, b);
		const struct policy_entry *cur = c <= 0 ? a : b, *ev, *fv;
		struct policy_entry *o = &items[k++];

		while (e_depth && !entry__contains(e_stack[e_depth - 1], cur))
			e_depth--;
		while (f_depth && !entry__contains(f_stack[f_depth - 1], cur))
			f_depth--;
		ev = c <= 0 ? a : (e_depth ? e_stack[e_depth - 1] : NULL);
		fv = c >= 0 ? b : (f_depth ? f_stack[f_depth - 1] : NULL);
		o->key = cur->key;
		if (ev)
			o->value = ev->value;
		if (fv) {
			o->value.audit_flags =
			    fv->value.flags & (WARDEN_POLICY_ALLOW | WARDEN_POLICY_DENY);
			o->value.audit_cookie = fv->value.rule_cookie;
		}
		if (c <= 0) {
			if (e_depth <= L4_BITS)
				e_stack[e_depth++] = a;
			i++;
		}
		if (c >= 0) {
			if (f_depth <= L4_BITS)
				f_stack[f_depth++] = b;
			j++;
		}
	}
	free(enforced->items);
	enforced->items = items;
	enforced->count = k;
	enforced->capacity = k;
	return 0;
}

int policy_compile_endpoint(const struct policy_set *policies,
			    const struct compile_world *world,
			    const struct compile_endpoint *ep, struct policy_entries *out,
			    char *err, size_t err_len)
{
	struct policy_entries full = {0};
	int ret;

	ret = compile_pass(policies, world, ep, false, out, err, err_len);
	if (ret || !audit_policy_selects(policies, ep))
		return ret;
	/* The enforced pass has no audit policy: their cookies come from here. */
	ret = compile_pass(policies, world, ep, true, &full, err, err_len);
	if (!ret)
		ret = entries__merge_audit(out, &full);
	if (ret) {
		if (ret == -ENOMEM)
			errbuf__printf(err, err_len,
				       "out of memory compiling endpoint %u",
				       ep->endpoint_id);
		policy_entries__free(out);
		policy_entries__free(&full);
		return ret;
	}
	out->endpoint_flags |= WARDEN_EP_AUDIT_POLICIES;
	/* The audit halves may need the pod-CIDR lookup on their own. */
	out->endpoint_flags |= full.endpoint_flags &
			       (WARDEN_EP_POD_CIDR_INGRESS | WARDEN_EP_POD_CIDR_EGRESS);
	if (full.endpoint_flags & WARDEN_EP_ENFORCE_INGRESS)
		out->endpoint_flags |= WARDEN_EP_AUDIT_ENFORCE_INGRESS;
	if (full.endpoint_flags & WARDEN_EP_ENFORCE_EGRESS)
		out->endpoint_flags |= WARDEN_EP_AUDIT_ENFORCE_EGRESS;
	memcpy(out->audit_default_cookie, full.audit_default_cookie,
	       sizeof(out->audit_default_cookie));
	policy_entries__free(&full);
	return 0;
}

void policy_entries__free(struct policy_entries *entries)
{
	if (!entries)
		return;
	for (size_t i = 0; i < entries->l7_count; i++) {
		free(entries->l7[i].rules);
		free(entries->l7[i].exempt);
	}
	free(entries->l7);
	free(entries->items);
	memset(entries, 0, sizeof(*entries));
}

/* ---- prefixes --------------------------------------------------------- */

static int prefix__cmp(const void *a, const void *b)
{
	const struct policy_prefix *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return 0;
}

static int prefixes__push(struct policy_prefix **items, size_t *count, size_t *cap,
			  const struct policy_prefix *p)
{
	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct policy_prefix *n = realloc(*items, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		*items = n;
		*cap = ncap;
	}
	(*items)[(*count)++] = *p;
	return 0;
}

/*
 * The prefixes (and excepts) of the CIDR rules in policies, sorted and
 * without duplicates: all of them, or (pods_only) those that select pods.
 */
static int collect_prefixes(const struct policy_set *policies, bool pods_only,
			    bool cidr_rules_select_pods, struct policy_prefix **out,
			    size_t *count)
{
	struct policy_prefix *items = NULL;
	size_t n = 0, cap = 0, pi, si, ri, ci, xi, kept;
	int ret;

	if (!out || !count)
		return -EINVAL;
	*out = NULL;
	*count = 0;
	for (pi = 0; policies && pi < policies->count; pi++) {
		const struct policy *p = &policies->items[pi];

		for (si = 0; si < p->spec_count; si++) {
			const struct policy_spec *spec = &p->specs[si];

			for (ri = 0; ri < spec->rule_count; ri++) {
				const struct policy_rule *rule = &spec->rules[ri];

				for (ci = 0; ci < rule->cidr_count; ci++) {
					const struct policy_cidr *c = &rule->cidrs[ci];

					if (pods_only && !c->selects_pods &&
					    !cidr_rules_select_pods)
						continue;
					ret =
					    prefixes__push(&items, &n, &cap, &c->prefix);
					for (xi = 0; !ret && xi < c->except_count; xi++)
						ret = prefixes__push(&items, &n, &cap,
								     &c->except[xi]);
					if (ret) {
						free(items);
						return ret;
					}
				}
			}
		}
	}
	if (!n)
		return 0;
	qsort(items, n, sizeof(*items), prefix__cmp);
	for (kept = 1, xi = 1; xi < n; xi++)
		if (prefix__cmp(&items[kept - 1], &items[xi]))
			items[kept++] = items[xi];
	*out = items;
	*count = kept;
	return 0;
}

int policy_set__collect_prefixes(const struct policy_set *policies,
				 struct policy_prefix **out, size_t *count)
{
	return collect_prefixes(policies, false, false, out, count);
}

int policy_set__collect_pod_prefixes(const struct policy_set *policies,
				     bool cidr_rules_select_pods,
				     struct policy_prefix **out, size_t *count)
{
	return collect_prefixes(policies, true, cidr_rules_select_pods, out, count);
}
