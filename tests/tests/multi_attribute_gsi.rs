//! Global secondary indexes with multi-attribute keys (DynamoDB, 2025) end to end with
//! aws-sdk-dynamodb: a GSI's KeySchema may name up to four HASH attributes followed by up to
//! four RANGE attributes. Shown here: CreateTable, UpdateTable and DescribeTable echo such a
//! key schema in order; the index orders its entries by the RANGE attributes in schema order,
//! compared one after another (numbers by value); an item missing any key attribute is not in
//! it; a Query must give an equality on every HASH attribute and on a gapless prefix of the
//! RANGE attributes, with a range condition allowed on the last one named only (exact
//! DynamoDB error texts); pages of a Query or a Scan resume from a LastEvaluatedKey holding
//! the table key and every index key attribute; KEYS_ONLY projects exactly those; writes move
//! entries and drop them; a wrong-typed key attribute is refused; UpdateTable backfills such
//! an index; the table's own key (and an LSI's) stays at one HASH and one RANGE attribute; and
//! the index answers the same after a restart.
//!
//! The fixture items and the expected orders and messages of the first tests are DynamoDB's
//! own, as captured against AWS by the paritysuite conformance test
//! `tests/tier1/query/multiAttributeGsiKey.test.ts`.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, LocalSecondaryIndex,
    ProjectionType, ScalarAttributeType, TableDescription,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

type Item = HashMap<String, AttributeValue>;

/// The fixture's GSI: HASH h, then RANGE a, b, c, d; projects ALL.
const GSI: &str = "gsi";
/// A second GSI over the same items, keyed by h, then d and c (another order); KEYS_ONLY.
const BY_D: &str = "by_d";
/// The two-HASH GSI of [`two_hash_table`]. (Index names have at least 3 characters.)
const TR: &str = "by_tr";
/// No walk over these few items takes more pages; more means the pages do not advance.
const MAX_PAGES: usize = 50;

/// A key schema: `hashes` as HASH elements, then `ranges` as RANGE elements, in order.
fn key_schema(hashes: &[&str], ranges: &[&str]) -> Vec<KeySchemaElement> {
    hashes
        .iter()
        .map(|name| key_element(name, KeyType::Hash))
        .chain(ranges.iter().map(|name| key_element(name, KeyType::Range)))
        .collect()
}

/// A GSI `name` keyed by `schema` (in that order), projecting `kind`.
fn multi_gsi(
    name: &str,
    schema: Vec<KeySchemaElement>,
    kind: ProjectionType,
) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(schema))
        .projection(projection(kind, &[]))
        .build()
        .unwrap()
}

fn gsi_schema() -> Vec<KeySchemaElement> {
    key_schema(&["h"], &["a", "b", "c", "d"])
}

fn by_d_schema() -> Vec<KeySchemaElement> {
    key_schema(&["h"], &["d", "c"])
}

/// The key schema a table description gives for its GSI `index`.
fn described_schema(table: &TableDescription, index: &str) -> Vec<KeySchemaElement> {
    table
        .global_secondary_indexes()
        .iter()
        .find(|gsi| gsi.index_name() == Some(index))
        .unwrap_or_else(|| panic!("no GSI {index} in {table:?}"))
        .key_schema()
        .to_vec()
}

/// The conformance items: (pk, a, b, c, d), each with h = "o1" and a `note` that is no
/// index's key. p6 has no c, so neither index holds it.
const ROWS: [(&str, &str, &str, Option<&str>, &str); 6] = [
    ("p1", "T", "live", Some("b"), "r1"),
    ("p2", "T", "live", Some("a"), "r2"),
    ("p3", "T", "live", Some("a"), "r1"),
    ("p4", "T", "draft", Some("c"), "r1"),
    ("p5", "F", "live", Some("a"), "r0"),
    ("p6", "T", "live", None, "r1"),
];

fn row(pk: &str, a: &str, b: &str, c: Option<&str>, d: &str) -> Item {
    let mut it = item(&[
        ("pk", s(pk)),
        ("h", s("o1")),
        ("a", s(a)),
        ("b", s(b)),
        ("d", s(d)),
        ("note", s(&format!("note of {pk}"))),
    ]);
    if let Some(c) = c {
        it.insert("c".into(), s(c));
    }
    it
}

/// A table keyed by `pk` alone with the GSIs [`GSI`] and [`BY_D`], holding [`ROWS`]; also
/// the description CreateTable answered.
async fn fixture_table(ddb: &Client) -> (String, TableDescription) {
    let name = unique_name("mgsi");
    let mut request = ddb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .global_secondary_indexes(multi_gsi(GSI, gsi_schema(), ProjectionType::All))
        .global_secondary_indexes(multi_gsi(BY_D, by_d_schema(), ProjectionType::KeysOnly));
    for attr in ["pk", "h", "a", "b", "c", "d"] {
        request = request.attribute_definitions(attribute_definition(attr, ScalarAttributeType::S));
    }
    let created = ok(request.send().await);
    wait_table_active(ddb, &name).await;
    for (pk, a, b, c, d) in ROWS {
        put_item(ddb, &name, row(pk, a, b, c, d)).await;
    }
    (name, created.table_description.unwrap())
}

