// SPDX-License-Identifier: Apache-2.0
/*
 * Policy YAML in, policy model out: the document loop. Each YAML document
 * is loaded with libyaml's document API (nodes carry their line), its kind
 * and apiVersion pick the dialect (lib/policy/policy_parse_cilium.c or
 * lib/policy/policy_parse_k8s.c), and metadata is handled here for both.
 *
 * All or nothing: documents are parsed into a private set that is appended
 * to the caller's only when the whole buffer is valid and supported.
 *
 * Bounded memory: libyaml's loader builds a whole document before any check
 * of ours can run, so a document of millions of nodes, or one nested a
 * million levels deep, would cost gigabytes first. The buffer is therefore
 * read once as events (prescan()), which libyaml produces with memory
 * bounded by its look-ahead, and refused at the first document past
 * PARSE_MAX_NODES or PARSE_MAX_DEPTH, before anything is built.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_parse_internal.h"

#define API_CILIUM "cilium.io/v2"
#define API_K8S "networking.k8s.io/v1"
#define KIND_CNP "CiliumNetworkPolicy"
#define KIND_CCNP "CiliumClusterwideNetworkPolicy"
#define KIND_K8S "NetworkPolicy"

/* Larger policy files than this are a mistake, not a policy. */
#define POLICY_FILE_MAX (64u << 20)

static const char *const cilium_top_fields[] = {
    "apiVersion", "kind", "metadata", "spec", "specs", "status", NULL,
};
static const char *const k8s_top_fields[] = {
    "apiVersion", "kind", "metadata", "spec", "status", NULL,
};
/* ObjectMeta; only name and namespace mean anything to Warden. */
static const char *const metadata_fields[] = {
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
    NULL,
};

/* Reset diag for a new parse; allow_http is the caller's input. */
static void diag_reset(struct policy_diag *diag)
{
	bool allow_http = diag->allow_http;

	memset(diag, 0, sizeof(*diag));
	diag->allow_http = allow_http;
}

/* --- document text --- */

/*
 * Where the previous document started: documents come in order, so each
 * search for a line starts there, not at the top (a file of 100,000 small
 * documents was quadratic).
 */
struct line_cursor {
	size_t line;
	size_t offset;
};

/*
 * Byte offset of the start of the line that is `line` lines after the one
 * starting at offset i (libyaml counts \n, \r\n, \r).
 */
static size_t line_offset(const char *buf, size_t len, size_t i, size_t line)
{
	while (line && i < len) {
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			i++;
		if (buf[i] == '\n' || buf[i] == '\r')
			line--;
		i++;
	}
	return i;
}

/*
 * The text of one document (for `policy get`): whole lines from its start
 * to its end, without a leading "---" line. Allocated.
 */
static char *document_source(const char *buf, size_t len, const yaml_document_t *doc,
			     struct line_cursor *cursor)
{
	size_t first = doc->start_mark.line;
	size_t last = doc->end_mark.line + (doc->end_mark.column ? 1 : 0);
	size_t start, end, i;

	if (first < cursor->line)
		*cursor = (struct line_cursor){0};
	cursor->offset = line_offset(buf, len, cursor->offset, first - cursor->line);
	cursor->line = first;
	start = cursor->offset;
	end = last > first ? line_offset(buf, len, start, last - first) : start;
	if (end - start >= 3 && !strncmp(buf + start, "---", 3)) {
		for (i = start + 3; i < end && (buf[i] == ' ' || buf[i] == '\t'); i++)
			;
		if (i == end || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '#') {
			while (i < end && buf[i] != '\n')
				i++;
			start = i < end ? i + 1 : end;
		}
	}
	/* Nor a trailing "..." (document end marker) line. */
	i = end;
	if (i > start && buf[i - 1] == '\n')
		i--;
	while (i > start && buf[i - 1] != '\n')
		i--;
	if (end - i >= 3 && !strncmp(buf + i, "...", 3)) {
		size_t j = i + 3;

		while (j < end && strchr(" \t\r\n", buf[j]) && buf[j])
			j++;
		if (j == end)
			end = i;
	}
	return strndup(buf + start, end - start);
}

/* --- kind and metadata --- */

