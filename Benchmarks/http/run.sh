#!/usr/bin/env bash
# HTTP benchmark: Arbiter's own server against a Hummingbird 2 peer answering the
# same routes, in one run, alternating the two, with wrk (-t1 -c64).
#
#   bash Benchmarks/http/run.sh            # 3 rounds of 10 s per server and route
#   ROUNDS=5 DURATION=15s bash Benchmarks/http/run.sh
#
# Prints requests/s and p99 per round, the medians, and the ratio ours/peer; then
# each server's RSS with 10,000 idle keep-alive connections.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/Benchmarks/http"
rounds="${ROUNDS:-3}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-64}"
idle="${IDLE:-10000}"
export PATH="/opt/swift/usr/bin:$PATH"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

echo "== building (release)"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
(cd "$here/HummingbirdPeer" && swift build -c release 2>&1 | tail -1)

public="$(mktemp -d)"
cp "$root/Public/index.html" "$public/"
head -c 76800 /dev/urandom | base64 -w 100 | head -c 102400 > "$public/file100k.txt"

ours_port=18480
peer_port=18481
single_port=18482
tls_port=18483
# Ours with its defaults: one event loop per core, access log on (to /dev/null).
"$root/.build/release/arbiter" serve --max-connections-per-address 100000 --port "$ours_port" --public-dir "$public" --db "$public/ours.sqlite" >/dev/null 2>&1 &
ours_pid=$!
# Ours with one event loop: wrk takes one of the two cores, and two busy loops
# sharing the other one wait on each other's scheduler slices.
"$root/.build/release/arbiter" serve --max-connections-per-address 100000 --port "$single_port" --threads 1 --public-dir "$public" --db "$public/single.sqlite" >/dev/null 2>&1 &
single_pid=$!
# Ours over HTTPS (self-signed certificate; wrk keeps connections, so this is the
# record layer's cost, not the handshake's).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$public/key.pem" -out "$public/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
"$root/.build/release/arbiter" serve --max-connections-per-address 100000 --port "$tls_port" --public-dir "$public" --db "$public/tls.sqlite" \
    --tls-cert "$public/cert.pem" --tls-key "$public/key.pem" >/dev/null 2>&1 &
tls_pid=$!
"$here/HummingbirdPeer/.build/release/HummingbirdPeer" "$peer_port" "$public" >/dev/null 2>&1 &
peer_pid=$!
trap 'kill $ours_pid $peer_pid $single_pid $tls_pid 2>/dev/null; rm -rf "$public"' EXIT
for port in $ours_port $peer_port $single_port; do
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
done
for _ in $(seq 50); do curl -sfk "https://127.0.0.1:$tls_port/healthz" >/dev/null && break; sleep 0.1; done

results="$(mktemp)"
run_wrk() { # name url
    local out
    out="$(wrk -t1 -c"$connections" -d"$duration" --latency "$2")"
    local rps p99 errors
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
    errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)"
    printf '%-28s %12s req/s   p99 %8s  %s\n' "$1" "$rps" "$p99" "$errors"
    echo "$1 $rps $p99" >>"$results"
}

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "== wrk -t1 -c$connections -d$duration, $rounds rounds, alternating"
wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$ours_port/healthz" >/dev/null
wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$peer_port/healthz" >/dev/null
for round in $(seq "$rounds"); do
    run_wrk "arbiter /healthz" "http://127.0.0.1:$ours_port/healthz"
    run_wrk "hummingbird /healthz" "http://127.0.0.1:$peer_port/healthz"
    run_wrk "arbiter-1-loop /healthz" "http://127.0.0.1:$single_port/healthz"
    run_wrk "arbiter-tls /healthz" "https://127.0.0.1:$tls_port/healthz"
    run_wrk "arbiter-tls /file100k.txt" "https://127.0.0.1:$tls_port/file100k.txt"
    run_wrk "arbiter /file100k.txt" "http://127.0.0.1:$ours_port/file100k.txt"
    run_wrk "hummingbird /file100k.txt" "http://127.0.0.1:$peer_port/file100k.txt"
done

python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    *name, rps, p99 = line.split()
    name = " ".join(name)
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    for suffix in ("us", "ms", "s"):
        if p99.endswith(suffix):
            p99ms = float(p99[: -len(suffix)]) * unit[suffix]
            break
    rows.setdefault(name, []).append((float(rps), p99ms))
print("\n== medians")
for route in ("/healthz", "/file100k.txt"):
    ours = rows[f"arbiter {route}"]
    peer = rows[f"hummingbird {route}"]
    o_rps = statistics.median(r for r, _ in ours); p_rps = statistics.median(r for r, _ in peer)
    o_p99 = statistics.median(p for _, p in ours); p_p99 = statistics.median(p for _, p in peer)
    print(f"{route:14s} arbiter {o_rps:10.0f} req/s p99 {o_p99:6.2f} ms | hummingbird {p_rps:10.0f} req/s p99 {p_p99:6.2f} ms"
          f" | throughput ratio {o_rps / p_rps:.2f}x, p99 ratio {o_p99 / p_p99:.2f}")
single = rows.get("arbiter-1-loop /healthz")
if single:
    s_rps = statistics.median(r for r, _ in single); s_p99 = statistics.median(p for _, p in single)
    p_rps = statistics.median(r for r, _ in rows["hummingbird /healthz"]); p_p99 = statistics.median(p for _, p in rows["hummingbird /healthz"])
    print(f"/healthz --threads 1 arbiter {s_rps:10.0f} req/s p99 {s_p99:6.2f} ms | throughput ratio {s_rps / p_rps:.2f}x, p99 ratio {s_p99 / p_p99:.2f}")
for route in ("/healthz", "/file100k.txt"):
    tls = rows.get(f"arbiter-tls {route}")
    if tls:
        t_rps = statistics.median(r for r, _ in tls); t_p99 = statistics.median(p for _, p in tls)
        plain = statistics.median(r for r, _ in rows[f"arbiter {route}"])
        print(f"{route:14s} arbiter over TLS {t_rps:10.0f} req/s p99 {t_p99:6.2f} ms | {t_rps / plain:.2f}x of plain HTTP")
PY

echo
echo "== RSS with $idle idle keep-alive connections"
echo "arbiter:     $(python3 "$here/idle_connections.py" "$ours_port" "$ours_pid" "$idle")"
echo "hummingbird: $(python3 "$here/idle_connections.py" "$peer_port" "$peer_pid" "$idle")"
