#!/usr/bin/env bash
# The cost of a stream read once the change log has been trimmed: a store keeping records
# RETENTION seconds (stream and feed retention alike) takes SECS seconds of PutItem at 32
# connections on ITEMS items, so trimming leaves hundreds of thousands of deletion markers
# at the log's head until compaction drops them. GetRecords (Limit 1, from LATEST) asks for
# the trim horizon on every call; its latency is timed against DescribeTable's (the round
# trip and request overhead) before the writes and after them.
#
# Env: SECS (40), RETENTION (5), ITEMS (10000), ITEM_SIZE (1024), CALLS (200), BENCH_PYTHON,
# CARGO_PROFILE (release), SKIP_BUILD=1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${SECS:-40}
RETENTION=${RETENTION:-5}
CALLS=${CALLS:-200}
build
PY=$(python_with_boto3)

start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store" \
  --stream-retention "$RETENTION" --feed-retention "$RETENTION"
echo "bench: store $URL" >&2

cat >"$TMP/probe.py" <<'PY'
import sys, time
import boto3

endpoint, mode, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench-secret")
ddb = boto3.client("dynamodb", **kw)
streams = boto3.client("dynamodbstreams", **kw)
if mode == "enable":
    ddb.update_table(TableName="loadgen", StreamSpecification={
        "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    sys.exit(0)
arn = ddb.describe_table(TableName="loadgen")["Table"]["LatestStreamArn"]
shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][-1]["ShardId"]
it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                ShardIteratorType="LATEST")["ShardIterator"]


def per_call_ms(call):
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls * 1e3


records = per_call_ms(lambda: streams.get_records(ShardIterator=it, Limit=1))
describe = per_call_ms(lambda: ddb.describe_table(TableName="loadgen"))
print(f"| {mode} | {records:.2f} | {describe:.2f} |")
PY

common=(--items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10 --distribution uniform)
load "$TMP/preload.json" --endpoint "$URL" "${common[@]}" --preload --requests 1 --concurrency 16
"$PY" "$TMP/probe.py" "$URL" enable 0
# The preload's records age past the retention and are trimmed.
sleep $((RETENTION + 2))
echo "| when | GetRecords ms per call | DescribeTable ms per call |"
echo "|---|---:|---:|"
"${CLIENT_CPU[@]}" "$PY" "$TMP/probe.py" "$URL" before "$CALLS"
load "$TMP/puts.json" --endpoint "$URL" "${common[@]}" --mix put=100 --concurrency 32 \
  --duration "$SECS"
sleep $((RETENTION + 3))
"${CLIENT_CPU[@]}" "$PY" "$TMP/probe.py" "$URL" after "$CALLS"
echo
echo "$(jq -r .ops_per_sec "$TMP/puts.json" | cut -d. -f1) puts/s during the writes;" \
  "$(curl -s "$URL/metrics" | awk '/^store_engine_entries\{part="changes"\}/ {print $2}')" \
  "entries (records and deletion markers) in the change log's keyspace after them."
