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
 *
 * No client can hold the agent up: every socket is non-blocking, a reply
 * waits in the client's output queue (outq.c) until the socket takes it,
 * and the client's next request is not read before its reply has gone
 * (so what waits per client is one reply, and at most CONTROL_MAX_REQUEST
 * bytes of requests). A monitor's queue is bounded by monitor.c. The
 * number of clients is capped (--max-clients); a client refused for that,
 * for who it is (not root, not in --socket-group, or inside an endpoint's
 * network namespace), or because the agent is out of descriptors, gets
 * one error line saying why, and is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Only for the handles: a request and a result pass between wire.c and the
 * handlers as json_t; nothing here reads or builds protocol fields. */
#include <jansson.h>

#include "agent.h"
#include "bpf_check.h"
#include "control.h"
#include "endpoint.h"
#include "linebuf.h"
#include "loop.h"
#include "monitor.h"
#include "outq.h"
#include "policy_repo.h"
#include "trace.h"
#include "warden/fault.h"
#include "warden/identity.h"
#include "warden/log.h"
#include "wire.h"

#define ERR_LEN 2048
/* The longest request line (a policy import carries its YAML files). */
#define CONTROL_MAX_REQUEST (16u << 20)
/* A request begun must be complete within this. */
#define CONTROL_REQUEST_TIMEOUT_MS 10000
/* Connections taken per wake-up of the listener, so that a crowd at the
 * door does not starve the clients inside. */
#define CONTROL_ACCEPT_BATCH 64
/* Out of descriptors with no spare: stop accepting for this long. */
#define CONTROL_ACCEPT_PAUSE_MS 100

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

struct control {
	struct agent *agent;
	struct loop *loop;
	int listen_fd;
	struct control_client *clients;
	size_t client_count;
	bool has_group;
	gid_t group;
	/* The agent's own network namespace: its peers are the usual case. */
	uint64_t netns_dev, netns_ino;
	uint64_t accept_paused_until; /* ms, CLOCK_MONOTONIC; 0: accepting */
};

/*
 * One connection: the bytes of requests not served yet, the replies and
 * events not sent yet, and what the loop waits for on it.
 */
