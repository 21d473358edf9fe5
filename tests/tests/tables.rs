//! Control plane: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable, tags,
//! DescribeLimits and DescribeEndpoints, with their success shapes and error codes
//! (DYNAMODB.md §6).

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{BillingMode, KeyType, ScalarAttributeType, TableStatus, Tag};
use integration_tests::*;

#[tokio::test]
async fn create_describe_list_delete_lifecycle() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("life");

    let created = ok(ddb
        .create_table()
        .table_name(&name)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::N))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    let desc = created.table_description().expect("TableDescription");
    assert_eq!(desc.table_name(), Some(name.as_str()));
    assert!(
        matches!(
            desc.table_status(),
            Some(TableStatus::Creating) | Some(TableStatus::Active)
        ),
        "status after create: {:?}",
        desc.table_status()
    );
    let arn = desc.table_arn().expect("TableArn");
    assert!(arn.starts_with("arn:aws:dynamodb:us-east-1:"), "arn {arn}");
    assert!(arn.ends_with(&format!(":table/{name}")), "arn {arn}");

    wait_table_active(&ddb, &name).await;
    let described = ok(ddb.describe_table().table_name(&name).send().await);
    let table = described.table().expect("Table");
    assert_eq!(table.table_status(), Some(&TableStatus::Active));
    assert_eq!(table.key_schema().len(), 2);
    assert_eq!(table.key_schema()[0].attribute_name(), "pk");
    assert_eq!(table.key_schema()[0].key_type(), &KeyType::Hash);
    assert_eq!(table.key_schema()[1].attribute_name(), "sk");
    assert_eq!(table.key_schema()[1].key_type(), &KeyType::Range);
    assert_eq!(table.attribute_definitions().len(), 2);
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let pt = table
        .provisioned_throughput()
        .expect("on-demand tables report 0/0 throughput");
    assert_eq!(pt.read_capacity_units(), Some(0));
    assert_eq!(pt.write_capacity_units(), Some(0));
    assert_eq!(table.item_count(), Some(0));
    assert!(table.creation_date_time().is_some());

    let listed = ok(ddb.list_tables().send().await);
    assert!(
        listed.table_names().contains(&name),
        "ListTables: {:?}",
        listed.table_names()
    );

    let deleted = ok(ddb.delete_table().table_name(&name).send().await);
    assert_eq!(
        deleted.table_description().and_then(|d| d.table_name()),
        Some(name.as_str())
    );
    wait_table_gone(&ddb, &name).await;

    assert_api_error(
        ddb.describe_table().table_name(&name).send().await,
        "ResourceNotFoundException",
        Some(&format!(
            "Requested resource not found: Table: {name} not found"
        )),
    );
    let listed = ok(ddb.list_tables().send().await);
    assert!(!listed.table_names().contains(&name));
}

#[tokio::test]
async fn create_existing_table_is_resource_in_use() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("dup");
    create_hash_table(&ddb, &name).await;
    let again = ddb
        .create_table()
        .table_name(&name)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    assert_api_error(
        again,
        "ResourceInUseException",
        Some(&format!("Table already exists: {name}")),
    );
}

#[tokio::test]
async fn missing_table_errors() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    assert_api_error(
        ddb.delete_table().table_name("no-such-table").send().await,
        "ResourceNotFoundException",
        Some("Requested resource not found: Table: no-such-table not found"),
    );
    assert_api_error(
        ddb.update_table()
            .table_name("no-such-table")
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
}

#[tokio::test]
async fn list_tables_pages_in_name_order() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let names = ["page-c", "page-a", "page-b"];
    for name in names {
        create_hash_table(&ddb, name).await;
    }
    let first = ok(ddb.list_tables().limit(2).send().await);
    assert_eq!(
        first.table_names(),
        &["page-a".to_string(), "page-b".to_string()]
    );
    assert_eq!(first.last_evaluated_table_name(), Some("page-b"));
    let second = ok(ddb
        .list_tables()
        .limit(2)
        .exclusive_start_table_name("page-b")
        .send()
        .await);
    assert_eq!(second.table_names(), &["page-c".to_string()]);
    assert_eq!(second.last_evaluated_table_name(), None);
}

