//! Tests of the storage layer as a whole: writes, reads, the change log, crash recovery.

use std::path::Path;

use shared::model::size::item_size;
use shared::model::{KeyAttr, Number, PrimaryKey, ScalarType};

use super::*;

fn n(v: &str) -> AttributeValue {
    match Number::parse(v) {
        Ok(num) => AttributeValue::N(num),
        Err(e) => panic!("bad number {v}: {e:?}"),
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub(super) fn layout(table_id: u64, range: Option<ScalarType>) -> TableLayout {
    TableLayout {
        table_id,
        name: format!("t{table_id}"),
        schema: KeySchema::new(
            KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            range.map(|ty| KeyAttr {
                name: "sk".into(),
                ty,
            }),
        ),
    }
}

fn pk(hash: AttributeValue, range: Option<AttributeValue>) -> PrimaryKey {
    PrimaryKey { hash, range }
}

fn item(key: &PrimaryKey, extra: &[(&str, AttributeValue)]) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), key.hash.clone());
    if let Some(r) = &key.range {
        item.insert("sk".into(), r.clone());
    }
    for (name, value) in extra {
        item.insert((*name).to_owned(), value.clone());
    }
    item
}

pub(super) fn open(dir: &Path, durable: bool) -> Arc<Storage> {
    match Storage::open(
        dir,
        StorageOptions {
            durable,
            ..StorageOptions::for_tests()
        },
    ) {
        Ok(storage) => storage,
        Err(e) => panic!("open: {e}"),
    }
}

async fn put(storage: &Storage, table: &TableLayout, item: Item) {
    let key = PrimaryKey {
        hash: item.get("pk").cloned().unwrap_or(AttributeValue::Null),
        range: table
            .schema
            .range
            .as_ref()
            .and_then(|_| item.get("sk").cloned()),
    };
    let outcome = storage
        .write(&[(table, key)], Cause::User, |_| {
            Ok::<_, ()>((vec![Mutation::Put(item)], ()))
        })
        .await;
    assert!(matches!(outcome, Ok(Ok(()))), "put failed: {outcome:?}");
}

#[tokio::test]
async fn replicas_keep_the_newest_write_of_an_item_by_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path(), true);
    let table = layout(1, None);
    let key = pk(s("a"), None);
    let version = |time_ms, region: &str| Version {
        time_ms,
        region: region.into(),
    };
    // Before the table has replicas, a write keeps no version.
    put(&storage, &table, item(&key, &[("v", n("1"))])).await;
    assert_eq!(storage.versioned_item(&table, &key).await.unwrap().1, None);
    let head = storage.set_versioned(1, &table.schema, Some("us-east-1"));
    put(&storage, &table, item(&key, &[("v", n("2"))])).await;
    let local = storage.changes_after(head.seq, 10).unwrap();
    let (_, mine) = storage.versioned_item(&table, &key).await.unwrap();
    assert_eq!(mine, Some(version(local[0].time_ms, "us-east-1")));

    // An older change from elsewhere loses; a newer one wins and says where it came from.
    let older = version(local[0].time_ms - 1, "eu-west-1");
    // What the caller measures sees the item replaced and the image.
    let replaced = |old: Option<&Item>, new: Option<&Item>| (old.cloned(), new.cloned());
    let lost = storage.apply_replicated(
        &table,
        &key,
        Some(item(&key, &[("v", n("3"))])),
        &older,
        replaced,
    );
    assert_eq!(lost.await.unwrap(), None);
    let newer = version(local[0].time_ms + 5, "eu-west-1");
    let theirs = Some(item(&key, &[("v", n("4"))]));
    assert_eq!(
        storage
            .apply_replicated(&table, &key, theirs.clone(), &newer, replaced)
            .await
            .unwrap(),
        Some((Some(item(&key, &[("v", n("2"))])), theirs.clone()))
    );
    assert_eq!(
        storage
            .apply_replicated(&table, &key, theirs.clone(), &newer, replaced)
            .await
            .unwrap(),
        None
    );
    assert_eq!(storage.get(&table, &key).unwrap(), theirs);
    let records = storage.changes_after(local[0].seq, 10).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].cause, Cause::Replicated);
    assert_eq!(records[0].origin, Some(newer.clone()));

    // A replicated delete leaves its version behind: an older put cannot bring the item back.
    let deleted = version(newer.time_ms + 1, "ap-south-1");
    assert_eq!(
        storage
            .apply_replicated(&table, &key, None, &deleted, replaced)
            .await
            .unwrap(),
        Some((theirs.clone(), None))
    );
    assert_eq!(
        storage
            .apply_replicated(&table, &key, theirs, &newer, replaced)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        storage.versioned_item(&table, &key).await.unwrap(),
        (None, Some(deleted))
    );
    // And the table's own reads never see versions.
    let page = storage.scan(&table, None, None).unwrap();
    assert_eq!(page.count(), 0);

    // Without replicas again, local writes keep no new version.
    storage.set_versioned(1, &table.schema, None);
    put(&storage, &table, item(&key, &[("v", n("5"))])).await;
    let (_, kept) = storage.versioned_item(&table, &key).await.unwrap();
    assert_eq!(kept.map(|v| v.region), Some("ap-south-1".to_string()));
}

