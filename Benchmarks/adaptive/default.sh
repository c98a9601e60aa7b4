#!/usr/bin/env bash
# Adaptive overlap's default (an automatic threshold per crowd, issue 33) against
# fixed overlap 3, through the live server: the three simulated crowd families of
# live.py on a fresh seed (the clock) unless SEED is given, and every real crowd
# given (default: ../shared/data/crowds/*) replayed worker by worker (replay.py)
# in ORDERS arrival orders. Prints one JSON line per run and a Markdown table.
#   SEED=21 ORDERS=4 bash Benchmarks/adaptive/default.sh [CROWD_DIR...]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
arbiter="$root/.build/release/arbiter"
seed="${SEED:-$(( $(date +%s) % 100000 + 1000 ))}"
orders="${ORDERS:-4}"
crowds=("$@")
if [ ${#crowds[@]} -eq 0 ]; then crowds=("$root"/../shared/data/crowds/*/); fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "seed $seed, $orders orders per real crowd"
for family in classic difficulty confusion; do
  for options in "--overlap 3" "--overlap 5 --min-overlap 1"; do
    python3 "$root/Benchmarks/adaptive/live.py" "$arbiter" "$root" "$family" "$seed" 1200 40 -- $options | tee -a "$out"
  done
done
for crowd in "${crowds[@]}"; do
  for order in $(seq 1 "$orders"); do
    for options in "--overlap 3" "--overlap 5 --min-overlap 1"; do
      python3 "$root/Benchmarks/adaptive/replay.py" "$arbiter" "$root" "$crowd" "$((seed + order))" -- $options | tee -a "$out"
    done
  done
done
python3 - "$out" <<'PY'
import json, sys, collections
runs = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
cells = collections.defaultdict(lambda: {"fixed": [], "auto": []})
for r in runs:
    name = r.get("family") or r.get("crowd")
    cells[name]["fixed" if r["options"] == "--overlap 3" else "auto"].append(r)
print("\n| crowd | runs | fixed 3: judgements | labels right | automatic 1–5: judgements | labels right | judgements saved | accuracy change (points) |")
print("|---|---|---|---|---|---|---|---|")
for name, cell in cells.items():
    if not cell["fixed"] or not cell["auto"]:
        continue
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)
    fj, fa, aj, aa = mean(cell["fixed"], "judgements"), mean(cell["fixed"], "accuracy"), mean(cell["auto"], "judgements"), mean(cell["auto"], "accuracy")
    print(f"| {name} | {len(cell['auto'])} | {fj:,.0f} | {fa:.1%} | {aj:,.0f} | {aa:.1%} | {1 - aj / fj:+.1%} | {100 * (aa - fa):+.1f} |")
PY
