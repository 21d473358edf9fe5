//! Cache keys: the canonical bytes of (table, primary key) and the generation slots that
//! coherence is tracked in.
//!
//! A request may name a table by name or by ARN and write a number key as `"1.0"` or
//! `"1"`; both must land on one cache entry, and the change feed's keys (which the store
//! has normalized) must land on it too. So the key is built from the parsed, normalized
//! values with the shared order-preserving encoding, attributes in name order.

use std::borrow::Cow;

use serde::Deserialize;
use shared::model::keycodec::{encode_number, encode_scalar, encode_string};
use shared::model::Number;

use crate::canonical;
use shared::model::{AttributeValue, Item};

/// The table's name, also when the request named it by ARN (`arn:...:table/NAME`).
pub fn table_name(name: &str) -> &str {
    // Table names cannot contain ':' (an ARN always does); the search costs a hit more.
    if !name.contains(':') {
        return name;
    }
    match name.split_once(":table/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => name,
    }
}

/// The canonical cache key of one item: `table \0 (name \0 encoded-value)*` over the key
/// attributes in name order. `None` when a key value is not a scalar (the request is
/// invalid; the store will say so).
pub fn item_key(table: &str, key: &Item) -> Option<Vec<u8>> {
    let mut out = key_start(table, 48);
    for (name, value) in key {
        push_attribute(name, value, &mut out)?;
    }
    Some(out)
}

/// [`item_key`] of a request's `Key` as written (`{"pk":{"S":"a"},...}`), without building
/// an [`Item`]: a GetItem hit pays for this. `None` also for a name given twice, which
/// the store would read as its last value.
pub fn item_key_of_json(table: &str, key_json: &str) -> Option<Vec<u8>> {
    match serde_json::from_str::<PlainKey>(key_json) {
        Ok(plain) => plain.item_key(table),
        Err(_) => general_item_key(table, key_json),
    }
}

impl PlainKey<'_> {
    /// The [`item_key`]: nothing allocated but the key. Under callgrind, reading a key this
    /// way is ~4x cheaper than building `AttributeValue`s from raw members, which was a
    /// tenth of a cached GetItem's instructions.
    pub fn item_key(self, table: &str) -> Option<Vec<u8>> {
        let mut members = self.0;
        members.sort_by(|a, b| a.0.cmp(&b.0));
        if members.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return None;
        }
        let room: usize = members.iter().map(|(name, _)| name.len() + 24).sum();
        let mut out = key_start(table, room);
        for (name, value) in members {
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            match value {
                PlainScalar::S(s) => encode_string(&s, &mut out),
                PlainScalar::N(n) => encode_number(&Number::parse(&n).ok()?, &mut out),
            }
        }
        Some(out)
    }
}

/// Any other key (B values, members DynamoDB ignores or rejects): parsed as the store
/// parses attribute values.
fn general_item_key(table: &str, key_json: &str) -> Option<Vec<u8>> {
    let mut members = canonical::members(key_json)?;
    members.sort_by(|a, b| a.0.cmp(&b.0));
    if members.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return None;
    }
    let mut out = key_start(table, key_json.len());
    for (name, raw) in members {
        let value: AttributeValue = serde_json::from_str(raw.get()).ok()?;
        push_attribute(&name, &value, &mut out)?;
    }
    Some(out)
}

