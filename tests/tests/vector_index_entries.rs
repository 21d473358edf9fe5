//! A vector index keeps entries of its own, as a GSI does, instead of each search reading
//! the whole table; seen end to end with aws-sdk-dynamodb:
//!
//! - An index that UpdateTable adds to a table holding items is `CREATING` with
//!   `Backfilling: true` while the table's items are copied in, and refuses searches
//!   meanwhile (`Cannot read from backfilling vector index: NAME`); then it is `ACTIVE`,
//!   `Backfilling: false`, and finds the items written before it existed and those written
//!   while it filled (puts, vector changes and deletes alike).
//! - DescribeTable's `ItemCount` counts exactly the items the index can find: a vector of its
//!   dimensions (a list of that many numbers) and, with a HASH search schema attribute, that
//!   attribute; `IndexSizeBytes` is positive when anything is counted. Puts, updates that
//!   REMOVE the vector or the HASH attribute, and deletes move the count by one.
//! - An index deleted and created again under its name, with other `Dimensions`, finds (and
//!   counts) only the items of its own dimensions: nothing of the deleted index survives.
//! - An update of the HASH search attribute moves the item's entry to the other partition,
//!   and counts and searches answer the same after the store is killed and restarted.
//!
//! Every index measures EUCLIDEAN distance between small vectors of whole numbers, so the
//! nearest items, and their scores, are exact.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::search_vectors::builders::SearchVectorsFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, DeleteVectorIndexAction, IndexStatus, KeyType, ProjectionType,
    ScalarAttributeType, SearchSchemaElement, SearchSchemaElementType, VectorAttributeDefinition,
    VectorDistanceFunction, VectorIndex, VectorIndexDescription, VectorIndexUpdate, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

type Item = HashMap<String, AttributeValue>;

/// The attribute every index here reads its vectors from.
const VECTOR: &str = "embedding";
/// The HASH search schema attribute of the partitioned indexes.
const TENANT: &str = "tenant";
/// A vector as items store it: a list of numbers.
fn vector(values: &[i64]) -> AttributeValue {
    AttributeValue::L(values.iter().map(n).collect())
}

/// An item keyed `pk`, with `embedding` and `tenant` when given.
fn vector_item(pk: &str, embedding: Option<AttributeValue>, tenant: Option<&str>) -> Item {
    let mut it = item(&[("pk", s(pk))]);
    if let Some(embedding) = embedding {
        it.insert(VECTOR.into(), embedding);
    }
    if let Some(tenant) = tenant {
        it.insert(TENANT.into(), s(tenant));
    }
    it
}

/// The key of the item `pk`.
fn key(pk: &str) -> Item {
    item(&[("pk", s(pk))])
}

/// A EUCLIDEAN index `name` over [`VECTOR`] of `dimensions`, projecting ALL, partitioned by
/// [`TENANT`] (HASH) when `partitioned`.
fn euclidean_index(name: &str, dimensions: i64, partitioned: bool) -> VectorIndex {
    let mut index = VectorIndex::builder()
        .index_name(name)
        .vector_attribute(
            VectorAttributeDefinition::builder()
                .attribute_name(VECTOR)
                .build()
                .unwrap(),
        )
        .dimensions(dimensions)
        .distance_function(VectorDistanceFunction::Euclidean)
        .projection(projection(ProjectionType::All, &[]));
    if partitioned {
        index = index.search_schema(
            SearchSchemaElement::builder()
                .attribute_name(TENANT)
                .search_schema_element_type(SearchSchemaElementType::Hash)
                .build()
                .unwrap(),
        );
    }
    index.build().unwrap()
}

/// UpdateTable's `Delete` of the index `name`.
fn delete_action(name: &str) -> VectorIndexUpdate {
    let delete = DeleteVectorIndexAction::builder()
        .index_name(name)
        .build()
        .unwrap();
    VectorIndexUpdate::builder().delete(delete).build()
}

/// An on-demand table keyed by the string `pk` with the vector `indexes` (their search
/// schema attributes defined as strings), ACTIVE with its indexes; returns its name.
async fn table_with_indexes(ddb: &Client, indexes: Vec<VectorIndex>) -> String {
    let table = unique_name("vecent");
    let mut request = ddb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S));
    let mut searched: Vec<&str> = indexes
        .iter()
        .flat_map(|index| index.search_schema())
        .map(|element| element.attribute_name())
        .collect();
    searched.sort_unstable();
    searched.dedup();
    for name in searched {
        request = request.attribute_definitions(attribute_definition(name, ScalarAttributeType::S));
    }
    ok(request
        .set_vector_indexes(Some(indexes.clone()))
        .send()
        .await);
    wait_table_active(ddb, &table).await;
    for index in &indexes {
        wait_vector_index_active(ddb, &table, index.index_name()).await;
    }
    table
}

