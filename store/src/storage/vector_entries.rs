//! Vector index entries: what a vector index keeps of each item it holds, written in the
//! same batch as the item (as secondary-index entries are, see `indexes`), so a search
//! reads the index rather than the table, and reads each vector as floats rather than
//! parsing its numbers' text.
//!
//! # Layout
//! An entry lives in the `items` keyspace under
//! `table-id | index-id | [partition_hash(h)] | partition_hash(tpk) | enc(tpk) | enc(tsk)?`
//! where `h` is the item's value of the index's HASH search attribute (absent for an index
//! without one) and the rest is the item's own key after its table prefix. So one HASH
//! value's entries are one key range (a search of a partition reads only it), entries
//! within it are in the table's scan order, and the key stays short whatever `h` is (the
//! hash stands for the value; a search still compares the values themselves, so two
//! values of one hash never mix). The value is the vector as little-endian `f32`s, then
//! the projected item in the stored form of table items (codec bytes and a size trailer),
//! the size being the entry's billed size: the vector counted as its name and four bytes
//! a dimension. `Storage::index_stats` counts entries and sums those trailers as for any
//! index.

use std::ops::Bound;

use shared::model::keycodec::partition_hash;
use shared::model::size::attributes_size;
use shared::model::{AttributeValue, Item, KeySchema};
use shared::wire::ops::vector::vector_component;

use super::engine::{Bytes, Op, Space};
use super::indexes::{EntryDelta, Projected};
use super::stored::{decode_value, encode_value};
use super::{keys, Storage, StorageError};

/// One vector index as storage maintains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorLayout {
    /// Never 0 (the table itself); from the table's index ids, shared with its GSIs.
    pub index_id: u16,
    pub name: String,
    /// The attribute holding each item's vector.
    pub attribute: String,
    pub dimensions: usize,
    /// The search schema's HASH attribute, which partitions the entries.
    pub hash: Option<String>,
    /// Every search schema attribute (HASH and INLINE_FILTER): entries always keep them.
    pub search_schema: Vec<String>,
    pub projection: Projected,
    /// Being filled from the table's items (see `indexes`' stats).
    pub filling: bool,
}

impl VectorLayout {
    /// Whether an entry holds the top-level attribute `name`: the table's key, the vector
    /// and the search schema always (the index's own "keys"), others as the projection
    /// says (asked with the table's schema alone: a vector index has no key schema).
    pub fn keeps(&self, table_schema: &KeySchema, name: &str) -> bool {
        table_schema.is_key_attr(name)
            || name == self.attribute
            || self.search_schema.iter().any(|s| s == name)
            || self
                .projection
                .view()
                .keeps(table_schema, table_schema, name)
    }

