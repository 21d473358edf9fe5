//! The storage layer: items, the change log and catalog records on the embedded engine.
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

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use shared::model::{AttributeValue, Item, KeySchema, PrimaryKey};

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

/// Why an item changed, as the change log records it (streams show TTL deletes as a
/// service REMOVE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    User,
    Ttl,
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
    pub new_image: Option<Item>,
    pub cause: Cause,
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
        SortRange { lower: Bound::Unbounded, upper: Bound::Unbounded, prefix: None }
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
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions { durable: true, cache_bytes: 256 * 1024 * 1024 }
    }
}

/// An item iterator from a range read, in key order (or reverse).
pub type ItemIter<'a> = Box<dyn Iterator<Item = Result<Item, StorageError>> + Send + 'a>;

/// The store's storage engine handle. Cheap to share (`Arc`).
pub struct Storage {
    _private: (),
}

impl Storage {
    /// Opens (or creates) the data directory and starts the group-commit task.
    pub fn open(dir: &Path, options: StorageOptions) -> Result<Arc<Storage>, StorageError> {
        let _ = (dir, options);
        todo!("storage helper")
    }

    /// Point read of one item.
    pub fn get(&self, table: &TableLayout, key: &PrimaryKey) -> Result<Option<Item>, StorageError> {
        let _ = (table, key);
        todo!("storage helper")
    }

    /// The one write path. Locks `targets`, reads their current items (in `targets` order),
    /// calls `decide` with them; if it returns `Ok((mutations, out))` (one mutation per
    /// target), commits them atomically with their change-log records and waits until they
    /// are durable, then returns `Ok(Ok(out))`. If `decide` returns `Err(e)`, nothing is
    /// written and `Ok(Err(e))` is returned. Puts and deletes that change nothing write no
    /// change record.
    pub async fn write<T, E>(
        &self,
        targets: &[(&TableLayout, PrimaryKey)],
        cause: Cause,
        decide: impl FnOnce(&[Option<Item>]) -> Result<(Vec<Mutation>, T), E>,
    ) -> Result<Result<T, E>, StorageError> {
        let _ = (targets, cause, decide);
        todo!("storage helper")
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
        let _ = (table, hash, range, forward, exclusive_start);
        todo!("storage helper")
    }

    /// Items of the table in scan order (partition hash, then key). With
    /// `segment = Some((s, total))` only the s-th of `total` equal hash ranges.
    pub fn scan<'a>(
        &'a self,
        table: &TableLayout,
        segment: Option<(u32, u32)>,
        exclusive_start: Option<&PrimaryKey>,
    ) -> Result<ItemIter<'a>, StorageError> {
        let _ = (table, segment, exclusive_start);
        todo!("storage helper")
    }

    /// Change records with `seq > after`, at most `limit`, in order.
    pub fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, StorageError> {
        let _ = (after, limit);
        todo!("storage helper")
    }

    /// The newest committed sequence number; changes whenever a write commits, so
    /// followers can long-poll.
    pub fn watch_seq(&self) -> tokio::sync::watch::Receiver<u64> {
        todo!("storage helper")
    }

    pub fn table_stats(&self, table_id: u64) -> TableStats {
        let _ = table_id;
        todo!("storage helper")
    }

    /// Removes every item of a dropped table (runs in the background after DeleteTable).
    pub async fn drop_table_data(&self, table_id: u64) -> Result<(), StorageError> {
        let _ = table_id;
        todo!("storage helper")
    }

    /// Durable catalog records (table descriptions, tags, settings): key → JSON bytes.
    pub async fn put_meta(&self, key: &str, value: Option<Vec<u8>>) -> Result<(), StorageError> {
        let _ = (key, value);
        todo!("storage helper")
    }

    /// Every catalog record whose key starts with `prefix`.
    pub fn list_meta(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let _ = prefix;
        todo!("storage helper")
    }
}
