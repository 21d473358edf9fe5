//! One import: its record, and the background work that reads its files into the table it
//! created.
//!
//! Every file whose key starts with the source's key prefix is read, in key order: gzipped
//! or plain, DynamoDB JSON lines (`{"Item":{...}}`, what exports write) or CSV (a header
//! line or `HeaderList`, key attributes typed by the table's definitions, other values as
//! strings, empty values left out). A line that cannot be read, or whose item PutItem would
//! refuse (its key, index key types, the 400 KB limit), is counted in `ErrorCount` and
//! skipped; a file that cannot be read or decompressed counts as one error. A later line
//! for the same key replaces the earlier item. Imports consume no capacity. The table stays
//! CREATING, out of the data plane's reach, until the import ends.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::model::{check_item_nesting, AttributeValue, Item, Number, PrimaryKey, ScalarType};
use shared::wire::error::ErrorCode;

use super::jobs::{self, Header, Job};
use crate::app::App;
use crate::catalog::{TableMeta, TableStatus};
use crate::storage::{Cause, Mutation};

/// Items per storage batch.
const BATCH: usize = 100;

/// An import's durable record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRecord {
    #[serde(flatten)]
    pub job: Header,
    pub table_name: String,
    pub table_id: String,
    pub bucket: String,
    pub key_prefix: Option<String>,
    /// The request's members, echoed by Describe.
    pub s3_bucket_source: Value,
    pub input_format: String,
    pub input_format_options: Option<Value>,
    pub input_compression_type: String,
    pub table_creation_parameters: Value,
    pub processed_size_bytes: u64,
    pub processed_item_count: u64,
    pub imported_item_count: u64,
    pub error_count: u64,
}

impl Job for ImportRecord {
    const PREFIX: &'static str = "import/";

    fn header(&self) -> &Header {
        &self.job
    }

    fn header_mut(&mut self) -> &mut Header {
        &mut self.job
    }

    const DESCRIPTION: &'static str = "ImportTableDescription";
    const SUMMARIES: &'static str = "ImportSummaryList";
    const KIND: &'static str = "Import";
    const NOT_FOUND: ErrorCode = ErrorCode::ImportNotFoundException;

    /// `ImportTableDescription`.
    fn description(&self) -> Value {
        let p = &self.job.progress;
        let mut d = json!({
            "ImportArn": self.job.arn,
            "ImportStatus": p.status,
            "TableArn": self.job.table_arn,
            "TableId": self.table_id,
            "S3BucketSource": self.s3_bucket_source,
            "ErrorCount": self.error_count,
            "InputFormat": self.input_format,
            "InputCompressionType": self.input_compression_type,
            "TableCreationParameters": self.table_creation_parameters,
            "StartTime": p.start_time,
            "ProcessedSizeBytes": self.processed_size_bytes,
            "ProcessedItemCount": self.processed_item_count,
            "ImportedItemCount": self.imported_item_count,
        });
        let optional = [
            (
                "ClientToken",
                self.job.client_token.clone().map(Value::from),
            ),
            ("InputFormatOptions", self.input_format_options.clone()),
            ("EndTime", p.end_time.map(Value::from)),
            ("FailureCode", p.failure_code.clone().map(Value::from)),
            ("FailureMessage", p.failure_message.clone().map(Value::from)),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                d[name] = value;
            }
        }
        d
    }

    /// `ImportSummary`, as ListImports shows it.
    fn summary(&self) -> Value {
        let mut s = json!({
            "ImportArn": self.job.arn,
            "ImportStatus": self.job.progress.status,
            "TableArn": self.job.table_arn,
            "S3BucketSource": self.s3_bucket_source,
            "InputFormat": self.input_format,
            "StartTime": self.job.progress.start_time,
        });
        if let Some(end) = self.job.progress.end_time {
            s["EndTime"] = json!(end);
        }
        s
    }
}

