//! PutResourcePolicy, GetResourcePolicy and DeleteResourcePolicy: the policy of a table
//! (covering its indexes) or of its stream (`crate::policy` enforces them).
//!
//! Each attached policy has a revision id. `ExpectedRevisionId` makes a put or delete
//! conditional on the current revision (`NO_POLICY`: on there being none); a mismatch, like
//! a missing policy, is PolicyNotFoundException. Putting the same document again changes
//! nothing and answers the same revision.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::policy::{self, Attached};

/// The revision a put may expect when there is no policy yet.
const NO_POLICY: &str = "NO_POLICY";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyInput {
    pub resource_arn: Option<String>,
    pub policy: Option<String>,
    pub expected_revision_id: Option<String>,
    pub confirm_remove_self_resource_access: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceInput {
    pub resource_arn: Option<String>,
    pub expected_revision_id: Option<String>,
}

fn check_arn(v: &mut Violations, arn: Option<&str>) {
    if v.not_null("resourceArn", arn.is_some()) {
        v.length("resourceArn", arn, 1, 1283);
    }
}

fn not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceNotFoundException,
        format!("Requested resource not found: {arn}"),
    )
}

fn no_policy(arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::PolicyNotFoundException,
        format!("Resource-based policy not found for the provided ResourceArn: {arn}"),
    )
}

/// The table `arn` belongs to and its policy slot, once the table (and the stream, for a
/// stream ARN) is known to exist.
fn resource<'a>(app: &App, arn: &'a str) -> Result<(&'a str, &'a str), ApiError> {
    let (table, slot) = policy::locate(app, arn).ok_or_else(|| not_found(arn))?;
    let meta = app.catalog.get(table).ok_or_else(|| not_found(arn))?;
    // Policies attach to the table itself or to its stream, not to an index.
    let attachable = arn == meta.arn || meta.stream.as_ref().is_some_and(|s| s.arn == arn);
    if attachable {
        Ok((table, slot))
    } else {
        Err(not_found(arn))
    }
}

/// Whether `current` is what the caller expected it to be.
fn as_expected(expected: Option<&str>, current: Option<&Attached>) -> bool {
    match (expected, current) {
        (None, _) => true,
        (Some(NO_POLICY), current) => current.is_none(),
        (Some(id), Some(current)) => current.revision_id == id,
        (Some(_), None) => false,
    }
}

/// Validates the ARN and revision members (and `also`), then changes the policy in the
/// slot of `arn` under the catalog's lock: `change` gets the current policy, already
/// checked against `expected`, and returns what to keep (`None`: remove it) and the
/// revision to answer.
async fn revise(
    app: &App,
    arn: Option<&str>,
    expected: Option<&str>,
    also: impl FnOnce(&mut Violations),
    change: impl FnOnce(Option<&Attached>) -> Result<(Option<Attached>, String), ApiError>,
) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    check_arn(&mut v, arn);
    also(&mut v);
    v.length("expectedRevisionId", expected, 1, 255);
    v.finish()?;
    let arn = arn.unwrap_or_default();
    let (table, slot) = resource(app, arn)?;
    let mut revision = String::new();
    app.catalog
        .update(&app.storage, table, |meta| {
            let mut policies = policy::policies(meta);
            let current = policies.get(slot);
            if !as_expected(expected, current) {
                return Err(no_policy(arn));
            }
            let (next, answer) = change(current)?;
            revision = answer;
            match next {
                Some(next) => policies.insert(slot.to_string(), next),
                None => policies.remove(slot),
            };
            policy::store_policies(&mut meta.settings, &policies);
            Ok(())
        })
        .await?;
    Ok(json!({ "RevisionId": revision }))
}

pub async fn put(app: &App, input: PutResourcePolicyInput) -> Result<Value, ApiError> {
    let text = input.policy.as_deref();
    let answer = revise(
        app,
        input.resource_arn.as_deref(),
        input.expected_revision_id.as_deref(),
        |v| {
            v.not_null("policy", text.is_some());
        },
        |current| {
            let text = text.unwrap_or_default();
            policy::document::parse(text)?;
            let next = match current {
                Some(same) if same.policy == text => same.clone(),
                current => Attached::new_revision(text, current),
            };
            let revision = next.revision_id.clone();
            Ok((Some(next), revision))
        },
    )
    .await?;
    app.policies.note();
    Ok(answer)
}

pub async fn get(app: &App, input: ResourceInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    check_arn(&mut v, input.resource_arn.as_deref());
    v.finish()?;
    let arn = input.resource_arn.as_deref().unwrap_or_default();
    let (table, slot) = resource(app, arn)?;
    let meta = app.catalog.get(table).ok_or_else(|| not_found(arn))?;
    let attached = policy::policies(&meta)
        .remove(slot)
        .ok_or_else(|| no_policy(arn))?;
    Ok(json!({ "Policy": attached.policy, "RevisionId": attached.revision_id }))
}

pub async fn delete(app: &App, input: ResourceInput) -> Result<Value, ApiError> {
    let arn = input.resource_arn.as_deref();
    revise(
        app,
        arn,
        input.expected_revision_id.as_deref(),
        |_| {},
        |current| match current {
            Some(current) => Ok((None, current.revision_id.clone())),
            None => Err(no_policy(arn.unwrap_or_default())),
        },
    )
    .await
}
