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
pub mod plan;
mod request;
mod run;
