// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for lib/host/netlink.c without a kernel: the requests the
 * endpoint plumbing and the redirect send (each the one `ip` sends for the
 * command in its name), and the reading of answers (acks with and without
 * the kernel's extended message, dumps, answers to earlier requests,
 * truncated input).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>

#include "warden/netlink.h"

#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

#define MAX_ATTR 64

static uint32_t ip4(const char *text)
{
	uint32_t addr;

	assert_int_equal(inet_pton(AF_INET, text, &addr), 1);
	return addr;
}

static int table_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(attr) < MAX_ATTR)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* The attributes of @nlh after an extra header of @extra bytes, by type. */
static void attrs(const struct nlmsghdr *nlh, size_t extra, const struct nlattr **tb)
{
	memset(tb, 0, MAX_ATTR * sizeof(*tb));
	assert_int_equal(mnl_attr_parse(nlh, (unsigned int)extra, table_cb, tb),
			 MNL_CB_OK);
}

static void nested(const struct nlattr *nest, const struct nlattr **tb)
{
	assert_non_null(nest);
	memset(tb, 0, MAX_ATTR * sizeof(*tb));
	assert_int_equal(mnl_attr_parse_nested(nest, table_cb, tb), MNL_CB_OK);
}

static uint32_t be32_attr(const struct nlattr *attr)
{
	uint32_t v;

	assert_non_null(attr);
	assert_int_equal(mnl_attr_get_payload_len(attr), 4);
	memcpy(&v, mnl_attr_get_payload(attr), 4);
	return v;
}

/* `ip link add wdh3 type veth peer name eth0 netns NS`: the peer, with its
 * own ifinfomsg, its name and the namespace fd, nested in the link info. */
static void test_veth(void **state)
{
	const struct nlattr *tb[MAX_ATTR], *info[MAX_ATTR], *data[MAX_ATTR],
	    *peer[MAX_ATTR];
	union nl_buf req;
	struct nlmsghdr *nlh;
	const struct nlattr *peer_nest;

	(void)state;
	nlh = nl_msg__veth(req.buf, sizeof(req), "wdh3", "eth0", 7);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	attrs(nlh, sizeof(struct ifinfomsg), tb);
	assert_string_equal(mnl_attr_get_str(tb[IFLA_IFNAME]), "wdh3");
	nested(tb[IFLA_LINKINFO], info);
	assert_string_equal(mnl_attr_get_str(info[IFLA_INFO_KIND]), "veth");
	nested(info[IFLA_INFO_DATA], data);
	peer_nest = data[VETH_INFO_PEER];
	assert_non_null(peer_nest);
	/* An ifinfomsg, then the peer's attributes. */
	assert_true(mnl_attr_get_payload_len(peer_nest) > sizeof(struct ifinfomsg));
	assert_int_equal(((struct ifinfomsg *)mnl_attr_get_payload(peer_nest))->ifi_index,
			 0);
	memset(peer, 0, sizeof(peer));
	assert_int_equal(
	    mnl_attr_parse_payload(
		(const char *)mnl_attr_get_payload(peer_nest) + sizeof(struct ifinfomsg),
		mnl_attr_get_payload_len(peer_nest) - sizeof(struct ifinfomsg), table_cb,
		peer),
	    MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(peer[IFLA_IFNAME]), "eth0");
	assert_int_equal(mnl_attr_get_u32(peer[IFLA_NET_NS_FD]), 7);

	/* No namespace: the peer stays with the sender. */
	nlh = nl_msg__veth(req.buf, sizeof(req), "wdcx", "wdty", -1);
	assert_non_null(nlh);
	attrs(nlh, sizeof(struct ifinfomsg), tb);
	nested(tb[IFLA_LINKINFO], info);
	nested(info[IFLA_INFO_DATA], data);
	peer_nest = data[VETH_INFO_PEER];
	memset(peer, 0, sizeof(peer));
	mnl_attr_parse_payload(
	    (const char *)mnl_attr_get_payload(peer_nest) + sizeof(struct ifinfomsg),
	    mnl_attr_get_payload_len(peer_nest) - sizeof(struct ifinfomsg), table_cb,
	    peer);
	assert_string_equal(mnl_attr_get_str(peer[IFLA_IFNAME]), "wdty");
	assert_null(peer[IFLA_NET_NS_FD]);
}

