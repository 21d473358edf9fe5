//! What changed in a table over a window of its recovery period, one entry per item: what
//! an incremental export writes. Read from the change log, which keeps both images of
//! every change inside the window.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use shared::model::size::item_size;
use shared::model::Item;
use shared::wire::error::ApiError;

use super::{
    changes_in_window, durable_barrier, in_segment, key_text, pass_segment, passes_within,
    with_images, Chunker,
};
use crate::app::App;
use crate::catalog::TableMeta;
use crate::storage::{ChangeRecord, Storage, TableLayout};

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

/// Changed items, a chunk at a time, from a reader in the background; an error ends them.
pub type ChangeChunks = tokio::sync::mpsc::Receiver<Result<Vec<Changed>, ApiError>>;

/// The items of `table` changed at or after `from_ms` and before `to_ms` (epoch
/// milliseconds), streamed. An item created and deleted again inside the window is left
/// out: it neither was nor is.
///
/// What is held whole is one entry per changed item, both images; past
/// [`super::PASS_BUDGET_BYTES`] of images the read is split into passes over segments of
/// the table's partition hashes, as a point-in-time read is (`super::items_at`). The log
/// is read from the first record of the window on (`super::changes_in_window`).
pub async fn changes_between(
    app: &App,
    table: &TableMeta,
    from_ms: u64,
    to_ms: u64,
) -> Result<ChangeChunks, ApiError> {
    changes_between_within(app, table, (from_ms, to_ms), super::PASS_BUDGET_BYTES).await
}

/// [`changes_between`] holding at most about `budget` bytes of images per pass.
pub(super) async fn changes_between_within(
    app: &App,
    table: &TableMeta,
    window: (u64, u64),
    budget: usize,
) -> Result<ChangeChunks, ApiError> {
    // Every change committed before the window closed (before now) is then readable.
    durable_barrier(app).await?;
    let storage = Arc::clone(&app.storage);
    let layout = table.layout.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut out = Chunker::new(tx, Ok);
        let images = |r: &ChangeRecord| {
            [&r.old_image, &r.new_image]
                .into_iter()
                .flatten()
                .map(item_size)
                .sum()
        };
        let passes = match passes_within(&storage, &layout, window, budget, images) {
            Ok(passes) => passes,
            Err(e) => return out.fail(e),
        };
        for pass in 0..passes {
            let changed = match read(&storage, &layout, window, pass_segment(pass, passes)) {
                Ok(changed) => changed,
                Err(e) => return out.fail(e),
            };
            for change in changed {
                if !out.push(change) {
                    return;
                }
            }
        }
        out.finish();
    });
    Ok(rx)
}

/// The changed items of one segment of the table (all of it with `None`), in key-text
/// order.
fn read(
    storage: &Storage,
    layout: &TableLayout,
    window: (u64, u64),
    segment: Option<(u32, u32)>,
) -> Result<Vec<Changed>, ApiError> {
    let mut changed: BTreeMap<String, Changed> = BTreeMap::new();
    changes_in_window(storage, layout, window, |record| {
        if !record.cause.is_item_change() || !in_segment(layout, segment, &record.keys) {
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
