/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A label set as JSON, ["k8s:org=empire", "reserved:host", ...]: the same
 * list in the control protocol (wire.c) and in the proxy's policy document
 * (proxy_policy.c), so neither depends on the other.
 */
#ifndef WARDEN_AGENT_LABEL_JSON_H
#define WARDEN_AGENT_LABEL_JSON_H

#include <jansson.h>

struct label_set;

/* A new JSON array (owned by the caller). */
json_t *label_json__list(const struct label_set *labels);

#endif /* WARDEN_AGENT_LABEL_JSON_H */
