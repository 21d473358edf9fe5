//! From the raw syntax tree to the resolved tree: substitutes `#name` and `:value`, and
//! applies DynamoDB's static rules (reserved words, function names and arity, operand
//! types, BETWEEN bounds, distinct operands, overlapping paths).
//!
//! Like DynamoDB, the whole tree is walked even after a failure, and the error reported is
//! the first one of the highest-ranked category: reserved word, then undefined attribute
//! name, then undefined attribute value, then unknown function, then everything else in
//! the order met. That way `name = :missing` reports the reserved word whatever the
//! textual order. Failed nodes are replaced by harmless placeholders and never evaluated.
//!
//! A key condition is the exception: DynamoDB walks its clauses in the order written and
//! reports an undefined value or an operand of the wrong type, whichever it meets first
//! (the dynamodb-conformance suite's tier3/validation-ordering/queryKeyCondition.test.ts,
//! eu-west-2, October 2026), so there an undefined value ranks with everything else.

use std::cmp::Ordering;

use super::ast::{path_text, value_text, Action, Cond, Operand};
use super::eval::{compare_values, size_of};
use super::parser::{ArithOp, CmpOp, RawAction, RawCond, RawElem, RawOperand, RawPath};
use super::reserved::is_reserved;
use super::{Path, PathElem, Substitutions};
use crate::model::AttributeValue;

/// Error categories, highest rank first. Repeated operands are found while parsing in
/// DynamoDB, so they outrank even reserved words (`contains(name, name)`).
const DISTINCT: usize = 0;
const RESERVED: usize = 1;
const NAME: usize = 2;
const VALUE: usize = 3;
const FUNCTION: usize = 4;
const OTHER: usize = 5;

/// Most operands `IN` accepts after the first.
pub(crate) const MAX_IN_OPERANDS: usize = 100;

const VALID_TYPES: [&str; 10] = ["S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL", "L", "M"];

/// The functions that are conditions by themselves.
const CONDITION_FUNCTIONS: [&str; 5] = [
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
];

/// The functions only a SET value may use.
const UPDATE_FUNCTIONS: [&str; 2] = ["if_not_exists", "list_append"];

/// Resolves raw trees against one request's substitutions, collecting errors.
pub(crate) struct Resolver<'s, 'a> {
    subs: &'s Substitutions<'a>,
    errors: [Option<String>; 6],
    /// The category an undefined value is reported in.
    value_rank: usize,
}

fn count_error(function: &str, n: usize) -> String {
    format!(
        "Incorrect number of operands for operator or function; operator or function: {function}, number of operands: {n}"
    )
}

fn operand_type_error(function: &str, value: &AttributeValue) -> String {
    format!(
        "Incorrect operand type for operator or function; operator or function: {function}, operand type: {}",
        value.type_name()
    )
}

fn needs_path_error(function: &str) -> String {
    format!("Operator or function requires a document path; operator or function: {function}")
}

fn is_scalar(value: &AttributeValue) -> bool {
    matches!(
        value,
        AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
    )
}

impl<'s, 'a> Resolver<'s, 'a> {
    pub fn new(subs: &'s Substitutions<'a>) -> Self {
        Resolver {
            subs,
            errors: Default::default(),
            value_rank: VALUE,
        }
    }

    /// Reports undefined values in the order met among the other errors, as a key
    /// condition does (see the module notes).
    pub fn values_in_text_order(self) -> Self {
        Resolver {
            value_rank: OTHER,
            ..self
        }
    }

    fn note(&mut self, category: usize, message: String) {
        if let Some(slot) = self.errors.get_mut(category) {
            if slot.is_none() {
                *slot = Some(message);
            }
        }
    }

    /// The error to report, if any.
    pub fn finish(self) -> Result<(), String> {
        match self.errors.into_iter().flatten().next() {
            Some(message) => Err(message),
            None => Ok(()),
        }
    }

    // ------------------------------------------------------------ names and values

    pub fn path(&mut self, raw: &RawPath) -> Path {
        raw.elems
            .iter()
            .map(|e| match e {
                RawElem::Name(name) => {
                    if is_reserved(name) {
                        self.note(
                            RESERVED,
                            format!("Attribute name is a reserved keyword; reserved keyword: {name}"),
                        );
                    }
                    PathElem::Attr(name.clone())
                }
                RawElem::NameRef(r) => match self.subs.name(r) {
                    Some(name) => PathElem::Attr(name),
                    None => {
                        self.note(
                            NAME,
                            format!(
                                "An expression attribute name used in the document path is not defined; attribute name: {r}"
                            ),
                        );
                        PathElem::Attr(r.clone())
                    }
                },
                RawElem::Index(i) => PathElem::Index(*i),
            })
            .collect()
    }

