// SPDX-License-Identifier: Apache-2.0
/*
 * Regeneration: turn the policy, the identities and the endpoints into map
 * contents. Every endpoint is compiled first; only when all of them compile
 * are the maps written (new CIDR identities into the ipcache, new pod-CIDR
 * identities into the pod-CIDR map, then per endpoint its entries and its
 * endpoint entry at a new revision), and a write that fails puts back what
 * was already written. The proxy's policy document follows every
 * successful regeneration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "endpoint.h"
#include "proxy_policy.h"
#include "regenerate.h"
#include "warden/datapath.h"
#include "warden/identity.h"
#include "warden/ipcache.h"
#include "warden/log.h"
#include "warden/policy_compile.h"
#include "warden/prefix.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void release_cidrs(struct agent *agent, struct cidr_identity *cidrs, size_t count,
			  const struct cidr_identity *keep, size_t keep_count)
{
	for (size_t i = 0; i < count; i++) {
		bool kept = false;

		identity__release(agent->identities, cidrs[i].identity);
		if (identity__lookup(agent->identities, cidrs[i].identity))
			continue;
		for (size_t j = 0; j < keep_count; j++)
			if (keep[j].identity == cidrs[i].identity)
				kept = true;
		/* Only the CIDR claim goes: the /32 of the host or of an
		 * endpoint keeps its owner's identity (lib/identity/ipcache). */
		if (!kept)
			ipcache__remove(agent->ipcache, &cidrs[i].prefix,
					cidrs[i].identity);
	}
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
 * A pod-CIDR identity for each prefix of prefixes[0..count), into *out
 * (allocated; count entries on success). On error the identities taken
 * so far are released and err says why.
 */
