#!/usr/bin/env python3
"""The upstream for the proxy tests: an HTTP/1.1 keep-alive server that
logs every request it sees (one "METHOD PATH" line in LOG), so a test can
prove what did or did not reach it.

  GET  /public/a.txt        "hello\\n"
  GET  /public/gen/N        N deterministic bytes (Content-Length)
  GET  /public/chunked      a chunked response
  GET  /public/ws           with Upgrade: 101, then echoes bytes until EOF
  GET  /public/bad          a malformed response head
  GET  /public/eof          a body delimited by closing the connection
  GET  /public/close-later  a keep-alive response, then the connection is
                            closed 0.3 s later (a server's idle timeout)
  POST|PUT /upload...       reads the body (Content-Length or chunked), answers
                            "len=N sha256=HEX"
Expect: 100-continue is answered by http.server itself (HTTP/1.1 mode).
usage: server.py ADDR PORT LOG
"""
import hashlib
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = None


def pattern(n):
    block = bytes(range(256)) * 256  # 64 KiB
    while n > 0:
        take = min(n, len(block))
        yield block[:take]
        n -= take


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self):
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path}\n")

    def send_text(self, text, status=200):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.note()
        p = self.path
        if p == "/public/a.txt":
            return self.send_text("hello\n")
        if p.startswith("/public/gen/"):
            n = int(p.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            for chunk in pattern(n):
                self.wfile.write(chunk)
            return
        if p == "/public/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"first ", b"second ", b"third\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if p == "/public/ws" and self.headers.get("Upgrade"):
            self.send_response(101)
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", self.headers["Upgrade"])
            self.end_headers()
            self.wfile.flush()
            while True:
                data = self.connection.recv(65536)
                if not data:
                    break
                self.connection.sendall(data)
            self.close_connection = True
            return
        if p == "/public/eof":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end\n")
            self.close_connection = True
            return
        if p == "/public/close-later":
            self.send_text("bye soon\n")
            self.wfile.flush()
            time.sleep(0.3)
            self.close_connection = True
            return
        if p == "/public/bad":
            self.wfile.write(b"HTTP/1.1 2x0 Oops\r\nContent-Length: 0\r\n\r\n")
            self.close_connection = True
            return
        self.send_text("not found\n", 404)

    def read_body(self):
        h = hashlib.sha256()
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    data = self.rfile.read(min(left, 1 << 16))
                    h.update(data)
                    left -= len(data)
                n += size
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                data = self.rfile.read(min(left, 1 << 16))
                if not data:
                    break
                h.update(data)
                n += len(data)
                left -= len(data)
        return n, h.hexdigest()

    def do_upload(self):
        self.note()
        if not self.path.startswith("/upload"):
            return self.send_text("not found\n", 404)
        n, digest = self.read_body()
        self.send_text(f"len={n} sha256={digest}\n")

    do_POST = do_upload
    do_PUT = do_upload

    def do_DELETE(self):
        self.note()
        self.send_text("deleted\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the descriptor test opens 150 connections at once


if __name__ == "__main__":
    LOG = sys.argv[3]
    open(LOG, "w").close()
    Server((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
