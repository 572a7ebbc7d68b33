# shellcheck shell=bash
# Audit mode (per policy, per endpoint) and reject responses, with the
# exact policy names the monitor attributes to each flow.

MODES_TOOLS=$(dirname "${BASH_SOURCE[0]}")/tools

# probe FROM TIMEOUT CASE... -> "CASE RESULT MS" lines (tools/flowprobe.py)
probe() {
	local from=$1 timeout=$2
	shift 2
	W endpoint exec "$from" -- python3 "$MODES_TOOLS/flowprobe.py" probe "$timeout" "$@"
}
# probe_result FROM CASE -> ok | refused | timeout | error:...
probe_result() { probe "$1" 2 "$2" | awk '{print $2}'; }
# probe_is FROM CASE RESULT: FROM is "host" or an endpoint
probe_is() {
	local got
	if [ "$1" = host ]; then
		got=$(python3 "$MODES_TOOLS/flowprobe.py" probe 2 "$2" | awk '{print $2}')
	else
		got=$(probe_result "$1" "$2")
	fi
	[ "$got" = "$3" ] || { echo "$1 -> $2: $got, not $3"; return 1; }
}

# The deathstar serving TCP 80, 81 and UDP 53, two ships. On failure the
# test has failed (saying what) and stops: modes_cast || return
modes_cast() {
	W endpoint create deathstar --labels org=empire,class=deathstar >/dev/null &&
	W endpoint create tiefighter --labels org=empire,class=tiefighter >/dev/null &&
	W endpoint create xwing --labels org=alliance,class=xwing >/dev/null ||
		{ fail "create the deathstar, tiefighter and xwing endpoints"; return 1; }
	W endpoint exec deathstar -- python3 "$MODES_TOOLS/flowprobe.py" serve 80,81 53 >/dev/null 2>&1 &
	wait_listen deathstar 80 && wait_listen deathstar 81 && wait_listen deathstar 53/udp
}

# mark_start: events_json only returns events after this point
mark_start() { MODES_T0=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ); }
# events_json FILE: the monitor history since mark_start, as JSON lines
events_json() {
	W monitor --last 4096 -o json 2>&1 |
		python3 -c 'import json,sys
for l in sys.stdin:
    if l.startswith("{") and json.loads(l)["time"] >= sys.argv[1]: sys.stdout.write(l)' "$MODES_T0" >"$1"
}

