/* SPDX-License-Identifier: Apache-2.0 */
/* A list of owned strings: names and warnings the domain hands to wire.c. */
#ifndef WARDEN_AGENT_STR_LIST_H
#define WARDEN_AGENT_STR_LIST_H

#include <stddef.h>

struct str_list {
	char **items;
	size_t count;
};

/* Append a copy of text. Returns 0 or -ENOMEM (the list is unchanged). */
int str_list__push(struct str_list *list, const char *text);
void str_list__free(struct str_list *list);

#endif /* WARDEN_AGENT_STR_LIST_H */
