//! Single-item data plane: PutItem, GetItem, UpdateItem, DeleteItem: every attribute type,
//! number normalisation, ReturnValues, conditions, projections, and the validation errors of
//! DYNAMODB.md §2 and §5. Also the concurrency test: many clients ADD to one item.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ComparisonOperator, ConditionalOperator, ExpectedAttributeValue, ReturnValue,
    ReturnValuesOnConditionCheckFailure,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

async fn store_with_table() -> (StoreProcess, Client, String) {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("items");
    create_hash_table(&ddb, &table).await;
    (store, ddb, table)
}

async fn get(ddb: &Client, table: &str, pk: &str) -> Option<HashMap<String, AttributeValue>> {
    ok(ddb
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await)
    .item
}

/// Sets come back in any order; sort them so items compare.
fn normalize_sets(mut item: HashMap<String, AttributeValue>) -> HashMap<String, AttributeValue> {
    for value in item.values_mut() {
        match value {
            AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.sort(),
            AttributeValue::Bs(v) => v.sort_by(|a, b| a.as_ref().cmp(b.as_ref())),
            _ => {}
        }
    }
    item
}

#[tokio::test]
async fn put_get_every_attribute_type() {
    let (_store, ddb, table) = store_with_table().await;
    let full = item(&[
        ("pk", s("all-types")),
        ("s", s("héllo ✓")),
        ("empty_s", s("")),
        ("n", n("-12.5")),
        ("b", AttributeValue::B(Blob::new(vec![0u8, 1, 2, 255]))),
        ("t", AttributeValue::Bool(true)),
        ("f", AttributeValue::Bool(false)),
        ("null", AttributeValue::Null(true)),
        ("ss", AttributeValue::Ss(vec!["a".into(), "b".into()])),
        ("ns", AttributeValue::Ns(vec!["1".into(), "2.5".into()])),
        (
            "bs",
            AttributeValue::Bs(vec![Blob::new(vec![1u8]), Blob::new(vec![2u8])]),
        ),
        (
            "l",
            AttributeValue::L(vec![s("x"), n(1), AttributeValue::L(vec![])]),
        ),
        (
            "m",
            AttributeValue::M(item(&[
                ("inner", AttributeValue::M(item(&[("deep", s("v"))]))),
                ("e", AttributeValue::M(HashMap::new())),
            ])),
        ),
    ]);
    ok(ddb
        .put_item()
        .table_name(&table)
        .set_item(Some(full.clone()))
        .send()
        .await);
    let got = get(&ddb, &table, "all-types").await.expect("item exists");
    assert_eq!(normalize_sets(got), normalize_sets(full));
}

#[tokio::test]
async fn numbers_are_normalized() {
    let (_store, ddb, table) = store_with_table().await;
    let cases = [
        ("1E+2", "100"),
        ("01.50", "1.5"),
        ("-0", "0"),
        ("1.0", "1"),
        ("0.000", "0"),
        ("-1e-3", "-0.001"),
    ];
    for (i, (input, expected)) in cases.iter().enumerate() {
        let pk = format!("num-{i}");
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(&pk))
            .item("v", n(input))
            .send()
            .await);
        let got = get(&ddb, &table, &pk).await.unwrap();
        assert_eq!(got.get("v"), Some(&n(expected)), "input {input}");
    }
    // 38 significant digits are kept exactly.
    let big = "12345678901234567890123456789012345678";
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("big"))
        .item("v", n(big))
        .send()
        .await);
    assert_eq!(
        get(&ddb, &table, "big").await.unwrap().get("v"),
        Some(&n(big))
    );
}

#[tokio::test]
async fn number_limits_are_validation_errors() {
    let (_store, ddb, table) = store_with_table().await;
    let cases = [
        ("123456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"),
        ("1E+126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("1E-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
        ("12abc", "The parameter cannot be converted to a numeric value: 12abc"),
    ];
    for (input, message) in cases {
        let result = ddb
            .put_item()
            .table_name(&table)
            .item("pk", s("x"))
            .item("v", n(input))
            .send()
            .await;
        assert_api_error(result, "ValidationException", Some(message));
    }
    assert!(get(&ddb, &table, "x").await.is_none());
}

/// Set members come back in DynamoDB's order, whatever order they were written in:
/// strings and binaries by their bytes, numbers by value; an ADD's new member takes its
/// place (the dynamodb-conformance suite's tier1/updateItem/basic.test.ts capture).
#[tokio::test]
async fn set_members_come_back_in_dynamodbs_order() {
    let (_store, ddb, table) = store_with_table().await;
    let strings = |v: &[&str]| AttributeValue::Ss(v.iter().map(|m| m.to_string()).collect());
    let numbers = |v: &[&str]| AttributeValue::Ns(v.iter().map(|m| m.to_string()).collect());
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("sets"))
        .item("ss", strings(&["b", "a", ""]))
        .item("ns", numbers(&["10", "9", "-1"]))
        .item(
            "bs",
            AttributeValue::Bs(vec![
                Blob::new(vec![0xff]),
                Blob::new(vec![0]),
                Blob::new(vec![]),
            ]),
        )
        .send()
        .await);
    let item = get(&ddb, &table, "sets").await.unwrap();
    assert_eq!(item.get("ss"), Some(&strings(&["", "a", "b"])));
    assert_eq!(item.get("ns"), Some(&numbers(&["-1", "9", "10"])));
    assert_eq!(
        item.get("bs"),
        Some(&AttributeValue::Bs(vec![
            Blob::new(vec![]),
            Blob::new(vec![0]),
            Blob::new(vec![0xff])
        ]))
    );
    let added = ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("sets"))
        .update_expression("ADD ss :s, ns :n")
        .expression_attribute_values(":s", strings(&["aa"]))
        .expression_attribute_values(":n", numbers(&["0"]))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await);
    let attributes = added.attributes().unwrap();
    assert_eq!(attributes.get("ss"), Some(&strings(&["", "a", "aa", "b"])));
    assert_eq!(
        attributes.get("ns"),
        Some(&numbers(&["-1", "0", "9", "10"]))
    );
}

