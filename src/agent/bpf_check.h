/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `warden bpf check` (bpf_check.c): every map the agent writes, compared
 * with what the agent believes it holds. A difference means enforcement
 * is not what `policy get`, `endpoint list` and `bpf policy get` say.
 */
#ifndef WARDEN_AGENT_BPF_CHECK_H
#define WARDEN_AGENT_BPF_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/datapath.h"
#include "warden/policy_entry.h"
#include "warden/prefix.h"

struct agent;

enum bpf_check_problem {
	BPF_CHECK_MISSING,   /* the agent has it, the kernel does not */
	BPF_CHECK_STALE,     /* the kernel has it, the agent does not */
	BPF_CHECK_DIFFERING, /* both have the key, with different values */
};

/* One entry that differs; the member of the map's kind is set. */
struct bpf_check_item {
	enum bpf_check_problem problem;
	union {
		struct {
			struct warden_policy_key key;
			struct warden_policy_value agent, kernel;
		} policy;
		struct {
			int ifindex;   /* warden_endpoints */
			uint32_t ipv4; /* warden_local_endpoints (network order) */
			struct warden_endpoint_info agent, kernel;
		} endpoint;
		struct {
			struct policy_prefix prefix;
			uint32_t agent, kernel;
		} ipcache;
	};
};

/* The items listed per map; the counts are complete. */
#define BPF_CHECK_ITEMS_MAX 50

struct bpf_check_map {
	enum datapath_map map;
	const char *name;
	size_t agent, kernel; /* entries on each side */
	size_t missing, stale, differing;
	struct bpf_check_item items[BPF_CHECK_ITEMS_MAX];
	size_t item_count;
};

enum bpf_check_proxy {
	BPF_CHECK_PROXY_CURRENT,     /* holds the last document */
	BPF_CHECK_PROXY_STARTING,    /* runs, has not said what it loaded yet */
	BPF_CHECK_PROXY_BEHIND,	     /* holds another revision: a difference */
	BPF_CHECK_PROXY_NOT_RUNNING, /* it reads the last document when it starts */
};

struct bpf_check_report {
	struct bpf_check_map maps[4]; /* policy, endpoints, local endpoints, ipcache */
	size_t map_count;
	enum bpf_check_proxy proxy;
	uint64_t proxy_revision;    /* what the proxy said it LOADED */
	uint64_t document_revision; /* the last document written */
	bool clean;		    /* no map differs and the proxy is not behind */
};

/* Compare now. Returns 0 (see out->clean) or -errno with err. The report
 * is large: the caller allocates it. */
int bpf_check__run(struct agent *agent, struct bpf_check_report *out, char *err,
		   size_t err_len);
const char *bpf_check_problem__name(enum bpf_check_problem problem);
const char *bpf_check_proxy__name(enum bpf_check_proxy state);

#endif /* WARDEN_AGENT_BPF_CHECK_H */
