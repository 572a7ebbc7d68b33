// SPDX-License-Identifier: Apache-2.0
/*
 * The request configuration on stdin: the plugin object of the network's
 * conflist, with cniVersion and name inserted by the runtime (and
 * runtimeConfig, prevResult, cni.dev/valid-attachments where they apply).
 * Our keys are documented in docs/cni.md; unknown keys are ignored, as
 * runtimes add their own.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "cni.h"
#include "warden/cni.h"
#include "warden/labels.h"

#define TIMEOUT_DEFAULT_S 30
#define TIMEOUT_MAX_S 600

void cni_error__set(struct cni_error *e, int code, const char *msg, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	e->details[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(e->details, sizeof(e->details), fmt, ap);
		va_end(ap);
	}
}

/* SPEC.md: a network name starts alphanumeric, then [A-Za-z0-9_.-]. */
static bool valid_network_name(const char *s)
{
	if (!isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static bool valid_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '-')
			return false;
	return true;
}

/* An optional string member: absent is fine, another type is an error. */
static int optional_string(json_t *root, const char *key, const char **out,
			   struct cni_error *e)
{
	json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "\"%s\" must be a string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int parse_labels(json_t *labels, struct cni_error *e)
{
	const char *key;
	char why[256];
	json_t *v;

	if (!json_is_object(labels)) {
		cni_error__set(
		    e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
		    "\"labels\" must be an object of \"key\": \"value\" strings");
		return -EINVAL;
	}
	json_object_foreach (labels, key, v) {
		if (!json_is_string(v)) {
			cni_error__set(e, CNI_ERR_INVALID_CONFIG,
				       "Invalid network config",
				       "labels.%s: the value must be a string", key);
			return -EINVAL;
		}
		if (label_key__validate(key, why, sizeof(why)) ||
		    label_value__validate(json_string_value(v), why, sizeof(why))) {
			cni_error__set(e, CNI_ERR_INVALID_CONFIG,
				       "Invalid network config", "labels.%s: %s", key,
				       why);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_ipam(json_t *ipam, struct cni_config *out, struct cni_error *e)
{
	json_t *type;

	if (!ipam || json_is_null(ipam))
		return 0;
	if (!json_is_object(ipam)) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "\"ipam\" must be an object");
		return -EINVAL;
	}
	/* "ipam": {} is what some tools write for "none". */
	if (!json_object_size(ipam))
		return 0;
	type = json_object_get(ipam, "type");
	if (!json_is_string(type) || !json_string_length(type) ||
	    strchr(json_string_value(type), '/')) {
		cni_error__set(
		    e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
		    "ipam.type must name an IPAM plugin (a file name in CNI_PATH)");
		return -EINVAL;
	}
	out->ipam = ipam;
	return 0;
}

static int parse_valid_attachments(json_t *list, struct cni_error *e)
{
	size_t i;
	json_t *v;

	if (!json_is_array(list)) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "GC needs \"cni.dev/valid-attachments\", a list of "
			       "{\"containerID\", \"ifname\"}");
		return -EINVAL;
	}
	json_array_foreach (list, i, v) {
		if (!json_is_string(json_object_get(v, "containerID")) ||
		    !json_is_string(json_object_get(v, "ifname"))) {
			cni_error__set(e, CNI_ERR_INVALID_CONFIG,
				       "Invalid network config",
				       "cni.dev/valid-attachments[%zu]: needs string "
				       "\"containerID\" and \"ifname\"",
				       i);
			return -EINVAL;
		}
	}
	return 0;
}

