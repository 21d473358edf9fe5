//! The internal endpoints other regions' stores call: `POST /internal/replication/ACTION`
//! with the cluster secret, where ACTION is
//! - `create`: create a replica of a table here, given its definition and the members;
//! - `members`: the replicas of a table are now these (one was added or removed);
//! - `update`: a change of the global table's indexes or capacity made in another region;
//! - `overrides`: this region's replica has reads or a table class of its own;
//! - `ttl`: the global table's TTL setting was changed in another region;
//! - `delete`: this region's replica is removed from its global table: delete it;
//! - `withdraw`: an addition of a replica here is withdrawn before the adding region knew
//!   it was made: delete the table if that addition made it, and make it never after;
//! - `apply`: changes made elsewhere, to apply by last writer wins;
//! - `ready`: this region's new replica has its copy of the table: it serves clients.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use shared::model::{Item, PrimaryKey};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::create_table::CreateTableInput;
use shared::wire::ops::update_table::UpdateTableInput;

use super::overrides::Overrides;
use super::{
    replicas, set_replicas, Member, Replica, ReplicaStatus, ShippedChange, CHANGES_APPLIED_TOTAL,
    CHANGES_SUPERSEDED_TOTAL,
};
use crate::api::item_write::{write_units, WriteAction, WritePlan, WriteUnits};
use crate::api::Asker;
use crate::app::App;
use crate::catalog::{TableMeta, TableStatus};
use crate::error;
use crate::server::{internal_request, json_response, Server};
use crate::storage::Version;
use crate::throttle::Owed;
use crate::ttl::TtlSetting;

/// The largest body an internal replication call may have. Shippers keep calls near 4 MiB
/// (`ship::MAX_CALL_BYTES`), but one change alone may be a 400 KB item rendered as JSON.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The answer (404) to an action this store does not know: a store from before it.
pub const NO_SUCH_ACTION: &str = "no such replication action";

#[derive(Debug, Deserialize)]
pub struct CreateReplica {
    pub definition: CreateTableInput,
    /// Every region of the global table, this one included.
    pub members: Vec<Member>,
    /// What this region's replica has of its own.
    #[serde(default)]
    pub overrides: Overrides,
    /// The global table's TTL setting, if it ever had one.
    #[serde(default)]
    pub ttl: Option<TtlSetting>,
    /// Which addition asks (`super::origin`); absent from stores that made replicas
    /// within UpdateTable, which never ask twice.
    #[serde(default)]
    pub origin: Option<String>,
    /// The region that adds the replica (absent from stores before it was sent).
    #[serde(default)]
    pub from: Option<String>,
    /// The removals the adding region knows (`super::order`; absent from stores before
    /// members were stamped): a member it lists that was removed before is not taken.
    #[serde(default)]
    pub removed: Option<BTreeMap<String, u64>>,
}

#[derive(Debug, Deserialize)]
pub struct SetTtl {
    pub table: String,
    pub ttl: Option<TtlSetting>,
}

#[derive(Debug, Deserialize)]
pub struct SetOverrides {
    pub table: String,
    pub overrides: Overrides,
}

#[derive(Debug, Deserialize)]
pub struct Members {
    pub table: String,
    /// Every region of the global table; this one too, unless it is leaving.
    pub members: Vec<Member>,
    /// The region that tells, and the generation of its list (`super::order`). Absent
    /// from stores before tells were ordered: taken whatever came before.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub generation: Option<u64>,
    /// The removals the teller knows (region -> when removed, `super::order`). Absent
    /// from stores before members were stamped: a member the list leaves out is gone.
    #[serde(default)]
    pub removed: Option<BTreeMap<String, u64>>,
}

#[derive(Debug, Deserialize)]
pub struct DeleteReplica {
    pub table: String,
    /// A withdrawal, as stores sent it before `withdraw` was its own action.
    #[serde(default)]
    pub origin: Option<String>,
    /// When the replica removed was added (`Replica::added`; absent from stores before
    /// members were stamped): a replica added here since is not the one removed.
    #[serde(default)]
    pub added: Option<u64>,
    /// The removal is made already (this is its delete tried again, the region's store
    /// having been out of reach): a replica whose deletion is refused for good (deletion
    /// protection) leaves the global table all the same, a regional table.
    #[serde(default)]
    pub left: bool,
}

