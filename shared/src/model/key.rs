//! Key schemas and primary keys: which attributes form an item's key, and extracting and
//! validating them from items and from `Key` parameters with DynamoDB's messages.
//!
//! Checks run attribute by attribute, partition key first, and for each attribute in the
//! order DynamoDB (as reproduced by dynalite) applies them: presence, type, empty
//! string/binary, then size (2048 bytes for a partition key, 1024 for a sort key; numbers
//! are never size-checked).

use std::fmt;

use super::value::{AttributeValue, Item};
use crate::wire::error::ApiError;

/// Largest partition key value, in bytes.
pub const MAX_HASH_KEY_SIZE: usize = 2048;
/// Largest sort key value, in bytes.
pub const MAX_RANGE_KEY_SIZE: usize = 1024;

/// `The provided key element does not match the schema`.
pub const KEY_SCHEMA_MISMATCH: &str = "The provided key element does not match the schema";

/// The scalar types a key attribute may have (`AttributeDefinitions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ScalarType {
    S,
    N,
    B,
}

impl ScalarType {
    /// `"S"`, `"N"` or `"B"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScalarType::S => "S",
            ScalarType::N => "N",
            ScalarType::B => "B",
        }
    }

    /// Parses `"S"`, `"N"` or `"B"`.
    pub fn parse(text: &str) -> Option<ScalarType> {
        match text {
            "S" => Some(ScalarType::S),
            "N" => Some(ScalarType::N),
            "B" => Some(ScalarType::B),
            _ => None,
        }
    }

    /// Whether `value` is of this type.
    pub fn matches(self, value: &AttributeValue) -> bool {
        value.scalar_type() == Some(self)
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One key attribute: its name and declared type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyAttr {
    pub name: String,
    pub ty: ScalarType,
}

/// A table's or index's key: partition (HASH) and optional sort (RANGE) attribute.
///
/// A GSI's key may span several attributes of each kind (DynamoDB's multi-attribute keys:
/// up to four HASH attributes, then up to four RANGE attributes). The first of each kind is
/// `hash` / `range` and the others follow in `more_hash` / `more_range`, in key-schema
/// order, so the one-attribute keys of every table and of most indexes (and the catalogs
/// that persisted them) read as they always did. `more_range` is empty without `range`.
///
/// Wherever storage needs one value per key part (an index entry's key, a Query's
/// partition), a part of several attributes is one [`composite_key`] value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeySchema {
    pub hash: KeyAttr,
    pub range: Option<KeyAttr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_hash: Vec<KeyAttr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_range: Vec<KeyAttr>,
}

/// The most HASH, and the most RANGE, attributes a GSI's key may have.
pub const MAX_KEY_ATTRIBUTES_PER_KIND: usize = 4;

/// The one value that stands for a key part of several attributes: a binary value holding
/// each attribute's order-preserving, self-delimiting encoding in key-schema order. Binary
/// values compare bytewise, so these compare attribute by attribute, which is DynamoDB's
/// order of a multi-attribute sort key; and "the first k attributes equal these" is "the
/// value starts with their encodings", a prefix range. A part of one attribute is that
/// attribute's value itself.
pub fn composite_key<'a>(values: impl IntoIterator<Item = &'a AttributeValue>) -> AttributeValue {
    let mut values = values.into_iter().peekable();
    let first = values.next();
    match (first, values.peek()) {
        (Some(only), None) => only.clone(),
        (first, _) => {
            let mut bytes = Vec::new();
            for value in first.into_iter().chain(values) {
                crate::model::keycodec::encode_scalar(value, &mut bytes);
            }
            AttributeValue::B(bytes)
        }
    }
}

/// The primary key values of one item. Values are scalars of the schema's types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrimaryKey {
    pub hash: AttributeValue,
    pub range: Option<AttributeValue>,
}

/// The empty-value and size checks of a key value, in an item or a `Key` parameter.
fn check_key_value(attr: &KeyAttr, value: &AttributeValue, is_hash: bool) -> Result<(), ApiError> {
    check_not_empty(attr, value)?;
    check_key_size(value, is_hash)
}

