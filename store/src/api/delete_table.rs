//! DeleteTable: refuses a table with deletion protection, otherwise removes it from the
//! catalog at once (later calls no longer see it, and the name can be reused) and drops
//! its items in the background. The response describes it as DELETING, as DynamoDB does.

use shared::wire::error::ApiError;
use shared::wire::ops::delete_table::{DeleteTableInput, DeleteTableOutput};

use crate::api::describe_table::checked_table_name;
use crate::app::App;
use crate::catalog::TableStatus;
use shared::clock::now_seconds;

/// DynamoDB's text for a protected table (DYNAMODB.md §6).
pub const DELETION_PROTECTED: &str =
    "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.";

pub async fn handle(app: &App, input: DeleteTableInput) -> Result<DeleteTableOutput, ApiError> {
    let name = checked_table_name(input.table_name.as_deref())?;
    let table = app
        .catalog
        .delete(&app.storage, name, |table| {
            if table.deletion_protection {
                return Err(ApiError::validation(DELETION_PROTECTED));
            }
            Ok(())
        })
        .await?;
    crate::replication::control::leave(app, &table).await;
    let stats = app.storage.table_stats(table.table_id());
    Ok(DeleteTableOutput {
        table_description: table.describe(TableStatus::Deleting, stats, now_seconds()),
    })
}