#[derive(Debug, Deserialize)]
pub struct Withdraw {
    pub table: String,
    /// The addition withdrawn (`super::origin`): the region that asks never knew whether
    /// its call to make the table arrived.
    pub origin: String,
}

#[derive(Debug, Deserialize)]
pub struct Ready {
    pub table: String,
    /// The addition whose replica has its copy (`super::origin`).
    pub origin: String,
}

#[derive(Debug, Deserialize)]
pub struct Apply {
    pub table: String,
    /// The region whose store sends the changes.
    pub from: String,
    /// Where that store is reached now (its advertised URL; absent from stores before it
    /// was sent): a store back on another address is shipped to there from then on.
    #[serde(default)]
    pub at: Option<String>,
    pub changes: Vec<ShippedChange>,
}

pub async fn handle(
    State(server): State<Arc<Server>>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let app = &server.app;
    match action.as_str() {
        "create" => answer(&server, &headers, &body, |r| create(app, r)).await,
        "members" => answer(&server, &headers, &body, |r| members(Arc::clone(app), r)).await,
        "delete" => answer(&server, &headers, &body, |r| delete(app, r)).await,
        "withdraw" => answer(&server, &headers, &body, |r| withdraw(app, r)).await,
        "update" => answer(&server, &headers, &body, |r| update(app, r)).await,
        "overrides" => answer(&server, &headers, &body, |r| set_overrides(app, r)).await,
        "ttl" => answer(&server, &headers, &body, |r| set_ttl(app, r)).await,
        "apply" => answer(&server, &headers, &body, |r| apply(Arc::clone(app), r)).await,
        "ready" => answer(&server, &headers, &body, |r| ready(app, r)).await,
        _ => error::plain(StatusCode::NOT_FOUND, "text/plain", NO_SUCH_ACTION),
    }
}

