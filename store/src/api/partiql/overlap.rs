//! DynamoDB's refusal of a SELECT whose OR branches read overlapping parts of one
//! partition: "Overlapping conditions with range keys are not supported in where clause".
//!
//! DynamoDB reads a keyed SELECT as the branches of its WHERE in disjunctive normal form:
//! each names a partition (an equality on the partition key; an `IN` is a branch per value)
//! and a range of the sort key (the comparisons, BETWEEN and begins_with on it, intersected;
//! the whole partition without any). Two branches on one partition whose ranges meet are
//! refused: `pk = 'a' AND x = '1' OR pk = 'a' AND sk = '2'` (the dynamodb-conformance
//! suite's partiqlGrammar captures). There is nothing to refuse where a branch names no
//! partition (the statement is a Scan), nor where a branch holds a sort-key condition no
//! range expresses (`NOT sk = '1'`, `sk <> '1'`): DynamoDB runs those and returns the union
//! of the branches (its tier2/partiql/whereOverlap captures), as a filtered read does here.

use shared::model::{AttributeValue, KeySchema, Number};
use shared::partiql::ast::{CmpOp, Condition, Literal, Operand};
use shared::partiql::bind::bind;
use shared::wire::error::ApiError;

use super::plan::mentions;

const OVERLAPPING: &str =
    "Overlapping conditions with range keys are not supported in where clause";

/// More branches than any real statement has: past them the check is skipped, not the
/// statement refused.
const MAX_BRANCHES: usize = 100;

/// Refuses `condition`, the WHERE of a SELECT on a table or index of `schema`, when two of
/// its branches read overlapping parts of one partition.
pub fn refuse_overlap(
    condition: &Condition,
    schema: &KeySchema,
    params: &[AttributeValue],
) -> Result<(), ApiError> {
    let Some(range) = &schema.range else {
        return Ok(());
    };
    let keys = Keys {
        hash: &schema.hash.name,
        range: &range.name,
        params,
    };
    let Some(branches) = keys.branches(condition) else {
        return Ok(());
    };
    let branches: Vec<Branch> = branches.into_iter().filter(|b| b.reads()).collect();
    if branches.iter().any(|b| b.partition.is_none() || b.unranged) {
        return Ok(());
    }
    for (i, a) in branches.iter().enumerate() {
        for b in &branches[i + 1..] {
            if a.partition == b.partition && a.range.meets(&b.range) {
                return Err(ApiError::validation(OVERLAPPING));
            }
        }
    }
    Ok(())
}

/// A sort-key value in DynamoDB's order: a number, or the bytes of a string or binary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Number(Number),
    Bytes(Vec<u8>),
}

impl Key {
    fn of(value: AttributeValue) -> Option<Key> {
        match value {
            AttributeValue::N(n) => Some(Key::Number(n)),
            AttributeValue::S(s) => Some(Key::Bytes(s.into_bytes())),
            AttributeValue::B(b) => Some(Key::Bytes(b)),
            _ => None,
        }
    }

    /// The least value above every value that begins with this one, if there is one.
    fn after_prefix(&self) -> Option<Key> {
        let Key::Bytes(bytes) = self else {
            return None;
        };
        let mut next = bytes.clone();
        while next.last() == Some(&u8::MAX) {
            next.pop();
        }
        *next.last_mut()? += 1;
        Some(Key::Bytes(next))
    }
}

#[derive(Debug, Clone)]
struct Bound {
    key: Key,
    inclusive: bool,
}

/// An interval of sort-key values; an absent bound is open.
#[derive(Debug, Clone, Default)]
struct Range {
    low: Option<Bound>,
    high: Option<Bound>,
}

impl Range {
    fn point(key: Key) -> Range {
        let bound = Bound {
            key,
            inclusive: true,
        };
        Range {
            low: Some(bound.clone()),
            high: Some(bound),
        }
    }

    /// The values both ranges hold.
    fn and(&self, other: &Range) -> Range {
        Range {
            low: tighter(&self.low, &other.low, std::cmp::Ordering::Greater),
            high: tighter(&self.high, &other.high, std::cmp::Ordering::Less),
        }
    }

    fn is_empty(&self) -> bool {
        match (&self.low, &self.high) {
            (Some(low), Some(high)) => {
                low.key > high.key || (low.key == high.key && !(low.inclusive && high.inclusive))
            }
            _ => false,
        }
    }

    fn meets(&self, other: &Range) -> bool {
        !self.and(other).is_empty()
    }
}

/// Of two bounds on one side, the one that excludes more: the further in direction `more`.
fn tighter(a: &Option<Bound>, b: &Option<Bound>, more: std::cmp::Ordering) -> Option<Bound> {
    match (a, b) {
        (None, other) | (other, None) => other.clone(),
        (Some(a), Some(b)) => Some(match a.key.cmp(&b.key) {
            std::cmp::Ordering::Equal => Bound {
                key: a.key.clone(),
                inclusive: a.inclusive && b.inclusive,
            },
            order if order == more => a.clone(),
            _ => b.clone(),
        }),
    }
}

/// One branch of a WHERE: the conjunction of some of its conditions.
#[derive(Debug, Clone, Default)]
struct Branch {
    /// The partition its partition-key equality names.
    partition: Option<Key>,
    /// Equalities naming two partitions: the branch reads nothing.
    contradictory: bool,
    range: Range,
    /// It holds a sort-key condition that no range expresses.
    unranged: bool,
}

