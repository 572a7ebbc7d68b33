// SPDX-License-Identifier: Apache-2.0
/*
 * The policy repository and the regeneration that turns policy, identities
 * and endpoints into map contents. An import is all-or-nothing: documents
 * are parsed, the whole candidate set is compiled for every endpoint, and
 * only then are maps written; any error leaves the running policy alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "warden/log.h"
#include "warden/prefix.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *policy_kind__name(enum policy_kind kind)
{
	switch (kind) {
	case POLICY_KIND_CILIUM:
		return "CiliumNetworkPolicy";
	case POLICY_KIND_CILIUM_CLUSTERWIDE:
		return "CiliumClusterwideNetworkPolicy";
	case POLICY_KIND_K8S:
		return "NetworkPolicy";
	}
	return "unknown";
}

static bool prefix_is_endpoint_or_host(struct agent *agent, const struct policy_prefix *p)
{
	uint32_t addr;

	if (p->family != 4 || p->len != 32)
		return false;
	memcpy(&addr, p->addr, 4);
	return addr == agent->config.gateway || endpoint__find_by_ipv4(agent, addr);
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
		if (!kept && !prefix_is_endpoint_or_host(agent, &cidrs[i].prefix))
			ipcache__remove(agent->ipcache, &cidrs[i].prefix);
	}
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

int agent__regenerate(struct agent *agent, struct policy_set *candidate, char *err,
		      size_t err_len)
{
	const struct policy_set *set = candidate ? candidate : &agent->policies;
	struct policy_prefix *prefixes = NULL;
	struct cidr_identity *cidrs = NULL;
	struct compile_identity *ids = NULL;
	struct compile_endpoint *eps = NULL;
	struct policy_entries *next = NULL;
	const struct identity *const *list;
	size_t prefix_count = 0, cidr_count = 0, id_count, applied = 0, total = 0;
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
			snprintf(err, err_len, "allocate CIDR identity: %s", strerror(-ret));
			goto out;
		}
	}

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
		ids[i].prefix = list[i]->prefix;
	}
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		const struct endpoint *ep = agent->endpoints[i];

		eps[i] = (struct compile_endpoint){ .endpoint_id = ep->id,
						    .identity = ep->identity,
						    .labels = &ep->labels,
						    .ports = ep->ports,
						    .port_count = ep->port_count };
	}
	struct compile_world world = { .proxy_port = agent->config.proxy_port,
				       .reject_by_default = agent->config.reject_by_default,
				       .identities = ids,
				       .identity_count = id_count,
				       .endpoints = eps,
				       .endpoint_count = agent->endpoint_count };

	for (size_t i = 0; i < agent->endpoint_count; i++) {
		ret = policy_compile_endpoint(set, &world, &eps[i], &next[i], err, err_len);
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
		if (prefix_is_endpoint_or_host(agent, &cidrs[i].prefix))
			continue;
		ret = ipcache__upsert(agent->ipcache, &cidrs[i].prefix, cidrs[i].identity);
		if (ret) {
			snprintf(err, err_len, "ipcache update: %s", strerror(-ret));
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
			ret = datapath__endpoint_set(agent->datapath, ep->net.host_ifindex,
						     &info);
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
	agent->policy_revision++;
	pr_debug("regenerated %zu endpoints, %zu entries: compile %.3f ms, apply %.3f ms\n",
		 agent->endpoint_count, total, (double)(t1 - t0) / 1e6,
		 (double)(now_ns() - t1) / 1e6);
	agent->last_compile_ns = t1 - t0;
	agent->last_apply_ns = now_ns() - t1;
	agent->last_entries = total;
	/* The proxy follows the same revision (a failure to write is logged;
	 * the proxy then keeps its previous snapshot). */
	if (agent->proxy_events_fd >= 0)
		proxy__write_policy(agent);
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
				datapath__endpoint_set(agent->datapath, ep->net.host_ifindex,
						       &info);
		}
		release_cidrs(agent, cidrs, cidr_count, agent->cidrs, agent->cidr_count);
	}
	for (size_t i = 0; next && i < agent->endpoint_count; i++)
		policy_entries__free(&next[i]);
	free(next);
	free(eps);
	free(ids);
	free(cidrs);
	free(prefixes);
	return ret;
}

int agent__set_endpoint_audit(struct agent *agent, struct endpoint *ep, bool on, char *err,
			      size_t err_len)
{
	struct warden_endpoint_info info;
	int ret = 0;

	ep->audit_mode = on;
	info = endpoint_info(ep, &ep->entries, ep->policy_revision + 1);
	if (ep->net.host_ifindex)
		ret = datapath__endpoint_set(agent->datapath, ep->net.host_ifindex, &info);
	if (ret) {
		ep->audit_mode = !on;
		snprintf(err, err_len, "write endpoint %s/%s: %s", ep->namespace, ep->name,
			 strerror(-ret));
		return ret;
	}
	ep->flags = info.flags;
	/* A bumped revision makes established flows re-check: leaving audit
	 * mode cuts the flows it had let through. */
	ep->policy_revision++;
	if (agent->proxy_events_fd >= 0)
		proxy__write_policy(agent);
	return 0;
}

