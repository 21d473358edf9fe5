//! The pieces every single-item write shares: PutItem, UpdateItem, DeleteItem, and (per
//! action) TransactWriteItems and BatchWriteItem.
//!
//! # Shape
//! A write is checked in three stages, in DynamoDB's order (dynalite's `validations/*.js`
//! then `actions/*.js`):
//! 1. **static, no table**: model constraints ([`check_write_constraints`]), the
//!    expression-parameter rules and the expressions themselves ([`parse_write_expressions`]:
//!    ConditionExpression or Expected + ConditionalOperator, UpdateExpression or
//!    AttributeUpdates, unused substitutions), an item's attribute names and 400 KB size ([`check_put_item`]);
//! 2. **against the table**: the key ([`key_of_put_item`], `KeySchema::key_from_param`),
//!    index key types, a put's size with its LSI entries ([`fits_item_limit`]), updates
//!    of key attributes (`UpdateExpr::check_keys`);
//! 3. **under the item's lock**: [`decide`], a pure function of the plan and the current
//!    item, evaluates the condition and produces the mutation, the `Attributes` ReturnValues
//!    asked for and the capacity consumed, or a [`WriteFailure`].
//!
//! [`decide`] knows nothing of requests or catalogs (a [`WritePlan`] carries everything it
//! needs), so a transaction can run it once per action inside one `Storage::write` and turn
//! each failure into a cancellation reason ([`WriteFailure::into_cancellation_reason`]),
//! while the single-item operations turn it into their error
//! ([`WriteFailure::into_api_error`]).
//!
//! # Capacity
//! DynamoDB charges a write ceil(max(old size, new size) / 1 KB) units on the table (at
//! least one, also for a missing item), plus, per secondary index whose entry changes, the
//! entry's size in 1 KB units: a put of an entry, a delete of one, or both when the index
//! key changes (CapacityUnitCalculations.md). A failed condition consumes too, but its
//! response is an error, so nothing is reported.
//!
//! Throttling is `crate::throttle`'s; the one part asked here is whether the GSIs a write
//! reaches have capacity ([`decide_within_capacity`]), since only [`decide`] knows which
//! indexes a write changes. Not here: the item collection limit (enforced by
//! storage under the item lock and mapped to its error in [`storage_failure`]);
//! ItemCollectionMetrics reports the collection key with a fixed 0-1 GB estimate.

use std::collections::{BTreeMap, HashMap};

use shared::expr::legacy::{self, AttributeValueUpdate, ExpectedAttributeValue};
use shared::expr::{self, Condition, ExprKind, Substitutions, UpdateExpr};
use shared::model::size::{attributes_size, item_size, MAX_ITEM_SIZE};
use shared::model::{
    check_attribute_name, check_built_item, check_nested_names, AttributeValue, Item, KeySchema,
    PrimaryKey,
};
use shared::wire::error::{ApiError, CancellationReason, ErrorCode};
use shared::wire::ops::batch_write_item::ItemCollectionMetrics;
use shared::wire::ops::common::{Capacity, ConsumedCapacity, ReturnConsumedCapacity};
use shared::wire::ops::validate::Violations;
use shared::wire::ops::vector::VectorCapacity;

use crate::capacity;
use crate::catalog::{IndexProjection, TableMeta};
use crate::storage::{Mutation, StorageError};
use crate::throttle::Owed;

/// `ReturnValues`' enumeration, in the order DynamoDB's message lists it (not the model's).
pub const RETURN_VALUES: &[&str] = &["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"];
/// `ReturnValuesOnConditionCheckFailure`'s enumeration.
pub const RETURN_VALUES_ON_FAILURE: &[&str] = &["ALL_OLD", "NONE"];
/// `ReturnConsumedCapacity`'s enumeration.
pub const CAPACITY_VALUES: &[&str] = &["INDEXES", "TOTAL", "NONE"];
/// `ReturnItemCollectionMetrics`' enumeration.
pub const METRICS_VALUES: &[&str] = &["SIZE", "NONE"];
/// `ConditionalOperator`'s enumeration.
pub const CONDITIONAL_OPERATORS: &[&str] = &["AND", "OR"];

/// PutItem and DeleteItem accept only two of the five ReturnValues.
const ONLY_ALL_OLD_OR_NONE: &str = "ReturnValues can only be ALL_OLD or NONE";
/// A put's item over 400 KB.
pub const ITEM_TOO_LARGE: &str = "Item size has exceeded the maximum allowed size";
/// An update whose resulting item would exceed 400 KB.
pub const UPDATED_ITEM_TOO_LARGE: &str =
    "Item size to update has exceeded the maximum allowed size";

/// What a write returns in `Attributes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnValues {
    #[default]
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl ReturnValues {
    /// The member's value, already checked against [`RETURN_VALUES`] (anything else is
    /// NONE).
    pub fn parse(text: Option<&str>) -> Self {
        match text {
            Some("ALL_OLD") => ReturnValues::AllOld,
            Some("UPDATED_OLD") => ReturnValues::UpdatedOld,
            Some("ALL_NEW") => ReturnValues::AllNew,
            Some("UPDATED_NEW") => ReturnValues::UpdatedNew,
            _ => ReturnValues::None,
        }
    }

    /// PutItem's and DeleteItem's ReturnValues (already checked against
    /// [`RETURN_VALUES`]): ALL_OLD or NONE, anything else refused in the single-item
    /// write's validation envelope.
    pub fn all_old_or_none(text: Option<&str>) -> Result<Self, ApiError> {
        match Self::parse(text) {
            allowed @ (ReturnValues::None | ReturnValues::AllOld) => Ok(allowed),
            _ => Err(in_validation_envelope(ApiError::validation(
                ONLY_ALL_OLD_OR_NONE,
            ))),
        }
    }
}

