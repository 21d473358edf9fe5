//! DeleteItem: request and response shapes (SDK names `DeleteItemInput` /
//! `DeleteItemOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! validation runs in the store's handler with DynamoDB's messages rather than in serde;
//! enumerations stay text for the same reason. The proxy reuses these shapes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::batch_write_item::ItemCollectionMetrics;
use super::common::ConsumedCapacity;
use crate::expr::legacy::ExpectedAttributeValue;
use crate::model::value::deserialize_opt_item;
use crate::model::{ExpressionValues, Item};

/// The DeleteItem request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteItemInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<ExpressionValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<HashMap<String, ExpectedAttributeValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_operator: Option<String>,
    /// `NONE | ALL_OLD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_item_collection_metrics: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// The DeleteItem response; `{}` when nothing was asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteItemOutput {
    /// The deleted item with ReturnValues ALL_OLD; omitted when there was none.
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
    fn decodes_key_and_legacy_members() {
        let input: DeleteItemInput = decode(
            br#"{"TableName":"t","Key":{"pk":{"S":"a"}},"ConditionalOperator":"OR",
                "Expected":{"a":{"ComparisonOperator":"NULL"}}}"#,
        )
        .unwrap();
        assert_eq!(input.key.as_ref().map(|k| k.len()), Some(1));
        assert_eq!(input.conditional_operator.as_deref(), Some("OR"));
        assert_eq!(
            serde_json::to_string(&DeleteItemOutput::default()).unwrap(),
            "{}"
        );
    }
}
