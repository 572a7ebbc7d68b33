/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the CNI plugin (src/cni/) and the agent agree on beyond the control
 * protocol's JSON (docs/cni.md): the name of an attachment's host-side
 * device, derived from the attachment's key alone, so that either side can
 * find (and remove) a device the other made even when it has no state:
 * the plugin after the agent died in the middle of an ADD, the agent when
 * it restores or garbage-collects attachments.
 */
#ifndef WARDEN_CNI_H
#define WARDEN_CNI_H

#include <stdint.h>
#include <stdio.h>

/* Host-side devices of CNI attachments; never swept at agent start. */
#define CNI_HOST_IFNAME_PREFIX "wdc"
#define CNI_DEFAULT_SOCKET "/run/warden/warden.sock"
#define CNI_IFNAME_MAX 15 /* IFNAMSIZ - 1 */

/*
 * FNV-1a (64 bit) of container_id, a NUL byte, then ifname: an attachment
 * is the pair (CNI_CONTAINERID, CNI_IFNAME) and the spec lets one container
 * have several attachments with different interface names.
 */
static inline uint64_t cni_attachment__hash(const char *container_id, const char *ifname)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p;

	for (p = (const unsigned char *)container_id; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	h = (h ^ 0) * 0x100000001b3ull; /* the separator */
	for (p = (const unsigned char *)ifname; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

/*
 * "wdc" + 11 hex digits (44 bits of the hash) = 14 characters, within
 * IFNAMSIZ. @prefix is CNI_HOST_IFNAME_PREFIX; @buf holds at least 16
 * bytes.
 */
static inline void cni_attachment__ifname(const char *prefix, const char *container_id,
					  const char *ifname, char *buf, size_t len)
{
	unsigned long long h = cni_attachment__hash(container_id, ifname);

	snprintf(buf, len, "%s%011llx", prefix, h & 0xfffffffffffull);
}

#endif /* WARDEN_CNI_H */
