// SPDX-License-Identifier: Apache-2.0
/*
 * wardend's options: defaults, parsing and checks. Nothing here touches the
 * host; a bad option is reported and the agent does not start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "config.h"
#include "warden/abi/maps.h"
#include "warden/netdev.h"
#include "warden/prefix.h"

#define METRICS_ADDRESS_DEFAULT "127.0.0.1:9962"
#define MAX_CLIENTS_DEFAULT 1024

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: wardend [--state-dir DIR] [--socket PATH] [--pod-cidr CIDR] "
	    "[-v|--debug]\n"
	    "  --state-dir DIR   lock file and state (default /var/lib/warden)\n"
	    "  --socket PATH     control socket (default /run/warden/warden.sock)\n"
	    "  --pod-cidr CIDR   IPv4 range for endpoints (default 10.200.0.0/16)\n"
	    "  --proxy-port PORT the L7 proxy's listener (default 15001)\n"
	    "  --proxy-workers N the L7 proxy's worker threads (default: one per CPU)\n"
	    "  --proxy-max-conns N  the L7 proxy's connections per worker (default "
	    "4096)\n"
	    "  --proxy-max-conns-per-source N  the L7 proxy's connections from one\n"
	    "                    address (default: a quarter of all workers' cap)\n"
	    "  --metrics-address IP:PORT  Prometheus endpoint (default 127.0.0.1:9962,\n"
	    "                    \"\" to disable)\n"
	    "  --deny-response drop|reject  what a policy-denied packet gets by "
	    "default:\n"
	    "                    silence, or a TCP RST / ICMP unreachable (default "
	    "drop;\n"
	    "                    a policy may override it, docs/policy-modes.md)\n"
	    "  --netns-prefix P  endpoint network namespaces are named P<id> (default\n"
	    "                    \"warden-\", or $WARDEN_NETNS_PREFIX); agents\n"
	    "                    that serve different network namespaces on one\n"
	    "                    machine need different prefixes\n"
	    "  --cidr-rules-select-pods  CiliumNetworkPolicy toCIDR/fromCIDR/CIDRSet\n"
	    "                    rules also select the pods inside their CIDRs, as\n"
	    "                    NetworkPolicy ipBlocks always do (default: they select\n"
	    "                    no pod, as in Cilium; docs/policy-semantics.md)\n"
	    "  --proxy-reload-timeout S  how long a policy update waits for the L7\n"
	    "                    proxy to confirm its new rules (default 10); after\n"
	    "                    that the update fails and the proxy is restarted\n"
	    "  --socket-group G  the control socket is 0660 root:G and members of group\n"
	    "                    G may use it (default: 0600, root only)\n"
	    "  --max-clients N   control connections served at once (default %d);\n"
	    "                    one more is refused with an error\n",
	    MAX_CLIENTS_DEFAULT);
}

static int parse_pod_cidr(const char *text, struct agent_config *config)
{
	struct policy_prefix p;
	uint32_t net;

	if (policy_prefix__parse(text, &p) || p.family != 4 || p.len > 28 || p.len < 8)
		return -EINVAL;
	memcpy(&net, p.addr, 4);
	config->pod_net = net;
	config->pod_prefix_len = p.len;
	config->gateway = htonl(ntohl(net) + 1);
	return 0;
}

/* A namespace name prefix: short, plain, and not ending in a digit (so that
 * "<prefix><id>" cannot be read as another prefix's name). */
static bool netns_prefix_valid(const char *prefix)
{
	size_t n = strlen(prefix);

	if (!n || n > NETDEV_NETNS_PREFIX_MAX ||
	    (prefix[n - 1] >= '0' && prefix[n - 1] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((prefix[i] >= 'a' && prefix[i] <= 'z') ||
		      (prefix[i] >= '0' && prefix[i] <= '9') || prefix[i] == '-' ||
		      prefix[i] == '_'))
			return false;
	return true;
}

/* A number 1..max into *out; -EINVAL otherwise. */
static int parse_positive(const char *text, unsigned long max, unsigned int *out)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || !value || value > max)
		return -EINVAL;
	*out = (unsigned int)value;
	return 0;
}

/* Options with no letter of their own: past every char value. */
enum {
	OPT_CIDR_RULES_SELECT_PODS = 256,
	OPT_MAX_CLIENTS,
};

