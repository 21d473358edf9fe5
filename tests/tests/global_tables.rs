//! Global tables across two real stores, each its own region, driven with aws-sdk-dynamodb:
//! adding a replica (and the errors on the way), the table and its existing items arriving
//! in the new region, writes in either region reaching the other, conflicting writes
//! converging on one value, shipping resuming after the shipping store is killed,
//! removing the replica, and disassociating one; the legacy global-table calls.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeValue, CreateReplicationGroupMemberAction, DeleteReplicationGroupMemberAction,
    DisassociateReplicationGroupMemberAction, DisassociationMode, ReplicaStatus,
    ReplicationGroupUpdate, StreamViewType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

const HOME: &str = "us-east-1";
const AWAY: &str = "eu-west-1";
const DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(25);

const THIRD: &str = "ap-south-1";

/// A store of `region`, which knows no other.
fn store_of(region: &str) -> StoreProcess {
    StoreProcess::spawn_with(StoreOptions {
        args: vec!["--region".into(), region.into()],
        ..Default::default()
    })
}

/// The store of `HOME` with the flags `extra`, knowing where the stores of `others` are
/// (told through STORE_REGION_ENDPOINTS; observability.rs uses the flag).
fn home_knowing(others: &[(&str, &StoreProcess)], extra: &[&str]) -> StoreProcess {
    let others: Vec<(&str, String)> = others
        .iter()
        .map(|(region, store)| (*region, store.endpoint()))
        .collect();
    home_knowing_urls(&others, extra)
}

/// [`home_knowing`] the stores of other regions by their URLs.
fn home_knowing_urls(others: &[(&str, String)], extra: &[&str]) -> StoreProcess {
    StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_REGION_ENDPOINTS".into(), endpoints(others))],
        args: extra.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    })
}

/// `--region-endpoints` naming the stores of `others` by their URLs.
fn endpoints(others: &[(&str, String)]) -> String {
    let pairs: Vec<String> = others
        .iter()
        .map(|(region, url)| format!("{region}={url}"))
        .collect();
    pairs.join(",")
}

/// The store of `region`, knowing the stores of `others` by their URLs.
fn region_knowing_urls(region: &str, others: &[(&str, String)]) -> StoreProcess {
    StoreProcess::spawn_with(StoreOptions {
        args: vec!["--region".into(), region.into()],
        env: vec![("STORE_REGION_ENDPOINTS".into(), endpoints(others))],
        ..Default::default()
    })
}

/// The store of region `AWAY`, then the store of `HOME`, which knows where `AWAY`'s is.
fn two_regions() -> (StoreProcess, StoreProcess) {
    let away = store_of(AWAY);
    (home_knowing(&[(AWAY, &away)], &[]), away)
}

/// The stores of `HOME`, `AWAY` and `THIRD`; `HOME`'s knows where the others' are.
fn three_regions() -> (StoreProcess, StoreProcess, StoreProcess) {
    let third = store_of(THIRD);
    let away = store_of(AWAY);
    let home = home_knowing(&[(AWAY, &away), (THIRD, &third)], &[]);
    (home, away, third)
}

fn add_replica(region: &str) -> ReplicationGroupUpdate {
    let create = CreateReplicationGroupMemberAction::builder()
        .region_name(region)
        .build()
        .unwrap();
    ReplicationGroupUpdate::builder().create(create).build()
}

fn remove_replica(region: &str) -> ReplicationGroupUpdate {
    let delete = DeleteReplicationGroupMemberAction::builder()
        .region_name(region)
        .build()
        .unwrap();
    ReplicationGroupUpdate::builder().delete(delete).build()
}

/// Adds replicas of `table` in `regions`, one UpdateTable each, each waited for until
/// ACTIVE (UpdateTable answers while it is CREATING).
async fn add_replicas(home: &Client, table: &str, regions: &[&str]) {
    for region in regions {
        ok(home
            .update_table()
            .table_name(table)
            .replica_updates(add_replica(region))
            .send()
            .await);
        wait_replica(home, table, region, ReplicaStatus::Active).await;
    }
}

/// Waits until `client`'s region describes the replica of `table` in `region` as `status`.
async fn wait_replica(client: &Client, table: &str, region: &str, status: ReplicaStatus) {
    let reached = wait_until(DEADLINE, POLL, || async {
        replicas_of(client, table)
            .await
            .iter()
            .any(|(r, s)| r == region && *s == status)
    })
    .await;
    assert!(
        reached,
        "the replica in {region} never became {status:?}: {:?}",
        replicas_of(client, table).await
    );
}

/// A new hash-range table in `home`'s region with the stream replication needs, and
/// replicas in `regions`, one UpdateTable each.
async fn global_table(home: &Client, prefix: &str, regions: &[&str]) -> String {
    let table = unique_name(prefix);
    create_hash_range_table(home, &table).await;
    wait_table_active(home, &table).await;
    enable_stream(home, &table, StreamViewType::NewAndOldImages).await;
    add_replicas(home, &table, regions).await;
    table
}

/// A CreateTable of a hash-range table (`pk` S, `sk` N) with the stream replication
/// needs, for a test to add its billing and indexes to.
fn replicable_table(
    home: &Client,
    table: &str,
) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
    use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType};
    home.create_table()
        .table_name(table)
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::N))
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .stream_specification(stream_of(StreamViewType::NewAndOldImages))
}

fn capacity(read: i64, write: i64) -> aws_sdk_dynamodb::types::ProvisionedThroughput {
    aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()
        .unwrap()
}

/// Creates a provisioned [`replicable_table`] of `units` with a GSI `by_v` on `v` of
/// `gsi_units`, and waits for it.
async fn provisioned_indexed_table(
    home: &Client,
    table: &str,
    (read, write): (i64, i64),
    (gsi_read, gsi_write): (i64, i64),
) {
    use aws_sdk_dynamodb::types::{BillingMode, ScalarAttributeType};
    ok(replicable_table(home, table)
        .attribute_definitions(attribute_definition("v", ScalarAttributeType::S))
        .global_secondary_indexes(
            gsi_projecting_all("by_v", "v")
                .provisioned_throughput(capacity(gsi_read, gsi_write))
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(capacity(read, write))
        .send()
        .await);
    wait_table_active(home, table).await;
}

async fn get(
    client: &Client,
    table: &str,
    pk: &str,
    sk: i64,
) -> Option<HashMap<String, AttributeValue>> {
    ok(client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", n(sk))
        .consistent_read(true)
        .send()
        .await)
    .item
}

async fn put(client: &Client, table: &str, pk: &str, sk: i64, value: &str) {
    ok(client
        .put_item()
        .table_name(table)
        .set_item(Some(item(&[("pk", s(pk)), ("sk", n(sk)), ("v", s(value))])))
        .send()
        .await);
}

/// POSTs `body` to `store`'s internal apply endpoint with the cluster secret, as another
/// region's store would: the status and the answer's text.
async fn post_apply(store: &StoreProcess, body: &serde_json::Value) -> (u16, String) {
    post_internal(store, "apply", body).await
}

/// POSTs `body` to `store`'s internal replication endpoint `action`, as [`post_apply`].
async fn post_internal(
    store: &StoreProcess,
    action: &str,
    body: &serde_json::Value,
) -> (u16, String) {
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/internal/replication/{action}",
            store.endpoint()
        ))
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

async fn delete(client: &Client, table: &str, pk: &str, sk: i64) {
    ok(client
        .delete_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", n(sk))
        .send()
        .await);
}

/// Waits until `client`'s region holds `expected` (`None`: no item) under the key.
async fn wait_for(client: &Client, table: &str, pk: &str, sk: i64, expected: Option<&str>) {
    let arrived = wait_until(DEADLINE, POLL, || async {
        let found = get(client, table, pk, sk).await;
        found.as_ref().map(|i| i["v"].as_s().unwrap().as_str()) == expected
    })
    .await;
    let found = get(client, table, pk, sk).await;
    assert!(arrived, "{pk}/{sk}: expected {expected:?}, found {found:?}");
}

/// DescribeTable's replicas, as (region, status).
async fn replicas_of(client: &Client, table: &str) -> Vec<(String, ReplicaStatus)> {
    let description = ok(client.describe_table().table_name(table).send().await);
    let table = description.table.unwrap();
    table
        .replicas()
        .iter()
        .map(|r| {
            (
                r.region_name().unwrap().to_string(),
                r.replica_status().unwrap().clone(),
            )
        })
        .collect()
}

async fn global_table_version(client: &Client, table: &str) -> Option<String> {
    describe(client, table).await.global_table_version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_converge_on_every_write_in_either_region() {
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = unique_name("global");
    create_hash_range_table(&home, &table).await;
    wait_table_active(&home, &table).await;
    for i in 0..3 {
        put(&home, &table, "before", i, &format!("old-{i}")).await;
    }

    // The errors: no stream yet, an unknown region, this store's own region.
    let updates = |update| {
        home.update_table()
            .table_name(&table)
            .replica_updates(update)
    };
    let e = assert_api_error(
        updates(add_replica(AWAY)).send().await,
        "ValidationException",
        None,
    );
    assert!(format!("{e:?}").contains("NEW_AND_OLD_IMAGES"), "{e:?}");
    enable_stream(&home, &table, StreamViewType::NewAndOldImages).await;
    assert_api_error(
        updates(add_replica("ap-south-1")).send().await,
        "ValidationException",
        None,
    );
    assert_api_error(
        updates(add_replica(HOME)).send().await,
        "ValidationException",
        None,
    );
    assert_api_error(
        updates(remove_replica(AWAY)).send().await,
        "ValidationException",
        None,
    );

    let added = ok(updates(add_replica(AWAY)).send().await);
    let description = added.table_description.unwrap();
    assert_eq!(description.global_table_version(), Some("2019.11.21"));
    assert_eq!(description.replicas()[0].region_name(), Some(AWAY));
    assert_eq!(
        description.replicas()[0].replica_status(),
        Some(&ReplicaStatus::Creating)
    );
    let active = wait_until(DEADLINE, POLL, || async {
        replicas_of(&home, &table).await == vec![(AWAY.to_string(), ReplicaStatus::Active)]
    })
    .await;
    assert!(
        active,
        "the replica never became ACTIVE: {:?}",
        replicas_of(&home, &table).await
    );
    assert_api_error(
        updates(add_replica(AWAY)).send().await,
        "ValidationException",
        None,
    );

    // The new region has the table, says where its other replica is, and has the items
    // written before the table was global.
    assert_eq!(
        replicas_of(&away, &table).await,
        vec![(HOME.to_string(), ReplicaStatus::Active)]
    );
    assert_eq!(
        global_table_version(&away, &table).await.as_deref(),
        Some("2019.11.21")
    );
    for i in 0..3 {
        wait_for(&away, &table, "before", i, Some(&format!("old-{i}"))).await;
    }

    // The legacy (2017.11.29) calls see no global table of theirs; auto scaling is
    // described (per region) but not run.
    let listed = ok(home.list_global_tables().send().await);
    assert!(listed.global_tables().is_empty());
    assert_api_error(
        home.describe_global_table()
            .global_table_name(&table)
            .send()
            .await,
        "GlobalTableNotFoundException",
        None,
    );
    assert_api_error(
        home.create_global_table()
            .global_table_name(&table)
            .send()
            .await,
        "ValidationException",
        None,
    );
    let scaling = ok(home
        .describe_table_replica_auto_scaling()
        .table_name(&table)
        .send()
        .await);
    let regions: Vec<&str> = scaling
        .table_auto_scaling_description()
        .unwrap()
        .replicas()
        .iter()
        .filter_map(|r| r.region_name())
        .collect();
    assert_eq!(regions, vec![HOME, AWAY]);
    assert_api_error(
        home.update_table_replica_auto_scaling()
            .table_name(&table)
            .send()
            .await,
        "ValidationException",
        None,
    );

    // Writes in either region reach the other: puts, updates and deletes.
    put(&home, &table, "a", 1, "from-home").await;
    wait_for(&away, &table, "a", 1, Some("from-home")).await;
    put(&away, &table, "b", 1, "from-away").await;
    wait_for(&home, &table, "b", 1, Some("from-away")).await;
    ok(away
        .update_item()
        .table_name(&table)
        .key("pk", s("a"))
        .key("sk", n(1))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("updated-away"))
        .send()
        .await);
    wait_for(&home, &table, "a", 1, Some("updated-away")).await;
    delete(&home, &table, "before", 0).await;
    wait_for(&away, &table, "before", 0, None).await;

    // Both regions write one item at once, over and over: afterwards both hold the same
    // value, the last one written.
    for round in 0..20 {
        let (mine, theirs) = (format!("home-{round}"), format!("away-{round}"));
        tokio::join!(
            put(&home, &table, "contended", 1, &mine),
            put(&away, &table, "contended", 1, &theirs),
        );
    }
    let agreed = wait_until(DEADLINE, POLL, || async {
        let (h, a) = tokio::join!(
            get(&home, &table, "contended", 1),
            get(&away, &table, "contended", 1)
        );
        h.is_some() && h == a
    })
    .await;
    let (h, a) = tokio::join!(
        get(&home, &table, "contended", 1),
        get(&away, &table, "contended", 1)
    );
    assert!(agreed, "the regions disagree: {h:?} against {a:?}");
    // The last round's writes are the newest, but a write of the round before can tie with
    // one of them in the same millisecond, where the region's name decides.
    let winner = h.unwrap()["v"].as_s().unwrap().clone();
    assert!(
        winner.ends_with("-19") || winner.ends_with("-18"),
        "an older write won: {winner}"
    );

    // Removing the replica deletes its table there; the table here is regional again.
    let removed = ok(updates(remove_replica(AWAY)).send().await);
    assert!(removed.table_description.unwrap().replicas().is_empty());
    wait_table_gone(&away, &table).await;
    assert_eq!(global_table_version(&home, &table).await, None);
    put(&home, &table, "after", 1, "regional").await;
    assert_eq!(
        get(&home, &table, "after", 1).await.unwrap()["v"],
        s("regional")
    );
}

/// Writes to one item made in both regions at once (within the same millisecond, and a
/// write made just after the other region's arrived) end as one item in both: a local
/// write's version is above its item's current one, so no region keeps a write the other
/// discards. Both update different attributes, so a region that applied the other's write
/// under its own shows a merged item the other never has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_writes_in_both_regions_converge() {
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "tie", &[AWAY]).await;
    wait_table_active(&away, &table).await;
    let update = |client: &Client, sk: i64, region: &str| {
        client
            .update_item()
            .table_name(&table)
            .key("pk", s("k"))
            .key("sk", n(sk))
            .update_expression("SET who = :r, #own = :r")
            .expression_attribute_names("#own", format!("only_{}", region.replace('-', "_")))
            .expression_attribute_values(":r", s(region))
            .send()
    };
    const KEYS: i64 = 60;
    for sk in 0..KEYS {
        let (a, b) = tokio::join!(update(&home, sk, HOME), update(&away, sk, AWAY));
        ok(a);
        ok(b);
    }
    let converged = wait_until(DEADLINE, POLL, || async {
        for sk in 0..KEYS {
            if get(&home, &table, "k", sk).await != get(&away, &table, "k", sk).await {
                return false;
            }
        }
        true
    })
    .await;
    let mut differing = Vec::new();
    for sk in 0..KEYS {
        let (here, there) = (
            get(&home, &table, "k", sk).await,
            get(&away, &table, "k", sk).await,
        );
        if here != there {
            differing.push((sk, here, there));
        }
    }
    assert!(
        converged,
        "{} items differ, e.g. {:?}",
        differing.len(),
        differing.first()
    );
}

