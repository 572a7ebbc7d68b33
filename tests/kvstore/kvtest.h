/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the tests against a real etcd (tests/kvstore/run.sh starts
 * it and exports WARDEN_ETCD_ENDPOINTS and WARDEN_ETCD_CTL). Each test
 * works under a key prefix of its own, so tests never see each other's
 * keys.
 */
#ifndef WARDEN_TESTS_KVTEST_H
#define WARDEN_TESTS_KVTEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "warden/kvstore.h"

static inline const char *kvtest_endpoints(void)
{
	const char *e = getenv("WARDEN_ETCD_ENDPOINTS");

	if (!e || !*e) {
		fprintf(stderr,
			"WARDEN_ETCD_ENDPOINTS is not set: run tests/kvstore/run.sh\n");
		exit(2);
	}
	return e;
}

static inline struct kvstore *kvtest_connect(void)
{
	struct kvstore_options opts = {.endpoints = kvtest_endpoints(),
				       .timeout_ms = 3000};
	struct kvstore *kv = NULL;
	char err[256];

	if (kvstore__connect(&kv, &opts, err, sizeof(err))) {
		fprintf(stderr, "connecting to etcd: %s\n", err);
		return NULL;
	}
	return kv;
}

/* "/wt-<pid>-<name>": a key space of this test run. */
static inline void kvtest_prefix(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/wt-%d-%s", (int)getpid(), name);
}

/* Run tests/kvstore/etcd-ctl.sh DIR verb ("kill", "start"). */
static inline int kvtest_etcd(const char *verb)
{
	const char *ctl = getenv("WARDEN_ETCD_CTL");
	char cmd[1024];

	if (!ctl)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null", ctl, verb);
	return system(cmd) == 0 ? 0 : -1;
}

static inline double kvtest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline int kvtest_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of n samples (sorts them). */
static inline double kvtest_percentile(double *samples, size_t n, double p)
{
	size_t at;

	if (!n)
		return 0;
	qsort(samples, n, sizeof(*samples), kvtest_cmp_double);
	at = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return samples[at < n ? at : n - 1];
}

#endif /* WARDEN_TESTS_KVTEST_H */
