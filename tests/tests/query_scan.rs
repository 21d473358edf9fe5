//! Query and Scan: key conditions and sort order, paging with Limit/LastEvaluatedKey, filters
//! (Count vs ScannedCount), Select COUNT, parallel scan segments, and the validation errors
//! of DYNAMODB.md §4-§5.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, ComparisonOperator, Condition, ConditionalOperator, ScalarAttributeType, Select,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

/// A store with a table `pk` (S) + `sk` (N) holding partitions "a" (sk 1..=20, with `even`
/// set on even sk) and "b" (sk 1..=5).
async fn store_with_data() -> (StoreProcess, Client, String) {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("qs");
    create_hash_range_table(&ddb, &table).await;
    for sk in 1..=20 {
        let mut request = ddb
            .put_item()
            .table_name(&table)
            .item("pk", s("a"))
            .item("sk", n(sk));
        if sk % 2 == 0 {
            request = request.item("even", AttributeValue::Bool(true));
        }
        ok(request.send().await);
    }
    for sk in 1..=5 {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s("b"))
            .item("sk", n(sk))
            .send()
            .await);
    }
    (store, ddb, table)
}

fn sort_keys(items: &[HashMap<String, AttributeValue>]) -> Vec<i64> {
    items
        .iter()
        .map(|item| match item.get("sk") {
            Some(AttributeValue::N(v)) => v.parse().unwrap(),
            other => panic!("item without numeric sk: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn query_orders_numerically_both_ways() {
    let (_store, ddb, table) = store_with_data().await;
    let out = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s("a"))
        .send()
        .await);
    assert_eq!(
        sort_keys(out.items()),
        (1..=20).collect::<Vec<_>>(),
        "numbers sort numerically, not as text"
    );
    assert_eq!(out.count(), 20);
    assert_eq!(out.scanned_count(), 20);
    assert!(out.last_evaluated_key().is_none());

    let back = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s("a"))
        .scan_index_forward(false)
        .send()
        .await);
    assert_eq!(sort_keys(back.items()), (1..=20).rev().collect::<Vec<_>>());
}