/// Runs `act` on the request once its secret is checked and its body parsed.
async fn answer<T, F>(
    server: &Server,
    headers: &HeaderMap,
    body: &[u8],
    act: impl FnOnce(T) -> F,
) -> Response<Body>
where
    T: DeserializeOwned,
    F: Future<Output = Outcome>,
{
    let request = match internal_request(server, headers, body) {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    match act(request).await {
        Ok(answer) => json_response(&answer),
        Err((status, message)) => error::plain(status, "text/plain", message),
    }
}

type Outcome = Result<serde_json::Value, (StatusCode, String)>;

/// An API error as the refusal of an internal call (its message is the API's own).
fn refusal(status: StatusCode) -> impl Fn(ApiError) -> (StatusCode, String) {
    move |e| {
        (
            status,
            e.message.unwrap_or_else(|| e.code.name().to_string()),
        )
    }
}

/// Makes a replica here. Asked again by the same addition (its answer was lost), it
/// finishes what the first call may not have and answers the same; a table of the name
/// that another made is refused, and so is an addition withdrawn already.
async fn create(app: &App, request: CreateReplica) -> Outcome {
    let name = request.definition.table_name.clone().unwrap_or_default();
    if let Some(origin) = &request.origin {
        check_addition(&name, origin)?;
    }
    // One at a time with a withdrawal of the name: a withdrawal finds the table made, or
    // none and no call making it.
    let _turn = MAKING.take(&name).await;
    if let Some(origin) = &request.origin {
        let withdrawn =
            super::withdrawn::is_withdrawn(&app.storage, &name, origin, shared::clock::now_secs())
                .map_err(|e| unavailable(format!("cannot read withdrawn additions: {e}")))?;
        if withdrawn {
            return Err((
                StatusCode::CONFLICT,
                format!("The addition of replica {name} here was withdrawn"),
            ));
        }
    }
    let removed_here = app
        .catalog
        .get(&name)
        .is_some_and(|table| removed_since_added(app, &table, request.removed.as_ref()));
    if removed_here {
        take_over(app, &name).await?;
    }
    let start_seq = crate::api::create_table::current_seq(app);
    match app.catalog.get(&name) {
        Some(table) if request.origin.is_some() && super::made_by(&table) == request.origin => {}
        Some(_) => {
            return Err((
                StatusCode::CONFLICT,
                format!(
                    "Table already exists in region {}: {name}",
                    app.config.region
                ),
            ))
        }
        None => {
            // The origin is in the table from the start: a withdrawal never finds it
            // without. The table is CREATING, serving no client, until the adding region
            // has copied every item to it (`ready`): a client would see part of the
            // table, and a delete of an item not yet copied would be undone by the copy.
            // Stores that send no origin make their replicas within UpdateTable, and
            // never say `ready`.
            let mut settings = crate::catalog::meta::Settings::new();
            let status = match request.origin {
                Some(origin) => {
                    super::set_origin(&mut settings, origin);
                    TableStatus::Creating
                }
                None => TableStatus::Active,
            };
            crate::api::create_table::create_with(app, request.definition, status, settings)
                .await
                .map_err(change_refusal)?;
        }
    }
    if let Err(refused) = apply_overrides(app, &name, &request.overrides).await {
        // A replica that cannot have what it was asked to have (its reads past this
        // region's quota, say) is not made at all: the table, not yet global, goes.
        if let Err(e) = crate::api::delete_table::delete(app, &name, Asker::OtherRegion).await {
            tracing::warn!(error = ?e, "cannot remove a replica refused its overrides");
        }
        return Err(refused);
    }
    let ttl = SetTtl {
        table: name.clone(),
        ttl: request.ttl,
    };
    set_ttl(app, ttl).await?;
    let told = Told {
        by: None,
        removed: request.removed.as_ref(),
    };
    set_members(app, &name, &request.members, start_seq, told).await?;
    if let Some(table) = app.catalog.get(&name) {
        app.waiting.made(&table, request.from.as_deref());
    }
    Ok(json!({}))
}

/// Deletes this region's replica of an earlier addition, removed while this store could
/// not take its delete, for a new addition: as that delete would (deletion protection
/// refuses both). That delete itself may be under way here (the table being updated,
/// 409): waited for, up to [`TAKE_OVER_WAIT`], after which the table is gone; a delete
/// still under way then (a disk that stalls its journal sync) is answered 503, which the
/// adding region tries again (a 409 it would take for good).
async fn take_over(app: &App, name: &str) -> Result<(), (StatusCode, String)> {
    let deadline = tokio::time::Instant::now() + TAKE_OVER_WAIT;
    loop {
        match delete_replica(app, name.to_string()).await {
            Ok(_) | Err((StatusCode::NOT_FOUND, _)) => return Ok(()),
            Err((StatusCode::CONFLICT, why)) => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(unavailable(why));
                }
                tokio::time::sleep(TAKE_OVER_POLL).await;
            }
            Err(refused) => return Err(refused),
        }
    }
}

/// How long a take-over waits for another delete of the table under way here: a delete
/// is one catalog step and a journal sync.
const TAKE_OVER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
const TAKE_OVER_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Whether `table` is this region's replica of an addition that `removed` (the removals
/// the adding region knows) removed since: a table with no addition stamp (a regional
/// table, or a replica made before stamps) is never one.
fn removed_since_added(
    app: &App,
    table: &TableMeta,
    removed: Option<&BTreeMap<String, u64>>,
) -> bool {
    let added = super::own_added(table);
    added > 0
        && removed.is_some_and(|removed| {
            super::order::removed_at_or_after(removed, &app.config.region, added)
        })
}

/// Gives this region's replica the global table's TTL setting, as changed elsewhere (the
/// change was checked there: its interval rule included).
async fn set_ttl(app: &App, request: SetTtl) -> Outcome {
    let Some(setting) = request.ttl else {
        return Ok(json!({}));
    };
    app.catalog
        .update(&app.storage, &request.table, |table| {
            crate::ttl::keep_setting(table, &setting)
        })
        .await
        .map_err(change_refusal)?;
    Ok(json!({}))
}

