//! One export: its record, and the background work that writes its files (layout in the
//! module above).

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::model::size::item_size;
use shared::model::Item;
use shared::wire::error::{ApiError, ErrorCode};

use super::jobs::{self, Header, Job, Status};
use crate::app::App;
use crate::backup::changes::{changes_between, Changed};

/// Lines per data file.
const ITEMS_PER_FILE: usize = 100_000;

/// An export's durable record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportRecord {
    #[serde(flatten)]
    pub job: Header,
    pub table_id: String,
    pub export_time: f64,
    pub s3_bucket: String,
    pub s3_bucket_owner: Option<String>,
    pub s3_prefix: Option<String>,
    pub s3_sse_algorithm: Option<String>,
    pub s3_sse_kms_key_id: Option<String>,
    pub export_format: String,
    pub item_count: u64,
    pub billed_size_bytes: u64,
    /// The window of an incremental export; `None`: a full export as of `export_time`.
    #[serde(default)]
    pub incremental: Option<Incremental>,
}

/// What an incremental export covers: changes at or after `from` and before `to` (epoch
/// seconds), written as `view` says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incremental {
    pub from: f64,
    pub to: f64,
    /// `NEW_AND_OLD_IMAGES` or `NEW_IMAGE`.
    pub view: String,
}

impl Incremental {
    /// Whether lines leave out the item as it was when the window opened.
    fn new_images_only(&self) -> bool {
        self.view == "NEW_IMAGE"
    }
}

impl Job for ExportRecord {
    const PREFIX: &'static str = "export/";

    fn header(&self) -> &Header {
        &self.job
    }

    fn header_mut(&mut self) -> &mut Header {
        &mut self.job
    }

    const DESCRIPTION: &'static str = "ExportDescription";
    const SUMMARIES: &'static str = "ExportSummaries";
    const KIND: &'static str = "Export";
    const NOT_FOUND: ErrorCode = ErrorCode::ExportNotFoundException;

    /// `ExportDescription`.
    fn description(&self) -> Value {
        let p = &self.job.progress;
        let mut d = json!({
            "ExportArn": self.job.arn,
            "ExportStatus": p.status,
            "StartTime": p.start_time,
            "TableArn": self.job.table_arn,
            "TableId": self.table_id,
            "S3Bucket": self.s3_bucket,
            "S3SseAlgorithm": self.s3_sse_algorithm.as_deref().unwrap_or("AES256"),
            "ExportFormat": self.export_format,
            "ExportType": self.export_type(),
        });
        match &self.incremental {
            None => d["ExportTime"] = json!(self.export_time),
            Some(window) => {
                d["IncrementalExportSpecification"] = json!({
                    "ExportFromTime": window.from,
                    "ExportToTime": window.to,
                    "ExportViewType": window.view,
                })
            }
        }
        let own = [
            (
                "S3BucketOwner",
                self.s3_bucket_owner.clone().map(Value::from),
            ),
            ("S3Prefix", self.s3_prefix.clone().map(Value::from)),
            (
                "S3SseKmsKeyId",
                self.s3_sse_kms_key_id.clone().map(Value::from),
            ),
        ];
        self.job.add_present(&mut d, own);
        if p.status == Status::Completed {
            d["ExportManifest"] = json!(self.manifest_summary_key());
            d["ItemCount"] = json!(self.item_count);
            d["BilledSizeBytes"] = json!(self.billed_size_bytes);
        }
        d
    }

    /// `ExportSummary`, as ListExports shows it.
    fn summary(&self) -> Value {
        json!({
            "ExportArn": self.job.arn,
            "ExportStatus": self.job.progress.status,
            "ExportType": self.export_type(),
        })
    }
}

