#!/usr/bin/env python3
"""A scripted peer on a Unix socket, for the plugin's own unit checks.

Not wardend: it answers each control-protocol request line (one JSON object
per line, docs/control-protocol.md) with what the test scripted, and records
the requests, so that tests/cni/test_protocol.sh can check what warden-cni
sends (the cni.* arguments, the identity it derived from CNI_ARGS and the
configuration) and how it turns an answer into a CNI result per version.
The checks against the real agent are in the same file and need wardend.

usage: scripted_peer.py SOCKET LOG MODE
  MODE ok       cni.add answers an attachment (below), other commands {}
  MODE refuse   every command answers {"ok": false, "error": "scripted refusal"}
  MODE hangup   cni.add: close the connection without answering; others {}
Stops when its parent's stdin closes or on SIGTERM.
"""
import json
import os
import socket
import sys

ATTACHMENT = {
    "endpoint": {"id": 7, "name": "x", "namespace": "default"},
    "interfaces": [
        {"name": "wdc0123456789a", "mac": "02:00:00:00:00:01"},
        {"name": "eth0", "mac": "02:00:00:00:00:02", "sandbox": "SANDBOX"},
    ],
    "ips": [{"address": "10.200.0.7/32", "gateway": "10.200.0.1", "interface": 1}],
    "routes": [{"dst": "0.0.0.0/0", "gw": "10.200.0.1"}],
}


def answer(mode, request):
    cmd = request.get("cmd")
    if mode == "refuse":
        return {"ok": False, "error": "scripted refusal"}
    if cmd == "cni.add":
        if mode == "hangup":
            return None
        result = json.loads(json.dumps(ATTACHMENT))
        result["interfaces"][1]["sandbox"] = request.get("args", {}).get("netns")
        return {"ok": True, "result": result}
    if cmd == "status":
        return {"ok": True, "result": {"version": "scripted"}}
    return {"ok": True, "result": {}}


def main():
    path, log, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        with conn:
            buf = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                buf += data
                hung_up = False
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    request = json.loads(line)
                    with open(log, "a") as f:
                        f.write(json.dumps(request, sort_keys=True) + "\n")
                    reply = answer(mode, request)
                    if reply is None:
                        hung_up = True
                        break
                    conn.sendall(json.dumps(reply).encode() + b"\n")
                if hung_up:
                    break


if __name__ == "__main__":
    main()
