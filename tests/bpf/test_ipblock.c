// SPDX-License-Identifier: Apache-2.0
/*
 * BPF_PROG_RUN tests of the pod-CIDR lookup (bpf/lib/policy.h): CIDR rules
 * that select pods (Kubernetes NetworkPolicy ipBlock) match a pod by its
 * address, through the warden_pod_cidr map and a third policy lookup.
 *
 * The scene: the endpoint under test (10.0.1.7) and two pods of ONE
 * identity, 10.0.2.5 and 10.0.2.7. An ipBlock 10.0.2.0/24 except
 * 10.0.2.7/32 must tell them apart, which no identity-based entry can.
 *
 * Runs as root (loads BPF programs); the programs see skb->ifindex 1 (lo),
 * registered as the endpoint. Every test starts from empty maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>

#include "warden.skel.h"
#include "warden/abi/maps.h"

#define TEST_IFINDEX 1 /* lo */

#define EP_ID 7
#define EP_IDENTITY 1001
#define EP_IP "10.0.1.7"
#define POD_A "10.0.2.5" /* inside the block */
#define POD_B "10.0.2.7" /* the except: same identity as POD_A */
#define POD_IDENTITY 2002
#define POD_A_VETH 21 /* host-side veths of the two pods, when local */
#define POD_B_VETH 22
#define OTHER_POD "10.0.9.9" /* another endpoint, in 10.0.0.0/8 only */
#define OTHER_IDENTITY 3003
#define WORLD_IP "10.0.9.10" /* not in the ipcache: world */
#define HOST_IP "10.0.9.1"

/* Pod-CIDR identities (node-local range), one per prefix. */
#define PODS_BLOCK (WARDEN_IDENTITY_LOCAL_MIN + 100)  /* 10.0.2.0/24 */
#define PODS_EXCEPT (WARDEN_IDENTITY_LOCAL_MIN + 101) /* 10.0.2.7/32 */
#define PODS_WIDE (WARDEN_IDENTITY_LOCAL_MIN + 102)   /* 10.0.0.0/8 */
#define PODS_NEW (WARDEN_IDENTITY_LOCAL_MIN + 103)    /* 10.0.2.5/32, added later */

#define COOKIE_IPBLOCK 0x50001
#define COOKIE_DENY 0x60002
#define COOKIE_AUDIT 0x70003

#define TCP_SYN 0x02
#define TCP_ACK 0x10

#define POD_CIDR_BOTH (WARDEN_EP_POD_CIDR_INGRESS | WARDEN_EP_POD_CIDR_EGRESS)

static struct warden_bpf *skel;
static struct ring_buffer *events_rb;

#define EVENTS_KEEP 8
static struct warden_event events[EVENTS_KEEP];
static int events_seen;

/* ---- packets and runs --------------------------------------------------- */

struct packet {
	uint8_t data[128];
	size_t len;
};

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* Ethernet + IPv4 + TCP, no payload. */
static struct packet tcp_packet(const char *saddr, uint16_t sport, const char *daddr,
				uint16_t dport, uint8_t flags)
{
	struct packet p = {0};
	struct ethhdr eth = {.h_proto = htons(ETH_P_IP)};
	struct iphdr ip = {0};
	struct tcphdr tcp = {.source = htons(sport), .dest = htons(dport)};

	memcpy(p.data, &eth, sizeof(eth));
	ip.version = 4;
	ip.ihl = 5;
	ip.ttl = 64;
	ip.protocol = IPPROTO_TCP;
	ip.tot_len = htons(sizeof(ip) + sizeof(tcp));
	ip.saddr = ip4(saddr);
	ip.daddr = ip4(daddr);
	memcpy(p.data + sizeof(eth), &ip, sizeof(ip));
	tcp.doff = 5;
	memcpy(p.data + sizeof(eth) + sizeof(ip), &tcp, sizeof(tcp));
	p.data[sizeof(eth) + sizeof(ip) + 13] = flags;
	p.len = sizeof(eth) + sizeof(ip) + sizeof(tcp);
	return p;
}

struct run_result {
	int retval;
	uint32_t mark;
	uint32_t duration_ns; /* average per repetition */
};

/*
 * The host device a packet from saddr entered on: the veth of the local
 * endpoint that owns the address (pods_register()), 0 for anything else
 * (made on this host). The datapath drops a packet that claims a local
 * endpoint's address but did not come through its veth.
 */
