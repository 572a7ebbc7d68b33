#!/usr/bin/env bash
# lib/host/netdev_cni.c, the agent side's plumbing, on real namespaces: an
# attachment into a namespace made here (as a runtime would), addressed,
# routed and reachable from the host; refused into a path that is not a
# namespace or when the interface name is taken, leaving nothing; detached
# without touching the namespace. Uses 10.231.1.0/24 with its own gateway
# address on lo (removed after), not Warden's pod CIDR.
# Root, under the agent lock.
set -u
. "$(dirname "$0")/lib.sh"
PROBE=$BUILD/tests/cni/netdev-cni-probe
NS=wcnitest-nd1
NS2=wcnitest-nd2
GW=10.231.1.1
ADDR=10.231.1.7
cleanup() {
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	ip addr del "$GW/32" dev lo 2>/dev/null
	"$PROBE" detach nd0001 eth0 2>/dev/null
	"$PROBE" detach nd0002 eth0 2>/dev/null
	"$PROBE" detach nd0003 eth1 2>/dev/null
	"$PROBE" detach nd0004 eth0 2>/dev/null
	rm -f /tmp/wcnitest-notns
}
trap cleanup EXIT
host=$(python3 -c '
import sys
h = 0xcbf29ce484222325
for b in b"nd0001\0eth0":
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("wdc%011x" % (h & 0xfffffffffff))')

ip netns add "$NS"
ip addr add "$GW/32" dev lo
out=$("$PROBE" attach nd0001 eth0 "/run/netns/$NS" "$ADDR" "$GW" 2>&1)
check "attach into /run/netns/$NS: $out" eval '[ "${out%% *}" = "$host" ]'
check "eth0 in the namespace has $ADDR/32 and is up" \
	eval 'ip -n "$NS" -4 -o addr show dev eth0 | grep -q "$ADDR/32" && ip -n "$NS" link show eth0 | grep -q "state UP"'
check "default route via the gateway in the namespace" \
	eval 'ip -n "$NS" route show default | grep -q "via $GW dev eth0"'
check "host route $ADDR/32 via $host" eval 'ip route show "$ADDR/32" | grep -q "dev $host"'
check "the container's MAC is what attach reported" \
	eval 'ip -n "$NS" -o link show eth0 | grep -q "$(cut -d" " -f4 <<<"$out")"'
check "the host reaches the container address (ping)" ping -c 1 -W 2 "$ADDR"
check "the container reaches the gateway (ping from inside)" ip netns exec "$NS" ping -c 1 -W 2 "$GW"
check "IPv6 off on the container interface and on the host device" \
	eval '[ "$(ip netns exec "$NS" cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)$(cat /proc/sys/net/ipv6/conf/$host/disable_ipv6)" = 11 ] && [ -z "$(ip -n "$NS" -6 addr show dev eth0)" ]'
err=$("$PROBE" attach nd0002 eth0 "/run/netns/$NS" 10.231.1.8 "$GW" 2>&1)
rc=$?
check "a second eth0 in the same namespace is refused: $err" \
	eval '[ "$rc" = 1 ] && grep -q "already exists" <<<"$err"'
: >/tmp/wcnitest-notns
err=$("$PROBE" attach nd0002 eth1 /tmp/wcnitest-notns 10.231.1.9 "$GW" 2>&1)
check "attach into a file that is not a namespace is refused: $err" \
	eval 'grep -q "not a network namespace" <<<"$err"'
ip netns add "$NS2"
err=$("$PROBE" attach nd0003 eth1 "/run/netns/$NS2" 10.231.1.10 10.231.9.1 2>&1)
check "a gateway the host does not have fails at the host route, with the kernel's reason: $err" \
	eval 'grep -q "^route to the endpoint on the host: .*(kernel: .*prefsrc" <<<"$err"'
check "and leaves nothing in that namespace" \
	eval '[ "$(ip -n "$NS2" -o link show | grep -vc ": lo:")" = 0 ]'
check "no device left by the refused attachments (only $host)" \
	eval '[ "$(ip -o link show | grep -c " wdc")" = 1 ]'
ip netns exec "$NS2" sleep 60 &
sleeper=$!
# The pid is ip's until it has entered $NS2 and exec'd sleep: wait for that,
# or the probe would be given the host's namespace.
for _ in $(seq 100); do
	[ "$(stat -L -c %i "/proc/$sleeper/ns/net" 2>/dev/null)" = \
		"$(stat -L -c %i "/run/netns/$NS2")" ] && break
	sleep 0.05
done
out=$("$PROBE" attach nd0004 eth0 "/proc/$sleeper/ns/net" 10.231.1.11 "$GW" 2>&1)
check "attach into /proc/PID/ns/net (a runtime's path to a process's namespace): $out" \
	eval 'ip -n "$NS2" -4 -o addr show dev eth0 | grep -q "10.231.1.11/32" && ping -c 1 -W 2 10.231.1.11 >/dev/null'
"$PROBE" detach nd0004 eth0
kill "$sleeper" 2>/dev/null
wait "$sleeper" 2>/dev/null
"$PROBE" detach nd0001 eth0
check "detach removes the host device and the container end" \
	eval '! ip link show "$host" >/dev/null 2>&1 && ! ip -n "$NS" link show eth0 >/dev/null 2>&1'
check "detach leaves the runtime's namespace" eval 'ip netns list | grep -q "^$NS"'
"$PROBE" detach nd0001 eth0
check "detach of what is gone is a no-op (exit 2 = nothing removed)" test $? = 2

echo "cni-netdev: $cni_pass passed, $cni_fail failed"
[ "$cni_fail" -eq 0 ]
