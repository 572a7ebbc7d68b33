// SPDX-License-Identifier: Apache-2.0
/*
 * CNI spec versions. We speak 0.3.0, 0.3.1 and 0.4.0 (one result format:
 * each IP entry carries "version") and 1.0.0 and 1.1.0 (the same without
 * it; 1.1.0 adds GC and STATUS). 0.1.0/0.2.0 had another result format
 * (ip4/ip6 objects) that no runtime we target still uses.
 */
#include <stdio.h>
#include <string.h>

#include "cni.h"

const char *const cni_supported_versions[] = {"0.3.0", "0.3.1", "0.4.0",
					      "1.0.0", "1.1.0", NULL};

bool cni_version__supported(const char *version)
{
	for (size_t i = 0; version && cni_supported_versions[i]; i++)
		if (!strcmp(version, cni_supported_versions[i]))
			return true;
	return false;
}

static void parse(const char *v, unsigned int out[3])
{
	out[0] = out[1] = out[2] = 0;
	if (v && sscanf(v, "%u.%u.%u", &out[0], &out[1], &out[2]) < 1)
		out[0] = out[1] = out[2] = 0;
}

int cni_version__compare(const char *a, const char *b)
{
	unsigned int va[3], vb[3];

	parse(a, va);
	parse(b, vb);
	for (int i = 0; i < 3; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

bool cni_version__is_1x(const char *version)
{
	return cni_version__compare(version, "1.0.0") >= 0;
}
