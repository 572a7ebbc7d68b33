# shellcheck shell=bash
# The datapath while things move (issue 11): proxied long-lived connections
# across unrelated changes, sources forged outside their endpoint, CIDR
# rules that name a host address, and the proxy's TIME_WAIT sockets after
# an L7 -> L4 switch.

REL_TOOLS=$(dirname "${BASH_SOURCE[0]}")/tools

# stream_stats LOG -> "LINES MAX_GAP END": the ticks a streamread.py log
# holds, the longest gap between two of them or since the last one until
# now (s), and how the stream ended ("open" while it runs).
stream_stats() {
	python3 - "$1" <<'PY'
import sys, time
times, end = [], "open"
for line in open(sys.argv[1]):
    t, _, what = line.strip().partition(" ")
    if what.startswith("tick"):
        times.append(float(t))
    elif what.startswith("end"):
        end = what.split(" ", 1)[1].replace(" ", "_")
gap = max((b - a for a, b in zip(times, times[1:] + [time.time()])), default=0)
print(len(times), "%.2f" % gap, end)
PY
}
stream_lines() { grep -c ' tick' "$1"; }

# An L7 policy allows GET /stream from app=client; the stream (a line every
# 250 ms through the proxy) must survive 100 unrelated changes without a
# reset or a gap over 1 s, and still be cut when its allow is revoked.
t_41_proxied_stream_survives_unrelated_changes() {
	W endpoint create server --labels app=server >/dev/null &&
	W endpoint create client --labels app=client >/dev/null &&
	W endpoint create other --labels app=other >/dev/null ||
		{ fail "create the server, client and other endpoints"; return; }
	W endpoint exec server -- python3 "$REL_TOOLS/httpd.py" --port 80 >/dev/null 2>&1 &
	wait_listen server 80 || return
	local s i n0 n1 n2 stats started gap
	s=$(ep_ip server)
	cat >"$E2E_TMP/stream-l7.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: stream-l7
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: "/stream"}
YAML
	import "$E2E_TMP/stream-l7.yaml" || { fail "import"; return; }
	: >"$E2E_TMP/stream.log"
	W endpoint exec client -- python3 "$REL_TOOLS/streamread.py" "$s" 80 /stream "$E2E_TMP/stream.log" &
	local reader=$!
	for _ in $(seq 50); do
		[ "$(stream_lines "$E2E_TMP/stream.log")" -ge 4 ] && break
		sleep 0.1
	done
	check "the stream flows through the proxy ($(stream_lines "$E2E_TMP/stream.log") lines)" \
		grep -q 'status HTTP/1.1 200' "$E2E_TMP/stream.log"
	check "it goes through the proxy (a GET /other is answered 403)" bash -c \
		"[ \"\$(\"$WARDEN\" --socket \"$SOCK\" endpoint exec client -- curl -s -o /dev/null -w '%{http_code}' -m 3 http://$s/other)\" = 403 ]"
	started=$(date +%s.%N)
	n0=$(stream_lines "$E2E_TMP/stream.log")
	# 100 unrelated changes: endpoints come and go, policies are imported,
	# another endpoint changes labels (and identity).
	for i in $(seq 0 99); do
		case $((i % 4)) in
		0) W endpoint create "foo$i" --labels app=foo >/dev/null ;;
		1) W policy import - >/dev/null <<YAML
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: unrelated-$i
spec:
  endpointSelector:
    matchLabels: {app: foo}
  ingress:
  - fromEndpoints: [{matchLabels: {app: bar$i}}]
