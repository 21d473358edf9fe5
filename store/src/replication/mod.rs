//! Global tables (version 2019.11.21): replicas of one table in stores of other regions,
//! each taking reads and writes, converging by last writer wins.
//!
//! # The shape
//! A store is one region (`--region`). It reaches the stores of other regions at the URLs
//! `--region-endpoints` names, over the internal endpoints (`serve`), authenticated by
//! the cluster secret the stores share. `UpdateTable` with `ReplicaUpdates` (`control`)
//! creates the table in the new region, tells every replica who the replicas are, and
//! starts copying; the replica learns this store's URL from the call, so only the store
//! that adds a replica needs to know where it is.
//!
//! # Replication
//! Every store ships the changes of its global tables to every other replica (`ship`): a
//! worker per (table, replica) follows the table's change log from a durable cursor and
//! posts the changes with the version each got where it was first made. The receiver
//! applies a change only if that version is newer than its item's
//! (`Storage::apply_replicated`), so every replica keeps the same last write whatever
//! order changes arrive in, and a change that arrives twice (after a retry, or through a
//! third replica) applies once. A change is never sent back to the region it came from.
//! A new replica first gets a copy of every item with its version, then the log from the
//! moment it was added; its table is CREATING, serving no client, until the copy is
//! whole (`serve`'s `ready`). A replica that was out of reach longer than the log's retention
//! gets the copy again, with every delete whose tombstone is still kept (`tombstones`).
//!
//! What replicas share is kept in each table's settings (`Replication`), so it is
//! persisted with the table and gone with it.

pub mod control;
mod order;
pub mod outbox;
pub mod overrides;
mod peer;
mod removing;
pub mod serve;
pub mod ship;
pub mod tell;
pub mod tombstones;
mod turns;
pub mod waiting;
mod withdrawn;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::model::Item;
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::describe_table::ReplicaDescription;

use crate::app::App;
use crate::catalog::meta::{read_setting, write_setting, Settings};
use crate::catalog::{TableMeta, TableStatus};
use overrides::Overrides;

/// What DescribeTable says a replica of a global table is.
pub const GLOBAL_TABLE_VERSION: &str = "2019.11.21";
/// The key of a table's replicas in its settings.
const SETTINGS_KEY: &str = "replication";

pub const CHANGES_SHIPPED_TOTAL: &str = "store_replication_changes_shipped_total";
pub const CHANGES_APPLIED_TOTAL: &str = "store_replication_changes_applied_total";
pub const CHANGES_SUPERSEDED_TOTAL: &str = "store_replication_changes_superseded_total";
pub const LAG_SECONDS: &str = "store_replication_lag_seconds";
pub const PENDING_CHANGES: &str = "store_replication_pending_changes";
pub const RETRIES_TOTAL: &str = "store_replication_retries_total";
pub const RESYNCS_TOTAL: &str = "store_replication_resyncs_total";

/// One other replica of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replica {
    pub region: String,
    /// The base URL of the region's store.
    pub endpoint: String,
    pub status: ReplicaStatus,
    /// The newest change-log record of this table when the replica was added here: the
    /// changes after it are shipped from the log, the ones before by the initial copy.
    pub start_seq: u64,
    /// What the replica has of its own, as added or updated from this region.
    #[serde(default, skip_serializing_if = "Overrides::is_empty")]
    pub overrides: Overrides,
    /// Added here and not yet made in its region: its shipping worker makes it first
    /// (`control::make`). Absent in replicas kept before creation went to the worker:
    /// UpdateTable made them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmade: bool,
    /// Why its region refused to make it (CREATION_FAILED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// A random id drawn when it was added here: which addition it is ([`origin`]), even
    /// when one removed and added again has the same `start_seq` (nothing was written in
    /// between). Absent in replicas added before it was kept, and in ones another region
    /// added (this region never makes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addition: Option<String>,
    /// When it was added (clock milliseconds, where it was added): a removal of its
    /// region told from before then does not remove it (`order`). 0 in replicas added
    /// before it was kept: any removal known is later.
    #[serde(default)]
    pub added: u64,
    /// Changes of the table's shared definition made here that its region has not taken
    /// yet, oldest first (`outbox`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<outbox::PendingChange>,
}

