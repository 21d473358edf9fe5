//! UpdateItem: request and response shapes (SDK names `UpdateItemInput` /
//! `UpdateItemOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! validation runs in the store's handler with DynamoDB's messages rather than in serde;
//! enumerations stay text for the same reason. Both the expression form
//! (UpdateExpression, ConditionExpression) and the legacy form (AttributeUpdates,
//! Expected + ConditionalOperator) are carried; the handler rejects mixing them. The proxy
//! reuses these shapes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::batch_write_item::ItemCollectionMetrics;
use super::common::ConsumedCapacity;
use crate::expr::legacy::{AttributeValueUpdate, ExpectedAttributeValue};
use crate::model::value::deserialize_opt_item;
use crate::model::{ExpressionValues, Item};

/// The UpdateItem request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateItemInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<ExpressionValues>,
    /// Legacy update: `{attr: {Action, Value}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_updates: Option<HashMap<String, AttributeValueUpdate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<HashMap<String, ExpectedAttributeValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_operator: Option<String>,
    /// `NONE | ALL_OLD | UPDATED_OLD | ALL_NEW | UPDATED_NEW`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_item_collection_metrics: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// The UpdateItem response; `{}` when nothing was asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateItemOutput {
    /// What ReturnValues asked for; omitted when empty.
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
    fn decodes_both_update_forms() {
        let input: UpdateItemInput = decode(
            br#"{"TableName":"t","Key":{"pk":{"S":"a"}},"UpdateExpression":"SET a = :v",
                "ExpressionAttributeValues":{":v":{"N":"1"}},
                "AttributeUpdates":{"b":{"Action":"DELETE"}}}"#,
        )
        .unwrap();
        assert_eq!(input.update_expression.as_deref(), Some("SET a = :v"));
        let updates = input.attribute_updates.unwrap();
        assert_eq!(updates["b"].action.as_deref(), Some("DELETE"));
        assert_eq!(
            serde_json::to_string(&UpdateItemOutput::default()).unwrap(),
            "{}"
        );
    }
}
