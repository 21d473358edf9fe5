//! DynamoDB Streams against the real store, read with `aws-sdk-dynamodbstreams`: the images
//! of each view type, every iterator type, a follower that reads while another client
//! writes (every change exactly once, in order per item), iterator errors, shard rollover
//! with parent lineage, retention trimming, and disable/enable creating a new stream.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as SAV, OperationType, Record, ShardIteratorType,
};
use aws_sdk_dynamodbstreams::Client as Streams;
use integration_tests::*;

/// A Streams client for `endpoint` (same credentials and no-retry policy as `client`).
fn streams_client(endpoint: &str) -> Streams {
    streams_client_with_credentials(endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
}

async fn stream_table(ddb: &Client, name: &str, view: StreamViewType) -> String {
    create_hash_table(ddb, name).await;
    enable_stream(ddb, name, view).await;
    stream_arn(ddb, name).await
}

async fn stream_arn(ddb: &Client, name: &str) -> String {
    let desc = ok(ddb.describe_table().table_name(name).send().await);
    desc.table()
        .and_then(|t| t.latest_stream_arn())
        .expect("LatestStreamArn")
        .to_string()
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

async fn delete(ddb: &Client, table: &str, pk: &str) {
    ok(ddb
        .delete_item()
        .table_name(table)
        .key("pk", s(pk))
        .send()
        .await);
}

/// Shard ids, oldest (parent) first.
fn pk_of(r: &Record) -> String {
    match r
        .dynamodb()
        .and_then(|d| d.keys())
        .and_then(|k| k.get("pk"))
    {
        Some(SAV::S(v)) => v.clone(),
        other => panic!("record without pk: {other:?}"),
    }
}

fn v_of(image: Option<&HashMap<String, SAV>>) -> Option<String> {
    match image?.get("v")? {
        SAV::N(v) => Some(v.clone()),
        _ => None,
    }
}

fn events(records: &[Record], pk: &str) -> Vec<(OperationType, Option<String>, Option<String>)> {
    records
        .iter()
        .filter(|r| pk_of(r) == pk)
        .map(|r| {
            let d = r.dynamodb().unwrap();
            (
                r.event_name().unwrap().clone(),
                v_of(d.old_image()),
                v_of(d.new_image()),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_view_type_shows_its_images() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let cases = [
        (StreamViewType::KeysOnly, false, false),
        (StreamViewType::NewImage, true, false),
        (StreamViewType::OldImage, false, true),
        (StreamViewType::NewAndOldImages, true, true),
    ];
    for (view, new_shown, old_shown) in cases {
        let table = unique_name("views");
        let arn = stream_table(&ddb, &table, view.clone()).await;
        put(&ddb, &table, "a", 1).await;
        put(&ddb, &table, "a", 1).await; // unchanged: no record
        put(&ddb, &table, "a", 2).await;
        delete(&ddb, &table, "a").await;
        delete(&ddb, &table, "a").await; // missing: no record
        let records = read_stream(&st, &arn).await;
        let one = |b: bool, v: &str| b.then(|| v.to_string());
        assert_eq!(
            events(&records, "a"),
            vec![
                (OperationType::Insert, None, one(new_shown, "1")),
                (
                    OperationType::Modify,
                    one(old_shown, "1"),
                    one(new_shown, "2")
                ),
                (OperationType::Remove, one(old_shown, "2"), None),
            ],
            "view type {view:?}"
        );
        for r in &records {
            let d = r.dynamodb().unwrap();
            assert_eq!(
                d.stream_view_type().map(|v| v.as_str()),
                Some(view.as_str())
            );
            assert!(d.size_bytes().unwrap_or(0) > 0);
            assert!(d.approximate_creation_date_time().is_some());
            assert_eq!(r.event_source(), Some("aws:dynamodb"));
            assert_eq!(r.aws_region(), Some(REGION));
            assert_eq!(r.event_id().map(str::len), Some(32));
            assert!(r.user_identity().is_none());
        }
    }
}

#[tokio::test]
async fn iterator_types_and_limits() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("iters");
    let arn = stream_table(&ddb, &table, StreamViewType::NewImage).await;
    for v in 0..5 {
        put(&ddb, &table, "k", v).await;
    }
    let shards = shard_ids(&st, &arn).await;
    assert_eq!(shards.len(), 1);
    let shard = shards[0].0.clone();
    assert!(shard.starts_with("shardId-"), "{shard}");

    let all = drain_shard(
        &st,
        Some(shard_iterator(&st, &arn, &shard, ShardIteratorType::TrimHorizon).await),
    )
    .await;
    assert_eq!(all.len(), 5);
    let seqs: Vec<String> = all
        .iter()
        .map(|r| r.dynamodb().unwrap().sequence_number().unwrap().to_string())
        .collect();
    let mut sorted = seqs.clone();
    sorted.sort_by_key(|s| s.parse::<u128>().unwrap());
    assert_eq!(seqs, sorted);

    let at = |kind: ShardIteratorType, seq: &str| {
        let (st, arn, shard, seq) = (st.clone(), arn.clone(), shard.clone(), seq.to_string());
        async move {
            ok(st
                .get_shard_iterator()
                .stream_arn(arn)
                .shard_id(shard)
                .shard_iterator_type(kind)
                .sequence_number(seq)
                .send()
                .await)
            .shard_iterator()
            .map(str::to_string)
        }
    };
    let from_at = drain_shard(&st, at(ShardIteratorType::AtSequenceNumber, &seqs[1]).await).await;
    assert_eq!(from_at.len(), 4);
    let from_after = drain_shard(
        &st,
        at(ShardIteratorType::AfterSequenceNumber, &seqs[1]).await,
    )
    .await;
    assert_eq!(from_after.len(), 3);
    assert_eq!(
        v_of(from_after[0].dynamodb().unwrap().new_image()).as_deref(),
        Some("2")
    );

    // Limit pages through in order.
    let it = shard_iterator(&st, &arn, &shard, ShardIteratorType::TrimHorizon).await;
    let page = ok(st.get_records().shard_iterator(it).limit(2).send().await);
    assert_eq!(page.records().len(), 2);
    let next = ok(st
        .get_records()
        .shard_iterator(page.next_shard_iterator().unwrap())
        .limit(2)
        .send()
        .await);
    assert_eq!(
        v_of(next.records()[0].dynamodb().unwrap().new_image()).as_deref(),
        Some("2")
    );

    // LATEST sees only what comes after it.
    let latest = shard_iterator(&st, &arn, &shard, ShardIteratorType::Latest).await;
    put(&ddb, &table, "later", 9).await;
    let seen = drain_shard(&st, Some(latest)).await;
    assert_eq!(seen.iter().map(pk_of).collect::<Vec<_>>(), vec!["later"]);

    // Errors: malformed or foreign iterators, unknown shards and streams, bad types.
    let bad = st
        .get_records()
        .shard_iterator("not-an-iterator")
        .send()
        .await;
    assert_api_error(bad, "ValidationException", Some("Invalid ShardIterator"));
    let real = shard_iterator(&st, &arn, &shard, ShardIteratorType::TrimHorizon).await;
    let (_, payload) = real.rsplit_once("|1|").unwrap();
    let other_arn = arn.replace(&table, "someone_else");
    let spliced = format!("{other_arn}|1|{payload}");
    let bad = st.get_records().shard_iterator(spliced).send().await;
    assert_api_error(bad, "ValidationException", None);
    let bad = st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id("shardId-00000000000000000000-deadbeef")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await;
    assert_api_error(bad, "ResourceNotFoundException", None);
    let missing = format!(
        "{}/2000-01-01T00:00:00.000",
        arn.rsplit_once('/').unwrap().0
    );
    let bad = st.describe_stream().stream_arn(missing).send().await;
    assert_api_error(bad, "ResourceNotFoundException", None);
    let bad = st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .send()
        .await;
    assert_api_error(bad, "ValidationException", None);
    // A number the open shard never gave: an iterator from it would skip the records
    // written until the log got there.
    let last: u128 = seqs.last().unwrap().parse().unwrap();
    let ahead = format!("{:021}", last + 1000);
    let bad = st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&ahead)
        .send()
        .await;
    let message =
        format!("Invalid SequenceNumber {ahead} for shard {shard}: out of the shard's range");
    assert_api_error(bad, "ValidationException", Some(&message));
    // A sequence number with a type that takes none.
    let bad = st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .sequence_number("000000000000000000001")
        .send()
        .await;
    assert_api_error(bad, "ValidationException", None);
    // An ARN that is not a stream's is invalid, not missing.
    let malformed = "x".repeat(50);
    let bad = st.describe_stream().stream_arn(&malformed).send().await;
    assert_api_error(bad, "ValidationException", None);
    let bad = st
        .get_shard_iterator()
        .stream_arn(&malformed)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await;
    assert_api_error(bad, "ValidationException", None);
    let bad = st
        .list_streams()
        .exclusive_start_stream_arn(&malformed)
        .send()
        .await;
    assert_api_error(bad, "ValidationException", None);
    // A shard filter needs both its members.
    let half = aws_sdk_dynamodbstreams::types::ShardFilter::builder()
        .shard_id(&shard)
        .build();
    let bad = st
        .describe_stream()
        .stream_arn(&arn)
        .shard_filter(half)
        .send()
        .await;
    assert_api_error(bad, "ValidationException", None);
}

#[tokio::test]
async fn a_follower_sees_every_change_once_in_order_per_item() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("follow");
    let arn = stream_table(&ddb, &table, StreamViewType::NewAndOldImages).await;
    let shard = shard_ids(&st, &arn).await[0].0.clone();
    let start = shard_iterator(&st, &arn, &shard, ShardIteratorType::Latest).await;

    const KEYS: i64 = 5;
    const ROUNDS: i64 = 30;
    let writer = {
        let ddb = ddb.clone();
        let table = table.clone();
        tokio::spawn(async move {
            for round in 0..ROUNDS {
                for k in 0..KEYS {
                    put(&ddb, &table, &format!("k{k}"), round).await;
                }
            }
        })
    };
    let mut seen = Vec::new();
    let mut it = Some(start);
    let expected = (KEYS * ROUNDS) as usize;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < expected && std::time::Instant::now() < deadline {
        let Some(current) = it.take() else { break };
        let page = ok(st.get_records().shard_iterator(current).send().await);
        if page.records().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        seen.extend(page.records().iter().cloned());
        it = page.next_shard_iterator().map(str::to_string);
    }
    let done = seen.len() >= expected;
    writer.await.unwrap();
    assert!(done, "follower saw {} of {expected} changes", seen.len());
    assert_eq!(seen.len(), expected, "no duplicates");
    for k in 0..KEYS {
        let per_key = events(&seen, &format!("k{k}"));
        let news: Vec<String> = per_key.iter().map(|e| e.2.clone().unwrap()).collect();
        let want: Vec<String> = (0..ROUNDS).map(|r| r.to_string()).collect();
        assert_eq!(news, want, "key k{k} in order, each once");
        assert_eq!(per_key[0].0, OperationType::Insert);
        assert!(per_key[1..].iter().all(|e| e.0 == OperationType::Modify));
    }
}

/// A consumer following a stream live, shard to child shard as each closes (as the KCL
/// adapter and Lambda do), while shards roll over every second under writes: every change
/// arrives once. (The race the registry lock closes, a shard read while it rolls over, is
/// too narrow for this test to hit reliably; it checks the consumer's path as a whole.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_consumer_sees_each_change_once_across_rollovers() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--stream-shard-rollover".into(), "1".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("rolling");
    let arn = stream_table(&ddb, &table, StreamViewType::KeysOnly).await;
    const WRITES: usize = 300;
    let writer = {
        let (ddb, table) = (ddb.clone(), table.clone());
        tokio::spawn(async move {
            for i in 0..WRITES {
                put(&ddb, &table, &format!("k{i:03}"), 1).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let mut shard = shard_ids(&st, &arn).await[0].0.clone();
    let mut it = Some(shard_iterator(&st, &arn, &shard, ShardIteratorType::TrimHorizon).await);
    let mut seen: Vec<String> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < WRITES && std::time::Instant::now() < deadline {
        match it.take() {
            Some(current) => {
                let page = ok(st.get_records().shard_iterator(current).send().await);
                seen.extend(page.records().iter().map(pk_of));
                it = page.next_shard_iterator().map(str::to_string);
            }
            None => {
                // The shard closed: on to its child once it is listed.
                let child = shard_ids(&st, &arn)
                    .await
                    .into_iter()
                    .find(|(_, parent, _)| parent.as_deref() == Some(shard.as_str()));
                match child {
                    Some((id, _, _)) => {
                        it = Some(
                            shard_iterator(&st, &arn, &id, ShardIteratorType::TrimHorizon).await,
                        );
                        shard = id;
                    }
                    None => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }
    }
    writer.await.unwrap();
    let rolled = shard_ids(&st, &arn).await.len();
    assert!(rolled >= 2, "the test needs rollovers; shards: {rolled}");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "a change came twice");
    assert_eq!(seen.len(), WRITES, "every change once");
}

#[tokio::test]
async fn shards_roll_over_with_a_lineage_and_disabled_streams_stay_readable() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--stream-shard-rollover".into(), "1".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("roll");
    let arn = stream_table(&ddb, &table, StreamViewType::KeysOnly).await;
    put(&ddb, &table, "a", 1).await;
    let rolled = wait_until(
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async { shard_ids(&st, &arn).await.len() >= 2 },
    )
    .await;
    assert!(rolled, "the open shard never rolled over");
    put(&ddb, &table, "b", 1).await;
    let shards = shard_ids(&st, &arn).await;
    assert!(
        shards[0].1.is_none() && shards[0].2,
        "first shard closed, no parent"
    );
    for pair in shards.windows(2) {
        assert_eq!(pair[1].1.as_deref(), Some(pair[0].0.as_str()), "lineage");
    }
    // The closed parent ends: its last page has no next iterator.
    let parent_it = shard_iterator(&st, &arn, &shards[0].0, ShardIteratorType::TrimHorizon).await;
    let page = ok(st.get_records().shard_iterator(parent_it).send().await);
    assert_eq!(
        page.records().iter().map(pk_of).collect::<Vec<_>>(),
        vec!["a"]
    );
    assert!(page.next_shard_iterator().is_none());
    let all = read_stream(&st, &arn).await;
    assert_eq!(all.iter().map(pk_of).collect::<Vec<_>>(), vec!["a", "b"]);

    // Disable: the stream stays listed and readable, DISABLED; enabling makes a new one.
    ok(ddb
        .update_table()
        .table_name(&table)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await);
    let status = ok(st.describe_stream().stream_arn(&arn).send().await)
        .stream_description()
        .and_then(|d| d.stream_status().cloned());
    assert_eq!(
        status,
        Some(aws_sdk_dynamodbstreams::types::StreamStatus::Disabled)
    );
    put(&ddb, &table, "c", 1).await;
    enable_stream(&ddb, &table, StreamViewType::NewImage).await;
    let new_arn = stream_arn(&ddb, &table).await;
    assert_ne!(new_arn, arn);
    put(&ddb, &table, "d", 1).await;
    let old = read_stream(&st, &arn).await;
    assert_eq!(old.iter().map(pk_of).collect::<Vec<_>>(), vec!["a", "b"]);
    let new = read_stream(&st, &new_arn).await;
    assert_eq!(new.iter().map(pk_of).collect::<Vec<_>>(), vec!["d"]);
    let listed = ok(st.list_streams().table_name(&table).send().await);
    let arns: Vec<&str> = listed
        .streams()
        .iter()
        .filter_map(|s| s.stream_arn())
        .collect();
    assert!(arns.contains(&arn.as_str()) && arns.contains(&new_arn.as_str()));
}

/// A disabled stream stays readable for the stream retention after it was disabled, then is
/// gone for good (ListStreams, DescribeStream), though DescribeTable still names it.
#[tokio::test]
async fn a_disabled_stream_is_gone_a_retention_after_it_was_disabled() {
    let store = StoreProcess::spawn_with(StoreOptions {
        // Long enough that a loaded machine lists the stream before it expires.
        args: vec!["--stream-retention".into(), "5".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("expire");
    let arn = stream_table(&ddb, &table, StreamViewType::KeysOnly).await;
    ok(ddb
        .update_table()
        .table_name(&table)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await);
    let listed = |st: Streams, table: String| async move {
        let page = ok(st.list_streams().table_name(table).send().await);
        page.streams().len()
    };
    // Readable while retained.
    ok(st.describe_stream().stream_arn(&arn).send().await);
    assert_eq!(listed(st.clone(), table.clone()).await, 1);
    let expired = wait_until(Duration::from_secs(20), Duration::from_millis(200), || {
        let (st, table) = (st.clone(), table.clone());
        async move { listed(st, table).await == 0 }
    })
    .await;
    assert!(expired, "the disabled stream is still listed");
    // Several maintenance passes later it has not come back.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(listed(st.clone(), table.clone()).await, 0);
    let bad = st.describe_stream().stream_arn(&arn).send().await;
    assert_api_error(bad, "ResourceNotFoundException", None);
    let described = ok(ddb.describe_table().table_name(&table).send().await);
    assert_eq!(
        described.table().and_then(|t| t.latest_stream_arn()),
        Some(arn.as_str())
    );
}

#[tokio::test]
async fn iterators_expire_and_trimmed_records_are_reported() {
    let store = StoreProcess::spawn_with(StoreOptions {
        // Short, but long enough that a loaded machine reads a record before it expires.
        args: vec![
            "--stream-iterator-ttl".into(),
            "2".into(),
            "--stream-retention".into(),
            "5".into(),
        ],
        ..Default::default()
    });
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("trim");
    let arn = stream_table(&ddb, &table, StreamViewType::KeysOnly).await;
    put(&ddb, &table, "old", 1).await;
    let shard = shard_ids(&st, &arn).await[0].0.clone();
    let records = read_stream(&st, &arn).await;
    let old_seq = records[0]
        .dynamodb()
        .unwrap()
        .sequence_number()
        .unwrap()
        .to_string();
    let it = shard_iterator(&st, &arn, &shard, ShardIteratorType::TrimHorizon).await;
    // Expiry: the iterator outlives its 2 s validity.
    let expired = wait_until(Duration::from_secs(10), Duration::from_millis(200), || {
        let (st, it) = (st.clone(), it.clone());
        async move {
            matches!(
                st.get_records().shard_iterator(it).send().await,
                Err(e) if e.code() == Some("ExpiredIteratorException")
            )
        }
    })
    .await;
    assert!(expired, "the iterator never expired");
    // Retention: once the old record is trimmed (a newer one keeps the log's head), its
    // sequence number is below the trim horizon.
    put(&ddb, &table, "new", 1).await;
    let trimmed = wait_until(Duration::from_secs(20), Duration::from_millis(200), || {
        let (st, arn, shard, seq) = (st.clone(), arn.clone(), shard.clone(), old_seq.clone());
        async move {
            matches!(
                st.get_shard_iterator()
                    .stream_arn(arn)
                    .shard_id(shard)
                    .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                    .sequence_number(seq)
                    .send()
                    .await,
                Err(e) if e.code() == Some("TrimmedDataAccessException")
            )
        }
    })
    .await;
    assert!(trimmed, "the old record was never trimmed");
    let left = read_stream(&st, &arn).await;
    assert!(left.iter().all(|r| pk_of(r) != "old"));
}

/// The log outlives the stream retention while a table has PITR on: a restore to a time
/// older than the stream retention still undoes every later change, and the stream still
/// shows only records younger than its retention.
#[tokio::test]
async fn pitr_keeps_changes_that_streams_no_longer_show() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--stream-retention".into(), "5".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("pitrlog");
    let arn = stream_table(&ddb, &table, StreamViewType::NewImage).await;
    let pitr = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .recovery_period_in_days(7)
        .build()
        .unwrap();
    let described = ok(ddb
        .update_continuous_backups()
        .table_name(&table)
        .point_in_time_recovery_specification(pitr)
        .send()
        .await);
    let period = described
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.recovery_period_in_days());
    assert_eq!(period, Some(7));

    put(&ddb, &table, "k", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let restore_to = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    put(&ddb, &table, "k", 2).await;
    // Past the stream retention; a newer record keeps the log's head.
    tokio::time::sleep(Duration::from_secs(6)).await;
    put(&ddb, &table, "k", 3).await;

    let only_new = wait_until(Duration::from_secs(10), Duration::from_millis(200), || {
        let (st, arn) = (st.clone(), arn.clone());
        async move {
            let records = read_stream(&st, &arn).await;
            let values: Vec<_> = records
                .iter()
                .map(|r| v_of(r.dynamodb().and_then(|d| d.new_image())))
                .collect();
            values == vec![Some("3".to_string())]
        }
    })
    .await;
    assert!(
        only_new,
        "the stream still shows records past its retention"
    );

    // The log keeps what the stream no longer shows, and says so (the gauge is set by the
    // once-a-second maintenance pass, so it may lag a second behind).
    let endpoint = store.endpoint();
    let kept = wait_until(Duration::from_secs(10), Duration::from_millis(200), || {
        let endpoint = endpoint.clone();
        async move { metric(&endpoint, "store_change_log_oldest_age_seconds").await >= 6.0 }
    })
    .await;
    assert!(
        kept,
        "the change log's oldest record is not past the stream retention"
    );
    let target = format!("{table}-at");
    ok(ddb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&target)
        .restore_date_time(aws_sdk_dynamodb::primitives::DateTime::from_secs_f64(
            restore_to,
        ))
        .send()
        .await);
    wait_table_active(&ddb, &target).await;
    let restored = ok(ddb
        .get_item()
        .table_name(&target)
        .key("pk", s("k"))
        .consistent_read(true)
        .send()
        .await);
    assert_eq!(
        restored.item().and_then(|i| i.get("v")),
        Some(&n(1)),
        "the restore did not undo the changes after its time"
    );
}

/// Creates `table` and runs `change` while eight clients overwrite items `w0`..`w7` with
/// numbers counting up from 1: at least 300 ms, and at least three acknowledged writes by
/// every client, before it and after it (a stalled host slows the writers, not the clock).
/// Returns what `change` gave and each writer's last value.
async fn under_overwrites<T>(
    ddb: &Client,
    table: &str,
    change: impl std::future::Future<Output = T>,
) -> (T, Vec<i64>) {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    use std::sync::Arc;
    create_hash_table(ddb, table).await;
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicI64>> = Arc::new((0..8).map(|_| AtomicI64::new(0)).collect());
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (ddb, table, stop, acked) =
                (ddb.clone(), table.to_string(), stop.clone(), acked.clone());
            tokio::spawn(async move {
                let mut v = 0;
                while !stop.load(Ordering::Relaxed) {
                    v += 1;
                    put(&ddb, &table, &format!("w{w}"), v).await;
                    acked[w].store(v, Ordering::Relaxed);
                }
                v
            })
        })
        .collect();
    let three_more_each = || async {
        let from: Vec<i64> = acked.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let moved = wait_until(Duration::from_secs(30), Duration::from_millis(10), || {
            let from = &from;
            let acked = &acked;
            async move {
                let now = acked.iter().map(|a| a.load(Ordering::Relaxed));
                now.zip(from).all(|(now, from)| now >= from + 3)
            }
        })
        .await;
        assert!(moved, "writers stalled: {acked:?}");
    };
    three_more_each().await;
    let changed = change.await;
    three_more_each().await;
    stop.store(true, Ordering::Relaxed);
    let mut last = Vec::new();
    for writer in writers {
        last.push(writer.await.unwrap());
    }
    (changed, last)
}

/// Without a stream or PITR, the log drops old images; a stream whose view shows them,
/// enabled while writers overwrite items, still shows every one: the store switches to
/// keeping them before the stream starts, not after (records built by writes in flight
/// meanwhile are decided at commit).
#[tokio::test]
async fn a_stream_enabled_under_writes_shows_every_old_image() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("oldimg");
    let enable = enable_stream(&ddb, &table, StreamViewType::NewAndOldImages);
    under_overwrites(&ddb, &table, enable).await;

    let records = read_stream(&st, &stream_arn(&ddb, &table).await).await;
    assert!(records.len() > 8, "{} records", records.len());
    for w in 0..8 {
        let seen = events(&records, &format!("w{w}"));
        for (i, (kind, old, new)) in seen.iter().enumerate() {
            assert_eq!(*kind, OperationType::Modify, "w{w} record {i}");
            let new: i64 = new.as_deref().unwrap().parse().unwrap();
            assert_eq!(
                old.as_deref(),
                Some((new - 1).to_string().as_str()),
                "w{w} record {i} of {}: its old image",
                seen.len()
            );
        }
    }
}

/// Without a stream or PITR, the log's per-table index skips the table; a stream enabled
/// while writers overwrite items still shows every record after its start: the store
/// switches indexing on before the stream starts. The store holds only this table, so the
/// stream's records are every sequence number from the shard's first on, and each item's
/// last shown value is its writer's last.
#[tokio::test]
async fn a_stream_enabled_under_writes_misses_no_record_after_its_start() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let st = streams_client(&store.endpoint());
    let table = unique_name("indexed");
    let enable = enable_stream(&ddb, &table, StreamViewType::NewImage);
    let ((), last) = under_overwrites(&ddb, &table, enable).await;

    let arn = stream_arn(&ddb, &table).await;
    let desc = ok(st.describe_stream().stream_arn(&arn).send().await);
    let first: u128 = desc
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.sequence_number_range())
        .and_then(|r| r.starting_sequence_number())
        .expect("the shard's first sequence number")
        .parse()
        .unwrap();
    let records = read_stream(&st, &arn).await;
    assert!(records.len() > 8, "{} records", records.len());
    let seqs: Vec<u128> = records
        .iter()
        .map(|r| {
            r.dynamodb()
                .unwrap()
                .sequence_number()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let expected: Vec<u128> = (first..first + seqs.len() as u128).collect();
    assert_eq!(seqs, expected, "every record from the stream's start");
    for (w, last) in last.iter().enumerate() {
        let seen = events(&records, &format!("w{w}"));
        let newest = seen.last().and_then(|e| e.2.clone());
        assert_eq!(newest, Some(last.to_string()), "w{w}'s last write");
    }
}

/// PITR enabled while writers overwrite items: a restore to its earliest restorable time
/// undoes every later change with its old image (none was written without), so it
/// succeeds and gives each item a value it had.
#[tokio::test]
async fn pitr_enabled_under_writes_restores_from_its_first_moment() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("pitrrace");
    let pitr = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .unwrap();
    let enable = ddb
        .update_continuous_backups()
        .table_name(&table)
        .point_in_time_recovery_specification(pitr)
        .send();
    let (enabled, last) = under_overwrites(&ddb, &table, enable).await;
    let earliest = ok(enabled)
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.earliest_restorable_date_time())
        .copied()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await; // the latest restorable time lags

    let target = format!("{table}-at");
    ok(ddb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&target)
        .restore_date_time(earliest)
        .send()
        .await);
    wait_table_active(&ddb, &target).await;
    for (w, last) in last.iter().enumerate() {
        let restored = ok(ddb
            .get_item()
            .table_name(&target)
            .key("pk", s(&format!("w{w}")))
            .consistent_read(true)
            .send()
            .await);
        let v: i64 = match restored.item().and_then(|i| i.get("v")) {
            Some(aws_sdk_dynamodb::types::AttributeValue::N(v)) => v.parse().unwrap(),
            other => panic!("w{w} restored as {other:?}"),
        };
        assert!(
            (1..*last).contains(&v),
            "w{w} restored to {v}: not a value it had before its last write ({last})"
        );
    }
}

/// Without a stream (or PITR) the change log keeps only `--feed-retention` of writes, not
/// the stream retention; once any table has a stream, it keeps the stream retention again.
#[tokio::test]
async fn without_streams_the_log_keeps_only_the_feed_retention() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--feed-retention".into(), "1".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let plain = unique_name("nostream");
    create_hash_table(&ddb, &plain).await;
    put(&ddb, &plain, "old", 1).await;
    assert!(logged_keys(&store).await.contains(&"old".to_owned()));
    put(&ddb, &plain, "newer", 1).await;
    let trimmed = wait_until(
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async { !logged_keys(&store).await.contains(&"old".to_owned()) },
    )
    .await;
    assert!(trimmed, "a record older than the feed retention was kept");

    let streamed = unique_name("stream");
    stream_table(&ddb, &streamed, StreamViewType::KeysOnly).await;
    put(&ddb, &streamed, "kept", 1).await;
    put(&ddb, &plain, "later", 1).await;
    // Several maintenance passes (one a second) past the feed retention.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let keys = logged_keys(&store).await;
    assert!(keys.contains(&"kept".to_owned()), "{keys:?}");
}
