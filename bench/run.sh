#!/usr/bin/env bash
# The Warden benchmark (issues 5 and 17): bench/README.md says what it
# measures and how.
#   bench/run.sh [--quick] [--rounds N] [--seconds S] [--out DIR] [--only "CONFIG..."]
#                [--phases "throughput fixed bpf apply"] [--rate R] [--conn-rate R]
#                [--profile "CONFIG:ka|close ..."] [--proxy-cpus server|all] [--proxy-workers N]
# One agent, two endpoints (server: nginx; client: wrk and build/loadgen), the
# same two namespaces for every configuration; only the filtering changes.
# Configurations are interleaved (A B C ... A B C ...) for N rounds, so every
# ratio to `base` can be taken within a round (side by side) and reported with
# its spread over the rounds.
# Phases: throughput (wrk: keep-alive req/s, new connections/s), fixed (open
# loop at a fixed request rate and at a fixed connection rate: latency and CPU
# per 1,000 requests / connections), bpf (the datapath programs' cost per
# packet from kernel.bpf_stats_enabled, in its own pass so that the stats never
# slow the other phases), apply (10,000 rules: warden vs iptables-restore vs
# nft -f, and one rule added to them), then optional perf profiles.
# CPU split (every configuration): the server's nginx (1 worker) on CPU 0, the
# load generator (wrk -t1, loadgen) on CPU 1, the proxies (warden-proxy,
# HAProxy) on CPU 0 with the server.
# Results: bench/results/<UTC timestamp>[-quick]/ (raw/, *.csv, summary.json,
# summary.md, *.png). report.py prints the goals as PASS/MISS/UNCLEAR (never
# asserted); the last line, "bench: N passed, N failed", counts the checks
# that the benchmark itself worked: every configuration and phase produced
# data, each configuration filters the way it claims, the BPF stats were off
# during the throughput phases and on in their pass, the plots exist, and
# nothing is left behind afterwards.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
rounds=3 seconds=4 fixed_seconds= warm=1 quick=0 conns=32 out= only= proxy_cpus=server proxy_workers=
phases="throughput fixed bpf apply" rate= conn_rate= profile=
usage() {
	echo "usage: bench/run.sh [--quick] [--rounds N] [--seconds S] [--out DIR] [--only 'CONFIG...']" >&2
	echo "       [--phases 'throughput fixed bpf apply'] [--rate R] [--conn-rate R]" >&2
	echo "       [--profile 'CONFIG:ka|close ...'] [--proxy-cpus server|all] [--proxy-workers N]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 rounds=1 seconds=1 fixed_seconds=0.3 warm=0.1 ;;
	--rounds) rounds=$2; shift ;;
	--seconds) seconds=$2; shift ;;
	--out) out=$2; shift ;;
	--only) only=$2; shift ;; # e.g. "warden-l4 warden-l4-monitor": a partial, ad-hoc run
	--phases) phases=$2; shift ;; # a subset of "throughput fixed bpf apply"
	--rate) rate=$2; shift ;; # the fixed request rate (default: half the slowest configuration's max)
	--conn-rate) conn_rate=$2; shift ;; # the fixed connection rate (likewise)
	--profile) profile=$2; shift ;; # perf record -a -g during an extra fixed-rate run of CONFIG in MODE
	--proxy-cpus) proxy_cpus=$2; shift ;; # server (default: with nginx on CPU 0) or all
	--proxy-workers) proxy_workers=$2; shift ;; # warden-proxy threads (default: one per CPU)
	*) usage ;;
	esac
	shift
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "--seconds takes whole seconds (wrk's unit)" >&2; usage; }
fixed_seconds=${fixed_seconds:-$seconds}
has_phase() { [[ " $phases " == *" $1 "* ]]; }
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
for tool in wrk nginx haproxy iptables-restore nft gnuplot taskset python3 curl bpftool; do
	command -v "$tool" >/dev/null || { echo "missing $tool (make deps)" >&2; echo "bench: 0 passed, 1 failed"; exit 2; }
done
[ -z "$profile" ] || command -v perf >/dev/null || { echo "--profile needs perf (apt-get install linux-perf)" >&2; exit 2; }
for b in wardend warden warden-proxy loadgen; do
	[ -x "build/$b" ] || { echo "missing build/$b (make)" >&2; echo "bench: 0 passed, 1 failed"; exit 2; }
done
[ "$(nproc)" -ge 2 ] || echo "note: fewer than 2 CPUs; the CPU split collapses onto CPU 0"
SRV_CPU=0 CLI_CPU=1
[ "$(nproc)" -ge 2 ] || CLI_CPU=0

suffix=
[ $quick = 1 ] && suffix=-quick
out=${out:-bench/results/$(date -u +%Y%m%dT%H%M%SZ)$suffix}
mkdir -p "$out/raw"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d /tmp/warden-bench.XXXXXX)
sock=$tmp/warden.sock
pins=/sys/fs/bpf/warden-bench-$$
phase=setup round=0
agent="" haproxy_pid="" ct_max_saved="" agent_killed=0 filter_existed=0 stats_saved=""
nft list table ip filter >/dev/null 2>&1 && filter_existed=1
IPT_CHAIN=WARDEN-BENCH
log() { echo "[$(date -u +%H:%M:%S)] $*"; }
# "round,config,check,1|0": the checks report.py counts; details in raw/checks.txt
check() { # name config ok(0/1) detail...
	local name=$1 c=$2 ok=$3
	shift 3
	echo "${round:-0},$c,check_$name,$ok" >>"$out/results.csv"
	echo "$([ "$ok" = 1 ] && echo ok || echo FAILED) $name $c r${round:-0}: $*" >>"$out/raw/checks.txt"
}

