// SPDX-License-Identifier: Apache-2.0
/*
 * Label selectors: Kubernetes LabelSelector semantics over Cilium's
 * source-qualified labels. A requirement whose source is "any" looks at the
 * key under every source; otherwise only the label with that exact source
 * counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden/selector.h"

static bool source_matches(const char *want, const char *have)
{
	return !strcmp(want, LABEL_SOURCE_ANY) || !strcmp(want, have);
}

static bool value_listed(const struct selector_requirement *req, const char *value)
{
	size_t i;

	for (i = 0; i < req->value_count; i++)
		if (!strcmp(req->values[i], value))
			return true;
	return false;
}

/*
 * With source "any" several labels may carry the key (k8s:app and
 * container:app). In holds if any of them has a listed value, NotIn if none
 * of them has; so NotIn and DoesNotExist hold when the key is absent, as in
 * Kubernetes.
 */
static bool requirement__matches(const struct selector_requirement *req,
				 const struct label_set *labels)
{
	bool present = false, listed = false;
	size_t i;

	for (i = 0; labels && i < labels->count; i++) {
		const struct label *l = &labels->items[i];

		if (strcmp(l->key, req->key) || !source_matches(req->source, l->source))
			continue;
		present = true;
		if (value_listed(req, l->value ? l->value : ""))
			listed = true;
	}

	switch (req->op) {
	case SELECTOR_OP_IN:
		return listed;
	case SELECTOR_OP_NOT_IN:
		return !listed;
	case SELECTOR_OP_EXISTS:
		return present;
	case SELECTOR_OP_DOES_NOT_EXIST:
		return !present;
	}
	return false;
}

bool selector__matches(const struct selector *sel, const struct label_set *labels)
{
	size_t i;

	if (!sel || sel->match_nothing)
		return false;
	for (i = 0; i < sel->count; i++)
		if (!requirement__matches(&sel->requirements[i], labels))
			return false;
	return true;
}

static void requirement__free(struct selector_requirement *req)
{
	size_t i;

	for (i = 0; i < req->value_count; i++)
		free(req->values[i]);
	free(req->values);
	free(req->source);
	free(req->key);
	memset(req, 0, sizeof(*req));
}

/* Split "source:key"; a key without a source gets "any". */
static int requirement__init(struct selector_requirement *req, const char *key,
			     enum selector_op op, const char *const *values,
			     size_t value_count)
{
	const char *colon = strchr(key, ':');
	size_t i;

	memset(req, 0, sizeof(*req));
	req->op = op;
	if (colon) {
		req->source = strndup(key, (size_t)(colon - key));
		req->key = strdup(colon + 1);
	} else {
		req->source = strdup(LABEL_SOURCE_ANY);
		req->key = strdup(key);
	}
	if (!req->source || !req->key)
		goto nomem;
	if (value_count) {
		req->values = calloc(value_count, sizeof(*req->values));
		if (!req->values)
			goto nomem;
	}
	for (i = 0; i < value_count; i++) {
		req->values[i] = strdup(values[i] ? values[i] : "");
		if (!req->values[i])
			goto nomem;
		req->value_count++;
	}
	return 0;
nomem:
	requirement__free(req);
	return -ENOMEM;
}