YAML
			;;
		2) W endpoint label other "app=other$i" >/dev/null ;;
		3) W endpoint delete "foo$((i - 3))" >/dev/null ;;
		esac || { fail "unrelated change $i failed"; break; }
	done
	n1=$(stream_lines "$E2E_TMP/stream.log")
	stats=$(stream_stats "$E2E_TMP/stream.log")
	local secs; secs=$(python3 -c "import time,sys; print(int(time.time() - float(sys.argv[1])))" "$started")
	check "100 unrelated changes in ${secs} s: the stream is still open (lines, max gap, end: $stats)" \
		test "${stats##* }" = open
	gap=$(echo "$stats" | cut -d' ' -f2)
	check "and it never stopped for more than 1 s (longest gap $gap s, up to now)" \
		python3 -c "import sys; sys.exit(float(sys.argv[1]) > 1.0)" "$gap"
	check "and it kept flowing: $((n1 - n0)) lines over ${secs} s" \
		test $((n1 - n0)) -ge $((secs * 3))
	# Revoking the L7 allow for real still cuts the stream (which flows
	# right up to it).
	n1=$(stream_lines "$E2E_TMP/stream.log")
	sleep 0.6
	check "the stream flows right before the revocation" test "$(stream_lines "$E2E_TMP/stream.log")" -gt "$n1"
	sed 's/app: client/app: nobody/' "$E2E_TMP/stream-l7.yaml" >"$E2E_TMP/stream-revoke.yaml"
	import "$E2E_TMP/stream-revoke.yaml" || { fail "import the revocation"; return; }
	sleep 1
	n1=$(stream_lines "$E2E_TMP/stream.log")
	sleep 1.5
	n2=$(stream_lines "$E2E_TMP/stream.log")
	host_stream() { [ "$(curl -s -m 3 "http://$s/stream?lines=2" | grep -c tick)" = 2 ]; }
	check_controlled "revoking the allow cuts the proxied stream ($n1 -> $n2 lines; the host still streams)" \
		host_stream -- test "$n1" -eq "$n2"
	kill "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null
}

# sysctl_set NAME VALUE: set a sysctl of this network namespace for one
# test, restored by sysctl_restore (the run may not be in a test node).
SYSCTL_SAVED=()
sysctl_set() {
	SYSCTL_SAVED+=("$1=$(sysctl -n "$1")")
	sysctl -qw "$1=$2"
}
sysctl_restore() {
	local kv
	for kv in "${SYSCTL_SAVED[@]}"; do sysctl -qw "$kv"; done
	SYSCTL_SAVED=()
}

# A host outside the node (the world namespace) must not get a pod's
# identity, or the host's, by forging its source address: whatever the
# host's rp_filter says, such a packet is dropped at the endpoint it is
# sent to, and reported.
t_42_forged_source_from_outside_dropped() {
	W endpoint create server --labels app=server >/dev/null &&
	W endpoint create client --labels app=client >/dev/null ||
		{ fail "create the server and client endpoints"; return; }
	local s c log=$E2E_TMP/udp5000.log
	s=$(ep_ip server)
	c=$(ep_ip client)
	: >"$log"
	W endpoint exec server -- python3 "$REL_TOOLS/udptool.py" listen 5000 "$log" >/dev/null 2>&1 &
	W endpoint exec server -- python3 "$REL_TOOLS/udptool.py" listen 5001 "$log" >/dev/null 2>&1 &
	wait_listen server 5000/udp && wait_listen server 5001/udp || return
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: udp-in
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "5000", protocol: UDP}]
  - fromEntities: [world]
    toPorts:
    - ports: [{port: "5001", protocol: UDP}]
YAML
	# The host lets forged sources through (rp_filter off, local sources
	# accepted from the world's interface): only the datapath stands.
	sysctl_set net.ipv4.conf.all.rp_filter 0
	sysctl_set "net.ipv4.conf.$WORLD_HOST_IF.rp_filter" 0
	sysctl_set "net.ipv4.conf.$WORLD_HOST_IF.accept_local" 1
	# received PAYLOAD: the server logged it (within 2 s)
	received() {
		for _ in $(seq 20); do
			grep -q " $1\$" "$log" && return 0
			sleep 0.1
		done
		return 1
	}
	from_client() { echo "$1" | W endpoint exec client -- socat -u - UDP:"$s":5000; received "$1"; }
	from_host() { echo "$1" | socat -u - UDP:"$s":5000; received "$1"; }
	from_world() { echo "$1" | world socat -u - UDP:"$s":5000; received "$1"; }
	# forged SOURCE PORT PAYLOAD: a raw datagram from the world namespace
	forged() { world python3 "$REL_TOOLS/udptool.py" send "$1" "$s" "$2" "$3"; received "$3"; }
	check "control: raw datagrams from the world get through where world is allowed (5001)" \
		forged 10.250.0.3 5001 raw-world-5001
	check_denied "the world's own datagram is dropped (the client's passes)" \
		from_client from-client-1 -- from_world from-world
	check_denied "a datagram from outside forging the client's address is dropped (the client's passes)" \
		from_client from-client-2 -- forged "$c" 5000 forged-client
	check_denied "one forging the host's address (10.200.0.1) is dropped (the host's own passes)" \
		from_host from-host -- forged 10.200.0.1 5000 forged-host
	sleep 0.3
	W monitor --last 4096 -o json >"$E2E_TMP/forged.json" 2>&1
	check "the forgeries are reported with their own reason, at the server" python3 - "$E2E_TMP/forged.json" "$c" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
forged = [e for e in ev if e.get("reason") == "Spoofed source from outside the endpoint"]
srcs = {e["source"]["ip"] for e in forged}
assert sys.argv[2] in srcs and "10.200.0.1" in srcs, (srcs, ev[-5:])
assert all(e["verdict"] == "DROPPED" and e["destination"]["endpoint"] == "default/server"
           for e in forged), forged
PY
	sysctl_restore
}