async fn set_overrides(app: &App, request: SetOverrides) -> Outcome {
    apply_overrides(app, &request.table, &request.overrides).await?;
    Ok(json!({}))
}

/// Gives this region's replica of table `name` what it has of its own.
async fn apply_overrides(
    app: &App,
    name: &str,
    overrides: &Overrides,
) -> Result<(), (StatusCode, String)> {
    if overrides.is_empty() {
        return Ok(());
    }
    let now = shared::clock::now_seconds();
    app.catalog
        .update(&app.storage, name, |table| {
            overrides.apply_to(table, now);
            super::set_own_overrides(&mut table.settings, overrides.clone());
            Ok(())
        })
        .await
        .map(|_| ())
        .map_err(refusal(StatusCode::BAD_REQUEST))
}

async fn members(app: Arc<App>, request: Members) -> Outcome {
    let start_seq = crate::api::create_table::current_seq(&app);
    let told = Told {
        by: request.from.as_deref().zip(request.generation),
        removed: request.removed.as_ref(),
    };
    let changed = set_members(&app, &request.table, &request.members, start_seq, told).await?;
    // Passed on when it changed the replicas here: a region added after the teller told
    // its removals (or that the teller never knew) hears of them from the regions that
    // did. Each tell passed on carries something new to someone, so it ends.
    if changed && told.removed.is_some() {
        if let Some(table) = app.catalog.get(&request.table) {
            tokio::spawn(async move { super::control::tell_all(&app, &table, None).await });
        }
    }
    Ok(json!({}))
}

/// Who told a membership list, and what of removals: the region and the generation of
/// its list (absent from stores before tells were ordered, and in the call making a
/// replica), and the removals it knows (absent from stores before members were stamped).
#[derive(Default, Clone, Copy)]
struct Told<'a> {
    by: Option<(&'a str, u64)>,
    removed: Option<&'a BTreeMap<String, u64>>,
}

