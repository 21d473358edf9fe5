//! UpdateContributorInsights, DescribeContributorInsights and ListContributorInsights: the
//! settings of `crate::contributors`, which explains what is tracked and where it shows.
//!
//! As in DynamoDB (a live service's answers, recorded):
//! - Update answers `ENABLING` or `DISABLING` with the mode; Describe then reads `ENABLED`
//!   or `DISABLED` (here at once: the trackers start before Update answers). Disabling what
//!   was never enabled answers `DISABLED`.
//! - Describe of a table or GSI never configured carries only its names and `DISABLED`;
//!   once configured, also `LastUpdateDateTime` and the mode, and while enabled the rule
//!   names.
//! - List shows what is not `DISABLED`: each table (by name), then its GSIs (by name).
//! - A missing table is `Requested resource not found: Table: X not found`; a name that is
//!   not one of its GSIs (an LSI's included) `Index: X not found for table: T`.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::catalog::{IndexStatus, TableMeta, TableStatus};
use crate::contributors::{self, Setting, Settings, DEFAULT_MODE, MODES};

const ACTIONS: &[&str] = &["ENABLE", "DISABLE"];
const MAX_RESULTS: i64 = 100;

/// UpdateContributorInsights's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    pub table_name: Option<String>,
    pub index_name: Option<String>,
    pub contributor_insights_action: Option<String>,
    pub contributor_insights_mode: Option<String>,
}

/// DescribeContributorInsights's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    pub table_name: Option<String>,
    pub index_name: Option<String>,
}

/// ListContributorInsights's request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    pub table_name: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

pub async fn update(app: &App, input: UpdateInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    v.name("indexName", input.index_name.as_deref(), 3, 255);
    let action = input.contributor_insights_action.as_deref();
    if v.not_null("contributorInsightsAction", action.is_some()) {
        v.enumeration("contributorInsightsAction", action, ACTIONS);
    }
    let mode = input.contributor_insights_mode.as_deref();
    v.enumeration("contributorInsightsMode", mode, MODES);
    v.finish()?;
    let enable = action == Some("ENABLE");
    let name = table_name(app, input.table_name.as_deref());
    let index = input.index_name.as_deref();
    let now = shared::clock::now_seconds();
    let mut outcome = None;
    app.catalog
        .update(&app.storage, &name, |table| {
            let index_id = resolve(table, index)?;
            if enable {
                check_active(table, index_id)?;
            }
            let mut settings = Settings::of(table);
            let current = settings.get(index_id).cloned();
            let next = match (&current, enable) {
                // Enabling: a new rule set, unless it is on already in the same mode.
                (Some(s), true) if s.enabled && mode.is_none_or(|m| m == s.mode) => s.clone(),
                (_, true) => Setting {
                    enabled: true,
                    mode: mode.unwrap_or(DEFAULT_MODE).to_string(),
                    last_update: now,
                    enabled_at_ms: (now * 1000.0) as u64,
                },
                (Some(s), false) if s.enabled => Setting {
                    enabled: false,
                    last_update: now,
                    ..s.clone()
                },
                // Disabling what is off changes nothing.
                (Some(s), false) => s.clone(),
                (None, false) => {
                    outcome = Some(("DISABLED", None));
                    return Ok(());
                }
            };
            outcome = Some((
                if enable { "ENABLING" } else { "DISABLING" },
                Some(next.mode.clone()),
            ));
            match index_id {
                None => settings.table = Some(next),
                Some(id) => {
                    settings.indexes.insert(id, next);
                }
            }
            settings.store(table).map_err(|_| ApiError::internal())
        })
        .await?;
    contributors::sync(app);
    let (status, mode) = outcome.unwrap_or(("DISABLED", None));
    let mut out = names(&name, index);
    out.insert("ContributorInsightsStatus".into(), json!(status));
    if let Some(mode) = mode {
        out.insert("ContributorInsightsMode".into(), json!(mode));
    }
    Ok(Value::Object(out))
}

pub async fn describe(app: &App, input: DescribeInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    v.name("indexName", input.index_name.as_deref(), 3, 255);
    v.finish()?;
    let name = table_name(app, input.table_name.as_deref());
    let index = input.index_name.as_deref();
    let table = app.catalog.table_for_control(&name)?;
    let index_id = resolve(&table, index)?;
    let mut out = names(&name, index);
    let Some(setting) = Settings::of(&table).get(index_id).cloned() else {
        out.insert("ContributorInsightsStatus".into(), json!("DISABLED"));
        return Ok(Value::Object(out));
    };
    if setting.enabled {
        let (resource, has_sort_key) = match index {
            None => (name.clone(), table.schema().range.is_some()),
            Some(index) => (
                format!("{name}-{index}"),
                table
                    .global_index(index)
                    .is_some_and(|i| i.schema.range.is_some()),
            ),
        };
        out.insert(
            "ContributorInsightsRuleList".into(),
            json!(contributors::rule_names(&setting, &resource, has_sort_key)),
        );
    }
    out.insert(
        "ContributorInsightsStatus".into(),
        json!(status_of(&setting)),
    );
    out.insert("LastUpdateDateTime".into(), json!(setting.last_update));
    out.insert("ContributorInsightsMode".into(), json!(setting.mode));
    Ok(Value::Object(out))
}

