# shellcheck shell=bash
# API-aware (L7 HTTP) policy through warden-proxy: real endpoints, a real
# HTTP server (tools/httpd.py), curl and a keep-alive client.

TOOLS=$(dirname "${BASH_SOURCE[0]}")/tools

# The deathstar with an HTTP server on 80, two ships. On failure the test
# has failed (saying what) and stops: l7_cast || return
l7_cast() {
	W endpoint create deathstar --labels org=empire,class=deathstar >/dev/null &&
	W endpoint create tiefighter --labels org=empire,class=tiefighter >/dev/null &&
	W endpoint create xwing --labels org=alliance,class=xwing >/dev/null ||
		{ fail "create the deathstar, tiefighter and xwing endpoints"; return 1; }
	: >"$E2E_TMP/httpd.log"
	W endpoint exec deathstar -- python3 "$TOOLS/httpd.py" --port 80 --log "$E2E_TMP/httpd.log" >/dev/null 2>&1 &
	wait_listen deathstar 80
}
# http FROM METHOD URL [curl args...] -> "BODY STATUS"
http() {
	local from=$1 method=$2 url=$3
	shift 3
	W endpoint exec "$from" -- curl -s -m 3 -X "$method" -w ' %{http_code}' "$@" "$url" 2>/dev/null | tr -d '\r' | tr '\n' ' '
}
served() { grep -c "$1" "$E2E_TMP/httpd.log"; }
# http_is FROM EXPECTED METHOD URL [curl args...]: the answer is "BODY STATUS"
# matching the glob EXPECTED (e.g. '* 403').
http_is() {
	local from=$1 want=$2 got
	shift 2
	got=$(http "$from" "$@")
	# shellcheck disable=SC2053 # the glob is the point
	[[ $got == $want ]] || { echo "got: $got"; return 1; }
}
# host_http_ok IP: the HTTP server answers the host (always allowed, and
# not redirected to the proxy).
host_http_ok() { [[ $(curl -s -m 3 "http://$1/host-control") == "GET /host-control from "* ]]; }
# curl_from FROM CURL-ARGS...: curl inside an endpoint (for check_denied,
# whose CONTROL and ATTEMPT cannot hold an "endpoint exec --").
curl_from() {
	local from=$1
	shift
	W endpoint exec "$from" -- curl "$@"
}
proxy_pid() { pgrep -f "warden-proxy --policy $E2E_TMP/" | head -1; }

t_60_starwars_l7_file_unchanged() {
	need_corpus || return
	l7_cast || return
	local ds; ds=$(ep_ip deathstar)
	check "import Cilium's sw_l3_l4_l7_policy.yaml unchanged" import "$CORPUS/cilium/minikube/sw_l3_l4_l7_policy.yaml"
	check "tiefighter: POST /v1/request-landing -> Ship landed" \
		bash -c "[[ \"\$1\" == 'Ship landed  200' ]]" _ "$(http tiefighter POST "http://$ds/v1/request-landing")"
	check "tiefighter: PUT /v1/exhaust-port -> 403 Access denied" \
		bash -c "[[ \"\$1\" == 'Access denied  403' ]]" _ "$(http tiefighter PUT "http://$ds/v1/exhaust-port")"
	check_controlled "the denied request never reached the server (the allowed one did)" \
		test "$(served 'POST /v1/request-landing')" -ge 1 -- test "$(served 'PUT /v1/exhaust-port')" -eq 0
	check_denied "xwing: L3-denied, never reaches the proxy (times out)" \
		http_is tiefighter 'Ship landed  200' POST "http://$ds/v1/request-landing" -- \
		curl_from xwing -s -m 2 -XPOST "http://$ds/v1/request-landing"
	check "the server saw the tiefighter's own address (no source NAT)" \
		grep -q "POST /v1/request-landing from $(ep_ip tiefighter)" "$E2E_TMP/httpd.log"
	check "bpf policy get shows the redirect" bash -c "\"$WARDEN\" --socket \"$SOCK\" bpf policy get deathstar --json | grep -q proxy"
}

