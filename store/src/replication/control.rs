//! Adding and removing replicas: UpdateTable's `ReplicaUpdates`, and what DeleteTable of
//! a replica tells the others.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::clock::now_seconds;
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::create_table::{
    CreateTableInput, GlobalSecondaryIndex, LocalSecondaryIndex, ProvisionedThroughput,
    StreamSpecification, WarmThroughput,
};
use shared::wire::ops::describe_table::WarmThroughputDescription;
use shared::wire::ops::update_table::UpdateTableInput;
use shared::wire::ops::vector::VectorIndex;

use super::order;
use super::outbox;
use super::overrides::Overrides;
use super::peer::{self, PeerError};
use super::tell::{call_later, still_calling, tell_members, Call, Tell};
use super::{
    change_replicas, endpoint, made_replicas, replicas, set_replicas, Member, Replica,
    ReplicaStatus,
};
use crate::app::App;
use crate::catalog::meta::{read_setting, write_setting, Settings};
use crate::catalog::{BillingMode, TableMeta, TableStatus};
use crate::storage::TableStats;
use crate::triggers::dispatch::backoff;

/// The stream view a global table's replicas need: both images of every change.
const STREAM_VIEW: &str = "NEW_AND_OLD_IMAGES";

/// One `ReplicaUpdates` entry: `{Create: {RegionName, ...}}`, `{Update: {...}}`,
/// `{Delete: {RegionName}}` or `{Disassociate: {RegionName, DisassociationMode}}`; the
/// first two with the action's JSON (its overrides).
enum ReplicaUpdate<'a> {
    Create(String, &'a Value),
    Update(String, &'a Value),
    Delete(String),
    Disassociate(String),
}

/// The one `DisassociationMode`: the replica's changes reach the others before it leaves.
const WAIT_FOR_REPLICATION: &str = "WAIT_FOR_REPLICATION";
/// How long a disassociation waits for this region's changes to reach the other replicas
/// before it is refused (a replica's store out of reach holds them back).
const DISASSOCIATION_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Applies UpdateTable's `ReplicaUpdates` (the only change in the request) to table
/// `name`, and returns the table as it now is.
pub async fn update(app: &App, name: &str, updates: &[Value]) -> Result<Arc<TableMeta>, ApiError> {
    let update = parse(updates)?;
    // A removal holds the table's turn from before it reads the table: a deletion of the
    // table here that another region asks for comes wholly before it, or is refused.
    let _turn = match update {
        ReplicaUpdate::Delete(_) | ReplicaUpdate::Disassociate(_) => {
            Some(super::removing::removal(name).await)
        }
        _ => None,
    };
    let table = app.catalog.table_for_control(name)?;
    table.check_created()?;
    match update {
        ReplicaUpdate::Create(region, action) => create(app, &table, &region, action).await,
        ReplicaUpdate::Update(region, action) => {
            update_overrides(app, &table, &region, action).await
        }
        ReplicaUpdate::Delete(region) => delete(app, &table, &region).await,
        ReplicaUpdate::Disassociate(region) => disassociate(app, &table, &region).await,
    }
}

fn parse(updates: &[Value]) -> Result<ReplicaUpdate<'_>, ApiError> {
    let [update] = updates else {
        return Err(ApiError::invalid_parameter(
            "Only one replica update is allowed per UpdateTable request",
        ));
    };
    let region_of = |action: &Value| {
        action["RegionName"]
            .as_str()
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .ok_or_else(|| ApiError::validation("1 validation error detected: Value null at 'replicaUpdates.1.member.regionName' failed to satisfy constraint: Member must not be null"))
    };
    let actions = ["Create", "Update", "Delete", "Disassociate"]
        .into_iter()
        .filter(|a| update.get(a).is_some_and(|v| !v.is_null()))
        .collect::<Vec<_>>();
    match actions[..] {
        ["Create"] => {
            region_of(&update["Create"]).map(|r| ReplicaUpdate::Create(r, &update["Create"]))
        }
        ["Update"] => {
            region_of(&update["Update"]).map(|r| ReplicaUpdate::Update(r, &update["Update"]))
        }
        ["Delete"] => region_of(&update["Delete"]).map(ReplicaUpdate::Delete),
        ["Disassociate"] => {
            let action = &update["Disassociate"];
            let path = "replicaUpdates.1.member.disassociate.disassociationMode";
            match action["DisassociationMode"].as_str() {
                Some(WAIT_FOR_REPLICATION) => region_of(action).map(ReplicaUpdate::Disassociate),
                Some(other) => Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{other}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{WAIT_FOR_REPLICATION}]"
                ))),
                None => Err(ApiError::validation(format!(
                    "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
                ))),
            }
        }
        _ => Err(ApiError::invalid_parameter(
            "A replica update must have exactly one of Create, Update, Delete or Disassociate",
        )),
    }
}

