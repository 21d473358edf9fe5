//! The storage layer: items, the change log and catalog records on an ordered key-value
//! engine (`engine`; fjall on disk by default).
//!
//! # Shape
//! One write mechanism serves every mutation (PutItem, UpdateItem, DeleteItem, each
//! BatchWriteItem entry, TransactWriteItems, TTL deletes): [`Storage::write`] locks the
//! target keys (striped locks, taken in sorted order so transactions cannot deadlock), reads
//! their current items, lets the caller decide what to do with them, and commits the new
//! items together with one change-log record per changed item in a single atomic engine
//! batch. It then waits for the group-commit task to fsync the journal, so an acknowledged
//! write is durable while many concurrent writes share one fsync.
//!
//! Key layout (all big-endian, order-preserving):
//! `table-id u64 | index-id u16 | partition_hash(pk) u64 | enc(pk) | enc(sk)`; index id 0 is
//! the table itself. Hashing the partition key first gives DynamoDB's scan order and makes
//! parallel scan segments plain hash ranges.
//!
//! The change log is global and ordered by a sequence number assigned at commit, so
//! followers (the proxy, streams, triggers, PITR) read one feed with one cursor.
//!
//! # Layout
//! - `read`, `write`, `meta`: the storage layer's reads (items, Query, Scan, the change
//!   log), its one write path (and replicated changes, dropped tables), catalog records.
//! - `stored`: an item as stored, and the stored value's format.
//! - `keys`: the item key layout and the bound arithmetic of Query, begins_with and Scan
//!   segments.
//! - `engine`: the seam to the ordered key-value engine (the `Engine` trait: keyspaces,
//!   point and range reads, atomic batches, sync) and its two engines, fjall on disk (the
//!   default) and one in memory (`--in-memory`).
//! - `locks`: the striped key locks and why sorted acquisition cannot deadlock.
//! - `group_commit`: commit order, sequence numbers, tickets, table stats, and the thread
//!   that fsyncs groups of batches.
//! - `fault`: a journal sync that fails on demand, in debug builds, for the tests of what
//!   the store does then.
//! - `changelog`: the versioned binary change-record encoding.
//! - `stream_log`: per-table reads of the change log and its retention trimming.
//! - `indexes`: secondary-index entries (key layout, maintenance in the write batch,
//!   index reads, backfill and removal).
//! - `partition_cache`: small partitions of tables and indexes held whole for Query,
//!   dropped by `group_commit` around every write that touches them.
//!
//! Engine keyspaces: `items` (values: the item codec's bytes followed by the item's
//! DynamoDB size as u32 BE), `changes` (key: seq u64 BE), `table_changes` (key: table id
//! u64 BE | seq u64 BE, empty value), `meta` (key: the record name).
//!
//! # What callers can rely on
//! - **Durable before visible.** A write is visible to `get`/`query`/`scan`, to the next
//!   writer of the same key and to change followers (`watch_seq`, `changes_after`) only
//!   once its fsync is done; `write` returns right after. A reader never sees a write that
//!   a crash could still lose.
//! - **Key locks** are held from before the current items are read until the batch is
//!   durable and visible; `decide` runs under them and must not block.
//! - **Range reads** are snapshots taken when `query`/`scan` is called; they never block
//!   writers. A Query answered from the partition cache reads what the engine would show
//!   at that moment (`partition_cache`, "Coherence").
//! - **Stats** (`table_stats`, `index_stats`) are exact for table items and index entries:
//!   rebuilt by scanning every item and entry at `open` (so a crash cannot skew them) and
//!   then changed in the same critical section as each commit.
//! - **Without `durable`**, batches are flushed to the OS but never fsynced: a killed
//!   process loses nothing acknowledged, a power loss may.

mod changelog;
mod engine;
mod fault;
mod group_commit;
mod indexes;
pub mod keys;
mod locks;
mod meta;
mod partition_cache;
mod read;
mod stored;
mod stream_log;
mod tombstones;
mod vector_entries;
pub mod versions;
mod write;

pub use tombstones::{Collect, Collected};

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::sync::Arc;

use shared::model::{AttributeValue, Item, KeySchema};

use engine::{Engine, FjallEngine, MemoryEngine, Space};
use group_commit::{Committer, Request, StatsMap};
use locks::StripedLocks;
use partition_cache::PartitionCache;
use stored::stored_size;

pub use changelog::{fields as record_fields, Fields as RecordFields};
pub use engine::{Bytes as EngineBytes, TreeShape};
pub use group_commit::{LogDetail, LogHead};
pub use indexes::{entry_key, IndexLayout, Projected, ProjectionView, TableIndexes};
pub use partition_cache::CacheStats as PartitionCacheStats;
pub use stored::StoredItem;
pub use vector_entries::{vector_of, Entry as VectorIndexEntry, VectorEntry, VectorLayout};
pub use versions::Version;

