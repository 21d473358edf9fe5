//! Secondary-index entries: their key layout, their maintenance in the write batch, their
//! range reads, the backfill of an index added to a table with data, and the removal of a
//! deleted index's entries.
//!
//! # Layout
//! An index entry lives in the `items` keyspace under
//! `table-id | index-id | partition_hash(ipk) | enc(ipk) | enc(isk)? | enc(tpk) | enc(tsk)?`
//! where `ipk`/`isk` are the index's key values and `tpk`/`tsk` the table's. The table key
//! makes entries unique (index keys need not be), and because every encoding is
//! self-delimiting and order-preserving, entries of one index partition sort by the index
//! sort key first and by the table key after it, which is DynamoDB's index order and its
//! pagination order. The value is the projected item in the same stored form as table
//! items (codec bytes + size trailer), so range reads decode entries like items.
//!
//! # Maintenance
//! The write path ([`Storage::write`]) asks [`Storage::index_ops`] for the entry deletes
//! and puts of every changed item while it holds the item's lock, and commits them in the
//! same engine batch as the item. That holds for GSIs too: DynamoDB only promises
//! eventually consistent GSI reads, and an index that is never behind satisfies that
//! promise; the batch also makes the backfill race-free (see [`Storage::backfill_index`]).
//! Which indexes a table has is published here by the catalog ([`Storage::set_indexes`])
//! before a new definition becomes visible, and it is looked up under the item locks, so a
//! write either sees a new index or committed before the backfill reads its item.
//!
//! # Stats
//! Each index's entry count and size are kept beside the table's (`group_commit`): every
//! batch carries the change its entry ops make. That needs to know whether the index
//! holds an item's entry before the write, which the old item says once an index is
//! filled; while one is being filled (`filling`), the write path and the backfill look.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use shared::model::keycodec::encode_scalar;
use shared::model::size::item_size;
use shared::model::{AttributeValue, Item, KeySchema};

use super::stored::{decode_value, encode_value, stored_size};

use super::engine::{Op, Space};
use super::group_commit::Batch;
use super::vector_entries::{self, VectorLayout};
use super::{keys, ItemIter, SortRange, Storage, StorageError, TableLayout, TableStats};

/// Table items visited per backfill step (each step is one locked, atomic batch).
const BACKFILL_CHUNK: usize = 256;

/// What an index stores besides its own and the table's key attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projected {
    All,
    KeysOnly,
    Include(Vec<String>),
}

/// An index's projection borrowed from either of its definitions (storage's [`Projected`],
/// the catalog's `IndexProjection`): the one place the rule of which attributes an index
/// entry holds lives, so the entries storage writes and the sizes a write is charged and
/// limited by cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionView<'a> {
    All,
    KeysOnly,
    Include(&'a [String]),
}

impl ProjectionView<'_> {
    /// Whether an entry holds the top-level attribute `name`: key attributes of the index
    /// and of the table always, others as the projection says.
    pub fn keeps(self, index_schema: &KeySchema, table_schema: &KeySchema, name: &str) -> bool {
        let is_key = || index_schema.is_key_attr(name) || table_schema.is_key_attr(name);
        match self {
            ProjectionView::All => true,
            ProjectionView::KeysOnly => is_key(),
            ProjectionView::Include(extra) => is_key() || extra.iter().any(|e| e == name),
        }
    }
}

impl Projected {
    pub fn view(&self) -> ProjectionView<'_> {
        match self {
            Projected::All => ProjectionView::All,
            Projected::KeysOnly => ProjectionView::KeysOnly,
            Projected::Include(extra) => ProjectionView::Include(extra),
        }
    }
}

/// One secondary index as storage maintains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLayout {
    /// Never 0 (the table itself).
    pub index_id: u16,
    pub name: String,
    pub schema: KeySchema,
    pub projection: Projected,
    pub global: bool,
    /// Being filled from the table's items (see the module's stats).
    pub filling: bool,
}

/// The secondary and vector indexes of one table, with the table's key schema (entries
/// carry the table key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableIndexes {
    pub table_schema: KeySchema,
    pub indexes: Vec<IndexLayout>,
    pub vectors: Vec<VectorLayout>,
}

/// DynamoDB's item collection limit: 10 GB per partition key value of a table with LSIs.
pub const ITEM_COLLECTION_LIMIT: u64 = 10 * 1024 * 1024 * 1024;

