/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inside of an L7 policy snapshot, shared by the loader
 * (l7_policy_load.c, which builds and frees it) and the judge
 * (l7_policy.c, which only reads it). Not for use outside lib/.
 */
#ifndef WARDEN_L7_POLICY_INTERNAL_H
#define WARDEN_L7_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "warden/l7_policy.h"

/* Everything a snapshot holds, except regexes and index slots, is in here. */
struct l7_arena_chunk;
struct l7_arena {
	struct l7_arena_chunk *head;
};

/*
 * Every lookup the proxy does per request goes through one of these: the
 * L7 entry of (endpoint, direction, port, identity), an ipcache prefix, an
 * endpoint address, an identity. Open addressing from a 128-bit key to a
 * 32-bit value, linear probing, at most half full.
 */
struct l7_index_slot {
	uint64_t key_a;
	uint64_t key_b;
	uint32_t value;
	uint32_t used;
};

struct l7_index {
	struct l7_index_slot *slots; /* malloc'd; a power-of-two count */
	size_t mask;
	size_t count;
};

static inline uint64_t l7_index_mix(uint64_t x)
{
	/* splitmix64's finaliser: every input bit moves every output bit. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* The slot of the key, or the empty slot where it would go. */
static inline struct l7_index_slot *l7_index_probe(const struct l7_index *index,
						   uint64_t key_a, uint64_t key_b)
{
	size_t pos =
	    (size_t)l7_index_mix(key_a ^ l7_index_mix(key_b ^ 0x9e3779b97f4a7c15ull));

	for (;;) {
		struct l7_index_slot *slot = &index->slots[pos & index->mask];

		if (!slot->used || (slot->key_a == key_a && slot->key_b == key_b))
			return slot;
		pos++;
	}
}

static inline bool l7_index__find(const struct l7_index *index, uint64_t key_a,
				  uint64_t key_b, uint32_t *value)
{
	const struct l7_index_slot *slot = l7_index_probe(index, key_a, key_b);

	if (!slot->used)
		return false;
	*value = slot->value;
	return true;
}

enum l7_matcher_kind {
	L7_MATCHER_ANY,	    /* null or absent: never stored in a rule */
	L7_MATCHER_LITERAL, /* no metacharacters: byte equality */
	L7_MATCHER_REGEX,
};

/* One of method, path, host. */
struct l7_matcher {
	enum l7_matcher_kind kind;
	bool jit;
	size_t field;		/* offsetof(struct l7_request, method/path/host) */
	size_t len;		/* literal */
	const char *literal;	/* literal, in the arena */
	const pcre2_code *code; /* regex, owned by l7_policy.regexes */
};

struct l7_header_match {
	const char *name; /* in the arena */
	size_t name_len;
	const char *value; /* NULL: presence is enough */
	size_t value_len;
};

struct l7_rule {
	struct l7_matcher matchers[3]; /* the fields it has, literals first */
	size_t matcher_count;
	const struct l7_header_match *headers;
	size_t header_count;
	uint32_t cookie;
};

struct l7_entry {
	const struct l7_rule *rules;
	size_t rule_count;
	const uint32_t *exempt; /* sorted, for a binary search */
	size_t exempt_count;
};

/*
 * One generation of L7 rules: the entries, and the keys whose restriction a
 * later revision lifted (the peer is allowed at L4 there now; connections
 * the datapath redirected before still reach the proxy and are forwarded).
 */
struct l7_rule_set {
	struct l7_index entries; /* key l7_entry_key_a/b -> entry_list[] */
	struct l7_entry *entry_list;
	struct l7_index lifted; /* key l7_entry_key_a/b -> 0 */
};

/* One compiled pattern; identical patterns share it across the snapshot. */
struct l7_regex {
	pcre2_code *code;
	bool jit;
	const char *pattern; /* in the arena, to confirm a cache hit */
	size_t len;
};

struct l7_policy {
	unsigned long refcount; /* __atomic */
	uint64_t revision;
	struct l7_arena arena;

	struct l7_regex *regexes; /* malloc'd */
	size_t regex_count;
	size_t regex_capacity;

	/* Key (prefix length << 32 | masked address in host order, 0). */
	struct l7_index ipcache;
	uint8_t ipcache_lengths[33]; /* the IPv4 prefix lengths present, longest first */
	size_t ipcache_length_count;

	struct l7_index identities; /* key (id, 0) -> identity_labels[] */
	const char **identity_labels;

	struct l7_index endpoints; /* key (ipv4 as given, 0) -> endpoint_list[] */
	struct l7_endpoint *endpoint_list;

	/* The rules in force, and during a policy switch the rules of the
	 * revision being replaced (has_previous): then a request must pass
	 * both (docs/proxy-policy.md, "Switching revisions"). */
	struct l7_rule_set current;
	struct l7_rule_set previous;
	bool has_previous;
};

static inline uint64_t l7_entry_key_a(uint32_t endpoint_id, uint32_t identity)
{
	return (uint64_t)endpoint_id << 32 | identity;
}

static inline uint64_t l7_entry_key_b(uint8_t direction, uint16_t port)
{
	return (uint64_t)direction << 16 | port;
}

/* Free a snapshot and all it holds, whatever its reference count. */
void l7_policy_free(struct l7_policy *p);

#endif /* WARDEN_L7_POLICY_INTERNAL_H */
