//! Small partitions held in memory, so that a Query of a hot partition is a hash lookup and
//! a binary search instead of an LSM range read (a merge over the memtables and every
//! table the range overlaps, block-cache lookups, data-block parsing: a fifth of a 10-item
//! Query's CPU, BENCHMARKS.md). What the engine's block cache is to blocks, this is to
//! partitions: the same bytes, already cut into items.
//!
//! # What is cached
//! The entries of one partition of a table or of a secondary index (every key under its
//! `keys::partition_prefix`), when they add up to at most [`MAX_PARTITION_BYTES`], copied
//! into one buffer of their own (never pinning the engine's blocks). A partition is filled
//! by the second Query in a row that reads all of it with no write to it in between: a
//! partition written between every read is never copied for nothing, and a Limit-1 read
//! of the newest item of a busy partition keeps reading one item. Any Query of a cached
//! partition, whatever its sort-key condition, start key or direction, is answered from
//! it. Partitions found too large are remembered, so that reading them does not keep
//! trying. Into a nearly full cache, fills are paid for by hits, so that a cache too
//! small for its workload does not copy a partition in for nearly every Query.
//!
//! # Slots
//! Entries are found by the first [`SLOT_LEN`] bytes of the partition's keys,
//! `table id | index id | partition hash`, which every key of the partition starts with: a
//! write names the slot of each key it touches without parsing it. Two partitions whose
//! 64-bit hashes collide share a slot; an entry keeps its whole prefix, and a lookup of the
//! other partition is a miss.
//!
//! # Coherence
//! Reads of the cache are as fresh as reads of the engine: no read is answered from the
//! cache with less than the engine would show it. The committer brackets every engine write
//! with [`PartitionCache::begin_write`] and [`PartitionCache::end_write`] on the slots of
//! its items-keyspace keys. Each slot's fence (striped) counts the writes under way and a
//! generation. `begin_write`, before the write can be visible, removes the entry and bumps
//! the generation; while a write is under way nothing is inserted nor claimed, so every
//! read of the slot goes to the engine, which shows the write as soon as it is visible. A
//! filler takes a [`Ticket`] (the generation, with no write under way) *before* its
//! snapshot, and inserts under the fence's lock only if the generation is still the
//! ticket's and no write is under way: a fill that might predate a write never lands.

use std::hash::{Hash, Hasher};
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use moka::sync::Cache;
use parking_lot::Mutex;
use rustc_hash::FxHasher;

use super::engine::{Bytes, Entries, Entry};
use super::{keys, ItemIter, StorageError, StoredItem};

/// The most a partition's keys and values may add up to and be cached: ten times a
/// typical 10-item Query page of 1 KB items, a small share of a 1 MB page.
pub const MAX_PARTITION_BYTES: usize = 64 << 10;

/// Bytes of a key that name its slot: `table id | index id | partition hash`.
pub const SLOT_LEN: usize = keys::TABLE_PREFIX_LEN + 8;

/// `table id | index id | partition hash`: where a partition is found.
pub type Slot = [u8; SLOT_LEN];

/// Fence stripes: writes to one slot seldom hold back fills of another, and a partition
/// read twice in a row is seldom taken for written in between by a write elsewhere.
const FENCES: usize = 4096;

/// Words remembering partitions read once, or found too large (see [`Seen`]).
const SEEN_WORDS: usize = 64 << 10;

/// Hits a fill into a nearly full cache costs (see [`PartitionCache::afford_fill`]).
const FILL_PRICE: i64 = 4;

/// The most hits saved up for fills.
const CREDIT_CAP: i64 = 1024;

/// What one partition adds to the cache's size besides its bytes.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>();

