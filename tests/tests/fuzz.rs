//! Mutation fuzzing over the wire: valid requests for every data-plane operation, mutated at
//! random (members dropped or added, values of the wrong type or shape, expressions and
//! numbers cut or spliced), sent in turn to the store and to a proxy node in front of it.
//!
//! Every answer must be a success or a 4xx with DynamoDB's error JSON, never a 5xx, a dropped
//! connection or a message that shows our internals; both processes must keep serving; and
//! afterwards the proxy must serve every seeded item exactly as the store holds it, whatever
//! mix of accepted and refused writes reached either of them. The table has a resource
//! policy with conditions on `dynamodb:LeadingKeys` and `dynamodb:Attributes`, so every
//! request is also read for those.
//!
//! Deterministic: `FUZZ_SEED` replays a run (the failure message prints the seed and the
//! request), `FUZZ_CASES` sets how many requests are sent.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use integration_tests::serde_json::{json, Map, Value};
use integration_tests::*;

const TABLE: &str = "fuzzed";

/// The store's and the proxy's limit on a request body.
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings a parser of this API should find interesting: expression fragments, names and
/// placeholders, enum values, numbers out of range, odd Unicode, base64 and not.
const STRINGS: &[&str] = &[
    "",
    " ",
    "#",
    ":",
    "#n",
    ":v",
    ":missing",
    "#missing",
    "pk",
    "sk",
    "a.b[0]",
    "a[99999999999]",
    "[",
    "(",
    ")",
    "pk = :v",
    "pk = :v AND sk BETWEEN :lo AND :hi",
    "pk = :v AND begins_with(sk, :v)",
    "SET #n = :v",
    "SET a = list_append(a, :v), b = if_not_exists(b, :v) + :v",
    "REMOVE a, b[1], #n.c",
    "ADD n :v DELETE s :v",
    "attribute_exists(pk) AND NOT attribute_type(a, :v)",
    "size(#n) > :v OR contains(a, :v)",
    "a IN (:v, :v, :v)",
    "a, b, #n.c[2]",
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
    "COUNT",
    "SPECIFIC_ATTRIBUTES",
    "ALL_OLD",
    "ALL_NEW",
    "UPDATED_OLD",
    "UPDATED_NEW",
    "NONE",
    "TOTAL",
    "INDEXES",
    "SIZE",
    "EQ",
    "BETWEEN",
    "BEGINS_WITH",
    "IN",
    "CONTAINS",
    "NOT_NULL",
    "AND",
    "OR",
    "PUT",
    "DELETE",
    "by_g",
    "by_l",
    TABLE,
    "1",
    "-0",
    "1e126",
    "1e-131",
    "99999999999999999999999999999999999999999",
    "0.000000000000000000000000000000000000001",
    "NaN",
    "Infinity",
    "1.",
    ".5",
    "0x10",
    "dGVzdA==",
    "!!not base64",
    "\u{0}",
    "\u{FFFF}",
    "😀",
    "é",
];

