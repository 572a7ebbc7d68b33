#!/usr/bin/env bash
# How long `warden endpoint create` and `warden endpoint delete` take, as a
# user sees them (the CLI round trip: namespace, veth, addresses, routes,
# identity, ipcache, policy, tc programs): COUNT endpoints created one after
# the other, then deleted, each call timed; p50, p99 and max. Prints numbers
# and asserts no speed (tests/host/test_netdev.sh checks the plumbing).
#
#   tests/node.sh bench/endpoint_churn.sh [COUNT]    (root; default 100)
#
# It starts its own wardend (tests/e2e/lib.sh; WARDEND/WARDEN pick other
# binaries, e.g. an older build to compare), so run it in a test node.
set -u
here=$(cd "$(dirname "$0")" && pwd)
count=${1:-100}
if [ "$(id -u)" -ne 0 ]; then
	echo "endpoint_churn.sh starts wardend: run it as root (in tests/node.sh)" >&2
	exit 2
fi
# shellcheck source=../tests/e2e/lib.sh
. "$here/../tests/e2e/lib.sh"
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

# stats FILE: "p50 p99 max" (ms, nearest rank) of one number (us) per line
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 / 1000 } END {
		r50 = int((50 * NR + 99) / 100); r99 = int((99 * NR + 99) / 100)
		printf "p50 %.1f ms p99 %.1f ms max %.1f ms", v[r50], v[r99], v[NR] }'
}

start_agent || exit 1
: >"$E2E_TMP/create" && : >"$E2E_TMP/delete"
for i in $(seq "$count"); do
	t0=$EPOCHREALTIME
	W endpoint create "e$i" --labels app=churn >/dev/null || { echo "create e$i failed"; exit 1; }
	t1=$EPOCHREALTIME
	echo $((${t1/./} - ${t0/./})) >>"$E2E_TMP/create"
done
for i in $(seq "$count"); do
	t0=$EPOCHREALTIME
	W endpoint delete "e$i" >/dev/null || { echo "delete e$i failed"; exit 1; }
	t1=$EPOCHREALTIME
	echo $((${t1/./} - ${t0/./})) >>"$E2E_TMP/delete"
done
echo "endpoint create: $(stats "$E2E_TMP/create") (n=$count)"
echo "endpoint delete: $(stats "$E2E_TMP/delete") (n=$count)"
