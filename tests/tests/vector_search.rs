//! Vector search (DynamoDB, 2025) end to end with aws-sdk-dynamodb: CreateTable takes
//! `VectorIndexes` (a vector attribute, its dimensions, a distance function, a projection and
//! an optional search schema: a HASH attribute and INLINE_FILTER ones), and CreateTable and
//! DescribeTable give them back, ACTIVE, with an index ARN; bad ones are refused and nothing
//! is created. Items hold their vectors as lists of numbers; an item without one of the
//! index's dimensions is in no search. `SearchVectors` answers the TopK nearest items, most
//! similar first, scored as each distance function says (COSINE and EUCLIDEAN ascending,
//! DOT_PRODUCT descending); each result carries what the index projects (narrowed by a
//! ProjectionExpression); a HASH search schema attribute partitions the index and must be
//! given, an INLINE_FILTER one narrows further; ReturnConsumedCapacity reports
//! `VectorSearchRequestBytes` only; writes are seen by the next search; refused searches
//! answer in DynamoDB's words; and the indexes answer the same after a restart.
//!
//! The exact error texts and the ConsumedCapacity shape are DynamoDB's own, as captured
//! against AWS by the paritysuite conformance tests
//! `tests/tier3/error-messages/searchVectors.test.ts` and
//! `tests/tier2/vectorSearch/consumedCapacity.test.ts`.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::search_vectors::builders::SearchVectorsFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, IndexStatus, KeyType, Projection, ProjectionType,
    ReturnConsumedCapacity, ScalarAttributeType, SearchSchemaElement, SearchSchemaElementType,
    TableDescription, VectorAttributeDefinition, VectorDistanceFunction, VectorIndex,
    VectorIndexDescription, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

