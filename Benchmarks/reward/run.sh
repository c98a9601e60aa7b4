#!/usr/bin/env bash
# Reward trainer vs scikit-learn's LogisticRegression on the same hashed features,
# side by side in one run, as whole processes:
#   arbiter train   reads the TRL JSONL, hashes it, trains, writes the model + metrics;
#   scikit-learn    loads the chosen − rejected vectors arbiter hashed (svmlight, the
#                   same train/held-out split), fits LogisticRegression (lbfgs, C=1,
#                   no intercept), predicts the held-out pairs.
# scikit-learn does not pay for reading JSON or hashing; arbiter does.
#   bash Benchmarks/reward/run.sh [PAIRS]        # default 100000
#   SCALE=1000000 bash Benchmarks/reward/run.sh  # also time arbiter alone on 1M pairs
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pairs="${1:-100000}"
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1)
arbiter="$root/.build/release/arbiter"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet scikit-learn
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/generate.py" "$pairs" > "$work/pairs.jsonl"
# The svmlight dump for scikit-learn, made once, outside both timings.
"$arbiter" train --input "$work/pairs.jsonl" --out "$work/dump" --epochs 1 --features-out "$work/features" >/dev/null

seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/arbiter.rss" "$arbiter" train --input "$work/pairs.jsonl" --out "$work/model" >/dev/null
arbiter_s=$(seconds "$start" "$(date +%s.%N)")
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/sklearn.rss" "$venv/bin/python" "$here/sklearn_peer.py" "$work/features" 20 > "$work/sklearn.json"
sklearn_s=$(seconds "$start" "$(date +%s.%N)")

python3 - "$work" "$pairs" "$arbiter_s" "$sklearn_s" <<'PY'
import json, sys
work, pairs, arbiter_s, sklearn_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ours = json.load(open(f"{work}/model/metrics.json"))
peer = json.load(open(f"{work}/sklearn.json"))
rss = lambda name: int(open(f"{work}/{name}.rss").read()) // 1024
print(f"{pairs} pairs, {ours['held_out_pairs']} held out")
print(f"arbiter train     accuracy {100 * ours['held_out_accuracy']:.2f}%  {arbiter_s:6.2f} s  {rss('arbiter'):5d} MB  (best epoch {ours['best_epoch']})")
print(f"scikit-learn LR   accuracy {100 * peer['accuracy']:.2f}%  {sklearn_s:6.2f} s  {rss('sklearn'):5d} MB  (load {peer['load_s']:.1f} s, fit {peer['fit_s']:.1f} s)")
print(f"accuracy gap {100 * (ours['held_out_accuracy'] - peer['accuracy']):+.2f} points; speed {sklearn_s / arbiter_s:.2f}x")
PY

if [ -n "${SCALE:-}" ]; then
    python3 "$here/generate.py" "$SCALE" > "$work/big.jsonl"
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/big.rss" "$arbiter" train --input "$work/big.jsonl" --out "$work/big" >/dev/null
    echo "$SCALE pairs: arbiter train $(seconds "$start" "$(date +%s.%N)") s, peak RSS $(( $(cat "$work/big.rss") / 1024 )) MB," \
        "accuracy $(python3 -c "import json; print(round(100 * json.load(open('$work/big/metrics.json'))['held_out_accuracy'], 2))")%"
fi
