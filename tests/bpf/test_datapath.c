// SPDX-License-Identifier: Apache-2.0
/*
 * BPF_PROG_RUN tests of the datapath (bpf/warden.bpf.c): real Ethernet +
 * IPv4 + TCP/UDP/ICMP frames go through warden_from_container (the pod's
 * egress) and warden_to_container (the pod's ingress); we check the return
 * code and the side effects in the maps and the ring buffer.
 *
 * Runs as root (loading BPF programs). The programs see skb->ifindex 1, the
 * loopback device every netns has, which each test registers as endpoint.
 * The skeleton is loaded once; every test starts from empty maps.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "warden.skel.h"
#include "warden/abi/maps.h"

#define TEST_IFINDEX 1 /* lo */

#define EP_ID 7
#define EP_IDENTITY 1001
#define EP_IP "10.0.1.7"
#define PEER_IP "10.0.2.5" /* in 10.0.2.0/24 -> PEER_IDENTITY */
/* A CIDR identity: a peer group of many addresses, none a local endpoint
 * (an endpoint identity must come from its own veth, lib/source.h). */
#define PEER_IDENTITY (WARDEN_IDENTITY_LOCAL_MIN + 2002)
#define OTHER_IP "10.0.3.9" /* not in the ipcache: world */
#define WORLD_IP "8.8.8.8"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_REDIRECT 5
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_TIMESTAMP 13
/* Destination unreachable codes. */
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4

#define NSEC 1000000000ull

static struct warden_bpf *skel;
static struct ring_buffer *events_rb;
static int nr_cpus;

/* Events seen by the last events_consume(). */
#define EVENTS_KEEP 16
static struct warden_event events[EVENTS_KEEP];
static int events_seen;

/* ---- packets ---------------------------------------------------------- */

struct flow {
	uint8_t protocol;
	const char *saddr;
	const char *daddr;
	uint16_t sport, dport; /* host order */
	uint8_t tcp_flags;
	uint8_t icmp_type;
	uint16_t icmp_id;      /* host order */
	uint16_t frag_off;     /* host order, flags and offset as on the wire */
	uint8_t ihl;	       /* 0 means 5 */
	uint32_t seq, ack_seq; /* TCP, host order */
	uint16_t payload;      /* bytes of payload after the L4 header */
};

struct packet {
	uint8_t data[256];
	size_t len;
};

struct test_icmphdr {
	uint8_t type;
	uint8_t code;
	uint16_t checksum;
	uint16_t id;
	uint16_t sequence;
};

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void put_eth(struct packet *p, uint16_t proto)
{
	struct ethhdr eth = {
	    .h_dest = {0x02, 0, 0, 0, 0, 0x01},
	    .h_source = {0x02, 0, 0, 0, 0, 0x02},
	    .h_proto = htons(proto),
	};

	memcpy(p->data, &eth, sizeof(eth));
	p->len = sizeof(eth);
}

/* Ethernet + IPv4 (+ NOP options up to ihl) + the L4 header of f. */
static struct packet build(const struct flow *f)
{
	struct packet p = {0};
	struct iphdr ip = {0};
	uint8_t ihl = f->ihl ? f->ihl : 5;
	size_t l4_len = 0;
	uint8_t *l4;

	put_eth(&p, ETH_P_IP);
	l4 = p.data + p.len + ihl * 4;
	switch (f->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr tcp = {.source = htons(f->sport), .dest = htons(f->dport)};

		tcp.doff = 5;
		tcp.seq = htonl(f->seq);
		tcp.ack_seq = htonl(f->ack_seq);
		memcpy(l4, &tcp, sizeof(tcp));
		l4[13] = f->tcp_flags;
		l4_len = sizeof(tcp);
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr udp = {
		    .source = htons(f->sport),
		    .dest = htons(f->dport),
		    .len = htons(sizeof(udp)),
		};

		memcpy(l4, &udp, sizeof(udp));
		l4_len = sizeof(udp);
		break;
	}
	case IPPROTO_ICMP: {
		struct test_icmphdr icmp = {.type = f->icmp_type,
					    .id = htons(f->icmp_id)};

		memcpy(l4, &icmp, sizeof(icmp));
		l4_len = sizeof(icmp);
		break;
	}
	case IPPROTO_SCTP: {
		/* The SCTP common header: ports, verification tag, checksum. */
		uint16_t ports[2] = {htons(f->sport), htons(f->dport)};

		memset(l4, 0, 12);
		memcpy(l4, ports, sizeof(ports));
		l4_len = 12;
		break;
	}
	default:
		/* Some payload of a protocol we do not parse (GRE, ...). */
		memset(l4, 0, 4);
		l4_len = 4;
		break;
	}
	/* A non-first fragment carries payload, not an L4 header. */
	if (f->frag_off & 0x1fff)
		memset(l4, 0xab, l4_len);
	assert_true(p.len + ihl * 4 + l4_len + f->payload <= sizeof(p.data));
	for (size_t i = 0; i < f->payload; i++)
		l4[l4_len + i] = (uint8_t)(0xc0 + i);
	l4_len += f->payload;
	if (f->protocol == IPPROTO_UDP)
		((struct udphdr *)l4)->len = htons(l4_len);

	ip.version = 4;
	ip.ihl = ihl;
	ip.ttl = 64;
	ip.protocol = f->protocol;
	ip.tot_len = htons(ihl * 4 + l4_len);
	ip.frag_off = htons(f->frag_off);
	ip.saddr = ip4(f->saddr);
	ip.daddr = ip4(f->daddr);
	memcpy(p.data + p.len, &ip, sizeof(ip));
	memset(p.data + p.len + sizeof(ip), 1 /* IPOPT_NOOP */, ihl * 4 - sizeof(ip));
	p.len += ihl * 4 + l4_len;
	return p;
}

static struct flow tcp_flow(const char *saddr, uint16_t sport, const char *daddr,
			    uint16_t dport, uint8_t flags)
{
	return (struct flow){.protocol = IPPROTO_TCP,
			     .saddr = saddr,
			     .daddr = daddr,
			     .sport = sport,
			     .dport = dport,
			     .tcp_flags = flags};
}

static struct flow udp_flow(const char *saddr, uint16_t sport, const char *daddr,
			    uint16_t dport)
{
	return (struct flow){.protocol = IPPROTO_UDP,
			     .saddr = saddr,
			     .daddr = daddr,
			     .sport = sport,
			     .dport = dport};
}

static struct flow icmp_flow(const char *saddr, const char *daddr, uint8_t type,
			     uint16_t id)
{
	return (struct flow){.protocol = IPPROTO_ICMP,
			     .saddr = saddr,
			     .daddr = daddr,
			     .icmp_type = type,
			     .icmp_id = id};
}

/*
 * An ICMP error (outer: its addresses, type, IP options) with code, about
 * orig: quoting orig's IPv4 header (options included) and the first
 * quote_l4 bytes after it, as RFC 792 has hosts and routers do.
 */
static struct packet icmp_error(struct flow outer, uint8_t code,
				const struct packet *orig, size_t quote_l4)
{
	size_t quote_len = (orig->data[ETH_HLEN] & 0xf) * 4 + quote_l4;
	struct packet p;
	uint8_t *icmp;

	assert_true(ETH_HLEN + quote_len <= orig->len);
	outer.payload = quote_len;
	p = build(&outer);
	icmp = p.data + p.len - quote_len - sizeof(struct test_icmphdr);
	icmp[1] = code;
	memcpy(icmp + sizeof(struct test_icmphdr), orig->data + ETH_HLEN, quote_len);
	return p;
}

/* The usual one: port unreachable, from `from` to `to`, about orig. */
static struct packet port_unreachable(const char *from, const char *to,
				      const struct packet *orig)
{
	return icmp_error(icmp_flow(from, to, ICMP_DEST_UNREACH, 0), ICMP_PORT_UNREACH,
			  orig, 8);
}

/* ---- running the programs --------------------------------------------- */

static int run_repeat(struct bpf_program *prog, const void *data, size_t len, int repeat)
{
	struct __sk_buff ctx = {.ifindex = TEST_IFINDEX};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	assert_int_equal(err, 0);
	return (int)opts.retval;
}

static int run_raw(struct bpf_program *prog, const void *data, size_t len)
{
	return run_repeat(prog, data, len, 1);
}

/* Through warden_from_container: the pod sends. */
static int egress(const struct flow f)
{
	struct packet p = build(&f);

	return run_raw(skel->progs.warden_from_container, p.data, p.len);
}

/* Through warden_to_container: the pod receives. */
static int ingress(const struct flow f)
{
	struct packet p = build(&f);

	return run_raw(skel->progs.warden_to_container, p.data, p.len);
}

/* A frame already built, through warden_from_container / warden_to_container. */
static int egress_packet(const struct packet *p)
{
	return run_raw(skel->progs.warden_from_container, p->data, p->len);
}

static int ingress_packet(const struct packet *p)
{
	return run_raw(skel->progs.warden_to_container, p->data, p->len);
}

/* One run with skb->mark set, keeping the frame and mark it leaves with. */
struct run_result {
	int retval;
	uint32_t mark;
	struct packet out;
};

/*
 * One run with skb->mark set and skb->ingress_ifindex (the device the
 * packet entered the host on; 0: made on this host), keeping the frame
 * and mark it leaves with.
 */
static struct run_result run_marked_from(struct bpf_program *prog, const struct packet *p,
					 uint32_t mark, uint32_t ingress_ifindex)
{
	struct __sk_buff ctx = {.ifindex = TEST_IFINDEX,
				.mark = mark,
				.ingress_ifindex = ingress_ifindex},
			 ctx_out = {0};
	struct run_result r = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len,
		    .data_out = r.out.data, .data_size_out = sizeof(r.out.data),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
	r.retval = (int)opts.retval;
	r.mark = ctx_out.mark;
	r.out.len = opts.data_size_out;
	return r;
}

static struct run_result run_marked(struct bpf_program *prog, const struct packet *p,
				    uint32_t mark)
{
	return run_marked_from(prog, p, mark, 0);
}

/* ---- maps -------------------------------------------------------------- */

static void map_clear(struct bpf_map *map)
{
	uint8_t key[64];
	int fd = bpf_map__fd(map);

	assert_true(bpf_map__key_size(map) <= sizeof(key));
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
}

static size_t map_count(struct bpf_map *map)
{
	uint8_t key[64], next[64];
	int fd = bpf_map__fd(map);
	size_t n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

/*
 * Both endpoint tables, as datapath__endpoint_set() writes them: by the
 * test interface, and by address (the endpoint's veth is the test
 * interface, so that is its host_ifindex).
 */
static void endpoint_write(struct warden_endpoint_info *info)
{
	struct warden_endpoint_key key = {.ifindex = TEST_IFINDEX};
	struct warden_endpoint_addr_key addr = {.family = WARDEN_FAMILY_IPV4};

	info->host_ifindex = TEST_IFINDEX;
	memcpy(addr.addr, info->ipv4, 4);
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_local_endpoints, &addr,
					      sizeof(addr), info, sizeof(*info), BPF_ANY),
			 0);
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_endpoints, &key,
					      sizeof(key), info, sizeof(*info), BPF_ANY),
			 0);
}

/* The endpoint, with the audit-mode policies' default-deny cookies. */
static void endpoint_set_audit(uint32_t flags, uint32_t revision,
			       uint32_t audit_default_ingress,
			       uint32_t audit_default_egress)
{
	struct warden_endpoint_info info = {
	    .endpoint_id = EP_ID,
	    .identity = EP_IDENTITY,
	    .flags = flags,
	    .policy_revision = revision,
	    .audit_default_cookie = {[WARDEN_DIR_INGRESS] = audit_default_ingress,
				     [WARDEN_DIR_EGRESS] = audit_default_egress},
	};
	uint32_t addr = ip4(EP_IP);

	memcpy(info.ipv4, &addr, sizeof(addr));
	endpoint_write(&info);
}

static void endpoint_set(uint32_t flags, uint32_t revision)
{
	endpoint_set_audit(flags, revision, 0, 0);
}

/* Another endpoint on the test interface from now on (revision 1). */
static void endpoint_set_as(uint32_t endpoint_id, uint32_t identity, const char *addr,
			    uint32_t flags)
{
	struct warden_endpoint_info info = {
	    .endpoint_id = endpoint_id,
	    .identity = identity,
	    .flags = flags,
	    .policy_revision = 1,
	};
	uint32_t a = ip4(addr);

	memcpy(info.ipv4, &a, sizeof(a));
	endpoint_write(&info);
}

static void ipcache_set(const char *addr, uint32_t prefix_len, uint32_t identity)
{
	struct warden_ipcache_key key = {
	    .prefixlen = WARDEN_IPCACHE_PREFIX_BASE + prefix_len,
	    .family = WARDEN_FAMILY_IPV4,
	};
	struct warden_ipcache_value value = {.identity = identity};
	uint32_t a = ip4(addr);

	memcpy(key.addr, &a, sizeof(a));
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_ipcache, &key,
					      sizeof(key), &value, sizeof(value),
					      BPF_ANY),
			 0);
}

static struct warden_policy_key policy_key(uint32_t identity, uint8_t direction,
					   uint8_t protocol, uint16_t dport_host,
					   uint32_t prefixlen)
{
	return (struct warden_policy_key){
	    .prefixlen = prefixlen,
	    .endpoint_id = EP_ID,
	    .identity = identity,
	    .direction = direction,
	    .protocol = protocol,
	    .dport = htons(dport_host),
	};
}

static void policy_set(uint32_t identity, uint8_t direction, uint8_t protocol,
		       uint16_t dport_host, uint32_t prefixlen, uint16_t flags,
		       uint32_t cookie)
{
	struct warden_policy_key key =
	    policy_key(identity, direction, protocol, dport_host, prefixlen);
	struct warden_policy_value value = {.flags = flags, .rule_cookie = cookie};

	assert_int_equal(bpf_map__update_elem(skel->maps.warden_policy, &key, sizeof(key),
					      &value, sizeof(value), BPF_ANY),
			 0);
}

/* An entry with both halves: enforced (flags, cookie) and audit. */
static void policy_set_audit(uint32_t identity, uint8_t direction, uint8_t protocol,
			     uint16_t dport_host, uint32_t prefixlen, uint16_t flags,
			     uint32_t cookie, uint16_t audit_flags, uint32_t audit_cookie)
{
	struct warden_policy_key key =
	    policy_key(identity, direction, protocol, dport_host, prefixlen);
	struct warden_policy_value value = {
	    .flags = flags,
	    .rule_cookie = cookie,
	    .audit_flags = audit_flags,
	    .audit_cookie = audit_cookie,
	};

	assert_int_equal(bpf_map__update_elem(skel->maps.warden_policy, &key, sizeof(key),
					      &value, sizeof(value), BPF_ANY),
			 0);
}

static void policy_del(uint32_t identity, uint8_t direction, uint8_t protocol,
		       uint16_t dport_host, uint32_t prefixlen)
{
	struct warden_policy_key key =
	    policy_key(identity, direction, protocol, dport_host, prefixlen);

	assert_int_equal(
	    bpf_map__delete_elem(skel->maps.warden_policy, &key, sizeof(key), 0), 0);
}