impl Replica {
    /// Whether its region has its table: the replica takes part in replication (is told
    /// of members and changes of the global table).
    pub fn is_made(&self) -> bool {
        !self.unmade && self.status != ReplicaStatus::CreationFailed
    }

    /// Whether it is the same addition as `other` (not one removed and added anew).
    fn is(&self, other: &Replica) -> bool {
        self.region == other.region
            && self.start_seq == other.start_seq
            && self.addition == other.addition
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaStatus {
    /// Being made in its region, then getting its initial copy of the table.
    Creating,
    Active,
    /// Its region refused to make it: it stays so until removed.
    CreationFailed,
}

impl ReplicaStatus {
    fn as_str(self) -> &'static str {
        match self {
            ReplicaStatus::Creating => "CREATING",
            ReplicaStatus::Active => "ACTIVE",
            ReplicaStatus::CreationFailed => "CREATION_FAILED",
        }
    }
}

/// A table's replicas, as kept in its settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Replication {
    replicas: Vec<Replica>,
    /// What this region's replica has of its own, as the region that added or updated it
    /// said: its own capacity changes keep these reads, and it tells other regions of them.
    #[serde(default, skip_serializing_if = "Overrides::is_empty")]
    own: Overrides,
    /// Which addition made this region's replica (the adding region's [`origin`]): a
    /// retried creation finds the table it made, and tells it from another of that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    /// When this region's replica was added, as the region that added it said (absent in
    /// the region the table was made in: a member from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    added: Option<u64>,
    /// This region's replica may be disassociated (`control::disassociate`) only once this
    /// is false. Its own, never told to other regions; true for a replica that never set
    /// it, as DynamoDB's protection is on by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disassociation_protection: Option<bool>,
}

/// A region of a global table and where its store is: what replicas tell each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub region: String,
    pub endpoint: String,
    /// What the region's replica has of its own, if the teller knows. Every region keeps
    /// every replica's, so that each describes them and a capacity change made anywhere
    /// leaves them in place.
    #[serde(default, skip_serializing_if = "Overrides::is_empty")]
    pub overrides: Overrides,
    /// When its replica was added (`Replica::added`). Absent from stores before members
    /// were stamped: the tell's generation stands for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<u64>,
}

impl Member {
    /// A region's store, overrides unknown.
    pub fn at(region: String, endpoint: String) -> Member {
        Member {
            region,
            endpoint,
            overrides: Overrides::default(),
            added: None,
        }
    }
}

/// One change as shipped to another replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShippedChange {
    /// The item's key attributes.
    pub keys: Item,
    /// The item after the change; `None` for a delete.
    pub item: Option<Item>,
    /// The change's version where it was first made.
    pub time_ms: u64,
    pub region: String,
}

fn replication(settings: &Settings) -> Replication {
    read_setting::<Replication>(settings, SETTINGS_KEY).unwrap_or_default()
}

/// The other replicas of `table` (none unless it is a global table).
pub fn replicas(table: &TableMeta) -> Vec<Replica> {
    replication(&table.settings).replicas
}

/// Whether this region's replica of `table` is protected from disassociation; `None`
/// for a table that is not global.
pub fn disassociation_protection(table: &TableMeta) -> Option<bool> {
    is_global(table).then(|| {
        replication(&table.settings)
            .disassociation_protection
            .unwrap_or(true)
    })
}

/// UpdateTable's `DisassociationProtectionEnabled`: only a replica of a global table has
/// the protection.
pub fn set_disassociation_protection(table: &mut TableMeta, enabled: bool) -> Result<(), ApiError> {
    if !is_global(table) {
        return Err(ApiError::validation(format!(
            "Disassociation protection is for a replica of a global table: table {} has no replicas",
            table.name()
        )));
    }
    change_replication(&mut table.settings, |r| {
        r.disassociation_protection = Some(enabled);
    });
    Ok(())
}

