//! The DynamoDB JSON writer for response bodies: serde_json's output, byte for byte, with
//! a faster string escaper.
//!
//! Shape: a serde `Serializer` into a `Vec<u8>` ([`to_vec`], [`write_item`],
//! [`write_value`]). `AttributeValue`'s `Serialize` impl (`value.rs`) stays the one
//! description of DynamoDB JSON; this module only changes how its strings are written.
//! Chosen over the other design (the `Serialize` impl writing each value with a
//! hand-written encoder and handing it to serde as a `RawValue`) by instruction counts
//! under callgrind, per 1 KB item (opt-level 3): serde_json `to_vec` 13.6k, this module's
//! `to_vec` 9.8k (string escaping 9.1k -> 3.9k of that), the RawValue route 26.5k
//! (serde_json re-parses every raw value to validate it), and `serde_json::to_value` of
//! an item (the proxy's `json!`) 25k today against 59k with RawValue. This way
//! `to_value` and every other serializer keep today's cost.
//!
//! Output is byte-identical to `serde_json::to_vec` of the same value: clients check
//! `x-amz-crc32` over the body and tests compare bodies, so the bytes are a contract, not
//! a style. Strings (values, map keys, struct field and variant names) are escaped
//! exactly as serde_json escapes them: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, every
//! other byte below 0x20 as `\u00xx` with lowercase hex, nothing else (not DEL, not
//! non-ASCII, not `/`). Every other scalar is handed to serde_json itself, so numbers are
//! formatted by the same code.
//!
//! Why it exists: serde_json's escaping looks at one byte at a time, and item bodies are
//! mostly string bytes (14% of the store's CPU under a Query load). [`write_str`] tests
//! eight bytes per step with word arithmetic and copies each clean run with one
//! `extend_from_slice`.
//!
//! Limits: map keys must be strings (serde_json also turns numbers and booleans into
//! keys; here they are an error); no pretty printing. Recursion follows the value's
//! nesting, as serde_json's does.

use std::cell::Cell;
use std::fmt;

use serde::ser::{self, Error as _, Serialize};

use super::value::{AttributeValue, Item};

/// Errors are serde_json's, so that callers handle both encoders alike.
pub type Error = serde_json::Error;

/// Appends `item` as a DynamoDB JSON object: `{"name":{"S":"..."},...}`.
pub fn write_item(out: &mut Vec<u8>, item: &Item) {
    write_infallible(out, item);
}

/// Appends one value in DynamoDB JSON: `{"S":"x"}`, `{"N":"1"}`, `{"B":"AQI="}`,
/// `{"BOOL":true}`, `{"NULL":true}`, `{"M":{...}}`, `{"L":[...]}`, `{"SS":[...]}`,
/// `{"NS":[...]}`, `{"BS":[...]}`.
pub fn write_value(out: &mut Vec<u8>, value: &AttributeValue) {
    write_infallible(out, value);
}

/// Values and items cannot fail to encode: every map key is a string and base64's
/// `Display` never fails. Should that change, the partial output is dropped rather than
/// sent.
fn write_infallible<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if value.serialize(&mut Writer::new(out)).is_err() {
        debug_assert!(false, "an attribute value failed to encode");
        out.truncate(start);
    }
}

/// `serde_json::to_vec` with this module's string escaping: the same bytes for any value
/// whose map keys are strings (other keys are an error here; serde_json also accepts
/// numbers and booleans).
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    to_vec_with_capacity(value, 128)
}

/// [`to_vec`] into a buffer of `capacity` bytes, for an answer whose length the caller can
/// estimate: a 10 KB page of items written into a 128-byte buffer is grown and copied
/// seven times on the way.
pub fn to_vec_with_capacity<T: Serialize + ?Sized>(
    value: &T,
    capacity: usize,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(capacity);
    value.serialize(&mut Writer::new(&mut out))?;
    Ok(out)
}

