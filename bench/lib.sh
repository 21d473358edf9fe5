# Shared helpers of the bench scripts (sourced, not run).
#
# Servers run pinned to core 0 and the load client to core 1 (taskset), so the client never
# steals the servers' CPU; without taskset (or with one core) they run unpinned and the
# numbers mean less. Every server listens on 127.0.0.1 port 0 and is killed on exit.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFILE=${CARGO_PROFILE:-release}
# Cargo keeps the dev profile's builds under `debug`.
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
DURATION=${DURATION:-4}
# Each point is measured ROUNDS times, interleaved with the points it is compared with, and
# the run with the median throughput is reported: one 6 s run on this shared machine
# could land in a noisy second and swing a ratio by 2x.
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-"1 16 64"}
ITEMS=${ITEMS:-10000}
ITEM_SIZE=${ITEM_SIZE:-1024}

if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 0)
  CLIENT_CPU=(taskset -c 1)
else
  echo "bench: taskset or a second core missing; running unpinned" >&2
  SERVER_CPU=()
  CLIENT_CPU=()
fi

# The stores measured here run far past DynamoDB's per-table quota of 40,000 units a second
# (a 10-item Query at 35k a second reads ~50k), which an on-demand table is held to: the
# benchmarks raise it, as a quota increase would. The buckets still run, at this rate.
export STORE_TABLE_MAX_CAPACITY_UNITS=${STORE_TABLE_MAX_CAPACITY_UNITS:-1000000000}

PIDS=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dax-bench.XXXXXX")
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# SKIP_BUILD=1 uses the binaries already in target/ (e.g. right after a build).
build() {
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --profile "$PROFILE" --bins >&2)
  fi
}

# start NAME BANNER CMD...: runs CMD pinned to the server core, waits for its
# "BANNER HOST:PORT" line and sets URL=http://HOST:PORT (a variable, not output: a command
# substitution would run in a subshell and lose the pid needed for cleanup).
start() {
  local name=$1 banner=$2
  shift 2
  "${SERVER_CPU[@]}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PIDS+=($!)
  local addr=""
  for _ in $(seq 1 300); do
    addr=$(sed -n "s/^$banner //p" "$TMP/$name.out" | head -1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    echo "bench: $name did not start; stderr:" >&2
    cat "$TMP/$name.err" >&2
    exit 1
  fi
  URL="http://$addr"
}

# settle PID: waits (at most a minute) until PID uses under ~2% of a core over half a
# second, so that a measurement starts after the engine's flushes and compactions of what
# earlier rounds wrote, rather than sharing the core with them.
settle() {
  local before after
  for _ in $(seq 120); do
    before=$(awk '{print $14 + $15}' "/proc/$1/stat")
    sleep 0.5
    after=$(awk '{print $14 + $15}' "/proc/$1/stat")
    [ $((after - before)) -le 1 ] && return 0
  done
}

# load JSON_OUT ARGS...: one load-generator run on the client core, quiet, JSON report.
load() {
  local json=$1
  shift
  "${CLIENT_CPU[@]}" "$BIN/dax-loadgen" --no-progress --json "$json" "$@" >/dev/null
}

# median_run PREFIX: prints the round (PREFIX-r1.json, PREFIX-r2.json, ...) with the median
# throughput.
median_run() {
  for f in "$1"-r*.json; do echo "$(jq .ops_per_sec "$f") $f"; done | sort -g |
    awk '{ f[NR] = $2 } END { print f[int((NR + 1) / 2)] }'
}

# median OUT PREFIX: copies the median round of PREFIX to OUT.
median() {
  cp "$(median_run "$2")" "$1"
}

# rate JSON: a run's operations per second, rounded.
rate() { jq .ops_per_sec "$1" | xargs printf '%.0f'; }

# cpu_ticks PID: utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# ratio A B: B / A, to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

# total_ops JSON...: the operations the runs of these reports made, together.
total_ops() { jq -s 'map(.total_ops) | add' "$@"; }

# us_per_op TICKS OPS: CPU microseconds per operation, from clock ticks.
us_per_op() {
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN { printf "%.1f", t / hz / n * 1e6 }'
}

# row LABEL CONNS JSON CEILING_JSON [SIZED_CEILING_JSON]: one markdown table row, with the
# ratios to the small-body ceiling and (when given) to the same-size-body ceiling.
row() {
  local sized=${5:-$4}
  jq -r --arg name "$1" --arg conns "$2" --arg has_sized "${5:+1}" \
    --slurpfile c "$4" --slurpfile s "$sized" '
    def f(x): (x * 1000 | round) / 1000;
    "| \($name) | \($conns) | \(.ops_per_sec | round) | \(f(.ops_per_sec / ($c[0].ops_per_sec))) | \(if $has_sized == "" then "-" else f(.ops_per_sec / ($s[0].ops_per_sec)) end) | \(f(.latency_ms.p50)) | \(f(.latency_ms.p99)) | \(f(.latency_ms.p999)) | \(if .hit_ratio == null then "-" else "\(f(.hit_ratio * 100))%" end) | \(.errors_total) |"
  ' "$3"
}

table_header() {
  echo "| target | conns | ops/s | × ceiling | × same-size ceiling | p50 ms | p99 ms | p99.9 ms | hit | errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
}

# capture FILE URL OP JSON: saves the body of a real answer, for a fixed server that then
# sends exactly as many bytes per response as the server it stands beside.
capture() {
  curl -sS --fail -o "$1" -H 'content-type: application/x-amz-json-1.0' \
    -H "x-amz-target: DynamoDB_20120810.$3" \
    -H 'authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    --data "$4" "$2"
}

# Request bodies of the load generator's default table and item 0 (partition p00000000).
GET_ONE='{"TableName":"loadgen","Key":{"pk":{"S":"p00000000"},"sk":{"N":"0"}}}'
QUERY_ONE='{"TableName":"loadgen","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p00000000"}}}'

# python_with_boto3: prints a Python interpreter that imports boto3: $BENCH_PYTHON, else the
# acceptance venv, else a venv made (once) under bench/.venv.
python_with_boto3() {
  if [ -n "${BENCH_PYTHON:-}" ]; then
    echo "$BENCH_PYTHON"
    return
  fi
  local candidate
  for candidate in "$ROOT/.acceptance-venv/bin/python" "$ROOT/bench/.venv/bin/python"; do
    if [ -x "$candidate" ] && "$candidate" -c 'import boto3' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  python3 -m venv "$ROOT/bench/.venv" >&2
  "$ROOT/bench/.venv/bin/python" -m pip install -q boto3 >&2
  echo "$ROOT/bench/.venv/bin/python"
}
