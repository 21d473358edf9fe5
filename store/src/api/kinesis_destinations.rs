//! EnableKinesisStreamingDestination, DisableKinesisStreamingDestination,
//! DescribeKinesisStreamingDestination and UpdateKinesisStreamingDestination
//! (`crate::kinesis` explains what is sent where).
//!
//! Enable and Disable answer ENABLING and DISABLING, Update UPDATING; Describe shows the
//! state they lead to. A table streams to one Kinesis data stream at a time.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::kinesis::{self, Destination, ACTIVE, DISABLED, PRECISIONS};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Configuration {
    pub approximate_creation_date_time_precision: Option<String>,
}

/// The request of Enable, Disable and Update (Describe uses the table name only).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationInput {
    pub table_name: Option<String>,
    pub stream_arn: Option<String>,
    pub enable_kinesis_streaming_configuration: Option<Configuration>,
    pub update_kinesis_streaming_configuration: Option<Configuration>,
}

/// What a call asks of a destination.
#[derive(Clone, Copy)]
enum Change {
    Enable,
    Disable,
    Update,
}

fn check(input: &DestinationInput, with_stream: bool) -> Result<(), ApiError> {
    let mut v = Violations::new();
    if v.not_null("tableName", input.table_name.is_some()) {
        v.length("tableName", input.table_name.as_deref(), 1, 1024);
    }
    if with_stream && v.not_null("streamArn", input.stream_arn.is_some()) {
        v.length("streamArn", input.stream_arn.as_deref(), 37, 1024);
    }
    let configuration = input
        .enable_kinesis_streaming_configuration
        .as_ref()
        .or(input.update_kinesis_streaming_configuration.as_ref());
    let precision =
        configuration.and_then(|c| c.approximate_creation_date_time_precision.as_deref());
    v.enumeration(
        "kinesisStreamingConfiguration.approximateCreationDateTimePrecision",
        precision,
        PRECISIONS,
    );
    v.finish()
}

async fn change(app: &App, input: DestinationInput, change: Change) -> Result<Value, ApiError> {
    check(&input, true)?;
    let stream_arn = input.stream_arn.clone().unwrap_or_default();
    if !kinesis::is_stream_arn(&stream_arn) {
        return Err(ApiError::validation(format!(
            "Invalid Kinesis data stream ARN: {stream_arn}"
        )));
    }
    if app.config.kinesis_endpoint.is_none() && matches!(change, Change::Enable) {
        return Err(ApiError::validation(
            "This store has no --kinesis-endpoint to deliver to; start it with one to enable a Kinesis streaming destination",
        ));
    }
    let (configuration_member, configuration) = match change {
        Change::Update => (
            "UpdateKinesisStreamingConfiguration",
            input.update_kinesis_streaming_configuration,
        ),
        _ => (
            "EnableKinesisStreamingConfiguration",
            input.enable_kinesis_streaming_configuration,
        ),
    };
    let precision = configuration.and_then(|c| c.approximate_creation_date_time_precision);
    let name = app
        .catalog
        .resolve_name(input.table_name.as_deref().unwrap_or_default())
        .to_string();
    let mut answered_precision = String::new();
    app.catalog
        .update(&app.storage, &name, |table| {
            table.check_created()?;
            let mut destinations = kinesis::destinations(table);
            let current = destinations.iter().position(|d| d.stream_arn == stream_arn);
            let active_elsewhere = destinations
                .iter()
                .any(|d| d.status == ACTIVE && d.stream_arn != stream_arn);
            let is_active = current.is_some_and(|i| destinations[i].status == ACTIVE);
            let not_enabled = || {
                ApiError::validation(format!(
                    "Table {name} has no enabled Kinesis streaming destination {stream_arn}"
                ))
            };
            match change {
                Change::Enable if is_active => {
                    return Err(ApiError::new(
                        ErrorCode::ResourceInUseException,
                        format!("Kinesis streaming destination {stream_arn} is already enabled for table {name}"),
                    ))
                }
                Change::Enable if active_elsewhere => {
                    return Err(ApiError::validation(format!(
                        "Table {name} already streams to a Kinesis data stream; a table streams to one at a time"
                    )))
                }
                Change::Enable => {
                    // The change log keeps both images of this table's changes from here
                    // on; the destination carries the changes after the switch.
                    let head = app
                        .storage
                        .set_log_detail(table.table_id(), crate::storage::LogDetail::Full);
                    let enabled = Destination {
                        stream_arn: stream_arn.clone(),
                        status: ACTIVE.to_string(),
                        precision: precision.clone().unwrap_or_else(|| PRECISIONS[0].into()),
                        start_seq: head.seq,
                    };
                    answered_precision = enabled.precision.clone();
                    match current {
                        Some(i) => destinations[i] = enabled,
                        None => destinations.push(enabled),
                    }
                }
                Change::Disable | Change::Update if !is_active => return Err(not_enabled()),
                Change::Disable => {
                    if let Some(i) = current {
                        destinations[i].status = DISABLED.to_string();
                        answered_precision = destinations[i].precision.clone();
                    }
                }
                Change::Update => {
                    if let Some(i) = current {
                        if let Some(p) = &precision {
                            destinations[i].precision = p.clone();
                        }
                        answered_precision = destinations[i].precision.clone();
                    }
                }
            }
            kinesis::store_destinations(table, &destinations);
            Ok(())
        })
        .await?;
    let status = match change {
        Change::Enable => "ENABLING",
        Change::Disable => "DISABLING",
        Change::Update => "UPDATING",
    };
    let mut answer = json!({
        "TableName": name,
        "StreamArn": stream_arn,
        "DestinationStatus": status,
    });
    answer[configuration_member] =
        json!({"ApproximateCreationDateTimePrecision": answered_precision});
    Ok(answer)
}

pub async fn enable(app: &App, input: DestinationInput) -> Result<Value, ApiError> {
    change(app, input, Change::Enable).await
}

pub async fn disable(app: &App, input: DestinationInput) -> Result<Value, ApiError> {
    change(app, input, Change::Disable).await
}

pub async fn update(app: &App, input: DestinationInput) -> Result<Value, ApiError> {
    change(app, input, Change::Update).await
}

pub async fn describe(app: &App, input: DestinationInput) -> Result<Value, ApiError> {
    check(&input, false)?;
    let raw = input.table_name.as_deref().unwrap_or_default();
    let name = app.catalog.resolve_name(raw);
    let table = app.catalog.get(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::ResourceNotFoundException,
            format!("Requested resource not found: Table: {name} not found"),
        )
    })?;
    let destinations: Vec<Value> = kinesis::destinations(&table)
        .iter()
        .map(kinesis::describe)
        .collect();
    Ok(json!({ "TableName": name, "KinesisDataStreamDestinations": destinations }))
}
