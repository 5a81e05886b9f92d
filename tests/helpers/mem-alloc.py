#!/usr/bin/env python3
"""Allocate and touch MB megabytes (argv[1]) and hold them for argv[2] seconds (default 0)."""
import sys
import time

mb = int(sys.argv[1])
hold = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
buf = bytearray(mb << 20)
for i in range(0, len(buf), 4096):
    buf[i] = 1
time.sleep(hold)
