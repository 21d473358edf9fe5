//! Canonical bytes of a JSON request, the query cache's key: object members sorted by name at
//! every level, no insignificant whitespace. Two requests that differ only in member order
//! or spacing get one key; requests that differ in anything else get different keys.
//!
//! Scalars are copied as they were written (a string's escapes, a number's spelling), so
//! `"\u0041"` and `"A"` make two keys: a duplicate entry, never a wrong one. Member names
//! compare by what they say (escapes resolved). One pass over the request, no
//! `serde_json::Value`: a hit allocates one vector per object level.
//!
//! [`members`] also lends the proxy's key parser an object's member list.

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

/// Appends the canonical form of `json` (any JSON value) to `out`; `None` if it is not
/// valid JSON, nests deeper than [`MAX_DEPTH`], or `accept` refuses one of the top-level
/// object's members (given its unescaped name and its value's canonical text).
///
/// One pass over the bytes, writing into `out` as a stack: an object's members are
/// canonicalized one after another at its end, then written again in name order behind
/// them and moved down over them. No allocation but `out`'s growth and one member list.
pub fn write_canonical(
    json: &str,
    out: &mut Vec<u8>,
    mut accept: impl FnMut(&str, &[u8]) -> bool,
) -> Option<()> {
    let mut scanner = Scanner {
        text: json,
        at: 0,
        out,
        members: Vec::with_capacity(16),
    };
    scanner.value(0, Some(&mut accept))?;
    scanner.skip_space();
    (scanner.at == json.len()).then_some(())
}

/// A cursor over JSON text (the input is a `&str`, so every slice taken at a quote, comma
/// or bracket is on a character boundary) and the output it writes.
struct Scanner<'a, 'o> {
    text: &'a str,
    at: usize,
    out: &'o mut Vec<u8>,
    /// The members of the objects being read, innermost last: name and where its
    /// canonical value sits in `out`.
    members: Vec<(Cow<'a, str>, std::ops::Range<usize>)>,
}

type Accept<'f> = &'f mut dyn FnMut(&str, &[u8]) -> bool;

impl<'a> Scanner<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_space();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Appends the canonical form of the value at the cursor. `accept` sees the members
    /// of this value if it is an object (the top level only).
    fn value(&mut self, depth: usize, accept: Option<Accept>) -> Option<()> {
        self.skip_space();
        let start = self.at;
        match self.peek()? {
            b'{' | b'[' if depth >= MAX_DEPTH => return None,
            b'{' => return self.object(depth, accept),
            b'[' => return self.array(depth),
            b'"' => {
                self.string()?;
            }
            b't' => self.word("true")?,
            b'f' => self.word("false")?,
            b'n' => self.word("null")?,
            _ => self.number()?,
        }
        self.out
            .extend_from_slice(&self.text.as_bytes()[start..self.at]);
        Some(())
    }

