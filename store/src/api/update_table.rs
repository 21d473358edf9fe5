//! UpdateTable: billing-mode switches, provisioned-throughput changes (with DynamoDB's
//! LastIncrease/LastDecrease/NumberOfDecreasesToday bookkeeping), GSI create/update/delete,
//! stream enable/disable, SSE, table class and deletion protection, each with the
//! service's validation messages (DYNAMODB.md §6, §7).
//!
//! Changes apply at once; the response says UPDATING (as the service does) when capacity,
//! indexes, streams, encryption or class changed, and the table itself stays ACTIVE. A GSI
//! created here is recorded CREATING with `Backfilling: true`; index maintenance fills it
//! and marks it ACTIVE through `Catalog::update`. A deleted GSI disappears from the
//! description at once (its storage range is left for index maintenance to reclaim).

use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::create_table::ProvisionedThroughput;
use shared::wire::ops::update_table::{
    GlobalSecondaryIndexUpdate, UpdateTableInput, UpdateTableOutput,
};
use shared::wire::ops::validate::{self, Violations};

use crate::api::create_table::{check_gsi_model, current_seq, plan_global};
use crate::api::Asker;
use crate::app::App;
use crate::catalog::definition::{self as def, element_path, BILLING_MODES, MAX_GSIS};
use crate::catalog::warm::{self, Warm};
use crate::catalog::{
    log_detail_with_stream, BillingMode, IndexMeta, IndexStatus, TableMeta, TableStatus, Throughput,
};
use crate::change_quotas::{self, Change};
use crate::storage::Storage;
use crate::streams;
use shared::clock::now_seconds;
use std::sync::Arc;

/// The service's text when nothing in the request changes anything.
pub const NOTHING_TO_UPDATE: &str = "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, \
GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, \
MultiRegionConsistency, DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required";

/// `MultiRegionConsistency` values.
const EVENTUAL: &str = "EVENTUAL";
const STRONG: &str = "STRONG";

pub async fn handle(app: &App, input: UpdateTableInput) -> Result<UpdateTableOutput, ApiError> {
    let (table, output) = update_here(app, &input, Asker::Client).await?;
    crate::replication::control::propagate(app, &table, &input).await;
    Ok(output)
}

/// UpdateTable in this region only: what a global table's other replicas run when the
/// change is made in another region. Returns the table as it now is, and the answer.
pub async fn update_here(
    app: &App,
    input: &UpdateTableInput,
    asker: Asker,
) -> Result<(Arc<TableMeta>, UpdateTableOutput), ApiError> {
    check_model(input)?;
    let name = input.table_name.as_deref().unwrap_or_default();
    // A missing table wins over the request's semantic errors.
    app.catalog.table_for_control(name)?;
    check_multi_region_consistency(input)?;
    let now = now_seconds();
    let region = app.config.region.clone();
    let account = app.config.account_id.clone();
    let seq = current_seq(app);
    let table = match input.replica_updates.as_deref() {
        Some(updates) => {
            check_exclusive(input)?;
            crate::replication::control::update(app, name, updates).await?
        }
        None => {
            app.catalog
                .update(&app.storage, name, |table| {
                    if asker == Asker::Client {
                        table.check_created()?;
                        crate::replication::check_no_replica_being_created(table)?;
                    }
                    // A replica with reads of its own keeps them through the global
                    // table's capacity changes, made here or in another region.
                    let own = crate::replication::own_overrides(table);
                    if own.is_empty() {
                        return apply(table, input, now, seq, &region, &account, &app.storage);
                    }
                    let mut adjusted = input.clone();
                    own.adjust(&mut adjusted);
                    apply(table, &adjusted, now, seq, &region, &account, &app.storage)
                })
                .await?
        }
    };
    if input.stream_specification.is_some() {
        streams::note_stream_change(app, &table).await;
    }
    crate::throttle::apply_limits(&table);
    let reported = if changes_shape(input) {
        TableStatus::Updating
    } else {
        table.status
    };
    let stats = app.storage.table_stats(table.table_id());
    let output = UpdateTableOutput {
        table_description: table.describe(reported, stats, now),
    };
    Ok((table, output))
}

