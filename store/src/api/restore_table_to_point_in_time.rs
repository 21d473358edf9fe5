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
        true,
    )?;
    input.overrides.check_model(&mut v);
    v.finish()?;
    let raw = input
        .source_table_name
        .as_deref()
        .or(input.source_table_arn.as_deref())
        .ok_or_else(|| {
            ApiError::validation("Either SourceTableName or SourceTableArn must be specified")
        })?;
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
    let at = if input.use_latest_restorable_time.unwrap_or(false) {
        latest
    } else {
        input.restore_date_time.ok_or_else(|| {
            ApiError::validation("RestoreDateTime or UseLatestRestorableTime must be specified")
        })?
    };
    let at = backup::time_in_window(at, floor, latest)?;
    let definition = input.overrides.apply(app, &table)?;
    let items = backup::items_at(app, &table, at).await?;
    let summary = json!({
        "SourceTableArn": table.arn,
        "RestoreDateTime": at,
    });
    let desc = backup::restore(app, &definition, target, items, summary).await?;
    Ok(json!({ "TableDescription": desc }))
}
