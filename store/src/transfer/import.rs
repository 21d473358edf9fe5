//! One import: its record, and the background work that reads its files into the table it
//! created.
//!
//! Every file whose key starts with the source's key prefix is read, in key order: gzipped,
//! Zstandard-compressed or plain, DynamoDB JSON lines (`{"Item":{...}}`, what exports write),
//! Ion text lines (`$ion_1_0 {Item:{...}}`, what ION exports write) or CSV (a header
//! line or `HeaderList`, key attributes typed by the table's definitions, other values as
//! strings, empty values left out). A line that cannot be read, or whose item PutItem would
//! refuse (its key, index key types, the 400 KB limit), is counted in `ErrorCount` and
//! skipped; the rest of a file that cannot be read or decompressed counts as one error.
//! Files are streamed ([`super::source`]), never held whole in memory. A later line for
//! the same key replaces the earlier item. Imports consume no capacity. The table stays
//! CREATING, out of the data plane's reach, until the import ends.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::model::{
    check_built_item, AttributeValue, Item, KeyAttr, Number, PrimaryKey, ScalarType,
};
use shared::wire::error::{ApiError, ErrorCode};

use super::jobs::{self, Header, Job};
use super::source::{self, Chunk, Source, BATCH};
use crate::app::App;
use crate::catalog::{TableMeta, TableStatus};
use crate::storage::{Cause, Mutation};

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
        let own = [("InputFormatOptions", self.input_format_options.clone())];
        self.job.add_present(&mut d, own);
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

