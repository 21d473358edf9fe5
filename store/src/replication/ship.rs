//! Shipping a global table's changes to its other replicas: a supervisor that keeps one
//! worker per (table, replica), and the worker, which first makes a new replica in its
//! region (`control::make`) and copies the table to it, then follows the table's change
//! log. The catalog says what is still to do, so a restart takes it up again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use shared::model::json_out::{self, EncodedItem};
use shared::model::size::item_size;
use shared::model::PrimaryKey;

use super::peer::{self, PeerError};
use super::{
    change_replicas, endpoint, replicas, set_copy_progress, Replica, ReplicaStatus, ShippedChange,
    CHANGES_SHIPPED_TOTAL, LAG_SECONDS, RESYNCS_TOTAL, RETRIES_TOTAL,
};
use crate::app::App;
use crate::catalog::TableMeta;
use crate::log_cursor::{Follower, Next};
use crate::owned_metrics::Scope;
use crate::storage::{record_fields, Cause, EngineBytes, RecordFields};
use crate::triggers::dispatch::backoff;
use crate::workers::Workers;

/// Changes per call to another region.
const CHANGES_PER_CALL: usize = 500;
/// About the most JSON one call carries: 500 large items would make a body of hundreds
/// of megabytes, past what the replica's store takes (`serve::MAX_BODY_BYTES`).
const MAX_CALL_BYTES: usize = 4 * 1024 * 1024;
/// How often the supervisor looks for replicas added or removed (it also wakes on every
/// catalog change).
const SUPERVISE_EVERY: Duration = Duration::from_secs(1);
/// The first retry's pause; retries double it up to `triggers::dispatch`'s cap.
const RETRY_BASE: Duration = Duration::from_millis(100);
const CHECKPOINT_PREFIX: &str = "replication/checkpoint/";

/// Runs a worker for every replica of every global table, stopping the workers of
/// replicas that are gone (or added anew, which starts a new one).
pub async fn run_supervisor(app: Arc<App>) {
    let mut catalog_changes = app.catalog.subscribe();
    // A replica added anew (another start) or moved starts its worker over.
    let mut workers: Workers<(String, String, u64, String)> = Workers::default();
    loop {
        let mut wanted = HashMap::new();
        for table in app.catalog.all() {
            // One whose region refused it replicates nothing.
            let live = replicas(&table)
                .into_iter()
                .filter(|r| r.status != ReplicaStatus::CreationFailed);
            for replica in live {
                let key = (
                    table.table_uuid.clone(),
                    replica.region.clone(),
                    replica.start_seq,
                    replica.endpoint.clone(),
                );
                wanted.insert(key, (Arc::clone(&table), replica));
            }
        }
        workers.reconcile(wanted, |_, (table, replica)| {
            let scope = Scope::replica(&table, &replica.region, replica.start_seq);
            let worker = Worker {
                shipped: app.owned_metrics.counter(&scope, CHANGES_SHIPPED_TOTAL),
                lag: app.owned_metrics.gauge(&scope, LAG_SECONDS),
                app: Arc::clone(&app),
                endpoint: endpoint(&app, &replica),
                table,
                replica,
            };
            worker.run()
        });
        tokio::select! {
            _ = tokio::time::sleep(SUPERVISE_EVERY) => {}
            _ = catalog_changes.changed() => {}
            _ = app.stopped() => return,
        }
    }
}

/// How often [`wait_shipped`] looks at the workers' checkpoints.
const SHIPPED_POLL: Duration = Duration::from_millis(20);

/// Waits until the worker of every made replica of `table` has handled this region's log
/// of the table up to now (every change made before the call shipped, or passed over as
/// not to be shipped), each checked against its durable checkpoint. `Err` names the
/// region of a replica still behind when `within` has passed (its store out of reach).
pub async fn wait_shipped(app: &App, table: &TableMeta, within: Duration) -> Result<(), String> {
    let head = app.storage.published_seq();
    let deadline = tokio::time::Instant::now() + within;
    for replica in super::made_replicas(table) {
        let key = checkpoint_key(table, &replica);
        loop {
            let at = match app.storage.seq_mark(&key) {
                Ok(mark) => mark.unwrap_or(replica.start_seq),
                Err(e) => {
                    tracing::error!(error = %e, checkpoint = %key, "cannot read a checkpoint");
                    replica.start_seq
                }
            };
            let behind = app
                .storage
                .encoded_table_changes(table.table_id(), at, head, 1)
                .map_or(true, |pending| !pending.is_empty());
            if !behind {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(replica.region);
            }
            tokio::time::sleep(SHIPPED_POLL).await;
        }
    }
    Ok(())
}

