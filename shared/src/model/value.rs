//! `AttributeValue`: the ten DynamoDB types and their DynamoDB JSON form.
//!
//! Deserialization validates the way DynamoDB does (exactly one type key, NULL must be
//! true, sets non-empty and without duplicates, numbers within range); a failure is a
//! serde custom error whose text starts with [`VALIDATION_MARKER`], so the wire layer can
//! answer `ValidationException` (with the text after the marker) instead of
//! `SerializationException`.
//!
//! JSON of the wrong shape (`{"S": 5}`, a list where a map belongs, bad base64) is a plain
//! serde error carrying the text DynamoDB's Java front end sends as SerializationException
//! (`NUMBER_VALUE cannot be converted to String`, ...), as captured by dynalite.
//!
//! Rules mirrored from DynamoDB (dynalite's `validateAttributeValue`):
//! - a `null` member counts as absent and unknown members are ignored, so `{"X": 1}` is the
//!   "empty" error;
//! - within one value, validation failures of its members come before the "more than one
//!   datatypes" check, and shape (serialization) errors anywhere in the value come before
//!   its own validation failures;
//! - nesting is capped at [`MAX_NESTING_DEPTH`] levels while parsing, which also keeps
//!   serde_json's own recursion limit (128) out of reach for attribute values.
//!
//! Set equality and hashing ignore element order (DynamoDB sets are unordered), so
//! `==` is DynamoDB's equality. Sets are kept in DynamoDB's order, as it returns them:
//! string and binary members by their bytes, numbers by value (the dynamodb-conformance
//! suite's tier1/updateItem/basic.test.ts); sorted where a set is built ([`sort_set`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};

use super::number::{Number, NumberError, NumberRule};
use crate::wire::error::ApiError;

/// Prefix of serde custom errors that are DynamoDB validation failures, not malformed JSON.
pub const VALIDATION_MARKER: &str = "\u{1}validation:";

/// Deepest nesting DynamoDB accepts, in levels: a top-level attribute is level 1 and each
/// enclosing `M`/`L` adds one, so at most 31 containers may nest (real DynamoDB accepts 31
/// map wraps around a scalar and rejects 32).
pub const MAX_NESTING_DEPTH: usize = 32;

/// Most `M`/`L` containers that may enclose one another.
pub const MAX_CONTAINER_NESTING: usize = MAX_NESTING_DEPTH - 1;

/// DynamoDB's message for values nested deeper than [`MAX_NESTING_DEPTH`] (as captured
/// from the real service; DYNAMODB.md quotes its first sentence).
pub const NESTING_MESSAGE: &str = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit";

const EMPTY_MESSAGE: &str =
    "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes";
const MULTIPLE_MESSAGE: &str = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes";
const NULL_FALSE_MESSAGE: &str =
    "One or more parameter values were invalid: Null attribute value types must have the value of true";
const EMPTY_SS_MESSAGE: &str =
    "One or more parameter values were invalid: An string set  may not be empty";
const EMPTY_NS_MESSAGE: &str =
    "One or more parameter values were invalid: An number set  may not be empty";
const EMPTY_BS_MESSAGE: &str =
    "One or more parameter values were invalid: Binary sets should not be empty";
const NS_DUPLICATES_MESSAGE: &str = "Input collection contains duplicates";
const MAP_COLLECTION: &str =
    "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>";
/// A JSON object where a member of another type was expected.
const STRUCTURE_NOT_EXPECTED: &str = "Start of structure or map found where not expected";

/// Inside a `Visitor` impl: refuses each listed JSON kind (`bool`, `i64`, `u64`, `f64`,
/// `str`, `map`) with one text. DynamoDB's front end words a wrong JSON type differently per
/// member type and kind, so each visitor names its own texts; this only spares writing
/// the same method again for every kind that shares one.
macro_rules! refuse {
    ($message:expr; $($kind:ident),+) => { $(refuse!(@$kind $message);)+ };
    (@bool $message:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }
    };
    (@i64 $message:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }
    };
    (@u64 $message:expr) => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }
    };
    (@f64 $message:expr) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }
    };
    (@str $message:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }
    };
    (@map $message:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom($message))
        }
    };
}

