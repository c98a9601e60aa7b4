#!/usr/bin/env bash
# Active selection against fixed order, in one run: the same annotators (paced,
# then back to back) on a project with fixed overlap 3 and on one with active
# selection (a model retrained every 500 judgements in the background). Prints
# next p99 and saturated throughput of both and their ratios. Targets (issue 18):
# active next p99 ≤ 1.5× fixed, active throughput ≥ 90% of fixed.
#
#   bash Benchmarks/load/active.sh
#   SECONDS_EACH=30 ANNOTATORS=1000 THINK_MS=500 PAIRS=100000 bash Benchmarks/load/active.sh
set -euo pipefail
source "$(dirname "$0")/../common.sh"
pairs="${PAIRS:-100000}"
seconds="${SECONDS_EACH:-30}"
annotators="${ANNOTATORS:-1000}"
think="${THINK_MS:-500}"
port="${PORT:-18592}"
build_arbiter
build_load_generator
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
echo "== $(nproc) cores; $annotators annotators, think 0–$((2 * think)) ms, ${seconds} s paced then ${seconds} s back to back, $pairs pairs"
declare -A paced saturated
for mode in fixed active; do
    options="--overlap 3"
    [ "$mode" = active ] && options="--overlap 3 --active-selection --active-retrain-every 500"
    project=$(PROJECT_OPTIONS="$options" seed_project "$work/$mode.sqlite" "$mode" "$pairs" "$annotators" "$work/$mode.tokens")
    start_server "$work/$mode.sqlite" "$port"
    "$load" "$port" "$project" "$work/$mode.tokens" "$annotators" 5 "$think" 0 >/dev/null  # warm-up, not counted
    paced[$mode]=$("$load" "$port" "$project" "$work/$mode.tokens" "$annotators" "$seconds" "$think" 0)
    saturated[$mode]=$("$load" "$port" "$project" "$work/$mode.tokens" "$annotators" "$seconds" 0 0)
    if [ "$mode" = active ]; then
        retrains=$(python3 - "$work/$mode.sqlite" <<'PY'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("SELECT coalesce(max(retrains), 0) FROM selection_models").fetchone()
print(row[0])
PY
)
    fi
    kill "$server"; wait "$server" 2>/dev/null || true
    echo "$mode paced:     ${paced[$mode]}"
    echo "$mode saturated: ${saturated[$mode]}"
done
echo "active selection retrained $retrains times"
python3 - "${paced[fixed]}" "${paced[active]}" "${saturated[fixed]}" "${saturated[active]}" <<'PY'
import json, sys
pf, pa, sf, sa = (json.loads(x) for x in sys.argv[1:5])
print(f"next p99 (paced): fixed {pf['next_p99_ms']} ms, active {pa['next_p99_ms']} ms → {pa['next_p99_ms'] / max(pf['next_p99_ms'], 1e-9):.2f}x (target ≤ 1.5x)")
print(f"saturated: fixed {sf['annotations_per_s']:,.0f}/s, active {sa['annotations_per_s']:,.0f}/s → {sa['annotations_per_s'] / sf['annotations_per_s']:.0%} (target ≥ 90%)")
print(f"errors: {pf['errors'] + sf['errors']} fixed, {pa['errors'] + sa['errors']} active")
PY