/* The root key spelled like want but in another case, for a hint. */
static const char *miscased_key(struct parse_ctx *ctx, const yaml_node_t *root,
				const char *want)
{
	yaml_node_pair_t *pair;

	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcasecmp((const char *)k->data.scalar.value, want))
			return (const char *)k->data.scalar.value;
	}
	return NULL;
}

static int parse_kind(struct parse_ctx *ctx, const yaml_node_t *root,
		      enum policy_kind *kind)
{
	const yaml_node_t *kind_node = parse_map__field(ctx, root, "kind");
	const yaml_node_t *api_node = parse_map__field(ctx, root, "apiVersion");
	const char *kind_name, *api = NULL, *other;
	size_t saved;
	int ret;

	saved = parse_ctx__push_key(ctx, "kind");
	if (!kind_node) {
		other = miscased_key(ctx, root, "kind");
		return parse_ctx__error(ctx, root, "`kind` is missing%s%s%s",
					other ? " (found `" : "", other ? other : "",
					other ? "`; keys are case-sensitive)" : "");
	}
	ret = parse_node__string(ctx, kind_node, &kind_name);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);

	saved = parse_ctx__push_key(ctx, "apiVersion");
	if (!api_node) {
		other = miscased_key(ctx, root, "apiVersion");
		return parse_ctx__error(
		    ctx, root, "`apiVersion` is missing (kind %s)%s%s%s", kind_name,
		    other ? "; found `" : "", other ? other : "",
		    other ? "`, but keys are case-sensitive" : "");
	}
	ret = parse_node__string(ctx, api_node, &api);
	if (ret)
		return ret;

	if (!strcmp(kind_name, KIND_CNP) || !strcmp(kind_name, KIND_CCNP)) {
		if (strcmp(api, API_CILIUM))
			return parse_ctx__error(
			    ctx, api_node,
			    "%s apiVersion `%s` is not supported (only " API_CILIUM ")",
			    kind_name, api);
		*kind = !strcmp(kind_name, KIND_CNP) ? POLICY_KIND_CILIUM
						     : POLICY_KIND_CILIUM_CLUSTERWIDE;
	} else if (!strcmp(kind_name, KIND_K8S)) {
		if (strcmp(api, API_K8S))
			return parse_ctx__error(
			    ctx, api_node,
			    "NetworkPolicy apiVersion `%s` is not supported "
			    "(only " API_K8S ")",
			    api);
		*kind = POLICY_KIND_K8S;
	} else {
		parse_ctx__restore(ctx, saved);
		parse_ctx__push_key(ctx, "kind");
		return parse_ctx__error(
		    ctx, kind_node,
		    "kind `%s` (apiVersion `%s`) is not a network policy "
		    "(expected " KIND_CNP ", " KIND_CCNP " or " KIND_K8S ")",
		    kind_name, api);
	}
	parse_ctx__restore(ctx, saved);
	return 0;
}

/*
 * metadata.annotations: values are strings (as in Kubernetes); keys under
 * policy.warden.io/ are ours and a misspelt one is an error, since silently
 * enforcing a policy meant to be audited would be the worse surprise.
 */
static int parse_annotations(struct parse_ctx *ctx, const yaml_node_t *md,
			     struct policy *p)
{
	const yaml_node_t *ann = parse_map__field(ctx, md, "annotations");
	size_t saved = parse_ctx__push_key(ctx, "annotations");
	int ret;