/// Whether the request changes something the service reports as UPDATING.
fn changes_shape(input: &UpdateTableInput) -> bool {
    changes_capacity(input)
        || input.global_secondary_index_updates.is_some()
        || input.vector_index_updates.is_some()
        || input.stream_specification.is_some()
        || input.sse_specification.is_some()
        || input.table_class.is_some()
        || input.replica_updates.is_some()
}

/// Whether the request changes the billing mode or the table's throughput (one kind of
/// change, with rules of its own).
fn changes_capacity(input: &UpdateTableInput) -> bool {
    input.billing_mode.is_some() || input.provisioned_throughput.is_some()
}

/// How many kinds of change the request asks for; an error if one that must come alone
/// comes with others, or if there are none.
fn check_exclusive(input: &UpdateTableInput) -> Result<usize, ApiError> {
    let capacity = changes_capacity(input);
    let sse = input.sse_specification.is_some();
    let class = input.table_class.is_some();
    let protection = input.deletion_protection_enabled.is_some();
    let disassociation = input.disassociation_protection_enabled.is_some();
    let replicas = input.replica_updates.is_some();
    let vector = input.vector_index_updates.is_some();
    let count = [
        capacity,
        input.global_secondary_index_updates.is_some(),
        vector,
        input.stream_specification.is_some(),
        sse,
        class,
        protection,
        disassociation,
        input.on_demand_throughput.is_some(),
        input.warm_throughput.is_some(),
        replicas,
    ]
    .iter()
    .filter(|b| **b)
    .count();
    // An empty GlobalSecondaryIndexUpdates asks for nothing: alone, the request has nothing
    // to update; beside another change it is refused as an empty list.
    let empty_index_updates = input
        .global_secondary_index_updates
        .as_ref()
        .is_some_and(Vec::is_empty);
    if count == 0 || (count == 1 && empty_index_updates) {
        return Err(ApiError::validation(NOTHING_TO_UPDATE));
    }
    let only = |present: bool, what: &str| -> Result<(), ApiError> {
        if present && count > 1 {
            return Err(ApiError::invalid_parameter(format!(
                "{what} modification must be the only operation in the request"
            )));
        }
        Ok(())
    };
    only(replicas, "Replica")?;
    only(sse, "Server-Side Encryption")?;
    only(class, "TableClass")?;
    only(protection, "DeletionProtection")?;
    only(disassociation, "DisassociationProtection")?;
    only(vector, "Vector index")?;
    Ok(count)
}

/// `MultiRegionConsistency` is only for a global table being made, beside a Create in
/// `ReplicaUpdates`, as in DynamoDB; and this store's global tables are eventually
/// consistent (last writer wins), so `STRONG` is refused rather than claimed.
fn check_multi_region_consistency(input: &UpdateTableInput) -> Result<(), ApiError> {
    let Some(consistency) = input.multi_region_consistency.as_deref() else {
        return Ok(());
    };
    let creates_replica = input
        .replica_updates
        .iter()
        .flatten()
        .any(|update| update.get("Create").is_some());
    if !creates_replica {
        return Err(ApiError::validation(
            "MultiRegionConsistency can only be specified when creating a global table: with a \
             Create action in ReplicaUpdates",
        ));
    }
    if consistency == STRONG {
        return Err(ApiError::validation(
            "This store's global tables are eventually consistent across Regions: \
             MultiRegionConsistency STRONG is not supported",
        ));
    }
    Ok(())
}

