#!/usr/bin/env bash
# lib/host/netdev.c and lib/host/redirect.c on real namespaces, through
# tests/host/netdev_probe.c: the host set-up, an endpoint's layout
# (docs/architecture.md, "An endpoint") as `ip` shows it, reachability both
# ways, IPv6 off, all-or-nothing failures that name the step and carry the
# kernel's message, destroy (processes killed, nothing left), the sweep
# (only this prefix's), the L7 redirect's rule, route and nft table.
# Uses 10.232.0.0/16 with the gateway 10.232.0.1, not Warden's pod CIDR.
#
#   tests/node.sh tests/host/test_netdev.sh      (root; in a test node)
# Last line: host-netdev: N passed, N failed
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROBE=${PROBE:-$ROOT/build/tests/host/netdev-probe}
PFX=${WARDEN_NETNS_PREFIX:-warden-}
CIDR=10.232.0.0/16
GW=10.232.0.1
pass_n=0
fail_n=0
pass() { echo "  ok   $*"; pass_n=$((pass_n + 1)); }
fail() { echo "  FAIL $*"; fail_n=$((fail_n + 1)); }
check() { # description, command...: pass when the command succeeds
	local what=$1
	shift
	# Quiet: `ip` in a node says "Peer netns reference is invalid" for
	# a veth whose peer is in a namespace it cannot name.
	if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}

if [ "$(id -u)" -ne 0 ] || [ ! -x "$PROBE" ]; then
	echo "needs root and $PROBE (make)"
	echo "host-netdev: 0 passed, 1 failed"
	exit 1
fi
if [ -z "${WARDEN_NETNS_PREFIX:-}" ]; then
	echo "run it in a test node: tests/node.sh $0"
	echo "host-netdev: 0 passed, 1 failed"
	exit 1
fi
cleanup() {
	local ns pids
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX"); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for dev in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
		ip link del "$dev" 2>/dev/null
	done
	"$PROBE" redirect-teardown 2>/dev/null
	"$PROBE" host-teardown "$CIDR" "$GW" 2>/dev/null
}
trap cleanup EXIT
ip link set lo up

echo "== host set-up"
check "host-setup succeeds" "$PROBE" host-setup "$CIDR" "$GW"
check "the gateway $GW/32 is on lo (scope global)" \
	eval 'ip -4 -o addr show dev lo | grep -q "inet $GW/32 scope global lo"'
check "unreachable $CIDR in the main table" eval 'ip route show | grep -qx "unreachable $CIDR "'
check "IPv4 forwarding on" test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1
check "host-setup again (replace) succeeds" "$PROBE" host-setup "$CIDR" "$GW"
check "still one gateway address and one unreachable route" \
	eval '[ "$(ip -4 -o addr show dev lo | grep -c "$GW/32")" = 1 ] && [ "$(ip route show | grep -c unreachable)" = 1 ]'

echo "== an endpoint"
out=$("$PROBE" create 7 10.232.0.7 "$GW" 2>&1)
NS=${PFX}7
check "create 7: $out" eval '[ "$(cut -d" " -f1,2 <<<"$out")" = "$NS wdh7" ]'
check "the reported ifindex is wdh7's" \
	eval '[ "$(cut -d" " -f3 <<<"$out")" = "$(cat /sys/class/net/wdh7/ifindex)" ]'
check "namespace $NS listed by ip netns" eval 'ip netns list | grep -q "^$NS\b"'
check "/run/netns/$NS is an nsfs mount" eval 'findmnt -n -o FSTYPE "/run/netns/$NS" | grep -qx nsfs'
check "/run/netns is a shared mount point (as ip netns add leaves it)" \
	eval 'findmnt -n -o PROPAGATION /run/netns | head -1 | grep -q shared'
check "eth0 in $NS: 10.232.0.7/32, up" \
	eval 'ip -n "$NS" -4 -o addr show dev eth0 | grep -q "inet 10.232.0.7/32 scope global eth0" && ip -n "$NS" link show eth0 | grep -q "state UP"'
