//! ImportTable, DescribeImport and ListImports (`crate::transfer::import` explains what is
//! read and how).
//!
//! ImportTable creates its table at once, CREATING, with CreateTable's checks and errors
//! (`TableCreationParameters` is CreateTable's request without indexes' LSIs, streams or
//! tags), records the import `IN_PROGRESS` and answers; the table becomes ACTIVE when the
//! import is `COMPLETED`. A repeated ClientToken returns the first import when the request
//! is the same, ImportConflictException when it differs.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::create_table::CreateTableInput;
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::catalog::TableStatus;
use crate::transfer::import::ImportRecord;
use crate::transfer::jobs::{self, Header};

const FORMATS: &[&str] = &["DYNAMODB_JSON", "ION", "CSV"];
const MAX_PAGE: i64 = 25;

/// ImportTable's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportInput {
    pub client_token: Option<String>,
    pub s3_bucket_source: Option<Value>,
    pub input_format: Option<String>,
    pub input_format_options: Option<Value>,
    pub input_compression_type: Option<String>,
    pub table_creation_parameters: Option<Value>,
}

/// DescribeImport's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeImportInput {
    pub import_arn: Option<String>,
}

/// ListImports's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListImportsInput {
    pub table_arn: Option<String>,
    pub page_size: Option<i64>,
    pub next_token: Option<String>,
}

pub async fn import_table(app: &App, input: ImportInput) -> Result<Value, ApiError> {
    let source = input.s3_bucket_source.as_ref();
    let text = |v: Option<&Value>, name: &str| -> Option<String> {
        v.and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let bucket = text(source, "S3Bucket");
    let mut v = Violations::new();
    if v.not_null("s3BucketSource", source.is_some()) {
        v.not_null("s3BucketSource.s3Bucket", bucket.is_some());
    }
    let format = input.input_format.as_deref();
    if v.not_null("inputFormat", format.is_some()) {
        v.enumeration("inputFormat", format, FORMATS);
    }
    let compression = input.input_compression_type.as_deref();
    v.enumeration(
        "inputCompressionType",
        compression,
        crate::transfer::COMPRESSIONS,
    );
    v.not_null(
        "tableCreationParameters",
        input.table_creation_parameters.is_some(),
    );
    v.length("clientToken", input.client_token.as_deref(), 1, 255);
    v.finish()?;
    let bucket = bucket.unwrap_or_default();
    let key_prefix = text(source, "S3KeyPrefix");
    crate::transfer::check_location(&bucket, key_prefix.as_deref())?;
    let parameters = input.table_creation_parameters.clone().unwrap_or_default();
    let create: CreateTableInput = serde_json::from_value(parameters.clone())
        .map_err(|e| ApiError::new(ErrorCode::SerializationException, e.to_string()))?;

    let fingerprint = json!([
        source,
        format,
        input.input_format_options,
        compression,
        parameters
    ])
    .to_string();
    let conflict = || {
        ApiError::new(
            ErrorCode::ImportConflictException,
            "There was a conflict when importing from the specified S3 source: an import with this ClientToken and different parameters exists",
        )
    };
    let _turn = app.job_starts.lock().await;
    let earlier =
        jobs::earlier::<ImportRecord>(app, input.client_token.as_deref(), &fingerprint, conflict)?;
    if let Some(earlier) = earlier {
        return Ok(jobs::answer(&earlier));
    }

    let (table, _) = crate::api::create_table::create(app, create, TableStatus::Creating).await?;
    let record = ImportRecord {
        job: Header::new(&table.arn, "import", input.client_token, fingerprint),
        table_name: table.name().to_string(),
        table_id: table.table_uuid.clone(),
        bucket,
        key_prefix,
        s3_bucket_source: source.cloned().unwrap_or_default(),
        input_format: format.unwrap_or_default().to_string(),
        input_format_options: input.input_format_options,
        input_compression_type: compression.unwrap_or("NONE").to_string(),
        table_creation_parameters: parameters,
        processed_size_bytes: 0,
        processed_item_count: 0,
        imported_item_count: 0,
        error_count: 0,
    };
    jobs::start(app, &record).await
}

pub async fn describe_import(app: &App, input: DescribeImportInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    if v.not_null("importArn", input.import_arn.is_some()) {
        v.length("importArn", input.import_arn.as_deref(), 37, 1024);
    }
    v.finish()?;
    jobs::describe::<ImportRecord>(app, input.import_arn.as_deref().unwrap_or_default())
}

pub async fn list_imports(app: &App, input: ListImportsInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    v.length("tableArn", input.table_arn.as_deref(), 1, 1024);
    v.at_least("pageSize", input.page_size, 1);
    v.at_most("pageSize", input.page_size, MAX_PAGE);
    v.finish()?;
    jobs::list::<ImportRecord>(
        app,
        input.table_arn.as_deref(),
        input.next_token.as_deref(),
        input.page_size.unwrap_or(MAX_PAGE) as usize,
    )
}