/// Storage failures: engine I/O or corrupt data. Never shown to clients: the API layer turns
/// them into InternalServerError and logs the detail.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("engine: {0}")]
    Engine(String),
    #[error("corrupt record under key {0:02x?}")]
    Corrupt(Vec<u8>),
    #[error("storage is shutting down")]
    Closed,
    /// A write would grow an item collection (a partition of a table with LSIs) past the
    /// limit (`indexes`); the API answers ItemCollectionSizeLimitExceededException.
    #[error("item collection size limit exceeded")]
    CollectionSizeLimit,
    /// An engine key over the engine's limit (`keys::MAX_ENGINE_KEY_LEN`). The API's key
    /// size checks keep requests far below it; this keeps the engine from panicking if one
    /// is missed.
    #[error("engine key too long")]
    KeyTooLong,
    /// The engine could not write once (a full or failing disk): every write since is
    /// refused until a restart. Said once, when it happened; each refusal since is this.
    #[error("writes refused since the engine could not write")]
    WritesRefused,
}

/// What the storage layer needs to know about a table: its id and key schema.
#[derive(Debug, Clone, PartialEq)]
pub struct TableLayout {
    pub table_id: u64,
    pub name: String,
    pub schema: KeySchema,
}

/// What a write does to one target key.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    /// Store this item (which carries the target's key attributes).
    Put(Item),
    /// Remove the item (a no-op if absent).
    Delete,
    /// Leave the item as it is (a failed condition, a ConditionCheck); writes no log record.
    Keep,
}

/// Why a change-log record was written (streams show TTL deletes as a service REMOVE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    User,
    Ttl,
    /// Not an item change: the table was deleted (the record's keys are empty, it has no
    /// images). Only readers of the whole log see it; streams and PITR never do.
    TableDropped,
    /// Another replica of a global table made the change (the record's `origin`).
    Replicated,
    /// Not an item change: what the table's secondary indexes answer changed (one was
    /// added, deleted, or finished its backfill). Keys empty, no images, like a drop;
    /// followers of the whole log (dax-proxy nodes) retire the table's cached pages.
    IndexesChanged,
}

impl Cause {
    /// Whether the record is a change of one item, rather than a notice about its table
    /// (which only followers of the whole log read: streams, PITR, replication, backups and
    /// Kinesis skip it).
    pub fn is_item_change(self) -> bool {
        match self {
            Cause::User | Cause::Ttl | Cause::Replicated => true,
            Cause::TableDropped | Cause::IndexesChanged => false,
        }
    }
}

/// A notice about a table for followers of the whole change log, logged in the batch
/// that persists the catalog change it announces (`Storage::write_meta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableNotice<'a> {
    /// The table was deleted.
    Dropped { table_id: u64, name: &'a str },
    /// What the table's secondary indexes answer changed.
    IndexesChanged { table_id: u64, name: &'a str },
}

/// One committed change of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    /// Global, strictly increasing in commit order.
    pub seq: u64,
    /// Commit time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub table_id: u64,
    pub table_name: String,
    /// The item's key attributes.
    pub keys: Item,
    pub old_image: Option<Item>,
    /// The item existed before the change but the log did not keep its image: when it
    /// was written, its table had neither point-in-time recovery nor a stream showing old
    /// images (see `Storage::set_log_detail`).
    pub old_image_elided: bool,
    pub new_image: Option<Item>,
    /// The change left an item behind but the log did not keep its image: its table had
    /// neither point-in-time recovery nor a stream showing new images (see `LogDetail`).
    pub new_image_elided: bool,
    pub cause: Cause,
    /// The version a replicated change got where it was made (`Cause::Replicated` only).
    pub origin: Option<Version>,
}

impl ChangeRecord {
    /// Whether the item existed before this change (with or without its image).
    pub fn existed_before(&self) -> bool {
        self.old_image.is_some() || self.old_image_elided
    }

    /// Whether the item exists after this change (with or without its image).
    pub fn exists_after(&self) -> bool {
        self.new_image.is_some() || self.new_image_elided
    }

    /// Whether streams (and what reads them: triggers, Kinesis) show the change: an item
    /// change of an item that existed before or after it. A delete of an absent item of
    /// a global table is logged only for its version, which the other replicas need.
    pub fn is_shown(&self) -> bool {
        self.cause.is_item_change() && (self.existed_before() || self.exists_after())
    }
}

