#!/usr/bin/env bash
# End-to-end tests of warden-proxy in --upstream mode, on loopback only:
# a real HTTP/1.1 server (server.py) on 127.0.0.2, the proxy on 127.0.0.1,
# curl and raw clients (client.py). The policy makes 127.0.0.2 the endpoint
# "default/server" with ingress L7 rules on the server's port, so every
# request through the proxy is judged.
#
# Ends with "proxy: N passed, N failed". Every process it starts is killed
# (by pid) by the EXIT trap, also when a test fails or the run is interrupted.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/proxy
PROXY=${PROXY:-$ROOT/build/warden-proxy}
T=$(mktemp -d /tmp/warden-proxy-test.XXXXXX)
SRV=127.0.0.2
SRV_PORT=${SRV_PORT:-25080}
PX_PORT=${PX_PORT:-25001}
PX2_PORT=$((PX_PORT + 1))
PX3_PORT=$((PX_PORT + 2))
PX4_PORT=$((PX_PORT + 3))
DEAD_PORT=$((SRV_PORT + 19)) # nothing listens there
URL=http://127.0.0.1:$PX_PORT
# The defaults are 10 s and 60 s; shorter keeps the timeout tests short.
HEADER_TIMEOUT=3
IDLE_TIMEOUT=2
PIDS=()
PX_PID=
PASSED=0
FAILED=0

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASSED=$((PASSED + 1)); echo "  ✓ $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  ✗ $*"; }
# expect DESCRIPTION WANTED GOT
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else
		fail "$1"
		echo "      wanted: $(printf '%q' "$2")"
		echo "      got:    $(printf '%q' "$3")"
	fi
}
# check DESCRIPTION CMD... : CMD must succeed
check() {
	local desc=$1
	shift
	if "$@" >"$T/out" 2>&1; then pass "$desc"; else
		fail "$desc"
		sed 's/^/      /' "$T/out" | tail -10
	fi
}

wait_port() { # ADDR PORT
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on $1:$2"
	return 1
}

port_free() {
	! ss -Htln "sport = :$1" | grep -q .
}

# policy_doc [MODES [REVISION]]: the L7 document the agent would write.
# MODES, comma-separated: "egress-deny" makes 127.0.0.1 an endpoint too
# ("default/client") whose egress rules only allow GET /other;
# "server-audit" / "client-audit" put that endpoint in audit mode.
policy_doc() {
	local extra_ep='' extra_l7='' extra_ip='' server_audit=false client_audit=false
	[[ ",${1:-}," == *,server-audit,* ]] && server_audit=true
	[[ ",${1:-}," == *,client-audit,* ]] && client_audit=true
	if [[ ",${1:-}," == *,egress-deny,* ]]; then
		extra_ip=',{"prefix": "127.0.0.1/32", "identity": 257}'
		extra_ep=',{"id": 2, "name": "default/client", "ipv4": "127.0.0.1", "identity": 257,
		  "audit": '$client_audit'}'
		extra_l7=',{"endpoint": 2, "direction": "egress", "port": '$SRV_PORT', "identity": 0,
		  "exempt": [], "rules": [{"method": "GET", "path": "/other.*", "host": null,
		  "headers": [], "cookie": 131073}]}'
	fi
	cat <<EOF
{"revision": ${2:-1},
 "ipcache": [{"prefix": "127.0.0.2/32", "identity": 256}$extra_ip],
 "identities": [{"id": 256, "labels": ["k8s:app=server", "k8s:io.kubernetes.pod.namespace=default"]},
                {"id": 257, "labels": ["k8s:app=client"]}],
 "endpoints": [{"id": 1, "name": "default/server", "ipv4": "127.0.0.2", "identity": 256,
                "audit": $server_audit}$extra_ep],
 "l7": [{"endpoint": 1, "direction": "ingress", "port": $SRV_PORT, "identity": 0, "exempt": [],
         "rules": [{"method": "GET", "path": "/public.*", "host": null, "headers": [], "cookie": 65537},
                   {"method": "POST|PUT", "path": "/upload.*", "host": null, "headers": [], "cookie": 65538},
                   {"method": "GET", "path": "/re/(a+)+", "host": null, "headers": [], "cookie": 65539}]}
        $extra_l7]}
