#!/usr/bin/env bash
# The store against the HTTP ceiling: GetItem, PutItem and Query (10 items of 1 KB) at 1, 16
# and 64 connections, closed loop, DURATION seconds per point (default 6). The fixed-body
# server (`dax-loadgen fixed-server`) and the store run pinned to core 0, the load generator
# to core 1. Writes one JSON report per point under OUT (default bench/out/store-<time>) and
# prints a markdown table with each point's ratio to the ceiling at the same concurrency.
#
# Env: DURATION (6), CONNS ("1 16 64"), ITEMS (10000), ITEM_SIZE (1024), OUT, CARGO_PROFILE,
# SKIP_BUILD=1.
# About 3 × 3 × 3 points × DURATION + preload: ~3 minutes at the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${OUT:-$ROOT/bench/out/store-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
build

start fixed "fixed-server listening on" "$BIN/dax-loadgen" fixed-server --listen 127.0.0.1:0
FIXED=$URL
start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store"
STORE=$URL
echo "bench: fixed server $FIXED, store $STORE; results in $OUT" >&2

common=(--items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10 --distribution uniform)
# Create and fill the table once; the runs below only read it or overwrite its items.
load "$OUT/preload.json" --endpoint "$STORE" "${common[@]}" --preload --requests 1 \
  --concurrency 16

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

echo "## store vs fixed-body ceilings ($ITEMS items of $ITEM_SIZE B, ${DURATION}s per point, closed loop)"
echo
echo "\"× ceiling\": against the fixed server's small GetItem body (~80 B); \"× same-size"
echo "ceiling\": against a fixed server answering with the store's own answer to the operation."
echo
table_header
for op in get put query; do
  sized_url=SIZED_${op^^}
  for c in $CONNS; do
    load "$OUT/ceiling-$op-c$c.json" --endpoint "$FIXED" --skip-setup "${common[@]}" \
      --mix "$op=100" --concurrency "$c" --duration "$DURATION"
    load "$OUT/sized-$op-c$c.json" --endpoint "${!sized_url}" --skip-setup "${common[@]}" \
      --mix "$op=100" --concurrency "$c" --duration "$DURATION"
    load "$OUT/store-$op-c$c.json" --endpoint "$STORE" "${common[@]}" \
      --mix "$op=100" --concurrency "$c" --duration "$DURATION"
    row "ceiling $op" "$c" "$OUT/ceiling-$op-c$c.json" "$OUT/ceiling-$op-c$c.json"
    row "same-size ceiling $op" "$c" "$OUT/sized-$op-c$c.json" "$OUT/ceiling-$op-c$c.json" \
      "$OUT/sized-$op-c$c.json"
    row "store $op" "$c" "$OUT/store-$op-c$c.json" "$OUT/ceiling-$op-c$c.json" \
      "$OUT/sized-$op-c$c.json"
  done
done
