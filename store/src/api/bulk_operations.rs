//! StartBulkPutItems, DescribeBulkOperation, ListBulkOperations and CancelBulkOperation
//! (`crate::transfer::bulk_put` explains what is read and written, and
//! `crate::transfer::bulk_report` what the report holds).
//!
//! StartBulkPutItems checks the request (the model's constraints, then a bucket for the
//! report, at least one `OutputType`, a KMS key only with `KMS`), then the table: it must
//! exist (ResourceNotFoundException), be ACTIVE with no index being built
//! (ResourceInUseException), not be a global table (bulk puts do not support them: a
//! ValidationException), and have no other bulk operation running (LimitExceededException).
//! It records the operation `IN_PROGRESS` and answers; a repeated ClientToken returns the
//! first operation when the request is the same, IdempotentParameterMismatchException when
//! it differs. ListBulkOperations shows the newest first; CancelBulkOperation answers
//! `CANCELLING`, and a ValidationException for an operation that has ended.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::catalog::{IndexStatus, TableStatus};
use crate::transfer::bulk_put::{
    self, BulkRecord, InputConfiguration, OutputConfiguration, S3Location,
};
use crate::transfer::jobs::{self, Header};
use crate::transfer::{COMPRESSIONS, SSE_ALGORITHMS};

const FORMATS: &[&str] = &["DYNAMODB_JSON", "ION"];
const OUTPUT_TYPES: &[&str] = &["ERROR", "CONDITION_CHECK_FAILURE"];
const TIERS: &[&str] = &["STANDARD", "ACCELERATED"];
const LEAST_WRITE_UNITS: i64 = 1024;
const MAX_PAGE: i64 = 25;
const DEFAULT_PAGE: i64 = 10;

/// StartBulkPutItems' request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartInput {
    pub client_token: Option<String>,
    pub table_name: Option<String>,
    pub input_s3_configuration: Option<InputConfiguration>,
    pub output_s3_configuration: Option<OutputConfiguration>,
    pub max_write_request_units: Option<i64>,
    pub performance_tier: Option<String>,
}

/// DescribeBulkOperation's and CancelBulkOperation's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationInput {
    pub bulk_operation_arn: Option<String>,
}

/// ListBulkOperations' request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

pub async fn start_bulk_put_items(app: &App, mut input: StartInput) -> Result<Value, ApiError> {
    check_start(&input)?;
    let mut source = input.input_s3_configuration.take().unwrap_or_default();
    let output = input.output_s3_configuration.take().unwrap_or_default();
    source.location.check()?;
    if output.location.s3_bucket.is_none() {
        return Err(ApiError::validation(
            "OutputS3Configuration.S3Bucket is required: the bucket the report is written to",
        ));
    }
    output.location.check()?;
    if output.output_type.as_ref().is_none_or(Vec::is_empty) {
        return Err(ApiError::validation(
            "OutputS3Configuration.OutputType must name ERROR, CONDITION_CHECK_FAILURE or both",
        ));
    }
    if output.s3_sse_kms_key_id.is_some() && output.s3_sse_algorithm.as_deref() != Some("KMS") {
        return Err(ApiError::validation(
            "OutputS3Configuration.S3SseKmsKeyId is only valid when S3SseAlgorithm is KMS",
        ));
    }
    source
        .input_compression_type
        .get_or_insert_with(|| "NONE".into());
    let tier = input
        .performance_tier
        .clone()
        .unwrap_or_else(|| "STANDARD".into());

    let _turn = app.job_starts.lock().await;
    let name = input.table_name.as_deref().unwrap_or_default();
    let table = app
        .catalog
        .table_for_control(app.catalog.resolve_name(name))?;
    let in_use = |why: String| {
        ApiError::new(
            ErrorCode::ResourceInUseException,
            format!(
                "Cannot start a bulk operation on table {}: {why}",
                table.name()
            ),
        )
    };
    if table.status != TableStatus::Active {
        return Err(in_use(format!("it is {}", table.status.as_str())));
    }
    let building = table
        .global_indexes
        .iter()
        .find(|i| i.status != IndexStatus::Active || i.backfilling);
    if let Some(index) = building {
        return Err(in_use(format!("its index {} is being built", index.name)));
    }
    if !crate::replication::replicas(&table).is_empty() {
        return Err(ApiError::validation(format!(
            "Bulk put items does not support global tables, and table {} has replicas",
            table.name()
        )));
    }

    let fingerprint = json!([
        table.arn,
        source,
        output,
        input.max_write_request_units,
        tier
    ])
    .to_string();
    let conflict = || {
        ApiError::new(
            ErrorCode::IdempotentParameterMismatchException,
            "A bulk operation with this ClientToken and different parameters exists",
        )
    };
    let earlier =
        jobs::earlier::<BulkRecord>(app, input.client_token.as_deref(), &fingerprint, conflict)?;
    if let Some(earlier) = earlier {
        return Ok(jobs::answer(&earlier));
    }
    if bulk_put::running_on(app, &table.arn)? {
        return Err(ApiError::new(
            ErrorCode::LimitExceededException,
            format!(
                "A bulk operation is already in progress on table {}; one runs on a table at a time",
                table.name()
            ),
        ));
    }

    let record = BulkRecord {
        job: Header::new(
            &table.arn,
            "bulk-operation",
            input.client_token,
            fingerprint,
        ),
        table_name: table.name().to_string(),
        table_id: table.table_uuid.clone(),
        input: source,
        output,
        max_write_request_units: input.max_write_request_units,
        performance_tier: tier,
        total_input_bytes: None,
        processed_input_bytes: 0,
        processed_item_count: 0,
        failed_item_count: 0,
        unreadable_objects: 0,
        condition_check_failures: 0,
        written_item_count: 0,
        put_bytes: 0,
        index_put_bytes: Default::default(),
    };
    jobs::start(app, &record).await
}

