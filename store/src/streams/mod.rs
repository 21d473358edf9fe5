//! DynamoDB Streams as a view of the change log.
//!
//! # Shape
//! A stream is nothing but a window on one table's change records: the records of table
//! `table_id` with `start_seq < seq <= end_seq` (no end while enabled). The catalog records
//! a stream when UpdateTable/CreateTable enables it (its ARN, label, view type and
//! `start_seq`) and closes it (`end_seq`) when it is disabled. Records are read through the
//! storage's per-table index of the log (`Storage::table_changes`), so a stream costs
//! one empty index entry per write: there is no second copy of any record. Tables without
//! a stream or PITR skip even that; enabling a stream switches indexing on first and
//! starts the stream after the switch (`api::update_table`).
//!
//! The catalog only remembers a table's *latest* stream, while DynamoDB keeps a disabled
//! stream (and the stream of a deleted table) readable for 24 hours. So this module keeps
//! its own registry, one meta record per stream (`streams/stream/<arn>` → [`StreamInfo`]
//! JSON), which the maintenance task ([`run_maintenance`]) fills from the catalog and
//! closes when the catalog replaces or drops a stream. Readers combine both: the registry
//! first, the catalog for a stream enabled a moment ago that the task has not recorded
//! yet (both derive the same first shard, so the answer does not change when the registry
//! catches up).
//!
//! # Shards
//! A shard is a contiguous range of the stream's sequence numbers: shard i holds
//! `(shards[i].after, shards[i+1].after]`; the last one ends with the stream (or is open).
//! The maintenance task rolls the open shard over every `--stream-shard-rollover`
//! (DynamoDB: about 4 hours), so a stream has a lineage: each shard's parent is the one
//! before it. Shard ids have DynamoDB's form `shardId-<20 digits>-<8 hex>` (creation time
//! in ms, a hash of stream and position). Sequence numbers are the change log's, shown as
//! 21-digit decimals (`10^20 + seq`), so they sort as numbers and as strings.
//!
//! # Retention
//! The maintenance task forgets ended streams once they are `--stream-retention` (24 h)
//! old, and trims change records older than that while any stream exists, older than the
//! longest recovery period of a table with PITR on (a restore undoes the changes after its
//! time, so it needs them), and in any case older than `--feed-retention` (1 h: what a
//! dax-proxy node cut off from the store can catch up on). Without streams and PITR the log
//! therefore holds an hour of writes, not a day (and a record carries only the images its
//! table's readers need: `storage::LogDetail`). A
//! stream shows only records younger than its retention whatever the log keeps: the first
//! of them is the trim horizon ([`trim_horizon`]), and an iterator pointing below it gets
//! TrimmedDataAccessException.
//!
//! # Layout
//! - `iterator`: the opaque, checksummed, expiring shard iterator.
//! - `records`: change record → stream record (view types, event names, identity).
//!
//! Not here: the wire handlers (`api::{list_streams, describe_stream, get_shard_iterator,
//! get_records}`), enabling and disabling (catalog, `api::update_table`).

pub mod iterator;
pub mod records;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::clock::{millis, now_ms};
use shared::model::KeySchema;
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::describe_stream::{SequenceNumberRange, Shard};

use crate::app::App;
use crate::catalog::{StreamMeta, TableMeta};
use crate::metrics;
use crate::storage::StorageError;

/// Meta-record prefix of the stream registry.
const REGISTRY_PREFIX: &str = "streams/stream/";

/// Added to a log sequence number to form a stream sequence number: 21 digits for every
/// u64, so string and numeric order agree.
const SEQUENCE_BASE: u128 = 100_000_000_000_000_000_000;

/// Change records trimmed per maintenance tick at most (the rest waits for the next tick,
/// so a big backlog never monopolizes the commit path).
const TRIM_PER_TICK: usize = 20_000;

/// The message of ResourceNotFoundException for an unknown stream or shard (DYNAMODB.md §9).
pub const NOT_FOUND: &str = "The resource which is being requested does not exist.";