/// Member names worth adding where they do not belong.
const NAMES: &[&str] = &[
    "S",
    "N",
    "B",
    "SS",
    "NS",
    "BS",
    "M",
    "L",
    "NULL",
    "BOOL",
    "TableName",
    "Key",
    "Item",
    "Limit",
    "ExclusiveStartKey",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ConditionExpression",
    "ProjectionExpression",
    "FilterExpression",
    "KeyConditionExpression",
    "UpdateExpression",
    "AttributesToGet",
    "Expected",
    "KeyConditions",
    "ScanFilter",
    "QueryFilter",
    "AttributeUpdates",
    "ConditionalOperator",
    "IndexName",
    "Select",
    "Segment",
    "TotalSegments",
    "ConsistentRead",
    "ScanIndexForward",
    "ReturnValues",
    "ReturnConsumedCapacity",
    "ReturnItemCollectionMetrics",
    "ReturnValuesOnConditionCheckFailure",
    "RequestItems",
    "TransactItems",
    "ClientRequestToken",
    "Keys",
    "PutRequest",
    "DeleteRequest",
    "ComparisonOperator",
    "AttributeValueList",
    "Value",
    "Exists",
    "Action",
    "pk",
    "sk",
    "",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let choice = if depth > 2 {
        rng.below(6)
    } else {
        rng.below(9)
    };
    match choice {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => {
            let numbers = [
                json!(0),
                json!(-1),
                json!(1),
                json!(25),
                json!(26),
                json!(100),
                json!(101),
                json!(1.5),
                json!(1e300),
                json!(u64::MAX),
                json!(i64::MIN),
            ];
            rng.pick(&numbers).clone()
        }
        3..=5 => Value::String(random_string(rng)),
        6 => {
            let tag = *rng.pick(&["S", "N", "B", "SS", "NS", "BS", "NULL", "BOOL", "L", "M"]);
            let inner = random_value(rng, depth + 1);
            json!({ tag: inner })
        }
        7 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                map.insert(rng.pick(NAMES).to_string(), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

fn random_string(rng: &mut Rng) -> String {
    match rng.below(10) {
        // Now and then something long: over key and expression size limits.
        0 => "x".repeat(*rng.pick(&[1025, 2049, 4097, 70_000])),
        1 => format!("{}{}", rng.pick(STRINGS), rng.pick(STRINGS)),
        _ => rng.pick(STRINGS).to_string(),
    }
}

/// A path to a node: member names and array indexes from the root.
#[derive(Clone)]
enum Step {
    Member(String),
    Index(usize),
}

fn paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (name, child) in map {
                prefix.push(Step::Member(name.clone()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(Step::Index(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node_at<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |node, step| match step {
        Step::Member(name) => &mut node[name.as_str()],
        Step::Index(i) => &mut node[*i],
    })
}

/// Applies one random mutation at a random node of `request`.
fn mutate(rng: &mut Rng, request: &mut Value) {
    let mut all = Vec::new();
    paths(request, &mut Vec::new(), &mut all);
    let path = rng.pick(&all).clone();
    let node = node_at(request, &path);
    match (rng.below(4), node) {
        (0, Value::Object(map)) if !map.is_empty() => {
            let name = map.keys().nth(rng.below(map.len())).cloned().unwrap();
            map.remove(&name);
        }
        (1, Value::Object(map)) => {
            let value = random_value(rng, 1);
            map.insert(rng.pick(NAMES).to_string(), value);
        }
        (0 | 1, Value::Array(items)) if !items.is_empty() => {
            let i = rng.below(items.len());
            if rng.below(2) == 0 {
                items.remove(i);
            } else {
                let copy = items[i].clone();
                items.push(copy);
            }
        }
        (2, Value::Array(items)) if !items.is_empty() => {
            // Past the batch, transaction and set limits.
            let copy = items[rng.below(items.len())].clone();
            items.resize(*rng.pick(&[26, 101, 1001]), copy);
        }
        (0 | 1, Value::String(text)) => {
            // Cut at a character boundary, or splice in a fragment.
            let cut = text
                .char_indices()
                .map(|(i, _)| i)
                .nth(rng.below(text.chars().count() + 1))
                .unwrap_or(text.len());
            text.truncate(cut);
            if rng.below(2) == 0 {
                let fragment: &&str = rng.pick(STRINGS);
                text.push_str(fragment);
            }
        }
        (_, node) => *node = random_value(rng, path.len()),
    }
}

/// Valid requests for every data-plane operation on the fuzzed table, and a few control-plane
/// ones that cannot take the table away (no DeleteTable or UpdateTable: the last check needs
/// it as it was).
fn corpus(arns: &Arns) -> Vec<(String, Value)> {
    let key = json!({ "pk": { "S": "p1" }, "sk": { "N": "2" } });
    let names = json!({ "#n": "name" });
    let dynamodb = [
        (
            "PutItem",
            json!({
                "TableName": TABLE,
                "Item": {
                    "pk": { "S": "p1" }, "sk": { "N": "2" }, "name": { "S": "x" },
                    "g": { "S": "g1" }, "l": { "N": "5" }, "n": { "N": "1" },
                    "s": { "SS": ["a", "b"] }, "b": { "B": "dGVzdA==" },
                    "a": { "L": [{ "N": "1" }, { "M": { "c": { "BOOL": true } } }] }
                },
                "ConditionExpression": "attribute_not_exists(pk) OR #n <> :v",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": { ":v": { "S": "y" } },
                "ReturnValues": "ALL_OLD"
            }),
        ),
        (
            "GetItem",
            json!({
                "TableName": TABLE, "Key": key,
                "ProjectionExpression": "#n, a[1].c, s",
                "ExpressionAttributeNames": names
            }),
        ),
        ("GetItem", json!({ "TableName": TABLE, "Key": key })),
        (
            "UpdateItem",
            json!({
                "TableName": TABLE, "Key": key,
                "UpdateExpression": "SET #n = :v, a[0] = if_not_exists(n, :one) ADD n :one DELETE s :s REMOVE b",
                "ConditionExpression": "attribute_exists(pk) AND size(s) >= :one",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": { ":v": { "S": "z" }, ":one": { "N": "1" }, ":s": { "SS": ["a"] } },
                "ReturnValues": "UPDATED_NEW"
            }),
        ),
        (
            "UpdateItem",
            json!({
                "TableName": TABLE, "Key": key,
                "AttributeUpdates": { "n": { "Action": "ADD", "Value": { "N": "2" } } },
                "Expected": { "pk": { "Exists": true, "Value": { "S": "p1" } } }
            }),
        ),
        (
            "DeleteItem",
            json!({
                "TableName": TABLE,
                "Key": { "pk": { "S": "p2" }, "sk": { "N": "1" } },
                "ConditionExpression": "n < :v",
                "ExpressionAttributeValues": { ":v": { "N": "100" } },
                "ReturnValues": "ALL_OLD",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"
            }),
        ),
        (
            "Query",
            json!({
                "TableName": TABLE,
                "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
                "FilterExpression": "contains(s, :a) OR n > :lo",
                "ExpressionAttributeValues": {
                    ":p": { "S": "p1" }, ":lo": { "N": "0" }, ":hi": { "N": "9" }, ":a": { "S": "a" }
                },
                "Limit": 3, "ScanIndexForward": false, "Select": "ALL_ATTRIBUTES",
                "ExclusiveStartKey": { "pk": { "S": "p1" }, "sk": { "N": "9" } }
            }),
        ),
        (
            "Query",
            json!({
                "TableName": TABLE, "IndexName": "by_g",
                "KeyConditions": { "g": { "ComparisonOperator": "EQ", "AttributeValueList": [{ "S": "g1" }] } },
                "QueryFilter": { "n": { "ComparisonOperator": "GE", "AttributeValueList": [{ "N": "0" }] } },
                "Select": "COUNT"
            }),
        ),
        (
            "Query",
            json!({
                "TableName": TABLE, "IndexName": "by_l",
                "KeyConditionExpression": "pk = :p AND l > :z",
                "ExpressionAttributeValues": { ":p": { "S": "p1" }, ":z": { "N": "0" } },
                "ProjectionExpression": "pk, l"
            }),
        ),
        (
            "Scan",
            json!({
                "TableName": TABLE, "Segment": 1, "TotalSegments": 3, "Limit": 5,
                "FilterExpression": "attribute_type(a, :t)",
                "ExpressionAttributeValues": { ":t": { "S": "L" } }
            }),
        ),
        (
            "Scan",
            json!({
                "TableName": TABLE, "IndexName": "by_g",
                "ScanFilter": { "g": { "ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{ "S": "g" }] } },
                "ConditionalOperator": "OR", "AttributesToGet": ["pk", "g"]
            }),
        ),
        (
            "BatchGetItem",
            json!({
                "RequestItems": { TABLE: {
                    "Keys": [key, { "pk": { "S": "p3" }, "sk": { "N": "0" } }],
                    "ProjectionExpression": "pk, sk, #n",
                    "ExpressionAttributeNames": names
                } }
            }),
        ),
        (
            "BatchWriteItem",
            json!({
                "RequestItems": { TABLE: [
                    { "PutRequest": { "Item": { "pk": { "S": "p3" }, "sk": { "N": "1" }, "g": { "S": "g2" } } } },
                    { "DeleteRequest": { "Key": { "pk": { "S": "p4" }, "sk": { "N": "0" } } } }
                ] }
            }),
        ),
        (
            "TransactWriteItems",
            json!({
                "ClientRequestToken": "token-1",
                "TransactItems": [
                    { "Put": { "TableName": TABLE, "Item": { "pk": { "S": "p5" }, "sk": { "N": "0" } } } },
                    { "Update": { "TableName": TABLE, "Key": key, "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": { ":one": { "N": "1" } } } },
                    { "ConditionCheck": { "TableName": TABLE, "Key": { "pk": { "S": "p2" }, "sk": { "N": "0" } },
                        "ConditionExpression": "attribute_exists(pk)" } },
                    { "Delete": { "TableName": TABLE, "Key": { "pk": { "S": "p4" }, "sk": { "N": "1" } } } }
                ]
            }),
        ),
        (
            "TransactGetItems",
            json!({
                "TransactItems": [
                    { "Get": { "TableName": TABLE, "Key": key, "ProjectionExpression": "n" } },
                    { "Get": { "TableName": TABLE, "Key": { "pk": { "S": "p0" }, "sk": { "N": "0" } } } }
                ]
            }),
        ),
        ("DescribeTable", json!({ "TableName": TABLE })),
        ("DescribeTimeToLive", json!({ "TableName": TABLE })),
        (
            "ListTables",
            json!({ "Limit": 2, "ExclusiveStartTableName": "a" }),
        ),
        (
            "CreateTable",
            json!({
                "TableName": "fuzzed-new",
                "BillingMode": "PROVISIONED",
                "ProvisionedThroughput": { "ReadCapacityUnits": 5, "WriteCapacityUnits": 5 },
                "AttributeDefinitions": [
                    { "AttributeName": "pk", "AttributeType": "B" },
                    { "AttributeName": "g", "AttributeType": "N" }
                ],
                "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
                "GlobalSecondaryIndexes": [{
                    "IndexName": "by_g",
                    "KeySchema": [{ "AttributeName": "g", "KeyType": "HASH" }],
                    "Projection": { "ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"] },
                    "ProvisionedThroughput": { "ReadCapacityUnits": 1, "WriteCapacityUnits": 1 }
                }],
                "StreamSpecification": { "StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES" }
            }),
        ),
        (
            "TagResource",
            json!({ "ResourceArn": arns.table, "Tags": [{ "Key": "k", "Value": "v" }] }),
        ),
        ("ListTagsOfResource", json!({ "ResourceArn": arns.table })),
        (
            "UntagResource",
            json!({ "ResourceArn": arns.table, "TagKeys": ["k", "other"] }),
        ),
        ("ListBackups", json!({ "TableName": TABLE, "Limit": 5 })),
        ("DescribeContinuousBackups", json!({ "TableName": TABLE })),
        (
            "UpdateContributorInsights",
            json!({ "TableName": TABLE, "IndexName": "by_g", "ContributorInsightsAction": "ENABLE",
                    "ContributorInsightsMode": "ACCESSED_AND_THROTTLED_KEYS" }),
        ),
        (
            "DescribeContributorInsights",
            json!({ "TableName": TABLE, "IndexName": "by_g" }),
        ),
        (
            "ExportTableToPointInTime",
            json!({ "TableArn": arns.table, "S3Bucket": "fuzz-bucket", "S3Prefix": "nightly/x",
                    "ExportFormat": "DYNAMODB_JSON", "ClientToken": "fuzz-1" }),
        ),
        (
            "ExportTableToPointInTime",
            json!({ "TableArn": arns.table, "S3Bucket": "fuzz-bucket", "ExportType": "INCREMENTAL_EXPORT",
                    "IncrementalExportSpecification": { "ExportFromTime": 1_700_000_000.5,
                        "ExportToTime": 1_700_001_000, "ExportViewType": "NEW_IMAGE" } }),
        ),
        (
            "ExportTableToPointInTime",
            json!({ "TableArn": arns.table, "S3Bucket": "fuzz-bucket", "ExportFormat": "ION" }),
        ),
        (
            "ListExports",
            json!({ "TableArn": arns.table, "MaxResults": 2 }),
        ),
        (
            "ImportTable",
            json!({
                "S3BucketSource": { "S3Bucket": "fuzz-bucket", "S3KeyPrefix": "ion/" },
                "InputFormat": "ION",
                "InputCompressionType": "ZSTD",
                "TableCreationParameters": {
                    "TableName": "fuzzed-ion-import",
                    "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
                    "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
                    "BillingMode": "PAY_PER_REQUEST"
                }
            }),
        ),
        (
            "ImportTable",
            json!({
                "S3BucketSource": { "S3Bucket": "fuzz-bucket", "S3KeyPrefix": "seed/" },
                "InputFormat": "CSV",
                "InputFormatOptions": { "Csv": { "Delimiter": ";", "HeaderList": ["pk", "v"] } },
                "InputCompressionType": "NONE",
                "TableCreationParameters": {
                    "TableName": "fuzzed-import",
                    "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
                    "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
                    "BillingMode": "PAY_PER_REQUEST"
                }
            }),
        ),
        ("ListImports", json!({ "PageSize": 3 })),
        (
            "StartBulkPutItems",
            json!({
                "TableName": TABLE,
                "InputS3Configuration": { "S3Bucket": "fuzz-bucket", "S3KeyPrefix": "seed/",
                                          "InputFormat": "DYNAMODB_JSON", "InputCompressionType": "GZIP" },
                "OutputS3Configuration": { "S3Bucket": "fuzz-reports", "OutputType": ["ERROR", "CONDITION_CHECK_FAILURE"] },
                "MaxWriteRequestUnits": 2048, "PerformanceTier": "STANDARD"
            }),
        ),
        ("ListBulkOperations", json!({ "MaxResults": 3 })),
        (
            "CancelBulkOperation",
            json!({ "BulkOperationArn": format!("{}/bulk-operation/01795966098729-e4885ee1", arns.table) }),
        ),
        (
            "PutResourcePolicy",
            json!({ "ResourceArn": arns.table, "ExpectedRevisionId": "NO_POLICY",
                    "Policy": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
                        "Principal": {"AWS": "arn:aws:iam::000000000000:user/fuzz"},
                        "Action": "dynamodb:Scan", "Resource": [arns.table, format!("{}/index/*", arns.table)],
                        "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/f*"}}}]}).to_string() }),
        ),
        ("GetResourcePolicy", json!({ "ResourceArn": arns.table })),
        (
            "EnableKinesisStreamingDestination",
            json!({ "TableName": TABLE, "StreamArn": "arn:aws:kinesis:us-east-1:000000000000:stream/fuzz",
                    "EnableKinesisStreamingConfiguration": { "ApproximateCreationDateTimePrecision": "MICROSECOND" } }),
        ),
        (
            "UpdateKinesisStreamingDestination",
            json!({ "TableName": TABLE, "StreamArn": "arn:aws:kinesis:us-east-1:000000000000:stream/fuzz",
                    "UpdateKinesisStreamingConfiguration": { "ApproximateCreationDateTimePrecision": "MILLISECOND" } }),
        ),
        (
            "DescribeKinesisStreamingDestination",
            json!({ "TableName": TABLE }),
        ),
        (
            "DisableKinesisStreamingDestination",
            json!({ "TableName": TABLE, "StreamArn": "arn:aws:kinesis:us-east-1:000000000000:stream/fuzz" }),
        ),
        (
            "UpdateTable",
            json!({ "TableName": TABLE, "ReplicaUpdates": [{ "Create": { "RegionName": "eu-west-1" } }] }),
        ),
        (
            "ListGlobalTables",
            json!({ "Limit": 5, "RegionName": "us-east-1" }),
        ),
        ("DescribeGlobalTable", json!({ "GlobalTableName": TABLE })),
        (
            "DescribeGlobalTableSettings",
            json!({ "GlobalTableName": TABLE }),
        ),
        (
            "UpdateGlobalTable",
            json!({ "GlobalTableName": TABLE, "ReplicaUpdates": [{ "Delete": { "RegionName": "eu-west-1" } }] }),
        ),
        (
            "UpdateGlobalTableSettings",
            json!({ "GlobalTableName": TABLE, "GlobalTableBillingMode": "PAY_PER_REQUEST" }),
        ),
        (
            "CreateGlobalTable",
            json!({ "GlobalTableName": TABLE, "ReplicationGroup": [{ "RegionName": "us-east-1" }] }),
        ),
        (
            "DescribeTableReplicaAutoScaling",
            json!({ "TableName": TABLE }),
        ),
        (
            "UpdateTableReplicaAutoScaling",
            json!({ "TableName": TABLE }),
        ),
        (
            "DeleteResourcePolicy",
            json!({ "ResourceArn": arns.table, "ExpectedRevisionId": "1764000000000" }),
        ),
        (
            "DescribeImport",
            json!({ "ImportArn": format!("{}/import/01764000000000-abcdef12", arns.table) }),
        ),
        (
            "ListContributorInsights",
            json!({ "TableName": TABLE, "MaxResults": 1, "NextToken": "fuzzed/by_g" }),
        ),
        (
            "ExecuteStatement",
            json!({
                "Statement": "SELECT pk, \"name\", a[1].c FROM \"fuzzed\" WHERE pk = ? AND sk BETWEEN 1 AND 9 AND begins_with(\"name\", 'x') ORDER BY sk DESC",
                "Parameters": [{ "S": "p1" }],
                "Limit": 3
            }),
        ),
        (
            "ExecuteStatement",
            json!({
                "Statement": "UPDATE \"fuzzed\" SET n = n + ?, s = set_add(s, <<'z'>>) REMOVE b WHERE pk = 'p1' AND sk = 2 AND \"name\" IS NOT MISSING RETURNING ALL NEW *",
                "Parameters": [{ "N": "1" }]
            }),
        ),
        (
            "BatchExecuteStatement",
            json!({ "Statements": [
                { "Statement": "INSERT INTO \"fuzzed\" VALUE {'pk': ?, 'sk': 3, 'l': [1, {'m': null}]}", "Parameters": [{ "S": "p9" }] },
                { "Statement": "DELETE FROM \"fuzzed\" WHERE pk = 'p9' AND sk = 4 RETURNING ALL OLD *" }
            ] }),
        ),
        (
            "ExecuteTransaction",
            json!({ "TransactStatements": [
                { "Statement": "UPDATE \"fuzzed\" SET g = 'g2' WHERE pk = 'p1' AND sk = 2" },
                { "Statement": "INSERT INTO \"fuzzed\" VALUE {'pk': 'p8', 'sk': 1, 's': <<1, 2>>}" }
            ] }),
        ),
    ];
    let streams = [
        ("ListStreams", json!({ "TableName": TABLE, "Limit": 2 })),
        (
            "DescribeStream",
            json!({ "StreamArn": arns.stream, "Limit": 10 }),
        ),
        (
            "GetShardIterator",
            json!({
                "StreamArn": arns.stream,
                "ShardId": arns.shard,
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "SequenceNumber": "100000000000000000001"
            }),
        ),
        (
            "GetRecords",
            json!({ "ShardIterator": arns.iterator, "Limit": 5 }),
        ),
    ];
    let dynamodb = dynamodb
        .into_iter()
        .map(|(op, body)| (format!("DynamoDB_20120810.{op}"), body));
    let streams = streams
        .into_iter()
        .map(|(op, body)| (format!("DynamoDBStreams_20120810.{op}"), body));
    dynamodb.chain(streams).collect()
}

/// Names of the fuzzed table's resources, which requests quote.
struct Arns {
    table: String,
    stream: String,
    shard: String,
    iterator: String,
}

/// The seeded items: partitions p0..p4, sort keys 0..3.
fn seeded_keys() -> Vec<Value> {
    (0..5)
        .flat_map(|p| {
            (0..4).map(
                move |s| json!({ "pk": { "S": format!("p{p}") }, "sk": { "N": s.to_string() } }),
            )
        })
        .collect()
}

async fn setup(endpoint: &str) -> Arns {
    let create = json!({
        "TableName": TABLE,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            { "AttributeName": "pk", "AttributeType": "S" },
            { "AttributeName": "sk", "AttributeType": "N" },
            { "AttributeName": "g", "AttributeType": "S" },
            { "AttributeName": "l", "AttributeType": "N" }
        ],
        "KeySchema": [
            { "AttributeName": "pk", "KeyType": "HASH" },
            { "AttributeName": "sk", "KeyType": "RANGE" }
        ],
        "GlobalSecondaryIndexes": [{
            "IndexName": "by_g",
            "KeySchema": [{ "AttributeName": "g", "KeyType": "HASH" }],
            "Projection": { "ProjectionType": "ALL" }
        }],
        "LocalSecondaryIndexes": [{
            "IndexName": "by_l",
            "KeySchema": [
                { "AttributeName": "pk", "KeyType": "HASH" },
                { "AttributeName": "l", "KeyType": "RANGE" }
            ],
            "Projection": { "ProjectionType": "KEYS_ONLY" }
        }],
        "StreamSpecification": { "StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES" }
    });
    let response = raw_call(endpoint, "CreateTable", create.to_string().as_bytes()).await;
    assert_eq!(response.status, 200, "CreateTable: {:?}", response.json());
    let created = response.json();
    let table_arn = created["TableDescription"]["TableArn"]
        .as_str()
        .unwrap()
        .to_string();
    let stream = created["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_string();
    wait_table_active(&client(endpoint), TABLE).await;
    for (i, key) in seeded_keys().into_iter().enumerate() {
        let mut item = key.as_object().unwrap().clone();
        item.insert("g".into(), json!({ "S": format!("g{}", i % 3) }));
        item.insert("l".into(), json!({ "N": i.to_string() }));
        item.insert("n".into(), json!({ "N": "1" }));
        item.insert("s".into(), json!({ "SS": ["a", "b"] }));
        item.insert("a".into(), json!({ "L": [{ "N": "1" }] }));
        let put = json!({ "TableName": TABLE, "Item": item });
        let response = raw_call(endpoint, "PutItem", put.to_string().as_bytes()).await;
        assert_eq!(response.status, 200, "seed PutItem: {:?}", response.json());
    }
    // A policy with conditions on the keys read from every item call (values no request
    // names), so that each mutated request also goes through what reads them: one it
    // cannot read is refused (AccessDenied), never a crash.
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "dynamodb:*",
        "Resource": [&table_arn, format!("{table_arn}/index/*")],
        "Condition": {"ForAnyValue:StringEquals": {
            "dynamodb:LeadingKeys": "no-such-key", "dynamodb:Attributes": "no-such-attribute"}}}]});
    let attach = json!({"ResourceArn": &table_arn, "Policy": policy.to_string()});
    let response = raw_call(endpoint, "PutResourcePolicy", attach.to_string().as_bytes()).await;
    assert_eq!(
        response.status,
        200,
        "PutResourcePolicy: {:?}",
        response.json()
    );
    let streams_call = |op: &str, body: Value| {
        let target = format!("DynamoDBStreams_20120810.{op}");
        async move {
            let response = raw_post(endpoint, Some(&target), body.to_string().as_bytes()).await;
            assert_eq!(response.status, 200, "{target}: {:?}", response.json());
            response.json()
        }
    };
    let described = streams_call("DescribeStream", json!({ "StreamArn": stream })).await;
    let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
        .as_str()
        .unwrap()
        .to_string();
    let iterator = streams_call(
        "GetShardIterator",
        json!({ "StreamArn": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON" }),
    )
    .await["ShardIterator"]
        .as_str()
        .unwrap()
        .to_string();
    Arns {
        table: table_arn,
        stream,
        shard,
        iterator,
    }
}

/// What must never reach a client: traces of a panic or of our internals.
const LEAKS: &[&str] = &[
    "panicked",
    "unwrap",
    "RUST_BACKTRACE",
    ".rs:",
    "fjall",
    "lsm_tree",
    "reqwest",
    "hyper",
];

/// Checks one answer; returns a description of what is wrong with it, if anything.
fn fault(response: &RawResponse) -> Option<String> {
    if response.status == 200 {
        return serde_json::from_slice::<Value>(&response.body)
            .err()
            .map(|e| format!("200 with a body that is not JSON: {e}"));
    }
    if !matches!(response.status, 400 | 413) {
        return Some(format!("status {}", response.status));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&response.body) else {
        // 413 for an oversized body carries no JSON, as DynamoDB's.
        return (response.status != 413).then(|| "an error body that is not JSON".into());
    };
    let ty = body["__type"].as_str().unwrap_or_default();
    let known_namespace = [
        "com.amazonaws.dynamodb.v20120810#",
        "com.amazon.coral.validate#",
        "com.amazon.coral.service#",
    ]
    .iter()
    .any(|ns| ty.starts_with(ns));
    if !known_namespace {
        return Some(format!("error type {ty:?}"));
    }
    let message = response.error_message().unwrap_or_default();
    LEAKS
        .iter()
        .find(|leak| message.contains(*leak))
        .map(|leak| format!("message shows {leak:?}: {message}"))
}

async fn send(endpoint: &str, target: &str, body: &[u8]) -> Result<RawResponse, String> {
    // raw_post panics on a transport error; run it as a task to report the request instead.
    let (endpoint, target, body) = (endpoint.to_string(), target.to_string(), body.to_vec());
    tokio::spawn(async move { raw_post(&endpoint, Some(&target), &body).await })
        .await
        .map_err(|e| format!("no answer (connection dropped?): {e}"))
}

#[tokio::test]
async fn mutated_requests_get_dynamodb_errors_and_leave_the_cluster_coherent() {
    let mut store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let arns = setup(&store.endpoint()).await;
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_u64);
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(seed);
    let corpus = corpus(&arns);
    let endpoints = [store.endpoint(), proxy.endpoint()];
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for case in 0..cases {
        let (target, template) = rng.pick(&corpus);
        let mut request = template.clone();
        // Some requests go unmutated, so that the caches fill and writes land.
        for _ in 0..rng.below(4) {
            mutate(&mut rng, &mut request);
        }
        let endpoint = &endpoints[case % 2];
        let mut body = request.to_string().into_bytes();
        if rng.below(20) == 0 {
            // Not JSON any more, perhaps not even UTF-8.
            body.truncate(rng.below(body.len()));
        }
        let outcome = match send(endpoint, target, &body).await {
            // Past the 16 MB limit the server answers 413 without reading the rest of the
            // body, and a client still writing it may see the connection closed before it
            // reads that answer (the next requests check the server still serves).
            Err(_) if body.len() > MAX_REQUEST_BYTES => Ok(RawResponse {
                status: 413,
                headers: Default::default(),
                body: Vec::new(),
            }),
            other => other,
        };
        let problem = match &outcome {
            Ok(response) => fault(response),
            Err(e) => Some(e.clone()),
        };
        if let Some(problem) = problem {
            let answer = outcome
                .map(|r| String::from_utf8_lossy(&r.body).into_owned())
                .unwrap_or_default();
            panic!(
                "case {case} (FUZZ_SEED={seed}) to {endpoint}: {problem}\n{target} {}\nanswer: {answer}",
                String::from_utf8_lossy(&body)
            );
        }
        *statuses.entry(outcome.unwrap().status).or_default() += 1;
    }
    eprintln!("fuzz: {cases} requests, answers by status: {statuses:?}");
    // A corpus that mostly fails validation would fuzz nothing past the parser.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) >= cases / 10,
        "too few requests succeeded: {statuses:?}"
    );
    assert!(store.is_running(), "the store died");

    // The proxy serves each seeded item as the store has it, whatever was accepted or refused.
    for key in seeded_keys() {
        let get = |consistent: bool| {
            json!({ "TableName": TABLE, "Key": key, "ConsistentRead": consistent }).to_string()
        };
        let truth = raw_call(&store.endpoint(), "GetItem", get(true).as_bytes())
            .await
            .json();
        let proxy_endpoint = proxy.endpoint();
        let converged = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            let (endpoint, body, truth) = (proxy_endpoint.clone(), get(false), truth.clone());
            async move {
                let cached = raw_call(&endpoint, "GetItem", body.as_bytes()).await;
                cached.status == 200 && cached.json().get("Item") == truth.get("Item")
            }
        })
        .await;
        assert!(
            converged,
            "the proxy disagrees with the store on {key}: store has {truth}"
        );
    }
}