/// Removing a replica that its region refuses to delete (deletion protection) changes
/// nothing: the replica stays in the global table on both sides, and writes still reach
/// it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_replica_removal_leaves_replication_as_it_was() {
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "keep", &[AWAY]).await;
    wait_table_active(&away, &table).await;
    ok(away
        .update_table()
        .table_name(&table)
        .deletion_protection_enabled(true)
        .send()
        .await);
    let refused = home
        .update_table()
        .table_name(&table)
        .replica_updates(remove_replica(AWAY))
        .send()
        .await;
    assert_api_error(refused, "ValidationException", None);
    let regions = |replicas: Vec<(String, ReplicaStatus)>| {
        replicas.into_iter().map(|(r, _)| r).collect::<Vec<_>>()
    };
    assert_eq!(regions(replicas_of(&away, &table).await), [HOME]);
    assert_eq!(regions(replicas_of(&home, &table).await), [AWAY]);
    put(&home, &table, "after", 1, "from-home").await;
    wait_for(&away, &table, "after", 1, Some("from-home")).await;
    put(&away, &table, "after", 2, "from-away").await;
    wait_for(&home, &table, "after", 2, Some("from-away")).await;
}

/// Every record of `table`'s stream in `store`'s region, oldest first.
async fn stream_records(
    store: &StoreProcess,
    table: &str,
) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    let described = ok(store
        .client()
        .describe_table()
        .table_name(table)
        .send()
        .await);
    let arn = described.table.unwrap().latest_stream_arn.unwrap();
    let streams =
        streams_client_with_credentials(&store.endpoint(), ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    read_stream(&streams, &arn).await
}

/// Every replica has the global table's TTL setting (DynamoDB keeps it the same in every
/// region): a change made in one region reaches those there are, and a replica added later
/// starts with it. Expired items would otherwise live on in the regions that never heard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ttl_setting_is_the_same_in_every_region() {
    let (home_store, away_store, third_store) = three_regions();
    let home = home_store.client();
    let table = global_table(&home, "ttl", &[AWAY]).await;
    wait_table_active(&away_store.client(), &table).await;
    enable_ttl(&home, &table, "expires").await;
    add_replicas(&home, &table, &[THIRD]).await;
    for store in [&away_store, &third_store] {
        let client = store.client();
        wait_table_active(&client, &table).await;
        let described = ok(client
            .describe_time_to_live()
            .table_name(&table)
            .send()
            .await);
        let ttl = described.time_to_live_description().unwrap();
        assert_eq!(
            (ttl.time_to_live_status(), ttl.attribute_name()),
            (Some(&TimeToLiveStatus::Enabled), Some("expires")),
            "{}",
            store.endpoint()
        );
    }
}

/// A replica whose region's store is down can still be removed (a region lost for good
/// must not pin the global table): it leaves at once, home takes writes as a regional
/// table, and the table over there is deleted when its store is back, across a restart
/// of home in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_in_a_region_that_is_down_can_be_removed() {
    let (mut home_store, mut away_store) = two_regions();
    let table = global_table(&home_store.client(), "gone", &[AWAY]).await;
    wait_table_active(&away_store.client(), &table).await;

    away_store.kill9();
    ok(home_store
        .client()
        .update_table()
        .table_name(&table)
        .replica_updates(remove_replica(AWAY))
        .send()
        .await);
    let home = home_store.client();
    assert_eq!(replicas_of(&home, &table).await, []);
    put(&home, &table, "after", 1, "regional").await;
    // What home kept to do survives its own crash.
    home_store.kill9();
    home_store.restart();
    away_store.restart_in_place();
    let away = away_store.client();
    let deleted = wait_until(Duration::from_secs(40), POLL, || async {
        let described = away.describe_table().table_name(&table).send().await;
        described.is_err_and(|e| {
            e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())
        })
    })
    .await;
    assert!(deleted, "the removed replica's table is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_resumes_where_it_stopped_after_the_store_is_killed() {
    let (mut home_store, away_store) = two_regions();
    let home = home_store.client();
    let away = away_store.client();
    let table = global_table(&home, "global-crash", &[AWAY]).await;
    wait_table_active(&away, &table).await;

    // Acknowledged writes, then a crash before they can all have been shipped.
    for i in 0..200 {
        put(&home, &table, "crash", i, &format!("v{i}")).await;
    }
    home_store.kill9();
    home_store.restart();
    for i in [0, 99, 199] {
        wait_for(&away, &table, "crash", i, Some(&format!("v{i}"))).await;
    }
    let all_there = wait_until(DEADLINE, POLL, || async {
        let page = ok(away
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("crash"))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await);
        page.count == 200
    })
    .await;
    assert!(
        all_there,
        "writes acknowledged before the crash never reached the replica"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_regions_share_writes_and_index_changes_and_let_one_go() {
    let (home_store, away_store, third_store) = three_regions();
    let (home, away, third) = (
        home_store.client(),
        away_store.client(),
        third_store.client(),
    );
    let table = global_table(&home, "global3", &[AWAY, THIRD]).await;
    // The first replica learned of the third from the store that added it.
    let mut regions: Vec<String> = replicas_of(&away, &table)
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    regions.sort();
    assert_eq!(regions, vec![THIRD.to_string(), HOME.to_string()]);

    put(&away, &table, "k", 1, "from-away").await;
    wait_for(&third, &table, "k", 1, Some("from-away")).await;
    wait_for(&home, &table, "k", 1, Some("from-away")).await;
    put(&third, &table, "k", 2, "from-third").await;
    wait_for(&away, &table, "k", 2, Some("from-third")).await;

    // An index created in one region is created, and filled, in the others.
    create_index_by_v(&home, &table).await;
    wait_index_by_v(&third, &table).await;
    let found = ok(third
        .query()
        .table_name(&table)
        .index_name("by_v")
        .key_condition_expression("v = :v")
        .expression_attribute_values(":v", s("from-away"))
        .send()
        .await);
    assert_eq!(found.count, 1);

    // So is a vector index, and it finds what the other regions write.
    create_vector_index(&home, &table).await;
    let vector = |x: i64, y: i64| AttributeValue::L(vec![n(x), n(y)]);
    ok(away
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[
            ("pk", s("vec")),
            ("sk", n(1)),
            ("v", s("near")),
            ("emb", vector(1, 0)),
        ])))
        .send()
        .await);
    wait_for(&third, &table, "vec", 1, Some("near")).await;
    let searched = wait_until(DEADLINE, POLL, || async {
        let answer = third
            .search_vectors()
            .table_name(&table)
            .index_name("by_emb")
            .set_search_vector(Some(vec![n(1), n(0)]))
            .top_k(1)
            .send()
            .await;
        answer.is_ok_and(|a| {
            a.search_results()
                .first()
                .and_then(|r| r.item())
                .and_then(|i| i.get("pk"))
                == Some(&s("vec"))
        })
    })
    .await;
    assert!(
        searched,
        "the third region never searched the replicated vector"
    );

    // The third region leaves: its table is deleted, the others stop replicating with it.
    replica_update(&home, &table, remove_replica(THIRD)).await;
    wait_table_gone(&third, &table).await;
    assert_eq!(
        replicas_of(&away, &table).await,
        vec![(HOME.to_string(), ReplicaStatus::Active)]
    );
    put(&away, &table, "k", 3, "two-left").await;
    wait_for(&home, &table, "k", 3, Some("two-left")).await;
}

/// Creates GSI `by_v` (hash key `v`, a string, every attribute projected) on `table`.
fn disassociate(region: &str) -> ReplicationGroupUpdate {
    let action = DisassociateReplicationGroupMemberAction::builder()
        .region_name(region)
        .disassociation_mode(DisassociationMode::WaitForReplication)
        .build()
        .unwrap();
    ReplicationGroupUpdate::builder()
        .disassociate(action)
        .build()
}

async fn disassociation_protection(client: &Client, table: &str) -> Option<bool> {
    describe(client, table)
        .await
        .disassociation_protection_enabled
}

/// A replica disassociated from a three-region global table (DynamoDB's `Disassociate`,
/// 2026): refused while its protection is on (the default), in another region, and on a
/// regional table; then it keeps its table and items as a regional table, the changes made
/// there before it left have reached the others (WAIT_FOR_REPLICATION), and the two left
/// go on replicating with each other but no longer with it. Disassociating one of the
/// last two leaves both regional.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disassociated_replica_stays_as_a_regional_table() {
    let (home_store, mut away_store, third_store) = three_regions();
    let (home, away, third) = (
        home_store.client(),
        away_store.client(),
        third_store.client(),
    );
    let table = global_table(&home, "disassoc", &[AWAY, THIRD]).await;
    put(&home, &table, "k", 1, "from-home").await;
    wait_for(&away, &table, "k", 1, Some("from-home")).await;
    let leave = |client: &Client, region: &str| {
        client
            .update_table()
            .table_name(&table)
            .replica_updates(disassociate(region))
            .send()
    };

    // Protected by default, and only in its own region.
    assert_eq!(disassociation_protection(&away, &table).await, Some(true));
    assert_validation_containing(leave(&away, AWAY).await, "protection");
    ok(away
        .update_table()
        .table_name(&table)
        .disassociation_protection_enabled(false)
        .send()
        .await);
    assert_eq!(disassociation_protection(&away, &table).await, Some(false));
    // Each region's own: the others keep theirs.
    assert_eq!(disassociation_protection(&home, &table).await, Some(true));
    assert_validation_containing(leave(&away, HOME).await, HOME);

    // A change made there just before leaving reaches the others first.
    put(&away, &table, "k", 2, "last-from-away").await;
    let answer = ok(leave(&away, AWAY).await);
    let left = answer.table_description.unwrap();
    assert!(left.replicas().is_empty(), "{left:?}");
    assert_eq!(left.global_table_version, None);
    assert_eq!(left.disassociation_protection_enabled, None);
    assert_eq!(
        get(&home, &table, "k", 2).await.unwrap()["v"],
        s("last-from-away")
    );
    assert_eq!(
        get(&third, &table, "k", 2).await.unwrap()["v"],
        s("last-from-away")
    );
    // Its items stay; the others stop listing it, and replicate with each other only.
    assert_eq!(
        get(&away, &table, "k", 1).await.unwrap()["v"],
        s("from-home")
    );
    for client in [&home, &third] {
        let gone = wait_until(DEADLINE, POLL, || async {
            replicas_of(client, &table)
                .await
                .iter()
                .all(|(region, _)| region != AWAY)
        })
        .await;
        assert!(gone, "{:?}", replicas_of(client, &table).await);
    }
    put(&home, &table, "after", 1, "from-home").await;
    wait_for(&third, &table, "after", 1, Some("from-home")).await;
    put(&away, &table, "alone", 1, "from-away").await;
    put(&third, &table, "after", 2, "from-third").await;
    wait_for(&home, &table, "after", 2, Some("from-third")).await;
    // By now a change of the home region has had the time to reach the away one.
    assert_eq!(get(&away, &table, "after", 1).await, None);
    assert_eq!(get(&home, &table, "alone", 1).await, None);
    assert_eq!(get(&third, &table, "alone", 1).await, None);
    // And so it stays through a restart.
    away_store.restart_in_place();
    let away = away_store.client();
    assert!(replicas_of(&away, &table).await.is_empty());
    assert_eq!(
        get(&away, &table, "alone", 1).await.unwrap()["v"],
        s("from-away")
    );
    // A regional table has nothing to disassociate, nor any protection to set.
    assert_validation_containing(leave(&away, AWAY).await, "not a replica");
    let protect = away
        .update_table()
        .table_name(&table)
        .disassociation_protection_enabled(true)
        .send()
        .await;
    assert_validation_containing(protect, "no replicas");

    // One of the last two leaving leaves both regional.
    ok(third
        .update_table()
        .table_name(&table)
        .disassociation_protection_enabled(false)
        .send()
        .await);
    ok(leave(&third, THIRD).await);
    let alone = wait_until(DEADLINE, POLL, || async {
        global_table_version(&home, &table).await.is_none()
    })
    .await;
    assert!(alone, "{:?}", replicas_of(&home, &table).await);
    assert!(replicas_of(&third, &table).await.is_empty());
}

async fn create_index_by_v(client: &Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate, KeyType, Projection,
        ProjectionType, ScalarAttributeType,
    };
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name("by_v")
        .key_schema(key_element("v", KeyType::Hash))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap();
    ok(client
        .update_table()
        .table_name(table)
        .attribute_definitions(attribute_definition("v", ScalarAttributeType::S))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(create).build(),
        )
        .send()
        .await);
}

/// Creates vector index `by_emb` (2 dimensions of `emb`, EUCLIDEAN, everything projected)
/// on `table`.
async fn create_vector_index(client: &Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        CreateVectorIndexAction, Projection, ProjectionType, VectorAttributeDefinition,
        VectorDistanceFunction, VectorIndexUpdate,
    };
    let create = CreateVectorIndexAction::builder()
        .index_name("by_emb")
        .vector_attribute(
            VectorAttributeDefinition::builder()
                .attribute_name("emb")
                .build()
                .unwrap(),
        )
        .dimensions(2)
        .distance_function(VectorDistanceFunction::Euclidean)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap();
    ok(client
        .update_table()
        .table_name(table)
        .vector_index_updates(VectorIndexUpdate::builder().create(create).build())
        .send()
        .await);
}

/// Waits until `client`'s region has GSI `by_v` of `table` ACTIVE.
async fn wait_index_by_v(client: &Client, table: &str) {
    use aws_sdk_dynamodb::types::IndexStatus;
    let indexed = wait_until(DEADLINE, POLL, || async {
        let described = ok(client.describe_table().table_name(table).send().await);
        let table = described.table.unwrap();
        table.global_secondary_indexes().iter().any(|i| {
            i.index_name() == Some("by_v") && i.index_status() == Some(&IndexStatus::Active)
        })
    })
    .await;
    assert!(indexed, "the index never became ACTIVE in that region");
}

