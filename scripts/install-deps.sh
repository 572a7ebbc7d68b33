#!/usr/bin/env bash
# Install the Debian packages Warden needs to build, test and demo.
# Idempotent: only calls apt-get when something is missing.
set -euo pipefail
pkgs=(make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libyaml-dev
      libjansson-dev libpcre2-dev libcmocka-dev iproute2 iptables nftables
      curl socat netcat-openbsd python3 procps iputils-ping libclang-rt-14-dev
      wrk nginx-light haproxy vsftpd gnuplot-nox
      etcd-server etcd-client libcurl4-openssl-dev)
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
