#!/usr/bin/env bash
# Pair import benchmark: N lines (default 1,000,000) through `arbiter import pairs`
# into a fresh database; prints lines/s, wall time and peak RSS (flat memory means
# RSS does not grow with N: compare N=100000 and N=1000000).
#
#   bash Benchmarks/import/run.sh            # 1,000,000 pairs
#   N=100000 bash Benchmarks/import/run.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${N:-1000000}"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$root/Benchmarks/import/generate.py" "$n" > "$work/pairs.jsonl"
echo "input: $n lines, $(du -h "$work/pairs.jsonl" | cut -f1)"
arbiter="$root/.build/release/arbiter"
"$arbiter" project create --db "$work/bench.sqlite" --migrations-dir "$root/Migrations" --name bench >/dev/null
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/rss" "$arbiter" import pairs --db "$work/bench.sqlite" --migrations-dir "$root/Migrations" --project bench "$work/pairs.jsonl"
end=$(date +%s.%N)
python3 - "$n" "$start" "$end" "$(cat "$work/rss")" <<'PY'
import sys
n, start, end, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
seconds = end - start
print(f"imported {n} pairs in {seconds:.1f} s ({n / seconds:,.0f} lines/s), peak RSS {rss / 1024:.0f} MB")
PY