fn find(table: &TableMeta, region: &str) -> Result<Replica, ApiError> {
    replicas(table)
        .into_iter()
        .find(|r| r.region == region)
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "Replica in region {region} does not exist for table {}",
                table.name()
            ))
        })
}

/// A Create replica action: checked here, then recorded CREATING and answered at once.
/// The replica's shipping worker makes its table in its region ([`make`]); until then
/// no other region is told of it.
async fn create(
    app: &App,
    table: &TableMeta,
    region: &str,
    action: &Value,
) -> Result<Arc<TableMeta>, ApiError> {
    if region == app.config.region {
        return Err(ApiError::invalid_parameter(format!(
            "Cannot add a replica of table {} in its own region {region}",
            table.name()
        )));
    }
    check_not_replicated_to(table, region)?;
    // Bulk puts do not support global tables (DynamoDB's rule), nor a table becoming one;
    // the turn is held until the replica is recorded, so a bulk put cannot start between.
    let _turn = app.job_starts.lock().await;
    if crate::transfer::bulk_put::running_on(app, &table.arn)? {
        return Err(ApiError::invalid_parameter(format!(
            "Cannot add a replica of table {} while a bulk put items operation runs on it",
            table.name()
        )));
    }
    if table.enabled_stream().map(|s| s.view_type.as_str()) != Some(STREAM_VIEW) {
        return Err(ApiError::invalid_parameter(format!(
            "Table {} must have DynamoDB Streams enabled with StreamViewType {STREAM_VIEW} to add a replica",
            table.name()
        )));
    }
    let Some(new) = super::configured(app, region).cloned() else {
        return Err(ApiError::invalid_parameter(format!(
            "Region {region} is not available: this store knows no store in it (--region-endpoints)"
        )));
    };
    let overrides = Overrides::default().merged(action, table, now_seconds())?;
    // Versions on before the replica exists: a write it makes can then never win over a
    // newer one made here meanwhile, and every change after `head` has a version.
    let head =
        app.storage
            .set_versioned(table.table_id(), table.schema(), Some(&app.config.region));
    let added = app
        .catalog
        .update(&app.storage, table.name(), |table| {
            // Again under the catalog's lock: two requests adding one region at once
            // (an SDK's retry of a slow call) both passed the check above.
            check_not_replicated_to(table, region)?;
            let mut all = replicas(table);
            all.push(Replica {
                region: new.region.clone(),
                endpoint: new.endpoint.clone(),
                status: ReplicaStatus::Creating,
                start_seq: head.seq,
                overrides,
                unmade: true,
                failure: None,
                addition: super::new_addition(),
                added: order::addition_stamp(&table.settings, region),
                pending: Vec::new(),
            });
            set_replicas(&mut table.settings, all);
            Ok(())
        })
        .await;
    // The table as it is now: a concurrent addition may have made it global.
    let now_global = || {
        app.catalog
            .get(table.name())
            .is_some_and(|t| super::is_global(&t))
    };
    if added.is_err() && !now_global() {
        app.storage
            .set_versioned(table.table_id(), table.schema(), None);
    }
    added
}

/// Refuses a second replica of `table` in `region`.
fn check_not_replicated_to(table: &TableMeta, region: &str) -> Result<(), ApiError> {
    if replicas(table).iter().any(|r| r.region == region) {
        return Err(ApiError::invalid_parameter(format!(
            "Replica in region {region} already exists for table {}",
            table.name()
        )));
    }
    Ok(())
}

