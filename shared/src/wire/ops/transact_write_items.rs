//! TransactWriteItems: request and response shapes (SDK names `TransactWriteItemsInput` /
//! `TransactWriteItemsOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! validation (exactly one action per element, table names, expressions, one operation per
//! item) runs in the store's handler with DynamoDB's messages, not in serde.
//! `ReturnValuesOnConditionCheckFailure` stays text for the same reason.
//!
//! The four action shapes keep the member names of the SDK (`ConditionCheck`, `Put`,
//! `Delete`, `Update`).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::batch_write_item::ItemCollectionMetrics;
use super::common::ConsumedCapacity;
use crate::model::value::deserialize_opt_item;
use crate::model::{ExpressionValues, Item};

/// `ConditionCheck`: a condition on an item that is not otherwise written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionCheck {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<ExpressionValues>,
    /// `ALL_OLD | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// `Put`: store a whole item, optionally under a condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Put {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub item: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<ExpressionValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// `Delete`: remove an item, optionally under a condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Delete {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<ExpressionValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// `Update`: apply an UpdateExpression (creating the item if absent), optionally under a
/// condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Update {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_values: Option<ExpressionValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// One element of `TransactItems`: exactly one of the four actions (checked by the
/// handler).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_check: Option<ConditionCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put: Option<Put>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Delete>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
}

/// The TransactWriteItems request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItemsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transact_items: Option<Vec<TransactWriteItem>>,
    /// `INDEXES | TOTAL | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
    /// `SIZE | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_item_collection_metrics: Option<String>,
    /// 1 to 36 characters; SDKs fill it in with a UUID when the caller does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
}

/// The TransactWriteItems response (`{}` unless capacity or metrics were asked for).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItemsOutput {
    /// One entry per table, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_collection_metrics: Option<BTreeMap<String, Vec<ItemCollectionMetrics>>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::ops::decode;

    #[test]
    fn decodes_all_four_actions() {
        let body = br#"{"TransactItems":[
            {"Put":{"TableName":"t","Item":{"pk":{"S":"a"}},"ConditionExpression":"attribute_not_exists(pk)"}},
            {"Update":{"TableName":"t","Key":{"pk":{"S":"b"}},"UpdateExpression":"SET n = :one",
                "ExpressionAttributeValues":{":one":{"N":"1"}}}},
            {"Delete":{"TableName":"t","Key":{"pk":{"S":"c"}}}},
            {"ConditionCheck":{"TableName":"t","Key":{"pk":{"S":"d"}},"ConditionExpression":"ok = :t",
                "ReturnValuesOnConditionCheckFailure":"ALL_OLD"}}],
            "ClientRequestToken":"tok"}"#;
        let input: TransactWriteItemsInput = decode(body).unwrap();
        let items = input.transact_items.unwrap();
        assert!(items[0].put.is_some() && items[1].update.is_some());
        assert!(items[2].delete.is_some() && items[3].condition_check.is_some());
        assert_eq!(input.client_request_token.as_deref(), Some("tok"));
    }

    #[test]
    fn empty_output_is_an_empty_object() {
        let json = serde_json::to_value(TransactWriteItemsOutput::default()).unwrap();
        assert_eq!(json, serde_json::json!({}));
    }
}
