#!/usr/bin/env bash
# Crash durability, the long run: 16 annotators submit over HTTP to `arbiter serve`,
# which is SIGKILLed at a random moment and restarted on the same SQLite file,
# CYCLES times (default 20). After every kill: every acknowledged (201/200)
# annotation present exactly once, PRAGMA integrity_check = ok.
#   bash Benchmarks/durability/run.sh [CYCLES]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
cd "$root"
ARBITER_DURABILITY_CYCLES="${1:-20}" swift test --filter CrashDurabilityTests 2>&1 | grep -E "^cycle |passed|failed|recorded an issue"
