#!/usr/bin/env python3
"""Clients that misbehave towards wardend, for tests/control/run.sh.

Every subcommand prints one result line (key=value words) on stdout;
run.sh judges them. Subcommands that hold connections open print "ready"
once set up and then wait until they are killed (or for their duration).

  status-latency SOCK COUNT            COUNT `status` requests in turn, one
                                       connection each (as the CLI does)
  concurrent SOCK N                    N clients at once, one `status` each
  monitor-stuck SOCK LAST              a follow monitor that never reads
  half SOCK SECONDS                    half a request, then silence; what came back
  oversized SOCK BYTES                 BYTES without a newline
  malformed SOCK                       bad lines on one connection, then status
  double-monitor SOCK                  two monitor requests on one connection
                                       (one with leading blanks), closed; then
                                       a new client must see only its reply
  hold SOCK N                          N connections that send nothing
  tcp-idle HOST PORT N SECONDS         N TCP connections that send nothing
  tcp-idle-forever HOST PORT N         keep N such connections open
  scrape HOST PORT                     one GET /metrics, timed
  udp-flood IP PORT SECONDS [RATE]     datagrams as fast as possible (or RATE/s)
  ticks-reader IP PORT OUT             connect; time of every line into OUT
  probe-until IP PORT SECONDS          connect attempts until one succeeds:
                                       "probing" after the first failure, then
                                       the time of the success (or "never")
"""
import json
import os
import resource
import select
import socket
import sys
import time


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def unix(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def request(cmd, args=None):
    return (json.dumps({"cmd": cmd, "args": args or {}}) + "\n").encode()


def read_line(s, deadline=5.0):
    buf = b""
    end = time.monotonic() + deadline
    while b"\n" not in buf:
        left = end - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            return None
        except OSError:
            return buf.decode(errors="replace") if buf else None
        if not data:
            return buf.decode(errors="replace") if buf else None
        buf += data
    return buf.split(b"\n", 1)[0].decode(errors="replace")


def hold_forever(seconds=None):
    print("ready", flush=True)
    end = time.monotonic() + seconds if seconds else None
    while end is None or time.monotonic() < end:
        time.sleep(0.2)


def status_latency(path, count):
    times = []
    errors = 0
    for _ in range(count):
        t0 = time.monotonic()
        try:
            s = unix(path, timeout=30)
            s.sendall(request("status"))
            line = read_line(s, 30)
            s.close()
            if not line or not json.loads(line).get("ok"):
                errors += 1
        except OSError:
            errors += 1
        times.append((time.monotonic() - t0) * 1000)
        time.sleep(0.02)
    times.sort()
    print(f"count={count} errors={errors} median_ms={times[len(times) // 2]:.1f} "
          f"max_ms={times[-1]:.1f}")


def concurrent(path, n):
    raise_nofile(n + 64)
    t0 = time.monotonic()
    socks = []
    connect_errors = 0
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            connect_errors += 1
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
    pending = {}
    for s in socks:
        try:
            s.send(request("status"))
            pending[s.fileno()] = (s, b"")
        except OSError:
            pass
    ok = refused = other = 0
    messages = set()
    deadline = time.monotonic() + 60
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLIN)
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(1000):
            s, buf = pending[fd]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            buf += data
            if b"\n" in buf or not data:
                poller.unregister(fd)
                del pending[fd]
                line = buf.split(b"\n", 1)[0]
                try:
                    reply = json.loads(line)
                    if reply.get("ok"):
                        ok += 1
                    else:
                        refused += 1
                        messages.add(reply.get("error"))
                except ValueError:
                    other += 1
                s.close()
            else:
                pending[fd] = (s, buf)
    elapsed = (time.monotonic() - t0) * 1000
    for s, _ in pending.values():
        s.close()
    print(f"clients={n} ok={ok} refused={refused} unanswered={len(pending) + other} "
          f"connect_errors={connect_errors} elapsed_ms={elapsed:.0f}")
    for m in sorted(x for x in messages if x):
        print(f"error: {m}")


def monitor_stuck(path, last):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(path)
    s.sendall(request("monitor", {"last": last, "follow": True}))
    hold_forever()


