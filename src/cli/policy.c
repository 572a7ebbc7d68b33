// SPDX-License-Identifier: Apache-2.0
/*
 * warden policy: import, validate, show and delete network policies. The CLI
 * only ships the YAML files; the agent parses them and names file, document,
 * line and field in its errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "main.h"
#include "output.h"

#define STDIN_NAME "<stdin>"

static void do_help(FILE *out)
{
	fprintf(out, "Usage: warden policy import FILE...\n"
		     "       warden policy validate FILE...\n"
		     "       warden policy get [NAME] [--namespace NS]\n"
		     "       warden policy delete { NAME [--namespace NS] | --all }\n"
		     "       warden policy trace --from EP|k=v,..|IP --to EP|k=v,..|IP "
		     "--dport PORT/PROTO\n"
		     "                           [--namespace NS] [--http-method M] "
		     "[--http-path P]\n"
		     "       warden policy help\n"
		     "\n"
		     "FILE is a YAML file of CiliumNetworkPolicy / "
		     "CiliumClusterwideNetworkPolicy\n"
		     "documents, or - for stdin. Every command takes --json.\n");
}

/*
 * Read all of @in into a new JSON string. Returns NULL with errno set on a read
 * error, or with errno EILSEQ when the content is not UTF-8.
 */
static json_t *read_document(FILE *in)
{
	size_t len = 0, cap = 65536;
	char *text = xmalloc(cap);
	json_t *content;

	for (;;) {
		size_t n = fread(text + len, 1, cap - len, in);

		len += n;
		if (n == 0) {
			if (ferror(in)) {
				free(text);
				errno = errno ? errno : EIO;
				return NULL;
			}
			break;
		}
		if (len == cap) {
			char *grown = realloc(text, cap *= 2);

			if (!grown) {
				free(text);
				errno = ENOMEM;
				return NULL;
			}
			text = grown;
		}
	}
	content = json_stringn(text, len);
	free(text);
	if (!content)
		errno = EILSEQ;
	return content;
}

/*
 * Build the "documents" list of policy.import/validate from the command's words:
 * each a file name, or "-" for stdin (named "<stdin>"). Returns the new list, or
 * NULL after reporting the error in *status (1 unreadable file, 2 usage).
 */
