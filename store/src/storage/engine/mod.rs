//! The seam between the storage layer and the ordered key-value engine under it.
//!
//! Everything above this module (items, indexes, the change log, the catalog's records,
//! group commit) is written against [`Engine`]: four ordered keyspaces, point reads, range
//! reads that are snapshots, atomic batches of puts and deletes, and a sync that makes
//! what was applied durable. That is all the store asks of an engine, so another one (a
//! distributed engine for users who outgrow one machine, DESIGN.md) plugs in here. The
//! embedded default is fjall ([`FjallEngine`]).
//!
//! Not here: what is written where (`keys`, `changelog`), commit order and durability
//! (`group_commit`).

mod fjall_engine;

use std::ops::Bound;

use super::StorageError;

pub use fjall_engine::FjallEngine;

/// Bytes an engine hands out: cheap to clone and to keep (a reference count, or inline when
/// small), so a read can return values shared with the engine's cache instead of copies.
pub type Bytes = byteview::ByteView;

/// One key and its value.
pub type Entry = (Bytes, Bytes);

/// A range read's entries, in key order from the front or the back.
pub type Entries<'a> = Box<dyn DoubleEndedIterator<Item = Result<Entry, StorageError>> + Send + 'a>;

/// Engine key bounds, lower then upper.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The engine's keyspaces: each its own ordered map, all written by one atomic batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// Items of every table and index, under `keys::item_key` keys.
    Items,
    /// Catalog records, under their UTF-8 names.
    Meta,
    /// The change log, under `changelog::seq_key` keys; only retention trimming deletes
    /// from it directly.
    Changes,
    /// Per-table index of the change log: `table_id u64 BE | seq u64 BE` → empty, written
    /// in the same batch as the record it points at (see `stream_log`).
    TableChanges,
}

impl Space {
    /// Every keyspace, in the order operators' views list them.
    pub const ALL: [Space; 4] = [
        Space::Items,
        Space::Changes,
        Space::TableChanges,
        Space::Meta,
    ];

    /// The name metrics give the keyspace.
    pub fn name(self) -> &'static str {
        match self {
            Space::Items => "items",
            Space::Changes => "changes",
            Space::TableChanges => "table_changes",
            Space::Meta => "meta",
        }
    }
}

/// One put or delete in a batch. Keys and values are [`Bytes`] so that short keys (a
/// change record's sequence number) are built inline rather than allocated.
#[derive(Debug)]
pub enum Op {
    Put {
        space: Space,
        key: Bytes,
        value: Bytes,
    },
    Delete {
        space: Space,
        key: Bytes,
    },
}

/// How far [`Engine::write`] takes a batch before it returns; [`Engine::sync`] takes
/// everything the rest of the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Left in the engine's own buffers: the caller syncs soon (the commit thread does,
    /// once per group).
    Later,
    /// Handed to the OS: a killed process loses none of it, a power loss may.
    ToOs,
}

/// The shape of one keyspace's LSM tree: what a range read merges. A range read seeks in
/// the memtables and in every table whose keys overlap its range, and steps over every
/// version of each key it returns; after a burst of overwrites that costs a 10-item Query
/// several times what it costs on a compacted tree (BENCHMARKS.md, session 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeShape {
    /// Tables on disk, all levels.
    pub tables: usize,
    /// Tables in level 0, the flushed memtables not yet compacted: their key ranges
    /// overlap, so a range read seeks in each.
    pub level0_tables: usize,
    /// Memtables sealed and waiting for their flush.
    pub sealed_memtables: usize,
    /// Entries in memtables and tables with every version and deletion marker counted:
    /// above the number of live keys by what flushes and compactions have not dropped yet.
    pub entries: usize,
}

/// An ordered key-value engine, as the storage layer uses it.
pub trait Engine: Send + Sync {
    /// The value under `key` in `space`.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Bytes>, StorageError>;

    /// Whether `space` holds `key`; an engine that can answer without the value does.
    fn contains(&self, space: Space, key: &[u8]) -> Result<bool, StorageError> {
        Ok(self.get(space, key)?.is_some())
    }

    /// The entries of `space` within `range`, in key order either way. A snapshot taken
    /// now: writes applied later are not seen, and the read never blocks writers, however
    /// long it is kept.
    fn range(&self, space: Space, range: KeyRange) -> Entries<'_>;

    /// Applies `ops` atomically, in order (a later op on a key wins): all or none of them,
    /// visible to reads when this returns. An error leaves nothing applied; the storage
    /// layer then refuses every later write until a restart.
    fn write(&self, ops: Vec<Op>, flush: Flush) -> Result<(), StorageError>;

    /// Makes every write applied so far durable (`fdatasync` of a journal, or the
    /// engine's equivalent). An error means some of them may be lost.
    fn sync(&self) -> Result<(), StorageError>;

    /// Bytes on disk by part, for operators.
    fn disk_usage(&self) -> Vec<(&'static str, u64)>;

    /// Each keyspace's tree shape, by the keyspace's name; empty for an engine that is
    /// no LSM tree.
    fn tree_shapes(&self) -> Vec<(&'static str, TreeShape)>;

    /// Merges the items keyspace into one sorted run, dropping every version no open read
    /// needs. Blocks until done (seconds per GiB): call it from a blocking thread.
    fn compact_items(&self) -> Result<(), StorageError>;

    /// The first entry of `space`.
    fn first(&self, space: Space) -> Result<Option<Entry>, StorageError> {
        self.range(space, (Bound::Unbounded, Bound::Unbounded))
            .next()
            .transpose()
    }

    /// The last entry of `space`.
    fn last(&self, space: Space) -> Result<Option<Entry>, StorageError> {
        self.range(space, (Bound::Unbounded, Bound::Unbounded))
            .next_back()
            .transpose()
    }
}
