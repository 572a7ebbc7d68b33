// SPDX-License-Identifier: Apache-2.0
/*
 * Regeneration: turn the policy, the identities and the endpoints into map
 * contents and into the proxy's document, as one transaction.
 *
 *   1. compile every endpoint (nothing is written unless all compile, and
 *      the result fits the policy map);
 *   2. new CIDR prefixes into the ipcache (their identities must resolve
 *      before entries name them), and the pod-CIDR prefixes of CIDR rules
 *      that select pods into warden_pod_cidr (the re-check of an
 *      established flow must already see a new except);
 *   3. the proxy first: a document with the new L7 rules, and while they
 *      differ from the old ones also the old rules, so that until the maps
 *      follow, a request must pass both (docs/proxy-policy.md); the proxy
 *      must confirm it (proxy.c) before anything else is written;
 *   4. per endpoint, its policy-map entries in a safe order (policy_plan.h)
 *      and its endpoint entry at a new revision;
 *   5. stale CIDR prefixes out of the ipcache;
 *   6. if 3 carried the old rules: the document with the new ones alone.
 *
 * A failure at any step undoes the steps before it, backwards, in the
 * kernel and in the proxy, and the error names what failed: the agent's
 * view and the kernel's maps stay equal (`warden bpf check`), and the
 * datapath never redirects into a proxy that holds older rules than the
 * maps.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "endpoint.h"
#include "proxy.h"
#include "proxy_policy.h"
#include "regenerate.h"
#include "warden/datapath.h"
#include "warden/identity.h"
#include "warden/ipcache.h"
#include "warden/log.h"
#include "warden/policy_compile.h"
#include "warden/policy_lifted.h"
#include "warden/policy_plan.h"
#include "warden/prefix.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool prefix_equal(const struct policy_prefix *a, const struct policy_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool cidrs_have(const struct cidr_identity *cidrs, size_t count,
		       const struct policy_prefix *p)
{
	for (size_t i = 0; i < count; i++)
		if (prefix_equal(&cidrs[i].prefix, p))
			return true;
	return false;
}

/*
 * Release the pod-CIDR identities of list; a prefix whose identity goes
 * away, and that keep does not hold, leaves the pod-CIDR map. (Unlike the
 * ipcache, an endpoint's /32 has nothing of its own to keep there.)
 */
static void release_pod_cidrs(struct agent *agent, struct cidr_identity *list,
			      size_t count, const struct cidr_identity *keep,
			      size_t keep_count)
{
	for (size_t i = 0; i < count; i++) {
		bool kept = false;

		identity__release(agent->identities, list[i].identity);
		if (identity__lookup(agent->identities, list[i].identity))
			continue;
		for (size_t j = 0; j < keep_count; j++)
			if (keep[j].identity == list[i].identity)
				kept = true;
		if (!kept)
			datapath__pod_cidr_delete(agent->datapath, &list[i].prefix);
	}
}

/*
 * An identity for each prefix of prefixes[0..count), taken with acquire
 * (identity__acquire_cidr or identity__acquire_pod_cidr; what names the
 * kind in an error), into *out (allocated; count entries on success). On
 * error the identities taken so far are released and err says why.
 */
static int acquire_prefixes(
    struct agent *agent, const struct policy_prefix *prefixes, size_t count,
    int (*acquire)(struct identity_allocator *, const struct policy_prefix *, uint32_t *),
    const char *what, struct cidr_identity **out, char *err, size_t err_len)
{
	struct cidr_identity *list = calloc(count + 1, sizeof(*list));
	size_t n = 0;
	int ret = 0;

	if (!list)
		return -ENOMEM;
	for (; n < count; n++) {
		list[n].prefix = prefixes[n];
		ret = acquire(agent->identities, &prefixes[n], &list[n].identity);
		if (ret) {
			snprintf(err, err_len, "allocate %s identity: %s", what,
				 strerror(-ret));
			break;
		}
	}
	if (ret) {
		for (size_t i = 0; i < n; i++)
			identity__release(agent->identities, list[i].identity);
		free(list);
		return ret;
	}
	*out = list;
	return 0;
}

uint32_t regenerate__pod_cidr_lookup(const struct agent *agent, uint32_t ipv4,
				     struct policy_prefix *prefix)
{
	struct policy_prefix addr = {.family = 4, .len = 32};
	const struct cidr_identity *best = NULL;