#[tokio::test]
async fn get_missing_item_has_no_item() {
    let (_store, ddb, table) = store_with_table().await;
    let out = ok(ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("nobody"))
        .send()
        .await);
    assert!(out.item().is_none());
}

#[tokio::test]
async fn put_and_delete_return_old_values() {
    let (_store, ddb, table) = store_with_table().await;
    let first = ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("rv"))
        .item("v", n(1))
        .return_values(ReturnValue::AllOld)
        .send()
        .await);
    assert!(
        first.attributes().is_none(),
        "ALL_OLD on a new item returns no Attributes"
    );

    let second = ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("rv"))
        .item("v", n(2))
        .return_values(ReturnValue::AllOld)
        .send()
        .await);
    assert_eq!(
        second.attributes(),
        Some(&item(&[("pk", s("rv")), ("v", n(1))]))
    );

    let deleted = ok(ddb
        .delete_item()
        .table_name(&table)
        .key("pk", s("rv"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await);
    assert_eq!(
        deleted.attributes(),
        Some(&item(&[("pk", s("rv")), ("v", n(2))]))
    );
    assert!(get(&ddb, &table, "rv").await.is_none());

    // Deleting a missing item succeeds and returns nothing.
    let again = ok(ddb
        .delete_item()
        .table_name(&table)
        .key("pk", s("rv"))
        .return_values(ReturnValue::AllOld)
        .send()
        .await);
    assert!(again.attributes().is_none());

    // PutItem only allows NONE and ALL_OLD.
    let bad = ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("rv"))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    assert_api_error(
        bad,
        "ValidationException",
        Some("1 validation error detected: ReturnValues can only be ALL_OLD or NONE"),
    );
}

#[tokio::test]
async fn update_item_paths_and_return_values() {
    let (_store, ddb, table) = store_with_table().await;
    let created = ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("u"))
        .update_expression("SET a = :one, m = :m, l = :l ADD c :five, tags :set")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":five", n(5))
        .expression_attribute_values(":m", AttributeValue::M(item(&[("x", n(1))])))
        .expression_attribute_values(":l", AttributeValue::L(vec![s("a"), s("b"), s("c")]))
        .expression_attribute_values(":set", AttributeValue::Ss(vec!["red".into()]))
        .return_values(ReturnValue::AllNew)
        .send()
        .await);
    let new = created.attributes().expect("ALL_NEW");
    assert_eq!(new.get("a"), Some(&n(1)));
    assert_eq!(new.get("c"), Some(&n(5)));

    let updated = ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("u"))
        .update_expression("SET a = a + :two, m.y = :two, l[1] = :z ADD c :neg, tags :more")
        .expression_attribute_values(":two", n(2))
        .expression_attribute_values(":z", s("z"))
        .expression_attribute_values(":neg", n("-1.5"))
        .expression_attribute_values(":more", AttributeValue::Ss(vec!["blue".into()]))
        .return_values(ReturnValue::UpdatedOld)
        .send()
        .await);
    let old = updated.attributes().expect("UPDATED_OLD");
    assert_eq!(old.get("a"), Some(&n(1)));
    assert_eq!(old.get("c"), Some(&n(5)));
    assert!(
        !old.contains_key("pk"),
        "UPDATED_OLD returns only touched attributes: {old:?}"
    );

    let got = normalize_sets(get(&ddb, &table, "u").await.unwrap());
    assert_eq!(got.get("a"), Some(&n(3)));
    assert_eq!(got.get("c"), Some(&n("3.5")));
    assert_eq!(
        got.get("m"),
        Some(&AttributeValue::M(item(&[("x", n(1)), ("y", n(2))])))
    );
    assert_eq!(
        got.get("l"),
        Some(&AttributeValue::L(vec![s("a"), s("z"), s("c")]))
    );
    assert_eq!(
        got.get("tags"),
        Some(&AttributeValue::Ss(vec!["blue".into(), "red".into()]))
    );

    let removed = ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("u"))
        .update_expression("REMOVE m, l[0] DELETE tags :red")
        .expression_attribute_values(
            ":red",
            AttributeValue::Ss(vec!["red".into(), "blue".into()]),
        )
        .return_values(ReturnValue::AllNew)
        .send()
        .await);
    // Removing a list element shifts the rest; deleting every element removes the set.
    assert_eq!(
        removed.attributes(),
        Some(&item(&[
            ("pk", s("u")),
            ("a", n(3)),
            ("c", n("3.5")),
            ("l", AttributeValue::L(vec![s("z"), s("c")]))
        ]))
    );
}

/// Several SETs past the end of one list append in element-number order ("the elements
/// are sorted in order by element number"), in UpdateItem and in a transaction alike.
#[tokio::test]
async fn list_appends_are_sorted_by_element_number() {
    let (_store, ddb, table) = store_with_table().await;
    let three = AttributeValue::L(vec![s("one"), s("two"), s("three")]);
    for pk in ["single", "txn"] {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("a", three.clone())
            .send()
            .await);
    }
    let expression = "SET a[84] = :v1, a[37] = :v2, a[17] = :v3, a[50] = :v4";
    let values: HashMap<String, AttributeValue> = (1..=4)
        .map(|i| (format!(":v{i}"), s(&format!("a{i}"))))
        .collect();
    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("single"))
        .update_expression(expression)
        .set_expression_attribute_values(Some(values.clone()))
        .send()
        .await);
    ok(ddb
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(
                    aws_sdk_dynamodb::types::Update::builder()
                        .table_name(&table)
                        .key("pk", s("txn"))
                        .update_expression(expression)
                        .set_expression_attribute_values(Some(values))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await);
    let sorted = ["one", "two", "three", "a3", "a2", "a4", "a1"].map(s);
    for pk in ["single", "txn"] {
        let got = get(&ddb, &table, pk).await.unwrap();
        assert_eq!(
            got.get("a"),
            Some(&AttributeValue::L(sorted.to_vec())),
            "{pk}"
        );
    }
}