/// A change of the table made while another region's store fails or cannot be reached
/// reaches it once it can, across a crash of the store that made it: the change waits in
/// a durable outbox rather than being tried once and lost, which left the regions with
/// different indexes and TTL settings for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_the_table_reaches_a_region_that_was_failing_when_it_was_made() {
    let (mut home_store, away_store, gate) = regions_through_gate(&[]).await;
    let home = home_store.client();
    let away = away_store.client();
    let table = global_table(&home, "global-outbox", &[AWAY]).await;
    wait_table_active(&away, &table).await;

    gate.set(&["update", "ttl"], Pass::Busy);
    gate.after(&["update"], create_index_by_v(&home, &table))
        .await;
    // Queued behind the index, which the region has not taken: changes go in order.
    enable_ttl(&home, &table, "expires").await;
    // Tried again meanwhile, and kept across a crash of the store that made the changes.
    gate.after(&["update"], async {}).await;
    let endpoint = home_store.endpoint();
    let pending = || metric(&endpoint, "store_replication_pending_changes");
    assert_eq!(pending().await, 2.0, "the index and the TTL wait");
    home_store.restart_in_place();
    gate.set(&["update", "ttl"], Pass::Forward);

    wait_index_by_v(&away, &table).await;
    let ttl_enabled = wait_until(DEADLINE, POLL, || async {
        let described = ok(away.describe_time_to_live().table_name(&table).send().await);
        described
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status())
            == Some(&TimeToLiveStatus::Enabled)
    })
    .await;
    assert!(
        ttl_enabled,
        "the TTL setting never reached the other region"
    );
    let taken = wait_until(DEADLINE, POLL, || async { pending().await == 0.0 }).await;
    assert!(taken, "still pending: {}", pending().await);
    put(&home_store.client(), &table, "indexed", 1, "found").await;
    let found = wait_until(DEADLINE, POLL, || async {
        let page = ok(away
            .query()
            .table_name(&table)
            .index_name("by_v")
            .key_condition_expression("v = :v")
            .expression_attribute_values(":v", s("found"))
            .send()
            .await);
        page.count == 1
    })
    .await;
    assert!(found, "the index in the other region never had the item");
}

/// Every change made to an item in one region is applied in the other, in order, and
/// shown in its stream, even when a call carries many changes of one item (they queued
/// while the region was slow): applied side by side, a newer change that took the item's
/// lock first left the older ones superseded, missing from that region's stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_of_an_item_reaches_the_other_regions_stream() {
    let (home_store, away_store, gate) = regions_through_gate(&[]).await;
    let home = home_store.client();
    let away = away_store.client();
    let table = global_table(&home, "global-every-change", &[AWAY]).await;
    wait_table_active(&away, &table).await;

    gate.set(&["apply"], Pass::Hold);
    const CHANGES: usize = 40;
    for i in 0..CHANGES {
        put(&home, &table, "hot", 1, &format!("v{i}")).await;
    }
    gate.set(&["apply"], Pass::Forward);
    wait_for(&away, &table, "hot", 1, Some(&format!("v{}", CHANGES - 1))).await;

    let shown: Vec<String> = stream_records(&away_store, &table)
        .await
        .iter()
        .filter_map(|r| r.dynamodb()?.new_image()?.get("v")?.as_s().ok().cloned())
        .collect();
    let expected: Vec<String> = (0..CHANGES).map(|i| format!("v{i}")).collect();
    assert_eq!(shown, expected, "the other region's stream");
    assert_eq!(
        metric(
            &away_store.endpoint(),
            "store_replication_changes_superseded_total"
        )
        .await,
        0.0
    );
}

/// The replication lag grows while the other region's store fails: it is what an operator
/// alerts on, and it stayed at the age the changes had when first read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replication_lag_grows_while_a_region_fails() {
    let (home_store, away_store, gate) = regions_through_gate(&[]).await;
    let home = home_store.client();
    let table = global_table(&home, "global-lag", &[AWAY]).await;
    wait_table_active(&away_store.client(), &table).await;

    gate.set(&["apply"], Pass::Busy);
    put(&home, &table, "late", 1, "v").await;
    let lag = || async { metric(&home_store.endpoint(), "store_replication_lag_seconds").await };
    let grew = wait_until(DEADLINE, POLL, || async { lag().await >= 2.0 }).await;
    assert!(grew, "the lag stayed at {}", lag().await);

    gate.set(&["apply"], Pass::Forward);
    wait_for(&away_store.client(), &table, "late", 1, Some("v")).await;
    let caught_up = wait_until(DEADLINE, POLL, || async { lag().await < 1.0 }).await;
    assert!(caught_up, "the lag stayed at {}", lag().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replication_endpoints_take_changes_only_from_replicas_with_the_secret() {
    use integration_tests::serde_json::json;
    let (home_store, away_store) = two_regions();
    let home = home_store.client();
    let table = global_table(&home, "global-guard", &[AWAY]).await;

    let change = |from: &str, keys: serde_json::Value, item: serde_json::Value| {
        json!({"table": table, "from": from, "changes": [
            {"keys": keys, "item": item, "time_ms": u64::MAX / 2, "region": from}]})
    };
    let key = json!({"pk": {"S": "x"}, "sk": {"N": "1"}});
    let other = json!({"pk": {"S": "y"}, "sk": {"N": "1"}, "v": {"S": "forged"}});
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value, secret: &'static str| {
        http.post(format!(
            "{}/internal/replication/apply",
            home_store.endpoint()
        ))
        .header("x-dax-cluster-secret", secret)
        .body(body.to_string())
        .send()
    };
    let status = |r: reqwest::Response| r.status().as_u16();
    // Without the secret, from a region that is no replica, with an item of another key,
    // with a key of the wrong type: refused, and nothing is written.
    assert_eq!(
        status(
            post(change(AWAY, key.clone(), other.clone()), "wrong")
                .await
                .unwrap()
        ),
        403
    );
    assert_eq!(
        status(
            post(
                change("ap-south-1", key.clone(), json!(null)),
                CLUSTER_SECRET
            )
            .await
            .unwrap()
        ),
        403
    );
    assert_eq!(
        status(
            post(change(AWAY, key.clone(), other), CLUSTER_SECRET)
                .await
                .unwrap()
        ),
        400
    );
    let mistyped = json!({"pk": {"N": "1"}, "sk": {"N": "1"}});
    assert_eq!(
        status(
            post(change(AWAY, mistyped, json!(null)), CLUSTER_SECRET)
                .await
                .unwrap()
        ),
        400
    );
    assert_eq!(
        status(
            http.post(format!(
                "{}/internal/replication/nope",
                home_store.endpoint()
            ))
            .header("x-dax-cluster-secret", CLUSTER_SECRET)
            .body("{}")
            .send()
            .await
            .unwrap()
        ),
        404
    );
    for pk in ["x", "y"] {
        assert_eq!(get(&home, &table, pk, 1).await, None);
    }
    // A change from the replica with the secret is applied.
    let item = json!({"pk": {"S": "x"}, "sk": {"N": "1"}, "v": {"S": "shipped"}});
    assert_eq!(
        status(post(change(AWAY, key, item), CLUSTER_SECRET).await.unwrap()),
        200
    );
    assert_eq!(get(&home, &table, "x", 1).await.unwrap()["v"], s("shipped"));
    drop(away_store);
}

/// A replica out of reach for longer than the log's retention (paused here, past a 1 s
/// retention) would miss the changes trimmed meanwhile: the shipping store copies the table
/// to it again, deletes included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_off_past_the_log_retention_is_copied_again() {
    let away_store = store_of(AWAY);
    let retention = ["--stream-retention", "1", "--feed-retention", "1"];
    let home_store = home_knowing(&[(AWAY, &away_store)], &retention);
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "global-gap", &[AWAY]).await;
    put(&home, &table, "gone", 1, "v1").await;
    put(&home, &table, "kept", 1, "v1").await;
    wait_for(&away, &table, "gone", 1, Some("v1")).await;
    wait_for(&away, &table, "kept", 1, Some("v1")).await;

    away_store.pause();
    // The first write is read and sent to the paused replica, whose answer waits; the
    // changes after it can reach the replica only through a later read of the log, which
    // finds them trimmed.
    put(&home, &table, "first", 1, "x").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    delete(&home, &table, "gone", 1).await;
    put(&home, &table, "kept", 1, "v2").await;
    put(&home, &table, "new", 1, "n").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // The log keeps its newest record: this one, once the others are trimmed.
    put(&home, &table, "after", 1, "x").await;
    let trimmed = wait_until(DEADLINE, Duration::from_millis(200), || async {
        logged_keys(&home_store).await == ["after"]
    })
    .await;
    assert!(trimmed, "the store kept changes older than its retention");
    away_store.resume();

    wait_for(&away, &table, "gone", 1, None).await;
    wait_for(&away, &table, "kept", 1, Some("v2")).await;
    wait_for(&away, &table, "new", 1, Some("n")).await;
    wait_for(&away, &table, "after", 1, Some("x")).await;
    let metrics = reqwest::get(format!("{}/metrics", home_store.endpoint()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("store_replication_resyncs_total{region=\"eu-west-1\"} 1"),
        "no resync counted:\n{metrics}"
    );
}

/// `--advertise-url` is the address a store gives the replicas it adds: here one where
/// nothing listens, so the replica's changes for it fail and are retried, while changes
/// the other way still arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_ships_to_the_address_its_region_advertises() {
    let away_store = store_of(AWAY);
    let advertised = ["--advertise-url", "http://127.0.0.1:9/"];
    let home_store = home_knowing(&[(AWAY, &away_store)], &advertised);
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "global-advertised", &[AWAY]).await;
    put(&home, &table, "there", 1, "v").await;
    wait_for(&away, &table, "there", 1, Some("v")).await;
    put(&away, &table, "back", 1, "v").await;
    let retried = wait_until(DEADLINE, POLL, || async {
        let metrics = reqwest::get(format!("{}/metrics", away_store.endpoint()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics.contains("store_replication_retries_total{region=\"us-east-1\"}")
    })
    .await;
    assert!(
        retried,
        "the replica did not ship to the advertised address"
    );
    assert_eq!(get(&home, &table, "back", 1).await, None);
}

/// A region's store that comes back at another address is reached there once the replicas
/// hear of it (here: it adds a third region), and gets what they wrote while it was down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_back_at_a_new_address_gets_what_it_missed() {
    let away_store = store_of(AWAY);
    let third_store = store_of(THIRD);
    let mut home_store = home_knowing(&[(AWAY, &away_store), (THIRD, &third_store)], &[]);
    let away = away_store.client();
    let table = global_table(&home_store.client(), "global-moved", &[AWAY]).await;

    home_store.kill9();
    put(&away, &table, "while-down", 1, "v").await;
    // Back on another port: the replica still ships to the old one.
    home_store.restart();
    let home = home_store.client();
    add_replicas(&home, &table, &[THIRD]).await;
    wait_for(&home, &table, "while-down", 1, Some("v")).await;
    wait_for(&third_store.client(), &table, "while-down", 1, Some("v")).await;
}

/// A store back on another address is shipped to there once it has shipped anything: the
/// other regions learn its address from its calls, not only from a change of the replicas,
/// without which they sent to the old address for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_back_at_a_new_address_is_shipped_to_there() {
    let (mut home_store, away_store) = two_regions();
    let away = away_store.client();
    let table = global_table(&home_store.client(), "global-new-address", &[AWAY]).await;
    wait_table_active(&away, &table).await;

    home_store.restart();
    let home = home_store.client();
    put(&home, &table, "from-home", 1, "v").await;
    wait_for(&away, &table, "from-home", 1, Some("v")).await;
    put(&away, &table, "from-away", 1, "v").await;
    wait_for(&home, &table, "from-away", 1, Some("v")).await;
}

/// Waits until `client`'s region lists a replica of `table` in `region`.
async fn assert_learns_of(client: &Client, table: &str, region: &str) {
    let learnt = wait_until(DEADLINE, POLL, || async {
        replicas_of(client, table)
            .await
            .iter()
            .any(|(r, _)| r == region)
    })
    .await;
    assert!(
        learnt,
        "the region knows only {:?}",
        replicas_of(client, table).await
    );
}

/// A region down when a replica is added learns of it once it is back: the membership
/// change is told again until it is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_down_during_a_membership_change_learns_of_it_when_back() {
    let (home_store, away_store, mut third_store) = three_regions();
    let home = home_store.client();
    let table = global_table(&home, "global-told", &[THIRD]).await;
    wait_table_active(&third_store.client(), &table).await;

    third_store.kill9();
    add_replicas(&home, &table, &[AWAY]).await;
    wait_table_active(&away_store.client(), &table).await;
    third_store.restart_in_place();
    assert_learns_of(&third_store.client(), &table, AWAY).await;
}

/// A membership change still to be told survives a restart of the store telling it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_change_still_to_tell_survives_a_restart() {
    let (mut home_store, away_store, mut third_store) = three_regions();
    let table = global_table(&home_store.client(), "global-kept", &[THIRD]).await;
    wait_table_active(&third_store.client(), &table).await;

    third_store.kill9();
    add_replicas(&home_store.client(), &table, &[AWAY]).await;
    wait_table_active(&away_store.client(), &table).await;
    // Home goes down before the third is back: only what it kept can tell the third.
    home_store.kill9();
    home_store.restart();
    third_store.restart_in_place();
    assert_learns_of(&third_store.client(), &table, AWAY).await;
}

/// Changes of large items go in several calls, each within what the replica's store takes
/// (twelve 350 KB items are ~4 MB of JSON; one call of them all was refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_items_reach_the_replica() {
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "global-large", &[AWAY]).await;
    let large = "x".repeat(350 * 1024);
    // One batch of the log holds them all: written before the worker can read any, from a
    // BatchWriteItem of twelve puts in two calls.
    for chunk in [0..6, 6..12] {
        let requests = chunk
            .map(|i| batch_put(item(&[("pk", s("large")), ("sk", n(i)), ("v", s(&large))])))
            .collect();
        batch_write_all(&home, &table, requests).await;
    }
    // (A Query would count only its first 1 MB page.)
    let all_there = wait_until(DEADLINE, POLL, || async {
        for i in 0..12 {
            if get(&away, &table, "large", i).await.is_none() {
                return false;
            }
        }
        true
    })
    .await;
    assert!(all_there, "large items never reached the replica");
}

