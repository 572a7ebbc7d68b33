# shellcheck shell=bash
# The L7 proxy's limits with a real agent: one pod cannot take every
# connection slot (the per-source limit), a regex that gives up denies
# (fail closed), and the proxy's descriptor limit fits its cap.

PROXY_CLIENT=$(dirname "${BASH_SOURCE[0]}")/../proxy/client.py

# refused_by_proxy FROM URL: the proxy accepted the connection and closed
# it without an answer (curl: 52 empty reply, or 56 reset).
refused_by_proxy() {
	local rc
	W endpoint exec "$1" -- curl -s -m 3 -o /dev/null "$2" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 52 ] || [ "$rc" -eq 56 ] || { echo "curl exit $rc"; return 1; }
}

# Two workers x 32 connections = 64 slots, 8 per source: the hog tries 70
# connections, more than all the slots. Without the per-source limit it
# would hold all 64 and the other pod would be refused.
t_68_proxy_per_source_limit_and_regex_limit() {
	local t0 ds other_before hog_before limit_before regex_before old_soft pid soft
	stop_agent
	WARDEND_ARGS="--proxy-workers 2 --proxy-max-conns 32 --proxy-max-conns-per-source 8" \
		start_agent || { fail "agent with --proxy-max-conns 32 --proxy-max-conns-per-source 8"; return; }
	t0=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
	W endpoint create server --labels app=server >/dev/null &&
		W endpoint create hog --labels app=hog >/dev/null &&
		W endpoint create other --labels app=other >/dev/null ||
		{ fail "create the server, hog and other endpoints"; return; }
	: >"$E2E_TMP/httpd.log"
	W endpoint exec server -- python3 "$TOOLS/httpd.py" --port 80 --log "$E2E_TMP/httpd.log" >/dev/null 2>&1 &
	wait_listen server 80 || return
	ds=$(ep_ip server)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: server-l7
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchExpressions: [{key: app, operator: In, values: [hog, other]}]}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          path: "/pool/.*"
        - method: GET
          path: "/re/(a+)+"
YAML
	limit_before=$(metric 'warden_proxy_limit_hits_total{reason="per_source_limit"}')
	regex_before=$(metric 'warden_proxy_limit_hits_total{reason="regex_limit"}')
	# The hog: 70 keep-alive connections at once, each with one request,
	# then held open 8 s (a connection pool).
	W endpoint exec hog -- python3 "$PROXY_CLIENT" many "$ds" 80 70 8 /pool/hog >"$E2E_TMP/hog.out" 2>&1 &
	for _ in $(seq 100); do grep -q answered "$E2E_TMP/hog.out" && break; sleep 0.1; done
	check "the hog got exactly its 8 connections of the 70 it opened" \
		grep -qx "8 of 70 answered 200" "$E2E_TMP/hog.out"
	check_controlled "while the hog holds them, its next connection is closed unanswered; the other pod is served" \
		http_is other '* 200' GET "http://$ds/pool/a" -- \
		refused_by_proxy hog "http://$ds/pool/b"
	other_before=$(served 'from '"$(ep_ip other)")
	for i in 1 2 3 4 5; do http other GET "http://$ds/pool/$i" >/dev/null; done
	check "five more requests of the other pod all reached the server" \
		test "$(served 'from '"$(ep_ip other)")" -eq $((other_before + 5))
	hog_before=$(served 'from '"$(ep_ip hog)")
	check "the server saw the hog's 8 requests, no more" test "$hog_before" -eq 8
	check "refused connections counted: warden_proxy_limit_hits_total{reason=\"per_source_limit\"}" \
		test "$(metric 'warden_proxy_limit_hits_total{reason="per_source_limit"}')" -ge $((limit_before + 62))

	# A regex that gives up (catastrophic backtracking) denies: 403.
	check_controlled "a path /re/(a+)+ matches at once is forwarded; one that makes it give up: 403" \
		http_is other '* 200' GET "http://$ds/re/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" -- \
		http_is other '* 403' GET "http://$ds/re/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"
	check "counted: warden_proxy_limit_hits_total{reason=\"regex_limit\"}" \
		test "$(metric 'warden_proxy_limit_hits_total{reason="regex_limit"}')" -eq $((regex_before + 1))
	sleep 0.3
	W monitor --last 4096 -o json >"$E2E_TMP/limits.json" 2>&1
	check "monitor: REFUSED connections of the hog and the regex-limit 403, each with its reason" \
		python3 - "$E2E_TMP/limits.json" "$t0" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ev = [e for e in ev if e["time"] >= sys.argv[2]]
ref = [e for e in ev if e["type"] == "proxy-connection"]
assert len(ref) >= 62, len(ref)
assert all(e["verdict"] == "REFUSED" and e["reason"] == "Proxy per-source connection limit"
           and e["limit"] == 8 and e["source"]["endpoint"] == "default/hog"
           and e["destination"]["endpoint"] == "default/server" for e in ref), ref[:3]
rx = [e for e in ev if e["type"] == "http-request" and e.get("reason") == "L7 regex limit"]
assert len(rx) == 1 and rx[0]["verdict"] == "DENIED" and rx[0]["status"] == 403, rx
assert rx[0]["policy"] == "default/server-l7", rx
PY
	W monitor --last 4096 --type l7 >"$E2E_TMP/limits.txt" 2>&1
	check "compact monitor line: '... Proxy per-source connection limit REFUSED TCP'" \
		grep -q "default/hog) -> .*default/server) Proxy per-source connection limit REFUSED TCP" "$E2E_TMP/limits.txt"
	reset_state

	# The descriptor limit: an agent started under 'ulimit -Sn 1024' runs a
	# proxy with the default caps (4,096 per worker), which raises its own.
	stop_agent
	old_soft=$(ulimit -Sn)
	ulimit -Sn 1024
	WARDEND_ARGS= start_agent
	ulimit -Sn "$old_soft"
	for _ in $(seq 50); do pid=$(proxy_pid) && [ -n "$pid" ] && grep -q 'file descriptor limit' "$E2E_TMP/wardend.log" && break; sleep 0.1; done
	soft=$(awk '/Max open files/ {print $4}' "/proc/${pid:-0}/limits" 2>/dev/null)
	check "the agent's proxy raised its descriptor limit from 1024 to fit its cap (now ${soft:-?})" \
		test "${soft:-0}" -ge $((2 * 4096 * $(nproc) + 64))
}
