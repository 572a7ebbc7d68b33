/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection, for tests only. A fault point is a place where the
 * agent talks to the kernel or to the proxy (a BPF map write, the proxy
 * document's write, the proxy's reload, an `ip` step of an endpoint's
 * plumbing). Arming a point makes its N-th next hit fail once, so a test
 * can prove that every operation is all-or-nothing whichever step fails.
 *
 * Compiled in, inert unless armed: wardend arms points only through its
 * `test.fault` control command, which exists only when the agent was
 * started with WARDEN_TEST_HOOKS=1 (docs/control-protocol.md). An unarmed
 * point costs one load and a branch. Not thread-safe: the agent is single
 * threaded, and the proxy has no fault points.
 */
#ifndef WARDEN_FAULT_H
#define WARDEN_FAULT_H

#include <stdbool.h>

enum fault_point {
	FAULT_MAP_WRITE,    /* a BPF map update or delete (lib/host/datapath.c) */
	FAULT_PROXY_WRITE,  /* writing the proxy's policy document */
	FAULT_PROXY_REJECT, /* the document gets a field the proxy refuses */
	FAULT_NETDEV,	    /* one netlink step of an endpoint's plumbing */
	FAULT_POINT_COUNT,
};

/* "map-write", "proxy-write", "proxy-reject", "netdev". */
const char *fault__name(enum fault_point point);
/* The point of a name, or -1. */
int fault__parse(const char *name);
/* The nth next hit of point fails (1: the very next one); 0 disarms. */
void fault__arm(enum fault_point point, unsigned int nth);
/* At a fault point: true when this hit must fail (the arm is then spent). */
bool fault__hit(enum fault_point point);
/* How many hits of point have failed since the start (for tests). */
unsigned int fault__fired(enum fault_point point);

#endif /* WARDEN_FAULT_H */
