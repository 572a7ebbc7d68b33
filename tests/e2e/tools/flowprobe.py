#!/usr/bin/env python3
"""Many flows at once, for tests that compare the datapath with a model.

  flowprobe.py serve TCP_PORTS UDP_PORTS
      answer "pong" on every TCP port and every UDP port (comma lists);
      runs until killed.
  flowprobe.py probe TIMEOUT CASE...
      CASE is IP:PORT/tcp or IP:PORT/udp; every case runs in parallel and
      one line per case is printed: "CASE RESULT MS" where RESULT is ok,
      refused (RST or ICMP unreachable: the client failed fast), timeout or
      error:... and MS the milliseconds the case took.

Runs inside an endpoint (`warden endpoint exec NAME -- python3 flowprobe.py`).
Only addresses the test gives are contacted.
"""
import errno
import socket
import sys
import threading
import time


def serve(tcp_ports, udp_ports):
    def tcp_loop(port):
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("0.0.0.0", port))
        srv.listen(128)
        while True:
            conn, _ = srv.accept()
            try:
                conn.sendall(b"pong\n")
            except OSError:
                pass
            conn.close()

    def udp_loop(port):
        srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        srv.bind(("0.0.0.0", port))
        while True:
            _, peer = srv.recvfrom(2048)
            srv.sendto(b"pong\n", peer)

    threads = [threading.Thread(target=tcp_loop, args=(p,), daemon=True) for p in tcp_ports]
    threads += [threading.Thread(target=udp_loop, args=(p,), daemon=True) for p in udp_ports]
    for t in threads:
        t.start()
    print("serving", flush=True)
    while True:
        time.sleep(3600)


def probe_one(case, timeout, results):
    addr, proto = case.rsplit("/", 1)
    ip, port = addr.rsplit(":", 1)
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(timeout)
    start = time.monotonic()
    try:
        s.connect((ip, int(port)))
        if proto == "udp":
            s.send(b"ping\n")
        data = s.recv(64)
        results[case] = "ok" if data.startswith(b"pong") else "error:%r" % data
    except socket.timeout:
        results[case] = "timeout"
    except OSError as e:
        fast = (errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH)
        results[case] = "refused" if e.errno in fast else "error:%s" % e.strerror
    finally:
        s.close()
        results[case] = (results.get(case, "error:none"), (time.monotonic() - start) * 1000)


def probe(timeout, cases):
    results = {}
    threads = [threading.Thread(target=probe_one, args=(c, timeout, results)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in cases:
        result, ms = results.get(c, ("error:no-result", 0))
        print(c, result, "%d" % ms)


def ports(text):
    return [int(p) for p in text.split(",") if p]


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(ports(sys.argv[2]), ports(sys.argv[3]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "probe":
        probe(float(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(__doc__)