/// Command-line flags of streams, TTL and triggers (flattened into the store's `Args`).
/// Every duration is a number of seconds or a number with a unit (`500ms`, `5m`, `1h`).
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeLogArgs {
    /// How long stream records (and disabled streams) stay readable, in seconds.
    #[arg(long, env = "STORE_STREAM_RETENTION", default_value = "86400", value_parser = shared::flags::positive_duration)]
    pub stream_retention: Duration,
    /// How long the change log keeps records when no stream (nor PITR) needs them longer,
    /// in seconds: what a dax-proxy node cut off from the store can still catch up on.
    #[arg(long, env = "STORE_FEED_RETENTION", default_value = "3600", value_parser = shared::flags::positive_duration)]
    pub feed_retention: Duration,
    /// How long a shard iterator stays valid after it is issued, in seconds (DynamoDB: 15
    /// minutes).
    #[arg(long, env = "STORE_STREAM_ITERATOR_TTL", default_value = "900", value_parser = shared::flags::positive_duration)]
    pub stream_iterator_ttl: Duration,
    /// How often a stream's open shard is closed and a child shard opened, in seconds
    /// (DynamoDB: about 4 hours).
    #[arg(long, env = "STORE_STREAM_SHARD_ROLLOVER", default_value = "14400", value_parser = shared::flags::positive_duration)]
    pub stream_shard_rollover: Duration,
    /// Pause between TTL sweeps of all tables, in seconds. DynamoDB deletes expired items
    /// within days; a short default keeps tests and small deployments tidy.
    #[arg(long, env = "STORE_TTL_SWEEP_INTERVAL", default_value = "5", value_parser = shared::flags::positive_duration)]
    pub ttl_sweep_interval: Duration,
    /// How long after an UpdateTimeToLive a table's TTL setting may not change again, in
    /// seconds (DynamoDB: one hour, refused with a ValidationException); 0 lets it change
    /// at any time.
    #[arg(long, env = "STORE_TTL_CHANGE_INTERVAL", default_value = "3600", value_parser = shared::flags::duration)]
    pub ttl_change_interval: Duration,
    /// Upper bound on TTL deletes per second, so sweeping never starves user traffic.
    #[arg(long, env = "STORE_TTL_MAX_DELETES_PER_SECOND", default_value_t = 500)]
    pub ttl_max_deletes_per_second: u32,
    /// How long a trigger target may take to answer one batch, in seconds.
    #[arg(long, env = "STORE_TRIGGER_TIMEOUT", default_value = "10", value_parser = shared::flags::positive_duration)]
    pub trigger_timeout: Duration,
    /// First retry delay of a failed trigger delivery, in seconds (doubles per attempt,
    /// capped at 30 s).
    #[arg(long, env = "STORE_TRIGGER_RETRY_BASE", default_value = "0.5", value_parser = shared::flags::positive_duration)]
    pub trigger_retry_base: Duration,
}

impl ChangeLogArgs {
    /// Checks the settings the flags' parsers cannot.
    pub fn validate(self) -> Result<ChangeLogConfig, String> {
        if self.ttl_max_deletes_per_second == 0 {
            return Err("--ttl-max-deletes-per-second must be at least 1".into());
        }
        Ok(ChangeLogConfig {
            stream_retention: self.stream_retention,
            feed_retention: self.feed_retention,
            iterator_ttl: self.stream_iterator_ttl,
            shard_rollover: self.stream_shard_rollover,
            ttl_sweep_interval: self.ttl_sweep_interval,
            ttl_max_deletes_per_second: self.ttl_max_deletes_per_second,
            ttl_change_interval: self.ttl_change_interval,
            trigger_timeout: self.trigger_timeout,
            trigger_retry_base: self.trigger_retry_base,
        })
    }
}

/// Validated settings of streams, TTL and triggers.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeLogConfig {
    pub stream_retention: Duration,
    pub feed_retention: Duration,
    pub iterator_ttl: Duration,
    pub shard_rollover: Duration,
    pub ttl_sweep_interval: Duration,
    pub ttl_max_deletes_per_second: u32,
    pub ttl_change_interval: Duration,
    pub trigger_timeout: Duration,
    pub trigger_retry_base: Duration,
}

