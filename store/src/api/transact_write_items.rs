//! TransactWriteItems: up to 100 ConditionCheck/Put/Update/Delete actions, all or nothing.
//!
//! # Checks (static, before anything is read)
//! Request-model constraints (all at once; more than 100 actions alone, in DYNAMODB.md §3's
//! form), then per action: exactly one of the four actions, a put's size, the
//! expression-parameter rules, its expressions and unused substitutions; then table
//! lookups, keys against their schemas (a put's item with PutItem's messages and index key
//! types), updates of key attributes, and one item named twice. Every one of these fails
//! the whole call as a plain ValidationException or ResourceNotFoundException, never as a
//! cancellation (DYNAMODB.md §5 "Transactions"), but for an action's key: an empty key
//! value fails the call, any other mistake in it (a missing or mistyped attribute, one over
//! the size limits, a put's index key of the wrong type) cancels the transaction with that
//! action's `ValidationError` reason, as DynamoDB does (`cancelled_for_keys`).
//!
//! # Execution
//! One [`Storage::write`](crate::storage::Storage::write) over every target: it locks all
//! the items (sorted, so transactions cannot deadlock), hands us their current versions,
//! and commits what [`decide`] returns atomically and durably, or nothing. `decide`
//! evaluates every action against its item, never stopping at the first failure, so the
//! TransactionCanceledException lists a reason per action in request order: `None`,
//! `ConditionalCheckFailed` (with the old item when the action asked for ALL_OLD) or
//! `ValidationError` for run-time update failures (bad operand types, an item grown past
//! 400 KB, an index key given the wrong type).
//!
//! # Idempotency
//! With a `ClientRequestToken`, the [`idempotency`](super::idempotency) registry is claimed
//! after the static checks: a repeat within 10 minutes of success answers success without
//! writing (capacity then reports read units), other rules are documented there. The
//! token's record commits in the transaction's own batch, so a restart keeps it.
//!
//! # Capacity
//! Per action ceil(max(old size, new size) / 1 KB) write units (at least one; a
//! ConditionCheck costs as a write of the item it reads), doubled because the write is
//! transactional, summed per table. An action whose table or GSI is out of capacity
//! cancels the transaction (`throttle::admit_transaction`), as DynamoDB does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use shared::model::size::item_size;
use shared::model::{ExpressionValues, Item, PrimaryKey};
use shared::wire::error::{ApiError, CancellationReason};
use shared::wire::ops::common::{ConsumedCapacity, ReturnConsumedCapacity};
use shared::wire::ops::transact_write_items::{
    TransactWriteItem, TransactWriteItemsInput, TransactWriteItemsOutput,
};
use shared::wire::ops::validate::{member_path, Violations};

use super::batch_get_item::{CapacityByTable, PerTable};
use super::batch_write_item::collection_metrics;
use super::idempotency::{self, Claim};
use super::item_write::{
    self, check_lsi_item_limit, put_item_keys, storage_failure, write_capacity, WriteAction,
    WriteCall, WriteExpressions, WritePlan, WriteUnits, CAPACITY_VALUES, METRICS_VALUES,
    RETURN_VALUES_ON_FAILURE,
};
use super::transact_get_items::{
    too_large, MAX_ACTIONS, MAX_TRANSACTION_BYTES, SAME_ITEM_TWICE, TOO_MANY_ACTIONS,
};
use crate::app::App;
use crate::capacity;
use crate::catalog::TableMeta;
use crate::storage::{Cause, Mutation};
use crate::throttle::Owed;

/// An action element that does not hold exactly one action.
pub const NOT_ONE_ACTION: &str =
    "TransactItems can only contain one of Check, Put, Update or Delete";

/// One action, checked and resolved: its target and what `item_write::decide` needs.
#[derive(Debug, Clone)]
struct ActionPlan {
    table: Arc<TableMeta>,
    key: PrimaryKey,
    plan: WritePlan,
}

/// The parts of one action element the static checks need, whichever action it is.
struct ActionView<'a> {
    table_name: Option<&'a str>,
    condition: Option<&'a str>,
    update: Option<&'a str>,
    names: Option<&'a HashMap<String, String>>,
    values: Option<&'a ExpressionValues>,
    return_values: Option<&'a str>,
    /// The Item of a Put, the Key of the others.
    item_or_key: Option<&'a Item>,
}

/// The element's one action, or `None` when it holds none or several.
fn view(element: &TransactWriteItem) -> Option<(ActionView<'_>, &'static str)> {
    let present = usize::from(element.condition_check.is_some())
        + usize::from(element.put.is_some())
        + usize::from(element.delete.is_some())
        + usize::from(element.update.is_some());
    if present != 1 {
        return None;
    }
    if let Some(a) = &element.condition_check {
        return Some((
            ActionView {
                table_name: a.table_name.as_deref(),
                condition: a.condition_expression.as_deref(),
                update: None,
                names: a.expression_attribute_names.as_ref(),
                values: a.expression_attribute_values.as_ref(),
                return_values: a.return_values_on_condition_check_failure.as_deref(),
                item_or_key: a.key.as_ref(),
            },
            "conditionCheck",
        ));
    }
    if let Some(a) = &element.put {
        return Some((
            ActionView {
                table_name: a.table_name.as_deref(),
                condition: a.condition_expression.as_deref(),
                update: None,
                names: a.expression_attribute_names.as_ref(),
                values: a.expression_attribute_values.as_ref(),
                return_values: a.return_values_on_condition_check_failure.as_deref(),
                item_or_key: a.item.as_ref(),
            },
            "put",
        ));
    }
    if let Some(a) = &element.delete {
        return Some((
            ActionView {
                table_name: a.table_name.as_deref(),
                condition: a.condition_expression.as_deref(),
                update: None,
                names: a.expression_attribute_names.as_ref(),
                values: a.expression_attribute_values.as_ref(),
                return_values: a.return_values_on_condition_check_failure.as_deref(),
                item_or_key: a.key.as_ref(),
            },
            "delete",
        ));
    }
    let a = element.update.as_ref()?;
    Some((
        ActionView {
            table_name: a.table_name.as_deref(),
            condition: a.condition_expression.as_deref(),
            update: a.update_expression.as_deref(),
            names: a.expression_attribute_names.as_ref(),
            values: a.expression_attribute_values.as_ref(),
            return_values: a.return_values_on_condition_check_failure.as_deref(),
            item_or_key: a.key.as_ref(),
        },
        "update",
    ))
}

