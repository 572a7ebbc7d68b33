# shellcheck shell=bash
# L3 selectors, L4 ports (numbered, named, ranges), egress, deny precedence.

two_clients() {
	W endpoint create server --labels app=server --port web=8080/TCP >/dev/null &&
	W endpoint create client-a --labels app=client,tier=front >/dev/null &&
	W endpoint create client-b --labels app=client,tier=back >/dev/null
}

t_10_match_expressions() {
	two_clients || { fail "endpoints"; return; }
	serve_tcp server 80 || return
	local s; s=$(ep_ip server)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: expr
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - fromEndpoints:
    - matchExpressions:
      - {key: tier, operator: In, values: [front, edge]}
      - {key: app, operator: Exists}
      - {key: forbidden, operator: DoesNotExist}
YAML
	check "tier=front (In) allowed" tcp_ok client-a "$s" 80
	check_denied "tier=back (not In) dropped" tcp_ok client-a "$s" 80 -- tcp_ok client-b "$s" 80
	W endpoint label client-a forbidden=yes >/dev/null
	check_denied "adding a DoesNotExist label revokes access (the host still gets through)" \
		host_tcp_ok "$s" 80 -- tcp_ok client-a "$s" 80
}

t_11_l4_port_named_port_and_range() {
	two_clients || { fail "endpoints"; return; }
	serve_tcp server 80 && serve_tcp server 8080 && serve_tcp server 9005 &&
		serve_tcp server 9100 && serve_udp server 9006 || return
	local s; s=$(ep_ip server)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ports
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - toPorts:
    - ports:
      - {port: web, protocol: TCP}
      - {port: "9000", endPort: 9010, protocol: TCP}
YAML
	check "named port web (8080) allowed" tcp_ok client-a "$s" 8080
	check "9005 inside 9000-9010 allowed" tcp_ok client-b "$s" 9005
	# Controls: the host reaches the very server each client is denied.
	check_denied "9100 outside the range dropped" host_tcp_ok "$s" 9100 -- tcp_ok client-a "$s" 9100
	check_denied "port 80 not listed dropped" host_tcp_ok "$s" 80 -- tcp_ok client-a "$s" 80
	check_denied "UDP 9006 dropped (rule is TCP only)" \
		host_udp_ok "$s" 9006 -- udp_ok client-a "$s" 9006
}

t_12_udp_rule() {
	two_clients || { fail "endpoints"; return; }
	serve_udp server 53 && serve_udp server 54 || return
	local s; s=$(ep_ip server)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: dns
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "53", protocol: UDP}]
YAML
	check "UDP 53 allowed, reply passes via conntrack" udp_ok client-a "$s" 53
	check_denied "UDP 54 dropped" host_udp_ok "$s" 54 -- udp_ok client-a "$s" 54
}

t_13_egress() {
	two_clients || { fail "endpoints"; return; }
	serve_tcp server 80 && serve_tcp client-b 80 || return
	local s b; s=$(ep_ip server); b=$(ep_ip client-b)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: egress
spec:
  endpointSelector:
    matchLabels: {tier: front}
  egress:
  - toEndpoints: [{matchLabels: {app: server}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
YAML
	check "client-a egress to server:80 allowed" tcp_ok client-a "$s" 80
	check_denied "client-a egress to client-b:80 dropped" \
		tcp_ok server "$b" 80 -- tcp_ok client-a "$b" 80
	check_denied "client-a egress ICMP dropped" ping_ok client-b "$s" -- ping_ok client-a "$s"
	check "client-b (not selected) unaffected" tcp_ok client-b "$s" 80
	check "egress enforcement shown" bash -c "\"$WARDEN\" --socket \"$SOCK\" endpoint get client-a --json | grep -q '\"egress\": *true'"
}

t_14_deny_beats_allow() {
	two_clients || { fail "endpoints"; return; }
	serve_tcp server 80 && serve_tcp server 81 || return
	local s; s=$(ep_ip server)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-all-clients
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: deny-back-80
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {tier: back}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
YAML
	check "client-a allowed on 80" tcp_ok client-a "$s" 80
	check_denied "client-b denied on 80 (deny wins over the L3 allow)" \
		tcp_ok client-a "$s" 80 -- tcp_ok client-b "$s" 80
	check "client-b still allowed on 81" tcp_ok client-b "$s" 81
}

t_15_label_change_moves_endpoint() {
	two_clients || { fail "endpoints"; return; }
	serve_tcp server 80 || return
	local s id1 id2; s=$(ep_ip server)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: front-only
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - fromEndpoints: [{matchLabels: {tier: front}}]
YAML
	check_denied "client-b (tier=back) dropped" tcp_ok client-a "$s" 80 -- tcp_ok client-b "$s" 80
	id1=$(ep_field client-b '["identity"]')
	check "relabel client-b tier=front" W endpoint label client-b tier=front
	id2=$(ep_field client-b '["identity"]')
	check "identity changed with the labels" test "$id1" != "$id2"
	check "client-b now allowed" tcp_ok client-b "$s" 80
	check "client-a and client-b share one identity now" test "$id2" = "$(ep_field client-a '["identity"]')"
	W endpoint label server app- >/dev/null
	check "server without app label is no longer selected: open to all" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" endpoint get server --json | grep -q '\"ingress\": *false'"
}

t_16_icmp_types() {
	two_clients || { fail "endpoints"; return; }
	serve_tcp server 80 || return
	local s; s=$(ep_ip server)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: ping-only
spec:
  endpointSelector:
    matchLabels: {app: server}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    icmps:
    - fields:
      - {type: EchoRequest, family: IPv4}
YAML
	check "icmps EchoRequest: ping allowed (reply via conntrack)" ping_ok client-a "$s"
	check_denied "icmps only: TCP/80 dropped" host_tcp_ok "$s" 80 -- tcp_ok client-a "$s" 80
}
