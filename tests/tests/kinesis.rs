//! Kinesis streaming destinations against the real store and a stand-in Kinesis (axum on an
//! ephemeral port speaking PutRecords): the four operations with their states and errors;
//! each item change arriving once enabled, in order, in DynamoDB's record shape, signed for
//! Kinesis; a refused call and a refused record sent again; the precision changed; delivery
//! resuming after a restart; nothing sent once disabled; the delivery metrics; calls kept
//! within PutRecords' limits, which the stand-in enforces as Kinesis does, and a record
//! over them skipped.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    ApproximateCreationDateTimePrecision as Precision, DestinationStatus,
    EnableKinesisStreamingConfiguration, UpdateKinesisStreamingConfiguration,
};
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use integration_tests::serde_json::{json, Value};
use integration_tests::*;

const STREAM: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/changes";

/// PutRecords' limits: records in a call, bytes of one record's data and partition key,
/// bytes of a call's.
const RECORDS_PER_CALL: usize = 500;
const RECORD_BYTES: usize = 1024 * 1024;
const CALL_BYTES: usize = 5 * 1024 * 1024;

/// The stand-in Kinesis: what it accepted, and how many calls it refuses first.
#[derive(Default)]
struct Kinesis {
    /// The data of every accepted record, decoded, in arrival order.
    records: Mutex<Vec<Value>>,
    /// The records in each accepted call.
    accepted_calls: Mutex<Vec<usize>>,
    calls: AtomicUsize,
    /// Calls with a number below this answer 500.
    fail_calls_below: AtomicUsize,
    /// While set, every call answers 500.
    unavailable: AtomicBool,
    /// The first record of the call with this number is refused, once.
    refuse_a_record_in_call: AtomicUsize,
    /// Calls refused for PutRecords' limits.
    over_limits: AtomicUsize,
}

/// Why Kinesis would refuse a whole call, if it would: PutRecords' limits.
fn limit_broken(records: &[Value]) -> Option<String> {
    if records.len() > RECORDS_PER_CALL {
        return Some(format!("{} records in one call", records.len()));
    }
    let mut total = 0;
    for record in records {
        let data = base64::engine::general_purpose::STANDARD
            .decode(record["Data"].as_str().unwrap())
            .unwrap();
        let size = data.len() + record["PartitionKey"].as_str().unwrap().len();
        if size > RECORD_BYTES {
            return Some(format!("a record of {size} bytes"));
        }
        total += size;
        if total > CALL_BYTES {
            return Some(format!("a call of over {total} bytes"));
        }
    }
    None
}

async fn put_records(
    State(kinesis): State<Arc<Kinesis>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    assert_eq!(header("x-amz-target"), "Kinesis_20131202.PutRecords");
    assert!(
        header("authorization").contains("/us-east-1/kinesis/aws4_request"),
        "{}",
        header("authorization")
    );
    let n = kinesis.calls.fetch_add(1, Ordering::SeqCst);
    if n < kinesis.fail_calls_below.load(Ordering::SeqCst)
        || kinesis.unavailable.load(Ordering::SeqCst)
    {
        return (StatusCode::INTERNAL_SERVER_ERROR, "{}".into());
    }
    let request: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(request["StreamARN"], STREAM);
    assert_eq!(request["StreamName"], "changes");
    let records = request["Records"].as_array().unwrap();
    if let Some(broken) = limit_broken(records) {
        kinesis.over_limits.fetch_add(1, Ordering::SeqCst);
        let error = json!({"__type": "InvalidArgumentException", "message": broken});
        return (StatusCode::BAD_REQUEST, error.to_string());
    }
    kinesis.accepted_calls.lock().unwrap().push(records.len());
    let mut results = Vec::new();
    let mut failed = 0;
    for (i, record) in records.iter().enumerate() {
        assert!(!record["PartitionKey"].as_str().unwrap().is_empty());
        if i == 0 && n == kinesis.refuse_a_record_in_call.load(Ordering::SeqCst) {
            failed += 1;
            results.push(json!({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}));
            continue;
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(record["Data"].as_str().unwrap())
            .unwrap();
        kinesis
            .records
            .lock()
            .unwrap()
            .push(serde_json::from_slice(&data).unwrap());
        results.push(json!({"SequenceNumber": n.to_string(), "ShardId": "shardId-000000000000"}));
    }
    let answer = json!({"FailedRecordCount": failed, "Records": results});
    (StatusCode::OK, answer.to_string())
}

async fn start_kinesis() -> (Arc<Kinesis>, String) {
    let kinesis = Arc::new(Kinesis {
        refuse_a_record_in_call: AtomicUsize::new(usize::MAX),
        ..Default::default()
    });
    let app = axum::Router::new()
        .route("/", axum::routing::post(put_records))
        // Whatever the store sends is read, so that the limits checked are Kinesis' own.
        .layer(DefaultBodyLimit::disable())
        .with_state(Arc::clone(&kinesis));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (kinesis, format!("http://{addr}"))
}

/// The records received so far for item `pk`: (eventName, NewImage's `v`, OldImage's `v`).
fn changes_of(kinesis: &Kinesis, pk: &str) -> Vec<(String, Value, Value)> {
    kinesis
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r["dynamodb"]["Keys"]["pk"]["S"] == pk)
        .map(|r| {
            let d = &r["dynamodb"];
            (
                r["eventName"].as_str().unwrap().to_string(),
                d["NewImage"]["v"].clone(),
                d["OldImage"]["v"].clone(),
            )
        })
        .collect()
}