# ---- CPU accounting ----------------------------------------------------------
# Whole-machine CPU (/proc/stat) counts whatever else runs on the machine (on a
# shared machine: other people's compilers). So every process the benchmark
# starts runs in a cgroup of its role (load, server, agent, proxy, haproxy,
# monitor), children of one cgroup under our own, and CPU per request is the
# sum of their CPU time (cgroup v1 cpuacct.usage or v2 cpu.stat). Without
# IRQ time accounting, softirq work (veth, tc programs, netfilter, TCP) is
# charged to the task it interrupts: for veth traffic, the sender. The
# ksoftirqd threads' time is added (work deferred to them belongs to the
# load). Nothing else changes for the processes: no controller is enabled.
CG_GROUPS="load server agent proxy haproxy monitor"
cg="" cg_kind="" cg_home="" ksoftirqd_pids=""
cg_init() {
	local mnt own
	mnt=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuacct(,|$)/ {print $2; exit}' /proc/mounts)
	if [ -n "$mnt" ]; then
		cg_kind=v1
		own=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print $3; exit}' /proc/self/cgroup)
	else
		mnt=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
		[ -n "$mnt" ] || return 1
		cg_kind=v2
		own=$(awk -F: '$1 == 0 {print $3; exit}' /proc/self/cgroup)
	fi
	cg_home=$mnt${own%/}
	cg=$cg_home/warden-bench-$$
	mkdir "$cg" 2>/dev/null || { cg=""; return 1; }
	local g
	for g in ctl $CG_GROUPS; do mkdir "$cg/$g" || { cg_fini; return 1; }; done
	echo $$ >"$cg/ctl/cgroup.procs" || { cg_fini; return 1; }
	return 0
}
cg_fini() {
	[ -n "$cg" ] || return 0
	local g p
	echo $$ >"$cg_home/cgroup.procs" 2>/dev/null
	for g in ctl $CG_GROUPS; do
		for p in $(cat "$cg/$g/cgroup.procs" 2>/dev/null); do echo "$p" >"$cg_home/cgroup.procs" 2>/dev/null; done
		rmdir "$cg/$g" 2>/dev/null
	done
	rmdir "$cg" 2>/dev/null
	cg=""
}
cg_move() { [ -z "$cg" ] || echo "$2" >"$cg/$1/cgroup.procs"; } # group pid
# In a subshell that then execs: ( cg_join GROUP; exec CMD ) [&] (so that $!
# is CMD's pid).
cg_join() { [ -z "$cg" ] || echo "$BASHPID" >"$cg/$1/cgroup.procs"; }
cg_usage_ns() { # group
	case $cg_kind in
	v1) cat "$cg/$1/cpuacct.usage" ;;
	v2) awk '$1 == "usage_usec" {printf "%d\n", $2 * 1000}' "$cg/$1/cpu.stat" ;;
	esac
}
# One line of counters; run_loadgen takes one before and one after a run.
cpu_sample() {
	local line g p t=0
	line="machine_ticks=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat)"
	if [ -n "$cg" ]; then
		for g in $CG_GROUPS; do line="$line $g=$(cg_usage_ns "$g")"; done
	fi
	for p in $ksoftirqd_pids; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$line ksoftirqd_ticks=$t"
}

