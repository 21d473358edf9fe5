//! BatchExecuteStatement: up to 25 statements, all reads (each a single-key SELECT, run as a
//! GetItem) or all writes, each answered on its own: a failed statement gets an `Error`
//! entry and does not stop the others.

use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::common::{ConsumedCapacity, ReturnConsumedCapacity};
use shared::wire::ops::partiql::{
    BatchExecuteStatementInput, BatchExecuteStatementOutput, BatchStatementError,
    BatchStatementResponse,
};
use shared::wire::ops::validate::Violations;

use super::plan::{self, Plan, ReadOptions};
use super::request::{self, Members};
use super::run;
use crate::api::batch_get_item::CapacityByTable;
use crate::api::item_write::{write_capacity, WriteUnits};
use crate::api::read_item::ReadItem;
use crate::app::App;
use crate::policy::Refusals;

pub const MAX_STATEMENTS: usize = 25;

/// Runs the batch; the statements in `refusals` (policies refuse them) are answered with
/// their refusal instead of running.
pub async fn handle(
    app: &App,
    input: BatchExecuteStatementInput,
    mut refusals: Refusals,
) -> Result<BatchExecuteStatementOutput<ReadItem>, ApiError> {
    let statements = input.statements.unwrap_or_default();
    if statements.is_empty() || statements.len() > MAX_STATEMENTS {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length less than or equal to {MAX_STATEMENTS} and greater than or equal to 1"
        )));
    }
    let mut c = Violations::new();
    for (position, request) in statements.iter().enumerate() {
        let members = Members {
            statement: request.statement.as_deref(),
            // Parameters that could not be read fail their statement below.
            parameters: request.parameters().ok().flatten(),
            on_failure: request.return_values_on_condition_check_failure.as_deref(),
        };
        request::check(&mut c, Some(("statements", position)), &members);
    }
    c.finish()?;
    // Checked once here, not once per statement.
    let mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let capacity = input.return_consumed_capacity;
    let mut used = CapacityByTable::default();
    let mut plans = Vec::with_capacity(statements.len());
    for request in &statements {
        let options = ReadOptions {
            consistent_read: request.consistent_read,
            ..Default::default()
        };
        plans.push(match request.parameters() {
            Ok(parameters) => plan::plan(app, request.statement.as_deref(), parameters, options),
            Err(refused) => Err(ApiError::validation(refused)),
        });
    }
    let reads = plans.iter().any(|p| matches!(p, Ok(Plan::Read(_))));
    let writes = plans.iter().any(|p| matches!(p, Ok(Plan::Write(_))));
    if reads && writes {
        return Err(ApiError::validation(
            "Unsupported operation: Mixing reads and writes in a batch is not supported",
        ));
    }
    let mut responses = Vec::with_capacity(plans.len());
    for (position, (planned, request)) in plans.into_iter().zip(statements).enumerate() {
        if let Some(refusal) = refusals.take(position) {
            let table = match &planned {
                Ok(Plan::Read(read)) => Some(read.table.clone()),
                Ok(Plan::Write(write)) => Some(write.table.clone()),
                Err(_) => None,
            };
            responses.push(failed(refusal, table));
            continue;
        }
        let response = match planned {
            Err(e) => failed(e, None),
            Ok(Plan::Read(read)) => {
                let table = read.table.clone();
                match read.single_key.clone() {
                    // DynamoDB's words, and no TableName beside them (the
                    // dynamodb-conformance suite's executeStatementIndex captures).
                    None => failed(
                        ApiError::validation(
                            "Select statements within BatchExecuteStatement must specify the primary key in the where clause.",
                        ),
                        None,
                    ),
                    Some(key) => {
                        let consistent = request.consistent_read;
                        match run::read_one(app, *read, key, consistent, capacity.clone()).await {
                            Ok(output) => {
                                used.add(output.consumed_capacity);
                                BatchStatementResponse {
                                    table_name: Some(table),
                                    item: output.item,
                                    error: None,
                                }
                            }
                            Err(e) => failed(e, Some(table)),
                        }
                    }
                }
            }
            Ok(Plan::Write(write)) => {
                let table = write.table.clone();
                let on_failure = request.return_values_on_condition_check_failure;
                match run::write(app, write, on_failure, capacity.clone()).await {
                    Ok(written) => {
                        used.add(written.consumed_capacity);
                        BatchStatementResponse {
                            table_name: Some(table),
                            item: written.items.into_iter().next().map(ReadItem::Shaped),
                            error: None,
                        }
                    }
                    Err(e) => {
                        used.add(refused_write_capacity(&e, &table, mode));
                        failed(e, Some(table))
                    }
                }
            }
        };
        responses.push(response);
    }
    Ok(BatchExecuteStatementOutput {
        responses,
        consumed_capacity: used.into_list(),
    })
}

/// What a statement refused by its condition consumed: the table was charged the minimum
/// write for it (`throttle::failed_write`), so the batch's total says so too.
fn refused_write_capacity(
    e: &ApiError,
    table: &str,
    mode: ReturnConsumedCapacity,
) -> Option<ConsumedCapacity> {
    let refused_by_condition = matches!(
        e.code,
        ErrorCode::ConditionalCheckFailedException | ErrorCode::DuplicateItemException
    );
    // Shaped as every single-item write's answer is, so that the batch's sums agree.
    let units = WriteUnits {
        table: crate::throttle::REFUSED_CONDITION_WRITE_UNITS,
        ..WriteUnits::default()
    };
    refused_by_condition
        .then(|| write_capacity(table, &units, mode))
        .flatten()
}

/// A statement's error entry, with DynamoDB's short code.
fn failed(e: ApiError, table_name: Option<String>) -> BatchStatementResponse<ReadItem> {
    BatchStatementResponse {
        error: Some(BatchStatementError {
            code: e.code.reason_code().to_string(),
            message: e.message,
            item: e.item,
        }),
        table_name,
        item: None,
    }
}
