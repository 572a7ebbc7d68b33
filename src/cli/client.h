/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI side of the control protocol (docs/control-protocol.md): a Unix stream
 * connection to wardend carrying one JSON object per line in each direction.
 * Knows nothing of commands or output formats.
 */
#ifndef WARDEN_CLI_CLIENT_H
#define WARDEN_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct client;

/*
 * Connect to the agent's socket at @path. On success *out is a new client the
 * caller frees with client__free(). Returns 0 or -errno (-ENAMETOOLONG when @path
 * does not fit a sockaddr_un). The socket is close-on-exec.
 */
int client__connect(const char *path, struct client **out);
void client__free(struct client *client);

/*
 * Send one request line {"cmd": @cmd, "args": @args}. @args is borrowed and may be
 * NULL (no "args" member). Returns 0 or -errno.
 */
int client__send(struct client *client, const char *cmd, json_t *args);

/*
 * Read the next line sent by the agent, without its newline. *line points into
 * the client's buffer (NUL-terminated) and stays valid until the next read.
 * Returns 0, -ENODATA at a clean end of stream, -EINTR when a signal interrupted
 * the wait (nothing is lost; call again), or another -errno.
 */
int client__read_line(struct client *client, const char **line, size_t *len);

/*
 * One request, one response. On success *result is the response's "result" (a
 * new reference; JSON null when the agent sent none) and 0 is returned. On
 * failure returns -errno: -EREMOTEIO when the agent answered {"ok": false},
 * -EPROTO when the answer is not a protocol response; client__error() then says
 * what went wrong in words fit for a user.
 */
int client__call(struct client *client, const char *cmd, json_t *args, json_t **result);

/* The connected socket, e.g. to shut it down from a signal handler. */
int client__fd(const struct client *client);
/* Does a whole line wait in the buffer (client__read_line will not block)? */
bool client__has_line(const struct client *client);

/* The message describing the last failure of client__call(). Borrowed. */
const char *client__error(const struct client *client);

#endif /* WARDEN_CLI_CLIENT_H */
