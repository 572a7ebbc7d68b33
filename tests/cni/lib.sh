#!/usr/bin/env bash
# Shared by the CNI tests (tests/cni/*.sh): a podman that is the test's own.
#
# Everything podman keeps goes under one temp dir $CT: its storage
# (CONTAINERS_STORAGE_CONF: graphroot, runroot), its containers.conf
# (CONTAINERS_CONF: the CNI backend, runc, the two ulimits runc needs here,
# our CNI config and plugin directories, tmp dir), the CNI networks' files
# (net.d), host-local's leases (dataDir) and the plugins' timing logs. The
# machine's /etc/containers, /etc/cni and container storage are never read
# for our networks nor written.
#
# Networks use 10.231.0.0/16 (the bridge baseline 10.231.0.0/24), outside
# Warden's pod CIDR 10.200.0.0/16, with no default route: traffic stays
# between the containers the test made.

CNI_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$CNI_REPO/build}
CNI_IMAGE=localhost/warden-test-busybox:1
CNI_BRIDGE_NET=wardentest-bridge
CNI_BRIDGE_DEV=wdtestbr0
CNI_BRIDGE_SUBNET=10.231.0.0/24
CNI_BRIDGE_GW=10.231.0.1

cni_pass=0
cni_fail=0
cni_skip=0
pass() { echo "  ok   $*"; cni_pass=$((cni_pass + 1)); }
fail() { echo "  FAIL $*"; cni_fail=$((cni_fail + 1)); }
skip() { echo "  skip $*"; cni_skip=$((cni_skip + 1)); }
check() { # description, command...: pass when the command succeeds
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# Make $CT with podman's configuration; export the variables podman reads.
cni_env_setup() {
	CT=$(mktemp -d /var/tmp/warden-cni-test.XXXXXX)
	mkdir -p "$CT"/{root,runroot,tmp,net.d,bin,ipam,volumes}
	cat >"$CT/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$CT/root"
runroot = "$CT/runroot"
EOF
	# The ulimits: without them runc fails here with "error setting
	# rlimits for ready process ... operation not permitted" (issue 16).
	cat >"$CT/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "bridge"
log_driver = "k8s-file"

[network]
network_backend = "cni"
cni_plugin_dirs = ["$CT/bin", "/usr/lib/cni"]
network_config_dir = "$CT/net.d"
default_network = "$CNI_BRIDGE_NET"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$CT/tmp"
volume_path = "$CT/volumes"
EOF
	export CONTAINERS_CONF="$CT/containers.conf"
	export CONTAINERS_STORAGE_CONF="$CT/storage.conf"
	export CONTAINERS_REGISTRIES_CONF="$CT/registries.conf"
	printf 'unqualified-search-registries = []\n' >"$CT/registries.conf"
	# The timing wrapper under the names our conflists use.
	cp "$BUILD/tests/cni/cni-timer" "$CT/bin/cni-timer"
	ln -sf cni-timer "$CT/bin/timed-bridge"
	ln -sf cni-timer "$CT/bin/timed-warden-cni"
	[ -x "$BUILD/warden-cni" ] && cp "$BUILD/warden-cni" "$CT/bin/warden-cni"
	return 0
}

# podman with the test's configuration (the env above), quiet about it.
pm() { podman --cgroup-manager cgroupfs "$@"; }

# A tiny local image: busybox-static's binary and its applet links, imported.
cni_image_build() {
	pm image exists "$CNI_IMAGE" 2>/dev/null && return 0
	local rootfs="$CT/rootfs" applet
	mkdir -p "$rootfs"/{bin,tmp,www,etc,proc,sys,dev}
	cp /bin/busybox "$rootfs/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
	done
	echo "hello from warden-cni test" >"$rootfs/www/index.html"
	echo "root:x:0:0:root:/:/bin/sh" >"$rootfs/etc/passwd"
	tar -C "$rootfs" -c . | pm import --change 'ENV PATH=/bin' - "$CNI_IMAGE" >/dev/null
}

# The bridge baseline network: Debian's bridge + host-local, timed.
cni_bridge_net_write() {
	cat >"$CT/net.d/$CNI_BRIDGE_NET.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_BRIDGE_NET",
  "plugins": [
    {
      "type": "timed-bridge",
      "bridge": "$CNI_BRIDGE_DEV",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$CNI_BRIDGE_SUBNET", "gateway": "$CNI_BRIDGE_GW"}]],
        "routes": [{"dst": "$CNI_BRIDGE_SUBNET"}],
        "dataDir": "$CT/ipam"
      }
    }
  ]
}
EOF
}

# Remove every container of the test's storage, the networks' devices, and
# $CT. Idempotent; used by the trap.
cni_env_cleanup() {
	[ -n "${CT:-}" ] && [ -d "$CT" ] || return 0
	pm rm -af -t 0 >/dev/null 2>&1
	pm pod rm -af >/dev/null 2>&1
	ip link del "$CNI_BRIDGE_DEV" 2>/dev/null
	# The storage's overlay mounts go with `podman system reset`; keep the
	# image cache out of it only when asked (CNI_KEEP=1).
	if [ "${CNI_KEEP:-0}" != 1 ]; then
		pm system reset -f >/dev/null 2>&1
		umount -R "$CT/root/overlay" 2>/dev/null
		rm -rf "$CT"
	fi
}

# "p50 p99" (ms, one decimal) of the ELAPSED_US column of COMMAND's lines.
cni_percentiles() { # logfile command
	awk -v c="$2" '$1 == c && $3 == 0 { print $2 }' "$1" | sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - 0"; exit }
			i50 = int((NR - 1) * 0.50) + 1; i99 = int((NR - 1) * 0.99 + 0.999) + 1
			if (i99 > NR) i99 = NR
			printf "%.1f %.1f %d\n", v[i50] / 1000, v[i99] / 1000, NR
		}'
}