/// The fixture's expression values. A query passes only those its condition names:
/// DynamoDB refuses unused ones.
fn fixture_values() -> Vec<(&'static str, AttributeValue)> {
    vec![
        (":h", s("o1")),
        (":a", s("T")),
        (":b", s("live")),
        (":c", s("a")),
        (":d", s("r")),
        (":x", s("r1")),
        (":y", s("r1")),
    ]
}

/// Whether `condition` names the value `placeholder` (as a whole token, so `:n1` is not
/// taken for `:n`).
fn names_value(condition: &str, placeholder: &str) -> bool {
    condition.match_indices(placeholder).any(|(at, _)| {
        !condition[at + placeholder.len()..]
            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// A Query of `index` with `condition`, given those of `values` it names.
fn query_of(
    ddb: &Client,
    table: &str,
    index: &str,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> QueryFluentBuilder {
    let mut request = ddb
        .query()
        .table_name(table)
        .index_name(index)
        .key_condition_expression(condition);
    for (placeholder, value) in values {
        if names_value(condition, placeholder) {
            request = request.expression_attribute_values(*placeholder, value.clone());
        }
    }
    request
}

/// The `pk`s of `items`, in order.
fn pks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|it| match it.get("pk") {
            Some(AttributeValue::S(pk)) => pk.clone(),
            other => panic!("item without a string pk: {other:?}"),
        })
        .collect()
}

/// An item's attribute names, sorted.
fn names(it: &Item) -> Vec<String> {
    let mut v: Vec<String> = it.keys().cloned().collect();
    v.sort();
    v
}

/// The `pk`s a Query of `index` with `condition` (and the values of `values` it names)
/// answers, in order.
async fn query_pks(
    ddb: &Client,
    table: &str,
    index: &str,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> Vec<String> {
    let out = query_of(ddb, table, index, condition, values).send().await;
    match out {
        Ok(out) => pks(out.items()),
        Err(e) => panic!("Query {condition}: {}", DisplayErrorContext(&e)),
    }
}

/// [`query_pks`] on the fixture's [`GSI`] with the fixture's values.
async fn fixture_query(ddb: &Client, table: &str, condition: &str) -> Vec<String> {
    query_pks(ddb, table, GSI, condition, &fixture_values()).await
}

/// Follows a read's pages, `fetch` reading the page after a start key (its items and its
/// LastEvaluatedKey): the `pk`s in order, and the sorted attribute names of every
/// LastEvaluatedKey handed out.
async fn walk<F, Fut>(what: &str, mut fetch: F) -> (Vec<String>, Vec<Vec<String>>)
where
    F: FnMut(Option<Item>) -> Fut,
    Fut: std::future::Future<Output = (Vec<Item>, Option<Item>)>,
{
    let (mut seen, mut keys) = (Vec::new(), Vec::new());
    let mut start = None;
    for _ in 0..MAX_PAGES {
        let (items, last) = fetch(start.take()).await;
        seen.extend(pks(&items));
        match last {
            Some(key) => {
                keys.push(names(&key));
                start = Some(key);
            }
            None => return (seen, keys),
        }
    }
    panic!("the {what} did not end within {MAX_PAGES} pages; seen so far: {seen:?}");
}

/// [`walk`] through a Query's pages, `limit` items at a time.
async fn walk_query(request: QueryFluentBuilder, limit: i32) -> (Vec<String>, Vec<Vec<String>>) {
    walk("Query", |start| {
        let page = request.clone().limit(limit).set_exclusive_start_key(start);
        async move {
            let page = ok(page.send().await);
            (page.items.unwrap_or_default(), page.last_evaluated_key)
        }
    })
    .await
}

/// [`walk`] through a Scan's pages, `limit` items at a time.
async fn walk_scan(request: ScanFluentBuilder, limit: i32) -> (Vec<String>, Vec<Vec<String>>) {
    walk("Scan", |start| {
        let page = request.clone().limit(limit).set_exclusive_start_key(start);
        async move {
            let page = ok(page.send().await);
            (page.items.unwrap_or_default(), page.last_evaluated_key)
        }
    })
    .await
}

#[tokio::test]
async fn range_attributes_order_the_index_and_narrow_queries() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, created) = fixture_table(&ddb).await;

    // CreateTable and DescribeTable give every key element back, in the order given; the
    // table's own key is untouched.
    assert_eq!(described_schema(&created, GSI), gsi_schema());
    assert_eq!(described_schema(&created, BY_D), by_d_schema());
    let described = describe(&ddb, &table).await;
    assert_eq!(described_schema(&described, GSI), gsi_schema());
    assert_eq!(described_schema(&described, BY_D), by_d_schema());
    assert_eq!(described.key_schema(), [key_element("pk", KeyType::Hash)]);

    // Ordered by a, then b, then c, then d; p6 (no c) is not in the index.
    let cases: [(&str, &[&str]); 10] = [
        ("h = :h", &["p5", "p4", "p3", "p2", "p1"]),
        ("h = :h AND a = :a", &["p4", "p3", "p2", "p1"]),
        ("h = :h AND a = :a AND b = :b", &["p3", "p2", "p1"]),
        ("h = :h AND a = :a AND b = :b AND c = :c", &["p3", "p2"]),
        // A range condition on the last attribute named.
        ("h = :h AND a = :a AND b = :b AND c > :c", &["p1"]),
        (
            "h = :h AND a = :a AND b = :b AND c = :c AND begins_with(d, :d)",
            &["p3", "p2"],
        ),
        (
            "h = :h AND a = :a AND b = :b AND c = :c AND d BETWEEN :x AND :y",
            &["p3"],
        ),
        ("h = :h AND a = :a AND b < :b", &["p4"]),
        // The clauses may come in any order.
        ("b = :b AND h = :h AND a = :a", &["p3", "p2", "p1"]),
        ("c = :c AND a = :a AND b = :b AND h = :h", &["p3", "p2"]),
    ];
    for (condition, expected) in cases {
        assert_eq!(
            fixture_query(&ddb, &table, condition).await,
            expected,
            "{condition}"
        );
    }
    let backwards = ok(
        query_of(&ddb, &table, GSI, "h = :h AND a = :a", &fixture_values())
            .scan_index_forward(false)
            .send()
            .await,
    );
    assert_eq!(pks(backwards.items()), ["p1", "p2", "p3", "p4"]);

    // An ALL projection answers whole items.
    let whole = ok(query_of(
        &ddb,
        &table,
        GSI,
        "h = :h AND a = :a AND b = :b AND c = :c AND d BETWEEN :x AND :y",
        &fixture_values(),
    )
    .send()
    .await);
    assert_eq!(
        whole.items(),
        [row("p3", "T", "live", Some("a"), "r1")].as_slice()
    );

    // The other index over the same attributes orders by d, then c.
    let values = fixture_values();
    assert_eq!(
        query_pks(&ddb, &table, BY_D, "h = :h", &values).await,
        ["p5", "p3", "p1", "p4", "p2"]
    );
    assert_eq!(
        query_pks(&ddb, &table, BY_D, "h = :h AND d = :x AND c > :c", &values).await,
        ["p1", "p4"]
    );
}

#[tokio::test]
async fn key_conditions_need_equalities_on_a_prefix_of_the_range_attributes() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, _) = fixture_table(&ddb).await;
    let refused = |before: &str, at: &str| {
        format!(
            "RANGE key attributes {before} must have equality conditions specified in the query \
             because a condition is present on key attribute {at}"
        )
    };
    let cases = [
        // A gap: c without b.
        ("h = :h AND a = :a AND c = :c", refused("b", "c")),
        // A range condition before the last attribute named.
        ("h = :h AND a = :a AND b > :b AND c = :c", refused("b", "c")),
        // The first RANGE attribute skipped.
        ("h = :h AND b = :b", refused("a", "b")),
        // No HASH equality at all.
        (
            "a = :a",
            "Query condition missed key schema element: h".to_string(),
        ),
    ];
    for (condition, message) in cases {
        let answer = query_of(&ddb, &table, GSI, condition, &fixture_values())
            .send()
            .await;
        let err = assert_api_error(answer, "ValidationException", None);
        assert_eq!(err.message(), Some(message.as_str()), "{condition}");
    }
}

