//! Secondary indexes end to end with aws-sdk-dynamodb: LSI and GSI queries with each
//! projection type, index order and pagination keys, sparse indexes, the LSI fetch of
//! unprojected attributes, index-key validation on writes, a GSI added to a table with data
//! (backfill observed through DescribeTable until ACTIVE) and a GSI deleted (DYNAMODB.md §7).

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, ComparisonOperator, Condition, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    IndexStatus, KeyType, ProjectionType, ScalarAttributeType, Select,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

type Item = HashMap<String, AttributeValue>;

fn gsi(
    name: &str,
    hash: &str,
    range: Option<&str>,
    kind: ProjectionType,
    include: &[&str],
) -> GlobalSecondaryIndex {
    let mut b = GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(hash, KeyType::Hash))
        .projection(projection(kind, include));
    if let Some(range) = range {
        b = b.key_schema(key_element(range, KeyType::Range));
    }
    b.build().unwrap()
}

/// UpdateTable's action adding a KEYS_ONLY GSI `name` on the S attribute `hash`.
fn create_gsi(name: &str, hash: &str) -> GlobalSecondaryIndexUpdate {
    GlobalSecondaryIndexUpdate::builder()
        .create(
            CreateGlobalSecondaryIndexAction::builder()
                .index_name(name)
                .key_schema(key_element(hash, KeyType::Hash))
                .projection(projection(ProjectionType::KeysOnly, &[]))
                .build()
                .unwrap(),
        )
        .build()
}

/// UpdateTable's action deleting GSI `name`.
fn delete_gsi(name: &str) -> GlobalSecondaryIndexUpdate {
    GlobalSecondaryIndexUpdate::builder()
        .delete(
            DeleteGlobalSecondaryIndexAction::builder()
                .index_name(name)
                .build()
                .unwrap(),
        )
        .build()
}

/// Waits until the table has no GSI left in its description.
async fn wait_gsis_gone(ddb: &Client, table: &str) -> bool {
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async {
            let out = ok(ddb.describe_table().table_name(table).send().await);
            out.table.unwrap().global_secondary_indexes().is_empty()
        },
    )
    .await
}

/// A table `pk` (S) + `sk` (S) with three LSIs and three GSIs, one per projection type.
async fn indexed_table(ddb: &Client) -> String {
    let name = unique_name("idx");
    let out = ddb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("lkn", ScalarAttributeType::N))
        .attribute_definitions(attribute_definition("lks", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("lka", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("gr", ScalarAttributeType::N))
        .attribute_definitions(attribute_definition("g2", ScalarAttributeType::S))
        .local_secondary_indexes(lsi("lsi_keys", "lkn", ProjectionType::KeysOnly, &[]))
        .local_secondary_indexes(lsi("lsi_incl", "lks", ProjectionType::Include, &["inc"]))
        .local_secondary_indexes(lsi("lsi_all", "lka", ProjectionType::All, &[]))
        .global_secondary_indexes(gsi("gsi_all", "g", Some("gr"), ProjectionType::All, &[]))
        .global_secondary_indexes(gsi("gsi_keys", "g2", None, ProjectionType::KeysOnly, &[]))
        .global_secondary_indexes(gsi(
            "gsi_incl",
            "g",
            None,
            ProjectionType::Include,
            &["inc"],
        ))
        .send()
        .await;
    ok(out);
    wait_table_active(ddb, &name).await;
    name
}

/// Items a, b, c in partition "P" with index attributes; d has none (sparse everywhere).
async fn put_data(ddb: &Client, table: &str) -> HashMap<&'static str, Item> {
    let rows: [(&str, Vec<(&str, AttributeValue)>); 4] = [
        (
            "a",
            vec![
                ("lkn", n(3)),
                ("lks", s("z")),
                ("lka", s("m")),
                ("inc", s("I0")),
                ("extra", s("E0")),
                ("g", s("G1")),
                ("gr", n(2)),
                ("g2", s("K")),
            ],
        ),
        (
            "b",
            vec![
                ("lkn", n(1)),
                ("lks", s("y")),
                ("lka", s("n")),
                ("inc", s("I1")),
                ("extra", s("E1")),
                ("g", s("G1")),
                ("gr", n(1)),
                ("g2", s("K")),
            ],
        ),
        (
            "c",
            vec![
                ("lkn", n(2)),
                ("lka", s("o")),
                ("inc", s("I2")),
                ("g", s("G2")),
                ("gr", n(5)),
            ],
        ),
        ("d", vec![("extra", s("E3"))]),
    ];
    let mut out = HashMap::new();
    for (sk, attrs) in rows {
        let mut it = item(&[("pk", s("P")), ("sk", s(sk))]);
        for (k, v) in attrs {
            it.insert(k.to_string(), v);
        }
        ok(ddb
            .put_item()
            .table_name(table)
            .set_item(Some(it.clone()))
            .send()
            .await);
        out.insert(sk, it);
    }
    out
}

