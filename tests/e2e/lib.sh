# shellcheck shell=bash
# End-to-end test helpers: a real wardend, real endpoints (network
# namespaces + veth + the BPF datapath), real servers and clients.
#
# Safety: traffic only goes to addresses inside namespaces these tests
# create (pod CIDR 10.200.0.0/16, which the agent blackholes as a whole, and
# the "world" namespace 10.250.0.0/24). Everything is removed by the EXIT
# trap, also when a test fails or the run is interrupted.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WARDEND=${WARDEND:-$E2E_ROOT/build/wardend}
WARDEN=${WARDEN:-$E2E_ROOT/build/warden}
E2E_TMP=$(mktemp -d /tmp/warden-e2e.XXXXXX)
SOCK=$E2E_TMP/warden.sock
AGENT_PID=
# In a test node (tests/node.sh) every name that is global on the machine
# takes the node's prefix, so that nodes never see each other's.
NETNS_PREFIX=${WARDEN_NETNS_PREFIX:-warden-}
WORLD_NS=${WARDEN_NETNS_PREFIX:-wdtest-}world
WORLD_HOST_IF=wdtworld0
CORPUS=${WARDEN_CORPUS:-$E2E_ROOT/../shared/corpus}
export WARDEN_SOCKET=$SOCK

E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
E2E_CURRENT=

W() { "$WARDEN" --socket "$SOCK" "$@"; }

pass() { E2E_PASSED=$((E2E_PASSED + 1)); echo "  ✓ $E2E_CURRENT: $*"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); echo "  ✗ $E2E_CURRENT: $*"; }
skip() { E2E_SKIPPED=$((E2E_SKIPPED + 1)); echo "  - $E2E_CURRENT: skipped: $*"; }

# need_corpus: the test reads the policy corpus, which sits beside the
# checkout (../shared/corpus), not in it. Without it the test is skipped
# (never passed); WARDEN_REQUIRE_CORPUS=1 (CI) makes that a failure.
need_corpus() {
	[ -d "$CORPUS" ] && return 0
	if [ "${WARDEN_REQUIRE_CORPUS:-0}" = 1 ]; then
		fail "the policy corpus $CORPUS is missing (WARDEN_REQUIRE_CORPUS=1)"
	else
		skip "the policy corpus $CORPUS is not there (set WARDEN_CORPUS)"
	fi
	return 1
}

