// SPDX-License-Identifier: Apache-2.0
/* Per-command option parsing of the CLI. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "output.h"

int args__usage_error(help_fn help, const char *fmt, ...)
{
	char *message = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&message, fmt, ap) < 0)
		message = NULL;
	va_end(ap);
	output__error("%s", message ? message : "usage error");
	free(message);
	if (help) {
		fputc('\n', stderr);
		help(stderr);
	}
	return 2;
}

static const struct arg_option *find_option(const struct arg_option *options,
					    const char *word, size_t len)
{
	for (; options && options->name; options++)
		if (strlen(options->name) == len && !strncmp(options->name, word, len))
			return options;
	return NULL;
}

/*
 * Append @value to a list option; ARG_CSV splits at commas and skips empty parts.
 * Returns false when @value is not UTF-8 (JSON strings must be).
 */
static bool append_value(const struct arg_option *option, const char *value)
{
	json_t *list = option->dest;
	const char *part = value;

	if (option->kind == ARG_LIST)
		return json_array_append_new(list, json_string(value)) == 0;
	for (;;) {
		const char *end = strchrnul(part, ',');

		if (end > part && json_array_append_new(
				      list, json_stringn(part, (size_t)(end - part))) < 0)
			return false;
		if (!*end)
			return true;
		part = end + 1;
	}
}

bool args__parse(int argc, char **argv, const struct arg_option *options, unsigned flags,
		 help_fn help, struct args *out, int *status)
{
	int i;

	*out = (struct args){0};
	*status = 0;
	out->positional = xmalloc((size_t)(argc + 1) * sizeof(*out->positional));

	for (i = 0; i < argc; i++) {
		const char *word = argv[i];
		const struct arg_option *option;
		const char *value, *eq;

		if (!strcmp(word, "--")) {
			if (flags & ARGS_KEEP_REST) {
				out->rest = argv + i + 1;
				out->nrest = argc - i - 1;
				break;
			}
			/* The usual meaning: every word after it is positional. */
			while (++i < argc)
				out->positional[out->npositional++] = argv[i];
			break;
		}
		if (!strcmp(word, "--json")) {
			json_output = true;
			continue;
		}
		if (!strcmp(word, "-h") || !strcmp(word, "--help")) {
			help(stdout);
			*status = 0;
			goto stop;
		}
		/* "-" alone is a word (stdin for policy import), so is anything not an
		 * option. */
		if (word[0] != '-' || word[1] == '\0') {
			out->positional[out->npositional++] = argv[i];
			continue;
		}

		eq = strchr(word, '=');
		option =
		    find_option(options, word, eq ? (size_t)(eq - word) : strlen(word));
		if (!option) {
			*status = args__usage_error(
			    help, "unknown option '%.*s'",
			    eq ? (int)(eq - word) : (int)strlen(word), word);
			goto stop;
		}
		if (option->kind == ARG_FLAG) {
			if (eq) {
				*status = args__usage_error(
				    help, "option '%s' takes no value", option->name);
				goto stop;
			}
			*(bool *)option->dest = true;
			continue;
		}
		if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			*status = args__usage_error(help, "option '%s' needs a value",
						    option->name);
			goto stop;
		}
		if (option->kind == ARG_STRING) {
			*(const char **)option->dest = value;
		} else if (!append_value(option, value)) {
			*status = args__usage_error(help, "%s '%s': not valid UTF-8",
						    option->name, value);
			goto stop;
		}
	}
	return true;

stop:
	args__free(out);
	return false;
}

void args__free(struct args *args)
{
	free(args->positional);
	args->positional = NULL;
	args->npositional = 0;
}

static bool is_label(const char *word)
{
	const char *eq = strchr(word, '=');

	return eq && eq > word;
}

int args__check_labels(const json_t *labels, help_fn help)
{
	const json_t *label;
	size_t i;

	json_array_foreach (labels, i, label) {
		const char *text = json_string_value(label);

		if (!is_label(text))
			return args__usage_error(
			    help, "invalid label '%s': expected KEY=VALUE", text);
	}
	return 0;
}

int args__label_changes(char **words, int nwords, json_t *set, json_t *remove,
			help_fn help)
{
	int i;

	if (nwords == 0)
		return args__usage_error(help,
					 "no label changes: give KEY=VALUE or KEY-");
	for (i = 0; i < nwords; i++) {
		size_t len = strlen(words[i]);

		int err;

		/* '=' first: "k=v-" sets k to "v-", it does not remove anything. */
		if (is_label(words[i]))
			err = json_array_append_new(set, json_string(words[i]));
		else if (!strchr(words[i], '=') && len > 1 && words[i][len - 1] == '-')
			err = json_array_append_new(remove,
						    json_stringn(words[i], len - 1));
		else
			return args__usage_error(
			    help, "invalid label change '%s': expected KEY=VALUE or KEY-",
			    words[i]);
		if (err)
			return args__usage_error(
			    help, "label change '%s': not valid UTF-8", words[i]);
	}
	return 0;
}
