#!/usr/bin/env bash
# Adaptive overlap through the live server (issue 21): for every crowd family,
# 40 paced annotators judge 1,200 pairs through `arbiter serve` under fixed overlap
# 3 and under adaptive overlap 1–5 with the default threshold, on a fresh seed
# (the clock) unless SEED is given; prints judgements spent and the export's label
# accuracy. About 2–3 minutes per run (the pace keeps accuracy refreshes at every
# 250 judgements, as in a real campaign); six runs.
#   SEED=12 THRESHOLD=0.83 bash Benchmarks/adaptive/live.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
seed="${SEED:-$(( $(date +%s) % 100000 + 1000 ))}"
threshold="${THRESHOLD:-0.83}"
echo "seed $seed, adaptive threshold $threshold"
for family in classic difficulty confusion; do
  for options in "--overlap 3" "--overlap 5 --min-overlap 1 --stop-posterior $threshold"; do
    python3 "$root/Benchmarks/adaptive/live.py" "$root/.build/release/arbiter" "$root" "$family" "$seed" 1200 40 -- $options
  done
done