/// The members every single-item write validates the same way.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteParams<'a> {
    pub table_name: Option<&'a str>,
    /// `("item", present)` for a put, `("key", present)` otherwise.
    pub target: (&'static str, bool),
    pub return_values: Option<&'a str>,
    pub return_consumed_capacity: Option<&'a str>,
    pub return_item_collection_metrics: Option<&'a str>,
    pub return_values_on_condition_check_failure: Option<&'a str>,
    pub conditional_operator: Option<&'a str>,
}

/// `tableName` as the model constrains it on data-plane operations: required, and either
/// a name (`[a-zA-Z0-9_.-]+`, 3 to 255 characters) or a table ARN (1 to 1024 characters).
/// Violations are collected in the `N validation errors detected` form, as the real
/// service reports them for data-plane calls (not dynalite's special length message).
pub fn check_table_name(v: &mut Violations, name: Option<&str>) {
    match name {
        None => {
            v.not_null("tableName", false);
        }
        Some(arn) if arn.starts_with("arn:") => v.length("tableName", Some(arn), 1, 1024),
        Some(name) => v.name("tableName", Some(name), 3, 255),
    }
}

/// Model constraints of a single-item write, all reported at once in the `N validation
/// errors detected` form.
pub fn check_write_constraints(p: &WriteParams<'_>) -> Result<(), ApiError> {
    let mut v = Violations::new();
    check_table_name(&mut v, p.table_name);
    v.not_null(p.target.0, p.target.1);
    v.enumeration("returnValues", p.return_values, RETURN_VALUES);
    v.enumeration(
        "returnConsumedCapacity",
        p.return_consumed_capacity,
        CAPACITY_VALUES,
    );
    v.enumeration(
        "returnItemCollectionMetrics",
        p.return_item_collection_metrics,
        METRICS_VALUES,
    );
    v.enumeration(
        "returnValuesOnConditionCheckFailure",
        p.return_values_on_condition_check_failure,
        RETURN_VALUES_ON_FAILURE,
    );
    v.enumeration(
        "conditionalOperator",
        p.conditional_operator,
        CONDITIONAL_OPERATORS,
    );
    v.finish()
}

/// A write's expression members, expression and legacy forms alike.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteExpressions<'a> {
    /// UpdateItem (and a transaction's Update): UpdateExpression and AttributeUpdates are
    /// parameters of this operation.
    pub is_update: bool,
    pub update_expression: Option<&'a str>,
    pub condition_expression: Option<&'a str>,
    pub names: Option<&'a HashMap<String, String>>,
    pub values: Option<&'a HashMap<String, AttributeValue>>,
    pub attribute_updates: Option<&'a HashMap<String, AttributeValueUpdate>>,
    pub expected: Option<&'a HashMap<String, ExpectedAttributeValue>>,
    pub conditional_operator: Option<&'a str>,
}

/// A write's condition and update, parsed.
#[derive(Debug, Clone, Default)]
pub struct ParsedWrite {
    pub condition: Option<Condition>,
    pub update: Option<UpdateExpr>,
}

/// Who asks for a write's expressions to be parsed: DynamoDB words some refusals
/// differently for a single-item call than for a transaction's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCall {
    /// PutItem, UpdateItem, DeleteItem: every refusal of [`parse_write_expressions`] comes
    /// inside the `1 validation error detected: ` envelope, and PutItem's and DeleteItem's
    /// values without a ConditionExpression name no null expression (both captured in two
    /// regions, October 2026; production logs show the envelope on syntax errors, reserved
    /// words and oversized expressions too).
    Single,
    /// A TransactWriteItems action: the bare messages.
    TransactionAction,
}

/// The expression-parameter rules (mixing forms, names or values without expressions,
/// empty maps), ConditionalOperator's need for two or more Expected conditions, then the
/// update (UpdateExpression or AttributeUpdates), then the
/// condition (ConditionExpression or Expected), then unused substitutions: DynamoDB's
/// order.
pub fn parse_write_expressions(
    p: &WriteExpressions<'_>,
    call: WriteCall,
) -> Result<ParsedWrite, ApiError> {
    let parsed = parse_expressions(p, call);
    match call {
        WriteCall::Single => parsed.map_err(in_validation_envelope),
        WriteCall::TransactionAction => parsed,
    }
}

/// A single-item write's request-validation refusal, as DynamoDB now reports it; one
/// already in an `N validation error(s) detected` envelope (a constraint of the model)
/// keeps its own.
pub fn in_validation_envelope(mut error: ApiError) -> ApiError {
    if error.code == ErrorCode::ValidationException {
        if let Some(message) = error.message.as_mut().filter(|m| !is_enveloped(m)) {
            message.insert_str(0, "1 validation error detected: ");
        }
    }
    error
}

fn is_enveloped(message: &str) -> bool {
    message.split_once(' ').is_some_and(|(count, rest)| {
        count.parse::<u32>().is_ok() && rest.starts_with("validation error")
    })
}

fn parse_expressions(p: &WriteExpressions<'_>, call: WriteCall) -> Result<ParsedWrite, ApiError> {
    let mut expressions = Vec::with_capacity(2);
    let mut legacy_params = Vec::with_capacity(3);
    if p.is_update {
        expressions.push(("UpdateExpression", p.update_expression.is_some()));
        legacy_params.push(("AttributeUpdates", p.attribute_updates.is_some()));
    }
    expressions.push(("ConditionExpression", p.condition_expression.is_some()));
    legacy_params.push(("Expected", p.expected.is_some()));
    legacy_params.push(("ConditionalOperator", p.conditional_operator.is_some()));
    if call == WriteCall::Single && !p.is_update {
        expr::check_condition_parameter_usage(&expressions, &legacy_params, p.names, p.values)?;
    } else {
        expr::check_parameter_usage(
            &expressions,
            &legacy_params,
            p.names,
            p.values,
            &expressions,
        )?;
    }
    legacy::check_conditional_operator(p.conditional_operator, p.expected.map(HashMap::len))?;

    let subs = Substitutions::new(p.names, p.values);
    let update = match (p.update_expression, p.attribute_updates) {
        (Some(text), _) => Some(expr::parse_update(text, &subs)?),
        (None, Some(updates)) => Some(legacy::attribute_updates(updates)?),
        (None, None) => None,
    };
    let condition = match (p.condition_expression, p.expected) {
        (Some(text), _) => Some(expr::parse_condition(ExprKind::Condition, text, &subs)?),
        (None, Some(expected)) => Some(legacy::expected_condition(
            expected,
            p.conditional_operator,
        )?),
        (None, None) => None,
    };
    subs.check_all_used()?;
    Ok(ParsedWrite { condition, update })
}

