// SPDX-License-Identifier: Apache-2.0
/* warden endpoint: create, list, inspect, relabel and delete endpoints; run in them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "main.h"
#include "output.h"

static void do_help(FILE *out)
{
	fprintf(out,
		"Usage: warden endpoint create NAME [--namespace NS] --labels "
		"LABELS [--port PORT]...\n"
		"       warden endpoint list [--namespace NS]\n"
		"       warden endpoint get NAME [--namespace NS]\n"
		"       warden endpoint delete NAME [--namespace NS]\n"
		"       warden endpoint label NAME [--namespace NS] CHANGE...\n"
		"       warden endpoint config NAME [--namespace NS] [OPTION=VALUE]...\n"
		"       warden endpoint exec NAME [--namespace NS] [--privileged] -- "
		"CMD [ARG]...\n"
		"       warden endpoint help\n"
		"\n"
		"LABELS := KEY=VALUE[,KEY=VALUE]...   (--labels may be repeated)\n"
		"PORT   := NAME=PORT/PROTO            (e.g. http=80/TCP)\n"
		"CHANGE := { KEY=VALUE | KEY- }       (KEY- removes the label KEY)\n"
		"OPTION := audit=on|off               (also "
		"PolicyAuditMode=Enabled|Disabled)\n"
		"NS defaults to \"" WARDEN_DEFAULT_NAMESPACE
		"\"; every command takes --json.\n");
}

/* "namespace/name" of an endpoint object, newly allocated. */
static char *endpoint_ref(const json_t *endpoint, const char *name, const char *namespace)
{
	return xasprintf("%s/%s", output__str(endpoint, "namespace", namespace),
			 output__str(endpoint, "name", name));
}

/*
 * Parse "NAME [--namespace NS]" plus the @nextra options @extra. NAME is the
 * first word; more words are allowed only with @more_words. The namespace
 * defaults to "default".
 */
static bool parse_named(int argc, char **argv, const char *verb,
			const struct arg_option *extra, size_t nextra, unsigned flags,
			bool more_words, const char **namespace, struct args *args,
			int *status)
{
	struct arg_option options[nextra + 2];

	*namespace = WARDEN_DEFAULT_NAMESPACE;
	options[0] = (struct arg_option){"--namespace", ARG_STRING, namespace};
	if (nextra)
		memcpy(options + 1, extra, nextra * sizeof(*extra));
	options[nextra + 1] = (struct arg_option){NULL};

	if (!args__parse(argc, argv, options, flags, do_help, args, status))
		return false;
	if (args->npositional == 0)
		*status = args__usage_error(do_help, "endpoint %s: missing endpoint NAME",
					    verb);
	else if (args->npositional > 1 && !more_words)
		*status =
		    args__usage_error(do_help, "endpoint %s: unexpected argument '%s'",
				      verb, args->positional[1]);
	else
		return true;
	args__free(args);
	return false;
}

/* Check NAME=PORT/PROTO; the agent owns the meaning (known protocols and so on). */
static int check_ports(const json_t *ports)
{
	const json_t *port;
	size_t i;

	json_array_foreach (ports, i, port) {
		const char *text = json_string_value(port);
		const char *eq = strchr(text, '='), *slash = eq ? strchr(eq, '/') : NULL;
		char *end;
		long number;

		if (!eq || eq == text || !slash || !slash[1])
			goto bad;
		errno = 0;
		number = strtol(eq + 1, &end, 10);
		if (end != slash || end == eq + 1 || errno || number < 1 ||
		    number > 65535)
			goto bad;
		continue;
	bad:
		return args__usage_error(
		    do_help,
		    "invalid port '%s': expected NAME=PORT/PROTO with PORT "
		    "1-65535, e.g. http=80/TCP",
		    text);
	}
	return 0;
}

