#!/usr/bin/env bash
# The real-runtime harness with Debian's own `bridge` plugin, and the
# baseline the issue compares warden-cni with: podman 4.3 + runc +
# containernetworking-plugins, all through a test-local configuration
# (tests/cni/lib.sh). Steps:
#   - a tiny image from busybox-static (podman import);
#   - two containers on our network 10.231.0.0/24: a request from one to the
#     other's web server passes, one to a closed port fails (the control);
#   - what podman passes a plugin (CNI_ARGS, the configuration on stdin), as
#     recorded by the timing wrapper: docs/cni.md's identity table;
#   - ADD and DEL of the bridge plugin timed as podman runs them, over
#     COUNT containers (default 100): p50 and p99.
# usage: test_bridge.sh [--count N]     root, under the agent lock.
set -u
. "$(dirname "$0")/lib.sh"
COUNT=100
[ "${1:-}" = --count ] && COUNT=$2

trap cni_env_cleanup EXIT
cni_env_setup
cni_bridge_net_write
LOG=$CT/bin/timed-bridge.log

echo "== the image"
check "busybox image built with podman import" cni_image_build

echo "== two containers on the bridge network"
pm run -d --name web --network "$CNI_BRIDGE_NET" "$CNI_IMAGE" httpd -f -p 8080 -h /www >/dev/null 2>"$CT/err" ||
	cat "$CT/err"
web_ip=$(pm inspect web --format "{{(index .NetworkSettings.Networks \"$CNI_BRIDGE_NET\").IPAddress}}" 2>/dev/null)
check "the web container has an address in $CNI_BRIDGE_SUBNET ($web_ip)" \
	eval '[[ "$web_ip" == 10.231.0.* ]]'
# HTTP by hand over busybox nc: Debian's busybox-static wget segfaults
# (also outside a container), nc does not.
body=$(printf 'GET /index.html HTTP/1.0\r\n\r\n' |
	pm run -i --rm --name client --network "$CNI_BRIDGE_NET" "$CNI_IMAGE" \
		nc -w 5 "$web_ip" 8080 2>&1)
nc_rc=$?
check "a request to the web container passes (exit $nc_rc): \"$(tail -1 <<<"$body")\"" \
	eval 'grep -qx "hello from warden-cni test" <<<"$(tr -d "\r" <<<"$body")"'
if grep -qx "hello from warden-cni test" <<<"$(tr -d '\r' <<<"$body")"; then
	printf 'GET / HTTP/1.0\r\n\r\n' |
		pm run -i --rm --name client2 --network "$CNI_BRIDGE_NET" "$CNI_IMAGE" \
			nc -w 3 "$web_ip" 8081 >/dev/null 2>&1
	check "control: a request to a closed port fails" test $? -ne 0
else
	skip "control: a request to a closed port fails (the request that must pass did not)"
fi
echo "== what podman passes a plugin"
args=$(awk '$1 == "ADD" { $1=$2=$3=$4=$5=$6=""; print; exit }' "$LOG" | sed 's/^ *//')
echo "     CNI_ARGS of the first ADD: $args"
check "podman passes K8S_POD_NAME=<container name> in CNI_ARGS" eval 'grep -q "K8S_POD_NAME=web" <<<"$args"'
pns=$(grep -o 'K8S_POD_NAMESPACE=[^;]*' <<<"$args")
echo "     podman's K8S_POD_NAMESPACE: ${pns:-absent}"
check "the request configuration carries cniVersion, name and our keys" \
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["cniVersion"] and d["name"]=="'"$CNI_BRIDGE_NET"'" and d["bridge"]' \
	"$CT/bin/timed-bridge.ADD.json"
pm rm -f -t 0 web >/dev/null 2>&1
check "podman rm runs the plugin's DEL successfully" \
	eval 'awk "\$1 == \"DEL\" && \$3 == 0" "$LOG" | grep -q .'
check "no container veth left on the bridge after rm" \
	eval '[ -z "$(ip -o link show master "$CNI_BRIDGE_DEV" 2>/dev/null)" ]'

echo "== timing the bridge plugin over $COUNT containers"
: >"$LOG"
started=0
for i in $(seq "$COUNT"); do
	pm run -d --name "b$i" --network "$CNI_BRIDGE_NET" "$CNI_IMAGE" sleep 600 >/dev/null 2>>"$CT/err" &&
		started=$((started + 1))
done
for i in $(seq "$COUNT"); do pm rm -f -t 0 "b$i" >/dev/null 2>>"$CT/err"; done
read -r add50 add99 addn < <(cni_percentiles "$LOG" ADD)
read -r del50 del99 deln < <(cni_percentiles "$LOG" DEL)
check "$COUNT containers started, $COUNT ADDs and DELs timed" \
	test "$started/$addn/$deln" = "$COUNT/$COUNT/$COUNT"
echo "cni-bench: bridge ADD p50 ${add50} ms p99 ${add99} ms, DEL p50 ${del50} ms p99 ${del99} ms (n=$addn, podman 4.3, bridge+host-local)"
[ -n "${CNI_RESULTS:-}" ] && printf 'bridge ADD %s %s DEL %s %s n=%s\n' "$add50" "$add99" "$del50" "$del99" "$addn" >>"$CNI_RESULTS"

echo "cni-bridge: $cni_pass passed, $cni_fail failed, $cni_skip skipped"
[ "$cni_fail" -eq 0 ]
