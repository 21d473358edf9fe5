//! UpdateItem: change some attributes of one item, creating it (with its key attributes)
//! when it does not exist, optionally under a condition.
//!
//! Checks, in DynamoDB's order: model constraints (table name, `Key` present, enums), the
//! expression parameters and expressions (UpdateExpression or legacy AttributeUpdates,
//! ConditionExpression or legacy Expected, unused substitutions), then the table, the key
//! against its schema, and updates of key attributes (`Cannot update attribute k. This
//! attribute is part of the key`). Under the item's lock, [`item_write::decide`] applies
//! the update to a copy, so a run-time failure (operand types, the 400 KB limit: `Item size
//! to update has exceeded the maximum allowed size`) leaves the item untouched.
//! ReturnValues accepts all five values; UPDATED_* return the paths the update touched.

use std::collections::HashMap;

use shared::expr::legacy;
use shared::wire::error::ApiError;
use shared::wire::ops::common::ReturnConsumedCapacity;
use shared::wire::ops::update_item::{UpdateItemInput, UpdateItemOutput};

use super::item_write::{
    self, check_write_constraints, parse_write_expressions, ReturnValues, WriteAction, WriteCall,
    WriteExpressions, WriteParams, WritePlan,
};
use crate::app::App;

pub async fn handle(app: &App, input: UpdateItemInput) -> Result<UpdateItemOutput, ApiError> {
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
    let return_values = ReturnValues::parse(input.return_values.as_deref());
    let parsed = parse_write_expressions(
        &WriteExpressions {
            is_update: true,
            update_expression: input.update_expression.as_deref(),
            condition_expression: input.condition_expression.as_deref(),
            names: input.expression_attribute_names.as_ref(),
            values: input.expression_attribute_values.as_ref().map(|v| &v.0),
            attribute_updates: input.attribute_updates.as_ref(),
            expected: input.expected.as_ref(),
            conditional_operator: input.conditional_operator.as_deref(),
        },
        WriteCall::Single,
    )?;

    let table = app
        .catalog
        .table_for_data(input.table_name.as_deref().unwrap_or_default())?;
    let schema = &table.layout.schema;
    let key = schema.key_from_param(input.key.as_ref().unwrap_or(&Default::default()))?;
    // Without any update the item is still created from its key, as DynamoDB does.
    let update = match parsed.update {
        Some(update) => update,
        None => legacy::attribute_updates(&HashMap::new())?,
    };
    update.check_keys(schema)?;
    let mut plan = WritePlan::new(&table, &key, WriteAction::Update(update));
    plan.condition = parsed.condition;
    plan.return_values = return_values;
    plan.return_old_on_failure =
        input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");

    let result = item_write::execute_single(app, "UpdateItem", &table, &key, &plan).await?;
    Ok(UpdateItemOutput {
        attributes: result.attributes,
        consumed_capacity: item_write::write_capacity(table.name(), &result.units, mode),
        item_collection_metrics: item_write::item_collection_metrics(
            &table,
            &key,
            input.return_item_collection_metrics.as_deref(),
        ),
    })
}