EOF
}

# Written whole and renamed, as the agent does.
write_policy() {
	policy_doc "$@" >"$T/policy.json.tmp" && mv "$T/policy.json.tmp" "$T/policy.json"
}

reload_policy() { # [policy_doc args]: write, SIGHUP, wait for the log line
	local before
	before=$(grep -c 'policy revision\|reload failed' "$T/proxy.log")
	if [ "${1:-}" = broken ]; then
		echo '{"revision": 9, "l7": [' >"$T/policy.json"
	else
		write_policy "$@"
	fi
	kill -HUP "$PX_PID"
	for _ in $(seq 50); do
		[ "$(grep -c 'policy revision\|reload failed' "$T/proxy.log")" -gt "$before" ] && return 0
		sleep 0.05
	done
	return 1
}

server_count() { wc -l <"$T/server.log"; }
statuses() { grep -ao 'HTTP/1.[01] [0-9][0-9][0-9]' | tr '\n' ' '; }
client() { python3 "$HERE/client.py" "$@"; }

# ---------------------------------------------------------------------------
if [ ! -x "$PROXY" ]; then
	echo "no $PROXY: run make first"
	echo "proxy: 0 passed, 1 failed"
	exit 1
fi
for p in "$SRV_PORT" "$PX_PORT" "$PX2_PORT" "$PX3_PORT" "$PX4_PORT" "$DEAD_PORT"; do
	if ! port_free "$p"; then
		echo "port $p is in use (set SRV_PORT / PX_PORT)"
		echo "proxy: 0 passed, 1 failed"
		exit 1
	fi
done

write_policy
python3 "$HERE/server.py" "$SRV" "$SRV_PORT" "$T/server.log" 2>"$T/server.err" &
PIDS+=($!)
python3 "$HERE/events.py" "$T/events.sock" "$T/events.log" &
PIDS+=($!)
"$PROXY" --policy "$T/policy.json" --port "$PX_PORT" --bind 127.0.0.1 \
	--upstream "$SRV:$SRV_PORT" --events "$T/events.sock" \
	--header-timeout "$HEADER_TIMEOUT" --idle-timeout "$IDLE_TIMEOUT" >"$T/proxy.log" 2>&1 &
PX_PID=$!
PIDS+=($PX_PID)
if ! wait_port "$SRV" "$SRV_PORT" || ! wait_port 127.0.0.1 "$PX_PORT"; then
	cat "$T/proxy.log" "$T/server.err"
	echo "proxy: 0 passed, 1 failed"
	exit 1
fi

echo "=== forwarding"
curl -s "$URL/public/gen/1000000" -o "$T/via"
curl -s "http://$SRV:$SRV_PORT/public/gen/1000000" -o "$T/direct"
check "allowed GET: body identical to a direct GET (1 MB)" cmp "$T/via" "$T/direct"
curl -s -D - -o /dev/null "$URL/public/a.txt" | grep -iv '^date:' >"$T/h1"
curl -s -D - -o /dev/null "http://$SRV:$SRV_PORT/public/a.txt" | grep -iv '^date:' >"$T/h2"
check "allowed GET: response head forwarded verbatim" cmp "$T/h1" "$T/h2"
expect "chunked response streamed" "first second third" "$(curl -s "$URL/public/chunked")"
expect "HEAD: no body awaited, connection reused" "200 0" \
	"$(curl -s -m 3 -I -o /dev/null "$URL/public/gen/100" --next -s -m 3 -o /dev/null \
		-w '%{http_code} %{num_connects}' "$URL/public/a.txt")"

echo "=== denials"
before=$(server_count)
code=$(curl -s -o "$T/403" -w '%{http_code}' -X PUT --data xyz "$URL/public/a.txt")
expect "denied PUT: 403" 403 "$code"
printf 'Access denied\r\n' >"$T/403.want"
check "denied PUT: body is exactly 'Access denied\\r\\n'" cmp "$T/403" "$T/403.want"
expect "after a deny the same connection serves an allowed request" "200 0" \
	"$(curl -s -o /dev/null -X PUT --data xyz "$URL/public/a.txt" --next -s -o /dev/null \
		-w '%{http_code} %{num_connects}' "$URL/public/a.txt")"