/// An update that only takes attributes away does not create a missing item (DynamoDB:
/// "DELETE - Nothing happens"), in every form; any other update, even an empty one, does.
#[tokio::test]
async fn an_update_that_only_removes_creates_no_item() {
    let (_store, ddb, table) = store_with_table().await;
    let update = |pk: &str| ddb.update_item().table_name(&table).key("pk", s(pk));
    let out = ok(update("removed")
        .update_expression("REMOVE a")
        .return_values(ReturnValue::AllNew)
        .send()
        .await);
    assert_eq!(out.attributes, None);
    ok(update("set-deleted")
        .update_expression("DELETE tags :t")
        .expression_attribute_values(":t", AttributeValue::Ss(vec!["x".into()]))
        .send()
        .await);
    ok(update("legacy-deleted")
        .attribute_updates(
            "a",
            aws_sdk_dynamodb::types::AttributeValueUpdate::builder()
                .action(aws_sdk_dynamodb::types::AttributeAction::Delete)
                .build(),
        )
        .send()
        .await);
    ok(ddb
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(
                    aws_sdk_dynamodb::types::Update::builder()
                        .table_name(&table)
                        .key("pk", s("txn-removed"))
                        .update_expression("REMOVE a")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await);
    for pk in ["removed", "set-deleted", "legacy-deleted", "txn-removed"] {
        assert_eq!(get(&ddb, &table, pk).await, None, "{pk} was created");
    }
    // Create-if-absent still works on those keys.
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("removed"))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await);
    // An update with no actions creates the item with its key.
    ok(update("empty").send().await);
    assert_eq!(
        get(&ddb, &table, "empty").await,
        Some(HashMap::from([("pk".to_string(), s("empty"))]))
    );
}

#[tokio::test]
async fn update_errors() {
    let (_store, ddb, table) = store_with_table().await;
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("e"))
        .item("str", s("text"))
        .send()
        .await);

    let key_update = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("e"))
        .update_expression("SET pk = :v")
        .expression_attribute_values(":v", s("other"))
        .send()
        .await;
    assert_api_error(
        key_update,
        "ValidationException",
        Some("One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"),
    );

    let bad_path = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("e"))
        .update_expression("SET nomap.child = :v")
        .expression_attribute_values(":v", n(1))
        .send()
        .await;
    assert_api_error(
        bad_path,
        "ValidationException",
        Some("The document path provided in the update expression is invalid for update"),
    );

    // A bare name may not start with `_`.
    let underscore = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("e"))
        .update_expression("SET _123 = :v")
        .expression_attribute_values(":v", n(1))
        .send()
        .await;
    assert_api_error(
        underscore,
        "ValidationException",
        Some("1 validation error detected: Invalid UpdateExpression: Syntax error; token: \"_\", near: \"SET _123\""),
    );

    let wrong_type = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("e"))
        .update_expression("SET str = str + :one")
        .expression_attribute_values(":one", n(1))
        .send()
        .await;
    assert_api_error(
        wrong_type,
        "ValidationException",
        Some("An operand in the update expression has an incorrect data type"),
    );

    let syntax = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("e"))
        .update_expression("SET = 1")
        .send()
        .await;
    let err = assert_api_error(syntax, "ValidationException", None);
    let message = aws_sdk_dynamodb::error::ProvideErrorMetadata::message(&err)
        .unwrap_or_default()
        .to_string();
    assert!(
        message.starts_with(
            "1 validation error detected: Invalid UpdateExpression: Syntax error; token:"
        ),
        "message: {message}"
    );

    let unused = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("e"))
        .update_expression("SET a = :a")
        .expression_attribute_values(":a", n(1))
        .expression_attribute_values(":b", n(2))
        .send()
        .await;
    assert_api_error(
        unused,
        "ValidationException",
        Some("1 validation error detected: Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}"),
    );

    let undefined = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("e"))
        .update_expression("SET a = :a")
        .send()
        .await;
    assert_api_error(
        undefined,
        "ValidationException",
        Some("1 validation error detected: Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :a"),
    );

    let reserved = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("e"))
        .update_expression("SET size = :a")
        .expression_attribute_values(":a", n(1))
        .send()
        .await;
    assert_api_error(
        reserved,
        "ValidationException",
        Some("1 validation error detected: Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: size"),
    );

    // None of the failed updates changed the item.
    assert_eq!(
        get(&ddb, &table, "e").await.unwrap(),
        item(&[("pk", s("e")), ("str", s("text"))])
    );
}

#[tokio::test]
async fn conditional_writes() {
    let (_store, ddb, table) = store_with_table().await;
    let put_once = || {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("c"))
            .item("v", n(1))
            .condition_expression("attribute_not_exists(pk)")
    };
    ok(put_once().send().await);
    assert_api_error(
        put_once().send().await,
        "ConditionalCheckFailedException",
        Some("The conditional request failed"),
    );

    // ReturnValuesOnConditionCheckFailure=ALL_OLD puts the existing item on the error.
    let failed = ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("c"))
        .update_expression("SET v = :new")
        .condition_expression("v = :expected")
        .expression_attribute_values(":new", n(3))
        .expression_attribute_values(":expected", n(2))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    let err = assert_api_error(failed, "ConditionalCheckFailedException", None);
    match err.into_service_error() {
        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e) => {
            assert_eq!(e.item(), Some(&item(&[("pk", s("c")), ("v", n(1))])));
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }

    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("c"))
        .update_expression("SET v = :new")
        .condition_expression("v = :expected")
        .expression_attribute_values(":new", n(3))
        .expression_attribute_values(":expected", n(1))
        .send()
        .await);
    // Two missing attributes are not equal: the condition holds and the filter keeps the item.
    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("c"))
        .update_expression("SET w = :w")
        .condition_expression("q <> z")
        .expression_attribute_values(":w", n(2))
        .send()
        .await);
    let scanned = ok(ddb
        .scan()
        .table_name(&table)
        .filter_expression("q <> z")
        .send()
        .await);
    assert_eq!(scanned.count, 1);
    // attribute_type and size take a value too.
    ok(ddb
        .update_item()
        .table_name(&table)
        .key("pk", s("c"))
        .update_expression("SET w = :w")
        .condition_expression("attribute_type(:w, :t) AND size(:s) > :w")
        .expression_attribute_values(":w", n(2))
        .expression_attribute_values(":t", s("N"))
        .expression_attribute_values(":s", s("abc"))
        .send()
        .await);

    assert_api_error(
        ddb.delete_item()
            .table_name(&table)
            .key("pk", s("c"))
            .condition_expression("v > :limit")
            .expression_attribute_values(":limit", n(10))
            .send()
            .await,
        "ConditionalCheckFailedException",
        Some("The conditional request failed"),
    );
    ok(ddb
        .delete_item()
        .table_name(&table)
        .key("pk", s("c"))
        .condition_expression("v BETWEEN :lo AND :hi")
        .expression_attribute_values(":lo", n(3))
        .expression_attribute_values(":hi", n(10))
        .send()
        .await);
    assert!(get(&ddb, &table, "c").await.is_none());
}