/* Sum over CPUs of one metrics counter; 0 if the key does not exist. */
static uint64_t metrics_packets(uint32_t endpoint_id, uint8_t reason, uint8_t direction,
				uint64_t *bytes)
{
	struct warden_metrics_key key = {
	    .endpoint_id = endpoint_id,
	    .reason = reason,
	    .direction = direction,
	};
	struct warden_metrics_value values[nr_cpus];
	uint64_t packets = 0, sum_bytes = 0;

	if (bpf_map__lookup_elem(skel->maps.warden_metrics, &key, sizeof(key), values,
				 sizeof(values), 0) == 0) {
		for (int i = 0; i < nr_cpus; i++) {
			packets += values[i].packets;
			sum_bytes += values[i].bytes;
		}
	}
	if (bytes)
		*bytes = sum_bytes;
	return packets;
}

static uint64_t metrics(uint8_t reason, uint8_t direction)
{
	return metrics_packets(EP_ID, reason, direction, NULL);
}

static struct warden_ct_key ct_key(const struct flow *f, uint8_t direction)
{
	struct warden_ct_key key = {
	    .protocol = f->protocol,
	    .direction = direction,
	    .family = WARDEN_FAMILY_IPV4,
	    .endpoint_id = EP_ID,
	};
	uint32_t s = ip4(f->saddr), d = ip4(f->daddr);

	memcpy(key.saddr, &s, sizeof(s));
	memcpy(key.daddr, &d, sizeof(d));
	if (f->protocol == IPPROTO_ICMP) {
		key.sport = key.dport = htons(f->icmp_id);
	} else {
		key.sport = htons(f->sport);
		key.dport = htons(f->dport);
	}
	return key;
}

/* The CT entry of flow f created in direction; false if there is none. */
static bool ct_get(const struct flow *f, uint8_t direction, struct warden_ct_value *value)
{
	struct warden_ct_key key = ct_key(f, direction);

	return bpf_map__lookup_elem(skel->maps.warden_ct, &key, sizeof(key), value,
				    sizeof(*value), 0) == 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of bpf_ktime_get_ns() */
	return (uint64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

/* Put a CT entry for flow f in direction, live for a minute at revision 1. */
static void ct_put(const struct flow *f, uint8_t direction)
{
	struct warden_ct_key key = ct_key(f, direction);
	struct warden_ct_value value = {
	    .expires_ns = now_ns() + 60 * NSEC,
	    .packets = 1,
	    .policy_revision = 1,
	    .remote_identity = PEER_IDENTITY,
	};

	assert_int_equal(bpf_map__update_elem(skel->maps.warden_ct, &key, sizeof(key),
					      &value, sizeof(value), BPF_ANY),
			 0);
}

/* expires_ns is about now + lifetime. */
static void assert_lifetime(const struct warden_ct_value *v, uint64_t lifetime)
{
	uint64_t now = now_ns();

	assert_true(v->expires_ns <= now + lifetime);
	assert_true(v->expires_ns + 5 * NSEC >= now + lifetime);
}

/* ---- events ------------------------------------------------------------ */

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	assert_int_equal(size, sizeof(struct warden_event));
	if (events_seen < EVENTS_KEEP)
		memcpy(&events[events_seen], data, sizeof(struct warden_event));
	events_seen++;
	return 0;
}

/* Read everything in the ring buffer; returns how many events there were. */
static int events_consume(void)
{
	events_seen = 0;
	assert_true(ring_buffer__consume(events_rb) >= 0);
	return events_seen;
}

static void assert_drop_event(const struct warden_event *e, uint8_t reason,
			      uint8_t direction)
{
	assert_int_equal(e->type, WARDEN_EVENT_DROP);
	assert_int_equal(e->reason, reason);
	assert_int_equal(e->direction, direction);
	assert_int_equal(e->ifindex, TEST_IFINDEX);
}

/* ---- fixtures ---------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_datapath: must run as root (loads BPF programs)\n");
		return -1;
	}
	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus <= 0)
		return -1;
	skel = warden_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "test_datapath: loading warden_bpf failed: %s\n",
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

/* Empty maps and ring buffer; then the endpoint, unenforced, revision 1. */
static int test_setup(void **state)
{
	(void)state;
	map_clear(skel->maps.warden_endpoints);
	map_clear(skel->maps.warden_ipcache);
	map_clear(skel->maps.warden_policy);
	map_clear(skel->maps.warden_ct);
	map_clear(skel->maps.warden_ct_revoked);
	map_clear(skel->maps.warden_local_endpoints);
	map_clear(skel->maps.warden_metrics);
	events_consume();

	endpoint_set(0, 1);
	ipcache_set("10.0.2.0", 24, PEER_IDENTITY);
	ipcache_set(EP_IP, 32, EP_IDENTITY);
	return 0;
}

/* ---- tests: basics ----------------------------------------------------- */

static void test_unknown_endpoint_dropped(void **state)
{
	struct warden_endpoint_key key = {.ifindex = TEST_IFINDEX};
	struct packet p;

	(void)state;
	assert_int_equal(
	    bpf_map__delete_elem(skel->maps.warden_endpoints, &key, sizeof(key), 0), 0);

	assert_int_equal(egress(tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 40000, EP_IP, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	/* Fail closed means ARP too: nothing passes a veth we do not know. */
	put_eth(&p, ETH_P_ARP);
	memset(p.data + p.len, 0, 28);
	p.len += 28;
	assert_int_equal(run_raw(skel->progs.warden_to_container, p.data, p.len),
			 TC_ACT_SHOT);

	assert_int_equal(
	    metrics_packets(0, WARDEN_DROP_UNKNOWN_ENDPOINT, WARDEN_DIR_EGRESS, NULL), 1);
	assert_int_equal(
	    metrics_packets(0, WARDEN_DROP_UNKNOWN_ENDPOINT, WARDEN_DIR_INGRESS, NULL),
	    2);
	assert_int_equal(events_consume(), 3);
	assert_drop_event(&events[0], WARDEN_DROP_UNKNOWN_ENDPOINT, WARDEN_DIR_EGRESS);
	assert_int_equal(events[0].endpoint_id, 0);
	assert_drop_event(&events[1], WARDEN_DROP_UNKNOWN_ENDPOINT, WARDEN_DIR_INGRESS);
}

static void test_arp_passes(void **state)
{
	struct packet p;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	put_eth(&p, ETH_P_ARP);
	memset(p.data + p.len, 0, 28);
	p.len += 28;

	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data, p.len),
			 TC_ACT_OK);
	assert_int_equal(run_raw(skel->progs.warden_to_container, p.data, p.len),
			 TC_ACT_OK);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 1);
	assert_int_equal(events_consume(), 0);
}

static void test_ipv6_dropped(void **state)
{
	struct packet p;

	(void)state;
	put_eth(&p, ETH_P_IPV6);
	memset(p.data + p.len, 0, 40);
	p.data[p.len] = 0x60;
	p.len += 40;

	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data, p.len),
			 TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_UNSUPPORTED_L3, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_UNSUPPORTED_L3, WARDEN_DIR_EGRESS);
	assert_int_equal(events[0].endpoint_id, EP_ID);
	assert_int_equal(events[0].family, 0);
}

static void test_malformed_ipv4_dropped(void **state)
{
	struct flow f = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct packet p;

	(void)state;
	/*
	 * The frame ends inside the IPv4 options. (A frame cut inside the
	 * fixed 20-byte header cannot be tested here: BPF_PROG_RUN refuses
	 * IPv4 frames that short with EINVAL before the program runs.)
	 */
	p = build(&f);
	p.data[ETH_HLEN] = 0x46;
	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data,
				 ETH_HLEN + sizeof(struct iphdr)),
			 TC_ACT_SHOT);
	/* ihl 4 (< 20 bytes) */
	p = build(&f);
	p.data[ETH_HLEN] = 0x44;
	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data, p.len),
			 TC_ACT_SHOT);
	/* ihl 15: the options would run past the end of the packet. */
	p = build(&f);
	p.data[ETH_HLEN] = 0x4f;
	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data, p.len),
			 TC_ACT_SHOT);
	/* TCP header cut after 10 bytes. */
	p = build(&f);
	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data, p.len - 10),
			 TC_ACT_SHOT);
	/* Not version 4 behind an IPv4 EtherType. */
	p = build(&f);
	p.data[ETH_HLEN] = 0x65;
	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data, p.len),
			 TC_ACT_SHOT);

	/* UDP and ICMP headers cut short. */
	f = udp_flow(EP_IP, 40000, PEER_IP, 53);
	p = build(&f);
	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data, p.len - 1),
			 TC_ACT_SHOT);
	f = icmp_flow(EP_IP, PEER_IP, ICMP_ECHO, 1);
	p = build(&f);
	assert_int_equal(run_raw(skel->progs.warden_from_container, p.data, p.len - 4),
			 TC_ACT_SHOT);

	assert_int_equal(metrics(WARDEN_DROP_INVALID_PACKET, WARDEN_DIR_EGRESS), 7);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 0);
	assert_int_equal(events_consume(), 7);
	assert_drop_event(&events[0], WARDEN_DROP_INVALID_PACKET, WARDEN_DIR_EGRESS);
}

static void test_ip_options_skipped(void **state)
{
	struct flow f = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_ALLOW, 1);

	/* The ports are read after 8 bytes of options, or port 80 would not match. */
	f.ihl = 7;
	assert_int_equal(egress(f), TC_ACT_OK);
	f.dport = 81;
	assert_int_equal(egress(f), TC_ACT_SHOT);
}

static void test_no_policy_not_enforced_passes(void **state)
{
	struct flow out = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct flow in = udp_flow(PEER_IP, 5000, EP_IP, 53);
	struct warden_ct_value v;
	uint64_t bytes;

	(void)state;
	assert_int_equal(egress(out), TC_ACT_OK);
	assert_int_equal(ingress(in), TC_ACT_OK);

	assert_int_equal(
	    metrics_packets(EP_ID, WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS, &bytes),
	    1);
	assert_int_equal(bytes, build(&out).len);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 1);

	assert_true(ct_get(&out, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.remote_identity, PEER_IDENTITY);
	assert_int_equal(v.rule_cookie, 0);
	assert_int_equal(v.policy_revision, 1);
	assert_int_equal(v.packets, 1);
	assert_true(ct_get(&in, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.remote_identity, PEER_IDENTITY);

	/* One verdict event per new flow. */
	assert_int_equal(events_consume(), 2);
	assert_int_equal(events[0].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[0].reason, WARDEN_REASON_FORWARDED);
	assert_int_equal(events[0].direction, WARDEN_DIR_EGRESS);
	assert_int_equal(events[0].src_identity, EP_IDENTITY);
	assert_int_equal(events[0].dst_identity, PEER_IDENTITY);
	assert_int_equal(events[1].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[1].direction, WARDEN_DIR_INGRESS);
	assert_int_equal(events[1].src_identity, PEER_IDENTITY);
	assert_int_equal(events[1].dst_identity, EP_IDENTITY);
}

static void test_enforced_no_entry_dropped(void **state)
{
	struct flow f = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct packet p = build(&f);
	struct warden_ct_value v;
	const struct warden_event *e;
	uint64_t bytes;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS, 1);

	assert_int_equal(egress(f), TC_ACT_SHOT);
	assert_int_equal(
	    metrics_packets(EP_ID, WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS, &bytes), 1);
	assert_int_equal(bytes, p.len);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 0);
	assert_false(ct_get(&f, WARDEN_DIR_EGRESS, &v));

	assert_int_equal(events_consume(), 1);
	e = &events[0];
	assert_drop_event(e, WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS);
	assert_true(e->timestamp_ns > 0);
	assert_int_equal(e->family, WARDEN_FAMILY_IPV4);
	assert_int_equal(e->protocol, IPPROTO_TCP);
	assert_int_equal(e->tcp_flags, TCP_SYN);
	assert_int_equal(e->endpoint_id, EP_ID);
	assert_int_equal(e->src_identity, EP_IDENTITY);
	assert_int_equal(e->dst_identity, PEER_IDENTITY);
	assert_int_equal(e->rule_cookie, 0);
	assert_int_equal(e->sport, htons(40000));
	assert_int_equal(e->dport, htons(80));
	assert_int_equal(e->length, p.len);
	assert_memory_equal(e->saddr, ((uint8_t[16]){10, 0, 1, 7}), 16);
	assert_memory_equal(e->daddr, ((uint8_t[16]){10, 0, 2, 5}), 16);
	assert_int_equal(e->pad, 0);
	assert_int_equal(e->pad2, 0);

	/* Ingress is not enforced: still open. */
	assert_int_equal(ingress(tcp_flow(PEER_IP, 40000, EP_IP, 80, TCP_SYN)),
			 TC_ACT_OK);
}

/* ---- tests: policy ----------------------------------------------------- */

static void test_l3_allow_by_identity(void **state)
{
	struct warden_ct_value v;
	struct flow f = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS, 1);
	/* Any protocol and port to PEER_IDENTITY: prefix 72. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, 0, 0, WARDEN_POLICY_PREFIX_ANY_PROTO,
		   WARDEN_POLICY_ALLOW, 0x10001);

	assert_int_equal(egress(f), TC_ACT_OK);
	assert_true(ct_get(&f, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.rule_cookie, 0x10001);
	assert_int_equal(egress(udp_flow(EP_IP, 5000, PEER_IP, 53)), TC_ACT_OK);
	assert_int_equal(egress(icmp_flow(EP_IP, PEER_IP, ICMP_ECHO, 1)), TC_ACT_OK);

	/* Outside the /24: world, which has no allow. */
	assert_int_equal(egress(tcp_flow(EP_IP, 40000, OTHER_IP, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS), 1);
	/* The allow is egress only. */
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_ENFORCE_INGRESS, 1);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 40000, EP_IP, 80, TCP_SYN)),
			 TC_ACT_SHOT);
}

static void test_l4_port_allow(void **state)
{
	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);
	/* TCP 80 from any peer. */
	policy_set(0, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, WARDEN_POLICY_PREFIX_FULL,
		   WARDEN_POLICY_ALLOW, 0x20001);

	assert_int_equal(ingress(tcp_flow(PEER_IP, 40000, EP_IP, 80, TCP_SYN)),
			 TC_ACT_OK);
	assert_int_equal(ingress(tcp_flow(WORLD_IP, 40000, EP_IP, 80, TCP_SYN)),
			 TC_ACT_OK);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 40000, EP_IP, 81, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(ingress(udp_flow(PEER_IP, 40000, EP_IP, 80)), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 2);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 2);
}