#[tokio::test]
async fn pages_and_keys_only_entries_carry_every_index_key_attribute() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, _) = fixture_table(&ddb).await;
    let by_a = query_of(&ddb, &table, GSI, "h = :h AND a = :a", &fixture_values());

    // A page's LastEvaluatedKey is the table key and every index key of its last item.
    let page = ok(by_a.clone().limit(2).send().await);
    assert_eq!(pks(page.items()), ["p4", "p3"]);
    let last = page
        .last_evaluated_key
        .expect("a page cut by Limit has a key");
    assert_eq!(names(&last), ["a", "b", "c", "d", "h", "pk"]);
    let mut p3_key = row("p3", "T", "live", Some("a"), "r1");
    p3_key.remove("note");
    assert_eq!(last, p3_key);

    // Resuming from each key, a page at a time, visits every item once, in order, both ways.
    let all_keys = vec!["a", "b", "c", "d", "h", "pk"];
    let (seen, keys) = walk_query(by_a.clone(), 1).await;
    assert_eq!(seen, ["p4", "p3", "p2", "p1"]);
    assert!(keys.iter().all(|k| *k == all_keys), "{keys:?}");
    let (seen, _) = walk_query(by_a.scan_index_forward(false), 1).await;
    assert_eq!(seen, ["p1", "p2", "p3", "p4"]);

    // KEYS_ONLY projects the table key and every index key attribute: for by_d that is
    // h, d and c, not a, b or note.
    let keys_only = ok(query_of(&ddb, &table, BY_D, "h = :h", &fixture_values())
        .send()
        .await);
    assert_eq!(pks(keys_only.items()), ["p5", "p3", "p1", "p4", "p2"]);
    assert!(
        keys_only
            .items()
            .iter()
            .all(|it| names(it) == ["c", "d", "h", "pk"]),
        "{:?}",
        keys_only.items()
    );
    assert_eq!(
        keys_only.items()[1],
        item(&[
            ("pk", s("p3")),
            ("h", s("o1")),
            ("d", s("r1")),
            ("c", s("a"))
        ])
    );

    // A Scan of each index, a few entries a page: every key it hands out holds the table
    // key and that index's key attributes, and the walk sees each indexed item once.
    for (index, index_keys, size) in [
        (GSI, all_keys.clone(), 2),
        (BY_D, vec!["c", "d", "h", "pk"], 2),
        (GSI, all_keys.clone(), 1),
    ] {
        let scan = ddb.scan().table_name(&table).index_name(index);
        let (mut seen, keys) = walk_scan(scan, size).await;
        assert!(
            !keys.is_empty(),
            "a Scan of {index} with Limit {size} was one page"
        );
        assert!(keys.iter().all(|k| *k == index_keys), "{index}: {keys:?}");
        seen.sort();
        assert_eq!(seen, ["p1", "p2", "p3", "p4", "p5"], "Scan of {index}");
    }
}