/// A put's item on its own, before the table is looked up (as DynamoDB does): attribute
/// names neither empty nor too long (`check_attribute_name`), then `Item size has exceeded
/// the maximum allowed size` over 400 KB.
pub fn check_put_item(item: &Item) -> Result<(), ApiError> {
    // The first bad name in sorted order, so the error does not depend on hash order.
    if let Some(bad) = item
        .keys()
        .filter(|name| check_attribute_name(name).is_err())
        .min()
    {
        check_attribute_name(bad)?;
    }
    check_nested_names(item)?;
    if item_size(item) > MAX_ITEM_SIZE {
        return Err(ApiError::validation(ITEM_TOO_LARGE));
    }
    Ok(())
}

/// The key of an item being put, with PutItem's messages, and its secondary-index key
/// attributes checked against the index types (an item lacking one is simply not in that
/// index); on a table with LSIs, also the item's size with its LSI entries
/// ([`fits_item_limit`]; without LSIs [`check_put_item`] said all).
pub fn key_of_put_item(table: &TableMeta, item: &Item) -> Result<PrimaryKey, ApiError> {
    let key = put_item_keys(table, item)?;
    check_lsi_item_limit(table, item)?;
    Ok(key)
}

/// The key of an item being put, its secondary-index key attributes checked against the
/// index types: [`key_of_put_item`]'s key checks alone (a transaction cancels the action
/// they refuse, where the size limit fails the call).
pub fn put_item_keys(table: &TableMeta, item: &Item) -> Result<PrimaryKey, ApiError> {
    let key = table.layout.schema.key_of_item(item)?;
    for index in table.local_indexes.iter().chain(&table.global_indexes) {
        index.schema.index_key_of_item(item, &index.name)?;
    }
    Ok(key)
}

/// On a table with LSIs, the item with its LSI entries within 400 KB ([`fits_item_limit`]).
pub fn check_lsi_item_limit(table: &TableMeta, item: &Item) -> Result<(), ApiError> {
    let local = table
        .local_indexes
        .iter()
        .map(|i| (&i.schema, &i.projection));
    if !table.local_indexes.is_empty() && !fits_item_limit(&table.layout.schema, local, item) {
        return Err(ApiError::validation(ITEM_TOO_LARGE));
    }
    Ok(())
}

/// Whether `item` is within DynamoDB's 400 KB, which on a table with LSIs covers the item
/// plus its entries (keys and projected attributes) in every LSI: "For each local
/// secondary index on a table, there is a 400 KB limit on the total of [...] the size of an
/// item's data in the table [and] the size of corresponding entries [...] in all local
/// secondary indexes" (DynamoDB's Constraints page). `local` gives each LSI's key schema
/// and projection; an item without an LSI's sort key has no entry in it.
pub fn fits_item_limit<'a>(
    table_schema: &KeySchema,
    local: impl Iterator<Item = (&'a KeySchema, &'a IndexProjection)>,
    item: &Item,
) -> bool {
    let entries: usize = local
        .filter_map(|(schema, projection)| index_entry(schema, projection, table_schema, item))
        .map(|entry| entry.size)
        .sum();
    item_size(item).saturating_add(entries) <= MAX_ITEM_SIZE
}

/// What a write does once its condition holds.
#[derive(Debug, Clone)]
pub enum WriteAction {
    /// Replace the whole item.
    Put(Item),
    Delete,
    /// Apply to the current item, or to the key attributes when there is none (upsert).
    Update(UpdateExpr),
    /// Only the condition (a transaction's ConditionCheck): nothing is written.
    Check,
}

/// A secondary index as capacity accounting and index-key checks need it.
#[derive(Debug, Clone)]
pub struct IndexInfo {
    pub name: String,
    pub global: bool,
    pub schema: KeySchema,
    pub projection: IndexProjection,
}

/// Everything [`decide`] needs about one write.
#[derive(Debug, Clone)]
pub struct WritePlan {
    pub action: WriteAction,
    pub condition: Option<Condition>,
    pub return_values: ReturnValues,
    /// ReturnValuesOnConditionCheckFailure = ALL_OLD.
    pub return_old_on_failure: bool,
    pub table_schema: KeySchema,
    /// The target's key attributes: where an update of a missing item starts.
    pub key_item: Item,
    pub indexes: Vec<IndexInfo>,
    /// The table's vector indexes, whose changed entries a write reports in bytes.
    pub vector_indexes: Vec<crate::storage::VectorLayout>,
}

impl WritePlan {
    /// A plan for `key` of `table`, with the table's schema and indexes filled in.
    pub fn new(table: &TableMeta, key: &PrimaryKey, action: WriteAction) -> Self {
        let schema = &table.layout.schema;
        let local = table.local_indexes.iter().map(|i| (i, false));
        let global = table.global_indexes.iter().map(|i| (i, true));
        WritePlan {
            action,
            condition: None,
            return_values: ReturnValues::None,
            return_old_on_failure: false,
            table_schema: schema.clone(),
            key_item: schema.key_item(key),
            indexes: local
                .chain(global)
                .map(|(i, global)| IndexInfo {
                    name: i.name.clone(),
                    global,
                    schema: i.schema.clone(),
                    projection: i.projection.clone(),
                })
                .collect(),
            vector_indexes: table.vector_indexes.iter().map(|v| v.layout()).collect(),
        }
    }
}

