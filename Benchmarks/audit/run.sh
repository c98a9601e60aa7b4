#!/usr/bin/env bash
# `arbiter audit` on planted poison (issue 21): 1–5% poisoned pairs (prompt
# triggers and content targets) in a clean seeded set, fresh seeds every run unless
# FIRST_SEED is given; precision of the planted pairs at the top of the ranking,
# next to ranking by the out-of-fold reward model alone.
#   bash Benchmarks/audit/run.sh [PAIRS] [SEEDS_PER_SHARE] [FIRST_SEED]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$here" && swift build -c release 2>&1 | tail -1)
"$here/.build/release/AuditBenchmark" "${1:-3000}" "${2:-3}" "${3:-clock}"