/// A delete of an absent item of a global table still gets a version, carried by a change
/// record without images (the stream does not show it): a put made elsewhere before it,
/// arriving after, must not bring the item back. Elsewhere it writes nothing.
#[tokio::test]
async fn a_delete_of_an_absent_item_of_a_global_table_leaves_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path(), true);
    let table = layout(1, None);
    let key = pk(s("never"), None);
    delete(&storage, &table, key.clone()).await;
    assert_eq!(all_changes(&storage), []);

    let head = storage.set_versioned(1, &table.schema, Some("eu-west-1"));
    delete(&storage, &table, key.clone()).await;
    let records = storage.changes_after(head.seq, 10).unwrap();
    let [record] = &records[..] else {
        panic!("one record expected: {records:?}")
    };
    assert_eq!((&record.old_image, &record.new_image), (&None, &None));
    assert!(!record.is_shown());
    assert_eq!(
        storage.table_changes(1, head.seq, u64::MAX, 10).unwrap(),
        records
    );
    let (kept, version) = storage.versioned_item(&table, &key).await.unwrap();
    assert_eq!(kept, None);
    let version = version.expect("the delete's version");
    assert_eq!(version.time_ms, record.time_ms);

    // The put made elsewhere a moment before the delete arrives after it: it loses.
    let earlier = Version {
        time_ms: version.time_ms - 1,
        region: "us-east-1".into(),
    };
    let put = Some(item(&key, &[("v", n("1"))]));
    let applied = storage.apply_replicated(&table, &key, put, &earlier, |_, _| ());
    assert_eq!(applied.await.unwrap(), None);
    assert_eq!(storage.get(&table, &key).unwrap(), None);
}

#[tokio::test]
async fn tombstones_past_a_time_are_collected_and_live_versions_kept() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path(), true);
    let table = layout(1, None);
    storage.set_versioned(1, &table.schema, Some("us-east-1"));
    let (gone, other, live) = (pk(s("a"), None), pk(s("b"), None), pk(s("c"), None));
    for key in [&gone, &other, &live] {
        put(&storage, &table, item(key, &[])).await;
    }
    delete(&storage, &table, gone.clone()).await;
    delete(&storage, &table, other.clone()).await;
    let (_, tombstone) = storage.versioned_item(&table, &gone).await.unwrap();
    let made = tombstone.unwrap().time_ms;
    let all =
        |before_ms| storage.collect_versions(&table, Collect::Tombstones, None, before_ms, 100);

    // Nothing made before the deletes: nothing collected.
    assert_eq!(
        all(made).await.unwrap(),
        Collected {
            removed: 0,
            next: None
        }
    );
    // A page at a time: the first page sees `a` only.
    let first = storage
        .collect_versions(&table, Collect::Tombstones, None, u64::MAX, 1)
        .await
        .unwrap();
    assert_eq!(first.removed, 1);
    assert_eq!(
        storage.versioned_item(&table, &gone).await.unwrap(),
        (None, None)
    );
    let rest = storage
        .collect_versions(
            &table,
            Collect::Tombstones,
            first.next.as_deref(),
            u64::MAX,
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        rest,
        Collected {
            removed: 1,
            next: None
        }
    );
    assert_eq!(
        storage.versioned_item(&table, &other).await.unwrap(),
        (None, None)
    );
    // The live item keeps its version, however old.
    let (kept, version) = storage.versioned_item(&table, &live).await.unwrap();
    assert!(kept.is_some() && version.is_some());
    assert_eq!(all(u64::MAX).await.unwrap().removed, 0);

    // Once the table is no longer global, every version goes, and the items stay.
    storage.set_versioned(1, &table.schema, None);
    let every = storage
        .collect_versions(&table, Collect::Every, None, u64::MAX, 100)
        .await
        .unwrap();
    assert_eq!(
        every,
        Collected {
            removed: 1,
            next: None
        }
    );
    let (kept, version) = storage.versioned_item(&table, &live).await.unwrap();
    assert!(kept.is_some() && version.is_none());
}

async fn delete(storage: &Storage, table: &TableLayout, key: PrimaryKey) {
    let outcome = storage
        .write(&[(table, key)], Cause::Ttl, |_| {
            Ok::<_, ()>((vec![Mutation::Delete], ()))
        })
        .await;
    assert!(matches!(outcome, Ok(Ok(()))), "delete failed: {outcome:?}");
}

fn collect(iter: Result<ItemIter<'_>, StorageError>) -> Vec<Item> {
    match iter {
        Ok(iter) => iter
            .map(|r| r.and_then(|s| s.decode()))
            .map(|r| r.unwrap_or_else(|e| panic!("read: {e}")))
            .collect(),
        Err(e) => panic!("range: {e}"),
    }
}

fn sort_keys(items: &[Item]) -> Vec<AttributeValue> {
    items.iter().filter_map(|i| i.get("sk").cloned()).collect()
}

fn all_changes(storage: &Storage) -> Vec<ChangeRecord> {
    storage
        .changes_after(0, usize::MAX)
        .unwrap_or_else(|e| panic!("changes: {e}"))
}

