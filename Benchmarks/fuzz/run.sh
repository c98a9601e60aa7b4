#!/usr/bin/env bash
# libFuzzer harnesses (built with `-sanitize=fuzzer,address`), each started from
# its committed seed corpus:
#   FuzzHTTP      raw request bytes → head scan, strict parser, router, chunked decoder
#   FuzzImport    JSONL uploads → pair parser (plain, TRL, multi-response, HH-RLHF) and annotation parser
#   FuzzEscaping  JSON write/parse round trip, TRL export lines, CSV quoting (read back)
#   bash Benchmarks/fuzz/run.sh [RUNS] [TARGET...]    # default 10,000,000 executions each, all targets
# A crash leaves crash-* in Benchmarks/results/fuzz/ and fails the script; add the
# input as a regression test before fixing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs="${1:-10000000}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(http import escaping)
export PATH="/opt/swift/usr/bin:$PATH"
(cd "$here" && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld 2>&1 | tail -1)
out="$root/Benchmarks/results/fuzz"
mkdir -p "$out"
status=0
for target in "${targets[@]}"; do
    case "$target" in
        http) binary=FuzzHTTP; dict="-dict=$here/http.dict"; max=4096 ;;
        # JSONL lines past 1 KiB only repeat the short ones' paths, at a fifth of the speed.
        import) binary=FuzzImport; dict="-dict=$here/import.dict"; max=1024 ;;
        escaping) binary=FuzzEscaping; dict=""; max=4096 ;;
        *) echo "unknown target $target"; exit 2 ;;
    esac
    work="$out/$target-corpus"
    mkdir -p "$work"
    cp -n "$here/corpus/$target/"* "$work/" 2>/dev/null || true
    start=$(date +%s)
    if "$here/.build/release/$binary" $dict -runs="$runs" -max_len="${MAX_LEN:-$max}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/$target-" "$work" > "$out/$target.log" 2>&1; then
        result="ok"
    else
        result="CRASH (see $out/$target.log)"
        status=1
    fi
    executed=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$target.log" | awk '{print $2}')
    per=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$out/$target.log" | awk '{print $2}')
    echo "$target: ${executed:-?} executions in $(( $(date +%s) - start )) s (${per:-?}/s), corpus $(ls "$work" | wc -l) inputs: $result"
done
exit $status
