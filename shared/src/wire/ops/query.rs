//! Query: request and response shapes (SDK names `QueryInput` / `QueryOutput`).
//!
//! Every request member is an `Option` and unknown members are ignored, so that DynamoDB's
//! own validation (model constraints in the `N validation errors detected` form, then the
//! semantic checks) runs in the store's handler with DynamoDB's messages, not in serde.
//! Enumerations (`Select`, `ReturnConsumedCapacity`, `ConditionalOperator`) stay strings for
//! the same reason: an unknown value is a ValidationException, not a SerializationException.
//!
//! The proxy reuses these shapes: it decodes a request, forwards it on a miss, and keys its
//! query cache on [`QueryInput::cache_key`], a canonical byte form in which requests that
//! DynamoDB answers identically (defaults spelled out or left out, map members in any
//! order) are equal.
//!
//! The legacy `Condition` shape (`KeyConditions`, `QueryFilter`, `ScanFilter`) is defined
//! here and shared with Scan.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::common::ConsumedCapacity;
use crate::model::value::VALIDATION_MARKER;
use crate::model::{AttributeValue, ExpressionValues, Item};

/// One legacy condition: `{ComparisonOperator, AttributeValueList}` (KeyConditions,
/// QueryFilter, ScanFilter).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_value_list: Option<Vec<AttributeValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_operator: Option<String>,
}

/// The Query request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    /// `ALL_ATTRIBUTES | ALL_PROJECTED_ATTRIBUTES | SPECIFIC_ATTRIBUTES | COUNT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_to_get: Option<Vec<String>>,
    /// Signed, so that `0` and negatives reach the `Member must have value greater than or
    /// equal to 1` check instead of failing in serde.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_conditions: Option<HashMap<String, Condition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_filter: Option<HashMap<String, Condition>>,
    /// `AND | OR`, for QueryFilter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_index_forward: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "start_key"
    )]
    pub exclusive_start_key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_condition_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    /// An invalid value is reported bare, as in a key: Query runs DynamoDB's current value
    /// layer, which has no `ExpressionAttributeValues contains invalid value` wrapper
    /// (tier3/error-messages/valueLayers.test.ts, four regions, 2026-10-09).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ExpressionValues::deserialize_bare"
    )]
    pub expression_attribute_values: Option<ExpressionValues>,
}

/// The Query response. `Count` and `ScannedCount` are always present; `Items` is absent for
/// `Select: COUNT`; `LastEvaluatedKey` only when the page stopped on Limit or 1 MB.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryOutput<I = Item> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<I>>,
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub scanned_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated_key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
}

/// Deserializes `ExclusiveStartKey` (Query and Scan). An invalid attribute value is
/// reported as DynamoDB does: most messages get the prefix `The provided starting key is
/// invalid: `, but those about numbers and duplicates in sets do not (dynalite's captures
/// of the real service).
pub fn start_key<'de, D>(deserializer: D) -> Result<Option<Item>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error as _;
    let error = match Option::<Item>::deserialize(deserializer) {
        Ok(key) => return Ok(key),
        Err(e) => e,
    };
    let text = error.to_string();
    let Some(message) = crate::model::value::validation_message(&text) else {
        return Err(error);
    };
    const UNPREFIXED: &[&str] = &[
        "contains duplicates",
        "number set",
        "numeric value",
        "significant digits",
        "number with magnitude",
    ];
    if UNPREFIXED.iter().any(|p| message.contains(p)) {
        return Err(error);
    }
    Err(D::Error::custom(format_args!(
        "{VALIDATION_MARKER}The provided starting key is invalid: {message}"
    )))
}

impl QueryInput {
    /// The request with DynamoDB's defaults folded away, so that two requests DynamoDB
    /// answers identically compare equal: `ScanIndexForward: true`, `ConsistentRead: false`,
    /// `ReturnConsumedCapacity: NONE` and `ConditionalOperator: AND` are dropped (absent
    /// means the same). `Select` is kept as given: its default depends on whether an index
    /// is named, and both spellings are answered identically anyway.
    pub fn normalized(&self) -> QueryInput {
        let mut out = self.clone();
        if out.scan_index_forward == Some(true) {
            out.scan_index_forward = None;
        }
        if out.consistent_read == Some(false) {
            out.consistent_read = None;
        }
        if out.return_consumed_capacity.as_deref() == Some("NONE") {
            out.return_consumed_capacity = None;
        }
        if out.conditional_operator.as_deref() == Some("AND") {
            out.conditional_operator = None;
        }
        out
    }