fn sks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|it| match it.get("sk") {
            Some(AttributeValue::S(v)) => v.clone(),
            other => panic!("no sk: {other:?}"),
        })
        .collect()
}

fn names(it: &Item) -> Vec<String> {
    let mut v: Vec<String> = it.keys().cloned().collect();
    v.sort();
    v
}

async fn lsi_query(ddb: &Client, table: &str, index: &str) -> Vec<Item> {
    ok(ddb
        .query()
        .table_name(table)
        .index_name(index)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("P"))
        .consistent_read(true)
        .send()
        .await)
    .items
    .unwrap_or_default()
}

async fn gsi_query(ddb: &Client, table: &str, index: &str, attr: &str, value: &str) -> Vec<Item> {
    ok(ddb
        .query()
        .table_name(table)
        .index_name(index)
        .key_condition_expression("#k = :v")
        .expression_attribute_names("#k", attr)
        .expression_attribute_values(":v", s(value))
        .send()
        .await)
    .items
    .unwrap_or_default()
}

#[tokio::test]
async fn lsi_queries_with_each_projection() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = indexed_table(&ddb).await;
    let data = put_data(&ddb, &table).await;

    // KEYS_ONLY: ordered by the LSI sort key, table and index keys only; d is absent.
    let keys = lsi_query(&ddb, &table, "lsi_keys").await;
    assert_eq!(sks(&keys), ["b", "c", "a"]);
    assert!(keys.iter().all(|it| names(it) == ["lkn", "pk", "sk"]));
    // INCLUDE: c has no lks, so it is not in the index.
    let incl = lsi_query(&ddb, &table, "lsi_incl").await;
    assert_eq!(sks(&incl), ["b", "a"]);
    assert_eq!(names(&incl[0]), ["inc", "lks", "pk", "sk"]);
    // ALL: whole items.
    let all = lsi_query(&ddb, &table, "lsi_all").await;
    assert_eq!(
        all,
        vec![data["a"].clone(), data["b"].clone(), data["c"].clone()]
    );

    // ALL_ATTRIBUTES on a KEYS_ONLY LSI fetches the table items.
    let fetched = ok(ddb
        .query()
        .table_name(&table)
        .index_name("lsi_keys")
        .key_condition_expression("pk = :p AND lkn > :n")
        .expression_attribute_values(":p", s("P"))
        .expression_attribute_values(":n", n(1))
        .select(Select::AllAttributes)
        .send()
        .await);
    assert_eq!(
        fetched.items.unwrap_or_default(),
        vec![data["c"].clone(), data["a"].clone()]
    );

    // Pagination: LastEvaluatedKey holds the table keys plus the index key.
    let page = ok(ddb
        .query()
        .table_name(&table)
        .index_name("lsi_keys")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("P"))
        .limit(1)
        .send()
        .await);
    let lek = page.last_evaluated_key.clone().unwrap();
    assert_eq!(lek, item(&[("pk", s("P")), ("sk", s("b")), ("lkn", n(1))]));
    let next = ok(ddb
        .query()
        .table_name(&table)
        .index_name("lsi_keys")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("P"))
        .set_exclusive_start_key(Some(lek))
        .send()
        .await);
    assert_eq!(sks(&next.items.unwrap_or_default()), ["c", "a"]);

    // An update of the LSI key moves the entry (strongly consistent right away).
    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("P"))
        .key("sk", s("a"))
        .update_expression("SET lkn = :n")
        .expression_attribute_values(":n", n(0))
        .send()
        .await);
    assert_eq!(
        sks(&lsi_query(&ddb, &table, "lsi_keys").await),
        ["a", "b", "c"]
    );
    // A delete removes it.
    ok(ddb
        .delete_item()
        .table_name(&table)
        .key("pk", s("P"))
        .key("sk", s("b"))
        .send()
        .await);
    assert_eq!(sks(&lsi_query(&ddb, &table, "lsi_keys").await), ["a", "c"]);
}

