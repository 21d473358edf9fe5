//! The legacy (pre-expression) parameters, translated into expression trees so that one
//! evaluator serves both: Expected + ConditionalOperator, QueryFilter/ScanFilter,
//! AttributeUpdates, AttributesToGet, KeyConditions.
//!
//! The input shapes are defined here (or re-exported, for the `Condition` shape the wire
//! layer already has) with every member optional, so operation handlers embed them in
//! their request structs and DynamoDB's validation runs here with its own messages rather
//! than in serde. Maps are visited in sorted key order so that the reported error is
//! deterministic. A map of many conditions becomes a balanced AND/OR tree, so evaluation
//! depth stays logarithmic whatever the request size.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ast::{Action, Cond, Operand};
use super::eval::compare_values;
use super::parser::CmpOp;
use super::{Condition, PathElem, Projection, SortKeyCondition, UpdateExpr};
use crate::model::{check_attribute_name, AttributeValue};
use crate::wire::error::ApiError;

/// One legacy condition `{ComparisonOperator, AttributeValueList}` (KeyConditions,
/// QueryFilter, ScanFilter): the wire layer's shape.
pub use crate::wire::ops::query::Condition as LegacyCondition;

/// One entry of `Expected`: `{Value, Exists}` or `{ComparisonOperator, AttributeValueList}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExpectedAttributeValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<AttributeValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_value_list: Option<Vec<AttributeValue>>,
}

/// One entry of `AttributeUpdates`: `{Action: PUT|ADD|DELETE, Value}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValueUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<AttributeValue>,
}

const OPERATORS: &str =
    "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]";

fn invalid(detail: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_parameter(detail)
}

fn sorted<V>(map: &HashMap<String, V>) -> Vec<(&String, &V)> {
    let mut entries: Vec<(&String, &V)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// A model-constraint failure on a member, in DynamoDB's `1 validation error` form.
fn enum_error(value: &str, at: &str, allowed: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: {allowed}"
    ))
}

/// Checks a comparison operator's argument count and types (DynamoDB's order: count,
/// same type, allowed type, BETWEEN bounds).
fn check_arguments(op: &str, args: &[AttributeValue]) -> Result<(), ApiError> {
    let arity_ok = match op {
        "NULL" | "NOT_NULL" => args.is_empty(),
        "IN" => !args.is_empty(),
        "BETWEEN" => args.len() == 2,
        _ => args.len() == 1,
    };
    if !arity_ok {
        return Err(invalid(format!(
            "Invalid number of argument(s) for the {op} ComparisonOperator"
        )));
    }
    if let Some(first) = args.first() {
        if args.iter().any(|a| a.type_name() != first.type_name()) {
            return Err(invalid(
                "AttributeValues inside AttributeValueList must be of same type",
            ));
        }
    }
    let allowed: &[&str] = match op {
        // "EQ is supported for all data types, including lists and maps" (NE alike).
        "EQ" | "NE" => &["S", "N", "B", "SS", "NS", "BS", "L", "M", "BOOL", "NULL"],
        "BEGINS_WITH" => &["S", "B"],
        "NULL" | "NOT_NULL" => &[],
        _ => &["S", "N", "B"],
    };
    if let Some(bad) = args.iter().find(|a| !allowed.contains(&a.type_name())) {
        return Err(invalid(format!(
            "ComparisonOperator {op} is not valid for {} AttributeValue type",
            bad.type_name()
        )));
    }
    if let [lo, hi] = args {
        if op == "BETWEEN" && compare_values(lo, hi) == Some(std::cmp::Ordering::Greater) {
            return Err(ApiError::validation(
                "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
            ));
        }
    }
    Ok(())
}