/// A key attribute's value in the shape nearly every request writes: an object whose one
/// member, `S` or `N`, is a string (borrowed from the request unless it has escapes).
/// Anything else fails to parse and takes [`general_item_key`]: a second member, B, null.
#[derive(Deserialize)]
pub enum PlainScalar<'a> {
    S(#[serde(borrow)] Cow<'a, str>),
    N(#[serde(borrow)] Cow<'a, str>),
}

/// A `Key` object whose values are all [`PlainScalar`]s, members in written order. Fails
/// to deserialize for any other key, which [`item_key_of_json`] then reads in general.
pub type PlainKey<'a> = canonical::Members<'a, PlainScalar<'a>>;

fn key_start(table: &str, room: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(table.len() + 1 + room);
    out.extend_from_slice(table.as_bytes());
    out.push(0);
    out
}

fn push_attribute(name: &str, value: &AttributeValue, out: &mut Vec<u8>) -> Option<()> {
    if !matches!(
        value,
        AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
    ) {
        return None;
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    encode_scalar(value, out);
    Some(())
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

/// The generation slot of a table's definition: bumped only when the table is dropped or
/// what its indexes answer changes, so that fills in flight from the old definition are
/// refused, while writes (which bump the table's and its partitions' slots) leave item
/// fills of other keys alone.
pub fn table_definition_slot(table: &[u8]) -> u64 {
    xxh(&[b"d", table])
}

/// The table an item key ([`item_key`]) belongs to: the bytes before its first NUL.
pub fn table_of_item_key(key: &[u8]) -> &[u8] {
    key.split(|&byte| byte == 0).next().unwrap_or(key)
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
    fn a_key_as_written_and_as_parsed_are_one_key() {
        let json = r#"{"sk":{"N":"1.50"},"pk":{"S":"a"}}"#;
        let item: Item = serde_json::from_str(json).unwrap();
        assert_eq!(item_key_of_json("t", json), item_key("t", &item));
        assert!(item_key_of_json("t", json).is_some());
    }

    #[test]
    fn the_plain_path_and_the_general_path_agree() {
        for json in [
            r#"{"pk":{"S":"a"}}"#,
            r#"{"sk":{"N":"1.50"},"pk":{"S":"a"}}"#,
            r#"{"pk":{"N":"-0.0001e5"},"sk":{"N":"100"}}"#,
            r#"{"pk":{"S":"\u0041\n\"x"},"s\u006b":{"S":""}}"#,
            r#"{"pk":{"S":"nul\u0000inside"}}"#,
            r#"{"pk":{"S":"é😀"}}"#,
            // Not plain: these take the general path, whatever it makes of them.
            r#"{"pk":{"B":"AAEC"}}"#,
            r#"{"pk":{"S":"a","X":1}}"#,
            r#"{"pk":{"S":null,"N":"1"}}"#,
            r#"{"pk":{"N":"not a number"}}"#,
            r#"{"pk":{"S":1}}"#,
            r#"{"pk":{"S":"a"},"pk":{"S":"a"}}"#,
            r#"{}"#,
            r#"[]"#,
        ] {
            assert_eq!(
                item_key_of_json("t", json),
                general_item_key("t", json),
                "{json}"
            );
            // (A repeated name has no key; parsed as an Item, the last one wins.)
            if let (Some(key), Ok(item)) = (
                item_key_of_json("t", json),
                serde_json::from_str::<Item>(json),
            ) {
                assert_eq!(Some(key), item_key("t", &item), "{json}");
            }
        }
        assert!(matches!(
            serde_json::from_str::<PlainKey>(r#"{"pk":{"S":"a"},"sk":{"N":"1"}}"#),
            Ok(key) if key.0.len() == 2
        ));
    }

    #[test]
    fn a_key_naming_an_attribute_twice_or_not_scalar_has_no_cache_key() {
        assert_eq!(
            item_key_of_json("t", r#"{"pk":{"S":"a"},"pk":{"S":"b"}}"#),
            None
        );
        assert_eq!(item_key_of_json("t", r#"{"pk":{"SS":["a"]}}"#), None);
        assert_eq!(item_key_of_json("t", r#"{"pk":"#), None);
    }

    #[test]
    fn separators_keep_slots_apart() {
        assert_ne!(xxh(&[b"ab", b"c"]), xxh(&[b"a", b"bc"]));
        assert_ne!(table_slot("t"), item_slot(b"t"));
        assert_ne!(table_slot("t"), table_definition_slot(b"t"));
    }

    #[test]
    fn an_item_key_names_its_table() {
        let key = item_key_of_json("Music", r#"{"pk":{"S":"a"}}"#).unwrap();
        assert_eq!(table_of_item_key(&key), b"Music");
        assert_eq!(table_of_item_key(b"Music"), b"Music");
    }
}
