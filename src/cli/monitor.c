// SPDX-License-Identifier: Apache-2.0
/*
 * warden monitor: follow the agent's datapath events, one line each, until the
 * agent closes the stream or the user interrupts. Every line is flushed at once:
 * the output is often piped into a file that tests read while it grows.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "client.h"
#include "main.h"
#include "output.h"

static void do_help(FILE *out)
{
	fprintf(
	    out,
	    "Usage: warden monitor [--type l3l4|l7|drop] [--verdict VERDICT]\n"
	    "                      [--from SEL] [--to SEL] [--namespace NS]\n"
	    "                      [--last N] [--follow] [-o compact|json] [--json]\n"
	    "       warden monitor help\n"
	    "\n"
	    "SEL     := an endpoint (NAME or NS/NAME) or a label k=v (all must match)\n"
	    "VERDICT := FORWARDED | REDIRECTED | DROPPED | DENIED | AUDIT | ERROR\n"
	    "--last N prints the last N events of the agent's history (then stops,\n"
	    "unless --follow). With --json (or -o json) every event is printed as the\n"
	    "JSON line the agent sent.\n");
}

struct filter {
	const char *type; /* l3l4, l7, drop */
	const char *verdict;
	const char *from;
	const char *to;
	const char *ns;
};

/* SEL against one side of an event: "ns/name", "name" (any namespace) or
 * labels "k=v[,k=v]" that must all be among the side's labels. */
static bool peer_matches(const json_t *peer, const char *sel)
{
	const char *endpoint = output__str(peer, "endpoint", NULL);
	char *copy, *tok, *save = NULL;
	bool ok = true;

	if (!strchr(sel, '=')) {
		const char *slash = endpoint ? strchr(endpoint, '/') : NULL;

		return endpoint &&
		       (!strcmp(endpoint, sel) || (slash && !strcmp(slash + 1, sel)));
	}
	copy = strdup(sel);
	for (tok = strtok_r(copy, ",", &save); ok && tok;
	     tok = strtok_r(NULL, ",", &save)) {
		const json_t *label;
		size_t i;
		bool found = false;

		json_array_foreach (json_object_get(peer, "labels"), i, label) {
			const char *text = json_string_value(label);
			const char *colon = text ? strchr(text, ':') : NULL;

			/* Labels carry a source ("k8s:org=empire"); SEL may omit it. */
			if (text &&
			    (!strcmp(text, tok) || (colon && !strcmp(colon + 1, tok))))
				found = true;
		}
		ok = found;
	}
	free(copy);
	return ok;
}

static bool event_matches(const json_t *event, const struct filter *f)
{
	const char *type = output__str(event, "type", "");
	const char *verdict = output__str(event, "verdict", "");
	/* The proxy's events: requests, and connections its limits refused. */
	bool l7 = !strcmp(type, "http-request") || !strcmp(type, "proxy-connection");

	if (f->type) {
		if (!strcmp(f->type, "l7") && !l7)
			return false;
		if (!strcmp(f->type, "l3l4") && l7)
			return false;
		if (!strcmp(f->type, "drop") && strcmp(verdict, "DROPPED"))
			return false;
	}
	if (f->verdict && strcasecmp(f->verdict, verdict))
		return false;
	if (f->from && !peer_matches(json_object_get(event, "source"), f->from))
		return false;
	if (f->to && !peer_matches(json_object_get(event, "destination"), f->to))
		return false;
	if (f->ns) {
		size_t n = strlen(f->ns);
		const char *a =
		    output__str(json_object_get(event, "source"), "endpoint", "");
		const char *b =
		    output__str(json_object_get(event, "destination"), "endpoint", "");

		if (!((!strncmp(a, f->ns, n) && a[n] == '/') ||
		      (!strncmp(b, f->ns, n) && b[n] == '/')))
			return false;
	}
	return true;
}

static volatile sig_atomic_t interrupted;
static int stream_fd = -1;

/*
 * SIGINT/SIGTERM: shut the socket down rather than only setting a flag, so a
 * read() blocked in the agent's silence returns at once (end of stream) with no
 * race between checking a flag and blocking. shutdown() is async-signal-safe.
 */
static void on_interrupt(int signo)
{
	(void)signo;
	interrupted = 1;
	if (stream_fd >= 0)
		shutdown(stream_fd, SHUT_RDWR);
}

/*
 * "hh:mm:ss.mmm" of an RFC 3339 time as the agent writes it (UTC), whatever the
 * length of its fraction; the whole string when it does not look like one.
 */
