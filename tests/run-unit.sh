#!/usr/bin/env bash
# Run every cmocka binary of one suite; print per-binary results and a
# "suite: N passed, N failed, N skipped" line counted from cmocka's own
# summaries (a skipped test, e.g. the corpus test without the corpus, is
# never counted as passed).
#   tests/run-unit.sh BUILD_DIR [unit|bpf]
set -u
build=${1:-build}
suite=${2:-unit}
passed=0
failed=0
skipped=0
for bin in "$build"/tests/"$suite"/test_*; do
	[ -x "$bin" ] || continue
	out=$("$bin" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0}
	f=${f:-0}
	s=${s:-0}
	# A crash (sanitizer, segfault) without a cmocka summary is one failure.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | tail -40
		echo "FAIL $bin ($p passed, $f failed)"
	elif [ "$s" -ne 0 ]; then
		printf '%s\n' "$out" | grep '^skipped: ' | sed 's/^/     /'
		echo "ok   $bin ($p passed, $s skipped)"
	else
		echo "ok   $bin ($p passed)"
	fi
done
echo "$suite: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
