#!/usr/bin/env bash
# The whole test suite, as CI runs it (README: `sudo make test`).
#   unit tests, the same under ASan+UBSan, BPF_PROG_RUN datapath tests,
#   the etcd client and cluster backends against a real etcd,
#   the host plumbing (namespaces, veths, routes, the redirect) on real
#   namespaces in a test node,
#   end-to-end tests with real namespaces and traffic, the control plane
#   under abusive clients (tests/control/).
# Ends with one line "N passed, N failed, N skipped" summed over all suites.
# A test that cannot run here (the policy corpus beside the checkout is
# missing, say) is skipped with its reason, never counted as passed.
set -u
cd "$(dirname "$0")/.."
total_pass=0
total_fail=0
total_skip=0

add_counts() { # parse "suite: N passed, N failed[, N skipped]" lines from a log
	local line p f s
	line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then
		echo "!! $2 printed no summary: counted as one failure"
		total_fail=$((total_fail + 1))
		return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	s=0
	[[ $line =~ ([0-9]+)\ skipped ]] && s=${BASH_REMATCH[1]}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
}

run_suite() { # name, command...
	local name=$1 log
	shift
	log=$(mktemp)
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	add_counts "$log" "$name"
	rm -f "$log"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "the datapath and end-to-end tests need root: run as root (sudo make test)" >&2
	exit 2
fi
scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
make -s all || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
make -s SAN=1 all || { echo "sanitizer build failed"; echo "0 passed, 1 failed"; exit 1; }
run_suite format tests/format-check.sh
run_suite unit tests/run-unit.sh build unit
run_suite unit-asan tests/run-unit.sh build-san unit
run_suite bpf tests/run-unit.sh build bpf
run_suite kvstore tests/kvstore/run.sh build
run_suite kvstore-asan tests/kvstore/run.sh build-san
run_suite fuzz make -s fuzz FUZZ_SECONDS=${FUZZ_SECONDS:-15}
run_suite host-netdev tests/node.sh tests/host/test_netdev.sh
run_suite proxy tests/proxy/test_proxy.sh
run_suite e2e tests/e2e/run.sh
run_suite control tests/control/run.sh
run_suite cni tests/cni/run.sh --quick
run_suite demo scripts/demo.sh --fast
run_suite bench make -s bench-quick
echo "${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
[ "$total_fail" -eq 0 ]