/// Makes the table of `replica`, added to `table` here, in its region's store at `url`:
/// asks again, with backoff, while the store cannot be reached or fails (for
/// `--replica-create-timeout`), and tells the other replicas once it is made. Returns
/// whether it was: a refusal, or no answer for that long, leaves the replica
/// CREATION_FAILED, and a replica removed meanwhile is not made.
pub(super) async fn make(app: &App, table: &TableMeta, replica: &Replica, url: &str) -> bool {
    let origin = super::origin(table, replica);
    let started = std::time::Instant::now();
    let timeout = app.config.replica_create_timeout;
    let mut attempt = 0;
    loop {
        // What the table is now: a change made while the store was out of reach is in it.
        let Some((current, replica)) = still_unmade(app, table, replica) else {
            return false;
        };
        let mut members = all_members(app, &current);
        members.push(member(&replica));
        let request = json!({"definition": definition(&current), "members": members,
            "overrides": replica.overrides, "ttl": crate::ttl::setting(&current),
            "origin": origin, "from": app.config.region,
            "removed": order::removals(&current.settings)});
        match peer::call::<_, Value>(app, url, "create", &request).await {
            Ok(_) => break,
            // A table of the name there that an earlier addition of it from here made,
            // whose withdrawal is still on its way, goes when the withdrawal arrives.
            Err(e)
                if (e.may_pass()
                    || (e.table_busy() && still_calling(&current, &replica.region)))
                    && started.elapsed() < timeout =>
            {
                attempt += 1;
                tracing::warn!(table = %table.name(), region = %replica.region, error = %e,
                    "cannot make a new replica in its region yet: trying again");
                tokio::time::sleep(backoff(MAKE_RETRY_BASE, attempt)).await;
            }
            Err(e) => {
                tracing::warn!(table = %table.name(), region = %replica.region, error = %e,
                    "the region of a new replica refused to make it, or never did: CREATION_FAILED");
                // What DescribeTable shows: not a transport error's detail (the log has it).
                let why = match e.refusal() {
                    Some(refusal) => refusal.to_string(),
                    None => format!(
                        "The store of region {} could not be reached, or failed, for {} s",
                        replica.region,
                        timeout.as_secs_f64()
                    ),
                };
                fail(app, table, &replica, &why).await;
                return false;
            }
        }
    }
    let Some(made) = settle(app, table, replica, None).await else {
        return false;
    };
    // Every replica, the new one too: two replicas made at once each learn of the other
    // from whichever was made last (the newer generation).
    tell_all(app, &made, None).await;
    true
}

/// The most of a region's refusal a CREATION_FAILED replica keeps: a page from something
/// else at that address must not fill DescribeTable.
const MAX_FAILURE_CHARS: usize = 512;

/// Records that the addition `added` failed for good: CREATION_FAILED, saying `why` (as
/// much of it as DescribeTable keeps). Nothing more is sent to it.
pub(super) async fn fail(app: &App, table: &TableMeta, added: &Replica, why: &str) {
    let why = why.chars().take(MAX_FAILURE_CHARS).collect();
    settle(app, table, added, Some(why)).await;
}

/// The first wait before a replica's region is asked again to make it; each later wait
/// doubles, up to `triggers::dispatch`'s cap.
const MAKE_RETRY_BASE: std::time::Duration = std::time::Duration::from_millis(200);

/// Table `table` as it now is, and its `replica` as it now is, while it is still to make.
fn still_unmade(
    app: &App,
    table: &TableMeta,
    replica: &Replica,
) -> Option<(Arc<TableMeta>, Replica)> {
    let current = app.catalog.get_same(table.name(), &table.table_uuid)?;
    let now = replicas(&current)
        .into_iter()
        .find(|r| r.is(replica) && r.unmade)?;
    Some((current, now))
}

/// Records that the addition `added` was made in its region (`failure` `None`), or
/// refused (CREATION_FAILED, with why). Returns the table as it now is, if the replica is
/// still in it.
async fn settle(
    app: &App,
    table: &TableMeta,
    added: &Replica,
    failure: Option<String>,
) -> Option<Arc<TableMeta>> {
    let result = change_replicas(
        app,
        table.name(),
        |r| r.is(added),
        |replica| {
            replica.unmade = false;
            if failure.is_some() {
                replica.status = ReplicaStatus::CreationFailed;
                replica.failure = failure.clone();
            }
        },
    )
    .await;
    match result {
        Ok(updated) if replicas(&updated).iter().any(|r| r.is(added)) => Some(updated),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(table = %table.name(), region = %added.region, error = ?e,
                "cannot record how making a replica ended");
            None
        }
    }
}

