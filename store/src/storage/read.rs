//! Reads: point reads of items, Query and Scan ranges (snapshots taken when called), the
//! keys of a table's items or versions, and the change log as followers read it.

use std::ops::Bound;
use std::sync::Arc;

use shared::model::{AttributeValue, Item, PrimaryKey};

use super::engine::{Bytes, Entries, Entry, KeyRange, Space};
use super::partition_cache::{Partition, MAX_PARTITION_BYTES};
use super::stored::decode_value;
use super::versions::{self, Version};
use super::{
    changelog, keys, ChangeRecord, ItemIter, SortRange, Storage, StorageError, StoredItem,
    TableLayout,
};

impl Storage {
    /// Point read of one item.
    pub fn get(&self, table: &TableLayout, key: &PrimaryKey) -> Result<Option<Item>, StorageError> {
        self.get_stored(table, key)?
            .map(|stored| stored.decode())
            .transpose()
    }

    /// Point read of one item, as stored.
    pub fn get_stored(
        &self,
        table: &TableLayout,
        key: &PrimaryKey,
    ) -> Result<Option<StoredItem>, StorageError> {
        let engine_key = keys::item_key(table.table_id, key);
        keys::check_engine_key(&engine_key)?;
        let value = self.stored_value(&engine_key)?;
        Ok(value.map(|value| StoredItem::new(engine_key.into(), value)))
    }

    /// The value under an items-keyspace key: an item, an index entry or a version.
    pub(super) fn stored_value(&self, key: &[u8]) -> Result<Option<Bytes>, StorageError> {
        self.committer.engine.get(Space::Items, key)
    }

