//! The partition cache (`store/src/storage/partition_cache.rs`) against the real store: a
//! Query of a cached partition (table, GSI or LSI; whole, with a sort-key condition,
//! backwards or paged) always answers what a model of the table says, after every kind of
//! write (item API, batch, transaction, PartiQL), after TTL deletes, and while writers and
//! readers race; partitions over 64 KiB are never cached but read right; with
//! `--partition-cache-mb 0` nothing is cached. The cache's metrics show it being used. A
//! partition is cached by its second whole read with no write in between.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeValue, BatchStatementRequest, BillingMode, Delete, DeleteRequest, KeyType,
    ProjectionType, Put, ScalarAttributeType, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

type Item = HashMap<String, AttributeValue>;

/// What the table holds in one partition, by sort key.
type Model = BTreeMap<i64, Item>;

const HITS: &str = "store_partition_cache_hits_total";
const PARTITIONS: &str = "store_partition_cache_partitions";
const BYTES: &str = "store_partition_cache_bytes";

/// The Number attribute `name` of `item`.
fn num(item: &Item, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().unwrap(),
        other => panic!("{name} is not a number in {item:?}: {other:?}"),
    }
}

/// The sort keys of `items`, for readable failure messages.
fn sort_keys(items: &[Item]) -> Vec<i64> {
    items.iter().map(|i| num(i, "sk")).collect()
}

/// One Query, read to its end page by page. `limit` sets each page's Limit.
struct Query<'a> {
    ddb: &'a Client,
    table: &'a str,
    index: Option<&'a str>,
    condition: &'a str,
    values: Vec<(&'a str, AttributeValue)>,
    forward: bool,
    limit: Option<i32>,
    consistent: bool,
}

impl<'a> Query<'a> {
    /// The whole partition `pk` of the table, in key order.
    fn partition(ddb: &'a Client, table: &'a str, pk: &str) -> Self {
        Query {
            ddb,
            table,
            index: None,
            condition: "pk = :p",
            values: vec![(":p", s(pk))],
            forward: true,
            limit: None,
            consistent: true,
        }
    }

    /// A Query of the GSI `index` (eventually consistent, as GSIs only allow).
    fn gsi(ddb: &'a Client, table: &'a str, index: &'a str, condition: &'a str) -> Self {
        Query {
            index: Some(index),
            condition,
            values: Vec::new(),
            consistent: false,
            ..Query::partition(ddb, table, "")
        }
    }

    /// A consistent Query of the LSI `index`.
    fn lsi(ddb: &'a Client, table: &'a str, index: &'a str, condition: &'a str) -> Self {
        Query {
            index: Some(index),
            condition,
            ..Query::partition(ddb, table, "")
        }
    }

    fn value(mut self, name: &'a str, value: AttributeValue) -> Self {
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, value));
        self
    }

    fn condition(mut self, condition: &'a str) -> Self {
        self.condition = condition;
        self
    }

    fn backward(mut self) -> Self {
        self.forward = false;
        self
    }

    fn limit(mut self, limit: i32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Every item, following LastEvaluatedKey to the end.
    async fn items(&self) -> Vec<Item> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = ok(self
                .ddb
                .query()
                .table_name(self.table)
                .set_index_name(self.index.map(String::from))
                .key_condition_expression(self.condition)
                .set_expression_attribute_values(Some(
                    self.values
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.clone()))
                        .collect(),
                ))
                .scan_index_forward(self.forward)
                .set_limit(self.limit)
                .consistent_read(self.consistent)
                .set_exclusive_start_key(start.take())
                .send()
                .await);
            if let Some(limit) = self.limit {
                assert!(page.items().len() <= limit as usize);
            }
            out.extend_from_slice(page.items());
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return out,
            }
        }
    }
}

/// The partition cache's lines of a `/metrics` text, for failure messages.
fn cache_lines(text: &str) -> String {
    let lines = text
        .lines()
        .filter(|l| l.starts_with("store_partition_cache_"));
    lines.collect::<Vec<_>>().join("\n")
}