/// Legacy Expected with EQ or NE compares lists, maps, booleans and NULL too ("EQ is
/// supported for all data types, including lists and maps").
#[tokio::test]
async fn legacy_expected_compares_every_type() {
    let (_store, ddb, table) = store_with_table().await;
    let list = AttributeValue::L(vec![n(1), s("x")]);
    let map = AttributeValue::M(item(&[("k", n(1))]));
    let values = [
        ("l", list),
        ("m", map),
        ("b", AttributeValue::Bool(true)),
        ("z", AttributeValue::Null(true)),
    ];
    let mut stored = item(&values);
    stored.insert("pk".into(), s("x"));
    ok(ddb
        .put_item()
        .table_name(&table)
        .set_item(Some(stored.clone()))
        .send()
        .await);
    let expect = |op: ComparisonOperator, value: &AttributeValue| {
        ExpectedAttributeValue::builder()
            .comparison_operator(op)
            .attribute_value_list(value.clone())
            .build()
    };
    for (name, value) in &values {
        ok(ddb
            .put_item()
            .table_name(&table)
            .set_item(Some(stored.clone()))
            .expected(*name, expect(ComparisonOperator::Eq, value))
            .send()
            .await);
        assert_api_error(
            ddb.put_item()
                .table_name(&table)
                .set_item(Some(stored.clone()))
                .expected(*name, expect(ComparisonOperator::Ne, value))
                .send()
                .await,
            "ConditionalCheckFailedException",
            None,
        );
    }
}

/// ConditionalOperator needs an Expected of two or more conditions, in every write.
#[tokio::test]
async fn conditional_operator_needs_two_expected_conditions() {
    let (_store, ddb, table) = store_with_table().await;
    // Single-item writes report these request checks in the validation envelope.
    let without =
        "1 validation error detected: ConditionalOperator cannot be used without Filter or Expected";
    let one = "1 validation error detected: ConditionalOperator can only be used when Filter or Expected has two or more elements";
    let exists = || {
        ExpectedAttributeValue::builder()
            .comparison_operator(ComparisonOperator::NotNull)
            .build()
    };
    let put = || {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("k"))
            .conditional_operator(ConditionalOperator::And)
    };
    let update = || {
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("k"))
            .conditional_operator(ConditionalOperator::Or)
    };
    let delete = || {
        ddb.delete_item()
            .table_name(&table)
            .key("pk", s("k"))
            .conditional_operator(ConditionalOperator::And)
    };
    let refused = "ValidationException";
    assert_api_error(put().send().await, refused, Some(without));
    assert_api_error(
        put().expected("a", exists()).send().await,
        refused,
        Some(one),
    );
    assert_api_error(update().send().await, refused, Some(without));
    assert_api_error(
        update()
            .set_expected(Some(HashMap::new()))
            .attribute_updates(
                "z",
                aws_sdk_dynamodb::types::AttributeValueUpdate::builder()
                    .value(n(4))
                    .build(),
            )
            .send()
            .await,
        refused,
        Some(without),
    );
    assert_api_error(
        update().expected("a", exists()).send().await,
        refused,
        Some(one),
    );
    assert_api_error(delete().send().await, refused, Some(without));
    assert_api_error(
        delete().expected("a", exists()).send().await,
        refused,
        Some(one),
    );
    // With two conditions the operator applies: OR passes when one holds.
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("k"))
        .send()
        .await);
    ok(update()
        .expected("pk", exists())
        .expected("a", exists())
        .send()
        .await);
}

#[tokio::test]
async fn projection_expression_returns_only_named_paths() {
    let (_store, ddb, table) = store_with_table().await;
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("p"))
        .item("a", n(1))
        .item("b", n(2))
        .item("m", AttributeValue::M(item(&[("x", n(1)), ("y", n(2))])))
        .item("l", AttributeValue::L(vec![s("l0"), s("l1")]))
        .send()
        .await);
    let out = ok(ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("p"))
        .projection_expression("a, #m.y, l[1], nothing")
        .expression_attribute_names("#m", "m")
        .send()
        .await);
    assert_eq!(
        out.item(),
        Some(&item(&[
            ("a", n(1)),
            ("m", AttributeValue::M(item(&[("y", n(2))]))),
            ("l", AttributeValue::L(vec![s("l1")])),
        ]))
    );
    // A document path has at most 32 levels, the top-level attribute included.
    let nested = |levels: usize| format!("a{}", ".b".repeat(levels - 1));
    ok(ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("p"))
        .projection_expression(nested(32))
        .send()
        .await);
    assert_api_error(
        ddb.get_item()
            .table_name(&table)
            .key("pk", s("p"))
            .projection_expression(nested(33))
            .send()
            .await,
        "ValidationException",
        Some("Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33"),
    );
}

