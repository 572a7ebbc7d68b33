// SPDX-License-Identifier: Apache-2.0
/*
 * Labels and label sets: Kubernetes key/value validation, parsing of
 * Cilium's "source:key=value" form, and sets kept sorted by (source, key)
 * so that comparison and lookup are cheap and output is deterministic.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden/errbuf.h"
#include "warden/labels.h"

#define LABEL_NAME_MAX 63
#define LABEL_PREFIX_MAX 253
#define DNS_LABEL_MAX 63

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * The name part of a qualified name, also the format of a label value:
 * ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 characters. what
 * ("name" or "value") goes into the message. len bytes of s are checked
 * (s need not be terminated there).
 */
static int check_name(const char *s, size_t len, const char *what, const char *whole,
		      char *err, size_t err_len)
{
	size_t i;

	if (len == 0) {
		errbuf__printf(err, err_len, "label %s of \"%s\" is empty", what, whole);
		return -EINVAL;
	}
	if (len > LABEL_NAME_MAX) {
		errbuf__printf(
		    err, err_len,
		    "label %s is %zu characters long, at most %d are allowed (\"%s\")",
		    what, len, LABEL_NAME_MAX, whole);
		return -EINVAL;
	}
	if (!is_alnum(s[0]) || !is_alnum(s[len - 1])) {
		errbuf__printf(
		    err, err_len,
		    "label %s of \"%s\" must start and end with a letter or digit", what,
		    whole);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!is_alnum(c) && c != '-' && c != '_' && c != '.') {
			errbuf__printf(
			    err, err_len,
			    "label %s of \"%s\" contains '%c'; only letters, digits, "
			    "'-', '_' and '.' are allowed",
			    what, whole, c);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * A DNS-1123 subdomain: dot-separated labels of [a-z0-9-], each starting and
 * ending alphanumeric, at most 253 characters in total.
 */
static int check_prefix(const char *s, size_t len, const char *whole, char *err,
			size_t err_len)
{
	size_t i, start = 0;

	if (len == 0) {
		errbuf__printf(err, err_len,
			       "label key \"%s\" has an empty prefix before '/'", whole);
		return -EINVAL;
	}
	if (len > LABEL_PREFIX_MAX) {
		errbuf__printf(
		    err, err_len,
		    "label key prefix is %zu characters long, at most %d are allowed "
		    "(key \"%s\")",
		    len, LABEL_PREFIX_MAX, whole);
		return -EINVAL;
	}
	for (i = 0; i <= len; i++) {
		size_t part;

		if (i < len && s[i] != '.') {
			char c = s[i];

			if (!is_lower_alnum(c) && c != '-') {
				errbuf__printf(
				    err, err_len,
				    "prefix of label key \"%s\" contains '%c'; it "
				    "must be a lowercase DNS subdomain",
				    whole, c);
				return -EINVAL;
			}
			continue;
		}
		part = i - start;
		if (part == 0 || part > DNS_LABEL_MAX || !is_lower_alnum(s[start]) ||
		    !is_lower_alnum(s[i - 1])) {
			errbuf__printf(
			    err, err_len,
			    "prefix of label key \"%s\" is not a DNS subdomain "
			    "(dot-separated parts of a-z, 0-9 and '-', each starting "
			    "and ending with a letter or digit)",
			    whole);
			return -EINVAL;
		}
		start = i + 1;
	}
	return 0;
}

int label_key__validate(const char *key, char *err, size_t err_len)
{
	const char *slash;
	int ret;

	if (!key || !*key) {
		errbuf__printf(err, err_len, "label key is empty");
		return -EINVAL;
	}
	slash = strchr(key, '/');
	if (!slash)
		return check_name(key, strlen(key), "name", key, err, err_len);
	if (strchr(slash + 1, '/')) {
		errbuf__printf(err, err_len,
			       "label key \"%s\" contains more than one '/'", key);
		return -EINVAL;
	}
	ret = check_prefix(key, (size_t)(slash - key), key, err, err_len);
	if (ret)
		return ret;
	return check_name(slash + 1, strlen(slash + 1), "name", key, err, err_len);
}

int label_value__validate(const char *value, char *err, size_t err_len)
{
	if (!value || !*value)
		return 0;
	return check_name(value, strlen(value), "value", value, err, err_len);
}

/*
 * Sources are short identifiers ("k8s", "reserved", "cidr"); anything else
 * in them would make "source:key" ambiguous.
 */
static int check_source(const char *s, size_t len, const char *whole, char *err,
			size_t err_len)
{
	size_t i;

	if (len == 0) {
		errbuf__printf(err, err_len,
			       "label \"%s\" has an empty source before ':'", whole);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') {
			errbuf__printf(err, err_len, "label \"%s\" has an invalid source",
				       whole);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Only Kubernetes-style labels are validated as such: "cidr:10.0.0.0/8" or
 * a future "fqdn:*.example.com" have keys of their own shape.
 */
static bool source_is_k8s_like(const char *source)
{
	return !strcmp(source, LABEL_SOURCE_K8S) || !strcmp(source, LABEL_SOURCE_ANY);
}

int label__parse(const char *text, const char *default_source, struct label *out,
		 char *err, size_t err_len)
{
	const char *eq, *colon, *key;
	size_t key_len, source_len;
	struct label l = {0};
	int ret;

	if (!text || !out)
		return -EINVAL;
	if (!default_source)
		default_source = LABEL_SOURCE_K8S;

	/* Kubernetes keys cannot hold ':', so the first one before '=' ends
	 * the source; a ':' in a value is the value's business. */
	eq = strchr(text, '=');
	colon = memchr(text, ':', eq ? (size_t)(eq - text) : strlen(text));
	if (colon) {
		source_len = (size_t)(colon - text);
		ret = check_source(text, source_len, text, err, err_len);
		if (ret)
			return ret;
		key = colon + 1;
	} else {
		source_len = 0;
		key = text;
	}
	key_len = eq ? (size_t)(eq - key) : strlen(key);
	if (key_len == 0) {
		errbuf__printf(err, err_len, "label \"%s\" has an empty key", text);
		return -EINVAL;
	}

	l.source = colon ? strndup(text, source_len) : strdup(default_source);
	l.key = strndup(key, key_len);
	l.value = strdup(eq ? eq + 1 : "");
	if (!l.source || !l.key || !l.value) {
		label__free(&l);
		return -ENOMEM;
	}
	if (source_is_k8s_like(l.source)) {
		ret = label_key__validate(l.key, err, err_len);
		if (!ret)
			ret = label_value__validate(l.value, err, err_len);
		if (ret) {
			label__free(&l);
			return ret;
		}
	}
	*out = l;
	return 0;
}

void label__free(struct label *label)
{
	if (!label)
		return;
	free(label->source);
	free(label->key);
	free(label->value);
	label->source = label->key = label->value = NULL;
}

static int label_cmp(const char *source_a, const char *key_a, const char *source_b,
		     const char *key_b)
{
	int c = strcmp(source_a, source_b);

	return c ? c : strcmp(key_a, key_b);
}

/* Index of source+key, or where it would be inserted (*found false). */
static size_t label_set__search(const struct label_set *set, const char *source,
				const char *key, bool *found)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c =
		    label_cmp(set->items[mid].source, set->items[mid].key, source, key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int label_set__add(struct label_set *set, const char *source, const char *key,
		   const char *value)
{
	struct label l = {0};
	struct label *items;
	bool found;
	size_t pos;

	if (!set || !source || !key)
		return -EINVAL;
	if (!value)
		value = "";

	pos = label_set__search(set, source, key, &found);
	if (found) {
		char *v = strdup(value);

		if (!v)
			return -ENOMEM;
		free(set->items[pos].value);
		set->items[pos].value = v;
		return 0;
	}

	l.source = strdup(source);
	l.key = strdup(key);
	l.value = strdup(value);
	if (!l.source || !l.key || !l.value)
		goto nomem;
	items = realloc(set->items, (set->count + 1) * sizeof(*items));
	if (!items)
		goto nomem;
	set->items = items;
	memmove(&items[pos + 1], &items[pos], (set->count - pos) * sizeof(*items));
	items[pos] = l;
	set->count++;
	return 0;
nomem:
	label__free(&l);
	return -ENOMEM;
}

int label_set__remove(struct label_set *set, const char *source, const char *key)
{
	bool found;
	size_t pos;

	if (!set || !source || !key)
		return -EINVAL;
	pos = label_set__search(set, source, key, &found);
	if (!found)
		return -ENOENT;
	label__free(&set->items[pos]);
	memmove(&set->items[pos], &set->items[pos + 1],
		(set->count - pos - 1) * sizeof(*set->items));
	set->count--;
	return 0;
}

const struct label *label_set__find(const struct label_set *set, const char *source,
				    const char *key)
{
	bool found;
	size_t i, pos;

	if (!set || !key)
		return NULL;
	if (!source || !strcmp(source, LABEL_SOURCE_ANY)) {
		/* Sorted by source first, so a key can sit anywhere. */
		for (i = 0; i < set->count; i++)
			if (!strcmp(set->items[i].key, key))
				return &set->items[i];
		return NULL;
	}
	pos = label_set__search(set, source, key, &found);
	return found ? &set->items[pos] : NULL;
}

int label_set__copy(struct label_set *dst, const struct label_set *src)
{
	struct label_set tmp = {0};
	size_t i;

	if (!dst || !src)
		return -EINVAL;
	if (src->count) {
		tmp.items = calloc(src->count, sizeof(*tmp.items));
		if (!tmp.items)
			return -ENOMEM;
	}
	for (i = 0; i < src->count; i++) {
		struct label *l = &tmp.items[i];

		l->source = strdup(src->items[i].source);
		l->key = strdup(src->items[i].key);
		l->value = strdup(src->items[i].value ? src->items[i].value : "");
		tmp.count++;
		if (!l->source || !l->key || !l->value) {
			label_set__free(&tmp);
			return -ENOMEM;
		}
	}
	*dst = tmp;
	return 0;
}

bool label_set__equal(const struct label_set *a, const struct label_set *b)
{
	size_t i;

	if (a->count != b->count)
		return false;
	for (i = 0; i < a->count; i++) {
		const struct label *x = &a->items[i], *y = &b->items[i];

		if (strcmp(x->source, y->source) || strcmp(x->key, y->key) ||
		    strcmp(x->value, y->value))
			return false;
	}
	return true;
}

void label_set__free(struct label_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->count; i++)
		label__free(&set->items[i]);
	free(set->items);
	set->items = NULL;
	set->count = 0;
}

/*
 * All or nothing: the labels are parsed into a scratch set first, so a bad
 * label halfway through leaves set as it was. A key given twice is an error
 * rather than "last one wins", because that is nearly always a typo.
 */
int label_set__parse_list(struct label_set *set, const char *text, char *err,
			  size_t err_len)
{
	struct label_set tmp = {0};
	const char *p;
	size_t i;
	int ret = 0;

	if (!set || !text)
		return -EINVAL;

	p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return 0;

	p = text;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct label l;
		char *item;

		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (!len) {
			errbuf__printf(err, err_len, "empty label in list \"%s\"", text);
			ret = -EINVAL;
			goto out;
		}
		item = strndup(p, len);
		if (!item) {
			ret = -ENOMEM;
			goto out;
		}
		ret = label__parse(item, LABEL_SOURCE_K8S, &l, err, err_len);
		free(item);
		if (ret)
			goto out;
		if (label_set__find(&tmp, l.source, l.key)) {
			errbuf__printf(err, err_len,
				       "label \"%s:%s\" is given more than once",
				       l.source, l.key);
			label__free(&l);
			ret = -EINVAL;
			goto out;
		}
		ret = label_set__add(&tmp, l.source, l.key, l.value);
		label__free(&l);
		if (ret)
			goto out;
		if (!end)
			break;
		p = end + 1;
	}

	for (i = 0; i < tmp.count; i++) {
		ret = label_set__add(set, tmp.items[i].source, tmp.items[i].key,
				     tmp.items[i].value);
		if (ret)
			goto out;
	}
out:
	label_set__free(&tmp);
	return ret;
}

/* A label without value prints as "reserved:host", as Cilium prints it. */
size_t label_set__format(const struct label_set *set, char *buf, size_t len)
{
	size_t need = 0, i;

	if (len)
		buf[0] = '\0';
	for (i = 0; set && i < set->count; i++) {
		const struct label *l = &set->items[i];
		bool has_value = l->value && *l->value;
		int n;

		n = snprintf(need < len ? buf + need : NULL, need < len ? len - need : 0,
			     "%s%s:%s%s%s", i ? "," : "", l->source, l->key,
			     has_value ? "=" : "", has_value ? l->value : "");
		if (n > 0)
			need += (size_t)n;
	}
	return need;
}