# Control in the same count: the allowed GET after the second PUT did arrive.
expect "denied PUTs never reached the server (the allowed GET did)" "GET /public/a.txt|" \
	"$(tail -n +$((before + 1)) "$T/server.log" | tr '\n' '|')"
expect "path normalised before matching (/public/../private denied)" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$URL/public/../private")"
expect "bad percent-escape: 400" "HTTP/1.1 400 " \
	"$(client send 127.0.0.1 "$PX_PORT" 'GET /public/%zz HTTP/1.1\r\nHost: s\r\n\r\n' | statuses)"

echo "=== pipelining"
before=$(server_count)
out=$(client send 127.0.0.1 "$PX_PORT" \
	'GET /public/a.txt HTTP/1.1\r\nHost: s\r\n\r\nPUT /public/a.txt HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n\r\nabcGET /public/chunked HTTP/1.1\r\nHost: s\r\n\r\n')
expect "three requests in one write: answered in order" "HTTP/1.1 200 HTTP/1.1 403 HTTP/1.1 200 " \
	"$(statuses <<<"$out")"
expect "pipelined: connection still open" "<<OPEN>>" "$(tail -1 <<<"$out")"
expect "pipelined: only the two allowed requests reached the server" \
	"$((before + 2)) 0" "$(server_count) $(tail -n +$((before + 1)) "$T/server.log" | grep -c PUT)"

echo "=== request bodies"
head -c 3000000 /dev/urandom >"$T/up3"
sum3=$(sha256sum "$T/up3" | cut -d' ' -f1)
expect "chunked upload (3 MB) arrives intact" "len=3000000 sha256=$sum3" \
	"$(curl -s -H 'Transfer-Encoding: chunked' -H 'Expect:' --data-binary @"$T/up3" "$URL/upload")"
curl -sv -H 'Expect: 100-continue' --data-binary @"$T/up3" "$URL/upload" >"$T/out" 2>"$T/err"
expect "Expect: 100-continue upload arrives intact" "len=3000000 sha256=$sum3" "$(cat "$T/out")"
check "Expect: 100-continue: the server's 100 reached the client" \
	grep -q '< HTTP/1.1 100 Continue' "$T/err"
start=$(date +%s%N)
curl -s -m 5 -D "$T/h" -o /dev/null -X PUT -H 'Expect: 100-continue' \
	--data-binary @"$T/up3" "$URL/public/x"
ms=$((($(date +%s%N) - start) / 1000000))
check "denied with Expect: 100-continue: 403 with Connection: close" \
	bash -c "grep -q '^HTTP/1.1 403' '$T/h' && grep -qi '^connection: close' '$T/h'"
check "denied with Expect: 100-continue: the 403 came at once (${ms} ms)" \
	bash -c "grep -q '^HTTP/1.1 403' '$T/h' && [ $ms -lt 900 ]"

head -c 52428800 /dev/urandom >"$T/up50"
sum50=$(sha256sum "$T/up50" | cut -d' ' -f1)
expect "50 MB upload streams through" "len=52428800 sha256=$sum50" \
	"$(curl -s -H 'Expect:' --data-binary @"$T/up50" "$URL/upload")"
expect "50 MB download streams through" \
	"$(curl -s "http://$SRV:$SRV_PORT/public/gen/52428800" | sha256sum)" \
	"$(curl -s "$URL/public/gen/52428800" | sha256sum)"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PX_PID/status")
check "proxy peak RSS stays small after 100 MB of bodies (VmHWM ${hwm} kB < 20 MB)" \
	test "$hwm" -lt 20480

echo "=== closing"
out=$(client send 127.0.0.1 "$PX_PORT" 'GET /public/a.txt HTTP/1.0\r\n\r\n')
expect "HTTP/1.0: answered, then closed" "HTTP/1.1 200 <<EOF>>" \
	"$(statuses <<<"$out")$(tail -1 <<<"$out")"