static uint32_t pods_registered;

static uint32_t source_ifindex(const struct packet *p)
{
	uint32_t saddr;

	memcpy(&saddr, p->data + sizeof(struct ethhdr) + offsetof(struct iphdr, saddr),
	       sizeof(saddr));
	if (!pods_registered)
		return 0;
	if (saddr == ip4(POD_A))
		return POD_A_VETH;
	if (saddr == ip4(POD_B))
		return POD_B_VETH;
	return 0;
}

static struct run_result run(struct bpf_program *prog, const struct packet *p, int repeat)
{
	struct __sk_buff ctx = {.ifindex = TEST_IFINDEX,
				.ingress_ifindex = source_ifindex(p)},
			 ctx_out = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = repeat);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
	return (struct run_result){(int)opts.retval, ctx_out.mark, opts.duration};
}

/* The endpoint sends (warden_from_container) / receives (warden_to_container). */
static int egress(const char *daddr, uint16_t dport, uint8_t flags)
{
	struct packet p = tcp_packet(EP_IP, 40000, daddr, dport, flags);

	return run(skel->progs.warden_from_container, &p, 1).retval;
}

static int ingress(const char *saddr, uint16_t dport, uint8_t flags)
{
	struct packet p = tcp_packet(saddr, 40000, EP_IP, dport, flags);

	return run(skel->progs.warden_to_container, &p, 1).retval;
}

/* ---- maps ---------------------------------------------------------------- */

static void map_clear(struct bpf_map *map)
{
	uint8_t key[64];
	int fd = bpf_map__fd(map);

	assert_true(bpf_map__key_size(map) <= sizeof(key));
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
}

static void endpoint_set(uint32_t flags, uint32_t revision)
{
	struct warden_endpoint_key key = {.ifindex = TEST_IFINDEX};
	struct warden_endpoint_info info = {
	    .endpoint_id = EP_ID,
	    .identity = EP_IDENTITY,
	    .flags = flags,
	    .policy_revision = revision,
	};
	uint32_t addr = ip4(EP_IP);

	memcpy(info.ipv4, &addr, sizeof(addr));
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_endpoints, &key,
					      sizeof(key), &info, sizeof(info), BPF_ANY),
			 0);
}

/* POD_A and POD_B as local endpoints behind their own veths. */
static void pods_register(void)
{
	const char *addrs[] = {POD_A, POD_B};
	const uint32_t veths[] = {POD_A_VETH, POD_B_VETH};

	for (int i = 0; i < 2; i++) {
		struct warden_endpoint_addr_key key = {.family = WARDEN_FAMILY_IPV4};
		struct warden_endpoint_info info = {
		    .endpoint_id = 20 + i,
		    .identity = POD_IDENTITY,
		    .policy_revision = 1,
		    .host_ifindex = veths[i],
		};
		uint32_t a = ip4(addrs[i]);

		memcpy(info.ipv4, &a, 4);
		memcpy(key.addr, &a, 4);
		assert_int_equal(bpf_map__update_elem(skel->maps.warden_local_endpoints,
						      &key, sizeof(key), &info,
						      sizeof(info), BPF_ANY),
				 0);
	}
	pods_registered = 1;
}

/* An LPM entry of the ipcache or the pod-CIDR map (same key and value). */
static void prefix_set(struct bpf_map *map, const char *addr, uint32_t len,
		       uint32_t identity)
{
	struct warden_ipcache_key key = {
	    .prefixlen = WARDEN_IPCACHE_PREFIX_BASE + len,
	    .family = WARDEN_FAMILY_IPV4,
	};
	struct warden_ipcache_value value = {.identity = identity};
	uint32_t a = ip4(addr);

	memcpy(key.addr, &a, sizeof(a));
	assert_int_equal(
	    bpf_map__update_elem(map, &key, sizeof(key), &value, sizeof(value), BPF_ANY),
	    0);
}

static void ipcache_set(const char *addr, uint32_t len, uint32_t identity)
{
	prefix_set(skel->maps.warden_ipcache, addr, len, identity);
}

static void pod_cidr_set(const char *addr, uint32_t len, uint32_t identity)
{
	prefix_set(skel->maps.warden_pod_cidr, addr, len, identity);
}

