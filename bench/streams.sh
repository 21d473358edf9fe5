#!/usr/bin/env bash
# DynamoDB Streams read throughput and trigger end-to-end latency against the store.
#
# 1. Stream reads: ITEMS items of ITEM_SIZE bytes are written (BatchWriteItem) into one table
#    per view type (KEYS_ONLY, NEW_AND_OLD_IMAGES); then one reader drains the shard from
#    TRIM_HORIZON with GetRecords (Limit 1000, 1 MB pages). Requests are SigV4-signed with
#    botocore and the body parsed with the stdlib json module, so the number is the store's
#    (plus HTTP and JSON), not boto3's object building.
# 2. Trigger latency: a webhook (Python ThreadingHTTPServer on 127.0.0.1) receives a trigger
#    with BatchSize 100 and no batching window while one client writes WRITES items one at a
#    time; latency = webhook receipt − the moment the PutItem was sent, per record.
#
# Prints a markdown table (for BENCHMARKS.md). The store runs pinned to core 0, the client to
# core 1 (see lib.sh).
# Env: ITEMS (10000), ITEM_SIZE (1024), WRITES (2000), BENCH_PYTHON (a python with boto3;
# default: the acceptance venv, else a venv made under bench/.venv), CARGO_PROFILE (release),
# SKIP_BUILD=1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WRITES=${WRITES:-2000}
build

PY=$(python_with_boto3)

start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store"
echo "bench: store $URL" >&2

cat >"$TMP/streams_bench.py" <<'PY'
import json, sys, threading, time, urllib.request, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, items, item_size, writes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
creds = Credentials("AKIDBENCH", "bench-secret")
ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench-secret")


def raw(target, body):
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=endpoint + "/", data=data, headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(creds, "dynamodb", "us-east-1").add_auth(req)
    http = urllib.request.Request(endpoint + "/", data=data, headers=dict(req.headers), method="POST")
    with urllib.request.urlopen(http) as resp:
        return resp.read()


def table_with_stream(view):
    name = f"bench_{view.lower()}_{uuid.uuid4().hex[:6]}"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    while ddb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.05)
    return name, ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


rows = []
filler = "x" * max(1, item_size - 40)
for view in ("KEYS_ONLY", "NEW_AND_OLD_IMAGES"):
    name, arn = table_with_stream(view)
    for start in range(0, items, 25):
        batch = [{"PutRequest": {"Item": {"pk": {"S": f"k{i:08d}"}, "data": {"S": filler}}}}
                 for i in range(start, min(items, start + 25))]
        pending = {name: batch}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    desc = json.loads(raw("DynamoDBStreams_20120810.DescribeStream", {"StreamArn": arn}))
    shard = desc["StreamDescription"]["Shards"][0]["ShardId"]
    it = json.loads(raw("DynamoDBStreams_20120810.GetShardIterator",
                        {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}))["ShardIterator"]
    got, nbytes, calls = 0, 0, 0
    t0 = time.perf_counter()
    while it and got < items:
        body = raw("DynamoDBStreams_20120810.GetRecords", {"ShardIterator": it, "Limit": 1000})
        page = json.loads(body)
        calls += 1
        nbytes += len(body)
        got += len(page["Records"])
        it = page.get("NextShardIterator")
    elapsed = time.perf_counter() - t0
    rows.append((f"stream read, {view}, {items} records of ~{item_size} B",
                 f"{got / elapsed:,.0f} records/s ({nbytes / elapsed / 1e6:.1f} MB/s, {calls} GetRecords calls)"))

# Trigger latency.
received = {}
lock = threading.Lock()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        now = time.time()
        event = json.loads(body)
        with lock:
            for r in event["Records"]:
                received.setdefault(r["dynamodb"]["Keys"]["pk"]["S"], now)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
name, arn = table_with_stream("NEW_IMAGE")
req = urllib.request.Request(endpoint + "/triggers", method="POST",
                             headers={"x-dax-cluster-secret": "dax-local-cluster-secret"},
                             data=json.dumps({"TriggerName": "bench", "TableName": name,
                                              "Url": f"http://127.0.0.1:{server.server_port}/hook",
                                              "BatchSize": 100, "StartingPosition": "LATEST"}).encode())
urllib.request.urlopen(req).read()
time.sleep(1.0)  # the dispatcher picks new triggers up within 0.5 s
sent = {}
for i in range(writes):
    key = f"w{i:08d}"
    sent[key] = time.time()
    raw("DynamoDB_20120810.PutItem", {"TableName": name, "Item": {"pk": {"S": key}, "v": {"N": str(i)}}})
deadline = time.time() + 60
while time.time() < deadline:
    with lock:
        if len(received) >= writes:
            break
    time.sleep(0.05)
lat = [(received[k] - sent[k]) * 1000 for k in sent if k in received]
rows.append((f"trigger end-to-end latency, {writes} sequential writes, p50", f"{percentile(lat, 50):.1f} ms"))
rows.append((f"trigger end-to-end latency, p99", f"{percentile(lat, 99):.1f} ms"))
rows.append(("trigger records delivered", f"{len(lat)} of {writes}"))
server.shutdown()

print("## DynamoDB Streams and triggers (store)")
print()
print("| measure | result |")
print("|---|---|")
for k, v in rows:
    print(f"| {k} | {v} |")
PY

"${CLIENT_CPU[@]}" "$PY" "$TMP/streams_bench.py" "$URL" "$ITEMS" "$ITEM_SIZE" "$WRITES"
