# shellcheck shell=bash
# Entities (host, world, all) and CIDR rules with except, using a namespace
# Warden does not manage as "world" (10.250.0.0/24).

t_20_entities_host_world() {
	W endpoint create web --labels app=web >/dev/null || { fail "endpoint"; return; }
	serve_tcp web 80 || return
	world_serve_tcp 80 || return
	local s; s=$(ep_ip web)
	world_tcp_ok() { [ "$(world timeout 3 socat -T2 - TCP:"$1":80,connect-timeout=2 </dev/null 2>/dev/null)" = pong ]; }
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: nothing-allowed
spec:
  endpointSelector:
    matchLabels: {app: web}
  ingress:
  - {}
YAML
	check_denied "default deny: world dropped (the host, always allowed, gets through)" \
		host_tcp_ok "$s" 80 -- world_tcp_ok "$s"
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: nothing-allowed
spec:
  endpointSelector:
    matchLabels: {app: web}
  ingress:
  - fromEntities: [world]
YAML
	check "fromEntities world admits the unmanaged namespace" world_tcp_ok "$s"
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: egress-host-only
spec:
  endpointSelector:
    matchLabels: {app: web}
  egress:
  - toEntities: [host]
YAML
	check "toEntities host: web pings the host" ping_ok web 10.200.0.1
	check_denied "toEntities host: web cannot reach world (which answers the host)" \
		host_ping_ok 10.250.0.2 -- ping_ok web 10.250.0.2
	check_denied "toEntities host: web's TCP to world dropped too (world serves the host)" \
		host_tcp_ok 10.250.0.2 80 -- tcp_ok web 10.250.0.2 80
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: egress-host-only
spec:
  endpointSelector:
    matchLabels: {app: web}
  egress:
  - toEntities: [all]
YAML
	check "toEntities all: web reaches world" ping_ok web 10.250.0.2
	check "toEntities all: web's TCP to world too" tcp_ok web 10.250.0.2 80
}

t_21_cidr_with_except() {
	W endpoint create web --labels app=web >/dev/null || { fail "endpoint"; return; }
	world_serve_tcp 80 || return
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: cidr
spec:
  endpointSelector:
    matchLabels: {app: web}
  egress:
  - toCIDRSet:
    - cidr: 10.250.0.0/24
      except: [10.250.0.5/32]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
YAML
	check "10.250.0.2 inside the CIDR allowed" tcp_ok web 10.250.0.2 80
	check "10.250.0.3 inside the CIDR allowed" tcp_ok web 10.250.0.3 80
	check_denied "10.250.0.5 (except) dropped (it answers the host)" \
		host_tcp_ok 10.250.0.5 80 -- tcp_ok web 10.250.0.5 80
	check "CIDR identities were allocated" bash -c "\"$WARDEN\" --socket \"$SOCK\" identity list --json | grep -q '10.250.0.5/32'"
	W policy delete cidr >/dev/null
	check "CIDR identities released with the policy (the list still has the others)" bash -c \
		"\"$WARDEN\" --socket \"$SOCK\" identity list --json | python3 -c '
import json, sys
ids = json.load(sys.stdin)
assert ids, \"empty identity list\"
assert not [i for i in ids if \"10.250.0.5/32\" in json.dumps(i)], ids
'"
}
