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
    vector_index_stats(app, &table, &mut description);
    Ok(DescribeTableOutput { table: description })
}

/// Live ItemCount and IndexSizeBytes of each vector index: the table's items in it, and
/// their entries' sizes with each vector counted as DynamoDB bills it (a vector index
/// keeps nothing of its own to count, so this reads the table, as a search does).
fn vector_index_stats(
    app: &App,
    table: &crate::catalog::TableMeta,
    description: &mut shared::wire::ops::describe_table::TableDescription,
) {
    let Some(described) = description.vector_indexes.as_mut() else {
        return;
    };
    let mut totals = vec![(0i64, 0i64); table.vector_indexes.len()];
    let items = match app.storage.scan(&table.layout, None, None) {
        Ok(items) => items,
        Err(e) => {
            tracing::error!(error = %e, "cannot count the vector indexes' items");
            return;
        }
    };
    for item in items {
        let item = match item.and_then(|stored| stored.decode()) {
            Ok(item) => item,
            Err(e) => {
                tracing::error!(error = %e, "cannot count the vector indexes' items");
                return;
            }
        };
        for (index, (count, bytes)) in table.vector_indexes.iter().zip(totals.iter_mut()) {
            if let Some(entry) = crate::vector::entry(index, &table.layout.schema, &item) {
                *count += 1;
                *bytes += i64::try_from(crate::vector::entry_size(index, &entry)).unwrap_or(0);
            }
        }
    }
    for (index, (count, bytes)) in described.iter_mut().zip(totals) {
        index.item_count = count;
        index.index_size_bytes = bytes;
    }
}

/// Live ItemCount and IndexSizeBytes of each secondary index (counted from its entries;
/// left at 0 if storage cannot read them, which is logged).
fn index_stats(
    app: &App,
    table: &crate::catalog::TableMeta,
    description: &mut shared::wire::ops::describe_table::TableDescription,
) {
    let stats = |name: &str| {
        let index = table.index(name)?;
        match app.storage.index_stats(table.table_id(), index.index_id) {
            Ok((count, bytes)) => Some((
                i64::try_from(count).unwrap_or(i64::MAX),
                i64::try_from(bytes).unwrap_or(i64::MAX),
            )),
            Err(e) => {
                tracing::error!(error = %e, index = name, "cannot count an index's entries");
                None
            }
        }
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
