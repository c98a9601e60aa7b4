#!/usr/bin/env bash
# Load with hostile clients: 1,000 concurrent keep-alive annotators (each a thread
# with its own connection: next → submit, then a random 0–2×THINK_MS "reading"
# pause) for SECONDS_EACH, first alone, then with 500 slowloris connections
# dribbling request heads (cut by the 10 s header timeout, reconnecting at once).
# Prints both runs and the p99 ratio. Then the same annotators back to back (no
# pause) to show where the server saturates.
#   bash Benchmarks/load/run.sh                       # 60 s each, THINK_MS=500
#   SECONDS_EACH=20 ANNOTATORS=1000 SLOWLORIS=500 THINK_MS=500 bash Benchmarks/load/run.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pairs="${PAIRS:-100000}"
seconds="${SECONDS_EACH:-60}"
annotators="${ANNOTATORS:-1000}"
slow="${SLOWLORIS:-500}"
think="${THINK_MS:-500}"
port="${PORT:-18590}"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
(cd "$root/Benchmarks/annotate/LoadGenerator" && swift build -c release 2>&1 | tail -1)
arbiter="$root/.build/release/arbiter"
load="$root/Benchmarks/annotate/LoadGenerator/.build/release/LoadGenerator"
work="$(mktemp -d)"
db="$work/bench.sqlite"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
project=$("$arbiter" project create --db "$db" --migrations-dir "$root/Migrations" --name bench --overlap 3 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
python3 "$root/Benchmarks/import/generate.py" "$pairs" > "$work/pairs.jsonl"
"$arbiter" import pairs --db "$db" --migrations-dir "$root/Migrations" --project bench "$work/pairs.jsonl" >/dev/null
python3 "$root/Benchmarks/annotate/seed_annotators.py" "$db" "$annotators" > "$work/tokens"
"$arbiter" serve --db "$db" --migrations-dir "$root/Migrations" --port "$port" --log-level notice >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
echo "== $(nproc) cores; $annotators annotators (one connection each), think 0–$((2 * think)) ms, ${seconds} s per run"
alone=$("$load" "$port" "$project" "$work/tokens" "$annotators" "$seconds" "$think" 0)
echo "alone:          $alone"
hostile=$("$load" "$port" "$project" "$work/tokens" "$annotators" "$seconds" "$think" "$slow")
echo "with slowloris: $hostile"
python3 - "$alone" "$hostile" <<'PY'
import json, sys
a, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for key in ("next_p99_ms", "submit_p99_ms"):
    print(f"{key}: {a[key]} → {h[key]} ms under slowloris ({h[key] / max(a[key], 1e-9):.2f}x)")
print(f"errors: {a['errors']} alone, {h['errors']} with slowloris; slowloris connections cut and reopened: {h['slowloris_reconnects']}")
PY
echo "back to back:   $("$load" "$port" "$project" "$work/tokens" "$annotators" 10 0 0)"
