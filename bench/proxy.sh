#!/usr/bin/env bash
# The proxy's hit path against the store and the HTTP ceilings: cached GetItem and cached
# Query (10 items of 1 KB) through one proxy node, uncached GetItem on the store, the small-
# body fixed server and fixed servers answering the real GetItem and Query bodies, with
# uniform and zipf:0.99 keys, at 1, 16 and 64 connections, closed loop. Each point is the
# median of ROUNDS runs of DURATION seconds, interleaved with the points it is compared
# with, and rounds spread over the whole run (every point once per round). Servers are pinned to core 0, the load generator to core 1. The proxy's cache holds
# every item (default 256 MiB) and a sequential pass warms it, so the proxy points measure
# hits (the hit column shows it).
#
# Env: DURATION (4), ROUNDS (3), CONNS ("1 16 64"), ITEMS (10000), ITEM_SIZE (1024), OUT,
# CARGO_PROFILE, SKIP_BUILD=1.
# About 2 × 3 × 6 points × ROUNDS × DURATION + warm-up: ~7 minutes at the defaults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${OUT:-$ROOT/bench/out/proxy-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
build

start fixed "fixed-server listening on" "$BIN/dax-loadgen" fixed-server --listen 127.0.0.1:0
FIXED=$URL
start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store"
STORE=$URL
start proxy "dax-proxy listening on" "$BIN/dax-proxy" --listen 127.0.0.1:0 --store "$STORE" \
  --record-ttl 1h --query-ttl 1h --cache-header
PROXY=$URL
echo "bench: fixed server $FIXED, store $STORE, proxy $PROXY; results in $OUT" >&2

common=(--items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10)
load "$OUT/preload.json" --endpoint "$STORE" "${common[@]}" --preload --requests 1 \
  --concurrency 16
# Warm the proxy: every item once, every partition once (memory: bench/proxy-memory.sh).
load "$OUT/warm-get.json" --endpoint "$PROXY" "${common[@]}" --distribution sequential \
  --mix get=100 --requests "$ITEMS" --concurrency 16
load "$OUT/warm-query.json" --endpoint "$PROXY" "${common[@]}" --distribution sequential \
  --mix query=100 --requests "$(( (ITEMS + 9) / 10 ))" --concurrency 16

# Same-size ceilings: fixed servers answering with the real GetItem and Query answers.
capture "$TMP/get.json" "$STORE" GetItem "$GET_ONE"
capture "$TMP/query.json" "$STORE" Query "$QUERY_ONE"
start sized-get "fixed-server listening on" "$BIN/dax-loadgen" fixed-server \
  --listen 127.0.0.1:0 --body-file "$TMP/get.json"
SIZED_GET=$URL
start sized-query "fixed-server listening on" "$BIN/dax-loadgen" fixed-server \
  --listen 127.0.0.1:0 --body-file "$TMP/query.json"
SIZED_QUERY=$URL

# Rounds outermost: each point's runs are spread over the whole benchmark, so a burst of
# host noise (this VM shares its host; bursts last tens of seconds) touches one run of a
# point, which the median drops, instead of every run of the points it happens to hit.
for r in $(seq "$ROUNDS"); do
  for dist in uniform zipf:0.99; do
    tag=${dist//:/}
    for c in $CONNS; do
      run=(--distribution "$dist" --concurrency "$c" --duration "$DURATION")
      load "$OUT/$tag-ceiling-c$c-r$r.json" --endpoint "$FIXED" --skip-setup "${common[@]}" \
        --mix get=100 "${run[@]}"
      load "$OUT/$tag-sized-get-c$c-r$r.json" --endpoint "$SIZED_GET" --skip-setup \
        "${common[@]}" --mix get=100 "${run[@]}"
      load "$OUT/$tag-sized-query-c$c-r$r.json" --endpoint "$SIZED_QUERY" --skip-setup \
        "${common[@]}" --mix query=100 "${run[@]}"
      load "$OUT/$tag-store-get-c$c-r$r.json" --endpoint "$STORE" "${common[@]}" --mix get=100 \
        "${run[@]}"
      load "$OUT/$tag-proxy-get-c$c-r$r.json" --endpoint "$PROXY" "${common[@]}" --mix get=100 \
        "${run[@]}"
      load "$OUT/$tag-proxy-query-c$c-r$r.json" --endpoint "$PROXY" "${common[@]}" \
        --mix query=100 "${run[@]}"
    done
  done
done

for dist in uniform zipf:0.99; do
  tag=${dist//:/}
  echo
  echo "## $dist keys: proxy hits vs store vs ceiling ($ITEMS items of $ITEM_SIZE B, median of $ROUNDS runs of ${DURATION}s)"
  echo
  table_header
  for c in $CONNS; do
    for t in ceiling sized-get sized-query store-get proxy-get proxy-query; do
      median "$OUT/$tag-$t-c$c.json" "$OUT/$tag-$t-c$c"
    done
    ceiling="$OUT/$tag-ceiling-c$c.json"
    sized_get="$OUT/$tag-sized-get-c$c.json"
    sized_query="$OUT/$tag-sized-query-c$c.json"
    row "ceiling" "$c" "$ceiling" "$ceiling"
    row "same-size ceiling GetItem" "$c" "$sized_get" "$ceiling" "$sized_get"
    row "same-size ceiling Query" "$c" "$sized_query" "$ceiling" "$sized_query"
    row "store GetItem" "$c" "$OUT/$tag-store-get-c$c.json" "$ceiling" "$sized_get"
    row "proxy GetItem (cached)" "$c" "$OUT/$tag-proxy-get-c$c.json" "$ceiling" "$sized_get"
    row "proxy Query (cached)" "$c" "$OUT/$tag-proxy-query-c$c.json" "$ceiling" "$sized_query"
  done
done

# The cost of coherence: cached GetItem (zipf, 16 connections) while a writer updates 1% of
# the keys per second straight on the store (the proxy learns of each write from the feed).
echo
echo "## cached GetItem while 1% of keys per second are updated directly on the store"
echo
table_header
run=(--distribution zipf:0.99 --concurrency 16 --duration "$DURATION")
load "$OUT/coherence-quiet.json" --endpoint "$PROXY" "${common[@]}" --mix get=100 "${run[@]}"
"${CLIENT_CPU[@]}" "$BIN/dax-loadgen" --no-progress --json "$OUT/coherence-writer.json" \
  --endpoint "$STORE" "${common[@]}" --skip-setup --mix update=100 --distribution uniform \
  --rate $(( ITEMS / 100 > 0 ? ITEMS / 100 : 1 )) --concurrency 2 --duration "$DURATION" >/dev/null &
writer=$!
load "$OUT/coherence-busy.json" --endpoint "$PROXY" "${common[@]}" --mix get=100 "${run[@]}"
wait "$writer"
row "proxy GetItem, no writes" 16 "$OUT/coherence-quiet.json" "$OUT/coherence-quiet.json"
row "proxy GetItem, 1%/s direct writes" 16 "$OUT/coherence-busy.json" "$OUT/coherence-quiet.json"
