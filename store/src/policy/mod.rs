//! Resource-based policies: the documents PutResourcePolicy attaches to a table or to its
//! stream, and their enforcement on every API call.
//!
//! Who calls: the principal its access key stands for. A `--credentials-file` line may name
//! it (`AKID SECRET arn:aws:iam::111122223333:user/bob`); otherwise a key is the user
//! `arn:aws:iam::<this store's account>:user/<AKID>`. Without a credentials file keys are
//! claimed, not proven, as everything else is then. Calls relayed by dax-proxy nodes are
//! the cluster's own role, `arn:aws:iam::<account>:role/dax-proxy`, as DAX calls DynamoDB
//! with its role rather than its clients' identities.
//!
//! How it is decided (IAM's rules for one account's resource-based policies):
//! - a statement of the policy on the resource that denies the call refuses it
//!   (AccessDeniedException, "with an explicit deny in a resource-based policy");
//! - a caller of this store's account is otherwise allowed (there are no identity policies
//!   here; the account's own users may do everything);
//! - a caller of another account needs a statement that allows the call ("because no
//!   resource-based policy allows ..."), so it reaches tables, indexes and streams only,
//!   and only as their policies say;
//! - the account's root principal (`arn:aws:iam::<account>:root`) may always delete a
//!   policy, as in DynamoDB, so that no policy can lock its table for good;
//! - a refused statement of a BatchExecuteStatement is answered with an `AccessDenied`
//!   entry while the others run, as DynamoDB answers each statement of a batch on its own;
//!   anything else refused refuses the whole call.
//!
//! What a call is, for a policy: the action `dynamodb:<Operation>` (each action of a
//! transaction on its own, PartiQL statements as `dynamodb:PartiQLSelect` and the like) on
//! the table's ARN, the index's (`table/T/index/I`) for a Query or Scan of an index, or the
//! stream's (for GetRecords, the stream its shard iterator names). A policy on a table
//! covers its indexes; a stream has its own. With each, the partition key values of the
//! items it names there (`dynamodb:LeadingKeys`, read by `leading_keys`) and the attribute
//! names it reads or writes (`dynamodb:Attributes`, read by `attributes`).

mod attributes;
pub mod document;
pub mod evaluate;
mod leading_keys;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::partiql::ast::Statement;
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::sigv4::verify::Authenticated;
use shared::wire::Op;

use crate::api::partiql::{batch_execute_statement, execute_transaction};
use crate::app::App;
use crate::catalog::meta::{read_setting, write_setting, Settings};
use crate::catalog::TableMeta;
use crate::streams::iterator::ShardIterator;
use attributes::Call;
use evaluate::{Request, Values, Verdict};

/// `TableMeta.settings` key of the policies attached to a table and its streams.
const SETTINGS_KEY: &str = "resource_policies";

/// One attached policy: its text as given, and its revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attached {
    pub policy: String,
    pub revision_id: String,
}

/// A table's policies by resource: [`TABLE_SLOT`] for the table (and its indexes), a
/// stream's ARN for that stream.
pub type Policies = BTreeMap<String, Attached>;

/// The slot of the table's own policy.
pub const TABLE_SLOT: &str = "";

impl Attached {
    /// `policy` as a new revision: its id the time in milliseconds, never `previous`'s.
    pub fn new_revision(policy: &str, previous: Option<&Attached>) -> Attached {
        let now = shared::clock::now_ms();
        let after = previous
            .and_then(|p| p.revision_id.parse::<u64>().ok())
            .map_or(0, |r| r + 1);
        Attached {
            policy: policy.to_string(),
            revision_id: now.max(after).to_string(),
        }
    }
}

pub fn policies(table: &TableMeta) -> Policies {
    read_setting(&table.settings, SETTINGS_KEY).unwrap_or_default()
}

pub fn store_policies(settings: &mut Settings, policies: &Policies) {
    if policies.is_empty() {
        settings.remove(SETTINGS_KEY);
    } else {
        // Maps of strings always serialize.
        let _ = write_setting(settings, SETTINGS_KEY, policies);
    }
}

