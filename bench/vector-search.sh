#!/usr/bin/env bash
# SearchVectors latency (a search scores every entry of the index, or of one HASH value:
# its cost grows with the index) for one build, or two builds compared:
# `bench/vector-search.sh [A_STORE B_STORE]` (store binaries; default: this checkout's
# release build). The store runs on core 0.
# Env: ITEMS (20000), DIMENSIONS (256), SEARCHES (7, the median is reported).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python=$(python_with_boto3)
if [ $# -eq 0 ]; then
  build
  set -- "$BIN/store"
fi
echo "| build | index | items | dimensions | median search ms |"
echo "|---|---|---:|---:|---:|"
for binary in "$@"; do
  "$python" "$ROOT/bench/vector_search.py" "$binary" "$(basename "$(dirname "$binary")")/$(basename "$binary")"
done
