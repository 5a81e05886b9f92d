#!/usr/bin/env python3
# frame-send.py IFNAME COUNT: send COUNT broadcast Ethernet frames (local experimental
# ethertype 0x88b5, 64 bytes) out of IFNAME through a packet socket, bypassing the IP stack;
# prints how many the device took. A veth whose peer is down drops them all and counts them
# in its tx_dropped: veth_xmit() drops with NET_XMIT_DROP, which send() reports as ENOBUFS,
# until linkwatch has seen the carrier go and put the noop qdisc in front, which drops with
# NET_XMIT_CN, a success for send().
import errno
import socket
import sys

ifname, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"\x00" * 50
sent = 0
for _ in range(count):
    try:
        if s.send(frame) == len(frame):
            sent += 1
    except OSError as e:
        if e.errno != errno.ENOBUFS:
            raise
        sent += 1
print(sent)