impl ExportRecord {
    fn export_type(&self) -> &'static str {
        match self.incremental {
            None => "FULL_EXPORT",
            Some(_) => "INCREMENTAL_EXPORT",
        }
    }

    /// `<prefix>/AWSDynamoDB`, which every export under the prefix writes into.
    fn exports_dir(&self) -> String {
        super::aws_dynamodb_dir(self.s3_prefix.as_deref())
    }

    /// The S3 key prefix of this export's manifests.
    fn key_prefix(&self) -> String {
        format!("{}/{}", self.exports_dir(), self.job.id)
    }

    /// Where the data files go: the export's own `data/`, or for incremental exports the
    /// `data/` they all share, as DynamoDB lays them out.
    fn data_dir(&self) -> String {
        match self.incremental {
            None => format!("{}/data", self.key_prefix()),
            Some(_) => format!("{}/data", self.exports_dir()),
        }
    }

    fn manifest_summary_key(&self) -> String {
        format!("{}/manifest-summary.json", self.key_prefix())
    }
}

/// Runs an export recorded as started: reads the table as of the export time, writes the
/// files, and records the outcome.
pub async fn run(app: &App, mut record: ExportRecord) {
    let exported = export(app, &record).await.and_then(|(items, bytes)| {
        record.item_count = items;
        record.billed_size_bytes = bytes;
        record.job.progress.complete();
        // The summary names the end time: it is written last, once all else is there.
        write_summary(&super::bucket_dir(app, &record.s3_bucket), &record)
    });
    if let Err(e) = exported {
        tracing::warn!(export = %record.job.arn, error = %e, "export failed");
        let message = failure_message(&record.s3_bucket, &e);
        record.job.progress.fail("S3Error", message);
    }
    if let Err(e) = jobs::save(app, &record).await {
        tracing::error!(export = %record.job.arn, error = ?e.message, "cannot record the export's end");
    }
}

/// The lines' count and the size of the items in them, once the data files and their
/// manifest are written.
async fn export(app: &App, record: &ExportRecord) -> std::io::Result<(u64, u64)> {
    let table = app
        .catalog
        .get_same(&record.job.table_arn, &record.table_id)
        .ok_or_else(|| std::io::Error::other("the table was deleted"))?;
    let unreadable = |_| std::io::Error::other("the table could not be read");
    let root = super::bucket_dir(app, &record.s3_bucket);
    let written = record.clone();
    let writing = match &record.incremental {
        None => {
            let mut items = crate::backup::items_at(app, &table, record.export_time)
                .await
                .map_err(unreadable)?;
            let line = match written.export_format.as_str() {
                "ION" => ion_item_line,
                _ => json_item_line,
            };
            tokio::task::spawn_blocking(move || {
                write_files(&root, &written, || items.blocking_recv(), line)
            })
        }
        Some(window) => {
            let (from_ms, to_ms) = (epoch_ms(window.from), epoch_ms(window.to));
            let mut changes = changes_between(app, &table, from_ms, to_ms)
                .await
                .map_err(unreadable)?;
            let new_only = window.new_images_only();
            tokio::task::spawn_blocking(move || {
                write_files(
                    &root,
                    &written,
                    || changes.blocking_recv(),
                    |c| change_line(c, new_only),
                )
            })
        }
    };
    writing.await.map_err(|e| {
        tracing::error!(export = %record.job.arn, error = %e, "the export's writer stopped");
        std::io::Error::other("the export stopped unexpectedly")
    })?
}

/// An export's `FailureMessage` for `e`: the export's own errors (kind `Other`, which the
/// standard library never makes) say what went wrong already; a failure to write files is
/// put in plain words, as the system's text (kept in the log) names paths and error numbers
/// of this store's S3 directory.
fn failure_message(bucket: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let why = match e.kind() {
        ErrorKind::Other => return e.to_string(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            "the store may not write to it"
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => "the store's S3 directory is full",
        ErrorKind::NotFound => "it was removed while the export wrote to it",
        ErrorKind::AlreadyExists | ErrorKind::NotADirectory | ErrorKind::IsADirectory => {
            "an object is in the way of the export's files"
        }
        ErrorKind::InvalidFilename | ErrorKind::InvalidInput => {
            "a key of the export is not a name the store's S3 directory can hold"
        }
        _ => "the store's S3 directory could not be written",
    };
    format!("Failed to write the export to S3 bucket {bucket}: {why}")
}

/// Epoch seconds as the first whole millisecond at or after them: how an inclusive start
/// and an exclusive end compare with commit times in milliseconds.
fn epoch_ms(seconds: f64) -> u64 {
    (seconds * 1000.0).ceil().max(0.0) as u64
}

/// A full export's line in DynamoDB JSON, `{"Item": ...}`, and the item's size.
fn json_item_line(item: &Item) -> (String, u64) {
    #[derive(Serialize)]
    struct Line<'a> {
        #[serde(rename = "Item")]
        item: &'a Item,
    }
    let text = serde_json::to_string(&Line { item }).unwrap_or_default();
    (text, item_size(item) as u64)
}

