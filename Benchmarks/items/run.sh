#!/usr/bin/env bash
# The item browser at scale: PAIRS pairs (default 1,000,000) with 3 judgements on
# 30% of them, 0.5% gold and 1,000 open reports, on SQLite and on PostgreSQL.
# The same data goes into both (imported into SQLite with the CLI, copied to
# PostgreSQL with `arbiter db copy`); each server indexes the pairs for search in
# the background (the time it takes is printed), then one keep-alive client times
# 100 requests per scenario: first and deep pages in every order, filters, text
# searches, a filter that matches nothing, a pair's detail (measure.py). Prints
# p50/p99 per scenario and engine; the target is p99 < 100 ms per page.
#
#   bash Benchmarks/items/run.sh
#   PAIRS=100000 ENGINES=sqlite bash Benchmarks/items/run.sh
#
# PostgreSQL needs Debian's postgresql (apt-get install postgresql).
set -euo pipefail
source "$(dirname "$0")/../common.sh"
pairs="${PAIRS:-1000000}"
engines="${ENGINES:-sqlite postgres}"
port="${PORT:-18651}"
here="$root/Benchmarks/items"
build_arbiter
work="$(mktemp -d)"
chmod 755 "$work"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    stop_postgres "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT
seconds_since() { python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

echo "generating $pairs pairs…"
python3 "$here/generate.py" "$pairs" "$work"
db="$work/items.sqlite"
"$arbiter" project create --db "$db" --migrations-dir "$root/Migrations" --name items --overlap 3 >/dev/null
started=$(date +%s.%N)
"$arbiter" import pairs --db "$db" --migrations-dir "$root/Migrations" --project items "$work/pairs.jsonl" >/dev/null
echo "sqlite: imported $pairs pairs in $(seconds_since "$started") s"
started=$(date +%s.%N)
"$arbiter" import annotations --db "$db" --migrations-dir "$root/Migrations" --project items "$work/annotations.jsonl" >/dev/null
echo "sqlite: imported $(wc -l < "$work/annotations.jsonl") judgements in $(seconds_since "$started") s"
"$arbiter" user add --db "$db" --migrations-dir "$root/Migrations" --username reviewer --role reviewer >/dev/null
token=$("$arbiter" token create --db "$db" --migrations-dir "$root/Migrations" --username reviewer)
python3 - "$db" "$pairs" <<'PY'
import random, sqlite3, sys
db, n = sqlite3.connect(sys.argv[1]), int(sys.argv[2])
rng = random.Random(5)
with db:
    raters = [row[0] for row in db.execute("SELECT id FROM users WHERE username LIKE 'rater-%'")]
    for pair in rng.sample(range(1, n + 1), min(1000, n)):
        db.execute("INSERT INTO pair_reports (pair_id, user_id, reason, created_at) VALUES (?, ?, 'the answer is cut off', 0)", (pair, rng.choice(raters)))
PY

# wait_for_index: until a search says nothing is pending; prints how long it took.
wait_for_index() {
    local started
    started=$(date +%s.%N)
    until curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/projects/1/pairs?q=x&limit=1" | grep -q '"search_pending":false'; do sleep 1; done
    echo "$1: the server indexed the pairs for search in $(seconds_since "$started") s (in the background)"
}

for engine in $engines; do
    case "$engine" in
        sqlite) target="$db" ;;
        postgres)
            pg_port=$((port + 10))
            start_postgres "$work/pg" "$pg_port"
            psql -q -h 127.0.0.1 -p "$pg_port" -U arbiter -d postgres -c "CREATE DATABASE items"
            target="postgres://arbiter@127.0.0.1:$pg_port/items"
            started=$(date +%s.%N)
            "$arbiter" db copy --from "$db" --to "$target" --migrations-dir "$root/Migrations" >/dev/null
            echo "postgres: copied the SQLite database in $(seconds_since "$started") s"
            ;;
    esac
    "$arbiter" serve --db "$target" --migrations-dir "$root/Migrations" --public-dir "$root/Public" --port "$port" --log-level notice >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    wait_for_index "$engine"
    [ "$engine" = postgres ] && psql -q -h 127.0.0.1 -p "$pg_port" -U arbiter -d items -c "ANALYZE"
    echo "$engine: $pairs pairs, p50 / p99 per request:"
    python3 "$here/measure.py" "$port" "$token" 1 "$pairs" "$work/search.json" "$work/$engine.json"
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
done
