# shellcheck shell=bash
# The Prometheus endpoint (127.0.0.1:9962): counters move as traffic flows.

metric() { # NAME-with-labels -> value (0 if absent)
	curl -s -m 2 http://127.0.0.1:9962/metrics | awk -v m="$1" '$1 == m { print $2; found=1 } END { if (!found) print 0 }'
}

t_70_metrics_move_with_traffic() {
	need_corpus || return
	l7_cast || return
	local ds before_drop before_fwd
	ds=$(ep_ip deathstar)
	import "$CORPUS/cilium/minikube/sw_l3_l4_l7_policy.yaml" || { fail "import"; return; }
	check "the endpoint answers in the Prometheus text format" bash -c \
		"curl -s -m 2 http://127.0.0.1:9962/metrics | grep -q '^# TYPE warden_drop_packets_total counter'"
	before_drop=$(metric 'warden_drop_packets_total{endpoint="default/deathstar",direction="ingress",reason="policy_denied"}')
	before_fwd=$(metric 'warden_forwarded_packets_total{endpoint="default/deathstar",direction="ingress"}')
	W endpoint exec xwing -- curl -s -m 2 "http://$ds/v1" >/dev/null 2>&1
	http tiefighter POST "http://$ds/v1/request-landing" >/dev/null
	http tiefighter PUT "http://$ds/v1/exhaust-port" >/dev/null
	sleep 0.3
	check "policy-denied drops at the deathstar went up" test \
		"$(metric 'warden_drop_packets_total{endpoint="default/deathstar",direction="ingress",reason="policy_denied"}')" -gt "$before_drop"
	check "forwarded packets at the deathstar went up" test \
		"$(metric 'warden_forwarded_packets_total{endpoint="default/deathstar",direction="ingress"}')" -gt "$before_fwd"
	check "proxy: one forwarded and one denied request counted" bash -c \
		"[ \"\$1\" -ge 1 ] && [ \"\$2\" -ge 1 ]" _ \
		"$(metric 'warden_proxy_requests_total{verdict="forwarded"}')" \
		"$(metric 'warden_proxy_requests_total{verdict="denied"}')"
	check "policy imports and identities are exported" bash -c \
		"[ \"\$1\" -ge 1 ] && [ \"\$2\" -ge 13 ]" _ \
		"$(metric warden_policy_imports_total)" "$(metric warden_identities)"
}
