//! One bulk put items operation: its record, and the background work that writes the items
//! of its S3 objects into an existing table.
//!
//! Every object whose key starts with the input prefix is read, in key order ([`source`]):
//! DynamoDB JSON lines or Ion text lines, each an item and optionally its condition,
//! `{"Item":{...},"ConditionExpression":"...","ExpressionAttributeNames":{...},
//! "ExpressionAttributeValues":{...}}` (PutItem's members; nothing else may be there). Each
//! line is a PutItem through the store's own write path, so indexes, streams, TTL,
//! PITR, replication and the dax-proxy nodes' caches see it as they see any write, and the
//! table's capacity is consumed: a throttled put waits and is tried again, and
//! `MaxWriteRequestUnits` paces the operation below that. Lines of one object are written
//! in order for any one key (a later line wins), up to [`source::BATCH`] puts at once.
//!
//! A line that cannot be read or that PutItem refuses counts in `FailedItemCount` and goes
//! to the `ERROR` report; a line whose condition is false goes to the
//! `CONDITION_CHECK_FAILURE` report (with the item it found) and fails nothing; the rest of
//! an object that cannot be read or decompressed is one error. Such errors end the
//! operation `COMPLETED_WITH_ERRORS`; a table deleted meanwhile, a refused write or an
//! unwritable report end it `FAILED`, the items written so far staying written.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::model::size::item_size;
use shared::model::{ExpressionValues, Item, PrimaryKey};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::put_item::PutItemInput;

use super::bulk_report::Report;
use super::jobs::{self, Header, Job, Status};
use super::source::{self, Chunk, Source};
use crate::app::App;
use crate::catalog::TableMeta;

/// How often a running operation saves its counts for Describe to show.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The longest wait before a throttled put is tried again.
const MOST_BACKOFF: Duration = Duration::from_secs(1);

/// Where objects are in this store's S3 directory: what `InputS3Configuration` and
/// `OutputS3Configuration` share.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket_owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
}

impl S3Location {
    pub fn bucket(&self) -> &str {
        self.s3_bucket.as_deref().unwrap_or_default()
    }

    /// Refuses a bucket or prefix outside what S3 and this store's directory hold
    /// ([`super::check_location`]).
    pub fn check(&self) -> Result<(), ApiError> {
        super::check_location(self.bucket(), self.s3_key_prefix.as_deref())
    }
}

/// `InputS3Configuration`: where the objects are, and how they are written.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputConfiguration {
    #[serde(flatten)]
    pub location: S3Location,
    /// `DYNAMODB_JSON` or `ION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_format: Option<String>,
    /// `GZIP`, `ZSTD` or `NONE` (recorded as `NONE` when not given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_compression_type: Option<String>,
}

/// `OutputS3Configuration`: where the report goes, and what it holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputConfiguration {
    #[serde(flatten)]
    pub location: S3Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_sse_algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_sse_kms_key_id: Option<String>,
    /// `ERROR` and/or `CONDITION_CHECK_FAILURE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_type: Option<Vec<String>>,
}

impl OutputConfiguration {
    /// Whether the report holds the lines of `output_type`.
    pub fn wants(&self, output_type: &str) -> bool {
        self.output_type.iter().flatten().any(|t| t == output_type)
    }
}

/// A bulk operation's durable record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkRecord {
    #[serde(flatten)]
    pub job: Header,
    pub table_name: String,
    pub table_id: String,
    /// The request's configurations, as checked (and echoed by Describe).
    pub input: InputConfiguration,
    pub output: OutputConfiguration,
    pub max_write_request_units: Option<i64>,
    pub performance_tier: String,
    pub total_input_bytes: Option<u64>,
    pub processed_input_bytes: u64,
    pub processed_item_count: u64,
    pub failed_item_count: u64,
    /// Objects whose rest could not be read or decompressed.
    pub unreadable_objects: u64,
    pub condition_check_failures: u64,
    pub written_item_count: u64,
    /// The DynamoDB sizes of the items written.
    pub put_bytes: u64,
    /// The bytes of their entries in each index they reached (absent from records saved
    /// before indexes were counted).
    #[serde(default)]
    pub index_put_bytes: BTreeMap<String, IndexPutBytes>,
}

