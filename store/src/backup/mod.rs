//! On-demand backups and point-in-time recovery (DYNAMODB.md §11).
//!
//! Storage design: a backup is a set of durable meta records, independent of its table
//! (so it outlives it):
//! - `backup/<id>`: the [`BackupRecord`] (name, ARN, source table definition as of the
//!   backup, sizes, number of item chunks);
//! - `backup-items/<id>/<chunk>`: JSON arrays of at most [`CHUNK`] items each.
//!
//! The items are written before the record, so a listed backup is always complete (a
//! crash in between leaves orphan chunks, never a half backup). CreateBackup therefore
//! answers AVAILABLE at once.
//!
//! PITR keeps `{enabled, earliest}` in `TableMeta.settings["pitr"]`. A restore to time T
//! takes the table's current items and undoes, per key, every change committed after T:
//! the state at T of a key is the old image of its first change after T. The change log
//! therefore keeps records for the longest recovery period of any table with PITR on (1-35
//! days, RecoveryPeriodInDays), past the streams' 24 hours (`crate::streams` trims it). A
//! change trimmed away cannot be undone, so restores older than the oldest retained change
//! are refused (InvalidRestoreTimeException).
//!
//! A point-in-time read ([`items_at`]) streams the table in chunks; what it holds whole is
//! one entry per key changed since the restore time, split into passes over segments of
//! the table when those entries would take too much memory. Backups are written and read back
//! chunk by chunk too. Known limits: a point-in-time read goes through the table's whole
//! retained change log. Deleting a table with PITR on keeps a SYSTEM backup of it for 35
//! days ([`keep_deleted`]). A restore's table stays CREATING while a task of its own fills
//! it ([`restore`]); a fill that a stop cuts short runs again at the next start
//! ([`resume_interrupted_restores`]). Restore overrides: see [`overrides`].

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::model::size::item_size;
use shared::model::Item;
use shared::wire::error::{ApiError, ErrorCode};

use crate::app::App;
use crate::catalog::{TableMeta, TableStatus};
use crate::storage::{keys, Cause, ChangeRecord, Mutation, StorageError, TableLayout, TableStats};
use shared::clock::now_seconds;

pub mod changes;
pub mod overrides;

/// Items per backup chunk record and per restore write batch.
const CHUNK: usize = 100;
const RECORD_PREFIX: &str = "backup/";
const ITEMS_PREFIX: &str = "backup-items/";
/// Deleted (never written) as a durability barrier by [`durable_barrier`].
const BARRIER_KEY: &str = "backup-barrier";
/// `TableMeta.settings` key of the PITR setting.
pub const PITR_KEY: &str = "pitr";
/// `TableMeta.settings` key of a restored table's RestoreSummary (its wire form).
pub const RESTORE_KEY: &str = "restore";
/// How far LatestRestorableDateTime trails now: changes younger than this may still be
/// settling into the durable log.
const PITR_LAG_S: f64 = 1.0;
/// PITR's recovery period when none is given (and DynamoDB's longest), in days.
pub const DEFAULT_RECOVERY_PERIOD_DAYS: u32 = 35;
/// How long a SYSTEM backup is kept, in days.
pub const SYSTEM_BACKUP_DAYS: u32 = 35;
const SECONDS_PER_DAY: u64 = 86_400;

/// One backup's durable description.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupRecord {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub created: f64,
    pub size_bytes: u64,
    pub item_count: u64,
    pub chunks: u64,
    /// The source table's definition as of the backup (restores recreate it).
    pub table: TableMeta,
    /// A SYSTEM backup: the one DeleteTable keeps of a table with PITR on, for
    /// [`SYSTEM_BACKUP_DAYS`] (absent in older records: USER).
    #[serde(default)]
    pub system: bool,
}

impl BackupRecord {
    /// `BackupType`.
    pub fn backup_type(&self) -> &'static str {
        if self.system {
            "SYSTEM"
        } else {
            "USER"
        }
    }

    /// When a SYSTEM backup expires (epoch seconds); USER backups never do.
    pub fn expires(&self) -> Option<f64> {
        self.system
            .then(|| self.created + f64::from(SYSTEM_BACKUP_DAYS) * SECONDS_PER_DAY as f64)
    }

    fn expired(&self, now: f64) -> bool {
        self.expires().is_some_and(|at| at <= now)
    }
}

/// The PITR setting of one table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PitrSetting {
    pub enabled: bool,
    /// Epoch seconds: when PITR was (last) enabled.
    pub earliest: f64,
    /// How many days back restores may go (RecoveryPeriodInDays, 1-35). Settings written
    /// before it existed read as the default.
    #[serde(default = "default_recovery_period")]
    pub recovery_period_days: u32,
}

fn default_recovery_period() -> u32 {
    DEFAULT_RECOVERY_PERIOD_DAYS
}

impl PitrSetting {
    fn recovery_period(&self) -> Duration {
        Duration::from_secs(u64::from(self.recovery_period_days) * SECONDS_PER_DAY)
    }
}