/// Inside a `Visitor` impl whose value is an `Option`: a JSON `null` member reads as
/// absent, as in DynamoDB's front end.
macro_rules! null_is_absent {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// An item: attribute name to value. Ordered, so that encodings and responses are stable.
pub type Item = BTreeMap<String, AttributeValue>;

/// One DynamoDB attribute value.
///
/// Invariants (established by deserialization and by every constructor in this crate):
/// sets are non-empty and hold no duplicates (numbers compared numerically); numbers are
/// normalized.
#[derive(Debug, Clone)]
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

impl AttributeValue {
    /// DynamoDB's name of this value's type: `S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`,
    /// `SS`, `NS` or `BS`.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null => "NULL",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }

    /// The key type of an S, N or B value.
    pub fn scalar_type(&self) -> Option<super::key::ScalarType> {
        match self {
            AttributeValue::S(_) => Some(super::key::ScalarType::S),
            AttributeValue::N(_) => Some(super::key::ScalarType::N),
            AttributeValue::B(_) => Some(super::key::ScalarType::B),
            _ => None,
        }
    }

    pub fn as_s(&self) -> Option<&str> {
        match self {
            AttributeValue::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_n(&self) -> Option<&Number> {
        match self {
            AttributeValue::N(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            AttributeValue::B(b) => Some(b),
            _ => None,
        }
    }

    /// DynamoDB's order between two scalars of the same type (S and B by unsigned bytes, N
    /// numerically); `None` for different types or non-scalars, which never compare.
    pub fn scalar_cmp(&self, other: &AttributeValue) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (AttributeValue::S(a), AttributeValue::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (AttributeValue::N(a), AttributeValue::N(b)) => Some(a.cmp(b)),
            (AttributeValue::B(a), AttributeValue::B(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Whether this is one of the three set types.
    pub fn is_set(&self) -> bool {
        matches!(
            self,
            AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
        )
    }

    /// Nesting depth: 0 for scalars and sets, 1 + the deepest child for `M` and `L`.
    pub fn depth(&self) -> usize {
        match self {
            AttributeValue::M(m) => 1 + m.values().map(AttributeValue::depth).max().unwrap_or(0),
            AttributeValue::L(l) => 1 + l.iter().map(AttributeValue::depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Whether a map in the value has a key over [`MAX_ATTRIBUTE_NAME_BYTES`]. Values nest
    /// at most [`MAX_CONTAINER_NESTING`] deep (parsing and updates hold them to it), which
    /// bounds the recursion.
    fn has_long_name(&self) -> bool {
        match self {
            AttributeValue::M(m) => m
                .iter()
                .any(|(k, v)| k.len() > MAX_ATTRIBUTE_NAME_BYTES || v.has_long_name()),
            AttributeValue::L(l) => l.iter().any(AttributeValue::has_long_name),
            _ => false,
        }
    }

    /// Whether the value nests more than `limit` containers deep; stops descending once
    /// the answer is known, so its recursion is bounded by `limit`.
    pub fn deeper_than(&self, limit: usize) -> bool {
        match self {
            AttributeValue::M(m) => limit == 0 || m.values().any(|c| c.deeper_than(limit - 1)),
            AttributeValue::L(l) => limit == 0 || l.iter().any(|c| c.deeper_than(limit - 1)),
            _ => false,
        }
    }
}

/// The limits an item built by an update (or read from elsewhere) must meet besides its
/// size, which parsing a request's item enforces as it goes: `Nesting Levels have exceeded
/// supported limits` when any attribute nests deeper than [`MAX_NESTING_DEPTH`], then
/// [`check_nested_names`].
pub fn check_built_item(item: &Item) -> Result<(), ApiError> {
    if item.values().any(|v| v.deeper_than(MAX_CONTAINER_NESTING)) {
        return Err(ApiError::validation(NESTING_MESSAGE));
    }
    check_nested_names(item)
}

/// [`ATTRIBUTE_NAME_TOO_LARGE`] when a map anywhere in the item has a key over
/// [`MAX_ATTRIBUTE_NAME_BYTES`]: DynamoDB holds a nested name to the top-level limit
/// (extenddb#365 measured both PutItem and UpdateItem).
pub fn check_nested_names(item: &Item) -> Result<(), ApiError> {
    if item.values().any(AttributeValue::has_long_name) {
        return Err(ApiError::validation(ATTRIBUTE_NAME_TOO_LARGE));
    }
    Ok(())
}

/// Longest attribute name DynamoDB accepts, in bytes: 65535 (the documented 64 KB is
/// exclusive, per Alternator's AWS-run `test_limits.py`).
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 65535;

/// What DynamoDB answers for an attribute name over [`MAX_ATTRIBUTE_NAME_BYTES`] (measured
/// against the service by ExtendDB, extenddb#365: PutItem and UpdateItem alike).
pub const ATTRIBUTE_NAME_TOO_LARGE: &str =
    "1 validation error detected: Attribute name is too large, must be less than 65536 bytes";

/// Refuses a top-level attribute name no item can hold: an empty one (DynamoDB's wording
/// for it is not on record, so that text is ours, in its style), or one longer than
/// [`MAX_ATTRIBUTE_NAME_BYTES`].
pub fn check_attribute_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() {
        return Err(ApiError::invalid_parameter("Empty attribute name"));
    }
    if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
        return Err(ApiError::validation(ATTRIBUTE_NAME_TOO_LARGE));
    }
    Ok(())
}

// ---------------------------------------------------------------- equality and hashing

fn same_set<T, F>(a: &[T], b: &[T], cmp: F) -> bool
where
    T: PartialEq,
    F: Fn(&&T, &&T) -> std::cmp::Ordering,
{
    if a.len() != b.len() {
        return false;
    }
    if a == b {
        return true;
    }
    let mut x: Vec<&T> = a.iter().collect();
    let mut y: Vec<&T> = b.iter().collect();
    x.sort_by(&cmp);
    y.sort_by(&cmp);
    x == y
}

impl PartialEq for AttributeValue {
    fn eq(&self, other: &Self) -> bool {
        use AttributeValue::*;
        match (self, other) {
            (S(a), S(b)) => a == b,
            (N(a), N(b)) => a == b,
            (B(a), B(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Null, Null) => true,
            (M(a), M(b)) => a == b,
            (L(a), L(b)) => a == b,
            (Ss(a), Ss(b)) => same_set(a, b, |x, y| x.cmp(y)),
            (Ns(a), Ns(b)) => same_set(a, b, |x, y| x.cmp(y)),
            (Bs(a), Bs(b)) => same_set(a, b, |x, y| x.cmp(y)),
            _ => false,
        }
    }
}

impl Eq for AttributeValue {}

/// Order-independent hash of a set: the wrapping sum of fixed-key element hashes.
fn hash_set<T: Hash, H: Hasher>(tag: u8, items: &[T], state: &mut H) {
    let mut sum: u64 = 0;
    for item in items {
        let mut h = std::hash::DefaultHasher::new();
        item.hash(&mut h);
        sum = sum.wrapping_add(h.finish());
    }
    state.write_u8(tag);
    state.write_usize(items.len());
    state.write_u64(sum);
}

impl Hash for AttributeValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        use AttributeValue::*;
        match self {
            S(s) => {
                state.write_u8(0);
                s.hash(state);
            }
            N(n) => {
                state.write_u8(1);
                n.hash(state);
            }
            B(b) => {
                state.write_u8(2);
                b.hash(state);
            }
            Bool(b) => {
                state.write_u8(3);
                b.hash(state);
            }
            Null => state.write_u8(4),
            M(m) => {
                state.write_u8(5);
                m.hash(state);
            }
            L(l) => {
                state.write_u8(6);
                l.hash(state);
            }
            Ss(v) => hash_set(7, v, state),
            Ns(v) => hash_set(8, v, state),
            Bs(v) => hash_set(9, v, state),
        }
    }
}

// ---------------------------------------------------------------- serialization

/// Serializes bytes as standard base64 without an intermediate `String`.
pub(crate) struct Base64Ref<'a>(pub(crate) &'a [u8]);

impl serde::Serialize for Base64Ref<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&base64::display::Base64Display::new(
            self.0,
            &base64::engine::general_purpose::STANDARD,
        ))
    }
}

struct Base64List<'a>(&'a [Vec<u8>]);

impl serde::Serialize for Base64List<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for b in self.0 {
            seq.serialize_element(&Base64Ref(b))?;
        }
        seq.end()
    }
}

