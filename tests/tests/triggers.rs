//! Triggers against the real store and a test webhook (axum on an ephemeral port): batches
//! arrive in the Lambda event shape; a target that answers 500 or hangs is retried, then
//! dead-lettered, never blocking the trigger for good; a store restart loses and reorders
//! nothing (at-least-once: a duplicate is allowed, a gap or an inversion is not).

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::StreamViewType;
use aws_sdk_dynamodb::Client;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use integration_tests::serde_json::{json, Value};
use integration_tests::*;

#[derive(Default)]
struct Hook {
    /// Every record received, in arrival order (duplicates included).
    records: Mutex<Vec<Value>>,
    requests: AtomicUsize,
    /// Requests with a number below this get 500.
    fail_below: AtomicUsize,
    /// While set, requests hang for 30 s.
    hang: AtomicBool,
    /// The largest request body received, in bytes.
    largest: AtomicUsize,
}

async fn receive(State(hook): State<Arc<Hook>>, body: Bytes) -> StatusCode {
    let n = hook.requests.fetch_add(1, Ordering::SeqCst);
    hook.largest.fetch_max(body.len(), Ordering::SeqCst);
    if hook.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(30)).await;
        return StatusCode::OK;
    }
    if n < hook.fail_below.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let event: Value = serde_json::from_slice(&body).unwrap();
    let batch = event["Records"].as_array().cloned().unwrap_or_default();
    hook.records.lock().unwrap().extend(batch);
    StatusCode::OK
}

async fn start_hook() -> (Arc<Hook>, SocketAddr) {
    let hook = Arc::new(Hook::default());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        // Bodies as large as the store may send (axum's default stops at 2 MB).
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
        .with_state(Arc::clone(&hook));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (hook, addr)
}

/// A store started with `flags`.
fn store_with(flags: &[&str]) -> StoreProcess {
    StoreProcess::spawn_with(StoreOptions {
        args: flags.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    })
}

/// Whether the dead-letter table `dead` comes to hold at least `count` items (within 30 s).
async fn dead_lettered(ddb: &Client, dead: &str, count: usize) -> bool {
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            match ddb.scan().table_name(dead).send().await {
                Ok(out) => out.items().len() >= count,
                Err(_) => false,
            }
        },
    )
    .await
}

async fn stream_table(ddb: &Client, name: &str) {
    create_hash_table(ddb, name).await;
    enable_stream(ddb, name, StreamViewType::NewImage).await;
}