static void print_time(const char *time)
{
	const char *t = time ? strchr(time, 'T') : NULL;
	char fraction[4] = "000";
	int i;

	if (!t || strlen(t + 1) < 8 || t[3] != ':' || t[6] != ':') {
		printf("%s", time ? time : "-");
		return;
	}
	t++;
	if (t[8] == '.')
		for (i = 0; i < 3 && t[9 + i] >= '0' && t[9 + i] <= '9'; i++)
			fraction[i] = t[9 + i];
	printf("%.8s.%s", t, fraction);
}

/* "ip:port (identity name-or-labels)" of one side of a flow. */
static void print_peer(const json_t *peer, bool has_ports)
{
	const json_t *port = json_object_get(peer, "port");
	const json_t *identity = json_object_get(peer, "identity");
	const char *endpoint = output__str(peer, "endpoint", NULL);
	char *text;

	printf("%s", output__str(peer, "ip", "?"));
	/* Port 0 means none; for ICMP a "port" would be the echo id, not worth showing.
	 */
	if (has_ports && json_is_integer(port) && json_integer_value(port) > 0)
		printf(":%" JSON_INTEGER_FORMAT, json_integer_value(port));
	text = output__value(identity, ",");
	printf(" (%s", text);
	free(text);
	if (endpoint) {
		printf(" %s", endpoint);
	} else if (json_array_size(json_object_get(peer, "labels")) > 0) {
		text = output__value(json_object_get(peer, "labels"), ",");
		printf(" %s", text);
		free(text);
	}
	putchar(')');
}

/* Print a string member followed by a blank, skipping it when absent or empty. */
static void print_word(const json_t *event, const char *key)
{
	const char *text = output__str(event, key, "");

	if (*text)
		printf(" %s", text);
}

static void print_event(const char *line, size_t len, const struct filter *f)
{
	const char *policy, *protocol;
	const json_t *rule;
	json_error_t jerr;
	bool has_ports;
	json_t *event;

	/* Nothing to filter here: the agent's line is the output (no parse). */
	if (json_output && !f->verdict && !f->from && !f->to && !f->ns &&
	    (!f->type || !strcmp(f->type, "drop"))) {
		printf("%.*s\n", (int)len, line);
		return;
	}
	event = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(event)) {
		fprintf(stderr, "warden: unreadable event from wardend (%s): %.*s\n",
			event ? "not an object" : jerr.text, (int)len, line);
		json_decref(event);
		return;
	}
	/* The agent says how many events this client missed (it read too
	 * slowly): never filtered away. */
	if (!strcmp(output__str(event, "type", ""), "lost")) {
		if (json_output)
			printf("%.*s\n", (int)len, line);
		else
			fprintf(stderr,
				"warden: %" JSON_INTEGER_FORMAT
				" events lost: this monitor did not read them fast "
				"enough\n",
				json_integer_value(json_object_get(event, "lost")));
		json_decref(event);
		return;
	}
	if (!event_matches(event, f)) {
		json_decref(event);
		return;
	}
	if (json_output) {
		printf("%.*s\n", (int)len, line);
		json_decref(event);
		return;
	}
	protocol = output__str(event, "protocol", "");
	has_ports = strncasecmp(protocol, "ICMP", 4) != 0;
	print_time(output__str(event, "time", NULL));
	putchar(' ');
	print_peer(json_object_get(event, "source"), has_ports);
	printf(" -> ");
	print_peer(json_object_get(event, "destination"), has_ports);
	/* L7: the request, its verdict and the response status. */
	if (!strcmp(output__str(event, "type", ""), "http-request")) {
		const json_t *status = json_object_get(event, "status");

		printf(" http-request %s %s %s", output__str(event, "verdict", "?"),
		       output__str(event, "method", "?"), output__str(event, "url", "?"));
		if (json_is_integer(status))
			printf(" => %" JSON_INTEGER_FORMAT, json_integer_value(status));
		print_word(event, "direction");
		/* A limit decided, not the rules (a regex gave up). */
		if (*output__str(event, "reason", ""))
			printf(" reason=\"%s\"", output__str(event, "reason", ""));
		policy = output__str(event, "policy", NULL);
		if (policy)
			printf(strchr(policy, ' ') ? " policy=\"%s\"" : " policy=%s",
			       policy);
		putchar('\n');
		json_decref(event);
		return;
	}
	/* "Forwarded FORWARDED" says it twice: a reason equal to the verdict is left out.
	 */
	if (strcasecmp(output__str(event, "reason", ""),
		       output__str(event, "verdict", "")))
		print_word(event, "reason");
	print_word(event, "verdict");
	/* The direction tells an egress verdict at the source from an ingress one at the
	 * destination: one packet can have both. */
	print_word(event, "direction");
	print_word(event, "protocol");
	print_word(event, "tcp_flags");
	/* A drop answered with RST / ICMP unreachable says so. */
	if (!strcmp(output__str(event, "response", ""), "reject"))
		printf(" response=reject");
	policy = output__str(event, "policy", NULL);
	/* "default deny" has a blank: quote it so the line still splits into fields. */
	if (policy)
		printf(strchr(policy, ' ') ? " policy=\"%s\"" : " policy=%s", policy);
	/* The rule's index in that policy, when a rule decided. */
	rule = json_object_get(event, "rule");
	if (json_is_integer(rule) && json_integer_value(rule) >= 0)
		printf(" rule=%" JSON_INTEGER_FORMAT, json_integer_value(rule));
	putchar('\n');
	json_decref(event);
}

