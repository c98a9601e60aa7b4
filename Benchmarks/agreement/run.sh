#!/usr/bin/env bash
# Agreement + all rater signals for 1,000,000 judgements (100,000 pairs × 10,
# 1,000 raters) in one process: prints the seconds of each part and peak RSS.
#   bash Benchmarks/agreement/run.sh [PAIRS] [JUDGES_PER_PAIR] [RATERS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$here" && swift build -c release 2>&1 | tail -1)
"$here/.build/release/AgreementBenchmark" "$@"
