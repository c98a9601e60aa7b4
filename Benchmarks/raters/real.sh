#!/usr/bin/env bash
# Rater quality on real crowds with gold answers (issue 33): every crowd under
# ../shared/data/crowds (or the folders given), imported through the command line,
# flagged by `arbiter raters`, aggregated by `arbiter export`. Prints the table of
# docs/QUALITY.md: bad and good workers flagged, label accuracy before and after
# leaving the flagged out, for majority and for the weighted export.
#   bash Benchmarks/raters/real.sh [CROWD_DIR...]
set -euo pipefail
source "$(dirname "$0")/../common.sh"
build_arbiter
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
crowds=("$@")
if [ ${#crowds[@]} -eq 0 ]; then crowds=("$root"/../shared/data/crowds/*/); fi
python3 "$root/Benchmarks/raters/real.py" "$arbiter" "$root/Migrations" "$work" "${crowds[@]}"