ipt_teardown() { # one iptables-restore: each iptables(8) call reloads a 10,000-rule cache
	iptables -S $IPT_CHAIN >/dev/null 2>&1 || return 0
	{
		echo '*filter'
		iptables -S FORWARD | grep -- "-j $IPT_CHAIN\$" | sed 's/^-A /-D /'
		echo "-F $IPT_CHAIN"
		echo "-X $IPT_CHAIN"
		echo 'COMMIT'
	} | iptables-restore --noflush
}
nft_teardown() { nft delete table ip warden_bench 2>/dev/null; }
cleanup() {
	set +e
	[ -n "${perf_pid:-}" ] && kill "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
	[ -n "$haproxy_pid" ] && kill "$haproxy_pid" 2>/dev/null && wait "$haproxy_pid" 2>/dev/null
	[ -n "${monitor_pid:-}" ] && kill "$monitor_pid" 2>/dev/null && wait "$monitor_pid" 2>/dev/null
	if [ -n "${cif:-}" ]; then ipt_teardown; fi
	nft_teardown
	for ns in ${server_ns:-} ${client_ns:-}; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	if [ -n "$agent" ]; then
		kill -TERM "$agent" 2>/dev/null
		for _ in $(seq 200); do kill -0 "$agent" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$agent" 2>/dev/null; then
			# Endpoint deletion purges the endpoint's conntrack entries
			# with a walk that restarts after every delete (quadratic):
			# after the connection-close runs it takes minutes (README,
			# "Findings"). Killed after 20 s; we remove what it leaves.
			echo "wardend did not stop within 20 s: killed; removing what it left" >&2
			agent_killed=1
			for p in "$agent" $(pgrep -P "$agent"); do
				echo "  pid $p $(cat /proc/$p/comm 2>/dev/null): $(for t in /proc/$p/task/*; do printf '%s/%s ' "$(cut -d' ' -f3 $t/stat)" "$(cat $t/wchan)"; done 2>/dev/null)" >&2
			done
			kill -KILL "$agent" 2>/dev/null
		fi
		wait "$agent" 2>/dev/null
	fi
	# Whatever a killed agent could not remove (only our two endpoints).
	for ns in ${server_ns:-} ${client_ns:-}; do
		ip netns list 2>/dev/null | grep -qw "$ns" || continue
		echo "removing leftover namespace $ns" >&2
		ip netns del "$ns" 2>/dev/null
	done
	for d in ${sif:-} ${cif:-}; do ip link del "$d" 2>/dev/null; done
	if [ "$agent_killed" = 1 ]; then
		ip addr del 10.200.0.1/32 dev lo 2>/dev/null
		ip route del unreachable 10.200.0.0/16 2>/dev/null
		nft delete table ip warden 2>/dev/null
		ip rule del fwmark 0x200/0xf00 lookup 2004 2>/dev/null
		ip route flush table 2004 2>/dev/null
	fi
	# iptables-nft creates "table ip filter" on first use: remove it if we
	# caused it and it is empty again.
	if [ "$filter_existed" = 0 ] && nft list table ip filter >/dev/null 2>&1 &&
		[ -z "$(iptables -S | grep -v '^-P ')" ]; then
		nft delete table ip filter 2>/dev/null
	fi
	# Last resort: a process of this run still alive (its command line names
	# this run's private directory $tmp, so nothing else matches).
	for p in $(pgrep -f "$tmp/"); do
		echo "killing leftover pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >&2
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$pins"
	[ -n "$ct_max_saved" ] && echo "$ct_max_saved" >/proc/sys/net/netfilter/nf_conntrack_max
	[ -n "$stats_saved" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_saved"
	cg_fini
	rm -rf "$tmp"
}
# What the benchmark leaves behind, if anything (checked after cleanup).
leftovers() {
	local l=()
	for ns in ${server_ns:-} ${client_ns:-}; do ip netns list 2>/dev/null | grep -qw "$ns" && l+=("netns $ns"); done
	for d in ${sif:-} ${cif:-}; do ip link show "$d" >/dev/null 2>&1 && l+=("link $d"); done
	nft list table ip warden_bench >/dev/null 2>&1 && l+=("nft table warden_bench")
	nft list table ip warden >/dev/null 2>&1 && l+=("nft table warden")
	iptables -S $IPT_CHAIN >/dev/null 2>&1 && l+=("iptables chain $IPT_CHAIN")
	[ -e "$pins" ] && l+=("pins $pins")
	local p
	for p in $(pgrep -f "$tmp/"); do l+=("process $p ($(cat /proc/$p/comm 2>/dev/null))"); done
	[ -n "${cg_dir_made:-}" ] && [ -d "$cg_dir_made" ] && l+=("cgroup $cg_dir_made")
	[ "$(sysctl -n kernel.bpf_stats_enabled)" = "${stats_saved:-0}" ] || l+=("kernel.bpf_stats_enabled changed")
	echo "${l[*]}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
W() { "$ROOT/build/warden" --socket "$sock" "$@"; }
epj() { W endpoint get "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$2"; }

# Connection-close runs leave TIME_WAIT conntrack entries behind (120 s) for
# the netfilter configurations: a bigger table than the default 262144, so a
# full table never drops SYNs. Restored on exit.
if [ -w /proc/sys/net/netfilter/nf_conntrack_max ]; then
	ct_max_saved=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
	echo 2097152 >/proc/sys/net/netfilter/nf_conntrack_max
fi
# BPF run-time statistics only in the bpf pass (they cost ~20-40 ns a run).
stats_saved=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=0

: >"$out/raw/checks.txt"
echo "round,config,metric,value" >"$out/results.csv"
if cg_init; then
	cg_dir_made=$cg
	cpu_method="cgroup $cg_kind: CPU time of the processes the benchmark started (load generator, server, agent, proxies) + ksoftirqd"
else
	cpu_method="whole machine (/proc/stat; no cgroup available): includes anything else running"
fi
ksoftirqd_pids=$(pgrep '^ksoftirqd/' | tr '\n' ' ')

(
	cg_join agent
	exec build/wardend --state-dir "$tmp/state" --socket "$sock" ${proxy_workers:+--proxy-workers "$proxy_workers"}
) 2>"$out/raw/wardend.log" &
agent=$!
for _ in $(seq 100); do W status >/dev/null 2>&1 && break; sleep 0.1; done
W endpoint create server --labels app=server >/dev/null || { cat "$out/raw/wardend.log"; echo "bench: 0 passed, 1 failed"; exit 1; }
W endpoint create client --labels app=client >/dev/null || { echo "bench: 0 passed, 1 failed"; exit 1; }
S=$(epj server ipv4) C=$(epj client ipv4)
sif=$(epj server interface) cif=$(epj client interface)
server_ns=$(epj server netns) client_ns=$(epj client netns)
proxy_pid=$(pgrep -P "$agent" -x warden-proxy | head -1)
# The proxies share the server's CPU, or (--proxy-cpus all) may run on any.
PROXY_CPUS=$SRV_CPU
[ "$proxy_cpus" = all ] && PROXY_CPUS=0-$(($(nproc) - 1))
if [ -n "$proxy_pid" ]; then
	taskset -a -cp "$PROXY_CPUS" "$proxy_pid" >/dev/null
	cg_move proxy "$proxy_pid"
fi
for ns in "$server_ns" "$client_ns"; do
	ip netns exec "$ns" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096 \
		net.ipv4.ip_local_port_range="10000 65000" net.ipv4.tcp_tw_reuse=1
done

# Warden's two tc programs, pinned so that they can be re-attached after the
# configurations that run without them (base, iptables, nftables). wardend
# has mounted the BPF filesystem at start if the machine had not
# (lib/bpffs.c, the one place that does).
mkdir -p "$pins"
prog_id() { tc -j filter show dev "$sif" "$1" | python3 -c 'import json,sys; print([f["options"]["prog"]["id"] for f in json.load(sys.stdin) if "options" in f and "prog" in f["options"]][0])'; }
bpftool prog pin id "$(prog_id ingress)" "$pins/from" && bpftool prog pin id "$(prog_id egress)" "$pins/to" ||
	{ echo "cannot pin Warden's programs"; echo "bench: 0 passed, 1 failed"; exit 1; }
attached=1
warden_detach() {
	[ $attached = 1 ] || return 0
	tc qdisc del dev "$sif" clsact && tc qdisc del dev "$cif" clsact && attached=0
}
warden_attach() {
	[ $attached = 0 ] || return 0
	for d in "$sif" "$cif"; do
		tc qdisc add dev "$d" clsact
		tc filter add dev "$d" ingress pref 1 handle 1 bpf da object-pinned "$pins/from"
		tc filter add dev "$d" egress pref 1 handle 1 bpf da object-pinned "$pins/to"
	done
	attached=1
}

cat >"$tmp/nginx.conf" <<NGINX
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 100000000;
  server {
    listen 80 backlog=4096;
    location / { return 200 "hello\n"; }
  }
}
NGINX
(
	cg_join server
	exec taskset -c $SRV_CPU "$ROOT/build/warden" --socket "$sock" endpoint exec server -- nginx -c "$tmp/nginx.conf" -g 'daemon off;'
) &
disown

cat >"$tmp/haproxy.cfg" <<HAP
global
  nbthread 2
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 10.200.0.1:8080
  http-request deny deny_status 403 unless METH_GET { path_reg ^/(index\.html)?\$ }
  default_backend be
backend be
  server s1 $S:80
HAP
(
	cg_join haproxy
	exec taskset -c "$PROXY_CPUS" haproxy -f "$tmp/haproxy.cfg" -db
) >"$out/raw/haproxy.log" 2>&1 &
haproxy_pid=$!
sleep 0.5
kill -0 "$haproxy_pid" 2>/dev/null || { echo "haproxy did not start:"; cat "$out/raw/haproxy.log"; }

# ---- rule sets --------------------------------------------------------------
# "N rules": N-1 rules that never match the traffic (source 172.16.x.y/32, a
# different /32 each), then the rule that does (the client, port 80), last.
nonmatch() { python3 -c "
import sys
for i in range(int(sys.argv[1])): print(f'172.{16 + i // 65536}.{i // 256 % 256}.{i % 256}')" "$1"; }
ONE_MORE=172.31.255.254 # the one rule added to 10,000 in the apply phase
cnp_head() { # [name]
	printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: %s}\nspec:\n  endpointSelector: {matchLabels: {app: server}}\n  ingress:\n' "${1:-bench}"
}
gen_warden_rules() { # N
	cnp_head
	nonmatch $(($1 - 1)) | sed 's|.*|  - {fromCIDR: ["&/32"], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}|'
	echo '  - {fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}'
}
gen_warden_one() { cnp_head bench-one; echo "  - {fromCIDR: [\"$ONE_MORE/32\"], toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]}"; }
gen_l3() { cnp_head; echo '  - fromEndpoints: [{matchLabels: {app: client}}]'; }
gen_l7() { # number of HTTP rules; the request matches the last one
	cnp_head
	printf '  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts:\n    - ports: [{port: "80", protocol: TCP}]\n      rules:\n        http:\n'
	for i in $(seq 1 $(($1 - 1))); do
		echo "        - {method: GET, path: \"/api/v[0-9]+/item$i/.*\"}"
	done
	echo '        - {method: GET, path: "/(index\\.html)?"}'
}
gen_ipt() { # N: an iptables-restore file, a linear chain
	echo '*filter'
	echo ":$IPT_CHAIN - [0:0]"
	echo "-A FORWARD -i $cif -o $sif -j $IPT_CHAIN"
	echo "-A FORWARD -i $sif -o $cif -j $IPT_CHAIN"
	echo "-A $IPT_CHAIN -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
	nonmatch $(($1 - 1)) | sed "s|.*|-A $IPT_CHAIN -s &/32 -d $S/32 -p tcp -m tcp --dport 80 -j ACCEPT|"
	echo "-A $IPT_CHAIN -s $C/32 -d $S/32 -p tcp -m tcp --dport 80 -j ACCEPT"
	echo "-A $IPT_CHAIN -j DROP"
	echo 'COMMIT'
}
nft_head() {
	echo 'table ip warden_bench {'
	echo ' chain forward {'
	echo '  type filter hook forward priority filter; policy accept;'
	echo "  iifname != { \"$cif\", \"$sif\" } accept"
	echo "  oifname != { \"$cif\", \"$sif\" } accept"
	echo '  ct state established,related accept'
}
gen_nft_rule() { nft_head; echo "  ip saddr $C ip daddr $S tcp dport 80 accept"; echo '  drop'; echo ' }'; echo '}'; }
gen_nft_set() { # N [flags]: a set of (source . port), the client's element last
	echo 'table ip warden_bench {'
	echo " set allowed { type ipv4_addr . inet_service; ${2:-flags constant;} elements = {"
	{ nonmatch $(($1 - 1)) | sed 's|.*|  & . 80,|'; echo "  $C . 80 }"; }
	echo ' }'
	nft_head | tail -n +2
	echo "  ip daddr $S ip saddr . tcp dport @allowed accept"
	echo '  drop'; echo ' }'; echo '}'
}
SIZES="1 100 1000 10000"
gen_l3 >"$tmp/l3.yaml"
gen_warden_rules 1 >"$tmp/l4.yaml"
gen_l7 1 >"$tmp/l7-1.yaml"
gen_l7 40 >"$tmp/l7-40.yaml"
gen_nft_rule >"$tmp/nft.nft"
gen_warden_one >"$tmp/warden-one.yaml"
for n in $SIZES; do
	[ $quick = 1 ] && [ "$n" != 10000 ] && continue # the smoke run has no rule scaling
	gen_warden_rules "$n" >"$tmp/warden-$n.yaml"
	gen_ipt "$n" >"$tmp/ipt-$n.rules"
	gen_nft_set "$n" >"$tmp/nft-$n.nft"
done
gen_nft_set 10000 " " >"$tmp/nft-10000-updatable.nft" # the apply phase adds an element

# ---- configurations ---------------------------------------------------------
# (The proxied configurations come first for a historical reason: an L7
# configuration right after a connection-close run used to lose SYNs to stale
# conntrack entries; bench/README.md, "Findings". Kept, so that runs compare.)
MAIN="warden-l7-1 warden-l7-40 haproxy base iptables nftables warden-nopolicy warden-l3 warden-l4 warden-l4-monitor"
SCALE=""
for n in $SIZES; do SCALE="$SCALE warden-rules-$n iptables-rules-$n nftables-rules-$n"; done
# The smoke run: one configuration of each kind of path that carries traffic
# (no filter, Warden L4, Warden L7, HAProxy); iptables and nftables are
# exercised by the apply phase.
[ $quick = 1 ] && MAIN="warden-l7-1 haproxy base warden-l4" SCALE=""
# The bpf pass: the datapath with no policy, L4, the most rules, and L7.
BPFC="warden-nopolicy warden-l4 warden-rules-10000 warden-l7-1"
[ $quick = 1 ] && BPFC="warden-nopolicy warden-l4"
if [ -n "$only" ]; then
	keep() { local c out=; for c in $1; do [[ " $only " == *" $c "* ]] && out="$out $c"; done; echo "$out"; }
	MAIN=$(keep "$MAIN") SCALE=$(keep "$SCALE") BPFC=$(keep "$BPFC")
fi
BIG=$(echo "$SIZES" | tr ' ' '\n' | sort -n | tail -1)
# The fixed-rate phases: every configuration at the fixed request rate; at
# the fixed connection rate the main ones and the biggest rule sets (where
# a rule chain's length shows).
FIXED_KA="$MAIN $SCALE"
FIXED_CL=$MAIN
for c in $SCALE; do [[ $c == *-rules-$BIG ]] && FIXED_CL="$FIXED_CL $c"; done
python3 - "$out/plan.json" <<PY
import json, sys
json.dump({"main": "$MAIN".split(), "scale": "$SCALE".split(), "fixed_ka": "$FIXED_KA".split(),
           "fixed_cl": "$FIXED_CL".split(), "bpf": "$BPFC".split(), "phases": "$phases".split(),
           "profile": "$profile".split(), "rounds": $rounds, "quick": $quick}, open(sys.argv[1], "w"))
PY

record_apply() { # what rules microseconds round ["agent_ms,entries"]
	echo "$1,$2,$3,$4,${5:-,}" >>"$out/apply_times.csv"
}
# W policy import, timed; with a rule count the time is recorded (what).
apply_warden() { # file [rules [what]]
	local t0 t1 f=$tmp/import.json
	t0=${EPOCHREALTIME/./}
	W --json policy import "$1" >"$f" 2>&1 || { cat "$f"; return 1; }
	t1=${EPOCHREALTIME/./}
	[ -n "${2:-}" ] && record_apply "${3:-warden-policy-import}" "$2" $((t1 - t0)) "$round" \
		"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3f,%s" % (d.get("compile_ms", 0) + d.get("apply_ms", 0), d.get("entries", "")))' "$f")"
	return 0
}
setup() { # config
	local c=$1 n t0 t1
	case $c in
	base) warden_detach ;;
	iptables) warden_detach; iptables-restore --noflush "$tmp/ipt-1.rules" ;;
	nftables) warden_detach; nft -f "$tmp/nft.nft" ;;
	warden-nopolicy) warden_attach ;;
	warden-l3) warden_attach; apply_warden "$tmp/l3.yaml" ;;
	warden-l4) warden_attach; apply_warden "$tmp/l4.yaml" ;;
	warden-l4-monitor) warden_attach; apply_warden "$tmp/l4.yaml" && monitor_start ;;
	warden-l7-1) warden_attach; apply_warden "$tmp/l7-1.yaml" ;;
	warden-l7-40) warden_attach; apply_warden "$tmp/l7-40.yaml" ;;
	haproxy) warden_attach; apply_warden "$tmp/l4.yaml" ;;
	warden-rules-*) n=${c#warden-rules-}; warden_attach; apply_warden "$tmp/warden-$n.yaml" "$n" ;;
	iptables-rules-*)
		n=${c#iptables-rules-}; warden_detach
		t0=${EPOCHREALTIME/./}; iptables-restore --noflush "$tmp/ipt-$n.rules"; t1=${EPOCHREALTIME/./}
		record_apply iptables-restore "$n" $((t1 - t0)) "$round" ;;
	nftables-rules-*)
		n=${c#nftables-rules-}; warden_detach
		t0=${EPOCHREALTIME/./}; nft -f "$tmp/nft-$n.nft"; t1=${EPOCHREALTIME/./}
		record_apply nft-f "$n" $((t1 - t0)) "$round" ;;
	esac
}
# `warden monitor -o json` attached for the whole measurement, its events
# counted, to show what streaming verdicts costs the datapath and the agent.
monitor_pid=
monitor_start() {
	(
		cg_join monitor
		exec "$ROOT/build/warden" --socket "$sock" monitor -o json
	) >"$tmp/monitor.json" 2>&1 &
	monitor_pid=$!
	sleep 0.2
}
monitor_stop() {
	[ -n "$monitor_pid" ] || return 0
	kill "$monitor_pid" 2>/dev/null
	wait "$monitor_pid" 2>/dev/null
	monitor_pid=
	echo "$round,warden-l4-monitor,monitor_events_$phase,$(grep -c '^{' "$tmp/monitor.json")" >>"$out/results.csv"
}
teardown() {
	case $1 in
	warden-l4-monitor) monitor_stop; W policy delete --all >/dev/null 2>&1 ;;
	iptables*) ipt_teardown ;;
	nftables*) nft_teardown ;;
	warden-nopolicy | base) ;;
	*) W policy delete --all >/dev/null 2>&1 ;;
	esac
}
url() { [ "$1" = haproxy ] && echo "http://10.200.0.1:8080/" || echo "http://$S/"; }
host_port() { [ "$1" = haproxy ] && echo "10.200.0.1 8080" || echo "$S 80"; }
client() { (
	cg_join load
	exec taskset -c $CLI_CPU "$ROOT/build/warden" --socket "$sock" endpoint exec client -- "$@"
); }

