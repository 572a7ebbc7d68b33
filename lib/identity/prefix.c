// SPDX-License-Identifier: Apache-2.0
/* IP prefixes: parsing with strict host-bit checks, formatting, containment. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "warden/prefix.h"

static size_t family_bits(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

/* Are the bits of addr after the first len bits all zero? */
static bool host_bits_clear(const uint8_t *addr, size_t bits, size_t len)
{
	size_t i;

	for (i = len; i < bits; i++)
		if (addr[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

/* Compare the first len bits of a and b. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t whole = len / 8, rest = len % 8;
	uint8_t mask;

	if (memcmp(a, b, whole))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xffu << (8 - rest));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

int policy_prefix__parse(const char *text, struct policy_prefix *out)
{
	struct policy_prefix p = {0};
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t addr_len, bits;
	unsigned long len;

	if (!text || !out)
		return -EINVAL;
	slash = strchr(text, '/');
	addr_len = slash ? (size_t)(slash - text) : strlen(text);
	if (!addr_len || addr_len >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, addr_len);
	addr[addr_len] = '\0';

	if (strchr(addr, ':')) {
		if (inet_pton(AF_INET6, addr, p.addr) != 1)
			return -EINVAL;
		p.family = 6;
	} else {
		if (inet_pton(AF_INET, addr, p.addr) != 1)
			return -EINVAL;
		p.family = 4;
	}
	bits = family_bits(p.family);

	if (!slash) {
		len = bits;
	} else {
		const char *s = slash + 1;

		/* Plain decimal only: no sign, no spaces, no "0x", no "/". */
		if (!*s || strlen(s) > 3)
			return -EINVAL;
		len = 0;
		for (; *s; s++) {
			if (*s < '0' || *s > '9')
				return -EINVAL;
			len = len * 10 + (unsigned long)(*s - '0');
		}
		if (len > bits)
			return -EINVAL;
	}
	if (!host_bits_clear(p.addr, bits, len))
		return -EINVAL;
	p.len = (uint8_t)len;
	*out = p;
	return 0;
}

size_t policy_prefix__format(const struct policy_prefix *p, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (!p || (p->family != 4 && p->family != 6) ||
	    !inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "<invalid>");
	n = snprintf(buf, len, "%s/%u", addr, p ? p->len : 0);
	return n < 0 ? 0 : (size_t)n;
}

bool policy_prefix__contains(const struct policy_prefix *outer,
			     const struct policy_prefix *inner)
{
	if (!outer || !inner || outer->family != inner->family)
		return false;
	if (outer->len > inner->len)
		return false;
	return bits_equal(outer->addr, inner->addr, outer->len);
}