/// Every attribute type arrives in the other region as it was written (the images are
/// rendered to JSON from the log's encoding, and parsed there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attribute_type_arrives_unchanged() {
    use aws_sdk_dynamodb::primitives::Blob;
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "global-types", &[AWAY]).await;
    let nested = AttributeValue::M(HashMap::from([
        (
            "list".to_string(),
            AttributeValue::L(vec![n("-1.5e-3"), s("é\"\\\n\u{1}")]),
        ),
        ("null".to_string(), AttributeValue::Null(true)),
    ]));
    let written = item(&[
        ("pk", s("types")),
        ("sk", n(1)),
        ("s", s("text with \"quotes\" and ünïcødé")),
        ("n", n("12345678901234567890123456789012345678")),
        ("b", AttributeValue::B(Blob::new(vec![0u8, 1, 2, 255]))),
        ("bool", AttributeValue::Bool(false)),
        ("m", nested),
        ("ss", AttributeValue::Ss(vec!["a".into(), "b".into()])),
        ("ns", AttributeValue::Ns(vec!["1".into(), "2.5".into()])),
        (
            "bs",
            AttributeValue::Bs(vec![Blob::new(vec![9u8]), Blob::new(vec![8u8, 7])]),
        ),
    ]);
    ok(home
        .put_item()
        .table_name(&table)
        .set_item(Some(written.clone()))
        .send()
        .await);
    let arrived = wait_until(DEADLINE, POLL, || async {
        get(&away, &table, "types", 1).await.is_some()
    })
    .await;
    assert!(arrived, "the item never arrived");
    let mut there = get(&away, &table, "types", 1).await.unwrap();
    let mut here = get(&home, &table, "types", 1).await.unwrap();
    // Sets have no order.
    for image in [&mut there, &mut here] {
        for (_, value) in image.iter_mut() {
            match value {
                AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.sort(),
                AttributeValue::Bs(v) => v.sort_by(|a, b| a.as_ref().cmp(b.as_ref())),
                _ => {}
            }
        }
    }
    assert_eq!(there, here);
}

/// Replicated writes take the receiving table's write capacity, as in DynamoDB: large
/// items written in one region leave a provisioned replica without capacity for its own
/// writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_writes_take_the_replicas_write_capacity() {
    use aws_sdk_dynamodb::types::BillingMode;
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = unique_name("global-capacity");
    ok(replicable_table(&home, &table)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(capacity(1, 1))
        .send()
        .await);
    wait_table_active(&home, &table).await;
    add_replicas(&home, &table, &[AWAY]).await;
    wait_table_active(&away, &table).await;

    // 300 KB items (300 write units each) until this region's own capacity runs out.
    let large = "x".repeat(300 * 1024);
    let mut written = 0;
    for i in 0..10 {
        let put = home
            .put_item()
            .table_name(&table)
            .set_item(Some(item(&[
                ("pk", s("big")),
                ("sk", n(i)),
                ("v", s(&large)),
            ])))
            .send()
            .await;
        match put {
            Ok(_) => written += 1,
            Err(_) => break,
        }
    }
    assert!(written > 0, "no large write was admitted");
    for i in 0..written {
        let arrived = wait_until(DEADLINE, POLL, || async {
            get(&away, &table, "big", i).await.is_some()
        })
        .await;
        assert!(arrived, "big/{i} never arrived");
    }
    // The replica charges a call's changes once they are all applied: wait for the charge.
    let away_endpoint = away_store.endpoint();
    let charged = wait_until(DEADLINE, POLL, || async {
        metric(&away_endpoint, "store_consumed_write_capacity_units_total").await
            >= 300.0 * written as f64
    })
    .await;
    assert!(charged, "the replicated writes were not charged");
    // The replica paid for them: its own small write finds no capacity left.
    let small = away
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[("pk", s("small")), ("sk", n(0))])))
        .send()
        .await;
    assert_api_error(small, "ProvisionedThroughputExceededException", None);
}

/// A replicated write is charged on the replica as the same write made there would be: by
/// the larger of the item it replaces and the new one, plus each index entry it changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_write_is_charged_by_the_larger_image_and_its_index_entries() {
    use aws_sdk_dynamodb::types::{BillingMode, ScalarAttributeType};
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = unique_name("global-charge");
    ok(replicable_table(&home, &table)
        .attribute_definitions(attribute_definition("v", ScalarAttributeType::S))
        .global_secondary_indexes(gsi_projecting_all("by_v", "v").build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    wait_table_active(&home, &table).await;
    add_replicas(&home, &table, &[AWAY]).await;
    wait_table_active(&away, &table).await;

    // An item of ~2.9 KB, in the index too: 3 units on the table, 3 on the index.
    let large = "x".repeat(2_900);
    ok(home
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[
            ("pk", s("k")),
            ("sk", n(0)),
            ("v", s("indexed")),
            ("d", s(&large)),
        ])))
        .send()
        .await);
    wait_for(&away, &table, "k", 0, Some("indexed")).await;
    let away_endpoint = away_store.endpoint();
    let consumed = || metric(&away_endpoint, "store_consumed_write_capacity_units_total");
    let charged = wait_until(DEADLINE, POLL, || async { consumed().await >= 6.0 }).await;
    assert!(
        charged,
        "the first write was not charged: {}",
        consumed().await
    );
    let before = consumed().await;
    assert_eq!(before, 6.0);

    // Replaced by a small item outside the index: still 3 units on the table (the larger
    // image), and 3 for the index entry it removes.
    ok(home
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[("pk", s("k")), ("sk", n(0))])))
        .send()
        .await);
    let replaced = wait_until(DEADLINE, POLL, || async {
        get(&away, &table, "k", 0)
            .await
            .is_some_and(|i| !i.contains_key("v"))
    })
    .await;
    assert!(replaced, "the small item never arrived");
    let charged = wait_until(DEADLINE, POLL, || async {
        consumed().await >= before + 6.0
    })
    .await;
    assert!(
        charged,
        "charged {} for the replacement",
        consumed().await - before
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(consumed().await, before + 6.0);
}

/// A deleted item's version (its tombstone) supersedes older writes from other regions
/// while `--tombstone-retention` lasts, and is collected after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstones_stop_older_writes_until_their_retention_passes() {
    use integration_tests::serde_json::{json, Value};
    let away_store = store_of(AWAY);
    let home_store = home_knowing(&[(AWAY, &away_store)], &["--tombstone-retention", "3"]);
    let home = home_store.client();
    let table = global_table(&home, "global-tombstones", &[AWAY]).await;
    put(&home, &table, "gone", 1, "soon").await;
    delete(&home, &table, "gone", 1).await;

    // A write from the other region made long before the delete.
    let older_write = || async {
        let body = json!({"table": table, "from": AWAY, "changes": [{
            "keys": {"pk": {"S": "gone"}, "sk": {"N": "1"}},
            "item": {"pk": {"S": "gone"}, "sk": {"N": "1"}, "v": {"S": "stale"}},
            "time_ms": 1, "region": AWAY}]});
        let (status, answer) = post_apply(&home_store, &body).await;
        assert_eq!(status, 200, "{answer}");
        serde_json::from_str::<Value>(&answer).unwrap()
    };
    assert_eq!(older_write().await, json!({"applied": 0, "superseded": 1}));
    assert_eq!(get(&home, &table, "gone", 1).await, None);

    let endpoint = home_store.endpoint();
    let collected = wait_until(DEADLINE, POLL, || async {
        metric(&endpoint, "store_replication_versions_collected_total").await >= 1.0
    })
    .await;
    assert!(collected, "the tombstone was never collected");
    // With the tombstone gone, the item has no version here, and the old write is news.
    assert_eq!(older_write().await, json!({"applied": 1, "superseded": 0}));
    assert!(get(&home, &table, "gone", 1).await.is_some());
}

/// (table read, table write, index read, index write) of a [`provisioned_indexed_table`]
/// in a region.
async fn units(client: &Client, table: &str) -> (i64, i64, i64, i64) {
    let described = ok(client.describe_table().table_name(table).send().await);
    let t = described.table.unwrap();
    let own = t.provisioned_throughput.clone().unwrap();
    let index = t.global_secondary_indexes()[0]
        .provisioned_throughput
        .clone()
        .unwrap();
    (
        own.read_capacity_units.unwrap(),
        own.write_capacity_units.unwrap(),
        index.read_capacity_units.unwrap(),
        index.write_capacity_units.unwrap(),
    )
}

/// Whether `table`'s [`units`] in `client`'s region become `expected` within the deadline.
async fn reaches(client: &Client, table: &str, expected: (i64, i64, i64, i64)) -> bool {
    wait_until(DEADLINE, POLL, || async {
        units(client, table).await == expected
    })
    .await
}

/// The read capacity override of `region`'s replica as `client`'s region describes it.
async fn read_override_of(client: &Client, table: &str, region: &str) -> Option<i64> {
    let described = ok(client.describe_table().table_name(table).send().await);
    described
        .table
        .unwrap()
        .replicas()
        .iter()
        .find(|r| r.region_name() == Some(region))?
        .provisioned_throughput_override
        .as_ref()?
        .read_capacity_units
}

/// Every region keeps every replica's overrides: each describes them, and a capacity
/// change made in any region, the overridden one's too, leaves them in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_region_knows_a_replicas_overrides_and_keeps_them() {
    use aws_sdk_dynamodb::types::{
        ProvisionedThroughputOverride, UpdateReplicationGroupMemberAction,
    };
    let (home_store, away_store, third_store) = three_regions();
    let (home, away, third) = (
        home_store.client(),
        away_store.client(),
        third_store.client(),
    );
    let table = unique_name("global-overrides3");
    provisioned_indexed_table(&home, &table, (10, 5), (4, 2)).await;
    add_replicas(&home, &table, &[AWAY, THIRD]).await;
    wait_table_active(&away, &table).await;
    wait_table_active(&third, &table).await;

    // The home region gives the away replica reads of its own; the third learns of them.
    let action = UpdateReplicationGroupMemberAction::builder()
        .region_name(AWAY)
        .provisioned_throughput_override(
            ProvisionedThroughputOverride::builder()
                .read_capacity_units(7)
                .build(),
        )
        .build()
        .unwrap();
    replica_update(
        &home,
        &table,
        ReplicationGroupUpdate::builder().update(action).build(),
    )
    .await;
    assert!(reaches(&away, &table, (7, 5, 4, 2)).await);
    assert_eq!(read_override_of(&home, &table, AWAY).await, Some(7));
    assert_eq!(read_override_of(&third, &table, AWAY).await, Some(7));

    // A capacity change made in any region, the away one too, leaves the away replica its
    // reads; the others take the table's.
    for (region, client, (read, write)) in [(THIRD, &third, (20, 9)), (AWAY, &away, (30, 11))] {
        ok(client
            .update_table()
            .table_name(&table)
            .provisioned_throughput(capacity(read, write))
            .send()
            .await);
        assert!(
            reaches(&away, &table, (7, write, 4, 2)).await,
            "after a change in {region}, away has {:?}",
            units(&away, &table).await
        );
        assert!(reaches(&home, &table, (read, write, 4, 2)).await);
    }
    assert!(reaches(&third, &table, (30, 11, 4, 2)).await);
}

/// A replica may have reads and a table class of its own (DynamoDB's per-replica
/// overrides); writes, and so write capacity, stay the table's everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_keeps_its_own_reads_and_class_through_capacity_changes() {
    use aws_sdk_dynamodb::types::{
        BillingMode, OnDemandThroughputOverride, ProvisionedThroughputOverride,
        ReplicaGlobalSecondaryIndex, TableClass, UpdateReplicationGroupMemberAction,
    };
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = unique_name("global-overrides");
    let reads = |read| {
        ProvisionedThroughputOverride::builder()
            .read_capacity_units(read)
            .build()
    };
    provisioned_indexed_table(&home, &table, (10, 5), (4, 2)).await;
    let create = CreateReplicationGroupMemberAction::builder()
        .region_name(AWAY)
        .provisioned_throughput_override(reads(7))
        .global_secondary_indexes(
            ReplicaGlobalSecondaryIndex::builder()
                .index_name("by_v")
                .provisioned_throughput_override(reads(3))
                .build()
                .unwrap(),
        )
        .table_class_override(TableClass::StandardInfrequentAccess)
        .build()
        .unwrap();
    replica_update(
        &home,
        &table,
        ReplicationGroupUpdate::builder().create(create).build(),
    )
    .await;
    wait_table_active(&away, &table).await;

    let reached = |expected: (i64, i64, i64, i64)| reaches(&away, &table, expected);
    assert!(
        reached((7, 5, 3, 2)).await,
        "away has {:?}",
        units(&away, &table).await
    );
    let away_table = ok(away.describe_table().table_name(&table).send().await)
        .table
        .unwrap();
    assert_eq!(
        away_table.table_class_summary.unwrap().table_class,
        Some(TableClass::StandardInfrequentAccess)
    );
    // The away replica as the home region describes it, and its read override.
    let home_view = || async {
        let described = ok(home.describe_table().table_name(&table).send().await);
        described.table.unwrap().replicas()[0].clone()
    };
    let read_override = |replica: &aws_sdk_dynamodb::types::ReplicaDescription| {
        replica
            .provisioned_throughput_override
            .as_ref()
            .and_then(|o| o.read_capacity_units)
    };
    let replica = home_view().await;
    assert_eq!(read_override(&replica), Some(7));
    let index = &replica.global_secondary_indexes()[0];
    assert_eq!(index.index_name.as_deref(), Some("by_v"));
    assert_eq!(
        index
            .provisioned_throughput_override
            .as_ref()
            .unwrap()
            .read_capacity_units,
        Some(3)
    );
    assert_eq!(
        replica
            .replica_table_class_summary
            .as_ref()
            .unwrap()
            .table_class,
        Some(TableClass::StandardInfrequentAccess)
    );

    // The table's new capacity reaches the replica with its own reads kept.
    ok(home
        .update_table()
        .table_name(&table)
        .provisioned_throughput(capacity(20, 9))
        .send()
        .await);
    assert!(
        reached((7, 9, 3, 2)).await,
        "away has {:?}",
        units(&away, &table).await
    );

    // An Update action changes the reads, keeping the class; one the billing mode does
    // not allow is refused.
    let update = |action: UpdateReplicationGroupMemberAction| {
        home.update_table()
            .table_name(&table)
            .replica_updates(ReplicationGroupUpdate::builder().update(action).build())
            .send()
    };
    ok(update(
        UpdateReplicationGroupMemberAction::builder()
            .region_name(AWAY)
            .provisioned_throughput_override(reads(8))
            .build()
            .unwrap(),
    )
    .await);
    assert!(
        reached((8, 9, 3, 2)).await,
        "away has {:?}",
        units(&away, &table).await
    );
    let replica = home_view().await;
    assert_eq!(read_override(&replica), Some(8));
    assert!(replica.replica_table_class_summary.is_some());
    assert_api_error(
        update(
            UpdateReplicationGroupMemberAction::builder()
                .region_name(AWAY)
                .on_demand_throughput_override(
                    OnDemandThroughputOverride::builder()
                        .max_read_request_units(100)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .await,
        "ValidationException",
        None,
    );

    // Reads past the other region's quota: refused there, so the replica ends
    // CREATION_FAILED with the region's reason, no table is left there, and the failed
    // replica can be removed.
    let second = unique_name("global-overrides-refused");
    ok(replicable_table(&home, &second)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(capacity(10, 5))
        .send()
        .await);
    wait_table_active(&home, &second).await;
    let too_many = CreateReplicationGroupMemberAction::builder()
        .region_name(AWAY)
        .provisioned_throughput_override(reads(40_001))
        .build()
        .unwrap();
    ok(home
        .update_table()
        .table_name(&second)
        .replica_updates(ReplicationGroupUpdate::builder().create(too_many).build())
        .send()
        .await);
    wait_replica(&home, &second, AWAY, ReplicaStatus::CreationFailed).await;
    let described = ok(home.describe_table().table_name(&second).send().await);
    let described = described.table.unwrap();
    let why = described.replicas()[0]
        .replica_status_description()
        .unwrap_or_default();
    assert!(why.contains("per table maximum"), "{why}");
    assert_eq!(
        described.table_status(),
        Some(&aws_sdk_dynamodb::types::TableStatus::Active)
    );
    assert_api_error(
        away.describe_table().table_name(&second).send().await,
        "ResourceNotFoundException",
        None,
    );
    ok(home
        .update_table()
        .table_name(&second)
        .replica_updates(remove_replica(AWAY))
        .send()
        .await);
    assert_eq!(replicas_of(&home, &second).await, []);
}

/// A table whose replicas are all removed is regional again: the versions its items kept
/// for last writer wins are collected, the items stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_no_longer_global_drops_its_item_versions() {
    let away_store = store_of(AWAY);
    let home_store = home_knowing(&[(AWAY, &away_store)], &["--tombstone-retention", "4"]);
    let home = home_store.client();
    let table = global_table(&home, "global-versions", &[AWAY]).await;
    for sk in 0..3 {
        put(&home, &table, "kept", sk, "v").await;
    }
    let endpoint = home_store.endpoint();
    let collected = || metric(&endpoint, "store_replication_versions_collected_total");
    // Global: live items keep their versions.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(collected().await, 0.0);

    replica_update(&home, &table, remove_replica(AWAY)).await;
    let dropped = wait_until(DEADLINE, POLL, || async { collected().await >= 3.0 }).await;
    assert!(dropped, "collected {}", collected().await);
    for sk in 0..3 {
        assert!(get(&home, &table, "kept", sk).await.is_some());
    }
}