impl Default for ChangeLogConfig {
    fn default() -> Self {
        ChangeLogConfig {
            stream_retention: Duration::from_secs(86_400),
            feed_retention: Duration::from_secs(3_600),
            iterator_ttl: Duration::from_secs(900),
            shard_rollover: Duration::from_secs(14_400),
            ttl_sweep_interval: Duration::from_secs(5),
            ttl_max_deletes_per_second: 500,
            ttl_change_interval: Duration::from_secs(3_600),
            trigger_timeout: Duration::from_secs(10),
            trigger_retry_base: Duration::from_millis(500),
        }
    }
}

/// Where a shard starts: it holds the records after `after`; created at `time_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStart {
    pub after: u64,
    pub time_ms: u64,
}

/// One stream, as the registry persists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub arn: String,
    pub label: String,
    pub table_name: String,
    pub table_id: u64,
    pub view_type: String,
    pub key_schema: KeySchema,
    /// Epoch seconds.
    pub created: f64,
    pub start_seq: u64,
    /// The last sequence number the stream holds, once it is disabled.
    #[serde(default)]
    pub end_seq: Option<u64>,
    /// When the registry saw the stream end (epoch ms): it is forgotten a retention later.
    #[serde(default)]
    pub ended_ms: Option<u64>,
    /// At least one; in order.
    pub shards: Vec<ShardStart>,
}

/// One shard with its computed range and lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardView {
    pub id: String,
    pub parent: Option<String>,
    /// Records with `after < seq`.
    pub after: u64,
    /// ... and `seq <= end`; `None` while open.
    pub end: Option<u64>,
}

impl StreamInfo {
    /// The stream a table's catalog entry describes (one shard, from the stream's start).
    /// A disabled stream ended when it was disabled (at the epoch if the catalog entry
    /// predates that record, so it counts as long expired).
    pub fn from_catalog(table: &TableMeta, stream: &StreamMeta) -> StreamInfo {
        let disabled_ms = stream
            .disabled_at
            .map_or(0, |at| (at * 1000.0).max(0.0) as u64);
        StreamInfo {
            arn: stream.arn.clone(),
            label: stream.label.clone(),
            table_name: table.name().to_string(),
            table_id: table.table_id(),
            view_type: stream.view_type.clone(),
            key_schema: table.schema().clone(),
            created: stream.created,
            start_seq: stream.start_seq,
            end_seq: stream.end_seq,
            ended_ms: stream.end_seq.map(|_| disabled_ms),
            shards: vec![ShardStart {
                after: stream.start_seq,
                time_ms: (stream.created * 1000.0).max(0.0) as u64,
            }],
        }
    }

    /// Whether the stream ended a retention or more before `now_ms`: no longer readable,
    /// and forgotten.
    pub fn expired(&self, now_ms: u64, retention_ms: u64) -> bool {
        self.ended_ms
            .is_some_and(|ended| now_ms.saturating_sub(ended) >= retention_ms)
    }

    /// `ENABLED` or `DISABLED`.
    pub fn status(&self) -> &'static str {
        if self.end_seq.is_some() {
            "DISABLED"
        } else {
            "ENABLED"
        }
    }

    /// Every shard, oldest first, with ranges and parents.
    pub fn shards(&self) -> Vec<ShardView> {
        let mut out: Vec<ShardView> = Vec::with_capacity(self.shards.len());
        for (i, start) in self.shards.iter().enumerate() {
            let end = match self.shards.get(i + 1) {
                Some(next) => Some(next.after),
                None => self.end_seq,
            };
            out.push(ShardView {
                id: shard_id(&self.arn, start),
                parent: out.last().map(|p| p.id.clone()),
                after: start.after,
                end: end.map(|e| e.max(start.after)),
            });
        }
        out
    }

    /// The shard named `id`.
    pub fn shard(&self, id: &str) -> Option<ShardView> {
        self.shards().into_iter().find(|s| s.id == id)
    }
}