static void test_port_range_via_prefixes(void **state)
{
	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);
	/* 8080-8087 is one aligned block: 80 + 13 bits of the port. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 8080, 93,
		   WARDEN_POLICY_ALLOW, 3);
	/* Any UDP port: prefix 80. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 0,
		   WARDEN_POLICY_PREFIX_ANY_PORT, WARDEN_POLICY_ALLOW, 4);

	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 8080, TCP_SYN)), TC_ACT_OK);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 8083, TCP_SYN)), TC_ACT_OK);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 8087, TCP_SYN)), TC_ACT_OK);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 8079, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 8088, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(ingress(udp_flow(PEER_IP, 1, EP_IP, 9)), TC_ACT_OK);
	assert_int_equal(ingress(udp_flow(PEER_IP, 1, EP_IP, 65535)), TC_ACT_OK);
	assert_int_equal(ingress(udp_flow(WORLD_IP, 1, EP_IP, 9)), TC_ACT_SHOT);
}

static void test_deny_beats_allow(void **state)
{
	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);

	/* Identity-specific deny vs any-peer allow. */
	policy_set(0, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96, WARDEN_POLICY_ALLOW,
		   0x10001);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_DENY, 0x20001);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 80, TCP_SYN)), TC_ACT_SHOT);
	assert_int_equal(ingress(tcp_flow(WORLD_IP, 1, EP_IP, 80, TCP_SYN)), TC_ACT_OK);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_DENY, WARDEN_DIR_INGRESS), 1);
	assert_int_equal(events_consume(), 2);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY_DENY, WARDEN_DIR_INGRESS);
	assert_int_equal(events[0].rule_cookie, 0x20001);
	assert_int_equal(events[0].src_identity, PEER_IDENTITY);
	assert_int_equal(events[1].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[1].rule_cookie, 0x10001);

	/* Any-peer deny (all TCP) vs identity-specific allow (TCP 80). */
	map_clear(skel->maps.warden_policy);
	map_clear(skel->maps.warden_ct);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_ALLOW, 0x10002);
	policy_set(0, WARDEN_DIR_INGRESS, IPPROTO_TCP, 0, WARDEN_POLICY_PREFIX_ANY_PORT,
		   WARDEN_POLICY_DENY, 0x20002);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 80, TCP_SYN)), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_DENY, WARDEN_DIR_INGRESS), 2);
	assert_int_equal(events_consume(), 1);
	assert_int_equal(events[0].rule_cookie, 0x20002);

	/* A deny applies even where the endpoint is not enforced. */
	endpoint_set(0, 1);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 80, TCP_SYN)), TC_ACT_SHOT);
	assert_int_equal(ingress(udp_flow(PEER_IP, 1, EP_IP, 80)), TC_ACT_OK);
}

static void test_identity_allow_cookie_preferred(void **state)
{
	struct flow f = tcp_flow(PEER_IP, 1, EP_IP, 80, TCP_SYN);
	struct warden_ct_value v;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);
	policy_set(0, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96, WARDEN_POLICY_ALLOW,
		   0x10001);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_ALLOW, 0x30003);
	assert_int_equal(ingress(f), TC_ACT_OK);
	assert_true(ct_get(&f, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.rule_cookie, 0x30003);
}

static void test_world_identity_on_ipcache_miss(void **state)
{
	struct flow out = tcp_flow(EP_IP, 40000, WORLD_IP, 443, TCP_SYN);
	struct warden_ct_value v;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_ENFORCE_INGRESS, 1);
	policy_set(WARDEN_IDENTITY_WORLD, WARDEN_DIR_EGRESS, 0, 0,
		   WARDEN_POLICY_PREFIX_ANY_PROTO, WARDEN_POLICY_ALLOW, 9);

	assert_int_equal(egress(out), TC_ACT_OK);
	assert_true(ct_get(&out, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.remote_identity, WARDEN_IDENTITY_WORLD);
	/* The cluster peer is not world. */
	assert_int_equal(egress(tcp_flow(EP_IP, 40000, PEER_IP, 443, TCP_SYN)),
			 TC_ACT_SHOT);

	/* From the world, ingress enforced: dropped, event names WORLD. */
	events_consume();
	assert_int_equal(ingress(tcp_flow(WORLD_IP, 1, EP_IP, 22, TCP_SYN)), TC_ACT_SHOT);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS);
	assert_int_equal(events[0].src_identity, WARDEN_IDENTITY_WORLD);
	assert_int_equal(events[0].dst_identity, EP_IDENTITY);
}

static void test_spoofed_source_dropped(void **state)
{
	(void)state;
	/* Not even enforced: spoofing is never allowed. */
	assert_int_equal(egress(tcp_flow("10.0.1.99", 40000, PEER_IP, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(egress(udp_flow(PEER_IP, 53, PEER_IP, 53)), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_SPOOFED_SOURCE, WARDEN_DIR_EGRESS), 2);
	assert_int_equal(map_count(skel->maps.warden_ct), 0);
	assert_int_equal(events_consume(), 2);
	assert_drop_event(&events[0], WARDEN_DROP_SPOOFED_SOURCE, WARDEN_DIR_EGRESS);
	assert_int_equal(events[0].dst_identity, PEER_IDENTITY);
	/* The right source passes. */
	assert_int_equal(egress(tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN)), TC_ACT_OK);
}

static void test_sctp_ports_and_portless_protocols(void **state)
{
	struct flow sctp = {.protocol = IPPROTO_SCTP,
			    .saddr = PEER_IP,
			    .daddr = EP_IP,
			    .sport = 9,
			    .dport = 3868};
	struct flow gre = {.protocol = IPPROTO_GRE, .saddr = PEER_IP, .daddr = EP_IP};
	struct warden_ct_value v;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_SCTP, 3868, 96,
		   WARDEN_POLICY_ALLOW, 1);

	/* SCTP: ports from its common header. */
	assert_int_equal(ingress(sctp), TC_ACT_OK);
	sctp.dport = 3869;
	assert_int_equal(ingress(sctp), TC_ACT_SHOT);

	/* A protocol without ports: ports 0, only a protocol-wide allow matches. */
	assert_int_equal(ingress(gre), TC_ACT_SHOT);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_GRE, 0,
		   WARDEN_POLICY_PREFIX_ANY_PORT, WARDEN_POLICY_ALLOW, 2);
	assert_int_equal(ingress(gre), TC_ACT_OK);
	assert_true(ct_get(&gre, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.rule_cookie, 2);
}

static void test_fragments_need_any_port_allow(void **state)
{
	struct flow frag = udp_flow(PEER_IP, 5000, EP_IP, 53);

	(void)state;
	frag.frag_off = 185; /* offset 1480 bytes, no flags: the last fragment */
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 53, 96,
		   WARDEN_POLICY_ALLOW, 1);

	/* The first fragment has the header and matches the port. */
	struct flow first = frag;
	first.frag_off = 0x2000; /* MF, offset 0 */
	assert_int_equal(ingress(first), TC_ACT_OK);
	/* A later one has no ports: a port-only allow cannot match it. */
	assert_int_equal(ingress(frag), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_FRAGMENT, WARDEN_DIR_INGRESS), 1);

	/* With any UDP port allowed, it passes, and starts no flow. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 0,
		   WARDEN_POLICY_PREFIX_ANY_PORT, WARDEN_POLICY_ALLOW, 2);
	map_clear(skel->maps.warden_ct);
	events_consume();
	assert_int_equal(ingress(frag), TC_ACT_OK);
	assert_int_equal(map_count(skel->maps.warden_ct), 0);
	assert_int_equal(events_consume(), 0);
}

/* ---- tests: conntrack -------------------------------------------------- */

/* Enforced both ways; egress TCP 80 to PEER_IDENTITY only. */
static void setup_egress_http(void)
{
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_ALLOW, 0x10001);
}

static void test_ct_tcp_reply_passes(void **state)
{
	struct flow syn = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct flow synack = tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_SYN | TCP_ACK);
	struct flow ack = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK);
	struct flow fin = tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_FIN | TCP_ACK);
	struct warden_ct_value v;

	(void)state;
	setup_egress_http();

	assert_int_equal(egress(syn), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.flags, 0);
	assert_int_equal(v.remote_identity, PEER_IDENTITY);
	assert_int_equal(v.rule_cookie, 0x10001);
	assert_lifetime(&v, WARDEN_CT_TCP_SYN_NS);

	/* The reply enters through the other program; ingress has no entries. */
	assert_int_equal(ingress(synack), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_SEEN_REPLY);
	assert_lifetime(&v, WARDEN_CT_TCP_ESTABLISHED_NS);
	/* Replies do not create entries of their own. */
	assert_false(ct_get(&synack, WARDEN_DIR_INGRESS, &v));

	assert_int_equal(egress(ack), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.packets, 3);
	assert_int_equal(v.bytes, 3 * build(&syn).len);
	assert_int_equal(map_count(skel->maps.warden_ct), 1);

	/* The same peer opening its own connection is policy's business. */
	assert_int_equal(ingress(tcp_flow(PEER_IP, 40001, EP_IP, 80, TCP_SYN)),
			 TC_ACT_SHOT);

	assert_int_equal(ingress(fin), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_SEEN_REPLY | WARDEN_CT_CLOSING);
	assert_lifetime(&v, WARDEN_CT_TCP_CLOSING_NS);

	/* One verdict event for the flow, one drop for the stray SYN. */
	assert_int_equal(events_consume(), 2);
	assert_int_equal(events[0].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[0].rule_cookie, 0x10001);
	assert_int_equal(events[0].tcp_flags, TCP_SYN);
	assert_drop_event(&events[1], WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 2);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 2);
}

static void test_ct_tcp_midstream_judged_by_policy(void **state)
{
	struct flow ack = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK);
	struct warden_ct_value v;

	(void)state;
	setup_egress_http();
	/* A segment of a connection older than the program: policy allows it. */
	assert_int_equal(egress(ack), TC_ACT_OK);
	assert_true(ct_get(&ack, WARDEN_DIR_EGRESS, &v));
	assert_lifetime(&v, WARDEN_CT_TCP_ESTABLISHED_NS);
	/* And the peer's answer is a reply. */
	assert_int_equal(ingress(tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_ACK)),
			 TC_ACT_OK);
	/* Not allowed mid-stream: dropped. */
	assert_int_equal(egress(tcp_flow(EP_IP, 40000, PEER_IP, 8080, TCP_ACK)),
			 TC_ACT_SHOT);
}

static void test_ct_expired_entry_is_absent(void **state)
{
	struct flow syn = tcp_flow(EP_IP, 40000, PEER_IP, 443, TCP_SYN);
	struct warden_ct_key key = ct_key(&syn, WARDEN_DIR_EGRESS);
	struct warden_ct_value v = {.expires_ns = 1, .policy_revision = 1};

	(void)state;
	setup_egress_http();
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_ct, &key, sizeof(key), &v,
					      sizeof(v), BPF_ANY),
			 0);
	assert_int_equal(egress(syn), TC_ACT_SHOT);
	/* Nor does it make a reply of the other direction. */
	assert_int_equal(ingress(tcp_flow(PEER_IP, 443, EP_IP, 40000, TCP_ACK)),
			 TC_ACT_SHOT);

	/* Still valid: both pass. */
	v.expires_ns = now_ns() + 60 * NSEC;
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_ct, &key, sizeof(key), &v,
					      sizeof(v), BPF_ANY),
			 0);
	assert_int_equal(egress(syn), TC_ACT_OK);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 443, EP_IP, 40000, TCP_ACK)),
			 TC_ACT_OK);
}

static void test_ct_udp(void **state)
{
	struct flow query = udp_flow(EP_IP, 33333, PEER_IP, 53);
	struct flow answer = udp_flow(PEER_IP, 53, EP_IP, 33333);
	struct warden_ct_value v;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(0, WARDEN_DIR_EGRESS, IPPROTO_UDP, 53, 96, WARDEN_POLICY_ALLOW, 5);

	assert_int_equal(egress(query), TC_ACT_OK);
	assert_true(ct_get(&query, WARDEN_DIR_EGRESS, &v));
	assert_lifetime(&v, WARDEN_CT_NONTCP_NS);
	assert_int_equal(ingress(answer), TC_ACT_OK);
	assert_true(ct_get(&query, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_SEEN_REPLY);
	assert_int_equal(v.packets, 2);
	assert_int_equal(egress(query), TC_ACT_OK);

	/* Another port of the same peer is not the reply. */
	assert_int_equal(ingress(udp_flow(PEER_IP, 54, EP_IP, 33333)), TC_ACT_SHOT);
	assert_int_equal(ingress(udp_flow(PEER_IP, 53, EP_IP, 33334)), TC_ACT_SHOT);
	assert_int_equal(events_consume(), 3);
}

static void test_ct_icmp_echo(void **state)
{
	struct flow request = icmp_flow(EP_IP, PEER_IP, ICMP_ECHO, 0x1234);
	struct flow reply = icmp_flow(PEER_IP, EP_IP, ICMP_ECHOREPLY, 0x1234);
	struct warden_ct_key key = ct_key(&request, WARDEN_DIR_EGRESS);
	struct warden_ct_value v;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	/* ICMP policy ports are the type in the high byte. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_ICMP, ICMP_ECHO << 8, 96,
		   WARDEN_POLICY_ALLOW, 6);

	assert_int_equal(egress(request), TC_ACT_OK);
	/* The echo id is both ports of the tuple. */
	assert_int_equal(key.sport, htons(0x1234));
	assert_int_equal(key.dport, htons(0x1234));
	assert_true(ct_get(&request, WARDEN_DIR_EGRESS, &v));
	assert_lifetime(&v, WARDEN_CT_NONTCP_NS);

	assert_int_equal(ingress(reply), TC_ACT_OK);
	assert_true(ct_get(&request, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_SEEN_REPLY);

	/* Another id is another flow; another type another rule. */
	assert_int_equal(ingress(icmp_flow(PEER_IP, EP_IP, ICMP_ECHOREPLY, 0x9999)),
			 TC_ACT_SHOT);
	assert_int_equal(egress(icmp_flow(EP_IP, PEER_IP, ICMP_TIMESTAMP, 0)),
			 TC_ACT_SHOT);
	assert_int_equal(egress(icmp_flow(EP_IP, PEER_IP, ICMP_ECHO, 0x4321)), TC_ACT_OK);
}

/* ---- tests: revocation ------------------------------------------------- */

/* SYN out, SYN-ACK back: an established egress flow at revision 1. */
static struct flow establish_http(void)
{
	struct flow syn = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);

	setup_egress_http();
	assert_int_equal(egress(syn), TC_ACT_OK);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_SYN | TCP_ACK)),
			 TC_ACT_OK);
	events_consume();
	return syn;
}

static void test_revocation_cuts_established_flow(void **state)
{
	struct flow syn = establish_http();
	struct flow ack = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK);
	struct warden_ct_value v;

	(void)state;
	policy_del(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96);
	/* Without a revision bump the flow continues (no per-packet policy). */
	assert_int_equal(egress(ack), TC_ACT_OK);

	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 2);
	assert_int_equal(egress(ack), TC_ACT_SHOT);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_true(v.flags & WARDEN_CT_REVOKED);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_EGRESS);
	assert_int_equal(events[0].dst_identity, PEER_IDENTITY);

	/*
	 * The revoked entry stays: both directions keep being dropped, and the
	 * peer's segments cannot restart the flow as a new ingress flow even
	 * though ingress would allow them.
	 */
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 40000, 96,
		   WARDEN_POLICY_ALLOW, 0x90009);
	assert_int_equal(egress(ack), TC_ACT_SHOT);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_ACK)),
			 TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_EGRESS), 2);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_INGRESS), 1);

	/* A later revision that allows it again revives the flow. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_ALLOW, 0x30003);
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 3);
	assert_int_equal(egress(ack), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_false(v.flags & WARDEN_CT_REVOKED);
}

static void test_revocation_seen_on_reply(void **state)
{
	struct flow syn = establish_http();
	struct warden_ct_value v;

	(void)state;
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_DENY, 0x50005);
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 2);

	/* The peer's next segment is where we notice. */
	assert_int_equal(ingress(tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_ACK)),
			 TC_ACT_SHOT);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_true(v.flags & WARDEN_CT_REVOKED);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_INGRESS), 1);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_INGRESS);
	assert_int_equal(events[0].rule_cookie, 0x50005);
	assert_int_equal(events[0].src_identity, PEER_IDENTITY);
}