	if (!ann) {
		parse_ctx__restore(ctx, saved);
		return 0;
	}
	ret = parse_map__check_strings(ctx, ann, NULL);
	if (ret)
		return ret;
	for (const yaml_node_pair_t *pair = ann->data.mapping.pairs.start;
	     pair < ann->data.mapping.pairs.top; pair++) {
		const yaml_node_t *key = yaml_document_get_node(ctx->doc, pair->key);
		const yaml_node_t *value = yaml_document_get_node(ctx->doc, pair->value);
		const char *k = (const char *)key->data.scalar.value;
		const char *v;
		size_t saved_key;

		if (strncmp(k, POLICY_ANNOTATION_PREFIX,
			    strlen(POLICY_ANNOTATION_PREFIX)))
			continue;
		saved_key = parse_ctx__push_key(ctx, k);
		ret = parse_node__string(ctx, value, &v);
		if (ret)
			return ret;
		if (!strcmp(k, POLICY_ANNOTATION_AUDIT)) {
			if (!strcmp(v, "true") || !strcmp(v, "enabled"))
				p->audit = true;
			else if (!strcmp(v, "false") || !strcmp(v, "disabled"))
				p->audit = false;
			else
				return parse_ctx__error(
				    ctx, value,
				    "invalid value `%s`: use \"true\" or "
				    "\"false\"",
				    v);
		} else if (!strcmp(k, POLICY_ANNOTATION_DENY_RESPONSE)) {
			if (!strcmp(v, "drop"))
				p->deny_response = POLICY_DENY_RESPONSE_DROP;
			else if (!strcmp(v, "reject"))
				p->deny_response = POLICY_DENY_RESPONSE_REJECT;
			else
				return parse_ctx__error(
				    ctx, value,
				    "invalid value `%s`: use \"drop\" or "
				    "\"reject\"",
				    v);
		} else {
			return parse_ctx__error(
			    ctx, key,
			    "unknown Warden annotation (known: " POLICY_ANNOTATION_AUDIT
			    ", " POLICY_ANNOTATION_DENY_RESPONSE ")");
		}
		parse_ctx__restore(ctx, saved_key);
	}
	parse_ctx__restore(ctx, saved);
	return 0;
}

static int parse_metadata(struct parse_ctx *ctx, const yaml_node_t *root,
			  struct policy *p)
{
	const yaml_node_t *md = parse_map__field(ctx, root, "metadata");
	const yaml_node_t *name, *ns;
	size_t saved, saved_field;
	int ret;

	saved = parse_ctx__push_key(ctx, "metadata");
	if (!md)
		return parse_ctx__error(ctx, root, "`metadata` is required");
	ret = parse_map__check(ctx, md, metadata_fields, true);
	if (ret)
		return ret;

	name = parse_map__field(ctx, md, "name");
	saved_field = parse_ctx__push_key(ctx, "name");
	if (!name)
		return parse_ctx__error(ctx, md, "`name` is required");
	ret = parse_node__strdup(ctx, name, &p->name);
	if (ret)
		return ret;
	if (!parse_is_dns1123_subdomain(p->name))
		return parse_ctx__error(
		    ctx, name,
		    "invalid name `%s`: must be a DNS-1123 subdomain "
		    "(lowercase letters, digits, '-' and '.', starting and "
		    "ending with a letter or digit, at most 253 characters)",
		    p->name);
	parse_ctx__restore(ctx, saved_field);

	ns = parse_map__field(ctx, md, "namespace");
	saved_field = parse_ctx__push_key(ctx, "namespace");
	if (ns) {
		ret = parse_node__strdup(ctx, ns, &p->namespace);
		if (ret)
			return ret;
		if (!parse_is_dns1123_label(p->namespace))
			return parse_ctx__error(
			    ctx, ns,
			    "invalid namespace `%s`: must be a DNS-1123 "
			    "label (lowercase letters, digits and '-', "
			    "starting and ending with a letter or digit, at "
			    "most 63 characters)",
			    p->namespace);
	}
	if (p->kind == POLICY_KIND_CILIUM_CLUSTERWIDE) {
		if (ns)
			parse_ctx__warn(ctx, ns,
					"metadata.namespace is ignored: a " KIND_CCNP
					" is cluster-scoped");
		free(p->namespace);
		p->namespace = NULL;
	} else if (!p->namespace) {
		/* kubectl applies a policy without namespace to "default". */
		p->namespace = strdup("default");
		if (!p->namespace)
			return parse_ctx__nomem(ctx);
	}
	parse_ctx__restore(ctx, saved_field);
	ret = parse_annotations(ctx, md, p);
	if (ret)
		return ret;
	parse_ctx__restore(ctx, saved);
	return 0;
}

/* --- documents --- */

static int set_append(struct parse_ctx *ctx, struct policy_set *set, struct policy *p)
{
	struct policy *items = realloc(set->items, (set->count + 1) * sizeof(*items));

	if (!items)
		return parse_ctx__nomem(ctx);
	set->items = items;
	set->items[set->count++] = *p;
	return 0;
}

