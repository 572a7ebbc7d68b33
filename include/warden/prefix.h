/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP prefixes: parse, format, containment. At the bottom of the layers with
 * labels (docs/architecture.md): the policy model, identities and the
 * ipcache all name prefixes, so this header depends on nothing of theirs.
 */
#ifndef WARDEN_PREFIX_H
#define WARDEN_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IP prefix; IPv4 in the first 4 bytes of addr. */
struct policy_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;	/* prefix length in bits */
	uint8_t addr[16];
};

/*
 * Parse "10.0.0.0/8", "10.1.2.3" (a /32) or an IPv6 form. Host bits that
 * are set are an error (Cilium and Kubernetes reject "10.0.0.1/8").
 * Returns 0 or -EINVAL.
 */
int policy_prefix__parse(const char *text, struct policy_prefix *out);
/* "10.0.0.0/8"; returns the length it needed, snprintf-style. */
size_t policy_prefix__format(const struct policy_prefix *p, char *buf, size_t len);
/* inner inside (or equal to) outer? Different families never are. */
bool policy_prefix__contains(const struct policy_prefix *outer,
			     const struct policy_prefix *inner);

#endif /* WARDEN_PREFIX_H */
