// SPDX-License-Identifier: Apache-2.0
/*
 * Micro-benchmark of the L7 rule match (lib/l7_policy.c, l7_policy__check):
 * nanoseconds per check with 1 and 40 rules, literal and regex paths, and
 * for regex paths the floor, the same paths matched straight through PCRE2.
 *
 *   make bench-l7-match            (build/bench-l7-match [ITERATIONS])
 *
 * Every rule: method "GET", host "api\.local" (a regex) and its path; the
 * request matches the last rule, so every rule is evaluated. Each figure
 * is the best of BENCH_ROUNDS rounds (the machine is shared). It prints
 * numbers and asserts no speed; it does check every verdict and exits 1
 * if one is wrong, so a fast wrong answer is not a result.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "warden/abi/maps.h"
#include "warden/l7_policy.h"

#define BENCH_ROUNDS 5
#define MAX_RULES 40

static void die(const char *what)
{
	fprintf(stderr, "bench-l7-match: %s\n", what);
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct http_slice slice(const char *s)
{
	return (struct http_slice){s, strlen(s)};
}

/* n rules; rule i allows GET on path_format(i), cookie i + 1. */
static struct l7_policy *bench_policy(size_t n, const char *path_format)
{
	json_t *doc = json_pack("{s:i, s:[], s:[], s:[], s:[{s:i, s:s, s:i, s:i, s:[]}]}",
				"revision", 1, "ipcache", "identities", "endpoints", "l7",
				"endpoint", 1, "direction", "ingress", "port", 80,
				"identity", 0, "rules");
	json_t *rules;
	struct l7_policy *p = NULL;
	char err[256], path[128];

	if (!doc)
		die("json_pack failed");
	rules = json_object_get(json_array_get(json_object_get(doc, "l7"), 0), "rules");
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), path_format, i);
		json_array_append_new(rules,
				      json_pack("{s:s, s:s, s:s, s:I}", "method", "GET",
						"path", path, "host", "api\\.local",
						"cookie", (json_int_t)i + 1));
	}
	if (l7_policy__load(doc, &p, err, sizeof(err))) {
		fprintf(stderr, "bench-l7-match: policy load: %s\n", err);
		exit(1);
	}
	json_decref(doc);
	return p;
}

/* ns per l7_policy__check of a request that the rule with cookie want allows. */
static double bench_check(const struct l7_policy *p, const char *path, uint32_t want,
			  size_t iterations)
{
	struct http_header headers[] = {{slice("User-Agent"), slice("bench")},
					{slice("Accept"), slice("*/*")}};
	struct l7_request req = {slice("GET"), slice(path), slice("api.local"), headers,
				 2};
	uint32_t cookie = 0;
	double best = 1e30;

	/* Warm up: the thread's match data, caches. */
	for (size_t i = 0; i < 1000; i++)
		l7_policy__check(p, 1, WARDEN_DIR_INGRESS, 80, 256, &req, &cookie);
	if (cookie != want)
		die("the request was not allowed by the rule it should match");
	for (int round = 0; round < BENCH_ROUNDS; round++) {
		double start = now_ns(), elapsed;

		for (size_t i = 0; i < iterations; i++)
			if (l7_policy__check(p, 1, WARDEN_DIR_INGRESS, 80, 256, &req,
					     &cookie) != L7_ALLOW)
				die("a check did not allow the request");
		elapsed = (now_ns() - start) / (double)iterations;
		if (elapsed < best)
			best = elapsed;
	}
	return best;
}

/* The floor: the same path through PCRE2 (JIT when available), nothing else. */
static double bench_bare_pcre2(size_t n, const char *path_format, const char *path,
			       size_t iterations)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	const size_t len = strlen(path);
	pcre2_code *codes[MAX_RULES];
	bool jit[MAX_RULES];
	PCRE2_SIZE offset;
	char pattern[128];
	double elapsed, best = 1e30;
	int error;

	if (!md || n > MAX_RULES)
		die("pcre2 match data");
	for (size_t i = 0; i < n; i++) {
		snprintf(pattern, sizeof(pattern), path_format, i);
		codes[i] = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
					 PCRE2_ANCHORED | PCRE2_ENDANCHORED, &error,
					 &offset, NULL);
		if (!codes[i])
			die("pcre2_compile failed");
		jit[i] = pcre2_jit_compile(codes[i], PCRE2_JIT_COMPLETE) == 0;
	}
	for (int round = 0; round < BENCH_ROUNDS; round++) {
		double start = now_ns();

		for (size_t it = 0; it < iterations; it++) {
			int rc = -1;

			for (size_t i = 0; i < n && rc < 0; i++)
				rc = jit[i] ? pcre2_jit_match(codes[i], (PCRE2_SPTR)path,
							      len, 0, 0, md, NULL)
					    : pcre2_match(codes[i], (PCRE2_SPTR)path, len,
							  0, 0, md, NULL);
			if (rc < 0)
				die("the bare PCRE2 match failed");
		}
		elapsed = (now_ns() - start) / (double)iterations;
		if (elapsed < best)
			best = elapsed;
	}
	for (size_t i = 0; i < n; i++)
		pcre2_code_free(codes[i]);
	pcre2_match_data_free(md);
	return best;
}

static void bench_one(const char *label, const char *path_format, const char *last_path_1,
		      const char *last_path_40, bool regex, size_t iterations)
{
	struct l7_policy *one = bench_policy(1, path_format);
	struct l7_policy *forty = bench_policy(MAX_RULES, path_format);
	double t1 = bench_check(one, last_path_1, 1, iterations);
	double t40 = bench_check(forty, last_path_40, MAX_RULES, iterations);

	printf("%-22s 1 rule %7.1f ns/check, 40 rules %7.1f ns/check "
	       "(%.1f ns/extra rule)\n",
	       label, t1, t40, (t40 - t1) / (MAX_RULES - 1));
	if (regex) {
		double b1 = bench_bare_pcre2(1, path_format, last_path_1, iterations);
		double b40 =
		    bench_bare_pcre2(MAX_RULES, path_format, last_path_40, iterations);

		printf("%-22s 1 rule %7.1f ns,       40 rules %7.1f ns "
		       "(bare PCRE2 matches of the paths)\n",
		       "  floor", b1, b40);
	}
	l7_policy__put(one);
	l7_policy__put(forty);
}

int main(int argc, char **argv)
{
	size_t iterations = 50000;

	if (argc > 2 || (argc == 2 && (iterations = strtoul(argv[1], NULL, 10)) == 0)) {
		fprintf(stderr, "usage: %s [ITERATIONS]  (default 50000 per round)\n",
			argv[0]);
		return 2;
	}
#if defined(__SANITIZE_ADDRESS__)
	printf("note: built with sanitizers (make SAN=1): these numbers are not "
	       "the proxy's\n");
#endif
	printf("l7_policy__check, best of %d rounds of %zu checks\n", BENCH_ROUNDS,
	       iterations);
	bench_one("literal paths", "/api/v1/items/%zu", "/api/v1/items/0",
		  "/api/v1/items/39", false, iterations);
	bench_one("regex paths", "/api/v1/items/%zu/[0-9]+", "/api/v1/items/0/12345",
		  "/api/v1/items/39/12345", true, iterations);
	return 0;
}