/// A full export's line in Ion text, `$ion_1_0 {Item:{...}}`, and the item's size.
fn ion_item_line(item: &Item) -> (String, u64) {
    let mut text = String::new();
    super::ion::write_item_line(&mut text, item);
    (text, item_size(item) as u64)
}

/// An incremental export's line and the size of the images in it: the key, the time of
/// the item's last change, the item as the window closed (`NewImage`, absent if deleted)
/// and, unless only new images are wanted, as it opened (`OldImage`, absent if created).
fn change_line(change: &Changed, new_only: bool) -> (String, u64) {
    let micros = change.last_change_ms.saturating_mul(1000);
    let mut line = json!({
        "Metadata": {"WriteTimestampMicros": {"N": micros.to_string()}},
        "Keys": change.keys,
    });
    let mut size = 0;
    let images = [
        ("NewImage", change.after.as_ref()),
        ("OldImage", change.before.as_ref().filter(|_| !new_only)),
    ];
    for (name, image) in images {
        if let Some(image) = image {
            line[name] = json!(image);
            size += item_size(image) as u64;
        }
    }
    (line.to_string(), size)
}

/// Writes `_started`, the data files (as the lines' sources come from `next`,
/// [`ITEMS_PER_FILE`] lines to a file, each rendered by `line`) and `manifest-files.json`
/// (with its `.md5`) under bucket directory `root`; returns the lines' count and sizes.
fn write_files<T>(
    root: &Path,
    record: &ExportRecord,
    mut next: impl FnMut() -> Option<Result<Vec<T>, ApiError>>,
    line: impl Fn(&T) -> (String, u64),
) -> std::io::Result<(u64, u64)> {
    let base = record.key_prefix();
    let data = record.data_dir();
    std::fs::create_dir_all(root.join(&base))?;
    std::fs::create_dir_all(root.join(&data))?;
    std::fs::write(root.join(&base).join("_started"), b"")?;
    let mut manifest = String::new();
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut current: Option<DataFile> = None;
    let mut files = 0;
    while let Some(chunk) = next() {
        let chunk = chunk.map_err(|e| std::io::Error::other(e.message.unwrap_or_default()))?;
        for source in &chunk {
            if current.as_ref().is_none_or(|f| f.items >= ITEMS_PER_FILE) {
                let key = data_file_key(record, files);
                files += 1;
                if let Some(full) = current.replace(DataFile::create(root, key)?) {
                    manifest.push_str(&full.finish()?);
                }
            }
            let (rendered, size) = line(source);
            if let Some(file) = current.as_mut() {
                file.append(&rendered)?;
            }
            bytes += size;
            count += 1;
        }
    }
    // DynamoDB writes at least one data file, empty for an empty table (or window).
    let last = match current {
        Some(last) => last,
        None => DataFile::create(root, data_file_key(record, 0))?,
    };
    manifest.push_str(&last.finish()?);
    write_object(
        root,
        &format!("{base}/manifest-files.json"),
        manifest.as_bytes(),
    )?;
    Ok((count, bytes))
}

/// The key of an export's data file number `n`.
fn data_file_key(record: &ExportRecord, n: usize) -> String {
    let extension = match record.export_format.as_str() {
        "ION" => "ion",
        _ => "json",
    };
    format!(
        "{}/{}-{n:05}.{extension}.gz",
        record.data_dir(),
        record.job.id
    )
}

