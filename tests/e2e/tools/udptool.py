#!/usr/bin/env python3
"""UDP helpers for the spoofing and flood tests.

  udptool.py listen PORT LOG
      log every datagram received on PORT as "SOURCE-IP PAYLOAD", one line
      each (line-buffered); runs until killed.
  udptool.py send SRC DST PORT PAYLOAD
      send one UDP datagram to DST:PORT from source address SRC, whatever
      the sender's own addresses are (a raw socket with IP_HDRINCL: this is
      how a host forges a source). Source port 5555.
  udptool.py flood DST COUNT [FIRST_PORT]
      send COUNT datagrams from one socket per source port to DST, every
      one a distinct flow (source port x destination port), as fast as
      possible; prints how many were sent.

Run inside a namespace the test made; only the addresses it gives are
contacted.
"""
import socket
import struct
import sys


def listen(port, log_path):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    log = open(log_path, "a", buffering=1)
    print("listening", flush=True)
    while True:
        data, peer = s.recvfrom(2048)
        log.write("%s %s\n" % (peer[0], data.decode("latin-1").strip()))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def send(src, dst, port, payload):
    data = payload.encode()
    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    udp_len = 8 + len(data)
    pseudo = saddr + daddr + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", 5555, port, udp_len, 0) + data
    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x1234, 0, 64,
                     socket.IPPROTO_UDP, 0, saddr, daddr)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(ip + udp, (dst, 0))


def flood(dst, count, first_port):
    sent = 0
    src_port = 20000
    while sent < count:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", src_port))
        for dport in range(first_port, first_port + 10000):
            if sent == count:
                break
            try:
                s.sendto(b"x", (dst, dport))
                sent += 1
            except OSError:
                pass
        s.close()
        src_port += 1
    print(sent, flush=True)


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 4 and a[1] == "listen":
        listen(int(a[2]), a[3])
    elif len(a) == 6 and a[1] == "send":
        send(a[2], a[3], int(a[4]), a[5])
    elif len(a) in (4, 5) and a[1] == "flood":
        flood(a[2], int(a[3]), int(a[4]) if len(a) == 5 else 10000)
    else:
        sys.exit(__doc__)
