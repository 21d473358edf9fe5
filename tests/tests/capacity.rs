//! Capacity with aws-sdk-dynamodb: ConsumedCapacity for items of known sizes (TOTAL and
//! INDEXES), a provisioned table that throttles under a burst and recovers once its
//! bucket refills, on-demand maximums (table and GSI) that throttle with
//! ThrottlingException, the `ThrottlingReasons` of both, and batches that hand a
//! throttled table's requests back unprocessed, or the part past the table's capacity
//! (DYNAMODB.md §8).

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::builders::GlobalSecondaryIndexBuilder;
use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, KeyType, ProvisionedThroughput, ReturnConsumedCapacity,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

/// The GSI `by_g` on `g` (S), projecting ALL; its capacity settings are the caller's.
fn by_g() -> GlobalSecondaryIndexBuilder {
    gsi_projecting_all("by_g", "g")
}

/// CreateTable of `name`, keyed by `pk` (S), with `index` (a [`by_g`]); the table's
/// billing is the caller's.
fn create_with_by_g(
    ddb: &Client,
    name: &str,
    index: GlobalSecondaryIndex,
) -> CreateTableFluentBuilder {
    ddb.create_table()
        .table_name(name)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(index)
}

/// An on-demand table `pk` (S) with a GSI `by_g` on `g` (S), projecting ALL.
async fn table_with_gsi(ddb: &Client) -> String {
    let name = unique_name("cap");
    ok(create_with_by_g(ddb, &name, by_g().build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    wait_table_active(ddb, &name).await;
    name
}

/// Calls `call(0)`, `call(1)`, ... at most `attempts` times and returns the first failure
/// with its attempt number: how these tests drive a bucket until it throttles.
async fn first_failure<T, E, Fut>(
    attempts: usize,
    mut call: impl FnMut(usize) -> Fut,
) -> Option<(usize, E)>
where
    Fut: std::future::Future<Output = Result<T, E>>,
{
    for i in 0..attempts {
        if let Err(e) = call(i).await {
            return Some((i, e));
        }
    }
    None
}

/// An item `{pk: id, data: "x"*n}` of exactly `size` bytes (S sizes are name + value bytes).
fn sized(
    id: &str,
    size: usize,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let fixed = "pk".len() + id.len() + "data".len();
    item(&[("pk", s(id)), ("data", s(&"x".repeat(size - fixed)))])
}

#[tokio::test]
async fn consumed_capacity_for_items_of_known_sizes() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = table_with_gsi(&ddb).await;

    for (i, (size, expected)) in [(100, 1.0), (1024, 1.0), (1025, 2.0), (10 * 1024, 10.0)]
        .into_iter()
        .enumerate()
    {
        let out = ok(ddb
            .put_item()
            .table_name(&table)
            .set_item(Some(sized(&format!("w{i}"), size)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await);
        let cc = out.consumed_capacity.unwrap();
        assert_eq!(cc.table_name(), Some(table.as_str()));
        assert_eq!(cc.capacity_units(), Some(expected), "put of {size} bytes");
    }

    for (i, (size, consistent, expected)) in [
        (4096, true, 1.0),
        (4096, false, 0.5),
        (4097, true, 2.0),
        (9000, false, 1.5),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("r{i}");
        ok(ddb
            .put_item()
            .table_name(&table)
            .set_item(Some(sized(&id, size)))
            .send()
            .await);
        let out = ok(ddb
            .get_item()
            .table_name(&table)
            .key("pk", s(&id))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await);
        assert_eq!(
            out.consumed_capacity.unwrap().capacity_units(),
            Some(expected),
            "get of {size} bytes, consistent {consistent}"
        );
    }

    // INDEXES: a write into the GSI is charged to it as well as to the table.
    let mut it = sized("gw", 300);
    it.insert("g".into(), s("G"));
    let out = ok(ddb
        .put_item()
        .table_name(&table)
        .set_item(Some(it))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await);
    let cc = out.consumed_capacity.unwrap();
    assert_eq!(cc.capacity_units(), Some(2.0));
    assert_eq!(cc.table().and_then(|t| t.capacity_units()), Some(1.0));
    let by_g = cc.global_secondary_indexes().unwrap().get("by_g").unwrap();
    assert_eq!(by_g.capacity_units(), Some(1.0));

    // A batch of such writes reports the same breakdown, summed: two items into the
    // table and the GSI, one into the table alone.
    let into_g = |id: &str| {
        let mut it = sized(id, 300);
        it.insert("g".into(), s("H"));
        it
    };
    let requests = [into_g("bw1"), into_g("bw2"), sized("bw3", 300)].map(|it| {
        let put = aws_sdk_dynamodb::types::PutRequest::builder()
            .set_item(Some(it))
            .build()
            .unwrap();
        aws_sdk_dynamodb::types::WriteRequest::builder()
            .put_request(put)
            .build()
    });
    let out = ok(ddb
        .batch_write_item()
        .request_items(&table, requests.to_vec())
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await);
    let cc = &out.consumed_capacity()[0];
    assert_eq!(cc.capacity_units(), Some(5.0));
    assert_eq!(cc.table().and_then(|t| t.capacity_units()), Some(3.0));
    let by_g = cc.global_secondary_indexes().unwrap().get("by_g").unwrap();
    assert_eq!(by_g.capacity_units(), Some(2.0));

    // A transaction's write reports its shares too, doubled, as write units.
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(&table)
        .set_item(Some(into_g("tw1")))
        .build()
        .unwrap();
    let out = ok(ddb
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put)
                .build(),
        )
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await);
    let cc = &out.consumed_capacity()[0];
    assert_eq!(
        (cc.capacity_units(), cc.write_capacity_units()),
        (Some(4.0), Some(4.0))
    );
    let table_share = cc.table().unwrap();
    assert_eq!(
        (
            table_share.capacity_units(),
            table_share.write_capacity_units()
        ),
        (Some(2.0), Some(2.0))
    );
    let by_g = cc.global_secondary_indexes().unwrap().get("by_g").unwrap();
    assert_eq!(
        (by_g.capacity_units(), by_g.write_capacity_units()),
        (Some(2.0), Some(2.0))
    );

    // A GSI query reports its units under the index.
    let out = ok(ddb
        .query()
        .table_name(&table)
        .index_name("by_g")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("G"))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await);
    assert_eq!(out.count, 1);
    let cc = out.consumed_capacity.unwrap();
    assert_eq!(cc.capacity_units(), Some(0.5));
    let by_g = cc.global_secondary_indexes().unwrap().get("by_g").unwrap();
    assert_eq!(by_g.capacity_units(), Some(0.5));
    // As DynamoDB answers an index read: the table's arm at 0, and no ReadCapacityUnits
    // (only transactions carry it).
    let table_arm = cc.table().unwrap();
    assert_eq!(
        (table_arm.capacity_units(), table_arm.read_capacity_units()),
        (Some(0.0), None)
    );
    assert_eq!(cc.read_capacity_units(), None);
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("k"))
        .send()
        .await);
    let on_table = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("k"))
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await);
    let cc = on_table.consumed_capacity.unwrap();
    assert_eq!(cc.read_capacity_units(), None);
    assert_eq!(cc.table().and_then(|t| t.read_capacity_units()), None);
    let read = aws_sdk_dynamodb::types::Get::builder()
        .table_name(&table)
        .key("pk", s("k"))
        .build()
        .unwrap();
    let transaction = ok(ddb
        .transact_get_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactGetItem::builder()
                .get(read)
                .build(),
        )
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await);
    let cc = &transaction.consumed_capacity()[0];
    assert_eq!(
        (cc.capacity_units(), cc.read_capacity_units()),
        (Some(2.0), Some(2.0))
    );
    assert_eq!(cc.table().and_then(|t| t.read_capacity_units()), Some(2.0));
}