static json_t *read_documents(const struct args *args, const char *verb, int *status)
{
	json_t *documents = json_array();
	bool used_stdin = false;
	int i;

	if (args->npositional == 0) {
		*status = args__usage_error(do_help, "policy %s: missing FILE", verb);
		goto fail;
	}
	for (i = 0; i < args->npositional; i++) {
		const char *path = args->positional[i];
		bool is_stdin = !strcmp(path, "-");
		FILE *in = is_stdin ? stdin : fopen(path, "r");
		json_t *content;

		if (is_stdin && used_stdin) {
			*status = args__usage_error(do_help, "policy %s: '-' given twice",
						    verb);
			goto fail;
		}
		used_stdin |= is_stdin;
		if (!in) {
			*status =
			    output__error("cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		errno = 0;
		content = read_document(in);
		if (!content) {
			*status = output__error(
			    "cannot read %s: %s", is_stdin ? STDIN_NAME : path,
			    errno == EILSEQ ? "not valid UTF-8" : strerror(errno));
			if (!is_stdin)
				fclose(in);
			goto fail;
		}
		if (!is_stdin)
			fclose(in);
		json_array_append_new(documents, json_pack("{s:s, s:o}", "file",
							   is_stdin ? STDIN_NAME : path,
							   "content", content));
	}
	return documents;

fail:
	json_decref(documents);
	return NULL;
}

/* Parse @argc/@argv as FILE... and send them with @cmd. Returns 0 with *result. */
static int send_documents(int argc, char **argv, const char *verb, const char *cmd,
			  json_t **result)
{
	json_t *documents;
	struct args args;
	int status;

	if (!args__parse(argc, argv, NULL, 0, do_help, &args, &status))
		return status;
	documents = read_documents(&args, verb, &status);
	args__free(&args);
	if (!documents)
		return status;
	return cli__call(cmd, json_pack("{s:o}", "documents", documents), result);
}

/* Milliseconds for a human: three decimals, not the float's full precision. */
static char *format_ms(const json_t *value)
{
	if (json_is_number(value))
		return xasprintf("%.3f", json_number_value(value));
	return output__value(value, ",");
}

static int do_import(int argc, char **argv)
{
	json_t *result;
	int status;

	status = send_documents(argc, argv, "import", "policy.import", &result);
	if (status)
		return status;
	if (json_output) {
		status = output__json(result);
	} else {
		const json_t *imported = json_object_get(result, "imported");
		char *names = output__value(imported, ", ");
		char *revision = output__value(json_object_get(result, "revision"), ",");
		char *compile = format_ms(json_object_get(result, "compile_ms"));
		char *apply = format_ms(json_object_get(result, "apply_ms"));
		char *entries = output__value(json_object_get(result, "entries"), ",");
		size_t n = json_array_size(imported);

		output__warnings(json_object_get(result, "warnings"));
		printf("imported %zu %s (revision %s): %s\n", n,
		       n == 1 ? "policy" : "policies", revision, names);
		printf("compiled in %s ms, applied in %s ms, %s map entries\n", compile,
		       apply, entries);
		free(names);
		free(revision);
		free(compile);
		free(apply);
		free(entries);
	}
	json_decref(result);
	return status;
}

static int do_validate(int argc, char **argv)
{
	json_t *result;
	int status;

	status = send_documents(argc, argv, "validate", "policy.validate", &result);
	if (status)
		return status;
	/* Errors come as {"ok": false}; "valid": false without a reason is still one. */
	if (!json_is_true(json_object_get(result, "valid"))) {
		status = output__error("invalid policy (wardend gave no reason)");
	} else if (json_output) {
		status = output__json(result);
	} else {
		const json_t *policies = json_object_get(result, "policies");
		char *names = output__value(policies, ", ");
		size_t n = json_array_size(policies);

		output__warnings(json_object_get(result, "warnings"));
		printf("valid: %zu %s: %s\n", n, n == 1 ? "policy" : "policies", names);
		free(names);
	}
	json_decref(result);
	return status;
}

/* "file", or "file (document N)" for the second and later documents of a file. */
static char *format_file(const json_t *policy)
{
	json_int_t document = json_integer_value(json_object_get(policy, "document"));
	const char *file = output__str(policy, "file", "-");
	if (document <= 0)
		return xstrdup(file);
	return xasprintf("%s (document %" JSON_INTEGER_FORMAT ")", file, document);
}

static void print_policies(const json_t *policies, bool with_source)
{
	static const char *const headers[] = {"NAMESPACE", "NAME", "KIND", "FILE",
					      "SELECTS"};
	struct table *table = table__new(headers, 5);
	const json_t *policy;
	size_t i;

	json_array_foreach (policies, i, policy) {
		char *cells[] = {
		    /* A clusterwide policy has namespace null, shown as "-". */
		    output__value(json_object_get(policy, "namespace"), ","),
		    output__value(json_object_get(policy, "name"), ","),
		    output__value(json_object_get(policy, "kind"), ","),
		    format_file(policy),
		    output__value(json_object_get(policy, "selects"), "\n"),
		};

		table__add_row_owned(table, cells);
	}
	table__print(table, stdout, 0);
	table__free(table);

	if (!with_source)
		return;
	json_array_foreach (policies, i, policy) {
		const char *source = output__str(policy, "source", "");
		size_t len = strlen(source);
		char *file = format_file(policy);

		const char *namespace = output__str(policy, "namespace", NULL);

		printf("\n# %s%s%s from %s\n%s%s", namespace ? namespace : "",
		       namespace ? "/" : "", output__str(policy, "name", "-"), file,
		       source, len && source[len - 1] == '\n' ? "" : "\n");
		free(file);
	}
}

static int do_get(int argc, char **argv)
{
	const char *namespace = NULL;
	const struct arg_option options[] = {
	    {"--namespace", ARG_STRING, &namespace},
	    {NULL},
	};
	const char *name;
	struct args args;
	json_t *result;
	int status;

	if (!args__parse(argc, argv, options, 0, do_help, &args, &status))
		return status;
	if (args.npositional > 1) {
		status = args__usage_error(
		    do_help, "policy get: unexpected argument '%s'", args.positional[1]);
		args__free(&args);
		return status;
	}
	name = args.npositional ? args.positional[0] : NULL;
	args__free(&args);

	if (cli__call("policy.get",
		      json_pack("{s:s*, s:s*}", "name", name, "namespace", namespace),
		      &result))
		return 1;
	/* Asking for one policy by name and getting none is "not found", as for
	 * endpoints. */
	if (name && json_array_size(result) == 0)
		status = namespace
			     ? output__error("policy %s/%s not found", namespace, name)
			     : output__error("policy %s not found", name);
	else if (json_output)
		status = output__json(result);
	else
		print_policies(result, name != NULL);
	json_decref(result);
	return status;
}

/*
 * The namespace of the policy @name when the user gave none: ask the agent, and
 * accept exactly one match. Returns 0 with *namespace a new reference (a string,
 * or null for a clusterwide policy), or 1 after reporting the error.
 */
static int resolve_namespace(const char *name, json_t **namespace)
{
	json_t *policies, *namespaces;
	const json_t *policy;
	size_t i;
	int status = 0;

	if (cli__call("policy.get", json_pack("{s:s}", "name", name), &policies))
		return 1;
	if (json_array_size(policies) == 1) {
		*namespace = json_object_get(json_array_get(policies, 0), "namespace");
		*namespace = *namespace ? json_incref(*namespace) : json_null();
	} else if (json_array_size(policies) == 0) {
		status = output__error("policy %s not found", name);
	} else {
		char *list;

		namespaces = json_array();
		json_array_foreach (policies, i, policy)
			json_array_append(namespaces,
					  json_object_get(policy, "namespace"));
		list = output__value(namespaces, ", ");
		status = output__error("policy %s exists in several namespaces (%s): "
				       "give --namespace",
				       name, list);
		free(list);
		json_decref(namespaces);
	}
	json_decref(policies);
	return status;
}

/*
 * warden policy trace: the verdict for a flow without sending traffic,
 * egress at the source and ingress at the destination, with the rules that
 * decide (the agent reads the same compiled entries as the datapath).
 */
static int do_trace(int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *dport = NULL, *ns = NULL, *method = NULL,
		   *path = NULL;
	const struct arg_option options[] = {
	    {"--from", ARG_STRING, &from},
	    {"--to", ARG_STRING, &to},
	    {"--dport", ARG_STRING, &dport},
	    {"--namespace", ARG_STRING, &ns},
	    {"--http-method", ARG_STRING, &method},
	    {"--http-path", ARG_STRING, &path},
	    {NULL},
	};
	json_t *result, *step, *http;
	struct args args;
	size_t i;
	int status;

	if (!args__parse(argc, argv, options, 0, do_help, &args, &status))
		return status;
	args__free(&args);
	if (!from || !to || !dport)
		return args__usage_error(do_help,
					 "policy trace: --from, --to and --dport needed");
	status = cli__call("policy.trace",
			   json_pack("{s:s, s:s, s:s, s:s*, s:s*, s:s*}", "from", from,
				     "to", to, "dport", dport, "namespace", ns,
				     "http_method", method, "http_path", path),
			   &result);
	if (status)
		return status;
	if (json_output) {
		status = output__json(result);
		json_decref(result);
		return status;
	}
	printf("Flow: %s (%" JSON_INTEGER_FORMAT ") -> %s (%" JSON_INTEGER_FORMAT
	       ") %s\n",
	       output__str(json_object_get(result, "from"), "name", "?"),
	       json_integer_value(
		   json_object_get(json_object_get(result, "from"), "identity")),
	       output__str(json_object_get(result, "to"), "name", "?"),
	       json_integer_value(
		   json_object_get(json_object_get(result, "to"), "identity")),
	       dport);
	json_array_foreach (json_object_get(result, "steps"), i, step) {
		json_int_t rule = json_integer_value(json_object_get(step, "rule"));

		printf("  %-7s at %s: %s (%s", output__str(step, "direction", "?"),
		       output__str(step, "endpoint", "?"),
		       output__str(step, "verdict", "?"),
		       output__str(step, "policy", "?"));
		if (rule >= 0)
			printf(", rule %" JSON_INTEGER_FORMAT, rule);
		/* An ipBlock that matched the peer pod by its address. */
		if (json_is_string(json_object_get(step, "pod_cidr")))
			printf(", pod address in %s", output__str(step, "pod_cidr", "?"));
		printf(")%s\n",
		       json_is_true(json_object_get(step, "l7")) ? " -> L7 proxy" : "");
	}
	http = json_object_get(result, "http");
	if (http)
		printf("  http %s %s: %s (%s)\n", output__str(http, "method", "?"),
		       output__str(http, "path", "?"), output__str(http, "verdict", "?"),
		       output__str(http, "policy", "?"));
	printf("Verdict: %s\n", output__str(result, "verdict", "?"));
	json_decref(result);
	return 0;
}

static int do_delete(int argc, char **argv)
{
	const char *namespace = NULL;
	bool all = false;
	const struct arg_option options[] = {
	    {"--namespace", ARG_STRING, &namespace},
	    {"--all", ARG_FLAG, &all},
	    {NULL},
	};
	json_t *request, *result, *resolved = NULL;
	char *name = NULL;
	struct args args;
	int status;

	if (!args__parse(argc, argv, options, 0, do_help, &args, &status))
		return status;
	if (args.npositional > 1)
		status =
		    args__usage_error(do_help, "policy delete: unexpected argument '%s'",
				      args.positional[1]);
	else if (all && (args.npositional || namespace))
		status = args__usage_error(
		    do_help, "policy delete: --all takes no NAME or --namespace");
	else if (!all && !args.npositional)
		status = args__usage_error(do_help, "policy delete: give NAME or --all");
	else if (!all)
		name = xstrdup(args.positional[0]);
	args__free(&args);
	if (status)
		return status;

	if (all) {
		request = json_pack("{s:b}", "all", 1);
	} else {
		/* --namespace "" names the clusterwide policy, whose namespace is null.
		 */
		if (namespace)
			resolved = *namespace ? json_string(namespace) : json_null();
		else if ((status = resolve_namespace(name, &resolved)))
			goto out;
		request = json_pack("{s:s, s:O}", "name", name, "namespace", resolved);
	}
	status = cli__call("policy.delete", request, &result);
	if (status)
		goto out;
	if (json_output) {
		status = output__json(result);
	} else {
		const json_t *deleted = json_object_get(result, "deleted");
		char *names = output__value(deleted, ", ");
		char *revision = output__value(json_object_get(result, "revision"), ",");
		size_t n = json_array_size(deleted);

		if (n == 0)
			printf("no policies to delete (revision %s)\n", revision);
		else if (n == 1)
			printf("deleted %s (revision %s)\n", names, revision);
		else
			printf("deleted %zu policies (revision %s): %s\n", n, revision,
			       names);
		free(names);
		free(revision);
	}
	json_decref(result);
out:
	json_decref(resolved);
	free(name);
	return status;
}

static const struct cmd cmds[] = {
    {"import", do_import}, {"validate", do_validate}, {"get", do_get},
    {"delete", do_delete}, {"trace", do_trace},	      {NULL, NULL},
};

int do_policy(int argc, char **argv)
{
	return cmd__dispatch("policy", cmds, do_help, argc, argv);
}