#[tokio::test]
async fn gsi_queries_projections_and_sparseness() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = indexed_table(&ddb).await;
    let data = put_data(&ddb, &table).await;

    let all = gsi_query(&ddb, &table, "gsi_all", "g", "G1").await;
    assert_eq!(all, vec![data["b"].clone(), data["a"].clone()]);
    let keys = gsi_query(&ddb, &table, "gsi_keys", "g2", "K").await;
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|it| names(it) == ["g2", "pk", "sk"]));
    let incl = gsi_query(&ddb, &table, "gsi_incl", "g", "G2").await;
    assert_eq!(incl.len(), 1);
    assert_eq!(names(&incl[0]), ["g", "inc", "pk", "sk"]);

    // Sparse: a scan of the KEYS_ONLY GSI sees only a and b (c and d lack g2).
    let scanned = ok(ddb
        .scan()
        .table_name(&table)
        .index_name("gsi_keys")
        .send()
        .await);
    let mut got = sks(&scanned.items.unwrap_or_default());
    got.sort();
    assert_eq!(got, ["a", "b"]);

    // Index key changes move the entry; removing a key attribute drops it.
    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("P"))
        .key("sk", s("a"))
        .update_expression("SET g = :g")
        .expression_attribute_values(":g", s("G2"))
        .send()
        .await);
    let moved = gsi_query(&ddb, &table, "gsi_all", "g", "G2").await;
    assert_eq!(sks(&moved), ["a", "c"]);
    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("P"))
        .key("sk", s("b"))
        .update_expression("REMOVE gr")
        .send()
        .await);
    assert!(gsi_query(&ddb, &table, "gsi_all", "g", "G1")
        .await
        .is_empty());

    // Strongly consistent reads and ALL_ATTRIBUTES on a non-ALL GSI are refused.
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .index_name("gsi_all")
            .key_condition_expression("g = :g")
            .expression_attribute_values(":g", s("G1"))
            .consistent_read(true)
            .send()
            .await,
        "ValidationException",
        Some("Consistent reads are not supported on global secondary indexes"),
    );
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .index_name("gsi_keys")
            .key_condition_expression("g2 = :g")
            .expression_attribute_values(":g", s("K"))
            .select(Select::AllAttributes)
            .send()
            .await,
        "ValidationException",
        None,
    );
}

#[tokio::test]
async fn gsi_reads_of_unprojected_attributes_are_refused() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = indexed_table(&ddb).await;
    put_data(&ddb, &table).await;
    let refused = |names: &str| {
        format!("One or more parameter values were invalid: Global secondary index gsi_incl does not project [{names}]")
    };
    let query = || {
        ddb.query()
            .table_name(&table)
            .index_name("gsi_incl")
            .key_condition_expression("g = :g")
            .expression_attribute_values(":g", s("G1"))
    };

    // Key attributes (the table's and the index's) and the INCLUDE list may be asked for.
    let asked = ok(query().projection_expression("inc, pk, g").send().await);
    assert_eq!(names(&asked.items.unwrap()[0]), ["g", "inc", "pk"]);
    // Anything else is refused, whichever way it is asked for; a nested path counts by
    // its top-level name.
    assert_api_error(
        query().projection_expression("extra").send().await,
        "ValidationException",
        Some(&refused("extra")),
    );
    assert_api_error(
        query()
            .projection_expression("inc, extra.x, lka")
            .select(Select::SpecificAttributes)
            .send()
            .await,
        "ValidationException",
        Some(&refused("extra, lka")),
    );
    assert_api_error(
        ddb.scan()
            .table_name(&table)
            .index_name("gsi_incl")
            .attributes_to_get("pk")
            .attributes_to_get("extra")
            .send()
            .await,
        "ValidationException",
        Some(&refused("extra")),
    );
    assert_api_error(
        ddb.scan()
            .table_name(&table)
            .index_name("gsi_incl")
            .projection_expression("extra")
            .send()
            .await,
        "ValidationException",
        Some(&refused("extra")),
    );
    assert_api_error(
        ddb.execute_statement()
            .statement(format!(
                r#"SELECT extra FROM "{table}"."gsi_incl" WHERE g = 'G1'"#
            ))
            .send()
            .await,
        "ValidationException",
        Some(&refused("extra")),
    );
    // A KEYS_ONLY GSI projects its keys and the table's only.
    assert_api_error(
        ddb.scan()
            .table_name(&table)
            .index_name("gsi_keys")
            .projection_expression("g2, inc")
            .send()
            .await,
        "ValidationException",
        Some("One or more parameter values were invalid: Global secondary index gsi_keys does not project [inc]"),
    );
    // An LSI fetches what it does not project.
    let fetched = ok(ddb
        .query()
        .table_name(&table)
        .index_name("lsi_incl")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("P"))
        .projection_expression("extra")
        .send()
        .await);
    assert_eq!(
        fetched.items.unwrap(),
        vec![item(&[("extra", s("E1"))]), item(&[("extra", s("E0"))])]
    );
}

