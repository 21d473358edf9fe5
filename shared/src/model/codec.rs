//! The compact binary encoding of items stored on disk (not JSON text).
//!
//! Versioned by a leading byte so that later layouts can still read old data.
//!
//! Layout of version 1: `0x01`, then the item as a map. A map is a LEB128 varint entry
//! count, then per entry the name (varint length + UTF-8) and the value. A value is one tag
//! byte and its payload:
//!
//! | tag | type | payload |
//! |---|---|---|
//! | 0 | S | varint length + UTF-8 |
//! | 1 | N | varint length + normalized number text |
//! | 2 | B | varint length + bytes |
//! | 3 / 4 | BOOL false / true | none |
//! | 5 | NULL | none |
//! | 6 | M | map |
//! | 7 | L | varint count + values |
//! | 8 / 9 / 10 | SS / NS / BS | varint count + (varint length + bytes) per element |
//!
//! Version 2 (`0x02`) is the same layout, for an item none of whose text (attribute
//! names, S and SS values; numbers never do) needs escaping in JSON: rendering it copies
//! its strings as they are.
//!
//! Decoding trusts nothing: every length is bounds-checked, strings are UTF-8-checked,
//! numbers re-validated, nesting is capped at [`MAX_DECODE_DEPTH`] and counts never
//! pre-allocate more than the remaining input could hold, so arbitrary bytes give `None`,
//! never a panic or a huge allocation. Set elements are not re-checked for duplicates.
//!
//! [`ItemJson`] serializes an encoded item as DynamoDB JSON straight from its bytes, for
//! reads that return items as stored: no `Item` is built, so none of its allocations are
//! made or freed. It reads with the decoder's checks, except that numbers are written as
//! stored rather than re-parsed. [`write_item_json`] renders the same JSON without serde,
//! for `json_out`'s writer (`json_out::EncodedItem`); it also leaves strings' UTF-8 to the
//! encoder that wrote them, and trusts version 2's word that no string needs escaping (the
//! scan for escapes was a tenth of the instructions of a Query of ten 1 KB items).

use std::cell::Cell;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::json_out;
use super::number::Number;
use super::value::{AttributeValue, Base64Ref, Item};

/// The layout version [`encode_item`] writes for an item with text that needs escaping.
pub const VERSION: u8 = 1;
/// The same layout, for an item with no text that needs escaping in JSON.
pub const VERSION_CLEAN: u8 = 2;

/// Deepest nesting the decoder follows: well above DynamoDB's 32, far below the stack.
pub const MAX_DECODE_DEPTH: usize = 128;

const T_S: u8 = 0;
const T_N: u8 = 1;
const T_B: u8 = 2;
const T_FALSE: u8 = 3;
const T_TRUE: u8 = 4;
const T_NULL: u8 = 5;
const T_M: u8 = 6;
const T_L: u8 = 7;
const T_SS: u8 = 8;
const T_NS: u8 = 9;
const T_BS: u8 = 10;

/// Encodes an item.
pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len_estimate(item));
    encode_item_into(item, &mut out);
    out
}

/// Appends the encoding of an item (version byte included) to `out`.
pub fn encode_item_into(item: &Item, out: &mut Vec<u8>) {
    out.push(if map_is_clean(item) {
        VERSION_CLEAN
    } else {
        VERSION
    });
    write_map(item, out);
}

/// Whether no text of a map (its names, and its values' text) needs escaping in JSON.
fn map_is_clean(map: &Item) -> bool {
    map.iter()
        .all(|(name, value)| !json_out::needs_escape(name) && value_is_clean(value))
}

fn value_is_clean(value: &AttributeValue) -> bool {
    match value {
        AttributeValue::S(s) => !json_out::needs_escape(s),
        AttributeValue::Ss(set) => set.iter().all(|s| !json_out::needs_escape(s)),
        AttributeValue::M(m) => map_is_clean(m),
        AttributeValue::L(list) => list.iter().all(value_is_clean),
        // Numbers, binary (rendered as base64), booleans and NULL.
        _ => true,
    }
}