#[tokio::test]
async fn update_table_throughput_and_billing_mode() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("upd");
    provisioned_table(&ddb, &name, 5, 5).await;
    let table = ok(ddb.describe_table().table_name(&name).send().await)
        .table
        .unwrap();
    let pt = table.provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(5), Some(5))
    );

    ok(ddb
        .update_table()
        .table_name(&name)
        .provisioned_throughput(throughput(10, 7))
        .send()
        .await);
    wait_table_active(&ddb, &name).await;
    let table = ok(ddb.describe_table().table_name(&name).send().await)
        .table
        .unwrap();
    let pt = table.provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(10), Some(7))
    );

    ok(ddb
        .update_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    wait_table_active(&ddb, &name).await;
    let table = ok(ddb.describe_table().table_name(&name).send().await)
        .table
        .unwrap();
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );

    // Nothing to change is a ValidationException (the exact list of members grows over
    // DynamoDB versions, so only the code is checked).
    assert_api_error(
        ddb.update_table().table_name(&name).send().await,
        "ValidationException",
        None,
    );
}

/// MultiRegionConsistency alone is not taken for an empty request: it is refused for
/// what it is, a setting of a global table being made, which needs a replica Create beside
/// it; STRONG is refused with one, as this store's global tables are eventually consistent.
#[tokio::test]
async fn multi_region_consistency_needs_a_global_table_being_made() {
    use aws_sdk_dynamodb::types::{
        CreateReplicationGroupMemberAction, MultiRegionConsistency, ReplicationGroupUpdate,
    };

    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("mrc");
    provisioned_table(&ddb, &name, 5, 5).await;
    let consistency = |mode: MultiRegionConsistency| {
        ddb.update_table()
            .table_name(&name)
            .multi_region_consistency(mode)
    };
    let only_with_a_create = "MultiRegionConsistency can only be specified when creating a \
        global table: with a Create action in ReplicaUpdates";
    for mode in [
        MultiRegionConsistency::Eventual,
        MultiRegionConsistency::Strong,
    ] {
        assert_api_error(
            consistency(mode).send().await,
            "ValidationException",
            Some(only_with_a_create),
        );
    }
    let create = ReplicationGroupUpdate::builder()
        .create(
            CreateReplicationGroupMemberAction::builder()
                .region_name("eu-west-1")
                .build()
                .unwrap(),
        )
        .build();
    let strong = assert_api_error(
        consistency(MultiRegionConsistency::Strong)
            .replica_updates(create)
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert!(
        strong
            .message()
            .unwrap_or_default()
            .contains("STRONG is not supported"),
        "{strong:?}"
    );
    let unknown = assert_api_error(
        consistency(MultiRegionConsistency::from("SOMETIMES"))
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert!(
        unknown
            .message()
            .unwrap_or_default()
            .contains("multiRegionConsistency"),
        "{unknown:?}"
    );
    // Nothing was changed.
    let table = ok(ddb.describe_table().table_name(&name).send().await)
        .table
        .unwrap();
    assert!(table.replicas().is_empty());
}

/// Switches to on-demand are limited to four in a rolling day (switching back is not), and
/// table-class changes to two in 30 days, each refused past that with
/// LimitExceededException.
#[tokio::test]
async fn billing_switches_and_class_changes_are_limited() {
    use aws_sdk_dynamodb::types::TableClass;

    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("switch");
    provisioned_table(&ddb, &name, 5, 5).await;
    let to_on_demand = || {
        ddb.update_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
    };
    let back = || {
        ddb.update_table()
            .table_name(&name)
            .billing_mode(BillingMode::Provisioned)
            .provisioned_throughput(throughput(5, 5))
            .send()
    };
    for _ in 0..4 {
        ok(to_on_demand().await);
        ok(back().await);
    }
    let refused = assert_api_error(to_on_demand().await, "LimitExceededException", None);
    assert!(refused
        .message()
        .is_some_and(|m| m.contains("PayPerRequest")));

    let class = |class| {
        ddb.update_table()
            .table_name(&name)
            .table_class(class)
            .send()
    };
    ok(class(TableClass::StandardInfrequentAccess).await);
    ok(class(TableClass::Standard).await);
    assert_api_error(
        class(TableClass::StandardInfrequentAccess).await,
        "LimitExceededException",
        Some(
            "Subscriber limit exceeded: Updates to TableClass are limited to 2 times in 30 day(s).",
        ),
    );
}

/// Four throughput decreases a UTC day, then one an hour: the fifth in a row is refused
/// with DynamoDB's LimitExceededException, which autoscalers branch on. Switching to
/// on-demand is not a decrease.
#[tokio::test]
async fn throughput_decreases_are_limited() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("decr");
    provisioned_table(&ddb, &name, 100, 100).await;
    let decrease = |units| {
        ddb.update_table()
            .table_name(&name)
            .provisioned_throughput(throughput(units, 100))
            .send()
    };
    for units in [99, 98, 97, 96] {
        ok(decrease(units).await);
    }
    let refused = assert_api_error(decrease(95).await, "LimitExceededException", None);
    let message = refused.message().unwrap_or_default();
    assert!(message.starts_with("Subscriber limit exceeded: Provisioned throughput decreases"));
    assert!(
        message.contains("Number of decreases today: 4."),
        "{message}"
    );
    // An increase still goes through, and so does the switch to on-demand.
    ok(decrease(150).await);
    ok(ddb
        .update_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    let table = ok(ddb.describe_table().table_name(&name).send().await)
        .table
        .unwrap();
    let decreases = table
        .provisioned_throughput()
        .and_then(|t| t.number_of_decreases_today());
    assert_eq!(decreases, Some(4));
}

#[tokio::test]
async fn tags_round_trip() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("tags");
    create_hash_table(&ddb, &name).await;
    let arn = ok(ddb.describe_table().table_name(&name).send().await)
        .table
        .and_then(|t| t.table_arn)
        .expect("TableArn");

    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    ok(ddb
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("env", "test"))
        .tags(tag("team", "store"))
        .send()
        .await);
    let listed = ok(ddb.list_tags_of_resource().resource_arn(&arn).send().await);
    let mut tags: Vec<(String, String)> = listed
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        vec![
            ("env".into(), "test".into()),
            ("team".into(), "store".into())
        ]
    );

    // An existing key is overwritten.
    ok(ddb
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("env", "prod"))
        .send()
        .await);
    ok(ddb
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await);
    let listed = ok(ddb.list_tags_of_resource().resource_arn(&arn).send().await);
    let tags: Vec<(String, String)> = listed
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(tags, vec![("env".into(), "prod".into())]);

    let missing = arn.replace(&name, "no-such-table");
    assert_api_error(
        ddb.list_tags_of_resource()
            .resource_arn(&missing)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
}

