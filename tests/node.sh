#!/usr/bin/env bash
# Run a command as if on a machine of its own: inside a new network namespace
# (a "node"), with a name prefix for every network namespace made there.
# Everything an agent owns on a node is per network namespace (the pod CIDR
# routes, the nft table, marks, the proxy and metrics ports, loopback) or
# carries that prefix (endpoint namespaces), so several agents — a test run
# each, or the nodes of a test cluster — can run on one machine at once.
#   tests/node.sh CMD [ARG]...      e.g. tests/node.sh tests/e2e/run.sh l7
# The namespace and whatever is left in it are removed at the end.
set -u
if [ $# -eq 0 ] || [ "$(id -u)" -ne 0 ]; then
	echo "usage (root): tests/node.sh CMD [ARG]..." >&2
	exit 2
fi
node=wdnode$$
export WARDEN_NETNS_PREFIX=wn$$-
cleanup() {
	local ns pids
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${WARDEN_NETNS_PREFIX}" ) "$node"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$node" || exit 1
ip -n "$node" link set lo up
ip netns exec "$node" "$@"
