// SPDX-License-Identifier: Apache-2.0
/*
 * Peak memory and time of parsing one policy file (lib/policy/policy_parse.c):
 *
 *   build/bench-policy-parse FILE...
 *
 * For each FILE (in a child process of its own, so one file's peak does not
 * hide the next one's): the file is read into memory, then parsed with
 * policy_parse_buffer(). Prints the input size, the resident memory before
 * the parse (the input included), the peak resident memory of the process
 * (getrusage), the parser's share (peak - before), the time and the first
 * line of the parser's answer. bench/policy_parse_rss.sh makes the inputs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "warden/policy.h"

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static char *read_all(const char *path, size_t *len)
{
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	FILE *f = fopen(path, "rb");
	size_t n;

	*len = 0;
	if (!buf || !f) {
		free(buf);
		if (f)
			fclose(f);
		return NULL;
	}
	while ((n = fread(buf + *len, 1, cap - *len, f)) > 0) {
		*len += n;
		if (*len == cap) {
			char *grown = realloc(buf, cap * 2);

			if (!grown) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
	}
	fclose(f);
	return buf;
}

static int measure(const char *path)
{
	struct policy_diag diag = {0};
	struct policy_set set = {0};
	struct timespec t0, t1;
	struct rusage ru;
	char message[1024];
	long before;
	size_t len;
	char *buf = read_all(path, &len);
	int ret;

	if (!buf) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	/* Touch every page, so "before" holds the whole input. */
	for (size_t i = 0; i < len; i += 4096)
		((volatile char *)buf)[i];
	before = rss_kib();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = policy_parse_buffer(path, buf, len, &set, &diag);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	if (ret)
		policy_diag_entry__format(&diag.error, message, sizeof(message));
	else
		snprintf(message, sizeof(message), "ok: %zu policies", set.count);
	printf(
	    "%-28s input %8.1f MiB  rss before %8.1f MiB  peak %8.1f MiB  parser %8.1f "
	    "MiB  %7.2f s  %s\n",
	    strrchr(path, '/') ? strrchr(path, '/') + 1 : path, (double)len / (1 << 20),
	    (double)before / 1024, (double)ru.ru_maxrss / 1024,
	    (double)(ru.ru_maxrss - before) / 1024,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	    message);
	policy_set__free(&set);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		pid_t pid;
		int status;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			int ret = measure(argv[i]);

			/* _exit() does not flush stdio. */
			fflush(stdout);
			_exit(ret);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			printf("%s: the measurement failed (status %d)\n", argv[i],
			       status);
			failed = 1;
		}
	}
	return failed;
}