/// Takes `members` (but this region) as replicas of table `name`: the ones it had keep
/// their state and place in the log (at the address given now), new ones get this store's
/// changes from `start_seq` on (what came before reaches them in the copy the adding
/// region makes). A member removed at or after its addition is not taken (`super::order`).
/// A replica the list leaves out stays, unless removed since it was added, when the
/// teller stamps its members (it may not know of it yet); else it is gone. Replicas this
/// region is adding, or failed to, stay, unless told as members (another region's
/// addition made them): no other region knows of them. A list told by a region (with its
/// generation) that is older than one it told before is not taken.
async fn set_members(
    app: &App,
    name: &str,
    members: &[Member],
    start_seq: u64,
    told: Told<'_>,
) -> Result<bool, (StatusCode, String)> {
    let own = &app.config.region;
    let mut changed = false;
    app.catalog
        .update(&app.storage, name, |table| {
            if let Some((from, generation)) = told.by {
                if !super::order::hear(&mut table.settings, from, generation) {
                    tracing::debug!(
                        table = name,
                        from,
                        generation,
                        "an older membership tell arrived after a newer one: not taken"
                    );
                    return Ok(());
                }
            }
            if let Some(removed) = told.removed {
                super::order::record_removals(&mut table.settings, removed);
            }
            // A member a store from before stamps tells of was added by then.
            let added = |m: &Member| m.added.unwrap_or(told.by.map_or(0, |(_, g)| g));
            let settings = &table.settings;
            let current = replicas(table);
            let next = members
                .iter()
                .filter(|m| &m.region != own)
                .filter(|m| super::order::stands(settings, &m.region, added(m)))
                .map(|m| {
                    // This region's own addition of a member another region added, one
                    // that failed or is still to be made, is over: one table of the name
                    // is made there, and it is the other addition's (so ours is refused
                    // there, and would otherwise show CREATION_FAILED for good).
                    let known = current
                        .iter()
                        .find(|r| r.region == m.region)
                        .filter(|r| r.is_made());
                    match known {
                        // A replica that moved keeps its place in the log: its worker
                        // resumes there, at the new address. A teller that knows no
                        // overrides of it leaves the ones known here.
                        Some(r) => Replica {
                            endpoint: m.endpoint.clone(),
                            overrides: if m.overrides.is_empty() {
                                r.overrides.clone()
                            } else {
                                m.overrides.clone()
                            },
                            added: r.added.max(added(m)),
                            ..r.clone()
                        },
                        None => Replica {
                            region: m.region.clone(),
                            endpoint: m.endpoint.clone(),
                            status: ReplicaStatus::Active,
                            start_seq,
                            overrides: m.overrides.clone(),
                            unmade: false,
                            failure: None,
                            addition: None,
                            added: added(m),
                            pending: Vec::new(),
                        },
                    }
                })
                .collect::<Vec<_>>();
            let named = |r: &Replica| next.iter().any(|n| n.region == r.region);
            let unnamed = current
                .iter()
                .filter(|r| told.removed.is_some() && r.is_made() && !named(r))
                .filter(|r| super::order::stands(settings, &r.region, r.added))
                .cloned()
                .collect::<Vec<_>>();
            let adding = current
                .iter()
                .filter(|r| !r.is_made() && !named(r))
                .cloned()
                .collect::<Vec<_>>();
            let own_added = members
                .iter()
                .find(|m| &m.region == own)
                .and_then(|m| m.added);
            let made = |replicas: &[Replica]| {
                let mut regions: Vec<String> = replicas
                    .iter()
                    .filter(|r| r.is_made())
                    .map(|r| r.region.clone())
                    .collect();
                regions.sort();
                regions
            };
            let kept = [next, unnamed, adding].concat();
            changed = made(&current) != made(&kept);
            set_replicas(&mut table.settings, kept);
            // Said by the region adding this one, in the call making it.
            if let (None, Some(added), true) = (told.by, own_added, super::is_global(table)) {
                super::set_own_added(&mut table.settings, added);
            }
            Ok(())
        })
        .await
        .map(|_| changed)
        .map_err(refusal(StatusCode::NOT_FOUND))
}

async fn update(app: &App, request: UpdateTableInput) -> Outcome {
    crate::api::update_table::update_here(app, &request, crate::api::Asker::OtherRegion)
        .await
        .map_err(change_refusal)?;
    Ok(json!({}))
}

async fn delete(app: &App, request: DeleteReplica) -> Outcome {
    if let Some(origin) = request.origin {
        let request = Withdraw {
            table: request.table,
            origin,
        };
        return withdraw(app, request).await;
    }
    // A delete tried again in the background may arrive after the region was added again
    // (its store was down when it was removed): the replica here now is another addition,
    // and that removal is done as far as it goes (404).
    let later = app.catalog.get(&request.table).filter(|table| {
        request
            .added
            .is_some_and(|removed| super::own_added(table) > removed)
    });
    if later.is_some() {
        return Err((
            StatusCode::NOT_FOUND,
            format!(
                "The replica of {} removed is gone: this one was added since",
                request.table
            ),
        ));
    }
    let refused = match delete_replica(app, request.table.clone()).await {
        Err((StatusCode::BAD_REQUEST, why)) if request.left => (StatusCode::BAD_REQUEST, why),
        answer => return answer,
    };
    // The other regions no longer count it a replica: it stops shipping to them.
    set_members(app, &request.table, &[], 0, Told::default()).await?;
    tracing::warn!(table = %request.table,
        "removed from its global table while out of reach, and not deleted (deletion protection): a regional table now");
    Err(refused)
}

