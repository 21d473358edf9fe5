//! Capacity with aws-sdk-dynamodb: ConsumedCapacity for items of known sizes (TOTAL and
//! INDEXES), a provisioned table that throttles under a burst and recovers once its
//! bucket refills, on-demand maximums (table and GSI) that throttle with
//! ThrottlingException, the `ThrottlingReasons` of both, and batches that hand a
//! throttled table's requests back unprocessed (DYNAMODB.md §8).

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::builders::GlobalSecondaryIndexBuilder;
use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, KeyType, Projection, ProjectionType, ProvisionedThroughput,
    ReturnConsumedCapacity, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

/// The GSI `by_g` on `g` (S), projecting ALL; its capacity settings are the caller's.
fn by_g() -> GlobalSecondaryIndexBuilder {
    GlobalSecondaryIndex::builder()
        .index_name("by_g")
        .key_schema(key_element("g", KeyType::Hash))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
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

/// A provisioned table `pk` (S) with `read` RCU and `write` WCU, once ACTIVE.
async fn provisioned_table(ddb: &Client, name: &str, read: i64, write: i64) {
    ok(ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(read)
                .write_capacity_units(write)
                .build()
                .unwrap(),
        )
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .send()
        .await);
    wait_table_active(ddb, name).await;
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
    let body = reqwest::get(format!("{}/metrics", store.endpoint()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.lines().any(
            |l| l.starts_with("store_consumed_write_capacity_units_total") && l.contains(&table)
        ),
        "no write-unit counter for {table} in /metrics"
    );
}

#[tokio::test]
async fn on_demand_table_is_never_throttled() {
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
    let pt = |r, w| {
        ProvisionedThroughput::builder()
            .read_capacity_units(r)
            .write_capacity_units(w)
            .build()
            .unwrap()
    };
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

    // On-demand tables meter but never throttle: switching lifts the limit at once, and
    // DescribeTable reports the new mode.
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
    aws_sdk_dynamodb::types::WriteRequest::builder()
        .put_request(
            aws_sdk_dynamodb::types::PutRequest::builder()
                .set_item(Some(item(&[("pk", s(id))])))
                .build()
                .unwrap(),
        )
        .build()
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

/// On-demand tables are throttled only above the maximum their OnDemandThroughput sets,
/// for the table and each GSI, with ThrottlingException naming the limit and its ARN; -1
/// lifts the maximum.
#[tokio::test]
async fn on_demand_maximums_throttle_with_throttling_exception() {
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
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
    let created = ok(create_with_by_g(&ddb, &table, index)
        .billing_mode(BillingMode::PayPerRequest)
        .on_demand_throughput(maximum(1, 2))
        .send()
        .await);
    let table_arn = created
        .table_description()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_string();
    wait_table_active(&ddb, &table).await;
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
    let Some(PutItemError::ThrottlingException(throttled)) = error.as_service_error() else {
        panic!("not a ThrottlingException: {error:?}");
    };
    assert_eq!(throttled.message(), Some(on_demand_message));
    assert_eq!(
        throttling_reasons(throttled.throttling_reasons.as_deref(), &error),
        vec![(
            "TableWriteMaxOnDemandThroughputExceeded".to_string(),
            table_arn.clone()
        )]
    );

    // Reads have their own maximum.
    let get = || ddb.get_item().table_name(&table).key("pk", s("k0")).send();
    let (_, error) = first_failure(50, |_| get())
        .await
        .expect("reads past the table's maximum were never throttled");
    let Some(GetItemError::ThrottlingException(throttled)) = error.as_service_error() else {
        panic!("not a ThrottlingException: {error:?}");
    };
    assert_eq!(
        throttling_reasons(throttled.throttling_reasons.as_deref(), &error),
        vec![(
            "TableReadMaxOnDemandThroughputExceeded".to_string(),
            table_arn.clone()
        )]
    );

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
    let Some(PutItemError::ThrottlingException(throttled)) = error.as_service_error() else {
        panic!("not a ThrottlingException: {error:?}");
    };
    assert_eq!(
        throttling_reasons(throttled.throttling_reasons.as_deref(), &error),
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
    let pt = |units| {
        ProvisionedThroughput::builder()
            .read_capacity_units(units)
            .write_capacity_units(units)
            .build()
            .unwrap()
    };
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