#[tokio::test]
async fn lsi_filters_see_unprojected_attributes_whatever_select() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = indexed_table(&ddb).await;
    let data = put_data(&ddb, &table).await;
    // lsi_incl holds a and b with `inc` but not `extra`; only a has extra = E0.
    let query = |filter: &str| {
        ddb.query()
            .table_name(&table)
            .index_name("lsi_incl")
            .key_condition_expression("pk = :p")
            .filter_expression(filter)
            .expression_attribute_values(":p", s("P"))
    };
    let on_extra = || query("extra = :e").expression_attribute_values(":e", s("E0"));
    let count = |out: aws_sdk_dynamodb::operation::query::QueryOutput| out.count;

    // The default (ALL_PROJECTED_ATTRIBUTES) answers the entry, filtered on the item.
    let projected = ok(on_extra().send().await);
    let items = projected.items.unwrap();
    assert_eq!(sks(&items), ["a"]);
    assert_eq!(names(&items[0]), ["inc", "lks", "pk", "sk"]);
    assert_eq!(count(ok(on_extra().select(Select::Count).send().await)), 1);
    assert_eq!(
        count(ok(on_extra().projection_expression("pk").send().await)),
        1
    );
    let all = ok(on_extra().select(Select::AllAttributes).send().await);
    assert_eq!(all.items.unwrap(), vec![data["a"].clone()]);
    // Both items have `extra`, whichever Select.
    let missing = query("attribute_not_exists(extra)");
    assert_eq!(count(ok(missing.clone().send().await)), 0);
    assert_eq!(count(ok(missing.select(Select::Count).send().await)), 0);
    // A Scan of the index and a legacy QueryFilter alike.
    let scanned = ok(ddb
        .scan()
        .table_name(&table)
        .index_name("lsi_incl")
        .filter_expression("extra = :e")
        .expression_attribute_values(":e", s("E1"))
        .select(Select::Count)
        .send()
        .await);
    assert_eq!(scanned.count, 1);
    let equals = |value: &str| {
        Condition::builder()
            .comparison_operator(ComparisonOperator::Eq)
            .attribute_value_list(s(value))
            .build()
            .unwrap()
    };
    let legacy = ok(ddb
        .query()
        .table_name(&table)
        .index_name("lsi_incl")
        .key_conditions("pk", equals("P"))
        .query_filter("extra", equals("E1"))
        .send()
        .await);
    assert_eq!(sks(&legacy.items.unwrap()), ["b"]);
}

#[tokio::test]
async fn items_and_their_lsi_entries_share_the_400_kb_limit() {
    use aws_sdk_dynamodb::types::{Put, PutRequest, TransactWriteItem, WriteRequest};
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("lsisize");
    let index = lsi("lsi", "l", ProjectionType::All, &[]);
    create_table_with_lsi(&ddb, &table, ("l", ScalarAttributeType::S), index).await;
    let too_large = Some("Item size has exceeded the maximum allowed size");
    let row = |sk: &str, kb: usize, indexed: bool| {
        let mut it = item(&[
            ("pk", s("p")),
            ("sk", s(sk)),
            ("v", s(&"v".repeat(kb * 1024))),
        ]);
        if indexed {
            it.insert("l".into(), s("x"));
        }
        it
    };
    let put = |it: Item| ddb.put_item().table_name(&table).set_item(Some(it)).send();

    // With one ALL LSI an indexed item counts twice: 190 KB fits, 210 KB does not.
    ok(put(row("a", 190, true)).await);
    assert_api_error(
        put(row("b", 210, true)).await,
        "ValidationException",
        too_large,
    );
    // Without the LSI key it has no entry, and only the item counts.
    ok(put(row("c", 390, false)).await);
    // UpdateItem, BatchWriteItem, TransactWriteItems and PartiQL alike.
    assert_api_error(
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("p"))
            .key("sk", s("c"))
            .update_expression("SET l = :l")
            .expression_attribute_values(":l", s("x"))
            .send()
            .await,
        "ValidationException",
        Some("Item size to update has exceeded the maximum allowed size"),
    );
    let request = PutRequest::builder()
        .set_item(Some(row("d", 210, true)))
        .build()
        .unwrap();
    assert_api_error(
        ddb.batch_write_item()
            .request_items(
                &table,
                vec![WriteRequest::builder().put_request(request).build()],
            )
            .send()
            .await,
        "ValidationException",
        too_large,
    );
    let action = Put::builder()
        .table_name(&table)
        .set_item(Some(row("e", 210, true)))
        .build()
        .unwrap();
    assert_api_error(
        ddb.transact_write_items()
            .transact_items(TransactWriteItem::builder().put(action).build())
            .send()
            .await,
        "ValidationException",
        too_large,
    );
    assert_api_error(
        ddb.execute_statement()
            .statement(format!(
                r#"INSERT INTO "{table}" VALUE {{'pk': 'p', 'sk': 'f', 'l': 'x', 'v': ?}}"#
            ))
            .parameters(s(&"v".repeat(210 * 1024)))
            .send()
            .await,
        "ValidationException",
        too_large,
    );
    let count = ok(ddb
        .scan()
        .table_name(&table)
        .select(Select::Count)
        .send()
        .await)
    .count;
    assert_eq!(count, 2);
}

