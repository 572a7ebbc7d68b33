// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the policy parser: any bytes in, no crash, no leak,
 * no out-of-bounds read (the input is not NUL-terminated). `make fuzz` builds
 * and runs it; by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_policy_parse.c lib/policy/policy_parse*.c \
 *     lib/policy/policy_free.c lib/identity/labels.c lib/identity/selector.c \
 *     lib/identity/prefix.c lib/base/errbuf.c -lyaml -lpcre2-8 -o fuzz_policy_parse
 *   ./fuzz_policy_parse ../shared/corpus/cilium ../shared/corpus/k8s-recipes
 */
#include <stddef.h>
#include <stdint.h>

#include "warden/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_set set = {0};
	struct policy_diag diag = {0};
	char line[1024];
	size_t i;

	/* Exercise both sides of the L7 HTTP switch. */
	diag.allow_http = size & 1;
	policy_parse_buffer("fuzz", (const char *)data, size, &set, &diag);
	policy_diag_entry__format(&diag.error, line, sizeof(line));
	for (i = 0; i < diag.warning_count; i++)
		policy_diag_entry__format(&diag.warnings[i], line, sizeof(line));
	policy_set__free(&set);
	return 0;
}