/// Every table's indexes, by table id, as the catalog last published them.
pub struct IndexRegistry {
    tables: parking_lot::RwLock<HashMap<u64, Arc<TableIndexes>>>,
    /// Item collection limit in bytes (settable so tests can reach it).
    collection_limit: AtomicU64,
    /// A pause after each chunk of a backfill, in ms (0: none; settable so tests can act
    /// while one is under way, whatever the machine's speed).
    backfill_pause_ms: AtomicU64,
}

impl Default for IndexRegistry {
    fn default() -> Self {
        IndexRegistry {
            tables: Default::default(),
            collection_limit: AtomicU64::new(ITEM_COLLECTION_LIMIT),
            backfill_pause_ms: AtomicU64::new(0),
        }
    }
}

impl IndexLayout {
    /// The item as this index stores it: every attribute (ALL), or only the index's and
    /// the table's key attributes plus the INCLUDE list.
    pub fn project(&self, table_schema: &KeySchema, item: &Item) -> Item {
        match &self.projection {
            Projected::All => item.clone(),
            Projected::KeysOnly | Projected::Include(_) => item
                .iter()
                .filter(|(name, _)| self.projects(table_schema, name))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        }
    }

    /// The size of the item's entry in this index ([`IndexLayout::project`]'s, measured
    /// without building it).
    pub fn entry_size(&self, table_schema: &KeySchema, item: &Item) -> usize {
        let kept = item
            .iter()
            .filter(|(name, _)| self.projects(table_schema, name));
        shared::model::size::attributes_size(kept)
    }

    /// Whether this index's entries hold the top-level attribute `name`: key attributes
    /// of the index and of the table always, others as the projection says.
    pub fn projects(&self, table_schema: &KeySchema, name: &str) -> bool {
        self.projection
            .view()
            .keeps(&self.schema, table_schema, name)
    }

    /// Whether every attribute of a table item is in this index's entries.
    pub fn projects_all(&self) -> bool {
        self.projection == Projected::All
    }
}

/// The engine key of `item`'s entry in `index`; `None` when the item lacks (or has a
/// mistyped) index key attribute, which is how an index is sparse. `item` may also be a
/// LastEvaluatedKey, which holds exactly the attributes this key is built from.
pub fn entry_key(
    table_id: u64,
    table_schema: &KeySchema,
    index: &IndexLayout,
    item: &Item,
) -> Option<Vec<u8>> {
    let index_key = index.schema.key_of_stored(item)?;
    let table_key = table_schema.key_of_stored(item)?;
    let mut out = keys::partition_prefix(table_id, index.index_id, &index_key.hash);
    if let Some(range) = &index_key.range {
        encode_scalar(range, &mut out);
    }
    encode_scalar(&table_key.hash, &mut out);
    if let Some(range) = &table_key.range {
        encode_scalar(range, &mut out);
    }
    Some(out)
}

/// The change a write made to an index's entry count and their total size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryDelta {
    pub count: i64,
    pub size: i64,
}

impl EntryDelta {
    /// From the sizes of the entry before and after the write (`None`: no entry).
    pub fn between(before: Option<usize>, after: Option<usize>) -> EntryDelta {
        let size = |s: Option<usize>| s.map_or(0, |s| i64::try_from(s).unwrap_or(i64::MAX));
        EntryDelta {
            count: i64::from(after.is_some()) - i64::from(before.is_some()),
            size: size(after) - size(before),
        }
    }
}

/// The entry deletes and puts that move `index` from `old` to `new` (either may be absent):
/// nothing when the entry is unchanged, a delete of the old key when the key changes or
/// the item leaves the index, a put when the entry is new or its attributes changed; and
/// the change to the index's stats. `held` says whether the index holds the entry `old`
/// would have (under `old`'s key): always, once an index is filled; an index being
/// filled may not have reached the item yet, and then the put is a new entry.
pub fn entry_ops(
    table_id: u64,
    table_schema: &KeySchema,
    index: &IndexLayout,
    old: Option<&Item>,
    new: Option<&Item>,
    held: impl Fn(&[u8]) -> bool,
    ops: &mut Vec<Op>,
) -> EntryDelta {
    let old_key = old
        .and_then(|o| entry_key(table_id, table_schema, index, o))
        .filter(|k| held(k));
    let new_entry = new.and_then(|n| {
        entry_key(table_id, table_schema, index, n).map(|k| (k, index.project(table_schema, n)))
    });
    if let Some(old_key) = &old_key {
        if new_entry.as_ref().is_none_or(|(k, _)| k != old_key) {
            ops.push(Op::Delete {
                space: Space::Items,
                key: old_key.as_slice().into(),
            });
        }
    }
    let before = old
        .filter(|_| old_key.is_some())
        .map(|o| index.entry_size(table_schema, o));
    let Some((key, entry)) = new_entry else {
        return EntryDelta::between(before, None);
    };
    let size = item_size(&entry);
    let unchanged = old_key.as_ref() == Some(&key)
        && old.map(|o| index.project(table_schema, o)).as_ref() == Some(&entry);
    if !unchanged {
        ops.push(Op::Put {
            space: Space::Items,
            value: encode_value(&entry, size as u64).into(),
            key: key.into(),
        });
    }
    EntryDelta::between(before, Some(size))
}

