#!/usr/bin/env bash
# Annotators while an admin uploads: ANNOTATORS keep-alive annotators (next →
# submit, think 0–2×THINK_MS) for SECONDS_EACH, first alone, then while 200,000-pair
# files are POSTed to /api/projects/{id}/pairs back to back (each into a project of
# its own). Prints next/submit p99 in both runs, their ratio, and the imports'
# rate. The target: p99 under 100 ms during imports (they are staged in short
# transactions between annotators' writes; see docs/ARCHITECTURE.md).
#
#   bash Benchmarks/import/during_load.sh
#   IMPORT_PAIRS=200000 ANNOTATORS=64 THINK_MS=50 SECONDS_EACH=30 bash Benchmarks/import/during_load.sh
set -euo pipefail
source "$(dirname "$0")/../common.sh"
pairs="${PAIRS:-20000}"
import_pairs="${IMPORT_PAIRS:-200000}"
seconds="${SECONDS_EACH:-30}"
annotators="${ANNOTATORS:-64}"
think="${THINK_MS:-50}"
port="${PORT:-18591}"
build_arbiter
build_load_generator
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
db="$work/bench.sqlite"
project=$(seed_project "$db" bench "$pairs" "$annotators" "$work/tokens")
cli=(--db "$db" --migrations-dir "$root/Migrations")
"$arbiter" user add "${cli[@]}" --username importer --role admin >/dev/null
admin=$("$arbiter" token create "${cli[@]}" --username importer)
targets=()
for index in $(seq 1 20); do
    targets+=("$("$arbiter" project create "${cli[@]}" --name "target$index" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
done
python3 "$root/Benchmarks/import/generate.py" "$import_pairs" > "$work/upload.jsonl"
start_server "$db" "$port"
echo "== $(nproc) cores; $annotators annotators, think 0–$((2 * think)) ms, ${seconds} s per run; uploads of $import_pairs pairs ($(du -h "$work/upload.jsonl" | cut -f1))"
alone=$("$load" "$port" "$project" "$work/tokens" "$annotators" "$seconds" "$think" 0)
echo "alone:          $alone"
"$load" "$port" "$project" "$work/tokens" "$annotators" "$seconds" "$think" 0 > "$work/during" &
loader=$!
sleep 1
imports=0
import_seconds=0
for target in "${targets[@]}"; do
    kill -0 "$loader" 2>/dev/null || break
    started=$(date +%s.%N)
    status=$(curl -s -o "$work/report" -w '%{http_code}' -H "Authorization: Bearer $admin" --data-binary @"$work/upload.jsonl" \
        "http://127.0.0.1:$port/api/projects/$target/pairs")
    ended=$(date +%s.%N)
    [ "$status" = 200 ] || { echo "import answered $status: $(cat "$work/report")" >&2; exit 1; }
    imports=$((imports + 1))
    import_seconds=$(python3 -c "print($import_seconds + $ended - $started)")
done
wait "$loader"
during=$(cat "$work/during")
echo "during imports: $during"
python3 - "$alone" "$during" "$imports" "$import_seconds" "$import_pairs" <<'PY'
import json, sys
a, d = json.loads(sys.argv[1]), json.loads(sys.argv[2])
imports, busy, size = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
for key in ("next_p99_ms", "submit_p99_ms"):
    print(f"{key}: {a[key]} alone → {d[key]} ms during imports ({d[key] / max(a[key], 1e-9):.2f}x; target < 100 ms)")
print(f"imports: {imports} × {size:,} pairs in {busy:.1f} s ({imports * size / max(busy, 1e-9):,.0f} pairs/s while annotators work)")
print(f"errors: {a['errors']} alone, {d['errors']} during imports")
PY