/// Waits (at most 30 s) until `pk` has `count` records.
async fn wait_for(kinesis: &Kinesis, pk: &str, count: usize) -> Vec<(String, Value, Value)> {
    for _ in 0..300 {
        let changes = changes_of(kinesis, pk);
        if changes.len() >= count {
            return changes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{pk}: {count} records did not arrive: {:?}",
        changes_of(kinesis, pk)
    );
}

#[tokio::test]
async fn item_changes_reach_the_kinesis_stream_in_order() {
    let (kinesis, endpoint) = start_kinesis().await;
    let mut store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_KINESIS_ENDPOINT".into(), endpoint)],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("streamed");
    create_hash_table(&ddb, &table).await;
    let put = |pk: &str, v: i64| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("v", n(v))
            .send()
    };
    ok(put("before", 0).await);

    let enable = |arn: &str| {
        ddb.enable_kinesis_streaming_destination()
            .table_name(&table)
            .stream_arn(arn)
            .send()
    };
    let enabled = ok(enable(STREAM).await);
    assert_eq!(
        enabled.destination_status(),
        Some(&DestinationStatus::Enabling)
    );
    let describe = || {
        ddb.describe_kinesis_streaming_destination()
            .table_name(&table)
            .send()
    };
    let described = ok(describe().await);
    let destination = &described.kinesis_data_stream_destinations()[0];
    assert_eq!(destination.stream_arn(), Some(STREAM));
    assert_eq!(
        destination.destination_status(),
        Some(&DestinationStatus::Active)
    );
    assert_eq!(
        destination.approximate_creation_date_time_precision(),
        Some(&Precision::Millisecond)
    );

    // Refused: the same stream again, a second stream, a malformed ARN, disabling a stream
    // that is not enabled.
    let again = enable(STREAM).await.expect_err("already enabled");
    assert_eq!(again.code(), Some("ResourceInUseException"));
    let other = STREAM.replace("changes", "other");
    let second = enable(&other).await.expect_err("one stream at a time");
    assert_eq!(second.code(), Some("ValidationException"));
    let malformed = enable("arn:aws:sqs:us-east-1:000000000000:queue-with-a-long-name")
        .await
        .expect_err("not a Kinesis stream");
    assert_eq!(malformed.code(), Some("ValidationException"));
    let not_enabled = ddb
        .disable_kinesis_streaming_destination()
        .table_name(&table)
        .stream_arn(&other)
        .send()
        .await
        .expect_err("not enabled");
    assert_eq!(not_enabled.code(), Some("ValidationException"));

    // The first call fails outright and the next refuses one record: both are sent again.
    kinesis.fail_calls_below.store(1, Ordering::SeqCst);
    kinesis.refuse_a_record_in_call.store(1, Ordering::SeqCst);
    ok(put("a", 1).await);
    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("a"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", n(2))
        .send()
        .await);
    ok(ddb
        .delete_item()
        .table_name(&table)
        .key("pk", s("a"))
        .send()
        .await);
    let a = wait_for(&kinesis, "a", 3).await;
    let mut events: Vec<&str> = a.iter().map(|c| c.0.as_str()).collect();
    events.sort();
    assert_eq!(events, ["INSERT", "MODIFY", "REMOVE"]);
    let modify = a.iter().find(|c| c.0 == "MODIFY").unwrap();
    assert_eq!(
        (&modify.1, &modify.2),
        (&json!({"N": "2"}), &json!({"N": "1"}))
    );
    let remove = a.iter().find(|c| c.0 == "REMOVE").unwrap();
    assert_eq!((&remove.1, &remove.2), (&Value::Null, &json!({"N": "2"})));
    assert!(changes_of(&kinesis, "before").is_empty());
    let record = kinesis.records.lock().unwrap()[0].clone();
    assert_eq!(record["tableName"], table.as_str());
    assert_eq!(record["eventSource"], "aws:dynamodb");
    assert_eq!(record["recordFormat"], "application/json");
    assert_eq!(record["awsRegion"], "us-east-1");
    assert!(
        record["dynamodb"]["ApproximateCreationDateTime"]
            .as_u64()
            .unwrap()
            < 10_000_000_000_000
    );

    // Counted: the accepted records, and the two retries (the failed call, the refused
    // record).
    let endpoint = store.endpoint();
    assert!(metric(&endpoint, "store_kinesis_records_delivered_total").await >= 3.0);
    assert!(metric(&endpoint, "store_kinesis_retries_total").await >= 2.0);

    // Microseconds from now on.
    let updated = ok(ddb
        .update_kinesis_streaming_destination()
        .table_name(&table)
        .stream_arn(STREAM)
        .update_kinesis_streaming_configuration(
            UpdateKinesisStreamingConfiguration::builder()
                .approximate_creation_date_time_precision(Precision::Microsecond)
                .build(),
        )
        .send()
        .await);
    assert_eq!(
        updated.destination_status(),
        Some(&DestinationStatus::Updating)
    );
    ok(put("micro", 1).await);
    wait_for(&kinesis, "micro", 1).await;
    let created = kinesis
        .records
        .lock()
        .unwrap()
        .iter()
        .find(|r| r["dynamodb"]["Keys"]["pk"]["S"] == "micro")
        .map(|r| {
            r["dynamodb"]["ApproximateCreationDateTime"]
                .as_u64()
                .unwrap()
        })
        .unwrap();
    assert!(created > 1_000_000_000_000_000, "{created}");

    // Delivery resumes after a restart, from its checkpoint.
    store.restart();
    let ddb = store.client();
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("after-restart"))
        .item("v", n(1))
        .send()
        .await);
    wait_for(&kinesis, "after-restart", 1).await;

    // Disabled: nothing more is sent.
    let disabled = ok(ddb
        .disable_kinesis_streaming_destination()
        .table_name(&table)
        .stream_arn(STREAM)
        .send()
        .await);
    assert_eq!(
        disabled.destination_status(),
        Some(&DestinationStatus::Disabling)
    );
    let described = ok(ddb
        .describe_kinesis_streaming_destination()
        .table_name(&table)
        .send()
        .await);
    assert_eq!(
        described.kinesis_data_stream_destinations()[0].destination_status(),
        Some(&DestinationStatus::Disabled)
    );
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("unsent"))
        .item("v", n(1))
        .send()
        .await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(changes_of(&kinesis, "unsent").is_empty());

    // A store without a Kinesis endpoint has nowhere to send to.
    let bare = StoreProcess::spawn();
    let bare_ddb = bare.client();
    create_hash_table(&bare_ddb, "nowhere").await;
    let refused = bare_ddb
        .enable_kinesis_streaming_destination()
        .table_name("nowhere")
        .stream_arn(STREAM)
        .enable_kinesis_streaming_configuration(
            EnableKinesisStreamingConfiguration::builder()
                .approximate_creation_date_time_precision(Precision::Millisecond)
                .build(),
        )
        .send()
        .await
        .expect_err("no endpoint");
    assert_eq!(refused.code(), Some("ValidationException"));
}

