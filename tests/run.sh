#!/usr/bin/env bash
# The project's test command: every unit and integration test of the workspace, in one
# `cargo test` invocation.
#
#   tests/run.sh [extra cargo test args, e.g. -- --nocapture, or a test-name filter after --]
#
# 1. Prepares the Python venv the boto3 / AWS CLI smoke tests use (pinned versions from
#    tests/py/requirements.txt, from PyPI). Idempotent: reinstalls only when the pins change.
#    Location: $INTEGRATION_PY_VENV, default <repo>/target/py-venv; exported for the tests.
# 1b. Installs Prometheus (Debian package `prometheus`) when it is missing and this runs as
#    root on a system with apt-get: tests/tests/observability.rs runs a real Prometheus
#    against the dashboards in grafana/ and fails without one. $PROMETHEUS_BIN overrides.
# 1c. Installs the AWS SDK for JavaScript v3 (tests/js, `npm ci` from the npm registry) for
#    the JS smoke test, with the machine's Node.js and npm.
# 2. Builds the daemons once (`cargo build --workspace --bins --lib`): the integration tests
#    run these binaries (and the `sync-stall` shim, a library), they never build them.
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

# Only when it can succeed unattended: as root, with apt-get. Elsewhere the observability
# test reports the missing binary itself.
if [ -z "${PROMETHEUS_BIN:-}" ] && ! command -v prometheus >/dev/null 2>&1 \
  && [ ! -x /usr/bin/prometheus ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "run.sh: installing prometheus (apt-get)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# The AWS SDK for JavaScript, pinned by tests/js/package-lock.json, for the JS smoke test.
# Node.js and npm come with the machine; like the venv, reinstalled only when the pins change.
js=$repo/tests/js
if ! cmp -s "$js/package-lock.json" "$js/node_modules/.installed-lock.json"; then
  echo "run.sh: installing the JS SDK (npm ci) in $js" >&2
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$js/package-lock.json" "$js/node_modules/.installed-lock.json"
fi

echo "run.sh: building binaries" >&2
cargo build --workspace --bins --lib

echo "run.sh: running tests" >&2
cargo test --workspace "$@"
