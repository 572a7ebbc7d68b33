#!/usr/bin/env bash
# The Star Wars security demo, with log storage over FTP.
#
# Installs what is missing, builds, starts wardend, plays the story with real
# processes in real endpoints, prints each command with its real output and
# ✓/✗ per expectation, and cleans up after itself (also on Ctrl-C). Exits
# non-zero if any step does not behave as the story says.
#   scripts/demo.sh [--fast]       (--fast, or CI=true: no pauses)
set -uo pipefail
cd "$(dirname "$0")/.."
fast=0
[ "${1:-}" = --fast ] && fast=1
[ "${CI:-}" = true ] && fast=1
if [ "$(id -u)" -ne 0 ]; then
	echo "the demo creates network namespaces: run it as root" >&2
	exit 2
fi
scripts/install-deps.sh || exit 1
make -s all || exit 1

tmp=$(mktemp -d /tmp/warden-demo.XXXXXX)
sock=$tmp/warden.sock
agent= monitor=
passed=0 failed=0
cleanup() {
	[ -n "$monitor" ] && kill "$monitor" 2>/dev/null
	[ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

W() { build/warden --socket "$sock" "$@"; }
bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
pause() { [ "$fast" = 1 ] || sleep "${1:-1.5}"; }
act() { bold "== $*"; pause; }
say() { printf '   %s\n' "$*"; }
# show CMD...: print "$ CMD", run it, print its output indented.
show() {
	if [ "$1" = W ]; then printf '$ warden %s\n' "${*:2}"; else printf '$ %s\n' "$*"; fi
	"$@" 2>&1 | sed 's/^/  | /'
	return "${PIPESTATUS[0]}"
}
ok() { passed=$((passed + 1)); printf '  \033[32m✓\033[0m %s\n' "$*"; }
ko() { failed=$((failed + 1)); printf '  \033[31m✗\033[0m %s\n' "$*"; }
expect() { # expect DESCRIPTION CONDITION-CMD...
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else ko "$desc"; fi
}
ip_of() { W endpoint get "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])'; }
out() { cat "$tmp/out"; }
# run_in ENDPOINT CMD...: like show, output also kept in $tmp/out
run_in() {
	local ep=$1
	shift
	printf '$ warden endpoint exec %s -- %s\n' "$ep" "$*"
	W endpoint exec "$ep" -- "$@" >"$tmp/out" 2>&1
	local rc=$?
	sed 's/^/  | /' "$tmp/out"
	return $rc
}

storage_up() { # NAME: vsftpd inside the endpoint, anonymous upload/download
	local name=$1 root=$tmp/ftp-$1
	mkdir -p "$root/root/upload" "$root/empty"
	chown ftp "$root/root/upload"
	chmod 555 "$root/root"
	cat >"$root/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
background=NO
anonymous_enable=YES
no_anon_password=YES
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_other_write_enable=YES
anon_umask=022
anon_root=$root/root
secure_chroot_dir=$root/empty
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30010
connect_from_port_20=NO
seccomp_sandbox=NO
xferlog_enable=NO
CONF
	W endpoint exec "$name" -- vsftpd "$root/vsftpd.conf" >/dev/null 2>&1 &
	disown
	listening "$name" 21
}
# listening ENDPOINT PORT: a server listens there (waits up to 5 s)
listening() {
	for _ in $(seq 50); do
		W endpoint exec "$1" -- ss -Hltn "sport = :$2" 2>/dev/null | grep -q LISTEN && return 0
		sleep 0.1
	done
	return 1
}
# ftp_answers IP: the FTP server there answers the xwing (a directory listing)
ftp_answers() { W endpoint exec xwing -- curl -s -m 3 -o /dev/null "ftp://$1/"; }
deathstar_up() {
	W endpoint exec deathstar -- build/deathstar --port 80 --log "$tmp/deathstar-api.log" \
		--storage "$secure" --storage "$insecure" >>"$tmp/deathstar.out" 2>&1 &
	deathstar_pid=$!
	disown
	listening deathstar 80
}
deathstar_alive() { kill -0 "$deathstar_pid" 2>/dev/null; }
uploaded() { [ -s "$tmp/ftp-$1/root/upload/deathstar-api.log" ]; }

# ------------------------------------------------------------------------
act "A long time ago, in a network namespace far, far away..."
say "wardend owns identities, policy and the eBPF datapath; the CLI talks to it."
build/wardend --state-dir "$tmp/state" --socket "$sock" 2>"$tmp/wardend.log" &
agent=$!
agent_up=0
for _ in $(seq 50); do W status >/dev/null 2>&1 && agent_up=1 && break; sleep 0.1; done
if [ "$agent_up" = 0 ]; then
	echo "wardend did not start:"
	cat "$tmp/wardend.log"
	echo "demo: 0 passed, 1 failed"
	exit 1
fi
show W status | head -12

act "The cast: every ship and station is an endpoint (a netns with a veth)"
show W endpoint create deathstar --labels org=empire,class=deathstar
show W endpoint create tiefighter --labels org=empire,class=tiefighter
show W endpoint create xwing --labels org=alliance,class=xwing
show W endpoint create secure-storage --labels org=empire,class=storage,security=secure
show W endpoint create insecure-storage --labels org=empire,class=storage,security=maintenance
ds=$(ip_of deathstar)
secure=$(ip_of secure-storage)
insecure=$(ip_of insecure-storage)
storage_up secure-storage
expect "the secure storage's FTP server is up" test $? -eq 0
storage_up insecure-storage
expect "the insecure storage's FTP server is up" test $? -eq 0
deathstar_up
expect "the Death Star's API server is up" test $? -eq 0
W monitor >"$tmp/monitor.txt" 2>&1 &
monitor=$!
show W endpoint list

# ------------------------------------------------------------------------
act "Act I: no policy. The Rebels find three gaps."
say "1. The L3 gap: an Alliance ship can land on the Death Star."
run_in xwing curl -s -m 2 -XPOST "http://$ds/v1/request-landing"
expect "the xwing lands" grep -q "Ship landed" "$tmp/out"
say "The public API list does not mention the exhaust port:"
run_in xwing curl -s -m 2 "http://$ds/v1"
expect "GET /v1 lists landing but no exhaust port" bash -c "grep -q request-landing '$tmp/out' && ! grep -q exhaust '$tmp/out'"
pause
say "2. The egress gap: the Death Star uploads its API log to every storage,"
say "   the insecure maintenance one too, where anyone can read it."
sleep 1
run_in xwing curl -s -m 3 "ftp://$insecure/upload/deathstar-api.log"
expect "the xwing reads the log from the insecure storage and learns the hidden API" grep -q "exhaust-port" "$tmp/out"
pause
say "3. The L7 gap: port 80 is open, so every API on it is open."
run_in xwing curl -s -m 2 -XPUT "http://$ds/v1/exhaust-port"
expect "the xwing hits the exhaust port" grep -q "Panic: deathstar exploded" "$tmp/out"
sleep 1
expect "the Death Star really exploded (its process is gone)" bash -c "! kill -0 $deathstar_pid 2>/dev/null"

# ------------------------------------------------------------------------
act "Act II: the Empire rebuilds the Death Star and applies policy, layer by layer"
rm -f "$tmp"/ftp-*/root/upload/deathstar-api.log "$tmp/deathstar-api.log"
deathstar_up
expect "a new Death Star is online (its API server listens)" bash -c "[ $? -eq 0 ] && kill -0 $deathstar_pid"

say "Layer 1, L3/L4 ingress: only org=empire may reach the Death Star, on TCP/80."
sed 's/^/  | /' examples/starwars/sw_l3_l4_policy.yaml
show W policy import examples/starwars/sw_l3_l4_policy.yaml
run_in tiefighter curl -s -m 2 -XPOST "http://$ds/v1/request-landing"
expect "the tiefighter lands" grep -q "Ship landed" "$tmp/out"
run_in xwing curl -s -m 2 -XPOST "http://$ds/v1/request-landing"
expect "the xwing times out" bash -c "! grep -q 'Ship landed' '$tmp/out'"
pause

say "Layer 2, egress: the Death Star may upload only to the secure storage"
say "(FTP control on 21 and the passive data ports 30000-30010, with endPort)."
sed 's/^/  | /' examples/starwars/deathstar_egress_policy.yaml
show W policy import examples/starwars/deathstar_egress_policy.yaml
rm -f "$tmp"/ftp-*/root/upload/deathstar-api.log
run_in tiefighter curl -s -m 2 -XPOST "http://$ds/v1/request-landing"
sleep 3.5
expect "the log reaches the secure storage" uploaded secure-storage
expect "the upload to the insecure storage is blocked" bash -c "! [ -s '$tmp/ftp-insecure-storage/root/upload/deathstar-api.log' ]"
expect "(control: the insecure storage itself is up, the xwing reaches it)" ftp_answers "$insecure"
pause

say "Layer 3, L7: empire ships may only POST /v1/request-landing and GET /v1."
sed 's/^/  | /' examples/starwars/sw_l3_l4_l7_policy.yaml
show W policy import examples/starwars/sw_l3_l4_l7_policy.yaml
run_in tiefighter curl -s -m 2 -XPOST "http://$ds/v1/request-landing"
expect "landing still works" grep -q "Ship landed" "$tmp/out"
run_in tiefighter curl -s -m 2 "http://$ds/v1"
expect "GET /v1 still works" grep -q "Death Star" "$tmp/out"
say "A compromised tiefighter tries the exhaust port:"
run_in tiefighter curl -s -m 2 -XPUT "http://$ds/v1/exhaust-port"
expect "the tiefighter gets Access denied" grep -q "Access denied" "$tmp/out"

# ------------------------------------------------------------------------
act "Act III: the Rebels replay the attack against the protected Death Star"
say "(Each refusal is paired with a control: the same server answering someone allowed.)"
run_in xwing curl -s -m 2 -XPOST "http://$ds/v1/request-landing"
expect "1. the xwing cannot land (times out)" bash -c "! grep -q 'Ship landed' '$tmp/out'"
run_in tiefighter curl -s -m 2 -XPOST "http://$ds/v1/request-landing"
expect "   while the tiefighter still lands" grep -q "Ship landed" "$tmp/out"
run_in xwing curl -s -m 3 "ftp://$insecure/upload/deathstar-api.log"
rc=$?
expect "2. no log leaks to the insecure storage any more (the storage answers: no such file)" \
	bash -c "[ $rc -eq 78 ] && ! grep -q exhaust-port '$tmp/out'"
run_in xwing curl -s -m 2 -XPUT "http://$ds/v1/exhaust-port"
expect "3. the xwing cannot reach the exhaust port" bash -c "! grep -q Panic '$tmp/out'"
sleep 0.5
expect "the Death Star survives" deathstar_alive
run_in tiefighter curl -s -m 2 "http://$ds/v1"
expect "   and still serves its allowed API" grep -q "Death Star" "$tmp/out"

act "What warden monitor saw (drops and the denied L7 request, with identities)"
sleep 0.5
kill "$monitor" 2>/dev/null
wait "$monitor" 2>/dev/null
monitor=
grep -E "DROPPED|http-request" "$tmp/monitor.txt" | grep -E "xwing|exhaust" | head -8 | sed 's/^/  | /'
expect "the monitor shows the xwing's SYNs dropped at the Death Star" \
	grep -Eq "default/xwing\).*default/deathstar\).*DROPPED" "$tmp/monitor.txt"
expect "the monitor shows the denied PUT /v1/exhaust-port" \
	grep -Eq "http-request DENIED PUT /v1/exhaust-port" "$tmp/monitor.txt"
show W bpf policy get deathstar

echo
if [ "$failed" -eq 0 ]; then
	bold "Every step behaved as the story says. The Empire wins this round."
else
	bold "$failed step(s) did not behave as the story says."
fi
echo "demo: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