/* One entry for (identity, direction, TCP port). */
static void policy_set(uint32_t identity, uint8_t direction, uint16_t port,
		       const struct warden_policy_value *value)
{
	struct warden_policy_key key = {
	    .prefixlen = WARDEN_POLICY_PREFIX_FULL,
	    .endpoint_id = EP_ID,
	    .identity = identity,
	    .direction = direction,
	    .protocol = IPPROTO_TCP,
	    .dport = htons(port),
	};

	assert_int_equal(bpf_map__update_elem(skel->maps.warden_policy, &key, sizeof(key),
					      value, sizeof(*value), BPF_ANY),
			 0);
}

static void allow(uint32_t identity, uint8_t direction, uint16_t port, uint32_t cookie)
{
	struct warden_policy_value v = {.flags = WARDEN_POLICY_ALLOW,
					.rule_cookie = cookie};

	policy_set(identity, direction, port, &v);
}

static void deny(uint32_t identity, uint8_t direction, uint16_t port, uint32_t cookie)
{
	struct warden_policy_value v = {.flags = WARDEN_POLICY_DENY,
					.rule_cookie = cookie};

	policy_set(identity, direction, port, &v);
}

/* ---- events --------------------------------------------------------------- */

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	assert_int_equal(size, sizeof(struct warden_event));
	if (events_seen < EVENTS_KEEP)
		memcpy(&events[events_seen], data, sizeof(struct warden_event));
	events_seen++;
	return 0;
}

static int events_consume(void)
{
	events_seen = 0;
	assert_true(ring_buffer__consume(events_rb) >= 0);
	return events_seen;
}

/* Exactly one event since the last look, of this type, reason and cookie. */
static void assert_one_event(uint8_t type, uint8_t reason, uint32_t cookie)
{
	assert_int_equal(events_consume(), 1);
	assert_int_equal(events[0].type, type);
	assert_int_equal(events[0].reason, reason);
	assert_int_equal(events[0].rule_cookie, cookie);
}

/* ---- fixtures --------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_ipblock: must run as root (loads BPF programs)\n");
		return -1;
	}
	skel = warden_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "test_ipblock: loading warden_bpf failed: %s\n",
			strerror(errno));
		return -1;
	}
	events_rb =
	    ring_buffer__new(bpf_map__fd(skel->maps.warden_events), on_event, NULL, NULL);
	if (!events_rb) {
		warden_bpf__destroy(skel);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ring_buffer__free(events_rb);
	warden_bpf__destroy(skel);
	return 0;
}

/*
 * Empty maps; the two pods of one identity in the ipcache (a /32 each, as
 * the agent writes endpoints), and the ipBlock 10.0.2.0/24 except
 * 10.0.2.7/32 in the pod-CIDR map. The endpoint is set by each test.
 */
static int test_setup(void **state)
{
	(void)state;
	map_clear(skel->maps.warden_endpoints);
	map_clear(skel->maps.warden_ipcache);
	map_clear(skel->maps.warden_pod_cidr);
	map_clear(skel->maps.warden_policy);
	map_clear(skel->maps.warden_ct);
	map_clear(skel->maps.warden_metrics);
	map_clear(skel->maps.warden_local_endpoints);
	pods_registered = 0;
	events_consume();

	ipcache_set(EP_IP, 32, EP_IDENTITY);
	ipcache_set(POD_A, 32, POD_IDENTITY);
	ipcache_set(POD_B, 32, POD_IDENTITY);
	pod_cidr_set("10.0.2.0", 24, PODS_BLOCK);
	pod_cidr_set(POD_B, 32, PODS_EXCEPT);
	return 0;
}

/* ---- tests ---------------------------------------------------------------- */

/* The except carves out one of two pods that share an identity. */
static void test_except_tells_pods_of_one_identity_apart(void **state)
{
	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 1);
	allow(PODS_BLOCK, WARDEN_DIR_EGRESS, 80, COOKIE_IPBLOCK);

	assert_int_equal(egress(POD_A, 80, TCP_SYN), TC_ACT_OK);
	/* The event names the ipBlock rule and the pod's own identity. */
	assert_one_event(WARDEN_EVENT_POLICY_VERDICT, 0, COOKIE_IPBLOCK);
	assert_int_equal(events[0].dst_identity, POD_IDENTITY);

	assert_int_equal(egress(POD_B, 80, TCP_SYN), TC_ACT_SHOT);
	assert_one_event(WARDEN_EVENT_DROP, WARDEN_DROP_POLICY, 0);
	/* Another port of the allowed pod: not in the rule. */
	assert_int_equal(egress(POD_A, 81, TCP_SYN), TC_ACT_SHOT);
	assert_one_event(WARDEN_EVENT_DROP, WARDEN_DROP_POLICY, 0);
}

