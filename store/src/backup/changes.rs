//! What changed in a table over a window of its recovery period, one entry per item: what
//! an incremental export writes. Read from the change log, which keeps both images of
//! every change inside the window.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use shared::model::Item;
use shared::wire::error::ApiError;

use super::{changes_in_window, durable_barrier, key_text, with_images};
use crate::app::App;
use crate::catalog::TableMeta;
use crate::storage::{Cause, Storage, TableLayout};

/// One item changed inside a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    /// The item's key attributes.
    pub keys: Item,
    /// The item when the window opened (`None`: absent).
    pub before: Option<Item>,
    /// The item when the window closed (`None`: absent).
    pub after: Option<Item>,
    /// Commit time of the item's last change inside the window, epoch milliseconds.
    pub last_change_ms: u64,
}

/// The items of `table` changed at or after `from_ms` and before `to_ms` (epoch
/// milliseconds), in key-text order. An item created and deleted again inside the window
/// is left out: it neither was nor is.
///
/// Holds one entry per changed item; the log is read from the first record of the window
/// on (`super::changes_in_window`).
pub async fn changes_between(
    app: &App,
    table: &TableMeta,
    from_ms: u64,
    to_ms: u64,
) -> Result<Vec<Changed>, ApiError> {
    // Every change committed before the window closed (before now) is then readable.
    durable_barrier(app).await?;
    let storage = Arc::clone(&app.storage);
    let layout = table.layout.clone();
    tokio::task::spawn_blocking(move || read(&storage, &layout, from_ms, to_ms))
        .await
        .map_err(|_| ApiError::internal())?
}

fn read(
    storage: &Storage,
    layout: &TableLayout,
    from_ms: u64,
    to_ms: u64,
) -> Result<Vec<Changed>, ApiError> {
    let mut changed: BTreeMap<String, Changed> = BTreeMap::new();
    changes_in_window(storage, layout, (from_ms, to_ms), |record| {
        if record.cause == Cause::TableDropped {
            return Ok(());
        }
        with_images(&record)?;
        match changed.entry(key_text(layout, &record.keys)) {
            Entry::Vacant(slot) => {
                slot.insert(Changed {
                    keys: record.keys,
                    before: record.old_image,
                    after: record.new_image,
                    last_change_ms: record.time_ms,
                });
            }
            Entry::Occupied(mut slot) => {
                let entry = slot.get_mut();
                entry.after = record.new_image;
                entry.last_change_ms = record.time_ms;
            }
        }
        Ok(())
    })?;
    Ok(changed
        .into_values()
        .filter(|c| c.before.is_some() || c.after.is_some())
        .collect())
}
