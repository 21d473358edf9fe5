//! Durability across process death: every write the store acknowledged must be there after
//! `kill -9` and a restart on the same data directory (DESIGN.md: "no input ... loses an
//! acknowledged write"). Runs with the default `STORE_DURABLE=true`.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use integration_tests::*;

#[tokio::test]
async fn acknowledged_writes_survive_kill9() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = StoreProcess::spawn_in(dir.path());
    let ddb = store.client();
    let table = unique_name("durable");
    create_hash_table(&ddb, &table).await;

    for i in 0..100 {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(&format!("k{i}")))
            .item("v", n(i))
            .send()
            .await);
    }
    // Updates and deletes must persist too, not only puts.
    for i in 0..10 {
        ok(ddb
            .update_item()
            .table_name(&table)
            .key("pk", s(&format!("k{i}")))
            .update_expression("SET v = v + :k")
            .expression_attribute_values(":k", n(1000))
            .send()
            .await);
    }
    for i in 90..100 {
        ok(ddb
            .delete_item()
            .table_name(&table)
            .key("pk", s(&format!("k{i}")))
            .send()
            .await);
    }
    ok(ddb
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(
                    aws_sdk_dynamodb::types::Put::builder()
                        .table_name(&table)
                        .set_item(Some(item(&[("pk", s("txn")), ("v", n(7))])))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await);

    store.kill9();
    store.restart();
    let ddb = store.client();

    let table_desc = ok(ddb.describe_table().table_name(&table).send().await);
    assert_eq!(
        table_desc.table().and_then(|t| t.table_name()),
        Some(table.as_str())
    );
    let items = scan_all(&ddb, &table).await;
    assert_eq!(items.len(), 91, "90 puts kept + the transaction's put");
    for i in 0..90 {
        let expected = if i < 10 { i + 1000 } else { i };
        assert_eq!(items[&format!("k{i}")].get("v"), Some(&n(expected)), "k{i}");
    }
    for i in 90..100 {
        assert!(
            !items.contains_key(&format!("k{i}")),
            "deleted k{i} came back"
        );
    }
    assert_eq!(items["txn"].get("v"), Some(&n(7)));
    assert_eq!(store.data_dir(), dir.path());
}

/// Writers keep writing while the store is killed: each write that got a 200 must be there
/// after the restart. Writes in flight at the kill may or may not be (they were never
/// acknowledged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_under_write_load_keeps_every_acknowledged_write() {
    const WRITERS: usize = 8;
    let mut store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("crash");
    create_hash_table(&ddb, &table).await;

    let acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let acked_count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Writers still running, and the first error a writer stopped on before the kill (a
    // store that rejects the writes should fail the test at once, not after the deadline).
    let running = Arc::new(AtomicUsize::new(WRITERS));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let client = store.client();
        let table = table.clone();
        let acked = acked.clone();
        let acked_count = acked_count.clone();
        let stop = stop.clone();
        let running = running.clone();
        let first_error = first_error.clone();
        writers.spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let pk = format!("w{w}-{i}");
                let result = client
                    .put_item()
                    .table_name(&table)
                    .item("pk", s(&pk))
                    .item("v", n(i))
                    .item("pad", s(&"p".repeat(200)))
                    .send()
                    .await;
                match result {
                    Ok(_) => {
                        acked.lock().unwrap().push((pk, i));
                        acked_count.fetch_add(1, Ordering::Relaxed);
                    }
                    // After the kill this is the store being gone: stop writing.
                    Err(e) => {
                        if !stop.load(Ordering::Relaxed) {
                            let text = DisplayErrorContext(&e).to_string();
                            first_error.lock().unwrap().get_or_insert(text);
                        }
                        break;
                    }
                }
                i += 1;
            }
            running.fetch_sub(1, Ordering::Relaxed);
        });
    }

    // Kill once enough writes are acknowledged (polling, not a fixed sleep).
    let enough = wait_until(Duration::from_secs(120), Duration::from_millis(10), || {
        let done =
            acked_count.load(Ordering::Relaxed) >= 400 || running.load(Ordering::Relaxed) == 0;
        async move { done }
    })
    .await;
    store.kill9();
    stop.store(true, Ordering::Relaxed);
    while writers.join_next().await.is_some() {}
    let acked_before_kill = acked_count.load(Ordering::Relaxed);
    assert!(
        enough && acked_before_kill >= 400,
        "only {acked_before_kill} writes acknowledged before the kill; first writer error: {:?}",
        first_error.lock().unwrap()
    );

    store.restart();
    let items = scan_all(&store.client(), &table).await;
    let acked = acked.lock().unwrap().clone();
    let missing: Vec<&(String, u64)> = acked
        .iter()
        .filter(|(pk, _)| !items.contains_key(pk))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    for (pk, v) in &acked {
        assert_eq!(items[pk].get("v"), Some(&n(*v)), "{pk}");
    }
}

