//! Scan: request and response shapes (SDK names `ScanInput` / `ScanOutput`).
//!
//! Same conventions as [`super::query`]: every member optional so that validation runs in
//! code with DynamoDB's messages; enumerations kept as strings; `Segment`/`TotalSegments`
//! and `Limit` signed so that out-of-range values reach the range checks. The legacy
//! `ScanFilter` uses Query's [`Condition`] shape. [`ScanInput::cache_key`] is the proxy's
//! canonical query-cache key.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::common::ConsumedCapacity;
pub use super::query::Condition;
use crate::model::{ExpressionValues, Item};

/// The Scan request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScanInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_to_get: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `ALL_ATTRIBUTES | ALL_PROJECTED_ATTRIBUTES | SPECIFIC_ATTRIBUTES | COUNT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_filter: Option<HashMap<String, Condition>>,
    /// `AND | OR`, for ScanFilter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_operator: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::query::start_key"
    )]
    pub exclusive_start_key: Option<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
    /// Parallel scan: 1..=1,000,000 segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_segments: Option<i64>,
    /// Parallel scan: this segment, 0..TotalSegments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_attribute_names: Option<HashMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Wrapped so that an invalid value reads `ExpressionAttributeValues contains invalid
    /// value: <msg> for key :v`, as DynamoDB reports it.
    pub expression_attribute_values: Option<ExpressionValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
}

/// The Scan response; same members and presence rules as Query's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScanOutput<I = Item> {
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

impl ScanInput {
    /// The request with DynamoDB's defaults folded away (see `QueryInput::normalized`);
    /// `Segment: 0, TotalSegments: 1` is the whole table, the same as no segment at all.
    pub fn normalized(&self) -> ScanInput {
        let mut out = self.clone();
        if out.consistent_read == Some(false) {
            out.consistent_read = None;
        }
        if out.return_consumed_capacity.as_deref() == Some("NONE") {
            out.return_consumed_capacity = None;
        }
        if out.conditional_operator.as_deref() == Some("AND") {
            out.conditional_operator = None;
        }
        if out.segment == Some(0) && out.total_segments == Some(1) {
            out.segment = None;
            out.total_segments = None;
        }
        out
    }

    /// Canonical bytes of the normalized request (sorted JSON members).
    pub fn cache_key(&self) -> Option<Vec<u8>> {
        let value = serde_json::to_value(self.normalized()).ok()?;
        serde_json::to_vec(&value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_segments_and_limit_signed() {
        let input: ScanInput = serde_json::from_str(
            r#"{"TableName":"t","Segment":-1,"TotalSegments":1000001,"Limit":-5}"#,
        )
        .unwrap();
        assert_eq!(input.segment, Some(-1));
        assert_eq!(input.total_segments, Some(1_000_001));
        assert_eq!(input.limit, Some(-5));
    }

    #[test]
    fn whole_table_segment_normalizes_away() {
        let a = ScanInput {
            table_name: Some("t".into()),
            segment: Some(0),
            total_segments: Some(1),
            ..Default::default()
        };
        let b = ScanInput {
            table_name: Some("t".into()),
            ..Default::default()
        };
        assert_eq!(a.cache_key(), b.cache_key());
    }
}