type Item = HashMap<String, AttributeValue>;
/// What a search should answer: (pk, score) pairs, nearest first.
type Expected = Vec<(&'static str, f64)>;
/// Expression values of a search condition: (placeholder, string value).
type Values = &'static [(&'static str, &'static str)];

/// COSINE over [`VECTOR`], projecting ALL, no search schema.
const COS: &str = "by_cosine";
/// EUCLIDEAN over [`VECTOR`], KEYS_ONLY, no search schema.
const EUC: &str = "by_euclid";
/// DOT_PRODUCT over [`VECTOR`], INCLUDE `note`, no search schema.
const DOT: &str = "by_dot";
/// EUCLIDEAN over [`VECTOR`], KEYS_ONLY, searched by `tenant` (HASH) and `category`
/// (INLINE_FILTER).
const TENANT: &str = "by_tenant";
/// The attribute every fixture index reads its vectors from (not an AttributeDefinition).
const VECTOR: &str = "embedding";
const DIMENSIONS: i64 = 3;
/// The fixture's items with a proper vector: (pk, vector, tenant, category). Searched with
/// [1, 0, 0], each distance function orders them differently and without ties:
///
/// | pk | COSINE (1 - cos)  | EUCLIDEAN | DOT_PRODUCT |
/// |----|-------------------|-----------|-------------|
/// | a  | 0                 | 0         | 1           |
/// | b  | 0.2               | √18       | 4           |
/// | c  | 1                 | √5        | 0           |
/// | d  | 2                 | 2         | -1          |
/// | e  | 1 - 2/√5 ≈ 0.106  | √2        | 2           |
const ROWS: [(&str, [i64; 3], &str, &str); 5] = [
    ("a", [1, 0, 0], "t1", "red"),
    ("b", [4, 3, 0], "t1", "blue"),
    ("c", [0, 2, 0], "t2", "red"),
    ("d", [-1, 0, 0], "t1", "red"),
    ("e", [2, 0, 1], "t2", "blue"),
];

/// The search vector the expectations above are for.
const QUERY: [f64; 3] = [1.0, 0.0, 0.0];

/// What the search with [`QUERY`] answers, nearest first, on each schema-less index.
fn cosine_answer() -> Expected {
    vec![
        ("a", 0.0),
        ("e", 1.0 - 2.0 / 5f64.sqrt()),
        ("b", 0.2),
        ("c", 1.0),
        ("d", 2.0),
    ]
}

fn euclid_answer() -> Expected {
    vec![
        ("a", 0.0),
        ("e", 2f64.sqrt()),
        ("d", 2.0),
        ("c", 5f64.sqrt()),
        ("b", 18f64.sqrt()),
    ]
}

fn dot_answer() -> Expected {
    vec![("b", 4.0), ("e", 2.0), ("a", 1.0), ("c", 0.0), ("d", -1.0)]
}

/// A vector as items store it and searches give it: a list of numbers.
fn vector<T: std::fmt::Display>(values: &[T]) -> AttributeValue {
    AttributeValue::L(values.iter().map(n).collect())
}

/// A fixture item: key `pk` / `sk = "v"`, tenant, category, a note, and the vector if any.
fn row(pk: &str, embedding: Option<AttributeValue>, tenant: &str, category: &str) -> Item {
    let mut it = item(&[
        ("pk", s(pk)),
        ("sk", s("v")),
        ("tenant", s(tenant)),
        ("category", s(category)),
        ("note", s(&format!("note of {pk}"))),
    ]);
    if let Some(embedding) = embedding {
        it.insert(VECTOR.into(), embedding);
    }
    it
}

/// The fixture item of [`ROWS`] named `pk`.
fn fixture_item(pk: &str) -> Item {
    let (pk, v, tenant, category) = ROWS
        .iter()
        .find(|(name, ..)| *name == pk)
        .unwrap_or_else(|| panic!("no row {pk}"));
    row(pk, Some(vector(v)), tenant, category)
}

/// Items no search may find (every one of tenant t1 and category red, so that a search of
/// that partition would see them too): no vector, or not a list of three numbers.
fn unsearchable_items() -> Vec<Item> {
    vec![
        row("no_vector", None, "t1", "red"),
        row("too_short", Some(vector(&[1, 0])), "t1", "red"),
        row("too_long", Some(vector(&[1, 0, 0, 0])), "t1", "red"),
        row(
            "not_all_numbers",
            Some(AttributeValue::L(vec![n(1), s("0"), n(0)])),
            "t1",
            "red",
        ),
        row(
            "nested",
            Some(AttributeValue::L(vec![vector(&[1, 0, 0])])),
            "t1",
            "red",
        ),
        row(
            "number_set",
            Some(AttributeValue::Ns(vec!["1".into(), "2".into(), "3".into()])),
            "t1",
            "red",
        ),
        row("string", Some(s("1,0,0")), "t1", "red"),
    ]
}

fn search_element(name: &str, kind: SearchSchemaElementType) -> SearchSchemaElement {
    SearchSchemaElement::builder()
        .attribute_name(name)
        .search_schema_element_type(kind)
        .build()
        .unwrap()
}

fn vector_attribute(name: &str) -> VectorAttributeDefinition {
    VectorAttributeDefinition::builder()
        .attribute_name(name)
        .build()
        .unwrap()
}

/// A vector index `name` over [`VECTOR`] with [`DIMENSIONS`].
fn vector_index(
    name: &str,
    function: VectorDistanceFunction,
    projection: Projection,
    schema: Vec<SearchSchemaElement>,
) -> VectorIndex {
    vector_index_of(name, VECTOR, DIMENSIONS, function, projection, schema)
}

fn vector_index_of(
    name: &str,
    attribute: &str,
    dimensions: i64,
    function: VectorDistanceFunction,
    projection: Projection,
    schema: Vec<SearchSchemaElement>,
) -> VectorIndex {
    let mut b = VectorIndex::builder()
        .index_name(name)
        .vector_attribute(vector_attribute(attribute))
        .dimensions(dimensions)
        .distance_function(function)
        .projection(projection);
    for element in schema {
        b = b.search_schema(element);
    }
    b.build().unwrap()
}

/// The fixture's four vector indexes, [`COS`], [`EUC`], [`DOT`] and [`TENANT`].
fn fixture_indexes() -> Vec<VectorIndex> {
    vec![
        vector_index(
            COS,
            VectorDistanceFunction::Cosine,
            projection(ProjectionType::All, &[]),
            vec![],
        ),
        vector_index(
            EUC,
            VectorDistanceFunction::Euclidean,
            projection(ProjectionType::KeysOnly, &[]),
            vec![],
        ),
        vector_index(
            DOT,
            VectorDistanceFunction::DotProduct,
            projection(ProjectionType::Include, &["note"]),
            vec![],
        ),
        vector_index(
            TENANT,
            VectorDistanceFunction::Euclidean,
            projection(ProjectionType::KeysOnly, &[]),
            vec![
                search_element("tenant", SearchSchemaElementType::Hash),
                search_element("category", SearchSchemaElementType::InlineFilter),
            ],
        ),
    ]
}

/// A table keyed by `pk` and `sk` with the [`fixture_indexes`], ACTIVE, holding [`ROWS`]
/// and the [`unsearchable_items`]; also the description CreateTable answered.
async fn fixture_table(ddb: &Client) -> (String, TableDescription) {
    let name = unique_name("vec");
    let mut request = ddb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .set_vector_indexes(Some(fixture_indexes()));
    for attr in ["pk", "sk", "tenant", "category"] {
        request = request.attribute_definitions(attribute_definition(attr, ScalarAttributeType::S));
    }
    let created = ok(request.send().await);
    wait_vector_indexes_active(ddb, &name).await;
    for (pk, ..) in ROWS {
        put_item(ddb, &name, fixture_item(pk)).await;
    }
    for it in unsearchable_items() {
        put_item(ddb, &name, it).await;
    }
    (name, created.table_description.unwrap())
}

/// Waits until the table and every vector index it describes are ACTIVE (deadline 30 s).
async fn wait_vector_indexes_active(ddb: &Client, table: &str) {
    wait_table_active(ddb, table).await;
    let active = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async {
            let described = describe(ddb, table).await;
            !described.vector_indexes().is_empty()
                && described
                    .vector_indexes()
                    .iter()
                    .all(|index| index.index_status() == Some(&IndexStatus::Active))
        },
    )
    .await;
    assert!(
        active,
        "the vector indexes of {table} did not become ACTIVE within 30 s: {:?}",
        describe(ddb, table).await.vector_indexes()
    );
}