#[tokio::test]
async fn index_keys_of_the_wrong_type_are_rejected() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = indexed_table(&ddb).await;
    assert_api_error(
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("x"))
            .item("sk", s("y"))
            .item("lkn", s("not a number"))
            .send()
            .await,
        "ValidationException",
        Some("One or more parameter values were invalid: Type mismatch for Index Key lkn Expected: N Actual: S IndexName: lsi_keys"),
    );
    assert_api_error(
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("x"))
            .item("sk", s("y"))
            .item("g2", s(""))
            .send()
            .await,
        "ValidationException",
        None,
    );
    // Nothing was written, in the table or any index.
    let scanned = ok(ddb.scan().table_name(&table).send().await);
    assert_eq!(scanned.count, 0);
}

/// Index keys have the table's key size limits. A 70 KB one is past what the storage engine
/// takes at all: it once killed the store's commit thread, failing every later write.
#[tokio::test]
async fn oversized_index_keys_and_key_conditions_are_rejected() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = indexed_table(&ddb).await;
    for (attr, size, max, index) in [
        ("g2", 2049, 2048, "gsi_keys"),
        ("g2", 70_000, 2048, "gsi_keys"),
        ("lks", 1025, 1024, "lsi_incl"),
    ] {
        assert_api_error(
            ddb.put_item()
                .table_name(&table)
                .item("pk", s("x"))
                .item("sk", s("y"))
                .item(attr, s(&"v".repeat(size)))
                .send()
                .await,
            "ValidationException",
            Some(&format!("One or more parameter values were invalid: Size limit exceeded for Index Key {attr} Actual Size: {size} bytes Max Size: {max} bytes IndexName: {index}")),
        );
    }
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("x"))
        .item("sk", s("y"))
        .item("g2", s(&"v".repeat(2048)))
        .send()
        .await);

    let query = |index: &str, condition: &str, value: String| {
        let request = ddb
            .query()
            .table_name(&table)
            .index_name(index)
            .key_condition_expression(condition)
            .expression_attribute_values(":v", s(&value));
        if condition.contains(":p") {
            request.expression_attribute_values(":p", s("x"))
        } else {
            request
        }
        .send()
    };
    assert_api_error(
        query("gsi_keys", "g2 = :v", "v".repeat(70_000)).await,
        "ValidationException",
        Some("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"),
    );
    assert_api_error(
        query("lsi_incl", "pk = :p AND lks > :v", "v".repeat(70_000)).await,
        "ValidationException",
        Some("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"),
    );
    let found = ok(query("gsi_keys", "g2 = :v", "v".repeat(2048)).await);
    assert_eq!(found.count, 1);
}

#[tokio::test]
async fn gsi_added_later_is_backfilled_then_deleted() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("late");
    create_hash_range_table(&ddb, &table).await;
    for i in 0..300 {
        let mut request = ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(&format!("p{i}")))
            .item("sk", n(i));
        if i % 3 == 0 {
            request = request.item("tag", s("T"));
        }
        ok(request.send().await);
    }
    // Values a write to an index key would refuse: the backfill leaves these items out.
    for (sk, tag) in [(1000, String::new()), (1001, "T".repeat(2049))] {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s("bad"))
            .item("sk", n(sk))
            .item("tag", s(&tag))
            .send()
            .await);
    }
    let created = ok(ddb
        .update_table()
        .table_name(&table)
        .attribute_definitions(attribute_definition("tag", ScalarAttributeType::S))
        .global_secondary_index_updates(create_gsi("by_tag", "tag"))
        .send()
        .await);
    let described = created.table_description.unwrap();
    let index = &described.global_secondary_indexes()[0];
    assert_eq!(index.index_status(), Some(&IndexStatus::Creating));
    assert_eq!(index.backfilling(), Some(true));

    // DescribeTable shows CREATING (Backfilling) until every item is in, then ACTIVE.
    let active = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async {
            let out = ok(ddb.describe_table().table_name(&table).send().await);
            let table = out.table.unwrap();
            let index = &table.global_secondary_indexes()[0];
            match index.index_status() {
                Some(IndexStatus::Active) => {
                    assert_eq!(index.backfilling(), None);
                    true
                }
                Some(IndexStatus::Creating) => false,
                other => panic!("unexpected status {other:?}"),
            }
        },
    )
    .await;
    assert!(active, "index did not become ACTIVE");
    let mut count = 0;
    let mut start = None;
    loop {
        let page = ok(ddb
            .query()
            .table_name(&table)
            .index_name("by_tag")
            .key_condition_expression("tag = :t")
            .expression_attribute_values(":t", s("T"))
            .limit(30)
            .set_exclusive_start_key(start)
            .send()
            .await);
        count += page.count;
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    assert_eq!(count, 100);
    // A Scan of the index, a page at a time, resumes from every key it hands out.
    let mut scanned = 0;
    let mut start = None;
    loop {
        let page = ok(ddb
            .scan()
            .table_name(&table)
            .index_name("by_tag")
            .limit(7)
            .set_exclusive_start_key(start)
            .send()
            .await);
        scanned += page.count;
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    assert_eq!(scanned, 100, "only the items with a valid tag are indexed");
    let index_count =
        || async { describe(&ddb, &table).await.global_secondary_indexes()[0].item_count };
    assert_eq!(index_count().await, Some(100));

    // New writes reach the index too, and its count.
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("new"))
        .item("sk", n(1))
        .item("tag", s("U"))
        .send()
        .await);
    let found = gsi_query(&ddb, &table, "by_tag", "tag", "U").await;
    assert_eq!(
        found,
        vec![item(&[("pk", s("new")), ("sk", n(1)), ("tag", s("U"))])]
    );
    assert_eq!(index_count().await, Some(101));

    // Deleting the index: it leaves the description and can no longer be queried.
    ok(ddb
        .update_table()
        .table_name(&table)
        .global_secondary_index_updates(delete_gsi("by_tag"))
        .send()
        .await);
    assert!(wait_gsis_gone(&ddb, &table).await);
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .index_name("by_tag")
            .key_condition_expression("tag = :t")
            .expression_attribute_values(":t", s("T"))
            .send()
            .await,
        "ValidationException",
        Some("The table does not have the specified index: by_tag"),
    );
}

