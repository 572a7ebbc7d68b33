#!/usr/bin/env bash
# The kvstore suite: the etcd client, the etcd identity allocator and the etcd
# ipcache against a real etcd (Debian's etcd-server) started on loopback with
# its own data directory and free ports, removed on exit. Needs no root and no
# agent lock (it starts no wardend).
#   tests/kvstore/run.sh [BUILD_DIR]      (make kvstore)
# Last line: "kvstore: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
ctl=$PWD/tests/kvstore/etcd-ctl.sh
dir=$(mktemp -d /tmp/warden-etcd.XXXXXX)
child=
cleanup() {
	[ -n "$child" ] && kill "$child" 2>/dev/null && wait "$child" 2>/dev/null
	"$ctl" "$dir" stop
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if ! url=$("$ctl" "$dir" start); then
	echo "kvstore: 0 passed, 1 failed"
	exit 1
fi
echo "etcd $(etcd --version | head -1 | awk '{print $3}') at $url (data in $dir)"
export WARDEN_ETCD_ENDPOINTS=$url
export WARDEN_ETCD_CTL="$ctl $dir"
# As tests/run-unit.sh, and the binaries' measurements (lines "# ...") shown.
passed=0
failed=0
for bin in "$build"/tests/kvstore/test_*; do
	[ -x "$bin" ] || continue
	# In the background, so that a signal to this script is handled at
	# once (bash runs traps only between foreground commands).
	"$bin" >"$dir/out" 2>&1 &
	child=$!
	wait "$child"
	rc=$?
	child=
	out=$(cat "$dir/out")
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	printf '%s\n' "$out" | grep '^# ' | sed 's/^/  /'
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | grep -v '^# ' | tail -40
		echo "FAIL $bin ($p passed, $f failed)"
	else
		echo "ok   $bin ($p passed)"
	fi
done
[ -n "$(ls "$build"/tests/kvstore/test_* 2>/dev/null)" ] || { echo "no test binaries in $build/tests/kvstore (make first)"; failed=$((failed + 1)); }
echo "kvstore: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