#[tokio::test]
async fn query_sort_key_conditions() {
    let (_store, ddb, table) = store_with_data().await;
    // (sort-key condition, its values, the sort keys expected)
    type Case<'a> = (&'a str, Vec<(&'a str, i64)>, Vec<i64>);
    let cases: [Case; 11] = [
        ("sk = :a", vec![(":a", 7)], vec![7]),
        ("sk < :a", vec![(":a", 3)], vec![1, 2]),
        ("sk <= :a", vec![(":a", 3)], vec![1, 2, 3]),
        ("sk > :a", vec![(":a", 18)], vec![19, 20]),
        ("sk >= :a", vec![(":a", 18)], vec![18, 19, 20]),
        // The value may come first; the comparison turns round.
        (":a = sk", vec![(":a", 7)], vec![7]),
        (":a > sk", vec![(":a", 3)], vec![1, 2]),
        (":a >= sk", vec![(":a", 3)], vec![1, 2, 3]),
        (":a < sk", vec![(":a", 18)], vec![19, 20]),
        (":a <= sk", vec![(":a", 18)], vec![18, 19, 20]),
        (
            "sk BETWEEN :a AND :b",
            vec![(":a", 9), (":b", 11)],
            vec![9, 10, 11],
        ),
    ];
    for (condition, values, expected) in cases {
        let mut request = ddb
            .query()
            .table_name(&table)
            .key_condition_expression(format!("pk = :pk AND {condition}"))
            .expression_attribute_values(":pk", s("a"));
        for (name, value) in values {
            request = request.expression_attribute_values(name, n(value));
        }
        let out = ok(request.send().await);
        assert_eq!(sort_keys(out.items()), expected, "{condition}");
    }
    let partition = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression(":pk = pk")
        .expression_attribute_values(":pk", s("b"))
        .send()
        .await);
    assert_eq!(sort_keys(partition.items()), vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn query_begins_with_on_string_sort_key() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("prefix");
    create_table(
        &ddb,
        &table,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::S)),
    )
    .await;
    for sk in [
        "2024-01-01",
        "2024-01-15",
        "2024-02-01",
        "2025-01-01",
        "a",
        "B",
    ] {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s("p"))
            .item("sk", s(sk))
            .send()
            .await);
    }
    let out = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s("p"))
        .expression_attribute_values(":prefix", s("2024-01"))
        .send()
        .await);
    let got: Vec<_> = out.items().iter().map(|i| i["sk"].clone()).collect();
    assert_eq!(got, vec![s("2024-01-01"), s("2024-01-15")]);

    // Strings order by bytes: "B" (0x42) < "a" (0x61).
    let all = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s("p"))
        .send()
        .await);
    let got: Vec<_> = all.items().iter().map(|i| i["sk"].clone()).collect();
    assert_eq!(
        got,
        vec![
            s("2024-01-01"),
            s("2024-01-15"),
            s("2024-02-01"),
            s("2025-01-01"),
            s("B"),
            s("a")
        ]
    );

    // No sort key is empty: an empty value in its condition is refused, legacy form too.
    let empty = "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: sk";
    for condition in [
        "begins_with(sk, :e)",
        "sk = :e",
        "sk < :e",
        "sk BETWEEN :e AND :z",
    ] {
        let mut request = ddb
            .query()
            .table_name(&table)
            .key_condition_expression(format!("pk = :pk AND {condition}"))
            .expression_attribute_values(":pk", s("p"))
            .expression_attribute_values(":e", s(""));
        if condition.contains(":z") {
            request = request.expression_attribute_values(":z", s("z"));
        }
        assert_api_error(request.send().await, "ValidationException", Some(empty));
    }
    let condition = |op: ComparisonOperator, value: AttributeValue| {
        Condition::builder()
            .comparison_operator(op)
            .attribute_value_list(value)
            .build()
            .unwrap()
    };
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .key_conditions("pk", condition(ComparisonOperator::Eq, s("p")))
            .key_conditions("sk", condition(ComparisonOperator::BeginsWith, s("")))
            .send()
            .await,
        "ValidationException",
        Some(empty),
    );
}

#[tokio::test]
async fn query_pages_with_limit_and_exclusive_start_key() {
    let (_store, ddb, table) = store_with_data().await;
    let mut seen = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    let mut pages = 0;
    loop {
        let out = ok(ddb
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("a"))
            .limit(6)
            .set_exclusive_start_key(start.take())
            .send()
            .await);
        pages += 1;
        assert!(out.items().len() <= 6);
        seen.extend(sort_keys(out.items()));
        match out.last_evaluated_key() {
            Some(key) => {
                assert_eq!(key.len(), 2, "LastEvaluatedKey is the primary key: {key:?}");
                start = Some(key.clone());
            }
            None => break,
        }
        assert!(pages < 10, "paging does not terminate");
    }
    assert_eq!(seen, (1..=20).collect::<Vec<_>>());
    // 20 items in pages of 6: 6, 6, 6, 2.
    assert_eq!(pages, 4);
}

#[tokio::test]
async fn filter_runs_after_limit() {
    let (_store, ddb, table) = store_with_data().await;
    let out = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .filter_expression("attribute_exists(even)")
        .expression_attribute_values(":pk", s("a"))
        .limit(5)
        .send()
        .await);
    // Limit counts items read (1..=5); the filter keeps 2 and 4.
    assert_eq!(out.scanned_count(), 5);
    assert_eq!(out.count(), 2);
    assert_eq!(sort_keys(out.items()), vec![2, 4]);
    assert!(out.last_evaluated_key().is_some());

    let counted = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .filter_expression("attribute_exists(even)")
        .expression_attribute_values(":pk", s("a"))
        .select(Select::Count)
        .send()
        .await);
    assert_eq!(counted.count(), 10);
    assert_eq!(counted.scanned_count(), 20);
    assert!(counted.items().is_empty());
}

