#!/usr/bin/env bash
# How long applying large policies takes: N L4 rules (one port each) on one
# endpoint, and N CIDRs in one egress rule, for N = 100, 1,000 and 10,000.
# For each: the wall time of `warden policy import` (the CLI round trip:
# parse, compile, write the maps) and the agent's own compile and apply
# times, median and max over the rounds. It prints numbers and asserts no
# speed; tests/e2e/test_scale.sh checks that the same policies are right.
#
#   flock /tmp/warden-agent.lock bench/apply_scale.sh [ROUNDS]   (root; 5 rounds)
#
# It starts its own wardend (tests/e2e/lib.sh: a state dir under /tmp, the
# EXIT trap removes everything), so it runs under the agent lock.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-5}
if [ "$(id -u)" -ne 0 ]; then
	echo "apply_scale.sh starts wardend: run it as root" >&2
	exit 2
fi
# shellcheck source=../tests/e2e/lib.sh
. "$here/../tests/e2e/lib.sh"
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
gen=$E2E_ROOT/tests/e2e/tools/scale_policy.py

start_agent || exit 1
W endpoint create big --labels app=big >/dev/null &&
	W endpoint create peer --labels app=peer >/dev/null || { echo "endpoints"; exit 1; }

# measure KIND N: ROUNDS imports of the same policy into an empty policy
# set; one line per round: wall_ms compile_ms apply_ms entries
measure() {
	local kind=$1 n=$2 t0 t1
	python3 "$gen" "$kind" "$n" >"$E2E_TMP/p.yaml"
	for _ in $(seq "$rounds"); do
		W policy delete --all >/dev/null 2>&1
		t0=$(date +%s%N)
		W policy import "$E2E_TMP/p.yaml" --json >"$E2E_TMP/p.json" || return 1
		t1=$(date +%s%N)
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(int(sys.argv[2]) / 1e6, d["compile_ms"], d["apply_ms"], d["entries"])' \
			"$E2E_TMP/p.json" "$((t1 - t0))"
	done
}

printf '%-6s %6s %9s  %21s  %21s  %21s\n' what N entries \
	"import wall ms (med/max)" "compile ms (med/max)" "apply ms (med/max)"
for kind in ports cidrs; do
	for n in 100 1000 10000; do
		measure "$kind" "$n" >"$E2E_TMP/m.txt" || { echo "import of $kind $n failed"; exit 1; }
		python3 - "$kind" "$n" "$E2E_TMP/m.txt" <<'PY'
import statistics, sys
rows = [[float(x) for x in l.split()] for l in open(sys.argv[3]) if l.strip()]
col = lambda i: [r[i] for r in rows]
fmt = lambda v: "%9.1f / %9.1f" % (statistics.median(v), max(v))
print("%-6s %6s %9d  %21s  %21s  %21s" % (sys.argv[1], sys.argv[2], int(rows[-1][3]),
      fmt(col(0)), fmt(col(1)), fmt(col(2))))
PY
	done
done
echo "($rounds rounds each; wall = the CLI's round trip to the agent)"
