// SPDX-License-Identifier: Apache-2.0
/*
 * The control socket: its listener, its clients, and the commands of
 * docs/control-protocol.md as a table of {"object.verb", handler}.
 *
 * A client is a connection that sends JSON lines; each complete line is one
 * request, answered with one line. A handler parses its arguments through
 * wire.c, calls the domain (endpoint.c, policy_repo.c, trace.c, ...), and
 * sets a result that wire.c formats, or writes a reason into err and
 * returns -errno; the reply is built in one place. A `monitor` request
 * turns the connection into an event stream (monitor.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Only for the handles: a request and a result pass between wire.c and the
 * handlers as json_t; nothing here reads or builds protocol fields. */
#include <jansson.h>

#include "agent.h"
#include "bpf_check.h"
#include "control.h"
#include "endpoint.h"
#include "loop.h"
#include "monitor.h"
#include "policy_repo.h"
#include "trace.h"
#include "warden/fault.h"
#include "warden/identity.h"
#include "wire.h"

#define ERR_LEN 2048
/* The most a client may send without a newline. */
#define MAX_REQUEST (64u << 20)

struct control {
	struct agent *agent;
	struct loop *loop;
	int listen_fd;
	struct control_client *clients;
};

/* One connection: the bytes of a request not complete yet, and whether it
 * turned into a monitor stream. */
struct control_client {
	struct control_client *next;
	struct control *control;
	int fd;
	char *in;
	size_t in_len;
	size_t in_cap;
	bool monitoring;
	bool replayed;
};

/* One request being served. */
struct request {
	struct agent *agent;
	struct control_client *client;
	json_t *args;	/* NULL reads as "no arguments" */
	json_t *result; /* set by the handler on success */
	char err[ERR_LEN];
};

static struct endpoint *require_endpoint(struct request *r)
{
	const char *name = wire__arg_string(r->args, "name", NULL);
	const char *ns = wire__arg_string(r->args, "namespace", "default");
	struct endpoint *ep;

	if (!name) {
		snprintf(r->err, sizeof(r->err), "missing endpoint name");
		return NULL;
	}
	ep = endpoint__find(r->agent, name, ns);
	if (!ep)
		snprintf(r->err, sizeof(r->err), "endpoint %s/%s not found", ns, name);
	return ep;
}

static int do_status(struct request *r)
{
	struct agent_status status;

	agent__status(r->agent, &status);
	r->result = wire__status(r->agent, &status);
	return 0;
}

static int do_endpoint_create(struct request *r)
{
	struct endpoint_spec spec;
	struct endpoint *ep;
	int ret;

	ret = wire__parse_endpoint_spec(r->args, &spec, r->err, sizeof(r->err));
	if (!ret)
		ret = endpoint__create(r->agent, &spec, &ep, r->err, sizeof(r->err));
	if (!ret)
		r->result = wire__endpoint(ep);
	endpoint_spec__free(&spec);
	return ret;
}

static int do_endpoint_list(struct request *r)
{
	r->result =
	    wire__endpoint_list(r->agent, wire__arg_string(r->args, "namespace", NULL));
	return 0;
}

static int do_endpoint_get(struct request *r)
{
	struct endpoint *ep = require_endpoint(r);

	if (!ep)
		return -ENOENT;
	r->result = wire__endpoint(ep);
	return 0;
}

static int do_endpoint_delete(struct request *r)
{
	struct endpoint *ep = require_endpoint(r);
	char ref[256];

	if (!ep)
		return -ENOENT;
	snprintf(ref, sizeof(ref), "%s/%s", ep->namespace, ep->name);
	endpoint__delete(r->agent, ep);
	r->result = wire__deleted(ref);
	return 0;
}

static int do_endpoint_label(struct request *r)
{
	struct endpoint *ep = require_endpoint(r);
	struct label_changes changes;
	int ret;

	if (!ep)
		return -ENOENT;
	ret = wire__parse_label_changes(r->args, &changes, r->err, sizeof(r->err));
	if (!ret)
		ret = endpoint__relabel(r->agent, ep, &changes, r->err, sizeof(r->err));
	if (!ret)
		r->result = wire__endpoint(ep);
	label_changes__free(&changes);
	return ret;
}

