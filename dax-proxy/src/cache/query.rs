//! The query cache: a normalized Query or Scan request → its response page.
//!
//! Beyond DAX, an entry remembers the generation slots it depends on (the partition a
//! Query reads, or the whole table for a Scan or an index Query) with their values when the
//! request was sent; in `invalidate` coherence a write to any of them makes the entry
//! stale. In `ttl-only` coherence entries live until their TTL, as in DAX.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use moka::notification::RemovalCause;
use moka::sync::Cache;

use super::generations::Generations;
use super::{weight, ReadyBody};
use crate::config::Coherence;
use crate::metrics::Metrics;

/// One cached page and what it depends on.
pub struct QueryEntry {
    pub ready: ReadyBody,
    /// (slot, generation when the request was sent).
    deps: Vec<(u64, u64)>,
}

pub struct QueryCache {
    cache: Cache<Box<[u8]>, Arc<QueryEntry>>,
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
            .time_to_live(ttl)
            .weigher(
                #[allow(clippy::borrowed_box)]
                |key: &Box<[u8]>, value: &Arc<QueryEntry>| {
                    weight(key.len(), value.ready.body().len())
                },
            )
            .eviction_listener(move |_key, _value, cause| match cause {
                RemovalCause::Expired => metrics.query_evicted_expired.increment(1),
                RemovalCause::Size => metrics.query_evicted_size.increment(1),
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            })
            .build();
        QueryCache {
            cache,
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
        let entry = self.cache.get(key)?;
        if self.is_stale(&entry.deps) {
            self.cache.invalidate(key);
            return None;
        }
        Some(entry)
    }

    /// Caches a page unless a write already made it stale.
    pub fn fill(&self, key: Box<[u8]>, deps: Vec<(u64, u64)>, body: Bytes) {
        if !self.is_stale(&deps) {
            self.cache.insert(
                key,
                Arc::new(QueryEntry {
                    ready: ReadyBody::new(&body),
                    deps,
                }),
            );
        }
    }

    fn is_stale(&self, deps: &[(u64, u64)]) -> bool {
        self.coherence == Coherence::Invalidate
            && deps
                .iter()
                .any(|&(slot, generation)| self.gens.read(slot) != generation)
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