# A CIDR rule naming one of the host's addresses as a /32 must not take
# that address's `host` identity away, neither while the policy exists nor
# after it is deleted.
t_43_cidr_rule_never_overrides_host() {
	# The agent learns the host's addresses when it starts: restarted, it
	# knows the world link's 10.250.0.1 (made after its first start) too.
	stop_agent
	start_agent || { fail "restart the agent"; return; }
	W endpoint create web --labels app=web >/dev/null &&
	W endpoint create other --labels app=other >/dev/null ||
		{ fail "create the web and other endpoints"; return; }
	socat TCP-LISTEN:8089,fork,reuseaddr SYSTEM:'echo pong' >/dev/null 2>&1 &
	local host_server=$!
	wait_listen_in "the host" 8089 env || { kill "$host_server"; return; }
	import - <<'YAML' || { fail "import"; kill "$host_server"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web-to-host
spec:
  endpointSelector:
    matchLabels: {app: web}
  egress:
  - toEntities: [host]
YAML
	check "web reaches the host at its pod gateway 10.200.0.1" tcp_ok web 10.200.0.1 8089
	check "and at its address 10.250.0.1 (host too)" tcp_ok web 10.250.0.1 8089
	import - <<'YAML' || { fail "import"; kill "$host_server"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cidr-names-host
spec:
  endpointSelector:
    matchLabels: {app: other}
  egress:
  - toCIDR: [10.250.0.1/32, 10.200.0.1/32]
YAML
	check_controlled "with a CIDR rule naming 10.250.0.1/32: still host for web (10.200.0.1 too)" \
		tcp_ok web 10.200.0.1 8089 -- tcp_ok web 10.250.0.1 8089
	check "the ipcache agrees: trace from 10.250.0.1 names the host identity (1)" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy trace --from 10.250.0.1 --to web --dport 80/tcp --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"from\"][\"identity\"] == 1, d[\"from\"]'"
	W policy delete cidr-names-host >/dev/null
	check "the CIDR policy deleted: 10.250.0.1 is still host" tcp_ok web 10.250.0.1 8089
	check "and 10.200.0.1 too" tcp_ok web 10.200.0.1 8089
	kill "$host_server" 2>/dev/null
	wait "$host_server" 2>/dev/null
}

# The proxy's TIME_WAIT sockets must never capture a new connection that
# is not proxied: many short proxied connections on fixed client ports,
# then an L4 policy, then new connections on the same ports all succeed.
t_44_proxy_time_wait_never_captures_new_connections() {
	W endpoint create server --labels app=server >/dev/null &&
	W endpoint create client --labels app=client >/dev/null ||
		{ fail "create the server and client endpoints"; return; }
	W endpoint exec server -- python3 "$REL_TOOLS/httpd.py" --port 80 >/dev/null 2>&1 &
	wait_listen server 80 || return
	local s c i ok=0 proxied=0 tw
	s=$(ep_ip server)
	c=$(ep_ip client)
	cat >"$E2E_TMP/tw.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: tw
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: "/.*"}
YAML
	import "$E2E_TMP/tw.yaml" || { fail "import"; return; }
	# curl_port PORT: one request from the client's source port PORT.
	curl_port() {
		W endpoint exec client -- curl -s -m 3 -o /dev/null -w '%{http_code}' \
			-H 'Connection: close' --local-port "$1" "http://$s/x" 2>/dev/null
	}
	for i in $(seq 0 29); do
		[ "$(curl_port $((41000 + i)))" = 200 ] && proxied=$((proxied + 1))
	done
	check "30 short proxied connections from ports 41000-41029" test "$proxied" = 30
	check "a proxied request to a path the rule does not allow is denied (so they went through the proxy)" \
		bash -c "[ \"\$(\"$WARDEN\" --socket \"$SOCK\" endpoint exec client -- curl -s -o /dev/null -w '%{http_code}' -m 3 -X POST http://$s/x)\" = 403 ]"
	# The client ports whose connection the proxy holds in TIME_WAIT (it
	# closed first; where the client closed first, the client holds it and
	# cannot bind that port again: not the proxy's doing).
	local ports
	ports=$(ss -Htan state time-wait "( sport = :80 and dst $c )" |
		awk -v s="$s:80" '$3 == s { n = split($4, a, ":"); print a[n] }' | sort -u)
	tw=$(echo "$ports" | grep -c .)
	check "the proxy holds their accepted sockets in TIME_WAIT ($tw)" test "$tw" -ge 10
	sed '/rules:/,$d' "$E2E_TMP/tw.yaml" >"$E2E_TMP/tw-l4.yaml"
	import "$E2E_TMP/tw-l4.yaml" || { fail "import the L4 policy"; return; }
	for i in $ports; do
		[ "$(curl_port "$i")" = 200 ] && ok=$((ok + 1))
	done
	check "L4 policy: new connections from those $tw ports all succeed ($ok)" test "$ok" = "$tw"
}
