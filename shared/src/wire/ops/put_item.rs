//! PutItem: request and response shapes (SDK names `PutItemInput` / `PutItemOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! validation (model constraints, expression-parameter rules, ReturnValues, key schema)
//! runs in the store's handler with DynamoDB's messages rather than in serde. Enumerations
//! (`ReturnValues`, `ReturnConsumedCapacity`, ...) stay text for the same reason.
//! Attribute values are still validated while decoding, as DynamoDB does.
//!
//! The proxy reuses these shapes, so they serialize back to the same JSON they were read
//! from (absent members omitted).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::batch_write_item::ItemCollectionMetrics;
use super::common::ConsumedCapacity;
use crate::expr::legacy::ExpectedAttributeValue;
use crate::model::value::deserialize_opt_item;
use crate::model::{ExpressionValues, Item};

/// The PutItem request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutItemInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub item: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<ExpressionValues>,
    /// Legacy condition (before ConditionExpression existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<HashMap<String, ExpectedAttributeValue>>,
    /// `AND | OR`, combining the `Expected` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_operator: Option<String>,
    /// `NONE | ALL_OLD` (the model's enum has all five values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
    /// `SIZE | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_item_collection_metrics: Option<String>,
    /// `ALL_OLD | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// The PutItem response; `{}` when nothing was asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutItemOutput {
    /// The replaced item with ReturnValues ALL_OLD; omitted when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_collection_metrics: Option<ItemCollectionMetrics>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::ops::decode;

    #[test]
    fn decodes_and_reencodes_without_absent_members() {
        let body = br#"{"TableName":"t","Item":{"pk":{"S":"a"},"n":{"N":"01.50"}},
            "Expected":{"n":{"Exists":false}},"ReturnValues":"ALL_OLD","Unknown":1}"#;
        let input: PutItemInput = decode(body).unwrap();
        assert_eq!(input.table_name.as_deref(), Some("t"));
        assert_eq!(input.item.as_ref().map(|i| i.len()), Some(2));
        assert_eq!(
            input.expected.as_ref().and_then(|e| e["n"].exists),
            Some(false)
        );
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(json["Item"]["n"], serde_json::json!({"N": "1.5"}));
        assert!(json.get("ConditionExpression").is_none());
        assert_eq!(
            serde_json::to_string(&PutItemOutput::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn invalid_attribute_values_are_validation_errors() {
        let err = decode::<PutItemInput>(br#"{"TableName":"t","Item":{"pk":{"NULL":false}}}"#)
            .unwrap_err();
        assert_eq!(err.code.name(), "ValidationException");
    }
}
