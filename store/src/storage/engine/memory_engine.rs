//! An engine that keeps everything in memory and nothing on disk: `store --in-memory`,
//! what DynamoDB Local's `-inMemory` is, for test suites that want a fresh store per run
//! and no disk writes. Everything is gone when the process ends.
//!
//! Each keyspace is a persistent B+ tree (`imbl::OrdMap`): cloning one is a reference
//! count, and a write copies only the nodes on its path. So a range read is a true
//! snapshot (it clones the tree once and walks its own copy) that never holds a lock while
//! it is consumed, and a batch is atomic by being applied under one short write lock.

use std::ops::Bound;

use imbl::OrdMap;
use parking_lot::RwLock;

use super::{Bytes, Engine, Entries, Entry, Flush, KeyRange, Op, Space, TreeShape};
use crate::storage::StorageError;

type Tree = OrdMap<Bytes, Bytes>;

/// Key bounds borrowed from a [`Snapshot`], as the tree's range takes them.
type Bounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// Four in-memory keyspaces.
#[derive(Default)]
pub struct MemoryEngine {
    spaces: RwLock<[Tree; Space::ALL.len()]>,
}

impl MemoryEngine {
    pub fn new() -> MemoryEngine {
        MemoryEngine::default()
    }
}

/// Where a keyspace's tree sits in `spaces`.
fn slot(space: Space) -> usize {
    space as usize
}

impl Engine for MemoryEngine {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Bytes>, StorageError> {
        Ok(self.spaces.read()[slot(space)].get(key).cloned())
    }

    fn range(&self, space: Space, (lower, upper): KeyRange) -> Entries<'_> {
        let tree = self.spaces.read()[slot(space)].clone();
        Box::new(Snapshot {
            tree,
            lower: lower.map(Bytes::from),
            upper: upper.map(Bytes::from),
        })
    }

    fn write(&self, ops: Vec<Op>, _flush: Flush) -> Result<(), StorageError> {
        let mut spaces = self.spaces.write();
        for op in ops {
            match op {
                Op::Put { space, key, value } => {
                    spaces[slot(space)].insert(key, value);
                }
                Op::Delete { space, key } => {
                    spaces[slot(space)].remove(&key[..]);
                }
            }
        }
        Ok(())
    }

    fn disk_usage(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    fn disk_bytes(&self, _space: Space) -> u64 {
        0
    }

    fn tree_shapes(&self) -> Vec<(&'static str, TreeShape)> {
        Vec::new()
    }

    /// A tree here holds one version per key already: nothing to merge.
    fn compact_items(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// A range read over a keyspace as it was when the read began. Each step seeks from the
/// bound the previous one left (O(log n)), which keeps the iterator free of borrows and
/// so able to own its tree.
struct Snapshot {
    tree: Tree,
    lower: Bound<Bytes>,
    upper: Bound<Bytes>,
}

impl Snapshot {
    /// The bounds as the tree's range takes them, or `None` once they have met (the tree
    /// refuses a range whose start is past its end).
    fn bounds(&self) -> Option<Bounds<'_>> {
        let lower = self.lower.as_ref().map(|key| &key[..]);
        let upper = self.upper.as_ref().map(|key| &key[..]);
        let open = match (lower, upper) {
            (Bound::Included(l), Bound::Included(u)) => l <= u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
                l < u
            }
            _ => true,
        };
        open.then_some((lower, upper))
    }
}

impl Iterator for Snapshot {
    type Item = Result<Entry, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (key, value) = self.tree.range::<_, [u8]>(self.bounds()?).next()?;
        let entry = (key.clone(), value.clone());
        self.lower = Bound::Excluded(key.clone());
        Some(Ok(entry))
    }
}

impl DoubleEndedIterator for Snapshot {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (key, value) = self.tree.range::<_, [u8]>(self.bounds()?).next_back()?;
        let entry = (key.clone(), value.clone());
        self.upper = Bound::Excluded(key.clone());
        Some(Ok(entry))
    }
}