static int do_create(int argc, char **argv)
{
	json_t *labels = json_array(), *ports = json_array(), *result;
	const struct arg_option extra[] = {
	    {"--labels", ARG_CSV, labels},
	    {"--port", ARG_LIST, ports},
	};
	const char *namespace, *name;
	struct args args;
	int status = 0;
	char *ref;

	if (!parse_named(argc, argv, "create", extra, 2, 0, false, &namespace, &args,
			 &status))
		goto out;
	name = args.positional[0];
	args__free(&args);
	if (json_array_size(labels) == 0) {
		status =
		    args__usage_error(do_help, "endpoint create: --labels is required");
		goto out;
	}
	status = args__check_labels(labels, do_help);
	if (!status)
		status = check_ports(ports);
	if (status)
		goto out;

	status = cli__call("endpoint.create",
			   json_pack("{s:s, s:s, s:O, s:O}", "name", name, "namespace",
				     namespace, "labels", labels, "ports", ports),
			   &result);
	if (status)
		goto out;
	if (json_output) {
		status = output__json(result);
	} else {
		char *id = output__value(json_object_get(result, "id"), ",");
		char *identity = output__value(json_object_get(result, "identity"), ",");

		ref = endpoint_ref(result, name, namespace);
		printf("endpoint %s created: id %s, ipv4 %s, identity %s\n", ref, id,
		       output__str(result, "ipv4", "-"), identity);
		free(ref);
		free(id);
		free(identity);
	}
	json_decref(result);
out:
	json_decref(labels);
	json_decref(ports);
	return status;
}

static void print_list(const json_t *endpoints)
{
	static const char *const headers[] = {
	    "ID", "NAMESPACE", "NAME", "IPV4", "IDENTITY", "INGRESS", "EGRESS", "LABELS"};
	struct table *table = table__new(headers, 8);
	size_t i, n;
	json_t **sorted = output__sorted_by_id(endpoints, &n);

	for (i = 0; i < n; i++) {
		const json_t *endpoint = sorted[i];
		const json_t *enforcement =
		    json_object_get(endpoint, "policy_enforcement");
		char *cells[] = {
		    output__value(json_object_get(endpoint, "id"), ","),
		    output__value(json_object_get(endpoint, "namespace"), ","),
		    output__value(json_object_get(endpoint, "name"), ","),
		    output__value(json_object_get(endpoint, "ipv4"), ","),
		    output__value(json_object_get(endpoint, "identity"), ","),
		    xstrdup(output__enforcement(json_object_get(enforcement, "ingress"))),
		    xstrdup(output__enforcement(json_object_get(enforcement, "egress"))),
		    /* One label per line, as cilium endpoint list does. */
		    output__value(json_object_get(endpoint, "labels"), "\n"),
		};

		table__add_row_owned(table, cells);
	}
	table__print(table, stdout, 0);
	table__free(table);
	free(sorted);
}

static int do_list(int argc, char **argv)
{
	const char *namespace = NULL;
	const struct arg_option options[] = {
	    {"--namespace", ARG_STRING, &namespace},
	    {NULL},
	};
	struct args args;
	json_t *result;
	int status;

	if (!args__parse(argc, argv, options, 0, do_help, &args, &status))
		return status;
	status =
	    args.npositional
		? args__usage_error(do_help, "endpoint list: unexpected argument '%s'",
				    args.positional[0])
		: 0;
	args__free(&args);
	if (status)
		return status;

	if (cli__call("endpoint.list", json_pack("{s:s*}", "namespace", namespace),
		      &result))
		return 1;
	if (json_output)
		status = output__json(result);
	else
		print_list(result);
	json_decref(result);
	return status;
}

static char *format_ports(const json_t *ports)
{
	json_t *words = json_array();
	const json_t *port;
	char *text;
	size_t i;

	json_array_foreach (ports, i, port) {
		char *number = output__value(json_object_get(port, "port"), ",");

		json_array_append_new(
		    words, json_sprintf("%s %s/%s", output__str(port, "name", "-"),
					number, output__str(port, "protocol", "-")));
		free(number);
	}
	text = output__value(words, "\n");
	json_decref(words);
	return text;
}