# Does the configuration filter the way it claims? Its datapath is attached
# or not; the L7 filters answer GET /forbidden with 403 while GET / passes
# (base is the control: nginx itself answers 200 to any path); the
# netfilter rules are in place.
check_config() { # config
	local c=$1 ok=1 detail want=200 tcs code_ok code_deny
	isolate
	tcs=$(tc filter show dev "$sif" ingress; tc filter show dev "$cif" egress)
	case $c in
	base | iptables* | nftables*) [ -z "$tcs" ] || ok=0 ;;
	*) [[ $tcs == *"bpf"* ]] || ok=0 ;;
	esac
	case $c in
	iptables*) iptables -S $IPT_CHAIN >/dev/null 2>&1 || ok=0 ;;
	nftables*) nft list table ip warden_bench >/dev/null 2>&1 || ok=0 ;;
	warden-l7-* | haproxy) want=403 ;;
	esac
	code_ok=$(client curl -s -o /dev/null -m 5 -w '%{http_code}' "$(url "$c")")
	code_deny=$(client curl -s -o /dev/null -m 5 -w '%{http_code}' "$(url "$c")forbidden")
	[ "$code_ok" = 200 ] && [ "$code_deny" = $want ] || ok=0
	detail="datapath attached: $([ -n "$tcs" ] && echo yes || echo no); GET / -> $code_ok, GET /forbidden -> $code_deny (want 200, $want)"
	check config "$c" $ok "$detail"
}