    /// A canonical byte form of the normalized request for the proxy's query cache: JSON
    /// with every object's members sorted (serde_json's map is ordered), so member order and
    /// HashMap iteration order do not matter. `None` only if a value cannot be serialized.
    pub fn cache_key(&self) -> Option<Vec<u8>> {
        let value = serde_json::to_value(self.normalized()).ok()?;
        serde_json::to_vec(&value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pascal_case_and_ignores_unknown_members() {
        let input: QueryInput = serde_json::from_str(
            r##"{"TableName":"t","Limit":0,"ScanIndexForward":false,"Select":"BOGUS","Whatever":1,
                "KeyConditionExpression":"pk = :p","ExpressionAttributeNames":{"#a":"a"}}"##,
        )
        .unwrap();
        assert_eq!(input.table_name.as_deref(), Some("t"));
        assert_eq!(input.limit, Some(0));
        assert_eq!(input.scan_index_forward, Some(false));
        assert_eq!(input.select.as_deref(), Some("BOGUS"));
        assert_eq!(input.key_condition_expression.as_deref(), Some("pk = :p"));
        assert!(input.expression_attribute_values.is_none());
    }

    #[test]
    fn invalid_start_key_values_get_dynamodb_prefix() {
        let err = crate::wire::ops::decode::<QueryInput>(
            br#"{"ExclusiveStartKey":{"pk":{"S":"a","N":"1"}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.message.as_deref(),
            Some("The provided starting key is invalid: Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
        );
        let err =
            crate::wire::ops::decode::<QueryInput>(br#"{"ExclusiveStartKey":{"pk":{"N":"x"}}}"#)
                .unwrap_err();
        assert_eq!(
            err.message.as_deref(),
            Some("The parameter cannot be converted to a numeric value: x")
        );
        let ok =
            crate::wire::ops::decode::<QueryInput>(br#"{"ExclusiveStartKey":{"pk":{"S":"a"}}}"#)
                .unwrap();
        assert_eq!(ok.exclusive_start_key.map(|k| k.len()), Some(1));
        let none =
            crate::wire::ops::decode::<QueryInput>(br#"{"ExclusiveStartKey":null}"#).unwrap();
        assert!(none.exclusive_start_key.is_none());
    }

    #[test]
    fn invalid_expression_values_are_reported_bare() {
        let message = |body: &[u8]| {
            crate::wire::ops::decode::<QueryInput>(body)
                .unwrap_err()
                .message
                .unwrap_or_default()
        };
        assert_eq!(
            message(br#"{"ExpressionAttributeValues":{":v":{"N":"abc"}}}"#),
            "The parameter cannot be converted to a numeric value: abc"
        );
        assert_eq!(
            message(br#"{"ExpressionAttributeValues":{":v":{"N":"1e126"}}}"#),
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        );
        let ok = crate::wire::ops::decode::<QueryInput>(
            br#"{"ExpressionAttributeValues":{":v":{"S":"a"}}}"#,
        )
        .unwrap();
        assert_eq!(ok.expression_attribute_values.map(|v| v.0.len()), Some(1));
    }

    #[test]
    fn output_omits_absent_members_but_always_has_counts() {
        let out: QueryOutput = QueryOutput {
            count: 0,
            scanned_count: 3,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"Count":0,"ScannedCount":3}"#
        );
    }

    #[test]
    fn cache_key_ignores_defaults_and_map_order() {
        let a: QueryInput = serde_json::from_str(
            r##"{"TableName":"t","ScanIndexForward":true,"ConsistentRead":false,
                "ExpressionAttributeNames":{"#a":"a","#b":"b","#c":"c"}}"##,
        )
        .unwrap();
        let b: QueryInput = serde_json::from_str(
            r##"{"ExpressionAttributeNames":{"#c":"c","#b":"b","#a":"a"},"TableName":"t",
                "ReturnConsumedCapacity":"NONE"}"##,
        )
        .unwrap();
        assert_eq!(a.cache_key(), b.cache_key());
        let c = QueryInput {
            scan_index_forward: Some(false),
            ..b.clone()
        };
        assert_ne!(c.cache_key(), b.cache_key());
    }
}