	memcpy(addr.addr, &ipv4, 4);
	for (size_t i = 0; i < agent->pod_cidr_count; i++) {
		const struct cidr_identity *c = &agent->pod_cidrs[i];

		if ((!best || c->prefix.len > best->prefix.len) &&
		    policy_prefix__contains(&c->prefix, &addr))
			best = c;
	}
	if (!best)
		return 0;
	if (prefix)
		*prefix = best->prefix;
	return best->identity;
}

/* The endpoint's map entry for compiled entries e at a policy revision. */
static struct warden_endpoint_info endpoint_info(const struct endpoint *ep,
						 const struct policy_entries *e,
						 uint32_t revision)
{
	struct warden_endpoint_info info = {
	    .endpoint_id = ep->id,
	    .identity = ep->identity,
	    .flags = e->endpoint_flags | (ep->audit_mode ? WARDEN_EP_AUDIT_MODE : 0),
	    .policy_revision = revision,
	    /* What datapath__endpoint_set() writes too: the source check's
	     * veth (bpf/lib/source.h). */
	    .host_ifindex = (__u32)ep->net.host_ifindex,
	};

	memcpy(info.ipv4, &ep->net.ipv4, 4);
	memcpy(info.audit_default_cookie, e->audit_default_cookie,
	       sizeof(info.audit_default_cookie));
	return info;
}

void regenerate__endpoint_info(const struct endpoint *ep,
			       struct warden_endpoint_info *out)
{
	*out = endpoint_info(ep, &ep->entries, ep->policy_revision);
}

/* One regeneration in progress: what it computed and what it has done. */
struct regen {
	struct agent *agent;
	size_t count; /* endpoints (agent->endpoint_count) */
	struct policy_entries *next;
	struct policy_lifted_set *lifted;
	struct policy_plan *plans;
	size_t *order;	/* the order endpoints are written in */
	size_t written; /* order[0..written) have their entries and revision */
	size_t touched; /* ... and order[written] was half written, then undone */
	struct cidr_identity *cidrs; /* the new CIDR set (references held) */
	size_t cidr_count;
	struct cidr_identity *added; /* put into the ipcache by this regeneration */
	size_t added_count;
	struct cidr_identity *removed; /* taken out of the ipcache by it */
	size_t removed_count;
	struct cidr_identity *pod_cidrs; /* the new pod-CIDR set (references held) */
	size_t pod_cidr_count;
	size_t pod_cidrs_written; /* pod_cidrs[0..n) are in warden_pod_cidr */
	bool switching;		  /* the proxy was given old and new rules */
	bool published;		  /* the proxy was given a document of new rules */
	uint64_t revision;	  /* of the last document the proxy took */
	size_t total;		  /* entries of the new policy */
};

static void regen_free(struct regen *r)
{
	for (size_t i = 0; i < r->count; i++) {
		if (r->next)
			policy_entries__free(&r->next[i]);
		if (r->lifted)
			policy_lifted_set__free(&r->lifted[i]);
		if (r->plans)
			policy_plan__free(&r->plans[i]);
	}
	free(r->next);
	free(r->lifted);
	free(r->plans);
	free(r->order);
	free(r->added);
	free(r->removed);
	free(r->cidrs);
	free(r->pod_cidrs);
}