    pub fn value(&mut self, r: &str) -> AttributeValue {
        match self.subs.value(r) {
            Some(v) => v,
            None => {
                self.note(
                    self.value_rank,
                    format!(
                        "An expression attribute value used in expression is not defined; attribute value: {r}"
                    ),
                );
                AttributeValue::Null
            }
        }
    }

    /// Resolves the arguments of a call that is rejected anyway, so that their names and
    /// values still count as used and their own errors still rank.
    fn discard_args(&mut self, args: &[RawOperand]) {
        for a in args {
            let _ = self.cond_operand(a);
        }
    }

    fn unknown_function(&mut self, name: &str) {
        self.note(FUNCTION, format!("Invalid function name; function: {name}"));
    }

    // ------------------------------------------------------------ conditions

    /// An operand of a comparison, BETWEEN, IN or function argument.
    fn cond_operand(&mut self, raw: &RawOperand) -> Operand {
        match raw {
            RawOperand::Paren(inner) => {
                self.check_paren(inner);
                self.cond_operand(inner)
            }
            RawOperand::Path(p) => Operand::Path(self.path(p)),
            RawOperand::Value(v) => Operand::Value(self.value(v)),
            RawOperand::Call { name, args } if name == "size" => {
                let resolved: Vec<Operand> = args.iter().map(|a| self.cond_operand(a)).collect();
                if resolved.len() != 1 {
                    self.note(OTHER, count_error("size", resolved.len()));
                    return Operand::Value(AttributeValue::Null);
                }
                match resolved.into_iter().next() {
                    Some(Operand::Path(p)) => Operand::Size(p),
                    // The size of a value is known now.
                    Some(Operand::Value(v)) => Operand::Value(size_of(&v).unwrap_or_else(|| {
                        self.note(OTHER, operand_type_error("size", &v));
                        AttributeValue::Null
                    })),
                    _ => {
                        self.note(OTHER, needs_path_error("size"));
                        Operand::Value(AttributeValue::Null)
                    }
                }
            }
            RawOperand::Call { name, args } => {
                self.discard_args(args);
                if CONDITION_FUNCTIONS.contains(&name.as_str()) {
                    self.note(
                        OTHER,
                        format!(
                            "The function is not allowed to be used this way in an expression; function: {name}"
                        ),
                    );
                } else if UPDATE_FUNCTIONS.contains(&name.as_str()) {
                    self.note(
                        OTHER,
                        format!(
                            "The function is not allowed in a condition expression; function: {name}"
                        ),
                    );
                } else {
                    self.unknown_function(name);
                }
                Operand::Value(AttributeValue::Null)
            }
            RawOperand::Arith(_, a, b) => {
                let _ = self.cond_operand(a);
                let _ = self.cond_operand(b);
                Operand::Value(AttributeValue::Null)
            }
        }
    }

    /// `((x))`: parentheses directly around parentheses.
    fn check_paren(&mut self, inner: &RawOperand) {
        if matches!(inner, RawOperand::Paren(_)) {
            self.note(
                OTHER,
                "The expression has redundant parentheses;".to_string(),
            );
        }
    }

    /// `The first operand must be distinct ...` when the first operand is the same path
    /// as any other.
    fn check_distinct(&mut self, op: &str, first: &Operand, others: &[&Operand]) {
        if let Operand::Path(p) = first {
            if others
                .iter()
                .any(|o| matches!(o, Operand::Path(q) if q == p))
            {
                self.note(
                    DISTINCT,
                    format!(
                        "The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {}",
                        path_text(p)
                    ),
                );
            }
        }
    }

    /// Ordering operators and BETWEEN take only scalar literals.
    fn check_scalar_literal(&mut self, op: &str, operand: &Operand) {
        if let Operand::Value(v) = operand {
            if !is_scalar(v) {
                self.note(OTHER, operand_type_error(op, v));
            }
        }
    }

