// SPDX-License-Identifier: Apache-2.0
/*
 * The policy parser's view of libyaml: diagnostics that name file, line
 * and field path, and typed access to document nodes with the decoding
 * rules Kubernetes applies (YAML 1.1 scalars, null = absent, strict types).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parse_internal.h"

/* --- field path --- */

size_t parse_ctx__push_key(struct parse_ctx *ctx, const char *key)
{
	size_t saved = ctx->path_len;
	int n;

	n = snprintf(ctx->path + ctx->path_len, sizeof(ctx->path) - ctx->path_len, "%s%s",
		     ctx->path_len ? "." : "", key);
	/* A path longer than the buffer is cut; the line still locates it. */
	if (n > 0)
		ctx->path_len += (size_t)n;
	if (ctx->path_len >= sizeof(ctx->path))
		ctx->path_len = sizeof(ctx->path) - 1;
	return saved;
}

size_t parse_ctx__push_index(struct parse_ctx *ctx, size_t index)
{
	size_t saved = ctx->path_len;
	int n;

	n = snprintf(ctx->path + ctx->path_len, sizeof(ctx->path) - ctx->path_len,
		     "[%zu]", index);
	if (n > 0)
		ctx->path_len += (size_t)n;
	if (ctx->path_len >= sizeof(ctx->path))
		ctx->path_len = sizeof(ctx->path) - 1;
	return saved;
}

void parse_ctx__restore(struct parse_ctx *ctx, size_t saved)
{
	ctx->path_len = saved;
	ctx->path[saved] = '\0';
}

/* --- diagnostics --- */

static void entry_fill(struct parse_ctx *ctx, struct policy_diag_entry *e,
		       const yaml_node_t *node, const char *fmt, va_list ap)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->file, sizeof(e->file), "%s", ctx->file ? ctx->file : "");
	e->document = ctx->document;
	if (node) {
		e->line = (int)node->start_mark.line + 1;
		e->column = (int)node->start_mark.column + 1;
	}
	snprintf(e->field, sizeof(e->field), "%s", ctx->path);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

int parse_ctx__error(struct parse_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	/* The first error is the one reported; later ones are consequences. */
	if (ctx->diag->failed)
		return -EINVAL;
	va_start(ap, fmt);
	entry_fill(ctx, &ctx->diag->error, node, fmt, ap);
	va_end(ap);
	ctx->diag->failed = true;
	return -EINVAL;
}

int parse_ctx__nomem(struct parse_ctx *ctx)
{
	parse_ctx__error(ctx, NULL, "out of memory");
	return -ENOMEM;
}

int parse_ctx__unsupported(struct parse_ctx *ctx, const yaml_node_t *node,
			   const char *fmt, ...)
{
	va_list ap;

	if (ctx->have_unsupported)
		return 0;
	va_start(ap, fmt);
	entry_fill(ctx, &ctx->unsupported, node, fmt, ap);
	va_end(ap);
	ctx->unsupported.unsupported = true;
	ctx->have_unsupported = true;
	return 0;
}

void parse_ctx__warn(struct parse_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
	struct policy_diag *diag = ctx->diag;
	va_list ap;

	if (diag->warning_count >= POLICY_DIAG_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	entry_fill(ctx, &diag->warnings[diag->warning_count], node, fmt, ap);
	va_end(ap);
	diag->warning_count++;
}

/* --- scalar resolution (YAML 1.1, as Kubernetes' go-yaml v2 does it) --- */

enum scalar_kind {
	SCALAR_STRING,
	SCALAR_NULL,
	SCALAR_BOOL,
	SCALAR_INT,
	SCALAR_FLOAT,
};

static const char *const yaml_true[] = {
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", NULL,
};
static const char *const yaml_false[] = {
    "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", NULL,
};
static const char *const yaml_null[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const yaml_float_words[] = {
    ".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
    "-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",	NULL,
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static const char *scalar_text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static bool is_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s) && *s != '_')
			return false;
	return true;
}

static bool text_is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return is_digits(s + 2, "0123456789abcdefABCDEF");
	if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		return is_digits(s + 2, "01");
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		return is_digits(s + 2, "01234567");
	return *s != '_' && is_digits(s, "0123456789");
}