# Each measurement starts from the same state: the host-side TIME_WAIT
# sockets the proxies left for the client's address are removed, so a source
# port the client reuses does not meet one (see bench/README.md, "Findings").
isolate() { ss -K -tan state time-wait "( dst $C or src $C )" >/dev/null 2>&1; }
timeline() { echo "$(date -u +%H:%M:%S.%N | cut -c1-12) r$round $*" >>"$out/raw/timeline.txt"; }
# The machine's state before each throughput measurement (raw/state.csv), to
# explain a drift between rounds: kernel conntrack entries, TIME_WAIT sockets (host and
# both namespaces), the proxy's and the agent's memory and CPU so far.
echo "time,phase,round,config,mode,nf_conntrack,host_tw,client_tw,server_tw,proxy_rss_kb,agent_rss_kb,proxy_cpu_ticks,agent_cpu_ticks" >"$out/raw/state.csv"
state() { # config mode
	local tw ctw stw prss arss pcpu acpu ppid
	ppid=$(pgrep -P "$agent" -x warden-proxy | head -1)
	tw=$(awk '/^TCP:/{print $7}' /proc/net/sockstat)
	ctw=$(ip netns exec "$client_ns" awk '/^TCP:/{print $7}' /proc/net/sockstat)
	stw=$(ip netns exec "$server_ns" awk '/^TCP:/{print $7}' /proc/net/sockstat)
	prss=$(awk '/^VmRSS/{print $2}' "/proc/$ppid/status" 2>/dev/null)
	arss=$(awk '/^VmRSS/{print $2}' "/proc/$agent/status" 2>/dev/null)
	pcpu=$(awk '{print $14 + $15}' "/proc/$ppid/stat" 2>/dev/null)
	acpu=$(awk '{print $14 + $15}' "/proc/$agent/stat" 2>/dev/null)
	echo "$(date +%s.%N | cut -c1-14),$phase,$round,$1,$2,$(cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null),$tw,$ctw,$stw,$prss,$arss,$pcpu,$acpu" >>"$out/raw/state.csv"
}