/// What this region's replica of `table` has of its own.
pub fn own_overrides(table: &TableMeta) -> Overrides {
    replication(&table.settings).own
}

/// The replicas of `table` that its regions have made: the ones told of members and
/// changes.
pub fn made_replicas(table: &TableMeta) -> Vec<Replica> {
    replicas(table)
        .into_iter()
        .filter(Replica::is_made)
        .collect()
}

/// Whether `table` is a replica of a global table: it has replicas made or being made
/// (one whose creation failed replicates nothing).
pub fn is_global(table: &TableMeta) -> bool {
    replicas(table)
        .iter()
        .any(|r| r.status != ReplicaStatus::CreationFailed)
}

/// DescribeTable's TableStatus: UPDATING while a replica is being created, as in DynamoDB.
pub fn reported_status(table: &TableMeta) -> TableStatus {
    let creating = || {
        replicas(table)
            .iter()
            .any(|r| r.status == ReplicaStatus::Creating)
    };
    if table.status == TableStatus::Active && creating() {
        TableStatus::Updating
    } else {
        table.status
    }
}

/// Refuses a client's TTL change of `table` while a replica added here is not yet made in
/// its region: the table is UPDATING, and the definition its region is being sent would
/// miss the change (only made replicas are told of changes). Checked inside the catalog's
/// update, which also marks the replica made, so a change is either refused or reaches
/// the new replica. Changes another region sends are not refused: the global table must
/// not diverge.
pub fn check_no_replica_being_made(table: &TableMeta) -> Result<(), ApiError> {
    check_no_replica(table, |r| r.unmade && r.status == ReplicaStatus::Creating)
}

/// Refuses a client's UpdateTable (capacity, indexes, stream) or DeleteTable of `table`
/// while a replica added here is CREATING, as DynamoDB refuses changes to an UPDATING
/// table: until made, its region would miss the change (as [`check_no_replica_being_made`]
/// says); until its copy is whole, it waits for the copy from here, which a deleted table
/// would leave waiting for good, and which a cut in write capacity (the copy's writes
/// take the replica's) would hold back for hours.
pub fn check_no_replica_being_created(table: &TableMeta) -> Result<(), ApiError> {
    check_no_replica(table, |r| r.status == ReplicaStatus::Creating)
}

/// Refuses a change to `table` while it has a replica `which` picks: the table is
/// UPDATING (ResourceInUseException, which SDKs and infrastructure tools retry).
fn check_no_replica(table: &TableMeta, which: impl Fn(&Replica) -> bool) -> Result<(), ApiError> {
    if replicas(table).iter().any(which) {
        return Err(being_updated(table.name()));
    }
    Ok(())
}

/// The turn to delete table `name` here, refused while this region removes another
/// region's replica of it (`removing`): the removal would find the table gone before it
/// told the other replicas, which would go on listing the removed region.
pub fn deletion_turn(name: &str) -> Result<tokio::sync::OwnedMutexGuard<()>, ApiError> {
    removing::deletion(name).ok_or_else(|| being_updated(name))
}

/// DynamoDB's refusal of a change to an UPDATING table.
fn being_updated(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceInUseException,
        format!(
            "Attempt to change a resource which is still in use: Table is being updated: {name}"
        ),
    )
}

/// What identifies the addition of `replica` to `table` in the region it is made in
/// ([`Replication::origin`]): a replica removed and added again is another. One added
/// before additions had their own id goes by its `start_seq`, as it did then.
pub fn origin(table: &TableMeta, replica: &Replica) -> String {
    match &replica.addition {
        Some(id) => format!("{}/{id}", table.table_uuid),
        None => format!("{}/{}", table.table_uuid, replica.start_seq),
    }
}

