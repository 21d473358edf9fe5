//! Telling the other replicas of a global table that its members changed, and asking a
//! removed replica's store to delete its table.
//!
//! A region that does not answer is told again in the background, with backoff, until it
//! answers, a newer tell to it supersedes this one, or [`RETRY_FOR`] has passed: a region
//! cut off for a moment would otherwise never learn of a replica added or removed
//! meanwhile (it would describe the wrong replicas, miss capacity and index changes made
//! in the one it does not know, and ship to one that left). A tell being tried again is
//! kept in the meta keyspace until it ends, and [`resume`] takes it up again after a
//! restart.
//!
//! A replica removed while its region's store cannot be reached leaves the global table
//! at once: its table there is deleted the same way, when that store answers
//! ([`call_later`]). Otherwise a region that is down for good could never be removed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::model::json_out;

use super::peer;
use super::{endpoint, made_replicas, Member};
use crate::app::App;
use crate::catalog::TableMeta;
use crate::storage::Storage;

/// Meta keys of the tells being tried again: `<prefix><table uuid>/<region>`.
const PENDING_PREFIX: &str = "replication/tell/";

/// A tell being tried again, as kept: where it goes, what it asks and what it says.
#[derive(Serialize, Deserialize)]
struct Pending {
    url: String,
    body: String,
    /// Absent in what stores before removals were kept wrote: a membership tell.
    #[serde(default)]
    call: Call,
}

/// What a call tried again asks of the region's store (its replication endpoint).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Call {
    /// The members of the table are now these.
    #[default]
    Members,
    /// Delete the table: the region's replica left the global table.
    Delete,
    /// Withdraw an addition not known to be made: delete the table only if that addition
    /// made it (`serve::withdraw`). Its own action, so that a store from before it answers
    /// 404 rather than delete a table of the name that is not the addition's.
    Withdraw,
}

impl Call {
    fn action(self) -> &'static str {
        match self {
            Call::Members => "members",
            Call::Delete => "delete",
            Call::Withdraw => "withdraw",
        }
    }
}

/// The first wait before a tell is tried again; each later wait doubles, up to
/// [`RETRY_MAX_WAIT`].
const RETRY_FIRST_WAIT: Duration = Duration::from_millis(500);
const RETRY_MAX_WAIT: Duration = Duration::from_secs(60);
/// How long an unanswered tell is tried again before it is given up (and logged).
const RETRY_FOR: Duration = Duration::from_secs(3600);

/// What a membership tell says: the members, each stamped with when it was added, the
/// removals known (region -> when removed), and the generation of the replica list they
/// come from here (`super::order`).
pub struct Tell<'a> {
    pub members: &'a [Member],
    pub removed: &'a BTreeMap<String, u64>,
    pub generation: u64,
}

/// Tells every replica of `table` but `except` what `tell` says.
pub async fn tell_members(app: &App, table: &TableMeta, tell: Tell<'_>, except: Option<&str>) {
    let Tell {
        members,
        removed,
        generation,
    } = tell;
    let request = json!({"table": table.name(), "members": members, "removed": removed,
        "from": app.config.region, "generation": generation});
    // A JSON value of strings always serializes.
    let body = Bytes::from(json_out::to_vec(&request).unwrap_or_default());
    for replica in made_replicas(table) {
        if Some(replica.region.as_str()) == except {
            continue;
        }
        let told = Told {
            table_uuid: table.table_uuid.clone(),
            region: replica.region.clone(),
        };
        let (generation, was_pending) = told.supersede();
        let url = endpoint(app, &replica);
        match peer::post::<serde_json::Value>(app, &url, "members", body.clone()).await {
            Err(e) if e.may_pass() => {
                tracing::warn!(table = %table.name(), region = %replica.region, error = %e,
                    "cannot tell a replica about a membership change: telling it again");
                told.keep_trying(app, generation, Call::Members, url, body.clone())
                    .await;
            }
            answer => {
                if let Err(e) = answer {
                    tracing::warn!(table = %table.name(), region = %replica.region, error = %e,
                        "a replica refused a membership change");
                }
                // An older tell still being tried is over too: this one said more.
                if told.done(generation) && was_pending {
                    told.keep(&app.storage, None).await;
                }
            }
        }
    }
}

