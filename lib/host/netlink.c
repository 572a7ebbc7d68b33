// SPDX-License-Identifier: Apache-2.0
/*
 * Route netlink through libmnl (netlink.h): request builders, the answer
 * scanner, and one request/answer exchange with a deadline.
 */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "warden/errbuf.h"
#include "warden/netlink.h"

#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

/* Answers are read into this much: a dump part is never larger (the
 * kernel sizes dump messages to the reader's buffer, at most 32 KiB). */
#define NL_RECV_SIZE 32768

/* The header of a request of @type with an extra header of @extra bytes,
 * zeroed; NULL when it does not fit in @size. */
static struct nlmsghdr *put_header(void *buf, size_t size, uint16_t type, uint16_t flags,
				   size_t extra)
{
	struct nlmsghdr *nlh;

	if (size < MNL_NLMSG_HDRLEN + MNL_ALIGN(extra))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

static bool put_u32_be(struct nlmsghdr *nlh, size_t size, uint16_t type, uint32_t value)
{
	return mnl_attr_put_check(nlh, size, type, sizeof(value), &value);
}

struct nlmsghdr *nl_msg__veth(void *buf, size_t size, const char *name, const char *peer,
			      int peer_netns_fd)
{
	struct nlattr *linkinfo, *data, *peer_nest;
	struct ifinfomsg *peer_ifm;
	struct nlmsghdr *nlh;

	nlh = put_header(buf, size, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
			 sizeof(struct ifinfomsg));
	if (!nlh || !mnl_attr_put_strz_check(nlh, size, IFLA_IFNAME, name))
		return NULL;
	linkinfo = mnl_attr_nest_start_check(nlh, size, IFLA_LINKINFO);
	if (!linkinfo || !mnl_attr_put_strz_check(nlh, size, IFLA_INFO_KIND, "veth"))
		return NULL;
	data = mnl_attr_nest_start_check(nlh, size, IFLA_INFO_DATA);
	peer_nest = data ? mnl_attr_nest_start_check(nlh, size, VETH_INFO_PEER) : NULL;
	/* The peer is described by an ifinfomsg of its own, then its
	 * attributes, inside VETH_INFO_PEER. */
	if (!peer_nest || nlh->nlmsg_len + MNL_ALIGN(sizeof(*peer_ifm)) > size)
		return NULL;
	peer_ifm = mnl_nlmsg_get_payload_tail(nlh);
	memset(peer_ifm, 0, MNL_ALIGN(sizeof(*peer_ifm)));
	peer_ifm->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*peer_ifm));
	if (!mnl_attr_put_strz_check(nlh, size, IFLA_IFNAME, peer))
		return NULL;
	if (peer_netns_fd >= 0 &&
	    !mnl_attr_put_u32_check(nlh, size, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd))
		return NULL;
	mnl_attr_nest_end(nlh, peer_nest);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nlh;
}

