//! Striped generation counters: how the caches stay coherent without locks on the hit path.
//!
//! Every cache entry depends on one or more slots (an item's slot; a Query's partition; a
//! Scan's table). A writer (write-through on this node, or the change-feed follower for
//! writes anywhere) bumps the slot *after* the store committed. A miss reads the slot
//! *before* asking the store and fills the cache only if the slot is unchanged when the
//! answer arrives; a query entry remembers the generations it was filled under and is stale
//! once any moved. So a fill that raced a write can never install the pre-write value.
//!
//! A miss also checks again right after inserting (see [`Generations::bump`]): between its
//! first check and its insert, a writer may have bumped the slot and found nothing to drop.
//!
//! Slots are a fixed array indexed by a 64-bit hash: bounded memory whatever the key space,
//! at the price that two keys sharing a slot invalidate each other (a spurious miss, never a
//! stale hit).

use std::sync::atomic::{fence, AtomicU64, Ordering};

const SLOTS: usize = 1 << 16;

pub struct Generations {
    slots: Box<[AtomicU64]>,
    /// Added to every slot's value: bumping it changes every generation at once.
    everything: AtomicU64,
}

impl Generations {
    pub fn new() -> Self {
        Generations {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            everything: AtomicU64::new(0),
        }
    }

    fn slot(&self, hash: u64) -> &AtomicU64 {
        // SLOTS is a power of two, so the mask keeps the index in range.
        &self.slots[(hash as usize) & (SLOTS - 1)]
    }

    /// The slot's current generation. Both terms only grow, so the sum moves whenever
    /// either does.
    pub fn read(&self, hash: u64) -> u64 {
        let slot = self.slot(hash).load(Ordering::Acquire);
        slot.wrapping_add(self.everything.load(Ordering::Acquire))
    }

    /// Marks everything depending on the slot as changed.
    ///
    /// The fence pairs with [`Generations::settle`]: a writer bumps, then looks in the
    /// cache for the entry to drop; a miss inserts, then reads the slot again. With a
    /// sequentially consistent fence between each side's write and its read, at least one
    /// of them sees the other's write: the writer finds the entry, or the miss sees the bump
    /// and removes what it inserted.
    pub fn bump(&self, hash: u64) {
        self.slot(hash).fetch_add(1, Ordering::AcqRel);
        fence(Ordering::SeqCst);
    }

    /// Marks everything as changed (for changes whose keys are unknown).
    pub fn bump_all(&self) {
        self.everything.fetch_add(1, Ordering::AcqRel);
        fence(Ordering::SeqCst);
    }

    /// Called by a miss between inserting its entry and reading the slots again (see
    /// [`Generations::bump`]).
    pub fn settle(&self) {
        fence(Ordering::SeqCst);
    }
}

impl Default for Generations {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_changes_only_its_slot() {
        let g = Generations::new();
        let (a, b) = (g.read(1), g.read(2));
        g.bump(1);
        assert_ne!(g.read(1), a);
        assert_eq!(g.read(2), b);
        // Hashes that differ only above the mask share a slot: a spurious miss, never stale.
        g.bump(3 + (1 << 20));
        assert_eq!(g.read(3), 1);
    }

    #[test]
    fn bump_all_changes_every_slot() {
        let g = Generations::new();
        g.bump(1);
        let (a, b) = (g.read(1), g.read(2));
        g.bump_all();
        assert_ne!(g.read(1), a);
        assert_ne!(g.read(2), b);
    }
}