#[tokio::test]
async fn provisioned_table_throttles_a_burst_and_recovers() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("thr");
    // 40 WCU: 12,000 units of burst, ~293 units per 300 KB write, so about 41 writes pass;
    // the debt left is at most one write, repaid in under 8 s.
    provisioned_table(&ddb, &table, 5, 40).await;
    let blob = "x".repeat(300_000);
    let put = |i: usize| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i}")))
            .item("blob", s(&blob))
            .send()
    };
    let (throttled_at, e) = first_failure(100, put)
        .await
        .expect("the burst was never throttled");
    assert_eq!(e.code(), Some("ProvisionedThroughputExceededException"));
    assert_eq!(
        e.message(),
        Some("The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.")
    );
    assert!(
        throttled_at >= 40,
        "throttled too early, after {throttled_at} writes"
    );

    // The bucket refills at 40 units per second: writes are admitted again.
    let recovered = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(500),
        || async { put(1000).await.is_ok() },
    )
    .await;
    assert!(recovered, "writes were not admitted again after the refill");

    // Reads have their own bucket and were never touched.
    ok(ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("k0"))
        .send()
        .await);

    // Metering: the store's /metrics counts the units per table.
    let body = metrics_text(&store.endpoint()).await;
    assert!(
        body.lines().any(
            |l| l.starts_with("store_consumed_write_capacity_units_total") && l.contains(&table)
        ),
        "no write-unit counter for {table} in /metrics"
    );
}

/// Capacity raised by UpdateTable accrues at the new rate from the update, not only from
/// the table's next request: a drained 1-WCU table raised to 100 takes 100 writes in a
/// row 1.5 s later (it took one in eight).
#[tokio::test]
async fn a_raised_throughput_accrues_from_the_update() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("raise");
    provisioned_table(&ddb, &table, 1, 1).await;
    let put = |i: usize| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i}")))
            .send()
    };
    first_failure(1000, put)
        .await
        .expect("the burst was never used up");
    ok(ddb
        .update_table()
        .table_name(&table)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(1)
                .write_capacity_units(100)
                .build()
                .unwrap(),
        )
        .send()
        .await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let refused = first_failure(100, |i| put(10_000 + i)).await;
    assert!(
        refused.is_none(),
        "throttled after {:?} writes",
        refused.map(|(at, _)| at)
    );
}

/// ~14,700 write units in a few seconds: far past any small provisioned table, within the
/// on-demand per-table quota (40,000 a second).
#[tokio::test]
async fn on_demand_table_is_not_throttled_below_the_per_table_quota() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("od");
    create_hash_table(&ddb, &table).await;
    let blob = "x".repeat(300_000);
    for i in 0..50 {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i}")))
            .item("blob", s(&blob))
            .send()
            .await);
    }
}

#[tokio::test]
async fn gsi_throttles_writes_and_on_demand_switch_lifts_limits() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("gthr");
    let pt = throughput;
    // The table has plenty of write capacity; its GSI has 1 WCU (300 units of burst).
    let index = by_g().provisioned_throughput(pt(1, 1)).build().unwrap();
    ok(create_with_by_g(&ddb, &table, index)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(pt(100, 1000))
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    let blob = "x".repeat(300_000);
    let put = |i: usize| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i}")))
            .item("g", s("G"))
            .item("blob", s(&blob))
            .send()
    };
    let (_, e) = first_failure(10, put)
        .await
        .expect("the GSI never throttled");
    assert_eq!(e.code(), Some("ProvisionedThroughputExceededException"));
    assert!(e
        .message()
        .unwrap_or_default()
        .contains("one or more global secondary indexes"));

    // On-demand tables are held only to the per-table quota: switching lifts the limit at
    // once, and DescribeTable reports the new mode.
    ok(ddb
        .update_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    ok(put(100).await);
    let described = ok(ddb.describe_table().table_name(&table).send().await);
    let summary = described.table.unwrap().billing_mode_summary.unwrap();
    assert_eq!(summary.billing_mode(), Some(&BillingMode::PayPerRequest));
}

