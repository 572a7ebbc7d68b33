// SPDX-License-Identifier: Apache-2.0
/* warden identity: the security identities the agent allocated, and their labels. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "main.h"
#include "output.h"

static void do_help(FILE *out)
{
	fprintf(out, "Usage: warden identity list [--json]\n"
		     "       warden identity get ID [--json]\n"
		     "       warden identity help\n");
}

/* Parse a command of exactly @nwords words and no options of its own. */
static bool parse_words(int argc, char **argv, const char *verb, int nwords,
			struct args *args, int *status)
{
	if (!args__parse(argc, argv, NULL, 0, do_help, args, status))
		return false;
	if (args->npositional > nwords)
		*status =
		    args__usage_error(do_help, "identity %s: unexpected argument '%s'",
				      verb, args->positional[nwords]);
	else if (args->npositional < nwords)
		*status =
		    args__usage_error(do_help, "identity %s: missing identity ID", verb);
	else
		return true;
	args__free(args);
	return false;
}

static int do_list(int argc, char **argv)
{
	static const char *const headers[] = {"ID", "LABELS"};
	struct table *table;
	struct args args;
	json_t *result, **sorted;
	size_t i, n;
	int status;

	if (!parse_words(argc, argv, "list", 0, &args, &status))
		return status;
	args__free(&args);
	if (cli__call("identity.list", json_object(), &result))
		return 1;
	if (json_output) {
		status = output__json(result);
		json_decref(result);
		return status;
	}

	sorted = output__sorted_by_id(result, &n);
	table = table__new(headers, 2);
	for (i = 0; i < n; i++) {
		char *cells[] = {
		    output__value(json_object_get(sorted[i], "id"), ","),
		    output__value(json_object_get(sorted[i], "labels"), "\n"),
		};

		table__add_row_owned(table, cells);
	}
	table__print(table, stdout, 0);
	table__free(table);
	free(sorted);
	json_decref(result);
	return 0;
}

static void print_identity(const json_t *identity)
{
	const json_t *cidr = json_object_get(identity, "cidr");

	output__field_owned("ID", output__value(json_object_get(identity, "id"), ","));
	output__field_owned("Labels",
			    output__value(json_object_get(identity, "labels"), "\n"));
	output__field_owned("Reserved",
			    output__value(json_object_get(identity, "reserved"), ","));
	if (cidr && !json_is_null(cidr))
		output__field_owned("CIDR", output__value(cidr, ","));
	/* The pods inside the CIDR (a NetworkPolicy ipBlock), not the world. */
	if (json_is_true(json_object_get(identity, "pod_cidr")))
		output__field_owned("Pod CIDR", output__value(json_true(), ","));
	output__field_owned("Endpoints",
			    output__value(json_object_get(identity, "endpoints"), "\n"));
}

static int do_get(int argc, char **argv)
{
	struct args args;
	json_t *result;
	char *end;
	unsigned long long id;
	int status;

	if (!parse_words(argc, argv, "get", 1, &args, &status))
		return status;
	errno = 0;
	id = strtoull(args.positional[0], &end, 10);
	/* Identities are 32-bit numbers; strtoull would accept "-1" and " 1". */
	if (*end || end == args.positional[0] || errno || id > UINT32_MAX ||
	    args.positional[0][0] < '0' || args.positional[0][0] > '9') {
		status =
		    args__usage_error(do_help, "identity get: invalid identity ID '%s'",
				      args.positional[0]);
		args__free(&args);
		return status;
	}
	args__free(&args);

	if (cli__call("identity.get", json_pack("{s:I}", "id", (json_int_t)id), &result))
		return 1;
	if (json_output)
		status = output__json(result);
	else
		print_identity(result);
	json_decref(result);
	return status;
}

static const struct cmd cmds[] = {
    {"list", do_list},
    {"get", do_get},
    {NULL, NULL},
};

int do_identity(int argc, char **argv)
{
	return cmd__dispatch("identity", cmds, do_help, argc, argv);
}
