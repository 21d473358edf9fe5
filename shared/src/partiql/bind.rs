//! Literals to attribute values, with the statement's parameters in place of `?`.

use std::collections::HashSet;

use super::ast::Literal;
use crate::model::value::validation_message;
use crate::model::{AttributeValue, Item, Number, NumberError};
use crate::wire::error::ApiError;

/// Where DynamoDB's descriptions of a place in a literal start.
const ROOT: &str = "root";

/// The value of `literal`; `params[n]` stands for the n-th `?`.
pub fn bind(literal: &Literal, params: &[AttributeValue]) -> Result<AttributeValue, ApiError> {
    bind_at(literal, params, ROOT)
}

/// The value of INSERT's `VALUE` literal. DynamoDB reads an item tuple's attributes each as
/// a literal of its own, so places inside one are named from `root` again: a number out of
/// range at `{'m': {'x': ...}}` is `under root.x`, at `{'l': [1, ...]}` `under root[1]`
/// (the dynamodb-conformance suite's partiqlGrammar captures), while an attribute given
/// twice is `under root`.
pub fn bind_item(literal: &Literal, params: &[AttributeValue]) -> Result<AttributeValue, ApiError> {
    match literal {
        Literal::Map(entries) => bind_entries(entries, params, ROOT, |_| ROOT.to_string()),
        other => bind(other, params),
    }
}

/// [`bind`] of the literal at `path` (DynamoDB's way of naming where in a literal a
/// problem is: `root`, `root.a`, `root.a[0]`).
fn bind_at(
    literal: &Literal,
    params: &[AttributeValue],
    path: &str,
) -> Result<AttributeValue, ApiError> {
    Ok(match literal {
        Literal::Param(n) => params.get(*n).cloned().ok_or_else(|| {
            ApiError::validation("Number of parameters in request and statement don't match.")
        })?,
        Literal::String(s) => AttributeValue::S(s.clone()),
        Literal::Number(text) => AttributeValue::N(Number::parse(text).map_err(|e| {
            // DynamoDB names where in the literal a number breaks its rules.
            let message = match e {
                NumberError::Overflow | NumberError::Underflow | NumberError::TooManyDigits => {
                    format!("{} under {path}", e.message())
                }
                NumberError::Empty | NumberError::Unparseable(_) => e.message(),
            };
            ApiError::validation(message)
        })?),
        Literal::Bool(b) => AttributeValue::Bool(*b),
        Literal::Null => AttributeValue::Null,
        Literal::Missing => {
            return Err(ApiError::validation(
                "MISSING is not a value: compare with it (x = MISSING) or leave the attribute out",
            ))
        }
        Literal::List(items) => AttributeValue::L(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| bind_at(item, params, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Literal::Map(entries) => {
            bind_entries(entries, params, path, |key| format!("{path}.{key}"))?
        }
        Literal::Bag(members) => bag(members, params, path)?,
    })
}

/// A tuple's entries as a map: a key given twice is refused `under` the tuple's `path`, and
/// each value is bound at the place `inner` names for its key.
fn bind_entries(
    entries: &[(String, Literal)],
    params: &[AttributeValue],
    path: &str,
    inner: impl Fn(&str) -> String,
) -> Result<AttributeValue, ApiError> {
    let mut map = Item::new();
    let mut seen = HashSet::with_capacity(entries.len());
    for (key, value) in entries {
        // DynamoDB refuses a key given twice rather than keep one of the values.
        if !seen.insert(key.as_str()) {
            return Err(ApiError::validation(format!(
                "Duplicate keys in tuple. Key: {key} under {path}"
            )));
        }
        if *value != Literal::Missing {
            map.insert(key.clone(), bind_at(value, params, &inner(key))?);
        }
    }
    Ok(AttributeValue::M(map))
}

/// `<<...>>` at `path`: a set of one scalar type. Built through DynamoDB JSON so that the
/// set rules (non-empty, no duplicates, numbers normalized) are the decoder's, with its
/// messages. A set's members have no places of their own: a member is named by the set's.
fn bag(
    members: &[Literal],
    params: &[AttributeValue],
    path: &str,
) -> Result<AttributeValue, ApiError> {
    let values: Vec<AttributeValue> = members
        .iter()
        .map(|m| bind_at(m, params, path))
        .collect::<Result<_, _>>()?;
    let set_type = match values.first() {
        // DynamoDB's words for `<<>>` (the partiqlFunctions captures).
        None => return Err(ApiError::validation("Empty bags are not supported")),
        Some(AttributeValue::S(_)) => "SS",
        Some(AttributeValue::N(_)) => "NS",
        Some(AttributeValue::B(_)) => "BS",
        Some(_) => {
            return Err(ApiError::validation(
                "A set may only hold strings, numbers or binary values",
            ))
        }
    };
    let mut json = Vec::with_capacity(values.len());
    for value in &values {
        let member = serde_json::to_value(value).map_err(|_| ApiError::internal())?;
        match member.get(&set_type[..1]) {
            Some(scalar) => json.push(scalar.clone()),
            None => {
                return Err(ApiError::validation(
                    "A set's members must all be of one type",
                ))
            }
        }
    }
    let set = serde_json::json!({ set_type: json });
    serde_json::from_value(set).map_err(|e| {
        let text = e.to_string();
        ApiError::validation(validation_message(&text).unwrap_or(&text))
    })
}
