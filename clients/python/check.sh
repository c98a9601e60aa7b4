#!/usr/bin/env bash
# The Python client's checks that do not belong in `swift test` (its tests against the
# server do: Tests/ArbiterTests/PythonClientTests.swift):
#   1. `pip install ./clients/python` builds and installs the package;
#   2. mypy --strict on it;
#   3. the DPO round trip (examples/dpo_round_trip.py) against `arbiter serve --demo`
#      on a free port: pairs in, simulated judges, TRL export, one DPOTrainer step.
# The environment (.build/python-examples-venv, requirements-examples.txt) is made on
# first use and kept while the requirements file is unchanged. Needs a built
# `arbiter` (swift build), python3 with venv, and PyPI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv=.build/python-examples-venv
requirements=clients/python/requirements-examples.txt
if ! cmp -s "$requirements" "$venv/requirements.installed" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.installed"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall ./clients/python
(cd clients/python && "../../$venv/bin/mypy" --strict src)

arbiter="$(swift build --show-bin-path)/arbiter"
[ -x "$arbiter" ] || { echo "check.sh: build arbiter first (swift build)" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$scratch"' EXIT
"$arbiter" serve --port 0 --demo --log-level notice --db "$scratch/round-trip.sqlite" >"$scratch/serve.log" 2>&1 &
server=$!
for _ in $(seq 300); do
    grep -q "listening" "$scratch/serve.log" && grep -q "^admin token:" "$scratch/serve.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$scratch/serve.log" >&2; exit 1; }
    sleep 0.1
done
port=$(grep -o 'port=[0-9]*' "$scratch/serve.log" | head -1 | cut -d= -f2)
token=$(grep "^admin token:" "$scratch/serve.log" | awk '{print $3}')
ARBITER_URL="http://127.0.0.1:$port" ARBITER_TOKEN="$token" HF_HOME="$scratch/huggingface" \
    "$venv/bin/python" clients/python/examples/dpo_round_trip.py