/// Whether `item` has the index key (`schema`'s attributes) that `entry` has.
fn same_index_key(schema: &KeySchema, entry: &Item, item: &Item) -> bool {
    schema
        .attributes()
        .all(|attr| entry.get(&attr.name) == item.get(&attr.name))
}

/// Engine bound on index sort keys within `partition`: entries carry the table key after
/// the index sort key, so "after v" must skip every entry that starts with `enc(v)`, and
/// "up to v" must include them.
fn index_sort_bound(
    partition: &[u8],
    bound: &Bound<AttributeValue>,
    lower: bool,
) -> Bound<Vec<u8>> {
    let encode = |v: &AttributeValue| {
        let mut key = partition.to_vec();
        encode_scalar(v, &mut key);
        key
    };
    match (bound, lower) {
        (Bound::Unbounded, _) => Bound::Unbounded,
        (Bound::Included(v), true) => Bound::Included(encode(v)),
        (Bound::Excluded(v), false) => Bound::Excluded(encode(v)),
        (Bound::Excluded(v), true) => match keys::prefix_successor(&encode(v)) {
            Some(next) => Bound::Included(next),
            // No key is greater than every key starting with an all-0xFF prefix.
            None => Bound::Excluded(encode(v)),
        },
        (Bound::Included(v), false) => keys::prefix_upper(&encode(v)),
    }
}

impl IndexRegistry {
    fn get(&self, table_id: u64) -> Option<Arc<TableIndexes>> {
        self.tables.read().get(&table_id).cloned()
    }
}

impl Storage {
    /// Publishes a table's secondary and vector indexes (none forgets them). The catalog
    /// calls this before a definition that adds or removes an index becomes visible.
    pub fn set_indexes(
        &self,
        table_id: u64,
        table_schema: &KeySchema,
        indexes: Vec<IndexLayout>,
        vectors: Vec<VectorLayout>,
    ) {
        let mut tables = self.indexes.tables.write();
        if indexes.is_empty() && vectors.is_empty() {
            tables.remove(&table_id);
        } else {
            tables.insert(
                table_id,
                Arc::new(TableIndexes {
                    table_schema: table_schema.clone(),
                    indexes,
                    vectors,
                }),
            );
        }
    }

    /// Sets the item collection limit (bytes); DynamoDB's is [`ITEM_COLLECTION_LIMIT`].
    pub fn set_backfill_pause(&self, pause: std::time::Duration) {
        let ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
        self.indexes.backfill_pause_ms.store(ms, Ordering::Relaxed);
    }

    pub fn set_collection_limit(&self, bytes: u64) {
        self.indexes
            .collection_limit
            .store(bytes, Ordering::Relaxed);
    }

    /// For a table with LSIs: refuses a put that grows the item collection of `hash` (the
    /// table's items and LSI entries under that partition key) past the limit. Runs under
    /// the item's lock, before the batch is committed. The collection is measured by
    /// reading its keys' size trailers, so it costs a pass over the partition, paid only by
    /// writes that grow an item of a table with LSIs.
    pub(super) fn check_collection(
        &self,
        table_id: u64,
        hash: &AttributeValue,
        old: Option<&Item>,
        new: &Item,
    ) -> Result<(), StorageError> {
        let Some(table) = self.indexes.get(table_id) else {
            return Ok(());
        };
        let local: Vec<&IndexLayout> = table.indexes.iter().filter(|i| !i.global).collect();
        if local.is_empty() {
            return Ok(());
        }
        let entry_size = |index: &IndexLayout, item: &Item| {
            index
                .schema
                .key_of_stored(item)
                .map_or(0, |_| item_size(&index.project(&table.table_schema, item)))
        };
        let size_of = |item: &Item| {
            item_size(item) + local.iter().map(|i| entry_size(i, item)).sum::<usize>()
        };
        let before = old.map_or(0, size_of) as u64;
        let after = size_of(new) as u64;
        if after <= before {
            return Ok(());
        }
        let limit = self.indexes.collection_limit.load(Ordering::Relaxed);
        let mut total = after - before;
        let ids = std::iter::once(keys::TABLE_INDEX).chain(local.iter().map(|i| i.index_id));
        for index_id in ids {
            let prefix = keys::partition_prefix(table_id, index_id, hash);
            for entry in self.items_under(&prefix) {
                let (_, value) = entry?;
                total = total.saturating_add(stored_size(&value));
                if total > limit {
                    return Err(StorageError::CollectionSizeLimit);
                }
            }
        }
        if total > limit {
            return Err(StorageError::CollectionSizeLimit);
        }
        Ok(())
    }

