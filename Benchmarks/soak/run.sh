#!/usr/bin/env bash
# Soak: DURATION seconds (default 600) of mixed load against one `arbiter serve`:
#   - 64 annotators (next → submit, 0–200 ms pauses) on keep-alive connections;
#   - wrk opening a new connection for every request (Connection: close), so the
#     server accepts and closes hundreds of thousands of connections;
#   - a reviewer reading agreement and rater reports, and a TRL export, in a loop.
# RSS and open descriptors are read at rest (load stopped, 10 s later) after a
# 60 s warm-up and again after the whole run: growth between the two is what
# the process kept; samples under load are printed as they come.
#   bash Benchmarks/soak/run.sh [DURATION]
set -euo pipefail
source "$(dirname "$0")/../common.sh"
duration="${1:-600}"
port="${PORT:-18600}"
build_arbiter
build_load_generator
work="$(mktemp -d)"
db="$work/soak.sqlite"
trap 'kill $server $reader 2>/dev/null || true; rm -rf "$work"' EXIT
project=$(seed_project "$db" soak 200000 64 "$work/tokens")
"$arbiter" user add --db "$db" --migrations-dir "$root/Migrations" --username reviewer --role reviewer >/dev/null
review=$("$arbiter" token create --db "$db" --migrations-dir "$root/Migrations" --username reviewer)
start_server "$db" "$port"
sample() { echo "$(grep VmRSS /proc/$server/status | awk '{print $2}') $(ls /proc/$server/fd | wc -l)"; }
read -r rss0 fds0 <<<"$(sample)"

# One phase of mixed load for $1 seconds; samples RSS and fds every 30 s while it runs.
phase() {
    local seconds="$1" name="$2"
    "$load" "$port" "$project" "$work/tokens" 64 "$seconds" 100 0 > "$work/load-$name.json" &
    local annotators=$!
    wrk -t1 -c16 -d"${seconds}s" -H "Connection: close" "http://127.0.0.1:$port/healthz" > "$work/wrk-$name.txt" 2>&1 &
    local churn=$!
    ( while true; do
        for path in agreement raters; do curl -sf -H "Authorization: Bearer $review" "http://127.0.0.1:$port/api/projects/$project/$path" >/dev/null || echo "reader error" >&2; done
        curl -sf -H "Authorization: Bearer $review" "http://127.0.0.1:$port/api/projects/$project/export?format=trl&aggregate=majority" >/dev/null || echo "export error" >&2
        sleep 5
      done ) &
    reader=$!
    local begin=$(date +%s)
    while kill -0 $annotators 2>/dev/null; do
        sleep 30
        kill -0 $annotators 2>/dev/null || break
        read -r rss fds <<<"$(sample)"
        echo "$name $(( $(date +%s) - begin )) $rss $fds" | tee -a "$work/samples"
    done
    wait $churn || true
    kill $reader 2>/dev/null || true
    wait $reader 2>/dev/null || true
    sleep 10  # lingering closes finish; freed memory is returned
}

echo "phase second rss_kb fds"
phase 60 warmup
read -r rssWarm fdsWarm <<<"$(sample)"
phase "$(( duration - 60 ))" main
read -r rssEnd fdsEnd <<<"$(sample)"
python3 - "$work/samples" "$rss0" "$fds0" "$rssWarm" "$fdsWarm" "$rssEnd" "$fdsEnd" "$work" <<'PY'
import json, re, sys
samples = [line.split() for line in open(sys.argv[1]) if line.strip()]
rss0, fds0, rss_warm, fds_warm, rss_end, fds_end = map(int, sys.argv[2:8])
work = sys.argv[8]
peak = max(int(s[2]) for s in samples)
print(f"RSS at rest: {rss0 // 1024} MB before, {rss_warm // 1024} MB after the 60 s warm-up, {rss_end // 1024} MB after the whole run"
      f" → growth {100 * (rss_end - rss_warm) / rss_warm:+.1f}% (peak under load {peak // 1024} MB)")
print(f"file descriptors at rest: {fds0} before, {fds_warm} after warm-up, {fds_end} at the end")
total = 0
for name in ("warmup", "main"):
    wrk = open(f"{work}/wrk-{name}.txt").read()
    requests = re.search(r"(\d+) requests in", wrk)
    errors = re.search(r"Socket errors: (.*)", wrk)
    total += int(requests.group(1)) if requests else 0
    if errors: print(f"wrk {name} socket errors: {errors.group(1)}")
print(f"connections opened and closed (wrk, Connection: close): {total}")
loads = [json.load(open(f"{work}/load-{name}.json")) for name in ("warmup", "main")]
print(f"annotators: {sum(l['annotations'] for l in loads)} annotations, {sum(l['errors'] for l in loads)} errors, submit p99 {loads[1]['submit_p99_ms']} ms (main phase)")
PY