#[tokio::test]
async fn describe_limits_and_endpoints() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let limits = ok(ddb.describe_limits().send().await);
    assert_eq!(limits.account_max_read_capacity_units(), Some(80000));
    assert_eq!(limits.account_max_write_capacity_units(), Some(80000));
    assert_eq!(limits.table_max_read_capacity_units(), Some(40000));
    assert_eq!(limits.table_max_write_capacity_units(), Some(40000));

    let endpoints = ok(ddb.describe_endpoints().send().await);
    assert!(!endpoints.endpoints().is_empty());
    assert_eq!(endpoints.endpoints()[0].cache_period_in_minutes(), 1440);
    assert_eq!(endpoints.endpoints()[0].address(), store.addr().to_string());
}

/// With `--advertise-url` DescribeEndpoints names the URL's host and port, which clients
/// can reach, rather than the socket the store listens on.
#[tokio::test]
async fn describe_endpoints_names_the_advertised_host() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec![
            "--advertise-url".into(),
            "http://dynamo.example:8000/".into(),
        ],
        ..Default::default()
    });
    let endpoints = ok(store.client().describe_endpoints().send().await);
    let [endpoint] = endpoints.endpoints() else {
        panic!("one endpoint expected: {endpoints:?}");
    };
    assert_eq!(endpoint.address(), "dynamo.example:8000");
    assert_eq!(endpoint.cache_period_in_minutes(), 1440);
}

