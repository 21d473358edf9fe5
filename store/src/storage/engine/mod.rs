//! The seam between the storage layer and the ordered key-value engine under it.
//!
//! Everything above this module (items, indexes, the change log, the catalog's records,
//! group commit) is written against [`Engine`]: four ordered keyspaces, point reads, range
//! reads that are snapshots, atomic batches of puts and deletes, and a sync that makes
//! what was applied durable. That is all the store asks of an engine, so another one (a
//! distributed engine for users who outgrow one machine, DESIGN.md) plugs in here. The
//! embedded default is fjall ([`FjallEngine`]); [`MemoryEngine`] keeps everything in
//! memory (`--in-memory`). The tests below hold both to the same contract.
//!
//! Not here: what is written where (`keys`, `changelog`), commit order and durability
//! (`group_commit`).

mod fjall_engine;
mod memory_engine;

use std::ops::Bound;

use super::StorageError;

pub use fjall_engine::FjallEngine;
pub use memory_engine::MemoryEngine;

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

/// How far [`Engine::write`] takes a batch before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Left in the engine's own buffers, where a killed process loses it: only for what
    /// the next open would rebuild anyway.
    Later,
    /// Handed to the OS: a killed process loses none of it, a power loss may.
    ToOs,
    /// On disk (`fdatasync` of the journal, or the engine's equivalent) *before* it
    /// becomes visible, so that no read sees a write a crash could still lose.
    Synced,
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
    /// visible to reads when this returns, and taken as far as `flush` says first. An error
    /// leaves nothing visible (a failed sync may still leave the batch in the journal, for
    /// the next open to find); the storage layer then refuses every later write until a
    /// restart.
    fn write(&self, ops: Vec<Op>, flush: Flush) -> Result<(), StorageError>;

    /// Bytes on disk by part, for operators.
    fn disk_usage(&self) -> Vec<(&'static str, u64)>;

    /// Bytes on disk of one keyspace: cheaper than [`Engine::disk_usage`], which also
    /// measures the journal (fjall takes its journal lock for that, which a sync holds).
    fn disk_bytes(&self, space: Space) -> u64;

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn put(space: Space, key: &str, value: &str) -> Op {
        Op::Put {
            space,
            key: key.into(),
            value: value.into(),
        }
    }

    fn delete(space: Space, key: &str) -> Op {
        Op::Delete {
            space,
            key: key.into(),
        }
    }

    fn keys(entries: impl Iterator<Item = Result<Entry, StorageError>>) -> Vec<String> {
        entries
            .map(|entry| String::from_utf8(entry.unwrap().0.to_vec()).unwrap())
            .collect()
    }

    fn range(lower: Bound<&str>, upper: Bound<&str>) -> KeyRange {
        let owned = |bound: Bound<&str>| bound.map(|key| key.as_bytes().to_vec());
        (owned(lower), owned(upper))
    }

    /// Runs `check` on a fresh engine of each kind.
    fn each_engine(check: impl Fn(&dyn Engine)) {
        let dir = tempfile::tempdir().unwrap();
        check(&FjallEngine::open(dir.path(), 1 << 20).unwrap());
        check(&MemoryEngine::new());
    }

    #[test]
    fn a_batch_applies_in_order_and_keyspaces_are_apart() {
        each_engine(|engine| {
            let batch = vec![
                put(Space::Items, "a", "1"),
                put(Space::Items, "b", "1"),
                put(Space::Items, "a", "2"),
                delete(Space::Items, "b"),
                put(Space::Meta, "a", "meta"),
            ];
            engine.write(batch, Flush::Synced).unwrap();
            assert_eq!(&engine.get(Space::Items, b"a").unwrap().unwrap()[..], b"2");
            assert!(!engine.contains(Space::Items, b"b").unwrap());
            assert_eq!(
                &engine.get(Space::Meta, b"a").unwrap().unwrap()[..],
                b"meta"
            );
            assert!(engine.get(Space::Changes, b"a").unwrap().is_none());
            assert!(engine.first(Space::TableChanges).unwrap().is_none());
        });
    }

    #[test]
    fn ranges_honour_their_bounds_from_either_end() {
        each_engine(|engine| {
            let batch = ["a", "b", "c", "d", "e"]
                .into_iter()
                .map(|key| put(Space::Items, key, "v"))
                .collect();
            engine.write(batch, Flush::Later).unwrap();
            let read = |lower, upper| keys(engine.range(Space::Items, range(lower, upper)));
            let everything = read(Bound::Unbounded, Bound::Unbounded);
            assert_eq!(everything, ["a", "b", "c", "d", "e"]);
            assert_eq!(read(Bound::Excluded("a"), Bound::Included("c")), ["b", "c"]);
            assert_eq!(read(Bound::Included("b"), Bound::Excluded("d")), ["b", "c"]);
            assert!(read(Bound::Excluded("c"), Bound::Excluded("c")).is_empty());
            assert!(read(Bound::Included("d"), Bound::Included("b")).is_empty());
            let backwards =
                engine.range(Space::Items, range(Bound::Unbounded, Bound::Excluded("e")));
            assert_eq!(keys(backwards.rev()), ["d", "c", "b", "a"]);
            // Both ends meet in the middle and never pass each other.
            let mut both = engine.range(Space::Items, range(Bound::Unbounded, Bound::Unbounded));
            let front = both.next().unwrap().unwrap().0;
            let back = both.next_back().unwrap().unwrap().0;
            assert_eq!((&front[..], &back[..]), (&b"a"[..], &b"e"[..]));
            assert_eq!(keys(both), ["b", "c", "d"]);
            let first = engine.first(Space::Items).unwrap().unwrap().0;
            let last = engine.last(Space::Items).unwrap().unwrap().0;
            assert_eq!((&first[..], &last[..]), (&b"a"[..], &b"e"[..]));
        });
    }

    #[test]
    fn a_range_is_a_snapshot_that_does_not_hold_writers_back() {
        each_engine(|engine| {
            let batch = vec![put(Space::Items, "a", "old"), put(Space::Items, "c", "old")];
            engine.write(batch, Flush::ToOs).unwrap();
            let mut snapshot =
                engine.range(Space::Items, range(Bound::Unbounded, Bound::Unbounded));
            let first = snapshot.next().unwrap().unwrap();
            let batch = vec![
                put(Space::Items, "b", "new"),
                put(Space::Items, "c", "new"),
                delete(Space::Items, "a"),
            ];
            engine.write(batch, Flush::ToOs).unwrap();
            let rest: Vec<_> = snapshot.map(Result::unwrap).collect();
            assert_eq!((&first.0[..], &first.1[..]), (&b"a"[..], &b"old"[..]));
            assert_eq!(rest.len(), 1, "the snapshot does not see b");
            assert_eq!((&rest[0].0[..], &rest[0].1[..]), (&b"c"[..], &b"old"[..]));
            let now = engine.range(Space::Items, range(Bound::Unbounded, Bound::Unbounded));
            assert_eq!(keys(now), ["b", "c"]);
        });
    }

    #[test]
    fn a_long_range_sees_no_part_of_a_batch_committed_while_it_is_read() {
        each_engine(|engine| {
            // Far more entries than an iterator reads ahead: a batch lands mid-walk.
            let key = |i: u32| format!("k{i:05}");
            let even = (0..4000)
                .step_by(2)
                .map(|i| put(Space::Items, &key(i), "old"));
            engine.write(even.collect(), Flush::ToOs).unwrap();
            let mut walk = engine.range(Space::Items, range(Bound::Unbounded, Bound::Unbounded));
            let first = walk.next().unwrap().unwrap();
            // Moves every entry one place on, as an index update moves an item's entry.
            let mut moved: Vec<Op> = (0..4000)
                .step_by(2)
                .map(|i| delete(Space::Items, &key(i)))
                .collect();
            moved.extend(
                (1..4000)
                    .step_by(2)
                    .map(|i| put(Space::Items, &key(i), "new")),
            );
            engine.write(moved, Flush::ToOs).unwrap();
            let rest: Vec<_> = walk.map(Result::unwrap).collect();
            assert_eq!(&first.0[..], b"k00000");
            assert_eq!(
                rest.len(),
                1999,
                "the walk sees the entries as they were, once"
            );
            assert!(rest.iter().all(|(_, value)| &value[..] == b"old"));
        });
    }
}