/// A replica whose GSI is out of write capacity holds replicated writes back, as it does
/// when its table is: the sender backs off and retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicas_gsi_out_of_write_capacity_holds_replicated_writes_back() {
    use integration_tests::serde_json::json;
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = unique_name("global-gsi-capacity");
    provisioned_indexed_table(&home, &table, (1_000, 1_000), (1, 1)).await;
    add_replicas(&home, &table, &[AWAY]).await;
    wait_table_active(&away, &table).await;

    // A change from the other region, reaching the index.
    let change = |sk: i64| {
        json!({"table": table, "from": HOME, "changes": [{
            "keys": {"pk": {"S": "x"}, "sk": {"N": sk.to_string()}},
            "item": {"pk": {"S": "x"}, "sk": {"N": sk.to_string()}, "v": {"S": "y"}},
            "time_ms": 1, "region": HOME}]})
    };
    let (status, answer) = post_apply(&away_store, &change(1)).await;
    assert_eq!(status, 200, "{answer}");
    // A large indexed item written in the replica's region leaves its GSI in debt (its
    // table has capacity to spare): the next change from the other region must wait.
    ok(away
        .put_item()
        .table_name(&table)
        .set_item(Some(item(&[
            ("pk", s("local")),
            ("sk", n(0)),
            ("v", s("indexed")),
            ("d", s(&"x".repeat(300 * 1024))),
        ])))
        .send()
        .await);
    let (status, answer) = post_apply(&away_store, &change(2)).await;
    assert_eq!(status, 503, "{answer}");
    assert!(get(&away, &table, "x", 2).await.is_none());
}

/// A new hash-range table in `home`'s region with the stream replication needs, not yet
/// global.
async fn replicable(home: &Client, prefix: &str) -> String {
    let table = unique_name(prefix);
    create_hash_range_table(home, &table).await;
    wait_table_active(home, &table).await;
    enable_stream(home, &table, StreamViewType::NewAndOldImages).await;
    table
}

async fn table_status(
    client: &Client,
    table: &str,
) -> Option<aws_sdk_dynamodb::types::TableStatus> {
    let description = ok(client.describe_table().table_name(table).send().await);
    description.table.unwrap().table_status().cloned()
}

/// A home store knowing `AWAY` at a listener that takes connections and never answers,
/// and the task holding them (abort it at the end).
async fn home_with_silent_away() -> (StoreProcess, tokio::task::JoinHandle<()>) {
    let (url, holder) = silent_store().await;
    (home_knowing_urls(&[(AWAY, url)], &[]), holder)
}

/// The URL of a listener that takes connections and never answers, as a store that
/// hangs, and the task holding them (abort it at the end).
async fn silent_store() -> (String, tokio::task::JoinHandle<()>) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            held.push(connection);
        }
    });
    (url, holder)
}

/// While a replica is being made, the table is UPDATING: its capacity, TTL and existence
/// cannot change (ResourceInUseException, which SDKs and infrastructure tools retry),
/// since its region is being sent the definition as it was; the same region cannot be
/// added twice, even by requests racing each other. Once the replica is removed, the
/// changes go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_whose_replica_is_being_made_refuses_changes_and_a_second_addition() {
    let (home_store, holder) = home_with_silent_away().await;
    let home = home_store.client();
    let table = replicable(&home, "global-busy").await;
    let adds = (0..6).map(|_| {
        let home = home.clone();
        let table = table.clone();
        tokio::spawn(async move {
            let added = home
                .update_table()
                .table_name(&table)
                .replica_updates(add_replica(AWAY))
                .send()
                .await;
            match added {
                Ok(_) => true,
                Err(e) => {
                    assert_api_error(
                        Err::<(), _>(e),
                        "ValidationException",
                        Some(&format!("One or more parameter values were invalid: Replica in region {AWAY} already exists for table {table}")),
                    );
                    false
                }
            }
        })
    });
    let mut added = 0;
    for add in adds.collect::<Vec<_>>() {
        added += usize::from(add.await.unwrap());
    }
    assert_eq!(added, 1, "one of six concurrent additions of {AWAY}");
    assert_eq!(
        replicas_of(&home, &table).await,
        vec![(AWAY.to_string(), ReplicaStatus::Creating)]
    );

    let in_use = format!(
        "Attempt to change a resource which is still in use: Table is being updated: {table}"
    );
    let in_use = Some(in_use.as_str());
    let ttl = || {
        home.update_time_to_live()
            .table_name(&table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("exp")
                    .enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let capacity = || {
        home.update_table()
            .table_name(&table)
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::Provisioned)
            .provisioned_throughput(throughput(7, 7))
            .send()
    };
    assert_api_error(ttl().await, "ResourceInUseException", in_use);
    assert_api_error(capacity().await, "ResourceInUseException", in_use);
    assert_api_error(
        home.delete_table().table_name(&table).send().await,
        "ResourceInUseException",
        in_use,
    );

    replica_update(&home, &table, remove_replica(AWAY)).await;
    ok(ttl().await);
    ok(capacity().await);
    ok(home.delete_table().table_name(&table).send().await);
    holder.abort();
}

/// Adding a replica answers at once, CREATING, even when its region's store takes the
/// connection and never answers: the table is UPDATING meanwhile, takes writes, and the
/// replica can be removed while it is being made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_replica_answers_while_its_region_never_does() {
    use aws_sdk_dynamodb::types::TableStatus;
    let (home_store, holder) = home_with_silent_away().await;
    let home = home_store.client();
    let table = replicable(&home, "global-silent").await;

    let added = replica_update(&home, &table, add_replica(AWAY)).await;
    let replicas = added.table_description.unwrap().replicas().to_vec();
    assert_eq!(replicas[0].replica_status(), Some(&ReplicaStatus::Creating));
    assert_eq!(
        replicas_of(&home, &table).await,
        vec![(AWAY.to_string(), ReplicaStatus::Creating)]
    );
    assert_eq!(
        table_status(&home, &table).await,
        Some(TableStatus::Updating)
    );
    put(&home, &table, "meanwhile", 1, "v").await;
    assert!(get(&home, &table, "meanwhile", 1).await.is_some());

    // Removed while being made: gone at once, and the table is ACTIVE again.
    replica_update(&home, &table, remove_replica(AWAY)).await;
    assert_eq!(replicas_of(&home, &table).await, []);
    assert_eq!(table_status(&home, &table).await, Some(TableStatus::Active));
    holder.abort();
}

/// A global table takes no dead letters: they would reach the other regions' triggers,
/// which this store cannot see (two regions' triggers dead-lettering into each other's
/// tables looped without end). A trigger naming one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_table_is_refused_as_a_dead_letter_table() {
    use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType};
    let (home_store, _away_store) = two_regions();
    let home = home_store.client();
    let dead = unique_name("global-dead");
    ok(home
        .create_table()
        .table_name(&dead)
        .attribute_definitions(attribute_definition("TriggerName", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition(
            "SequenceNumber",
            ScalarAttributeType::S,
        ))
        .key_schema(key_element("TriggerName", KeyType::Hash))
        .key_schema(key_element("SequenceNumber", KeyType::Range))
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .stream_specification(stream_of(StreamViewType::NewAndOldImages))
        .send()
        .await);
    wait_table_active(&home, &dead).await;
    add_replicas(&home, &dead, &[AWAY]).await;
    let source = replicable(&home, "global-source").await;
    let trigger = integration_tests::serde_json::json!({"TriggerName": "t", "TableName": source,
        "Url": "http://127.0.0.1:9/", "DeadLetterTableName": dead});
    let answer = reqwest::Client::new()
        .post(format!("{}/triggers", home_store.endpoint()))
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .body(trigger.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let text = answer.text().await.unwrap();
    assert!(text.contains("is a global table"), "{text}");
}

/// A replica whose region's store never answers is asked again only for
/// `--replica-create-timeout`: then it is CREATION_FAILED, saying why, and the table,
/// ACTIVE again, takes the changes it refused while the replica was being made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_region_never_answers_fails_after_the_timeout() {
    use aws_sdk_dynamodb::types::TableStatus;
    // A port held bound but not listening: connections to it are refused, and no process
    // (this test's home store included, which once took a port dropped here) can take it.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    let home_store = home_knowing_urls(&[(AWAY, url)], &["--replica-create-timeout", "1s"]);
    let home = home_store.client();
    let table = replicable(&home, "global-timeout").await;
    replica_update(&home, &table, add_replica(AWAY)).await;
    wait_replica(&home, &table, AWAY, ReplicaStatus::CreationFailed).await;
    let description = ok(home.describe_table().table_name(&table).send().await);
    let replica = description.table.unwrap().replicas()[0].clone();
    assert_eq!(
        replica.replica_status_description(),
        Some("The store of region eu-west-1 could not be reached, or failed, for 1 s")
    );
    assert_eq!(table_status(&home, &table).await, Some(TableStatus::Active));
    ok(home
        .update_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::Provisioned)
        .provisioned_throughput(throughput(7, 7))
        .send()
        .await);
}

/// Adds a replica of a new table in `AWAY` while `away_store` is down, with an item
/// written before and one while the replica is CREATING (home told of members meanwhile);
/// `between` runs then (it may restart home), and `away_store` comes back where it was. The replica is made, becomes
/// ACTIVE, and has both items; a write there reaches home.
async fn add_while_down<F>(mut home_store: StoreProcess, mut away_store: StoreProcess, between: F)
where
    F: FnOnce(&mut StoreProcess),
{
    let table = replicable(&home_store.client(), "global-later").await;
    put(&home_store.client(), &table, "before", 1, "old").await;
    away_store.kill9();
    ok(home_store
        .client()
        .update_table()
        .table_name(&table)
        .replica_updates(add_replica(AWAY))
        .send()
        .await);
    assert_eq!(
        replicas_of(&home_store.client(), &table).await,
        vec![(AWAY.to_string(), ReplicaStatus::Creating)]
    );
    // A membership tell from a replica that does not know of it (none does yet) keeps it.
    let members = integration_tests::serde_json::json!({"table": table,
        "members": [{"region": HOME, "endpoint": home_store.endpoint()}]});
    let (status, answer) = post_internal(&home_store, "members", &members).await;
    assert_eq!(status, 200, "{answer}");
    put(&home_store.client(), &table, "during", 1, "new").await;
    between(&mut home_store);
    away_store.restart_in_place();
    let (home, away) = (home_store.client(), away_store.client());
    wait_replica(&home, &table, AWAY, ReplicaStatus::Active).await;
    wait_table_active(&home, &table).await;
    wait_for(&away, &table, "before", 1, Some("old")).await;
    wait_for(&away, &table, "during", 1, Some("new")).await;
    assert_eq!(
        replicas_of(&away, &table).await,
        vec![(HOME.to_string(), ReplicaStatus::Active)]
    );
    put(&away, &table, "back", 1, "from-away").await;
    wait_for(&home, &table, "back", 1, Some("from-away")).await;
}

/// A replica added while its region's store is down is made once the store is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_added_while_its_region_is_down_is_made_when_it_is_back() {
    let (home_store, away_store) = two_regions();
    add_while_down(home_store, away_store, |_| {}).await;
}

/// A replica still being made when the adding store restarts is made after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_being_made_is_made_after_a_restart_of_the_adding_store() {
    let (home_store, away_store) = two_regions();
    add_while_down(home_store, away_store, |home| {
        home.kill9();
        home.restart();
    })
    .await;
}

/// A withdrawal or a creation naming a table DynamoDB would not take, or an origin no
/// addition has, is refused for good (400), not answered as a failure that may pass
/// (503, which the asking region would send again for an hour); the store goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_addition_no_store_sends_is_refused_for_good() {
    let store = store_of(AWAY);
    let long_name = "t".repeat(300_000);
    for (action, body) in [
        (
            "withdraw",
            serde_json::json!({"table": long_name, "origin": "u/1"}),
        ),
        (
            "withdraw",
            serde_json::json!({"table": "ok-name", "origin": ""}),
        ),
        (
            "withdraw",
            serde_json::json!({"table": "ok-name", "origin": "o".repeat(300_000)}),
        ),
        (
            "create",
            serde_json::json!({"definition": {"TableName": "ok-name"}, "members": [],
            "origin": "o".repeat(300_000)}),
        ),
    ] {
        let (status, answer) = post_internal(&store, action, &body).await;
        assert_eq!(status, 400, "{action}: {answer}");
    }
    ok(store.client().list_tables().send().await);
}