/// A new replica's [`Replica::addition`].
pub fn new_addition() -> Option<String> {
    Some(uuid::Uuid::new_v4().simple().to_string())
}

/// Which addition made this region's replica `table`, if one did.
pub fn made_by(table: &TableMeta) -> Option<String> {
    replication(&table.settings).origin
}

/// DescribeTable's `Replicas`: the table's other replicas, if it has any.
pub fn describe(table: &TableMeta) -> Option<Vec<ReplicaDescription>> {
    let replicas = replicas(table);
    (!replicas.is_empty()).then(|| {
        replicas
            .iter()
            .map(|r| {
                let mut described = ReplicaDescription {
                    region_name: r.region.clone(),
                    replica_status: r.status.as_str().to_string(),
                    replica_status_percent_progress: (r.status == ReplicaStatus::Creating)
                        .then(|| copy_progress(table, &r.region).to_string()),
                    replica_status_description: r.failure.clone(),
                    ..ReplicaDescription::default()
                };
                r.overrides.describe(&mut described);
                described
            })
            .collect()
    })
}

/// How far the copies to replicas being created have got, in percent, by (table uuid,
/// region): what DescribeTable shows while a replica is CREATING. Kept in memory only: a
/// copy cut short by a restart starts over, and its progress with it.
fn copies() -> &'static parking_lot::Mutex<std::collections::HashMap<(String, String), u8>> {
    static COPIES: std::sync::OnceLock<
        parking_lot::Mutex<std::collections::HashMap<(String, String), u8>>,
    > = std::sync::OnceLock::new();
    COPIES.get_or_init(Default::default)
}

/// Records how far the copy of `table` to `region` has got (`None`: it is over).
pub fn set_copy_progress(table: &TableMeta, region: &str, percent: Option<u8>) {
    let key = (table.table_uuid.clone(), region.to_string());
    match percent {
        Some(percent) => copies().lock().insert(key, percent.min(100)),
        None => copies().lock().remove(&key),
    };
}

fn copy_progress(table: &TableMeta, region: &str) -> u8 {
    let key = (table.table_uuid.clone(), region.to_string());
    copies().lock().get(&key).copied().unwrap_or(0)
}

/// Where `replica`'s store is: where this store's `--region-endpoints` says, if it names
/// the region (a store that moved is reached at its new address), else where it was when
/// the replica was added.
pub fn endpoint(app: &App, replica: &Replica) -> String {
    configured(app, &replica.region)
        .map_or_else(|| replica.endpoint.clone(), |m| m.endpoint.clone())
}

/// The store of `region` as this store's `--region-endpoints` names it, if it does.
pub fn configured<'a>(app: &'a App, region: &str) -> Option<&'a Member> {
    app.config
        .region_endpoints
        .iter()
        .find(|m| m.region == region)
}

/// Applies `change` to the replicas of table `name` that `which` picks, in one catalog
/// update; returns the table as it then is.
pub(super) async fn change_replicas(
    app: &App,
    name: &str,
    which: impl Fn(&Replica) -> bool,
    mut change: impl FnMut(&mut Replica),
) -> Result<Arc<TableMeta>, ApiError> {
    app.catalog
        .update(&app.storage, name, |table| {
            let mut all = replicas(table);
            all.iter_mut().filter(|r| which(r)).for_each(&mut change);
            set_replicas(&mut table.settings, all);
            Ok(())
        })
        .await
}

/// Keeps `replicas` as the table's replicas (an empty list makes it a regional table, and
/// its own overrides and origin go with the other replicas), a new generation of them.
fn set_replicas(settings: &mut Settings, replicas: Vec<Replica>) {
    order::advance(settings);
    if replicas.is_empty() {
        settings.remove(SETTINGS_KEY);
        return;
    }
    change_replication(settings, |r| r.replicas = replicas);
}

/// Keeps `own` as what this region's replica has of its own.
fn set_own_overrides(settings: &mut Settings, own: Overrides) {
    change_replication(settings, |r| r.own = own);
}

