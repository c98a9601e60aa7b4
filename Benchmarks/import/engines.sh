#!/usr/bin/env bash
# An HTTP pair upload (POST /api/projects/{id}/pairs, staged) on SQLite and on
# PostgreSQL, this tree against an earlier commit, in one run: each round uploads
# the same IMPORT_PAIRS-line file (default 200,000) into a fresh project on each
# engine with each version, alternating. Prints seconds and pairs/s per upload,
# and per engine the median per-round ratio head ÷ base. Nothing else runs, so
# the upload's parser (nice 19) has the machine.
#
#   BASE=7b14011 bash Benchmarks/import/engines.sh
#   BASE=7b14011 ROUNDS=3 IMPORT_PAIRS=100000 bash Benchmarks/import/engines.sh
#
# Needs Debian's postgresql (apt-get install postgresql); a throw-away cluster is
# started on a free port under a temporary directory.
set -euo pipefail
source "$(dirname "$0")/../common.sh"
base="${BASE:?set BASE to a commit to compare with, e.g. BASE=7b14011}"
import_pairs="${IMPORT_PAIRS:-200000}"
rounds="${ROUNDS:-3}"
port="${PORT:-18597}"
[ -x "$pg_bin/initdb" ] || { echo "needs PostgreSQL: apt-get install postgresql" >&2; exit 1; }
build_arbiter
tree="$root/.build-compare/$base"
if [ ! -d "$tree" ]; then git -C "$root" worktree add -f "$tree" "$base" >/dev/null; fi
(cd "$tree" && swift build -c release --product arbiter 2>&1 | tail -1)

work="$(mktemp -d)"
chmod 755 "$work"   # the postgres user reaches its data directory inside
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    stop_postgres "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT
pg_port=$((port + 10))
start_postgres "$work/pg" "$pg_port"

declare -A binary=([head]="$arbiter" [base]="$tree/.build/release/arbiter")
declare -A tree_of=([head]="$root" [base]="$tree")
declare -A token
database() { # ENGINE VERSION → the database the version serves on that engine
    case "$1" in
        sqlite) echo "$work/$2.sqlite" ;;
        postgres) echo "postgres://arbiter@127.0.0.1:$pg_port/$2" ;;
    esac
}
for version in head base; do
    psql -q -h 127.0.0.1 -p "$pg_port" -U arbiter -d postgres -c "CREATE DATABASE $version"
    for engine in sqlite postgres; do
        db="$(database "$engine" "$version")"
        cli=(--db "$db" --migrations-dir "${tree_of[$version]}/Migrations")
        "${binary[$version]}" user add "${cli[@]}" --username importer --role admin >/dev/null
        token[$engine-$version]=$("${binary[$version]}" token create "${cli[@]}" --username importer)
    done
done
python3 "$root/Benchmarks/import/generate.py" "$import_pairs" > "$work/upload.jsonl"
echo "== $(nproc) cores; uploads of $import_pairs pairs ($(du -h "$work/upload.jsonl" | cut -f1)); $rounds rounds; base $base"
: > "$work/results"
for round in $(seq 1 "$rounds"); do
    for engine in sqlite postgres; do
        for version in head base; do
            db="$(database "$engine" "$version")"
            project=$("${binary[$version]}" project create --db "$db" --migrations-dir "${tree_of[$version]}/Migrations" \
                --name "upload$round" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
            "${binary[$version]}" serve --db "$db" --migrations-dir "${tree_of[$version]}/Migrations" \
                --public-dir "${tree_of[$version]}/Public" --port "$port" --log-level notice >/dev/null 2>&1 &
            server=$!
            for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
            start=$(date +%s.%N)
            imported=$(curl -sf --max-time 900 -H "Authorization: Bearer ${token[$engine-$version]}" -H "Content-Type: application/x-ndjson" \
                --data-binary "@$work/upload.jsonl" "http://127.0.0.1:$port/api/projects/$project/pairs" \
                | python3 -c 'import json,sys; print(json.load(sys.stdin)["imported"])')
            end=$(date +%s.%N)
            kill "$server"; wait "$server" 2>/dev/null || true; server=""
            seconds=$(python3 -c "print(f'{$end - $start:.2f}')")
            echo "round $round $engine $version: $imported pairs in $seconds s"
            echo "$engine $version $seconds" >> "$work/results"
        done
    done
done
python3 - "$work/results" "$import_pairs" <<'PY'
import statistics, sys
pairs = int(sys.argv[2])
runs = {}
for line in open(sys.argv[1]):
    engine, version, seconds = line.split()
    runs.setdefault((engine, version), []).append(float(seconds))
for engine in ("sqlite", "postgres"):
    head, base = runs[(engine, "head")], runs[(engine, "base")]
    ratios = [b / h for h, b in zip(head, base)]
    print(f"{engine}: head {pairs / statistics.median(head):,.0f} pairs/s, base {pairs / statistics.median(base):,.0f} pairs/s; "
          f"per-round speed-up " + ", ".join(f"{r:.2f}" for r in ratios) + f" → median {statistics.median(ratios):.2f}x")
PY
