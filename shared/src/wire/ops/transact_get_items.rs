//! TransactGetItems: request and response shapes (SDK names `TransactGetItemsInput` /
//! `TransactGetItemsOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! validation runs in the store's handler with DynamoDB's messages. `Responses` lists one
//! [`ItemResponse`] per requested item, in request order; a missing item is `{}`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::common::ConsumedCapacity;
use crate::model::value::deserialize_opt_item;
use crate::model::Item;

/// `Get: {TableName, Key, ProjectionExpression, ExpressionAttributeNames}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Get {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
}

/// One element of `TransactItems`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<Get>,
}

/// The TransactGetItems request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItemsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transact_items: Option<Vec<TransactGetItem>>,
    /// `INDEXES | TOTAL | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

/// One entry of `Responses`: `{"Item": ...}`, or `{}` when the item does not exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

/// The TransactGetItems response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItemsOutput {
    /// One entry per table, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
    #[serde(default)]
    pub responses: Vec<ItemResponse>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::ops::decode;

    #[test]
    fn decodes_gets() {
        let body = br#"{"TransactItems":[{"Get":{"TableName":"tbl","Key":{"pk":{"S":"a"}},
            "ProjectionExpression":"w"}},{}]}"#;
        let input: TransactGetItemsInput = decode(body).unwrap();
        let items = input.transact_items.unwrap();
        assert_eq!(
            items[0].get.as_ref().unwrap().table_name.as_deref(),
            Some("tbl")
        );
        assert!(items[1].get.is_none());
    }

    #[test]
    fn missing_item_is_an_empty_object() {
        let out = TransactGetItemsOutput {
            consumed_capacity: None,
            responses: vec![ItemResponse::default()],
        };
        assert_eq!(
            serde_json::to_value(out).unwrap(),
            serde_json::json!({"Responses": [{}]})
        );
    }
}
