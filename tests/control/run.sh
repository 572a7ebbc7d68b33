#!/usr/bin/env bash
# The control plane under abuse (issue 14): a real wardend, real endpoints,
# clients that misbehave (tests/control/ctl.py), and workloads that try to
# leave their endpoint. Each abusive load runs while a policy change and a
# revocation are measured: both must take effect within 1 s.
#   tests/control/run.sh [PATTERN]     (root; best inside tests/node.sh)
# Ends with "control: N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../e2e/lib.sh
. "$here/../e2e/lib.sh"
CTL="python3 $here/ctl.py"
PROBE=$E2E_ROOT/build/tests/control/bpf-probe
LOADS=()
# Restore the agent's descriptor limit (t_fd_exhaustion lowers it) and stop
# every load, also when a test fails half-way.
stop_loads() {
	local pid
	for pid in "${LOADS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	LOADS=()
}
control_cleanup() {
	stop_loads
	[ -n "${PERMS_DIR:-}" ] && rm -rf "$PERMS_DIR"
	e2e_cleanup
}
trap control_cleanup EXIT
trap 'exit 130' INT TERM

pattern=${1:-}
now() { date +%s.%N; }
ms_between() { python3 -c "import sys; print(int((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$1" "$2"; }
# field NAME LINE: the value of NAME=... in a ctl.py result line
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -1; }
# background CMD...: a load that runs until stop_loads
background() {
	"$@" >>"$E2E_TMP/loads.log" 2>&1 &
	LOADS+=($!)
}

# The cast: a server (a ticker on 7000, a pong server on 8080) that admits
# the client on 7000 only; UDP to the server is dropped (every datagram is a
# drop event for the monitors).
POLICY_STREAM='apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-policy}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "7000", protocol: TCP}]}]'
POLICY_BOTH='apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-policy}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "7000", protocol: TCP}, {port: "8080", protocol: TCP}]}]'
POLICY_NONE='apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-policy}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: nobody}}]'

cast() {
	W endpoint create server --labels app=server >/dev/null &&
		W endpoint create client --labels app=client >/dev/null || {
		fail "create the endpoints"
		return 1
	}
	SERVER=$(ep_ip server)
	printf 'while :; do echo tick; sleep 0.05; done\n' >"$E2E_TMP/ticker.sh"
	W endpoint exec server -- socat TCP-LISTEN:7000,fork,reuseaddr EXEC:"sh $E2E_TMP/ticker.sh" >/dev/null 2>&1 &
	wait_listen server 7000 || return 1
	serve_tcp server 8080 || return 1
	import_text "$POLICY_STREAM" || return 1
}
import_text() { printf '%s\n' "$1" >"$E2E_TMP/policy.yaml" && import "$E2E_TMP/policy.yaml"; }