/// Deletes the vector index `name` of `table` and, once it is gone, creates it again with
/// `dimensions` (a EUCLIDEAN index, no search schema): CREATING and backfilling from the
/// table's items at first, then ACTIVE.
async fn recreate(ddb: &Client, table: &str, name: &str, dimensions: i64) {
    ok(ddb
        .update_table()
        .table_name(table)
        .vector_index_updates(delete_action(name))
        .send()
        .await);
    wait_vector_index_gone(ddb, table, name).await;
    let added = ok(ddb
        .update_table()
        .table_name(table)
        .vector_index_updates(create_vector_index(&euclidean_index(
            name, dimensions, false,
        )))
        .send()
        .await);
    assert_backfilling(&added.table_description.unwrap().vector_indexes()[0]);
    wait_vector_index_active(ddb, table, name).await;
}

/// DescribeTable's account of the vector index `name` of `table`, if it has one.
async fn described_index(ddb: &Client, table: &str, name: &str) -> Option<VectorIndexDescription> {
    describe(ddb, table)
        .await
        .vector_indexes()
        .iter()
        .find(|index| index.index_name() == Some(name))
        .cloned()
}

/// Asserts `index` is CREATING and backfilling.
#[track_caller]
fn assert_backfilling(index: &VectorIndexDescription) {
    assert_eq!(
        (index.index_status(), index.backfilling()),
        (Some(&IndexStatus::Creating), Some(true)),
        "{index:?}"
    );
}

/// Waits (30 s) until the vector index `name` of `table` is ACTIVE, which then says it is no
/// longer backfilling.
async fn wait_vector_index_active(ddb: &Client, table: &str, name: &str) {
    let active = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async {
            let index = described_index(ddb, table, name)
                .await
                .unwrap_or_else(|| panic!("{table} has no vector index {name}"));
            index.index_status() == Some(&IndexStatus::Active)
        },
    )
    .await;
    let index = described_index(ddb, table, name).await.unwrap();
    assert!(
        active,
        "{name} did not become ACTIVE within 30 s: {index:?}"
    );
    assert_eq!(index.backfilling(), Some(false), "ACTIVE {name}: {index:?}");
}

/// Waits (30 s) until `table` no longer describes the vector index `name`.
async fn wait_vector_index_gone(ddb: &Client, table: &str, name: &str) {
    let gone = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async { described_index(ddb, table, name).await.is_none() },
    )
    .await;
    assert!(gone, "{name} was still described 30 s after its deletion");
}

/// The `ItemCount` DescribeTable gives the vector index `name`, checking that its
/// `IndexSizeBytes` is positive when the count is.
async fn item_count(ddb: &Client, table: &str, name: &str) -> i64 {
    let index = described_index(ddb, table, name)
        .await
        .unwrap_or_else(|| panic!("{table} has no vector index {name}"));
    let count = index.item_count().unwrap();
    if count > 0 {
        assert!(index.index_size_bytes().unwrap() > 0, "{index:?}");
    }
    count
}

/// [`search`] for [0, 0, 0] within the partition `tenant` of the partitioned `index`.
fn search_tenant(
    ddb: &Client,
    table: &str,
    index: &str,
    tenant: &str,
) -> SearchVectorsFluentBuilder {
    search_vectors(ddb, table, index, &[0, 0, 0])
        .search_condition_expression("tenant = :t")
        .expression_attribute_values(":t", s(tenant))
}

/// The nearest of `got`: its pk and score.
#[track_caller]
fn nearest(got: &[(String, f64)]) -> (&str, f64) {
    let (pk, score) = got.first().expect("a search that found nothing");
    (pk.as_str(), *score)
}

/// How many items the backfill test writes before adding its index: twelve chunks of the
/// backfill's 256, each followed by the store's `STORE_BACKFILL_PAUSE_MS`.
const BULK: i64 = 3000;

/// The backfill test's item `old-{i}`: vector [i, 0, 0], except that every tenth one
/// (i % 10 == 5) has a vector of two dimensions, which the index must leave out.
fn bulk_item(i: i64) -> Item {
    let embedding = if i % 10 == 5 {
        vector(&[i, 0])
    } else {
        vector(&[i, 0, 0])
    };
    vector_item(&format!("old-{i}"), Some(embedding), None)
}

