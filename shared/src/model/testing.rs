//! proptest strategies for arbitrary attribute values and items, for tests anywhere in
//! this crate (compiled only under `cfg(test)`, since proptest is a dev-dependency).
//!
//! Generated values respect the model's invariants: normalized numbers within DynamoDB's
//! range, non-empty duplicate-free sets, nesting within 32 levels.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::number::Number;
use super::value::{AttributeValue, Item};

/// Any valid number: up to 38 significant digits, exponent -130..=125, either sign, or 0.
pub fn number_strategy() -> impl Strategy<Value = Number> {
    prop_oneof![
        1 => Just(Number::zero()),
        4 => any::<i64>().prop_map(Number::from_i64),
        4 => (any::<bool>(), "[1-9][0-9]{0,37}", -130i32..=125).prop_map(|(neg, digits, exp)| {
            let text = format!("{}{}.{}e{}", if neg { "-" } else { "" }, &digits[..1], &digits[1..], exp);
            Number::parse(&text).unwrap_or_else(|_| Number::zero())
        }),
    ]
}

/// Any scalar, boolean, null or set value.
pub fn leaf_strategy() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        // Mostly printable text; sometimes only what JSON must escape.
        prop_oneof![4 => "\\PC{0,16}", 1 => "[\\x00-\\x1f\"\\\\a]{0,6}"]
            .prop_map(AttributeValue::S),
        number_strategy().prop_map(AttributeValue::N),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null),
        proptest::collection::btree_set("\\PC{0,8}", 1..5)
            .prop_map(|s| AttributeValue::Ss(s.into_iter().collect())),
        proptest::collection::vec(number_strategy(), 1..5).prop_map(|v| {
            let unique: BTreeSet<Number> = v.into_iter().collect();
            AttributeValue::Ns(unique.into_iter().collect())
        }),
        proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 0..8), 1..5)
            .prop_map(|s| AttributeValue::Bs(s.into_iter().collect())),
    ]
}

/// Any value, nested maps and lists included (a few levels deep).
pub fn value_strategy() -> impl Strategy<Value = AttributeValue> {
    leaf_strategy().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(AttributeValue::L),
            proptest::collection::btree_map("\\PC{0,8}", inner, 0..6).prop_map(AttributeValue::M),
        ]
    })
}

/// Any item of up to 8 attributes.
pub fn item_strategy() -> impl Strategy<Value = Item> {
    proptest::collection::btree_map("[a-zA-Z0-9_.-]{1,10}", value_strategy(), 0..8)
}