/// Asserts `described` holds exactly the `expected` indexes, each with the settings given.
#[track_caller]
fn assert_describes(described: &[VectorIndexDescription], expected: &[VectorIndex]) {
    let mut names: Vec<&str> = described.iter().filter_map(|d| d.index_name()).collect();
    names.sort_unstable();
    let mut expected_names: Vec<&str> = expected.iter().map(|e| e.index_name()).collect();
    expected_names.sort_unstable();
    assert_eq!(names, expected_names, "{described:?}");
    for want in expected {
        let got = described
            .iter()
            .find(|d| d.index_name() == Some(want.index_name()))
            .unwrap();
        let name = want.index_name();
        assert_eq!(got.vector_attribute(), want.vector_attribute(), "{name}");
        assert_eq!(got.dimensions(), Some(want.dimensions()), "{name}");
        assert_eq!(
            got.distance_function(),
            Some(want.distance_function()),
            "{name}"
        );
        assert_eq!(got.search_schema(), want.search_schema(), "{name}");
        let (got_p, want_p) = (got.projection().unwrap(), want.projection().unwrap());
        assert_eq!(got_p.projection_type(), want_p.projection_type(), "{name}");
        assert_eq!(
            got_p.non_key_attributes(),
            want_p.non_key_attributes(),
            "{name}"
        );
    }
}

/// [`search`] with the condition `condition` and `values` for it.
fn search_where(
    ddb: &Client,
    table: &str,
    index: &str,
    condition: &str,
    values: &[(&str, &str)],
) -> SearchVectorsFluentBuilder {
    let mut request =
        search_vectors(ddb, table, index, &QUERY).search_condition_expression(condition);
    for (placeholder, value) in values {
        request = request.expression_attribute_values(*placeholder, s(value));
    }
    request
}

/// An item's attribute names, sorted.
fn names(it: &Item) -> Vec<String> {
    let mut v: Vec<String> = it.keys().cloned().collect();
    v.sort();
    v
}

#[tokio::test]
async fn vector_indexes_are_created_described_and_checked() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, created) = fixture_table(&ddb).await;

    // CreateTable's description and DescribeTable's give every index back as it was given.
    assert_describes(created.vector_indexes(), &fixture_indexes());
    let described = describe(&ddb, &table).await;
    assert_describes(described.vector_indexes(), &fixture_indexes());
    let table_arn = described.table_arn().unwrap();
    for index in described.vector_indexes() {
        let name = index.index_name().unwrap();
        assert_eq!(index.index_status(), Some(&IndexStatus::Active), "{name}");
        assert_eq!(
            index.index_arn(),
            Some(format!("{table_arn}/index/{name}").as_str()),
            "{name}"
        );
    }
    // Each counts the rows whose vector it reads (never the unsearchable items), and a
    // KEYS_ONLY entry is smaller than an ALL one.
    let stats = |name: &str| {
        let index = described
            .vector_indexes()
            .iter()
            .find(|i| i.index_name() == Some(name))
            .unwrap();
        (
            index.item_count().unwrap(),
            index.index_size_bytes().unwrap(),
        )
    };
    for name in [COS, EUC, DOT, TENANT] {
        assert_eq!(stats(name).0, ROWS.len() as i64, "{name}");
    }
    assert!(
        0 < stats(EUC).1 && stats(EUC).1 < stats(COS).1,
        "{:?}",
        (stats(EUC), stats(COS))
    );

    // A vector index is neither a GSI nor an LSI, and the table's key is its own.
    assert!(described.global_secondary_indexes().is_empty());
    assert!(described.local_secondary_indexes().is_empty());
    assert_eq!(
        described.key_schema(),
        [
            key_element("pk", KeyType::Hash),
            key_element("sk", KeyType::Range)
        ]
    );

    // Refused: each CreateTable below is the fixture's one index (on a table defining pk
    // and tenant) with one thing wrong.
    let cosine_all = |name: &str, dimensions: i64, function: VectorDistanceFunction| {
        vector_index_of(
            name,
            VECTOR,
            dimensions,
            function,
            projection(ProjectionType::All, &[]),
            vec![],
        )
    };
    let with_schema = |schema: Vec<SearchSchemaElement>| {
        vector_index(
            "schema",
            VectorDistanceFunction::Cosine,
            projection(ProjectionType::All, &[]),
            schema,
        )
    };
    let refusals: [(&str, Vec<VectorIndex>); 5] = [
        (
            "Dimensions 0",
            vec![cosine_all("zero", 0, VectorDistanceFunction::Cosine)],
        ),
        (
            "a distance function outside the enum",
            vec![cosine_all(
                "manhattan",
                DIMENSIONS,
                VectorDistanceFunction::from("MANHATTAN"),
            )],
        ),
        (
            "a search schema attribute not in AttributeDefinitions",
            vec![with_schema(vec![search_element(
                "region",
                SearchSchemaElementType::Hash,
            )])],
        ),
        (
            "a search schema element type outside the enum",
            vec![with_schema(vec![search_element(
                "tenant",
                SearchSchemaElementType::from("RANGE"),
            )])],
        ),
        (
            "two vector indexes of one name",
            vec![
                cosine_all("twice", DIMENSIONS, VectorDistanceFunction::Cosine),
                cosine_all("twice", DIMENSIONS, VectorDistanceFunction::Euclidean),
            ],
        ),
    ];
    for (what, indexes) in refusals {
        let name = unique_name("vecbad");
        let answer = ddb
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key_element("pk", KeyType::Hash))
            .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
            .attribute_definitions(attribute_definition("tenant", ScalarAttributeType::S))
            .set_vector_indexes(Some(indexes))
            .send()
            .await;
        assert_create_refused(&ddb, &name, answer, what).await;
    }
}

