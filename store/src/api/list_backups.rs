//! ListBackups: summaries oldest first, filtered by table, type (USER unless named) and
//! creation time (lower bound inclusive, upper exclusive), paged by
//! `ExclusiveStartBackupArn` / `LastEvaluatedBackupArn`.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::ApiError;

use crate::app::App;
use crate::backup;

/// ListBackups's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListBackupsInput {
    pub table_name: Option<String>,
    pub limit: Option<i64>,
    pub time_range_lower_bound: Option<f64>,
    pub time_range_upper_bound: Option<f64>,
    pub exclusive_start_backup_arn: Option<String>,
    pub backup_type: Option<String>,
}

pub async fn handle(app: &App, input: ListBackupsInput) -> Result<Value, ApiError> {
    if let Some(limit) = input.limit {
        if !(1..=100).contains(&limit) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100"
            )));
        }
    }
    if let Some(t) = input.backup_type.as_deref() {
        if !matches!(t, "USER" | "SYSTEM" | "AWS_BACKUP" | "ALL") {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{t}' at 'backupType' failed to satisfy constraint: Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]"
            )));
        }
    }
    if let (Some(lower), Some(upper)) = (input.time_range_lower_bound, input.time_range_upper_bound)
    {
        // An inverted range is refused, not answered with an empty list.
        if lower > upper {
            return Err(ApiError::validation(
                "Time range lower bound must be less than or equal to upper bound",
            ));
        }
    }
    // USER when none is named; this store makes no AWS_BACKUP backups.
    let wanted = |r: &backup::BackupRecord| match input.backup_type.as_deref() {
        None | Some("USER") => !r.system,
        Some("SYSTEM") => r.system,
        Some("ALL") => true,
        _ => false,
    };
    let table = input
        .table_name
        .as_deref()
        .map(|t| app.catalog.resolve_name(t).to_string());
    let mut matching: Vec<backup::BackupRecord> = backup::all(app)?
        .into_iter()
        .filter(|r| wanted(r))
        .filter(|r| table.as_deref().is_none_or(|t| r.table.name() == t))
        .filter(|r| {
            input
                .time_range_lower_bound
                .is_none_or(|lo| r.created >= lo)
        })
        .filter(|r| input.time_range_upper_bound.is_none_or(|hi| r.created < hi))
        .collect();
    if let Some(start) = input.exclusive_start_backup_arn.as_deref() {
        if let Some(at) = matching.iter().position(|r| r.arn == start) {
            matching.drain(..=at);
        }
    }
    let limit = input.limit.unwrap_or(100).clamp(1, 100) as usize;
    let more = matching.len() > limit;
    matching.truncate(limit);
    let summaries: Vec<Value> = matching
        .iter()
        .map(|r| {
            // BackupDetails' members and the table's.
            let mut summary = backup::details(r, "AVAILABLE");
            if let Some(fields) = summary.as_object_mut() {
                fields.insert("TableName".to_string(), json!(r.table.name()));
                fields.insert("TableId".to_string(), json!(r.table.table_uuid));
                fields.insert("TableArn".to_string(), json!(r.table.arn));
            }
            summary
        })
        .collect();
    let mut out = json!({ "BackupSummaries": summaries });
    if more {
        if let (Some(obj), Some(last)) = (out.as_object_mut(), matching.last()) {
            obj.insert("LastEvaluatedBackupArn".to_string(), json!(last.arn));
        }
    }
    Ok(out)
}