/// Legacy EQ and NE take every type ("EQ is supported for all data types, including lists
/// and maps"): a filter on a boolean flag.
#[tokio::test]
async fn legacy_filters_compare_booleans() {
    let (_store, ddb, table) = store_with_data().await;
    let condition = |op: ComparisonOperator, value: AttributeValue| {
        Condition::builder()
            .comparison_operator(op)
            .attribute_value_list(value)
            .build()
            .unwrap()
    };
    let flag = || AttributeValue::Bool(true);
    let scanned = ok(ddb
        .scan()
        .table_name(&table)
        .scan_filter("even", condition(ComparisonOperator::Eq, flag()))
        .send()
        .await);
    assert_eq!(scanned.count(), 10);
    let queried = ok(ddb
        .query()
        .table_name(&table)
        .key_conditions("pk", condition(ComparisonOperator::Eq, s("a")))
        .query_filter("even", condition(ComparisonOperator::Ne, flag()))
        .send()
        .await);
    assert_eq!(
        sort_keys(queried.items()),
        vec![1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    );
}

/// ConditionalOperator needs a QueryFilter or ScanFilter of two or more conditions; the
/// rule is checked before the missing key condition.
#[tokio::test]
async fn conditional_operator_needs_two_filter_conditions() {
    let (_store, ddb, table) = store_with_data().await;
    let without = "ConditionalOperator cannot be used without Filter or Expected";
    let one =
        "ConditionalOperator can only be used when Filter or Expected has two or more elements";
    let eq = |value: AttributeValue| {
        Condition::builder()
            .comparison_operator(ComparisonOperator::Eq)
            .attribute_value_list(value)
            .build()
            .unwrap()
    };
    let scan = || {
        ddb.scan()
            .table_name(&table)
            .conditional_operator(ConditionalOperator::Or)
    };
    let query = || {
        ddb.query()
            .table_name(&table)
            .conditional_operator(ConditionalOperator::And)
    };
    assert_api_error(scan().send().await, "ValidationException", Some(without));
    assert_api_error(
        scan().set_scan_filter(Some(HashMap::new())).send().await,
        "ValidationException",
        Some(without),
    );
    assert_api_error(
        scan()
            .scan_filter("even", eq(AttributeValue::Bool(true)))
            .send()
            .await,
        "ValidationException",
        Some(one),
    );
    assert_api_error(query().send().await, "ValidationException", Some(without));
    assert_api_error(
        query()
            .key_conditions("pk", eq(s("a")))
            .query_filter("even", eq(AttributeValue::Bool(true)))
            .send()
            .await,
        "ValidationException",
        Some(one),
    );
    // Two conditions are fine.
    let both = ok(scan()
        .scan_filter("even", eq(AttributeValue::Bool(true)))
        .scan_filter("pk", eq(s("b")))
        .send()
        .await);
    assert_eq!(both.count(), 15);
}

#[tokio::test]
async fn scan_returns_every_item_once_across_pages() {
    let (_store, ddb, table) = store_with_data().await;
    let mut seen = BTreeSet::new();
    let mut start = None;
    let mut pages = 0;
    loop {
        let out = ok(ddb
            .scan()
            .table_name(&table)
            .limit(7)
            .set_exclusive_start_key(start.take())
            .send()
            .await);
        pages += 1;
        for item in out.items() {
            let key = (format!("{:?}", item["pk"]), format!("{:?}", item["sk"]));
            assert!(seen.insert(key.clone()), "item {key:?} returned twice");
        }
        match out.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
        assert!(pages < 20, "paging does not terminate");
    }
    assert_eq!(seen.len(), 25);

    let filtered = ok(ddb
        .scan()
        .table_name(&table)
        .filter_expression("pk = :b")
        .expression_attribute_values(":b", s("b"))
        .send()
        .await);
    assert_eq!(filtered.count(), 5);
    assert_eq!(filtered.scanned_count(), 25);
}

#[tokio::test]
async fn parallel_scan_segments_partition_the_table() {
    let (_store, ddb, table) = store_with_data().await;
    let total_segments = 4;
    let mut seen = BTreeSet::new();
    for segment in 0..total_segments {
        let mut start = None;
        loop {
            let out = ok(ddb
                .scan()
                .table_name(&table)
                .segment(segment)
                .total_segments(total_segments)
                .limit(4)
                .set_exclusive_start_key(start.take())
                .send()
                .await);
            for item in out.items() {
                let key = (format!("{:?}", item["pk"]), format!("{:?}", item["sk"]));
                assert!(
                    seen.insert(key.clone()),
                    "item {key:?} in two segments or pages"
                );
            }
            match out.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => break,
            }
        }
    }
    assert_eq!(seen.len(), 25);

    assert_api_error(
        ddb.scan().table_name(&table).segment(3).total_segments(2).send().await,
        "ValidationException",
        Some("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 2"),
    );
    assert_api_error(
        ddb.scan().table_name(&table).segment(0).send().await,
        "ValidationException",
        Some("The TotalSegments parameter is required but was not present in the request when Segment parameter is present"),
    );
}

