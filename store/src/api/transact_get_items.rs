//! TransactGetItems: up to 100 items, read as one serializable snapshot.
//!
//! Checks, in order: request-model constraints (all at once; more than 100 actions is
//! reported alone in the form DYNAMODB.md §3 gives), then per action the expression
//! parameter rules, its ProjectionExpression and unused names; then table lookups
//! (ResourceNotFoundException), keys against their schemas, and one item named twice
//! (`Transaction request cannot include multiple operations on one item`). All of these
//! are plain ValidationException/ResourceNotFoundException, never a cancellation. Then
//! capacity: an action whose table is out of read capacity cancels the transaction
//! (`throttle::admit_transaction`).
//!
//! The snapshot is a storage write in which every target is left as it is
//! ([`Mutation::Keep`]): it takes all the items' locks at once, so the reads are serialized
//! with every write and transaction on those items, and no partial transaction is ever
//! seen. `Responses` follows request order, `{}` for a missing item, with each action's
//! projection applied. Capacity: per item ceil(size / 4 KB) strongly consistent read units
//! (at least one), doubled because the read is transactional, summed per table.

use std::sync::Arc;

use shared::expr::{self, Projection, Substitutions};
use shared::model::size::item_size;
use shared::model::{Item, PrimaryKey};
use shared::wire::error::ApiError;
use shared::wire::ops::common::ReturnConsumedCapacity;
use shared::wire::ops::transact_get_items::{
    ItemResponse, TransactGetItemsInput, TransactGetItemsOutput,
};
use shared::wire::ops::validate::{member_path, Violations};

use super::batch_get_item::PerTable;
use super::item_write::{storage_failure, CAPACITY_VALUES};
use super::transact_write_items::{cancelled_for_keys, empty_key_value};
use crate::app::App;
use crate::capacity;
use crate::catalog::TableMeta;
use crate::storage::{Cause, Mutation};

/// Most actions in one transaction.
pub const MAX_ACTIONS: usize = 100;

/// More than [`MAX_ACTIONS`] actions, in the wording of DynamoDB's newer validation (the
/// dynamodb-conformance suite's captures, October 2026; older regions echo the whole
/// request in place of the member's value).
pub const TOO_MANY_ACTIONS: &str = "1 validation error detected: Value at 'TransactItems' failed to satisfy constraint: Member must have length less than or equal to 100";

/// One item named twice in a transaction.
pub const SAME_ITEM_TWICE: &str =
    "Transaction request cannot include multiple operations on one item";

/// The most item data one transaction may read or write.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// The refusal of a transaction past [`MAX_TRANSACTION_BYTES`].
pub fn too_large() -> ApiError {
    ApiError::validation(
        "Transaction failed: The total size of all items in the transaction request cannot exceed 4 MB",
    )
}

struct GetPlan {
    table: Arc<TableMeta>,
    key: PrimaryKey,
    projection: Option<Projection>,
}

