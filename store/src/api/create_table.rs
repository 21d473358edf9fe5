//! CreateTable: validates the definition with DynamoDB's messages and order (model
//! constraints first, all at once; then the billing, key-schema, index, stream and tag
//! rules, first failure wins), then registers the table.
//!
//! The table is ACTIVE at once; the response still says CREATING, as the service does, so
//! clients that wait for ACTIVE (boto3's `table_exists` waiter) see it on their first poll
//! (DYNAMODB.md §6).

use shared::model::KeyAttr;
use shared::wire::error::ApiError;
use shared::wire::ops::create_table::{
    CreateTableInput, CreateTableOutput, GlobalSecondaryIndex, LocalSecondaryIndex,
};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::catalog::definition::{self as def, BILLING_MODES, MAX_GSIS, MAX_LSIS};
use crate::catalog::vector::VectorIndexMeta;
use crate::catalog::warm::{self, Warm};
use crate::catalog::{BillingMode, IndexMeta, IndexStatus, TableMeta, TableStatus, Throughput};
use crate::storage::{TableLayout, TableStats};
use shared::clock::now_seconds;

pub async fn handle(app: &App, input: CreateTableInput) -> Result<CreateTableOutput, ApiError> {
    create(app, input, TableStatus::Active)
        .await
        .map(|(_, output)| output)
}

/// CreateTable's checks and registration, the table starting in `status`: ImportTable
/// creates its table `Creating` (invisible to the data plane) until the import is done.
pub async fn create(
    app: &App,
    input: CreateTableInput,
    status: TableStatus,
) -> Result<(std::sync::Arc<TableMeta>, CreateTableOutput), ApiError> {
    create_with(app, input, status, crate::catalog::meta::Settings::new()).await
}

/// [`create`] of a table that starts with `settings` (a replica with the addition that
/// made it), kept in the same catalog write as the table.
pub async fn create_with(
    app: &App,
    input: CreateTableInput,
    status: TableStatus,
    mut settings: crate::catalog::meta::Settings,
) -> Result<(std::sync::Arc<TableMeta>, CreateTableOutput), ApiError> {
    check_model(&input)?;
    let name = input.table_name.clone().unwrap_or_default();
    let arn = app.catalog.table_arn(&name);
    let plan = plan(&input, &arn)?;
    let now = now_seconds();
    let stream = match &input.stream_specification {
        Some(spec) => def::parse_create_stream(spec, &arn, now, current_seq(app))?,
        None => None,
    };
    let mut tags = Vec::new();
    if let Some(list) = &input.tags {
        def::merge_tags(&mut tags, list)?;
    }
    let sse = match &input.sse_specification {
        Some(spec) => def::parse_sse(spec, &app.config.region, &app.config.account_id)?,
        None => None,
    };
    let warm = input
        .warm_throughput
        .as_ref()
        .map(|w| warm::initial(w, plan.throughput, "table"))
        .transpose()?;
    if let Some(policy) = &input.resource_policy {
        crate::policy::document::parse(policy)?;
        let attached = crate::policy::Attached::new_revision(policy, None);
        let policies =
            crate::policy::Policies::from([(crate::policy::TABLE_SLOT.into(), attached)]);
        crate::policy::store_policies(&mut settings, &policies);
        app.policies.note();
    }
    let table = app
        .catalog
        .create(&app.storage, &name, |table_id| {
            let index_arn = |index: &str| format!("{arn}/index/{index}");
            let mut next_index_id: u16 = 1;
            let mut index = |p: PlannedIndex, throughput: Option<Throughput>| {
                let meta = IndexMeta {
                    arn: index_arn(&p.name),
                    name: p.name,
                    index_id: next_index_id,
                    schema: p.schema,
                    projection: p.projection,
                    throughput,
                    on_demand_throughput: p.on_demand,
                    status: IndexStatus::Active,
                    backfilling: false,
                    warm: p.warm,
                };
                next_index_id = next_index_id.saturating_add(1);
                meta
            };
            let local_indexes: Vec<IndexMeta> =
                plan.local.into_iter().map(|p| index(p, None)).collect();
            let global_indexes: Vec<IndexMeta> = plan
                .global
                .into_iter()
                .map(|p| {
                    let t = p.throughput.unwrap_or((0, 0));
                    index(p, Some(Throughput::new(t.0, t.1)))
                })
                .collect();
            TableMeta {
                layout: TableLayout {
                    table_id,
                    name: name.clone(),
                    schema: plan.schema,
                },
                arn: arn.clone(),
                table_uuid: uuid::Uuid::new_v4().to_string(),
                attribute_definitions: plan.definitions,
                created: now,
                status,
                billing_mode: plan.billing,
                last_update_to_pay_per_request: (plan.billing == BillingMode::PayPerRequest)
                    .then_some(now),
                throughput: Throughput::new(plan.throughput.0, plan.throughput.1),
                on_demand_throughput: input.on_demand_throughput.clone(),
                warm,
                local_indexes,
                global_indexes,
                stream,
                sse,
                table_class: input.table_class.clone().map(|c| (c, now)),
                deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
                tags,
                vector_indexes: plan
                    .vector
                    .into_iter()
                    .map(|mut v| {
                        v.index_id = next_index_id;
                        next_index_id = next_index_id.saturating_add(1);
                        v
                    })
                    .collect(),
                next_index_id,
                settings,
            }
        })
        .await?;
    crate::streams::note_stream_change(app, &table).await;
    let output = CreateTableOutput {
        table_description: table.describe(TableStatus::Creating, TableStats::default(), now),
    };
    Ok((table, output))
}