#[tokio::test]
async fn tables_survive_restart() {
    let mut store = StoreProcess::spawn();
    let ddb = store.client();
    let names = [unique_name("keep-a"), unique_name("keep-b")];
    for name in &names {
        create_hash_range_table(&ddb, name).await;
    }
    let dropped = unique_name("dropped");
    create_hash_table(&ddb, &dropped).await;
    ok(ddb.delete_table().table_name(&dropped).send().await);
    wait_table_gone(&ddb, &dropped).await;

    store.kill9();
    store.restart();
    let ddb = store.client();
    let listed = ok(ddb.list_tables().send().await);
    let mut expected: Vec<String> = names.to_vec();
    expected.sort();
    assert_eq!(listed.table_names(), expected.as_slice());
    for name in &names {
        let table = ok(ddb.describe_table().table_name(name).send().await)
            .table
            .unwrap();
        assert_eq!(table.key_schema().len(), 2);
        // The restarted store serves writes to the recovered table.
        ok(ddb
            .put_item()
            .table_name(name)
            .item("pk", s("after"))
            .item("sk", n(1))
            .send()
            .await);
    }
}

/// Asks the store's internal lease endpoint for the primary lease, as a dax-proxy node does.
/// Items in `table`, by a COUNT scan (one page holds these small items).
async fn count_items(ddb: &aws_sdk_dynamodb::Client, table: &str) -> i32 {
    let out = ok(ddb
        .scan()
        .table_name(table)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await);
    assert!(out.last_evaluated_key.is_none());
    out.count
}

/// A restore fills its table after answering: until it is full the table is CREATING
/// (no reads, writes, delete or other changes: a write would be overwritten, nor may its
/// backup be deleted), and a restart that cuts a fill short runs it again: the accepted
/// restore still ends ACTIVE with every item, never half filled.
#[tokio::test]
async fn a_restore_is_never_seen_half_done_and_survives_kill9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = StoreProcess::spawn_in(dir.path());
    let ddb = store.client();
    let table = unique_name("src");
    create_hash_table(&ddb, &table).await;
    // Enough items that the fill (a commit per 100) outlasts the next few calls.
    let total = 10_000;
    for chunk in 0..total / 25 {
        let puts = (0..25)
            .map(|i| batch_put(item(&[("pk", s(&format!("k{chunk}-{i}")))])))
            .collect();
        batch_write_all(&ddb, &table, puts).await;
    }
    let backup_arn = ok(ddb
        .create_backup()
        .table_name(&table)
        .backup_name("full")
        .send()
        .await)
    .backup_details
    .unwrap()
    .backup_arn;
    let restore = |target: String| {
        ddb.restore_table_from_backup()
            .target_table_name(target)
            .backup_arn(&backup_arn)
            .send()
    };

    let target = unique_name("dst");
    let answer = ok(restore(target.clone()).await).table_description.unwrap();
    assert_eq!(
        answer.table_status(),
        Some(&aws_sdk_dynamodb::types::TableStatus::Creating)
    );
    assert_eq!(
        answer.restore_summary().map(|r| r.restore_in_progress()),
        Some(true)
    );
    assert_api_error(
        ddb.put_item()
            .table_name(&target)
            .item("pk", s("early"))
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    assert_api_error(
        ddb.delete_table().table_name(&target).send().await,
        "ResourceInUseException",
        None,
    );
    // Nor other changes: a stream enabled now would show the rest of the fill as writes,
    // a backup taken now would hold part of the table.
    assert_api_error(
        ddb.update_table()
            .table_name(&target)
            .stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewImage)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "ResourceInUseException",
        None,
    );
    assert_api_error(
        ddb.create_backup()
            .table_name(&target)
            .backup_name("partial")
            .send()
            .await,
        "TableInUseException",
        None,
    );
    // The fill reads the backup, and may have to read it again after a restart.
    assert_api_error(
        ddb.delete_backup().backup_arn(&backup_arn).send().await,
        "BackupInUseException",
        None,
    );
    assert_restored(&ddb, &target, &backup_arn, total).await;

    // Killed while filling: after the restart the fill runs again, to the end.
    let cut = unique_name("cut");
    ok(restore(cut.clone()).await);
    store.kill9();
    store.restart();
    assert_restored(&store.client(), &cut, &backup_arn, total).await;
}