#[tokio::test]
async fn each_distance_function_orders_the_nearest_first() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, _) = fixture_table(&ddb).await;

    // Every item with a three-number vector, and none of the others, in each function's
    // order: COSINE and EUCLIDEAN nearest (lowest) first, DOT_PRODUCT highest first.
    let cases = [
        (COS, cosine_answer()),
        (EUC, euclid_answer()),
        (DOT, dot_answer()),
    ];
    for (index, expected) in &cases {
        assert_hits(
            &search_hits(search_vectors(&ddb, &table, index, &QUERY)).await,
            expected,
            index,
        );
    }

    // TopK keeps the first K.
    for (index, expected) in &cases {
        for top in [1, 2, 4] {
            let got = search_hits(search_vectors(&ddb, &table, index, &QUERY).top_k(top)).await;
            assert_hits(
                &got,
                &expected[..top as usize],
                &format!("{index} TopK {top}"),
            );
        }
    }

    // Cosine does not care for the search vector's length; the others do.
    assert_hits(
        &search_hits(search_vectors(&ddb, &table, COS, &[10.0, 0.0, 0.0])).await,
        &cosine_answer(),
        "COSINE of [10, 0, 0]",
    );
    // Another search vector, another order: fractions are taken as they are.
    assert_hits(
        &search_hits(search_vectors(&ddb, &table, EUC, &[0.5, 0.0, 0.0])).await,
        &[
            ("a", 0.5),
            ("d", 1.5),
            ("e", 3.25f64.sqrt()),
            ("c", 4.25f64.sqrt()),
            ("b", 21.25f64.sqrt()),
        ],
        "EUCLIDEAN of [0.5, 0, 0]",
    );
    // The opposite vector turns the dot products round.
    assert_hits(
        &search_hits(search_vectors(&ddb, &table, DOT, &[-1.0, 0.0, 0.0])).await,
        &[
            ("d", 1.0),
            ("c", 0.0),
            ("a", -1.0),
            ("e", -2.0),
            ("b", -4.0),
        ],
        "DOT_PRODUCT of [-1, 0, 0]",
    );
}

#[tokio::test]
async fn results_carry_the_projected_attributes_and_the_capacity_asked_for() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, _) = fixture_table(&ddb).await;

    // ALL: the whole item, vector included.
    let all = search_results(search_vectors(&ddb, &table, COS, &QUERY)).await;
    assert_eq!(all.len(), ROWS.len());
    for result in &all {
        assert_eq!(result.item(), Some(&fixture_item(&pk_of(result))));
    }

    // KEYS_ONLY: the table's key and the vector; with a search schema, its attributes too.
    // INCLUDE: those and the attributes named.
    let projected = [
        (
            search_vectors(&ddb, &table, EUC, &QUERY),
            vec!["embedding", "pk", "sk"],
        ),
        (
            search_where(&ddb, &table, TENANT, "tenant = :t", &[(":t", "t1")]),
            vec!["category", "embedding", "pk", "sk", "tenant"],
        ),
        (
            search_vectors(&ddb, &table, DOT, &QUERY),
            vec!["embedding", "note", "pk", "sk"],
        ),
    ];
    for (request, expected) in projected {
        let index = request.get_index_name().clone().unwrap();
        let found = search_results(request).await;
        assert!(!found.is_empty(), "{index}");
        for result in &found {
            let it = result.item().unwrap();
            assert_eq!(names(it), expected, "{index}");
            // What is projected is the item's own value.
            let whole = fixture_item(&pk_of(result));
            for name in &expected {
                assert_eq!(it.get(*name), whole.get(*name), "{index} {name}");
            }
        }
    }

    // A ProjectionExpression narrows what the index projects.
    let narrowed =
        search_results(search_vectors(&ddb, &table, COS, &QUERY).projection_expression("pk")).await;
    assert_eq!(narrowed.len(), ROWS.len());
    for result in &narrowed {
        assert_eq!(names(result.item().unwrap()), ["pk"]);
    }
    let narrowed = search_results(
        search_vectors(&ddb, &table, DOT, &QUERY)
            .projection_expression("#n, pk")
            .expression_attribute_names("#n", "note"),
    )
    .await;
    let pks: Vec<String> = narrowed.iter().map(pk_of).collect();
    assert_eq!(pks, ["b", "e", "a", "c", "d"]);
    for result in &narrowed {
        let it = result.item().unwrap();
        assert_eq!(names(it), ["note", "pk"]);
        assert_eq!(it["note"], s(&format!("note of {}", pk_of(result))));
    }

    // TOTAL and INDEXES report the vector search bytes, NONE and no ask nothing.
    for asked in [
        ReturnConsumedCapacity::Total,
        ReturnConsumedCapacity::Indexes,
    ] {
        let out = ok(search_vectors(&ddb, &table, COS, &QUERY)
            .top_k(1)
            .return_consumed_capacity(asked.clone())
            .send()
            .await);
        let consumed = out
            .consumed_capacity()
            .unwrap_or_else(|| panic!("{asked:?}: no ConsumedCapacity"));
        let bytes = consumed.vector_search_request_bytes().unwrap_or_default();
        assert!(bytes > 0.0, "{asked:?}: {consumed:?}");
        assert_eq!(consumed.vector_write_request_bytes(), None, "{asked:?}");
        assert_eq!(out.search_results().len(), 1);
    }
    let none = ok(search_vectors(&ddb, &table, COS, &QUERY)
        .return_consumed_capacity(ReturnConsumedCapacity::None)
        .send()
        .await);
    assert_eq!(none.consumed_capacity(), None);
    let unasked = ok(search_vectors(&ddb, &table, COS, &QUERY).send().await);
    assert_eq!(unasked.consumed_capacity(), None);

    // On the wire the capacity is a bare {VectorSearchRequestBytes}: no CapacityUnits, no
    // TableName, no Table.
    let body = serde_json::json!({
        "TableName": table,
        "IndexName": COS,
        "SearchVector": [{"N": "1"}, {"N": "0"}, {"N": "0"}],
        "TopK": 1,
        "ReturnConsumedCapacity": "TOTAL",
    });
    let answer = raw_call(
        &store.endpoint(),
        "SearchVectors",
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.json());
    let json = answer.json();
    let consumed = json["ConsumedCapacity"]
        .as_object()
        .unwrap_or_else(|| panic!("no ConsumedCapacity object: {json}"));
    let keys: Vec<&String> = consumed.keys().collect();
    assert_eq!(keys, ["VectorSearchRequestBytes"], "{json}");
    assert!(consumed["VectorSearchRequestBytes"].as_f64().unwrap() > 0.0);
    assert_eq!(
        json["SearchResults"][0]["Item"]["pk"],
        serde_json::json!({"S": "a"})
    );
    assert!(json["SearchResults"][0]["Score"].is_number(), "{json}");
}