impl ShardView {
    /// The wire form. An empty closed shard reports its start as its end.
    pub fn describe(&self) -> Shard {
        Shard {
            shard_id: self.id.clone(),
            parent_shard_id: self.parent.clone(),
            sequence_number_range: SequenceNumberRange {
                starting_sequence_number: Some(sequence_number(self.after.saturating_add(1))),
                ending_sequence_number: self.end.map(sequence_number),
            },
        }
    }
}

/// `shardId-<creation ms, 20 digits>-<8 hex of a hash of stream and start>`.
fn shard_id(arn: &str, start: &ShardStart) -> String {
    let mut bytes = arn.as_bytes().to_vec();
    bytes.extend_from_slice(&start.after.to_be_bytes());
    let hash = xxhash_rust::xxh3::xxh3_64(&bytes) as u32;
    format!("shardId-{:020}-{hash:08x}", start.time_ms)
}

/// The stream sequence number of log sequence number `seq`.
pub fn sequence_number(seq: u64) -> String {
    (SEQUENCE_BASE + u128::from(seq)).to_string()
}

/// The log sequence number of a stream sequence number (`None` unless it is 21 to 40
/// digits and one this store could have issued).
pub fn parse_sequence_number(text: &str) -> Option<u64> {
    if !(21..=40).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u128 = text.parse().ok()?;
    u64::try_from(value.checked_sub(SEQUENCE_BASE)?).ok()
}

/// Storage failures are internal errors: logged here, generic on the wire.
pub fn internal(e: StorageError) -> ApiError {
    tracing::error!(error = %e, "streams storage failure");
    ApiError::internal()
}

/// ResourceNotFoundException for an unknown stream or shard.
pub fn not_found() -> ApiError {
    ApiError::new(ErrorCode::ResourceNotFoundException, NOT_FOUND)
}

/// A ValidationException unless `arn` has a stream ARN's shape,
/// `arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`: DynamoDB refuses a
/// malformed one as invalid rather than looking it up (a well-formed ARN of no stream is
/// ResourceNotFoundException).
pub fn check_stream_arn(arn: &str) -> Result<(), ApiError> {
    let shaped = || -> Option<()> {
        let fields = crate::arn::parse(arn).filter(|a| a.service == "dynamodb")?;
        let (table, label) = fields
            .resource
            .strip_prefix("table/")?
            .split_once("/stream/")?;
        let parts = [
            fields.partition,
            fields.region,
            fields.account,
            table,
            label,
        ];
        parts.iter().all(|part| !part.is_empty()).then_some(())
    };
    shaped().ok_or_else(|| ApiError::validation(format!("Invalid StreamArn: {arn}")))
}

/// Every stream the registry holds, by ARN.
fn registry(app: &App) -> Result<BTreeMap<String, StreamInfo>, StorageError> {
    let mut out = BTreeMap::new();
    for (key, value) in app.storage.list_meta(REGISTRY_PREFIX)? {
        match serde_json::from_slice::<StreamInfo>(&value) {
            Ok(info) => {
                out.insert(info.arn.clone(), info);
            }
            Err(e) => tracing::warn!(error = %e, %key, "skipping an unreadable stream record"),
        }
    }
    Ok(out)
}

/// The streams the catalog describes right now (enabled or the last disabled one).
fn catalog_streams(app: &App) -> BTreeMap<String, StreamInfo> {
    app.catalog
        .all()
        .iter()
        .filter_map(|t| t.stream.as_ref().map(|s| StreamInfo::from_catalog(t, s)))
        .map(|s| (s.arn.clone(), s))
        .collect()
}

/// Registry and catalog combined: the registry's shards, the catalog's end if the
/// registry has not recorded it yet.
fn merge(registry: Option<StreamInfo>, catalog: Option<StreamInfo>) -> Option<StreamInfo> {
    match (registry, catalog) {
        (Some(mut r), Some(c)) => {
            if r.end_seq.is_none() {
                r.end_seq = c.end_seq;
                r.ended_ms = c.ended_ms;
            }
            Some(r)
        }
        (r, c) => r.or(c),
    }
}