/// Waits for a restore from backup `arn` into `table` to end, and checks that it holds
/// `total` items and says it is done.
async fn assert_restored(ddb: &aws_sdk_dynamodb::Client, table: &str, arn: &str, total: i32) {
    wait_table_active(ddb, table).await;
    assert_eq!(count_items(ddb, table).await, total);
    let described = ok(ddb.describe_table().table_name(table).send().await)
        .table
        .unwrap();
    let summary = described.restore_summary().unwrap();
    assert!(!summary.restore_in_progress());
    assert_eq!(summary.source_backup_arn(), Some(arn));
}

/// Deleting a table with point-in-time recovery on keeps a SYSTEM backup that restores it:
/// PITR's answer to an accidental DeleteTable.
#[tokio::test]
async fn a_table_deleted_with_pitr_on_can_be_restored_from_its_system_backup() {
    use aws_sdk_dynamodb::types::BackupTypeFilter;
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("oops");
    create_hash_table(&ddb, &table).await;
    enable_pitr(&ddb, &table).await;
    for pk in ["a", "b", "c"] {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .send()
            .await);
    }
    ok(ddb.delete_table().table_name(&table).send().await);
    let listed = ok(ddb
        .list_backups()
        .backup_type(BackupTypeFilter::System)
        .send()
        .await);
    let [summary] = listed.backup_summaries() else {
        panic!("one SYSTEM backup expected: {listed:?}");
    };
    assert_eq!(summary.table_name(), Some(table.as_str()));
    assert_eq!(
        summary.backup_name(),
        Some(format!("{table}$DeletedTableBackup").as_str())
    );
    assert!(summary.backup_expiry_date_time().is_some());
    ok(ddb
        .restore_table_from_backup()
        .target_table_name(&table)
        .backup_arn(summary.backup_arn().unwrap())
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    assert_eq!(count_items(&ddb, &table).await, 3);
}

async fn ask_lease(store: &StoreProcess, holder: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}/internal/lease", store.endpoint()))
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .body(
            serde_json::json!({"holder": holder, "address": format!("{holder}:1"),
                               "ttl_ms": 60_000})
            .to_string(),
        )
        .send()
        .await
        .expect("POST /internal/lease");
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("lease JSON")
}

/// The primary lease is a durable record: after `kill -9` and a restart the store still
/// knows its holder and epoch, so another node is refused and the primary keeps its role.
#[tokio::test]
async fn the_primary_lease_survives_kill9() {
    let mut store = StoreProcess::spawn();
    let first = ask_lease(&store, "node-a").await;
    assert_eq!(
        (first["holder"].as_str(), first["epoch"].as_u64()),
        (Some("node-a"), Some(1))
    );

    store.kill9();
    store.restart();
    let other = ask_lease(&store, "node-b").await;
    assert_eq!(
        (other["holder"].as_str(), other["epoch"].as_u64()),
        (Some("node-a"), Some(1))
    );
    let renewed = ask_lease(&store, "node-a").await;
    assert_eq!(
        (renewed["holder"].as_str(), renewed["epoch"].as_u64()),
        (Some("node-a"), Some(1))
    );
    assert!(renewed["expires_in_ms"].as_u64().unwrap() > 50_000);
}

/// The status of the store's health probes, `GET /health` and `GET /` (DynamoDB's, which
/// load balancers use), when both agree.
async fn health(store: &StoreProcess) -> u16 {
    let mut statuses = Vec::new();
    for path in ["/health", "/"] {
        let response = reqwest::get(format!("{}{path}", store.endpoint()))
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses[0], statuses[1], "GET /health and GET / disagree");
    statuses[0]
}

