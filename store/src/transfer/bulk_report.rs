//! A bulk operation's report: what it could not write, in its output bucket.
//!
//! Under `<output prefix>/AWSDynamoDB/<operation id>/` (the layout of exports):
//! - `errors.json`: for the `ERROR` output type, one JSON line per line that could not be
//!   read or that PutItem refused, `{"InputObject":<key>,"LineNumber":n,"ErrorCode":...,
//!   "ErrorMessage":...,"Record":<the line's first 4 KB, when it could not be read>}`, and
//!   one without `LineNumber` per object whose rest could not be read or decompressed;
//! - `condition-check-failures.json`: for `CONDITION_CHECK_FAILURE`, one JSON line per
//!   line whose condition was false, `{"InputObject":...,"LineNumber":n,"Item":<the item,
//!   DynamoDB JSON>,"ExistingItem":<the item it found, if any>}`;
//! - `manifest-summary.json`, written last: the operation, its table, its start and end,
//!   its counts (written, failed, condition check failures, unreadable objects) and the
//!   report files with their line counts.
//!
//! Lines are appended as the operation goes (on blocking threads), so a report of any
//! size is never held in memory; a report type not asked for is counted, not written.

use std::path::PathBuf;

use serde_json::{json, Value};
use shared::model::Item;

use super::bulk_put::BulkRecord;
use crate::app::App;

/// A report being written.
pub struct Report {
    /// The operation's report directory.
    dir: PathBuf,
    /// The key of that directory in the output bucket, and the bucket.
    key_prefix: String,
    bucket: String,
    errors: Part,
    condition_failures: Part,
}

/// One report file.
struct Part {
    wanted: bool,
    name: &'static str,
    output_type: &'static str,
    lines: u64,
}

impl Report {
    pub fn new(app: &App, record: &BulkRecord) -> Report {
        let prefix = record.output_prefix.as_deref().unwrap_or_default();
        let key_prefix = format!(
            "{}AWSDynamoDB/{}",
            if prefix.is_empty() || prefix.ends_with('/') {
                prefix.to_string()
            } else {
                format!("{prefix}/")
            },
            record.job.id
        );
        let wants = |t: &str| record.output_types.iter().any(|o| o == t);
        Report {
            dir: super::bucket_dir(app, &record.output_bucket).join(&key_prefix),
            key_prefix,
            bucket: record.output_bucket.clone(),
            errors: Part {
                wanted: wants("ERROR"),
                name: "errors.json",
                output_type: "ERROR",
                lines: 0,
            },
            condition_failures: Part {
                wanted: wants("CONDITION_CHECK_FAILURE"),
                name: "condition-check-failures.json",
                output_type: "CONDITION_CHECK_FAILURE",
                lines: 0,
            },
        }
    }

    /// Reports line `line` (or the whole object, without one) of object `object` as not
    /// written, for `code` and `message`; `text` is the part of the line kept.
    pub async fn error(
        &mut self,
        object: &str,
        line: Option<u64>,
        code: &str,
        message: &str,
        text: Option<String>,
    ) -> Result<(), String> {
        let mut entry = json!({"InputObject": object, "ErrorCode": code, "ErrorMessage": message});
        if let Some(line) = line {
            entry["LineNumber"] = json!(line);
        }
        if let Some(text) = text {
            entry["Record"] = json!(text);
        }
        append(&self.dir, &self.bucket, &mut self.errors, entry).await
    }

    /// Reports the rest of object `object` as unreadable.
    pub async fn object_unreadable(&mut self, object: &str) -> Result<(), String> {
        let message = "The rest of the object could not be read or decompressed";
        self.error(object, None, "InvalidInputObject", message, None)
            .await
    }

    /// Reports line `line` of object `object`, `item`, as not written for its condition,
    /// with the item found.
    pub async fn condition_failed(
        &mut self,
        object: &str,
        line: u64,
        item: &Item,
        existing: Option<&Item>,
    ) -> Result<(), String> {
        let mut entry = json!({"InputObject": object, "LineNumber": line, "Item": item});
        if let Some(existing) = existing {
            entry["ExistingItem"] = json!(existing);
        }
        append(&self.dir, &self.bucket, &mut self.condition_failures, entry).await
    }

    /// Writes the manifest: the operation as it ends and the report's files.
    pub async fn finish(&self, record: &BulkRecord) -> Result<(), String> {
        let files: Vec<Value> = [&self.errors, &self.condition_failures]
            .into_iter()
            .filter(|part| part.wanted)
            .map(|part| {
                json!({
                    "OutputType": part.output_type,
                    "Key": format!("{}/{}", self.key_prefix, part.name),
                    "LineCount": part.lines,
                })
            })
            .collect();
        let manifest = json!({
            "BulkOperationArn": record.job.arn,
            "TableArn": record.job.table_arn,
            "StartTime": super::iso_millis(record.job.progress.start_time),
            "EndTime": super::iso_millis(shared::clock::now_seconds()),
            "ProcessedItemCount": record.processed_item_count,
            "WrittenItemCount": record.written_item_count,
            "FailedItemCount": record.failed_item_count,
            "ConditionCheckFailureCount": record.condition_check_failures,
            "UnreadableObjectCount": record.unreadable_objects,
            "OutputFiles": files,
        });
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("manifest-summary.json"), manifest.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| unwritable(&self.bucket, &e))
    }
}

/// Appends `entry` as a line of `part`, if that type was asked for; counts it either way.
async fn append(
    dir: &std::path::Path,
    bucket: &str,
    part: &mut Part,
    entry: Value,
) -> Result<(), String> {
    part.lines += 1;
    if !part.wanted {
        return Ok(());
    }
    let path = dir.join(part.name);
    let dir = dir.to_path_buf();
    let mut line = entry.to_string();
    line.push('\n');
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        std::fs::create_dir_all(&dir)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        file.write_all(line.as_bytes())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| unwritable(bucket, &e))
}

/// The failure message of a report that could not be written (the system's own text names
/// this store's paths, and goes to the log).
fn unwritable(bucket: &str, e: &std::io::Error) -> String {
    tracing::warn!(error = %e, "cannot write a bulk operation's report");
    format!("Failed to write the report to S3 bucket {bucket}")
}