expect "curl --http1.0" "hello" "$(curl -s --http1.0 "$URL/public/a.txt")"
out=$(client send 127.0.0.1 "$PX_PORT" \
	'GET /public/a.txt HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n')
expect "Connection: close: answered, then closed" "HTTP/1.1 200 <<EOF>>" \
	"$(statuses <<<"$out")$(tail -1 <<<"$out")"

out=$(client send 127.0.0.1 "$PX_PORT" 'GET /public/eof HTTP/1.1\r\nHost: s\r\n\r\n')
expect "body delimited by the server's close: forwarded, then closed" \
	"HTTP/1.1 200 until the end <<EOF>>" \
	"$(statuses <<<"$out")$(grep -a 'until' <<<"$out") $(tail -1 <<<"$out")"
expect "server closed an idle keep-alive upstream: next request reconnects" \
	"HTTP/1.1 200 OK|HTTP/1.1 200 OK|" "$(client reuse 127.0.0.1 "$PX_PORT" | tr '\n' '|')"
out=$(client idle 127.0.0.1 "$PX_PORT")
secs=$(sed -n 's/^closed after \([0-9.]*\)s/\1/p' <<<"$out")
check "idle keep-alive connection closed at the idle timeout (${IDLE_TIMEOUT} s; took ${secs:-never} s)" \
	awk -v s="${secs:-99}" -v t="$IDLE_TIMEOUT" 'BEGIN { exit !(s >= t - 0.5 && s <= t + 1) }'

echo "=== smuggling"
before=$(server_count)
out=$(client send 127.0.0.1 "$PX_PORT" \
	'POST /upload HTTP/1.1\r\nHost: s\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: s\r\n\r\n')
expect "CL + TE: 400 and closed" "HTTP/1.1 400 <<EOF>>" "$(statuses <<<"$out")$(tail -1 <<<"$out")"
out=$(client send 127.0.0.1 "$PX_PORT" \
	'POST /upload HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\nContent-Length: 45\r\n\r\nhelloGET /public/smuggled HTTP/1.1\r\nHost: s\r\n\r\n')
expect "duplicate Content-Length: 400 and closed" "HTTP/1.1 400 <<EOF>>" \
	"$(statuses <<<"$out")$(tail -1 <<<"$out")"
out=$(client send 127.0.0.1 "$PX_PORT" \
	'POST /upload HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /public/smuggled HTTP/1.1\r\nHost: s\r\n\r\n')
expect "bad chunk size: 400 and closed" "HTTP/1.1 400 <<EOF>>" \
	"$(statuses <<<"$out")$(tail -1 <<<"$out")"
expect "no smuggled request reached the server (the allowed one after them did)" \
	"200 $((before + 1)) 0" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/public/a.txt") $(server_count) $(grep -c smuggled "$T/server.log")"

echo "=== policy reload"
client hup 127.0.0.1 "$PX_PORT" "$T/sync" >"$T/hup.out" 2>&1 &
hup_pid=$!
PIDS+=($hup_pid)
for _ in $(seq 50); do [ -e "$T/sync.1" ] && break; sleep 0.1; done
reload_policy egress-deny 2
touch "$T/sync.2"
wait "$hup_pid"
out=$(cat "$T/hup.out")
expect "SIGHUP: the next request on an open connection is judged by the new policy" \
	"HTTP/1.1 200 OK HTTP/1.1 403 Forbidden" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
reload_policy broken
expect "a broken document keeps the old snapshot" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/public/a.txt")"
check "a broken document is reported, revision 2 kept" \
	grep -q 'reload failed: keeping revision 2' "$T/proxy.log"
reload_policy "" 3
expect "policy restored by SIGHUP" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/public/a.txt")"

echo "=== audit mode"
# The server's ingress rules deny DELETE. In audit mode the same request is
# forwarded and logged AUDIT; protocol refusals (400, h2c) stay.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
since() { tail -n +$(($1 + 1)) "$T/server.log" | tr '\n' '|'; }
before=$(server_count)
expect "enforced: DELETE (no rule allows it) gets 403" 403 \
	"$(code -X DELETE "$URL/public/audit-me")"
