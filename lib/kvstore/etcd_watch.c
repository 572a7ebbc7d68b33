// SPDX-License-Identifier: Apache-2.0
/*
 * An etcd watch that an event loop drives (include/warden/kvstore.h).
 *
 * The watch is one long POST /v3/watch whose response is a stream of JSON
 * lines. libcurl's multi interface runs it without blocking: curl tells us
 * which sockets to wait on and when its timer fires, we put those into an
 * epoll set of our own, and that one fd is what the caller polls. A second
 * timerfd in the set paces reconnects.
 *
 * Exactly-once delivery across reconnects rests on next_revision: it only
 * moves past an event once the event is handed out (or past a progress
 * notification, which etcd sends only when the watcher has caught up), and
 * a new stream starts at it. etcd never splits one revision's events (a
 * transaction's) over two messages, and events below where a message
 * starts are dropped anyway.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "etcd_internal.h"
#include "etcd_json.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct kvstore_watch {
	struct kvstore *kv;
	char *key;
	size_t key_len;
	char *end;
	size_t end_len;
	int64_t next_revision; /* 0 until the first stream says where "now" is */
	int64_t compact_revision;
	bool compacted; /* stopped until kvstore_watch__restart() */
	bool connected; /* etcd confirmed the current stream */
	bool transfer;	/* easy is in multi */
	size_t endpoint;
	unsigned int connects;
	unsigned int backoff_ms;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	struct kvstore_buffer rx;
	int epfd;
	int curl_timer;
	int retry_timer;
	struct kvstore_event *events; /* handed out by the last poll */
	size_t event_count;
	size_t event_cap;
	char error[512];
};

static void set_error(struct kvstore_watch *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct kvstore_watch *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->error, sizeof(w->error), fmt, ap);
	va_end(ap);
}

static void arm_timer(int fd, long ms)
{
	struct itimerspec its = {0};

	if (ms >= 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L;
		if (!ms)
			its.it_value.tv_nsec = 1; /* 0 would disarm it */
	}
	timerfd_settime(fd, 0, &its, NULL);
}

/* CURLMOPT_SOCKETFUNCTION: mirror the sockets curl waits on into epfd. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *ctx, void *socketp)
{
	struct kvstore_watch *w = ctx;
	struct epoll_event ev = {.data.fd = fd};

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (socketp) {
		epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
	} else {
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
		curl_multi_assign(w->multi, fd, w);
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 disarms, 0 means "call me at once". */
static int timer_cb(CURLM *multi, long timeout_ms, void *ctx)
{
	struct kvstore_watch *w = ctx;

	(void)multi;
	arm_timer(w->curl_timer, timeout_ms);
	return 0;
}

static void stop_transfer(struct kvstore_watch *w)
{
	if (w->transfer) {
		curl_multi_remove_handle(w->multi, w->easy);
		w->transfer = false;
	}
	w->connected = false;
	w->rx.len = 0;
}

/* Open a stream from next_revision on the current endpoint. */
static int start_transfer(struct kvstore_watch *w)
{
	const char *endpoint = w->kv->endpoints[w->endpoint];
	char url[512];
	json_t *req;

	stop_transfer(w);
	free(w->body);
	req = etcd_json__watch_request(w->key, w->key_len, w->end, w->end_len,
				       w->next_revision);
	w->body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!w->body)
		return -ENOMEM;
	snprintf(url, sizeof(url), "%s/v3/watch", endpoint);
	curl_easy_setopt(w->easy, CURLOPT_URL, url);
	curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->body);
	curl_easy_setopt(w->easy, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)strlen(w->body));
	if (curl_multi_add_handle(w->multi, w->easy) != CURLM_OK)
		return -ENOMEM;
	w->transfer = true;
	return 0;
}

/* The stream broke: try the next endpoint after the backoff. */
static void schedule_reconnect(struct kvstore_watch *w)
{
	stop_transfer(w);
	w->endpoint = (w->endpoint + 1) % w->kv->endpoint_count;
	arm_timer(w->retry_timer, w->backoff_ms);
	w->backoff_ms =
	    w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
}

