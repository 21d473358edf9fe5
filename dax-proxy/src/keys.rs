//! Cache keys: the canonical bytes of (table, primary key) and the generation slots that
//! coherence is tracked in.
//!
//! A request may name a table by name or by ARN and write a number key as `"1.0"` or
//! `"1"`; both must land on one cache entry, and the change feed's keys (which the store
//! has normalized) must land on it too. So the key is built from the parsed, normalized
//! values with the shared order-preserving encoding, attributes in name order.

use shared::model::keycodec::encode_scalar;
use shared::model::{AttributeValue, Item};

/// The table's name, also when the request named it by ARN (`arn:...:table/NAME`).
pub fn table_name(name: &str) -> &str {
    match name.split_once(":table/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => name,
    }
}

/// The canonical cache key of one item: `table \0 (name \0 encoded-value)*` over the key
/// attributes in name order. `None` when a key value is not a scalar (the request is
/// invalid; the store will say so).
pub fn item_key(table: &str, key: &Item) -> Option<Box<[u8]>> {
    let mut out = Vec::with_capacity(table.len() + 48);
    out.extend_from_slice(table.as_bytes());
    out.push(0);
    for (name, value) in key {
        if !matches!(
            value,
            AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
        ) {
            return None;
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        encode_scalar(value, &mut out);
    }
    Some(out.into_boxed_slice())
}

/// The generation slot of a whole table (Scan entries and index Queries depend on it).
pub fn table_slot(table: &str) -> u64 {
    xxh(&[b"t", table.as_bytes()])
}

/// The generation slot of one partition of a table (base-table Query entries depend on it).
pub fn partition_slot(table: &str, hash_name: &str, hash_value: &AttributeValue) -> u64 {
    let mut encoded = Vec::with_capacity(32);
    encode_scalar(hash_value, &mut encoded);
    xxh(&[b"p", table.as_bytes(), hash_name.as_bytes(), &encoded])
}

/// The generation slot of one item.
pub fn item_slot(key: &[u8]) -> u64 {
    xxh(&[b"i", key])
}

fn xxh(parts: &[&[u8]]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for part in parts {
        hasher.update(part);
        // A separator, so that ("ab","c") and ("a","bc") hash apart.
        hasher.update(&[0xff]);
    }
    hasher.digest()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_and_name_are_one_table() {
        assert_eq!(
            table_name("arn:aws:dynamodb:us-east-1:000000000000:table/Music"),
            "Music"
        );
        assert_eq!(table_name("Music"), "Music");
    }

    #[test]
    fn separators_keep_slots_apart() {
        assert_ne!(xxh(&[b"ab", b"c"]), xxh(&[b"a", b"bc"]));
        assert_ne!(table_slot("t"), item_slot(b"t"));
    }
}