# wrk NAME MODE -> appends "round,config,metric,value" to results.csv
run_wrk() {
	local c=$1 mode=$2 f args=() c0 c1
	f="$out/raw/wrk-$c-$mode-r$round.txt"
	[ "$mode" = close ] && args=(-H 'Connection: close')
	isolate
	state "$c" "$mode"
	timeline "wrk $c $mode"
	c0=$(cpu_sample)
	client timeout $((seconds + 20)) wrk -t1 -c$conns -d"${seconds}s" "${args[@]}" "$(url "$c")" >"$f" 2>&1
	c1=$(cpu_sample)
	python3 - "$f" "$round" "$c" "$mode" "$c0" "$c1" >>"$out/results.csv" <<'PY'
import re, sys
f, rnd, c, mode, c0, c1 = sys.argv[1:]
out = open(f).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
total = re.search(r"(\d+) requests in", out)
metric = "rps_keepalive" if mode == "ka" else "conn_per_s"
if rps and not bad and float(rps.group(1)) > 0:
    print(f"{rnd},{c},{metric},{rps.group(1)}")
    # CPU per 1,000 at max throughput, per role (raw data: the round-by-round
    # view of a slowdown; the fixed-rate phase is the steadier measure)
    a = dict(kv.split("=") for kv in c0.split())
    b = dict(kv.split("=") for kv in c1.split())
    p = "ka" if mode == "ka" else "cl"
    for k in a:
        if k not in ("machine_ticks", "ksoftirqd_ticks") and total:
            print(f"{rnd},{c},{p}_max_cpu_{k}_s_per_1k,{(int(b[k]) - int(a[k])) / 1e9 / (int(total.group(1)) / 1000):.5f}")
else:
    sys.stderr.write(f"no data: {c} {mode}: {out[-300:]}\n")
PY
}
# loadgen CONFIG RATE MODE TAG: RATE 0 = closed loop; MODE ka or close;
# TAG max (closed-loop cross-check), fixed (latency and CPU per 1,000),
# bpf (per-packet program cost, stats on) or profile (perf record).
run_loadgen() {
	local c=$1 rate=$2 mode=$3 tag=$4 f c0 c1 extra=() secs=$fixed_seconds
	f="$out/raw/loadgen-$c-$mode-$tag-r$round.json"
	[ "$mode" = close ] && extra=(--close)
	[ "$tag" = max ] && secs=$seconds
	isolate
	# shellcheck disable=SC2046
	set -- $(host_port "$c")
	timeline "loadgen $c $mode $tag"
	if [ "$tag" = bpf ]; then
		python3 bench/bpfstats.py "$sif" "$cif" >"$f.bpf0"
		sysctl -qw kernel.bpf_stats_enabled=1
	fi
	if [ "$tag" = profile ]; then
		perf record -a -g -F 999 -o "$out/raw/perf-$c-$mode.data" -- sleep "$(python3 -c "print($warm + $secs + 0.1)")" \
			>"$out/raw/perf-$c-$mode.log" 2>&1 &
		perf_pid=$!
	fi
	c0=$(cpu_sample)
	client timeout $((${secs%.*} + 20)) "$ROOT/build/loadgen" --host "$1" --port "$2" --connections $conns \
		--duration "$secs" --warmup "$warm" --rate "$rate" "${extra[@]}" --curve >"$f" 2>"$f.err"
	c1=$(cpu_sample)
	if [ "$tag" = bpf ]; then
		sysctl -qw kernel.bpf_stats_enabled=0
		python3 bench/bpfstats.py "$sif" "$cif" >"$f.bpf1"
	fi
	[ "$tag" = profile ] && { wait "$perf_pid"; perf_pid=; }
	python3 - "$f" "$round" "$c" "$mode" "$tag" "$(getconf CLK_TCK)" "$c0" "$c1" >>"$out/results.csv" <<'PY'
import json, os, sys
f, rnd, c, mode, tag, hz, c0, c1 = sys.argv[1:]
hz = int(hz)
try:
    d = json.load(open(f))
except Exception as e:
    sys.stderr.write(f"no data: loadgen {c} {mode} {tag}: {e}\n"); sys.exit(0)
if d["requests"] == 0 or d["errors"] > 0:
    sys.stderr.write(f"no data: loadgen {c} {mode} {tag}: {d['requests']} requests, {d['errors']} errors\n"); sys.exit(0)
done = d.get("completed", d["requests"]) / 1000  # thousands, warm-up included (so is the CPU)
p = "ka" if mode == "ka" else "cl"
if tag == "max":
    print(f"{rnd},{c},loadgen_rps_max,{d['rps']}")
elif tag == "fixed":
    print(f"{rnd},{c},{p}_fixed_rps,{d['rps']}")
    for k, v in d["latency_us"].items():
        print(f"{rnd},{c},{p}_lat_{k},{v}")
    a = dict(kv.split("=") for kv in c0.split())
    b = dict(kv.split("=") for kv in c1.split())
    delta = {k: int(b[k]) - int(a[k]) for k in a}
    machine = delta.pop("machine_ticks") / hz
    ksoft = delta.pop("ksoftirqd_ticks") / hz
    groups = {k: v / 1e9 for k, v in delta.items()}
    print(f"{rnd},{c},{p}_cpu_machine_s_per_1k,{machine / done:.5f}")
    if groups:
        total = sum(groups.values()) + ksoft
        for k, v in groups.items():
            print(f"{rnd},{c},{p}_cpu_{k}_s_per_1k,{v / done:.5f}")
        print(f"{rnd},{c},{p}_cpu_ksoftirqd_s_per_1k,{ksoft / done:.5f}")
        print(f"{rnd},{c},{p}_cpu_other_s_per_1k,{max(machine - total, 0) / done:.5f}")
    else:
        total = machine
    print(f"{rnd},{c},{p}_cpu_s_per_1k,{total / done:.5f}")
elif tag == "bpf":
    s0, s1 = json.load(open(f + ".bpf0")), json.load(open(f + ".bpf1"))
    tot_ns = tot_runs = 0
    for pid, v in s1.items():
        if pid not in s0:
            continue
        runs = v["run_cnt"] - s0[pid]["run_cnt"]
        ns = v["run_time_ns"] - s0[pid]["run_time_ns"]
        tot_ns += ns
        tot_runs += runs
        name = v["name"]
        if runs > 0:
            print(f"{rnd},{c},bpf_{p}_{name}_ns_per_run,{ns / runs:.1f}")
        print(f"{rnd},{c},bpf_{p}_{name}_runs_per_1k,{runs / done:.1f}")
    if tot_runs:
        print(f"{rnd},{c},bpf_{p}_ns_per_run,{tot_ns / tot_runs:.1f}")
        print(f"{rnd},{c},bpf_{p}_runs_per_req,{tot_runs / done / 1000:.3f}")
        print(f"{rnd},{c},bpf_{p}_ns_per_req,{tot_ns / done / 1000:.1f}")
elif tag in ("profile", "syscalls"):
    print(f"{rnd},{c},{tag}_{p}_requests,{d.get('completed', d['requests'])}")
PY
}

