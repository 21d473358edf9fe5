//! Time to Live: per-table settings (UpdateTimeToLive / DescribeTimeToLive) and the
//! background sweeper that deletes expired items.
//!
//! # Settings
//! Kept in the table's catalog entry (`TableMeta::settings["ttl"]` → [`TtlSetting`]), so
//! they are persisted with the table and vanish with it: a table deleted and created again
//! under the same name starts without TTL. A change takes effect at once: DescribeTimeToLive answers `ENABLED`
//! or `DISABLED` (DynamoDB passes through ENABLING/DISABLING for up to an hour; clients
//! accept either).
//!
//! # Sweeper
//! Every `--ttl-sweep-interval` it scans each table with TTL enabled, in chunks, and
//! deletes items whose TTL attribute is a Number of epoch seconds in the past (but not more
//! than five years in the past: such values are taken to be in the wrong unit and ignored,
//! as DynamoDB does). Items whose attribute is missing or not a Number are kept. Until the
//! sweeper reaches it, an expired item is still returned by reads, as in DynamoDB.
//!
//! Each delete goes through the one write path (`Storage::write`) with `Cause::Ttl`, so it
//! is a normal delete for indexes and the change log, and streams show it as a REMOVE by
//! the service (`userIdentity` `dynamodb.amazonaws.com`). The expiry is checked again under
//! the item's lock, so an item rewritten with a later TTL between scan and delete is kept.
//! Deletes are paced to at most `--ttl-max-deletes-per-second`, and after each scan chunk
//! the sweeper rests as long as the chunk took, so neither a large backlog nor a large table
//! starves user traffic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use shared::clock::now_seconds;
use shared::model::{AttributeValue, Item, PrimaryKey};
use shared::wire::error::ApiError;

use crate::app::App;
use crate::catalog::TableMeta;
use crate::owned_metrics::Scope;
use crate::storage::{Cause, Mutation, StorageError};

/// The key of the TTL setting in `TableMeta::settings`.
pub const SETTINGS_KEY: &str = "ttl";

/// Items examined per scan chunk (the snapshot iterator is dropped between chunks).
const SCAN_CHUNK: usize = 1000;

/// Values this far in the past are ignored (DynamoDB: five years).
const MAX_PAST_SECONDS: f64 = 5.0 * 365.0 * 86_400.0;

/// Items deleted by the TTL sweeper, by table (`crate::owned_metrics`: gone with the table).
pub const DELETED_TOTAL: &str = "store_ttl_deleted_items_total";
/// Completed sweeps of all TTL tables.
pub const SWEEPS_TOTAL: &str = "store_ttl_sweeps_total";

/// A table's TTL setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtlSetting {
    pub enabled: bool,
    pub attribute_name: String,
    /// When UpdateTimeToLive last changed it (epoch ms; `None` before this was kept): the
    /// next change must wait `--ttl-change-interval` from then, as in DynamoDB.
    #[serde(default)]
    pub changed_ms: Option<u64>,
}

/// The table's setting (`None`: never enabled, or unreadable).
pub fn setting(table: &TableMeta) -> Option<TtlSetting> {
    crate::catalog::meta::read_setting(&table.settings, SETTINGS_KEY)
}

/// Keeps `setting` as the table's.
pub fn keep_setting(table: &mut TableMeta, setting: &TtlSetting) -> Result<(), ApiError> {
    crate::catalog::meta::write_setting(&mut table.settings, SETTINGS_KEY, setting)
        .map_err(|_| ApiError::internal())
}

/// Whether `item` has expired at `now` under TTL attribute `attribute`.
pub fn is_expired(item: &Item, attribute: &str, now: f64) -> bool {
    match item.get(attribute) {
        Some(AttributeValue::N(n)) => {
            let at = n.to_f64();
            at.is_finite() && at < now && at >= now - MAX_PAST_SECONDS
        }
        _ => false,
    }
}

/// Spaces deletes at least `gap` apart.
struct Pacer {
    gap: Duration,
    next: Instant,
}

impl Pacer {
    fn new(per_second: u32) -> Pacer {
        Pacer {
            gap: Duration::from_secs(1) / per_second.max(1),
            next: Instant::now(),
        }
    }

    async fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            tokio::time::sleep(self.next - now).await;
        }
        self.next = self.next.max(now) + self.gap;
    }
}

