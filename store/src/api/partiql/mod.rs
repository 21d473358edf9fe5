//! PartiQL: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction.
//!
//! A statement is parsed (`shared::partiql`), planned into the Query, Scan, PutItem,
//! UpdateItem or DeleteItem it stands for ([`plan`]), and run through that operation's own
//! handler, so validation, conditions, capacity, throttling, streams and the change log
//! behave exactly as for the classic API. [`run`] executes one planned statement.

pub mod batch_execute_statement;
pub mod execute_statement;
pub mod execute_transaction;
pub mod next_token;
mod overlap;
pub mod plan;
mod request;
mod run;

use shared::wire::error::ApiError;

/// An error of the Query or Scan a SELECT runs as, without the label of the expression the
/// statement became (`Invalid FilterExpression: ...`): the client wrote no expression, and
/// DynamoDB answers a statement's type errors bare (the dynamodb-conformance suite's
/// tier2/partiql/comparison.test.ts).
pub(crate) fn without_expression_label(mut e: ApiError) -> ApiError {
    const LABELS: [&str; 2] = [
        "Invalid FilterExpression: ",
        "Invalid KeyConditionExpression: ",
    ];
    if let Some(message) = e.message.as_mut() {
        if let Some(bare) = LABELS.iter().find_map(|l| message.strip_prefix(l)) {
            *message = bare.to_string();
        }
    }
    e
}
