# Shared set-up for the benchmark scripts (source it): builds, a seeded project,
# annotator tokens, and a release server on a port.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
arbiter="$root/.build/release/arbiter"
load="$root/Benchmarks/annotate/LoadGenerator/.build/release/LoadGenerator"

build_arbiter() { (cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1); }
# build_base COMMIT → a release build of an earlier commit in its own worktree
# (.build-compare is git-ignored); sets $base_tree and $base_arbiter.
build_base() {
    base_tree="$root/.build-compare/$1"
    if [ ! -d "$base_tree" ]; then git -C "$root" worktree add -f "$base_tree" "$1" >/dev/null; fi
    (cd "$base_tree" && swift build -c release --product arbiter 2>&1 | tail -1)
    base_arbiter="$base_tree/.build/release/arbiter"
}
# head_and_base → `binary` and `migrations` (associative arrays by version) and
# `versions`: this tree's release build ("head"), and with BASE=COMMIT that
# commit's too ("base", built by build_base), for side-by-side rounds.
head_and_base() {
    declare -gA binary=([head]="$arbiter")
    declare -gA migrations=([head]="$root/Migrations")
    versions=(head)
    if [ -n "${BASE:-}" ]; then
        build_base "$BASE"
        binary[base]="$base_arbiter"
        migrations[base]="$base_tree/Migrations"
        versions+=(base)
    fi
}
build_load_generator() { (cd "$root/Benchmarks/annotate/LoadGenerator" && swift build -c release 2>&1 | tail -1); }

# seed_project DB NAME PAIRS ANNOTATORS TOKENS_FILE → prints the project id.
# PROJECT_OPTIONS replaces "--overlap 3", e.g. "--overlap 5 --min-overlap 1 --stop-posterior 0.87";
# MIGRATIONS_DIR (default: this tree's) for an older $arbiter.
seed_project() {
    local db="$1" name="$2" pairs="$3" annotators="$4" tokens="$5"
    local id
    # shellcheck disable=SC2086
    id=$("$arbiter" project create --db "$db" --migrations-dir "${MIGRATIONS_DIR:-$root/Migrations}" --name "$name" ${PROJECT_OPTIONS:---overlap 3} --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    python3 "$root/Benchmarks/import/generate.py" "$pairs" > "$db.pairs.jsonl"
    "$arbiter" import pairs --db "$db" --migrations-dir "${MIGRATIONS_DIR:-$root/Migrations}" --project "$name" "$db.pairs.jsonl" >/dev/null
    python3 "$root/Benchmarks/annotate/seed_annotators.py" "$db" "$annotators" > "$tokens"
    echo "$id"
}

# start_server DB PORT → sets $server (pid) once /healthz answers
start_server() {
    "$arbiter" serve --db "$1" --migrations-dir "$root/Migrations" --public-dir "$root/Public" --port "$2" --log-level notice --max-connections-per-address 100000 >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "the server did not start" >&2
    return 1
}

# A throw-away PostgreSQL cluster (Debian's postgresql), owned by the postgres
# user when we are root. start_postgres DIR PORT [SETTING…] → initialises DIR/data,
# listens on 127.0.0.1:PORT, creates nothing else (SETTING: e.g. max_connections=200);
# stop_postgres DIR → stops it (nothing if none was started). psql and the URL:
# postgres://arbiter@127.0.0.1:PORT/NAME (trust authentication, user arbiter).
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
as_postgres=()
[ "$(id -u)" = 0 ] && as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
start_postgres() {
    local dir="$1" port="$2" setting
    shift 2
    [ -x "$pg_bin/initdb" ] || { echo "needs PostgreSQL: apt-get install postgresql" >&2; exit 1; }
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    "${as_postgres[@]}" "$pg_bin/initdb" -D "$dir/data" -U arbiter -A trust -E UTF8 --no-instructions >/dev/null
    local options="-p $port -k $dir -c listen_addresses=127.0.0.1"
    for setting in "$@"; do options+=" -c $setting"; done
    "${as_postgres[@]}" "$pg_bin/pg_ctl" start -w -D "$dir/data" -l "$dir/log" -o "$options" >/dev/null
}
stop_postgres() {
    if [ -d "$1/data" ]; then "${as_postgres[@]}" "$pg_bin/pg_ctl" stop -D "$1/data" -m immediate >/dev/null 2>&1 || true; fi
}
