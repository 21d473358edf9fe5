// AWS SDK for JavaScript v3 smoke test: the calls a Node.js application makes, through the
// low-level client and the DocumentClient (lib-dynamodb), against ENDPOINT (argv[2]).
//
// Run by tests/tests/smoke.rs against the store and against a proxy node, with the modules
// tests/run.sh installs (`npm ci` here). Exits non-zero on the first failed check; prints
// "js smoke: ok" at the end.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  ExecuteStatementCommand,
  ExecuteTransactionCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  paginateQuery,
} from "@aws-sdk/lib-dynamodb";

const endpoint = process.argv[2];
assert.ok(endpoint, "usage: node smoke.mjs ENDPOINT");

const client = new DynamoDBClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDJSSMOKE", secretAccessKey: "js-smoke-secret" },
  maxAttempts: 2,
});
const docs = DynamoDBDocumentClient.from(client);
const table = `js-smoke-${randomUUID().slice(0, 8)}`;

async function expectError(name, call) {
  try {
    await call();
  } catch (e) {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    assert.equal(e.$metadata.httpStatusCode, 400);
    return e;
  }
  assert.fail(`expected ${name}, the call succeeded`);
}

async function waitActive(name) {
  for (let i = 0; i < 600; i++) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      if (Table.TableStatus === "ACTIVE" && Table.GlobalSecondaryIndexes.every((g) => g.IndexStatus === "ACTIVE")) {
        return Table;
      }
    } catch (e) {
      if (e.name !== "ResourceNotFoundException") throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`table ${name} never became ACTIVE`);
}

await client.send(
  new CreateTableCommand({
    TableName: table,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "N" },
      { AttributeName: "owner", AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: "byOwner",
        KeySchema: [{ AttributeName: "owner", KeyType: "HASH" }],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  }),
);
const described = await waitActive(table);
assert.equal(described.KeySchema[0].AttributeName, "pk");
assert.match(described.TableArn, new RegExp(`:table/${table}$`));

// Every type, through the DocumentClient's marshalling.
const item = {
  pk: "user#1",
  sk: 1,
  owner: "ann",
  name: "Ann",
  age: 41,
  ratio: 0.25,
  active: true,
  nothing: null,
  tags: new Set(["a", "b"]),
  scores: new Set([3, 1, 2]),
  blob: new Uint8Array([0, 1, 2, 255]),
  address: { city: "Oslo", lines: ["x", 7, { deep: true }] },
};
await docs.send(new PutCommand({ TableName: table, Item: item }));
const got = await docs.send(new GetCommand({ TableName: table, Key: { pk: "user#1", sk: 1 } }));
assert.deepEqual(got.Item, item);

// The same item through the low-level client: DynamoDB JSON as the store wrote it.
const raw = await client.send(
  new GetItemCommand({
    TableName: table,
    Key: { pk: { S: "user#1" }, sk: { N: "1" } },
    ProjectionExpression: "#n, address.#l[2], scores",
    ExpressionAttributeNames: { "#n": "name", "#l": "lines" },
  }),
);
assert.deepEqual(raw.Item.name, { S: "Ann" });
assert.deepEqual(raw.Item.address, { M: { lines: { L: [{ M: { deep: { BOOL: true } } }] } } });
assert.deepEqual([...raw.Item.scores.NS].sort(), ["1", "2", "3"]);

// Update expressions, ReturnValues.
const updated = await docs.send(
  new UpdateCommand({
    TableName: table,
    Key: { pk: "user#1", sk: 1 },
    UpdateExpression: "SET age = age + :one, address.city = :city REMOVE nothing ADD tags :t DELETE scores :s",
    ConditionExpression: "attribute_exists(pk) AND age < :limit",
    ExpressionAttributeValues: { ":one": 1, ":city": "Bergen", ":t": new Set(["c"]), ":s": new Set([3]), ":limit": 100 },
    ReturnValues: "ALL_NEW",
  }),
);
assert.equal(updated.Attributes.age, 42);
assert.equal(updated.Attributes.address.city, "Bergen");
assert.ok(!("nothing" in updated.Attributes));
assert.deepEqual(updated.Attributes.tags, new Set(["a", "b", "c"]));
assert.deepEqual(updated.Attributes.scores, new Set([1, 2]));

// A failed condition: the SDK's modeled exception, with the old item when asked for it.
const failed = await expectError("ConditionalCheckFailedException", () =>
  docs.send(
    new PutCommand({
      TableName: table,
      Item: { pk: "user#1", sk: 1, name: "Impostor" },
      ConditionExpression: "attribute_not_exists(pk)",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    }),
  ),
);
assert.deepEqual(failed.Item.name, { S: "Ann" });

// BatchWrite 25 items, then BatchGet them back.
const many = Array.from({ length: 25 }, (_, i) => ({ pk: "batch", sk: i, owner: i % 2 ? "bob" : "cy", n: i * i }));
const written = await docs.send(
  new BatchWriteCommand({ RequestItems: { [table]: many.map((Item) => ({ PutRequest: { Item } })) } }),
);
assert.deepEqual(written.UnprocessedItems, {});
const batch = await docs.send(
  new BatchGetCommand({
    RequestItems: { [table]: { Keys: many.slice(0, 10).map(({ pk, sk }) => ({ pk, sk })) } },
  }),
);
assert.equal(batch.Responses[table].length, 10);
assert.deepEqual(
  batch.Responses[table].map((i) => i.n).sort((a, b) => a - b),
  many.slice(0, 10).map((i) => i.n),
);