/// A put of `{pk: id}` for BatchWriteItem.
fn put_request(id: &str) -> aws_sdk_dynamodb::types::WriteRequest {
    batch_put(item(&[("pk", s(id))]))
}

/// Keys `{pk: id}` for BatchGetItem.
fn keys_of(ids: &[&str]) -> aws_sdk_dynamodb::types::KeysAndAttributes {
    let mut keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder();
    for id in ids {
        keys = keys.keys(item(&[("pk", s(id))]));
    }
    keys.build().unwrap()
}

/// Calls `call` until it fails (at most 20 times) and returns the error's code.
async fn drain<F, Fut, T, E>(mut call: F) -> Option<String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: ProvideErrorMetadata,
{
    for _ in 0..20 {
        if let Err(e) = call().await {
            return e.code().map(str::to_string);
        }
    }
    None
}

#[tokio::test]
async fn batches_hand_back_a_throttled_tables_requests_unprocessed() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    // 1 RCU and 1 WCU: 300 units of burst each, refilled at 1 per second, so once drained
    // the table stays out of capacity for minutes.
    let slow = unique_name("slow");
    provisioned_table(&ddb, &slow, 1, 1).await;
    let open = table_with_gsi(&ddb).await;
    let throttled = Some("ProvisionedThroughputExceededException".to_string());

    // Writes: ~293 units per 300 KB put drain the write bucket in two.
    let big = sized("big", 300_000);
    let put_big = || {
        ddb.put_item()
            .table_name(&slow)
            .set_item(Some(big.clone()))
            .send()
    };
    assert_eq!(drain(put_big).await, throttled);
    let out = ok(ddb
        .batch_write_item()
        .request_items(&slow, vec![put_request("w1")])
        .request_items(&open, vec![put_request("w1")])
        .send()
        .await);
    let unprocessed = out.unprocessed_items().unwrap();
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(unprocessed.get(&slow).map(Vec::len), Some(1));
    let written = |table: String| {
        let ddb = ddb.clone();
        async move {
            ok(ddb
                .get_item()
                .table_name(table)
                .key("pk", s("w1"))
                .consistent_read(true)
                .send()
                .await)
            .item()
            .is_some()
        }
    };
    assert!(
        written(open.clone()).await,
        "the open table's put was not written"
    );
    assert!(
        !written(slow.clone()).await,
        "the throttled table's put was written"
    );
    let refused = ddb
        .batch_write_item()
        .request_items(&slow, vec![put_request("w2")])
        .send()
        .await;
    assert_eq!(
        refused.err().and_then(|e| e.code().map(str::to_string)),
        throttled
    );

    // Reads: 74 units per consistent read of the 300 KB item.
    let read_big = || {
        ddb.get_item()
            .table_name(&slow)
            .key("pk", s("big"))
            .consistent_read(true)
            .send()
    };
    assert_eq!(drain(read_big).await, throttled);
    let out = ok(ddb
        .batch_get_item()
        .request_items(&slow, keys_of(&["big"]))
        .request_items(&open, keys_of(&["w1"]))
        .send()
        .await);
    assert_eq!(
        out.responses().and_then(|r| r.get(&open)).map(Vec::len),
        Some(1)
    );
    assert!(out.responses().is_some_and(|r| !r.contains_key(&slow)));
    let unprocessed = out.unprocessed_keys().unwrap();
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(unprocessed.get(&slow).map(|k| k.keys().len()), Some(1));
    let refused = ddb
        .batch_get_item()
        .request_items(&slow, keys_of(&["big"]))
        .send()
        .await;
    assert_eq!(
        refused.err().and_then(|e| e.code().map(str::to_string)),
        throttled
    );
}

/// A batch runs while its table's capacity lasts and hands the rest back: on a fresh
/// 1-WCU table (300 units of burst) a BatchWriteItem of 25 puts of ~98 units each writes
/// four (the one that crosses the burst included) and hands back the rest, rather than writing all 25 and
/// leaving the table ~2,150 units (36 minutes) in debt; likewise a BatchGetItem of 25
/// strong reads of ~25 units each on a 1-RCU table.
#[tokio::test]
async fn batches_stop_where_the_tables_capacity_runs_out() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let ids: Vec<String> = (0..25).map(|i| format!("i{i:02}")).collect();
    let puts: Vec<_> = ids.iter().map(|id| batch_put(sized(id, 100_000))).collect();

    let writes = unique_name("bwcap");
    provisioned_table(&ddb, &writes, 100, 1).await;
    let out = ok(ddb
        .batch_write_item()
        .request_items(&writes, puts.clone())
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await);
    assert_about_four_written(&out, &writes);
    let consumed: f64 = out
        .consumed_capacity()
        .iter()
        .filter_map(|c| c.capacity_units())
        .sum();
    assert!(consumed <= 4.0 * 98.0, "consumed {consumed}");

    let reads = unique_name("bgcap");
    provisioned_table(&ddb, &reads, 1, 10_000).await;
    ok(ddb
        .batch_write_item()
        .request_items(&reads, puts)
        .send()
        .await);
    let out = ok(ddb
        .batch_get_item()
        .request_items(&reads, {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut keys = keys_of(&ids);
            keys.consistent_read = Some(true);
            keys
        })
        .send()
        .await);
    let read = out
        .responses()
        .and_then(|r| r.get(&reads))
        .map_or(0, Vec::len);
    let handed_back = out
        .unprocessed_keys()
        .and_then(|u| u.get(&reads))
        .map_or(0, |k| k.keys().len());
    assert_eq!(read + handed_back, 25);
    assert!((12..=14).contains(&read), "{read} of 25 read");
}