#[tokio::test]
async fn an_index_added_to_a_table_with_items_refuses_searches_until_backfilled() {
    // A pause after each chunk of the backfill keeps it CREATING for over a third of a
    // second however fast the machine copies.
    let store = StoreProcess::spawn_with(StoreOptions {
        env: vec![("STORE_BACKFILL_PAUSE_MS".into(), "30".into())],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("vecfill");
    create_hash_table(&ddb, &table).await;
    let items: Vec<WriteRequest> = (0..BULK).map(|i| batch_put(bulk_item(i))).collect();
    for batch in items.chunks(25) {
        batch_write_all(&ddb, &table, batch.to_vec()).await;
    }

    let index = euclidean_index("by_vec", 3, false);
    let added = ok(ddb
        .update_table()
        .table_name(&table)
        .vector_index_updates(create_vector_index(&index))
        .send()
        .await);
    assert_backfilling(&added.table_description.unwrap().vector_indexes()[0]);

    // Backfilling: searches are refused in DynamoDB's words.
    assert_api_error(
        search_vectors(&ddb, &table, "by_vec", &[0, 0, 0])
            .send()
            .await,
        "ValidationException",
        Some("Cannot read from backfilling vector index: by_vec"),
    );

    // Writes meanwhile: a new item, an old vector moved, one deleted, one given a vector.
    put_item(
        &ddb,
        &table,
        vector_item("new", Some(vector(&[0, 7, 0])), None),
    )
    .await;
    for (pk, value) in [("old-20", [0, 0, 20]), ("old-15", [0, 0, -15])] {
        ok(ddb
            .update_item()
            .table_name(&table)
            .set_key(Some(key(pk)))
            .update_expression("SET embedding = :v")
            .expression_attribute_values(":v", vector(&value))
            .send()
            .await);
    }
    ok(ddb
        .delete_item()
        .table_name(&table)
        .set_key(Some(key("old-30")))
        .send()
        .await);
    // Still backfilling: the writes above landed while it filled.
    assert_backfilling(&described_index(&ddb, &table, "by_vec").await.unwrap());

    wait_vector_index_active(&ddb, &table, "by_vec").await;
    let nearest_to = |query: [i64; 3]| {
        let request = search_vectors(&ddb, &table, "by_vec", &query).top_k(1);
        async move { search_hits(request).await }
    };
    // Items from before the index, from all over the table.
    for i in [0, 1, 254, 256, 1999, BULK - 1] {
        let got = nearest_to([i, 0, 0]).await;
        assert_eq!(nearest(&got), (format!("old-{i}").as_str(), 0.0), "old-{i}");
    }
    // The writes made while it filled, each as it was last written.
    let got = nearest_to([0, 7, 0]).await;
    assert_eq!(nearest(&got), ("new", 0.0));
    let got = nearest_to([0, 0, 20]).await;
    assert_eq!(nearest(&got), ("old-20", 0.0));
    let got = nearest_to([0, 0, -15]).await;
    assert_eq!(nearest(&got), ("old-15", 0.0));
    // Nothing where old-20 was or old-30 is no more: their neighbours, 1 away, come first.
    for gone in [20, 30] {
        let got = nearest_to([gone, 0, 0]).await;
        assert_eq!(nearest(&got).1, 1.0, "at [{gone}, 0, 0]: {got:?}");
    }
    // The two-dimension vectors are in no search: old-25's place holds nothing either.
    let got = nearest_to([25, 0, 0]).await;
    assert_eq!(nearest(&got).1, 1.0, "at [25, 0, 0]: {got:?}");

    // Every three-dimension vector, and nothing else, is counted: BULK less the tenth of
    // two dimensions, plus new and old-15, less old-30.
    assert_eq!(
        item_count(&ddb, &table, "by_vec").await,
        BULK - BULK / 10 + 2 - 1
    );
}

#[tokio::test]
async fn item_count_counts_exactly_the_items_an_index_can_find() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let indexes = vec![
        euclidean_index("by_vec", 3, false),
        euclidean_index("by_tenant", 3, true),
    ];
    let table = table_with_indexes(&ddb, indexes).await;

    // Searched from [0, 0, 0]: a 1 away, d √3, b 2, c 3. d has no tenant; the rest of the
    // items have no vector of three numbers.
    let found = [
        vector_item("a", Some(vector(&[1, 0, 0])), Some("t1")),
        vector_item("b", Some(vector(&[0, 2, 0])), Some("t1")),
        vector_item("c", Some(vector(&[0, 0, 3])), Some("t2")),
        vector_item("d", Some(vector(&[1, 1, 1])), None),
    ];
    let not_found = [
        vector_item("no_vector", None, Some("t1")),
        vector_item("too_short", Some(vector(&[1, 0])), Some("t1")),
        vector_item("too_long", Some(vector(&[1, 0, 0, 0])), Some("t1")),
        vector_item(
            "not_all_numbers",
            Some(AttributeValue::L(vec![n(1), s("0"), n(0)])),
            Some("t1"),
        ),
    ];
    for it in found.into_iter().chain(not_found) {
        put_item(&ddb, &table, it).await;
    }
    let counts = || async {
        (
            item_count(&ddb, &table, "by_vec").await,
            item_count(&ddb, &table, "by_tenant").await,
        )
    };
    let all = || search_hits(search_vectors(&ddb, &table, "by_vec", &[0, 0, 0]));
    let in_t1 = || search_hits(search_tenant(&ddb, &table, "by_tenant", "t1"));
    let root3 = 3f64.sqrt();
    assert_eq!(counts().await, (4, 3), "after the puts");
    assert_hits(
        &all().await,
        &[("a", 1.0), ("d", root3), ("b", 2.0), ("c", 3.0)],
        "after the puts",
    );
    assert_hits(
        &in_t1().await,
        &[("a", 1.0), ("b", 2.0)],
        "t1 after the puts",
    );

    // An update that removes a's vector takes it out of both.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key("a")))
        .update_expression("REMOVE embedding")
        .send()
        .await);
    assert_eq!(counts().await, (3, 2), "a's vector removed");
    assert_hits(
        &all().await,
        &[("d", root3), ("b", 2.0), ("c", 3.0)],
        "a's vector removed",
    );
    assert_hits(&in_t1().await, &[("b", 2.0)], "t1 without a's vector");

    // One that removes c's tenant takes it out of the partitioned index only.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key("c")))
        .update_expression("REMOVE tenant")
        .send()
        .await);
    assert_eq!(counts().await, (3, 1), "c's tenant removed");
    assert_hits(
        &search_hits(search_tenant(&ddb, &table, "by_tenant", "t2")).await,
        &[],
        "t2 without c's tenant",
    );

    // A deleted item leaves both.
    ok(ddb
        .delete_item()
        .table_name(&table)
        .set_key(Some(key("b")))
        .send()
        .await);
    assert_eq!(counts().await, (2, 0), "b deleted");
    assert_hits(&all().await, &[("d", root3), ("c", 3.0)], "b deleted");
    assert_hits(&in_t1().await, &[], "t1 without b");

    // A put that gives a its vector back counts it again.
    put_item(
        &ddb,
        &table,
        vector_item("a", Some(vector(&[1, 0, 0])), Some("t1")),
    )
    .await;
    assert_eq!(counts().await, (3, 1), "a put back");
    assert_hits(
        &all().await,
        &[("a", 1.0), ("d", root3), ("c", 3.0)],
        "a put back",
    );
    assert_hits(&in_t1().await, &[("a", 1.0)], "t1 with a back");
}