/// Use raises an on-demand table's warm throughput to its busiest second, and each GSI's
/// to its own.
#[tokio::test]
async fn on_demand_use_raises_warm_throughput_to_its_busiest_second() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("warm-use");
    ok(ddb
        .create_table()
        .table_name(&name)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("h", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(gsi_projecting_all("by-g", "g").build().unwrap())
        .global_secondary_indexes(gsi_projecting_all("by-h", "h").build().unwrap())
        .send()
        .await);
    // Warm write units of the table, of `by-g` (every item has `g`) and of `by-h` (none).
    let write_units = |ddb: aws_sdk_dynamodb::Client| {
        let name = name.clone();
        async move {
            let described = ok(ddb.describe_table().table_name(&name).send().await);
            let table = described.table.unwrap();
            let units = |warm: Option<&aws_sdk_dynamodb::types::TableWarmThroughputDescription>| {
                warm.and_then(|w| w.write_units_per_second).unwrap()
            };
            let index = |i: usize| {
                table.global_secondary_indexes()[i]
                    .warm_throughput
                    .as_ref()
                    .and_then(|w| w.write_units_per_second)
                    .unwrap()
            };
            (units(table.warm_throughput.as_ref()), index(0), index(1))
        }
    };
    assert_eq!(write_units(ddb.clone()).await, (4_000, 4_000, 4_000));
    // 25 items of 390 KB in one call: ~9,750 write units in one second, for the table and
    // for the index projecting them all.
    let large = "x".repeat(390 * 1024);
    let puts = (0..25)
        .map(|i| {
            batch_put(item(&[
                ("pk", s(&format!("k{i}"))),
                ("g", s("G")),
                ("v", s(&large)),
            ]))
        })
        .collect();
    batch_write_all(&ddb, &name, puts).await;
    let raised = wait_until(
        std::time::Duration::from_secs(20),
        std::time::Duration::from_millis(200),
        || async {
            let (table, by_g, _) = write_units(ddb.clone()).await;
            table >= 9_000 && by_g >= 9_000
        },
    )
    .await;
    let (table, by_g, by_h) = write_units(ddb.clone()).await;
    assert!(
        raised,
        "warm writes stayed at {table} (table), {by_g} (by-g)"
    );
    assert_eq!(by_h, 4_000, "an index no write reached was raised");
}

/// A provisioned table of `read`/`write` units keyed by `pk`, with a GSI of `gsi` units if
/// given.
async fn create_provisioned(
    ddb: &aws_sdk_dynamodb::Client,
    name: &str,
    (read, write): (i64, i64),
    gsi: Option<(i64, i64)>,
) -> Result<
    aws_sdk_dynamodb::operation::create_table::CreateTableOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::create_table::CreateTableError>,
> {
    let mut create = ddb
        .create_table()
        .table_name(name)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .provisioned_throughput(throughput(read, write));
    if let Some((read, write)) = gsi {
        create = create
            .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
            .global_secondary_indexes(
                gsi_projecting_all("by-g", "g")
                    .provisioned_throughput(throughput(read, write))
                    .build()
                    .unwrap(),
            );
    }
    create.send().await
}

