#!/usr/bin/env python3
# unix-purge.py SECONDS: skb:kfree_skb in process context, as fast as python goes, for
# SECONDS: AF_UNIX datagrams left unread are freed when their socket is closed (reason
# SOCKET_CLOSE, in the closing task with softirqs enabled, so an interrupt can come in).
import socket
import sys
import time

end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    for _ in range(32):
        a.send(b"x")
    b.close()
    a.close()
