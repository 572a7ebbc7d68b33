/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Output of the CLI: the human/--json switch, errors in either mode, aligned
 * tables, and turning JSON values from the agent into display strings.
 */
#ifndef WARDEN_CLI_OUTPUT_H
#define WARDEN_CLI_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Set by --json: results are printed as JSON, errors as {"error": "..."}. */
extern bool json_output;

/*
 * Report an error. Human: "warden: <message>" on stderr. JSON: {"error":
 * "<message>"} on stdout, so scripts always read one parseable document.
 * Returns 1, the exit status for an error.
 */
int output__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print @value as one JSON document on stdout. Returns 0, or 1 if stdout failed. */
int output__json(const json_t *value);

/* A warning for a human, on stderr ("warning: ..."). */
void output__warnings(const json_t *warnings);

/*
 * Display string of a JSON value, newly allocated (caller frees): strings as-is,
 * numbers in decimal, true/false as yes/no, null or a missing value as "-",
 * arrays as their elements joined by @sep (an empty array is "-"), objects as
 * compact JSON. Never NULL: exits on allocation failure.
 */
char *output__value(const json_t *value, const char *sep);

/* Borrowed string member of @object, or @fallback when absent or not a string. */
const char *output__str(const json_t *object, const char *key, const char *fallback);

/* "Enabled" / "Disabled" for a policy-enforcement flag; "-" when unknown. */
const char *output__enforcement(const json_t *flag);

/*
 * One "Name:   value" line of a detail view, the values aligned in one column.
 * A value holding '\n' continues on lines indented to that column.
 */
void output__field(const char *name, const char *value);
/* Same, taking ownership of the malloc'ed @value (see output__value()). */
void output__field_owned(const char *name, char *value);

/*
 * The objects of @array ordered by their integer "id" member, for stable human
 * output: a new array of *n borrowed pointers, which the caller frees.
 */
json_t **output__sorted_by_id(const json_t *array, size_t *n);

/* An aligned table; a cell holding '\n' spans several lines of its row. */
struct table;

/* New table with @ncols columns named by @headers (borrowed). Exits on ENOMEM. */
struct table *table__new(const char *const *headers, int ncols);
/* Append a row of ncols cells; the cells are copied. */
void table__add_row(struct table *table, const char *const *cells);
/* Same, but takes ownership of the malloc'ed cells (see output__value()). */
void table__add_row_owned(struct table *table, char **cells);
/* Print, each line after @indent blanks, two spaces between columns, no trailing blanks.
 */
void table__print(const struct table *table, FILE *out, int indent);
void table__free(struct table *table);

/* Exit with a message when memory runs out: the CLI has nothing to recover. */
void *xmalloc(size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* WARDEN_CLI_OUTPUT_H */
