//! Version collection: every `--tombstone-retention / 4` (at least a second, at most an
//! hour), each global table's versions of deleted items older than the retention (its
//! tombstones) are removed, and every version of a table that is no longer global
//! (`Storage::collect_versions`).
//!
//! A tombstone keeps a write made before its delete, still on its way from another
//! region, from bringing the item back here. Replication normally takes well under a
//! second, so a day's retention covers a region cut off for a day: one cut off longer can
//! bring back an item deleted meanwhile, as Cassandra's grace period allows. Without
//! collection, a table whose items come and go (TTL deletes, say) would keep a version of
//! every key it ever had, and a table whose replicas were all removed a version of every
//! item. Only versions made before a pass began are removed, so a table that becomes
//! global again during one keeps the versions its new writes get.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::catalog::TableMeta;
use crate::storage::Collect;

/// Versions removed, by table: tombstones past the retention, and the versions of tables
/// no longer global.
pub const VERSIONS_COLLECTED_TOTAL: &str = "store_replication_versions_collected_total";
/// Versions looked at per call (the engine's iterator is dropped between calls).
const PAGE: usize = 1000;

/// Collects forever.
pub async fn run_collector(app: Arc<App>) {
    let retention = app.config.tombstone_retention;
    let every = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = app.stopped() => return,
        }
        let now_ms = shared::clock::now_ms();
        let tombstones_before = now_ms.saturating_sub(retention.as_millis() as u64);
        for table in app.catalog.all() {
            if super::is_global(&table) {
                collect_table(&app, &table, Collect::Tombstones, tombstones_before).await;
            } else if !app.storage.is_versioned(table.table_id()) {
                // Not a replica being added either (writes keep versions from before the
                // catalog says so). Should one be added from here on, its writes get
                // versions made after `now_ms`, which this pass keeps.
                collect_table(&app, &table, Collect::Every, now_ms).await;
            }
        }
    }
}

/// One pass over a table's versions, resting after each page as long as it took, as the
/// TTL sweeper does, so a large table never starves requests.
async fn collect_table(app: &App, table: &TableMeta, which: Collect, before_ms: u64) {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let started = Instant::now();
        let page = app
            .storage
            .collect_versions(&table.layout, which, after.as_deref(), before_ms, PAGE)
            .await;
        match page {
            Ok(page) => {
                if page.removed > 0 {
                    let scope = crate::owned_metrics::Scope::table(table);
                    app.owned_metrics
                        .counter(&scope, VERSIONS_COLLECTED_TOTAL)
                        .increment(page.removed as u64);
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => return,
                }
            }
            Err(e) => {
                tracing::error!(table = %table.name(), error = %e, "cannot collect item versions");
                return;
            }
        }
        tokio::time::sleep(started.elapsed().max(Duration::from_millis(1))).await;
    }
}