pub async fn handle(
    app: &App,
    input: TransactGetItemsInput,
) -> Result<TransactGetItemsOutput, ApiError> {
    check_constraints(&input)?;
    let mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let actions = input.transact_items.as_deref().unwrap_or_default();

    let mut projections = Vec::with_capacity(actions.len());
    for action in actions {
        let Some(get) = &action.get else {
            return Err(ApiError::internal());
        };
        let names = get.expression_attribute_names.as_ref();
        expr::check_parameter_usage(
            &[("ProjectionExpression", get.projection_expression.is_some())],
            &[],
            names,
            None,
            &[],
        )?;
        let projection = match &get.projection_expression {
            Some(text) => {
                let subs = Substitutions::new(names, None);
                let projection = expr::parse_projection(text, &subs)?;
                subs.check_all_used()?;
                Some(projection)
            }
            None => None,
        };
        projections.push(projection);
    }

    let mut plans: Vec<GetPlan> = Vec::with_capacity(actions.len());
    let mut refused_keys = Vec::new();
    for (index, (action, projection)) in actions.iter().zip(projections).enumerate() {
        let Some(get) = &action.get else {
            return Err(ApiError::internal());
        };
        let table = app
            .catalog
            .table_for_data(get.table_name.as_deref().unwrap_or_default())?;
        let no_key = Item::new();
        let given = get.key.as_ref().unwrap_or(&no_key);
        if let Some(refused) = empty_key_value(&table, given, false) {
            return Err(refused);
        }
        let key = match table.layout.schema.key_from_param(given) {
            Ok(key) => key,
            Err(refused) => {
                refused_keys.push((index, refused));
                continue;
            }
        };
        if plans
            .iter()
            .any(|p| p.table.table_id() == table.table_id() && p.key == key)
        {
            return Err(ApiError::validation(SAME_ITEM_TWICE));
        }
        plans.push(GetPlan {
            table,
            key,
            projection,
        });
    }

    if !refused_keys.is_empty() {
        return Err(cancelled_for_keys(actions.len(), refused_keys));
    }

    // Capacity: an action whose table is out of it cancels the transaction.
    crate::throttle::admit_transaction(
        plans
            .iter()
            .map(|p| crate::throttle::admit_item_read(&p.table, &p.key))
            .collect(),
    )?;
    let targets: Vec<_> = plans
        .iter()
        .map(|p| (&p.table.layout, p.key.clone()))
        .collect();
    let count = targets.len();
    let snapshot = app
        .storage
        .write(&targets, Cause::User, |current| {
            Ok::<_, ApiError>((vec![Mutation::Keep; count], current.to_vec()))
        })
        .await
        .map_err(|e| storage_failure("TransactGetItems", e))??;

    let sizes: Vec<usize> = snapshot
        .iter()
        .map(|item| item.as_ref().map_or(0, item_size))
        .collect();
    if sizes.iter().sum::<usize>() > MAX_TRANSACTION_BYTES {
        return Err(too_large());
    }
    let mut units = PerTable::default();
    let mut responses = Vec::with_capacity(count);
    for ((plan, item), size) in plans.iter().zip(snapshot).zip(sizes) {
        let read_units = capacity::transactional_read_units(size);
        crate::throttle::charge_item_read(&plan.table, &plan.key, read_units);
        units.add(plan.table.name(), read_units);
        // A projection that matches nothing leaves `Item` out, as DynamoDB answers
        // TransactGetItems (GetItem answers `{}`; extenddb#74 captured both).
        let item = match (item, &plan.projection) {
            (Some(item), Some(projection)) => {
                Some(projection.apply(&item)).filter(|i| !i.is_empty())
            }
            (item, _) => item,
        };
        responses.push(ItemResponse { item });
    }
    Ok(TransactGetItemsOutput {
        consumed_capacity: units.transaction_reads(mode),
        responses,
    })
}

/// Request-model constraints.
fn check_constraints(input: &TransactGetItemsInput) -> Result<(), ApiError> {
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
            for (i, action) in items.iter().enumerate() {
                let path = member_path("transactItems", i, "get");
                let Some(get) = &action.get else {
                    p.not_null(&path, false);
                    continue;
                };
                if get.key.is_none() {
                    p.not_null(&format!("{path}.key"), false);
                }
                p.member_table_name(&format!("{path}.tableName"), get.table_name.as_deref());
            }
        }
    }
    p.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use shared::wire::ops::transact_get_items::{Get, TransactGetItem};

    fn message(r: Result<(), ApiError>) -> String {
        r.err().and_then(|e| e.message).unwrap_or_default()
    }

    fn get(table: Option<&str>) -> TransactGetItem {
        TransactGetItem {
            get: Some(Get {
                key: Some(Default::default()),
                table_name: table.map(str::to_string),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn constraints() {
        let input = |items: Vec<TransactGetItem>| TransactGetItemsInput {
            transact_items: Some(items),
            return_consumed_capacity: None,
        };
        assert_eq!(
            message(check_constraints(&input(vec![]))),
            "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        assert_eq!(
            message(check_constraints(&input(
                (0..101).map(|_| get(Some("tbl"))).collect()
            ))),
            "1 validation error detected: Value at 'TransactItems' failed to satisfy constraint: Member must have length less than or equal to 100"
        );
        assert!(check_constraints(&input((0..100).map(|_| get(Some("tbl"))).collect())).is_ok());
        assert_eq!(
            message(check_constraints(&input(vec![get(None), TransactGetItem::default(), get(Some("a;"))]))),
            "4 validation errors detected: Value null at 'transactItems.1.member.get.tableName' failed to satisfy constraint: Member must not be null; \
             Value null at 'transactItems.2.member.get' failed to satisfy constraint: Member must not be null; \
             Value 'a;' at 'transactItems.3.member.get.tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
             Value 'a;' at 'transactItems.3.member.get.tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"
        );
    }
}
