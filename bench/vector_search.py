"""Times SearchVectors against one store: ITEMS items of DIMENSIONS random components and
a 500-byte text attribute, on a KEYS_ONLY COSINE index and on one with a HASH search schema
(10 tenants), TopK 10. Prints one markdown row per index: the median of SEARCHES searches.

Usage: vector_search.py STORE_BINARY LABEL (env: ITEMS, DIMENSIONS, SEARCHES)."""

import os
import random
import statistics
import sys
import time

import bench_store

binary, label = sys.argv[1], sys.argv[2]
items = int(os.environ.get("ITEMS", "20000"))
dimensions = int(os.environ.get("DIMENSIONS", "256"))
searches = int(os.environ.get("SEARCHES", "7"))

with bench_store.running(binary, "vector-bench.") as (_, ddb):
    random.seed(1)
    vector = lambda: [{"N": f"{random.random():.6f}"} for _ in range(dimensions)]
    ddb.create_table(
        TableName="vectors", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "tenant")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        VectorIndexes=[
            {"IndexName": "plain", "VectorAttribute": {"AttributeName": "v"},
             "Dimensions": dimensions, "DistanceFunction": "COSINE",
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "by_tenant", "VectorAttribute": {"AttributeName": "v"},
             "Dimensions": dimensions, "DistanceFunction": "COSINE",
             "Projection": {"ProjectionType": "KEYS_ONLY"},
             "SearchSchema": [{"AttributeName": "tenant", "SearchSchemaElementType": "HASH"}]},
        ])
    for first in range(0, items, 25):
        puts = [{"PutRequest": {"Item": {
            "pk": {"S": f"k{i}"}, "tenant": {"S": f"t{i % 10}"}, "text": {"S": "x" * 500},
            "v": {"L": vector()}}}} for i in range(first, min(first + 25, items))]
        ddb.batch_write_item(RequestItems={"vectors": puts})
    query = vector()
    for index, condition in (("plain", {}), ("by_tenant", {
            "SearchConditionExpression": "tenant = :t",
            "ExpressionAttributeValues": {":t": {"S": "t3"}}})):
        times = []
        for _ in range(searches):
            started = time.perf_counter()
            ddb.search_vectors(TableName="vectors", IndexName=index, SearchVector=query,
                               TopK=10, **condition)
            times.append((time.perf_counter() - started) * 1000)
        print(f"| {label} | {index} | {items} | {dimensions} | {statistics.median(times):.1f} |")
