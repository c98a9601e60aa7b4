#!/usr/bin/env python3
"""The second hardening round's attacks against one running `arbiter serve`
(started by round2.sh with --trusted-proxy 127.0.0.1/32, its database on a small
filesystem of its own), measured from outside. Prints one JSON object.

    python3 round2.py PORT PID ADMIN_USER ADMIN_PASSWORD ADMIN_TOKEN DISK_DIR LOG_FILE TOKENS_FILE DB

1. 30 anonymous sockets each declaring a 32 MiB body to /nonexistent and sending
   it: the server's peak RSS growth, and whether it answered `100 Continue`.
2. The owner's sign-in (from a fresh address, in the browser that signed in
   before) after 100 failed sign-ins for that name from 20 addresses.
3. A real invite accepted from a fresh address after 100 fake tokens from 20 addresses.
4. The database's disk filled for 8 s under 8 annotators: the statuses they get,
   /readyz meanwhile, the log lines written, and acknowledged = stored afterwards.
Traffic stays on 127.0.0.1; every loop is bounded in count and time."""
import json
import os
import socket
import sqlite3
import sys
import threading
import time

PORT, PID = int(sys.argv[1]), int(sys.argv[2])
ADMIN_USER, ADMIN_PASSWORD, ADMIN_TOKEN = sys.argv[3], sys.argv[4], sys.argv[5]
DISK, LOG, TOKENS, DB = sys.argv[6], sys.argv[7], sys.argv[8], sys.argv[9]


def status_value(key):
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def connect(timeout=30):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    length = int(headers.get("content-length", ["0"])[0])
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def request(method, path, body=b"", headers=None):
    s = connect()
    try:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        return read_response(s)
    finally:
        s.close()


def json_request(method, path, value, address, cookie=None, token=None):
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    if cookie:
        headers["Cookie"] = cookie
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return request(method, path, json.dumps(value).encode(), headers)


result = {}

# 1. Anonymous bodies on a path no route takes.
before = status_value("VmRSS")
peak_before = status_value("VmHWM")
continues = []
lock = threading.Lock()


def upload():
    size = 32 * 1024 * 1024
    try:
        s = connect(timeout=60)
        s.sendall(f"POST /nonexistent HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: {size}\r\n\r\n".encode())
        s.settimeout(0.5)
        try:
            first = s.recv(64)
        except socket.timeout:
            first = b""
        with lock:
            continues.append(first.startswith(b"HTTP/1.1 100"))
        s.settimeout(60)
        chunk = b"x" * (1 << 20)
        sent = 0
        while sent < size:
            s.sendall(chunk)
            sent += len(chunk)
        time.sleep(1)
        s.close()
    except OSError:
        pass


threads = [threading.Thread(target=upload) for _ in range(30)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(timeout=120)
result["anonymous_bodies"] = {
    "rss_before_mib": round(before, 1),
    "peak_growth_mib": round(max(0.0, status_value("VmHWM") - max(before, peak_before)), 1),
    "answered_100_continue": sum(continues),
}

# 2. 100 failed sign-ins for the owner's name from 20 addresses, then the owner.
first = json_request("POST", "/api/login", {"username": ADMIN_USER, "password": ADMIN_PASSWORD}, "198.51.100.1")
device = None
for value in first[1].get("set-cookie", []):
    if value.startswith("arbiter_device="):
        device = value.split(";")[0]
failures = 0
for address in range(20):
    for _ in range(5):
        status = json_request("POST", "/api/login", {"username": ADMIN_USER, "password": "a wrong password, guessed"}, f"192.0.2.{address}")[0]
        failures += status in (401, 429)
owner = json_request("POST", "/api/login", {"username": ADMIN_USER, "password": ADMIN_PASSWORD}, "203.0.113.51", cookie=device)[0]
stranger = json_request("POST", "/api/login", {"username": ADMIN_USER, "password": ADMIN_PASSWORD}, "203.0.113.52")[0]
result["owner_lockout"] = {"failed_attempts": failures, "owner_browser_status": owner, "unknown_browser_status": stranger}

# 3. 100 fake invite tokens from 20 addresses, then a real invite elsewhere.
invite = json.loads(json_request("POST", "/api/invites", {"role": "annotator", "expires_in_hours": 24}, "127.0.0.1", token=ADMIN_TOKEN)[2])
real = invite["invite"]["token"]
for address in range(20):
    for index in range(5):
        json_request("POST", "/api/invites/accept", {"token": f"fake-{address}-{index}", "username": f"u{address}x{index}",
                                                    "password": "a long enough password"}, f"192.0.2.{address + 40}")
accepted = json_request("POST", "/api/invites/accept", {"token": real, "username": "newcomer", "password": "a long enough password"},
                        "203.0.113.9")[0]
result["link_spray"] = {"real_invite_status": accepted}

# 4. The disk fills for 8 s under 8 annotators.
tokens = [line.strip() for line in open(TOKENS) if line.strip()]
counts = {}
acknowledged = [0]
stop = threading.Event()


def annotator(token):
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        try:
            status, _, body = request("GET", "/api/projects/1/next", headers=headers)
            with lock:
                counts[f"next {status}"] = counts.get(f"next {status}", 0) + 1
            if status != 200:
                time.sleep(0.01)
                continue
            assignment = json.loads(body)["assignment"]["id"]
            status, _, _ = request("POST", f"/api/assignments/{assignment}/annotation", b'{"choice":"left"}',
                                   dict(headers, **{"Content-Type": "application/json"}))
            with lock:
                counts[f"submit {status}"] = counts.get(f"submit {status}", 0) + 1
                if status == 201:
                    acknowledged[0] += 1
        except (OSError, ValueError, KeyError):
            with lock:
                counts["error"] = counts.get("error", 0) + 1


stored_before = sqlite3.connect(f"file:{DB}?mode=ro", uri=True).execute("SELECT count(*) FROM annotations").fetchone()[0]
log_before = os.path.getsize(LOG)
workers = [threading.Thread(target=annotator, args=(token,)) for token in tokens[:8]]
for worker in workers:
    worker.start()
time.sleep(1)
filler = os.path.join(DISK, "filler")
out = open(filler, "wb", buffering=0)  # fill the filesystem, unbuffered (a flush at close would fail too)
for size in (1 << 20, 4096):
    try:
        while True:
            out.write(b"\0" * size)
    except OSError:
        pass
out.close()
full_at = time.time()
ready = []
while time.time() - full_at < 8:
    ready.append(request("GET", "/readyz")[0])
    time.sleep(0.5)
counts_while_full = dict(counts)
os.remove(filler)
time.sleep(3)
stop.set()
for worker in workers:
    worker.join(timeout=30)
time.sleep(0.5)
with open(LOG, "rb") as log:
    log.seek(log_before)
    log_lines = log.read().count(b"\n")
stored_after = sqlite3.connect(f"file:{DB}?mode=ro", uri=True).execute("SELECT count(*) FROM annotations").fetchone()[0]
integrity = sqlite3.connect(f"file:{DB}?mode=ro", uri=True).execute("PRAGMA integrity_check").fetchone()[0]
result["disk_full"] = {
    "statuses_while_full": {k: v for k, v in sorted(counts_while_full.items()) if not k.endswith(" 200") and not k.endswith(" 201")},
    "readyz_while_full": sorted(set(ready)),
    "log_lines": log_lines,
    "acknowledged": acknowledged[0],
    "stored": stored_after - stored_before,
    "integrity": integrity,
    "recovered": counts.get("submit 201", 0) > counts_while_full.get("submit 201", 0),
}
print(json.dumps(result))
