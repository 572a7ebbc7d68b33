// SPDX-License-Identifier: Apache-2.0
/* nftables TPROXY rules and policy routing for the L7 redirect; see
 * redirect.h for what each piece does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "warden/abi/maps.h"
#include "warden/netdev.h"
#include "warden/redirect.h"

#define STR_(x) #x
#define STR(x) STR_(x)

int redirect__setup(uint16_t proxy_port, const char *work_dir, char *err, size_t err_len)
{
	char path[512], mark[32];
	FILE *f;
	int ret;

	redirect__teardown();
	snprintf(path, sizeof(path), "%s/redirect.nft", work_dir);
	f = fopen(path, "w");
	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "write %s: %s", path, strerror(errno));
		return ret;
	}
	fprintf(
	    f,
	    "table ip " REDIRECT_NFT_TABLE " {\n"
	    "  chain prerouting {\n"
	    "    type filter hook prerouting priority mangle; policy accept;\n"
	    /* Not for a bare SYN: it may hit a TIME_WAIT socket of the
	     * proxy and must go to the listener instead. */
	    "    meta l4proto tcp tcp flags & (syn | ack) != syn socket transparent 1 "
	    "meta mark set %#x accept\n"
	    "    meta l4proto tcp meta mark & %#x == %#x tproxy to 127.0.0.1:%u accept\n"
	    "    meta mark & %#x == %#x drop\n"
	    "  }\n"
	    "}\n",
	    WARDEN_MARK_TO_PROXY, WARDEN_MARK_MASK, WARDEN_MARK_TO_PROXY, proxy_port,
	    WARDEN_MARK_MASK, WARDEN_MARK_TO_PROXY);
	fclose(f);

	snprintf(mark, sizeof(mark), "%#x/%#x", WARDEN_MARK_TO_PROXY, WARDEN_MARK_MASK);
	const char *nft[] = {"nft", "-f", path, NULL};
	const char *rule[] = {
	    "ip",   "rule", "add", "fwmark", mark, "lookup", REDIRECT_ROUTE_TABLE,
	    "pref", "9000", NULL};
	const char *route[] = {"ip",	"route",     "replace",
			       "local", "0.0.0.0/0", "dev",
			       "lo",	"table",     REDIRECT_ROUTE_TABLE,
			       NULL};
	const char *const *steps[] = {nft, rule, route};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char out[512];

		ret = netdev__run(steps[i], out, sizeof(out));
		if (ret) {
			snprintf(err, err_len, "%s %s: %s", steps[i][0], steps[i][1],
				 out[0] ? out : "failed");
			redirect__teardown();
			return ret < 0 ? ret : -EIO;
		}
	}
	unlink(path);
	return 0;
}

void redirect__teardown(void)
{
	const char *nft[] = {"nft", "delete", "table", "ip", REDIRECT_NFT_TABLE, NULL};
	const char *rule[] = {"ip", "rule", "del", "pref", "9000", NULL};
	const char *route[] = {"ip", "route", "flush", "table", REDIRECT_ROUTE_TABLE,
			       NULL};

	netdev__run(nft, NULL, 0);
	/* Several copies can exist after a crash; remove them all. */
	while (netdev__run(rule, NULL, 0) == 0)
		;
	netdev__run(route, NULL, 0);
}