/*
 * Test hooks, from the environment (docs/control-protocol.md, "Test
 * hooks"): WARDEN_TEST_HOOKS=1 enables the `test.fault` control command;
 * WARDEN_TEST_MAP_MAX="warden_policy=64,warden_ipcache=32,..." shrinks maps
 * (warden_endpoints also sizes warden_local_endpoints) so that tests can
 * fill them quickly. Unset, nothing changes.
 */
static int test_hooks_parse(struct agent_config *config)
{
	static const struct {
		const char *name;
		enum datapath_map map;
	} maps[] = {
	    {"warden_policy", DATAPATH_MAP_POLICY},
	    {"warden_ipcache", DATAPATH_MAP_IPCACHE},
	    {"warden_endpoints", DATAPATH_MAP_ENDPOINTS},
	    {"warden_ct", DATAPATH_MAP_CT},
	    {"warden_metrics", DATAPATH_MAP_METRICS},
	};
	const char *hooks = getenv("WARDEN_TEST_HOOKS"),
		   *sizes = getenv("WARDEN_TEST_MAP_MAX");
	char copy[512], *item, *save = NULL;

	config->test_hooks = hooks && !strcmp(hooks, "1");
	if (!sizes || !*sizes)
		return 0;
	if (strlen(sizes) >= sizeof(copy)) {
		fprintf(stderr, "wardend: WARDEN_TEST_MAP_MAX is too long\n");
		return -EINVAL;
	}
	strcpy(copy, sizes);
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *end;
		unsigned long n;
		size_t i;

		if (!eq)
			goto bad;
		*eq = '\0';
		n = strtoul(eq + 1, &end, 10);
		if (*end || !n || n > UINT32_MAX)
			goto bad;
		for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
			if (!strcmp(item, maps[i].name))
				break;
		if (i == sizeof(maps) / sizeof(maps[0]))
			goto bad;
		config->map_max_entries[maps[i].map] = (uint32_t)n;
		if (maps[i].map == DATAPATH_MAP_ENDPOINTS)
			config->map_max_entries[DATAPATH_MAP_LOCAL_ENDPOINTS] =
			    (uint32_t)n;
	}
	fprintf(stderr, "wardend: test hook: map sizes %s (WARDEN_TEST_MAP_MAX)\n",
		sizes);
	return 0;
bad:
	fprintf(stderr,
		"wardend: WARDEN_TEST_MAP_MAX: expected MAP=N,... with MAP one of "
		"warden_policy, warden_ipcache, warden_endpoints, warden_ct, "
		"warden_metrics (got '%s')\n",
		sizes);
	return -EINVAL;
}

/* Where an option that is just a string goes (NULL: not such an option). */
static const char **string_option(struct agent_config *config, int opt)
{
	switch (opt) {
	case 's':
		return &config->state_dir;
	case 'S':
		return &config->socket_path;
	case 'p':
		return &config->pod_cidr;
	case 'm':
		return &config->metrics_address;
	case 'n':
		return &config->netns_prefix;
	case 'g':
		return &config->socket_group;
	}
	return NULL;
}