/// Whether `version` is a layout version this module reads, and if so whether it says
/// the item's text needs no escaping.
fn read_version(version: u8) -> Option<bool> {
    match version {
        VERSION => Some(false),
        VERSION_CLEAN => Some(true),
        _ => None,
    }
}

/// A close upper estimate of the encoded size, so encoding allocates once.
fn encoded_len_estimate(item: &Item) -> usize {
    // DynamoDB's item size counts every payload byte; tags and varints add at most a few
    // bytes per value, for which 4 per attribute plus slack is a good first guess.
    super::size::item_size(item) + 4 * item.len() + 16
}

fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    write_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn write_map(map: &Item, out: &mut Vec<u8>) {
    write_varint(map.len() as u64, out);
    for (name, value) in map {
        write_bytes(name.as_bytes(), out);
        write_value(value, out);
    }
}

fn write_value(value: &AttributeValue, out: &mut Vec<u8>) {
    match value {
        AttributeValue::S(s) => {
            out.push(T_S);
            write_bytes(s.as_bytes(), out);
        }
        AttributeValue::N(n) => {
            out.push(T_N);
            write_bytes(n.as_str().as_bytes(), out);
        }
        AttributeValue::B(b) => {
            out.push(T_B);
            write_bytes(b, out);
        }
        AttributeValue::Bool(false) => out.push(T_FALSE),
        AttributeValue::Bool(true) => out.push(T_TRUE),
        AttributeValue::Null => out.push(T_NULL),
        AttributeValue::M(m) => {
            out.push(T_M);
            write_map(m, out);
        }
        AttributeValue::L(l) => {
            out.push(T_L);
            write_varint(l.len() as u64, out);
            for v in l {
                write_value(v, out);
            }
        }
        AttributeValue::Ss(v) => {
            out.push(T_SS);
            write_varint(v.len() as u64, out);
            for s in v {
                write_bytes(s.as_bytes(), out);
            }
        }
        AttributeValue::Ns(v) => {
            out.push(T_NS);
            write_varint(v.len() as u64, out);
            for n in v {
                write_bytes(n.as_str().as_bytes(), out);
            }
        }
        AttributeValue::Bs(v) => {
            out.push(T_BS);
            write_varint(v.len() as u64, out);
            for b in v {
                write_bytes(b, out);
            }
        }
    }
}

/// Decodes an item written by [`encode_item`]; `None` for corrupt input (never panics).
pub fn decode_item(bytes: &[u8]) -> Option<Item> {
    let mut reader = Reader::of(bytes)?;
    let item = reader.map(0)?;
    reader.input.is_empty().then_some(item)
}

struct Reader<'a> {
    input: &'a [u8],
    /// The item's text needs no escaping (version 2): JSON rendering copies it as it is.
    clean: bool,
}

impl<'a> Reader<'a> {
    /// A reader at the first entry of an encoded item (after its version byte).
    fn of(bytes: &'a [u8]) -> Option<Reader<'a>> {
        let (&version, rest) = bytes.split_first()?;
        read_version(version)?;
        Some(Reader {
            input: rest,
            clean: false,
        })
    }

    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.input.split_first()?;
        self.input = rest;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7F);
            if shift == 63 && bits > 1 {
                return None;
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A count of items each taking at least one byte: never more than the input left.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n <= self.input.len()).then_some(n)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.input.len() {
            return None;
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Some(head)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }

    fn number(&mut self) -> Option<Number> {
        Number::parse(std::str::from_utf8(self.bytes()?).ok()?).ok()
    }

    fn map(&mut self, depth: usize) -> Option<Item> {
        let n = self.count()?;
        let mut map = Item::new();
        for _ in 0..n {
            let name = self.string()?;
            let value = self.value(depth)?;
            map.insert(name, value);
        }
        Some(map)
    }