/// A GSI's capacity holds a batch back the same way: 25 writes of ~100 KB entries to a GSI
/// of 1 WCU (300 units of burst) on a table of 10,000 WCU stop after about four, rather
/// than leaving the GSI ~2,150 units in debt, refusing every write that reaches it for 36
/// minutes.
#[tokio::test]
async fn batches_stop_where_a_gsis_capacity_runs_out() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("bwgsi");
    let index = by_g()
        .provisioned_throughput(throughput(1, 1))
        .build()
        .unwrap();
    ok(create_with_by_g(&ddb, &table, index)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(1, 10_000))
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    let puts = (0..25)
        .map(|i| {
            let mut item = sized(&format!("i{i:02}"), 100_000);
            item.insert("g".into(), s("G"));
            batch_put(item)
        })
        .collect();
    let out = ok(ddb
        .batch_write_item()
        .request_items(&table, puts)
        .send()
        .await);
    assert_about_four_written(&out, &table);
}

/// Of a batch of 25 writes of ~100 units each, the four or so that a 300-unit burst takes
/// were written (the one that crosses it included), the rest handed back.
fn assert_about_four_written(out: &BatchWriteItemOutput, table: &str) {
    let handed_back = out
        .unprocessed_items()
        .and_then(|u| u.get(table))
        .map_or(0, Vec::len);
    assert!(
        (20..=22).contains(&handed_back),
        "{handed_back} of 25 handed back"
    );
}

/// A Query of a KEYS_ONLY LSI whose ProjectionExpression names only what the index stores
/// reads (and is charged for) the index entries alone; ALL_ATTRIBUTES fetches, and is
/// charged for, the table's items: the index's entries read, plus each fetched item on its
/// own, rounded up to 4 KB, as the table's (it was the items' sizes summed and rounded
/// once, all on the index: 7 units here, where DynamoDB charges 11).
#[tokio::test]
async fn an_lsi_projection_of_stored_attributes_is_charged_as_an_index_read() {
    use aws_sdk_dynamodb::types::{ProjectionType, Select};

    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("lsicap");
    let index = lsi("by_l", "l", ProjectionType::KeysOnly, &[]);
    create_table_with_lsi(&ddb, &table, ("l", ScalarAttributeType::N), index).await;
    // Five items of ~5 KB: 25 KB of items, a few bytes of index entries.
    for i in 0..5 {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s("p"))
            .item("sk", s(&format!("s{i}")))
            .item("l", n(i))
            .item("xdata", s(&"x".repeat(5_000)))
            .send()
            .await);
    }
    let query = |select: Option<Select>, projection: Option<&str>| {
        ddb.query()
            .table_name(&table)
            .index_name("by_l")
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("p"))
            .consistent_read(true)
            .set_select(select)
            .set_projection_expression(projection.map(str::to_string))
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
    };
    let units = |out: &aws_sdk_dynamodb::operation::query::QueryOutput| {
        out.consumed_capacity().and_then(|c| c.capacity_units())
    };
    let stored = ok(query(None, Some("sk, l")).await);
    assert_eq!(stored.count(), 5);
    assert_eq!(
        units(&stored),
        Some(1.0),
        "a projection of stored attributes"
    );
    let fetched = ok(query(Some(Select::AllAttributes), None).await);
    // One unit for the five entries, two for each ~5 KB item fetched.
    assert_eq!(
        units(&fetched),
        Some(11.0),
        "ALL_ATTRIBUTES fetches the items"
    );
    let consumed = fetched.consumed_capacity().unwrap();
    assert_eq!(
        consumed.table().and_then(|t| t.capacity_units()),
        Some(10.0)
    );
    let on_index = consumed.local_secondary_indexes().unwrap()["by_l"].capacity_units();
    assert_eq!(on_index, Some(1.0));
    let lacking = ok(query(None, Some("sk, xdata")).await);
    assert_eq!(
        units(&lacking),
        Some(11.0),
        "a projection of what the LSI lacks"
    );
}