/// What a bulk operation wrote into one index.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IndexPutBytes {
    pub global: bool,
    pub bytes: u64,
}

impl Job for BulkRecord {
    const PREFIX: &'static str = "bulk/";
    const NEWEST_FIRST: bool = true;
    const DESCRIPTION: &'static str = "BulkOperationDescription";
    const SUMMARIES: &'static str = "BulkOperationsSummaryList";
    const KIND: &'static str = "Bulk operation";
    const NOT_FOUND: ErrorCode = ErrorCode::ResourceNotFoundException;

    fn header(&self) -> &Header {
        &self.job
    }

    fn header_mut(&mut self) -> &mut Header {
        &mut self.job
    }

    /// `BulkOperationDescription`.
    fn description(&self) -> Value {
        let p = &self.job.progress;
        let mut d = json!({
            "BulkOperationArn": self.job.arn,
            "BulkOperationStatus": p.status,
            "TableDetails": [{"TableName": self.table_name, "TableId": self.table_id}],
            "InputS3Configuration": self.input,
            "OutputS3Configuration": self.output,
            "StartTime": p.start_time,
            "ProcessedItemCount": self.processed_item_count,
            "ProcessedInputBytes": self.processed_input_bytes,
            "FailedItemCount": self.failed_item_count,
            "BulkOperationUsage": [self.usage()],
            "PerformanceTier": self.performance_tier,
        });
        let own = [
            ("TotalInputBytes", self.total_input_bytes.map(Value::from)),
            (
                "MaxWriteRequestUnits",
                self.max_write_request_units.map(Value::from),
            ),
        ];
        self.job.add_present(&mut d, own);
        d
    }

    /// `BulkOperationSummary`, as ListBulkOperations shows it.
    fn summary(&self) -> Value {
        let mut s = json!({
            "BulkOperationArn": self.job.arn,
            "BulkOperationStatus": self.job.progress.status,
            "StartTime": self.job.progress.start_time,
        });
        if let Some(end) = self.job.progress.end_time {
            s["EndTime"] = json!(end);
        }
        s
    }
}

impl BulkRecord {
    /// `BulkOperationUsage` of the table: its bytes, each index's, and their total.
    fn usage(&self) -> Value {
        let index_total: u64 = self.index_put_bytes.values().map(|i| i.bytes).sum();
        let mut usage = json!({
            "TableName": self.table_name,
            "BulkPutBytes": self.put_bytes + index_total,
            "Table": {"BulkPutBytes": self.put_bytes},
        });
        for (member, global) in [
            ("GlobalSecondaryIndexes", true),
            ("LocalSecondaryIndexes", false),
        ] {
            let indexes: serde_json::Map<String, Value> = self
                .index_put_bytes
                .iter()
                .filter(|(_, i)| i.global == global)
                .map(|(name, i)| (name.clone(), json!({"BulkPutBytes": i.bytes})))
                .collect();
            if !indexes.is_empty() {
                usage[member] = Value::Object(indexes);
            }
        }
        usage
    }
}

/// The bulk operations under way and those a cancel was asked for. Its lock also orders a
/// cancel's save of a record against the running job's saves of it, so neither undoes
/// the other: a job saves under it, and saves `CANCELLING` once a cancel is here.
#[derive(Default)]
pub struct BulkRuns(tokio::sync::Mutex<Runs>);

#[derive(Default)]
struct Runs {
    /// Operations writing (not waiting for one of the store's job slots).
    begun: HashSet<String>,
    /// Operations a cancel was asked for: a running one stops before its next put, a
    /// waiting one never begins.
    asked: HashSet<String>,
}

/// CancelBulkOperation: marks an operation under way `CANCELLING` (it stops before its
/// next put) and one still waiting for its turn `CANCELLED`; answers the status it leaves
/// the operation in.
pub async fn cancel(app: &App, arn: &str) -> Result<Status, ApiError> {
    let mut runs = app.bulk_runs.0.lock().await;
    let mut record = jobs::found::<BulkRecord>(app, arn)?;
    let status = record.job.progress.status;
    if !status.is_running() {
        return Err(ApiError::validation(format!(
            "Bulk operation {arn} cannot be cancelled: it is {}",
            serde_json::to_value(status)
                .unwrap_or_default()
                .as_str()
                .unwrap_or_default()
        )));
    }
    runs.asked.insert(arn.to_string());
    if runs.begun.contains(arn) {
        record.job.progress.status = Status::Cancelling;
    } else {
        record
            .job
            .progress
            .end(Status::Cancelled, Some(jobs::cancelled()));
    }
    jobs::save(app, &record).await?;
    Ok(record.job.progress.status)
}

