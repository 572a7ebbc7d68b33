/* SPDX-License-Identifier: Apache-2.0 */
/* One logging API for the whole project; libbpf's output is routed here. */
#ifndef WARDEN_LOG_H
#define WARDEN_LOG_H

enum log_level {
	LOG_LEVEL_WARN = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_DEBUG = 2,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Route libbpf's messages into pr_*(), by verbosity. */
void log_route_libbpf(void);
void log_print(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define pr_warn(...) log_print(LOG_LEVEL_WARN, __VA_ARGS__)
#define pr_info(...) log_print(LOG_LEVEL_INFO, __VA_ARGS__)
#define pr_debug(...) log_print(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif /* WARDEN_LOG_H */
