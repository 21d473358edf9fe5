//! The resolved expression trees that evaluation works on.
//!
//! Names are substituted and values copied in, so a tree no longer depends on the request
//! that produced it (a Condition can be cached or moved to another thread). Only shapes
//! that passed every static check exist here: for example a `Size` always holds a path,
//! and `Action::Add` always holds a number or set.

use super::parser::{ArithOp, CmpOp};
use super::{Path, PathElem};
use crate::model::AttributeValue;

/// An operand of a condition or SET value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Path(Path),
    Value(AttributeValue),
    /// `size(path)`.
    Size(Path),
    /// `if_not_exists(path, fallback)` (SET only).
    IfNotExists(Path, Box<Operand>),
    /// `list_append(a, b)` (SET only).
    ListAppend(Box<Operand>, Box<Operand>),
    /// `a + b` / `a - b` (SET only).
    Arith(ArithOp, Box<Operand>, Box<Operand>),
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    Compare(CmpOp, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    IsType(Path, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    /// A constant (an empty legacy condition map is `true`).
    Const(bool),
}

/// One update action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Set(Path, Operand),
    Remove(Path),
    /// ADD of a number or set.
    Add(Path, AttributeValue),
    /// DELETE of a set.
    Delete(Path, AttributeValue),
}

impl Action {
    pub fn path(&self) -> &Path {
        match self {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        }
    }
}

/// A path as DynamoDB prints it in messages: `[a, b, [0]]`.
pub(crate) fn path_text(path: &Path) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|e| match e {
            PathElem::Attr(name) => name.clone(),
            PathElem::Index(i) => format!("[{i}]"),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A value as DynamoDB prints it in BETWEEN messages: `{N:5}`, `{S:abc}`.
pub(crate) fn value_text(value: &AttributeValue) -> String {
    use base64::Engine as _;
    match value {
        AttributeValue::S(s) => format!("{{S:{s}}}"),
        AttributeValue::N(n) => format!("{{N:{}}}", n.as_str()),
        AttributeValue::B(b) => format!(
            "{{B:{}}}",
            base64::engine::general_purpose::STANDARD.encode(b)
        ),
        other => format!("{{{}}}", other.type_name()),
    }
}

/// The long type name DynamoDB uses in ADD/DELETE operand messages (`STRING`).
pub(crate) fn long_type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "STRING",
        AttributeValue::N(_) => "NUMBER",
        AttributeValue::B(_) => "BINARY",
        AttributeValue::Bool(_) => "BOOLEAN",
        AttributeValue::Null => "NULL",
        AttributeValue::M(_) => "MAP",
        AttributeValue::L(_) => "LIST",
        AttributeValue::Ss(_) => "STRING_SET",
        AttributeValue::Ns(_) => "NUMBER_SET",
        AttributeValue::Bs(_) => "BINARY_SET",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_paths_and_values() {
        let p = vec![
            PathElem::Attr("a".into()),
            PathElem::Index(0),
            PathElem::Attr("b".into()),
        ];
        assert_eq!(path_text(&p), "[a, [0], b]");
        assert_eq!(value_text(&AttributeValue::S("x".into())), "{S:x}");
        assert_eq!(value_text(&AttributeValue::B(vec![1, 2])), "{B:AQI=}");
        assert_eq!(long_type_name(&AttributeValue::S("x".into())), "STRING");
    }
}