/*
 * A new connection reusing the ports of a revoked (or closing) flow: its
 * bare SYN is judged as a new flow, not by the old entry's state.
 */
static void test_syn_reusing_revoked_tuple_is_judged_new(void **state)
{
	struct flow syn = establish_http();
	struct flow ack = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK);
	struct warden_ct_value v;

	(void)state;
	policy_del(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96);
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 2);
	assert_int_equal(egress(ack), TC_ACT_SHOT); /* revoked */
	/* Allowed again by a later revision that this flow has not seen yet,
	 * and a fresh SYN on the same ports: a new flow, allowed. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_ALLOW, 0x40004);
	assert_int_equal(egress(syn), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_false(v.flags & WARDEN_CT_REVOKED);
	assert_int_equal(v.rule_cookie, 0x40004);
	/* Still denied when the policy denies: the SYN does not sneak past. */
	policy_del(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96);
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 3);
	assert_int_equal(egress(ack), TC_ACT_SHOT);
	assert_int_equal(egress(syn), TC_ACT_SHOT);
}

static void test_revocation_keeps_allowed_flow(void **state)
{
	struct flow syn = establish_http();
	struct warden_ct_value v;

	(void)state;
	/* A new revision whose policy still allows the flow (another rule). */
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_ALLOW, 0x70007);
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 2);

	assert_int_equal(ingress(tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_ACK)),
			 TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.policy_revision, 2);
	assert_int_equal(v.rule_cookie, 0x70007);
	assert_int_equal(egress(tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK)), TC_ACT_OK);
	assert_int_equal(events_consume(), 0);
}

static void test_revocation_icmp_reply_checks_request_type(void **state)
{
	struct flow request = icmp_flow(EP_IP, PEER_IP, ICMP_ECHO, 7);
	struct flow reply = icmp_flow(PEER_IP, EP_IP, ICMP_ECHOREPLY, 7);
	struct warden_ct_value v;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_ICMP, ICMP_ECHO << 8, 96,
		   WARDEN_POLICY_ALLOW, 6);
	assert_int_equal(egress(request), TC_ACT_OK);

	/*
	 * A new revision that still allows echo requests: the reply is
	 * re-checked as the original request (type 8), not as type 0.
	 */
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 2);
	assert_int_equal(ingress(reply), TC_ACT_OK);
	assert_true(ct_get(&request, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.policy_revision, 2);

	/* Revoked: the next reply is cut. */
	policy_del(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_ICMP, ICMP_ECHO << 8, 96);
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 3);
	assert_int_equal(ingress(reply), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_INGRESS), 1);
	assert_true(ct_get(&request, WARDEN_DIR_EGRESS, &v));
	assert_true(v.flags & WARDEN_CT_REVOKED);
}

/* ---- tests: ICMP errors related to a flow ------------------------------ */

/* Both directions default deny; UDP 53 out to anyone. */
static void setup_egress_dns(void)
{
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(0, WARDEN_DIR_EGRESS, IPPROTO_UDP, 53, 96, WARDEN_POLICY_ALLOW, 5);
}

static void test_icmp_error_port_unreachable_related(void **state)
{
	struct flow query = udp_flow(EP_IP, 33333, PEER_IP, 53);
	struct flow router = icmp_flow(WORLD_IP, EP_IP, ICMP_TIME_EXCEEDED, 0);
	struct warden_ct_value before, after;
	struct packet q, err;

	(void)state;
	setup_egress_dns();
	query.payload = 30;
	q = build(&query);
	assert_int_equal(egress_packet(&q), TC_ACT_OK);
	assert_true(ct_get(&query, WARDEN_DIR_EGRESS, &before));
	events_consume();

	/* Nobody listens at the server: its answer enters, ingress default deny. */
	err = port_unreachable(PEER_IP, EP_IP, &q);
	assert_int_equal(ingress_packet(&err), TC_ACT_OK);
	/* A router on the way may report on it too; IP options on both headers. */
	query.ihl = 7;
	q = build(&query);
	router.ihl = 6;
	err = icmp_error(router, 0, &q, 8);
	assert_int_equal(ingress_packet(&err), TC_ACT_OK);

	/* Forwarded and counted, but no verdict event and the entry untouched. */
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 2);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 0);
	assert_int_equal(events_consume(), 0);
	assert_true(ct_get(&query, WARDEN_DIR_EGRESS, &after));
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(map_count(skel->maps.warden_ct), 1);
}

static void test_icmp_error_frag_needed_related(void **state)
{
	struct flow syn = establish_http();
	struct flow segment = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK);
	struct flow client_syn = tcp_flow(PEER_IP, 50000, EP_IP, 8080, TCP_SYN);
	struct flow synack = tcp_flow(EP_IP, 8080, PEER_IP, 50000, TCP_SYN | TCP_ACK);
	struct flow router = icmp_flow(WORLD_IP, EP_IP, ICMP_DEST_UNREACH, 0);
	struct warden_ct_value v;
	struct packet p, err;

	(void)state;
	(void)syn;
	/* A full-sized segment out; a router cannot forward it unfragmented. */
	segment.payload = 150;
	p = build(&segment);
	assert_int_equal(egress_packet(&p), TC_ACT_OK);
	err = icmp_error(router, ICMP_FRAG_NEEDED, &p, 8);
	assert_int_equal(ingress_packet(&err), TC_ACT_OK);

	/* The endpoint as the server: about its SYN-ACK, the reply of an ingress flow. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 8080, 96,
		   WARDEN_POLICY_ALLOW, 0x20002);
	assert_int_equal(ingress(client_syn), TC_ACT_OK);
	assert_int_equal(egress(synack), TC_ACT_OK);
	p = build(&synack);
	err = icmp_error(router, ICMP_FRAG_NEEDED, &p, 8);
	assert_int_equal(ingress_packet(&err), TC_ACT_OK);
	/* Without creating an entry of its own. */
	assert_true(ct_get(&client_syn, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.packets, 2);
	assert_int_equal(map_count(skel->maps.warden_ct), 2);

	/* A port the connection does not use is another flow: policy drops it. */
	segment.dport = 81;
	p = build(&segment);
	err = icmp_error(router, ICMP_FRAG_NEEDED, &p, 8);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 1);
}

/* The endpoint's own errors, about packets it received, go out the same way. */
static void test_icmp_error_from_endpoint_related(void **state)
{
	struct flow datagram = udp_flow(PEER_IP, 5000, EP_IP, 9999);
	struct packet d = build(&datagram), err;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 9999, 96,
		   WARDEN_POLICY_ALLOW, 7);
	assert_int_equal(ingress_packet(&d), TC_ACT_OK);
	events_consume();

	/* Nobody listens in the pod: its stack says so, egress default deny. */
	err = port_unreachable(EP_IP, PEER_IP, &d);
	assert_int_equal(egress_packet(&err), TC_ACT_OK);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(events_consume(), 0);

	/* About another port: policy, which drops it. */
	datagram.dport = 9998;
	d = build(&datagram);
	err = port_unreachable(EP_IP, PEER_IP, &d);
	assert_int_equal(egress_packet(&err), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS), 1);
}

/* traceroute with ping: a quoted echo request is found by its id. */
static void test_icmp_error_quoting_echo_related(void **state)
{
	struct flow request = icmp_flow(EP_IP, PEER_IP, ICMP_ECHO, 0x1234);
	struct flow router = icmp_flow(WORLD_IP, EP_IP, ICMP_TIME_EXCEEDED, 0);
	struct packet r, err;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_ICMP, ICMP_ECHO << 8, 96,
		   WARDEN_POLICY_ALLOW, 6);
	request.payload = 56;
	r = build(&request);
	assert_int_equal(egress_packet(&r), TC_ACT_OK);
	err = icmp_error(router, 0, &r, 8);
	assert_int_equal(ingress_packet(&err), TC_ACT_OK);

	/* Another id is another flow. */
	request.icmp_id = 0x9999;
	r = build(&request);
	err = icmp_error(router, 0, &r, 8);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
}

/* Without a flow to be about, an error is judged by policy as before. */
static void test_icmp_error_without_flow_judged_by_policy(void **state)
{
	struct flow query = udp_flow(EP_IP, 33333, PEER_IP, 53);
	struct flow other = udp_flow(EP_IP, 33334, PEER_IP, 53);
	struct flow fragment = query;
	struct flow unreach = icmp_flow(PEER_IP, EP_IP, ICMP_DEST_UNREACH, 0);
	struct flow own_error = icmp_flow(EP_IP, OTHER_IP, ICMP_DEST_UNREACH, 0);
	struct packet q = build(&query), p, err;

	(void)state;
	setup_egress_dns();
	assert_int_equal(egress_packet(&q), TC_ACT_OK);
	events_consume();

	/* A flow the endpoint never had (another source port). */
	p = build(&other);
	err = port_unreachable(PEER_IP, EP_IP, &p);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS);
	assert_int_equal(events[0].protocol, IPPROTO_ICMP);
	assert_int_equal(events[0].sport, 0);

	/*
	 * Quotes that cannot be used are no parse error, just not related:
	 * cut before the ports; cut inside the quoted IPv4 header (10 of its
	 * 20 bytes left); a quoted non-first fragment, whose payload (0xab
	 * bytes) must not pass for the ports of a flow that has them.
	 */
	err = icmp_error(unreach, ICMP_PORT_UNREACH, &q, 2);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
	err = icmp_error(unreach, ICMP_PORT_UNREACH, &q, 8);
	assert_int_equal(
	    run_raw(skel->progs.warden_to_container, err.data, err.len - 8 - 10),
	    TC_ACT_SHOT);
	fragment.frag_off = 185;
	p = build(&fragment);
	ct_put(&(struct flow){.protocol = IPPROTO_UDP,
			      .saddr = EP_IP,
			      .daddr = PEER_IP,
			      .sport = 0xabab,
			      .dport = 0xabab},
	       WARDEN_DIR_EGRESS);
	err = port_unreachable(PEER_IP, EP_IP, &p);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
	/* Redirects are never related: they would change the pod's routes. */
	err = icmp_error(icmp_flow(PEER_IP, EP_IP, ICMP_REDIRECT, 0), 1, &q, 8);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
	/*
	 * Nor is an error about an error, even one the endpoint sent (and
	 * tracked, as any allowed ICMP; from a router, so that the error is
	 * not the portless "reply" of that entry).
	 */
	policy_set(0, WARDEN_DIR_EGRESS, IPPROTO_ICMP, ICMP_DEST_UNREACH << 8, 96,
		   WARDEN_POLICY_ALLOW, 8);
	p = build(&own_error);
	assert_int_equal(egress_packet(&p), TC_ACT_OK);
	assert_true(ct_get(&own_error, WARDEN_DIR_EGRESS, &(struct warden_ct_value){0}));
	err = icmp_error(icmp_flow(WORLD_IP, EP_IP, ICMP_DEST_UNREACH, 0), 1, &p, 8);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);

	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 6);
	assert_int_equal(metrics(WARDEN_DROP_INVALID_PACKET, WARDEN_DIR_INGRESS), 0);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 0);

	/* Policy still decides them: allowed ICMP unreachables come in. */
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_ICMP,
		   ICMP_DEST_UNREACH << 8, 96, WARDEN_POLICY_ALLOW, 9);
	p = build(&other);
	err = port_unreachable(PEER_IP, EP_IP, &p);
	assert_int_equal(ingress_packet(&err), TC_ACT_OK);
}

static void test_icmp_error_quoting_revoked_flow_dropped(void **state)
{
	struct flow syn = establish_http();
	struct flow ack = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK);
	const uint32_t enforced = WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS;
	struct packet a = build(&ack);
	struct packet err = icmp_error(icmp_flow(WORLD_IP, EP_IP, ICMP_DEST_UNREACH, 0),
				       ICMP_FRAG_NEEDED, &a, 8);
	struct warden_ct_value v;

	(void)state;
	assert_int_equal(ingress_packet(&err), TC_ACT_OK);

	/*
	 * A new revision the flow has not been checked against: the error is
	 * not taken as related (it does not re-check the flow itself), policy
	 * judges it. The flow's next packet re-checks it, and its errors are
	 * related again.
	 */
	endpoint_set(enforced, 2);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.policy_revision, 1);
	assert_int_equal(egress_packet(&a), TC_ACT_OK);
	assert_int_equal(ingress_packet(&err), TC_ACT_OK);

	/* Revoked: its errors are dropped as well. */
	policy_del(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96);
	endpoint_set(enforced, 3);
	assert_int_equal(egress_packet(&a), TC_ACT_SHOT);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_true(v.flags & WARDEN_CT_REVOKED);
	events_consume();
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 2);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS);
	assert_int_equal(events[0].protocol, IPPROTO_ICMP);
}

/*
 * The quote must fit the error: it goes to the quoted packet's sender, and
 * the quoted packet's address on the endpoint's side is the endpoint's.
 * The CT entries put here for other addresses make sure it is that check,
 * not a missing entry, that stops them.
 */
static void test_icmp_error_addresses_must_fit(void **state)
{
	struct flow datagram = udp_flow(PEER_IP, 5000, EP_IP, 9999);
	struct flow received_elsewhere = udp_flow(PEER_IP, 5000, OTHER_IP, 9999);
	struct flow sent_elsewhere = udp_flow(OTHER_IP, 33333, PEER_IP, 53);
	struct packet d = build(&datagram), p, err;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 9999, 96,
		   WARDEN_POLICY_ALLOW, 7);
	assert_int_equal(ingress_packet(&d), TC_ACT_OK);

	/* Egress: the endpoint's error about the datagram goes to its sender... */
	err = port_unreachable(EP_IP, PEER_IP, &d);
	assert_int_equal(egress_packet(&err), TC_ACT_OK);
	/* ...and to nobody else: no quoting a flow to reach another peer. */
	err = port_unreachable(EP_IP, OTHER_IP, &d);
	assert_int_equal(egress_packet(&err), TC_ACT_SHOT);
	/* Nor about a packet another address received. */
	ct_put(&received_elsewhere, WARDEN_DIR_INGRESS);
	p = build(&received_elsewhere);
	err = port_unreachable(EP_IP, PEER_IP, &p);
	assert_int_equal(egress_packet(&err), TC_ACT_SHOT);

	/* Ingress: about a packet another address sent, to it or to the endpoint. */
	ct_put(&sent_elsewhere, WARDEN_DIR_EGRESS);
	p = build(&sent_elsewhere);
	err = port_unreachable(PEER_IP, OTHER_IP, &p);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);
	err = port_unreachable(PEER_IP, EP_IP, &p);
	assert_int_equal(ingress_packet(&err), TC_ACT_SHOT);

	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS), 2);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 2);
}