/// Bounds on the sort key for a Query, already validated against the schema's type.
#[derive(Debug, Clone, PartialEq)]
pub struct SortRange {
    pub lower: Bound<AttributeValue>,
    pub upper: Bound<AttributeValue>,
    /// `begins_with(sk, prefix)`: S or B prefix.
    pub prefix: Option<AttributeValue>,
}

impl SortRange {
    /// Every sort key.
    pub fn all() -> Self {
        SortRange {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            prefix: None,
        }
    }

    /// Whether the range takes every sort key.
    pub fn is_all(&self) -> bool {
        matches!(
            self,
            SortRange {
                lower: Bound::Unbounded,
                upper: Bound::Unbounded,
                prefix: None,
            }
        )
    }

    /// Whether sort key `value` is in the range (a start key inside a Query's condition).
    pub fn contains(&self, value: &AttributeValue) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let cmp = |bound: &AttributeValue| value.scalar_cmp(bound);
        let above = match &self.lower {
            Bound::Unbounded => true,
            Bound::Included(b) => matches!(cmp(b), Some(Greater | Equal)),
            Bound::Excluded(b) => cmp(b) == Some(Greater),
        };
        let below = match &self.upper {
            Bound::Unbounded => true,
            Bound::Included(b) => matches!(cmp(b), Some(Less | Equal)),
            Bound::Excluded(b) => cmp(b) == Some(Less),
        };
        let prefixed = match (&self.prefix, value) {
            (None, _) => true,
            (Some(AttributeValue::S(p)), AttributeValue::S(v)) => v.starts_with(p.as_str()),
            (Some(AttributeValue::B(p)), AttributeValue::B(v)) => v.starts_with(p),
            (Some(_), _) => false,
        };
        above && below && prefixed
    }
}

/// A table's live item count and total item size (DynamoDB item-size rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    pub item_count: u64,
    pub size_bytes: u64,
}

/// Tuning for [`Storage::open`].
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// fsync before acknowledging writes (on by default; tests of durability need it).
    pub durable: bool,
    /// Engine block cache size.
    pub cache_bytes: u64,
    /// Partition cache size (`partition_cache`); 0 turns it off.
    pub partition_cache_bytes: u64,
    /// Everything in memory ([`engine::MemoryEngine`]): nothing is written to the data
    /// directory and nothing outlives the process, so `durable` means nothing then.
    pub in_memory: bool,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            durable: true,
            cache_bytes: 256 * 1024 * 1024,
            partition_cache_bytes: 64 * 1024 * 1024,
            in_memory: false,
        }
    }
}

impl StorageOptions {
    /// What unit tests open: on disk, not durable, a small cache.
    #[cfg(test)]
    pub fn for_tests() -> StorageOptions {
        StorageOptions {
            durable: false,
            cache_bytes: 8 << 20,
            partition_cache_bytes: 1 << 20,
            in_memory: false,
        }
    }
}

/// The items of a range read, as stored (decode what you need), in key order (or
/// reverse).
pub type ItemIter<'a> = Box<dyn Iterator<Item = Result<StoredItem, StorageError>> + Send + 'a>;

/// The store's storage engine handle. Cheap to share (`Arc`).
pub struct Storage {
    committer: Arc<Committer>,
    locks: StripedLocks,
    /// Each table's secondary indexes, as the catalog published them (see `indexes`).
    indexes: indexes::IndexRegistry,
    /// The group-commit thread's queue; `None` without fsync (writers apply inline) and
    /// after `Drop` took it to stop the thread.
    queue: Option<mpsc::Sender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// No change record below this sequence number is retained (see `stream_log`): reads
    /// of the log's head seek here instead of stepping over the deletion markers trimming
    /// leaves until compaction drops them.
    log_floor: AtomicU64,
}

impl Storage {
    /// Opens (or creates) the data directory and starts the group-commit task.
    pub fn open(dir: &Path, options: StorageOptions) -> Result<Arc<Storage>, StorageError> {
        let engine: Box<dyn Engine> = if options.in_memory {
            Box::new(MemoryEngine::new())
        } else {
            Box::new(FjallEngine::open(dir, options.cache_bytes)?)
        };
        // Without a disk there is nothing to sync: writers apply inline.
        let durable = options.durable && !options.in_memory;
        let oldest = stream_log::oldest_entry(engine.as_ref())?;
        stream_log::backfill_table_index(
            engine.as_ref(),
            oldest.as_ref().map(|(_, record)| &record[..]),
        )?;

        let last_seq = engine
            .last(Space::Changes)?
            .map(|(key, _)| stream_log::key_seq(&key))
            .transpose()?
            .unwrap_or(0);
        let log_floor = oldest.map_or(last_seq + 1, |(seq, _)| seq);
        let stats = rebuild_stats(engine.as_ref())?;

        let partitions = PartitionCache::new(options.partition_cache_bytes);
        let committer = Arc::new(Committer::new(engine, partitions, last_seq, stats));
        let (queue, thread) = if durable {
            let (tx, rx) = mpsc::channel();
            let worker = Arc::clone(&committer);
            let fault = fault::journal_fault();
            let thread = std::thread::Builder::new()
                .name("store-group-commit".into())
                .spawn(move || group_commit::run(worker, rx, fault))
                .map_err(|e| {
                    StorageError::Engine(format!("cannot start the commit thread: {e}"))
                })?;
            (Some(tx), Some(thread))
        } else {
            (None, None)
        };
        Ok(Arc::new(Storage {
            committer,
            locks: StripedLocks::new(),
            indexes: indexes::IndexRegistry::default(),
            queue,
            thread,
            log_floor: AtomicU64::new(log_floor),
        }))
    }