/// Keeps `origin` as the addition that made this region's replica.
pub fn set_origin(settings: &mut Settings, origin: String) {
    change_replication(settings, |r| r.origin = Some(origin));
}

/// When this region's replica of `table` was added: 0 in the region it was made in.
fn own_added(table: &TableMeta) -> u64 {
    replication(&table.settings).added.unwrap_or(0)
}

/// Keeps `added` as when this region's replica was added.
fn set_own_added(settings: &mut Settings, added: u64) {
    change_replication(settings, |r| r.added = Some(added));
}

fn change_replication(settings: &mut Settings, change: impl FnOnce(&mut Replication)) {
    let mut replication = replication(settings);
    change(&mut replication);
    // A plain struct of strings and numbers always serializes.
    let _ = write_setting(settings, SETTINGS_KEY, &replication);
}

/// A region name as it goes into ARNs (`arn:aws:dynamodb:REGION:...`): letters, digits and
/// hyphens, as AWS's are; a `:`, `/` or space would make every ARN unparsable.
pub fn check_region_name(flag: &str, region: &str) -> Result<(), String> {
    let fits = !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if fits {
        Ok(())
    } else {
        Err(format!(
            "{flag}: `{region}` is not a region name (letters, digits and hyphens, at most 64)"
        ))
    }
}

/// `--region-endpoints`: `REGION=URL` pairs separated by commas.
pub fn parse_endpoints(text: &str) -> Result<Vec<Member>, String> {
    let mut members: Vec<Member> = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (region, endpoint) = pair
            .split_once('=')
            .ok_or_else(|| format!("--region-endpoints: `{pair}` is not REGION=URL"))?;
        let region = region.trim();
        if region.is_empty() {
            return Err(format!("--region-endpoints: `{pair}` is not REGION=URL"));
        }
        check_region_name("--region-endpoints", region)?;
        let endpoint = parse_url("--region-endpoints", endpoint)?;
        if members.iter().any(|m| m.region == region) {
            return Err(format!("--region-endpoints names {region} twice"));
        }
        members.push(Member::at(region.to_string(), endpoint));
    }
    Ok(members)
}

