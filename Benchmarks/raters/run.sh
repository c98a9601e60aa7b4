#!/usr/bin/env bash
# Rater-quality detector on seeded simulated crowds (issue 21): three families
# (classic; item difficulty with long-tailed volumes; per-rater confusion
# matrices with a trigger-using ring and content poisoners), attacker shares 5–30%,
# fresh seeds every run (the clock) unless FIRST_SEED is given. Prints precision,
# recall, honest raters flagged per 1,000, ranking AUC, recall by volume, and draws
# recall-by-volume.svg here.
#   bash Benchmarks/raters/run.sh [CROWDS_PER_CELL] [FIRST_SEED]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$here" && swift build -c release 2>&1 | tail -1)
"$here/.build/release/RaterBenchmark" "${1:-5}" "${2:-clock}" "$here"
