// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the control socket's request side: the framing
 * (src/agent/linebuf.c) and the request parsers (src/agent/wire_request.c)
 * that every byte a client sends goes through before a handler runs. The
 * handlers themselves need an agent with its datapath; what they are given
 * is what these parsers made.
 *
 * The first input byte chooses how the rest arrives: in reads of 1 to 256
 * bytes, into a buffer for lines of at most 4096 bytes. Besides "no crash,
 * no leak, no UB", it checks:
 *  - framing: the same bytes fed in one piece give the same lines;
 *    nothing longer than the bound is ever returned;
 *  - every line is answered: wire__reply() gives one line, ending in its
 *    only '\n', that parses back as {"ok": bool, ...}, whatever the error.
 * Build and run: `make fuzz`; seeds in tests/fuzz/seeds/fuzz_control_request/.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "linebuf.h"
#include "policy_repo.h"
#include "trace.h"
#include "wire.h"

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond))                                                             \
			__builtin_trap();                                                \
	} while (0)

#define LINE_MAX_BYTES 4096

/* The argument parsing a handler of cmd does; its error into err. */
static int parse_args(const char *cmd, json_t *args, char *err, size_t err_len)
{
	int ret = 0;

	if (!strcmp(cmd, "endpoint.create")) {
		struct endpoint_spec spec;

		ret = wire__parse_endpoint_spec(args, &spec, err, err_len);
		endpoint_spec__free(&spec);
	} else if (!strcmp(cmd, "endpoint.label") || !strcmp(cmd, "namespace.label")) {
		struct label_changes changes;

		ret = wire__parse_label_changes(args, &changes, err, err_len);
		label_changes__free(&changes);
	} else if (!strcmp(cmd, "policy.import") || !strcmp(cmd, "policy.validate")) {
		struct policy_document *docs;
		size_t count;

		ret = wire__parse_documents(args, &docs, &count, err, err_len);
		for (size_t i = 0; !ret && i < count; i++)
			CHECK(docs[i].file && docs[i].content);
		free(docs);
	} else if (!strcmp(cmd, "policy.delete")) {
		struct policy_delete_request req;

		ret = wire__parse_policy_delete(args, &req, err, err_len);
		CHECK(ret || req.all || req.name);
	} else if (!strcmp(cmd, "policy.trace")) {
		struct trace_request req;

		ret = wire__parse_trace(args, &req, err, err_len);
		CHECK(ret || (req.from && req.to && req.dport));
	} else if (!strcmp(cmd, "endpoint.config")) {
		bool audit;

		ret = wire__arg_bool(args, "audit", &audit);
		ret = ret == -ENOENT ? 0 : ret;
	} else {
		long long number;

		/* status, *.get, *.list, monitor: names and numbers. */
		wire__arg_string(args, "name", NULL);
		wire__arg_string(args, "namespace", "default");
		wire__arg_integer(args, "id", &number);
		wire__arg_integer(args, "last", &number);
		wire__arg_is_false(args, "follow");
	}
	if (ret)
		snprintf(err + strlen(err), err_len - strlen(err), " (%s)", cmd);
	return ret;
}

/* A reply line must be one JSON object with a boolean "ok". */
static void check_reply(char *reply, size_t len)
{
	json_t *obj;

	CHECK(reply && len > 0 && reply[len - 1] == '\n');
	CHECK(!memchr(reply, '\n', len - 1));
	obj = json_loadb(reply, len, 0, NULL);
	CHECK(json_is_boolean(json_object_get(obj, "ok")));
	json_decref(obj);
	free(reply);
}

/* Serve one line as control.c does, up to the handler. */
static void serve(const char *line, size_t len)
{
	char err[2048] = "";
	const char *cmd;
	json_t *req, *args;
	size_t reply_len;
	int ret;

	ret = wire__parse_request(line, len, &req, &cmd, &args, err, sizeof(err));
	if (!ret)
		ret = parse_args(cmd, args, err, sizeof(err));
	check_reply(wire__reply(ret, ret ? NULL : json_string("done"), err, &reply_len),
		    reply_len);
	json_decref(req);
}

/* Frame data in reads of step bytes; returns a hash of the line lengths. */
static uint64_t frame(const uint8_t *data, size_t size, size_t step, bool serve_lines)
{
	struct linebuf b;
	uint64_t hash = 1469598103934665603ull;
	size_t done = 0, len;
	char *line;

	linebuf__init(&b, LINE_MAX_BYTES);
	for (;;) {
		size_t room, n;
		char *space;

		while ((line = linebuf__next(&b, &len))) {
			CHECK(len <= LINE_MAX_BYTES);
			CHECK(!memchr(line, '\n', len));
			hash = (hash ^ len) * 1099511628211ull;
			if (serve_lines)
				serve(line, len);
		}
		if (linebuf__too_long(&b) || done == size)
			break;
		space = linebuf__space(&b, &room);
		CHECK(space && room > 0);
		n = size - done < step ? size - done : step;
		n = n < room ? n : room;
		memcpy(space, data + done, n);
		linebuf__commit(&b, n);
		done += n;
	}
	if (linebuf__too_long(&b))
		hash ^= 0xffff;
	linebuf__free(&b);
	return hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	data++;
	size--;
	CHECK(frame(data, size, step, true) == frame(data, size, size ? size : 1, false));
	return 0;
}
