// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the control socket's framing (src/agent/linebuf.c,
 * outq.c) and its request side (wire_request.c): lines are bounded, a
 * queue keeps what a full socket did not take, a request that is not an
 * object with a cmd is an error, and every error is answered with a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "linebuf.h"
#include "outq.h"
#include "wire.h"

/* Feed text into b in pieces of step bytes; returns bytes taken. */
static size_t feed(struct linebuf *b, const char *text, size_t len, size_t step)
{
	size_t done = 0;

	while (done < len) {
		size_t room, n;
		char *space = linebuf__space(b, &room);

		if (!room)
			break;
		n = len - done < step ? len - done : step;
		n = n < room ? n : room;
		memcpy(space, text + done, n);
		linebuf__commit(b, n);
		done += n;
	}
	return done;
}

static void test_lines_across_reads(void **state)
{
	const char text[] = "{\"cmd\":\"status\"}\n\n{\"cmd\":\"x\"}\npartial";
	struct linebuf b;
	size_t len;
	char *line;

	(void)state;
	linebuf__init(&b, 100);
	assert_int_equal(feed(&b, text, sizeof(text) - 1, 3), sizeof(text) - 1);
	line = linebuf__next(&b, &len);
	assert_non_null(line);
	assert_int_equal(len, 16);
	assert_memory_equal(line, "{\"cmd\":\"status\"}", 16);
	line = linebuf__next(&b, &len);
	assert_non_null(line);
	assert_int_equal(len, 0);
	line = linebuf__next(&b, &len);
	assert_non_null(line);
	assert_string_equal(line, "{\"cmd\":\"x\"}");
	assert_null(linebuf__next(&b, &len));
	assert_int_equal(linebuf__held(&b), 7);
	assert_false(linebuf__too_long(&b));
	linebuf__free(&b);
}

static void test_too_long_line(void **state)
{
	char big[64];
	struct linebuf b;
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big));
	linebuf__init(&b, 10);
	/* At most max + 1 bytes are taken: the one that proves it. */
	assert_int_equal(feed(&b, big, sizeof(big), 4), 11);
	assert_null(linebuf__next(&b, &len));
	assert_true(linebuf__too_long(&b));
	linebuf__free(&b);

	/* Exactly max bytes and a newline is fine. */
	linebuf__init(&b, 10);
	assert_int_equal(feed(&b, "0123456789\n", 11, 64), 11);
	assert_non_null(linebuf__next(&b, &len));
	assert_int_equal(len, 10);
	linebuf__free(&b);
}

static void test_pipelined_requests_are_bounded(void **state)
{
	char many[1000];
	struct linebuf b;
	size_t len, taken, served = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(many); i += 4)
		memcpy(many + i, "{}\n ", 4);
	linebuf__init(&b, 20);
	/* Not served yet: the buffer stops taking at max + 1 bytes. */
	taken = feed(&b, many, sizeof(many), 1000);
	assert_int_equal(taken, 21);
	assert_false(linebuf__too_long(&b));
	while (linebuf__next(&b, &len))
		served++;
	assert_int_equal(served, 5);
	/* Served, it takes more. */
	assert_true(feed(&b, many + taken, sizeof(many) - taken, 1000) > 0);
	linebuf__free(&b);
}

static void test_parse_request_shapes(void **state)
{
	static const struct {
		const char *line;
		size_t len;
		int ret;
	} cases[] = {
	    {"{\"cmd\":\"status\"}", 16, 0},
	    {"  \t{\"cmd\":\"status\",\"args\":{}}", 29, 0},
	    {"{\"cmd\":\"status\",\"args\":null}", 28, 0},
	    {"not json", 8, -EINVAL},
	    {"[1,2]", 5, -EINVAL},
	    {"{}", 2, -EINVAL},
	    {"{\"cmd\":5}", 9, -EINVAL},
	    {"{\"cmd\":\"status\",\"args\":[1]}", 27, -EINVAL},
	    /* A NUL is not the end of the line. */
	    {"{\"cmd\":\"status\"}\0garbage", 24, -EINVAL},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *cmd;
		json_t *req, *args;
		int ret;

		err[0] = '\0';
		ret = wire__parse_request(cases[i].line, cases[i].len, &req, &cmd, &args,
					  err, sizeof(err));
		if (ret != cases[i].ret)
			fail_msg("case %zu (%s): %d, expected %d (%s)", i, cases[i].line,
				 ret, cases[i].ret, err);
		if (ret)
			assert_true(err[0] != '\0');
		else
			assert_string_equal(cmd, "status");
		json_decref(req);
	}
}

static void test_reply_to_any_error(void **state)
{
	/* An error text cut inside a UTF-8 character (snprintf into a
	 * fixed buffer) still gets a reply line. */
	char err[8] = "abc\xc3\xa9\xe2\x82";
	size_t len;
	char *line;

	(void)state;
	err[7] = '\0';
	line = wire__reply(-EINVAL, NULL, err, &len);
	assert_non_null(line);
	assert_int_equal(line[len - 1], '\n');
	assert_non_null(strstr(line, "\"ok\":false"));
	free(line);
	line = wire__reply(-EINVAL, NULL, "\xff\xfe not text", &len);
	assert_non_null(line);
	free(line);
}

static void test_outq_keeps_what_the_socket_refused(void **state)
{
	int sv[2], size = 4096;
	struct outq q = {0};
	char *data = malloc(1 << 20), *back = malloc(1 << 20);
	size_t got = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	for (size_t i = 0; i < (1 << 20); i++)
		data[i] = (char)(i * 7);
	assert_int_equal(outq__append(&q, data, 1 << 20), 0);
	assert_int_equal(outq__send(&q, sv[0]), -EAGAIN);
	assert_true(outq__pending(&q) > 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (got < (1 << 20)) {
		ssize_t n = recv(sv[1], back + got, (1 << 20) - got, 0);

		if (n > 0)
			got += (size_t)n;
		if (outq__send(&q, sv[0]) == 0 && n <= 0 && got < (1 << 20))
			continue;
	}
	assert_int_equal(outq__pending(&q), 0);
	assert_memory_equal(back, data, 1 << 20);
	/* The peer gone: an error, not a block. */
	close(sv[1]);
	assert_int_equal(outq__append(&q, "x", 1), 0);
	assert_int_equal(outq__send(&q, sv[0]), -EPIPE);
	outq__free(&q);
	close(sv[0]);
	free(data);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_across_reads),
	    cmocka_unit_test(test_too_long_line),
	    cmocka_unit_test(test_pipelined_requests_are_bounded),
	    cmocka_unit_test(test_parse_request_shapes),
	    cmocka_unit_test(test_reply_to_any_error),
	    cmocka_unit_test(test_outq_keeps_what_the_socket_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
