#!/usr/bin/env bash
# The CNI protocol of warden-cni, invoked directly as a runtime would: the
# spec's CNI_* environment variables and the configuration on stdin.
#
#  1. What the plugin decides alone: VERSION, environment and configuration
#     errors with the spec's codes, version gates, the agent down (ADD: code
#     11 and nothing allocated, DEL: success, STATUS: 50).
#  2. The plugin against a scripted peer on its socket (tests/cni/
#     scripted_peer.py, not wardend): what it sends (identity from CNI_ARGS,
#     labels from the configuration, args.cni.labels and pod annotations) and
#     the result it prints per spec version, prevResult chaining, a refusal,
#     an agent that hangs up in the middle of an ADD.
#  3. Against the real agent (needs the agent side, docs/cni.md): real ADD/
#     CHECK/DEL in a namespace made here, idempotent DEL, ADD after a failed
#     ADD, 20 parallel ADDs, DEL after the agent restarted. Skipped, with the
#     reason, while wardend has no cni.* commands.
# Run as root under the agent lock (tests/cni/run.sh says how).
set -u
. "$(dirname "$0")/lib.sh"
PLUGIN=$BUILD/warden-cni
T=$(mktemp -d /tmp/warden-cni-proto.XXXXXX)
PEER_PID=
cleanup() {
	[ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT; [ -n "${CNI_DEBUG:-}" ] && trap - EXIT

# cni COMMAND CONFIG [VAR=VALUE...]: run the plugin; sets $out and $rc.
cni() {
	local cmd=$1 conf=$2
	shift 2
	out=$(printf '%s' "$conf" | env -i PATH="$PATH" CNI_COMMAND="$cmd" \
		CNI_CONTAINERID=${CID:-c0ffee01} CNI_NETNS=${NETNS:-/run/netns/none} \
		CNI_IFNAME=${IFNAME:-eth0} CNI_PATH=/usr/lib/cni "$@" "$PLUGIN" 2>"$T/stderr")
	rc=$?
}
jq_() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
code_is() { # expected code: the output is an error object with it, exit != 0
	[ "$rc" -ne 0 ] && [ "$(jq_ 'd.get("code")' <<<"$out" 2>/dev/null)" = "$1" ]
}
details_has() { jq_ 'd.get("details","")' <<<"$out" | grep -q -- "$1"; }

conf() { # version [extra JSON members]
	printf '{"cniVersion":"%s","name":"wnet","type":"warden-cni","socket":"%s"%s}' \
		"$1" "${SOCK:-$T/none.sock}" "${2:+,$2}"
}

[ -x "$PLUGIN" ] || { echo "build/warden-cni missing: run make"; echo "cni-protocol: 0 passed, 1 failed"; exit 1; }

echo "== what the plugin decides alone"
cni VERSION '{"cniVersion":"1.0.0"}'
check "VERSION echoes the asked version and lists 0.4.0 and 1.0.0" \
	test "$rc/$(jq_ 'd["cniVersion"]+" "+" ".join(d["supportedVersions"])' <<<"$out")" = \
	"0/1.0.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0"
cni VERSION ''
check "VERSION with empty stdin answers the latest (1.1.0)" \
	test "$rc/$(jq_ 'd["cniVersion"]' <<<"$out")" = "0/1.1.0"
out=$(printf '{}' | env -i "$PLUGIN" 2>/dev/null); rc=$?
check "no CNI_COMMAND: code 4" code_is 4
cni FROB "$(conf 1.0.0)"
check "unknown CNI_COMMAND: code 4 naming it" eval 'code_is 4 && details_has FROB'
out=$(printf '%s' "$(conf 1.0.0)" | env -i CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_IFNAME=eth0 "$PLUGIN" 2>/dev/null); rc=$?
check "ADD without CNI_NETNS: code 4 naming it" eval 'code_is 4 && details_has CNI_NETNS'
CID='-bad' cni ADD "$(conf 1.0.0)"
check "invalid CNI_CONTAINERID: code 4" eval 'code_is 4 && details_has CNI_CONTAINERID'
IFNAME=waytoolonginterfacename cni ADD "$(conf 1.0.0)"
check "CNI_IFNAME over 15 characters: code 4" eval 'code_is 4 && details_has CNI_IFNAME'
cni ADD '{"cniVersion":"1.0.0", "name":'
check "configuration that is not JSON: code 6" code_is 6
cni ADD '{"cniVersion":"1.0.0","type":"warden-cni"}'
check "no network name: code 7" eval 'code_is 7 && details_has "network name"'
cni ADD '{"cniVersion":"1.0.0","name":"wnet"}'
check "no plugin type: code 7" eval 'code_is 7 && details_has type'
cni ADD "$(conf 1.0.0 '"labels":{"app":"bad value!"}')"
check "invalid label value in \"labels\": code 7 naming the label" eval 'code_is 7 && details_has labels.app'
cni ADD "$(conf 1.0.0 '"namespace":"Not_A_Label"')"
check "invalid namespace: code 7" eval 'code_is 7 && details_has namespace'
cni ADD "$(SOCK=relative.sock conf 1.0.0)"
check "relative socket path: code 7" eval 'code_is 7 && details_has socket'
cni ADD "$(conf 1.0.0 '"ipam":{"type":"../x"}')"
check "ipam.type that is a path: code 7" eval 'code_is 7 && details_has ipam.type'
cni ADD "$(conf 1.0.0 '"timeout":0')"
check "timeout 0: code 7" eval 'code_is 7 && details_has timeout'
cni ADD "$(conf 0.2.0)"
check "cniVersion 0.2.0: code 1 listing what we support" eval 'code_is 1 && details_has "0.4.0"'
cni ADD "$(conf 2.0.0)"
check "cniVersion 2.0.0: code 1" code_is 1
cni ADD '{"name":"wnet","type":"warden-cni"}'
check "no cniVersion (0.1.0 by the spec): code 1" code_is 1
cni CHECK "$(conf 0.3.1 '"prevResult":{}')"
check "CHECK with cniVersion 0.3.1: code 1" eval 'code_is 1 && details_has CHECK'
cni GC "$(conf 1.0.0 '"cni.dev/valid-attachments":[]')"
check "GC with cniVersion 1.0.0: code 1" eval 'code_is 1 && details_has GC'
cni STATUS "$(conf 1.0.0)"
check "STATUS with cniVersion 1.0.0: code 1" eval 'code_is 1 && details_has STATUS'
cni GC "$(conf 1.1.0)"
check "GC without cni.dev/valid-attachments: code 7" eval 'code_is 7 && details_has valid-attachments'
cni CHECK "$(conf 1.0.0)"
check "CHECK without prevResult: code 7" eval 'code_is 7 && details_has prevResult'

echo "== the agent is down (nothing listens on the socket)"
cni ADD "$(conf 1.0.0)"
check "ADD: code 11 (try again later) naming the socket" eval 'code_is 11 && details_has none.sock'
# With an IPAM section: the plugin must not allocate when it cannot attach.
# Positive control first: host-local with this very configuration allocates.
ipam_conf=$(conf 1.0.0 "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.231.9.0/24\",\"dataDir\":\"$T/ipam\"}")
printf '%s' "$ipam_conf" | env -i CNI_COMMAND=ADD CNI_CONTAINERID=control CNI_NETNS=/run/netns/none \
	CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/host-local >"$T/control.out" 2>&1
check "control: host-local allocates a lease with this configuration" \
	eval 'grep -rq "^control" "$T/ipam/wnet" 2>/dev/null'
CID=c0ffee02 cni ADD "$ipam_conf"
check "ADD with IPAM while the agent is down: code 11 and no lease taken" \
	eval 'code_is 11 && ! grep -rq "^c0ffee02" "$T/ipam/wnet"'
cni DEL "$(conf 1.0.0)"
check "DEL: success, no output" test "$rc/$out" = "0/"
cni DEL "$(conf 1.0.0)"
check "DEL again: success" test "$rc" = 0
NETNS= cni DEL "$(conf 0.4.0)"
check "DEL without CNI_NETNS (namespace gone): success" test "$rc" = 0
cni CHECK "$(conf 1.0.0 '"prevResult":{"interfaces":[{"name":"eth0","sandbox":"/run/netns/none"}],"ips":[]}')"
check "CHECK: code 11" code_is 11
cni STATUS "$(conf 1.1.0)"
check "STATUS: code 50 (not available)" code_is 50
cni GC "$(conf 1.1.0 '"cni.dev/valid-attachments":[]')"
check "GC: code 11" code_is 11

echo "== against a scripted peer (the plugin's own logic, not the agent)"
start_peer() { # mode
	[ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
	rm -f "$T/peer.log"
	SOCK=$T/peer.sock
	python3 "$CNI_REPO/tests/cni/scripted_peer.py" "$SOCK" "$T/peer.log" "$1" >"$T/peer.out" 2>&1 &
	PEER_PID=$!
	for _ in $(seq 50); do grep -q ready "$T/peer.out" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
last_request() { tail -1 "$T/peer.log"; }
if start_peer ok; then
	CID=0123456789abcdef NETNS=/run/netns/cni-1 cni ADD \
		"$(conf 1.0.0 '"labels":{"tier":"web","app":"base"},"args":{"cni":{"labels":[{"key":"app","value":"shop"}]}},"runtimeConfig":{"io.kubernetes.cri.pod-annotations":{"labels.warden.io/role":"frontend","other":"x"}}')" \
		CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web.v2;K8S_POD_INFRA_CONTAINER_ID=0123'
	req=$(last_request)
	check "ADD sends cni.add with the attachment key" test "$(jq_ 'd["cmd"]+" "+d["args"]["container_id"]+" "+d["args"]["ifname"]+" "+d["args"]["netns"]+" "+d["args"]["network"]' <<<"$req")" = \
		"cni.add 0123456789abcdef eth0 /run/netns/cni-1 wnet"
	check "name and namespace from K8S_POD_NAME/K8S_POD_NAMESPACE (made DNS labels)" \
		test "$(jq_ 'd["args"]["namespace"]+"/"+d["args"]["name"]' <<<"$req")" = "shop/web-v2"
	check "labels: config, then args.cni.labels, then prefixed annotations win" \
		test "$(jq_ '",".join(sorted(d["args"]["labels"]))' <<<"$req")" = "app=shop,role=frontend,tier=web"
	check "1.0.0 result: interfaces with sandbox, ips with interface index, no ip version" \
		test "$rc/$(jq_ '"%s %s %s %s %s" % (d["cniVersion"], d["interfaces"][1]["sandbox"], d["ips"][0]["interface"], "version" in d["ips"][0], d["routes"][0]["dst"])' <<<"$out")" = \
		"0/1.0.0 /run/netns/cni-1 1 False 0.0.0.0/0"
	cni ADD "$(conf 0.4.0)"
	check "0.4.0 result: ips carry \"version\": \"4\"" \
		test "$rc/$(jq_ 'd["cniVersion"]+" "+d["ips"][0]["version"]' <<<"$out")" = "0/0.4.0 4"
	check "no K8S_POD_NAME: name cni-<container id>, namespace from the config" \
		test "$(last_request | jq_ 'd["args"]["namespace"]+"/"+d["args"]["name"]')" = "default/cni-c0ffee01"
	cni ADD "$(conf 1.0.0 '"namespace":"team-b","runtimeNamespace":false')" CNI_ARGS='K8S_POD_NAMESPACE=web;K8S_POD_NAME=web'
	check "\"runtimeNamespace\": false ignores K8S_POD_NAMESPACE" \
		test "$(last_request | jq_ 'd["args"]["namespace"]+"/"+d["args"]["name"]')" = "team-b/web"
	IFNAME=net1 cni ADD "$(conf 1.0.0 '"namespace":"team-a"')" CNI_ARGS='K8S_POD_NAME=db'
	check "a second interface gets NAME-IFNAME" \
		test "$(last_request | jq_ 'd["args"]["namespace"]+"/"+d["args"]["name"]')" = "team-a/db-net1"
	cni ADD "$(conf 1.0.0 '"prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"lo0"},{"name":"x","sandbox":"/s"}],"ips":[{"address":"192.0.2.5/24","interface":1}],"routes":[],"dns":{"nameservers":["192.0.2.53"]}}')"
	check "chained after prevResult: its entries kept, ours appended, index moved by 2" \
		test "$(jq_ '"%d %s %d %d %s" % (len(d["interfaces"]), d["ips"][0]["address"], d["ips"][0]["interface"], d["ips"][1]["interface"], d["dns"]["nameservers"][0])' <<<"$out")" = \
		"4 192.0.2.5/24 1 3 192.0.2.53"
	cni DEL "$(conf 1.0.0)"
	check "DEL sends cni.del with container id and ifname, exits 0" \
		test "$rc/$(last_request | jq_ 'd["cmd"]+" "+d["args"]["container_id"]+" "+d["args"]["ifname"]')" = "0/cni.del c0ffee01 eth0"
	cni CHECK "$(conf 1.0.0 '"prevResult":{"interfaces":[{"name":"h"},{"name":"eth0","sandbox":"/run/netns/none"}],"ips":[{"address":"10.200.0.7/32","interface":1},{"address":"192.0.2.1/24","interface":0}]}')"
	check "CHECK sends cni.check with our interface's addresses only" \
		test "$rc/$(last_request | jq_ 'd["cmd"]+" "+",".join(d["args"]["ips"])')" = "0/cni.check 10.200.0.7/32"
	cni CHECK "$(conf 1.0.0 '"prevResult":{"interfaces":[{"name":"eth1","sandbox":"/run/netns/none"}],"ips":[]}')"
	check "CHECK when prevResult lacks our interface: code 101" code_is 101
	cni GC "$(conf 1.1.0 '"cni.dev/valid-attachments":[{"containerID":"a1","ifname":"eth0"}]')"
	check "GC sends cni.gc with the valid attachments" \
		test "$rc/$(last_request | jq_ 'd["cmd"]+" "+d["args"]["network"]+" "+d["args"]["valid"][0]["container_id"]')" = "0/cni.gc wnet a1"
	cni STATUS "$(conf 1.1.0)"
	check "STATUS with the agent answering: exit 0" test "$rc" = 0
else
	fail "scripted peer did not start: $(cat "$T/peer.out")"
fi
if start_peer refuse; then
	cni ADD "$(conf 1.0.0)"
	check "the agent refuses ADD: code 100 with its message" eval 'code_is 100 && details_has "scripted refusal"'
	cni DEL "$(conf 1.0.0)"
	check "the agent refuses DEL (malformed): code 100, not a silent success" code_is 100
fi
if start_peer hangup; then
	cni ADD "$(conf 1.0.0)"
	check "the agent hangs up during ADD: code 11, and the plugin asks for cni.del" \
		eval 'code_is 11 && tail -1 "$T/peer.log" | grep -q cni.del'
fi
SOCK=

echo "== against the real agent"
if ! grep -qa '"cni.add"\|cni\.add' "$BUILD/wardend" 2>/dev/null; then
	for t in "ADD/CHECK/DEL in a namespace made here" "DEL twice" "DEL after the namespace is gone" \
		"DEL after the agent is gone" "ADD after a failed ADD" "20 parallel ADDs" \
		"DEL after an agent restart" "GC removes attachments not listed"; do
		skip "$t: wardend has no cni.* commands yet (agent side: docs/cni.md)"
	done
else
	. "$(dirname "$0")/agent_checks.sh"
fi

echo "cni-protocol: $cni_pass passed, $cni_fail failed, $cni_skip skipped"
[ "$cni_fail" -eq 0 ]