static bool text_is_float(const char *s)
{
	bool mantissa = false;

	if (in_list(s, yaml_float_words))
		return true;
	if (*s == '-' || *s == '+')
		s++;
	while (*s >= '0' && *s <= '9') {
		s++;
		mantissa = true;
	}
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			s++;
			mantissa = true;
		}
	}
	if (!mantissa)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static enum scalar_kind scalar_resolve(const yaml_node_t *node)
{
	const char *tag = (const char *)node->tag;
	const char *s = scalar_text(node);

	/* An explicit tag decides (the default tag is the string one). */
	if (tag && !strcmp(tag, YAML_INT_TAG))
		return SCALAR_INT;
	if (tag && !strcmp(tag, YAML_BOOL_TAG))
		return SCALAR_BOOL;
	if (tag && !strcmp(tag, YAML_NULL_TAG))
		return SCALAR_NULL;
	if (tag && !strcmp(tag, YAML_FLOAT_TAG))
		return SCALAR_FLOAT;
	/* Quoted and block scalars are always strings. */
	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return SCALAR_STRING;
	if (in_list(s, yaml_null))
		return SCALAR_NULL;
	if (in_list(s, yaml_true) || in_list(s, yaml_false))
		return SCALAR_BOOL;
	if (text_is_int(s))
		return SCALAR_INT;
	if (text_is_float(s))
		return SCALAR_FLOAT;
	return SCALAR_STRING;
}

static const char *node_kind_name(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		switch (scalar_resolve(node)) {
		case SCALAR_NULL:
			return "null";
		case SCALAR_BOOL:
			return "a boolean";
		case SCALAR_INT:
			return "an integer";
		case SCALAR_FLOAT:
			return "a number";
		case SCALAR_STRING:
			return "a string";
		}
		break;
	default:
		break;
	}
	return "nothing";
}

/* --- node access --- */

int parse_node__line(const yaml_node_t *node)
{
	return node ? (int)node->start_mark.line + 1 : 0;
}

bool parse_node__is_null(const yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE &&
	       scalar_resolve(node) == SCALAR_NULL;
}

yaml_node_t *parse_map__get(struct parse_ctx *ctx, const yaml_node_t *map,
			    const char *key, yaml_node_t **key_node)
{
	yaml_node_pair_t *pair;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(scalar_text(k), key)) {
			if (key_node)
				*key_node = k;
			return yaml_document_get_node(ctx->doc, pair->value);
		}
	}
	return NULL;
}

yaml_node_t *parse_map__field(struct parse_ctx *ctx, const yaml_node_t *map,
			      const char *key)
{
	yaml_node_t *value = parse_map__get(ctx, map, key, NULL);

	return parse_node__is_null(value) ? NULL : value;
}

struct key_ref {
	const char *name;
	size_t index;
};

static int key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/*
 * The index of the first key (in document order) that repeats an earlier
 * one, or -1. Keys are known to be scalars. Large mappings (matchLabels can
 * be long) are sorted rather than compared pairwise; -2 on ENOMEM.
 */
static long find_duplicate(struct parse_ctx *ctx, const yaml_node_t *node)
{
	yaml_node_pair_t *pairs = node->data.mapping.pairs.start;
	size_t n = (size_t)(node->data.mapping.pairs.top - pairs), i, j;
	struct key_ref *refs;
	long first = -1;

	if (n <= 32) {
		for (i = 1; i < n; i++)
			for (j = 0; j < i; j++)
				if (!strcmp(scalar_text(yaml_document_get_node(
						ctx->doc, pairs[i].key)),
					    scalar_text(yaml_document_get_node(
						ctx->doc, pairs[j].key))))
					return (long)i;
		return -1;
	}
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return -2;
	for (i = 0; i < n; i++) {
		refs[i].name =
		    scalar_text(yaml_document_get_node(ctx->doc, pairs[i].key));
		refs[i].index = i;
	}
	qsort(refs, n, sizeof(*refs), key_ref_cmp);
	for (i = 1; i < n; i++)
		if (!strcmp(refs[i].name, refs[i - 1].name) &&
		    (first < 0 || (long)refs[i].index < first))
			first = (long)refs[i].index;
	free(refs);
	return first;
}

