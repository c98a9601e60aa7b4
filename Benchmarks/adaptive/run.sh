#!/usr/bin/env bash
# Overlap and selection policies on seeded simulated raters (issue 10): judgements
# spent against the accuracy of the aggregated labels, and against the held-out
# accuracy of a reward model trained on them. Seed 1 sweeps every policy, picks the
# cheapest weighted-posterior threshold that matches fixed overlap 3, and draws
# labels.svg and reward.svg here; seeds 2 and 3 then check that threshold afresh.
#   bash Benchmarks/adaptive/run.sh [PAIRS]        # default 20,000 pairs
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pairs="${1:-20000}"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$here" && swift build -c release 2>&1 | tail -1)
simulation="$here/.build/release/AdaptiveSimulation"
"$simulation" "$pairs" 1 "$here" | tee "$here/.last-run.txt"
threshold=$(sed -n 's/^result: posterior ≥ \([0-9.]*\) .*/\1/p' "$here/.last-run.txt")
rm -f "$here/.last-run.txt"
[ -n "$threshold" ] || exit 0
for seed in 2 3; do "$simulation" "$pairs" "$seed" - "$threshold" | grep -E "^(fixed|equal|result|[0-9]+ pairs)"; done