/// The newest change-log sequence number: a stream enabled now holds the records after it.
pub fn current_seq(app: &App) -> u64 {
    let seq = *app.storage.watch_seq().borrow();
    seq
}

/// The model constraints, all reported at once (table-name length fails alone, first).
fn check_model(input: &CreateTableInput) -> Result<(), ApiError> {
    let mut v = Violations::new();
    def::check_attribute_definitions(
        &mut v,
        "attributeDefinitions",
        input.attribute_definitions.as_deref(),
        true,
    );
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), false)?;
    def::check_throughput(
        &mut v,
        "provisionedThroughput",
        input.provisioned_throughput.as_ref(),
    );
    def::check_key_schema(
        &mut v,
        "keySchema",
        input.key_schema.as_deref(),
        true,
        def::MAX_KEY_ELEMENTS,
    );
    if let Some(list) = &input.local_secondary_indexes {
        for (i, index) in list.iter().enumerate() {
            def::check_index(
                &mut v,
                &def::element_path("localSecondaryIndexes", i),
                index.index_name.as_deref(),
                index.key_schema.as_deref(),
                index.projection.as_ref(),
                def::MAX_KEY_ELEMENTS,
            );
        }
    }
    if let Some(list) = &input.global_secondary_indexes {
        for (i, index) in list.iter().enumerate() {
            check_gsi_model(
                &mut v,
                &def::element_path("globalSecondaryIndexes", i),
                index,
            );
        }
    }
    for (i, index) in input.vector_indexes.iter().flatten().enumerate() {
        let base = def::element_path("vectorIndexes", i);
        crate::catalog::vector::check_model(&mut v, &base, index);
    }
    v.enumeration("billingMode", input.billing_mode.as_deref(), BILLING_MODES);
    def::check_stream(
        &mut v,
        "streamSpecification",
        input.stream_specification.as_ref(),
    );
    def::check_sse(&mut v, "sSESpecification", input.sse_specification.as_ref());
    v.finish()
}

/// A GSI definition's model constraints under `base` (also used by UpdateTable's
/// `Create`).
pub fn check_gsi_model(v: &mut Violations, base: &str, index: &GlobalSecondaryIndex) {
    def::check_index(
        v,
        base,
        index.index_name.as_deref(),
        index.key_schema.as_deref(),
        index.projection.as_ref(),
        def::MAX_GSI_KEY_ELEMENTS,
    );
    def::check_throughput(
        v,
        &format!("{base}.provisionedThroughput"),
        index.provisioned_throughput.as_ref(),
    );
}

