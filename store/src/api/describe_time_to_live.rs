//! DescribeTimeToLive: `ENABLED` with the attribute name, or `DISABLED` without one.

use shared::wire::error::ApiError;
use shared::wire::ops::describe_time_to_live::{
    DescribeTimeToLiveInput, DescribeTimeToLiveOutput, TimeToLiveDescription,
};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::catalog::TableMeta;
use crate::ttl;

pub async fn handle(
    app: &App,
    input: DescribeTimeToLiveInput,
) -> Result<DescribeTimeToLiveOutput, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    v.finish()?;
    let table = app
        .catalog
        .table_for_control(input.table_name.as_deref().unwrap_or_default())?;
    Ok(DescribeTimeToLiveOutput {
        time_to_live_description: description(&table),
    })
}

/// The table's `TimeToLiveDescription` (also a backup's, of its source table).
pub fn description(table: &TableMeta) -> TimeToLiveDescription {
    match ttl::setting(table).filter(|s| s.enabled) {
        Some(s) => TimeToLiveDescription {
            time_to_live_status: "ENABLED".to_string(),
            attribute_name: Some(s.attribute_name),
        },
        None => TimeToLiveDescription {
            time_to_live_status: "DISABLED".to_string(),
            attribute_name: None,
        },
    }
}
