/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy repository (policy_repo.c): the policies in force, their ids
 * (rule cookies name them), imports and deletes, all or nothing.
 */
#ifndef WARDEN_AGENT_POLICY_REPO_H
#define WARDEN_AGENT_POLICY_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str_list.h"
#include "warden/policy.h"

struct agent;
struct endpoint;

/* One YAML file's text, as a client sent it (borrowed). */
struct policy_document {
	const char *file;
	const char *content;
	size_t len;
};

/* What an import or a delete did. */
struct policy_change {
	struct str_list names; /* "ns/name" imported or deleted */
	uint64_t revision;     /* the policy revision now in force */
	uint64_t compile_ns;   /* the regeneration's cost (import only) */
	uint64_t apply_ns;
	size_t entries;
};
void policy_change__free(struct policy_change *change);

/* `policy delete`: a name, or all. */
struct policy_delete_request {
	const char *name;
	/* NULL: the policy in "default" or a clusterwide one of that name */
	const char *namespace;
	bool clusterwide_only;
	bool all;
};

/*
 * Parse every document into out (nothing is in force yet). Warnings of the
 * parser go to warnings; the first error to err, naming file and line.
 */
int policy_repo__parse(const struct policy_document *docs, size_t count,
		       struct policy_set *out, struct str_list *warnings, char *err,
		       size_t err_len);
/*
 * Put incoming in force (objects of the same kind, namespace and name are
 * replaced); on success incoming's policies belong to the repository.
 */
int policy_repo__import(struct agent *agent, struct policy_set *incoming,
			struct policy_change *out, char *err, size_t err_len);
int policy_repo__delete(struct agent *agent, const struct policy_delete_request *req,
			struct policy_change *out, char *err, size_t err_len);
void policy_repo__free(struct agent *agent);

const char *policy_kind__name(enum policy_kind kind);
/* "ns/name", or "name" for a clusterwide policy. */
void policy__ref(const struct policy *p, char *buf, size_t len);
/* Does one of p's specs select ep? */
bool policy__selects(const struct policy *p, const struct endpoint *ep);
/* "ns/name" of the policy behind a rule cookie (" (deleted)" if it is no
 * longer in force), or "default deny" / "no policy" for cookie 0. */
void policy_repo__describe_cookie(struct agent *agent, uint32_t cookie, bool allowed,
				  char *buf, size_t len);

#endif /* WARDEN_AGENT_POLICY_REPO_H */