    fn value(&mut self, depth: usize) -> Option<AttributeValue> {
        Some(match self.byte()? {
            T_S => AttributeValue::S(self.string()?),
            T_N => AttributeValue::N(self.number()?),
            T_B => AttributeValue::B(self.bytes()?.to_vec()),
            T_FALSE => AttributeValue::Bool(false),
            T_TRUE => AttributeValue::Bool(true),
            T_NULL => AttributeValue::Null,
            T_M => {
                if depth >= MAX_DECODE_DEPTH {
                    return None;
                }
                AttributeValue::M(self.map(depth + 1)?)
            }
            T_L => {
                if depth >= MAX_DECODE_DEPTH {
                    return None;
                }
                let n = self.count()?;
                let mut list = Vec::with_capacity(n);
                for _ in 0..n {
                    list.push(self.value(depth + 1)?);
                }
                AttributeValue::L(list)
            }
            T_SS => AttributeValue::Ss(self.set(Reader::string)?),
            T_NS => AttributeValue::Ns(self.set(Reader::number)?),
            T_BS => AttributeValue::Bs(self.set(|r| r.bytes().map(<[u8]>::to_vec))?),
            _ => return None,
        })
    }

    fn set<T>(&mut self, mut element: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.count()?;
        if n == 0 {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(element(self)?);
        }
        Some(out)
    }
}

/// Appends the DynamoDB JSON of an encoded item, rendered straight from its bytes: the
/// bytes `json_out` writes for `decode_item` of the same encoding, with the decoder's
/// checks except two. Strings are not checked for UTF-8 again (they were when the item
/// was encoded) and numbers are written as stored. `None` if the bytes do not decode; `out`
/// is then left as it was. For `json_out::EncodedItem`.
pub(crate) fn write_item_json(out: &mut Vec<u8>, encoded: &[u8]) -> Option<()> {
    let start = out.len();
    let rendered = match encoded.split_first() {
        Some((&version, body)) => read_version(version).and_then(|clean| {
            let mut reader = Reader { input: body, clean };
            reader.map_json(out, 0).filter(|()| reader.input.is_empty())
        }),
        None => None,
    };
    if rendered.is_none() {
        out.truncate(start);
    }
    rendered
}

impl Reader<'_> {
    /// `n` elements between `open` and `close`, comma-separated, each written by `element`.
    fn elements_json(
        &mut self,
        out: &mut Vec<u8>,
        [open, close]: [u8; 2],
        n: usize,
        mut element: impl FnMut(&mut Self, &mut Vec<u8>) -> Option<()>,
    ) -> Option<()> {
        out.push(open);
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            element(self, out)?;
        }
        out.push(close);
        Some(())
    }

    /// A map (an item, or an M's contents) as a JSON object.
    fn map_json(&mut self, out: &mut Vec<u8>, depth: usize) -> Option<()> {
        let n = self.count()?;
        self.elements_json(out, *b"{}", n, |reader, out| {
            reader.text_json(out)?;
            out.push(b':');
            reader.value_json(out, depth)
        })
    }

    /// A string (a name, an S, N or set element) as a JSON string.
    fn text_json(&mut self, out: &mut Vec<u8>) -> Option<()> {
        json_out::write_str_bytes(out, self.bytes()?, self.clean);
        Some(())
    }

    /// One tagged value as `{"S":...}`, `{"M":{...}}` and so on.
    fn value_json(&mut self, out: &mut Vec<u8>, depth: usize) -> Option<()> {
        let tag = self.byte()?;
        let nested = || (depth < MAX_DECODE_DEPTH).then_some(depth + 1);
        let name: &[u8] = match tag {
            T_S => b"{\"S\":",
            T_N => b"{\"N\":",
            T_B => b"{\"B\":",
            T_FALSE => b"{\"BOOL\":false}",
            T_TRUE => b"{\"BOOL\":true}",
            T_NULL => b"{\"NULL\":true}",
            T_M => b"{\"M\":",
            T_L => b"{\"L\":",
            T_SS => b"{\"SS\":",
            T_NS => b"{\"NS\":",
            T_BS => b"{\"BS\":",
            _ => return None,
        };
        out.extend_from_slice(name);
        match tag {
            T_FALSE | T_TRUE | T_NULL => return Some(()),
            T_S | T_N => self.text_json(out)?,
            T_B => write_base64_json(out, self.bytes()?),
            T_M => self.map_json(out, nested()?)?,
            T_L => {
                let depth = nested()?;
                let n = self.count()?;
                self.elements_json(out, *b"[]", n, |reader, out| reader.value_json(out, depth))?;
            }
            _ => {
                // Sets: never empty.
                let n = self.count().filter(|&n| n > 0)?;
                self.elements_json(out, *b"[]", n, |reader, out| {
                    if tag == T_BS {
                        write_base64_json(out, reader.bytes()?);
                        Some(())
                    } else {
                        reader.text_json(out)
                    }
                })?;
            }
        }
        out.push(b'}');
        Some(())
    }
}