/* Step 1: a CIDR identity for every prefix, then every endpoint compiled. */
static int regen_compile(struct regen *r, const struct policy_set *set, char *err,
			 size_t err_len)
{
	struct agent *agent = r->agent;
	struct policy_prefix *prefixes = NULL, *pod_prefixes = NULL;
	struct compile_identity *ids = NULL;
	struct compile_endpoint *eps = NULL;
	const struct identity *const *list;
	size_t prefix_count = 0, pod_prefix_count = 0, id_count;
	uint32_t capacity;
	int ret;

	ret = policy_set__collect_prefixes(set, &prefixes, &prefix_count);
	if (ret) {
		snprintf(err, err_len, "collect CIDR prefixes: %s", strerror(-ret));
		return ret;
	}
	ret = acquire_prefixes(agent, prefixes, prefix_count, identity__acquire_cidr,
			       "CIDR", &r->cidrs, err, err_len);
	if (ret)
		goto out;
	r->cidr_count = prefix_count;

	/* The prefixes of CIDR rules that select pods get a pod-CIDR identity
	 * each, distinct from their CIDR identity (docs/datapath.md). */
	ret = policy_set__collect_pod_prefixes(set, agent->config.cidr_rules_select_pods,
					       &pod_prefixes, &pod_prefix_count);
	if (ret) {
		snprintf(err, err_len, "collect pod-CIDR prefixes: %s", strerror(-ret));
		goto out;
	}
	if (pod_prefix_count > WARDEN_POD_CIDR_MAX) {
		snprintf(err, err_len,
			 "policy names %zu prefixes of CIDR rules that select pods "
			 "(ipBlock), the pod-CIDR map holds %u",
			 pod_prefix_count, WARDEN_POD_CIDR_MAX);
		ret = -ENOSPC;
		goto out;
	}
	ret = acquire_prefixes(agent, pod_prefixes, pod_prefix_count,
			       identity__acquire_pod_cidr, "pod-CIDR", &r->pod_cidrs, err,
			       err_len);
	if (ret)
		goto out;
	r->pod_cidr_count = pod_prefix_count;

	id_count = identity__list(agent->identities, &list);
	ids = calloc(id_count + 1, sizeof(*ids));
	eps = calloc(r->count + 1, sizeof(*eps));
	r->next = calloc(r->count + 1, sizeof(*r->next));
	r->lifted = calloc(r->count + 1, sizeof(*r->lifted));
	r->plans = calloc(r->count + 1, sizeof(*r->plans));
	r->order = calloc(r->count + 1, sizeof(*r->order));
	if (!ids || !eps || !r->next || !r->lifted || !r->plans || !r->order) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < id_count; i++) {
		ids[i].id = list[i]->id;
		ids[i].labels = &list[i]->labels;
		ids[i].is_cidr = list[i]->is_cidr;
		ids[i].is_pod_cidr = list[i]->is_pod_cidr;
		ids[i].prefix = list[i]->prefix;
	}
	for (size_t i = 0; i < r->count; i++) {
		const struct endpoint *ep = agent->endpoints[i];

		eps[i] = (struct compile_endpoint){.endpoint_id = ep->id,
						   .identity = ep->identity,
						   .labels = &ep->labels,
						   .ports = ep->ports,
						   .port_count = ep->port_count};
	}
	struct compile_world world = {
	    .proxy_port = agent->config.proxy_port,
	    .reject_by_default = agent->config.reject_by_default,
	    .cidr_rules_select_pods = agent->config.cidr_rules_select_pods,
	    .identities = ids,
	    .identity_count = id_count,
	    .endpoints = eps,
	    .endpoint_count = r->count};

	for (size_t i = 0; i < r->count; i++) {
		ret = policy_compile_endpoint(set, &world, &eps[i], &r->next[i], err,
					      err_len);
		if (ret)
			goto out;
		r->total += r->next[i].count;
	}
	capacity = datapath__map_capacity(agent->datapath, DATAPATH_MAP_POLICY);
	if (r->total > capacity) {
		snprintf(err, err_len,
			 "%s is full: the policy needs %zu entries, the map holds %u",
			 datapath__map_name(agent->datapath, DATAPATH_MAP_POLICY),
			 r->total, capacity);
		ret = -ENOSPC;
	}
out:
	free(eps);
	free(ids);
	free(prefixes);
	free(pod_prefixes);
	return ret;
}

/* "warden_ipcache is full: ..." for a refused ipcache write. */
static void ipcache_full(struct agent *agent, size_t need, char *err, size_t err_len)
{
	snprintf(err, err_len, "%s is full: %zu entries needed, the map holds %u",
		 datapath__map_name(agent->datapath, DATAPATH_MAP_IPCACHE), need,
		 datapath__map_capacity(agent->datapath, DATAPATH_MAP_IPCACHE));
}