/* ---- tests: audit ------------------------------------------------------ */

static void assert_audit_event(const struct warden_event *e, uint8_t reason,
			       uint8_t direction, uint32_t cookie)
{
	assert_int_equal(e->type, WARDEN_EVENT_AUDIT);
	assert_int_equal(e->reason, reason);
	assert_int_equal(e->direction, direction);
	assert_int_equal(e->rule_cookie, cookie);
	assert_int_equal(e->flags, 0);
}

/* Endpoint audit mode: policy drops are forwarded and reported as audit. */
static void test_audit_mode_forwards_policy_drops(void **state)
{
	struct flow syn = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct flow denied = tcp_flow(EP_IP, 40001, PEER_IP, 443, TCP_SYN);
	struct warden_ct_value v;

	(void)state;
	/* Reject asked for too: audit mode never answers, it forwards. */
	endpoint_set(
	    WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_AUDIT_MODE | WARDEN_EP_REJECT_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 443, 96,
		   WARDEN_POLICY_DENY | WARDEN_POLICY_REJECT, 0x50005);

	/* Default deny would drop it. */
	assert_int_equal(egress(syn), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	/* A deny entry would drop it. */
	assert_int_equal(egress(denied), TC_ACT_OK);
	assert_true(ct_get(&denied, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.rule_cookie, 0x50005);
	assert_int_equal(v.proxy_port, 0);

	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 2);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS), 0);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_DENY, WARDEN_DIR_EGRESS), 0);
	assert_int_equal(events_consume(), 2);
	assert_audit_event(&events[0], WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS, 0);
	assert_int_equal(events[0].dst_identity, PEER_IDENTITY);
	assert_int_equal(events[0].dport, htons(80));
	assert_audit_event(&events[1], WARDEN_DROP_POLICY_DENY, WARDEN_DIR_EGRESS,
			   0x50005);

	/* Later packets of the flow are established: no more events. */
	assert_int_equal(egress(tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK)), TC_ACT_OK);
	assert_int_equal(events_consume(), 0);

	/* Audit mode covers policy only: a spoofed source is still dropped. */
	assert_int_equal(egress(tcp_flow("10.0.1.99", 1, PEER_IP, 80, TCP_SYN)),
			 TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_SPOOFED_SOURCE, WARDEN_DIR_EGRESS), 1);
}

/* Audit-mode policies: enforced allow, audit deny -> forward + AUDIT event. */
static void test_audit_policies_deny_reported(void **state)
{
	struct flow audited = tcp_flow(PEER_IP, 40000, EP_IP, 80, TCP_SYN);
	struct flow allowed = tcp_flow(PEER_IP, 40000, EP_IP, 8080, TCP_SYN);
	struct warden_ct_value v;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_AUDIT_POLICIES, 1);
	policy_set_audit(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96,
			 WARDEN_POLICY_ALLOW, 0x10001, WARDEN_POLICY_DENY, 0x20002);
	policy_set_audit(0, WARDEN_DIR_INGRESS, IPPROTO_TCP, 8080, 96,
			 WARDEN_POLICY_ALLOW, 0x30003, WARDEN_POLICY_ALLOW, 0x30003);

	assert_int_equal(ingress(audited), TC_ACT_OK);
	assert_true(ct_get(&audited, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.rule_cookie, 0x20002);
	assert_int_equal(ingress(allowed), TC_ACT_OK);

	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 2);
	assert_int_equal(events_consume(), 2);
	assert_audit_event(&events[0], WARDEN_DROP_POLICY_DENY, WARDEN_DIR_INGRESS,
			   0x20002);
	assert_int_equal(events[0].src_identity, PEER_IDENTITY);
	assert_int_equal(events[1].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[1].rule_cookie, 0x30003);

	/* An audit deny in the any-peer entry counts as well. */
	policy_set_audit(0, WARDEN_DIR_INGRESS, IPPROTO_TCP, 8080, 96,
			 WARDEN_POLICY_ALLOW, 0x30003, WARDEN_POLICY_DENY, 0x40004);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 40001, EP_IP, 8080, TCP_SYN)),
			 TC_ACT_OK);
	assert_int_equal(events_consume(), 1);
	assert_audit_event(&events[0], WARDEN_DROP_POLICY_DENY, WARDEN_DIR_INGRESS,
			   0x40004);

	/* An enforced deny stays a drop: audit policies cannot allow. */
	policy_set_audit(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 22, 96,
			 WARDEN_POLICY_DENY, 0x60006, WARDEN_POLICY_ALLOW, 0x70007);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 22, TCP_SYN)), TC_ACT_SHOT);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY_DENY, WARDEN_DIR_INGRESS);
	assert_int_equal(events[0].rule_cookie, 0x60006);
}

/* The audit default deny names the audit policy: audit_default_cookie. */
static void test_audit_policies_default_deny_cookie(void **state)
{
	struct flow covered = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct flow uncovered = tcp_flow(EP_IP, 40000, PEER_IP, 81, TCP_SYN);

	(void)state;
	/* Not enforced on egress; an audit-mode policy would default-deny it. */
	endpoint_set_audit(WARDEN_EP_AUDIT_POLICIES | WARDEN_EP_AUDIT_ENFORCE_EGRESS, 1,
			   0x1ffff, 0x2ffff);
	policy_set_audit(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96, 0, 0,
			 WARDEN_POLICY_ALLOW, 0x20001);

	assert_int_equal(egress(covered), TC_ACT_OK);
	assert_int_equal(egress(uncovered), TC_ACT_OK);
	/* Ingress has no audit default deny: a plain verdict. */
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 80, TCP_SYN)), TC_ACT_OK);

	assert_int_equal(events_consume(), 3);
	assert_int_equal(events[0].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[0].rule_cookie, 0);
	assert_audit_event(&events[1], WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS, 0x2ffff);
	assert_int_equal(events[2].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[2].direction, WARDEN_DIR_INGRESS);

	/* The ingress cookie for the ingress direction. */
	endpoint_set_audit(WARDEN_EP_AUDIT_POLICIES | WARDEN_EP_AUDIT_ENFORCE_INGRESS, 1,
			   0x1ffff, 0x2ffff);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 2, EP_IP, 80, TCP_SYN)), TC_ACT_OK);
	assert_int_equal(events_consume(), 1);
	assert_audit_event(&events[0], WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS, 0x1ffff);
}

/* Without WARDEN_EP_AUDIT_POLICIES the audit halves mean nothing. */
static void test_audit_fields_ignored_without_flag(void **state)
{
	(void)state;
	endpoint_set_audit(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_AUDIT_ENFORCE_INGRESS |
			       WARDEN_EP_AUDIT_ENFORCE_EGRESS,
			   1, 0x1ffff, 0x2ffff);
	policy_set_audit(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96,
			 WARDEN_POLICY_ALLOW, 0x10001, WARDEN_POLICY_DENY, 0x20002);
	policy_set_audit(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 81, 96, 0, 0,
			 WARDEN_POLICY_ALLOW, 0x30003);

	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 80, TCP_SYN)), TC_ACT_OK);
	/* An audit allow does not allow. */
	assert_int_equal(ingress(tcp_flow(PEER_IP, 1, EP_IP, 81, TCP_SYN)), TC_ACT_SHOT);
	/* No audit default deny either. */
	assert_int_equal(egress(tcp_flow(EP_IP, 1, PEER_IP, 80, TCP_SYN)), TC_ACT_OK);

	assert_int_equal(events_consume(), 3);
	assert_int_equal(events[0].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[0].rule_cookie, 0x10001);
	assert_drop_event(&events[1], WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS);
	assert_int_equal(events[1].rule_cookie, 0);
	assert_int_equal(events[2].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[2].rule_cookie, 0);
}

/* An audited flow is tracked: replies pass, revision re-checks keep it. */
static void test_audit_flow_tracked(void **state)
{
	struct flow syn = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct flow synack = tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_SYN | TCP_ACK);
	struct flow ack = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK);
	const uint32_t enforced = WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS;
	struct warden_ct_value v;

	(void)state;
	endpoint_set(enforced | WARDEN_EP_AUDIT_MODE, 1);
	assert_int_equal(egress(syn), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.remote_identity, PEER_IDENTITY);
	/* The reply is a reply, not an ingress flow of its own. */
	assert_int_equal(ingress(synack), TC_ACT_OK);
	assert_false(ct_get(&synack, WARDEN_DIR_INGRESS, &v));
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_SEEN_REPLY);
	assert_int_equal(events_consume(), 1);
	assert_audit_event(&events[0], WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS, 0);

	/* A new revision, still audited: allowed, no revocation, no event. */
	endpoint_set(enforced | WARDEN_EP_AUDIT_MODE, 2);
	assert_int_equal(egress(ack), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.policy_revision, 2);
	assert_false(v.flags & WARDEN_CT_REVOKED);
	assert_int_equal(events_consume(), 0);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 2);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 1);

	/* Audit mode off: the flow is judged for real and cut. */
	endpoint_set(enforced, 3);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_ACK)),
			 TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_INGRESS), 1);
}

/* ---- tests: reject ----------------------------------------------------- */

/* The Internet checksum of len bytes, continuing from sum (host order). */
static uint16_t inet_csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The answer in r must be a frame from `from` to `to` with the MACs of
 * put_eth() swapped, a plain IPv4 header (checksum right) of protocol and
 * ip_len bytes; returns where its L4 header is.
 */
static const uint8_t *assert_answer(const struct run_result *r, const char *from,
				    const char *to, uint8_t protocol, size_t ip_len)
{
	static const uint8_t pod_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t other_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};
	const struct ethhdr *eth = (const void *)r->out.data;
	struct iphdr ip;

	assert_int_equal(r->retval, TC_ACT_REDIRECT);
	assert_int_equal(r->mark & WARDEN_MARK_MASK, WARDEN_MARK_REJECT);
	assert_int_equal(r->out.len, ETH_HLEN + ip_len);
	assert_memory_equal(eth->h_dest, pod_mac, ETH_ALEN);
	assert_memory_equal(eth->h_source, other_mac, ETH_ALEN);
	assert_int_equal(eth->h_proto, htons(ETH_P_IP));

	memcpy(&ip, r->out.data + ETH_HLEN, sizeof(ip));
	assert_int_equal(ip.version, 4);
	assert_int_equal(ip.ihl, 5);
	assert_int_equal(ntohs(ip.tot_len), ip_len);
	assert_int_equal(ip.ttl, 64);
	assert_int_equal(ip.protocol, protocol);
	assert_int_equal(ntohs(ip.frag_off) & 0x3fff, 0); /* DF at most */
	assert_int_equal(ip.saddr, ip4(from));
	assert_int_equal(ip.daddr, ip4(to));
	assert_int_equal(inet_csum(&ip, sizeof(ip), 0), 0);
	return r->out.data + ETH_HLEN + sizeof(ip);
}

/* A RST from `from` to `to` in r: checks it, returns its TCP header. */
static struct tcphdr assert_rst(const struct run_result *r, const char *from,
				const char *to)
{
	const uint8_t *l4 = assert_answer(r, from, to, IPPROTO_TCP, 40);
	uint32_t pseudo = 0;
	uint32_t s = ntohl(ip4(from)), d = ntohl(ip4(to));
	struct tcphdr tcp;

	memcpy(&tcp, l4, sizeof(tcp));
	assert_int_equal(tcp.doff, 5);
	assert_int_equal(tcp.window, 0);
	/* Pseudo-header: addresses, protocol, TCP length. */
	pseudo = (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + IPPROTO_TCP + 20;
	assert_int_equal(inet_csum(l4, sizeof(tcp), pseudo), 0);
	return tcp;
}

/* An ICMP unreachable from `from` to `to` quoting the start of orig. */
static void assert_icmp_unreachable(const struct run_result *r, const char *from,
				    const char *to, const struct packet *orig,
				    size_t quote_len)
{
	const uint8_t *l4 = assert_answer(r, from, to, IPPROTO_ICMP, 20 + 8 + quote_len);

	assert_int_equal(l4[0], 3);  /* destination unreachable */
	assert_int_equal(l4[1], 13); /* communication administratively prohibited */
	assert_memory_equal(l4 + 4, ((uint8_t[4]){0}), 4);
	assert_int_equal(inet_csum(l4, 8 + quote_len, 0), 0);
	/* RFC 792: the original IP header and the first 8 bytes after it. */
	assert_memory_equal(l4 + 8, orig->data + ETH_HLEN, quote_len);
}

static void test_reject_tcp_syn_gets_rst_ack(void **state)
{
	struct flow syn = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct packet p;
	struct run_result r;
	struct tcphdr tcp;
	uint64_t bytes;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_REJECT_EGRESS, 1);
	syn.seq = 1000;
	syn.ack_seq = 0xdeadbeef; /* no ACK flag: must not be used */
	p = build(&syn);

	/* Other mark bits survive. */
	r = run_marked(skel->progs.warden_from_container, &p, 0x10000);
	tcp = assert_rst(&r, PEER_IP, EP_IP);
	assert_int_equal(r.mark, 0x10000 | WARDEN_MARK_REJECT);
	assert_int_equal(tcp.source, htons(80));
	assert_int_equal(tcp.dest, htons(40000));
	assert_int_equal(r.out.data[ETH_HLEN + 20 + 13], TCP_RST | TCP_ACK);
	assert_int_equal(ntohl(tcp.seq), 0);
	assert_int_equal(ntohl(tcp.ack_seq), 1001);

	/* Reported as the drop it is, with the flag. */
	assert_int_equal(
	    metrics_packets(EP_ID, WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS, &bytes), 1);
	assert_int_equal(bytes, p.len);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 0);
	assert_false(ct_get(&syn, WARDEN_DIR_EGRESS, &(struct warden_ct_value){0}));
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS);
	assert_int_equal(events[0].flags, WARDEN_EVENT_F_REJECTED);
	assert_int_equal(events[0].length, p.len);
	assert_int_equal(events[0].tcp_flags, TCP_SYN);

	/*
	 * Payload and FIN count too; IP options are gone from the answer. A
	 * segment without SYN could be a reply (lib/flow.h): with ingress
	 * open, it would be taken as one, so ingress is enforced here.
	 */
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS | WARDEN_EP_REJECT_EGRESS |
			 WARDEN_EP_ENFORCE_INGRESS,
		     1);
	syn.tcp_flags = TCP_FIN;
	syn.payload = 5;
	syn.ihl = 7;
	p = build(&syn);
	r = run_marked(skel->progs.warden_from_container, &p, 0);
	tcp = assert_rst(&r, PEER_IP, EP_IP);
	assert_int_equal(ntohl(tcp.ack_seq), 1000 + 5 + 1);
	assert_int_equal(r.out.data[ETH_HLEN + 20 + 13], TCP_RST | TCP_ACK);
}

