// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for what the etcd client reads from the network
 * (lib/kvstore/etcd_json.c) and the key layout parsers
 * (lib/identity/etcd_keys.c). Each input goes to every parser; besides "no
 * crash, no leak, no UB, no read past the end" (inputs are malloc'd copies
 * of exactly their length) it checks properties:
 *  - base64 that decodes re-encodes to the same text (one spelling only);
 *  - an escaped label text unescapes to itself;
 *  - a parsed watch message's events all have keys (NUL-terminated at
 *    their length).
 * Build and run: `make fuzz`, seeds in tests/fuzz/seeds/fuzz_etcd_json/.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/identity/etcd_keys.h"
#include "../../lib/kvstore/etcd_json.h"

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond))                                                             \
			__builtin_trap();                                                \
	} while (0)

static char *copy(const uint8_t *data, size_t len)
{
	char *p = malloc(len + 1);

	CHECK(p);
	memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

static void responses(const char *text, size_t len)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	struct kvstore_kv_list list = {0};
	struct kvstore_txn_result res;
	struct kvstore_status st;
	int64_t a, b;
	bool more;
	char msg[128];

	if (!root)
		return;
	etcd_json__error(root, msg, sizeof(msg));
	etcd_json__range_response(root, &list, &more, msg, sizeof(msg));
	for (size_t i = 0; i < list.count; i++)
		CHECK(list.items[i].key && list.items[i].value &&
		      list.items[i].value[list.items[i].value_len] == '\0');
	kvstore_kv_list__free(&list);
	if (!etcd_json__txn_response(root, &res, msg, sizeof(msg)))
		kvstore_txn_result__free(&res);
	etcd_json__put_response(root, &a, msg, sizeof(msg));
	etcd_json__delete_response(root, &a, msg, sizeof(msg));
	etcd_json__lease_response(root, &a, &b, msg, sizeof(msg));
	etcd_json__status_response(root, &st, msg, sizeof(msg));
	json_decref(root);
}

static void watch_line(const char *text, size_t len)
{
	struct etcd_watch_response r;
	char msg[128];

	if (!etcd_json__watch_line(text, len, &r, msg, sizeof(msg)))
		for (size_t i = 0; i < r.event_count; i++)
			CHECK(r.events[i].kv.key &&
			      r.events[i].kv.key[r.events[i].kv.key_len] == '\0');
	etcd_watch_response__free(&r);
}

static void base64(const char *text, size_t len)
{
	char *out, *again;
	size_t out_len;

	if (etcd_base64__decode(text, len, &out, &out_len))
		return;
	again = etcd_base64__encode(out, out_len);
	CHECK(again && strlen(again) == len && !memcmp(again, text, len));
	free(again);
	free(out);
}

static void keys(const char *text, size_t len)
{
	struct policy_prefix p;
	char node[ETCD_KEYS_NODE_MAX + 1], *labels, *esc, *back;
	const char *n;
	uint32_t id;

	etcd_keys__parse_id_key(text, len, "/w/identities/id/", &id);
	if (!etcd_keys__parse_ref_key(text, len, "/w/identities/value/", &labels, &n))
		free(labels);
	etcd_keys__parse_ip_key(text, len, "/w/ip/", &p);
	etcd_keys__parse_ip_value(text, len, &id, node);
	if (strlen(text) == len) { /* escape takes a C string */
		esc = etcd_keys__escape(text);
		CHECK(esc);
		CHECK(!etcd_keys__unescape(esc, strlen(esc), &back));
		CHECK(!strcmp(back, text));
		free(back);
		free(esc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = copy(data, size);

	responses(text, size);
	watch_line(text, size);
	base64(text, size);
	keys(text, size);
	free(text);
	return 0;
}