/// Takes up again the tells a restart interrupted (see the module docs).
pub async fn resume(app: Arc<App>) {
    let kept = match app.storage.list_meta(PENDING_PREFIX) {
        Ok(kept) => kept,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the membership changes still to tell");
            return;
        }
    };
    for (key, value) in kept {
        let destination = key
            .strip_prefix(PENDING_PREFIX)
            .and_then(|k| k.split_once('/'));
        let (Some((uuid, region)), Ok(pending)) =
            (destination, serde_json::from_slice::<Pending>(&value))
        else {
            tracing::error!(key, "a membership change to tell does not parse: dropped");
            let _ = app.storage.put_meta(&key, None).await;
            continue;
        };
        let told = Told {
            table_uuid: uuid.to_string(),
            region: region.to_string(),
        };
        let (generation, _) = told.supersede();
        let body = Bytes::from(pending.body.into_bytes());
        told.retry_later(&app, generation, pending.call, pending.url, body);
    }
}

/// Asks region `region`'s store, at `url`, to act on its replica of `table` in the
/// background until it answers (see the module docs): `Call::Delete` when the replica
/// left the global table while that store could not be reached, `Call::Withdraw` when it
/// was removed before it was known to be made there (`request` is the call's body). Kept
/// before it returns, so a restart of this store does not forget it. A newer tell to the
/// region (the replica added again) supersedes it.
pub(super) async fn call_later(
    app: &App,
    table: &TableMeta,
    region: &str,
    call: Call,
    url: String,
    request: &serde_json::Value,
) {
    let told = Told {
        table_uuid: table.table_uuid.clone(),
        region: region.to_string(),
    };
    let (generation, _) = told.supersede();
    let body = Bytes::from(json_out::to_vec(request).unwrap_or_default());
    told.keep_trying(app, generation, call, url, body).await;
}

/// Whether a call to region `region`'s replica of `table` is still being tried (say the
/// withdrawal of an earlier addition of it, not yet taken there).
pub(super) fn still_calling(table: &TableMeta, region: &str) -> bool {
    let told = Told {
        table_uuid: table.table_uuid.clone(),
        region: region.to_string(),
    };
    latest().lock().contains_key(&told)
}

/// One region's replica of one table, as a destination of membership tells.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Told {
    table_uuid: String,
    region: String,
}

/// The latest tell to each destination still being tried (by generation number).
fn latest() -> &'static Mutex<HashMap<Told, u64>> {
    static LATEST: OnceLock<Mutex<HashMap<Told, u64>>> = OnceLock::new();
    LATEST.get_or_init(Default::default)
}

