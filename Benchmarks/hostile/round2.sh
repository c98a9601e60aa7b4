#!/usr/bin/env bash
# The second hardening round (issue 32), side by side: this tree and an earlier
# commit (default 2fe60d1, the commit before the issue), each as a release
# `arbiter serve --trusted-proxy 127.0.0.1/32` whose database lives on a 64 MiB
# tmpfs of its own (so the disk can be filled). Needs root (mount) and python3.
# BASELINE_TREE=DIR uses a checkout of the baseline that is already built.
#   bash Benchmarks/hostile/round2.sh [BASELINE_COMMIT]
set -euo pipefail
source "$(dirname "$0")/../common.sh"
baseline="${1:-2fe60d1}"
[ "$(id -u)" = 0 ] || { echo "round2.sh mounts a tmpfs for the full-disk attack: run it as root" >&2; exit 1; }
build_arbiter
old_root="${BASELINE_TREE:-$root/.build-baseline}"
if [ ! -d "$old_root" ]; then git -C "$root" worktree add -f "$old_root" "$baseline" >/dev/null; fi
git -C "$old_root" checkout -q --detach "$baseline"
(cd "$old_root" && swift build -c release --product arbiter 2>&1 | tail -1)

work=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    for disk in "$work"/disk-*; do umount "$disk" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# run LABEL TREE → one JSON line in $work/LABEL.json
run() {
    local label="$1" tree="$2" binary="$2/.build/release/arbiter" disk="$work/disk-$1" port=$((20000 + RANDOM % 20000))
    mkdir -p "$disk"
    mount -t tmpfs -o size=64m tmpfs "$disk"
    local db="$disk/hostile.sqlite" migrations=(--migrations-dir "$tree/Migrations")
    "$binary" project create --db "$db" "${migrations[@]}" --name hostile --overlap 3 >/dev/null
    python3 "$root/Benchmarks/import/generate.py" 3000 > "$work/pairs.jsonl"
    "$binary" import pairs --db "$db" "${migrations[@]}" --project hostile "$work/pairs.jsonl" >/dev/null
    python3 "$root/Benchmarks/annotate/seed_annotators.py" "$db" 8 > "$work/$label.tokens"
    printf 'an admin password, long enough\n' | "$binary" user add --db "$db" "${migrations[@]}" --username boss --role admin --password-stdin >/dev/null
    local token
    token=$("$binary" token create --db "$db" "${migrations[@]}" --username boss | tail -1)
    "$binary" serve --db "$db" "${migrations[@]}" --public-dir "$tree/Public" --port "$port" --trusted-proxy 127.0.0.1/32 \
        --log-level notice > "$work/$label.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    python3 "$root/Benchmarks/hostile/round2.py" "$port" "$server" boss 'an admin password, long enough' "$token" "$disk" \
        "$work/$label.log" "$work/$label.tokens" "$db" > "$work/$label.json"
    kill "$server"; wait "$server" 2>/dev/null || true
    server=""
    umount "$disk"
}

date -u +"%Y-%m-%d %H:%M UTC"
run before "$old_root"
run after "$root"
python3 - "$work/before.json" "$work/after.json" "$baseline" "$(git -C "$root" rev-parse --short HEAD)" <<'PY'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
names = (f"{sys.argv[3]} (before)", f"{sys.argv[4]} (this tree)")
def row(what, pick):
    print(f"| {what} | {pick(before)} | {pick(after)} |")
print(f"| attack | {names[0]} | {names[1]} |")
print("|---|---|---|")
row("30 × 32 MiB anonymous bodies to /nonexistent: peak RSS growth (MiB)", lambda r: r["anonymous_bodies"]["peak_growth_mib"])
row("… answered `100 Continue`", lambda r: f'{r["anonymous_bodies"]["answered_100_continue"]} of 30')
row("owner's sign-in (own browser, new address) after 100 failures from 20 addresses", lambda r: r["owner_lockout"]["owner_browser_status"])
row("… a browser that never signed in as them", lambda r: r["owner_lockout"]["unknown_browser_status"])
row("real invite after 100 fake tokens from 20 addresses", lambda r: r["link_spray"]["real_invite_status"])
row("disk full 8 s, 8 annotators: refusals", lambda r: ", ".join(f"{k}: {v}" for k, v in r["disk_full"]["statuses_while_full"].items()) or "none")
row("… /readyz while full", lambda r: r["disk_full"]["readyz_while_full"])
row("… log lines written", lambda r: r["disk_full"]["log_lines"])
row("… acknowledged = stored, integrity", lambda r: f'{r["disk_full"]["acknowledged"]} = {r["disk_full"]["stored"]}, {r["disk_full"]["integrity"]}')
row("… writes again once space returned", lambda r: r["disk_full"]["recovered"])
PY