/// A store whose data directory's filesystem has less free space than `--min-free-disk-mb`
/// (`STORE_MIN_FREE_DISK_MB`) says so on /health and / (503, with why) from its start, rather than only after its
/// first write fails; it still serves. The real disk stands in for a full one: the reserve
/// asked for is more than any disk has. The default reserve is met here.
#[tokio::test]
async fn a_disk_short_of_the_reserve_fails_health_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let short = StoreProcess::spawn_with(StoreOptions {
        data_dir: Some(data.clone()),
        env: vec![("STORE_MIN_FREE_DISK_MB".into(), "1000000000000".into())],
        ..Default::default()
    });
    assert_eq!(health(&short).await, 503);
    let why = reqwest::get(format!("{}/health", short.endpoint()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(why.starts_with("disk nearly full: "), "{why}");
    ok(short.client().list_tables().send().await);
    drop(short);

    let roomy = StoreProcess::spawn_in(&data);
    assert_eq!(health(&roomy).await, 200);
}

/// A commit group whose journal sync fails is never read and never acknowledged: its
/// writer gets an error, a strongly consistent read right after does not find the item (a
/// write becomes visible only once it is on disk), and the store, whose engine takes no
/// more writes (fjall poisons itself), refuses every later write while it still serves
/// reads, `/health` answering 503, and saying so once in its log. Restarted, it has every
/// write acknowledged before and takes writes again. The failure is injected (debug
/// builds only, see `store::storage::fault`): the test creates the trigger file and the
/// next group's journal sync fails.
#[tokio::test]
async fn a_write_whose_journal_sync_failed_is_never_read() {
    // The binaries come from the same profile as this test; a release store has no hook.
    if !cfg!(debug_assertions) {
        eprintln!("skipped: fault injection exists in debug builds only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let trigger = dir.path().join("fail-syncs");
    let mut store = StoreProcess::spawn_with(StoreOptions {
        data_dir: Some(dir.path().join("data")),
        env: vec![(
            "STORE_FAULT_SYNC_FAILS_WHILE".into(),
            trigger.display().to_string(),
        )],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("syncfail");
    create_hash_table(&ddb, &table).await;
    let put = |ddb: &aws_sdk_dynamodb::Client, pk: &'static str| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("v", n(1))
            .send()
    };
    let read = |ddb: &aws_sdk_dynamodb::Client, pk: &'static str| {
        ddb.get_item()
            .table_name(&table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
    };
    ok(put(&ddb, "before").await);
    assert_eq!(health(&store).await, 200);

    std::fs::write(&trigger, b"").unwrap();
    assert_api_error(put(&ddb, "during").await, "InternalServerError", None);
    assert_eq!(read(&ddb, "during").await.unwrap().item, None);
    assert!(read(&ddb, "before").await.unwrap().item.is_some());
    assert_eq!(health(&store).await, 503);
    std::fs::remove_file(&trigger).unwrap();
    assert!(put(&ddb, "after").await.is_err(), "refused until a restart");
    let log = store.log();
    let said = log
        .matches("every write is refused until a restart")
        .count();
    assert_eq!(said, 1, "the refusal is said once: {log}");
    assert!(!log.contains("writes refused since"), "{log}");

    store.restart();
    let ddb = store.client();
    assert_eq!(health(&store).await, 200);
    let items = scan_all(&ddb, &table).await;
    assert!(items.contains_key("before"), "{items:?}");
    assert!(!items.contains_key("during"), "{items:?}");
    ok(put(&ddb, "restarted").await);
}

type PutResult = Result<
    aws_sdk_dynamodb::operation::put_item::PutItemOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>,
>;

/// Holds the store's journal syncs and puts `held` into `table`: returns once that put
/// waits in its sync, with the task that answers it.
async fn hold_a_put(
    syncs: &HeldSyncs,
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> tokio::task::JoinHandle<PutResult> {
    syncs.hold();
    let waiting = tokio::spawn(put_task(ddb, table, "held"));
    syncs.wait_held().await;
    waiting
}

/// A store under held syncs with a table that has PITR on and holds `before`, written in
/// an earlier millisecond than any write that follows: writes in one millisecond share a
/// time, so a recovery time before a held write's would be before `before` too.
async fn pitr_table_with_held_syncs(prefix: &str) -> (HeldSyncs, aws_sdk_dynamodb::Client, String) {
    let syncs = HeldSyncs::spawn();
    let ddb = syncs.store.client();
    let table = unique_name(prefix);
    create_hash_table(&ddb, &table).await;
    enable_pitr(&ddb, &table).await;
    ok(put_task(&ddb, &table, "before").await);
    tokio::time::sleep(Duration::from_millis(5)).await;
    (syncs, ddb, table)
}

/// A PutItem of `pk` that owns its client and table, to run as a task of its own.
fn put_task(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &'static str,
) -> impl std::future::Future<Output = PutResult> + Send + 'static {
    let (ddb, table) = (ddb.clone(), table.to_string());
    async move {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("v", n(1))
            .send()
            .await
    }
}

/// A write is read only once it is on disk: a PutItem waiting in its group's journal sync
/// is not shown by strongly consistent reads, a Query or a Scan (a crash now would lose
/// it), which still serve what was written before; once the sync is let go, the put is
/// acknowledged and reads show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_is_read_only_once_its_journal_is_synced() {
    let syncs = HeldSyncs::spawn();
    let ddb = syncs.store.client();
    let table = unique_name("synced");
    create_hash_table(&ddb, &table).await;
    // Whether "before" and "held" are read, by GetItem, Query and Scan.
    let seen = || async {
        let got = |pk| {
            ddb.get_item()
                .table_name(&table)
                .key("pk", s(pk))
                .consistent_read(true)
                .send()
        };
        let queried = ddb
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("held"))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let scanned = scan_all(&ddb, &table).await;
        (
            got("before").await.unwrap().item.is_some(),
            got("held").await.unwrap().item.is_some(),
            queried.count(),
            scanned.contains_key("held"),
        )
    };
    ok(put_task(&ddb, &table, "before").await);

    let waiting = hold_a_put(&syncs, &ddb, &table).await;
    assert_eq!(
        seen().await,
        (true, false, 0, false),
        "read before its sync"
    );
    assert!(!waiting.is_finished(), "acknowledged before its sync");

    syncs.release();
    ok(waiting.await.unwrap());
    assert_eq!(seen().await, (true, true, 1, true));
}

/// Calls that wait on a held journal sync never hold a server thread meanwhile: with a
/// put in its sync, writes that change nothing (deletes of absent items, which wait for
/// the writes before them to be durable), a switch of point-in-time recovery and metrics
/// scrapes (which measure the journal), more of them than the store has threads, leave a
/// read of another item answered at once, and a scrape too (the journal as last
/// measured); they all finish once the sync is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_answered_while_writes_wait_on_a_held_sync() {
    use aws_sdk_dynamodb::types::PointInTimeRecoverySpecification;
    let syncs = HeldSyncs::spawn();
    let ddb = syncs.store.client();
    let table = unique_name("waiting");
    create_hash_table(&ddb, &table).await;
    ok(put_task(&ddb, &table, "before").await);

    let held = hold_a_put(&syncs, &ddb, &table).await;
    let mut waiting = tokio::task::JoinSet::new();
    waiting.spawn(async move { held.await.unwrap().map(drop).map_err(|e| e.to_string()) });
    for pk in ["absent-1", "absent-2", "absent-3", "absent-4"] {
        let delete = ddb.delete_item().table_name(&table).key("pk", s(pk));
        waiting.spawn(async move { delete.send().await.map(drop).map_err(|e| e.to_string()) });
    }
    let pitr = ddb
        .update_continuous_backups()
        .table_name(&table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        );
    waiting.spawn(async move { pitr.send().await.map(drop).map_err(|e| e.to_string()) });
    for _ in 0..4 {
        let scrape = reqwest::get(format!("{}/metrics", syncs.store.endpoint()));
        waiting.spawn(async move { scrape.await.map(drop).map_err(|e| e.to_string()) });
    }

    let read = ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("before"))
        .send();
    let read = tokio::time::timeout(Duration::from_secs(10), read).await;
    assert!(
        read.is_ok_and(|read| read.unwrap().item.is_some()),
        "no read answered while a sync was held"
    );
    // A scrape too, from the last measure of the journal.
    let scrape = reqwest::get(format!("{}/metrics", syncs.store.endpoint()));
    let scrape = tokio::time::timeout(Duration::from_secs(10), scrape).await;
    assert!(
        scrape.is_ok_and(|scrape| scrape.unwrap().status() == 200),
        "no scrape answered while a sync was held"
    );

    syncs.release();
    while let Some(done) = waiting.join_next().await {
        done.unwrap().unwrap();
    }
}