/// Whether a cancel was asked for operation `arn`.
async fn cancel_asked(app: &App, arn: &str) -> bool {
    app.bulk_runs.0.lock().await.asked.contains(arn)
}

/// Whether a bulk operation on table `table_arn` is running or waiting to.
pub fn running_on(app: &App, table_arn: &str) -> Result<bool, ApiError> {
    Ok(jobs::all::<BulkRecord>(app)?
        .iter()
        .any(|r| r.job.table_arn == table_arn && r.job.progress.status.is_running()))
}

/// How a run ended, short of failing.
enum Ended {
    Done,
    Cancelled,
}

/// Runs a bulk operation recorded as started, writes its report, and records the outcome.
pub async fn run(app: Arc<App>, mut record: BulkRecord) {
    {
        let mut runs = app.bulk_runs.0.lock().await;
        // Cancelled while it waited for its turn, and recorded so by the cancel.
        if runs.asked.remove(&record.job.arn) {
            return;
        }
        runs.begun.insert(record.job.arn.clone());
    }
    let mut report = Report::new(&app, &record);
    let outcome = match report.prepare().await {
        Ok(()) => put_all(&app, &mut record, &mut report).await,
        Err(message) => Err(message),
    };
    let outcome = match report.finish(&record).await {
        Ok(()) => outcome,
        Err(message) => outcome.and(Err(message)),
    };
    let mut runs = app.bulk_runs.0.lock().await;
    runs.begun.remove(&record.job.arn);
    let cancelled = runs.asked.remove(&record.job.arn);
    let progress = &mut record.job.progress;
    match outcome {
        Err(message) => {
            tracing::warn!(bulk = %record.job.arn, %message, "bulk operation failed");
            progress.fail("BulkOperationFailed", message);
        }
        Ok(Ended::Cancelled) => progress.end(Status::Cancelled, Some(jobs::cancelled())),
        Ok(Ended::Done) if cancelled => progress.end(Status::Cancelled, Some(jobs::cancelled())),
        Ok(Ended::Done) if record.failed_item_count + record.unreadable_objects > 0 => {
            progress.end(Status::CompletedWithErrors, None)
        }
        Ok(Ended::Done) => progress.end(Status::Completed, None),
    }
    if let Err(e) = jobs::save(&app, &record).await {
        tracing::error!(bulk = %record.job.arn, error = ?e.message, "cannot record the bulk operation's end");
    }
    drop(runs);
}

/// Saves the record's counts, as `CANCELLING` once a cancel was asked for; answers whether
/// one was.
async fn save_progress(app: &App, record: &mut BulkRecord) -> Result<bool, String> {
    let runs = app.bulk_runs.0.lock().await;
    let cancelled = runs.asked.contains(&record.job.arn);
    if cancelled {
        record.job.progress.status = Status::Cancelling;
    }
    jobs::save(app, record)
        .await
        .map_err(|e| e.message.unwrap_or_default())?;
    Ok(cancelled)
}

/// The operation's own table, unless it was deleted (or replaced) meanwhile.
fn own_table(app: &App, record: &BulkRecord) -> Result<Arc<TableMeta>, String> {
    app.catalog
        .get_same(&record.table_name, &record.table_id)
        .ok_or_else(|| deleted(&record.table_name))
}

/// Saves the record's counts if [`PROGRESS_EVERY`] has passed since `saved`; answers
/// whether a cancel was asked for.
async fn save_if_due(
    app: &App,
    record: &mut BulkRecord,
    saved: &mut Instant,
) -> Result<bool, String> {
    if saved.elapsed() < PROGRESS_EVERY {
        return Ok(false);
    }
    *saved = Instant::now();
    save_progress(app, record).await
}