    /// The partition cache's counters and size.
    pub fn partition_cache_stats(&self) -> PartitionCacheStats {
        self.committer.partitions.stats()
    }

    /// Bytes on disk by part (see [`Engine::disk_usage`]).
    pub fn disk_usage(&self) -> Vec<(&'static str, u64)> {
        self.committer.engine.disk_usage()
    }

    /// Each keyspace's tree shape, by part (see [`TreeShape`]).
    pub fn tree_shapes(&self) -> Vec<(&'static str, TreeShape)> {
        self.committer.engine.tree_shapes()
    }

    /// Bytes on disk of the items keyspace (tables of items and index entries).
    pub fn items_disk_bytes(&self) -> u64 {
        self.committer.engine.disk_bytes(Space::Items)
    }

    /// See [`Engine::compact_items`]; blocks.
    pub fn compact_items(&self) -> Result<(), StorageError> {
        self.committer.engine.compact_items()
    }

    /// From now on, every local change of table `table_id` (its key schema `schema`) keeps
    /// its version as made in `region`, or none with `None` (see `versions`). Returns the
    /// log's head at the switch: the changes after it have versions.
    pub fn set_versioned(
        &self,
        table_id: u64,
        schema: &KeySchema,
        region: Option<&str>,
    ) -> LogHead {
        self.committer.set_versioned(table_id, schema, region)
    }

    /// Whether the local changes of table `table_id` keep their versions now (see
    /// [`Storage::set_versioned`]).
    pub fn is_versioned(&self, table_id: u64) -> bool {
        self.committer.is_versioned(table_id)
    }

    /// The newest committed sequence number; changes whenever a write commits, so
    /// followers can long-poll. With durability on it is the newest *durable* record.
    pub fn watch_seq(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committer.watch_seq()
    }

    /// False once a journal write or sync has failed: every write is refused from then
    /// on, and `/health` says so, until a restart recovers from the journal.
    pub fn writable(&self) -> bool {
        self.committer.writable()
    }

    /// Live item count and total item size of the table. Exact (rebuilt from the items at
    /// open, then maintained with every commit), so a crash never skews it.
    pub fn table_stats(&self, table_id: u64) -> TableStats {
        self.committer.stats(table_id, keys::TABLE_INDEX)
    }

    /// [`Storage::table_stats`] and [`Storage::index_stats`] of every table and index, by
    /// (table id, index id), read at one moment (one not there has the default): for a
    /// scrape, which would otherwise take the commit thread's lock once per table.
    pub fn all_stats(&self) -> HashMap<(u64, u16), TableStats> {
        self.committer.all_stats()
    }

    /// Live items in all tables (as exact as [`Storage::table_stats`]).
    pub fn total_items(&self) -> u64 {
        self.committer.total_items()
    }
}

impl Drop for Storage {
    /// Stops the commit thread after it has committed and synced everything queued, so the
    /// engine is closed (and its directory lock released) when the last handle goes.
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the group-commit thread panicked");
            }
        }
    }
}

/// Stats of every table's items and of every index's entries on disk: one pass over the
/// items keyspace, reading only the size trailers. Slow for big data sets, but always
/// right after a crash. Versions (of global tables' items) are not counted.
fn rebuild_stats(engine: &dyn Engine) -> Result<StatsMap, StorageError> {
    let mut stats = StatsMap::new();
    let everything = (Bound::Unbounded, Bound::Unbounded);
    for entry in engine.range(Space::Items, everything) {
        let (key, value) = entry?;
        let Some((table_id, index_id)) = keys::parse_table_prefix(&key) else {
            return Err(StorageError::Corrupt(key.to_vec()));
        };
        if index_id == versions::VERSIONS_INDEX {
            continue;
        }
        let entry = stats.entry((table_id, index_id)).or_default();
        entry.item_count += 1;
        entry.size_bytes += stored_size(&value);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests;