/// Sweeps one table once; returns how many items it deleted.
async fn sweep_table(
    app: &App,
    table: &TableMeta,
    attribute: &str,
    pacer: &mut Pacer,
) -> Result<u64, StorageError> {
    let mut start: Option<PrimaryKey> = None;
    let mut deleted = 0u64;
    let deleted_total = app
        .owned_metrics
        .counter(&Scope::table(table), DELETED_TOTAL);
    loop {
        let now = now_seconds();
        let mut expired = Vec::new();
        let mut seen = 0usize;
        let scan_started = Instant::now();
        {
            let iter = app.storage.scan(&table.layout, None, start.as_ref())?;
            for item in iter.take(SCAN_CHUNK) {
                let item = item?.decode()?;
                seen += 1;
                let Some(key) = table.schema().key_of_stored(&item) else {
                    continue;
                };
                if is_expired(&item, attribute, now) {
                    expired.push(key.clone());
                }
                start = Some(key);
            }
        }
        for key in expired {
            pacer.wait().await;
            let outcome = app
                .storage
                .write(&[(&table.layout, key)], Cause::Ttl, |current| {
                    // Checked again under the lock: the item may have been rewritten.
                    let still = current
                        .first()
                        .and_then(|c| c.as_ref())
                        .is_some_and(|item| is_expired(item, attribute, now_seconds()));
                    let mutation = if still {
                        Mutation::Delete
                    } else {
                        Mutation::Keep
                    };
                    Ok::<_, ()>((vec![mutation], still))
                })
                .await?;
            if let Ok(true) = outcome {
                deleted += 1;
                deleted_total.increment(1);
            }
        }
        if seen < SCAN_CHUNK {
            return Ok(deleted);
        }
        // Rest as long as the chunk took to scan: the sweep uses at most about half of one
        // core however large the table, and user requests get the rest.
        tokio::time::sleep(scan_started.elapsed().max(Duration::from_millis(1))).await;
    }
}

/// One sweep of every table with TTL enabled.
pub async fn sweep(app: &App) -> Result<u64, StorageError> {
    let mut pacer = Pacer::new(app.config.change_log.ttl_max_deletes_per_second);
    let mut deleted = 0;
    for table in app.catalog.all() {
        let Some(setting) = setting(&table) else {
            continue;
        };
        if !setting.enabled {
            continue;
        }
        // A table dropped mid-sweep just yields nothing more.
        deleted += sweep_table(app, &table, &setting.attribute_name, &mut pacer).await?;
    }
    ::metrics::counter!(SWEEPS_TOTAL).increment(1);
    Ok(deleted)
}

/// Sweeps forever, pausing `--ttl-sweep-interval` between sweeps.
pub async fn run_sweeper(app: Arc<App>) {
    loop {
        tokio::time::sleep(app.config.change_log.ttl_sweep_interval).await;
        if let Err(e) = sweep(&app).await {
            tracing::error!(error = %e, "TTL sweep failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::Number;

    fn with(attr: &str, value: AttributeValue) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), AttributeValue::S("a".into()));
        item.insert(attr.into(), value);
        item
    }

    fn n(v: f64) -> AttributeValue {
        match Number::parse(&format!("{v}")) {
            Ok(n) => AttributeValue::N(n),
            Err(_) => AttributeValue::Null,
        }
    }

    #[test]
    fn only_past_numbers_within_five_years_expire() {
        let now = 1_700_000_000.0;
        assert!(is_expired(&with("exp", n(now - 60.0)), "exp", now));
        assert!(!is_expired(&with("exp", n(now + 60.0)), "exp", now));
        assert!(!is_expired(&with("exp", n(now)), "exp", now));
        // Milliseconds by mistake: far in the future, kept.
        assert!(!is_expired(&with("exp", n(now * 1000.0)), "exp", now));
        // More than five years ago: ignored.
        assert!(!is_expired(
            &with("exp", n(now - 6.0 * 365.0 * 86_400.0)),
            "exp",
            now
        ));
        assert!(!is_expired(
            &with("exp", AttributeValue::S(format!("{}", now - 60.0))),
            "exp",
            now
        ));
        assert!(!is_expired(&with("other", n(now - 60.0)), "exp", now));
    }

    #[tokio::test]
    async fn the_pacer_spaces_calls() {
        let mut pacer = Pacer::new(100);
        let started = Instant::now();
        for _ in 0..5 {
            pacer.wait().await;
        }
        assert!(started.elapsed() >= Duration::from_millis(35));
    }
}