expect "enforced: the DELETE never reached the server" "" "$(since "$before")"
reload_policy server-audit 4
before=$(server_count)
expect "server in audit mode: the same DELETE gets the server's answer" "deleted 200" \
	"$(curl -s -w ' %{http_code}' -X DELETE "$URL/public/audit-me" | tr -d '\n')"
expect "server in audit mode: the server saw the DELETE" "DELETE /public/audit-me|" \
	"$(since "$before")"
expect "server in audit mode: an allowed request is still forwarded" 200 \
	"$(code "$URL/public/a.txt")"
before=$(server_count)
out=$(client send 127.0.0.1 "$PX_PORT" \
	'DELETE /public/audit-me HTTP/1.1\r\nHost: s\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: s\r\n\r\n')
expect "server in audit mode: CL + TE still 400 and closed" "HTTP/1.1 400 <<EOF>>" \
	"$(statuses <<<"$out")$(tail -1 <<<"$out")"
out=$(client send 127.0.0.1 "$PX_PORT" \
	'GET /private/ws HTTP/1.1\r\nHost: s\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
expect "server in audit mode: a denied Upgrade to h2c is still refused (403)" \
	"HTTP/1.1 403 " "$(statuses <<<"$out")"
expect "server in audit mode: neither reached the server" "" "$(since "$before")"
# Both directions: a request passes when each side allows or audits.
reload_policy egress-deny,server-audit 5
expect "client's egress enforced, server audits: GET /public/a.txt 403" 403 \
	"$(code "$URL/public/a.txt")"
reload_policy egress-deny,client-audit 6
expect "client audits its egress, server allows: GET /public/a.txt 200" 200 \
	"$(code "$URL/public/a.txt")"
expect "client audits, server enforces its deny: DELETE 403" 403 \
	"$(code -X DELETE "$URL/public/audit-me")"
reload_policy egress-deny,client-audit,server-audit 7
before=$(server_count)
expect "both sides audit: DELETE forwarded" 200 "$(code -X DELETE "$URL/public/audit-me")"
expect "both sides audit: the server saw it" "DELETE /public/audit-me|" "$(since "$before")"
# The records of the requests above, by revision (datagrams: allow a moment).
python3 - "$T/events.log" >"$T/out" 2>&1 <<'EOF'
import json, sys, time
want = [  # revision, verdict, method, url, status, direction, rule_cookie
    (3, "DENIED", "DELETE", "/public/audit-me", 403, "ingress", 65537),
    (4, "AUDIT", "DELETE", "/public/audit-me", 200, "ingress", 65537),
    (4, "FORWARDED", "GET", "/public/a.txt", 200, "ingress", 65537),
    (4, "ERROR", "", "", 400, None, 0),  # the smuggling attempt: never judged
    (4, "DENIED", "GET", "/private/ws", 403, "ingress", 0),
    (5, "DENIED", "GET", "/public/a.txt", 403, "egress", 131073),
    (6, "AUDIT", "GET", "/public/a.txt", 200, "egress", 131073),
    (6, "DENIED", "DELETE", "/public/audit-me", 403, "ingress", 65537),
    (7, "AUDIT", "DELETE", "/public/audit-me", 200, "egress", 131073),
]
keys = ("revision", "verdict", "method", "url", "status", "direction", "rule_cookie")
for _ in range(40):
    recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    seen = {tuple(r.get(k) for k in keys) for r in recs}
    missing = [w for w in want if w not in seen]
    if not missing:
        break
    time.sleep(0.05)
bad = [r for r in recs if "format_error" in r]
assert not bad, ("lines not as 'VERDICT LATENCY_US {JSON}'", bad)
assert not missing, ("missing", missing, [r for r in recs if r["revision"] >= 3])
audit = [r for r in recs if r["verdict"] == "AUDIT" and r["revision"] == 4][-1]
assert audit["destination"]["endpoint"] == "default/server", audit
assert audit["source"]["endpoint"] is None, audit
print(len(want), "records")
EOF
if grep -q records "$T/out"; then
	pass "access log: AUDIT with the denying rule's cookie and side; DENIED where enforced ($(cat "$T/out"))"
else
	fail "access log: AUDIT with the denying rule's cookie and side; DENIED where enforced"
	sed 's/^/      /' "$T/out" | tail -10
fi
reload_policy "" 8
expect "audit off again: DELETE 403" 403 "$(code -X DELETE "$URL/public/audit-me")"
# The agent waits for these answers before it writes the maps.
check "the proxy answered each document: LOADED 2..8, REJECTED 0 for the unreadable one" \
	python3 -c 'import sys, time
want = ["LOADED %d" % r for r in range(2, 9)]
for _ in range(40):
    acks = [l.strip() for l in open(sys.argv[1])]
    if all(w in acks for w in want) and any(a.startswith("REJECTED 0 ") for a in acks):
        sys.exit(0)
    time.sleep(0.05)
sys.exit("acks: %s" % acks)' "$T/events.log.acks"

echo "=== upgrade"
out=$(client upgrade 127.0.0.1 "$PX_PORT")
expect "Upgrade: 101 forwarded, then a blind tunnel both ways" \
	"HTTP/1.1 101 Switching Protocols|echo ok|echo ok|" "$(tr '\n' '|' <<<"$out")"
out=$(client upgrade 127.0.0.1 "$PX_PORT" h2c)
expect "Upgrade to h2c (later requests would bypass the rules): 403" \
	"HTTP/1.1 403 Forbidden" "$out"

echo "=== errors and limits"
expect "malformed response head: 502" 502 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/public/bad")"
out=$(client slow 127.0.0.1 "$PX_PORT" \
	'GET /public/a.txt HTTP/1.1\r\nHost: slowloris\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa\r\n\r\n')
secs=$(sed -n 's/^closed after \([0-9.]*\)s/\1/p' <<<"$out")
expect "slowloris (1 byte/s): 408" "HTTP/1.1 408 " "$(statuses <<<"$out")"
check "slowloris: cut at the header timeout (${HEADER_TIMEOUT} s; took ${secs} s)" \
	awk -v s="$secs" -v t="$HEADER_TIMEOUT" 'BEGIN { exit !(s >= t - 0.5 && s <= t + 1.5) }'

# The second proxy's flows go to DEAD_PORT: its document has rules there.
policy_doc "" 1 | sed "s/\"port\": $SRV_PORT,/\"port\": $DEAD_PORT,/" >"$T/policy2.json"
"$PROXY" --policy "$T/policy2.json" --port "$PX2_PORT" --bind 127.0.0.1 \
	--upstream "$SRV:$DEAD_PORT" --workers 1 --max-conns 1 >"$T/proxy2.log" 2>&1 &
PX2_PID=$!
PIDS+=($PX2_PID)
check "a second proxy (one worker, one connection, a dead upstream) listens" \
	wait_port 127.0.0.1 "$PX2_PORT"
expect "upstream connect refused: 503" 503 \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PX2_PORT/public/a.txt")"
client hold 127.0.0.1 "$PX2_PORT" 3 >"$T/hold1" &
hold1=$!
PIDS+=($hold1)
sleep 0.3
expect "over the per-worker connection cap: closed at once" closed \
	"$(client hold 127.0.0.1 "$PX2_PORT" 1)"
wait "$hold1"
expect "the connection under the cap was held open meanwhile (the control)" open "$(cat "$T/hold1")"
# Fail closed: a redirected flow no rule applies to (the document now has
# rules for SRV_PORT only) is refused, not forwarded unfiltered; the 503
# above, on the same proxy and request, is the control.
policy_doc "" 2 >"$T/policy2.json.tmp" && mv "$T/policy2.json.tmp" "$T/policy2.json"
kill -HUP "$PX2_PID"
for _ in $(seq 50); do
	grep -q 'policy revision 2' "$T/proxy2.log" && break
	sleep 0.05
done
expect "no rule for the redirected flow: 403 (fail closed), not forwarded" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PX2_PORT/public/a.txt")"

echo "=== regex limits"
# /re/(a+)+ backtracks catastrophically on a's followed by anything else.
many_a=$(printf 'a%.0s' $(seq 40))
expect "a path the regex matches at once: forwarded (the server's 404)" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/re/$many_a")"
start=$(date +%s%N)
expect "a path that makes the regex give up (match limit): 403, fail closed" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/re/${many_a}b")"
ms=$((($(date +%s%N) - start) / 1000000))
check "... answered in ${ms} ms (the limit bounds the work)" test "$ms" -lt 2000

echo "=== connection limits and file descriptors"
# Per source: two workers share the count; the 4th connection from
# 127.0.0.1 is refused while 127.0.0.3 (another "pod") is still served.
python3 "$HERE/events.py" "$T/events3.sock" "$T/events3.log" &
PIDS+=($!)
"$PROXY" --policy "$T/policy.json" --port "$PX3_PORT" --bind 127.0.0.1 \
	--upstream "$SRV:$SRV_PORT" --workers 2 --max-conns 16 --max-conns-per-source 3 \
	--events "$T/events3.sock" >"$T/proxy3.log" 2>&1 &
PX3_PID=$!
PIDS+=($PX3_PID)
check "a proxy with --max-conns-per-source 3 listens" wait_port 127.0.0.1 "$PX3_PORT"
for i in 1 2 3; do
	SOURCE_IP=127.0.0.1 client hold 127.0.0.1 "$PX3_PORT" 4 >"$T/hold3.$i" &
	PIDS+=($!)
done
held=
for _ in $(seq 50); do
	[ "$(ss -Htn state established "sport = :$PX3_PORT" | wc -l)" -ge 3 ] && held=1 && break
	sleep 0.1
done
check "three connections from 127.0.0.1 held open" test -n "$held"
expect "the 4th connection from 127.0.0.1: closed at once" closed \
	"$(SOURCE_IP=127.0.0.1 client hold 127.0.0.1 "$PX3_PORT" 1)"
expect "meanwhile 127.0.0.3 (another source) is served" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.3 "http://127.0.0.1:$PX3_PORT/public/a.txt")"
held=
for i in 1 2 3; do
	for _ in $(seq 60); do [ -s "$T/hold3.$i" ] && break; sleep 0.1; done
	held+=$(cat "$T/hold3.$i")
