// SPDX-License-Identifier: Apache-2.0
/*
 * Drives lib/host/netdev.c (and the CNI variant's timing) for
 * tests/host/test_netdev.sh, on real namespaces:
 *   netdev-probe host-setup CIDR GATEWAY      gateway on lo, unreachable CIDR
 *   netdev-probe host-teardown CIDR GATEWAY
 *   netdev-probe create ID ADDRESS GATEWAY    prints "NETNS HOST_IFNAME IFINDEX"
 *   netdev-probe destroy ID ADDRESS
 *   netdev-probe sweep                        netdev__sweep_stale()
 *   netdev-probe redirect-setup PORT          redirect__setup() (lib/host/redirect.c)
 *   netdev-probe redirect-teardown
 *   netdev-probe bench N FIRST_ADDRESS GATEWAY
 *       N endpoints created, then destroyed; prints the p50/p99 of each
 *   netdev-probe bench-cni N FIRST_ADDRESS GATEWAY NETNS_DIR_PREFIX
 *       N attachments into the namespaces NETNS_DIR_PREFIX1..N (made by the
 *       caller, as a runtime would), then detached; p50/p99 of each
 * Endpoint namespaces take the prefix WARDEN_NETNS_PREFIX (default warden-),
 * as wardend's do. Errors go to stderr with exit 1.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warden/netdev.h"
#include "warden/netdev_cni.h"
#include "warden/redirect.h"

static const char *prefix(void)
{
	const char *p = getenv("WARDEN_NETNS_PREFIX");

	return p && *p ? p : NETDEV_NETNS_PREFIX;
}

static int parse_addr(const char *s, uint32_t *out)
{
	if (inet_pton(AF_INET, s, out) != 1) {
		fprintf(stderr, "not an IPv4 address: %s\n", s);
		return -1;
	}
	return 0;
}

static int parse_cidr(const char *s, uint32_t *net, int *len)
{
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash) {
		fprintf(stderr, "not a CIDR: %s\n", s);
		return -1;
	}
	*slash = '\0';
	*len = atoi(slash + 1);
	return parse_addr(buf, net);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples. */
static double percentile(const double *sorted, int n, int pct)
{
	int rank = (pct * n + 99) / 100;

	return sorted[rank < 1 ? 0 : rank - 1];
}

static void report(const char *what, double *ms, int n)
{
	qsort(ms, n, sizeof(*ms), cmp_double);
	printf("%s p50 %.2f ms p99 %.2f ms max %.2f ms (n=%d)\n", what,
	       percentile(ms, n, 50), percentile(ms, n, 99), ms[n - 1], n);
}

static void endpoint_init(struct netdev_endpoint *ep, uint32_t id, uint32_t ipv4)
{
	memset(ep, 0, sizeof(*ep));
	ep->id = id;
	ep->ipv4 = ipv4;
	/* What create fills, for a destroy in another process. */
	snprintf(ep->netns, sizeof(ep->netns), "%s%u", prefix(), id);
	snprintf(ep->host_ifname, sizeof(ep->host_ifname), NETDEV_VETH_PREFIX "%u", id);
}

static int bench(int n, uint32_t first, uint32_t gw)
{
	struct netdev_endpoint *eps = calloc(n, sizeof(*eps));
	double *create = calloc(n, sizeof(double)), *destroy = calloc(n, sizeof(double));
	char err[1024];
	int made = 0, ret = 1;

	if (!eps || !create || !destroy)
		goto out;
	for (; made < n; made++) {
		double t0 = now_ms();

		endpoint_init(&eps[made], 1000 + made, htonl(ntohl(first) + made));
		if (netdev_endpoint__create(&eps[made], prefix(), gw, err, sizeof(err))) {
			fprintf(stderr, "create %d: %s\n", made, err);
			goto out;
		}
		create[made] = now_ms() - t0;
	}
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();

		netdev_endpoint__destroy(&eps[i]);
		destroy[i] = now_ms() - t0;
	}
	made = 0;
	report("netdev_endpoint__create", create, n);
	report("netdev_endpoint__destroy", destroy, n);
	ret = 0;
out:
	for (int i = 0; i < made; i++)
		netdev_endpoint__destroy(&eps[i]);
	free(eps);
	free(create);
	free(destroy);
	return ret;
}