/// A serde JSON serializer into a `Vec<u8>`. Strings (and struct field names, map keys,
/// variant names) go through [`write_str`]; every other scalar is handed to serde_json,
/// so numbers are formatted exactly as serde_json formats them.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Set while this writer is serializing: [`EncodedItem`] asks for its fast path only
    /// then, so any other serializer gets the item through `ItemJson`.
    _active: Active,
    /// The next `serialize_bytes` is an [`EncodedItem`]'s encoding, to render as JSON.
    encoded_item_next: bool,
}

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as running a [`Writer`] until dropped (restoring what was before, so
/// a writer used inside another leaves it set).
struct Active(bool);

impl Active {
    fn start() -> Self {
        Active(ACTIVE.replace(true))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.set(self.0);
    }
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Writer {
            out,
            _active: Active::start(),
            encoded_item_next: false,
        }
    }

    fn scalar<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, value)
    }

    /// `{"name":` for the enum encodings serde_json uses (`{"Variant": ...}`).
    fn open_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
    }
}

/// An array or object being written; `first` decides the comma. `close` is `]` or `}`
/// for the container, and `variant` adds the `}` of an enclosing `{"Variant": ...}`.
struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    close: u8,
    variant: bool,
}

impl<'w, 'a> Compound<'w, 'a> {
    fn open(writer: &'w mut Writer<'a>, open: u8, close: u8, variant: bool) -> Self {
        writer.out.push(open);
        Compound {
            writer,
            first: true,
            close,
            variant,
        }
    }

    fn comma(&mut self) {
        if !self.first {
            self.writer.out.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        self.comma();
        write_str(self.writer.out, name);
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }

    fn close(self) -> Result<(), Error> {
        self.writer.out.push(self.close);
        if self.variant {
            self.writer.out.push(b'}');
        }
        Ok(())
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.scalar(&v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        if std::mem::take(&mut self.encoded_item_next) {
            return crate::model::codec::write_item_json(self.out, v)
                .ok_or_else(|| Error::custom("corrupt item encoding"));
        }
        // serde_json writes bytes as an array of numbers, as it does a `[u8]` sequence.
        self.scalar(v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.encoded_item_next = name == ENCODED_ITEM;
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(Compound::open(self, b'[', b']', false))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'w, 'a>, Error> {
        Ok(Compound::open(self, b'[', b']', false))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        Ok(Compound::open(self, b'[', b']', false))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.open_variant(variant);
        Ok(Compound::open(self, b'[', b']', true))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(Compound::open(self, b'{', b'}', false))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'w, 'a>, Error> {
        Ok(Compound::open(self, b'{', b'}', false))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.open_variant(variant);
        Ok(Compound::open(self, b'{', b'}', true))
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        // Escapes each fragment as `Display` writes it; no intermediate `String`.
        struct Escaping<'v>(&'v mut Vec<u8>);
        impl fmt::Write for Escaping<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                escape_into(self.0, s.as_bytes());
                Ok(())
            }
        }
        self.out.push(b'"');
        fmt::write(&mut Escaping(self.out), format_args!("{value}"))
            .map_err(|_| Error::custom("a Display implementation returned an error"))?;
        self.out.push(b'"');
        Ok(())
    }
}

/// The newtype name by which an [`EncodedItem`] hands its bytes to [`Writer`].
const ENCODED_ITEM: &str = "$shared::json_out::EncodedItem";

/// An item in the stored encoding (`codec::encode_item`) that serializes as its DynamoDB
/// JSON. This module's writer renders it straight from the bytes
/// (`codec::write_item_json`): no serde calls per value, and its strings are escaped as
/// bytes without checking them for UTF-8 again (they were checked when the item was
/// written, and the engine checksums what it stores; a bit flipped past both would reach
/// the client as a malformed string, not as a panic). Any other serializer gets
/// `codec::ItemJson`, which checks everything. Measured under callgrind on a 10-item Query
/// of 1 KB items: see BENCHMARKS.md (session 9).
pub struct EncodedItem<'a>(pub &'a [u8]);

impl Serialize for EncodedItem<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if ACTIVE.get() {
            serializer.serialize_newtype_struct(ENCODED_ITEM, &EncodingBytes(self.0))
        } else {
            crate::model::codec::ItemJson(self.0).serialize(serializer)
        }
    }
}

