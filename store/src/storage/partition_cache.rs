//! Small partitions held in memory, so that a Query of a hot partition is a hash lookup and
//! a binary search instead of an LSM range read (a merge over the memtables and every
//! table the range overlaps, block-cache lookups, data-block parsing: a fifth of a 10-item
//! Query's CPU, BENCHMARKS.md). What the engine's block cache is to blocks, this is to
//! partitions: the same bytes, already cut into items.
//!
//! # What is cached
//! The entries of one partition of a table or of a secondary index (every key under its
//! `keys::partition_prefix`), when they add up to at most [`MAX_PARTITION_BYTES`], copied
//! into one buffer of their own (never pinning the engine's blocks). A Query that reads a
//! whole partition fills it; any Query of a cached partition, whatever its sort-key
//! condition, start key or direction, is answered from it. Partitions found too large are
//! remembered apart, so that reading them does not keep trying.
//!
//! # Slots
//! Entries are found by the first [`SLOT_LEN`] bytes of the partition's keys,
//! `table id | index id | partition hash`, which every key of the partition starts with: a
//! write names the slot of each key it touches without parsing it. Two partitions whose
//! 64-bit hashes collide share a slot; an entry keeps its whole prefix, and a lookup of the
//! other partition is a miss.
//!
//! # Coherence
//! The committer invalidates the slot of every items-keyspace key of a write once the
//! engine has made the write visible and before anyone is told it committed
//! ([`PartitionCache::invalidate`]). A fill must not put back what such a write replaced:
//! the filler takes a [`Ticket`] (its slot's fence generation) *before* its snapshot, and
//! its insert is refused if the fence moved since. Invalidation bumps the fence and removes
//! the entry under the fence's lock, and the insert checks it under the same lock, so
//! either the insert comes first and the invalidation removes it, or the insert sees the
//! bump. A write that was visible before the snapshot is in what was read.

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use moka::sync::Cache;
use parking_lot::Mutex;

use super::engine::{Bytes, Entries, Entry};
use super::{keys, ItemIter, StorageError, StoredItem};

/// The most a partition's keys and values may add up to and be cached: ten times a
/// typical 10-item Query page of 1 KB items, a small share of a 1 MB page.
pub const MAX_PARTITION_BYTES: usize = 64 << 10;

/// Bytes of a key that name its slot: `table id | index id | partition hash`.
pub const SLOT_LEN: usize = keys::TABLE_PREFIX_LEN + 8;

/// `table id | index id | partition hash`: where a partition is found.
pub type Slot = [u8; SLOT_LEN];

/// Fence stripes: invalidations of different slots rarely share a lock.
const FENCES: usize = 256;

/// How many partitions too large to cache are remembered.
const LARGE_REMEMBERED: u64 = 64 << 10;

/// What one partition adds to the cache's size besides its bytes.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>();

pub struct PartitionCache {
    /// `None` when caching is off (a capacity of 0).
    partitions: Option<Cache<Slot, Arc<Partition>>>,
    /// Slots of partitions found larger than [`MAX_PARTITION_BYTES`]: a hint only, so
    /// writes leave it alone.
    large: Cache<Slot, ()>,
    fences: Box<[Mutex<u64>]>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A filler's claim on its slot, taken before it reads (see the module docs).
pub struct Ticket {
    slot: Slot,
    generation: u64,
}

/// The cache's counters, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub partitions: u64,
    pub bytes: u64,
}