/// How long the change log must keep records for point-in-time recovery: the longest
/// recovery period of any table with PITR on (zero if none). A restore undoes every change
/// after its restore time, so each of them must still be in the log.
pub fn log_retention(tables: &[Arc<TableMeta>]) -> Duration {
    tables
        .iter()
        .filter_map(|table| pitr(table))
        .filter(|p| p.enabled)
        .map(|p| p.recovery_period())
        .max()
        .unwrap_or_default()
}

fn internal(e: StorageError) -> ApiError {
    tracing::error!(error = %e, "backup storage error");
    ApiError::internal()
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|_| ApiError::internal())
}

/// BackupNotFoundException with moto's message.
pub fn not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::BackupNotFoundException,
        format!("Backup not found: {arn}"),
    )
}

/// TableNotFoundException, the backup APIs' missing-table error.
pub fn table_not_found(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::TableNotFoundException,
        format!("Table not found: {name}"),
    )
}

/// The backup id is the last ARN segment; anything else is simply not found.
fn id_of(arn: &str) -> Option<&str> {
    let (prefix, id) = arn.rsplit_once('/')?;
    (prefix.contains("/backup") && !id.is_empty()).then_some(id)
}

/// The stored record of a backup ARN.
pub fn load(app: &App, arn: &str) -> Result<BackupRecord, ApiError> {
    let id = id_of(arn).ok_or_else(|| not_found(arn))?;
    let key = format!("{RECORD_PREFIX}{id}");
    let found = app.storage.list_meta(&key).map_err(internal)?;
    let bytes = found
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| not_found(arn))?;
    let record: BackupRecord = serde_json::from_slice(&bytes).map_err(|_| ApiError::internal())?;
    if record.arn != arn || record.expired(now_seconds()) {
        return Err(not_found(arn));
    }
    Ok(record)
}

/// Every backup, oldest first (expired SYSTEM backups excepted).
pub fn all(app: &App) -> Result<Vec<BackupRecord>, ApiError> {
    let now = now_seconds();
    let mut out: Vec<BackupRecord> = app
        .storage
        .list_meta(RECORD_PREFIX)
        .map_err(internal)?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice::<BackupRecord>(&v).ok())
        .filter(|r| !r.expired(now))
        .collect();
    out.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// The SYSTEM backup DeleteTable keeps of a table with PITR on (DynamoDB names it
/// `<table>$DeletedTableBackup`), if the table has PITR on; expired SYSTEM backups are
/// removed first (they are never listed, this is where their space is given back).
pub async fn keep_deleted(app: &App, table: &TableMeta) -> Result<Option<BackupRecord>, ApiError> {
    if !pitr(table).is_some_and(|p| p.enabled) {
        return Ok(None);
    }
    let now = now_seconds();
    for (_, value) in app.storage.list_meta(RECORD_PREFIX).map_err(internal)? {
        match serde_json::from_slice::<BackupRecord>(&value) {
            Ok(old) if old.expired(now) => delete(app, &old).await?,
            _ => {}
        }
    }
    let name = format!("{}$DeletedTableBackup", table.name());
    snapshot(app, table, &name, true).await.map(Some)
}

/// Snapshots a table's items into a new (USER) backup.
pub async fn create(app: &App, table: &TableMeta, name: &str) -> Result<BackupRecord, ApiError> {
    snapshot(app, table, name, false).await
}

async fn snapshot(
    app: &App,
    table: &TableMeta,
    name: &str,
    system: bool,
) -> Result<BackupRecord, ApiError> {
    // The moment the snapshot below shows: no write still in its journal sync (stamped
    // earlier, visible only after), so a point-in-time restore to it finds what the backup
    // holds.
    let now = now_seconds().min(app.storage.settled_ms() as f64 / 1000.0);
    // DynamoDB's backup ids have the export and import ids' shape, in creation order.
    let id = crate::transfer::jobs::new_id();
    let arn = format!("{}/backup/{id}", table.arn);
    let mut chunks = 0u64;
    let mut size_bytes = 0u64;
    let mut item_count = 0u64;
    // A blocking reader scans a snapshot and encodes it chunk by chunk; each chunk is
    // written as it arrives, so a backup holds two chunks at a time, not the table.
    let mut encoded = encoded_chunks(app, &table.layout);
    while let Some(chunk) = encoded.recv().await {
        let (bytes, items) = chunk?;
        size_bytes += bytes.len() as u64;
        item_count += items;
        app.storage
            .put_meta(&format!("{ITEMS_PREFIX}{id}/{chunks:08}"), Some(bytes))
            .await
            .map_err(internal)?;
        chunks += 1;
    }
    let stats: TableStats = app.storage.table_stats(table.table_id());
    if stats.size_bytes > 0 {
        size_bytes = stats.size_bytes;
    }
    let record = BackupRecord {
        id: id.clone(),
        arn,
        name: name.to_string(),
        created: now,
        size_bytes,
        item_count,
        chunks,
        table: table.clone(),
        system,
    };
    app.storage
        .put_meta(&format!("{RECORD_PREFIX}{id}"), Some(encode(&record)?))
        .await
        .map_err(internal)?;
    Ok(record)
}