/// No key attribute holds an empty string or binary, so neither may a value a Query's key
/// condition compares it with.
pub fn check_key_condition_value(attr: &KeyAttr, value: &AttributeValue) -> Result<(), ApiError> {
    check_not_empty(attr, value)
}

/// `string` or `binary` for an empty one, which no key attribute may hold.
fn empty_kind(value: &AttributeValue) -> Option<&'static str> {
    match value {
        AttributeValue::S(s) if s.is_empty() => Some("string"),
        AttributeValue::B(b) if b.is_empty() => Some("binary"),
        _ => None,
    }
}

/// DynamoDB's refusal of an empty key value, the same wherever the key is given (an item,
/// a `Key` parameter of any operation: the dynamodb-conformance suite's captures).
fn check_not_empty(attr: &KeyAttr, value: &AttributeValue) -> Result<(), ApiError> {
    let Some(kind) = empty_kind(value) else {
        return Ok(());
    };
    Err(ApiError::validation(format!(
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {}",
        attr.name
    )))
}

/// DynamoDB's refusal of an empty value for index `index_name`'s key attribute `attr`.
fn empty_index_key(attr: &KeyAttr, index_name: &str, kind: &str) -> ApiError {
    ApiError::validation(format!(
        "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {kind} value. IndexName: {index_name}, IndexKey: {}",
        attr.name
    ))
}

/// A string or binary key value's size in bytes (`None` for numbers, which DynamoDB never
/// size-checks).
fn key_value_size(value: &AttributeValue) -> Option<usize> {
    match value {
        AttributeValue::S(s) => Some(s.len()),
        AttributeValue::B(b) => Some(b.len()),
        _ => None,
    }
}

/// The size limit of a partition (`is_hash`) or sort key value.
fn max_key_size(is_hash: bool) -> usize {
    if is_hash {
        MAX_HASH_KEY_SIZE
    } else {
        MAX_RANGE_KEY_SIZE
    }
}

/// The 2048/1024-byte limits on a value used as a table's partition (`is_hash`) or sort
/// key: in an item, a `Key` parameter, a start key or a Query's key condition.
pub fn check_key_size(value: &AttributeValue, is_hash: bool) -> Result<(), ApiError> {
    if key_value_size(value).is_none_or(|len| len <= max_key_size(is_hash)) {
        return Ok(());
    }
    Err(ApiError::invalid_parameter(if is_hash {
        "Size of hashkey has exceeded the maximum size limit of2048 bytes"
    } else {
        "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
    }))
}

impl KeySchema {
    /// A key of one partition attribute and at most one sort attribute.
    pub fn new(hash: KeyAttr, range: Option<KeyAttr>) -> KeySchema {
        KeySchema {
            hash,
            range,
            more_hash: Vec::new(),
            more_range: Vec::new(),
        }
    }

    /// The partition (HASH) attributes, in key-schema order.
    pub fn hash_attributes(&self) -> impl Iterator<Item = &KeyAttr> {
        std::iter::once(&self.hash).chain(&self.more_hash)
    }

    /// The sort (RANGE) attributes, in key-schema order.
    pub fn range_attributes(&self) -> impl Iterator<Item = &KeyAttr> {
        self.range.iter().chain(&self.more_range)
    }

    /// Whether either key part spans several attributes (a GSI's multi-attribute key).
    pub fn is_multi_attribute(&self) -> bool {
        !self.more_hash.is_empty() || !self.more_range.is_empty()
    }

    /// The schema's attributes in key-schema order: partition attributes first.
    pub fn attributes(&self) -> impl Iterator<Item = &KeyAttr> {
        self.hash_attributes().chain(self.range_attributes())
    }

    /// The schema's attributes, partition attributes first, each with whether it is one.
    fn attrs(&self) -> impl Iterator<Item = (&KeyAttr, bool)> {
        let hash = self.hash_attributes().map(|a| (a, true));
        hash.chain(self.range_attributes().map(|a| (a, false)))
    }