#[tokio::test]
async fn capacity_past_the_account_quotas_is_refused_as_dynamodb_refuses_it() {
    // The defaults: 40,000 units a table, 80,000 for all of them.
    let store = StoreProcess::spawn();
    let ddb = store.client();
    assert_api_error(
        create_provisioned(&ddb, "too-big", (40_001, 5), None).await,
        "LimitExceededException",
        Some(
            "The requested ReadCapacityUnits, 40001, is above the per table maximum for the \
             account in us-east-1. Per table maximum: 40000.",
        ),
    );
    assert_api_error(
        create_provisioned(&ddb, "big-index", (5, 5), Some((5, 40_001))).await,
        "LimitExceededException",
        Some(
            "The requested WriteCapacityUnits for index by-g, 40001, is above the per index \
             maximum for the account in us-east-1. Per index maximum: 40000.",
        ),
    );
    assert_api_error(
        ddb.create_table()
            .table_name("on-demand-max")
            .key_schema(key_element("pk", KeyType::Hash))
            .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
            .billing_mode(BillingMode::PayPerRequest)
            .on_demand_throughput(
                aws_sdk_dynamodb::types::OnDemandThroughput::builder()
                    .max_read_request_units(50_000)
                    .build(),
            )
            .send()
            .await,
        "LimitExceededException",
        Some(
            "Subscriber limit exceeded: Requested MaxReadRequestUnits for OnDemandThroughput \
             for table exceeds TableMaxReadCapacityUnits of the account in region us-east-1",
        ),
    );
    // Refused tables were never made.
    assert!(ok(ddb.list_tables().send().await).table_names().is_empty());

    // The account's total: 40,000 + 30,000 (table and GSI) fit, 10,001 more do not.
    ok(create_provisioned(&ddb, "first", (40_000, 5), None).await);
    ok(create_provisioned(&ddb, "second", (10_000, 5), Some((20_000, 5))).await);
    assert_api_error(
        create_provisioned(&ddb, "third", (10_001, 5), None).await,
        "LimitExceededException",
        Some(
            "This request would have caused the ReadCapacityUnits limit to be exceeded for \
             the account in us-east-1. Current ReadCapacityUnits reserved by the account: \
             70000. Limit: 80000. Requested: 10001",
        ),
    );
    ok(create_provisioned(&ddb, "third", (10_000, 5), None).await);
    // Raising one table past what is left is refused, and changes nothing; lowering one
    // makes room.
    let raise = |name: &str, read: i64| {
        ddb.update_table()
            .table_name(name)
            .provisioned_throughput(throughput(read, 5))
            .send()
    };
    assert_api_error(raise("third", 10_001).await, "LimitExceededException", None);
    let third = ok(ddb.describe_table().table_name("third").send().await);
    let units = |d: &aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput| {
        d.table()
            .unwrap()
            .provisioned_throughput()
            .unwrap()
            .read_capacity_units()
    };
    assert_eq!(units(&third), Some(10_000));
    ok(raise("first", 39_000).await);
    ok(raise("third", 11_000).await);
    // Switching to on demand releases a table's units.
    ok(ddb
        .update_table()
        .table_name("first")
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    ok(create_provisioned(&ddb, "fourth", (30_000, 5), None).await);
}

#[tokio::test]
async fn quotas_come_from_flags_and_describe_limits_reports_them() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--table-max-capacity-units".into(), "100".into()],
        env: vec![("STORE_ACCOUNT_MAX_CAPACITY_UNITS".into(), "150".into())],
        ..Default::default()
    });
    let ddb = store.client();
    let limits = ok(ddb.describe_limits().send().await);
    assert_eq!(limits.table_max_read_capacity_units(), Some(100));
    assert_eq!(limits.table_max_write_capacity_units(), Some(100));
    assert_eq!(limits.account_max_read_capacity_units(), Some(150));
    assert_eq!(limits.account_max_write_capacity_units(), Some(150));
    ok(create_provisioned(&ddb, "a-table", (5, 100), None).await);
    assert_api_error(
        create_provisioned(&ddb, "b-table", (5, 101), None).await,
        "LimitExceededException",
        None,
    );
    assert_api_error(
        create_provisioned(&ddb, "b-table", (5, 51), None).await,
        "LimitExceededException",
        Some(
            "This request would have caused the WriteCapacityUnits limit to be exceeded for \
             the account in us-east-1. Current WriteCapacityUnits reserved by the account: \
             100. Limit: 150. Requested: 51",
        ),
    );
}