/// A data file being written: gzipped JSON lines, hashed as they reach the disk.
struct DataFile {
    key: String,
    items: usize,
    gz: flate2::write::GzEncoder<Hashing<std::io::BufWriter<std::fs::File>>>,
}

impl DataFile {
    fn create(root: &Path, key: String) -> std::io::Result<DataFile> {
        let file = std::fs::File::create(root.join(&key))?;
        let hashing = Hashing {
            inner: std::io::BufWriter::new(file),
            md5: Md5::new(),
        };
        Ok(DataFile {
            key,
            items: 0,
            gz: flate2::write::GzEncoder::new(hashing, flate2::Compression::default()),
        })
    }

    fn append(&mut self, line: &str) -> std::io::Result<()> {
        self.gz.write_all(line.as_bytes())?;
        self.gz.write_all(b"\n")?;
        self.items += 1;
        Ok(())
    }

    /// Ends and syncs the file; returns its `manifest-files.json` line.
    fn finish(self) -> std::io::Result<String> {
        let hashing = self.gz.finish()?;
        let digest = hashing.md5.finalize();
        let file = hashing.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let line = json!({
            "itemCount": self.items,
            "md5Checksum": base64::engine::general_purpose::STANDARD.encode(digest),
            "etag": hex::encode(digest),
            "dataFileS3Key": self.key,
        });
        Ok(format!("{line}\n"))
    }
}

/// A writer that hashes everything written through it.
struct Hashing<W> {
    inner: W,
    md5: Md5,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.md5.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `manifest-summary.json` (with its `.md5`): the file readers start from.
fn write_summary(root: &Path, record: &ExportRecord) -> std::io::Result<()> {
    let p = &record.job.progress;
    let mut summary = json!({
        "version": "2020-06-30",
        "exportArn": record.job.arn,
        "startTime": super::iso_millis(p.start_time),
        "endTime": super::iso_millis(p.end_time.unwrap_or(p.start_time)),
        "tableArn": record.job.table_arn,
        "tableId": record.table_id,
        "exportTime": super::iso_millis(record.export_time),
        "s3Bucket": record.s3_bucket,
        "s3Prefix": record.s3_prefix,
        "s3SseAlgorithm": record.s3_sse_algorithm.as_deref().unwrap_or("AES256"),
        "s3SseKmsKeyId": record.s3_sse_kms_key_id,
        "manifestFilesS3Key": format!("{}/manifest-files.json", record.key_prefix()),
        "billedSizeBytes": record.billed_size_bytes,
        "itemCount": record.item_count,
        "outputFormat": record.export_format,
        "exportType": record.export_type(),
    });
    if let Some(window) = &record.incremental {
        summary["exportFromTime"] = json!(super::iso_millis(window.from));
        summary["exportToTime"] = json!(super::iso_millis(window.to));
        summary["outputView"] = json!(window.view);
        if let Some(fields) = summary.as_object_mut() {
            fields.remove("exportTime");
        }
    }
    write_object(
        root,
        &record.manifest_summary_key(),
        summary.to_string().as_bytes(),
    )
}

/// An object and its `.md5` companion (the base64 MD5, as S3's Content-MD5).
fn write_object(root: &Path, key: &str, data: &[u8]) -> std::io::Result<()> {
    write_synced(&root.join(key), data)?;
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(data));
    let md5_key = format!("{}.md5", key.trim_end_matches(".json"));
    write_synced(&root.join(md5_key), md5.as_bytes())
}

/// Writes a file and syncs it: an export reported COMPLETED is on disk.
fn write_synced(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(data)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_messages_are_plain_words() {
        let too_long = std::io::Error::from_raw_os_error(36);
        assert_eq!(
            failure_message("exports", &too_long),
            "Failed to write the export to S3 bucket exports: a key of the export is not a name the store's S3 directory can hold"
        );
        let full = std::io::Error::from_raw_os_error(28);
        assert!(failure_message("b", &full).ends_with("the store's S3 directory is full"));
        let own = std::io::Error::other("the table was deleted");
        assert_eq!(failure_message("b", &own), "the table was deleted");
    }
}