/// Bytes as a quoted standard-base64 JSON string (base64 needs no escaping), formatted as
/// `value::Base64Ref` formats them for serde.
fn write_base64_json(out: &mut Vec<u8>, bytes: &[u8]) {
    use std::io::Write as _;
    let base64 =
        base64::display::Base64Display::new(bytes, &base64::engine::general_purpose::STANDARD);
    // Writing into a Vec cannot fail.
    let _ = write!(out, "\"{base64}\"");
}

/// An encoded item (as [`encode_item`] writes it) that serializes as DynamoDB JSON: the
/// same output, for any serializer, as serializing `decode_item` of the same bytes. Bytes
/// that do not decode are a serialization error.
pub struct ItemJson<'a>(pub &'a [u8]);

impl Serialize for ItemJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let body = match self.0.split_first() {
            Some((&version, body)) if read_version(version).is_some() => body,
            _ => return Err(corrupt()),
        };
        let cursor = Cursor(Cell::new(body));
        let out = MapJson(&cursor, 0).serialize(serializer)?;
        if !cursor.0.get().is_empty() {
            return Err(corrupt());
        }
        Ok(out)
    }
}

fn corrupt<E: serde::ser::Error>() -> E {
    E::custom("corrupt item encoding")
}

/// The unread rest of an encoding, shared by the nested serializers below: serde hands
/// each value `&self`, and each reads its own bytes and moves the cursor past them.
struct Cursor<'a>(Cell<&'a [u8]>);

impl<'a> Cursor<'a> {
    fn read<T, E: serde::ser::Error>(
        &self,
        read: impl FnOnce(&mut Reader<'a>) -> Option<T>,
    ) -> Result<T, E> {
        let mut reader = Reader {
            input: self.0.get(),
            clean: false,
        };
        let value = read(&mut reader).ok_or_else(corrupt)?;
        self.0.set(reader.input);
        Ok(value)
    }
}

/// A map at the cursor (an item, or an M's contents), at nesting `depth`.
struct MapJson<'c, 'a>(&'c Cursor<'a>, usize);

impl Serialize for MapJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let MapJson(cursor, depth) = *self;
        let n = cursor.read(Reader::count)?;
        let mut map = serializer.serialize_map(Some(n))?;
        for _ in 0..n {
            let name = cursor.read(Reader::str)?;
            map.serialize_entry(name, &ValueJson(cursor, depth))?;
        }
        map.end()
    }
}

/// One tagged value at the cursor, shaped as `AttributeValue`'s `Serialize` shapes it.
struct ValueJson<'c, 'a>(&'c Cursor<'a>, usize);

