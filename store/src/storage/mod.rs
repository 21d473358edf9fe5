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
//!
//! Engine keyspaces: `items` (values: the item codec's bytes followed by the item's
//! DynamoDB size as u32 BE), `changes` (key: seq u64 BE), `table_changes` (key: table id
//! u64 BE | seq u64 BE, empty value), `meta` (key: the record name).
//!
//! # What callers can rely on
//! - **Visibility before durability.** A write is visible to `get`/`query`/`scan` and to
//!   the next writer of the same key as soon as it is committed to the engine, which is
//!   before its fsync; `write` returns only after the fsync. So a reader can briefly see a
//!   write that has not been acknowledged yet (and that a crash could still lose). Change
//!   followers never see such writes: `watch_seq` and `changes_after` stop at the newest
//!   durable record.
//! - **Key locks** are held from before the current items are read until the batch is
//!   committed, never across the fsync; `decide` runs under them and must not block.
//! - **Range reads** are snapshots taken when `query`/`scan` is called; they never block
//!   writers.
//! - **Stats** (`table_stats`) are exact for table items: rebuilt by scanning every item at
//!   `open` (so a crash cannot skew them) and then changed in the same critical section as
//!   each commit. Index items are not counted.
//! - **Without `durable`**, batches are flushed to the OS but never fsynced: a killed
//!   process loses nothing acknowledged, a power loss may.

mod changelog;
mod engine;
mod fault;
mod group_commit;
mod indexes;
pub mod keys;
mod locks;
mod stored;
mod stream_log;
mod tombstones;
pub mod versions;

pub use tombstones::{Collect, Collected};

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::sync::Arc;

use shared::model::codec::{decode_item, encode_item};
use shared::model::size::item_size;
use shared::model::{AttributeValue, Item, KeySchema, PrimaryKey};
use tokio::sync::oneshot;

use engine::{
    Bytes, Engine, Entries, Entry, FjallEngine, Flush, KeyRange, MemoryEngine, Op, Space,
};
use group_commit::{Batch, Committer, Request, StatsDelta};
use locks::{LockSet, StripedLocks};

pub use changelog::{fields as record_fields, Fields as RecordFields};
pub use engine::{Bytes as EngineBytes, TreeShape};
pub use group_commit::{LogDetail, LogHead};
pub use indexes::{entry_key, IndexLayout, Projected, TableIndexes};
pub use stored::StoredItem;
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

/// One item a write stages: where it lives and what it holds now.
#[derive(Clone, Copy)]
struct Target<'a> {
    table: &'a TableLayout,
    key: &'a PrimaryKey,
    engine_key: &'a [u8],
    old: Option<&'a Item>,
    /// `old` as stored.
    old_raw: Option<&'a [u8]>,
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
    /// Everything in memory ([`engine::MemoryEngine`]): nothing is written to the data
    /// directory and nothing outlives the process, so `durable` means nothing then.
    pub in_memory: bool,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            durable: true,
            cache_bytes: 256 * 1024 * 1024,
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
            in_memory: false,
        }
    }
}

/// The items of a range read, as stored (decode what you need), in key order (or
/// reverse).
pub type ItemIter<'a> = Box<dyn Iterator<Item = Result<StoredItem, StorageError>> + Send + 'a>;

