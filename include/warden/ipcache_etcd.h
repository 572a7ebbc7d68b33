/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The etcd ipcache backend: this node's endpoint addresses are published
 * for the other nodes, theirs arrive here (docs/cluster.md).
 *
 * It implements struct ipcache_ops. upsert() and remove() apply to this
 * node's table (and its sink, the datapath) first and then publish
 * <prefix>/ip/<address> -> {"identity": N, "node": "..."} on the node's
 * lease, so a dead node's addresses expire with it. Only cluster
 * identities (WARDEN_IDENTITY_USER_MIN..MAX) are published: reserved and
 * CIDR identities mean something on this node only.
 *
 * When etcd cannot be reached, local changes still take effect here and
 * are published by a later poll (ipcache_etcd__pending() counts them):
 * enforcement never waits for the cluster.
 *
 * Entries of other nodes come by watch and go to the same table and sink.
 * For one address, this node's own entry wins over another node's (an
 * address this node assigned is this node's); the other is kept and comes
 * back when the local one is removed.
 */
#ifndef WARDEN_IPCACHE_ETCD_H
#define WARDEN_IPCACHE_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "warden/ipcache.h"

struct kvstore;

struct ipcache_etcd_config {
	struct kvstore *kv;		 /* borrowed; must outlive the cache */
	const char *prefix;		 /* "/warden": keys go under <prefix>/ip/ */
	const char *node;		 /* this node's name */
	int64_t lease;			 /* the node's lease (0: none) */
	const struct ipcache_sink *sink; /* may be NULL */
};

/* Read the other nodes' entries (into sink) and start watching. */
int ipcache__new_etcd(struct ipcache **out, const struct ipcache_etcd_config *cfg,
		      char *err, size_t err_len);

bool ipcache__is_etcd(const struct ipcache *c);
int ipcache_etcd__fd(const struct ipcache *c);
/* Apply the other nodes' changes; publish what is pending; resync after a
 * compaction. *changed (may be NULL): entries changed by other nodes. */
int ipcache_etcd__poll(struct ipcache *c, size_t *changed);
/* The node's lease changed: publish every local entry again on it. */
int ipcache_etcd__set_lease(struct ipcache *c, int64_t lease);
/* The watch is established. */
bool ipcache_etcd__connected(const struct ipcache *c);
/* Local changes not yet in etcd. */
size_t ipcache_etcd__pending(const struct ipcache *c);
const char *ipcache_etcd__error(const struct ipcache *c);

#endif /* WARDEN_IPCACHE_ETCD_H */
