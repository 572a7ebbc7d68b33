// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF filesystem helper (lib/bpffs.c) on a machine where /sys/fs/bpf is
 * not mounted: each test runs in a child with a private mount namespace
 * (unshare -m), unmounts every bpffs at /sys/fs/bpf there, and checks that
 * bpffs__ensure() mounts one and that a map can be pinned on it. The host's
 * mounts must be the same afterwards. Runs as root.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "warden/bpffs.h"

/* The host's bpffs mounts, as text, to compare before and after. */
static char *bpf_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[1024];
	size_t len = 0;
	char *out = calloc(1, 65536);

	assert_non_null(f);
	assert_non_null(out);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " - bpf ") && len + strlen(line) < 65535) {
			memcpy(out + len, line, strlen(line));
			len += strlen(line);
		}
	fclose(f);
	return out;
}

/* In the child: a private mount namespace without a bpffs at root. */
static int isolate(const char *root)
{
	if (unshare(CLONE_NEWNS) < 0)
		return 10;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 11;
	for (int i = 0; i < 16 && bpffs__is_mounted(root); i++)
		if (umount2(root, MNT_DETACH) < 0)
			return 12;
	return bpffs__is_mounted(root) ? 13 : 0;
}

/* Child body: mount through the helper, then pin a map on it. */
static int mount_and_pin(const char *root)
{
	char pin[256];
	bool mounted = false;
	int fd, got, ret;

	ret = isolate(root);
	if (ret)
		return ret;
	if (bpffs__ensure(root, &mounted) || !mounted)
		return 20;
	if (!bpffs__is_mounted(root))
		return 21;
	/* A second call finds it mounted and does nothing. */
	if (bpffs__ensure(root, &mounted) || mounted)
		return 22;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wd_bpffs_test", 4, 4, 1, NULL);
	if (fd < 0)
		return 30;
	snprintf(pin, sizeof(pin), "%s/warden-bpffs-test", root);
	if (bpf_obj_pin(fd, pin))
		return 31;
	got = bpf_obj_get(pin);
	if (got < 0)
		return 32;
	close(got);
	close(fd);
	unlink(pin);
	return 0;
}

static int run_child(const char *root)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(mount_and_pin(root));
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_mounts_missing_bpffs_and_pins(void **state)
{
	char *before = bpf_mounts(), *after;

	(void)state;
	assert_int_equal(run_child(BPFFS_ROOT), 0);
	after = bpf_mounts();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* A root that does not exist yet is created first. */
static void test_creates_missing_directory(void **state)
{
	char root[] = "/tmp/warden-bpffs.XXXXXX";
	char *before = bpf_mounts(), *after;
	char sub[64];

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(sub, sizeof(sub), "%s/bpf", root);
	assert_int_equal(run_child(sub), 0);
	after = bpf_mounts();
	assert_string_equal(before, after);
	/* Only the child's namespace saw the mount: here it is a plain dir. */
	assert_false(bpffs__is_mounted(sub));
	rmdir(sub);
	rmdir(root);
	free(before);
	free(after);
}

/* A plain directory is not taken for a bpffs. */
static void test_plain_directory_is_not_bpffs(void **state)
{
	(void)state;
	assert_false(bpffs__is_mounted("/tmp"));
	assert_false(bpffs__is_mounted("/nonexistent/warden"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mounts_missing_bpffs_and_pins),
	    cmocka_unit_test(test_creates_missing_directory),
	    cmocka_unit_test(test_plain_directory_is_not_bpffs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
