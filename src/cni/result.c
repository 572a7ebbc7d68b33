// SPDX-License-Identifier: Apache-2.0
/*
 * The ADD result (SPEC.md section 5). The agent answers cni.add with the
 * attachment in the 1.0 shape ("interfaces", "ips" whose "interface" indexes
 * its own list, "routes"); here it is appended to a prevResult when we are
 * not first in the chain, and written in the configuration's version:
 * 0.3.x and 0.4.0 give every IP entry a "version" ("4"/"6"), 1.x does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

/* A copy of one ips[] entry in @version's shape, interface index moved. */
static json_t *convert_ip(json_t *ip, const char *version, json_int_t offset)
{
	json_t *copy = json_deep_copy(ip);
	json_t *index;

	if (!copy)
		return NULL;
	index = json_object_get(copy, "interface");
	if (json_is_integer(index))
		json_object_set_new(copy, "interface",
				    json_integer(json_integer_value(index) + offset));
	if (cni_version__is_1x(version)) {
		json_object_del(copy, "version");
	} else if (!json_object_get(copy, "version")) {
		const char *addr = json_string_value(json_object_get(copy, "address"));

		json_object_set_new(copy, "version",
				    json_string(addr && strchr(addr, ':') ? "6" : "4"));
	}
	return copy;
}

/* Append @from[key] to @to[key] (lists), converting ips on the way. */
static int append_list(json_t *to, json_t *from, const char *key, const char *version,
		       json_int_t offset)
{
	json_t *dst = json_object_get(to, key), *src = json_object_get(from, key), *v;
	size_t i;

	if (!json_is_array(src))
		return 0;
	json_array_foreach (src, i, v) {
		json_t *item = !strcmp(key, "ips") ? convert_ip(v, version, offset)
						   : json_deep_copy(v);

		if (!item || json_array_append_new(dst, item))
			return -1;
	}
	return 0;
}

json_t *cni_result__build(const char *version, const struct cni_env *env,
			  const struct cni_config *config, json_t *attachment)
{
	json_t *result, *prev = config->prev_result, *dns;
	json_int_t offset;

	(void)env;
	result = json_pack("{s:s, s:[], s:[], s:[]}", "cniVersion", version, "interfaces",
			   "ips", "routes");
	if (!result)
		return NULL;
	if (prev && (append_list(result, prev, "interfaces", version, 0) ||
		     append_list(result, prev, "ips", version, 0) ||
		     append_list(result, prev, "routes", version, 0)))
		goto fail;
	offset = (json_int_t)json_array_size(json_object_get(result, "interfaces"));
	if (append_list(result, attachment, "interfaces", version, 0) ||
	    append_list(result, attachment, "ips", version, offset) ||
	    append_list(result, attachment, "routes", version, 0))
		goto fail;
	/* DNS: the network's configuration, else what the chain or IPAM said. */
	dns = config->dns && json_object_size(config->dns) ? config->dns
	      : prev && json_is_object(json_object_get(prev, "dns"))
		  ? json_object_get(prev, "dns")
		  : json_object_get(attachment, "dns");
	if (json_is_object(dns) && json_object_size(dns))
		json_object_set_new(result, "dns", json_deep_copy(dns));
	return result;
fail:
	json_decref(result);
	return NULL;
}

void cni_result__print(json_t *value)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
		free(text);
	}
	fflush(stdout);
}
