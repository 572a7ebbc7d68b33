// SPDX-License-Identifier: Apache-2.0
/* Logging: timestamped lines on stderr, filtered by one global level. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "warden/log.h"

static enum log_level current_level = LOG_LEVEL_INFO;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

static void log_vprint(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"warn", "info", "debug"};
	struct timespec ts;
	struct tm tm;

	if (level > current_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %-5s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, names[level]);
	vfprintf(stderr, fmt, ap);
}

void log_print(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN   ? LOG_LEVEL_WARN
			      : level == LIBBPF_INFO ? LOG_LEVEL_DEBUG
						     : LOG_LEVEL_DEBUG + 1;

	if ((int)ours > (int)current_level)
		return 0;
	log_vprint(ours > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : ours, fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
