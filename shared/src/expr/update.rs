//! Applying resolved update actions to an item.
//!
//! Every operand is read from the item as it was before the update (DynamoDB evaluates the
//! whole expression against the old image), so all new values are computed first, from a
//! snapshot, and only then written. REMOVE of list elements uses the original indexes:
//! removals run last and in descending path order, so removing `l[1]` never shifts `l[2]`
//! before it is removed. Writes run in ascending path order, so several SETs past the end
//! of one list append in element-number order (`SET l[9] = :x, l[5] = :y` appends `:y`
//! first), as DynamoDB documents ("the elements are sorted in order by element number");
//! the paths of one update never overlap, so no other write depends on that order.
//! Failures are DynamoDB's run-time ValidationExceptions; on failure the item may be
//! partly modified, so callers apply updates to a copy.

use std::cmp::Ordering;

use super::ast::{Action, Operand};
use super::eval::lookup;
use super::parser::ArithOp;
use super::{Path, PathElem};
use crate::model::value::sort_set;
use crate::model::{AttributeValue, Item};
use crate::wire::error::ApiError;

const INVALID_PATH: &str =
    "The document path provided in the update expression is invalid for update";
const BAD_TYPE: &str = "An operand in the update expression has an incorrect data type";
/// The same failure for legacy AttributeUpdates.
pub(crate) const LEGACY_BAD_TYPE: &str = "Type mismatch for attribute to update";
const MISSING: &str =
    "The provided expression refers to an attribute that does not exist in the item";

fn err(message: &str) -> ApiError {
    ApiError::validation(message)
}

/// Replaces the generic type-mismatch text by `bad_type`.
fn retype(e: ApiError, bad_type: &str) -> ApiError {
    if e.message.as_deref() == Some(BAD_TYPE) {
        err(bad_type)
    } else {
        e
    }
}

/// The default type-mismatch message of UpdateExpression.
pub(crate) const EXPRESSION_BAD_TYPE: &str = BAD_TYPE;

/// A SET value, computed from the old item.
fn set_value(op: &Operand, old: &Item) -> Result<AttributeValue, ApiError> {
    Ok(match op {
        Operand::Path(p) => lookup(old, p).cloned().ok_or_else(|| err(MISSING))?,
        Operand::Value(v) => v.clone(),
        Operand::IfNotExists(p, fallback) => match lookup(old, p) {
            Some(v) => v.clone(),
            None => set_value(fallback, old)?,
        },
        Operand::ListAppend(a, b) => {
            let a = set_value(a, old)?;
            let b = set_value(b, old)?;
            match (a, b) {
                (AttributeValue::L(mut x), AttributeValue::L(y)) => {
                    x.extend(y);
                    AttributeValue::L(x)
                }
                _ => return Err(err(BAD_TYPE)),
            }
        }
        Operand::Arith(kind, a, b) => {
            let a = set_value(a, old)?;
            let b = set_value(b, old)?;
            match (a, b) {
                (AttributeValue::N(x), AttributeValue::N(y)) => {
                    let r = match kind {
                        ArithOp::Plus => x.add(&y),
                        ArithOp::Minus => x.sub(&y),
                    };
                    AttributeValue::N(r.map_err(|e| ApiError::validation(e.message()))?)
                }
                _ => return Err(err(BAD_TYPE)),
            }
        }
        Operand::Size(_) => return Err(err(BAD_TYPE)),
    })
}

/// Union of two sets of the same type (existing order kept, new elements appended).
fn set_union(current: &AttributeValue, add: &AttributeValue) -> Option<AttributeValue> {
    // Hashed, not searched element by element: an ADD of tens of thousands of elements to a
    // set as large took seconds of a runtime thread (quadratic), stalling every request.
    fn merge<T: Eq + std::hash::Hash + Clone>(a: &[T], b: &[T]) -> Vec<T> {
        let mut seen: std::collections::HashSet<&T> = a.iter().collect();
        let mut out = a.to_vec();
        for x in b {
            if seen.insert(x) {
                out.push(x.clone());
            }
        }
        out
    }
    // Sorted again: new members take their place in DynamoDB's set order, and a set
    // stored before sets were kept sorted comes out sorted once it changes.
    Some(sort_set(match (current, add) {
        (AttributeValue::Ss(a), AttributeValue::Ss(b)) => AttributeValue::Ss(merge(a, b)),
        (AttributeValue::Ns(a), AttributeValue::Ns(b)) => AttributeValue::Ns(merge(a, b)),
        (AttributeValue::Bs(a), AttributeValue::Bs(b)) => AttributeValue::Bs(merge(a, b)),
        _ => return None,
    }))
}

/// Difference of two sets of the same type; `Some(None)` when nothing is left.
fn set_difference(
    current: &AttributeValue,
    remove: &AttributeValue,
) -> Option<Option<AttributeValue>> {
    fn diff<T: Eq + std::hash::Hash + Clone>(a: &[T], b: &[T]) -> Vec<T> {
        let gone: std::collections::HashSet<&T> = b.iter().collect();
        a.iter().filter(|x| !gone.contains(x)).cloned().collect()
    }
    let out = match (current, remove) {
        (AttributeValue::Ss(a), AttributeValue::Ss(b)) => {
            let d = diff(a, b);
            (!d.is_empty()).then_some(AttributeValue::Ss(d))
        }
        (AttributeValue::Ns(a), AttributeValue::Ns(b)) => {
            let d = diff(a, b);
            (!d.is_empty()).then_some(AttributeValue::Ns(d))
        }
        (AttributeValue::Bs(a), AttributeValue::Bs(b)) => {
            let d = diff(a, b);
            (!d.is_empty()).then_some(AttributeValue::Bs(d))
        }
        _ => return None,
    };
    Some(out)
}