#[tokio::test]
async fn tables_past_the_table_count_quota_are_refused_until_one_is_deleted() {
    let store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_MAX_TABLES".into(), "2".into())],
        ..Default::default()
    });
    let ddb = store.client();
    ok(create_provisioned(&ddb, "first", (5, 5), None).await);
    ok(create_provisioned(&ddb, "second", (5, 5), None).await);
    let full = "Subscriber limit exceeded: There is a limit of 2 tables per subscriber";
    assert_api_error(
        create_provisioned(&ddb, "third", (5, 5), None).await,
        "LimitExceededException",
        Some(full),
    );
    // A restore makes a table too, and meets the same quota.
    let backup = ok(ddb
        .create_backup()
        .table_name("first")
        .backup_name("before-the-quota")
        .send()
        .await);
    let backup_arn = backup
        .backup_details()
        .map(|d| d.backup_arn().to_string())
        .unwrap();
    assert_api_error(
        ddb.restore_table_from_backup()
            .target_table_name("restored")
            .backup_arn(&backup_arn)
            .send()
            .await,
        "LimitExceededException",
        Some(full),
    );
    let names = ok(ddb.list_tables().send().await);
    assert_eq!(names.table_names(), ["first", "second"]);
    ok(ddb.delete_table().table_name("second").send().await);
    ok(create_provisioned(&ddb, "third", (5, 5), None).await);
}

