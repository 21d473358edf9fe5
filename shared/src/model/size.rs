//! Item size by DynamoDB's rules: drives the 400 KB limit, capacity units and the 1 MB page.

use super::value::{AttributeValue, Item};

/// The largest item DynamoDB stores: 400 KB (binary).
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// Size of a whole item: each attribute's name length plus its value's size.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Size of one value (see DYNAMODB.md §2 "Item size").
pub fn value_size(value: &AttributeValue) -> usize {
    let _ = value;
    todo!("model helper")
}
