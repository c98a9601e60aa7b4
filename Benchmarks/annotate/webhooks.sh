#!/usr/bin/env bash
# What webhooks cost the annotation loop (SQLite), in one run, alternating
# rounds of three servers on freshly seeded databases (100,000 pairs, 64
# keep-alive annotators, next → submit without pause):
#
#   base    BASE (a commit before webhooks), for the cost of the trigger and schema
#   head    this tree, no endpoint registered (the trigger finds none)
#   hooked  this tree with one endpoint for every event, a local receiver
#           answering 204 (every judgement queued, batched and sent)
#
# Prints annotations/s and p99 per round, per-round ratios to `base`, and for
# `hooked` whether the receiver got every stored judgement once.
#
#   BASE=872db5f bash Benchmarks/annotate/webhooks.sh
set -euo pipefail
source "$(dirname "$0")/../common.sh"
base="${BASE:?set BASE to a commit before webhooks, e.g. BASE=872db5f}"
pairs="${PAIRS:-100000}"
rounds="${ROUNDS:-3}"
seconds="${SECONDS_EACH:-15}"
port="${PORT:-18693}"
receiver_port=$((port + 1))
build_arbiter
build_load_generator
build_base "$base"
work="$(mktemp -d)"
server=""
receiver=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$receiver" ] && kill $receiver 2>/dev/null; rm -rf "$work"' EXIT
python3 "$root/Benchmarks/import/generate.py" "$pairs" > "$work/pairs.jsonl"
declare -A binary=([head]="$arbiter" [hooked]="$arbiter" [base]="$base_tree/.build/release/arbiter")
declare -A migrations=([head]="$root/Migrations" [hooked]="$root/Migrations" [base]="$base_tree/Migrations")
declare -A public=([head]="$root/Public" [hooked]="$root/Public" [base]="$base_tree/Public")
declare -A project
versions=(base head hooked)
for version in "${versions[@]}"; do
    db="$work/$version.sqlite"
    project[$version]=$("${binary[$version]}" project create --db "$db" --migrations-dir "${migrations[$version]}" --name bench --overlap 3 --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    "${binary[$version]}" import pairs --db "$db" --migrations-dir "${migrations[$version]}" --project bench "$work/pairs.jsonl" >/dev/null
    python3 "$root/Benchmarks/annotate/seed_annotators.py" "$db" 64 > "$work/$version.tokens"
done
"$arbiter" webhook add --db "$work/hooked.sqlite" --url "http://127.0.0.1:$receiver_port/hook" --events '*' >/dev/null
python3 "$root/Benchmarks/annotate/receiver.py" "$receiver_port" > "$work/received" &
receiver=$!
echo "== $(nproc) cores; $pairs pairs; 64 annotators back to back; $rounds rounds × ${seconds} s per server, alternating; base $base"
: > "$work/results"
for round in $(seq 1 "$rounds"); do
    for version in "${versions[@]}"; do
        "${binary[$version]}" serve --db "$work/$version.sqlite" --migrations-dir "${migrations[$version]}" \
            --public-dir "${public[$version]}" --port "$port" --log-level notice --max-connections-per-address 100000 >/dev/null 2>&1 &
        server=$!
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
        result=$("$load" "$port" "${project[$version]}" "$work/$version.tokens" 64 "$seconds")
        # The hooked server sends what is queued before it stops (a few seconds at most).
        if [ "$version" = hooked ]; then
            for _ in $(seq 100); do
                left=$(sqlite3 "$work/hooked.sqlite" "SELECT (SELECT count(*) FROM webhook_judgements) + (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending')")
                [ "$left" = 0 ] && break; sleep 0.2
            done
        fi
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
        echo "round $round $version: $result"
        echo "$version $result" >> "$work/results"
    done
done
kill "$receiver"; wait "$receiver" 2>/dev/null || true; receiver=""
stored=$(sqlite3 "$work/hooked.sqlite" "SELECT count(*) FROM annotations")
echo "hooked: $stored judgements stored; the receiver got $(cat "$work/received")"
python3 - "$work/results" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    version, result = line.split(" ", 1)
    runs.setdefault(version, []).append(json.loads(result))
for version in ("head", "hooked"):
    paired = [x["annotations_per_s"] / y["annotations_per_s"] for x, y in zip(runs[version], runs["base"])]
    print(f"{version}/base annotations/s per round: " + ", ".join(f"{r:.3f}" for r in paired) + f" → median {statistics.median(paired):.3f}x")
for version, values in runs.items():
    med = lambda key: statistics.median(r[key] for r in values)
    print(f"{version}: {med('annotations_per_s'):,.0f} annotations/s, next p99 {med('next_p99_ms')} ms, submit p99 {med('submit_p99_ms')} ms")
PY
