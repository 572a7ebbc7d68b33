// SPDX-License-Identifier: Apache-2.0
/* The control-socket client: connect, send one JSON line, read JSON lines back. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"

/* A line longer than this is not something wardend would send; stop buffering. */
#define CLIENT_MAX_LINE (256u << 20)
#define CLIENT_READ_CHUNK 65536

struct client {
	int fd;
	char *buf;    /* received bytes; [start, len) not yet returned */
	size_t start; /* first byte of the next line */
	size_t len;   /* bytes in buf */
	size_t cap;
	char *error; /* message of the last failed client__call() */
};

int client__connect(const char *path, struct client **out)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct client *client;
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	client = calloc(1, sizeof(*client));
	if (!client) {
		close(fd);
		return -ENOMEM;
	}
	client->fd = fd;
	*out = client;
	return 0;
}

void client__free(struct client *client)
{
	if (!client)
		return;
	if (client->fd >= 0)
		close(client->fd);
	free(client->buf);
	free(client->error);
	free(client);
}

/* Write all of @data; send() with MSG_NOSIGNAL so a dead agent is EPIPE, not a kill. */
static int send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int client__send(struct client *client, const char *cmd, json_t *args)
{
	json_t *request;
	char *text;
	int err;

	request = json_pack("{s:s}", "cmd", cmd);
	if (!request)
		return -ENOMEM;
	if (args && json_object_set(request, "args", args) < 0) {
		json_decref(request);
		return -ENOMEM;
	}
	/* Compact: the protocol is one object per line, so no newlines inside. */
	text = json_dumps(request, JSON_COMPACT);
	json_decref(request);
	if (!text)
		return -ENOMEM;
	err = send_all(client->fd, text, strlen(text));
	if (!err)
		err = send_all(client->fd, "\n", 1);
	free(text);
	return err;
}

/* Make room for at least CLIENT_READ_CHUNK more bytes after buf[len]. */
static int make_room(struct client *client)
{
	char *grown;
	size_t cap;

	if (client->start > 0) {
		memmove(client->buf, client->buf + client->start,
			client->len - client->start);
		client->len -= client->start;
		client->start = 0;
	}
	if (client->cap - client->len >= CLIENT_READ_CHUNK)
		return 0;
	if (client->len >= CLIENT_MAX_LINE)
		return -EMSGSIZE;
	cap = client->cap ? client->cap * 2 : 2 * CLIENT_READ_CHUNK;
	while (cap - client->len < CLIENT_READ_CHUNK)
		cap *= 2;
	grown = realloc(client->buf, cap);
	if (!grown)
		return -ENOMEM;
	client->buf = grown;
	client->cap = cap;
	return 0;
}

bool client__has_line(const struct client *client)
{
	return client->len > client->start &&
	       memchr(client->buf + client->start, '\n', client->len - client->start);
}

int client__read_line(struct client *client, const char **line, size_t *len)
{
	size_t scanned = client->start;
	int err;

	for (;;) {
		char *nl = NULL;
		ssize_t n;

		if (client->len > scanned)
			nl = memchr(client->buf + scanned, '\n', client->len - scanned);
		if (nl) {
			*nl = '\0';
			*line = client->buf + client->start;
			*len = (size_t)(nl - *line);
			client->start = (size_t)(nl - client->buf) + 1;
			return 0;
		}
		err = make_room(client);
		if (err)
			return err;
		/* Everything buffered has been searched; only new bytes need a look. */
		scanned = client->len;
		n = read(client->fd, client->buf + client->len,
			 client->cap - client->len - 1);
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* Be lenient with a last line that lacks its newline. */
			if (client->len > client->start) {
				client->buf[client->len] = '\0';
				*line = client->buf + client->start;
				*len = client->len - client->start;
				client->start = client->len;
				return 0;
			}
			return -ENODATA;
		}
		client->len += (size_t)n;
	}
}

static void set_error(struct client *client, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct client *client, const char *fmt, ...)
{
	va_list ap;

	free(client->error);
	client->error = NULL;
	va_start(ap, fmt);
	if (vasprintf(&client->error, fmt, ap) < 0)
		client->error = NULL;
	va_end(ap);
}

int client__fd(const struct client *client)
{
	return client->fd;
}

const char *client__error(const struct client *client)
{
	return client->error ? client->error : "out of memory";
}

int client__call(struct client *client, const char *cmd, json_t *args, json_t **result)
{
	json_t *response, *ok, *message;
	json_error_t jerr;
	const char *line;
	size_t len;
	int err, send_err;

	send_err = client__send(client, cmd, args);
	/* A connection wardend refused (too many clients, not allowed) was
	 * closed right after one line saying why: that line may be waiting
	 * even though the request could not be sent. */
	if (send_err && send_err != -EPIPE && send_err != -ECONNRESET) {
		set_error(client, "cannot send request to wardend: %s",
			  strerror(-send_err));
		return send_err;
	}
	do
		err = client__read_line(client, &line, &len);
	while (err == -EINTR);
	if (err && send_err) {
		set_error(client, "cannot send request to wardend: %s",
			  strerror(-send_err));
		return send_err;
	}
	if (err == -ENODATA) {
		set_error(client, "wardend closed the connection without answering");
		return -EPROTO;
	}
	if (err) {
		set_error(client, "cannot read the answer of wardend: %s",
			  strerror(-err));
		return err;
	}

	response = json_loadb(line, len, 0, &jerr);
	if (!response) {
		set_error(client, "invalid response from wardend: %s", jerr.text);
		return -EPROTO;
	}
	ok = json_object_get(response, "ok");
	if (!json_is_boolean(ok)) {
		set_error(client,
			  "invalid response from wardend: no boolean \"ok\" member");
		json_decref(response);
		return -EPROTO;
	}
	if (json_is_false(ok)) {
		message = json_object_get(response, "error");
		if (json_is_string(message))
			set_error(client, "%s", json_string_value(message));
		else
			set_error(client, "wardend reported a failure without a message");
		json_decref(response);
		return -EREMOTEIO;
	}
	*result = json_object_get(response, "result");
	*result = *result ? json_incref(*result) : json_null();
	json_decref(response);
	return 0;
}
