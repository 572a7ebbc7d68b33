// SPDX-License-Identifier: Apache-2.0
/* The cluster's etcd key layout (lib/identity/etcd_keys.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "etcd_keys.h"
#include "warden/abi/maps.h"
#include "warden/prefix.h"

static bool node_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool etcd_keys__valid_node(const char *node)
{
	size_t len = node ? strlen(node) : 0;

	if (!len || len > ETCD_KEYS_NODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!node_char(node[i]))
			return false;
	return true;
}

bool etcd_keys__valid_prefix(const char *prefix)
{
	size_t len = prefix ? strlen(prefix) : 0;

	if (len < 2 || prefix[0] != '/' || prefix[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++)
		if (prefix[i] <= ' ' || prefix[i] > '~')
			return false;
	return true;
}

char *etcd_keys__labels_text(const struct label_set *labels)
{
	size_t need = label_set__format(labels, NULL, 0);
	char *text = malloc(need + 1);

	if (text)
		label_set__format(labels, text, need + 1);
	return text;
}

static bool plain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("._:=,+@~-", c);
}

char *etcd_keys__escape(const char *text)
{
	size_t len = strlen(text);
	char *out = malloc(len * 3 + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (plain_char(c)) {
			*p++ = (char)c;
			continue;
		}
		sprintf(p, "%%%02X", c);
		p += 3;
	}
	*p = '\0';
	return out;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int etcd_keys__unescape(const char *text, size_t len, char **out)
{
	char *buf = malloc(len + 1), *p = buf;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (text[i] != '%') {
			if (!plain_char((unsigned char)text[i]))
				goto bad;
			*p++ = text[i];
			continue;
		}
		if (i + 2 >= len)
			goto bad;
		hi = hex_value(text[i + 1]);
		lo = hex_value(text[i + 2]);
		/* A NUL would cut the text short: never a valid label. */
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			goto bad;
		*p++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*p = '\0';
	*out = buf;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

static char *concat(const char *fmt, const char *a, const char *b, const char *c)
{
	char *out;

	if (asprintf(&out, fmt, a, b, c) < 0)
		return NULL;
	return out;
}

char *etcd_keys__id_prefix(const char *prefix)
{
	return concat("%s/identities/id/%s%s", prefix, "", "");
}

char *etcd_keys__id_key(const char *prefix, uint32_t id)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", id);
	return concat("%s/identities/id/%s%s", prefix, num, "");
}

char *etcd_keys__refs_prefix(const char *prefix, const char *escaped)
{
	return concat("%s/identities/value/%s/%s", prefix, escaped, "");
}

char *etcd_keys__ref_key(const char *prefix, const char *escaped, const char *node)
{
	return concat("%s/identities/value/%s/%s", prefix, escaped, node);
}

int etcd_keys__parse_number(const char *value, size_t len, uint32_t *id)
{
	uint64_t v = 0;

	/* No sign, no leading zero, no more digits than a uint32 has. */
	if (!len || len > 10 || (value[0] == '0' && len > 1))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (value[i] < '0' || value[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(value[i] - '0');
	}
	if (v < WARDEN_IDENTITY_USER_MIN || v > WARDEN_IDENTITY_USER_MAX)
		return -ERANGE;
	*id = (uint32_t)v;
	return 0;
}

int etcd_keys__parse_id_key(const char *key, size_t len, const char *id_prefix,
			    uint32_t *id)
{
	size_t plen = strlen(id_prefix);

	if (len <= plen || memcmp(key, id_prefix, plen))
		return -EINVAL;
	return etcd_keys__parse_number(key + plen, len - plen, id);
}

int etcd_keys__parse_ref_key(const char *key, size_t len, const char *values_prefix,
			     char **labels_text, const char **node)
{
	size_t plen = strlen(values_prefix);
	const char *rest = key + plen, *slash;
	size_t rest_len = len - plen;

	if (len <= plen || memcmp(key, values_prefix, plen))
		return -EINVAL;
	slash = memrchr(rest, '/', rest_len);
	if (!slash || slash == rest || (size_t)(slash - rest) + 1 == rest_len)
		return -EINVAL;
	*node = slash + 1;
	return etcd_keys__unescape(rest, (size_t)(slash - rest), labels_text);
}

char *etcd_keys__ip_prefix(const char *prefix)
{
	return concat("%s/ip/%s%s", prefix, "", "");
}

char *etcd_keys__ip_key(const char *prefix, const struct policy_prefix *p)
{
	char addr[64];
	size_t n = policy_prefix__format(p, addr, sizeof(addr));
	char *slash;

	if (n >= sizeof(addr))
		return NULL;
	slash = strrchr(addr, '/');
	if (slash &&
	    ((p->family == 4 && p->len == 32) || (p->family == 6 && p->len == 128)))
		*slash = '\0';
	return concat("%s/ip/%s%s", prefix, addr, "");
}

int etcd_keys__parse_ip_key(const char *key, size_t len, const char *ip_prefix,
			    struct policy_prefix *out)
{
	size_t plen = strlen(ip_prefix);
	char addr[64];

	if (len <= plen || memcmp(key, ip_prefix, plen) || len - plen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, key + plen, len - plen);
	addr[len - plen] = '\0';
	return policy_prefix__parse(addr, out);
}

char *etcd_keys__ip_value(uint32_t identity, const char *node)
{
	json_t *obj =
	    json_pack("{s:I,s:s}", "identity", (json_int_t)identity, "node", node);
	char *text;

	if (!obj)
		return NULL;
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return text;
}

int etcd_keys__parse_ip_value(const char *value, size_t len, uint32_t *identity,
			      char *node)
{
	json_t *root = json_loadb(value, len, 0, NULL);
	const json_t *id, *n;
	int err = -EINVAL;

	if (!json_is_object(root))
		goto out;
	id = json_object_get(root, "identity");
	n = json_object_get(root, "node");
	if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
	    json_integer_value(id) > UINT32_MAX || !json_is_string(n) ||
	    !etcd_keys__valid_node(json_string_value(n)))
		goto out;
	*identity = (uint32_t)json_integer_value(id);
	snprintf(node, ETCD_KEYS_NODE_MAX + 1, "%s", json_string_value(n));
	err = 0;
out:
	json_decref(root);
	return err;
}
