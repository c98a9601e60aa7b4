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
source "$(dirname "$0")/../common.sh"
pairs="${PAIRS:-100000}"
seconds="${SECONDS_EACH:-60}"
annotators="${ANNOTATORS:-1000}"
slow="${SLOWLORIS:-500}"
think="${THINK_MS:-500}"
port="${PORT:-18590}"
build_arbiter
build_load_generator
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
project=$(seed_project "$work/bench.sqlite" bench "$pairs" "$annotators" "$work/tokens")
start_server "$work/bench.sqlite" "$port"
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