#[tokio::test]
async fn query_validation_errors() {
    let (_store, ddb, table) = store_with_data().await;
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .key_condition_expression("sk = :v")
            .expression_attribute_values(":v", n(1))
            .send()
            .await,
        "ValidationException",
        Some("Query condition missed key schema element: pk"),
    );
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .key_condition_expression("pk = :pk OR sk = :v")
            .expression_attribute_values(":pk", s("a"))
            .expression_attribute_values(":v", n(1))
            .send()
            .await,
        "ValidationException",
        Some("Invalid operator used in KeyConditionExpression: OR"),
    );
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", n(1))
            .send()
            .await,
        "ValidationException",
        Some("One or more parameter values were invalid: Condition parameter type does not match schema type"),
    );
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .index_name("nope")
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("a"))
            .send()
            .await,
        "ValidationException",
        Some("The table does not have the specified index: nope"),
    );
    assert_api_error(
        ddb.query().table_name(&table).send().await,
        "ValidationException",
        Some("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."),
    );
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("a"))
            .limit(0)
            .send()
            .await,
        "ValidationException",
        // The newer validation's form (tier3/validation-ordering/query.test.ts asks for
        // `Limit`).
        Some("1 validation error detected: Value at 'Limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    );
    assert_api_error(
        ddb.query()
            .table_name("nope")
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("a"))
            .send()
            .await,
        "ResourceNotFoundException",
        Some("Requested resource not found"),
    );
    assert_api_error(
        ddb.scan().table_name("nope").send().await,
        "ResourceNotFoundException",
        None,
    );
}

/// After a burst of overwrites stops, the store compacts its items keyspace once (a Query
/// then steps over no old versions; BENCHMARKS.md, session 12), and reads see the latest
/// values throughout.
#[tokio::test]
async fn a_quiet_store_compacts_the_versions_overwrites_left() {
    let store = StoreProcess::spawn_with(StoreOptions {
        // Quiet for 4 s: long enough that a stalled CI host (a slow fsync) does not split a
        // burst of writes in two (a compaction in its last 1,000 writes would leave the
        // rest alone).
        args: vec!["--idle-compaction-after".into(), "4".into()],
        ..Default::default()
    });
    let ddb = store.client();
    let table = unique_name("compact");
    create_hash_range_table(&ddb, &table).await;
    // 100 items written 12 times: 1,200 change records, over the 1,000 a compaction needs.
    const ITEMS: i64 = 100;
    let endpoint = store.endpoint();
    let compactions = || metric(&endpoint, "store_engine_idle_compactions_total");
    // Twice: the first compaction leaves a table, so the second has an older table to
    // merge the new versions with (a flush alone would leave them in a second table).
    for (pass, rounds) in [(1.0, 0..12), (2.0, 12..24)] {
        for round in rounds {
            overwrite(&ddb, &table, ITEMS, round).await;
        }
        let compacted = wait_until(
            std::time::Duration::from_secs(30),
            std::time::Duration::from_millis(100),
            || async { compactions().await >= pass },
        )
        .await;
        assert!(
            compacted,
            "no idle compaction {pass} after the writes stopped"
        );
    }
    // One version of each item is left, in one table below level 0 (a flush alone would
    // leave the versions it drops in a level-0 table).
    let shape = || async {
        let mut values = [0.0; 3];
        let names = [
            "store_engine_entries",
            "store_engine_tables",
            "store_engine_level0_tables",
        ];
        for (value, name) in values.iter_mut().zip(names) {
            *value = metric(&endpoint, &format!("{name}{{part=\"items\"}}")).await;
        }
        values
    };
    let compact = [ITEMS as f64, 1.0, 0.0];
    let settled = wait_until(
        std::time::Duration::from_secs(5),
        std::time::Duration::from_millis(100),
        || async { shape().await == compact },
    )
    .await;
    assert!(
        settled,
        "items (entries, tables, level 0): {:?}",
        shape().await
    );
    let page = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p3"))
        .send()
        .await);
    assert_eq!(page.count(), 10);
    assert!(page.items().iter().all(|i| i.get("round") == Some(&n(23))));
    // Quiet, with nothing written since: no third compaction.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(compactions().await, 2.0);
}

