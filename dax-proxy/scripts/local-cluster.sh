#!/usr/bin/env bash
# Starts the whole product on this machine, on loopback: the store (embedded engine, data in
# ./data) and a dax-proxy cluster of one primary and two read replicas. Ctrl-C stops all.
#
# Env: DATA_DIR (./data in the repository, or a path from where it is run),
#      STORE_IN_MEMORY (true: nothing on disk, as DynamoDB Local's -inMemory),
#      STORE_PORT (8000), PROXY_PORTS ("8111 8112 8113"),
#      DAX_CLUSTER_SECRET (the built-in local default), CARGO_PROFILE (release),
#      CARGO_TARGET_DIR (target).
set -euo pipefail

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
# It takes no arguments: one given is a mistake (or `--help`), not a start on the fixed ports.
case "${1:-}" in
  "") ;;
  -h | --help) usage; exit 0 ;;
  *) echo "local-cluster.sh takes no arguments (settings are environment variables):" >&2; usage >&2; exit 2 ;;
esac

# A DATA_DIR given relative to where the script is run means that place, not the repository.
if [ -n "${DATA_DIR:-}" ] && [[ "$DATA_DIR" != /* ]]; then DATA_DIR="$PWD/$DATA_DIR"; fi
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

data_dir=${DATA_DIR:-./data}
store_port=${STORE_PORT:-8000}
read -r -a proxy_ports <<< "${PROXY_PORTS:-8111 8112 8113}"
secret=${DAX_CLUSTER_SECRET:-dax-local-cluster-secret}
profile=${CARGO_PROFILE:-release}

# A port already taken (a cluster still running, an orphaned store) would make its process
# here fail while the old one answered the health checks: the start would claim success.
for port in "$store_port" "${proxy_ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "local-cluster.sh: port $port is in use (another cluster still running?); stop it or set STORE_PORT/PROXY_PORTS" >&2
    exit 1
  fi
done

cargo build --profile "$profile" --bins
# Cargo keeps the dev profile's builds under `debug`.
bin=${CARGO_TARGET_DIR:-target}/$([ "$profile" = dev ] && echo debug || echo "$profile")

pids=()
# The nodes first (each finishes its requests and hands its lease back to the store), then
# the store.
cleanup() {
  # A second signal (a Ctrl-C repeated, a supervisor's TERM after the terminal's) must not
  # end the script half-way and leave the store running.
  trap '' INT TERM
  trap - EXIT
  for pid in "${pids[@]:1}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]:1}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${#pids[@]}" -gt 0 ]; then kill "${pids[0]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# wait_healthy PID ADDRESS: until the process PID answers /health at ADDRESS.
wait_healthy() {
  for _ in $(seq 1 100); do
    if ! kill -0 "$1" 2>/dev/null; then
      echo "local-cluster.sh: the process for $2 exited (see its error above)" >&2
      return 1
    fi
    if curl -fsS "http://$2/health" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "no answer from $2" >&2
  return 1
}

# Each in a session of its own, so that Ctrl-C (SIGINT to the terminal's whole process
# group) reaches this script alone: `cleanup` then asks each process once to stop, the
# nodes before the store. A node that got the terminal's SIGINT and then cleanup's SIGTERM
# took the second as "stop at once", cutting its requests off and keeping its lease.
setsid "$bin/store" --listen "127.0.0.1:$store_port" --data-dir "$data_dir" \
  --cluster-secret "$secret" &
pids+=($!)
wait_healthy "${pids[0]}" "127.0.0.1:$store_port"

for port in "${proxy_ports[@]}"; do
  setsid "$bin/dax-proxy" --listen "127.0.0.1:$port" --store "http://127.0.0.1:$store_port" \
    --cluster-secret "$secret" --cache-header &
  pids+=($!)
done
for i in "${!proxy_ports[@]}"; do
  wait_healthy "${pids[$((i + 1))]}" "127.0.0.1:${proxy_ports[$i]}"
done

cat <<MSG

Cluster up.
  SDK endpoint (any node):  http://127.0.0.1:${proxy_ports[0]}   (also: ${proxy_ports[*]:1})
  Store (direct):           http://127.0.0.1:$store_port
  Metrics:                  http://127.0.0.1:$store_port/metrics$(for p in "${proxy_ports[@]}"; do printf '  http://127.0.0.1:%s/metrics' "$p"; done)
  Data:                     $(case "${STORE_IN_MEMORY:-}" in true | 1 | yes | on) echo "in memory (STORE_IN_MEMORY)" ;; *) echo "$data_dir" ;; esac)
Ctrl-C stops everything.
MSG
wait