#[tokio::test]
async fn writes_move_index_entries_and_drop_them() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, _) = fixture_table(&ddb).await;
    let set = |pk: &str, attr: &str, value: &str| {
        ddb.update_item()
            .table_name(&table)
            .key("pk", s(pk))
            .update_expression("SET #k = :v")
            .expression_attribute_names("#k", attr)
            .expression_attribute_values(":v", s(value))
            .send()
    };
    let live = "h = :h AND a = :a AND b = :b";
    assert_eq!(fixture_query(&ddb, &table, live).await, ["p3", "p2", "p1"]);

    // A new value of a RANGE attribute moves the entry: p3's c goes from "a" to "z".
    ok(set("p3", "c", "z").await);
    assert_eq!(fixture_query(&ddb, &table, live).await, ["p2", "p1", "p3"]);
    let moved = ok(query_of(
        &ddb,
        &table,
        GSI,
        "h = :h AND a = :a AND b = :b AND c > :c",
        &fixture_values(),
    )
    .send()
    .await);
    assert_eq!(
        moved.items(),
        [
            row("p1", "T", "live", Some("b"), "r1"),
            row("p3", "T", "live", Some("z"), "r1"),
        ]
        .as_slice()
    );
    // The last missing key attribute given, p6 enters the index.
    ok(set("p6", "c", "m").await);
    assert_eq!(
        fixture_query(&ddb, &table, live).await,
        ["p2", "p1", "p6", "p3"]
    );
    // A key attribute removed, p2 leaves it.
    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("p2"))
        .update_expression("REMOVE c")
        .send()
        .await);
    assert_eq!(
        fixture_query(&ddb, &table, "h = :h").await,
        ["p5", "p4", "p1", "p6", "p3"]
    );
    // A new HASH value moves p4 to another partition.
    ok(set("p4", "h", "o2").await);
    assert_eq!(
        fixture_query(&ddb, &table, "h = :h").await,
        ["p5", "p1", "p6", "p3"]
    );
    assert_eq!(
        query_pks(&ddb, &table, GSI, "h = :h", &[(":h", s("o2"))]).await,
        ["p4"]
    );
    // A PutItem replacing p1 moves it from live to draft.
    put_item(&ddb, &table, row("p1", "T", "draft", Some("b"), "r1")).await;
    assert_eq!(fixture_query(&ddb, &table, live).await, ["p6", "p3"]);
    assert_eq!(
        fixture_query(&ddb, &table, "h = :h AND a = :a AND b < :b").await,
        ["p1"]
    );
    // A DeleteItem takes the entry out.
    ok(ddb
        .delete_item()
        .table_name(&table)
        .key("pk", s("p6"))
        .send()
        .await);
    assert_eq!(fixture_query(&ddb, &table, live).await, ["p3"]);
    assert_eq!(
        fixture_query(&ddb, &table, "h = :h").await,
        ["p5", "p1", "p3"]
    );
    // The KEYS_ONLY index over the same attributes followed every write too.
    assert_eq!(
        query_pks(&ddb, &table, BY_D, "h = :h", &fixture_values()).await,
        ["p5", "p1", "p3"]
    );
}