#[tokio::test]
async fn an_index_created_again_with_other_dimensions_holds_only_its_own_entries() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = table_with_indexes(&ddb, vec![euclidean_index("vix", 3, false)]).await;
    for (pk, value) in [
        ("three-a", &[1, 0, 0][..]),
        ("three-b", &[0, 2, 0]),
        ("four-a", &[1, 0, 0, 0]),
        ("four-b", &[0, 0, 0, 2]),
    ] {
        put_item(&ddb, &table, vector_item(pk, Some(vector(value)), None)).await;
    }
    assert_eq!(item_count(&ddb, &table, "vix").await, 2);
    assert_hits(
        &search_hits(search_vectors(&ddb, &table, "vix", &[0, 0, 0])).await,
        &[("three-a", 1.0), ("three-b", 2.0)],
        "three dimensions",
    );

    // Deleted and created again with four dimensions: backfilled from the table, it finds
    // the four-dimension vectors and nothing the three-dimension index held.
    recreate(&ddb, &table, "vix", 4).await;
    assert_eq!(item_count(&ddb, &table, "vix").await, 2);
    assert_hits(
        &search_hits(search_vectors(&ddb, &table, "vix", &[0, 0, 0, 0])).await,
        &[("four-a", 1.0), ("four-b", 2.0)],
        "four dimensions",
    );
    assert_api_error(
        search_vectors(&ddb, &table, "vix", &[0, 0, 0]).send().await,
        "ValidationException",
        Some("Input search vector dimension 3 does not match vector index dimension 4"),
    );
    // Writes reach the new index by its own dimensions.
    put_item(
        &ddb,
        &table,
        vector_item("four-c", Some(vector(&[0, 0, 3, 0])), None),
    )
    .await;
    put_item(
        &ddb,
        &table,
        vector_item("three-c", Some(vector(&[0, 0, 3])), None),
    )
    .await;
    assert_eq!(item_count(&ddb, &table, "vix").await, 3);
    assert_hits(
        &search_hits(search_vectors(&ddb, &table, "vix", &[0, 0, 0, 0])).await,
        &[("four-a", 1.0), ("four-b", 2.0), ("four-c", 3.0)],
        "four dimensions with four-c",
    );

    // And back to three, with three-b deleted while the four-dimension index stood: the
    // first index's entry of it does not come back.
    ok(ddb
        .delete_item()
        .table_name(&table)
        .set_key(Some(key("three-b")))
        .send()
        .await);
    recreate(&ddb, &table, "vix", 3).await;
    assert_eq!(item_count(&ddb, &table, "vix").await, 2);
    assert_hits(
        &search_hits(search_vectors(&ddb, &table, "vix", &[0, 0, 0])).await,
        &[("three-a", 1.0), ("three-c", 3.0)],
        "three dimensions again",
    );
}

