//! PartiQL for DynamoDB: the statement language of ExecuteStatement, BatchExecuteStatement
//! and ExecuteTransaction (DYNAMODB.md §13), parsed into [`ast::Statement`]s.
//!
//! - `lexer`: text to tokens; `parser`: tokens to statements;
//! - `bind`: literals (with their `?` parameters) to attribute values;
//! - `render`: conditions and update actions to DynamoDB expression text with placeholder
//!   names and values, so that the store runs a statement as the Query, Scan, PutItem,
//!   UpdateItem or DeleteItem it stands for, with those operations' validation and errors.

pub mod ast;
pub mod bind;
mod lexer;
mod parser;
pub mod render;

use crate::wire::error::ApiError;

/// A parsed statement and how many `?` parameters it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub statement: ast::Statement,
    pub param_count: usize,
}

/// DynamoDB's refusal of a write (or EXISTS) whose WHERE does not name the whole primary key
/// by equalities, a FROM-first UPDATE with no WHERE included.
pub const INCOMPLETE_KEY: &str =
    "Where clause does not contain a mandatory equality on all key attributes";

/// DynamoDB's limit on a statement's length.
const MAX_STATEMENT_CHARS: usize = 8192;

/// Parses one statement; a syntax error is DynamoDB's ValidationException.
pub fn parse(text: &str) -> Result<Parsed, ApiError> {
    if text.is_empty() || text.chars().count() > MAX_STATEMENT_CHARS {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'statement' failed to satisfy constraint: Member must have length less than or equal to {MAX_STATEMENT_CHARS} and greater than or equal to 1"
        )));
    }
    let malformed = |detail: String| {
        ApiError::validation(format!(
            "Statement wasn't well formed, can't be processed: {detail}"
        ))
    };
    let tokens = lexer::tokenize(text).map_err(malformed)?;
    if tokens.is_empty() {
        return Err(malformed("the statement is empty".into()));
    }
    let mut parser = parser::Parser::new(tokens);
    let statement = parser.statement().map_err(|refusal| match refusal {
        parser::Refusal::Malformed(detail) => malformed(detail),
        parser::Refusal::Plain(message) => ApiError::validation(message),
    })?;
    Ok(Parsed {
        statement,
        param_count: parser.param_count(),
    })
}

#[cfg(test)]
mod tests;