/// A store's base URL given to `flag`: http(s), without a trailing slash.
pub fn parse_url(flag: &str, text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(text).map_err(|e| format!("{flag}: `{text}`: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{flag}: `{text}` is not http(s)://HOST:PORT"));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replica in eu-west-1 added at log position 4 and not yet made there.
    fn being_made(addition: Option<String>) -> Replica {
        Replica {
            region: "eu-west-1".into(),
            endpoint: "http://127.0.0.1:1".into(),
            status: ReplicaStatus::Creating,
            start_seq: 4,
            overrides: Overrides::default(),
            unmade: true,
            failure: None,
            addition,
            added: 0,
            pending: Vec::new(),
        }
    }

    #[test]
    fn region_endpoints_parse_and_bad_ones_are_refused() {
        let members = parse_endpoints("eu-west-1=http://127.0.0.1:8001/, ap-south-1=https://h:9")
            .expect("parses");
        assert_eq!(
            members,
            vec![
                Member::at("eu-west-1".into(), "http://127.0.0.1:8001".into()),
                Member::at("ap-south-1".into(), "https://h:9".into()),
            ]
        );
        assert_eq!(parse_endpoints("").map(|m| m.len()), Ok(0));
        assert_eq!(
            parse_url("--advertise-url", " http://h:1/ "),
            Ok("http://h:1".into())
        );
        assert!(parse_url("--advertise-url", "h:1").is_err());
        for bad in [
            "eu-west-1",
            "=http://h:1",
            "a=ftp://h",
            "a=http://h:1,a=http://h:2",
            "a=:",
            "eu:west=http://h:1",
        ] {
            assert!(parse_endpoints(bad).is_err(), "{bad}");
        }
        for bad in ["", "bad region!", "us-east-1:evil/x", &"a".repeat(65)] {
            assert!(check_region_name("--region", bad).is_err(), "{bad}");
        }
        assert!(check_region_name("--region", "us-gov-west-1").is_ok());
    }

    #[test]
    fn a_table_is_global_while_it_has_replicas() {
        let mut table = TableMeta::for_tests(1, "t");
        assert!(!is_global(&table) && describe(&table).is_none());
        let replica = being_made(None);
        set_replicas(&mut table.settings, vec![replica.clone()]);
        assert!(is_global(&table));
        assert_eq!(replicas(&table), vec![replica]);
        let described = describe(&table).expect("replicas");
        assert_eq!(described[0].region_name, "eu-west-1");
        // A replica being created shows how far its copy has got.
        let progress = |table: &TableMeta| {
            describe(table).expect("replicas")[0]
                .replica_status_percent_progress
                .clone()
        };
        assert_eq!(progress(&table), Some("0".to_string()));
        set_copy_progress(&table, "eu-west-1", Some(42));
        assert_eq!(progress(&table), Some("42".to_string()));
        set_copy_progress(&table, "eu-west-1", None);
        assert_eq!(progress(&table), Some("0".to_string()));
        assert_eq!(described[0].replica_status, "CREATING");
        let generation = order::generation(&table);
        set_replicas(&mut table.settings, Vec::new());
        assert!(!is_global(&table) && !table.settings.contains_key(SETTINGS_KEY));
        // A region added back must hear a newer list than the last it heard.
        assert!(order::generation(&table) > generation);
    }

    #[test]
    fn each_addition_has_its_own_origin_even_at_the_same_place_in_the_log() {
        let table = TableMeta::for_tests(1, "t");
        let (first, again) = (being_made(new_addition()), being_made(new_addition()));
        assert_ne!(origin(&table, &first), origin(&table, &again));
        assert!(first.is(&first) && !first.is(&again));
        // One kept before additions had ids goes by its place in the log, as then.
        let kept: Replica = serde_json::from_value(serde_json::json!({
            "region": "eu-west-1", "endpoint": "http://127.0.0.1:1", "status": "Creating",
            "start_seq": 4, "unmade": true}))
        .expect("parses");
        assert_eq!(kept, being_made(None));
        assert_eq!(origin(&table, &kept), format!("{}/4", table.table_uuid));
    }

    #[test]
    fn a_replica_being_made_is_global_and_one_refused_is_not() {
        let mut table = TableMeta::for_tests(1, "t");
        let unmade = being_made(None);
        set_replicas(&mut table.settings, vec![unmade.clone()]);
        // Versions on from the moment it is added; no one told of it yet.
        assert!(is_global(&table) && made_replicas(&table).is_empty());
        assert_eq!(reported_status(&table), TableStatus::Updating);

        let refused = Replica {
            status: ReplicaStatus::CreationFailed,
            failure: Some("Table already exists".into()),
            ..unmade.clone()
        };
        set_replicas(&mut table.settings, vec![refused]);
        assert!(!is_global(&table) && made_replicas(&table).is_empty());
        assert_eq!(reported_status(&table), TableStatus::Active);
        let described = describe(&table).expect("the refused replica is shown");
        assert_eq!(described[0].replica_status, "CREATION_FAILED");
        assert_eq!(
            described[0].replica_status_description.as_deref(),
            Some("Table already exists")
        );
        assert_eq!(described[0].replica_status_percent_progress, None);

        // A replica kept before creation was in the background was made by UpdateTable.
        let kept =
            r#"{"region":"ap-south-1","endpoint":"http://h:1","status":"Active","start_seq":1}"#;
        let kept: Replica = serde_json::from_str(kept).expect("parses");
        assert!(kept.is_made() && kept.failure.is_none());
        // The origin stays with the replicas' changes.
        let made_here = origin(&table, &unmade);
        set_origin(&mut table.settings, made_here.clone());
        set_replicas(&mut table.settings, vec![kept]);
        assert_eq!(made_by(&table), Some(made_here));
    }
}