/// The model constraints, all reported at once.
fn check_model(input: &UpdateTableInput) -> Result<(), ApiError> {
    let mut v = Violations::new();
    def::check_attribute_definitions(
        &mut v,
        "attributeDefinitions",
        input.attribute_definitions.as_deref(),
        false,
    );
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    def::check_throughput(
        &mut v,
        "provisionedThroughput",
        input.provisioned_throughput.as_ref(),
    );
    if let Some(updates) = &input.global_secondary_index_updates {
        for (i, update) in updates.iter().enumerate() {
            let base = element_path("globalSecondaryIndexUpdates", i);
            if let Some(create) = &update.create {
                check_gsi_model(&mut v, &format!("{base}.create"), create);
            }
            if let Some(change) = &update.update {
                def::check_index_name(
                    &mut v,
                    &format!("{base}.update.indexName"),
                    change.index_name.as_deref(),
                );
                def::check_throughput(
                    &mut v,
                    &format!("{base}.update.provisionedThroughput"),
                    change.provisioned_throughput.as_ref(),
                );
            }
            if let Some(delete) = &update.delete {
                def::check_index_name(
                    &mut v,
                    &format!("{base}.delete.indexName"),
                    delete.index_name.as_deref(),
                );
            }
        }
    }
    for (i, update) in input.vector_index_updates.iter().flatten().enumerate() {
        let base = element_path("vectorIndexUpdates", i);
        if let Some(create) = &update.create {
            crate::catalog::vector::check_model(&mut v, &format!("{base}.create"), create);
        }
        if let Some(delete) = &update.delete {
            let path = format!("{base}.delete.indexName");
            def::check_index_name(&mut v, &path, delete.index_name.as_deref());
        }
    }
    v.enumeration("billingMode", input.billing_mode.as_deref(), BILLING_MODES);
    v.enumeration(
        "multiRegionConsistency",
        input.multi_region_consistency.as_deref(),
        &[EVENTUAL, STRONG],
    );
    def::check_stream(
        &mut v,
        "streamSpecification",
        input.stream_specification.as_ref(),
    );
    def::check_sse(&mut v, "sSESpecification", input.sse_specification.as_ref());
    v.finish()
}

/// The semantic rules and the change itself, on a copy of the table.
fn apply(
    table: &mut TableMeta,
    input: &UpdateTableInput,
    now: f64,
    seq: u64,
    region: &str,
    account: &str,
    storage: &Storage,
) -> Result<(), ApiError> {
    let capacity = changes_capacity(input);
    let stream = input.stream_specification.is_some();
    let count = check_exclusive(input)?;
    if stream && crate::replication::is_global(table) {
        return Err(ApiError::invalid_parameter(
            "The stream of a table with replicas cannot be changed: replication reads it",
        ));
    }
    let creates_or_deletes = input
        .global_secondary_index_updates
        .iter()
        .flatten()
        .any(|u| u.create.is_some() || u.delete.is_some());
    if stream && capacity {
        return Err(ApiError::invalid_parameter(
            "You cannot modify stream status while updating table IOPS",
        ));
    }
    if creates_or_deletes && capacity && input.provisioned_throughput.is_some() {
        return Err(ApiError::invalid_parameter(
            "You cannot create or delete index while updating table IOPS",
        ));
    }
    if creates_or_deletes && stream {
        return Err(ApiError::invalid_parameter(
            "You cannot create or delete index while changing stream status",
        ));
    }

    let billing = input
        .billing_mode
        .as_deref()
        .and_then(BillingMode::parse)
        .unwrap_or(table.billing_mode);
    if capacity {
        apply_capacity(table, input, billing, count == 1, now)?;
    }
    if let Some(updates) = &input.global_secondary_index_updates {
        apply_index_updates(table, input, updates, billing, now)?;
    }
    if let Some(updates) = &input.vector_index_updates {
        apply_vector_update(table, input, updates)?;
    }
    if let Some(spec) = &input.stream_specification {
        apply_stream(table, spec, now, seq, storage)?;
    }
    if let Some(spec) = &input.sse_specification {
        table.sse = def::parse_sse(spec, region, account)?;
    }
    if let Some(c) = &input.table_class {
        def::check_table_class(Some(c))?;
        change_quotas::record(&mut table.settings, Change::TableClass, now)?;
        table.table_class = Some((c.clone(), now));
    }
    if let Some(p) = input.deletion_protection_enabled {
        table.deletion_protection = p;
    }
    if let Some(p) = input.disassociation_protection_enabled {
        crate::replication::set_disassociation_protection(table, p)?;
    }
    if let Some(t) = &input.on_demand_throughput {
        let current = table.on_demand_throughput.as_ref();
        let merged = def::update_on_demand(current, t, table.billing_mode, None)?;
        table.on_demand_throughput = Some(merged);
    }
    if let Some(w) = &input.warm_throughput {
        let what = format!("table {}", table.name());
        table.warm = Some(warm::raise(table.warm_throughput(), w, &what)?);
    }
    Ok(())
}