/// What the process knows of policies: whether any may be attached, and the documents
/// parsed so far.
#[derive(Debug, Default)]
pub struct State {
    /// Set once any table has had a policy since the process started (or had one then):
    /// until then, calls of this store's account skip evaluation entirely.
    present: AtomicBool,
    /// Parsed documents by table (its uuid: a table created again under its name is
    /// another) and slot, with the revision they were parsed from: a
    /// policy is parsed once per revision, not once per call.
    parsed: Mutex<HashMap<(String, String), ParsedRevision>>,
}

/// A revision id and its document, parsed.
type ParsedRevision = (String, Arc<document::Document>);

impl State {
    pub fn note(&self) {
        self.present.store(true, Ordering::Relaxed);
    }

    fn any(&self) -> bool {
        self.present.load(Ordering::Relaxed)
    }

    /// The parsed document of `attached`, the policy in `slot` of the table `table_uuid`.
    fn document(
        &self,
        table_uuid: &str,
        slot: &str,
        attached: &Attached,
    ) -> Option<Arc<document::Document>> {
        let key = (table_uuid.to_string(), slot.to_string());
        let mut parsed = self.parsed.lock();
        if let Some((revision, document)) = parsed.get(&key) {
            if *revision == attached.revision_id {
                return Some(Arc::clone(document));
            }
        }
        // Checked when it was put; a document that no longer parses governs nothing.
        let document = Arc::new(document::parse(&attached.policy).ok()?);
        parsed.insert(key, (attached.revision_id.clone(), Arc::clone(&document)));
        Some(document)
    }
}

/// A caller, as policies name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub arn: String,
    pub account: String,
}

impl Caller {
    /// The principal of a call: the cluster's role for a dax-proxy node's call, else the
    /// principal of its access key (module docs), as the key set it was authenticated
    /// against names it.
    pub fn of(app: &App, authenticated: &Authenticated<'_>, relayed_by_node: bool) -> Caller {
        let own = &app.config.account_id;
        if relayed_by_node {
            return Caller {
                arn: format!("arn:aws:iam::{own}:role/dax-proxy"),
                account: own.clone(),
            };
        }
        match authenticated.principal_arn() {
            Some(arn) => Caller {
                arn: arn.to_string(),
                account: arn.split(':').nth(4).unwrap_or_default().to_string(),
            },
            None => {
                let key = authenticated.access_key().unwrap_or("anonymous");
                Caller {
                    arn: format!("arn:aws:iam::{own}:user/{key}"),
                    account: own.clone(),
                }
            }
        }
    }
}

/// Whether `caller` is this account's root principal (`arn:aws:iam::<account>:root`, a
/// `--credentials-file` key may name it) deleting a policy: as in DynamoDB, no policy can
/// refuse it that, so a policy that denies everyone its own management (or every call)
/// can always be taken off rather than locking the table for good.
fn is_root_deleting_a_policy(app: &App, caller: &Caller, op: Op) -> bool {
    op == Op::DeleteResourcePolicy
        && caller.arn == format!("arn:aws:iam::{}:root", app.config.account_id)
}

/// Statements of a BatchExecuteStatement that policies refuse, by position, each with the
/// error it is answered with: as in DynamoDB, a refused statement gets an `AccessDenied`
/// entry and the others run.
#[derive(Debug, Default)]
pub struct Refusals(Vec<(usize, ApiError)>);

impl Refusals {
    /// The refusal of the statement at `position`, taken out.
    pub fn take(&mut self, position: usize) -> Option<ApiError> {
        let found = self.0.iter().position(|(p, _)| *p == position)?;
        Some(self.0.swap_remove(found).1)
    }
}

