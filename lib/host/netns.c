// SPDX-License-Identifier: Apache-2.0
/*
 * Named network namespaces (netns.h). A network namespace belongs to a
 * thread, not to a process: the work inside one runs in a thread made for
 * it, which enters (setns) or creates (unshare) the namespace and ends
 * there, so the caller's thread stays where it is whatever fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "warden/errbuf.h"
#include "warden/netns.h"

/* This thread's own namespace file (/proc/self is the process's). */
#define THREAD_NETNS "/proc/thread-self/ns/net"

struct netns_job {
	int enter_fd;	 /* enter this namespace, or -1: create one */
	const char *pin; /* a new namespace is bind-mounted here */
	netns_fn fn;
	void *arg;
	int ret;
	int new_fd;	  /* a new namespace's fd */
	const char *step; /* what failed, before fn ran */
};

static void *netns_thread(void *data)
{
	struct netns_job *job = data;

	if (job->enter_fd >= 0) {
		if (setns(job->enter_fd, CLONE_NEWNET)) {
			job->ret = -errno;
			job->step = "enter the namespace";
			return NULL;
		}
	} else {
		if (unshare(CLONE_NEWNET)) {
			job->ret = -errno;
			job->step = "create the network namespace";
			return NULL;
		}
		job->new_fd = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
		if (job->new_fd < 0) {
			job->ret = -errno;
			job->step = "open the new namespace";
			return NULL;
		}
		/* The pin keeps the namespace alive once this thread is gone. */
		if (mount(THREAD_NETNS, job->pin, "none", MS_BIND, NULL)) {
			job->ret = -errno;
			job->step = "bind-mount the namespace on its name";
			return NULL;
		}
	}
	if (job->fn)
		job->ret = job->fn(job->arg);
	return NULL;
}

/* Run @job in a thread and wait for it. The thread starts with every
 * signal blocked: they stay the caller's to handle. */
static int netns_job__run(struct netns_job *job)
{
	sigset_t all, old;
	pthread_t thread;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&thread, NULL, netns_thread, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return -ret;
	pthread_join(thread, NULL);
	return job->ret;
}

/*
 * /run/netns exists and is a shared mount point, as `ip netns add` leaves
 * it: a namespace pinned later propagates to the mount namespaces copied
 * from this one (an `ip netns exec` of a test node, say), and its unmount
 * on delete reaches them too, so the namespace is freed when it is deleted.
 */
static int run_dir_prepare(char *err, size_t err_len)
{
	bool made_mount_point = false;

	if (mkdir(NETNS_RUN_DIR, 0755) && errno != EEXIST) {
		int ret = -errno;

		errbuf__printf(err, err_len, "create %s: %s", NETNS_RUN_DIR,
			       strerror(-ret));
		return ret;
	}
	while (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL)) {
		int ret = -errno;

		/* EINVAL: not a mount point yet; make it one, once. */
		if (ret != -EINVAL || made_mount_point) {
			errbuf__printf(err, err_len, "make %s a shared mount: %s",
				       NETNS_RUN_DIR, strerror(-ret));
			return ret;
		}
		if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL)) {
			ret = -errno;
			errbuf__printf(err, err_len, "bind-mount %s on itself: %s",
				       NETNS_RUN_DIR, strerror(-ret));
			return ret;
		}
		made_mount_point = true;
	}
	return 0;
}

static int netns_path(const char *name, char *path, size_t size)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    (size_t)snprintf(path, size, "%s/%s", NETNS_RUN_DIR, name) >= size)
		return -EINVAL;
	return 0;
}

int netns__add(const char *name, netns_fn fn, void *arg, int *nsfd, char *err,
	       size_t err_len)
{
	char path[PATH_MAX];
	struct netns_job job = {
	    .enter_fd = -1, .pin = path, .fn = fn, .arg = arg, .new_fd = -1};
	int fd, ret;

	if (nsfd)
		*nsfd = -1;
	if (netns_path(name, path, sizeof(path))) {
		errbuf__printf(err, err_len, "bad namespace name \"%s\"", name);
		return -EINVAL;
	}
	ret = run_dir_prepare(err, err_len);
	if (ret)
		return ret;
	/* The pin's target; O_EXCL: never take over a namespace that exists. */
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		errbuf__printf(err, err_len, "create the namespace file %s: %s", path,
			       strerror(-ret));
		return ret;
	}
	close(fd);
	ret = netns_job__run(&job);
	if (ret) {
		if (job.step)
			errbuf__printf(err, err_len, "%s %s: %s", job.step, name,
				       strerror(-ret));
		else
			errbuf__printf(err, err_len, "set up the namespace %s: %s", name,
				       strerror(-ret));
		if (job.new_fd >= 0)
			close(job.new_fd);
		netns__delete(name);
		return ret;
	}
	if (nsfd)
		*nsfd = job.new_fd;
	else
		close(job.new_fd);
	return 0;
}

int netns__delete(const char *name)
{
	char path[PATH_MAX];

	if (netns_path(name, path, sizeof(path)))
		return -EINVAL;
	/* Detached: a process inside (or an open fd) does not keep it mounted. */
	umount2(path, MNT_DETACH);
	return unlink(path) ? -errno : 0;
}

int netns__run(int nsfd, netns_fn fn, void *arg)
{
	struct netns_job job = {.enter_fd = nsfd, .fn = fn, .arg = arg, .new_fd = -1};

	if (nsfd < 0)
		return -EBADF;
	return netns_job__run(&job);
}

static int nl_open_here(void *arg)
{
	return nl_sock__open(arg);
}

int netns__nl_open(int nsfd, struct nl_sock *sock)
{
	sock->mnl = NULL;
	return netns__run(nsfd, nl_open_here, sock);
}
