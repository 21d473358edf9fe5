//! The table catalog: every table's definition and status, kept in memory and persisted as
//! storage meta records so that it survives restarts.
//!
//! # Shape
//! - Readers (every data-plane request) take a read lock for a map lookup and clone an
//!   `Arc<TableMeta>`; a table definition never changes under a request.
//! - Writers (control-plane calls, and other subsystems that change a table's metadata)
//!   are serialized by one async mutex, persist the new record durably, then publish the
//!   new `Arc` (so a crash never loses an acknowledged control-plane change).
//! - Records: `catalog/table/<name>` → [`TableMeta`] JSON; `catalog/next-table-id` → the
//!   next table id (ids are never reused, so a dropped table's leftover items can never
//!   appear in a new table); `catalog/dropping/<id>` marks a deleted table whose items
//!   are still being removed (the drop resumes after a restart).
//! - Tables are ACTIVE as soon as they are created (DYNAMODB.md §6): CreateTable still
//!   answers CREATING, as the service does, and the first DescribeTable sees ACTIVE.
//!
//! Not here: request validation (the `api` handlers and [`definition`]), index
//! maintenance and backfill (a later subsystem flips a new GSI to ACTIVE with
//! [`Catalog::update`]).

#[cfg(test)]
mod control_plane_tests;
pub mod definition;
pub mod meta;
pub mod quota;
pub mod vector;
pub mod warm;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use shared::wire::error::{ApiError, ErrorCode};

use crate::config::Config;
use crate::storage::{LogDetail, Storage, StorageError, TableNotice};

pub use meta::{
    BillingMode, IndexMeta, IndexProjection, IndexStatus, ProjectionType, SseMeta, StreamMeta,
    TableMeta, TableStatus, Throughput,
};

const TABLE_PREFIX: &str = "catalog/table/";
const DROPPING_PREFIX: &str = "catalog/dropping/";
const NEXT_ID_KEY: &str = "catalog/next-table-id";

/// All tables, by name.
pub struct Catalog {
    tables: RwLock<BTreeMap<String, Arc<TableMeta>>>,
    /// Serializes catalog changes (check, persist, publish).
    ddl: tokio::sync::Mutex<()>,
    /// The next table id to hand out (persisted before use).
    next_id: parking_lot::Mutex<u64>,
    /// `arn:aws:dynamodb:<region>:<account>:table/`.
    arn_prefix: String,
    /// This store's region: the one its global tables' local writes are versioned with.
    region: String,
    /// What any one table, and all of them together, may ask for.
    quotas: quota::Quotas,
    /// Bumped after every published change, for subsystems that follow the catalog.
    version: tokio::sync::watch::Sender<u64>,
}

impl Catalog {
    /// Loads every table's record from storage (at startup) and resumes the removal of
    /// the items of tables deleted before a restart (when called inside a tokio runtime).
    pub fn load(storage: &Arc<Storage>, config: &Config) -> Result<Catalog, StorageError> {
        let mut next_id: u64 = 1;
        for (key, value) in storage.list_meta(NEXT_ID_KEY)? {
            if key == NEXT_ID_KEY {
                next_id =
                    parse_u64(&value).ok_or_else(|| StorageError::Corrupt(key.into_bytes()))?;
            }
        }
        let mut dropping = Vec::new();
        for (key, _) in storage.list_meta(DROPPING_PREFIX)? {
            let id = key
                .get(DROPPING_PREFIX.len()..)
                .and_then(|s| s.parse::<u64>().ok());
            match id {
                Some(id) => dropping.push(id),
                None => return Err(StorageError::Corrupt(key.into_bytes())),
            }
        }
        let mut tables = BTreeMap::new();
        for (key, value) in storage.list_meta(TABLE_PREFIX)? {
            let mut meta: TableMeta = serde_json::from_slice(&value)
                .map_err(|_| StorageError::Corrupt(key.clone().into_bytes()))?;
            give_vector_indexes_entries(&mut meta);
            next_id = next_id.max(meta.table_id().saturating_add(1));
            // A delete by an older build that stopped between its two writes (mark, then
            // remove the name): the table is gone.
            if dropping.contains(&meta.table_id()) {
                continue;
            }
            publish_to_storage(storage, &meta, &config.region);
            tables.insert(meta.name().to_string(), Arc::new(meta));
        }
        for id in &dropping {
            next_id = next_id.max(id.saturating_add(1));
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            for id in dropping {
                let storage = Arc::clone(storage);
                runtime.spawn(async move { drop_data(storage, id).await });
            }
        }
        let (version, _) = tokio::sync::watch::channel(0);
        Ok(Catalog {
            tables: RwLock::new(tables),
            ddl: tokio::sync::Mutex::new(()),
            next_id: parking_lot::Mutex::new(next_id),
            arn_prefix: format!(
                "arn:aws:dynamodb:{}:{}:table/",
                config.region, config.account_id
            ),
            region: config.region.clone(),
            quotas: config.quotas,
            version,
        })
    }