/// The one description of DynamoDB JSON output: serde_json uses it, and so does
/// [`super::json_out`] (response bodies, with faster string escaping).
impl serde::Serialize for AttributeValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            AttributeValue::S(s) => map.serialize_entry("S", s)?,
            AttributeValue::N(n) => map.serialize_entry("N", n.as_str())?,
            AttributeValue::B(b) => map.serialize_entry("B", &Base64Ref(b))?,
            AttributeValue::Bool(b) => map.serialize_entry("BOOL", b)?,
            AttributeValue::Null => map.serialize_entry("NULL", &true)?,
            AttributeValue::M(m) => map.serialize_entry("M", m)?,
            AttributeValue::L(l) => map.serialize_entry("L", l)?,
            AttributeValue::Ss(v) => map.serialize_entry("SS", v)?,
            AttributeValue::Ns(v) => map.serialize_entry("NS", v)?,
            AttributeValue::Bs(v) => map.serialize_entry("BS", &Base64List(v))?,
        }
        map.end()
    }
}

// ---------------------------------------------------------------- deserialization

/// A serde custom error that the wire layer reports as ValidationException.
pub fn validation_error<E: de::Error>(message: impl fmt::Display) -> E {
    E::custom(format_args!("{VALIDATION_MARKER}{message}"))
}

/// The DynamoDB message inside a serde error text produced by [`validation_error`], with
/// serde_json's ` at line L column C` suffix removed; `None` for other errors.
pub fn validation_message(error_text: &str) -> Option<&str> {
    let at = error_text.find(VALIDATION_MARKER)?;
    Some(strip_position(&error_text[at + VALIDATION_MARKER.len()..]))
}

/// Removes a trailing ` at line L column C` that serde_json appends.
pub fn strip_position(text: &str) -> &str {
    let Some(at) = text.rfind(" at line ") else {
        return text;
    };
    let tail = &text[at + " at line ".len()..];
    let mut parts = tail.splitn(3, ' ');
    let line = parts.next().unwrap_or("");
    let column = parts.next().unwrap_or("");
    let col_value = parts.next().unwrap_or("");
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if numeric(line) && column == "column" && numeric(col_value) {
        &text[..at]
    } else {
        text
    }
}

/// The JSON type a visitor saw, for DynamoDB's `X_VALUE cannot be converted to T` texts.
fn scalar_name_f64(v: f64) -> &'static str {
    if v.fract() == 0.0 {
        "NUMBER_VALUE"
    } else {
        "DECIMAL_VALUE"
    }
}

fn bool_name(v: bool) -> &'static str {
    if v {
        "TRUE_VALUE"
    } else {
        "FALSE_VALUE"
    }
}

/// The member keys of an AttributeValue object.
enum TypeKey {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
    Unknown,
}