/// The encoding itself, as serde bytes: what [`Writer`] turns into JSON.
struct EncodingBytes<'a>(&'a [u8]);

impl Serialize for EncodingBytes<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// The four sequence-shaped serde traits all write `[a,b,...]` the same way; one macro
/// writes their impls so the delegation exists once.
macro_rules! sequence_impl {
    ($($trait:ident :: $method:ident),+) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )+};
}

sequence_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(KeyWriter(self.writer.out))?;
        self.writer.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// Structs and struct variants both write `{"name":value,...}`.
macro_rules! struct_impl {
    ($($trait:ident),+) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                name: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(name, value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )+};
}

struct_impl!(SerializeStruct, SerializeStructVariant);

/// Map keys: strings (and chars, newtypes of them) only.
struct KeyWriter<'v>(&'v mut Vec<u8>);

fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

/// JSON object keys are strings: a key serializer refuses every scalar kind alike, so
/// those methods are written once here.
macro_rules! reject_scalar_keys {
    ($($method:ident: $kind:ty),+) => {$(
        fn $method(self, _: $kind) -> Result<(), Error> {
            Err(key_must_be_a_string())
        }
    )+};
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.0, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    reject_scalar_keys!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_f32: f32,
        serialize_f64: f64
    );
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

/// Bytes per step of the block scan: two SSE2 vectors.
const BLOCK: usize = 32;

/// Whether any byte of the block needs escaping. Flags per byte into an array, then one
/// OR over it: in this shape (not a running OR, which LLVM widens to 16-bit lanes) it
/// compiles to 24 SSE2 instructions per block, with no branch. Item text is mostly long
/// clean runs: under callgrind, 1,000 Queries of ten 1 KB items spent 31.6M instructions
/// escaping with words alone (a quarter of the store's), 10.5M with blocks first.
#[inline]
fn block_needs_escape(block: &[u8; BLOCK]) -> bool {
    let mut flags = [0u8; BLOCK];
    for (flag, &b) in flags.iter_mut().zip(block) {
        *flag = u8::from(b < 0x20) | u8::from(b == b'"') | u8::from(b == b'\\');
    }
    flags.iter().fold(0, |any, &flag| any | flag) != 0
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A word with the high bit set in each byte of `w` that JSON requires escaped (below
/// 0x20, `"` or `\`). Only the lowest flagged byte is exact: a borrow out of a flagged
/// byte can flag the byte above it too, so callers act on the lowest one and rescan.
#[inline]
fn needs_escape_mask(w: u64) -> u64 {
    // Bytes >= 0x80 have their high bit set, and `!w` clears it: never flagged.
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGHS
}

/// How serde_json escapes byte `b`: 0 for not at all, `u` for `\u00xx`, else the letter
/// after the backslash.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

#[inline]
fn write_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match ESCAPE[usize::from(byte)] {
        b'u' => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xF)],
        ]),
        letter => out.extend_from_slice(&[b'\\', letter]),
    }
}

/// Appends `s` as a quoted JSON string, escaped exactly as serde_json escapes it.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    write_str_bytes(out, s.as_bytes(), false);
}

/// [`write_str`] of text already known to be UTF-8, given as bytes (the escaping looks at
/// bytes only: everything from 0x80 up is copied as it is). Text known to need no
/// escaping (`clean`: nothing below 0x20, no `"` or `\`) is copied between the quotes
/// without being looked at.
pub(crate) fn write_str_bytes(out: &mut Vec<u8>, bytes: &[u8], clean: bool) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if clean {
        out.extend_from_slice(bytes);
    } else {
        escape_into(out, bytes);
    }
    out.push(b'"');
}

/// Whether `text` has a byte JSON requires escaped (below 0x20, `"` or `\`).
pub(crate) fn needs_escape(text: &str) -> bool {
    next_escape(text.as_bytes(), 0).is_some()
}

