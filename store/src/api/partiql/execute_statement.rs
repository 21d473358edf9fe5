//! ExecuteStatement: one PartiQL statement.

use shared::wire::error::ApiError;
use shared::wire::ops::partiql::{ExecuteStatementInput, ExecuteStatementOutput};

use super::plan::{self, encode_token, Plan, ReadOptions};
use super::run;
use crate::api::read_item::ReadItem;
use crate::app::App;

pub async fn handle(
    app: &App,
    input: ExecuteStatementInput,
) -> Result<ExecuteStatementOutput<ReadItem>, ApiError> {
    if input.limit.is_some_and(|l| l < 1) {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ));
    }
    let capacity = input.return_consumed_capacity;
    let options = ReadOptions {
        consistent_read: input.consistent_read,
        limit: input.limit,
        next_token: input.next_token,
        return_consumed_capacity: capacity.clone(),
    };
    match plan::plan(
        app,
        input.statement.as_deref(),
        input.parameters.as_deref(),
        options,
    )? {
        Plan::Read(read) => {
            let page = run::read_page(app, read.read).await?;
            Ok(ExecuteStatementOutput {
                items: page.items,
                next_token: page.last_evaluated_key.as_ref().map(encode_token),
                consumed_capacity: page.consumed_capacity,
                last_evaluated_key: page.last_evaluated_key,
            })
        }
        Plan::Write(write) => {
            let on_failure = input.return_values_on_condition_check_failure;
            let written = run::write(app, write, on_failure, capacity).await?;
            Ok(ExecuteStatementOutput {
                items: written.items.into_iter().map(ReadItem::Shaped).collect(),
                next_token: None,
                consumed_capacity: written.consumed_capacity,
                last_evaluated_key: None,
            })
        }
    }
}