/// Write units of one write: the table's and each index's (only indexes whose entry
/// changed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteUnits {
    pub table: f64,
    pub local: Vec<(String, f64)>,
    pub global: Vec<(String, f64)>,
    /// Bytes on each vector index whose entry changed (not capacity units: vector writes
    /// are metered apart).
    pub vector: Vec<(String, f64)>,
}

impl WriteUnits {
    pub fn total(&self) -> f64 {
        self.on_table() + self.global.iter().map(|(_, u)| u).sum::<f64>()
    }

    /// What the table itself consumed: its own units and its LSIs' (GSIs have their own
    /// capacity).
    pub fn on_table(&self) -> f64 {
        self.table + self.local.iter().map(|(_, u)| u).sum::<f64>()
    }

    /// Adds another write's units, index by index (what a set of writes consumed).
    pub fn add(&mut self, other: WriteUnits) {
        self.table += other.table;
        for (list, more) in [
            (&mut self.local, other.local),
            (&mut self.global, other.global),
            (&mut self.vector, other.vector),
        ] {
            for (name, units) in more {
                match list.iter_mut().find(|(known, _)| *known == name) {
                    Some((_, total)) => *total += units,
                    None => list.push((name, units)),
                }
            }
        }
    }

    /// Twice every part: what a transactional write consumes.
    pub fn doubled(mut self) -> WriteUnits {
        self.table *= 2.0;
        for (_, units) in self.local.iter_mut().chain(self.global.iter_mut()) {
            *units *= 2.0;
        }
        self
    }
}

/// A write that succeeded in [`decide`] (its mutation is returned beside it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteResult {
    /// What ReturnValues asked for; `None` when nothing or nothing non-empty.
    pub attributes: Option<Item>,
    pub units: WriteUnits,
}

/// Why [`decide`] refused a write.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteFailure {
    /// The condition was false; `item` is the current item when ALL_OLD was asked for.
    ConditionalCheckFailed { item: Option<Item> },
    /// A run-time failure of the update (operand types, size, index key types).
    Validation(ApiError),
    /// A GSI the write reaches is out of capacity ([`decide_within_capacity`]).
    Throttled(ApiError),
}

impl WriteFailure {
    /// The single-item operations' error.
    pub fn into_api_error(self) -> ApiError {
        match self {
            WriteFailure::ConditionalCheckFailed { item } => {
                ApiError::conditional_check_failed(item)
            }
            WriteFailure::Validation(e) | WriteFailure::Throttled(e) => e,
        }
    }

    /// A transaction's cancellation reason for this action.
    pub fn into_cancellation_reason(self) -> CancellationReason {
        match self {
            WriteFailure::ConditionalCheckFailed { item } => CancellationReason {
                code: "ConditionalCheckFailed".into(),
                message: Some("The conditional request failed".into()),
                item,
            },
            WriteFailure::Validation(e) => CancellationReason::validation_error(e.message),
            WriteFailure::Throttled(e) => CancellationReason {
                code: e.code.reason_code().into(),
                message: e.message,
                item: None,
            },
        }
    }
}

/// [`decide`], then admission by the GSIs the write reaches
/// (`crate::throttle::admit_index_writes`, over what the call's earlier writes `owed`
/// them): only under the item's lock is it known which indexes a write changes, so this
/// is where a GSI out of capacity refuses it.
pub fn decide_within_capacity(
    table: &TableMeta,
    plan: &WritePlan,
    current: Option<&Item>,
    owed: &Owed,
) -> Result<(Mutation, WriteResult), WriteFailure> {
    let decided = decide(plan, current)?;
    let reached = &decided.1.units.global;
    let admitted = crate::throttle::admit_index_writes(table, reached, owed);
    // A GSI's Contributor Insights count the writes that reach it by the GSI's key: the
    // new item's entry, or the old one's when the entry goes away.
    let new = match &decided.0 {
        Mutation::Put(item) => Some(item),
        _ => None,
    };
    for (name, units) in reached {
        if !crate::contributors::tracked(table, Some(name)) {
            continue;
        }
        let Some(index) = plan.indexes.iter().find(|i| &i.name == name) else {
            continue;
        };
        let key_in = |item: Option<&Item>| item.and_then(|i| index.schema.key_of_stored(i));
        let Some(key) = key_in(new).or_else(|| key_in(current)) else {
            continue;
        };
        let sort = key.range.as_ref();
        match admitted {
            Ok(()) => crate::contributors::accessed(table, Some(name), &key.hash, sort, *units),
            Err(_) => crate::contributors::throttled(table, Some(name), &key.hash, sort),
        }
    }
    admitted.map_err(WriteFailure::Throttled)?;
    Ok(decided)
}