    /// What the index holds of `item`: its vector and the attributes it projects, in the
    /// item's order; `None` when the item is not in the index (no vector of its
    /// dimensions, or, under a HASH search attribute, no value for it).
    pub fn entry<'a>(&self, table_schema: &KeySchema, item: &'a Item) -> Option<Entry<'a>> {
        let vector = vector_of(item.get(&self.attribute)?, self.dimensions)?;
        if let Some(hash) = &self.hash {
            item.get(hash)?;
        }
        let attributes = item
            .iter()
            .filter(|(name, _)| self.keeps(table_schema, name))
            .collect();
        Some(Entry { vector, attributes })
    }

    /// The size of `entry`: its item size with the vector counted as its name and four
    /// bytes a dimension (what DynamoDB bills a vector index write by, and IndexSizeBytes
    /// sums).
    pub fn entry_size(&self, entry: &Entry<'_>) -> usize {
        let others = entry
            .attributes
            .iter()
            .copied()
            .filter(|(name, _)| **name != self.attribute);
        attributes_size(others) + self.attribute.len() + 4 * self.dimensions
    }

    /// `item`'s entry and its engine key; `None` when the item is not in the index.
    fn placed_entry<'a>(
        &self,
        table_id: u64,
        table_schema: &KeySchema,
        item: &'a Item,
    ) -> Option<(Vec<u8>, Entry<'a>)> {
        let entry = self.entry(table_schema, item)?;
        Some((self.entry_key(table_id, table_schema, item)?, entry))
    }

    /// The key prefix of the entries a search reads: the whole index, or the entries of
    /// one HASH value.
    fn search_prefix(&self, table_id: u64, hash: Option<&AttributeValue>) -> Vec<u8> {
        let mut prefix = keys::table_prefix(table_id, self.index_id).to_vec();
        if let (Some(_), Some(value)) = (&self.hash, hash) {
            prefix.extend_from_slice(&partition_hash(value).to_be_bytes());
        }
        prefix
    }

    /// The engine key of `item`'s entry (see the module's layout).
    fn entry_key(&self, table_id: u64, table_schema: &KeySchema, item: &Item) -> Option<Vec<u8>> {
        let table_key = table_schema.key_of_stored(item)?;
        let hash = match &self.hash {
            Some(name) => Some(item.get(name)?),
            None => None,
        };
        let item_key = keys::item_key(table_id, &table_key);
        let mut key = self.search_prefix(table_id, hash);
        key.extend_from_slice(item_key.get(keys::TABLE_PREFIX_LEN..)?);
        Some(key)
    }
}

/// An item's entry in a vector index: its vector and the attributes the index keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    pub vector: Vec<f32>,
    pub attributes: Vec<(&'a String, &'a AttributeValue)>,
}

/// `value` as a vector of `dimensions` components: a list of exactly that many numbers
/// that read as 32-bit floats. Anything else is not a vector of the index (the item is
/// not in it).
pub fn vector_of(value: &AttributeValue, dimensions: usize) -> Option<Vec<f32>> {
    let AttributeValue::L(list) = value else {
        return None;
    };
    if list.len() != dimensions {
        return None;
    }
    list.iter().map(vector_component).collect()
}

/// The entry deletes and puts that move vector index `index` from `old` to `new` (either
/// may be absent): nothing when the entry is unchanged, a delete when its key changes or
/// the item leaves the index, a put when it is new or changed; and the change to the
/// index's stats. `held` says whether the index holds the entry `old` would have, as for
/// a secondary index (`indexes::entry_ops`).
pub fn entry_ops(
    table_id: u64,
    table_schema: &KeySchema,
    index: &VectorLayout,
    old: Option<&Item>,
    new: Option<&Item>,
    held: impl Fn(&[u8]) -> bool,
    ops: &mut Vec<Op>,
) -> EntryDelta {
    let before = old
        .and_then(|o| index.placed_entry(table_id, table_schema, o))
        .filter(|(key, _)| held(key));
    let after = new.and_then(|n| index.placed_entry(table_id, table_schema, n));
    if let Some((old_key, _)) = &before {
        if after.as_ref().is_none_or(|(key, _)| key != old_key) {
            ops.push(Op::Delete {
                space: Space::Items,
                key: old_key.as_slice().into(),
            });
        }
    }
    let before_size = before.as_ref().map(|(_, entry)| index.entry_size(entry));
    let Some((key, entry)) = after else {
        return EntryDelta::between(before_size, None);
    };
    let size = index.entry_size(&entry);
    let delta = EntryDelta::between(before_size, Some(size));
    if before.is_some_and(|(old_key, old_entry)| old_key == key && old_entry == entry) {
        return delta;
    }
    let projected: Item = entry
        .attributes
        .iter()
        .map(|(name, value)| ((*name).clone(), (*value).clone()))
        .collect();
    let mut value = Vec::with_capacity(4 * entry.vector.len());
    for component in &entry.vector {
        value.extend_from_slice(&component.to_le_bytes());
    }
    value.extend_from_slice(&encode_value(&projected, size as u64));
    ops.push(Op::Put {
        space: Space::Items,
        key: key.into(),
        value: value.into(),
    });
    delta
}