/* The same on ingress: the peer is the source address. */
static void test_ingress_ipblock(void **state)
{
	(void)state;
	pods_register();
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_POD_CIDR_INGRESS, 1);
	allow(PODS_BLOCK, WARDEN_DIR_INGRESS, 80, COOKIE_IPBLOCK);

	assert_int_equal(ingress(POD_A, 80, TCP_SYN), TC_ACT_OK);
	assert_one_event(WARDEN_EVENT_POLICY_VERDICT, 0, COOKIE_IPBLOCK);
	assert_int_equal(ingress(POD_B, 80, TCP_SYN), TC_ACT_SHOT);
	assert_one_event(WARDEN_EVENT_DROP, WARDEN_DROP_POLICY, 0);
}

/*
 * Without WARDEN_EP_POD_CIDR_<dir> the pod-CIDR map is not read (the
 * endpoint has no such rule in that direction): the same entry does
 * nothing. The flag of the other direction does not count either.
 */
static void test_lookup_needs_the_direction_flag(void **state)
{
	(void)state;
	allow(PODS_BLOCK, WARDEN_DIR_EGRESS, 80, COOKIE_IPBLOCK);
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS, 1);
	assert_int_equal(egress(POD_A, 80, TCP_SYN), TC_ACT_SHOT);
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_INGRESS, 1);
	assert_int_equal(egress(POD_A, 80, TCP_SYN), TC_ACT_SHOT);
	/* The control: with the flag, the same packet passes. */
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 1);
	assert_int_equal(egress(POD_A, 80, TCP_SYN), TC_ACT_OK);
}

/*
 * Only an endpoint peer is looked up by address: a world address has its
 * CIDR identity already, and a reserved identity (the host) keeps its own
 * rules. Both fall in a pod-CIDR prefix here that allows everything.
 */
static void test_only_endpoint_peers_use_pod_cidr(void **state)
{
	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 1);
	pod_cidr_set("10.0.0.0", 8, PODS_WIDE);
	allow(PODS_WIDE, WARDEN_DIR_EGRESS, 80, COOKIE_IPBLOCK);
	ipcache_set(HOST_IP, 32, WARDEN_IDENTITY_HOST);

	assert_int_equal(egress(WORLD_IP, 80, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(egress(HOST_IP, 80, TCP_SYN), TC_ACT_SHOT);
	/* The control: an endpoint in the same prefix is allowed. */
	ipcache_set(OTHER_POD, 32, OTHER_IDENTITY);
	assert_int_equal(egress(OTHER_POD, 80, TCP_SYN), TC_ACT_OK);
}

/* A deny from any of the three lookups wins over an allow from another. */
static void test_deny_wins_across_lookups(void **state)
{
	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 1);

	/* The pod's identity denied, its block allowed. */
	allow(PODS_BLOCK, WARDEN_DIR_EGRESS, 80, COOKIE_IPBLOCK);
	deny(POD_IDENTITY, WARDEN_DIR_EGRESS, 80, COOKIE_DENY);
	assert_int_equal(egress(POD_A, 80, TCP_SYN), TC_ACT_SHOT);
	assert_one_event(WARDEN_EVENT_DROP, WARDEN_DROP_POLICY_DENY, COOKIE_DENY);

	/* Its block denied (a CIDR deny that selects pods), identity allowed. */
	deny(PODS_BLOCK, WARDEN_DIR_EGRESS, 81, COOKIE_DENY + 1);
	allow(POD_IDENTITY, WARDEN_DIR_EGRESS, 81, COOKIE_IPBLOCK + 1);
	assert_int_equal(egress(POD_A, 81, TCP_SYN), TC_ACT_SHOT);
	assert_one_event(WARDEN_EVENT_DROP, WARDEN_DROP_POLICY_DENY, COOKIE_DENY + 1);
	/* The control: the pod in the except is not in that deny. */
	assert_int_equal(egress(POD_B, 81, TCP_SYN), TC_ACT_OK);
	events_consume();

	/* Any peer denied, the block allowed. */
	allow(PODS_BLOCK, WARDEN_DIR_EGRESS, 82, COOKIE_IPBLOCK + 2);
	deny(0, WARDEN_DIR_EGRESS, 82, COOKIE_DENY + 2);
	assert_int_equal(egress(POD_A, 82, TCP_SYN), TC_ACT_SHOT);
	assert_one_event(WARDEN_EVENT_DROP, WARDEN_DROP_POLICY_DENY, COOKIE_DENY + 2);
}