impl<'de> serde::Deserialize<'de> for TypeKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = TypeKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an AttributeValue member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TypeKey, E> {
                Ok(match v {
                    "S" => TypeKey::S,
                    "N" => TypeKey::N,
                    "B" => TypeKey::B,
                    "BOOL" => TypeKey::Bool,
                    "NULL" => TypeKey::Null,
                    "M" => TypeKey::M,
                    "L" => TypeKey::L,
                    "SS" => TypeKey::Ss,
                    "NS" => TypeKey::Ns,
                    "BS" => TypeKey::Bs,
                    _ => TypeKey::Unknown,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Deserializes an [`AttributeValue`] whose containers sit `depth` levels deep.
#[derive(Clone, Copy)]
struct ValueSeed {
    depth: usize,
    numbers: NumberRule,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = AttributeValue;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<AttributeValue, D::Error> {
        d.deserialize_any(ValueVisitor {
            depth: self.depth,
            numbers: self.numbers,
        })
    }
}

struct ValueVisitor {
    depth: usize,
    numbers: NumberRule,
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an AttributeValue object")
    }

    refuse!("Unexpected value type in payload"; bool, i64, u64, f64, str);
    fn visit_unit<E: de::Error>(self) -> Result<AttributeValue, E> {
        Err(validation_error(EMPTY_MESSAGE))
    }
    fn visit_none<E: de::Error>(self) -> Result<AttributeValue, E> {
        Err(validation_error(EMPTY_MESSAGE))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<AttributeValue, A::Error> {
        Err(de::Error::custom(
            "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue, A::Error> {
        let mut value: Option<AttributeValue> = None;
        // Bit per type member seen, so a repeated member does not count twice.
        let mut seen: u16 = 0;
        // The first validation failure among this value's own members; reported after the
        // whole object has been read, because shape errors take precedence.
        let mut invalid: Option<String> = None;
        while let Some(key) = map.next_key::<TypeKey>()? {
            let (bit, parsed) = match key {
                TypeKey::Unknown => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                TypeKey::S => (0, map.next_value_seed(StringSeed)?.map(AttributeValue::S)),
                TypeKey::N => (
                    1,
                    match map.next_value_seed(NumberSeed(self.numbers))? {
                        None => None,
                        Some(Ok(n)) => Some(AttributeValue::N(n)),
                        Some(Err(e)) => {
                            note(&mut invalid, e.message());
                            Some(AttributeValue::Null)
                        }
                    },
                ),
                TypeKey::B => (2, map.next_value_seed(BlobSeed)?.map(AttributeValue::B)),
                TypeKey::Bool => (3, map.next_value_seed(BoolSeed)?.map(AttributeValue::Bool)),
                TypeKey::Null => (
                    4,
                    match map.next_value_seed(BoolSeed)? {
                        None => None,
                        Some(true) => Some(AttributeValue::Null),
                        Some(false) => {
                            note(&mut invalid, NULL_FALSE_MESSAGE.to_string());
                            Some(AttributeValue::Null)
                        }
                    },
                ),
                TypeKey::M => {
                    if self.depth >= MAX_CONTAINER_NESTING {
                        return Err(validation_error(NESTING_MESSAGE));
                    }
                    (
                        5,
                        map.next_value_seed(MapSeed {
                            depth: self.depth + 1,
                            numbers: self.numbers,
                        })?
                        .map(AttributeValue::M),
                    )
                }
                TypeKey::L => {
                    if self.depth >= MAX_CONTAINER_NESTING {
                        return Err(validation_error(NESTING_MESSAGE));
                    }
                    (
                        6,
                        map.next_value_seed(ListSeed {
                            depth: self.depth + 1,
                            numbers: self.numbers,
                        })?
                        .map(AttributeValue::L),
                    )
                }
                TypeKey::Ss => (
                    7,
                    match map.next_value_seed(ListOf(StringSeed))? {
                        None => None,
                        Some(list) => match check_ss(&list) {
                            Ok(()) => Some(sort_set(AttributeValue::Ss(list))),
                            Err(message) => {
                                note(&mut invalid, message);
                                Some(AttributeValue::Null)
                            }
                        },
                    },
                ),
                TypeKey::Ns => (
                    8,
                    match map.next_value_seed(ListOf(StringSeed))? {
                        None => None,
                        Some(list) => match check_ns(&list, self.numbers) {
                            Ok(numbers) => Some(sort_set(AttributeValue::Ns(numbers))),
                            Err(message) => {
                                note(&mut invalid, message);
                                Some(AttributeValue::Null)
                            }
                        },
                    },
                ),
                TypeKey::Bs => (
                    9,
                    match map.next_value_seed(ListOf(BlobSeed))? {
                        None => None,
                        Some(list) => match check_bs(&list) {
                            Ok(()) => Some(sort_set(AttributeValue::Bs(list))),
                            Err(message) => {
                                note(&mut invalid, message);
                                Some(AttributeValue::Null)
                            }
                        },
                    },
                ),
            };
            if let Some(parsed) = parsed {
                seen |= 1 << bit;
                value = Some(parsed);
            }
        }
        if let Some(message) = invalid {
            return Err(validation_error(message));
        }
        if seen.count_ones() > 1 {
            return Err(validation_error(MULTIPLE_MESSAGE));
        }
        value.ok_or_else(|| validation_error(EMPTY_MESSAGE))
    }
}

/// Keeps the first validation failure seen.
fn note(invalid: &mut Option<String>, message: String) {
    if invalid.is_none() {
        *invalid = Some(message);
    }
}

/// `value` with its members in DynamoDB's set order (any other value as it is): strings
/// and binaries by their bytes, numbers by value. Duplicates are refused before, in the
/// order the request gave them.
pub fn sort_set(mut value: AttributeValue) -> AttributeValue {
    match &mut value {
        AttributeValue::Ss(members) => members.sort_unstable(),
        AttributeValue::Ns(members) => members.sort_unstable(),
        AttributeValue::Bs(members) => members.sort_unstable(),
        _ => {}
    }
    value
}

fn check_ss(list: &[String]) -> Result<(), String> {
    if list.is_empty() {
        return Err(EMPTY_SS_MESSAGE.to_string());
    }
    let mut seen = HashSet::with_capacity(list.len());
    if list.iter().any(|s| !seen.insert(s.as_str())) {
        return Err(format!(
            "One or more parameter values were invalid: Input collection [{}] contains duplicates.",
            list.join(", ")
        ));
    }
    Ok(())
}

fn check_ns(list: &[String], rule: NumberRule) -> Result<Vec<Number>, String> {
    if list.is_empty() {
        return Err(EMPTY_NS_MESSAGE.to_string());
    }
    let mut numbers = Vec::with_capacity(list.len());
    for text in list {
        numbers.push(rule.parse(text).map_err(|e| e.message())?);
    }
    // Normalized text is canonical, so text equality is numeric equality.
    let mut seen = HashSet::with_capacity(numbers.len());
    if numbers.iter().any(|n| !seen.insert(n.as_str())) {
        return Err(NS_DUPLICATES_MESSAGE.to_string());
    }
    Ok(numbers)
}

fn check_bs(list: &[Vec<u8>]) -> Result<(), String> {
    if list.is_empty() {
        return Err(EMPTY_BS_MESSAGE.to_string());
    }
    let mut seen = HashSet::with_capacity(list.len());
    if list.iter().any(|b| !seen.insert(b.as_slice())) {
        let shown: Vec<String> = list
            .iter()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            .collect();
        return Err(format!(
            "One or more parameter values were invalid: Input collection [{}]of type BS contains duplicates.",
            shown.join(", ")
        ));
    }
    Ok(())
}

/// A JSON string member (`S`, `N` text, set elements); `None` for `null`.
#[derive(Clone, Copy)]
struct StringSeed;

impl<'de> DeserializeSeed<'de> for StringSeed {
    type Value = Option<String>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(StringVisitor)
    }
}

struct StringVisitor;

impl<'de> Visitor<'de> for StringVisitor {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    null_is_absent!();
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(E::custom(format_args!(
            "{} cannot be converted to String",
            bool_name(v)
        )))
    }
    refuse!("NUMBER_VALUE cannot be converted to String"; i64, u64);
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(E::custom(format_args!(
            "{} cannot be converted to String",
            scalar_name_f64(v)
        )))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(
            "Unrecognized collection type class java.lang.String",
        ))
    }
    refuse!(STRUCTURE_NOT_EXPECTED; map);
}

/// The `N` member: parsed without copying; the inner error is a deferred validation failure.
struct NumberSeed(NumberRule);

impl<'de> DeserializeSeed<'de> for NumberSeed {
    type Value = Option<Result<Number, NumberError>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(NumberVisitor(self.0))
    }
}