/* One option into config; -EINVAL after saying what was wrong. */
static int parse_option(struct agent_config *config, int opt, const char *arg)
{
	const char **string = string_option(config, opt);

	if (string) {
		*string = arg;
		return 0;
	}
	switch (opt) {
	case 'W':
		config->proxy_workers = (unsigned int)atoi(arg);
		if (config->proxy_workers < 1 || config->proxy_workers > 256) {
			fprintf(stderr, "wardend: --proxy-workers takes 1..256\n");
			return -EINVAL;
		}
		break;
	case 'C':
	case 'c':
		if (parse_positive(arg, opt == 'C' ? 1u << 20 : UINT32_MAX,
				   opt == 'C' ? &config->proxy_max_conns
					      : &config->proxy_max_conns_per_source)) {
			fprintf(stderr,
				"wardend: --proxy-max-conns%s takes a positive number\n",
				opt == 'C' ? "" : "-per-source");
			return -EINVAL;
		}
		break;
	case 'd':
		if (strcmp(arg, "drop") && strcmp(arg, "reject")) {
			fprintf(
			    stderr,
			    "wardend: --deny-response takes drop or reject, not '%s'\n",
			    arg);
			return -EINVAL;
		}
		config->reject_by_default = !strcmp(arg, "reject");
		break;
	case 'T': {
		char *end;
		double seconds = strtod(arg, &end);

		if (end == arg || *end || !(seconds >= 0.05 && seconds <= 3600)) {
			fprintf(stderr,
				"wardend: --proxy-reload-timeout takes 0.05 to "
				"3600 seconds, not '%s'\n",
				arg);
			return -EINVAL;
		}
		config->proxy_reload_timeout_ms = (unsigned int)(seconds * 1000);
		break;
	}
	case 'P':
		config->proxy_port = (uint16_t)atoi(arg);
		if (!config->proxy_port) {
			fprintf(stderr, "wardend: --proxy-port needs a port number\n");
			return -EINVAL;
		}
		break;
	case OPT_MAX_CLIENTS: {
		char *end;
		unsigned long n = strtoul(arg, &end, 10);

		if (*end || end == arg || n < 1 || n > 65536) {
			fprintf(stderr, "wardend: --max-clients takes 1..65536\n");
			return -EINVAL;
		}
		config->max_clients = (unsigned int)n;
		break;
	}
	case 'v':
		config->debug = true;
		break;
	case OPT_CIDR_RULES_SELECT_PODS:
		config->cidr_rules_select_pods = true;
		break;
	default:
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int agent_config__parse(struct agent_config *config, int argc, char **argv)
{
	static const struct option options[] = {
	    {"state-dir", required_argument, NULL, 's'},
	    {"socket", required_argument, NULL, 'S'},
	    {"pod-cidr", required_argument, NULL, 'p'},
	    {"proxy-port", required_argument, NULL, 'P'},
	    {"metrics-address", required_argument, NULL, 'm'},
	    {"deny-response", required_argument, NULL, 'd'},
	    {"proxy-workers", required_argument, NULL, 'W'},
	    {"proxy-max-conns", required_argument, NULL, 'C'},
	    {"proxy-max-conns-per-source", required_argument, NULL, 'c'},
	    {"netns-prefix", required_argument, NULL, 'n'},
	    {"cidr-rules-select-pods", no_argument, NULL, OPT_CIDR_RULES_SELECT_PODS},
	    {"proxy-reload-timeout", required_argument, NULL, 'T'},
	    {"socket-group", required_argument, NULL, 'g'},
	    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
	    {"debug", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	*config = (struct agent_config){
	    .state_dir = "/var/lib/warden",
	    .socket_path = "/run/warden/warden.sock",
	    .pod_cidr = "10.200.0.0/16",
	    .proxy_port = WARDEN_PROXY_PORT_DEFAULT,
	    .metrics_address = METRICS_ADDRESS_DEFAULT,
	    .netns_prefix = NETDEV_NETNS_PREFIX,
	    .proxy_reload_timeout_ms = 10000,
	    .max_clients = MAX_CLIENTS_DEFAULT,
	};
	/* A test node sets the prefix for every agent it runs (tests/node.sh). */
	if (getenv("WARDEN_NETNS_PREFIX") && *getenv("WARDEN_NETNS_PREFIX"))
		config->netns_prefix = getenv("WARDEN_NETNS_PREFIX");
	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return CONFIG_HELP;
		}
		if (parse_option(config, opt, optarg))
			return -EINVAL;
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (!netns_prefix_valid(config->netns_prefix)) {
		fprintf(stderr,
			"wardend: --netns-prefix '%s': 1 to %d characters of a-z, 0-9, "
			"'-' and "
			"'_', not ending in a digit\n",
			config->netns_prefix, NETDEV_NETNS_PREFIX_MAX);
		return -EINVAL;
	}
	if (test_hooks_parse(config))
		return -EINVAL;
	if (config->socket_group && !getgrnam(config->socket_group)) {
		fprintf(stderr, "wardend: --socket-group %s: no such group\n",
			config->socket_group);
		return -EINVAL;
	}
	if (parse_pod_cidr(config->pod_cidr, config)) {
		fprintf(stderr,
			"wardend: --pod-cidr %s: expected an IPv4 network /8 to /28\n",
			config->pod_cidr);
		return -EINVAL;
	}
	return 0;
}