t_61_egress_l7_and_regex_anchoring() {
	l7_cast || return
	local ds; ds=$(ep_ip deathstar)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ship-egress
spec:
  endpointSelector:
    matchLabels: {class: tiefighter}
  egress:
  - toEndpoints: [{matchLabels: {class: deathstar}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: "GET|HEAD"
          path: "/v1"
        - method: GET
          path: "/public/.*"
YAML
	check "egress L7: GET /v1 allowed" bash -c "[[ \"\$1\" == *' 200' ]]" _ "$(http tiefighter GET "http://$ds/v1")"
	check "egress L7: path is anchored: GET /v1/x denied" bash -c "[[ \"\$1\" == *' 403' ]]" _ "$(http tiefighter GET "http://$ds/v1/x")"
	check "egress L7: method alternation is anchored: POST /v1 denied" bash -c "[[ \"\$1\" == *' 403' ]]" _ "$(http tiefighter POST "http://$ds/v1")"
	check "egress L7: GET /public/a/b allowed (regex)" bash -c "[[ \"\$1\" == *' 200' ]]" _ "$(http tiefighter GET "http://$ds/public/a/b")"
	check "egress L7: /public/../private is normalised and denied" bash -c "[[ \"\$1\" == *' 403' ]]" _ "$(http tiefighter GET "http://$ds/public/../private" --path-as-is)"
	check "xwing (not selected by the egress policy) unaffected" bash -c "[[ \"\$1\" == *' 200' ]]" _ "$(http xwing PUT "http://$ds/anything")"
}

t_62_headers_and_host() {
	l7_cast || return
	local ds; ds=$(ep_ip deathstar)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: headers
spec:
  endpointSelector:
    matchLabels: {class: deathstar}
  ingress:
  - toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          path: "/force"
          headers: ["X-Has-Force: true"]
        - method: GET
          path: "/station"
          host: "deathstar\\.empire"
YAML
	check "header present with the value: allowed" bash -c "[[ \"\$1\" == *' 200' ]]" _ "$(http xwing GET "http://$ds/force" -H 'X-Has-Force: true')"
	check "header with another value: denied" bash -c "[[ \"\$1\" == *' 403' ]]" _ "$(http xwing GET "http://$ds/force" -H 'X-Has-Force: false')"
	check "header missing: denied" bash -c "[[ \"\$1\" == *' 403' ]]" _ "$(http xwing GET "http://$ds/force")"
	check "host matches: allowed" bash -c "[[ \"\$1\" == *' 200' ]]" _ "$(http xwing GET "http://$ds/station" -H 'Host: deathstar.empire')"
	check "host differs: denied" bash -c "[[ \"\$1\" == *' 403' ]]" _ "$(http xwing GET "http://$ds/station" -H 'Host: deathstarXempire')"
}

t_63_keepalive_denied_then_allowed_and_policy_change() {
	need_corpus || return
	l7_cast || return
	local ds; ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_l7_policy.yaml" || { fail "import"; return; }
	rm -f "$E2E_TMP/changed"
	W endpoint exec tiefighter -- python3 "$TOOLS/keepalive.py" "$ds" 80 \
		"POST /v1/request-landing" "PUT /v1/exhaust-port" "POST /v1/request-landing" \
		"wait $E2E_TMP/changed" "POST /v1/request-landing" "GET /v1" >"$E2E_TMP/ka.out" 2>&1 &
	local client=$!
	# The policy changes once the first three answers are in (the client
	# may take seconds to start on a loaded machine).
	for _ in $(seq 200); do
		[ "$(wc -l <"$E2E_TMP/ka.out")" -ge 3 ] && break
		sleep 0.1
	done
	cat >"$E2E_TMP/l7b.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: rule1
spec:
  endpointSelector:
    matchLabels: {org: empire, class: deathstar}
  ingress:
  - fromEndpoints: [{matchLabels: {org: empire}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: "/v1"}
YAML
	W policy import "$E2E_TMP/l7b.yaml" >/dev/null
	sleep 0.5
	touch "$E2E_TMP/changed"
	wait "$client"
	mapfile -t lines <"$E2E_TMP/ka.out"
	check "1st request on the connection allowed" test "${lines[0]:-}" = "200 Ship landed"
	check "2nd (PUT exhaust-port) denied with 403" test "${lines[1]:-}" = "403 Access denied"
	check "3rd on the same connection allowed again" test "${lines[2]:-}" = "200 Ship landed"
	check "after the policy change: landing now denied on the open connection" test "${lines[3]:-}" = "403 Access denied"
	check "after the policy change: GET /v1 allowed on the open connection" bash -c "[[ \"\$1\" == 200* ]]" _ "${lines[4]:-}"
}

t_64_proxy_killed_fails_closed_then_recovers() {
	need_corpus || return
	l7_cast || return
	local ds pid before; ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_l7_policy.yaml" || { fail "import"; return; }
	check "landing works through the proxy" bash -c "[[ \"\$1\" == 'Ship landed  200' ]]" _ "$(http tiefighter POST "http://$ds/v1/request-landing")"
	pid=$(proxy_pid)
	check "the agent runs warden-proxy" test -n "$pid"
	# Stop it (SIGSTOP keeps it from being restarted, so the gap is real).
	kill -STOP "$pid"
	before=$(served 'PUT /v1/exhaust-port')
	# Control: the server is up (the host's requests skip the proxy).
	check_denied "while the proxy is down the request fails (no unfiltered pass)" \
		host_http_ok "$ds" -- curl_from tiefighter -sf -m 2 -XPUT "http://$ds/v1/exhaust-port"
	check_controlled "and it never reached the server (the host's request did)" \
		test "$(served 'GET /host-control')" -ge 1 -- test "$(served 'PUT /v1/exhaust-port')" -eq "$before"
	kill -KILL "$pid"
	local ok=0
	for _ in $(seq 50); do
		sleep 0.2
		[ -n "$(proxy_pid)" ] && [ "$(proxy_pid)" != "$pid" ] && ok=1 && break
	done
	check "the agent restarted the proxy" test "$ok" = 1
	sleep 0.5
	check "filtering resumes without a re-import: landing allowed" bash -c "[[ \"\$1\" == 'Ship landed  200' ]]" _ "$(http tiefighter POST "http://$ds/v1/request-landing")"
	check "filtering resumes without a re-import: exhaust port denied" bash -c "[[ \"\$1\" == 'Access denied  403' ]]" _ "$(http tiefighter PUT "http://$ds/v1/exhaust-port")"
}

t_65_chunked_upload_and_large_body() {
	l7_cast || return
	local ds; ds=$(ep_ip deathstar)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: upload
spec:
  endpointSelector:
    matchLabels: {class: deathstar}
  ingress:
  - fromEndpoints: [{matchLabels: {org: empire}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - {method: PUT, path: "/upload"}
YAML
	head -c 3000000 /dev/urandom >"$E2E_TMP/blob"
	check "chunked upload passes whole" bash -c "[[ \"\$1\" == *'body=3000000'*' 200' ]]" _ \
		"$(http tiefighter PUT "http://$ds/upload" -H 'Transfer-Encoding: chunked' --data-binary @"$E2E_TMP/blob")"
	check "Content-Length upload passes whole" bash -c "[[ \"\$1\" == *'body=3000000'*' 200' ]]" _ \
		"$(http tiefighter PUT "http://$ds/upload" --data-binary @"$E2E_TMP/blob")"
	check "a denied upload gets 403 and its body is not forwarded" bash -c "[[ \"\$1\" == *' 403' ]]" _ \
		"$(http tiefighter PUT "http://$ds/elsewhere" --data-binary @"$E2E_TMP/blob")"
	check_controlled "the server logged no request for /elsewhere (both uploads, yes)" \
		test "$(served 'PUT /upload')" -eq 2 -- test "$(served '/elsewhere')" -eq 0
}

# Trace must agree with the datapath: the same flows, traced and sent.
t_66_policy_trace_agrees_with_datapath() {
	need_corpus || return
	l7_cast || return
	local ds; ds=$(ep_ip deathstar)
	serve_tcp deathstar 8080 || return
	check "control: the 8080 server answers the host, so a DENIED flow to it is the datapath's" \
		host_tcp_ok "$ds" 8080
	import "$CORPUS/cilium/minikube/sw_l3_l4_l7_policy.yaml" || { fail "import"; return; }
	trace() { W policy trace --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"])'; }
	local from to port traced sent
	for from in tiefighter xwing; do
		for port in 80 8080; do
			traced=$(trace --from "$from" --to deathstar --dport "$port/tcp")
			if [ "$port" = 80 ]; then
				# An L4 pass that the proxy then answers with 403 is still ALLOWED at L3/L4.
				W endpoint exec "$from" -- curl -s -m 2 -o /dev/null -w '%{http_code}' "http://$ds/v1" | grep -qE '^(200|403|404)$' && sent=ALLOWED || sent=DENIED
			else
				tcp_ok "$from" "$ds" "$port" && sent=ALLOWED || sent=DENIED
			fi
			check "trace $from -> deathstar:$port says $traced, the datapath did $sent" test "$traced" = "$sent"
		done
	done
	check "trace of PUT /v1/exhaust-port: DENIED at L7" test \
		"$(trace --from tiefighter --to deathstar --dport 80/tcp --http-method PUT --http-path /v1/exhaust-port)" = DENIED
	check "trace of POST /v1/request-landing: ALLOWED at L7" test \
		"$(trace --from tiefighter --to deathstar --dport 80/tcp --http-method POST --http-path /v1/request-landing)" = ALLOWED
	check "trace names the deciding policy" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy trace --from xwing --to deathstar --dport 80/tcp | grep -q 'ingress at default/deathstar: DENIED (default deny)'"
	check "trace by labels and by address" test \
		"$(trace --from org=empire,class=tiefighter --to "$ds" --dport 80/tcp)" = ALLOWED
}

# The monitor's L7 side: REDIRECTED flows, http-request events with the
# policy that allowed or restricted them, and endpoint audit mode at L7.
t_67_monitor_l7_events_and_audit() {
	need_corpus || return
	local t0; t0=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
	l7_cast || return
	local ds; ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_l7_policy.yaml" || { fail "import"; return; }
	http tiefighter POST "http://$ds/v1/request-landing" >/dev/null
	http tiefighter PUT "http://$ds/v1/exhaust-port" >/dev/null
	check "endpoint config deathstar audit=on" W endpoint config deathstar audit=on
	check "audit mode at L7: PUT /v1/exhaust-port reaches the server" \
		bash -c "[[ \"\$1\" == 'PUT /v1/exhaust-port from '*' 200' ]]" _ "$(http tiefighter PUT "http://$ds/v1/exhaust-port")"
	check "the server logged it" test "$(served 'PUT /v1/exhaust-port')" -eq 1
	sleep 0.5
	W monitor --last 4096 -o json >"$E2E_TMP/l7ev.json" 2>&1
	check "events: REDIRECTED to-proxy; FORWARDED, DENIED and AUDIT requests naming default/rule1" \
		python3 - "$E2E_TMP/l7ev.json" "$t0" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ev = [e for e in ev if e["time"] >= sys.argv[2]]
red = [e for e in ev if e["verdict"] == "REDIRECTED"]
assert red and red[0]["reason"] == "to-proxy" and red[0]["source"]["endpoint"] == "default/tiefighter", ev
assert red[0]["policy"] == "default/rule1", red
http = [e for e in ev if e["type"] == "http-request"]
got = [(e["verdict"], e["method"], e["url"], e["status"], e["policy"]) for e in http]
assert ("FORWARDED", "POST", "/v1/request-landing", 200, "default/rule1") in got, got
assert ("DENIED", "PUT", "/v1/exhaust-port", 403, "default/rule1") in got, got
audit = [g for g in got if g[0] == "AUDIT"]
assert audit and audit[0][1:3] == ("PUT", "/v1/exhaust-port") and audit[0][3] != 403 \
    and audit[0][4] == "default/rule1", got
assert all(e["latency_us"] >= 0 and e["destination"]["endpoint"] == "default/deathstar" for e in http), http
PY
	check "metrics count the audited request" bash -c \
		"curl -s http://127.0.0.1:9962/metrics | grep -q 'warden_proxy_requests_total{verdict=\"audit\"} [1-9]'"
	check "trace at L7 says AUDIT for the PUT" test \
		"$(W policy trace --from tiefighter --to deathstar --dport 80/tcp --http-method PUT --http-path /v1/exhaust-port --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"])')" = AUDIT
}
