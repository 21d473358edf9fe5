//! The compact binary encoding of items stored on disk (not JSON text).
//!
//! Versioned by a leading byte so that later layouts can still read old data.

use super::value::Item;

/// Encodes an item.
pub fn encode_item(item: &Item) -> Vec<u8> {
    let _ = item;
    todo!("model helper")
}

/// Decodes an item written by [`encode_item`]; `None` for corrupt input (never panics).
pub fn decode_item(bytes: &[u8]) -> Option<Item> {
    let _ = bytes;
    todo!("model helper")
}
