// SPDX-License-Identifier: Apache-2.0
/*
 * Who the container is, from what the runtime passes (docs/cni.md says which
 * runtime passes what):
 *   name       K8S_POD_NAME in CNI_ARGS (kubelet/CRI, podman: the container
 *              name), made a DNS label; else "cni-" + the container id's start.
 *              An attachment on another interface than eth0 gets "-IFNAME".
 *   namespace  K8S_POD_NAMESPACE (unless "runtimeNamespace": false), else the
 *              configuration's "namespace".
 *   labels     the configuration's "labels" (every container of the network),
 *              then args.cni.labels (the CNI convention), then pod annotations
 *              whose key starts with "annotationPrefix"
 *              (runtimeConfig "io.kubernetes.cri.pod-annotations", containerd
 *              and CRI-O), later ones winning for the same key.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni.h"
#include "warden/labels.h"

#define CRI_ANNOTATIONS "io.kubernetes.cri.pod-annotations"

bool cni_args__get(const char *args, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = args;

	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t vlen = n - klen - 1;

			if (vlen >= len)
				vlen = len - 1;
			memcpy(buf, p + klen + 1, vlen);
			buf[vlen] = '\0';
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

/*
 * Make @in a DNS label: lowercase, anything else than [a-z0-9-] becomes '-',
 * no '-' at either end, at most @max characters. A pod name is a DNS
 * subdomain ("web.v2"), an endpoint name a label.
 */
static void to_dns_label(const char *in, char *out, size_t max)
{
	size_t n = 0;

	for (; *in && n < max; in++) {
		char c = (char)tolower((unsigned char)*in);

		out[n++] =
		    (isalnum((unsigned char)c) && isascii((unsigned char)c)) ? c : '-';
	}
	out[n] = '\0';
	while (n && out[n - 1] == '-')
		out[--n] = '\0';
	n = strspn(out, "-");
	if (n)
		memmove(out, out + n, strlen(out + n) + 1);
}

/* Set key=value in the {key: value} object @labels after validating both. */
static int add_label(json_t *labels, const char *key, const char *value,
		     const char *where, struct cni_error *e)
{
	char why[256];

	if (label_key__validate(key, why, sizeof(why)) ||
	    label_value__validate(value, why, sizeof(why))) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "%s: label %s=%s: %s", where, key, value, why);
		return -EINVAL;
	}
	return json_object_set_new(labels, key, json_string(value)) ? -ENOMEM : 0;
}

/* args.cni.labels: [{"key": "app", "value": "web"}] (CONVENTIONS.md). */
static int add_args_labels(json_t *labels, json_t *root, struct cni_error *e)
{
	json_t *list = json_object_get(
	    json_object_get(json_object_get(root, "args"), "cni"), "labels");
	size_t i;
	json_t *v;

	if (!list)
		return 0;
	if (!json_is_array(list)) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "args.cni.labels must be a list of {\"key\", \"value\"}");
		return -EINVAL;
	}
	json_array_foreach (list, i, v) {
		const char *key = json_string_value(json_object_get(v, "key"));
		const char *value = json_string_value(json_object_get(v, "value"));
		char where[64];

		snprintf(where, sizeof(where), "args.cni.labels[%zu]", i);
		if (!key || !value) {
			cni_error__set(e, CNI_ERR_INVALID_CONFIG,
				       "Invalid network config",
				       "%s: needs string \"key\" and \"value\"", where);
			return -EINVAL;
		}
		if (add_label(labels, key, value, where, e))
			return -EINVAL;
	}
	return 0;
}

static int add_annotation_labels(json_t *labels, const struct cni_config *config,
				 struct cni_error *e)
{
	json_t *ann = json_object_get(json_object_get(config->root, "runtimeConfig"),
				      CRI_ANNOTATIONS);
	size_t plen = strlen(config->annotation_prefix);
	const char *key;
	json_t *v;

	if (!json_is_object(ann) || !plen)
		return 0;
	json_object_foreach (ann, key, v) {
		if (strncmp(key, config->annotation_prefix, plen) || !json_is_string(v))
			continue;
		if (add_label(labels, key + plen, json_string_value(v),
			      "runtimeConfig." CRI_ANNOTATIONS, e))
			return -EINVAL;
	}
	return 0;
}

int cni_identity__build(const struct cni_env *env, const struct cni_config *config,
			struct cni_identity *out, struct cni_error *e)
{
	char buf[256], base[64];
	json_t *labels = json_object();
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!labels)
		goto nomem;

	/* Namespace: the runtime's, else the network's. */
	snprintf(out->namespace, sizeof(out->namespace), "%s", config->namespace);
	if (config->runtime_namespace &&
	    cni_args__get(env->args, "K8S_POD_NAMESPACE", buf, sizeof(buf)) && buf[0]) {
		to_dns_label(buf, out->namespace, 63);
		if (!out->namespace[0]) {
			cni_error__set(
			    e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			    "K8S_POD_NAMESPACE=%s is not usable as a namespace", buf);
			goto fail;
		}
	}

	/* Name: the pod's, else from the container id; plus the interface. */
	base[0] = '\0';
	if (cni_args__get(env->args, "K8S_POD_NAME", buf, sizeof(buf)))
		to_dns_label(buf, base, 50);
	if (!base[0]) {
		snprintf(buf, sizeof(buf), "cni-%.12s", env->container_id);
		to_dns_label(buf, base, 50);
	}
	if (strcmp(env->ifname, "eth0")) {
		char suffixed[80];

		snprintf(suffixed, sizeof(suffixed), "%s-%s", base, env->ifname);
		to_dns_label(suffixed, out->name, 63);
	} else {
		snprintf(out->name, sizeof(out->name), "%s", base);
	}

	if (config->labels)
		json_object_foreach (config->labels, key, v)
			if (add_label(labels, key, json_string_value(v), "labels", e))
				goto fail;
	if (add_args_labels(labels, config->root, e) ||
	    add_annotation_labels(labels, config, e))
		goto fail;

	out->labels = json_array();
	if (!out->labels)
		goto nomem;
	json_object_foreach (labels, key, v) {
		snprintf(buf, sizeof(buf), "%s=%s", key, json_string_value(v));
		if (json_array_append_new(out->labels, json_string(buf)))
			goto nomem;
	}
	json_decref(labels);
	return 0;
nomem:
	cni_error__set(e, CNI_ERR_IO, "Out of memory", NULL);
fail:
	json_decref(labels);
	cni_identity__free(out);
	return -EINVAL;
}

void cni_identity__free(struct cni_identity *id)
{
	json_decref(id->labels);
	id->labels = NULL;
}