struct nlmsghdr *nl_msg__link_up(void *buf, size_t size, int ifindex, const char *name)
{
	struct nlmsghdr *nlh =
	    put_header(buf, size, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
	struct ifinfomsg *ifm;

	if (!nlh)
		return NULL;
	ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = IFF_UP;
	if (!ifindex && !mnl_attr_put_strz_check(nlh, size, IFLA_IFNAME, name))
		return NULL;
	return nlh;
}

/* A link request that names the device: RTM_DELLINK, RTM_GETLINK. */
static struct nlmsghdr *link_by_name(void *buf, size_t size, uint16_t type,
				     const char *name)
{
	struct nlmsghdr *nlh = put_header(buf, size, type, 0, sizeof(struct ifinfomsg));

	if (!nlh || !mnl_attr_put_strz_check(nlh, size, IFLA_IFNAME, name))
		return NULL;
	((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_family = AF_UNSPEC;
	return nlh;
}

struct nlmsghdr *nl_msg__link_del(void *buf, size_t size, const char *name)
{
	return link_by_name(buf, size, RTM_DELLINK, name);
}

struct nlmsghdr *nl_msg__link_get(void *buf, size_t size, const char *name)
{
	return link_by_name(buf, size, RTM_GETLINK, name);
}

struct nlmsghdr *nl_msg__addr(void *buf, size_t size, int cmd, uint16_t flags,
			      int ifindex, uint32_t addr, int prefix_len)
{
	struct nlmsghdr *nlh =
	    put_header(buf, size, (uint16_t)cmd, flags, sizeof(struct ifaddrmsg));
	struct ifaddrmsg *ifa;

	if (!nlh)
		return NULL;
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix_len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* Local and peer address the same: not a point-to-point address. */
	if (!put_u32_be(nlh, size, IFA_LOCAL, addr) ||
	    !put_u32_be(nlh, size, IFA_ADDRESS, addr))
		return NULL;
	return nlh;
}

struct nlmsghdr *nl_msg__route(void *buf, size_t size, int cmd, uint16_t flags,
			       const struct nl_route *route)
{
	struct nlmsghdr *nlh =
	    put_header(buf, size, (uint16_t)cmd, flags, sizeof(struct rtmsg));
	struct rtmsg *rtm;

	if (!nlh)
		return NULL;
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = route->dst_len;
	rtm->rtm_protocol = route->protocol;
	rtm->rtm_scope = route->scope;
	rtm->rtm_type = route->type;
	/* The one-byte field holds tables up to 255; above, RTA_TABLE. */
	rtm->rtm_table = route->table < 256 ? (uint8_t)route->table : RT_TABLE_UNSPEC;
	if (route->table >= 256 &&
	    !mnl_attr_put_u32_check(nlh, size, RTA_TABLE, route->table))
		return NULL;
	if (route->dst_len && !put_u32_be(nlh, size, RTA_DST, route->dst))
		return NULL;
	if (route->gateway && !put_u32_be(nlh, size, RTA_GATEWAY, route->gateway))
		return NULL;
	if (route->prefsrc && !put_u32_be(nlh, size, RTA_PREFSRC, route->prefsrc))
		return NULL;
	if (route->oif &&
	    !mnl_attr_put_u32_check(nlh, size, RTA_OIF, (uint32_t)route->oif))
		return NULL;
	return nlh;
}

struct nlmsghdr *nl_msg__route_dump(void *buf, size_t size)
{
	struct nlmsghdr *nlh =
	    put_header(buf, size, RTM_GETROUTE, NLM_F_DUMP, sizeof(struct rtmsg));

	if (nlh)
		((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_family = AF_INET;
	return nlh;
}

struct nlmsghdr *nl_msg__rule(void *buf, size_t size, int cmd, uint16_t flags,
			      const struct nl_rule *rule)
{
	struct nlmsghdr *nlh =
	    put_header(buf, size, (uint16_t)cmd, flags, sizeof(struct fib_rule_hdr));
	struct fib_rule_hdr *frh;

	if (!nlh)
		return NULL;
	frh = mnl_nlmsg_get_payload(nlh);
	frh->family = AF_INET;
	/* On delete, action 0 and table 0 match any rule. */
	if (cmd == RTM_NEWRULE)
		frh->action = FR_ACT_TO_TBL;
	frh->table = rule->table < 256 ? (uint8_t)rule->table : RT_TABLE_UNSPEC;
	if (!mnl_attr_put_u32_check(nlh, size, FRA_PRIORITY, rule->priority))
		return NULL;
	if ((rule->fwmark || rule->fwmask) &&
	    (!mnl_attr_put_u32_check(nlh, size, FRA_FWMARK, rule->fwmark) ||
	     !mnl_attr_put_u32_check(nlh, size, FRA_FWMASK, rule->fwmask)))
		return NULL;
	if (rule->table >= 256 &&
	    !mnl_attr_put_u32_check(nlh, size, FRA_TABLE, rule->table))
		return NULL;
	return nlh;
}

static int extack_attr(const struct nlattr *attr, void *data)
{
	struct nl_ack *ack = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
		size_t n = strnlen(mnl_attr_get_str(attr), sizeof(ack->msg) - 1);

		memcpy(ack->msg, mnl_attr_get_str(attr), n);
		ack->msg[n] = '\0';
	}
	return MNL_CB_OK;
}

/* The extended ack's attributes, @offset bytes into the payload of @nlh. */
static void parse_extack(const struct nlmsghdr *nlh, size_t offset, struct nl_ack *ack)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    MNL_ALIGN(offset) >= mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_parse(nlh, (unsigned int)offset, extack_attr, ack);
}

/* An NLMSG_ERROR (the ack) or NLMSG_DONE (a dump's end) into @ack. */
static int parse_ack(const struct nlmsghdr *nlh, struct nl_ack *ack)
{
	size_t len = mnl_nlmsg_get_payload_len(nlh);

	ack->error = 0;
	ack->msg[0] = '\0';
	if (nlh->nlmsg_type == NLMSG_DONE) {
		int error;

		/* A dump's end may carry its error, then an extended ack. */
		if (len >= sizeof(int)) {
			memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
			ack->error = error < 0 ? -error : 0;
			parse_extack(nlh, sizeof(int), ack);
		}
		return 1;
	}
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof(*e);

	if (len < sizeof(*e))
		return -EBADMSG;
	ack->error = e->error < 0 ? -e->error : 0;
	/* Not capped: the whole request is echoed before the attributes. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	parse_extack(nlh, offset, ack);
	return 1;
}

int nl_reply__scan(const void *buf, size_t len, uint32_t seq, nl_data_cb cb, void *data,
		   struct nl_ack *ack)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len, ret;

	while (mnl_nlmsg_ok(nlh, rem)) {
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_type == NLMSG_NOOP) {
			/* An answer to an earlier request that gave up. */
		} else if (nlh->nlmsg_type == NLMSG_ERROR ||
			   nlh->nlmsg_type == NLMSG_DONE) {
			return parse_ack(nlh, ack);
		} else if (cb) {
			ret = cb(nlh, data);
			if (ret < 0)
				return ret;
		}
		nlh = mnl_nlmsg_next(nlh, &rem);
	}
	return rem ? -EBADMSG : 0;
}

static int link_attr(const struct nlattr *attr, void *data)
{
	struct nl_link *link = data;

	if (mnl_attr_get_type(attr) == IFLA_ADDRESS &&
	    mnl_attr_get_payload_len(attr) == sizeof(link->mac)) {
		memcpy(link->mac, mnl_attr_get_payload(attr), sizeof(link->mac));
		link->has_mac = 1;
	}
	return MNL_CB_OK;
}

int nl_link__parse(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link *link = data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return 0;
	link->ifindex = ifm->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr, link);
	return 0;
}