static int parse_document(struct parse_ctx *ctx, yaml_document_t *doc, const char *buf,
			  size_t len, struct line_cursor *cursor, struct policy_set *set)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	struct policy p = {0};
	int ret;

	ctx->doc = doc;
	ctx->namespace = NULL;
	ctx->visit_budget = PARSE_VISIT_BUDGET;
	parse_ctx__restore(ctx, 0);

	/* A document with nothing but comments (or `---` alone) is skipped. */
	if (parse_node__is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return parse_ctx__error(
		    ctx, root,
		    "a policy document must be a mapping (apiVersion, "
		    "kind, metadata, spec)");

	ret = parse_kind(ctx, root, &p.kind);
	if (ret)
		return ret;
	ctx->kind = p.kind;
	ret = parse_map__check(
	    ctx, root, p.kind == POLICY_KIND_K8S ? k8s_top_fields : cilium_top_fields,
	    true);
	if (!ret)
		ret = parse_metadata(ctx, root, &p);
	if (ret)
		goto fail;
	ctx->namespace = p.namespace;

	p.document = ctx->document;
	p.line = parse_node__line(root);
	p.file = strdup(ctx->file);
	p.source = document_source(buf, len, doc, cursor);
	if (!p.file || !p.source) {
		ret = parse_ctx__nomem(ctx);
		goto fail;
	}

	if (p.kind == POLICY_KIND_K8S)
		ret = parse_k8s_policy(ctx, root, &p);
	else
		ret = parse_cilium_policy(ctx, root, &p);
	if (!ret)
		ret = set_append(ctx, set, &p);
	if (ret)
		goto fail;
	return 0;
fail:
	policy__free(&p);
	return ret;
}

static int syntax_error(struct parse_ctx *ctx, const yaml_parser_t *parser)
{
	yaml_node_t where = {0};

	if (parser->error == YAML_MEMORY_ERROR)
		return parse_ctx__nomem(ctx);
	where.start_mark = parser->problem_mark;
	parse_ctx__restore(ctx, 0);
	return parse_ctx__error(ctx, &where, "YAML syntax error: %s%s%s",
				parser->problem ? parser->problem : "malformed YAML",
				parser->context ? " " : "",
				parser->context ? parser->context : "");
}

/*
 * The event pass: counts nodes and nesting per document and stops at the
 * first limit passed, naming the line. A syntax error is reported here as
 * the loader would report it. 0 when every document is within the limits.
 */