#[tokio::test]
async fn a_hash_search_attribute_partitions_the_index_and_inline_filters_narrow_it() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, _) = fixture_table(&ddb).await;

    // By EUCLIDEAN distance from [1, 0, 0] within the tenant given; the unsearchable items
    // (all t1, red) are in none.
    let (root2, root5, root18) = (2f64.sqrt(), 5f64.sqrt(), 18f64.sqrt());
    let cases: [(&str, Values, Expected); 8] = [
        (
            "tenant = :t",
            &[(":t", "t1")],
            vec![("a", 0.0), ("d", 2.0), ("b", root18)],
        ),
        (
            "tenant = :t",
            &[(":t", "t2")],
            vec![("e", root2), ("c", root5)],
        ),
        ("tenant = :t", &[(":t", "t3")], vec![]),
        (
            "tenant = :t AND category = :c",
            &[(":t", "t1"), (":c", "red")],
            vec![("a", 0.0), ("d", 2.0)],
        ),
        (
            "tenant = :t AND category = :c",
            &[(":t", "t1"), (":c", "blue")],
            vec![("b", root18)],
        ),
        (
            "tenant = :t AND category = :c",
            &[(":t", "t2"), (":c", "red")],
            vec![("c", root5)],
        ),
        (
            "tenant = :t AND category = :c",
            &[(":t", "t2"), (":c", "green")],
            vec![],
        ),
        // The placeholders' names are the caller's.
        (
            "tenant = :x AND category = :y",
            &[(":x", "t2"), (":y", "blue")],
            vec![("e", root2)],
        ),
    ];
    for (condition, values, expected) in &cases {
        let got = search_hits(search_where(&ddb, &table, TENANT, condition, values)).await;
        assert_hits(&got, expected, &format!("{condition} {values:?}"));
    }

    // ExpressionAttributeNames stand for the attributes.
    let named = search_hits(
        search_where(
            &ddb,
            &table,
            TENANT,
            "#t = :t AND #c = :c",
            &[(":t", "t1"), (":c", "red")],
        )
        .expression_attribute_names("#t", "tenant")
        .expression_attribute_names("#c", "category"),
    )
    .await;
    assert_hits(&named, &[("a", 0.0), ("d", 2.0)], "#t = :t AND #c = :c");

    // TopK counts within the partition.
    let first =
        search_hits(search_where(&ddb, &table, TENANT, "tenant = :t", &[(":t", "t1")]).top_k(2))
            .await;
    assert_hits(&first, &[("a", 0.0), ("d", 2.0)], "t1, TopK 2");
}