    /// Number of key attributes (1 or 2; up to 8 for a multi-attribute key).
    pub fn len(&self) -> usize {
        1 + self.more_hash.len() + usize::from(self.range.is_some()) + self.more_range.len()
    }

    /// Never true: a schema always has a partition key.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The refusal of an empty string or binary value `given` (an item or a `Key`
    /// parameter) holds for one of this schema's attributes, worded for the table's key
    /// (`index: None`) or an index's: DynamoDB refuses those up front, for a whole
    /// transaction too, where other key mistakes cancel only their action.
    pub fn empty_value_refusal(&self, given: &Item, index: Option<&str>) -> Option<ApiError> {
        self.attributes().find_map(|attr| {
            let value = given.get(&attr.name)?;
            let kind = empty_kind(value)?;
            match index {
                Some(index_name) => Some(empty_index_key(attr, index_name, kind)),
                None => check_not_empty(attr, value).err(),
            }
        })
    }

    /// The key of an item being written (PutItem, BatchWrite Put, Transact Put):
    /// `Missing the key k in the item`, `Type mismatch for key k expected: S actual: N`,
    /// empty string/binary keys, and the 2048/1024-byte size limits.
    pub fn key_of_item(&self, item: &Item) -> Result<PrimaryKey, ApiError> {
        for (attr, is_hash) in self.attrs() {
            let Some(value) = item.get(&attr.name) else {
                return Err(ApiError::invalid_parameter(format!(
                    "Missing the key {} in the item",
                    attr.name
                )));
            };
            if !attr.ty.matches(value) {
                return Err(ApiError::invalid_parameter(format!(
                    "Type mismatch for key {} expected: {} actual: {}",
                    attr.name,
                    attr.ty,
                    value.type_name()
                )));
            }
            check_key_value(attr, value, is_hash)?;
        }
        self.extract(item)
    }

    /// The key named by a `Key` parameter (GetItem, UpdateItem, DeleteItem, ...): exactly the
    /// schema's attributes with the right types, else
    /// `The provided key element does not match the schema`.
    pub fn key_from_param(&self, key: &Item) -> Result<PrimaryKey, ApiError> {
        if key.len() != self.len() {
            return Err(ApiError::validation(KEY_SCHEMA_MISMATCH));
        }
        for (attr, is_hash) in self.attrs() {
            match key.get(&attr.name) {
                Some(value) if attr.ty.matches(value) => check_key_value(attr, value, is_hash)?,
                _ => return Err(ApiError::validation(KEY_SCHEMA_MISMATCH)),
            }
        }
        self.extract(key)
    }

    /// [`key_of_item`](Self::key_of_item) for BatchWriteItem puts, where DynamoDB reports a
    /// missing or mistyped key attribute as `The provided key element does not match the
    /// schema` instead.
    pub fn key_of_batch_item(&self, item: &Item) -> Result<PrimaryKey, ApiError> {
        for (attr, _) in self.attrs() {
            if !item.get(&attr.name).is_some_and(|v| attr.ty.matches(v)) {
                return Err(ApiError::validation(KEY_SCHEMA_MISMATCH));
            }
        }
        self.key_of_item(item)
    }

    /// The key of an item under a secondary index's schema, for an item being written:
    /// `Ok(None)` when the item lacks an index key attribute (sparse index), else
    /// `Type mismatch for Index Key k Expected: S Actual: N IndexName: i` or the empty
    /// string/binary message for index keys.
    pub fn index_key_of_item(
        &self,
        item: &Item,
        index_name: &str,
    ) -> Result<Option<PrimaryKey>, ApiError> {
        let mut missing = false;
        for (attr, is_hash) in self.attrs() {
            let Some(value) = item.get(&attr.name) else {
                missing = true;
                continue;
            };
            if !attr.ty.matches(value) {
                return Err(ApiError::invalid_parameter(format!(
                    "Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {index_name}",
                    attr.name,
                    attr.ty,
                    value.type_name()
                )));
            }
            if let Some(len) = key_value_size(value) {
                let max = max_key_size(is_hash);
                if len > max {
                    return Err(ApiError::invalid_parameter(format!(
                        "Size limit exceeded for Index Key {} Actual Size: {len} bytes Max Size: {max} bytes IndexName: {index_name}",
                        attr.name
                    )));
                }
            }
            if let Some(kind) = empty_kind(value) {
                return Err(empty_index_key(attr, index_name, kind));
            }
        }
        if missing {
            return Ok(None);
        }
        Ok(self.key_of_stored(item))
    }

