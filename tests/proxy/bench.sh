#!/usr/bin/env bash
# Keep-alive throughput on loopback: wrk straight to nginx, through
# warden-proxy (--upstream mode, one L7 rule GET /public.* judged per
# request) and, when installed, through HAProxy doing the same filtering.
# Runs alternate (ROUNDS times each) so background noise hits all alike;
# prints every run and the median requests/s.
#
#   tests/proxy/bench.sh [ROUNDS] [DURATION]      (defaults 3, 5s)
#   WRK_ARGS="-t2 -c50" WORKERS=2 tests/proxy/bench.sh
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROXY=${PROXY:-$ROOT/build/warden-proxy}
ROUNDS=${1:-3}
DURATION=${2:-5s}
WRK_ARGS=${WRK_ARGS:--t2 -c50}
WORKERS=${WORKERS:-$(nproc)}
SRV=127.0.0.2
SRV_PORT=${SRV_PORT:-25180}
PX_PORT=${PX_PORT:-25101}
HAP_PORT=$((PX_PORT + 2))
T=$(mktemp -d /tmp/warden-proxy-bench.XXXXXX)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in wrk nginx; do
	command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install wrk nginx-light)"; exit 1; }
done
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on $1:$2"
	exit 1
}

chmod 755 "$T" # nginx workers run as nobody
mkdir -p "$T/www/public" "$T/logs"
head -c 612 /dev/zero | tr '\0' x >"$T/www/public/index.html" # nginx's welcome page size
cat >"$T/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $T/nginx.pid;
error_log $T/logs/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 75s;
	server { listen $SRV:$SRV_PORT reuseport; root $T/www; }
}
EOF
cat >"$T/policy.json" <<EOF
{"revision": 1,
 "ipcache": [{"prefix": "$SRV/32", "identity": 256}],
 "identities": [{"id": 256, "labels": ["k8s:app=server"]}],
 "endpoints": [{"id": 1, "name": "default/server", "ipv4": "$SRV", "identity": 256}],
 "l7": [{"endpoint": 1, "direction": "ingress", "port": $SRV_PORT, "identity": 0, "exempt": [],
         "rules": [{"method": "GET", "path": "/public.*", "host": null, "headers": [], "cookie": 1}]}]}
EOF
cat >"$T/haproxy.cfg" <<EOF
global
	nbthread $WORKERS
	maxconn 4000
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout http-request 10s
	timeout http-keep-alive 60s
	option http-keep-alive
frontend fe
	bind 127.0.0.1:$HAP_PORT
	http-request deny deny_status 403 unless { method GET } { path_reg ^/public.*\$ }
	default_backend be
backend be
	server s1 $SRV:$SRV_PORT
EOF

nginx -c "$T/nginx.conf" -p "$T" >/dev/null 2>&1 &
PIDS+=($!)
"$PROXY" --policy "$T/policy.json" --port "$PX_PORT" --bind 127.0.0.1 --workers "$WORKERS" \
	--upstream "$SRV:$SRV_PORT" >"$T/proxy.log" 2>&1 &
PIDS+=($!)
targets=("direct http://$SRV:$SRV_PORT/public/index.html"
	"warden-proxy http://127.0.0.1:$PX_PORT/public/index.html")
if command -v haproxy >/dev/null; then
	haproxy -f "$T/haproxy.cfg" -db >"$T/haproxy.log" 2>&1 &
	PIDS+=($!)
	wait_port 127.0.0.1 "$HAP_PORT"
	targets+=("haproxy http://127.0.0.1:$HAP_PORT/public/index.html")
fi
wait_port "$SRV" "$SRV_PORT"
wait_port 127.0.0.1 "$PX_PORT"
for t in "${targets[@]}"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "${t#* }")
	[ "$code" = 200 ] || { echo "${t%% *}: GET answered $code"; exit 1; }
done

declare -A runs
echo "wrk $WRK_ARGS -d$DURATION, $ROUNDS rounds, proxy workers: $WORKERS"
for r in $(seq "$ROUNDS"); do
	for t in "${targets[@]}"; do
		# shellcheck disable=SC2086
		rps=$(wrk $WRK_ARGS -d"$DURATION" "${t#* }" | awk '/Requests\/sec/ {print int($2)}')
		runs[${t%% *}]+="$rps "
		printf '  round %d  %-13s %8s req/s\n' "$r" "${t%% *}" "$rps"
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
direct=$(median <<<"${runs[direct]}")
echo "median requests/s:"
for t in "${targets[@]}"; do
	name=${t%% *}
	m=$(median <<<"${runs[$name]}")
	printf '  %-13s %8d  (%.2fx direct)\n' "$name" "$m" "$(awk -v a="$m" -v b="$direct" 'BEGIN {print a / b}')"
done
