# shellcheck shell=bash
# 10,000 rules and 10,000 CIDRs: they import, compile to the map entries
# they should, and are enforced at both ends of the list. How long the
# import takes is the benchmark's business (bench/apply_scale.sh), not a
# test's: nothing here is timed.

SCALE_TOOLS=$(dirname "${BASH_SOURCE[0]}")/tools

t_50_ten_thousand_rules() {
	W endpoint create big --labels app=big >/dev/null &&
	W endpoint create peer --labels app=peer >/dev/null &&
	W endpoint create other --labels app=other >/dev/null || { fail "endpoints"; return; }
	# 80 (the last rule), 10000 (the first), 20000 (no rule).
	serve_tcp big 80 && serve_tcp big 10000 && serve_tcp big 20000 || return
	local s peer_id; s=$(ep_ip big); peer_id=$(ep_field peer '["identity"]')
	python3 "$SCALE_TOOLS/scale_policy.py" ports 10000 >"$E2E_TMP/rules.yaml"
	check "import 10,000 rules" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy import \"$E2E_TMP/rules.yaml\" --json >\"$E2E_TMP/rules.json\""
	local ep
	for ep in big peer other; do W bpf policy get "$ep" --json >"$E2E_TMP/$ep.json"; done
	check "the import's 10,003 map entries: 10,000 rules and one implicit host allow per endpoint" \
		python3 - "$E2E_TMP/rules.json" "$E2E_TMP"/{big,peer,other}.json <<'PY'
import json, sys
total = json.load(open(sys.argv[1]))["entries"]
maps = [json.load(open(f)) for f in sys.argv[2:]]
assert total == sum(len(m["entries"]) for m in maps) == 10003, (total, [len(m["entries"]) for m in maps])
for m in maps:
    host = [e for e in m["entries"] if e["rule"] == "implicit host allow"]
    assert len(host) == 1 and host[0]["identity"] == 1, (m["endpoint"], host)
PY
	check "big's map: one TCP allow per rule from peer's identity, ports 10000-19998 and 80" \
		python3 - "$E2E_TMP/big.json" "$peer_id" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
peer = int(sys.argv[2])
mine = [e for e in d["entries"] if e["identity"] == peer]
assert len(mine) == 10000, len(mine)
assert all(e["direction"] == "ingress" and e["protocol"] == "TCP" and e["verdict"] == "allow"
           for e in mine), [e for e in mine if e["verdict"] != "allow"][:3]
ports = sorted(int(e["ports"]) for e in mine)
assert ports == [80] + list(range(10000, 19999)), (ports[:3], ports[-3:])
assert d["policy_enforcement"]["ingress"], d["policy_enforcement"]
PY
	W status --json >"$E2E_TMP/status.json"
	check "status: the datapath's policy map holds exactly those 10,003" python3 -c '
import json, sys
m = {x["name"]: x for x in json.load(open(sys.argv[1]))["datapath"]["maps"]}
assert m["warden_policy"]["used"] == 10003, m["warden_policy"]' "$E2E_TMP/status.json"
	check "the last rule (port 80) is enforced: peer gets through" tcp_ok peer "$s" 80
	check "the first rule (port 10000) too" tcp_ok peer "$s" 10000
	check_denied "port 20000 (no rule) is dropped" host_tcp_ok "$s" 20000 -- tcp_ok peer "$s" 20000
	check_denied "another endpoint is dropped on port 80" tcp_ok peer "$s" 80 -- tcp_ok other "$s" 80
}

t_51_ten_thousand_cidrs() {
	W endpoint create peer --labels app=peer >/dev/null || { fail "endpoint"; return; }
	world_serve_tcp 80 || return
	local before_ids
	before_ids=$(W identity list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	# 9,999 addresses in 172.16.0.0/12 (never contacted), then the world's
	# 10.250.0.2: the last entry of the list is the one traffic can test.
	python3 "$SCALE_TOOLS/scale_policy.py" cidrs 10000 10.250.0.2 >"$E2E_TMP/cidrs.yaml"
	check "import 10,000 CIDR entries" import "$E2E_TMP/cidrs.yaml"
	check "10,000 CIDR identities were allocated" bash -c \
		"[ \$(\"$WARDEN\" --socket \"$SOCK\" identity list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') -eq $((before_ids + 10000)) ]"
	check "the last CIDR (10.250.0.2) is enforced: peer reaches it" tcp_ok peer 10.250.0.2 80
	check_denied "an address of the same namespace outside the list (10.250.0.3) is dropped" \
		host_tcp_ok 10.250.0.3 80 -- tcp_ok peer 10.250.0.3 80
	W policy delete many-cidrs >/dev/null
	check "deleting the policy releases the 10,000 CIDR identities" bash -c \
		"[ \$(\"$WARDEN\" --socket \"$SOCK\" identity list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') -eq $before_ids ]"
}