/* The version gates of the spec: CHECK from 0.4.0, GC and STATUS from 1.1.0. */
static int check_version(const char *version, enum cni_command cmd, struct cni_error *e)
{
	char list[128] = "";

	if (!cni_version__supported(version)) {
		for (size_t i = 0; cni_supported_versions[i]; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", cni_supported_versions[i]);
		cni_error__set(e, CNI_ERR_INCOMPATIBLE_VERSION,
			       "Incompatible CNI version",
			       "the network configuration's cniVersion is %s; warden-cni "
			       "supports %s",
			       version ? version : "missing (0.1.0)", list);
		return -EINVAL;
	}
	if (cmd == CNI_CHECK && cni_version__compare(version, "0.4.0") < 0) {
		cni_error__set(e, CNI_ERR_INCOMPATIBLE_VERSION,
			       "Incompatible CNI version",
			       "CHECK needs cniVersion 0.4.0 or later, the configuration "
			       "has %s",
			       version);
		return -EINVAL;
	}
	if ((cmd == CNI_GC || cmd == CNI_STATUS) &&
	    cni_version__compare(version, "1.1.0") < 0) {
		cni_error__set(
		    e, CNI_ERR_INCOMPATIBLE_VERSION, "Incompatible CNI version",
		    "%s needs cniVersion 1.1.0 or later, the configuration has %s",
		    cmd == CNI_GC ? "GC" : "STATUS", version);
		return -EINVAL;
	}
	return 0;
}

int cni_config__parse(const char *text, size_t len, enum cni_command cmd,
		      struct cni_config *out, struct cni_error *e)
{
	json_error_t jerr;
	json_t *root, *v;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	out->socket = CNI_DEFAULT_SOCKET;
	out->namespace = "default";
	out->annotation_prefix = "labels.warden.io/";
	out->timeout_s = TIMEOUT_DEFAULT_S;
	out->runtime_namespace = true;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		cni_error__set(e, CNI_ERR_DECODE, "Failed to decode network config",
			       "stdin, line %d, column %d: %s", jerr.line, jerr.column,
			       jerr.text);
		return -EINVAL;
	}
	out->root = root;
	if (!json_is_object(root)) {
		cni_error__set(e, CNI_ERR_DECODE, "Failed to decode network config",
			       "stdin: the network configuration must be a JSON object");
		goto fail;
	}
	if (optional_string(root, "cniVersion", &out->version, e))
		goto fail;
	if (check_version(out->version, cmd, e))
		goto fail;
	if (optional_string(root, "name", &out->network, e))
		goto fail;
	if (!out->network || !valid_network_name(out->network)) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       out->network
				   ? "network name \"%s\": must start with a letter "
				     "or digit, then letters, digits, '_', '.', '-'"
				   : "missing network name%s",
			       out->network ? out->network : "");
		goto fail;
	}
	if (!json_is_string(json_object_get(root, "type"))) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "missing plugin \"type\"");
		goto fail;
	}
	if (optional_string(root, "socket", &out->socket, e) ||
	    optional_string(root, "namespace", &out->namespace, e) ||
	    optional_string(root, "annotationPrefix", &out->annotation_prefix, e))
		goto fail;
	if (out->socket[0] != '/' ||
	    strlen(out->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "socket \"%s\": must be an absolute path of at most %zu "
			       "characters",
			       out->socket,
			       sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		goto fail;
	}
	if (!valid_dns_label(out->namespace)) {
		cni_error__set(
		    e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
		    "namespace \"%s\": must be a DNS label (lowercase letters, "
		    "digits, '-', at most 63)",
		    out->namespace);
		goto fail;
	}
	v = json_object_get(root, "labels");
	if (v && !json_is_null(v)) {
		if (parse_labels(v, e))
			goto fail;
		out->labels = v;
	}
	v = json_object_get(root, "ports");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *p;

		if (!json_is_array(v)) {
			cni_error__set(e, CNI_ERR_INVALID_CONFIG,
				       "Invalid network config",
				       "\"ports\" must be a list of \"NAME=PORT/PROTO\"");
			goto fail;
		}
		json_array_foreach (v, i, p) {
			if (!json_is_string(p)) {
				cni_error__set(
				    e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
				    "ports[%zu] must be a string NAME=PORT/PROTO", i);
				goto fail;
			}
		}
		out->ports = v;
	}
	v = json_object_get(root, "runtimeNamespace");
	if (v) {
		if (!json_is_boolean(v)) {
			cni_error__set(e, CNI_ERR_INVALID_CONFIG,
				       "Invalid network config",
				       "\"runtimeNamespace\" must be true or false");
			goto fail;
		}
		out->runtime_namespace = json_is_true(v);
	}
	v = json_object_get(root, "timeout");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > TIMEOUT_MAX_S) {
			cni_error__set(
			    e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			    "\"timeout\" must be a whole number of seconds, 1 to %d",
			    TIMEOUT_MAX_S);
			goto fail;
		}
		out->timeout_s = (unsigned int)json_integer_value(v);
	}
	if (parse_ipam(json_object_get(root, "ipam"), out, e))
		goto fail;
	v = json_object_get(root, "prevResult");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v)) {
			cni_error__set(e, CNI_ERR_INVALID_CONFIG,
				       "Invalid network config",
				       "\"prevResult\" must be an object");
			goto fail;
		}
		out->prev_result = v;
	}
	v = json_object_get(root, "dns");
	if (json_is_object(v))
		out->dns = v;
	if (cmd == CNI_GC) {
		v = json_object_get(root, "cni.dev/valid-attachments");
		if (parse_valid_attachments(v, e))
			goto fail;
		out->valid_attachments = v;
	}
	if (cmd == CNI_CHECK && !out->prev_result) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "CHECK needs \"prevResult\" (the result of the ADD)");
		goto fail;
	}
	return 0;
fail:
	cni_config__free(out);
	return ret;
}

void cni_config__free(struct cni_config *config)
{
	json_decref(config->root);
	config->root = NULL;
}
