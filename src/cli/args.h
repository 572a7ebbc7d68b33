/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Option parsing for one CLI command: a table of long options, positional
 * arguments in order, and everything after "--" kept apart. --json and -h/--help
 * are understood by every command.
 */
#ifndef WARDEN_CLI_ARGS_H
#define WARDEN_CLI_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum arg_kind {
	ARG_STRING, /* dest: const char **; given twice, the last one wins */
	ARG_LIST,   /* dest: json_t * array; every occurrence appends */
	ARG_CSV,    /* like ARG_LIST, and "a,b" appends "a" and "b" */
	ARG_FLAG,   /* dest: bool * */
};

struct arg_option {
	const char *name; /* with its dashes: "--namespace" */
	enum arg_kind kind;
	void *dest;
};

struct args {
	int npositional;
	char **positional; /* borrowed from argv; the array is freed by args__free() */
	int nrest;
	char **rest; /* after "--", only with ARGS_KEEP_REST; points into argv */
};

/* Object help printer: the grammar of one object, to @out. */
typedef void (*help_fn)(FILE *out);

#define ARGS_KEEP_REST 1u /* "--" ends options and keeps what follows in rest */

/*
 * Parse @argc/@argv (the words after the verb) against @options, a table ended by
 * an entry with a NULL name. Options may be written "--opt VALUE" or
 * "--opt=VALUE" and mixed freely with positional words.
 * Returns true when the command should run. Returns false when it should stop
 * with exit status *status: 0 after printing @help for -h/--help, 2 after a usage
 * error (reported by args__usage_error()).
 */
bool args__parse(int argc, char **argv, const struct arg_option *options, unsigned flags,
		 help_fn help, struct args *out, int *status);
void args__free(struct args *args);

/*
 * Report a usage error: the message as any error (JSON on stdout with --json),
 * then the object's help on stderr. Returns 2, the exit status for usage errors.
 */
int args__usage_error(help_fn help, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Check that every string of the array @labels is KEY=VALUE with a non-empty KEY
 * (VALUE may be empty). Returns 0, or the usage error's status 2.
 */
int args__check_labels(const json_t *labels, help_fn help);

/*
 * Sort the words KEY=VALUE into @set and KEY- into @remove (the key, without its
 * dash), for "endpoint label" and "namespace label". Returns 0, or 2 after a usage
 * error for a word that is neither, or when there are no words.
 */
int args__label_changes(char **words, int nwords, json_t *set, json_t *remove,
			help_fn help);

#endif /* WARDEN_CLI_ARGS_H */
