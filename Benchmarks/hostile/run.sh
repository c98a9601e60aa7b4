#!/usr/bin/env bash
# The hostile-client benchmark: each attack of issue 17 against a release
# `arbiter serve --demo` on 127.0.0.1, with the server's RSS before/after and the
# /healthz latency of a well-behaved client during the attack.
#   bash Benchmarks/hostile/run.sh
set -euo pipefail
source "$(dirname "$0")/../common.sh"
build_arbiter
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
"$arbiter" serve --demo --db "$work/hostile.sqlite" --migrations-dir "$root/Migrations" --public-dir "$root/Public" \
    --port "$port" --log-level error > "$work/demo.txt" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "^passwords and tokens" "$work/demo.txt" 2>/dev/null && break; sleep 0.1; done
admin=$(grep "^admin token:" "$work/demo.txt" | awk '{print $3}')
password=$(grep "^sign-in: annotator" "$work/demo.txt" | awk '{print $4}')
date -u +"%Y-%m-%d %H:%M UTC"
python3 "$root/Benchmarks/hostile/hostile.py" "$port" "$server" "$admin" "$password"