// Query: key condition, direction, Limit and pagination, filter, count.
const newest = await docs.send(
  new QueryCommand({
    TableName: table,
    KeyConditionExpression: "pk = :p AND sk BETWEEN :lo AND :hi",
    ExpressionAttributeValues: { ":p": "batch", ":lo": 5, ":hi": 14 },
    ScanIndexForward: false,
    Limit: 3,
  }),
);
assert.deepEqual(newest.Items.map((i) => i.sk), [14, 13, 12]);
assert.deepEqual(newest.LastEvaluatedKey, { pk: "batch", sk: 12 });
const pages = [];
for await (const page of paginateQuery(
  { client: docs, pageSize: 4 },
  {
    TableName: table,
    KeyConditionExpression: "pk = :p",
    FilterExpression: "n >= :min",
    ExpressionAttributeValues: { ":p": "batch", ":min": 100 },
  },
)) {
  pages.push(page);
}
assert.equal(pages.reduce((sum, p) => sum + p.ScannedCount, 0), 25);
assert.deepEqual(pages.flatMap((p) => p.Items.map((i) => i.sk)), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);

// The global secondary index.
const bobs = await docs.send(
  new QueryCommand({
    TableName: table,
    IndexName: "byOwner",
    KeyConditionExpression: "#o = :o",
    ExpressionAttributeNames: { "#o": "owner" },
    ExpressionAttributeValues: { ":o": "bob" },
    Select: "COUNT",
  }),
);
assert.equal(bobs.Count, 12);

// Scan with a filter, parallel segments covering the table once.
let scanned = 0;
let matched = 0;
for (const Segment of [0, 1]) {
  let ExclusiveStartKey;
  do {
    const page = await docs.send(
      new ScanCommand({
        TableName: table,
        Segment,
        TotalSegments: 2,
        FilterExpression: "attribute_exists(n) AND n < :max",
        ExpressionAttributeValues: { ":max": 50 },
        ExclusiveStartKey,
      }),
    );
    scanned += page.ScannedCount;
    matched += page.Count;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
}
assert.equal(scanned, 26);
assert.equal(matched, 8);

// Transactions: one that commits, one that is cancelled with its reasons.
await docs.send(
  new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: table, Item: { pk: "txn", sk: 1, v: "a" } } },
      { Update: { TableName: table, Key: { pk: "batch", sk: 0 }, UpdateExpression: "SET v = :v", ExpressionAttributeValues: { ":v": "t" } } },
    ],
  }),
);
const cancelled = await expectError("TransactionCanceledException", () =>
  docs.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: table, Item: { pk: "txn", sk: 2, v: "b" } } },
        { ConditionCheck: { TableName: table, Key: { pk: "txn", sk: 1 }, ConditionExpression: "v = :x", ExpressionAttributeValues: { ":x": "zzz" } } },
      ],
    }),
  ),
);
assert.deepEqual(
  cancelled.CancellationReasons.map((r) => r.Code),
  ["None", "ConditionalCheckFailed"],
);
const absent = await docs.send(new GetCommand({ TableName: table, Key: { pk: "txn", sk: 2 }, ConsistentRead: true }));
assert.equal(absent.Item, undefined);

// Delete with the old image; errors a client branches on.
const deleted = await docs.send(
  new DeleteCommand({ TableName: table, Key: { pk: "txn", sk: 1 }, ReturnValues: "ALL_OLD" }),
);
assert.equal(deleted.Attributes.v, "a");
await expectError("ValidationException", () =>
  docs.send(new UpdateCommand({ TableName: table, Key: { pk: "batch", sk: 1 }, UpdateExpression: "SET = oops" })),
);
await expectError("ResourceNotFoundException", () =>
  docs.send(new GetCommand({ TableName: `${table}-missing`, Key: { pk: "x", sk: 1 } })),
);

// PartiQL through the DocumentClient (native values marshalled as parameters).
await docs.send(
  new ExecuteStatementCommand({
    Statement: `INSERT INTO "${table}" VALUE {'pk': ?, 'sk': ?, 'tags': ?, 'doc': ?}`,
    Parameters: ["ql", 1, new Set(["a"]), { nested: [1, "two"] }],
  }),
);
await expectError("DuplicateItemException", () =>
  docs.send(new ExecuteStatementCommand({ Statement: `INSERT INTO "${table}" VALUE {'pk': 'ql', 'sk': 1}` })),
);
await docs.send(
  new ExecuteTransactionCommand({
    TransactStatements: [
      // A guard on another item (one transaction may not name an item twice); DynamoDB
      // wants a condition beyond the key in an EXISTS.
      { Statement: `EXISTS(SELECT * FROM "${table}" WHERE pk = ? AND sk = ? AND owner = ?)`, Parameters: ["batch", 0, "cy"] },
      { Statement: `UPDATE "${table}" SET n = ? WHERE pk = 'ql' AND sk = 1`, Parameters: [7] },
    ],
  }),
);
const selected = await docs.send(
  new ExecuteStatementCommand({ Statement: `SELECT * FROM "${table}" WHERE pk = ?`, Parameters: ["ql"], ConsistentRead: true }),
);
assert.equal(selected.Items.length, 1);
assert.equal(selected.Items[0].n, 7);
assert.deepEqual(selected.Items[0].doc, { nested: [1, "two"] });
assert.ok(selected.Items[0].tags.has("a"));

await client.send(new DeleteTableCommand({ TableName: table }));
console.log("js smoke: ok");