/// The condition `attr <op> args`, arguments already checked.
fn translate(attr: &str, op: &str, args: &[AttributeValue]) -> Cond {
    let path = vec![PathElem::Attr(attr.to_string())];
    let p = || Operand::Path(path.clone());
    let v = |i: usize| Operand::Value(args.get(i).cloned().unwrap_or(AttributeValue::Null));
    let cmp = |c: CmpOp| Cond::Compare(c, p(), v(0));
    match op {
        "EQ" => cmp(CmpOp::Eq),
        "NE" => cmp(CmpOp::Ne),
        "LT" => cmp(CmpOp::Lt),
        "LE" => cmp(CmpOp::Le),
        "GT" => cmp(CmpOp::Gt),
        "GE" => cmp(CmpOp::Ge),
        "NULL" => Cond::NotExists(path),
        "NOT_NULL" => Cond::Exists(path.clone()),
        "CONTAINS" => Cond::Contains(p(), v(0)),
        // An absent attribute contains nothing, yet fails NOT_CONTAINS like every other
        // operator except NULL.
        "NOT_CONTAINS" => Cond::And(
            Box::new(Cond::Exists(path.clone())),
            Box::new(Cond::Not(Box::new(Cond::Contains(p(), v(0))))),
        ),
        "BEGINS_WITH" => Cond::BeginsWith(p(), v(0)),
        "IN" => Cond::In(p(), args.iter().cloned().map(Operand::Value).collect()),
        "BETWEEN" => Cond::Between(p(), v(0), v(1)),
        _ => Cond::Const(false),
    }
}

/// Whether `op` is a known comparison operator.
fn known_operator(op: &str) -> bool {
    matches!(
        op,
        "EQ" | "NE"
            | "LT"
            | "LE"
            | "GT"
            | "GE"
            | "NULL"
            | "NOT_NULL"
            | "CONTAINS"
            | "NOT_CONTAINS"
            | "BEGINS_WITH"
            | "IN"
            | "BETWEEN"
    )
}

/// Combines conditions into a balanced tree with AND (or OR).
fn combine(mut conds: Vec<Cond>, or: bool) -> Cond {
    if conds.is_empty() {
        return Cond::Const(true);
    }
    while conds.len() > 1 {
        let mut next = Vec::with_capacity(conds.len().div_ceil(2));
        let mut it = conds.into_iter();
        while let Some(a) = it.next() {
            match it.next() {
                Some(b) if or => next.push(Cond::Or(Box::new(a), Box::new(b))),
                Some(b) => next.push(Cond::And(Box::new(a), Box::new(b))),
                None => next.push(a),
            }
        }
        conds = next;
    }
    conds.pop().unwrap_or(Cond::Const(true))
}

fn is_or(conditional_operator: Option<&str>) -> bool {
    conditional_operator == Some("OR")
}

/// `ConditionalOperator` joins two or more conditions, so it needs a Filter or Expected
/// with that many: `conditions` is how many the request's QueryFilter, ScanFilter or
/// Expected holds (`None` when absent; an empty map counts as absent). Checked right after
/// the expression-parameter rules, before anything else about the legacy parameters (per
/// the service's behaviour recorded in DynamoDB Local's and DAX's validators).
pub fn check_conditional_operator(
    conditional_operator: Option<&str>,
    conditions: Option<usize>,
) -> Result<(), ApiError> {
    if conditional_operator.is_none() {
        return Ok(());
    }
    match conditions.unwrap_or(0) {
        0 => Err(ApiError::validation(
            "ConditionalOperator cannot be used without Filter or Expected",
        )),
        1 => Err(ApiError::validation(
            "ConditionalOperator can only be used when Filter or Expected has two or more elements",
        )),
        _ => Ok(()),
    }
}

/// `Expected` + `ConditionalOperator` (PutItem, UpdateItem, DeleteItem).
pub fn expected_condition(
    expected: &HashMap<String, ExpectedAttributeValue>,
    conditional_operator: Option<&str>,
) -> Result<Condition, ApiError> {
    let mut conds = Vec::with_capacity(expected.len());
    for (attr, exp) in sorted(expected) {
        if exp.attribute_value_list.is_some() && exp.value.is_some() {
            return Err(invalid(format!(
                "Value and AttributeValueList cannot be used together for Attribute: {attr}"
            )));
        }
        match exp.comparison_operator.as_deref() {
            None => {
                if exp.attribute_value_list.is_some() {
                    return Err(invalid(format!(
                        "AttributeValueList can only be used with a ComparisonOperator for Attribute: {attr}"
                    )));
                }
                let exists = exp.exists.unwrap_or(true);
                match (&exp.value, exists) {
                    (None, true) => {
                        let state = if exp.exists.is_none() { "null" } else { "true" };
                        return Err(invalid(format!(
                            "Value must be provided when Exists is {state} for Attribute: {attr}"
                        )));
                    }
                    (Some(_), false) => {
                        return Err(invalid(format!(
                            "Value cannot be used when Exists is false for Attribute: {attr}"
                        )));
                    }
                    (Some(v), true) => conds.push(translate(attr, "EQ", std::slice::from_ref(v))),
                    (None, false) => conds.push(translate(attr, "NULL", &[])),
                }
            }
            Some(op) => {
                if exp.exists.is_some() {
                    return Err(invalid(format!(
                        "Exists and ComparisonOperator cannot be used together for Attribute: {attr}"
                    )));
                }
                if !known_operator(op) {
                    return Err(enum_error(
                        op,
                        &format!("expected.{attr}.member.comparisonOperator"),
                        OPERATORS,
                    ));
                }
                let args: Vec<AttributeValue> = match (&exp.attribute_value_list, &exp.value) {
                    (Some(list), _) => list.clone(),
                    (None, Some(v)) => vec![v.clone()],
                    (None, None) => {
                        if !matches!(op, "NULL" | "NOT_NULL") {
                            return Err(invalid(format!(
                                "Value or AttributeValueList must be used with ComparisonOperator: {op} for Attribute: {attr}"
                            )));
                        }
                        Vec::new()
                    }
                };
                check_arguments(op, &args)?;
                conds.push(translate(attr, op, &args));
            }
        }
    }
    Ok(Condition::from_cond(combine(
        conds,
        is_or(conditional_operator),
    )))
}

