/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The BPF filesystem, where pinned maps and programs live. This is the one
 * place in Warden that checks and mounts it: the agent calls it at start,
 * and everything that pins (the agent, the benchmark, tests) relies on it.
 */
#ifndef WARDEN_BPFFS_H
#define WARDEN_BPFFS_H

#include <stdbool.h>

/* Where the kernel's BPF filesystem is conventionally mounted. */
#define BPFFS_ROOT "/sys/fs/bpf"

/* Is path on a mounted BPF filesystem (by the filesystem's magic, not by
 * the directory merely existing)? */
bool bpffs__is_mounted(const char *path);

/*
 * Make `root` a mounted BPF filesystem: nothing to do when it is one
 * already; otherwise create the directory if it is missing and mount a
 * bpffs there (as Cilium's agent does), and log that it did. *mounted
 * (may be NULL) tells whether this call mounted it. Returns 0 or -errno.
 */
int bpffs__ensure(const char *root, bool *mounted);

#endif /* WARDEN_BPFFS_H */