pub struct PartitionCache {
    /// `None` when caching is off (a capacity of 0).
    partitions: Option<Cache<Slot, Arc<Partition>>>,
    /// Partitions read whole and not cached (yet): a hint only.
    seen: Seen,
    capacity: u64,
    /// Hits saved up to pay for fills (see [`PartitionCache::afford_fill`]).
    credit: AtomicI64,
    fences: Box<[Mutex<Fence>]>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What is known of partitions the cache does not hold: direct-mapped words, each the
/// fingerprint of a slot and either the fence generation of its last whole read or
/// [`TOO_LARGE`]. Lossy by design (a slot mapped to a taken word evicts it, and a
/// fingerprint match of another slot lets a fill through early): it costs a load and
/// maybe a store on a miss, where a map would cost an insert, which a workload whose
/// partitions seldom repeat would pay on nearly every Query.
struct Seen(Box<[AtomicU64]>);

/// The mark of a partition larger than [`MAX_PARTITION_BYTES`], in place of a generation.
const TOO_LARGE: u64 = u64::MAX;

impl Seen {
    fn new() -> Self {
        Seen((0..SEEN_WORDS).map(|_| AtomicU64::new(0)).collect())
    }

    /// Whether `slot` was read whole before at `generation` (and not found too large
    /// since); if it was not, and is not known to be too large, it is now.
    fn read_again(&self, slot: &Slot, generation: u64) -> bool {
        let (word, hash) = self.word(slot);
        let seen = word.load(Ordering::Relaxed);
        if seen == fingerprint(hash, generation) {
            return true;
        }
        if seen != fingerprint(hash, TOO_LARGE) {
            word.store(fingerprint(hash, generation), Ordering::Relaxed);
        }
        false
    }

    fn too_large(&self, slot: &Slot) {
        let (word, hash) = self.word(slot);
        word.store(fingerprint(hash, TOO_LARGE), Ordering::Relaxed);
    }

