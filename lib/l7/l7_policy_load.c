// SPDX-License-Identifier: Apache-2.0
/*
 * Builds an L7 policy snapshot from the agent's JSON document
 * (docs/proxy-policy.md): strict validation with the JSON path of whatever
 * is refused, every table indexed, every regular expression compiled (and
 * JIT-compiled) once. Ownership: the snapshot owns one arena (every string,
 * rule and list), its index slot arrays and its compiled regexes;
 * l7_policy_free releases them all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l7_policy_internal.h"
#include "warden/abi/maps.h"
#include "warden/prefix.h"

/* ---- arena -------------------------------------------------------------- */

#define ARENA_CHUNK_SIZE 16384

struct l7_arena_chunk {
	struct l7_arena_chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

/* Zeroed memory that lives as long as the arena; NULL on ENOMEM. */
static void *arena__alloc(struct l7_arena *arena, size_t count, size_t size)
{
	const size_t align = _Alignof(max_align_t);
	struct l7_arena_chunk *chunk = arena->head;
	size_t bytes;
	void *ptr;

	if (size && count > (SIZE_MAX - align) / size)
		return NULL;
	bytes = (count * size + align - 1) & ~(align - 1);
	if (!bytes)
		bytes = align;
	if (!chunk || chunk->size - chunk->used < bytes) {
		size_t chunk_size = bytes > ARENA_CHUNK_SIZE ? bytes : ARENA_CHUNK_SIZE;

		chunk = malloc(sizeof(*chunk) + chunk_size);
		if (!chunk)
			return NULL;
		chunk->next = arena->head;
		chunk->used = 0;
		chunk->size = chunk_size;
		arena->head = chunk;
	}
	ptr = (char *)chunk->data + chunk->used;
	chunk->used += bytes;
	memset(ptr, 0, bytes);
	return ptr;
}

/* A NUL-terminated copy of len bytes. */
static char *arena__strndup(struct l7_arena *arena, const char *s, size_t len)
{
	char *copy = arena__alloc(arena, len + 1, 1);

	if (copy)
		memcpy(copy, s, len);
	return copy;
}

static void arena__free(struct l7_arena *arena)
{
	struct l7_arena_chunk *chunk = arena->head, *next;

	for (; chunk; chunk = next) {
		next = chunk->next;
		free(chunk);
	}
	arena->head = NULL;
}

/* ---- index building (lookups are inline in l7_policy_internal.h) ------ */

static int index__init(struct l7_index *index, size_t expected)
{
	size_t slots = 8;

	if (expected > SIZE_MAX / 4 / sizeof(*index->slots))
		return -ENOMEM;
	while (slots < expected * 2)
		slots <<= 1;
	index->slots = calloc(slots, sizeof(*index->slots));
	if (!index->slots)
		return -ENOMEM;
	index->mask = slots - 1;
	index->count = 0;
	return 0;
}

static void index__free(struct l7_index *index)
{
	free(index->slots);
	index->slots = NULL;
}

static int index_grow(struct l7_index *index)
{
	struct l7_index old = *index;
	int err = index__init(index, (old.mask + 1));

	if (err) {
		*index = old;
		return err;
	}
	for (size_t i = 0; i <= old.mask; i++) {
		if (old.slots[i].used)
			*l7_index_probe(index, old.slots[i].key_a, old.slots[i].key_b) =
			    old.slots[i];
	}
	index->count = old.count;
	index__free(&old);
	return 0;
}

/* Add a key; -EEXIST (and *existing, if not NULL) when it is there. */
static int index__insert(struct l7_index *index, uint64_t key_a, uint64_t key_b,
			 uint32_t value, uint32_t *existing)
{
	struct l7_index_slot *slot;
	int err;

	if ((index->count + 1) * 2 > index->mask + 1) {
		err = index_grow(index);
		if (err)
			return err;
	}
	slot = l7_index_probe(index, key_a, key_b);
	if (slot->used) {
		if (existing)
			*existing = slot->value;
		return -EEXIST;
	}
	slot->key_a = key_a;
	slot->key_b = key_b;
	slot->value = value;
	slot->used = 1;
	index->count++;
	return 0;
}

void l7_policy_free(struct l7_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->regex_count; i++)
		pcre2_code_free(p->regexes[i].code);
	free(p->regexes);
	index__free(&p->current.entries);
	index__free(&p->current.lifted);
	index__free(&p->previous.entries);
	index__free(&p->previous.lifted);
	index__free(&p->endpoints);
	index__free(&p->identities);
	index__free(&p->ipcache);
	arena__free(&p->arena);
	free(p);
}

