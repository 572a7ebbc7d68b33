#!/usr/bin/env python3
"""Raw HTTP clients for the proxy tests (things curl cannot do).

  client.py send HOST PORT HEX_OR_TEXT...   send each argument as one write
        (\\r\\n escapes allowed) on one connection, then print everything
        received until the peer closes or 1.5 s of silence; the last line
        says "<<EOF>>" when the proxy closed the connection.
  client.py slow HOST PORT TEXT             one byte per second; prints what
        came back and after how many seconds the connection was closed.
  client.py hup HOST PORT SYNC               GET /public/a.txt, create SYNC.1,
        wait for SYNC.2 (the test reloads the policy meanwhile), the same
        request again on the same connection; prints both status lines.
  client.py upgrade HOST PORT [PROTO]       Upgrade (default websocket) to the echo tunnel, send
        two messages, print what came back.
  client.py idle HOST PORT                  one request, then how long the
        proxy keeps the idle connection open.
  client.py reuse HOST PORT                 GET /public/close-later (the server
        closes its side 0.3 s later), wait, GET again on the same client
        connection; prints both status lines.
  client.py hold HOST PORT SECONDS          connect and keep the connection
        open (for the connection cap test); prints "closed" if the proxy
        closed it.
  client.py many HOST PORT N SECONDS [PATH] N connections at once, one
        keep-alive GET PATH (default /public/a.txt) on each; prints "<k> of
        <N> answered 200" once all are answered, then keeps them open SECONDS.
With SOURCE_IP set, every connection is made from that address.
"""
import socket
import os
import sys
import time


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


def recv_all(sock, quiet=1.5, limit=30.0):
    sock.settimeout(quiet)
    out, closed, start = b"", False, time.time()
    while time.time() - start < limit:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not data:
            closed = True
            break
        out += data
    return out, closed


def read_response(sock):
    """One response with a Content-Length body (enough for these tests)."""
    sock.settimeout(5)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return buf
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


def connect(host, port):
    source = os.environ.get("SOURCE_IP")
    return socket.create_connection((host, port), source_address=(source, 0) if source else None)


def many(host, port, n, seconds, path):
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(host, port))
        except OSError:
            break
    ok = 0
    for s in socks:
        try:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: server\r\n\r\n" % path.encode())
        except OSError:
            pass
    for s in socks:
        try:
            if read_response(s).startswith(b"HTTP/1.1 200 "):
                ok += 1
        except OSError:
            pass
    print(f"{ok} of {n} answered 200", flush=True)
    time.sleep(seconds)


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "many":
        many(host, port, int(sys.argv[4]), float(sys.argv[5]),
             sys.argv[6] if len(sys.argv) > 6 else "/public/a.txt")
        return
    sock = connect(host, port)
    if mode == "send":
        for part in sys.argv[4:]:
            sock.sendall(unescape(part))
            time.sleep(0.05)
        out, closed = recv_all(sock)
        sys.stdout.buffer.write(out)
        print("\n<<EOF>>" if closed else "\n<<OPEN>>")
    elif mode == "slow":
        start = time.time()
        sock.settimeout(0.2)
        got = b""
        for byte in unescape(sys.argv[4]):
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            end = time.time() + 1
            while time.time() < end:
                try:
                    data = sock.recv(4096)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    data = b""
                got += data
                if not data:
                    break
            else:
                continue
            break
        sys.stdout.buffer.write(got)
        print(f"\nclosed after {time.time() - start:.1f}s")
    elif mode == "hup":
        req = b"GET /public/a.txt HTTP/1.1\r\nHost: server\r\n\r\n"
        sock.sendall(req)
        first = read_response(sock)
        open(sys.argv[4] + ".1", "w").close()
        for _ in range(100):
            if os.path.exists(sys.argv[4] + ".2"):
                break
            time.sleep(0.1)
        sock.sendall(req)
        second = read_response(sock)
        print(first.split(b"\r\n")[0].decode())
        print(second.split(b"\r\n")[0].decode())
    elif mode == "upgrade":
        proto = sys.argv[4] if len(sys.argv) > 4 else "websocket"
        sock.sendall(b"GET /public/ws HTTP/1.1\r\nHost: server\r\n"
                     b"Connection: Upgrade\r\nUpgrade: " + proto.encode() + b"\r\n\r\n")
        sock.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        print(head.split(b"\r\n")[0].decode())
        if b" 101 " not in head.split(b"\r\n")[0]:
            return 0
        for msg in (b"ping-1", b"ping-2 \x00\xff binary"):
            sock.sendall(msg)
            got = b""
            while len(got) < len(msg):
                got += sock.recv(4096)
            print("echo ok" if got == msg else f"echo bad {got!r}")
    elif mode == "idle":
        sock.sendall(b"GET /public/a.txt HTTP/1.1\r\nHost: server\r\n\r\n")
        read_response(sock)
        start = time.time()
        out, closed = recv_all(sock, quiet=30)
        print(f"closed after {time.time() - start:.1f}s" if closed else "still open")
    elif mode == "reuse":
        sock.sendall(b"GET /public/close-later HTTP/1.1\r\nHost: server\r\n\r\n")
        first = read_response(sock)
        time.sleep(0.8)
        sock.sendall(b"GET /public/a.txt HTTP/1.1\r\nHost: server\r\n\r\n")
        second = read_response(sock)
        print(first.split(b"\r\n")[0].decode())
        print(second.split(b"\r\n")[0].decode())
    elif mode == "hold":
        sock.settimeout(float(sys.argv[4]))
        try:
            data = sock.recv(1)
            print("closed" if not data else "data")
        except socket.timeout:
            print("open")
        except ConnectionResetError:
            print("closed")


if __name__ == "__main__":
    main()