#[tokio::test]
async fn writes_are_seen_by_the_next_search() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, _) = fixture_table(&ddb).await;
    let euclid = || search_hits(search_vectors(&ddb, &table, EUC, &QUERY));
    let in_tenant = |tenant: &'static str| {
        search_hits(search_where(
            &ddb,
            &table,
            TENANT,
            "tenant = :t",
            &[(":t", tenant)],
        ))
    };
    let key = |pk: &str| item(&[("pk", s(pk)), ("sk", s("v"))]);
    let (root2, root5, root18) = (2f64.sqrt(), 5f64.sqrt(), 18f64.sqrt());
    assert_hits(&euclid().await, &euclid_answer(), "before");

    // A deleted item is gone.
    ok(ddb
        .delete_item()
        .table_name(&table)
        .set_key(Some(key("a")))
        .send()
        .await);
    assert_hits(
        &euclid().await,
        &[("e", root2), ("d", 2.0), ("c", root5), ("b", root18)],
        "a deleted",
    );

    // A new item nearer than all comes first.
    put_item(
        &ddb,
        &table,
        row("f", Some(vector(&[1, 1, 0])), "t2", "red"),
    )
    .await;
    assert_hits(
        &euclid().await,
        &[
            ("f", 1.0),
            ("e", root2),
            ("d", 2.0),
            ("c", root5),
            ("b", root18),
        ],
        "f put",
    );
    assert_hits(
        &in_tenant("t2").await,
        &[("f", 1.0), ("e", root2), ("c", root5)],
        "t2 with f",
    );

    // An update of the vector moves the item: b from last to first.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key("b")))
        .update_expression("SET embedding = :v")
        .expression_attribute_values(":v", vector(&[1, 0, 0]))
        .send()
        .await);
    assert_hits(
        &euclid().await,
        &[
            ("b", 0.0),
            ("f", 1.0),
            ("e", root2),
            ("d", 2.0),
            ("c", root5),
        ],
        "b moved",
    );

    // An update of the HASH search attribute moves it to another partition.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key("b")))
        .update_expression("SET tenant = :t")
        .expression_attribute_values(":t", s("t2"))
        .send()
        .await);
    assert_hits(&in_tenant("t1").await, &[("d", 2.0)], "t1 without b");
    assert_hits(
        &in_tenant("t2").await,
        &[("b", 0.0), ("f", 1.0), ("e", root2), ("c", root5)],
        "t2 with b",
    );

    // An update of one element of the vector: d from [-1, 0, 0] to [0.5, 0, 0].
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key("d")))
        .update_expression("SET embedding[0] = :x")
        .expression_attribute_values(":x", n(0.5))
        .send()
        .await);
    assert_hits(
        &euclid().await,
        &[
            ("b", 0.0),
            ("d", 0.5),
            ("f", 1.0),
            ("e", root2),
            ("c", root5),
        ],
        "d moved",
    );

    // An item whose vector is removed, or replaced by one of the wrong length, is gone.
    ok(ddb
        .update_item()
        .table_name(&table)
        .set_key(Some(key("c")))
        .update_expression("REMOVE embedding")
        .send()
        .await);
    put_item(&ddb, &table, row("e", Some(vector(&[2, 0])), "t2", "blue")).await;
    assert_hits(
        &euclid().await,
        &[("b", 0.0), ("d", 0.5), ("f", 1.0)],
        "c and e without vectors",
    );
    assert_hits(
        &in_tenant("t2").await,
        &[("b", 0.0), ("f", 1.0)],
        "t2 without c and e",
    );

    // A batch write reaches the index alike: g in, f out.
    let requests: Vec<WriteRequest> = vec![
        batch_put(row("g", Some(vector(&[1, 0, 2])), "t1", "red")),
        WriteRequest::builder()
            .delete_request(
                aws_sdk_dynamodb::types::DeleteRequest::builder()
                    .set_key(Some(key("f")))
                    .build()
                    .unwrap(),
            )
            .build(),
    ];
    batch_write_all(&ddb, &table, requests).await;
    assert_hits(
        &euclid().await,
        &[("b", 0.0), ("d", 0.5), ("g", 2.0)],
        "g in, f out",
    );
    assert_hits(
        &in_tenant("t1").await,
        &[("d", 0.5), ("g", 2.0)],
        "t1 with g",
    );
}

#[tokio::test]
async fn searches_are_refused_in_dynamodb_words() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let (table, _) = fixture_table(&ddb).await;
    let refused = |message: &str| Some(message.to_string());
    let comparator =
        "Invalid SearchConditionExpression: Invalid comparator used in SearchConditionExpression";
    let invalid_values = "Search vector contains invalid values. All values in the search \
                          vector must be a 32-bit floating-point number attribute";
    let cases: Vec<(&str, SearchVectorsFluentBuilder, Option<String>)> = vec![
        (
            "TopK 101",
            search_vectors(&ddb, &table, COS, &QUERY).top_k(101),
            refused(
                "Provided TopK value '101' is out of valid range. The value must be between 1 \
                 and 100 inclusive",
            ),
        ),
        (
            "TopK 0",
            search_vectors(&ddb, &table, COS, &QUERY).top_k(0),
            None,
        ),
        (
            "no condition on a HASH search schema",
            search_vectors(&ddb, &table, TENANT, &QUERY),
            refused("SearchConditionExpression must be provided when SearchSchema has a HASH key"),
        ),
        (
            "< on the HASH attribute",
            search_where(&ddb, &table, TENANT, "tenant < :t", &[(":t", "t9")]),
            refused(comparator),
        ),
        (
            "< on the INLINE_FILTER attribute",
            search_where(
                &ddb,
                &table,
                TENANT,
                "tenant = :t AND category < :c",
                &[(":t", "t1"), (":c", "c9")],
            ),
            refused(comparator),
        ),
        (
            "two dimensions of three",
            search_vectors(&ddb, &table, COS, &[1.0, 0.0]),
            refused("Input search vector dimension 2 does not match vector index dimension 3"),
        ),
        (
            "four dimensions of three",
            search_vectors(&ddb, &table, COS, &[1.0, 0.0, 0.0, 0.0]),
            refused("Input search vector dimension 4 does not match vector index dimension 3"),
        ),
        (
            "an attribute outside the search schema",
            search_where(&ddb, &table, COS, "tenant = :t", &[(":t", "t1")]),
            refused(
                "SearchConditionExpression must not contain any attributes that is not in \
                 SearchSchema. Invalid attribute: tenant",
            ),
        ),
        (
            "a list-wrapped search vector",
            ddb.search_vectors()
                .table_name(&table)
                .index_name(COS)
                .top_k(1)
                .search_vector(vector(&[1, 0, 0])),
            refused(invalid_values),
        ),
        (
            "a string in the search vector",
            ddb.search_vectors()
                .table_name(&table)
                .index_name(COS)
                .top_k(1)
                .search_vector(n(1))
                .search_vector(s("0"))
                .search_vector(n(0)),
            refused(invalid_values),
        ),
    ];
    for (what, request, message) in cases {
        let err = assert_validation_error(request.send().await, what);
        if let Some(message) = message {
            assert_eq!(err.message(), Some(message.as_str()), "{what}");
        }
    }

    // The bounds themselves are taken.
    assert_eq!(
        search_results(search_vectors(&ddb, &table, COS, &QUERY).top_k(1))
            .await
            .len(),
        1
    );
    assert_eq!(
        search_results(search_vectors(&ddb, &table, COS, &QUERY).top_k(100))
            .await
            .len(),
        ROWS.len()
    );

    // An index the table does not have; a table that does not exist.
    assert_validation_containing(
        search_vectors(&ddb, &table, "no_such_index", &QUERY)
            .send()
            .await,
        "no_such_index",
    );
    assert_api_error(
        search_vectors(&ddb, &unique_name("vecnone"), COS, &QUERY)
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
}

