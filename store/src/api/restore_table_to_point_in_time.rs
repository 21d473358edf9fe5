//! RestoreTableToPointInTime: a new table holding the source's items as of a time within
//! the PITR window (see `crate::backup::items_at`), with the source's current definition
//! as overridden (see `crate::backup::overrides`).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::backup::{self, overrides::RestoreOverrides};

/// RestoreTableToPointInTime's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreTableToPointInTimeInput {
    pub source_table_name: Option<String>,
    pub source_table_arn: Option<String>,
    pub target_table_name: Option<String>,
    pub use_latest_restorable_time: Option<bool>,
    pub restore_date_time: Option<f64>,
    #[serde(flatten)]
    pub overrides: RestoreOverrides,
}

pub async fn handle(
    app: &Arc<App>,
    input: RestoreTableToPointInTimeInput,
) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    validate::table_name(
        &mut v,
        "targetTableName",
        input.target_table_name.as_deref(),
        // A new table's name (the model's TableName), never an ARN: one used to become
        // the name of a table no call could name again.
        false,
    )?;
    input.overrides.check_model(&mut v);
    v.finish()?;
    let raw = source(&input)?;
    let requested_time = restore_time(&input)?;
    let name = app.catalog.resolve_name(raw);
    let target = input.target_table_name.as_deref().unwrap_or_default();
    let table = app
        .catalog
        .get(name)
        .ok_or_else(|| backup::table_not_found(name))?;
    if app.catalog.get(target).is_some() {
        return Err(ApiError::new(
            ErrorCode::TableAlreadyExistsException,
            format!("Table already exists: {target}"),
        ));
    }
    let (floor, latest) = backup::restorable_window(app, &table)?;
    let at = backup::time_in_window(requested_time.unwrap_or(latest), floor, latest)?;
    let definition = input.overrides.apply(app, &table)?;
    let items = backup::items_at(app, &table, at).await?;
    let summary = json!({
        "SourceTableArn": table.arn,
        "RestoreDateTime": at,
    });
    let desc = backup::restore(app, &definition, target, items, summary).await?;
    Ok(json!({ "TableDescription": desc }))
}

/// The source table's name or ARN: exactly one of the two, as DynamoDB requires.
fn source(input: &RestoreTableToPointInTimeInput) -> Result<&str, ApiError> {
    match (
        input.source_table_name.as_deref(),
        input.source_table_arn.as_deref(),
    ) {
        (Some(name), None) => Ok(name),
        (None, Some(arn)) => Ok(arn),
        (Some(_), Some(_)) => Err(ApiError::validation(
            "Must provide exactly one of: sourceTableArn, sourceTableName",
        )),
        (None, None) => Err(ApiError::validation(
            "Either SourceTableName or SourceTableArn must be specified",
        )),
    }
}

/// The time asked for: `Some` for a `RestoreDateTime`, `None` for the latest restorable
/// time. Exactly one of the two must be asked for (DynamoDB checks this before it looks
/// at either table).
fn restore_time(input: &RestoreTableToPointInTimeInput) -> Result<Option<f64>, ApiError> {
    match (
        input.use_latest_restorable_time.unwrap_or(false),
        input.restore_date_time,
    ) {
        (true, None) => Ok(None),
        (false, Some(at)) => Ok(Some(at)),
        (true, Some(_)) => Err(ApiError::validation(
            "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set for point-in-time restore request. Please specify either RestoreDateTime time or UseLatestRestorableTime",
        )),
        (false, None) => Err(ApiError::validation(
            "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be specified, but not both",
        )),
    }
}
