#!/usr/bin/env bash
# The store against the HTTP ceilings: GetItem, PutItem and Query (10 items of 1 KB) at 1, 16
# and 64 connections, closed loop. Each point is the median of ROUNDS runs of DURATION
# seconds, interleaved with its two ceilings: the small-body fixed server and a fixed server
# answering with the store's own answer to the operation. PutItem has a third: the durable
# ceiling, a fixed server that appends each request to a journal and fdatasyncs it
# (group-committed) before answering, which no durable server can beat on the same disk.
# Servers run pinned to core 0, the
# load generator to core 1. Each run against the store starts once the store is idle
# (`settle`): the engine's flushes and compactions after the PutItem rounds would otherwise
# run inside the next rounds, whatever they measure. Writes the JSON reports under OUT (default
# bench/out/store-<time>) and prints a markdown table with each point's ratios.
#
# Env: DURATION (4), ROUNDS (3), CONNS ("1 16 64"), ITEMS (10000), ITEM_SIZE (1024), OUT,
# CARGO_PROFILE, SKIP_BUILD=1.
# About (3 × 3 × 3 + 6) points × ROUNDS × DURATION + preload: ~8 minutes at the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${OUT:-$ROOT/bench/out/store-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
build

start fixed "fixed-server listening on" "$BIN/dax-loadgen" fixed-server --listen 127.0.0.1:0
FIXED=$URL
start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store"
STORE=$URL
STORE_PID=${PIDS[-1]}
echo "bench: fixed server $FIXED, store $STORE; results in $OUT" >&2

common=(--items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10 --distribution uniform)
# Create and fill the table once; the runs below only read it or overwrite its items.
load "$OUT/preload.json" --endpoint "$STORE" "${common[@]}" --preload --requests 1 \
  --concurrency 16
# A twin that no PutItem round touches: Query on it reads one version per item, while the
# main table's partitions hold every version the PutItem rounds wrote until compaction
# (the "after puts" row).
load "$OUT/preload-settled.json" --endpoint "$STORE" --table settled "${common[@]}" \
  --preload --requests 1 --concurrency 16

# The same-size ceilings: fixed servers answering with the store's real answer to each
# operation (a 1 KB item, `{}`, a 10-item page), so that both sides of the ratio move the
# same bytes and parse the same response in the load generator.
capture "$TMP/get.json" "$STORE" GetItem "$GET_ONE"
capture "$TMP/query.json" "$STORE" Query "$QUERY_ONE"
printf '{}' >"$TMP/put.json"
for op in get put query; do
  start "sized-$op" "fixed-server listening on" "$BIN/dax-loadgen" fixed-server \
    --listen 127.0.0.1:0 --body-file "$TMP/$op.json"
  printf -v "SIZED_${op^^}" '%s' "$URL"
done
# The journal lives beside the store's data: same file system, same disk.
start durable "fixed-server listening on" "$BIN/dax-loadgen" fixed-server \
  --listen 127.0.0.1:0 --body-file "$TMP/put.json" --journal "$TMP/durable.journal"
DURABLE=$URL

echo "## store vs fixed-body ceilings ($ITEMS items of $ITEM_SIZE B, median of $ROUNDS runs of ${DURATION}s per point, closed loop)"
echo
echo "\"× ceiling\": against the fixed server's small GetItem body (~80 B); \"× same-size"
echo "ceiling\": against a fixed server answering with the store's own answer to the operation."
echo
# Rounds outermost: each point's runs are spread over the whole benchmark, so a burst of
# host noise touches one run of a point, which the median drops (see bench/proxy.sh).
for r in $(seq "$ROUNDS"); do
  for op in get put query; do
    sized_url=SIZED_${op^^}
    for c in $CONNS; do
      run=(--mix "$op=100" --concurrency "$c" --duration "$DURATION")
      load "$OUT/ceiling-$op-c$c-r$r.json" --endpoint "$FIXED" --skip-setup "${common[@]}" \
        "${run[@]}"
      load "$OUT/sized-$op-c$c-r$r.json" --endpoint "${!sized_url}" --skip-setup \
        "${common[@]}" "${run[@]}"
      if [ "$op" = put ]; then
        load "$OUT/durable-$op-c$c-r$r.json" --endpoint "$DURABLE" --skip-setup \
          "${common[@]}" "${run[@]}"
      fi
      settle "$STORE_PID"
      load "$OUT/store-$op-c$c-r$r.json" --endpoint "$STORE" "${common[@]}" "${run[@]}"
      if [ "$op" = query ]; then
        settle "$STORE_PID"
        load "$OUT/settled-$op-c$c-r$r.json" --endpoint "$STORE" --table settled \
          "${common[@]}" "${run[@]}"
      fi
    done
  done
done

table_header
for op in get put query; do
  for c in $CONNS; do
    for t in ceiling sized store; do median "$OUT/$t-$op-c$c.json" "$OUT/$t-$op-c$c"; done
    row "ceiling $op" "$c" "$OUT/ceiling-$op-c$c.json" "$OUT/ceiling-$op-c$c.json"
    row "same-size ceiling $op" "$c" "$OUT/sized-$op-c$c.json" "$OUT/ceiling-$op-c$c.json" \
      "$OUT/sized-$op-c$c.json"
    if [ "$op" = put ]; then
      median "$OUT/durable-$op-c$c.json" "$OUT/durable-$op-c$c"
      row "durable ceiling put" "$c" "$OUT/durable-$op-c$c.json" "$OUT/ceiling-$op-c$c.json" \
        "$OUT/sized-$op-c$c.json"
    fi
    label="store $op"
    [ "$op" = query ] && label="store query, after the PutItem rounds"
    row "$label" "$c" "$OUT/store-$op-c$c.json" "$OUT/ceiling-$op-c$c.json" \
      "$OUT/sized-$op-c$c.json"
    if [ "$op" = query ]; then
      median "$OUT/settled-$op-c$c.json" "$OUT/settled-$op-c$c"
      row "store query, a table no put touched" "$c" "$OUT/settled-$op-c$c.json" \
        "$OUT/ceiling-$op-c$c.json" "$OUT/sized-$op-c$c.json"
    fi
  done
done

echo
echo "store PutItem / durable ceiling (both acknowledge only what is on disk):"
for c in $CONNS; do
  jq -rn --arg conns "$c" --slurpfile s "$OUT/store-put-c$c.json" \
    --slurpfile d "$OUT/durable-put-c$c.json" \
    '"- connections \($conns): \(($s[0].ops_per_sec / $d[0].ops_per_sec * 1000 | round) / 1000)"'
done
