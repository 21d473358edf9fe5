//! Restore overrides (RestoreTableFromBackup and RestoreTableToPointInTime): the restored
//! table's billing mode and capacity, which of the source's secondary indexes it keeps
//! (with their projections and capacity), and its encryption.
//!
//! DynamoDB's rule for index overrides: "the indexes provided should match existing
//! secondary indexes; you can choose to exclude some or all of them". So an override list
//! names indexes of the source with the source's key schema; indexes it leaves out are not
//! restored, and an empty list restores none. Without an index override the source's
//! indexes are kept; on a switch to PROVISIONED their capacity must then come from an
//! override, as CreateTable requires it.
//!
//! Everything is checked before the restored table exists, so a bad override creates
//! nothing.

use serde::Deserialize;
use shared::wire::error::ApiError;
use shared::wire::ops::create_table::{
    GlobalSecondaryIndex, LocalSecondaryIndex, OnDemandThroughput, ProvisionedThroughput,
    SseSpecification,
};
use shared::wire::ops::validate::Violations;

use crate::api::create_table::{billing_throughput, plan_global, plan_local_index};
use crate::app::App;
use crate::catalog::definition::{self as def, BILLING_MODES};
use crate::catalog::{BillingMode, IndexMeta, TableMeta, Throughput};
use shared::clock::now_seconds;

/// The override members of both restore requests.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreOverrides {
    pub billing_mode_override: Option<String>,
    pub provisioned_throughput_override: Option<ProvisionedThroughput>,
    pub on_demand_throughput_override: Option<OnDemandThroughput>,
    pub global_secondary_index_override: Option<Vec<GlobalSecondaryIndex>>,
    pub local_secondary_index_override: Option<Vec<LocalSecondaryIndex>>,
    #[serde(rename = "SSESpecificationOverride")]
    pub sse_specification_override: Option<SseSpecification>,
}

impl RestoreOverrides {
    /// Request-model constraints, collected with the request's others.
    pub fn check_model(&self, v: &mut Violations) {
        v.enumeration(
            "billingModeOverride",
            self.billing_mode_override.as_deref(),
            BILLING_MODES,
        );
        // Capacity as CreateTable checks it: a unit below 1, or one left out, made an
        // ACTIVE table with negative capacity that no UpdateTable could then mend.
        def::check_throughput(
            v,
            "provisionedThroughputOverride",
            self.provisioned_throughput_override.as_ref(),
        );
        for (i, index) in self
            .global_secondary_index_override
            .iter()
            .flatten()
            .enumerate()
        {
            crate::api::create_table::check_gsi_model(
                v,
                &def::element_path("globalSecondaryIndexOverride", i),
                index,
            );
        }
        for (i, index) in self
            .local_secondary_index_override
            .iter()
            .flatten()
            .enumerate()
        {
            def::check_index(
                v,
                &def::element_path("localSecondaryIndexOverride", i),
                index.index_name.as_deref(),
                index.key_schema.as_deref(),
                index.projection.as_ref(),
                def::MAX_KEY_ELEMENTS,
            );
        }
    }

    /// The definition the restored table gets: `source` with the overrides applied (ids,
    /// names and ARNs are the restore's to set).
    pub fn apply(&self, app: &App, source: &TableMeta) -> Result<TableMeta, ApiError> {
        let now = now_seconds();
        let mut meta = source.clone();
        let billing = self
            .billing_mode_override
            .as_deref()
            .and_then(BillingMode::parse)
            .unwrap_or(source.billing_mode);
        // Without a capacity override a provisioned source lends its own.
        let kept =
            (source.billing_mode == BillingMode::Provisioned).then_some(ProvisionedThroughput {
                read_capacity_units: Some(source.throughput.read),
                write_capacity_units: Some(source.throughput.write),
            });
        let requested = match (&self.provisioned_throughput_override, billing) {
            (Some(t), _) => Some(t),
            (None, BillingMode::Provisioned) => kept.as_ref(),
            (None, BillingMode::PayPerRequest) => None,
        };
        let (read, write) = billing_throughput(billing, requested)?;
        meta.throughput = Throughput::new(read, write);
        if billing != source.billing_mode {
            meta.billing_mode = billing;
            meta.last_update_to_pay_per_request =
                (billing == BillingMode::PayPerRequest).then_some(now);
        }
        // On-demand limits only mean something on an on-demand table.
        meta.on_demand_throughput = match (&self.on_demand_throughput_override, billing) {
            (Some(limits), _) => Some(limits.clone()),
            (None, BillingMode::PayPerRequest) => source.on_demand_throughput.clone(),
            (None, BillingMode::Provisioned) => None,
        };
        def::check_on_demand(meta.on_demand_throughput.as_ref(), billing, None)?;

        meta.global_indexes = match &self.global_secondary_index_override {
            Some(list) => global_overrides(source, list, billing)?,
            None => source
                .global_indexes
                .iter()
                .map(|index| rebill(index, source.billing_mode, billing))
                .collect::<Result<_, _>>()?,
        };
        if let Some(list) = &self.local_secondary_index_override {
            meta.local_indexes = local_overrides(source, list)?;
        }
        if let Some(spec) = &self.sse_specification_override {
            meta.sse = def::parse_sse(spec, &app.config.region, &app.config.account_id)?;
        }
        // Definitions are exactly the attributes keys use: drop those of dropped indexes.
        let used: Vec<&str> = std::iter::once(&meta.layout.schema)
            .chain(meta.local_indexes.iter().map(|i| &i.schema))
            .chain(meta.global_indexes.iter().map(|i| &i.schema))
            .flat_map(|s| s.attributes())
            .map(|k| k.name.as_str())
            .collect();
        let definitions = std::mem::take(&mut meta.attribute_definitions);
        meta.attribute_definitions = definitions
            .into_iter()
            .filter(|d| used.contains(&d.name.as_str()))
            .collect();
        Ok(meta)
    }
}