done
expect "the three held connections stayed open throughout (the control)" openopenopen "$held"
expect "after they closed, 127.0.0.1 is served again (the count went back)" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.1 "http://127.0.0.1:$PX3_PORT/public/a.txt")"
for _ in $(seq 30); do grep -q per_source_limit "$T/events3.log" 2>/dev/null && break; sleep 0.1; done
python3 - "$T/events3.log" >"$T/out" 2>&1 <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = [r for r in recs if "format_error" in r]
assert not bad, bad
refused = [r for r in recs if r.get("type") == "proxy-connection"]
assert len(refused) == 1, refused
r = refused[0]
assert r["verdict"] == "REFUSED" and r["prefix_reason"] == "per_source_limit", r
assert r["reason"] == "Proxy per-source connection limit" and r["limit"] == 3, r
assert r["source"]["ip"] == "127.0.0.1" and r["destination"]["endpoint"] == "default/server", r
ok = [r for r in recs if r.get("verdict") == "FORWARDED" and r["source"]["ip"] == "127.0.0.3"]
assert ok, recs
print("refusal logged")
EOF
if grep -q "refusal logged" "$T/out"; then
	pass "access log: the refused connection, with its own reason, source and limit"
else
	fail "access log: the refused connection, with its own reason, source and limit"
	sed 's/^/      /' "$T/out" | tail -10
