//! DeleteItem: remove one item by key, optionally under a condition. Deleting a missing
//! item succeeds (and costs one write unit).
//!
//! Checks, in DynamoDB's order: model constraints (table name, `Key` present, enums),
//! `ReturnValues can only be ALL_OLD or NONE`, the expression parameters and expressions
//! (ConditionExpression or legacy Expected), then the table and the key against its
//! schema. The write itself is [`item_write::decide`] under the item's lock.

use shared::wire::error::ApiError;
use shared::wire::ops::common::ReturnConsumedCapacity;
use shared::wire::ops::delete_item::{DeleteItemInput, DeleteItemOutput};

use super::item_write::{
    self, check_write_constraints, parse_write_expressions, ReturnValues, WriteAction, WriteCall,
    WriteExpressions, WriteParams, WritePlan,
};
use crate::app::App;

pub async fn handle(app: &App, input: DeleteItemInput) -> Result<DeleteItemOutput, ApiError> {
    check_write_constraints(&WriteParams {
        table_name: input.table_name.as_deref(),
        target: ("key", input.key.is_some()),
        return_values: input.return_values.as_deref(),
        return_consumed_capacity: input.return_consumed_capacity.as_deref(),
        return_item_collection_metrics: input.return_item_collection_metrics.as_deref(),
        return_values_on_condition_check_failure: input
            .return_values_on_condition_check_failure
            .as_deref(),
        conditional_operator: input.conditional_operator.as_deref(),
    })?;
    let mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let return_values = ReturnValues::all_old_or_none(input.return_values.as_deref())?;
    let parsed = parse_write_expressions(
        &WriteExpressions {
            is_update: false,
            update_expression: None,
            condition_expression: input.condition_expression.as_deref(),
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref().map(|v| &v.0),
            attribute_updates: None,
            expected: input.expected.as_ref(),
            conditional_operator: input.conditional_operator.as_deref(),
        },
        WriteCall::Single,
    )?;

    let table = app
        .catalog
        .table_for_data(input.table_name.as_deref().unwrap_or_default())?;
    let key = table
        .layout
        .schema
        .key_from_param(input.key.as_ref().unwrap_or(&Default::default()))?;
    let mut plan = WritePlan::new(&table, &key, WriteAction::Delete);
    plan.condition = parsed.condition;
    plan.return_values = return_values;
    plan.return_old_on_failure =
        input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");

    let result = item_write::execute_single(app, "DeleteItem", &table, &key, &plan).await?;
    Ok(DeleteItemOutput {
        attributes: result.attributes,
        consumed_capacity: item_write::write_capacity(table.name(), &result.units, mode),
        item_collection_metrics: item_write::item_collection_metrics(
            &table,
            &key,
            input.return_item_collection_metrics.as_deref(),
        ),
    })
}