/// Two restores to one time find one state, even a time taken while a journal sync was
/// held longer than LatestRestorableDateTime trails the clock: a write waiting in that
/// sync (stamped before it, read and acknowledged only after) is past the latest
/// restorable time until it is published, so a restore to that time, made after the sync
/// is let go, does not have it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_restorable_time_never_passes_a_write_in_its_sync() {
    let (syncs, ddb, table) = pitr_table_with_held_syncs("settled").await;

    let waiting = hold_a_put(&syncs, &ddb, &table).await;
    // Longer than LatestRestorableDateTime trails the clock (a second).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let latest = latest_restorable(&ddb, &table).await;
    syncs.release();
    ok(waiting.await.unwrap());

    let restored = format!("{table}-restored");
    ok(ddb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&restored)
        .restore_date_time(latest)
        .send()
        .await);
    wait_table_active(&ddb, &restored).await;
    let items = scan_all(&ddb, &restored).await;
    assert!(items.contains_key("before"), "{items:?}");
    assert!(
        !items.contains_key("held"),
        "a restore to {latest:?}, taken while the write was in its sync, has it"
    );
}

/// A backup taken while a write waits in its journal sync is dated before that write, as
/// its snapshot is: a point-in-time restore to the backup's creation time finds exactly
/// the backup's items.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_during_a_held_sync_is_dated_as_its_snapshot() {
    let (syncs, ddb, table) = pitr_table_with_held_syncs("dated").await;

    let waiting = hold_a_put(&syncs, &ddb, &table).await;
    let backup = ddb.create_backup().table_name(&table).backup_name("during");
    let backup = tokio::spawn(backup.send());
    // Time for the backup to take its snapshot; its records then wait for the sync.
    tokio::time::sleep(Duration::from_millis(300)).await;
    syncs.release();
    ok(waiting.await.unwrap());
    let backup = ok(backup.await.unwrap()).backup_details.unwrap();

    let from_backup = format!("{table}-backup");
    ok(ddb
        .restore_table_from_backup()
        .target_table_name(&from_backup)
        .backup_arn(backup.backup_arn())
        .send()
        .await);
    let latest_passed = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            latest_restorable(&ddb, &table).await.secs() > backup.backup_creation_date_time().secs()
        },
    )
    .await;
    assert!(latest_passed, "the backup's time never became restorable");
    let from_time = format!("{table}-time");
    ok(ddb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&from_time)
        .restore_date_time(*backup.backup_creation_date_time())
        .send()
        .await);
    wait_table_active(&ddb, &from_backup).await;
    wait_table_active(&ddb, &from_time).await;
    let keys = |items: std::collections::HashMap<String, _>| {
        items
            .into_keys()
            .collect::<std::collections::BTreeSet<String>>()
    };
    assert_eq!(
        keys(scan_all(&ddb, &from_backup).await),
        keys(scan_all(&ddb, &from_time).await),
        "the backup and a restore to its time differ"
    );
}

