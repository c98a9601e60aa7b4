#!/usr/bin/env bash
# Active selection against fixed order, in one run: the same annotators on a
# project with fixed overlap 3 and on one with active selection (a model
# retrained every 500 judgements in the background), in alternating rounds (the
# server restarted each round, so every round retrains). Each round: paced
# annotators (think 0–2×THINK_MS), then the same back to back. Prints each round,
# the medians and the per-round ratios. Targets (issue 18): active `next` p99 ≤
# 1.5× fixed, active saturated throughput ≥ 90% of fixed.
#
#   bash Benchmarks/load/active.sh
#   ROUNDS=3 SECONDS_EACH=20 ANNOTATORS=1000 THINK_MS=500 PAIRS=200000 bash Benchmarks/load/active.sh
set -euo pipefail
source "$(dirname "$0")/../common.sh"
pairs="${PAIRS:-200000}"  # 3 rounds × 2 runs take ~375,000 of the 600,000 judgements wanted
seconds="${SECONDS_EACH:-20}"
rounds="${ROUNDS:-3}"
annotators="${ANNOTATORS:-1000}"
think="${THINK_MS:-500}"
port="${PORT:-18592}"
build_arbiter
build_load_generator
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
declare -A project
for mode in fixed active; do
    options="--overlap 3"
    [ "$mode" = active ] && options="--overlap 3 --active-selection --active-retrain-every 500"
    project[$mode]=$(PROJECT_OPTIONS="$options" seed_project "$work/$mode.sqlite" "$mode" "$pairs" "$annotators" "$work/$mode.tokens")
done
echo "== $(nproc) cores; $annotators annotators; $rounds rounds, each ${seconds} s paced (think 0–$((2 * think)) ms) then ${seconds} s back to back per mode; $pairs pairs"
: > "$work/results"
for round in $(seq 1 "$rounds"); do
    for mode in fixed active; do
        start_server "$work/$mode.sqlite" "$port"
        "$load" "$port" "${project[$mode]}" "$work/$mode.tokens" "$annotators" 5 "$think" 0 >/dev/null  # warm-up, not counted
        paced=$("$load" "$port" "${project[$mode]}" "$work/$mode.tokens" "$annotators" "$seconds" "$think" 0)
        saturated=$("$load" "$port" "${project[$mode]}" "$work/$mode.tokens" "$annotators" "$seconds" 0 0)
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
        echo "round $round $mode paced:     $paced"
        echo "round $round $mode saturated: $saturated"
        echo "$mode $paced" >> "$work/results.paced"
        echo "$mode $saturated" >> "$work/results.saturated"
    done
done
retrains=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT coalesce(max(retrains),0) FROM selection_models").fetchone()[0])' "$work/active.sqlite")
echo "active selection retrained $retrains times in all"
python3 - "$work/results.paced" "$work/results.saturated" <<'PY'
import json, statistics, sys
def load(path):
    runs = {"fixed": [], "active": []}
    for line in open(path):
        mode, result = line.split(" ", 1)
        runs[mode].append(json.loads(result))
    return runs
paced, saturated = load(sys.argv[1]), load(sys.argv[2])
def med(runs, mode, key): return statistics.median(r[key] for r in runs[mode])
pf, pa = med(paced, "fixed", "next_p99_ms"), med(paced, "active", "next_p99_ms")
print(f"next p99 (paced, median): fixed {pf} ms, active {pa} ms → {pa / max(pf, 1e-9):.2f}x (target ≤ 1.5x)")
if any(r["nothing_left"] and not r["annotations"] for runs in (paced, saturated) for mode in runs for r in runs[mode]):
    sys.exit("a run found nothing left to judge: raise PAIRS")
ratios = [a["annotations_per_s"] / f["annotations_per_s"] for f, a in zip(saturated["fixed"], saturated["active"])]
sf, sa = med(saturated, "fixed", "annotations_per_s"), med(saturated, "active", "annotations_per_s")
print(f"saturated (median): fixed {sf:,.0f}/s, active {sa:,.0f}/s; per-round active/fixed: "
      + ", ".join(f"{r:.0%}" for r in ratios) + f" → median {statistics.median(ratios):.0%} (target ≥ 90%)")
errors = sum(r["errors"] for runs in (paced, saturated) for mode in runs for r in runs[mode])
print(f"errors: {errors}")
PY