/// The failure message of an operation whose table was deleted while it ran.
fn deleted(table: &str) -> String {
    format!("The table {table} was deleted during the bulk operation")
}

/// Writes the items of every input object, counting and reporting as it goes.
async fn put_all(
    app: &Arc<App>,
    record: &mut BulkRecord,
    report: &mut Report,
) -> Result<Ended, String> {
    let location = &record.input.location;
    let root = super::bucket_dir(app, location.bucket());
    let prefix = location.s3_key_prefix.clone().unwrap_or_default();
    if !tokio::fs::metadata(&root).await.is_ok_and(|m| m.is_dir()) {
        return Err(format!(
            "The S3 bucket {} does not exist",
            location.bucket()
        ));
    }
    let listed = prefix.clone();
    let objects = tokio::task::spawn_blocking(move || {
        source::objects(&root, &listed)
            .into_iter()
            .map(|(key, path)| {
                let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                (key, path, size)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| e.to_string())?;
    if objects.is_empty() {
        return Err(format!(
            "No objects found in S3 bucket {} under the prefix \"{prefix}\"",
            location.bucket()
        ));
    }
    record.total_input_bytes = Some(objects.iter().map(|(_, _, size)| size).sum());
    let mut pace = Pace::new(record.max_write_request_units);
    let mut saved = Instant::now();
    if save_progress(app, record).await? {
        return Ok(Ended::Cancelled);
    }
    for (key, path, size) in objects {
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let source = Source {
            path,
            compression: record
                .input
                .input_compression_type
                .clone()
                .unwrap_or_default(),
            multiline: false,
        };
        let ion = record.input.input_format.as_deref() == Some("ION");
        let mut line_number = 0u64;
        let reader = tokio::task::spawn_blocking(move || {
            source.read(&tx, |text| {
                line_number += 1;
                parse_line(text, ion, line_number)
            })
        });
        while let Some(chunk) = rx.recv().await {
            let table = own_table(app, record)?;
            match chunk {
                Chunk::Unreadable => {
                    record.unreadable_objects += 1;
                    report.object_unreadable(&key);
                }
                Chunk::Records(lines, _) => {
                    let mut chunk = Chunked {
                        app,
                        table: &table,
                        record,
                        report,
                        pace: &mut pace,
                        saved: &mut saved,
                        object: &key,
                    };
                    if let Ended::Cancelled = chunk.put_lines(lines).await? {
                        return Ok(Ended::Cancelled);
                    }
                }
            }
            report.flush().await?;
            if save_if_due(app, record, &mut saved).await? {
                return Ok(Ended::Cancelled);
            }
        }
        reader.await.map_err(|e| e.to_string())?;
        record.processed_input_bytes += size;
        if save_progress(app, record).await? {
            return Ok(Ended::Cancelled);
        }
    }
    Ok(Ended::Done)
}

/// A line of an input object, read.
enum Line {
    Put {
        number: u64,
        put: Box<BulkLine>,
    },
    Bad {
        number: u64,
        message: String,
        text: Option<String>,
    },
}

/// What a line holds: PutItem's item and condition members.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct BulkLine {
    item: Item,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression_attribute_names: Option<std::collections::HashMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression_attribute_values: Option<ExpressionValues>,
}

/// The longest part of a bad line its `ERROR` report line repeats.
const REPORTED_TEXT: usize = 4096;

/// What an `ERROR` report line repeats of an input line: its first [`REPORTED_TEXT`] bytes.
fn reported_text(line: &str) -> String {
    line.chars()
        .scan(0, |len, c| {
            *len += c.len_utf8();
            (*len <= REPORTED_TEXT).then_some(c)
        })
        .collect()
}

/// Line `number`, read as DynamoDB JSON or Ion text; `None` when blank.
fn parse_line(text: source::Text<'_>, ion: bool, number: u64) -> Option<Line> {
    let bad = |message: String, text: Option<&str>| Line::Bad {
        number,
        message,
        text: text.map(reported_text),
    };
    let Ok(text) = text else {
        return Some(bad(
            format!(
                "The line is not UTF-8 text, or is longer than {} bytes",
                source::MAX_LINE
            ),
            None,
        ));
    };
    if text.trim().is_empty() {
        return None;
    }
    let parsed = if ion {
        super::ion::line_as_json(text)
            .map_err(|()| "The line is not an Ion struct with an Item".to_string())
            .and_then(|value| serde_json::from_value::<BulkLine>(value).map_err(unreadable))
    } else {
        serde_json::from_str::<BulkLine>(text).map_err(unreadable)
    };
    Some(match parsed {
        Ok(put) => Line::Put {
            number,
            put: Box::new(put),
        },
        Err(message) => bad(message, Some(text)),
    })
}

/// Why a line could not be read, in DynamoDB's words where a value broke its rules (the
/// same text PutItem answers) and in plain ones otherwise: never serde's, which name this
/// store's types and count columns within the line.
fn unreadable(error: serde_json::Error) -> String {
    let text = error.to_string();
    if let Some(message) = shared::model::value::validation_message(&text) {
        return message.to_string();
    }
    if let Some(member) = text.strip_prefix("unknown field `") {
        let member = member.split('`').next().unwrap_or_default();
        return format!(
            "The line has a member {member}: a line holds Item and, optionally, \
             ConditionExpression, ExpressionAttributeNames and ExpressionAttributeValues"
        );
    }
    if error.is_syntax() || error.is_eof() {
        return "The line is not JSON text".to_string();
    }
    if text.starts_with("missing field `Item`") {
        return "The line has no Item".to_string();
    }
    "The line is not a JSON object with an Item and PutItem's condition members".to_string()
}

/// One chunk of lines of an input object being written.
struct Chunked<'a> {
    app: &'a Arc<App>,
    table: &'a TableMeta,
    record: &'a mut BulkRecord,
    report: &'a mut Report,
    pace: &'a mut Pace,
    /// When the record's counts were last saved.
    saved: &'a mut Instant,
    /// The object's key.
    object: &'a str,
}

impl Chunked<'_> {
    /// Writes the lines: puts of distinct keys at once, a later line for a key already
    /// being written after it. Ends `Cancelled` when a cancel stopped it.
    async fn put_lines(&mut self, lines: Vec<Line>) -> Result<Ended, String> {
        let mut wave: Vec<(u64, BulkLine)> = Vec::new();
        let mut keys: Vec<PrimaryKey> = Vec::new();
        for line in lines {
            match line {
                Line::Bad {
                    number,
                    message,
                    text,
                } => {
                    self.record.processed_item_count += 1;
                    self.record.failed_item_count += 1;
                    let code = "ValidationException";
                    self.report
                        .error(self.object, Some(number), code, &message, text);
                }
                Line::Put { number, put } => {
                    let item_key =
                        crate::api::item_write::key_of_put_item(self.table, &put.item).ok();
                    if item_key.as_ref().is_some_and(|k| keys.contains(k)) {
                        if let Ended::Cancelled = self.put_wave(std::mem::take(&mut wave)).await? {
                            return Ok(Ended::Cancelled);
                        }
                        keys.clear();
                    }
                    keys.extend(item_key);
                    wave.push((number, *put));
                }
            }
        }
        self.put_wave(wave).await
    }

    /// Puts the lines of `wave` (of distinct keys) at once, and counts and reports each as
    /// it ends, saving the counts now and then (a throttled wave may take minutes). A
    /// cancel stops it before the next put or retry: the lines not put then are neither
    /// written nor counted.
    async fn put_wave(&mut self, wave: Vec<(u64, BulkLine)>) -> Result<Ended, String> {
        let arn = &self.record.job.arn;
        let mut stopped = false;
        let mut puts = tokio::task::JoinSet::new();
        for (index, (_, line)) in wave.iter().enumerate() {
            let units = crate::capacity::write_units(item_size(&line.item));
            self.pace.take(units as u64).await;
            if cancel_asked(self.app, arn).await {
                stopped = true;
                break;
            }
            let input = PutItemInput {
                table_name: Some(self.table.name().to_string()),
                item: Some(line.item.clone()),
                condition_expression: line.condition_expression.clone(),
                expression_attribute_names: line.expression_attribute_names.clone(),
                expression_attribute_values: line.expression_attribute_values.clone(),
                return_values_on_condition_check_failure: Some("ALL_OLD".into()),
                ..PutItemInput::default()
            };
            let (app, arn) = (Arc::clone(self.app), arn.clone());
            let table_id = self.table.table_uuid.clone();
            puts.spawn(async move {
                let outcome = put_until_not_throttled(&app, input, &table_id, &arn).await;
                (index, outcome)
            });
        }
        loop {
            // Woken at least every PROGRESS_EVERY: a wave whose puts all wait for the
            // table's capacity still shows the counts so far.
            let Ok(next) = tokio::time::timeout(PROGRESS_EVERY, puts.join_next()).await else {
                stopped |= save_if_due(self.app, self.record, self.saved).await?;
                continue;
            };
            let Some(ended) = next else {
                break;
            };
            let (index, outcome) = ended.map_err(|e| e.to_string())?;
            let Some(outcome) = outcome else {
                stopped = true;
                continue;
            };
            let (number, line) = &wave[index];
            self.record.processed_item_count += 1;
            match outcome {
                Ok(()) => {
                    self.record.written_item_count += 1;
                    self.record.put_bytes += item_size(&line.item) as u64;
                    let indexes = crate::api::item_write::index_entry_sizes(self.table, &line.item);
                    for (name, global, bytes) in indexes {
                        let index = self.record.index_put_bytes.entry(name).or_default();
                        index.global = global;
                        index.bytes += bytes as u64;
                    }
                }
                Err(e) if e.code == ErrorCode::ConditionalCheckFailedException => {
                    self.record.condition_check_failures += 1;
                    self.report
                        .condition_failed(self.object, *number, &line.item, e.item.as_ref());
                }
                Err(e) if refuses_the_item(e.code) => {
                    self.record.failed_item_count += 1;
                    let message = e.message.unwrap_or_default();
                    let text = serde_json::to_string(line).ok();
                    let record = text.as_deref().map(reported_text);
                    self.report
                        .error(self.object, Some(*number), e.code.name(), &message, record);
                }
                Err(e) if e.code == ErrorCode::ResourceNotFoundException => {
                    return Err(deleted(&self.record.table_name));
                }
                Err(e) => {
                    return Err(format!(
                        "A write failed: {}",
                        e.message.unwrap_or_else(|| e.code.name().to_string())
                    ));
                }
            }
            stopped |= save_if_due(self.app, self.record, self.saved).await?;
        }
        Ok(if stopped {
            Ended::Cancelled
        } else {
            Ended::Done
        })
    }
}

