#!/usr/bin/env python3
"""rxlat-client.py ADDR PORT [BYTES [COUNT GAP_MS LINGER_MS]]: connect, send COUNT (default 1)
writes of BYTES (default 100) GAP_MS apart, sleep LINGER_MS, close. Prints "sent CALL
RETURN": CLOCK_MONOTONIC (ns) around the first send. RXLAT_IP_OPTIONS=N (IPv4): N bytes of IP
options (no-ops, then end of list) on every segment, so the TCP header starts 20 + N bytes in."""
import os
import socket
import sys
import time

addr, port = sys.argv[1], int(sys.argv[2])
size = int(sys.argv[3]) if len(sys.argv) > 3 else 100
count, gap, linger = (int(a) for a in sys.argv[4:7]) if len(sys.argv) > 6 else (1, 0, 0)
opts = int(os.environ.get("RXLAT_IP_OPTIONS", "0"))
if opts:
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([1] * (opts - 1) + [0]))
    if len(c.getsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, 40)) != opts:
        sys.exit("rxlat-client.py: the IP options were not taken")
    c.connect((addr, port))
else:
    c = socket.create_connection((addr, port))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one segment per write
first = None
for i in range(count):
    if i:
        time.sleep(gap / 1000.0)
    call = time.monotonic_ns()
    c.sendall(b"x" * size)
    if first is None:
        first = (call, time.monotonic_ns())
time.sleep(linger / 1000.0)
c.close()
print("sent", *first, flush=True)
