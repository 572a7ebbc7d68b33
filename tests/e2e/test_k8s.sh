# shellcheck shell=bash
# Kubernetes NetworkPolicy: namespaceSelector and podSelector in one peer
# (AND) versus two peers (OR), with namespace labels.

t_30_k8s_namespace_and_pod_selector() {
	W namespace label prod team=payments >/dev/null &&
	W namespace label dev team=payments >/dev/null &&
	W endpoint create db --namespace prod --labels app=db >/dev/null &&
	W endpoint create api --namespace prod --labels app=api >/dev/null &&
	W endpoint create other --namespace prod --labels app=other >/dev/null &&
	W endpoint create devapi --namespace dev --labels app=api >/dev/null &&
	W endpoint create stray --labels app=api >/dev/null || { fail "endpoints"; return; }
	serve_tcp db 5432 prod || return
	local db; db=$(ep_ip db prod)
	ok_from() { [ "$(W endpoint exec "$1" --namespace "$2" -- timeout 3 socat -T2 - TCP:"$db":5432,connect-timeout=2 </dev/null 2>/dev/null)" = pong ]; }
	import - <<'YAML' || { fail "import"; return; }
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-one-peer
  namespace: prod
spec:
  podSelector:
    matchLabels: {app: db}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {team: payments}
      podSelector:
        matchLabels: {app: api}
    ports:
    - port: 5432
YAML
	check "one peer (AND): api in prod allowed" ok_from api prod
	check "one peer (AND): api in dev (team=payments) allowed" ok_from devapi dev
	check_denied "one peer (AND): other in prod dropped" \
		ok_from api prod -- ok_from other prod
	check_denied "one peer (AND): api in default (no team label) dropped" \
		ok_from api prod -- ok_from stray default
	import - <<'YAML' || { fail "import"; return; }
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-one-peer
  namespace: prod
spec:
  podSelector:
    matchLabels: {app: db}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {team: payments}
    - podSelector:
        matchLabels: {app: api}
    ports:
    - port: 5432
YAML
	check "two peers (OR): other in prod allowed via the namespace" ok_from other prod
	check_denied "two peers (OR): api in default dropped (podSelector is namespace-local)" \
		ok_from other prod -- ok_from stray default
	W namespace label default team=payments >/dev/null
	check "labelling namespace default team=payments admits it" ok_from stray default
}
