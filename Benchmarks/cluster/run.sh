#!/usr/bin/env bash
# The annotation loop on three deployments, under the same load in alternating
# rounds (64 keep-alive annotators, next → submit, no pause), each on its own copy
# of the same seeded data (PAIRS pairs, overlap 3, 64 annotators):
#
#   sqlite    one node on a SQLite file (the default)
#   postgres  one node on PostgreSQL
#   cluster   three nodes on that PostgreSQL behind nginx (round robin, keep-alive)
#
# PostgreSQL runs with its defaults (fsync and synchronous_commit on: a commit is
# on disk before it is acknowledged, as with SQLite's synchronous=FULL); its
# databases are filled from the SQLite seed by `arbiter db copy`. Prints each
# round's annotations/s and p99s, the medians, and the ratios to SQLite. All
# processes share this machine's cores, so the cluster's three nodes measure the
# cost of the extra hops and cross-node locking, not added capacity.
#
# DB_CONNECTIONS (default 8, the server's) is each PostgreSQL node's connection
# pool; CLUSTER_DB_CONNECTIONS (default: the same) each cluster node's — three
# nodes on one machine with a third of the connections each keep as many
# PostgreSQL backends busy as one node does.
#
#   bash Benchmarks/cluster/run.sh
#   ROUNDS=3 SECONDS_EACH=20 PAIRS=150000 bash Benchmarks/cluster/run.sh
#   CLUSTER_DB_CONNECTIONS=3 bash Benchmarks/cluster/run.sh
#
# Needs Debian's postgresql and nginx-light (apt-get install postgresql nginx-light).
set -euo pipefail
source "$(dirname "$0")/../common.sh"
pairs="${PAIRS:-150000}"
rounds="${ROUNDS:-3}"
seconds="${SECONDS_EACH:-20}"
port="${PORT:-18601}"
[ -x "$pg_bin/initdb" ] || { echo "needs PostgreSQL: apt-get install postgresql" >&2; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "needs nginx: apt-get install nginx-light" >&2; exit 1; }
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
build_arbiter
build_load_generator

work="$(mktemp -d)"
chmod 755 "$work"
servers=()
cleanup() {
    for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    stop_postgres "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT

# PostgreSQL on a free port.
pg_port=$((port + 10))
# PG_SETTINGS: extra server settings, e.g. "synchronous_commit=off" (what the
# WAL flushes cost: an experiment, not a deployment — it gives up durability).
start_postgres "$work/pg" "$pg_port" max_connections=200 ${PG_SETTINGS:-}
url() { echo "postgres://arbiter@127.0.0.1:$pg_port/$1"; }
for name in single cluster; do psql -q -h 127.0.0.1 -p "$pg_port" -U arbiter -d postgres -c "CREATE DATABASE $name"; done

# One seed, copied to each deployment.
seed="$work/seed.sqlite"
project=$(seed_project "$seed" bench "$pairs" 64 "$work/tokens")
cp "$seed" "$work/sqlite.sqlite"
for name in single cluster; do
    start=$(date +%s.%N)
    "$arbiter" db copy --from "$seed" --to "$(url $name)" --migrations-dir "$root/Migrations" | tail -1
    echo "  ($(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s)"
done

connections="${DB_CONNECTIONS:-8}"
cluster_connections="${CLUSTER_DB_CONNECTIONS:-$connections}"
serve() {  # serve DB PORT [DB_CONNECTIONS]
    "$arbiter" serve --db "$1" --migrations-dir "$root/Migrations" --public-dir "$root/Public" --port "$2" --log-level notice \
        --max-connections-per-address 100000 --db-connections "${3:-$connections}" >/dev/null 2>&1 &
    servers+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "a server did not start" >&2
    return 1
}
stop_servers() {
    for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    servers=()
    if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")"; sleep 0.3; rm -f "$work/nginx.pid"; fi
}
start_nginx() {  # start_nginx LISTEN_PORT UPSTREAM_PORT...
    local listen="$1"; shift
    {
        echo "worker_processes 2; pid $work/nginx.pid; error_log $work/nginx.err; daemon on;"
        echo "events { worker_connections 4096; }"
        echo "http { access_log off; upstream arbiter {"
        for upstream in "$@"; do echo "  server 127.0.0.1:$upstream;"; done
        echo "  keepalive 128; }"
        echo "  server { listen 127.0.0.1:$listen; location / { proxy_pass http://arbiter; proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }"
    } > "$work/nginx.conf"
    "$nginx_bin" -p "$work" -c "$work/nginx.conf"
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$listen/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "nginx did not start" >&2
    return 1
}

# Each server indexes the imported pairs for search in the background (about as
# much work as importing them); let that finish first, so the rounds measure the
# annotation loop and not the indexer.
queued() {  # queued DEPLOYMENT → pairs still waiting to be indexed
    case "$1" in
        sqlite) python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM search_queue").fetchone()[0])' "$work/sqlite.sqlite" ;;
        *) psql -qtA -h 127.0.0.1 -p "$pg_port" -U arbiter -d "$1" -c "SELECT count(*) FROM search_queue" ;;
    esac
}
for deployment in sqlite single; do
    if [ "$deployment" = sqlite ]; then serve "$work/sqlite.sqlite" "$port"; else serve "$(url single)" "$port"; serve "$(url cluster)" $((port + 1)); fi
    start=$(date +%s)
    while [ "$(queued "$deployment")" != 0 ] || { [ "$deployment" = single ] && [ "$(queued cluster)" != 0 ]; }; do sleep 1; done
    echo "  search index built for $deployment$([ "$deployment" = single ] && echo " and cluster") in $(($(date +%s) - start)) s"
    stop_servers