pub async fn handle(
    app: &App,
    input: TransactWriteItemsInput,
) -> Result<TransactWriteItemsOutput, ApiError> {
    check_constraints(&input)?;
    let mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let elements = input.transact_items.as_deref().unwrap_or_default();

    // Static checks that need no table.
    let mut views = Vec::with_capacity(elements.len());
    for element in elements {
        views.push(view(element).ok_or_else(|| ApiError::validation(NOT_ONE_ACTION))?);
    }
    let mut parsed = Vec::with_capacity(views.len());
    for (view, action) in &views {
        if let (true, Some(item)) = (*action == "put", view.item_or_key) {
            item_write::check_put_item(item)?;
        }
        parsed.push(item_write::parse_write_expressions(
            &WriteExpressions {
                is_update: *action == "update",
                update_expression: view.update,
                condition_expression: view.condition,
                names: view.names,
                values: view.values.map(|v| &v.0),
                ..Default::default()
            },
            WriteCall::TransactionAction,
        )?);
    }

    // What the request carries: the items it puts, the keys of the others.
    let total: usize = views
        .iter()
        .filter_map(|(view, _)| view.item_or_key)
        .map(item_size)
        .sum();
    if total > MAX_TRANSACTION_BYTES {
        return Err(too_large());
    }

    // Tables, keys, and one operation per item.
    let mut plans: Vec<ActionPlan> = Vec::with_capacity(views.len());
    let mut refused_keys = Vec::new();
    for (index, ((view, action), parsed)) in views.iter().zip(parsed).enumerate() {
        let table = app
            .catalog
            .table_for_data(view.table_name.unwrap_or_default())?;
        let schema = &table.layout.schema;
        let empty = Item::new();
        let given = view.item_or_key.unwrap_or(&empty);
        let is_put = *action == "put";
        if let Some(refused) = empty_key_value(&table, given, is_put) {
            return Err(refused);
        }
        let key = if is_put {
            check_lsi_item_limit(&table, given)?;
            put_item_keys(&table, given)
        } else {
            schema.key_from_param(given)
        };
        let key = match key {
            Ok(key) => key,
            Err(refused) => {
                refused_keys.push((index, refused));
                continue;
            }
        };
        let action = match (*action, parsed.update) {
            ("put", _) => WriteAction::Put(given.clone()),
            ("update", Some(update)) => {
                update.check_keys(schema)?;
                WriteAction::Update(update)
            }
            ("delete", _) => WriteAction::Delete,
            _ => WriteAction::Check,
        };
        if plans
            .iter()
            .any(|p| p.table.table_id() == table.table_id() && p.key == key)
        {
            return Err(ApiError::validation(SAME_ITEM_TWICE));
        }
        let mut plan = WritePlan::new(&table, &key, action);
        plan.condition = parsed.condition;
        plan.return_old_on_failure = view.return_values == Some("ALL_OLD");
        plans.push(ActionPlan { table, key, plan });
    }

    if !refused_keys.is_empty() {
        return Err(cancelled_for_keys(views.len(), refused_keys));
    }

    let claim = match &input.client_request_token {
        Some(token) => Some(app.tokens.claim(
            token,
            idempotency::fingerprint(&input.transact_items),
            Instant::now(),
        )?),
        None => None,
    };
    let pending = match claim {
        Some(Claim::Replay) => return replay(app, &plans, mode),
        Some(Claim::Run(pending)) => Some(pending),
        None => None,
    };

    // Capacity: an action whose table (or GSI) is out of it cancels the transaction.
    crate::throttle::admit_transaction(
        plans
            .iter()
            .map(|p| crate::throttle::admit_item_write(&p.table, &p.key))
            .collect(),
    )?;
    let targets: Vec<_> = plans
        .iter()
        .map(|p| (&p.table.layout, p.key.clone()))
        .collect();
    // A succeeded token's record commits with the transaction's writes.
    let note = pending.as_ref().map(|p| p.record(shared::clock::now_ms()));
    let written = app
        .storage
        .write_noting(&targets, Cause::User, note, |current| {
            let decided = decide(&plans, current);
            // The commit that follows completes even if this request is dropped.
            if let (Ok(_), Some(pending)) = (&decided, &pending) {
                pending.committing();
            }
            decided
        })
        .await;
    if let Some(pending) = pending {
        match written {
            Ok(Ok(_)) => pending.succeed(Instant::now()),
            _ => pending.fail(),
        }
    }
    let units = written.map_err(|e| storage_failure("TransactWriteItems", e))??;

    let mut per_table = CapacityByTable::default();
    for (plan, units) in plans.iter().zip(units) {
        crate::throttle::charge_item_write(&plan.table, &plan.key, &units);
        per_table.add(transaction_write_capacity(plan.table.name(), &units, mode));
    }
    Ok(TransactWriteItemsOutput {
        consumed_capacity: per_table.into_list(),
        item_collection_metrics: collection_metrics(
            plans.iter().map(|p| (&*p.table, &p.key)),
            input.return_item_collection_metrics.as_deref(),
        ),
    })
}