/// A table keyed by `pk` alone with the GSI [`TR`]: HASH t and r (strings), RANGE n1 and
/// n2 (numbers), projecting ALL.
async fn two_hash_table(ddb: &Client) -> String {
    let name = unique_name("mgsi2h");
    let definitions = [
        ("pk", ScalarAttributeType::S),
        ("t", ScalarAttributeType::S),
        ("r", ScalarAttributeType::S),
        ("n1", ScalarAttributeType::N),
        ("n2", ScalarAttributeType::N),
    ];
    let mut request = ddb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .global_secondary_indexes(multi_gsi(
            TR,
            key_schema(&["t", "r"], &["n1", "n2"]),
            ProjectionType::All,
        ));
    for (attr, ty) in definitions {
        request = request.attribute_definitions(attribute_definition(attr, ty));
    }
    ok(request.send().await);
    wait_table_active(ddb, &name).await;
    name
}

#[tokio::test]
async fn two_hash_attributes_make_the_partition_and_numbers_order_by_value() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = two_hash_table(&ddb).await;
    // (pk, t, r, n1, n2). As strings "10" < "9" and "-12" < "-19"; by value it is the other
    // way round, and DynamoDB orders numbers by value.
    let rows: [(&str, &str, &str, &str, Option<&str>); 9] = [
        ("q1", "x", "1", "10", Some("0")),
        ("q2", "x", "1", "9", Some("10")),
        ("q3", "x", "1", "-12", Some("0")),
        ("q4", "x", "1", "9", Some("9")),
        ("q5", "x", "2", "0", Some("0")),
        ("q6", "y", "1", "1", Some("1")),
        ("q7", "x", "1", "-19", Some("0")),
        ("q8", "x", "1", "0", Some("0.5")),
        // No n2: not in the index.
        ("q9", "x", "1", "1", None),
    ];
    for (pk, t, r, n1, n2) in rows {
        let mut it = item(&[("pk", s(pk)), ("t", s(t)), ("r", s(r)), ("n1", n(n1))]);
        if let Some(n2) = n2 {
            it.insert("n2".into(), n(n2));
        }
        put_item(&ddb, &table, it).await;
    }
    let values = [
        (":t", s("x")),
        (":r", s("1")),
        (":n1", n(9)),
        (":n2", n(9)),
        (":lo", n(-15)),
        (":hi", n(9)),
    ];
    let cases: [(&str, &[&str]); 6] = [
        ("t = :t AND r = :r", &["q7", "q3", "q8", "q4", "q2", "q1"]),
        ("r = :r AND t = :t", &["q7", "q3", "q8", "q4", "q2", "q1"]),
        ("t = :t AND r = :r AND n1 = :n1", &["q4", "q2"]),
        ("t = :t AND r = :r AND n1 = :n1 AND n2 > :n2", &["q2"]),
        (
            "t = :t AND r = :r AND n1 BETWEEN :lo AND :hi",
            &["q3", "q8", "q4", "q2"],
        ),
        ("t = :t AND r = :r AND n1 < :n1", &["q7", "q3", "q8"]),
    ];
    for (condition, expected) in cases {
        assert_eq!(
            query_pks(&ddb, &table, TR, condition, &values).await,
            expected,
            "{condition}"
        );
    }
    let backwards = ok(query_of(&ddb, &table, TR, "t = :t AND r = :r", &values)
        .scan_index_forward(false)
        .send()
        .await);
    assert_eq!(pks(backwards.items()), ["q1", "q2", "q4", "q8", "q3", "q7"]);

    // Same t, another r: another partition, and the other way round.
    let other_r = [(":t", s("x")), (":r", s("2"))];
    assert_eq!(
        query_pks(&ddb, &table, TR, "t = :t AND r = :r", &other_r).await,
        ["q5"]
    );
    let other_t = [(":t", s("y")), (":r", s("1"))];
    assert_eq!(
        query_pks(&ddb, &table, TR, "t = :t AND r = :r", &other_t).await,
        ["q6"]
    );

    // Pages resume from keys holding both HASH and both RANGE attributes.
    let partition = query_of(&ddb, &table, TR, "t = :t AND r = :r", &values);
    let (seen, keys) = walk_query(partition, 2).await;
    assert_eq!(seen, ["q7", "q3", "q8", "q4", "q2", "q1"]);
    assert!(
        keys.iter().all(|k| *k == ["n1", "n2", "pk", "r", "t"]),
        "{keys:?}"
    );

    // Every HASH attribute needs an equality.
    assert_api_error(
        query_of(&ddb, &table, TR, "t = :t", &values).send().await,
        "ValidationException",
        Some("Query condition missed key schema element: r"),
    );
    assert_api_error(
        query_of(&ddb, &table, TR, "t = :t AND r > :r", &values)
            .send()
            .await,
        "ValidationException",
        Some("Query key condition not supported"),
    );
}

