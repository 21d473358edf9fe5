//! ExportTableToPointInTime, DescribeExport and ListExports (`crate::transfer` explains
//! where the files go).
//!
//! An export needs PITR on its table and an export time inside the recovery window
//! (InvalidExportTimeException otherwise); it starts `IN_PROGRESS` and becomes `COMPLETED`
//! or `FAILED`. A repeated ClientToken returns the first export when the request is the
//! same, ExportConflictException when it differs. Only full exports in DynamoDB JSON are
//! written: ION and incremental exports are refused with a ValidationException saying so.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::clock::now_seconds;
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::backup;
use crate::transfer::export::ExportRecord;
use crate::transfer::jobs::{self, Header};

const FORMATS: &[&str] = &["DYNAMODB_JSON", "ION"];
const TYPES: &[&str] = &["FULL_EXPORT", "INCREMENTAL_EXPORT"];
const SSE: &[&str] = &["AES256", "KMS"];
const MAX_LIST: i64 = 25;

/// ExportTableToPointInTime's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportInput {
    pub table_arn: Option<String>,
    pub export_time: Option<f64>,
    pub client_token: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_bucket_owner: Option<String>,
    pub s3_prefix: Option<String>,
    pub s3_sse_algorithm: Option<String>,
    pub s3_sse_kms_key_id: Option<String>,
    pub export_format: Option<String>,
    pub export_type: Option<String>,
    pub incremental_export_specification: Option<Value>,
}

/// DescribeExport's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeExportInput {
    pub export_arn: Option<String>,
}

/// ListExports's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListExportsInput {
    pub table_arn: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

pub async fn export_table_to_point_in_time(
    app: &App,
    input: ExportInput,
) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    if v.not_null("tableArn", input.table_arn.is_some()) {
        v.length("tableArn", input.table_arn.as_deref(), 1, 1024);
    }
    if v.not_null("s3Bucket", input.s3_bucket.is_some()) {
        v.length("s3Bucket", input.s3_bucket.as_deref(), 0, 255);
    }
    v.length("s3Prefix", input.s3_prefix.as_deref(), 0, 1024);
    v.length("clientToken", input.client_token.as_deref(), 1, 255);
    v.enumeration("exportFormat", input.export_format.as_deref(), FORMATS);
    v.enumeration("exportType", input.export_type.as_deref(), TYPES);
    v.enumeration("s3SseAlgorithm", input.s3_sse_algorithm.as_deref(), SSE);
    v.finish()?;
    let format = input.export_format.as_deref().unwrap_or("DYNAMODB_JSON");
    if format != "DYNAMODB_JSON" {
        return Err(ApiError::validation(
            "This store exports in DYNAMODB_JSON only; ION is not supported",
        ));
    }
    if input.export_type.as_deref() == Some("INCREMENTAL_EXPORT")
        || input.incremental_export_specification.is_some()
    {
        return Err(ApiError::validation(
            "This store writes full exports only; INCREMENTAL_EXPORT is not supported",
        ));
    }
    let bucket = input.s3_bucket.clone().unwrap_or_default();
    crate::transfer::check_location(&bucket, input.s3_prefix.as_deref())?;

    let table_arn = input.table_arn.clone().unwrap_or_default();
    let name = app.catalog.resolve_name(&table_arn);
    let table = app
        .catalog
        .get(name)
        .ok_or_else(|| backup::table_not_found(&table_arn))?;
    let pitr = backup::pitr(&table).filter(|p| p.enabled).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PointInTimeRecoveryUnavailableException,
            format!("Point in time recovery is not enabled for table '{name}'"),
        )
    })?;
    let now = now_seconds();
    let export_time = input.export_time.unwrap_or(now);
    let (earliest, _) = backup::window(&pitr);
    if !(earliest..=now).contains(&export_time) {
        return Err(ApiError::new(
            ErrorCode::InvalidExportTimeException,
            format!(
                "Export time {export_time} is outside the table's point in time recovery window [{earliest}, {now}]"
            ),
        ));
    }

    let fingerprint = json!([
        table_arn,
        input.export_time,
        bucket,
        input.s3_bucket_owner,
        input.s3_prefix,
        input.s3_sse_algorithm,
        input.s3_sse_kms_key_id,
        format
    ])
    .to_string();
    let conflict = || {
        ApiError::new(
            ErrorCode::ExportConflictException,
            "There was a conflict when writing to the specified S3 bucket: an export with this ClientToken and different parameters exists",
        )
    };
    let earlier =
        jobs::earlier::<ExportRecord>(app, input.client_token.as_deref(), &fingerprint, conflict)?;
    if let Some(earlier) = earlier {
        return Ok(jobs::answer(&earlier));
    }

    let record = ExportRecord {
        job: Header::new(&table.arn, "export", input.client_token, fingerprint),
        table_id: table.table_uuid.clone(),
        export_time,
        s3_bucket: bucket,
        s3_bucket_owner: input.s3_bucket_owner,
        s3_prefix: input.s3_prefix,
        s3_sse_algorithm: input.s3_sse_algorithm,
        s3_sse_kms_key_id: input.s3_sse_kms_key_id,
        export_format: format.to_string(),
        item_count: 0,
        billed_size_bytes: 0,
    };
    jobs::start(app, &record).await
}

pub async fn describe_export(app: &App, input: DescribeExportInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    if v.not_null("exportArn", input.export_arn.is_some()) {
        v.length("exportArn", input.export_arn.as_deref(), 37, 1024);
    }
    v.finish()?;
    jobs::describe::<ExportRecord>(app, input.export_arn.as_deref().unwrap_or_default())
}

pub async fn list_exports(app: &App, input: ListExportsInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    v.length("tableArn", input.table_arn.as_deref(), 1, 1024);
    v.at_least("maxResults", input.max_results, 1);
    v.at_most("maxResults", input.max_results, MAX_LIST);
    v.finish()?;
    jobs::list::<ExportRecord>(
        app,
        input.table_arn.as_deref(),
        input.next_token.as_deref(),
        input.max_results.unwrap_or(MAX_LIST) as usize,
    )
}
