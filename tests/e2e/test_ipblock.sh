# shellcheck shell=bash
# Kubernetes NetworkPolicy ipBlock selects pod addresses (Kubernetes'
# semantics), while a CiliumNetworkPolicy CIDR rule with the same prefix
# keeps Cilium's (it selects no pod) unless wardend runs with
# --cidr-rules-select-pods. docs/policy-semantics.md has the table.

# ipb_ok FROM NS IP PORT: a TCP exchange from endpoint NS/FROM works
ipb_ok() {
	[ "$(W endpoint exec "$1" --namespace "$2" -- timeout 3 socat -T2 - TCP:"$3":"$4",connect-timeout=2 </dev/null 2>/dev/null)" = pong ]
}
# ipb_mark: ipb_events only returns events after this point
ipb_mark() { IPB_T0=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ); }
# ipb_events FILE: the monitor history since ipb_mark, as JSON lines
ipb_events() {
	W monitor --last 4096 -o json 2>&1 |
		python3 -c 'import json,sys
for l in sys.stdin:
    if l.startswith("{") and json.loads(l)["time"] >= sys.argv[1]: sys.stdout.write(l)' "$IPB_T0" >"$1"
}

# Upstream: "should allow egress access to server in CIDR block": pod a
# may reach pod b through an ipBlock of b's /32, and nothing else. The
# monitor and `policy trace` name the ipBlock rule.
t_31_ipblock_egress_to_pod_in_cidr_block() {
	ipb_mark
	W endpoint create a --namespace x --labels pod=a >/dev/null &&
	W endpoint create b --namespace y --labels pod=b >/dev/null &&
	W endpoint create c --namespace y --labels pod=c >/dev/null || { fail "endpoints"; return; }
	serve_tcp b 80 y && serve_tcp c 80 y || return
	local b c; b=$(ep_ip b y); c=$(ep_ip c y)
	import - <<YAML || { fail "import"; return; }
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-client-a-via-cidr-egress-rule
  namespace: x
spec:
  podSelector:
    matchLabels: {pod: a}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: $b/32}
YAML
	check "a reaches b through the ipBlock of b's /32" ipb_ok a x "$b" 80
	check_denied "a cannot reach c, outside the block (b, in it, answers)" \
		ipb_ok a x "$b" 80 -- ipb_ok a x "$c" 80
	check "b (not selected by the policy) still reaches c" ipb_ok b y "$c" 80
	sleep 0.3
	ipb_events "$E2E_TMP/ipb.json"
	check "monitor: a's flow to b FORWARDED at egress, naming the policy and rule 0" \
		python3 - "$E2E_TMP/ipb.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
f = [e for e in ev if e["source"]["endpoint"] == "x/a" and e["destination"]["endpoint"] == "y/b"
     and e["direction"] == "egress" and e["verdict"] == "FORWARDED"]
assert f, ev
assert all(e["policy"] == "x/allow-client-a-via-cidr-egress-rule" and e["rule"] == 0 for e in f), f
d = [e for e in ev if e["source"]["endpoint"] == "x/a" and e["destination"]["endpoint"] == "y/c"]
assert d and all(e["verdict"] == "DROPPED" and e["policy"] == "default deny" for e in d), d
PY
	W monitor --last 4096 --from pod=a --namespace x >"$E2E_TMP/ipb.txt" 2>&1
	check "monitor (compact): the line says policy=x/allow-client-a-via-cidr-egress-rule rule=0" \
		grep -q "FORWARDED egress TCP SYN policy=x/allow-client-a-via-cidr-egress-rule rule=0" "$E2E_TMP/ipb.txt"
	check "policy trace: a -> b ALLOWED by the ipBlock, naming the rule and the block" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy trace --from a --to $b --namespace x --dport 80/tcp --json |
		 python3 -c 'import json,sys; d=json.load(sys.stdin); s=d[\"steps\"][0]; assert d[\"verdict\"]==\"ALLOWED\" and s[\"policy\"]==\"x/allow-client-a-via-cidr-egress-rule\" and s[\"rule\"]==0 and s[\"pod_cidr\"]==\"$b/32\", d'"
	check "policy trace: a -> c DENIED (default deny)" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy trace --from a --to $c --namespace x --dport 80/tcp --json |
		 python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"verdict\"]==\"DENIED\" and d[\"steps\"][0][\"policy\"]==\"default deny\", d'"
	W policy trace --from a --to "$b" --namespace x --dport 80/tcp >"$E2E_TMP/ipb-trace.txt" 2>&1
	check "policy trace (human) says the pod address is in the block" \
		grep -q "rule 0, pod address in $b/32" "$E2E_TMP/ipb-trace.txt"
}