/*
 * Established flows are re-checked with the same decision when the
 * revision moves: still inside the block, the flow goes on (both ways);
 * once an except covers the pod, it is cut.
 */
static void test_recheck_uses_pod_cidr(void **state)
{
	(void)state;
	pods_register();
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 1);
	allow(PODS_BLOCK, WARDEN_DIR_EGRESS, 80, COOKIE_IPBLOCK);
	assert_int_equal(egress(POD_A, 80, TCP_SYN), TC_ACT_OK);

	/* A new revision, the same policy: the reply and the flow pass. */
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 2);
	{
		struct packet reply =
		    tcp_packet(POD_A, 80, EP_IP, 40000, TCP_SYN | TCP_ACK);

		assert_int_equal(run(skel->progs.warden_to_container, &reply, 1).retval,
				 TC_ACT_OK);
	}
	assert_int_equal(egress(POD_A, 80, TCP_ACK), TC_ACT_OK);
	events_consume();

	/* The pod's address now falls in an except, at revision 3. */
	pod_cidr_set(POD_A, 32, PODS_NEW);
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 3);
	assert_int_equal(egress(POD_A, 80, TCP_ACK), TC_ACT_SHOT);
	assert_one_event(WARDEN_EVENT_DROP, WARDEN_DROP_POLICY_REVOKED, 0);
}

/* An allow of the block that names the proxy is lifted by a plain allow of
 * the pod's identity, and the other way round (L4-only lifts L7). */
static void test_plain_allow_lifts_proxy_across_lookups(void **state)
{
	struct warden_policy_value l7 = {.flags = WARDEN_POLICY_ALLOW,
					 .proxy_port = htons(15001),
					 .rule_cookie = COOKIE_IPBLOCK};
	struct packet p;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 1);
	policy_set(POD_IDENTITY, WARDEN_DIR_EGRESS, 80, &l7);
	p = tcp_packet(EP_IP, 40001, POD_A, 80, TCP_SYN);
	/* The control: alone, the L7 allow redirects. */
	assert_int_equal(run(skel->progs.warden_from_container, &p, 1).mark &
			     WARDEN_MARK_MASK,
			 WARDEN_MARK_TO_PROXY);
	allow(PODS_BLOCK, WARDEN_DIR_EGRESS, 80, COOKIE_IPBLOCK + 1);
	p = tcp_packet(EP_IP, 40002, POD_A, 80, TCP_SYN);
	assert_int_equal(
	    run(skel->progs.warden_from_container, &p, 1).mark & WARDEN_MARK_MASK, 0);
}

/* Audit-mode policies: the audit half of the pod-CIDR entry is read too. */
static void test_audit_half_of_pod_cidr_entry(void **state)
{
	struct warden_policy_value v = {.flags = WARDEN_POLICY_ALLOW,
					.rule_cookie = COOKIE_IPBLOCK,
					.audit_flags = WARDEN_POLICY_DENY,
					.audit_cookie = COOKIE_AUDIT};

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS |
			 WARDEN_EP_AUDIT_POLICIES,
		     1);
	policy_set(PODS_BLOCK, WARDEN_DIR_EGRESS, 80, &v);
	assert_int_equal(egress(POD_A, 80, TCP_SYN), TC_ACT_OK);
	assert_one_event(WARDEN_EVENT_AUDIT, WARDEN_DROP_POLICY_DENY, COOKIE_AUDIT);
}