    /// The indexes storage maintains for a table (as last published).
    pub fn indexes_of(&self, table_id: u64) -> Option<Arc<TableIndexes>> {
        self.indexes.get(table_id)
    }

    /// Index entry changes for one item of `table_id` going from `old` to `new`. Called by
    /// the write path under the item's lock.
    pub(super) fn index_ops(
        &self,
        table_id: u64,
        old: Option<&Item>,
        new: Option<&Item>,
        batch: &mut Batch,
    ) {
        let Some(table) = self.indexes.get(table_id) else {
            return;
        };
        let schema = &table.table_schema;
        for index in &table.indexes {
            let held = |key: &[u8]| !index.filling || self.holds(key);
            let delta = entry_ops(table_id, schema, index, old, new, held, &mut batch.ops);
            batch.count_entries(table_id, index.index_id, delta);
        }
        for index in &table.vectors {
            let held = |key: &[u8]| !index.filling || self.holds(key);
            let delta =
                vector_entries::entry_ops(table_id, schema, index, old, new, held, &mut batch.ops);
            batch.count_entries(table_id, index.index_id, delta);
        }
    }

    /// Whether the items keyspace has `key` (an engine that cannot say is taken to have
    /// it: the write then fails or counts as an ACTIVE index's does).
    fn holds(&self, key: &[u8]) -> bool {
        self.stored_value(key).map_or(true, |v| v.is_some())
    }

