// SPDX-License-Identifier: Apache-2.0
/* warden status: the agent's health and the datapath's fill levels. */
#include <stdlib.h>
#include <string.h>

#include "main.h"
#include "output.h"

static void do_help(FILE *out)
{
	fprintf(out, "Usage: warden status [--json]\n"
		     "       warden status help\n");
}

static void print_maps(const json_t *maps)
{
	static const char *const headers[] = {"NAME", "USED", "CAPACITY", ""};
	struct table *table;
	const json_t *map;
	size_t i;

	if (json_array_size(maps) == 0) {
		output__field("Maps", "-");
		return;
	}
	output__field("Maps", "");
	table = table__new(headers, 4);
	json_array_foreach (maps, i, map) {
		char *cells[] = {
		    output__value(json_object_get(map, "name"), ","),
		    output__value(json_object_get(map, "used"), ","),
		    output__value(json_object_get(map, "capacity"), ","),
		    strdup(json_is_true(json_object_get(map, "near_capacity"))
			       ? "WARNING: near capacity"
			       : ""),
		};

		table__add_row_owned(table, cells);
	}
	table__print(table, stdout, 2);
	table__free(table);
}

static void print_status(const json_t *status)
{
	const json_t *datapath = json_object_get(status, "datapath");
	static const struct {
		const char *key, *name;
	} fields[] = {
	    {"version", "Version"},
	    {"socket", "Socket"},
	    {"state_dir", "State directory"},
	    {"pod_cidr", "Pod CIDR"},
	    {"host_ipv4", "Host IPv4"},
	    {"policy_revision", "Policy revision"},
	    {"endpoints", "Endpoints"},
	    {"identities", "Identities"},
	    {"policies", "Policies"},
	    {"deny_response", "Deny response"},
	    {"cidr_rules_select_pods", "CIDRs match pods"},
	    {"forwards", "Forwarded"},
	    {"drops", "Dropped"},
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		output__field_owned(
		    fields[i].name,
		    output__value(json_object_get(status, fields[i].key), "\n"));
	/* Not in the protocol's table (yet); shown when the agent reports it. */
	if (json_object_get(status, "events_lost"))
		output__field_owned(
		    "Events lost",
		    output__value(json_object_get(status, "events_lost"), ","));
	output__field_owned("Programs",
			    output__value(json_object_get(datapath, "programs"), "\n"));
	print_maps(json_object_get(datapath, "maps"));
}

int do_status(int argc, char **argv)
{
	struct args args;
	json_t *result;
	int status;

	if (argc > 0 && !strcmp(argv[0], "help")) {
		do_help(stdout);
		return 0;
	}
	if (!args__parse(argc, argv, NULL, 0, do_help, &args, &status))
		return status;
	status = args.npositional
		     ? args__usage_error(do_help, "status: unexpected argument '%s'",
					 args.positional[0])
		     : 0;
	args__free(&args);
	if (status)
		return status;

	if (cli__call("status", json_object(), &result))
		return 1;
	if (json_output)
		status = output__json(result);
	else
		print_status(result);
	json_decref(result);
	return status;
}