impl Told {
    /// Makes a new tell the latest to this destination (older ones still retrying stop)
    /// and returns its generation. Generations are never given twice, to any destination:
    /// a destination forgotten once told must not let an older retry pass for the latest.
    /// Whether an older tell to it was still being tried comes with it.
    fn supersede(&self) -> (u64, bool) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let generation = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let older = latest().lock().insert(self.clone(), generation);
        (generation, older.is_some())
    }

    /// Whether the tell of `generation` is still the latest to this destination.
    fn is_latest(&self, generation: u64) -> bool {
        latest().lock().get(self) == Some(&generation)
    }

    /// The tell of `generation` is over; forgets the destination unless a newer one is on,
    /// and says whether it did.
    fn done(&self, generation: u64) -> bool {
        let mut latest = latest().lock();
        let was_latest = latest.get(self) == Some(&generation);
        if was_latest {
            latest.remove(self);
        }
        was_latest
    }

    /// Keeps `pending` as the tell to this destination still being tried (`None`: none).
    /// A failure to keep it costs only the retry after a restart, so it is logged.
    async fn keep(&self, storage: &Storage, pending: Option<&Pending>) {
        let key = format!("{PENDING_PREFIX}{}/{}", self.table_uuid, self.region);
        let value = pending.map(|p| serde_json::to_vec(p).unwrap_or_default());
        if let Err(e) = storage.put_meta(&key, value).await {
            tracing::warn!(region = %self.region, error = %e,
                "cannot keep a membership change to tell again");
        }
    }

    /// Keeps the tell of `generation` (`call` with `body` to `url`) and starts trying it
    /// again in the background.
    async fn keep_trying(self, app: &App, generation: u64, call: Call, url: String, body: Bytes) {
        let pending = Pending {
            url: url.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            call,
        };
        self.keep(&app.storage, Some(&pending)).await;
        self.retry_later(app, generation, call, url, body);
    }

    /// Starts trying the tell of `generation` again in the background ([`Told::retry`]).
    fn retry_later(self, app: &App, generation: u64, call: Call, url: String, body: Bytes) {
        let secret = app.config.cluster_secret.clone();
        let storage = Arc::clone(&app.storage);
        tokio::spawn(async move {
            self.retry(generation, secret, call, url, body, storage)
                .await
        });
    }

    /// Tries the tell of `generation` again until it is answered, superseded or too old;
    /// then forgets it, in `storage` too, unless a newer tell took its place.
    async fn retry(
        self,
        generation: u64,
        secret: Option<String>,
        call: Call,
        url: String,
        body: Bytes,
        storage: Arc<Storage>,
    ) {
        let started = Instant::now();
        let mut wait = RETRY_FIRST_WAIT;
        loop {
            tokio::time::sleep(wait).await;
            if !self.is_latest(generation) {
                return;
            }
            let answer = peer::post_with_secret::<serde_json::Value>(
                secret.as_deref(),
                &url,
                call.action(),
                body.clone(),
            )
            .await;
            let action = call.action();
            match answer {
                Ok(_) => tracing::info!(region = %self.region, action,
                    "a replica's store took a call tried again"),
                // A delete's 404 too: the table is gone (by hand, or by an earlier try
                // whose answer was lost).
                Err(e) if !e.may_pass() && !e.table_busy() => {
                    tracing::warn!(region = %self.region, action,
                    error = %e, "a replica's store refused a call tried again")
                }
                Err(e) if started.elapsed() >= RETRY_FOR => tracing::warn!(region = %self.region,
                    action, error = %e, "gave up a call to a replica's store that never answered"),
                Err(_) => {
                    wait = (wait * 2).min(RETRY_MAX_WAIT);
                    continue;
                }
            }
            if self.done(generation) {
                self.keep(&storage, None).await;
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn told(region: &str) -> Told {
        Told {
            table_uuid: "uuid-1".into(),
            region: region.into(),
        }
    }

    #[test]
    fn a_newer_tell_supersedes_an_older_one_to_the_same_replica_only() {
        let (a, b) = (told("tell-test-a"), told("tell-test-b"));
        let (first, _) = a.supersede();
        let (other, _) = b.supersede();
        assert!(a.is_latest(first));
        let (second, was_pending) = a.supersede();
        assert!(was_pending);
        assert!(!a.is_latest(first));
        assert!(a.is_latest(second));
        assert!(b.is_latest(other));
        // An older tell ending does not forget the newer one.
        assert!(!a.done(first));
        assert!(a.is_latest(second));
        assert!(a.done(second));
        assert!(!a.is_latest(second));
        // Told again once forgotten: the oldest retry still does not pass for the latest.
        let (third, was_pending) = a.supersede();
        assert!(!was_pending);
        assert!(!a.is_latest(first));
        assert!(a.is_latest(third));
    }

    #[test]
    fn a_kept_call_says_what_it_asks_and_old_ones_are_membership_tells() {
        let old: Pending = serde_json::from_str(r#"{"url":"http://h:1","body":"{}"}"#).unwrap();
        assert_eq!(old.call, Call::Members);
        let kept = Pending {
            url: "http://h:1".into(),
            body: "{}".into(),
            call: Call::Delete,
        };
        let again: Pending = serde_json::from_slice(&serde_json::to_vec(&kept).unwrap()).unwrap();
        assert_eq!((again.call, again.call.action()), (Call::Delete, "delete"));
        // A store from before withdrawals answers theirs 404: nothing is deleted there.
        assert_eq!(Call::Withdraw.action(), "withdraw");
    }
}