struct control_client {
	struct control_client *next, *prev;
	struct control *control;
	int fd;
	struct linebuf in;
	struct outq out;
	uint64_t partial_since;		/* ms: an unfinished request began; 0: none */
	struct monitor_client *monitor; /* the connection streams events */
	uint32_t watching;		/* epoll events asked for now */
	bool eof;			/* the client sent all it will */
	bool closing;			/* close once out is sent */
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

static void client_wake(void *ctx);
static void client_done(void *ctx);

static int do_monitor(struct request *r)
{
	struct control_client *c = r->client;
	long long last = 0;
	struct monitor_options options = {
	    .drops_only = !strcmp(wire__arg_string(r->args, "type", ""), "drop"),
	    .follow = !wire__arg_is_false(r->args, "follow"),
	};
	struct monitor_sink sink = {
	    .out = &c->out, .wake = client_wake, .done = client_done, .ctx = c};
	int ret;

	if (c->monitor) {
		snprintf(r->err, sizeof(r->err),
			 "this connection already streams monitor events");
		return -EALREADY;
	}
	if (wire__arg_integer(r->args, "last", &last)) {
		if (last < 0) {
			snprintf(r->err, sizeof(r->err), "last must not be negative");
			return -EINVAL;
		}
		options.last = (size_t)last;
	}
	ret = monitor__subscribe(r->agent, &sink, &options, &c->monitor);
	if (ret)
		return ret;
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
static char *handle(struct control_client *c, const char *line, size_t line_len,
		    size_t *len)
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
	ret = wire__parse_request(line, line_len, &req, &cmd, &r->args, r->err,
				  sizeof(r->err));
	if (!ret)
		ret = dispatch(r, cmd);
	reply = wire__reply(ret, r->result, r->err, len);
	json_decref(req);
	free(r);
	return reply;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Queue an error reply (formatted) and close once it is sent. */
static void client_fail(struct control_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void client_fail(struct control_client *c, const char *fmt, ...)
{
	char err[ERR_LEN], *line;
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	line = wire__reply(-EINVAL, NULL, err, &len);
	if (line)
		outq__append_owned(&c->out, line, len);
	c->closing = true;
}

static void client_close(struct control_client *c)
{
	struct control *control = c->control;

	if (c->prev)
		c->prev->next = c->next;
	else
		control->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	control->client_count--;
	if (c->monitor)
		monitor__unsubscribe(control->agent, c->monitor);
	loop__unwatch(control->loop, c->fd);
	close(c->fd);
	linebuf__free(&c->in);
	outq__free(&c->out);
	free(c);
}

/*
 * Read what the client sent, as far as its buffer allows (a client whose
 * requests wait is not read further).
 */
static void client_read(struct control_client *c)
{
	for (;;) {
		size_t room;
		char *space = linebuf__space(&c->in, &room);
		ssize_t n;

		if (!room)
			return;
		n = recv(c->fd, space, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			c->eof = true;
			return;
		}
		linebuf__commit(&c->in, (size_t)n);
	}
}

/* Watch for what the client's state needs: room to send, or requests. */
static void client_watch(struct control_client *c)
{
	uint32_t want = 0;

	if (outq__pending(&c->out) || c->closing)
		want |= EPOLLOUT;
	/* Requests are read when their replies can go: at once for a
	 * request client with nothing queued, and for a monitor (whose
	 * queue is always busy) while it has room. */
	if (!c->eof && !c->closing &&
	    (c->monitor ? outq__pending(&c->out) < MONITOR_QUEUE_MAX
			: !outq__pending(&c->out)))
		want |= EPOLLIN | EPOLLRDHUP;
	if (want != c->watching && !loop__modify(c->control->loop, c->fd, want))
		c->watching = want;
}

/* The reply to one request line (owned), or NULL (out of memory). */
static char *client_answer(struct control_client *c, const char *line, size_t len,
			   size_t *reply_len)
{
	if (c->monitor)
		return wire__reply(-EINVAL, NULL,
				   "this connection streams monitor events: send "
				   "requests on another one",
				   reply_len);
	return handle(c, line, len, reply_len);
}

/*
 * Move the client on as far as it goes without waiting: send what is
 * queued; then serve its next request. A request client is served only
 * with nothing queued (one reply waits at most, and one that does not
 * read its replies is not served further); a monitor's lines are its
 * queue's, so it is answered while the queue has room. It may close the
 * client.
 */
static void client_progress(struct control_client *c)
{
	for (;;) {
		int ret = outq__send(&c->out, c->fd);
		size_t len, reply_len;
		char *line, *reply;

		if (ret < 0 && ret != -EAGAIN) {
			client_close(c);
			return;
		}
		if (!ret && c->closing) {
			client_close(c);
			return;
		}
		if (c->closing ||
		    (ret == -EAGAIN &&
		     (!c->monitor || outq__pending(&c->out) >= MONITOR_QUEUE_MAX)))
			break;
		line = linebuf__next(&c->in, &len);
		if (!line) {
			if (linebuf__too_long(&c->in)) {
				client_fail(c, "request longer than %u bytes: refused",
					    CONTROL_MAX_REQUEST);
				continue;
			}
			/* The client sent all it will and all is answered. A
			 * monitor streams on until it hangs up. */
			if (c->eof && !c->monitor) {
				c->closing = true;
				continue;
			}
			break;
		}
		reply = client_answer(c, line, len, &reply_len);
		if (!reply) {
			client_close(c);
			return;
		}
		outq__append_owned(&c->out, reply, reply_len);
	}
	if (!linebuf__held(&c->in))
		c->partial_since = 0;
	else if (!c->partial_since)
		c->partial_since = now_ms();
	client_watch(c);
}

static void client_event(void *ctx, uint32_t events)
{
	struct control_client *c = ctx;

	/* EPOLLHUP: the client closed both ways; nothing can reach it. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		client_close(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP))
		client_read(c);
	client_progress(c);
}

/* monitor.c queued lines: send what goes now, ask for the rest. It must
 * not close the client (monitor.c walks its list), so errors wait for
 * the loop's next event on the socket. */
static void client_wake(void *ctx)
{
	struct control_client *c = ctx;
	int ret = outq__send(&c->out, c->fd);

	/* Gone: EPOLLOUT (asked for, with closing) reports it at once. */
	if (ret && ret != -EAGAIN)
		c->closing = true;
	client_watch(c);
}

/* A monitor replay without follow is complete: close once it is sent. */
static void client_done(void *ctx)
{
	struct control_client *c = ctx;

	c->closing = true;
	client_watch(c);
}

/* A refused connection: one error line (if the socket takes it), closed. */
static void refuse(int fd, const char *why)
{
	size_t len;
	char *line = wire__reply(-EACCES, NULL, why, &len);

	if (line)
		send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(line);
	close(fd);
}

/* The nsfs identity of /proc/<pid>/ns/net (of pid 0: ours). */
static int netns_of(pid_t pid, uint64_t *dev, uint64_t *ino)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	if (stat(path, &st) < 0)
		return -errno;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

/* Is gid among the peer's groups (its primary one, or a supplementary)? */
static bool peer_in_group(int fd, gid_t primary, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (primary == gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false; /* more than 256 groups, or too old a kernel */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * Whether the process at the other end may use the agent: root, or a
 * member of --socket-group (the socket's mode already keeps others out;
 * this holds if someone loosens it), and not inside an endpoint's network
 * namespace: a workload must not rewrite the policy that confines it.
 * The peer's pid is from connect() time; a pidfd (Linux 6.5+) proves that
 * the process read from /proc is still that one. 0, or -EACCES with why.
 */
static int peer_check(struct control *control, int fd, char *why, size_t why_len)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uint64_t dev, ino;
	struct endpoint *ep;
	int pidfd = -1, ret;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		snprintf(why, why_len,
			 "permission denied: wardend cannot tell who "
			 "connected (SO_PEERCRED: %s)",
			 strerror(errno));
		return -EACCES;
	}
	if (cred.uid != 0 &&
	    !(control->has_group && peer_in_group(fd, cred.gid, control->group))) {
		if (control->has_group)
			snprintf(why, why_len,
				 "permission denied: uid %u is neither root nor in "
				 "group %s, which may use wardend",
				 (unsigned int)cred.uid,
				 control->agent->config.socket_group);
		else
			snprintf(why, why_len,
				 "permission denied: only root may use wardend (uid %u; "
				 "wardend --socket-group GROUP lets a group in)",
				 (unsigned int)cred.uid);
		return -EACCES;
	}
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = -1;
	ret = cred.pid > 0 ? netns_of(cred.pid, &dev, &ino) : -ESRCH;
	if (!ret && pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		ret = -errno;
	if (pidfd >= 0)
		close(pidfd);
	if (ret) {
		snprintf(why, why_len,
			 "permission denied: wardend cannot tell the network namespace "
			 "of the connecting process (pid %d): %s",
			 (int)cred.pid, strerror(-ret));
		return -EACCES;
	}
	if (dev == control->netns_dev && ino == control->netns_ino)
		return 0;
	ep = endpoint__find_by_netns(control->agent, dev, ino);
	if (ep) {
		snprintf(why, why_len,
			 "permission denied: the connecting process (pid %d) runs in "
			 "the network namespace of endpoint %s/%s; a workload may not "
			 "use wardend",
			 (int)cred.pid, ep->namespace, ep->name);
		return -EACCES;
	}
	return 0;
}

/* A new connection: refused (with the reason) or a new client. */
static void admit(struct control *control, int fd)
{
	const struct agent_config *config = &control->agent->config;
	struct control_client *c;
	char why[512];

	if (control->client_count >= config->max_clients) {
		snprintf(why, sizeof(why),
			 "wardend is serving %u clients, its limit "
			 "(--max-clients): try again later",
			 config->max_clients);
		refuse(fd, why);
		return;
	}
	if (peer_check(control, fd, why, sizeof(why))) {
		pr_debug("control: %s\n", why);
		refuse(fd, why);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		refuse(fd, "wardend is out of memory");
		return;
	}
	c->control = control;
	c->fd = fd;
	c->watching = EPOLLIN | EPOLLRDHUP;
	linebuf__init(&c->in, CONTROL_MAX_REQUEST);
	if (loop__watch(control->loop, fd, c->watching, client_event, c)) {
		refuse(fd, "wardend cannot watch one more connection");
		free(c);
		return;
	}
	c->next = control->clients;
	if (c->next)
		c->next->prev = c;
	control->clients = c;
	control->client_count++;
}

static void on_accept(void *ctx, uint32_t events)
{
	static const char no_fds[] =
	    "{\"ok\":false,\"error\":\"wardend is out of file descriptors: try "
	    "again later\"}\n";
	struct control *control = ctx;

	(void)events;
	for (int i = 0; i < CONTROL_ACCEPT_BATCH; i++) {
		int fd = loop__accept(control->loop, control->listen_fd, no_fds,
				      sizeof(no_fds) - 1);

		if (fd == -EMFILE) {
			pr_debug("control: out of file descriptors, a client refused\n");
			continue;
		}
		if (fd == -ENFILE) {
			/* Not even the spare: listen again a little later
			 * (control__tick) instead of waking for nothing. */
			loop__modify(control->loop, control->listen_fd, 0);
			control->accept_paused_until = now_ms() + CONTROL_ACCEPT_PAUSE_MS;
			return;
		}
		if (fd < 0)
			return;
		admit(control, fd);
	}
}

void control__tick(struct control *control)
{
	uint64_t now = now_ms();
	struct control_client *c, *next;

	if (control->accept_paused_until && now >= control->accept_paused_until) {
		control->accept_paused_until = 0;
		loop__modify(control->loop, control->listen_fd, EPOLLIN);
	}
	for (c = control->clients; c; c = next) {
		next = c->next;
		if (!c->partial_since || c->closing ||
		    now - c->partial_since < CONTROL_REQUEST_TIMEOUT_MS)
			continue;
		client_fail(c, "request not complete after %d s: closed",
			    CONTROL_REQUEST_TIMEOUT_MS / 1000);
		client_progress(c);
	}
}

/*
 * The socket, created with its final mode and owner: it is bound inside a
 * new private directory (0700, next to path) with the umask set to give
 * exactly mode, given its group there, and only then renamed to path (which
 * also replaces a stale socket of a crashed agent atomically; the lock file
 * proves it is stale). No moment exists in which another user could
 * connect to it with a mode or owner not yet final.
 */
static int listen_on(const char *path, mode_t mode, gid_t group)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char dir[sizeof(addr.sun_path)], *copy = strdup(path);
	mode_t old_umask;
	int fd = -1, ret = 0;

	dir[0] = '\0';
	if (!copy)
		return -ENOMEM;
	if (snprintf(dir, sizeof(dir), "%s/.wardend.XXXXXX", dirname(copy)) >=
	    (int)sizeof(dir) - 3) {
		dir[0] = '\0';
		ret = -ENAMETOOLONG;
		goto out;
	}
	if (!mkdtemp(dir)) {
		ret = -errno;
		dir[0] = '\0';
		goto out;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/s", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	old_umask = umask(~mode & 0777);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(old_umask);
	if (!ret &&
	    (chown(addr.sun_path, 0, group) < 0 || chmod(addr.sun_path, mode) < 0))
		ret = -errno;
	if (!ret && listen(fd, SOMAXCONN) < 0)
		ret = -errno;
	if (!ret && rename(addr.sun_path, path) < 0)
		ret = -errno;
out:
	if (dir[0]) {
		unlink(addr.sun_path);
		rmdir(dir);
	}
	free(copy);
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return fd;
}

int control__open(struct control **out, struct agent *agent, struct loop *loop)
{
	const struct agent_config *config = &agent->config;
	struct control *control = calloc(1, sizeof(*control));
	struct group *group;
	int ret;

	if (!control)
		return -ENOMEM;
	control->agent = agent;
	control->loop = loop;
	control->listen_fd = -1;
	if (config->socket_group) {
		group = getgrnam(config->socket_group);
		if (!group) {
			pr_warn("--socket-group %s: no such group\n",
				config->socket_group);
			free(control);
			return -ENOENT;
		}
		control->has_group = true;
		control->group = group->gr_gid;
	}
	ret = netns_of(0, &control->netns_dev, &control->netns_ino);
	if (!ret) {
		control->listen_fd =
		    listen_on(config->socket_path, control->has_group ? 0660 : 0600,
			      control->has_group ? control->group : 0);
		ret = control->listen_fd < 0 ? control->listen_fd : 0;
	}
	if (!ret)
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
