#!/usr/bin/env bash
# Overlap policies on seeded simulated raters (issue 10, first step): judgements
# spent per pair against the accuracy of the aggregated labels.
#   bash Benchmarks/adaptive/run.sh [PAIRS] [SEED]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$here" && swift build -c release 2>&1 | tail -1)
"$here/.build/release/AdaptiveSimulation" "$@"