/// Whether PutItem's error is about the line itself (reported, and the operation goes on)
/// rather than the table or the store.
fn refuses_the_item(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ValidationException
            | ErrorCode::SerializationException
            | ErrorCode::ItemCollectionSizeLimitExceededException
    )
}

/// One PutItem into the operation's own table (`table_id`), tried again after a growing
/// wait while the table's capacity refuses it; `None` when a cancel of operation `arn`
/// came meanwhile (the line is not written). A table created again under the name since
/// is not the operation's: ResourceNotFoundException.
async fn put_until_not_throttled(
    app: &App,
    input: PutItemInput,
    table_id: &str,
    arn: &str,
) -> Option<Result<(), ApiError>> {
    let name = input.table_name.clone().unwrap_or_default();
    let mut wait = Duration::from_millis(10);
    loop {
        // Checked with no wait before PutItem finds the table by name.
        if app.catalog.get_same(&name, table_id).is_none() {
            let gone = ApiError::new(ErrorCode::ResourceNotFoundException, deleted(&name));
            return Some(Err(gone));
        }
        match crate::api::put_item::handle(app, input.clone()).await {
            Err(e) if e.code.is_throttling() => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MOST_BACKOFF);
                if cancel_asked(app, arn).await {
                    return None;
                }
            }
            outcome => return Some(outcome.map(drop)),
        }
    }
}

