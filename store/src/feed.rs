//! The internal change feed: `GET /internal/changes?after=SEQ&limit=N&wait_ms=MS&elided=true`.
//!
//! dax-proxy nodes follow it to keep their caches coherent with every write, including
//! writes that never passed through a proxy. It returns the change-log records with
//! `seq > after` in commit order; when there are none it long-polls up to `wait_ms` for the
//! next commit, so a follower sees a write within milliseconds without busy polling.
//!
//! Authenticated by the cluster secret in `x-dax-cluster-secret` (constant-time compare,
//! checked by the route before the query is parsed);
//! disabled (404) when the store runs without `--cluster-secret`. A store with
//! `--credentials-file` refuses it to a node that checks no signatures (the route, see
//! `shared::wire::headers::CLIENT_UNVERIFIED`); every page says whether the store checks
//! them (`signatures_required`).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::{json, Value};

use crate::app::App;
use crate::error;
use crate::storage::{Cause, ChangeRecord};

const MAX_LIMIT: usize = 10_000;
const MAX_WAIT_MS: u64 = 30_000;

#[derive(Debug, serde::Deserialize)]
pub struct FeedParams {
    #[serde(default)]
    pub after: u64,
    pub limit: Option<usize>,
    #[serde(default)]
    pub wait_ms: u64,
    /// The follower understands `new_elided` (a write whose new image the log did not
    /// keep: the item is to be dropped from caches, not replaced). dax-proxy nodes from
    /// before it would take such a record for a delete.
    #[serde(default)]
    pub elided: bool,
}

/// A new identity for the change log this process serves, made at every start and carried
/// by every page (`log_id`). A follower's cursor counts in one log, and a restarted store
/// may not continue it: on another data directory (or `--in-memory`) it numbers from 1
/// again; on an older copy of its directory (or, without `--durable`, after a power loss),
/// it numbers again past the restored point, with other changes. A follower comparing only numbers would
/// take such a log for the one it followed once the numbers passed its cursor, and keep
/// serving what it cached; an id kept with the directory would not tell it either. Each
/// start is a new log to followers, who then drop their caches and start at the head.
pub fn new_log_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Answers a follower whose cluster secret the caller has checked; `log_id` is this
/// process's [`new_log_id`].
pub async fn serve(app: &App, log_id: &str, params: FeedParams) -> Response<Body> {
    let limit = params.limit.unwrap_or(1000).clamp(1, MAX_LIMIT);
    let wait = Duration::from_millis(params.wait_ms.min(MAX_WAIT_MS));
    let mut watch = app.storage.watch_seq();
    // Nothing newer yet: wait for the next commit, the deadline or the store stopping
    // (which must not wait out the poll), whichever is first. A cursor past the newest
    // record comes from another log (a node that followed the store that had this address
    // before): answered at once, so the node sees `head` below its cursor and starts over.
    if *watch.borrow_and_update() == params.after && !wait.is_zero() {
        tokio::select! {
            _ = tokio::time::timeout(wait, watch.changed()) => {}
            _ = app.stopped() => {}
        }
    }
    match app.storage.changes_after(params.after, limit) {
        Ok(records) => {
            // A notice is logged a moment before requests see the catalog change it
            // announces: see `Catalog::settled`. Rare, so only such pages wait.
            if records.iter().any(|r| !r.cause.is_item_change()) {
                app.catalog.settled().await;
            }
            let newest = records.last().map(|r| r.seq);
            let last = newest.unwrap_or(params.after);
            // `head` (the newest durable seq) lets a new follower start at the present
            // instead of replaying history; never the cursor the caller passed in.
            let head = newest.unwrap_or(0).max(*watch.borrow());
            let body = json!({
                "records": records
                    .iter()
                    .map(|r| record_json(app, r, params.elided))
                    .collect::<Vec<_>>(),
                "last_seq": last,
                "head": head,
                "log_id": log_id,
                // A node that checks no signatures (only served by a store that checks
                // none) answers again from this, if it stopped for a store that had keys.
                "signatures_required": app.config.keys.is_some(),
            });
            error::plain(StatusCode::OK, "application/json", body.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the change log");
            error::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                "internal error",
            )
        }
    }
}

/// One record as JSON; items in DynamoDB JSON so the proxy decodes them with `shared`.
/// A cache needs the keys and at most the new image: old images (when the log keeps them,
/// for streams and point-in-time recovery) stay in the store. `hash_key` names the table's
/// partition key (when the table still exists) so that a follower can tell which partition
/// changed without knowing the schema. A table only the feed reads keeps no images at all
/// (`new_elided`); for a follower that does not understand that (`reads_elided` false),
/// such a record says the table was dropped, which makes it forget everything it cached of
/// the table: more than needed, never stale.
///
/// `indexes_changed` (what the table's indexes answer changed) came after the followers
/// in use: one that does not know it takes it for a change of an item with no key
/// attributes, so it bumps the table's generation (which retires its Scan and index Query
/// pages in `invalidate` coherence, what the notice asks) and caches a deleted item under
/// a key no request can name. Safe, without a switch like `elided`.
pub fn record_json(app: &App, record: &ChangeRecord, reads_elided: bool) -> Value {
    let hash_key = app
        .catalog
        .table_for_data(&record.table_name)
        .ok()
        .map(|t| t.layout.schema.hash.name.clone());
    let cause = match record.cause {
        _ if record.new_image_elided && !reads_elided => "table_dropped",
        Cause::User | Cause::Replicated => "user",
        Cause::Ttl => "ttl",
        Cause::TableDropped => "table_dropped",
        Cause::IndexesChanged => "indexes_changed",
    };
    json!({
        "hash_key": hash_key,
        "seq": record.seq,
        "time_ms": record.time_ms,
        "table": record.table_name,
        "keys": record.keys,
        "new": record.new_image,
        "new_elided": record.new_image_elided,
        "cause": cause,
    })
}
