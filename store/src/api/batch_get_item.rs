//! BatchGetItem: up to 100 keys across tables, each read like a GetItem.
//!
//! Checks run in DynamoDB's order (as dynalite reproduces it): request-model constraints
//! (all reported at once), then per table the expression-parameter rules, AttributesToGet
//! duplicates, the ProjectionExpression and unused names, and per key duplicates (`Provided
//! list of item keys contains duplicates`) and the 100-key total (`Too many items requested
//! for the BatchGetItem call`); then table lookups (ResourceNotFoundException) and each
//! key against its table's schema. Any failure rejects the whole batch.
//!
//! Reads: each key is a point read (all reads here are strongly consistent; `ConsistentRead`
//! only changes the capacity charged). Missing items are simply absent from `Responses`.
//! The response is capped at [`RESPONSE_CAP`] bytes of (projected) item data: the key that
//! would cross it and every key after it go to `UnprocessedKeys`, in the request's shape
//! (with the table's projection and consistency settings), so the client can resend them.
//! A provisioned table out of read capacity is not read: all its keys go to
//! `UnprocessedKeys`, and so do the keys after the read that uses its capacity up; when
//! every table of the call is out, the call fails with
//! ProvisionedThroughputExceededException.
//! Capacity is charged per item read (ceil(size / 4 KB), half when eventually consistent),
//! reported as one entry per table.
//!
//! The helper at the end ([`PerTable`]) is shared by the other batch and
//! transaction handlers.

use std::collections::BTreeMap;

use shared::expr::{self, Projection, Substitutions};
use shared::model::size::item_size;
use shared::model::PrimaryKey;
use shared::wire::error::ApiError;
use shared::wire::ops::batch_get_item::{BatchGetItemInput, BatchGetItemOutput, KeysAndAttributes};
use shared::wire::ops::common::{Capacity, ConsumedCapacity, ReturnConsumedCapacity};
use shared::wire::ops::validate::Violations;

use super::item_write::{storage_failure, CAPACITY_VALUES};
use super::read_item::ReadItem;
use crate::app::App;
use crate::capacity;
use crate::storage::StoredItem;

/// Most keys in one request, across all tables.
pub const MAX_KEYS: usize = 100;

/// Most item bytes one response carries (DynamoDB's 16 MB).
pub const RESPONSE_CAP: usize = 16 * 1024 * 1024;

const DUPLICATE_KEYS: &str = "Provided list of item keys contains duplicates";
const TOO_MANY_KEYS: &str = "Too many items requested for the BatchGetItem call";

/// One table's part of the request, checked and resolved.
struct TablePlan<'a> {
    /// The name as the request spelled it (the key of `Responses`).
    requested: &'a str,
    request: &'a KeysAndAttributes,
    /// The table is out of read capacity: why, if so.
    throttled: Option<ApiError>,
    table: std::sync::Arc<crate::catalog::TableMeta>,
    keys: Vec<PrimaryKey>,
    projection: Option<Projection>,
    consistent: bool,
}

