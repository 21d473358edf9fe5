#!/usr/bin/env bash
# Durable PutItem throughput on a plain table against a table carrying 2 GSIs and 1 LSI
# (issue 3: "within 2x of without"). Every item the load generator writes has pk (S), sk (N)
# and payload (S), so every put writes three index entries: GSI by_sk (sk, pk; ALL),
# GSI sk_only (sk; KEYS_ONLY), LSI by_payload (pk, payload; KEYS_ONLY). Store pinned to core
# 0, load generator to core 1, same run.
#
# Env: DURATION (4), CONNS ("1 16 64"), ITEMS (10000), ITEM_SIZE (1024), SKIP_BUILD=1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=${OUT:-$ROOT/bench/out/indexes-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
build
start store "store listening on" "$BIN/store" --listen 127.0.0.1:0 --data-dir "$TMP/store"
STORE=$URL

# The store checks that a SigV4 header is present (it verifies signatures only when started
# with --credentials-file, which this benchmark does not use).
curl -fsS "$STORE/" -H 'x-amz-target: DynamoDB_20120810.CreateTable' \
  -H 'content-type: application/x-amz-json-1.0' \
  -H 'authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
  -d '{"TableName":"indexed","BillingMode":"PAY_PER_REQUEST",
       "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},{"AttributeName":"payload","AttributeType":"S"}],
       "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
       "GlobalSecondaryIndexes":[
         {"IndexName":"by_sk","KeySchema":[{"AttributeName":"sk","KeyType":"HASH"},{"AttributeName":"pk","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}},
         {"IndexName":"sk_only","KeySchema":[{"AttributeName":"sk","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}],
       "LocalSecondaryIndexes":[
         {"IndexName":"by_payload","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"payload","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]}' \
  >/dev/null

common=(--items "$ITEMS" --item-size "$ITEM_SIZE" --partition-size 10 --distribution uniform)
echo "## durable PutItem: plain table vs 2 GSIs + 1 LSI ($ITEMS items of $ITEM_SIZE B, ${DURATION}s per point)"
echo
table_header
for c in $CONNS; do
  load "$OUT/plain-c$c.json" --endpoint "$STORE" --table plain "${common[@]}" \
    --mix put=100 --concurrency "$c" --duration "$DURATION"
  load "$OUT/indexed-c$c.json" --endpoint "$STORE" --table indexed "${common[@]}" \
    --mix put=100 --concurrency "$c" --duration "$DURATION"
  row "plain table put" "$c" "$OUT/plain-c$c.json" "$OUT/plain-c$c.json"
  row "2 GSI + 1 LSI put" "$c" "$OUT/indexed-c$c.json" "$OUT/plain-c$c.json"
done