/// Removes a backup: the record first, so it vanishes at once, then its chunks.
pub async fn delete(app: &App, record: &BackupRecord) -> Result<(), ApiError> {
    app.storage
        .put_meta(&format!("{RECORD_PREFIX}{}", record.id), None)
        .await
        .map_err(internal)?;
    let prefix = format!("{ITEMS_PREFIX}{}/", record.id);
    for (key, _) in app.storage.list_meta(&prefix).map_err(internal)? {
        app.storage.put_meta(&key, None).await.map_err(internal)?;
    }
    Ok(())
}

/// The items of a backup, read chunk by chunk in the background.
pub fn items(app: &App, record: &BackupRecord) -> ItemChunks {
    let storage = Arc::clone(&app.storage);
    let (id, count) = (record.id.clone(), record.chunks);
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        for n in 0..count {
            // Chunk keys have a fixed width, so this prefix names exactly one record.
            let chunk = storage
                .list_meta(&format!("{ITEMS_PREFIX}{id}/{n:08}"))
                .map_err(internal)
                .and_then(|found| {
                    let (_, bytes) = found.into_iter().next().ok_or_else(ApiError::internal)?;
                    serde_json::from_slice::<Vec<Item>>(&bytes).map_err(|_| ApiError::internal())
                });
            let failed = chunk.is_err();
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// A table's current items as encoded backup chunks (JSON arrays of at most [`CHUNK`]
/// items) with their item counts, from a snapshot read in the background.
fn encoded_chunks(
    app: &App,
    layout: &TableLayout,
) -> tokio::sync::mpsc::Receiver<Result<(Vec<u8>, u64), ApiError>> {
    let storage = Arc::clone(&app.storage);
    let layout = layout.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut out = Chunker::new(tx, |chunk| {
            encode(&chunk).map(|bytes| (bytes, chunk.len() as u64))
        });
        let snapshot = match storage.scan(&layout, None, None) {
            Ok(snapshot) => snapshot,
            Err(e) => return out.fail(internal(e)),
        };
        for item in snapshot {
            let item = match item.and_then(|i| i.decode()) {
                Ok(item) => item,
                Err(e) => return out.fail(internal(e)),
            };
            if !out.push(item) {
                return;
            }
        }
        out.finish();
    });
    rx
}

/// Hands a blocking reader's entries (items, or changed items) to an async consumer
/// [`CHUNK`] at a time, each chunk sealed by `seal` (passed on as it is, or encoded).
struct Chunker<E, T> {
    tx: tokio::sync::mpsc::Sender<Result<T, ApiError>>,
    chunk: Vec<E>,
    seal: fn(Vec<E>) -> Result<T, ApiError>,
}

impl<E, T> Chunker<E, T> {
    fn new(
        tx: tokio::sync::mpsc::Sender<Result<T, ApiError>>,
        seal: fn(Vec<E>) -> Result<T, ApiError>,
    ) -> Chunker<E, T> {
        Chunker {
            tx,
            chunk: Vec::with_capacity(CHUNK),
            seal,
        }
    }

    /// Adds an entry; false once the consumer is gone (the reader then stops).
    fn push(&mut self, entry: E) -> bool {
        self.chunk.push(entry);
        if self.chunk.len() < CHUNK {
            return true;
        }
        let full = (self.seal)(std::mem::take(&mut self.chunk));
        self.tx.blocking_send(full).is_ok()
    }

    /// Sends what is left.
    fn finish(self) {
        if !self.chunk.is_empty() {
            let _ = self.tx.blocking_send((self.seal)(self.chunk));
        }
    }

    /// Ends the stream with an error.
    fn fail(self, error: ApiError) {
        let _ = self.tx.blocking_send(Err(error));
    }
}

/// `BackupDetails`.
pub fn details(record: &BackupRecord, status: &str) -> Value {
    let mut details = json!({
        "BackupArn": record.arn,
        "BackupName": record.name,
        "BackupSizeBytes": record.size_bytes,
        "BackupStatus": status,
        "BackupType": record.backup_type(),
        "BackupCreationDateTime": record.created,
    });
    if let (Some(fields), Some(at)) = (details.as_object_mut(), record.expires()) {
        fields.insert("BackupExpiryDateTime".to_string(), json!(at));
    }
    details
}

