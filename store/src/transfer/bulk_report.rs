//! A bulk operation's report: what it could not write, in its output bucket.
//!
//! Under `<output prefix>/AWSDynamoDB/<operation id>/` (the layout of exports):
//! - `errors.json`: for the `ERROR` output type, one JSON line per line that could not be
//!   read or that PutItem refused, `{"InputObject":<key>,"LineNumber":n,"ErrorCode":...,
//!   "ErrorMessage":...,"Record":<the line's first 4 KB>}` (a line PutItem refused is
//!   rendered again from what was read of it), and
//!   one without `LineNumber` per object whose rest could not be read or decompressed;
//! - `condition-check-failures.json`: for `CONDITION_CHECK_FAILURE`, one JSON line per
//!   line whose condition was false, `{"InputObject":...,"LineNumber":n,"Item":<the item,
//!   DynamoDB JSON>,"ExistingItem":<the item it found, if any>}`;
//! - `manifest-summary.json`, written last: the operation, its table, its start and end,
//!   its counts (written, failed, condition check failures, unreadable objects) and the
//!   report files with their line counts.
//!
//! Lines are kept for one chunk of input lines at a time and then appended to their files
//! in input order (on a blocking thread, one write per file), so a report of any size is
//! never held in memory; a report type not asked for is not written.

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
    /// Lines not yet appended to the file, with the input line each reports (`u64::MAX`
    /// for a whole object): a chunk's lines are reported as their puts end, and written
    /// in input order.
    pending: Vec<(u64, String)>,
}

impl Report {
    pub fn new(app: &App, record: &BulkRecord) -> Report {
        let output = &record.output;
        let key_prefix = format!(
            "{}/{}",
            super::aws_dynamodb_dir(output.location.s3_key_prefix.as_deref()),
            record.job.id
        );
        let bucket = output.location.bucket().to_string();
        Report {
            dir: super::bucket_dir(app, &bucket).join(&key_prefix),
            key_prefix,
            bucket,
            errors: Part {
                wanted: output.wants("ERROR"),
                name: "errors.json",
                output_type: "ERROR",
                pending: Vec::new(),
            },
            condition_failures: Part {
                wanted: output.wants("CONDITION_CHECK_FAILURE"),
                name: "condition-check-failures.json",
                output_type: "CONDITION_CHECK_FAILURE",
                pending: Vec::new(),
            },
        }
    }

    /// Reports line `line` (or the whole object, without one) of object `object` as not
    /// written, for `code` and `message`; `text` is the part of the line kept.
    pub fn error(
        &mut self,
        object: &str,
        line: Option<u64>,
        code: &str,
        message: &str,
        text: Option<String>,
    ) {
        let mut entry = json!({"InputObject": object, "ErrorCode": code, "ErrorMessage": message});
        if let Some(line) = line {
            entry["LineNumber"] = json!(line);
        }
        if let Some(text) = text {
            entry["Record"] = json!(text);
        }
        self.errors.add(line.unwrap_or(u64::MAX), entry);
    }

    /// Reports the rest of object `object` as unreadable.
    pub fn object_unreadable(&mut self, object: &str) {
        let message = "The rest of the object could not be read or decompressed";
        self.error(object, None, "InvalidInputObject", message, None);
    }

    /// Reports line `line` of object `object`, `item`, as not written for its condition,
    /// with the item found.
    pub fn condition_failed(
        &mut self,
        object: &str,
        line: u64,
        item: &Item,
        existing: Option<&Item>,
    ) {
        let mut entry = json!({"InputObject": object, "LineNumber": line, "Item": item});
        if let Some(existing) = existing {
            entry["ExistingItem"] = json!(existing);
        }
        self.condition_failures.add(line, entry);
    }

    /// Makes the report's directory before any line is written: an output location that
    /// cannot hold the report fails the operation before it writes any item, not after
    /// it wrote them all.
    pub async fn prepare(&self) -> Result<(), String> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| unwritable(&self.bucket, &e))
    }

    /// Appends the lines reported since the last flush to their files.
    pub async fn flush(&mut self) -> Result<(), String> {
        let dir = self.dir.clone();
        let writes: Vec<_> = [&mut self.errors, &mut self.condition_failures]
            .into_iter()
            .filter(|part| !part.pending.is_empty())
            .map(|part| (dir.join(part.name), part.take_lines()))
            .collect();
        if writes.is_empty() {
            return Ok(());
        }
        tokio::task::spawn_blocking(move || {
            use std::io::Write as _;
            std::fs::create_dir_all(&dir)?;
            for (path, lines) in writes {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)?
                    .write_all(lines.as_bytes())?;
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| unwritable(&self.bucket, &e))
    }

    /// Writes what is left of the report, then the manifest: the operation as it ends and
    /// the report's files.
    pub async fn finish(&mut self, record: &BulkRecord) -> Result<(), String> {
        self.flush().await?;
        let lines = [
            (
                &self.errors,
                record.failed_item_count + record.unreadable_objects,
            ),
            (&self.condition_failures, record.condition_check_failures),
        ];
        let files: Vec<Value> = lines
            .into_iter()
            .filter(|(part, _)| part.wanted)
            .map(|(part, count)| {
                json!({
                    "OutputType": part.output_type,
                    "Key": format!("{}/{}", self.key_prefix, part.name),
                    "LineCount": count,
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

impl Part {
    /// Keeps `entry`, about input line `line`, as a line to append, if this type was asked
    /// for.
    fn add(&mut self, line: u64, entry: Value) {
        if self.wanted {
            self.pending.push((line, entry.to_string()));
        }
    }

    /// The pending lines in input order, as the text to append; none are left pending.
    fn take_lines(&mut self) -> String {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|(line, _)| *line);
        pending
            .into_iter()
            .fold(String::new(), |mut text, (_, entry)| {
                text.push_str(&entry);
                text.push('\n');
                text
            })
    }
}

/// The failure message of a report that could not be written (the system's own text names
/// this store's paths, and goes to the log).
fn unwritable(bucket: &str, e: &std::io::Error) -> String {
    tracing::warn!(error = %e, "cannot write a bulk operation's report");
    format!("Failed to write the report to S3 bucket {bucket}")
}