int parse_map__check(struct parse_ctx *ctx, const yaml_node_t *node,
		     const char *const *known, bool warn_unknown)
{
	yaml_node_pair_t *pair;
	size_t count;
	long dup;

	if (!node || node->type != YAML_MAPPING_NODE)
		return parse_ctx__error(ctx, node, "expected a mapping, got %s",
					node ? node_kind_name(node) : "nothing");
	/* Mappings reached again through aliases cost their size each time. */
	count = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	if (count > ctx->visit_budget)
		return parse_ctx__error(
		    ctx, node,
		    "document too large (more than %u items, counting "
		    "each alias expansion)",
		    PARSE_VISIT_BUDGET);
	ctx->visit_budget -= count;

	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);

		if (!k || k->type != YAML_SCALAR_NODE)
			return parse_ctx__error(ctx, k ? k : node,
						"mapping keys must be strings");
	}
	dup = find_duplicate(ctx, node);
	if (dup == -2)
		return parse_ctx__nomem(ctx);
	if (dup >= 0) {
		yaml_node_t *k = yaml_document_get_node(
		    ctx->doc, node->data.mapping.pairs.start[dup].key);

		parse_ctx__push_key(ctx, scalar_text(k));
		return parse_ctx__error(ctx, k, "duplicate field `%s`", scalar_text(k));
	}
	if (!known)
		return 0;
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);
		const char *name = scalar_text(k);
		size_t saved;

		if (in_list(name, known))
			continue;
		saved = parse_ctx__push_key(ctx, name);
		if (!warn_unknown)
			return parse_ctx__error(ctx, k, "unknown field `%s`", name);
		parse_ctx__warn(ctx, k, "unknown field `%s` is ignored", name);
		parse_ctx__restore(ctx, saved);
	}
	return 0;
}