/// Appends the escaped contents of a JSON string, without the quotes.
fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    // `clean` is where the run not yet copied starts.
    let mut clean = 0;
    while let Some(hit) = next_escape(bytes, clean) {
        out.extend_from_slice(&bytes[clean..hit]);
        write_escape(out, bytes[hit]);
        clean = hit + 1;
    }
    out.extend_from_slice(&bytes[clean..]);
}

/// The offset of the first byte at or after `at` (`at <= bytes.len()`) that needs
/// escaping: clean 32-byte blocks skipped whole, then eight bytes per step, then the last
/// few one by one.
#[inline]
fn next_escape(bytes: &[u8], mut at: usize) -> Option<usize> {
    let bytes = bytes.get(at..)?;
    let mut rest = bytes;
    while let Some(block) = rest.first_chunk::<BLOCK>() {
        if block_needs_escape(block) {
            break;
        }
        at += BLOCK;
        rest = &rest[BLOCK..];
    }
    while let Some(word) = rest.first_chunk::<8>() {
        let mask = needs_escape_mask(u64::from_le_bytes(*word));
        if mask != 0 {
            // Little-endian load: the lowest set bit is the first flagged byte.
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
        at += 8;
        rest = &rest[8..];
    }
    rest.iter()
        .position(|&b| ESCAPE[usize::from(b)] != 0)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Number;

    fn fast(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn serde(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    #[test]
    fn every_byte_escapes_as_serde_json_does() {
        for b in 0u8..=0x7F {
            let s = char::from(b).to_string();
            assert_eq!(fast(&s), serde(&s), "byte {b:#04x}");
        }
        assert_eq!(fast("\""), r#""\"""#);
        assert_eq!(fast("\\"), r#""\\""#);
        assert_eq!(fast("\u{8}\u{c}\n\r\t"), r#""\b\f\n\r\t""#);
        assert_eq!(fast("\u{0}\u{1f}\u{b}"), r#""\u0000\u001f\u000b""#);
        assert_eq!(fast("\u{7f}/é😀"), "\"\u{7f}/é😀\"");
        assert_eq!(fast(""), r#""""#);
    }

    #[test]
    fn escapes_at_every_position_of_blocks_and_words() {
        // A special byte at every offset of strings up to three blocks long, alone or
        // followed by a byte that a borrow out of it could wrongly flag.
        let specials = [b'"', b'\\', 0x00, 0x08, b'\n', 0x1F];
        let followers = [
            None,
            Some(b' '),
            Some(b'#'),
            Some(b']'),
            Some(b'"'),
            Some(0x01),
        ];
        for len in 1..(3 * BLOCK + 2) {
            for pos in 0..len {
                for &c in &specials {
                    for &d in &followers {
                        let mut bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                        bytes[pos] = c;
                        if let (Some(d), true) = (d, pos + 1 < len) {
                            bytes[pos + 1] = d;
                        }
                        let s = String::from_utf8(bytes).unwrap();
                        assert_eq!(fast(&s), serde(&s), "{s:?}");
                        // The same after a multibyte prefix, which shifts word boundaries.
                        let shifted = format!("é{s}");
                        assert_eq!(fast(&shifted), serde(&shifted), "{shifted:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn runs_of_escapes_and_multibyte_text() {
        for s in [
            "\"\"\"\"\"\"\"\"\"\"",
            "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
            "ユニコード文字列の中に\"引用符\"と\\がある",
            "\u{1}a\u{2}b\u{3}c\u{4}d\u{5}e\u{6}f\u{7}g\u{8}h\u{9}",
            "        \u{20}\u{21}\u{22}\u{23}\u{5b}\u{5c}\u{5d}",
        ] {
            assert_eq!(fast(s), serde(s), "{s:?}");
        }
    }

    #[test]
    fn every_type_matches_serde_json() {
        let num = |t: &str| Number::parse(t).unwrap();
        let mut inner = Item::new();
        inner.insert("q\"uote".into(), AttributeValue::Null);
        let mut item = Item::new();
        item.insert("s".into(), AttributeValue::S("a\tb".into()));
        item.insert("n".into(), AttributeValue::N(num("-1.5e10")));
        item.insert("b".into(), AttributeValue::B(vec![0, 1, 255]));
        item.insert("e".into(), AttributeValue::B(vec![]));
        item.insert("t".into(), AttributeValue::Bool(true));
        item.insert("f".into(), AttributeValue::Bool(false));
        item.insert("z".into(), AttributeValue::Null);
        item.insert("m".into(), AttributeValue::M(inner));
        item.insert("em".into(), AttributeValue::M(Item::new()));
        item.insert("el".into(), AttributeValue::L(vec![]));
        item.insert(
            "l".into(),
            AttributeValue::L(vec![
                AttributeValue::Bool(false),
                AttributeValue::S("".into()),
            ]),
        );
        item.insert(
            "ss".into(),
            AttributeValue::Ss(vec!["x".into(), "\n".into()]),
        );
        item.insert("ns".into(), AttributeValue::Ns(vec![num("1"), num("0.25")]));
        item.insert("bs".into(), AttributeValue::Bs(vec![vec![1], vec![2, 3]]));
        let mut out = Vec::new();
        write_item(&mut out, &item);
        assert_eq!(out, serde_json::to_vec(&item).unwrap());
        let want = r#"{"b":{"B":"AAH/"},"bs":{"BS":["AQ==","AgM="]},"e":{"B":""},"el":{"L":[]},"em":{"M":{}},"f":{"BOOL":false},"l":{"L":[{"BOOL":false},{"S":""}]},"m":{"M":{"q\"uote":{"NULL":true}}},"n":{"N":"-15000000000"},"ns":{"NS":["1","0.25"]},"s":{"S":"a\tb"},"ss":{"SS":["x","\n"]},"t":{"BOOL":true},"z":{"NULL":true}}"#;
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let mut out = b"x".to_vec();
        write_value(&mut out, &AttributeValue::M(item.clone()));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("x{{\"M\":{want}}}")
        );
    }

    #[test]
    fn serde_shapes_match_serde_json() {
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(i32, f32),
            Struct { a: Option<bool> },
        }
        #[derive(serde::Serialize)]
        struct Unit;
        #[derive(serde::Serialize)]
        struct Wrap(String);
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Shape {
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
            floats: Vec<f64>,
            ints: (i64, u64, i128, u128, i8, u16),
            chars: [char; 3],
            enums: Vec<E>,
            unit: (),
            unit_struct: Unit,
            bytes: serde_bytes_like::Bytes,
            keys: std::collections::BTreeMap<char, Wrap>,
            text: &'static str,
        }
        mod serde_bytes_like {
            pub struct Bytes(pub Vec<u8>);
            impl serde::Serialize for Bytes {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_bytes(&self.0)
                }
            }
        }
        let shape = Shape {
            skipped: None,
            floats: vec![
                0.0,
                1.0,
                -0.5,
                1e300,
                1.5e-7,
                f64::NAN,
                f64::INFINITY,
                0.1 + 0.2,
            ],
            ints: (i64::MIN, u64::MAX, i128::MIN, u128::MAX, -1, 7),
            chars: ['"', '\u{1}', 'é'],
            enums: vec![
                E::Unit,
                E::New(3),
                E::Tuple(-1, 2.5),
                E::Struct { a: Some(true) },
                E::Struct { a: None },
            ],
            unit: (),
            unit_struct: Unit,
            bytes: serde_bytes_like::Bytes(vec![0, 34, 255]),
            keys: [('\n', Wrap("v\u{7f}".into())), ('k', Wrap(String::new()))].into(),
            text: "tab\there",
        };
        assert_eq!(
            String::from_utf8(to_vec(&shape).unwrap()).unwrap(),
            serde_json::to_string(&shape).unwrap()
        );
        let numeric_keys: std::collections::BTreeMap<u8, u8> = [(1, 2)].into();
        assert!(to_vec(&numeric_keys).is_err());
    }

    fn spiced(s: &str, spice: &str) -> String {
        let mut at = s.len() / 2;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        format!("{}{spice}{}", &s[..at], &s[at..])
    }

    fn spiced_item(item: &Item, spice: &str) -> Item {
        item.iter()
            .map(|(k, v)| (spiced(k, spice), spiced_value(v, spice)))
            .collect()
    }

    fn spiced_value(value: &AttributeValue, spice: &str) -> AttributeValue {
        match value {
            AttributeValue::S(s) => AttributeValue::S(spiced(s, spice)),
            AttributeValue::Ss(v) => {
                AttributeValue::Ss(v.iter().map(|s| spiced(s, spice)).collect())
            }
            AttributeValue::M(m) => AttributeValue::M(spiced_item(m, spice)),
            AttributeValue::L(l) => {
                AttributeValue::L(l.iter().map(|v| spiced_value(v, spice)).collect())
            }
            other => other.clone(),
        }
    }

    proptest::proptest! {
        #[test]
        fn strings_match_serde_json(s in "\\PC{0,40}|[\\x00-\\x7f]{0,40}|[a\"\\\\\\x00-\\x1f]{0,24}") {
            proptest::prop_assert_eq!(fast(&s), serde(&s));
        }

        #[test]
        fn items_match_serde_json(
            item in crate::model::testing::item_strategy(),
            spice in "[\\x00-\\x1f\"\\\\]{1,3}",
        ) {
            // The shared generators make printable text only: put escapes in every name
            // and string, at varying offsets.
            let item = spiced_item(&item, &spice);
            let mut out = Vec::new();
            write_item(&mut out, &item);
            proptest::prop_assert_eq!(&out, &serde_json::to_vec(&item).unwrap());
            proptest::prop_assert_eq!(out, to_vec(&item).unwrap());
        }

        #[test]
        fn read_outputs_match_serde_json(
            items in proptest::collection::vec(crate::model::testing::item_strategy(), 0..4),
            units in proptest::num::f64::ANY,
        ) {
            use crate::wire::ops::{batch_get_item, get_item, query, scan, transact_get_items};
            let capacity = crate::wire::ops::common::ConsumedCapacity {
                table_name: "t\u{1}\"".into(),
                capacity_units: units,
                read_capacity_units: Some(0.5),
                ..Default::default()
            };
            let key = items.first().cloned();
            let same = |bytes: Result<Vec<u8>, Error>, want: Result<Vec<u8>, serde_json::Error>| {
                matches!((bytes, want), (Ok(a), Ok(b)) if a == b)
            };
            let out = get_item::GetItemOutput { item: key.clone(), consumed_capacity: Some(capacity.clone()) };
            proptest::prop_assert!(same(to_vec(&out), serde_json::to_vec(&out)));
            let out = query::QueryOutput {
                items: Some(items.clone()),
                count: items.len() as u64,
                scanned_count: 9,
                last_evaluated_key: key.clone(),
                consumed_capacity: Some(capacity.clone()),
            };
            proptest::prop_assert!(same(to_vec(&out), serde_json::to_vec(&out)));
            let out: scan::ScanOutput = scan::ScanOutput { items: None, last_evaluated_key: key.clone(), ..Default::default() };
            proptest::prop_assert!(same(to_vec(&out), serde_json::to_vec(&out)));
            let out = batch_get_item::BatchGetItemOutput {
                responses: [("a".to_string(), items.clone()), ("b\n".to_string(), vec![])].into(),
                unprocessed_keys: [(
                    "c".to_string(),
                    batch_get_item::KeysAndAttributes {
                        keys: Some(items.clone()),
                        expression_attribute_names: Some([("#n".to_string(), "n\t".to_string())].into()),
                        ..Default::default()
                    },
                )]
                .into(),
                consumed_capacity: Some(vec![capacity.clone()]),
            };
            proptest::prop_assert!(same(to_vec(&out), serde_json::to_vec(&out)));
            let out = transact_get_items::TransactGetItemsOutput {
                consumed_capacity: Some(vec![capacity]),
                responses: items
                    .iter()
                    .map(|i| transact_get_items::ItemResponse { item: Some(i.clone()) })
                    .chain([transact_get_items::ItemResponse { item: None }])
                    .collect(),
            };
            proptest::prop_assert!(same(to_vec(&out), serde_json::to_vec(&out)));
        }
    }
}