/// While a GSI backfills, no other index may be created or deleted (DynamoDB's one online
/// index operation per table) nor the table deleted, but the backfilling index itself may
/// be deleted: it then goes away, never ACTIVE with part of the table in it.
#[tokio::test]
async fn a_backfilling_gsi_can_be_deleted_and_blocks_other_changes() {
    // A pause after each of the backfill's ~40 chunks keeps it under way for over a second:
    // without it a slow test client (a loaded machine) met the index already ACTIVE.
    let store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_BACKFILL_PAUSE_MS".into(), "30".into())],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("busy");
    create_hash_range_table(&ddb, &table).await;
    // Enough items for ~40 chunks of backfill.
    for chunk in 0..400 {
        let mut batch = ddb.batch_write_item();
        for i in 0..25 {
            let put = aws_sdk_dynamodb::types::PutRequest::builder()
                .item("pk", s(&format!("p{chunk}-{i}")))
                .item("sk", n(i))
                .item("a", s("A"))
                .item("b", s("B"))
                .build()
                .unwrap();
            batch = batch.request_items(
                &table,
                vec![aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(put)
                    .build()],
            );
        }
        let out = ok(batch.send().await);
        assert!(out.unprocessed_items.unwrap_or_default().is_empty());
    }
    let add = |name: &'static str, attr: &'static str| {
        ddb.update_table()
            .table_name(&table)
            .attribute_definitions(attribute_definition(attr, ScalarAttributeType::S))
            .global_secondary_index_updates(create_gsi(name, attr))
            .send()
    };
    ok(add("by_a", "a").await);
    let limit = Some("Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table");
    assert_api_error(add("by_b", "b").await, "LimitExceededException", limit);
    assert_api_error(
        ddb.delete_table().table_name(&table).send().await,
        "ResourceInUseException",
        Some("Attempt to change a resource which is still in use: Cannot delete table while indexes are being created, updated, or deleted."),
    );

    ok(ddb
        .update_table()
        .table_name(&table)
        .global_secondary_index_updates(delete_gsi("by_a"))
        .send()
        .await);
    // Never ACTIVE again, then gone.
    let gone = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(5),
        || async {
            let out = ok(ddb.describe_table().table_name(&table).send().await);
            let table = out.table.unwrap();
            if let Some(index) = table.global_secondary_indexes().first() {
                assert_eq!(index.index_status(), Some(&IndexStatus::Deleting));
            }
            table.global_secondary_indexes().is_empty()
        },
    )
    .await;
    assert!(gone, "the deleted index went away");
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .index_name("by_a")
            .key_condition_expression("a = :a")
            .expression_attribute_values(":a", s("A"))
            .send()
            .await,
        "ValidationException",
        Some("The table does not have the specified index: by_a"),
    );
    // With nothing under way, the next index may be added.
    ok(add("by_b", "b").await);
}

#[tokio::test]
async fn bad_index_definitions_leave_no_table() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let name = unique_name("bad");
    let mut request = ddb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("x", ScalarAttributeType::S));
    for i in 0..6 {
        request =
            request.local_secondary_indexes(lsi(&format!("l{i}"), "x", ProjectionType::All, &[]));
    }
    assert_api_error(request.send().await, "ValidationException", None);
    assert_api_error(
        ddb.describe_table().table_name(&name).send().await,
        "ResourceNotFoundException",
        None,
    );
}