/// Refuses the call `op` with `body` if the policies of what it touches say so (module
/// docs), or only those of its statements they refuse ([`Refusals`]); `authenticated` is
/// who authentication found the call comes from, `source_ip` the caller's address (a
/// node's, for a call it relays), `relayed` tells whether a dax-proxy node relays it (asked
/// only when authentication did not already trust the node). A body that cannot be read
/// as JSON is refused (SerializationException).
///
/// Until a policy is attached or a key names a principal, every caller is of this account
/// and nothing can refuse it: the call costs a relaxed load, nothing more.
pub fn authorize(
    app: &App,
    (authenticated, source_ip): (&Authenticated<'_>, Option<std::net::IpAddr>),
    relayed: impl FnOnce() -> bool,
    op: Op,
    body: &[u8],
) -> Result<Refusals, ApiError> {
    if !authenticated.names_principals() && !app.policies.any() {
        return Ok(Refusals::default());
    }
    let relayed = matches!(authenticated, Authenticated::Trusted) || relayed();
    let caller = &Caller::of(app, authenticated, relayed);
    let foreign = caller.account != app.config.account_id;
    if !foreign && (!app.policies.any() || is_root_deleting_a_policy(app, caller, op)) {
        return Ok(Refusals::default());
    }
    // A body its handler could read but this cannot (a number past f64's range, a lone
    // surrogate, in a member the handler ignores) is refused rather than let through
    // unchecked; one that is not JSON at all its handler refuses anyway.
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::bare(ErrorCode::SerializationException));
    };
    let targets = targets(app, op, &request);
    if targets.is_empty() && foreign {
        let anywhere = format!("{}*", app.config.table_arn(""));
        return Err(refused(
            caller,
            &format!("dynamodb:{}", op.name()),
            &anywhere,
            false,
        ));
    }
    let mut refusals = Refusals::default();
    for Target {
        action,
        resource,
        leading_keys,
        attributes,
        parameters,
        statement,
    } in targets
    {
        let verdict = match policy_of(app, &resource) {
            Some(document) => {
                // What the call names is read only for a policy that asks.
                let read = |key: &str, reading: &Reading<'_>| match document.has_condition_on(key) {
                    true => reading(),
                    false => Found::Absent,
                };
                let leading_keys = read(document::LEADING_KEYS, &leading_keys);
                let attributes = read(document::ATTRIBUTES, &attributes);
                evaluate::evaluate(
                    &document,
                    &Request {
                        principal_arn: &caller.arn,
                        principal_account: &caller.account,
                        action: &action,
                        resource: &resource,
                        source_ip,
                        leading_keys: leading_keys.view(),
                        attributes: attributes.view(),
                        parameters: &parameters,
                    },
                )
            }
            None => Verdict::Silent,
        };
        let refusal = match verdict {
            Verdict::Deny => refused(caller, &action, &resource, true),
            Verdict::Silent if foreign => refused(caller, &action, &resource, false),
            _ => continue,
        };
        match statement {
            Some(position) => refusals.0.push((position, refusal)),
            None => return Err(refusal),
        }
    }
    Ok(refusals)
}

fn refused(caller: &Caller, action: &str, resource: &str, explicit: bool) -> ApiError {
    let why = if explicit {
        "with an explicit deny in a resource-based policy".to_string()
    } else {
        format!("because no resource-based policy allows the {action} action")
    };
    ApiError::new(
        ErrorCode::AccessDeniedException,
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
            caller.arn
        ),
    )
}

/// The policy that governs `resource` (a table, index or stream ARN), parsed.
fn policy_of(app: &App, resource: &str) -> Option<Arc<document::Document>> {
    let (table, slot) = locate(app, resource)?;
    let meta = app.catalog.get(table)?;
    let attached = policies(&meta).remove(slot)?;
    app.policies.document(&meta.table_uuid, slot, &attached)
}

/// The table a resource ARN belongs to, and the policy slot that governs it.
pub fn locate<'a>(app: &App, resource: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = resource.strip_prefix(&app.config.table_arn(""))?;
    match rest.split_once('/') {
        None => Some((rest, TABLE_SLOT)),
        Some((table, tail)) if tail.starts_with("index/") => Some((table, TABLE_SLOT)),
        Some((table, tail)) if tail.starts_with("stream/") => Some((table, resource)),
        Some(_) => None,
    }
}

/// One thing a call does: an action on a resource, the partition keys of the items it
/// names there, and the attribute names it reads or writes.
struct Target<'r> {
    action: String,
    resource: String,
    leading_keys: Reading<'r>,
    attributes: Reading<'r>,
    /// The request's own condition keys ([`parameters`]).
    parameters: Vec<(&'static str, String)>,
    /// The position of the BatchExecuteStatement statement it is, refused on its own.
    statement: Option<usize>,
}

/// How a target's keys or attribute names are read from the request: only when the
/// policy that governs it has a condition on them (reading may parse expressions or plan
/// a statement).
type Reading<'r> = Box<dyn Fn() -> Found + 'r>;