/// Whether a stream is still readable now (not ended a retention or more ago).
fn readable(app: &App, stream: &StreamInfo) -> bool {
    let retention_ms = millis(app.config.change_log.stream_retention);
    !stream.expired(now_ms(), retention_ms)
}

/// Every readable stream, by ARN.
pub fn all_streams(app: &App) -> Result<BTreeMap<String, StreamInfo>, ApiError> {
    let mut registry = registry(app).map_err(internal)?;
    let mut out = BTreeMap::new();
    for (arn, c) in catalog_streams(app) {
        if let Some(s) = merge(registry.remove(&arn), Some(c)) {
            out.insert(arn, s);
        }
    }
    out.extend(registry);
    out.retain(|_, stream| readable(app, stream));
    Ok(out)
}

/// The stream with this ARN, if it is readable.
pub fn find_stream(app: &App, arn: &str) -> Result<Option<StreamInfo>, ApiError> {
    let from_registry = app
        .storage
        .list_meta(&format!("{REGISTRY_PREFIX}{arn}"))
        .map_err(internal)?
        .into_iter()
        .find(|(key, _)| key.get(REGISTRY_PREFIX.len()..) == Some(arn))
        .and_then(|(_, value)| serde_json::from_slice::<StreamInfo>(&value).ok());
    let from_catalog = arn.split_once("/stream/").and_then(|(table_arn, _)| {
        let table = app.catalog.get(table_arn)?;
        let stream = table.stream.as_ref().filter(|s| s.arn == arn)?;
        Some(StreamInfo::from_catalog(&table, stream))
    });
    Ok(merge(from_registry, from_catalog).filter(|stream| readable(app, stream)))
}

/// Persists one registry record.
async fn save(app: &App, info: &StreamInfo) -> Result<(), StorageError> {
    let bytes = serde_json::to_vec(info)
        .map_err(|e| StorageError::Engine(format!("stream record: {e}")))?;
    app.storage
        .put_meta(&format!("{REGISTRY_PREFIX}{}", info.arn), Some(bytes))
        .await
}

/// The streams' trim horizon: the first sequence number a stream still shows. Records
/// older than the stream retention are gone for streams (and triggers) even while the log
/// keeps them longer for point-in-time recovery.
pub fn trim_horizon(app: &App) -> Result<u64, StorageError> {
    let retention_ms = millis(app.config.change_log.stream_retention);
    app.storage
        .first_change_seq_since(now_ms().saturating_sub(retention_ms))
}

/// Brings the registry's record of `stream` in line with the catalog entry `table`: a
/// stream it has not seen is recorded (unless it expired), and a stream the catalog has
/// ended is closed at the catalog's end, which wins over an end the maintenance pass
/// inferred.
async fn note_catalog_stream(
    app: &App,
    registry: &mut BTreeMap<String, StreamInfo>,
    table: &TableMeta,
    stream: &StreamMeta,
    now: u64,
) -> Result<(), StorageError> {
    let retention_ms = millis(app.config.change_log.stream_retention);
    let fresh = StreamInfo::from_catalog(table, stream);
    let noted = match registry.get(&stream.arn) {
        // A disabled stream the catalog still names, forgotten once expired, stays so.
        None if fresh.expired(now, retention_ms) => return Ok(()),
        None => fresh,
        Some(known) if stream.end_seq.is_some() && known.end_seq != stream.end_seq => {
            let mut closed = known.clone();
            closed.end_seq = fresh.end_seq;
            closed.ended_ms = fresh.ended_ms;
            closed
        }
        Some(_) => return Ok(()),
    };
    save(app, &noted).await?;
    registry.insert(noted.arn.clone(), noted);
    Ok(())
}