#[tokio::test]
async fn include_lists_may_name_keys_but_not_repeat_a_name() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let request = |name: &str, gsi_include: &[&str]| {
        pk_sk_table_request(&ddb, name, ("x", ScalarAttributeType::S))
            .local_secondary_indexes(lsi("lsi", "x", ProjectionType::Include, &["a", "sk", "x"]))
            .global_secondary_indexes(gsi("gsi", "x", None, ProjectionType::Include, gsi_include))
    };
    // Key attributes of the table or of the index may be listed; they are projected anyway.
    let name = unique_name("nka");
    ok(request(&name, &["a", "x", "pk"]).send().await);
    wait_table_active(&ddb, &name).await;
    ok(ddb
        .put_item()
        .table_name(&name)
        .set_item(Some(item(&[
            ("pk", s("p")),
            ("sk", s("s")),
            ("x", s("X")),
            ("a", s("A")),
            ("b", s("B")),
        ])))
        .send()
        .await);
    let entries = gsi_query(&ddb, &name, "gsi", "x", "X").await;
    assert_eq!(names(&entries[0]), ["a", "pk", "sk", "x"]);

    // A name listed twice is refused, and no table is left.
    let other = unique_name("nka");
    assert_api_error(
        request(&other, &["a", "b", "a"]).send().await,
        "ValidationException",
        Some("One or more parameter values were invalid: Duplicate element in NonKeyAttributes: a"),
    );
    assert_api_error(
        ddb.describe_table().table_name(&other).send().await,
        "ResourceNotFoundException",
        None,
    );
}

#[tokio::test]
async fn update_table_index_errors_have_dynamodb_texts() {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    use aws_sdk_dynamodb::types::{
        ProvisionedThroughput, StreamViewType, UpdateGlobalSecondaryIndexAction,
    };
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("gsimsg");
    let mut request = ddb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S));
    for i in 0..20 {
        request = request.global_secondary_indexes(gsi(
            &format!("gsi{i}"),
            "g",
            None,
            ProjectionType::KeysOnly,
            &[],
        ));
    }
    ok(request.send().await);
    wait_table_active(&ddb, &table).await;
    let update = || {
        ddb.update_table()
            .table_name(&table)
            .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
    };

    assert_api_error(
        update()
            .global_secondary_index_updates(create_gsi("gsi20", "g"))
            .send()
            .await,
        "LimitExceededException",
        Some("Subscriber limit exceeded: Number of global secondary indexes exceeds per-table limit of 20"),
    );
    let missing = format!("Requested resource not found: Index nope for table {table}");
    assert_api_error(
        update()
            .global_secondary_index_updates(delete_gsi("nope"))
            .send()
            .await,
        "ResourceNotFoundException",
        Some(&missing),
    );
    let throughput = ProvisionedThroughput::builder()
        .read_capacity_units(5)
        .write_capacity_units(5)
        .build()
        .unwrap();
    let change = |name: &str| {
        GlobalSecondaryIndexUpdate::builder()
            .update(
                UpdateGlobalSecondaryIndexAction::builder()
                    .index_name(name)
                    .provisioned_throughput(throughput.clone())
                    .build()
                    .unwrap(),
            )
            .build()
    };
    assert_api_error(
        update()
            .global_secondary_index_updates(change("nope"))
            .send()
            .await,
        "ResourceNotFoundException",
        Some(&missing),
    );
    assert_api_error(
        update().global_secondary_index_updates(change("gsi0")).send().await,
        "ValidationException",
        Some("One or more parameter values were invalid: The only Updates for index: gsi0 when TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput"),
    );
    // An empty list alone asks for nothing; beside another change it is an empty list.
    let nothing = assert_api_error(
        update()
            .set_global_secondary_index_updates(Some(Vec::new()))
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert!(nothing
        .message()
        .unwrap_or_default()
        .starts_with("At least one of ProvisionedThroughput, BillingMode"));
    assert_api_error(
        update()
            .set_global_secondary_index_updates(Some(Vec::new()))
            .stream_specification(stream_of(StreamViewType::KeysOnly))
            .send()
            .await,
        "ValidationException",
        Some("One or more parameter values were invalid: List of GlobalSecondaryIndexUpdates is empty"),
    );
}