/// A reading of values already known.
fn known<'r>(found: Found) -> Reading<'r> {
    Box::new(move || found.clone())
}

/// [`Values`], owned.
#[derive(Debug, Clone)]
enum Found {
    Absent,
    Known(Vec<String>),
    Unknown,
}

impl Found {
    /// The values `leading_keys` or `attributes` found for a call that names some;
    /// `None`: it could not list them.
    fn of(values: Option<Vec<String>>) -> Found {
        values.map_or(Found::Unknown, Found::Known)
    }

    fn view(&self) -> Values<'_> {
        match self {
            Found::Absent => Values::Absent,
            Found::Known(values) => Values::Known(values),
            Found::Unknown => Values::Unknown,
        }
    }
}

/// What a call touches.
fn targets<'r>(app: &'r App, op: Op, request: &'r Value) -> Vec<Target<'r>> {
    let table_arn = |name: &str| app.config.table_arn(app.catalog.resolve_name(name));
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let target = |name: &str, resource: String, leading_keys, attributes| Target::<'r> {
        action: format!("dynamodb:{name}"),
        resource,
        leading_keys,
        attributes,
        parameters: parameters(op, request),
        statement: None,
    };
    let mut out = Vec::new();
    match op {
        Op::BatchGetItem => {
            if let Some(tables) = request.get("RequestItems").and_then(Value::as_object) {
                for (name, entry) in tables {
                    let keys = list(entry, "Keys");
                    let leading: Reading<'r> =
                        Box::new(move || Found::of(leading_keys::of_items(app, name, keys)));
                    let names: Reading<'r> = Box::new(move || {
                        Found::of(attributes::of_part(app, Call::BatchGetTable, entry))
                    });
                    out.push(target(op.name(), table_arn(name), leading, names));
                }
            }
        }
        Op::BatchWriteItem => {
            if let Some(tables) = request.get("RequestItems").and_then(Value::as_object) {
                for (name, writes) in tables {
                    let leading: Reading<'r> = Box::new(move || {
                        let items = writes.as_array().into_iter().flatten().filter_map(|w| {
                            w.pointer("/PutRequest/Item")
                                .or_else(|| w.pointer("/DeleteRequest/Key"))
                        });
                        Found::of(leading_keys::of_items(app, name, items))
                    });
                    let names: Reading<'r> =
                        Box::new(move || Found::of(attributes::of_writes(writes)));
                    out.push(target(op.name(), table_arn(name), leading, names));
                }
            }
        }
        Op::TransactGetItems | Op::TransactWriteItems => {
            for entry in list(request, "TransactItems") {
                let Some(kinds) = entry.as_object() else {
                    continue;
                };
                for (kind, detail) in kinds {
                    let name = match kind.as_str() {
                        "Get" => "GetItem",
                        "Put" => "PutItem",
                        "Update" => "UpdateItem",
                        "Delete" => "DeleteItem",
                        "ConditionCheck" => "ConditionCheckItem",
                        _ => continue,
                    };
                    if let Some(table) = text(detail, "TableName") {
                        let item = detail.get(item_member(name));
                        let arn = table_arn(&table);
                        let leading: Reading<'r> =
                            Box::new(move || Found::of(leading_keys::of_items(app, &table, item)));
                        let call = match kind.as_str() {
                            "Get" => Call::TransactGet,
                            "Put" => Call::TransactPut,
                            "Update" => Call::TransactUpdate,
                            _ => Call::TransactDeleteOrCheck,
                        };
                        let names: Reading<'r> =
                            Box::new(move || Found::of(attributes::of_part(app, call, detail)));
                        out.push(target(name, arn, leading, names));
                    }
                }
            }
        }
        Op::GetRecords => {
            let iterator = text(request, "ShardIterator");
            if let Some(it) = iterator.and_then(|i| ShardIterator::decode(&i)) {
                let absent = || known(Found::Absent);
                out.push(target(op.name(), it.stream_arn, absent(), absent()));
            }
        }
        Op::ExecuteStatement => out.extend(statement_target(app, op, request, request, true)),
        Op::BatchExecuteStatement | Op::ExecuteTransaction => {
            let (member, most) = match op {
                Op::BatchExecuteStatement => {
                    ("Statements", batch_execute_statement::MAX_STATEMENTS)
                }
                _ => ("TransactStatements", execute_transaction::MAX_STATEMENTS),
            };
            let entries = list(request, member);
            // More than the handler takes are refused whole by it: not worth planning.
            let plan = entries.len() <= most;
            // A batch's statements are answered one by one, refusals too; a transaction's
            // are all or nothing.
            let alone = op == Op::BatchExecuteStatement;
            for (position, entry) in entries.iter().enumerate() {
                let target = statement_target(app, op, request, entry, plan);
                out.extend(target.map(|t| Target {
                    statement: alone.then_some(position),
                    ..t
                }));
            }
        }
        _ => {
            // Only the member the operation's input has: a handler ignores the others, so
            // a policy must not be chosen by them.
            let (members, arn) = resource_member(op);
            let named = members.iter().find_map(|member| text(request, member));
            let table = named.clone().filter(|_| !arn);
            let resource = match (named, &table) {
                (Some(arn), None) => Some(arn),
                (_, Some(name)) => Some(match text(request, "IndexName") {
                    Some(index) if matches!(op, Op::Query | Op::Scan) => {
                        format!("{}/index/{index}", table_arn(name))
                    }
                    _ => table_arn(name),
                }),
                (None, None) => None,
            };
            let leading: Reading<'r> = match op {
                Op::GetItem | Op::UpdateItem | Op::DeleteItem | Op::PutItem => {
                    let item = request.get(item_member(op.name()));
                    let table = table.clone();
                    Box::new(move || {
                        let found = table
                            .as_deref()
                            .and_then(|t| leading_keys::of_items(app, t, item));
                        Found::of(found)
                    })
                }
                Op::Query => Box::new(move || Found::of(leading_keys::of_query(app, request))),
                _ => known(Found::Absent),
            };
            let call = match op {
                Op::GetItem => Some(Call::GetItem),
                Op::PutItem => Some(Call::PutItem),
                Op::UpdateItem => Some(Call::UpdateItem),
                Op::DeleteItem => Some(Call::DeleteItem),
                Op::Query => Some(Call::Query),
                Op::Scan => Some(Call::Scan),
                _ => None,
            };
            let names: Reading<'r> = match call {
                Some(call) => Box::new(move || Found::of(attributes::of_part(app, call, request))),
                None => known(Found::Absent),
            };
            out.extend(resource.map(|r| target(op.name(), r, leading, names)));
        }
    }
    out
}