#[tokio::test]
async fn write_then_read_round_trips() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let table = layout(1, Some(ScalarType::N));
    let key = pk(s("a"), Some(n("1.5")));
    let stored = item(
        &key,
        &[("v", s("hello")), ("b", AttributeValue::Bool(true))],
    );
    put(&storage, &table, stored.clone()).await;
    assert_eq!(
        storage.get(&table, &key).ok().flatten(),
        Some(stored.clone())
    );
    assert_eq!(
        storage
            .get(&table, &pk(s("a"), Some(n("2"))))
            .ok()
            .flatten(),
        None
    );
    // Another table with the same key is a different item.
    assert_eq!(
        storage
            .get(&layout(2, Some(ScalarType::N)), &key)
            .ok()
            .flatten(),
        None
    );
    let stats = storage.table_stats(1);
    assert_eq!(stats.item_count, 1);
    assert_eq!(stats.size_bytes, item_size(&stored) as u64);

    // decide sees the current item; `out` is passed through.
    let seen = storage
        .write(&[(&table, key.clone())], Cause::User, |current| {
            Ok::<_, ()>((vec![Mutation::Keep], current.to_vec()))
        })
        .await;
    assert!(matches!(seen, Ok(Ok(ref v)) if v == &vec![Some(stored.clone())]));

    delete(&storage, &table, key.clone()).await;
    assert_eq!(storage.get(&table, &key).ok().flatten(), None);
    assert_eq!(storage.table_stats(1), TableStats::default());
}

#[tokio::test]
async fn a_refused_decision_writes_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let table = layout(1, None);
    let key = pk(s("a"), None);
    let outcome = storage
        .write(&[(&table, key.clone())], Cause::User, |current| {
            assert_eq!(current, &[None]);
            Err::<(Vec<Mutation>, ()), _>("condition failed")
        })
        .await;
    assert!(matches!(outcome, Ok(Err("condition failed"))));
    assert_eq!(storage.get(&table, &key).ok().flatten(), None);
    assert!(all_changes(&storage).is_empty());
    assert_eq!(*storage.watch_seq().borrow(), 0);

    // A wrong number of mutations is an error, not a panic, and writes nothing.
    let outcome = storage
        .write(&[(&table, key.clone())], Cause::User, |_| {
            Ok::<_, ()>((vec![], ()))
        })
        .await;
    assert!(outcome.is_err());
    // So are duplicate targets.
    let outcome = storage
        .write(
            &[(&table, key.clone()), (&table, key.clone())],
            Cause::User,
            |_| Ok::<_, ()>((vec![Mutation::Delete, Mutation::Delete], ())),
        )
        .await;
    assert!(outcome.is_err());
    assert!(all_changes(&storage).is_empty());
}

#[tokio::test]
async fn keys_past_the_engine_limit_are_refused_and_writes_go_on() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let table = layout(1, None);
    let huge = pk(s(&"x".repeat(70_000)), None);
    let outcome = storage
        .write(&[(&table, huge.clone())], Cause::User, |_| {
            Ok::<_, ()>((vec![Mutation::Put(item(&huge, &[]))], ()))
        })
        .await;
    assert!(
        matches!(outcome, Err(StorageError::KeyTooLong)),
        "{outcome:?}"
    );
    assert!(matches!(
        storage.query(&table, &huge.hash, &SortRange::all(), true, None),
        Err(StorageError::KeyTooLong)
    ));
    assert!(storage.get(&table, &huge).is_err());
    let long_prefix = "m".repeat(70_000);
    assert!(matches!(
        storage.list_meta(&long_prefix),
        Err(StorageError::KeyTooLong)
    ));
    assert!(matches!(
        storage.seq_mark(&long_prefix),
        Err(StorageError::KeyTooLong)
    ));
    // The commit thread lives on.
    put(&storage, &table, item(&pk(s("a"), None), &[])).await;
    assert!(all_changes(&storage).len() == 1);
}