/* Per-endpoint options; today only "audit" (a boolean), absent = unchanged. */
static int do_endpoint_config(struct request *r)
{
	struct endpoint *ep = require_endpoint(r);
	bool audit;
	int ret;

	if (!ep)
		return -ENOENT;
	ret = wire__arg_bool(r->args, "audit", &audit);
	if (ret == -EINVAL) {
		snprintf(r->err, sizeof(r->err), "audit must be true or false");
		return ret;
	}
	if (ret == 0 && audit != ep->audit_mode)
		ret = endpoint__set_audit(r->agent, ep, audit, r->err, sizeof(r->err));
	else
		ret = 0;
	if (!ret)
		r->result = wire__endpoint(ep);
	return ret;
}

static int do_namespace_label(struct request *r)
{
	const char *ns = wire__arg_string(r->args, "namespace", NULL);
	struct label_changes changes;
	int ret;

	if (!ns) {
		snprintf(r->err, sizeof(r->err), "missing namespace");
		return -EINVAL;
	}
	ret = wire__parse_label_changes(r->args, &changes, r->err, sizeof(r->err));
	if (!ret)
		ret = namespace__relabel(r->agent, ns, &changes, r->err, sizeof(r->err));
	if (!ret)
		r->result = wire__namespace(ns, namespace__labels(r->agent, ns));
	label_changes__free(&changes);
	return ret;
}

static int do_namespace_list(struct request *r)
{
	r->result = wire__namespace_list(r->agent);
	return 0;
}

static int do_identity_list(struct request *r)
{
	r->result = wire__identity_list(r->agent);
	return 0;
}

static int do_identity_get(struct request *r)
{
	const struct identity *ident;
	long long id;

	if (!wire__arg_integer(r->args, "id", &id)) {
		snprintf(r->err, sizeof(r->err), "identity id must be a number");
		return -EINVAL;
	}
	ident = identity__lookup(r->agent->identities, (uint32_t)id);
	if (!ident) {
		snprintf(r->err, sizeof(r->err), "identity %lld not found", id);
		return -ENOENT;
	}
	r->result = wire__identity(r->agent, ident);
	return 0;
}

/* The documents of a request, parsed; warnings into warnings. */
static int parse_documents(struct request *r, struct policy_set *out,
			   struct str_list *warnings)
{
	struct policy_document *docs;
	size_t count;
	int ret;

	ret = wire__parse_documents(r->args, &docs, &count, r->err, sizeof(r->err));
	if (ret)
		return ret;
	ret = policy_repo__parse(docs, count, out, warnings, r->err, sizeof(r->err));
	free(docs);
	return ret;
}

static int do_policy_import(struct request *r)
{
	struct policy_set incoming = {0};
	struct str_list warnings = {0};
	struct policy_change change = {0};
	int ret;

	ret = parse_documents(r, &incoming, &warnings);
	if (!ret)
		ret = policy_repo__import(r->agent, &incoming, &change, r->err,
					  sizeof(r->err));
	if (!ret)
		r->result = wire__policy_import(&change, &warnings);
	policy_change__free(&change);
	policy_set__free(&incoming);
	str_list__free(&warnings);
	return ret;
}

static int do_policy_validate(struct request *r)
{
	struct policy_set parsed = {0};
	struct str_list warnings = {0};
	int ret;

	ret = parse_documents(r, &parsed, &warnings);
	if (!ret)
		r->result = wire__policy_validate(&parsed, &warnings);
	policy_set__free(&parsed);
	str_list__free(&warnings);
	return ret;
}

static int do_policy_get(struct request *r)
{
	const char *name = wire__arg_string(r->args, "name", NULL);

	r->result = wire__policy_list(r->agent, name,
				      wire__arg_string(r->args, "namespace", NULL));
	if (name && !json_array_size(r->result)) {
		snprintf(r->err, sizeof(r->err), "policy %s not found", name);
		return -ENOENT;
	}
	return 0;
}

static int do_policy_delete(struct request *r)
{
	struct policy_delete_request req;
	struct policy_change change = {0};
	int ret;

	ret = wire__parse_policy_delete(r->args, &req, r->err, sizeof(r->err));
	if (!ret)
		ret =
		    policy_repo__delete(r->agent, &req, &change, r->err, sizeof(r->err));
	if (!ret)
		r->result = wire__policy_delete(&change);
	policy_change__free(&change);
	return ret;
}

