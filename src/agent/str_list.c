// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "str_list.h"

int str_list__push(struct str_list *list, const char *text)
{
	char **items = realloc(list->items, (list->count + 1) * sizeof(*items));
	char *copy;

	if (!items)
		return -ENOMEM;
	list->items = items;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	list->items[list->count++] = copy;
	return 0;
}

void str_list__free(struct str_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}