static int push_event(struct kvstore_watch *w, struct kvstore_event *ev)
{
	if (w->event_count == w->event_cap) {
		size_t cap = w->event_cap ? w->event_cap * 2 : 16;
		struct kvstore_event *events = realloc(w->events, cap * sizeof(*events));

		if (!events)
			return -ENOMEM;
		w->events = events;
		w->event_cap = cap;
	}
	w->events[w->event_count++] = *ev;
	memset(ev, 0, sizeof(*ev));
	return 0;
}

/* One message of the stream. Returns -ENOMEM only; a bad message breaks
 * the stream (it is reopened from next_revision). */
static int handle_line(struct kvstore_watch *w, const char *line, size_t len)
{
	struct etcd_watch_response resp;
	int64_t floor;
	char msg[256];
	int err;

	err = etcd_json__watch_line(line, len, &resp, msg, sizeof(msg));
	if (err) {
		etcd_watch_response__free(&resp);
		if (err == -ENOMEM)
			return err;
		set_error(w, "%s: %s", w->kv->endpoints[w->endpoint], msg);
		schedule_reconnect(w);
		return 0;
	}
	if (resp.created) {
		w->connected = true;
		w->connects++;
		w->backoff_ms = BACKOFF_MIN_MS;
		w->error[0] = '\0';
		/* Watching "from now": now is the header's revision. */
		if (!w->next_revision)
			w->next_revision = resp.revision + 1;
	}
	if (resp.canceled) {
		if (resp.compact_revision) {
			w->compacted = true;
			w->compact_revision = resp.compact_revision;
			set_error(w,
				  "revision %lld was compacted (history kept from %lld)",
				  (long long)w->next_revision,
				  (long long)resp.compact_revision);
			stop_transfer(w);
		} else {
			set_error(w, "%s: watch canceled: %s",
				  w->kv->endpoints[w->endpoint],
				  resp.cancel_reason[0] ? resp.cancel_reason
							: "no reason given");
			schedule_reconnect(w);
		}
		etcd_watch_response__free(&resp);
		return 0;
	}
	/* One transaction's events share a revision and come in one message:
	 * compare with where this message starts, not with the last event. */
	floor = w->next_revision;
	for (size_t i = 0; i < resp.event_count; i++) {
		struct kvstore_event *ev = &resp.events[i];

		if (ev->kv.mod_revision < floor)
			continue; /* seen before the stream was reopened */
		if (ev->kv.mod_revision >= w->next_revision)
			w->next_revision = ev->kv.mod_revision + 1;
		err = push_event(w, ev);
		if (err)
			break;
	}
	/* A progress notification: everything up to its revision was sent. */
	if (!resp.created && !resp.event_count && resp.revision >= w->next_revision)
		w->next_revision = resp.revision + 1;
	etcd_watch_response__free(&resp);
	return err;
}

/* Every complete line received so far; a partial one waits for the rest. */
static int handle_input(struct kvstore_watch *w)
{
	size_t off = 0;
	int err = 0;

	while (w->transfer && off < w->rx.len && !w->compacted) {
		char *nl = memchr(w->rx.data + off, '\n', w->rx.len - off);
		size_t len;

		if (!nl)
			break;
		len = (size_t)(nl - (w->rx.data + off));
		if (len) {
			err = handle_line(w, w->rx.data + off, len);
			if (err)
				break;
		}
		off += len + 1;
	}
	/* handle_line() may have dropped the stream, and its buffer with it. */
	if (off && off <= w->rx.len) {
		memmove(w->rx.data, w->rx.data + off, w->rx.len - off);
		w->rx.len -= off;
	}
	return err;
}

static void check_done(struct kvstore_watch *w)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(w->multi, &left))) {
		long status = 0;

		if (m->msg != CURLMSG_DONE || m->easy_handle != w->easy)
			continue;
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
		if (m->data.result != CURLE_OK)
			set_error(w, "%s: %s", w->kv->endpoints[w->endpoint],
				  curl_easy_strerror(m->data.result));
		else if (!w->error[0])
			set_error(w, "%s: the watch stream ended (HTTP %ld)",
				  w->kv->endpoints[w->endpoint], status);
		schedule_reconnect(w);
		return;
	}
}

