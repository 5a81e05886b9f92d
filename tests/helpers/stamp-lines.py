#!/usr/bin/env python3
# stamp-lines.py: copy stdin to stdout, each line prefixed with CLOCK_MONOTONIC in ns at the
# moment it arrived: the clock of bpf_ktime_get_ns(), to set against the kernel time of an event.
import sys
import time

for line in sys.stdin:
    sys.stdout.write(f"{time.monotonic_ns()} {line}")
    sys.stdout.flush()