#[tokio::test]
async fn vector_indexes_answer_the_same_after_a_restart() {
    let mut store = StoreProcess::spawn();
    let table = {
        let ddb = store.client();
        let (table, _) = fixture_table(&ddb).await;
        assert_hits(
            &search_hits(search_vectors(&ddb, &table, COS, &QUERY)).await,
            &cosine_answer(),
            "COSINE before",
        );
        table
    };
    let status = store.terminate();
    assert!(status.success(), "the store exited with {status}");
    store.restart();
    let ddb = store.client();

    // The catalog kept every index, and the indexes their entries.
    wait_vector_indexes_active(&ddb, &table).await;
    assert_describes(
        describe(&ddb, &table).await.vector_indexes(),
        &fixture_indexes(),
    );
    for (index, expected) in [
        (COS, cosine_answer()),
        (EUC, euclid_answer()),
        (DOT, dot_answer()),
    ] {
        assert_hits(
            &search_hits(search_vectors(&ddb, &table, index, &QUERY)).await,
            &expected,
            &format!("{index} after the restart"),
        );
    }
    let t1 = search_hits(search_where(
        &ddb,
        &table,
        TENANT,
        "tenant = :t",
        &[(":t", "t1")],
    ))
    .await;
    assert_hits(
        &t1,
        &[("a", 0.0), ("d", 2.0), ("b", 18f64.sqrt())],
        "t1 after the restart",
    );

    // Writes after the restart still reach the indexes.
    put_item(
        &ddb,
        &table,
        row("f", Some(vector(&[1, 1, 0])), "t1", "red"),
    )
    .await;
    let t1 = search_hits(search_where(
        &ddb,
        &table,
        TENANT,
        "tenant = :t",
        &[(":t", "t1")],
    ))
    .await;
    assert_hits(
        &t1,
        &[("a", 0.0), ("f", 1.0), ("d", 2.0), ("b", 18f64.sqrt())],
        "t1 with f",
    );
}

