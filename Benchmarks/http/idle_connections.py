#!/usr/bin/env python3
"""Open N keep-alive connections to a server, make one request on each, keep them
idle, and print the server's resident memory (VmRSS of PID) in MB as JSON."""
import json
import resource
import socket
import sys
import time

port, pid, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1000), hard))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


before = rss_mb(pid)
sockets = []
request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    sockets.append(s)
answered = 0
for s in sockets:
    s.settimeout(30)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    if data.startswith(b"HTTP/1.1 200"):
        answered += 1
time.sleep(1)
after = rss_mb(pid)
print(json.dumps({"connections": count, "answered": answered, "rss_before_mb": round(before, 1),
                  "rss_after_mb": round(after, 1)}))
for s in sockets:
    s.close()