static int bench_cni(int n, uint32_t first, uint32_t gw, const char *ns_prefix)
{
	double *attach = calloc(n, sizeof(double)), *detach = calloc(n, sizeof(double));
	char err[1024], cid[32], path[256];
	struct netdev_cni att;
	int made = 0, ret = 1;

	if (!attach || !detach)
		goto out;
	for (; made < n; made++) {
		double t0 = now_ms();

		snprintf(cid, sizeof(cid), "bench%04d", made);
		snprintf(path, sizeof(path), "%s%d", ns_prefix, made + 1);
		if (netdev_cni__attach(&att, cid, "eth0", path,
				       htonl(ntohl(first) + made), gw, err,
				       sizeof(err))) {
			fprintf(stderr, "attach %d: %s\n", made, err);
			goto out;
		}
		attach[made] = now_ms() - t0;
	}
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();

		snprintf(cid, sizeof(cid), "bench%04d", i);
		netdev_cni__detach(cid, "eth0");
		detach[i] = now_ms() - t0;
	}
	made = 0;
	report("netdev_cni__attach", attach, n);
	report("netdev_cni__detach", detach, n);
	ret = 0;
out:
	for (int i = 0; i < made; i++) {
		snprintf(cid, sizeof(cid), "bench%04d", i);
		netdev_cni__detach(cid, "eth0");
	}
	free(attach);
	free(detach);
	return ret;
}

static int usage(const char *argv0)
{
	fprintf(
	    stderr,
	    "usage: %s host-setup|host-teardown CIDR GW | create ID ADDR GW |\n"
	    "       destroy ID ADDR | sweep | redirect-setup PORT | redirect-teardown |\n"
	    "       bench N ADDR GW |\n"
	    "       bench-cni N ADDR GW NETNS_DIR_PREFIX\n",
	    argv0);
	return 2;
}

int main(int argc, char **argv)
{
	struct netdev_endpoint ep;
	uint32_t net, addr, gw;
	char err[1024];
	int len;

	if (argc < 2)
		return usage(argv[0]);
	if (!strcmp(argv[1], "host-setup") && argc == 4) {
		if (parse_cidr(argv[2], &net, &len) || parse_addr(argv[3], &gw))
			return 2;
		if (netdev_host__setup(net, len, gw, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[1], "host-teardown") && argc == 4) {
		if (parse_cidr(argv[2], &net, &len) || parse_addr(argv[3], &gw))
			return 2;
		netdev_host__teardown(net, len, gw);
		return 0;
	}
	if (!strcmp(argv[1], "create") && argc == 5) {
		if (parse_addr(argv[3], &addr) || parse_addr(argv[4], &gw))
			return 2;
		endpoint_init(&ep, (uint32_t)strtoul(argv[2], NULL, 10), addr);
		if (netdev_endpoint__create(&ep, prefix(), gw, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%s %s %d\n", ep.netns, ep.host_ifname, ep.host_ifindex);
		return 0;
	}
	if (!strcmp(argv[1], "destroy") && argc == 4) {
		if (parse_addr(argv[3], &addr))
			return 2;
		endpoint_init(&ep, (uint32_t)strtoul(argv[2], NULL, 10), addr);
		netdev_endpoint__destroy(&ep);
		return 0;
	}
	if (!strcmp(argv[1], "sweep") && argc == 2) {
		netdev__sweep_stale(prefix());
		return 0;
	}
	if (!strcmp(argv[1], "redirect-setup") && argc == 3) {
		/* The default pod CIDR, 10.200.0.0/16: only the rule text uses it. */
		if (redirect__setup((uint16_t)atoi(argv[2]), htonl(0x0ac80000u), 16, err,
				    sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[1], "redirect-teardown") && argc == 2) {
		redirect__teardown();
		return 0;
	}
	if (!strcmp(argv[1], "bench") && argc == 5) {
		if (parse_addr(argv[3], &addr) || parse_addr(argv[4], &gw))
			return 2;
		return bench(atoi(argv[2]), addr, gw);
	}
	if (!strcmp(argv[1], "bench-cni") && argc == 6) {
		if (parse_addr(argv[3], &addr) || parse_addr(argv[4], &gw))
			return 2;
		return bench_cni(atoi(argv[2]), addr, gw, argv[5]);
	}
	return usage(argv[0]);
}
