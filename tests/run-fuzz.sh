#!/usr/bin/env bash
# Run each libFuzzer target for a bounded time, seeded from tests/fuzz/seeds/
# and the policy corpus; a crash, leak or sanitizer report fails it.
#   tests/run-fuzz.sh SECONDS BINARY...
set -u
seconds=$1
shift
passed=0
failed=0
skipped=0
corpus_dir=${WARDEN_CORPUS:-$(dirname "$0")/../../shared/corpus}
# The corpus sits beside the checkout, not in it: without it the policy
# fuzzer still runs from its own seeds, and the corpus seeding is reported
# as skipped (a failure with WARDEN_REQUIRE_CORPUS=1, as CI runs it).
if [ ! -d "$corpus_dir" ]; then
	if [ "${WARDEN_REQUIRE_CORPUS:-0}" = 1 ]; then
		echo "FAIL corpus seeds: $corpus_dir not found (WARDEN_REQUIRE_CORPUS=1)"
		failed=$((failed + 1))
	else
		echo "skip corpus seeds for fuzz_policy_parse: $corpus_dir not found (set WARDEN_CORPUS)"
		skipped=$((skipped + 1))
	fi
fi
for bin in "$@"; do
	name=$(basename "$bin")
	work=$(mktemp -d)
	seeds=()
	[ -d "tests/fuzz/seeds/$name" ] && seeds+=("tests/fuzz/seeds/$name")
	[ "$name" = fuzz_policy_parse ] && [ -d "$corpus_dir" ] && seeds+=("$corpus_dir/cilium" "$corpus_dir/k8s-recipes")
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/" "$work" "${seeds[@]}" >"$work/log" 2>&1; then
		echo "ok   $name ($(grep -o 'Done [0-9]* runs' "$work/log" | tail -1))"
		passed=$((passed + 1))
	else
		tail -30 "$work/log"
		echo "FAIL $name (artifacts in $work)"
		failed=$((failed + 1))
		continue
	fi
	rm -rf "$work"
done
echo "fuzz: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