fi

# Descriptors: under a soft limit of 128 the proxy raises its own to fit
# --max-conns (200 connections x 2 fds + its own), then serves 150 at once.
(ulimit -S -n 128 && exec "$PROXY" --policy "$T/policy.json" --port "$PX4_PORT" \
	--bind 127.0.0.1 --upstream "$SRV:$SRV_PORT" --workers 1 --max-conns 200 \
	--max-conns-per-source 200 \
	>"$T/proxy4.log" 2>&1) &
PX4_PID=$!
PIDS+=($PX4_PID)
check "a proxy started under 'ulimit -Sn 128' with --max-conns 200 listens" \
	wait_port 127.0.0.1 "$PX4_PORT"
soft=$(awk '/Max open files/ {print $4}' "/proc/$PX4_PID/limits" 2>/dev/null)
check "its descriptor limit was raised to fit the cap (soft limit now ${soft:-?}, needs 472)" \
	test "${soft:-0}" -ge 472
grep -o 'file descriptor limit raised.*' "$T/proxy4.log" | sed 's/^/      /'
client many 127.0.0.1 "$PX4_PORT" 150 3 >"$T/many" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do grep -q answered "$T/many" && break; sleep 0.1; done
fds=$(find "/proc/$PX4_PID/fd" -mindepth 1 2>/dev/null | wc -l)
expect "150 connections at once through it, all answered" "150 of 150 answered 200" "$(cat "$T/many")"
check "... holding $fds descriptors, more than the inherited 128" test "$fds" -gt 300
out=$("$PROXY" --policy "$T/policy.json" --port "$PX4_PORT" --bind 127.0.0.1 \
	--upstream "$SRV:$SRV_PORT" --workers 2 --max-conns 1048576 2>&1)