/// A membership tell that arrives after a newer one from the same region (two replicas
/// made at once tell from two tasks; a tell tried again may land late) is not taken: the
/// older list would drop the replica only the newer one names, and the region would then
/// refuse that replica's changes. A newer list is taken, and another region's
/// generations are its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_membership_tell_arriving_last_is_not_taken() {
    use integration_tests::serde_json::json;
    let (home_store, away_store) = two_regions();
    let table = global_table(&home_store.client(), "global-order", &[AWAY]).await;
    let away = away_store.client();
    let member = |region: &str, url: String| json!({"region": region, "endpoint": url});
    let home_member = member(HOME, home_store.endpoint());
    let away_member = member(AWAY, away_store.endpoint());
    let third_member = member(THIRD, "http://127.0.0.1:9".to_string());
    let tell = |from: &str, generation: u64, members: Vec<&serde_json::Value>| json!({"table": table, "members": members, "from": from, "generation": generation});
    // Past any generation home's own tells carry (its clock's milliseconds).
    let newer = 4_000_000_000_000_u64;
    let members = vec![&home_member, &away_member, &third_member];
    let (status, answer) = post_internal(&away_store, "members", &tell(HOME, newer, members)).await;
    assert_eq!(status, 200, "{answer}");
    let both = vec![
        (HOME.to_string(), ReplicaStatus::Active),
        (THIRD.to_string(), ReplicaStatus::Active),
    ];
    assert_eq!(replicas_of(&away, &table).await, both);

    let older = tell(HOME, newer - 1, vec![&home_member, &away_member]);
    let (status, answer) = post_internal(&away_store, "members", &older).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(replicas_of(&away, &table).await, both);

    // Another region's first tell is taken whatever its generation.
    let from_third = tell(THIRD, 1, vec![&home_member, &away_member]);
    let (status, answer) = post_internal(&away_store, "members", &from_third).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        replicas_of(&away, &table).await,
        vec![(HOME.to_string(), ReplicaStatus::Active)]
    );

    let members = vec![&home_member, &away_member, &third_member];
    let newest = tell(HOME, newer + 1, members);
    let (status, answer) = post_internal(&away_store, "members", &newest).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(replicas_of(&away, &table).await, both);
}

/// The region asked to make a replica answers a call made again by the same addition (the
/// first answer was lost) as the first, and refuses one from another addition or one
/// that does not say which it is; the table serves clients once its addition says it has
/// its copy; a delete naming an addition deletes only the table it made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_asked_for_again_by_its_addition_is_found_not_refused() {
    use aws_sdk_dynamodb::types::TableStatus;
    use integration_tests::serde_json::json;
    let away_store = store_of(AWAY);
    let away = away_store.client();
    let table = unique_name("global-origin");
    let create = |origin: Option<&str>| replica_creation(&table, &away_store, origin);
    for _ in 0..2 {
        let (status, answer) = post_internal(&away_store, "create", &create(Some("u/1"))).await;
        assert_eq!(status, 200, "{answer}");
    }
    for other in [Some("u/2"), None] {
        let (status, answer) = post_internal(&away_store, "create", &create(other)).await;
        assert_eq!(status, 409, "{answer}");
    }
    assert_eq!(
        replicas_of(&away, &table).await,
        vec![(HOME.to_string(), ReplicaStatus::Active)]
    );
    // CREATING until its addition says it has its copy, and said again, answered alike.
    let addition = |origin: &str| json!({"table": table, "origin": origin});
    assert_eq!(
        table_status(&away, &table).await,
        Some(TableStatus::Creating)
    );
    let (status, answer) = post_internal(&away_store, "ready", &addition("u/2")).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(
        table_status(&away, &table).await,
        Some(TableStatus::Creating)
    );
    for _ in 0..2 {
        let (status, answer) = post_internal(&away_store, "ready", &addition("u/1")).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(table_status(&away, &table).await, Some(TableStatus::Active));
    }
    let (status, answer) = post_internal(&away_store, "delete", &addition("u/2")).await;
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = post_internal(&away_store, "delete", &addition("u/1")).await;
    assert_eq!(status, 200, "{answer}");
    wait_table_gone(&away, &table).await;
}

/// The internal `create` call HOME's store makes to `away` for a replica of `table` (a
/// hash-keyed table) by addition `origin`; HOME's store is at an address that answers
/// nothing.
fn replica_creation(table: &str, away: &StoreProcess, origin: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "definition": {
            "TableName": table,
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        },
        "members": [
            {"region": HOME, "endpoint": "http://127.0.0.1:9"},
            {"region": AWAY, "endpoint": away.endpoint()}
        ],
        "origin": origin
    })
}

/// What a [`Gate`] does with a call to one internal replication action.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Pass {
    /// Passes it on to the store behind.
    Forward,
    /// Answers 503, as a store that is failing.
    Busy,
    /// Keeps it until the action is let through, then passes it on.
    Hold,
    /// Passes it on, then answers 400 whatever the store behind did: a refusal that came
    /// after the store acted (a step after its create failed for good).
    Refuse,
    /// Answers 404 as a store from before the action does, passing nothing on.
    Unknown,
}

/// An HTTP gate in front of a region's store, that the test tells what to do with each
/// internal replication action (passed on unless told otherwise), and that notes the
/// calls it took and what each was answered.
struct Gate {
    url: String,
    rules: std::sync::Arc<std::sync::Mutex<HashMap<String, Pass>>>,
    /// (action, status) of every call the store behind answered.
    answered: std::sync::Arc<std::sync::Mutex<Vec<(String, u16)>>>,
    /// The actions of the calls that arrived, answered or not.
    arrived: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Gate {
    async fn before(store: &StoreProcess) -> Gate {
        use axum::extract::{Path, State};
        type Shared = (
            String,
            std::sync::Arc<std::sync::Mutex<HashMap<String, Pass>>>,
            std::sync::Arc<std::sync::Mutex<Vec<(String, u16)>>>,
            std::sync::Arc<std::sync::Mutex<Vec<String>>>,
        );
        async fn pass(
            State((upstream, rules, answered, arrived)): State<Shared>,
            Path(action): Path<String>,
            body: axum::body::Bytes,
        ) -> (axum::http::StatusCode, String) {
            arrived.lock().unwrap().push(action.clone());
            // On its way even if the caller gives up (a replica removed stops the worker
            // making it): a call already sent reaches the store all the same.
            let on_its_way = tokio::spawn(async move {
                let rule = || *rules.lock().unwrap().get(&action).unwrap_or(&Pass::Forward);
                while rule() == Pass::Hold {
                    tokio::time::sleep(POLL).await;
                }
                if rule() == Pass::Busy {
                    return (503, "busy".to_string());
                }
                if rule() == Pass::Unknown {
                    return (404, "no such replication action".to_string());
                }
                let answer = reqwest::Client::new()
                    .post(format!("{upstream}/internal/replication/{action}"))
                    .header("x-dax-cluster-secret", CLUSTER_SECRET)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = answer.status().as_u16();
                let text = answer.text().await.unwrap_or_default();
                let refuse = rule() == Pass::Refuse;
                answered.lock().unwrap().push((action, status));
                if refuse {
                    return (400, "refused after all".to_string());
                }
                (status, text)
            });
            let (status, text) = on_its_way.await.unwrap();
            (axum::http::StatusCode::from_u16(status).unwrap(), text)
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared: Shared = (
            store.endpoint(),
            Default::default(),
            Default::default(),
            Default::default(),
        );
        let (rules, answered, arrived) = (shared.1.clone(), shared.2.clone(), shared.3.clone());
        let app = axum::Router::new()
            .route("/internal/replication/{action}", axum::routing::post(pass))
            .with_state(shared);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Gate {
            url,
            rules,
            answered,
            arrived,
            server,
        }
    }

    fn set(&self, actions: &[&str], rule: Pass) {
        let mut rules = self.rules.lock().unwrap();
        for action in actions {
            rules.insert(action.to_string(), rule);
        }
    }

    /// How many calls to `actions` arrived.
    fn arrivals(&self, actions: &[&str]) -> usize {
        let arrived = self.arrived.lock().unwrap();
        arrived
            .iter()
            .filter(|a| actions.contains(&a.as_str()))
            .count()
    }

    /// Runs `act`, then waits until a call to one of `actions` arrives.
    async fn after<F: std::future::Future>(&self, actions: &[&str], act: F) {
        let before = self.arrivals(actions);
        act.await;
        let came = wait_until(DEADLINE, POLL, || async { self.arrivals(actions) > before }).await;
        assert!(came, "no call to {actions:?} came");
    }

    /// The statuses the store behind answered calls to `actions` with.
    fn passed(&self, actions: &[&str]) -> Vec<(String, u16)> {
        self.answered
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| actions.contains(&a.as_str()))
            .cloned()
            .collect()
    }

    /// Waits until the store behind has answered a call to one of `actions`.
    async fn wait_passed(&self, actions: &[&str]) -> Vec<(String, u16)> {
        // The adding store tries a failed call again after waits that double.
        let passed = wait_until(Duration::from_secs(60), POLL, || async {
            !self.passed(actions).is_empty()
        })
        .await;
        assert!(passed, "no call to {actions:?} reached the store behind");
        self.passed(actions)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Whether `client`'s region has table `table`.
async fn has_table(client: &Client, table: &str) -> bool {
    match client.describe_table().table_name(table).send().await {
        Ok(_) => true,
        Err(e) => {
            let e = e.into_service_error();
            assert!(e.is_resource_not_found_exception(), "{e:?}");
            false
        }
    }
}

/// A replica removed while its region's store holds the call that makes it: the removal's
/// withdrawal (its own action, which a store from before it refuses rather than delete a
/// table of the name) reaches the store first, and the call, let through after, makes no
/// table there that no region knows of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_removed_while_its_region_holds_its_creation_leaves_no_table() {
    let (home_store, away_store, gate) = regions_through_gate(&[(&["create"], Pass::Hold)]).await;
    let (home, away) = (home_store.client(), away_store.client());
    let table = replicable(&home, "global-held").await;
    let update = |update| replica_update(&home, &table, update);
    gate.after(&["create"], update(add_replica(AWAY))).await;
    update(remove_replica(AWAY)).await;
    let withdrawn = gate.wait_passed(&["withdraw", "delete"]).await;
    gate.set(&["create"], Pass::Forward);
    let created = gate.wait_passed(&["create"]).await;
    assert!(
        !has_table(&away, &table).await,
        "the removed replica was made after all: {created:?}"
    );
    assert_eq!(withdrawn, [("withdraw".to_string(), 200)]);
    assert_eq!(created, [("create".to_string(), 409)]);
    assert_eq!(replicas_of(&home, &table).await, []);
}

/// The stores of `HOME` and `AWAY`, `HOME` reaching `AWAY`'s through a [`Gate`] that
/// holds or answers the actions `rules` name from the start (and passes on the others).
async fn regions_through_gate(rules: &[(&[&str], Pass)]) -> (StoreProcess, StoreProcess, Gate) {
    let away_store = store_of(AWAY);
    let gate = Gate::before(&away_store).await;
    for (actions, rule) in rules {
        gate.set(actions, *rule);
    }
    let home_store = home_knowing_urls(&[(AWAY, gate.url.clone())], &[]);
    (home_store, away_store, gate)
}

/// UpdateTable's `ReplicaUpdates` of `table` at `home`, which must succeed.
async fn replica_update(
    home: &Client,
    table: &str,
    update: ReplicationGroupUpdate,
) -> aws_sdk_dynamodb::operation::update_table::UpdateTableOutput {
    ok(home
        .update_table()
        .table_name(table)
        .replica_updates(update)
        .send()
        .await)
}

/// A replica whose region made its table and then refused it (a step after the create
/// failed for good) is CREATION_FAILED; removing it withdraws the table its addition
/// made there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_replica_refused_after_its_table_was_made_withdraws_that_table() {
    let (home_store, away_store, gate) = regions_through_gate(&[(&["create"], Pass::Refuse)]).await;
    let (home, away) = (home_store.client(), away_store.client());
    let table = replicable(&home, "global-refused").await;
    replica_update(&home, &table, add_replica(AWAY)).await;
    wait_replica(&home, &table, AWAY, ReplicaStatus::CreationFailed).await;
    assert!(has_table(&away, &table).await, "the region made the table");
    replica_update(&home, &table, remove_replica(AWAY)).await;
    let withdrawn = gate.wait_passed(&["withdraw"]).await;
    assert_eq!(withdrawn, [("withdraw".to_string(), 200)]);
    assert!(
        !has_table(&away, &table).await,
        "the refused replica's table stays"
    );
}

/// A replica removed while its region fails, and added again at the same place in the
/// log (nothing written in between), is another addition: the first one's withdrawal,
/// on its way while the second is made and reaching the region after, leaves the
/// second's table alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_of_an_earlier_addition_leaves_the_replica_added_again() {
    let (home_store, away_store, gate) = regions_through_gate(&[
        (&["create"], Pass::Busy),
        (&["withdraw", "delete"], Pass::Hold),
    ])
    .await;
    let (home, away) = (home_store.client(), away_store.client());
    let table = replicable(&home, "global-again").await;
    let update = |update| replica_update(&home, &table, update);
    gate.after(&["create"], update(add_replica(AWAY))).await;
    gate.after(&["withdraw", "delete"], update(remove_replica(AWAY)))
        .await;
    gate.after(&["create"], update(add_replica(AWAY))).await;
    gate.set(&["create"], Pass::Forward);
    wait_replica(&home, &table, AWAY, ReplicaStatus::Active).await;
    gate.set(&["withdraw", "delete"], Pass::Forward);
    let withdrawn = gate.wait_passed(&["withdraw", "delete"]).await;
    assert!(
        has_table(&away, &table).await,
        "the first addition's withdrawal deleted the second's table: {withdrawn:?}"
    );
    put(&home, &table, "after", 1, "v").await;
    wait_for(&away, &table, "after", 1, Some("v")).await;
}

/// A region whose replica its store refused to make (CREATION_FAILED) sends no changes:
/// a call applying changes from it is refused, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_a_replica_that_failed_creation_are_refused() {
    use integration_tests::serde_json::json;
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = replicable(&home, "global-failed").await;
    // A table of the name in the other region: the replica is refused there.
    create_hash_range_table(&away, &table).await;
    replica_update(&home, &table, add_replica(AWAY)).await;
    wait_replica(&home, &table, AWAY, ReplicaStatus::CreationFailed).await;
    let item = json!({"pk": {"S": "x"}, "sk": {"N": "1"}, "v": {"S": "forged"}});
    let change = json!({"table": table, "from": AWAY, "changes": [
        {"keys": {"pk": {"S": "x"}, "sk": {"N": "1"}}, "item": item,
         "time_ms": u64::MAX / 2, "region": AWAY}]});
    let (status, answer) = post_apply(&home_store, &change).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(get(&home, &table, "x", 1).await, None);
}

/// Items of `table` under partition key `pk` (one Query page: they must fit in 1 MB).
async fn count_of(client: &Client, table: &str, pk: &str) -> i32 {
    let page = ok(client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s(pk))
        .select(aws_sdk_dynamodb::types::Select::Count)
        .consistent_read(true)
        .send()
        .await);
    assert!(page.last_evaluated_key.is_none(), "more than one page");
    page.count
}

