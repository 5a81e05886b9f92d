#!/usr/bin/env python3
"""rxlat-server.py ADDR PORT DELAY_MS: accept one TCP connection, sleep DELAY_MS, then read
everything. Prints "ready" once listening and, at the end, "read N recv CALL RETURN": the
bytes read and CLOCK_MONOTONIC (ns, the clock of bpf_ktime_get_ns) around the first recv."""
import socket
import sys
import time

addr, port, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(1)
print("ready", flush=True)
conn, _ = srv.accept()
time.sleep(delay / 1000.0)
n = 0
first = None
while True:
    call = time.monotonic_ns()
    b = conn.recv(65536)
    if first is None:
        first = (call, time.monotonic_ns())
    if not b:
        break
    n += len(b)
print("read", n, "recv", *first, flush=True)