/// The container holding the last element of `path`, for writing.
fn parent_mut<'a>(
    item: &'a mut Item,
    path: &Path,
) -> Result<Option<&'a mut AttributeValue>, ApiError> {
    let Some((PathElem::Attr(first), rest)) = path.split_first() else {
        return Err(err(INVALID_PATH));
    };
    if rest.is_empty() {
        return Ok(None);
    }
    let mut cur = item.get_mut(first).ok_or_else(|| err(INVALID_PATH))?;
    for elem in &rest[..rest.len() - 1] {
        cur = match (elem, cur) {
            (PathElem::Attr(name), AttributeValue::M(m)) => {
                m.get_mut(name).ok_or_else(|| err(INVALID_PATH))?
            }
            (PathElem::Index(i), AttributeValue::L(l)) => {
                l.get_mut(*i).ok_or_else(|| err(INVALID_PATH))?
            }
            _ => return Err(err(INVALID_PATH)),
        };
    }
    Ok(Some(cur))
}

/// Writes `value` at `path`; an index past the end of a list appends.
fn assign(item: &mut Item, path: &Path, value: AttributeValue) -> Result<(), ApiError> {
    let last = path.last().cloned();
    match (parent_mut(item, path)?, last) {
        (None, Some(PathElem::Attr(name))) => {
            item.insert(name, value);
        }
        (Some(AttributeValue::M(m)), Some(PathElem::Attr(name))) => {
            m.insert(name, value);
        }
        (Some(AttributeValue::L(l)), Some(PathElem::Index(i))) => {
            if let Some(slot) = l.get_mut(i) {
                *slot = value;
            } else {
                l.push(value);
            }
        }
        _ => return Err(err(INVALID_PATH)),
    }
    Ok(())
}

/// Removes the value at `path`; a missing last element is not an error.
fn remove(item: &mut Item, path: &Path) -> Result<(), ApiError> {
    let last = path.last().cloned();
    match (parent_mut(item, path)?, last) {
        (None, Some(PathElem::Attr(name))) => {
            item.remove(&name);
        }
        (Some(AttributeValue::M(m)), Some(PathElem::Attr(name))) => {
            m.remove(&name);
        }
        (Some(AttributeValue::L(l)), Some(PathElem::Index(i))) => {
            if i < l.len() {
                l.remove(i);
            }
        }
        _ => return Err(err(INVALID_PATH)),
    }
    Ok(())
}

/// Orders paths element by element, indexes numerically.
fn path_order(a: &Path, b: &Path) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let o = match (x, y) {
            (PathElem::Attr(p), PathElem::Attr(q)) => p.cmp(q),
            (PathElem::Index(p), PathElem::Index(q)) => p.cmp(q),
            (PathElem::Attr(_), PathElem::Index(_)) => Ordering::Less,
            (PathElem::Index(_), PathElem::Attr(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Applies `actions` to `item` (see the module docs for the order).
/// `bad_type` is the message for a mismatched operand type ([`LEGACY_BAD_TYPE`] for
/// AttributeUpdates).
pub(crate) fn apply(actions: &[Action], item: &mut Item, bad_type: &str) -> Result<(), ApiError> {
    // Values computed from the old item, written once all are known.
    let mut puts: Vec<(&Path, AttributeValue)> = Vec::with_capacity(actions.len());
    let mut removals: Vec<&Path> = Vec::new();
    {
        let old: &Item = item;
        for action in actions {
            match action {
                Action::Set(path, op) => {
                    puts.push((path, set_value(op, old).map_err(|e| retype(e, bad_type))?))
                }
                Action::Remove(path) => removals.push(path),
                Action::Add(path, value) => {
                    let new = match (lookup(old, path), value) {
                        (None, v) => v.clone(),
                        (Some(AttributeValue::N(a)), AttributeValue::N(b)) => AttributeValue::N(
                            a.add(b).map_err(|e| ApiError::validation(e.message()))?,
                        ),
                        (Some(current), v) => set_union(current, v).ok_or_else(|| err(bad_type))?,
                    };
                    puts.push((path, new));
                }
                Action::Delete(path, value) => match lookup(old, path) {
                    None => {}
                    Some(current) => match set_difference(current, value) {
                        None => return Err(err(bad_type)),
                        Some(Some(v)) => puts.push((path, v)),
                        Some(None) => removals.push(path),
                    },
                },
            }
        }
    }
    // A DELETE on a missing nested path still needs a valid parent, like DynamoDB.
    for action in actions {
        if let Action::Delete(path, _) = action {
            if lookup(item, path).is_none() {
                parent_mut(item, path)?;
            }
        }
    }
    puts.sort_by(|(a, _), (b, _)| path_order(a, b));
    for (path, value) in puts {
        assign(item, path, value)?;
    }
    removals.sort_by(|a, b| path_order(b, a));
    for path in removals {
        remove(item, path)?;
    }
    Ok(())
}
