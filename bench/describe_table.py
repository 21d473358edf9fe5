"""Times DescribeTable on a table of ITEMS items of 200 bytes with one GSI (ALL) added by
UpdateTable and backfilled: the median of 21 calls. Prints one markdown row.

Usage: describe_table.py STORE_BINARY LOADGEN_BINARY LABEL (env: ITEMS)."""

import os
import statistics
import subprocess
import sys
import time

import bench_store

binary, loadgen, label = sys.argv[1], sys.argv[2], sys.argv[3]
items = int(os.environ.get("ITEMS", "200000"))

with bench_store.running(binary, "describe-bench.") as (address, ddb):
    subprocess.run(
        ["taskset", "-c", "1", loadgen, "--endpoint", f"http://{address}", "--items", str(items),
         "--item-size", "200", "--preload", "--requests", "1", "--concurrency", "16"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