/// One stored entry of a vector index, read lazily: the vector as floats, the projected
/// item only when asked.
pub struct VectorEntry {
    key: Bytes,
    value: Bytes,
    dimensions: usize,
}

impl VectorEntry {
    /// The entry's vector, written into `out` (replacing what it held).
    pub fn vector_into(&self, out: &mut Vec<f32>) -> Result<(), StorageError> {
        let bytes = self
            .value
            .get(..4 * self.dimensions)
            .ok_or_else(|| self.corrupt())?;
        out.clear();
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(())
    }

    /// The projected item.
    pub fn decode(&self) -> Result<Item, StorageError> {
        decode_value(&self.key, self.stored())
    }

    /// The projected item's stored form (codec bytes and size trailer).
    fn stored(&self) -> &[u8] {
        self.value.get(4 * self.dimensions..).unwrap_or_default()
    }

    fn corrupt(&self) -> StorageError {
        StorageError::Corrupt(self.key.to_vec())
    }
}

impl Storage {
    /// The entries of vector index `index` of table `table_id` that a search reads: every
    /// entry, or under a HASH search attribute those filed under `hash`'s value (which may
    /// also hold another value of the same hash: the caller compares values). One
    /// snapshot, in key order.
    pub fn vector_entries<'a>(
        &'a self,
        table_id: u64,
        index: &VectorLayout,
        hash: Option<&AttributeValue>,
    ) -> impl Iterator<Item = Result<VectorEntry, StorageError>> + Send + 'a {
        let prefix = index.search_prefix(table_id, hash);
        let range = (Bound::Included(prefix.clone()), keys::prefix_upper(&prefix));
        let dimensions = index.dimensions;
        self.committer
            .engine
            .range(Space::Items, range)
            .map(move |entry| {
                let (key, value) = entry?;
                Ok(VectorEntry {
                    key,
                    value,
                    dimensions,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{KeyAttr, Number, ScalarType};

    fn n(v: f64) -> AttributeValue {
        AttributeValue::N(Number::parse(&v.to_string()).unwrap())
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn schema() -> KeySchema {
        KeySchema::new(
            KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            None,
        )
    }

    fn layout(hash: Option<&str>, projection: Projected) -> VectorLayout {
        VectorLayout {
            index_id: 3,
            name: "vix".into(),
            attribute: "v".into(),
            dimensions: 2,
            hash: hash.map(str::to_string),
            search_schema: hash.into_iter().map(str::to_string).collect(),
            projection,
            filling: false,
        }
    }

    fn item(pk: &str, vector: &[f64], extra: &[(&str, AttributeValue)]) -> Item {
        let mut item: Item = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        item.insert("pk".into(), s(pk));
        item.insert(
            "v".into(),
            AttributeValue::L(vector.iter().map(|c| n(*c)).collect()),
        );
        item
    }

    fn ops_for(index: &VectorLayout, old: Option<&Item>, new: Option<&Item>) -> Vec<Op> {
        let mut ops = Vec::new();
        entry_ops(7, &schema(), index, old, new, |_| true, &mut ops);
        ops
    }

    fn list(values: &[&str]) -> AttributeValue {
        AttributeValue::L(
            values
                .iter()
                .map(|v| AttributeValue::N(Number::parse(v).unwrap()))
                .collect(),
        )
    }

    #[test]
    fn vectors_are_lists_of_exactly_the_dimensions_in_numbers() {
        assert_eq!(
            vector_of(&list(&["1", "0.5", "-2"]), 3),
            Some(vec![1.0, 0.5, -2.0])
        );
        assert_eq!(vector_of(&list(&["1", "0"]), 3), None);
        let mixed = AttributeValue::L(vec![
            AttributeValue::N(Number::from_i64(1)),
            AttributeValue::S("x".into()),
        ]);
        assert_eq!(vector_of(&mixed, 2), None);
        // Past a 32-bit float's range is not a component.
        assert_eq!(vector_of(&list(&["1e39"]), 1), None);
        assert_eq!(vector_of(&AttributeValue::S("1".into()), 1), None);
    }

    #[test]
    fn only_items_with_a_vector_of_the_dimensions_are_in_the_index() {
        let index = layout(Some("tenant"), Projected::KeysOnly);
        let with_tenant = |v: &[f64]| item("a", v, &[("tenant", s("t1"))]);
        assert!(index.entry(&schema(), &with_tenant(&[1.0, 2.0])).is_some());
        assert!(index.entry(&schema(), &with_tenant(&[1.0])).is_none());
        assert!(index
            .entry(&schema(), &item("a", &[1.0, 2.0], &[]))
            .is_none());
        let mut words = with_tenant(&[1.0, 2.0]);
        words.insert("v".into(), AttributeValue::L(vec![s("x"), n(1.0)]));
        assert!(index.entry(&schema(), &words).is_none());
    }

    #[test]
    fn entries_keep_keys_vector_search_schema_and_projection() {
        let index = layout(Some("tenant"), Projected::KeysOnly);
        let it = item("a", &[1.0, 2.0], &[("tenant", s("t1")), ("other", s("o"))]);
        let entry = index.entry(&schema(), &it).unwrap();
        let mut names: Vec<&str> = entry.attributes.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["pk", "tenant", "v"]);
        assert_eq!(entry.vector, [1.0, 2.0]);
        // The vector is billed as its name and four bytes a dimension.
        let others = attributes_size(entry.attributes.iter().copied().filter(|(n, _)| *n != "v"));
        assert_eq!(index.entry_size(&entry), others + 1 + 8);
    }

    #[test]
    fn writes_put_move_and_delete_entries_only_when_they_change() {
        let index = layout(Some("tenant"), Projected::KeysOnly);
        let t1 = item("a", &[1.0, 2.0], &[("tenant", s("t1"))]);
        let put = ops_for(&index, None, Some(&t1));
        let [Op::Put { key, value, .. }] = put.as_slice() else {
            panic!("{put:?}");
        };
        assert_eq!(
            &value[..8],
            [1f32.to_le_bytes(), 2f32.to_le_bytes()].concat()
        );
        // Under its HASH value's prefix, so a search of that value reads it.
        assert!(key.starts_with(index.search_prefix(7, Some(&s("t1")))));
        assert!(!key.starts_with(index.search_prefix(7, Some(&s("t2")))));

        // An attribute the index does not keep changes nothing.
        let mut unkept = t1.clone();
        unkept.insert("other".into(), s("o"));
        assert!(ops_for(&index, Some(&t1), Some(&unkept)).is_empty());
        // A new HASH value moves the entry: the old key deleted, the new one put.
        let t2 = item("a", &[1.0, 2.0], &[("tenant", s("t2"))]);
        let moved = ops_for(&index, Some(&t1), Some(&t2));
        assert!(
            matches!(moved.as_slice(), [Op::Delete { .. }, Op::Put { .. }]),
            "{moved:?}"
        );
        // Losing the vector, or the item, deletes it.
        let bare = item("a", &[1.0], &[("tenant", s("t1"))]);
        assert!(matches!(
            ops_for(&index, Some(&t1), Some(&bare)).as_slice(),
            [Op::Delete { .. }]
        ));
        assert!(matches!(
            ops_for(&index, Some(&t1), None).as_slice(),
            [Op::Delete { .. }]
        ));
    }

    #[test]
    fn an_index_without_a_hash_attribute_keeps_the_table_scan_order() {
        let index = layout(None, Projected::All);
        let it = item("a", &[1.0, 2.0], &[]);
        let key = index.entry_key(7, &schema(), &it).unwrap();
        let item_key = keys::item_key(7, &schema().key_of_stored(&it).unwrap());
        assert_eq!(key, keys::in_index(&item_key, 3));
    }
}
