/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster's key layout in etcd (docs/cluster.md), as pure functions:
 *
 *   <prefix>/identities/id/<number>          -> "k8s:a=b,k8s:c=d"  (no lease)
 *   <prefix>/identities/value/<labels>/<node> -> "<number>"       (node lease)
 *   <prefix>/ip/<address>                    -> {"identity":N,"node":"..."}
 *                                                                  (node lease)
 *
 * <labels> is the label set's canonical text (sorted, as label_set__format
 * writes it) with '%', '/' and every byte outside [A-Za-z0-9._:=,+@~-]
 * written as %XX, so that a label key with a '/' cannot make one label
 * set's references look like another's.
 */
#ifndef WARDEN_IDENTITY_ETCD_KEYS_H
#define WARDEN_IDENTITY_ETCD_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/labels.h"
#include "warden/policy.h"

#define ETCD_KEYS_NODE_MAX 253

/* A node name: 1..253 of [A-Za-z0-9._-]. */
bool etcd_keys__valid_node(const char *node);
/* A key prefix: starts with '/', no trailing '/', printable, no spaces. */
bool etcd_keys__valid_prefix(const char *prefix);

/* label_set__format() into a new string. */
char *etcd_keys__labels_text(const struct label_set *labels);
/* Escape/unescape the labels path component (new strings). Unescaping
 * fails with -EINVAL on a bad %XX. */
char *etcd_keys__escape(const char *text);
int etcd_keys__unescape(const char *text, size_t len, char **out);

/* "<prefix>/identities/id/" and "<prefix>/identities/id/<id>". New strings. */
char *etcd_keys__id_prefix(const char *prefix);
char *etcd_keys__id_key(const char *prefix, uint32_t id);
/* "<prefix>/identities/value/<escaped>/" and the same + node. */
char *etcd_keys__refs_prefix(const char *prefix, const char *escaped);
char *etcd_keys__ref_key(const char *prefix, const char *escaped, const char *node);
/* The number at the end of a master key under id_prefix: -EINVAL when the
 * key is not "<id_prefix><decimal>" or the number is out of range. */
int etcd_keys__parse_id_key(const char *key, size_t len, const char *id_prefix,
			    uint32_t *id);
/* A reference's value, "<decimal>". */
int etcd_keys__parse_number(const char *value, size_t len, uint32_t *id);
/* The labels text of a reference key under "<prefix>/identities/value/"
 * (unescaped, new string) and its node (pointer into key). */
int etcd_keys__parse_ref_key(const char *key, size_t len, const char *values_prefix,
			     char **labels_text, const char **node);

/* "<prefix>/ip/" and "<prefix>/ip/<address>" (a host prefix without its
 * length: 10.0.0.1, else 10.0.0.0/24). New strings. */
char *etcd_keys__ip_prefix(const char *prefix);
char *etcd_keys__ip_key(const char *prefix, const struct policy_prefix *p);
int etcd_keys__parse_ip_key(const char *key, size_t len, const char *ip_prefix,
			    struct policy_prefix *out);
/* {"identity":N,"node":"..."}: new string / parse (node into a buffer of
 * ETCD_KEYS_NODE_MAX + 1). Unknown fields are ignored, so later versions
 * may add some. */
char *etcd_keys__ip_value(uint32_t identity, const char *node);
int etcd_keys__parse_ip_value(const char *value, size_t len, uint32_t *identity,
			      char *node);

#endif /* WARDEN_IDENTITY_ETCD_KEYS_H */