static void print_endpoint(const json_t *endpoint)
{
	const json_t *enforcement = json_object_get(endpoint, "policy_enforcement");
	char *text, *ifindex;

	text = endpoint_ref(endpoint, "-", "-");
	output__field("Endpoint", text);
	free(text);
	output__field_owned("ID", output__value(json_object_get(endpoint, "id"), ","));
	output__field("IPv4", output__str(endpoint, "ipv4", "-"));
	output__field_owned("Identity",
			    output__value(json_object_get(endpoint, "identity"), ","));
	output__field_owned("Labels",
			    output__value(json_object_get(endpoint, "labels"), "\n"));
	output__field("Netns", output__str(endpoint, "netns", "-"));
	ifindex = output__value(json_object_get(endpoint, "ifindex"), ",");
	text = xasprintf("%s (ifindex %s)", output__str(endpoint, "interface", "-"),
			 ifindex);
	free(ifindex);
	output__field_owned("Interface", text);
	output__field_owned("Ports", format_ports(json_object_get(endpoint, "ports")));
	output__field("Ingress policy",
		      output__enforcement(json_object_get(enforcement, "ingress")));
	output__field("Egress policy",
		      output__enforcement(json_object_get(enforcement, "egress")));
	output__field_owned(
	    "Policy revision",
	    output__value(json_object_get(endpoint, "policy_revision"), ","));
}

static int do_get(int argc, char **argv)
{
	const char *namespace;
	struct args args;
	json_t *result;
	int status;

	if (!parse_named(argc, argv, "get", NULL, 0, 0, false, &namespace, &args,
			 &status))
		return status;
	status = cli__call(
	    "endpoint.get",
	    json_pack("{s:s, s:s}", "name", args.positional[0], "namespace", namespace),
	    &result);
	args__free(&args);
	if (status)
		return status;
	if (json_output)
		status = output__json(result);
	else
		print_endpoint(result);
	json_decref(result);
	return status;
}

static int do_delete(int argc, char **argv)
{
	const char *namespace;
	struct args args;
	json_t *result;
	int status;

	if (!parse_named(argc, argv, "delete", NULL, 0, 0, false, &namespace, &args,
			 &status))
		return status;
	status = cli__call(
	    "endpoint.delete",
	    json_pack("{s:s, s:s}", "name", args.positional[0], "namespace", namespace),
	    &result);
	if (!status) {
		if (json_output) {
			status = output__json(result);
		} else {
			char *ref =
			    output__value(json_object_get(result, "deleted"), ",");

			printf("endpoint %s deleted\n", ref);
			free(ref);
		}
		json_decref(result);
	}
	args__free(&args);
	return status;
}

/* "audit=on" and Cilium's "PolicyAuditMode=Enabled": 1 on, 0 off, -1 bad. */
static int parse_audit_option(const char *word)
{
	static const char *const on[] = {"on", "true", "enabled", NULL};
	static const char *const off[] = {"off", "false", "disabled", NULL};
	const char *value = strchr(word, '=');
	size_t key_len = value ? (size_t)(value - word) : 0;

	if (!value || !((key_len == 5 && !strncasecmp(word, "audit", 5)) ||
			(key_len == 15 && !strncasecmp(word, "PolicyAuditMode", 15))))
		return -1;
	value++;
	for (size_t i = 0; on[i]; i++) {
		if (!strcasecmp(value, on[i]))
			return 1;
		if (!strcasecmp(value, off[i]))
			return 0;
	}
	return -1;
}

static int do_config(int argc, char **argv)
{
	json_t *params, *result;
	const char *namespace;
	struct args args;
	int status;

	if (!parse_named(argc, argv, "config", NULL, 0, 0, true, &namespace, &args,
			 &status))
		return status;
	params =
	    json_pack("{s:s, s:s}", "name", args.positional[0], "namespace", namespace);
	for (int i = 1; i < args.npositional; i++) {
		int audit = parse_audit_option(args.positional[i]);

		if (audit < 0) {
			status = args__usage_error(do_help,
						   "endpoint config: unknown option '%s' "
						   "(expected audit=on|off)",
						   args.positional[i]);
			json_decref(params);
			args__free(&args);
			return status;
		}
		json_object_set_new(params, "audit", json_boolean(audit));
	}
	status = cli__call("endpoint.config", params, &result);
	if (!status) {
		if (json_output) {
			status = output__json(result);
		} else {
			char *ref = endpoint_ref(result, args.positional[0], namespace);

			printf("endpoint %s: audit %s\n", ref,
			       json_is_true(json_object_get(result, "audit")) ? "on"
									      : "off");
			free(ref);
		}
		json_decref(result);
	}
	args__free(&args);
	return status;
}

