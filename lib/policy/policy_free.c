// SPDX-License-Identifier: Apache-2.0
/*
 * Releasing the policy model, and formatting parser diagnostics. Every
 * release function accepts a partly built (zero-initialised) object, so
 * the parser can free whatever it had when an error stopped it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parse_internal.h"

static void http_rule__release(struct policy_http_rule *rule)
{
	size_t i;

	for (i = 0; i < rule->header_count; i++) {
		free(rule->headers[i].name);
		free(rule->headers[i].value);
		free(rule->headers[i].mismatch);
	}
	free(rule->headers);
	free(rule->method);
	free(rule->path);
	free(rule->host);
	memset(rule, 0, sizeof(*rule));
}

void policy_port_rule__release(struct policy_port_rule *pr)
{
	size_t i;

	for (i = 0; i < pr->port_count; i++)
		free(pr->ports[i].name);
	free(pr->ports);
	for (i = 0; i < pr->http_count; i++)
		http_rule__release(&pr->http[i]);
	free(pr->http);
	memset(pr, 0, sizeof(*pr));
}

void policy_rule__release(struct policy_rule *rule)
{
	size_t i;

	for (i = 0; i < rule->endpoint_count; i++)
		selector__free(&rule->endpoints[i]);
	free(rule->endpoints);
	for (i = 0; i < rule->cidr_count; i++)
		free(rule->cidrs[i].except);
	free(rule->cidrs);
	for (i = 0; i < rule->require_count; i++)
		selector__free(&rule->requires[i]);
	free(rule->requires);
	for (i = 0; i < rule->port_rule_count; i++)
		policy_port_rule__release(&rule->port_rules[i]);
	free(rule->port_rules);
	memset(rule, 0, sizeof(*rule));
}

void policy_spec__release(struct policy_spec *spec)
{
	size_t i;

	selector__free(&spec->subject);
	for (i = 0; i < spec->rule_count; i++)
		policy_rule__release(&spec->rules[i]);
	free(spec->rules);
	free(spec->description);
	memset(spec, 0, sizeof(*spec));
}

void policy__free(struct policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->spec_count; i++)
		policy_spec__release(&p->specs[i]);
	free(p->specs);
	free(p->name);
	free(p->namespace);
	free(p->file);
	free(p->source);
	memset(p, 0, sizeof(*p));
}

void policy_set__free(struct policy_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->count; i++)
		policy__free(&set->items[i]);
	free(set->items);
	set->items = NULL;
	set->count = 0;
}

/* snprintf that appends at *used and keeps counting past the end. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*used < len ? buf + *used : NULL, *used < len ? len - *used : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

/*
 * "file:line: document N: field: message". Documents are numbered from 1
 * here, as people count them, while struct policy_diag_entry keeps the
 * 0-based index; parts that are not known are left out.
 */
size_t policy_diag_entry__format(const struct policy_diag_entry *e, char *buf, size_t len)
{
	size_t used = 0;

	if (buf && len)
		buf[0] = '\0';
	else
		buf = NULL, len = 0;
	append(buf, len, &used, "%s", e->file[0] ? e->file : "<input>");
	if (e->line > 0)
		append(buf, len, &used, ":%d", e->line);
	append(buf, len, &used, ":");
	if (e->document >= 0)
		append(buf, len, &used, " document %d:", e->document + 1);
	if (e->field[0])
		append(buf, len, &used, " %s:", e->field);
	append(buf, len, &used, " %s", e->message);
	return used;
}