pub async fn handle(
    app: &App,
    input: BatchGetItemInput,
) -> Result<BatchGetItemOutput<ReadItem>, ApiError> {
    check_constraints(&input)?;
    let mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let Some(request_items) = input.request_items.as_ref() else {
        return Err(ApiError::internal());
    };

    // Static checks that need no table. One projection form for the whole request:
    // DynamoDB refuses ProjectionExpression on one table beside AttributesToGet on another
    // (the dynamodb-conformance suite's capture, tier3/error-messages/batchGetItem.test.ts).
    let requests = || request_items.values();
    expr::check_parameter_usage(
        &[(
            "ProjectionExpression",
            requests().any(|r| r.projection_expression.is_some()),
        )],
        &[(
            "AttributesToGet",
            requests().any(|r| r.attributes_to_get.is_some()),
        )],
        None,
        None,
        &[],
    )?;
    let mut projections = Vec::with_capacity(request_items.len());
    let mut total = 0usize;
    for request in request_items.values() {
        projections.push(parse_projection(request)?);
        let keys = request.keys.as_deref().unwrap_or_default();
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].contains(key) {
                return Err(ApiError::validation(DUPLICATE_KEYS));
            }
            total += 1;
            if total > MAX_KEYS {
                return Err(ApiError::validation(TOO_MANY_KEYS));
            }
        }
    }

    // Tables and keys against their schemas.
    let mut plans = Vec::with_capacity(request_items.len());
    for ((requested, request), projection) in request_items.iter().zip(projections) {
        let table = app.catalog.table_for_data(requested)?;
        let schema = &table.layout.schema;
        let mut keys = Vec::new();
        for key in request.keys.as_deref().unwrap_or_default() {
            let key = schema.key_from_param(key)?;
            // Keys equal as attribute maps were caught above; this catches the same key
            // spelled differently (numbers `1` and `1.0`).
            if keys.contains(&key) {
                return Err(ApiError::validation(DUPLICATE_KEYS));
            }
            keys.push(key);
        }
        plans.push(TablePlan {
            requested,
            request,
            throttled: crate::throttle::admit_read(&table, None).err(),
            table,
            keys,
            projection,
            consistent: request.consistent_read.unwrap_or(false),
        });
    }
    // Every table out of capacity: the call is refused. Otherwise the throttled tables'
    // keys go to UnprocessedKeys below.
    if plans.iter().all(|p| p.throttled.is_some()) {
        if let Some(e) = plans.iter().find_map(|p| p.throttled.clone()) {
            return Err(e);
        }
    }

    let mut output = BatchGetItemOutput {
        responses: BTreeMap::new(),
        unprocessed_keys: BTreeMap::new(),
        consumed_capacity: None,
    };
    let mut units = PerTable::default();
    let mut bytes = 0usize;
    let mut full = false;
    // A table's capacity running out during the batch, and whether any key was read.
    let mut ran_out = None;
    let mut read_any = false;
    for plan in &plans {
        let mut unprocessed = Vec::new();
        let mut found = Vec::new();
        let mut processed_any = false;
        for key in &plan.keys {
            if plan.throttled.is_some() {
                crate::contributors::item_throttled(&plan.table, key);
            }
            if full || plan.throttled.is_some() {
                unprocessed.push(plan.table.layout.schema.key_item(key));
                continue;
            }
            // Items are charged as they are read: once this batch has used up the table's
            // capacity, its remaining keys go back (the read that crossed it ran into
            // debt, as any request may).
            if let Err(e) = crate::throttle::admit_item_read(&plan.table, key) {
                ran_out = Some(e);
                unprocessed.push(plan.table.layout.schema.key_item(key));
                continue;
            }
            let failure = |e| storage_failure("BatchGetItem", e);
            let stored = app
                .storage
                .get_stored(&plan.table.layout, key)
                .map_err(failure)?;
            let read = stored.as_ref().map_or(0, StoredItem::size);
            // Whole items are answered as stored; only a projection decodes.
            let shown = match (stored, &plan.projection) {
                (Some(stored), Some(projection)) => {
                    let shaped = projection.apply(&stored.decode().map_err(failure)?);
                    Some((item_size(&shaped), ReadItem::Shaped(shaped)))
                }
                (Some(stored), None) => Some((read, ReadItem::Stored(stored))),
                (None, _) => None,
            };
            if let Some((size, shown)) = shown {
                if bytes + size > RESPONSE_CAP {
                    full = true;
                    unprocessed.push(plan.table.layout.schema.key_item(key));
                    continue;
                }
                bytes += size;
                found.push(shown);
            }
            processed_any = true;
            read_any = true;
            let read_units = capacity::read_units(read, plan.consistent);
            crate::throttle::charge_item_read(&plan.table, key, read_units);
            units.add(plan.table.name(), read_units);
        }
        if processed_any {
            output.responses.insert(plan.requested.to_string(), found);
        }
        if !unprocessed.is_empty() {
            output.unprocessed_keys.insert(
                plan.requested.to_string(),
                KeysAndAttributes {
                    keys: Some(unprocessed),
                    ..plan.request.clone()
                },
            );
        }
    }
    // Capacity ran out (between the check above and the first read) for every table.
    if let (false, Some(e)) = (read_any, ran_out) {
        return Err(e);
    }
    output.consumed_capacity = units.batch_capacity(mode);
    Ok(output)
}

/// ProjectionExpression (or AttributesToGet) of one table's request, after the expression
/// parameter rules and the AttributesToGet duplicate check.
fn parse_projection(request: &KeysAndAttributes) -> Result<Option<Projection>, ApiError> {
    let names = request.expression_attribute_names.as_ref();
    expr::check_parameter_usage(
        &[(
            "ProjectionExpression",
            request.projection_expression.is_some(),
        )],
        &[("AttributesToGet", request.attributes_to_get.is_some())],
        names,
        None,
        &[],
    )?;
    match (&request.projection_expression, &request.attributes_to_get) {
        (Some(text), _) => {
            let subs = Substitutions::new(names, None);
            let projection = expr::parse_projection(text, &subs)?;
            subs.check_all_used()?;
            Ok(Some(projection))
        }
        (None, Some(names)) => expr::legacy::attributes_to_get(names).map(Some),
        (None, None) => Ok(None),
    }
}