/// UpdateTable adds a vector index to a table holding items (searchable at once,
/// declaring its search schema's attribute beside the table's) and deletes it (its
/// attribute definition dropped with it); a backup describes the table's vector indexes
/// and its restore searches as the table did.
#[tokio::test]
async fn update_table_adds_and_deletes_vector_indexes_and_restores_keep_them() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("vecupd");
    let string = ScalarAttributeType::S;
    create_table(&ddb, &table, ("pk", string.clone()), Some(("sk", string))).await;
    for (pk, ..) in ROWS {
        put_item(&ddb, &table, fixture_item(pk)).await;
    }
    let index = fixture_indexes().remove(3);
    let updated = ok(ddb
        .update_table()
        .table_name(&table)
        .attribute_definitions(attribute_definition("tenant", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("category", ScalarAttributeType::S))
        .vector_index_updates(create_vector_index(&index))
        .send()
        .await);
    let described = updated.table_description.unwrap();
    assert_describes(described.vector_indexes(), std::slice::from_ref(&index));
    let defined = |d: &TableDescription| -> Vec<String> {
        let mut names: Vec<String> = d
            .attribute_definitions()
            .iter()
            .map(|a| a.attribute_name().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(defined(&described), ["category", "pk", "sk", "tenant"]);
    // Filled from the table's items first, as a new GSI is.
    let creating = &described.vector_indexes()[0];
    assert_eq!(creating.index_status(), Some(&IndexStatus::Creating));
    assert_eq!(creating.backfilling(), Some(true));
    wait_vector_indexes_active(&ddb, &table).await;
    let by_tenant = || search_where(&ddb, &table, TENANT, "tenant = :t", &[(":t", "t1")]);
    let before = search_hits(by_tenant()).await;
    assert!(!before.is_empty(), "the new index found nothing");

    // The same name again is refused.
    let again = ddb
        .update_table()
        .table_name(&table)
        .vector_index_updates(create_vector_index(&index))
        .send()
        .await;
    assert_validation_containing(again, "already exists");

    // A backup describes it, and the table restored from it searches as this one does.
    let backup = ok(ddb
        .create_backup()
        .table_name(&table)
        .backup_name("with-vectors")
        .send()
        .await)
    .backup_details
    .unwrap()
    .backup_arn;
    let described_backup = ok(ddb.describe_backup().backup_arn(&backup).send().await);
    let features = described_backup
        .backup_description
        .and_then(|d| d.source_table_feature_details)
        .unwrap();
    let listed: Vec<&str> = features
        .vector_indexes()
        .iter()
        .filter_map(|v| v.index_name())
        .collect();
    assert_eq!(listed, [TENANT]);
    let restored = format!("{table}-restored");
    ok(ddb
        .restore_table_from_backup()
        .backup_arn(&backup)
        .target_table_name(&restored)
        .send()
        .await);
    wait_vector_indexes_active(&ddb, &restored).await;
    let on_restored = search_hits(search_where(
        &ddb,
        &restored,
        TENANT,
        "tenant = :t",
        &[(":t", "t1")],
    ))
    .await;
    assert_eq!(on_restored, before);

    // Deleted: searches are refused, and the search schema's definitions go with it.
    let deleted = ok(ddb
        .update_table()
        .table_name(&table)
        .vector_index_updates(
            aws_sdk_dynamodb::types::VectorIndexUpdate::builder()
                .delete(
                    aws_sdk_dynamodb::types::DeleteVectorIndexAction::builder()
                        .index_name(TENANT)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await);
    let described = deleted.table_description.unwrap();
    assert!(described.vector_indexes().is_empty());
    assert_eq!(defined(&described), ["pk", "sk"]);
    assert_validation_containing(by_tenant().send().await, TENANT);
}

/// A write reports, with INDEXES only, the bytes it took on each vector index whose stored
/// view it changed (DynamoDB's `VectorWriteRequestBytes`, as the conformance suite pinned
/// it): the entry's item size with the vector counted as its name and four bytes a
/// dimension, at least 1024; nothing for an identical overwrite or a change the index
/// does not project.
#[tokio::test]
async fn writes_report_their_vector_index_bytes_with_indexes() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("vecw");
    let all = |name: &str, attribute: &str, dimensions: i64| {
        vector_index_of(
            name,
            attribute,
            dimensions,
            VectorDistanceFunction::Cosine,
            projection(ProjectionType::All, &[]),
            vec![],
        )
    };
    let keys_only = vector_index_of(
        "vkeys",
        VECTOR,
        DIMENSIONS,
        VectorDistanceFunction::Cosine,
        projection(ProjectionType::KeysOnly, &[]),
        vec![],
    );
    ok(ddb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .vector_indexes(all("vix", VECTOR, 3))
        .vector_indexes(keys_only)
        .vector_indexes(all("vsix", "sixdimvec", 6))
        .send()
        .await);
    wait_vector_indexes_active(&ddb, &table).await;
    let write = |it: Item, mode: ReturnConsumedCapacity| {
        ddb.put_item()
            .table_name(&table)
            .set_item(Some(it))
            .return_consumed_capacity(mode)
            .send()
    };
    let bytes = |it: Item| async {
        let used = ok(write(it, ReturnConsumedCapacity::Indexes).await)
            .consumed_capacity
            .unwrap();
        let mut out: Vec<(String, f64)> = used
            .vector_indexes()
            .map(|m| {
                m.iter()
                    .map(|(name, c)| (name.clone(), c.vector_write_request_bytes().unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    let mut it = Item::new();
    it.insert("pk".into(), s("small"));
    it.insert(VECTOR.into(), vector(&[0, 1, 0]));
    // A small entry: the floor, on both indexes of the attribute.
    assert_eq!(
        bytes(it.clone()).await,
        [("vix".to_string(), 1024.0), ("vkeys".to_string(), 1024.0)]
    );
    // The same item again changes nothing either index holds.
    assert_eq!(bytes(it.clone()).await, []);
    // TOTAL reports no vector figures at all.
    let total = ok(write(it.clone(), ReturnConsumedCapacity::Total).await)
        .consumed_capacity
        .unwrap();
    assert!(total.vector_indexes().is_none() && total.table().is_none());

    // Past the floor: a 1,500-byte attribute, projected by ALL only.
    let big = |pk: &str, attribute: &str, values: &[i64]| {
        let mut it = Item::new();
        it.insert("pk".into(), s(pk));
        it.insert(attribute.into(), vector(values));
        it.insert("blob".into(), s(&"x".repeat(1500)));
        it
    };
    let three = bytes(big("b3", VECTOR, &[1, 0, 0])).await;
    // pk (2 + 2) + blob (4 + 1500) + the vector as its name (9) and 3 x 4 bytes.
    assert_eq!(
        three,
        [("vix".to_string(), 1529.0), ("vkeys".to_string(), 1024.0)]
    );
    let six = bytes(big("b6", "sixdimvec", &[1, 0, 0, 0, 1, 0])).await;
    assert_eq!(six, [("vsix".to_string(), 1529.0 + 12.0)]);

    // The item itself is billed with its vector at 4 bytes a dimension, whatever numbers
    // it holds (38-digit ones take 20 bytes each as numbers): 1,024 billed bytes are one
    // write unit, 1,025 two.
    let wide = "12345678901234567890123456789012345678";
    let billed = |pk: &str, target: usize| {
        let mut it = Item::new();
        it.insert("pk".into(), s(pk));
        it.insert(VECTOR.into(), AttributeValue::L(vec![n(wide); 3]));
        let fixed = "pk".len() + pk.len() + VECTOR.len() + 4 * 3 + "pad".len();
        it.insert("pad".into(), s(&"p".repeat(target - fixed)));
        it
    };
    for (pk, target, units) in [("a3", 1024, 1.0), ("b3", 1025, 2.0)] {
        let used = ok(write(billed(pk, target), ReturnConsumedCapacity::Total).await)
            .consumed_capacity
            .unwrap();
        assert_eq!(used.capacity_units(), Some(units), "{target} billed bytes");
    }

    // A change only ALL projects: charged there, not on the KEYS_ONLY index.
    let mut noted = it.clone();
    noted.insert("note".into(), s("after"));
    let charged = bytes(noted).await;
    assert_eq!(
        charged.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["vix"]
    );
}
