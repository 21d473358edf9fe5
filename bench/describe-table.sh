#!/usr/bin/env bash
# DescribeTable latency on a table with a GSI (its ItemCount and IndexSizeBytes are kept
# with every commit, not counted per call) for one build, or two compared:
# `bench/describe-table.sh [A_DIR B_DIR]` (directories holding `store` and `dax-loadgen`;
# default: this checkout's release build). The store runs on core 0. Env: ITEMS (200000).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python=$(python_with_boto3)
if [ $# -eq 0 ]; then
  build
  set -- "$BIN"
fi
echo "| build | items | index ItemCount | median DescribeTable ms |"
echo "|---|---:|---:|---:|"
for dir in "$@"; do
  "$python" "$ROOT/bench/describe_table.py" "$dir/store" "$dir/dax-loadgen" "$(basename "$(dirname "$dir")")"
done