/// Billing mode and table throughput.
fn apply_capacity(
    table: &mut TableMeta,
    input: &UpdateTableInput,
    billing: BillingMode,
    only_change: bool,
    now: f64,
) -> Result<(), ApiError> {
    let requested = input.provisioned_throughput.as_ref();
    match billing {
        BillingMode::PayPerRequest => {
            if requested.is_some() {
                return Err(ApiError::invalid_parameter(
                    if input.billing_mode.is_some() {
                        "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
                    } else {
                        "ProvisionedThroughput cannot be specified when BillingMode is PAY_PER_REQUEST"
                    },
                ));
            }
            if table.billing_mode == BillingMode::Provisioned {
                change_quotas::record(&mut table.settings, Change::ToOnDemand, now)?;
                table.billing_mode = BillingMode::PayPerRequest;
                table.last_update_to_pay_per_request = Some(now);
                // Not a decrease (DynamoDB counts none): the table just has no capacity.
                table.throughput.read = 0;
                table.throughput.write = 0;
                for index in &mut table.global_indexes {
                    index.throughput = Some(Throughput::default());
                }
            }
        }
        BillingMode::Provisioned => {
            let Some(t) = requested else {
                if table.billing_mode == BillingMode::PayPerRequest {
                    return Err(ApiError::invalid_parameter(
                        "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
                    ));
                }
                // BillingMode PROVISIONED on a provisioned table, nothing else: no change.
                return Ok(());
            };
            let (read, write) = def::check_capacity_bounds(t)?;
            if table.billing_mode == BillingMode::PayPerRequest {
                // Every GSI needs its own capacity in the same request.
                for index in &table.global_indexes {
                    let given = input
                        .global_secondary_index_updates
                        .iter()
                        .flatten()
                        .any(|u| {
                            u.update.as_ref().is_some_and(|c| {
                                c.index_name.as_deref() == Some(index.name.as_str())
                                    && c.provisioned_throughput.is_some()
                            })
                        });
                    if !given {
                        return Err(ApiError::invalid_parameter(format!(
                            "ProvisionedThroughput must be specified for index: {}",
                            index.name
                        )));
                    }
                }
                table.billing_mode = BillingMode::Provisioned;
                table.throughput.change(read, write, now);
            } else if read == table.throughput.read && write == table.throughput.write {
                if only_change && input.billing_mode.is_none() {
                    return Err(ApiError::validation(unchanged_throughput(
                        "table",
                        &table.throughput,
                        read,
                        write,
                    )));
                }
            } else {
                table.throughput.check_decrease(read, write, now)?;
                table.throughput.change(read, write, now);
            }
        }
    }
    Ok(())
}

/// The service's text for a throughput update that changes nothing.
fn unchanged_throughput(what: &str, current: &Throughput, read: i64, write: i64) -> String {
    let subject = if what == "table" {
        "the table".to_string()
    } else {
        format!("the index {what}")
    };
    let short = if what == "table" { "table" } else { "index" };
    format!(
        "The provisioned throughput for {subject} will not change. The requested value equals the current value. \
         Current ReadCapacityUnits provisioned for the {short}: {}. Requested ReadCapacityUnits: {read}. \
         Current WriteCapacityUnits provisioned for the {short}: {}. Requested WriteCapacityUnits: {write}. \
         Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
        current.read, current.write
    )
}

