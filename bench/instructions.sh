#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: what a request costs the
# server in user-space instructions, repeatable within ~2% whatever else the shared machine
# is doing (throughput moves by 30%; what moves here is the runtime's polling and parking). It does not see the kernel, cache misses or waiting,
# so it complements the over-the-wire benchmarks rather than replacing them: use it to
# compare two builds of the same path, or a server against the fixed-body ceiling.
#
#   bench/instructions.sh            # every scenario below
#   SCENARIOS="proxy-get fixed-get" bench/instructions.sh
#
# Scenarios (one connection, N requests, after a warm-up that fills caches and code paths):
#   store-get, store-put, store-query   the store (Query: a partition of 10 items of 1 KB)
#   proxy-get, proxy-query               a cached GetItem / Query through one proxy node
#   fixed-get, fixed-query               the fixed-body server answering the store's 1 KB
#                                        GetItem / 10-item Query answer (same-size ceilings)
# Each server runs under callgrind with instrumentation off until the measured requests
# start. The load generator's /metrics scrapes of the store or proxy (two per run) are
# subtracted (before session 23 they were counted in the store's numbers: ~2.5k a request).
# Knobs: N (requests, 2000), ITEMS (10000), SCENARIOS, PROFILES (a directory to keep each
# scenario's callgrind profile in, for callgrind_annotate). Needs valgrind (Debian package).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-2000}
SCENARIOS=${SCENARIOS:-"store-get store-put store-query proxy-get fixed-get proxy-query fixed-query"}
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind" >&2; exit 1; }
build

common=(--no-progress --items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10)
loadgen() { "$BIN/dax-loadgen" "${common[@]}" "$@" >/dev/null; }
grind() { exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/$1.cg" "${@:2}"; }

# total NAME [FUNCTION]: instructions in NAME's profile (or in FUNCTION, inclusive).
total() {
  if [ -z "${2:-}" ]; then
    callgrind_annotate "$TMP/$1.cg" 2>/dev/null \
      | awk '/PROGRAM TOTALS/ && !n++ {gsub(",", "", $1); print $1}'
  else
    # Reads to the end: exiting early would kill callgrind_annotate with SIGPIPE.
    callgrind_annotate --inclusive=yes "$TMP/$1.cg" 2>/dev/null \
      | awk -v f="$2" 'index($0, f) && !/inlined/ && !n++ {gsub(",", "", $1); print $1}'
  fi
}

# measure NAME PID URL OP: warms up, then counts N requests of OP.
measure() {
  local name=$1 pid=$2 url=$3 op=$4
  # Fixed seeds keep counts repeatable; two of them keep the measured puts from replaying
  # the warm-up's (a put of the item as stored is acknowledged without a write).
  loadgen --endpoint "$url" --skip-setup --mix "$op=100" --requests 500 --concurrency 1 --seed 1
  callgrind_control -i on "$pid" >/dev/null 2>&1
  loadgen --endpoint "$url" --skip-setup --mix "$op=100" --requests "$N" --concurrency 1 \
    --seed 2
  callgrind_control -i off "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

# A store (not instrumented) to seed data and to stand behind the proxy.
"$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/seed" >"$TMP/seed.out" 2>"$TMP/seed.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q "listening on" "$TMP/seed.out" && break; sleep 0.1; done
SEED=http://$(sed -n 's/^store listening on //p' "$TMP/seed.out")
loadgen --endpoint "$SEED" --preload --requests 1 --concurrency 4
# The store's own answers, for the fixed server's same-size scenarios (signed as the
# store requires of any Authorization header: curl's bare one was refused, and the fixed
# server then answered the ~200-byte error instead of the 1 KB item and 10 KB page).
capture "$TMP/get-body.json" "$SEED" GetItem "$GET_ONE"
capture "$TMP/query-body.json" "$SEED" Query "$QUERY_ONE"

# wait_banner NAME BANNER: the address a server printed (valgrind starts slowly).
wait_banner() {
  for _ in $(seq 300); do grep -q "$2" "$TMP/$1.out" 2>/dev/null && break; sleep 0.1; done
  sed -n "s/^$2 //p" "$TMP/$1.out" | head -1
}

echo "| scenario | requests | instructions per request |"
echo "|---|---:|---:|"
for scenario in $SCENARIOS; do
  scrape=0
  case $scenario in
    store-*)
      op=${scenario#store-}
      grind "$scenario" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/$scenario" \
        >"$TMP/$scenario.out" 2>"$TMP/$scenario.err" &
      pid=$!
      PIDS+=("$pid")
      url=http://$(wait_banner "$scenario" "store listening on")
      loadgen --endpoint "$url" --preload --requests 1 --concurrency 4
      measure "$scenario" "$pid" "$url" "$op"
      scrape=$(total "$scenario" "metrics_exporter_prometheus::recorder::Inner::render")
      ;;
    proxy-get | proxy-query)
      op=${scenario#proxy-}
      grind "$scenario" "$BIN/dax-proxy" --listen 127.0.0.1:0 --store "$SEED" --record-ttl 1h \
        --query-ttl 1h >"$TMP/$scenario.out" 2>"$TMP/$scenario.err" &
      pid=$!
      PIDS+=("$pid")
      url=http://$(wait_banner "$scenario" "dax-proxy listening on")
      # Every item (or partition) once, so that the measured reads are all hits.
      loadgen --endpoint "$url" --skip-setup --distribution sequential --mix "$op=100" \
        --requests "$ITEMS" --concurrency 1
      measure "$scenario" "$pid" "$url" "$op"
      scrape=$(total "$scenario" "metrics_exporter_prometheus::recorder::Inner::render")
      ;;
    fixed-get | fixed-query)
      op=${scenario#fixed-}
      grind "$scenario" "$BIN/dax-loadgen" fixed-server --listen 127.0.0.1:0 \
        --body-file "$TMP/$op-body.json" >"$TMP/$scenario.out" 2>&1 &
      pid=$!
      PIDS+=("$pid")
      url=http://$(wait_banner "$scenario" "fixed-server listening on")
      measure "$scenario" "$pid" "$url" "$op"
      ;;
    *) echo "instructions.sh: unknown scenario $scenario" >&2; exit 2 ;;
  esac
  all=$(total "$scenario")
  if [ -n "${PROFILES:-}" ]; then mkdir -p "$PROFILES" && cp "$TMP/$scenario.cg" "$PROFILES/"; fi
  echo "| $scenario | $N | $(( (all - ${scrape:-0}) / N )) |"
done