/// Request-model constraints, all reported at once, RequestItems before
/// ReturnConsumedCapacity (the model's member order; the dynamodb-conformance suite's
/// tier3/validation-ordering/batchOperations.test.ts captures a bad table name reported
/// ahead of a bad ReturnConsumedCapacity).
fn check_constraints(input: &BatchGetItemInput) -> Result<(), ApiError> {
    let mut p = Violations::new();
    match &input.request_items {
        None => {
            p.not_null("requestItems", false);
        }
        // The length constraints on RequestItems and Keys are answered by DynamoDB's newer
        // validation layer: PascalCase paths, no echo (tier3/error-messages/
        // batchGetItem.test.ts, every region but me-central-1 since 2026-09).
        Some(items) if items.is_empty() => p.unechoed(
            "RequestItems",
            "Member must have length greater than or equal to 1",
        ),
        Some(items) => {
            // A bad table name echoes the map as JSON (the same file, captured 2026-10-09
            // in us-east-1 and eu-west-2).
            p.map_keys_are_table_names("requestItems", items.keys().map(String::as_str), || {
                serde_json::to_string(items).ok()
            });
            for (table, request) in items {
                check_table_request(&mut p, table, request);
            }
        }
    }
    p.enumeration(
        "returnConsumedCapacity",
        input.return_consumed_capacity.as_deref(),
        CAPACITY_VALUES,
    );
    p.finish()
}

/// One table's `KeysAndAttributes` constraints: Keys present and 1 to [`MAX_KEYS`] long,
/// AttributesToGet 1 to 255 names.
fn check_table_request(p: &mut Violations, table: &str, request: &KeysAndAttributes) {
    let keys_path = format!("RequestItems.{table}.member.Keys");
    match &request.keys {
        None => {
            p.not_null(&format!("requestItems.{table}.member.keys"), false);
        }
        Some(keys) if keys.is_empty() => p.unechoed(
            &keys_path,
            "Member must have length greater than or equal to 1",
        ),
        Some(keys) if keys.len() > MAX_KEYS => p.unechoed(
            &keys_path,
            "Member must have length less than or equal to 100",
        ),
        Some(_) => {}
    }
    if let Some(names) = &request.attributes_to_get {
        let path = format!("requestItems.{table}.member.attributesToGet");
        if names.is_empty() {
            p.push(
                Some("[]"),
                &path,
                "Member must have length greater than or equal to 1",
            );
        } else if names.len() > 255 {
            p.unechoed(&path, "Member must have length less than or equal to 255");
        }
    }
}

// ---------------------------------------------------------------- shared helpers

/// Capacity units summed per table, in the order tables were first charged.
#[derive(Debug, Default)]
pub(crate) struct PerTable {
    tables: Vec<(String, f64)>,
}

impl PerTable {
    pub(crate) fn add(&mut self, table: &str, units: f64) {
        match self.tables.iter_mut().find(|(t, _)| t == table) {
            Some((_, sum)) => *sum += units,
            None => self.tables.push((table.to_string(), units)),
        }
    }