/// `QueryFilter` / `ScanFilter` + `ConditionalOperator`; `param` is the parameter name
/// (`QueryFilter` or `ScanFilter`) for model-constraint messages.
pub fn filter_condition(
    param: &str,
    filter: &HashMap<String, LegacyCondition>,
    conditional_operator: Option<&str>,
) -> Result<Condition, ApiError> {
    let mut conds = Vec::with_capacity(filter.len());
    let camel = lower_camel(param);
    for (attr, c) in sorted(filter) {
        let op = checked_operator(&camel, attr, c)?;
        let args = c.attribute_value_list.as_deref().unwrap_or(&[]);
        check_arguments(op, args)?;
        conds.push(translate(attr, op, args));
    }
    Ok(Condition::from_cond(combine(
        conds,
        is_or(conditional_operator),
    )))
}

fn lower_camel(param: &str) -> String {
    let mut chars = param.chars();
    match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The operator of a legacy condition, present and known.
fn checked_operator<'c>(
    camel_param: &str,
    attr: &str,
    c: &'c LegacyCondition,
) -> Result<&'c str, ApiError> {
    let at = format!("{camel_param}.{attr}.member.comparisonOperator");
    match c.comparison_operator.as_deref() {
        None => Err(ApiError::validation(format!(
            "1 validation error detected: Value null at '{at}' failed to satisfy constraint: Member must not be null"
        ))),
        Some(op) if !known_operator(op) => Err(enum_error(op, &at, OPERATORS)),
        Some(op) => Ok(op),
    }
}