/// Withdraws an addition: kept first, so that no call making its table after this one
/// does; then its table, if it made the table here, is deleted. A table of the name that
/// another made stays (404).
async fn withdraw(app: &App, request: Withdraw) -> Outcome {
    check_addition(&request.table, &request.origin)?;
    let _turn = MAKING.take(&request.table).await;
    super::withdrawn::record(
        &app.storage,
        &request.table,
        &request.origin,
        shared::clock::now_secs(),
    )
    .await
    .map_err(|e| unavailable(format!("cannot keep the withdrawal: {e}")))?;
    let Some(table) = app.catalog.get(&request.table) else {
        return Ok(json!({}));
    };
    if super::made_by(&table).as_ref() != Some(&request.origin) {
        return Err((
            StatusCode::NOT_FOUND,
            format!("No replica {} of that addition here", request.table),
        ));
    }
    delete_replica(app, request.table).await
}

async fn delete_replica(app: &App, name: String) -> Outcome {
    let _turn = super::deletion_turn(&name).map_err(delete_refusal)?;
    // One step, checked and done under the catalog's lock: a change made here meanwhile
    // (a replica this region adds) either refuses the delete or finds the table gone.
    // Emptying the replica list first, as a step of its own, left a replica whose delete
    // was then refused following only the regions added meanwhile: the global table split.
    crate::api::delete_table::delete(app, &name, Asker::OtherRegion)
        .await
        .map_err(delete_refusal)?;
    Ok(json!({}))
}

/// How a refused delete of a replica is answered: a table already gone with 404, which
/// the removing region takes as done; one being changed here (ResourceInUseException)
/// with 409, which keeps the replica in the global table, and which a removal trying its
/// delete again in the background tries later; any other refusal with 400, which keeps
/// the replica.
fn delete_refusal(e: ApiError) -> (StatusCode, String) {
    let status = match e.code {
        ErrorCode::ResourceNotFoundException => StatusCode::NOT_FOUND,
        ErrorCode::ResourceInUseException => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    refusal(status)(e)
}

/// The adding region has copied every item to this region's replica made by addition
/// `origin`: it serves clients from now on. Said again (the answer was lost, or the
/// adding store restarted and copied again), it answers the same.
async fn ready(app: &App, request: Ready) -> Outcome {
    check_addition(&request.table, &request.origin)?;
    let table = app
        .catalog
        .update(&app.storage, &request.table, |table| {
            if super::made_by(table).as_ref() != Some(&request.origin) {
                return Err(ApiError::table_not_found(&request.table));
            }
            if table.status == TableStatus::Creating {
                table.status = TableStatus::Active;
            }
            Ok(())
        })
        .await
        .map_err(refusal(StatusCode::NOT_FOUND))?;
    app.waiting.done(&table);
    Ok(json!({}))
}

/// The turns of table names to be made or withdrawn here: one call at a time per name.
static MAKING: super::turns::Turns = super::turns::Turns::new();

/// Longer than any addition's origin (`super::origin`: a table UUID and an addition id).
const MAX_ORIGIN_BYTES: usize = 128;

/// Refuses, for good (400), an addition no store sends: a table name DynamoDB would not
/// take, or an origin no addition has. Either would only fail again when kept (an engine
/// key too long), and a failure that may pass (503) is asked again for an hour.
fn check_addition(table: &str, origin: &str) -> Result<(), (StatusCode, String)> {
    crate::api::describe_table::checked_table_name(Some(table))
        .map_err(refusal(StatusCode::BAD_REQUEST))?;
    if origin.is_empty() || origin.len() > MAX_ORIGIN_BYTES {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("Not the origin of an addition: {} bytes", origin.len()),
        ));
    }
    Ok(())
}

/// A failure here that may pass: the asking region tries again.
fn unavailable(message: String) -> (StatusCode, String) {
    (StatusCode::SERVICE_UNAVAILABLE, message)
}