/// An Update replica action: the replica's overrides, with the action's laid over them,
/// are made in its region, then kept here and told to the other regions.
async fn update_overrides(
    app: &App,
    table: &TableMeta,
    region: &str,
    action: &Value,
) -> Result<Arc<TableMeta>, ApiError> {
    let replica = find(table, region)?;
    if replica.status != ReplicaStatus::Active {
        return Err(ApiError::invalid_parameter(format!(
            "Replica in region {region} of table {} is {}: it can be updated once ACTIVE",
            table.name(),
            replica.status.as_str()
        )));
    }
    let overrides = replica.overrides.merged(action, table, now_seconds())?;
    let request = json!({"table": table.name(), "overrides": overrides});
    peer::call::<_, Value>(app, &endpoint(app, &replica), "overrides", &request)
        .await
        .map_err(|e| refused_by(region, e))?;
    let updated = change_replicas(
        app,
        table.name(),
        |r| r.region == region,
        |replica| {
            replica.overrides = overrides.clone();
        },
    )
    .await?;
    tell_all(app, &updated, Some(region)).await;
    Ok(updated)
}

/// How long a removal's UpdateTable waits for the removed region's store to delete its
/// replica (one catalog step and a journal sync there) before it leaves the delete to the
/// background, as for a store that cannot be reached: a frozen store takes the call and
/// answers nothing, and would hold the client for a peer call's whole timeout.
const REMOVAL_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

async fn delete(app: &App, table: &TableMeta, region: &str) -> Result<Arc<TableMeta>, ApiError> {
    let gone = find(table, region)?;
    // A replica removed while CREATING never finishes its copy.
    super::set_copy_progress(table, region, None);
    let url = endpoint(app, &gone);
    if !gone.is_made() {
        // No other region knows of it. One still being made may have a table there, if
        // the call that made it was under way; so may one refused after its table was
        // made (a step after the create failed for good). Withdrawn in the background:
        // deleted there only if this addition made it, and never made there after (a
        // table of that name that is another's is left alone).
        let origin = super::origin(table, &gone);
        let request = json!({"table": table.name(), "origin": origin});
        call_later(app, table, region, Call::Withdraw, url, &request).await;
        return forget(app, table, region, Known::HereOnly).await;
    }
    let request = json!({"table": table.name(), "added": gone.added});
    match peer::call_within::<_, Value>(app, &url, "delete", &request, REMOVAL_CALL_TIMEOUT).await {
        // Already gone there (deleted by hand, or an earlier attempt got this far).
        Ok(_) | Err(PeerError::Refused { status: 404, .. }) => {}
        // No answer: the replica leaves all the same (a region down for good must be
        // removable), and its table there is deleted when its store answers. Kept first,
        // so no restart between here and the removal can leave the table behind.
        Err(e) if e.may_pass() => {
            tracing::warn!(table = %table.name(), region, error = %e,
                "a removed replica's store cannot be reached: its table there is deleted when it answers");
            let request = json!({"table": table.name(), "added": gone.added, "left": true});
            call_later(app, table, region, Call::Delete, url, &request).await;
        }
        Err(e) => return Err(refused_by(region, e)),
    }
    // Forgotten first: the list told is then a generation of its own.
    let rest = forget(app, table, region, Known::Everywhere).await?;
    tell_all(app, &rest, None).await;
    Ok(rest)
}