async fn create_trigger(store: &StoreProcess, spec: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/triggers", store.endpoint()))
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .body(spec.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn put(ddb: &Client, table: &str, pk: &str, v: i64) {
    ok(ddb
        .put_item()
        .table_name(table)
        .item("pk", s(pk))
        .item("v", n(v))
        .send()
        .await);
}

/// First occurrences by eventID, in arrival order.
fn distinct(records: &[Value]) -> Vec<Value> {
    let mut seen = HashSet::new();
    records
        .iter()
        .filter(|r| seen.insert(r["eventID"].as_str().unwrap_or_default().to_string()))
        .cloned()
        .collect()
}

async fn wait_for_records(hook: &Hook, count: usize) -> Vec<Value> {
    let arrived = wait_until(
        Duration::from_secs(60),
        Duration::from_millis(50),
        || async { distinct(&hook.records.lock().unwrap()).len() >= count },
    )
    .await;
    let got = distinct(&hook.records.lock().unwrap());
    assert!(arrived, "only {} of {count} records arrived", got.len());
    got
}

#[tokio::test]
async fn batches_survive_target_failures_and_a_store_restart() {
    let (hook, addr) = start_hook().await;
    hook.fail_below.store(3, Ordering::SeqCst);
    let mut store = store_with(&["--trigger-retry-base", "0.05"]);
    let ddb = store.client();
    let table = unique_name("trig");
    stream_table(&ddb, &table).await;

    let (status, body) = create_trigger(
        &store,
        json!({"TriggerName": "audit", "TableName": table, "Url": format!("http://{addr}/hook"),
               "BatchSize": 7, "MaximumRetryAttempts": 50}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["StartingPosition"], "TRIM_HORIZON");
    // Bad definitions are refused.
    let (status, _) = create_trigger(
        &store,
        json!({"TriggerName": "audit", "TableName": table, "Url": format!("http://{addr}/hook")}),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = create_trigger(
        &store,
        json!({"TriggerName": "x", "TableName": table, "Url": "nope"}),
    )
    .await;
    assert_eq!(status, 400);
    // Lambda options the store does not implement (ReportBatchItemFailures would have the
    // target's reported failures dropped) and misspelt ones are refused, not ignored.
    for (option, value) in [
        ("FunctionResponseTypes", json!(["ReportBatchItemFailures"])),
        ("Batchsize", json!(5)),
    ] {
        let mut spec = json!({"TriggerName": "y", "TableName": table,
                              "Url": format!("http://{addr}/hook")});
        spec[option] = value;
        let (status, body) = create_trigger(&store, spec).await;
        assert_eq!(status, 400, "{option}: {body}");
        assert!(body.to_string().contains(option), "{option}: {body}");
    }

    for round in 0..10 {
        for k in 0..5 {
            put(&ddb, &table, &format!("k{k}"), round).await;
        }
    }
    let first = wait_for_records(&hook, 50).await;
    assert!(
        hook.requests.load(Ordering::SeqCst) > 3,
        "failures were retried"
    );
    let sample = &first[0];
    assert_eq!(sample["eventSource"], "aws:dynamodb");
    assert!(sample["eventSourceARN"]
        .as_str()
        .unwrap()
        .contains("/stream/"));
    assert_eq!(sample["eventName"], "INSERT");

    // Restart: the checkpoint survives, delivery resumes without gaps.
    store.restart();
    let ddb = store.client();
    for round in 10..14 {
        for k in 0..5 {
            put(&ddb, &table, &format!("k{k}"), round).await;
        }
    }
    let all = wait_for_records(&hook, 70).await;
    assert_eq!(all.len(), 70);
    let seqs: Vec<u128> = all
        .iter()
        .map(|r| {
            r["dynamodb"]["SequenceNumber"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in commit order");
    let mut per_key: HashMap<String, Vec<i64>> = HashMap::new();
    for r in &all {
        per_key
            .entry(
                r["dynamodb"]["Keys"]["pk"]["S"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
            .or_default()
            .push(
                r["dynamodb"]["NewImage"]["v"]["N"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap(),
            );
    }
    for values in per_key.values() {
        assert_eq!(values, &(0..14).collect::<Vec<i64>>());
    }

    let listed = reqwest::Client::new()
        .get(format!("{}/triggers/audit", store.endpoint()))
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status().as_u16(), 200);
    let metrics = metrics_text(&store.endpoint()).await;
    assert!(
        metrics.contains("store_trigger_records_delivered_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn failing_and_hanging_targets_dead_letter_and_move_on() {
    let (hook, addr) = start_hook().await;
    hook.hang.store(true, Ordering::SeqCst);
    let store = store_with(&["--trigger-timeout", "0.3", "--trigger-retry-base", "0.05"]);
    let ddb = store.client();
    let table = unique_name("dlq");
    let dead = unique_name("dead");
    stream_table(&ddb, &table).await;
    let (status, body) = create_trigger(
        &store,
        json!({"TriggerName": "fragile", "TableName": table, "Url": format!("http://{addr}/hook"),
               "BatchSize": 10, "MaximumRetryAttempts": 1, "DeadLetterTableName": dead}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    put(&ddb, &table, "a", 1).await;
    put(&ddb, &table, "b", 1).await;

    // The hanging target times out twice; the batch lands in the dead-letter table.
    assert!(
        dead_lettered(&ddb, &dead, 2).await,
        "the failed batch never reached the dead-letter table"
    );
    let items = ok(ddb.scan().table_name(&dead).send().await);
    for item in items.items() {
        assert_eq!(
            item.get("TriggerName")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str),
            Some("fragile")
        );
        assert!(item.get("Record").is_some() && item.get("Error").is_some());
    }

    // The target now answers 500: retried, then dead-lettered again.
    hook.hang.store(false, Ordering::SeqCst);
    hook.fail_below.store(usize::MAX, Ordering::SeqCst);
    put(&ddb, &table, "c", 1).await;
    assert!(
        dead_lettered(&ddb, &dead, 3).await,
        "the 500s were never dead-lettered"
    );

    // Healed: the next record is delivered.
    hook.fail_below.store(0, Ordering::SeqCst);
    put(&ddb, &table, "d", 1).await;
    let got = wait_for_records(&hook, 1).await;
    assert_eq!(got[0]["dynamodb"]["Keys"]["pk"]["S"], "d");
}

/// Dead letters never set a trigger off (each would make another, without end) and never
/// land in a table without their key: a trigger dead-lettering into its own table, into a
/// table with triggers, or on a table others dead-letter into is refused, as is a
/// dead-letter table of another key. One of another key made after the trigger gets no
/// dead letters (they wait); once it is gone, the store makes it with the right key and
/// they arrive.
#[tokio::test]
async fn dead_letters_never_loop_or_land_without_their_key() {
    let (hook, addr) = start_hook().await;
    hook.fail_below.store(usize::MAX, Ordering::SeqCst);
    let store = store_with(&["--trigger-retry-base", "0.05"]);
    let ddb = store.client();
    let url = format!("http://{addr}/hook");
    let (table, other, dead) = (
        unique_name("loop"),
        unique_name("loop"),
        unique_name("dead"),
    );
    stream_table(&ddb, &table).await;
    stream_table(&ddb, &other).await;
    let spec = |name: &str, on: &str, dead: &str| {
        json!({"TriggerName": name, "TableName": on, "Url": url,
               "MaximumRetryAttempts": 0, "DeadLetterTableName": dead})
    };
    let refused = |body: Value| body["message"].as_str().unwrap_or_default().to_string();

    let (status, body) = create_trigger(&store, spec("self", &table, &table)).await;
    assert_eq!(status, 400, "{body}");
    assert!(refused(body).contains("own table"));
    // The table named by its ARN is the same table.
    let described = ok(ddb.describe_table().table_name(&table).send().await);
    let arn = described.table.unwrap().table_arn.unwrap();
    let (status, body) = create_trigger(&store, spec("self-by-arn", &arn, &table)).await;
    assert_eq!(status, 400, "{body}");
    assert!(refused(body).contains("own table"));
    // `other` (hash key `pk`) exists with another key than a dead-letter table's.
    let (status, body) = create_trigger(&store, spec("keyed", &table, &other)).await;
    assert_eq!(status, 400, "{body}");
    assert!(refused(body).contains("TriggerName (S, HASH)"));

    let (status, body) = create_trigger(&store, spec("main", &table, &dead)).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = create_trigger(&store, spec("into-main", &other, &table)).await;
    assert_eq!(status, 400, "{body}");
    assert!(refused(body).contains("has triggers of its own"));

    // The dead-letter table made by hand with another key, before any batch failed.
    create_hash_table(&ddb, &dead).await;
    put(&ddb, &table, "a", 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let items = ok(ddb.scan().table_name(&dead).send().await);
    assert_eq!(items.items().len(), 0, "{:?}", items.items());
    ok(ddb.delete_table().table_name(&dead).send().await);
    assert!(
        dead_lettered(&ddb, &dead, 1).await,
        "the waiting dead letter never arrived"
    );
    let items = ok(ddb.scan().table_name(&dead).send().await);
    assert_eq!(items.items()[0]["TriggerName"].as_s().unwrap(), "main");

    enable_stream(&ddb, &dead, StreamViewType::NewImage).await;
    let (status, body) = create_trigger(&store, spec("on-dead", &dead, "elsewhere")).await;
    assert_eq!(status, 400, "{body}");
    assert!(refused(body).contains("dead-letter table of another trigger"));
}

/// `MaximumRetryAttempts: -1`, Lambda's default: a batch is retried past any count (here
/// five failures, more than the default three retries allow) until the target takes it;
/// only once its oldest record has left the stream (a 3 s retention here) is it
/// dead-lettered, with the tries it took.
#[tokio::test]
async fn retries_until_the_records_expire_with_lambdas_default() {
    let (hook, addr) = start_hook().await;
    let store = store_with(&["--trigger-retry-base", "0.05", "--stream-retention", "3"]);
    let ddb = store.client();
    let table = unique_name("untilexp");
    let dead = unique_name("dead");
    stream_table(&ddb, &table).await;
    hook.fail_below.store(5, Ordering::SeqCst);
    let (status, body) = create_trigger(
        &store,
        json!({"TriggerName": "patient", "TableName": table, "Url": format!("http://{addr}/hook"),
               "MaximumRetryAttempts": -1, "DeadLetterTableName": dead}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    put(&ddb, &table, "a", 1).await;
    let got = wait_for_records(&hook, 1).await;
    assert_eq!(got[0]["dynamodb"]["Keys"]["pk"]["S"], "a");
    assert!(hook.requests.load(Ordering::SeqCst) >= 6);

    // A target that never heals: given up once the record expires.
    hook.fail_below.store(usize::MAX, Ordering::SeqCst);
    put(&ddb, &table, "b", 1).await;
    assert!(
        dead_lettered(&ddb, &dead, 1).await,
        "the expired batch was never dead-lettered"
    );
    let items = ok(ddb.scan().table_name(&dead).send().await);
    let tries: u64 = items.items()[0]["Attempts"]
        .as_n()
        .unwrap()
        .parse()
        .unwrap();
    assert!(tries > 4, "given up after {tries} tries");
}

/// Once `DELETE /triggers/{name}` has answered, the trigger sends nothing more: a write
/// made after it never reaches the target (the worker, stopped by the supervisor within
/// half a second, sent it in most tries before it checked its definition before each
/// batch).
#[tokio::test]
async fn a_deleted_trigger_delivers_nothing_written_after_the_delete() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("trigdel");
    stream_table(&ddb, &table).await;
    let (hook, addr) = start_hook().await;
    let arrived = |pk: String| {
        let hook = Arc::clone(&hook);
        move || {
            let hook = Arc::clone(&hook);
            let pk = pk.clone();
            async move {
                let records = hook.records.lock().unwrap();
                records
                    .iter()
                    .any(|r| r["dynamodb"]["Keys"]["pk"]["S"] == pk.as_str())
            }
        }
    };
    for round in 0..5 {
        let name = format!("gone{round}");
        let spec = json!({"TriggerName": name, "TableName": table,
                          "Url": format!("http://{addr}/hook"), "StartingPosition": "LATEST"});
        let (status, body) = create_trigger(&store, spec).await;
        assert_eq!(status, 201, "{body}");
        // The worker runs: a write before the delete arrives.
        let before = format!("before{round}");
        put(&ddb, &table, &before, round).await;
        let delivered = wait_until(
            Duration::from_secs(30),
            Duration::from_millis(20),
            arrived(before),
        )
        .await;
        assert!(delivered, "round {round}: the trigger never delivered");
        let deleted = reqwest::Client::new()
            .delete(format!("{}/triggers/{name}", store.endpoint()))
            .header("x-dax-cluster-secret", CLUSTER_SECRET)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status().as_u16(), 200);
        let after = format!("after{round}");
        put(&ddb, &table, &after, round).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(
            !arrived(after)().await,
            "round {round}: a write made after the delete was delivered"
        );
    }
}

/// A trigger of a deleted table says so, also once a table of the same name exists again
/// (another table, with another stream, which the trigger does not follow).
#[tokio::test]
async fn a_trigger_of_a_deleted_table_says_so_after_the_name_is_reused() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("trigre");
    stream_table(&ddb, &table).await;
    let spec = json!({"TriggerName": "t", "TableName": table, "Url": "http://127.0.0.1:9/hook"});
    let (status, body) = create_trigger(&store, spec).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["State"], "Enabled");
    let state = || async {
        let response = reqwest::Client::new()
            .get(format!("{}/triggers/t", store.endpoint()))
            .header("x-dax-cluster-secret", CLUSTER_SECRET)
            .send()
            .await
            .unwrap();
        response.json::<Value>().await.unwrap()["State"].clone()
    };
    ok(ddb.delete_table().table_name(&table).send().await);
    wait_table_gone(&ddb, &table).await;
    assert_eq!(state().await, "TableDeleted");
    stream_table(&ddb, &table).await;
    assert_eq!(state().await, "TableDeleted");
}

/// A batch whose event would pass Lambda's 6 MB payload limit is cut there, and the
/// records after the cut follow in the next batch: twenty 380 KB images arrive in order,
/// in requests of at most 6 MB.
#[tokio::test]
async fn batches_are_cut_at_the_payload_limit() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("trigbig");
    stream_table(&ddb, &table).await;
    let (hook, addr) = start_hook().await;
    for i in 0..20 {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i:02}")))
            .item("v", s(&"x".repeat(380_000)))
            .send()
            .await);
    }
    let spec = json!({"TriggerName": "big", "TableName": table,
                      "Url": format!("http://{addr}/hook"), "BatchSize": 100});
    let (status, body) = create_trigger(&store, spec).await;
    assert_eq!(status, 201, "{body}");
    let records = wait_for_records(&hook, 20).await;
    let keys: Vec<&str> = records
        .iter()
        .map(|r| r["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("k{i:02}")).collect();
    assert_eq!(keys, expected);
    let largest = hook.largest.load(Ordering::SeqCst);
    assert!(largest <= 6 * 1024 * 1024, "a {largest}-byte request");
    assert!(hook.requests.load(Ordering::SeqCst) >= 2);
}

/// In a global table a delete of an absent item is logged for its version, which the
/// other replicas need; streams do not show it, and no trigger is sent it: a read of such
/// changes alone is passed over.
#[tokio::test]
async fn deletes_of_absent_items_of_a_global_table_reach_no_trigger() {
    // The other region's store never answers: its replica is never made, but the table
    // is global here from the moment it is added.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let away = format!("eu-west-1=http://{}", silent.local_addr().unwrap());
    let store = store_with(&["--region-endpoints", &away]);
    let ddb = store.client();
    let table = unique_name("trigghost");
    create_hash_table(&ddb, &table).await;
    enable_stream(&ddb, &table, StreamViewType::NewAndOldImages).await;
    let (hook, addr) = start_hook().await;
    let spec = json!({"TriggerName": unique_name("ghosts"), "TableName": table,
                      "Url": format!("http://{addr}/hook"), "StartingPosition": "TRIM_HORIZON"});
    let (status, body) = create_trigger(&store, spec).await;
    assert_eq!(status, 201, "{body}");
    let create = aws_sdk_dynamodb::types::CreateReplicationGroupMemberAction::builder()
        .region_name("eu-west-1")
        .build()
        .unwrap();
    let add = aws_sdk_dynamodb::types::ReplicationGroupUpdate::builder()
        .create(create)
        .build();
    ok(ddb
        .update_table()
        .table_name(&table)
        .replica_updates(add)
        .send()
        .await);

    for ghost in 0..5 {
        let key = format!("ghost{ghost}");
        ok(ddb
            .delete_item()
            .table_name(&table)
            .key("pk", s(&key))
            .send()
            .await);
    }
    put(&ddb, &table, "real", 1).await;
    let got = wait_for_records(&hook, 1).await;
    let shown: Vec<(&str, &str)> = got
        .iter()
        .map(|r| {
            let pk = r["dynamodb"]["Keys"]["pk"]["S"]
                .as_str()
                .unwrap_or_default();
            (r["eventName"].as_str().unwrap_or_default(), pk)
        })
        .collect();
    assert_eq!(shown, [("INSERT", "real")]);
}

/// A trigger whose table is idle while other tables write counts none of their changes as
/// its own when the log's retention trims them (3 s here): it follows the log
/// past them. It counted every change in the store that aged out, a false data-loss alarm
/// on `store_trigger_trimmed_records_total`, before.
#[tokio::test]
async fn an_idle_trigger_counts_no_other_tables_trimmed_changes() {
    let (hook, addr) = start_hook().await;
    let store = store_with(&["--stream-retention", "3", "--feed-retention", "3"]);
    let ddb = store.client();
    let endpoint = store.endpoint();
    let (idle, busy) = (unique_name("idle"), unique_name("busy"));
    stream_table(&ddb, &idle).await;
    create_hash_table(&ddb, &busy).await;
    let spec =
        json!({"TriggerName": "quiet", "TableName": idle, "Url": format!("http://{addr}/hook")});
    let (status, body) = create_trigger(&store, spec).await;
    assert_eq!(status, 201, "{body}");
    put(&ddb, &idle, "only", 1).await;
    wait_for_records(&hook, 1).await;
    for i in 0..10 {
        put(&ddb, &busy, &format!("other-{i}"), i).await;
    }
    assert!(log_trimmed(&endpoint).await, "the log was never trimmed");
    // The trigger looks for trimmed records each time it wakes (at least every second).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        metric(&endpoint, "store_trigger_trimmed_records_total").await,
        0.0
    );
}
