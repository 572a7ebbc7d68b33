// SPDX-License-Identifier: Apache-2.0
/*
 * The control protocol's framing-level JSON (docs/control-protocol.md):
 * request lines parsed into the structs the domain takes (endpoint_spec,
 * label_changes, policy_document, trace_request, ...), and the reply line
 * around a result or an error. It reads only the request: no agent state,
 * so the request side can be fuzzed on its own (tests/fuzz/).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"
#include "policy_repo.h"
#include "trace.h"
#include "wire.h"

char *wire__line(json_t *obj, size_t *len)
{
	char *line = json_dumps(obj, JSON_COMPACT);

	if (!line)
		return NULL;
	*len = strlen(line);
	line[(*len)++] = '\n'; /* json_dumps leaves room: the NUL goes */
	return line;
}

/* ---- requests ---- */

/* The request structs are made here, so they are released here too. */
void endpoint_spec__free(struct endpoint_spec *spec)
{
	label_set__free(&spec->labels);
	for (size_t i = 0; i < spec->port_count; i++)
		free((char *)spec->ports[i].name);
	free(spec->ports);
	spec->ports = NULL;
	spec->port_count = 0;
}

void label_changes__free(struct label_changes *changes)
{
	label_set__free(&changes->set);
	str_list__free(&changes->remove);
}

