#!/usr/bin/env bash
# The Star Wars demo (L3/L4 part): installs what is missing, builds, starts
# wardend, creates the deathstar, a tiefighter and an xwing, and shows what
# Cilium's sw_l3_l4_policy.yaml changes. Cleans up on exit, also on Ctrl-C.
#   scripts/demo.sh [--fast]
set -uo pipefail
cd "$(dirname "$0")/.."
fast=0
[ "${1:-}" = --fast ] && fast=1
[ "${CI:-}" = true ] && fast=1
if [ "$(id -u)" -ne 0 ]; then echo "the demo creates network namespaces: run it as root" >&2; exit 2; fi
scripts/install-deps.sh
make -s all || exit 1

tmp=$(mktemp -d /tmp/warden-demo.XXXXXX)
sock=$tmp/warden.sock
agent=
cleanup() {
	[ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
W() { build/warden --socket "$sock" "$@"; }
failures=0
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; [ "$fast" = 1 ] || sleep 1; }
run() { printf '$ warden %s\n' "$*"; W "$@"; }
expect() { # description, then the command; prints ✓ or ✗
	local desc=$1; shift
	printf '$ %s\n' "$*"
	if "$@"; then printf '  ✓ %s\n' "$desc"; else printf '  ✗ %s\n' "$desc"; failures=$((failures + 1)); fi
}
expect_not() {
	local desc=$1; shift
	printf '$ %s\n' "$*"
	if "$@"; then printf '  ✗ %s\n' "$desc"; failures=$((failures + 1)); else printf '  ✓ %s\n' "$desc"; fi
}
land() { # ship
	local out
	out=$(W endpoint exec "$1" -- curl -s -m 2 -XPOST "http://$ds/v1/request-landing" 2>&1)
	echo "  $out"
	[ -n "$out" ]
}

step "Start the agent"
build/wardend --state-dir "$tmp/state" --socket "$sock" 2>"$tmp/wardend.log" &
agent=$!
for _ in $(seq 50); do W status >/dev/null 2>&1 && break; sleep 0.1; done
run status

step "Create the cast: every endpoint is a network namespace with a veth"
run endpoint create deathstar --labels org=empire,class=deathstar
run endpoint create tiefighter --labels org=empire,class=tiefighter
run endpoint create xwing --labels org=alliance,class=xwing
ds=$(W endpoint get deathstar --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])')
mkdir -p "$tmp/www/v1"
echo "Ship landed" >"$tmp/www/v1/request-landing"
W endpoint exec deathstar -- socat TCP-LISTEN:80,fork,reuseaddr \
	SYSTEM:'read line; while read h && [ "${#h}" -gt 1 ]; do :; done; printf "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nShip landed\n"' \
	>/dev/null 2>&1 &
sleep 0.5
run endpoint list

step "No policy: everyone may land"
expect "tiefighter lands" land tiefighter
expect "xwing lands (the L3 gap)" land xwing

step "Apply Cilium's sw_l3_l4_policy.yaml: only org=empire may reach port 80"
sed 's/^/  | /' examples/starwars/sw_l3_l4_policy.yaml
run policy import examples/starwars/sw_l3_l4_policy.yaml
expect "tiefighter still lands" land tiefighter
expect_not "xwing times out" land xwing

step "The datapath's view"
run bpf policy get deathstar
run status
if [ "$failures" -eq 0 ]; then echo; echo "demo: every step behaved as the story says"; else
	echo; echo "demo: $failures step(s) did not behave as expected"; exit 1; fi
