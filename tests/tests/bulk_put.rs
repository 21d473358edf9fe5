//! Bulk put items (StartBulkPutItems, DescribeBulkOperation, ListBulkOperations,
//! CancelBulkOperation) against the store and through a dax-proxy node, with signed raw
//! calls (aws-sdk-dynamodb 1.136 predates these operations; boto3 calls them in
//! smoke_boto3.py): objects of DynamoDB JSON and Ion lines, plain and gzipped, written
//! through the store's write path (a GSI sees them, a node's cache does not keep what
//! they replace), conditions, the reports, cancelling, a stop mid-run, and the errors.

use std::time::Duration;

use integration_tests::serde_json::{json, Value};
use integration_tests::*;

/// Calls `op` with `body` and answers its JSON, panicking on an error answer.
async fn call(endpoint: &str, op: &str, body: Value) -> Value {
    let answer = raw_call(endpoint, op, body.to_string().as_bytes()).await;
    assert_eq!(
        answer.status,
        200,
        "{op}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()
}

/// Calls `op` with `body`, expecting the error `name`; answers its message.
async fn refused(endpoint: &str, op: &str, body: Value, name: &str) -> String {
    let answer = raw_call(endpoint, op, body.to_string().as_bytes()).await;
    assert_eq!(
        answer.error_name().as_deref(),
        Some(name),
        "{op} {body}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.error_message().unwrap_or_default()
}

/// Writes `text` as object `key` of `bucket` in the store's S3 directory.
fn put_object(store: &StoreProcess, bucket: &str, key: &str, text: &[u8]) {
    let path = store.data_dir().join("s3").join(bucket).join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Creates on-demand table `name` keyed by `pk` (S), with a GSI `by_g` on `g` (S).
async fn create_indexed_table(endpoint: &str, name: &str) {
    call(
        endpoint,
        "CreateTable",
        json!({
            "TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexes": [{"IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}],
        }),
    )
    .await;
}

/// StartBulkPutItems of the objects under `inputs`/`prefix` into `table`, reports to
/// bucket `reports`; `extra` members are added to the request. Answers the operation's ARN.
async fn start(endpoint: &str, table: &str, prefix: &str, extra: Value) -> String {
    let mut request = json!({
        "TableName": table,
        "InputS3Configuration": {"S3Bucket": "inputs", "S3KeyPrefix": prefix, "InputFormat": "DYNAMODB_JSON"},
        "OutputS3Configuration": {"S3Bucket": "reports", "S3KeyPrefix": "runs",
                                  "OutputType": ["ERROR", "CONDITION_CHECK_FAILURE"]},
    });
    for (name, value) in extra.as_object().unwrap() {
        request[name] = value.clone();
    }
    let started = call(endpoint, "StartBulkPutItems", request).await;
    let description = &started["BulkOperationDescription"];
    assert_eq!(
        description["BulkOperationStatus"], "IN_PROGRESS",
        "{started}"
    );
    description["BulkOperationArn"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn describe(endpoint: &str, arn: &str) -> Value {
    let described = call(
        endpoint,
        "DescribeBulkOperation",
        json!({"BulkOperationArn": arn}),
    )
    .await;
    described["BulkOperationDescription"].clone()
}

/// The operation's description once it has ended (at most 60 s).
async fn ended(endpoint: &str, arn: &str) -> Value {
    for _ in 0..600 {
        let description = describe(endpoint, arn).await;
        let status = description["BulkOperationStatus"]
            .as_str()
            .unwrap_or_default();
        if !matches!(status, "IN_PROGRESS" | "CANCELLING") {
            assert!(description["EndTime"].is_number(), "{description}");
            return description;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("bulk operation {arn} did not end within 60 s");
}

/// The JSON lines of report file `name` of operation `arn`.
fn report_lines(store: &StoreProcess, arn: &str, name: &str) -> Vec<Value> {
    let id = arn.rsplit('/').next().unwrap();
    let path = store
        .data_dir()
        .join("s3/reports/runs/AWSDynamoDB")
        .join(id)
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn gzipped(text: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// Every line of three objects is accounted for: items written as PutItem writes them (a
/// GSI has them, a later line for a key wins, a true condition writes), a false condition
/// reported with the item it found and failing nothing, lines that cannot be read or that
/// PutItem refuses counted as failed and reported; the operation ends
/// COMPLETED_WITH_ERRORS, its manifest says so, and it cannot be cancelled any more.
#[tokio::test]
async fn a_bulk_put_writes_its_lines_and_reports_the_rest() {
    let store = StoreProcess::spawn();
    let endpoint = store.endpoint();
    let table = unique_name("bulk");
    create_indexed_table(&endpoint, &table).await;
    let ddb = store.client();
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("kept"))
        .item("v", n(5))
        .send()
        .await);

    let first = [
        r#"{"Item":{"pk":{"S":"a"},"g":{"S":"x"},"v":{"N":"1"}}}"#,
        r#"{"Item":{"pk":{"S":"a"},"g":{"S":"x"},"v":{"N":"2"}}}"#,
        "",
        r#"{"Item":{"pk":{"S":"kept"},"v":{"N":"9"}},"ConditionExpression":"attribute_not_exists(pk)"}"#,
        r##"{"Item":{"pk":{"S":"b"},"g":{"S":"x"}},"ConditionExpression":"attribute_not_exists(#k)","ExpressionAttributeNames":{"#k":"pk"}}"##,
        r#"{"Item":{"nokey":{"S":"x"}}}"#,
        "not json at all",
    ]
    .join("\n");
    put_object(&store, "inputs", "load/1.json", first.as_bytes());
    put_object(
        &store,
        "inputs",
        "load/2.json.gz",
        &gzipped(r#"{"Item":{"pk":{"S":"c"},"g":{"S":"y"}}}"#),
    );
    let arn = start(&endpoint, &table, "load/1", json!({})).await;
    let first_run = ended(&endpoint, &arn).await;
    assert_eq!(
        first_run["BulkOperationStatus"], "COMPLETED_WITH_ERRORS",
        "{first_run}"
    );
    assert_eq!(first_run["ProcessedItemCount"], 6);
    assert_eq!(first_run["FailedItemCount"], 2);
    assert_eq!(first_run["TotalInputBytes"], first.len());
    assert_eq!(first_run["ProcessedInputBytes"], first.len());
    assert_eq!(first_run["TableDetails"][0]["TableName"], table.as_str());

    let gz = start(&endpoint, &table, "load/2", json!({"InputS3Configuration":
        {"S3Bucket": "inputs", "S3KeyPrefix": "load/2", "InputFormat": "DYNAMODB_JSON", "InputCompressionType": "GZIP"}})).await;
    let gz_run = ended(&endpoint, &gz).await;
    assert_eq!(gz_run["BulkOperationStatus"], "COMPLETED");
    // Its one item, {"pk": "c", "g": "y"}: 5 bytes (names and values) in the table and 5
    // in the GSI, which projects every attribute.
    let usage = &gz_run["BulkOperationUsage"][0];
    assert_eq!(usage["Table"]["BulkPutBytes"], 5, "{usage}");
    let index_bytes = &usage["GlobalSecondaryIndexes"]["by_g"]["BulkPutBytes"];
    assert_eq!(index_bytes, 5, "{usage}");
    assert_eq!(usage["BulkPutBytes"], 10, "the total: {usage}");
    put_object(
        &store,
        "inputs",
        "ion/1.ion",
        br#"$ion_1_0 {Item:{pk:"d",g:"y",n:7.,tags:$dynamodb_SS::["p","q"]}}"#,
    );
    let ion = start(
        &endpoint,
        &table,
        "ion/",
        json!({"InputS3Configuration":
        {"S3Bucket": "inputs", "S3KeyPrefix": "ion/", "InputFormat": "ION"}}),
    )
    .await;
    assert_eq!(
        ended(&endpoint, &ion).await["BulkOperationStatus"],
        "COMPLETED"
    );

    let items = scan_all(&ddb, &table).await;
    let mut keys: Vec<_> = items.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["a", "b", "c", "d", "kept"]);
    assert_eq!(items["a"]["v"], n(2), "the later line for a key wins");
    assert_eq!(items["kept"]["v"], n(5), "a false condition wrote nothing");
    assert_eq!(
        items["d"]["tags"],
        aws_sdk_dynamodb::types::AttributeValue::Ss(vec!["p".into(), "q".into()])
    );
    let by_x = ok(ddb
        .query()
        .table_name(&table)
        .index_name("by_g")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("x"))
        .send()
        .await);
    assert_eq!(by_x.count(), 2, "the GSI has the bulk-written items");

    let failures = report_lines(&store, &arn, "condition-check-failures.json");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["LineNumber"], 4);
    assert_eq!(failures[0]["InputObject"], "load/1.json");
    assert_eq!(failures[0]["ExistingItem"]["v"], json!({"N": "5"}));
    assert_eq!(failures[0]["Item"]["v"], json!({"N": "9"}));
    // In input order, though the refused put's line ends after the unreadable one is read.
    let errors = report_lines(&store, &arn, "errors.json");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0]["LineNumber"], 6);
    assert!(
        errors[0]["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("Missing the key pk"),
        "{errors:?}"
    );
    assert_eq!(errors[0]["Record"], r#"{"Item":{"nokey":{"S":"x"}}}"#);
    assert_eq!(errors[1]["LineNumber"], 7);
    assert_eq!(errors[1]["Record"], "not json at all");
    let id = arn.rsplit('/').next().unwrap();
    let manifest = store
        .data_dir()
        .join("s3/reports/runs/AWSDynamoDB")
        .join(id)
        .join("manifest-summary.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(manifest).unwrap()).unwrap();
    assert_eq!(manifest["WrittenItemCount"], 3, "{manifest}");
    assert_eq!(manifest["ConditionCheckFailureCount"], 1);

    let listed = call(&endpoint, "ListBulkOperations", json!({"MaxResults": 2})).await;
    let page: Vec<_> = listed["BulkOperationsSummaryList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["BulkOperationArn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page, [ion.clone(), gz.clone()], "newest first");
    let next = call(
        &endpoint,
        "ListBulkOperations",
        json!({"NextToken": listed["NextToken"]}),
    )
    .await;
    assert_eq!(
        next["BulkOperationsSummaryList"][0]["BulkOperationArn"],
        arn.as_str()
    );
    assert!(next.get("NextToken").is_none(), "{next}");
    let message = refused(
        &endpoint,
        "CancelBulkOperation",
        json!({"BulkOperationArn": arn}),
        "ValidationException",
    )
    .await;
    assert!(message.contains("COMPLETED_WITH_ERRORS"), "{message}");
}

/// `count` lines of items of about 1 KB, `pk` `item-<i>`.
fn kilobyte_lines(count: usize) -> String {
    let padding = "x".repeat(1000);
    (0..count)
        .map(|i| format!(r#"{{"Item":{{"pk":{{"S":"item-{i}"}},"pad":{{"S":"{padding}"}}}}}}"#))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A store with table `<prefix>-...` (`create_indexed_table`) and an object of 20,000 1 KB
/// item lines under `inputs/big/`. Answers the store and the table.
async fn store_with_big_input(prefix: &str) -> (StoreProcess, String) {
    let store = StoreProcess::spawn();
    let table = unique_name(prefix);
    create_indexed_table(&store.endpoint(), &table).await;
    put_object(
        &store,
        "inputs",
        "big/1.json",
        kilobyte_lines(20_000).as_bytes(),
    );
    (store, table)
}

/// A store with table `<prefix>-...` and a bulk put of 20,000 1 KB items into it, paced
/// at 1,024 write units a second (`extra` added to the request), under way: some items
/// written, far from all. Answers the store, the table and the operation's ARN.
async fn paced_run_under_way(prefix: &str, extra: Value) -> (StoreProcess, String, String) {
    let (store, table) = store_with_big_input(prefix).await;
    let endpoint = store.endpoint();
    let mut paced = extra;
    paced["MaxWriteRequestUnits"] = json!(1024);
    let arn = start(&endpoint, &table, "big/", paced).await;
    let ddb = store.client();
    let some = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        let ddb = ddb.clone();
        let table = table.clone();
        async move { !scan_all(&ddb, &table).await.is_empty() }
    })
    .await;
    assert!(some, "nothing was written");
    (store, table, arn)
}

/// A bulk put paced at 1,024 write units a second over 1 KB items writes about a thousand
/// a second: a ClientToken retry answers the same operation, a second operation on its
/// table and adding a replica of the table are refused meanwhile, and a cancel answers
/// CANCELLING and ends it CANCELLED with the items written so far kept; the errors of bad
/// requests are DynamoDB's.
#[tokio::test]
async fn a_paced_bulk_put_can_be_cancelled_and_refuses_company() {
    let (store, table, arn) = paced_run_under_way("paced", json!({"ClientToken": "paced-1"})).await;
    let endpoint = store.endpoint();

    let again = call(&endpoint, "StartBulkPutItems", json!({
        "TableName": table, "ClientToken": "paced-1", "MaxWriteRequestUnits": 1024,
        "InputS3Configuration": {"S3Bucket": "inputs", "S3KeyPrefix": "big/", "InputFormat": "DYNAMODB_JSON"},
        "OutputS3Configuration": {"S3Bucket": "reports", "S3KeyPrefix": "runs", "OutputType": ["ERROR", "CONDITION_CHECK_FAILURE"]},
    })).await;
    assert_eq!(
        again["BulkOperationDescription"]["BulkOperationArn"],
        arn.as_str(),
        "a retry is the same operation"
    );
    let mut changed = json!({
        "TableName": table, "ClientToken": "paced-1", "MaxWriteRequestUnits": 2048,
        "InputS3Configuration": {"S3Bucket": "inputs", "S3KeyPrefix": "big/", "InputFormat": "DYNAMODB_JSON"},
        "OutputS3Configuration": {"S3Bucket": "reports", "OutputType": ["ERROR"]},
    });
    refused(
        &endpoint,
        "StartBulkPutItems",
        changed.clone(),
        "IdempotentParameterMismatchException",
    )
    .await;
    changed["ClientToken"] = json!("paced-2");
    let message = refused(
        &endpoint,
        "StartBulkPutItems",
        changed.clone(),
        "LimitExceededException",
    )
    .await;
    assert!(message.contains("already in progress"), "{message}");

    // Nor does the table become a global table meanwhile.
    let adding =
        json!({"TableName": table, "ReplicaUpdates": [{"Create": {"RegionName": "us-west-2"}}]});
    let message = refused(&endpoint, "UpdateTable", adding, "ValidationException").await;
    assert!(
        message.contains("bulk put items operation runs"),
        "{message}"
    );

    // Then cancel.
    let ddb = store.client();
    let cancelled = call(
        &endpoint,
        "CancelBulkOperation",
        json!({"BulkOperationArn": arn}),
    )
    .await;
    assert_eq!(
        cancelled["BulkOperationStatus"], "CANCELLING",
        "{cancelled}"
    );
    let end = ended(&endpoint, &arn).await;
    assert_eq!(end["BulkOperationStatus"], "CANCELLED", "{end}");
    assert_eq!(end["FailureCode"], "BulkOperationCancelled");
    let written = scan_all(&ddb, &table).await.len();
    assert!(written > 0 && written < 20_000, "{written} items written");
    assert_eq!(
        end["ProcessedItemCount"].as_u64(),
        Some(written as u64),
        "{end}"
    );

    // The errors of bad requests.
    let missing = json!({"TableName": "no-such-table",
        "InputS3Configuration": {"S3Bucket": "inputs", "InputFormat": "DYNAMODB_JSON"},
        "OutputS3Configuration": {"S3Bucket": "reports", "OutputType": ["ERROR"]}});
    refused(
        &endpoint,
        "StartBulkPutItems",
        missing.clone(),
        "ResourceNotFoundException",
    )
    .await;
    let mut bad = missing.clone();
    bad["TableName"] = json!(table);
    bad["MaxWriteRequestUnits"] = json!(10);
    bad["InputS3Configuration"]["InputFormat"] = json!("CSV");
    let message = refused(&endpoint, "StartBulkPutItems", bad, "ValidationException").await;
    assert!(
        message.starts_with("2 validation errors detected"),
        "{message}"
    );
    let mut no_input = missing.clone();
    no_input["TableName"] = json!(table);
    no_input
        .as_object_mut()
        .unwrap()
        .remove("InputS3Configuration");
    let message = refused(
        &endpoint,
        "StartBulkPutItems",
        no_input,
        "ValidationException",
    )
    .await;
    assert!(
        message.contains(
            "'inputS3Configuration' failed to satisfy constraint: Member must not be null"
        ),
        "{message}"
    );
    let mut no_report = missing.clone();
    no_report["TableName"] = json!(table);
    no_report["OutputS3Configuration"]["OutputType"] = json!([]);
    refused(
        &endpoint,
        "StartBulkPutItems",
        no_report,
        "ValidationException",
    )
    .await;
    let unknown = format!("{arn}0");
    refused(
        &endpoint,
        "DescribeBulkOperation",
        json!({"BulkOperationArn": unknown}),
        "ResourceNotFoundException",
    )
    .await;
    refused(
        &endpoint,
        "CancelBulkOperation",
        json!({"BulkOperationArn": unknown}),
        "ResourceNotFoundException",
    )
    .await;
    refused(
        &endpoint,
        "ListBulkOperations",
        json!({"MaxResults": 26}),
        "ValidationException",
    )
    .await;
}

/// An operation the store was running when it was killed is reported FAILED after the
/// restart, with the items it wrote kept, and the table takes the next operation.
#[tokio::test]
async fn a_bulk_put_interrupted_by_a_crash_is_reported_failed() {
    let (mut store, table, arn) = paced_run_under_way("crashed", json!({})).await;
    store.kill9();
    store.restart();
    let endpoint = store.endpoint();
    let end = ended(&endpoint, &arn).await;
    assert_eq!(end["BulkOperationStatus"], "FAILED", "{end}");
    assert!(!scan_all(&store.client(), &table).await.is_empty());
    // The table is free for the next operation.
    put_object(
        &store,
        "inputs",
        "small/1.json",
        kilobyte_lines(3).as_bytes(),
    );
    let next = start(&endpoint, &table, "small/", json!({})).await;
    assert_eq!(
        ended(&endpoint, &next).await["BulkOperationStatus"],
        "COMPLETED"
    );
}

/// Starts racing on one table: of eight with their own ClientTokens exactly one runs and
/// the others are refused LimitExceededException, and eight retries sharing a token answer
/// one operation. The checks and the saving of the new operation are one step: two calls
/// interleaved at the save's wait for its commit both passed the checks before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_starts_on_one_table_run_one_operation() {
    let (store, table) = store_with_big_input("racing").await;
    let endpoint = store.endpoint();
    let request = |token: String| {
        json!({
            "TableName": table, "ClientToken": token, "MaxWriteRequestUnits": 1024,
            "InputS3Configuration": {"S3Bucket": "inputs", "S3KeyPrefix": "big/", "InputFormat": "DYNAMODB_JSON"},
            "OutputS3Configuration": {"S3Bucket": "reports", "OutputType": ["ERROR"]},
        })
        .to_string()
    };
    let race = |tokens: Vec<String>| {
        let endpoint = endpoint.clone();
        async move {
            let calls = tokens.into_iter().map(|token| {
                let (endpoint, body) = (endpoint.clone(), request(token));
                tokio::spawn(async move {
                    raw_call(&endpoint, "StartBulkPutItems", body.as_bytes()).await
                })
            });
            let mut answers = Vec::new();
            for call in calls.collect::<Vec<_>>() {
                answers.push(call.await.unwrap());
            }
            answers
        }
    };

    let answers = race((0..8).map(|i| format!("own-{i}")).collect()).await;
    let started: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(started.len(), 1, "{} started", started.len());
    for refused in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(
            refused.error_name().as_deref(),
            Some("LimitExceededException")
        );
    }
    let first = started[0].json()["BulkOperationDescription"]["BulkOperationArn"].clone();
    let cancelled = call(
        &endpoint,
        "CancelBulkOperation",
        json!({"BulkOperationArn": first}),
    )
    .await;
    assert_eq!(cancelled["BulkOperationStatus"], "CANCELLING");
    ended(&endpoint, first.as_str().unwrap()).await;

    let answers = race(vec!["shared".to_string(); 8]).await;
    let arns: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
            a.json()["BulkOperationDescription"]["BulkOperationArn"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(arns.len(), 1, "retries of one token started {arns:?}");
    let listed = call(&endpoint, "ListBulkOperations", json!({})).await;
    let operations = listed["BulkOperationsSummaryList"].as_array().unwrap();
    assert_eq!(operations.len(), 2, "{listed}");
}

/// Creates table `name` keyed by `pk` (S) with 1 write capacity unit (and reads enough for
/// the test's scans), and starts a bulk put of 2,000 lines of one unit each into it: its
/// burst capacity takes ~300 lines at once, and the lines after wait for the refill (a
/// wave of puts admitted together drives the table ~100 units into debt, ~100 s of it).
/// Answers the operation's ARN once the run is throttled (most of the burst used).
async fn throttled_run(store: &StoreProcess, name: &str) -> String {
    let endpoint = store.endpoint();
    call(
        &endpoint,
        "CreateTable",
        json!({
            "TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 1000, "WriteCapacityUnits": 1},
        }),
    )
    .await;
    let lines: Vec<_> = (0..2000)
        .map(|i| {
            format!(
                r#"{{"Item":{{"pk":{{"S":"item-{i}"}},"pad":{{"S":"{}"}}}}}}"#,
                "x".repeat(500)
            )
        })
        .collect();
    put_object(
        store,
        "inputs",
        &format!("{name}/1.json"),
        lines.join("\n").as_bytes(),
    );
    let arn = start(&endpoint, name, &format!("{name}/"), json!({})).await;
    let ddb = store.client();
    let throttled = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        let (ddb, name) = (ddb.clone(), name.to_string());
        async move { scan_all(&ddb, &name).await.len() >= 250 }
    })
    .await;
    assert!(throttled, "the burst was not written");
    arn
}

/// On a table whose capacity throttles it, a bulk put shows its progress while its lines
/// wait, stops at a cancel (the lines not yet written stay unwritten and uncounted), and
/// fails rather than write into a table created again under its table's name; a cancel
/// of an operation still waiting for one of the store's four job slots ends it at once
/// and frees its table. Each waited out its throttled lines before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_bulk_put_shows_progress_stops_at_a_cancel_and_keeps_to_its_table() {
    let store = StoreProcess::spawn();
    let endpoint = store.endpoint();
    let ddb = store.client();
    let slow = unique_name("slow");
    let arn = throttled_run(&store, &slow).await;
    let progress = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        let (endpoint, arn) = (endpoint.clone(), arn.clone());
        async move { describe(&endpoint, &arn).await["ProcessedItemCount"].as_u64() > Some(0) }
    })
    .await;
    assert!(progress, "no progress shown while the lines wait");
    call(
        &endpoint,
        "CancelBulkOperation",
        json!({"BulkOperationArn": arn}),
    )
    .await;
    let end = tokio::time::timeout(Duration::from_secs(10), ended(&endpoint, &arn))
        .await
        .expect("the cancel did not stop the throttled lines");
    assert_eq!(end["BulkOperationStatus"], "CANCELLED", "{end}");
    let written = scan_all(&ddb, &slow).await.len() as u64;
    assert!(written < 2000, "{written}");
    assert_eq!(end["ProcessedItemCount"].as_u64(), Some(written), "{end}");
    assert_eq!(end["FailedItemCount"], 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        scan_all(&ddb, &slow).await.len() as u64,
        written,
        "written after the cancel"
    );

    let replaced = unique_name("replaced");
    let arn = throttled_run(&store, &replaced).await;
    call(&endpoint, "DeleteTable", json!({"TableName": replaced})).await;
    wait_table_gone(&ddb, &replaced).await;
    create_hash_table(&ddb, &replaced).await;
    let end = ended(&endpoint, &arn).await;
    assert_eq!(end["BulkOperationStatus"], "FAILED", "{end}");
    assert!(
        end["FailureMessage"]
            .as_str()
            .unwrap()
            .contains("was deleted"),
        "{end}"
    );
    assert!(
        scan_all(&ddb, &replaced).await.is_empty(),
        "the new table was written"
    );

    let mut running = Vec::new();
    for i in 0..4 {
        running.push(throttled_run(&store, &unique_name(&format!("slot{i}"))).await);
    }
    let waiting_table = unique_name("waiting");
    create_hash_table(&ddb, &waiting_table).await;
    put_object(
        &store,
        "inputs",
        "waiting/1.json",
        kilobyte_lines(3).as_bytes(),
    );
    let waiting = start(&endpoint, &waiting_table, "waiting/", json!({})).await;
    let cancelled = call(
        &endpoint,
        "CancelBulkOperation",
        json!({"BulkOperationArn": waiting}),
    )
    .await;
    assert_eq!(cancelled["BulkOperationStatus"], "CANCELLED", "{cancelled}");
    assert_eq!(
        describe(&endpoint, &waiting).await["BulkOperationStatus"],
        "CANCELLED"
    );
    for arn in running {
        call(
            &endpoint,
            "CancelBulkOperation",
            json!({"BulkOperationArn": arn}),
        )
        .await;
    }
    let next = start(&endpoint, &waiting_table, "waiting/", json!({})).await;
    assert_eq!(
        ended(&endpoint, &next).await["BulkOperationStatus"],
        "COMPLETED"
    );
    assert_eq!(scan_all(&ddb, &waiting_table).await.len(), 3);
}

/// An output location that cannot hold the report (here its prefix is a file) fails the
/// operation before it writes any item; it failed after writing them all before.
#[tokio::test]
async fn a_report_that_cannot_be_written_fails_the_run_before_any_put() {
    let store = StoreProcess::spawn();
    let endpoint = store.endpoint();
    let table = unique_name("blocked");
    create_indexed_table(&endpoint, &table).await;
    put_object(&store, "inputs", "few/1.json", kilobyte_lines(3).as_bytes());
    put_object(
        &store,
        "blocked",
        "runs",
        b"a file where the report's folder goes",
    );
    let arn = start(
        &endpoint,
        &table,
        "few/",
        json!({"OutputS3Configuration": {"S3Bucket": "blocked", "S3KeyPrefix": "runs", "OutputType": ["ERROR"]}}),
    )
    .await;
    let end = ended(&endpoint, &arn).await;
    assert_eq!(end["BulkOperationStatus"], "FAILED", "{end}");
    assert_eq!(
        end["FailureMessage"],
        "Failed to write the report to S3 bucket blocked"
    );
    assert_eq!(end["ProcessedItemCount"], 0);
    assert!(scan_all(&store.client(), &table).await.is_empty());
}

/// A dax-proxy node passes the operations to the store, and its cache does not keep an
/// item a bulk put replaced: the store's change log tells the node, as for any write.
#[tokio::test]
async fn a_proxy_node_forgets_what_a_bulk_put_replaced() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let endpoint = proxy.endpoint();
    let table = unique_name("cached");
    create_indexed_table(&store.endpoint(), &table).await;
    let dax = proxy.client();
    ok(dax
        .put_item()
        .table_name(&table)
        .item("pk", s("hot"))
        .item("v", n(1))
        .send()
        .await);
    let cached = ok(dax
        .get_item()
        .table_name(&table)
        .key("pk", s("hot"))
        .send()
        .await);
    assert_eq!(cached.item().unwrap()["v"], n(1));

    put_object(
        &store,
        "inputs",
        "hot/1.json",
        br#"{"Item":{"pk":{"S":"hot"},"v":{"N":"2"}}}"#,
    );
    let arn = start(&endpoint, &table, "hot/", json!({})).await;
    assert_eq!(
        ended(&endpoint, &arn).await["BulkOperationStatus"],
        "COMPLETED"
    );
    let fresh = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        let get = dax.get_item().table_name(&table).key("pk", s("hot")).send();
        async move {
            get.await
                .ok()
                .and_then(|g| g.item)
                .is_some_and(|i| i["v"] == n(2))
        }
    })
    .await;
    assert!(
        fresh,
        "the node kept serving the item the bulk put replaced"
    );
}