struct NumberVisitor(NumberRule);

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Option<Result<Number, NumberError>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(self.0.parse(v)))
    }
    null_is_absent!();
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        StringVisitor.visit_bool(v).map(|_| None)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        StringVisitor.visit_i64(v).map(|_| None)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        StringVisitor.visit_u64(v).map(|_| None)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        StringVisitor.visit_f64(v).map(|_| None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        StringVisitor.visit_seq(seq).map(|_| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        StringVisitor.visit_map(map).map(|_| None)
    }
}

/// A `B` member or `BS` element: base64 text, checked as DynamoDB's front end does.
#[derive(Clone, Copy)]
struct BlobSeed;

impl<'de> DeserializeSeed<'de> for BlobSeed {
    type Value = Option<Vec<u8>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(BlobVisitor)
    }
}

struct BlobVisitor;

/// Decodes standard, padded base64 with DynamoDB's error texts.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(4) {
        return Err(format!(
            "Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            text.len()
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| "Invalid last non-pad Base64 character dectected".to_string())
}

impl<'de> Visitor<'de> for BlobVisitor {
    type Value = Option<Vec<u8>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a base64 string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        decode_base64(v).map(Some).map_err(E::custom)
    }
    null_is_absent!();
    refuse!("only base-64-encoded strings are convertible to bytes"; bool, i64, u64, f64);
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(
            "Unrecognized collection type class java.nio.ByteBuffer",
        ))
    }
    refuse!(STRUCTURE_NOT_EXPECTED; map);
}

/// A `BOOL` or `NULL` member. Like DynamoDB's Java front end, the strings
/// `true/false/1/0/yes/no` (any case) are accepted as booleans.
struct BoolSeed;

impl<'de> DeserializeSeed<'de> for BoolSeed {
    type Value = Option<bool>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(BoolVisitor)
    }
}

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if ["true", "1", "yes"]
            .iter()
            .any(|t| v.eq_ignore_ascii_case(t))
        {
            Ok(Some(true))
        } else if ["false", "0", "no"]
            .iter()
            .any(|t| v.eq_ignore_ascii_case(t))
        {
            Ok(Some(false))
        } else {
            Err(E::custom("Unexpected token received from parser"))
        }
    }
    null_is_absent!();
    refuse!("NUMBER_VALUE cannot be converted to Boolean"; i64, u64);
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(E::custom(format_args!(
            "{} cannot be converted to Boolean",
            scalar_name_f64(v)
        )))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(
            "Unrecognized collection type class java.lang.Boolean",
        ))
    }
    refuse!(STRUCTURE_NOT_EXPECTED; map);
}

/// A JSON list of set elements (`SS`, `NS`, `BS`); `None` for `null`.
struct ListOf<T>(T);

impl<'de, T> DeserializeSeed<'de> for ListOf<T>
where
    T: DeserializeSeed<'de, Value = Option<<T as ElementType>::Out>> + Copy + ElementType,
{
    type Value = Option<Vec<<T as ElementType>::Out>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ListOfVisitor(self.0))
    }
}

/// What a set element seed yields.
trait ElementType {
    type Out;
}
impl ElementType for StringSeed {
    type Out = String;
}
impl ElementType for BlobSeed {
    type Out = Vec<u8>;
}

struct ListOfVisitor<T>(T);

impl<'de, T> Visitor<'de> for ListOfVisitor<T>
where
    T: DeserializeSeed<'de, Value = Option<<T as ElementType>::Out>> + Copy + ElementType,
{
    type Value = Option<Vec<<T as ElementType>::Out>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(element) = seq.next_element_seed(self.0)? {
            match element {
                Some(e) => out.push(e),
                // Java's front end hands the service a null element, which it rejects.
                None => return Err(validation_error(EMPTY_MESSAGE)),
            }
        }
        Ok(Some(out))
    }
    null_is_absent!();
    refuse!("Unexpected field type"; bool, i64, u64, f64, str);
    refuse!(STRUCTURE_NOT_EXPECTED; map);
}

/// The `L` member: a list of values one level deeper.
struct ListSeed {
    depth: usize,
    numbers: NumberRule,
}

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Option<Vec<AttributeValue>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ListVisitor {
            depth: self.depth,
            numbers: self.numbers,
        })
    }
}

/// The values of a list (an `L`, or a statement's parameters), each read with `seed`.
fn values_of<'de, A: SeqAccess<'de>>(
    mut seq: A,
    seed: ValueSeed,
) -> Result<Vec<AttributeValue>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
    while let Some(v) = seq.next_element_seed(seed)? {
        out.push(v);
    }
    Ok(out)
}

struct ListVisitor {
    depth: usize,
    numbers: NumberRule,
}

impl<'de> Visitor<'de> for ListVisitor {
    type Value = Option<Vec<AttributeValue>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of AttributeValues")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let seed = ValueSeed {
            depth: self.depth,
            numbers: self.numbers,
        };
        values_of(seq, seed).map(Some)
    }
    null_is_absent!();
    refuse!("Unexpected field type"; bool, i64, u64, f64, str);
    refuse!(STRUCTURE_NOT_EXPECTED; map);
}

/// The `M` member: a map of values one level deeper.
struct MapSeed {
    depth: usize,
    numbers: NumberRule,
}