/* An entry for every port of TCP (prefix: protocol only). */
static void allow_tcp(uint32_t identity, uint8_t direction)
{
	struct warden_policy_key key = {
	    .prefixlen = WARDEN_POLICY_PREFIX_ANY_PORT,
	    .endpoint_id = EP_ID,
	    .identity = identity,
	    .direction = direction,
	    .protocol = IPPROTO_TCP,
	};
	struct warden_policy_value v = {.flags = WARDEN_POLICY_ALLOW};

	assert_int_equal(bpf_map__update_elem(skel->maps.warden_policy, &key, sizeof(key),
					      &v, sizeof(v), BPF_ANY),
			 0);
}

/* The fastest of `rounds` runs of `repeat` repetitions, ns per packet. */
static struct run_result run_best(const struct packet *p, int rounds, int repeat)
{
	struct run_result best = {0}, r;

	for (int i = 0; i < rounds; i++) {
		r = run(skel->progs.warden_from_container, p, repeat);
		if (!i || r.duration_ns < best.duration_ns)
			best = r;
	}
	return best;
}

/*
 * What the lookup costs: a packet that policy judges every time and that
 * creates nothing (a non-first fragment: no CT entry, no event when
 * allowed), at an endpoint without ipBlock rules (allowed by the pod's
 * identity: two policy lookups) and with (allowed by the block: the
 * pod-CIDR lookup and a third policy lookup); and an established flow for
 * scale. The verdicts are asserted; the times are printed, not asserted
 * (timing on a shared machine is not a pass/fail property).
 */
static void test_cost_of_the_lookup(void **state)
{
	struct packet frag = tcp_packet(EP_IP, 40003, POD_A, 80, 0);
	struct packet ack = tcp_packet(EP_IP, 40004, POD_A, 80, TCP_ACK);
	struct run_result without, with, established;

	(void)state;
	/* Fragment offset 8 bytes, no more fragments: a non-first fragment. */
	frag.data[sizeof(struct ethhdr) + 6] = 0;
	frag.data[sizeof(struct ethhdr) + 7] = 1;

	endpoint_set(WARDEN_EP_ENFORCE_EGRESS, 1);
	allow_tcp(POD_IDENTITY, WARDEN_DIR_EGRESS);
	without = run_best(&frag, 20, 10000);
	map_clear(skel->maps.warden_policy);
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_POD_CIDR_EGRESS, 1);
	allow_tcp(PODS_BLOCK, WARDEN_DIR_EGRESS);
	with = run_best(&frag, 20, 10000);
	assert_int_equal(without.retval, TC_ACT_OK);
	assert_int_equal(with.retval, TC_ACT_OK);
	/* The control: with no entry at all the fragment is dropped. */
	map_clear(skel->maps.warden_policy);
	assert_int_equal(run(skel->progs.warden_from_container, &frag, 1).retval,
			 TC_ACT_SHOT);

	allow_tcp(PODS_BLOCK, WARDEN_DIR_EGRESS);
	assert_int_equal(run(skel->progs.warden_from_container, &ack, 1).retval,
			 TC_ACT_OK); /* a midstream ACK: new, then tracked */
	established = run_best(&ack, 20, 10000);
	assert_int_equal(established.retval, TC_ACT_OK);
	printf("policy decision per packet: no ipBlock rules %u ns, with ipBlock "
	       "rules (pod-CIDR LPM + 3rd policy lookup) %u ns, established flow "
	       "%u ns\n",
	       without.duration_ns, with.duration_ns, established.duration_ns);
	events_consume();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_except_tells_pods_of_one_identity_apart,
				   test_setup),
	    cmocka_unit_test_setup(test_ingress_ipblock, test_setup),
	    cmocka_unit_test_setup(test_lookup_needs_the_direction_flag, test_setup),
	    cmocka_unit_test_setup(test_only_endpoint_peers_use_pod_cidr, test_setup),
	    cmocka_unit_test_setup(test_deny_wins_across_lookups, test_setup),
	    cmocka_unit_test_setup(test_recheck_uses_pod_cidr, test_setup),
	    cmocka_unit_test_setup(test_plain_allow_lifts_proxy_across_lookups,
				   test_setup),
	    cmocka_unit_test_setup(test_audit_half_of_pod_cidr_entry, test_setup),
	    cmocka_unit_test_setup(test_cost_of_the_lookup, test_setup),
	};

	return cmocka_run_group_tests_name("bpf/ipblock", tests, group_setup,
					   group_teardown);
}
