//! DescribeContinuousBackups: continuous backups are always ENABLED; PITR is per table.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::ApiError;
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::backup;

/// DescribeContinuousBackups's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeContinuousBackupsInput {
    pub table_name: Option<String>,
}

pub async fn handle(app: &App, input: DescribeContinuousBackupsInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    v.finish()?;
    let raw = input.table_name.as_deref().unwrap_or_default();
    let name = app.catalog.resolve_name(raw);
    let table = app
        .catalog
        .get(name)
        .ok_or_else(|| backup::table_not_found(name))?;
    Ok(json!({ "ContinuousBackupsDescription": backup::continuous_description(app, &table) }))
}