/// Records a table's stream as CreateTable or UpdateTable just left it, before the request
/// returns. The catalog keeps only a table's newest stream: a stream disabled and replaced
/// before the next maintenance pass would otherwise be closed where its successor starts,
/// showing the writes made while it was disabled (and a stream whose table is deleted
/// before that pass would never be recorded). The change is already durable in the
/// catalog: if this write fails, the pass records the stream later, as it did before.
pub async fn note_stream_change(app: &App, table: &TableMeta) {
    let Some(stream) = &table.stream else {
        return;
    };
    let _registry_lock = app.stream_registry.write().await;
    let noted = async {
        let mut registry = registry(app)?;
        note_catalog_stream(app, &mut registry, table, stream, now_ms()).await
    };
    if let Err(e) = noted.await {
        tracing::error!(error = %e, "recording a stream change failed");
    }
}

/// One maintenance pass: record new streams, close replaced or dropped ones, roll shards
/// over, forget expired streams and trim the log (past what streams and PITR need).
pub async fn maintain(app: &App) -> Result<(), StorageError> {
    let config = &app.config.change_log;
    let now = now_ms();
    let retention_ms = millis(config.stream_retention);
    let rollover_ms = millis(config.shard_rollover);
    let registry_lock = app.stream_registry.write().await;
    // Read under the lock: a stream change noted since is in the registry or the catalog.
    let published = app.storage.published_seq();
    let mut registry = registry(app)?;
    let tables = app.catalog.all();

    for table in &tables {
        if let Some(stream) = &table.stream {
            note_catalog_stream(app, &mut registry, table, stream, now).await?;
        }
    }

    for info in registry.values() {
        let mut changed = info.clone();
        if changed.end_seq.is_none() {
            // The table is gone, or the catalog now names a newer stream of it: this one
            // ended (at the newer stream's start, or now).
            let current = tables.iter().find(|t| t.table_id() == info.table_id);
            match current.and_then(|t| t.stream.as_ref()) {
                Some(s) if s.arn == info.arn => {}
                Some(newer) => changed.end_seq = Some(newer.start_seq.max(info.start_seq)),
                None => changed.end_seq = Some(published.max(info.start_seq)),
            }
            if changed.end_seq.is_some() {
                changed.ended_ms = Some(now);
            }
        }
        if changed.end_seq.is_none() {
            let last = changed.shards.last().copied();
            if let Some(last) = last {
                if now.saturating_sub(last.time_ms) >= rollover_ms && published > last.after {
                    changed.shards.push(ShardStart {
                        after: published,
                        time_ms: now,
                    });
                }
            }
        }
        if changed.expired(now, retention_ms) {
            app.storage
                .put_meta(&format!("{REGISTRY_PREFIX}{}", info.arn), None)
                .await?;
        } else if changed != *info {
            save(app, &changed).await?;
        }
    }

    drop(registry_lock);

    // Streams need their retention only while one exists (open, or ended and still
    // readable); a stream enabled later starts at its own first record.
    let streams_ms = if registry.is_empty() { 0 } else { retention_ms };
    let pitr_ms = millis(crate::backup::log_retention(&tables));
    let keep_ms = streams_ms.max(pitr_ms).max(millis(config.feed_retention));
    app.storage
        .trim_changes(now.saturating_sub(keep_ms), TRIM_PER_TICK)
        .await?;
    report_log_size(app, now)
}

/// What the change log holds after trimming, for operators: with PITR on it keeps weeks.
fn report_log_size(app: &App, now_ms: u64) -> Result<(), StorageError> {
    let (records, age_ms) = match app.storage.oldest_change()? {
        Some((first, time_ms)) => (
            (app.storage.published_seq() + 1).saturating_sub(first),
            now_ms.saturating_sub(time_ms),
        ),
        None => (0, 0),
    };
    ::metrics::gauge!(metrics::CHANGE_LOG_RECORDS).set(records as f64);
    ::metrics::gauge!(metrics::CHANGE_LOG_OLDEST_AGE_SECONDS).set(age_ms as f64 / 1000.0);
    Ok(())
}

