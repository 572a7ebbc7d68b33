#!/usr/bin/env bash
# End-to-end tests: one real agent, every tests/e2e/test_*.sh file's t_*
# functions in turn, endpoints and policies reset between tests.
#   tests/e2e/run.sh [PATTERN]   run only tests whose name contains PATTERN
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

pattern=${1:-}
e2e_cleanup_tmp=$E2E_TMP
reset_state() {
	W policy delete --all >/dev/null 2>&1
	world_reset
	# Namespace labels too, so no test sees another's.
	W namespace list --json 2>/dev/null | python3 -c 'import json,sys
for n in json.load(sys.stdin):
    keys = [l.split(":", 1)[-1].split("=", 1)[0] for l in n["labels"]]
    if keys: print(n["namespace"], " ".join(k + "-" for k in keys))' |
		while read -r ns keys; do
			# shellcheck disable=SC2086
			W namespace label "$ns" $keys >/dev/null 2>&1
		done
	for ep in $(W endpoint list --json 2>/dev/null | python3 -c 'import json,sys
for e in json.load(sys.stdin): print(e["namespace"] + "/" + e["name"])'); do
		W endpoint delete "${ep#*/}" --namespace "${ep%%/*}" >/dev/null 2>&1
	done
}

start_agent || { echo "e2e: 0 passed, 1 failed"; exit 1; }
world_create

for file in "$here"/test_*.sh; do
	# shellcheck disable=SC1090
	. "$file"
done
for t in $(declare -F | awk '{print $3}' | grep '^t_' | sort); do
	[ -n "$pattern" ] && [[ $t != *"$pattern"* ]] && continue
	E2E_CURRENT=${t#t_}
	echo "--- $E2E_CURRENT"
	before=$E2E_FAILED
	"$t"
	if [ "$E2E_FAILED" -ne "$before" ]; then
		echo "    agent log (tail):"
		tail -5 "$e2e_cleanup_tmp/wardend.log" | sed 's/^/      /'
	fi
	reset_state
	if ! kill -0 "$AGENT_PID" 2>/dev/null; then
		fail "wardend died"
		cat "$e2e_cleanup_tmp/wardend.log" | tail -20
		break
	fi
done
echo "e2e: $E2E_PASSED passed, $E2E_FAILED failed, $E2E_SKIPPED skipped"
[ "$E2E_FAILED" -eq 0 ]