/// Keeps an operation's writes under `MaxWriteRequestUnits` a second, on average since
/// it started.
struct Pace {
    per_second: Option<u64>,
    started: Instant,
    taken: u64,
}

impl Pace {
    fn new(per_second: Option<i64>) -> Pace {
        Pace {
            per_second: per_second
                .and_then(|n| u64::try_from(n).ok())
                .filter(|&n| n > 0),
            started: Instant::now(),
            taken: 0,
        }
    }

    /// Waits until `units` more keep the rate.
    async fn take(&mut self, units: u64) {
        if let Some(wait) = self.wait_for(units, self.started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }

    /// How long `units` more, `elapsed` after the start, must wait to keep the rate.
    fn wait_for(&mut self, units: u64, elapsed: Duration) -> Option<Duration> {
        let per_second = self.per_second?;
        self.taken += units;
        Duration::from_secs_f64(self.taken as f64 / per_second as f64)
            .checked_sub(elapsed)
            .filter(|wait| !wait.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_an_item_and_its_condition_in_json_or_ion() {
        let json = r##"{"Item":{"pk":{"S":"a"}},"ConditionExpression":"#v < :v","ExpressionAttributeNames":{"#v":"v"},"ExpressionAttributeValues":{":v":{"N":"7"}}}"##;
        let ion = r##"$ion_1_0 {Item:{pk:"a"},ConditionExpression:"#v < :v",ExpressionAttributeNames:{'#v':"v"},ExpressionAttributeValues:{':v':7.}}"##;
        for (text, is_ion) in [(json, false), (ion, true)] {
            let Some(Line::Put { number, put }) = parse_line(Ok(text), is_ion, 3) else {
                panic!("{text} was not read");
            };
            assert_eq!(number, 3);
            assert_eq!(put.condition_expression.as_deref(), Some("#v < :v"));
            assert_eq!(put.expression_attribute_names.map(|n| n.len()), Some(1));
            assert!(put.expression_attribute_values.is_some());
        }
    }

    #[test]
    fn bad_lines_say_why_and_keep_a_bounded_part_of_their_text() {
        assert!(parse_line(Ok("  "), false, 1).is_none());
        let Some(Line::Bad { message, text, .. }) =
            parse_line(Ok(r#"{"Item":{"pk":{"S":"a"}},"Extra":1}"#), false, 1)
        else {
            panic!("an unknown member was read");
        };
        assert!(message.contains("Extra"), "{message}");
        assert!(text.is_some_and(|t| t.contains("Extra")));
        // DynamoDB's words for a value breaking its rules, plain ones otherwise; never
        // serde's, with this store's type names, markers and columns.
        let message_of = |line: &str| match parse_line(Ok(line), false, 1) {
            Some(Line::Bad { message, .. }) => message,
            _ => panic!("{line} was read"),
        };
        for (line, want) in [
            (
                r#"{"Item":{"pk":{"S":"a"},"s":{"SS":[]}}}"#,
                "One or more parameter values were invalid: An string set  may not be empty",
            ),
            (r#"{"Item":{"pk":{"S":"a"}}"#, "The line is not JSON text"),
            (r#"{"ConditionExpression":"x"}"#, "The line has no Item"),
            (
                "5",
                "The line is not a JSON object with an Item and PutItem's condition members",
            ),
        ] {
            assert_eq!(message_of(line), want, "{line}");
        }
        let long = format!(r#"{{"Item":{{"pk":{{"S":"{}"}}}}"#, "é".repeat(5000));
        let Some(Line::Bad { text, .. }) = parse_line(Ok(&long), false, 1) else {
            panic!("an unclosed line was read");
        };
        assert!(text.is_some_and(|t| t.len() <= REPORTED_TEXT && t.starts_with("{\"Item\"")));
        assert!(matches!(
            parse_line(Err(()), false, 9),
            Some(Line::Bad {
                number: 9,
                text: None,
                ..
            })
        ));
    }

    #[test]
    fn the_pace_keeps_units_per_second_under_the_maximum() {
        let mut pace = Pace::new(Some(1024));
        // 1,024 units a second: the first 512 at once are due at 0.5 s.
        let second = Duration::from_secs(1);
        assert_eq!(pace.wait_for(512, Duration::ZERO), Some(second / 2));
        assert_eq!(pace.wait_for(512, second / 2), Some(second / 2));
        assert_eq!(pace.wait_for(512, second * 3), None);
        let mut unpaced = Pace::new(None);
        assert_eq!(unpaced.wait_for(1 << 20, Duration::ZERO), None);
    }
}