    fn object(&mut self, depth: usize, mut accept: Option<Accept>) -> Option<()> {
        self.at += 1; // '{'
        let base = self.out.len();
        let first_member = self.members.len();
        self.skip_space();
        if self.peek()? == b'}' {
            self.at += 1;
        } else {
            loop {
                self.skip_space();
                if self.peek()? != b'"' {
                    return None;
                }
                let name_start = self.at;
                let escaped = self.string()?;
                let quoted = &self.text[name_start..self.at];
                let name = if escaped {
                    Cow::Owned(serde_json::from_str::<String>(quoted).ok()?)
                } else {
                    Cow::Borrowed(&quoted[1..quoted.len() - 1])
                };
                self.eat(b':')?;
                let value_start = self.out.len();
                self.value(depth + 1, None)?;
                if let Some(accept) = accept.as_mut() {
                    if !accept(&name, &self.out[value_start..]) {
                        return None;
                    }
                }
                self.members.push((name, value_start..self.out.len()));
                self.skip_space();
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        // Stable: duplicate names keep their order, so they stay distinct from one member.
        let members = &mut self.members[first_member..];
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let sorted = self.out.len();
        self.out.push(b'{');
        for (i, (name, range)) in members.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            match name {
                Cow::Borrowed(plain) => {
                    self.out.push(b'"');
                    self.out.extend_from_slice(plain.as_bytes());
                    self.out.push(b'"');
                }
                Cow::Owned(unescaped) => serde_json::to_writer(&mut *self.out, unescaped).ok()?,
            }
            self.out.push(b':');
            self.out.extend_from_within(range.clone());
        }
        self.out.push(b'}');
        // The sorted copy replaces the members as written.
        let length = self.out.len() - sorted;
        self.out.copy_within(sorted.., base);
        self.out.truncate(base + length);
        self.members.truncate(first_member);
        Some(())
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.at += 1; // '['
        self.out.push(b'[');
        self.skip_space();
        if self.peek()? == b']' {
            self.at += 1;
        } else {
            loop {
                self.value(depth + 1, None)?;
                self.skip_space();
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        self.out.push(b',');
                    }
                    b']' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.out.push(b']');
        Some(())
    }

    /// Moves past a string (the cursor on its opening quote); whether it has escapes.
    /// Rejects what JSON rejects: raw control characters, unknown or short escapes.
    fn string(&mut self) -> Option<bool> {
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        let mut i = self.at + 1;
        loop {
            match *bytes.get(i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match *bytes.get(i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'u' => {
                            let hex = bytes.get(i + 2..i + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            i += 6;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => i += 1,
            }
        }
        self.at = i + 1;
        Some(escaped)
    }

    /// Moves past a number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        let bytes = self.text.as_bytes();
        let digits = |i: &mut usize| {
            let start = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > start
        };
        let mut i = self.at;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        if bytes.get(i) == Some(&b'0') {
            i += 1;
        } else if !digits(&mut i) {
            return None;
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.at = i;
        Some(())
    }

    fn word(&mut self, word: &str) -> Option<()> {
        self.text[self.at..].starts_with(word).then_some(())?;
        self.at += word.len();
        Some(())
    }
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
        let mut out = Vec::new();
        write_canonical(json, &mut out, |_, _| true)?;
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
    fn equals_sorted_value_serialization_where_that_copies_scalars_unchanged() {
        // serde_json's Value keeps objects in name order (no `preserve_order`), so on input
        // whose strings have no escapes and whose numbers are spelled canonically, both
        // forms must agree byte for byte.
        for json in [
            r##"{"TableName":"t","KeyConditionExpression":"#k = :p AND sk > :s","ExpressionAttributeNames":{"#k":"pk"},"ExpressionAttributeValues":{":s":{"N":"5"},":p":{"S":"p00000001"}},"ConsistentRead":false,"Limit":10}"##,
            r#"{"TableName":"t","ExclusiveStartKey":{"sk":{"N":"-1.5e3"},"pk":{"B":"AAE="}},"ScanFilter":{"a":{"ComparisonOperator":"IN","AttributeValueList":[{"S":"x"},{"NULL":true},{"L":[{"M":{"z":{"BOOL":false},"a":{"SS":["b","a"]}}}]}]}}}"#,
            r#"{"Segment":0,"TotalSegments":4,"Select":"COUNT","AttributesToGet":["b","a"],"IndexName":"g","Nested":{"b":[[],{}],"a":{"d":null,"c":0}}}"#,
            " { \"b\" : [ 1 , 2 ] ,\n \"a\" : { } } ",
        ] {
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(canonical(json).unwrap(), value.to_string(), "{json}");
        }
    }

    #[test]
    fn rejects_what_json_rejects() {
        for bad in [
            "",
            "{",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            r#"{"a":1}x"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":tru}"#,
            r#"{"a":"x\q"}"#,
            r#"{"a":"\u12"}"#,
            "{\"a\":\"line\nbreak\"}",
            r#"{"a":[1,]}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":"open}"#,
        ] {
            assert_eq!(canonical(bad), None, "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?} is valid JSON"
            );
        }
        assert_eq!(
            canonical(r#"{"a":-0.5E+2}"#).as_deref(),
            Some(r#"{"a":-0.5E+2}"#)
        );
    }

    #[test]
    fn the_top_level_members_can_refuse_a_key() {
        let mut out = Vec::new();
        let no_consistent =
            |name: &str, value: &[u8]| !(name == "ConsistentRead" && value == b"true");
        assert!(
            write_canonical(r#"{"a":{"ConsistentRead":true}}"#, &mut out, no_consistent).is_some()
        );
        assert!(
            write_canonical(r#"{"Consistent\u0052ead":true}"#, &mut out, no_consistent).is_none()
        );
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
