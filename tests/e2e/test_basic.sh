# shellcheck shell=bash
# Basics: no policy allows everything; the Star Wars L3/L4 file; bad input.

# The three ships, the deathstar's TCP server on 80. On failure the test
# has failed (saying what) and stops: starwars_cast || return
starwars_cast() {
	W endpoint create deathstar --labels org=empire,class=deathstar >/dev/null &&
	W endpoint create tiefighter --labels org=empire,class=tiefighter >/dev/null &&
	W endpoint create xwing --labels org=alliance,class=xwing >/dev/null ||
		{ fail "create the deathstar, tiefighter and xwing endpoints"; return 1; }
	serve_tcp deathstar 80
}

t_01_no_policy_allows_tcp_udp_icmp() {
	starwars_cast || return
	serve_udp deathstar 53 || return
	local ds
	ds=$(ep_ip deathstar)
	check "tiefighter -> deathstar TCP/80" tcp_ok tiefighter "$ds" 80
	check "xwing -> deathstar TCP/80" tcp_ok xwing "$ds" 80
	check "xwing -> deathstar UDP/53" udp_ok xwing "$ds" 53
	check "xwing -> deathstar ICMP echo" ping_ok xwing "$ds"
	check "host -> deathstar TCP/80" bash -c "[ \"\$(timeout 3 socat -T2 - TCP:$ds:80 </dev/null)\" = pong ]"
	check "endpoint get --json has the contract keys" bash -c "W() { \"$WARDEN\" --socket \"$SOCK\" \"\$@\"; }; W endpoint get deathstar --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
for k in (\"id\",\"name\",\"namespace\",\"ipv4\",\"identity\",\"labels\"): assert k in d, k
assert d[\"policy_enforcement\"] == {\"ingress\": False, \"egress\": False}, d[\"policy_enforcement\"]
assert \"k8s:org=empire\" in d[\"labels\"] and \"k8s:io.kubernetes.pod.namespace=default\" in d[\"labels\"], d[\"labels\"]
assert d[\"identity\"] >= 256
'"
}

t_02_starwars_l3_l4_file_unchanged() {
	need_corpus || return
	starwars_cast || return
	local ds
	ds=$(ep_ip deathstar)
	check "import Cilium's sw_l3_l4_policy.yaml unchanged" import "$CORPUS/cilium/minikube/sw_l3_l4_policy.yaml"
	check "tiefighter lands (TCP/80 allowed)" tcp_ok tiefighter "$ds" 80
	check_denied "xwing times out (TCP/80 dropped)" \
		tcp_ok tiefighter "$ds" 80 -- tcp_ok xwing "$ds" 80
	check_denied "tiefighter's ICMP echo (not TCP/80) is dropped" \
		host_ping_ok "$ds" -- ping_ok tiefighter "$ds"
	check "deathstar ingress enforcement on" bash -c "\"$WARDEN\" --socket \"$SOCK\" endpoint get deathstar --json | grep -q '\"ingress\": *true'"
	check "xwing drop is counted in status" bash -c "\"$WARDEN\" --socket \"$SOCK\" status --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"drops\"] > 0'"
	check "bpf policy get shows the compiled allow" bash -c "\"$WARDEN\" --socket \"$SOCK\" bpf policy get deathstar | grep -i allow | grep -q 80"
}

t_03_bad_input_changes_nothing() {
	need_corpus || return
	starwars_cast || return
	local ds before after
	ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_policy.yaml" || { fail "import"; return; }
	before=$(W policy get --json)
	cat >"$E2E_TMP/bad.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-all-good
spec:
  endpointSelector: {}
  ingress:
  - fromEntities: [all]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: broken
spec:
  endpointSelector:
    matchLabels:
      org: empire
  ingress:
  - toPorts:
    - ports:
      - port: "70000"
YAML
	W policy import "$E2E_TMP/bad.yaml" >"$E2E_TMP/err" 2>&1
	check "import of a file with an invalid document fails" test $? -ne 0
	check "the error names file, line and field" grep -Eq "bad.yaml:2[0-9].*port" "$E2E_TMP/err"
	after=$(W policy get --json)
	check "policy set unchanged after the failed import" test "$before" = "$after"
	check_denied "xwing still blocked (the valid first document was not applied)" \
		tcp_ok tiefighter "$ds" 80 -- tcp_ok xwing "$ds" 80
	# Refusals name their reason: a refusal for another reason (a crash, a
	# bad option) is not the one tested.
	check "a second agent refuses to start on the same state dir, saying it runs" bash -c \
		"! timeout 5 \"$WARDEND\" --state-dir \"$E2E_TMP/state\" --socket \"$E2E_TMP/other.sock\" >\"$E2E_TMP/second.log\" 2>&1 &&
		 grep -q 'wardend is already running' \"$E2E_TMP/second.log\""
	check "duplicate endpoint name is refused as such" bash -c \
		"! \"$WARDEN\" --socket \"$SOCK\" endpoint create xwing --labels a=b 2>\"$E2E_TMP/dup.err\" &&
		 grep -q 'default/xwing already exists' \"$E2E_TMP/dup.err\""
	check "invalid label is refused, naming it" bash -c \
		"! \"$WARDEN\" --socket \"$SOCK\" endpoint create other --labels 'bad key=x' 2>\"$E2E_TMP/label.err\" &&
		 grep -q 'bad key' \"$E2E_TMP/label.err\""
	check_denied "no endpoint was left behind by the refused creations" \
		W endpoint get xwing -- W endpoint get other
	check "policy validate names an unsupported feature and its field" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy validate \"$CORPUS/cilium/policies/l7/kafka/kafka.yaml\" 2>&1 | grep -q 'rules.kafka: Kafka rules are not supported yet'"
}

t_04_policy_delete_restores_access() {
	need_corpus || return
	starwars_cast || return
	local ds
	ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_policy.yaml" || { fail "import"; return; }
	check_denied "xwing blocked" tcp_ok tiefighter "$ds" 80 -- tcp_ok xwing "$ds" 80
	check "policy delete" W policy delete rule1
	check "xwing reaches the deathstar again" tcp_ok xwing "$ds" 80
	check "enforcement off again" bash -c "\"$WARDEN\" --socket \"$SOCK\" endpoint get deathstar --json | grep -q '\"ingress\": *false'"
}

t_05_monitor_shows_drops() {
	need_corpus || return
	starwars_cast || return
	local ds; ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_policy.yaml" || { fail "import"; return; }
	W monitor --json >"$E2E_TMP/monitor.json" 2>&1 &
	local mon=$!
	W monitor >"$E2E_TMP/monitor.txt" 2>&1 &
	local mon2=$!
	sleep 1
	tcp_ok xwing "$ds" 80
	tcp_ok tiefighter "$ds" 80
	sleep 0.5
	kill "$mon" "$mon2" 2>/dev/null; wait "$mon" "$mon2" 2>/dev/null
	check "monitor --json: the xwing's SYN dropped at the deathstar, with identities and labels" python3 - "$E2E_TMP/monitor.json" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
drops = [e for e in events if e["type"] == "drop"]
assert drops, events
d = drops[0]
assert d["verdict"] == "DROPPED" and d["reason"] == "Policy denied", d
assert d["source"]["endpoint"] == "default/xwing" and "k8s:org=alliance" in d["source"]["labels"], d
assert d["destination"]["endpoint"] == "default/deathstar" and d["destination"]["port"] == 80, d
assert d["direction"] == "ingress" and "SYN" in d["tcp_flags"], d
assert d["policy"] == "default deny", d
ok = [e for e in events if e["type"] == "policy-verdict" and e["endpoint"] == "default/deathstar"
      and e["source"]["endpoint"] == "default/tiefighter"]
assert ok and ok[0]["policy"] == "default/rule1", ok
PY
	check "monitor (human): one line per drop naming xwing and deathstar" grep -q "xwing.*deathstar.*DROPPED" "$E2E_TMP/monitor.txt"
}

t_06_monitor_history_and_filters() {
	need_corpus || return
	starwars_cast || return
	local ds; ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_policy.yaml" || { fail "import"; return; }
	tcp_ok xwing "$ds" 80
	tcp_ok tiefighter "$ds" 80
	sleep 0.3
	W monitor --last 100 >"$E2E_TMP/last.txt" 2>&1
	check "--last replays the history and stops" grep -q "xwing.*DROPPED" "$E2E_TMP/last.txt"
	W monitor --last 100 --from xwing --verdict DROPPED >"$E2E_TMP/f1.txt" 2>&1
	check "--from xwing --verdict DROPPED: only the xwing's drops" bash -c \
		"[ -s '$E2E_TMP/f1.txt' ] && ! grep -v 'default/xwing).*DROPPED' '$E2E_TMP/f1.txt'"
	W monitor --last 100 --from org=empire --to class=deathstar --verdict FORWARDED -o json >"$E2E_TMP/f2.json" 2>&1
	check "label selectors and -o json: empire ships to the deathstar, forwarded" python3 - "$E2E_TMP/f2.json" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert events, "no events"
for e in events:
    assert "k8s:org=empire" in e["source"]["labels"], e
    assert e["destination"]["endpoint"] == "default/deathstar", e
    assert e["verdict"] == "FORWARDED", e
PY
	W monitor --last 100 --type drop --namespace other >"$E2E_TMP/f3.txt" 2>&1
	check_controlled "--namespace other: nothing (--namespace default: the drops)" \
		bash -c "\"$WARDEN\" --socket \"$SOCK\" monitor --last 100 --type drop --namespace default | grep -q DROPPED" \
		-- test ! -s "$E2E_TMP/f3.txt"
	check_denied "an unknown --type is a usage error" \
		W monitor --type drop --last 1 -- W monitor --type bogus --last 1
}