/* A request that does not fit the buffer is refused whole, never cut. */
static void test_too_small(void **state)
{
	union nl_buf req;
	struct nl_route route = {.table = 2004, .dst_len = 32, .gateway = 1, .oif = 1};

	(void)state;
	for (size_t size = 0; size < 60; size++)
		assert_null(nl_msg__veth(req.buf, size, "wdh3", "eth0", 7));
	assert_null(nl_msg__route(req.buf, 40, RTM_NEWROUTE, 0, &route));
	assert_null(nl_msg__link_up(req.buf, 8, 1, NULL));
	assert_non_null(nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE, 0, &route));
}

/* `ip link set DEV up`: by index, or by name when there is none. */
static void test_link_up_del_get(void **state)
{
	const struct nlattr *tb[MAX_ATTR];
	union nl_buf req;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	(void)state;
	nlh = nl_msg__link_up(req.buf, sizeof(req), 5, NULL);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	/* No NLM_F_CREATE: an existing device is changed, none is made. */
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
	ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_index, 5);
	assert_int_equal(ifm->ifi_change, IFF_UP);
	assert_int_equal(ifm->ifi_flags, IFF_UP);
	attrs(nlh, sizeof(*ifm), tb);
	assert_null(tb[IFLA_IFNAME]);

	nlh = nl_msg__link_up(req.buf, sizeof(req), 0, "lo");
	ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_index, 0);
	attrs(nlh, sizeof(*ifm), tb);
	assert_string_equal(mnl_attr_get_str(tb[IFLA_IFNAME]), "lo");

	nlh = nl_msg__link_del(req.buf, sizeof(req), "wdh9");
	assert_int_equal(nlh->nlmsg_type, RTM_DELLINK);
	attrs(nlh, sizeof(*ifm), tb);
	assert_string_equal(mnl_attr_get_str(tb[IFLA_IFNAME]), "wdh9");

	nlh = nl_msg__link_get(req.buf, sizeof(req), "eth0");
	assert_int_equal(nlh->nlmsg_type, RTM_GETLINK);
	assert_int_equal(nlh->nlmsg_flags & NLM_F_DUMP, 0);
	attrs(nlh, sizeof(*ifm), tb);
	assert_string_equal(mnl_attr_get_str(tb[IFLA_IFNAME]), "eth0");
}

