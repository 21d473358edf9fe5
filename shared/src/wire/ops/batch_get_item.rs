//! BatchGetItem: request and response shapes (SDK names `BatchGetItemInput` /
//! `BatchGetItemOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! own validation (model constraints in the `N validation errors detected` form, then the
//! semantic checks: too many keys, duplicates, key schema) runs in the store's handler with
//! DynamoDB's messages, not in serde. Attribute values are still validated while decoding
//! (DynamoDB's attribute-value messages come from there).
//!
//! `RequestItems` and the response maps are `BTreeMap`s: DynamoDB does not promise any
//! order between tables, and a sorted map makes responses (and the proxy's cache keys)
//! deterministic. `UnprocessedKeys` reuses [`KeysAndAttributes`], so a client can send it
//! back unchanged as the next request's `RequestItems`.
//!
//! [`deserialize_opt_item_list`] is shared with the other batch and transaction shapes: a
//! list of items or keys, each decoded with the model's DynamoDB texts for malformed values.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer, Serialize};

use super::common::ConsumedCapacity;
use crate::model::value::deserialize_item;
use crate::model::Item;

/// One table's part of a BatchGetItem request (and of `UnprocessedKeys`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeysAndAttributes {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item_list"
    )]
    pub keys: Option<Vec<Item>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_to_get: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
}

/// The BatchGetItem request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetItemInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_items: Option<BTreeMap<String, KeysAndAttributes>>,
    /// `INDEXES | TOTAL | NONE`, kept as text so an unknown value is a ValidationException.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

/// The BatchGetItem response. `Responses` names every requested table (an empty list when
/// none of its keys exist); `UnprocessedKeys` is `{}` when everything was read. `I` is how
/// items are held (see `GetItemOutput`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetItemOutput<I = Item> {
    #[serde(default)]
    pub responses: BTreeMap<String, Vec<I>>,
    #[serde(default)]
    pub unprocessed_keys: BTreeMap<String, KeysAndAttributes>,
    /// One entry per table, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

/// One element of an item list, decoded like a top-level `Item`/`Key` member.
struct ListedItem(Item);

impl<'de> Deserialize<'de> for ListedItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_item(d).map(ListedItem)
    }
}

/// For an `Option<Vec<Item>>` member (use with `#[serde(default)]`): each element gets the
/// model's validation and DynamoDB's texts for malformed values; `null` is absent.
pub fn deserialize_opt_item_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<Item>>, D::Error> {
    let list: Option<Vec<ListedItem>> = Option::deserialize(d)?;
    Ok(list.map(|items| items.into_iter().map(|i| i.0).collect()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::AttributeValue;
    use crate::wire::ops::decode;

    #[test]
    fn decodes_keys_and_options() {
        let body = br##"{"RequestItems":{"tbl":{"Keys":[{"pk":{"S":"a"}}],"ConsistentRead":true,
            "ProjectionExpression":"#n","ExpressionAttributeNames":{"#n":"n"}}},
            "ReturnConsumedCapacity":"TOTAL","Unknown":1}"##;
        let input: BatchGetItemInput = decode(body).unwrap();
        let items = input.request_items.unwrap();
        let t = &items["tbl"];
        let keys = t.keys.as_ref().unwrap();
        assert_eq!(keys[0]["pk"], AttributeValue::S("a".into()));
        assert_eq!(t.consistent_read, Some(true));
        assert_eq!(input.return_consumed_capacity.as_deref(), Some("TOTAL"));
    }

    #[test]
    fn missing_members_are_none_and_bad_values_are_validation_errors() {
        let input: BatchGetItemInput = decode(br#"{"RequestItems":{"tbl":{}}}"#).unwrap();
        assert_eq!(input.request_items.unwrap()["tbl"].keys, None);
        let err = decode::<BatchGetItemInput>(br#"{"RequestItems":{"tbl":{"Keys":[{"pk":{}}]}}}"#)
            .unwrap_err();
        assert_eq!(err.code, crate::wire::ErrorCode::ValidationException);
    }

    #[test]
    fn output_always_has_both_maps() {
        let json = serde_json::to_value(BatchGetItemOutput::<Item>::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Responses": {}, "UnprocessedKeys": {}})
        );
    }
}