int policy_repo__parse_documents(json_t *documents, struct policy_set *out,
				 json_t *warnings, char *err, size_t err_len)
{
	size_t i;
	json_t *doc;

	if (!json_is_array(documents) || !json_array_size(documents)) {
		snprintf(err, err_len, "no policy documents given");
		return -EINVAL;
	}
	json_array_foreach(documents, i, doc) {
		const char *file = json_string_value(json_object_get(doc, "file"));
		json_t *content = json_object_get(doc, "content");
		struct policy_diag diag;
		int ret;

		if (!file || !json_is_string(content)) {
			snprintf(err, err_len, "documents[%zu]: needs file and content", i);
			return -EINVAL;
		}
		memset(&diag, 0, sizeof(diag));
		diag.allow_http = true; /* enforced by warden-proxy */
		ret = policy_parse_buffer(file, json_string_value(content),
					  json_string_length(content), out, &diag);
		for (size_t w = 0; warnings && w < diag.warning_count; w++) {
			char line[1024];

			policy_diag_entry__format(&diag.warnings[w], line, sizeof(line));
			json_array_append_new(warnings, json_string(line));
		}
		if (ret) {
			policy_diag_entry__format(&diag.error, err, err_len);
			return ret;
		}
	}
	return 0;
}

static bool same_object(const struct policy *a, const struct policy *b)
{
	if (a->kind != b->kind || strcmp(a->name, b->name))
		return false;
	if (!a->namespace || !b->namespace)
		return a->namespace == b->namespace;
	return !strcmp(a->namespace, b->namespace);
}

static void policy_ref(const struct policy *p, char *buf, size_t len)
{
	if (p->namespace)
		snprintf(buf, len, "%s/%s", p->namespace, p->name);
	else
		snprintf(buf, len, "%s", p->name);
}

#define POLICY_ID_MAX 0xffff

/* Does one of the count policies at items have this cookie id? */
static bool policies_have_id(const struct policy *items, size_t count, uint16_t id)
{
	for (size_t i = 0; i < count; i++)
		if (items[i].id == id)
			return true;
	return false;
}

/*
 * Give each incoming policy its cookie id: the id of the object it replaces,
 * else the next free one after the last given (so a deleted policy's id is
 * not handed out again until the counter wraps).
 */
static int assign_policy_ids(struct agent *agent, struct policy_set *incoming,
			     char *err, size_t err_len)
{
	for (size_t j = 0; j < incoming->count; j++) {
		struct policy *p = &incoming->items[j];
		uint16_t id = agent->last_policy_id;
		size_t tries = 0;

		p->id = 0;
		for (size_t i = 0; i < agent->policies.count; i++)
			if (same_object(&agent->policies.items[i], p))
				p->id = agent->policies.items[i].id;
		if (p->id)
			continue;
		do {
			id = id == POLICY_ID_MAX ? 1 : id + 1;
			if (++tries > POLICY_ID_MAX) {
				snprintf(err, err_len, "too many policies (at most %u)",
					 POLICY_ID_MAX);
				return -ENOSPC;
			}
		} while (policies_have_id(agent->policies.items, agent->policies.count, id) ||
			 policies_have_id(incoming->items, j, id));
		p->id = id;
		agent->last_policy_id = id;
	}
	return 0;
}

/* Remember "ns/name" for each id of set (see agent->policy_names). */
static void record_policy_names(struct agent *agent, const struct policy_set *set)
{
	char ref[600];

	if (!agent->policy_names)
		agent->policy_names = calloc(POLICY_ID_MAX + 1, sizeof(*agent->policy_names));
	for (size_t i = 0; agent->policy_names && i < set->count; i++) {
		char **slot = &agent->policy_names[set->items[i].id];

		policy_ref(&set->items[i], ref, sizeof(ref));
		if (*slot && !strcmp(*slot, ref))
			continue;
		free(*slot);
		*slot = strdup(ref);
	}
}

const char *policy_repo__name_by_id(struct agent *agent, uint16_t id, bool *live)
{
	*live = policies_have_id(agent->policies.items, agent->policies.count, id);
	return agent->policy_names ? agent->policy_names[id] : NULL;
}

