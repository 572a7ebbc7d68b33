#!/usr/bin/env python3
"""Read a streamed HTTP response (httpd.py's GET /stream) and log each line
with the time it arrived, for tests that check a long-lived connection
keeps flowing.

  streamread.py HOST PORT PATH LOG

Appends "TIME LINE" to LOG for every body line (TIME: the wall clock in
seconds, 3 decimals, so a test can also measure the time since the last
line) and, when the stream ends, one last line
"end eof", "end reset" or "end error:...". Runs until the stream ends or it
is killed (then no "end" line: the stream was still open). Only the
address the test gives is contacted.
"""
import socket
import sys
import time


def main():
    host, port, path, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    log = open(log_path, "a", buffering=1)
    end = "eof"
    try:
        sock = socket.create_connection((host, port), timeout=10)
        sock.settimeout(None)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        buf = b""
        head_done = False
        while True:
            data = sock.recv(65536)
            if not data:
                break
            buf += data
            if not head_done:
                if b"\r\n\r\n" not in buf:
                    continue
                head, _, buf = buf.partition(b"\r\n\r\n")
                status = head.split(b"\r\n")[0].decode("latin-1")
                log.write("%.3f status %s\n" % (time.time(), status))
                head_done = True
            # Chunk payloads are whole lines ("tick N\n"); chunk-size lines
            # are hex numbers, so keep only the payload lines.
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                text = line.decode("latin-1").strip()
                if text.startswith("tick"):
                    log.write("%.3f %s\n" % (time.time(), text))
    except ConnectionResetError:
        end = "reset"
    except OSError as e:
        end = "error:%s" % e
    log.write("%.3f end %s\n" % (time.time(), end))
    return 0


if __name__ == "__main__":
    sys.exit(main())
