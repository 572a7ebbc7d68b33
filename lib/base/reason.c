// SPDX-License-Identifier: Apache-2.0
/* Verdict reason names; docs/drop-reasons.md explains each. */
#include <stddef.h>

#include "warden/abi/maps.h"
#include "warden/reason.h"

static const struct {
	const char *name;
	const char *metric;
} reasons[WARDEN_REASON_MAX] = {
    [WARDEN_REASON_FORWARDED] = {"Forwarded", "forwarded"},
    [WARDEN_DROP_POLICY] = {"Policy denied", "policy_denied"},
    [WARDEN_DROP_POLICY_DENY] = {"Policy denied by denylist", "policy_denylist"},
    [WARDEN_DROP_INVALID_PACKET] = {"Invalid packet", "invalid_packet"},
    [WARDEN_DROP_UNSUPPORTED_L3] = {"Unsupported L3 protocol", "unsupported_l3"},
    [WARDEN_DROP_UNKNOWN_ENDPOINT] = {"Unknown endpoint", "unknown_endpoint"},
    [WARDEN_DROP_FRAGMENT] = {"Fragment without L4 header", "fragment"},
    [WARDEN_DROP_POLICY_REVOKED] = {"Policy revoked established flow", "policy_revoked"},
    [WARDEN_DROP_SPOOFED_SOURCE] = {"Spoofed source address", "spoofed_source"},
    [WARDEN_DROP_PROXY_REQUIRED] = {"L7 policy requires the proxy", "proxy_required"},
    [WARDEN_DROP_SPOOFED_PEER] = {"Spoofed source from outside the endpoint",
				  "spoofed_peer_source"},
};

const char *warden_reason__name(unsigned int reason)
{
	if (reason < WARDEN_REASON_MAX && reasons[reason].name)
		return reasons[reason].name;
	return "Unknown reason";
}

const char *warden_reason__metric(unsigned int reason)
{
	if (reason < WARDEN_REASON_MAX && reasons[reason].metric)
		return reasons[reason].metric;
	return "unknown";
}

const char *warden_protocol__name(unsigned int protocol)
{
	switch (protocol) {
	case 0:
		return "ANY";
	case 1:
		return "ICMP";
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 132:
		return "SCTP";
	default:
		return NULL;
	}
}
