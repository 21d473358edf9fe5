//! ExportTableToPointInTime, DescribeExport and ListExports (`crate::transfer` explains
//! where the files go).
//!
//! An export needs PITR on its table and an export time inside the recovery window
//! (InvalidExportTimeException otherwise); it starts `IN_PROGRESS` and becomes `COMPLETED`
//! or `FAILED`. A repeated ClientToken returns the first export when the request is the
//! same, ExportConflictException when it differs. An incremental export
//! (`ExportType: INCREMENTAL_EXPORT`) writes the items changed in a window of the recovery
//! period instead (`crate::backup::changes`). Full exports are written in DynamoDB JSON or
//! Ion text; an incremental export in ION is refused with a ValidationException saying so.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::clock::now_seconds;
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::backup;
use crate::transfer::export::{ExportRecord, Incremental};
use crate::transfer::jobs::{self, Header};

const FORMATS: &[&str] = &["DYNAMODB_JSON", "ION"];
const TYPES: &[&str] = &["FULL_EXPORT", "INCREMENTAL_EXPORT"];
const VIEWS: &[&str] = &["NEW_AND_OLD_IMAGES", "NEW_IMAGE"];
/// The longest window an incremental export may cover: a day.
const LONGEST_INCREMENTAL_S: f64 = 86_400.0;
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
    pub incremental_export_specification: Option<IncrementalSpecification>,
}

/// `IncrementalExportSpecification`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IncrementalSpecification {
    pub export_from_time: Option<f64>,
    pub export_to_time: Option<f64>,
    pub export_view_type: Option<String>,
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
    v.enumeration(
        "s3SseAlgorithm",
        input.s3_sse_algorithm.as_deref(),
        crate::transfer::SSE_ALGORITHMS,
    );
    let view = input
        .incremental_export_specification
        .as_ref()
        .and_then(|spec| spec.export_view_type.as_deref());
    v.enumeration("incrementalExportSpecification.exportViewType", view, VIEWS);
    v.finish()?;
    let format = input.export_format.as_deref().unwrap_or("DYNAMODB_JSON");
    if format == "ION" && input.export_type.as_deref() == Some("INCREMENTAL_EXPORT") {
        return Err(ApiError::validation(
            "This store writes incremental exports in DYNAMODB_JSON only; ION is not supported for them",
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
    let (earliest, latest) = backup::window(app, &pitr);
    let outside = |what: &str, time: f64| {
        ApiError::new(
            ErrorCode::InvalidExportTimeException,
            format!(
                "{what} {time} is outside the table's point in time recovery window [{earliest}, {now}]"
            ),
        )
    };
    let incremental = match input.export_type.as_deref() {
        Some("INCREMENTAL_EXPORT") => Some(incremental_window(
            app,
            &input,
            latest,
            |time| (earliest..=now).contains(&time),
            outside,
        )?),
        _ if input.incremental_export_specification.is_some() => {
            return Err(ApiError::validation(
                "IncrementalExportSpecification is only valid with ExportType INCREMENTAL_EXPORT",
            ))
        }
        _ => None,
    };
    let export_time = input.export_time.unwrap_or(now);
    if !(earliest..=now).contains(&export_time) {
        return Err(outside("Export time", export_time));
    }

    let fingerprint = json!([
        table_arn,
        input.export_time,
        bucket,
        input.s3_bucket_owner,
        input.s3_prefix,
        input.s3_sse_algorithm,
        input.s3_sse_kms_key_id,
        format,
        incremental.as_ref().map(|w| json!([w.from, w.to, w.view]))
    ])
    .to_string();
    let conflict = || {
        ApiError::new(
            ErrorCode::ExportConflictException,
            "There was a conflict when writing to the specified S3 bucket: an export with this ClientToken and different parameters exists",
        )
    };
    let _turn = app.job_starts.lock().await;
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
        incremental,
    };
    jobs::start(app, &record).await
}

/// An incremental export's window, checked as DynamoDB does: a start (`ExportFromTime`,
/// required) and an end (`ExportToTime`, by default the latest restorable time) inside the
/// recovery window (`in_window`, `outside` for the error), the end after the start by at
/// least `--incremental-export-min-window` (15 minutes) and at most a day, and no
/// `ExportTime`, which only full exports have.
fn incremental_window(
    app: &App,
    input: &ExportInput,
    latest: f64,
    in_window: impl Fn(f64) -> bool,
    outside: impl Fn(&str, f64) -> ApiError,
) -> Result<Incremental, ApiError> {
    if input.export_time.is_some() {
        return Err(ApiError::validation(
            "ExportTime cannot be specified for an INCREMENTAL_EXPORT",
        ));
    }
    let spec = input.incremental_export_specification.as_ref();
    let from = spec.and_then(|s| s.export_from_time).ok_or_else(|| {
        ApiError::validation(
            "IncrementalExportSpecification.ExportFromTime is required for an INCREMENTAL_EXPORT",
        )
    })?;
    let to = spec.and_then(|s| s.export_to_time).unwrap_or(latest);
    for (what, time) in [("ExportFromTime", from), ("ExportToTime", to)] {
        if !in_window(time) {
            return Err(outside(what, time));
        }
    }
    if to <= from {
        return Err(ApiError::validation(
            "ExportFromTime must be earlier than ExportToTime",
        ));
    }
    let shortest = app.config.incremental_export_min_window.as_secs_f64();
    if to - from < shortest {
        return Err(ApiError::validation(format!(
            "The incremental export period must be at least {shortest} seconds"
        )));
    }
    if to - from > LONGEST_INCREMENTAL_S {
        return Err(ApiError::validation(
            "The incremental export period must be at most 24 hours",
        ));
    }
    let view = spec.and_then(|s| s.export_view_type.clone());
    Ok(Incremental {
        from,
        to,
        view: view.unwrap_or_else(|| "NEW_AND_OLD_IMAGES".to_string()),
    })
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
