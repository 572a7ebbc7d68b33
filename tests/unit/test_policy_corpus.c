// SPDX-License-Identifier: Apache-2.0
/*
 * The policy parser against the shared corpus of real-world policies
 * (../shared/corpus beside the checkout, or $WARDEN_CORPUS). MANIFEST.md
 * lists every file with the expected outcome:
 *  - "accept...": the parse succeeds, or fails only because the file uses a
 *    feature Warden does not support yet (diag.error.unsupported);
 *    "accept (warn: ...)" must also produce a warning;
 *  - "reject...": the parse fails with a real validation error.
 * The corpus lives beside the checkout, not in it: a clone on its own has
 * none, and then the test is reported as skipped (never as passed), with
 * the reason. With WARDEN_REQUIRE_CORPUS=1 (CI sets it) a missing corpus
 * fails, as does a manifest that does not list 125 files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "warden/policy.h"

#define CORPUS_FILES 125

struct corpus_entry {
	char path[512];
	char expected[1024];
};

static const char *corpus_dir(void)
{
	const char *dir = getenv("WARDEN_CORPUS");

	return dir && *dir ? dir : "../shared/corpus";
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/*
 * Table rows look like: | `path` | kinds | features | Expected | source |
 * Returns the number of rows read into entries (at most max), or -1.
 */
static int manifest_load(const char *dir, struct corpus_entry *entries, int max)
{
	char path[1024], line[8192];
	int count = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/MANIFEST.md", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *cols[8], *p = line, *bar;
		int n = 0;

		if (strncmp(line, "| `", 3))
			continue;
		/* Split on '|'; the leading empty field is skipped. */
		p++;
		while (n < 8 && (bar = strchr(p, '|'))) {
			*bar = '\0';
			cols[n++] = trim(p);
			p = bar + 1;
		}
		if (n < 5 || count >= max)
			continue;
		if (cols[0][0] != '`' || cols[0][strlen(cols[0]) - 1] != '`')
			continue;
		snprintf(entries[count].path, sizeof(entries[count].path), "%.*s",
			 (int)strlen(cols[0]) - 2, cols[0] + 1);
		snprintf(entries[count].expected, sizeof(entries[count].expected), "%s",
			 cols[3]);
		count++;
	}
	fclose(f);
	return count;
}

static void test_corpus(void **state)
{
	static struct corpus_entry entries[CORPUS_FILES + 16];
	int accepted = 0, unsupported = 0, rejected = 0, mismatches = 0;
	const char *dir = corpus_dir();
	struct stat st;
	int count, i;

	(void)state;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		const char *require = getenv("WARDEN_REQUIRE_CORPUS");

		if (require && !strcmp(require, "1"))
			fail_msg("corpus directory %s not found (set WARDEN_CORPUS); "
				 "WARDEN_REQUIRE_CORPUS=1 makes that a failure",
				 dir);
		print_message(
		    "skipped: the policy corpus %s is not there (it sits beside "
		    "the checkout, or set WARDEN_CORPUS)\n",
		    dir);
		skip();
	}
	count = manifest_load(dir, entries, CORPUS_FILES + 16);
	if (count != CORPUS_FILES)
		fail_msg("%s/MANIFEST.md lists %d files, expected %d", dir, count,
			 CORPUS_FILES);

	for (i = 0; i < count; i++) {
		const struct corpus_entry *e = &entries[i];
		bool want_accept = !strncmp(e->expected, "accept", 6);
		bool want_warning = !strncmp(e->expected, "accept (warn", 12);
		struct policy_set set = {0};
		struct policy_diag diag = {0};
		char path[1024], message[1024];
		const char *verdict;
		bool ok;
		int ret;

		if (!want_accept && strncmp(e->expected, "reject", 6))
			fail_msg("%s: unknown expectation \"%s\"", e->path, e->expected);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->path) >=
		    sizeof(path))
			fail_msg("corpus path too long: %s/%s", dir, e->path);
		/* As the agent parses: HTTP rules are enforced (warden-proxy). */
		diag.allow_http = true;
		ret = policy_parse_file(path, &set, &diag);
		policy_diag_entry__format(&diag.error, message, sizeof(message));

		if (!ret) {
			accepted++;
			verdict = "accept";
			ok = want_accept && (!want_warning || diag.warning_count > 0);
			printf("%-6s %-12s %s (%zu policies, %zu warnings)\n",
			       ok ? "ok" : "FAIL", verdict, e->path, set.count,
			       diag.warning_count);
			if (want_warning && !diag.warning_count)
				printf("       expected a warning: %s\n", e->expected);
		} else if (diag.error.unsupported) {
			unsupported++;
			verdict = "unsupported";
			ok = want_accept;
			printf("%-6s %-12s %s\n       %s\n", ok ? "ok" : "FAIL", verdict,
			       e->path, message);
		} else {
			rejected++;
			verdict = "reject";
			ok = !want_accept;
			printf("%-6s %-12s %s\n       %s\n", ok ? "ok" : "FAIL", verdict,
			       e->path, message);
		}
		if (!ok) {
			mismatches++;
			printf("       manifest expects: %s\n", e->expected);
		}
		/* All or nothing: a failed parse must not leave policies behind. */
		if (ret && set.count) {
			mismatches++;
			printf("FAIL   %s: failed parse left %zu policies\n", e->path,
			       set.count);
		}
		policy_set__free(&set);
	}
	printf("corpus: %d files: %d accepted, %d rejected as unsupported, %d rejected; "
	       "%d mismatches\n",
	       count, accepted, unsupported, rejected, mismatches);
	assert_int_equal(mismatches, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
