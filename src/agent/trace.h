/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `warden policy trace` (trace.c): the verdict for a flow, from the same
 * entries the datapath has, without sending traffic.
 */
#ifndef WARDEN_AGENT_TRACE_H
#define WARDEN_AGENT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;

/* The flow to judge. Strings are borrowed. */
struct trace_request {
	const char *from; /* endpoint name, "k=v,..." labels or IPv4 */
	const char *to;
	const char *namespace; /* of names and labels; "default" */
	const char *dport;     /* as the user wrote it ("80/tcp") */
	uint16_t port;
	uint8_t protocol;
	const char *http_method; /* NULL: not given ("GET") */
	const char *http_path;	 /* NULL: not given ("/") */
};

enum trace_verdict {
	TRACE_ALLOWED,
	TRACE_DENIED,
	TRACE_AUDIT, /* forwarded, but a policy in audit mode would deny it */
};

enum trace_response {
	TRACE_RESPONSE_NONE, /* not a denial of the datapath */
	TRACE_RESPONSE_DROP,
	TRACE_RESPONSE_REJECT,
};

/* One side's decision: egress at the source, ingress at the destination. */
struct trace_step {
	char endpoint[300]; /* "ns/name" */
	uint8_t direction;  /* WARDEN_DIR_* */
	enum trace_verdict verdict;
	char policy[600]; /* the deciding policy, "default deny", ... */
	long long rule;	  /* the rule's index in its policy, -1: none */
	bool l7;	  /* through the L7 proxy */
	enum trace_response response;
	/* When a CIDR rule that selects pods (an ipBlock) decided through
	 * the peer pod's address: the prefix that address resolved to in the
	 * pod-CIDR map ("10.200.0.0/24"); else empty. */
	char pod_cidr[64];
};

struct trace_peer_result {
	char name[256];
	uint32_t identity;
};

/* The HTTP verdict of the proxy's matcher, when the flow goes through it. */
struct trace_http {
	const char *method;
	const char *path;
	enum trace_verdict verdict;
	char policy[600];
	bool restricted; /* denied or audited: restricted_by is set */
	char restricted_by[600];
};

struct trace_result {
	enum trace_verdict verdict;
	struct trace_peer_result from;
	struct trace_peer_result to;
	const char *dport;
	struct trace_step steps[2];
	size_t step_count;
	bool l7_redirect;
	bool has_http;
	struct trace_http http;
};

int trace__run(struct agent *agent, const struct trace_request *req,
	       struct trace_result *out, char *err, size_t err_len);

#endif /* WARDEN_AGENT_TRACE_H */
