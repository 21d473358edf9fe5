//! The query cache: a normalized Query or Scan request → its response page.
//!
//! Beyond DAX, an entry remembers the generation slots it depends on (the partition a
//! Query reads, or the whole table for a Scan or an index Query) with their values when the
//! request was sent; in `invalidate` coherence a write to any of them makes the entry
//! stale. In `ttl-only` coherence entries live until their TTL, as in DAX.

use std::sync::Arc;
use std::time::Duration;

use moka::notification::RemovalCause;
use moka::sync::Cache;

use super::generations::Generations;
use super::hashed::{KeyHasher, PreHashed};
use super::{presized_entries, ReadyBody};
use crate::config::Coherence;
use crate::metrics::Metrics;

/// One cached page and what it depends on.
pub struct QueryEntry {
    pub ready: ReadyBody,
    /// (slot, generation when the request was sent).
    deps: Vec<(u64, u64)>,
}

pub struct QueryCache {
    /// Keyed by the hash of the normalized request; the entry holds the request itself.
    cache: Cache<u64, Arc<QueryEntry>, PreHashed>,
    hasher: KeyHasher,
    gens: Arc<Generations>,
    coherence: Coherence,
}

impl QueryCache {
    pub fn new(
        max_bytes: u64,
        ttl: Duration,
        coherence: Coherence,
        gens: Arc<Generations>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .initial_capacity(presized_entries(max_bytes))
            .time_to_live(ttl)
            .weigher(|_, entry: &Arc<QueryEntry>| entry.ready.weight())
            .eviction_listener(move |_key, _value, cause| match cause {
                RemovalCause::Expired => metrics.query_evicted_expired.increment(1),
                RemovalCause::Size => metrics.query_evicted_size.increment(1),
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            })
            .build_with_hasher(PreHashed::default());
        QueryCache {
            cache,
            hasher: KeyHasher::new(),
            gens,
            coherence,
        }
    }

    /// The current generations of `slots`, to pass to [`QueryCache::fill`]; read them before
    /// sending the request to the store.
    pub fn snapshot(&self, slots: &[u64]) -> Vec<(u64, u64)> {
        slots
            .iter()
            .map(|&slot| (slot, self.gens.read(slot)))
            .collect()
    }

    /// A fresh entry, or `None` (absent, expired, or stale under `invalidate` coherence).
    pub fn get(&self, key: &[u8]) -> Option<Arc<QueryEntry>> {
        let hash = self.hasher.hash(key);
        let entry = self.cache.get(&hash)?;
        if entry.ready.key() != key {
            return None;
        }
        if self.is_stale(&entry.deps) {
            self.cache.invalidate(&hash);
            return None;
        }
        Some(entry)
    }

    /// Caches a page unless something it depends on changed while it was fetched (in
    /// either coherence mode: `ttl-only` serves entries until their TTL, but does not
    /// install a page that raced a write or its table's drop).
    pub fn fill(&self, key: &[u8], deps: Vec<(u64, u64)>, body: &[u8]) {
        if self.moved(&deps) {
            return;
        }
        let Some(ready) = ReadyBody::new(key, body) else {
            return;
        };
        let hash = self.hasher.hash(key);
        let entry = Arc::new(QueryEntry { ready, deps });
        self.cache.insert(hash, entry.clone());
        // A drop's walk (or, with `ttl-only`, a write) may have passed before the insert.
        self.gens.settle();
        if self.moved(&entry.deps) {
            self.cache.invalidate(&hash);
        }
    }

    fn is_stale(&self, deps: &[(u64, u64)]) -> bool {
        self.coherence == Coherence::Invalidate && self.moved(deps)
    }

    fn moved(&self, deps: &[(u64, u64)]) -> bool {
        deps.iter()
            .any(|&(slot, generation)| self.gens.read(slot) != generation)
    }

    /// Drops every page that depends on `definition_slot` (a table's definition, see
    /// `keys::table_definition_slot`): the table was dropped or its indexes changed. The
    /// caller bumps the slot first.
    pub fn forget_table(&self, definition_slot: u64) {
        for (hash, entry) in self.cache.iter() {
            if entry.deps.iter().any(|&(slot, _)| slot == definition_slot) {
                self.cache.invalidate(&*hash);
            }
        }
    }

    pub fn clear(&self) {
        self.cache.invalidate_all();
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    pub fn weighted_size(&self) -> u64 {
        self.cache.weighted_size()
    }

    pub fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(coherence: Coherence) -> QueryCache {
        let metrics = Arc::new(Metrics::register());
        let ttl = Duration::from_secs(60);
        QueryCache::new(
            1 << 20,
            ttl,
            coherence,
            Arc::new(Generations::new()),
            metrics,
        )
    }

    #[test]
    fn an_entry_never_answers_for_another_request_sharing_its_hash() {
        let queries = cache(Coherence::Invalidate);
        let ready = ReadyBody::new(b"Query\0{a}", b"{}").expect("small key");
        let entry = Arc::new(QueryEntry {
            ready,
            deps: vec![],
        });
        queries
            .cache
            .insert(queries.hasher.hash(b"Query\0{b}"), entry);
        assert!(queries.get(b"Query\0{b}").is_none());
        queries.fill(b"Query\0{a}", vec![], b"{}");
        assert!(queries.get(b"Query\0{a}").is_some());
    }

    #[test]
    fn a_dropped_table_retires_its_pages_in_both_modes() {
        for coherence in [Coherence::Invalidate, Coherence::TtlOnly] {
            let queries = cache(coherence);
            let kept = queries.snapshot(&[1, 2]);
            queries.fill(b"Query\0{u}", kept, b"{}");
            let dropped = queries.snapshot(&[3, 4]);
            queries.fill(b"Query\0{t}", dropped.clone(), b"{}");
            queries.gens.bump(4);
            queries.forget_table(4);
            // A miss that was in flight when the table went.
            queries.fill(b"Query\0{t2}", dropped, b"{}");
            assert!(queries.get(b"Query\0{t}").is_none());
            assert!(queries.get(b"Query\0{t2}").is_none());
            assert!(queries.get(b"Query\0{u}").is_some());
        }
    }

    #[test]
    fn a_moved_dependency_makes_an_entry_stale_only_under_invalidate() {
        for (coherence, served) in [(Coherence::Invalidate, false), (Coherence::TtlOnly, true)] {
            let queries = cache(coherence);
            let deps = queries.snapshot(&[7]);
            queries.fill(b"Query\0{}", deps, b"{}");
            queries.gens.bump(7);
            assert_eq!(queries.get(b"Query\0{}").is_some(), served);
        }
    }
}