/// The table's LatestRestorableDateTime, as DescribeContinuousBackups tells it.
async fn latest_restorable(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> aws_sdk_dynamodb::primitives::DateTime {
    let described = ok(ddb
        .describe_continuous_backups()
        .table_name(table)
        .send()
        .await);
    described
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.latest_restorable_date_time())
        .copied()
        .expect("PITR on")
}

/// A store asked to stop first answers the requests in flight, so a write held in its
/// journal sync (a disk that no longer answers) keeps it running; asked again, it stops at
/// once, the held write never acknowledged, and a restart has every write acknowledged
/// before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_stop_request_ends_a_store_waiting_on_its_disk() {
    let mut syncs = HeldSyncs::spawn();
    let ddb = syncs.store.client();
    let table = unique_name("stopping");
    create_hash_table(&ddb, &table).await;
    ok(put_task(&ddb, &table, "before").await);
    let waiting = hold_a_put(&syncs, &ddb, &table).await;

    syncs.store.ask_to_stop();
    let stopping = wait_until(Duration::from_secs(10), Duration::from_millis(10), || {
        let said = syncs
            .store
            .log()
            .contains("stopping: finishing requests in flight");
        async move { said }
    })
    .await;
    assert!(stopping, "the store never began to stop");
    assert!(
        syncs.store.is_running(),
        "it stopped before answering the held write"
    );
    // It dies by the signal, as a process without a handler would: a supervisor sees the
    // stop it asked for, not a failure to restart from (`Restart=on-failure`).
    let status = syncs.store.terminate();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15),
        "{status}"
    );
    assert!(
        waiting.await.unwrap().is_err(),
        "the held write was acknowledged"
    );

    syncs.release();
    syncs.store.restart_in_place();
    let items = scan_all(&syncs.store.client(), &table).await;
    assert!(items.contains_key("before"), "{items:?}");
}