static void test_reject_tcp_ack_gets_rst(void **state)
{
	struct flow seg = tcp_flow(PEER_IP, 40000, EP_IP, 80, TCP_ACK | 0x08 /* PSH */);
	struct packet p;
	struct run_result r;
	struct tcphdr tcp;

	(void)state;
	/* An ingress deny entry that asks for reject. Egress enforced too,
	 * or the segment could be the reply of a flow the pod may open. */
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_DENY | WARDEN_POLICY_REJECT, 0x50005);
	seg.seq = 5000;
	seg.ack_seq = 7777;
	seg.payload = 100;
	p = build(&seg);

	r = run_marked(skel->progs.warden_to_container, &p, 0);
	tcp = assert_rst(&r, EP_IP, PEER_IP);
	assert_int_equal(r.mark, WARDEN_MARK_REJECT);
	assert_int_equal(tcp.source, htons(80));
	assert_int_equal(tcp.dest, htons(40000));
	assert_int_equal(r.out.data[ETH_HLEN + 20 + 13], TCP_RST);
	assert_int_equal(ntohl(tcp.seq), 7777);
	assert_int_equal(tcp.ack_seq, 0);

	assert_int_equal(metrics(WARDEN_DROP_POLICY_DENY, WARDEN_DIR_INGRESS), 1);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY_DENY, WARDEN_DIR_INGRESS);
	assert_int_equal(events[0].flags, WARDEN_EVENT_F_REJECTED);
	assert_int_equal(events[0].rule_cookie, 0x50005);

	/* A deny entry without REJECT is a plain drop, endpoint flag or not. */
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_REJECT_INGRESS |
			 WARDEN_EP_ENFORCE_EGRESS,
		     1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_DENY, 0x50005);
	r = run_marked(skel->progs.warden_to_container, &p, 0);
	assert_int_equal(r.retval, TC_ACT_SHOT);
	assert_int_equal(events_consume(), 1);
	assert_int_equal(events[0].flags, 0);
	/* The endpoint flag is for default deny. */
	seg.dport = 81;
	p = build(&seg);
	assert_int_equal(run_marked(skel->progs.warden_to_container, &p, 0).retval,
			 TC_ACT_REDIRECT);
}

static void test_reject_udp_and_icmp_get_unreachable(void **state)
{
	struct flow udp = udp_flow(EP_IP, 33333, PEER_IP, 53);
	struct flow echo = icmp_flow(PEER_IP, EP_IP, ICMP_ECHO, 0x1234);
	struct flow timestamp = icmp_flow(EP_IP, PEER_IP, ICMP_TIMESTAMP, 0);
	struct flow sctp = {.protocol = IPPROTO_SCTP,
			    .saddr = EP_IP,
			    .daddr = PEER_IP,
			    .sport = 9,
			    .dport = 3868,
			    .payload = 16};
	struct flow gre = {.protocol = IPPROTO_GRE, .saddr = EP_IP, .daddr = PEER_IP};
	struct packet p;
	struct run_result r;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS |
			 WARDEN_EP_REJECT_INGRESS | WARDEN_EP_REJECT_EGRESS,
		     1);

	/* UDP from the pod: the header + 8 bytes quoted, payload cut. */
	udp.payload = 40;
	p = build(&udp);
	r = run_marked(skel->progs.warden_from_container, &p, 0);
	assert_icmp_unreachable(&r, PEER_IP, EP_IP, &p, 20 + 8);

	/* An echo request to the pod; IP options are quoted with the header. */
	echo.payload = 56;
	echo.ihl = 6;
	p = build(&echo);
	r = run_marked(skel->progs.warden_to_container, &p, 0);
	assert_icmp_unreachable(&r, EP_IP, PEER_IP, &p, 24 + 8);

	/* Other ICMP queries too. */
	p = build(&timestamp);
	r = run_marked(skel->progs.warden_from_container, &p, 0);
	assert_icmp_unreachable(&r, PEER_IP, EP_IP, &p, 20 + 8);

	/* SCTP: its whole 12-byte common header. */
	p = build(&sctp);
	r = run_marked(skel->progs.warden_from_container, &p, 0);
	assert_icmp_unreachable(&r, PEER_IP, EP_IP, &p, 20 + 12);

	/* A protocol we do not parse, shorter than 8 bytes: all of it. */
	p = build(&gre);
	r = run_marked(skel->progs.warden_from_container, &p, 0);
	assert_icmp_unreachable(&r, PEER_IP, EP_IP, &p, 20 + 4);

	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS), 4);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 1);
	assert_int_equal(events_consume(), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(events[i].flags, WARDEN_EVENT_F_REJECTED);
}

static void test_reject_never_answers_errors_resets_fragments(void **state)
{
	struct flow unreach = icmp_flow(PEER_IP, EP_IP, 3, 0);
	struct flow exceeded = icmp_flow(PEER_IP, EP_IP, 11, 0);
	struct flow rst = tcp_flow(PEER_IP, 40000, EP_IP, 80, TCP_RST | TCP_ACK);
	struct flow frag = udp_flow(PEER_IP, 5000, EP_IP, 53);
	struct flow multicast = udp_flow(EP_IP, 5353, "224.0.0.251", 5353);
	struct flow broadcast = udp_flow(EP_IP, 68, "255.255.255.255", 67);
	struct flow spoofed = tcp_flow("10.0.1.99", 40000, PEER_IP, 80, TCP_SYN);
	const struct flow *never[] = {&unreach, &exceeded, &rst, &frag};
	struct packet p;

	(void)state;
	frag.frag_off = 185;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS |
			 WARDEN_EP_REJECT_INGRESS | WARDEN_EP_REJECT_EGRESS,
		     1);
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		p = build(never[i]);
		assert_int_equal(
		    run_marked(skel->progs.warden_to_container, &p, 0).retval,
		    TC_ACT_SHOT);
	}
	p = build(&multicast);
	assert_int_equal(run_marked(skel->progs.warden_from_container, &p, 0).retval,
			 TC_ACT_SHOT);
	p = build(&broadcast);
	assert_int_equal(run_marked(skel->progs.warden_from_container, &p, 0).retval,
			 TC_ACT_SHOT);
	/* Not a policy drop: never answered. */
	p = build(&spoofed);
	assert_int_equal(run_marked(skel->progs.warden_from_container, &p, 0).retval,
			 TC_ACT_SHOT);

	assert_int_equal(events_consume(), 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal(events[i].flags, 0);
	assert_int_equal(events[3].reason, WARDEN_DROP_FRAGMENT);
	assert_int_equal(events[6].reason, WARDEN_DROP_SPOOFED_SOURCE);
}

static void test_reject_not_for_revoked_flows(void **state)
{
	struct flow syn = establish_http();
	const uint32_t flags = WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS |
			       WARDEN_EP_REJECT_INGRESS | WARDEN_EP_REJECT_EGRESS;
	struct flow ack = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_ACK);
	struct packet p = build(&ack);

	(void)state;
	(void)syn;
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_DENY | WARDEN_POLICY_REJECT, 0x50005);
	endpoint_set(flags, 2);
	assert_int_equal(run_marked(skel->progs.warden_from_container, &p, 0).retval,
			 TC_ACT_SHOT);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_EGRESS);
	assert_int_equal(events[0].flags, 0);
}

/* The answer passes the other program of the veth once, mark cleared. */
static void test_reject_mark_passes_once(void **state)
{
	struct flow in = tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_RST);
	/* What the pod's egress would see of an answer: the peer's source. */
	struct flow out = tcp_flow(PEER_IP, 80, EP_IP, 40000, TCP_RST);
	struct packet p;
	struct run_result r;
	struct warden_endpoint_key key = {.ifindex = TEST_IFINDEX};

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);

	p = build(&in);
	r = run_marked(skel->progs.warden_to_container, &p, 0x10000 | WARDEN_MARK_REJECT);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark, 0x10000);
	assert_int_equal(r.out.len, p.len);
	assert_memory_equal(r.out.data, p.data, p.len);

	p = build(&out);
	r = run_marked(skel->progs.warden_from_container, &p, WARDEN_MARK_REJECT);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark, 0);

	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 1);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(map_count(skel->maps.warden_ct), 0);
	assert_int_equal(events_consume(), 0);

	/* Once: without the mark the same packets are judged (and dropped). */
	assert_int_equal(run_marked(skel->progs.warden_from_container, &p, 0).retval,
			 TC_ACT_SHOT);
	p = build(&in);
	assert_int_equal(run_marked(skel->progs.warden_to_container, &p, 0).retval,
			 TC_ACT_SHOT);
	/* Other marks are no pass. */
	assert_int_equal(run_marked(skel->progs.warden_to_container, &p, 0x200).retval,
			 TC_ACT_SHOT);

	/* Passes even where the endpoint is gone (nothing to count it for). */
	assert_int_equal(
	    bpf_map__delete_elem(skel->maps.warden_endpoints, &key, sizeof(key), 0), 0);
	assert_int_equal(
	    run_marked(skel->progs.warden_to_container, &p, WARDEN_MARK_REJECT).retval,
	    TC_ACT_OK);
}

/*
 * The whole reject path between two local pods, taking turns on the test
 * interface: A's UDP query is allowed out and tracked; B's ingress
 * (default deny, reject) answers it with an ICMP unreachable; the answer
 * passes B's other hook once; then it reaches A's warden_to_container,
 * where A's ingress is default deny too, and passes as related to A's
 * query, so A's client fails at once instead of timing out.
 */
static void test_reject_answer_reaches_local_sender(void **state)
{
	struct flow query = udp_flow(EP_IP, 33333, PEER_IP, 53);
	const uint32_t b_id = 8;
	struct packet q = build(&query), answer;
	struct run_result r;

	(void)state;
	setup_egress_dns();
	assert_int_equal(egress_packet(&q), TC_ACT_OK);

	/* B, at PEER_IP: the query arrives (from A's veth) and is rejected. */
	endpoint_set_as(b_id, PEER_IDENTITY, PEER_IP,
			WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_REJECT_INGRESS);
	r = run_marked_from(skel->progs.warden_to_container, &q, 0, TEST_IFINDEX);
	assert_icmp_unreachable(&r, PEER_IP, EP_IP, &q, 20 + 8);
	answer = r.out;
	/* Into the host through B's veth: its egress hook lets it pass once. */
	r = run_marked(skel->progs.warden_from_container, &answer, r.mark);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark, 0);
	assert_int_equal(
	    metrics_packets(b_id, WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS, NULL), 1);
	assert_int_equal(
	    metrics_packets(b_id, WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS, NULL), 1);

	/* A again: the host routes the answer to it. */
	setup_egress_dns();
	r = run_marked(skel->progs.warden_to_container, &answer, 0);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 1);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 0);
	/* A's verdict, B's rejected drop; nothing about the answer. */
	assert_int_equal(events_consume(), 2);
	assert_int_equal(events[0].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_drop_event(&events[1], WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS);
	assert_int_equal(events[1].endpoint_id, b_id);
	assert_int_equal(events[1].flags, WARDEN_EVENT_F_REJECTED);

	/* What it was before: without A's flow, A's ingress policy drops it. */
	map_clear(skel->maps.warden_ct);
	assert_int_equal(run_marked(skel->progs.warden_to_container, &answer, 0).retval,
			 TC_ACT_SHOT);
}

/* ---- tests: reporting -------------------------------------------------- */

static void test_lost_events_counted(void **state)
{
	struct flow f = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct packet p = build(&f);
	const int runs = 20000; /* well over what 1 MiB of 88-byte records holds */
	uint64_t lost, dropped;
	int delivered;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS, 1);
	assert_int_equal(
	    run_repeat(skel->progs.warden_from_container, p.data, p.len, runs),
	    TC_ACT_SHOT);

	dropped = metrics(WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS);
	lost = metrics(WARDEN_REASON_MAX, WARDEN_DIR_EGRESS);
	delivered = events_consume();
	assert_int_equal(dropped, runs);
	assert_true(lost > 0);
	assert_true(delivered > 0);
	assert_int_equal(lost + delivered, runs);
}

/* An egress allow that names the proxy: the SYN leaves with the TO_PROXY
 * mark, its event says REDIRECTED, and so does every later client packet. */
static void test_l7_redirect_marks_and_reports(void **state)
{
	struct warden_policy_key key =
	    policy_key(0, WARDEN_DIR_EGRESS, IPPROTO_TCP, 80, WARDEN_POLICY_PREFIX_FULL);
	struct warden_policy_value value = {.flags = WARDEN_POLICY_ALLOW,
					    .rule_cookie = 0x30001,
					    .proxy_port =
						htons(WARDEN_PROXY_PORT_DEFAULT)};
	struct flow f = tcp_flow(EP_IP, 40000, PEER_IP, 80, TCP_SYN);
	struct packet p;
	struct run_result r;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_EGRESS, 1);
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_policy, &key, sizeof(key),
					      &value, sizeof(value), BPF_ANY),
			 0);
	p = build(&f);
	r = run_marked(skel->progs.warden_from_container, &p, 0);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark & WARDEN_MARK_MASK, WARDEN_MARK_TO_PROXY);
	assert_int_equal(events_consume(), 1);
	assert_int_equal(events[0].type, WARDEN_EVENT_POLICY_VERDICT);
	assert_int_equal(events[0].flags, WARDEN_EVENT_F_REDIRECTED);
	assert_int_equal(events[0].rule_cookie, 0x30001);

	/* The next segment of the flow: redirected too, no new event. */
	f.tcp_flags = TCP_ACK;
	p = build(&f);
	r = run_marked(skel->progs.warden_from_container, &p, 0);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark & WARDEN_MARK_MASK, WARDEN_MARK_TO_PROXY);
	assert_int_equal(events_consume(), 0);

	/* A plain allow of another port: no mark, no flag. */
	policy_set(0, WARDEN_DIR_EGRESS, IPPROTO_TCP, 81, WARDEN_POLICY_PREFIX_FULL,
		   WARDEN_POLICY_ALLOW, 0x30002);
	f = tcp_flow(EP_IP, 40001, PEER_IP, 81, TCP_SYN);
	p = build(&f);
	r = run_marked(skel->progs.warden_from_container, &p, 0);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark & WARDEN_MARK_MASK, 0);
	assert_int_equal(events_consume(), 1);
	assert_int_equal(events[0].flags, 0);
}

/* ---- tests: the datapath under change (issue 11) ---------------------- */

/*
 * Another local endpoint, the client: its own /32 and identity in the
 * ipcache, and its entry in warden_local_endpoints, whose veth is
 * CLIENT_VETH. Its packets reach the test endpoint's hooks from there.
 */
#define CLIENT_IP "10.0.1.9"
#define CLIENT_IDENTITY 1002
#define CLIENT_ID 11
#define CLIENT_VETH 55
#define OUTSIDE_IFINDEX 77 /* a device of the host that no endpoint owns */
#define HOST_IP "10.0.0.1"

static void client_register(void)
{
	struct warden_endpoint_addr_key addr = {.family = WARDEN_FAMILY_IPV4};
	struct warden_endpoint_info info = {
	    .endpoint_id = CLIENT_ID,
	    .identity = CLIENT_IDENTITY,
	    .policy_revision = 1,
	    .host_ifindex = CLIENT_VETH,
	};
	uint32_t a = ip4(CLIENT_IP);

	memcpy(info.ipv4, &a, 4);
	memcpy(addr.addr, &a, 4);
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_local_endpoints, &addr,
					      sizeof(addr), &info, sizeof(info), BPF_ANY),
			 0);
	ipcache_set(CLIENT_IP, 32, CLIENT_IDENTITY);
	ipcache_set(HOST_IP, 32, WARDEN_IDENTITY_HOST);
}