int nl_sock__open(struct nl_sock *sock)
{
	int one = 1, ret;

	memset(sock, 0, sizeof(*sock));
	sock->mnl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!sock->mnl)
		return -errno;
	if (mnl_socket_bind(sock->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		nl_sock__close(sock);
		return ret;
	}
	/* Both are optional: without them errors are plain errnos. */
	mnl_socket_setsockopt(sock->mnl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(sock->mnl, NETLINK_CAP_ACK, &one, sizeof(one));
	sock->seq = (uint32_t)time(NULL);
	sock->timeout_ms = NL_TIMEOUT_MS;
	return 0;
}

void nl_sock__close(struct nl_sock *sock)
{
	if (sock->mnl)
		mnl_socket_close(sock->mnl);
	sock->mnl = NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read answers until the one to @seq is complete or the deadline passes. */
static int wait_answer(struct nl_sock *sock, uint32_t seq, nl_data_cb cb, void *data,
		       struct nl_ack *ack)
{
	int64_t deadline = now_ms() + sock->timeout_ms;
	struct pollfd pfd = {.fd = mnl_socket_get_fd(sock->mnl), .events = POLLIN};
	char buf[NL_RECV_SIZE] __attribute__((aligned(8)));
	ssize_t n;
	int ret;

	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (int)left);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -ETIMEDOUT;
		n = recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		ret = nl_reply__scan(buf, (size_t)n, seq, cb, data, ack);
		if (ret)
			return ret < 0 ? ret : 0;
	}
}