int kvstore_watch__poll(struct kvstore_watch *w, const struct kvstore_event **events,
			size_t *count)
{
	struct epoll_event evs[8];
	int n, err = 0;

	for (size_t i = 0; i < w->event_count; i++)
		kvstore_event__free(&w->events[i]);
	w->event_count = 0;
	*events = NULL;
	*count = 0;
	if (w->compacted)
		return -ESTALE;
	n = epoll_wait(w->epfd, evs, 8, 0);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd, still;
		uint64_t ticks;

		if (fd == w->curl_timer) {
			if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				return -errno;
			curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0,
						 &still);
		} else if (fd == w->retry_timer) {
			if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				return -errno;
			if (!w->transfer && !w->compacted) {
				err = start_transfer(w);
				if (err)
					return err;
			}
		} else {
			int flags = 0;

			if (evs[i].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			curl_multi_socket_action(w->multi, fd, flags, &still);
		}
	}
	err = handle_input(w);
	if (w->transfer)
		check_done(w);
	*events = w->events;
	*count = w->event_count;
	/* Events that came before a compaction notice go out first. */
	if (!err && w->compacted && !w->event_count)
		err = -ESTALE;
	return err;
}

int kvstore_watch__wait(struct kvstore_watch *w, int timeout_ms,
			const struct kvstore_event **events, size_t *count)
{
	struct pollfd pfd = {.fd = w->epfd, .events = POLLIN};

	if (!w->compacted && poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	return kvstore_watch__poll(w, events, count);
}

int kvstore_watch__restart(struct kvstore_watch *w, int64_t revision)
{
	w->compacted = false;
	w->compact_revision = 0;
	w->next_revision = revision;
	w->backoff_ms = BACKOFF_MIN_MS;
	w->error[0] = '\0';
	arm_timer(w->retry_timer, -1);
	return start_transfer(w);
}

void kvstore_watch__free(struct kvstore_watch *w)
{
	if (!w)
		return;
	stop_transfer(w);
	if (w->easy)
		curl_easy_cleanup(w->easy);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	curl_slist_free_all(w->headers);
	for (size_t i = 0; i < w->event_count; i++)
		kvstore_event__free(&w->events[i]);
	free(w->events);
	free(w->rx.data);
	free(w->body);
	free(w->key);
	free(w->end);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->curl_timer >= 0)
		close(w->curl_timer);
	if (w->retry_timer >= 0)
		close(w->retry_timer);
	free(w);
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int kvstore_watch__new(struct kvstore_watch **out, struct kvstore *kv, const char *prefix,
		       int64_t start_revision)
{
	struct kvstore_watch *w = calloc(1, sizeof(*w));
	int err = -ENOMEM;

	if (!w)
		return -ENOMEM;
	w->epfd = w->curl_timer = w->retry_timer = -1;
	w->kv = kv;
	w->endpoint = kv->current;
	w->next_revision = start_revision;
	w->backoff_ms = BACKOFF_MIN_MS;
	w->key_len = strlen(prefix);
	w->key = strdup(prefix);
	if (!w->key)
		goto fail;
	err = etcd_prefix__end(prefix, w->key_len, &w->end, &w->end_len);
	if (err)
		goto fail;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->curl_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->retry_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->curl_timer < 0 || w->retry_timer < 0) {
		err = -errno;
		goto fail;
	}
	err = add_fd(w->epfd, w->curl_timer);
	if (!err)
		err = add_fd(w->epfd, w->retry_timer);
	if (err)
		goto fail;
	err = -ENOMEM;
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	w->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (w->headers)
		w->headers = curl_slist_append(w->headers, "Expect:");
	if (!w->multi || !w->easy || !w->headers)
		goto fail;
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	/* No overall timeout: the stream lasts as long as the watch. */
	kvstore_curl__setup(w->easy, w->headers, kv->timeout_ms);
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, kvstore_buffer__write);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, &w->rx);
	err = start_transfer(w);
	if (err)
		goto fail;
	*out = w;
	return 0;
fail:
	kvstore_watch__free(w);
	return err;
}

int kvstore_watch__fd(const struct kvstore_watch *w)
{
	return w->epfd;
}

bool kvstore_watch__connected(const struct kvstore_watch *w)
{
	return w->connected;
}

int64_t kvstore_watch__next_revision(const struct kvstore_watch *w)
{
	return w->next_revision;
}

int64_t kvstore_watch__compact_revision(const struct kvstore_watch *w)
{
	return w->compact_revision;
}

const char *kvstore_watch__error(const struct kvstore_watch *w)
{
	return w->error;
}

unsigned int kvstore_watch__connects(const struct kvstore_watch *w)
{
	return w->connects;
}