def half(path, seconds):
    s = unix(path)
    t0 = time.monotonic()
    s.sendall(b'{"cmd": "sta')
    print("ready", flush=True)
    line = read_line(s, seconds)
    closed = False
    if line is not None:
        s.settimeout(2)
        try:
            closed = s.recv(1) == b""
        except OSError:
            closed = True
    print(f"after_s={time.monotonic() - t0:.1f} closed={int(closed)} reply={line}", flush=True)


def oversized(path, size):
    s = unix(path, timeout=10)
    chunk = b"x" * 65536
    sent = 0
    try:
        while sent < size:
            sent += s.send(chunk[: min(len(chunk), size - sent)])
    except OSError as e:
        # The agent may refuse before everything is sent.
        print(f"send stopped after {sent} bytes: {e.strerror}", file=sys.stderr)
    line = read_line(s, 10)
    closed = False
    if line is not None:
        s.settimeout(5)
        try:
            closed = s.recv(1) == b""
        except OSError:
            closed = True
    print(f"sent={sent} closed={int(closed)} reply={line}")


def malformed(path):
    lines = [b"not json", b"[1, 2]", b"{}", b'{"cmd": 5}', b'{"cmd": "no.such"}',
             b'{"cmd": "status", "args": [1]}', b'{"cmd": "identity.get", "args": {"id": "x"}}',
             b'\x00\xff\xfe{', b'{"cmd": "endpoint.create", "args": {"name": 1}}',
             b'{"cmd": "policy.import", "args": {"documents": [{"file": 1}]}}',
             b'"' + b"\\u0000" * 10 + b'"', b"   ", b'{"cmd": "status"',
             # An error text long enough to be cut inside a character.
             ('{"cmd": "' + "\u20ac" * 1000 + '"}').encode()]
    s = unix(path)
    errors = 0
    bad = []
    for line in lines:
        s.sendall(line + b"\n")
        reply = read_line(s)
        try:
            obj = json.loads(reply) if reply else None
        except ValueError:
            obj = None
        if isinstance(obj, dict) and obj.get("ok") is False and obj.get("error"):
            errors += 1
        else:
            bad.append(f"{line[:30]!r} -> {reply!r}")
    s.sendall(request("status"))
    reply = read_line(s)
    status_ok = bool(reply) and json.loads(reply).get("ok") is True
    print(f"lines={len(lines)} error_replies={errors} status_after={int(status_ok)}")
    for b in bad:
        print(f"unexpected: {b}")


def read_reply(s, deadline=5.0):
    """The next line that is a reply ({"ok": ...}), skipping monitor events."""
    end = time.monotonic() + deadline
    buf = b""
    s.settimeout(0.2)
    while time.monotonic() < end:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b'{"ok"'):
                return line.decode(errors="replace")
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return None
        if not data:
            return None
        buf += data
    return None


def double_monitor(path):
    a = unix(path)
    a.sendall(request("monitor", {"follow": True}))
    first = read_reply(a)
    a.sendall(request("monitor", {"follow": True}))
    second = read_reply(a)
    a.sendall(b"  \t" + request("monitor", {"follow": True}))
    third = read_reply(a)
    a.close()
    time.sleep(0.2)
    # A new client, likely given the descriptor number the first one had:
    # it must get its reply and nothing else (no monitor events).
    b = unix(path)
    b.sendall(request("status"))
    reply = read_line(b)
    extra = b""
    end = time.monotonic() + 1.5
    b.setblocking(False)
    while time.monotonic() < end:
        r, _, _ = select.select([b], [], [], 0.1)
        if r:
            try:
                data = b.recv(65536)
            except OSError:
                break
            if not data:
                break
            extra += data
    ok = bool(reply) and json.loads(reply).get("ok") is True
    print(f"first={json.dumps(first)} second={json.dumps(second)} third={json.dumps(third)} "
          f"status_ok={int(ok)} extra_bytes={len(extra)}")


def hold(path, n, seconds):
    raise_nofile(n + 64)
    socks = []
    failed = 0
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            socks.append(s)
        except OSError:
            failed += 1
            s.close()
    refused = 0
    messages = set()
    time.sleep(1.0)
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data:
            refused += 1
            try:
                messages.add(json.loads(data.split(b"\n")[0]).get("error"))
            except ValueError:
                messages.add(repr(data[:80]))
    print(f"connections={len(socks)} connect_failed={failed} refused_with_message={refused}")
    for m in sorted(x for x in messages if x):
        print(f"error: {m}")
    sys.stdout.flush()
    hold_forever(seconds)


