# shellcheck shell=bash
# All-or-nothing under failure (issue 11): a test hook (wardend started
# with WARDEN_TEST_HOOKS=1, include/warden/fault.h) makes one step of a
# policy import or an endpoint create fail; the operation must then be
# refused, with the kernel's maps, the proxy's rules and the traffic as
# before (`warden bpf check` clean, `bpf policy get` unchanged).
# Uses l7_cast, http, http_is and curl_from of test_l7.sh.

# fault POINT NTH: arm a fault point (test.fault); prints how often the
# point has fired so far.
fault() {
	python3 - "$SOCK" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall((json.dumps({"cmd": "test.fault",
                       "args": {"point": sys.argv[2], "nth": int(sys.argv[3])}}) + "\n").encode())
answer = json.loads(s.makefile().readline())
if not answer.get("ok", "result" in answer):
    sys.exit("test.fault: %s" % answer)
print(answer["result"]["fired"])
PY
}

# The deathstar's L7 policy in force: empire ships may land (POST), nothing else.
faults_policy_a() {
	cat <<'YAML'
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
        - {method: POST, path: "/v1/request-landing"}
YAML
}

# The import that must not take: other L7 rules, the alliance let in, and
# a CIDR (an ipcache write).
faults_policy_b() {
	cat <<'YAML'
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
        - {method: PUT, path: "/v1/exhaust-port"}
  - fromEndpoints: [{matchLabels: {org: alliance}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
  - fromCIDR: [10.250.0.3/32]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: rule2
spec:
  endpointSelector:
    matchLabels: {org: alliance}
  egress:
  - toEndpoints: [{matchLabels: {org: empire, class: deathstar}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
YAML
}

# After a refused import: the same maps as before it, the kernel equal to
# the agent's view, and policy A still what the traffic sees.
faults_unchanged() { # what ds
	local what=$1 ds=$2
	W bpf policy get deathstar --json >"$E2E_TMP/bpf-after.json" 2>&1
	check "$what: the deathstar's map entries are as before" \
		cmp -s "$E2E_TMP/bpf-before.json" "$E2E_TMP/bpf-after.json"
	check "$what: warden bpf check is clean" W bpf check
	check "$what: policy list is as before" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy get --json | python3 -c 'import json,sys; l=json.load(sys.stdin); assert sorted(p[\"name\"] for p in l) == [\"rule1\"], l'"
	check "$what: landing still allowed (old L7 rules)" \
		http_is tiefighter 'Ship landed  200' POST "http://$ds/v1/request-landing"
	check "$what: exhaust port still 403 (the new rules did not take)" \
		http_is tiefighter 'Access denied  403' PUT "http://$ds/v1/exhaust-port"
	check_denied "$what: the xwing still denied at L3" \
		http_is tiefighter 'Ship landed  200' POST "http://$ds/v1/request-landing" -- \
		curl_from xwing -s -m 2 -XPOST "http://$ds/v1/request-landing"
}

# faults_refused POINT NTH DS: arm POINT, import B: it must be refused,
# the fault must have fired, and nothing may have changed.
faults_refused() {
	local point=$1 nth=$2 ds=$3 before after
	before=$(fault "$point" 0) || { fail "test.fault $point"; return; }
	fault "$point" "$nth" >/dev/null
	faults_policy_b >"$E2E_TMP/b.yaml"
	if W policy import "$E2E_TMP/b.yaml" >"$E2E_TMP/import.out" 2>&1; then
		fail "$point #$nth: the import succeeded although the fault was armed"
		fault "$point" 0 >/dev/null
		return
	fi
	after=$(fault "$point" 0)
	check "$point #$nth: the import was refused because of the injected failure" \
		test "$after" -eq $((before + 1))
	check "$point #$nth: the error says what failed" test -s "$E2E_TMP/import.out"
	sed 's/^/      /' "$E2E_TMP/import.out" | head -2
	faults_unchanged "$point #$nth" "$ds"
}

t_90_fault_import_rolls_back_whole() {
	l7_cast || return
	local ds; ds=$(ep_ip deathstar)
	faults_policy_a >"$E2E_TMP/a.yaml"
	import "$E2E_TMP/a.yaml" || { fail "import policy A"; return; }
	check "policy A: landing allowed" http_is tiefighter 'Ship landed  200' POST "http://$ds/v1/request-landing"
	W bpf policy get deathstar --json >"$E2E_TMP/bpf-before.json" 2>&1
	check "policy A: warden bpf check is clean" W bpf check
	# A map write early (the ipcache), later ones (policy entries), the
	# proxy's document not written, and the proxy refusing it.
	for nth in 1 2 3 5; do
		faults_refused map-write "$nth" "$ds"
	done
	faults_refused proxy-write 1 "$ds"
	faults_refused proxy-write 2 "$ds"
	faults_refused proxy-reject 1 "$ds"
	faults_refused proxy-reject 2 "$ds"
	# Positive control: without a fault the same import takes.
	check "unarmed, policy B imports" import "$E2E_TMP/b.yaml"
	check "policy B: exhaust port now allowed" \
		bash -c "[[ \"\$1\" == *' 200' ]]" _ "$(http tiefighter PUT "http://$ds/v1/exhaust-port")"
	check "policy B: the xwing now gets through" \
		bash -c "[[ \"\$1\" == *' 200' ]]" _ "$(http xwing POST "http://$ds/v1/request-landing")"
	check "policy B: warden bpf check is clean" W bpf check
}

# The endpoint namespaces of this agent (its prefix, lib.sh).
our_netns() { ip netns list | awk '{print $1}' | grep -cE "^${NETNS_PREFIX}[0-9]+\$"; }

t_91_fault_endpoint_create_all_or_nothing() {
	W endpoint create anchor --labels app=anchor >/dev/null || { fail "create anchor"; return; }
	local links_before ns_before before
	# Veths are this node's; namespace names are global: count ours.
	links_before=$(ip -o link show type veth 2>/dev/null | wc -l)
	ns_before=$(our_netns)
	# The 2nd `ip` step, and a map write of the endpoint's regeneration.
	for spec in netdev:2 netdev:5 map-write:2; do
		local point=${spec%%:*} nth=${spec##*:}
		before=$(fault "$point" 0) || { fail "test.fault $point"; return; }
		fault "$point" "$nth" >/dev/null
		if W endpoint create victim --labels app=victim >"$E2E_TMP/create.out" 2>&1; then
			fail "$spec: endpoint create succeeded although the fault was armed"
			fault "$point" 0 >/dev/null
			W endpoint delete victim >/dev/null 2>&1
			continue
		fi
		check "$spec: create refused because of the injected failure" \
			test "$(fault "$point" 0)" -eq $((before + 1))
		sed 's/^/      /' "$E2E_TMP/create.out" | head -2
		check "$spec: no endpoint left behind" bash -c \
			"! \"$WARDEN\" --socket \"$SOCK\" endpoint get victim >/dev/null 2>&1"
		check "$spec: no veth left behind" test "$(ip -o link show type veth 2>/dev/null | wc -l)" -eq "$links_before"
		check "$spec: no namespace left behind" test "$(our_netns)" -eq "$ns_before"
		check "$spec: warden bpf check is clean" W bpf check
	done
	check "unarmed, the same endpoint is created" W endpoint create victim --labels app=victim
	check "and warden bpf check is clean" W bpf check
}

# policy_used -> entries in warden_policy, as `status` counts them.
policy_used() {
	W status --json | python3 -c 'import json,sys
print([m["used"] for m in json.load(sys.stdin)["datapath"]["maps"] if m["name"] == "warden_policy"][0])'
}
# ports_policy FIRST COUNT: cap-b may reach cap-a on COUNT TCP ports from FIRST.
ports_policy() {
	local p
	printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: cap}\n'
	printf 'spec:\n  endpointSelector: {matchLabels: {app: cap-a}}\n  ingress:\n'
	printf '  - fromEndpoints: [{matchLabels: {app: cap-b}}]\n    toPorts:\n    - ports:\n'
	for p in $(seq "$1" $(($1 + $2 - 1))); do
		printf '      - {port: "%d", protocol: TCP}\n' "$p"
	done
}

# The policy map at N-1, N and N+1 entries (an agent whose warden_policy
# holds CAP entries): N-1 and N import, N+1 is refused whole, naming the
# map; a full map's whole set can still be replaced by another.
t_92_policy_map_capacity() {
	stop_agent
	if WARDEN_TEST_MAP_MAX="warden_policy=40" start_agent; then
		capacity_checks 40
	else
		fail "agent with warden_policy=40"
	fi
	reset_state
	stop_agent
	WARDEN_TEST_MAP_MAX='' start_agent || fail "agent restarted with full-size maps"
}

capacity_checks() { # CAP
	local cap=$1 u1 u2 base
	if ! W endpoint create cap-a --labels app=cap-a >/dev/null ||
		! W endpoint create cap-b --labels app=cap-b >/dev/null; then
		fail "create cap-a, cap-b"
		return
	fi
	ports_policy 8000 1 | import - || { fail "import 1 port"; return; }
	u1=$(policy_used)
	ports_policy 8000 2 | import - || { fail "import 2 ports"; return; }
	u2=$(policy_used)
	check "the test's premise: one port is one entry ($u1 -> $u2)" test $((u2 - u1)) -eq 1
	base=$((u1 - 1))
	ports_policy 8000 $((cap - 1 - base)) >"$E2E_TMP/n-1.yaml"
	ports_policy 8000 $((cap - base)) >"$E2E_TMP/n.yaml"
	ports_policy 8000 $((cap + 1 - base)) >"$E2E_TMP/n+1.yaml"
	ports_policy 9000 $((cap - base)) >"$E2E_TMP/n-other.yaml"
	check "N-1: $((cap - 1)) entries import" W policy import "$E2E_TMP/n-1.yaml"
	check "N-1: the map holds $((cap - 1))" test "$(policy_used)" -eq $((cap - 1))
	check "N-1: warden bpf check is clean" W bpf check
	check "N: $cap entries import" W policy import "$E2E_TMP/n.yaml"
	check "N: the map holds $cap" test "$(policy_used)" -eq "$cap"
	check "N: warden bpf check is clean" W bpf check
	W bpf policy get cap-a --json >"$E2E_TMP/cap-before.json" 2>&1
	check "N+1: refused, naming the map" bash -c \
		"! \"\$0\" --socket \"\$1\" policy import \"\$2\" >\"\$3\" 2>&1 && grep -q 'warden_policy is full' \"\$3\"" \
		"$WARDEN" "$SOCK" "$E2E_TMP/n+1.yaml" "$E2E_TMP/cap.out"
	sed 's/^/      /' "$E2E_TMP/cap.out" | head -2
	W bpf policy get cap-a --json >"$E2E_TMP/cap-after.json" 2>&1
	check "N+1: nothing changed (the same entries, still $cap)" bash -c \
		"cmp -s \"\$0\" \"\$1\" && test \"\$2\" -eq $cap" \
		"$E2E_TMP/cap-before.json" "$E2E_TMP/cap-after.json" "$(policy_used)"
	check "N+1: warden bpf check is clean" W bpf check
	# A full map, every port replaced: no room for old and new at once.
	check "N: a full map's whole set replaced by another of $cap" W policy import "$E2E_TMP/n-other.yaml"
	check "N: the map holds $cap, the new ports" bash -c \
		"test \"\$0\" -eq $cap && \"\$1\" --socket \"\$2\" bpf policy get cap-a | grep -q ' 9000 ' && ! \"\$1\" --socket \"\$2\" bpf policy get cap-a | grep -q ' 8000 '" \
		"$(policy_used)" "$WARDEN" "$SOCK"
	check "N: warden bpf check is clean" W bpf check
}