    /// The table named by `name`, which may also be the table's ARN.
    pub fn get(&self, name: &str) -> Option<Arc<TableMeta>> {
        let name = self.name_of(name)?;
        self.tables.read().get(name).cloned()
    }

    /// [`Catalog::get`] if the table is still the one with id `table_uuid`, not one created
    /// again under its name since (the table a job or a task started on).
    pub fn get_same(&self, name: &str, table_uuid: &str) -> Option<Arc<TableMeta>> {
        self.get(name).filter(|t| t.table_uuid == table_uuid)
    }

    /// The name a request's table parameter stands for: the table name inside an ARN of
    /// this store's tables, else the parameter itself (a foreign ARN is then looked up as
    /// a name, and not found).
    pub fn resolve_name<'a>(&self, name_or_arn: &'a str) -> &'a str {
        self.name_of(name_or_arn).unwrap_or(name_or_arn)
    }

    /// The table name inside `name_or_arn` (itself when it is not an ARN); `None` for an
    /// ARN of another region, account or resource type.
    pub fn name_of<'a>(&self, name_or_arn: &'a str) -> Option<&'a str> {
        if name_or_arn.starts_with("arn:") {
            name_or_arn
                .strip_prefix(self.arn_prefix.as_str())
                .filter(|n| !n.is_empty() && !n.contains('/'))
        } else {
            Some(name_or_arn)
        }
    }

    /// The table a data-plane call names (`TableName` may also be the table's ARN); a
    /// missing or not-yet-ACTIVE table is `ResourceNotFoundException: Requested resource not
    /// found`.
    pub fn table_for_data(&self, name: &str) -> Result<Arc<TableMeta>, ApiError> {
        match self.get(name) {
            Some(table) if table.status != TableStatus::Creating => Ok(table),
            _ => Err(ApiError::resource_not_found()),
        }
    }

    /// The table a control-plane call names: `Requested resource not found: Table: X not
    /// found` when missing.
    pub fn table_for_control(&self, name: &str) -> Result<Arc<TableMeta>, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::table_not_found(name))
    }

    /// The table with storage id `table_id`, if it still exists.
    pub fn by_id(&self, table_id: u64) -> Option<Arc<TableMeta>> {
        self.tables
            .read()
            .values()
            .find(|t| t.table_id() == table_id)
            .cloned()
    }

    /// Every table, by name.
    pub fn all(&self) -> Vec<Arc<TableMeta>> {
        self.tables.read().values().cloned().collect()
    }

    /// Up to `limit` table names after `exclusive_start` (ascending), and whether more
    /// remain.
    pub fn names_after(&self, exclusive_start: Option<&str>, limit: usize) -> (Vec<String>, bool) {
        use std::ops::Bound;
        let tables = self.tables.read();
        let lower = match exclusive_start {
            Some(start) => Bound::Excluded(start.to_string()),
            None => Bound::Unbounded,
        };
        let mut iter = tables
            .range::<String, _>((lower, Bound::Unbounded))
            .map(|(name, _)| name.clone());
        let names: Vec<String> = iter.by_ref().take(limit).collect();
        let more = iter.next().is_some();
        (names, more)
    }

    /// `arn:aws:dynamodb:<region>:<account>:table/<name>`.
    pub fn table_arn(&self, name: &str) -> String {
        format!("{}{}", self.arn_prefix, name)
    }

    /// A receiver that changes after every published catalog change.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Creates a table: `build` gets the new table id and returns its definition. An
    /// existing name is ResourceInUseException `Table already exists: X`.
    pub async fn create(
        &self,
        storage: &Storage,
        name: &str,
        build: impl FnOnce(u64) -> TableMeta,
    ) -> Result<Arc<TableMeta>, ApiError> {
        let _guard = self.ddl.lock().await;
        {
            let tables = self.tables.read();
            if tables.contains_key(name) {
                return Err(ApiError::new(
                    ErrorCode::ResourceInUseException,
                    format!("Table already exists: {name}"),
                ));
            }
            self.quotas.check_table_count(tables.len())?;
        }
        let id = *self.next_id.lock();
        let next = id.saturating_add(1);
        storage
            .put_meta(NEXT_ID_KEY, Some(next.to_string().into_bytes()))
            .await
            .map_err(internal)?;
        *self.next_id.lock() = next;
        let meta = build(id);
        self.check_quotas(None, &meta)?;
        self.persist(storage, &meta, None).await?;
        publish_to_storage(storage, &meta, &self.region);
        let meta = Arc::new(meta);
        self.tables
            .write()
            .insert(name.to_string(), Arc::clone(&meta));
        self.bump();
        Ok(meta)
    }

    /// Changes a table's definition: `change` edits a copy (or refuses with an error,
    /// changing nothing); the copy is persisted and then published. Returns the new
    /// definition. Missing table: the control-plane ResourceNotFoundException.
    pub async fn update(
        &self,
        storage: &Storage,
        name: &str,
        change: impl FnOnce(&mut TableMeta) -> Result<(), ApiError>,
    ) -> Result<Arc<TableMeta>, ApiError> {
        let _guard = self.ddl.lock().await;
        let current = self.table_for_control(name)?;
        let mut next = TableMeta::clone(&current);
        let changed = match change(&mut next) {
            Ok(()) if next == *current => Ok(false),
            Ok(()) => match self.check_quotas(Some(&current), &next) {
                Ok(()) => {
                    let notice = indexes_answer_otherwise(&current, &next).then(|| {
                        TableNotice::IndexesChanged {
                            table_id: next.table_id(),
                            name: next.name(),
                        }
                    });
                    self.persist(storage, &next, notice).await.map(|()| true)
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if !matches!(changed, Ok(true)) {
            // `change` may have switched storage to logging more for a stream or recovery
            // window that is not opening after all: the definition in force says what to log.
            storage.set_log_detail(current.table_id(), log_detail(&current));
            return changed.map(|_| current);
        }
        publish_to_storage(storage, &next, &self.region);
        let next = Arc::new(next);
        self.tables
            .write()
            .insert(next.name().to_string(), Arc::clone(&next));
        self.bump();
        Ok(next)
    }

    /// Deletes a table: `check` may refuse (deletion protection). The table is gone from
    /// the catalog when this returns; its items are removed in the background.
    pub async fn delete(
        &self,
        storage: &Arc<Storage>,
        name: &str,
        check: impl FnOnce(&TableMeta) -> Result<(), ApiError>,
    ) -> Result<Arc<TableMeta>, ApiError> {
        let _guard = self.ddl.lock().await;
        let table = self.table_for_control(name)?;
        check(&table)?;
        let id = table.table_id();
        // One batch: the name is free, the data marked for dropping (load() finishes a
        // drop that a restart interrupted), and followers of the change log told.
        storage
            .write_meta(
                vec![
                    (&format!("{DROPPING_PREFIX}{id}"), Some(Vec::new())),
                    (&format!("{TABLE_PREFIX}{}", table.name()), None),
                ],
                Some(TableNotice::Dropped {
                    table_id: id,
                    name: table.name(),
                }),
            )
            .await
            .map_err(internal)?;
        self.tables.write().remove(table.name());
        storage.set_indexes(id, table.schema(), Vec::new(), Vec::new());
        self.bump();
        let storage = Arc::clone(storage);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { drop_data(storage, id).await });
        }
        Ok(table)
    }

    /// Marks a GSI or vector index created by UpdateTable as filled: ACTIVE, no longer
    /// backfilling. For index maintenance, once every existing item is in the index; the
    /// index is found by its id (one deleted and made again under its name meanwhile is
    /// another index, with its own backfill). A table or index that is gone meanwhile is
    /// not an error (there is nothing left to finish).
    pub async fn finish_backfill(
        &self,
        storage: &Storage,
        table: &str,
        index_id: u16,
    ) -> Result<bool, ApiError> {
        let mut activated = false;
        let result = self
            .update(storage, table, |t| {
                let creating = t
                    .global_indexes
                    .iter_mut()
                    .find(|i| i.index_id == index_id && i.status == IndexStatus::Creating);
                if let Some(i) = creating {
                    i.status = IndexStatus::Active;
                    i.backfilling = false;
                    activated = true;
                }
                let filling = t
                    .vector_indexes
                    .iter_mut()
                    .find(|v| v.index_id == index_id && v.status == IndexStatus::Creating);
                if let Some(v) = filling {
                    v.status = IndexStatus::Active;
                    v.backfilling = false;
                    activated = true;
                }
                Ok(())
            })
            .await;
        match result {
            Err(e) if e.code == ErrorCode::ResourceNotFoundException => Ok(false),
            other => other.map(|_| activated),
        }
    }

    /// Drops a GSI that UpdateTable marked DELETING, once index maintenance has removed its
    /// entries, with the attribute definitions no remaining key uses. A table or index that
    /// is gone meanwhile is not an error.
    pub async fn finish_index_delete(
        &self,
        storage: &Storage,
        table: &str,
        index: &str,
    ) -> Result<(), ApiError> {
        let result = self
            .update(storage, table, |t| {
                t.global_indexes
                    .retain(|i| !(i.name == index && i.status == IndexStatus::Deleting));
                let keep: Vec<_> = t
                    .attribute_definitions
                    .iter()
                    .filter(|a| t.is_key_attribute(&a.name))
                    .cloned()
                    .collect();
                t.attribute_definitions = keep;
                Ok(())
            })
            .await;
        match result {
            Err(e) if e.code == ErrorCode::ResourceNotFoundException => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Persists a table's record, logging `notice` in the same batch.
    async fn persist(
        &self,
        storage: &Storage,
        meta: &TableMeta,
        notice: Option<TableNotice<'_>>,
    ) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(meta).map_err(|e| {
            tracing::error!(error = %e, table = meta.name(), "cannot serialize a table record");
            ApiError::internal()
        })?;
        let key = format!("{TABLE_PREFIX}{}", meta.name());
        storage
            .write_meta(vec![(&key, Some(bytes))], notice)
            .await
            .map_err(internal)
    }

    /// Waits until the catalog change under way, if any, is published to requests.
    ///
    /// A change is persisted (with its change-log notice) before it is published, both
    /// under the DDL lock, so a follower of the log can read a notice a moment before
    /// requests see the change. The change feed waits for this before handing a notice
    /// out: a dax-proxy node that retires its pages on the notice and asks again must get
    /// answers from the new definition, or it would cache the old one's afresh.
    pub async fn settled(&self) {
        drop(self.ddl.lock().await);
    }

    /// Refuses a definition that raises a table's capacity past the account's quotas
    /// (`quota`); `current` is the table's definition in force, if it exists.
    fn check_quotas(&self, current: Option<&TableMeta>, next: &TableMeta) -> Result<(), ApiError> {
        let tables = self.tables.read();
        let others = tables
            .values()
            .filter(|t| t.name() != next.name())
            .map(|t| &**t);
        self.quotas.check(&self.region, current, next, others)
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// Whether a Query or Scan of the table's indexes may answer otherwise under `next` than
/// under `current`: an index was added or removed (also deleted and added again under its
/// name: a new index id), became readable (its backfill finished) or stopped being
/// (DELETING). Capacity settings change nothing they answer.
fn indexes_answer_otherwise(current: &TableMeta, next: &TableMeta) -> bool {
    fn reads(t: &TableMeta) -> impl Iterator<Item = ReadsOfIndex<'_>> {
        t.local_indexes.iter().chain(&t.global_indexes).map(|i| {
            (
                &i.name,
                i.index_id,
                &i.schema,
                &i.projection,
                i.status,
                i.backfilling,
            )
        })
    }
    !reads(current).eq(reads(next))
}

/// What a Query or Scan of one index depends on: its name, id, key schema, projection,
/// status and whether it is still backfilling.
type ReadsOfIndex<'a> = (
    &'a String,
    u16,
    &'a shared::model::KeySchema,
    &'a IndexProjection,
    IndexStatus,
    bool,
);

/// Removes a deleted table's items, then its `dropping` mark.
async fn drop_data(storage: Arc<Storage>, table_id: u64) {
    if let Err(e) = storage.drop_table_data(table_id).await {
        tracing::error!(error = %e, table_id, "cannot remove a deleted table's items");
        return;
    }
    if let Err(e) = storage
        .put_meta(&format!("{DROPPING_PREFIX}{table_id}"), None)
        .await
    {
        tracing::error!(error = %e, table_id, "cannot clear a deleted table's mark");
    }
}

/// Tells storage what its write path maintains for a table, before the definition is
/// published to requests: the secondary indexes (their entries are written in every write
/// batch), what change records carry, and whether local changes keep versions (a global
/// table's, made in `region`).
fn publish_to_storage(storage: &Storage, meta: &TableMeta, region: &str) {
    storage.set_log_detail(meta.table_id(), log_detail(meta));
    let versioned = crate::replication::is_global(meta).then_some(region);
    storage.set_versioned(meta.table_id(), meta.schema(), versioned);
    let indexes = meta
        .local_indexes
        .iter()
        .map(|i| index_layout(i, false))
        // A DELETING index is no longer maintained: its entries are being removed.
        .chain(
            meta.global_indexes
                .iter()
                .filter(|i| i.status != IndexStatus::Deleting)
                .map(|i| index_layout(i, true)),
        )
        .collect();
    let vectors = meta
        .vector_indexes
        .iter()
        // Id 0 is the table's own items: an index without an id of its own has no entries.
        .filter(|v| v.index_id != 0)
        .map(|v| v.layout())
        .collect();
    storage.set_indexes(meta.table_id(), meta.schema(), indexes, vectors);
}

/// What a table's change records must carry for their readers: both images for
/// point-in-time recovery (a restore undoes later changes with the old ones), the images
/// a stream's view type shows, an index entry for any stream or PITR, none of these when
/// only the change feed reads them. Enabling a reader switches storage *before* its window starts
/// (see `api::update_table` and `api::update_continuous_backups`); this catches up with
/// whatever the definition says once it is persisted, and at startup.
pub fn log_detail(meta: &TableMeta) -> LogDetail {
    log_detail_with_stream(meta, meta.enabled_stream().map(|s| s.view_type.as_str()))
}

/// [`log_detail`] of table `meta` (its PITR setting) with a stream of this view type.
pub fn log_detail_with_stream(meta: &TableMeta, stream_view: Option<&str>) -> LogDetail {
    use crate::streams::records::{shows_new_images, shows_old_images};
    // Point-in-time recovery, a Kinesis destination and replicas read both images of every
    // change.
    let full = crate::backup::pitr(meta).is_some_and(|p| p.enabled)
        || crate::kinesis::active(meta).is_some()
        || crate::replication::is_global(meta);
    let indexed = full || stream_view.is_some();
    let old = full || stream_view.is_some_and(shows_old_images);
    let new = full || stream_view.is_some_and(shows_new_images);
    match (indexed, old, new) {
        (false, _, _) => LogDetail::FeedOnly,
        (true, true, true) => LogDetail::Full,
        (true, true, false) => LogDetail::IndexedOld,
        (true, false, true) => LogDetail::IndexedNew,
        (true, false, false) => LogDetail::IndexedKeys,
    }
}

/// A table written by a build whose vector indexes kept no entries: each such index (id
/// 0) gets the table's next index id and is CREATING until `index_tasks` has filled it.
/// Kept in memory only: the backfill's end persists the table, and a restart before it
/// gives the same ids again (the stored record is unchanged until then).
pub fn give_vector_indexes_entries(meta: &mut TableMeta) {
    for at in 0..meta.vector_indexes.len() {
        if meta.vector_indexes[at].index_id != 0 {
            continue;
        }
        let id = meta.claim_index_id();
        let index = &mut meta.vector_indexes[at];
        // Never readable before it is filled; without an id, never filled.
        index.status = IndexStatus::Creating;
        index.backfilling = true;
        match id {
            Some(id) => index.index_id = id,
            None => tracing::error!(table = %meta.layout.name, index = %index.name,
                "no index id left for a vector index"),
        }
    }
}

/// An index definition as storage keeps and reads it.
pub fn index_layout(index: &IndexMeta, global: bool) -> crate::storage::IndexLayout {
    crate::storage::IndexLayout {
        index_id: index.index_id,
        name: index.name.clone(),
        schema: index.schema.clone(),
        projection: index.projection.stored(),
        global,
        filling: index.status == IndexStatus::Creating && index.backfilling,
    }
}

fn parse_u64(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Storage failures are internal errors: logged here, generic on the wire.
fn internal(e: StorageError) -> ApiError {
    tracing::error!(error = %e, "catalog storage failure");
    ApiError::internal()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{StorageOptions, TableStats};

    fn config() -> Config {
        Config::for_tests(std::path::Path::new(""))
    }

    #[test]
    fn vector_indexes_recorded_without_entries_get_ids_and_are_filled() {
        let mut meta = TableMeta::for_tests(4, "t");
        meta.next_index_id = 3;
        let definitions = [shared::model::KeyAttr {
            name: "pk".into(),
            ty: shared::model::ScalarType::S,
        }];
        let index: shared::wire::ops::vector::VectorIndex = serde_json::from_value(
            serde_json::json!({"IndexName": "vix", "VectorAttribute": {"AttributeName": "v"},
                "Dimensions": 2, "DistanceFunction": "COSINE",
                "Projection": {"ProjectionType": "ALL"}}),
        )
        .unwrap();
        let planned = vector::plan(&index, &definitions, "arn").unwrap();
        // As a build before vector index entries wrote it: no id, status or backfill.
        let mut record = serde_json::to_value(&planned).unwrap();
        for field in ["index_id", "status", "backfilling"] {
            record.as_object_mut().unwrap().remove(field);
        }
        let old: vector::VectorIndexMeta = serde_json::from_value(record).unwrap();
        assert_eq!((old.index_id, old.status), (0, IndexStatus::Active));
        meta.vector_indexes = vec![old.clone(), old];
        meta.vector_indexes[1].index_id = 2;
        give_vector_indexes_entries(&mut meta);
        let first = &meta.vector_indexes[0];
        assert_eq!(
            (first.index_id, first.status, first.backfilling),
            (3, IndexStatus::Creating, true)
        );
        // One with entries of its own is left as it is.
        assert_eq!(meta.vector_indexes[1].index_id, 2);
        assert_eq!(meta.vector_indexes[1].status, IndexStatus::Active);
        assert_eq!(meta.next_index_id, 4);
    }

    fn open(dir: &std::path::Path) -> Arc<Storage> {
        match Storage::open(dir, StorageOptions::for_tests()) {
            Ok(s) => s,
            Err(e) => panic!("open: {e}"),
        }
    }

    fn table(catalog: &Catalog, id: u64, name: &str) -> TableMeta {
        TableMeta {
            arn: catalog.table_arn(name),
            table_uuid: "u".into(),
            tags: vec![("k".into(), "v".into())],
            ..TableMeta::for_tests(id, name)
        }
    }

    /// Overwrites item `pk = a` of `meta`'s table twice. What the last write's change record
    /// carries: (old image, old image elided, new image, listed in the table's index).
    async fn overwrite(storage: &Storage, meta: &TableMeta) -> (bool, bool, bool, bool) {
        use crate::storage::{Cause, Mutation};
        use shared::model::{AttributeValue, PrimaryKey};
        let s = |v: &str| AttributeValue::S(v.into());
        for v in ["1", "2"] {
            let key = PrimaryKey {
                hash: s("a"),
                range: None,
            };
            let item = [("pk".to_string(), s("a")), ("v".to_string(), s(v))];
            let written = storage
                .write(&[(&meta.layout, key)], Cause::User, |_| {
                    Ok::<_, ()>((vec![Mutation::Put(item.into_iter().collect())], ()))
                })
                .await;
            assert!(matches!(written, Ok(Ok(()))));
        }
        let log = storage
            .changes_after(0, 10_000)
            .unwrap_or_else(|e| panic!("{e}"));
        let Some(last) = log.last() else {
            panic!("no change record")
        };
        let indexed = storage.table_changes(meta.table_id(), last.seq - 1, last.seq, 1);
        let indexed = indexed.unwrap_or_else(|e| panic!("{e}")).len() == 1;
        (
            last.old_image.is_some(),
            last.old_image_elided,
            last.new_image.is_some(),
            indexed,
        )
    }

    #[tokio::test]
    async fn change_records_carry_what_pitr_or_a_stream_reads() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (full, indexed_new, indexed_old, indexed_keys, feed_only) = (
            (true, false, true, true),
            (false, true, true, true),
            (true, false, false, true),
            (false, true, false, true),
            (false, true, false, false),
        );
        {
            let storage = open(dir.path());
            let catalog = Catalog::load(&storage, &config()).unwrap_or_else(|e| panic!("{e}"));
            let created = catalog
                .create(&storage, "alpha", |id| table(&catalog, id, "alpha"))
                .await;
            let meta = created.unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(overwrite(&storage, &meta).await, feed_only);

            // An update that fails after switching storage to keeping more switches back.
            let failed = catalog
                .update(&storage, "alpha", |t| {
                    storage.set_log_detail(t.table_id(), LogDetail::Full);
                    Err(ApiError::validation("no"))
                })
                .await;
            assert!(failed.is_err());
            assert_eq!(overwrite(&storage, &meta).await, feed_only);
            // So does one that changes nothing after all.
            let unchanged = catalog
                .update(&storage, "alpha", |t| {
                    storage.set_log_detail(t.table_id(), LogDetail::Full);
                    Ok(())
                })
                .await;
            assert!(unchanged.is_ok());
            assert_eq!(overwrite(&storage, &meta).await, feed_only);

            // Each definition in turn, and what the records written under it carry.
            let pitr_on: fn(&mut TableMeta) = |t| {
                let on = serde_json::json!({"enabled": true, "earliest": 1.0});
                t.settings.insert(crate::backup::PITR_KEY.into(), on);
            };
            let both_views: fn(&mut TableMeta) = |t| {
                t.settings.clear();
                t.stream = Some(definition::new_stream("NEW_AND_OLD_IMAGES", "arn", 1.0, 0));
            };
            let keys_view: fn(&mut TableMeta) = |t| {
                t.stream = Some(definition::new_stream("KEYS_ONLY", "arn", 1.0, 0));
            };
            let new_view: fn(&mut TableMeta) = |t| {
                t.stream = Some(definition::new_stream("NEW_IMAGE", "arn", 1.0, 0));
            };
            let old_only_view: fn(&mut TableMeta) = |t| {
                t.stream = Some(definition::new_stream("OLD_IMAGE", "arn", 1.0, 0));
            };
            let no_stream: fn(&mut TableMeta) = |t| {
                t.stream = None;
            };
            for (name, change, expected) in [
                ("PITR", pitr_on, full),
                ("a stream of both images", both_views, full),
                ("a keys-only stream", keys_view, indexed_keys),
                ("a new-image stream", new_view, indexed_new),
                ("an old-image-only stream", old_only_view, indexed_old),
                ("nothing", no_stream, feed_only),
                ("a keys-only stream again", keys_view, indexed_keys),
            ] {
                let updated = catalog
                    .update(&storage, "alpha", |t| {
                        change(t);
                        Ok(())
                    })
                    .await;
                assert!(updated.is_ok(), "{name}");
                assert_eq!(overwrite(&storage, &meta).await, expected, "{name}");
            }
        }
        // Storage alone keeps everything; loading the catalog tells it otherwise.
        let storage = open(dir.path());
        let catalog = Catalog::load(&storage, &config()).unwrap_or_else(|e| panic!("{e}"));
        let meta = catalog
            .get("alpha")
            .unwrap_or_else(|| panic!("alpha is gone"));
        assert_eq!(overwrite(&storage, &meta).await, indexed_keys);
    }

    #[tokio::test]
    async fn a_delete_logs_the_drop_for_change_log_followers_only() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path());
        let catalog = Catalog::load(&storage, &config()).unwrap_or_else(|e| panic!("{e}"));
        let id = catalog
            .create(&storage, "alpha", |id| table(&catalog, id, "alpha"))
            .await
            .map(|t| t.table_id())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(catalog.delete(&storage, "alpha", |_| Ok(())).await.is_ok());
        let log = storage.changes_after(0, 100).unwrap_or_default();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].cause, crate::storage::Cause::TableDropped);
        assert_eq!((log[0].table_id, log[0].table_name.as_str()), (id, "alpha"));
        // Streams and PITR read the per-table index, which does not list it.
        let indexed = storage.table_changes(id, 0, u64::MAX, 100);
        assert!(indexed.is_ok_and(|records| records.is_empty()));
    }

    #[tokio::test]
    async fn what_changes_the_indexes_answers_is_logged_for_followers_and_nothing_else() {
        use crate::storage::Cause;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path());
        let catalog = Catalog::load(&storage, &config()).unwrap_or_else(|e| panic!("{e}"));
        let id = catalog
            .create(&storage, "alpha", |id| table(&catalog, id, "alpha"))
            .await
            .map(|t| t.table_id())
            .unwrap_or_else(|e| panic!("{e:?}"));
        let add = |t: &mut TableMeta| {
            let mut index = t.index_for_tests("g");
            index.status = IndexStatus::Creating;
            index.backfilling = true;
            t.global_indexes.push(index);
        };
        let capacity = |t: &mut TableMeta| {
            t.global_indexes[0].throughput = Some(Throughput::default());
        };
        let delete = |t: &mut TableMeta| t.global_indexes[0].status = IndexStatus::Deleting;
        let remove = |t: &mut TableMeta| t.global_indexes.clear();
        for (name, change, logged) in [
            ("an index added", add as fn(&mut TableMeta), true),
            ("its capacity set", capacity, false),
            ("a tag changed", |t: &mut TableMeta| t.tags.clear(), false),
            (
                "its backfill over",
                |t: &mut TableMeta| {
                    t.global_indexes[0].status = IndexStatus::Active;
                    t.global_indexes[0].backfilling = false;
                },
                true,
            ),
            ("it deleted", delete, true),
            ("it removed", remove, true),
        ] {
            let before = storage.changes_after(0, 100).unwrap_or_default().len();
            let updated = catalog
                .update(&storage, "alpha", |t| {
                    change(t);
                    Ok(())
                })
                .await;
            assert!(updated.is_ok(), "{name}");
            let log = storage.changes_after(0, 100).unwrap_or_default();
            assert_eq!(log.len() - before, usize::from(logged), "{name}");
            if logged {
                let notice = &log[before];
                assert_eq!(notice.cause, Cause::IndexesChanged, "{name}");
                assert_eq!((notice.table_id, notice.table_name.as_str()), (id, "alpha"));
            }
        }
        // Streams and PITR read the per-table index, which lists no notice.
        let indexed = storage.table_changes(id, 0, u64::MAX, 100);
        assert!(indexed.is_ok_and(|records| records.is_empty()));
    }

    #[tokio::test]
    async fn tables_survive_a_reload_and_ids_are_never_reused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first_id;
        {
            let storage = open(dir.path());
            let catalog = Catalog::load(&storage, &config()).unwrap_or_else(|e| panic!("{e}"));
            let a = catalog
                .create(&storage, "alpha", |id| table(&catalog, id, "alpha"))
                .await;
            first_id = a.map(|t| t.table_id()).unwrap_or(0);
            assert_eq!(first_id, 1);
            let again = catalog
                .create(&storage, "alpha", |id| table(&catalog, id, "alpha"))
                .await;
            assert_eq!(
                again.err().and_then(|e| e.message).as_deref(),
                Some("Table already exists: alpha")
            );
            assert!(catalog
                .create(&storage, "beta", |id| table(&catalog, id, "beta"))
                .await
                .is_ok());
            let updated = catalog
                .update(&storage, "beta", |t| {
                    t.deletion_protection = true;
                    Ok(())
                })
                .await;
            assert!(updated.is_ok_and(|t| t.deletion_protection));
            assert!(catalog.delete(&storage, "alpha", |_| Ok(())).await.is_ok());
            assert!(catalog.get("alpha").is_none());
            assert!(catalog.table_for_data("alpha").is_err());
            // The background drop holds a storage handle until it is done.
            for _ in 0..2000 {
                if Arc::strong_count(&storage) == 1 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            assert!(storage
                .list_meta(DROPPING_PREFIX)
                .is_ok_and(|v| v.is_empty()));
        }
        let storage = open(dir.path());
        let catalog = Catalog::load(&storage, &config()).unwrap_or_else(|e| panic!("{e}"));
        assert!(catalog.get("alpha").is_none());
        let beta = catalog.get("beta");
        assert!(beta
            .as_ref()
            .is_some_and(|t| t.deletion_protection && t.tags.len() == 1));
        assert!(catalog
            .get("arn:aws:dynamodb:us-east-1:000000000000:table/beta")
            .is_some());
        assert!(catalog
            .get("arn:aws:dynamodb:us-west-2:000000000000:table/beta")
            .is_none());
        // Deleted tables' ids stay used: the next table gets a fresh one.
        let alpha = catalog
            .create(&storage, "alpha", |id| table(&catalog, id, "alpha"))
            .await;
        assert_eq!(alpha.map(|t| t.table_id()).ok(), Some(3));
        let (names, more) = catalog.names_after(None, 1);
        assert_eq!((names, more), (vec!["alpha".to_string()], true));
        let (names, more) = catalog.names_after(Some("alpha"), 5);
        assert_eq!((names, more), (vec!["beta".to_string()], false));
        let desc = catalog
            .get("beta")
            .map(|t| t.describe(TableStatus::Active, TableStats::default(), 2.0));
        assert!(desc.is_some_and(|d| d.deletion_protection_enabled && d.table_name == "beta"));
    }
}