/// The members of `op`'s input that name what it acts on, in the order its handler tries
/// them, and whether the value is an ARN taken as it is (`false`: a table's name or ARN,
/// resolved to the table's ARN as the handler resolves it). Calls outside the item,
/// batch, transaction and PartiQL ones only.
fn resource_member(op: Op) -> (&'static [&'static str], bool) {
    match op {
        Op::PutResourcePolicy
        | Op::GetResourcePolicy
        | Op::DeleteResourcePolicy
        | Op::TagResource
        | Op::UntagResource
        | Op::ListTagsOfResource => (&["ResourceArn"], true),
        Op::DescribeStream | Op::GetShardIterator => (&["StreamArn"], true),
        // The export handler resolves it as a table name or ARN.
        Op::ExportTableToPointInTime => (&["TableArn"], false),
        Op::RestoreTableToPointInTime => (&["SourceTableName", "SourceTableArn"], false),
        _ => (&["TableName"], false),
    }
}

/// The member of an item action's request (`PutItem`, ...) that holds the item's key, as
/// its handler reads it: a put's `Item`, every other's `Key`.
fn item_member(action: &str) -> &'static str {
    if action == "PutItem" {
        "Item"
    } else {
        "Key"
    }
}

/// The request's own condition keys, those it has: `dynamodb:Select`, `ReturnValues` and
/// `ReturnConsumedCapacity` as `request` gives them, `dynamodb:FullTableScan` for a Scan,
/// and for a transaction's members `dynamodb:EnclosingOperation`.
fn parameters(op: Op, request: &Value) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = [
        ("dynamodb:select", "Select"),
        ("dynamodb:returnvalues", "ReturnValues"),
        ("dynamodb:returnconsumedcapacity", "ReturnConsumedCapacity"),
    ]
    .into_iter()
    .filter_map(|(key, member)| Some((key, request.get(member)?.as_str()?.to_string())))
    .collect();
    if op == Op::Scan {
        out.push(("dynamodb:fulltablescan", "true".to_string()));
    }
    if matches!(op, Op::TransactGetItems | Op::TransactWriteItems) {
        out.push(("dynamodb:enclosingoperation", op.name().to_string()));
    }
    out
}

