#!/usr/bin/env bash
# Memory per cached item of a proxy node: ITEMS_MEMORY (default 1,000,000) items of ITEM_SIZE
# (1 KB) loaded on the store, then every one read once through the proxy (a sequential pass,
# so every read is a miss that fills the item cache). Resident memory of the proxy before and
# after the pass, over the entries its cache reports on /metrics, gives the bytes each cached
# item costs, all overheads included (moka's bookkeeping, the key, the allocator's share).
# "Before" is taken from a twin node with a 1 MB item cache, so that the hash table a node
# sizes for its capacity at start counts as part of what the items cost.
#
# Env: ITEMS_MEMORY (1000000), ITEM_SIZE (1024), SKIP_BUILD=1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ITEMS=${ITEMS_MEMORY:-1000000}
build
# Loading is not what is measured here: the store acknowledges without waiting for fsync.
start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store" \
  --durable false
STORE=$URL
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# The twin: same code and startup, a cache too small to presize anything.
start twin "dax-proxy listening on" "$BIN/dax-proxy" --listen 127.0.0.1:0 --store "$STORE" \
  --item-cache-bytes 1048576 --record-ttl 1h
twin_pid=${PIDS[-1]}
# A cache sized for the items (1.6 KB each for 1 KB items, which weigh ~1.5 KB), so nothing
# is evicted during the pass. The node presizes its hash table for its capacity: a cache
# twice as large would cost ~16 bytes more per item.
start proxy "dax-proxy listening on" "$BIN/dax-proxy" --listen 127.0.0.1:0 --store "$STORE" \
  --item-cache-bytes $(( ITEMS * (ITEM_SIZE + 576) )) --record-ttl 1h
PROXY=$URL
pid=${PIDS[-1]}
metric() { curl -s "$PROXY/metrics" | awk -v m="$1" '$1 == m {printf "%.0f", $2}'; }
echo "bench: store $STORE, proxy $PROXY (pid $pid), $ITEMS items" >&2

common=(--items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10)
load "$TMP/preload.json" --endpoint "$STORE" "${common[@]}" --preload --requests 1 \
  --concurrency 32
before=$(rss_kib "$twin_pid")
echo "bench: RSS before the pass: $(rss_kib "$pid") KiB, twin with a 1 MB cache: $before KiB" >&2
load "$TMP/warm.json" --endpoint "$PROXY" "${common[@]}" --distribution sequential \
  --mix get=100 --requests "$ITEMS" --concurrency 16
sleep 2 # moka applies pending inserts in the background; /metrics then counts them all
after=$(rss_kib "$pid")
entries=$(metric dax_item_cache_entries)
weighed=$(metric dax_item_cache_bytes)
echo "| items cached | item size B | weighed bytes per entry | RSS growth MiB | RSS bytes per cached item |"
echo "|---:|---:|---:|---:|---:|"
echo "| $entries | $ITEM_SIZE | $(( weighed / entries )) | $(( (after - before) / 1024 )) | $(( (after - before) * 1024 / entries )) |"
