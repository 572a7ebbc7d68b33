#!/usr/bin/env bash
# Run one etcd for the tests, on loopback, with everything in DIR.
#   tests/kvstore/etcd-ctl.sh DIR start   start it (free ports picked once, kept
#                                         in DIR so a restart reuses them); waits
#                                         until it answers; prints the client URL
#   tests/kvstore/etcd-ctl.sh DIR kill    SIGKILL, as a crash would
#   tests/kvstore/etcd-ctl.sh DIR stop    SIGTERM, waits for the exit
# Only the etcd whose pid is in DIR/pid is ever signalled.
set -u
dir=$1
cmd=$2

running() {
	[ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null
}

wait_gone() {
	local pid=$1 i
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

case $cmd in
start)
	command -v etcd >/dev/null || { echo "etcd is not installed (apt-get install etcd-server)" >&2; exit 1; }
	mkdir -p "$dir"
	if [ ! -f "$dir/ports" ]; then
		# Two free loopback ports, held together so they differ.
		python3 -c 'import socket
a = socket.socket(); a.bind(("127.0.0.1", 0))
b = socket.socket(); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])' >"$dir/ports" || exit 1
	fi
	read -r client peer <"$dir/ports"
	url=http://127.0.0.1:$client
	echo "$url" >"$dir/endpoint"
	running && { echo "$url"; exit 0; }
	etcd --name warden-test --data-dir "$dir/data" \
		--listen-client-urls "$url" --advertise-client-urls "$url" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "warden-test=http://127.0.0.1:$peer" \
		--logger zap --log-level warn >>"$dir/etcd.log" 2>&1 </dev/null &
	echo $! >"$dir/pid"
	for _ in $(seq 200); do
		if curl -sf -m 1 "$url/health" 2>/dev/null | grep -q '"health":"true"'; then
			echo "$url"
			exit 0
		fi
		running || break
		sleep 0.05
	done
	echo "etcd did not come up on $url; its log:" >&2
	tail -20 "$dir/etcd.log" >&2
	exit 1
	;;
kill | stop)
	running || exit 0
	pid=$(cat "$dir/pid")
	if [ "$cmd" = kill ]; then kill -KILL "$pid"; else kill -TERM "$pid"; fi
	wait_gone "$pid" || { kill -KILL "$pid" 2>/dev/null; wait_gone "$pid"; }
	rm -f "$dir/pid"
	;;
*)
	echo "usage: $0 DIR start|kill|stop" >&2
	exit 2
	;;
esac
