# shellcheck shell=bash
# 10,000 rules (and 10,000 CIDRs) compile and apply; prints how long.

t_50_ten_thousand_rules() {
	W endpoint create big --labels app=big >/dev/null &&
	W endpoint create peer --labels app=peer >/dev/null || { fail "endpoints"; return; }
	serve_tcp big 80; wait_listen big 80
	local s; s=$(ep_ip big)
	python3 - "$E2E_TMP/rules.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: many\nspec:\n  endpointSelector:\n    matchLabels: {app: big}\n  ingress:\n")
    for i in range(10000):
        port = 10000 + i if i < 9999 else 80
        f.write(f"  - fromEndpoints: [{{matchLabels: {{app: peer}}}}]\n    toPorts:\n    - ports: [{{port: \"{port}\", protocol: TCP}}]\n")
PY
	local t0 t1
	t0=$(date +%s.%N)
	check "import 10,000 rules" import "$E2E_TMP/rules.yaml"
	t1=$(date +%s.%N)
	echo "    10,000 rules: $(python3 -c "import json;d=json.load(open('/dev/stdin'))" </dev/null 2>/dev/null)$(cat "$E2E_TMP/import.out" | tr '\n' ' ')"
	echo "    wall time for the import command: $(python3 -c "print(round($t1-$t0,3))") s"
	check "the last rule (port 80) is enforced" tcp_ok peer "$s" 80
	python3 - "$E2E_TMP/cidrs.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: many-cidrs\nspec:\n  endpointSelector:\n    matchLabels: {app: peer}\n  egress:\n  - toCIDR:\n")
    for i in range(10000):
        f.write(f"    - 172.{16 + i // 65536 % 16}.{i // 256 % 256}.{i % 256}/32\n")
PY
	t0=$(date +%s.%N)
	check "import 10,000 CIDR entries" import "$E2E_TMP/cidrs.yaml"
	t1=$(date +%s.%N)
	echo "    10,000 CIDRs: $(cat "$E2E_TMP/import.out" | tr '\n' ' ')"
	echo "    wall time for the import command: $(python3 -c "print(round($t1-$t0,3))") s"
}
