#!/usr/bin/env bash
# Export benchmark: 1,000,000 annotations (200,000 pairs × 5 raters out of 1,000)
# through `arbiter export` in TRL (weighted: Dawid–Skene + rater signals) and raw
# formats; prints wall time and peak RSS of each.
#   bash Benchmarks/export/run.sh          # PAIRS=200000 RATERS_PER_PAIR=5
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pairs="${PAIRS:-200000}"
per="${RATERS_PER_PAIR:-5}"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
arbiter="$root/.build/release/arbiter"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/bench.sqlite"
m=(--db "$db" --migrations-dir "$root/Migrations")
"$arbiter" project create "${m[@]}" --name bench >/dev/null
python3 "$root/Benchmarks/import/generate.py" "$pairs" > "$work/pairs.jsonl"
"$arbiter" import pairs "${m[@]}" --project bench "$work/pairs.jsonl" >/dev/null
python3 - "$pairs" "$per" > "$work/annotations.jsonl" <<'PY'
import json, random, sys
pairs, per = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(1)
for i in range(pairs):
    truth = r.choice("AB")
    for rater in r.sample(range(1000), per):
        c = truth if r.random() < 0.8 else r.choice(["A", "B", "tie", "both_bad"])
        d = {"pair": f"pair-{i}", "annotator": f"rater{rater}", "choice": c, "created_at": "2026-01-01T00:00:00Z",
             "shown_swapped": r.random() < 0.5, "duration_ms": 5000 + r.randrange(30000)}
        if c in "AB":
            d["strength"] = r.randint(1, 3)
        print(json.dumps(d))
PY
"$arbiter" import annotations "${m[@]}" --project bench "$work/annotations.jsonl"
for format in trl raw; do
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/rss" "$arbiter" export "${m[@]}" --project bench --format "$format" --out "$work/out.$format" >/dev/null
    end=$(date +%s.%N)
    python3 -c "import sys; print(f'export {sys.argv[1]}: {float(sys.argv[3]) - float(sys.argv[2]):.1f} s, peak RSS {int(sys.argv[4]) // 1024} MB')" \
        "$format" "$start" "$end" "$(cat "$work/rss")"
done
wc -l "$work/out.trl" "$work/out.raw" | head -2
