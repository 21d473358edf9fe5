//! The item cache: (table, primary key) → the GetItem response body for the whole item, or
//! `{}` for an item that does not exist (negative entry). Projections are applied on the
//! node, so one entry serves every projection of the item.
//!
//! Bounded by bytes (weigher), entries expire after the record TTL (DAX's record-ttl), and
//! moka's TinyLFU admission and LRU eviction pick victims.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use moka::notification::RemovalCause;
use moka::sync::Cache;

use super::generations::Generations;
use super::{weight, ReadyBody};
use crate::keys::item_slot;
use crate::metrics::Metrics;

pub struct ItemCache {
    cache: Cache<Box<[u8]>, ReadyBody>,
    gens: Arc<Generations>,
}

impl ItemCache {
    pub fn new(
        max_bytes: u64,
        ttl: Option<Duration>,
        gens: Arc<Generations>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut builder = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(
                // moka hands the weigher `&K`, and K is `Box<[u8]>`.
                #[allow(clippy::borrowed_box)]
                |key: &Box<[u8]>, value: &ReadyBody| weight(key.len(), value.body().len()),
            )
            .eviction_listener(move |_key, _value, cause| match cause {
                RemovalCause::Expired => metrics.item_evicted_expired.increment(1),
                RemovalCause::Size => metrics.item_evicted_size.increment(1),
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            });
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        ItemCache {
            cache: builder.build(),
            gens,
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<ReadyBody> {
        self.cache.get(key)
    }

    /// The generation to pass to [`ItemCache::fill`]; read it before asking the store.
    pub fn generation(&self, key: &[u8]) -> u64 {
        self.gens.read(item_slot(key))
    }

    /// Caches a body fetched from the store, unless the item changed since `generation`
    /// was read (the fetched body may then predate the change).
    pub fn fill(&self, key: Box<[u8]>, generation: u64, body: Bytes) {
        if self.gens.read(item_slot(&key)) == generation {
            self.cache.insert(key, ReadyBody::new(&body));
        }
    }

    /// The item changed in the store: if this node caches it, replace it with the new state
    /// (`body` is the GetItem body for the new image, `{}` if deleted); otherwise only mark
    /// the change so that an in-flight miss will not install the old state.
    pub fn apply_change(&self, key: Box<[u8]>, body: Bytes) {
        self.gens.bump(item_slot(&key));
        if self.cache.contains_key(&key) {
            self.cache.insert(key, ReadyBody::new(&body));
        }
    }

    /// The item may have changed (a write whose result we did not see): drop it.
    pub fn invalidate(&self, key: &[u8]) {
        self.gens.bump(item_slot(key));
        self.cache.invalidate(key);
    }

    /// Drops everything (the change feed was interrupted: changes may have been missed).
    pub fn clear(&self) {
        self.cache.invalidate_all();
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    pub fn weighted_size(&self) -> u64 {
        self.cache.weighted_size()
    }

    /// Runs moka's pending maintenance (so counts and evictions are current).
    pub fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }
}
