#!/usr/bin/env bash
# Global tables: what replication costs a durable PutItem in the region that takes it, and
# how far behind the other region runs. Two stores: "home" (us-east-1) pinned to core 0,
# and "away" (eu-west-1), which applies what home ships, on core 1 with the load generator
# (the machine has two cores; away's work is what a replica's region does anyway).
#
# On home, two tables preloaded alike, both with a NEW_AND_OLD_IMAGES stream (which
# replication needs, so the comparison isolates replication itself): "regional", and
# "global" with a replica in away. ROUNDS rounds of PutItem at each of CONNS on each table,
# interleaved (regional, global / global, regional, ...), home and away idle before each.
# During and after each global run, home's store_replication_lag_seconds is sampled every
# 100 ms: the largest value seen (how old the oldest change being shipped was), and the time
# from the run's end until the lag is 0 again (every change applied in away). Away shares
# the load generator's core, so at high rates the generator may be what slows: home's CPU
# time per put (its shipping included) is the measure of what replication costs it.
#
#   bench/replication.sh
#
# Env: ROUNDS (3), DURATION (4), CONNS ("1 16 64"), ITEMS, ITEM_SIZE, OUT, SKIP_BUILD.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${OUT:-$ROOT/bench/out/replication-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
build

# away on the client core, then home (which must know where away is) on the server core.
server_cpu=("${SERVER_CPU[@]}")
SERVER_CPU=("${CLIENT_CPU[@]}")
start away "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/away" \
  --region eu-west-1
AWAY=$URL AWAY_PID=${PIDS[-1]}
SERVER_CPU=("${server_cpu[@]}")
start home "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/home" \
  --region-endpoints "eu-west-1=$AWAY"
HOME_URL=$URL HOME_PID=${PIDS[-1]}

common=(--endpoint "$HOME_URL" --items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10
  --distribution uniform)
call() { capture "$TMP/answer.json" "$HOME_URL" "$1" "$2"; }
for table in regional global; do
  load "$OUT/preload-$table.json" "${common[@]}" --table "$table" --preload --requests 1 \
    --concurrency 16
  call UpdateTable "{\"TableName\":\"$table\",\"StreamSpecification\":{\"StreamEnabled\":true,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}}"
done
call UpdateTable '{"TableName":"global","ReplicaUpdates":[{"Create":{"RegionName":"eu-west-1"}}]}'
for _ in $(seq 600); do
  call DescribeTable '{"TableName":"global"}'
  [ "$(jq -r '.Table.Replicas[0].ReplicaStatus' "$TMP/answer.json")" = ACTIVE ] && break
  sleep 0.1
done
echo "replica ACTIVE: $ITEMS items copied to eu-west-1"

lag() {
  curl -s "$HOME_URL/metrics" |
    awk '/^store_replication_lag_seconds\{/ && /table="global"/ { print $2; found = 1 } END { if (!found) print 0 }'
}
caught_up() { [ "$(lag | awk '{ print ($1 == 0) }')" = 1 ]; }
since() { awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
# sample_lag FILE: appends "seconds-since-start lag" every 100 ms until killed.
sample_lag() {
  local t0
  t0=$(date +%s.%N)
  while :; do
    echo "$(since "$t0") $(lag)" >>"$1"
    sleep 0.1
  done
}

for r in $(seq "$ROUNDS"); do
  order="regional global"
  [ $((r % 2)) = 0 ] && order="global regional"
  for table in $order; do
    for c in $CONNS; do
      settle "$HOME_PID"
      settle "$AWAY_PID"
      run="$OUT/$table-c$c-r$r"
      if [ "$table" = global ]; then
        sample_lag "$run.lag" &
        sampler=$!
      fi
      ticks=$(cpu_ticks "$HOME_PID")
      load "$run.json" "${common[@]}" --table "$table" --skip-setup --mix put=100 \
        --concurrency "$c" --duration "$DURATION"
      if [ "$table" = global ]; then
        ended=$(date +%s.%N)
        for _ in $(seq 600); do
          caught_up && break
          sleep 0.05
        done
        since "$ended" >"$run.catchup"
        kill "$sampler" 2>/dev/null || true
        wait "$sampler" 2>/dev/null || true
      fi
      # Home's CPU for the run (and, for the global table, its shipping until caught up).
      echo $(($(cpu_ticks "$HOME_PID") - ticks)) >"$run.ticks"
      echo "round $r $table $c connections: $(rate "$run.json") puts/s"
    done
  done
done

echo
# CPU per put in home, in microseconds, over every round of one table at one concurrency.
cpu_per_put() {
  local ticks ops
  ticks=$(cat "$OUT/$1-c$2"-r*.ticks | awk '{ s += $1 } END { print s }')
  ops=$(total_ops "$OUT/$1-c$2"-r*.json)
  us_per_op "$ticks" "$ops"
}
echo "| conns | regional puts/s | global puts/s | global / regional | home CPU per put, regional / global (us) | largest lag seen (s) | caught up after the run (s) |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONNS; do
  median "$OUT/regional-c$c.json" "$OUT/regional-c$c"
  median "$OUT/global-c$c.json" "$OUT/global-c$c"
  a=$(rate "$OUT/regional-c$c.json") b=$(rate "$OUT/global-c$c.json")
  # The lag and catch-up of the median global run.
  chosen=$(median_run "$OUT/global-c$c")
  base=${chosen%.json}
  most=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { printf "%.2f", m }' "$base.lag")
  catchup=$(awk '{ printf "%.2f", $1 }' "$base.catchup")
  echo "| $c | $a | $b | $(ratio "$a" "$b") | $(cpu_per_put regional "$c") / $(cpu_per_put global "$c") | $most | $catchup |"
done
shipped=$(curl -s "$HOME_URL/metrics" | awk '/^store_replication_changes_shipped_total\{/ { s += $2 } END { print s + 0 }')
applied=$(curl -s "$AWAY/metrics" | awk '/^store_replication_changes_applied_total\{/ { s += $2 } END { print s + 0 }')
echo
echo "changes shipped by us-east-1: $shipped; applied in eu-west-1: $applied (the copy included)"
