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
    let pitr = backup::pitr(&table).filter(|p| p.enabled).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PointInTimeRecoveryUnavailableException,
            format!("Point in time recovery is not enabled for table '{name}'"),
        )
    })?;
    let (earliest, latest) = backup::window(&pitr);
    let at = if input.use_latest_restorable_time.unwrap_or(false) {
        latest
    } else {
        input.restore_date_time.ok_or_else(|| {
            ApiError::validation("RestoreDateTime or UseLatestRestorableTime must be specified")
        })?
    };
    // Changes trimmed from the log cannot be undone: the window starts no earlier than
    // the oldest retained change.
    let horizon = backup::log_horizon_ms(app)?.map(|ms| ms as f64 / 1000.0);
    let floor = horizon.map_or(earliest, |h| h.max(earliest));
    let at = time_in_window(at, floor, latest)?;
    let definition = input.overrides.apply(app, &table)?;
    let items = backup::items_at(app, &table, at).await?;
    let summary = json!({
        "SourceTableArn": table.arn,
        "RestoreDateTime": at,
    });
    let desc = backup::restore(app, &definition, target, items, summary).await?;
    Ok(json!({ "TableDescription": desc }))
}

/// The restore time for `at` in the window `[floor, latest]`. The wire carries milliseconds,
/// so a time up to 1 ms outside is taken as the edge it rounds to: before the earliest
/// time, the log may hold changes without the old images a restore needs to undo them.
/// Further out, InvalidRestoreTimeException.
fn time_in_window(at: f64, floor: f64, latest: f64) -> Result<f64, ApiError> {
    if !at.is_finite() || at < floor - 0.001 || at > latest + 0.001 {
        return Err(ApiError::new(
            ErrorCode::InvalidRestoreTimeException,
            format!("Restore time {at} is outside the restorable window [{floor}, {latest}]"),
        ));
    }
    Ok(at.clamp(floor, latest.max(floor)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_within_rounding_of_the_window_are_its_edges() {
        let ok = |at| time_in_window(at, 100.0, 200.0).ok();
        assert_eq!(ok(150.0), Some(150.0));
        assert_eq!(ok(99.9995), Some(100.0));
        assert_eq!(ok(200.0005), Some(200.0));
        for outside in [99.99, 200.01, f64::NAN, f64::INFINITY] {
            let code = time_in_window(outside, 100.0, 200.0).map_err(|e| e.code);
            assert_eq!(
                code,
                Err(ErrorCode::InvalidRestoreTimeException),
                "{outside}"
            );
        }
    }
}
