//! Changes of a global table's shared definition (secondary indexes, billing mode and
//! capacity, warm throughput, TTL) on their way to the other replicas. UpdateTable and
//! UpdateTimeToLive make a change here, then keep it in each made replica's outbox
//! ([`Replica::pending`], durable with the table), and this store's outbox task sends
//! each replica's changes oldest first until its region takes them. A region out of reach,
//! failing, or still busy with an earlier change (a GSI backfilling there) gets the change
//! again, with backoff, for as long as it is a replica, so a region down when the table
//! changed has it once it is back, whichever store restarted meanwhile. A refusal (the
//! region answers that it cannot make the change, say an index it already has) ends that
//! change there: asked again, it would answer the same. How many wait for each replica is
//! `store_replication_pending_changes`, what an operator alerts on.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::peer::{self, PeerError};
use super::{change_replicas, endpoint, replicas, Replica, PENDING_CHANGES};
use crate::app::App;
use crate::catalog::TableMeta;
use crate::owned_metrics::Scope;
use crate::triggers::dispatch::backoff;

/// How often the task looks for changes to send (it also wakes on every catalog change,
/// which a new change is).
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// The first retry's pause after a region did not take a change; retries double it up to
/// `triggers::dispatch`'s cap.
const RETRY_BASE: Duration = Duration::from_millis(200);
/// How long one call may take: a region that takes connections but answers nothing holds
/// every other table's changes back meanwhile.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A change still to be made in one replica's region: the internal replication call that
/// makes it there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingChange {
    /// Which change it is, to take it out of the outbox once sent.
    pub id: String,
    /// The `serve` action (`update`, `ttl`).
    pub action: String,
    pub body: Value,
}

/// Keeps a change of `table` for every replica made in its region (`body_for` writes the
/// call for each: a replica's own overrides shape it). A replica still being made gets the
/// table as it is when it is made, so none is kept for it.
pub async fn keep(
    app: &App,
    table: &TableMeta,
    action: &str,
    body_for: impl Fn(&Replica) -> Option<Value>,
) {
    let kept = change_replicas(app, table.name(), Replica::is_made, |replica| {
        if let Some(body) = body_for(replica) {
            replica.pending.push(PendingChange {
                id: uuid::Uuid::new_v4().to_string(),
                action: action.to_string(),
                body,
            });
        }
    })
    .await;
    if let Err(e) = kept {
        // The change stands here; only a table deleted meanwhile gets here.
        tracing::warn!(table = %table.name(), error = ?e,
            "cannot keep a change of the global table for its other replicas");
    }
}

/// When a replica's region may be asked again, after how many failed attempts.
#[derive(Default)]
struct Retry {
    attempts: u32,
    not_before: Option<Instant>,
}

/// Sends every replica's pending changes, for as long as the store runs.
pub async fn run(app: Arc<App>) {
    let mut catalog_changes = app.catalog.subscribe();
    let mut retries: HashMap<(String, String), Retry> = HashMap::new();
    loop {
        let now = Instant::now();
        let mut waiting_now = HashSet::new();
        for table in app.catalog.all() {
            for replica in replicas(&table).into_iter().filter(Replica::is_made) {
                let scope = Scope::replica(&table, &replica.region, replica.start_seq);
                let pending = app.owned_metrics.gauge(&scope, PENDING_CHANGES);
                pending.set(replica.pending.len() as f64);
                if replica.pending.is_empty() {
                    continue;
                }
                let key = (table.table_uuid.clone(), replica.region.clone());
                let resting = retries.get(&key).and_then(|r| r.not_before);
                if resting.is_some_and(|at| at > now) {
                    waiting_now.insert(key);
                    continue;
                }
                if send(&app, &table, &replica).await {
                    retries.remove(&key);
                    continue;
                }
                let retry = retries.entry(key.clone()).or_default();
                retry.attempts += 1;
                retry.not_before = Some(Instant::now() + backoff(RETRY_BASE, retry.attempts));
                waiting_now.insert(key);
            }
        }
        // Replicas gone, or with nothing left to send, need no retry state.
        retries.retain(|key, _| waiting_now.contains(key));
        let soonest = retries.values().filter_map(|r| r.not_before).min();
        let pause = soonest.map_or(LOOK_EVERY, |at| {
            at.saturating_duration_since(Instant::now()).min(LOOK_EVERY)
        });
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = catalog_changes.changed() => {}
            _ = app.stopped() => return,
        }
    }
}

/// Sends `replica`'s pending changes in order; false if its region did not take one that
/// may pass later (the rest wait behind it).
async fn send(app: &App, table: &TableMeta, replica: &Replica) -> bool {
    let url = endpoint(app, replica);
    for change in &replica.pending {
        let answer: Result<Value, PeerError> =
            peer::call_within(app, &url, &change.action, &change.body, CALL_TIMEOUT).await;
        match answer {
            Ok(_) => {}
            Err(e) if e.may_pass() || e.table_busy() => {
                tracing::warn!(table = %table.name(), region = %replica.region, error = %e,
                    "a replica has not taken a change of the global table yet; retrying");
                return false;
            }
            Err(e) => {
                tracing::warn!(table = %table.name(), region = %replica.region, error = %e,
                    "a replica refused a change of the global table");
            }
        }
        if !forget(app, table, replica, &change.id).await {
            return false;
        }
    }
    true
}

/// Takes change `id` out of `replica`'s outbox; false if that could not be kept (it is
/// sent again later, and taken or refused again there).
async fn forget(app: &App, table: &TableMeta, replica: &Replica, id: &str) -> bool {
    let forgotten = change_replicas(
        app,
        table.name(),
        |r| r.is(replica),
        |r| r.pending.retain(|c| c.id != id),
    )
    .await;
    forgotten.is_ok()
}
