#!/usr/bin/env bash
# The Python client's upload against the raw HTTP upload of the same pairs, into
# the same server, alternating: `curl --data-binary @pairs.jsonl` (the floor: the
# server's import alone) and `project.add_pairs(...)` from a list of dicts and from
# a `datasets.Dataset` (what a notebook holds). Each run imports into a fresh
# project; prints seconds per run and the client's time as a multiple of curl's.
#
#   bash Benchmarks/python/upload.sh            # 100,000 pairs, 2 rounds
#   N=300000 ROUNDS=3 bash Benchmarks/python/upload.sh
#
# Uses the test environment's Python (.build/test-venv: httpx, datasets), which
# `swift test` creates.
set -euo pipefail
source "$(dirname "$0")/../common.sh"
n="${N:-100000}"
rounds="${ROUNDS:-2}"
port="${PORT:-18681}"
python="$root/.build/test-venv/bin/python"
[ -x "$python" ] || { echo "needs .build/test-venv (run swift test once)" >&2; exit 1; }
build_arbiter
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
python3 "$root/Benchmarks/import/generate.py" "$n" > "$work/pairs.jsonl"
"$arbiter" serve --db "$work/bench.sqlite" --migrations-dir "$root/Migrations" --public-dir "$root/Public" --port "$port" \
    --log-level error --demo > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "^admin token:" "$work/serve.log" && curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
token=$(grep "^admin token:" "$work/serve.log" | awk '{print $3}')
echo "== $n pairs ($(du -h "$work/pairs.jsonl" | cut -f1)), $rounds rounds"
PYTHONPATH="$root/clients/python/src" ARBITER_URL="http://127.0.0.1:$port" ARBITER_TOKEN="$token" \
    "$python" - "$work/pairs.jsonl" "$rounds" <<'PY'
import json, os, statistics, subprocess, sys, time
import datasets
from arbiter_rlhf import Arbiter

path, rounds = sys.argv[1], int(sys.argv[2])
rows = [json.loads(line) for line in open(path)]
dataset = datasets.Dataset.from_list(rows)
client = Arbiter(timeout=600)
times = {"curl": [], "client, dicts": [], "client, Dataset": []}
for round_ in range(rounds):
    for way in times:
        project = client.projects.create(f"upload {round_} {way}")
        started = time.perf_counter()
        if way == "curl":
            out = subprocess.run(
                ["curl", "-sf", "-H", f"Authorization: Bearer {os.environ['ARBITER_TOKEN']}", "--data-binary", f"@{path}",
                 f"{os.environ['ARBITER_URL']}/api/projects/{project.id}/pairs"], capture_output=True, check=True)
            imported = json.loads(out.stdout)["imported"]
        else:
            imported = project.add_pairs(rows if way == "client, dicts" else dataset, progress=False).imported
        seconds = time.perf_counter() - started
        assert imported == len(rows), (way, imported)
        times[way].append(seconds)
        print(f"round {round_ + 1} {way}: {seconds:.2f} s")
floor = statistics.median(times["curl"])
for way, values in times.items():
    median = statistics.median(values)
    print(f"{way:<16} median {median:.2f} s  ({len(rows) / median:,.0f} pairs/s, {median / floor:.2f}x curl)")
PY
