#!/usr/bin/env bash
# Install the Debian packages Warden needs to build, test and demo.
# Idempotent: only calls apt-get when something is missing.
set -euo pipefail
pkgs=(make gcc clang clang-format llvm libbpf-dev bpftool libelf-dev zlib1g-dev libyaml-dev
      libjansson-dev libpcre2-dev libcmocka-dev libmnl-dev libnftables-dev
      libcap-dev iproute2 iptables nftables
      curl socat netcat-openbsd python3 procps iputils-ping libclang-rt-14-dev
      wrk nginx-light haproxy vsftpd gnuplot-nox
      etcd-server etcd-client libcurl4-openssl-dev
      podman runc containernetworking-plugins busybox-static)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Kernel modules the datapath, the L7 redirect and the tests use. On a
# kernel that has them built in (or no module tree at all) there is nothing
# to load; elsewhere a fresh machine may not have loaded them yet, and not
# every one is autoloaded on first use (tc's clsact and cls_bpf, the TPROXY
# and socket expressions of nftables).
modules=(veth sch_ingress cls_bpf nf_tables nft_tproxy nft_socket nf_tproxy_ipv4
         nf_socket_ipv4 nf_conntrack nft_compat vxlan)
if [ -d "/lib/modules/$(uname -r)" ]; then
	for m in "${modules[@]}"; do
		grep -qw "^$m" /proc/modules 2>/dev/null && continue
		grep -q "/$m.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null && continue
		modprobe -q "$m" 2>/dev/null || echo "note: kernel module $m not loaded (not available?)" >&2
	done
fi
