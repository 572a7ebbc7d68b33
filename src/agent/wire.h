/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control protocol's JSON (wire.c, docs/control-protocol.md): requests
 * parsed into the domain's structs, the domain's objects and results as
 * replies, and flow events as monitor lines. Nothing else in the agent
 * reads or builds control-protocol JSON.
 */
#ifndef WARDEN_AGENT_WIRE_H
#define WARDEN_AGENT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct agent;
struct bpf_check_report;
struct agent_status;
struct endpoint;
struct endpoint_spec;
struct identity;
struct label_changes;
struct label_set;
struct policy;
struct policy_change;
struct policy_delete_request;
struct policy_document;
struct policy_set;
struct str_list;
struct trace_request;
struct trace_result;
struct warden_event;

/* Requests. Parsers write a reason into err and return -EINVAL. */

/*
 * Request side: wire_request.c (no agent state). One request line of len
 * bytes: *req (owned, also on error) holds *cmd and *args (NULL: none).
 */
int wire__parse_request(const char *line, size_t len, json_t **req, const char **cmd,
			json_t **args, char *err, size_t err_len);
/* args[key] if it is a string, else fallback. */
const char *wire__arg_string(json_t *args, const char *key, const char *fallback);
/* args[key] if it is a whole number (else false). */
bool wire__arg_integer(json_t *args, const char *key, long long *out);
/* args[key] absent: -ENOENT; a boolean: 0 and *out; anything else: -EINVAL. */
int wire__arg_bool(json_t *args, const char *key, bool *out);
/* Is args[key] exactly false? */
bool wire__arg_is_false(json_t *args, const char *key);

/* endpoint.create: name, namespace, labels ["k=v,..."], ports ["NAME=PORT/PROTO"];
 * free with endpoint_spec__free() whatever the result. */
int wire__parse_endpoint_spec(json_t *args, struct endpoint_spec *out, char *err,
			      size_t err_len);
/* set ["k=v,..."], remove ["key"]; free with label_changes__free(). */
int wire__parse_label_changes(json_t *args, struct label_changes *out, char *err,
			      size_t err_len);
/* documents [{"file", "content"}]: *out (owned, pointing into args). */
int wire__parse_documents(json_t *args, struct policy_document **out, size_t *count,
			  char *err, size_t err_len);
int wire__parse_policy_delete(json_t *args, struct policy_delete_request *out, char *err,
			      size_t err_len);
int wire__parse_trace(json_t *args, struct trace_request *out, char *err, size_t err_len);

/* Replies: new JSON values, owned by the caller. */
json_t *wire__status(struct agent *agent, const struct agent_status *status);
json_t *wire__endpoint(const struct endpoint *ep);
/* Every endpoint, or those of ns. */
json_t *wire__endpoint_list(struct agent *agent, const char *ns);
json_t *wire__deleted(const char *ref);
json_t *wire__namespace(const char *ns, const struct label_set *labels);
json_t *wire__namespace_list(struct agent *agent);
json_t *wire__identity(struct agent *agent, const struct identity *ident);
json_t *wire__identity_list(struct agent *agent);
/* The policies in force named name (if not NULL) in ns (if not NULL). */
json_t *wire__policy_list(struct agent *agent, const char *name, const char *ns);
json_t *wire__policy_import(const struct policy_change *change,
			    const struct str_list *warnings);
json_t *wire__policy_delete(const struct policy_change *change);
json_t *wire__policy_validate(const struct policy_set *parsed,
			      const struct str_list *warnings);
json_t *wire__bpf_policy(struct agent *agent, const struct endpoint *ep);
json_t *wire__bpf_check(const struct bpf_check_report *report);
/* test.fault's answer: the point armed, its nth, how often it fired so far. */
json_t *wire__test_fault(const char *point, long long nth, unsigned int fired);
json_t *wire__trace(const struct trace_result *trace);
json_t *wire__streaming(void);
/*
 * The reply line for a request (wire_request.c): {"ok": true, "result":
 * result} when ret is 0, else {"ok": false, "error": err}. Takes result;
 * returns the line with its '\n' (owned, *len bytes) or NULL (no memory).
 */
char *wire__reply(int ret, json_t *result, const char *err, size_t *len);
/* obj as one compact line ending in '\n' (owned); *len includes it. */
char *wire__line(json_t *obj, size_t *len);

/* Monitor events as lines ending in '\n' (owned; *len bytes), or NULL. */
char *wire__flow_event_line(struct agent *agent, const struct warden_event *event,
			    const struct timespec *when, size_t *len);
/* A proxy access-log record (JSON text) with its policy named. */
char *wire__proxy_event_line(struct agent *agent, const char *text, size_t text_len,
			     size_t *len);
/* {"time", "type": "lost", "lost": n}: n events this monitor client did not
 * get because it read too slowly. */
char *wire__lost_line(uint64_t lost, size_t *len);

#endif /* WARDEN_AGENT_WIRE_H */