/// `Disassociate`: this region's replica leaves the global table and stays here, with its
/// items, indexes, stream and settings, as a regional table. It is sent to the replica's
/// own region, once its disassociation protection is off, and waits for this region's
/// changes to reach the other replicas first (`WAIT_FOR_REPLICATION`). The others are
/// told it left as when its table is deleted ([`leave`]): they stop replicating with it,
/// and one left without replicas is a regional table too. Changes they made that had not
/// reached this region stay theirs.
async fn disassociate(
    app: &App,
    table: &TableMeta,
    region: &str,
) -> Result<Arc<TableMeta>, ApiError> {
    let here = &app.config.region;
    if region != here {
        return Err(ApiError::validation(format!(
            "A replica is disassociated in its own Region: this is {here}, send the request for the replica in {region} there"
        )));
    }
    match super::disassociation_protection(table) {
        None => {
            return Err(ApiError::validation(format!(
                "Table {} is not a replica of a global table: there is nothing to disassociate",
                table.name()
            )))
        }
        Some(true) => {
            return Err(ApiError::validation(format!(
                "Disassociation protection is enabled for the replica of table {} in {here}: set DisassociationProtectionEnabled to false first",
                table.name()
            )))
        }
        Some(false) => {}
    }
    super::check_no_replica_being_made(table)?;
    if let Err(behind) = super::ship::wait_shipped(app, table, DISASSOCIATION_WAIT).await {
        return Err(ApiError::validation(format!(
            "The replica in {behind} has not received every change made here, which a disassociation waits for (WAIT_FOR_REPLICATION): try again once its Region can be reached"
        )));
    }
    // The tell is worked out from the replica list as it is, and kept with the table in
    // the same write that empties the list: a crash before the others are told leaves it
    // to `resume_leaving`, never a regional table the others still count, nor one still
    // listing replicas that have dropped it.
    let leaving = Leaving::of(app, table);
    let left = app
        .catalog
        .update(&app.storage, table.name(), |table| {
            // Every other region is stamped removed here, so that a membership tell they
            // sent before they heard of this one's leaving, arriving late, does not make
            // them replicas again.
            let now = shared::clock::now_ms();
            let removals = replicas(table)
                .into_iter()
                .map(|r| (r.region, now))
                .collect();
            order::record_removals(&mut table.settings, &removals);
            set_replicas(&mut table.settings, Vec::new());
            leaving.keep(&mut table.settings);
            Ok(())
        })
        .await?;
    finish_leaving(app, &left).await
}

/// What a replica leaving its global table tells the others: who they are without it, and
/// that it was removed. Kept in a disassociated table's settings until told.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Leaving {
    /// The replicas told (as they were listed when it left).
    replicas: Vec<Replica>,
    members: Vec<Member>,
    removed: BTreeMap<String, u64>,
    generation: u64,
}

/// The settings key of a [`Leaving`] still to tell.
const LEAVING_KEY: &str = "replication_leaving";

impl Leaving {
    /// `table`'s replica leaving, worked out from its list and removals as they are.
    fn of(app: &App, table: &TableMeta) -> Leaving {
        let replicas = made_replicas(table);
        let generation = order::last(table);
        let mut removed = order::removals(&table.settings);
        removed.insert(app.config.region.clone(), generation);
        Leaving {
            members: replicas.iter().map(member).collect(),
            replicas,
            removed,
            generation,
        }
    }

    fn keep(&self, settings: &mut Settings) {
        // Strings, numbers and maps of them always serialize.
        let _ = write_setting(settings, LEAVING_KEY, self);
    }

    /// Tells the replicas it names; one that cannot be reached is told again in the
    /// background (`tell`), from a record of its own that outlives a restart.
    async fn tell(&self, app: &App, table: &TableMeta) {
        let mut told = table.clone();
        set_replicas(&mut told.settings, self.replicas.clone());
        let tell = Tell {
            members: &self.members,
            removed: &self.removed,
            generation: self.generation,
        };
        tell_members(app, &told, tell, Some(&app.config.region)).await;
    }
}

/// Tells the others of a disassociation kept in `table`'s settings, then drops it from
/// them; `table` as it then is.
async fn finish_leaving(app: &App, table: &TableMeta) -> Result<Arc<TableMeta>, ApiError> {
    let Some(leaving) = read_setting::<Leaving>(&table.settings, LEAVING_KEY) else {
        return app.catalog.table_for_control(table.name());
    };
    leaving.tell(app, table).await;
    app.catalog
        .update(&app.storage, table.name(), |table| {
            table.settings.remove(LEAVING_KEY);
            Ok(())
        })
        .await
}

/// At start: tells the others of every disassociation a stop cut short.
pub async fn resume_leaving(app: Arc<App>) {
    for table in app.catalog.all() {
        if table.settings.contains_key(LEAVING_KEY) {
            if let Err(e) = finish_leaving(&app, &table).await {
                tracing::error!(table = %table.name(), error = ?e,
                    "cannot tell the other replicas of a disassociation");
            }
        }
    }
}

/// Who knows of a replica being removed.
#[derive(Clone, Copy, PartialEq)]
enum Known {
    /// Every replica: its removal is stamped, to be told.
    Everywhere,
    /// This region only (an addition not yet made): no stamp, which would make another
    /// region's addition of that region, made there, lose to this one's withdrawal.
    HereOnly,
}

