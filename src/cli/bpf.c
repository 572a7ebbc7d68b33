// SPDX-License-Identifier: Apache-2.0
/* warden bpf: what the datapath holds, as the agent compiled it into the maps,
 * and whether the kernel really holds it (`bpf check`). */
#include <stdlib.h>

#include "main.h"
#include "output.h"

static void do_help(FILE *out)
{
	fprintf(out,
		"Usage: warden bpf policy get ENDPOINT [--namespace NS] [--json]\n"
		"       warden bpf check [--json]\n"
		"       warden bpf help\n"
		"\n"
		"NS defaults to \"" WARDEN_DEFAULT_NAMESPACE "\".\n"
		"check compares every map the agent writes (policy, endpoints,\n"
		"local endpoints, ipcache) with the agent's view, and the proxy's\n"
		"policy revision with the agent's; exit status 1 when they differ.\n");
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

/* One differing entry in a line, e.g. "stale: endpoint 3 ingress identity 0 TCP/80
 * kernel=allow". */
static void print_check_entry(const char *map, const json_t *e)
{
	const char *problem = output__str(e, "problem", "?");
	char *agent = output__value(json_object_get(e, "agent"), ",");
	char *kernel = output__value(json_object_get(e, "kernel"), ",");

	printf("  %s %s: ", map, problem);
	if (json_object_get(e, "prefix")) {
		printf("%s", output__str(e, "prefix", "?"));
	} else if (json_object_get(e, "endpoint_id") && json_object_get(e, "direction")) {
		char *id = output__value(json_object_get(e, "endpoint_id"), ",");
		char *peer = format_wildcard(json_object_get(e, "identity"));

		printf("endpoint %s %s identity %s %s/%s", id,
		       output__str(e, "direction", "?"), peer,
		       output__str(e, "protocol", "?"), output__str(e, "ports", "?"));
		free(id);
		free(peer);
	} else if (json_object_get(e, "ifindex")) {
		char *ifindex = output__value(json_object_get(e, "ifindex"), ",");

		printf("ifindex %s", ifindex);
		free(ifindex);
	} else {
		printf("%s", output__str(e, "ipv4", "?"));
	}
	printf(" agent=%s kernel=%s\n", agent, kernel);
	free(agent);
	free(kernel);
}

static void print_check(const json_t *report)
{
	static const char *const headers[] = {"MAP",	 "AGENT", "KERNEL",
					      "MISSING", "STALE", "DIFFERING"};
	struct table *table = table__new(headers, 6);
	const json_t *map, *proxy = json_object_get(report, "proxy"), *entry;
	size_t i, j;

	json_array_foreach (json_object_get(report, "maps"), i, map) {
		char *cells[] = {
		    output__value(json_object_get(map, "map"), ","),
		    output__value(json_object_get(map, "agent"), ","),
		    output__value(json_object_get(map, "kernel"), ","),
		    output__value(json_object_get(map, "missing"), ","),
		    output__value(json_object_get(map, "stale"), ","),
		    output__value(json_object_get(map, "differing"), ","),
		};

		table__add_row_owned(table, cells);
	}
	table__print(table, stdout, 0);
	table__free(table);
	json_array_foreach (json_object_get(report, "maps"), i, map) {
		json_array_foreach (json_object_get(map, "entries"), j, entry)
			print_check_entry(output__str(map, "map", "?"), entry);
		if (json_is_true(json_object_get(map, "truncated")))
			printf("  %s: (more not listed)\n", output__str(map, "map", "?"));
	}
	if (proxy) {
		char *revision = output__value(json_object_get(proxy, "revision"), ",");
		char *document =
		    output__value(json_object_get(proxy, "document_revision"), ",");

		printf("proxy: %s (holds revision %s, the agent's document is revision "
		       "%s)\n",
		       output__str(proxy, "state", "?"), revision, document);
		free(revision);
		free(document);
	}
	printf("%s\n", json_is_true(json_object_get(report, "clean"))
			   ? "clean: the kernel holds what the agent says"
			   : "DIFFERENT: the kernel does not hold what the agent says");
}

static int do_check(int argc, char **argv)
{
	const struct arg_option options[] = {{NULL}};
	struct args args;
	json_t *result;
	int status;

	if (!args__parse(argc, argv, options, 0, do_help, &args, &status))
		return status;
	if (args.npositional) {
		status = args__usage_error(do_help, "bpf check: unexpected argument '%s'",
					   args.positional[0]);
		args__free(&args);
		return status;
	}
	args__free(&args);
	status = cli__call("bpf.check", json_object(), &result);
	if (status)
		return status;
	if (json_output)
		status = output__json(result);
	else
		print_check(result);
	if (!status && !json_is_true(json_object_get(result, "clean")))
		status = 1;
	json_decref(result);
	return status;
}

static const struct cmd cmds[] = {
    {"policy", do_policy_map},
    {"check", do_check},
    {NULL, NULL},
};

int do_bpf(int argc, char **argv)
{
	return cmd__dispatch("bpf", cmds, do_help, argc, argv);
}