async fn hits(store: &StoreProcess) -> f64 {
    metric(&store.endpoint(), HITS).await
}

/// The table of test 1: `pk` (S) / `sk` (N), the GSI `gsi` keyed by `g` (S) / `gs` (N)
/// and the LSI `lsi` sorted by `l` (N), both projecting every attribute.
async fn create_indexed_table(ddb: &Client, name: &str) {
    let created = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::N))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("gs", ScalarAttributeType::N))
        .attribute_definitions(attribute_definition("l", ScalarAttributeType::N))
        .global_secondary_indexes(
            gsi_projecting_all("gsi", "g")
                .key_schema(key_element("gs", KeyType::Range))
                .build()
                .unwrap(),
        )
        .local_secondary_indexes(lsi("lsi", "l", ProjectionType::All, &[]))
        .send()
        .await;
    ok(created);
    wait_table_active(ddb, name).await;
}

/// An item of partition "p" of the indexed table.
fn indexed_item(sk: i64, v: i64, g: &str) -> Item {
    item(&[
        ("pk", s("p")),
        ("sk", n(sk)),
        ("v", n(v)),
        ("g", s(g)),
        ("gs", n(sk * 10)),
        ("l", n(1000 - sk)),
        ("txt", s(&format!("item {sk}"))),
    ])
}

fn key_of(sk: i64) -> Item {
    item(&[("pk", s("p")), ("sk", n(sk))])
}

/// Checks every way of reading partition "p" (and the GSI partitions "ga" and "gb", and the
/// LSI) against `model`, and that the cache answered some of those reads. Each read set
/// starts with whole-partition Queries (the second in a row fills the cache), so the
/// partitions are cached again for the next write to invalidate.
async fn check(store: &StoreProcess, ddb: &Client, table: &str, model: &Model, after: &str) {
    let before = hits(store).await;
    let all: Vec<Item> = model.values().cloned().collect();
    let q = || Query::partition(ddb, table, "p");

    let got = q().items().await;
    assert_eq!(
        got,
        all,
        "after {after}: whole partition {:?}",
        sort_keys(&got)
    );
    let got = q().items().await;
    assert_eq!(got, all, "after {after}: whole partition again");
    let reversed: Vec<Item> = all.iter().rev().cloned().collect();
    let got = q().backward().items().await;
    assert_eq!(
        got,
        reversed,
        "after {after}: backward {:?}",
        sort_keys(&got)
    );
    let between: Vec<Item> = model.range(3..=8).map(|(_, i)| i.clone()).collect();
    let got = q()
        .condition("pk = :p AND sk BETWEEN :a AND :b")
        .value(":a", n(3))
        .value(":b", n(8))
        .items()
        .await;
    assert_eq!(
        got,
        between,
        "after {after}: BETWEEN 3 AND 8 {:?}",
        sort_keys(&got)
    );
    let above: Vec<Item> = model.range(6..).rev().map(|(_, i)| i.clone()).collect();
    let got = q()
        .condition("pk = :p AND sk > :a")
        .value(":a", n(5))
        .backward()
        .items()
        .await;
    assert_eq!(
        got,
        above,
        "after {after}: sk > 5 backward {:?}",
        sort_keys(&got)
    );
    let got = q().limit(3).items().await;
    assert_eq!(got, all, "after {after}: pages of 3 {:?}", sort_keys(&got));
    let got = q().limit(4).backward().items().await;
    assert_eq!(got, reversed, "after {after}: pages of 4 backward");

    for g in ["ga", "gb"] {
        let mut want: Vec<Item> = all
            .iter()
            .filter(|i| i.get("g") == Some(&s(g)) && i.contains_key("gs"))
            .cloned()
            .collect();
        want.sort_by_key(|i| num(i, "gs"));
        let q = || Query::gsi(ddb, table, "gsi", "g = :g").value(":g", s(g));
        let got = q().items().await;
        assert_eq!(got, want, "after {after}: GSI {g} {:?}", sort_keys(&got));
        let got = q().limit(2).items().await;
        assert_eq!(got, want, "after {after}: GSI {g} in pages of 2");
        want.reverse();
        let got = q().backward().items().await;
        assert_eq!(got, want, "after {after}: GSI {g} backward");
    }

    // Items without `l` are not in the LSI.
    let mut want: Vec<Item> = all
        .iter()
        .filter(|i| i.contains_key("l"))
        .cloned()
        .collect();
    want.sort_by_key(|i| num(i, "l"));
    let q = || Query::lsi(ddb, table, "lsi", "pk = :p").value(":p", s("p"));
    let got = q().items().await;
    assert_eq!(got, want, "after {after}: LSI {:?}", sort_keys(&got));
    let got = q().limit(3).items().await;
    assert_eq!(got, want, "after {after}: LSI in pages of 3");
    let low: Vec<Item> = want
        .iter()
        .filter(|i| num(i, "l") <= 995)
        .cloned()
        .collect();
    let got = q()
        .condition("pk = :p AND l <= :l")
        .value(":l", n(995))
        .items()
        .await;
    assert_eq!(
        got,
        low,
        "after {after}: LSI l <= 995 {:?}",
        sort_keys(&got)
    );

    let after_hits = hits(store).await;
    assert!(
        after_hits > before,
        "after {after}: the cache answered none of the reads ({before} -> {after_hits} hits)"
    );
}