/* ---- loading ------------------------------------------------------------ */

struct loader {
	struct l7_policy *policy;
	struct l7_rule_set *set;     /* the one l7[] and lifted[] go into */
	struct l7_index regex_cache; /* (hash, length) -> regexes[] */
	char *err;
	size_t err_len;
};

/* A JSON path, "l7[3].rules[0].path", built as the loader descends. */
#define PATH_MAX_LEN 160

/* Paths only grow with nesting we bound; still, a cut one says so. */
static void path_mark_cut(char *out, int n)
{
	if (n < 0 || n >= PATH_MAX_LEN)
		memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

static void path_field(char *out, const char *base, const char *key)
{
	if (!*base)
		path_mark_cut(out, snprintf(out, PATH_MAX_LEN, "%s", key));
	else
		path_mark_cut(out, snprintf(out, PATH_MAX_LEN, "%s.%s", base, key));
}

static void path_item(char *out, const char *base, const char *key, size_t i)
{
	if (!*base)
		path_mark_cut(out, snprintf(out, PATH_MAX_LEN, "%s[%zu]", key, i));
	else
		path_mark_cut(out,
			      snprintf(out, PATH_MAX_LEN, "%s.%s[%zu]", base, key, i));
}

__attribute__((format(printf, 3, 4))) static int
load_error(struct loader *ld, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ld->err || !ld->err_len)
		return -EINVAL;
	n = snprintf(ld->err, ld->err_len, "%s: ", path);
	if (n >= 0 && (size_t)n < ld->err_len) {
		va_start(ap, fmt);
		vsnprintf(ld->err + n, ld->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int load_nomem(struct loader *ld, const char *path)
{
	if (ld->err && ld->err_len)
		snprintf(ld->err, ld->err_len, "%s: out of memory", path);
	return -ENOMEM;
}

/*
 * Refuse fields the contract does not have: a misspelt "methd" would
 * otherwise be ignored and widen the rule to every method.
 */
static int check_fields(struct loader *ld, const char *path, const json_t *obj,
			const char *const *allowed)
{
	/* jansson's iteration API is not const-qualified; it does not write. */
	json_t *object = (json_t *)obj;
	char field[PATH_MAX_LEN];

	for (void *it = json_object_iter(object); it;
	     it = json_object_iter_next(object, it)) {
		const char *key = json_object_iter_key(it);
		const char *const *name;

		for (name = allowed; *name; name++)
			if (!strcmp(*name, key))
				break;
		if (!*name) {
			path_field(field, path, key);
			return load_error(ld, field, "unknown field");
		}
	}
	return 0;
}

/* An object of the contract: with no other fields than allowed. */
static int load_object(struct loader *ld, const char *path, const json_t *value,
		       const char *const *allowed)
{
	if (!json_is_object(value))
		return load_error(ld, path, "expected an object");
	return check_fields(ld, path, value, allowed);
}

/*
 * The element array (n zeroed elements of size bytes, in the arena) and
 * the index of one top-level list; NULL after reporting ENOMEM under name.
 */
static void *load_table(struct loader *ld, const char *name, size_t n, size_t size,
			struct l7_index *index)
{
	void *items = arena__alloc(&ld->policy->arena, n, size);

	if (!items || index__init(index, n)) {
		load_nomem(ld, name);
		return NULL;
	}
	return items;
}

/* How a field may be left out of its object. */
enum field_presence {
	FIELD_REQUIRED, /* absent: "missing" */
	FIELD_OPTIONAL, /* absent: no value (null is a wrong type) */
	FIELD_NULLABLE, /* absent or null: no value */
};

#define FIELD_TYPE(t) (1u << (t))

/*
 * The skeleton of every typed field: key of obj, whose path goes into
 * field (PATH_MAX_LEN bytes) for the caller's own checks. A value left
 * out as presence allows gives *out = NULL; otherwise its JSON type must
 * be one of types (FIELD_TYPE bits), or the error says `expected`.
 */
static int field_get(struct loader *ld, const char *path, const json_t *obj,
		     const char *key, enum field_presence presence, unsigned int types,
		     const char *expected, char *field, const json_t **out)
{
	const json_t *value = json_object_get(obj, key);

	path_field(field, path, key);
	*out = NULL;
	if (!value && presence != FIELD_REQUIRED)
		return 0;
	if (value && json_is_null(value) && presence == FIELD_NULLABLE)
		return 0;
	if (!value)
		return load_error(ld, field, "missing");
	if (!(types & FIELD_TYPE(json_typeof(value))))
		return load_error(ld, field, "%s", expected);
	*out = value;
	return 0;
}

/* A required integer field in [min, max]. */
static int field_uint(struct loader *ld, const char *path, const json_t *obj,
		      const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	char field[PATH_MAX_LEN], expected[64];
	const json_t *value;
	json_int_t n;
	int err;

	snprintf(expected, sizeof(expected), "expected an integer %llu..%llu",
		 (unsigned long long)min, (unsigned long long)max);
	err = field_get(ld, path, obj, key, FIELD_REQUIRED, FIELD_TYPE(JSON_INTEGER),
			expected, field, &value);
	if (err)
		return err;
	n = json_integer_value(value);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return load_error(ld, field, "%lld is out of range %llu..%llu",
				  (long long)n, (unsigned long long)min,
				  (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static int field_uint32(struct loader *ld, const char *path, const json_t *obj,
			const char *key, uint32_t *out)
{
	uint64_t n;
	int err = field_uint(ld, path, obj, key, 0, UINT32_MAX, &n);

	if (!err)
		*out = (uint32_t)n;
	return err;
}

/*
 * An optional boolean: absent gives default_value; anything but true or
 * false (null, 0, "true") is refused, so a mistyped flag cannot silently
 * mean its default.
 */
static int field_bool(struct loader *ld, const char *path, const json_t *obj,
		      const char *key, bool default_value, bool *out)
{
	char field[PATH_MAX_LEN];
	const json_t *value;
	int err;

	err = field_get(ld, path, obj, key, FIELD_OPTIONAL,
			FIELD_TYPE(JSON_TRUE) | FIELD_TYPE(JSON_FALSE),
			"expected true or false", field, &value);
	if (err)
		return err;
	*out = value ? json_is_true(value) : default_value;
	return 0;
}

/*
 * A string field. With nullable, null or absent give *out = NULL;
 * otherwise the field is required.
 */
static int field_string(struct loader *ld, const char *path, const json_t *obj,
			const char *key, bool nullable, const json_t **out)
{
	char field[PATH_MAX_LEN];
	int err;

	err = field_get(ld, path, obj, key, nullable ? FIELD_NULLABLE : FIELD_REQUIRED,
			FIELD_TYPE(JSON_STRING),
			nullable ? "expected a string or null" : "expected a string",
			field, out);
	if (err || !*out)
		return err;
	/* Addresses and names are read as C strings: no hidden tail. */
	if (strlen(json_string_value(*out)) != json_string_length(*out)) {
		*out = NULL;
		return load_error(ld, field, "contains a NUL byte");
	}
	return 0;
}

/* An array field; with optional, null or absent give *out = NULL. */
static int field_array(struct loader *ld, const char *path, const json_t *obj,
		       const char *key, bool optional, const json_t **out)
{
	char field[PATH_MAX_LEN];

	return field_get(ld, path, obj, key, optional ? FIELD_NULLABLE : FIELD_REQUIRED,
			 FIELD_TYPE(JSON_ARRAY),
			 optional ? "expected an array or null" : "expected an array",
			 field, out);
}

static uint64_t fnv1a64(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/*
 * Does pattern match exactly itself and nothing else? True when it has no
 * character PCRE2 treats specially outside a class. Options can only be
 * turned on from inside the pattern with "(" ("(?i)", "(*UTF)"), and we
 * compile without PCRE2_EXTENDED or caseless, so such a pattern anchored at
 * both ends is byte equality. ']' and '}' are literal in PCRE2 but stay on
 * the regex path: the fast path need not be clever.
 */
static bool pattern_is_literal(const char *pattern, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr("\\^$.|?*+()[]{}", pattern[i]))
			return false;
	return true;
}

/*
 * Compile pattern (or reuse an identical one of this snapshot) into m.
 *
 * Anchoring uses PCRE2_ANCHORED | PCRE2_ENDANCHORED rather than wrapping the
 * text in "^(?:...)$": the options apply to the match as a whole, so
 * "GET|POST" needs every alternative to span the subject, just as the
 * wrapper would; but they also keep "$" from matching before a final
 * newline ("/v1\n" against "/v1"), cannot be undone by the pattern's own
 * text (a trailing "\", an unterminated "\Q" or a "#" comment under "(?x)"
 * would swallow the wrapper's ")$"), and leave error offsets pointing into
 * the pattern the author wrote.
 */
static int matcher_compile(struct loader *ld, const char *path, const char *pattern,
			   size_t len, struct l7_matcher *m)
{
	struct l7_policy *p = ld->policy;
	uint64_t hash = fnv1a64(pattern, len);
	struct l7_regex *regex;
	PCRE2_SIZE error_offset;
	pcre2_code *code;
	uint32_t cached;
	int error_code, err;

	if (l7_index__find(&ld->regex_cache, hash, len, &cached) &&
	    !memcmp(p->regexes[cached].pattern, pattern, len)) {
		m->kind = L7_MATCHER_REGEX;
		m->code = p->regexes[cached].code;
		m->jit = p->regexes[cached].jit;
		return 0;
	}
	if (p->regex_count == p->regex_capacity) {
		size_t capacity = p->regex_capacity ? p->regex_capacity * 2 : 16;
		struct l7_regex *grown = realloc(p->regexes, capacity * sizeof(*grown));

		if (!grown)
			return load_nomem(ld, path);
		p->regexes = grown;
		p->regex_capacity = capacity;
	}
	code = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_ANCHORED | PCRE2_ENDANCHORED,
			     &error_code, &error_offset, NULL);
	if (!code) {
		PCRE2_UCHAR message[256];

		if (pcre2_get_error_message(error_code, message, sizeof(message)) < 0)
			snprintf((char *)message, sizeof(message), "error %d",
				 error_code);
		return load_error(ld, path, "regex error at offset %zu: %s",
				  (size_t)error_offset, (const char *)message);
	}
	regex = &p->regexes[p->regex_count++];
	regex->code = code; /* owned by the snapshot from here on */
	/*
	 * JIT is an optimisation: where it is unavailable (not built in, or no
	 * executable memory, as under some sanitizer or SELinux setups)
	 * pcre2_jit_compile fails and pcre2_match interprets the same code.
	 */
	regex->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	regex->len = len;
	regex->pattern = arena__strndup(&p->arena, pattern, len);
	if (!regex->pattern)
		return load_nomem(ld, path);
	/* -EEXIST is a hash collision between two patterns: just no sharing. */
	err = index__insert(&ld->regex_cache, hash, len, (uint32_t)(p->regex_count - 1),
			    NULL);
	if (err == -ENOMEM)
		return load_nomem(ld, path);

	m->kind = L7_MATCHER_REGEX;
	m->code = code;
	m->jit = regex->jit;
	return 0;
}

/* method / path / host: null or absent match anything (L7_MATCHER_ANY). */
static int load_matcher(struct loader *ld, const char *path, const json_t *rule,
			const char *key, size_t request_field, struct l7_matcher *m)
{
	char field[PATH_MAX_LEN];
	const json_t *value;
	const char *text;
	size_t len;
	int err;

	m->field = request_field;
	err = field_string(ld, path, rule, key, true, &value);
	if (err)
		return err;
	if (!value) {
		m->kind = L7_MATCHER_ANY;
		return 0;
	}
	path_field(field, path, key);
	text = json_string_value(value);
	len = json_string_length(value);
	if (pattern_is_literal(text, len)) {
		m->kind = L7_MATCHER_LITERAL;
		m->len = len;
		m->literal = arena__strndup(&ld->policy->arena, text, len);
		return m->literal ? 0 : load_nomem(ld, field);
	}
	return matcher_compile(ld, field, text, len, m);
}

static int load_header(struct loader *ld, const char *path, const json_t *json,
		       struct l7_header_match *h)
{
	static const char *const fields[] = {"name", "value", NULL};
	struct l7_arena *arena = &ld->policy->arena;
	const json_t *name, *value;
	char field[PATH_MAX_LEN];
	int err;

	err = load_object(ld, path, json, fields);
	if (!err)
		err = field_string(ld, path, json, "name", false, &name);
	if (!err)
		err = field_string(ld, path, json, "value", true, &value);
	if (err)
		return err;
	h->name_len = json_string_length(name);
	if (!h->name_len) {
		path_field(field, path, "name");
		return load_error(ld, field, "empty header name");
	}
	h->name = arena__strndup(arena, json_string_value(name), h->name_len);
	if (!h->name)
		return load_nomem(ld, path);
	if (value) {
		h->value_len = json_string_length(value);
		h->value = arena__strndup(arena, json_string_value(value), h->value_len);
		if (!h->value)
			return load_nomem(ld, path);
	}
	return 0;
}

/*
 * The fields are ANDed, so their order is free: cheapest first. A literal
 * usually rejects in a byte or two, a regex costs a JIT call, and "any"
 * needs no test at all.
 */
static void rule_order_matchers(struct l7_rule *rule, const struct l7_matcher *fields[3])
{
	static const enum l7_matcher_kind order[] = {L7_MATCHER_LITERAL,
						     L7_MATCHER_REGEX};

	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < 3; i++)
			if (fields[i]->kind == order[k])
				rule->matchers[rule->matcher_count++] = *fields[i];
}

static int load_rule(struct loader *ld, const char *path, const json_t *json,
		     struct l7_rule *rule)
{
	static const char *const fields[] = {"method",	"path",	  "host",
					     "headers", "cookie", NULL};
	struct l7_matcher method = {0}, target = {0}, host = {0};
	const json_t *headers = NULL;
	char item[PATH_MAX_LEN];
	struct l7_header_match *list;
	size_t i;
	int err;

	err = load_object(ld, path, json, fields);
	if (!err)
		err = load_matcher(ld, path, json, "method",
				   offsetof(struct l7_request, method), &method);
	if (!err)
		err = load_matcher(ld, path, json, "path",
				   offsetof(struct l7_request, path), &target);
	if (!err)
		err = load_matcher(ld, path, json, "host",
				   offsetof(struct l7_request, host), &host);
	if (!err)
		err = field_array(ld, path, json, "headers", true, &headers);
	if (!err)
		err = field_uint32(ld, path, json, "cookie", &rule->cookie);
	if (err)
		return err;
	rule_order_matchers(rule, (const struct l7_matcher *[]){&method, &target, &host});
	if (!headers)
		return 0;

	list = arena__alloc(&ld->policy->arena, json_array_size(headers), sizeof(*list));
	if (!list)
		return load_nomem(ld, path);
	for (i = 0; i < json_array_size(headers); i++) {
		path_item(item, path, "headers", i);
		err = load_header(ld, item, json_array_get(headers, i), &list[i]);
		if (err)
			return err;
	}
	rule->headers = list;
	rule->header_count = i;
	return 0;
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int load_exempt(struct loader *ld, const char *path, const json_t *list,
		       struct l7_entry *entry)
{
	char item[PATH_MAX_LEN];
	uint32_t *ids;
	size_t i, n = json_array_size(list);

	ids = arena__alloc(&ld->policy->arena, n, sizeof(*ids));
	if (!ids)
		return load_nomem(ld, path);
	for (i = 0; i < n; i++) {
		const json_t *id = json_array_get(list, i);

		path_item(item, path, "exempt", i);
		if (!json_is_integer(id) || json_integer_value(id) < 0 ||
		    json_integer_value(id) > UINT32_MAX)
			return load_error(
			    ld, item, "expected an identity (integer 0..%u)", UINT32_MAX);
		ids[i] = (uint32_t)json_integer_value(id);
	}
	qsort(ids, n, sizeof(*ids), compare_u32);
	entry->exempt = ids;
	entry->exempt_count = n;
	return 0;
}

/* "ingress" or "egress" at field, into *dir. */
static int load_direction(struct loader *ld, const char *path, const json_t *direction,
			  uint8_t *dir)
{
	char field[PATH_MAX_LEN];

	if (!strcmp(json_string_value(direction), "ingress")) {
		*dir = WARDEN_DIR_INGRESS;
		return 0;
	}
	if (!strcmp(json_string_value(direction), "egress")) {
		*dir = WARDEN_DIR_EGRESS;
		return 0;
	}
	path_field(field, path, "direction");
	return load_error(ld, field, "expected \"ingress\" or \"egress\", not \"%s\"",
			  json_string_value(direction));
}

/*
 * One l7[] element. exempt is accepted on any entry but only the any-peer
 * (identity 0) entry's list has a meaning, so only that one is consulted.
 */
static int load_entry(struct loader *ld, const char *path, const json_t *json, size_t pos)
{
	static const char *const fields[] = {"endpoint", "direction", "port", "identity",
					     "exempt",	 "rules",     NULL};
	struct l7_entry *entry = &ld->set->entry_list[pos];
	uint32_t endpoint_id, identity, previous;
	const json_t *direction, *exempt, *rules;
	char field[PATH_MAX_LEN];
	struct l7_rule *rule_list;
	uint8_t dir;
	uint64_t port;
	size_t i;
	int err;

	err = load_object(ld, path, json, fields);
	if (!err)
		err = field_uint32(ld, path, json, "endpoint", &endpoint_id);
	if (!err)
		err = field_string(ld, path, json, "direction", false, &direction);
	if (!err)
		err = field_uint(ld, path, json, "port", 1, UINT16_MAX, &port);
	if (!err)
		err = field_uint32(ld, path, json, "identity", &identity);
	if (!err)
		err = field_array(ld, path, json, "exempt", true, &exempt);
	if (!err)
		err = field_array(ld, path, json, "rules", false, &rules);
	if (err)
		return err;

	err = load_direction(ld, path, direction, &dir);
	if (err)
		return err;
	if (exempt) {
		err = load_exempt(ld, path, exempt, entry);
		if (err)
			return err;
	}

	rule_list =
	    arena__alloc(&ld->policy->arena, json_array_size(rules), sizeof(*rule_list));
	if (!rule_list)
		return load_nomem(ld, path);
	for (i = 0; i < json_array_size(rules); i++) {
		path_item(field, path, "rules", i);
		err = load_rule(ld, field, json_array_get(rules, i), &rule_list[i]);
		if (err)
			return err;
	}
	entry->rules = rule_list;
	entry->rule_count = i;

	err =
	    index__insert(&ld->set->entries, l7_entry_key_a(endpoint_id, identity),
			  l7_entry_key_b(dir, (uint16_t)port), (uint32_t)pos, &previous);
	if (err == -EEXIST)
		return load_error(ld, path,
				  "duplicate of l7[%u] (same endpoint, direction, port "
				  "and identity)",
				  previous);
	if (err)
		return load_nomem(ld, path);
	return 0;
}

/* base: "" for the document's own lists, "previous" for the previous set. */
static int load_l7(struct loader *ld, const char *base, const json_t *list)
{
	char path[PATH_MAX_LEN];
	size_t n = json_array_size(list);
	int err;

	ld->set->entry_list =
	    load_table(ld, "l7", n, sizeof(struct l7_entry), &ld->set->entries);
	if (!ld->set->entry_list)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		path_item(path, base, "l7", i);
		err = load_entry(ld, path, json_array_get(list, i), i);
		if (err)
			return err;
	}
	return 0;
}

/*
 * lifted[]: keys (endpoint, direction, port, identity) whose L7 restriction
 * a revision lifted; "since" is that revision (for people, not matched).
 * Absent or null: none.
 */
static int load_lifted(struct loader *ld, const char *base, const json_t *list)
{
	static const char *const fields[] = {"endpoint", "direction", "port",
					     "identity", "since",     NULL};
	char path[PATH_MAX_LEN];
	size_t n = list ? json_array_size(list) : 0;
	int err;

	err = index__init(&ld->set->lifted, n);
	if (err)
		return load_nomem(ld, "lifted");
	for (size_t i = 0; i < n; i++) {
		const json_t *json = json_array_get(list, i), *direction;
		uint32_t endpoint_id, identity;
		uint64_t port, since;
		uint8_t dir;

		path_item(path, base, "lifted", i);
		err = load_object(ld, path, json, fields);
		if (!err)
			err = field_uint32(ld, path, json, "endpoint", &endpoint_id);
		if (!err)
			err =
			    field_string(ld, path, json, "direction", false, &direction);
		if (!err)
			err = field_uint(ld, path, json, "port", 1, UINT16_MAX, &port);
		if (!err)
			err = field_uint32(ld, path, json, "identity", &identity);
		if (!err)
			err = field_uint(ld, path, json, "since", 0, INT64_MAX, &since);
		if (!err)
			err = load_direction(ld, path, direction, &dir);
		if (err)
			return err;
		err =
		    index__insert(&ld->set->lifted, l7_entry_key_a(endpoint_id, identity),
				  l7_entry_key_b(dir, (uint16_t)port), 0, NULL);
		if (err == -EEXIST)
			return load_error(ld, path, "duplicate key");
		if (err)
			return load_nomem(ld, path);
	}
	return 0;
}

/* One generation of rules: "l7" (required) and "lifted" of obj into set. */
static int load_rule_set(struct loader *ld, const char *base, const json_t *obj,
			 struct l7_rule_set *set)
{
	const json_t *l7, *lifted;
	int err;

	ld->set = set;
	/*
	 * "l7" is required even when empty: a document that lost it would
	 * otherwise load as "no L7 rules anywhere".
	 */
	err = field_array(ld, base, obj, "l7", false, &l7);
	if (!err)
		err = field_array(ld, base, obj, "lifted", true, &lifted);
	if (!err)
		err = load_l7(ld, base, l7);
	if (!err)
		err = load_lifted(ld, base, lifted);
	return err;
}

/*
 * The proxy judges IPv4 traffic only, so IPv6 prefixes (valid in the
 * document) are checked and skipped.
 */
static int load_ipcache(struct loader *ld, const json_t *list)
{
	static const char *const fields[] = {"prefix", "identity", NULL};
	struct l7_policy *p = ld->policy;
	char path[PATH_MAX_LEN], field[PATH_MAX_LEN];
	uint64_t lengths = 0; /* bit n: a /n prefix is present */
	int err;

	err = index__init(&p->ipcache, json_array_size(list));
	if (err)
		return load_nomem(ld, "ipcache");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *json = json_array_get(list, i), *text;
		struct policy_prefix prefix;
		uint32_t identity, addr;

		path_item(path, "", "ipcache", i);
		err = load_object(ld, path, json, fields);
		if (!err)
			err = field_string(ld, path, json, "prefix", false, &text);
		if (!err)
			err = field_uint32(ld, path, json, "identity", &identity);
		if (err)
			return err;
		path_field(field, path, "prefix");
		if (policy_prefix__parse(json_string_value(text), &prefix))
			return load_error(
			    ld, field,
			    "\"%s\" is not a prefix (address/length, host bits "
			    "clear)",
			    json_string_value(text));
		if (prefix.family != 4)
			continue;
		addr = (uint32_t)prefix.addr[0] << 24 | (uint32_t)prefix.addr[1] << 16 |
		       (uint32_t)prefix.addr[2] << 8 | prefix.addr[3];
		err = index__insert(&p->ipcache, (uint64_t)prefix.len << 32 | addr, 0,
				    identity, NULL);
		if (err == -EEXIST)
			return load_error(ld, field, "duplicate prefix %s",
					  json_string_value(text));
		if (err)
			return load_nomem(ld, field);
		lengths |= 1ull << prefix.len;
	}
	for (int len = 32; len >= 0; len--)
		if (lengths & (1ull << len))
			p->ipcache_lengths[p->ipcache_length_count++] = (uint8_t)len;
	return 0;
}

/* Labels are joined into one string here so the access log never builds one. */
static int load_identities(struct loader *ld, const json_t *list)
{
	static const char *const fields[] = {"id", "labels", NULL};
	struct l7_policy *p = ld->policy;
	char path[PATH_MAX_LEN], item[PATH_MAX_LEN];
	size_t n = json_array_size(list);
	int err;

	p->identity_labels =
	    load_table(ld, "identities", n, sizeof(*p->identity_labels), &p->identities);
	if (!p->identity_labels)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *json = json_array_get(list, i), *labels;
		size_t total = 0, j;
		uint32_t id, previous;
		char *joined;

		path_item(path, "", "identities", i);
		err = load_object(ld, path, json, fields);
		if (!err)
			err = field_uint32(ld, path, json, "id", &id);
		if (!err)
			err = field_array(ld, path, json, "labels", false, &labels);
		if (err)
			return err;
		for (j = 0; j < json_array_size(labels); j++) {
			const json_t *label = json_array_get(labels, j);

			if (!json_is_string(label) || strlen(json_string_value(label)) !=
							  json_string_length(label)) {
				path_item(item, path, "labels", j);
				return load_error(ld, item,
						  "expected a string (without NUL)");
			}
			total += json_string_length(label) + 1;
		}
		joined = arena__alloc(&p->arena, total + 1, 1); /* zeroed: terminated */
		if (!joined)
			return load_nomem(ld, path);
		for (j = 0, total = 0; j < json_array_size(labels); j++) {
			const json_t *label = json_array_get(labels, j);

			if (j)
				joined[total++] = ',';
			memcpy(joined + total, json_string_value(label),
			       json_string_length(label));
			total += json_string_length(label);
		}
		p->identity_labels[i] = joined;
		err = index__insert(&p->identities, id, 0, (uint32_t)i, &previous);
		if (err == -EEXIST) {
			path_field(item, path, "id");
			return load_error(ld, item, "identity %u is also identities[%u]",
					  id, previous);
		}
		if (err)
			return load_nomem(ld, path);
	}
	return 0;
}

static int load_endpoints(struct loader *ld, const json_t *list)
{
	static const char *const fields[] = {"id",	 "name",  "ipv4",
					     "identity", "audit", NULL};
	struct l7_policy *p = ld->policy;
	char path[PATH_MAX_LEN], field[PATH_MAX_LEN];
	size_t n = json_array_size(list);
	int err;

	p->endpoint_list =
	    load_table(ld, "endpoints", n, sizeof(*p->endpoint_list), &p->endpoints);
	if (!p->endpoint_list)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *json = json_array_get(list, i), *name, *ipv4;
		struct l7_endpoint *ep = &p->endpoint_list[i];
		uint32_t previous;

		path_item(path, "", "endpoints", i);
		err = load_object(ld, path, json, fields);
		if (!err)
			err = field_uint32(ld, path, json, "id", &ep->id);
		if (!err)
			err = field_string(ld, path, json, "name", false, &name);
		if (!err)
			err = field_string(ld, path, json, "ipv4", false, &ipv4);
		if (!err)
			err = field_uint32(ld, path, json, "identity", &ep->identity);
		if (!err)
			err = field_bool(ld, path, json, "audit", false, &ep->audit);
		if (err)
			return err;
		path_field(field, path, "ipv4");
		if (inet_pton(AF_INET, json_string_value(ipv4), &ep->ipv4) != 1)
			return load_error(ld, field, "\"%s\" is not an IPv4 address",
					  json_string_value(ipv4));
		ep->name = arena__strndup(&p->arena, json_string_value(name),
					  json_string_length(name));
		if (!ep->name)
			return load_nomem(ld, path);
		err = index__insert(&p->endpoints, ep->ipv4, 0, (uint32_t)i, &previous);
		if (err == -EEXIST)
			return load_error(ld, field,
					  "%s is also the address of endpoints[%u]",
					  json_string_value(ipv4), previous);
		if (err)
			return load_nomem(ld, path);
	}
	return 0;
}

static int load_document(struct loader *ld, const json_t *doc)
{
	static const char *const fields[] = {"revision",  "ipcache", "identities",
					     "endpoints", "l7",	     "lifted",
					     "previous",  NULL};
	static const char *const previous_fields[] = {"l7", "lifted", NULL};
	const json_t *ipcache, *identities, *endpoints, *previous;
	char field[PATH_MAX_LEN];
	int err;

	if (!json_is_object(doc))
		return load_error(ld, "(document)", "expected an object");
	err = check_fields(ld, "", doc, fields);
	if (!err)
		err = field_uint(ld, "", doc, "revision", 0, INT64_MAX,
				 &ld->policy->revision);
	/* Every list is required, even when empty (see load_rule_set). */
	if (!err)
		err = field_array(ld, "", doc, "ipcache", false, &ipcache);
	if (!err)
		err = field_array(ld, "", doc, "identities", false, &identities);
	if (!err)
		err = field_array(ld, "", doc, "endpoints", false, &endpoints);
	if (!err)
		err = field_get(ld, "", doc, "previous", FIELD_NULLABLE,
				FIELD_TYPE(JSON_OBJECT), "expected an object or null",
				field, &previous);
	if (!err)
		err = load_ipcache(ld, ipcache);
	if (!err)
		err = load_identities(ld, identities);
	if (!err)
		err = load_endpoints(ld, endpoints);
	if (!err)
		err = load_rule_set(ld, "", doc, &ld->policy->current);
	if (!err && previous) {
		ld->policy->has_previous = true;
		err = load_object(ld, "previous", previous, previous_fields);
		if (!err)
			err = load_rule_set(ld, "previous", previous,
					    &ld->policy->previous);
	}
	return err;
}

int l7_policy__load(const json_t *doc, struct l7_policy **out, char *err, size_t err_len)
{
	struct loader ld = {.err = err, .err_len = err_len};
	int ret;

	if (err && err_len)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	*out = NULL;
	ld.policy = calloc(1, sizeof(*ld.policy));
	if (!ld.policy)
		return load_nomem(&ld, "(document)");
	ld.policy->refcount = 1;
	ret = index__init(&ld.regex_cache, 16);
	if (ret) {
		ret = load_nomem(&ld, "(document)");
		goto cleanup;
	}
	ret = load_document(&ld, doc);
	if (ret)
		goto cleanup;
	*out = ld.policy;
	ld.policy = NULL;
cleanup:
	index__free(&ld.regex_cache);
	l7_policy_free(ld.policy);
	return ret;
}