/// Items too large for one PutRecords call together are sent in several, each within
/// Kinesis' limits; a change whose record alone is over 1 MiB is skipped and counted, and
/// the changes after it still arrive.
#[tokio::test]
async fn large_items_are_sent_within_putrecords_limits() {
    let (kinesis, endpoint) = start_kinesis().await;
    let store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_KINESIS_ENDPOINT".into(), endpoint)],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("large");
    create_hash_table(&ddb, &table).await;
    ok(ddb
        .enable_kinesis_streaming_destination()
        .table_name(&table)
        .stream_arn(STREAM)
        .send()
        .await);
    let put = |pk: String, v: String| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(&pk))
            .item("v", s(&v))
            .send()
    };

    // Kinesis is down while the first change is sent, so that the worker holds it and the
    // changes after it are read together.
    kinesis.unavailable.store(true, Ordering::SeqCst);
    ok(put("first".into(), "small".into()).await);
    while kinesis.calls.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // 20 items of about 390 KB: 7.8 MB, more than one call may carry.
    for i in 0..20 {
        ok(put(format!("big-{i}"), "x".repeat(390_000)).await);
    }
    // A 200 KB item whose record is 1.2 MB: JSON writes each U+0001 as six bytes.
    ok(put("escaped".into(), "\u{1}".repeat(200_000)).await);
    ok(put("after".into(), "small".into()).await);
    kinesis.unavailable.store(false, Ordering::SeqCst);

    wait_for(&kinesis, "after", 1).await;
    for i in 0..20 {
        assert_eq!(
            changes_of(&kinesis, &format!("big-{i}")).len(),
            1,
            "big-{i}"
        );
    }
    assert!(changes_of(&kinesis, "escaped").is_empty());
    assert_eq!(kinesis.over_limits.load(Ordering::SeqCst), 0);
    // The first change's call, then the large items' in two calls at least.
    let accepted = kinesis.accepted_calls.lock().unwrap().clone();
    assert!(accepted.len() >= 3, "{accepted:?}");
    assert_eq!(accepted.iter().sum::<usize>(), 22, "{accepted:?}");
    assert_eq!(
        metric(&store.endpoint(), "store_kinesis_oversized_records_total").await,
        1.0
    );
}