/// How a refused CreateTable of a replica, or change of one, is answered: a failure that
/// may pass (a fault here, throttling, the table being made, changed or deleted meanwhile:
/// a GSI still backfilling) with 503, which the asking region tries again; a refusal it
/// would only meet again (the definition, a quota of this region: LimitExceededException
/// here is only ever a quota) with 400, which makes a replica being created
/// CREATION_FAILED and ends a change.
fn change_refusal(e: ApiError) -> (StatusCode, String) {
    let status = match e.code {
        ErrorCode::InternalServerError | ErrorCode::ResourceInUseException => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        code if code.is_throttling() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    refusal(status)(e)
}

/// Applies the changes, different items' side by side (concurrent writes share journal
/// syncs), one item's in the order sent: each decides under its item's lock by its
/// version, so the last write wins whatever order changes arrive in, and in order every
/// one of an item's changes applies, as a write made here would, rather than a newer one
/// that took the lock first leaving the older superseded, missing from this region's
/// stream, triggers and Kinesis destinations.
async fn apply(app: Arc<App>, request: Apply) -> Outcome {
    // A replica still waiting for its copy (CREATING) takes changes too: the copy is
    // made of them, and other regions ship theirs from the moment they learn of it.
    // Tables being restored or imported are no replicas: refused below.
    let table = app
        .catalog
        .table_for_control(&request.table)
        .map_err(refusal(StatusCode::NOT_FOUND))?;
    app.waiting.sent(&table, &request.from);
    // One whose region refused to make it has no table there to send from.
    let sender = replicas(&table)
        .into_iter()
        .find(|r| r.region == request.from);
    let Some(sender) = sender.filter(|r| r.status != ReplicaStatus::CreationFailed) else {
        return Err((
            StatusCode::FORBIDDEN,
            format!(
                "{} is not a replica of {} here",
                request.from, request.table
            ),
        ));
    };
    if let Some(at) = &request.at {
        follow_move(&app, &table, &sender, at).await;
    }
    // Replicated writes take the table's write capacity here, as in DynamoDB: with none
    // left the sender backs off and retries, and replication lags rather than this
    // region's own writes failing for good. So do its GSIs': which ones a change reaches
    // is known only as it applies, so a GSI out of capacity holds back the whole call.
    let gsis: Vec<(String, f64)> = table
        .global_indexes
        .iter()
        .map(|i| (i.name.clone(), 0.0))
        .collect();
    let admitted = crate::throttle::admit_write(&table)
        .and_then(|()| crate::throttle::admit_index_writes(&table, &gsis, &Owed::NONE));
    if admitted.is_err() {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} has no write capacity left for replicated writes",
                request.table
            ),
        ));
    }
    // Every change is checked before any applies.
    let schema = &table.layout.schema;
    let mut keyed = Vec::with_capacity(request.changes.len());
    for change in request.changes {
        let key = schema.key_of_stored(&change.keys);
        let item_key = change.item.as_ref().map(|i| schema.key_of_stored(i));
        match key {
            Some(key) if item_key.is_none_or(|k| k.as_ref() == Some(&key)) => {
                keyed.push((key, change))
            }
            _ => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "a change without its key, or with an item of another key".to_string(),
                ))
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (key, changes) in by_item(keyed) {
        let (app, table) = (Arc::clone(&app), Arc::clone(&table));
        tasks.spawn(async move {
            // Charged as the same write made here would be: by the larger of the item
            // it replaces and the new one, and each index entry it changes.
            let plan = WritePlan::new(&table, &key, WriteAction::Delete);
            let mut outcomes = Vec::with_capacity(changes.len());
            for change in changes {
                let version = Version {
                    time_ms: change.time_ms,
                    region: change.region,
                };
                let measure = |old: Option<&Item>, new: Option<&Item>| write_units(&plan, old, new);
                let outcome = app
                    .storage
                    .apply_replicated(&table.layout, &key, change.item, &version, measure)
                    .await;
                // A later change applied after a failed one would leave it superseded
                // when the sender sends the call again.
                let failed = outcome.is_err();
                outcomes.push(outcome);
                if failed {
                    break;
                }
            }
            outcomes
        });
    }
    let (mut applied, mut superseded, mut failed) = (0u64, 0u64, false);
    let mut units = WriteUnits::default();
    while let Some(outcomes) = tasks.join_next().await {
        let outcomes = match outcomes {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::error!(error = %e, table = %request.table, "a replicated change's task failed");
                failed = true;
                continue;
            }
        };
        for outcome in outcomes {
            match outcome {
                Ok(Some(consumed)) => {
                    applied += 1;
                    units.add(consumed);
                }
                Ok(None) => superseded += 1,
                Err(e) => {
                    tracing::error!(error = %e, table = %request.table, "cannot apply a replicated change");
                    failed = true;
                }
            }
        }
    }
    crate::throttle::charge_write(&table, units.on_table(), &units.global);
    let scope = crate::owned_metrics::Scope::table(&table);
    let series = &app.owned_metrics;
    series
        .counter(&scope, CHANGES_APPLIED_TOTAL)
        .increment(applied);
    series
        .counter(&scope, CHANGES_SUPERSEDED_TOTAL)
        .increment(superseded);
    if failed {
        // The sender sends them all again; the ones applied now are superseded then.
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "cannot apply the changes now".to_string(),
        ));
    }
    Ok(json!({"applied": applied, "superseded": superseded}))
}