def tcp_idle(host, port, n, seconds):
    raise_nofile(n + 64)
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        socks.append(s)
    t0 = time.monotonic()
    print("ready", flush=True)
    open_socks = {s.fileno(): s for s in socks}
    lifetimes = []
    while open_socks and time.monotonic() - t0 < seconds:
        r, _, _ = select.select(list(open_socks.values()), [], [], 0.1)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                lifetimes.append(time.monotonic() - t0)
                del open_socks[s.fileno()]
                s.close()
    print(f"connections={n} closed_by_server={len(lifetimes)} "
          f"max_lifetime_s={max(lifetimes) if lifetimes else -1:.2f}", flush=True)


def tcp_idle_forever(host, port, n):
    """Keep n silent connections open: a new one for each the server closes."""
    raise_nofile(n + 64)
    socks = set()
    print("ready", flush=True)
    while True:
        while len(socks) < n:
            try:
                s = socket.create_connection((host, port), timeout=2)
                s.setblocking(False)
                socks.add(s)
            except OSError:
                time.sleep(0.05)
                break
        r, _, _ = select.select(list(socks), [], [], 0.1)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                socks.discard(s)
                s.close()


def scrape(host, port):
    t0 = time.monotonic()
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n", 1)[0].decode(errors="replace")
    print(f"status={head!r} bytes={len(data)} ms={(time.monotonic() - t0) * 1000:.1f}")


def udp_flood(ip, port, seconds, rate=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    end = time.monotonic() + seconds
    sent = 0
    payload = b"x" * 32
    src = 0
    burst = 256 if not rate else max(1, rate // 100)
    print("ready", flush=True)
    while time.monotonic() < end:
        if rate:
            time.sleep(0.01)
        for _ in range(burst):
            try:
                s.sendto(payload, (ip, port + (src % 64)))
                sent += 1
            except (BlockingIOError, OSError):
                pass
            src += 1
    print(f"sent={sent}", file=sys.stderr)


def ticks_reader(ip, port, out):
    s = socket.create_connection((ip, port), timeout=5)
    s.settimeout(None)
    with open(out, "w") as f:
        buf = b""
        while True:
            try:
                data = s.recv(4096)
            except OSError:
                break
            if not data:
                break
            buf += data
            while b"\n" in buf:
                _, buf = buf.split(b"\n", 1)
                f.write(f"{time.time():.6f}\n")
                f.flush()


def probe_until(ip, port, seconds):
    end = time.monotonic() + seconds
    first = True
    while time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.05)
        try:
            s.connect((ip, port))
            print(f"{time.time():.6f}")
            return 0
        except OSError:
            if first:
                print("probing", flush=True)
                first = False
        finally:
            s.close()
    print("never")
    return 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "status-latency":
        status_latency(args[0], int(args[1]))
    elif cmd == "concurrent":
        concurrent(args[0], int(args[1]))
    elif cmd == "monitor-stuck":
        monitor_stuck(args[0], int(args[1]))
    elif cmd == "half":
        half(args[0], float(args[1]))
    elif cmd == "oversized":
        oversized(args[0], int(args[1]))
    elif cmd == "malformed":
        malformed(args[0])
    elif cmd == "double-monitor":
        double_monitor(args[0])
    elif cmd == "hold":
        hold(args[0], int(args[1]), float(args[2]) if len(args) > 2 else None)
    elif cmd == "tcp-idle":
        tcp_idle(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif cmd == "tcp-idle-forever":
        tcp_idle_forever(args[0], int(args[1]), int(args[2]))
    elif cmd == "scrape":
        scrape(args[0], int(args[1]))
    elif cmd == "udp-flood":
        udp_flood(args[0], int(args[1]), float(args[2]), int(args[3]) if len(args) > 3 else 0)
    elif cmd == "ticks-reader":
        ticks_reader(args[0], int(args[1]), args[2])
    elif cmd == "probe-until":
        return probe_until(args[0], int(args[1]), float(args[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