#[tokio::test]
async fn every_kind_of_write_is_seen_by_queries_of_a_cached_partition() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("pcache");
    create_indexed_table(&ddb, &table).await;
    let mut model = Model::new();
    for sk in 0..10 {
        let it = indexed_item(sk, sk, if sk % 2 == 0 { "ga" } else { "gb" });
        put_item(&ddb, &table, it.clone()).await;
        model.insert(sk, it);
    }
    // Another table partition (in no index partition), that no write below touches.
    let other = item(&[("pk", s("o")), ("sk", n(0)), ("v", n(0))]);
    put_item(&ddb, &table, other.clone()).await;

    let all: Vec<Item> = model.values().cloned().collect();
    let before = hits(&store).await;
    // The second whole read in a row fills the cache; the third is a hit.
    for _ in 0..3 {
        assert_eq!(Query::partition(&ddb, &table, "p").items().await, all);
    }
    let after = hits(&store).await;
    assert!(
        after > before,
        "a third whole Query was no hit: {before} -> {after}"
    );
    assert!(metric(&store.endpoint(), PARTITIONS).await >= 1.0);
    check(&store, &ddb, &table, &model, "the puts").await;

    // PutItem of a new item.
    let it = indexed_item(20, 200, "ga");
    put_item(&ddb, &table, it.clone()).await;
    model.insert(20, it);
    check(&store, &ddb, &table, &model, "PutItem of a new item").await;

    // PutItem over an item: other attributes, another GSI partition, no LSI key.
    let it = item(&[
        ("pk", s("p")),
        ("sk", n(3)),
        ("v", n(33)),
        ("g", s("ga")),
        ("gs", n(35)),
        ("extra", s("overwritten")),
    ]);
    put_item(&ddb, &table, it.clone()).await;
    model.insert(3, it);
    check(&store, &ddb, &table, &model, "PutItem overwrite").await;

    // UpdateItem SET.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key_of(4)))
        .update_expression("SET v = :v, txt = :t")
        .expression_attribute_values(":v", n(44))
        .expression_attribute_values(":t", s("set"))
        .send()
        .await);
    let m = model.get_mut(&4).unwrap();
    m.insert("v".into(), n(44));
    m.insert("txt".into(), s("set"));
    check(&store, &ddb, &table, &model, "UpdateItem SET").await;

    // UpdateItem ADD.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key_of(5)))
        .update_expression("ADD v :one, added :one")
        .expression_attribute_values(":one", n(1))
        .send()
        .await);
    let m = model.get_mut(&5).unwrap();
    m.insert("v".into(), n(6));
    m.insert("added".into(), n(1));
    check(&store, &ddb, &table, &model, "UpdateItem ADD").await;

    // DeleteItem.
    ok(ddb
        .delete_item()
        .table_name(&table)
        .set_key(Some(key_of(6)))
        .send()
        .await);
    model.remove(&6);
    check(&store, &ddb, &table, &model, "DeleteItem").await;

    // BatchWriteItem: a put and a delete.
    let it = indexed_item(21, 210, "gb");
    let delete = DeleteRequest::builder()
        .set_key(Some(key_of(7)))
        .build()
        .unwrap();
    batch_write_all(
        &ddb,
        &table,
        vec![
            batch_put(it.clone()),
            WriteRequest::builder().delete_request(delete).build(),
        ],
    )
    .await;
    model.insert(21, it);
    model.remove(&7);
    check(&store, &ddb, &table, &model, "BatchWriteItem").await;

    // TransactWriteItems: Put + Update + Delete.
    let it = indexed_item(22, 220, "ga");
    let put = Put::builder()
        .table_name(&table)
        .set_item(Some(it.clone()))
        .build()
        .unwrap();
    let update = Update::builder()
        .table_name(&table)
        .set_key(Some(key_of(8)))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", n(88))
        .build()
        .unwrap();
    let delete = Delete::builder()
        .table_name(&table)
        .set_key(Some(key_of(9)))
        .build()
        .unwrap();
    ok(ddb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().update(update).build())
        .transact_items(TransactWriteItem::builder().delete(delete).build())
        .send()
        .await);
    model.insert(22, it);
    model.get_mut(&8).unwrap().insert("v".into(), n(88));
    model.remove(&9);
    check(&store, &ddb, &table, &model, "TransactWriteItems").await;

    // PartiQL ExecuteStatement: INSERT, UPDATE, DELETE.
    let statement = |sql: String, parameters: Vec<AttributeValue>| {
        ddb.execute_statement()
            .statement(sql)
            .set_parameters(Some(parameters))
            .send()
    };
    ok(statement(
        format!(
            "INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': ?, 'v': ?, 'g': ?, 'gs': ?, 'l': ?}}"
        ),
        vec![s("p"), n(23), n(230), s("gb"), n(230), n(977)],
    )
    .await);
    model.insert(
        23,
        item(&[
            ("pk", s("p")),
            ("sk", n(23)),
            ("v", n(230)),
            ("g", s("gb")),
            ("gs", n(230)),
            ("l", n(977)),
        ]),
    );
    check(&store, &ddb, &table, &model, "PartiQL INSERT").await;
    ok(statement(
        format!("UPDATE \"{table}\" SET v = ? WHERE pk = ? AND sk = ?"),
        vec![n(11), s("p"), n(1)],
    )
    .await);
    model.get_mut(&1).unwrap().insert("v".into(), n(11));
    check(&store, &ddb, &table, &model, "PartiQL UPDATE").await;
    ok(statement(
        format!("DELETE FROM \"{table}\" WHERE pk = ? AND sk = ?"),
        vec![s("p"), n(2)],
    )
    .await);
    model.remove(&2);
    check(&store, &ddb, &table, &model, "PartiQL DELETE").await;

    // BatchExecuteStatement: an INSERT, an UPDATE and a DELETE.
    let batch = |sql: String, parameters: Vec<AttributeValue>| {
        BatchStatementRequest::builder()
            .statement(sql)
            .set_parameters(Some(parameters))
            .build()
            .unwrap()
    };
    let answer = ok(ddb
        .batch_execute_statement()
        .statements(batch(
            format!("INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': ?, 'v': ?}}"),
            vec![s("p"), n(24), n(240)],
        ))
        .statements(batch(
            format!("UPDATE \"{table}\" SET v = ? WHERE pk = ? AND sk = ?"),
            vec![n(100), s("p"), n(0)],
        ))
        .statements(batch(
            format!("DELETE FROM \"{table}\" WHERE pk = ? AND sk = ?"),
            vec![s("p"), n(20)],
        ))
        .send()
        .await);
    for response in answer.responses() {
        assert!(response.error().is_none(), "{response:?}");
    }
    model.insert(24, item(&[("pk", s("p")), ("sk", n(24)), ("v", n(240))]));
    model.get_mut(&0).unwrap().insert("v".into(), n(100));
    model.remove(&20);
    check(&store, &ddb, &table, &model, "BatchExecuteStatement").await;

    // UpdateItem moving an item from GSI partition "gb" to "ga" (both were just cached by
    // `check`), and changing its LSI sort key.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key_of(1)))
        .update_expression("SET g = :g, l = :l")
        .expression_attribute_values(":g", s("ga"))
        .expression_attribute_values(":l", n(1))
        .send()
        .await);
    let m = model.get_mut(&1).unwrap();
    m.insert("g".into(), s("ga"));
    m.insert("l".into(), n(1));
    check(
        &store,
        &ddb,
        &table,
        &model,
        "UpdateItem moving an item between GSI partitions",
    )
    .await;

    // UpdateItem changing only an LSI sort key.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key_of(5)))
        .update_expression("SET l = :l")
        .expression_attribute_values(":l", n(2000))
        .send()
        .await);
    model.get_mut(&5).unwrap().insert("l".into(), n(2000));
    check(&store, &ddb, &table, &model, "UpdateItem of an LSI key").await;

    // The untouched partition is still right.
    assert_eq!(
        Query::partition(&ddb, &table, "o").items().await,
        vec![other]
    );
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn expired_items_leave_cached_partitions() {
    let store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_TTL_SWEEP_INTERVAL".into(), "500ms".into())],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("pcttl");
    create_hash_range_table(&ddb, &table).await;
    let t = now();
    let mut model = Model::new();
    for sk in 0..6 {
        let mut it = item(&[("pk", s("p")), ("sk", n(sk)), ("v", n(sk))]);
        let exp = match sk {
            2 => Some(t - 60),
            4 => Some(t + 86_400),
            _ => None,
        };
        if let Some(exp) = exp {
            it.insert("exp".into(), n(exp));
        }
        put_item(&ddb, &table, it.clone()).await;
        model.insert(sk, it);
    }
    // Cached before TTL is on, so the expired item is surely in it (as DynamoDB returns an
    // expired item until it is deleted).
    let all: Vec<Item> = model.values().cloned().collect();
    let before = hits(&store).await;
    for _ in 0..3 {
        assert_eq!(Query::partition(&ddb, &table, "p").items().await, all);
    }
    assert!(hits(&store).await > before, "the partition was not cached");

    enable_ttl(&ddb, &table, "exp").await;
    let gone = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { !sort_keys(&Query::partition(&ddb, &table, "p").items().await).contains(&2) },
    )
    .await;
    let get = ok(ddb
        .get_item()
        .table_name(&table)
        .set_key(Some(item(&[("pk", s("p")), ("sk", n(2))])))
        .consistent_read(true)
        .send()
        .await);
    assert!(
        gone,
        "Query still returns the expired item after 30 s; GetItem returns {:?}",
        get.item()
    );
    model.remove(&2);
    let all: Vec<Item> = model.values().cloned().collect();
    let q = || Query::partition(&ddb, &table, "p");
    assert_eq!(q().items().await, all);
    assert_eq!(
        q().limit(2).backward().items().await,
        all.into_iter().rev().collect::<Vec<_>>()
    );
    assert!(get.item().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_follow_writes_while_readers_fill_the_cache() {
    const ITEMS: i64 = 8;
    const ROUNDS: i64 = 150;
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("pcrace");
    create_hash_range_table(&ddb, &table).await;
    for sk in 0..ITEMS {
        put_item(
            &ddb,
            &table,
            item(&[("pk", s("p")), ("sk", n(sk)), ("v", n(0))]),
        )
        .await;
    }
    let started = Instant::now();
    let table: Arc<str> = table.into();
    let done = Arc::new(AtomicBool::new(false));

    let mut writers = Vec::new();
    for sk in 0..ITEMS {
        let (ddb, table) = (ddb.clone(), Arc::clone(&table));
        writers.push(tokio::spawn(async move {
            for k in 1..=ROUNDS {
                ok(ddb
                    .update_item()
                    .table_name(&*table)
                    .key("pk", s("p"))
                    .key("sk", n(sk))
                    .update_expression("SET v = :k")
                    .expression_attribute_values(":k", n(k))
                    .send()
                    .await);
                let got = Query::partition(&ddb, &table, "p").items().await;
                assert_eq!(sort_keys(&got), (0..ITEMS).collect::<Vec<_>>());
                let v = num(&got[sk as usize], "v");
                assert!(v >= k, "item {sk}: a Query after SET v = {k} read v = {v}");
            }
        }));
    }
    let mut readers = Vec::new();
    for reader in 0..3 {
        let (ddb, table, done) = (ddb.clone(), Arc::clone(&table), Arc::clone(&done));
        readers.push(tokio::spawn(async move {
            let mut seen = [0; ITEMS as usize];
            let mut reads = 0;
            while !done.load(Ordering::Acquire) {
                let mut q = Query::partition(&ddb, &table, "p");
                if reads % 2 == 1 {
                    q = q.limit(3);
                }
                let got = q.items().await;
                assert_eq!(sort_keys(&got), (0..ITEMS).collect::<Vec<_>>());
                for (sk, it) in got.iter().enumerate() {
                    let v = num(it, "v");
                    assert!(
                        v >= seen[sk],
                        "reader {reader}, read {reads}: item {sk} went back from {} to {v}",
                        seen[sk]
                    );
                    seen[sk] = v;
                }
                reads += 1;
            }
            reads
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::Release);
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.unwrap();
    }
    let got = Query::partition(&ddb, &table, "p").items().await;
    for (sk, it) in got.iter().enumerate() {
        assert_eq!(num(it, "v"), ROUNDS, "item {sk}");
    }
    assert_eq!(got.len(), ITEMS as usize);
    let hits = hits(&store).await;
    assert!(hits > 0.0, "no Query was answered from the cache");
    eprintln!(
        "{} writes, {reads} reader Queries, {hits} hits in {:?}",
        ITEMS * ROUNDS,
        started.elapsed()
    );
}

/// Checks the partition "big" of `table` against `model`, read whole, in pages of 40 both
/// ways and with a sort-key condition.
async fn check_large(ddb: &Client, table: &str, model: &Model, after: &str) {
    let all: Vec<Item> = model.values().cloned().collect();
    let reversed: Vec<Item> = all.iter().rev().cloned().collect();
    let q = || Query::partition(ddb, table, "big");
    let got = q().items().await;
    assert_eq!(got, all, "after {after}: whole {:?}", sort_keys(&got));
    assert_eq!(q().items().await, all, "after {after}: whole again");
    let got = q().limit(40).items().await;
    assert_eq!(got, all, "after {after}: pages of 40 {:?}", sort_keys(&got));
    let got = q().limit(40).backward().items().await;
    assert_eq!(got, reversed, "after {after}: pages of 40 backward");
    let want: Vec<Item> = model.range(50..=99).map(|(_, i)| i.clone()).collect();
    let got = q()
        .condition("pk = :p AND sk BETWEEN :a AND :b")
        .value(":a", n(50))
        .value(":b", n(99))
        .items()
        .await;
    assert_eq!(got, want, "after {after}: BETWEEN {:?}", sort_keys(&got));
}

#[tokio::test]
async fn partitions_too_large_to_cache_are_read_correctly() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let endpoint = store.endpoint();
    let table = unique_name("pclarge");
    create_hash_range_table(&ddb, &table).await;
    let padding = "x".repeat(1000);
    let mut model = Model::new();
    let sks: Vec<i64> = (0..150).collect();
    for chunk in sks.chunks(25) {
        let mut requests = Vec::new();
        for &sk in chunk {
            let it = item(&[("pk", s("big")), ("sk", n(sk)), ("xpad", s(&padding))]);
            requests.push(batch_put(it.clone()));
            model.insert(sk, it);
        }
        batch_write_all(&ddb, &table, requests).await;
    }
    let assert_uncached = || async {
        let text = metrics_text(&endpoint).await;
        assert_eq!(metric_in(&text, PARTITIONS), 0.0, "{}", cache_lines(&text));
        assert_eq!(metric_in(&text, HITS), 0.0, "{}", cache_lines(&text));
    };
    check_large(&ddb, &table, &model, "the puts").await;
    assert_uncached().await;

    for sk in [0, 41, 80, 149] {
        ok(ddb
            .update_item()
            .table_name(&table)
            .key("pk", s("big"))
            .key("sk", n(sk))
            .update_expression("SET xpad = :p, v = :v")
            .expression_attribute_values(":p", s("short"))
            .expression_attribute_values(":v", n(sk))
            .send()
            .await);
        let m = model.get_mut(&sk).unwrap();
        m.insert("xpad".into(), s("short"));
        m.insert("v".into(), n(sk));
    }
    for sk in [1, 39, 40, 75, 148] {
        ok(ddb
            .delete_item()
            .table_name(&table)
            .key("pk", s("big"))
            .key("sk", n(sk))
            .send()
            .await);
        model.remove(&sk);
    }
    check_large(&ddb, &table, &model, "updates and deletes").await;
    assert_uncached().await;

    // A small partition is cached, and a write to it drops it.
    let small: Vec<Item> = (0..3)
        .map(|sk| item(&[("pk", s("small")), ("sk", n(sk))]))
        .collect();
    for it in &small {
        put_item(&ddb, &table, it.clone()).await;
    }
    // The first whole read is remembered, the second in a row fills the cache.
    assert_eq!(Query::partition(&ddb, &table, "small").items().await, small);
    let text = metrics_text(&endpoint).await;
    assert_eq!(metric_in(&text, PARTITIONS), 0.0, "{}", cache_lines(&text));
    assert_eq!(Query::partition(&ddb, &table, "small").items().await, small);
    let text = metrics_text(&endpoint).await;
    assert_eq!(metric_in(&text, PARTITIONS), 1.0, "{}", cache_lines(&text));
    assert!(metric_in(&text, BYTES) > 0.0, "{}", cache_lines(&text));
    assert_eq!(Query::partition(&ddb, &table, "small").items().await, small);
    assert!(metric(&endpoint, HITS).await > 0.0);
    put_item(
        &ddb,
        &table,
        item(&[("pk", s("small")), ("sk", n(0)), ("v", n(1))]),
    )
    .await;
    let text = metrics_text(&endpoint).await;
    assert_eq!(metric_in(&text, PARTITIONS), 0.0, "{}", cache_lines(&text));
    let got = Query::partition(&ddb, &table, "small").items().await;
    assert_eq!(got[0].get("v"), Some(&n(1)));
    assert_eq!(got.len(), 3);
}

#[tokio::test]
async fn with_the_cache_off_nothing_is_cached() {
    let store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_PARTITION_CACHE_MB".into(), "0".into())],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("pcoff");
    create_hash_range_table(&ddb, &table).await;
    let mut model = Model::new();
    for sk in 0..5 {
        let it = item(&[("pk", s("p")), ("sk", n(sk)), ("v", n(sk))]);
        put_item(&ddb, &table, it.clone()).await;
        model.insert(sk, it);
    }
    let q = || Query::partition(&ddb, &table, "p");
    for round in 0..4 {
        let all: Vec<Item> = model.values().cloned().collect();
        assert_eq!(q().items().await, all, "round {round}");
        assert_eq!(q().limit(2).items().await, all, "round {round}, pages of 2");
        let it = item(&[("pk", s("p")), ("sk", n(round)), ("v", n(100 + round))]);
        put_item(&ddb, &table, it.clone()).await;
        model.insert(round, it);
    }
    let all: Vec<Item> = model.values().cloned().collect();
    assert_eq!(q().items().await, all);
    let text = metrics_text(&store.endpoint()).await;
    assert_eq!(metric_in(&text, HITS), 0.0, "{}", cache_lines(&text));
    assert_eq!(metric_in(&text, PARTITIONS), 0.0, "{}", cache_lines(&text));
    assert_eq!(metric_in(&text, BYTES), 0.0, "{}", cache_lines(&text));
}
