//! `AttributeValue`: the ten DynamoDB types and their DynamoDB JSON form.
//!
//! Deserialization validates the way DynamoDB does (exactly one type key, NULL must be
//! true, sets non-empty and without duplicates, numbers within range); a failure is a
//! serde custom error whose text starts with [`VALIDATION_MARKER`], so the wire layer can
//! answer `ValidationException` (with the text after the marker) instead of
//! `SerializationException`.

use std::collections::BTreeMap;

use super::number::Number;

/// Prefix of serde custom errors that are DynamoDB validation failures, not malformed JSON.
pub const VALIDATION_MARKER: &str = "\u{1}validation:";

/// An item: attribute name to value. Ordered, so that encodings and responses are stable.
pub type Item = BTreeMap<String, AttributeValue>;

/// One DynamoDB attribute value.
///
/// Invariants (established by deserialization and by every constructor in this crate):
/// sets are non-empty and hold no duplicates (numbers compared numerically); numbers are
/// normalized.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(Item),
    L(Vec<AttributeValue>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
}

impl serde::Serialize for AttributeValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let _ = serializer;
        todo!("model helper")
    }
}

impl<'de> serde::Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let _ = deserializer;
        todo!("model helper")
    }
}
