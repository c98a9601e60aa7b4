#!/usr/bin/env bash
# Annotation-loop benchmark: simulated annotators on keep-alive connections doing
# next → submit against `arbiter serve` (release), over 100,000 pairs.
#
#   bash Benchmarks/annotate/run.sh                    # 64 annotators, then 1,000
#   PAIRS=100000 SECONDS_EACH=20 bash Benchmarks/annotate/run.sh
#   PROJECT_OPTIONS="--overlap 5 --min-overlap 1 --stop-posterior 0.87 --active-selection" bash Benchmarks/annotate/run.sh
#
# Prints annotations/s (each acknowledged only after its transaction is on disk)
# and p50/p99 of both calls; the second run spreads 64 connections over 1,000
# annotators to measure `next` with many annotators in the project; the third
# keeps only 4 requests in flight, so its latencies are service times, not queueing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/Benchmarks/annotate"
pairs="${PAIRS:-100000}"
seconds="${SECONDS_EACH:-20}"
port="${PORT:-18580}"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
(cd "$here/LoadGenerator" && swift build -c release 2>&1 | tail -1)
arbiter="$root/.build/release/arbiter"
load="$here/LoadGenerator/.build/release/LoadGenerator"
work="$(mktemp -d)"
db="$work/bench.sqlite"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

project=$("$arbiter" project create --db "$db" --migrations-dir "$root/Migrations" --name bench ${PROJECT_OPTIONS:---overlap 3} --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
python3 "$root/Benchmarks/import/generate.py" "$pairs" > "$work/pairs.jsonl"
"$arbiter" import pairs --db "$db" --migrations-dir "$root/Migrations" --project bench "$work/pairs.jsonl"
python3 "$here/seed_annotators.py" "$db" 1000 > "$work/tokens"
head -64 "$work/tokens" > "$work/tokens64"

"$arbiter" serve --max-connections-per-address 100000 --db "$db" --migrations-dir "$root/Migrations" --public-dir "$root/Public" --port "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "== machine: $(nproc) cores; $pairs pairs; ${seconds}s per run; synchronous=FULL (fsync per commit)"
echo "64 annotators:   $("$load" "$port" "$project" "$work/tokens64" 64 "$seconds")"
echo "1000 annotators: $("$load" "$port" "$project" "$work/tokens" 64 "$seconds")"
# The same 1,000 annotators over 4 connections: latency without a queue in front.
echo "1000 annotators, 4 connections: $("$load" "$port" "$project" "$work/tokens" 4 "$seconds")"
python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print("stored annotations:", db.execute("select count(*) from annotations").fetchone()[0],
      "| max judgements per pair:", db.execute("select max(c) from (select count(*) c from annotations group by pair_id)").fetchone()[0])
PY
