//! RestoreTableFromBackup: a new table with the backup's definition (as overridden, see
//! `backup::overrides`) and items.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::ApiError;
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::backup::{self, overrides::RestoreOverrides};
use shared::clock::now_seconds;

/// RestoreTableFromBackup's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreTableFromBackupInput {
    pub target_table_name: Option<String>,
    pub backup_arn: Option<String>,
    #[serde(flatten)]
    pub overrides: RestoreOverrides,
}

pub async fn handle(app: &Arc<App>, input: RestoreTableFromBackupInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    validate::table_name(
        &mut v,
        "targetTableName",
        input.target_table_name.as_deref(),
        // A new table's name (the model's TableName), never an ARN: one used to become
        // the name of a table no call could name again.
        false,
    )?;
    v.not_null("backupArn", input.backup_arn.is_some());
    v.length("backupArn", input.backup_arn.as_deref(), 37, 1024);
    input.overrides.check_model(&mut v);
    v.finish()?;
    let target = input.target_table_name.as_deref().unwrap_or_default();
    let arn = input.backup_arn.as_deref().unwrap_or_default();
    let record = backup::load(app, arn)?;
    let definition = input.overrides.apply(app, &record.table)?;
    let items = backup::items(app, &record);
    let summary = json!({
        "SourceBackupArn": record.arn,
        "SourceTableArn": record.table.arn,
        "RestoreDateTime": now_seconds(),
    });
    let desc = backup::restore(app, &definition, target, items, summary).await?;
    Ok(json!({ "TableDescription": desc }))
}