static int do_bpf_policy_get(struct request *r)
{
	struct endpoint *ep = require_endpoint(r);

	if (!ep)
		return -ENOENT;
	r->result = wire__bpf_policy(r->agent, ep);
	return 0;
}

/* Every map the agent writes against its own view (bpf_check.c). */
static int do_bpf_check(struct request *r)
{
	struct bpf_check_report *report = calloc(1, sizeof(*report));
	int ret;

	if (!report)
		return -ENOMEM;
	ret = bpf_check__run(r->agent, report, r->err, sizeof(r->err));
	if (!ret)
		r->result = wire__bpf_check(report);
	free(report);
	return ret;
}

/*
 * Test hooks only (WARDEN_TEST_HOOKS=1 at start): make the nth next hit
 * of a fault point fail (warden/fault.h); nth 0 disarms it.
 */
static int do_test_fault(struct request *r)
{
	const char *name = wire__arg_string(r->args, "point", NULL);
	long long nth = 1;
	int point;

	if (!r->agent->config.test_hooks) {
		snprintf(r->err, sizeof(r->err),
			 "test hooks are off (start wardend with WARDEN_TEST_HOOKS=1)");
		return -EPERM;
	}
	point = name ? fault__parse(name) : -1;
	if (point < 0) {
		snprintf(r->err, sizeof(r->err),
			 "point must be map-write, proxy-write, proxy-reject or netdev");
		return -EINVAL;
	}
	if (json_object_get(r->args, "nth") &&
	    (!wire__arg_integer(r->args, "nth", &nth) || nth < 0 || nth > 1000000)) {
		snprintf(r->err, sizeof(r->err), "nth must be 0..1000000");
		return -EINVAL;
	}
	fault__arm(point, (unsigned int)nth);
	r->result = wire__test_fault(name, nth, fault__fired(point));
	return 0;
}

static int do_policy_trace(struct request *r)
{
	struct trace_request req;
	struct trace_result result;
	int ret;

	ret = wire__parse_trace(r->args, &req, r->err, sizeof(r->err));
	if (!ret)
		ret = trace__run(r->agent, &req, &result, r->err, sizeof(r->err));
	if (!ret)
		r->result = wire__trace(&result);
	return ret;
}

static int do_monitor(struct request *r)
{
	long long last = 0;
	struct monitor_options options = {
	    .drops_only = !strcmp(wire__arg_string(r->args, "type", ""), "drop"),
	    .follow = !wire__arg_is_false(r->args, "follow"),
	};
	int ret;

	if (wire__arg_integer(r->args, "last", &last))
		options.last = (size_t)last;
	ret = monitor__subscribe(r->agent, r->client->fd, &options);
	if (ret)
		return ret;
	r->client->monitoring = true;
	r->result = wire__streaming();
	return 0;
}

static const struct {
	const char *cmd;
	int (*fn)(struct request *r);
} handlers[] = {
    {"status", do_status},
    {"endpoint.create", do_endpoint_create},
    {"endpoint.list", do_endpoint_list},
    {"endpoint.get", do_endpoint_get},
    {"endpoint.delete", do_endpoint_delete},
    {"endpoint.label", do_endpoint_label},
    {"endpoint.config", do_endpoint_config},
    {"namespace.label", do_namespace_label},
    {"namespace.list", do_namespace_list},
    {"identity.list", do_identity_list},
    {"identity.get", do_identity_get},
    {"policy.import", do_policy_import},
    {"policy.validate", do_policy_validate},
    {"policy.get", do_policy_get},
    {"policy.delete", do_policy_delete},
    {"policy.trace", do_policy_trace},
    {"bpf.policy.get", do_bpf_policy_get},
    {"bpf.check", do_bpf_check},
    {"test.fault", do_test_fault},
    {"monitor", do_monitor},
};