/// Runs an import recorded as started, then makes its table ACTIVE.
pub async fn run(app: &App, mut record: ImportRecord) {
    let outcome = import(app, &mut record).await;
    let activated = match outcome {
        Ok(()) => activate(app, &record).await,
        Err(e) => Err(e),
    };
    match activated {
        Ok(()) => record.job.progress.complete(),
        Err(message) => {
            tracing::warn!(import = %record.job.arn, %message, "import failed");
            record.job.progress.fail("ImportFailed", message);
        }
    }
    if let Err(e) = jobs::save(app, &record).await {
        tracing::error!(import = %record.job.arn, error = ?e.message, "cannot record the import's end");
    }
}

/// The import's own table, unless it was deleted (or replaced) meanwhile.
fn own_table(app: &App, record: &ImportRecord) -> Result<std::sync::Arc<TableMeta>, String> {
    app.catalog
        .get(&record.table_name)
        .filter(|t| t.table_uuid == record.table_id)
        .ok_or_else(|| "the table was deleted during the import".to_string())
}

async fn activate(app: &App, record: &ImportRecord) -> Result<(), String> {
    own_table(app, record)?;
    app.catalog
        .update(&app.storage, &record.table_name, |t| {
            t.status = TableStatus::Active;
            Ok(())
        })
        .await
        .map(|_| ())
        .map_err(|e| e.message.unwrap_or_default())
}

/// Reads every source file into the table, counting as it goes.
async fn import(app: &App, record: &mut ImportRecord) -> Result<(), String> {
    let root = app.config.s3_dir.join(&record.bucket);
    let prefix = record.key_prefix.clone().unwrap_or_default();
    let files = tokio::task::spawn_blocking(move || objects(&root, &prefix))
        .await
        .map_err(|e| e.to_string())?;
    let mut batch: Vec<(PrimaryKey, Item)> = Vec::with_capacity(BATCH);
    for file in files {
        let table = own_table(app, record)?;
        let compression = record.input_compression_type.clone();
        let contents = tokio::task::spawn_blocking(move || read_object(&file, &compression))
            .await
            .map_err(|e| e.to_string())?;
        let Ok(text) = contents else {
            record.error_count += 1;
            continue;
        };
        record.processed_size_bytes += text.len() as u64;
        let parsed = match record.input_format.as_str() {
            "CSV" => csv_items(&text, &table, record.input_format_options.as_ref()),
            _ => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(json_item)
                .collect(),
        };
        for item in parsed {
            record.processed_item_count += 1;
            let checked = item.and_then(|item| checked(&table, item));
            let Ok((key, item)) = checked else {
                record.error_count += 1;
                continue;
            };
            // A key already in the batch: write what is there first, so the later line wins.
            if batch.len() >= BATCH || batch.iter().any(|(k, _)| *k == key) {
                record.imported_item_count += write(app, &table, &mut batch).await?;
            }
            batch.push((key, item));
        }
    }
    let table = own_table(app, record)?;
    record.imported_item_count += write(app, &table, &mut batch).await?;
    Ok(())
}

/// An item PutItem would accept, with its key.
fn checked(table: &TableMeta, item: Item) -> Result<(PrimaryKey, Item), ()> {
    check_item_nesting(&item).map_err(|_| ())?;
    crate::api::item_write::check_item_size(&item).map_err(|_| ())?;
    let key = crate::api::item_write::key_of_put_item(table, &item).map_err(|_| ())?;
    Ok((key, item))
}

/// Writes and empties `batch`; returns how many items it held.
async fn write(
    app: &App,
    table: &TableMeta,
    batch: &mut Vec<(PrimaryKey, Item)>,
) -> Result<u64, String> {
    if batch.is_empty() {
        return Ok(0);
    }
    let count = batch.len() as u64;
    let (keys, items): (Vec<PrimaryKey>, Vec<Item>) = std::mem::take(batch).into_iter().unzip();
    let targets: Vec<_> = keys.into_iter().map(|k| (&table.layout, k)).collect();
    let puts = items.into_iter().map(Mutation::Put).collect();
    app.storage
        .write(&targets, Cause::User, |_| Ok::<_, ()>((puts, ())))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|()| "the import's write was refused".to_string())?;
    Ok(count)
}