#[tokio::test]
async fn query_orders_and_bounds_numbers() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let table = layout(3, Some(ScalarType::N));
    let values = ["100", "-10", "2", "0", "-1.5", "10", "0.25"];
    for v in values {
        put(&storage, &table, item(&pk(s("p"), Some(n(v))), &[])).await;
    }
    // A neighbouring partition must not leak in.
    put(&storage, &table, item(&pk(s("q"), Some(n("1"))), &[])).await;
    let ordered: Vec<AttributeValue> = ["-10", "-1.5", "0", "0.25", "2", "10", "100"]
        .iter()
        .map(|v| n(v))
        .collect();

    let all = SortRange::all();
    assert_eq!(
        sort_keys(&collect(storage.query(&table, &s("p"), &all, true, None))),
        ordered
    );
    let mut reversed = ordered.clone();
    reversed.reverse();
    assert_eq!(
        sort_keys(&collect(storage.query(&table, &s("p"), &all, false, None))),
        reversed
    );

    let between = SortRange {
        lower: Bound::Included(n("-1.5")),
        upper: Bound::Included(n("10")),
        prefix: None,
    };
    assert_eq!(
        sort_keys(&collect(storage.query(
            &table,
            &s("p"),
            &between,
            true,
            None
        ))),
        vec![n("-1.5"), n("0"), n("0.25"), n("2"), n("10")]
    );
    let open_range = SortRange {
        lower: Bound::Excluded(n("-1.5")),
        upper: Bound::Excluded(n("10")),
        prefix: None,
    };
    assert_eq!(
        sort_keys(&collect(storage.query(
            &table,
            &s("p"),
            &open_range,
            false,
            None
        ))),
        vec![n("2"), n("0.25"), n("0")]
    );
    let greater = SortRange {
        lower: Bound::Excluded(n("2")),
        upper: Bound::Unbounded,
        prefix: None,
    };
    assert_eq!(
        sort_keys(&collect(storage.query(
            &table,
            &s("p"),
            &greater,
            true,
            None
        ))),
        vec![n("10"), n("100")]
    );
    let inverted = SortRange {
        lower: Bound::Included(n("10")),
        upper: Bound::Included(n("2")),
        prefix: None,
    };
    assert!(collect(storage.query(&table, &s("p"), &inverted, true, None)).is_empty());

    // Exclusive start resumes after the key, in either direction.
    let start = pk(s("p"), Some(n("0.25")));
    assert_eq!(
        sort_keys(&collect(storage.query(
            &table,
            &s("p"),
            &all,
            true,
            Some(&start)
        ))),
        vec![n("2"), n("10"), n("100")]
    );
    assert_eq!(
        sort_keys(&collect(storage.query(
            &table,
            &s("p"),
            &all,
            false,
            Some(&start)
        ))),
        vec![n("0"), n("-1.5"), n("-10")]
    );
    assert!(collect(storage.query(&table, &s("none"), &all, true, None)).is_empty());
}

#[tokio::test]
async fn query_begins_with_strings_and_binary() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let table = layout(4, Some(ScalarType::S));
    for v in [
        "a",
        "ab",
        "ab\u{0}",
        "abc",
        "abd",
        "ab\u{10FFFF}",
        "ac",
        "b",
        "aa",
    ] {
        put(&storage, &table, item(&pk(s("p"), Some(s(v))), &[])).await;
    }
    let prefixed = SortRange {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
        prefix: Some(s("ab")),
    };
    let expected: Vec<AttributeValue> = ["ab", "ab\u{0}", "abc", "abd", "ab\u{10FFFF}"]
        .iter()
        .map(|v| s(v))
        .collect();
    assert_eq!(
        sort_keys(&collect(storage.query(
            &table,
            &s("p"),
            &prefixed,
            true,
            None
        ))),
        expected
    );
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(
        sort_keys(&collect(storage.query(
            &table,
            &s("p"),
            &prefixed,
            false,
            None
        ))),
        reversed
    );
    let start = pk(s("p"), Some(s("abc")));
    assert_eq!(
        sort_keys(&collect(storage.query(
            &table,
            &s("p"),
            &prefixed,
            false,
            Some(&start)
        ))),
        vec![s("ab\u{0}"), s("ab")]
    );

    let bin = layout(5, Some(ScalarType::B));
    let b = |v: &[u8]| AttributeValue::B(v.to_vec());
    for v in [
        &[1u8][..],
        &[1, 0xFF],
        &[1, 0xFF, 0],
        &[1, 0xFF, 0xFF, 3],
        &[2],
        &[1, 0xFE, 9],
    ] {
        put(&storage, &bin, item(&pk(s("p"), Some(b(v))), &[])).await;
    }
    let prefixed = SortRange {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
        prefix: Some(b(&[1, 0xFF])),
    };
    assert_eq!(
        sort_keys(&collect(storage.query(
            &bin,
            &s("p"),
            &prefixed,
            true,
            None
        ))),
        vec![b(&[1, 0xFF]), b(&[1, 0xFF, 0]), b(&[1, 0xFF, 0xFF, 3])]
    );
    assert_eq!(
        sort_keys(&collect(storage.query(
            &bin,
            &s("p"),
            &prefixed,
            false,
            None
        ))),
        vec![b(&[1, 0xFF, 0xFF, 3]), b(&[1, 0xFF, 0]), b(&[1, 0xFF])]
    );
}

#[tokio::test]
async fn scan_segments_partition_the_table() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), false);
    let table = layout(6, None);
    let other = layout(7, None);
    for i in 0..300 {
        put(&storage, &table, item(&pk(s(&format!("k{i}")), None), &[])).await;
    }
    put(&storage, &other, item(&pk(s("x"), None), &[])).await;
    let whole = collect(storage.scan(&table, None, None));
    assert_eq!(whole.len(), 300);
    for total in [1u32, 2, 3, 8, 13] {
        let mut union = Vec::new();
        for segment in 0..total {
            union.extend(collect(storage.scan(&table, Some((segment, total)), None)));
        }
        // Segments are consecutive slices of the scan order: concatenated, they are it.
        assert_eq!(union, whole, "total {total}");
    }
    assert!(collect(storage.scan(&table, Some((3, 3)), None)).is_empty());
    assert!(collect(storage.scan(&table, Some((0, 0)), None)).is_empty());

    // Exclusive start resumes right after the given key, also within a segment.
    let start_item = &whole[99];
    let start = pk(
        start_item
            .get("pk")
            .cloned()
            .unwrap_or(AttributeValue::Null),
        None,
    );
    assert_eq!(
        collect(storage.scan(&table, None, Some(&start))),
        whole[100..].to_vec()
    );
    let seg1 = collect(storage.scan(&table, Some((1, 2)), None));
    let first = pk(
        seg1[0].get("pk").cloned().unwrap_or(AttributeValue::Null),
        None,
    );
    assert_eq!(
        collect(storage.scan(&table, Some((1, 2)), Some(&first))),
        seg1[1..].to_vec()
    );
}