#[tokio::test]
async fn key_validation_errors() {
    let (_store, ddb, table) = store_with_table().await;
    assert_api_error(
        ddb.put_item()
            .table_name(&table)
            .item("other", s("x"))
            .send()
            .await,
        "ValidationException",
        Some("One or more parameter values were invalid: Missing the key pk in the item"),
    );
    assert_api_error(
        ddb.put_item().table_name(&table).item("pk", n(1)).send().await,
        "ValidationException",
        Some("One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
    );
    assert_api_error(
        ddb.put_item().table_name(&table).item("pk", s("")).send().await,
        "ValidationException",
        Some(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an \
             empty string value. Key: pk",
        ),
    );
    assert_api_error(
        ddb.get_item()
            .table_name(&table)
            .key("wrong", s("x"))
            .send()
            .await,
        "ValidationException",
        Some("The provided key element does not match the schema"),
    );
    assert_api_error(
        ddb.get_item()
            .table_name(&table)
            .key("pk", s("x"))
            .key("extra", s("y"))
            .send()
            .await,
        "ValidationException",
        Some("The provided key element does not match the schema"),
    );
    assert_api_error(
        ddb.put_item().table_name(&table).item("pk", s(&"k".repeat(2049))).send().await,
        "ValidationException",
        Some("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"),
    );
    // A 2048-byte key is fine.
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s(&"k".repeat(2048)))
        .send()
        .await);
}

#[tokio::test]
async fn attribute_value_validation_errors() {
    let (_store, ddb, table) = store_with_table().await;
    assert_api_error(
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("x"))
            .item("ss", AttributeValue::Ss(vec![]))
            .send()
            .await,
        "ValidationException",
        Some("One or more parameter values were invalid: An string set  may not be empty"),
    );
    assert_api_error(
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("x"))
            .item("ss", AttributeValue::Ss(vec!["a".into(), "a".into()]))
            .send()
            .await,
        "ValidationException",
        Some("One or more parameter values were invalid: Input collection [a, a] contains duplicates."),
    );
    assert_api_error(
        ddb.put_item().table_name(&table).item("pk", s("x")).item("nul", AttributeValue::Null(false)).send().await,
        "ValidationException",
        Some("One or more parameter values were invalid: Null attribute value types must have the value of true"),
    );
    assert!(get(&ddb, &table, "x").await.is_none());
}

/// Attribute names are 1 to 65535 bytes long, whichever way a request names them.
#[tokio::test]
async fn attribute_names_are_not_empty_nor_64_kb_long() {
    let (_store, ddb, table) = store_with_table().await;
    let empty = "One or more parameter values were invalid: Empty attribute name";
    let too_long =
        "1 validation error detected: Attribute name is too large, must be less than 65536 bytes";
    let long = "y".repeat(65536);
    let set_named = |name: &str| {
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("k"))
            .update_expression("SET #n = :v")
            .expression_attribute_names("#n", name)
            .expression_attribute_values(":v", n(1))
    };
    assert_api_error(
        set_named("").send().await,
        "ValidationException",
        Some("1 validation error detected: ExpressionAttributeNames contains invalid value: Empty attribute name for key #n"),
    );
    assert_api_error(
        set_named(&long).send().await,
        "ValidationException",
        Some(too_long),
    );
    let put_named = |name: &str| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("k"))
            .item(name, n(1))
    };
    assert_api_error(
        put_named("").send().await,
        "ValidationException",
        Some(empty),
    );
    assert_api_error(
        put_named(&long).send().await,
        "ValidationException",
        Some(too_long),
    );
    assert_api_error(
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("k"))
            .attribute_updates(
                "",
                aws_sdk_dynamodb::types::AttributeValueUpdate::builder()
                    .value(n(1))
                    .build(),
            )
            .send()
            .await,
        "ValidationException",
        // Like a malformed Expected condition, in the single-item write's envelope.
        Some(&format!("1 validation error detected: {empty}")),
    );
    // 65535 bytes is the longest name.
    ok(put_named(&long[1..]).send().await);
    ok(set_named(&long[1..]).send().await);
    let got = get(&ddb, &table, "k").await.unwrap();
    assert_eq!(got.get(&long[1..]), Some(&n(1)));
    // A map's keys are names too, at any depth, in a put's item as in an update's value.
    let nested = AttributeValue::M(HashMap::from([(long.clone(), n(1))]));
    let nested_in_list = AttributeValue::L(vec![nested.clone()]);
    assert_api_error(
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("nested"))
            .item("m", nested_in_list)
            .send()
            .await,
        "ValidationException",
        Some(too_long),
    );
    assert_api_error(
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("nested"))
            .update_expression("SET m = :v")
            .expression_attribute_values(":v", nested)
            .send()
            .await,
        "ValidationException",
        Some(too_long),
    );
    assert!(get(&ddb, &table, "nested").await.is_none());
}

/// DynamoDB allows 300 operators per expression; deep nesting inside that is fine, and
/// deeper nesting is an error, never a crashed store.
#[tokio::test]
async fn expressions_hold_at_most_300_operators() {
    let (_store, ddb, table) = store_with_table().await;
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("k"))
        .item("a", n(1))
        .item("b", n(2))
        .send()
        .await);
    let update = |condition: String| {
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("k"))
            .update_expression("SET z = :v")
            .condition_expression(condition)
            .expression_attribute_values(":v", n(1))
    };
    let nested = |depth: usize| format!("a<b {}{}", "or (a<b ".repeat(depth), ")".repeat(depth));
    // 299 operators, 149 levels deep: AWS's own accepted example.
    ok(update(nested(149)).send().await);
    assert_api_error(
        update(nested(150)).send().await,
        "ValidationException",
        Some("1 validation error detected: Invalid ConditionExpression: The expression contains too many operators; operator count: 301"),
    );
    for depth in [300, 2000] {
        let parens = format!("{}a<b{}", "(".repeat(depth), ")".repeat(depth));
        assert_api_error(update(parens).send().await, "ValidationException", None);
    }
    assert_eq!(get(&ddb, &table, "k").await.unwrap().get("z"), Some(&n(1)));
}

