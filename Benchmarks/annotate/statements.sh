#!/usr/bin/env bash
# Statements per judgement: what one `next` → submit costs the database, on
# SQLite and on PostgreSQL, for this tree and (with BASE) an earlier commit.
# 4 annotators back to back for SECONDS_EACH seconds after a 2 s warm-up, fixed
# overlap 3, no gold or repeats (the benchmark seed). Counted two ways:
#
#   server   arbiter_database_statements_total / arbiter_annotations_total from
#            /metrics (every statement the server sent, BEGIN/COMMIT included);
#            trees before the counter existed print "-"
#   pg       pg_stat_statements' calls over the run (PostgreSQL only; top-level
#            client statements, BEGIN/COMMIT included, triggers not counted) —
#            the outside count, for any commit
#
#   bash Benchmarks/annotate/statements.sh
#   BASE=d1f9b25 bash Benchmarks/annotate/statements.sh
#
# Needs Debian's postgresql (apt-get install postgresql).
set -euo pipefail
source "$(dirname "$0")/../common.sh"
seconds="${SECONDS_EACH:-10}"
port="${PORT:-18621}"
pg_port=$((port + 10))
build_arbiter
build_load_generator
head_and_base

work="$(mktemp -d)"
chmod 755 "$work"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    stop_postgres "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT
start_postgres "$work/pg" "$pg_port" shared_preload_libraries=pg_stat_statements pg_stat_statements.track_utility=on
psql_() { psql -qtA -h 127.0.0.1 -p "$pg_port" -U arbiter "$@"; }

# metric NAME PORT → the metric's value (0 if absent)
metric() { curl -sf -H "Authorization: Bearer $admin" "http://127.0.0.1:$2/metrics" | awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'; }

serve_with() {  # serve_with BINARY DB MIGRATIONS
    "$1" serve --db "$2" --migrations-dir "$3" --public-dir "$root/Public" --port "$port" --log-level notice \
        --max-connections-per-address 100000 >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "the server did not start" >&2
    return 1
}

printf '%-6s %-9s %12s %16s %16s\n' version engine judgements "server stmts/j" "pg_stat stmts/j"
for version in "${versions[@]}"; do
    arbiter="${binary[$version]}"  # seed_project uses $arbiter
    seed="$work/$version.sqlite"
    project=$(MIGRATIONS_DIR="${migrations[$version]}" seed_project "$seed" bench 20000 4 "$work/$version.tokens")
    "$arbiter" user add --db "$seed" --migrations-dir "${migrations[$version]}" --username bench-admin --role admin >/dev/null
    admin=$("$arbiter" token create --db "$seed" --migrations-dir "${migrations[$version]}" --username bench-admin | tail -1)
    psql_ -d postgres -c "CREATE DATABASE $version"
    "$arbiter" db copy --from "$seed" --to "postgres://arbiter@127.0.0.1:$pg_port/$version" --migrations-dir "${migrations[$version]}" >/dev/null
    psql_ -d "$version" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    for engine in sqlite postgres; do
        db="$seed"
        [ "$engine" = postgres ] && db="postgres://arbiter@127.0.0.1:$pg_port/$version"
        serve_with "$arbiter" "$db" "${migrations[$version]}"
        "$load" "$port" "$project" "$work/$version.tokens" 4 2 >/dev/null  # warm-up: caches, prepared statements
        sleep "${SETTLE:-20}"  # the search indexer's first pass over the imported pairs, which is not the loop's
        statements=$(metric arbiter_database_statements_total "$port")
        annotations=$(metric arbiter_annotations_total "$port")
        [ "$engine" = postgres ] && psql_ -d "$version" -c "SELECT pg_stat_statements_reset()" >/dev/null
        "$load" "$port" "$project" "$work/$version.tokens" 4 "$seconds" >/dev/null
        pg="-"
        if [ "$engine" = postgres ]; then
            pg=$(psql_ -d "$version" -c "SELECT sum(calls) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                 WHERE d.datname = '$version' AND s.query NOT LIKE '%pg_stat_statements%'")
        fi
        statements=$(( $(metric arbiter_database_statements_total "$port") - statements ))
        judged=$(( $(metric arbiter_annotations_total "$port") - annotations ))
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
        python3 - "$version" "$engine" "$judged" "$statements" "$pg" <<'PY'
import sys
version, engine, judged, statements, pg = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
server = f"{statements / judged:.2f}" if statements > 0 and judged else "-"
outside = f"{int(pg) / judged:.2f}" if pg not in ("-", "") and judged else "-"
print(f"{version:<6} {engine:<9} {judged:>12,} {server:>16} {outside:>16}")
PY
    done
done