impl Branch {
    /// Whether the branch can read anything at all.
    fn reads(&self) -> bool {
        !self.contradictory && !self.range.is_empty()
    }

    /// Both branches at once.
    fn and(&self, other: &Branch) -> Branch {
        let (partition, contradictory) = match (&self.partition, &other.partition) {
            (Some(a), Some(b)) => (Some(a.clone()), a != b),
            (a, b) => (a.clone().or_else(|| b.clone()), false),
        };
        Branch {
            partition,
            contradictory: contradictory || self.contradictory || other.contradictory,
            range: self.range.and(&other.range),
            unranged: self.unranged || other.unranged,
        }
    }
}

/// The key attributes a WHERE is read against, and the statement's parameters.
struct Keys<'a> {
    hash: &'a str,
    range: &'a str,
    params: &'a [AttributeValue],
}

impl Keys<'_> {
    /// The branches of `condition`, or `None` past [`MAX_BRANCHES`].
    fn branches(&self, condition: &Condition) -> Option<Vec<Branch>> {
        let branches = match condition {
            Condition::Or(a, b) => {
                let mut branches = self.branches(a)?;
                branches.extend(self.branches(b)?);
                branches
            }
            Condition::And(a, b) => {
                let (a, b) = (self.branches(a)?, self.branches(b)?);
                if a.len() * b.len() > MAX_BRANCHES {
                    return None;
                }
                a.iter().flat_map(|x| b.iter().map(|y| x.and(y))).collect()
            }
            other => self.leaf(other),
        };
        (branches.len() <= MAX_BRANCHES).then_some(branches)
    }

    /// The branches of a condition that is neither an AND nor an OR.
    fn leaf(&self, condition: &Condition) -> Vec<Branch> {
        if let Condition::In(Operand::Path(p), list) = condition {
            let values: Option<Vec<Key>> = list.iter().map(|o| self.key_operand(o)).collect();
            if let Some(values) = values {
                if p.is_attribute(self.hash) {
                    return values.into_iter().map(|v| self.on_partition(v)).collect();
                }
                if p.is_attribute(self.range) {
                    return values
                        .into_iter()
                        .map(|v| self.in_range(Range::point(v)))
                        .collect();
                }
            }
        }
        if let Some((name, literal)) = condition.equality() {
            if name == self.hash {
                if let Some(key) = self.key(literal) {
                    return vec![self.on_partition(key)];
                }
            }
        }
        if let Some(range) = self.sort_range(condition) {
            return vec![self.in_range(range)];
        }
        vec![Branch {
            unranged: mentions(condition, self.range),
            ..Branch::default()
        }]
    }

    fn on_partition(&self, key: Key) -> Branch {
        Branch {
            partition: Some(key),
            ..Branch::default()
        }
    }

    fn in_range(&self, range: Range) -> Branch {
        Branch {
            range,
            ..Branch::default()
        }
    }

    /// The range a comparison, BETWEEN or begins_with on the sort key holds it to.
    fn sort_range(&self, condition: &Condition) -> Option<Range> {
        let is_sort = |o: &Operand| matches!(o, Operand::Path(p) if p.is_attribute(self.range));
        match condition {
            Condition::Compare(a, cmp, b) if is_sort(a) => self.compared(*cmp, b),
            Condition::Compare(a, cmp, b) if is_sort(b) => self.compared(cmp.swapped(), a),
            Condition::Between(a, low, high) if is_sort(a) => Some(Range {
                low: Some(Bound {
                    key: self.key_operand(low)?,
                    inclusive: true,
                }),
                high: Some(Bound {
                    key: self.key_operand(high)?,
                    inclusive: true,
                }),
            }),
            Condition::Function(name, args) if name == "begins_with" => match args.as_slice() {
                [a, prefix] if is_sort(a) => {
                    let prefix = self.key_operand(prefix)?;
                    let high = prefix.after_prefix().map(|key| Bound {
                        key,
                        inclusive: false,
                    });
                    Some(Range {
                        low: Some(Bound {
                            key: prefix,
                            inclusive: true,
                        }),
                        high,
                    })
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The range `sk <cmp> value` holds the sort key to (`<>` holds it to none).
    fn compared(&self, cmp: CmpOp, value: &Operand) -> Option<Range> {
        let key = self.key_operand(value)?;
        let bound = |inclusive| {
            Some(Bound {
                key: key.clone(),
                inclusive,
            })
        };
        Some(match cmp {
            CmpOp::Eq => Range::point(key.clone()),
            CmpOp::Lt => Range {
                low: None,
                high: bound(false),
            },
            CmpOp::Le => Range {
                low: None,
                high: bound(true),
            },
            CmpOp::Gt => Range {
                low: bound(false),
                high: None,
            },
            CmpOp::Ge => Range {
                low: bound(true),
                high: None,
            },
            CmpOp::Ne => return None,
        })
    }

    fn key_operand(&self, operand: &Operand) -> Option<Key> {
        match operand {
            Operand::Literal(literal) => self.key(literal),
            _ => None,
        }
    }

    /// A literal's value as a key; one that does not bind is left to the read to refuse.
    fn key(&self, literal: &Literal) -> Option<Key> {
        Key::of(bind(literal, self.params).ok()?)
    }
}