/// Writes items `0..items` of `table` once (`round` in each), 25 to a BatchWriteItem.
async fn overwrite(ddb: &Client, table: &str, items: i64, round: i64) {
    for chunk in (0..items).collect::<Vec<_>>().chunks(25) {
        let writes = chunk.iter().map(|&sk| {
            aws_sdk_dynamodb::types::WriteRequest::builder()
                .put_request(
                    aws_sdk_dynamodb::types::PutRequest::builder()
                        .item("pk", s(&format!("p{}", sk % 10)))
                        .item("sk", n(sk))
                        .item("round", n(round))
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let out = ok(ddb
            .batch_write_item()
            .request_items(table, writes.collect())
            .send()
            .await);
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }
}

/// The message a Query with key condition `text` and `values` is refused with.
async fn key_condition_refusal(
    ddb: &Client,
    table: &str,
    text: &str,
    values: &[(&str, AttributeValue)],
) -> (String, String) {
    let mut request = ddb.query().table_name(table).key_condition_expression(text);
    for (name, value) in values {
        request = request.expression_attribute_values(*name, value.clone());
    }
    let err = request.send().await.expect_err(text);
    let code = err.code().unwrap_or_default().to_string();
    (code, err.message().unwrap_or_default().to_string())
}

/// tier3/error-messages/queryKeyConditionOperands.test.ts (eu-west-2, October 2026): an
/// operand no key type could satisfy is an expression error naming the operator, one of a
/// key type that is not the attribute's fails the schema check.
#[tokio::test]
async fn key_condition_operand_types_are_refused_as_dynamodb_does() {
    let (_store, ddb, numbers) = store_with_data().await;
    let strings = unique_name("qs-ss");
    create_table(
        &ddb,
        &strings,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::S)),
    )
    .await;
    let operand = |op: &str, ty: &str| {
        format!("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: {op}, operand type: {ty}")
    };
    let schema = "One or more parameter values were invalid: Condition parameter type does not match schema type".to_string();
    let yes = || AttributeValue::Bool(true);
    let one = |value: AttributeValue| vec![(":p", s("q")), (":v", value)];
    let two = |a: AttributeValue, b: AttributeValue| vec![(":p", s("q")), (":v", a), (":w", b)];
    let begins = "pk = :p AND begins_with(sk, :v)";
    let cases = [
        (&strings, begins, one(n(1)), operand("begins_with", "N")),
        (&strings, begins, one(yes()), operand("begins_with", "BOOL")),
        (&numbers, begins, one(n(1)), operand("begins_with", "N")),
        (&numbers, begins, one(s("a")), schema.clone()),
        (&numbers, "pk = :p AND sk < :v", one(yes()), operand("<", "BOOL")),
        (&numbers, "pk = :p AND :v >= sk", one(yes()), operand(">=", "BOOL")),
        (
            &numbers,
            "pk = :p AND sk BETWEEN :v AND :w",
            two(AttributeValue::Bool(false), yes()),
            operand("BETWEEN", "BOOL"),
        ),
        (&numbers, "pk = :p AND sk = :v", one(yes()), schema),
        (
            &numbers,
            "pk = :p AND sk > :v AND sk < :w",
            two(n(1), n(5)),
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key".to_string(),
        ),
        (
            &numbers,
            "pk = :p AND sk > :v AND extra = :w",
            two(n(1), n(5)),
            "The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)".to_string(),
        ),
    ];
    for (table, text, values, want) in cases {
        assert_eq!(
            key_condition_refusal(&ddb, table, text, &values).await,
            ("ValidationException".to_string(), want),
            "{text}"
        );
    }
}

/// tier3/validation-ordering/queryKeyCondition.test.ts (eu-west-2, October 2026): the
/// clauses are checked in the order written, and before the table is looked up.
#[tokio::test]
async fn key_condition_reports_the_first_problem_written() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("qs-ss");
    create_table(
        &ddb,
        &table,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::S)),
    )
    .await;
    let undefined = "Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing";
    let operand = "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N";
    let absent = unique_name("qs-absent");
    let cases = [
        (&table, "pk = :missing AND begins_with(sk, :n)", undefined),
        (&table, "begins_with(sk, :n) AND pk = :missing", operand),
        (
            &table,
            "pk = :p AND begins_with(sk, :n) AND sk = :missing",
            operand,
        ),
        (
            &table,
            "pk = :p AND begins_with(sk, :n) AND sk > :s",
            operand,
        ),
        (&absent, "pk = :p AND begins_with(sk, :n)", operand),
    ];
    for (table, text, want) in cases {
        let values: Vec<(&str, AttributeValue)> = [(":p", s("q")), (":n", n(1)), (":s", s("a"))]
            .into_iter()
            .filter(|(name, _)| text.contains(name))
            .collect();
        assert_eq!(
            key_condition_refusal(&ddb, table, text, &values).await,
            ("ValidationException".to_string(), want.to_string()),
            "{text}"
        );
    }
    // The control: a well-formed condition on the absent table finds it missing.
    let (code, _) = key_condition_refusal(
        &ddb,
        &absent,
        "pk = :p AND begins_with(sk, :s)",
        &[(":p", s("q")), (":s", s("a"))],
    )
    .await;
    assert_eq!(code, "ResourceNotFoundException");
}