#[tokio::test]
async fn index_key_attributes_of_the_wrong_type_are_refused() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = two_hash_table(&ddb).await;
    let good = item(&[
        ("pk", s("k")),
        ("t", s("x")),
        ("r", s("1")),
        ("n1", n(1)),
        ("n2", n(2)),
    ]);
    let with = |attr: &str, value: AttributeValue| {
        let mut it = good.clone();
        it.insert(attr.into(), value);
        ddb.put_item().table_name(&table).set_item(Some(it)).send()
    };

    // A RANGE attribute (N) given as S, and a second HASH attribute (S) given as N.
    assert_validation_containing(
        with("n1", s("nine")).await,
        "Type mismatch for Index Key n1",
    );
    assert_validation_containing(with("r", n(1)).await, "Type mismatch for Index Key r");
    // Nothing was written.
    let got = ok(ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("k"))
        .consistent_read(true)
        .send()
        .await);
    assert_eq!(got.item, None);

    // An update giving a key attribute the wrong type is refused alike, the item unchanged.
    put_item(&ddb, &table, good.clone()).await;
    assert_validation_containing(
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("k"))
            .update_expression("SET n2 = :v")
            .expression_attribute_values(":v", s("two"))
            .send()
            .await,
        "Type mismatch for Index Key n2",
    );
    let got = ok(ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("k"))
        .consistent_read(true)
        .send()
        .await);
    assert_eq!(got.item, Some(good));
    let values = [(":t", s("x")), (":r", s("1"))];
    assert_eq!(
        query_pks(&ddb, &table, TR, "t = :t AND r = :r", &values).await,
        ["k"]
    );
}

#[tokio::test]
async fn a_multi_attribute_gsi_added_later_is_backfilled() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("mgsilate");
    create_hash_table(&ddb, &table).await;
    // 40 items in one index partition g = "G": x is a number from -5 to 5 (by value -5
    // comes first; as a string "-1" would) and y a distinct string. Every sixth item has
    // no y and stays out of the index.
    let mut expected: Vec<(i64, String, String)> = Vec::new();
    for i in 0..40_i64 {
        let pk = format!("i{i:02}");
        let x = (i * 7) % 11 - 5;
        let y = format!("y{:02}", (i * 13) % 40);
        let mut it = item(&[("pk", s(&pk)), ("g", s("G")), ("x", n(x))]);
        if i % 6 != 5 {
            it.insert("y".into(), s(&y));
            expected.push((x, y, pk));
        }
        put_item(&ddb, &table, it).await;
    }
    expected.sort();
    let expected_pks: Vec<String> = expected.iter().map(|(_, _, pk)| pk.clone()).collect();

    let schema = key_schema(&["g"], &["x", "y"]);
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name("late")
        .set_key_schema(Some(schema.clone()))
        .projection(projection(ProjectionType::All, &[]))
        .build()
        .unwrap();
    let updated = ok(ddb
        .update_table()
        .table_name(&table)
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("x", ScalarAttributeType::N))
        .attribute_definitions(attribute_definition("y", ScalarAttributeType::S))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(create).build(),
        )
        .send()
        .await);
    assert_eq!(
        described_schema(&updated.table_description.unwrap(), "late"),
        schema
    );

    // The backfill runs in the background: DescribeTable says ACTIVE once every item is in.
    let active = wait_until(
        Duration::from_secs(60),
        Duration::from_millis(50),
        || async {
            let table = describe(&ddb, &table).await;
            let index = table
                .global_secondary_indexes()
                .iter()
                .find(|gsi| gsi.index_name() == Some("late"))
                .expect("the new index is described");
            index.index_status() == Some(&IndexStatus::Active)
        },
    )
    .await;
    assert!(active, "the index did not become ACTIVE within 60 s");
    assert_eq!(
        described_schema(&describe(&ddb, &table).await, "late"),
        schema
    );

    // Every existing item with all three key attributes is found, ordered by x, then y,
    // a few per page.
    let values = [(":g", s("G")), (":x", n(0))];
    let (seen, keys) = walk_query(query_of(&ddb, &table, "late", "g = :g", &values), 7).await;
    assert_eq!(seen, expected_pks);
    assert!(keys.iter().all(|k| *k == ["g", "pk", "x", "y"]), "{keys:?}");
    let below_zero: Vec<String> = expected
        .iter()
        .filter(|(x, _, _)| *x < 0)
        .map(|(_, _, pk)| pk.clone())
        .collect();
    assert_eq!(
        query_pks(&ddb, &table, "late", "g = :g AND x < :x", &values).await,
        below_zero
    );

    // Writes after the backfill reach the index too.
    put_item(
        &ddb,
        &table,
        item(&[("pk", s("new")), ("g", s("G")), ("x", n(-6)), ("y", s("y"))]),
    )
    .await;
    let first = ok(query_of(&ddb, &table, "late", "g = :g", &values)
        .limit(1)
        .send()
        .await);
    assert_eq!(pks(first.items()), ["new"]);
}