/// StartBulkPutItems' model constraints.
fn check_start(input: &StartInput) -> Result<(), ApiError> {
    let mut v = Violations::new();
    if v.not_null("tableName", input.table_name.is_some()) {
        v.length("tableName", input.table_name.as_deref(), 1, 1024);
    }
    let path = "inputS3Configuration";
    if let Some(source) = &input.input_s3_configuration {
        check_location(&mut v, path, &source.location, true);
        let format = source.input_format.as_deref();
        if v.not_null("inputS3Configuration.inputFormat", format.is_some()) {
            v.enumeration("inputS3Configuration.inputFormat", format, FORMATS);
        }
        let compression = source.input_compression_type.as_deref();
        v.enumeration(
            &format!("{path}.inputCompressionType"),
            compression,
            COMPRESSIONS,
        );
    } else {
        v.not_null(path, false);
    }
    let path = "outputS3Configuration";
    if let Some(output) = &input.output_s3_configuration {
        let types = output.output_type.as_ref();
        if v.not_null("outputS3Configuration.outputType", types.is_some()) {
            for output_type in types.into_iter().flatten() {
                let member = Some(output_type.as_str());
                v.enumeration(
                    "outputS3Configuration.outputType.member",
                    member,
                    OUTPUT_TYPES,
                );
            }
        }
        check_location(&mut v, path, &output.location, false);
        let algorithm = output.s3_sse_algorithm.as_deref();
        v.enumeration(&format!("{path}.s3SseAlgorithm"), algorithm, SSE_ALGORITHMS);
        let key = output.s3_sse_kms_key_id.as_deref();
        v.length(&format!("{path}.s3SseKmsKeyId"), key, 1, 2048);
    } else {
        v.not_null(path, false);
    }
    v.at_least(
        "maxWriteRequestUnits",
        input.max_write_request_units,
        LEAST_WRITE_UNITS,
    );
    v.enumeration("performanceTier", input.performance_tier.as_deref(), TIERS);
    if input
        .client_token
        .as_deref()
        .is_some_and(|t| t.is_empty() || t.contains('$'))
    {
        v.push(
            input.client_token.as_deref(),
            "clientToken",
            "Member must satisfy regular expression pattern: ^[^\\$]+$",
        );
    }
    v.finish()
}

/// The model's constraints on the location in configuration `path`; its bucket may not be
/// null if `bucket_required`.
fn check_location(v: &mut Violations, path: &str, location: &S3Location, bucket_required: bool) {
    let bucket_path = format!("{path}.s3Bucket");
    if !bucket_required || v.not_null(&bucket_path, location.s3_bucket.is_some()) {
        v.length(&bucket_path, location.s3_bucket.as_deref(), 0, 255);
    }
    let prefix = location.s3_key_prefix.as_deref();
    v.length(&format!("{path}.s3KeyPrefix"), prefix, 0, 1024);
}

/// The ARN a Describe or Cancel names, checked.
fn operation_arn(input: &OperationInput) -> Result<&str, ApiError> {
    let mut v = Violations::new();
    let arn = input.bulk_operation_arn.as_deref();
    if v.not_null("bulkOperationArn", arn.is_some()) {
        v.length("bulkOperationArn", arn, 37, 1024);
    }
    v.finish()?;
    Ok(arn.unwrap_or_default())
}

pub async fn describe_bulk_operation(app: &App, input: OperationInput) -> Result<Value, ApiError> {
    jobs::describe::<BulkRecord>(app, operation_arn(&input)?)
}

pub async fn list_bulk_operations(app: &App, input: ListInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    v.at_least("maxResults", input.max_results, 1);
    v.at_most("maxResults", input.max_results, MAX_PAGE);
    v.length("nextToken", input.next_token.as_deref(), 1, 1024);
    v.finish()?;
    let limit = input.max_results.unwrap_or(DEFAULT_PAGE) as usize;
    jobs::list::<BulkRecord>(app, None, input.next_token.as_deref(), limit)
}

pub async fn cancel_bulk_operation(app: &App, input: OperationInput) -> Result<Value, ApiError> {
    let arn = operation_arn(&input)?;
    let status = bulk_put::cancel(app, arn).await?;
    Ok(json!({"BulkOperationArn": arn, "BulkOperationStatus": status}))
}
