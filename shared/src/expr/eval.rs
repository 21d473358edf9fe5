//! Evaluation of resolved conditions against a borrowed item.
//!
//! DynamoDB's rules: a comparison between different types, or involving a missing
//! attribute, is false, except `<>`, which is true when either side is missing (both
//! included: `a <> b` holds when neither exists) or the types differ. Ordering (`<`,
//! `BETWEEN`) is defined only between two strings (by UTF-8 bytes), two numbers
//! (numerically) or two binaries (by unsigned bytes). Set equality
//! ignores element order (that is `AttributeValue`'s `==`). Evaluation never fails: any
//! type mismatch simply makes the condition false.
//!
//! Recursion follows the condition tree, whose depth the parser bounds (by its nesting cap
//! and the 300-operator limit; AND/OR chains are built balanced, from legacy maps too).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::ast::{Cond, Operand};
use super::parser::CmpOp;
use super::{Path, PathElem};
use crate::model::{AttributeValue, Item, Number};

/// The value at `path` in `item`, if every step exists with the right container type.
pub(crate) fn lookup<'a>(item: &'a Item, path: &Path) -> Option<&'a AttributeValue> {
    let mut elems = path.iter();
    let mut cur = match elems.next()? {
        PathElem::Attr(name) => item.get(name)?,
        PathElem::Index(_) => return None,
    };
    for elem in elems {
        cur = match (elem, cur) {
            (PathElem::Attr(name), AttributeValue::M(m)) => m.get(name)?,
            (PathElem::Index(i), AttributeValue::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// DynamoDB's order between two scalars of the same type; `None` otherwise.
pub(crate) fn compare_values(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.as_slice().cmp(y.as_slice())),
        _ => None,
    }
}

/// `size()`: bytes of a string or binary, element count of a set, list or map, as a
/// number; `None` for the other types.
pub(crate) fn size_of(value: &AttributeValue) -> Option<AttributeValue> {
    let n = match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(v) => v.len(),
        AttributeValue::Ns(v) => v.len(),
        AttributeValue::Bs(v) => v.len(),
        AttributeValue::L(v) => v.len(),
        AttributeValue::M(v) => v.len(),
        _ => return None,
    };
    Some(AttributeValue::N(Number::from_u64(n as u64)))
}

/// The value of an operand, `None` when it refers to something missing.
pub(crate) fn operand<'a>(op: &'a Operand, item: &'a Item) -> Option<Cow<'a, AttributeValue>> {
    match op {
        Operand::Path(p) => lookup(item, p).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(p) => size_of(lookup(item, p)?).map(Cow::Owned),
        // SET-only operands never appear in conditions.
        Operand::IfNotExists(..) | Operand::ListAppend(..) | Operand::Arith(..) => None,
    }
}

fn compare(op: CmpOp, a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> bool {
    match op {
        CmpOp::Eq => matches!((a, b), (Some(x), Some(y)) if x == y),
        CmpOp::Ne => match (a, b) {
            (Some(x), Some(y)) => x != y,
            _ => true,
        },
        _ => {
            let (Some(x), Some(y)) = (a, b) else {
                return false;
            };
            let Some(ord) = compare_values(x, y) else {
                return false;
            };
            match op {
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                CmpOp::Ge => ord != Ordering::Less,
                CmpOp::Eq | CmpOp::Ne => false,
            }
        }
    }
}

fn begins_with(a: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (a, prefix) {
        (AttributeValue::S(s), AttributeValue::S(p)) => s.as_bytes().starts_with(p.as_bytes()),
        (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
        _ => false,
    }
}

fn contains(a: &AttributeValue, x: &AttributeValue) -> bool {
    match (a, x) {
        (AttributeValue::S(s), AttributeValue::S(sub)) => s.contains(sub.as_str()),
        // A binary contains a subsequence of bytes (the empty one included).
        (AttributeValue::B(b), AttributeValue::B(sub)) => {
            sub.is_empty() || b.windows(sub.len()).any(|w| w == sub.as_slice())
        }
        (AttributeValue::Ss(set), AttributeValue::S(e)) => set.iter().any(|s| s == e),
        (AttributeValue::Ns(set), AttributeValue::N(e)) => set.iter().any(|n| n == e),
        (AttributeValue::Bs(set), AttributeValue::B(e)) => set.iter().any(|b| b == e),
        (AttributeValue::L(list), e) => list.iter().any(|v| v == e),
        _ => false,
    }
}

/// Evaluates a condition against an item.
pub(crate) fn cond(c: &Cond, item: &Item) -> bool {
    match c {
        Cond::Compare(op, a, b) => {
            let a = operand(a, item);
            let b = operand(b, item);
            compare(*op, a.as_deref(), b.as_deref())
        }
        Cond::Between(a, lo, hi) => {
            let (Some(a), Some(lo), Some(hi)) =
                (operand(a, item), operand(lo, item), operand(hi, item))
            else {
                return false;
            };
            matches!(
                compare_values(&lo, &a),
                Some(Ordering::Less | Ordering::Equal)
            ) && matches!(
                compare_values(&a, &hi),
                Some(Ordering::Less | Ordering::Equal)
            )
        }
        Cond::In(a, list) => {
            let Some(a) = operand(a, item) else {
                return false;
            };
            list.iter()
                .any(|o| operand(o, item).is_some_and(|v| *v == *a))
        }
        Cond::Exists(p) => lookup(item, p).is_some(),
        Cond::NotExists(p) => lookup(item, p).is_none(),
        Cond::IsType(p, ty) => match (lookup(item, p), operand(ty, item).as_deref()) {
            (Some(v), Some(AttributeValue::S(t))) => v.type_name() == t,
            _ => false,
        },
        Cond::BeginsWith(a, b) => match (operand(a, item), operand(b, item)) {
            (Some(a), Some(b)) => begins_with(&a, &b),
            _ => false,
        },
        Cond::Contains(a, b) => match (operand(a, item), operand(b, item)) {
            (Some(a), Some(b)) => contains(&a, &b),
            _ => false,
        },
        Cond::And(a, b) => cond(a, item) && cond(b, item),
        Cond::Or(a, b) => cond(a, item) || cond(b, item),
        Cond::Not(a) => !cond(a, item),
        Cond::Const(b) => *b,
    }
}
