// SPDX-License-Identifier: Apache-2.0
/*
 * warden-cni: the CNI commands. Each is one or two requests to wardend
 * (docs/control-protocol.md, "CNI attachments"); the agent makes the
 * interfaces, so the plugin itself changes nothing on the host, except in
 * one case: when the agent went away in the middle of an ADD or cannot be
 * reached for a DEL, the plugin removes the attachment's host device (its
 * name follows from the attachment, include/warden/cni.h), which takes the
 * container end with it. A failed ADD never leaves an interface behind.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../cli/client.h"
#include "cni.h"
#include "warden/cni.h"
#include "warden/netdev_cni.h"
#include "warden/version.h"

#define STDIN_MAX (4u << 20)
#define LATEST_VERSION "1.1.0"

struct request {
	enum cni_command cmd;
	struct cni_env env;
	char *stdin_text;
	size_t stdin_len;
	struct cni_config config;
	bool have_config;
};

static const struct {
	const char *name;
	enum cni_command cmd;
} commands[] = {
    {"ADD", CNI_ADD}, {"DEL", CNI_DEL},	      {"CHECK", CNI_CHECK},
    {"GC", CNI_GC},   {"STATUS", CNI_STATUS}, {"VERSION", CNI_VERSION},
};

static const char *getenv_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

static void print_error(const struct request *req, const struct cni_error *e)
{
	const char *version = req->have_config && req->config.version
				  ? req->config.version
				  : LATEST_VERSION;
	json_t *obj;

	if (e->passthrough) {
		obj = json_incref(e->passthrough);
	} else {
		obj = json_pack("{s:s, s:i, s:s}", "cniVersion", version, "code", e->code,
				"msg", e->msg);
		if (obj && e->details[0])
			json_object_set_new(obj, "details", json_string(e->details));
	}
	if (obj)
		cni_result__print(obj);
	json_decref(obj);
	fprintf(stderr, "warden-cni: %s%s%s\n", e->msg, e->details[0] ? ": " : "",
		e->details);
}

/* SPEC.md: a container id starts alphanumeric, then [A-Za-z0-9_.-]. */
static bool valid_container_id(const char *s)
{
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return false;
	return true;
}

/* What the kernel accepts as an interface name. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > CNI_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* The variables each command needs (SPEC.md section 2), with their checks. */
static int check_env(const struct request *req, struct cni_error *e)
{
	const struct cni_env *env = &req->env;
	bool attach = req->cmd == CNI_ADD || req->cmd == CNI_DEL || req->cmd == CNI_CHECK;
	char missing[128] = "";

	if (attach && !env->container_id)
		strcat(missing, " CNI_CONTAINERID");
	if ((req->cmd == CNI_ADD || req->cmd == CNI_CHECK) && !env->netns)
		strcat(missing, " CNI_NETNS");
	if (attach && !env->ifname)
		strcat(missing, " CNI_IFNAME");
	if (missing[0]) {
		cni_error__set(e, CNI_ERR_INVALID_ENV, "Invalid environment variables",
			       "required for %s but missing:%s", env->command, missing);
		return -EINVAL;
	}
	if (attach && !valid_container_id(env->container_id)) {
		cni_error__set(
		    e, CNI_ERR_INVALID_ENV, "Invalid environment variables",
		    "CNI_CONTAINERID=%s: must start with a letter or digit, then "
		    "letters, digits, '_', '.', '-'",
		    env->container_id);
		return -EINVAL;
	}
	if (attach && !valid_ifname(env->ifname)) {
		cni_error__set(e, CNI_ERR_INVALID_ENV, "Invalid environment variables",
			       "CNI_IFNAME=%s: not a valid interface name (1 to %d "
			       "characters, no '/', ':' or spaces)",
			       env->ifname, CNI_IFNAME_MAX);
		return -EINVAL;
	}
	if (env->netns && env->netns[0] != '/' && req->cmd != CNI_DEL) {
		cni_error__set(e, CNI_ERR_INVALID_ENV, "Invalid environment variables",
			       "CNI_NETNS=%s: must be the path of a network namespace",
			       env->netns);
		return -EINVAL;
	}
	return 0;
}

