/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Route netlink (links, addresses, routes, rules) through libmnl: the
 * requests the endpoint plumbing and the L7 redirect make, built as
 * iproute2 builds them for the same `ip` command (so the kernel state is
 * the one `ip` would leave), and one request/answer exchange with a
 * deadline.
 *
 * Two halves:
 *   - message builders (nl_msg__*): pure, they write one request into a
 *     caller's buffer and return its header, or NULL when it does not fit;
 *     nl_reply__scan() reads answers. Unit-tested without a kernel.
 *   - struct nl_sock: a NETLINK_ROUTE socket of the calling thread's
 *     network namespace (netns.h opens one inside another namespace), with
 *     extended acks, and nl_sock__talk(): send one request, wait for its
 *     answer at most the socket's timeout.
 *
 * Addresses are IPv4 in network order, as everywhere in lib/host.
 */
#ifndef WARDEN_NETLINK_H
#define WARDEN_NETLINK_H

#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;
struct mnl_socket;

/* Room for any request built here (the largest, a veth pair, is ~100 bytes). */
#define NL_MSG_SIZE 512
/* The longest a request waits for its answer. The kernel answers a route
 * netlink request while it handles the send, so this is a safety net, not a
 * wait that happens: a request never hangs the caller. */
#define NL_TIMEOUT_MS 5000

/* A request buffer aligned for struct nlmsghdr. */
union nl_buf {
	char buf[NL_MSG_SIZE];
	uint32_t align;
};

struct nl_route {
	uint32_t table;	  /* RT_TABLE_MAIN, or any id (RTA_TABLE above 255) */
	uint8_t type;	  /* RTN_UNICAST, RTN_UNREACHABLE, RTN_LOCAL; 0 on delete */
	uint8_t scope;	  /* RT_SCOPE_* (RT_SCOPE_NOWHERE on delete: any) */
	uint8_t protocol; /* RTPROT_BOOT as `ip route add`; 0 on delete */
	uint8_t dst_len;  /* 0: the default route (no RTA_DST) */
	uint32_t dst;	  /* network order */
	uint32_t gateway; /* 0: none */
	uint32_t prefsrc; /* 0: none (the `src` hint) */
	int oif;	  /* 0: none */
};

struct nl_rule {
	uint32_t priority; /* FRA_PRIORITY ("pref") */
	uint32_t fwmark;   /* 0 with fwmask 0: no fwmark match */
	uint32_t fwmask;
	uint32_t table; /* 0: none (on delete: any) */
};

/* RTM_NEWLINK: the veth pair @name / @peer, the peer created directly in
 * the namespace @peer_netns_fd (-1: the sender's) under its final name, as
 * `ip link add NAME type veth peer name PEER netns NS` does. */
struct nlmsghdr *nl_msg__veth(void *buf, size_t size, const char *name, const char *peer,
			      int peer_netns_fd);
/* RTM_NEWLINK setting IFF_UP on @ifindex (`ip link set DEV up`); when
 * @ifindex is 0 the device is named by @name. */
struct nlmsghdr *nl_msg__link_up(void *buf, size_t size, int ifindex, const char *name);
/* RTM_DELLINK of @name (`ip link del NAME`). */
struct nlmsghdr *nl_msg__link_del(void *buf, size_t size, const char *name);
/* RTM_GETLINK of @name: one RTM_NEWLINK answer. */
struct nlmsghdr *nl_msg__link_get(void *buf, size_t size, const char *name);
/* RTM_NEWADDR / RTM_DELADDR of @addr/@prefix_len on @ifindex (scope
 * global, local = address, as `ip addr add A/LEN dev DEV`); @flags are the
 * NLM_F_* creation flags: NLM_F_CREATE|NLM_F_EXCL for add,
 * NLM_F_CREATE|NLM_F_REPLACE for replace, 0 for delete. */
struct nlmsghdr *nl_msg__addr(void *buf, size_t size, int cmd, uint16_t flags,
			      int ifindex, uint32_t addr, int prefix_len);