fn list<'a>(request: &'a Value, member: &str) -> &'a [Value] {
    request
        .get(member)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A PartiQL statement's action and resource (`entry`: its `Statement` and
/// `Parameters`; `request`: the call that carries it): the table, or the index a SELECT
/// reads, as Query and Scan name theirs. Nothing if it does not parse (its handler
/// answers that). With `plan`, its keys and whether it reads the whole table come from
/// planning it as its handler does; a statement not planned, or that does not plan,
/// names keys not known here and counts as a full scan (both fail closed).
fn statement_target<'r>(
    app: &'r App,
    op: Op,
    request: &Value,
    entry: &'r Value,
    plan: bool,
) -> Option<Target<'r>> {
    let text = entry.get("Statement")?.as_str()?;
    let parsed = shared::partiql::parse(text).ok()?.statement;
    // A statement's RETURNING is its ReturnValues.
    let (kind, index, returning) = match &parsed {
        Statement::Select(select) => ("PartiQLSelect", select.index.as_deref(), None),
        Statement::Exists(_) => ("PartiQLSelect", None, None),
        Statement::Insert(_) => ("PartiQLInsert", None, None),
        Statement::Update(update) => ("PartiQLUpdate", None, update.returning),
        Statement::Delete(delete) => ("PartiQLDelete", None, delete.returning),
    };
    let table = app
        .config
        .table_arn(app.catalog.resolve_name(parsed.table()));
    let resource = match index {
        Some(index) => format!("{table}/index/{index}"),
        None => table,
    };
    let planned = plan
        .then(|| leading_keys::of_statement(app, entry))
        .flatten();
    let (leading_keys, full_scan) = match planned {
        Some(planned) => (
            planned.keys.map_or(Found::Absent, Found::Known),
            planned.full_scan,
        ),
        None => (Found::Unknown, true),
    };
    let attributes: Reading<'r> =
        Box::new(move || Found::of(attributes::of_statement(app, &parsed, entry)));
    let mut parameters = parameters(op, request);
    parameters.push(("dynamodb:fulltablescan", full_scan.to_string()));
    if let Some(returning) = returning {
        parameters.push((
            "dynamodb:returnvalues",
            returning.return_values().to_string(),
        ));
    }
    Some(Target {
        action: format!("dynamodb:{kind}"),
        resource,
        leading_keys: known(leading_keys),
        attributes,
        parameters,
        statement: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use shared::wire::sigv4::LiveKeys;

    /// A key removed from the credentials file between a call's authentication and its
    /// policy check: the call is still judged as the principal its key named when its
    /// signature was verified, not as the default user of this account a key unknown to
    /// the reloaded file would be.
    #[test]
    fn the_principal_comes_from_the_keys_the_call_was_verified_against() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, "AKIDEVE secret arn:aws:iam::999988887777:user/eve\n").unwrap();
        let keys = Arc::new(LiveKeys::load(&path).unwrap());
        let mut config = crate::config::Config::for_tests(dir.path());
        config.keys = Some(Arc::clone(&keys));
        let app = App::for_tests_with(config);

        // What authentication verified the call against, then the reload.
        let who = Authenticated::Key {
            keys: keys.current(),
            id: "AKIDEVE",
        };
        std::fs::write(&path, "AKIDOTHER other-secret\n").unwrap();
        assert_eq!(
            keys.reload_if_changed(),
            shared::wire::sigv4::live_keys::Reload::Reloaded(1)
        );

        let caller = Caller::of(&app, &who, false);
        assert_eq!(caller.arn, "arn:aws:iam::999988887777:user/eve");
        // Another account's principal reaches nothing no policy grants it.
        let refused = authorize(&app, (&who, None), || false, Op::ListTables, b"{}");
        assert_eq!(
            refused.map(|_| ()).map_err(|e| e.code),
            Err(ErrorCode::AccessDeniedException)
        );
    }
}