/// A kept GSI under the restored table's billing mode: capacity dropped for on-demand;
/// a switch to provisioned needs the index's capacity from an override.
fn rebill(index: &IndexMeta, from: BillingMode, to: BillingMode) -> Result<IndexMeta, ApiError> {
    let mut index = index.clone();
    match (from, to) {
        (_, BillingMode::PayPerRequest) => index.throughput = Some(Throughput::new(0, 0)),
        (BillingMode::PayPerRequest, BillingMode::Provisioned) => {
            return Err(ApiError::invalid_parameter(format!(
                "ProvisionedThroughput is not specified for index: {}",
                index.name
            )))
        }
        (BillingMode::Provisioned, BillingMode::Provisioned) => {}
    }
    Ok(index)
}

/// The source's GSIs that `list` names, with the projection and capacity it gives them.
fn global_overrides(
    source: &TableMeta,
    list: &[GlobalSecondaryIndex],
    billing: BillingMode,
) -> Result<Vec<IndexMeta>, ApiError> {
    let mut out: Vec<IndexMeta> = Vec::with_capacity(list.len());
    for requested in list {
        let planned = plan_global(requested, &source.attribute_definitions, billing, true)?;
        let existing = matching(&source.global_indexes, &planned.name, &planned.schema, &out)?;
        let (read, write) = planned.throughput.unwrap_or((0, 0));
        out.push(IndexMeta {
            projection: planned.projection,
            throughput: Some(Throughput::new(read, write)),
            on_demand_throughput: planned.on_demand,
            ..existing.clone()
        });
    }
    Ok(out)
}

/// The source's LSIs that `list` names, with the projection it gives them.
fn local_overrides(
    source: &TableMeta,
    list: &[LocalSecondaryIndex],
) -> Result<Vec<IndexMeta>, ApiError> {
    let mut out: Vec<IndexMeta> = Vec::with_capacity(list.len());
    for requested in list {
        let planned = plan_local_index(
            requested,
            &source.layout.schema,
            &source.attribute_definitions,
        )?;
        let existing = matching(&source.local_indexes, &planned.name, &planned.schema, &out)?;
        out.push(IndexMeta {
            projection: planned.projection,
            ..existing.clone()
        });
    }
    Ok(out)
}

/// The source index an override names, which must exist with the same key schema and be
/// named only once.
fn matching<'a>(
    source: &'a [IndexMeta],
    name: &str,
    schema: &shared::model::KeySchema,
    taken: &[IndexMeta],
) -> Result<&'a IndexMeta, ApiError> {
    if taken.iter().any(|i| i.name == name) {
        return Err(ApiError::invalid_parameter(format!(
            "Duplicate index name: {name}"
        )));
    }
    let existing = source.iter().find(|i| i.name == name).ok_or_else(|| {
        ApiError::invalid_parameter(format!(
            "Index {name} does not exist in the source table; overrides can only keep or exclude existing indexes"
        ))
    })?;
    if &existing.schema != schema {
        return Err(ApiError::invalid_parameter(format!(
            "The KeySchema of index {name} does not match the source table's index"
        )));
    }
    Ok(existing)
}