# Upstream: "should enforce except clause while egress access to server in
# CIDR block": the block is b's address /4 (host bits and all, as upstream
# writes it), the except b's /32.
t_32_ipblock_except_clause() {
	W endpoint create a --namespace x --labels pod=a >/dev/null &&
	W endpoint create b --namespace x --labels pod=b >/dev/null &&
	W endpoint create c --namespace y --labels pod=c >/dev/null || { fail "endpoints"; return; }
	serve_tcp b 80 x && serve_tcp c 80 y || return
	world_serve_tcp 80 || return
	local b c; b=$(ep_ip b x); c=$(ep_ip c y)
	import - <<YAML || { fail "import"; return; }
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-client-a-via-except-cidr-egress-rule
  namespace: x
spec:
  podSelector:
    matchLabels: {pod: a}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock:
        cidr: $b/4
        except: [$b/32]
YAML
	check "the import warns that the block's host bits are cleared" \
		grep -q "has host bits set: read as \`0.0.0.0/4\`" "$E2E_TMP/import.out"
	check "a reaches c (in the block)" ipb_ok a x "$c" 80
	check "a reaches a world address in the block too" ipb_ok a x 10.250.0.2 80
	check_denied "a cannot reach b (the except; c answers)" \
		ipb_ok a x "$c" 80 -- ipb_ok a x "$b" 80
	check "c (not selected) reaches b" ipb_ok c y "$b" 80
}

# Two pods with the same labels (one identity), one carved out by except:
# an address-based rule must tell them apart. Egress and ingress.
t_33_ipblock_except_splits_one_identity() {
	W endpoint create client --labels role=client >/dev/null &&
	W endpoint create web1 --labels app=web >/dev/null &&
	W endpoint create web2 --labels app=web >/dev/null || { fail "endpoints"; return; }
	serve_tcp web1 80 && serve_tcp web2 80 || return
	local w1 w2; w1=$(ep_ip web1); w2=$(ep_ip web2)
	check "web1 and web2 share one identity" test "$(ep_field web1 '["identity"]')" = "$(ep_field web2 '["identity"]')"
	import - <<YAML || { fail "import"; return; }
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: client-egress
spec:
  podSelector:
    matchLabels: {role: client}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock:
        cidr: 10.200.0.0/16
        except: [$w2/32]
    ports:
    - {port: 80, protocol: TCP}
YAML
	check_denied "egress: client reaches web1, not web2 (same labels, in the except)" \
		ipb_ok client default "$w1" 80 -- ipb_ok client default "$w2" 80
	W policy delete client-egress >/dev/null
	check "without the policy the client reaches web2" ipb_ok client default "$w2" 80

	W endpoint create client2 --labels role=client >/dev/null || { fail "client2"; return; }
	local c2; c2=$(ep_ip client2)
	import - <<YAML || { fail "import"; return; }
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-ingress
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Ingress]
  ingress:
  - from:
    - ipBlock:
        cidr: 10.200.0.0/16
        except: [$c2/32]
YAML
	check_denied "ingress: web1 admits client, not client2 (same labels, in the except)" \
		ipb_ok client default "$w1" 80 -- ipb_ok client2 default "$w1" 80
	check_denied "ingress: the same at web2" \
		ipb_ok client default "$w2" 80 -- ipb_ok client2 default "$w2" 80
}