static int read_stdin(struct request *req, struct cni_error *e)
{
	size_t cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - req->stdin_len < 4096) {
			char *grown;

			if (cap >= STDIN_MAX) {
				cni_error__set(
				    e, CNI_ERR_IO, "I/O failure",
				    "network configuration larger than %u bytes",
				    STDIN_MAX);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 16384;
			grown = realloc(req->stdin_text, cap);
			if (!grown) {
				cni_error__set(e, CNI_ERR_IO, "I/O failure",
					       "out of memory");
				return -ENOMEM;
			}
			req->stdin_text = grown;
		}
		n = read(STDIN_FILENO, req->stdin_text + req->stdin_len,
			 cap - req->stdin_len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cni_error__set(e, CNI_ERR_IO, "I/O failure",
				       "reading the network configuration from stdin: %s",
				       strerror(errno));
			return -errno;
		}
		if (n == 0)
			break;
		req->stdin_len += (size_t)n;
	}
	if (req->stdin_text)
		req->stdin_text[req->stdin_len] = '\0';
	return 0;
}

/*
 * Connect to wardend with the configured timeout on every read and write,
 * so a stuck agent turns into "try again later" rather than a hung runtime.
 */
static int agent_connect(const struct request *req, struct client **out,
			 struct cni_error *e)
{
	struct timeval tv = {.tv_sec = (time_t)req->config.timeout_s};
	int ret = client__connect(req->config.socket, out);

