//! Collecting item versions (`versions`): the tombstones deleted items of global tables
//! leave behind, and every version of a table that is no longer global. A tombstone keeps
//! a write older than the delete, still on its way from another region, from bringing the
//! item back; once it is older than any such write can be, it only takes space, as do
//! the versions of a table without replicas. `replication::tombstones` has them removed
//! here.

use std::ops::Bound;

use super::engine::{Op, Space};
use super::group_commit::Batch;
use super::versions::{Version, VERSIONS_INDEX};
use super::{keys, Storage, StorageError, TableLayout};

/// Which versions [`Storage::collect_versions`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collect {
    /// Versions of items that no longer exist (a global table's tombstones).
    Tombstones,
    /// Every version, of live items too (a table that is no longer global).
    Every,
}

/// What one call of [`Storage::collect_versions`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct Collected {
    /// Versions removed.
    pub removed: usize,
    /// Where the next page of the table's versions starts (the last version key seen);
    /// `None` when there are no more.
    pub next: Option<Vec<u8>>,
}

impl Storage {
    /// Removes `which` versions among the next `limit` of table `table` (in key order,
    /// after version key `after`) whose writes were made before `before_ms`. Each is
    /// checked again under its item's lock: a version an item has been written with since
    /// is kept, and so is a tombstone whose item was written again. The removal writes no
    /// change record: a version is replication's bookkeeping, not the table's data.
    pub async fn collect_versions(
        &self,
        table: &TableLayout,
        which: Collect,
        after: Option<&[u8]>,
        before_ms: u64,
        limit: usize,
    ) -> Result<Collected, StorageError> {
        let prefix = keys::table_prefix(table.table_id, VERSIONS_INDEX);
        let lower = match after {
            Some(key) => Bound::Excluded(key.to_vec()),
            None => Bound::Included(prefix.to_vec()),
        };
        let engine = &self.committer.engine;
        let mut seen = 0;
        let mut last = None;
        // (item key, version key, version) of the old versions to remove.
        let mut candidates = Vec::new();
        let wanted = |item_key: &[u8]| -> Result<bool, StorageError> {
            Ok(which == Collect::Every || !engine.contains(Space::Items, item_key)?)
        };
        for entry in engine
            .range(Space::Items, (lower, keys::prefix_upper(&prefix)))
            .take(limit)
        {
            let (key, value) = entry?;
            seen += 1;
            let version =
                Version::decode(&value).ok_or_else(|| StorageError::Corrupt(key.to_vec()))?;
            let item_key = keys::in_index(&key, keys::TABLE_INDEX);
            // Most old tombstone candidates belong to items that live on: looked at
            // without a lock, and only the others locked below.
            if version.time_ms < before_ms && wanted(&item_key)? {
                candidates.push((item_key, key.to_vec(), version));
            }
            last = Some(key.to_vec());
        }
        let next = if seen < limit { None } else { last };
        if candidates.is_empty() {
            return Ok(Collected { removed: 0, next });
        }
        let item_keys: Vec<&[u8]> = candidates.iter().map(|(k, _, _)| k.as_slice()).collect();
        let locks = self.locks.lock(&item_keys).await;
        let mut batch = Batch::default();
        for (item_key, version_key, version) in candidates {
            if wanted(&item_key)? && self.stored_version(&version_key)?.as_ref() == Some(&version) {
                batch.ops.push(Op::Delete {
                    space: Space::Items,
                    key: version_key.into(),
                });
            }
        }
        let removed = batch.ops.len();
        if removed > 0 {
            self.commit(batch, locks).await?;
        }
        Ok(Collected { removed, next })
    }
}
