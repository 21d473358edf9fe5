//! DeleteTable: refuses a table with deletion protection, one being created (a restore or
//! an import filling it, a replica waiting for its copy) or one with a GSI still being
//! created or deleted (ResourceInUseException), otherwise keeps
//! a SYSTEM backup of it if it has PITR on (`backup::keep_deleted`), removes it from the
//! catalog at once (later calls no longer see it, and the name can be reused) and drops
//! its items in the background. The response describes it as DELETING, as DynamoDB does.

use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::delete_table::{DeleteTableInput, DeleteTableOutput};

use crate::api::describe_table::checked_table_name;
use crate::api::Asker;
use crate::app::App;
use crate::backup;
use crate::catalog::{TableMeta, TableStatus};
use shared::clock::now_seconds;

/// DynamoDB's text for a protected table (DYNAMODB.md §6).
pub const DELETION_PROTECTED: &str =
    "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.";

/// DynamoDB's text for a table whose GSI is still being created or deleted (seen from
/// AWS by infrastructure tools, which retry on it).
pub const INDEXES_UNDER_WAY: &str = "Attempt to change a resource which is still in use: Cannot delete table while indexes are being created, updated, or deleted.";

pub async fn handle(app: &App, input: DeleteTableInput) -> Result<DeleteTableOutput, ApiError> {
    let name = checked_table_name(input.table_name.as_deref())?;
    let _turn = crate::replication::deletion_turn(name)?;
    delete(app, name, Asker::Client).await
}

/// Deletes table `name` for `asker`: another region of its global table may remove this
/// region's replica while it is being created (waiting for its copy), a client may not.
pub async fn delete(app: &App, name: &str, asker: Asker) -> Result<DeleteTableOutput, ApiError> {
    let current = app.catalog.table_for_control(name)?;
    // A region that removes this replica tells the other replicas itself.
    let tell_replicas = asker == Asker::Client;
    // A replica its adding region has left waiting (silent for --replica-create-timeout:
    // its store gone, with its data) is deleted as that region would delete it: it would
    // otherwise wait for good.
    let timeout = app.config.replica_create_timeout;
    let asker = match asker {
        Asker::Client if app.waiting.abandoned(&current, timeout) => Asker::OtherRegion,
        asker => asker,
    };
    check_deletable(&current, asker)?;
    // Taken before the delete, which drops the items; a delete refused after all (the
    // table changed meanwhile) takes its backup back.
    let kept = backup::keep_deleted(app, &current).await?;
    let deleted = app
        .catalog
        .delete(&app.storage, name, |table| {
            if table.table_uuid != current.table_uuid {
                return Err(ApiError::new(
                    ErrorCode::ResourceInUseException,
                    format!("Attempt to change a resource which is still in use: Table: {name}"),
                ));
            }
            check_deletable(table, asker)
        })
        .await;
    if let (Err(_), Some(kept)) = (&deleted, &kept) {
        backup::delete(app, kept).await?;
    }
    let table = deleted?;
    if tell_replicas {
        crate::replication::control::leave(app, &table).await;
    }
    let stats = app.storage.table_stats(table.table_id());
    Ok(DeleteTableOutput {
        table_description: table.describe(TableStatus::Deleting, stats, now_seconds()),
    })
}

/// What keeps a table from being deleted by `asker`.
pub fn check_deletable(table: &TableMeta, asker: Asker) -> Result<(), ApiError> {
    if table.deletion_protection {
        return Err(ApiError::validation(DELETION_PROTECTED));
    }
    // A restore's fill would go on writing into a dropped table. A replica's copy stops
    // when the region that sends it removes the replica.
    if asker == Asker::Client || crate::backup::restoring(table) {
        table.check_created()?;
    }
    // A new replica's region may be making its table, or waiting for its copy: it would
    // be left behind, following a table that is gone.
    crate::replication::check_no_replica_being_created(table)?;
    let index_under_way = table
        .global_indexes
        .iter()
        .any(|i| i.status.is_online_operation());
    if index_under_way {
        return Err(ApiError::new(
            ErrorCode::ResourceInUseException,
            INDEXES_UNDER_WAY,
        ));
    }
    Ok(())
}
