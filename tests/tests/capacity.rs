//! Capacity with aws-sdk-dynamodb: ConsumedCapacity for items of known sizes (TOTAL and
//! INDEXES), and a provisioned table that throttles under a burst and recovers once its
//! bucket refills (DYNAMODB.md §8).

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, KeyType, Projection, ProjectionType, ProvisionedThroughput,
    ReturnConsumedCapacity, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

/// An on-demand table `pk` (S) with a GSI `by_g` on `g` (S), projecting ALL.
async fn table_with_gsi(ddb: &Client) -> String {
    let name = unique_name("cap");
    ok(ddb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_g")
                .key_schema(key_element("g", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await);
    wait_table_active(ddb, &name).await;
    name
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
    ok(ddb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(40)
                .build()
                .unwrap(),
        )
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    let blob = "x".repeat(300_000);
    let put = |i: usize| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i}")))
            .item("blob", s(&blob))
            .send()
    };
    let mut throttled_at = None;
    for i in 0..100 {
        match put(i).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code(), Some("ProvisionedThroughputExceededException"));
                assert_eq!(
                    e.message(),
                    Some("The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.")
                );
                throttled_at = Some(i);
                break;
            }
        }
    }
    let throttled_at = throttled_at.expect("the burst was never throttled");
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
    ok(ddb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(pt(100, 1000))
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_g")
                .key_schema(key_element("g", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .provisioned_throughput(pt(1, 1))
                .build()
                .unwrap(),
        )
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
    let mut throttled = None;
    for i in 0..10 {
        if let Err(e) = put(i).await {
            throttled = Some(e);
            break;
        }
    }
    let e = throttled.expect("the GSI never throttled");
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
