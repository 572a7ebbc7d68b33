// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>

#include "label_json.h"
#include "warden/labels.h"

json_t *label_json__list(const struct label_set *labels)
{
	json_t *list = json_array();
	char buf[1024];

	for (size_t i = 0; i < labels->count; i++) {
		const struct label *l = &labels->items[i];

		if (l->value[0])
			snprintf(buf, sizeof(buf), "%s:%s=%s", l->source, l->key,
				 l->value);
		else
			snprintf(buf, sizeof(buf), "%s:%s", l->source, l->key);
		json_array_append_new(list, json_string(buf));
	}
	return list;
}