static int do_label(int argc, char **argv)
{
	json_t *set = json_array(), *remove = json_array(), *result;
	const char *namespace;
	struct args args;
	int status;

	if (!parse_named(argc, argv, "label", NULL, 0, 0, true, &namespace, &args,
			 &status))
		goto out;
	/* The label changes are the words after NAME. */
	status = args__label_changes(args.positional + 1, args.npositional - 1, set,
				     remove, do_help);
	if (!status)
		status = cli__call("endpoint.label",
				   json_pack("{s:s, s:s, s:O, s:O}", "name",
					     args.positional[0], "namespace", namespace,
					     "set", set, "remove", remove),
				   &result);
	if (!status) {
		if (json_output) {
			status = output__json(result);
		} else {
			char *ref = endpoint_ref(result, args.positional[0], namespace);
			char *identity =
			    output__value(json_object_get(result, "identity"), ",");

			printf("endpoint %s labeled: identity %s\n", ref, identity);
			free(ref);
			free(identity);
		}
		json_decref(result);
	}
	args__free(&args);
out:
	json_decref(set);
	json_decref(remove);
	return status;
}

/*
 * Move this process into the network namespace @netns of the endpoint @ref: a
 * name under /run/netns (as `ip netns` pins them), or an absolute path. Returns
 * 0, or 1 after reporting why not.
 */
static int enter_netns(const char *ref, const char *netns)
{
	char path[PATH_MAX];
	int fd, err;

	if (!netns || !*netns)
		return output__error("endpoint %s has no network namespace", ref);
	if (netns[0] == '/')
		snprintf(path, sizeof(path), "%s", netns);
	else if (strchr(netns, '/') || !strcmp(netns, "..") ||
		 (size_t)snprintf(path, sizeof(path), "/run/netns/%s", netns) >=
		     sizeof(path))
		return output__error("endpoint %s: invalid network namespace name '%s'",
				     ref, netns);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return output__error(
		    "cannot open the network namespace of endpoint %s (%s): %s", ref,
		    path, strerror(errno));
	err = setns(fd, CLONE_NEWNET);
	if (err)
		err = errno;
	close(fd);
	if (err)
		return output__error(
		    "cannot enter the network namespace of endpoint %s (%s): %s", ref,
		    path, strerror(err));
	return 0;
}

/*
 * The capabilities a workload keeps (the set container runtimes give by
 * default): what ordinary servers need — binding ports below 1024, raw
 * sockets for ping, chroot and changing user for an FTP server, file
 * ownership. Not kept, above all: CAP_SYS_ADMIN (entering another network
 * namespace, mounts), CAP_NET_ADMIN (its own addresses and routes),
 * CAP_BPF and CAP_PERFMON (loading programs), CAP_SYS_PTRACE (other
 * processes' namespaces and memory), CAP_SYS_MODULE, CAP_SYS_RAWIO.
 */
static const cap_value_t workload_caps[] = {
    CAP_CHOWN,	    CAP_DAC_OVERRIDE, CAP_FOWNER,      CAP_FSETID,	     CAP_KILL,
    CAP_SETGID,	    CAP_SETUID,	      CAP_SETPCAP,     CAP_NET_BIND_SERVICE, CAP_NET_RAW,
    CAP_SYS_CHROOT, CAP_MKNOD,	      CAP_AUDIT_WRITE, CAP_SETFCAP,
};

static bool workload_keeps(cap_value_t cap)
{
	for (size_t i = 0; i < sizeof(workload_caps) / sizeof(workload_caps[0]); i++)
		if (workload_caps[i] == cap)
			return true;
	return false;
}

