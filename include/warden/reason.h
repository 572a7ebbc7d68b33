/* SPDX-License-Identifier: Apache-2.0 */
/* Names of verdict reasons (enum warden_reason), as the monitor shows them. */
#ifndef WARDEN_REASON_H
#define WARDEN_REASON_H

/* "Policy denied", "Policy denied by denylist", ...; never NULL. */
const char *warden_reason__name(unsigned int reason);
/* Short metric-label form: "policy_denied", ... */
const char *warden_reason__metric(unsigned int reason);

/* "TCP", "UDP", "SCTP", "ICMP", "ANY" (0), else NULL. */
const char *warden_protocol__name(unsigned int protocol);

#endif /* WARDEN_REASON_H */