#[tokio::test]
async fn a_table_only_the_feed_reads_logs_that_the_item_existed_and_is_not_indexed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let (table, other) = (layout(8, None), layout(9, None));
    let key = pk(s("a"), None);
    let (v1, v2, v3) = (
        item(&key, &[("v", n("1"))]),
        item(&key, &[("v", n("2"))]),
        item(&key, &[("v", n("3"))]),
    );
    storage.set_log_detail(8, LogDetail::FeedOnly);
    put(&storage, &table, v1.clone()).await;
    put(&storage, &table, v2.clone()).await;
    put(&storage, &other, v1.clone()).await;
    put(&storage, &other, v2.clone()).await;
    delete(&storage, &table, key.clone()).await;
    let head = storage.set_log_detail(8, LogDetail::Full);
    put(&storage, &table, v1.clone()).await;
    put(&storage, &table, v3.clone()).await;

    let records = all_changes(&storage);
    // Table, old image, old image elided, new image, new image elided.
    type Shape = (u64, Option<Item>, bool, Option<Item>, bool);
    let shape: Vec<Shape> = records
        .iter()
        .map(|r| {
            (
                r.table_id,
                r.old_image.clone(),
                r.old_image_elided,
                r.new_image.clone(),
                r.new_image_elided,
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            // Keys only, and whether the item existed before and after.
            (8, None, false, None, true),
            (8, None, true, None, true),
            // Another table keeps its images.
            (9, None, false, Some(v1.clone()), false),
            (9, Some(v1.clone()), false, Some(v2), false),
            (8, None, true, None, false),
            // Kept again from the switch on.
            (8, None, false, Some(v1.clone()), false),
            (8, Some(v1), false, Some(v3), false),
        ]
    );
    assert_eq!(
        head.seq, 5,
        "the switch names the last record written without"
    );
    assert_eq!(head.time_ms, records[4].time_ms);
    let indexed = |table_id| {
        let listed = storage.table_changes(table_id, 0, u64::MAX, 100);
        listed
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(indexed(8), [6, 7], "indexed from the switch on");
    assert_eq!(indexed(9), [3, 4]);
}

#[tokio::test]
async fn change_log_sees_every_change_in_order() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let table = layout(8, None);
    let key = pk(s("a"), None);
    let v1 = item(&key, &[("v", n("1"))]);
    let v2 = item(&key, &[("v", n("2"))]);
    put(&storage, &table, v1.clone()).await;
    put(&storage, &table, v1.clone()).await; // unchanged: no record
    put(&storage, &table, v2.clone()).await;
    delete(&storage, &table, key.clone()).await;
    delete(&storage, &table, key.clone()).await; // missing: no record
                                                 // A transaction: two puts, one keep, one record each for the puts.
    let (kb, kc, kd) = (pk(s("b"), None), pk(s("c"), None), pk(s("d"), None));
    let (ib, ic) = (item(&kb, &[]), item(&kc, &[]));
    let targets = [
        (&table, kb.clone()),
        (&table, kc.clone()),
        (&table, kd.clone()),
    ];
    let outcome = storage
        .write(&targets, Cause::User, |_| {
            Ok::<_, ()>((
                vec![
                    Mutation::Put(ib.clone()),
                    Mutation::Put(ic.clone()),
                    Mutation::Keep,
                ],
                (),
            ))
        })
        .await;
    assert!(matches!(outcome, Ok(Ok(()))));

    let records = all_changes(&storage);
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    let images: Vec<(Option<Item>, Option<Item>)> = records
        .iter()
        .map(|r| (r.old_image.clone(), r.new_image.clone()))
        .collect();
    assert_eq!(
        images,
        vec![
            (None, Some(v1.clone())),
            (Some(v1), Some(v2.clone())),
            (Some(v2), None),
            (None, Some(ib)),
            (None, Some(ic)),
        ]
    );
    assert_eq!(records[2].cause, Cause::Ttl);
    assert_eq!(records[0].cause, Cause::User);
    assert_eq!(records[0].keys, table.schema.key_item(&key));
    assert_eq!(records[0].table_name, "t8");
    assert_eq!(records[0].table_id, 8);
    assert!(records.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    assert!(records[0].time_ms > 0);
    assert_eq!(*storage.watch_seq().borrow(), 5);

    let page = storage.changes_after(2, 2).unwrap_or_default();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert!(storage.changes_after(5, 10).unwrap_or_default().is_empty());

    // The sequence continues after a reopen.
    drop(storage);
    let storage = open(dir.path(), true);
    assert_eq!(*storage.watch_seq().borrow(), 5);
    put(&storage, &table, item(&key, &[])).await;
    assert_eq!(
        storage
            .changes_after(5, 10)
            .unwrap_or_default()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        vec![6]
    );
}

#[tokio::test]
async fn acknowledged_writes_survive_reopen() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let table = layout(9, Some(ScalarType::N));
    let other = layout(10, None);
    let mut expected = Vec::new();
    {
        let storage = open(dir.path(), true);
        for i in 0..50 {
            let it = item(
                &pk(s("p"), Some(n(&i.to_string()))),
                &[("v", s(&"x".repeat(i)))],
            );
            put(&storage, &table, it.clone()).await;
            expected.push(it);
        }
        put(&storage, &other, item(&pk(s("o"), None), &[])).await;
        delete(&storage, &other, pk(s("o"), None)).await;
        assert!(matches!(
            storage.put_meta("table/a", Some(b"{}".to_vec())).await,
            Ok(())
        ));
        // Dropped without any shutdown call.
    }
    let storage = open(dir.path(), true);
    assert_eq!(
        collect(storage.query(&table, &s("p"), &SortRange::all(), true, None)),
        expected
    );
    let stats = storage.table_stats(9);
    assert_eq!(stats.item_count, 50);
    assert_eq!(
        stats.size_bytes,
        expected.iter().map(|i| item_size(i) as u64).sum::<u64>()
    );
    assert_eq!(storage.table_stats(10), TableStats::default());
    assert_eq!(all_changes(&storage).len(), 52);
    assert_eq!(
        storage.list_meta("table/").ok(),
        Some(vec![("table/a".to_owned(), b"{}".to_vec())])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_are_serialized() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let table = Arc::new(layout(11, None));
    let key = pk(s("counter"), None);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (storage, table, key) = (Arc::clone(&storage), Arc::clone(&table), key.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                let outcome = storage
                    .write(&[(&*table, key.clone())], Cause::User, |current| {
                        let count = current
                            .first()
                            .and_then(|c| c.as_ref())
                            .and_then(|i| match i.get("n") {
                                Some(AttributeValue::N(v)) => v.to_i64(),
                                _ => None,
                            })
                            .unwrap_or(0);
                        let next = item(
                            &key,
                            &[("n", AttributeValue::N(Number::from_i64(count + 1)))],
                        );
                        Ok::<_, ()>((vec![Mutation::Put(next)], ()))
                    })
                    .await;
                assert!(matches!(outcome, Ok(Ok(()))));
            }
        }));
    }
    for task in tasks {
        assert!(task.await.is_ok());
    }
    let last = storage
        .get(&table, &key)
        .ok()
        .flatten()
        .and_then(|i| i.get("n").cloned());
    assert_eq!(last, Some(AttributeValue::N(Number::from_i64(800))));
    assert_eq!(all_changes(&storage).len(), 800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_transactions_in_any_order_do_not_deadlock() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), false);
    let table = Arc::new(layout(12, None));
    let keys: Vec<PrimaryKey> = (0..6).map(|i| pk(s(&format!("k{i}")), None)).collect();
    let mut tasks = Vec::new();
    for t in 0..8usize {
        let (storage, table) = (Arc::clone(&storage), Arc::clone(&table));
        // Each task takes a rotated, sometimes reversed, overlapping subset.
        let mut mine: Vec<PrimaryKey> =
            (0..4).map(|j| keys[(t + j) % keys.len()].clone()).collect();
        if t % 2 == 1 {
            mine.reverse();
        }
        tasks.push(tokio::spawn(async move {
            for round in 0..40 {
                let targets: Vec<(&TableLayout, PrimaryKey)> =
                    mine.iter().map(|k| (&*table, k.clone())).collect();
                let puts: Vec<Mutation> = mine
                    .iter()
                    .map(|k| Mutation::Put(item(k, &[("by", n(&format!("{t}{round}")))])))
                    .collect();
                // Yield inside the locked section's neighbourhood to shuffle interleavings.
                tokio::task::yield_now().await;
                let outcome = storage
                    .write(&targets, Cause::User, |_| Ok::<_, ()>((puts, ())))
                    .await;
                assert!(matches!(outcome, Ok(Ok(()))));
            }
        }));
    }
    let all = async {
        for task in tasks {
            assert!(task.await.is_ok());
        }
    };
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(60), all)
            .await
            .is_ok(),
        "deadlock"
    );
    assert_eq!(storage.table_stats(12).item_count, 6);
}

