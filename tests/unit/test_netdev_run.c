// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for netdev__run() (lib/host/netdev.c): the agent waits for the
 * tools it runs, so a tool that hangs must be killed after its timeout,
 * and a tool that exits must be seen at once even if something it started
 * still holds its stderr.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "warden/netdev.h"

static double elapsed_s(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void test_exit_status_and_stderr(void **state)
{
	const char *const ok[] = {"true", NULL};
	const char *const fails[] = {"sh", "-c", "echo 'no such device' >&2; exit 3",
				     NULL};
	const char *const missing[] = {"warden-no-such-tool", NULL};
	char err[128];

	(void)state;
	assert_int_equal(netdev__run(ok, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(netdev__run(fails, err, sizeof(err)), 3);
	assert_string_equal(err, "no such device");
	assert_int_equal(netdev__run(missing, err, sizeof(err)), 127);
}

static void test_hung_tool_is_killed(void **state)
{
	const char *const hang[] = {"sleep", "30", NULL};
	struct timespec start;
	char err[128];
	int status;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(netdev__run_timeout(hang, 300, err, sizeof(err)), -ETIMEDOUT);
	assert_true(elapsed_s(&start) < 2.0);
	assert_non_null(strstr(err, "no answer after 300 ms"));
	/* Killed and reaped: no child is left. */
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_exit_seen_while_stderr_held(void **state)
{
	/* The shell exits at once; the sleep it leaves keeps the pipe open. */
	const char *const leave[] = {"sh", "-c", "sleep 3 & echo started >&2; exit 0",
				     NULL};
	struct timespec start;
	char err[128];

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(netdev__run_timeout(leave, 5000, err, sizeof(err)), 0);
	assert_true(elapsed_s(&start) < 2.0);
	assert_string_equal(err, "started");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exit_status_and_stderr),
	    cmocka_unit_test(test_hung_tool_is_killed),
	    cmocka_unit_test(test_exit_seen_while_stderr_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