check "lo up in $NS" eval 'ip -n "$NS" link show lo | grep -q "<LOOPBACK,UP"'
check "eth0 is the only device besides lo in $NS" \
	eval '[ "$(ip -n "$NS" -o link show | awk -F": " "{print \$2}" | cut -d@ -f1 | sort | tr "\n" " ")" = "eth0 lo " ]'
check "routes in $NS: $GW dev eth0 scope link; default via $GW dev eth0 src 10.232.0.7" \
	eval '[ "$(ip -n "$NS" route show)" = "default via $GW dev eth0 src 10.232.0.7 
$GW dev eth0 scope link " ]'
check "host route 10.232.0.7 dev wdh7 scope link src $GW" \
	eval 'ip route show | grep -qx "10.232.0.7 dev wdh7 scope link src $GW "'
check "wdh7 is a veth, up, with no address" \
	eval 'ip -d link show wdh7 | grep -q "veth" && ip link show wdh7 | grep -q "state UP" && [ -z "$(ip -o addr show dev wdh7)" ]'
check "eth0 is wdh7's peer" \
	eval '[ "$(ip -n "$NS" -o link show eth0 | sed -E "s/.*eth0@if([0-9]+).*/\1/")" = "$(cat /sys/class/net/wdh7/ifindex)" ]'
check "IPv6 off on wdh7" test "$(cat /proc/sys/net/ipv6/conf/wdh7/disable_ipv6)" = 1
check "IPv6 off in $NS (all, default, lo, eth0) and no IPv6 address there" \
	eval '[ "$(ip netns exec "$NS" cat /proc/sys/net/ipv6/conf/{all,default,lo,eth0}/disable_ipv6 | tr -d "\n")" = 1111 ] && [ -z "$(ip -n "$NS" -6 addr show)" ]'
check "IPv6 left alone on the host (all)" \
	test "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6)" = 0
check "the host reaches 10.232.0.7 (ping)" ping -c 1 -W 2 10.232.0.7
check "the endpoint reaches the gateway (ping from inside)" \
	ip netns exec "$NS" ping -c 1 -W 2 "$GW"

echo "== failures: all or nothing, the step and the kernel's reason named"
err=$("$PROBE" create 7 10.232.0.8 "$GW" 2>&1)
rc=$?
check "a second endpoint 7 is refused: $err" \
	eval '[ "$rc" = 1 ] && grep -q "/run/netns/$NS: File exists" <<<"$err"'
check "and the first endpoint 7 is untouched (ping)" ping -c 1 -W 2 10.232.0.7
ip link add wdh8 type veth peer name wdp8x
check "control: wdh8 exists" ip link show wdh8
err=$("$PROBE" create 8 10.232.0.8 "$GW" 2>&1)
rc=$?
check "a veth name that is taken fails at its step: $err" \
	eval '[ "$rc" = 1 ] && grep -q "^create the veth pair wdh8 / eth0 in ${PFX}8: File exists" <<<"$err"'
check "the failed create left no namespace ${PFX}8" eval '! ip netns list | grep -q "^${PFX}8\b"'
err=$("$PROBE" create 9 10.232.0.9 10.233.0.1 2>&1)
rc=$?
check "a gateway that is not the host's fails at the host route, with the kernel's message: $err" \
	eval '[ "$rc" = 1 ] && grep -q "^add the route 10.232.0.9/32 dev wdh9 src 10.233.0.1: .*(kernel: .*prefsrc" <<<"$err"'
check "the failed create left nothing (no ${PFX}9, no wdh9, no route)" \
	eval '! ip netns list | grep -q "^${PFX}9\b" && ! ip link show wdh9 >/dev/null 2>&1 && ! ip route show | grep -q 10.232.0.9'

echo "== destroy"
ip netns exec "$NS" sleep 600 &
sleeper=$!
for _ in $(seq 50); do
	[ -n "$(ip netns pids "$NS" 2>/dev/null)" ] && break
	sleep 0.1