impl<'de> DeserializeSeed<'de> for MapSeed {
    type Value = Option<Item>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(MapVisitor {
            depth: self.depth,
            numbers: self.numbers,
        })
    }
}

struct MapVisitor {
    depth: usize,
    numbers: NumberRule,
}

impl<'de> Visitor<'de> for MapVisitor {
    type Value = Option<Item>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of AttributeValues")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Item::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed {
                depth: self.depth,
                numbers: self.numbers,
            })?;
            out.insert(key, value);
        }
        Ok(Some(out))
    }
    null_is_absent!();
    refuse!("Unexpected field type"; bool, i64, u64, f64, str);
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(MAP_COLLECTION))
    }
}

impl<'de> serde::Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ValueSeed {
            depth: 0,
            numbers: NumberRule::Item,
        }
        .deserialize(deserializer)
    }
}

/// For `#[serde(deserialize_with = "...")]` on an `Item` member (`Item`, `Key`): the same
/// validation as `Item`'s own `Deserialize`, plus DynamoDB's texts for a member of the wrong
/// JSON shape (`Unrecognized collection type java.util.Map<...>` for a list, ...). `null`
/// gives an empty item.
pub fn deserialize_item<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
    Ok(MapSeed {
        depth: 0,
        numbers: NumberRule::Item,
    }
    .deserialize(d)?
    .unwrap_or_default())
}

/// [`deserialize_item`] for an `Option<Item>` member (use with `#[serde(default)]`).
pub fn deserialize_opt_item<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Item>, D::Error> {
    MapSeed {
        depth: 0,
        numbers: NumberRule::Item,
    }
    .deserialize(d)
}

/// For `#[serde(default, deserialize_with = "...")]` on a PartiQL statement's `Parameters`:
/// values as any other, but numbers read as DynamoDB reads a parameter's
/// ([`NumberRule::Parameter`]).
pub fn deserialize_parameters<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<AttributeValue>>, D::Error> {
    d.deserialize_any(ParametersVisitor)
}

/// A list of parameters; any other shape is refused in serde's words, as a `Vec` is.
struct ParametersVisitor;

impl<'de> Visitor<'de> for ParametersVisitor {
    type Value = Option<Vec<AttributeValue>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let seed = ValueSeed {
            depth: 0,
            numbers: NumberRule::Parameter,
        };
        values_of(seq, seed).map(Some)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// `ExpressionAttributeValues`: placeholder (`:v`) to value. An invalid value is reported
/// as `ExpressionAttributeValues contains invalid value: <msg> for key <:v>`
/// ([`ExpressionValues::deserialize_bare`] for the operations that report it bare).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpressionValues(pub HashMap<String, AttributeValue>);

impl ExpressionValues {
    /// For `#[serde(deserialize_with = "...")]` on an `Option<ExpressionValues>` member
    /// (with `#[serde(default)]`): an invalid value is reported with an item value's own
    /// message, as DynamoDB's current value layer does for Query
    /// (tier3/error-messages/valueLayers.test.ts); `null` is absent.
    pub fn deserialize_bare<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Self>, D::Error> {
        deserializer.deserialize_any(ValuesVisitor(InvalidValue::Bare))
    }
}

impl<'de> serde::Deserialize<'de> for ExpressionValues {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let values = deserializer.deserialize_any(ValuesVisitor(InvalidValue::Labelled))?;
        Ok(values.unwrap_or_default())
    }
}

/// How an invalid expression value is reported.
#[derive(Clone, Copy)]
enum InvalidValue {
    /// `ExpressionAttributeValues contains invalid value: <msg> for key <:v>`.
    Labelled,
    /// `<msg>`, as in an item.
    Bare,
}

struct ValuesVisitor(InvalidValue);

impl<'de> Visitor<'de> for ValuesVisitor {
    type Value = Option<ExpressionValues>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of AttributeValues")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = HashMap::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(key) = map.next_key::<String>()? {
            match map.next_value_seed(ValueSeed {
                depth: 0,
                numbers: NumberRule::Item,
            }) {
                Ok(value) => {
                    out.insert(key, value);
                }
                Err(e) => {
                    return Err(match self.0 {
                        InvalidValue::Bare => e,
                        InvalidValue::Labelled => labelled(e, &key),
                    })
                }
            }
        }
        Ok(Some(ExpressionValues(out)))
    }
    null_is_absent!();
    refuse!("Unexpected field type"; bool, i64, u64, f64, str);
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(MAP_COLLECTION))
    }
}

/// An invalid expression value's error, naming its placeholder.
fn labelled<E: de::Error>(e: E, key: &str) -> E {
    let text = e.to_string();
    match validation_message(&text) {
        // Real DynamoDB reports over-deep expression values with the same bare message as
        // over-deep items.
        Some(NESTING_MESSAGE) => validation_error(NESTING_MESSAGE),
        Some(message) => validation_error(format_args!(
            "ExpressionAttributeValues contains invalid value: {message} for key {key}"
        )),
        None => e,
    }
}