/// The `ThrottlingReasons` of a refused PutItem or GetItem: (reason, resource) pairs.
fn throttling_reasons<E: std::fmt::Debug>(
    reasons: Option<&[aws_sdk_dynamodb::types::ThrottlingReason]>,
    error: &E,
) -> Vec<(String, String)> {
    reasons
        .unwrap_or_else(|| panic!("no ThrottlingReasons in {error:?}"))
        .iter()
        .map(|r| {
            (
                r.reason().unwrap_or_default().to_string(),
                r.resource().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The `ThrottlingReasons` of a PutItem refused with ThrottlingException (panics on any
/// other error).
fn put_throttled(
    error: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>,
) -> Vec<(String, String)> {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    let Some(PutItemError::ThrottlingException(throttled)) = error.as_service_error() else {
        panic!("not a ThrottlingException: {error:?}");
    };
    throttling_reasons(throttled.throttling_reasons.as_deref(), error)
}

/// The `ThrottlingReasons` of a GetItem refused with ThrottlingException.
fn get_throttled(
    error: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError>,
) -> Vec<(String, String)> {
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    let Some(GetItemError::ThrottlingException(throttled)) = error.as_service_error() else {
        panic!("not a ThrottlingException: {error:?}");
    };
    throttling_reasons(throttled.throttling_reasons.as_deref(), error)
}

/// Reads one item of `table` until one is throttled (within 50), and checks that it was
/// for `reason` alone, on the table.
async fn reads_throttle(ddb: &Client, table: &str, reason: &str, table_arn: &str) {
    let get = || ddb.get_item().table_name(table).key("pk", s("k0")).send();
    let (_, error) = first_failure(50, |_| get())
        .await
        .unwrap_or_else(|| panic!("reads of {table} were never throttled ({reason})"));
    assert_eq!(
        get_throttled(&error),
        vec![(reason.to_string(), table_arn.to_string())]
    );
}

/// On-demand tables are throttled only above the maximum their OnDemandThroughput sets,
/// for the table and each GSI, with ThrottlingException naming the limit and its ARN; -1
/// lifts the maximum.
#[tokio::test]
async fn on_demand_maximums_throttle_with_throttling_exception() {
    use aws_sdk_dynamodb::types::OnDemandThroughput;

    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("odmax");
    let maximum = |read: i64, write: i64| {
        OnDemandThroughput::builder()
            .max_read_request_units(read)
            .max_write_request_units(write)
            .build()
    };
    // The table: 1 read unit (two eventually consistent GetItems) and 2 write units a
    // second; its GSI: 1 write unit a second, and no maximum on reads.
    let index = by_g().on_demand_throughput(maximum(-1, 1)).build().unwrap();
    ok(create_with_by_g(&ddb, &table, index)
        .billing_mode(BillingMode::PayPerRequest)
        .on_demand_throughput(maximum(1, 2))
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    let table_arn = table_arn(&ddb, &table).await;
    let on_demand_message = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html.";

    // Writes without the GSI key: the table's 2 units a second run out within a burst.
    let put = |i: usize, g: bool| {
        let request = ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i}")));
        let request = if g {
            request.item("g", s("G"))
        } else {
            request
        };
        request.send()
    };
    let (at, error) = first_failure(50, |i| put(i, false))
        .await
        .expect("writes past the table's maximum were never throttled");
    assert!(at >= 2, "throttled after only {at} writes");
    assert_eq!(error.message(), Some(on_demand_message));
    assert_eq!(
        put_throttled(&error),
        vec![(
            "TableWriteMaxOnDemandThroughputExceeded".to_string(),
            table_arn.clone()
        )]
    );

    // Reads have their own maximum.
    reads_throttle(
        &ddb,
        &table,
        "TableReadMaxOnDemandThroughputExceeded",
        &table_arn,
    )
    .await;

    // Without a table maximum on writes, the GSI's own maximum still refuses them.
    ok(ddb
        .update_table()
        .table_name(&table)
        .on_demand_throughput(maximum(1, -1))
        .send()
        .await);
    let (_, error) = first_failure(50, |i| put(100 + i, true))
        .await
        .expect("writes past the GSI's maximum were never throttled");
    assert_eq!(
        put_throttled(&error),
        vec![(
            "IndexWriteMaxOnDemandThroughputExceeded".to_string(),
            format!("{table_arn}/index/by_g")
        )]
    );
    // A second later the GSI's bucket has refilled and writes are admitted again.
    let recovered = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(200),
        || async { put(200, true).await.is_ok() },
    )
    .await;
    assert!(recovered, "writes were not admitted again after the refill");

    // An update naming one maximum keeps the other; values below 1 (but -1) are refused.
    let write_only = OnDemandThroughput::builder()
        .max_write_request_units(5)
        .build();
    ok(ddb
        .update_table()
        .table_name(&table)
        .on_demand_throughput(write_only)
        .send()
        .await);
    let described = ok(ddb.describe_table().table_name(&table).send().await);
    let limits = described.table().and_then(|t| t.on_demand_throughput());
    assert_eq!(limits, Some(&maximum(1, 5)));
    for bad in [0, -2] {
        let refused = ddb
            .update_table()
            .table_name(&table)
            .on_demand_throughput(
                OnDemandThroughput::builder()
                    .max_write_request_units(bad)
                    .build(),
            )
            .send()
            .await;
        assert_api_error(
            refused,
            "ValidationException",
            Some("One or more parameter values were invalid: Requested MaxWriteRequestUnits for OnDemandThroughput for table is outside of valid range"),
        );
    }
}

/// An on-demand table without a maximum of its own is held to the account's per-table
/// quota (`--table-max-capacity-units`), throttled with reason AccountLimitExceeded.
#[tokio::test]
async fn on_demand_tables_without_a_maximum_are_held_to_the_per_table_quota() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--table-max-capacity-units".into(), "3".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("odquota");
    ok(create_with_by_g(&ddb, &table, by_g().build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    let table_arn = table_arn(&ddb, &table).await;

    let put = |i: usize| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i}")))
            .send()
    };
    let (at, error) = first_failure(50, put)
        .await
        .expect("writes past the per-table quota were never throttled");
    assert!(at >= 3, "throttled after only {at} writes");
    assert_eq!(
        put_throttled(&error),
        vec![(
            "TableWriteAccountLimitExceeded".to_string(),
            table_arn.clone()
        )]
    );

    reads_throttle(&ddb, &table, "TableReadAccountLimitExceeded", &table_arn).await;
}

/// Provisioned throttling names its limit too.
#[tokio::test]
async fn provisioned_throttling_names_the_table_in_throttling_reasons() {
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("thrreason");
    // 1 RCU: 300 units of burst; strongly consistent reads of a 300 KB item cost 74 each.
    provisioned_table(&ddb, &table, 1, 1000).await;
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("big"))
        .item("blob", s(&"x".repeat(300_000)))
        .send()
        .await);
    let arn = ok(ddb.describe_table().table_name(&table).send().await)
        .table()
        .and_then(|t| t.table_arn())
        .unwrap()
        .to_string();
    let read = |_| {
        ddb.get_item()
            .table_name(&table)
            .key("pk", s("big"))
            .consistent_read(true)
            .send()
    };
    let (_, error) = first_failure(20, read)
        .await
        .expect("the reads were never throttled");
    let Some(GetItemError::ProvisionedThroughputExceededException(throttled)) =
        error.as_service_error()
    else {
        panic!("not ProvisionedThroughputExceededException: {error:?}");
    };
    assert_eq!(
        throttling_reasons(throttled.throttling_reasons.as_deref(), &error),
        vec![("TableReadProvisionedThroughputExceeded".to_string(), arn)]
    );
}

/// A transaction short of capacity is cancelled, not refused with the throttling error:
/// its reasons name each throttled action (`ProvisionedThroughputExceeded`) and `None` for
/// the others, for writes and for reads.
#[tokio::test]
async fn transactions_short_of_capacity_are_cancelled_naming_the_throttled_actions() {
    use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::{Get, Put, TransactGetItem, TransactWriteItem};

    let store = StoreProcess::spawn();
    let ddb = store.client();
    // 1 RCU and 1 WCU: 300 units of burst each. A 300 KB item costs 293 write units, 586
    // in a transaction, and 74 strongly consistent read units, 148 in a transaction.
    let thin = unique_name("txthin");
    provisioned_table(&ddb, &thin, 1, 1).await;
    let plenty = unique_name("txplenty");
    create_hash_table(&ddb, &plenty).await;
    let blob = "x".repeat(300_000);
    let put = |table: &str, pk: &str, big: bool| {
        let item = Put::builder()
            .table_name(table)
            .item("pk", s(pk))
            .item("blob", s(if big { &blob } else { "small" }))
            .build()
            .unwrap();
        TransactWriteItem::builder().put(item).build()
    };
    let codes = |reasons: &[aws_sdk_dynamodb::types::CancellationReason]| {
        reasons
            .iter()
            .map(|r| r.code().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };

    // The first big write drives the bucket into debt; the next transaction writing to
    // that table is cancelled, whatever its other actions.
    ok(ddb
        .transact_write_items()
        .transact_items(put(&thin, "big", true))
        .send()
        .await);
    let refused = ddb
        .transact_write_items()
        .transact_items(put(&plenty, "a", false))
        .transact_items(put(&thin, "b", false))
        .send()
        .await
        .expect_err("the write bucket is in debt");
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        refused.as_service_error()
    else {
        panic!("not a cancellation: {refused:?}");
    };
    let reasons = cancelled.cancellation_reasons();
    assert_eq!(codes(reasons), ["None", "ProvisionedThroughputExceeded"]);
    assert_eq!(
        reasons[1].message(),
        Some("The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.")
    );
    // Nothing of it was written.
    let got = ok(ddb
        .get_item()
        .table_name(&plenty)
        .key("pk", s("a"))
        .send()
        .await);
    assert!(got.item().is_none());

    // Reads: three transactional reads of the big item use up the burst.
    let get = |table: &str, pk: &str| {
        let get = Get::builder()
            .table_name(table)
            .key("pk", s(pk))
            .build()
            .unwrap();
        TransactGetItem::builder().get(get).build()
    };
    let read = |_| {
        ddb.transact_get_items()
            .transact_items(get(&thin, "big"))
            .transact_items(get(&plenty, "a"))
            .send()
    };
    let (_, refused) = first_failure(10, read)
        .await
        .expect("the read bucket never ran out");
    let Some(TransactGetItemsError::TransactionCanceledException(cancelled)) =
        refused.as_service_error()
    else {
        panic!("not a cancellation: {refused:?}");
    };
    assert_eq!(
        codes(cancelled.cancellation_reasons()),
        ["ProvisionedThroughputExceeded", "None"]
    );
}

/// A GSI out of capacity refuses only the writes that change its entries, in every write
/// path: a single-item write gets the index's throttling error, a batch hands the write
/// back unprocessed and writes the rest, a transaction is cancelled naming the action.
/// Writes that leave the index alone go through. Batches charge what they write to the
/// GSI too (the batches below are what drain it).
#[tokio::test]
async fn a_gsi_out_of_capacity_refuses_only_the_writes_that_reach_it() {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::{Put, PutRequest, TransactWriteItem, WriteRequest};

    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("gsiscope");
    let pt = |units| throughput(units, units);
    // The table has plenty of capacity; its GSI 1 WCU (300 units of burst), which two
    // 300 KB entries (293 units each) use up.
    let index = by_g().provisioned_throughput(pt(1)).build().unwrap();
    ok(create_with_by_g(&ddb, &table, index)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(pt(1000))
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    let index_arn = ok(ddb.describe_table().table_name(&table).send().await)
        .table()
        .and_then(|t| t.global_secondary_indexes().first())
        .and_then(|i| i.index_arn())
        .unwrap()
        .to_string();
    let blob = "x".repeat(300_000);
    let indexed = |pk: &str| item(&[("pk", s(pk)), ("g", s("G")), ("blob", s(&blob))]);
    let plain = |pk: &str| item(&[("pk", s(pk)), ("v", s("small"))]);
    let request = |item| {
        WriteRequest::builder()
            .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
            .build()
    };

    // Each batch writes one item the GSI indexes and one it does not, until the GSI is
    // out: then the indexed put comes back unprocessed and the plain one is written.
    let batch = |i: usize| {
        let ddb = ddb.clone();
        let table = table.clone();
        let requests = vec![
            request(indexed(&format!("gi{i}"))),
            request(plain(&format!("gp{i}"))),
        ];
        async move {
            let out = ok(ddb
                .batch_write_item()
                .request_items(&table, requests)
                .send()
                .await);
            match out.unprocessed_items().and_then(|u| u.get(&table)) {
                Some(unprocessed) => Err(unprocessed.clone()),
                None => Ok(()),
            }
        }
    };
    let (attempt, unprocessed) = first_failure(5, batch)
        .await
        .expect("batches never drained the GSI");
    assert_eq!(unprocessed.len(), 1);
    let handed_back = unprocessed[0].put_request().map(|p| p.item());
    assert_eq!(handed_back, Some(&indexed(&format!("gi{attempt}"))));
    let stored = |pk: String| {
        let ddb = ddb.clone();
        let table = table.clone();
        async move {
            ok(ddb
                .get_item()
                .table_name(table)
                .key("pk", s(&pk))
                .consistent_read(true)
                .send()
                .await)
            .item()
            .is_some()
        }
    };
    assert!(stored(format!("gp{attempt}")).await);
    assert!(!stored(format!("gi{attempt}")).await);

    // Single-item writes: those that leave the index alone pass, one that reaches it is
    // refused with the index's error, naming the index.
    ok(ddb
        .put_item()
        .table_name(&table)
        .set_item(Some(plain("p1")))
        .send()
        .await);
    ok(ddb
        .delete_item()
        .table_name(&table)
        .key("pk", s("p1"))
        .send()
        .await);
    let refused = ddb
        .put_item()
        .table_name(&table)
        .set_item(Some(indexed("i1")))
        .send()
        .await
        .expect_err("the GSI is out of capacity");
    let Some(PutItemError::ProvisionedThroughputExceededException(throttled)) =
        refused.as_service_error()
    else {
        panic!("not ProvisionedThroughputExceededException: {refused:?}");
    };
    assert_eq!(
        throttling_reasons(throttled.throttling_reasons.as_deref(), &refused),
        vec![(
            "IndexWriteProvisionedThroughputExceeded".to_string(),
            index_arn
        )]
    );

    // A transaction: the action reaching the index cancels it, and nothing is written.
    let put = |item| {
        let put = Put::builder().table_name(&table).set_item(Some(item));
        TransactWriteItem::builder()
            .put(put.build().unwrap())
            .build()
    };
    let refused = ddb
        .transact_write_items()
        .transact_items(put(plain("t1")))
        .transact_items(put(indexed("t2")))
        .send()
        .await
        .expect_err("the GSI is out of capacity");
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        refused.as_service_error()
    else {
        panic!("not a cancellation: {refused:?}");
    };
    let codes: Vec<_> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or_default())
        .collect();
    assert_eq!(codes, ["None", "ProvisionedThroughputExceeded"]);
    assert!(!stored("t1".to_string()).await);
    ok(ddb
        .transact_write_items()
        .transact_items(put(plain("t1")))
        .send()
        .await);
}

/// The `store_contributor_insights_*` rows of `/metrics` for `table` itself (`index` "")
/// or its GSI `index`: (rule, partition key, sort key, value), in the order shown.
async fn insight_rows(
    endpoint: &str,
    table: &str,
    index: &str,
) -> Vec<(String, String, String, f64)> {
    let body = metrics_text(endpoint).await;
    let label = |line: &str, name: &str| {
        let start = line.find(&format!("{name}=\""))? + name.len() + 2;
        let end = start + line[start..].find('"')?;
        Some(line[start..end].to_string())
    };
    body.lines()
        .filter(|l| l.starts_with("store_contributor_insights_"))
        .filter(|l| label(l, "table").as_deref() == Some(table))
        .filter(|l| label(l, "index").as_deref() == Some(index))
        .map(|l| {
            (
                label(l, "rule").unwrap_or_default(),
                label(l, "partition_key").unwrap_or_default(),
                label(l, "sort_key").unwrap_or_default(),
                l.rsplit(' ').next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// Runs `traffic` until a completed report period of `table` (or its GSI `index`) shows a
/// row of `rule` for `partition` (the traffic may straddle a period boundary), and returns
/// that report.
async fn report_with<F, Fut>(
    endpoint: &str,
    (table, index): (&str, &str),
    rule: &str,
    partition: &str,
    mut traffic: F,
) -> Vec<(String, String, String, f64)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..4 {
        traffic().await;
        // Periods are 1 s here: each period the burst reached is reported once the next
        // one starts, and on a loaded machine a burst spans several periods, so every
        // report of the next 3 s is looked at (not only the first one seen, which may be
        // a period that had only the burst's first or last requests).
        for _ in 0..30 {
            let rows = insight_rows(endpoint, table, index).await;
            if rows.iter().any(|r| r.0 == rule && r.1 == partition) {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("no {rule} row for {partition} of {table}");
}

/// Contributor Insights end to end: the three operations with DynamoDB's answers and
/// errors, settings that survive a restart, and `/metrics` naming the hottest keys of a
/// table and of a GSI (accessed mode) and the most throttled keys (throttled-keys mode).
#[tokio::test]
async fn contributor_insights_report_the_hottest_and_most_throttled_keys() {
    use aws_sdk_dynamodb::types::{
        ContributorInsightsAction as Action, ContributorInsightsMode as Mode,
        ContributorInsightsStatus as Status,
    };

    let mut store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_CONTRIBUTOR_INSIGHTS_PERIOD".into(), "1".into())],
        ..Default::default()
    });
    let ddb = store.client();
    let endpoint = store.endpoint();
    let table = unique_name("insights");
    ok(ddb
        .create_table()
        .table_name(&table)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(by_g().build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    let update = |table: &str, index: Option<&str>, action: Action| {
        ddb.update_contributor_insights()
            .table_name(table)
            .set_index_name(index.map(str::to_string))
            .contributor_insights_action(action)
    };
    let describe = |ddb: &Client, index: Option<&str>| {
        ddb.describe_contributor_insights()
            .table_name(&table)
            .set_index_name(index.map(str::to_string))
    };

    // Written before Contributor Insights is on: only the Queries below count it.
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("qonly"))
        .item("sk", s("z"))
        .send()
        .await);

    // Never configured: only the names and DISABLED; nothing listed.
    let fresh = ok(describe(&ddb, None).send().await);
    assert_eq!(fresh.contributor_insights_status(), Some(&Status::Disabled));
    assert!(fresh.contributor_insights_mode().is_none() && fresh.last_update_date_time().is_none());

    let enabled = ok(update(&table, None, Action::Enable).send().await);
    assert_eq!(
        enabled.contributor_insights_status(),
        Some(&Status::Enabling)
    );
    assert_eq!(
        enabled.contributor_insights_mode(),
        Some(&Mode::AccessedAndThrottledKeys)
    );
    ok(update(&table, Some("by_g"), Action::Enable).send().await);
    let described = ok(describe(&ddb, None).send().await);
    assert_eq!(
        described.contributor_insights_status(),
        Some(&Status::Enabled)
    );
    let rules: Vec<&str> = described
        .contributor_insights_rule_list()
        .iter()
        .map(|r| r.split('-').nth(1).unwrap())
        .collect();
    assert_eq!(rules, ["PKC", "SKC", "PKT", "SKT"]);
    assert!(described.contributor_insights_rule_list()[0]
        .starts_with(&format!("DynamoDBContributorInsights-PKC-{table}-")));
    let on_index = ok(describe(&ddb, Some("by_g")).send().await);
    assert_eq!(on_index.index_name(), Some("by_g"));
    assert_eq!(on_index.contributor_insights_rule_list().len(), 2);

    // List: the table, then its GSI; paged by NextToken.
    let first = ok(ddb
        .list_contributor_insights()
        .table_name(&table)
        .max_results(1)
        .send()
        .await);
    let summaries = first.contributor_insights_summaries();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].index_name(), None);
    let second = ok(ddb
        .list_contributor_insights()
        .table_name(&table)
        .max_results(1)
        .set_next_token(first.next_token().map(str::to_string))
        .send()
        .await);
    assert_eq!(
        second.contributor_insights_summaries()[0].index_name(),
        Some("by_g")
    );
    assert!(second.next_token().is_none());

    // Errors, in DynamoDB's words.
    let missing = ddb
        .describe_contributor_insights()
        .table_name("no_such_table")
        .send()
        .await
        .expect_err("no such table");
    assert_eq!(
        missing.message(),
        Some("Requested resource not found: Table: no_such_table not found")
    );
    let missing = update(&table, Some("nope"), Action::Enable)
        .send()
        .await
        .expect_err("no such index");
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        missing.message().map(str::to_string),
        Some(format!(
            "Requested resource not found: Index: nope not found for table: {table}"
        ))
    );

    // The hottest keys: one item written and read 3 times as often as 20 others, and 3 KB
    // where they are 1 KB at most; a GSI partition queried far more than another.
    let put = |pk: String, sk: &str, g: &str, size: usize| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(&pk))
            .item("sk", s(sk))
            .item("g", s(g))
            .item("data", s(&"x".repeat(size)))
            .send()
    };
    let traffic = || async {
        for i in 0..20 {
            ok(put("hot".into(), "a", "G", 2500).await);
            ok(put(format!("cold-{i}"), "a", "other", 10).await);
            ok(ddb
                .query()
                .table_name(&table)
                .index_name("by_g")
                .key_condition_expression("g = :g")
                .expression_attribute_values(":g", s("G"))
                .send()
                .await);
            ok(ddb
                .query()
                .table_name(&table)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s("qonly"))
                .send()
                .await);
            // A write refused by its condition still consumed a unit, on its key.
            ddb.put_item()
                .table_name(&table)
                .item("pk", s("refused"))
                .item("sk", s("a"))
                .condition_expression("attribute_exists(nope)")
                .send()
                .await
                .expect_err("the condition fails");
        }
    };
    let rows = report_with(&endpoint, (&table, ""), "PKC", "hot", &traffic).await;
    let pkc: Vec<_> = rows.iter().filter(|r| r.0 == "PKC").collect();
    assert_eq!(pkc[0].1, "hot", "{rows:?}");
    assert!(pkc[1..].iter().all(|r| r.3 < pkc[0].3), "{rows:?}");
    assert!(pkc.len() <= 10, "more than ten keys reported: {rows:?}");
    let skc: Vec<_> = rows.iter().filter(|r| r.0 == "SKC").collect();
    assert_eq!((skc[0].1.as_str(), skc[0].2.as_str()), ("hot", "a"));
    let rows = report_with(&endpoint, (&table, ""), "PKC", "refused", &traffic).await;
    assert!(rows.iter().any(|r| r.0 == "PKC" && r.1 == "refused"));
    // A Query's units go to the items it returned, too.
    let rows = report_with(&endpoint, (&table, ""), "SKC", "qonly", &traffic).await;
    assert!(
        rows.iter()
            .any(|r| (r.0.as_str(), r.2.as_str()) == ("SKC", "z")),
        "{rows:?}"
    );
    // The GSI's rows: its partitions by the queries (G) and by the writes reaching it
    // (G and other, which is never queried).
    let rows = report_with(&endpoint, (&table, "by_g"), "PKC", "other", &traffic).await;
    let mut partitions: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    partitions.sort();
    assert_eq!(partitions, ["G", "other"], "{rows:?}");

    // Throttled-keys mode on a table short of capacity: only the refused requests count.
    let thin = unique_name("insightsthin");
    provisioned_table(&ddb, &thin, 1, 1).await;
    ok(update(&thin, None, Action::Enable)
        .contributor_insights_mode(Mode::ThrottledKeys)
        .send()
        .await);
    let big = "x".repeat(300_000);
    let put_thin = |pk: &str| {
        ddb.put_item()
            .table_name(&thin)
            .item("pk", s(pk))
            .item("blob", s(&big))
            .send()
    };
    let refused = || async {
        for pk in ["burst", "burst", "burst", "burst", "burst", "other"] {
            let _ = put_thin(pk).await;
        }
    };
    let rows = report_with(&endpoint, (&thin, ""), "PKT", "burst", refused).await;
    assert!(rows.iter().all(|r| r.0 == "PKT"), "{rows:?}");
    assert_eq!(rows[0].1, "burst", "{rows:?}");

    // Disabled: Describe keeps the mode and the time, List drops it; settings survive a
    // restart.
    let disabled = ok(update(&table, None, Action::Disable).send().await);
    assert_eq!(
        disabled.contributor_insights_status(),
        Some(&Status::Disabling)
    );
    store.restart();
    let ddb = store.client();
    let after = ok(describe(&ddb, None).send().await);
    assert_eq!(after.contributor_insights_status(), Some(&Status::Disabled));
    assert!(after.contributor_insights_rule_list().is_empty());
    assert_eq!(
        after.contributor_insights_mode(),
        Some(&Mode::AccessedAndThrottledKeys)
    );
    assert!(after.last_update_date_time().is_some());
    let listed = ok(ddb
        .list_contributor_insights()
        .table_name(&table)
        .send()
        .await);
    let listed: Vec<_> = listed
        .contributor_insights_summaries()
        .iter()
        .map(|s| (s.index_name(), s.contributor_insights_status().cloned()))
        .collect();
    assert_eq!(listed, vec![(Some("by_g"), Some(Status::Enabled))]);
}