/// A new replica serves no client until it has every item: in its region it is CREATING
/// until the adding region has copied the table to it and says so (`ready`, held here at
/// a gate): reads and writes there are answered as for any table being created
/// (ResourceNotFoundException), DeleteTable and UpdateTimeToLive with
/// ResourceInUseException; the adding region cannot delete its table or change its
/// capacity meanwhile either. Once told, it is ACTIVE with the whole table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_replica_serves_clients_only_once_it_has_its_copy() {
    use aws_sdk_dynamodb::types::TableStatus;
    let (home_store, away_store, gate) = regions_through_gate(&[(&["ready"], Pass::Hold)]).await;
    let (home, away) = (home_store.client(), away_store.client());
    let table = replicable(&home, "global-copying").await;
    // Enough items that the copy takes several calls.
    const ITEMS: i64 = 2000;
    let payload = "c".repeat(100);
    for first in (0..ITEMS).step_by(25) {
        let requests = (first..first + 25)
            .map(|i| batch_put(item(&[("pk", s("copy")), ("sk", n(i)), ("v", s(&payload))])))
            .collect();
        batch_write_all(&home, &table, requests).await;
    }
    let add = replica_update(&home, &table, add_replica(AWAY));
    gate.after(&["ready"], add).await;

    assert_eq!(
        table_status(&away, &table).await,
        Some(TableStatus::Creating)
    );
    let key = item(&[("pk", s("copy")), ("sk", n(1))]);
    let get = away
        .get_item()
        .table_name(&table)
        .set_key(Some(key.clone()));
    assert_api_error(get.send().await, "ResourceNotFoundException", None);
    let put = away.put_item().table_name(&table).set_item(Some(key));
    assert_api_error(put.send().await, "ResourceNotFoundException", None);
    let being_created = format!(
        "Attempt to change a resource which is still in use: Table is being created: {table}"
    );
    let being_created = Some(being_created.as_str());
    let delete = away.delete_table().table_name(&table).send().await;
    assert_api_error(delete, "ResourceInUseException", being_created);
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name("exp")
        .enabled(true)
        .build()
        .unwrap();
    let ttl = away
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(ttl);
    assert_api_error(ttl.send().await, "ResourceInUseException", being_created);
    let elsewhere = away
        .update_table()
        .table_name(&table)
        .replica_updates(add_replica(THIRD));
    assert_api_error(
        elsewhere.send().await,
        "ResourceInUseException",
        being_created,
    );
    assert_eq!(
        replicas_of(&home, &table).await,
        vec![(AWAY.to_string(), ReplicaStatus::Creating)]
    );
    // Nor can the table it waits for go.
    let being_updated = format!(
        "Attempt to change a resource which is still in use: Table is being updated: {table}"
    );
    let delete = home.delete_table().table_name(&table).send().await;
    assert_api_error(delete, "ResourceInUseException", Some(&being_updated));
    // Nor its capacity cut: the copy's writes take the replica's write capacity.
    let cut = home
        .update_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::Provisioned)
        .provisioned_throughput(throughput(5, 5));
    assert_api_error(
        cut.send().await,
        "ResourceInUseException",
        Some(&being_updated),
    );

    gate.set(&["ready"], Pass::Forward);
    wait_replica(&home, &table, AWAY, ReplicaStatus::Active).await;
    assert_eq!(table_status(&away, &table).await, Some(TableStatus::Active));
    assert_eq!(count_of(&away, &table, "copy").await, ITEMS as i32);
}

/// A replica removed while it waits for its copy (CREATING in its region, which refuses
/// its clients' DeleteTable) is deleted there by the region that added it, and the copy's
/// end, told late, finds no table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_removed_while_it_waits_for_its_copy_is_deleted_in_its_region() {
    let (home_store, away_store, gate) = regions_through_gate(&[(&["ready"], Pass::Hold)]).await;
    let (home, away) = (home_store.client(), away_store.client());
    let table = replicable(&home, "global-copy-removed").await;
    put(&home, &table, "before", 1, "v").await;
    let add = replica_update(&home, &table, add_replica(AWAY));
    gate.after(&["ready"], add).await;
    assert!(has_table(&away, &table).await);

    replica_update(&home, &table, remove_replica(AWAY)).await;
    wait_table_gone(&away, &table).await;
    assert_eq!(replicas_of(&home, &table).await, []);
    gate.set(&["ready"], Pass::Forward);
    assert_eq!(
        gate.wait_passed(&["ready"]).await,
        [("ready".to_string(), 404)]
    );
    assert!(!has_table(&away, &table).await);
}

/// A DeleteItem in one region of an item that a PutItem made a moment before in another,
/// before that put arrived, wins in both regions (last writer wins): the delete of an item
/// absent there still leaves its version and is shipped. The put, arriving after, finds
/// it newer and does not bring the item back, and the region's stream shows neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_made_before_a_put_arrived_from_elsewhere_wins_in_both_regions() {
    let (home_store, away_store, gate) = regions_through_gate(&[]).await;
    let (home, away) = (home_store.client(), away_store.client());
    let table = replicable(&home, "global-delete-first").await;
    add_replicas(&home, &table, &[AWAY]).await;

    // The home's changes wait at the gate, as on a slow link.
    gate.set(&["apply"], Pass::Hold);
    put(&home, &table, "raced", 1, "put at home").await;
    put(&home, &table, "kept", 1, "put at home").await;
    // A later millisecond than the put's: a tie would go to the home by its name.
    tokio::time::sleep(Duration::from_millis(5)).await;
    delete(&away, &table, "raced", 1).await;
    wait_for(&home, &table, "raced", 1, None).await;
    gate.set(&["apply"], Pass::Forward);
    wait_for(&away, &table, "kept", 1, Some("put at home")).await;
    assert_eq!(get(&away, &table, "raced", 1).await, None);
    assert_eq!(get(&home, &table, "raced", 1).await, None);

    let shown: Vec<String> = stream_records(&away_store, &table)
        .await
        .iter()
        .filter_map(|r| r.dynamodb()?.keys()?.get("pk")?.as_s().ok().cloned())
        .collect();
    assert_eq!(shown, ["kept"], "the away region's stream");
}

/// A replica whose region loses its table during the copy (its store's data lost, say)
/// fails: the region refuses the copy's changes for good, so the replica is
/// CREATION_FAILED, saying so, and the table takes changes again, rather than being sent
/// the copy forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_table_is_lost_during_its_copy_fails() {
    use aws_sdk_dynamodb::types::TableStatus;
    let (home_store, away_store, gate) = regions_through_gate(&[(&["apply"], Pass::Hold)]).await;
    let home = home_store.client();
    let table = replicable(&home, "global-copy-lost").await;
    put(&home, &table, "copied", 1, "v").await;
    gate.after(&["apply"], replica_update(&home, &table, add_replica(AWAY)))
        .await;
    let lost = serde_json::json!({ "table": table });
    let (status, answer) = post_internal(&away_store, "delete", &lost).await;
    assert_eq!(status, 200, "{answer}");
    gate.set(&["apply"], Pass::Forward);

    wait_replica(&home, &table, AWAY, ReplicaStatus::CreationFailed).await;
    let description = ok(home.describe_table().table_name(&table).send().await);
    let replica = description.table.unwrap().replicas()[0].clone();
    assert_eq!(
        replica.replica_status_description(),
        Some(format!("Region {AWAY} refused the table's copy: Requested resource not found: Table: {table} not found").as_str())
    );
    assert_eq!(table_status(&home, &table).await, Some(TableStatus::Active));
    ok(home.delete_table().table_name(&table).send().await);
}

/// A region whose store is from before `ready` (it answers that it knows no such action)
/// made its replica ACTIVE at once: the copy's end is not a refusal there, and the
/// replica is ACTIVE here too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_from_before_ready_gets_its_replica_all_the_same() {
    let (home_store, _away_store, gate) =
        regions_through_gate(&[(&["ready"], Pass::Unknown)]).await;
    let home = home_store.client();
    let table = replicable(&home, "global-older").await;
    put(&home, &table, "copied", 1, "v").await;
    replica_update(&home, &table, add_replica(AWAY)).await;
    wait_replica(&home, &table, AWAY, ReplicaStatus::Active).await;
    assert_eq!(gate.arrivals(&["ready"]), 1);
}

/// A replica whose adding region says nothing of it for `--replica-create-timeout` while
/// it waits for its copy (that region's store gone, with its data) may be deleted by a
/// client in its region; until then its DeleteTable is refused there, as any table's
/// being created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_left_waiting_by_its_adding_region_may_be_deleted_there() {
    use aws_sdk_dynamodb::types::TableStatus;
    use integration_tests::serde_json::json;
    let away_store = StoreProcess::spawn_with(StoreOptions {
        args: ["--region", AWAY, "--replica-create-timeout", "1s"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    });
    let away = away_store.client();
    let table = unique_name("global-left");
    let mut create = replica_creation(&table, &away_store, Some("u/1"));
    create["from"] = json!(HOME);
    let (status, answer) = post_internal(&away_store, "create", &create).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        table_status(&away, &table).await,
        Some(TableStatus::Creating)
    );
    let delete = || away.delete_table().table_name(&table).send();
    assert_api_error(delete().await, "ResourceInUseException", None);
    let deleted = wait_until(Duration::from_secs(10), POLL, || async {
        delete().await.is_ok()
    })
    .await;
    assert!(deleted, "the replica left waiting could never be deleted");
    wait_table_gone(&away, &table).await;
}

/// A region removing a replica while that replica's region adds another never splits the
/// global table: the removal and the addition race, and whichever comes first there, the
/// two regions still agree on whether they replicate with each other, and writes cross
/// while they do. (The replica's region emptied its list of replicas, then found its
/// delete refused by the addition: it went on replicating with the added region only.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_racing_an_addition_in_the_removed_region_keeps_the_regions_agreed() {
    const SILENT: &str = "sa-east-1";
    // AWAY knows a region whose store never answers: its addition stays CREATING.
    let (silent_url, holder) = silent_store().await;
    let away_store = region_knowing_urls(AWAY, &[(SILENT, silent_url)]);
    let home_store = home_knowing(&[(AWAY, &away_store)], &[]);
    let (home, away) = (home_store.client(), away_store.client());
    for round in 0..3 {
        let table = global_table(&home, "race", &[AWAY]).await;
        wait_table_active(&away, &table).await;
        let removal = home
            .update_table()
            .table_name(&table)
            .replica_updates(remove_replica(AWAY))
            .send();
        let addition = away
            .update_table()
            .table_name(&table)
            .replica_updates(add_replica(SILENT))
            .send();
        let (removed, _) = tokio::join!(removal, addition);
        if removed.is_ok() {
            assert_eq!(replicas_of(&home, &table).await, [], "round {round}");
            assert!(!has_table(&away, &table).await, "round {round}");
            continue;
        }
        let regions = |replicas: Vec<(String, ReplicaStatus)>| {
            replicas.into_iter().map(|(r, _)| r).collect::<Vec<_>>()
        };
        assert_eq!(regions(replicas_of(&home, &table).await), [AWAY]);
        assert!(
            regions(replicas_of(&away, &table).await).contains(&HOME.to_string()),
            "round {round}: {AWAY} no longer replicates with {HOME}: {:?}",
            replicas_of(&away, &table).await
        );
        put(&away, &table, "after", 1, "from-away").await;
        wait_for(&home, &table, "after", 1, Some("from-away")).await;
    }
    holder.abort();
}

/// Two regions adding the same third region: one table is made there, by one of the two
/// additions, and the region whose own addition failed (or is still to be made) takes the
/// replica as the member the other made, instead of CREATION_FAILED for good. Both
/// orders: its addition failed before it heard of the member, and it heard while its own
/// call was held on its way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_whose_addition_of_a_replica_another_made_takes_it_as_a_member() {
    let third_store = store_of(THIRD);
    let gate = Gate::before(&third_store).await;
    let away_store = region_knowing_urls(AWAY, &[(THIRD, gate.url.clone())]);
    let home_store = home_knowing(&[(AWAY, &away_store), (THIRD, &third_store)], &[]);
    let (home, away, third) = (
        home_store.client(),
        away_store.client(),
        third_store.client(),
    );

    // Failed first: THIRD had a table of the name, deleted before HOME's addition.
    let table = global_table(&home, "taken-failed", &[AWAY]).await;
    create_hash_range_table(&third, &table).await;
    wait_table_active(&third, &table).await;
    replica_update(&away, &table, add_replica(THIRD)).await;
    wait_replica(&away, &table, THIRD, ReplicaStatus::CreationFailed).await;
    ok(third.delete_table().table_name(&table).send().await);
    add_replicas(&home, &table, &[THIRD]).await;
    wait_replica(&away, &table, THIRD, ReplicaStatus::Active).await;
    put(&away, &table, "failed-first", 1, "from-away").await;
    wait_for(&third, &table, "failed-first", 1, Some("from-away")).await;

    // Heard first: AWAY's call making the replica held until HOME's addition is made.
    let table = global_table(&home, "taken-held", &[AWAY]).await;
    gate.set(&["create"], Pass::Hold);
    gate.after(&["create"], async {
        replica_update(&away, &table, add_replica(THIRD)).await;
    })
    .await;
    add_replicas(&home, &table, &[THIRD]).await;
    wait_replica(&away, &table, THIRD, ReplicaStatus::Active).await;
    gate.set(&["create"], Pass::Forward);
    let refused = gate.wait_passed(&["create"]).await;
    assert_eq!(refused, [("create".to_string(), 409)]);
    let mut replicas = replicas_of(&away, &table).await;
    replicas.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        replicas,
        [
            (THIRD.to_string(), ReplicaStatus::Active),
            (HOME.to_string(), ReplicaStatus::Active)
        ]
    );
    put(&away, &table, "heard-first", 1, "from-away").await;
    wait_for(&third, &table, "heard-first", 1, Some("from-away")).await;
}

