// SPDX-License-Identifier: Apache-2.0
/* Fault injection for tests (include/warden/fault.h). */
#include <string.h>

#include "warden/fault.h"
#include "warden/log.h"

static const char *const names[FAULT_POINT_COUNT] = {
    [FAULT_MAP_WRITE] = "map-write",
    [FAULT_PROXY_WRITE] = "proxy-write",
    [FAULT_PROXY_REJECT] = "proxy-reject",
    [FAULT_NETDEV] = "netdev",
};

/* Hits left before the failing one (0: disarmed), and failures so far. */
static unsigned int countdown[FAULT_POINT_COUNT];
static unsigned int fired[FAULT_POINT_COUNT];

const char *fault__name(enum fault_point point)
{
	return point < FAULT_POINT_COUNT ? names[point] : "?";
}

int fault__parse(const char *name)
{
	for (int i = 0; i < FAULT_POINT_COUNT; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

void fault__arm(enum fault_point point, unsigned int nth)
{
	if (point < FAULT_POINT_COUNT)
		countdown[point] = nth;
}

bool fault__hit(enum fault_point point)
{
	if (point >= FAULT_POINT_COUNT || !countdown[point])
		return false;
	if (--countdown[point])
		return false;
	fired[point]++;
	pr_warn("test hook: injected a failure at %s\n", names[point]);
	return true;
}

unsigned int fault__fired(enum fault_point point)
{
	return point < FAULT_POINT_COUNT ? fired[point] : 0;
}
