/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every object of the `warden` CLI shares: the verb tables, the call to the
 * agent, and the entry point of each object. An object's entry point gets the
 * words after the object name and returns the process exit status: 0 success,
 * 1 error (already reported), 2 usage error (already reported with the help).
 */
#ifndef WARDEN_CLI_MAIN_H
#define WARDEN_CLI_MAIN_H

#include <jansson.h>
#include <stdio.h>

#include "args.h"

#include "warden/version.h"

#define WARDEN_DEFAULT_SOCKET "/run/warden/warden.sock"
#define WARDEN_DEFAULT_NAMESPACE "default"

/* The socket chosen by --socket, $WARDEN_SOCKET or the default. */
extern const char *socket_path;

struct cmd {
	const char *verb;
	int (*fn)(int argc, char **argv); /* the words after the verb */
};

/*
 * Run the verb argv[0] of @object from @cmds (ended by a NULL verb). "help" (or
 * -h/--help) prints @help to stdout; a missing or unknown verb is a usage error.
 */
int cmd__dispatch(const char *object, const struct cmd *cmds, help_fn help, int argc,
		  char **argv);

/*
 * Send one request to wardend, connecting on first use. @args, the request's
 * "args" object ({} for none), is stolen; NULL (a failed json_pack()) is reported
 * as an error, so callers may pass json_pack() directly. On success returns 0 and
 * *result is a new reference the caller releases. On failure the error has been
 * reported (human or JSON) and 1 is returned.
 */
int cli__call(const char *cmd, json_t *args, json_t **result);

/*
 * Connect to wardend now (cli__call() does it on first use). Returns the
 * client, or NULL after reporting "cannot reach wardend at PATH: ...".
 */
struct client *cli__client(void);

int do_status(int argc, char **argv);
int do_endpoint(int argc, char **argv);
int do_namespace(int argc, char **argv);
int do_identity(int argc, char **argv);
int do_policy(int argc, char **argv);
int do_bpf(int argc, char **argv);
int do_monitor(int argc, char **argv);

#endif /* WARDEN_CLI_MAIN_H */
