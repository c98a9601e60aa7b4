#!/usr/bin/env bash
# Pair import benchmark: N lines (default 1,000,000) through `arbiter import pairs`
# into a fresh SQLite database; prints lines/s, wall time and peak RSS (flat
# memory means RSS does not grow with N: compare N=100000 and N=1000000).
# With BASE, an earlier commit imports the same file into its own fresh
# database, alternating with this tree for ROUNDS rounds, and the medians'
# ratio is printed (the claim; absolute times on a shared machine are context).
#
#   bash Benchmarks/import/run.sh            # 1,000,000 pairs
#   N=100000 bash Benchmarks/import/run.sh
#   BASE=0de40ad ROUNDS=2 bash Benchmarks/import/run.sh
set -euo pipefail
source "$(dirname "$0")/../common.sh"
n="${N:-1000000}"
rounds="${ROUNDS:-2}"
build_arbiter
head_and_base
if [ -z "${BASE:-}" ]; then
    rounds=1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$root/Benchmarks/import/generate.py" "$n" > "$work/pairs.jsonl"
echo "input: $n lines, $(du -h "$work/pairs.jsonl" | cut -f1)"
: > "$work/results"
for round in $(seq 1 "$rounds"); do
    for version in "${versions[@]}"; do
        arbiter="${binary[$version]}"
        rm -f "$work"/bench.sqlite*
        "$arbiter" project create --db "$work/bench.sqlite" --migrations-dir "${migrations[$version]}" --name bench >/dev/null
        start=$(date +%s.%N)
        /usr/bin/time -f "%M" -o "$work/rss" "$arbiter" import pairs --db "$work/bench.sqlite" --migrations-dir "${migrations[$version]}" \
            --project bench "$work/pairs.jsonl" >/dev/null
        end=$(date +%s.%N)
        python3 - "$version" "$round" "$n" "$start" "$end" "$(cat "$work/rss")" "$work/results" <<'PY'
import sys
version, round_, n, start, end, rss, results = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
seconds = end - start
print(f"round {round_} {version}: imported {n} pairs in {seconds:.1f} s ({n / seconds:,.0f} lines/s), peak RSS {rss / 1024:.0f} MB")
open(results, "a").write(f"{version} {seconds}\n")
PY
    done
done
if [ "${#versions[@]}" -gt 1 ]; then
    python3 - "$work/results" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    version, seconds = line.split()
    times.setdefault(version, []).append(float(seconds))
head, base = statistics.median(times["head"]), statistics.median(times["base"])
print(f"median: head {head:.1f} s, base {base:.1f} s — head takes {head / base:.2f}x the base's time")
PY
fi