int selector__add(struct selector *sel, const char *key, enum selector_op op,
		  const char *const *values, size_t value_count)
{
	struct selector_requirement *reqs;
	const char *colon;
	int ret;

	if (!sel || !key)
		return -EINVAL;
	colon = strchr(key, ':');
	/* An empty source or key could never match anything meaningful. */
	if (!*key || colon == key || (colon && !colon[1]))
		return -EINVAL;
	switch (op) {
	case SELECTOR_OP_IN:
	case SELECTOR_OP_NOT_IN:
		/* Kubernetes: "values must be non-empty" for In and NotIn. */
		if (!value_count || !values)
			return -EINVAL;
		break;
	case SELECTOR_OP_EXISTS:
	case SELECTOR_OP_DOES_NOT_EXIST:
		if (value_count)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	reqs = realloc(sel->requirements, (sel->count + 1) * sizeof(*reqs));
	if (!reqs)
		return -ENOMEM;
	sel->requirements = reqs;
	ret = requirement__init(&reqs[sel->count], key, op, values, value_count);
	if (ret)
		return ret;
	sel->count++;
	return 0;
}

bool selector__has_key(const struct selector *sel, const char *key)
{
	const char *colon;
	size_t i;

	if (!sel || !key)
		return false;
	/* "k8s:io.kubernetes.pod.namespace" and the bare key are the same
	 * question: does the selector already constrain this key? */
	colon = strchr(key, ':');
	if (colon)
		key = colon + 1;
	for (i = 0; i < sel->count; i++)
		if (!strcmp(sel->requirements[i].key, key))
			return true;
	return false;
}

int selector__copy(struct selector *dst, const struct selector *src)
{
	struct selector tmp = {0};
	size_t i;

	if (!dst || !src)
		return -EINVAL;
	tmp.match_nothing = src->match_nothing;
	if (src->count) {
		tmp.requirements = calloc(src->count, sizeof(*tmp.requirements));
		if (!tmp.requirements)
			return -ENOMEM;
	}
	for (i = 0; i < src->count; i++) {
		const struct selector_requirement *r = &src->requirements[i];
		struct selector_requirement *d = &tmp.requirements[i];
		size_t j;

		d->op = r->op;
		d->source = strdup(r->source);
		d->key = strdup(r->key);
		tmp.count++;
		if (!d->source || !d->key)
			goto nomem;
		if (r->value_count) {
			d->values = calloc(r->value_count, sizeof(*d->values));
			if (!d->values)
				goto nomem;
		}
		for (j = 0; j < r->value_count; j++) {
			d->values[j] = strdup(r->values[j]);
			if (!d->values[j])
				goto nomem;
			d->value_count++;
		}
	}
	*dst = tmp;
	return 0;
nomem:
	selector__free(&tmp);
	return -ENOMEM;
}

void selector__free(struct selector *sel)
{
	size_t i;

	if (!sel)
		return;
	for (i = 0; i < sel->count; i++)
		requirement__free(&sel->requirements[i]);
	free(sel->requirements);
	sel->requirements = NULL;
	sel->count = 0;
	sel->match_nothing = false;
}

struct outbuf {
	char *buf;
	size_t len;
	size_t need;
};

static void outbuf__puts(struct outbuf *o, const char *s)
{
	size_t n = strlen(s);

	if (o->need < o->len) {
		size_t room = o->len - o->need - 1;
		size_t copy = n < room ? n : room;

		memcpy(o->buf + o->need, s, copy);
		o->buf[o->need + copy] = '\0';
	}
	o->need += n;
}

static void outbuf__values(struct outbuf *o, const struct selector_requirement *r)
{
	size_t i;

	outbuf__puts(o, " (");
	for (i = 0; i < r->value_count; i++) {
		if (i)
			outbuf__puts(o, ",");
		outbuf__puts(o, r->values[i]);
	}
	outbuf__puts(o, ")");
}

/*
 * kubectl's selector syntax with sources: "k8s:a=b", "any:c in (x,y)",
 * "k8s:d!=e", "k8s:f notin (x,y)", "any:g", "!any:h". The selector that
 * matches everything prints as "" and match_nothing as "<nothing>".
 */
size_t selector__format(const struct selector *sel, char *buf, size_t len)
{
	struct outbuf o = {.buf = buf, .len = len};
	size_t i;

	if (len)
		buf[0] = '\0';
	if (!sel)
		return 0;
	if (sel->match_nothing) {
		outbuf__puts(&o, "<nothing>");
		return o.need;
	}
	for (i = 0; i < sel->count; i++) {
		const struct selector_requirement *r = &sel->requirements[i];

		if (i)
			outbuf__puts(&o, ",");
		if (r->op == SELECTOR_OP_DOES_NOT_EXIST)
			outbuf__puts(&o, "!");
		outbuf__puts(&o, r->source);
		outbuf__puts(&o, ":");
		outbuf__puts(&o, r->key);
		switch (r->op) {
		case SELECTOR_OP_IN:
			if (r->value_count == 1) {
				outbuf__puts(&o, "=");
				outbuf__puts(&o, r->values[0]);
			} else {
				outbuf__puts(&o, " in");
				outbuf__values(&o, r);
			}
			break;
		case SELECTOR_OP_NOT_IN:
			if (r->value_count == 1) {
				outbuf__puts(&o, "!=");
				outbuf__puts(&o, r->values[0]);
			} else {
				outbuf__puts(&o, " notin");
				outbuf__values(&o, r);
			}
			break;
		case SELECTOR_OP_EXISTS:
		case SELECTOR_OP_DOES_NOT_EXIST:
			break;
		}
	}
	return o.need;
}