echo "what,rules,us,round,agent_ms,entries" >"$out/apply_times.csv"
log "Warden benchmark: $rounds round(s), ${seconds}s per throughput and ${fixed_seconds}s per fixed-rate measurement, $conns connections, $(nproc) CPUs; server+proxies on CPU $SRV_CPU, client on CPU $CLI_CPU"
log "server $S ($sif), client $C ($cif); CPU: $cpu_method; results in $out"
log "phases: $phases${profile:+ + profile ($profile)}; configurations: $MAIN $SCALE"
# A first request through every kind of path, so nothing cold is measured.
client wrk -t1 -c4 -d1s "http://$S/" >/dev/null 2>&1
bpf_start=$(python3 bench/bpfstats.py "$sif" "$cif")

# Phase 1: max throughput (keep-alive) and new connections/s, all configurations.
phase=throughput
if has_phase throughput; then
	for round in $(seq 1 "$rounds"); do
		for c in $MAIN $SCALE; do
			timeline "setup $c"
			setup "$c" || { echo "setup of $c failed"; teardown "$c"; continue; }
			[ "$round" = 1 ] && check_config "$c"
			run_wrk "$c" ka
			run_wrk "$c" close
			[ "$c" = base ] && run_loadgen base 0 ka max
			timeline "teardown $c"
			teardown "$c"
		done
		log "throughput round $round/$rounds done"
	done
fi

# The fixed rates: half the slowest main configuration's max (median over
# rounds), requests/s (keep-alive) and new connections/s.
read -r rate_auto conn_auto slowest slowest_c < <(python3 - "$out/results.csv" "$MAIN" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def slowest(metric, default):
    meds = []
    for c in sys.argv[2].split():
        v = [float(r["value"]) for r in rows if r["config"] == c and r["metric"] == metric]
        if v:
            meds.append((statistics.median(v), c))
    return (int(min(meds)[0] * 0.5), min(meds)[1]) if meds else (default, "none")
r, rc = slowest("rps_keepalive", 1000)
k, kc = slowest("conn_per_s", 500)
print(r, k, rc, kc)
PY
)
rate=${rate:-$rate_auto} conn_rate=${conn_rate:-$conn_auto}
log "fixed rates: $rate requests/s (50% of $slowest's max), $conn_rate connections/s (50% of $slowest_c's max)"
echo "$rate $slowest $conn_rate $slowest_c" >"$out/fixed_rate.txt"

# Phase 2: latency and CPU per 1,000 at the fixed request rate (keep-alive)
# and at the fixed connection rate (one request per connection).
phase=fixed
if has_phase fixed; then
	for round in $(seq 1 "$rounds"); do
		for c in $FIXED_KA; do
			setup "$c" || { teardown "$c"; continue; }
			run_loadgen "$c" "$rate" ka fixed
			teardown "$c"
		done
		for c in $FIXED_CL; do
			setup "$c" || { teardown "$c"; continue; }
			run_loadgen "$c" "$conn_rate" close fixed
			teardown "$c"
		done
		log "fixed-rate round $round/$rounds done"
	done
fi
# The BPF statistics stayed off through the phases above: the programs'
# run_time_ns and run_cnt did not move (the positive control is the bpf pass).
warden_attach
bpf_end=$(python3 bench/bpfstats.py "$sif" "$cif")
round=0
read -r still detail < <(python3 - "$bpf_start" "$bpf_end" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
moved = {k: b[k]["run_cnt"] - a[k]["run_cnt"] for k in a if k in b}
print(1 if a and all(v == 0 for v in moved.values()) else 0, f"run_cnt moved by {moved} while kernel.bpf_stats_enabled=0")
PY
)
check bpf_stats_off all "$still" "$detail"