/* `ip addr add 10.200.0.7/32 dev eth0` (and replace, del) */
static void test_addr(void **state)
{
	const struct nlattr *tb[MAX_ATTR];
	union nl_buf req;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	(void)state;
	nlh = nl_msg__addr(req.buf, sizeof(req), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
			   2, ip4("10.200.0.7"), 32);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 32);
	assert_int_equal(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(ifa->ifa_index, 2);
	attrs(nlh, sizeof(*ifa), tb);
	assert_int_equal(be32_attr(tb[IFA_LOCAL]), ip4("10.200.0.7"));
	assert_int_equal(be32_attr(tb[IFA_ADDRESS]), ip4("10.200.0.7"));

	nlh =
	    nl_msg__addr(req.buf, sizeof(req), RTM_DELADDR, 0, 1, ip4("10.200.0.1"), 32);
	assert_int_equal(nlh->nlmsg_type, RTM_DELADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
}

/* `ip route add default via G dev eth0 src A`, `ip route replace A/32 dev
 * wdhN src G`, `ip route replace local 0.0.0.0/0 dev lo table 2004` */
static void test_route(void **state)
{
	const struct nlattr *tb[MAX_ATTR];
	union nl_buf req;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nl_route dflt = {.table = RT_TABLE_MAIN,
				.type = RTN_UNICAST,
				.scope = RT_SCOPE_UNIVERSE,
				.protocol = RTPROT_BOOT,
				.gateway = ip4("10.200.0.1"),
				.prefsrc = ip4("10.200.0.7"),
				.oif = 2};
	struct nl_route host = {.table = RT_TABLE_MAIN,
				.type = RTN_UNICAST,
				.scope = RT_SCOPE_LINK,
				.protocol = RTPROT_BOOT,
				.dst = ip4("10.200.0.7"),
				.dst_len = 32,
				.prefsrc = ip4("10.200.0.1"),
				.oif = 41};
	struct nl_route local = {.table = 2004,
				 .type = RTN_LOCAL,
				 .scope = RT_SCOPE_HOST,
				 .protocol = RTPROT_BOOT,
				 .oif = 1};

	(void)state;
	nlh = nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
			    &dflt);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 0);
	assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
	assert_int_equal(rtm->rtm_protocol, RTPROT_BOOT);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	attrs(nlh, sizeof(*rtm), tb);
	assert_null(tb[RTA_DST]);
	assert_null(tb[RTA_TABLE]);
	assert_int_equal(be32_attr(tb[RTA_GATEWAY]), ip4("10.200.0.1"));
	assert_int_equal(be32_attr(tb[RTA_PREFSRC]), ip4("10.200.0.7"));
	assert_int_equal(mnl_attr_get_u32(tb[RTA_OIF]), 2);

	nlh = nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
			    NLM_F_CREATE | NLM_F_REPLACE, &host);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_dst_len, 32);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_LINK);
	attrs(nlh, sizeof(*rtm), tb);
	assert_int_equal(be32_attr(tb[RTA_DST]), ip4("10.200.0.7"));
	assert_int_equal(be32_attr(tb[RTA_PREFSRC]), ip4("10.200.0.1"));
	assert_null(tb[RTA_GATEWAY]);
	assert_int_equal(mnl_attr_get_u32(tb[RTA_OIF]), 41);

	/* A table above 255 does not fit rtm_table: RTA_TABLE carries it. */
	nlh = nl_msg__route(req.buf, sizeof(req), RTM_NEWROUTE,
			    NLM_F_CREATE | NLM_F_REPLACE, &local);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_table, RT_TABLE_UNSPEC);
	assert_int_equal(rtm->rtm_type, RTN_LOCAL);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_HOST);
	attrs(nlh, sizeof(*rtm), tb);
	assert_int_equal(mnl_attr_get_u32(tb[RTA_TABLE]), 2004);
	assert_null(tb[RTA_DST]);

	nlh = nl_msg__route_dump(req.buf, sizeof(req));
	assert_int_equal(nlh->nlmsg_type, RTM_GETROUTE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
}

/* `ip rule add fwmark 0x200/0xf00 lookup 2004 pref 9000`; `ip rule del
 * pref 9000` matches on the priority alone. */
static void test_rule(void **state)
{
	const struct nlattr *tb[MAX_ATTR];
	struct nl_rule add = {
	    .priority = 9000, .fwmark = 0x200, .fwmask = 0xf00, .table = 2004};
	struct nl_rule del = {.priority = 9000};
	union nl_buf req;
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;

	(void)state;
	nlh = nl_msg__rule(req.buf, sizeof(req), RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL,
			   &add);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWRULE);
	frh = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(frh->family, AF_INET);
	assert_int_equal(frh->action, FR_ACT_TO_TBL);
	assert_int_equal(frh->table, RT_TABLE_UNSPEC);
	attrs(nlh, sizeof(*frh), tb);
	assert_int_equal(mnl_attr_get_u32(tb[FRA_PRIORITY]), 9000);
	assert_int_equal(mnl_attr_get_u32(tb[FRA_FWMARK]), 0x200);
	assert_int_equal(mnl_attr_get_u32(tb[FRA_FWMASK]), 0xf00);
	assert_int_equal(mnl_attr_get_u32(tb[FRA_TABLE]), 2004);

	nlh = nl_msg__rule(req.buf, sizeof(req), RTM_DELRULE, 0, &del);
	assert_int_equal(nlh->nlmsg_type, RTM_DELRULE);
	frh = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(frh->action, 0);
	assert_int_equal(frh->table, 0);
	attrs(nlh, sizeof(*frh), tb);
	assert_int_equal(mnl_attr_get_u32(tb[FRA_PRIORITY]), 9000);
	assert_null(tb[FRA_FWMARK]);
	assert_null(tb[FRA_TABLE]);
}

