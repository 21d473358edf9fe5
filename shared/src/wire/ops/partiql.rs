//! ExecuteStatement, BatchExecuteStatement and ExecuteTransaction: request and response
//! shapes (SDK names). Statements themselves are parsed by `crate::partiql`.

use serde::{Deserialize, Serialize};

use super::common::ConsumedCapacity;
use super::transact_get_items::ItemResponse;
use crate::model::{AttributeValue, Item};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteStatementInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::model::value::deserialize_parameters"
    )]
    pub parameters: Option<Vec<AttributeValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `ALL_OLD | NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

/// The ExecuteStatement response: `Items` is always present (empty for a write without
/// RETURNING).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteStatementOutput<I = Item> {
    pub items: Vec<I>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<ConsumedCapacity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated_key: Option<Item>,
}

/// One statement of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchStatementRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_statement_parameters"
    )]
    pub parameters: Option<StatementParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

impl BatchStatementRequest {
    /// The statement's parameters, or the validation failure reading them met, which
    /// fails this statement alone.
    pub fn parameters(&self) -> Result<Option<&[AttributeValue]>, &str> {
        match &self.parameters {
            None => Ok(None),
            Some(StatementParameters::Values(values)) => Ok(Some(values)),
            Some(StatementParameters::Invalid(message)) => Err(message),
        }
    }
}

/// A batch statement's `Parameters`: DynamoDB answers a value it refuses (a number it
/// cannot convert, a value nested too deep) in that statement's `Error`, the others
/// running (the dynamodb-conformance suite's partiqlParameterNumbers captures), where
/// ExecuteStatement and ExecuteTransaction refuse the request.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementParameters {
    Values(Vec<AttributeValue>),
    /// The ValidationError message.
    Invalid(String),
}

impl Serialize for StatementParameters {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StatementParameters::Values(values) => values.serialize(serializer),
            StatementParameters::Invalid(_) => serializer.serialize_unit(),
        }
    }
}

/// Reads a batch statement's `Parameters` as ExecuteStatement's are read
/// (`value::deserialize_parameters`), keeping a validation failure as the statement's
/// rather than the request's. JSON of the wrong shape still fails the request, as it
/// does DynamoDB's. The member is taken whole first (serde_json skips a value without
/// recursing, so no depth reaches its recursion limit there) and read from its text.
fn deserialize_statement_parameters<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<StatementParameters>, D::Error> {
    let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    match crate::model::value::deserialize_parameters(&mut reader) {
        Ok(values) => Ok(values.map(StatementParameters::Values)),
        Err(e) => {
            let text = e.to_string();
            match crate::model::value::validation_message(&text) {
                Some(message) => Ok(Some(StatementParameters::Invalid(message.to_string()))),
                None => Err(serde::de::Error::custom(
                    crate::model::value::strip_position(&text),
                )),
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchExecuteStatementInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statements: Option<Vec<BatchStatementRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

/// A statement's failure inside a batch: `Code` is DynamoDB's short name
/// (`ConditionalCheckFailed`, `DuplicateItem`, `ValidationError`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchStatementError {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchStatementResponse<I = Item> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<BatchStatementError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    // No `default`: serde would then require `I: Default`; a missing Option is None anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<I>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchExecuteStatementOutput<I = Item> {
    pub responses: Vec<BatchStatementResponse<I>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

/// One statement of a transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterizedStatement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::model::value::deserialize_parameters"
    )]
    pub parameters: Option<Vec<AttributeValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteTransactionInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transact_statements: Option<Vec<ParameterizedStatement>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_consumed_capacity: Option<String>,
}

/// The ExecuteTransaction response: one entry per statement for a read transaction,
/// none for a write transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteTransactionOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responses: Option<Vec<ItemResponse>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<Vec<ConsumedCapacity>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(parameters: &str) -> Result<BatchStatementRequest, crate::wire::error::ApiError> {
        let body =
            format!(r#"{{"Statements": [{{"Statement": "x", "Parameters": {parameters}}}]}}"#);
        let input: BatchExecuteStatementInput = super::super::decode(body.as_bytes())?;
        Ok(input.statements.unwrap_or_default().remove(0))
    }

    #[test]
    fn a_batch_statement_keeps_its_parameters_refusal_and_the_request_its_shape_errors() {
        let read = statement(r#"[{"N": "1.50"}, {"S": "a"}]"#).unwrap();
        let expected = [
            AttributeValue::N("1.5".parse().unwrap()),
            AttributeValue::S("a".into()),
        ];
        assert_eq!(read.parameters(), Ok(Some(&expected[..])));
        assert_eq!(statement("null").unwrap().parameters(), Ok(None));

        let unconvertible = statement(r#"[{"S": "a"}, {"N": "1e99999999999"}]"#).unwrap();
        assert_eq!(
            unconvertible.parameters(),
            Err("The parameter cannot be converted to a numeric value: 1e99999999999")
        );
        // Deeper than serde_json's recursion limit: read whole, refused by depth.
        let deep = format!(
            "[{}{{\"S\": \"x\"}}{}]",
            r#"{"M": {"n": "#.repeat(100),
            "}}".repeat(100)
        );
        let refused = statement(&deep).unwrap();
        assert!(
            refused
                .parameters()
                .unwrap_err()
                .starts_with("Nesting Levels have exceeded"),
            "{refused:?}"
        );

        // JSON of the wrong shape is still the request's SerializationException.
        let shape = statement(r#"[{"S": 5}]"#).unwrap_err();
        assert_eq!(shape.code, crate::wire::ErrorCode::SerializationException);
        assert!(
            shape.message.unwrap_or_default().contains("NUMBER_VALUE"),
            "shape"
        );
    }
}