/// Runs under the item's lock: the condition against `current` (a missing item is
/// evaluated as an empty one), then the action. Returns the mutation to commit and what
/// the caller reports, or why the write is refused.
pub fn decide(
    plan: &WritePlan,
    current: Option<&Item>,
) -> Result<(Mutation, WriteResult), WriteFailure> {
    let empty = Item::new();
    if let Some(condition) = &plan.condition {
        if !condition.eval(current.unwrap_or(&empty)) {
            return Err(WriteFailure::ConditionalCheckFailed {
                item: if plan.return_old_on_failure {
                    current.cloned()
                } else {
                    None
                },
            });
        }
    }
    let (mutation, attributes) = match &plan.action {
        WriteAction::Check => (Mutation::Keep, None),
        WriteAction::Delete => {
            let attributes = match plan.return_values {
                ReturnValues::AllOld => current.cloned(),
                _ => None,
            };
            (Mutation::Delete, attributes)
        }
        WriteAction::Put(item) => {
            let attributes = match plan.return_values {
                ReturnValues::AllOld => current.cloned(),
                _ => None,
            };
            (Mutation::Put(item.clone()), attributes)
        }
        WriteAction::Update(update) if current.is_none() && update.only_removes() => {
            (Mutation::Keep, None)
        }
        WriteAction::Update(update) => {
            let mut new = match current {
                Some(item) => item.clone(),
                None => plan.key_item.clone(),
            };
            update.apply(&mut new).map_err(WriteFailure::Validation)?;
            let local = plan.indexes.iter().filter(|i| !i.global);
            let local = local.map(|i| (&i.schema, &i.projection));
            if !fits_item_limit(&plan.table_schema, local, &new) {
                return Err(WriteFailure::Validation(ApiError::validation(
                    UPDATED_ITEM_TOO_LARGE,
                )));
            }
            check_built_item(&new).map_err(WriteFailure::Validation)?;
            for index in &plan.indexes {
                index
                    .schema
                    .index_key_of_item(&new, &index.name)
                    .map_err(WriteFailure::Validation)?;
            }
            let attributes = match plan.return_values {
                ReturnValues::None => None,
                ReturnValues::AllOld => current.cloned(),
                ReturnValues::AllNew => Some(new.clone()),
                ReturnValues::UpdatedOld => current.map(|old| update.updated_attributes(old)),
                ReturnValues::UpdatedNew => Some(update.updated_attributes(&new)),
            };
            (Mutation::Put(new), attributes)
        }
    };
    // The item as the write leaves it, for its capacity: read from the mutation rather
    // than cloned beside it (a 1 KB item is a tree of allocations).
    let new = match &mutation {
        Mutation::Keep => current,
        Mutation::Delete => None,
        Mutation::Put(item) => Some(item),
    };
    let units = write_units(plan, current, new);
    Ok((
        mutation,
        WriteResult {
            attributes: attributes.filter(|a| !a.is_empty()),
            units,
        },
    ))
}

/// The capacity of a write from `old` to `new` (`None` = absent). A ConditionCheck (`new`
/// equal to `old`) costs the item's size on the table and nothing on indexes.
pub fn write_units(plan: &WritePlan, old: Option<&Item>, new: Option<&Item>) -> WriteUnits {
    let billed = |item: &Item| match plan.vector_indexes.as_slice() {
        [] => item_size(item),
        indexes => crate::vector::billed_size(indexes, item),
    };
    let old_size = old.map_or(0, billed);
    let new_size = new.map_or(0, billed);
    let mut units = WriteUnits {
        table: capacity::write_units(old_size.max(new_size)),
        ..Default::default()
    };
    for index in &plan.indexes {
        let entry = |item| index_entry(&index.schema, &index.projection, &plan.table_schema, item);
        let before = old.and_then(entry);
        let after = new.and_then(entry);
        let cost = match (before, after) {
            (None, None) => 0.0,
            (Some(e), None) | (None, Some(e)) => capacity::write_units(e.size),
            (Some(a), Some(b)) if a.key != b.key => {
                capacity::write_units(a.size) + capacity::write_units(b.size)
            }
            (Some(a), Some(b)) if a.attributes != b.attributes => {
                capacity::write_units(a.size.max(b.size))
            }
            (Some(_), Some(_)) => 0.0,
        };
        if cost > 0.0 {
            let list = if index.global {
                &mut units.global
            } else {
                &mut units.local
            };
            list.push((index.name.clone(), cost));
        }
    }
    for index in &plan.vector_indexes {
        let entry = |item| index.entry(&plan.table_schema, item);
        let changed = match (old.and_then(entry), new.and_then(entry)) {
            (Some(before), Some(after)) if before == after => None,
            (_, Some(entry)) | (Some(entry), None) => Some(entry),
            (None, None) => None,
        };
        if let Some(entry) = changed {
            let bytes = crate::vector::write_bytes(index, &entry);
            units.vector.push((index.name.clone(), bytes as f64));
        }
    }
    units
}

/// An item's entry in one index: its index key, the attributes the index stores, and
/// their size.
struct IndexEntry<'a> {
    key: PrimaryKey,
    attributes: Vec<(&'a String, &'a AttributeValue)>,
    size: usize,
}

/// The bytes `item`'s entry takes in each of `table`'s indexes it reaches (an index it
/// lacks a key attribute of is left out): the index's name, whether it is global, and the
/// bytes.
pub fn index_entry_sizes(table: &TableMeta, item: &Item) -> Vec<(String, bool, usize)> {
    let local = table.local_indexes.iter().map(|i| (i, false));
    let global = table.global_indexes.iter().map(|i| (i, true));
    local
        .chain(global)
        .filter_map(|(index, global)| {
            let entry = index_entry(&index.schema, &index.projection, &table.layout.schema, item)?;
            Some((index.name.clone(), global, entry.size))
        })
        .collect()
}

/// `None` when the item lacks an index key attribute (sparse index).
fn index_entry<'a>(
    schema: &KeySchema,
    projection: &IndexProjection,
    table_schema: &KeySchema,
    item: &'a Item,
) -> Option<IndexEntry<'a>> {
    let key = schema.key_of_stored(item)?;
    let keep = |name: &str| projection.view().keeps(schema, table_schema, name);
    let attributes: Vec<(&String, &AttributeValue)> =
        item.iter().filter(|(name, _)| keep(name)).collect();
    let size = attributes_size(attributes.iter().copied());
    Some(IndexEntry {
        key,
        attributes,
        size,
    })
}

/// `ConsumedCapacity` of a single-item write: the total, and with INDEXES the table's
/// share and each index's that changed.
pub fn write_capacity(
    table: &str,
    units: &WriteUnits,
    mode: ReturnConsumedCapacity,
) -> Option<ConsumedCapacity> {
    let total = units.total();
    match mode {
        ReturnConsumedCapacity::None => None,
        ReturnConsumedCapacity::Total => Some(ConsumedCapacity {
            table_name: table.to_string(),
            capacity_units: total,
            ..Default::default()
        }),
        ReturnConsumedCapacity::Indexes => {
            let map = |list: &[(String, f64)]| -> Option<BTreeMap<String, Capacity>> {
                if list.is_empty() {
                    return None;
                }
                Some(
                    list.iter()
                        .map(|(name, units)| {
                            (
                                name.clone(),
                                Capacity {
                                    capacity_units: *units,
                                    ..Default::default()
                                },
                            )
                        })
                        .collect(),
                )
            };
            Some(ConsumedCapacity {
                table_name: table.to_string(),
                capacity_units: total,
                table: Some(Capacity {
                    capacity_units: units.table,
                    ..Default::default()
                }),
                local_secondary_indexes: map(&units.local),
                global_secondary_indexes: map(&units.global),
                vector_indexes: vector_bytes(&units.vector),
                ..Default::default()
            })
        }
    }
}