/// `--in-memory` (DynamoDB Local's `-inMemory`): the whole store runs on the in-memory
/// engine (items, a GSI, the change log a stream reads, conditions, transactions, a
/// backup and its restore), writes nothing under its data directory, and comes back
/// empty from a restart.
#[tokio::test]
async fn an_in_memory_store_serves_every_part_and_keeps_nothing() {
    use aws_sdk_dynamodb::types::{
        GlobalSecondaryIndex, Put, ScalarAttributeType, StreamViewType, TransactWriteItem,
    };
    let mut store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--in-memory".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("memory");
    let by_colour: GlobalSecondaryIndex =
        gsi_projecting_all("by_colour", "colour").build().unwrap();
    ok(ddb
        .create_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(key_element("pk", aws_sdk_dynamodb::types::KeyType::Hash))
        .key_schema(key_element("sk", aws_sdk_dynamodb::types::KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::N))
        .attribute_definitions(attribute_definition("colour", ScalarAttributeType::S))
        .global_secondary_indexes(by_colour)
        .stream_specification(stream_of(StreamViewType::NewAndOldImages))
        .send()
        .await);
    wait_table_active(&ddb, &table).await;

    for i in 0..20 {
        let colour = if i % 2 == 0 { "red" } else { "blue" };
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s("p"))
            .item("sk", n(i))
            .item("colour", s(colour))
            .send()
            .await);
    }
    let refused = ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("p"))
        .item("sk", n(3))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    assert_api_error(refused, "ConditionalCheckFailedException", None);
    ok(ddb
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&table)
                        .set_item(Some(item(&[
                            ("pk", s("q")),
                            ("sk", n(1)),
                            ("colour", s("red")),
                        ])))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await);
    ok(ddb
        .delete_item()
        .table_name(&table)
        .key("pk", s("p"))
        .key("sk", n(0))
        .send()
        .await);

    let page = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :p AND sk BETWEEN :a AND :b")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":a", n(5))
        .expression_attribute_values(":b", n(8))
        .scan_index_forward(false)
        .send()
        .await);
    let sks: Vec<_> = page.items().iter().map(|i| i["sk"].clone()).collect();
    assert_eq!(sks, [n(8), n(7), n(6), n(5)]);
    let reds = ok(ddb
        .query()
        .table_name(&table)
        .index_name("by_colour")
        .key_condition_expression("colour = :c")
        .expression_attribute_values(":c", s("red"))
        .send()
        .await);
    assert_eq!(reds.count(), 10, "nine red items of p (sk 0 deleted) and q");
    let scanned = ok(ddb.scan().table_name(&table).send().await);
    assert_eq!(scanned.count(), 20);

    // The stream reads the change log: 20 puts, the transaction's put, the delete.
    let arn = ok(ddb.describe_table().table_name(&table).send().await)
        .table
        .and_then(|t| t.latest_stream_arn)
        .unwrap();
    let streams = streams_client_with_credentials(&store.endpoint(), "memory", "secret");
    let shards = ok(streams.describe_stream().stream_arn(&arn).send().await);
    let shard = shards.stream_description().unwrap().shards()[0]
        .shard_id()
        .unwrap()
        .to_string();
    let iterator = ok(streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
        .send()
        .await)
    .shard_iterator
    .unwrap();
    let records = ok(streams.get_records().shard_iterator(iterator).send().await);
    assert_eq!(records.records().len(), 22);

    let backup = ok(ddb
        .create_backup()
        .table_name(&table)
        .backup_name("b")
        .send()
        .await)
    .backup_details
    .unwrap()
    .backup_arn;
    let restored = unique_name("restored");
    ok(ddb
        .restore_table_from_backup()
        .target_table_name(&restored)
        .backup_arn(backup)
        .send()
        .await);
    wait_table_active(&ddb, &restored).await;
    let copy = ok(ddb.scan().table_name(&restored).send().await);
    assert_eq!(copy.count(), 20);

    let written: Vec<_> = std::fs::read_dir(store.data_dir())
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        written.is_empty(),
        "files under the data directory: {written:?}"
    );

    store.kill9();
    store.restart();
    let listed = ok(store.client().list_tables().send().await);
    assert!(listed.table_names().is_empty(), "{listed:?}");
}
