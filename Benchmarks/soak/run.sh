#!/usr/bin/env bash
# Soak: DURATION seconds (default 600) of mixed load against one `arbiter serve`:
#   - 64 annotators (next → submit, 0–200 ms pauses) on keep-alive connections;
#   - wrk opening a new connection for every request (Connection: close), so the
#     server accepts and closes hundreds of thousands of connections;
#   - a reviewer reading agreement and rater reports, and a TRL export, in a loop.
# Samples the server's RSS and open file descriptors; reports growth after the
# first minute (warm-up) and the descriptors left once the load has stopped.
#   bash Benchmarks/soak/run.sh [DURATION]
set -euo pipefail
source "$(dirname "$0")/../common.sh"
duration="${1:-600}"
port="${PORT:-18600}"
build_arbiter
build_load_generator
work="$(mktemp -d)"
db="$work/soak.sqlite"
trap 'kill $server $reader $churn 2>/dev/null || true; rm -rf "$work"' EXIT
project=$(seed_project "$db" soak 200000 64 "$work/tokens")
"$arbiter" user add --db "$db" --migrations-dir "$root/Migrations" --username reviewer --role reviewer >/dev/null
review=$("$arbiter" token create --db "$db" --migrations-dir "$root/Migrations" --username reviewer)
start_server "$db" "$port"
sample() { echo "$(grep VmRSS /proc/$server/status | awk '{print $2}') $(ls /proc/$server/fd | wc -l)"; }
read -r rss0 fds0 <<<"$(sample)"

"$load" "$port" "$project" "$work/tokens" 64 "$duration" 100 0 > "$work/load.json" &
annotators=$!
wrk -t1 -c16 -d"${duration}s" -H "Connection: close" "http://127.0.0.1:$port/healthz" > "$work/wrk.txt" 2>&1 &
churn=$!
( while true; do
    for path in agreement raters; do curl -sf -H "Authorization: Bearer $review" "http://127.0.0.1:$port/api/projects/$project/$path" >/dev/null || echo "reader error" >&2; done
    curl -sf -H "Authorization: Bearer $review" "http://127.0.0.1:$port/api/projects/$project/export?format=trl&aggregate=majority" >/dev/null || echo "export error" >&2
    sleep 5
  done ) &
reader=$!

echo "second rss_kb fds"
start=$(date +%s)
while kill -0 $annotators 2>/dev/null; do
    sleep 30
    read -r rss fds <<<"$(sample)"
    echo "$(( $(date +%s) - start )) $rss $fds" | tee -a "$work/samples"
done
wait $churn || true
kill $reader 2>/dev/null || true
sleep 2
read -r rssEnd fdsEnd <<<"$(sample)"
python3 - "$work/samples" "$rss0" "$fds0" "$rssEnd" "$fdsEnd" "$work/load.json" "$work/wrk.txt" <<'PY'
import json, re, sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
rss0, fds0, rss_end, fds_end = map(int, sys.argv[2:6])
warm = next((s for s in samples if s[0] >= 60), samples[0])
peak = max(s[1] for s in samples)
load = json.load(open(sys.argv[6]))
wrk = open(sys.argv[7]).read()
requests = re.search(r"(\d+) requests in", wrk)
errors = re.search(r"Socket errors: (.*)", wrk)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
print(f"RSS: {rss0 // 1024} MB idle, {warm[1] // 1024} MB after warm-up ({warm[0]} s), {samples[-1][1] // 1024} MB at the end, peak {peak // 1024} MB;"
      f" growth after warm-up {100 * (samples[-1][1] - warm[1]) / warm[1]:+.1f}%")
print(f"file descriptors: {fds0} before, {fds_end} after the load stopped")
print(f"connections opened and closed by wrk: {requests.group(1) if requests else '?'}; socket errors: {errors.group(1) if errors else 'none'};"
      f" non-2xx: {non2xx.group(1) if non2xx else 0}")
print(f"annotators: {load['annotations']} annotations, {load['errors']} errors, submit p99 {load['submit_p99_ms']} ms")
PY