    /// The batch operations' form: `{TableName, CapacityUnits}` per table (plus `Table`
    /// with INDEXES), without read/write breakdown; `None` unless asked for.
    pub(crate) fn batch_capacity(
        &self,
        mode: ReturnConsumedCapacity,
    ) -> Option<Vec<ConsumedCapacity>> {
        if mode == ReturnConsumedCapacity::None {
            return None;
        }
        Some(
            self.tables
                .iter()
                .map(|(table, units)| ConsumedCapacity {
                    table_name: table.clone(),
                    capacity_units: *units,
                    table: (mode == ReturnConsumedCapacity::Indexes).then(|| Capacity {
                        capacity_units: *units,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
        )
    }

    /// The transactions' form of reads: per table, with `ReadCapacityUnits`.
    pub(crate) fn transaction_reads(
        &self,
        mode: ReturnConsumedCapacity,
    ) -> Option<Vec<ConsumedCapacity>> {
        if mode == ReturnConsumedCapacity::None {
            return None;
        }
        let list = self
            .tables
            .iter()
            .filter_map(|(table, units)| ConsumedCapacity::transaction_read(table, *units, mode));
        Some(list.collect())
    }
}

/// Whole `ConsumedCapacity` answers summed per table, in first-use order: for calls made
/// of single-item writes, whose answers (index breakdown included) add up as they are.
#[derive(Debug, Default)]
pub(crate) struct CapacityByTable(Vec<ConsumedCapacity>);

impl CapacityByTable {
    pub(crate) fn add(&mut self, used: Option<ConsumedCapacity>) {
        let Some(used) = used else { return };
        match self.0.iter_mut().find(|c| c.table_name == used.table_name) {
            Some(total) => total.add(&used),
            None => self.0.push(used),
        }
    }

    /// `None` when nothing was asked for (or nothing ran).
    pub(crate) fn into_list(self) -> Option<Vec<ConsumedCapacity>> {
        (!self.0.is_empty()).then_some(self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use shared::model::Item;

    fn message(r: Result<(), ApiError>) -> String {
        r.err().and_then(|e| e.message).unwrap_or_default()
    }

    fn key(pk: &str) -> Item {
        let mut item = Item::new();
        item.insert("pk".into(), shared::model::AttributeValue::S(pk.into()));
        item
    }

    fn input(tables: &[(&str, Option<Vec<Item>>)]) -> BatchGetItemInput {
        BatchGetItemInput {
            request_items: Some(
                tables
                    .iter()
                    .map(|(t, keys)| {
                        (
                            t.to_string(),
                            KeysAndAttributes {
                                keys: keys.clone(),
                                ..Default::default()
                            },
                        )
                    })
                    .collect(),
            ),
            return_consumed_capacity: None,
        }
    }

    // The texts below are the dynamodb-conformance suite's captures
    // (tier3/error-messages/batchGetItem.test.ts, tier3/validation-ordering/
    // batchOperations.test.ts).
    #[test]
    fn model_constraints() {
        assert_eq!(
            message(check_constraints(&BatchGetItemInput::default())),
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            message(check_constraints(&input(&[]))),
            "1 validation error detected: Value at 'RequestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        let many: Vec<Item> = (0..101).map(|i| key(&i.to_string())).collect();
        assert_eq!(
            message(check_constraints(&input(&[("tbl", Some(many))]))),
            "1 validation error detected: Value at 'RequestItems.tbl.member.Keys' failed to satisfy constraint: Member must have length less than or equal to 100"
        );
        assert_eq!(
            message(check_constraints(&input(&[("tbl", Some(vec![]))]))),
            "1 validation error detected: Value at 'RequestItems.tbl.member.Keys' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        let mut bad = input(&[("tbl", None)]);
        bad.return_consumed_capacity = Some("hi".into());
        assert_eq!(
            message(check_constraints(&bad)),
            "2 validation errors detected: Value null at 'requestItems.tbl.member.keys' failed to satisfy constraint: Member must not be null; Value 'hi' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        );
        assert!(check_constraints(&input(&[(
            "arn:aws:dynamodb:us-east-1:1:table/t",
            Some(vec![key("a")])
        )]))
        .is_ok());
    }

    #[test]
    fn a_bad_table_name_echoes_the_map_as_json_ahead_of_the_enum() {
        let mut bad = input(&[("bad!name", Some(vec![key("a")]))]);
        bad.return_consumed_capacity = Some("BOGUS".into());
        assert_eq!(
            message(check_constraints(&bad)),
            "2 validation errors detected: Value '{\"bad!name\":{\"Keys\":[{\"pk\":{\"S\":\"a\"}}]}}' at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]; \
             Value 'BOGUS' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        );
        let text = message(check_constraints(&input(&[("a", Some(vec![]))])));
        assert!(text.starts_with("2 validation errors detected: Value '{\"a\":{\"Keys\":[]}}' at 'requestItems' failed to satisfy constraint: Map keys must satisfy constraint: ["), "{text}");
        assert!(text.ends_with("Value at 'RequestItems.a.member.Keys' failed to satisfy constraint: Member must have length greater than or equal to 1"), "{text}");
    }

    #[test]
    fn capacity_forms() {
        let mut units = PerTable::default();
        units.add("a", 0.5);
        units.add("b", 1.0);
        units.add("a", 0.5);
        assert_eq!(units.batch_capacity(ReturnConsumedCapacity::None), None);
        let total =
            serde_json::to_value(units.batch_capacity(ReturnConsumedCapacity::Total)).unwrap();
        assert_eq!(
            total,
            serde_json::json!([{"TableName": "a", "CapacityUnits": 1.0}, {"TableName": "b", "CapacityUnits": 1.0}])
        );
        let indexes =
            serde_json::to_value(units.batch_capacity(ReturnConsumedCapacity::Indexes)).unwrap();
        assert_eq!(
            indexes[0]["Table"],
            serde_json::json!({"CapacityUnits": 1.0})
        );
        let tx =
            serde_json::to_value(units.transaction_reads(ReturnConsumedCapacity::Total)).unwrap();
        assert_eq!(
            tx[0],
            serde_json::json!({"TableName": "a", "CapacityUnits": 1.0, "ReadCapacityUnits": 1.0})
        );
    }
}
