/* SPDX-License-Identifier: Apache-2.0 */
/* What the request side (etcd.c) and the watch (etcd_watch.c) share. */
#ifndef WARDEN_KVSTORE_ETCD_INTERNAL_H
#define WARDEN_KVSTORE_ETCD_INTERNAL_H

#include <stddef.h>

#include <curl/curl.h>

#include "warden/kvstore.h"

#define KVSTORE_DEFAULT_TIMEOUT_MS 2000

struct kvstore_buffer {
	char *data;
	size_t len;
	size_t cap;
};

struct kvstore {
	char **endpoints; /* "http://host:port", no trailing '/' */
	size_t endpoint_count;
	size_t current; /* the endpoint that answered last */
	long timeout_ms;
	CURL *curl;
	struct curl_slist *headers;
	struct kvstore_buffer rx;
	char error[512];
};

/* curl_global_init() once per process, before any handle. */
int kvstore_curl__init(void);
/* The options every handle gets (timeouts, headers, keepalive, protocols). */
void kvstore_curl__setup(CURL *curl, const struct curl_slist *headers, long connect_ms);
/* A CURLOPT_WRITEFUNCTION appending to a struct kvstore_buffer. */
size_t kvstore_buffer__write(char *data, size_t size, size_t nmemb, void *ctx);
/* curl's error -> -errno. */
int kvstore_curl__errno(CURLcode code);

#endif /* WARDEN_KVSTORE_ETCD_INTERNAL_H */
