// SPDX-License-Identifier: Apache-2.0
/* warden namespace: the labels of namespaces, which every endpoint in them inherits. */
#include <stdlib.h>

#include "main.h"
#include "output.h"

static void do_help(FILE *out)
{
	fprintf(out, "Usage: warden namespace label NS CHANGE...\n"
		     "       warden namespace list\n"
		     "       warden namespace help\n"
		     "\n"
		     "CHANGE := { KEY=VALUE | KEY- }   (KEY- removes the label KEY)\n"
		     "Every command takes --json.\n");
}

static int do_label(int argc, char **argv)
{
	json_t *set = json_array(), *remove = json_array(), *result;
	struct args args;
	int status;

	if (!args__parse(argc, argv, NULL, 0, do_help, &args, &status))
		goto out;
	if (args.npositional == 0)
		status =
		    args__usage_error(do_help, "namespace label: missing namespace NS");
	else
		status = args__label_changes(args.positional + 1, args.npositional - 1,
					     set, remove, do_help);
	if (!status)
		status =
		    cli__call("namespace.label",
			      json_pack("{s:s, s:O, s:O}", "namespace",
					args.positional[0], "set", set, "remove", remove),
			      &result);
	if (!status) {
		if (json_output) {
			status = output__json(result);
		} else {
			char *labels =
			    output__value(json_object_get(result, "labels"), ", ");

			printf("namespace %s labeled: %s\n",
			       output__str(result, "namespace", args.positional[0]),
			       labels);
			free(labels);
		}
		json_decref(result);
	}
	args__free(&args);
out:
	json_decref(set);
	json_decref(remove);
	return status;
}

static int do_list(int argc, char **argv)
{
	static const char *const headers[] = {"NAMESPACE", "LABELS"};
	const json_t *namespace;
	struct table *table;
	struct args args;
	json_t *result;
	int status;
	size_t i;

	if (!args__parse(argc, argv, NULL, 0, do_help, &args, &status))
		return status;
	status =
	    args.npositional
		? args__usage_error(do_help, "namespace list: unexpected argument '%s'",
				    args.positional[0])
		: 0;
	args__free(&args);
	if (status)
		return status;

	if (cli__call("namespace.list", json_object(), &result))
		return 1;
	if (json_output) {
		status = output__json(result);
		json_decref(result);
		return status;
	}
	table = table__new(headers, 2);
	json_array_foreach (result, i, namespace) {
		char *cells[] = {
		    output__value(json_object_get(namespace, "namespace"), ","),
		    output__value(json_object_get(namespace, "labels"), "\n"),
		};

		table__add_row_owned(table, cells);
	}
	table__print(table, stdout, 0);
	table__free(table);
	json_decref(result);
	return 0;
}

static const struct cmd cmds[] = {
    {"label", do_label},
    {"list", do_list},
    {NULL, NULL},
};

int do_namespace(int argc, char **argv)
{
	return cmd__dispatch("namespace", cmds, do_help, argc, argv);
}