# Phase 3: the datapath programs' cost per packet, stats on only here. New
# flows: the fixed connection rate; established packets: the fixed request rate.
phase=bpf
if has_phase bpf; then
	for round in $(seq 1 "$rounds"); do
		for c in $BPFC; do
			setup "$c" || { teardown "$c"; continue; }
			run_loadgen "$c" "$rate" ka bpf
			run_loadgen "$c" "$conn_rate" close bpf
			teardown "$c"
		done
		log "bpf round $round/$rounds done"
	done
fi

# Phase 4: applying rules. 10,000 rules from nothing, then one more rule into
# the 10,000 (a second policy / an inserted rule / a set element), by each tool.
phase=apply
if has_phase apply; then
	warden_detach
	for round in $(seq 1 "$rounds"); do
		W policy delete --all >/dev/null 2>&1
		apply_warden "$tmp/warden-10000.yaml" 10000 apply-warden-import
		apply_warden "$tmp/warden-one.yaml" 1 apply-warden-import-one-into-10000
		W policy get bench-one >/dev/null 2>&1 && W policy get bench >/dev/null 2>&1
		check apply_one_rule warden $((1 - $?)) "policy bench-one imported next to the 10,000-rule policy"
		t0=${EPOCHREALTIME/./}; W policy delete bench-one >/dev/null; t1=${EPOCHREALTIME/./}
		record_apply apply-warden-delete-one-from-10000 1 $((t1 - t0)) "$round"
		W policy delete --all >/dev/null 2>&1
		t0=${EPOCHREALTIME/./}; iptables-restore --noflush "$tmp/ipt-10000.rules"; t1=${EPOCHREALTIME/./}
		record_apply apply-iptables-restore 10000 $((t1 - t0)) "$round"
		t0=${EPOCHREALTIME/./}
		iptables -I $IPT_CHAIN 2 -s $ONE_MORE/32 -d "$S/32" -p tcp -m tcp --dport 80 -j ACCEPT
		t1=${EPOCHREALTIME/./}
		record_apply apply-iptables-insert-one-into-10000 1 $((t1 - t0)) "$round"
		ipt_teardown
		t0=${EPOCHREALTIME/./}; nft -f "$tmp/nft-10000-updatable.nft"; t1=${EPOCHREALTIME/./}
		record_apply apply-nft-f 10000 $((t1 - t0)) "$round"
		t0=${EPOCHREALTIME/./}; nft add element ip warden_bench allowed "{ $ONE_MORE . 80 }"; t1=${EPOCHREALTIME/./}
		record_apply apply-nft-add-one-into-10000 1 $((t1 - t0)) "$round"
		nft_teardown
	done
	warden_attach
	log "apply phase done"
fi

# Optional: perf profiles (not part of the numbers): per CONFIG:MODE one
# extra fixed-rate run under `perf record -a -g`, and one under `perf trace
# -s` on the server, the proxies and the agent (system calls per request);
# report.py summarises both.
phase=profile
round=1
for pm in $profile; do
	c=${pm%%:*} m=${pm#*:}
	case $m in ka) r=$rate ;; close) r=$conn_rate ;; *) echo "--profile: $pm: mode is ka or close" >&2; continue ;; esac
	setup "$c" || { teardown "$c"; continue; }
	run_loadgen "$c" "$r" "$m" profile
	traced=$(echo $(ip netns pids "$server_ns") $(pgrep -P "$agent" -x warden-proxy) $haproxy_pid $agent | tr ' ' ,)
	timeout -s INT "$(python3 -c "print($warm + $fixed_seconds + 1)")" \
		perf trace -s -p "$traced" -o "$out/raw/syscalls-$c-$m.txt" 2>/dev/null &
	perf_pid=$!
	sleep 0.3
	run_loadgen "$c" "$r" "$m" syscalls
	wait "$perf_pid"
	perf_pid=
	teardown "$c"
	perf report -i "$out/raw/perf-$c-$m.data" --no-children --sort comm -n --stdio -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' >"$out/raw/perf-$c-$m.comm.txt"
	# the symbols of the benchmark's own processes (percentages of their samples)
	perf report -i "$out/raw/perf-$c-$m.data" --no-children --sort comm,dso,sym -n --stdio -g none \
		--comms wrk,loadgen,nginx,haproxy,warden-proxy,wardend,warden,ksoftirqd/0,ksoftirqd/1 \
		--percent-limit 0.3 2>/dev/null | grep -v '^#' | grep -v '^$' >"$out/raw/perf-$c-$m.sym.txt"
	log "profile $c $m done"
done
warden_attach

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel: $(uname -r)"
	echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
	echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "iptables: $(iptables -V)"
	echo "nft: $(nft -v)"
	echo "nginx: $(nginx -v 2>&1 | cut -d/ -f2)"
	echo "haproxy: $(haproxy -v | head -1 | awk '{print $3}')"
	echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
	echo "rounds: $rounds, seconds per throughput measurement: $seconds, per fixed-rate measurement: $fixed_seconds (+${warm}s warm-up), connections: $conns"
	echo "cpu split: server nginx (1 worker) on CPU $SRV_CPU; warden-proxy + haproxy on CPU(s) $PROXY_CPUS; wrk -t1 / loadgen on CPU $CLI_CPU"
	echo "cpu accounting: $cpu_method"
	echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (+ changes)')"
} >"$out/machine.txt"
cp "$tmp/warden-10000.yaml" "$tmp/ipt-10000.rules" "$out/raw/" 2>/dev/null

python3 bench/report.py "$out"
report_rc=$?

# Clean up now (not only at exit), and check that nothing is left behind.
trap - EXIT
cleanup
left=$(leftovers)
read -r passed failed <"$out/counts.txt" 2>/dev/null || { passed=0 failed=1; }
[ $report_rc -le 1 ] || failed=$((failed + 1))
if [ -z "$left" ]; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "left behind: $left"
fi
echo "bench: $passed passed, $failed failed"
[ "$failed" = 0 ]
