#!/usr/bin/env bash
# Arena streaming benchmark: CONCURRENCY (64) battles at a time against a fake
# OpenAI-compatible endpoint streaming RATE (50) tokens/s per answer, through
# `arbiter serve` (release) — two answers per battle, so 128 upstream streams
# relayed token by token as server-sent events — side by side with the same
# client reading the same endpoint directly. Every token carries the time the
# endpoint wrote it; the difference between the two runs' percentiles is what
# Arbiter adds per token. Also prints the server's resident memory.
# BASE=COMMIT also runs that commit's server (its own database and port) in every
# round, after this tree's, for a side-by-side figure. BUSY=N keeps N busy-looping
# processes running throughout (a busy host: every process waits for a core).
#
#   bash Benchmarks/arena/run.sh
#   CONCURRENCY=64 RATE=50 TOKENS=100 SECONDS_EACH=15 ROUNDS=2 bash Benchmarks/arena/run.sh
#   BASE=4a1c2e3 BUSY=2 ROUNDS=3 bash Benchmarks/arena/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../common.sh"
concurrency="${CONCURRENCY:-64}"
rate="${RATE:-50}"
tokens="${TOKENS:-100}"
seconds="${SECONDS_EACH:-15}"
rounds="${ROUNDS:-2}"
port="${PORT:-18590}"
fake_port="${FAKE_PORT:-18591}"
build_arbiter
head_and_base
work="$(mktemp -d)"
servers=()
hogs=()
trap 'kill "${servers[@]}" "${hogs[@]}" $fake 2>/dev/null || true; rm -rf "$work"' EXIT

python3 "$here/fake_endpoint.py" "$fake_port" "$rate" "$tokens" &
fake=$!
cat > "$work/endpoints.json" <<JSON
{"endpoints": [
  {"name": "model-1", "base_url": "http://127.0.0.1:$fake_port/v1", "model": "m1", "concurrency": 256},
  {"name": "model-2", "base_url": "http://127.0.0.1:$fake_port/v1", "model": "m2", "concurrency": 256}
]}
JSON
# start_server VERSION PORT → a seeded arena project on its own database; sets project_$VERSION.
start_server() {
    local version="$1" port="$2" db="$work/$1.sqlite" executable="${binary[$1]}"
    local id
    id=$("$executable" project create --db "$db" --migrations-dir "${migrations[$version]}" --name arena --overlap 1 --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    python3 "$root/Benchmarks/annotate/seed_annotators.py" "$db" "$concurrency" > "$work/tokens.$version"
    python3 - "$db" "$id" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
with db:
    db.execute("UPDATE projects SET arena = ? WHERE id = ?",
               (json.dumps({"endpoints": ["model-1", "model-2"], "prompts_per_hour": 10000, "max_turns": 1}), int(sys.argv[2])))
PY
    "$executable" serve --db "$db" --migrations-dir "${migrations[$version]}" --public-dir "$root/Public" --port "$port" --log-level error \
        --max-connections-per-address 100000 --endpoints-file "$work/endpoints.json" >/dev/null 2>&1 &
    servers+=($!)
    eval "pid_$version=$!"
    eval "project_$version=$id"
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
}
declare -A ports=([head]="$port" [base]="$((port + 10))")
for version in "${versions[@]}"; do start_server "$version" "${ports[$version]}"; done
server=$pid_head
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
# User + system CPU ticks of a process so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
idle=$(rss)
for _ in $(seq "${BUSY:-0}"); do python3 -c 'while True: pass' & hogs+=($!); done

echo "== machine: $(nproc) cores; $concurrency battles at a time, $rate tokens/s per answer, $tokens tokens; ${seconds}s per run, $rounds rounds; versions: ${versions[*]}${BASE:+ (base $BASE)}; busy loops: ${BUSY:-0}"
peak=0
for round in $(seq "$rounds"); do
    python3 "$here/load.py" direct "$fake_port" "$concurrency" "$seconds" > "$work/direct.$round"
    echo "direct  (round $round): $(cat "$work/direct.$round")"
    for version in "${versions[@]}"; do
        eval "project=\$project_$version"
        eval "pid=\$pid_$version"
        before=$(cpu_ticks "$pid")
        python3 "$here/load.py" arena "${ports[$version]}" "$project" "$work/tokens.$version" "$concurrency" "$seconds" > "$work/arena.out" &
        load=$!
        while kill -0 $load 2>/dev/null; do
            if [ "$version" = head ]; then r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; fi
            sleep 0.5
        done
        wait $load
        cp "$work/arena.out" "$work/$version.$round"
        used=$(( $(cpu_ticks "$pid") - before ))
        echo "$used" > "$work/$version.cpu.$round"
        echo "arbiter $version (round $round): $(cat "$work/arena.out"), server CPU $(python3 -c "print(f'{$used / $(getconf CLK_TCK):.2f}')") s"
    done
done
python3 - "$work" "$rounds" "${versions[@]}" <<'PY'
import json, statistics, sys
work, rounds, versions = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for version in versions:
    pairs = [(json.load(open(f"{work}/direct.{r}")), json.load(open(f"{work}/{version}.{r}"))) for r in range(1, rounds + 1)]
    for key in ("p50_ms", "p99_ms"):
        added = [a[key] - d[key] for d, a in pairs]
        print(f"{version}: added per token, {key[:3]}: median over rounds {statistics.median(added):+.2f} ms (rounds: {', '.join(f'{x:+.2f}' for x in added)})")
    cpu = [int(open(f"{work}/{version}.cpu.{r}").read()) for r in range(1, rounds + 1)]
    tokens = [json.load(open(f"{work}/{version}.{r}"))["samples"] for r in range(1, rounds + 1)]
    print(f"{version}: server CPU per 1,000 tokens relayed: {', '.join(f'{1000 * c / t:.2f}' for c, t in zip(cpu, tokens))} ticks")
PY
echo "server memory: idle $((idle / 1024)) MiB, peak during the battles $((peak / 1024)) MiB (VmHWM $(( $(awk '/VmHWM/ {print $2}' "/proc/$server/status") / 1024 )) MiB)"
python3 - "$work/head.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print("stored (this tree): battles", db.execute("select count(*) from battles").fetchone()[0],
      "| voted", db.execute("select count(*) from battles where state = 'voted'").fetchone()[0],
      "| void", db.execute("select count(*) from battles where state = 'void'").fetchone()[0],
      "| judgements", db.execute("select count(*) from annotations").fetchone()[0])
PY