/// One DynamoDB JSON line: `{"Item": {...}}`.
fn json_item(line: &str) -> Result<Item, ()> {
    #[derive(Deserialize)]
    struct Line {
        #[serde(rename = "Item")]
        item: Item,
    }
    serde_json::from_str::<Line>(line)
        .map(|l| l.item)
        .map_err(|_| ())
}

/// The items of a CSV file: the header names the attributes; key attributes (those the
/// table defines) get their defined type, the others are strings.
fn csv_items(text: &str, table: &TableMeta, options: Option<&Value>) -> Vec<Result<Item, ()>> {
    let csv = options.and_then(|o| o.get("Csv"));
    let delimiter = csv
        .and_then(|c| c.get("Delimiter"))
        .and_then(Value::as_str)
        .and_then(|d| d.chars().next())
        .unwrap_or(',');
    let mut records = csv_records(text, delimiter).into_iter();
    let header: Vec<String> = match csv
        .and_then(|c| c.get("HeaderList"))
        .and_then(Value::as_array)
    {
        Some(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        None => records.next().unwrap_or_default(),
    };
    records
        .map(|fields| {
            if fields.len() != header.len() {
                return Err(());
            }
            let mut item = Item::new();
            for (name, field) in header.iter().zip(fields) {
                if field.is_empty() {
                    continue;
                }
                let ty = table
                    .attribute_definitions
                    .iter()
                    .find(|d| &d.name == name)
                    .map(|d| d.ty);
                let value = match ty {
                    Some(ScalarType::N) => {
                        AttributeValue::N(Number::parse(&field).map_err(|_| ())?)
                    }
                    Some(ScalarType::B) => {
                        use base64::Engine as _;
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(field.as_bytes())
                            .map_err(|_| ())?;
                        AttributeValue::B(bytes)
                    }
                    _ => AttributeValue::S(field),
                };
                item.insert(name.clone(), value);
            }
            Ok(item)
        })
        .collect()
}

/// RFC 4180 records: fields split by `delimiter`, double-quoted fields may hold delimiters,
/// line breaks and `""` for a quote; blank lines are skipped.
fn csv_records(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            (false, c) if c == delimiter => record.push(std::mem::take(&mut field)),
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// The files under bucket directory `root` whose keys start with `prefix`, in key order.
fn objects(root: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() => {
                    let key = path
                        .strip_prefix(root)
                        .map(|p| p.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    if key.starts_with(prefix) {
                        found.push((key, path));
                    }
                }
                _ => {}
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, path)| path).collect()
}

/// A source file's text, decompressed as the import says.
fn read_object(path: &Path, compression: &str) -> std::io::Result<String> {
    let raw = std::fs::read(path)?;
    if compression != "GZIP" {
        return String::from_utf8(raw).map_err(std::io::Error::other);
    }
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted() {
        let text = "pk,note\r\na,\"x, \"\"y\"\"\nz\"\n\nb,\n";
        assert_eq!(
            csv_records(text, ','),
            vec![
                vec!["pk".to_string(), "note".to_string()],
                vec!["a".to_string(), "x, \"y\"\nz".to_string()],
                vec!["b".to_string(), String::new()],
            ]
        );
        assert_eq!(csv_records("a;b", ';'), vec![vec!["a", "b"]]);
    }

    #[test]
    fn json_lines_carry_one_item() {
        let item = json_item(r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1.0"}}}"#).unwrap_or_default();
        assert_eq!(item.get("pk"), Some(&AttributeValue::S("a".into())));
        assert!(json_item(r#"{"pk":{"S":"a"}}"#).is_err());
        assert!(json_item("not json").is_err());
    }
}
