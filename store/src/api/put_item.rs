//! PutItem: store a whole item, replacing any item with the same key, optionally under a
//! condition.
//!
//! Checks, in DynamoDB's order: model constraints (table name, `Item` present, enums),
//! `ReturnValues can only be ALL_OLD or NONE`, the item's 400 KB size, the expression
//! parameters and expressions (ConditionExpression or legacy Expected), then the table
//! (`Requested resource not found`), the item's key and index key types. The write itself
//! is [`item_write::decide`] under the item's lock.

use shared::wire::error::ApiError;
use shared::wire::ops::common::ReturnConsumedCapacity;
use shared::wire::ops::put_item::{PutItemInput, PutItemOutput};

use super::item_write::{
    self, check_put_item, check_write_constraints, key_of_put_item, parse_write_expressions,
    ReturnValues, WriteAction, WriteCall, WriteExpressions, WriteParams, WritePlan,
};
use crate::app::App;

pub async fn handle(app: &App, input: PutItemInput) -> Result<PutItemOutput, ApiError> {
    check_write_constraints(&WriteParams {
        table_name: input.table_name.as_deref(),
        target: ("item", input.item.is_some()),
        return_values: input.return_values.as_deref(),
        return_consumed_capacity: input.return_consumed_capacity.as_deref(),
        return_item_collection_metrics: input.return_item_collection_metrics.as_deref(),
        return_values_on_condition_check_failure: input
            .return_values_on_condition_check_failure
            .as_deref(),
        conditional_operator: input.conditional_operator.as_deref(),
    })?;
    let mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let return_values = ReturnValues::all_old_or_none(input.return_values.as_deref())?;
    let item = input.item.unwrap_or_default();
    check_put_item(&item)?;
    let parsed = parse_write_expressions(
        &WriteExpressions {
            is_update: false,
            update_expression: None,
            condition_expression: input.condition_expression.as_deref(),
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref().map(|v| &v.0),
            attribute_updates: None,
            expected: input.expected.as_ref(),
            conditional_operator: input.conditional_operator.as_deref(),
        },
        WriteCall::Single,
    )?;

    let table = app
        .catalog
        .table_for_data(input.table_name.as_deref().unwrap_or_default())?;
    let key = key_of_put_item(&table, &item)?;
    let mut plan = WritePlan::new(&table, &key, WriteAction::Put(item));
    plan.condition = parsed.condition;
    plan.return_values = return_values;
    plan.return_old_on_failure =
        input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");

    let result = item_write::execute_single(app, "PutItem", &table, &key, &plan).await?;
    Ok(PutItemOutput {
        attributes: result.attributes,
        consumed_capacity: item_write::write_capacity(table.name(), &result.units, mode),
        item_collection_metrics: item_write::item_collection_metrics(
            &table,
            &key,
            input.return_item_collection_metrics.as_deref(),
        ),
    })
}

