//! DescribeTable: the table's stored description with live ItemCount/TableSizeBytes from
//! storage (DynamoDB refreshes them every few hours; ours are exact).

use shared::wire::error::ApiError;
use shared::wire::ops::describe_table::{DescribeTableInput, DescribeTableOutput};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::catalog::now_seconds;

pub async fn handle(app: &App, input: DescribeTableInput) -> Result<DescribeTableOutput, ApiError> {
    let name = checked_table_name(input.table_name.as_deref())?;
    let table = app.catalog.table_for_control(name)?;
    let stats = app.storage.table_stats(table.table_id());
    Ok(DescribeTableOutput {
        table: table.describe(table.status, stats, now_seconds()),
    })
}

/// The `TableName` of a control-plane call on one table (a name or the table's ARN),
/// checked against the model constraints.
pub fn checked_table_name(name: Option<&str>) -> Result<&str, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "tableName", name, true)?;
    v.finish()?;
    Ok(name.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_name_forms() {
        assert_eq!(
            checked_table_name(None).err().and_then(|e| e.message).as_deref(),
            Some("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
        );
        assert!(
            checked_table_name(Some("arn:aws:dynamodb:us-east-1:000000000000:table/abc")).is_ok()
        );
        assert!(checked_table_name(Some("a")).is_err());
        assert!(checked_table_name(Some("good_name")).is_ok());
    }
}
