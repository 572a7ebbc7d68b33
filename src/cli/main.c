// SPDX-License-Identifier: Apache-2.0
/*
 * warden: the command-line client of wardend. Global options, the object table,
 * and the one connection to the agent that every command shares.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "main.h"
#include "output.h"

const char *socket_path = WARDEN_DEFAULT_SOCKET;

static struct client *client;

static void do_help_main(FILE *out)
{
	fprintf(
	    out,
	    "Usage: warden [OPTIONS] OBJECT { COMMAND | help }\n"
	    "       warden help\n"
	    "       warden --version\n"
	    "\n"
	    "OBJECT  := { status | endpoint | namespace | identity | policy | bpf | "
	    "monitor }\n"
	    "OPTIONS := { --socket PATH | --json | -h | --help | --version }\n"
	    "\n"
	    "  --socket PATH  control socket of wardend (default: $WARDEN_SOCKET, else\n"
	    "                 " WARDEN_DEFAULT_SOCKET ")\n"
	    "  --json         print the agent's result as JSON, and errors as\n"
	    "                 {\"error\": \"...\"} on stdout; also accepted after the "
	    "verb\n"
	    "\n"
	    "Run 'warden OBJECT help' for the commands of an object.\n");
}

static const struct cmd objects[] = {
    {"status", do_status},	 {"endpoint", do_endpoint},
    {"namespace", do_namespace}, {"identity", do_identity},
    {"policy", do_policy},	 {"bpf", do_bpf},
    {"monitor", do_monitor},	 {NULL, NULL},
};

int cmd__dispatch(const char *object, const struct cmd *cmds, help_fn help, int argc,
		  char **argv)
{
	const struct cmd *cmd;

	/* "--json" may come anywhere after the object, so also before the verb. */
	while (argc > 0 && !strcmp(argv[0], "--json")) {
		json_output = true;
		argc--, argv++;
	}
	if (argc == 0)
		return args__usage_error(help, "%s: missing command", object);
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "-h") ||
	    !strcmp(argv[0], "--help")) {
		help(stdout);
		return 0;
	}
	for (cmd = cmds; cmd->verb; cmd++)
		if (!strcmp(cmd->verb, argv[0]))
			return cmd->fn(argc - 1, argv + 1);
	return args__usage_error(help, "unknown %s command '%s'", object, argv[0]);
}

struct client *cli__client(void)
{
	int err;

	if (client)
		return client;
	err = client__connect(socket_path, &client);
	if (err) {
		client = NULL;
		output__error("cannot reach wardend at %s: %s (is wardend running?)",
			      socket_path, strerror(-err));
	}
	return client;
}

int cli__call(const char *cmd, json_t *args, json_t **result)
{
	int err;

	/* Every request carries an "args" object, {} when the command has none. */
	if (!args)
		return output__error(
		    "cannot encode the %s request (an argument is not UTF-8?)", cmd);
	if (!cli__client()) {
		json_decref(args);
		return 1;
	}
	err = client__call(client, cmd, args, result);
	json_decref(args);
	if (err)
		return output__error("%s", client__error(client));
	return 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("WARDEN_SOCKET");
	const struct cmd *object;
	bool version = false;
	int i, status;

	if (env && *env)
		socket_path = env;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *word = argv[i];

		if (!strcmp(word, "--json")) {
			json_output = true;
		} else if (!strcmp(word, "--version")) {
			version = true;
		} else if (!strcmp(word, "-h") || !strcmp(word, "--help")) {
			do_help_main(stdout);
			return 0;
		} else if (!strcmp(word, "--socket")) {
			if (++i == argc)
				return args__usage_error(
				    do_help_main, "option '--socket' needs a value");
			socket_path = argv[i];
		} else if (!strncmp(word, "--socket=", 9)) {
			socket_path = word + 9;
		} else {
			return args__usage_error(do_help_main, "unknown option '%s'",
						 word);
		}
	}
	if (!*socket_path)
		return args__usage_error(do_help_main, "the socket path is empty");

	if (version) {
		if (json_output) {
			json_t *doc = json_pack("{s:s}", "version", WARDEN_VERSION);

			status = output__json(doc);
			json_decref(doc);
			return status;
		}
		printf("warden %s\n", WARDEN_VERSION);
		return 0;
	}

	if (i == argc)
		return args__usage_error(do_help_main, "missing object");
	if (!strcmp(argv[i], "help")) {
		do_help_main(stdout);
		return 0;
	}
	for (object = objects; object->verb; object++)
		if (!strcmp(object->verb, argv[i]))
			break;
	if (!object->verb)
		return args__usage_error(do_help_main, "unknown object '%s'", argv[i]);
	status = object->fn(argc - i - 1, argv + i + 1);
	client__free(client);
	return status;
}
