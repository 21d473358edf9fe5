//! Canonical bytes of a JSON request, the query cache's key: object members sorted by name at
//! every level, no insignificant whitespace. Two requests that differ only in member order
//! or spacing get one key; requests that differ in anything else get different keys.
//!
//! Scalars are copied as they were written (a string's escapes, a number's spelling), so
//! `"\u0041"` and `"A"` make two keys: a duplicate entry, never a wrong one. This borrows
//! from the request instead of building a `serde_json::Value`: a hit allocates one vector per
//! object level and copies no string.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Objects nested deeper than this are not cached (DynamoDB allows 32 levels in an item;
/// a request adds a few around it).
const MAX_DEPTH: usize = 40;

/// An object's members, in the order written; names unescaped (borrowed when they have no
/// escapes), values raw.
pub fn members(json: &str) -> Option<Vec<(Cow<'_, str>, &RawValue)>> {
    serde_json::from_str::<Members<&RawValue>>(json)
        .ok()
        .map(|m| m.0)
}

/// Appends the canonical form of an object given as its [`members`].
pub fn write_members(members: Vec<(Cow<'_, str>, &RawValue)>, out: &mut Vec<u8>) -> Option<()> {
    write_object(members, out, 0)
}

fn write_object(
    mut members: Vec<(Cow<'_, str>, &RawValue)>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Option<()> {
    // Stable: duplicate names keep their order, so they stay distinct from one member.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    out.push(b'{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, name).ok()?;
        out.push(b':');
        write_value(value, out, depth + 1)?;
    }
    out.push(b'}');
    Some(())
}

fn write_value(raw: &RawValue, out: &mut Vec<u8>, depth: usize) -> Option<()> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'{' if depth < MAX_DEPTH => write_object(members(text)?, out, depth)?,
        b'[' if depth < MAX_DEPTH => {
            let elements: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            out.push(b'[');
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(element, out, depth + 1)?;
            }
            out.push(b']');
        }
        b'{' | b'[' => return None,
        _ => out.extend_from_slice(text.as_bytes()),
    }
    Some(())
}

/// Deserializes an object as its member list, each value as a `V` (serde_json's map types
/// would unescape, allocate and deduplicate). Raw values here; the proxy's keys read plain
/// key values with it too (`keys::PlainKey`).
pub struct Members<'a, V>(pub Vec<(Cow<'a, str>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Members<'de, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor(PhantomData))
    }
}

struct MembersVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for MembersVisitor<V> {
    type Value = Members<'de, V>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(Name(name)) = map.next_key()? {
            members.push((name, map.next_value::<V>()?));
        }
        Ok(Members(members))
    }
}

/// A member name, borrowed from the input unless it has escapes (serde's own `Cow`
/// deserializer always copies).
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Borrowed(name)))
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Owned(name.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(json: &str) -> Option<String> {
        let raw: &RawValue = serde_json::from_str(json).ok()?;
        let mut out = Vec::new();
        write_value(raw, &mut out, 0)?;
        String::from_utf8(out).ok()
    }

    #[test]
    fn member_order_and_whitespace_do_not_matter() {
        let a = r#"{"TableName":"t","ExpressionAttributeValues":{":v":{"S":"x"},":a":{"N":"1"}}}"#;
        let b = r#"{ "ExpressionAttributeValues" : { ":a":{"N":"1"}, ":v":{"S":"x"} },
                     "TableName" : "t" }"#;
        assert_eq!(canonical(a), canonical(b));
        assert_eq!(
            canonical(a).as_deref(),
            Some(
                r#"{"ExpressionAttributeValues":{":a":{"N":"1"},":v":{"S":"x"}},"TableName":"t"}"#
            )
        );
    }

    #[test]
    fn anything_else_does() {
        let base = canonical(r#"{"TableName":"t","Limit":10}"#);
        for other in [
            r#"{"TableName":"t","Limit":11}"#,
            r#"{"TableName":"u","Limit":10}"#,
            r#"{"TableName":"t"}"#,
            r#"{"TableName":"t","Limit":10,"Limit":10}"#,
            r#"{"TableName":["t"],"Limit":10}"#,
        ] {
            assert_ne!(canonical(other), base, "{other}");
        }
        // Array order is meaning (AttributesToGet, list values): kept.
        assert_ne!(canonical(r#"{"a":[1,2]}"#), canonical(r#"{"a":[2,1]}"#));
    }

    #[test]
    fn names_are_borrowed_unless_escaped() {
        let members = members(r#"{"plain":1,"esc\u0061ped":2}"#).unwrap();
        assert!(matches!(members[0].0, Cow::Borrowed("plain")));
        assert!(matches!(&members[1].0, Cow::Owned(name) if name == "escaped"));
    }

    #[test]
    fn escaped_names_sort_by_what_they_say() {
        assert_eq!(
            canonical(r#"{"b":1,"\u0061":2}"#).as_deref(),
            Some(r#"{"a":2,"b":1}"#)
        );
    }

    #[test]
    fn invalid_or_too_deep_json_has_no_key() {
        assert_eq!(canonical(r#"{"a":"#), None);
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(canonical(&deep), None);
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(canonical(&ok).is_some());
    }
}