/// A Kinesis destination whose table is idle while another table writes counts none of
/// that table's changes as trimmed before delivery when the log's retention (3 s here)
/// drops them: `store_kinesis_trimmed_records_total` counted every change in the store
/// that aged out before, a false data-loss alarm.
#[tokio::test]
async fn an_idle_destination_counts_no_other_tables_trimmed_changes() {
    let (kinesis, kinesis_endpoint) = start_kinesis().await;
    let store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_KINESIS_ENDPOINT".into(), kinesis_endpoint)],
        args: ["--stream-retention", "3", "--feed-retention", "3"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    });
    let ddb = store.client();
    let endpoint = store.endpoint();
    let (idle, busy) = (unique_name("idle"), unique_name("busy"));
    create_hash_table(&ddb, &idle).await;
    create_hash_table(&ddb, &busy).await;
    ok(ddb
        .enable_kinesis_streaming_destination()
        .table_name(&idle)
        .stream_arn(STREAM)
        .send()
        .await);
    let put = |table: &str, pk: &str| ddb.put_item().table_name(table).item("pk", s(pk)).send();
    ok(put(&idle, "only").await);
    wait_for(&kinesis, "only", 1).await;
    for i in 0..10 {
        ok(put(&busy, &format!("other-{i}")).await);
    }
    assert!(log_trimmed(&endpoint).await, "the log was never trimmed");
    // The destination looks for trimmed changes each time it wakes (at least every second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        metric(&endpoint, "store_kinesis_trimmed_records_total").await,
        0.0
    );
}