/* f through warden_to_container, entering the host on ingress_ifindex. */
static struct run_result ingress_from(const struct flow f, uint32_t mark,
				      uint32_t ingress_ifindex)
{
	struct packet p = build(&f);

	return run_marked_from(skel->progs.warden_to_container, &p, mark,
			       ingress_ifindex);
}

static struct run_result egress_marked(const struct flow f)
{
	struct packet p = build(&f);

	return run_marked(skel->progs.warden_from_container, &p, 0);
}

static bool revoked_get(const struct flow *f, uint8_t direction,
			struct warden_ct_revoked *record)
{
	struct warden_ct_key key = ct_key(f, direction);

	return bpf_map__lookup_elem(skel->maps.warden_ct_revoked, &key, sizeof(key),
				    record, sizeof(*record), 0) == 0;
}

/*
 * The proxy's upstream connection to the test endpoint (the server of an
 * L7 ingress rule): the server's packets of it are replies to the proxy
 * (marked for it) and keep passing when any policy change bumps the
 * revision; a change that really revokes the L7 allow still cuts it.
 */
static void test_proxied_flow_survives_revision_bumps(void **state)
{
	struct flow syn = tcp_flow(CLIENT_IP, 40000, EP_IP, 80, TCP_SYN);
	struct flow data = tcp_flow(EP_IP, 80, CLIENT_IP, 40000, TCP_ACK | 0x08);
	struct flow ack = tcp_flow(CLIENT_IP, 40000, EP_IP, 80, TCP_ACK);
	struct warden_policy_key key =
	    policy_key(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96);
	struct warden_policy_value l7 = {.flags = WARDEN_POLICY_ALLOW,
					 .rule_cookie = 0x60006,
					 .proxy_port = htons(WARDEN_PROXY_PORT_DEFAULT)};
	struct warden_ct_value v;
	struct warden_ct_revoked record;
	struct run_result r;

	(void)state;
	client_register();
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_policy, &key, sizeof(key),
					      &l7, sizeof(l7), BPF_ANY),
			 0);
	/* Straight from the client's veth, the L7 port is the proxy's. */
	r = ingress_from(syn, 0, CLIENT_VETH);
	assert_int_equal(r.retval, TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_PROXY_REQUIRED, WARDEN_DIR_INGRESS), 1);

	/* The proxy's connection, with the client's address, made here. */
	r = ingress_from(syn, WARDEN_MARK_FROM_PROXY, 0);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_PROXIED);
	assert_int_equal(v.proxy_port, 0);
	/* The server's answer goes back to the proxy's socket: marked. */
	r = egress_marked(tcp_flow(EP_IP, 80, CLIENT_IP, 40000, TCP_SYN | TCP_ACK));
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark & WARDEN_MARK_MASK, WARDEN_MARK_TO_PROXY);

	/* Unrelated changes: the revision moves, the server streams on. */
	for (uint32_t revision = 2; revision < 6; revision++) {
		endpoint_set(WARDEN_EP_ENFORCE_INGRESS, revision);
		r = egress_marked(data);
		assert_int_equal(r.retval, TC_ACT_OK);
		assert_int_equal(r.mark & WARDEN_MARK_MASK, WARDEN_MARK_TO_PROXY);
		assert_int_equal(ingress_from(ack, WARDEN_MARK_FROM_PROXY, 0).retval,
				 TC_ACT_OK);
	}
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_EGRESS), 0);
	assert_int_equal(metrics(WARDEN_DROP_PROXY_REQUIRED, WARDEN_DIR_EGRESS), 0);
	assert_true(ct_get(&syn, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.policy_revision, 5);

	/* The L7 allow revoked for real: cut, both ways, and recorded. */
	assert_int_equal(
	    bpf_map__delete_elem(skel->maps.warden_policy, &key, sizeof(key), 0), 0);
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 6);
	assert_int_equal(egress_marked(data).retval, TC_ACT_SHOT);
	assert_int_equal(ingress_from(ack, WARDEN_MARK_FROM_PROXY, 0).retval,
			 TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_INGRESS), 1);
	assert_true(revoked_get(&syn, WARDEN_DIR_INGRESS, &record));
	assert_int_equal(record.policy_revision, 6);
	assert_true(record.flags & WARDEN_CT_PROXIED);
}

/*
 * A packet sent to the endpoint that claims a local endpoint's address
 * must come from that endpoint's veth (or from the proxy, made here); one
 * that claims a host address must be made here. Checked before conntrack:
 * an established flow's tuple is no pass either.
 */
static void test_forged_sources_from_outside_dropped(void **state)
{
	struct flow dgram = udp_flow(CLIENT_IP, 5555, EP_IP, 5000);
	struct flow from_host = udp_flow(HOST_IP, 5555, EP_IP, 5000);
	struct flow from_peer = udp_flow(PEER_IP, 5555, EP_IP, 5000);

	(void)state;
	client_register();
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);
	policy_set(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 5000, 96,
		   WARDEN_POLICY_ALLOW, 0x70007);
	policy_set(WARDEN_IDENTITY_HOST, WARDEN_DIR_INGRESS, 0, 0, 72,
		   WARDEN_POLICY_ALLOW, 0x70008);
	policy_set(PEER_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 5000, 96,
		   WARDEN_POLICY_ALLOW, 0x70009);

	/* From where they live: pass (and the client's flow is tracked). */
	assert_int_equal(ingress_from(dgram, 0, CLIENT_VETH).retval, TC_ACT_OK);
	assert_int_equal(ingress_from(from_host, 0, 0).retval, TC_ACT_OK);
	assert_int_equal(ingress_from(dgram, WARDEN_MARK_FROM_PROXY, 0).retval,
			 TC_ACT_OK);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_INGRESS), 3);
	events_consume();

	/* The same, from a device of the host no endpoint owns: dropped. */
	assert_int_equal(ingress_from(dgram, 0, OUTSIDE_IFINDEX).retval, TC_ACT_SHOT);
	assert_int_equal(events_consume(), 1);
	assert_drop_event(&events[0], WARDEN_DROP_SPOOFED_PEER, WARDEN_DIR_INGRESS);
	assert_int_equal(events[0].src_identity, CLIENT_IDENTITY);
	assert_int_equal(ingress_from(from_host, 0, OUTSIDE_IFINDEX).retval, TC_ACT_SHOT);
	/* From another endpoint's veth, or made here without the proxy's
	 * mark, or with the mark but from outside: dropped too. */
	assert_int_equal(ingress_from(dgram, 0, TEST_IFINDEX).retval, TC_ACT_SHOT);
	assert_int_equal(ingress_from(dgram, 0, 0).retval, TC_ACT_SHOT);
	assert_int_equal(
	    ingress_from(dgram, WARDEN_MARK_FROM_PROXY, OUTSIDE_IFINDEX).retval,
	    TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_SPOOFED_PEER, WARDEN_DIR_INGRESS), 5);
	/* An endpoint identity's address that no local endpoint has. */
	ipcache_set("10.0.1.66", 32, CLIENT_IDENTITY);
	assert_int_equal(
	    ingress_from(udp_flow("10.0.1.66", 5555, EP_IP, 5000), 0, CLIENT_VETH).retval,
	    TC_ACT_SHOT);
	/* Addresses of world and CIDR identities are policy's business. */
	assert_int_equal(ingress_from(from_peer, 0, OUTSIDE_IFINDEX).retval, TC_ACT_OK);
	assert_int_equal(metrics(WARDEN_DROP_SPOOFED_PEER, WARDEN_DIR_INGRESS), 6);
	/* The endpoint's own egress: its own address only, as before. */
	assert_int_equal(egress(udp_flow(CLIENT_IP, 5555, PEER_IP, 53)), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_SPOOFED_SOURCE, WARDEN_DIR_EGRESS), 1);
}

#define OTHER_FLOWS 2048

/*
 * The conntrack entry of `flow` (direction) is evicted: the LRU decides
 * when that happens (the kernel's choice, approximate and per CPU, so no
 * test can make it evict a given entry in bounded time), so the entry is
 * deleted here, and OTHER_FLOWS flows of another endpoint go through the
 * program, as the traffic that would have evicted it. Then the test
 * endpoint is back on the test interface with `flags` and `revision`.
 */
static void ct_evict(const struct flow *flow, uint8_t direction, uint32_t flags,
		     uint32_t revision)
{
	struct flow f = udp_flow("10.0.9.9", 1024, WORLD_IP, 1024);
	struct warden_ct_key key = ct_key(flow, direction);
	struct warden_ct_value v;
	struct packet p;

	assert_int_equal(bpf_map__delete_elem(skel->maps.warden_ct, &key, sizeof(key), 0),
			 0);
	endpoint_set_as(9, 9009, "10.0.9.9", 0);
	p = build(&f);
	for (int sent = 0; sent < OTHER_FLOWS; sent++) {
		/* The ports of the UDP header: source, destination. */
		uint16_t ports[2] = {htons(1024), htons(1024 + sent)};

		memcpy(p.data + ETH_HLEN + 20, ports, sizeof(ports));
		assert_int_equal(egress_packet(&p), TC_ACT_OK);
	}
	assert_false(ct_get(flow, direction, &v));
	endpoint_set(flags, revision);
	map_clear(skel->maps.warden_metrics);
	events_consume();
}

/*
 * A revoked flow whose conntrack entry other traffic evicted stays cut:
 * the server pushing data, which its open egress would allow as a new
 * flow, is dropped as revoked, and the client's segments too.
 */
static void test_revoked_flow_stays_dead_after_eviction(void **state)
{
	struct flow syn = tcp_flow(CLIENT_IP, 40000, EP_IP, 7000, TCP_SYN);
	struct flow push = tcp_flow(EP_IP, 7000, CLIENT_IP, 40000, TCP_ACK | 0x08);
	struct flow ack = tcp_flow(CLIENT_IP, 40000, EP_IP, 7000, TCP_ACK);
	const uint32_t flags = WARDEN_EP_ENFORCE_INGRESS;
	struct warden_ct_revoked record;

	(void)state;
	client_register();
	endpoint_set(flags, 1);
	policy_set(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 7000, 96,
		   WARDEN_POLICY_ALLOW, 0x80008);
	assert_int_equal(ingress_from(syn, 0, CLIENT_VETH).retval, TC_ACT_OK);
	assert_int_equal(egress(push), TC_ACT_OK);
	/* Revoked. */
	policy_del(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 7000, 96);
	endpoint_set(flags, 2);
	assert_int_equal(egress(push), TC_ACT_SHOT);
	assert_true(revoked_get(&syn, WARDEN_DIR_INGRESS, &record));

	ct_evict(&syn, WARDEN_DIR_INGRESS, flags, 2);
	/* Only revocations write the records: the other flows left it, and
	 * added none. */
	assert_true(revoked_get(&syn, WARDEN_DIR_INGRESS, &record));
	assert_int_equal(map_count(skel->maps.warden_ct_revoked), 1);

	/* The server's next segment: not a new egress flow, still revoked. */
	assert_int_equal(egress(push), TC_ACT_SHOT);
	assert_int_equal(ingress_from(ack, 0, CLIENT_VETH).retval, TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(metrics(WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_INGRESS), 1);
	/* Reported as the revocation was: the default deny decided it. */
	assert_int_equal(events_consume(), 2);
	assert_drop_event(&events[0], WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_EGRESS);
	assert_drop_event(&events[1], WARDEN_DROP_POLICY_REVOKED, WARDEN_DIR_INGRESS);
	assert_int_equal(record.rule_cookie, 0);
	assert_int_equal(events[0].rule_cookie, record.rule_cookie);
	assert_false(ct_get(&push, WARDEN_DIR_EGRESS, &(struct warden_ct_value){0}));

	/* A bare SYN reusing the tuple is judged as new (denied) and leaves
	 * the record: the server's data still finds it. */
	assert_int_equal(ingress_from(syn, 0, CLIENT_VETH).retval, TC_ACT_SHOT);
	assert_int_equal(egress(push), TC_ACT_SHOT);
	assert_true(revoked_get(&syn, WARDEN_DIR_INGRESS, &record));

	/* Allowed again by a later revision: the record goes, the flow is back. */
	policy_set(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 7000, 96,
		   WARDEN_POLICY_ALLOW, 0x80009);
	endpoint_set(flags, 3);
	assert_int_equal(egress(push), TC_ACT_OK);
	assert_false(revoked_get(&syn, WARDEN_DIR_INGRESS, &record));
}

/*
 * A server whose egress is default deny keeps answering after its flow's
 * entry was evicted: its TCP segment is taken as a reply of what its
 * ingress allows, and the entry is recreated. Its UDP answer is not (a
 * datagram cannot be told from a new flow: egress policy judges it); the
 * client's next query recreates the entry, and the answer passes again.
 */
static void test_reply_after_eviction_with_egress_default_deny(void **state)
{
	struct flow syn = tcp_flow(CLIENT_IP, 40000, EP_IP, 80, TCP_SYN);
	struct flow data = tcp_flow(EP_IP, 80, CLIENT_IP, 40000, TCP_ACK | 0x08);
	struct flow query = udp_flow(CLIENT_IP, 33333, EP_IP, 53);
	struct flow answer = udp_flow(EP_IP, 53, CLIENT_IP, 33333);
	const uint32_t flags = WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS;
	struct warden_ct_value v;

	(void)state;
	client_register();
	endpoint_set(flags, 1);
	policy_set(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96,
		   WARDEN_POLICY_ALLOW, 0x90001);
	policy_set(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 53, 96,
		   WARDEN_POLICY_ALLOW, 0x90002);
	assert_int_equal(ingress_from(syn, 0, CLIENT_VETH).retval, TC_ACT_OK);
	assert_int_equal(egress(data), TC_ACT_OK);
	assert_int_equal(ingress_from(query, 0, CLIENT_VETH).retval, TC_ACT_OK);

	ct_evict(&syn, WARDEN_DIR_INGRESS, flags, 1);
	ct_evict(&query, WARDEN_DIR_INGRESS, flags, 1);
	/* The server's segment and answer: replies, entries recreated. */
	assert_int_equal(egress(data), TC_ACT_OK);
	assert_true(ct_get(&syn, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_SEEN_REPLY);
	assert_int_equal(v.rule_cookie, 0x90001);
	assert_lifetime(&v, WARDEN_CT_TCP_ESTABLISHED_NS);
	/* The client's next segment is the flow's again. */
	assert_int_equal(
	    ingress_from(tcp_flow(CLIENT_IP, 40000, EP_IP, 80, TCP_ACK), 0, CLIENT_VETH)
		.retval,
	    TC_ACT_OK);
	assert_int_equal(metrics(WARDEN_REASON_FORWARDED, WARDEN_DIR_EGRESS), 1);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS), 0);
	/* No new-flow event: this flow had its verdict. */
	assert_int_equal(events_consume(), 0);

	/* The UDP answer: egress default deny drops it, no entry is made. */
	assert_int_equal(egress(answer), TC_ACT_SHOT);
	assert_false(ct_get(&query, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_EGRESS), 1);
	/* The client's next query recreates the flow; the answer passes. */
	assert_int_equal(ingress_from(query, 0, CLIENT_VETH).retval, TC_ACT_OK);
	assert_int_equal(egress(answer), TC_ACT_OK);
	events_consume();

	/* Still what the ingress allows only: another source port, no. */
	assert_int_equal(egress(tcp_flow(EP_IP, 81, CLIENT_IP, 40000, TCP_ACK)),
			 TC_ACT_SHOT);
	assert_int_equal(egress(udp_flow(EP_IP, 54, CLIENT_IP, 33333)), TC_ACT_SHOT);
	/* A bare SYN is never a reply. */
	assert_int_equal(egress(tcp_flow(EP_IP, 80, CLIENT_IP, 40001, TCP_SYN)),
			 TC_ACT_SHOT);
}

