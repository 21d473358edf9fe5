//! BatchWriteItem: request and response shapes (SDK names `BatchWriteItemInput` /
//! `BatchWriteItemOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! validation (model constraints, then sizes, keys and duplicates) runs in the store's
//! handler with DynamoDB's messages. `UnprocessedItems` reuses [`WriteRequest`], so a client
//! can resend it unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::ConsumedCapacity;
use crate::model::value::deserialize_opt_item;
use crate::model::Item;

/// `PutRequest: {Item}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRequest {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub item: Option<Item>,
}

/// `DeleteRequest: {Key}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRequest {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_opt_item"
    )]
    pub key: Option<Item>,
}

/// One write of a batch: exactly one of `PutRequest` / `DeleteRequest` (checked by the
/// handler).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriteRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_request: Option<PutRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_request: Option<DeleteRequest>,
}

/// The BatchWriteItem request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchWriteItemInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_items: Option<BTreeMap<String, Vec<WriteRequest>>>,
    /// `INDEXES | TOTAL | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
    /// `SIZE | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_item_collection_metrics: Option<String>,
}

/// `ItemCollectionMetrics` entry: the collection's key and its estimated size range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemCollectionMetrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_collection_key: Option<Item>,
    /// The model spells it `SizeEstimateRangeGB`, which PascalCase would not produce.
    #[serde(
        default,
        rename = "SizeEstimateRangeGB",
        skip_serializing_if = "Option::is_none"
    )]
    pub size_estimate_range_gb: Option<Vec<f64>>,
}

/// The BatchWriteItem response; `UnprocessedItems` is `{}` when every write was applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchWriteItemOutput {
    #[serde(default)]
    pub unprocessed_items: BTreeMap<String, Vec<WriteRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_collection_metrics: Option<BTreeMap<String, Vec<ItemCollectionMetrics>>>,
    /// One entry per table, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::ops::decode;

    #[test]
    fn decodes_puts_and_deletes() {
        let body = br#"{"RequestItems":{"tbl":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}},
            {"DeleteRequest":{"Key":{"pk":{"S":"b"}}}}, {}]}}"#;
        let input: BatchWriteItemInput = decode(body).unwrap();
        let reqs = &input.request_items.unwrap()["tbl"];
        assert!(reqs[0].put_request.as_ref().unwrap().item.is_some());
        assert!(reqs[1].delete_request.as_ref().unwrap().key.is_some());
        assert_eq!(reqs[2], WriteRequest::default());
    }

    #[test]
    fn output_has_unprocessed_items() {
        let json = serde_json::to_value(BatchWriteItemOutput::default()).unwrap();
        assert_eq!(json, serde_json::json!({"UnprocessedItems": {}}));
    }
}
