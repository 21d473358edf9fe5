//! ExecuteTransaction: up to 100 statements, all single-key SELECTs (a TransactGetItems)
//! or all writes and EXISTS checks (a TransactWriteItems: all or nothing). RETURNING is
//! refused.

use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::partiql::{ExecuteTransactionInput, ExecuteTransactionOutput};
use shared::wire::ops::transact_get_items::{Get, TransactGetItem, TransactGetItemsInput};
use shared::wire::ops::transact_write_items::{
    ConditionCheck, Delete, Put, TransactWriteItem, TransactWriteItemsInput, Update,
};
use shared::wire::ops::validate::Violations;

use super::plan::{self, Plan, ReadOptions, WriteKind, WritePlan};
use super::request::{self, Members};
use super::run::DUPLICATE_ITEM;
use crate::api::{transact_get_items, transact_write_items};
use crate::app::App;

pub const MAX_STATEMENTS: usize = 100;

pub async fn handle(
    app: &App,
    input: ExecuteTransactionInput,
) -> Result<ExecuteTransactionOutput, ApiError> {
    let statements = input.transact_statements.unwrap_or_default();
    if statements.is_empty() || statements.len() > MAX_STATEMENTS {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'transactStatements' failed to satisfy constraint: Member must have length less than or equal to {MAX_STATEMENTS} and greater than or equal to 1"
        )));
    }
    let mut c = Violations::new();
    for (position, statement) in statements.iter().enumerate() {
        let members = Members {
            statement: statement.statement.as_deref(),
            parameters: statement.parameters.as_deref(),
            on_failure: statement
                .return_values_on_condition_check_failure
                .as_deref(),
        };
        request::check(&mut c, Some(("transactStatements", position)), &members);
    }
    c.finish()?;
    let mut plans = Vec::with_capacity(statements.len());
    for (position, statement) in statements.iter().enumerate() {
        let planned = plan::plan(
            app,
            statement.statement.as_deref(),
            statement.parameters.as_deref(),
            ReadOptions::default(),
        );
        plans.push(planned.map_err(|e| in_statement(e, position))?);
    }
    if plans.iter().all(|p| matches!(p, Plan::Read(_))) {
        return read(app, plans, input.return_consumed_capacity).await;
    }
    if plans.iter().any(|p| matches!(p, Plan::Read(_))) {
        return Err(ApiError::validation(
            "Unsupported operation: Mixing reads and writes in a transaction is not supported",
        ));
    }
    let mut inserts = Vec::with_capacity(plans.len());
    let mut items = Vec::with_capacity(plans.len());
    for (position, (planned, statement)) in plans.into_iter().zip(statements).enumerate() {
        let Plan::Write(write) = planned else {
            continue;
        };
        if write.returning.is_some() {
            let refused =
                ApiError::validation("RETURNING clause is not supported in ExecuteTransaction.");
            return Err(in_statement(refused, position));
        }
        inserts.push(matches!(write.kind, WriteKind::Insert(_)));
        items.push(action(
            write,
            statement.return_values_on_condition_check_failure,
        ));
    }
    let output = transact_write_items::handle(
        app,
        TransactWriteItemsInput {
            transact_items: Some(items),
            client_request_token: input.client_request_token,
            return_consumed_capacity: input.return_consumed_capacity,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| duplicate_reasons(e, &inserts))?;
    // An empty list, not one entry per statement nor none, as DynamoDB answers a
    // transaction of writes (dynamodb-conformance, tier2/partiql/writeResponses.test.ts).
    Ok(ExecuteTransactionOutput {
        responses: Some(Vec::new()),
        consumed_capacity: output.consumed_capacity,
    })
}

/// A statement's own refusal as DynamoDB sends it from a transaction: named by the
/// statement's place (the dynamodb-conformance suite's partiqlGrammar and
/// partiqlFunctions captures). Other errors (a missing table) stay as they are.
fn in_statement(mut e: ApiError, position: usize) -> ApiError {
    if e.code == ErrorCode::ValidationException {
        let message = e.message.unwrap_or_default();
        e.message = Some(format!(
            "Validation failed in TransactStatements[{position}]: {message}"
        ));
    }
    e
}

/// A write statement as a transaction action.
fn action(write: WritePlan, on_failure: Option<String>) -> TransactWriteItem {
    let table_name = Some(write.table);
    let (condition, names, values) = (write.condition, write.names, write.values);
    // The four action shapes share their table and condition members.
    macro_rules! conditioned {
        ($shape:ident { $($member:ident: $value:expr),* }) => {
            Some($shape {
                $($member: $value,)*
                table_name,
                condition_expression: condition,
                expression_attribute_names: names,
                expression_attribute_values: values,
                return_values_on_condition_check_failure: on_failure,
            })
        };
    }
    let mut action = TransactWriteItem::default();
    match write.kind {
        WriteKind::Insert(item) => action.put = conditioned!(Put { item: Some(item) }),
        WriteKind::Update { key, expression } => {
            action.update = conditioned!(Update {
                key: Some(key),
                update_expression: Some(expression)
            })
        }
        WriteKind::Check { key } => {
            action.condition_check = conditioned!(ConditionCheck { key: Some(key) })
        }
        WriteKind::Delete { key } => action.delete = conditioned!(Delete { key: Some(key) }),
    }
    action
}

/// An INSERT whose key existed is cancelled as `DuplicateItem`, not as a failed condition.
fn duplicate_reasons(mut e: ApiError, inserts: &[bool]) -> ApiError {
    if e.code != ErrorCode::TransactionCanceledException {
        return e;
    }
    let Some(mut reasons) = e.cancellation_reasons.take() else {
        return e;
    };
    for (reason, insert) in reasons.iter_mut().zip(inserts) {
        if *insert && reason.code == "ConditionalCheckFailed" {
            reason.code = "DuplicateItem".into();
            reason.message = Some(DUPLICATE_ITEM.into());
        }
    }
    ApiError::transaction_canceled(reasons)
}

async fn read(
    app: &App,
    plans: Vec<Plan>,
    return_consumed_capacity: Option<String>,
) -> Result<ExecuteTransactionOutput, ApiError> {
    let mut gets = Vec::with_capacity(plans.len());
    for (position, planned) in plans.into_iter().enumerate() {
        let Plan::Read(read) = planned else { continue };
        let Some(key) = read.single_key else {
            let refused = ApiError::validation(
                "Select statements within ExecuteTransaction must specify the primary key in the where clause.",
            );
            return Err(in_statement(refused, position));
        };
        let (projection_expression, expression_attribute_names) = read.projection.unzip();
        gets.push(TransactGetItem {
            get: Some(Get {
                key: Some(key),
                table_name: Some(read.table),
                projection_expression,
                expression_attribute_names,
            }),
        });
    }
    let output = transact_get_items::handle(
        app,
        TransactGetItemsInput {
            transact_items: Some(gets),
            return_consumed_capacity,
        },
    )
    .await?;
    Ok(ExecuteTransactionOutput {
        responses: Some(output.responses),
        consumed_capacity: output.consumed_capacity,
    })
}