/* Step 2: the prefixes the policy in force does not have yet. */
static int regen_add_prefixes(struct regen *r, char *err, size_t err_len)
{
	struct agent *agent = r->agent;
	size_t want = 0, used = agent->ipcache->ops->count(agent->ipcache);

	for (size_t i = 0; i < r->cidr_count; i++)
		if (!cidrs_have(agent->cidrs, agent->cidr_count, &r->cidrs[i].prefix))
			want++;
	/* Stale prefixes go only after the new entries are written, so the
	 * new ones must fit beside them. */
	if (used + want > datapath__map_capacity(agent->datapath, DATAPATH_MAP_IPCACHE)) {
		ipcache_full(agent, used + want, err, err_len);
		return -ENOSPC;
	}
	r->added = calloc(want + 1, sizeof(*r->added));
	if (!r->added)
		return -ENOMEM;
	for (size_t i = 0; i < r->cidr_count; i++) {
		const struct cidr_identity *c = &r->cidrs[i];
		int ret;

		/* A CIDR claim: the /32 of the host or of an endpoint keeps
		 * its owner's identity (lib/identity/ipcache_local.c). */
		if (cidrs_have(agent->cidrs, agent->cidr_count, &c->prefix))
			continue;
		ret = ipcache__upsert(agent->ipcache, &c->prefix, c->identity);
		if (ret == -ENOSPC) {
			ipcache_full(agent, used + want, err, err_len);
			return ret;
		}
		if (ret) {
			snprintf(err, err_len, "ipcache update: %s", strerror(-ret));
			return ret;
		}
		r->added[r->added_count++] = *c;
	}
	return 0;
}

/*
 * Step 2, for CIDR rules that select pods: their prefixes into the
 * pod-CIDR map, before any endpoint's revision moves. Prefixes the new
 * set shares with the old one are written again (the same or a new
 * identity); stale ones leave at commit (release_pod_cidrs()).
 */