#[tokio::test]
async fn dropping_a_table_removes_only_its_items() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), true);
    let doomed = layout(13, Some(ScalarType::N));
    let kept = layout(14, None);
    for i in 0..2500 {
        put(
            &storage,
            &doomed,
            item(&pk(s(&format!("p{}", i % 7)), Some(n(&i.to_string()))), &[]),
        )
        .await;
    }
    put(&storage, &kept, item(&pk(s("k"), None), &[])).await;
    assert_eq!(storage.table_stats(13).item_count, 2500);
    assert!(storage.drop_table_data(13).await.is_ok());
    assert!(collect(storage.scan(&doomed, None, None)).is_empty());
    assert_eq!(storage.table_stats(13), TableStats::default());
    assert_eq!(collect(storage.scan(&kept, None, None)).len(), 1);
    drop(storage);
    let storage = open(dir.path(), true);
    assert!(collect(storage.scan(&doomed, None, None)).is_empty());
    assert_eq!(storage.table_stats(13), TableStats::default());
    assert_eq!(storage.table_stats(14).item_count, 1);
}

#[tokio::test]
async fn meta_records_put_list_delete() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), false);
    for (k, v) in [("table/b", "2"), ("table/a", "1"), ("tag/a", "3")] {
        assert!(storage
            .put_meta(k, Some(v.as_bytes().to_vec()))
            .await
            .is_ok());
    }
    let tables = storage.list_meta("table/").unwrap_or_default();
    assert_eq!(
        tables,
        vec![
            ("table/a".to_owned(), b"1".to_vec()),
            ("table/b".to_owned(), b"2".to_vec())
        ]
    );
    assert_eq!(storage.list_meta("").unwrap_or_default().len(), 3);
    assert!(storage.put_meta("table/a", None).await.is_ok());
    assert_eq!(storage.list_meta("table/").unwrap_or_default().len(), 1);
    // Catalog records are not item changes.
    assert!(all_changes(&storage).is_empty());
}

