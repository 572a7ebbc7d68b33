/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address -> security identity, through the ipcache LPM trie that user
 * space fills with endpoint /32s and CIDR-policy prefixes.
 */
#ifndef WARDEN_BPF_IPCACHE_H
#define WARDEN_BPF_IPCACHE_H

#include "lib/common.h"

/*
 * The entry for an IPv4 address (a /32 lookup, longest prefix wins) in an
 * LPM map keyed like the ipcache: warden_ipcache, or warden_pod_cidr
 * (bpf/lib/policy.h). NULL when no prefix covers it.
 */
static __always_inline struct warden_ipcache_value *ipcache_lpm_lookup4(void *map,
									__be32 addr)
{
	struct warden_ipcache_key key;

	/*
	 * Built field by field: a designated initializer of this mostly-zero
	 * key makes clang emit a .rodata template (and a skeleton member).
	 */
	__builtin_memset(&key, 0, sizeof(key));
	key.prefixlen = WARDEN_IPCACHE_PREFIX_BASE + 32;
	key.family = WARDEN_FAMILY_IPV4;
	__builtin_memcpy(key.addr, &addr, sizeof(addr));
	return bpf_map_lookup_elem(map, &key);
}

/*
 * Identity of an IPv4 address. An address nobody told us about is outside
 * the cluster as far as policy is concerned: WORLD, as in Cilium, so
 * "toEntities: world" rules match it and default deny still applies.
 */
static __always_inline __u32 ipcache_lookup4(void *ipcache, __be32 addr)
{
	struct warden_ipcache_value *value = ipcache_lpm_lookup4(ipcache, addr);

	return value ? value->identity : WARDEN_IDENTITY_WORLD;
}

#endif /* WARDEN_BPF_IPCACHE_H */