static int acquire_pod_cidrs(struct agent *agent, const struct policy_prefix *prefixes,
			     size_t count, struct cidr_identity **out, char *err,
			     size_t err_len)
{
	struct cidr_identity *list = calloc(count + 1, sizeof(*list));
	size_t n = 0;
	int ret = 0;

	if (!list)
		return -ENOMEM;
	for (; n < count; n++) {
		list[n].prefix = prefixes[n];
		ret = identity__acquire_pod_cidr(agent->identities, &prefixes[n],
						 &list[n].identity);
		if (ret) {
			snprintf(err, err_len, "allocate pod-CIDR identity: %s",
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
	};

	memcpy(info.ipv4, &ep->net.ipv4, 4);
	memcpy(info.audit_default_cookie, e->audit_default_cookie,
	       sizeof(info.audit_default_cookie));
	return info;
}

int regenerate__apply(struct agent *agent, const struct policy_set *candidate, char *err,
		      size_t err_len)
{
	const struct policy_set *set = candidate ? candidate : &agent->policies;
	struct policy_prefix *prefixes = NULL, *pod_prefixes = NULL;
	struct cidr_identity *cidrs = NULL, *pod_cidrs = NULL;
	struct compile_identity *ids = NULL;
	struct compile_endpoint *eps = NULL;
	struct policy_entries *next = NULL;
	const struct identity *const *list;
	size_t prefix_count = 0, cidr_count = 0, id_count, applied = 0, total = 0;
	size_t pod_prefix_count = 0, pod_cidr_count = 0;
	uint64_t t0 = now_ns(), t1;
	int ret;

	ret = policy_set__collect_prefixes(set, &prefixes, &prefix_count);
	if (ret) {
		snprintf(err, err_len, "collect CIDR prefixes: %s", strerror(-ret));
		return ret;
	}
	cidrs = calloc(prefix_count + 1, sizeof(*cidrs));
	if (!cidrs) {
		ret = -ENOMEM;
		goto out;
	}
	for (; cidr_count < prefix_count; cidr_count++) {
		cidrs[cidr_count].prefix = prefixes[cidr_count];
		ret = identity__acquire_cidr(agent->identities, &prefixes[cidr_count],
					     &cidrs[cidr_count].identity);
		if (ret) {
			snprintf(err, err_len, "allocate CIDR identity: %s",
				 strerror(-ret));
			goto out;
		}
	}
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
	ret = acquire_pod_cidrs(agent, pod_prefixes, pod_prefix_count, &pod_cidrs, err,
				err_len);
	if (ret)
		goto out;
	pod_cidr_count = pod_prefix_count;

	id_count = identity__list(agent->identities, &list);
	ids = calloc(id_count + 1, sizeof(*ids));
	eps = calloc(agent->endpoint_count + 1, sizeof(*eps));
	next = calloc(agent->endpoint_count + 1, sizeof(*next));
	if (!ids || !eps || !next) {
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
	for (size_t i = 0; i < agent->endpoint_count; i++) {
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
	    .endpoint_count = agent->endpoint_count};

	for (size_t i = 0; i < agent->endpoint_count; i++) {
		ret =
		    policy_compile_endpoint(set, &world, &eps[i], &next[i], err, err_len);
		if (ret)
			goto out;
		total += next[i].count;
	}
	if (total > WARDEN_POLICY_MAX) {
		snprintf(err, err_len,
			 "policy needs %zu map entries, the policy map holds %u", total,
			 WARDEN_POLICY_MAX);
		ret = -ENOSPC;
		goto out;
	}
	t1 = now_ns();

	/* Compiled everywhere: now write. New CIDR prefixes first, so the
	 * identities the new entries name resolve before they are used. */
	for (size_t i = 0; i < cidr_count; i++) {
		ret =
		    ipcache__upsert(agent->ipcache, &cidrs[i].prefix, cidrs[i].identity);
		if (ret) {
			snprintf(err, err_len, "ipcache update: %s", strerror(-ret));
			goto out;
		}
	}
	/*
	 * The pod-CIDR prefixes too, before any endpoint's revision moves:
	 * the re-check of an established flow must already see a new except.
	 */
	for (size_t i = 0; i < pod_cidr_count; i++) {
		ret = datapath__pod_cidr_set(agent->datapath, &pod_cidrs[i].prefix,
					     pod_cidrs[i].identity);
		if (ret) {
			snprintf(err, err_len, "pod-CIDR map update: %s", strerror(-ret));
			goto out;
		}
	}
	for (; applied < agent->endpoint_count; applied++) {
		struct endpoint *ep = agent->endpoints[applied];
		struct warden_endpoint_info info =
		    endpoint_info(ep, &next[applied], ep->policy_revision + 1);

		ret = datapath__policy_sync(agent->datapath, ep->entries.items,
					    ep->entries.count, next[applied].items,
					    next[applied].count);
		if (!ret && ep->net.host_ifindex)
			ret = datapath__endpoint_set(agent->datapath,
						     ep->net.host_ifindex, &info);
		if (ret) {
			snprintf(err, err_len, "write policy of %s/%s: %s", ep->namespace,
				 ep->name, strerror(-ret));
			goto out;
		}
	}
	/* Committed: swap in the new entries and drop the old CIDR references. */
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		struct endpoint *ep = agent->endpoints[i];

		policy_entries__free(&ep->entries);
		ep->entries = next[i];
		memset(&next[i], 0, sizeof(next[i]));
		ep->flags = endpoint_info(ep, &ep->entries, 0).flags;
		/* Established flows are re-checked against the new policy. */
		ep->policy_revision++;
	}
	release_cidrs(agent, agent->cidrs, agent->cidr_count, cidrs, cidr_count);
	free(agent->cidrs);
	agent->cidrs = cidrs;
	agent->cidr_count = cidr_count;
	cidrs = NULL;
	cidr_count = 0;
	release_pod_cidrs(agent, agent->pod_cidrs, agent->pod_cidr_count, pod_cidrs,
			  pod_cidr_count);
	free(agent->pod_cidrs);
	agent->pod_cidrs = pod_cidrs;
	agent->pod_cidr_count = pod_cidr_count;
	pod_cidrs = NULL;
	pod_cidr_count = 0;
	agent->policy_revision++;
	pr_debug(
	    "regenerated %zu endpoints, %zu entries: compile %.3f ms, apply %.3f ms\n",
	    agent->endpoint_count, total, (double)(t1 - t0) / 1e6,
	    (double)(now_ns() - t1) / 1e6);
	agent->last_compile_ns = t1 - t0;
	agent->last_apply_ns = now_ns() - t1;
	agent->last_entries = total;
	/* The proxy follows the same revision (a failure to write is logged;
	 * the proxy then keeps its previous snapshot). */
	proxy_policy__publish(agent);
out:
	if (ret) {
		/* Put back what was already written, endpoint by endpoint. */
		for (size_t i = 0; i < applied; i++) {
			struct endpoint *ep = agent->endpoints[i];
			struct warden_endpoint_info info =
			    endpoint_info(ep, &ep->entries, ep->policy_revision);

			datapath__policy_sync(agent->datapath, next[i].items,
					      next[i].count, ep->entries.items,
					      ep->entries.count);
			if (ep->net.host_ifindex)
				datapath__endpoint_set(agent->datapath,
						       ep->net.host_ifindex, &info);
		}
		release_cidrs(agent, cidrs, cidr_count, agent->cidrs, agent->cidr_count);
		release_pod_cidrs(agent, pod_cidrs, pod_cidr_count, agent->pod_cidrs,
				  agent->pod_cidr_count);
	}
	for (size_t i = 0; next && i < agent->endpoint_count; i++)
		policy_entries__free(&next[i]);
	free(next);
	free(eps);
	free(ids);
	free(cidrs);
	free(prefixes);
	free(pod_cidrs);
	free(pod_prefixes);
	return ret;
}

int regenerate__endpoint(struct agent *agent, struct endpoint *ep, char *err,
			 size_t err_len)
{
	struct warden_endpoint_info info =
	    endpoint_info(ep, &ep->entries, ep->policy_revision + 1);
	int ret = 0;

	if (ep->net.host_ifindex)
		ret =
		    datapath__endpoint_set(agent->datapath, ep->net.host_ifindex, &info);
	if (ret) {
		snprintf(err, err_len, "write endpoint %s/%s: %s", ep->namespace,
			 ep->name, strerror(-ret));
		return ret;
	}
	ep->flags = info.flags;
	/* A bumped revision makes established flows re-check: leaving audit
	 * mode cuts the flows it had let through. */
	ep->policy_revision++;
	proxy_policy__publish(agent);
	return 0;
}

void regenerate__free(struct agent *agent)
{
	release_cidrs(agent, agent->cidrs, agent->cidr_count, NULL, 0);
	free(agent->cidrs);
	agent->cidrs = NULL;
	agent->cidr_count = 0;
	release_pod_cidrs(agent, agent->pod_cidrs, agent->pod_cidr_count, NULL, 0);
	free(agent->pod_cidrs);
	agent->pod_cidrs = NULL;
	agent->pod_cidr_count = 0;
}
