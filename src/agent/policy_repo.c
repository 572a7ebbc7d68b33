// SPDX-License-Identifier: Apache-2.0
/*
 * The policy repository: the policies in force and the ids their rule
 * cookies carry. An import is all-or-nothing: documents are parsed, the
 * whole candidate set is regenerated (regenerate.c: compiled for every
 * endpoint, and only then written), and any error leaves the running
 * policy alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "endpoint.h"
#include "policy_repo.h"
#include "regenerate.h"
#include "warden/log.h"
#include "warden/policy_compile.h"
#include "warden/selector.h"

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

int policy_repo__parse(const struct policy_document *docs, size_t count,
		       struct policy_set *out, struct str_list *warnings, char *err,
		       size_t err_len)
{
	for (size_t i = 0; i < count; i++) {
		struct policy_diag diag;
		int ret;

		memset(&diag, 0, sizeof(diag));
		diag.allow_http = true; /* enforced by warden-proxy */
		ret = policy_parse_buffer(docs[i].file, docs[i].content, docs[i].len, out,
					  &diag);
		for (size_t w = 0; warnings && w < diag.warning_count; w++) {
			char line[1024];

			policy_diag_entry__format(&diag.warnings[w], line, sizeof(line));
			str_list__push(warnings, line);
		}
		if (ret) {
			policy_diag_entry__format(&diag.error, err, err_len);
			return ret;
		}
	}
	return 0;
}

void policy_change__free(struct policy_change *change)
{
	str_list__free(&change->names);
}

static bool same_object(const struct policy *a, const struct policy *b)
{
	if (a->kind != b->kind || strcmp(a->name, b->name))
		return false;
	if (!a->namespace || !b->namespace)
		return a->namespace == b->namespace;
	return !strcmp(a->namespace, b->namespace);
}

void policy__ref(const struct policy *p, char *buf, size_t len)
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
static int assign_policy_ids(struct agent *agent, struct policy_set *incoming, char *err,
			     size_t err_len)
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
		} while (
		    policies_have_id(agent->policies.items, agent->policies.count, id) ||
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
		agent->policy_names =
		    calloc(POLICY_ID_MAX + 1, sizeof(*agent->policy_names));
	for (size_t i = 0; agent->policy_names && i < set->count; i++) {
		char **slot = &agent->policy_names[set->items[i].id];

		policy__ref(&set->items[i], ref, sizeof(ref));
		if (*slot && !strcmp(*slot, ref))
			continue;
		free(*slot);
		*slot = strdup(ref);
	}
}

/* "ns/name" of a policy id (also of deleted ones); *live if still in force. */
static const char *name_by_id(struct agent *agent, uint16_t id, bool *live)
{
	*live = policies_have_id(agent->policies.items, agent->policies.count, id);
	return agent->policy_names ? agent->policy_names[id] : NULL;
}

int policy_repo__import(struct agent *agent, struct policy_set *incoming,
			struct policy_change *out, char *err, size_t err_len)
{
	struct policy_set candidate = {0};
	bool *replaced = NULL;
	char ref[600];
	int ret;

	for (size_t i = 0; i < incoming->count; i++)
		for (size_t j = i + 1; j < incoming->count; j++)
			if (same_object(&incoming->items[i], &incoming->items[j])) {
				policy__ref(&incoming->items[j], ref, sizeof(ref));
				snprintf(err, err_len,
					 "%s:%d: %s %s is defined twice in this import",
					 incoming->items[j].file, incoming->items[j].line,
					 policy_kind__name(incoming->items[j].kind), ref);
				return -EINVAL;
			}
	ret = assign_policy_ids(agent, incoming, err, err_len);
	if (ret)
		return ret;
	replaced = calloc(agent->policies.count + 1, sizeof(*replaced));
	candidate.items =
	    calloc(agent->policies.count + incoming->count + 1, sizeof(*candidate.items));
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

	ret = regenerate__apply(agent, &candidate, err, err_len);
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
		policy__ref(&incoming->items[j], ref, sizeof(ref));
		str_list__push(&out->names, ref);
	}
	free(incoming->items);
	incoming->items = NULL;
	incoming->count = 0;
	agent->metrics.policy_imports++;
	out->revision = agent->policy_revision;
	out->compile_ns = agent->last_compile_ns;
	out->apply_ns = agent->last_apply_ns;
	out->entries = agent->last_entries;
	pr_info("policy import: %zu policies, revision %llu\n", out->names.count,
		(unsigned long long)agent->policy_revision);
out:
	free(candidate.items);
	free(replaced);
	return ret;
}

/* Does p match what req names? */
static bool delete_matches(const struct policy *p,
			   const struct policy_delete_request *req)
{
	if (req->all)
		return true;
	if (strcmp(p->name, req->name))
		return false;
	/* No namespace given: "default" and clusterwide ones. */
	if (!p->namespace)
		return !req->namespace;
	return !req->clusterwide_only &&
	       !strcmp(p->namespace, req->namespace ? req->namespace : "default");
}

int policy_repo__delete(struct agent *agent, const struct policy_delete_request *req,
			struct policy_change *out, char *err, size_t err_len)
{
	struct policy_set candidate = {0};
	bool *removed = calloc(agent->policies.count + 1, sizeof(*removed));
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

		if (delete_matches(p, req)) {
			removed[i] = true;
			hits++;
			policy__ref(p, ref, sizeof(ref));
			str_list__push(&out->names, ref);
		} else {
			candidate.items[candidate.count++] = *p;
		}
	}
	if (!hits && !req->all) {
		if (req->clusterwide_only)
			snprintf(err, err_len, "clusterwide policy %s not found",
				 req->name);
		else
			snprintf(err, err_len, "policy %s/%s not found",
				 req->namespace ? req->namespace : "default", req->name);
		ret = -ENOENT;
		goto out;
	}
	ret = regenerate__apply(agent, &candidate, err, err_len);
	if (ret)
		goto out;
	for (size_t i = 0; i < agent->policies.count; i++)
		if (removed[i])
			policy__free(&agent->policies.items[i]);
	free(agent->policies.items);
	agent->policies = candidate;
	candidate.items = NULL;
	agent->metrics.policy_imports++;
	out->revision = agent->policy_revision;
out:
	free(candidate.items);
	free(removed);
	return ret;
}

void policy_repo__free(struct agent *agent)
{
	for (size_t i = 0; agent->policy_names && i <= POLICY_ID_MAX; i++)
		free(agent->policy_names[i]);
	free(agent->policy_names);
	agent->policy_names = NULL;
	policy_set__free(&agent->policies);
	regenerate__free(agent);
}

bool policy__selects(const struct policy *p, const struct endpoint *ep)
{
	for (size_t s = 0; s < p->spec_count; s++)
		if (selector__matches(&p->specs[s].subject, &ep->labels))
			return true;
	return false;
}

void policy_repo__describe_cookie(struct agent *agent, uint32_t cookie, bool allowed,
				  char *buf, size_t len)
{
	const char *name;
	bool live;

	if (!cookie) {
		snprintf(buf, len, "%s", allowed ? "no policy" : "default deny");
		return;
	}
	name = name_by_id(agent, (uint16_t)POLICY_COOKIE_POLICY_ID(cookie), &live);
	if (!name)
		snprintf(buf, len, "rule %#x (unknown policy)", cookie);
	else
		snprintf(buf, len, "%s%s", name, live ? "" : " (deleted)");
}
