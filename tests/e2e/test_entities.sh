# shellcheck shell=bash
# Entities (host, world, all) and CIDR rules with except, using a namespace
# Warden does not manage as "world" (10.250.0.0/24).

t_20_entities_host_world() {
	W endpoint create web --labels app=web >/dev/null || { fail "endpoint"; return; }
	serve_tcp web 80; wait_listen web 80
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
	check_not "default deny: world dropped" world_tcp_ok "$s"
	check "the local host can still reach its endpoint" bash -c "[ \"\$(timeout 3 socat -T2 - TCP:$s:80 </dev/null)\" = pong ]"
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
	check_not "toEntities host: web cannot reach world" ping_ok web 10.250.0.2
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
}

t_21_cidr_with_except() {
	W endpoint create web --labels app=web >/dev/null || { fail "endpoint"; return; }
	world socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo pong' >/dev/null 2>&1 &
	sleep 0.3
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
	check_not "10.250.0.5 (except) dropped" tcp_ok web 10.250.0.5 80
	check "CIDR identities were allocated" bash -c "\"$WARDEN\" --socket \"$SOCK\" identity list --json | grep -q '10.250.0.5/32'"
	W policy delete cidr >/dev/null
	check "CIDR identities released with the policy" bash -c "! \"$WARDEN\" --socket \"$SOCK\" identity list --json | grep -q '10.250.0.5/32'"
}
