//! The item cache: (table, primary key) → the GetItem response body for the whole item, or
//! `{}` for an item that does not exist (negative entry). Projections are applied on the
//! node, so one entry serves every projection of the item.
//!
//! Bounded by bytes (weigher), entries expire after the record TTL (DAX's record-ttl), and
//! moka's TinyLFU admission and LRU eviction pick victims.

use std::sync::Arc;
use std::time::Duration;

use moka::notification::RemovalCause;
use moka::sync::Cache;

use super::generations::Generations;
use super::hashed::{KeyHasher, PreHashed};
use super::{presized_entries, ReadyBody};
use crate::keys::{item_slot, table_definition_slot, table_of_item_key};
use crate::metrics::Metrics;

pub struct ItemCache {
    /// Keyed by the hash of the item's cache key; the entry holds the key itself.
    cache: Cache<u64, ReadyBody, PreHashed>,
    hasher: KeyHasher,
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
            .initial_capacity(presized_entries(max_bytes))
            .weigher(|_, ready: &ReadyBody| ready.weight())
            .eviction_listener(move |_key, _value, cause| match cause {
                RemovalCause::Expired => metrics.item_evicted_expired.increment(1),
                RemovalCause::Size => metrics.item_evicted_size.increment(1),
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            });
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        ItemCache {
            cache: builder.build_with_hasher(PreHashed::default()),
            hasher: KeyHasher::new(),
            gens,
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<ReadyBody> {
        let ready = self.cache.get(&self.hasher.hash(key))?;
        (ready.key() == key).then_some(ready)
    }

    /// Caches `body` for `key` under `hash`, the key's hash (callers have it already), as
    /// reflecting the changes up to `position`.
    fn insert(&self, hash: u64, key: &[u8], body: &[u8], position: u64) {
        if let Some(ready) = ReadyBody::at_position(key, body, position) {
            self.cache.insert(hash, ready);
        }
    }

    /// The generation to pass to [`ItemCache::fill`]; read it before asking the store.
    /// It moves when the item changes or its table's definition does (both slots only
    /// grow, so their sum moves whenever either does).
    pub fn generation(&self, key: &[u8]) -> u64 {
        let definition_slot = table_definition_slot(table_of_item_key(key));
        self.gens
            .read(item_slot(key))
            .wrapping_add(self.gens.read(definition_slot))
    }

    /// Caches a body fetched from the store, unless the item changed (or its table was
    /// dropped) since `generation` was read: the fetched body may then predate the change.
    /// `position` is the store's log position the read saw everything up to (0: unknown).
    pub fn fill(&self, key: &[u8], generation: u64, body: &[u8], position: u64) {
        self.fill_racing(key, generation, body, position, || {});
    }

    /// [`ItemCache::fill`], with `race` run where another thread's write may land between
    /// the miss's first check and its second.
    fn fill_racing(
        &self,
        key: &[u8],
        generation: u64,
        body: &[u8],
        position: u64,
        race: impl FnOnce(),
    ) {
        if self.generation(key) != generation {
            return;
        }
        let hash = self.hasher.hash(key);
        self.insert(hash, key, body, position);
        race();
        // A change that bumped the generation after the check above may have looked for
        // this entry before it was inserted, and found nothing to replace or drop.
        self.gens.settle();
        if self.generation(key) != generation {
            self.cache.invalidate(&hash);
        }
    }

    /// The item changed in the store by change-log record `seq`: if this node caches it,
    /// replace it with the new state (`body` is the GetItem body for the new image, `{}` if
    /// deleted), unless the entry already reflects that change (it was read from the store
    /// after it: a late record of an older write must not bring back the older state);
    /// either way mark the change so that an in-flight miss will not install the old state.
    /// (An entry of another key sharing the hash is replaced too: it only misses next time.)
    pub fn apply_change(&self, key: &[u8], body: &[u8], seq: u64) {
        self.gens.bump(item_slot(key));
        let hash = self.hasher.hash(key);
        match self.cache.get(&hash) {
            Some(entry) if entry.key() == key && entry.position() >= seq => {}
            Some(_) => self.insert(hash, key, body, seq),
            None => {}
        }
    }

    /// The item may have changed (a write whose result we did not see): drop it.
    pub fn invalidate(&self, key: &[u8]) {
        self.gens.bump(item_slot(key));
        self.cache.invalidate(&self.hasher.hash(key));
    }

    /// Drops every entry of a dropped table. The caller bumps the table's drop slot first,
    /// so that a miss in flight cannot install an entry this walk has already passed.
    pub fn forget_table(&self, table: &str) {
        for (hash, ready) in self.cache.iter() {
            if table_of_item_key(ready.key()) == table.as_bytes() {
                self.cache.invalidate(&*hash);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> ItemCache {
        let metrics = Arc::new(Metrics::register());
        ItemCache::new(1 << 20, None, Arc::new(Generations::new()), metrics)
    }

    #[test]
    fn a_hit_sends_the_cached_body_with_its_checksum() {
        let items = cache();
        let body = br#"{"Item":{"pk":{"S":"a"}}}"#;
        items.fill(b"t\0pk\0a", items.generation(b"t\0pk\0a"), body, 0);
        let (sent, crc) = items.get(b"t\0pk\0a").expect("cached").parts();
        assert_eq!(&sent[..], body);
        assert_eq!(crc, shared::wire::crc32::header_value(body).as_str());
        assert!(items.get(b"t\0pk\0b").is_none());
    }

    #[test]
    fn an_entry_never_answers_for_another_key_sharing_its_hash() {
        let items = cache();
        // What a hash collision looks like from inside: key b's slot holds key a's entry.
        let entry = ReadyBody::new(b"t\0pk\0a", b"{}").expect("small key");
        items.cache.insert(items.hasher.hash(b"t\0pk\0b"), entry);
        assert!(items.get(b"t\0pk\0b").is_none());
    }

    #[test]
    fn a_fill_that_raced_a_change_is_dropped() {
        let items = cache();
        let generation = items.generation(b"k");
        items.invalidate(b"k");
        items.fill(b"k", generation, b"{}", 0);
        assert!(items.get(b"k").is_none());
    }

    #[test]
    fn a_change_landing_between_a_fills_check_and_its_insert_still_wins() {
        let items = cache();
        let key = b"t\0pk\0a";
        let old = br#"{"Item":{"v":{"S":"old"}}}"#;
        let generation = items.generation(key);
        // The follower applied a change after the miss's first check and looked for the
        // entry before the insert (finding nothing): all that is left of it is the bump.
        items.fill_racing(key, generation, old, 0, || items.gens.bump(item_slot(key)));
        assert!(
            items.get(key).is_none(),
            "the pre-change body stayed cached"
        );

        // A second writer's apply_change that ran just before the insert's recheck.
        let generation = items.generation(key);
        items.fill_racing(key, generation, old, 0, || {
            items.apply_change(key, b"{}", 1)
        });
        assert!(items.get(key).is_none_or(|ready| ready.body() == b"{}"));
    }

    #[test]
    fn a_late_record_of_a_change_the_entry_reflects_leaves_it_alone() {
        let items = cache();
        let key = b"t\0pk\0a";
        let (older, newer) = (
            br#"{"Item":{"v":{"N":"1"}}}"#,
            br#"{"Item":{"v":{"N":"2"}}}"#,
        );
        // Read from the store after the changes up to 8 (writes 7 and 8 are this item's).
        items.fill(key, items.generation(key), newer, 8);
        items.apply_change(key, older, 7);
        assert_eq!(items.get(key).expect("cached").body(), newer);
        items.apply_change(key, newer, 8);
        assert_eq!(items.get(key).expect("cached").body(), newer);
        // A change after the read replaces it, and is then what the entry reflects.
        items.apply_change(key, b"{}", 9);
        assert_eq!(items.get(key).expect("cached").body(), b"{}");
        items.apply_change(key, older, 9);
        assert_eq!(items.get(key).expect("cached").body(), b"{}");
    }

    #[test]
    fn dropping_a_table_forgets_its_entries_and_its_fills_in_flight_only() {
        let items = cache();
        for key in [&b"t\0pk\0a"[..], b"u\0pk\0a", b"tt\0pk\0a"] {
            items.fill(key, items.generation(key), b"{}", 0);
        }
        let in_flight = items.generation(b"t\0pk\0b");
        items.gens.bump(table_definition_slot(b"t"));
        items.forget_table("t");
        items.fill(b"t\0pk\0b", in_flight, b"{}", 0);
        assert!(items.get(b"t\0pk\0a").is_none());
        assert!(items.get(b"t\0pk\0b").is_none());
        assert!(items.get(b"u\0pk\0a").is_some());
        assert!(items.get(b"tt\0pk\0a").is_some());
    }
}