int policy_repo__import(struct agent *agent, struct policy_set *incoming, json_t *result,
			char *err, size_t err_len)
{
	struct policy_set candidate = { 0 };
	bool *replaced = NULL;
	json_t *names = json_array();
	char ref[600];
	int ret;

	for (size_t i = 0; i < incoming->count; i++)
		for (size_t j = i + 1; j < incoming->count; j++)
			if (same_object(&incoming->items[i], &incoming->items[j])) {
				policy_ref(&incoming->items[j], ref, sizeof(ref));
				snprintf(err, err_len,
					 "%s:%d: %s %s is defined twice in this import",
					 incoming->items[j].file, incoming->items[j].line,
					 policy_kind__name(incoming->items[j].kind), ref);
				json_decref(names);
				return -EINVAL;
			}
	ret = assign_policy_ids(agent, incoming, err, err_len);
	if (ret) {
		json_decref(names);
		return ret;
	}
	replaced = calloc(agent->policies.count + 1, sizeof(*replaced));
	candidate.items = calloc(agent->policies.count + incoming->count + 1,
				 sizeof(*candidate.items));
	if (!replaced || !candidate.items) {
		ret = -ENOMEM;
		goto out;
	}
	/* kubectl-apply semantics: an object with the same kind, namespace and
	 * name replaces the one in force; order is kept for stable cookies. */
	for (size_t i = 0; i < agent->policies.count; i++) {
		for (size_t j = 0; j < incoming->count; j++)
			if (same_object(&agent->policies.items[i], &incoming->items[j]))
				replaced[i] = true;
		if (!replaced[i])
			candidate.items[candidate.count++] = agent->policies.items[i];
	}
	for (size_t j = 0; j < incoming->count; j++)
		candidate.items[candidate.count++] = incoming->items[j];

	ret = agent__regenerate(agent, &candidate, err, err_len);
	if (ret)
		goto out;
	record_policy_names(agent, incoming);
	/* Commit: the candidate owns the kept and incoming policies now. */
	for (size_t i = 0; i < agent->policies.count; i++)
		if (replaced[i])
			policy__free(&agent->policies.items[i]);
	free(agent->policies.items);
	agent->policies = candidate;
	candidate.items = NULL;
	for (size_t j = 0; j < incoming->count; j++) {
		policy_ref(&incoming->items[j], ref, sizeof(ref));
		json_array_append_new(names, json_string(ref));
	}
	free(incoming->items);
	incoming->items = NULL;
	incoming->count = 0;
	agent->metrics.policy_imports++;
	json_object_set_new(result, "revision", json_integer((json_int_t)agent->policy_revision));
	json_object_set(result, "imported", names);
	json_object_set_new(result, "compile_ms",
			    json_real((double)agent->last_compile_ns / 1e6));
	json_object_set_new(result, "apply_ms", json_real((double)agent->last_apply_ns / 1e6));
	json_object_set_new(result, "entries", json_integer((json_int_t)agent->last_entries));
out:
	free(candidate.items);
	free(replaced);
	json_decref(names);
	return ret;
}

int policy_repo__delete(struct agent *agent, const char *name, const char *ns,
			bool clusterwide_only, bool all, json_t *result, char *err,
			size_t err_len)
{
	struct policy_set candidate = { 0 };
	bool *removed = calloc(agent->policies.count + 1, sizeof(*removed));
	json_t *names = json_array();
	size_t hits = 0;
	char ref[600];
	int ret;

	candidate.items = calloc(agent->policies.count + 1, sizeof(*candidate.items));
	if (!removed || !candidate.items) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < agent->policies.count; i++) {
		const struct policy *p = &agent->policies.items[i];
		bool match = all;

		if (!all && !strcmp(p->name, name)) {
			/* No namespace given: "default" and clusterwide ones. */
			if (!p->namespace)
				match = !ns;
			else
				match = !clusterwide_only &&
					!strcmp(p->namespace, ns ? ns : "default");
		}
		if (match) {
			removed[i] = true;
			hits++;
			policy_ref(p, ref, sizeof(ref));
			json_array_append_new(names, json_string(ref));
		} else {
			candidate.items[candidate.count++] = *p;
		}
	}
	if (!hits && !all) {
		if (clusterwide_only)
			snprintf(err, err_len, "clusterwide policy %s not found", name);
		else
			snprintf(err, err_len, "policy %s/%s not found", ns ? ns : "default",
				 name);
		ret = -ENOENT;
		goto out;
	}
	ret = agent__regenerate(agent, &candidate, err, err_len);
	if (ret)
		goto out;
	for (size_t i = 0; i < agent->policies.count; i++)
		if (removed[i])
			policy__free(&agent->policies.items[i]);
	free(agent->policies.items);
	agent->policies = candidate;
	candidate.items = NULL;
	agent->metrics.policy_imports++;
	json_object_set(result, "deleted", names);
	json_object_set_new(result, "revision", json_integer((json_int_t)agent->policy_revision));
out:
	free(candidate.items);
	free(removed);
	json_decref(names);
	return ret;
}

void policy_repo__free(struct agent *agent)
{
	for (size_t i = 0; agent->policy_names && i <= POLICY_ID_MAX; i++)
		free(agent->policy_names[i]);
	free(agent->policy_names);
	agent->policy_names = NULL;
	policy_set__free(&agent->policies);
	release_cidrs(agent, agent->cidrs, agent->cidr_count, NULL, 0);
	free(agent->cidrs);
	agent->cidrs = NULL;
	agent->cidr_count = 0;
}