#[tokio::test]
async fn create_table_validation_errors() {
    let store = StoreProcess::spawn();
    let ddb = store.client();

    // Key attribute without a definition.
    let undefined = ddb
        .create_table()
        .table_name("undefined-key")
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("other", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    assert_api_error(undefined, "ValidationException", None);

    // An unused attribute definition.
    let unused = ddb
        .create_table()
        .table_name("unused-def")
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("extra", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    assert_api_error(
        unused,
        "ValidationException",
        Some(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly \
             match number of attributes defined in AttributeDefinitions",
        ),
    );

    // Hash and range with the same name. (With a single definition DynamoDB answers
    // "Invalid KeySchema: Some index key attribute have no definition" instead, as dynalite
    // captured; two definitions reach the same-name check.)
    let same = ddb
        .create_table()
        .table_name("same-names")
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("pk", KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("other", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    assert_api_error(
        same,
        "ValidationException",
        Some("Both the Hash Key and the Range Key element in the KeySchema have the same name"),
    );

    // Table names are 3-255 characters of [a-zA-Z0-9_.-].
    for bad in ["ab", "has space", &"x".repeat(256)] {
        let result = ddb
            .create_table()
            .table_name(bad)
            .key_schema(key_element("pk", KeyType::Hash))
            .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        assert_api_error(result, "ValidationException", None);
    }

    // PAY_PER_REQUEST with throughput.
    let both = ddb
        .create_table()
        .table_name("ppr-with-throughput")
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .provisioned_throughput(throughput(1, 1))
        .send()
        .await;
    assert_api_error(
        both,
        "ValidationException",
        Some(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be \
             specified when BillingMode is PAY_PER_REQUEST",
        ),
    );

    // None of the rejected tables exists.
    let listed = ok(ddb.list_tables().send().await);
    assert!(
        listed.table_names().is_empty(),
        "rejected tables were created: {:?}",
        listed.table_names()
    );
}

#[tokio::test]
async fn deletion_protection_blocks_delete() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("protected");
    ok(ddb
        .create_table()
        .table_name(&name)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .deletion_protection_enabled(true)
        .send()
        .await);
    wait_table_active(&ddb, &name).await;
    assert_api_error(
        ddb.delete_table().table_name(&name).send().await,
        "ValidationException",
        Some(
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion \
             protection first.",
        ),
    );
    ok(ddb
        .update_table()
        .table_name(&name)
        .deletion_protection_enabled(false)
        .send()
        .await);
    wait_table_active(&ddb, &name).await;
    ok(ddb.delete_table().table_name(&name).send().await);
    wait_table_gone(&ddb, &name).await;
}

/// Warm throughput: what a table or GSI can take at once. New ones start at DynamoDB's
/// 12,000 reads and 4,000 writes a second; CreateTable and UpdateTable raise it, provisioned
/// capacity above it raises it, and it never goes down.
#[tokio::test]
async fn warm_throughput_starts_at_the_initial_values_and_only_rises() {
    use aws_sdk_dynamodb::types::{
        GlobalSecondaryIndexUpdate, UpdateGlobalSecondaryIndexAction, WarmThroughput,
    };
    let store = StoreProcess::spawn();
    let client = store.client();
    let warm = |read: Option<i64>, write: Option<i64>| {
        WarmThroughput::builder()
            .set_read_units_per_second(read)
            .set_write_units_per_second(write)
            .build()
    };
    let described = |table: String| {
        let client = client.clone();
        async move {
            let out = ok(client.describe_table().table_name(table).send().await);
            let table = out.table.unwrap();
            let of_table = table.warm_throughput.clone().unwrap();
            let of_index = table
                .global_secondary_indexes()
                .first()
                .and_then(|i| i.warm_throughput.clone());
            (
                (
                    of_table.read_units_per_second,
                    of_table.write_units_per_second,
                ),
                of_index.map(|w| (w.read_units_per_second, w.write_units_per_second)),
            )
        }
    };

    let plain = unique_name("warm-plain");
    create_hash_table(&client, &plain).await;
    assert_eq!(
        described(plain.clone()).await,
        ((Some(12_000), Some(4_000)), None)
    );

    // Asked for at creation, for the table and its GSI; provisioned capacity above the
    // initial values shows as warm throughput too. Asking for less than the provisioned
    // capacity is refused, as by DynamoDB, rather than raised to it.
    let table = unique_name("warm");
    let create = |table_warm| {
        client
            .create_table()
            .table_name(&table)
            .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
            .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
            .key_schema(key_element("pk", KeyType::Hash))
            .billing_mode(BillingMode::Provisioned)
            .provisioned_throughput(throughput(20_000, 5))
            .global_secondary_indexes(
                gsi_projecting_all("by_g", "g")
                    .provisioned_throughput(throughput(5, 5))
                    .warm_throughput(warm(None, Some(6_000)))
                    .build()
                    .unwrap(),
            )
            .warm_throughput(table_warm)
            .send()
    };
    assert_api_error(
        create(warm(Some(15_000), Some(20_000))).await,
        "ValidationException",
        Some("One or more parameter values were invalid: Requested ReadUnitsPerSecond for WarmThroughput for table is lower than ReadCapacityUnits of ProvisionedThroughput"),
    );
    ok(create(warm(None, Some(20_000))).await);
    assert_eq!(
        described(table.clone()).await,
        (
            (Some(20_000), Some(20_000)),
            Some((Some(12_000), Some(6_000)))
        )
    );

    // UpdateTable raises it alone; it cannot come down, and values below 1 are refused.
    ok(client
        .update_table()
        .table_name(&table)
        .warm_throughput(warm(Some(30_000), None))
        .send()
        .await);
    let index_update = GlobalSecondaryIndexUpdate::builder()
        .update(
            UpdateGlobalSecondaryIndexAction::builder()
                .index_name("by_g")
                .warm_throughput(warm(Some(13_000), None))
                .build()
                .unwrap(),
        )
        .build();
    ok(client
        .update_table()
        .table_name(&table)
        .global_secondary_index_updates(index_update)
        .send()
        .await);
    assert_eq!(
        described(table.clone()).await,
        (
            (Some(30_000), Some(20_000)),
            Some((Some(13_000), Some(6_000)))
        )
    );
    for (read, write) in [(Some(29_000), None), (None, Some(0))] {
        assert_api_error(
            client
                .update_table()
                .table_name(&table)
                .warm_throughput(warm(read, write))
                .send()
                .await,
            "ValidationException",
            None,
        );
    }
    assert_api_error(
        client
            .create_table()
            .table_name(unique_name("warm-low"))
            .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
            .key_schema(key_element("pk", KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
            .warm_throughput(warm(Some(100), None))
            .send()
            .await,
        "ValidationException",
        None,
    );
}