/// Runs an import recorded as started, then makes its table ACTIVE: with everything
/// imported, or (the import FAILED) with what was imported before the failure, as
/// DynamoDB leaves the table of a failed import created, for its owner to use or delete.
pub async fn run(app: &App, mut record: ImportRecord) {
    let outcome = import(app, &mut record).await;
    let activated = activate(app, &record).await;
    match outcome.and(activated) {
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
        .get_same(&record.table_name, &record.table_id)
        .ok_or_else(|| "the table was deleted during the import".to_string())
}

/// Imports a stop interrupted (those started before `process_start` and still running):
/// each whose table is still CREATING is run again from its first line, its counts from
/// zero (a later line for a key replaces the earlier item, so the lines the stopped run
/// wrote are written again, the same), rather than failing with its table half filled
/// and its name taken; one whose table is gone or was made ACTIVE (the stop came as it
/// ended) is reported failed. Run at start, before new jobs.
pub async fn resume_interrupted(app: &App, process_start: f64) -> Result<(), ApiError> {
    for mut record in jobs::all::<ImportRecord>(app)? {
        let creating = own_table(app, &record).is_ok_and(|t| t.status == TableStatus::Creating);
        let progress = &record.job.progress;
        if progress.status == jobs::Status::Failed && creating {
            // Failed by a store from before imports ran again, which stopped before it
            // made the table ACTIVE, as a failed import's is.
            if let Err(message) = activate(app, &record).await {
                tracing::error!(import = %record.job.arn, %message, "cannot activate its table");
            }
            continue;
        }
        if !progress.status.is_running() || progress.start_time >= process_start {
            continue;
        }
        if creating {
            tracing::warn!(import = %record.job.arn, table = %record.table_name,
                "an import the store stopped in the middle of runs again from its start");
            record.processed_size_bytes = 0;
            record.processed_item_count = 0;
            record.imported_item_count = 0;
            record.error_count = 0;
        } else {
            record.job.progress.fail(
                "InternalServerError",
                "The store stopped before the import finished; start it again.",
            );
        }
        jobs::save(app, &record).await?;
    }
    Ok(())
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

/// Reads every source file into the table, counting as it goes, [`BATCH`] items to a
/// storage write.
async fn import(app: &App, record: &mut ImportRecord) -> Result<(), String> {
    let root = super::bucket_dir(app, &record.bucket);
    let prefix = record.key_prefix.clone().unwrap_or_default();
    // A source that is not there fails the import, as in DynamoDB: a pipeline that checks
    // for COMPLETED must not carry on with an empty table.
    if !tokio::fs::metadata(&root).await.is_ok_and(|m| m.is_dir()) {
        return Err(format!("The S3 bucket {} does not exist", record.bucket));
    }
    let listed = prefix.clone();
    let files = tokio::task::spawn_blocking(move || source::objects(&root, &listed))
        .await
        .map_err(|e| e.to_string())?;
    if files.is_empty() {
        return Err(format!(
            "No objects found in S3 bucket {} under the prefix \"{prefix}\"",
            record.bucket
        ));
    }
    let mut batch: Vec<(PrimaryKey, Item)> = Vec::with_capacity(BATCH);
    for (_, file) in files {
        let table = own_table(app, record)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let source = Source {
            path: file,
            compression: record.input_compression_type.clone(),
            multiline: record.input_format == "CSV",
        };
        let mut format = match record.input_format.as_str() {
            "CSV" => Format::Csv(CsvFormat::new(record.input_format_options.as_ref())),
            "ION" => Format::Ion,
            _ => Format::Json,
        };
        let definitions = table.attribute_definitions.clone();
        let reader = tokio::task::spawn_blocking(move || {
            source.read(&tx, |text| format.item(text, &definitions))
        });
        while let Some(chunk) = rx.recv().await {
            let Chunk::Records(items, bytes) = chunk else {
                record.error_count += 1;
                continue;
            };
            record.processed_size_bytes += bytes;
            for item in items {
                record.processed_item_count += 1;
                let Ok((key, item)) = item.and_then(|item| checked(&table, item)) else {
                    record.error_count += 1;
                    continue;
                };
                // A key already in the batch: write what is there first, so the later
                // line wins.
                if batch.len() >= BATCH || batch.iter().any(|(k, _)| *k == key) {
                    record.imported_item_count += write(app, &table, &mut batch).await?;
                }
                batch.push((key, item));
            }
        }
        reader.await.map_err(|e| e.to_string())?;
    }
    let table = own_table(app, record)?;
    record.imported_item_count += write(app, &table, &mut batch).await?;
    Ok(())
}

/// How a source file's records hold items.
enum Format {
    /// DynamoDB JSON, `{"Item":{...}}`.
    Json,
    /// Ion text, `$ion_1_0 {Item:{...}}` (`super::ion`).
    Ion,
    /// CSV; a record may span lines inside quotes.
    Csv(CsvFormat),
}

impl Format {
    /// The item of one record; `None` for a blank record or a CSV header.
    fn item(
        &mut self,
        text: source::Text<'_>,
        definitions: &[KeyAttr],
    ) -> Option<Result<Item, ()>> {
        let Ok(text) = text else {
            return Some(Err(()));
        };
        match self {
            _ if text.trim().is_empty() => None,
            Format::Csv(csv) => csv.item(text, definitions),
            Format::Ion => Some(ion_item(text)),
            Format::Json => Some(json_item(text)),
        }
    }
}

/// An item PutItem would accept, with its key.
fn checked(table: &TableMeta, item: Item) -> Result<(PrimaryKey, Item), ()> {
    check_built_item(&item).map_err(|_| ())?;
    crate::api::item_write::check_put_item(&item).map_err(|_| ())?;
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

/// A DynamoDB JSON line, `{"Item": {...}}`; reading its item checks it as PutItem does.
#[derive(Deserialize)]
struct ItemLine {
    #[serde(rename = "Item")]
    item: Item,
}

/// The item of a DynamoDB JSON line.
fn json_item(line: &str) -> Result<Item, ()> {
    serde_json::from_str::<ItemLine>(line)
        .map(|l| l.item)
        .map_err(|_| ())
}

/// The item of an Ion text line (`super::ion`).
pub(super) fn ion_item(line: &str) -> Result<Item, ()> {
    serde_json::from_value::<ItemLine>(super::ion::line_as_json(line)?)
        .map(|l| l.item)
        .map_err(|_| ())
}

/// How a CSV source is read: its delimiter, and its header (given, or its first record).
struct CsvFormat {
    delimiter: char,
    header: Option<Vec<String>>,
}

impl CsvFormat {
    fn new(options: Option<&Value>) -> CsvFormat {
        let csv = options.and_then(|o| o.get("Csv"));
        CsvFormat {
            delimiter: csv
                .and_then(|c| c.get("Delimiter"))
                .and_then(Value::as_str)
                .and_then(|d| d.chars().next())
                .unwrap_or(','),
            header: csv
                .and_then(|c| c.get("HeaderList"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                }),
        }
    }

    /// The item of one record; `None` for the header record itself. Key attributes (those
    /// the table defines) get their defined type, other values are strings, empty values
    /// are left out.
    fn item(&mut self, record: &str, definitions: &[KeyAttr]) -> Option<Result<Item, ()>> {
        let fields = csv_fields(record, self.delimiter);
        let Some(header) = &self.header else {
            self.header = Some(fields);
            return None;
        };
        if fields.len() != header.len() {
            return Some(Err(()));
        }
        let mut item = Item::new();
        for (name, field) in header.iter().zip(fields) {
            if field.is_empty() {
                continue;
            }
            let ty = definitions.iter().find(|d| &d.name == name).map(|d| d.ty);
            let value = match ty {
                Some(ScalarType::N) => match Number::parse(&field) {
                    Ok(n) => AttributeValue::N(n),
                    Err(_) => return Some(Err(())),
                },
                Some(ScalarType::B) => {
                    use base64::Engine as _;
                    match base64::engine::general_purpose::STANDARD.decode(field.as_bytes()) {
                        Ok(bytes) => AttributeValue::B(bytes),
                        Err(_) => return Some(Err(())),
                    }
                }
                _ => AttributeValue::S(field),
            };
            item.insert(name.clone(), value);
        }
        Some(Ok(item))
    }
}

/// The fields of one RFC 4180 record: split by `delimiter`; a double-quoted field may hold
/// delimiters, line breaks and `""` for a quote.
fn csv_fields(record: &str, delimiter: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = record.chars().peekable();
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
            (false, c) if c == delimiter => fields.push(std::mem::take(&mut field)),
            (false, c) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted() {
        assert_eq!(
            csv_fields("a,\"x, \"\"y\"\"\nz\"\r", ','),
            vec!["a", "x, \"y\"\nz"]
        );
        assert_eq!(csv_fields("b,", ','), vec!["b", ""]);
        assert_eq!(csv_fields("a;b", ';'), vec!["a", "b"]);
    }

    #[test]
    fn csv_records_become_typed_items() {
        let definitions = vec![KeyAttr {
            name: "id".into(),
            ty: ScalarType::N,
        }];
        let mut csv = CsvFormat::new(None);
        assert!(csv.item("id,name,note", &definitions).is_none());
        let seven = Number::parse("7").map(AttributeValue::N);
        let expected: Item = [
            ("id".to_string(), seven.unwrap_or(AttributeValue::Null)),
            ("name".to_string(), AttributeValue::S("Ada".into())),
        ]
        .into_iter()
        .collect();
        assert_eq!(csv.item("7,Ada,", &definitions), Some(Ok(expected)));
        assert_eq!(csv.item("x,Bob,", &definitions), Some(Err(())));
        assert_eq!(csv.item("1,too,many,fields", &definitions), Some(Err(())));
    }

    #[test]
    fn json_lines_carry_one_item() {
        let item = json_item(r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1.0"}}}"#).unwrap_or_default();
        assert_eq!(item.get("pk"), Some(&AttributeValue::S("a".into())));
        assert!(json_item(r#"{"pk":{"S":"a"}}"#).is_err());
        assert!(json_item("not json").is_err());
    }
}
