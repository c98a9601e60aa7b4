#!/usr/bin/env python3
"""Each attack of issue 17 against a running `arbiter serve --demo`, measured from
outside: the server's RSS before and after, and the /healthz latency a
well-behaved client sees during the attack (p50/p99 over its requests).

    python3 hostile.py PORT PID ADMIN_TOKEN ANNOTATOR_PASSWORD

Prints a Markdown table. Traffic stays on 127.0.0.1; every loop is bounded."""
import json
import socket
import sys
import threading
import time

PORT, PID, ADMIN, PASSWORD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]


def rss_mib():
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def connect(timeout=30):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s):
    """Reads one response (Content-Length bodies only); returns (status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def request(method, path, body=b"", headers=None, s=None):
    own = s is None
    s = s or connect()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    result = read_response(s)
    if own:
        s.close()
    return result


class HealthProbe:
    """A well-behaved client: GET /healthz on one keep-alive connection, 2 ms apart."""

    def __init__(self):
        self.latencies = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        s = connect()
        while not self.stop.is_set():
            start = time.perf_counter()
            request("GET", "/healthz", s=s)
            self.latencies.append((time.perf_counter() - start) * 1000)
            time.sleep(0.002)
        s.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def summary(self):
        values = sorted(self.latencies)
        if not values:
            return "—", "—"
        pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
        return f"{pick(0.5):.2f}", f"{pick(0.99):.2f}"


rows = []


def attack(name, run):
    before = rss_mib()
    with HealthProbe() as probe:
        outcome = run()
    after = rss_mib()
    p50, p99 = probe.summary()
    rows.append((name, f"{before:.1f}", f"{after:.1f}", f"{after - before:+.1f}", p50, p99, outcome))


def anonymous_upload():
    s = connect()
    s.sendall(b"POST /api/projects/1/pairs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 536870912\r\n\r\n")
    start = time.perf_counter()
    sent = 0
    chunk = b"x" * (1 << 20)
    s.settimeout(0.05)
    status = None
    while sent < 536870912 and time.perf_counter() - start < 20:
        try:
            data = s.recv(4096)
            if data:
                status = int(data.split()[1])
                break
        except socket.timeout:
            pass
        try:
            sent += s.send(chunk)
        except socket.timeout:
            continue  # the server is not reading: see whether it answered
        except (BrokenPipeError, ConnectionResetError):
            break
    s.close()
    return f"answered {status} after {sent >> 20} MiB of 512 sent, {(time.perf_counter() - start) * 1000:.0f} ms"


def pipelined(count=600_000):
    s = connect()
    s.setblocking(False)
    payload = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 1000
    sent = 0
    stalled_at = None
    start = time.perf_counter()
    while sent < count and time.perf_counter() - start < 20:
        try:
            n = s.send(payload)
            sent += n // 40
        except BlockingIOError:
            if stalled_at is None:
                stalled_at = sent
            time.sleep(0.01)
            if time.perf_counter() - start > 5:
                break
    peak = rss_mib()
    s.close()
    time.sleep(1)
    return f"{sent:,} requests sent before the server stopped reading; peak RSS {peak:.1f} MiB"


def slow_body():
    s = connect(timeout=120)
    s.sendall(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    start = time.perf_counter()
    s.settimeout(1)
    while time.perf_counter() - start < 90:
        try:
            data = s.recv(4096)
            if not data:
                return f"closed after {time.perf_counter() - start:.1f} s"
            return f"{data.split()[1].decode()} after {time.perf_counter() - start:.1f} s (one byte every 20 s; deadline 30 s)"
        except socket.timeout:
            pass
        if int(time.perf_counter() - start) % 20 == 0:
            try:
                s.send(b"{")
            except OSError:
                return f"cut after {time.perf_counter() - start:.1f} s"
    return "still open after 90 s"


def scoring(repeats=5):
    body = json.dumps({"items": [{"chosen": "a careful, correct answer " * 20, "rejected": "no " * 40}] * 1000}).encode()
    start = time.perf_counter()
    for _ in range(repeats):
        status, _, _ = request("POST", "/api/projects/1/reward/score", body,
                               {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    return f"{repeats} × 1,000-item scoring requests ({status}), {(time.perf_counter() - start) / repeats * 1000:.0f} ms each"


def login_spray(count=30):
    results = []

    def one():
        body = json.dumps({"username": "annotator", "password": "wrong password guess"}).encode()
        results.append(request("POST", "/api/login", body, {"Content-Type": "application/json"})[0])

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return f"{count} concurrent wrong passwords: {results.count(401)} checked (401), {results.count(429)} refused first (429)"


def invite_spray(count=20):
    results = []

    def one(index):
        body = json.dumps({"token": f"fake-{index}", "username": f"u{index}", "password": "a long enough password"}).encode()
        results.append(request("POST", "/api/invites/accept", body, {"Content-Type": "application/json"})[0])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (f"{count} concurrent fake invite tokens in {(time.perf_counter() - start) * 1000:.0f} ms: "
            f"{results.count(400)} refused as invalid, {results.count(429)} throttled")


def train_model():
    status, _, _ = request("POST", "/api/projects/1/exports", json.dumps({"format": "trl", "epochs": 3}).encode(),
                           {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    for _ in range(600):
        _, _, body = request("GET", "/api/projects/1/exports/latest", headers={"Authorization": f"Bearer {ADMIN}"})
        state = json.loads(body).get("job", {}).get("state")
        if state in ("done", "failed"):
            return state
        time.sleep(0.2)
    return "timeout"


attack("none (baseline)", lambda: time.sleep(3) or "idle server")
attack("anonymous 512 MiB upload", anonymous_upload)
attack("600,000 pipelined /healthz, never read", pipelined)
attack("login: 30 concurrent wrong passwords", login_spray)
attack("invites: 20 concurrent fake tokens", invite_spray)
print(f"model for scoring: {train_model()}", file=sys.stderr)
attack("1,000-item reward scoring ×5", scoring)
attack("slow body (a byte every 20 s)", slow_body)

print("| attack | RSS before (MiB) | after | growth | /healthz p50 (ms) | p99 (ms) | what happened |")
print("|---|---|---|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