    /// The key of an item known to be valid (read back from storage, or checked already);
    /// `None` if an attribute is missing or mistyped.
    ///
    /// Under a multi-attribute key, a part of several attributes is their
    /// [`composite_key`].
    pub fn key_of_stored(&self, item: &Item) -> Option<PrimaryKey> {
        let value = |attr: &KeyAttr| item.get(&attr.name).filter(|v| attr.ty.matches(v));
        if !self.is_multi_attribute() {
            let hash = value(&self.hash)?.clone();
            let range = match &self.range {
                None => None,
                Some(r) => Some(value(r)?.clone()),
            };
            return Some(PrimaryKey { hash, range });
        }
        let hash = self
            .hash_attributes()
            .map(value)
            .collect::<Option<Vec<_>>>()?;
        let range = self
            .range_attributes()
            .map(value)
            .collect::<Option<Vec<_>>>()?;
        Some(PrimaryKey {
            hash: composite_key(hash),
            range: (!range.is_empty()).then(|| composite_key(range)),
        })
    }

    fn extract(&self, item: &Item) -> Result<PrimaryKey, ApiError> {
        self.key_of_stored(item)
            .ok_or_else(|| ApiError::validation(KEY_SCHEMA_MISMATCH))
    }

    /// The key as an item holding only the key attributes (of a one-attribute-per-part
    /// key, as every table's is: a composite part names no single attribute).
    pub fn key_item(&self, key: &PrimaryKey) -> Item {
        let mut item = Item::new();
        item.insert(self.hash.name.clone(), key.hash.clone());
        if let (Some(attr), Some(value)) = (&self.range, &key.range) {
            item.insert(attr.name.clone(), value.clone());
        }
        item
    }

