#!/usr/bin/env bash
# Two builds of the store, one operation, interleaved: A and B run side by side (both pinned
# to core 0, the load generator to core 1), each preloaded with the same table, then ROUNDS
# rounds of OP at each of CONNS, in the order A B, B A, ... with each store idle (`settle`)
# before its turn. Prints every run's rate, each point's median A -> B, each store's CPU
# time per operation over the rounds, and its bytes on disk by part. For changes too
# small for store.sh to see through this host's drift.
#
#   bench/ab.sh A_BIN_DIR B_BIN_DIR     (directories holding `store` and `dax-loadgen`)
#
# Env: OP (put; get, query), ROUNDS (3), DURATION (4), CONNS ("1 16 64"), ITEMS, ITEM_SIZE,
# OUT, A_ARGS and B_ARGS (extra store flags of each side: the same build twice with
# B_ARGS=--in-memory compares the engines). Builds nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ $# -ne 2 ]; then
  echo "usage: $0 A_BIN_DIR B_BIN_DIR" >&2
  exit 2
fi
A_BIN=$1 B_BIN=$2 BIN=$2
OP=${OP:-put}
OUT=${OUT:-$ROOT/bench/out/ab-$OP-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

# shellcheck disable=SC2086 # the extra flags are words
start a "store listening on" "$A_BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/a" ${A_ARGS:-}
A=$URL A_PID=${PIDS[-1]}
# shellcheck disable=SC2086
start b "store listening on" "$B_BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/b" ${B_ARGS:-}
B=$URL B_PID=${PIDS[-1]}
common=(--items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10 --distribution uniform)
for s in A B; do
  load "$OUT/preload-$s.json" --endpoint "${!s}" "${common[@]}" --preload --requests 1 \
    --concurrency 16
done

A_TICKS=$(cpu_ticks "$A_PID") B_TICKS=$(cpu_ticks "$B_PID")
for r in $(seq "$ROUNDS"); do
  order="A B"
  [ $((r % 2)) = 0 ] && order="B A"
  for s in $order; do
    pid=${s}_PID
    settle "${!pid}"
    for c in $CONNS; do
      load "$OUT/$s-c$c-r$r.json" --endpoint "${!s}" "${common[@]}" --mix "$OP=100" \
        --concurrency "$c" --duration "$DURATION"
      echo "round $r $s $c connections: $(rate "$OUT/$s-c$c-r$r.json") $OP/s"
    done
  done
done

echo
echo "| conns | A $OP/s (median) | B $OP/s (median) | B / A |"
echo "|---:|---:|---:|---:|"
for c in $CONNS; do
  median "$OUT/A-c$c.json" "$OUT/A-c$c"
  median "$OUT/B-c$c.json" "$OUT/B-c$c"
  a=$(rate "$OUT/A-c$c.json") b=$(rate "$OUT/B-c$c.json")
  echo "| $c | $a | $b | $(ratio "$a" "$b") |"
done
echo
for s in A B; do
  pid=${s}_PID start=${s}_TICKS
  ticks=$(($(cpu_ticks "${!pid}") - ${!start}))
  ops=$(total_ops "$OUT/$s"-c*-r*.json)
  seconds=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }')
  echo "$s: $seconds s of CPU for $ops $OP (after the preload): $(us_per_op "$ticks" "$ops") us each"
  curl -s "${!s}/metrics" | grep '^store_disk_bytes' | sed "s/^/$s: /"
done
