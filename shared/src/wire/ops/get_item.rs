//! GetItem: request and response shapes (SDK names `GetItemInput` / `GetItemOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! validation runs in the store's handler with DynamoDB's messages rather than in serde.
//! The response is `{}` (no `Item`) for a missing item. The proxy reuses these shapes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::common::ConsumedCapacity;
use crate::model::value::deserialize_opt_item;
use crate::model::Item;

/// The GetItem request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetItemInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub key: Option<Item>,
    /// Defaults to false (eventually consistent, half the read units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    /// Legacy projection: top-level attribute names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_to_get: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

/// The GetItem response: `Item` only when the item exists. `I` is how the item is held
/// (the store answers with items as stored, see `codec::ItemJson`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetItemOutput<I = Item> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<I>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::ops::decode;

    #[test]
    fn decodes_and_omits_a_missing_item() {
        let input: GetItemInput = decode(
            br#"{"TableName":"t","Key":{"pk":{"S":"a"}},"ConsistentRead":true,
                "AttributesToGet":["a","b"]}"#,
        )
        .unwrap();
        assert_eq!(input.consistent_read, Some(true));
        assert_eq!(input.attributes_to_get.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            serde_json::to_string(&GetItemOutput::<Item>::default()).unwrap(),
            "{}"
        );
    }
}