/// `BackupDescription`.
pub fn description(record: &BackupRecord, status: &str) -> Value {
    let t = &record.table;
    let key_schema = key_schema_json(t);
    let mut source = json!({
        "TableName": t.name(),
        "TableId": t.table_uuid,
        "TableArn": t.arn,
        "TableSizeBytes": record.size_bytes,
        "KeySchema": key_schema,
        "TableCreationDateTime": t.created,
        "ProvisionedThroughput": {
            "ReadCapacityUnits": t.throughput.read,
            "WriteCapacityUnits": t.throughput.write,
        },
        "ItemCount": record.item_count,
        "BillingMode": t.billing_mode.as_str(),
    });
    // The table description already renders indexes with DynamoDB's shapes; reuse it.
    let desc = serde_json::to_value(t.describe(TableStatus::Active, TableStats::default(), 0.0))
        .unwrap_or(Value::Null);
    if let (Some(obj), Some(defs)) = (source.as_object_mut(), desc.get("AttributeDefinitions")) {
        obj.insert("AttributeDefinitions".to_string(), defs.clone());
    }
    let mut features = serde_json::Map::new();
    for (from, to) in [
        ("LocalSecondaryIndexes", "LocalSecondaryIndexes"),
        ("GlobalSecondaryIndexes", "GlobalSecondaryIndexes"),
    ] {
        if let Some(list) = desc.get(from).and_then(Value::as_array) {
            let slim: Vec<Value> = list
                .iter()
                .map(|i| {
                    let mut index = json!({
                        "IndexName": i.get("IndexName"),
                        "KeySchema": i.get("KeySchema"),
                        "Projection": i.get("Projection"),
                    });
                    // A GSI's own capacity (an LSI has none of its own).
                    if let Some(t) = i.get("ProvisionedThroughput") {
                        index["ProvisionedThroughput"] = json!({
                            "ReadCapacityUnits": t.get("ReadCapacityUnits"),
                            "WriteCapacityUnits": t.get("WriteCapacityUnits"),
                        });
                    }
                    index
                })
                .collect();
            features.insert(to.to_string(), Value::Array(slim));
        }
    }
    // Vector indexes as VectorIndexInfo: their definition, without status or statistics.
    if !t.vector_indexes.is_empty() {
        let infos = t.vector_indexes.iter().map(|v| {
            let described = v.describe();
            let mut info = json!({
                "IndexName": described.index_name,
                "VectorAttribute": described.vector_attribute,
                "Dimensions": described.dimensions,
                "DistanceFunction": described.distance_function,
                "Projection": described.projection,
            });
            if let Some(schema) = described.search_schema {
                info["SearchSchema"] = json!(schema);
            }
            info
        });
        features.insert("VectorIndexes".to_string(), infos.collect());
    }
    // The table's stream, encryption and TTL at the backup, as DynamoDB reports them.
    if let Some(stream) = desc.get("StreamSpecification") {
        features.insert("StreamDescription".to_string(), stream.clone());
    }
    if let Some(sse) = desc.get("SSEDescription") {
        features.insert("SSEDescription".to_string(), sse.clone());
    }
    let ttl = crate::api::describe_time_to_live::description(t);
    features.insert("TimeToLiveDescription".to_string(), json!(ttl));
    json!({
        "BackupDetails": details(record, status),
        "SourceTableDetails": source,
        "SourceTableFeatureDetails": Value::Object(features),
    })
}

fn key_schema_json(t: &TableMeta) -> Value {
    let schema = t.schema();
    let mut out = vec![json!({"AttributeName": schema.hash.name, "KeyType": "HASH"})];
    if let Some(r) = &schema.range {
        out.push(json!({"AttributeName": r.name, "KeyType": "RANGE"}));
    }
    Value::Array(out)
}

/// Creates table `target` with `source`'s definition (key schema, indexes, billing,
/// encryption), CREATING, and fills it with `items` in a task of its own, which then makes
/// it ACTIVE. Tags, streams, TTL and PITR are not restored (DYNAMODB.md §11). `summary`
/// is the RestoreSummary without `RestoreInProgress`, which this adds (and DescribeTable
/// shows from the [`RESTORE_KEY`] setting). Returns the new table's description as the
/// response shows it.
///
/// Until the fill ends, the table serves no reads or writes (a write would be overwritten
/// by the fill) and cannot be deleted; a fill that fails deletes it, so no client ever sees
/// a partly restored table as ACTIVE. A fill a stop interrupts runs again at the next
/// start ([`resume_interrupted_restores`]).
pub async fn restore(
    app: &Arc<App>,
    source: &TableMeta,
    target: &str,
    items: ItemChunks,
    mut summary: Value,
) -> Result<Value, ApiError> {
    if app.catalog.get(target).is_some() {
        return Err(already_exists(target));
    }
    let now = now_seconds();
    let arn = app.catalog.table_arn(target);
    let created = app
        .catalog
        .create(&app.storage, target, |table_id| {
            let mut meta = source.clone();
            meta.layout.table_id = table_id;
            meta.layout.name = target.to_string();
            meta.arn = arn.clone();
            meta.table_uuid = uuid::Uuid::new_v4().to_string();
            meta.created = now;
            meta.status = TableStatus::Creating;
            meta.stream = None;
            meta.tags = Vec::new();
            meta.settings = Default::default();
            meta.settings
                .insert(RESTORE_KEY.to_string(), in_progress(&summary, true));
            meta.deletion_protection = false;
            for index in meta
                .local_indexes
                .iter_mut()
                .chain(meta.global_indexes.iter_mut())
            {
                index.arn = format!("{arn}/index/{}", index.name);
                index.backfilling = false;
                index.status = crate::catalog::IndexStatus::Active;
            }
            for index in &mut meta.vector_indexes {
                index.arn = format!("{arn}/index/{}", index.name);
                index.backfilling = false;
                index.status = crate::catalog::IndexStatus::Active;
            }
            // A backup taken by a build whose vector indexes kept no entries.
            crate::catalog::give_vector_indexes_entries(&mut meta);
            meta
        })
        .await
        .map_err(|e| {
            if e.code == ErrorCode::ResourceInUseException {
                already_exists(target)
            } else {
                e
            }
        })?;
    let task_app = Arc::clone(app);
    let table = Arc::clone(&created);
    tokio::spawn(async move { finish_restore(&task_app, &table, items).await });
    if let Some(fields) = summary.as_object_mut() {
        fields.insert("RestoreInProgress".to_string(), Value::Bool(true));
    }
    serde_json::to_value(created.describe(TableStatus::Creating, TableStats::default(), now))
        .map_err(|_| ApiError::internal())
}