/// `VectorIndexes` of a write's INDEXES capacity: the bytes each changed vector index took.
fn vector_bytes(list: &[(String, f64)]) -> Option<BTreeMap<String, VectorCapacity>> {
    let bytes = list.iter().map(|(name, bytes)| {
        let used = VectorCapacity {
            vector_write_request_bytes: Some(*bytes),
            ..Default::default()
        };
        (name.clone(), used)
    });
    (!list.is_empty()).then(|| bytes.collect())
}

/// `ConsumedCapacity` of a single-item read (GetItem): the table only.
pub fn read_capacity(
    table: &str,
    units: f64,
    mode: ReturnConsumedCapacity,
) -> Option<ConsumedCapacity> {
    match mode {
        ReturnConsumedCapacity::None => None,
        ReturnConsumedCapacity::Total => Some(ConsumedCapacity {
            table_name: table.to_string(),
            capacity_units: units,
            ..Default::default()
        }),
        ReturnConsumedCapacity::Indexes => Some(ConsumedCapacity {
            table_name: table.to_string(),
            capacity_units: units,
            table: Some(Capacity {
                capacity_units: units,
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// `ItemCollectionMetrics` with ReturnItemCollectionMetrics = SIZE on a table with local
/// secondary indexes (the only tables with item collections): the partition key and a
/// fixed estimate of 0 to 1 GB, since we keep no per-collection sizes.
pub fn item_collection_metrics(
    table: &TableMeta,
    key: &PrimaryKey,
    requested: Option<&str>,
) -> Option<ItemCollectionMetrics> {
    if requested != Some("SIZE") || table.local_indexes.is_empty() {
        return None;
    }
    let mut item_collection_key = Item::new();
    item_collection_key.insert(table.layout.schema.hash.name.clone(), key.hash.clone());
    Some(ItemCollectionMetrics {
        item_collection_key: Some(item_collection_key),
        size_estimate_range_gb: Some(vec![0.0, 1.0]),
    })
}

/// Runs one single-item write (PutItem, UpdateItem, DeleteItem): decides under the item's
/// lock with [`decide`], commits through the storage write path, and charges the units to
/// the table's throughput. Failed decisions are charged and answered by the throttle module
/// (a failed condition still consumes a write, as in DynamoDB).
pub async fn execute_single(
    app: &crate::app::App,
    op: &'static str,
    table: &TableMeta,
    key: &PrimaryKey,
    plan: &WritePlan,
) -> Result<WriteResult, ApiError> {
    crate::throttle::admit_item_write(table, key)?;
    let result = app
        .storage
        .write(
            &[(&table.layout, key.clone())],
            crate::storage::Cause::User,
            |current| {
                let current = current.first().and_then(Option::as_ref);
                let (mutation, result) = decide_within_capacity(table, plan, current, &Owed::NONE)?;
                Ok((vec![mutation], result))
            },
        )
        .await
        .map_err(|e| storage_failure(op, e))?
        .map_err(|failure| crate::throttle::failed_write(table, key, failure))?;
    crate::throttle::charge_item_write(table, key, &result.units);
    Ok(result)
}

/// Storage failures are never shown to clients: log the detail once, answer
/// InternalServerError.
pub fn storage_failure(op: &'static str, error: StorageError) -> ApiError {
    // The one storage outcome that is the client's: an LSI item collection at its limit.
    if matches!(error, StorageError::CollectionSizeLimit) {
        return ApiError::new(
            shared::wire::error::ErrorCode::ItemCollectionSizeLimitExceededException,
            "Collection size exceeded.",
        );
    }
    // Writes refused since the engine could not write are said once, where it failed.
    if !matches!(error, StorageError::WritesRefused) {
        tracing::error!(op, %error, "storage failed");
    }
    ApiError::internal()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::ProjectionType;
    use shared::model::{KeyAttr, Number, ScalarType};

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(v).unwrap())
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn schema(hash: &str) -> KeySchema {
        KeySchema::new(
            KeyAttr {
                name: hash.into(),
                ty: ScalarType::S,
            },
            None,
        )
    }

    fn values(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn plan(action: WriteAction) -> WritePlan {
        WritePlan {
            action,
            condition: None,
            return_values: ReturnValues::None,
            return_old_on_failure: false,
            table_schema: schema("pk"),
            key_item: item(&[("pk", s("k"))]),
            indexes: vec![IndexInfo {
                name: "by_g".into(),
                global: true,
                schema: schema("g"),
                projection: IndexProjection {
                    kind: ProjectionType::All,
                    non_key_attributes: Vec::new(),
                },
            }],
            vector_indexes: Vec::new(),
        }
    }

    fn parsed(
        update: Option<&str>,
        condition: Option<&str>,
        vals: &[(&str, AttributeValue)],
    ) -> ParsedWrite {
        let vals = values(vals);
        parse_write_expressions(
            &WriteExpressions {
                is_update: update.is_some(),
                update_expression: update,
                condition_expression: condition,
                values: if vals.is_empty() { None } else { Some(&vals) },
                ..Default::default()
            },
            WriteCall::Single,
        )
        .unwrap()
    }

    fn message(r: Result<ParsedWrite, ApiError>) -> String {
        r.err().and_then(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn update_creates_the_item_and_returns_values() {
        let p = parsed(Some("SET a = :v"), None, &[(":v", n("1"))]);
        let mut plan = plan(WriteAction::Update(p.update.unwrap()));
        plan.return_values = ReturnValues::AllNew;
        let (mutation, result) = decide(&plan, None).unwrap();
        let expected = item(&[("pk", s("k")), ("a", n("1"))]);
        assert_eq!(mutation, Mutation::Put(expected.clone()));
        assert_eq!(result.attributes, Some(expected));
        assert_eq!(result.units.total(), 1.0);

        plan.return_values = ReturnValues::AllOld;
        assert_eq!(decide(&plan, None).unwrap().1.attributes, None);
        plan.return_values = ReturnValues::UpdatedOld;
        let old = item(&[("pk", s("k")), ("a", n("0")), ("b", s("x"))]);
        assert_eq!(
            decide(&plan, Some(&old)).unwrap().1.attributes,
            Some(item(&[("a", n("0"))]))
        );
    }

    #[test]
    fn an_update_that_only_removes_creates_no_item() {
        for expression in ["REMOVE a", "DELETE s :v", "REMOVE a DELETE s :v"] {
            let values: &[(&str, AttributeValue)] = if expression.contains(":v") {
                &[(":v", AttributeValue::Ss(vec!["x".into()]))]
            } else {
                &[]
            };
            let p = parsed(Some(expression), None, values);
            let mut plan = plan(WriteAction::Update(p.update.unwrap()));
            plan.return_values = ReturnValues::AllNew;
            let (mutation, result) = decide(&plan, None).unwrap();
            assert_eq!(mutation, Mutation::Keep, "{expression}");
            assert_eq!(result.attributes, None);
            // On an item that exists, it takes away.
            let old = item(&[
                ("pk", s("k")),
                ("a", n("1")),
                ("s", AttributeValue::Ss(vec!["x".into()])),
            ]);
            let (mutation, _) = decide(&plan, Some(&old)).unwrap();
            assert!(matches!(mutation, Mutation::Put(ref new) if new.len() < old.len()));
        }
        // Anything else creates it, even with a REMOVE beside it.
        let p = parsed(Some("SET b = :v REMOVE a"), None, &[(":v", n("1"))]);
        let plan = plan(WriteAction::Update(p.update.unwrap()));
        let (mutation, _) = decide(&plan, None).unwrap();
        assert_eq!(
            mutation,
            Mutation::Put(item(&[("pk", s("k")), ("b", n("1"))]))
        );
    }

    #[test]
    fn failed_condition_carries_the_old_item_only_when_asked() {
        let p = parsed(None, Some("attribute_not_exists(pk)"), &[]);
        let mut plan = plan(WriteAction::Delete);
        plan.condition = p.condition;
        let old = item(&[("pk", s("k"))]);
        assert_eq!(
            decide(&plan, Some(&old)).unwrap_err(),
            WriteFailure::ConditionalCheckFailed { item: None }
        );
        plan.return_old_on_failure = true;
        let failure = decide(&plan, Some(&old)).unwrap_err();
        let error = failure.clone().into_api_error();
        assert_eq!(error.code.name(), "ConditionalCheckFailedException");
        assert_eq!(error.item, Some(old.clone()));
        assert_eq!(
            failure.into_cancellation_reason().code,
            "ConditionalCheckFailed"
        );
        // Absent item: the condition holds and the delete is a one-unit no-op.
        let (mutation, result) = decide(&plan, None).unwrap();
        assert_eq!(mutation, Mutation::Delete);
        assert_eq!(result.units.table, 1.0);
    }

    #[test]
    fn a_put_item_needs_sound_attribute_names() {
        let long = "y".repeat(shared::model::MAX_ATTRIBUTE_NAME_BYTES + 1);
        let message = |it: Item| check_put_item(&it).unwrap_err().message.unwrap_or_default();
        assert_eq!(
            message(item(&[("pk", s("k")), ("", n("1")), (&long, n("2"))])),
            "One or more parameter values were invalid: Empty attribute name"
        );
        assert_eq!(
            message(item(&[("pk", s("k")), (&long, n("2"))])),
            "1 validation error detected: Attribute name is too large, must be less than 65536 bytes"
        );
        assert!(check_put_item(&item(&[("pk", s("k")), (&long[1..], n("2"))])).is_ok());
    }

    #[test]
    fn oversized_update_is_refused() {
        let p = parsed(Some("SET b = :v"), None, &[(":v", s(&"y".repeat(200_000)))]);
        let plan = plan(WriteAction::Update(p.update.unwrap()));
        let old = item(&[("pk", s("k")), ("a", s(&"x".repeat(300_000)))]);
        let failure = decide(&plan, Some(&old)).unwrap_err();
        assert_eq!(
            failure.into_api_error().message.as_deref(),
            Some(UPDATED_ITEM_TOO_LARGE)
        );
    }

    #[test]
    fn lsi_entries_count_toward_the_item_limit() {
        let include_a = IndexProjection {
            kind: ProjectionType::Include,
            non_key_attributes: vec!["a".into()],
        };
        let keys_only = IndexProjection {
            kind: ProjectionType::KeysOnly,
            non_key_attributes: Vec::new(),
        };
        let lsi = schema("l");
        let table = schema("pk");
        let big = |extra: &[(&str, AttributeValue)]| {
            let mut it = item(&[("pk", s("k")), ("a", s(&"x".repeat(150_000)))]);
            it.extend(item(extra));
            it
        };
        let fits = |item: &Item, local: &[&IndexProjection]| {
            fits_item_limit(&table, local.iter().map(|p| (&lsi, *p)), item)
        };
        // About 150 KB + 150 KB under the INCLUDE LSI: fits once, not with two such LSIs.
        let indexed = big(&[("l", s("1"))]);
        assert!(fits(&indexed, &[&include_a]));
        assert!(!fits(&indexed, &[&include_a, &include_a]));
        assert!(fits(&indexed, &[&include_a, &keys_only]));
        // Without the LSI key the item has no entries.
        assert!(fits(&big(&[]), &[&include_a, &include_a]));

        // An update is refused with its own message, a GSI not counting.
        let p = parsed(Some("SET l = :v"), None, &[(":v", s("1"))]);
        let mut plan = plan(WriteAction::Update(p.update.unwrap()));
        let old = item(&[("pk", s("k")), ("a", s(&"x".repeat(210_000)))]);
        assert!(decide(&plan, Some(&old)).is_ok());
        plan.indexes.push(IndexInfo {
            name: "by_l".into(),
            global: false,
            schema: lsi.clone(),
            projection: include_a.clone(),
        });
        let failure = decide(&plan, Some(&old)).unwrap_err();
        assert_eq!(
            failure.into_api_error().message.as_deref(),
            Some(UPDATED_ITEM_TOO_LARGE)
        );
    }

    #[test]
    fn capacity_counts_the_larger_image_and_index_changes() {
        let plan = plan(WriteAction::Delete);
        let big = item(&[("pk", s("k")), ("d", s(&"x".repeat(2500)))]);
        let small = item(&[("pk", s("k"))]);
        assert_eq!(write_units(&plan, Some(&big), Some(&small)).table, 3.0);
        let in_old = item(&[("pk", s("k")), ("g", s("old"))]);
        let in_new = item(&[("pk", s("k")), ("g", s("new"))]);
        let units = write_units(&plan, Some(&in_old), Some(&in_new));
        assert_eq!(units.global, vec![("by_g".to_string(), 2.0)]);
        assert_eq!(units.total(), 3.0);
        assert!(write_units(&plan, Some(&in_old), Some(&in_old))
            .global
            .is_empty());
        assert!(write_units(&plan, None, Some(&small)).global.is_empty());
        let mut sum = write_units(&plan, Some(&big), Some(&small));
        sum.add(write_units(&plan, Some(&in_old), Some(&in_new)));
        sum.add(write_units(&plan, None, Some(&in_new)));
        assert_eq!(sum.table, 5.0);
        assert_eq!(sum.global, vec![("by_g".to_string(), 3.0)]);
        let cc = write_capacity("t", &units, ReturnConsumedCapacity::Indexes).unwrap();
        let json = serde_json::to_value(cc).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"TableName": "t", "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
                "GlobalSecondaryIndexes": {"by_g": {"CapacityUnits": 2.0}}})
        );
    }

    #[test]
    fn parameter_rules_and_legacy_forms() {
        let vals = values(&[(":v", n("1"))]);
        let expected: HashMap<String, ExpectedAttributeValue> = [(
            "a".to_string(),
            ExpectedAttributeValue {
                exists: Some(false),
                ..Default::default()
            },
        )]
        .into_iter()
        .collect();
        let mixed = WriteExpressions {
            condition_expression: Some("a = :v"),
            values: Some(&vals),
            expected: Some(&expected),
            ..Default::default()
        };
        const MIXED: &str = "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}";
        assert_eq!(
            message(parse_write_expressions(
                &mixed,
                WriteCall::TransactionAction
            )),
            MIXED
        );
        assert_eq!(
            message(parse_write_expressions(&mixed, WriteCall::Single)),
            format!("1 validation error detected: {MIXED}")
        );
        let unused = |is_update, call| {
            message(parse_write_expressions(
                &WriteExpressions {
                    is_update,
                    values: Some(&vals),
                    ..Default::default()
                },
                call,
            ))
        };
        assert_eq!(
            unused(true, WriteCall::TransactionAction),
            "ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null"
        );
        assert_eq!(
            unused(true, WriteCall::Single),
            "1 validation error detected: ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null"
        );
        assert_eq!(
            unused(false, WriteCall::TransactionAction),
            "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null"
        );
        // PutItem and DeleteItem name no null expression.
        assert_eq!(
            unused(false, WriteCall::Single),
            "1 validation error detected: ExpressionAttributeValues can only be specified when using expressions"
        );
        // A refusal already in the model's envelope keeps its own.
        let long_name: HashMap<String, String> = [("#n".to_string(), "n".repeat(65536))]
            .into_iter()
            .collect();
        let too_long = parse_write_expressions(
            &WriteExpressions {
                condition_expression: Some("attribute_exists(#n)"),
                names: Some(&long_name),
                ..Default::default()
            },
            WriteCall::Single,
        );
        assert_eq!(
            message(too_long),
            "1 validation error detected: Attribute name is too large, must be less than 65536 bytes"
        );
        let legacy = parse_write_expressions(
            &WriteExpressions {
                expected: Some(&expected),
                ..Default::default()
            },
            WriteCall::Single,
        )
        .unwrap();
        let condition = legacy.condition.unwrap();
        assert!(condition.eval(&item(&[("pk", s("k"))])));
        assert!(!condition.eval(&item(&[("a", s("k"))])));
    }

    #[test]
    fn table_names_are_model_constraints() {
        let check = |name: Option<&str>| {
            check_write_constraints(&WriteParams {
                table_name: name,
                target: ("key", true),
                ..Default::default()
            })
            .err()
            .and_then(|e| e.message)
            .unwrap_or_default()
        };
        assert_eq!(
            check(Some("ab")),
            "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"
        );
        assert_eq!(
            check(Some("a;")),
            "2 validation errors detected: Value 'a;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
             Value 'a;' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"
        );
        assert_eq!(
            check(None),
            "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(check(Some("arn:aws:dynamodb:us-east-1:0:table/t")), "");
    }

    #[test]
    fn return_values_parse() {
        assert_eq!(ReturnValues::parse(None), ReturnValues::None);
        assert_eq!(
            ReturnValues::parse(Some("UPDATED_NEW")),
            ReturnValues::UpdatedNew
        );
        let err = check_write_constraints(&WriteParams {
            table_name: Some("tbl"),
            target: ("key", true),
            return_values: Some("EVERYTHING"),
            ..Default::default()
        });
        assert_eq!(
            err.err().and_then(|e| e.message).as_deref(),
            Some("1 validation error detected: Value 'EVERYTHING' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]")
        );
    }
}
