# shellcheck shell=bash
# `warden policy trace` must agree with the datapath: generated policy sets
# (tools/gen_policies.py: selectors, entities, CIDRs with except, port
# ranges, deny rules, audit mode, reject), every flow between four
# endpoints and the world namespace traced and then sent for real.
#
# Expected outcome of a flow from its trace: ALLOWED or AUDIT -> the client
# gets its answer; DENIED with response drop -> it times out; DENIED with
# response reject -> it fails at once (RST / ICMP unreachable).

GEN_TOOLS=$(dirname "${BASH_SOURCE[0]}")/tools
GEN_ROUNDS=${WARDEN_TRACE_ROUNDS:-12}
GEN_TCP=80,443,8080
GEN_UDP=53

# Four endpoints and the world, each serving every port. On failure the
# test has failed (saying what) and stops: gen_cast || return
gen_cast() {
	W endpoint create web --labels app=web,tier=front,team=a >/dev/null &&
	W endpoint create api --labels app=api,tier=back,team=a >/dev/null &&
	W endpoint create db --labels app=db,tier=back,team=b >/dev/null &&
	W endpoint create tool --labels app=tool,team=b >/dev/null ||
		{ fail "create the web, api, db and tool endpoints"; return 1; }
	local ep
	for ep in web api db tool; do
		W endpoint exec "$ep" -- python3 "$GEN_TOOLS/flowprobe.py" serve "$GEN_TCP" "$GEN_UDP" >/dev/null 2>&1 &
	done
	world python3 "$GEN_TOOLS/flowprobe.py" serve "$GEN_TCP" "$GEN_UDP" >/dev/null 2>&1 &
	GEN_WORLD_SERVER=$!
	local port
	for port in ${GEN_TCP//,/ } "$GEN_UDP/udp"; do
		for ep in web api db tool; do wait_listen "$ep" "$port" || return 1; done
		wait_listen_in "the world namespace" "$port" world || return 1
	done
}

t_90_trace_agrees_with_datapath_generated() {
	gen_cast || return
	local -A ip=([web]=$(ep_ip web) [api]=$(ep_ip api) [db]=$(ep_ip db) [tool]=$(ep_ip tool) [world]=10.250.0.2)
	local round src dst port cases total=0 mismatches=0
	# The control of every DENIED flow below: before any policy, every
	# server answers the host on every port, so a flow that does not get
	# through later is stopped by the datapath, not by a missing server.
	cases=()
	for dst in web api db tool world; do
		for port in ${GEN_TCP//,/ }; do cases+=("${ip[$dst]}:$port/tcp"); done
		cases+=("${ip[$dst]}:$GEN_UDP/udp")
	done
	python3 "$GEN_TOOLS/flowprobe.py" probe 2 "${cases[@]}" >"$E2E_TMP/gen-control.txt"
	check "control: all 5 servers answer the host on ${GEN_TCP}/tcp and ${GEN_UDP}/udp" \
		awk -v n="${#cases[@]}" '$2 == "ok" {ok++} END {exit !(ok == n && NR == n)}' "$E2E_TMP/gen-control.txt" ||
		{ sed 's/^/      /' "$E2E_TMP/gen-control.txt"; return; }
	: >"$E2E_TMP/gen-mismatch.txt"
	: >"$E2E_TMP/gen-all.txt"
	for round in $(seq 1 "$GEN_ROUNDS"); do
		W policy delete --all >/dev/null 2>&1
		python3 "$GEN_TOOLS/gen_policies.py" "$round" 4 >"$E2E_TMP/gen.yaml"
		if ! W policy import "$E2E_TMP/gen.yaml" >"$E2E_TMP/gen-import.txt" 2>&1; then
			fail "round $round: import of generated policies: $(cat "$E2E_TMP/gen-import.txt")"
			continue
		fi
		: >"$E2E_TMP/gen-actual.txt"
		# Send: every source probes all its cases at once, sources in parallel.
		local pids=()
		for src in web api db tool world; do
			cases=()
			for dst in web api db tool world; do
				[ "$src" = "$dst" ] && continue
				for port in 80/tcp 443/tcp 8080/tcp 53/udp; do
					cases+=("${ip[$dst]}:${port%/*}/${port#*/}")
				done
			done
			if [ "$src" = world ]; then
				world python3 "$GEN_TOOLS/flowprobe.py" probe 1.5 "${cases[@]}"
			else
				W endpoint exec "$src" -- python3 "$GEN_TOOLS/flowprobe.py" probe 1.5 "${cases[@]}"
			fi | sed "s/^/$src /" >"$E2E_TMP/gen-actual-$src.txt" &
			pids+=($!)
		done
		wait "${pids[@]}"
		cat "$E2E_TMP"/gen-actual-*.txt >"$E2E_TMP/gen-actual.txt"
		# Trace the same flows: one line per flow with the outcome it predicts.
		python3 - "$WARDEN" "$SOCK" "${ip[web]}" "${ip[api]}" "${ip[db]}" "${ip[tool]}" \
			>"$E2E_TMP/gen-expected.txt" <<'PY'
import json, subprocess, sys
warden, sock = sys.argv[1:3]
ip = dict(zip(["web", "api", "db", "tool"], sys.argv[3:7]))
ip["world"] = "10.250.0.2"
names = ["web", "api", "db", "tool", "world"]
for src in names:
    for dst in names:
        if src == dst:
            continue
        for port in ["80/tcp", "443/tcp", "8080/tcp", "53/udp"]:
            frm = ip[src] if src == "world" else src
            to = ip[dst] if dst == "world" else dst
            d = json.loads(subprocess.run([warden, "--socket", sock, "policy", "trace", "--from", frm,
                                           "--to", to, "--dport", port, "--json"],
                                          check=True, capture_output=True, text=True).stdout)
            denied = [s for s in d["steps"] if s["verdict"] == "DENIED"]
            if d["verdict"] in ("ALLOWED", "AUDIT"):
                want = "ok"
            else:
                want = "refused" if denied and denied[0].get("response") == "reject" else "timeout"
            case = "%s:%s/%s" % (ip[dst], port.split("/")[0], port.split("/")[1])
            why = " | ".join("%s %s %s (%s)" % (s["direction"], s["endpoint"], s["verdict"], s["policy"])
                             for s in d["steps"])
            print(src, case, want, d["verdict"], why)
PY
		cat "$E2E_TMP/gen-expected.txt" >>"$E2E_TMP/gen-all.txt"
		# Compare: same (source, case) -> expected result vs what happened.
		python3 - "$E2E_TMP/gen-expected.txt" "$E2E_TMP/gen-actual.txt" "$round" \
			>>"$E2E_TMP/gen-mismatch.txt" <<'PY'
import sys
expected = {}
for line in open(sys.argv[1]):
    src, case, want, verdict, why = line.rstrip("\n").split(" ", 4)
    expected[(src, case)] = (want, verdict, why)
seen = 0
for line in open(sys.argv[2]):
    src, case, got, ms = line.split()
    want, verdict, why = expected.pop((src, case))
    seen += 1
    if got != want:
        print("round %s: %s -> %s: trace %s (%s) expects %s, datapath gave %s in %s ms"
              % (sys.argv[3], src, case, verdict, why, want, got, ms))
for (src, case) in expected:
    print("round %s: %s -> %s: no result" % (sys.argv[3], src, case))
print("CASES", seen)
PY
	done
	total=$(awk '$1=="CASES" {n+=$2} END {print n+0}' "$E2E_TMP/gen-mismatch.txt")
	mismatches=$(grep -vc '^CASES' "$E2E_TMP/gen-mismatch.txt")
	grep -v '^CASES' "$E2E_TMP/gen-mismatch.txt" | head -20 | sed 's/^/      /'
	echo "      traced verdicts over all rounds: $(awk '{print $4 "/" $3}' "$E2E_TMP/gen-all.txt" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')"
	check "$GEN_ROUNDS generated policy sets, $total flows: trace and datapath agree on every one ($mismatches differ)" \
		test "$total" -ge $((GEN_ROUNDS * 80)) -a "$mismatches" -eq 0
	kill "$GEN_WORLD_SERVER" 2>/dev/null
	# Only this run's servers: a machine-wide pkill also killed the servers
	# of an e2e run in another test node, failing its round mid-way.
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NETNS_PREFIX}[0-9]+\$") "$WORLD_NS"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "flowprobe.py serve" &&
				kill "$pid" 2>/dev/null
		done
	done
}