static int prescan(struct parse_ctx *ctx, const char *buf, size_t len)
{
	yaml_node_t where = {0};
	yaml_parser_t parser;
	yaml_event_t event;
	size_t nodes = 0, depth = 0, anchors = 0, aliases = 0, total = 0;
	const yaml_char_t *anchor;
	bool done = false;
	int ret = 0;

	if (!yaml_parser_initialize(&parser))
		return parse_ctx__nomem(ctx);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	ctx->document = 0;
	while (!ret && !done) {
		if (!yaml_parser_parse(&parser, &event)) {
			ret = syntax_error(ctx, &parser);
			break;
		}
		anchor = NULL;
		switch (event.type) {
		case YAML_DOCUMENT_END_EVENT:
			ctx->document++;
			total += nodes;
			nodes = depth = anchors = aliases = 0;
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = event.data.sequence_start.anchor;
			nodes++;
			depth++;
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = event.data.mapping_start.anchor;
			nodes++;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			anchor = event.data.scalar.anchor;
			nodes++;
			break;
		case YAML_ALIAS_EVENT:
			aliases++;
			nodes++;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		if (anchor)
			anchors++;
		where.start_mark = event.start_mark;
		if (depth > PARSE_MAX_DEPTH)
			ret = parse_ctx__error(ctx, &where,
					       "the document nests deeper than %u levels",
					       PARSE_MAX_DEPTH);
		else if (nodes > PARSE_MAX_NODES)
			ret = parse_ctx__error(ctx, &where,
					       "the document has more than %u YAML nodes "
					       "(values, lists and mappings)",
					       PARSE_MAX_NODES);
		else if (total + nodes > PARSE_MAX_STREAM_NODES)
			ret = parse_ctx__error(
			    ctx, &where,
			    "the file has more than %u YAML nodes in all its "
			    "documents",
			    PARSE_MAX_STREAM_NODES);
		else if (anchors > PARSE_MAX_ANCHORS)
			ret = parse_ctx__error(
			    ctx, &where, "the document has more than %u anchors (&name)",
			    PARSE_MAX_ANCHORS);
		else if (aliases > PARSE_MAX_ALIASES)
			ret = parse_ctx__error(
			    ctx, &where, "the document has more than %u aliases (*name)",
			    PARSE_MAX_ALIASES);
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	ctx->document = 0;
	return ret;
}

int policy_parse_buffer(const char *file, const char *buf, size_t len,
			struct policy_set *out, struct policy_diag *diag)
{
	struct policy_set parsed = {0};
	struct policy_diag scratch = {0};
	struct line_cursor cursor = {0};
	struct parse_ctx ctx = {0};
	yaml_parser_t parser;
	yaml_document_t doc;
	struct policy *items;
	int ret = 0;

	if (!diag)
		diag = &scratch;
	diag_reset(diag);
	ctx.file = file ? file : "<input>";
	ctx.diag = diag;
	ctx.allow_http = diag->allow_http;
	if (!out || (!buf && len))
		return parse_ctx__error(&ctx, NULL, "no input");
	ret = prescan(&ctx, buf ? buf : "", len);
	if (ret)
		return ret;
	if (!yaml_parser_initialize(&parser))
		return parse_ctx__nomem(&ctx);
	yaml_parser_set_input_string(&parser, (const unsigned char *)(buf ? buf : ""),
				     len);

	for (ctx.document = 0;; ctx.document++) {
		if (!yaml_parser_load(&parser, &doc)) {
			ret = syntax_error(&ctx, &parser);
			break;
		}
		/* No root node: the end of the stream. */
		if (!yaml_document_get_root_node(&doc)) {
			yaml_document_delete(&doc);
			break;
		}
		ret = parse_document(&ctx, &doc, buf, len, &cursor, &parsed);
		yaml_document_delete(&doc);
		if (ret)
			break;
	}
	yaml_parser_delete(&parser);

	/* Valid, but uses something Warden lacks: refuse it as a whole. */
	if (!ret && ctx.have_unsupported) {
		diag->error = ctx.unsupported;
		diag->failed = true;
		ret = -EINVAL;
	}
	if (!ret && parsed.count) {
		items = realloc(out->items, (out->count + parsed.count) * sizeof(*items));
		if (!items) {
			ret = parse_ctx__nomem(&ctx);
		} else {
			memcpy(items + out->count, parsed.items,
			       parsed.count * sizeof(*items));
			out->items = items;
			out->count += parsed.count;
			/* The policies now belong to out; only the array goes. */
			free(parsed.items);
			return 0;
		}
	}
	policy_set__free(&parsed);
	return ret;
}

int policy_parse_file(const char *path, struct policy_set *out, struct policy_diag *diag)
{
	struct policy_diag scratch = {0};
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *grown;
	int ret = 0;
	FILE *f;

	if (!diag)
		diag = &scratch;
	f = fopen(path, "rb");
	if (!f) {
		ret = -errno;
		goto io_error;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16384;
			if (cap > POLICY_FILE_MAX) {
				ret = -EFBIG;
				goto io_error;
			}
			grown = realloc(buf, cap);
			if (!grown) {
				ret = -ENOMEM;
				goto io_error;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				ret = -EIO;
				goto io_error;
			}
			break;
		}
	}
	fclose(f);
	ret = policy_parse_buffer(path, buf, len, out, diag);
	free(buf);
	return ret;

io_error:
	if (f)
		fclose(f);
	free(buf);
	diag_reset(diag);
	diag->failed = true;
	snprintf(diag->error.file, sizeof(diag->error.file), "%s", path);
	diag->error.document = -1;
	snprintf(diag->error.message, sizeof(diag->error.message), "cannot read: %s",
		 ret == -EFBIG ? "file too large" : strerror(-ret));
	return ret;
}