#[tokio::test]
async fn only_gsis_take_multi_attribute_keys_within_their_limits() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    // A CreateTable of `table_schema` with the GSI (or LSI) given, every named attribute
    // defined (S), so that the key schema is the only thing wrong.
    let create = |name: &str,
                  table_schema: Vec<KeySchemaElement>,
                  gsi: Option<Vec<KeySchemaElement>>,
                  lsi: Option<Vec<KeySchemaElement>>| {
        let mut attrs: Vec<String> = Vec::new();
        for element in table_schema
            .iter()
            .chain(gsi.iter().flatten())
            .chain(lsi.iter().flatten())
        {
            let attr = element.attribute_name().to_string();
            if !attrs.contains(&attr) {
                attrs.push(attr);
            }
        }
        let mut request = ddb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(table_schema));
        for attr in &attrs {
            request =
                request.attribute_definitions(attribute_definition(attr, ScalarAttributeType::S));
        }
        if let Some(schema) = gsi {
            request =
                request.global_secondary_indexes(multi_gsi("wide", schema, ProjectionType::All));
        }
        if let Some(schema) = lsi {
            let index = LocalSecondaryIndex::builder()
                .index_name("lsi")
                .set_key_schema(Some(schema))
                .projection(projection(ProjectionType::All, &[]))
                .build()
                .unwrap();
            request = request.local_secondary_indexes(index);
        }
        request.send()
    };
    let pk = || key_schema(&["pk"], &[]);
    let refusals = [
        // The table's own key: one HASH and at most one RANGE attribute.
        (
            "three table key elements",
            key_schema(&["pk"], &["s1", "s2"]),
            None,
            None,
        ),
        (
            "two table HASH attributes",
            key_schema(&["pk", "p2"], &[]),
            None,
            None,
        ),
        // An LSI's key is the table's HASH attribute and one RANGE attribute.
        (
            "an LSI with two RANGE attributes",
            key_schema(&["pk"], &["sk"]),
            None,
            Some(key_schema(&["pk"], &["l1", "l2"])),
        ),
        // A GSI lists its HASH attributes first, at most four of each kind.
        (
            "a RANGE before a HASH",
            pk(),
            Some(vec![
                key_element("a", KeyType::Range),
                key_element("h", KeyType::Hash),
            ]),
            None,
        ),
        (
            "HASH, RANGE, HASH",
            pk(),
            Some(vec![
                key_element("h", KeyType::Hash),
                key_element("a", KeyType::Range),
                key_element("h2", KeyType::Hash),
            ]),
            None,
        ),
        (
            "five HASH attributes",
            pk(),
            Some(key_schema(&["h1", "h2", "h3", "h4", "h5"], &[])),
            None,
        ),
        (
            "five RANGE attributes",
            pk(),
            Some(key_schema(&["h"], &["r1", "r2", "r3", "r4", "r5"])),
            None,
        ),
    ];
    for (what, table_schema, gsi, lsi) in refusals {
        let name = unique_name("mgsibad");
        let answer = create(&name, table_schema, gsi, lsi).await;
        assert_create_refused(&ddb, &name, answer, what).await;
    }

    // Four of each is the most, and is taken; a Query names all four HASH attributes.
    let name = unique_name("mgsimax");
    let widest = key_schema(&["h1", "h2", "h3", "h4"], &["r1", "r2", "r3", "r4"]);
    let created = ok(create(&name, pk(), Some(widest.clone()), None).await);
    assert_eq!(
        described_schema(&created.table_description.unwrap(), "wide"),
        widest
    );
    wait_table_active(&ddb, &name).await;
    assert_eq!(
        described_schema(&describe(&ddb, &name).await, "wide"),
        widest
    );
    // Three items alike but for r4.
    for (pk_value, r4) in [("w1", "b"), ("w2", "a"), ("w3", "c")] {
        let mut it = item(&[("pk", s(pk_value)), ("r4", s(r4))]);
        for attr in ["h1", "h2", "h3", "h4", "r1", "r2", "r3"] {
            it.insert(attr.into(), s(&format!("{attr} value")));
        }
        put_item(&ddb, &name, it).await;
    }
    let values: Vec<(String, AttributeValue)> = ["h1", "h2", "h3", "h4", "r1", "r2", "r3"]
        .iter()
        .map(|attr| (format!(":{attr}"), s(&format!("{attr} value"))))
        .chain([(":r4".to_string(), s("a"))])
        .collect();
    let values: Vec<(&str, AttributeValue)> = values
        .iter()
        .map(|(p, v)| (p.as_str(), v.clone()))
        .collect();
    let hashes = "h1 = :h1 AND h2 = :h2 AND h3 = :h3 AND h4 = :h4";
    assert_eq!(
        query_pks(&ddb, &name, "wide", hashes, &values).await,
        ["w2", "w1", "w3"]
    );
    let last_range = format!("{hashes} AND r1 = :r1 AND r2 = :r2 AND r3 = :r3 AND r4 > :r4");
    assert_eq!(
        query_pks(&ddb, &name, "wide", &last_range, &values).await,
        ["w1", "w3"]
    );
}