/// The meta key of the worker shipping `table` to `replica`: where it left off.
fn checkpoint_key(table: &TableMeta, replica: &Replica) -> String {
    format!(
        "{CHECKPOINT_PREFIX}{}/{}/{}",
        table.table_uuid, replica.region, replica.start_seq
    )
}

/// What a copy ships.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Copied {
    /// Every item, with its version.
    Items,
    /// The versions of the deleted items.
    Deletes,
}

/// What a refusal by the replica's region (a 4xx: asked again, it answers the same) does
/// to what is being sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnRefusal {
    /// It is asked again, with backoff: a region taking part in the global table refuses
    /// changes only for a while (a membership tell still on its way).
    Retry,
    /// It ends the copy to a replica being created: its region does not have its table
    /// (lost, or another's of the name) and never will.
    Stop,
}

/// What is being sent: changes the log follower gave, or a copy of the table's items.
#[derive(Clone, Copy)]
enum Sending<'a> {
    /// Asked again until taken (a region taking part refuses changes only for a while),
    /// the follower's lag growing meanwhile.
    Log(&'a Follower),
    Copy(OnRefusal),
}

impl Sending<'_> {
    fn stops_at_refusal(self) -> bool {
        matches!(self, Sending::Copy(OnRefusal::Stop))
    }
}

/// The body of an `apply` call, written straight from the changes.
#[derive(Serialize)]
struct ApplyBody<'a, C> {
    table: &'a str,
    from: &'a str,
    /// Where this store is reached (`serve::Apply::at`).
    at: &'a str,
    changes: &'a [C],
}

/// A change from the log as shipped: a [`ShippedChange`] on the wire, its key attributes
/// and item still in the log's encoding.
#[derive(Serialize)]
struct Outgoing<'a> {
    keys: EncodedItem<'a>,
    item: Option<EncodedItem<'a>>,
    time_ms: u64,
    region: &'a str,
}

impl Outgoing<'_> {
    /// About how many bytes of JSON it makes (an encoded item renders to ~1.5x its length).
    fn estimate(&self) -> usize {
        (self.keys.0.len() + self.item.as_ref().map_or(0, |i| i.0.len())) * 3 / 2 + 128
    }
}

/// Ships one table's changes to one other replica.
struct Worker {
    app: Arc<App>,
    /// The table as it was when the worker started (its id and key schema do not change).
    table: Arc<TableMeta>,
    replica: Replica,
    /// Where the replica's store is.
    endpoint: String,
    /// Its series (`owned_metrics`: they leave `/metrics` with the replica).
    shipped: ::metrics::Counter,
    lag: ::metrics::Gauge,
}

impl Worker {
    async fn run(self) {
        let checkpoint = checkpoint_key(&self.table, &self.replica);
        let mut follower = Follower::resume(
            &self.app,
            checkpoint,
            self.replica.start_seq,
            self.lag.clone(),
        )
        .await;
        if self.replica.unmade
            && !super::control::make(&self.app, &self.table, &self.replica, &self.endpoint).await
        {
            return;
        }
        if self.replica.status == ReplicaStatus::Creating {
            let copied = match self
                .copy(Copied::Items, Sending::Copy(OnRefusal::Stop))
                .await
            {
                Ok(()) => self.say_ready().await,
                Err(refused) => Err(refused),
            };
            if let Err(refused) = copied {
                set_copy_progress(&self.table, &self.replica.region, None);
                let why = format!(
                    "Region {} refused the table's copy: {refused}",
                    self.replica.region
                );
                super::control::fail(&self.app, &self.table, &self.replica, &why).await;
                return;
            }
            self.mark_active().await;
        }
        let storage = &self.app.storage;
        let table_id = self.table.table_id();
        loop {
            let read =
                |after| storage.encoded_table_changes(table_id, after, u64::MAX, CHANGES_PER_CALL);
            let time =
                |(_, value): &(u64, EngineBytes)| record_fields(value).map_or(0, |r| r.time_ms);
            let next = follower
                .next(&self.app, "replication", read, |(seq, _)| *seq, time)
                .await;
            match next {
                Next::Trimmed(first, last) => {
                    tracing::warn!(table = %self.table.name(), region = %self.replica.region, first, last,
                        "changes trimmed before the replica took them: copying the table again");
                    ::metrics::counter!(RESYNCS_TOTAL, "region" => self.replica.region.clone())
                        .increment(1);
                    self.resync().await;
                }
                Next::Changes { last, records } => {
                    let fields: Vec<RecordFields<'_>> = records
                        .iter()
                        .filter_map(|(seq, value)| self.fields(*seq, value))
                        .collect();
                    let changes: Vec<Outgoing<'_>> =
                        fields.iter().filter_map(|r| self.shippable(r)).collect();
                    // Asked again until taken: it never ends with a refusal.
                    let sending = Sending::Log(&follower);
                    let _ = self.send(&changes, Outgoing::estimate, sending).await;
                    follower.handled(&self.app, last, RETRY_BASE).await;
                }
            }
        }
    }

