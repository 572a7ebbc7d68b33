// SPDX-License-Identifier: Apache-2.0
/* warden bpf: what the datapath holds, as the agent compiled it into the maps. */
#include <stdlib.h>

#include "main.h"
#include "output.h"

static void do_help(FILE *out)
{
	fprintf(out, "Usage: warden bpf policy get ENDPOINT [--namespace NS] [--json]\n"
		     "       warden bpf help\n"
		     "\n"
		     "NS defaults to \"" WARDEN_DEFAULT_NAMESPACE "\".\n");
}

/* A wildcard in a policy map key (identity, protocol or port 0, or null) reads "any". */
static char *format_wildcard(const json_t *value)
{
	if (!value || json_is_null(value) ||
	    (json_is_integer(value) && json_integer_value(value) == 0))
		return xstrdup("any");
	return output__value(value, ",");
}

static char *format_enforcement(const json_t *enforcement)
{
	if (!json_is_object(enforcement))
		return output__value(enforcement, ",");
	return xasprintf("ingress %s, egress %s",
			 output__enforcement(json_object_get(enforcement, "ingress")),
			 output__enforcement(json_object_get(enforcement, "egress")));
}

static void print_policy_map(const json_t *map)
{
	static const char *const headers[] = {"DIRECTION", "IDENTITY", "LABELS", "PROTO",
					      "PORTS",	   "VERDICT",  "RULE"};
	char *id = output__value(json_object_get(map, "endpoint_id"), ",");
	char *enforcement =
	    format_enforcement(json_object_get(map, "policy_enforcement"));
	struct table *table = table__new(headers, 7);
	const json_t *entry;
	size_t i;

	printf("Endpoint %s (id %s)\n", output__str(map, "endpoint", "-"), id);
	printf("Policy enforcement: %s\n\n", enforcement);
	free(id);
	free(enforcement);

	json_array_foreach (json_object_get(map, "entries"), i, entry) {
		char *cells[] = {
		    output__value(json_object_get(entry, "direction"), ","),
		    format_wildcard(json_object_get(entry, "identity")),
		    output__value(json_object_get(entry, "labels"), "\n"),
		    format_wildcard(json_object_get(entry, "protocol")),
		    format_wildcard(json_object_get(entry, "ports")),
		    output__value(json_object_get(entry, "verdict"), ","),
		    output__value(json_object_get(entry, "rule"), "\n"),
		};

		table__add_row_owned(table, cells);
	}
	table__print(table, stdout, 0);
	table__free(table);
}

static int do_policy_get(int argc, char **argv)
{
	const char *namespace = WARDEN_DEFAULT_NAMESPACE;
	const struct arg_option options[] = {
	    {"--namespace", ARG_STRING, &namespace},
	    {NULL},
	};
	struct args args;
	json_t *result;
	int status;

	if (!args__parse(argc, argv, options, 0, do_help, &args, &status))
		return status;
	if (args.npositional != 1) {
		status =
		    args.npositional
			? args__usage_error(do_help,
					    "bpf policy get: unexpected argument '%s'",
					    args.positional[1])
			: args__usage_error(do_help, "bpf policy get: missing ENDPOINT");
		args__free(&args);
		return status;
	}
	status = cli__call(
	    "bpf.policy.get",
	    json_pack("{s:s, s:s}", "name", args.positional[0], "namespace", namespace),
	    &result);
	args__free(&args);
	if (status)
		return status;
	if (json_output)
		status = output__json(result);
	else
		print_policy_map(result);
	json_decref(result);
	return status;
}

static const struct cmd policy_cmds[] = {
    {"get", do_policy_get},
    {NULL, NULL},
};

static int do_policy_map(int argc, char **argv)
{
	return cmd__dispatch("bpf policy", policy_cmds, do_help, argc, argv);
}

static const struct cmd cmds[] = {
    {"policy", do_policy_map},
    {NULL, NULL},
};

int do_bpf(int argc, char **argv)
{
	return cmd__dispatch("bpf", cmds, do_help, argc, argv);
}
