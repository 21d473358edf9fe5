//! ExecuteStatement: one PartiQL statement.

use shared::wire::error::ApiError;
use shared::wire::ops::partiql::{ExecuteStatementInput, ExecuteStatementOutput};
use shared::wire::ops::validate::Violations;

use super::next_token::{self, Resume};
use super::plan::{self, Plan, ReadOptions};
use super::request::{self, Members};
use super::run;
use crate::api::read_item::ReadItem;
use crate::app::App;

pub async fn handle(
    app: &App,
    input: ExecuteStatementInput,
) -> Result<ExecuteStatementOutput<ReadItem>, ApiError> {
    let mut c = Violations::new();
    let members = Members {
        statement: input.statement.as_deref(),
        parameters: input.parameters.as_deref(),
        on_failure: input.return_values_on_condition_check_failure.as_deref(),
    };
    request::check(&mut c, None, &members);
    c.at_least("limit", input.limit, 1);
    c.finish()?;
    let capacity = input.return_consumed_capacity;
    let request = next_token::Request::of(input.statement.as_deref(), input.parameters.as_deref());
    let options = ReadOptions {
        consistent_read: input.consistent_read,
        limit: input.limit,
        next_token: input.next_token.map(|token| Resume { token, request }),
        return_consumed_capacity: capacity.clone(),
    };
    let planned = plan::plan(
        app,
        input.statement.as_deref(),
        input.parameters.as_deref(),
        options,
    );
    match planned.map_err(super::without_expression_label)? {
        Plan::Read(read) => {
            let page = run::read_page(app, read.read)
                .await
                .map_err(super::without_expression_label)?;
            Ok(ExecuteStatementOutput {
                items: page.items,
                next_token: page
                    .last_evaluated_key
                    .as_ref()
                    .map(|key| next_token::encode(key, request)),
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