/// What one action of a transaction consumed: a single write's answer (the table's and
/// each index's share with INDEXES), every figure also given as write units, as
/// transactions report them.
fn transaction_write_capacity(
    table: &str,
    units: &WriteUnits,
    mode: ReturnConsumedCapacity,
) -> Option<ConsumedCapacity> {
    let mut used = write_capacity(table, units, mode)?;
    used.write_capacity_units = Some(used.capacity_units);
    let indexes = [
        &mut used.local_secondary_indexes,
        &mut used.global_secondary_indexes,
    ];
    let shares = used.table.iter_mut().chain(
        indexes
            .into_iter()
            .flatten()
            .flat_map(|map| map.values_mut()),
    );
    for share in shares {
        share.write_capacity_units = Some(share.capacity_units);
    }
    Some(used)
}

/// A repeat of a transaction that already succeeded: nothing is written; capacity reports
/// the transactional reads of the items' current versions (2 units a 4 KB, as DynamoDB
/// reports a replay: measured against the service by extenddb#305).
fn replay(
    app: &App,
    plans: &[ActionPlan],
    mode: ReturnConsumedCapacity,
) -> Result<TransactWriteItemsOutput, ApiError> {
    let mut per_table = PerTable::default();
    if mode != ReturnConsumedCapacity::None {
        for plan in plans {
            let item = app
                .storage
                .get(&plan.table.layout, &plan.key)
                .map_err(|e| storage_failure("TransactWriteItems", e))?;
            let size = item.as_ref().map_or(0, item_size);
            per_table.add(plan.table.name(), capacity::transactional_read_units(size));
        }
    }
    Ok(TransactWriteItemsOutput {
        consumed_capacity: per_table.transaction_reads(mode),
        item_collection_metrics: None,
    })
}

/// Runs under the items' locks: every action against its current item, and the GSIs it
/// reaches for capacity. All succeed → the mutations and each action's capacity units
/// (doubled: transactional); any fails → the cancellation, with a reason per action in
/// request order.
fn decide(
    plans: &[ActionPlan],
    current: &[Option<Item>],
) -> Result<(Vec<Mutation>, Vec<WriteUnits>), ApiError> {
    let mut mutations = Vec::with_capacity(plans.len());
    let mut units = Vec::with_capacity(plans.len());
    let mut reasons = Vec::with_capacity(plans.len());
    let mut failed = false;
    for (action, old) in plans.iter().zip(current) {
        match item_write::decide_within_capacity(
            &action.table,
            &action.plan,
            old.as_ref(),
            &Owed::NONE,
        ) {
            Ok((mutation, result)) => {
                units.push(result.units.doubled());
                mutations.push(mutation);
                reasons.push(CancellationReason::none());
            }
            Err(failure) => {
                failed = true;
                reasons.push(failure.into_cancellation_reason());
            }
        }
    }
    if failed {
        return Err(ApiError::transaction_canceled(reasons));
    }
    Ok((mutations, units))
}

/// An empty string or binary `given` holds for a key attribute of `table` (or, in a
/// put's item, of one of its indexes): DynamoDB refuses it for the whole call, up front,
/// where any other mistake in an action's key cancels the transaction
/// ([`cancelled_for_keys`]).
pub(crate) fn empty_key_value(table: &TableMeta, given: &Item, is_put: bool) -> Option<ApiError> {
    let indexes = table.local_indexes.iter().chain(&table.global_indexes);
    table
        .layout
        .schema
        .empty_value_refusal(given, None)
        .or_else(|| {
            indexes
                .filter(|_| is_put)
                .find_map(|i| i.schema.empty_value_refusal(given, Some(&i.name)))
        })
}

/// The cancellation of a transaction of `count` actions some of whose keys DynamoDB
/// refuses (`refused`: each one's index and why: a key attribute missing, of the wrong
/// type or over the size limits, an index key of the wrong type): those actions'
/// `ValidationError` reasons, the others `None`, not a ValidationException of the whole
/// call (the dynamodb-conformance suite's captures, tier3/error-messages/
/// transactWriteItems.test.ts; extenddb#211 for key sizes).
pub(crate) fn cancelled_for_keys(count: usize, refused: Vec<(usize, ApiError)>) -> ApiError {
    let mut reasons = vec![CancellationReason::none(); count];
    for (index, why) in refused {
        reasons[index] = CancellationReason::validation_error(why.message);
    }
    ApiError::transaction_canceled(reasons)
}

