#!/usr/bin/env python3
# udp-send.py ADDR PORT COUNT [SIZE]: send COUNT datagrams of SIZE bytes (default 10) to
# ADDR:PORT as fast as possible; prints its pid first so tests can match the sender.
import socket
import sys

addr, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = int(sys.argv[4]) if len(sys.argv) > 4 else 10
print(__import__("os").getpid(), flush=True)
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
payload = b"x" * size
for _ in range(count):
    try:
        s.sendto(payload, (addr, port))
    except ConnectionRefusedError:  # an ICMP port unreachable from an earlier datagram
        pass