#[tokio::test]
async fn index_entries_survive_a_restart_and_parallel_scans_split_them() {
    let mut store = StoreProcess::spawn();
    let table = {
        let ddb = store.client();
        let table = indexed_table(&ddb).await;
        put_data(&ddb, &table).await;
        table
    };
    store.restart();
    let ddb = store.client();
    assert_eq!(
        sks(&lsi_query(&ddb, &table, "lsi_keys").await),
        ["b", "c", "a"]
    );
    assert_eq!(
        sks(&gsi_query(&ddb, &table, "gsi_all", "g", "G1").await),
        ["b", "a"]
    );
    // Writes after the restart still maintain the indexes (the catalog republished them).
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("Q"))
        .item("sk", s("e"))
        .item("g", s("G1"))
        .item("gr", n(9))
        .send()
        .await);
    assert_eq!(
        sks(&gsi_query(&ddb, &table, "gsi_all", "g", "G1").await),
        ["b", "a", "e"]
    );

    // Two segments of a GSI scan return every entry exactly once.
    let mut seen = Vec::new();
    for segment in 0..2 {
        let out = ok(ddb
            .scan()
            .table_name(&table)
            .index_name("gsi_all")
            .segment(segment)
            .total_segments(2)
            .send()
            .await);
        seen.extend(sks(&out.items.unwrap_or_default()));
    }
    seen.sort();
    assert_eq!(seen, ["a", "b", "c", "e"]);
}

#[tokio::test]
async fn item_collections_of_lsi_tables_are_limited() {
    // A 20 KB limit stands in for DynamoDB's 10 GB.
    let store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_ITEM_COLLECTION_LIMIT_BYTES".into(), "20000".into())],
        ..Default::default()
    });
    let ddb = store.client();
    let table = indexed_table(&ddb).await;
    let blob = "x".repeat(4000);
    let put = |sk: String, lks: &'static str| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("P"))
            .item("sk", s(&sk))
            .item("lka", s(lks))
            .item("blob", s(&blob))
            .send()
    };
    // Each item counts twice (the table item and its ALL-projected lsi_all entry).
    ok(put("1".into(), "a").await);
    ok(put("2".into(), "b").await);
    let refused = put("3".into(), "c").await;
    assert_api_error(
        refused,
        "ItemCollectionSizeLimitExceededException",
        Some("Collection size exceeded."),
    );
    // Another partition key is another collection; shrinking is always allowed.
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("Other"))
        .item("sk", s("1"))
        .item("blob", s(&blob))
        .send()
        .await);
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("P"))
        .item("sk", s("2"))
        .send()
        .await);
    ok(put("3".into(), "c").await);
}

/// A strongly consistent LSI Query while an item moves in the index (its index sort key
/// flips between two values, over and over) finds the item exactly once, and where the key
/// condition says: a range read is a snapshot (a move is never seen half done), and an
/// item fetched from the table for its unprojected attributes is taken only if it still
/// stands where its entry did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_moving_in_an_lsi_is_read_once_and_where_the_condition_says() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = indexed_table(&ddb).await;
    let row = |sk: &str, lkn: i64| item(&[("pk", s("F")), ("sk", s(sk)), ("lkn", n(lkn))]);
    ok(ddb
        .put_item()
        .table_name(&table)
        .set_item(Some(row("moving", 1)))
        .send()
        .await);
    for filler in 0..30 {
        let filler = row(&format!("filler{filler:02}"), 5);
        ok(ddb
            .put_item()
            .table_name(&table)
            .set_item(Some(filler))
            .send()
            .await);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mover = {
        let (ddb, table, stop) = (ddb.clone(), table.clone(), stop.clone());
        tokio::spawn(async move {
            let mut value = 1;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                value = 10 - value;
                ok(ddb
                    .update_item()
                    .table_name(&table)
                    .key("pk", s("F"))
                    .key("sk", s("moving"))
                    .update_expression("SET lkn = :v")
                    .expression_attribute_values(":v", n(value))
                    .send()
                    .await);
            }
        })
    };
    let query = |condition: &str, select: Select| {
        ddb.query()
            .table_name(&table)
            .index_name("lsi_keys")
            .consistent_read(true)
            .key_condition_expression(condition)
            .expression_attribute_values(":p", s("F"))
            .select(select)
    };
    let (mut not_once, mut off_condition) = (0, 0);
    for _ in 0..600 {
        let all = ok(query("pk = :p", Select::AllProjectedAttributes)
            .send()
            .await);
        let seen = all
            .items()
            .iter()
            .filter(|i| i["sk"] == s("moving"))
            .count();
        not_once += usize::from(seen != 1);
        let at_one = query("pk = :p AND lkn = :one", Select::AllAttributes)
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        off_condition += ok(at_one)
            .items()
            .iter()
            .filter(|i| i["lkn"] != n(1))
            .count();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    mover.await.unwrap();
    assert_eq!(
        (not_once, off_condition),
        (0, 0),
        "of 600 reads each: the moving item not seen exactly once, items off the condition"
    );
}