done

echo "== $(nproc) cores; $pairs pairs; 64 annotators back to back; $rounds rounds × ${seconds} s per deployment, alternating; PostgreSQL connections per node: $connections, per cluster node: $cluster_connections"
: > "$work/results"
for round in $(seq 1 "$rounds"); do
    for deployment in sqlite postgres cluster; do
        case "$deployment" in
            sqlite) serve "$work/sqlite.sqlite" "$port"; target=$port ;;
            postgres) serve "$(url single)" "$port"; target=$port ;;
            cluster)
                for node in 1 2 3; do serve "$(url cluster)" $((port + node)) "$cluster_connections"; done
                start_nginx "$port" $((port + 1)) $((port + 2)) $((port + 3)); target=$port ;;
        esac
        result=$("$load" "$target" "$project" "$work/tokens" 64 "$seconds")
        stop_servers
        echo "round $round $deployment: $result"
        echo "$deployment $result" >> "$work/results"
    done
done

# Nothing acknowledged twice or over its overlap, on any deployment.
for name in single cluster; do
    psql -qtA -h 127.0.0.1 -p "$pg_port" -U arbiter -d "$name" -c \
        "SELECT '$name: ' || count(*) || ' judgements, ' || (SELECT count(*) FROM (SELECT 1 FROM annotations GROUP BY pair_id HAVING count(*) > 3) x) || ' pairs over overlap, ' || (SELECT count(*) FROM (SELECT 1 FROM annotations GROUP BY pair_id, user_id HAVING count(*) > 1) y) || ' judged twice by one annotator' FROM annotations"
done

python3 - "$work/results" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    deployment, result = line.split(" ", 1)
    runs.setdefault(deployment, []).append(json.loads(result))
def median(deployment, key): return statistics.median(r[key] for r in runs[deployment])
base = median("sqlite", "annotations_per_s")
print(f"{'deployment':<10} {'annotations/s':>14} {'vs sqlite':>10} {'next p99 ms':>12} {'submit p99 ms':>14} {'errors':>7}")
for deployment in ("sqlite", "postgres", "cluster"):
    rate = median(deployment, "annotations_per_s")
    print(f"{deployment:<10} {rate:>14,.0f} {rate / base:>9.2f}x {median(deployment, 'next_p99_ms'):>12.1f} "
          f"{median(deployment, 'submit_p99_ms'):>14.1f} {sum(r['errors'] for r in runs[deployment]):>7}")
PY