/// Where the crash test's child process writes; unset in a normal test run.
const CRASH_DIR_ENV: &str = "STORE_STORAGE_CRASH_TEST_DIR";

/// The child half of `killed_process_keeps_acknowledged_writes`: writes items forever,
/// printing each acknowledged index, until the parent kills it. A no-op otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child_writer() {
    let Ok(dir) = std::env::var(CRASH_DIR_ENV) else {
        return;
    };
    let storage = open(Path::new(&dir), true);
    let table = Arc::new(layout(20, Some(ScalarType::N)));
    // Several concurrent writers so acknowledgements come from shared fsyncs.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for w in 0..4u64 {
        let (storage, table, tx) = (Arc::clone(&storage), Arc::clone(&table), tx.clone());
        tokio::spawn(async move {
            for i in (w..).step_by(4) {
                let key = pk(s("p"), Some(AttributeValue::N(Number::from_u64(i))));
                put(&storage, &table, item(&key, &[("v", s("payload"))])).await;
                if tx.send(i).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A parent that never kills us must not leave us running: give up after a minute,
    // which closes stdout and fails the parent's test instead of hanging it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Ok(Some(i)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        let _ = writeln!(out, "acked {i}");
        let _ = out.flush();
    }
}

#[test]
fn killed_process_keeps_acknowledged_writes() {
    use std::io::BufRead;
    if std::env::var(CRASH_DIR_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "storage::tests::crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR_ENV, dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut acked = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(i) = line
            .strip_prefix("acked ")
            .and_then(|v| v.parse::<u64>().ok())
        {
            acked.push(i);
            if acked.len() >= 300 {
                break;
            }
        }
    }
    // SIGKILL: no destructor, no engine shutdown, no final journal sync.
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        acked.len() >= 300,
        "child stopped early after {} writes",
        acked.len()
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let storage = open(dir.path(), true);
        let table = layout(20, Some(ScalarType::N));
        for i in &acked {
            let key = pk(s("p"), Some(AttributeValue::N(Number::from_u64(*i))));
            assert!(
                storage.get(&table, &key).ok().flatten().is_some(),
                "acknowledged write {i} lost"
            );
        }
        // The change log and stats agree with the items that survived.
        let items = collect(storage.scan(&table, None, None));
        assert_eq!(storage.table_stats(20).item_count, items.len() as u64);
        assert_eq!(all_changes(&storage).len(), items.len());
        put(&storage, &table, item(&pk(s("after"), Some(n("1"))), &[])).await;
        let last = all_changes(&storage).last().map(|r| r.seq);
        assert_eq!(last, Some(items.len() as u64 + 1));
    });
}