/*
 * Confine this process before it becomes the workload: every capability
 * but workload_caps leaves the bounding set (so not even a root execve
 * brings it back), the inheritable and ambient sets are emptied, and
 * no_new_privs stops setuid binaries and file capabilities from granting
 * more. The process stays root in the host's filesystem (this is not a
 * container), but it cannot leave the endpoint's network namespace, load
 * BPF programs or change the network around it; wardend refuses its
 * control requests (it is in an endpoint's namespace). Returns 0 or 1
 * after saying why not.
 */
static int confine_workload(const char *ref)
{
	cap_value_t max = (cap_value_t)cap_max_bits();
	cap_t caps = NULL;
	const char *step;
	int err = 0;

	step = "drop capabilities from the bounding set";
	for (cap_value_t cap = 0; cap < max && !err; cap++)
		if (!workload_keeps(cap) && cap_drop_bound(cap) < 0)
			err = errno;
	if (!err) {
		step = "limit the capability sets";
		caps = cap_get_proc();
		if (!caps || cap_clear_flag(caps, CAP_INHERITABLE) < 0)
			err = errno;
		for (cap_value_t cap = 0; cap < max && !err; cap++)
			if (!workload_keeps(cap) &&
			    (cap_set_flag(caps, CAP_EFFECTIVE, 1, &cap, CAP_CLEAR) < 0 ||
			     cap_set_flag(caps, CAP_PERMITTED, 1, &cap, CAP_CLEAR) < 0))
				err = errno;
		if (!err && cap_set_proc(caps) < 0)
			err = errno;
		cap_free(caps);
	}
	if (!err) {
		step = "clear the ambient capabilities";
		if (cap_reset_ambient() < 0)
			err = errno;
	}
	if (!err) {
		step = "set no_new_privs";
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			err = errno;
	}
	if (err)
		return output__error("endpoint %s: cannot %s: %s (use --privileged to "
				     "run the command unconfined)",
				     ref, step, strerror(err));
	return 0;
}

static int do_exec(int argc, char **argv)
{
	bool privileged = false;
	const struct arg_option extra[] = {
	    {"--privileged", ARG_FLAG, &privileged},
	};
	const char *namespace;
	struct args args;
	json_t *result;
	char *ref;
	int status;

	if (!parse_named(argc, argv, "exec", extra, 1, ARGS_KEEP_REST, true, &namespace,
			 &args, &status))
		return status;
	if (args.npositional > 1 || args.nrest == 0) {
		/* Without "--", CMD's own options would be taken for warden's. */
		status =
		    args.npositional > 1
			? args__usage_error(
			      do_help, "endpoint exec: put '--' before the command '%s'",
			      args.positional[1])
			: args__usage_error(do_help, "endpoint exec: missing '-- CMD'");
		args__free(&args);
		return status;
	}
	status = cli__call(
	    "endpoint.get",
	    json_pack("{s:s, s:s}", "name", args.positional[0], "namespace", namespace),
	    &result);
	if (status) {
		args__free(&args);
		return status;
	}
	ref = endpoint_ref(result, args.positional[0], namespace);
	status = enter_netns(ref, output__str(result, "netns", NULL));
	json_decref(result);
	if (!status && !privileged)
		status = confine_workload(ref);
	if (status)
		goto out;

	/* The agent's socket is close-on-exec; CMD inherits stdio and nothing else. */
	fflush(NULL);
	execvp(args.rest[0], args.rest);
	status = errno == ENOENT ? 127 : 126; /* the shell's codes for "cannot run" */
	output__error("endpoint %s: cannot run '%s': %s", ref, args.rest[0],
		      strerror(errno));
out:
	free(ref);
	args__free(&args);
	return status;
}

static const struct cmd cmds[] = {
    {"create", do_create}, {"list", do_list},	{"get", do_get},
    {"delete", do_delete}, {"label", do_label}, {"config", do_config},
    {"exec", do_exec},	   {NULL, NULL},
};

int do_endpoint(int argc, char **argv)
{
	return cmd__dispatch("endpoint", cmds, do_help, argc, argv);
}
