#!/usr/bin/env bash
# Run each libFuzzer target for a bounded time, seeded from tests/fuzz/seeds/
# and the policy corpus; a crash, leak or sanitizer report fails it.
#   tests/run-fuzz.sh SECONDS BINARY...
set -u
seconds=$1
shift
passed=0
failed=0
corpus_dir=${WARDEN_CORPUS:-$(dirname "$0")/../../shared/corpus}
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
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
