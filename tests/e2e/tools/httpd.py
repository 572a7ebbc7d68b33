#!/usr/bin/env python3
"""A small HTTP/1.1 test server for the end-to-end tests.

Answers every method. The body says what the server saw, so tests can tell
what the proxy forwarded: "<METHOD> <path> from <client ip> body=<n>".
POST /v1/request-landing answers "Ship landed" (the Star Wars demo's API).
GET /stream answers with a chunked body of one line ("tick N") every 250 ms
until the client goes away (GET /stream?lines=N: N lines, then the end).
Request bodies are read by Content-Length or chunked framing. Every request
is appended to the log file given with --log, one line each.
"""
import argparse
import http.server
import socketserver
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return total
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, 65536))
                    remaining -= len(chunk)
                    total += len(chunk)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or 0)
        remaining = length
        while remaining:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)
        return length

    def _stream(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        lines = int(query.get("lines", ["0"])[0]) or None
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        n = 0
        try:
            while lines is None or n < lines:
                data = f"tick {n}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                n += 1
                time.sleep(0.25)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        self.close_connection = True

    def _answer(self):
        size = self._body()
        line = f"{self.command} {self.path} from {self.client_address[0]} body={size}"
        with open(self.server.log, "a") as log:
            log.write(line + "\n")
        if self.command == "GET" and self.path.split("?")[0] == "/stream":
            return self._stream()
        if self.command == "POST" and self.path == "/v1/request-landing":
            text = "Ship landed\n"
        else:
            text = line + "\n"
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _answer

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--log", default="/dev/null")
    args = ap.parse_args()
    server = Server(("0.0.0.0", args.port), Handler)
    server.log = args.log
    server.serve_forever()


if __name__ == "__main__":
    main()
