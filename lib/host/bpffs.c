// SPDX-License-Identifier: Apache-2.0
/* The BPF filesystem: check by magic, mount when missing; see bpffs.h. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include "warden/bpffs.h"
#include "warden/log.h"

bool bpffs__is_mounted(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC;
}

int bpffs__ensure(const char *root, bool *mounted)
{
	if (mounted)
		*mounted = false;
	if (bpffs__is_mounted(root))
		return 0;
	/*
	 * /sys/fs/bpf exists on sysfs whenever the kernel has BPF; elsewhere
	 * (another root given for a test) the directory may not.
	 */
	if (mkdir(root, 0700) < 0 && errno != EEXIST) {
		int err = -errno;

		pr_warn("create %s for the BPF filesystem: %s\n", root, strerror(errno));
		return err;
	}
	/* Mode 0700, as the pins give access to the whole datapath. */
	if (mount("bpffs", root, "bpf", 0, "mode=0700") < 0) {
		int err = -errno;

		pr_warn("mount the BPF filesystem at %s: %s\n", root, strerror(errno));
		return err;
	}
	if (!bpffs__is_mounted(root)) {
		pr_warn("mounted a BPF filesystem at %s, but it does not show there\n",
			root);
		return -ENODEV;
	}
	pr_info("the BPF filesystem was not mounted at %s: mounted it\n", root);
	if (mounted)
		*mounted = true;
	return 0;
}
