/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Named network namespaces, the way `ip netns` keeps them: a namespace is
 * pinned by a bind mount of its nsfs file on /run/netns/NAME (which is made
 * a shared mount point, so a delete in one mount namespace reaches the
 * others), and work inside one runs in a short-lived thread that entered
 * it, so the caller's thread never leaves its own namespace.
 */
#ifndef WARDEN_NETNS_H
#define WARDEN_NETNS_H

#include <stddef.h>

#include "warden/netlink.h"

#define NETNS_RUN_DIR "/run/netns"

/* Work to do inside a namespace: 0 or -errno. */
typedef int (*netns_fn)(void *arg);

/*
 * Create the namespace /run/netns/@name (`ip netns add NAME`), run @fn
 * (may be NULL) inside it, and return an fd of it in *@nsfd (may be NULL;
 * O_CLOEXEC, the caller closes it). All or nothing: on failure (of @fn
 * too) the name is removed again. 0 or -errno, the step in @err.
 */
int netns__add(const char *name, netns_fn fn, void *arg, int *nsfd, char *err,
	       size_t err_len);

/* Remove the name (`ip netns del NAME`): the namespace itself goes when
 * nothing else holds it. 0 or -errno. */
int netns__delete(const char *name);

/* Run @fn inside the namespace @nsfd, in a thread of its own; its result,
 * or -errno when the thread could not enter. */
int netns__run(int nsfd, netns_fn fn, void *arg);

/* A NETLINK_ROUTE socket that lives in the namespace @nsfd. */
int netns__nl_open(int nsfd, struct nl_sock *sock);

#endif /* WARDEN_NETNS_H */