int nl_sock__talk(struct nl_sock *sock, struct nlmsghdr *nlh, nl_data_cb cb, void *data,
		  const char *what, char *err, size_t err_len)
{
	struct nl_ack ack = {0};
	int ret;

	nlh->nlmsg_seq = ++sock->seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(sock->mnl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		errbuf__printf(err, err_len, "%s: send to the kernel: %s", what,
			       strerror(-ret));
		return ret;
	}
	ret = wait_answer(sock, nlh->nlmsg_seq, cb, data, &ack);
	if (ret == -ETIMEDOUT) {
		errbuf__printf(err, err_len, "%s: no answer from the kernel in %d ms",
			       what, sock->timeout_ms);
		return ret;
	}
	if (ret) {
		errbuf__printf(err, err_len, "%s: %s", what, strerror(-ret));
		return ret;
	}
	if (ack.error) {
		errbuf__printf(err, err_len, "%s: %s%s%s%s", what, strerror(ack.error),
			       ack.msg[0] ? " (kernel: " : "", ack.msg,
			       ack.msg[0] ? ")" : "");
		return -ack.error;
	}
	return 0;
}

int nl_sock__request(struct nl_sock *sock, struct nlmsghdr *nlh, const char *what,
		     char *err, size_t err_len)
{
	if (!nlh) {
		errbuf__printf(err, err_len, "%s: request too large", what);
		return -EMSGSIZE;
	}
	return nl_sock__talk(sock, nlh, NULL, NULL, what, err, err_len);
}

int nl_sock__link_get(struct nl_sock *sock, const char *name, struct nl_link *link,
		      char *err, size_t err_len)
{
	union nl_buf req;
	char what[64];
	int ret;

	memset(link, 0, sizeof(*link));
	snprintf(what, sizeof(what), "look up %s", name);
	ret = nl_sock__talk(sock, nl_msg__link_get(req.buf, sizeof(req), name),
			    nl_link__parse, link, what, err, err_len);
	if (!ret && link->ifindex <= 0) {
		errbuf__printf(err, err_len, "%s: no answer", what);
		ret = -ENODEV;
	}
	return ret;
}

/* The routes of one table, copied from a dump to be deleted after it. */
struct route_list {
	uint32_t table;
	size_t count, cap;
	union nl_buf *msgs;
};

static int route_table_attr(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == RTA_TABLE &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*(uint32_t *)data = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int collect_route(const struct nlmsghdr *nlh, void *data)
{
	struct route_list *list = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return 0;
	table = rtm->rtm_table;
	mnl_attr_parse(nlh, sizeof(*rtm), route_table_attr, &table);
	if (table != list->table || nlh->nlmsg_len > NL_MSG_SIZE)
		return 0;
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		union nl_buf *msgs = realloc(list->msgs, cap * sizeof(*msgs));

		if (!msgs)
			return -ENOMEM;
		list->msgs = msgs;
		list->cap = cap;
	}
	memcpy(list->msgs[list->count++].buf, nlh, nlh->nlmsg_len);
	return 0;
}

int nl_sock__route_flush_table(struct nl_sock *sock, uint32_t table, char *err,
			       size_t err_len)
{
	struct route_list list = {.table = table};
	union nl_buf req;
	char what[64];
	int ret, removed = 0;

	snprintf(what, sizeof(what), "list the routes of table %u", table);
	ret = nl_sock__talk(sock, nl_msg__route_dump(req.buf, sizeof(req)), collect_route,
			    &list, what, err, err_len);
	snprintf(what, sizeof(what), "delete a route of table %u", table);
	/* Each route deleted as the dump gave it, as `ip route flush` does. */
	for (size_t i = 0; !ret && i < list.count; i++) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)list.msgs[i].buf;

		nlh->nlmsg_type = RTM_DELROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		ret = nl_sock__talk(sock, nlh, NULL, NULL, what, err, err_len);
		if (!ret)
			removed++;
	}
	free(list.msgs);
	return ret ? ret : removed;
}
