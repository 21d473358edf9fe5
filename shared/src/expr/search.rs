//! SearchConditionExpression (SearchVectors): equalities between a vector index's search
//! schema attributes and values, joined by AND. The clauses come out as written; which
//! attributes the index allows, and which it requires, is the caller's to check.

use super::ast::{Cond, Operand};
use super::parser::CmpOp;
use super::{parse_cond, ExprKind, PathElem, Substitutions};
use crate::model::AttributeValue;
use crate::wire::error::ApiError;

/// `Invalid SearchConditionExpression: Invalid comparator used in SearchConditionExpression`:
/// DynamoDB's answer to anything but `=` between an attribute and a value (the
/// dynamodb-conformance suite's captures, on HASH and INLINE_FILTER attributes alike).
fn invalid_comparator() -> ApiError {
    ExprKind::SearchCondition.error("Invalid comparator used in SearchConditionExpression")
}

/// The `attribute = value` clauses of a SearchConditionExpression, in text order.
pub fn parse_search_condition(
    text: &str,
    subs: &Substitutions,
) -> Result<Vec<(String, AttributeValue)>, ApiError> {
    let cond = parse_cond(ExprKind::SearchCondition, text, subs)?;
    let mut clauses = Vec::new();
    collect(&cond, &mut clauses)?;
    Ok(clauses)
}

fn collect(cond: &Cond, out: &mut Vec<(String, AttributeValue)>) -> Result<(), ApiError> {
    match cond {
        Cond::And(a, b) => {
            collect(a, out)?;
            collect(b, out)
        }
        Cond::Compare(CmpOp::Eq, left, right) => {
            let (path, value) = match (left, right) {
                (Operand::Path(path), Operand::Value(value))
                | (Operand::Value(value), Operand::Path(path)) => (path, value),
                _ => return Err(invalid_comparator()),
            };
            match path.as_slice() {
                [PathElem::Attr(name)] => {
                    out.push((name.clone(), value.clone()));
                    Ok(())
                }
                _ => Err(ExprKind::SearchCondition
                    .error("SearchConditionExpression can only reference top-level attributes")),
            }
        }
        _ => Err(invalid_comparator()),
    }
}