/// A validated index, before ids and ARNs are assigned.
pub struct PlannedIndex {
    pub name: String,
    pub schema: shared::model::KeySchema,
    pub projection: crate::catalog::IndexProjection,
    /// GSIs on provisioned tables: (read, write).
    pub throughput: Option<(i64, i64)>,
    pub on_demand: Option<shared::wire::ops::create_table::OnDemandThroughput>,
    /// GSIs: the warm throughput asked for.
    pub warm: Option<Warm>,
}

/// A validated CreateTable request.
struct Plan {
    schema: shared::model::KeySchema,
    definitions: Vec<KeyAttr>,
    billing: BillingMode,
    throughput: (i64, i64),
    local: Vec<PlannedIndex>,
    global: Vec<PlannedIndex>,
    vector: Vec<VectorIndexMeta>,
}

/// The semantic rules, in DynamoDB's order; the first failure is the answer. `table_arn`
/// names the vector indexes' ARNs.
fn plan(input: &CreateTableInput, table_arn: &str) -> Result<Plan, ApiError> {
    let billing = input
        .billing_mode
        .as_deref()
        .and_then(BillingMode::parse)
        .unwrap_or(BillingMode::Provisioned);
    let throughput = billing_throughput(billing, input.provisioned_throughput.as_ref())?;
    def::check_on_demand(input.on_demand_throughput.as_ref(), billing, None)?;
    def::check_table_class(input.table_class.as_deref())?;

    let definitions = def::parse_attribute_definitions(
        input.attribute_definitions.as_deref().unwrap_or_default(),
    );
    def::check_duplicate_definitions(&definitions)?;
    let key_schema = input.key_schema.as_deref().unwrap_or_default();
    let schema = def::parse_table_key_schema(key_schema, &definitions)?;
    let has_indexes = input.local_secondary_indexes.is_some()
        || input.global_secondary_indexes.is_some()
        || input.vector_indexes.is_some();
    if !has_indexes && key_schema.len() != definitions.len() {
        return Err(ApiError::invalid_parameter(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }

    let mut names: Vec<String> = Vec::new();
    let local = match &input.local_secondary_indexes {
        Some(list) => plan_local(list, &schema, &definitions, &mut names)?,
        None => Vec::new(),
    };
    let global = match &input.global_secondary_indexes {
        Some(list) => {
            if list.is_empty() {
                return Err(ApiError::invalid_parameter(
                    "List of GlobalSecondaryIndexes is empty",
                ));
            }
            let mut out = Vec::with_capacity(list.len());
            for index in list {
                let planned = plan_global(index, &definitions, billing, true)?;
                claim_index_name(&mut names, &planned.name)?;
                out.push(planned);
            }
            if list.len() > MAX_GSIS {
                return Err(ApiError::invalid_parameter(format!(
                    "GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSIS}"
                )));
            }
            out
        }
        None => Vec::new(),
    };
    let mut vector = Vec::new();
    for index in input.vector_indexes.iter().flatten() {
        let planned = crate::catalog::vector::plan(index, &definitions, table_arn)?;
        claim_index_name(&mut names, &planned.name)?;
        crate::catalog::vector::check_same_dimensions(&planned, &vector)?;
        vector.push(planned);
    }
    def::check_projected_total(local.iter().chain(global.iter()).map(|p| &p.projection))?;
    check_definitions_used(
        &definitions,
        &schema,
        local.iter().chain(global.iter()).map(|p| &p.schema),
        &vector,
    )?;
    Ok(Plan {
        schema,
        definitions,
        billing,
        throughput,
        local,
        global,
        vector,
    })
}

/// Takes index name `name` for one of the table's indexes (of any kind), refusing one
/// another index already has.
fn claim_index_name(names: &mut Vec<String>, name: &str) -> Result<(), ApiError> {
    if names.iter().any(|n| n == name) {
        return Err(ApiError::invalid_parameter(format!(
            "Duplicate index name: {name}"
        )));
    }
    names.push(name.to_string());
    Ok(())
}

/// The table's capacity for its billing mode (also a restore's, see `backup::overrides`).
pub fn billing_throughput(
    billing: BillingMode,
    requested: Option<&shared::wire::ops::create_table::ProvisionedThroughput>,
) -> Result<(i64, i64), ApiError> {
    match (billing, requested) {
        (BillingMode::Provisioned, None) => Err(ApiError::invalid_parameter(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
        (BillingMode::Provisioned, Some(t)) => def::check_capacity_bounds(t),
        (BillingMode::PayPerRequest, Some(_)) => Err(ApiError::invalid_parameter(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (BillingMode::PayPerRequest, None) => Ok((0, 0)),
    }
}

fn plan_local(
    list: &[LocalSecondaryIndex],
    table: &shared::model::KeySchema,
    definitions: &[KeyAttr],
    names: &mut Vec<String>,
) -> Result<Vec<PlannedIndex>, ApiError> {
    if list.is_empty() {
        return Err(ApiError::invalid_parameter(
            "List of LocalSecondaryIndexes is empty",
        ));
    }
    if table.range.is_none() {
        return Err(ApiError::invalid_parameter(
            "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for index in list {
        let planned = plan_local_index(index, table, definitions)?;
        claim_index_name(names, &planned.name)?;
        out.push(planned);
    }
    if list.len() > MAX_LSIS {
        return Err(ApiError::invalid_parameter(format!(
            "Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LSIS}"
        )));
    }
    Ok(out)
}

/// One LSI definition (model-valid) against the table's key schema and attribute
/// definitions; also used by the restores' `LocalSecondaryIndexOverride`.
pub fn plan_local_index(
    index: &LocalSecondaryIndex,
    table: &shared::model::KeySchema,
    definitions: &[KeyAttr],
) -> Result<PlannedIndex, ApiError> {
    let name = index.index_name.clone().unwrap_or_default();
    let elements = index.key_schema.as_deref().unwrap_or_default();
    let schema = def::parse_index_key_schema(elements, definitions)?;
    if schema.range.is_none() {
        return Err(ApiError::invalid_parameter(format!(
            "Index KeySchema does not have a range key for index: {name}"
        )));
    }
    if schema.hash.name != table.hash.name {
        return Err(ApiError::invalid_parameter(format!(
            "Index KeySchema does not have the same leading hash key as table KeySchema for index: {name}. index hash key: {}, table hash key: {}",
            schema.hash.name, table.hash.name
        )));
    }
    let projection = def::parse_projection(&index.projection.clone().unwrap_or_default())?;
    Ok(PlannedIndex {
        name,
        schema,
        projection,
        throughput: None,
        on_demand: None,
        warm: None,
    })
}

/// One GSI definition (model-valid) against the attribute definitions and billing mode;
/// also used by UpdateTable's `Create`.
/// `creating`: CreateTable and UpdateTable word a missing GSI throughput differently.
pub fn plan_global(
    index: &GlobalSecondaryIndex,
    definitions: &[KeyAttr],
    billing: BillingMode,
    creating: bool,
) -> Result<PlannedIndex, ApiError> {
    let name = index.index_name.clone().unwrap_or_default();
    let elements = index.key_schema.as_deref().unwrap_or_default();
    let schema = def::parse_global_index_key_schema(elements, definitions)?;
    let projection = def::parse_projection(&index.projection.clone().unwrap_or_default())?;
    def::check_on_demand(index.on_demand_throughput.as_ref(), billing, Some(&name))?;
    let throughput = match (billing, &index.provisioned_throughput) {
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(ApiError::invalid_parameter(format!(
                "ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
            )))
        }
        (BillingMode::PayPerRequest, None) => None,
        (BillingMode::Provisioned, Some(t)) => Some(def::check_capacity_bounds(t)?),
        (BillingMode::Provisioned, None) => {
            return Err(ApiError::invalid_parameter(if creating {
                format!("ProvisionedThroughput is not specified for index: {name}")
            } else {
                format!("ProvisionedThroughput must be specified for index: {name}")
            }))
        }
    };
    let warm = index
        .warm_throughput
        .as_ref()
        .map(|w| warm::initial(w, throughput.unwrap_or_default(), &format!("index {name}")))
        .transpose()?;
    Ok(PlannedIndex {
        name,
        schema,
        projection,
        throughput,
        on_demand: index.on_demand_throughput.clone(),
        warm,
    })
}

/// Every attribute definition must be used by the table's or an index's key.
fn check_definitions_used<'a>(
    definitions: &[KeyAttr],
    table: &'a shared::model::KeySchema,
    indexes: impl Iterator<Item = &'a shared::model::KeySchema>,
    vector_indexes: &'a [VectorIndexMeta],
) -> Result<(), ApiError> {
    let mut used: Vec<&str> = Vec::new();
    let keys = std::iter::once(table)
        .chain(indexes)
        .flat_map(|schema| schema.attributes().map(|a| a.name.as_str()));
    let searched = vector_indexes
        .iter()
        .flat_map(|v| v.search_schema.iter().map(|(name, _)| name.as_str()));
    for name in keys.chain(searched) {
        if !used.contains(&name) {
            used.push(name);
        }
    }
    let mut names: Vec<&str> = Vec::new();
    let mut duplicate = false;
    for d in definitions {
        duplicate |= names.contains(&d.name.as_str());
        names.push(&d.name);
    }
    if duplicate || names.iter().any(|n| !used.contains(n)) {
        return Err(ApiError::invalid_parameter(format!(
            "Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
            names.join(", "),
            used.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> CreateTableInput {
        serde_json::from_str(json).unwrap_or_default()
    }

    fn error(json: &str) -> String {
        let input = input(json);
        match check_model(&input).and_then(|_| plan(&input, "arn").map(|_| ())) {
            Ok(()) => String::new(),
            Err(e) => e.message.unwrap_or_default(),
        }
    }

    const HASH: &str = r#""KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]"#;

    #[test]
    fn model_errors_are_listed_together() {
        assert_eq!(
            error(r#"{"TableName":"abc;"}"#),
            "3 validation errors detected: Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null; \
             Value 'abc;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
             Value null at 'keySchema' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            error(&format!(r#"{{"TableName":"ab",{HASH}}}"#)),
            "TableName must be at least 3 characters long and at most 255 characters long"
        );
        assert_eq!(
            error(&format!(r#"{{"TableName":"abc",{HASH},"BillingMode":"X"}}"#)),
            "1 validation error detected: Value 'X' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        );
        assert_eq!(
            error(&format!(r#"{{"TableName":"abc",{HASH},"ProvisionedThroughput":{{"ReadCapacityUnits":0,"WriteCapacityUnits":1}}}}"#)),
            "1 validation error detected: Value '0' at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn billing_rules() {
        assert_eq!(
            error(&format!(r#"{{"TableName":"abc",{HASH}}}"#)),
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        );
        assert_eq!(
            error(&format!(
                r#"{{"TableName":"abc",{HASH},"BillingMode":"PAY_PER_REQUEST","ProvisionedThroughput":{{"ReadCapacityUnits":1,"WriteCapacityUnits":1}}}}"#
            )),
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
        );
        assert_eq!(
            error(&format!(
                r#"{{"TableName":"abc",{HASH},"BillingMode":"PAY_PER_REQUEST"}}"#
            )),
            ""
        );
    }

    #[test]
    fn unused_definition_and_index_rules() {
        assert_eq!(
            error(
                r#"{"TableName":"abc","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
                "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"o","AttributeType":"S"}]}"#
            ),
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
        );
        let lsi_hash_only = r#"{"TableName":"abc","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"x","AttributeType":"S"}],
            "LocalSecondaryIndexes":[{"IndexName":"lll","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"x","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}]}"#;
        assert_eq!(
            error(lsi_hash_only),
            "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
        );
        let lsi_other_hash = r#"{"TableName":"abc","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"},{"AttributeName":"x","AttributeType":"S"},{"AttributeName":"y","AttributeType":"S"}],
            "LocalSecondaryIndexes":[{"IndexName":"lll","KeySchema":[{"AttributeName":"x","KeyType":"HASH"},{"AttributeName":"y","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}]}"#;
        assert_eq!(
            error(lsi_other_hash),
            "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: lll. index hash key: x, table hash key: pk"
        );
        let dup = r#"{"TableName":"abc","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"x","AttributeType":"S"}],
            "GlobalSecondaryIndexes":[{"IndexName":"same","KeySchema":[{"AttributeName":"x","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}},
                                      {"IndexName":"same","KeySchema":[{"AttributeName":"x","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}]}"#;
        assert_eq!(
            error(dup),
            "One or more parameter values were invalid: Duplicate index name: same"
        );
        let undefined = r#"{"TableName":"abc","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],
            "GlobalSecondaryIndexes":[{"IndexName":"ggg","KeySchema":[{"AttributeName":"undefined","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}]}"#;
        assert_eq!(
            error(undefined),
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [undefined], AttributeDefinitions: [pk]"
        );
        let gsi_ppr_throughput = r#"{"TableName":"abc","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"x","AttributeType":"S"}],
            "GlobalSecondaryIndexes":[{"IndexName":"ggg","KeySchema":[{"AttributeName":"x","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"},
            "ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1}}]}"#;
        assert_eq!(
            error(gsi_ppr_throughput),
            "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: ggg when BillingMode is PAY_PER_REQUEST"
        );
        let unused_with_index = r#"{"TableName":"abc","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"x","AttributeType":"S"},{"AttributeName":"z","AttributeType":"N"}],
            "GlobalSecondaryIndexes":[{"IndexName":"ggg","KeySchema":[{"AttributeName":"x","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}]}"#;
        assert_eq!(
            error(unused_with_index),
            "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [pk, x, z], keys used: [pk, x]"
        );
    }

    #[test]
    fn on_demand_limits_need_an_on_demand_table() {
        assert_eq!(
            error(&format!(
                r#"{{"TableName":"abc",{HASH},"ProvisionedThroughput":{{"ReadCapacityUnits":1,"WriteCapacityUnits":1}},
                "OnDemandThroughput":{{"MaxReadRequestUnits":5}}}}"#
            )),
            "One or more parameter values were invalid: MaxReadRequestUnits for OnDemandThroughput cannot be specified when the table BillingMode is PROVISIONED"
        );
        assert_eq!(
            error(&format!(
                r#"{{"TableName":"abc",{HASH},"BillingMode":"PAY_PER_REQUEST","OnDemandThroughput":{{"MaxWriteRequestUnits":0}}}}"#
            )),
            "One or more parameter values were invalid: Requested MaxWriteRequestUnits for OnDemandThroughput for table is outside of valid range"
        );
    }

    #[test]
    fn too_many_lsis() {
        let lsis: Vec<String> = (0..6)
            .map(|i| format!(r#"{{"IndexName":"lsi{i}","KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}},{{"AttributeName":"x","KeyType":"RANGE"}}],"Projection":{{"ProjectionType":"KEYS_ONLY"}}}}"#))
            .collect();
        let json = format!(
            r#"{{"TableName":"abc","BillingMode":"PAY_PER_REQUEST","KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}},{{"AttributeName":"sk","KeyType":"RANGE"}}],
            "AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}},{{"AttributeName":"sk","AttributeType":"S"}},{{"AttributeName":"x","AttributeType":"S"}}],
            "LocalSecondaryIndexes":[{}]}}"#,
            lsis.join(",")
        );
        assert_eq!(
            error(&json),
            "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5"
        );
    }
}
