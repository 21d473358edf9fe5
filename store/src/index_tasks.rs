//! Background work on secondary and vector indexes that follows the catalog: backfilling
//! a GSI or vector index that UpdateTable added to a table (CREATING with `Backfilling:
//! true` until every existing item is in it, then ACTIVE), removing a GSI that UpdateTable
//! deleted (DELETING until its entries are gone, then dropped from the catalog), and
//! dropping the entries of a vector index (gone from the catalog at once).
//!
//! Entry maintenance itself is not here: every write batch maintains the indexes the
//! catalog published to storage (`storage::indexes`). This task only reacts to catalog
//! changes, so it keeps no state that a restart could lose except the set of indexes it
//! has seen: a backfill interrupted by a restart runs again (it is idempotent), while the
//! entries of an index deleted just before a restart stay on disk unread (index ids are
//! never reused, so they can never be mistaken for another index's).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::app::App;
use crate::catalog::IndexStatus;

/// Follows the catalog until the process ends.
pub async fn run(app: Arc<App>) {
    let mut version = app.catalog.subscribe();
    // (table id, index id) → table name, for every GSI and vector index seen in the
    // catalog.
    let mut known: HashMap<(u64, u16), String> = HashMap::new();
    let running: Arc<parking_lot::Mutex<HashSet<(u64, u16)>>> = Default::default();
    loop {
        let tables = app.catalog.all();
        let mut current: HashMap<(u64, u16), String> = HashMap::new();
        let live_tables: HashSet<u64> = tables.iter().map(|t| t.table_id()).collect();
        for table in &tables {
            for index in &table.global_indexes {
                let id = (table.table_id(), index.index_id);
                current.insert(id, table.name().to_string());
                if index.status == IndexStatus::Deleting && running.lock().insert(id) {
                    let app = Arc::clone(&app);
                    let running = Arc::clone(&running);
                    let (table_name, index_name) = (table.name().to_string(), index.name.clone());
                    tokio::spawn(async move {
                        remove(&app, id, &table_name, &index_name).await;
                        running.lock().remove(&id);
                    });
                }
                if index.status == IndexStatus::Creating && index.backfilling {
                    start_backfill(&app, &running, id, table.name(), &index.name);
                }
            }
            for index in table.vector_indexes.iter().filter(|v| v.index_id != 0) {
                let id = (table.table_id(), index.index_id);
                current.insert(id, table.name().to_string());
                if index.status == IndexStatus::Creating && index.backfilling {
                    start_backfill(&app, &running, id, table.name(), &index.name);
                }
            }
        }
        for (id, table_name) in &known {
            // A table that is gone drops all its index ids itself (drop_table_data).
            if !current.contains_key(id) && live_tables.contains(&id.0) {
                let app = Arc::clone(&app);
                let (id, table_name) = (*id, table_name.clone());
                tokio::spawn(async move {
                    if let Err(e) = app.storage.drop_index_data(id.0, id.1).await {
                        tracing::error!(error = %e, table = table_name, "cannot remove a deleted index's entries");
                    }
                });
            }
        }
        known = current;
        if version.changed().await.is_err() {
            return;
        }
    }
}

/// Runs [`backfill`] for index `id`, unless one runs already.
fn start_backfill(
    app: &Arc<App>,
    running: &Arc<parking_lot::Mutex<HashSet<(u64, u16)>>>,
    id: (u64, u16),
    table: &str,
    index: &str,
) {
    if !running.lock().insert(id) {
        return;
    }
    let app = Arc::clone(app);
    let running = Arc::clone(running);
    let (table, index) = (table.to_string(), index.to_string());
    tokio::spawn(async move {
        backfill(&app, id, &table, &index).await;
        running.lock().remove(&id);
    });
}

/// Removes a DELETING index's entries, then the index itself from the catalog. A failure
/// is logged and the index stays DELETING; the next restart tries again.
async fn remove(app: &App, id: (u64, u16), table: &str, index: &str) {
    if let Err(e) = app.storage.drop_index_data(id.0, id.1).await {
        tracing::error!(error = %e, table, index, "cannot remove a deleted index's entries");
        return;
    }
    if let Err(e) = app
        .catalog
        .finish_index_delete(&app.storage, table, index)
        .await
    {
        tracing::error!(error = ?e, table, index, "cannot drop a deleted index");
    }
}

/// Fills one index and marks it ACTIVE. An index deleted while it was being filled (the
/// fill then stops early) is removed instead: its remove task could not start while this
/// one ran. A failure is logged and left CREATING; the next restart tries again.
async fn backfill(app: &App, id: (u64, u16), table: &str, index: &str) {
    match app.storage.backfill_index(id.0, id.1).await {
        Ok(entries) => match app.catalog.finish_backfill(&app.storage, table, id.1).await {
            Ok(true) => tracing::info!(table, index, entries, "index backfilled"),
            Ok(false) => remove(app, id, table, index).await,
            Err(e) => {
                tracing::error!(error = ?e, table, index, "cannot mark a backfilled index ACTIVE")
            }
        },
        Err(e) => tracing::error!(error = %e, table, index, "index backfill failed"),
    }
}
