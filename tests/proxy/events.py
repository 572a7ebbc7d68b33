#!/usr/bin/env python3
"""Bind a Unix datagram socket (the proxy's --events) and append every
datagram to OUT as one line. usage: events.py SOCKET_PATH OUT"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(out, "ab", buffering=0) as f:
    while True:
        f.write(sock.recv(65536) + b"\n")
