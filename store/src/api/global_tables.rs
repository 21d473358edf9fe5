//! The version 2017.11.29 (legacy) global table calls, and the replica auto scaling calls.
//!
//! This store's global tables are version 2019.11.21: replicas are added with
//! UpdateTable's `ReplicaUpdates` (`crate::replication`). The legacy calls see what AWS
//! shows them of such tables: none. ListGlobalTables lists nothing, the calls naming a
//! legacy global table find none, and CreateGlobalTable, which would make one, is refused
//! with a pointer to UpdateTable. DescribeTableReplicaAutoScaling describes a table's
//! replicas (without auto scaling, which the store does not run); updating auto scaling is
//! refused.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::{self, Violations};

use crate::api::describe_table::checked_table_name;
use crate::app::App;
use crate::replication;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GlobalTableInput {
    pub global_table_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListGlobalTablesInput {
    pub exclusive_start_global_table_name: Option<String>,
    pub limit: Option<i64>,
    pub region_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TableInput {
    pub table_name: Option<String>,
}

pub async fn list(_app: &App, input: ListGlobalTablesInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    if input.exclusive_start_global_table_name.is_some() {
        validate::table_name(
            &mut v,
            "exclusiveStartGlobalTableName",
            input.exclusive_start_global_table_name.as_deref(),
            false,
        )?;
    }
    if let Some(limit) = input.limit.filter(|l| *l < 1) {
        v.push(
            Some(&limit.to_string()),
            "limit",
            "Member must have value greater than or equal to 1",
        );
    }
    v.finish()?;
    Ok(json!({"GlobalTables": []}))
}

/// DescribeGlobalTable, DescribeGlobalTableSettings, UpdateGlobalTable and
/// UpdateGlobalTableSettings: there is no legacy global table to find.
pub async fn not_found(_app: &App, input: GlobalTableInput) -> Result<Value, ApiError> {
    let name = checked_global_table_name(input.global_table_name.as_deref())?;
    Err(ApiError::new(
        ErrorCode::GlobalTableNotFoundException,
        format!("Global table not found: Global table with name: '{name}' does not exist."),
    ))
}

pub async fn create(_app: &App, input: GlobalTableInput) -> Result<Value, ApiError> {
    checked_global_table_name(input.global_table_name.as_deref())?;
    Err(ApiError::validation(
        "Global tables version 2017.11.29 are not supported: add replicas to a table with UpdateTable ReplicaUpdates (version 2019.11.21)",
    ))
}

pub async fn describe_auto_scaling(app: &App, input: TableInput) -> Result<Value, ApiError> {
    let name = checked_table_name(input.table_name.as_deref())?;
    let table = app.catalog.table_for_control(name)?;
    let indexes: Vec<Value> = table
        .global_indexes
        .iter()
        .map(|i| json!({"IndexName": i.name, "IndexStatus": i.status.as_str()}))
        .collect();
    let replica = |region: &str, status: &str| json!({"RegionName": region, "ReplicaStatus": status, "GlobalSecondaryIndexes": indexes});
    let others = replication::describe(&table).unwrap_or_default();
    let replicas = std::iter::once(replica(&app.config.region, "ACTIVE")).chain(
        others
            .iter()
            .map(|r| replica(&r.region_name, &r.replica_status)),
    );
    Ok(json!({"TableAutoScalingDescription": {
        "TableName": table.name(),
        "TableStatus": table.status.as_str(),
        "Replicas": replicas.collect::<Vec<_>>(),
    }}))
}

pub async fn update_auto_scaling(app: &App, input: TableInput) -> Result<Value, ApiError> {
    let name = checked_table_name(input.table_name.as_deref())?;
    app.catalog.table_for_control(name)?;
    Err(ApiError::validation(
        "Auto scaling is not supported by this store: set capacity with UpdateTable",
    ))
}

/// A global table name follows the table-name rules.
fn checked_global_table_name(name: Option<&str>) -> Result<&str, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "globalTableName", name, true)?;
    v.finish()?;
    Ok(name.unwrap_or_default())
}