impl Serialize for ValueJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ValueJson(cursor, depth) = *self;
        let tag = cursor.read(Reader::byte)?;
        let nested = || {
            if depth >= MAX_DECODE_DEPTH {
                Err(corrupt())
            } else {
                Ok(depth + 1)
            }
        };
        let mut map = serializer.serialize_map(Some(1))?;
        match tag {
            T_S => map.serialize_entry("S", cursor.read::<_, S::Error>(Reader::str)?)?,
            T_N => map.serialize_entry("N", cursor.read::<_, S::Error>(Reader::str)?)?,
            T_B => {
                map.serialize_entry("B", &Base64Ref(cursor.read::<_, S::Error>(Reader::bytes)?))?
            }
            T_FALSE => map.serialize_entry("BOOL", &false)?,
            T_TRUE => map.serialize_entry("BOOL", &true)?,
            T_NULL => map.serialize_entry("NULL", &true)?,
            T_M => map.serialize_entry("M", &MapJson(cursor, nested()?))?,
            T_L => map.serialize_entry("L", &ListJson(cursor, nested()?))?,
            T_SS => map.serialize_entry("SS", &SetJson(cursor, T_SS))?,
            T_NS => map.serialize_entry("NS", &SetJson(cursor, T_NS))?,
            T_BS => map.serialize_entry("BS", &SetJson(cursor, T_BS))?,
            _ => return Err(corrupt()),
        }
        map.end()
    }
}

/// An L's elements at the cursor.
struct ListJson<'c, 'a>(&'c Cursor<'a>, usize);

impl Serialize for ListJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ListJson(cursor, depth) = *self;
        let n = cursor.read(Reader::count)?;
        let mut seq = serializer.serialize_seq(Some(n))?;
        for _ in 0..n {
            seq.serialize_element(&ValueJson(cursor, depth))?;
        }
        seq.end()
    }
}

/// A set's elements at the cursor (`tag` says which kind); empty sets do not decode.
struct SetJson<'c, 'a>(&'c Cursor<'a>, u8);