/// tier3/validation-ordering/query.test.ts (eu-west-2 and us-east-1, 2026-10-09): an
/// unknown ConditionalOperator joining two QueryFilter conditions is reported bare, ahead
/// of an unknown Select and a missing table.
#[tokio::test]
async fn unknown_conditional_operator_joining_query_filters_is_reported_first() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let null = || {
        Condition::builder()
            .comparison_operator(ComparisonOperator::Null)
            .build()
            .unwrap()
    };
    assert_api_error(
        ddb.query()
            .table_name(unique_name("qs-absent"))
            .key_conditions(
                "pk",
                Condition::builder()
                    .comparison_operator(ComparisonOperator::Eq)
                    .attribute_value_list(s("a"))
                    .build()
                    .unwrap(),
            )
            .query_filter("b", null())
            .query_filter("c", null())
            .conditional_operator(ConditionalOperator::from("XOR"))
            .select(Select::from("BOGUS"))
            .send()
            .await,
        "ValidationException",
        Some("Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]"),
    );
}

/// tier3/error-messages/valueLayers.test.ts (four regions, 2026-10-09): Query reports a
/// malformed number in an expression value bare, with no `ExpressionAttributeValues`
/// wrapper.
#[tokio::test]
async fn query_reports_malformed_expression_values_bare() {
    let (_store, ddb, table) = store_with_data().await;
    let overflow =
        "Number overflow. Attempting to store a number with magnitude larger than supported range";
    for (number, want) in [
        (
            "abc",
            "The parameter cannot be converted to a numeric value: abc",
        ),
        ("1e126", overflow),
        ("1e2147483647", overflow),
    ] {
        assert_api_error(
            ddb.query()
                .table_name(&table)
                .key_condition_expression("pk = :p")
                .filter_expression("n = :v")
                .expression_attribute_values(":p", s("a"))
                .expression_attribute_values(":v", AttributeValue::N(number.into()))
                .send()
                .await,
            "ValidationException",
            Some(want),
        );
    }
}

