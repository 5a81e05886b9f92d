#!/usr/bin/env python3
"""rxlat-client.py ADDR PORT [BYTES]: connect, send BYTES (default 100), close."""
import socket
import sys

addr, port = sys.argv[1], int(sys.argv[2])
size = int(sys.argv[3]) if len(sys.argv) > 3 else 100
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
c = socket.create_connection((addr, port))
c.sendall(b"x" * size)
c.close()