pub async fn list(app: &App, input: ListInput) -> Result<Value, ApiError> {
    let mut v = Violations::new();
    if input.table_name.is_some() {
        validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    }
    v.at_most("maxResults", input.max_results, MAX_RESULTS);
    v.finish()?;
    let tables = match input.table_name.as_deref() {
        Some(raw) => vec![app.catalog.table_for_control(&table_name(app, Some(raw)))?],
        None => {
            let mut all = app.catalog.all();
            all.sort_by(|a, b| a.name().cmp(b.name()));
            all
        }
    };
    // Position of an entry: (table, index), the table's own entry ("") before its GSIs'.
    let after = input
        .next_token
        .as_deref()
        .map(|token| match token.split_once('/') {
            Some((table, index)) => (table.to_string(), index.to_string()),
            None => (token.to_string(), String::new()),
        });
    let limit = input.max_results.unwrap_or(MAX_RESULTS).max(1) as usize;
    let mut entries = Vec::new();
    for table in &tables {
        let settings = Settings::of(table);
        let mut gsis: Vec<(&str, u16)> = table
            .global_indexes
            .iter()
            .map(|i| (i.name.as_str(), i.index_id))
            .collect();
        gsis.sort();
        let candidates = std::iter::once(("", settings.table.as_ref()))
            .chain(gsis.iter().map(|(n, id)| (*n, settings.indexes.get(id))));
        for (index, setting) in candidates {
            let Some(setting) = setting.filter(|s| s.enabled) else {
                continue;
            };
            let position = (table.name().to_string(), index.to_string());
            if after.as_ref().is_some_and(|after| &position <= after) {
                continue;
            }
            entries.push((position, setting.clone()));
        }
    }
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next_token = more
        .then(|| entries.last())
        .flatten()
        .map(|((table, index), _)| match index.as_str() {
            "" => table.clone(),
            index => format!("{table}/{index}"),
        });
    let summaries: Vec<Value> = entries
        .iter()
        .map(|((table, index), setting)| {
            let mut summary = names(table, Some(index.as_str()).filter(|i| !i.is_empty()));
            summary.insert(
                "ContributorInsightsStatus".into(),
                json!(status_of(setting)),
            );
            summary.insert("ContributorInsightsMode".into(), json!(setting.mode));
            Value::Object(summary)
        })
        .collect();
    let mut out = json!({ "ContributorInsightsSummaries": summaries });
    if let Some(token) = next_token {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}

/// The table's name, also when the request gave its ARN.
fn table_name(app: &App, raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    app.catalog.resolve_name(raw).to_string()
}

/// The GSI id `index` names (`None` for the table itself), or DynamoDB's not-found error.
fn resolve(table: &TableMeta, index: Option<&str>) -> Result<Option<u16>, ApiError> {
    let Some(index) = index else {
        return Ok(None);
    };
    match table.global_index(index) {
        Some(gsi) => Ok(Some(gsi.index_id)),
        None => Err(ApiError::new(
            ErrorCode::ResourceNotFoundException,
            format!(
                "Requested resource not found: Index: {index} not found for table: {}",
                table.name()
            ),
        )),
    }
}

/// Contributor Insights can be enabled only on an active table and GSI.
fn check_active(table: &TableMeta, index_id: Option<u16>) -> Result<(), ApiError> {
    let invalid = |what: &str| {
        Err(ApiError::validation(format!(
            "Table or Index is not in a valid state to update Key Access Insights: {what} must be ACTIVE to enable ContributorInsights."
        )))
    };
    if table.status == TableStatus::Creating || table.status == TableStatus::Deleting {
        return invalid("TableStatus");
    }
    let index = table
        .global_indexes
        .iter()
        .find(|i| Some(i.index_id) == index_id);
    if index.is_some_and(|i| i.status != IndexStatus::Active || i.backfilling) {
        return invalid("IndexStatus");
    }
    Ok(())
}

fn status_of(setting: &Setting) -> &'static str {
    if setting.enabled {
        "ENABLED"
    } else {
        "DISABLED"
    }
}

/// `{TableName[, IndexName]}`.
fn names(table: &str, index: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("TableName".into(), json!(table));
    if let Some(index) = index {
        out.insert("IndexName".into(), json!(index));
    }
    out
}