#[tokio::test]
async fn item_size_limit() {
    let (_store, ddb, table) = store_with_table().await;
    // 400 KB = 409,600 bytes: names and values count. "pk" (2) + "x" (1) + "big" (3) + value.
    let fits = 409_600 - 2 - 1 - 3;
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("x"))
        .item("big", s(&"a".repeat(fits)))
        .send()
        .await);
    assert_api_error(
        ddb.put_item()
            .table_name(&table)
            .item("pk", s("y"))
            .item("big", s(&"a".repeat(fits + 1)))
            .send()
            .await,
        "ValidationException",
        Some("Item size has exceeded the maximum allowed size"),
    );
    assert!(get(&ddb, &table, "y").await.is_none());
    assert_api_error(
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("x"))
            .update_expression("SET more = :v")
            .expression_attribute_values(":v", s("b"))
            .send()
            .await,
        "ValidationException",
        Some("Item size to update has exceeded the maximum allowed size"),
    );
}

#[tokio::test]
async fn missing_table_is_resource_not_found() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    assert_api_error(
        ddb.put_item()
            .table_name("nope")
            .item("pk", s("x"))
            .send()
            .await,
        "ResourceNotFoundException",
        Some("Requested resource not found"),
    );
    assert_api_error(
        ddb.get_item()
            .table_name("nope")
            .key("pk", s("x"))
            .send()
            .await,
        "ResourceNotFoundException",
        Some("Requested resource not found"),
    );
    assert_api_error(
        ddb.delete_item()
            .table_name("nope")
            .key("pk", s("x"))
            .send()
            .await,
        "ResourceNotFoundException",
        Some("Requested resource not found"),
    );
    assert_api_error(
        ddb.update_item()
            .table_name("nope")
            .key("pk", s("x"))
            .update_expression("SET a = :a")
            .expression_attribute_values(":a", n(1))
            .send()
            .await,
        "ResourceNotFoundException",
        Some("Requested resource not found"),
    );
}

/// 32 clients each ADD 1 to one counter N times, concurrently; conditional writes are
/// serialized per key, so the final value is exactly 32 × N and every ALL_NEW value handed
/// back is distinct (no two updates saw the same old value).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_add_on_one_item_is_exact() {
    const CLIENTS: usize = 32;
    const PER_CLIENT: usize = 25;
    let (store, ddb, table) = store_with_table().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        // A client each: separate connection pools, as separate applications would have.
        let client = store.client();
        let table = table.clone();
        tasks.spawn(async move {
            let mut seen = Vec::with_capacity(PER_CLIENT);
            for _ in 0..PER_CLIENT {
                let out = ok(client
                    .update_item()
                    .table_name(&table)
                    .key("pk", s("counter"))
                    .update_expression("ADD n :one")
                    .expression_attribute_values(":one", n(1))
                    .return_values(ReturnValue::UpdatedNew)
                    .send()
                    .await);
                let value = match out.attributes().and_then(|a| a.get("n")) {
                    Some(AttributeValue::N(v)) => v.parse::<u64>().unwrap(),
                    other => panic!("UPDATED_NEW without n: {other:?}"),
                };
                seen.push(value);
            }
            seen
        });
    }
    let mut all = Vec::new();
    while let Some(result) = tasks.join_next().await {
        all.extend(result.unwrap());
    }
    let total = (CLIENTS * PER_CLIENT) as u64;
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=total).collect::<Vec<_>>(),
        "each ADD must see a distinct predecessor"
    );
    let final_item = get(&ddb, &table, "counter").await.unwrap();
    assert_eq!(final_item.get("n"), Some(&n(total)));
}

/// An item of `pk`, `n` holding `literal` and string padding `p`, measuring `total` bytes
/// if the number costs `cost`.
fn item_with_number(
    pk: &str,
    literal: &str,
    cost: usize,
    total: usize,
) -> HashMap<String, AttributeValue> {
    let padding = total - "pk".len() - pk.len() - "n".len() - cost - "p".len();
    item(&[
        ("pk", s(pk)),
        ("n", n(literal)),
        ("p", s(&"x".repeat(padding))),
    ])
}

/// A number's byte cost decides the 400 KB gate to the byte: each literal fits an item of
/// exactly 409,600 at its captured cost and is refused one byte over
/// (paritysuite/dynamodb-conformance tests/tier3/limits/numberByteSize.test.ts, eu-west-2,
/// 2026-08-18). `1E125` is stored expanded but costs what `1` costs.
#[tokio::test]
async fn a_number_costs_its_captured_bytes_at_the_item_limit() {
    let (_store, ddb, table) = store_with_table().await;
    for (literal, cost) in [
        ("3.14159", 5),
        ("123456", 4),
        ("1E125", 2),
        ("0042.1200", 3),
    ] {
        let at = format!("at-{literal}");
        ok(ddb
            .put_item()
            .table_name(&table)
            .set_item(Some(item_with_number(&at, literal, cost, 409_600)))
            .send()
            .await);
        assert_api_error(
            ddb.put_item()
                .table_name(&table)
                .set_item(Some(item_with_number(
                    &format!("over-{literal}"),
                    literal,
                    cost,
                    409_601,
                )))
                .send()
                .await,
            "ValidationException",
            Some("Item size has exceeded the maximum allowed size"),
        );
    }
    let stored = get(&ddb, &table, "at-1E125").await.unwrap();
    assert_eq!(stored["n"], n(format!("1{}", "0".repeat(125))));
    let stored = get(&ddb, &table, "at-0042.1200").await.unwrap();
    assert_eq!(stored["n"], n("42.12"));
}

/// `depth` single-key maps around a string leaf: 31 is the deepest DynamoDB stores.
fn deep_map(depth: usize) -> AttributeValue {
    (0..depth).fold(s("leaf"), |inner, _| {
        AttributeValue::M(HashMap::from([("n".to_string(), inner)]))
    })
}

const NESTING: &str = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit";