	if (ret) {
		cni_error__set(e, CNI_ERR_TRY_AGAIN, "Try again later",
			       "cannot reach wardend at %s: %s (is the agent running?)",
			       req->config.socket, strerror(-ret));
		return ret;
	}
	setsockopt(client__fd(*out), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(client__fd(*out), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

/*
 * One request. The agent's refusal is code @refused_code with its message;
 * anything else (connection lost, timeout, garbage) is "try again later".
 * Returns 0, -EREMOTEIO for a refusal, or another -errno.
 */
static int agent_call(struct client *client, const char *cmd, json_t *args,
		      json_t **result, int refused_code, struct cni_error *e)
{
	int ret = client__call(client, cmd, args, result);

	if (ret == -EREMOTEIO)
		cni_error__set(e, refused_code, "wardend refused the request", "%s: %s",
			       cmd, client__error(client));
	else if (ret)
		cni_error__set(e, CNI_ERR_TRY_AGAIN, "Try again later", "%s: %s", cmd,
			       client__error(client));
	return ret;
}

/*
 * Remove the attachment's host device if it exists; the container end goes
 * with it. Used only when the agent cannot do it (see the top comment).
 */
static void remove_host_device(const struct cni_env *env)
{
	char name[IF_NAMESIZE + 1];

	cni_attachment__ifname(CNI_HOST_IFNAME_PREFIX, env->container_id, env->ifname,
			       name, sizeof(name));
	if (!if_nametoindex(name))
		return;
	fprintf(stderr, "warden-cni: removing %s myself (the agent cannot)\n", name);
	/* One netlink request, with a deadline (lib/host/netdev_cni.c). */
	netdev_cni__detach(env->container_id, env->ifname);
}

static json_t *attachment_args(const struct request *req)
{
	const struct cni_env *env = &req->env;

	return json_pack("{s:s, s:s, s:s?, s:s}", "container_id", env->container_id,
			 "ifname", env->ifname, "netns", env->netns, "network",
			 req->config.network);
}

static void ipam_undo(const struct request *req)
{
	struct cni_error ignored = {0};

	if (req->config.ipam)
		cni_ipam__exec(&req->env, &req->config, "DEL", req->stdin_text,
			       req->stdin_len, NULL, &ignored);
	json_decref(ignored.passthrough);
}

static int cmd_add(struct request *req, struct cni_error *e)
{
	struct cni_identity id = {0};
	struct client *client = NULL;
	json_t *args = NULL, *ipam = NULL, *attachment = NULL, *result;
	int ret;

	ret = cni_identity__build(&req->env, &req->config, &id, e);
	if (ret)
		return ret;
	/* The agent first: when it is down, nothing is allocated at all. */
	ret = agent_connect(req, &client, e);
	if (ret)
		goto out;
	if (req->config.ipam) {
		ret = cni_ipam__exec(&req->env, &req->config, "ADD", req->stdin_text,
				     req->stdin_len, &ipam, e);
		if (ret)
			goto out;
	}
	args = attachment_args(req);
	if (!args || json_object_set_new(args, "name", json_string(id.name)) ||
	    json_object_set_new(args, "namespace", json_string(id.namespace)) ||
	    json_object_set(args, "labels", id.labels) ||
	    (req->config.ports && json_object_set(args, "ports", req->config.ports)) ||
	    (ipam && json_object_set(args, "ipam", ipam))) {
		cni_error__set(e, CNI_ERR_IO, "Out of memory", NULL);
		ret = -ENOMEM;
		goto undo;
	}
	ret = agent_call(client, "cni.add", args, &attachment, CNI_ERR_AGENT, e);
	if (ret == -EREMOTEIO)
		goto undo; /* the agent refused and rolled back */
	if (ret) {
		/* Lost the agent mid-way: it may have made part of it. Ask a
		 * fresh connection to remove it (queued behind the ADD if the
		 * agent is only slow), else remove the device ourselves. */
		struct client *again = NULL;
		struct cni_error ignored = {0};
		json_t *del = attachment_args(req), *answer = NULL;

		if (del && !agent_connect(req, &again, &ignored) &&
		    !agent_call(again, "cni.del", del, &answer, CNI_ERR_AGENT,
				&ignored)) {
			json_decref(answer);
		} else {
			remove_host_device(&req->env);
		}
		json_decref(del);
		client__free(again);
		goto undo;
	}
	if (ipam && json_is_object(json_object_get(ipam, "dns")))
		json_object_set(attachment, "dns", json_object_get(ipam, "dns"));
	result =
	    cni_result__build(req->config.version, &req->env, &req->config, attachment);
	if (!result) {
		cni_error__set(e, CNI_ERR_AGENT, "Invalid answer from wardend",
			       "cni.add: cannot build the CNI result");
		ret = -EPROTO;
		goto out;
	}
	cni_result__print(result);
	json_decref(result);
	ret = 0;
	goto out;
undo:
	ipam_undo(req);
out:
	json_decref(attachment);
	json_decref(args);
	json_decref(ipam);
	client__free(client);
	cni_identity__free(&id);
	return ret;
}

/*
 * DEL is best effort and idempotent (SPEC.md): an unknown attachment, a
 * namespace already gone or an agent that is not running are all success.
 */
static int cmd_del(struct request *req, struct cni_error *e)
{
	struct client *client = NULL;
	json_t *args = attachment_args(req), *answer = NULL;
	struct cni_error down = {0};
	int ret = 0, call;

	if (!args) {
		cni_error__set(e, CNI_ERR_IO, "Out of memory", NULL);
		return -ENOMEM;
	}
	call = agent_connect(req, &client, &down);
	if (!call)
		call = agent_call(client, "cni.del", args, &answer, CNI_ERR_AGENT, &down);
	if (call == -EREMOTEIO) {
		/* A refusal is a malformed request, not a missing attachment. */
		*e = down;
		ret = -EINVAL;
	} else if (call) {
		fprintf(stderr, "warden-cni: DEL without the agent: %s\n", down.details);
		remove_host_device(&req->env);
	}
	if (!ret && req->config.ipam)
		ret = cni_ipam__exec(&req->env, &req->config, "DEL", req->stdin_text,
				     req->stdin_len, NULL, e);
	json_decref(answer);
	json_decref(args);
	client__free(client);
	return ret;
}

/* Our interface in prevResult: the one named CNI_IFNAME in CNI_NETNS. */
static int find_interface(const struct request *req, size_t *index)
{
	json_t *list = json_object_get(req->config.prev_result, "interfaces"), *v;
	size_t i;

	json_array_foreach (list, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *sandbox = json_string_value(json_object_get(v, "sandbox"));

		if (name && sandbox && !strcmp(name, req->env.ifname) &&
		    !strcmp(sandbox, req->env.netns)) {
			*index = i;
			return 0;
		}
	}
	return -ENOENT;
}

static int cmd_check(struct request *req, struct cni_error *e)
{
	json_t *args = NULL, *ips, *v, *answer = NULL;
	struct client *client = NULL;
	size_t index, i;
	int ret;

	if (find_interface(req, &index)) {
		cni_error__set(e, CNI_ERR_CHECK, "CHECK failed",
			       "prevResult has no interface %s in %s", req->env.ifname,
			       req->env.netns);
		return -ENOENT;
	}
	args = attachment_args(req);
	ips = json_array();
	if (!args || !ips || json_object_set_new(args, "ips", ips)) {
		cni_error__set(e, CNI_ERR_IO, "Out of memory", NULL);
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach (json_object_get(req->config.prev_result, "ips"), i, v) {
		json_t *iface = json_object_get(v, "interface");

		if (json_is_integer(iface) &&
		    (size_t)json_integer_value(iface) == index &&
		    json_is_string(json_object_get(v, "address")))
			json_array_append(ips, json_object_get(v, "address"));
	}
	ret = agent_connect(req, &client, e);
	if (!ret)
		ret = agent_call(client, "cni.check", args, &answer, CNI_ERR_CHECK, e);
	if (!ret && req->config.ipam)
		ret = cni_ipam__exec(&req->env, &req->config, "CHECK", req->stdin_text,
				     req->stdin_len, NULL, e);
out:
	json_decref(answer);
	json_decref(args);
	client__free(client);
	return ret;
}

static int cmd_gc(struct request *req, struct cni_error *e)
{
	json_t *valid = json_array(), *args = NULL, *answer = NULL, *v;
	struct client *client = NULL;
	size_t i;
	int ret;

	json_array_foreach (req->config.valid_attachments, i, v)
		json_array_append_new(valid,
				      json_pack("{s:O, s:O}", "container_id",
						json_object_get(v, "containerID"),
						"ifname", json_object_get(v, "ifname")));
	args = json_pack("{s:s, s:o}", "network", req->config.network, "valid", valid);
	ret = agent_connect(req, &client, e);
	if (!ret)
		ret = agent_call(client, "cni.gc", args, &answer, CNI_ERR_AGENT, e);
	/* SPEC.md: GC goes on to the delegated plugins even after an error. */
	if (req->config.ipam) {
		struct cni_error ipam_error = {0};

		if (cni_ipam__exec(&req->env, &req->config, "GC", req->stdin_text,
				   req->stdin_len, NULL, &ipam_error) &&
		    !ret) {
			*e = ipam_error;
			ret = -EIO;
		} else {
			json_decref(ipam_error.passthrough);
		}
	}
	json_decref(answer);
	json_decref(args);
	client__free(client);
	return ret;
}

static int cmd_status(struct request *req, struct cni_error *e)
{
	struct client *client = NULL;
	json_t *answer = NULL;
	int ret;

	ret = agent_connect(req, &client, e);
	if (!ret)
		ret =
		    agent_call(client, "status", NULL, &answer, CNI_ERR_NOT_AVAILABLE, e);
	if (ret) {
		char details[sizeof(e->details)];

		snprintf(details, sizeof(details), "%s", e->details);
		cni_error__set(e, CNI_ERR_NOT_AVAILABLE, "The plugin is not available",
			       "%s", details);
	}
	if (!ret && req->config.ipam)
		ret = cni_ipam__exec(&req->env, &req->config, "STATUS", req->stdin_text,
				     req->stdin_len, NULL, e);
	json_decref(answer);
	client__free(client);
	return ret;
}

/* VERSION: the version asked about (or the latest) and all we speak. */
static int cmd_version(struct request *req)
{
	const char *asked = LATEST_VERSION;
	json_t *root = NULL, *list = json_array(), *out;

	if (req->stdin_len)
		root = json_loadb(req->stdin_text, req->stdin_len, 0, NULL);
	if (json_is_string(json_object_get(root, "cniVersion")))
		asked = json_string_value(json_object_get(root, "cniVersion"));
	for (size_t i = 0; cni_supported_versions[i]; i++)
		json_array_append_new(list, json_string(cni_supported_versions[i]));
	out = json_pack("{s:s, s:o}", "cniVersion", asked, "supportedVersions", list);
	cni_result__print(out);
	json_decref(out);
	json_decref(root);
	return 0;
}

int main(void)
{
	struct request req = {0};
	struct cni_error e = {0};
	int ret = -EINVAL;
	size_t i;

	req.env = (struct cni_env){
	    .command = getenv_nonempty("CNI_COMMAND"),
	    .container_id = getenv_nonempty("CNI_CONTAINERID"),
	    .netns = getenv_nonempty("CNI_NETNS"),
	    .ifname = getenv_nonempty("CNI_IFNAME"),
	    .args = getenv_nonempty("CNI_ARGS"),
	    .path = getenv_nonempty("CNI_PATH"),
	};
	if (!req.env.command) {
		fprintf(stderr,
			"warden-cni %s: the Warden CNI plugin; run by a container "
			"runtime (docs/cni.md). CNI versions: 0.3.0 0.3.1 0.4.0 1.0.0 "
			"1.1.0\n",
			WARDEN_VERSION);
		cni_error__set(&e, CNI_ERR_INVALID_ENV, "Invalid environment variables",
			       "CNI_COMMAND is not set");
		goto fail;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(req.env.command, commands[i].name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		cni_error__set(&e, CNI_ERR_INVALID_ENV, "Invalid environment variables",
			       "CNI_COMMAND=%s: not one of ADD, DEL, CHECK, GC, STATUS, "
			       "VERSION",
			       req.env.command);
		goto fail;
	}
	req.cmd = commands[i].cmd;
	if (read_stdin(&req, &e))
		goto fail;
	if (req.cmd == CNI_VERSION) {
		ret = cmd_version(&req);
		goto done;
	}
	if (check_env(&req, &e))
		goto fail;
	if (cni_config__parse(req.stdin_text ? req.stdin_text : "", req.stdin_len,
			      req.cmd, &req.config, &e))
		goto fail;
	req.have_config = true;
	switch (req.cmd) {
	case CNI_ADD:
		ret = cmd_add(&req, &e);
		break;
	case CNI_DEL:
		ret = cmd_del(&req, &e);
		break;
	case CNI_CHECK:
		ret = cmd_check(&req, &e);
		break;
	case CNI_GC:
		ret = cmd_gc(&req, &e);
		break;
	case CNI_STATUS:
		ret = cmd_status(&req, &e);
		break;
	case CNI_VERSION:
		break;
	}
	if (ret)
		goto fail;
done:
	if (req.have_config)
		cni_config__free(&req.config);
	free(req.stdin_text);
	return 0;
fail:
	print_error(&req, &e);
	json_decref(e.passthrough);
	if (req.have_config)
		cni_config__free(&req.config);
	free(req.stdin_text);
	return 1;
}
