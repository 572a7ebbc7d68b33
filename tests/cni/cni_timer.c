// SPDX-License-Identifier: Apache-2.0
/*
 * cni-timer: a CNI plugin that runs another one and times it (tests/cni/).
 * Installed (as a link) under the name "timed-TARGET" in a test's plugin
 * directory, it runs TARGET, found in CNI_PATH outside its own directory,
 * with the same environment and stdin, passes its stdout and exit status
 * through, and appends one line to DIR/timed-TARGET.log:
 *
 *   COMMAND ELAPSED_US STATUS CNI_CONTAINERID CNI_IFNAME CNI_NETNS CNI_ARGS
 *
 * and keeps the last request of each command in DIR/timed-TARGET.COMMAND.env
 * and .json, so a test can see exactly what the runtime passed and replay it.
 * Only the target's run is timed, not the wrapper's own reading and writing.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char *read_all(int fd, size_t *len)
{
	size_t cap = 65536, used = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t n = read(fd, buf + used, cap - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == cap) {
			char *grown = realloc(buf, cap * 2);

			if (!grown) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
	}
	*len = used;
	return buf;
}

static int find_in(const char *p, const char *self_dir, const char *name, char *out,
		   size_t len)
{
	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		if (n && strcmp(dir, self_dir) &&
		    (size_t)snprintf(out, len, "%s/%s", dir, name) < len &&
		    access(out, X_OK) == 0)
			return 0;
		p = end ? end + 1 : NULL;
	}
	return -1;
}

/* In CNI_PATH, else Debian's and the usual plugin directories: a runtime
 * may leave CNI_PATH out of VERSION, which podman runs to validate. */
static int find_target(const char *self_dir, const char *name, char *out, size_t len)
{
	if (!find_in(getenv("CNI_PATH"), self_dir, name, out, len))
		return 0;
	return find_in("/usr/lib/cni:/opt/cni/bin", self_dir, name, out, len);
}

static const char *env_or_dash(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : "-";
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], self_dir[PATH_MAX], name[256], target[PATH_MAX],
	    path[2 * PATH_MAX];
	int in[2], out[2], status;
	size_t in_len = 0, out_len = 0;
	char *input, *output;
	struct timespec t0, t1;
	const char *cmd = env_or_dash("CNI_COMMAND");
	FILE *f;
	pid_t pid;

	(void)argc;
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(name, sizeof(name), "%s", basename(self));
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(self_dir, sizeof(self_dir), "%s", dirname(self));
	if (strncmp(name, "timed-", 6) ||
	    find_target(self_dir, name + 6, target, sizeof(target))) {
		printf("{\"cniVersion\":\"1.0.0\",\"code\":100,\"msg\":\"cni-timer: no "
		       "target for %s\"}\n",
		       name);
		return 1;
	}
	input = read_all(STDIN_FILENO, &in_len);
	if (!input || pipe(in) || pipe(out))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execve(target, (char *const[]){target, NULL}, environ);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (write(in[1], input, in_len) != (ssize_t)in_len)
		perror("cni-timer: write");
	close(in[1]);
	output = read_all(out[0], &out_len);
	waitpid(pid, &status, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (output && out_len)
		fwrite(output, 1, out_len, stdout);
	fflush(stdout);

	snprintf(path, sizeof(path), "%s/%s.log", self_dir, name);
	f = fopen(path, "a");
	if (f) {
		long long us = (t1.tv_sec - t0.tv_sec) * 1000000LL +
			       (t1.tv_nsec - t0.tv_nsec) / 1000;

		fprintf(f, "%s %lld %d %s %s %s %s\n", cmd, us,
			WIFEXITED(status) ? WEXITSTATUS(status) : 128,
			env_or_dash("CNI_CONTAINERID"), env_or_dash("CNI_IFNAME"),
			env_or_dash("CNI_NETNS"), env_or_dash("CNI_ARGS"));
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/%s.%s.json", self_dir, name, cmd);
	f = fopen(path, "w");
	if (f) {
		fwrite(input, 1, in_len, f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/%s.%s.env", self_dir, name, cmd);
	f = fopen(path, "w");
	if (f) {
		for (char **e = environ; *e; e++)
			if (!strncmp(*e, "CNI_", 4))
				fprintf(f, "%s\n", *e);
		fclose(f);
	}
	free(input);
	free(output);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