/// The 32-level document cap holds on every write surface, with nothing written
/// (paritysuite/dynamodb-conformance tests/tier3/limits/nestingDepth.test.ts, eu-west-2 and
/// us-east-1, 2026-06 to 2026-10): 31 wraps are stored by PutItem, BatchWriteItem and
/// TransactWriteItems, 32 are refused up front. UpdateItem checks a condition's value too:
/// 31 wraps reach the condition, 32 do not.
#[tokio::test]
async fn nesting_depth_is_capped_at_32_levels_on_every_write_surface() {
    let (_store, ddb, table) = store_with_table().await;
    let put = |pk: &str, depth: usize| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("data", deep_map(depth))
            .send()
    };
    ok(put("put-31", 31).await);
    assert_api_error(
        put("put-32", 32).await,
        "ValidationException",
        Some(NESTING),
    );
    let batch = |pk: &str, depth: usize| {
        ddb.batch_write_item()
            .request_items(
                &table,
                vec![batch_put(item(&[("pk", s(pk)), ("data", deep_map(depth))]))],
            )
            .send()
    };
    ok(batch("batch-31", 31).await);
    assert_api_error(
        batch("batch-32", 32).await,
        "ValidationException",
        Some(NESTING),
    );
    let transact = |pk: &str, depth: usize| {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&table)
            .item("pk", s(pk))
            .item("data", deep_map(depth))
            .build()
            .unwrap();
        ddb.transact_write_items()
            .transact_items(
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .put(put)
                    .build(),
            )
            .send()
    };
    ok(transact("txn-31", 31).await);
    assert_api_error(
        transact("txn-32", 32).await,
        "ValidationException",
        Some(NESTING),
    );
    for pk in ["put-31", "batch-31", "txn-31"] {
        assert_eq!(get(&ddb, &table, pk).await.unwrap()["data"], deep_map(31));
    }
    for pk in ["put-32", "batch-32", "txn-32"] {
        assert!(get(&ddb, &table, pk).await.is_none(), "{pk} was written");
    }

    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("cond"))
        .send()
        .await);
    let conditional = |depth: usize| {
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("cond"))
            .update_expression("SET touched = :t")
            .condition_expression("#d = :deep")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":t", s("y"))
            .expression_attribute_values(":deep", deep_map(depth))
            .send()
    };
    assert_api_error(
        conditional(31).await,
        "ConditionalCheckFailedException",
        None,
    );
    assert_api_error(conditional(32).await, "ValidationException", Some(NESTING));
    assert!(!get(&ddb, &table, "cond")
        .await
        .unwrap()
        .contains_key("touched"));
}

/// An exponent is read in full before the range check, so one past a 32-bit integer
/// overflows rather than wrapping, one past a 64-bit integer cannot be converted, and zero
/// is range-checked by the exponent it is written with
/// (paritysuite/dynamodb-conformance tests/tier3/limits/numberExponent.test.ts, eu-west-2,
/// October 2026).
#[tokio::test]
async fn number_exponents_are_range_checked_in_full() {
    let (_store, ddb, table) = store_with_table().await;
    let overflow =
        "Number overflow. Attempting to store a number with magnitude larger than supported range";
    let underflow =
        "Number underflow. Attempting to store a number with magnitude smaller than supported range";
    let put = |pk: &str, literal: &str| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("val", n(literal))
            .send()
    };
    for (literal, message) in [
        ("1e99999999999", overflow),
        ("1e-99999999999", underflow),
        ("1e2147483648", overflow),
        ("0e126", overflow),
        ("0e-131", underflow),
        (
            "1e9223372036854775808",
            "The parameter cannot be converted to a numeric value",
        ),
    ] {
        let err = assert_api_error(put("refused", literal).await, "ValidationException", None);
        let text = ProvideErrorMetadata::message(&err).unwrap_or_default();
        assert!(text.contains(message), "{literal}: {text}");
    }
    assert!(get(&ddb, &table, "refused").await.is_none());
    ok(put("zero", "0e125").await);
    assert_eq!(get(&ddb, &table, "zero").await.unwrap()["val"], n("0"));
    ok(put("small", "1e-130").await);
    let err = assert_api_error(
        ddb.update_item()
            .table_name(&table)
            .key("pk", s("update"))
            .update_expression("SET m = :v")
            .expression_attribute_values(":v", n("1e99999999999"))
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert!(ProvideErrorMetadata::message(&err)
        .unwrap_or_default()
        .contains(overflow));
    assert!(get(&ddb, &table, "update").await.is_none());
}

/// `pk` plus string padding `p`, measuring exactly `total` bytes.
fn item_of_bytes(pk: &str, total: usize) -> HashMap<String, AttributeValue> {
    let padding = total - "pk".len() - pk.len() - "p".len();
    item(&[("pk", s(pk)), ("p", s(&"x".repeat(padding)))])
}

