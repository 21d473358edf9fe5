#!/usr/bin/env bash
# The project's test command: every unit and integration test of the workspace, in one
# `cargo test` invocation.
#
#   tests/run.sh [extra cargo test args, e.g. -- --nocapture, or a test-name filter after --]
#
# 1. Prepares the Python venv the boto3 / AWS CLI smoke tests use (pinned versions from
#    tests/py/requirements.txt, from PyPI). Idempotent: reinstalls only when the pins change.
#    Location: $INTEGRATION_PY_VENV, default <repo>/target/py-venv; exported for the tests.
# 2. Builds the daemons once (`cargo build --workspace --bins`): the integration tests run
#    these binaries, they never build them.
# 3. Runs `cargo test --workspace`.
#
# Env: PYTHON (interpreter that creates the venv, default python3), INTEGRATION_PY_VENV,
# CARGO_TARGET_DIR (honoured by cargo and by the harness's binary lookup).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

venv=${INTEGRATION_PY_VENV:-$repo/target/py-venv}
case $venv in /*) ;; *) venv=$repo/$venv ;; esac
reqs=$repo/tests/py/requirements.txt
stamp=$venv/.requirements.txt
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ] || [ ! -x "$venv/bin/aws" ] || ! cmp -s "$reqs" "$stamp"; then
  echo "run.sh: preparing Python venv at $venv" >&2
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv --clear "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$reqs"
  cp "$reqs" "$stamp"
fi
export INTEGRATION_PY_VENV=$venv

echo "run.sh: building binaries" >&2
cargo build --workspace --bins

echo "run.sh: running tests" >&2
cargo test --workspace "$@"