/// Removes the replica in `region` from `table` here (its worker stops).
async fn forget(
    app: &App,
    table: &TableMeta,
    region: &str,
    known: Known,
) -> Result<Arc<TableMeta>, ApiError> {
    app.catalog
        .update(&app.storage, table.name(), |table| {
            let rest = replicas(table)
                .into_iter()
                .filter(|r| r.region != region)
                .collect();
            if known == Known::Everywhere {
                let removal = BTreeMap::from([(region.to_string(), shared::clock::now_ms())]);
                order::record_removals(&mut table.settings, &removal);
            }
            set_replicas(&mut table.settings, rest);
            Ok(())
        })
        .await
}

/// After UpdateTable changed global table `table` here: the changes every replica shares
/// (secondary indexes, billing mode, capacity and warm throughput) are made in the other
/// regions too, each of which makes them there only; a replica with reads of its own
/// (`overrides`) keeps them. Each region gets the change from the outbox, as soon as it
/// can be reached (`outbox`): the change stands here at once, as in DynamoDB, where it is
/// applied region by region.
pub async fn propagate(app: &App, table: &TableMeta, input: &UpdateTableInput) {
    if !super::is_global(table) {
        return;
    }
    let shared = UpdateTableInput {
        table_name: input.table_name.clone(),
        attribute_definitions: input.attribute_definitions.clone(),
        global_secondary_index_updates: input.global_secondary_index_updates.clone(),
        vector_index_updates: input.vector_index_updates.clone(),
        billing_mode: input.billing_mode.clone(),
        provisioned_throughput: input.provisioned_throughput.clone(),
        on_demand_throughput: input.on_demand_throughput.clone(),
        warm_throughput: input.warm_throughput.clone(),
        ..UpdateTableInput::default()
    };
    if shared.global_secondary_index_updates.is_none()
        && shared.vector_index_updates.is_none()
        && shared.billing_mode.is_none()
        && shared.provisioned_throughput.is_none()
        && shared.on_demand_throughput.is_none()
        && shared.warm_throughput.is_none()
    {
        return;
    }
    outbox::keep(app, table, "update", |replica| {
        let mut change = shared.clone();
        replica.overrides.adjust(&mut change);
        serde_json::to_value(change).ok()
    })
    .await;
}

/// After UpdateTimeToLive changed global table `table` here: every other replica gets the
/// same setting (DynamoDB keeps it the same in every region), from the outbox as in
/// [`propagate`].
pub async fn propagate_ttl(app: &App, table: &TableMeta) {
    if !super::is_global(table) {
        return;
    }
    let request = json!({"table": table.name(), "ttl": crate::ttl::setting(table)});
    outbox::keep(app, table, "ttl", |_| Some(request.clone())).await;
}

/// DeleteTable of a replica: the other replicas stop replicating with this region. A
/// replica that cannot be told keeps trying to ship here and is refused.
pub async fn leave(app: &App, table: &TableMeta) {
    Leaving::of(app, table).tell(app, table).await;
}

/// Tells the replicas of `table` but `except` that every region in `table` as it is here
/// is a member.
pub(super) async fn tell_all(app: &App, table: &TableMeta, except: Option<&str>) {
    let tell = Tell {
        members: &all_members(app, table),
        removed: &order::removals(&table.settings),
        generation: order::generation(table),
    };
    tell_members(app, table, tell, except).await;
}

/// Every region of `table` that has its replica, this one included, as members.
fn all_members(app: &App, table: &TableMeta) -> Vec<Member> {
    let mut members: Vec<Member> = made_replicas(table).iter().map(member).collect();
    members.push(own_member(app, table));
    members
}

/// This store as a member of `table`: its region, the URL others reach it at, and what
/// its replica has of its own.
fn own_member(app: &App, table: &TableMeta) -> Member {
    let endpoint = app.config.endpoint.url.clone();
    Member {
        overrides: super::own_overrides(table),
        added: Some(super::own_added(table)),
        ..Member::at(app.config.region.clone(), endpoint)
    }
}

fn member(replica: &Replica) -> Member {
    Member {
        region: replica.region.clone(),
        endpoint: replica.endpoint.clone(),
        overrides: replica.overrides.clone(),
        added: Some(replica.added),
    }
}

/// The error a failed call to region `region`'s store becomes.
fn refused_by(region: &str, e: PeerError) -> ApiError {
    tracing::warn!(region, error = %e, "a replica's store refused or failed a call");
    match e.refusal() {
        Some(message) => ApiError::invalid_parameter(format!("Region {region}: {message}")),
        None => ApiError::new(
            ErrorCode::InternalServerError,
            format!("The store of region {region} cannot be reached; try again"),
        ),
    }
}