/// BatchWriteItem and TransactWriteItems measure the finished item flat against 409,600,
/// key included. A transacted Put over it is refused before the transaction opens; a
/// transacted Update over it can only be known once running, so it cancels with a
/// ValidationError reason in the update wording (paritysuite/dynamodb-conformance
/// tests/tier3/limits/itemSizeBySurface.test.ts, eu-west-2, 2026-08-18).
#[tokio::test]
async fn batch_and_transaction_writes_measure_the_item_flat() {
    let (_store, ddb, table) = store_with_table().await;
    let batch = |pk: &str, bytes: usize| {
        ddb.batch_write_item()
            .request_items(&table, vec![batch_put(item_of_bytes(pk, bytes))])
            .send()
    };
    ok(batch("bwi-at", 409_600).await);
    assert_api_error(
        batch("bwi-over", 409_601).await,
        "ValidationException",
        Some("Item size has exceeded the maximum allowed size"),
    );
    let transact = |action: aws_sdk_dynamodb::types::TransactWriteItem| {
        ddb.transact_write_items().transact_items(action).send()
    };
    let put = |pk: &str, bytes: usize| {
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(
                aws_sdk_dynamodb::types::Put::builder()
                    .table_name(&table)
                    .set_item(Some(item_of_bytes(pk, bytes)))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let update = |pk: &str, bytes: usize| {
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .update(
                aws_sdk_dynamodb::types::Update::builder()
                    .table_name(&table)
                    .key("pk", s(pk))
                    .update_expression("SET p = :p")
                    .expression_attribute_values(":p", item_of_bytes(pk, bytes)["p"].clone())
                    .build()
                    .unwrap(),
            )
            .build()
    };
    ok(transact(put("put-at", 409_600)).await);
    assert_api_error(
        transact(put("put-over", 409_601)).await,
        "ValidationException",
        Some("Item size has exceeded the maximum allowed size"),
    );
    ok(transact(update("upd-at", 409_600)).await);
    let err = assert_api_error(
        transact(update("upd-over", 409_601)).await,
        "TransactionCanceledException",
        None,
    );
    let reasons = match err.into_service_error() {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) => e.cancellation_reasons().to_vec(),
        other => panic!("expected a cancellation, got {other:?}"),
    };
    assert_eq!(reasons[0].code(), Some("ValidationError"));
    assert_eq!(
        reasons[0].message(),
        Some("Item size to update has exceeded the maximum allowed size")
    );
    for pk in ["bwi-at", "put-at", "upd-at"] {
        assert_eq!(
            shared_item_size(&get(&ddb, &table, pk).await.unwrap()),
            409_600
        );
    }
    for pk in ["bwi-over", "put-over", "upd-over"] {
        assert!(get(&ddb, &table, pk).await.is_none(), "{pk} was written");
    }
}

/// The size of an item of string attributes, as DynamoDB counts it.
fn shared_item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value.as_s().map_or(usize::MAX / 2, String::len))
        .sum()
}

/// `prefix` then clauses joined by `joiner`, each naming a 50-byte attribute, the last one
/// stretched so the whole lands on exactly `target` bytes; returns it and the clause count.
fn expression_of_bytes(
    target: usize,
    prefix: &str,
    joiner: &str,
    clause: impl Fn(usize, &str) -> String,
) -> (String, usize) {
    let name = |i: usize, len: usize| {
        let suffix = format!("x{i}");
        format!("{}{suffix}", "a".repeat(len - suffix.len()))
    };
    let mut parts: Vec<String> = Vec::new();
    let mut total = prefix.len();
    loop {
        let next = clause(parts.len(), &name(parts.len(), 50));
        let added = next.len() + if parts.is_empty() { 0 } else { joiner.len() };
        if total + added > target {
            break;
        }
        total += added;
        parts.push(next);
    }
    let last = parts.len() - 1;
    parts[last] = clause(last, &name(last, 50 + target - total));
    let expression = format!("{prefix}{}", parts.join(joiner));
    assert_eq!(expression.len(), target);
    (expression, parts.len())
}

/// Every expression parameter is capped at 4096 bytes of the raw string as sent, aliases
/// unexpanded, on UpdateItem, a condition, a projection and inside a transaction, where an
/// oversized later member refuses the whole request with nothing written
/// (paritysuite/dynamodb-conformance tests/tier3/limits/expressionSize.test.ts, four
/// regions, 2026-07-12 and 2026-09-12).
#[tokio::test]
async fn expressions_are_capped_at_4096_raw_bytes() {
    let (_store, ddb, table) = store_with_table().await;
    let size = "Expression size has exceeded the maximum allowed size";
    let refused_for_size = |err: &dyn ProvideErrorMetadata| {
        assert_eq!(err.code(), Some("ValidationException"));
        let message = err.message().unwrap_or_default();
        assert!(message.contains(size), "{message}");
    };
    for (bytes, fits) in [(4096, true), (4097, false)] {
        let pk = format!("update-{bytes}");
        let (expression, clauses) =
            expression_of_bytes(bytes, "SET ", ", ", |i, name| format!("{name} = :v{i}"));
        let mut update = ddb
            .update_item()
            .table_name(&table)
            .key("pk", s(&pk))
            .update_expression(expression);
        for i in 0..clauses {
            update = update.expression_attribute_values(format!(":v{i}"), s("x"));
        }
        let condition = expression_of_bytes(bytes, "", " AND ", |_, name| {
            format!("attribute_not_exists({name})")
        })
        .0;
        let conditional_put = ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(&format!("cond-{bytes}")))
            .condition_expression(&condition);
        let projection = expression_of_bytes(bytes, "", ", ", |_, name| name.to_string()).0;
        let projected_get = ddb
            .get_item()
            .table_name(&table)
            .key("pk", s(&pk))
            .projection_expression(projection);
        let second_member = |pk: &str, condition: Option<String>| {
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(
                    aws_sdk_dynamodb::types::Put::builder()
                        .table_name(&table)
                        .item("pk", s(pk))
                        .set_condition_expression(condition)
                        .build()
                        .unwrap(),
                )
                .build()
        };
        let transaction = ddb
            .transact_write_items()
            .transact_items(second_member(&format!("first-{bytes}"), None))
            .transact_items(second_member(&format!("second-{bytes}"), Some(condition)));
        if fits {
            ok(update.send().await);
            ok(conditional_put.send().await);
            ok(projected_get.send().await);
            ok(transaction.send().await);
        } else {
            refused_for_size(&update.send().await.unwrap_err());
            refused_for_size(&conditional_put.send().await.unwrap_err());
            refused_for_size(&projected_get.send().await.unwrap_err());
            refused_for_size(&transaction.send().await.unwrap_err());
        }
        for written in [pk, format!("cond-{bytes}"), format!("first-{bytes}")] {
            assert_eq!(
                get(&ddb, &table, &written).await.is_some(),
                fits,
                "{written}"
            );
        }
    }
    // 30 aliases, under 200 bytes raw, expanding to some 7.5 KB: measured as sent.
    let mut aliased = ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("update-4096"))
        .projection_expression(
            (0..30)
                .map(|i| format!("#a{i}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    for i in 0..30 {
        aliased = aliased
            .expression_attribute_names(format!("#a{i}"), format!("{}q{i}", "n".repeat(246)));
    }
    ok(aliased.send().await);
}
