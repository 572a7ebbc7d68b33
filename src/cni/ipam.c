// SPDX-License-Identifier: Apache-2.0
/*
 * Delegation to an IPAM plugin (SPEC.md section 4): found in CNI_PATH, run
 * with our environment (CNI_COMMAND replaced where we undo an ADD) and the
 * same configuration on stdin; its stderr is ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni.h"

#define IPAM_MAX_OUTPUT (1u << 20)

extern char **environ;

/* First executable DIR/NAME for DIR in the ':'-separated CNI_PATH. */
static int find_plugin(const char *path, const char *name, char *out, size_t len)
{
	const char *p = path;

	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n && (size_t)snprintf(out, len, "%.*s/%s", (int)n, p, name) < len &&
		    access(out, X_OK) == 0)
			return 0;
		p = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Our environment with CNI_COMMAND=@command; a new array of borrowed strings
 * except the one CNI_COMMAND entry, which is @command_entry. */
static char **child_environ(char *command_entry)
{
	size_t n = 0, j = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_COMMAND=", 12))
			env[j++] = environ[i];
	env[j++] = command_entry;
	env[j] = NULL;
	return env;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

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

int cni_ipam__exec(const struct cni_env *env, const struct cni_config *config,
		   const char *command, const char *stdin_text, size_t stdin_len,
		   json_t **result, struct cni_error *e)
{
	const char *type = json_string_value(json_object_get(config->ipam, "type"));
	int in[2] = {-1, -1}, out[2] = {-1, -1}, status, ret = -EIO;
	char path[PATH_MAX], command_entry[64];
	char *output = NULL, **cenv = NULL;
	size_t used = 0, cap = 0;
	json_error_t jerr;
	json_t *answer;
	pid_t pid;

	if (result)
		*result = NULL;
	if (!env->path || find_plugin(env->path, type, path, sizeof(path))) {
		cni_error__set(e, CNI_ERR_INVALID_CONFIG, "Invalid network config",
			       "IPAM plugin \"%s\" not found in CNI_PATH=%s", type,
			       env->path ? env->path : "(unset)");
		return -ENOENT;
	}
	snprintf(command_entry, sizeof(command_entry), "CNI_COMMAND=%s", command);
	cenv = child_environ(command_entry);
	if (!cenv || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		cni_error__set(e, CNI_ERR_IO, "I/O failure", "run IPAM plugin %s: %s",
			       type, strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		cni_error__set(e, CNI_ERR_IO, "I/O failure",
			       "fork for IPAM plugin %s: %s", type, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		execve(path, (char *const[]){path, NULL}, cenv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	/* A plugin reads its whole configuration before answering. */
	signal(SIGPIPE, SIG_IGN);
	write_all(in[1], stdin_text, stdin_len);
	close(in[1]);
	in[1] = -1;
	for (;;) {
		ssize_t n;

		if (cap - used < 4096) {
			char *grown;

			if (cap >= IPAM_MAX_OUTPUT)
				break;
			cap = cap ? cap * 2 : 8192;
			grown = realloc(output, cap);
			if (!grown)
				break;
			output = grown;
		}
		n = read(out[0], output + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	answer = output ? json_loadb(output, used, 0, &jerr) : NULL;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (json_is_integer(json_object_get(answer, "code"))) {
			/* Its own error object goes to the runtime as it is. */
			cni_error__set(
			    e, (int)json_integer_value(json_object_get(answer, "code")),
			    "IPAM plugin failed", NULL);
			e->passthrough = json_incref(answer);
		} else {
			cni_error__set(e, CNI_ERR_IPAM, "IPAM plugin failed",
				       "%s %s exited with status %d", type, command,
				       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		json_decref(answer);
		goto out;
	}
	if (result) {
		if (!json_is_object(answer)) {
			cni_error__set(e, CNI_ERR_DECODE, "Failed to decode IPAM result",
				       "%s %s printed no JSON object", type, command);
			json_decref(answer);
			goto out;
		}
		*result = answer;
	} else {
		json_decref(answer);
	}
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	free(output);
	free(cenv);
	return ret;
}