# measure_changes LABEL: with whatever load runs, a grant (8080 opens) and a
# revocation (the established 7000 stream is cut) must each take effect
# within 1 s of the command that asks for it; both printed.
measure_changes() {
	local label=$1 t0 t_ok ticks_before last n_late grant_ms revoke_ms
	import_text "$POLICY_STREAM" >/dev/null || { fail "$label: reset the policy"; return; }
	rm -f "$E2E_TMP/ticks"
	W endpoint exec client -- $CTL ticks-reader "$SERVER" 7000 "$E2E_TMP/ticks" &
	local reader=$!
	W endpoint exec client -- $CTL probe-until "$SERVER" 8080 30 >"$E2E_TMP/grant" 2>&1 &
	local prober=$! t_cli
	# The stream flows (a few ticks) before anything changes.
	for _ in $(seq 100); do
		[ "$(cat "$E2E_TMP/ticks" 2>/dev/null | wc -l)" -ge 5 ] && break
		sleep 0.1
	done
	ticks_before=$(cat "$E2E_TMP/ticks" 2>/dev/null | wc -l)
	# Grant: the probe has been failing (8080 not allowed) until now.
	for _ in $(seq 100); do
		grep -q probing "$E2E_TMP/grant" 2>/dev/null && break
		sleep 0.1
	done
	printf '%s\n' "$POLICY_BOTH" >"$E2E_TMP/both.yaml"
	t0=$(now)
	W policy import "$E2E_TMP/both.yaml" >/dev/null
	t_cli=$(ms_between "$t0" "$(now)")
	wait "$prober"
	t_ok=$(grep -v probing "$E2E_TMP/grant" | head -1)
	if [ "$t_ok" = never ] || [ -z "$t_ok" ]; then
		fail "$label: a granted port never opened"
	elif python3 -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$t_ok" "$t0"; then
		fail "$label: the probe got through before the grant (test bug: the port was open)"
	else
		grant_ms=$(ms_between "$t0" "$t_ok")
		echo "    $label: policy grant took effect after ${grant_ms} ms (the import command took ${t_cli} ms)"
		check "$label: a policy grant takes effect within 1 s ($grant_ms ms)" test "$grant_ms" -lt 1000
	fi
	# Revoke: the established stream must stop.
	if [ "$ticks_before" -lt 5 ]; then
		fail "$label: the allowed stream did not flow ($ticks_before ticks): nothing to revoke"
		kill "$reader" 2>/dev/null
		return
	fi
	printf '%s\n' "$POLICY_NONE" >"$E2E_TMP/none.yaml"
	t0=$(now)
	W policy import "$E2E_TMP/none.yaml" >/dev/null
	sleep 2
	kill "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null
	last=$(tail -1 "$E2E_TMP/ticks")
	revoke_ms=$(ms_between "$t0" "$last")
	[ "$revoke_ms" -lt 0 ] && revoke_ms=0
	n_late=$(python3 -c "import sys; print(sum(1 for l in open(sys.argv[1]) if float(l) > float(sys.argv[2]) + 1.0))" "$E2E_TMP/ticks" "$t0")
	echo "    $label: revocation cut the stream after ${revoke_ms} ms ($ticks_before ticks before)"
	check "$label: a revocation cuts an established flow within 1 s ($revoke_ms ms, $n_late ticks later)" \
		test "$n_late" -eq 0
}

# status_latency LABEL COUNT: COUNT status requests; max must stay < 1 s.
status_latency() {
	local out max
	out=$($CTL status-latency "$SOCK" "$2")
	echo "    $1: status latency $out"
	max=$(field max_ms "$out")
	check "$1: every status answered, the slowest within 1 s (${max} ms)" \
		test "$(field errors "$out")" = 0 -a "${max%.*}" -lt 1000
}

t_10_baseline() {
	status_latency "no load" 20
	measure_changes "no load"
}