/* An NLMSG_ERROR answering @seq with @error; @echo bytes of the request
 * copied (not capped) when nonzero; the kernel's @msg when given. */
static struct nlmsghdr *put_ack(char *buf, uint32_t seq, int error, size_t echo,
				const char *msg)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_type = RTM_NEWROUTE;
	e->msg.nlmsg_seq = seq;
	if (echo) {
		e->msg.nlmsg_len = (uint32_t)(sizeof(struct nlmsghdr) + echo);
		/* The rest of the request, as the kernel echoes it. */
		memset(mnl_nlmsg_put_extra_header(nlh, echo), 0xab, echo);
	} else {
		e->msg.nlmsg_len = sizeof(struct nlmsghdr);
		nlh->nlmsg_flags |= NLM_F_CAPPED;
	}
	if (msg) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 20);
	}
	return nlh;
}

static void test_scan_acks(void **state)
{
	char buf[1024] __attribute__((aligned(4)));
	struct nl_ack ack;
	struct nlmsghdr *nlh;

	(void)state;
	/* Success. */
	nlh = put_ack(buf, 42, 0, 0, NULL);
	assert_int_equal(nl_reply__scan(buf, nlh->nlmsg_len, 42, NULL, NULL, &ack), 1);
	assert_int_equal(ack.error, 0);
	assert_string_equal(ack.msg, "");

	/* The kernel's error and its message (capped ack). */
	nlh = put_ack(buf, 42, -EINVAL, 0, "Nexthop device is not up");
	assert_int_equal(nl_reply__scan(buf, nlh->nlmsg_len, 42, NULL, NULL, &ack), 1);
	assert_int_equal(ack.error, EINVAL);
	assert_string_equal(ack.msg, "Nexthop device is not up");

	/* Not capped: the echoed request (not a multiple of 4) comes first. */
	nlh = put_ack(buf, 42, -EEXIST, 22, "File exists here");
	assert_int_equal(nl_reply__scan(buf, nlh->nlmsg_len, 42, NULL, NULL, &ack), 1);
	assert_int_equal(ack.error, EEXIST);
	assert_string_equal(ack.msg, "File exists here");

	/* An error without an extended ack. */
	nlh = put_ack(buf, 42, -ENODEV, 40, NULL);
	assert_int_equal(nl_reply__scan(buf, nlh->nlmsg_len, 42, NULL, NULL, &ack), 1);
	assert_int_equal(ack.error, ENODEV);
	assert_string_equal(ack.msg, "");
}

/* A message too long for the buffer is cut to what fits, terminated. */
static void test_scan_long_message(void **state)
{
	char buf[2048] __attribute__((aligned(4))), msg[600];
	struct nl_ack ack;
	struct nlmsghdr *nlh;

	(void)state;
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	nlh = put_ack(buf, 1, -EINVAL, 0, msg);
	assert_int_equal(nl_reply__scan(buf, nlh->nlmsg_len, 1, NULL, NULL, &ack), 1);
	assert_int_equal(strlen(ack.msg), sizeof(ack.msg) - 1);
}

static int count_data(const struct nlmsghdr *nlh, void *data)
{
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	(*(int *)data)++;
	return 0;
}

static int refuse_data(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return -ENOMEM;
}

/* Answers to an earlier request are skipped; data of this one goes to the
 * callback; the dump ends at NLMSG_DONE, with its error if any. */
