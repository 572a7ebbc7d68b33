# shellcheck shell=bash
# Sourced by test_protocol.sh when wardend has the cni.* commands: the
# protocol against the real agent, in network namespaces made here (named
# wcnitest-*, removed by the trap). Written against the contract in
# docs/cni.md ("The agent side"); it has not run yet: the agent side is not
# implemented on this branch.
AGENT_PID=
AGENT_SOCK=$T/wardend.sock
start_agent() {
	"$BUILD/wardend" --state-dir "$T/state" --socket "$AGENT_SOCK" --metrics-address "" \
		>>"$T/wardend.log" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 100); do [ -S "$AGENT_SOCK" ] && return 0; sleep 0.1; done
	return 1
}
stop_agent() { # signal
	[ -n "$AGENT_PID" ] || return 0
	kill "-${1:-TERM}" "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}
agent_cleanup() {
	stop_agent TERM
	for ns in $(ip netns list | awk '/^wcnitest-/ {print $1}'); do ip netns del "$ns"; done
	cleanup
}
trap agent_cleanup EXIT
host_dev() { # container_id ifname -> wdc name, as include/warden/cni.h
	python3 -c '
import sys
h = 0xcbf29ce484222325
for b in sys.argv[1].encode() + b"\0" + sys.argv[2].encode():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("wdc%011x" % (h & 0xfffffffffff))' "$1" "$2"
}
W() { "$BUILD/warden" --socket "$AGENT_SOCK" "$@"; }

SOCK=$AGENT_SOCK
if ! start_agent; then
	fail "wardend did not start: $(tail -5 "$T/wardend.log")"
	return 0 2>/dev/null || exit 1
fi
ip netns add wcnitest-a
ip netns add wcnitest-b
A=/run/netns/wcnitest-a
B=/run/netns/wcnitest-b

CID=aaaa1 NETNS=$A cni ADD "$(conf 1.0.0 '"labels":{"app":"a"}')" CNI_ARGS='K8S_POD_NAME=pa'
addr_a=$(jq_ 'd["ips"][0]["address"].split("/")[0]' <<<"$out" 2>/dev/null)
check "ADD: result with eth0 in the runtime's namespace and a pod address ($addr_a)" \
	eval '[ "$rc" = 0 ] && ip -n wcnitest-a -4 addr show eth0 | grep -q "$addr_a/32"'
check "ADD: the endpoint is listed with owner cni and the container id" \
	eval 'W endpoint get pa --json | grep -q "\"container_id\": *\"aaaa1\""'
check "ADD: host device $(host_dev aaaa1 eth0) exists" ip link show "$(host_dev aaaa1 eth0)"
CID=aaaa1 NETNS=$A cni CHECK "$(conf 1.0.0 "\"prevResult\":$out")"
check "CHECK right after ADD passes" test "$rc" = 0
CID=aaaa1 NETNS=$A cni ADD "$(conf 1.0.0)" CNI_ARGS='K8S_POD_NAME=pa'
check "a second ADD of the same attachment is refused (code 100)" code_is 100
ip -n wcnitest-a addr flush dev eth0
CID=aaaa1 NETNS=$A cni CHECK "$(conf 1.0.0 "\"prevResult\":{\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"$A\"}],\"ips\":[{\"address\":\"$addr_a/32\",\"interface\":0}]}")"
check "CHECK after the address was removed: code 101 naming it" eval 'code_is 101 && details_has "$addr_a"'
CID=aaaa1 NETNS=$A cni DEL "$(conf 1.0.0)"
check "DEL: success, endpoint and device gone, namespace kept" \
	eval '[ "$rc" = 0 ] && ! W endpoint get pa >/dev/null 2>&1 && ! ip link show "$(host_dev aaaa1 eth0)" >/dev/null 2>&1 && ip netns list | grep -q wcnitest-a'
CID=aaaa1 NETNS=$A cni DEL "$(conf 1.0.0)"
check "DEL twice: success" test "$rc" = 0

CID=bbbb1 NETNS=$B cni ADD "$(conf 1.0.0)" CNI_ARGS='K8S_POD_NAME=pb'
ip netns del wcnitest-b
CID=bbbb1 NETNS=$B cni DEL "$(conf 1.0.0)"
check "DEL after the namespace is gone: success, endpoint gone" \
	eval '[ "$rc" = 0 ] && ! W endpoint get pb >/dev/null 2>&1'

CID=cccc1 NETNS=/run/netns/wcnitest-missing cni ADD "$(conf 1.0.0)" CNI_ARGS='K8S_POD_NAME=pc'
check "ADD into a namespace that does not exist fails (code 100), nothing left" \
	eval 'code_is 100 && ! ip link show "$(host_dev cccc1 eth0)" >/dev/null 2>&1'
ip netns add wcnitest-c
CID=cccc1 NETNS=/run/netns/wcnitest-c cni ADD "$(conf 1.0.0)" CNI_ARGS='K8S_POD_NAME=pc'
check "ADD after a failed ADD succeeds" test "$rc" = 0

for i in $(seq 20); do ip netns add "wcnitest-p$i"; done
for i in $(seq 20); do
	(CID="par$i" NETNS="/run/netns/wcnitest-p$i" cni ADD "$(conf 1.0.0)" CNI_ARGS="K8S_POD_NAME=par$i"
	 echo "$rc" >"$T/par$i.rc") &
done
wait
ok=0
for i in $(seq 20); do [ "$(cat "$T/par$i.rc")" = 0 ] && ok=$((ok + 1)); done
addrs=$(W endpoint list --json | python3 -c 'import json,sys; print(len({e["ipv4"] for e in json.load(sys.stdin) if e["name"].startswith("par")}))')
check "20 parallel ADDs: all succeed with 20 distinct addresses ($ok ok, $addrs addresses)" \
	test "$ok/$addrs" = "20/20"

CID=cccc1 NETNS=/run/netns/wcnitest-c cni GC "$(conf 1.1.0 '"cni.dev/valid-attachments":[{"containerID":"cccc1","ifname":"eth0"}]')"
check "GC removes every attachment not listed (the 20), keeps the listed one" \
	eval '[ "$rc" = 0 ] && W endpoint get pc >/dev/null && ! W endpoint get par1 >/dev/null 2>&1'

stop_agent KILL
CID=cccc1 NETNS=/run/netns/wcnitest-c cni DEL "$(conf 1.0.0)"
check "DEL after the agent is gone: success, the plugin removed the device" \
	eval '[ "$rc" = 0 ] && ! ip link show "$(host_dev cccc1 eth0)" >/dev/null 2>&1'
start_agent
CID=dddd1 NETNS=$A cni ADD "$(conf 1.0.0)" CNI_ARGS='K8S_POD_NAME=pd'
stop_agent TERM
start_agent
CID=dddd1 NETNS=$A cni DEL "$(conf 1.0.0)"
check "DEL after an agent restart: success, device gone" \
	eval '[ "$rc" = 0 ] && ! ip link show "$(host_dev dddd1 eth0)" >/dev/null 2>&1'
SOCK=
