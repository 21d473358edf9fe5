#!/usr/bin/env bash
# The store against dynalite (npm, an in-memory DynamoDB emulator on Node.js): GetItem,
# PutItem and Query (10 items of 1 KB) at 1, 16 and 64 connections, each server pinned to
# core 0 in turn and the load generator to core 1. Prints a markdown table with the store's
# throughput as a multiple of dynalite's at the same point.
#
# dynalite is installed from the npm registry into bench/out/dynalite on first use.
# Env: DURATION (4), ROUNDS (3), STORE_DURABLE (true), STORE_ARGS (more store flags, e.g.
# --in-memory to keep data in memory as dynalite does), CONNS ("1 16 64"), ITEMS (10000),
# ITEM_SIZE (1024), OUT, SKIP_BUILD=1, DYNALITE_VERSION (4.0.0).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${OUT:-$ROOT/bench/out/dynalite-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
build

node_dir=$ROOT/bench/out/dynalite
if [ ! -x "$node_dir/node_modules/.bin/dynalite" ]; then
  mkdir -p "$node_dir"
  npm install --silent --prefix "$node_dir" "dynalite@${DYNALITE_VERSION:-4.0.0}" >&2
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${SERVER_CPU[@]}" "$node_dir/node_modules/.bin/dynalite" --host 127.0.0.1 --port "$port" \
  --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$TMP/dynalite.out" 2>&1 &
PIDS+=($!)
DYNALITE=http://127.0.0.1:$port
for _ in $(seq 1 100); do
  curl -fsS "$DYNALITE/" >/dev/null 2>&1 && break
  sleep 0.1
done
# STORE_DURABLE=false makes the store acknowledge writes before fsync, as dynalite does.
# shellcheck disable=SC2086 # STORE_ARGS is a list of flags
start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store" \
  --durable "${STORE_DURABLE:-true}" ${STORE_ARGS:-}
STORE=$URL
echo "bench: dynalite $DYNALITE, store $STORE; results in $OUT" >&2

common=(--items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10 --distribution uniform)
for target in "$DYNALITE" "$STORE"; do
  load "$OUT/preload-$(basename "$target").json" --endpoint "$target" "${common[@]}" --preload \
    --requests 1 --concurrency 16
done

echo "## store (durable: ${STORE_DURABLE:-true}${STORE_ARGS:+, $STORE_ARGS}) vs dynalite ($ITEMS items of $ITEM_SIZE B, median of $ROUNDS runs of ${DURATION}s per point, closed loop)"
echo
echo "| op | conns | dynalite ops/s | store ops/s | store × dynalite | dynalite p50 ms | store p50 ms | dynalite p99 ms | store p99 ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for op in get put query; do
  for c in $CONNS; do
    for r in $(seq "$ROUNDS"); do
      load "$OUT/dynalite-$op-c$c-r$r.json" --endpoint "$DYNALITE" "${common[@]}" \
        --mix "$op=100" --concurrency "$c" --duration "$DURATION"
      load "$OUT/store-$op-c$c-r$r.json" --endpoint "$STORE" "${common[@]}" \
        --mix "$op=100" --concurrency "$c" --duration "$DURATION"
    done
    median "$OUT/dynalite-$op-c$c.json" "$OUT/dynalite-$op-c$c"
    median "$OUT/store-$op-c$c.json" "$OUT/store-$op-c$c"
    jq -rn --arg op "$op" --arg c "$c" \
      --slurpfile d "$OUT/dynalite-$op-c$c.json" --slurpfile s "$OUT/store-$op-c$c.json" '
      def f(x): (x * 100 | round) / 100;
      "| \($op) | \($c) | \($d[0].ops_per_sec | round) | \($s[0].ops_per_sec | round) | \(f($s[0].ops_per_sec / $d[0].ops_per_sec)) | \(f($d[0].latency_ms.p50)) | \(f($s[0].latency_ms.p50)) | \(f($d[0].latency_ms.p99)) | \(f($s[0].latency_ms.p99)) |"'
  done
done