/* Run the handler of cmd. */
static int dispatch(struct request *r, const char *cmd)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		int ret;

		if (strcmp(cmd, handlers[i].cmd))
			continue;
		ret = handlers[i].fn(r);
		if (ret && !r->err[0])
			snprintf(r->err, sizeof(r->err), "%s: %s", cmd, strerror(-ret));
		return ret;
	}
	snprintf(r->err, sizeof(r->err), "unknown command `%s`", cmd);
	return -EINVAL;
}

/* Serve one request line; returns its reply line (owned, *len bytes) or NULL. */
static char *handle(struct control_client *c, const char *line, size_t *len)
{
	struct request *r = calloc(1, sizeof(*r));
	json_t *req = NULL;
	const char *cmd;
	char *reply;
	int ret;

	if (!r)
		return wire__reply(-ENOMEM, NULL, "out of memory", len);
	r->agent = c->control->agent;
	r->client = c;
	ret = wire__parse_request(line, &req, &cmd, &r->args, r->err, sizeof(r->err));
	if (!ret)
		ret = dispatch(r, cmd);
	reply = wire__reply(ret, r->result, r->err, len);
	json_decref(req);
	free(r);
	return reply;
}

/* Replies are written blocking, but never for long (SO_SNDTIMEO). */
static int client_send(struct control_client *c, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read what is there into c->in. Returns -1 when the client is gone or
 * sent too much. */
static int client_read(struct control_client *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < 65536) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 131072;
			char *buf;

			if (cap > MAX_REQUEST)
				return -1;
			buf = realloc(c->in, cap);
			if (!buf)
				return -1;
			c->in = buf;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1,
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->in_len += (size_t)n;
	}
}

/* Answer every complete line in c->in. Returns -1 to close. */
static int client_serve_lines(struct control_client *c)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->in_len);
		char *reply;
		size_t len;
		int err;

		if (!nl)
			return 0;
		*nl = '\0';
		reply = handle(c, c->in, &len);
		if (!reply)
			return -1;
		err = client_send(c, reply, len);
		free(reply);
		if (err)
			return -1;
		/* A monitor gets its history right after the reply; one that
		 * asked for history only is done then. */
		if (c->monitoring && !c->replayed) {
			c->replayed = true;
			if (!monitor__replay(c->control->agent, c->fd))
				return -1;
		}
		c->in_len -= (size_t)(nl + 1 - c->in);
		memmove(c->in, nl + 1, c->in_len);
	}
}

static void client_close(struct control_client *c)
{
	struct control *control = c->control;

	for (struct control_client **pp = &control->clients; *pp; pp = &(*pp)->next) {
		if (*pp != c)
			continue;
		*pp = c->next;
		break;
	}
	if (c->monitoring)
		monitor__unsubscribe(control->agent, c->fd);
	loop__unwatch(control->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c);
}

static void client_readable(void *ctx, uint32_t events)
{
	struct control_client *c = ctx;

	(void)events;
	if (client_read(c) < 0 || client_serve_lines(c) < 0)
		client_close(c);
}

static void on_accept(void *ctx, uint32_t events)
{
	struct control *control = ctx;
	struct timeval tv = {.tv_sec = 5};
	struct control_client *c;
	int fd = accept4(control->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	(void)events;
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->control = control;
	c->fd = fd;
	if (loop__watch(control->loop, fd, EPOLLIN | EPOLLRDHUP, client_readable, c)) {
		close(fd);
		free(c);
		return;
	}
	c->next = control->clients;
	control->clients = c;
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* stale from a crashed agent; the lock file proves it */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int control__open(struct control **out, struct agent *agent, struct loop *loop)
{
	struct control *control = calloc(1, sizeof(*control));
	int ret;

	if (!control)
		return -ENOMEM;
	control->agent = agent;
	control->loop = loop;
	control->listen_fd = listen_on(agent->config.socket_path);
	ret = control->listen_fd;
	if (ret >= 0)
		ret = loop__watch(loop, control->listen_fd, EPOLLIN, on_accept, control);
	if (ret < 0) {
		control__close(control);
		return ret;
	}
	*out = control;
	return 0;
}

void control__close(struct control *control)
{
	if (!control)
		return;
	while (control->clients)
		client_close(control->clients);
	if (control->listen_fd >= 0) {
		loop__unwatch(control->loop, control->listen_fd);
		close(control->listen_fd);
		unlink(control->agent->config.socket_path);
	}
	free(control);
}
