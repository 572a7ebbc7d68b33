# shellcheck shell=bash
# Revoking access cuts an established connection within a second
# (Cilium keeps such connections alive).

t_40_revocation_cuts_established_connection() {
	W endpoint create stream --labels app=stream >/dev/null &&
	W endpoint create reader --labels app=reader >/dev/null || { fail "endpoints"; return; }
	# socat cuts SYSTEM: commands at ';', so the ticker is a script.
	printf 'while :; do echo tick; sleep 0.1; done\n' >"$E2E_TMP/ticker.sh"
	W endpoint exec stream -- socat TCP-LISTEN:7000,fork,reuseaddr \
		EXEC:"sh $E2E_TMP/ticker.sh" >/dev/null 2>&1 &
	wait_listen stream 7000 || return
	local s n1 n2 n3; s=$(ep_ip stream)
	import - <<'YAML' || { fail "import"; return; }
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-reader
spec:
  endpointSelector:
    matchLabels: {app: stream}
  ingress:
  - fromEndpoints: [{matchLabels: {app: reader}}]
YAML
	W endpoint exec reader -- timeout 20 socat -u TCP:"$s":7000 - >"$E2E_TMP/ticks" 2>/dev/null &
	sleep 1
	n1=$(wc -l <"$E2E_TMP/ticks")
	check "the stream flows while allowed ($n1 ticks)" test "$n1" -gt 3
	cat >"$E2E_TMP/revoke.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-reader
spec:
  endpointSelector:
    matchLabels: {app: stream}
  ingress:
  - fromEndpoints: [{matchLabels: {app: nobody}}]
YAML
	W policy import "$E2E_TMP/revoke.yaml" >/dev/null
	sleep 1
	n2=$(wc -l <"$E2E_TMP/ticks")
	sleep 1.5
	n3=$(wc -l <"$E2E_TMP/ticks")
	# Control: the stream server still streams (to the host, always allowed).
	host_ticks() { timeout 2 socat -u TCP:"$s":7000,connect-timeout=1 - 2>/dev/null | head -3 | grep -q tick; }
	check_controlled "no data arrives later than 1 s after the revoke ($n2 -> $n3)" \
		host_ticks -- test "$n2" -eq "$n3"
	check "the revoked flow shows as a drop" bash -c "\"$WARDEN\" --socket \"$SOCK\" status --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"drops\"] > 0'"
}