    /// Whether `name` is one of this schema's key attributes.
    pub fn is_key_attr(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Number;

    fn schema(range: Option<ScalarType>) -> KeySchema {
        KeySchema::new(
            KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            range.map(|ty| KeyAttr {
                name: "sk".into(),
                ty,
            }),
        )
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn message(r: Result<PrimaryKey, ApiError>) -> String {
        match r {
            Ok(k) => format!("ok {k:?}"),
            Err(e) => e.message.unwrap_or_default(),
        }
    }

    #[test]
    fn item_keys() {
        let sch = schema(Some(ScalarType::N));
        let n1 = AttributeValue::N(Number::from_i64(1));
        let got = sch.key_of_item(&item(&[("pk", s("a")), ("sk", n1.clone()), ("x", s(""))]));
        assert_eq!(
            got,
            Ok(PrimaryKey {
                hash: s("a"),
                range: Some(n1.clone())
            })
        );
        assert_eq!(
            message(sch.key_of_item(&item(&[("sk", n1.clone())]))),
            "One or more parameter values were invalid: Missing the key pk in the item"
        );
        assert_eq!(
            message(sch.key_of_item(&item(&[("pk", s("a"))]))),
            "One or more parameter values were invalid: Missing the key sk in the item"
        );
        assert_eq!(
            message(sch.key_of_item(&item(&[("pk", n1.clone()), ("sk", n1.clone())]))),
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
        );
        assert_eq!(
            message(sch.key_of_item(&item(&[("pk", s("")), ("sk", n1.clone())]))),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
        );
        // The partition key's failures come before the sort key's.
        assert_eq!(
            message(sch.key_of_item(&item(&[("pk", s(""))]))),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
        );
        assert_eq!(
            message(sch.key_of_item(&item(&[("pk", s(&"p".repeat(2049))), ("sk", n1.clone())]))),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
        );
        assert!(sch
            .key_of_item(&item(&[("pk", s(&"p".repeat(2048))), ("sk", n1)]))
            .is_ok());
        let bin = schema(Some(ScalarType::B));
        assert_eq!(
            message(bin.key_of_item(&item(&[("pk", s("a")), ("sk", AttributeValue::B(vec![]))]))),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: sk"
        );
        assert_eq!(
            message(bin.key_of_item(&item(&[("pk", s("a")), ("sk", AttributeValue::B(vec![0; 1025]))]))),
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        );
        assert!(bin
            .key_of_item(&item(&[
                ("pk", s("a")),
                ("sk", AttributeValue::B(vec![0; 1024]))
            ]))
            .is_ok());
    }

    #[test]
    fn batch_and_index_keys() {
        let sch = schema(Some(ScalarType::S));
        assert_eq!(
            message(sch.key_of_batch_item(&item(&[("pk", s("a"))]))),
            KEY_SCHEMA_MISMATCH
        );
        assert_eq!(
            message(sch.key_of_batch_item(&item(&[("pk", s("a")), ("sk", s(""))]))),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: sk"
        );
        assert_eq!(
            sch.index_key_of_item(&item(&[("pk", s("a"))]), "i"),
            Ok(None)
        );
        let n = AttributeValue::N(Number::from_i64(1));
        match sch.index_key_of_item(&item(&[("pk", s("a")), ("sk", n)]), "i") {
            Err(e) => assert_eq!(
                e.message.as_deref(),
                Some("One or more parameter values were invalid: Type mismatch for Index Key sk Expected: S Actual: N IndexName: i")
            ),
            Ok(k) => panic!("{k:?}"),
        }
        match sch.index_key_of_item(&item(&[("pk", s("")), ("sk", s("b"))]), "i") {
            Err(e) => assert_eq!(
                e.message.as_deref(),
                Some("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: i, IndexKey: pk")
            ),
            Ok(k) => panic!("{k:?}"),
        }
        assert_eq!(
            sch.index_key_of_item(&item(&[("pk", s("a")), ("sk", s("b")), ("x", s(""))]), "i"),
            Ok(Some(PrimaryKey {
                hash: s("a"),
                range: Some(s("b"))
            }))
        );
    }

    #[test]
    fn index_keys_have_the_table_key_size_limits() {
        let sch = schema(Some(ScalarType::S));
        let at_limit = item(&[("pk", s(&"p".repeat(2048))), ("sk", s(&"s".repeat(1024)))]);
        assert!(matches!(sch.index_key_of_item(&at_limit, "i"), Ok(Some(_))));
        let message = |pk: usize, sk: usize| {
            let it = item(&[("pk", s(&"p".repeat(pk))), ("sk", s(&"s".repeat(sk)))]);
            sch.index_key_of_item(&it, "i")
                .err()
                .and_then(|e| e.message)
                .unwrap_or_default()
        };
        assert_eq!(
            message(2049, 1),
            "One or more parameter values were invalid: Size limit exceeded for Index Key pk Actual Size: 2049 bytes Max Size: 2048 bytes IndexName: i"
        );
        assert_eq!(
            message(1, 70_000),
            "One or more parameter values were invalid: Size limit exceeded for Index Key sk Actual Size: 70000 bytes Max Size: 1024 bytes IndexName: i"
        );
    }

    #[test]
    fn key_size_limits_apply_to_strings_and_binaries_only() {
        assert!(check_key_size(&s(&"p".repeat(2048)), true).is_ok());
        assert!(check_key_size(&AttributeValue::B(vec![0; 1024]), false).is_ok());
        let too_big = |value: &AttributeValue, is_hash| {
            check_key_size(value, is_hash)
                .err()
                .and_then(|e| e.message)
                .unwrap_or_default()
        };
        assert_eq!(
            too_big(&s(&"p".repeat(2049)), true),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
        );
        assert_eq!(
            too_big(&AttributeValue::B(vec![0; 1025]), false),
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        );
        let n = AttributeValue::N(Number::from_i64(1));
        assert!(check_key_size(&n, false).is_ok());
    }

    #[test]
    fn param_keys() {
        let sch = schema(None);
        assert_eq!(
            sch.key_from_param(&item(&[("pk", s("a"))])),
            Ok(PrimaryKey {
                hash: s("a"),
                range: None
            })
        );
        for bad in [
            item(&[]),
            item(&[("pk", s("a")), ("x", s("b"))]),
            item(&[("nope", s("a"))]),
            item(&[("pk", AttributeValue::N(Number::from_i64(1)))]),
        ] {
            assert_eq!(message(sch.key_from_param(&bad)), KEY_SCHEMA_MISMATCH);
        }
        assert_eq!(
            message(sch.key_from_param(&item(&[("pk", s(""))]))),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
        );
        assert_eq!(
            message(sch.key_from_param(&item(&[("pk", s(&"é".repeat(1025)))]))),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
        );
        let two = schema(Some(ScalarType::S));
        assert_eq!(
            message(two.key_from_param(&item(&[("pk", s("a"))]))),
            KEY_SCHEMA_MISMATCH
        );
        let k = two.key_from_param(&item(&[("pk", s("a")), ("sk", s("b"))]));
        assert_eq!(
            k.as_ref().map(|k| two.key_item(k)),
            Ok(item(&[("pk", s("a")), ("sk", s("b"))]))
        );
    }
    fn attr(name: &str, ty: ScalarType) -> KeyAttr {
        KeyAttr {
            name: name.into(),
            ty,
        }
    }

    /// h1, h2 HASH; r1 (S), r2 (N) RANGE.
    fn multi() -> KeySchema {
        KeySchema {
            hash: attr("h1", ScalarType::S),
            range: Some(attr("r1", ScalarType::S)),
            more_hash: vec![attr("h2", ScalarType::S)],
            more_range: vec![attr("r2", ScalarType::N)],
        }
    }

    #[test]
    fn multi_attribute_keys_list_every_attribute_and_compose_their_values() {
        let m = multi();
        let names: Vec<&str> = m.attributes().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["h1", "h2", "r1", "r2"]);
        assert_eq!(m.len(), 4);
        assert!(m.is_multi_attribute() && m.is_key_attr("r2"));
        assert!(!schema(Some(ScalarType::S)).is_multi_attribute());
        let n = |v: i64| AttributeValue::N(Number::from_i64(v));
        let full = item(&[("h1", s("a")), ("h2", s("b")), ("r1", s("x")), ("r2", n(9))]);
        assert_eq!(
            m.key_of_stored(&full),
            Some(PrimaryKey {
                hash: composite_key([&s("a"), &s("b")]),
                range: Some(composite_key([&s("x"), &n(9)])),
            })
        );
        // One attribute short (or mistyped) and the item is not in the index.
        let mut partial = full.clone();
        partial.remove("r2");
        assert_eq!(m.key_of_stored(&partial), None);
        assert_eq!(m.index_key_of_item(&partial, "g"), Ok(None));
        partial.insert("r2".into(), s("9"));
        assert_eq!(
            m.index_key_of_item(&partial, "g").unwrap_err().message.unwrap_or_default(),
            "One or more parameter values were invalid: Type mismatch for Index Key r2 Expected: N Actual: S IndexName: g"
        );
        // A part of one attribute is that attribute's value.
        assert_eq!(composite_key([&s("a")]), s("a"));
    }

    proptest::proptest! {
        #[test]
        fn composites_order_attribute_by_attribute(
            a in ("\\PC{0,3}|\u{0}a?", -20i64..20), b in ("\\PC{0,3}|\u{0}a?", -20i64..20)
        ) {
            let value = |(text, number): &(String, i64)| {
                composite_key([&s(text), &AttributeValue::N(Number::from_i64(*number))])
            };
            let (AttributeValue::B(x), AttributeValue::B(y)) = (value(&a), value(&b)) else {
                panic!("composites are binary");
            };
            let tuples = a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1));
            proptest::prop_assert_eq!(x.cmp(&y), tuples);
        }
    }
}
