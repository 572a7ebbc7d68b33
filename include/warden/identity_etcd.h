/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The etcd identity backend: identities shared by every node of a cluster
 * (the protocol and key layout are in docs/cluster.md).
 *
 * It implements struct identity_allocator_ops, so the agent uses it like
 * the local backend, plus a few calls for its event loop. Reserved
 * identities and CIDR identities (from 1 << 24) stay node-local; label
 * sets get numbers in WARDEN_IDENTITY_USER_MIN..MAX, the same on every
 * node, never one number for two label sets.
 *
 * lookup() and list() show every identity of the cluster (what the policy
 * compiler needs to judge remote peers), kept current by a watch; an
 * identity's refcount is this node's references. acquire() and release()
 * talk to etcd and block for at most the client's timeout per request.
 * list()'s array is valid until the next acquire, release or poll.
 */
#ifndef WARDEN_IDENTITY_ETCD_H
#define WARDEN_IDENTITY_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "warden/identity.h"

struct kvstore;

struct identity_etcd_config {
	struct kvstore *kv; /* borrowed; must outlive the allocator */
	const char *prefix; /* "/warden": keys go under <prefix>/identities/ */
	const char *node;   /* this node's name, unique in the cluster */
	int64_t lease;	    /* the node's lease, for its references (0: none) */
	/* Called when a cluster identity appears, changes or goes (ident
	 * NULL), from acquire() or poll(); may be NULL. */
	void (*notify)(void *ctx, uint32_t id, const struct identity *ident);
	void *notify_ctx;
};

/*
 * Read every identity of the cluster and start watching. Fails (with the
 * reason in err) when etcd cannot be read: the agent decides whether to
 * run without the cluster.
 */
int identity_allocator__new_etcd(struct identity_allocator **out,
				 const struct identity_etcd_config *cfg, char *err,
				 size_t err_len);

/* Is a an etcd allocator? The calls below return -EINVAL when not. */
bool identity_allocator__is_etcd(const struct identity_allocator *a);
/* The fd to poll for EPOLLIN; then call identity_etcd__poll(). */
int identity_etcd__fd(const struct identity_allocator *a);
/*
 * Apply what the watch delivered (new identities of other nodes, removed
 * ones); retry deletions of references that failed while etcd was away;
 * resync when the watch's history was compacted. *changed (may be NULL):
 * how many identities changed.
 */
int identity_etcd__poll(struct identity_allocator *a, size_t *changed);
/*
 * The node's lease changed (the old one expired while etcd was away, so
 * etcd dropped this node's references): write every reference again on
 * the new lease, each with the number the node already uses. -ESTALE when
 * some label set got another number in the meantime (its number here is
 * kept; the agent must re-acquire those endpoints).
 */
int identity_etcd__set_lease(struct identity_allocator *a, int64_t lease);
/*
 * Delete master keys no node refers to any more. A master must be found
 * without references by two calls in a row (with no change in between)
 * before it goes, so nodes that still cache its labels have seen the last
 * reference go first. *deleted (may be NULL) counts them.
 */
int identity_etcd__gc(struct identity_allocator *a, size_t *deleted);
/* The watch is established (false while etcd is away: the cache then
 * holds the last known state). */
bool identity_etcd__connected(const struct identity_allocator *a);
/* How allocations went, since the allocator started. */
struct identity_etcd_stats {
	uint64_t created; /* new numbers (master keys written) */
	uint64_t joined;  /* numbers other nodes already referred to */
	uint64_t adopted; /* existing masters nobody referred to */
	uint64_t lost;	  /* transactions that lost a race and were retried */
};

void identity_etcd__stats(const struct identity_allocator *a,
			  struct identity_etcd_stats *out);
/* Why the last failing call failed. */
const char *identity_etcd__error(const struct identity_allocator *a);

#endif /* WARDEN_IDENTITY_ETCD_H */