#[tokio::test]
async fn a_multi_attribute_gsi_answers_the_same_after_a_restart() {
    let mut store = StoreProcess::spawn();
    let (table, before) = {
        let ddb = store.client();
        let (table, _) = fixture_table(&ddb).await;
        let before = fixture_query(&ddb, &table, "h = :h AND a = :a").await;
        assert_eq!(before, ["p4", "p3", "p2", "p1"]);
        (table, before)
    };
    let status = store.terminate();
    assert!(status.success(), "the store exited with {status}");
    store.restart();
    let ddb = store.client();

    // The catalog kept the whole key schema, and the entries their order.
    let described = describe(&ddb, &table).await;
    assert_eq!(described_schema(&described, GSI), gsi_schema());
    assert_eq!(described_schema(&described, BY_D), by_d_schema());
    assert_eq!(
        fixture_query(&ddb, &table, "h = :h AND a = :a").await,
        before
    );
    assert_eq!(
        fixture_query(&ddb, &table, "h = :h AND a = :a AND b = :b AND c > :c").await,
        ["p1"]
    );
    assert_eq!(
        query_pks(&ddb, &table, BY_D, "h = :h", &fixture_values()).await,
        ["p5", "p3", "p1", "p4", "p2"]
    );
    // Writes after the restart still maintain the index.
    put_item(&ddb, &table, row("p7", "T", "live", Some("a"), "r3")).await;
    assert_eq!(
        fixture_query(&ddb, &table, "h = :h AND a = :a AND b = :b AND c = :c").await,
        ["p3", "p2", "p7"]
    );
}

/// DynamoDB's PartiQL reads no index with a multi-attribute key: every SELECT of it is
/// refused with its words (the dynamodb-conformance suite's captures), in a batch only
/// that statement, while the table itself still reads and writes.
#[tokio::test]
async fn partiql_refuses_to_read_a_multi_attribute_index() {
    const REFUSED: &str = "PartiQL statements cannot be executed on tables with multi-attribute HASH keys or multi-attribute RANGE keys.";
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = two_hash_table(&ddb).await;
    let mut it = Item::new();
    for (name, value) in [("pk", "p1"), ("t", "a"), ("r", "x")] {
        it.insert(name.into(), AttributeValue::S(value.into()));
    }
    it.insert("n1".into(), AttributeValue::N("1".into()));
    it.insert("n2".into(), AttributeValue::N("2".into()));
    put_item(&ddb, &table, it).await;

    let index = format!("\"{table}\".\"{TR}\"");
    for statement in [
        format!("SELECT * FROM {index} WHERE t = 'a'"),
        format!("SELECT pk FROM {index} WHERE t = 'a' AND r = 'x' ORDER BY n1 DESC"),
        format!("SELECT * FROM {index}"),
    ] {
        let refused = ddb.execute_statement().statement(&statement).send().await;
        assert_api_error(refused, "ValidationException", Some(REFUSED));
    }
    let base = format!("SELECT * FROM \"{table}\" WHERE pk = 'p1'");
    let read = ok(ddb.execute_statement().statement(&base).send().await);
    assert_eq!(pks(read.items()), ["p1"]);

    let statement = |text: String| {
        aws_sdk_dynamodb::types::BatchStatementRequest::builder()
            .statement(text)
            .build()
            .unwrap()
    };
    let batch = ok(ddb
        .batch_execute_statement()
        .statements(statement(format!(
            "SELECT * FROM {index} WHERE t = 'a' AND r = 'x' AND n1 = 1 AND n2 = 2"
        )))
        .statements(statement(base))
        .send()
        .await);
    let [on_index, on_table] = batch.responses() else {
        panic!("two answers expected: {batch:?}");
    };
    let error = on_index.error().expect("the index read fails");
    assert_eq!(error.message(), Some(REFUSED));
    assert!(on_table.error().is_none(), "{on_table:?}");
    assert_eq!(
        on_table.item().and_then(|item| item.get("pk")),
        Some(&AttributeValue::S("p1".into()))
    );
}