# check DESCRIPTION CMD... : CMD must succeed (returns 1 when it did not)
check() {
	local desc=$1
	shift
	if "$@" >"$E2E_TMP/out" 2>&1; then pass "$desc"; else
		fail "$desc (command: $*)"
		sed 's/^/      /' "$E2E_TMP/out" | tail -15
		return 1
	fi
}
# A negative check ("dropped", "denied", "times out", "refused") passes
# just as well when the server never started or cannot be reached at all.
# So there is no check_not: each negative check names its positive control,
# something on the same server that must pass at the same moment (the
# allowed client, the host, which every endpoint admits, or the allowed
# port). Without the control the check fails, saying so.
#
# check_denied DESCRIPTION CONTROL... -- ATTEMPT...
#   CONTROL must succeed, then ATTEMPT must fail. One check.
# check_controlled DESCRIPTION CONTROL... -- CMD...
#   CONTROL must succeed, then CMD must succeed: for checks that name the
#   kind of denial themselves (a timeout rather than a RST, a 403).
# CONTROL ends at the first "--": wrap a command that has its own (an
# `endpoint exec`) in a function.
check_denied() { controlled_check denied "$@"; }
check_controlled() { controlled_check outcome "$@"; }
controlled_check() {
	local kind=$1 desc=$2 control=() rc
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		control+=("$1")
		shift
	done
	if [ $# -lt 2 ] || [ ${#control[@]} -eq 0 ]; then
		fail "$desc (test bug: usage: check_$kind DESCRIPTION CONTROL... -- CMD...)"
		return
	fi
	shift
	if ! "${control[@]}" >"$E2E_TMP/out" 2>&1; then
		fail "$desc: the control failed, so the check would prove nothing (control: ${control[*]})"
		sed 's/^/      /' "$E2E_TMP/out" | tail -5
		return
	fi
	"$@" >"$E2E_TMP/out" 2>&1
	rc=$?
	if [ "$kind" = denied ] && [ "$rc" -eq 0 ]; then
		fail "$desc (unexpectedly succeeded: $*)"
		sed 's/^/      /' "$E2E_TMP/out" | tail -5
	elif [ "$kind" = outcome ] && [ "$rc" -ne 0 ]; then
		fail "$desc (command: $*)"
		sed 's/^/      /' "$E2E_TMP/out" | tail -15
	else
		pass "$desc"
	fi
}

start_agent() {
	# WARDEND_ARGS: extra options for one test (unquoted: split on blanks).
	# WARDEN_TEST_HOOKS=1: the `test.fault` command of test_faults.sh.
	# shellcheck disable=SC2086
	WARDEN_TEST_HOOKS=1 "$WARDEND" --state-dir "$E2E_TMP/state" --socket "$SOCK" ${WARDEND_ARGS:-} >>"$E2E_TMP/wardend.log" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && W status >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "wardend did not start:"
	cat "$E2E_TMP/wardend.log"
	return 1
}

stop_agent() {
	[ -n "$AGENT_PID" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

# A namespace Warden does not manage, outside the pod CIDR: it plays
# "world" (addresses 10.250.0.2, .3 and .5; the host side is 10.250.0.1).
world_create() {
	ip netns add "$WORLD_NS"
	ip link add "$WORLD_HOST_IF" type veth peer name eth0 netns "$WORLD_NS"
	ip addr add 10.250.0.1/24 dev "$WORLD_HOST_IF"
	ip link set "$WORLD_HOST_IF" up
	ip -n "$WORLD_NS" addr add 10.250.0.2/24 dev eth0
	ip -n "$WORLD_NS" addr add 10.250.0.3/24 dev eth0
	ip -n "$WORLD_NS" addr add 10.250.0.5/24 dev eth0
	ip -n "$WORLD_NS" link set eth0 up
	ip -n "$WORLD_NS" link set lo up
	ip -n "$WORLD_NS" route add 10.200.0.0/16 via 10.250.0.1
}
world() { ip netns exec "$WORLD_NS" "$@"; }
# Between tests: the servers a test started in the world namespace go, so
# the next test's server is its own (and binds).
world_reset() {
	local pids
	pids=$(ip netns pids "$WORLD_NS" 2>/dev/null)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	for _ in $(seq 20); do
		[ -z "$(ip netns pids "$WORLD_NS" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
}

e2e_cleanup() {
	local pids
	stop_agent
	if ip netns list 2>/dev/null | grep -qw "$WORLD_NS"; then
		pids=$(ip netns pids "$WORLD_NS" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$WORLD_NS" 2>/dev/null
	fi
	ip link del "$WORLD_HOST_IF" 2>/dev/null
	# Whatever a killed agent could not remove itself.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NETNS_PREFIX}[0-9]+\$"); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	ip addr del 10.200.0.1/32 dev lo 2>/dev/null
	ip route del unreachable 10.200.0.0/16 2>/dev/null
	rm -rf "$E2E_TMP"
}

# ep_ip NAME -> the endpoint's IPv4
ep_ip() { W endpoint get "$1" ${2:+--namespace "$2"} --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])'; }
ep_field() { W endpoint get "$1" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$2"; }

# Servers: a TCP server answering "pong" and a UDP one, in an endpoint or
# in the world namespace. Each returns once the server listens; if it does
# not, the test fails saying which server, and the caller stops the test:
#   serve_tcp web 80 || return
serve_tcp() { # endpoint port [namespace]
	W endpoint exec "$1" ${3:+--namespace "$3"} -- socat TCP-LISTEN:"$2",fork,reuseaddr SYSTEM:'echo pong' >/dev/null 2>&1 &
	wait_listen "$1" "$2" "${3:-}"
}
serve_udp() { # endpoint port
	W endpoint exec "$1" -- socat UDP-RECVFROM:"$2",fork SYSTEM:'echo pong' >/dev/null 2>&1 &
	wait_listen "$1" "$2/udp"
}
world_serve_tcp() { # port
	world socat TCP-LISTEN:"$1",fork,reuseaddr SYSTEM:'echo pong' >/dev/null 2>&1 &
	wait_listen_in "the world namespace" "$1" world
}
# wait_listen ENDPOINT PORT[/udp] [NAMESPACE]: any server started in the
# endpoint (5 s at most); a server that does not come up fails the test.
wait_listen() {
	wait_listen_in "endpoint ${3:+$3/}$1" "$2" W endpoint exec "$1" ${3:+--namespace "$3"} --
}
# wait_listen_in WHERE PORT[/udp] RUNNER...: RUNNER ss ... runs where the server is.
wait_listen_in() {
	local where=$1 port=${2%/udp} proto=tcp flags=-Hltn
	[ "$2" != "$port" ] && proto=udp flags=-Hlun
	shift 2
	for _ in $(seq 50); do
		"$@" ss "$flags" "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	fail "the $proto server on port $port in $where did not start (nothing listens after 5 s)"
	return 1
}
# tcp_ok FROM IP PORT: a TCP exchange from endpoint FROM works
tcp_ok() {
	local out
	out=$(W endpoint exec "$1" -- timeout 3 socat -T2 - TCP:"$2":"$3",connect-timeout=2 </dev/null 2>/dev/null)
	[ "$out" = pong ]
}
udp_ok() {
	local out
	out=$(echo ping | W endpoint exec "$1" -- timeout 3 socat -T1 - UDP:"$2":"$3" 2>/dev/null)
	[ "$out" = pong ]
}
ping_ok() { W endpoint exec "$1" -- ping -c1 -W1 "$2" >/dev/null 2>&1; }
# The host reaches every endpoint whatever the policy (its implicit allow):
# the control that proves a server is up when no endpoint is allowed.
host_tcp_ok() { [ "$(timeout 3 socat -T2 - TCP:"$1":"$2",connect-timeout=2 </dev/null 2>/dev/null)" = pong ]; }
host_udp_ok() { [ "$(echo ping | timeout 3 socat -T1 - UDP:"$1":"$2" 2>/dev/null)" = pong ]; }
host_ping_ok() { ping -c1 -W1 "$1" >/dev/null 2>&1; }

import() { W policy import "$@" >"$E2E_TMP/import.out" 2>&1 || { cat "$E2E_TMP/import.out"; return 1; }; }