rc=$?
check "a cap no descriptor limit can hold: refuses to start, saying why (rc $rc)" \
	bash -c '[ "$1" -eq 1 ] && grep -q "need 4194[0-9]* file descriptors" <<<"$2"' _ "$rc" "$out"

echo "=== access log"
python3 - "$T/events.log" >"$T/out" 2>&1 <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def find(**kw):
    return [r for r in recs if all(r.get(k) == v for k, v in kw.items())]
deny = find(verdict="DENIED", method="PUT", status=403, direction="ingress")
ok = find(verdict="FORWARDED", method="GET", url="/public/a.txt", status=200, rule_cookie=65537)
egress = find(verdict="DENIED", direction="egress")
err = find(verdict="ERROR", status=400)
assert deny and ok and egress and err, (len(deny), len(ok), len(egress), len(err))
limit = find(verdict="DENIED", status=403, reason="L7 regex limit", prefix_reason="regex_limit")
assert limit and limit[-1]["url"].startswith("/re/a") and limit[-1]["rule_cookie"] == 65537, limit
assert not [r for r in recs if "format_error" in r], recs
r = ok[-1]
assert r["type"] == "http-request" and r["host"], r
assert r["destination"]["endpoint"] == "default/server", r
assert r["destination"]["identity"] == 256 and "k8s:app=server" in r["destination"]["labels"], r
assert r["source"]["ip"] == "127.0.0.1" and r["source"]["endpoint"] is None, r
assert isinstance(r["latency_us"], int) and r["time"].endswith("Z"), r
assert egress[-1]["source"]["endpoint"] == "default/client", egress[-1]
print(len(recs), "records")
EOF
if grep -q records "$T/out"; then
	pass "access log: JSON records with verdicts, peers, cookies, directions ($(cat "$T/out"))"
else
	fail "access log: JSON records with verdicts, peers, cookies, directions"
	sed 's/^/      /' "$T/out" | tail -10
fi

echo "=== shutdown"
kill -TERM "$PX_PID"
rc=timeout
for _ in $(seq 30); do
	if ! kill -0 "$PX_PID" 2>/dev/null; then
		wait "$PX_PID"
		rc=$?
		break
	fi
	sleep 0.1
done
expect "SIGTERM: exits 0 within 3 s" 0 "$rc"
grep -q 'requests:' "$T/proxy.log" && sed -n 's/.*\(requests: .*\)/  (\1)/p' "$T/proxy.log"

if grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$T"/proxy*.log; then
	fail "sanitizer reports in the proxy's log"
	grep -h -A5 'runtime error\|Sanitizer' "$T"/proxy*.log | head -30 | sed 's/^/      /'
fi

echo "proxy: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