/// Two regions removing each other's replica at once: at most one removal is made (the
/// other is refused, the table being updated), and the regions left agree on who the
/// replicas are. (Each deleted the other's table, then found its own gone before telling
/// the third region, which went on listing both.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_regions_removing_each_other_leave_the_rest_agreed() {
    let (home_store, away_store, third_store) = three_regions();
    let regions = [
        (HOME, home_store.client()),
        (AWAY, away_store.client()),
        (THIRD, third_store.client()),
    ];
    let (home, away) = (&regions[0].1, &regions[1].1);
    for round in 0..3 {
        let table = global_table(home, "mutual", &[AWAY, THIRD]).await;
        for (_, client) in &regions {
            wait_table_active(client, &table).await;
        }
        let (by_home, by_away) = tokio::join!(
            home.update_table()
                .table_name(&table)
                .replica_updates(remove_replica(AWAY))
                .send(),
            away.update_table()
                .table_name(&table)
                .replica_updates(remove_replica(HOME))
                .send(),
        );
        assert!(
            by_home.is_err() || by_away.is_err(),
            "round {round}: both removals were made"
        );
        let agreed = wait_until(DEADLINE, POLL, || async {
            let mut kept = Vec::new();
            for (region, client) in &regions {
                if has_table(client, &table).await {
                    let mut listed: Vec<String> = replicas_of(client, &table)
                        .await
                        .into_iter()
                        .map(|(r, _)| r)
                        .collect();
                    listed.push(region.to_string());
                    listed.sort();
                    kept.push((region.to_string(), listed));
                }
            }
            let members: Vec<String> = kept.iter().map(|(r, _)| r.clone()).collect();
            let mut sorted = members.clone();
            sorted.sort();
            kept.len() >= 2 && kept.iter().all(|(_, listed)| *listed == sorted)
        })
        .await;
        assert!(agreed, "round {round}: the regions left disagree");
    }
}

/// A removal's delete tried again in the background (its region's store did not answer)
/// that arrives while that region is itself removing a replica is refused as the table
/// being updated, and tried again: the table is deleted once that removal is done,
/// not left behind with no region shipping to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_delete_refused_while_the_region_removes_a_replica_comes_again() {
    let third_store = store_of(THIRD);
    let third_gate = Gate::before(&third_store).await;
    let away_store = region_knowing_urls(AWAY, &[(THIRD, third_gate.url.clone())]);
    let away_gate = Gate::before(&away_store).await;
    let home_store = home_knowing_urls(&[(AWAY, away_gate.url.clone())], &[]);
    let (home, away, third) = (
        home_store.client(),
        away_store.client(),
        third_store.client(),
    );
    let table = global_table(&home, "busy-delete", &[AWAY]).await;
    wait_table_active(&away, &table).await;
    add_replicas(&away, &table, &[THIRD]).await;
    wait_replica(&home, &table, THIRD, ReplicaStatus::Active).await;

    // AWAY's store fails the delete: HOME removes it at once and tries again later.
    away_gate.set(&["delete"], Pass::Busy);
    replica_update(&home, &table, remove_replica(AWAY)).await;
    // AWAY removes THIRD, its call to delete there held: meanwhile HOME's next try
    // reaches AWAY's store, which refuses it (409), the table being updated.
    third_gate.set(&["delete"], Pass::Hold);
    let removal = {
        let (away, table) = (away.clone(), table.clone());
        tokio::spawn(async move { replica_update(&away, &table, remove_replica(THIRD)).await })
    };
    let held = wait_until(DEADLINE, POLL, || async {
        third_gate.arrivals(&["delete"]) > 0
    })
    .await;
    assert!(held, "AWAY's delete of THIRD never came");
    away_gate.set(&["delete"], Pass::Forward);
    assert_eq!(
        away_gate.wait_passed(&["delete"]).await[0],
        ("delete".to_string(), 409)
    );
    third_gate.set(&["delete"], Pass::Forward);
    removal.await.unwrap();
    let deleted = wait_until(Duration::from_secs(60), POLL, || async {
        !has_table(&away, &table).await
    })
    .await;
    assert!(deleted, "AWAY's table was left behind");
    assert!(!has_table(&third, &table).await);
    assert_eq!(replicas_of(&home, &table).await, []);
}

/// DeleteTable in a region while that region removes another's replica is refused (the
/// table being updated): the removal would find the table gone before it told the other
/// replicas, which would list the removed region for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_is_not_deleted_while_its_region_removes_a_replica() {
    let third_store = store_of(THIRD);
    let gate = Gate::before(&third_store).await;
    let away_store = store_of(AWAY);
    let home_store = home_knowing_urls(
        &[(AWAY, away_store.endpoint()), (THIRD, gate.url.clone())],
        &[],
    );
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "delete-during-removal", &[AWAY, THIRD]).await;
    gate.set(&["delete"], Pass::Hold);
    let removal = {
        let (home, table) = (home.clone(), table.clone());
        tokio::spawn(async move { replica_update(&home, &table, remove_replica(THIRD)).await })
    };
    let held = wait_until(DEADLINE, POLL, || async { gate.arrivals(&["delete"]) > 0 }).await;
    assert!(held, "the removal's delete never came");
    let in_use = format!(
        "Attempt to change a resource which is still in use: Table is being updated: {table}"
    );
    assert_api_error(
        home.delete_table().table_name(&table).send().await,
        "ResourceInUseException",
        Some(&in_use),
    );
    gate.set(&["delete"], Pass::Forward);
    removal.await.unwrap();
    wait_replica(&away, &table, HOME, ReplicaStatus::Active).await;
    let left = wait_until(DEADLINE, POLL, || async {
        replicas_of(&away, &table).await.len() == 1
    })
    .await;
    assert!(left, "{:?}", replicas_of(&away, &table).await);
}

/// A replica removed while its region's store is down, whose deletion that region then
/// refuses for good (deletion protection), leaves the global table all the same: a
/// regional table there, listing no replica, instead of one shipping its writes to
/// regions that no longer take them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_replica_removed_while_down_is_regional_when_back() {
    let (home_store, mut away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "protected-left", &[AWAY]).await;
    wait_table_active(&away, &table).await;
    ok(away
        .update_table()
        .table_name(&table)
        .deletion_protection_enabled(true)
        .send()
        .await);
    away_store.kill9();
    replica_update(&home, &table, remove_replica(AWAY)).await;
    assert_eq!(replicas_of(&home, &table).await, []);
    away_store.restart_in_place();
    let away = away_store.client();
    let regional = wait_until(Duration::from_secs(30), POLL, || async {
        replicas_of(&away, &table).await.is_empty()
    })
    .await;
    assert!(regional, "{:?}", replicas_of(&away, &table).await);
    assert!(
        has_table(&away, &table).await,
        "deletion protection keeps it"
    );
}

/// A delete of a removed replica that arrives late (tried again in the background while
/// the region was out of reach) does not delete the replica added there since (by another
/// region, the old table deleted by hand): the call names when the removed one was added.
/// (Here the late call is posted by hand: the removing region's own tell of the new member
/// usually supersedes the call it still had to try.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_delete_of_a_removed_replica_spares_the_one_added_since() {
    let (home_store, away_store, third_store) = three_regions();
    let (home, away, third) = (
        home_store.client(),
        away_store.client(),
        third_store.client(),
    );
    let table = global_table(&home, "late-delete", &[AWAY, THIRD]).await;
    let removed_added = 1;
    replica_update(&home, &table, remove_replica(THIRD)).await;
    assert!(!has_table(&third, &table).await);
    add_replicas(&home, &table, &[THIRD]).await;
    wait_table_active(&third, &table).await;
    wait_replica(&away, &table, THIRD, ReplicaStatus::Active).await;

    let late = serde_json::json!({"table": table, "added": removed_added, "left": true});
    let (status, _) = post_internal(&third_store, "delete", &late).await;
    assert_eq!(status, 404);
    assert!(
        has_table(&third, &table).await,
        "the new replica was deleted"
    );
    put(&third, &table, "after", 1, "from-third").await;
    wait_for(&away, &table, "after", 1, Some("from-third")).await;
}

/// A region added, removed before its region made its replica, and added again at once:
/// the second addition's call finds the first one's table there (its withdrawal still on
/// its way) and is tried again until the withdrawal has taken that table, instead of
/// failing (CREATION_FAILED, "Table already exists") with the table then withdrawn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_added_again_while_its_withdrawal_is_on_its_way_is_made() {
    let (home_store, away_store, gate) =
        regions_through_gate(&[(&["create", "withdraw"], Pass::Hold)]).await;
    let (home, away) = (home_store.client(), away_store.client());
    let table = replicable(&home, "added-again").await;
    gate.after(&["create"], async {
        replica_update(&home, &table, add_replica(AWAY)).await;
    })
    .await;
    replica_update(&home, &table, remove_replica(AWAY)).await;
    let withdrawing = wait_until(DEADLINE, POLL, || async {
        gate.arrivals(&["withdraw"]) > 0
    })
    .await;
    assert!(withdrawing, "no withdrawal came");
    // The first addition's call reaches the region and makes its table there.
    gate.set(&["create"], Pass::Forward);
    gate.wait_passed(&["create"]).await;
    assert!(has_table(&away, &table).await);

    replica_update(&home, &table, add_replica(AWAY)).await;
    let refused = wait_until(DEADLINE, POLL, || async {
        gate.passed(&["create"])
            .iter()
            .any(|(_, status)| *status == 409)
    })
    .await;
    assert!(refused, "{:?}", gate.passed(&["create"]));
    gate.set(&["withdraw"], Pass::Forward);
    wait_replica(&home, &table, AWAY, ReplicaStatus::Active).await;
    put(&home, &table, "again", 1, "v").await;
    wait_for(&away, &table, "again", 1, Some("v")).await;
}

/// A [`Gate`] before `away` (`AWAY`'s store) that refuses deletes for now (503, as a store
/// that cannot be reached), and the stores of `HOME` and `THIRD`, both reaching `AWAY`'s
/// through it.
async fn around_a_gated_away(away: &StoreProcess) -> (Gate, StoreProcess, StoreProcess) {
    let gate = Gate::before(away).await;
    gate.set(&["delete"], Pass::Busy);
    let third = region_knowing_urls(THIRD, &[(AWAY, gate.url.clone())]);
    let home = home_knowing_urls(&[(AWAY, gate.url.clone()), (THIRD, third.endpoint())], &[]);
    (gate, home, third)
}

/// A replica removed while its region's store refuses the delete for now (the removing
/// region tries it again in the background, as for a store that is down), then added
/// again by a third region before that delete got through: the new addition's call finds
/// the removed replica's table there and takes it over (deletes it, as the late delete
/// would have, and makes the new replica) instead of failing with "Table already
/// exists". A late delete let through after spares the new replica (it names the
/// addition it removes; the removing region, told of the new replica, usually drops it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_added_again_before_its_late_delete_arrives_is_made() {
    let away_store = store_of(AWAY);
    let (gate, home_store, third_store) = around_a_gated_away(&away_store).await;
    let (home, away, third) = (
        home_store.client(),
        away_store.client(),
        third_store.client(),
    );
    let table = global_table(&home, "late-taken", &[AWAY, THIRD]).await;
    replica_update(&home, &table, remove_replica(AWAY)).await;
    let refused = wait_until(DEADLINE, POLL, || async { gate.arrivals(&["delete"]) > 0 }).await;
    assert!(refused, "no delete came");
    assert!(has_table(&away, &table).await, "the delete got through");
    let told = wait_until(DEADLINE, POLL, || async {
        replicas_of(&third, &table).await == [(HOME.to_string(), ReplicaStatus::Active)]
    })
    .await;
    assert!(told, "{:?}", replicas_of(&third, &table).await);

    replica_update(&third, &table, add_replica(AWAY)).await;
    wait_replica(&third, &table, AWAY, ReplicaStatus::Active).await;
    gate.set(&["delete"], Pass::Forward);
    put(&home, &table, "again", 1, "v").await;
    wait_for(&away, &table, "again", 1, Some("v")).await;
    assert_eq!(
        gate.passed(&["delete"])
            .iter()
            .filter(|(_, status)| *status == 200)
            .count(),
        0,
        "the late delete took the new replica"
    );
}

/// The same take-over, racing the late delete itself: the removed region's store takes
/// the removing region's delete once it answers again, and the new addition's call comes
/// while that delete is still under way there (held in its journal sync, longer than a
/// take-over waits). The call is not refused "Table is being updated" (the adding region
/// took that for good: CREATION_FAILED, and no table in the region): it waits for that
/// delete, then answers 503, which the adding region tries again, and the new replica is
/// made once the old table is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_added_again_while_its_late_delete_runs_there_is_made() {
    let syncs = HeldSyncs::spawn_with(StoreOptions {
        args: vec!["--region".into(), AWAY.into()],
        ..Default::default()
    });
    let (gate, home_store, third_store) = around_a_gated_away(&syncs.store).await;
    let (home, away, third) = (
        home_store.client(),
        syncs.store.client(),
        third_store.client(),
    );
    let table = global_table(&home, "late-racing", &[AWAY, THIRD]).await;
    replica_update(&home, &table, remove_replica(AWAY)).await;
    let told = wait_until(DEADLINE, POLL, || async {
        replicas_of(&third, &table).await == [(HOME.to_string(), ReplicaStatus::Active)]
    })
    .await;
    assert!(told, "{:?}", replicas_of(&third, &table).await);

    // The late delete, tried again, reaches the region and waits there in its sync.
    syncs.hold();
    let refused_so_far = gate.arrivals(&["delete"]);
    gate.set(&["delete"], Pass::Forward);
    let arrived = wait_until(Duration::from_secs(30), POLL, || async {
        gate.arrivals(&["delete"]) > refused_so_far
    })
    .await;
    assert!(arrived, "the late delete was not tried again");
    syncs.wait_held().await;

    let creates = gate.arrivals(&["create"]);
    replica_update(&third, &table, add_replica(AWAY)).await;
    let called = wait_until(DEADLINE, POLL, || async {
        gate.arrivals(&["create"]) > creates
    })
    .await;
    assert!(called, "no create came");
    // The create meets the delete under way, and waits longer than a take-over waits
    // (10 s): the region answers 503 and is asked again. Then the delete is let through.
    tokio::time::sleep(Duration::from_secs(11)).await;
    syncs.release();
    wait_replica(&third, &table, AWAY, ReplicaStatus::Active).await;
    put(&home, &table, "again", 1, "v").await;
    wait_for(&away, &table, "again", 1, Some("v")).await;
}

/// Removing a replica whose region's store takes connections but answers nothing (frozen,
/// or its disk stalled) answers the client within seconds, as for a store that cannot be
/// reached, instead of holding it for a peer call's whole timeout (30 s: past a typical
/// SDK read timeout, whose retry then met "Replica ... does not exist"). The delete is
/// done there once the store answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_replica_whose_store_is_frozen_answers_at_once() {
    let (home_store, away_store) = two_regions();
    let (home, away) = (home_store.client(), away_store.client());
    let table = global_table(&home, "frozen", &[AWAY]).await;
    wait_table_active(&away, &table).await;
    away_store.pause();
    let removal = home
        .update_table()
        .table_name(&table)
        .replica_updates(remove_replica(AWAY))
        .send();
    let answered = tokio::time::timeout(Duration::from_secs(15), removal).await;
    away_store.resume();
    ok(answered.expect("UpdateTable waited on the frozen store"));
    assert_eq!(replicas_of(&home, &table).await, []);
    let deleted = wait_until(DEADLINE, POLL, || async { !has_table(&away, &table).await }).await;
    assert!(deleted, "the removed replica's table stayed");
}
