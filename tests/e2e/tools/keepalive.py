#!/usr/bin/env python3
"""Send several HTTP/1.1 requests over ONE TCP connection and print each
response's status and body, one line per request ("403 Access denied").

  keepalive.py HOST PORT STEP...
STEP is "METHOD PATH", or "wait FILE" (block until FILE exists, e.g. after a
policy change). If the connection is closed before a response, prints
"closed" and exits 1: the point of the tests is that it stays open.
"""
import os
import socket
import sys
import time


def read_response(sock, buf):
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            return None, b""
        rest += data
    return (status, rest[:length].decode("latin-1").strip()), rest[length:]


def main():
    host, port, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    sock = socket.create_connection((host, port), timeout=5)
    buf = b""
    for step in steps:
        if step.startswith("wait "):
            path = step[5:]
            deadline = time.time() + 20
            while not os.path.exists(path) and time.time() < deadline:
                time.sleep(0.05)
            continue
        method, path = step.split(" ", 1)
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode())
        resp, buf = read_response(sock, buf)
        if resp is None:
            print("closed", flush=True)
            return 1
        print(f"{resp[0]} {resp[1]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