/// Random puts, deletes, keeps and multi-item transactions against a `BTreeMap` model:
/// final items, stats and the change log (with images) must equal the model's history.
#[tokio::test]
async fn random_writes_match_a_model() {
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage = open(dir.path(), false);
    let table = layout(40, Some(ScalarType::N));
    let mut model: BTreeMap<(String, i64), Item> = BTreeMap::new();
    let mut history: Vec<(Option<Item>, Option<Item>)> = Vec::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |bound: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % bound
    };
    for _ in 0..600 {
        let width = 1 + next(4) as usize;
        let mut chosen: Vec<(String, i64)> = Vec::new();
        while chosen.len() < width {
            let k = (format!("p{}", next(3)), next(5) as i64 - 2);
            if !chosen.contains(&k) {
                chosen.push(k);
            }
        }
        let plan: Vec<u64> = chosen.iter().map(|_| next(4)).collect();
        let value = next(3);
        let refuse = next(10) == 0;
        let targets: Vec<(&TableLayout, PrimaryKey)> = chosen
            .iter()
            .map(|(h, r)| {
                (
                    &table,
                    pk(s(h), Some(AttributeValue::N(Number::from_i64(*r)))),
                )
            })
            .collect();
        let keys: Vec<PrimaryKey> = targets.iter().map(|(_, k)| k.clone()).collect();
        let expected_current: Vec<Option<Item>> =
            chosen.iter().map(|k| model.get(k).cloned()).collect();
        let outcome = storage
            .write(&targets, Cause::User, |current| {
                assert_eq!(current, expected_current.as_slice());
                if refuse {
                    return Err(());
                }
                let mutations = plan
                    .iter()
                    .zip(&keys)
                    .map(|(p, key)| match p {
                        0 => Mutation::Delete,
                        1 => Mutation::Keep,
                        _ => Mutation::Put(item(
                            key,
                            &[("v", AttributeValue::N(Number::from_u64(value)))],
                        )),
                    })
                    .collect();
                Ok((mutations, ()))
            })
            .await;
        match outcome {
            Ok(Err(())) => assert!(refuse),
            Ok(Ok(())) => {
                for ((k, p), key) in chosen.iter().zip(&plan).zip(&keys) {
                    let old = model.get(k).cloned();
                    let new = match p {
                        0 => None,
                        1 => continue,
                        _ => Some(item(
                            key,
                            &[("v", AttributeValue::N(Number::from_u64(value)))],
                        )),
                    };
                    if old != new {
                        history.push((old, new.clone()));
                    }
                    match new {
                        Some(new) => model.insert(k.clone(), new),
                        None => model.remove(k),
                    };
                }
            }
            Err(e) => panic!("write: {e}"),
        }
    }
    let stored: Vec<Item> = collect(storage.scan(&table, None, None));
    let mut sorted_stored = stored.clone();
    sorted_stored.sort_by_key(|i| format!("{i:?}"));
    let mut expected: Vec<Item> = model.values().cloned().collect();
    expected.sort_by_key(|i| format!("{i:?}"));
    assert_eq!(sorted_stored, expected);
    let stats = storage.table_stats(40);
    assert_eq!(stats.item_count, model.len() as u64);
    assert_eq!(
        stats.size_bytes,
        model.values().map(|i| item_size(i) as u64).sum::<u64>()
    );
    let log: Vec<(Option<Item>, Option<Item>)> = all_changes(&storage)
        .into_iter()
        .map(|r| (r.old_image, r.new_image))
        .collect();
    assert_eq!(log, history);
    for (h, _) in model.keys() {
        let in_partition = collect(storage.query(&table, &s(h), &SortRange::all(), true, None));
        let from_model: Vec<Item> = model
            .iter()
            .filter(|((mh, _), _)| mh == h)
            .map(|(_, i)| i.clone())
            .collect();
        assert_eq!(in_partition, from_model);
    }
}

/// The partition cache answers every Query shape as the engine does, before and after
/// writes to the cached partition: a store with the cache and one without take the same
/// writes and must read the same items.
#[tokio::test]
async fn the_partition_cache_answers_as_the_engine_does() {
    let (dir_cached, dir_plain) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cached = open(dir_cached.path(), false);
    let plain = Storage::open(
        dir_plain.path(),
        StorageOptions {
            partition_cache_bytes: 0,
            ..StorageOptions::for_tests()
        },
    )
    .unwrap();
    let table = layout(9, Some(ScalarType::S));
    let both = [&cached, &plain];
    for storage in both {
        for sort in ["a0", "a1", "a2", "ab", "abc", "b0", "b1", "c"] {
            let key = pk(s("p"), Some(s(sort)));
            put(storage, &table, item(&key, &[("v", n("1"))])).await;
        }
        put(storage, &table, item(&pk(s("q"), Some(s("a0"))), &[])).await;
    }
    let bound = |b: Bound<&str>| b.map(s);
    let ranges = [
        SortRange::all(),
        SortRange {
            lower: bound(Bound::Included("a1")),
            upper: bound(Bound::Excluded("b1")),
            prefix: None,
        },
        SortRange {
            lower: bound(Bound::Excluded("a1")),
            upper: bound(Bound::Included("b1")),
            prefix: None,
        },
        SortRange {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            prefix: Some(s("ab")),
        },
        SortRange {
            lower: bound(Bound::Included("c")),
            upper: bound(Bound::Included("a")),
            prefix: None,
        },
    ];
    let start = pk(s("p"), Some(s("ab")));
    let compare = |when: &str| {
        for range in &ranges {
            for forward in [true, false] {
                for start in [None, Some(&start)] {
                    let read = |storage: &Storage| {
                        collect(storage.query(&table, &s("p"), range, forward, start))
                    };
                    assert_eq!(
                        read(&cached),
                        read(&plain),
                        "{when}: {range:?}, forward {forward}, start {start:?}"
                    );
                }
            }
        }
    };
    compare("filled");
    assert!(cached.partition_cache_stats().hits > 0);
    assert_eq!(cached.partition_cache_stats().partitions, 1);

    // An overwrite, a delete and a new item, each in the cached partition.
    for storage in both {
        put(
            storage,
            &table,
            item(&pk(s("p"), Some(s("a2"))), &[("v", n("2"))]),
        )
        .await;
        delete(storage, &table, pk(s("p"), Some(s("b0")))).await;
        put(storage, &table, item(&pk(s("p"), Some(s("abd"))), &[])).await;
    }
    compare("after writes");
    let items = collect(cached.query(&table, &s("p"), &SortRange::all(), true, None));
    assert_eq!(items.len(), 8);
    assert!(items.contains(&item(&pk(s("p"), Some(s("a2"))), &[("v", n("2"))])));
}