    pub fn cond(&mut self, raw: &RawCond) -> Cond {
        match raw {
            RawCond::Compare(op, l, r) => {
                let lhs = self.cond_operand(l);
                let rhs = self.cond_operand(r);
                if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    self.check_scalar_literal(op.symbol(), &lhs);
                    self.check_scalar_literal(op.symbol(), &rhs);
                }
                self.check_distinct(op.symbol(), &lhs, &[&rhs]);
                Cond::Compare(*op, lhs, rhs)
            }
            RawCond::Between(a, lo, hi) => {
                let a = self.cond_operand(a);
                let lo = self.cond_operand(lo);
                let hi = self.cond_operand(hi);
                for o in [&a, &lo, &hi] {
                    self.check_scalar_literal("BETWEEN", o);
                }
                self.check_distinct("BETWEEN", &a, &[&lo, &hi]);
                if let (Operand::Value(l), Operand::Value(h)) = (&lo, &hi) {
                    if let Some(message) = between_bounds_error(l, h) {
                        self.note(OTHER, message);
                    }
                }
                Cond::Between(a, lo, hi)
            }
            RawCond::In(a, list) => {
                let a = self.cond_operand(a);
                let list: Vec<Operand> = list.iter().map(|o| self.cond_operand(o)).collect();
                if list.len() > MAX_IN_OPERANDS {
                    self.note(OTHER, count_error("IN", list.len() + 1));
                }
                let others: Vec<&Operand> = list.iter().collect();
                self.check_distinct("IN", &a, &others);
                Cond::In(a, list)
            }
            RawCond::Function(call) => self.function_cond(call),
            RawCond::And(l, r) => Cond::And(Box::new(self.cond(l)), Box::new(self.cond(r))),
            RawCond::Or(l, r) => Cond::Or(Box::new(self.cond(l)), Box::new(self.cond(r))),
            RawCond::Not(c) => Cond::Not(Box::new(self.cond(c))),
            RawCond::Parens(inner) => {
                if matches!(**inner, RawCond::Parens(_)) {
                    self.note(
                        OTHER,
                        "The expression has redundant parentheses;".to_string(),
                    );
                }
                self.cond(inner)
            }
        }
    }

    fn function_cond(&mut self, call: &RawOperand) -> Cond {
        let RawOperand::Call { name, args } = call else {
            let _ = self.cond_operand(call);
            return Cond::Const(false);
        };
        let name = name.as_str();
        match name {
            "attribute_exists"
            | "attribute_not_exists"
            | "attribute_type"
            | "begins_with"
            | "contains" => {}
            _ => {
                // size, update functions and unknown names: the operand rules report them.
                let _ = self.cond_operand(call);
                if name == "size" {
                    self.note(
                        OTHER,
                        "The function is not allowed to be used this way in an expression; function: size"
                            .to_string(),
                    );
                }
                return Cond::Const(false);
            }
        }
        let resolved: Vec<Operand> = args.iter().map(|a| self.cond_operand(a)).collect();
        let expected = if name.starts_with("attribute_") && name != "attribute_type" {
            1
        } else {
            2
        };
        if resolved.len() != expected {
            self.note(OTHER, count_error(name, resolved.len()));
            return Cond::Const(false);
        }
        let mut it = resolved.into_iter();
        let (Some(first), second) = (it.next(), it.next()) else {
            return Cond::Const(false);
        };
        match name {
            "attribute_exists" | "attribute_not_exists" | "attribute_type" => {
                // attribute_type also takes a value, whose type is known now.
                let subject = match first {
                    Operand::Path(path) => Ok(path),
                    Operand::Value(v) if name == "attribute_type" => Err(v),
                    _ => {
                        self.note(OTHER, needs_path_error(name));
                        return Cond::Const(false);
                    }
                };
                match (name, second, subject) {
                    ("attribute_exists", _, Ok(path)) => Cond::Exists(path),
                    ("attribute_not_exists", _, Ok(path)) => Cond::NotExists(path),
                    (_, Some(ty), subject) => {
                        if !matches!(ty, Operand::Value(_)) {
                            self.note(
                                OTHER,
                                format!(
                                    "Incorrect operand type for operator or function; operator or function: {name}, operand type: {{S,SS,N,NS,B,BS,BOOL,NULL,L,M,HD,DOUBLE,FLOAT,HDS,FS,DOUBLESET,DICT,DECIMAL,INT,DECIMALSET,INTSET}}"
                                ),
                            );
                        }
                        if let Operand::Value(v) = &ty {
                            match v {
                                AttributeValue::S(t) if VALID_TYPES.contains(&t.as_str()) => {}
                                AttributeValue::S(t) => self.note(
                                    OTHER,
                                    format!(
                                        "Invalid attribute type name found; type: {t}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                                    ),
                                ),
                                other => self.note(OTHER, operand_type_error(name, other)),
                            }
                        }
                        match subject {
                            Ok(path) => Cond::IsType(path, ty),
                            Err(value) => Cond::Const(matches!(
                                &ty,
                                Operand::Value(AttributeValue::S(t)) if value.type_name() == t
                            )),
                        }
                    }
                    _ => Cond::Const(false),
                }
            }
            "begins_with" => {
                let Some(second) = second else {
                    return Cond::Const(false);
                };
                self.check_distinct(name, &first, &[&second]);
                for o in [&first, &second] {
                    if let Operand::Value(v) = o {
                        if !matches!(v, AttributeValue::S(_) | AttributeValue::B(_)) {
                            self.note(OTHER, operand_type_error(name, v));
                        }
                    }
                }
                Cond::BeginsWith(first, second)
            }
            _ => {
                let Some(second) = second else {
                    return Cond::Const(false);
                };
                self.check_distinct(name, &first, &[&second]);
                Cond::Contains(first, second)
            }
        }
    }

    // ------------------------------------------------------------ updates

    /// An operand of a SET value (no arithmetic inside).
    fn set_operand(&mut self, raw: &RawOperand) -> Operand {
        match raw {
            RawOperand::Paren(inner) => {
                self.check_paren(inner);
                self.set_operand(inner)
            }
            RawOperand::Path(p) => Operand::Path(self.path(p)),
            RawOperand::Value(v) => Operand::Value(self.value(v)),
            RawOperand::Call { name, args } if UPDATE_FUNCTIONS.contains(&name.as_str()) => {
                let resolved: Vec<Operand> = args.iter().map(|a| self.set_operand(a)).collect();
                if resolved.len() != 2 {
                    self.note(OTHER, count_error(name, resolved.len()));
                    return Operand::Value(AttributeValue::Null);
                }
                let mut it = resolved.into_iter();
                let (Some(a), Some(b)) = (it.next(), it.next()) else {
                    return Operand::Value(AttributeValue::Null);
                };
                if name == "if_not_exists" {
                    match a {
                        Operand::Path(p) => Operand::IfNotExists(p, Box::new(b)),
                        _ => {
                            self.note(OTHER, needs_path_error(name));
                            Operand::Value(AttributeValue::Null)
                        }
                    }
                } else {
                    for o in [&a, &b] {
                        match o {
                            Operand::Value(v) if !matches!(v, AttributeValue::L(_)) => {
                                self.note(OTHER, operand_type_error(name, v))
                            }
                            // list_append takes lists, paths and if_not_exists: no nesting.
                            Operand::ListAppend(..) => self.note(
                                OTHER,
                                format!(
                                    "The function is not allowed to be used this way in an expression; function: {name}"
                                ),
                            ),
                            _ => {}
                        }
                    }
                    Operand::ListAppend(Box::new(a), Box::new(b))
                }
            }
            RawOperand::Call { name, args } => {
                self.discard_args(args);
                if name == "size" || CONDITION_FUNCTIONS.contains(&name.as_str()) {
                    self.note(
                        OTHER,
                        format!(
                            "The function is not allowed in an update expression; function: {name}"
                        ),
                    );
                } else {
                    self.unknown_function(name);
                }
                Operand::Value(AttributeValue::Null)
            }
            RawOperand::Arith(op, a, b) => self.arith(*op, a, b),
        }
    }

    fn arith(&mut self, op: ArithOp, a: &RawOperand, b: &RawOperand) -> Operand {
        let symbol = match op {
            ArithOp::Plus => "+",
            ArithOp::Minus => "-",
        };
        let a = self.set_operand(a);
        let b = self.set_operand(b);
        for o in [&a, &b] {
            if let Operand::Value(v) = o {
                if !matches!(v, AttributeValue::N(_)) {
                    self.note(OTHER, operand_type_error(symbol, v));
                }
            }
        }
        Operand::Arith(op, Box::new(a), Box::new(b))
    }

    pub fn action(&mut self, raw: &RawAction) -> Action {
        match raw {
            RawAction::Set(p, v) => {
                let path = self.path(p);
                Action::Set(path, self.set_operand(v))
            }
            RawAction::Remove(p) => Action::Remove(self.path(p)),
            RawAction::Add(p, v) | RawAction::Delete(p, v) => {
                let is_add = matches!(raw, RawAction::Add(..));
                let path = self.path(p);
                let value = match v {
                    RawOperand::Value(r) => self.value(r),
                    other => {
                        let _ = self.cond_operand(other);
                        AttributeValue::Null
                    }
                };
                let ok = value.is_set() || (is_add && matches!(value, AttributeValue::N(_)));
                let op = if is_add { "ADD" } else { "DELETE" };
                if !ok && self.errors[VALUE].is_none() {
                    self.note(
                        OTHER,
                        format!(
                            "Incorrect operand type for operator or function; operator: {op}, operand type: {}",
                            super::ast::long_type_name(&value)
                        ),
                    );
                }
                if is_add {
                    Action::Add(path, value)
                } else {
                    Action::Delete(path, value)
                }
            }
        }
    }

    /// The overlap and conflict rules between the paths of one update or projection.
    pub fn check_paths<'p>(&mut self, paths: impl IntoIterator<Item = &'p Path>) {
        let paths: Vec<&Path> = paths.into_iter().collect();
        for (i, earlier) in paths.iter().enumerate() {
            for later in &paths[i + 1..] {
                if let Some(message) = path_clash(earlier, later) {
                    self.note(OTHER, message);
                    return;
                }
            }
        }
    }
}