/// `KeyConditions` (Query): each condition checked like a filter's, then 1 or 2 of them
/// (`Conditions can be of length 1 or 2 only`), as `(attribute, condition)` pairs in name
/// order. Operators no key range can serve (NE, IN, CONTAINS, NULL, ...) fail with
/// `Attempted conditional constraint is not an indexable operation`.
pub fn key_conditions(
    conditions: &HashMap<String, LegacyCondition>,
) -> Result<Vec<(String, SortKeyCondition)>, ApiError> {
    let mut parts = Vec::with_capacity(conditions.len());
    for (attr, c) in sorted(conditions) {
        let op = checked_operator("keyConditions", attr, c)?;
        let args = c.attribute_value_list.as_deref().unwrap_or(&[]);
        check_arguments(op, args)?;
        let first = || args.first().cloned().unwrap_or(AttributeValue::Null);
        let cond = match op {
            "EQ" => Some(SortKeyCondition::Eq(first())),
            "LT" => Some(SortKeyCondition::Lt(first())),
            "LE" => Some(SortKeyCondition::Le(first())),
            "GT" => Some(SortKeyCondition::Gt(first())),
            "GE" => Some(SortKeyCondition::Ge(first())),
            "BEGINS_WITH" => Some(SortKeyCondition::BeginsWith(first())),
            "BETWEEN" => match args {
                [lo, hi] => Some(SortKeyCondition::Between(lo.clone(), hi.clone())),
                _ => None,
            },
            _ => None,
        };
        parts.push((attr.clone(), cond));
    }
    if parts.is_empty() || parts.len() > 2 {
        return Err(ApiError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    parts
        .into_iter()
        .map(|(attr, cond)| match cond {
            Some(c) => Ok((attr, c)),
            None => Err(ApiError::validation(
                "Attempted conditional constraint is not an indexable operation",
            )),
        })
        .collect()
}

/// `AttributeUpdates` (UpdateItem). PUT sets, DELETE without a value removes, DELETE with
/// a set removes elements, ADD adds to a number or set, or appends to a list.
pub fn attribute_updates(
    updates: &HashMap<String, AttributeValueUpdate>,
) -> Result<UpdateExpr, ApiError> {
    let mut actions = Vec::with_capacity(updates.len());
    for (attr, upd) in sorted(updates) {
        check_attribute_name(attr)?;
        let path = vec![PathElem::Attr(attr.clone())];
        let action = upd.action.as_deref().unwrap_or("PUT");
        let no_value =
            || invalid("Only DELETE action is allowed when no attribute value is specified");
        actions.push(match (action, &upd.value) {
            ("PUT", Some(v)) => Action::Set(path, Operand::Value(v.clone())),
            ("DELETE", None) => Action::Remove(path),
            ("DELETE", Some(v)) if v.is_set() => Action::Delete(path, v.clone()),
            ("DELETE", Some(v)) => {
                return Err(invalid(format!(
                    "DELETE action with value is not supported for the type {}",
                    v.type_name()
                )))
            }
            ("ADD", Some(v @ AttributeValue::L(_))) => {
                // Appending to a list, creating it when absent.
                let existing = Operand::IfNotExists(
                    path.clone(),
                    Box::new(Operand::Value(AttributeValue::L(Vec::new()))),
                );
                Action::Set(
                    path,
                    Operand::ListAppend(Box::new(existing), Box::new(Operand::Value(v.clone()))),
                )
            }
            ("ADD", Some(v)) if v.is_set() || matches!(v, AttributeValue::N(_)) => {
                Action::Add(path, v.clone())
            }
            ("ADD", Some(v)) => {
                return Err(invalid(format!(
                    "ADD action is not supported for the type {}",
                    v.type_name()
                )))
            }
            ("PUT" | "ADD", None) => return Err(no_value()),
            (other, _) => {
                return Err(enum_error(
                    other,
                    &format!("attributeUpdates.{attr}.member.action"),
                    "[ADD, PUT, DELETE]",
                ))
            }
        });
    }
    Ok(UpdateExpr::from_legacy_actions(actions))
}

/// `AttributesToGet`: top-level names, no duplicates.
pub fn attributes_to_get(names: &[String]) -> Result<Projection, ApiError> {
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    for name in names {
        if !seen.insert(name.as_str()) {
            return Err(invalid(format!(
                "Duplicate value in attribute name: {name}"
            )));
        }
    }
    Ok(Projection::from_paths(
        names
            .iter()
            .map(|n| vec![PathElem::Attr(n.clone())])
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Item, Number};

    fn n(i: i64) -> AttributeValue {
        AttributeValue::N(Number::from_i64(i))
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn message<T: std::fmt::Debug>(r: Result<T, ApiError>) -> String {
        match r {
            Ok(v) => format!("ok {v:?}"),
            Err(e) => e.message.unwrap_or_default(),
        }
    }

    fn exp(
        value: Option<AttributeValue>,
        exists: Option<bool>,
        op: Option<&str>,
        list: Option<Vec<AttributeValue>>,
    ) -> HashMap<String, ExpectedAttributeValue> {
        let mut m = HashMap::new();
        m.insert(
            "a".to_string(),
            ExpectedAttributeValue {
                value,
                exists,
                comparison_operator: op.map(str::to_string),
                attribute_value_list: list,
            },
        );
        m
    }

    #[test]
    fn expected_messages() {
        let cases = [
            (
                exp(Some(n(1)), None, None, Some(vec![n(1)])),
                "One or more parameter values were invalid: Value and AttributeValueList cannot be used together for Attribute: a",
            ),
            (
                exp(None, None, None, Some(vec![n(1)])),
                "One or more parameter values were invalid: AttributeValueList can only be used with a ComparisonOperator for Attribute: a",
            ),
            (
                exp(None, None, None, None),
                "One or more parameter values were invalid: Value must be provided when Exists is null for Attribute: a",
            ),
            (
                exp(None, Some(true), None, None),
                "One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: a",
            ),
            (
                exp(Some(n(1)), Some(false), None, None),
                "One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: a",
            ),
            (
                exp(None, Some(true), Some("EQ"), Some(vec![n(1)])),
                "One or more parameter values were invalid: Exists and ComparisonOperator cannot be used together for Attribute: a",
            ),
            (
                exp(None, None, Some("LT"), None),
                "One or more parameter values were invalid: Value or AttributeValueList must be used with ComparisonOperator: LT for Attribute: a",
            ),
            (
                exp(None, None, Some("EQ"), Some(vec![])),
                "One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator",
            ),
            (
                exp(None, None, Some("BEGINS_WITH"), Some(vec![n(1)])),
                "One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type",
            ),
            (
                exp(None, None, Some("IN"), Some(vec![n(1), s("x")])),
                "One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type",
            ),
            (
                exp(None, None, Some("BETWEEN"), Some(vec![n(5), n(1)])),
                "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(message(expected_condition(&input, None)), want);
        }
    }

    #[test]
    fn expected_evaluation() {
        let mut item = Item::new();
        item.insert("a".into(), n(5));
        let eval = |e: HashMap<String, ExpectedAttributeValue>| {
            expected_condition(&e, None).map(|c| c.eval(&item))
        };
        assert_eq!(eval(exp(Some(n(5)), None, None, None)), Ok(true));
        assert_eq!(eval(exp(Some(n(6)), Some(true), None, None)), Ok(false));
        assert_eq!(eval(exp(None, Some(false), None, None)), Ok(false));
        assert_eq!(eval(exp(None, None, Some("NOT_NULL"), None)), Ok(true));
        assert_eq!(
            eval(exp(None, None, Some("GT"), Some(vec![n(4)]))),
            Ok(true)
        );
        assert_eq!(
            eval(exp(None, None, Some("BETWEEN"), Some(vec![n(1), n(5)]))),
            Ok(true)
        );
        assert_eq!(
            eval(exp(None, None, Some("IN"), Some(vec![n(1), n(2)]))),
            Ok(false)
        );
        assert_eq!(eval(HashMap::new()), Ok(true));
    }

    #[test]
    fn conditional_operator_or() {
        let mut filter = HashMap::new();
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            filter.insert(
                k.to_string(),
                LegacyCondition {
                    comparison_operator: Some("EQ".into()),
                    attribute_value_list: Some(vec![n(v)]),
                },
            );
        }
        let mut item = Item::new();
        item.insert("b".into(), n(2));
        let and = filter_condition("ScanFilter", &filter, None).map(|c| c.eval(&item));
        let or = filter_condition("ScanFilter", &filter, Some("OR")).map(|c| c.eval(&item));
        assert_eq!((and, or), (Ok(false), Ok(true)));
    }

    #[test]
    fn conditional_operator_needs_two_conditions() {
        let without = "ConditionalOperator cannot be used without Filter or Expected";
        let one =
            "ConditionalOperator can only be used when Filter or Expected has two or more elements";
        assert_eq!(
            message(check_conditional_operator(Some("OR"), None)),
            without
        );
        assert_eq!(
            message(check_conditional_operator(Some("AND"), Some(0))),
            without
        );
        assert_eq!(
            message(check_conditional_operator(Some("AND"), Some(1))),
            one
        );
        assert_eq!(check_conditional_operator(Some("OR"), Some(2)), Ok(()));
        assert_eq!(check_conditional_operator(None, Some(1)), Ok(()));
    }

    #[test]
    fn eq_and_ne_take_every_type() {
        let list = AttributeValue::L(vec![n(1), s("x")]);
        let map = AttributeValue::M(Item::from([("k".to_string(), n(1))]));
        let mut item = Item::new();
        for (k, v) in [
            ("l", list.clone()),
            ("m", map.clone()),
            ("b", AttributeValue::Bool(true)),
            ("z", AttributeValue::Null),
        ] {
            item.insert(k.into(), v);
        }
        let eval = |attr: &str, op: &str, v: AttributeValue| {
            let filter = HashMap::from([(
                attr.to_string(),
                LegacyCondition {
                    comparison_operator: Some(op.into()),
                    attribute_value_list: Some(vec![v]),
                },
            )]);
            filter_condition("ScanFilter", &filter, None).map(|c| c.eval(&item))
        };
        assert_eq!(eval("l", "EQ", list.clone()), Ok(true));
        assert_eq!(eval("m", "EQ", map), Ok(true));
        assert_eq!(eval("b", "EQ", AttributeValue::Bool(true)), Ok(true));
        assert_eq!(eval("b", "NE", AttributeValue::Bool(false)), Ok(true));
        assert_eq!(eval("z", "EQ", AttributeValue::Null), Ok(true));
        assert_eq!(eval("l", "NE", list.clone()), Ok(false));
        assert_eq!(
            message(eval("l", "LT", list)),
            "One or more parameter values were invalid: ComparisonOperator LT is not valid for L AttributeValue type"
        );
    }

    #[test]
    fn key_conditions_shapes() {
        let cond = |op: &str, args: Vec<AttributeValue>| LegacyCondition {
            comparison_operator: Some(op.into()),
            attribute_value_list: Some(args),
        };
        let mut m = HashMap::new();
        m.insert("pk".to_string(), cond("EQ", vec![s("a")]));
        m.insert("sk".to_string(), cond("BETWEEN", vec![n(1), n(2)]));
        assert_eq!(
            key_conditions(&m),
            Ok(vec![
                ("pk".to_string(), SortKeyCondition::Eq(s("a"))),
                ("sk".to_string(), SortKeyCondition::Between(n(1), n(2))),
            ])
        );
        m.insert("x".to_string(), cond("EQ", vec![s("a")]));
        assert_eq!(
            message(key_conditions(&m)),
            "Conditions can be of length 1 or 2 only"
        );
        let mut ne = HashMap::new();
        ne.insert("pk".to_string(), cond("NE", vec![s("a")]));
        assert_eq!(
            message(key_conditions(&ne)),
            "Attempted conditional constraint is not an indexable operation"
        );
    }

    #[test]
    fn attribute_updates_and_attributes_to_get() {
        let upd = |action: Option<&str>, value: Option<AttributeValue>| {
            let mut m = HashMap::new();
            m.insert(
                "a".to_string(),
                AttributeValueUpdate {
                    action: action.map(str::to_string),
                    value,
                },
            );
            m
        };
        assert_eq!(
            message(attribute_updates(&upd(Some("ADD"), Some(s("x"))))),
            "One or more parameter values were invalid: ADD action is not supported for the type S"
        );
        assert_eq!(
            message(attribute_updates(&upd(Some("DELETE"), Some(n(1))))),
            "One or more parameter values were invalid: DELETE action with value is not supported for the type N"
        );
        let unnamed = HashMap::from([(String::new(), AttributeValueUpdate::default())]);
        assert_eq!(
            message(attribute_updates(&unnamed)),
            "One or more parameter values were invalid: Empty attribute name"
        );
        assert_eq!(
            message(attribute_updates(&upd(Some("PUT"), None))),
            "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"
        );
        let mut item = Item::new();
        item.insert("a".into(), n(1));
        let add = attribute_updates(&upd(Some("ADD"), Some(n(2))));
        assert!(add.is_ok());
        if let Ok(u) = add {
            assert!(u.apply(&mut item).is_ok());
        }
        assert_eq!(item.get("a"), Some(&n(3)));
        let del = attribute_updates(&upd(Some("DELETE"), None));
        if let Ok(u) = del {
            assert!(u.apply(&mut item).is_ok());
        }
        assert!(item.is_empty());
        let mismatch = attribute_updates(&upd(
            Some("ADD"),
            Some(AttributeValue::Ss(vec!["x".into()])),
        ));
        let mut numeric = Item::new();
        numeric.insert("a".into(), n(1));
        assert_eq!(
            message(mismatch.and_then(|u| u.apply(&mut numeric))),
            "Type mismatch for attribute to update"
        );
        let list = attribute_updates(&upd(Some("ADD"), Some(AttributeValue::L(vec![n(1)]))));
        if let Ok(u) = list {
            assert!(u.apply(&mut item).is_ok());
            assert!(u.apply(&mut item).is_ok());
        }
        assert_eq!(item.get("a"), Some(&AttributeValue::L(vec![n(1), n(1)])));

        assert_eq!(
            message(attributes_to_get(&["a".into(), "b".into(), "a".into()])),
            "One or more parameter values were invalid: Duplicate value in attribute name: a"
        );
        let p = attributes_to_get(&["a".into()]).map(|p| p.apply(&item));
        assert_eq!(p.map(|i| i.len()), Ok(1));
    }
}