int parse_seq__check(struct parse_ctx *ctx, const yaml_node_t *node, size_t *count)
{
	*count = 0;
	if (!node || parse_node__is_null(node))
		return 0;
	if (node->type != YAML_SEQUENCE_NODE)
		return parse_ctx__error(ctx, node, "expected a list, got %s",
					node_kind_name(node));
	*count =
	    (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	return 0;
}

int parse_seq__item(struct parse_ctx *ctx, const yaml_node_t *seq, size_t index,
		    yaml_node_t **item)
{
	if (!ctx->visit_budget)
		return parse_ctx__error(
		    ctx, seq,
		    "document too large (more than %u items, counting "
		    "each alias expansion)",
		    PARSE_VISIT_BUDGET);
	ctx->visit_budget--;
	*item = yaml_document_get_node(ctx->doc, seq->data.sequence.items.start[index]);
	if (!*item)
		return parse_ctx__error(ctx, seq, "malformed YAML document");
	return 0;
}

int parse_seq__each(struct parse_ctx *ctx, const char *key, const yaml_node_t *seq,
		    size_t count, parse_item_fn fn, void *arg)
{
	size_t saved = key ? parse_ctx__push_key(ctx, key) : ctx->path_len;
	int ret;

	for (size_t i = 0; i < count; i++) {
		size_t saved_item = parse_ctx__push_index(ctx, i);
		yaml_node_t *item;

		ret = parse_seq__item(ctx, seq, i, &item);
		if (!ret)
			ret = fn(ctx, item, i, arg);
		if (ret)
			return ret;
		parse_ctx__restore(ctx, saved_item);
	}
	parse_ctx__restore(ctx, saved);
	return 0;
}

void *parse_ctx__calloc(struct parse_ctx *ctx, size_t count, size_t size, int *ret)
{
	void *items;

	*ret = 0;
	if (!count)
		return NULL;
	items = calloc(count, size);
	if (!items)
		*ret = parse_ctx__nomem(ctx);
	return items;
}

int parse_node__string(struct parse_ctx *ctx, const yaml_node_t *node, const char **out)
{
	if (!node)
		return parse_ctx__error(ctx, NULL, "expected a string");
	if (node->type != YAML_SCALAR_NODE || scalar_resolve(node) != SCALAR_STRING)
		return parse_ctx__error(
		    ctx, node, "expected a string, got %s%s%s%s", node_kind_name(node),
		    node->type == YAML_SCALAR_NODE ? " `" : "",
		    node->type == YAML_SCALAR_NODE ? scalar_text(node) : "",
		    node->type == YAML_SCALAR_NODE ? "` (quote it to make it a string)"
						   : "");
	*out = scalar_text(node);
	return 0;
}

bool parse_node__is_int(const yaml_node_t *node)
{
	const char *s;

	if (!node || node->type != YAML_SCALAR_NODE || scalar_resolve(node) != SCALAR_INT)
		return false;
	s = scalar_text(node);
	if (*s == '-' || *s == '+')
		s++;
	/* Only plain decimal: "0x50" or "0o120" as a port helps nobody. */
	return *s && strspn(s, "0123456789") == strlen(s);
}

int parse_node__int(struct parse_ctx *ctx, const yaml_node_t *node, long long *out)
{
	long long v;
	char *end;

	if (!parse_node__is_int(node))
		return parse_ctx__error(
		    ctx, node, "expected an integer, got %s%s%s%s",
		    node ? node_kind_name(node) : "nothing",
		    node && node->type == YAML_SCALAR_NODE ? " `" : "",
		    node && node->type == YAML_SCALAR_NODE ? scalar_text(node) : "",
		    node && node->type == YAML_SCALAR_NODE ? "`" : "");
	errno = 0;
	v = strtoll(scalar_text(node), &end, 10);
	if (errno || *end)
		return parse_ctx__error(ctx, node, "integer `%s` is out of range",
					scalar_text(node));
	*out = v;
	return 0;
}

int parse_node__bool(struct parse_ctx *ctx, const yaml_node_t *node, bool *out)
{
	if (!node || node->type != YAML_SCALAR_NODE ||
	    scalar_resolve(node) != SCALAR_BOOL)
		return parse_ctx__error(ctx, node, "expected true or false, got %s",
					node ? node_kind_name(node) : "nothing");
	*out = in_list(scalar_text(node), yaml_true);
	return 0;
}

int parse_node__strdup(struct parse_ctx *ctx, const yaml_node_t *node, char **out)
{
	const char *s;
	int err;

	*out = NULL;
	if (!node)
		return 0;
	err = parse_node__string(ctx, node, &s);
	if (err)
		return err;
	*out = strdup(s);
	return *out ? 0 : parse_ctx__nomem(ctx);
}

/* --- shapes that repeat --- */

/*
 * Look up a field and push it onto the path. The value (NULL if absent or
 * null) is returned in *value and its item count in *count when it must be
 * a list. Errors if a list field is not a list.
 */
int parse_map__list(struct parse_ctx *ctx, const yaml_node_t *map, const char *name,
		    const yaml_node_t **value, size_t *count)
{
	size_t saved;
	int ret;

	*value = name ? parse_map__field(ctx, map, name) : NULL;
	*count = 0;
	if (!*value)
		return 0;
	saved = parse_ctx__push_key(ctx, name);
	ret = parse_seq__check(ctx, *value, count);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return 0;
}

static int check_string_item(struct parse_ctx *ctx, const yaml_node_t *item, size_t index,
			     void *arg)
{
	const char *s;

	(void)index;
	(void)arg;
	return parse_node__string(ctx, item, &s);
}

/* A list of strings, each checked for type only. */
int parse_seq__check_strings(struct parse_ctx *ctx, const yaml_node_t *node)
{
	size_t count;
	int ret;

	ret = parse_seq__check(ctx, node, &count);
	if (ret)
		return ret;
	return parse_seq__each(ctx, NULL, node, count, check_string_item, NULL);
}

/*
 * A mapping whose known fields are all strings (kafka, dns, fqdn entries):
 * checked for shape only, since Warden does not implement them yet.
 */
int parse_map__check_strings(struct parse_ctx *ctx, const yaml_node_t *node,
			     const char *const *known)
{
	yaml_node_pair_t *pair;
	int ret;

	ret = parse_map__check(ctx, node, known, false);
	if (ret)
		return ret;
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ctx->doc, pair->value);
		const char *s;
		size_t saved =
		    parse_ctx__push_key(ctx, (const char *)k->data.scalar.value);

		if (!parse_node__is_null(v)) {
			ret = parse_node__string(ctx, v, &s);
			if (ret)
				return ret;
		}
		parse_ctx__restore(ctx, saved);
	}
	return 0;
}

static int check_string_map_item(struct parse_ctx *ctx, const yaml_node_t *item,
				 size_t index, void *known)
{
	(void)index;
	return parse_map__check_strings(ctx, item, known);
}

/* A list of parse_map__check_strings() entries. */
int parse_seq__check_string_maps(struct parse_ctx *ctx, const yaml_node_t *node,
				 const char *const *known)
{
	size_t count;
	int ret;

	ret = parse_seq__check(ctx, node, &count);
	if (ret)
		return ret;
	return parse_seq__each(ctx, NULL, node, count, check_string_map_item,
			       (void *)known);
}