/// Request-model constraints.
fn check_constraints(input: &TransactWriteItemsInput) -> Result<(), ApiError> {
    if input
        .transact_items
        .as_ref()
        .is_some_and(|items| items.len() > MAX_ACTIONS)
    {
        return Err(ApiError::validation(TOO_MANY_ACTIONS));
    }
    let mut p = Violations::new();
    p.enumeration(
        "returnConsumedCapacity",
        input.return_consumed_capacity.as_deref(),
        CAPACITY_VALUES,
    );
    p.enumeration(
        "returnItemCollectionMetrics",
        input.return_item_collection_metrics.as_deref(),
        METRICS_VALUES,
    );
    if let Some(token) = &input.client_request_token {
        p.length("clientRequestToken", Some(token), 1, 36);
    }
    match &input.transact_items {
        None => {
            p.not_null("transactItems", false);
        }
        Some(items) if items.is_empty() => p.push(
            Some("[]"),
            "transactItems",
            "Member must have length greater than or equal to 1",
        ),
        Some(items) => {
            for (i, element) in items.iter().enumerate() {
                // An element with no action or several is reported after the constraints.
                let Some((view, action)) = view(element) else {
                    continue;
                };
                let path = member_path("transactItems", i, action);
                let member = if action == "put" { "item" } else { "key" };
                if view.item_or_key.is_none() {
                    p.not_null(&format!("{path}.{member}"), false);
                }
                p.member_table_name(&format!("{path}.tableName"), view.table_name);
                if action == "update" && view.update.is_none() {
                    p.not_null(&format!("{path}.updateExpression"), false);
                }
                if action == "conditionCheck" && view.condition.is_none() {
                    p.not_null(&format!("{path}.conditionExpression"), false);
                }
                p.enumeration(
                    &format!("{path}.returnValuesOnConditionCheckFailure"),
                    view.return_values,
                    RETURN_VALUES_ON_FAILURE,
                );
            }
        }
    }
    p.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::api::item_write::IndexInfo;
    use crate::catalog::{IndexProjection, ProjectionType};
    use shared::expr::{self, ExprKind, Substitutions};
    use shared::model::{AttributeValue, KeyAttr, KeySchema, Number, ScalarType};
    use shared::wire::ops::transact_write_items::{ConditionCheck, Put};

    fn message(r: Result<(), ApiError>) -> String {
        r.err().and_then(|e| e.message).unwrap_or_default()
    }

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

    fn plan(
        action: WriteAction,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
        return_old: bool,
    ) -> ActionPlan {
        let values: HashMap<String, AttributeValue> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let subs = Substitutions::new(None, Some(&values));
        let condition =
            condition.map(|c| expr::parse_condition(ExprKind::Condition, c, &subs).unwrap());
        let schema = KeySchema::new(
            KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            None,
        );
        let index = KeySchema::new(
            KeyAttr {
                name: "g".into(),
                ty: ScalarType::S,
            },
            None,
        );
        let plan = WritePlan {
            action,
            condition,
            return_values: Default::default(),
            return_old_on_failure: return_old,
            table_schema: schema,
            key_item: item(&[("pk", s("a"))]),
            indexes: vec![IndexInfo {
                name: "by_g".into(),
                global: true,
                schema: index,
                projection: IndexProjection {
                    kind: ProjectionType::All,
                    non_key_attributes: vec![],
                },
            }],
            vector_indexes: Vec::new(),
        };
        ActionPlan {
            table: Arc::new(TableMeta::for_tests(1, "t")),
            key: PrimaryKey {
                hash: s("a"),
                range: None,
            },
            plan,
        }
    }

    fn update(text: &str, values: &[(&str, AttributeValue)]) -> WriteAction {
        let values: HashMap<String, AttributeValue> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        WriteAction::Update(
            expr::parse_update(text, &Substitutions::new(None, Some(&values))).unwrap(),
        )
    }

    #[test]
    fn all_pass_gives_mutations_and_double_units() {
        let old = Some(item(&[("pk", s("a")), ("n", n("1"))]));
        let add = plan(
            update("SET n = n + :one", &[(":one", n("1"))]),
            None,
            &[],
            false,
        );
        let (mutations, units) = decide(&[add], &[old]).unwrap();
        assert_eq!(
            mutations,
            vec![Mutation::Put(item(&[("pk", s("a")), ("n", n("2"))]))]
        );
        assert_eq!(units.iter().map(WriteUnits::total).sum::<f64>(), 2.0);
        // An update of a missing item starts from its key.
        let set = plan(update("SET v = :v", &[(":v", s("x"))]), None, &[], false);
        let (mutations, _) = decide(&[set], &[None]).unwrap();
        assert_eq!(
            mutations,
            vec![Mutation::Put(item(&[("pk", s("a")), ("v", s("x"))]))]
        );
        // A condition on a missing item sees an empty item.
        let put = plan(
            WriteAction::Put(item(&[("pk", s("a"))])),
            Some("attribute_not_exists(pk)"),
            &[],
            false,
        );
        assert!(decide(std::slice::from_ref(&put), &[None]).is_ok());
        assert!(decide(&[put], &[Some(item(&[("pk", s("a"))]))]).is_err());
    }

    #[test]
    fn update_giving_an_index_key_the_wrong_type_is_a_validation_reason() {
        let set = plan(update("SET g = :v", &[(":v", n("1"))]), None, &[], false);
        let err = decide(&[set], &[None]).unwrap_err();
        let reasons = err.cancellation_reasons.unwrap();
        assert_eq!(reasons[0].code, "ValidationError");
        assert!(reasons[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("Type mismatch for Index Key g"));
    }

    #[test]
    fn failures_are_reported_per_action() {
        let old = item(&[("pk", s("a")), ("v", n("7")), ("w", s("str"))]);
        let plans = [
            plan(WriteAction::Check, Some("v = :z"), &[(":z", n("0"))], true),
            plan(WriteAction::Delete, None, &[], false),
            plan(
                update("SET w = w + :x", &[(":x", n("1"))]),
                None,
                &[],
                false,
            ),
        ];
        let err = decide(&plans, &[Some(old.clone()), None, Some(old.clone())]).unwrap_err();
        let reasons = err.cancellation_reasons.unwrap();
        assert_eq!(reasons[0].code, "ConditionalCheckFailed");
        assert_eq!(reasons[0].item.as_ref(), Some(&old));
        assert_eq!(reasons[1], CancellationReason::none());
        assert_eq!(reasons[2].code, "ValidationError");
        assert_eq!(
            err.message.as_deref(),
            Some("Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, ValidationError]")
        );
    }

    #[test]
    fn constraints() {
        let input = |items: Vec<TransactWriteItem>| TransactWriteItemsInput {
            transact_items: Some(items),
            ..Default::default()
        };
        assert_eq!(
            message(check_constraints(&input(vec![]))),
            "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        let put = || TransactWriteItem {
            put: Some(Put {
                item: Some(Item::new()),
                table_name: Some("tbl".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            message(check_constraints(&input((0..101).map(|_| put()).collect()))),
            TOO_MANY_ACTIONS
        );
        assert!(check_constraints(&input((0..100).map(|_| put()).collect())).is_ok());
        let check = TransactWriteItem {
            condition_check: Some(ConditionCheck {
                return_values_on_condition_check_failure: Some("X".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut with_token = input(vec![check]);
        with_token.client_request_token = Some("x".repeat(37));
        assert_eq!(
            message(check_constraints(&with_token)),
            format!(
                "5 validation errors detected: Value '{}' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36; \
                 Value null at 'transactItems.1.member.conditionCheck.key' failed to satisfy constraint: Member must not be null; \
                 Value null at 'transactItems.1.member.conditionCheck.tableName' failed to satisfy constraint: Member must not be null; \
                 Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null; \
                 Value 'X' at 'transactItems.1.member.conditionCheck.returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
                "x".repeat(37)
            )
        );
        assert!(view(&TransactWriteItem::default()).is_none());
        assert!(view(&TransactWriteItem {
            put: put().put,
            delete: Some(Default::default()),
            ..Default::default()
        })
        .is_none());
    }
}

/// The four batch and transaction handlers end to end against a real (temporary) storage
/// and catalog, without HTTP: the flows of the boto3 suite's `test_batch.py`,
/// `test_transactions.py` and their parts of `test_capacity.py`.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod flow_tests {
    use serde_json::{json, Value};
    use shared::wire::error::ApiError;

    use crate::api;
    use crate::app::App;

    struct Fixture {
        app: App,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let app = App::for_tests(dir.path());
        for (name, range) in [("tbl_s", None), ("tbl_sn", Some("N"))] {
            let mut keys = vec![json!({"AttributeName": "pk", "KeyType": "HASH"})];
            let mut defs = vec![json!({"AttributeName": "pk", "AttributeType": "S"})];
            if let Some(ty) = range {
                keys.push(json!({"AttributeName": "sk", "KeyType": "RANGE"}));
                defs.push(json!({"AttributeName": "sk", "AttributeType": ty}));
            }
            let request = json!({"TableName": name, "KeySchema": keys, "AttributeDefinitions": defs,
                "BillingMode": "PAY_PER_REQUEST"});
            api::create_table::handle(&app, serde_json::from_value(request).unwrap())
                .await
                .unwrap();
        }
        Fixture { app, _dir: dir }
    }

    fn to_value<T: serde::Serialize>(r: Result<T, ApiError>) -> Result<Value, ApiError> {
        r.map(|o| serde_json::to_value(o).unwrap())
    }

    async fn bw(app: &App, request: Value) -> Result<Value, ApiError> {
        to_value(api::batch_write_item::handle(app, serde_json::from_value(request).unwrap()).await)
    }

    async fn bg(app: &App, request: Value) -> Result<Value, ApiError> {
        to_value(api::batch_get_item::handle(app, serde_json::from_value(request).unwrap()).await)
    }

    async fn tw(app: &App, request: Value) -> Result<Value, ApiError> {
        to_value(super::handle(app, serde_json::from_value(request).unwrap()).await)
    }

    async fn tg(app: &App, request: Value) -> Result<Value, ApiError> {
        to_value(
            api::transact_get_items::handle(app, serde_json::from_value(request).unwrap()).await,
        )
    }

    fn code(r: Result<Value, ApiError>) -> String {
        match r {
            Ok(v) => panic!("expected an error, got {v}"),
            Err(e) => e.code.name().to_string(),
        }
    }

    fn s(v: &str) -> Value {
        json!({"S": v})
    }

    /// The item at `pk` in tbl_s, read with TransactGetItems.
    async fn get(app: &App, pk: &str) -> Value {
        let out = tg(
            app,
            json!({"TransactItems": [{"Get": {"TableName": "tbl_s", "Key": {"pk": s(pk)}}}]}),
        )
        .await
        .unwrap();
        out["Responses"][0]
            .get("Item")
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// An item of exactly `size` bytes: pk plus a `data` string.
    fn sized(pk: &str, size: usize) -> Value {
        let fixed = "pk".len() + pk.len() + "data".len();
        json!({"pk": s(pk), "data": s(&"x".repeat(size - fixed))})
    }

    #[tokio::test]
    async fn batch_write_and_batch_get() {
        let f = fixture().await;
        let app = &f.app;
        let puts: Vec<Value> = (0..3)
            .map(|i| json!({"PutRequest": {"Item": sized(&format!("k{i}"), 1500)}}))
            .collect();
        let out = bw(
            app,
            json!({"RequestItems": {"tbl_s": puts}, "ReturnConsumedCapacity": "TOTAL"}),
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            json!({"UnprocessedItems": {}, "ConsumedCapacity": [{"TableName": "tbl_s", "CapacityUnits": 6.0}]})
        );

        let out = bg(app, json!({"RequestItems": {"tbl_s": {"Keys": [{"pk": s("k0")}, {"pk": s("nope")}, {"pk": s("k1")}],
            "ProjectionExpression": "#p", "ExpressionAttributeNames": {"#p": "pk"}}}, "ReturnConsumedCapacity": "TOTAL"}))
            .await
            .unwrap();
        assert_eq!(
            out["Responses"],
            json!({"tbl_s": [{"pk": s("k0")}, {"pk": s("k1")}]})
        );
        assert_eq!(out["UnprocessedKeys"], json!({}));
        assert_eq!(
            out["ConsumedCapacity"],
            json!([{"TableName": "tbl_s", "CapacityUnits": 1.5}])
        );

        let out = bg(
            app,
            json!({"RequestItems": {"tbl_s": {"Keys": [{"pk": s("nope")}]}}}),
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            json!({"Responses": {"tbl_s": []}, "UnprocessedKeys": {}})
        );

        // Mixed put and delete, across two tables.
        let out = bw(app, json!({"RequestItems": {
            "tbl_s": [{"DeleteRequest": {"Key": {"pk": s("k0")}}}, {"PutRequest": {"Item": {"pk": s("k9"), "v": s("new")}}}],
            "tbl_sn": [{"PutRequest": {"Item": {"pk": s("a"), "sk": {"N": "1"}}}}]}}))
        .await
        .unwrap();
        assert_eq!(out, json!({"UnprocessedItems": {}}));
        assert_eq!(get(app, "k0").await, Value::Null);
        assert_eq!(get(app, "k9").await, json!({"pk": s("k9"), "v": s("new")}));
        let out = bg(
            app,
            json!({"RequestItems": {"tbl_sn": {"Keys": [{"pk": s("a"), "sk": {"N": "1"}}]}}}),
        )
        .await
        .unwrap();
        assert_eq!(
            out["Responses"]["tbl_sn"],
            json!([{"pk": s("a"), "sk": {"N": "1"}}])
        );
    }

    #[tokio::test]
    async fn batch_get_takes_one_projection_form_for_all_its_tables() {
        let f = fixture().await;
        let mixed = bg(
            &f.app,
            json!({"RequestItems": {
                "tbl_s": {"Keys": [{"pk": s("a")}], "ProjectionExpression": "pk"},
                "tbl_sn": {"Keys": [{"pk": s("b"), "sk": {"N": "1"}}], "AttributesToGet": ["pk"]},
            }}),
        )
        .await;
        assert_eq!(
            mixed.unwrap_err().message.as_deref(),
            Some("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")
        );
    }

    #[tokio::test]
    async fn batch_validation_rejects_the_whole_batch() {
        let f = fixture().await;
        let app = &f.app;
        let dup = bw(
            app,
            json!({"RequestItems": {"tbl_s": [{"PutRequest": {"Item": {"pk": s("d")}}},
            {"DeleteRequest": {"Key": {"pk": s("d")}}}]}}),
        )
        .await;
        assert_eq!(
            dup.unwrap_err().message.as_deref(),
            Some("Provided list of item keys contains duplicates")
        );
        let bad = bw(
            app,
            json!({"RequestItems": {"tbl_s": [{"PutRequest": {"Item": {"pk": s("good")}}},
            {"PutRequest": {"Item": {"nokey": s("x")}}}]}}),
        )
        .await;
        assert_eq!(
            bad.unwrap_err().message.as_deref(),
            Some("The provided key element does not match the schema")
        );
        assert_eq!(get(app, "good").await, Value::Null);
        let many = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| json!({"PutRequest": {"Item": {"pk": s(&format!("m{i}")), "sk": {"N": "1"}}}}))
                .collect()
        };
        let over = bw(
            app,
            json!({"RequestItems": {"tbl_s": many(13), "tbl_sn": many(13)}}),
        )
        .await;
        assert_eq!(
            over.unwrap_err().message.as_deref(),
            Some("Too many items requested for the BatchWriteItem call")
        );
        assert_eq!(
            code(bw(app, json!({"RequestItems": {}})).await),
            "ValidationException"
        );
        assert_eq!(
            code(bw(app, json!({"RequestItems": {"no_such_table": [{"PutRequest": {"Item": {"pk": s("a")}}}]}})).await),
            "ResourceNotFoundException"
        );
        let big = bw(
            app,
            json!({"RequestItems": {"tbl_s": [{"PutRequest": {"Item": sized("big", 410_000)}}]}}),
        )
        .await;
        assert_eq!(
            big.unwrap_err().message.as_deref(),
            Some("Item size has exceeded the maximum allowed size")
        );

        let keys: Vec<Value> = (0..101).map(|i| json!({"pk": s(&i.to_string())})).collect();
        assert_eq!(
            code(bg(app, json!({"RequestItems": {"tbl_s": {"Keys": keys}}})).await),
            "ValidationException"
        );
        let dup = bg(
            app,
            json!({"RequestItems": {"tbl_s": {"Keys": [{"pk": s("a")}, {"pk": s("a")}]}}}),
        )
        .await;
        assert_eq!(
            dup.unwrap_err().message.as_deref(),
            Some("Provided list of item keys contains duplicates")
        );
        let wrong = bg(
            app,
            json!({"RequestItems": {"tbl_sn": {"Keys": [{"pk": s("a")}]}}}),
        )
        .await;
        assert_eq!(
            wrong.unwrap_err().message.as_deref(),
            Some("The provided key element does not match the schema")
        );
        assert_eq!(
            code(
                bg(
                    app,
                    json!({"RequestItems": {"no_such_table": {"Keys": [{"pk": s("a")}]}}})
                )
                .await
            ),
            "ResourceNotFoundException"
        );
        let split = bg(app, json!({"RequestItems": {
            "tbl_s": {"Keys": (0..60).map(|i| json!({"pk": s(&i.to_string())})).collect::<Vec<_>>()},
            "tbl_sn": {"Keys": (0..41).map(|i| json!({"pk": s(&i.to_string()), "sk": {"N": "1"}})).collect::<Vec<_>>()}}}))
        .await;
        assert_eq!(
            split.unwrap_err().message.as_deref(),
            Some("Too many items requested for the BatchGetItem call")
        );
    }

    #[tokio::test]
    async fn batch_get_over_16_mb_leaves_unprocessed_keys() {
        let f = fixture().await;
        let app = &f.app;
        let keys: Vec<String> = (0..60).map(|i| format!("huge{i:02}")).collect();
        for chunk in keys.chunks(25) {
            let puts: Vec<Value> = chunk
                .iter()
                .map(|k| json!({"PutRequest": {"Item": sized(k, 350_000)}}))
                .collect();
            bw(app, json!({"RequestItems": {"tbl_s": puts}}))
                .await
                .unwrap();
        }
        let request = json!({"RequestItems": {"tbl_s": {"Keys": keys.iter().map(|k| json!({"pk": s(k)})).collect::<Vec<_>>(),
            "ConsistentRead": true}}});
        let first = bg(app, request).await.unwrap();
        let got = first["Responses"]["tbl_s"].as_array().unwrap().len();
        let rest = &first["UnprocessedKeys"]["tbl_s"];
        assert!(got > 0 && got < 60, "{got}");
        assert_eq!(rest["ConsistentRead"], json!(true));
        assert_eq!(rest["Keys"].as_array().unwrap().len(), 60 - got);
        let second = bg(
            app,
            json!({"RequestItems": first["UnprocessedKeys"].clone()}),
        )
        .await
        .unwrap();
        assert_eq!(
            second["Responses"]["tbl_s"].as_array().unwrap().len(),
            60 - got
        );
        assert_eq!(second["UnprocessedKeys"], json!({}));
    }

    #[tokio::test]
    async fn transactions_commit_or_cancel_as_a_whole() {
        let f = fixture().await;
        let app = &f.app;
        bw(
            app,
            json!({"RequestItems": {"tbl_s": [
            {"PutRequest": {"Item": {"pk": s("upd"), "n": {"N": "1"}}}},
            {"PutRequest": {"Item": {"pk": s("del")}}},
            {"PutRequest": {"Item": {"pk": s("chk"), "ok": {"BOOL": false}}}}]}}),
        )
        .await
        .unwrap();
        let actions = |ok: bool| {
            json!([
            {"Put": {"TableName": "tbl_s", "Item": {"pk": s("new"), "v": s("put")}}},
            {"Update": {"TableName": "tbl_s", "Key": {"pk": s("upd")}, "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Delete": {"TableName": "tbl_s", "Key": {"pk": s("del")}}},
            {"ConditionCheck": {"TableName": "tbl_s", "Key": {"pk": s("chk")}, "ConditionExpression": "ok = :t",
                "ExpressionAttributeValues": {":t": {"BOOL": ok}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
        };
        let err = tw(app, json!({"TransactItems": actions(true)}))
            .await
            .unwrap_err();
        assert_eq!(err.code.name(), "TransactionCanceledException");
        let reasons: Vec<&str> = err
            .cancellation_reasons
            .as_ref()
            .unwrap()
            .iter()
            .map(|r| r.code.as_str())
            .collect();
        assert_eq!(reasons, ["None", "None", "None", "ConditionalCheckFailed"]);
        let json = err.to_json();
        assert_eq!(
            json["CancellationReasons"][3]["Item"],
            json!({"pk": s("chk"), "ok": {"BOOL": false}})
        );
        assert_eq!(get(app, "new").await, Value::Null);
        assert_eq!(get(app, "upd").await["n"], json!({"N": "1"}));

        let out = tw(
            app,
            json!({"TransactItems": actions(false), "ReturnConsumedCapacity": "TOTAL"}),
        )
        .await
        .unwrap();
        assert_eq!(out["ConsumedCapacity"][0]["TableName"], "tbl_s");
        assert_eq!(out["ConsumedCapacity"][0]["CapacityUnits"], json!(8.0));
        assert_eq!(
            get(app, "new").await,
            json!({"pk": s("new"), "v": s("put")})
        );
        assert_eq!(get(app, "upd").await["n"], json!({"N": "2"}));
        assert_eq!(get(app, "del").await, Value::Null);

        // Static errors are plain ValidationException / ResourceNotFoundException.
        let twice = tw(app, json!({"TransactItems": [
            {"Put": {"TableName": "tbl_s", "Item": {"pk": s("x")}}},
            {"Update": {"TableName": "tbl_s", "Key": {"pk": s("x")}, "UpdateExpression": "SET w = :w",
                "ExpressionAttributeValues": {":w": {"N": "1"}}}}]}))
        .await;
        assert_eq!(
            twice.unwrap_err().message.as_deref(),
            Some(super::SAME_ITEM_TWICE)
        );
        let both = tw(
            app,
            json!({"TransactItems": [{"Put": {"TableName": "tbl_s", "Item": {"pk": s("x")}},
            "Delete": {"TableName": "tbl_s", "Key": {"pk": s("x")}}}]}),
        )
        .await;
        assert_eq!(
            both.unwrap_err().message.as_deref(),
            Some(super::NOT_ONE_ACTION)
        );
        let key_update = tw(
            app,
            json!({"TransactItems": [{"Update": {"TableName": "tbl_s", "Key": {"pk": s("x")},
            "UpdateExpression": "SET pk = :v", "ExpressionAttributeValues": {":v": s("y")}}}]}),
        )
        .await;
        assert_eq!(code(key_update), "ValidationException");
        assert_eq!(
            code(tw(app, json!({"TransactItems": [{"Put": {"TableName": "no_such_table", "Item": {"pk": s("a")}}}]})).await),
            "ResourceNotFoundException"
        );
        let many: Vec<Value> = (0..101)
            .map(|i| json!({"Put": {"TableName": "tbl_s", "Item": {"pk": s(&i.to_string())}}}))
            .collect();
        assert_eq!(
            code(tw(app, json!({"TransactItems": many})).await),
            "ValidationException"
        );
        let hundred: Vec<Value> = (0..100)
            .map(|i| json!({"Put": {"TableName": "tbl_s", "Item": {"pk": s(&format!("h{i}"))}}}))
            .collect();
        tw(app, json!({"TransactItems": hundred})).await.unwrap();
        assert_eq!(get(app, "h99").await, json!({"pk": s("h99")}));
    }

    #[tokio::test]
    async fn client_request_token_makes_retries_idempotent() {
        let f = fixture().await;
        let app = &f.app;
        let add = |by: &str| {
            json!({"ClientRequestToken": "token-1", "TransactItems": [{"Update": {"TableName": "tbl_s",
            "Key": {"pk": s("ctr")}, "UpdateExpression": "ADD n :by", "ExpressionAttributeValues": {":by": {"N": by}}}}],
            "ReturnConsumedCapacity": "TOTAL"})
        };
        let first = tw(app, add("1")).await.unwrap();
        assert_eq!(
            first["ConsumedCapacity"][0]["WriteCapacityUnits"],
            json!(2.0)
        );
        let again = tw(app, add("1")).await.unwrap();
        // The replay's transactional read: 2 units a 4 KB.
        assert_eq!(
            again["ConsumedCapacity"][0]["ReadCapacityUnits"],
            json!(2.0)
        );
        assert_eq!(get(app, "ctr").await["n"], json!({"N": "1"}));
        assert_eq!(
            code(tw(app, add("2")).await),
            "IdempotentParameterMismatchException"
        );
        let mut other = add("1");
        other["ClientRequestToken"] = json!("token-2");
        tw(app, other).await.unwrap();
        assert_eq!(get(app, "ctr").await["n"], json!({"N": "2"}));
        // A cancelled transaction does not use up its token.
        let fail = json!({"ClientRequestToken": "token-3", "TransactItems": [{"ConditionCheck": {"TableName": "tbl_s",
            "Key": {"pk": s("ctr")}, "ConditionExpression": "attribute_not_exists(pk)"}}]});
        assert_eq!(
            code(tw(app, fail.clone()).await),
            "TransactionCanceledException"
        );
        assert_eq!(code(tw(app, fail).await), "TransactionCanceledException");
    }

    #[tokio::test]
    async fn item_collection_metrics_only_for_tables_with_local_indexes() {
        let f = fixture().await;
        let app = &f.app;
        let request = json!({"TableName": "tbl_lsi", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"}, {"AttributeName": "l", "AttributeType": "S"}],
            "LocalSecondaryIndexes": [{"IndexName": "by_l", "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}]}]});
        api::create_table::handle(app, serde_json::from_value(request).unwrap())
            .await
            .unwrap();
        let out = bw(
            app,
            json!({"ReturnItemCollectionMetrics": "SIZE", "RequestItems": {
            "tbl_lsi": [{"PutRequest": {"Item": {"pk": s("p"), "sk": s("1"), "l": s("x")}}}],
            "tbl_s": [{"PutRequest": {"Item": {"pk": s("p")}}}]}}),
        )
        .await
        .unwrap();
        assert_eq!(
            out["ItemCollectionMetrics"],
            json!({"tbl_lsi": [{"ItemCollectionKey": {"pk": s("p")}, "SizeEstimateRangeGB": [0.0, 1.0]}]})
        );
        let out = tw(
            app,
            json!({"ReturnItemCollectionMetrics": "SIZE", "TransactItems": [
            {"Put": {"TableName": "tbl_s", "Item": {"pk": s("q")}}}]}),
        )
        .await
        .unwrap();
        assert_eq!(out, json!({}));
        // A wrongly typed index key is rejected like PutItem's.
        let bad = bw(app, json!({"RequestItems": {"tbl_lsi": [{"PutRequest": {"Item": {"pk": s("p"), "sk": s("2"), "l": {"N": "1"}}}}]}})).await;
        assert_eq!(
            bad.unwrap_err().message.as_deref(),
            Some("One or more parameter values were invalid: Type mismatch for Index Key l Expected: S Actual: N IndexName: by_l")
        );
    }

    #[tokio::test]
    async fn transact_get_reads_in_request_order() {
        let f = fixture().await;
        let app = &f.app;
        bw(
            app,
            json!({"RequestItems": {
            "tbl_s": [{"PutRequest": {"Item": {"pk": s("a"), "v": s("a"), "w": s("w")}}},
                      {"PutRequest": {"Item": sized("big", 3000)}}],
            "tbl_sn": [{"PutRequest": {"Item": {"pk": s("b"), "sk": {"N": "2"}, "v": s("b")}}}]}}),
        )
        .await
        .unwrap();
        let out = tg(
            app,
            json!({"TransactItems": [
            {"Get": {"TableName": "tbl_sn", "Key": {"pk": s("b"), "sk": {"N": "2"}}}},
            {"Get": {"TableName": "tbl_s", "Key": {"pk": s("missing")}}},
            {"Get": {"TableName": "tbl_s", "Key": {"pk": s("a")}, "ProjectionExpression": "w"}}]}),
        )
        .await
        .unwrap();
        assert_eq!(
            out["Responses"],
            json!([{"Item": {"pk": s("b"), "sk": {"N": "2"}, "v": s("b")}}, {}, {"Item": {"w": s("w")}}])
        );
        let out = tg(
            app,
            json!({"TransactItems": [{"Get": {"TableName": "tbl_s", "Key": {"pk": s("big")}}}],
            "ReturnConsumedCapacity": "TOTAL"}),
        )
        .await
        .unwrap();
        assert_eq!(out["ConsumedCapacity"][0]["CapacityUnits"], json!(2.0));
        let twice = tg(
            app,
            json!({"TransactItems": [{"Get": {"TableName": "tbl_s", "Key": {"pk": s("a")}}},
            {"Get": {"TableName": "tbl_s", "Key": {"pk": s("a")}}}]}),
        )
        .await;
        assert_eq!(code(twice), "ValidationException");
    }
}
