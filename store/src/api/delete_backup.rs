//! DeleteBackup: removes the backup and answers with its description, status DELETED;
//! refused while a restore from it is still filling its table.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::backup;

/// DeleteBackup's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteBackupInput {
    pub backup_arn: Option<String>,
}

pub async fn handle(app: &App, input: DeleteBackupInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    v.not_null("backupArn", input.backup_arn.is_some());
    v.length("backupArn", input.backup_arn.as_deref(), 37, 1024);
    v.finish()?;
    let record = backup::load(app, input.backup_arn.as_deref().unwrap_or_default())?;
    if let Some(table) = backup::being_restored(app, &record.arn) {
        return Err(ApiError::new(
            ErrorCode::BackupInUseException,
            format!(
                "Backup is being restored to table: {}; delete it once the restore ends",
                table.name()
            ),
        ));
    }
    backup::delete(app, &record).await?;
    Ok(json!({ "BackupDescription": backup::description(&record, "DELETED") }))
}