/// Keys deleted per engine batch by [`Storage::drop_table_data`].
const DROP_CHUNK: usize = 1000;

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

        let committer = Arc::new(Committer::new(engine, last_seq, stats, durable));
        let (queue, thread) = if durable {
            let (tx, rx) = mpsc::channel();
            let worker = Arc::clone(&committer);
            let sync = fault::journal_sync();
            let thread = std::thread::Builder::new()
                .name("store-group-commit".into())
                .spawn(move || group_commit::run(worker, rx, sync))
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

    /// Point read of one item.
    pub fn get(&self, table: &TableLayout, key: &PrimaryKey) -> Result<Option<Item>, StorageError> {
        self.get_stored(table, key)?
            .map(|stored| stored.decode())
            .transpose()
    }

    /// Point read of one item, as stored.
    pub fn get_stored(
        &self,
        table: &TableLayout,
        key: &PrimaryKey,
    ) -> Result<Option<StoredItem>, StorageError> {
        let engine_key = keys::item_key(table.table_id, key);
        keys::check_engine_key(&engine_key)?;
        let value = self.stored_value(&engine_key)?;
        Ok(value.map(|value| StoredItem::new(engine_key.into(), value)))
    }

    /// The value under an items-keyspace key: an item, an index entry or a version.
    fn stored_value(&self, key: &[u8]) -> Result<Option<Bytes>, StorageError> {
        self.committer.engine.get(Space::Items, key)
    }

    /// Items-keyspace entries whose keys start with `prefix`, in key order.
    fn items_under(&self, prefix: &[u8]) -> Entries<'_> {
        let range = (Bound::Included(prefix.to_vec()), keys::prefix_upper(prefix));
        self.committer.engine.range(Space::Items, range)
    }

    /// The first `limit` items-keyspace keys in `range`: one chunk of a pass that writes
    /// between chunks (and so must not hold a snapshot across them).
    fn item_key_chunk(&self, range: KeyRange, limit: usize) -> Result<Vec<Vec<u8>>, StorageError> {
        let entries = self.committer.engine.range(Space::Items, range);
        entries
            .take(limit)
            .map(|entry| Ok(entry?.0.to_vec()))
            .collect()
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
        self.disk_usage()
            .into_iter()
            .find(|(part, _)| *part == Space::Items.name())
            .map_or(0, |(_, bytes)| bytes)
    }

    /// See [`Engine::compact_items`]; blocks.
    pub fn compact_items(&self) -> Result<(), StorageError> {
        self.committer.engine.compact_items()
    }

    /// The one write path. Locks `targets`, reads their current items (in `targets` order),
    /// calls `decide` with them; if it returns `Ok((mutations, out))` (one mutation per
    /// target), commits them atomically with their change-log records and waits until they
    /// are durable, then returns `Ok(Ok(out))`. If `decide` returns `Err(e)`, nothing is
    /// written and `Ok(Err(e))` is returned. Puts and deletes that change nothing write no
    /// change record.
    ///
    /// Targets must name distinct items (an error otherwise). The batch becomes visible to
    /// readers when committed, before it is durable; this call returns only once it is
    /// durable (see `group_commit`). Cancelling the returned future after `decide` ran
    /// does not cancel the commit.
    pub async fn write<T, E>(
        &self,
        targets: &[(&TableLayout, PrimaryKey)],
        cause: Cause,
        decide: impl FnOnce(&[Option<Item>]) -> Result<(Vec<Mutation>, T), E>,
    ) -> Result<Result<T, E>, StorageError> {
        let engine_keys: Vec<Vec<u8>> = targets
            .iter()
            .map(|(table, key)| keys::item_key(table.table_id, key))
            .collect();
        for key in &engine_keys {
            keys::check_engine_key(key)?;
        }
        if engine_keys.len() > 1 {
            let mut sorted: Vec<&[u8]> = engine_keys.iter().map(Vec::as_slice).collect();
            sorted.sort_unstable();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return Err(StorageError::Engine(
                    "write targets the same item twice".into(),
                ));
            }
        }
        let locks = self.locks.lock(&engine_keys).await;

        // Under the locks, these are the items' latest committed versions.
        let mut raw = Vec::with_capacity(engine_keys.len());
        let mut current = Vec::with_capacity(engine_keys.len());
        for key in &engine_keys {
            match self.stored_value(key)? {
                None => {
                    raw.push(None);
                    current.push(None);
                }
                Some(value) => {
                    current.push(Some(decode_value(key, &value)?));
                    raw.push(Some(value));
                }
            }
        }

        let (mutations, out) = match decide(&current) {
            Ok(decided) => decided,
            Err(e) => return Ok(Err(e)),
        };
        if mutations.len() != targets.len() {
            return Err(StorageError::Engine(format!(
                "write decided {} mutations for {} targets",
                mutations.len(),
                targets.len()
            )));
        }

        let mut batch = Batch::default();
        for (index, mutation) in mutations.into_iter().enumerate() {
            let (Some((table, key)), Some(engine_key), Some(old), Some(old_raw)) = (
                targets.get(index),
                engine_keys.get(index),
                current.get(index),
                raw.get(index),
            ) else {
                continue;
            };
            let target = Target {
                table,
                key,
                engine_key,
                old: old.as_ref(),
                old_raw: old_raw.as_deref(),
            };
            self.stage(&mut batch, &target, mutation, cause, None)?;
        }

        if batch.ops.is_empty() {
            // Nothing to write, but the answer rests on what we read: acknowledge it only
            // once that state is durable (usually already true).
            drop(locks);
            self.committer
                .wait_durable(self.committer.last_ticket())
                .await?;
            return Ok(Ok(out));
        }
        self.commit(batch, locks).await?;
        Ok(Ok(out))
    }

    /// Adds what `mutation` of one target writes to `batch`: the item, its index entries,
    /// its change record and the table's stats. A put of the item as it is and a delete of
    /// an absent item add nothing. `origin` is the version of a replicated change.
    fn stage(
        &self,
        batch: &mut Batch,
        target: &Target<'_>,
        mutation: Mutation,
        cause: Cause,
        origin: Option<&Version>,
    ) -> Result<(), StorageError> {
        let Target {
            table,
            key,
            engine_key,
            old,
            old_raw,
        } = *target;
        let old_size = old_raw.map_or(0, stored_size);
        let old_image = old_raw.map(item_bytes);
        let record = |old_image, new_image| {
            changelog::encode(&changelog::RecordParts {
                table_id: table.table_id,
                table_name: &table.name,
                cause,
                keys: &encode_item(&table.schema.key_item(key)),
                old_image,
                new_image,
                origin,
            })
        };
        match mutation {
            Mutation::Keep => {}
            Mutation::Delete => {
                let Some(old_image) = old_image else {
                    return Ok(());
                };
                self.index_ops(table.table_id, old, None, &mut batch.ops);
                batch.records.push(record(Some(old_image), None));
                batch.ops.push(Op::Delete {
                    space: Space::Items,
                    key: engine_key.into(),
                });
                batch.stats.push(StatsDelta {
                    table_id: table.table_id,
                    count: -1,
                    size: -to_i64(old_size),
                });
            }
            Mutation::Put(item) => {
                if old == Some(&item) {
                    return Ok(());
                }
                self.index_ops(table.table_id, old, Some(&item), &mut batch.ops);
                // A replicated write was within the limit where it was made; refusing it
                // here would leave the replicas apart for good.
                if cause != Cause::Replicated {
                    self.check_collection(table.table_id, &key.hash, old, &item)?;
                }
                let size = item_size(&item) as u64;
                let value = encode_value(&item, size);
                batch
                    .records
                    .push(record(old_image, Some(item_bytes(&value))));
                batch.ops.push(Op::Put {
                    space: Space::Items,
                    key: engine_key.into(),
                    value: value.into(),
                });
                batch.stats.push(StatsDelta {
                    table_id: table.table_id,
                    count: if old_raw.is_some() { 0 } else { 1 },
                    size: to_i64(size) - to_i64(old_size),
                });
            }
        }
        Ok(())
    }

    /// Applies a change another replica of global table `table` made (its new image, or
    /// `None` for a delete) if its version is newer than the version the item has here,
    /// and keeps that version (see `versions`). An older change changes nothing, so a
    /// change that arrives twice applies once: `None`. A change that wins returns what
    /// `measure` made of the item it replaces and the image, under the item's lock (the
    /// capacity the write consumes).
    pub async fn apply_replicated<R>(
        &self,
        table: &TableLayout,
        key: &PrimaryKey,
        image: Option<Item>,
        version: &Version,
        measure: impl FnOnce(Option<&Item>, Option<&Item>) -> R,
    ) -> Result<Option<R>, StorageError> {
        let engine_key = keys::item_key(table.table_id, key);
        keys::check_engine_key(&engine_key)?;
        let version_key = versions::version_key(&engine_key);
        let locks = self.locks.lock(std::slice::from_ref(&engine_key)).await;
        if self
            .stored_version(&version_key)?
            .is_some_and(|current| current >= *version)
        {
            return Ok(None);
        }
        let old_raw = self.stored_value(&engine_key)?;
        let old = old_raw
            .as_ref()
            .map(|value| decode_value(&engine_key, value))
            .transpose()?;
        let target = Target {
            table,
            key,
            engine_key: &engine_key,
            old: old.as_ref(),
            old_raw: old_raw.as_deref(),
        };
        let measured = measure(old.as_ref(), image.as_ref());
        let mutation = image.map_or(Mutation::Delete, Mutation::Put);
        let mut batch = Batch::default();
        self.stage(
            &mut batch,
            &target,
            mutation,
            Cause::Replicated,
            Some(version),
        )?;
        batch.ops.push(Op::Put {
            space: Space::Items,
            key: version_key.into(),
            value: version.encode().into(),
        });
        self.commit(batch, locks).await?;
        Ok(Some(measured))
    }

    /// An item of a global table and its version, read together under the item's lock so
    /// the two belong to the same write. `None` for a version: written before the table
    /// had replicas.
    pub async fn versioned_item(
        &self,
        table: &TableLayout,
        key: &PrimaryKey,
    ) -> Result<(Option<Item>, Option<Version>), StorageError> {
        let engine_key = keys::item_key(table.table_id, key);
        keys::check_engine_key(&engine_key)?;
        let _locks = self.locks.lock(std::slice::from_ref(&engine_key)).await;
        let item = self
            .stored_value(&engine_key)?
            .map(|value| decode_value(&engine_key, &value))
            .transpose()?;
        Ok((
            item,
            self.stored_version(&versions::version_key(&engine_key))?,
        ))
    }

    /// The keys of up to `limit` items of table `table`, in key order after `after`: what
    /// a Scan would return, without reading the items.
    pub fn item_keys(
        &self,
        table: &TableLayout,
        after: Option<&PrimaryKey>,
        limit: usize,
    ) -> Result<Vec<PrimaryKey>, StorageError> {
        self.keys_under(table, keys::TABLE_INDEX, after, limit)
    }

    /// The keys of up to `limit` items of table `table` that have a version (see
    /// `versions`), in key order after `after`: every item written since the table had
    /// replicas, deleted ones included.
    pub fn versioned_keys(
        &self,
        table: &TableLayout,
        after: Option<&PrimaryKey>,
        limit: usize,
    ) -> Result<Vec<PrimaryKey>, StorageError> {
        self.keys_under(table, versions::VERSIONS_INDEX, after, limit)
    }

    /// The primary keys read back from the keys under index id `index_id` of table
    /// `table` (its items, or their versions), up to `limit`, after `after`.
    fn keys_under(
        &self,
        table: &TableLayout,
        index_id: u16,
        after: Option<&PrimaryKey>,
        limit: usize,
    ) -> Result<Vec<PrimaryKey>, StorageError> {
        let prefix = keys::table_prefix(table.table_id, index_id);
        let lower = match after {
            Some(key) => Bound::Excluded(keys::in_index(
                &keys::item_key(table.table_id, key),
                index_id,
            )),
            None => Bound::Included(prefix.to_vec()),
        };
        let range = (lower, keys::prefix_upper(&prefix));
        let mut out = Vec::new();
        for entry in self.committer.engine.range(Space::Items, range).take(limit) {
            let (key, _) = entry?;
            let primary = keys::primary_key_of(&key, &table.schema)
                .ok_or_else(|| StorageError::Corrupt(key.to_vec()))?;
            out.push(primary);
        }
        Ok(out)
    }

    fn stored_version(&self, version_key: &[u8]) -> Result<Option<Version>, StorageError> {
        match self.stored_value(version_key)? {
            None => Ok(None),
            Some(bytes) => Version::decode(&bytes)
                .map(Some)
                .ok_or_else(|| StorageError::Corrupt(version_key.to_vec())),
        }
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

    /// Applies a batch (inline or through the commit thread), releasing `locks` as soon as
    /// it is visible, and returns its ticket once it is durable (at once without fsync).
    async fn commit(&self, batch: Batch, locks: LockSet) -> Result<u64, StorageError> {
        match &self.queue {
            None => {
                let ticket = self.committer.apply(batch, Flush::ToOs);
                drop(locks);
                ticket
            }
            Some(queue) => {
                let (reply, answer) = oneshot::channel();
                queue
                    .send(Request {
                        batch,
                        locks,
                        reply,
                    })
                    .map_err(|_| StorageError::Closed)?;
                answer.await.map_err(|_| StorageError::Closed)?
            }
        }
    }

    /// Items of one partition whose sort key is in `range`, ascending or descending,
    /// starting after `exclusive_start` if given.
    pub fn query<'a>(
        &'a self,
        table: &TableLayout,
        hash: &AttributeValue,
        range: &SortRange,
        forward: bool,
        exclusive_start: Option<&PrimaryKey>,
    ) -> Result<ItemIter<'a>, StorageError> {
        let partition = keys::partition_prefix(table.table_id, keys::TABLE_INDEX, hash);
        let mut lower = Bound::Included(partition.clone());
        let mut upper = keys::prefix_upper(&partition);
        lower = keys::tighter_lower(lower, keys::sort_bound(&partition, &range.lower));
        upper = keys::tighter_upper(upper, keys::sort_bound(&partition, &range.upper));
        if let Some(prefix) = &range.prefix {
            // Values starting with `prefix` are exactly [prefix, successor(prefix)).
            lower = keys::tighter_lower(
                lower,
                keys::sort_bound(&partition, &Bound::Included(prefix.clone())),
            );
            if let Some(next) = keys::begins_with_successor(prefix) {
                upper = keys::tighter_upper(
                    upper,
                    keys::sort_bound(&partition, &Bound::Excluded(next)),
                );
            }
        }
        if let Some(start) = exclusive_start {
            let start_key = keys::item_key(table.table_id, start);
            if forward {
                lower = keys::tighter_lower(lower, Bound::Excluded(start_key));
            } else {
                upper = keys::tighter_upper(upper, Bound::Excluded(start_key));
            }
        }
        self.range_items(lower, upper, forward)
    }

    /// Items of the table in scan order (partition hash, then key). With
    /// `segment = Some((s, total))` only the s-th of `total` equal hash ranges; an invalid
    /// segment (`total == 0` or `s >= total`) yields nothing.
    pub fn scan<'a>(
        &'a self,
        table: &TableLayout,
        segment: Option<(u32, u32)>,
        exclusive_start: Option<&PrimaryKey>,
    ) -> Result<ItemIter<'a>, StorageError> {
        let prefix = keys::table_prefix(table.table_id, keys::TABLE_INDEX);
        let Some((mut lower, upper)) = keys::scan_bounds(&prefix, segment) else {
            return Ok(Box::new(std::iter::empty()));
        };
        if let Some(start) = exclusive_start {
            lower = keys::tighter_lower(
                lower,
                Bound::Excluded(keys::item_key(table.table_id, start)),
            );
        }
        self.range_items(lower, upper, true)
    }

    /// Stored items of an engine key range (a snapshot taken now).
    fn range_items<'a>(
        &'a self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        forward: bool,
    ) -> Result<ItemIter<'a>, StorageError> {
        keys::check_engine_bound(&lower)?;
        keys::check_engine_bound(&upper)?;
        if keys::is_empty_range(&lower, &upper) {
            return Ok(Box::new(std::iter::empty()));
        }
        let entries = self.committer.engine.range(Space::Items, (lower, upper));
        Ok(if forward {
            Box::new(entries.map(stored_entry))
        } else {
            Box::new(entries.rev().map(stored_entry))
        })
    }

    /// Change records with `seq > after`, at most `limit`, in order. Only durable records
    /// are returned (see `group_commit`), so a follower never sees a change that a crash
    /// could take back.
    pub fn changes_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        let published = self.committer.seq();
        if after >= published || limit == 0 {
            return Ok(Vec::new());
        }
        // Nothing below the floor is retained: a follower asking from further back (cut
        // off past the retention) gets the same records without a walk over what trimming
        // deleted, and sees the gap in their numbers.
        let floor = self.log_floor.load(std::sync::atomic::Ordering::Acquire);
        let range = (
            Bound::Excluded(changelog::seq_key(after.max(floor.saturating_sub(1))).to_vec()),
            Bound::Included(changelog::seq_key(published).to_vec()),
        );
        let mut records = Vec::new();
        for entry in self
            .committer
            .engine
            .range(Space::Changes, range)
            .take(limit)
        {
            let (key, value) = entry?;
            records.push(changelog::decode(&key, &value)?);
        }
        Ok(records)
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
        self.committer.table_stats(table_id)
    }

    /// Live items in all tables (as exact as [`Storage::table_stats`]).
    pub fn total_items(&self) -> u64 {
        self.committer.total_items()
    }

    /// Removes every item of a dropped table (runs in the background after DeleteTable).
    /// Deletes keys in chunks, writes no change records, and returns once the deletes are
    /// durable. The table must receive no writes meanwhile (the catalog has dropped it).
    /// Covers every index of the table (all index ids under its table id).
    pub async fn drop_table_data(&self, table_id: u64) -> Result<(), StorageError> {
        self.delete_prefix(&table_id.to_be_bytes()).await?;
        self.committer.forget_table(table_id);
        Ok(())
    }

    /// Deletes every items-keyspace key under `prefix`, in chunks, writing no change
    /// records. Each chunk is durable before the next is read: a crash midway leaves a
    /// shorter range for the caller to delete again.
    async fn delete_prefix(&self, prefix: &[u8]) -> Result<(), StorageError> {
        let upper = keys::prefix_upper(prefix);
        let mut lower = Bound::Included(prefix.to_vec());
        loop {
            let chunk = self.item_key_chunk((lower.clone(), upper.clone()), DROP_CHUNK)?;
            let Some(last) = chunk.last() else {
                return Ok(());
            };
            lower = Bound::Excluded(last.clone());
            let ops = chunk
                .into_iter()
                .map(|key| Op::Delete {
                    space: Space::Items,
                    key: key.into(),
                })
                .collect();
            self.commit(
                Batch {
                    ops,
                    ..Batch::default()
                },
                Vec::new(),
            )
            .await?;
        }
    }

    /// Durable catalog records (table descriptions, tags, settings): key → JSON bytes.
    /// `None` deletes the record. Returns once the change is durable.
    pub async fn put_meta(&self, key: &str, value: Option<Vec<u8>>) -> Result<(), StorageError> {
        self.write_meta(vec![(key, value)], None).await
    }

    /// Several catalog records (as [`Storage::put_meta`]) in one atomic, durable batch;
    /// with `dropped = Some((table_id, name))`, the same batch logs that table's drop for
    /// followers of the change log.
    pub async fn write_meta(
        &self,
        entries: Vec<(&str, Option<Vec<u8>>)>,
        dropped: Option<(u64, &str)>,
    ) -> Result<(), StorageError> {
        let ops = entries
            .into_iter()
            .map(|(key, value)| {
                let key = Bytes::from(key);
                match value {
                    Some(value) => Op::Put {
                        space: Space::Meta,
                        key,
                        value: value.into(),
                    },
                    None => Op::Delete {
                        space: Space::Meta,
                        key,
                    },
                }
            })
            .collect();
        let records = dropped
            .map(|(table_id, name)| changelog::encode_table_drop(table_id, name))
            .into_iter()
            .collect();
        self.commit(
            Batch {
                ops,
                records,
                ..Batch::default()
            },
            Vec::new(),
        )
        .await?;
        Ok(())
    }

    /// Every catalog record whose key starts with `prefix`, in key order.
    /// A sequence number kept under meta `key` (a log consumer's checkpoint); `None` if
    /// none was kept.
    pub fn seq_mark(&self, key: &str) -> Result<Option<u64>, StorageError> {
        for (found, value) in self.list_meta(key)? {
            if found == key {
                let text = std::str::from_utf8(&value)
                    .map_err(|_| StorageError::Corrupt(value.clone()))?;
                return text
                    .parse()
                    .map(Some)
                    .map_err(|_| StorageError::Corrupt(value.clone()));
            }
        }
        Ok(None)
    }

    /// Keeps `seq` under meta `key`, durably ([`Storage::seq_mark`] reads it).
    pub async fn put_seq_mark(&self, key: &str, seq: u64) -> Result<(), StorageError> {
        self.put_meta(key, Some(seq.to_string().into_bytes())).await
    }

    pub fn list_meta(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let range = (
            Bound::Included(prefix.as_bytes().to_vec()),
            keys::prefix_upper(prefix.as_bytes()),
        );
        let mut out = Vec::new();
        for entry in self.committer.engine.range(Space::Meta, range) {
            let (key, value) = entry?;
            let name =
                String::from_utf8(key.to_vec()).map_err(|_| StorageError::Corrupt(key.to_vec()))?;
            out.push((name, value.to_vec()));
        }
        Ok(out)
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

/// Stored item value: the item codec's bytes followed by the item's DynamoDB size (u32 BE),
/// so stats can be rebuilt and deltas computed without decoding items.
fn encode_value(item: &Item, size: u64) -> Vec<u8> {
    let mut value = encode_item(item);
    value.extend_from_slice(&u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes());
    value
}

/// The item codec's part of a stored value (empty for a value too short to have a trailer,
/// which then fails to decode).
fn item_bytes(value: &[u8]) -> &[u8] {
    value
        .get(..value.len().saturating_sub(4))
        .unwrap_or_default()
}

/// The size trailer of a stored value (0 if missing).
fn stored_size(value: &[u8]) -> u64 {
    value
        .len()
        .checked_sub(4)
        .and_then(|at| value.get(at..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map_or(0, |b| u64::from(u32::from_be_bytes(b)))
}

fn decode_value(key: &[u8], value: &[u8]) -> Result<Item, StorageError> {
    if value.len() < 4 {
        return Err(StorageError::Corrupt(key.to_vec()));
    }
    decode_item(item_bytes(value)).ok_or_else(|| StorageError::Corrupt(key.to_vec()))
}

fn stored_entry(entry: Result<Entry, StorageError>) -> Result<StoredItem, StorageError> {
    let (key, value) = entry?;
    Ok(StoredItem::new(key, value))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Per-table stats of the table items (index 0) on disk: one pass over the items keyspace,
/// reading only the size trailers. Slow for big data sets, but always right after a crash.
fn rebuild_stats(engine: &dyn Engine) -> Result<HashMap<u64, TableStats>, StorageError> {
    let mut stats: HashMap<u64, TableStats> = HashMap::new();
    let everything = (Bound::Unbounded, Bound::Unbounded);
    for entry in engine.range(Space::Items, everything) {
        let (key, value) = entry?;
        let Some((table_id, index_id)) = keys::parse_table_prefix(&key) else {
            return Err(StorageError::Corrupt(key.to_vec()));
        };
        if index_id != keys::TABLE_INDEX {
            continue;
        }
        let entry = stats.entry(table_id).or_default();
        entry.item_count += 1;
        entry.size_bytes += stored_size(&value);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{KeyAttr, Number, ScalarType};

    fn n(v: &str) -> AttributeValue {
        match Number::parse(v) {
            Ok(num) => AttributeValue::N(num),
            Err(e) => panic!("bad number {v}: {e:?}"),
        }
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn layout(table_id: u64, range: Option<ScalarType>) -> TableLayout {
        TableLayout {
            table_id,
            name: format!("t{table_id}"),
            schema: KeySchema {
                hash: KeyAttr {
                    name: "pk".into(),
                    ty: ScalarType::S,
                },
                range: range.map(|ty| KeyAttr {
                    name: "sk".into(),
                    ty,
                }),
            },
        }
    }

    fn pk(hash: AttributeValue, range: Option<AttributeValue>) -> PrimaryKey {
        PrimaryKey { hash, range }
    }

    fn item(key: &PrimaryKey, extra: &[(&str, AttributeValue)]) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), key.hash.clone());
        if let Some(r) = &key.range {
            item.insert("sk".into(), r.clone());
        }
        for (name, value) in extra {
            item.insert((*name).to_owned(), value.clone());
        }
        item
    }

    fn open(dir: &Path, durable: bool) -> Arc<Storage> {
        match Storage::open(
            dir,
            StorageOptions {
                durable,
                ..StorageOptions::for_tests()
            },
        ) {
            Ok(storage) => storage,
            Err(e) => panic!("open: {e}"),
        }
    }

    async fn put(storage: &Storage, table: &TableLayout, item: Item) {
        let key = PrimaryKey {
            hash: item.get("pk").cloned().unwrap_or(AttributeValue::Null),
            range: table
                .schema
                .range
                .as_ref()
                .and_then(|_| item.get("sk").cloned()),
        };
        let outcome = storage
            .write(&[(table, key)], Cause::User, |_| {
                Ok::<_, ()>((vec![Mutation::Put(item)], ()))
            })
            .await;
        assert!(matches!(outcome, Ok(Ok(()))), "put failed: {outcome:?}");
    }

    #[tokio::test]
    async fn replicas_keep_the_newest_write_of_an_item_by_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let storage = open(dir.path(), true);
        let table = layout(1, None);
        let key = pk(s("a"), None);
        let version = |time_ms, region: &str| Version {
            time_ms,
            region: region.into(),
        };
        // Before the table has replicas, a write keeps no version.
        put(&storage, &table, item(&key, &[("v", n("1"))])).await;
        assert_eq!(storage.versioned_item(&table, &key).await.unwrap().1, None);
        let head = storage.set_versioned(1, &table.schema, Some("us-east-1"));
        put(&storage, &table, item(&key, &[("v", n("2"))])).await;
        let local = storage.changes_after(head.seq, 10).unwrap();
        let (_, mine) = storage.versioned_item(&table, &key).await.unwrap();
        assert_eq!(mine, Some(version(local[0].time_ms, "us-east-1")));

        // An older change from elsewhere loses; a newer one wins and says where it came from.
        let older = version(local[0].time_ms - 1, "eu-west-1");
        // What the caller measures sees the item replaced and the image.
        let replaced = |old: Option<&Item>, new: Option<&Item>| (old.cloned(), new.cloned());
        let lost = storage.apply_replicated(
            &table,
            &key,
            Some(item(&key, &[("v", n("3"))])),
            &older,
            replaced,
        );
        assert_eq!(lost.await.unwrap(), None);
        let newer = version(local[0].time_ms + 5, "eu-west-1");
        let theirs = Some(item(&key, &[("v", n("4"))]));
        assert_eq!(
            storage
                .apply_replicated(&table, &key, theirs.clone(), &newer, replaced)
                .await
                .unwrap(),
            Some((Some(item(&key, &[("v", n("2"))])), theirs.clone()))
        );
        assert_eq!(
            storage
                .apply_replicated(&table, &key, theirs.clone(), &newer, replaced)
                .await
                .unwrap(),
            None
        );
        assert_eq!(storage.get(&table, &key).unwrap(), theirs);
        let records = storage.changes_after(local[0].seq, 10).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].cause, Cause::Replicated);
        assert_eq!(records[0].origin, Some(newer.clone()));

        // A replicated delete leaves its version behind: an older put cannot bring the item back.
        let deleted = version(newer.time_ms + 1, "ap-south-1");
        assert_eq!(
            storage
                .apply_replicated(&table, &key, None, &deleted, replaced)
                .await
                .unwrap(),
            Some((theirs.clone(), None))
        );
        assert_eq!(
            storage
                .apply_replicated(&table, &key, theirs, &newer, replaced)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            storage.versioned_item(&table, &key).await.unwrap(),
            (None, Some(deleted))
        );
        // And the table's own reads never see versions.
        let page = storage.scan(&table, None, None).unwrap();
        assert_eq!(page.count(), 0);

        // Without replicas again, local writes keep no new version.
        storage.set_versioned(1, &table.schema, None);
        put(&storage, &table, item(&key, &[("v", n("5"))])).await;
        let (_, kept) = storage.versioned_item(&table, &key).await.unwrap();
        assert_eq!(kept.map(|v| v.region), Some("ap-south-1".to_string()));
    }

    #[tokio::test]
    async fn tombstones_past_a_time_are_collected_and_live_versions_kept() {
        let dir = tempfile::tempdir().unwrap();
        let storage = open(dir.path(), true);
        let table = layout(1, None);
        storage.set_versioned(1, &table.schema, Some("us-east-1"));
        let (gone, other, live) = (pk(s("a"), None), pk(s("b"), None), pk(s("c"), None));
        for key in [&gone, &other, &live] {
            put(&storage, &table, item(key, &[])).await;
        }
        delete(&storage, &table, gone.clone()).await;
        delete(&storage, &table, other.clone()).await;
        let (_, tombstone) = storage.versioned_item(&table, &gone).await.unwrap();
        let made = tombstone.unwrap().time_ms;
        let all =
            |before_ms| storage.collect_versions(&table, Collect::Tombstones, None, before_ms, 100);

        // Nothing made before the deletes: nothing collected.
        assert_eq!(
            all(made).await.unwrap(),
            Collected {
                removed: 0,
                next: None
            }
        );
        // A page at a time: the first page sees `a` only.
        let first = storage
            .collect_versions(&table, Collect::Tombstones, None, u64::MAX, 1)
            .await
            .unwrap();
        assert_eq!(first.removed, 1);
        assert_eq!(
            storage.versioned_item(&table, &gone).await.unwrap(),
            (None, None)
        );
        let rest = storage
            .collect_versions(
                &table,
                Collect::Tombstones,
                first.next.as_deref(),
                u64::MAX,
                100,
            )
            .await
            .unwrap();
        assert_eq!(
            rest,
            Collected {
                removed: 1,
                next: None
            }
        );
        assert_eq!(
            storage.versioned_item(&table, &other).await.unwrap(),
            (None, None)
        );
        // The live item keeps its version, however old.
        let (kept, version) = storage.versioned_item(&table, &live).await.unwrap();
        assert!(kept.is_some() && version.is_some());
        assert_eq!(all(u64::MAX).await.unwrap().removed, 0);

        // Once the table is no longer global, every version goes, and the items stay.
        storage.set_versioned(1, &table.schema, None);
        let every = storage
            .collect_versions(&table, Collect::Every, None, u64::MAX, 100)
            .await
            .unwrap();
        assert_eq!(
            every,
            Collected {
                removed: 1,
                next: None
            }
        );
        let (kept, version) = storage.versioned_item(&table, &live).await.unwrap();
        assert!(kept.is_some() && version.is_none());
    }

    async fn delete(storage: &Storage, table: &TableLayout, key: PrimaryKey) {
        let outcome = storage
            .write(&[(table, key)], Cause::Ttl, |_| {
                Ok::<_, ()>((vec![Mutation::Delete], ()))
            })
            .await;
        assert!(matches!(outcome, Ok(Ok(()))), "delete failed: {outcome:?}");
    }

    fn collect(iter: Result<ItemIter<'_>, StorageError>) -> Vec<Item> {
        match iter {
            Ok(iter) => iter
                .map(|r| r.and_then(|s| s.decode()))
                .map(|r| r.unwrap_or_else(|e| panic!("read: {e}")))
                .collect(),
            Err(e) => panic!("range: {e}"),
        }
    }

    fn sort_keys(items: &[Item]) -> Vec<AttributeValue> {
        items.iter().filter_map(|i| i.get("sk").cloned()).collect()
    }

    fn all_changes(storage: &Storage) -> Vec<ChangeRecord> {
        storage
            .changes_after(0, usize::MAX)
            .unwrap_or_else(|e| panic!("changes: {e}"))
    }

    #[tokio::test]
    async fn write_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let table = layout(1, Some(ScalarType::N));
        let key = pk(s("a"), Some(n("1.5")));
        let stored = item(
            &key,
            &[("v", s("hello")), ("b", AttributeValue::Bool(true))],
        );
        put(&storage, &table, stored.clone()).await;
        assert_eq!(
            storage.get(&table, &key).ok().flatten(),
            Some(stored.clone())
        );
        assert_eq!(
            storage
                .get(&table, &pk(s("a"), Some(n("2"))))
                .ok()
                .flatten(),
            None
        );
        // Another table with the same key is a different item.
        assert_eq!(
            storage
                .get(&layout(2, Some(ScalarType::N)), &key)
                .ok()
                .flatten(),
            None
        );
        let stats = storage.table_stats(1);
        assert_eq!(stats.item_count, 1);
        assert_eq!(stats.size_bytes, item_size(&stored) as u64);

        // decide sees the current item; `out` is passed through.
        let seen = storage
            .write(&[(&table, key.clone())], Cause::User, |current| {
                Ok::<_, ()>((vec![Mutation::Keep], current.to_vec()))
            })
            .await;
        assert!(matches!(seen, Ok(Ok(ref v)) if v == &vec![Some(stored.clone())]));

        delete(&storage, &table, key.clone()).await;
        assert_eq!(storage.get(&table, &key).ok().flatten(), None);
        assert_eq!(storage.table_stats(1), TableStats::default());
    }

    #[tokio::test]
    async fn a_refused_decision_writes_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let table = layout(1, None);
        let key = pk(s("a"), None);
        let outcome = storage
            .write(&[(&table, key.clone())], Cause::User, |current| {
                assert_eq!(current, &[None]);
                Err::<(Vec<Mutation>, ()), _>("condition failed")
            })
            .await;
        assert!(matches!(outcome, Ok(Err("condition failed"))));
        assert_eq!(storage.get(&table, &key).ok().flatten(), None);
        assert!(all_changes(&storage).is_empty());
        assert_eq!(*storage.watch_seq().borrow(), 0);

        // A wrong number of mutations is an error, not a panic, and writes nothing.
        let outcome = storage
            .write(&[(&table, key.clone())], Cause::User, |_| {
                Ok::<_, ()>((vec![], ()))
            })
            .await;
        assert!(outcome.is_err());
        // So are duplicate targets.
        let outcome = storage
            .write(
                &[(&table, key.clone()), (&table, key.clone())],
                Cause::User,
                |_| Ok::<_, ()>((vec![Mutation::Delete, Mutation::Delete], ())),
            )
            .await;
        assert!(outcome.is_err());
        assert!(all_changes(&storage).is_empty());
    }

    #[tokio::test]
    async fn keys_past_the_engine_limit_are_refused_and_writes_go_on() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let table = layout(1, None);
        let huge = pk(s(&"x".repeat(70_000)), None);
        let outcome = storage
            .write(&[(&table, huge.clone())], Cause::User, |_| {
                Ok::<_, ()>((vec![Mutation::Put(item(&huge, &[]))], ()))
            })
            .await;
        assert!(
            matches!(outcome, Err(StorageError::KeyTooLong)),
            "{outcome:?}"
        );
        assert!(matches!(
            storage.query(&table, &huge.hash, &SortRange::all(), true, None),
            Err(StorageError::KeyTooLong)
        ));
        assert!(storage.get(&table, &huge).is_err());
        // The commit thread lives on.
        put(&storage, &table, item(&pk(s("a"), None), &[])).await;
        assert!(all_changes(&storage).len() == 1);
    }

    #[tokio::test]
    async fn query_orders_and_bounds_numbers() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let table = layout(3, Some(ScalarType::N));
        let values = ["100", "-10", "2", "0", "-1.5", "10", "0.25"];
        for v in values {
            put(&storage, &table, item(&pk(s("p"), Some(n(v))), &[])).await;
        }
        // A neighbouring partition must not leak in.
        put(&storage, &table, item(&pk(s("q"), Some(n("1"))), &[])).await;
        let ordered: Vec<AttributeValue> = ["-10", "-1.5", "0", "0.25", "2", "10", "100"]
            .iter()
            .map(|v| n(v))
            .collect();

        let all = SortRange::all();
        assert_eq!(
            sort_keys(&collect(storage.query(&table, &s("p"), &all, true, None))),
            ordered
        );
        let mut reversed = ordered.clone();
        reversed.reverse();
        assert_eq!(
            sort_keys(&collect(storage.query(&table, &s("p"), &all, false, None))),
            reversed
        );

        let between = SortRange {
            lower: Bound::Included(n("-1.5")),
            upper: Bound::Included(n("10")),
            prefix: None,
        };
        assert_eq!(
            sort_keys(&collect(storage.query(
                &table,
                &s("p"),
                &between,
                true,
                None
            ))),
            vec![n("-1.5"), n("0"), n("0.25"), n("2"), n("10")]
        );
        let open_range = SortRange {
            lower: Bound::Excluded(n("-1.5")),
            upper: Bound::Excluded(n("10")),
            prefix: None,
        };
        assert_eq!(
            sort_keys(&collect(storage.query(
                &table,
                &s("p"),
                &open_range,
                false,
                None
            ))),
            vec![n("2"), n("0.25"), n("0")]
        );
        let greater = SortRange {
            lower: Bound::Excluded(n("2")),
            upper: Bound::Unbounded,
            prefix: None,
        };
        assert_eq!(
            sort_keys(&collect(storage.query(
                &table,
                &s("p"),
                &greater,
                true,
                None
            ))),
            vec![n("10"), n("100")]
        );
        let inverted = SortRange {
            lower: Bound::Included(n("10")),
            upper: Bound::Included(n("2")),
            prefix: None,
        };
        assert!(collect(storage.query(&table, &s("p"), &inverted, true, None)).is_empty());

        // Exclusive start resumes after the key, in either direction.
        let start = pk(s("p"), Some(n("0.25")));
        assert_eq!(
            sort_keys(&collect(storage.query(
                &table,
                &s("p"),
                &all,
                true,
                Some(&start)
            ))),
            vec![n("2"), n("10"), n("100")]
        );
        assert_eq!(
            sort_keys(&collect(storage.query(
                &table,
                &s("p"),
                &all,
                false,
                Some(&start)
            ))),
            vec![n("0"), n("-1.5"), n("-10")]
        );
        assert!(collect(storage.query(&table, &s("none"), &all, true, None)).is_empty());
    }

    #[tokio::test]
    async fn query_begins_with_strings_and_binary() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let table = layout(4, Some(ScalarType::S));
        for v in [
            "a",
            "ab",
            "ab\u{0}",
            "abc",
            "abd",
            "ab\u{10FFFF}",
            "ac",
            "b",
            "aa",
        ] {
            put(&storage, &table, item(&pk(s("p"), Some(s(v))), &[])).await;
        }
        let prefixed = SortRange {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            prefix: Some(s("ab")),
        };
        let expected: Vec<AttributeValue> = ["ab", "ab\u{0}", "abc", "abd", "ab\u{10FFFF}"]
            .iter()
            .map(|v| s(v))
            .collect();
        assert_eq!(
            sort_keys(&collect(storage.query(
                &table,
                &s("p"),
                &prefixed,
                true,
                None
            ))),
            expected
        );
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(
            sort_keys(&collect(storage.query(
                &table,
                &s("p"),
                &prefixed,
                false,
                None
            ))),
            reversed
        );
        let start = pk(s("p"), Some(s("abc")));
        assert_eq!(
            sort_keys(&collect(storage.query(
                &table,
                &s("p"),
                &prefixed,
                false,
                Some(&start)
            ))),
            vec![s("ab\u{0}"), s("ab")]
        );

        let bin = layout(5, Some(ScalarType::B));
        let b = |v: &[u8]| AttributeValue::B(v.to_vec());
        for v in [
            &[1u8][..],
            &[1, 0xFF],
            &[1, 0xFF, 0],
            &[1, 0xFF, 0xFF, 3],
            &[2],
            &[1, 0xFE, 9],
        ] {
            put(&storage, &bin, item(&pk(s("p"), Some(b(v))), &[])).await;
        }
        let prefixed = SortRange {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            prefix: Some(b(&[1, 0xFF])),
        };
        assert_eq!(
            sort_keys(&collect(storage.query(
                &bin,
                &s("p"),
                &prefixed,
                true,
                None
            ))),
            vec![b(&[1, 0xFF]), b(&[1, 0xFF, 0]), b(&[1, 0xFF, 0xFF, 3])]
        );
        assert_eq!(
            sort_keys(&collect(storage.query(
                &bin,
                &s("p"),
                &prefixed,
                false,
                None
            ))),
            vec![b(&[1, 0xFF, 0xFF, 3]), b(&[1, 0xFF, 0]), b(&[1, 0xFF])]
        );
    }

    #[tokio::test]
    async fn scan_segments_partition_the_table() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), false);
        let table = layout(6, None);
        let other = layout(7, None);
        for i in 0..300 {
            put(&storage, &table, item(&pk(s(&format!("k{i}")), None), &[])).await;
        }
        put(&storage, &other, item(&pk(s("x"), None), &[])).await;
        let whole = collect(storage.scan(&table, None, None));
        assert_eq!(whole.len(), 300);
        for total in [1u32, 2, 3, 8, 13] {
            let mut union = Vec::new();
            for segment in 0..total {
                union.extend(collect(storage.scan(&table, Some((segment, total)), None)));
            }
            // Segments are consecutive slices of the scan order: concatenated, they are it.
            assert_eq!(union, whole, "total {total}");
        }
        assert!(collect(storage.scan(&table, Some((3, 3)), None)).is_empty());
        assert!(collect(storage.scan(&table, Some((0, 0)), None)).is_empty());

        // Exclusive start resumes right after the given key, also within a segment.
        let start_item = &whole[99];
        let start = pk(
            start_item
                .get("pk")
                .cloned()
                .unwrap_or(AttributeValue::Null),
            None,
        );
        assert_eq!(
            collect(storage.scan(&table, None, Some(&start))),
            whole[100..].to_vec()
        );
        let seg1 = collect(storage.scan(&table, Some((1, 2)), None));
        let first = pk(
            seg1[0].get("pk").cloned().unwrap_or(AttributeValue::Null),
            None,
        );
        assert_eq!(
            collect(storage.scan(&table, Some((1, 2)), Some(&first))),
            seg1[1..].to_vec()
        );
    }

    #[tokio::test]
    async fn a_table_only_the_feed_reads_logs_that_the_item_existed_and_is_not_indexed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let (table, other) = (layout(8, None), layout(9, None));
        let key = pk(s("a"), None);
        let (v1, v2, v3) = (
            item(&key, &[("v", n("1"))]),
            item(&key, &[("v", n("2"))]),
            item(&key, &[("v", n("3"))]),
        );
        storage.set_log_detail(8, LogDetail::FeedOnly);
        put(&storage, &table, v1.clone()).await;
        put(&storage, &table, v2.clone()).await;
        put(&storage, &other, v1.clone()).await;
        put(&storage, &other, v2.clone()).await;
        delete(&storage, &table, key.clone()).await;
        let head = storage.set_log_detail(8, LogDetail::Full);
        put(&storage, &table, v1.clone()).await;
        put(&storage, &table, v3.clone()).await;

        let records = all_changes(&storage);
        // Table, old image, old image elided, new image, new image elided.
        type Shape = (u64, Option<Item>, bool, Option<Item>, bool);
        let shape: Vec<Shape> = records
            .iter()
            .map(|r| {
                (
                    r.table_id,
                    r.old_image.clone(),
                    r.old_image_elided,
                    r.new_image.clone(),
                    r.new_image_elided,
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                // Keys only, and whether the item existed before and after.
                (8, None, false, None, true),
                (8, None, true, None, true),
                // Another table keeps its images.
                (9, None, false, Some(v1.clone()), false),
                (9, Some(v1.clone()), false, Some(v2), false),
                (8, None, true, None, false),
                // Kept again from the switch on.
                (8, None, false, Some(v1.clone()), false),
                (8, Some(v1), false, Some(v3), false),
            ]
        );
        assert_eq!(
            head.seq, 5,
            "the switch names the last record written without"
        );
        assert_eq!(head.time_ms, records[4].time_ms);
        let indexed = |table_id| {
            let listed = storage.table_changes(table_id, 0, u64::MAX, 100);
            listed
                .unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(indexed(8), [6, 7], "indexed from the switch on");
        assert_eq!(indexed(9), [3, 4]);
    }

    #[tokio::test]
    async fn change_log_sees_every_change_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let table = layout(8, None);
        let key = pk(s("a"), None);
        let v1 = item(&key, &[("v", n("1"))]);
        let v2 = item(&key, &[("v", n("2"))]);
        put(&storage, &table, v1.clone()).await;
        put(&storage, &table, v1.clone()).await; // unchanged: no record
        put(&storage, &table, v2.clone()).await;
        delete(&storage, &table, key.clone()).await;
        delete(&storage, &table, key.clone()).await; // missing: no record
                                                     // A transaction: two puts, one keep, one record each for the puts.
        let (kb, kc, kd) = (pk(s("b"), None), pk(s("c"), None), pk(s("d"), None));
        let (ib, ic) = (item(&kb, &[]), item(&kc, &[]));
        let targets = [
            (&table, kb.clone()),
            (&table, kc.clone()),
            (&table, kd.clone()),
        ];
        let outcome = storage
            .write(&targets, Cause::User, |_| {
                Ok::<_, ()>((
                    vec![
                        Mutation::Put(ib.clone()),
                        Mutation::Put(ic.clone()),
                        Mutation::Keep,
                    ],
                    (),
                ))
            })
            .await;
        assert!(matches!(outcome, Ok(Ok(()))));

        let records = all_changes(&storage);
        let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        let images: Vec<(Option<Item>, Option<Item>)> = records
            .iter()
            .map(|r| (r.old_image.clone(), r.new_image.clone()))
            .collect();
        assert_eq!(
            images,
            vec![
                (None, Some(v1.clone())),
                (Some(v1), Some(v2.clone())),
                (Some(v2), None),
                (None, Some(ib)),
                (None, Some(ic)),
            ]
        );
        assert_eq!(records[2].cause, Cause::Ttl);
        assert_eq!(records[0].cause, Cause::User);
        assert_eq!(records[0].keys, table.schema.key_item(&key));
        assert_eq!(records[0].table_name, "t8");
        assert_eq!(records[0].table_id, 8);
        assert!(records.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        assert!(records[0].time_ms > 0);
        assert_eq!(*storage.watch_seq().borrow(), 5);

        let page = storage.changes_after(2, 2).unwrap_or_default();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4]);
        assert!(storage.changes_after(5, 10).unwrap_or_default().is_empty());

        // The sequence continues after a reopen.
        drop(storage);
        let storage = open(dir.path(), true);
        assert_eq!(*storage.watch_seq().borrow(), 5);
        put(&storage, &table, item(&key, &[])).await;
        assert_eq!(
            storage
                .changes_after(5, 10)
                .unwrap_or_default()
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>(),
            vec![6]
        );
    }

    #[tokio::test]
    async fn acknowledged_writes_survive_reopen() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let table = layout(9, Some(ScalarType::N));
        let other = layout(10, None);
        let mut expected = Vec::new();
        {
            let storage = open(dir.path(), true);
            for i in 0..50 {
                let it = item(
                    &pk(s("p"), Some(n(&i.to_string()))),
                    &[("v", s(&"x".repeat(i)))],
                );
                put(&storage, &table, it.clone()).await;
                expected.push(it);
            }
            put(&storage, &other, item(&pk(s("o"), None), &[])).await;
            delete(&storage, &other, pk(s("o"), None)).await;
            assert!(matches!(
                storage.put_meta("table/a", Some(b"{}".to_vec())).await,
                Ok(())
            ));
            // Dropped without any shutdown call.
        }
        let storage = open(dir.path(), true);
        assert_eq!(
            collect(storage.query(&table, &s("p"), &SortRange::all(), true, None)),
            expected
        );
        let stats = storage.table_stats(9);
        assert_eq!(stats.item_count, 50);
        assert_eq!(
            stats.size_bytes,
            expected.iter().map(|i| item_size(i) as u64).sum::<u64>()
        );
        assert_eq!(storage.table_stats(10), TableStats::default());
        assert_eq!(all_changes(&storage).len(), 52);
        assert_eq!(
            storage.list_meta("table/").ok(),
            Some(vec![("table/a".to_owned(), b"{}".to_vec())])
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_increments_are_serialized() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let table = Arc::new(layout(11, None));
        let key = pk(s("counter"), None);
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (storage, table, key) = (Arc::clone(&storage), Arc::clone(&table), key.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let outcome = storage
                        .write(&[(&*table, key.clone())], Cause::User, |current| {
                            let count = current
                                .first()
                                .and_then(|c| c.as_ref())
                                .and_then(|i| match i.get("n") {
                                    Some(AttributeValue::N(v)) => v.to_i64(),
                                    _ => None,
                                })
                                .unwrap_or(0);
                            let next = item(
                                &key,
                                &[("n", AttributeValue::N(Number::from_i64(count + 1)))],
                            );
                            Ok::<_, ()>((vec![Mutation::Put(next)], ()))
                        })
                        .await;
                    assert!(matches!(outcome, Ok(Ok(()))));
                }
            }));
        }
        for task in tasks {
            assert!(task.await.is_ok());
        }
        let last = storage
            .get(&table, &key)
            .ok()
            .flatten()
            .and_then(|i| i.get("n").cloned());
        assert_eq!(last, Some(AttributeValue::N(Number::from_i64(800))));
        assert_eq!(all_changes(&storage).len(), 800);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn overlapping_transactions_in_any_order_do_not_deadlock() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), false);
        let table = Arc::new(layout(12, None));
        let keys: Vec<PrimaryKey> = (0..6).map(|i| pk(s(&format!("k{i}")), None)).collect();
        let mut tasks = Vec::new();
        for t in 0..8usize {
            let (storage, table) = (Arc::clone(&storage), Arc::clone(&table));
            // Each task takes a rotated, sometimes reversed, overlapping subset.
            let mut mine: Vec<PrimaryKey> =
                (0..4).map(|j| keys[(t + j) % keys.len()].clone()).collect();
            if t % 2 == 1 {
                mine.reverse();
            }
            tasks.push(tokio::spawn(async move {
                for round in 0..40 {
                    let targets: Vec<(&TableLayout, PrimaryKey)> =
                        mine.iter().map(|k| (&*table, k.clone())).collect();
                    let puts: Vec<Mutation> = mine
                        .iter()
                        .map(|k| Mutation::Put(item(k, &[("by", n(&format!("{t}{round}")))])))
                        .collect();
                    // Yield inside the locked section's neighbourhood to shuffle interleavings.
                    tokio::task::yield_now().await;
                    let outcome = storage
                        .write(&targets, Cause::User, |_| Ok::<_, ()>((puts, ())))
                        .await;
                    assert!(matches!(outcome, Ok(Ok(()))));
                }
            }));
        }
        let all = async {
            for task in tasks {
                assert!(task.await.is_ok());
            }
        };
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(60), all)
                .await
                .is_ok(),
            "deadlock"
        );
        assert_eq!(storage.table_stats(12).item_count, 6);
    }

    #[tokio::test]
    async fn dropping_a_table_removes_only_its_items() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), true);
        let doomed = layout(13, Some(ScalarType::N));
        let kept = layout(14, None);
        for i in 0..2500 {
            put(
                &storage,
                &doomed,
                item(&pk(s(&format!("p{}", i % 7)), Some(n(&i.to_string()))), &[]),
            )
            .await;
        }
        put(&storage, &kept, item(&pk(s("k"), None), &[])).await;
        assert_eq!(storage.table_stats(13).item_count, 2500);
        assert!(storage.drop_table_data(13).await.is_ok());
        assert!(collect(storage.scan(&doomed, None, None)).is_empty());
        assert_eq!(storage.table_stats(13), TableStats::default());
        assert_eq!(collect(storage.scan(&kept, None, None)).len(), 1);
        drop(storage);
        let storage = open(dir.path(), true);
        assert!(collect(storage.scan(&doomed, None, None)).is_empty());
        assert_eq!(storage.table_stats(13), TableStats::default());
        assert_eq!(storage.table_stats(14).item_count, 1);
    }

    #[tokio::test]
    async fn meta_records_put_list_delete() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), false);
        for (k, v) in [("table/b", "2"), ("table/a", "1"), ("tag/a", "3")] {
            assert!(storage
                .put_meta(k, Some(v.as_bytes().to_vec()))
                .await
                .is_ok());
        }
        let tables = storage.list_meta("table/").unwrap_or_default();
        assert_eq!(
            tables,
            vec![
                ("table/a".to_owned(), b"1".to_vec()),
                ("table/b".to_owned(), b"2".to_vec())
            ]
        );
        assert_eq!(storage.list_meta("").unwrap_or_default().len(), 3);
        assert!(storage.put_meta("table/a", None).await.is_ok());
        assert_eq!(storage.list_meta("table/").unwrap_or_default().len(), 1);
        // Catalog records are not item changes.
        assert!(all_changes(&storage).is_empty());
    }

    /// Where the crash test's child process writes; unset in a normal test run.
    const CRASH_DIR_ENV: &str = "STORE_STORAGE_CRASH_TEST_DIR";

    /// The child half of `killed_process_keeps_acknowledged_writes`: writes items forever,
    /// printing each acknowledged index, until the parent kills it. A no-op otherwise.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn crash_child_writer() {
        let Ok(dir) = std::env::var(CRASH_DIR_ENV) else {
            return;
        };
        let storage = open(Path::new(&dir), true);
        let table = Arc::new(layout(20, Some(ScalarType::N)));
        // Several concurrent writers so acknowledgements come from shared fsyncs.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for w in 0..4u64 {
            let (storage, table, tx) = (Arc::clone(&storage), Arc::clone(&table), tx.clone());
            tokio::spawn(async move {
                for i in (w..).step_by(4) {
                    let key = pk(s("p"), Some(AttributeValue::N(Number::from_u64(i))));
                    put(&storage, &table, item(&key, &[("v", s("payload"))])).await;
                    if tx.send(i).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A parent that never kills us must not leave us running: give up after a minute,
        // which closes stdout and fails the parent's test instead of hanging it.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while let Ok(Some(i)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            let _ = writeln!(out, "acked {i}");
            let _ = out.flush();
        }
    }

    #[test]
    fn killed_process_keeps_acknowledged_writes() {
        use std::io::BufRead;
        if std::env::var(CRASH_DIR_ENV).is_ok() {
            return;
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
        let mut child = std::process::Command::new(exe)
            .args([
                "--exact",
                "storage::tests::crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DIR_ENV, dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut acked = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(i) = line
                .strip_prefix("acked ")
                .and_then(|v| v.parse::<u64>().ok())
            {
                acked.push(i);
                if acked.len() >= 300 {
                    break;
                }
            }
        }
        // SIGKILL: no destructor, no engine shutdown, no final journal sync.
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            acked.len() >= 300,
            "child stopped early after {} writes",
            acked.len()
        );

        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            let storage = open(dir.path(), true);
            let table = layout(20, Some(ScalarType::N));
            for i in &acked {
                let key = pk(s("p"), Some(AttributeValue::N(Number::from_u64(*i))));
                assert!(
                    storage.get(&table, &key).ok().flatten().is_some(),
                    "acknowledged write {i} lost"
                );
            }
            // The change log and stats agree with the items that survived.
            let items = collect(storage.scan(&table, None, None));
            assert_eq!(storage.table_stats(20).item_count, items.len() as u64);
            assert_eq!(all_changes(&storage).len(), items.len());
            put(&storage, &table, item(&pk(s("after"), Some(n("1"))), &[])).await;
            let last = all_changes(&storage).last().map(|r| r.seq);
            assert_eq!(last, Some(items.len() as u64 + 1));
        });
    }

    /// Random puts, deletes, keeps and multi-item transactions against a `BTreeMap` model:
    /// final items, stats and the change log (with images) must equal the model's history.
    #[tokio::test]
    async fn random_writes_match_a_model() {
        use std::collections::BTreeMap;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path(), false);
        let table = layout(40, Some(ScalarType::N));
        let mut model: BTreeMap<(String, i64), Item> = BTreeMap::new();
        let mut history: Vec<(Option<Item>, Option<Item>)> = Vec::new();
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |bound: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % bound
        };
        for _ in 0..600 {
            let width = 1 + next(4) as usize;
            let mut chosen: Vec<(String, i64)> = Vec::new();
            while chosen.len() < width {
                let k = (format!("p{}", next(3)), next(5) as i64 - 2);
                if !chosen.contains(&k) {
                    chosen.push(k);
                }
            }
            let plan: Vec<u64> = chosen.iter().map(|_| next(4)).collect();
            let value = next(3);
            let refuse = next(10) == 0;
            let targets: Vec<(&TableLayout, PrimaryKey)> = chosen
                .iter()
                .map(|(h, r)| {
                    (
                        &table,
                        pk(s(h), Some(AttributeValue::N(Number::from_i64(*r)))),
                    )
                })
                .collect();
            let keys: Vec<PrimaryKey> = targets.iter().map(|(_, k)| k.clone()).collect();
            let expected_current: Vec<Option<Item>> =
                chosen.iter().map(|k| model.get(k).cloned()).collect();
            let outcome = storage
                .write(&targets, Cause::User, |current| {
                    assert_eq!(current, expected_current.as_slice());
                    if refuse {
                        return Err(());
                    }
                    let mutations = plan
                        .iter()
                        .zip(&keys)
                        .map(|(p, key)| match p {
                            0 => Mutation::Delete,
                            1 => Mutation::Keep,
                            _ => Mutation::Put(item(
                                key,
                                &[("v", AttributeValue::N(Number::from_u64(value)))],
                            )),
                        })
                        .collect();
                    Ok((mutations, ()))
                })
                .await;
            match outcome {
                Ok(Err(())) => assert!(refuse),
                Ok(Ok(())) => {
                    for ((k, p), key) in chosen.iter().zip(&plan).zip(&keys) {
                        let old = model.get(k).cloned();
                        let new = match p {
                            0 => None,
                            1 => continue,
                            _ => Some(item(
                                key,
                                &[("v", AttributeValue::N(Number::from_u64(value)))],
                            )),
                        };
                        if old != new {
                            history.push((old, new.clone()));
                        }
                        match new {
                            Some(new) => model.insert(k.clone(), new),
                            None => model.remove(k),
                        };
                    }
                }
                Err(e) => panic!("write: {e}"),
            }
        }
        let stored: Vec<Item> = collect(storage.scan(&table, None, None));
        let mut sorted_stored = stored.clone();
        sorted_stored.sort_by_key(|i| format!("{i:?}"));
        let mut expected: Vec<Item> = model.values().cloned().collect();
        expected.sort_by_key(|i| format!("{i:?}"));
        assert_eq!(sorted_stored, expected);
        let stats = storage.table_stats(40);
        assert_eq!(stats.item_count, model.len() as u64);
        assert_eq!(
            stats.size_bytes,
            model.values().map(|i| item_size(i) as u64).sum::<u64>()
        );
        let log: Vec<(Option<Item>, Option<Item>)> = all_changes(&storage)
            .into_iter()
            .map(|r| (r.old_image, r.new_image))
            .collect();
        assert_eq!(log, history);
        for (h, _) in model.keys() {
            let in_partition = collect(storage.query(&table, &s(h), &SortRange::all(), true, None));
            let from_model: Vec<Item> = model
                .iter()
                .filter(|((mh, _), _)| mh == h)
                .map(|(_, i)| i.clone())
                .collect();
            assert_eq!(in_partition, from_model);
        }
    }
}