    /// The word of `slot`, and the slot's hash.
    fn word(&self, slot: &Slot) -> (&AtomicU64, u64) {
        let mut hasher = FxHasher::default();
        slot.hash(&mut hasher);
        let hash = hasher.finish();
        (
            &self.0[usize::try_from(hash).unwrap_or_default() % SEEN_WORDS],
            hash,
        )
    }
}

/// What a slot of hash `hash` marked `mark` leaves in its word. The multiplier is odd, so
/// distinct marks give one slot distinct fingerprints.
fn fingerprint(hash: u64, mark: u64) -> u64 {
    hash ^ mark.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A slot stripe's writes under way, and how many have begun since the start.
#[derive(Debug, Default)]
struct Fence {
    writes: u32,
    generation: u64,
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
            seen: Seen::new(),
            capacity,
            credit: AtomicI64::new(0),
            fences: (0..FENCES).map(|_| Mutex::default()).collect(),
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
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            if self.credit.load(Ordering::Relaxed) < CREDIT_CAP {
                self.credit.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// A claim to fill the partition of `prefix` (about to be read whole), or `None` if it
    /// is not to be filled now: caching is off, a write to its slot is under way, this is
    /// its first whole read since the last write, it was found too large, or the cache is
    /// nearly full and short of hits to pay for a fill.
    pub fn ticket(&self, prefix: &[u8]) -> Option<Ticket> {
        let partitions = self.partitions.as_ref()?;
        let slot = slot_of(prefix)?;
        let generation = {
            let fence = self.fence(&slot).lock();
            if fence.writes > 0 {
                return None;
            }
            fence.generation
        };
        let claim = self.seen.read_again(&slot, generation) && self.afford_fill(partitions);
        claim.then_some(Ticket { slot, generation })
    }

    /// Whether a fill may go ahead. Into a nearly full cache a fill evicts something, so
    /// it is paid for with hits: each hit earns a credit (up to [`CREDIT_CAP`]) and such a
    /// fill costs [`FILL_PRICE`]. A cache too small for its workload, where hits are rare,
    /// then copies partitions in at a fraction of its hit rate instead of on nearly every
    /// Query (each fill a copy that is soon evicted); one that hits keeps renewing itself.
    fn afford_fill(&self, partitions: &Cache<Slot, Arc<Partition>>) -> bool {
        if partitions.weighted_size() < self.capacity / 8 * 7 {
            return true;
        }
        if self.credit.fetch_sub(FILL_PRICE, Ordering::Relaxed) >= FILL_PRICE {
            return true;
        }
        self.credit.fetch_add(FILL_PRICE, Ordering::Relaxed);
        false
    }

    /// Caches `partition`, read after `ticket` was taken, unless a write to its slot began
    /// since.
    pub fn fill(&self, ticket: Ticket, partition: Arc<Partition>) {
        let Some(partitions) = &self.partitions else {
            return;
        };
        let fence = self.fence(&ticket.slot).lock();
        if fence.writes == 0 && fence.generation == ticket.generation {
            partitions.insert(ticket.slot, partition);
        }
    }

    /// Remembers that the partition of `ticket` is too large to cache.
    pub fn too_large(&self, ticket: Ticket) {
        self.seen.too_large(&ticket.slot);
    }

    /// Called before a write of keys in `slots` can become visible: drops what is cached
    /// of them and holds back their fills until [`PartitionCache::end_write`].
    pub fn begin_write(&self, slots: &[Slot]) {
        let Some(partitions) = &self.partitions else {
            return;
        };
        for slot in slots {
            let mut fence = self.fence(slot).lock();
            fence.writes += 1;
            fence.generation += 1;
            partitions.invalidate(slot);
        }
    }

    /// Called once the write begun with the same `slots` is visible (or failed).
    pub fn end_write(&self, slots: &[Slot]) {
        if self.partitions.is_none() {
            return;
        }
        for slot in slots {
            let mut fence = self.fence(slot).lock();
            fence.writes = fence.writes.saturating_sub(1);
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

    fn fence(&self, slot: &Slot) -> &Mutex<Fence> {
        // The slot ends in the partition hash: already uniform.
        let hash = u16::from_be_bytes([slot[SLOT_LEN - 2], slot[SLOT_LEN - 1]]);
        &self.fences[usize::from(hash) % FENCES]
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
        let mut collected: Vec<Entry> = Vec::new();
        let (mut keys_len, mut total) = (0, 0);
        for entry in entries {
            let (key, value) = entry?;
            keys_len += key.len();
            total += key.len() + value.len();
            if total > max_bytes {
                return Ok(None);
            }
            collected.push((key, value));
        }
        // One buffer for the partition: the engine's values may be slices of whole data
        // blocks, which the cache would otherwise keep alive. Every key first, then every
        // value: a Query's binary search touches a few cache lines of keys instead of one
        // line per item, each a kilobyte apart. Read in rather than copied into a zeroed
        // buffer.
        let keys = collected.iter().map(|(key, _)| &key[..]);
        let values = collected.iter().map(|(_, value)| &value[..]);
        let mut parts = Concatenated {
            parts: keys.chain(values),
            current: &[],
        };
        let Ok(shared) = Bytes::from_reader(&mut parts, total) else {
            return Ok(None);
        };
        let (mut key_at, mut value_at) = (0, keys_len);
        let entries: Box<[Entry]> = collected
            .iter()
            .map(|(key, value)| {
                let key = shared.slice(key_at..key_at + key.len());
                let value = shared.slice(value_at..value_at + value.len());
                key_at += key.len();
                value_at += value.len();
                (key, value)
            })
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

/// Byte strings read one after another.
struct Concatenated<'a, I> {
    parts: I,
    current: &'a [u8],
}

impl<'a, I: Iterator<Item = &'a [u8]>> std::io::Read for Concatenated<'a, I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.parts.next() {
                Some(part) => self.current = part,
                None => return Ok(0),
            }
        }
        self.current.read(buf)
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

    /// A ticket for partition `p`: its second whole read in a row.
    fn claim(cache: &PartitionCache, p: u8) -> Ticket {
        assert!(
            cache.ticket(&prefix(p)).is_none(),
            "a first read claims nothing"
        );
        cache.ticket(&prefix(p)).unwrap()
    }

    fn write(cache: &PartitionCache, p: u8) {
        let slots = [slot_of(&key(p, 9)).unwrap()];
        cache.begin_write(&slots);
        cache.end_write(&slots);
    }

    #[test]
    fn the_second_whole_read_with_no_write_between_fills() {
        let cache = PartitionCache::new(1 << 20);
        assert!(cache.ticket(&prefix(1)).is_none());
        write(&cache, 1);
        assert!(cache.ticket(&prefix(1)).is_none());
        let ticket = cache.ticket(&prefix(1)).unwrap();
        cache.fill(ticket, partition(1, &[1]));
        assert!(cache.get(&prefix(1)).is_some());
    }

    #[test]
    fn fills_that_may_predate_a_write_are_refused() {
        let cache = PartitionCache::new(1 << 20);
        // Claimed before a write that has since ended.
        let ticket = claim(&cache, 1);
        write(&cache, 1);
        cache.fill(ticket, partition(1, &[1]));
        assert!(cache.get(&prefix(1)).is_none());

        // Claimed before a write still under way: refused, and no claims meanwhile.
        let ticket = claim(&cache, 1);
        let slots = [slot_of(&key(1, 2)).unwrap()];
        cache.begin_write(&slots);
        assert!(cache.ticket(&prefix(1)).is_none());
        cache.fill(ticket, partition(1, &[1]));
        assert!(cache.get(&prefix(1)).is_none());
        cache.end_write(&slots);
    }

    #[test]
    fn a_write_drops_its_partition_and_no_other() {
        let cache = PartitionCache::new(1 << 20);
        cache.fill(claim(&cache, 1), partition(1, &[1]));
        assert!(cache.get(&prefix(1)).is_some());
        write(&cache, 2);
        assert!(cache.get(&prefix(1)).is_some());
        write(&cache, 1);
        assert!(cache.get(&prefix(1)).is_none());
        assert_eq!(cache.stats().hits, 2);
    }

    #[test]
    fn a_colliding_partition_is_a_miss() {
        let cache = PartitionCache::new(1 << 20);
        cache.fill(claim(&cache, 1), partition(1, &[1]));
        let mut other = prefix(1);
        other[SLOT_LEN] = b'q';
        assert!(cache.get(&other).is_none());
    }

    #[test]
    fn a_full_cache_fills_only_as_hits_pay_for_it() {
        let one = partition(1, &[1]);
        // Room for two partitions like `one`: the second makes it nearly full.
        let cache = PartitionCache::new(u64::from(one.weight) * 2);
        cache.fill(claim(&cache, 1), one);
        cache.fill(claim(&cache, 2), partition(2, &[1]));
        cache.partitions.as_ref().unwrap().run_pending_tasks();
        assert!(cache.ticket(&prefix(3)).is_none(), "first read");
        assert!(cache.ticket(&prefix(3)).is_none(), "no hits to pay with");
        for _ in 0..FILL_PRICE {
            assert!(cache.get(&prefix(1)).is_some());
        }
        assert!(
            cache.ticket(&prefix(3)).is_some(),
            "paid by {FILL_PRICE} hits"
        );
        assert!(cache.ticket(&prefix(3)).is_none(), "the hits are spent");
    }

    #[test]
    fn large_partitions_and_a_zero_capacity_take_no_tickets() {
        let cache = PartitionCache::new(1 << 20);
        cache.too_large(claim(&cache, 3));
        assert!(cache.ticket(&prefix(3)).is_none());
        assert!(cache.ticket(&prefix(3)).is_none());
        claim(&cache, 4);
        let off = PartitionCache::new(0);
        assert!(off.ticket(&prefix(1)).is_none());
        assert!(off.get(&prefix(1)).is_none());
    }
}
