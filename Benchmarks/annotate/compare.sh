#!/usr/bin/env bash
# The annotation loop of this tree against an earlier commit, in one run: each
# version serves its own freshly seeded database (100,000 pairs, its own
# migrations) and the same load (64 keep-alive annotators, next → submit, no
# pause) in alternating rounds. Prints annotations/s and p99 of each round, the
# medians and their ratio. A refactoring must keep the ratio within 5%.
#
#   BASE=c62bf9c bash Benchmarks/annotate/compare.sh
#   BASE=c62bf9c ROUNDS=3 SECONDS_EACH=15 bash Benchmarks/annotate/compare.sh
set -euo pipefail
source "$(dirname "$0")/../common.sh"
base="${BASE:?set BASE to a commit to compare with, e.g. BASE=c62bf9c}"
pairs="${PAIRS:-100000}"
rounds="${ROUNDS:-3}"
seconds="${SECONDS_EACH:-15}"
port="${PORT:-18593}"
build_arbiter
build_load_generator
build_base "$base"
tree="$base_tree"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
python3 "$root/Benchmarks/import/generate.py" "$pairs" > "$work/pairs.jsonl"
declare -A binary=([head]="$arbiter" [base]="$tree/.build/release/arbiter")
declare -A tree_of=([head]="$root" [base]="$tree")
declare -A project
for version in head base; do
    db="$work/$version.sqlite"
    project[$version]=$("${binary[$version]}" project create --db "$db" --migrations-dir "${tree_of[$version]}/Migrations" --name bench --overlap 3 --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    "${binary[$version]}" import pairs --db "$db" --migrations-dir "${tree_of[$version]}/Migrations" --project bench "$work/pairs.jsonl" >/dev/null
    python3 "$root/Benchmarks/annotate/seed_annotators.py" "$db" 64 > "$work/$version.tokens"
done
echo "== $(nproc) cores; $pairs pairs; 64 annotators back to back; $rounds rounds × ${seconds} s per version, alternating; base $base"
: > "$work/results"
for round in $(seq 1 "$rounds"); do
    for version in head base; do
        "${binary[$version]}" serve --db "$work/$version.sqlite" --migrations-dir "${tree_of[$version]}/Migrations" \
            --public-dir "${tree_of[$version]}/Public" --port "$port" --log-level notice --max-connections-per-address 100000 >/dev/null 2>&1 &
        server=$!
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
        result=$("$load" "$port" "${project[$version]}" "$work/$version.tokens" 64 "$seconds")
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
        echo "round $round $version: $result"
        echo "$version $result" >> "$work/results"
    done
done
python3 - "$work/results" <<'PY'
import json, statistics, sys
runs = {"head": [], "base": []}
for line in open(sys.argv[1]):
    version, result = line.split(" ", 1)
    runs[version].append(json.loads(result))
def median(version, key): return statistics.median(r[key] for r in runs[version])
h, b = median("head", "annotations_per_s"), median("base", "annotations_per_s")
print(f"annotations/s (median): head {h:,.0f}, base {b:,.0f} → {h / b:.3f}x")
# Each round runs head then base back to back: their ratio cancels the machine's drift.
paired = [x["annotations_per_s"] / y["annotations_per_s"] for x, y in zip(runs["head"], runs["base"])]
print("per-round ratios head/base: " + ", ".join(f"{r:.3f}" for r in paired) + f" → median {statistics.median(paired):.3f}x")
for key in ("next_p99_ms", "submit_p99_ms"):
    print(f"{key} (median): head {median('head', key)}, base {median('base', key)}")
PY
