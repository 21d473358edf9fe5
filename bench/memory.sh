#!/usr/bin/env bash
# Resident memory of the store with ITEMS_MEMORY (default 1,000,000) items of ITEM_SIZE (1 KB)
# loaded through BatchWriteItem, read from /proc after the load and again after a pass of
# random GetItems; also the data directory's size on disk.
#
# Env: ITEMS_MEMORY (1000000), ITEM_SIZE (1024), DURATION (reads, 6), CACHE_MB (the store's block cache, 256), SKIP_BUILD=1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ITEMS=${ITEMS_MEMORY:-1000000}
build
start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store" \
  --cache-mb "${CACHE_MB:-256}"
STORE=$URL
pid=${PIDS[-1]}
rss() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
echo "bench: store $STORE (pid $pid), loading $ITEMS items" >&2
started=$(date +%s)
load "$TMP/preload.json" --endpoint "$STORE" --items "$ITEMS" --item-size "$ITEM_SIZE" \
  --preload --requests 1 --concurrency 32
loaded=$(date +%s)
after_load=$(rss "$pid")
load "$TMP/reads.json" --endpoint "$STORE" --items "$ITEMS" --item-size "$ITEM_SIZE" --skip-setup \
  --mix get=100 --distribution uniform --concurrency 16 --duration "${DURATION}"
after_reads=$(rss "$pid")
disk=$(du -sm "$TMP/store" | cut -f1)
echo "| items | item size | load time s | RSS after load MiB | RSS after reads MiB | data on disk MiB |"
echo "|---:|---:|---:|---:|---:|---:|"
echo "| $ITEMS | $ITEM_SIZE | $((loaded - started)) | $after_load | $after_reads | $disk |"