/// `GlobalSecondaryIndexUpdates`: one action per entry, one entry per index, at most one
/// create or delete per request.
fn apply_index_updates(
    table: &mut TableMeta,
    input: &UpdateTableInput,
    updates: &[GlobalSecondaryIndexUpdate],
    billing: BillingMode,
    now: f64,
) -> Result<(), ApiError> {
    if updates.is_empty() {
        return Err(ApiError::invalid_parameter(
            "List of GlobalSecondaryIndexUpdates is empty",
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    // Indexes created or deleted by this request and, already under way, by earlier ones.
    let mut online = 0;
    let mut online_names: Vec<&str> = Vec::new();
    for update in updates {
        let actions = [
            update.create.is_some(),
            update.update.is_some(),
            update.delete.is_some(),
        ];
        match actions.iter().filter(|a| **a).count() {
            0 => {
                return Err(ApiError::invalid_parameter(
                    "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null",
                ))
            }
            1 => {}
            _ => {
                return Err(ApiError::invalid_parameter(
                    "Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object",
                ))
            }
        }
        let name = update
            .create
            .as_ref()
            .and_then(|c| c.index_name.as_deref())
            .or(update.update.as_ref().and_then(|u| u.index_name.as_deref()))
            .or(update.delete.as_ref().and_then(|d| d.index_name.as_deref()))
            .unwrap_or_default();
        if names.contains(&name) {
            return Err(ApiError::invalid_parameter(format!(
                "Only one global secondary index update per index is allowed simultaneously. Index: {name}"
            )));
        }
        names.push(name);
        if update.create.is_some() || update.delete.is_some() {
            online += 1;
            online_names.push(name);
        }
    }
    // One still backfilling or being removed counts too, unless this request deletes it
    // (DynamoDB lets a backfilling index be deleted).
    let under_way = table
        .global_indexes
        .iter()
        .filter(|i| i.status.is_online_operation() && !online_names.contains(&i.name.as_str()));
    if online > 0 && online + under_way.count() > 1 {
        return Err(ApiError::new(
            ErrorCode::LimitExceededException,
            "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
        ));
    }

    for update in updates {
        if let Some(create) = &update.create {
            create_index(table, input, create, billing)?;
        }
        if let Some(change) = &update.update {
            let name = change.index_name.as_deref().unwrap_or_default();
            let Some(index) = table.global_indexes.iter_mut().find(|i| i.name == name) else {
                return Err(missing_index(
                    "update",
                    name,
                    &table.layout.name,
                    table.local_index(name).is_some(),
                ));
            };
            if let Some(t) = &change.provisioned_throughput {
                update_index_throughput(index, t, billing, table.billing_mode, now)?;
            }
            if let Some(t) = &change.on_demand_throughput {
                let current = index.on_demand_throughput.as_ref();
                let merged = def::update_on_demand(current, t, billing, Some(&index.name))?;
                index.on_demand_throughput = Some(merged);
            }
            if let Some(w) = &change.warm_throughput {
                let current = Warm::effective(index.warm, index.throughput.as_ref());
                index.warm = Some(warm::raise(current, w, &format!("index {}", index.name))?);
            }
        }
        if let Some(delete) = &update.delete {
            let name = delete.index_name.as_deref().unwrap_or_default();
            let Some(position) = table.global_indexes.iter().position(|i| i.name == name) else {
                return Err(missing_index(
                    "delete",
                    name,
                    &table.layout.name,
                    table.local_index(name).is_some(),
                ));
            };
            // DELETING until index maintenance has removed its entries; then the catalog
            // drops it and the attribute definitions only it used
            // (`Catalog::finish_index_delete`).
            if let Some(index) = table.global_indexes.get_mut(position) {
                index.status = IndexStatus::Deleting;
                index.backfilling = false;
            }
        }
    }
    Ok(())
}

/// An Update or Delete naming an index that is not a GSI of `table`.
fn missing_index(action: &str, name: &str, table: &str, is_local: bool) -> ApiError {
    if is_local {
        ApiError::validation(format!(
            "Cannot {action} an index that is not a GlobalSecondaryIndex: {name}"
        ))
    } else {
        ApiError::new(
            ErrorCode::ResourceNotFoundException,
            format!("Requested resource not found: Index {name} for table {table}"),
        )
    }
}

fn update_index_throughput(
    index: &mut IndexMeta,
    t: &ProvisionedThroughput,
    billing: BillingMode,
    current_billing: BillingMode,
    now: f64,
) -> Result<(), ApiError> {
    if billing == BillingMode::PayPerRequest {
        return Err(ApiError::invalid_parameter(format!(
            "The only Updates for index: {} when TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput",
            index.name
        )));
    }
    let (read, write) = def::check_capacity_bounds(t)?;
    let current = index.throughput.clone().unwrap_or_default();
    if current_billing == BillingMode::Provisioned && current.read == read && current.write == write
    {
        return Err(ApiError::validation(unchanged_throughput(
            &index.name,
            &current,
            read,
            write,
        )));
    }
    let mut next = current;
    next.check_decrease(read, write, now)?;
    next.change(read, write, now);
    index.throughput = Some(next);
    Ok(())
}

/// A new GSI, recorded CREATING until index maintenance has backfilled it.
fn create_index(
    table: &mut TableMeta,
    input: &UpdateTableInput,
    create: &shared::wire::ops::create_table::GlobalSecondaryIndex,
    billing: BillingMode,
) -> Result<(), ApiError> {
    let name = create.index_name.clone().unwrap_or_default();
    check_new_index_name(table, &name)?;
    let Some(given) = &input.attribute_definitions else {
        return Err(ApiError::invalid_parameter(format!(
            "AttributeDefinitions is not specified for index: {name}"
        )));
    };
    let definitions = merged_definitions(table, given)?;
    let planned = plan_global(create, &definitions, billing, false)?;
    if table.global_indexes.len() >= MAX_GSIS {
        return Err(ApiError::new(
            ErrorCode::LimitExceededException,
            format!("Subscriber limit exceeded: Number of global secondary indexes exceeds per-table limit of {MAX_GSIS}"),
        ));
    }
    def::check_projected_total(
        table
            .local_indexes
            .iter()
            .chain(table.global_indexes.iter())
            .map(|i| &i.projection)
            .chain(std::iter::once(&planned.projection)),
    )?;
    let index_id = claim_index_id(table)?;
    let throughput = planned
        .throughput
        .map_or_else(Throughput::default, |(r, w)| Throughput::new(r, w));
    table.global_indexes.push(IndexMeta {
        arn: format!("{}/index/{}", table.arn, planned.name),
        name: planned.name,
        index_id,
        schema: planned.schema,
        projection: planned.projection,
        throughput: Some(throughput),
        on_demand_throughput: planned.on_demand,
        status: IndexStatus::Creating,
        backfilling: true,
        warm: planned.warm,
    });
    keep_used_definitions(table, definitions);
    Ok(())
}

/// The storage id of an index UpdateTable adds (GSI or vector). Ids are never reused (a
/// deleted index's entries may still be being dropped under its id); past the last, a new
/// index would share its entries with another.
fn claim_index_id(table: &mut TableMeta) -> Result<u16, ApiError> {
    table.claim_index_id().ok_or_else(|| {
        ApiError::new(
            ErrorCode::LimitExceededException,
            format!(
                "Table {} has had {} indexes created over its life, the most this store keeps apart; copy it to a new table (export and import, or a backup restored) to add more",
                table.name(),
                u16::MAX - 1
            ),
        )
    })
}

/// Refuses a new index (GSI or vector) named as one the table has, of either kind.
fn check_new_index_name(table: &TableMeta, name: &str) -> Result<(), ApiError> {
    if table.index(name).is_some() || table.vector_indexes.iter().any(|v| v.name == name) {
        return Err(ApiError::validation(
            "Attempting to create an index which already exists",
        ));
    }
    Ok(())
}

/// The table's attribute definitions with the request's `given` added: a new index's
/// attributes are declared beside the ones the table has, none of which may change type.
fn merged_definitions(
    table: &TableMeta,
    given: &[shared::wire::ops::create_table::AttributeDefinition],
) -> Result<Vec<shared::model::KeyAttr>, ApiError> {
    let given = def::parse_attribute_definitions(given);
    def::check_duplicate_definitions(&given)?;
    let mut definitions = table.attribute_definitions.clone();
    for attr in given {
        match definitions.iter().find(|d| d.name == attr.name) {
            Some(existing) if existing.ty != attr.ty => {
                return Err(ApiError::invalid_parameter(format!(
                    "Cannot change the type of existing attribute: {}. Existing type: {}, requested type: {}",
                    attr.name, existing.ty, attr.ty
                )))
            }
            Some(_) => {}
            None => definitions.push(attr),
        }
    }
    Ok(definitions)
}

/// Sets the table's definitions to those of `definitions` some key or search schema uses,
/// as DynamoDB keeps them.
fn keep_used_definitions(table: &mut TableMeta, definitions: Vec<shared::model::KeyAttr>) {
    let used = definitions
        .into_iter()
        .filter(|a| table.is_key_attribute(&a.name))
        .collect();
    table.attribute_definitions = used;
}

/// UpdateTable's `VectorIndexUpdates`: one vector index created or deleted per call, as
/// the API reference allows. A new index is CREATING until `index_tasks` has filled it
/// from the table's items; a deleted one is gone at once (its entries are dropped in the
/// background under an id no later index takes).
fn apply_vector_update(
    table: &mut TableMeta,
    input: &UpdateTableInput,
    updates: &[shared::wire::ops::vector::VectorIndexUpdate],
) -> Result<(), ApiError> {
    let [update] = updates else {
        return Err(ApiError::invalid_parameter(
            "Only one vector index can be created or deleted in an UpdateTable request",
        ));
    };
    match (&update.create, &update.delete) {
        (Some(create), None) => {
            let name = create.index_name.clone().unwrap_or_default();
            check_new_index_name(table, &name)?;
            let given = input.attribute_definitions.as_deref().unwrap_or_default();
            let definitions = merged_definitions(table, given)?;
            let mut planned = crate::catalog::vector::plan(create, &definitions, &table.arn)?;
            crate::catalog::vector::check_same_dimensions(&planned, &table.vector_indexes)?;
            planned.index_id = claim_index_id(table)?;
            planned.status = IndexStatus::Creating;
            planned.backfilling = true;
            table.vector_indexes.push(planned);
            keep_used_definitions(table, definitions);
            Ok(())
        }
        (None, Some(delete)) => {
            let name = delete.index_name.as_deref().unwrap_or_default();
            let Some(at) = table.vector_indexes.iter().position(|v| v.name == name) else {
                return Err(missing_index("delete", name, table.name(), false));
            };
            table.vector_indexes.remove(at);
            let definitions = std::mem::take(&mut table.attribute_definitions);
            keep_used_definitions(table, definitions);
            Ok(())
        }
        _ => Err(ApiError::invalid_parameter(
            "A vector index update must be either a Create or a Delete",
        )),
    }
}

/// Enabling (a new stream, new label and ARN) or disabling (the last stream stays named).
fn apply_stream(
    table: &mut TableMeta,
    spec: &shared::wire::ops::create_table::StreamSpecification,
    now: f64,
    seq: u64,
    storage: &Storage,
) -> Result<(), ApiError> {
    let name = table.name().to_string();
    match (spec.stream_enabled, spec.stream_view_type.as_deref()) {
        (Some(true), None) => Err(ApiError::invalid_parameter(
            "If stream is being enabled then UpdateViewType is required",
        )),
        (Some(true), Some(view)) => {
            if table.enabled_stream().is_some() {
                return Err(ApiError::validation(format!(
                    "Table already has an enabled stream: TableName: {name}"
                )));
            }
            // Every record the stream shows must be indexed (and carry the old image if the
            // view shows it): the log writes them so from here on, and the stream starts
            // after the last record written without.
            let detail = log_detail_with_stream(table, Some(view));
            let start = storage.set_log_detail(table.table_id(), detail).seq;
            table.stream = Some(def::new_stream(view, &table.arn, now, start));
            Ok(())
        }
        (_, Some(_)) => Err(ApiError::invalid_parameter(
            "If stream is being disabled, then UpdateViewType must not be specified",
        )),
        (_, None) => match &mut table.stream {
            Some(stream) if stream.enabled => {
                stream.enabled = false;
                stream.end_seq = Some(seq);
                stream.disabled_at = Some(now);
                Ok(())
            }
            _ => Err(ApiError::validation(format!(
                "Table has no stream to disable: TableName: {name}"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_past_its_last_index_id_refuses_a_new_gsi_rather_than_sharing_one() {
        let input: UpdateTableInput = serde_json::from_value(serde_json::json!({
            "TableName": "t",
            "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
        }))
        .unwrap();
        let create: shared::wire::ops::create_table::GlobalSecondaryIndex =
            serde_json::from_value(serde_json::json!({
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }))
            .unwrap();
        let mut table = TableMeta::for_tests(1, "t");
        table.next_index_id = u16::MAX - 1;
        assert!(create_index(&mut table, &input, &create, BillingMode::PayPerRequest).is_ok());
        assert_eq!(table.global_indexes[0].index_id, u16::MAX - 1);
        table.global_indexes.clear();
        let refused = create_index(&mut table, &input, &create, BillingMode::PayPerRequest);
        assert_eq!(
            refused.map_err(|e| e.code),
            Err(ErrorCode::LimitExceededException)
        );
        assert!(table.global_indexes.is_empty());
    }
}