/// `summary` with `RestoreInProgress` set to `running`.
fn in_progress(summary: &Value, running: bool) -> Value {
    let mut summary = summary.clone();
    if let Some(fields) = summary.as_object_mut() {
        fields.insert("RestoreInProgress".to_string(), Value::Bool(running));
    }
    summary
}

/// Whether `table` is the target of a restore still filling it.
pub fn restoring(table: &TableMeta) -> bool {
    table.status == TableStatus::Creating
        && table
            .settings
            .get(RESTORE_KEY)
            .and_then(|s| s.get("RestoreInProgress"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

/// Fills a restore's table, then makes it ACTIVE; deletes it if the fill fails.
async fn finish_restore(app: &App, table: &Arc<TableMeta>, items: ItemChunks) {
    let name = table.name();
    let done = match fill(app, table, items).await {
        Ok(()) => {
            app.catalog
                .update(&app.storage, name, |t| {
                    if t.table_uuid == table.table_uuid {
                        t.status = TableStatus::Active;
                        if let Some(summary) = t.settings.get(RESTORE_KEY) {
                            let done = in_progress(summary, false);
                            t.settings.insert(RESTORE_KEY.to_string(), done);
                        }
                    }
                    Ok(())
                })
                .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = done {
        tracing::error!(table = name, error = ?e.message, "restore failed; its table is deleted");
        drop_restore_target(app, table).await;
    }
}

/// Deletes a restore's (partly filled) table, if it is still that table.
async fn drop_restore_target(app: &App, table: &TableMeta) {
    let same = |t: &TableMeta| {
        if t.table_uuid == table.table_uuid {
            Ok(())
        } else {
            Err(ApiError::internal())
        }
    };
    if let Err(e) = app.catalog.delete(&app.storage, table.name(), same).await {
        tracing::error!(table = table.name(), error = ?e.message, "cannot delete a failed restore's table");
    }
}

/// Runs again the restores a stop interrupted (CREATING, still restoring): their fill died
/// with the process, and an accepted restore runs to completion. The source is read again
/// from the start and every item written again, over the items the first fill wrote (the
/// table served nothing meanwhile, so they are the same items). Run at start, before the
/// store serves. A restore whose source cannot be read again has its table deleted, as a
/// failed fill has: a partly restored table is never made ACTIVE.
pub async fn resume_interrupted_restores(app: &Arc<App>) {
    for table in app.catalog.all() {
        if !restoring(&table) {
            continue;
        }
        match source_items(app, &table).await {
            Ok(items) => {
                tracing::warn!(table = table.name(), "resuming an interrupted restore");
                let app = Arc::clone(app);
                tokio::spawn(async move { finish_restore(&app, &table, items).await });
            }
            Err(e) => {
                tracing::error!(table = table.name(), error = ?e.message,
                    "the source of an interrupted restore is gone; deleting its table");
                drop_restore_target(app, &table).await;
            }
        }
    }
}

/// The items a restore into `table` writes, read again from the source its RestoreSummary
/// names: the backup, or the source table as of the restore time. That time is still
/// inside the source's restorable window (else refused), so the items are the same ones.
async fn source_items(app: &App, table: &TableMeta) -> Result<ItemChunks, ApiError> {
    let summary = table
        .settings
        .get(RESTORE_KEY)
        .ok_or_else(ApiError::internal)?;
    if let Some(arn) = source_backup(table) {
        return Ok(items(app, &load(app, arn)?));
    }
    let source_table = summary.get("SourceTableArn").and_then(Value::as_str);
    let name = app.catalog.resolve_name(source_table.unwrap_or_default());
    let source = app.catalog.get(name).ok_or_else(|| table_not_found(name))?;
    let at = summary
        .get("RestoreDateTime")
        .and_then(Value::as_f64)
        .ok_or_else(ApiError::internal)?;
    let (floor, latest) = restorable_window(app, &source)?;
    let at = time_in_window(at, floor, latest)?;
    items_at(app, &source, at).await
}

/// The table a restore from backup `arn` is still filling, if any (the backup must outlive
/// the fill, which may have to start again after a restart).
pub fn being_restored(app: &App, arn: &str) -> Option<Arc<TableMeta>> {
    app.catalog
        .all()
        .into_iter()
        .find(|table| restoring(table) && source_backup(table) == Some(arn))
}

/// The backup a restored table was filled from, as its RestoreSummary names it (`None`
/// for a point-in-time restore, or a table never restored).
fn source_backup(table: &TableMeta) -> Option<&str> {
    table
        .settings
        .get(RESTORE_KEY)?
        .get("SourceBackupArn")?
        .as_str()
}

fn already_exists(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::TableAlreadyExistsException,
        format!("Table already exists: {name}"),
    )
}

/// Writes `items` into a freshly created table, a chunk per storage batch.
async fn fill(app: &App, table: &Arc<TableMeta>, mut items: ItemChunks) -> Result<(), ApiError> {
    let layout: &TableLayout = &table.layout;
    while let Some(batch) = items.recv().await {
        // Keys are unique within a snapshot, so targets are distinct; an item without
        // a valid key (impossible for stored items) is skipped rather than failing.
        let mut targets = Vec::with_capacity(CHUNK);
        let mut puts = Vec::with_capacity(CHUNK);
        for item in batch? {
            if let Some(key) = layout.schema.key_of_stored(&item) {
                targets.push((layout, key));
                puts.push(Mutation::Put(item));
            }
        }
        if targets.is_empty() {
            continue;
        }
        app.storage
            .write(&targets, Cause::User, |_| Ok::<_, ApiError>((puts, ())))
            .await
            .map_err(internal)??;
    }
    Ok(())
}

/// The table's PITR setting, if any.
pub fn pitr(table: &TableMeta) -> Option<PitrSetting> {
    crate::catalog::meta::read_setting(&table.settings, PITR_KEY)
}

/// `ContinuousBackupsDescription` of a table.
pub fn continuous_description(app: &App, table: &TableMeta) -> Value {
    let pitr = match pitr(table).filter(|p| p.enabled) {
        Some(p) => {
            let (earliest, latest) = window(app, &p);
            json!({
                "PointInTimeRecoveryStatus": "ENABLED",
                "RecoveryPeriodInDays": p.recovery_period_days,
                "EarliestRestorableDateTime": earliest,
                "LatestRestorableDateTime": latest,
            })
        }
        None => json!({"PointInTimeRecoveryStatus": "DISABLED"}),
    };
    json!({
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": pitr,
    })
}

/// The window `[floor, latest]` (epoch seconds) a point-in-time restore of `table` may
/// pick its time in: PITR's window, starting no earlier than the oldest retained change
/// (changes trimmed from the log cannot be undone).
pub fn restorable_window(app: &App, table: &TableMeta) -> Result<(f64, f64), ApiError> {
    let pitr = pitr(table).filter(|p| p.enabled).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PointInTimeRecoveryUnavailableException,
            format!(
                "Point in time recovery is not enabled for table '{}'",
                table.name()
            ),
        )
    })?;
    let (earliest, latest) = window(app, &pitr);
    let horizon = log_horizon_ms(app)?.map(|ms| ms as f64 / 1000.0);
    let floor = horizon.map_or(earliest, |h| h.max(earliest));
    Ok((floor, latest))
}

/// The restore time for `at` in the window `[floor, latest]`. The wire carries milliseconds,
/// so a time up to 1 ms outside is taken as the edge it rounds to: before the earliest
/// time, the log may hold changes without the old images a restore needs to undo them.
/// Further out, InvalidRestoreTimeException.
pub fn time_in_window(at: f64, floor: f64, latest: f64) -> Result<f64, ApiError> {
    if !at.is_finite() || at < floor - 0.001 || at > latest + 0.001 {
        return Err(ApiError::new(
            ErrorCode::InvalidRestoreTimeException,
            format!("Restore time {at} is outside the restorable window [{floor}, {latest}]"),
        ));
    }
    Ok(at.clamp(floor, latest.max(floor)))
}

/// The restorable window `[earliest, latest]` in epoch seconds; latest never before
/// earliest (a just-enabled table can be restored to its enable time), and never past the
/// time up to which the log is complete (a journal sync slower than the lag), so that two
/// restores to one time find one state.
pub fn window(app: &App, p: &PitrSetting) -> (f64, f64) {
    let now = now_seconds();
    // Enable times older than the recovery period slide forward.
    let earliest = p.earliest.max(now - p.recovery_period().as_secs_f64());
    let settled = app.storage.settled_ms() as f64 / 1000.0;
    let latest = (now - PITR_LAG_S).min(settled).max(earliest);
    (earliest, latest)
}

/// A table's items in chunks of at most [`CHUNK`], produced by a reader in the background:
/// a restore or an export holds a few chunks, never the table. An error ends the stream.
pub type ItemChunks = tokio::sync::mpsc::Receiver<Result<Vec<Item>, ApiError>>;

/// About the most image bytes (DynamoDB item sizes) one pass of a point-in-time read or of
/// an incremental export's read holds: decoded, they take a few times that in memory.
const PASS_BUDGET_BYTES: usize = 64 << 20;
/// The most passes such a read makes (each reads the table's log window again).
const MAX_PASSES: u32 = 256;

/// The items of `table` as of epoch time `at_s`: the current items with every later change
/// undone, streamed.
///
/// A snapshot of the items is taken first, then the log is read. Every change the snapshot
/// reflects must be in the log we read; but a write is visible a moment before the commit
/// thread publishes its records to log readers. A meta write after the snapshot is a barrier:
/// commits become durable in order, so once it is durable, so is everything the snapshot
/// saw. Changes committed after the snapshot do no harm: for each key only the old image
/// of its *first* change after T counts, and that is the state at T whether or not the
/// snapshot saw later changes.
///
/// What is held whole is the undo map: one entry per key changed since T. So that a table
/// changed heavily since T does not need its size in memory, the read is split by
/// partition hash into as many segments (as a parallel scan splits it) as keep each
/// segment's old images within [`PASS_BUDGET_BYTES`]; each segment's map is built by its
/// own pass over the log window, and all segments' snapshots are taken at the start.
pub async fn items_at(app: &App, table: &TableMeta, at_s: f64) -> Result<ItemChunks, ApiError> {
    items_at_within(app, table, at_s, PASS_BUDGET_BYTES).await
}

/// [`items_at`] holding at most about `budget` bytes of old images per pass.
async fn items_at_within(
    app: &App,
    table: &TableMeta,
    at_s: f64,
    budget: usize,
) -> Result<ItemChunks, ApiError> {
    let at_ms = (at_s * 1000.0).floor().max(0.0) as u64;
    let storage = Arc::clone(&app.storage);
    let layout = table.layout.clone();
    let (taken_tx, taken) = tokio::sync::oneshot::channel::<()>();
    let (barrier, barrier_rx) = tokio::sync::oneshot::channel::<()>();
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut out = Chunker::new(tx, Ok);
        let after_t = (at_ms.saturating_add(1), u64::MAX);
        let old_size = |r: &ChangeRecord| r.old_image.as_ref().map_or(0, item_size);
        let passes = match passes_within(&storage, &layout, after_t, budget, old_size) {
            Ok(passes) => passes,
            Err(e) => return out.fail(e),
        };
        let segment = |s: u32| pass_segment(s, passes);
        let snapshots: Result<Vec<_>, _> = (0..passes)
            .map(|s| storage.scan(&layout, segment(s), None))
            .collect();
        let snapshots = match snapshots {
            Ok(snapshots) => snapshots,
            Err(e) => return out.fail(internal(e)),
        };
        let _ = taken_tx.send(());
        // No barrier (it failed, and the caller reports that): nothing to stream.
        if barrier_rx.blocking_recv().is_err() {
            return;
        }
        for (s, snapshot) in (0..passes).zip(snapshots) {
            match items_of_segment(&storage, &layout, at_ms, segment(s), snapshot, &mut out) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => return out.fail(e),
            }
        }
        out.finish();
    });
    if taken.await.is_ok() {
        durable_barrier(app).await?;
        let _ = barrier.send(());
    }
    Ok(rx)
}