impl Serialize for SetJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let SetJson(cursor, tag) = *self;
        let n = cursor.read(Reader::count)?;
        if n == 0 {
            return Err(corrupt());
        }
        let mut seq = serializer.serialize_seq(Some(n))?;
        for _ in 0..n {
            if tag == T_BS {
                seq.serialize_element(&Base64Ref(cursor.read(Reader::bytes)?))?;
            } else {
                seq.serialize_element(cursor.read::<_, S::Error>(Reader::str)?)?;
            }
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::item_strategy;
    use proptest::prelude::*;

    #[test]
    fn round_trips_every_type() {
        let mut inner = Item::new();
        inner.insert("n".into(), AttributeValue::N(Number::from_i64(-42)));
        let mut item = Item::new();
        item.insert("s".into(), AttributeValue::S("héllo".into()));
        item.insert("b".into(), AttributeValue::B(vec![0, 255, 7]));
        item.insert("t".into(), AttributeValue::Bool(true));
        item.insert("f".into(), AttributeValue::Bool(false));
        item.insert("z".into(), AttributeValue::Null);
        item.insert("m".into(), AttributeValue::M(inner));
        item.insert(
            "l".into(),
            AttributeValue::L(vec![AttributeValue::Null, AttributeValue::S(String::new())]),
        );
        item.insert(
            "ss".into(),
            AttributeValue::Ss(vec!["b".into(), "a".into()]),
        );
        item.insert(
            "ns".into(),
            AttributeValue::Ns(vec![Number::from_i64(2), Number::from_i64(1)]),
        );
        item.insert("bs".into(), AttributeValue::Bs(vec![vec![], vec![1]]));
        let enc = encode_item(&item);
        assert_eq!(enc[0], VERSION_CLEAN);
        let back = decode_item(&enc);
        assert_eq!(back.as_ref(), Some(&item));
        // Sets keep their stored order.
        assert_eq!(
            back.and_then(|b| b.get("ss").cloned()),
            Some(AttributeValue::Ss(vec!["b".into(), "a".into()]))
        );
        assert_eq!(decode_item(&encode_item(&Item::new())), Some(Item::new()));
    }

    #[test]
    fn only_items_whose_text_needs_no_escaping_are_marked_clean() {
        let with = |name: &str, value: AttributeValue| Item::from([(name.to_string(), value)]);
        let s = |t: &str| AttributeValue::S(t.into());
        assert_eq!(
            encode_item(&with("a", s("plain text é"))),
            [VERSION_CLEAN, 1, 1, b'a', T_S, 13]
                .iter()
                .copied()
                .chain("plain text é".bytes())
                .collect::<Vec<_>>()
        );
        for unclean in [
            with("a\"b", s("x")),
            with("a", s("line\n")),
            with(
                "a",
                AttributeValue::Ss(vec!["x".into(), "back\\slash".into()]),
            ),
            with(
                "a",
                AttributeValue::L(vec![AttributeValue::M(with("n", s("\u{1}")))]),
            ),
        ] {
            let enc = encode_item(&unclean);
            assert_eq!(enc[0], VERSION, "{unclean:?}");
            // Both versions render through the same JSON as the checked route.
            let mut out = Vec::new();
            write_item_json(&mut out, &enc).unwrap();
            assert_eq!(out, crate::model::json_out::to_vec(&unclean).unwrap());
            assert_eq!(decode_item(&enc), Some(unclean));
        }
        let clean = with("a", AttributeValue::B(vec![0, b'"', b'\\']));
        assert_eq!(encode_item(&clean)[0], VERSION_CLEAN);
        // What builds before version 2 wrote for a clean item (version 1, the same layout)
        // still decodes and renders as the item.
        let item = with("a", s("plain"));
        let mut old = encode_item(&item);
        old[0] = VERSION;
        assert_eq!(decode_item(&old), Some(item.clone()));
        let mut out = Vec::new();
        write_item_json(&mut out, &old).unwrap();
        assert_eq!(out, crate::model::json_out::to_vec(&item).unwrap());
    }

    #[test]
    fn rejects_corrupt_input() {
        assert_eq!(decode_item(&[]), None);
        assert_eq!(decode_item(&[3, 0]), None);
        assert_eq!(decode_item(&[1, 0, 0]), None); // trailing byte
        assert_eq!(
            decode_item(&[1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
            None
        );
        assert_eq!(decode_item(&[1, 1, 1, b'a', T_SS, 0]), None); // empty set
        assert_eq!(decode_item(&[1, 1, 1, b'a', T_N, 1, b'x']), None);
        // A list nested past the depth cap.
        let mut deep = vec![1, 1, 1, b'a'];
        for _ in 0..=MAX_DECODE_DEPTH {
            deep.extend_from_slice(&[T_L, 1]);
        }
        deep.push(T_NULL);
        assert_eq!(decode_item(&deep), None);
    }

    /// `item`'s encoding with the byte at `at` (wrapped) replaced, and the same cut short
    /// before it.
    fn mutated(item: &Item, at: usize, byte: u8) -> [Vec<u8>; 2] {
        let mut enc = encode_item(item);
        let i = at % enc.len();
        enc[i] = byte;
        let cut = enc[..i].to_vec();
        [enc, cut]
    }

    fn json(bytes: &[u8]) -> Option<Vec<u8>> {
        crate::model::json_out::to_vec(&ItemJson(bytes)).ok()
    }

    #[test]
    fn item_json_rejects_what_decoding_rejects() {
        assert_eq!(json(&[]), None);
        assert_eq!(json(&[3, 0]), None);
        assert_eq!(json(&[1, 0, 0]), None);
        assert_eq!(json(&[1, 1, 1, b'a', T_SS, 0]), None);
        assert_eq!(json(&[1, 1, 1, 0xFF, T_NULL]), None); // a name that is not UTF-8
        assert_eq!(json(&[1, 1, 1, b'a', 42]), None); // unknown tag
        let mut deep = vec![1, 1, 1, b'a'];
        for _ in 0..=MAX_DECODE_DEPTH {
            deep.extend_from_slice(&[T_L, 1]);
        }
        deep.push(T_NULL);
        assert_eq!(json(&deep), None);
        // Numbers are written as stored; the decoder re-validates them.
        assert_eq!(
            json(&[1, 1, 1, b'a', T_N, 1, b'x']).as_deref(),
            Some(&br#"{"a":{"N":"x"}}"#[..])
        );
    }

    proptest! {
        #[test]
        fn item_json_and_encoded_item_are_the_decoded_items_json(item in item_strategy()) {
            let enc = encode_item(&item);
            let (json_out, serde_json) = (json_out::to_vec(&item).ok(), serde_json::to_vec(&item).ok());
            prop_assert_eq!(&json_out::to_vec(&ItemJson(&enc)).ok(), &json_out);
            prop_assert_eq!(&serde_json::to_vec(&ItemJson(&enc)).ok(), &serde_json);
            prop_assert_eq!(&json_out::to_vec(&json_out::EncodedItem(&enc)).ok(), &json_out);
            // Every other serializer takes the checked route, with the same output.
            prop_assert_eq!(&serde_json::to_vec(&json_out::EncodedItem(&enc)).ok(), &serde_json);
        }

        #[test]
        fn item_json_of_mutated_bytes_never_panics_and_agrees(
            item in item_strategy(), at in any::<usize>(), byte in any::<u8>()
        ) {
            for bytes in mutated(&item, at, byte) {
                let bytes = &bytes[..];
                let fast = json(bytes);
                // Agreement holds for what the encoder writes (names in order, each once);
                // a mutated name may break that and still decode.
                match decode_item(bytes) {
                    Some(decoded) if encode_item(&decoded) == bytes => {
                        prop_assert_eq!(fast, crate::model::json_out::to_vec(&decoded).ok());
                    }
                    _ => {}
                }
            }
        }

        #[test]
        fn an_encoded_item_of_mutated_bytes_never_panics_and_agrees(
            item in item_strategy(), at in any::<usize>(), byte in any::<u8>()
        ) {
            for bytes in mutated(&item, at, byte) {
                let bytes = &bytes[..];
                let mut out = b"[".to_vec();
                let rendered = write_item_json(&mut out, bytes);
                // What the checked route renders, this one renders the same; what it
                // refuses, this one refuses too (leaving `out` alone), unless the only
                // fault is a string that is not UTF-8, which it copies as it is. Bytes
                // that claim (version 2) that no text needs escaping are taken at their
                // word: only an item that really has none must render the same.
                let claims_clean = bytes.first() == Some(&VERSION_CLEAN);
                if claims_clean && !decode_item(bytes).is_some_and(|i| map_is_clean(&i)) {
                    continue;
                }
                match json(bytes) {
                    Some(checked) => {
                        prop_assert_eq!(rendered, Some(()));
                        prop_assert_eq!(&out[1..], &checked[..]);
                    }
                    None if rendered.is_none() => prop_assert_eq!(&out[..], b"["),
                    None => prop_assert!(std::str::from_utf8(&out).is_err()),
                }
            }
        }

        #[test]
        fn round_trips(item in item_strategy()) {
            prop_assert_eq!(decode_item(&encode_item(&item)), Some(item));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_item(&bytes);
            let mut with_version = vec![VERSION];
            with_version.extend_from_slice(&bytes);
            let _ = decode_item(&with_version);
        }

        #[test]
        fn survives_mutations(item in item_strategy(), at in any::<usize>(), byte in any::<u8>()) {
            for bytes in mutated(&item, at, byte) {
                let _ = decode_item(&bytes);
            }
        }
    }
}
