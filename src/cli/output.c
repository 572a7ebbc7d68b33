// SPDX-License-Identifier: Apache-2.0
/* Human and JSON output helpers of the CLI: errors, tables, value formatting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

bool json_output;

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p) {
		fputs("warden: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

char *xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(xmalloc(len), s, len);
}

char *xasprintf(const char *fmt, ...)
{
	char *text;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("warden: out of memory\n", stderr);
		exit(1);
	}
	return text;
}

int output__error(const char *fmt, ...)
{
	char *message = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&message, fmt, ap) < 0)
		message = NULL;
	va_end(ap);

	if (json_output) {
		json_t *doc =
		    json_pack("{s:s}", "error", message ? message : "out of memory");
		char *text = doc ? json_dumps(doc, 0) : NULL;

		/* Even if encoding failed, stdout must still carry a JSON document. */
		puts(text ? text : "{\"error\": \"out of memory\"}");
		free(text);
		json_decref(doc);
		fflush(stdout);
	} else {
		fprintf(stderr, "warden: %s\n", message ? message : "out of memory");
	}
	free(message);
	return 1;
}

int output__json(const json_t *value)
{
	/* 15 digits: the agent's 0.4 ms prints as 0.4, not 0.40000000000000002. */
	size_t flags = JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);

	if (json_dumpf(value, stdout, flags) < 0 || putchar('\n') == EOF ||
	    fflush(stdout) == EOF) {
		fprintf(stderr, "warden: cannot write output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

void output__warnings(const json_t *warnings)
{
	const json_t *warning;
	size_t i;

	json_array_foreach (warnings, i, warning) {
		char *text = output__value(warning, ", ");

		fprintf(stderr, "warning: %s\n", text);
		free(text);
	}
}

char *output__value(const json_t *value, const char *sep)
{
	char *text = NULL;

	switch (value ? json_typeof(value) : JSON_NULL) {
	case JSON_STRING:
		return xstrdup(json_string_value(value));
	case JSON_INTEGER:
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(value));
	case JSON_REAL:
		return xasprintf("%.15g", json_real_value(value));
	case JSON_TRUE:
		return xstrdup("yes");
	case JSON_FALSE:
		return xstrdup("no");
	case JSON_NULL:
		return xstrdup("-");
	case JSON_ARRAY: {
		size_t i, len = 0, seplen = strlen(sep);
		char **parts;
		const json_t *item;

		if (json_array_size(value) == 0)
			return xstrdup("-");
		parts = xmalloc(json_array_size(value) * sizeof(*parts));
		json_array_foreach (value, i, item) {
			parts[i] = output__value(item, sep);
			len += strlen(parts[i]) + seplen;
		}
		text = xmalloc(len + 1);
		text[0] = '\0';
		len = 0;
		for (i = 0; i < json_array_size(value); i++) {
			size_t part = strlen(parts[i]);

			if (i > 0) {
				memcpy(text + len, sep, seplen);
				len += seplen;
			}
			memcpy(text + len, parts[i], part + 1);
			len += part;
			free(parts[i]);
		}
		free(parts);
		return text;
	}
	case JSON_OBJECT:
		text = json_dumps(value, JSON_COMPACT);
		break;
	}
	if (!text) {
		fputs("warden: out of memory\n", stderr);
		exit(1);
	}
	return text;
}

const char *output__str(const json_t *object, const char *key, const char *fallback)
{
	const char *s = json_string_value(json_object_get(object, key));

	return s ? s : fallback;
}

const char *output__enforcement(const json_t *flag)
{
	if (json_is_boolean(flag))
		return json_is_true(flag) ? "Enabled" : "Disabled";
	return "-";
}

#define FIELD_WIDTH 18

void output__field(const char *name, const char *value)
{
	int pad = FIELD_WIDTH - 1 - (int)strlen(name);
	const char *line = value;

	if (!*value) {
		/* A heading for what follows (a table): no trailing blanks. */
		printf("%s:\n", name);
		return;
	}

	printf("%s:%*s", name, pad > 0 ? pad : 1, "");
	for (;;) {
		const char *end = strchrnul(line, '\n');

		printf("%.*s\n", (int)(end - line), line);
		if (!*end)
			break;
		line = end + 1;
		printf("%*s", FIELD_WIDTH, "");
	}
}

void output__field_owned(const char *name, char *value)
{
	output__field(name, value);
	free(value);
}

static int compare_by_id(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));

	return (x > y) - (x < y);
}

