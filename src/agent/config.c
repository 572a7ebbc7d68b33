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
	    "  --metrics-address IP:PORT  Prometheus endpoint (default 127.0.0.1:9962,\n"
	    "                    \"\" to disable)\n"
	    "  --deny-response drop|reject  what a policy-denied packet gets by "
	    "default:\n"
	    "                    silence, or a TCP RST / ICMP unreachable (default "
	    "drop;\n"
	    "                    a policy may override it, docs/policy-modes.md)\n"
	    "  --netns-prefix P  endpoint network namespaces are named P<id> (default\n"
	    "                    \"warden-\", or $WARDEN_NETNS_PREFIX); agents that "
	    "serve\n"
	    "                    different network namespaces on one machine need\n"
	    "                    different prefixes\n"
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
	case 'P':
		config->proxy_port = (uint16_t)atoi(arg);
		if (!config->proxy_port) {
			fprintf(stderr, "wardend: --proxy-port needs a port number\n");
			return -EINVAL;
		}
		break;
	case 'c': {
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
	    {"netns-prefix", required_argument, NULL, 'n'},
	    {"socket-group", required_argument, NULL, 'g'},
	    {"max-clients", required_argument, NULL, 'c'},
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