/*
 * The client side: a TCP segment whose flow the endpoint opened (its
 * egress allows it) comes back after the entry is gone, through an
 * ingress in default deny: a reply. A datagram is not taken the same
 * way (that would open every port to the peer's source port).
 */
static void test_reply_after_eviction_client_side(void **state)
{
	struct flow back = tcp_flow(PEER_IP, 443, EP_IP, 40000, TCP_ACK | 0x08);
	struct flow dns_back = udp_flow(PEER_IP, 53, EP_IP, 33333);
	struct warden_ct_value v;

	(void)state;
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_TCP, 443, 96,
		   WARDEN_POLICY_ALLOW, 0xa0001);
	policy_set(PEER_IDENTITY, WARDEN_DIR_EGRESS, IPPROTO_UDP, 53, 96,
		   WARDEN_POLICY_ALLOW, 0xa0002);
	assert_int_equal(ingress(back), TC_ACT_OK);
	assert_true(ct_get(&(struct flow){.protocol = IPPROTO_TCP,
					  .saddr = EP_IP,
					  .daddr = PEER_IP,
					  .sport = 40000,
					  .dport = 443},
			   WARDEN_DIR_EGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_SEEN_REPLY);
	assert_int_equal(v.rule_cookie, 0xa0001);
	assert_int_equal(ingress(dns_back), TC_ACT_SHOT);
	assert_int_equal(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS), 1);
	/* Not from another port, and not a bare SYN. */
	assert_int_equal(ingress(tcp_flow(PEER_IP, 444, EP_IP, 40000, TCP_ACK)),
			 TC_ACT_SHOT);
	assert_int_equal(ingress(tcp_flow(PEER_IP, 443, EP_IP, 40001, TCP_SYN)),
			 TC_ACT_SHOT);
}

/*
 * The proxy's connection to the endpoint lost its entry (a server with an
 * L7 ingress rule and no egress policy): the server's next segment would
 * be allowed as a new egress flow of its own, but it is the reply on the
 * proxy's connection: recreated as such and marked for the proxy.
 */
static void test_evicted_proxied_flow_reply_goes_to_proxy(void **state)
{
	struct flow syn = tcp_flow(CLIENT_IP, 40000, EP_IP, 80, TCP_SYN);
	struct flow data = tcp_flow(EP_IP, 80, CLIENT_IP, 40000, TCP_ACK | 0x08);
	struct warden_policy_key key =
	    policy_key(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 80, 96);
	struct warden_policy_value l7 = {.flags = WARDEN_POLICY_ALLOW,
					 .rule_cookie = 0xb0001,
					 .proxy_port = htons(WARDEN_PROXY_PORT_DEFAULT)};
	struct warden_ct_value v;
	struct run_result r;

	(void)state;
	client_register();
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS, 1);
	assert_int_equal(bpf_map__update_elem(skel->maps.warden_policy, &key, sizeof(key),
					      &l7, sizeof(l7), BPF_ANY),
			 0);
	assert_int_equal(ingress_from(syn, WARDEN_MARK_FROM_PROXY, 0).retval, TC_ACT_OK);
	map_clear(skel->maps.warden_ct); /* evicted */
	r = egress_marked(data);
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark & WARDEN_MARK_MASK, WARDEN_MARK_TO_PROXY);
	assert_true(ct_get(&syn, WARDEN_DIR_INGRESS, &v));
	assert_int_equal(v.flags, WARDEN_CT_SEEN_REPLY | WARDEN_CT_PROXIED);
	assert_false(ct_get(&data, WARDEN_DIR_EGRESS, &v));
	/* An unrelated segment of the server's own is its own egress flow. */
	r = egress_marked(tcp_flow(EP_IP, 8080, PEER_IP, 9000, TCP_ACK));
	assert_int_equal(r.retval, TC_ACT_OK);
	assert_int_equal(r.mark & WARDEN_MARK_MASK, 0);
}

/* A small deterministic generator, so a failure replays (xorshift32). */
static uint32_t rnd_next(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

#define RANDOM_PACKETS 20000

/*
 * Invariants over random packets through both programs (fixed seed):
 * sources among the client, the host, the peer group, the world and the
 * endpoint itself, entering on the client's veth, another device or the
 * host, with or without the proxy's mark; TCP (random flags), UDP and
 * ICMP to random low ports. Policy: ingress allows only the client to
 * UDP 5000 and TCP 7000; egress enforced with no rule. Every packet:
 *
 *  - a spoofed source is never forwarded: at egress, a source other than
 *    the endpoint's; at ingress, the client's address from anywhere but
 *    its veth (or the proxy's mark, made on the host), the host's from
 *    anywhere but the host;
 *  - what policy denies is never forwarded: at ingress only the allowed
 *    (client, protocol, port) pass (conntrack entries exist only for
 *    flows policy allowed, and egress allows nothing a reply could use);
 *    at egress only replies of flows ingress allowed.
 *
 * Positive control: some packets of the allowed flows are forwarded.
 */
static void test_random_packets_keep_invariants(void **state)
{
	static const char *const sources[] = {CLIENT_IP, HOST_IP, PEER_IP, WORLD_IP,
					      OTHER_IP};
	static const uint32_t ifindexes[] = {CLIENT_VETH, OUTSIDE_IFINDEX, 0,
					     TEST_IFINDEX};
	static const uint8_t protocols[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
	uint32_t seed = 0x11dead11, forwarded_allowed = 0, forwarded_egress = 0;

	(void)state;
	client_register();
	endpoint_set(WARDEN_EP_ENFORCE_INGRESS | WARDEN_EP_ENFORCE_EGRESS, 1);
	policy_set(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_UDP, 5000, 96,
		   WARDEN_POLICY_ALLOW, 0xc0001);
	policy_set(CLIENT_IDENTITY, WARDEN_DIR_INGRESS, IPPROTO_TCP, 7000, 96,
		   WARDEN_POLICY_ALLOW, 0xc0002);

	for (int i = 0; i < RANDOM_PACKETS; i++) {
		uint32_t r = rnd_next(&seed), r2 = rnd_next(&seed);
		const char *src = sources[r % 5];
		uint32_t from = ifindexes[(r >> 3) % 4];
		uint32_t mark = (r >> 5) & 1 ? WARDEN_MARK_FROM_PROXY : 0;
		uint8_t protocol = protocols[(r >> 6) % 3];
		/* Low ports, so that allowed ones come up: 4998-5001, 6999-7002. */
		uint16_t port = ((r >> 8) & 1 ? 4998 : 6999) + ((r >> 9) & 3);
		uint16_t other_port = 40000 + (r2 & 7);
		bool to_endpoint = (r2 >> 3) & 3;
		struct flow f;
		struct run_result res;

		if (to_endpoint) {
			if (protocol == IPPROTO_TCP)
				f = tcp_flow(src, other_port, EP_IP, port,
					     (r2 >> 5) & 0x3f);
			else if (protocol == IPPROTO_UDP)
				f = udp_flow(src, other_port, EP_IP, port);
			else
				f = icmp_flow(src, EP_IP, (r2 >> 5) & 1 ? 8 : 0,
					      other_port);
			res = ingress_from(f, mark, from);
			if (res.retval != TC_ACT_OK)
				continue;
			/* Spoofing: the client only from its veth or the proxy. */
			if (!strcmp(src, CLIENT_IP))
				assert_true(
				    from == CLIENT_VETH ||
				    (from == 0 && mark == WARDEN_MARK_FROM_PROXY));
			if (!strcmp(src, HOST_IP))
				assert_int_equal(from, 0);
			/* Policy: the client to UDP 5000 or TCP 7000, nothing else. */
			assert_string_equal(src, CLIENT_IP);
			assert_true((protocol == IPPROTO_UDP && port == 5000) ||
				    (protocol == IPPROTO_TCP && port == 7000));
			forwarded_allowed++;
		} else {
			/* The endpoint sends, from its address or another. */
			const char *own = (r2 >> 5) & 1 ? EP_IP : src;

			if (protocol == IPPROTO_TCP)
				f = tcp_flow(own, port, src, other_port,
					     (r2 >> 6) & 0x3f);
			else if (protocol == IPPROTO_UDP)
				f = udp_flow(own, port, src, other_port);
			else
				f = icmp_flow(own, src, (r2 >> 6) & 1 ? 8 : 0,
					      other_port);
			res = egress_marked(f);
			if (res.retval != TC_ACT_OK)
				continue;
			assert_string_equal(own, EP_IP);
			/* Only replies of what ingress allowed: to the client,
			 * from the allowed ports. */
			assert_string_equal(src, CLIENT_IP);
			assert_true((protocol == IPPROTO_UDP && port == 5000) ||
				    (protocol == IPPROTO_TCP && port == 7000));
			forwarded_egress++;
		}
	}
	print_message(
	    "      %d random packets: %u allowed forwarded in, %u replies out\n",
	    RANDOM_PACKETS, forwarded_allowed, forwarded_egress);
	assert_true(forwarded_allowed > 0);
	assert_true(forwarded_egress > 0);
	assert_true(metrics(WARDEN_DROP_SPOOFED_PEER, WARDEN_DIR_INGRESS) > 0);
	assert_true(metrics(WARDEN_DROP_SPOOFED_SOURCE, WARDEN_DIR_EGRESS) > 0);
	assert_true(metrics(WARDEN_DROP_POLICY, WARDEN_DIR_INGRESS) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_unknown_endpoint_dropped, test_setup),
	    cmocka_unit_test_setup(test_arp_passes, test_setup),
	    cmocka_unit_test_setup(test_ipv6_dropped, test_setup),
	    cmocka_unit_test_setup(test_malformed_ipv4_dropped, test_setup),
	    cmocka_unit_test_setup(test_ip_options_skipped, test_setup),
	    cmocka_unit_test_setup(test_no_policy_not_enforced_passes, test_setup),
	    cmocka_unit_test_setup(test_enforced_no_entry_dropped, test_setup),
	    cmocka_unit_test_setup(test_l3_allow_by_identity, test_setup),
	    cmocka_unit_test_setup(test_l4_port_allow, test_setup),
	    cmocka_unit_test_setup(test_l7_redirect_marks_and_reports, test_setup),
	    cmocka_unit_test_setup(test_port_range_via_prefixes, test_setup),
	    cmocka_unit_test_setup(test_deny_beats_allow, test_setup),
	    cmocka_unit_test_setup(test_identity_allow_cookie_preferred, test_setup),
	    cmocka_unit_test_setup(test_world_identity_on_ipcache_miss, test_setup),
	    cmocka_unit_test_setup(test_spoofed_source_dropped, test_setup),
	    cmocka_unit_test_setup(test_sctp_ports_and_portless_protocols, test_setup),
	    cmocka_unit_test_setup(test_fragments_need_any_port_allow, test_setup),
	    cmocka_unit_test_setup(test_ct_tcp_reply_passes, test_setup),
	    cmocka_unit_test_setup(test_ct_tcp_midstream_judged_by_policy, test_setup),
	    cmocka_unit_test_setup(test_ct_expired_entry_is_absent, test_setup),
	    cmocka_unit_test_setup(test_ct_udp, test_setup),
	    cmocka_unit_test_setup(test_ct_icmp_echo, test_setup),
	    cmocka_unit_test_setup(test_revocation_cuts_established_flow, test_setup),
	    cmocka_unit_test_setup(test_revocation_seen_on_reply, test_setup),
	    cmocka_unit_test_setup(test_revocation_keeps_allowed_flow, test_setup),
	    cmocka_unit_test_setup(test_syn_reusing_revoked_tuple_is_judged_new,
				   test_setup),
	    cmocka_unit_test_setup(test_revocation_icmp_reply_checks_request_type,
				   test_setup),
	    cmocka_unit_test_setup(test_icmp_error_port_unreachable_related, test_setup),
	    cmocka_unit_test_setup(test_icmp_error_frag_needed_related, test_setup),
	    cmocka_unit_test_setup(test_icmp_error_from_endpoint_related, test_setup),
	    cmocka_unit_test_setup(test_icmp_error_quoting_echo_related, test_setup),
	    cmocka_unit_test_setup(test_icmp_error_without_flow_judged_by_policy,
				   test_setup),
	    cmocka_unit_test_setup(test_icmp_error_quoting_revoked_flow_dropped,
				   test_setup),
	    cmocka_unit_test_setup(test_icmp_error_addresses_must_fit, test_setup),
	    cmocka_unit_test_setup(test_audit_mode_forwards_policy_drops, test_setup),
	    cmocka_unit_test_setup(test_audit_policies_deny_reported, test_setup),
	    cmocka_unit_test_setup(test_audit_policies_default_deny_cookie, test_setup),
	    cmocka_unit_test_setup(test_audit_fields_ignored_without_flag, test_setup),
	    cmocka_unit_test_setup(test_audit_flow_tracked, test_setup),
	    cmocka_unit_test_setup(test_reject_tcp_syn_gets_rst_ack, test_setup),
	    cmocka_unit_test_setup(test_reject_tcp_ack_gets_rst, test_setup),
	    cmocka_unit_test_setup(test_reject_udp_and_icmp_get_unreachable, test_setup),
	    cmocka_unit_test_setup(test_reject_never_answers_errors_resets_fragments,
				   test_setup),
	    cmocka_unit_test_setup(test_reject_not_for_revoked_flows, test_setup),
	    cmocka_unit_test_setup(test_reject_mark_passes_once, test_setup),
	    cmocka_unit_test_setup(test_reject_answer_reaches_local_sender, test_setup),
	    cmocka_unit_test_setup(test_lost_events_counted, test_setup),
	    cmocka_unit_test_setup(test_proxied_flow_survives_revision_bumps, test_setup),
	    cmocka_unit_test_setup(test_forged_sources_from_outside_dropped, test_setup),
	    cmocka_unit_test_setup(test_revoked_flow_stays_dead_after_eviction,
				   test_setup),
	    cmocka_unit_test_setup(test_reply_after_eviction_with_egress_default_deny,
				   test_setup),
	    cmocka_unit_test_setup(test_reply_after_eviction_client_side, test_setup),
	    cmocka_unit_test_setup(test_evicted_proxied_flow_reply_goes_to_proxy,
				   test_setup),
	    cmocka_unit_test_setup(test_random_packets_keep_invariants, test_setup),
	};

	return cmocka_run_group_tests_name("bpf/datapath", tests, group_setup,
					   group_teardown);
}
