#!/usr/bin/env python3
"""doze-wake.py PID OUT HOST PORT: how long a dozing tracer (PID) takes to print a drop.

Waits for the tracer's next look at its ring (a voluntary context switch: it woke from its
wait), sends one UDP datagram to the closed HOST:PORT 50 ms later, and prints the
nanoseconds until a new line is in OUT. A tracer woken by the record prints it within
milliseconds; one that waits for its next look, about a second later.
"""
import os
import socket
import sys
import time


def switches(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise SystemExit("no voluntary_ctxt_switches")


def lines(path):
    with open(path, "rb") as f:
        return f.read().count(b"\n")


pid, out, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
before = lines(out)
n = switches(pid)
deadline = time.monotonic() + 5
while switches(pid) == n:
    if time.monotonic() > deadline:
        raise SystemExit("the tracer did not wake within 5 s")
    time.sleep(0.002)
time.sleep(0.05)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = time.monotonic_ns()
s.sendto(b"x", (host, port))
while lines(out) == before:
    if time.monotonic_ns() - sent > 5 * 10**9:
        raise SystemExit("no line within 5 s")
    time.sleep(0.001)
print(time.monotonic_ns() - sent)