static int regen_write_pod_cidrs(struct regen *r, char *err, size_t err_len)
{
	for (; r->pod_cidrs_written < r->pod_cidr_count; r->pod_cidrs_written++) {
		const struct cidr_identity *c = &r->pod_cidrs[r->pod_cidrs_written];
		int ret =
		    datapath__pod_cidr_set(r->agent->datapath, &c->prefix, c->identity);

		if (ret) {
			snprintf(err, err_len, "pod-CIDR map update: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * Undo step 2's pod-CIDR writes: the policy in force's prefixes get their
 * identities back, the others leave; the new set's references go.
 */
static void regen_pod_cidrs_undo(struct regen *r)
{
	struct agent *agent = r->agent;

	for (size_t i = 0; i < r->pod_cidrs_written; i++) {
		const struct cidr_identity *c = &r->pod_cidrs[i];
		const struct cidr_identity *old = NULL;

		for (size_t j = 0; j < agent->pod_cidr_count; j++)
			if (prefix_equal(&agent->pod_cidrs[j].prefix, &c->prefix))
				old = &agent->pod_cidrs[j];
		if (old)
			datapath__pod_cidr_set(agent->datapath, &old->prefix,
					       old->identity);
		else
			datapath__pod_cidr_delete(agent->datapath, &c->prefix);
	}
	r->pod_cidrs_written = 0;
	for (size_t i = 0; i < r->pod_cidr_count; i++)
		identity__release(agent->identities, r->pod_cidrs[i].identity);
	r->pod_cidr_count = 0;
}

static bool identity_exists(void *ctx, uint32_t id)
{
	return identity__lookup(ctx, id) != NULL;
}

/* The revision the proxy's document of this regeneration gets: the next. */
static uint64_t lifted_revision(struct agent *agent)
{
	uint64_t last = agent->proxy.last_published > agent->policy_revision
			    ? agent->proxy.last_published
			    : agent->policy_revision;

	return last + 1;
}

/*
 * Step 3: the proxy before the maps. If the L7 rules change, the document
 * carries the old ones too (a request must pass both while the maps are
 * between the two policies); if not, it is the final document already.
 */
static int regen_publish_first(struct regen *r, char *err, size_t err_len)
{
	struct agent *agent = r->agent;
	struct proxy_policy_rules old = {0};
	struct proxy_policy_view view = {.current = {r->next, r->lifted}};
	int ret;

	for (size_t i = 0; i < r->count; i++) {
		struct endpoint *ep = agent->endpoints[i];

		ret = policy_lifted__next(&ep->entries, &ep->lifted, &r->next[i],
					  identity_exists, agent->identities,
					  lifted_revision(agent), &r->lifted[i]);
		if (ret)
			return ret;
	}
	r->switching = proxy_policy__rules_differ(agent, &view.current, &old);
	if (r->switching)
		view.previous = &old;
	ret = proxy__publish(agent, &view, &r->revision, err, err_len);
	if (!ret)
		r->published = true;
	return ret;
}

/* Shrinking endpoints first: what they free makes room for the others. */
static void regen_order(struct regen *r)
{
	for (size_t i = 0; i < r->count; i++)
		r->order[i] = i;
	for (size_t i = 1; i < r->count; i++) {
		size_t k = r->order[i], j = i;
		long dk =
		    (long)r->next[k].count - (long)r->agent->endpoints[k]->entries.count;

		while (j > 0) {
			size_t p = r->order[j - 1];
			long dp = (long)r->next[p].count -
				  (long)r->agent->endpoints[p]->entries.count;

			if (dp <= dk)
				break;
			r->order[j] = p;
			j--;
		}
		r->order[j] = k;
	}
}

/* Step 4: every endpoint's entries, then its endpoint entry. */
static int regen_write_maps(struct regen *r, char *err, size_t err_len)
{
	struct agent *agent = r->agent;
	struct datapath *dp = agent->datapath;
	uint32_t capacity = datapath__map_capacity(dp, DATAPATH_MAP_POLICY);
	long used = 0;
	int ret = 0;

	for (size_t i = 0; i < r->count; i++)
		used += (long)agent->endpoints[i]->entries.count;
	regen_order(r);
	for (; r->written < r->count; r->written++) {
		size_t k = r->order[r->written];
		struct endpoint *ep = agent->endpoints[k];
		struct policy_plan *plan = &r->plans[k];
		struct warden_endpoint_info info =
		    endpoint_info(ep, &r->next[k], ep->policy_revision + 1);

		ret = policy_plan__build(ep->entries.items, ep->entries.count,
					 r->next[k].items, r->next[k].count, ep->flags,
					 (long)capacity - used, plan);
		if (ret == -ENOSPC) {
			snprintf(err, err_len,
				 "%s is full: the policy of %s/%s needs %ld more "
				 "entries at once, the map has %ld free of %u",
				 datapath__map_name(dp, DATAPATH_MAP_POLICY),
				 ep->namespace, ep->name, plan->peak,
				 (long)capacity - used, capacity);
			return ret;
		}
		if (ret)
			return ret;
		if (plan->order != POLICY_PLAN_WRITE_FIRST)
			pr_info("policy of %s/%s: %s (the map is nearly full)\n",
				ep->namespace, ep->name,
				policy_plan__order_name(plan->order));
		ret = datapath__policy_apply(dp, plan);
		if (!ret && ep->net.host_ifindex) {
			ret = datapath__endpoint_set(dp, ep->net.host_ifindex, &info);
			if (ret)
				datapath__policy_undo(dp, plan);
		}
		if (ret) {
			r->touched = 1;
			if (ret == -ENOSPC)
				snprintf(err, err_len,
					 "a map is full writing the policy of %s/%s: "
					 "%s",
					 ep->namespace, ep->name, strerror(-ret));
			else
				snprintf(err, err_len, "write policy of %s/%s: %s",
					 ep->namespace, ep->name, strerror(-ret));
			return ret;
		}
		used += plan->delta;
	}
	return 0;
}

/* Step 5: prefixes of the old policy that the new one does not name. */
static int regen_remove_prefixes(struct regen *r, char *err, size_t err_len)
{
	struct agent *agent = r->agent;

	r->removed = calloc(agent->cidr_count + 1, sizeof(*r->removed));
	if (!r->removed)
		return -ENOMEM;
	for (size_t i = 0; i < agent->cidr_count; i++) {
		const struct cidr_identity *c = &agent->cidrs[i];
		int ret;

		if (cidrs_have(r->cidrs, r->cidr_count, &c->prefix))
			continue;
		/* Only the CIDR claim goes. */
		ret = ipcache__remove(agent->ipcache, &c->prefix, c->identity);
		if (ret == -ENOENT)
			continue;
		if (ret) {
			snprintf(err, err_len, "ipcache update: %s", strerror(-ret));
			return ret;
		}
		r->removed[r->removed_count++] = *c;
	}
	return 0;
}

/* Step 6: the new rules alone, once the maps enforce them. */
static int regen_publish_final(struct regen *r, char *err, size_t err_len)
{
	struct proxy_policy_view view = {.current = {r->next, r->lifted}};

	if (!r->switching)
		return 0;
	return proxy__publish(r->agent, &view, &r->revision, err, err_len);
}

/*
 * Undo what was done, backwards. Endpoints whose entries were written get
 * their old entries back at a revision beyond the one they had, so that
 * flows accepted meanwhile are checked again against the restored policy.
 * Then the proxy gets the old rules back; if it cannot take them, it is
 * restarted (it then reads the file, the old rules).
 */
static void regen_rollback(struct regen *r)
{
	struct agent *agent = r->agent;
	struct datapath *dp = agent->datapath;
	char err[1024];

	for (size_t i = r->removed_count; i-- > 0;)
		if (ipcache__upsert(agent->ipcache, &r->removed[i].prefix,
				    r->removed[i].identity))
			pr_warn("rollback: ipcache entry not restored\n");
	for (size_t i = r->written + r->touched; i-- > 0;) {
		size_t k = r->order[i];
		struct endpoint *ep = agent->endpoints[k];
		struct warden_endpoint_info info;

		if (i < r->written)
			datapath__policy_undo(dp, &r->plans[k]);
		if (!ep->net.host_ifindex)
			continue;
		/* A new endpoint (never written before) had no entry. */
		if (!ep->policy_revision) {
			if (datapath__endpoint_delete(dp, ep->net.host_ifindex))
				pr_warn("rollback: endpoint entry of %s/%s not "
					"removed\n",
					ep->namespace, ep->name);
			continue;
		}
		ep->policy_revision += 2;
		info = endpoint_info(ep, &ep->entries, ep->policy_revision);
		if (datapath__endpoint_set(dp, ep->net.host_ifindex, &info))
			pr_warn("rollback: endpoint entry of %s/%s not restored\n",
				ep->namespace, ep->name);
	}
	for (size_t i = r->added_count; i-- > 0;)
		ipcache__remove(agent->ipcache, &r->added[i].prefix,
				r->added[i].identity);
	regen_pod_cidrs_undo(r);
	for (size_t i = 0; i < r->cidr_count; i++)
		identity__release(agent->identities, r->cidrs[i].identity);
	r->cidr_count = 0;
	if (r->published || r->revision) {
		struct proxy_policy_view view = {0};
		uint64_t revision;

		if (proxy__publish(agent, &view, &revision, err, sizeof(err))) {
			pr_warn("rollback: the proxy did not take the policy in force "
				"back: %s\n",
				err);
			if (agent->proxy.pid > 0)
				kill(agent->proxy.pid, SIGKILL);
		}
		if (revision)
			agent->policy_revision = revision;
	}
}

/* The new state becomes the agent's. */
static void regen_commit(struct regen *r)
{
	struct agent *agent = r->agent;

	for (size_t i = 0; i < r->count; i++) {
		struct endpoint *ep = agent->endpoints[i];

		policy_entries__free(&ep->entries);
		ep->entries = r->next[i];
		memset(&r->next[i], 0, sizeof(r->next[i]));
		policy_lifted_set__free(&ep->lifted);
		ep->lifted = r->lifted[i];
		memset(&r->lifted[i], 0, sizeof(r->lifted[i]));
		ep->flags = endpoint_info(ep, &ep->entries, 0).flags;
		/* Established flows are re-checked against the new policy. */
		ep->policy_revision++;
	}
	/* The old set's references; their stale prefixes are gone already. */
	for (size_t i = 0; i < agent->cidr_count; i++)
		identity__release(agent->identities, agent->cidrs[i].identity);
	free(agent->cidrs);
	agent->cidrs = r->cidrs;
	agent->cidr_count = r->cidr_count;
	r->cidrs = NULL;
	r->cidr_count = 0;
	release_pod_cidrs(agent, agent->pod_cidrs, agent->pod_cidr_count, r->pod_cidrs,
			  r->pod_cidr_count);
	free(agent->pod_cidrs);
	agent->pod_cidrs = r->pod_cidrs;
	agent->pod_cidr_count = r->pod_cidr_count;
	r->pod_cidrs = NULL;
	r->pod_cidr_count = 0;
	agent->policy_revision = r->revision ? r->revision : agent->policy_revision + 1;
}

int regenerate__apply(struct agent *agent, const struct policy_set *candidate, char *err,
		      size_t err_len)
{
	struct regen r = {.agent = agent, .count = agent->endpoint_count};
	uint64_t t0 = now_ns(), t1;
	int ret;

	ret = regen_compile(&r, candidate ? candidate : &agent->policies, err, err_len);
	if (ret)
		goto fail_compile;
	t1 = now_ns();
	ret = regen_add_prefixes(&r, err, err_len);
	if (!ret)
		ret = regen_write_pod_cidrs(&r, err, err_len);
	if (!ret)
		ret = regen_publish_first(&r, err, err_len);
	if (!ret)
		ret = regen_write_maps(&r, err, err_len);
	if (!ret)
		ret = regen_remove_prefixes(&r, err, err_len);
	if (!ret)
		ret = regen_publish_final(&r, err, err_len);
	if (ret) {
		if (ret == -ENOMEM && !err[0])
			snprintf(err, err_len, "regenerate: out of memory");
		regen_rollback(&r);
		goto out;
	}
	regen_commit(&r);
	pr_debug(
	    "regenerated %zu endpoints, %zu entries: compile %.3f ms, apply %.3f ms\n",
	    agent->endpoint_count, r.total, (double)(t1 - t0) / 1e6,
	    (double)(now_ns() - t1) / 1e6);
	agent->last_compile_ns = t1 - t0;
	agent->last_apply_ns = now_ns() - t1;
	agent->last_entries = r.total;
	goto out;
fail_compile:
	for (size_t i = 0; i < r.cidr_count; i++)
		identity__release(agent->identities, r.cidrs[i].identity);
	r.cidr_count = 0;
	for (size_t i = 0; i < r.pod_cidr_count; i++)
		identity__release(agent->identities, r.pod_cidrs[i].identity);
	r.pod_cidr_count = 0;
out:
	regen_free(&r);
	return ret;
}

int regenerate__endpoint(struct agent *agent, struct endpoint *ep, bool audit, char *err,
			 size_t err_len)
{
	struct proxy_policy_view view = {0};
	struct warden_endpoint_info info;
	bool was = ep->audit_mode;
	uint64_t revision = 0;
	int ret;

	/* The proxy first, as for a regeneration (its rules do not change). */
	ep->audit_mode = audit;
	ret = proxy__publish(agent, &view, &revision, err, err_len);
	info = endpoint_info(ep, &ep->entries, ep->policy_revision + 1);
	if (!ret && ep->net.host_ifindex) {
		ret =
		    datapath__endpoint_set(agent->datapath, ep->net.host_ifindex, &info);
		if (ret)
			snprintf(err, err_len, "write endpoint %s/%s: %s", ep->namespace,
				 ep->name, strerror(-ret));
	}
	if (ret) {
		char ignored[512];

		ep->audit_mode = was;
		if (revision &&
		    proxy__publish(agent, &view, &revision, ignored, sizeof(ignored)))
			pr_warn("the proxy did not take the policy in force back: %s\n",
				ignored);
		if (revision)
			agent->policy_revision = revision;
		return ret;
	}
	ep->flags = info.flags;
	/* A bumped revision makes established flows re-check: leaving audit
	 * mode cuts the flows it had let through. */
	ep->policy_revision++;
	if (revision)
		agent->policy_revision = revision;
	return 0;
}

void regenerate__free(struct agent *agent)
{
	for (size_t i = 0; i < agent->cidr_count; i++) {
		const struct cidr_identity *c = &agent->cidrs[i];

		identity__release(agent->identities, c->identity);
		if (!identity__lookup(agent->identities, c->identity))
			ipcache__remove(agent->ipcache, &c->prefix, c->identity);
	}
	free(agent->cidrs);
	agent->cidrs = NULL;
	agent->cidr_count = 0;
	release_pod_cidrs(agent, agent->pod_cidrs, agent->pod_cidr_count, NULL, 0);
	free(agent->pod_cidrs);
	agent->pod_cidrs = NULL;
	agent->pod_cidr_count = 0;
}