json_t **output__sorted_by_id(const json_t *array, size_t *n)
{
	json_t **sorted;
	size_t i;

	*n = json_array_size(array);
	sorted = xmalloc(*n * sizeof(*sorted));
	for (i = 0; i < *n; i++)
		sorted[i] = json_array_get(array, i);
	qsort(sorted, *n, sizeof(*sorted), compare_by_id);
	return sorted;
}

/* ---- tables ---- */

struct table {
	int ncols;
	const char *const *headers;
	char **cells; /* nrows * ncols, row-major */
	size_t nrows, cap;
};

struct table *table__new(const char *const *headers, int ncols)
{
	struct table *table = xmalloc(sizeof(*table));

	*table = (struct table){.ncols = ncols, .headers = headers};
	return table;
}

void table__add_row_owned(struct table *table, char **cells)
{
	int col;

	if (table->nrows == table->cap) {
		size_t cap = table->cap ? table->cap * 2 : 16;
		char **grown = realloc(table->cells, cap * table->ncols * sizeof(*grown));

		if (!grown) {
			fputs("warden: out of memory\n", stderr);
			exit(1);
		}
		table->cells = grown;
		table->cap = cap;
	}
	for (col = 0; col < table->ncols; col++)
		table->cells[table->nrows * table->ncols + col] = cells[col];
	table->nrows++;
}

void table__add_row(struct table *table, const char *const *cells)
{
	char *copies[table->ncols];
	int col;

	for (col = 0; col < table->ncols; col++)
		copies[col] = xstrdup(cells[col] ? cells[col] : "-");
	table__add_row_owned(table, copies);
}

/* Terminal columns taken by the @len bytes at @s: UTF-8 code points, not bytes. */
static size_t display_width(const char *s, size_t len)
{
	size_t i, width = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			width++;
	return width;
}

/* Length of the @index'th '\n'-separated line of @cell, which starts at *line. */
static size_t cell_line(const char *cell, size_t index, const char **line)
{
	const char *end;

	while (index-- > 0) {
		cell = strchr(cell, '\n');
		if (!cell) {
			*line = "";
			return 0;
		}
		cell++;
	}
	end = strchrnul(cell, '\n');
	*line = cell;
	return (size_t)(end - cell);
}

static size_t cell_lines(const char *cell)
{
	size_t n = 1;

	while ((cell = strchr(cell, '\n')))
		n++, cell++;
	return n;
}

static const char *table_cell(const struct table *table, size_t row, int col)
{
	/* Row 0 is the header. */
	if (row == 0)
		return table->headers[col];
	return table->cells[(row - 1) * table->ncols + col];
}

void table__print(const struct table *table, FILE *out, int indent)
{
	size_t widths[table->ncols];
	size_t row, line;
	int col;

	for (col = 0; col < table->ncols; col++) {
		widths[col] = 0;
		for (row = 0; row <= table->nrows; row++) {
			const char *cell = table_cell(table, row, col);
			size_t n = cell_lines(cell);

			for (line = 0; line < n; line++) {
				const char *text;
				size_t len = cell_line(cell, line, &text);
				size_t width = display_width(text, len);

				if (width > widths[col])
					widths[col] = width;
			}
		}
	}

	for (row = 0; row <= table->nrows; row++) {
		size_t nlines = 1;

		for (col = 0; col < table->ncols; col++) {
			size_t n = cell_lines(table_cell(table, row, col));

			if (n > nlines)
				nlines = n;
		}
		for (line = 0; line < nlines; line++) {
			size_t pending =
			    (size_t)indent; /* blanks owed before the next text */

			for (col = 0; col < table->ncols; col++) {
				const char *text;
				size_t len =
				    cell_line(table_cell(table, row, col), line, &text);

				if (len > 0) {
					fprintf(out, "%*s%.*s", (int)pending, "",
						(int)len, text);
					pending = 0;
				}
				/* Padding is only written when text follows: no trailing
				 * blanks. */
				pending += widths[col] - display_width(text, len) +
					   (col + 1 < table->ncols ? 2 : 0);
			}
			fputc('\n', out);
		}
	}
}

void table__free(struct table *table)
{
	size_t i;

	if (!table)
		return;
	for (i = 0; i < table->nrows * table->ncols; i++)
		free(table->cells[i]);
	free(table->cells);
	free(table);
}
