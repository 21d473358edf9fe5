//! ListTables: table names in ascending order, `Limit` 1 to 100 (default 100), paged with
//! `ExclusiveStartTableName` / `LastEvaluatedTableName`.

use shared::wire::error::ApiError;
use shared::wire::ops::list_tables::{ListTablesInput, ListTablesOutput};
use shared::wire::ops::validate::Violations;

use crate::app::App;

/// Default and largest page.
const MAX_LIMIT: i64 = 100;

pub async fn handle(app: &App, input: ListTablesInput) -> Result<ListTablesOutput, ApiError> {
    let mut v = Violations::new();
    v.name(
        "exclusiveStartTableName",
        input.exclusive_start_table_name.as_deref(),
        3,
        255,
    );
    v.at_least("limit", input.limit, 1);
    v.at_most("limit", input.limit, MAX_LIMIT);
    v.finish()?;
    let limit = usize::try_from(input.limit.unwrap_or(MAX_LIMIT)).unwrap_or(100);
    let (table_names, more) = app
        .catalog
        .names_after(input.exclusive_start_table_name.as_deref(), limit);
    let last_evaluated_table_name = if more {
        table_names.last().cloned()
    } else {
        None
    };
    Ok(ListTablesOutput {
        table_names,
        last_evaluated_table_name,
    })
}