    /// A log record's fields. One that does not parse cannot be shipped, and holding every
    /// later change back behind it would stop the replica for good: it is logged, skipped.
    fn fields<'a>(&self, seq: u64, record: &'a [u8]) -> Option<RecordFields<'a>> {
        let fields = record_fields(record);
        if fields.is_none() {
            tracing::error!(table = %self.table.name(), region = %self.replica.region, seq,
                "a change record does not parse: not replicated");
        }
        fields
    }

    /// What of a change record goes to the replica: not a change that came from it, and
    /// not one whose new image the log did not keep (none while the table is global). The
    /// images go as the log holds them, rendered to JSON without being decoded.
    fn shippable<'a>(&'a self, record: &'a RecordFields<'a>) -> Option<Outgoing<'a>> {
        let (time_ms, region) = match record.cause {
            Cause::User | Cause::Ttl => (record.time_ms, self.app.config.region.as_str()),
            Cause::Replicated => {
                let origin = record.origin.as_ref()?;
                (origin.time_ms, origin.region.as_str())
            }
            Cause::TableDropped | Cause::IndexesChanged => return None,
        };
        if region == self.replica.region || record.new_image_elided() {
            return None;
        }
        Some(Outgoing {
            keys: EncodedItem(record.keys),
            item: record.new_image.map(EncodedItem),
            time_ms,
            region,
        })
    }

    /// Brings a replica that missed changes (the log's retention trimmed them before they
    /// were shipped) back in line: every item again, and every delete whose tombstone is
    /// still kept (`super::tombstones`). The replica keeps whichever of its version and the
    /// shipped one is newer.
    async fn resync(&self) {
        for what in [Copied::Items, Copied::Deletes] {
            // Asked again until taken: it never ends with a refusal.
            let _ = self.copy(what, Sending::Copy(OnRefusal::Retry)).await;
        }
    }

    /// Ships `what` a page of keys at a time, each item read again under its lock with its
    /// version, so a copy never pairs an image with another write's version; a write
    /// during the copy is also in the log the worker ships next. Ends early only on a
    /// refusal `sending` stops at, with why.
    async fn copy(&self, what: Copied, sending: Sending<'_>) -> Result<(), String> {
        let layout = &self.table.layout;
        let mut after: Option<PrimaryKey> = None;
        // A replica being created shows how much of the table it has (DescribeTable).
        let creating = what == Copied::Items && self.replica.status == ReplicaStatus::Creating;
        let total = self
            .app
            .storage
            .table_stats(layout.table_id)
            .item_count
            .max(1);
        let mut copied = 0u64;
        loop {
            let storage = &self.app.storage;
            let page = match what {
                Copied::Items => storage.item_keys(layout, after.as_ref(), CHANGES_PER_CALL),
                Copied::Deletes => storage.versioned_keys(layout, after.as_ref(), CHANGES_PER_CALL),
            };
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the table to copy to a replica");
                    tokio::time::sleep(RETRY_BASE * 10).await;
                    continue;
                }
            };
            let Some(last) = page.last().cloned() else {
                return Ok(());
            };
            let mut changes = Vec::with_capacity(page.len());
            for key in &page {
                match self.app.storage.versioned_item(layout, key).await {
                    // The deletes pass ships only what is deleted.
                    Ok((Some(_), _)) if what == Copied::Deletes => {}
                    Ok((item, version)) => {
                        // Written before the table had replicas: older than any write since.
                        let (time_ms, region) = version.map_or_else(
                            || (0, self.app.config.region.clone()),
                            |v| (v.time_ms, v.region),
                        );
                        if item.is_some() || time_ms > 0 {
                            changes.push(ShippedChange {
                                keys: layout.schema.key_item(key),
                                item,
                                time_ms,
                                region,
                            });
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read an item to copy to a replica");
                    }
                }
            }
            self.send(
                &changes,
                |c| c.item.as_ref().map_or(0, item_size) * 3 / 2 + 128,
                sending,
            )
            .await?;
            copied += page.len() as u64;
            if creating {
                // Writes during the copy can take it past the count it started from.
                let percent = (copied.saturating_mul(100) / total).min(99) as u8;
                set_copy_progress(&self.table, &self.replica.region, Some(percent));
            }
            after = Some(last);
        }
    }

    /// Tells the replica's region that it has its copy: its table there serves clients
    /// from now on. Asked again while that store cannot be reached or fails; a refusal
    /// (its table is gone, or is another addition's) is returned. A store from before
    /// `ready` made the table ACTIVE at once: nothing to tell it.
    async fn say_ready(&self) -> Result<(), String> {
        let origin = super::origin(&self.table, &self.replica);
        let request = serde_json::json!({"table": self.table.name(), "origin": origin});
        let mut attempt = 0;
        loop {
            let answer =
                peer::call::<_, serde_json::Value>(&self.app, &self.endpoint, "ready", &request)
                    .await;
            match answer {
                Ok(_) => return Ok(()),
                Err(e) => match e.refusal() {
                    Some(super::serve::NO_SUCH_ACTION) => return Ok(()),
                    Some(refused) => return Err(refused.to_string()),
                    None => {
                        attempt += 1;
                        tracing::warn!(table = %self.table.name(), region = %self.replica.region,
                            error = %e, "cannot tell a new replica it has its copy yet; retrying");
                        tokio::time::sleep(backoff(RETRY_BASE, attempt)).await;
                    }
                },
            }
        }
    }

    /// Records that the replica has its copy, unless it was removed (or added anew) since.
    async fn mark_active(&self) {
        set_copy_progress(&self.table, &self.replica.region, None);
        let result = change_replicas(
            &self.app,
            self.table.name(),
            |r| r.is(&self.replica),
            |replica| replica.status = ReplicaStatus::Active,
        )
        .await;
        if let Err(e) = result {
            tracing::warn!(table = %self.table.name(), error = ?e, "cannot mark a replica active");
        }
    }

    /// Sends `changes` in calls of at most about [`MAX_CALL_BYTES`] of JSON each, by
    /// `size`'s estimate of a change's.
    async fn send<C: Serialize>(
        &self,
        changes: &[C],
        size: impl Fn(&C) -> usize,
        sending: Sending<'_>,
    ) -> Result<(), String> {
        let mut rest = changes;
        while !rest.is_empty() {
            let mut bytes = 0;
            let mut count = 0;
            for change in rest {
                let next = size(change);
                if count > 0 && bytes + next > MAX_CALL_BYTES {
                    break;
                }
                bytes += next;
                count += 1;
            }
            let (call, later) = rest.split_at(count);
            self.send_call(call, bytes, sending).await?;
            rest = later;
        }
        Ok(())
    }

    /// Sends `changes` (about `estimate` bytes of JSON) in one call, again and again with
    /// backoff, until the replica takes them, or refuses them and `sending` stops there.
    async fn send_call<C: Serialize>(
        &self,
        changes: &[C],
        estimate: usize,
        sending: Sending<'_>,
    ) -> Result<(), String> {
        let body = ApplyBody {
            table: self.table.name(),
            from: &self.app.config.region,
            at: &self.app.config.endpoint.url,
            changes,
        };
        let body = match json_out::to_vec_with_capacity(&body, estimate) {
            Ok(body) => axum::body::Bytes::from(body),
            Err(e) => {
                tracing::error!(error = %e, "cannot write changes to replicate");
                return Ok(());
            }
        };
        let mut attempt = 0;
        loop {
            let answer: Result<serde_json::Value, PeerError> =
                peer::post(&self.app, &self.endpoint, "apply", body.clone()).await;
            match answer {
                Ok(_) => break,
                Err(e) if sending.stops_at_refusal() && !e.may_pass() => {
                    return Err(e.refusal().unwrap_or_default().to_string());
                }
                Err(e) => {
                    if let Sending::Log(follower) = sending {
                        follower.still_sending();
                    }
                    attempt += 1;
                    tracing::warn!(table = %self.table.name(), region = %self.replica.region,
                        error = %e, "replicating changes failed; retrying");
                    ::metrics::counter!(RETRIES_TOTAL, "region" => self.replica.region.clone())
                        .increment(1);
                    tokio::time::sleep(backoff(RETRY_BASE, attempt)).await;
                }
            }
        }
        self.shipped.increment(changes.len() as u64);
        Ok(())
    }
}