int wire__parse_request(const char *line, size_t len, json_t **req, const char **cmd,
			json_t **args, char *err, size_t err_len)
{
	json_error_t jerr;

	*cmd = NULL;
	*args = NULL;
	/* The whole line: a NUL inside it is an error, not the end. */
	*req = json_loadb(line, len, 0, &jerr);
	if (!*req) {
		snprintf(err, err_len, "request is not JSON: %s (column %d)", jerr.text,
			 jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(*req)) {
		snprintf(err, err_len, "request is not a JSON object");
		return -EINVAL;
	}
	*cmd = json_string_value(json_object_get(*req, "cmd"));
	*args = json_object_get(*req, "args"); /* NULL reads as "no arguments" */
	if (!*cmd) {
		snprintf(err, err_len, "request has no cmd (a string)");
		return -EINVAL;
	}
	if (json_is_null(*args))
		*args = NULL;
	if (*args && !json_is_object(*args)) {
		snprintf(err, err_len, "args must be an object");
		return -EINVAL;
	}
	return 0;
}

const char *wire__arg_string(json_t *args, const char *key, const char *fallback)
{
	const char *v = json_string_value(json_object_get(args, key));

	return v ? v : fallback;
}

bool wire__arg_integer(json_t *args, const char *key, long long *out)
{
	json_t *v = json_object_get(args, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

int wire__arg_bool(json_t *args, const char *key, bool *out)
{
	json_t *v = json_object_get(args, key);

	if (!v)
		return -ENOENT;
	if (!json_is_boolean(v))
		return -EINVAL;
	*out = json_is_true(v);
	return 0;
}

bool wire__arg_is_false(json_t *args, const char *key)
{
	return json_is_false(json_object_get(args, key));
}

/* ["k=v,k2=v2", ...] into out (each label with the source it names). */
static int parse_label_list(json_t *list, struct label_set *out, char *err,
			    size_t err_len)
{
	size_t i;
	json_t *v;

	json_array_foreach (list, i, v) {
		const char *text = json_string_value(v);
		struct label_set parsed = {0};
		int ret;

		if (!text) {
			snprintf(err, err_len, "labels must be strings");
			return -EINVAL;
		}
		ret = label_set__parse_list(&parsed, text, err, err_len);
		for (size_t j = 0; !ret && j < parsed.count; j++)
			ret = label_set__add(out, parsed.items[j].source,
					     parsed.items[j].key, parsed.items[j].value);
		label_set__free(&parsed);
		if (ret)
			return ret;
	}
	return 0;
}

/* "http=80/TCP" */
static int parse_port(const char *text, struct compile_named_port *out, char *err,
		      size_t err_len)
{
	char name[64], proto[16] = "TCP";
	unsigned int port;
	int n = 0;

	if (sscanf(text, "%63[^=]=%u%n", name, &port, &n) != 2 ||
	    (text[n] && sscanf(text + n, "/%15s", proto) != 1) || port == 0 ||
	    port > 65535) {
		snprintf(err, err_len,
			 "port %s: expected NAME=PORT/PROTO, e.g. http=80/TCP", text);
		return -EINVAL;
	}
	for (char *p = proto; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (!strcmp(proto, "TCP"))
		out->protocol = 6;
	else if (!strcmp(proto, "UDP"))
		out->protocol = 17;
	else if (!strcmp(proto, "SCTP"))
		out->protocol = 132;
	else {
		snprintf(err, err_len, "port %s: protocol must be TCP, UDP or SCTP",
			 text);
		return -EINVAL;
	}
	out->port = (uint16_t)port;
	out->name = strdup(name);
	return out->name ? 0 : -ENOMEM;
}

static int parse_ports(json_t *list, struct endpoint_spec *out, char *err, size_t err_len)
{
	size_t i;
	json_t *v;

	json_array_foreach (list, i, v) {
		const char *text = json_string_value(v);
		struct compile_named_port *grown;
		int ret;

		if (!text) {
			snprintf(err, err_len, "ports must be strings");
			return -EINVAL;
		}
		grown = realloc(out->ports, (out->port_count + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		out->ports = grown;
		ret = parse_port(text, &out->ports[out->port_count], err, err_len);
		if (ret)
			return ret;
		out->port_count++;
	}
	return 0;
}

int wire__parse_endpoint_spec(json_t *args, struct endpoint_spec *out, char *err,
			      size_t err_len)
{
	int ret;

	memset(out, 0, sizeof(*out));
	out->name = wire__arg_string(args, "name", NULL);
	out->namespace = wire__arg_string(args, "namespace", "default");
	if (!out->name) {
		snprintf(err, err_len, "missing endpoint name");
		return -EINVAL;
	}
	ret =
	    parse_label_list(json_object_get(args, "labels"), &out->labels, err, err_len);
	if (!ret)
		ret = parse_ports(json_object_get(args, "ports"), out, err, err_len);
	return ret;
}

int wire__parse_label_changes(json_t *args, struct label_changes *out, char *err,
			      size_t err_len)
{
	size_t i;
	json_t *v;

	memset(out, 0, sizeof(*out));
	json_array_foreach (json_object_get(args, "remove"), i, v) {
		const char *key = json_string_value(v);
		int ret;

		if (!key) {
			snprintf(err, err_len, "label keys to remove must be strings");
			return -EINVAL;
		}
		ret = str_list__push(&out->remove, key);
		if (ret)
			return ret;
	}
	return parse_label_list(json_object_get(args, "set"), &out->set, err, err_len);
}

int wire__parse_documents(json_t *args, struct policy_document **out, size_t *count,
			  char *err, size_t err_len)
{
	json_t *documents = json_object_get(args, "documents"), *doc;
	struct policy_document *docs;
	size_t i;

	*out = NULL;
	*count = 0;
	if (!json_is_array(documents) || !json_array_size(documents)) {
		snprintf(err, err_len, "no policy documents given");
		return -EINVAL;
	}
	docs = calloc(json_array_size(documents), sizeof(*docs));
	if (!docs)
		return -ENOMEM;
	json_array_foreach (documents, i, doc) {
		const char *file = json_string_value(json_object_get(doc, "file"));
		json_t *content = json_object_get(doc, "content");

		if (!file || !json_is_string(content)) {
			snprintf(err, err_len, "documents[%zu]: needs file and content",
				 i);
			free(docs);
			return -EINVAL;
		}
		docs[i] = (struct policy_document){.file = file,
						   .content = json_string_value(content),
						   .len = json_string_length(content)};
	}
	*out = docs;
	*count = i;
	return 0;
}

int wire__parse_policy_delete(json_t *args, struct policy_delete_request *out, char *err,
			      size_t err_len)
{
	json_t *ns = json_object_get(args, "namespace");

	/* Absent: "default" and clusterwide; null: clusterwide only. */
	*out = (struct policy_delete_request){
	    .name = wire__arg_string(args, "name", NULL),
	    .namespace = json_string_value(ns),
	    .clusterwide_only = json_is_null(ns),
	    .all = json_is_true(json_object_get(args, "all")),
	};
	if (!out->all && !out->name) {
		snprintf(err, err_len, "name a policy or give --all");
		return -EINVAL;
	}
	return 0;
}

/* "80/tcp"; no protocol is TCP. */
static int parse_dport(const char *text, uint16_t *port, uint8_t *protocol)
{
	char proto[16] = "tcp";
	unsigned int p;

	if (sscanf(text, "%u/%15s", &p, proto) < 1 || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	if (!strcasecmp(proto, "tcp"))
		*protocol = 6;
	else if (!strcasecmp(proto, "udp"))
		*protocol = 17;
	else if (!strcasecmp(proto, "sctp"))
		*protocol = 132;
	else
		return -EINVAL;
	return 0;
}

int wire__parse_trace(json_t *args, struct trace_request *out, char *err, size_t err_len)
{
	*out = (struct trace_request){
	    .from = wire__arg_string(args, "from", NULL),
	    .to = wire__arg_string(args, "to", NULL),
	    .dport = wire__arg_string(args, "dport", NULL),
	    .namespace = wire__arg_string(args, "namespace", NULL),
	    .http_method = wire__arg_string(args, "http_method", NULL),
	    .http_path = wire__arg_string(args, "http_path", NULL),
	};
	if (!out->from || !out->to || !out->dport) {
		snprintf(err, err_len, "trace needs --from, --to and --dport PORT/PROTO");
		return -EINVAL;
	}
	if (parse_dport(out->dport, &out->port, &out->protocol)) {
		snprintf(err, err_len,
			 "--dport %s: expected PORT/tcp, PORT/udp or PORT/sctp",
			 out->dport);
		return -EINVAL;
	}
	return 0;
}

/*
 * An error text as a JSON string. Texts are UTF-8, but snprintf() into a
 * fixed buffer can cut one in the middle of a character, and jansson
 * refuses that: cut back to the last whole character (and if the text is
 * not UTF-8 at all, say so rather than answer nothing).
 */
static json_t *error_string(const char *err)
{
	size_t len = strlen(err);
	json_t *s = json_stringn(err, len);

	for (int cut = 1; !s && cut <= 3 && cut <= (int)len; cut++)
		s = json_stringn(err, len - (size_t)cut);
	return s ? s : json_string("the request failed (the reason is not valid UTF-8)");
}

char *wire__reply(int ret, json_t *result, const char *err, size_t *len)
{
	json_t *reply;
	char *line;

	if (ret) {
		json_decref(result);
		reply = json_pack("{s:b, s:o}", "ok", 0, "error", error_string(err));
	} else {
		reply = json_pack("{s:b, s:o}", "ok", 1, "result",
				  result ? result : json_null());
	}
	line = reply ? wire__line(reply, len) : NULL;
	json_decref(reply);
	return line;
}