int do_monitor(int argc, char **argv)
{
	struct filter f = {0};
	const char *last = NULL, *format = NULL;
	bool follow = false;
	const struct arg_option options[] = {
	    {"--type", ARG_STRING, &f.type},
	    {"--verdict", ARG_STRING, &f.verdict},
	    {"--from", ARG_STRING, &f.from},
	    {"--to", ARG_STRING, &f.to},
	    {"--namespace", ARG_STRING, &f.ns},
	    {"--last", ARG_STRING, &last},
	    {"--follow", ARG_FLAG, &follow},
	    {"-o", ARG_STRING, &format},
	    {NULL},
	};
	struct sigaction action = {.sa_handler = on_interrupt, .sa_flags = SA_RESTART};
	struct client *client;
	struct args args;
	json_t *result;
	int status, err;

	if (argc > 0 && !strcmp(argv[0], "help")) {
		do_help(stdout);
		return 0;
	}
	if (!args__parse(argc, argv, options, 0, do_help, &args, &status))
		return status;
	if (args.npositional)
		status = args__usage_error(do_help, "monitor: unexpected argument '%s'",
					   args.positional[0]);
	else if (f.type && strcmp(f.type, "drop") && strcmp(f.type, "l3l4") &&
		 strcmp(f.type, "l7"))
		status =
		    args__usage_error(do_help, "monitor: unknown --type '%s'", f.type);
	else if (format && strcmp(format, "compact") && strcmp(format, "json"))
		status = args__usage_error(do_help, "monitor: -o takes compact or json");
	else if (last && (atoi(last) <= 0 || strspn(last, "0123456789") != strlen(last)))
		status =
		    args__usage_error(do_help, "monitor: --last takes a positive number");
	args__free(&args);
	if (status)
		return status;
	if (format && !strcmp(format, "json"))
		json_output = true;

	/* The first answer is {"streaming": true} or an error, like any request.
	 * Drops only can be filtered by the agent already. */
	if (cli__call("monitor",
		      json_pack("{s:s*, s:i, s:b}", "type",
				f.type && !strcmp(f.type, "drop") ? "drop" : NULL, "last",
				last ? atoi(last) : 0, "follow", !last || follow),
		      &result))
		return 1;
	json_decref(result);
	client = cli__client();

	stream_fd = client__fd(client);
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	/* A closed pipe (monitor | head) is a normal way to stop: see EPIPE below. */
	signal(SIGPIPE, SIG_IGN);

	for (;;) {
		const char *line;
		size_t len;

		err = client__read_line(client, &line, &len);
		if (err == -EINTR)
			continue;
		if (err == -ENODATA || (err && interrupted))
			break;
		if (err)
			return output__error("lost the connection to wardend: %s",
					     strerror(-err));
		if (len == 0)
			continue;
		print_event(line, len, &f);
		/* Flush when caught up, not per event: under a burst one write
		 * carries many lines. */
		if (client__has_line(client))
			continue;
		if (fflush(stdout) == EOF)
			return errno == EPIPE
				   ? 0
				   : output__error("cannot write: %s", strerror(errno));
	}
	if (!interrupted && !json_output && !(last && !follow))
		fprintf(stderr, "warden: wardend closed the event stream\n");
	return 0;
}