#[tokio::test]
async fn an_item_moved_between_hash_partitions_moves_its_entry_and_a_restart_keeps_it() {
    let mut store = StoreProcess::spawn();
    let table = {
        let ddb = store.client();
        let table = table_with_indexes(&ddb, vec![euclidean_index("by_tenant", 3, true)]).await;
        for (pk, value, tenant) in [
            ("a", [1, 0, 0], "t1"),
            ("b", [0, 2, 0], "t1"),
            ("c", [0, 0, 3], "t2"),
        ] {
            put_item(
                &ddb,
                &table,
                vector_item(pk, Some(vector(&value)), Some(tenant)),
            )
            .await;
        }
        let in_tenant = |tenant| search_hits(search_tenant(&ddb, &table, "by_tenant", tenant));
        assert_hits(&in_tenant("t1").await, &[("a", 1.0), ("b", 2.0)], "t1");
        assert_hits(&in_tenant("t2").await, &[("c", 3.0)], "t2");

        // b moves from t1 to t2.
        ok(ddb
            .update_item()
            .table_name(&table)
            .set_key(Some(key("b")))
            .update_expression("SET tenant = :t")
            .expression_attribute_values(":t", s("t2"))
            .send()
            .await);
        assert_hits(&in_tenant("t1").await, &[("a", 1.0)], "t1 without b");
        assert_hits(
            &in_tenant("t2").await,
            &[("b", 2.0), ("c", 3.0)],
            "t2 with b",
        );
        assert_eq!(item_count(&ddb, &table, "by_tenant").await, 3);
        table
    };

    // Killed and started again on its data: the same entries, the same count.
    store.restart_in_place();
    let ddb = store.client();
    wait_vector_index_active(&ddb, &table, "by_tenant").await;
    let in_tenant = |tenant| search_hits(search_tenant(&ddb, &table, "by_tenant", tenant));
    assert_eq!(item_count(&ddb, &table, "by_tenant").await, 3);
    assert_hits(
        &in_tenant("t1").await,
        &[("a", 1.0)],
        "t1 after the restart",
    );
    assert_hits(
        &in_tenant("t2").await,
        &[("b", 2.0), ("c", 3.0)],
        "t2 after the restart",
    );

    // And items still move: c from t2 to t1.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key("c")))
        .update_expression("SET tenant = :t")
        .expression_attribute_values(":t", s("t1"))
        .send()
        .await);
    assert_hits(
        &in_tenant("t1").await,
        &[("a", 1.0), ("c", 3.0)],
        "t1 with c",
    );
    assert_hits(&in_tenant("t2").await, &[("b", 2.0)], "t2 without c");
    assert_eq!(item_count(&ddb, &table, "by_tenant").await, 3);
}
