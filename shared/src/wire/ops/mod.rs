//! Request and response shapes, one module per operation (SDK shape names).
//!
//! Requests deserialize leniently (every member optional, unknown members ignored) so that
//! DynamoDB's own validation, with its messages, runs in code rather than in serde.
//! [`decode`] turns serde failures into SerializationException (with DynamoDB's wording,
//! see [`coral_text`]), or into ValidationException where a value failed DynamoDB's
//! attribute-value rules.

use super::error::ApiError;
use crate::model::value::VALIDATION_MARKER;

/// Decodes a request body into an operation's input shape.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bare(super::ErrorCode::SerializationException));
    }
    // serde would take an array as the input's members in order; DynamoDB wants an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::serialization(coral_text::LIST));
    }
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        // serde_json appends " at line L column C"; DynamoDB's messages carry no position.
        let text = match text.rfind(" at line ") {
            Some(at) => text[..at].to_string(),
            None => text,
        };
        match text.find(VALIDATION_MARKER) {
            Some(at) => ApiError::validation(&text[at + VALIDATION_MARKER.len()..]),
            None if e.is_syntax() || e.is_eof() => {
                ApiError::bare(super::ErrorCode::SerializationException)
            }
            None => ApiError::serialization(coral_text::coral_message(&text).unwrap_or(text)),
        }
    })
}

pub mod common;
mod coral_text;
pub mod validate;

pub mod batch_get_item;
pub mod batch_write_item;
pub mod delete_item;
pub mod get_item;
pub mod partiql;
pub mod put_item;
pub mod query;
pub mod scan;
pub mod transact_get_items;
pub mod transact_write_items;
pub mod update_item;
pub mod vector;

pub mod create_table;
pub mod delete_table;
pub mod describe_endpoints;
pub mod describe_limits;
pub mod describe_table;
pub mod list_tables;
pub mod tags;
pub mod update_table;

pub mod describe_stream;
pub mod describe_time_to_live;
pub mod get_records;
pub mod get_shard_iterator;
pub mod list_streams;
pub mod update_time_to_live;
