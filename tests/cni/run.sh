#!/usr/bin/env bash
# The CNI suite: the plugin's protocol tests, then the real-runtime harness
# (podman + Debian's bridge plugin) with the baseline timing. Root; it runs
# podman containers on CNI networks, so hold the agent lock:
#   flock /tmp/warden-agent.lock tests/cni/run.sh [--quick]
# --quick: the timing over 20 containers instead of 100 (CI).
# Last line: cni: N passed, N failed, N skipped
set -u
cd "$(dirname "$0")/../.."
count=100
[ "${1:-}" = --quick ] && count=20
total_pass=0 total_fail=0 total_skip=0

suite() { # name, command...
	local name=$1 log line
	shift
	log=$(mktemp)
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	line=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "!! $name printed no summary: counted as one failure"
		total_fail=$((total_fail + 1))
		return
	fi
	[[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]] || return
	total_pass=$((total_pass + BASH_REMATCH[1]))
	total_fail=$((total_fail + BASH_REMATCH[2]))
	[[ $line =~ ([0-9]+)\ skipped ]] && total_skip=$((total_skip + BASH_REMATCH[1]))
}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/cni needs root (podman, namespaces)"
	echo "cni: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
missing=
for tool in podman runc /usr/lib/cni/bridge /bin/busybox python3; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -x build/warden-cni ] && [ -x build/tests/cni/cni-timer ] &&
	[ -x build/tests/cni/netdev-cni-probe ] || missing="$missing build/(make)"
suite cni-protocol tests/cni/test_protocol.sh
if [ -n "$missing" ]; then
	echo "  skip real-runtime harness: missing$missing (scripts/install-deps.sh)"
	total_skip=$((total_skip + 1))
else
	suite cni-netdev tests/cni/test_netdev.sh
	suite cni-bridge tests/cni/test_bridge.sh --count "$count"
fi
echo "cni: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