t_80_audit_policy_forwards_and_names_itself() {
	mark_start
	modes_cast || return
	local ds; ds=$(ep_ip deathstar)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: lockdown
  annotations:
    policy.warden.io/audit-mode: "true"
spec:
  endpointSelector: {matchLabels: {class: deathstar}}
  ingress:
  - fromEndpoints: [{matchLabels: {org: empire}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
YAML
	check "audit: the xwing (not allowed by the audited policy) still connects" \
		test "$(probe_result xwing "$ds:80/tcp")" = ok
	check "audit: the tiefighter connects" test "$(probe_result tiefighter "$ds:80/tcp")" = ok
	sleep 0.3
	events_json "$E2E_TMP/ev.json"
	check "the xwing's flow is AUDIT, 'Policy denied', naming default/lockdown" python3 - "$E2E_TMP/ev.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
a = [e for e in ev if e["verdict"] == "AUDIT" and e["source"]["endpoint"] == "default/xwing"]
assert a, ev
assert a[0]["policy"] == "default/lockdown" and a[0]["reason"] == "Policy denied", a[0]
assert a[0]["destination"]["endpoint"] == "default/deathstar" and a[0]["direction"] == "ingress", a[0]
t = [e for e in ev if e["source"]["endpoint"] == "default/tiefighter" and e["endpoint"] == "default/deathstar"]
assert t and all(e["verdict"] == "FORWARDED" for e in t), t
PY
	check "trace says AUDIT for the xwing, naming the policy" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy trace --from xwing --to deathstar --dport 80/tcp --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"verdict\"]==\"AUDIT\" and d[\"steps\"][-1][\"policy\"]==\"default/lockdown\", d'"

	# An enforced policy allows every peer on 80; an audited deny singles
	# out the xwing: forwarded, reported with the deny's policy.
	import - <<'YAML' || { fail "import 2"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: lockdown
  annotations:
    policy.warden.io/audit-mode: "true"
spec:
  endpointSelector: {matchLabels: {class: deathstar}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {org: alliance}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web
spec:
  endpointSelector: {matchLabels: {class: deathstar}}
  ingress:
  - toPorts: [{ports: [{port: "80", protocol: TCP}]}]
YAML
	mark_start
	check "enforced allow + audited deny: xwing connects on 80" test "$(probe_result xwing "$ds:80/tcp")" = ok
	check_controlled "enforced default deny still holds on 81 (DROPPED, not audited)" \
		probe_is host "$ds:81/tcp" ok -- probe_is xwing "$ds:81/tcp" timeout
	sleep 0.3
	events_json "$E2E_TMP/ev2.json"
	check "80: AUDIT 'Policy denied by denylist' by default/lockdown; 81: DROPPED by default deny" python3 - "$E2E_TMP/ev2.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
x = [e for e in ev if e["source"]["endpoint"] == "default/xwing"]
a80 = [e for e in x if e["destination"]["port"] == 80 and e["verdict"] == "AUDIT"
       and e["reason"] == "Policy denied by denylist"]
assert a80 and a80[-1]["policy"] == "default/lockdown", x
d81 = [e for e in x if e["destination"]["port"] == 81 and e["endpoint"] == "default/deathstar"]
assert d81 and all(e["verdict"] == "DROPPED" and e["policy"] == "default deny" for e in d81), d81
PY
	# Switching audit off on the policy enforces it.
	sed 's/"true"/"false"/' >"$E2E_TMP/enforce.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: lockdown
  annotations:
    policy.warden.io/audit-mode: "true"
spec:
  endpointSelector: {matchLabels: {class: deathstar}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {org: alliance}}]
YAML
	import "$E2E_TMP/enforce.yaml" || { fail "import 3"; return; }
	check_controlled "audit off: the xwing is dropped (the tiefighter still connects)" \
		probe_is tiefighter "$ds:80/tcp" ok -- probe_is xwing "$ds:80/tcp" timeout
	cat >"$E2E_TMP/typo.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: typo
  annotations:
    policy.warden.io/audit: "true"
spec:
  endpointSelector: {}
YAML
	sed 's|policy.warden.io/audit:|policy.warden.io/audit-mode:|' "$E2E_TMP/typo.yaml" >"$E2E_TMP/spelt.yaml"
	check_denied "a misspelt Warden annotation is refused (spelt right, it validates)" \
		W policy validate "$E2E_TMP/spelt.yaml" -- W policy validate "$E2E_TMP/typo.yaml"
	check "the refusal names the unknown annotation" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy validate \"$E2E_TMP/typo.yaml\" 2>&1 | grep -q 'unknown Warden annotation'"
}

t_81_endpoint_audit_mode() {
	need_corpus || return
	mark_start
	modes_cast || return
	local ds; ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_policy.yaml" || { fail "import"; return; }
	check_controlled "enforced: the xwing is dropped (the tiefighter connects)" \
		probe_is tiefighter "$ds:80/tcp" ok -- probe_is xwing "$ds:80/tcp" timeout
	check "endpoint config deathstar audit=on" W endpoint config deathstar audit=on
	check "endpoint get shows audit: true" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" endpoint get deathstar --json | grep -q '\"audit\": *true'"
	check "audit mode: the xwing connects" test "$(probe_result xwing "$ds:80/tcp")" = ok
	check "audit mode: UDP too" test "$(probe_result xwing "$ds:53/udp")" = ok
	sleep 0.3
	events_json "$E2E_TMP/ev.json"
	check "AUDIT events name the default deny of the deathstar's ingress" python3 - "$E2E_TMP/ev.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
a = [e for e in ev if e["verdict"] == "AUDIT" and e["source"]["endpoint"] == "default/xwing"]
assert {e["protocol"] for e in a} >= {"TCP", "UDP"}, a
assert all(e["policy"] == "default deny" and e["reason"] == "Policy denied" for e in a), a
PY
	W monitor --last 4096 --verdict AUDIT >"$E2E_TMP/audit.txt" 2>&1
	check "monitor --verdict AUDIT prints them (compact)" grep -q "xwing.*deathstar.*AUDIT" "$E2E_TMP/audit.txt"
	check "PolicyAuditMode=Disabled (Cilium's spelling) turns it off" W endpoint config deathstar PolicyAuditMode=Disabled
	check_controlled "enforced again: the xwing is dropped (the tiefighter connects)" \
		probe_is tiefighter "$ds:80/tcp" ok -- probe_is xwing "$ds:80/tcp" timeout
	check_denied "an unknown option value is refused (audit=off is accepted)" \
		W endpoint config deathstar audit=off -- W endpoint config deathstar audit=maybe
}

t_82_reject_answers_fast() {
	mark_start
	modes_cast || return
	local ds; ds=$(ep_ip deathstar)
	W endpoint exec xwing -- python3 "$MODES_TOOLS/flowprobe.py" serve 80 53 >/dev/null 2>&1 &
	wait_listen xwing 80 || return
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: deathstar-reject
  annotations:
    policy.warden.io/deny-response: reject
spec:
  endpointSelector: {matchLabels: {class: deathstar}}
  ingress:
  - fromEndpoints: [{matchLabels: {org: empire}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: xwing-egress
  annotations:
    policy.warden.io/deny-response: reject
spec:
  endpointSelector: {matchLabels: {class: xwing}}
  ingress:   # default deny on the xwing's ingress too: answers come back as related
  - fromEndpoints: [{matchLabels: {class: tiefighter}}]
  egress:
  - toPorts: [{ports: [{port: "80", protocol: TCP}, {port: "53", protocol: UDP}]}]
  egressDeny:
  - toEndpoints: [{matchLabels: {class: tiefighter}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: tiefighter-drop
spec:
  endpointSelector: {matchLabels: {class: tiefighter}}
  ingress:
  - fromEndpoints: [{matchLabels: {org: empire}}]
YAML
	probe xwing 3 "$ds:80/tcp" "$ds:53/udp" "$ds:81/tcp" >"$E2E_TMP/p1.txt"
	cat "$E2E_TMP/p1.txt" | sed 's/^/      /'
	# A server that is not there also answers with a RST or an ICMP port
	# unreachable: each control shows the same server answering an
	# allowed peer, so "refused" is the policy's.
	check_controlled "ingress reject: TCP gets a RST at once (refused in < 500 ms)" \
		probe_is tiefighter "$ds:80/tcp" ok -- \
		awk -v c="$ds:80/tcp" '$1==c && $2=="refused" && $3<500 {f=1} END {exit !f}' "$E2E_TMP/p1.txt"
	check_controlled "ingress reject: UDP gets ICMP unreachable at once (related, though the xwing's ingress is default deny)" \
		probe_is tiefighter "$ds:53/udp" ok -- \
		awk -v c="$ds:53/udp" '$1==c && $2=="refused" && $3<500 {f=1} END {exit !f}' "$E2E_TMP/p1.txt"
	check_controlled "egress reject at the xwing's own hook (port 81 not allowed)" \
		probe_is tiefighter "$ds:81/tcp" ok -- \
		awk -v c="$ds:81/tcp" '$1==c && $2=="refused" && $3<500 {f=1} END {exit !f}' "$E2E_TMP/p1.txt"
	check "ping gets 'Packet filtered' (ICMP admin prohibited)" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" endpoint exec xwing -- ping -c1 -W2 $ds | grep -qi 'filtered'"
	local tf; tf=$(ep_ip tiefighter)
	serve_tcp tiefighter 80 || return
	check_controlled "egress deny of a reject policy: RST too (the deathstar reaches that server)" \
		probe_is deathstar "$tf:80/tcp" ok -- probe_is xwing "$tf:80/tcp" refused
	check_controlled "a policy without the annotation drops silently (agent default): world -> tiefighter times out" \
		probe_is deathstar "$tf:80/tcp" ok -- \
		test "$(world python3 "$MODES_TOOLS/flowprobe.py" probe 1 "$tf:80/tcp" | awk '{print $2}')" = timeout
	check "allowed traffic is untouched" test "$(probe_result tiefighter "$ds:80/tcp")" = ok
	sleep 0.3
	events_json "$E2E_TMP/ev.json"
	check "the drop events say response reject and name the policy" python3 - "$E2E_TMP/ev.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
d = [e for e in ev if e["verdict"] == "DROPPED" and e["endpoint"] == "default/deathstar"]
assert d and all(e["response"] == "reject" for e in d), d
e = [e for e in ev if e["verdict"] == "DROPPED" and e["endpoint"] == "default/xwing"]
assert e and all(x["response"] == "reject" for x in e), e
assert any(x["policy"] == "default/xwing-egress" and x["reason"] == "Policy denied by denylist" for x in e), e
PY
	W monitor --last 4096 --type drop >"$E2E_TMP/drops.txt" 2>&1
	check "compact monitor line says response=reject" grep -q "DROPPED.*response=reject" "$E2E_TMP/drops.txt"
}

t_83_agent_wide_reject() {
	need_corpus || return
	stop_agent
	WARDEND_ARGS="--deny-response reject" start_agent || { fail "agent with --deny-response reject"; return; }
	mark_start
	modes_cast || return
	local ds; ds=$(ep_ip deathstar)
	check "status reports the deny response" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" status | grep -q 'Deny response.*reject'"
	import "$CORPUS/cilium/minikube/sw_l3_l4_policy.yaml" || { fail "import"; return; }
	check_controlled "agent-wide reject: the xwing gets a RST (the tiefighter connects)" \
		probe_is tiefighter "$ds:80/tcp" ok -- probe_is xwing "$ds:80/tcp" refused
	import - <<'YAML' || { fail "import drop"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: rule1
  annotations:
    policy.warden.io/deny-response: drop
spec:
  endpointSelector: {matchLabels: {org: empire, class: deathstar}}
  ingress:
  - fromEndpoints: [{matchLabels: {org: empire}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
YAML
	check_controlled "a policy's drop annotation overrides the agent's reject (the tiefighter connects)" \
		probe_is tiefighter "$ds:80/tcp" ok -- probe_is xwing "$ds:80/tcp" timeout
	check "wardend refuses an unknown --deny-response, naming it" bash -c \
		"! timeout 5 \"$WARDEND\" --deny-response icmp >\"$E2E_TMP/dr.log\" 2>&1 &&
		 grep -q \"deny-response takes drop or reject, not 'icmp'\" \"$E2E_TMP/dr.log\""
	reset_state
	stop_agent
	WARDEND_ARGS= start_agent || fail "agent restarted with defaults"
}

# Events name the policy that decided them also after other policies (or
# that one) are deleted: policies keep one id for their rule cookies.
t_84_policy_names_survive_deletes() {
	mark_start
	modes_cast || return
	local ds; ds=$(ep_ip deathstar)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: first
spec:
  endpointSelector: {matchLabels: {class: xwing}}
  ingress:
  - fromEndpoints: [{matchLabels: {org: empire}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: second
spec:
  endpointSelector: {matchLabels: {class: deathstar}}
  ingress:
  - fromEndpoints: [{matchLabels: {class: tiefighter}}]
YAML
	check "tiefighter -> deathstar allowed by 'second'" test "$(probe_result tiefighter "$ds:80/tcp")" = ok
	W policy delete first >/dev/null
	sleep 0.2
	events_json "$E2E_TMP/ev1.json"
	check "after deleting 'first', the flow still names default/second" python3 - "$E2E_TMP/ev1.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
v = [e for e in ev if e["endpoint"] == "default/deathstar" and e["verdict"] == "FORWARDED"]
assert v and all(e["policy"] == "default/second" for e in v), v
PY
	W policy delete second >/dev/null
	events_json "$E2E_TMP/ev2.json"
	check "after deleting 'second' too, it is named 'default/second (deleted)'" python3 - "$E2E_TMP/ev2.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
v = [e for e in ev if e["endpoint"] == "default/deathstar" and e["verdict"] == "FORWARDED"]
assert v and all(e["policy"] == "default/second (deleted)" for e in v), v
PY
	import - <<'YAML' || { fail "import again"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: third
spec:
  endpointSelector: {matchLabels: {class: deathstar}}
  ingress:
  - fromEndpoints: [{matchLabels: {class: tiefighter}}]
YAML
	events_json "$E2E_TMP/ev3.json"
	check "a new policy does not take over the old flow's name" python3 - "$E2E_TMP/ev3.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
v = [e for e in ev if e["endpoint"] == "default/deathstar" and e["verdict"] == "FORWARDED"]
assert v and all(e["policy"] == "default/second (deleted)" for e in v), v
PY
}
