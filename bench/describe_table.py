"""Times DescribeTable on a table of ITEMS items of 200 bytes with one GSI (ALL) added by
UpdateTable and backfilled: the median of 21 calls. Prints one markdown row.

Usage: describe_table.py STORE_BINARY LOADGEN_BINARY LABEL (env: ITEMS)."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import boto3

binary, loadgen, label = sys.argv[1], sys.argv[2], sys.argv[3]
items = int(os.environ.get("ITEMS", "200000"))

data = tempfile.mkdtemp(prefix="describe-bench.")
env = dict(os.environ, STORE_TABLE_MAX_CAPACITY_UNITS="1000000000")
store = subprocess.Popen(
    ["taskset", "-c", "0", binary, "--listen", "127.0.0.1:0", "--data-dir", data],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
try:
    address = store.stdout.readline().split()[-1]
    subprocess.run(
        ["taskset", "-c", "1", loadgen, "--endpoint", f"http://{address}", "--items", str(items),
         "--item-size", "200", "--preload", "--requests", "1", "--concurrency", "16"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ddb = boto3.client("dynamodb", endpoint_url=f"http://{address}", region_name="us-east-1",
                       aws_access_key_id="bench", aws_secret_access_key="bench")
    ddb.update_table(
        TableName="loadgen",
        AttributeDefinitions=[{"AttributeName": "sk", "AttributeType": "N"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "by_sk",
            "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}}])
    while ddb.describe_table(TableName="loadgen")["Table"]["GlobalSecondaryIndexes"][0][
            "IndexStatus"] != "ACTIVE":
        time.sleep(0.5)
    times = []
    for _ in range(21):
        start = time.perf_counter()
        table = ddb.describe_table(TableName="loadgen")["Table"]
        times.append((time.perf_counter() - start) * 1000)
    count = table["GlobalSecondaryIndexes"][0]["ItemCount"]
    print(f"| {label} | {items} | {count} | {statistics.median(times):.2f} |")
finally:
    store.kill()
    store.wait()
    shutil.rmtree(data, ignore_errors=True)
