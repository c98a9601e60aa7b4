#!/usr/bin/env bash
# Humans where judges cannot settle (issue 39), through the live server: for every
# simulated crowd family (../adaptive/crowds.py), 40 paced annotators judge 1,200
# pairs under adaptive overlap 1–5 with its default (automatic) threshold, three
# ways: no judges; two good judges (75% and 85% accurate, errors correlated with
# each other and with hard pairs) counted; one poor judge (55%) counted. Prints one
# JSON line per run and a Markdown table: people's judgements per pair and label
# accuracy against the truth. A fresh seed (the clock) unless SEED is given;
# SEEDS=N runs N seeds. About 2–3 minutes per run.
#   SEED=12 SEEDS=2 bash Benchmarks/judges/run.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
arbiter="$root/.build/release/arbiter"
seed="${SEED:-$(( $(date +%s) % 100000 + 1000 ))}"
seeds="${SEEDS:-1}"
pairs="${PAIRS:-1200}"
annotators="${ANNOTATORS:-40}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "seed $seed, $seeds seed(s), $pairs pairs, $annotators annotators"
for s in $(seq "$seed" $((seed + seeds - 1))); do
  for family in classic difficulty confusion; do
    for judges in none 0.75,0.85 0.55; do
      python3 "$root/Benchmarks/judges/live.py" "$arbiter" "$root" "$family" "$s" "$pairs" "$annotators" "$judges" -- --overlap 5 --min-overlap 1 | tee -a "$out"
    done
  done
done
python3 - "$out" "$pairs" <<'PY'
import json, sys, collections
runs = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
pairs = int(sys.argv[2])
cells = collections.defaultdict(list)
for r in runs:
    cells[(r["family"], r["judges"])].append(r)
print("\n| crowd | judges (accuracy measured) | runs | people's judgements per pair | labels right (of all pairs) | pairs labelled | right of those labelled | judgements vs none | accuracy vs none (points) | counted in overlap / export |")
print("|---|---|---|---|---|---|---|---|---|---|")
mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)
for family in ["classic", "difficulty", "confusion"]:
    base = cells.get((family, "none"))
    if not base:
        continue
    bj, ba = mean(base, "judgements"), mean(base, "accuracy")
    for judges in ["none", "0.75,0.85", "0.55"]:
        rows = cells.get((family, judges))
        if not rows:
            continue
        j, a, labelled = mean(rows, "judgements"), mean(rows, "accuracy"), mean(rows, "labelled")
        measured = ", ".join(f"{x:.2f}" for x in rows[0]["judge_accuracy"]) or "—"
        left = {x["judge"] for r in rows for x in r["judges_in_export"]["left_out"]}
        counted = ", ".join(("yes" if c else "no") + " / " + ("no" if f"judge{i}" in left else "yes") for i, c in enumerate(rows[0]["counted"])) or "—"
        saved = "—" if judges == "none" else f"{j / bj - 1:+.1%}"
        change = "—" if judges == "none" else f"{100 * (a - ba):+.1f}"
        print(f"| {family} | {judges} ({measured}) | {len(rows)} | {j / pairs:.2f} | {a:.1%} | {labelled / pairs:.1%} | {a * pairs / labelled:.1%} | {saved} | {change} | {counted} |")
PY