# Replacing an ipBlock: the old block stops at once, established flows to
# it included; the new one starts.
t_34_ipblock_update_replaces_block() {
	W endpoint create a --labels pod=a >/dev/null &&
	W endpoint create b --labels pod=b >/dev/null &&
	W endpoint create c --labels pod=c >/dev/null || { fail "endpoints"; return; }
	printf 'while :; do echo tick; sleep 0.1; done\n' >"$E2E_TMP/ipb-ticker.sh"
	W endpoint exec b -- socat TCP-LISTEN:7000,fork,reuseaddr \
		EXEC:"sh $E2E_TMP/ipb-ticker.sh" >/dev/null 2>&1 &
	wait_listen b 7000 || return
	serve_tcp b 80 && serve_tcp c 80 || return
	local b c n1 n2 n3; b=$(ep_ip b); c=$(ep_ip c)
	block_policy() {
		import - <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a-egress
spec:
  podSelector:
    matchLabels: {pod: a}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: $1/32}
YAML
	}
	block_policy "$b" || { fail "import"; return; }
	W endpoint exec a -- timeout 20 socat -u TCP:"$b":7000 - >"$E2E_TMP/ipb-ticks" 2>/dev/null &
	sleep 1
	n1=$(wc -l <"$E2E_TMP/ipb-ticks")
	check "the stream from b flows while b's block allows it ($n1 ticks)" test "$n1" -gt 3
	check_denied "c is not in the first block (b answers)" \
		ipb_ok a default "$b" 80 -- ipb_ok a default "$c" 80
	block_policy "$c" || { fail "import"; return; }
	sleep 1
	n2=$(wc -l <"$E2E_TMP/ipb-ticks")
	sleep 1.5
	n3=$(wc -l <"$E2E_TMP/ipb-ticks")
	host_ticks() { timeout 2 socat -u TCP:"$b":7000,connect-timeout=1 - 2>/dev/null | head -3 | grep -q tick; }
	check_controlled "the established stream from b stops within 1 s ($n2 -> $n3)" \
		host_ticks -- test "$n2" -eq "$n3"
	check "the new block: a reaches c" ipb_ok a default "$c" 80
	check_denied "the old block: a no longer reaches b (c answers)" \
		ipb_ok a default "$c" 80 -- ipb_ok a default "$b" 80
}

# A CiliumNetworkPolicy toCIDR with the very prefix an ipBlock names keeps
# Cilium's rule (it selects no pod); --cidr-rules-select-pods extends it.
t_35_ipblock_cnp_cidr_keeps_denying_pods() {
	W endpoint create k8s-client --labels role=k8s >/dev/null &&
	W endpoint create cnp-client --labels role=cnp >/dev/null &&
	W endpoint create server --labels app=server >/dev/null || { fail "endpoints"; return; }
	serve_tcp server 80 || return
	world_serve_tcp 80 || return
	local s; s=$(ep_ip server)
	import - <<YAML || { fail "import"; return; }
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: k8s-egress
spec:
  podSelector:
    matchLabels: {role: k8s}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: $s/32}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cnp-egress
spec:
  endpointSelector:
    matchLabels: {role: cnp}
  egress:
  - toCIDR: [$s/32, 10.250.0.2/32]
YAML
	check "the NetworkPolicy's ipBlock admits the pod" ipb_ok k8s-client default "$s" 80
	check_denied "the CNP's toCIDR with the same prefix does not (its world address does)" \
		ipb_ok cnp-client default 10.250.0.2 80 -- ipb_ok cnp-client default "$s" 80
	check "policy trace agrees: DENIED for the CNP client" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" policy trace --from cnp-client --to server --dport 80/tcp --json |
		 python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"verdict\"]==\"DENIED\", d'"

	reset_state
	stop_agent
	WARDEND_ARGS="--cidr-rules-select-pods" start_agent || { fail "agent with --cidr-rules-select-pods"; return; }
	check "status reports the option" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" status | grep -q 'CIDRs match pods: *yes'"
	W endpoint create cnp-client --labels role=cnp >/dev/null &&
	W endpoint create other --labels role=other >/dev/null &&
	W endpoint create server --labels app=server >/dev/null || { fail "endpoints"; return; }
	serve_tcp server 80 && serve_tcp other 80 || return
	s=$(ep_ip server)
	import - <<YAML || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cnp-egress
spec:
  endpointSelector:
    matchLabels: {role: cnp}
  egress:
  - toCIDR: [$s/32]
YAML
	check_denied "--cidr-rules-select-pods: the toCIDR admits the pod inside it, not another" \
		ipb_ok cnp-client default "$s" 80 -- ipb_ok cnp-client default "$(ep_ip other)" 80
	reset_state
	stop_agent
	WARDEND_ARGS='' start_agent || fail "agent restarted with defaults"
}