static void test_scan_dump_and_stale(void **state)
{
	char buf[2048] __attribute__((aligned(4)));
	struct nl_ack ack;
	struct nlmsghdr *nlh;
	size_t len = 0;
	int count = 0;

	(void)state;
	/* An ack of request 6 (it timed out), then two routes and DONE of 7. */
	nlh = put_ack(buf, 6, -EEXIST, 0, "stale");
	len += nlh->nlmsg_len;
	for (int i = 0; i < 2; i++) {
		nlh = mnl_nlmsg_put_header(buf + len);
		nlh->nlmsg_type = RTM_NEWROUTE;
		nlh->nlmsg_flags = NLM_F_MULTI;
		nlh->nlmsg_seq = 7;
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
		len += nlh->nlmsg_len;
	}
	/* Without DONE, more is to come. */
	assert_int_equal(nl_reply__scan(buf, len, 7, count_data, &count, &ack), 0);
	assert_int_equal(count, 2);
	nlh = mnl_nlmsg_put_header(buf + len);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = 7;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = 0;
	len += nlh->nlmsg_len;
	count = 0;
	assert_int_equal(nl_reply__scan(buf, len, 7, count_data, &count, &ack), 1);
	assert_int_equal(count, 2);
	assert_int_equal(ack.error, 0);
	assert_string_equal(ack.msg, "");

	/* A callback's error stops the scan. */
	assert_int_equal(nl_reply__scan(buf, len, 7, refuse_data, NULL, &ack), -ENOMEM);

	/* A dump that failed: DONE carries the error. */
	*(int *)mnl_nlmsg_get_payload(nlh) = -EBUSY;
	assert_int_equal(nl_reply__scan(buf, len, 7, NULL, NULL, &ack), 1);
	assert_int_equal(ack.error, EBUSY);
}

static void test_scan_truncated(void **state)
{
	char buf[1024] __attribute__((aligned(4)));
	struct nl_ack ack;
	struct nlmsghdr *nlh;

	(void)state;
	nlh = put_ack(buf, 3, -EINVAL, 0, "cut");
	/* A header that claims more than was read. */
	assert_int_equal(nl_reply__scan(buf, nlh->nlmsg_len - 4, 3, NULL, NULL, &ack),
			 -EBADMSG);
	/* An NLMSG_ERROR too short to hold its nlmsgerr. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = 3;
	mnl_nlmsg_put_extra_header(nlh, 4);
	assert_int_equal(nl_reply__scan(buf, nlh->nlmsg_len, 3, NULL, NULL, &ack),
			 -EBADMSG);
	/* Nothing at all: more is to come. */
	assert_int_equal(nl_reply__scan(buf, 0, 3, NULL, NULL, &ack), 0);
}

static void test_link_parse(void **state)
{
	char buf[256] __attribute__((aligned(4)));
	const unsigned char mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct nl_link link = {0};

	(void)state;
	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = 9;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
	assert_int_equal(nl_link__parse(nlh, &link), 0);
	assert_int_equal(link.ifindex, 9);
	assert_true(link.has_mac);
	assert_memory_equal(link.mac, mac, 6);

	/* Not a link: ignored. */
	memset(&link, 0, sizeof(link));
	nlh->nlmsg_type = RTM_NEWROUTE;
	assert_int_equal(nl_link__parse(nlh, &link), 0);
	assert_int_equal(link.ifindex, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_veth),
	    cmocka_unit_test(test_too_small),
	    cmocka_unit_test(test_link_up_del_get),
	    cmocka_unit_test(test_addr),
	    cmocka_unit_test(test_route),
	    cmocka_unit_test(test_rule),
	    cmocka_unit_test(test_scan_acks),
	    cmocka_unit_test(test_scan_long_message),
	    cmocka_unit_test(test_scan_dump_and_stale),
	    cmocka_unit_test(test_scan_truncated),
	    cmocka_unit_test(test_link_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
