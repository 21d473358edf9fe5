//! Time to Live against the real store: settings and their errors, the sweeper deleting
//! only expired Number attributes, TTL deletes leaving the global index, and each TTL
//! delete appearing in the stream as a REMOVE by the service.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamViewType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodbstreams::types::{AttributeValue as SAV, OperationType, ShardIteratorType};
use integration_tests::*;

fn streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    streams_client_with_credentials(endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
}

fn ttl_spec(enabled: bool, attribute: &str) -> TimeToLiveSpecification {
    TimeToLiveSpecification::builder()
        .enabled(enabled)
        .attribute_name(attribute)
        .build()
        .unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn create_ttl_table(ddb: &Client, name: &str) {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    ok(ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("grp"))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(gsi_projecting_all("by_grp", "grp").build().unwrap())
        .stream_specification(stream_of(StreamViewType::NewAndOldImages))
        .send()
        .await);
    wait_table_active(ddb, name).await;
}

#[tokio::test]
async fn settings_and_their_errors() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("ttlset");
    create_hash_table(&ddb, &table).await;
    let describe = || async {
        ok(ddb.describe_time_to_live().table_name(&table).send().await)
            .time_to_live_description()
            .cloned()
            .unwrap()
    };
    let d = describe().await;
    assert_eq!(d.time_to_live_status(), Some(&TimeToLiveStatus::Disabled));
    assert_eq!(d.attribute_name(), None);

    let out = ok(ddb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(ttl_spec(true, "exp"))
        .send()
        .await);
    assert_eq!(
        out.time_to_live_specification(),
        Some(&ttl_spec(true, "exp"))
    );
    let d = describe().await;
    assert_eq!(d.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(d.attribute_name(), Some("exp"));

    let twice = ddb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(ttl_spec(true, "exp"))
        .send()
        .await;
    assert_api_error(
        twice,
        "ValidationException",
        Some("TimeToLive is already enabled"),
    );
    let other = ddb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(ttl_spec(false, "other"))
        .send()
        .await;
    assert_api_error(other, "ValidationException", None);
    // One change an hour, as in DynamoDB.
    let soon = ddb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(ttl_spec(false, "exp"))
        .send()
        .await;
    let message = "Time to live has been modified multiple times within a fixed interval";
    assert_api_error(soon, "ValidationException", Some(message));
    assert_eq!(
        describe().await.time_to_live_status(),
        Some(&TimeToLiveStatus::Enabled)
    );
    let missing = ddb
        .describe_time_to_live()
        .table_name(unique_name("nope"))
        .send()
        .await;
    assert_api_error(missing, "ResourceNotFoundException", None);
}

/// With `--ttl-change-interval 0` the setting changes back and forth at once; and any
/// attribute may hold the expiry, a key attribute included (as in DynamoDB).
#[tokio::test]
async fn settings_change_freely_without_an_interval_and_keys_may_expire_items() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: ["--ttl-change-interval", "0", "--ttl-sweep-interval", "0.2"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("ttlkey");
    ok(ddb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("p", ScalarAttributeType::N))
        .key_schema(key_element("p", KeyType::Hash))
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    let update = |enabled: bool, attribute: &'static str| {
        ddb.update_time_to_live()
            .table_name(&table)
            .time_to_live_specification(ttl_spec(enabled, attribute))
            .send()
    };
    ok(update(true, "exp").await);
    ok(update(false, "exp").await);
    let again = update(false, "exp").await;
    assert_api_error(
        again,
        "ValidationException",
        Some("TimeToLive is already disabled"),
    );
    ok(update(true, "p").await);
    let t = now();
    for p in [t - 60, t + 86_400] {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("p", n(p))
            .send()
            .await);
    }
    let get = |p: i64| {
        ddb.get_item()
            .table_name(&table)
            .key("p", n(p))
            .consistent_read(true)
            .send()
    };
    let gone = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { ok(get(t - 60).await).item.is_none() },
    )
    .await;
    assert!(gone, "the item whose key has passed was never deleted");
    assert!(ok(get(t + 86_400).await).item.is_some());
}

#[tokio::test]
async fn expired_items_are_swept_from_table_index_and_stream() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--ttl-sweep-interval".into(), "0.2".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("ttlrun");
    create_ttl_table(&ddb, &table).await;
    ok(ddb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(ttl_spec(true, "exp"))
        .send()
        .await);
    let t = now();
    let items = [
        ("expired", Some(n(t - 60))),
        ("future", Some(n(t + 86_400))),
        ("string", Some(s(&(t - 60).to_string()))),
        ("absent", None),
        ("ancient", Some(n(t - 6 * 365 * 86_400))),
    ];
    for (pk, exp) in &items {
        let mut req = ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("grp", s("g"));
        if let Some(exp) = exp {
            req = req.item("exp", exp.clone());
        }
        ok(req.send().await);
    }
    let gone = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            ok(ddb
                .get_item()
                .table_name(&table)
                .key("pk", s("expired"))
                .consistent_read(true)
                .send()
                .await)
            .item
            .is_none()
        },
    )
    .await;
    assert!(gone, "the expired item was never deleted");
    for pk in ["future", "string", "absent", "ancient"] {
        let got = ok(ddb
            .get_item()
            .table_name(&table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await);
        assert!(got.item.is_some(), "{pk} must be kept");
    }
    // Gone from the global index too.
    let in_index = ok(ddb
        .query()
        .table_name(&table)
        .index_name("by_grp")
        .key_condition_expression("grp = :g")
        .expression_attribute_values(":g", s("g"))
        .send()
        .await);
    let pks: Vec<String> = in_index
        .items()
        .iter()
        .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    assert!(!pks.contains(&"expired".to_string()), "{pks:?}");
    assert_eq!(pks.len(), 4);

    // The stream shows a service REMOVE with the old image.
    let st = streams_client(&store.endpoint());
    let arn = ok(ddb.describe_table().table_name(&table).send().await)
        .table()
        .and_then(|t| t.latest_stream_arn().map(str::to_string))
        .unwrap();
    let desc = ok(st.describe_stream().stream_arn(&arn).send().await);
    let shard = desc.stream_description().unwrap().shards()[0]
        .shard_id()
        .unwrap()
        .to_string();
    let it = ok(st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await)
    .shard_iterator()
    .unwrap()
    .to_string();
    // The sweep's delete was visible to GetItem as soon as it was applied, but the stream
    // shows it only once it is durable (a few ms later): read until it is there.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let records = loop {
        let page = ok(st.get_records().shard_iterator(&it).send().await);
        let records = page.records().to_vec();
        if records
            .iter()
            .any(|r| r.event_name() == Some(&OperationType::Remove))
        {
            break records;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no REMOVE record for the swept item"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let removes: Vec<_> = records
        .iter()
        .filter(|r| r.event_name() == Some(&OperationType::Remove))
        .collect();
    assert_eq!(removes.len(), 1);
    let remove = removes[0];
    let identity = remove
        .user_identity()
        .expect("userIdentity on a TTL delete");
    assert_eq!(identity.r#type(), Some("Service"));
    assert_eq!(identity.principal_id(), Some("dynamodb.amazonaws.com"));
    let old = remove.dynamodb().and_then(|d| d.old_image()).unwrap();
    assert_eq!(old.get("pk"), Some(&SAV::S("expired".into())));
    // User writes carry no identity.
    assert!(records
        .iter()
        .filter(|r| r.event_name() == Some(&OperationType::Insert))
        .all(|r| r.user_identity().is_none()));
}