/// The BETWEEN bound rules for two literal bounds.
pub(crate) fn between_bounds_error(lo: &AttributeValue, hi: &AttributeValue) -> Option<String> {
    let detail = format!(
        "lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
        value_text(lo),
        value_text(hi)
    );
    if lo.type_name() != hi.type_name() {
        return Some(format!(
            "The BETWEEN operator requires same data type for lower and upper bounds; {detail}"
        ));
    }
    match compare_values(lo, hi) {
        Some(Ordering::Greater) => Some(format!(
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {detail}"
        )),
        _ => None,
    }
}

/// Whether two paths overlap (one is a prefix of the other) or conflict (they diverge at
/// an element that is a list index in one and a map key in the other).
fn path_clash(a: &Path, b: &Path) -> Option<String> {
    for (x, y) in a.iter().zip(b.iter()) {
        if x == y {
            continue;
        }
        let same_kind = matches!(
            (x, y),
            (PathElem::Attr(_), PathElem::Attr(_)) | (PathElem::Index(_), PathElem::Index(_))
        );
        if same_kind {
            return None;
        }
        return Some(format!(
            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
            path_text(a),
            path_text(b)
        ));
    }
    Some(format!(
        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
        path_text(a),
        path_text(b)
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::expr::parser::Parser;

    /// The error `text` resolves to with `:n` defined as a number, in the default ranking
    /// or a key condition's text order.
    fn first_error(text: &str, text_order: bool) -> String {
        let values: HashMap<String, AttributeValue> =
            HashMap::from([(":n".to_string(), AttributeValue::N("1".parse().unwrap()))]);
        let subs = Substitutions::new(None, Some(&values));
        let raw = Parser::new(text).condition().unwrap();
        let mut resolver = Resolver::new(&subs);
        if text_order {
            resolver = resolver.values_in_text_order();
        }
        let _ = resolver.cond(&raw);
        resolver.finish().unwrap_err()
    }

    const UNDEFINED: &str =
        "An expression attribute value used in expression is not defined; attribute value: :missing";
    const OPERAND: &str = "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N";

    #[test]
    fn key_conditions_report_the_first_problem_written() {
        // tier3/validation-ordering/queryKeyCondition.test.ts: whichever comes first.
        assert_eq!(
            first_error("pk = :missing AND begins_with(sk, :n)", true),
            UNDEFINED
        );
        assert_eq!(
            first_error("begins_with(sk, :n) AND pk = :missing", true),
            OPERAND
        );
        assert_eq!(
            first_error("pk = :n AND begins_with(sk, :n) AND sk = :missing", true),
            OPERAND
        );
    }

    #[test]
    fn other_expressions_rank_undefined_values_first() {
        assert_eq!(
            first_error("begins_with(sk, :n) AND pk = :missing", false),
            UNDEFINED
        );
    }
}