/// Runs [`maintain`] every second (and after every catalog change) until the process
/// ends. Failures are logged and retried on the next tick.
pub async fn run_maintenance(app: std::sync::Arc<App>) {
    let mut catalog = app.catalog.subscribe();
    loop {
        if let Err(e) = maintain(&app).await {
            tracing::error!(error = %e, "stream maintenance failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            changed = catalog.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stream_arns_are_well_formed() {
        let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-11-28T12:00:00.000";
        assert!(check_stream_arn(arn).is_ok());
        for bad in [
            "x".repeat(50).as_str(),
            "arn:aws:dynamodb:us-east-1:000000000000:table/t",
            "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/",
            "arn:aws:s3:us-east-1:000000000000:table/t/stream/l",
            "arn:aws:dynamodb::000000000000:table/t/stream/l",
        ] {
            assert!(check_stream_arn(bad).is_err(), "{bad}");
        }
    }
    use shared::model::{KeyAttr, ScalarType};

    fn info(shards: Vec<ShardStart>, end: Option<u64>) -> StreamInfo {
        StreamInfo {
            arn: "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2020-01-01T00:00:00.000"
                .into(),
            label: "2020-01-01T00:00:00.000".into(),
            table_name: "t".into(),
            table_id: 1,
            view_type: "KEYS_ONLY".into(),
            key_schema: KeySchema::new(
                KeyAttr {
                    name: "pk".into(),
                    ty: ScalarType::S,
                },
                None,
            ),
            created: 1.0,
            start_seq: 5,
            end_seq: end,
            ended_ms: None,
            shards,
        }
    }

    #[test]
    fn sequence_numbers_round_trip_and_sort_as_strings() {
        assert_eq!(sequence_number(1), "100000000000000000001");
        assert_eq!(parse_sequence_number(&sequence_number(42)), Some(42));
        assert_eq!(
            parse_sequence_number(&sequence_number(u64::MAX)),
            Some(u64::MAX)
        );
        assert!(sequence_number(9) < sequence_number(10));
        for bad in [
            "",
            "12",
            "abc",
            "099999999999999999999",
            "1".repeat(41).as_str(),
        ] {
            assert_eq!(parse_sequence_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn shards_have_ranges_and_a_lineage() {
        let s = info(
            vec![
                ShardStart {
                    after: 5,
                    time_ms: 1000,
                },
                ShardStart {
                    after: 9,
                    time_ms: 2000,
                },
            ],
            None,
        );
        let shards = s.shards();
        assert_eq!(shards.len(), 2);
        assert_eq!(shards[0].end, Some(9));
        assert_eq!(shards[1].end, None);
        assert_eq!(shards[1].parent.as_deref(), Some(shards[0].id.as_str()));
        assert!(shards[0].parent.is_none());
        assert!(shards[0].id.starts_with("shardId-00000000000000001000-"));
        assert_eq!(shards[0].id.len(), "shardId-".len() + 20 + 1 + 8);
        let wire = shards[0].describe();
        assert_eq!(
            wire.sequence_number_range.ending_sequence_number,
            Some(sequence_number(9))
        );
        assert_eq!(s.status(), "ENABLED");
        let closed = info(s.shards.clone(), Some(12));
        assert_eq!(closed.shards()[1].end, Some(12));
        assert_eq!(closed.status(), "DISABLED");
        assert_eq!(closed.shard(&shards[1].id).map(|v| v.after), Some(9));
    }

    #[test]
    fn merge_prefers_registry_shards_and_catalog_end() {
        let registry = info(
            vec![
                ShardStart {
                    after: 5,
                    time_ms: 1,
                },
                ShardStart {
                    after: 7,
                    time_ms: 2,
                },
            ],
            None,
        );
        let catalog = info(
            vec![ShardStart {
                after: 5,
                time_ms: 1,
            }],
            Some(20),
        );
        let merged = merge(Some(registry), Some(catalog));
        assert!(merged.is_some_and(|m| m.shards.len() == 2 && m.end_seq == Some(20)));
    }
}