/// Streams one segment of a point-in-time read (all of it with `None`): the items of its
/// `snapshot` with the changes since `at_ms` undone, then the keys deleted since. False
/// once the consumer is gone.
fn items_of_segment(
    storage: &crate::storage::Storage,
    layout: &TableLayout,
    at_ms: u64,
    segment: Option<(u32, u32)>,
    snapshot: crate::storage::ItemIter<'_>,
    out: &mut Chunker<Item, Vec<Item>>,
) -> Result<bool, ApiError> {
    let mut undone = undo_map(storage, layout, at_ms, segment)?;
    for item in snapshot {
        let item = item.and_then(|i| i.decode()).map_err(internal)?;
        let at_t = match undone.remove(&key_text(layout, &item)) {
            Some(then) => then,
            None => Some(item),
        };
        if at_t.is_some_and(|item| !out.push(item)) {
            return Ok(false);
        }
    }
    // Keys deleted since T are not in the snapshot: their old images are.
    for item in undone.into_values().flatten() {
        if !out.push(item) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// How many passes keep what each pass holds within `budget` bytes: `size` of every
/// change in the window (`(from_ms, to_ms)`), summed (a key changed twice counts twice),
/// over the budget.
fn passes_within(
    storage: &crate::storage::Storage,
    layout: &TableLayout,
    window: (u64, u64),
    budget: usize,
    size: impl Fn(&ChangeRecord) -> usize,
) -> Result<u32, ApiError> {
    let mut bytes = 0usize;
    changes_in_window(storage, layout, window, |record| {
        bytes = bytes.saturating_add(size(&record));
        Ok(())
    })?;
    let passes = bytes.div_ceil(budget.max(1)).max(1);
    Ok(u32::try_from(passes).unwrap_or(u32::MAX).min(MAX_PASSES))
}

/// The segment of the table's partition hashes pass `pass` of `passes` reads (`None`: one
/// pass reads everything).
fn pass_segment(pass: u32, passes: u32) -> Option<(u32, u32)> {
    (passes > 1).then_some((pass, passes))
}

/// Whether an item's key attributes `keys` fall in `segment` of the table's partition
/// hashes (any, without one): how a pass keeps to its segment of the log's changes.
fn in_segment(layout: &TableLayout, segment: Option<(u32, u32)>, keys: &Item) -> bool {
    let Some((lo, hi)) = segment.and_then(|(s, total)| keys::segment_hash_range(s, total)) else {
        return segment.is_none();
    };
    let hash = keys
        .get(&layout.schema.hash.name)
        .map_or(0, shared::model::keycodec::partition_hash);
    hash >= lo && hi.is_none_or(|hi| hash < hi)
}

/// Returns once every change committed before the call is in the durable log, which is
/// all that log readers see: it commits a meta write, and commits become durable in order.
async fn durable_barrier(app: &App) -> Result<(), ApiError> {
    app.storage
        .put_meta(BARRIER_KEY, None)
        .await
        .map_err(internal)
}

/// The state at T of every key of the table changed after T (in `segment` of the table's
/// partition hashes, if given): the old image of its first change after T (`None`: it did
/// not exist).
fn undo_map(
    storage: &crate::storage::Storage,
    layout: &TableLayout,
    at_ms: u64,
    segment: Option<(u32, u32)>,
) -> Result<BTreeMap<String, Option<Item>>, ApiError> {
    let mut undone: BTreeMap<String, Option<Item>> = BTreeMap::new();
    let after_t = (at_ms.saturating_add(1), u64::MAX);
    changes_in_window(storage, layout, after_t, |record| {
        if !in_segment(layout, segment, &record.keys) {
            return Ok(());
        }
        if let Entry::Vacant(slot) = undone.entry(key_text(layout, &record.keys)) {
            with_images(&record)?;
            slot.insert(record.old_image);
        }
        Ok(())
    })?;
    Ok(undone)
}

/// Calls `each` with every change of the table committed at or after `from_ms` and before
/// `to_ms` (epoch milliseconds), in commit order. Commit times never decrease along the
/// log, so reading starts at the window's first record (a binary search) instead of the
/// log's oldest, and stops at the first record past the window.
fn changes_in_window(
    storage: &crate::storage::Storage,
    layout: &TableLayout,
    (from_ms, to_ms): (u64, u64),
    mut each: impl FnMut(ChangeRecord) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let mut after = storage
        .first_change_seq_since(from_ms)
        .map_err(internal)?
        .saturating_sub(1);
    loop {
        let records = storage
            .table_changes(layout.table_id, after, u64::MAX, 1000)
            .map_err(internal)?;
        let Some(last) = records.last() else {
            return Ok(());
        };
        after = last.seq;
        for record in records {
            if record.time_ms >= to_ms {
                return Ok(());
            }
            if record.time_ms >= from_ms {
                each(record)?;
            }
        }
    }
}

/// Refuses a record inside a recovery window without both its images. The window opens
/// after the last record written without them (`api::update_continuous_backups`), so
/// this is a broken invariant: a restore or export must never guess.
fn with_images(record: &ChangeRecord) -> Result<(), ApiError> {
    if record.old_image_elided || record.new_image_elided {
        tracing::error!(
            seq = record.seq,
            table = %record.table_name,
            "a change inside the recovery window lacks an image"
        );
        return Err(ApiError::internal());
    }
    Ok(())
}

/// An item's key attributes as text: how maps of changed keys are keyed.
fn key_text(layout: &TableLayout, item: &Item) -> String {
    let schema = &layout.schema;
    let mut key = Item::new();
    for name in std::iter::once(&schema.hash.name).chain(schema.range.iter().map(|r| &r.name)) {
        if let Some(v) = item.get(name) {
            key.insert(name.clone(), v.clone());
        }
    }
    serde_json::to_string(&key).unwrap_or_default()
}

/// Epoch milliseconds of the oldest retained change, if the log was trimmed past
/// anything of this table (restores before it cannot be exact).
pub fn log_horizon_ms(app: &App) -> Result<Option<u64>, ApiError> {
    let oldest = app.storage.oldest_change().map_err(internal)?;
    Ok(oldest
        .filter(|(first, _)| *first > 1)
        .map(|(_, time_ms)| time_ms))
}

#[cfg(test)]
mod tests;