/* RTM_NEWROUTE / RTM_DELROUTE of @route, IPv4; @flags as for addresses. */
struct nlmsghdr *nl_msg__route(void *buf, size_t size, int cmd, uint16_t flags,
			       const struct nl_route *route);
/* RTM_GETROUTE dump of every IPv4 route (any table). */
struct nlmsghdr *nl_msg__route_dump(void *buf, size_t size);
/* RTM_NEWRULE / RTM_DELRULE of @rule, IPv4: add looks up rule->table
 * (`ip rule add fwmark M/MASK lookup T pref P`); delete removes the first
 * rule that matches what is set (`ip rule del pref P`). */
struct nlmsghdr *nl_msg__rule(void *buf, size_t size, int cmd, uint16_t flags,
			      const struct nl_rule *rule);

/* The kernel's answer to one request. */
struct nl_ack {
	int error;     /* 0, or the errno the kernel answered */
	char msg[256]; /* the extended ack's message, "" if none */
};

/* Called for each data message (not an ack) answering the request. */
typedef int (*nl_data_cb)(const struct nlmsghdr *nlh, void *data);

/*
 * Walk @len bytes of answers read from the socket. Messages with another
 * sequence number than @seq (answers to an earlier request that timed
 * out) are skipped; data messages go to @cb (may be NULL), whose negative
 * result is returned. Returns 1 when the request's ack (NLMSG_ERROR) or the
 * end of its dump (NLMSG_DONE) was found, with the outcome in @ack; 0 when
 * more is to come; -EBADMSG for a truncated or malformed answer.
 */
int nl_reply__scan(const void *buf, size_t len, uint32_t seq, nl_data_cb cb, void *data,
		   struct nl_ack *ack);

/* A link found by nl_sock__link_get(). */
struct nl_link {
	int ifindex;
	unsigned char mac[6];
	int has_mac;
};

/* Parse an RTM_NEWLINK message into @link (an nl_data_cb: @data is the link). */
int nl_link__parse(const struct nlmsghdr *nlh, void *data);

struct nl_sock {
	struct mnl_socket *mnl;
	uint32_t seq;
	int timeout_ms;
};

/*
 * Open a NETLINK_ROUTE socket in the calling thread's network namespace,
 * with extended acks on and acks capped (no copy of the request), and a
 * timeout of NL_TIMEOUT_MS. 0 or -errno.
 */
int nl_sock__open(struct nl_sock *sock);
/* Close; accepts a socket that was never opened (zeroed) or is closed. */
void nl_sock__close(struct nl_sock *sock);

/*
 * Send the request @nlh (its sequence number is set and an ack asked for
 * here) and wait for its answer, at most sock->timeout_ms; data messages
 * go to @cb. Returns 0, or -errno: the kernel's error, -ETIMEDOUT, or a
 * socket error. On failure @err (may be NULL) gets "@what: reason", with
 * the kernel's extended ack message when it sent one.
 */
int nl_sock__talk(struct nl_sock *sock, struct nlmsghdr *nlh, nl_data_cb cb, void *data,
		  const char *what, char *err, size_t err_len);

/* nl_sock__talk() of a request built by the caller: the common "build,
 * then talk; a build that does not fit is -EMSGSIZE" step. */
int nl_sock__request(struct nl_sock *sock, struct nlmsghdr *nlh, const char *what,
		     char *err, size_t err_len);

/* Look @name up: ifindex and MAC. -ENODEV (with @err) when there is none. */
int nl_sock__link_get(struct nl_sock *sock, const char *name, struct nl_link *link,
		      char *err, size_t err_len);

/* Delete every IPv4 route of @table (`ip route flush table T`); the
 * number removed, or -errno. */
int nl_sock__route_flush_table(struct nl_sock *sock, uint32_t table, char *err,
			       size_t err_len);

#endif /* WARDEN_NETLINK_H */
