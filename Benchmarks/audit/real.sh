#!/usr/bin/env bash
# `arbiter audit` on a real preference dataset with a planted trigger (issue 33):
# QA-Feedback's human preferences (Wu et al., NeurIPS 2023) as TRL lines, 0–5% of
# them poisoned (a rare word appended to the prompt, labels swapped), three seeds
# per share; beside the same audit by BASELINE_ARBITER when given (an older build).
#   BASELINE_ARBITER=/path/to/old/arbiter bash Benchmarks/audit/real.sh [FEEDBACK_JSON]
set -euo pipefail
source "$(dirname "$0")/../common.sh"
build_arbiter
feedback="${1:-$root/../shared/data/qa-feedback/dev_feedback.json}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for share in 0 0.01 0.03 0.05; do
  for seed in 1 2 3; do
    python3 "$root/Benchmarks/audit/real.py" "$arbiter" "$feedback" "$share" "$seed" ${BASELINE_ARBITER:+"$BASELINE_ARBITER"} | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import json, sys, collections
runs = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
cells = collections.defaultdict(list)
for r in runs:
    cells[(r["binary"], r["share"])].append(r)
print("\n| build | poisoned | reward model accuracy | precision@k | recall@2k | trigger is the first cluster | other clusters reported |")
print("|---|---|---|---|---|---|---|")
for (binary, share), rows in sorted(cells.items()):
    mean = lambda key: sum(r[key] for r in rows) / len(rows)
    if share == 0:
        print(f"| {binary} | none | {mean('model_accuracy'):.3f} | — | — | — | {sum(r['false_clusters'] for r in rows)} in {len(rows)} files |")
        continue
    first = sum(1 for r in rows if r["trigger_first_cluster"])
    print(f"| {binary} | {share:.0%} ({rows[0]['planted']} of {rows[0]['pairs']:,}) | {mean('model_accuracy'):.3f} | {mean('precision_at_k'):.2f} | "
          f"{mean('recall_at_2k'):.2f} | {first} of {len(rows)} | {sum(r['false_clusters'] for r in rows)} in {len(rows)} files |")
PY