    /// Entries of one index partition whose index sort key is in `range`, in index order
    /// (or reverse), after `exclusive_start` (a LastEvaluatedKey: index and table keys).
    // The arguments of `Storage::query` plus what locates an index's entries.
    #[allow(clippy::too_many_arguments)]
    pub fn index_query<'a>(
        &'a self,
        table_id: u64,
        table_schema: &KeySchema,
        index: &IndexLayout,
        hash: &AttributeValue,
        range: &SortRange,
        forward: bool,
        exclusive_start: Option<&Item>,
    ) -> Result<ItemIter<'a>, StorageError> {
        let partition = keys::partition_prefix(table_id, index.index_id, hash);
        let mut lower = Bound::Included(partition.clone());
        let mut upper = keys::prefix_upper(&partition);
        lower = keys::tighter_lower(lower, index_sort_bound(&partition, &range.lower, true));
        upper = keys::tighter_upper(upper, index_sort_bound(&partition, &range.upper, false));
        if let Some(prefix) = &range.prefix {
            lower = keys::tighter_lower(
                lower,
                index_sort_bound(&partition, &Bound::Included(prefix.clone()), true),
            );
            if let Some(next) = keys::begins_with_successor(prefix) {
                upper = keys::tighter_upper(
                    upper,
                    index_sort_bound(&partition, &Bound::Excluded(next), false),
                );
            }
        }
        if let Some(start) = exclusive_start {
            if let Some(start_key) = entry_key(table_id, table_schema, index, start) {
                if forward {
                    lower = keys::tighter_lower(lower, Bound::Excluded(start_key));
                } else {
                    upper = keys::tighter_upper(upper, Bound::Excluded(start_key));
                }
            }
        }
        let whole = range.is_all() && exclusive_start.is_none();
        self.partition_items(&partition, whole, lower, upper, forward)
    }

    /// Entries of one index in scan order (index partition hash, then key), optionally one
    /// parallel-scan segment of the index hash space, after `exclusive_start`.
    pub fn index_scan<'a>(
        &'a self,
        table_id: u64,
        table_schema: &KeySchema,
        index: &IndexLayout,
        segment: Option<(u32, u32)>,
        exclusive_start: Option<&Item>,
    ) -> Result<ItemIter<'a>, StorageError> {
        let prefix = keys::table_prefix(table_id, index.index_id);
        let Some((mut lower, upper)) = keys::scan_bounds(&prefix, segment) else {
            return Ok(Box::new(std::iter::empty()));
        };
        if let Some(start) = exclusive_start {
            if let Some(start_key) = entry_key(table_id, table_schema, index, start) {
                lower = keys::tighter_lower(lower, Bound::Excluded(start_key));
            }
        }
        self.range_items(lower, upper, true)
    }

    /// The table items that `entries` of LSI `index` stand for (a read of ALL_ATTRIBUTES,
    /// or of or filtering on attributes the index does not store). An item deleted since
    /// the entries were read is skipped, and so is one whose index key changed since: it
    /// no longer stands where its entry did (a key condition on the index may not hold for
    /// it, and a later entry may stand for it again).
    pub fn items_of_entries<'a>(
        &'a self,
        table: &'a TableLayout,
        index: &'a IndexLayout,
        entries: ItemIter<'a>,
    ) -> ItemIter<'a> {
        Box::new(entries.filter_map(move |entry| {
            let entry = match entry.and_then(|e| e.decode()) {
                Ok(e) => e,
                Err(e) => return Some(Err(e)),
            };
            let key = table.schema.key_of_stored(&entry)?;
            let stored = match self.get_stored(table, &key) {
                Ok(stored) => stored?,
                Err(e) => return Some(Err(e)),
            };
            match stored.decode() {
                Ok(item) if same_index_key(&index.schema, &entry, &item) => Some(Ok(stored)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        }))
    }

    /// Fills index `index_id` of a table from the table's items (for a GSI or a vector
    /// index added by UpdateTable). Each step locks a chunk of item keys, re-reads the
    /// items under the locks and writes their entries in one batch; writes racing with the
    /// backfill already maintain the index (it was published first), so an entry is never
    /// stale. Returns the number of entries written. Stops early (Ok) if the index is no
    /// longer published.
    pub async fn backfill_index(&self, table_id: u64, index_id: u16) -> Result<u64, StorageError> {
        let prefix = keys::table_prefix(table_id, keys::TABLE_INDEX);
        let upper = keys::prefix_upper(&prefix);
        let mut lower = Bound::Included(prefix.to_vec());
        let mut written = 0u64;
        loop {
            let Some(table) = self.indexes.get(table_id) else {
                return Ok(written);
            };
            let secondary = table.indexes.iter().find(|i| i.index_id == index_id);
            let vector = table.vectors.iter().find(|v| v.index_id == index_id);
            if secondary.is_none() && vector.is_none() {
                return Ok(written);
            }
            let chunk = self.item_key_chunk((lower.clone(), upper.clone()), BACKFILL_CHUNK)?;
            let Some(last) = chunk.last() else {
                return Ok(written);
            };
            lower = Bound::Excluded(last.clone());
            let locks = self.locks.lock(&chunk).await;
            let mut batch = Batch::default();
            for key in &chunk {
                let Some(value) = self.stored_value(key)? else {
                    continue;
                };
                let item = decode_value(key, &value)?;
                let schema = &table.table_schema;
                // The item as it is, against what the index holds of it: nothing, or the
                // entry a write since the index was published put there.
                let held = |key: &[u8]| self.holds(key);
                let delta = match (secondary, vector) {
                    // An item whose index key a write would refuse (an empty or oversized
                    // value) stays out of the index, as DynamoDB's backfill leaves it.
                    (Some(index), _)
                        if index.schema.index_key_of_item(&item, &index.name).is_err() =>
                    {
                        EntryDelta::default()
                    }
                    (Some(index), _) => {
                        let it = Some(&item);
                        entry_ops(table_id, schema, index, it, it, held, &mut batch.ops)
                    }
                    (None, Some(index)) => {
                        let it = Some(&item);
                        vector_entries::entry_ops(
                            table_id,
                            schema,
                            index,
                            it,
                            it,
                            held,
                            &mut batch.ops,
                        )
                    }
                    (None, None) => EntryDelta::default(),
                };
                batch.count_entries(table_id, index_id, delta);
            }
            if batch.ops.is_empty() {
                drop(locks);
                continue;
            }
            written += batch.ops.len() as u64;
            self.commit(batch, locks).await?;
            let pause = self.indexes.backfill_pause_ms.load(Ordering::Relaxed);
            if pause > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
        }
    }

    /// Removes every entry of one index (after the index was deleted and unpublished).
    /// Writes no change records.
    pub async fn drop_index_data(&self, table_id: u64, index_id: u16) -> Result<(), StorageError> {
        if index_id == keys::TABLE_INDEX {
            return Ok(());
        }
        self.delete_prefix(&keys::table_prefix(table_id, index_id))
            .await?;
        self.committer.forget_index(table_id, index_id);
        Ok(())
    }

    /// Number of entries and their total size in one index: exact, as the table's stats
    /// are (rebuilt at open, then changed with each commit).
    pub fn index_stats(&self, table_id: u64, index_id: u16) -> TableStats {
        self.committer.stats(table_id, index_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{KeyAttr, Number, ScalarType};

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: i64) -> AttributeValue {
        AttributeValue::N(Number::from_i64(v))
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn table_schema() -> KeySchema {
        KeySchema::new(
            KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            Some(KeyAttr {
                name: "sk".into(),
                ty: ScalarType::S,
            }),
        )
    }

    fn index(projection: Projected) -> IndexLayout {
        IndexLayout {
            index_id: 1,
            name: "i".into(),
            schema: KeySchema::new(
                KeyAttr {
                    name: "g".into(),
                    ty: ScalarType::S,
                },
                Some(KeyAttr {
                    name: "r".into(),
                    ty: ScalarType::N,
                }),
            ),
            projection,
            global: true,
            filling: false,
        }
    }

    #[test]
    fn projections_keep_keys_and_the_include_list() {
        let it = item(&[
            ("pk", s("p")),
            ("sk", s("s")),
            ("g", s("g")),
            ("r", n(1)),
            ("inc", s("i")),
            ("other", s("o")),
        ]);
        let schema = table_schema();
        assert_eq!(index(Projected::All).project(&schema, &it), it);
        let keys = index(Projected::KeysOnly).project(&schema, &it);
        assert_eq!(keys.len(), 4);
        assert!(!keys.contains_key("inc"));
        let inc = index(Projected::Include(vec!["inc".into()])).project(&schema, &it);
        assert_eq!(inc.len(), 5);
        assert!(inc.contains_key("inc") && !inc.contains_key("other"));
        // An entry's size, measured without building it, is the projected item's.
        for projection in [
            Projected::All,
            Projected::KeysOnly,
            Projected::Include(vec!["inc".into()]),
        ] {
            let index = index(projection);
            let built = shared::model::size::item_size(&index.project(&schema, &it));
            assert_eq!(index.entry_size(&schema, &it), built);
        }
    }

    #[test]
    fn projected_names_are_the_keys_and_the_include_list() {
        let schema = table_schema();
        let keys = index(Projected::KeysOnly);
        assert!(["pk", "sk", "g", "r"]
            .iter()
            .all(|n| keys.projects(&schema, n)));
        assert!(!keys.projects(&schema, "inc"));
        let inc = index(Projected::Include(vec!["inc".into()]));
        assert!(inc.projects(&schema, "inc") && inc.projects(&schema, "pk"));
        assert!(!inc.projects(&schema, "other"));
        assert!(index(Projected::All).projects(&schema, "other"));
    }

    #[test]
    fn sparse_items_have_no_entry_and_entries_sort_by_index_key_first() {
        let schema = table_schema();
        let idx = index(Projected::All);
        assert!(entry_key(1, &schema, &idx, &item(&[("pk", s("p")), ("sk", s("s"))])).is_none());
        // A mistyped index key is "absent" here (writes reject it before storage).
        assert!(entry_key(
            1,
            &schema,
            &idx,
            &item(&[("pk", s("p")), ("sk", s("s")), ("g", s("g")), ("r", s("x"))])
        )
        .is_none());
        let a = entry_key(
            1,
            &schema,
            &idx,
            &item(&[("pk", s("z")), ("sk", s("z")), ("g", s("g")), ("r", n(1))]),
        );
        let b = entry_key(
            1,
            &schema,
            &idx,
            &item(&[("pk", s("a")), ("sk", s("a")), ("g", s("g")), ("r", n(2))]),
        );
        let c = entry_key(
            1,
            &schema,
            &idx,
            &item(&[("pk", s("b")), ("sk", s("a")), ("g", s("g")), ("r", n(2))]),
        );
        assert!(a.is_some() && a < b && b < c);
    }

    #[test]
    fn entry_ops_move_update_and_drop_entries() {
        let schema = table_schema();
        let idx = index(Projected::KeysOnly);
        let base = [("pk", s("p")), ("sk", s("s"))];
        let with = |extra: &[(&str, AttributeValue)]| {
            let mut it = item(&base);
            it.extend(item(extra));
            it
        };
        let count = |old: Option<&Item>, new: Option<&Item>| {
            let mut ops = Vec::new();
            entry_ops(1, &schema, &idx, old, new, |_| true, &mut ops);
            let puts = ops.iter().filter(|o| matches!(o, Op::Put { .. })).count();
            (ops.len() - puts, puts)
        };
        let in1 = with(&[("g", s("a")), ("r", n(1))]);
        let in1_other = with(&[("g", s("a")), ("r", n(1)), ("x", s("not projected"))]);
        let in2 = with(&[("g", s("b")), ("r", n(1))]);
        let out = with(&[("g", s("a"))]);
        assert_eq!(count(None, Some(&in1)), (0, 1));
        assert_eq!(count(Some(&in1), Some(&in1_other)), (0, 0));
        assert_eq!(count(Some(&in1), Some(&in2)), (1, 1));
        assert_eq!(count(Some(&in1), Some(&out)), (1, 0));
        assert_eq!(count(Some(&in1), None), (1, 0));
        assert_eq!(count(Some(&out), None), (0, 0));
    }

    /// Table 7, keyed by [`table_schema`].
    fn table_7() -> TableLayout {
        TableLayout {
            table_id: 7,
            name: "t".into(),
            schema: table_schema(),
        }
    }

    fn open(dir: &std::path::Path) -> Arc<Storage> {
        let options = super::super::StorageOptions::for_tests();
        match Storage::open(dir, options) {
            Ok(storage) => storage,
            Err(e) => panic!("open: {e}"),
        }
    }

    async fn put(storage: &Storage, table: &super::super::TableLayout, it: Item) {
        let Some(key) = table.schema.key_of_stored(&it) else {
            panic!("no key in {it:?}")
        };
        let outcome = storage
            .write(&[(table, key)], super::super::Cause::User, |_| {
                Ok::<_, ()>((vec![super::super::Mutation::Put(it)], ()))
            })
            .await;
        assert!(matches!(outcome, Ok(Ok(()))), "put failed: {outcome:?}");
    }

    fn collect(iter: Result<ItemIter<'_>, StorageError>) -> Vec<String> {
        let Ok(iter) = iter else {
            panic!("read failed")
        };
        iter.map(|r| {
            match r
                .and_then(|s| s.decode())
                .ok()
                .and_then(|it| it.get("sk").cloned())
            {
                Some(AttributeValue::S(v)) => v,
                other => panic!("entry without sk: {other:?}"),
            }
        })
        .collect()
    }

    /// An LSI read that fetches the table's items takes only items still where their
    /// entries stood: one moved in the index since its entry was read, or deleted, is not
    /// there.
    #[tokio::test]
    async fn entries_fetched_from_the_table_skip_items_moved_or_gone_since() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path());
        let table = table_7();
        let lsi = IndexLayout {
            schema: KeySchema {
                hash: table.schema.hash.clone(),
                ..index(Projected::KeysOnly).schema
            },
            global: false,
            ..index(Projected::KeysOnly)
        };
        storage.set_indexes(7, &table.schema, vec![lsi.clone()], Vec::new());
        let row = |sk: &str, r: i64| item(&[("pk", s("p")), ("sk", s(sk)), ("r", n(r))]);
        for (sk, r) in [("moved", 1), ("kept", 2), ("gone", 3)] {
            put(&storage, &table, row(sk, r)).await;
        }
        let read = storage.index_query(
            7,
            &table.schema,
            &lsi,
            &s("p"),
            &SortRange::all(),
            true,
            None,
        );
        let entries = read.unwrap_or_else(|e| panic!("{e}"));
        put(&storage, &table, row("moved", 9)).await;
        let gone = table.schema.key_of_stored(&row("gone", 3)).unwrap();
        let deleted = storage
            .write(&[(&table, gone)], super::super::Cause::User, |_| {
                Ok::<_, ()>((vec![super::super::Mutation::Delete], ()))
            })
            .await;
        assert!(matches!(deleted, Ok(Ok(()))));
        assert_eq!(
            collect(Ok(storage.items_of_entries(&table, &lsi, entries))),
            ["kept"]
        );
    }

    #[tokio::test]
    async fn maintained_in_the_batch_read_by_range_backfilled_and_dropped() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path());
        let table = table_7();
        storage.set_indexes(7, &table.schema, vec![index(Projected::All)], Vec::new());
        for (sk, r) in [("a", 3), ("b", 1), ("c", 2), ("d", 2)] {
            put(
                &storage,
                &table,
                item(&[("pk", s("p")), ("sk", s(sk)), ("g", s("G")), ("r", n(r))]),
            )
            .await;
        }
        put(
            &storage,
            &table,
            item(&[("pk", s("p")), ("sk", s("sparse"))]),
        )
        .await;
        let idx = index(Projected::All);
        let query = |range: SortRange, forward: bool, start: Option<&Item>| {
            collect(storage.index_query(7, &table.schema, &idx, &s("G"), &range, forward, start))
        };
        assert_eq!(query(SortRange::all(), true, None), ["b", "c", "d", "a"]);
        assert_eq!(query(SortRange::all(), false, None), ["a", "d", "c", "b"]);
        // r > 1 and r <= 2: both entries with r = 2, whatever their table keys.
        let mut range = SortRange::all();
        range.lower = Bound::Excluded(n(1));
        range.upper = Bound::Included(n(2));
        assert_eq!(query(range, true, None), ["c", "d"]);
        // A start key (index key + table key) resumes after that entry.
        let start = item(&[("pk", s("p")), ("sk", s("c")), ("g", s("G")), ("r", n(2))]);
        assert_eq!(query(SortRange::all(), true, Some(&start)), ["d", "a"]);
        assert_eq!(
            collect(storage.index_scan(7, &table.schema, &idx, None, None)).len(),
            4
        );
        assert_eq!(storage.index_stats(7, 1).item_count, 4);

        // An index published later starts empty and is filled by the backfill; a write
        // meanwhile puts its item's entry first (and counts it: the index did not hold it),
        // and the backfill then leaves it be.
        let mut late = index(Projected::KeysOnly);
        late.index_id = 2;
        late.filling = true;
        storage.set_indexes(
            7,
            &table.schema,
            vec![index(Projected::All), late.clone()],
            Vec::new(),
        );
        assert_eq!(storage.index_stats(7, 2).item_count, 0);
        let moved = item(&[("pk", s("p")), ("sk", s("a")), ("g", s("G")), ("r", n(7))]);
        put(&storage, &table, moved).await;
        assert_eq!(storage.index_stats(7, 2).item_count, 1);
        assert_eq!(storage.backfill_index(7, 2).await.ok(), Some(3));
        let filled = storage.index_stats(7, 2);
        assert_eq!(filled.item_count, 4);
        // The sizes are the entries' own, as a count from scratch finds them.
        let from_entries: u64 = storage
            .items_under(&keys::table_prefix(7, 2))
            .map(|e| stored_size(&e.unwrap().1))
            .sum();
        assert_eq!(filled.size_bytes, from_entries);
        assert_eq!(
            collect(storage.index_query(
                7,
                &table.schema,
                &late,
                &s("G"),
                &SortRange::all(),
                true,
                None
            )),
            ["b", "c", "d", "a"]
        );
        assert!(storage.drop_index_data(7, 2).await.is_ok());
        assert_eq!(storage.index_stats(7, 2), TableStats::default());
        assert_eq!(storage.index_stats(7, 1).item_count, 4);
        // Table stats count table items only.
        assert_eq!(storage.table_stats(7).item_count, 5);

        // Reopened, every count is rebuilt from what is on disk, to the same figures.
        let (items, entries) = (storage.table_stats(7), storage.index_stats(7, 1));
        drop(storage);
        let storage = open(dir.path());
        assert_eq!(storage.table_stats(7), items);
        assert_eq!(storage.index_stats(7, 1), entries);
    }

    #[test]
    fn sort_bounds_cover_every_table_key_of_a_boundary_value() {
        let partition = vec![1u8, 2];
        let mut entry = partition.clone();
        encode_scalar(&n(5), &mut entry);
        encode_scalar(&s("table key"), &mut entry);
        let contains = |lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>| {
            use std::ops::RangeBounds;
            (lower, upper).contains(&entry)
        };
        let v = n(5);
        // >= 5 and <= 5 include the entry; > 5 and < 5 exclude it.
        assert!(contains(
            index_sort_bound(&partition, &Bound::Included(v.clone()), true),
            Bound::Unbounded
        ));
        assert!(contains(
            Bound::Unbounded,
            index_sort_bound(&partition, &Bound::Included(v.clone()), false)
        ));
        assert!(!contains(
            index_sort_bound(&partition, &Bound::Excluded(v.clone()), true),
            Bound::Unbounded
        ));
        assert!(!contains(
            Bound::Unbounded,
            index_sort_bound(&partition, &Bound::Excluded(v), false)
        ));
    }
}