# A monitor whose reader never reads, another stuck in a --last 4096 replay,
# a UDP flood that policy drops (a drop event per datagram), ten clients
# that sent half a request, and 50 metrics connections that never send; on
# top, 1,000 clients at once.
t_20_abuse_at_once() {
	local out half_out
	background W endpoint exec client -- $CTL udp-flood "$SERVER" 9000 3600
	sleep 2 # history full of drops for the --last replay
	background $CTL monitor-stuck "$SOCK" 0
	background $CTL monitor-stuck "$SOCK" 4096
	for i in $(seq 10); do
		$CTL half "$SOCK" 30 >"$E2E_TMP/half.$i" 2>&1 &
		LOADS+=($!)
	done
	background $CTL tcp-idle-forever 127.0.0.1 9962 50
	sleep 1
	status_latency "stuck monitors + UDP flood + half requests + idle scrapes" 50
	measure_changes "stuck monitors + UDP flood + half requests + idle scrapes"

	out=$($CTL concurrent "$SOCK" 1000)
	echo "    1,000 concurrent clients: $out"
	check "1,000 concurrent clients are all answered, under the same load ($(field elapsed_ms "$out") ms)" \
		test "$(field ok "$out")" = 1000
	$CTL concurrent "$SOCK" 1000 >"$E2E_TMP/concurrent" &
	local crowd=$!
	measure_changes "while 1,000 more clients connect"
	wait "$crowd"
	check "the second crowd of 1,000 was answered too ($(field ok "$(cat "$E2E_TMP/concurrent")") ok)" \
		test "$(field ok "$(cat "$E2E_TMP/concurrent")")" = 1000

	local lost
	lost=$(W status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_lost"])')
	echo "    events lost by the stuck monitors (counted): $lost"
	check "events the stuck monitors could not take are counted ($lost)" test "$lost" -gt 0
	# The half requests: answered with a reason and closed after 10 s.
	sleep 1
	for i in $(seq 10); do wait "${LOADS[$((i + 2))]}" 2>/dev/null; done
	half_out=$(cat "$E2E_TMP/half.1")
	echo "    a half request: $half_out"
	check "a half-sent request is answered with an error and closed after 10 s" \
		grep -q 'closed=1 reply=.*not complete after 10 s' "$E2E_TMP/half.1"
	stop_loads
	status_latency "after the load" 10
}

t_30_malformed_and_oversized() {
	local out
	out=$($CTL malformed "$SOCK")
	echo "    $out" | head -5
	check "each malformed line gets an error reply, and the connection serves on" \
		test "$(field error_replies "$out")" = "$(field lines "$out")" -a "$(field status_after "$out")" = 1
	out=$($CTL oversized "$SOCK" $((20 << 20)) 2>/dev/null)
	echo "    20 MiB without a newline: $(cut -c1-200 <<<"$out")"
	check "a request over 16 MiB is refused with a reason, and the connection closed" \
		bash -c '[[ $1 == *"closed=1"* && $1 == *"longer than"* ]]' _ "$out"
	check "the agent serves on after it" W status
}

t_40_monitor_twice_on_one_connection() {
	local out
	background W endpoint exec client -- $CTL udp-flood "$SERVER" 9000 3600 300
	sleep 0.5
	out=$($CTL double-monitor "$SOCK")
	stop_loads
	echo "    $(cut -c1-300 <<<"$out")"
	check "a second monitor request (and one with leading blanks) is refused on that connection" \
		bash -c '[[ $1 == *"second=\"{\\\"ok\\\":false"* && $1 == *"third=\"{\\\"ok\\\":false"* ]]' _ "$out"
	check "after that connection closed, a new client gets its reply and no stray events" \
		test "$(field status_ok "$out")" = 1 -a "$(field extra_bytes "$out")" = 0
}

t_50_metrics_connections_that_never_send() {
	local out scrape
	$CTL tcp-idle 127.0.0.1 9962 100 5 >"$E2E_TMP/idle" &
	local idle=$!
	sleep 0.3
	status_latency "100 silent metrics connections" 20
	wait "$idle"
	out=$(tail -1 "$E2E_TMP/idle")
	echo "    $out"
	check "silent metrics connections are closed by the agent within 2 s ($(field max_lifetime_s "$out") s)" \
		python3 -c "import sys; sys.exit(not (int(sys.argv[1]) == 100 and float(sys.argv[2]) < 2.0))" \
		"$(field closed_by_server "$out")" "$(field max_lifetime_s "$out")"
	scrape=$($CTL scrape 127.0.0.1 9962)
	echo "    a scrape after them: $scrape"
	check "a scrape is served after them" bash -c '[[ $1 == *"200 OK"* ]]' _ "$scrape"
}

t_60_client_limit() {
	local out
	stop_agent
	WARDEND_ARGS="--max-clients 50" start_agent || { fail "restart with --max-clients 50"; return; }
	$CTL hold "$SOCK" 60 30 >"$E2E_TMP/hold" 2>&1 &
	local holder=$!
	for _ in $(seq 50); do grep -q ready "$E2E_TMP/hold" && break; sleep 0.1; done
	out=$(cat "$E2E_TMP/hold")
	echo "    $(head -3 <<<"$out" | tr '\n' ' ')"
	check "past --max-clients 50, each refused client is told why" \
		bash -c '[[ $1 == *"refused_with_message=10"* && $1 == *"max-clients"* ]]' _ "$out"
	out=$(W status 2>&1)
	echo "    warden status at the limit: $out"
	check "a CLI call at the limit fails, with the reason" \
		bash -c '[[ $1 == *"warden: wardend is serving 50 clients"*"--max-clients"* ]]' _ "$out"
	kill "$holder"
	wait "$holder" 2>/dev/null
	sleep 0.2
	check "with the clients gone, the agent serves again" W status
	stop_agent
	start_agent || fail "restart"
}

# The agent's descriptor limit lowered under it: connections beyond are
# refused with a reason, the agent does not spin, and recovers.
t_70_fd_exhaustion() {
	local out cpu0 cpu1 used
	# The soft limit only: raising a hard limit again needs CAP_SYS_RESOURCE.
	local soft
	soft=$(prlimit --pid "$AGENT_PID" --nofile --raw --noheadings -o SOFT)
	prlimit --pid "$AGENT_PID" --nofile=200: || { fail "prlimit"; return; }
	$CTL hold "$SOCK" 400 30 >"$E2E_TMP/hold" 2>&1 &
	local holder=$!
	for _ in $(seq 100); do grep -q ready "$E2E_TMP/hold" && break; sleep 0.1; done
	out=$(cat "$E2E_TMP/hold")
	echo "    $(head -3 <<<"$out" | tr '\n' ' ')"
	check "out of descriptors, refused clients are told why" \
		bash -c '[[ $1 == *"out of file descriptors"* ]]' _ "$out"
	cpu0=$(awk '{print $14 + $15}' "/proc/$AGENT_PID/stat")
	sleep 2
	cpu1=$(awk '{print $14 + $15}' "/proc/$AGENT_PID/stat")
	used=$((cpu1 - cpu0))
	echo "    agent CPU over 2 s with its descriptors exhausted: $used ticks of $(getconf CLK_TCK)/s"
	check "the agent does not spin while out of descriptors ($used ticks in 2 s)" test "$used" -lt 40
	kill "$holder"
	wait "$holder" 2>/dev/null
	sleep 0.3
	check "with descriptors free again, the agent serves" W status
	prlimit --pid "$AGENT_PID" --nofile="$soft": || fail "restore the descriptor limit"
	measure_changes "after descriptor exhaustion"
}

# Socket permissions: created with its final mode; a group may be let in;
# others are refused with a reason (also when the mode would let them in).
t_80_socket_permissions() {
	local mode out
	PERMS_DIR=$(mktemp -d /tmp/warden-perms.XXXXXX)
	chmod 755 "$PERMS_DIR"
	local psock=$PERMS_DIR/warden.sock saved_umask
	asnobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
	# ... with CAP_DAC_OVERRIDE: past the socket's mode, to meet the agent's check
	past_mode() {
		setpriv --reuid 65534 --regid "$1" --clear-groups --inh-caps +dac_override \
			--ambient-caps +dac_override "$WARDEN" --socket "$psock" status 2>&1
	}
	stop_agent
	# Under umask 0 the socket used to be 0777 until the agent's chmod.
	saved_umask=$(umask)
	umask 0
	SOCK=$psock start_agent
	umask "$saved_umask"
	[ -S "$psock" ] || { fail "start on $psock"; return; }
	mode=$(stat -c '%a %U:%G' "$psock")
	check "under umask 0 the socket is created 0600 root:root ($mode)" test "$mode" = "600 root:root"
	check "no temporary directory is left beside it" \
		test "$(find "$PERMS_DIR" -mindepth 1 | wc -l)" = 1
	check "root may use it" "$WARDEN" --socket "$psock" status
	out=$(past_mode 65534)
	echo "    uid 65534: $out"
	check "a non-root peer is refused, and told why" \
		bash -c '[[ $1 == *"permission denied: only root may use wardend"* ]]' _ "$out"
	stop_agent
	SOCK=$psock WARDEND_ARGS="--socket-group nogroup" start_agent
	mode=$(stat -c '%a %U:%G' "$psock" 2>&1)
	check "with --socket-group nogroup the socket is 0660 root:nogroup ($mode)" \
		test "$mode" = "660 root:nogroup"
	check "a member of the group may use it" asnobody "$WARDEN" --socket "$psock" status
	out=$(past_mode 1)
	echo "    uid 65534 gid 1: $out"
	check "a peer outside the group is refused, and told why" \
		bash -c '[[ $1 == *"neither root nor in group nogroup"* ]]' _ "$out"
	stop_agent
	rm -rf "$PERMS_DIR"
	PERMS_DIR=
	start_agent || fail "restart"
}

# What `endpoint exec` runs cannot leave its network namespace, load BPF or
# talk to the agent; with --privileged it can (the positive controls).
t_90_workload_confinement() {
	local out
	in_client() { W endpoint exec client -- "$@"; }
	in_client_privileged() { W endpoint exec client --privileged -- "$@"; }
	check_denied "a workload cannot nsenter into the host's network namespace" \
		in_client_privileged nsenter -t "$AGENT_PID" -n true -- \
		in_client nsenter -t "$AGENT_PID" -n true
	check_denied "a workload cannot load a BPF program" \
		in_client_privileged "$PROBE" -- in_client "$PROBE"
	out=$(in_client "$WARDEN" --socket "$SOCK" policy delete --all 2>&1)
	echo "    warden policy delete --all from inside: $out"
	check_denied "a workload's control request is refused" \
		W policy get -- in_client "$WARDEN" --socket "$SOCK" policy delete --all
	check "and it says why" bash -c '[[ $1 == *"network namespace of endpoint default/client"* ]]' _ "$out"
	check "the policy is still in force" bash -c "\"$WARDEN\" --socket \"$SOCK\" policy get --json | grep -q server-policy"
	check "a workload keeps what servers need: a raw socket (CAP_NET_RAW)" \
		in_client python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)'
	check "and ping to the host, which every endpoint may reach" in_client ping -c1 -W2 10.200.0.1
	W endpoint exec server -- socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo pong' >/dev/null 2>&1 &
	check "and binding port 80 (CAP_NET_BIND_SERVICE)" wait_listen server 80
	out=$(in_client cat /proc/self/status)
	local bounding nnp
	bounding=$(awk '/^CapBnd/ {print $2}' <<<"$out")
	nnp=$(awk '/^NoNewPrivs/ {print $2}' <<<"$out")
	echo "    a workload's status: CapBnd $bounding, NoNewPrivs $nnp"
	check "its bounding set lacks CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF; no_new_privs is set" \
		bash -c '(( (0x$1 & (1 << 21 | 1 << 12 | 1 << 39)) == 0 )) && [ "$2" = 1 ]' _ "$bounding" "$nnp"
}

start_agent || { echo "control: 0 passed, 1 failed"; exit 1; }
for t in $(declare -F | awk '{print $3}' | grep '^t_' | sort); do
	[ -n "$pattern" ] && [[ $t != *"$pattern"* ]] && continue
	E2E_CURRENT=${t#t_}
	echo "--- $E2E_CURRENT"
	if [ -z "$(W endpoint list --json 2>/dev/null | grep -o '"server"')" ]; then
		cast || { fail "set up the endpoints"; continue; }
	fi
	before=$E2E_FAILED
	"$t"
	stop_loads
	if [ "$E2E_FAILED" -ne "$before" ]; then
		echo "    agent log (tail):"
		tail -5 "$E2E_TMP/wardend.log" | sed 's/^/      /'
	fi
	if ! kill -0 "$AGENT_PID" 2>/dev/null; then
		fail "wardend died"
		tail -20 "$E2E_TMP/wardend.log"
		break
	fi
done
echo "control: $E2E_PASSED passed, $E2E_FAILED failed, $E2E_SKIPPED skipped"
[ "$E2E_FAILED" -eq 0 ]
