//! UpdateContinuousBackups: turns PITR on or off, with a recovery period (1-35 days,
//! default 35). Enabling when off (re)starts the restorable window at now; enabling when on
//! keeps it and only takes a new recovery period.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::ApiError;
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::backup::{self, PitrSetting, PITR_KEY};
use crate::catalog::meta::write_setting;
use crate::storage::LogDetail;
use shared::clock::now_seconds;

/// `PointInTimeRecoverySpecification`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PointInTimeRecoverySpecification {
    pub point_in_time_recovery_enabled: Option<bool>,
    pub recovery_period_in_days: Option<i64>,
}

/// UpdateContinuousBackups's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateContinuousBackupsInput {
    pub table_name: Option<String>,
    pub point_in_time_recovery_specification: Option<PointInTimeRecoverySpecification>,
}

pub async fn handle(app: &App, input: UpdateContinuousBackupsInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    let spec = input.point_in_time_recovery_specification;
    v.not_null("pointInTimeRecoverySpecification", spec.is_some());
    if let Some(s) = &spec {
        v.not_null(
            "pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled",
            s.point_in_time_recovery_enabled.is_some(),
        );
    }
    v.finish()?;
    let days = match spec.as_ref().and_then(|s| s.recovery_period_in_days) {
        None => None,
        Some(days) => Some(
            u32::try_from(days)
                .ok()
                .filter(|d| (1..=backup::DEFAULT_RECOVERY_PERIOD_DAYS).contains(d))
                .ok_or_else(|| {
                    ApiError::validation("RecoveryPeriodInDays must be between 1 and 35")
                })?,
        ),
    };
    let enable = spec
        .and_then(|s| s.point_in_time_recovery_enabled)
        .unwrap_or(false);
    let raw = input.table_name.as_deref().unwrap_or_default();
    let name = app.catalog.resolve_name(raw).to_string();
    if app.catalog.get(&name).is_none() {
        return Err(backup::table_not_found(&name));
    }
    let table = app
        .catalog
        .update(&app.storage, &name, |table| {
            table.check_created()?;
            let current = backup::pitr(table).filter(|p| p.enabled);
            let setting = match (enable, current) {
                (false, None) => return Ok(()),
                // Already on: only a new recovery period changes anything; the window
                // keeps its start.
                (true, Some(on)) => match days {
                    Some(days) if days != on.recovery_period_days => PitrSetting {
                        recovery_period_days: days,
                        ..on
                    },
                    _ => return Ok(()),
                },
                (true, None) => {
                    // A restore undoes the changes after its time with their old images:
                    // the log keeps them from here on, and the window opens after the last
                    // record written without (even if the wall clock stepped back).
                    let head = app
                        .storage
                        .set_log_detail(table.table_id(), LogDetail::Full);
                    let after_head = (head.time_ms + 1) as f64 / 1000.0;
                    PitrSetting {
                        enabled: true,
                        earliest: now_seconds().max(after_head),
                        recovery_period_days: days.unwrap_or(backup::DEFAULT_RECOVERY_PERIOD_DAYS),
                    }
                }
                (false, Some(_)) => PitrSetting {
                    enabled: false,
                    earliest: 0.0,
                    recovery_period_days: backup::DEFAULT_RECOVERY_PERIOD_DAYS,
                },
            };
            write_setting(&mut table.settings, PITR_KEY, &setting).map_err(|_| ApiError::internal())
        })
        .await
        .map_err(|e| {
            if e.code == shared::wire::ErrorCode::ResourceNotFoundException {
                backup::table_not_found(&name)
            } else {
                e
            }
        })?;
    Ok(json!({ "ContinuousBackupsDescription": backup::continuous_description(app, &table) }))
}