impl serde::Serialize for ExpressionValues {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_kept_in_dynamodbs_order() {
        let stored = |json: &str| serde_json::to_string(&parse(json).unwrap()).unwrap();
        assert_eq!(stored(r#"{"SS":["b","a",""]}"#), r#"{"SS":["","a","b"]}"#);
        // By value, not by text: -1 < 9 < 10.
        assert_eq!(
            stored(r#"{"NS":["10","9","-1"]}"#),
            r#"{"NS":["-1","9","10"]}"#
        );
        // By bytes: [] < [0x00] < [0xff].
        assert_eq!(
            stored(r#"{"BS":["/w==","AA==",""]}"#),
            r#"{"BS":["","AA==","/w=="]}"#
        );
        // Duplicates are named in the order the request gave them.
        assert_eq!(
            parse(r#"{"SS":["b","a","b"]}"#),
            Err("V:One or more parameter values were invalid: Input collection [b, a, b] contains duplicates.".into())
        );
    }

    fn parse(json: &str) -> Result<AttributeValue, String> {
        serde_json::from_str::<AttributeValue>(json).map_err(|e| {
            let text = e.to_string();
            match validation_message(&text) {
                Some(m) => format!("V:{m}"),
                None => format!("S:{}", strip_position(&text)),
            }
        })
    }

    fn ok(json: &str) -> AttributeValue {
        match parse(json) {
            Ok(v) => v,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    fn num(t: &str) -> Number {
        match Number::parse(t) {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parses_every_type() {
        assert_eq!(ok(r#"{"S":"x"}"#), AttributeValue::S("x".into()));
        assert_eq!(ok(r#"{"N":"01.50"}"#), AttributeValue::N(num("1.5")));
        assert_eq!(ok(r#"{"B":"AQI="}"#), AttributeValue::B(vec![1, 2]));
        assert_eq!(ok(r#"{"BOOL":false}"#), AttributeValue::Bool(false));
        assert_eq!(ok(r#"{"BOOL":"yes"}"#), AttributeValue::Bool(true));
        assert_eq!(ok(r#"{"NULL":true}"#), AttributeValue::Null);
        assert_eq!(ok(r#"{"L":[]}"#), AttributeValue::L(vec![]));
        assert_eq!(ok(r#"{"M":{}}"#), AttributeValue::M(Item::new()));
        assert_eq!(
            ok(r#"{"SS":["a","b"]}"#),
            AttributeValue::Ss(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            ok(r#"{"NS":["1","2.0"]}"#),
            AttributeValue::Ns(vec![num("1"), num("2")])
        );
        assert_eq!(
            ok(r#"{"BS":["AA==","AQ=="]}"#),
            AttributeValue::Bs(vec![vec![0], vec![1]])
        );
        assert_eq!(
            ok(r#"{"S":"x","X":{"deep":[1,2]}}"#),
            AttributeValue::S("x".into())
        );
        assert_eq!(ok(r#"{"S":null,"N":"1"}"#), AttributeValue::N(num("1")));
    }

    #[test]
    fn validation_messages() {
        let cases = [
            (r#"{}"#, EMPTY_MESSAGE),
            (r#"{"X":"a"}"#, EMPTY_MESSAGE),
            (r#"{"S":null}"#, EMPTY_MESSAGE),
            (r#"{"S":"a","N":"1"}"#, MULTIPLE_MESSAGE),
            (r#"{"NULL":false}"#, NULL_FALSE_MESSAGE),
            (r#"{"SS":[]}"#, EMPTY_SS_MESSAGE),
            (r#"{"NS":[]}"#, EMPTY_NS_MESSAGE),
            (r#"{"BS":[]}"#, EMPTY_BS_MESSAGE),
            (
                r#"{"SS":["a","b","a"]}"#,
                "One or more parameter values were invalid: Input collection [a, b, a] contains duplicates.",
            ),
            (r#"{"NS":["1","2","1.0"]}"#, NS_DUPLICATES_MESSAGE),
            (
                r#"{"BS":["eA==","eA=="]}"#,
                "One or more parameter values were invalid: Input collection [eA==, eA==]of type BS contains duplicates.",
            ),
            (r#"{"N":""}"#, "The parameter cannot be converted to a numeric value"),
            (r#"{"N":"abc"}"#, "The parameter cannot be converted to a numeric value: abc"),
            (r#"{"NS":["1","x"]}"#, "The parameter cannot be converted to a numeric value: x"),
            (
                r#"{"N":"1e126"}"#,
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ),
            // Member validation before the datatype count.
            (r#"{"S":"a","N":"x"}"#, "The parameter cannot be converted to a numeric value: x"),
            (r#"{"M":{"a":{}}}"#, EMPTY_MESSAGE),
            (r#"{"L":[{"NULL":false}]}"#, NULL_FALSE_MESSAGE),
            ("null", EMPTY_MESSAGE),
        ];
        for (json, want) in cases {
            assert_eq!(parse(json), Err(format!("V:{want}")), "{json}");
        }
    }

    #[test]
    fn serialization_messages() {
        let cases = [
            (r#"{"S":5}"#, "NUMBER_VALUE cannot be converted to String"),
            (
                r#"{"S":5.5}"#,
                "DECIMAL_VALUE cannot be converted to String",
            ),
            (r#"{"S":true}"#, "TRUE_VALUE cannot be converted to String"),
            (r#"{"N":5}"#, "NUMBER_VALUE cannot be converted to String"),
            (
                r#"{"S":{}}"#,
                "Start of structure or map found where not expected",
            ),
            (
                r#"{"S":[]}"#,
                "Unrecognized collection type class java.lang.String",
            ),
            (
                r#"{"B":5}"#,
                "only base-64-encoded strings are convertible to bytes",
            ),
            (
                r#"{"B":"abc"}"#,
                "Base64 encoded length is expected a multiple of 4 bytes but found: 3",
            ),
            (
                r#"{"B":"ab!="}"#,
                "Invalid last non-pad Base64 character dectected",
            ),
            (
                r#"{"BOOL":"maybe"}"#,
                "Unexpected token received from parser",
            ),
            (
                r#"{"BOOL":1}"#,
                "NUMBER_VALUE cannot be converted to Boolean",
            ),
            (
                r#"{"L":{}}"#,
                "Start of structure or map found where not expected",
            ),
            (r#"{"L":"x"}"#, "Unexpected field type"),
            (r#"{"M":[]}"#, MAP_COLLECTION),
            (r#"{"M":1}"#, "Unexpected field type"),
            (r#"{"SS":"a"}"#, "Unexpected field type"),
            (
                r#"{"SS":[1]}"#,
                "NUMBER_VALUE cannot be converted to String",
            ),
            ("\"x\"", "Unexpected value type in payload"),
            // Shape errors win over the value's own validation failures.
            (
                r#"{"N":"x","S":5}"#,
                "NUMBER_VALUE cannot be converted to String",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(parse(json), Err(format!("S:{want}")), "{json}");
        }
    }

    #[test]
    fn round_trips_json() {
        let json = r#"{"a":{"S":"x"},"b":{"N":"-1.5"},"c":{"B":"AAH/"},"d":{"BOOL":true},"e":{"NULL":true},"f":{"M":{"g":{"L":[{"SS":["p","q"]},{"NS":["1","2"]},{"BS":["AA=="]}]}}}}"#;
        let item: Item = match serde_json::from_str(json) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(serde_json::to_string(&item).ok().as_deref(), Some(json));
    }

    fn nested(levels: usize, container: &str) -> String {
        let mut v = r#"{"S":"leaf"}"#.to_string();
        for _ in 0..levels {
            v = if container == "L" {
                format!(r#"{{"L":[{v}]}}"#)
            } else {
                format!(r#"{{"M":{{"d":{v}}}}}"#)
            };
        }
        v
    }

    #[test]
    fn nesting_limit() {
        assert!(parse(&nested(31, "L")).is_ok());
        assert!(parse(&nested(31, "M")).is_ok());
        assert_eq!(parse(&nested(32, "L")), Err(format!("V:{NESTING_MESSAGE}")));
        assert_eq!(parse(&nested(32, "M")), Err(format!("V:{NESTING_MESSAGE}")));
        // Far beyond serde_json's recursion limit: still the validation error, no crash.
        assert_eq!(
            parse(&nested(500, "L")),
            Err(format!("V:{NESTING_MESSAGE}"))
        );
        let deep = ok(&nested(31, "M"));
        assert_eq!(deep.depth(), 31);
        let mut item = Item::new();
        item.insert("a".into(), deep.clone());
        assert!(check_built_item(&item).is_ok());
        item.insert("b".into(), AttributeValue::L(vec![deep]));
        assert_eq!(
            check_built_item(&item),
            Err(ApiError::validation(NESTING_MESSAGE))
        );
    }

    #[test]
    fn expression_values_wrap_messages() {
        let r: Result<ExpressionValues, _> =
            serde_json::from_str(r#"{":a":{"S":"x"},":v":{"SS":[]}}"#);
        let text = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            validation_message(&text),
            Some("ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: An string set  may not be empty for key :v")
        );
        let deep = format!(r#"{{":d":{}}}"#, nested(32, "M"));
        let r: Result<ExpressionValues, _> = serde_json::from_str(&deep);
        let text = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(validation_message(&text), Some(NESTING_MESSAGE));
        let r: Result<ExpressionValues, _> = serde_json::from_str(r#"{":a":{"S":"x"}}"#);
        assert_eq!(r.ok().map(|v| v.0.len()), Some(1));
        let r: Result<ExpressionValues, _> = serde_json::from_str(r#"{":a":{"S":1}}"#);
        let text = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(validation_message(&text).is_none());
        assert!(text.starts_with("NUMBER_VALUE cannot be converted to String"));
    }

    #[test]
    fn item_members_use_dynamodb_texts() {
        #[derive(serde::Deserialize)]
        struct Req {
            #[serde(default, deserialize_with = "deserialize_opt_item")]
            item: Option<Item>,
        }
        let r: Result<Req, _> = serde_json::from_str(r#"{"item":[]}"#);
        let text = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(strip_position(&text), MAP_COLLECTION);
        let r: Result<Req, _> = serde_json::from_str(r#"{"item":{"a":{"S":"x"}}}"#);
        assert_eq!(r.ok().and_then(|r| r.item).map(|i| i.len()), Some(1));
        let r: Result<Req, _> = serde_json::from_str(r#"{}"#);
        assert!(r.ok().is_some_and(|r| r.item.is_none()));
    }

    #[test]
    fn scalar_order() {
        use std::cmp::Ordering;
        let n = |t: &str| AttributeValue::N(num(t));
        assert_eq!(n("10").scalar_cmp(&n("9")), Some(Ordering::Greater));
        assert_eq!(
            AttributeValue::S("a".into()).scalar_cmp(&AttributeValue::S("B".into())),
            Some(Ordering::Greater)
        );
        assert_eq!(
            AttributeValue::B(vec![0xFF]).scalar_cmp(&AttributeValue::B(vec![1, 2])),
            Some(Ordering::Greater)
        );
        assert_eq!(n("1").scalar_cmp(&AttributeValue::S("1".into())), None);
        assert_eq!(AttributeValue::Null.scalar_cmp(&AttributeValue::Null), None);
    }

    #[test]
    fn set_equality_ignores_order() {
        let a = AttributeValue::Ss(vec!["a".into(), "b".into()]);
        let b = AttributeValue::Ss(vec!["b".into(), "a".into()]);
        assert_eq!(a, b);
        let hash = |v: &AttributeValue| {
            let mut h = std::hash::DefaultHasher::new();
            v.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(a, AttributeValue::Ss(vec!["a".into(), "c".into()]));
        assert_eq!(
            AttributeValue::Ns(vec![num("1"), num("2")]),
            AttributeValue::Ns(vec![num("2"), num("1.0")])
        );
    }

    proptest::proptest! {
        #[test]
        fn json_round_trips(item in crate::model::testing::item_strategy()) {
            let text = serde_json::to_string(&item).unwrap_or_default();
            let back: Result<Item, _> = serde_json::from_str(&text);
            proptest::prop_assert_eq!(back.ok(), Some(item));
        }

        #[test]
        fn arbitrary_json_never_panics(text in r#"[{}\[\]":,a-zSNBLM0-9 ]{0,64}"#) {
            let _ = serde_json::from_str::<AttributeValue>(&text);
            let _ = serde_json::from_str::<ExpressionValues>(&text);
        }
    }

    #[test]
    fn strips_only_real_positions() {
        assert_eq!(strip_position("msg at line 1 column 20"), "msg");
        assert_eq!(strip_position("[x at line y] dup"), "[x at line y] dup");
    }
}