impl PartitionCache {
    /// A cache of at most `capacity` bytes; 0 turns caching off.
    pub fn new(capacity: u64) -> Self {
        let partitions = (capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .weigher(|_: &Slot, partition: &Arc<Partition>| partition.weight)
                .build()
        });
        PartitionCache {
            partitions,
            large: Cache::new(LARGE_REMEMBERED),
            fences: (0..FENCES).map(|_| Mutex::new(0)).collect(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached partition whose keys start with `prefix` (a `keys::partition_prefix`).
    pub fn get(&self, prefix: &[u8]) -> Option<Arc<Partition>> {
        let partitions = self.partitions.as_ref()?;
        let found = slot_of(prefix)
            .and_then(|slot| partitions.get(&slot))
            .filter(|partition| *partition.prefix == *prefix);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// A claim to fill the partition of `prefix`, or `None` if it is not to be filled:
    /// caching is off, or the partition was found too large.
    pub fn ticket(&self, prefix: &[u8]) -> Option<Ticket> {
        self.partitions.as_ref()?;
        let slot = slot_of(prefix)?;
        if self.large.contains_key(&slot) {
            return None;
        }
        let generation = *self.fence(&slot).lock();
        Some(Ticket { slot, generation })
    }

    /// Caches `partition`, read after `ticket` was taken, unless a write touched its slot
    /// since.
    pub fn fill(&self, ticket: Ticket, partition: Arc<Partition>) {
        let Some(partitions) = &self.partitions else {
            return;
        };
        let fence = self.fence(&ticket.slot).lock();
        if *fence == ticket.generation {
            partitions.insert(ticket.slot, partition);
        }
    }

    /// Remembers that the partition of `ticket` is too large to cache.
    pub fn too_large(&self, ticket: Ticket) {
        self.large.insert(ticket.slot, ());
    }

    /// Drops what is cached in `slots` (those of the keys a write made visible), and
    /// refuses the fills that read before it.
    pub fn invalidate(&self, slots: &[Slot]) {
        let Some(partitions) = &self.partitions else {
            return;
        };
        for slot in slots {
            let mut fence = self.fence(slot).lock();
            *fence += 1;
            partitions.invalidate(slot);
        }
    }

    /// Counters since the start, and the size now (after the cache's pending upkeep, so
    /// that a scrape after a fill or an invalidation sees it).
    pub fn stats(&self) -> CacheStats {
        let (partitions, bytes) = self.partitions.as_ref().map_or((0, 0), |p| {
            p.run_pending_tasks();
            (p.entry_count(), p.weighted_size())
        });
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            partitions,
            bytes,
        }
    }

    fn fence(&self, slot: &Slot) -> &Mutex<u64> {
        // The slot ends in the partition hash: already uniform.
        &self.fences[usize::from(slot[SLOT_LEN - 1]) % FENCES]
    }
}

/// The slot of the partition `key` (an items-keyspace key) is in; `None` for a key too
/// short to be in any partition.
pub fn slot_of(key: &[u8]) -> Option<Slot> {
    key.get(..SLOT_LEN)?.try_into().ok()
}

/// One partition's entries in key order, sharing one buffer.
pub struct Partition {
    prefix: Box<[u8]>,
    entries: Box<[Entry]>,
    weight: u32,
}

impl Partition {
    /// The partition of `prefix` read from `entries` (its whole key range, in order), or
    /// `None` if its keys and values add up to more than `max_bytes`.
    pub fn collect(
        prefix: &[u8],
        entries: Entries<'_>,
        max_bytes: usize,
    ) -> Result<Option<Partition>, StorageError> {
        let mut collected = Vec::new();
        let mut total = 0;
        for entry in entries {
            let (key, value) = entry?;
            total += key.len() + value.len();
            if total > max_bytes {
                return Ok(None);
            }
            collected.push((key, value));
        }
        // One buffer for the partition: the engine's values may be slices of whole data
        // blocks, which the cache would otherwise keep alive.
        let mut shared = Bytes::with_size(total);
        let mut bounds = Vec::with_capacity(collected.len());
        {
            let Some(mut buffer) = shared.get_mut() else {
                return Ok(None);
            };
            let mut at = 0;
            for (key, value) in &collected {
                let (split, end) = (at + key.len(), at + key.len() + value.len());
                buffer[at..split].copy_from_slice(key);
                buffer[split..end].copy_from_slice(value);
                bounds.push((at, split, end));
                at = end;
            }
        }
        let entries: Box<[Entry]> = bounds
            .into_iter()
            .map(|(start, split, end)| (shared.slice(start..split), shared.slice(split..end)))
            .collect();
        let weight = shared.len() + prefix.len() + entries.len() * ENTRY_OVERHEAD;
        Ok(Some(Partition {
            prefix: prefix.into(),
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
            entries,
        }))
    }

    /// The stored items with keys within `lower..upper`, in key order or reverse.
    pub fn range(
        self: Arc<Self>,
        lower: &Bound<Vec<u8>>,
        upper: &Bound<Vec<u8>>,
        forward: bool,
    ) -> ItemIter<'static> {
        let below = |bound: &[u8], inclusive: bool| {
            self.entries.partition_point(|(key, _)| match inclusive {
                true => &key[..] <= bound,
                false => &key[..] < bound,
            })
        };
        let start = match lower {
            Bound::Included(k) => below(k, false),
            Bound::Excluded(k) => below(k, true),
            Bound::Unbounded => 0,
        };
        let end = match upper {
            Bound::Included(k) => below(k, true),
            Bound::Excluded(k) => below(k, false),
            Bound::Unbounded => self.entries.len(),
        };
        let span = start..end.max(start);
        let item = move |i: usize, partition: &Partition| {
            let (key, value) = &partition.entries[i];
            Ok(StoredItem::new(key.clone(), value.clone()))
        };
        if forward {
            Box::new(span.map(move |i| item(i, &self)))
        } else {
            Box::new(span.rev().map(move |i| item(i, &self)))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(partition: u8, sort: u8) -> Vec<u8> {
        let mut key = vec![0; SLOT_LEN];
        key[SLOT_LEN - 1] = partition;
        key.extend_from_slice(&[b'p', partition, sort]);
        key
    }

    fn prefix(partition: u8) -> Vec<u8> {
        key(partition, 0)[..SLOT_LEN + 2].to_vec()
    }

    fn entries(partition: u8, sorts: &[u8]) -> Entries<'static> {
        let owned: Vec<_> = sorts
            .iter()
            .map(|&s| Ok((key(partition, s).into(), vec![s; 100].into())))
            .collect();
        Box::new(owned.into_iter())
    }

    fn partition(p: u8, sorts: &[u8]) -> Arc<Partition> {
        Arc::new(
            Partition::collect(&prefix(p), entries(p, sorts), MAX_PARTITION_BYTES)
                .unwrap()
                .unwrap(),
        )
    }

    fn sorts(items: ItemIter<'_>) -> Vec<u8> {
        items
            .map(|item| *item.unwrap().key().last().unwrap())
            .collect()
    }

    #[test]
    fn ranges_are_cut_by_binary_search_either_way() {
        let p = partition(1, &[1, 3, 5, 7]);
        let all = (Bound::Unbounded, Bound::Unbounded);
        assert_eq!(
            sorts(Arc::clone(&p).range(&all.0, &all.1, true)),
            [1, 3, 5, 7]
        );
        assert_eq!(
            sorts(Arc::clone(&p).range(&all.0, &all.1, false)),
            [7, 5, 3, 1]
        );
        let lower = Bound::Excluded(key(1, 3));
        let upper = Bound::Included(key(1, 7));
        assert_eq!(sorts(Arc::clone(&p).range(&lower, &upper, true)), [5, 7]);
        let lower = Bound::Included(key(1, 3));
        let upper = Bound::Excluded(key(1, 7));
        assert_eq!(sorts(Arc::clone(&p).range(&lower, &upper, false)), [5, 3]);
        // Crossed bounds: nothing.
        let lower = Bound::Included(key(1, 6));
        let upper = Bound::Excluded(key(1, 2));
        assert!(sorts(p.range(&lower, &upper, true)).is_empty());
    }

    #[test]
    fn partitions_over_the_limit_are_not_collected() {
        let many: Vec<u8> = (0..=200).collect();
        let collected = Partition::collect(&prefix(2), entries(2, &many), 10_000).unwrap();
        assert!(collected.is_none());
    }

    #[test]
    fn a_fill_after_an_invalidation_of_its_slot_is_refused() {
        let cache = PartitionCache::new(1 << 20);
        let ticket = cache.ticket(&prefix(1)).unwrap();
        cache.invalidate(&[slot_of(&key(1, 9)).unwrap()]);
        cache.fill(ticket, partition(1, &[1]));
        assert!(cache.get(&prefix(1)).is_none());

        let ticket = cache.ticket(&prefix(1)).unwrap();
        cache.fill(ticket, partition(1, &[1]));
        assert!(cache.get(&prefix(1)).is_some());
        // A write to another slot leaves it; one to its own drops it.
        cache.invalidate(&[slot_of(&key(2, 1)).unwrap()]);
        assert!(cache.get(&prefix(1)).is_some());
        cache.invalidate(&[slot_of(&key(1, 1)).unwrap()]);
        assert!(cache.get(&prefix(1)).is_none());
        assert_eq!(cache.stats().hits, 2);
    }

    #[test]
    fn a_colliding_partition_is_a_miss() {
        let cache = PartitionCache::new(1 << 20);
        let ticket = cache.ticket(&prefix(1)).unwrap();
        cache.fill(ticket, partition(1, &[1]));
        let mut other = prefix(1);
        other[SLOT_LEN] = b'q';
        assert!(cache.get(&other).is_none());
    }

    #[test]
    fn large_partitions_and_a_zero_capacity_take_no_tickets() {
        let cache = PartitionCache::new(1 << 20);
        cache.too_large(cache.ticket(&prefix(3)).unwrap());
        assert!(cache.ticket(&prefix(3)).is_none());
        assert!(cache.ticket(&prefix(4)).is_some());
        let off = PartitionCache::new(0);
        assert!(off.ticket(&prefix(1)).is_none());
        assert!(off.get(&prefix(1)).is_none());
    }
}
