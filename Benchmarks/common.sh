# Shared set-up for the benchmark scripts (source it): builds, a seeded project,
# annotator tokens, and a release server on a port.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
arbiter="$root/.build/release/arbiter"
load="$root/Benchmarks/annotate/LoadGenerator/.build/release/LoadGenerator"

build_arbiter() { (cd "$root" && swift build -c release --product arbiter 2>&1 | tail -1); }
build_load_generator() { (cd "$root/Benchmarks/annotate/LoadGenerator" && swift build -c release 2>&1 | tail -1); }

# seed_project DB NAME PAIRS ANNOTATORS TOKENS_FILE → prints the project id.
# PROJECT_OPTIONS replaces "--overlap 3", e.g. "--overlap 5 --min-overlap 1 --stop-posterior 0.87".
seed_project() {
    local db="$1" name="$2" pairs="$3" annotators="$4" tokens="$5"
    local id
    # shellcheck disable=SC2086
    id=$("$arbiter" project create --db "$db" --migrations-dir "$root/Migrations" --name "$name" ${PROJECT_OPTIONS:---overlap 3} --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    python3 "$root/Benchmarks/import/generate.py" "$pairs" > "$db.pairs.jsonl"
    "$arbiter" import pairs --db "$db" --migrations-dir "$root/Migrations" --project "$name" "$db.pairs.jsonl" >/dev/null
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