/// The four single-item handlers end to end against a real (temporary) storage and
/// catalog, without HTTP: the flows of the boto3 suite's `test_items.py`,
/// `test_conditions.py`, `test_update.py` and the item parts of `test_capacity.py`.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod flow_tests {
    use serde_json::{json, Value};
    use shared::wire::error::ApiError;

    use crate::api;
    use crate::app::App;

    struct Fixture {
        app: App,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let app = App::for_tests(dir.path());
        let tables = [
            json!({"TableName": "tbl_s", "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}),
            json!({"TableName": "tbl_sn", "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]}),
            json!({"TableName": "tbl_g", "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
                "GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"}}]}),
        ];
        for request in tables {
            api::create_table::handle(&app, serde_json::from_value(request).unwrap())
                .await
                .unwrap();
        }
        Fixture { app, _dir: dir }
    }

    fn to_value<T: serde::Serialize>(r: Result<T, ApiError>) -> Result<Value, ApiError> {
        r.map(|o| serde_json::to_value(o).unwrap())
    }

    async fn put(app: &App, request: Value) -> Result<Value, ApiError> {
        to_value(super::handle(app, serde_json::from_value(request).unwrap()).await)
    }

    async fn get(app: &App, request: Value) -> Result<Value, ApiError> {
        to_value(api::get_item::handle(app, serde_json::from_value(request).unwrap()).await)
    }

    async fn update(app: &App, request: Value) -> Result<Value, ApiError> {
        to_value(api::update_item::handle(app, serde_json::from_value(request).unwrap()).await)
    }

    async fn delete(app: &App, request: Value) -> Result<Value, ApiError> {
        to_value(api::delete_item::handle(app, serde_json::from_value(request).unwrap()).await)
    }

    async fn item(app: &App, pk: &str) -> Value {
        let out = get(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s(pk)}, "ConsistentRead": true}),
        )
        .await
        .unwrap();
        out.get("Item").cloned().unwrap_or(Value::Null)
    }

    fn s(v: &str) -> Value {
        json!({ "S": v })
    }

    fn n(v: &str) -> Value {
        json!({ "N": v })
    }

    fn err(r: Result<Value, ApiError>) -> (String, String) {
        match r {
            Ok(v) => panic!("expected an error, got {v}"),
            Err(e) => (e.code.name().to_string(), e.message.unwrap_or_default()),
        }
    }

    #[tokio::test]
    async fn put_get_delete_with_return_values() {
        let f = fixture().await;
        let app = &f.app;
        let first = put(app, json!({"TableName": "tbl_s", "Item": {"pk": s("a"), "v": s("old")}, "ReturnValues": "ALL_OLD"}))
            .await
            .unwrap();
        assert_eq!(first, json!({}));
        let second = put(app, json!({"TableName": "tbl_s", "Item": {"pk": s("a"), "v": s("new")}, "ReturnValues": "ALL_OLD"}))
            .await
            .unwrap();
        assert_eq!(second, json!({"Attributes": {"pk": s("a"), "v": s("old")}}));
        assert_eq!(item(app, "a").await, json!({"pk": s("a"), "v": s("new")}));
        assert_eq!(
            get(
                app,
                json!({"TableName": "tbl_s", "Key": {"pk": s("missing")}})
            )
            .await
            .unwrap(),
            json!({})
        );
        let gone = delete(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("a")}, "ReturnValues": "ALL_OLD"}),
        )
        .await
        .unwrap();
        assert_eq!(gone, json!({"Attributes": {"pk": s("a"), "v": s("new")}}));
        assert_eq!(item(app, "a").await, Value::Null);
        let again = delete(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("a")}, "ReturnValues": "ALL_OLD"}),
        )
        .await
        .unwrap();
        assert_eq!(again, json!({}));

        // Projections (expression and legacy).
        put(app, json!({"TableName": "tbl_s", "Item": {"pk": s("p"), "a": s("A"), "m": {"M": {"x": n("1"), "y": n("2")}}}}))
            .await
            .unwrap();
        let out = get(app, json!({"TableName": "tbl_s", "Key": {"pk": s("p")}, "ProjectionExpression": "#m.x, nope",
            "ExpressionAttributeNames": {"#m": "m"}}))
        .await
        .unwrap();
        assert_eq!(out, json!({"Item": {"m": {"M": {"x": n("1")}}}}));
        let out = get(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("p")}, "AttributesToGet": ["a"]}),
        )
        .await
        .unwrap();
        assert_eq!(out, json!({"Item": {"a": s("A")}}));
    }

    #[tokio::test]
    async fn validation_messages_and_their_order() {
        let f = fixture().await;
        let app = &f.app;
        let (code, message) = err(put(
            app,
            json!({"TableName": "tbl_s", "Item": {"pk": s("a")}, "ReturnValues": "ALL_NEW"}),
        )
        .await);
        assert_eq!(code, "ValidationException");
        // DynamoDB's single-item writes report their request checks in the envelope
        // (captured October 2026).
        assert_eq!(
            message,
            "1 validation error detected: ReturnValues can only be ALL_OLD or NONE"
        );
        let (_, message) = err(put(
            app,
            json!({"TableName": "tbl_s", "Item": {"pk": s("a")}, "ReturnValues": "BOGUS"}),
        )
        .await);
        assert_eq!(message, "1 validation error detected: Value 'BOGUS' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]");
        let (_, message) = err(delete(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("a")}, "ReturnValues": "ALL_NEW"}),
        )
        .await);
        assert_eq!(
            message,
            "1 validation error detected: ReturnValues can only be ALL_OLD or NONE"
        );
        let (_, message) = err(put(app, json!({"TableName": "t;x", "Item": {"pk": s("a")}})).await);
        assert_eq!(message, "1 validation error detected: Value 't;x' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
        let (_, message) = err(put(app, json!({"TableName": "tbl_s"})).await);
        assert_eq!(message, "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null");
        // Expression errors come before the table lookup; the key after it.
        let (_, message) = err(put(
            app,
            json!({"TableName": "no_such", "Item": {"pk": s("a")},
            "ConditionExpression": "a = :v"}),
        )
        .await);
        assert_eq!(message, "1 validation error detected: Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v");
        for (input, refused) in [
            (
                json!({"ExpressionAttributeValues": {":v": s("x")}}),
                "ExpressionAttributeValues can only be specified when using expressions",
            ),
            (
                json!({"ConditionExpression": "attribute_exists(a)", "ExpressionAttributeNames": {}}),
                "ExpressionAttributeNames must not be empty",
            ),
            (
                json!({"ConditionExpression": ""}),
                "Invalid ConditionExpression: The expression can not be empty;",
            ),
            (
                json!({"Expected": {"a": {"ComparisonOperator": "EQ"}}}),
                "One or more parameter values were invalid: Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a",
            ),
        ] {
            let mut put_input = json!({"TableName": "tbl_s", "Item": {"pk": s("a")}});
            let mut delete_input = json!({"TableName": "tbl_s", "Key": {"pk": s("a")}});
            for request in [&mut put_input, &mut delete_input] {
                let members = request.as_object_mut().unwrap();
                members.extend(input.as_object().unwrap().clone());
            }
            let expected = format!("1 validation error detected: {refused}");
            assert_eq!(err(put(app, put_input).await).1, expected);
            assert_eq!(err(delete(app, delete_input).await).1, expected);
        }
        let (_, message) = err(update(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("a")}, "UpdateExpression": "SET b = :w",
            "ConditionExpression": "a = :v", "ExpressionAttributeValues": {":w": s("x")}}),
        )
        .await);
        assert_eq!(message, "1 validation error detected: Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v");
        let (code, _) = err(update(
            app,
            json!({"TableName": "no_such", "Key": {"pk": s("a")},
            "UpdateExpression": "SET a = :v", "ExpressionAttributeValues": {":v": n("1")}}),
        )
        .await);
        assert_eq!(code, "ResourceNotFoundException");
        let (_, message) = err(put(
            app,
            json!({"TableName": "tbl_s", "Item": {"other": s("a")}}),
        )
        .await);
        assert_eq!(
            message,
            "One or more parameter values were invalid: Missing the key pk in the item"
        );
        let (_, message) = err(get(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("a"), "x": s("b")}}),
        )
        .await);
        assert_eq!(
            message,
            "The provided key element does not match the schema"
        );
        let (_, message) = err(put(app, json!({"TableName": "tbl_s", "Item": {"pk": s("a")},
            "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeValues": {":u": n("1")}})).await);
        assert_eq!(
            message,
            "1 validation error detected: Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}"
        );
        let (_, message) = err(get(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("a")},
            "ProjectionExpression": "a", "ExpressionAttributeNames": {"#u": "b"}}),
        )
        .await);
        assert_eq!(
            message,
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}"
        );
        let (_, message) = err(update(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("a")},
            "UpdateExpression": "SET pk = :v", "ExpressionAttributeValues": {":v": s("b")}}),
        )
        .await);
        assert_eq!(message, "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key");
        let big = "x".repeat(410_000);
        let (_, message) = err(put(
            app,
            json!({"TableName": "tbl_s", "Item": {"pk": s("a"), "v": s(&big)}}),
        )
        .await);
        assert_eq!(message, "Item size has exceeded the maximum allowed size");
    }

    #[tokio::test]
    async fn conditions_and_failures() {
        let f = fixture().await;
        let app = &f.app;
        put(
            app,
            json!({"TableName": "tbl_s", "Item": {"pk": s("c"), "num": n("5")}}),
        )
        .await
        .unwrap();
        let failed = super::handle(
            app,
            serde_json::from_value(json!({"TableName": "tbl_s",
            "Item": {"pk": s("c")}, "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}))
            .unwrap(),
        )
        .await
        .unwrap_err();
        assert_eq!(failed.code.name(), "ConditionalCheckFailedException");
        assert_eq!(
            failed.to_json()["Item"],
            json!({"pk": s("c"), "num": n("5")})
        );
        let (code, _) = err(update(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("new")},
            "UpdateExpression": "SET v = :v", "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":v": n("1")}}),
        )
        .await);
        assert_eq!(code, "ConditionalCheckFailedException");
        assert_eq!(item(app, "new").await, Value::Null);
        // Legacy Expected.
        let (code, _) = err(delete(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("c")},
            "Expected": {"num": {"Value": n("6")}}}),
        )
        .await);
        assert_eq!(code, "ConditionalCheckFailedException");
        delete(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("c")},
            "Expected": {"num": {"ComparisonOperator": "EQ", "AttributeValueList": [n("5")]}}}),
        )
        .await
        .unwrap();
        assert_eq!(item(app, "c").await, Value::Null);
    }

    #[tokio::test]
    async fn updates_upsert_and_return_values() {
        let f = fixture().await;
        let app = &f.app;
        let out = update(app, json!({"TableName": "tbl_sn", "Key": {"pk": s("u"), "sk": n("3")},
            "UpdateExpression": "SET a = :a", "ExpressionAttributeValues": {":a": n("1")}, "ReturnValues": "ALL_NEW"}))
        .await
        .unwrap();
        assert_eq!(
            out,
            json!({"Attributes": {"pk": s("u"), "sk": n("3"), "a": n("1")}})
        );
        put(
            app,
            json!({"TableName": "tbl_s", "Item": {"pk": s("r"), "a": n("1"), "b": s("keep")}}),
        )
        .await
        .unwrap();
        let out = update(app, json!({"TableName": "tbl_s", "Key": {"pk": s("r")},
            "UpdateExpression": "SET a = :v, c = :v", "ExpressionAttributeValues": {":v": n("2")}, "ReturnValues": "UPDATED_OLD"}))
        .await
        .unwrap();
        assert_eq!(out, json!({"Attributes": {"a": n("1")}}));
        let out = update(
            app,
            json!({"TableName": "tbl_s", "Key": {"pk": s("r")},
            "UpdateExpression": "REMOVE b", "ReturnValues": "UPDATED_NEW"}),
        )
        .await
        .unwrap();
        assert_eq!(out, json!({}));
        // Legacy AttributeUpdates.
        update(app, json!({"TableName": "tbl_s", "Key": {"pk": s("r")},
            "AttributeUpdates": {"a": {"Action": "ADD", "Value": n("5")}, "c": {"Action": "DELETE"}}}))
        .await
        .unwrap();
        assert_eq!(item(app, "r").await, json!({"pk": s("r"), "a": n("7")}));
        // A failed run-time update leaves the item as it was.
        put(
            app,
            json!({"TableName": "tbl_s", "Item": {"pk": s("big"), "v": s(&"x".repeat(300_000))}}),
        )
        .await
        .unwrap();
        let (_, message) = err(update(app, json!({"TableName": "tbl_s", "Key": {"pk": s("big")},
            "UpdateExpression": "SET w = :w", "ExpressionAttributeValues": {":w": s(&"y".repeat(200_000))}})).await);
        assert_eq!(
            message,
            "Item size to update has exceeded the maximum allowed size"
        );
        assert!(item(app, "big").await.get("w").is_none());
    }

    #[tokio::test]
    async fn consumed_capacity() {
        let f = fixture().await;
        let app = &f.app;
        let units = |v: &Value| v["ConsumedCapacity"]["CapacityUnits"].as_f64().unwrap();
        let out = put(
            app,
            json!({"TableName": "tbl_g", "Item": {"pk": s("k"), "d": s(&"x".repeat(2990))},
            "ReturnConsumedCapacity": "TOTAL"}),
        )
        .await
        .unwrap();
        assert_eq!(units(&out), 3.0);
        let out = put(app, json!({"TableName": "tbl_g", "Item": {"pk": s("k")}, "ReturnConsumedCapacity": "TOTAL"}))
            .await
            .unwrap();
        assert_eq!(units(&out), 3.0);
        let out = get(app, json!({"TableName": "tbl_g", "Key": {"pk": s("none")}, "ReturnConsumedCapacity": "TOTAL"}))
            .await
            .unwrap();
        assert_eq!(
            out,
            json!({"ConsumedCapacity": {"TableName": "tbl_g", "CapacityUnits": 0.5}})
        );
        let out = put(app, json!({"TableName": "tbl_g", "Item": {"pk": s("g"), "g": s("old")}, "ReturnConsumedCapacity": "INDEXES"}))
            .await
            .unwrap();
        assert_eq!(
            out["ConsumedCapacity"],
            json!({"TableName": "tbl_g", "CapacityUnits": 2.0, "Table": {"CapacityUnits": 1.0},
                "GlobalSecondaryIndexes": {"by_g": {"CapacityUnits": 1.0}}})
        );
        let out = update(
            app,
            json!({"TableName": "tbl_g", "Key": {"pk": s("g")}, "UpdateExpression": "SET g = :g",
            "ExpressionAttributeValues": {":g": s("new")}, "ReturnConsumedCapacity": "INDEXES"}),
        )
        .await
        .unwrap();
        assert_eq!(units(&out), 3.0);
        let out = delete(app, json!({"TableName": "tbl_g", "Key": {"pk": s("none")}, "ReturnConsumedCapacity": "TOTAL"}))
            .await
            .unwrap();
        assert_eq!(units(&out), 1.0);
    }
}