    /// Items-keyspace entries whose keys start with `prefix`, in key order.
    pub(super) fn items_under(&self, prefix: &[u8]) -> Entries<'_> {
        let range = (Bound::Included(prefix.to_vec()), keys::prefix_upper(prefix));
        self.committer.engine.range(Space::Items, range)
    }

    /// The first `limit` items-keyspace keys in `range`: one chunk of a pass that writes
    /// between chunks (and so must not hold a snapshot across them).
    pub(super) fn item_key_chunk(
        &self,
        range: KeyRange,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let entries = self.committer.engine.range(Space::Items, range);
        entries
            .take(limit)
            .map(|entry| Ok(entry?.0.to_vec()))
            .collect()
    }

    /// An item of a global table and its version, read together under the item's lock so
    /// the two belong to the same write. `None` for a version: written before the table
    /// had replicas.
    pub async fn versioned_item(
        &self,
        table: &TableLayout,
        key: &PrimaryKey,
    ) -> Result<(Option<Item>, Option<Version>), StorageError> {
        let engine_key = keys::item_key(table.table_id, key);
        keys::check_engine_key(&engine_key)?;
        let _locks = self.locks.lock(std::slice::from_ref(&engine_key)).await;
        let item = self
            .stored_value(&engine_key)?
            .map(|value| decode_value(&engine_key, &value))
            .transpose()?;
        Ok((
            item,
            self.stored_version(&versions::version_key(&engine_key))?,
        ))
    }

    /// The keys of up to `limit` items of table `table`, in key order after `after`: what
    /// a Scan would return, without reading the items.
    pub fn item_keys(
        &self,
        table: &TableLayout,
        after: Option<&PrimaryKey>,
        limit: usize,
    ) -> Result<Vec<PrimaryKey>, StorageError> {
        self.keys_under(table, keys::TABLE_INDEX, after, limit)
    }

    /// The keys of up to `limit` items of table `table` that have a version (see
    /// `versions`), in key order after `after`: every item written since the table had
    /// replicas, deleted ones included.
    pub fn versioned_keys(
        &self,
        table: &TableLayout,
        after: Option<&PrimaryKey>,
        limit: usize,
    ) -> Result<Vec<PrimaryKey>, StorageError> {
        self.keys_under(table, versions::VERSIONS_INDEX, after, limit)
    }

    /// The primary keys read back from the keys under index id `index_id` of table
    /// `table` (its items, or their versions), up to `limit`, after `after`.
    fn keys_under(
        &self,
        table: &TableLayout,
        index_id: u16,
        after: Option<&PrimaryKey>,
        limit: usize,
    ) -> Result<Vec<PrimaryKey>, StorageError> {
        let prefix = keys::table_prefix(table.table_id, index_id);
        let lower = match after {
            Some(key) => Bound::Excluded(keys::in_index(
                &keys::item_key(table.table_id, key),
                index_id,
            )),
            None => Bound::Included(prefix.to_vec()),
        };
        let range = (lower, keys::prefix_upper(&prefix));
        let mut out = Vec::new();
        for entry in self.committer.engine.range(Space::Items, range).take(limit) {
            let (key, _) = entry?;
            let primary = keys::primary_key_of(&key, &table.schema)
                .ok_or_else(|| StorageError::Corrupt(key.to_vec()))?;
            out.push(primary);
        }
        Ok(out)
    }

    pub(super) fn stored_version(
        &self,
        version_key: &[u8],
    ) -> Result<Option<Version>, StorageError> {
        match self.stored_value(version_key)? {
            None => Ok(None),
            Some(bytes) => Version::decode(&bytes)
                .map(Some)
                .ok_or_else(|| StorageError::Corrupt(version_key.to_vec())),
        }
    }

    /// Items of one partition whose sort key is in `range`, ascending or descending,
    /// starting after `exclusive_start` if given.
    pub fn query<'a>(
        &'a self,
        table: &TableLayout,
        hash: &AttributeValue,
        range: &SortRange,
        forward: bool,
        exclusive_start: Option<&PrimaryKey>,
    ) -> Result<ItemIter<'a>, StorageError> {
        let partition = keys::partition_prefix(table.table_id, keys::TABLE_INDEX, hash);
        let mut lower = Bound::Included(partition.clone());
        let mut upper = keys::prefix_upper(&partition);
        lower = keys::tighter_lower(lower, keys::sort_bound(&partition, &range.lower));
        upper = keys::tighter_upper(upper, keys::sort_bound(&partition, &range.upper));
        if let Some(prefix) = &range.prefix {
            // Values starting with `prefix` are exactly [prefix, successor(prefix)).
            lower = keys::tighter_lower(
                lower,
                keys::sort_bound(&partition, &Bound::Included(prefix.clone())),
            );
            if let Some(next) = keys::begins_with_successor(prefix) {
                upper = keys::tighter_upper(
                    upper,
                    keys::sort_bound(&partition, &Bound::Excluded(next)),
                );
            }
        }
        if let Some(start) = exclusive_start {
            let start_key = keys::item_key(table.table_id, start);
            if forward {
                lower = keys::tighter_lower(lower, Bound::Excluded(start_key));
            } else {
                upper = keys::tighter_upper(upper, Bound::Excluded(start_key));
            }
        }
        let whole = range.is_all() && exclusive_start.is_none();
        self.partition_items(&partition, whole, lower, upper, forward)
    }

    /// Items of one partition (of a table or an index) within `lower..upper`: from the
    /// partition cache when it holds the partition, else from the engine. A read of the
    /// `whole` partition fills the cache on the way (see `partition_cache`).
    pub(super) fn partition_items<'a>(
        &'a self,
        partition: &[u8],
        whole: bool,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        forward: bool,
    ) -> Result<ItemIter<'a>, StorageError> {
        let cache = &self.committer.partitions;
        if let Some(cached) = cache.get(partition) {
            return Ok(cached.range(&lower, &upper, forward));
        }
        if let Some(ticket) = whole.then(|| cache.ticket(partition)).flatten() {
            keys::check_engine_key(partition)?;
            match Partition::collect(partition, self.items_under(partition), MAX_PARTITION_BYTES)? {
                Some(read) => {
                    let read = Arc::new(read);
                    cache.fill(ticket, Arc::clone(&read));
                    return Ok(read.range(&lower, &upper, forward));
                }
                None => cache.too_large(ticket),
            }
        }
        self.range_items(lower, upper, forward)
    }

    /// Items of the table in scan order (partition hash, then key). With
    /// `segment = Some((s, total))` only the s-th of `total` equal hash ranges; an invalid
    /// segment (`total == 0` or `s >= total`) yields nothing.
    pub fn scan<'a>(
        &'a self,
        table: &TableLayout,
        segment: Option<(u32, u32)>,
        exclusive_start: Option<&PrimaryKey>,
    ) -> Result<ItemIter<'a>, StorageError> {
        let prefix = keys::table_prefix(table.table_id, keys::TABLE_INDEX);
        let Some((mut lower, upper)) = keys::scan_bounds(&prefix, segment) else {
            return Ok(Box::new(std::iter::empty()));
        };
        if let Some(start) = exclusive_start {
            lower = keys::tighter_lower(
                lower,
                Bound::Excluded(keys::item_key(table.table_id, start)),
            );
        }
        self.range_items(lower, upper, true)
    }

    /// Stored items of an engine key range (a snapshot taken now).
    pub(super) fn range_items<'a>(
        &'a self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        forward: bool,
    ) -> Result<ItemIter<'a>, StorageError> {
        keys::check_engine_bound(&lower)?;
        keys::check_engine_bound(&upper)?;
        if keys::is_empty_range(&lower, &upper) {
            return Ok(Box::new(std::iter::empty()));
        }
        let entries = self.committer.engine.range(Space::Items, (lower, upper));
        Ok(if forward {
            Box::new(entries.map(stored_entry))
        } else {
            Box::new(entries.rev().map(stored_entry))
        })
    }

    /// Change records with `seq > after`, at most `limit`, in order. Only durable records
    /// are returned (see `group_commit`), so a follower never sees a change that a crash
    /// could take back.
    pub fn changes_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        let published = self.committer.seq();
        if after >= published || limit == 0 {
            return Ok(Vec::new());
        }
        // Nothing below the floor is retained: a follower asking from further back (cut
        // off past the retention) gets the same records without a walk over what trimming
        // deleted, and sees the gap in their numbers.
        let floor = self.log_floor.load(std::sync::atomic::Ordering::Acquire);
        let range = (
            Bound::Excluded(changelog::seq_key(after.max(floor.saturating_sub(1))).to_vec()),
            Bound::Included(changelog::seq_key(published).to_vec()),
        );
        let mut records = Vec::new();
        for entry in self
            .committer
            .engine
            .range(Space::Changes, range)
            .take(limit)
        {
            let (key, value) = entry?;
            records.push(changelog::decode(&key, &value)?);
        }
        Ok(records)
    }
}

fn stored_entry(entry: Result<Entry, StorageError>) -> Result<StoredItem, StorageError> {
    let (key, value) = entry?;
    Ok(StoredItem::new(key, value))
}
