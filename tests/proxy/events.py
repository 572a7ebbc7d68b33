#!/usr/bin/env python3
"""Bind a Unix datagram socket (the proxy's --events) and append every
access-log record to OUT as one JSON line. usage: events.py SOCKET_PATH OUT

A datagram carries one or more lines "VERDICT[:REASON] LATENCY_US {JSON}"
(src/proxy/access_log.h); the prefix must repeat the JSON's verdict and
latency (0 for a refused connection, which has none), else a line
{"format_error": ...} is written instead, which the tests' record checks
then fail on. A REASON is kept in the record as "prefix_reason". The
proxy's answers to a policy document, "LOADED REVISION" and "REJECTED
REVISION REASON" (docs/proxy-policy.md, "Updates"), go to OUT.acks, one per
line."""
import json
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(out, "a", buffering=1) as f, open(out + ".acks", "a", buffering=1) as acks:
    while True:
        for line in sock.recv(65536).decode().split("\n"):
            if not line:
                continue
            if line.startswith(("LOADED ", "REJECTED ")):
                acks.write(line + "\n")
                continue
            try:
                prefix, latency, text = line.split(" ", 2)
                verdict, _, reason = prefix.partition(":")
                record = json.loads(text)
                if record["verdict"] != verdict or record.get("latency_us", 0) != int(latency):
                    raise ValueError("prefix %s %s disagrees with the record" % (prefix, latency))
                if bool(reason) != ("reason" in record):
                    raise ValueError("prefix %s and the record's reason disagree" % prefix)
                if reason:
                    record["prefix_reason"] = reason
                f.write(json.dumps(record) + "\n")
            except (ValueError, KeyError) as e:
                f.write(json.dumps({"format_error": str(e), "line": line}) + "\n")