/// Keeps `at` as where `sender`'s region is reached, if it moved there (a store restarted
/// on another port or host): its changes were shipped to its old address for good, since
/// only a change of the replicas tells an address. An address this store's
/// `--region-endpoints` names for the region stands (`super::endpoint`).
async fn follow_move(app: &App, table: &TableMeta, sender: &Replica, at: &str) {
    if sender.endpoint == at || super::configured(app, &sender.region).is_some() {
        return;
    }
    let Ok(at) = super::parse_url("the sender's address", at) else {
        return;
    };
    let moved = super::change_replicas(
        app,
        table.name(),
        |r| r.is(sender),
        |r| r.endpoint = at.clone(),
    )
    .await;
    match moved {
        Ok(_) => tracing::info!(table = %table.name(), region = %sender.region, endpoint = %at,
            "a replica's region is reached at a new address"),
        Err(e) => tracing::warn!(table = %table.name(), region = %sender.region, error = ?e,
            "cannot keep a replica's new address"),
    }
}

/// `changes` grouped by item, each item's in the order given, items in the order they
/// first appear.
fn by_item<C>(changes: Vec<(PrimaryKey, C)>) -> Vec<(PrimaryKey, Vec<C>)> {
    let mut groups: Vec<(PrimaryKey, Vec<C>)> = Vec::new();
    let mut slots: HashMap<PrimaryKey, usize> = HashMap::new();
    for (key, change) in changes {
        match slots.get(&key) {
            Some(&slot) => groups[slot].1.push(change),
            None => {
                slots.insert(key.clone(), groups.len());
                groups.push((key, vec![change]));
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_refused_for_what_may_pass_is_tried_again_and_others_fail_the_replica() {
        let status = |code| change_refusal(ApiError::new(code, "why")).0;
        for passing in [
            ErrorCode::InternalServerError,
            ErrorCode::ThrottlingException,
            ErrorCode::RequestLimitExceeded,
            ErrorCode::ProvisionedThroughputExceededException,
            ErrorCode::ResourceInUseException,
        ] {
            assert_eq!(status(passing), StatusCode::SERVICE_UNAVAILABLE);
        }
        for refused in [
            ErrorCode::ValidationException,
            ErrorCode::LimitExceededException,
        ] {
            assert_eq!(status(refused), StatusCode::BAD_REQUEST);
        }
        assert_eq!(
            change_refusal(ApiError::new(ErrorCode::ValidationException, "bad key")).1,
            "bad key"
        );
    }

    #[test]
    fn changes_group_by_item_in_the_order_sent() {
        let key = |k: &str| PrimaryKey {
            hash: shared::model::AttributeValue::S(k.into()),
            range: None,
        };
        let changes = vec![
            (key("a"), 1),
            (key("b"), 2),
            (key("a"), 3),
            (key("c"), 4),
            (key("a"), 5),
        ];
        assert_eq!(
            by_item(changes),
            vec![
                (key("a"), vec![1, 3, 5]),
                (key("b"), vec![2]),
                (key("c"), vec![4])
            ]
        );
    }
}
