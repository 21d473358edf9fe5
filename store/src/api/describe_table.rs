//! DescribeTable: the table's stored description with live ItemCount/TableSizeBytes from
//! storage (DynamoDB refreshes them every few hours; ours are exact), for the table and for
//! each secondary index.

use shared::wire::error::ApiError;
use shared::wire::ops::describe_table::{DescribeTableInput, DescribeTableOutput};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use shared::clock::now_seconds;

pub async fn handle(app: &App, input: DescribeTableInput) -> Result<DescribeTableOutput, ApiError> {
    let name = checked_table_name(input.table_name.as_deref())?;
    let table = app.catalog.table_for_control(name)?;
    let stats = app.storage.table_stats(table.table_id());
    let status = crate::replication::reported_status(&table);
    let mut description = table.describe(status, stats, now_seconds());
    index_stats(app, &table, &mut description);
    Ok(DescribeTableOutput { table: description })
}

/// Live ItemCount and IndexSizeBytes of each secondary and vector index (kept by storage
/// as the table's are).
fn index_stats(
    app: &App,
    table: &crate::catalog::TableMeta,
    description: &mut shared::wire::ops::describe_table::TableDescription,
) {
    let stats = |name: &str| {
        let (_, index_id) = table.indexes_with_entries().find(|(n, _)| *n == name)?;
        let stats = app.storage.index_stats(table.table_id(), index_id);
        Some((
            i64::try_from(stats.item_count).unwrap_or(i64::MAX),
            i64::try_from(stats.size_bytes).unwrap_or(i64::MAX),
        ))
    };
    for index in description.local_secondary_indexes.iter_mut().flatten() {
        if let Some((count, bytes)) = stats(&index.index_name) {
            index.item_count = count;
            index.index_size_bytes = bytes;
        }
    }
    for index in description.global_secondary_indexes.iter_mut().flatten() {
        if let Some((count, bytes)) = stats(&index.index_name) {
            index.item_count = count;
            index.index_size_bytes = bytes;
        }
    }
    // A vector index's entry sizes count each vector as DynamoDB bills it.
    for index in description.vector_indexes.iter_mut().flatten() {
        if let Some((count, bytes)) = stats(&index.index_name) {
            index.item_count = count;
            index.index_size_bytes = bytes;
        }
    }
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