/// The CreateTable call that makes a replica of `table`: its keys, indexes, capacity and
/// class, and the stream replication needs.
fn definition(table: &TableMeta) -> CreateTableInput {
    let described = table.describe(TableStatus::Active, TableStats::default(), now_seconds());
    let provisioned = table.billing_mode == BillingMode::Provisioned;
    let throughput = |rcu, wcu| {
        provisioned.then_some(ProvisionedThroughput {
            read_capacity_units: Some(rcu),
            write_capacity_units: Some(wcu),
        })
    };
    let table_throughput = &described.provisioned_throughput;
    CreateTableInput {
        table_name: Some(described.table_name),
        attribute_definitions: Some(described.attribute_definitions),
        key_schema: Some(described.key_schema),
        local_secondary_indexes: described.local_secondary_indexes.map(|indexes| {
            indexes
                .into_iter()
                .map(|i| LocalSecondaryIndex {
                    index_name: Some(i.index_name),
                    key_schema: Some(i.key_schema),
                    projection: Some(i.projection),
                })
                .collect()
        }),
        global_secondary_indexes: described.global_secondary_indexes.map(|indexes| {
            indexes
                .into_iter()
                .map(|i| GlobalSecondaryIndex {
                    provisioned_throughput: throughput(
                        i.provisioned_throughput.read_capacity_units,
                        i.provisioned_throughput.write_capacity_units,
                    ),
                    index_name: Some(i.index_name),
                    key_schema: Some(i.key_schema),
                    projection: Some(i.projection),
                    on_demand_throughput: i.on_demand_throughput,
                    warm_throughput: i.warm_throughput.map(warm_throughput),
                })
                .collect()
        }),
        billing_mode: Some(table.billing_mode.as_str().to_string()),
        provisioned_throughput: throughput(
            table_throughput.read_capacity_units,
            table_throughput.write_capacity_units,
        ),
        stream_specification: Some(StreamSpecification {
            stream_enabled: Some(true),
            stream_view_type: Some(STREAM_VIEW.to_string()),
        }),
        table_class: described.table_class_summary.map(|c| c.table_class),
        on_demand_throughput: described.on_demand_throughput,
        warm_throughput: described.warm_throughput.map(warm_throughput),
        vector_indexes: described.vector_indexes.map(|indexes| {
            indexes
                .into_iter()
                .map(|v| VectorIndex {
                    index_name: Some(v.index_name),
                    vector_attribute: Some(v.vector_attribute),
                    dimensions: Some(v.dimensions),
                    distance_function: Some(v.distance_function),
                    projection: Some(v.projection),
                    search_schema: v.search_schema,
                })
                .collect()
        }),
        ..CreateTableInput::default()
    }
}

/// A described warm throughput, asked for again.
fn warm_throughput(described: WarmThroughputDescription) -> WarmThroughput {
    WarmThroughput {
        read_units_per_second: Some(described.read_units_per_second),
        write_units_per_second: Some(described.write_units_per_second),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(update: Value) -> String {
        match parse(std::slice::from_ref(&update)) {
            Ok(_) => String::new(),
            Err(e) => e.message.unwrap_or_default(),
        }
    }

    #[test]
    fn a_disassociation_names_its_region_and_waits_for_replication() {
        let action = |mode: Value| json!({"Disassociate": {"RegionName": "eu-west-1", "DisassociationMode": mode}});
        assert!(matches!(
            parse(&[action(json!(WAIT_FOR_REPLICATION))]),
            Ok(ReplicaUpdate::Disassociate(region)) if region == "eu-west-1"
        ));
        assert!(refusal(action(json!("AT_ONCE")))
            .ends_with("Member must satisfy enum value set: [WAIT_FOR_REPLICATION]"));
        assert!(refusal(action(Value::Null)).contains("Member must not be null"));
        let no_region = json!({"Disassociate": {"DisassociationMode": WAIT_FOR_REPLICATION}});
        assert!(refusal(no_region).contains("regionName"));
        let two = json!({"Delete": {"RegionName": "a"}, "Disassociate": {"RegionName": "a"}});
        assert!(refusal(two).contains("exactly one of"));
    }
}