/// tier3/error-messages/indexReads.test.ts: neither a Query nor a Scan may ask a GSI for a
/// strongly consistent read.
#[tokio::test]
async fn consistent_reads_of_a_global_index_are_refused() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("qs-gsi");
    ok(
        pk_sk_table_request(&ddb, &table, ("g", ScalarAttributeType::S))
            .global_secondary_indexes(gsi_projecting_all("gsi1", "g").build().unwrap())
            .send()
            .await,
    );
    wait_table_active(&ddb, &table).await;
    let refused = Some("Consistent reads are not supported on global secondary indexes");
    assert_api_error(
        ddb.query()
            .table_name(&table)
            .index_name("gsi1")
            .key_condition_expression("#hk = :v")
            .expression_attribute_names("#hk", "g")
            .expression_attribute_values(":v", s("val"))
            .consistent_read(true)
            .send()
            .await,
        "ValidationException",
        refused,
    );
    assert_api_error(
        ddb.scan()
            .table_name(&table)
            .index_name("gsi1")
            .consistent_read(true)
            .send()
            .await,
        "ValidationException",
        refused,
    );
}

/// A filter of `bytes` bytes: `<name> = :vN` clauses joined by ` OR `, the last name
/// stretched to land on the byte, with its values.
fn filter_of_bytes(bytes: usize) -> (String, HashMap<String, AttributeValue>) {
    let name = |i: usize, len: usize| format!("{}x{i}", "a".repeat(len - 1 - i.to_string().len()));
    let mut clauses: Vec<String> = Vec::new();
    let mut total = 0;
    loop {
        let clause = format!("{} = :v{}", name(clauses.len(), 50), clauses.len());
        let added = clause.len() + if clauses.is_empty() { 0 } else { 4 };
        if total + added > bytes {
            break;
        }
        total += added;
        clauses.push(clause);
    }
    let last = clauses.len() - 1;
    clauses[last] = format!("{} = :v{last}", name(last, 50 + bytes - total));
    let text = clauses.join(" OR ");
    assert_eq!(text.len(), bytes);
    let values = (0..clauses.len())
        .map(|i| (format!(":v{i}"), s("x")))
        .collect();
    (text, values)
}

/// tier3/limits/expressionSize.test.ts (four regions, 2026-07-12): a Query or Scan filter
/// of 4096 bytes is evaluated, one of 4097 is refused for its size.
#[tokio::test]
async fn filter_expressions_are_capped_at_4096_bytes() {
    let (_store, ddb, table) = store_with_data().await;
    let (at_limit, values) = filter_of_bytes(4096);
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("c"))
        .item("sk", n(1))
        .item(at_limit.split(' ').next().unwrap(), s("x"))
        .send()
        .await);
    let out = ok(ddb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .filter_expression(&at_limit)
        .set_expression_attribute_values(Some(values.clone()))
        .expression_attribute_values(":pk", s("c"))
        .send()
        .await);
    assert_eq!(out.count, 1);
    let out = ok(ddb
        .scan()
        .table_name(&table)
        .filter_expression(&at_limit)
        .set_expression_attribute_values(Some(values))
        .send()
        .await);
    assert_eq!(out.count, 1);
    let (over, values) = filter_of_bytes(4097);
    let too_big = |message: Option<&str>| {
        let message = message.unwrap_or_default();
        assert!(
            message.contains("Expression size has exceeded the maximum allowed size"),
            "{message}"
        );
    };
    too_big(
        assert_api_error(
            ddb.query()
                .table_name(&table)
                .key_condition_expression("pk = :pk")
                .filter_expression(&over)
                .set_expression_attribute_values(Some(values.clone()))
                .expression_attribute_values(":pk", s("c"))
                .send()
                .await,
            "ValidationException",
            None,
        )
        .message(),
    );
    too_big(
        assert_api_error(
            ddb.scan()
                .table_name(&table)
                .filter_expression(&over)
                .set_expression_attribute_values(Some(values))
                .send()
                .await,
            "ValidationException",
            None,
        )
        .message(),
    );
}
