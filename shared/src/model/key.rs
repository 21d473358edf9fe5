//! Key schemas and primary keys: which attributes form an item's key, and extracting and
//! validating them from items and from `Key` parameters with DynamoDB's messages.

use super::value::{AttributeValue, Item};
use crate::wire::error::ApiError;

/// The scalar types a key attribute may have (`AttributeDefinitions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ScalarType {
    S,
    N,
    B,
}

/// One key attribute: its name and declared type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyAttr {
    pub name: String,
    pub ty: ScalarType,
}

/// A table's or index's key: partition (HASH) and optional sort (RANGE) attribute.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeySchema {
    pub hash: KeyAttr,
    pub range: Option<KeyAttr>,
}

/// The primary key values of one item. Values are scalars of the schema's types.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryKey {
    pub hash: AttributeValue,
    pub range: Option<AttributeValue>,
}

impl KeySchema {
    /// The key of an item being written (PutItem, BatchWrite Put, Transact Put):
    /// `Missing the key k in the item`, `Type mismatch for key k expected: S actual: N`,
    /// empty string/binary keys, and the 2048/1024-byte size limits.
    pub fn key_of_item(&self, item: &Item) -> Result<PrimaryKey, ApiError> {
        let _ = item;
        todo!("model helper")
    }

    /// The key named by a `Key` parameter (GetItem, UpdateItem, DeleteItem, ...): exactly the
    /// schema's attributes with the right types, else
    /// `The provided key element does not match the schema`.
    pub fn key_from_param(&self, key: &Item) -> Result<PrimaryKey, ApiError> {
        let _ = key;
        todo!("model helper")
    }

    /// The key as an item holding only the key attributes.
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
        self.hash.name == name || self.range.as_ref().is_some_and(|r| r.name == name)
    }
}