done
check "control: a process runs inside $NS" eval '[ -n "$(ip netns pids "$NS")" ]'
"$PROBE" destroy 7 10.232.0.7
wait "$sleeper" 2>/dev/null
check "destroy killed the process inside" eval '! kill -0 "$sleeper" 2>/dev/null'
check "destroy removed $NS, wdh7 and the host route" \
	eval '! ip netns list | grep -q "^$NS\b" && ! ip link show wdh7 >/dev/null 2>&1 && ! ip route show | grep -q "10.232.0.7 "'
check "destroy of what is gone is quiet" "$PROBE" destroy 7 10.232.0.7

echo "== sweep"
"$PROBE" create 21 10.232.0.21 "$GW" >/dev/null && "$PROBE" create 22 10.232.0.22 "$GW" >/dev/null
ip netns add "${PFX}keep"
ip link add wdh23 type veth peer name wdp23x
check "control: two endpoints and a stale wdh23 before the sweep" \
	eval 'ip netns list | grep -q "^${PFX}21\b" && ip netns list | grep -q "^${PFX}22\b" && ip link show wdh23 >/dev/null'
"$PROBE" sweep
check "the sweep removed ${PFX}21, ${PFX}22 and every wdh* device" \
	eval '! ip netns list | grep -qE "^${PFX}2[12]\b" && [ -z "$(ip -o link show | grep " wdh")" ]'
check "the sweep kept ${PFX}keep (not <prefix><digits>)" eval 'ip netns list | grep -q "^${PFX}keep\b"'
ip netns del "${PFX}keep"

echo "== the L7 redirect"
check "redirect-setup succeeds" "$PROBE" redirect-setup 15001
check "rule: 9000: from all fwmark 0x200/0xf00 lookup 2004" \
	eval 'ip rule show | grep -qx "9000:	from all fwmark 0x200/0xf00 lookup 2004"'
check "route: local default dev lo table 2004 scope host" \
	eval '[ "$(ip route show table 2004)" = "local default dev lo scope host " ]'
check "nft table ip warden with the tproxy rule to 127.0.0.1:15001" \
	eval 'nft list table ip warden | grep -q "tproxy to 127.0.0.1:15001"'
check "redirect-setup again leaves one rule and one table" \
	eval '"$PROBE" redirect-setup 15001 && [ "$(ip rule show | grep -c "^9000:")" = 1 ] && [ "$(nft list tables | grep -c "ip warden")" = 1 ]'
# The kernel refuses an exact copy; another rule at the same preference
# stands for what an older agent may have left.
ip rule add fwmark 0x300/0xf00 lookup 2004 pref 9000
ip route add 10.232.5.0/24 dev lo table 2004
check "control: a second copy of the rule and a second route in table 2004" \
	eval '[ "$(ip rule show | grep -c "^9000:")" = 2 ] && [ "$(ip route show table 2004 | wc -l)" = 2 ]'
"$PROBE" redirect-teardown
check "teardown removes every copy of the rule, table 2004's routes and the nft table" \
	eval '! ip rule show | grep -q "^9000:" && [ -z "$(ip route show table 2004)" ] && ! nft list tables | grep -q "ip warden"'
nft add table ip warden
nft add chain ip warden prerouting
err=$("$PROBE" redirect-setup 15001 2>&1)
check "redirect-setup replaces a table ip warden left behind" \
	eval '[ -z "$err" ] && nft list table ip warden | grep -q tproxy'
"$PROBE" redirect-teardown

echo "== host teardown"
"$PROBE" host-teardown "$CIDR" "$GW"
check "teardown removed the gateway address and the unreachable route" \
	eval '! ip addr show dev lo | grep -q "$GW/32" && ! ip route show | grep -q unreachable'
check "nothing left: no namespace of $PFX, no veth" \
	eval '[ -z "$(ip netns list | grep "^$PFX")" ] && [ -z "$(ip -o link show type veth)" ]'

echo "host-netdev: $pass_n passed, $fail_n failed"
[ "$fail_n" -eq 0 ]
