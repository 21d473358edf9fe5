//! The DynamoDB expression language: parse, resolve substitutions, check, evaluate.
//!
//! The public surface is deliberately small: `parse_*` functions that take the expression
//! text and the request's [`Substitutions`] and return a resolved, checked tree, whose
//! methods evaluate it against an item. Every failure is an [`ApiError`] carrying
//! DynamoDB's exact message with the parameter's prefix (`Invalid ConditionExpression: `).
//! The legacy parameters (Expected, QueryFilter/ScanFilter, AttributeUpdates,
//! AttributesToGet, KeyConditions) are translated into the same trees in [`legacy`].
//!
//! Pipeline: `lexer` (tokens with byte spans) → `parser` (raw tree, syntax errors) →
//! `resolve` (substitutions and static rules, ranked like DynamoDB) → `ast` (resolved
//! tree) → `eval` / `update` / `projection` (run time). Limits: expressions over
//! [`MAX_EXPRESSION_BYTES`] are rejected before lexing; the parser enforces DynamoDB's 300
//! operators and functions per expression and caps the nesting of parentheses and function
//! calls, so no input can exhaust the stack.

mod ast;
mod eval;
pub mod legacy;
mod lexer;
mod parser;
mod projection;
mod reserved;
mod resolve;
mod search;
mod update;

use std::collections::HashMap;

use crate::model::{check_attribute_name, AttributeValue, Item, KeySchema};
use crate::wire::error::ApiError;

use ast::{Action, Cond, Operand};
pub use parser::CmpOp;
use parser::Parser;
use resolve::Resolver;
pub use search::parse_search_condition;

/// Longest expression accepted, in bytes (DynamoDB's 4 KB).
pub const MAX_EXPRESSION_BYTES: usize = 4096;

/// Which request parameter an expression came from; fixes the error-message prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprKind {
    Condition,
    Filter,
    KeyCondition,
    Update,
    Projection,
    /// SearchVectors' filter on a vector index's search schema.
    SearchCondition,
}

impl ExprKind {
    /// The parameter name, as in `Invalid <name>: ...`.
    pub fn parameter(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Update => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
            ExprKind::SearchCondition => "SearchConditionExpression",
        }
    }

    fn error(self, message: impl std::fmt::Display) -> ApiError {
        ApiError::validation(format!("Invalid {}: {message}", self.parameter()))
    }
}

/// A request's ExpressionAttributeNames and ExpressionAttributeValues, recording which
/// were used so that unused ones can be reported once every expression is parsed.
pub struct Substitutions<'a> {
    names: Option<&'a HashMap<String, String>>,
    values: Option<&'a HashMap<String, AttributeValue>>,
    // The map keys each reference resolved to, repeats included: recording a use is a
    // push (no hashing, no copy), and `check_all_used` sorts once. Expressions are at most
    // 4 KB each, so the lists stay short.
    used_names: std::cell::RefCell<Vec<&'a str>>,
    used_values: std::cell::RefCell<Vec<&'a str>>,
}

impl<'a> Substitutions<'a> {
    pub fn new(
        names: Option<&'a HashMap<String, String>>,
        values: Option<&'a HashMap<String, AttributeValue>>,
    ) -> Self {
        Substitutions {
            names,
            values,
            used_names: Default::default(),
            used_values: Default::default(),
        }
    }

    /// The name behind `#ref`, marking it used.
    pub(crate) fn name(&self, r: &str) -> Option<String> {
        let (key, name) = self.names?.get_key_value(r)?;
        self.used_names.borrow_mut().push(key);
        Some(name.clone())
    }

    /// The value behind `:ref`, marking it used.
    pub(crate) fn value(&self, r: &str) -> Option<AttributeValue> {
        let (key, value) = self.values?.get_key_value(r)?;
        self.used_values.borrow_mut().push(key);
        Some(value.clone())
    }

    /// After every expression of the request is parsed: DynamoDB's
    /// `Value provided in ExpressionAttributeNames unused in expressions: keys: {#a}` (names
    /// are checked first, then values; keys listed in sorted order).
    pub fn check_all_used(&self) -> Result<(), ApiError> {
        fn unused<V>(
            map: Option<&HashMap<String, V>>,
            used: &mut Vec<&str>,
            what: &str,
        ) -> Result<(), ApiError> {
            let Some(map) = map else {
                return Ok(());
            };
            used.sort_unstable();
            used.dedup();
            if used.len() == map.len() {
                // Every use is one of the map's keys: all of them were used.
                return Ok(());
            }
            let mut keys: Vec<&str> = map
                .keys()
                .map(String::as_str)
                .filter(|k| used.binary_search(k).is_err())
                .collect();
            keys.sort_unstable();
            Err(ApiError::validation(format!(
                "Value provided in {what} unused in expressions: keys: {{{}}}",
                keys.join(", ")
            )))
        }
        unused(
            self.names,
            &mut self.used_names.borrow_mut(),
            "ExpressionAttributeNames",
        )?;
        unused(
            self.values,
            &mut self.used_values.borrow_mut(),
            "ExpressionAttributeValues",
        )
    }
}

/// A path into an item: `a.b[2].c`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElem {
    Attr(String),
    Index(usize),
}

/// A resolved document path (names substituted).
pub type Path = Vec<PathElem>;

/// Top-level names of `paths`, in first-seen order without duplicates.
fn top_level<'p>(paths: impl IntoIterator<Item = &'p Path>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        if let Some(PathElem::Attr(name)) = p.first() {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
    }
    out
}

/// A parsed ConditionExpression or FilterExpression (or a translated legacy condition).
#[derive(Debug, Clone)]
pub struct Condition {
    root: Cond,
}

fn operand_paths<'c>(op: &'c Operand, out: &mut Vec<&'c Path>) {
    match op {
        Operand::Path(p) | Operand::Size(p) => out.push(p),
        Operand::Value(_) => {}
        Operand::IfNotExists(p, o) => {
            out.push(p);
            operand_paths(o, out);
        }
        Operand::ListAppend(a, b) | Operand::Arith(_, a, b) => {
            operand_paths(a, out);
            operand_paths(b, out);
        }
    }
}

fn cond_paths<'c>(c: &'c Cond, out: &mut Vec<&'c Path>) {
    match c {
        Cond::Compare(_, a, b) | Cond::BeginsWith(a, b) | Cond::Contains(a, b) => {
            operand_paths(a, out);
            operand_paths(b, out);
        }
        Cond::Between(a, b, c) => {
            for o in [a, b, c] {
                operand_paths(o, out);
            }
        }
        Cond::In(a, list) => {
            operand_paths(a, out);
            for o in list {
                operand_paths(o, out);
            }
        }
        Cond::Exists(p) | Cond::NotExists(p) => out.push(p),
        Cond::IsType(p, o) => {
            out.push(p);
            operand_paths(o, out);
        }
        Cond::And(a, b) | Cond::Or(a, b) => {
            cond_paths(a, out);
            cond_paths(b, out);
        }
        Cond::Not(a) => cond_paths(a, out),
        Cond::Const(_) => {}
    }
}

impl Condition {
    pub(crate) fn from_cond(root: Cond) -> Self {
        Condition { root }
    }

    /// Evaluates against an item; a missing item is evaluated as an empty one.
    pub fn eval(&self, item: &Item) -> bool {
        eval::cond(&self.root, item)
    }

    /// The top-level attribute names the condition reads (Query rejects filters on keys).
    pub fn top_level_attributes(&self) -> Vec<String> {
        let mut paths = Vec::new();
        cond_paths(&self.root, &mut paths);
        top_level(paths)
    }
}

/// A parsed UpdateExpression (or translated AttributeUpdates).
#[derive(Debug, Clone)]
pub struct UpdateExpr {
    actions: Vec<Action>,
    /// From AttributeUpdates: type mismatches use the legacy message.
    legacy: bool,
}

impl UpdateExpr {
    /// An update translated from AttributeUpdates.
    pub(crate) fn from_legacy_actions(actions: Vec<Action>) -> Self {
        UpdateExpr {
            actions,
            legacy: true,
        }
    }

    /// Rejects updates of key attributes (`Cannot update attribute k. This attribute is part
    /// of the key`) and nested paths into them.
    pub fn check_keys(&self, schema: &KeySchema) -> Result<(), ApiError> {
        for action in &self.actions {
            let path = action.path();
            let Some(PathElem::Attr(name)) = path.first() else {
                continue;
            };
            if !schema.is_key_attr(name) {
                continue;
            }
            return Err(if path.len() == 1 {
                ApiError::invalid_parameter(format!(
                    "Cannot update attribute {name}. This attribute is part of the key"
                ))
            } else {
                ApiError::validation(format!(
                    "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: {name}"
                ))
            });
        }
        Ok(())
    }

    /// Applies the update to `item` in place (all operands read from the item as it was
    /// before the update). Run-time failures are ValidationExceptions with DynamoDB's text;
    /// after a failure `item` may be partly updated, so apply to a copy.
    pub fn apply(&self, item: &mut Item) -> Result<(), ApiError> {
        let bad_type = if self.legacy {
            update::LEGACY_BAD_TYPE
        } else {
            update::EXPRESSION_BAD_TYPE
        };
        update::apply(&self.actions, item, bad_type)
    }

    /// Whether the update only takes away (REMOVE, DELETE from a set, AttributeUpdates'
    /// DELETE): DynamoDB then does not create a missing item, where any other update, even
    /// an empty one, creates it with its key.
    pub fn only_removes(&self) -> bool {
        !self.actions.is_empty()
            && self
                .actions
                .iter()
                .all(|a| matches!(a, Action::Remove(_) | Action::Delete(..)))
    }

    /// The attributes of `item` at the paths this update touched, for ReturnValues
    /// UPDATED_OLD / UPDATED_NEW.
    pub fn updated_attributes(&self, item: &Item) -> Item {
        projection::project(item, self.actions.iter().map(Action::path))
    }

    /// The top-level attribute names this update writes, removes or reads (a SET's
    /// operands: `SET a = b + :one` names `a` and `b`).
    pub fn top_level_attributes(&self) -> Vec<String> {
        let mut paths = Vec::new();
        for action in &self.actions {
            paths.push(action.path());
            if let Action::Set(_, operand) = action {
                operand_paths(operand, &mut paths);
            }
        }
        top_level(paths)
    }
}

/// A parsed ProjectionExpression (or AttributesToGet).
#[derive(Debug, Clone)]
pub struct Projection {
    paths: Vec<Path>,
}

impl Projection {
    pub(crate) fn from_paths(paths: Vec<Path>) -> Self {
        Projection { paths }
    }

    /// The projected copy of an item: only the paths named that exist.
    pub fn apply(&self, item: &Item) -> Item {
        projection::project(item, &self.paths)
    }

    /// The top-level attribute names the projection reads.
    pub fn top_level_attributes(&self) -> Vec<String> {
        top_level(&self.paths)
    }

    /// The projected paths, in the order given.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }
}

/// The condition on the sort key of a Query.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKeyCondition {
    Eq(AttributeValue),
    Lt(AttributeValue),
    Le(AttributeValue),
    Gt(AttributeValue),
    Ge(AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

/// Checks the size and emptiness rules, then runs `parse` over a fresh parser.
fn with_parser<T>(
    kind: ExprKind,
    text: &str,
    parse: impl FnOnce(&mut Parser) -> Result<T, String>,
) -> Result<T, ApiError> {
    if text.len() > MAX_EXPRESSION_BYTES {
        return Err(kind.error(format!(
            "Expression size has exceeded the maximum allowed size; expression size: {}",
            text.len()
        )));
    }
    if text.trim().is_empty() {
        return Err(kind.error("The expression can not be empty;"));
    }
    let mut parser = Parser::new(text);
    parse(&mut parser).map_err(|m| kind.error(m))
}

fn parse_cond(kind: ExprKind, text: &str, subs: &Substitutions) -> Result<Cond, ApiError> {
    let raw = with_parser(kind, text, |p| p.condition())?;
    let mut resolver = match kind {
        ExprKind::KeyCondition => Resolver::new(subs).values_in_text_order(),
        _ => Resolver::new(subs),
    };
    let cond = resolver.cond(&raw);
    resolver.finish().map_err(|m| kind.error(m))?;
    Ok(cond)
}

pub fn parse_condition(
    kind: ExprKind,
    text: &str,
    subs: &Substitutions,
) -> Result<Condition, ApiError> {
    Ok(Condition {
        root: parse_cond(kind, text, subs)?,
    })
}

pub fn parse_update(text: &str, subs: &Substitutions) -> Result<UpdateExpr, ApiError> {
    let kind = ExprKind::Update;
    let raw = with_parser(kind, text, |p| p.update())?;
    let mut resolver = Resolver::new(subs);
    let actions: Vec<Action> = raw.iter().map(|a| resolver.action(a)).collect();
    resolver.check_paths(actions.iter().map(Action::path));
    resolver.finish().map_err(|m| kind.error(m))?;
    Ok(UpdateExpr {
        actions,
        legacy: false,
    })
}

pub fn parse_projection(text: &str, subs: &Substitutions) -> Result<Projection, ApiError> {
    let kind = ExprKind::Projection;
    let raw = with_parser(kind, text, |p| p.projection())?;
    let mut resolver = Resolver::new(subs);
    let paths: Vec<Path> = raw.iter().map(|p| resolver.path(p)).collect();
    resolver.check_paths(&paths);
    resolver.finish().map_err(|m| kind.error(m))?;
    Ok(Projection { paths })
}

/// One condition of a key condition, by attribute name, in text order: 1 or 2 of them,
/// on different attributes. The Query handler matches them to the schema (which one is
/// the partition key, types, `Query key condition not supported`, ...).
pub fn parse_key_condition_parts(
    text: &str,
    subs: &Substitutions,
) -> Result<Vec<(String, SortKeyCondition)>, ApiError> {
    let kind = ExprKind::KeyCondition;
    let cond = parse_cond(kind, text, subs)?;
    let mut leaves = Vec::new();
    and_leaves(&cond, &mut leaves);
    let parts = leaves
        .into_iter()
        .map(key_part)
        .collect::<Result<Vec<_>, _>>()?;
    // Two on one attribute, however many there are (the dynamodb-conformance suite's
    // capture: `pk = :p AND sk > :a AND sk < :b`); too many on distinct ones is the
    // schema's to refuse (`query::match_schema`).
    for (i, (name, _)) in parts.iter().enumerate() {
        if parts[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(ApiError::validation(
                "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
            ));
        }
    }
    Ok(parts)
}

/// The conditions `cond`'s ANDs join, however they nest.
fn and_leaves<'a>(cond: &'a Cond, out: &mut Vec<&'a Cond>) {
    match cond {
        Cond::And(a, b) => {
            and_leaves(a, out);
            and_leaves(b, out);
        }
        leaf => out.push(leaf),
    }
}

/// One leaf of a key condition, with DynamoDB's shape errors.
fn key_part(c: &Cond) -> Result<(String, SortKeyCondition), ApiError> {
    // Shape errors are DynamoDB's own sentences, without the `Invalid
    // KeyConditionExpression: ` prefix that parse errors carry (dynalite's captured texts).
    let invalid_op = |op: &str| {
        ApiError::validation(format!(
            "Invalid operator used in KeyConditionExpression: {op}"
        ))
    };
    let condition = |detail: &str| {
        ApiError::validation(format!(
            "Invalid condition in KeyConditionExpression: {detail}"
        ))
    };
    let name_of = |p: &Path| -> Result<String, ApiError> {
        match p.as_slice() {
            [PathElem::Attr(name)] => Ok(name.clone()),
            _ => Err(ApiError::validation(
                "KeyConditionExpressions cannot have conditions on nested attributes",
            )),
        }
    };
    // The key attribute first, then only values (comparisons are put in that order first).
    let shape = |op: &str,
                 operands: &[&Operand]|
     -> Result<(String, Vec<AttributeValue>), ApiError> {
        if operands.iter().any(|o| matches!(o, Operand::Size(_))) {
            return Err(invalid_op("size"));
        }
        let paths = operands
            .iter()
            .filter(|o| matches!(o, Operand::Path(_)))
            .count();
        if paths > 1 {
            return Err(condition("Multiple attribute names used in one condition"));
        }
        if paths == 0 {
            return Err(condition("No key attribute specified"));
        }
        let (Some(Operand::Path(p)), rest) = (operands.first(), operands.get(1..).unwrap_or(&[]))
        else {
            return Err(condition(&format!(
                "{op} operator must have the key attribute as its first operand"
            )));
        };
        let values = rest
            .iter()
            .filter_map(|o| match o {
                Operand::Value(v) => Some(v.clone()),
                _ => None,
            })
            .collect();
        Ok((name_of(p)?, values))
    };
    let one = |mut v: Vec<AttributeValue>| v.pop().unwrap_or(AttributeValue::Null);
    match c {
        Cond::Compare(op, a, b) => {
            if *op == CmpOp::Ne {
                return Err(invalid_op("<>"));
            }
            // A comparison may name the key on either side (`:v < sk` is `sk > :v`); only
            // BETWEEN and begins_with need it first.
            let (op, a, b) = match (a, b) {
                (Operand::Value(_), Operand::Path(_)) => (op.swapped(), b, a),
                _ => (*op, a, b),
            };
            let (name, values) = shape(op.symbol(), &[a, b])?;
            let v = one(values);
            Ok((
                name,
                match op {
                    CmpOp::Eq => SortKeyCondition::Eq(v),
                    CmpOp::Lt => SortKeyCondition::Lt(v),
                    CmpOp::Le => SortKeyCondition::Le(v),
                    CmpOp::Gt => SortKeyCondition::Gt(v),
                    CmpOp::Ge | CmpOp::Ne => SortKeyCondition::Ge(v),
                },
            ))
        }
        Cond::Between(a, lo, hi) => {
            let (name, mut values) = shape("BETWEEN", &[a, lo, hi])?;
            let hi = values.pop().unwrap_or(AttributeValue::Null);
            let lo = values.pop().unwrap_or(AttributeValue::Null);
            Ok((name, SortKeyCondition::Between(lo, hi)))
        }
        Cond::BeginsWith(a, b) => {
            let (name, values) = shape("begins_with", &[a, b])?;
            Ok((name, SortKeyCondition::BeginsWith(one(values))))
        }
        Cond::And(..) => Err(ApiError::validation(
            "KeyConditionExpressions cannot contain nested operations",
        )),
        Cond::Or(..) => Err(invalid_op("OR")),
        Cond::Not(..) => Err(invalid_op("NOT")),
        Cond::In(..) => Err(invalid_op("IN")),
        Cond::Exists(_) => Err(invalid_op("attribute_exists")),
        Cond::NotExists(_) => Err(invalid_op("attribute_not_exists")),
        Cond::IsType(..) => Err(invalid_op("attribute_type")),
        Cond::Contains(..) => Err(invalid_op("contains")),
        Cond::Const(_) => Err(condition("No key attribute specified")),
    }
}

/// One expression parameter of a request and whether it is present.
pub type ParamPresence = (&'static str, bool);

fn is_valid_key(key: &str, sigil: char) -> bool {
    let mut chars = key.chars();
    chars.next() == Some(sigil)
        && key.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The request-level rules on which expression parameters may appear together, checked
/// before any expression is parsed, in this order:
/// - `Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}`
///   (each list names only the parameters present, in the order given; legacy
///   `KeyConditions` is tolerated beside expressions when `KeyConditionExpression` is absent,
///   as DynamoDB does);
/// - names without any expression: `ExpressionAttributeNames can only be specified when using expressions`;
/// - values without any value-taking expression:
///   `ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null`
///   (`value_expressions` lists this operation's value-taking expressions; `X is null` when there is one);
/// - empty maps: `ExpressionAttributeNames must not be empty` (same for values), and keys
///   not of the form `#[0-9a-zA-Z_]+` / `:[0-9a-zA-Z_]+`:
///   `ExpressionAttributeNames contains invalid key: Syntax error; key: "x"`;
/// - names that are empty (`ExpressionAttributeNames contains invalid value: Empty
///   attribute name for key #n`) or too long ([`check_attribute_name`]).
pub fn check_parameter_usage(
    expressions: &[ParamPresence],
    legacy: &[ParamPresence],
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
    value_expressions: &[ParamPresence],
) -> Result<(), ApiError> {
    parameter_usage(
        expressions,
        legacy,
        names,
        values,
        value_expressions,
        NullExpressions::Named,
    )
}

/// [`check_parameter_usage`] as DynamoDB now answers PutItem and DeleteItem (captured in
/// two regions, October 2026): values without a ConditionExpression are refused with the
/// bare `ExpressionAttributeValues can only be specified when using expressions`, naming no
/// null expression.
pub fn check_condition_parameter_usage(
    expressions: &[ParamPresence],
    legacy: &[ParamPresence],
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> Result<(), ApiError> {
    parameter_usage(
        expressions,
        legacy,
        names,
        values,
        expressions,
        NullExpressions::Unnamed,
    )
}

/// Whether the values-without-expressions message goes on to name the null expressions.
#[derive(Clone, Copy)]
enum NullExpressions {
    Named,
    Unnamed,
}

fn parameter_usage(
    expressions: &[ParamPresence],
    legacy: &[ParamPresence],
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
    value_expressions: &[ParamPresence],
    null_expressions: NullExpressions,
) -> Result<(), ApiError> {
    let present: Vec<&str> = expressions
        .iter()
        .filter(|(_, p)| *p)
        .map(|(n, _)| *n)
        .collect();
    if !present.is_empty() {
        let key_condition_expression = expressions
            .iter()
            .any(|(n, p)| *n == "KeyConditionExpression" && *p);
        let legacy_present: Vec<&str> = legacy
            .iter()
            .filter(|(n, p)| *p && (*n != "KeyConditions" || key_condition_expression))
            .map(|(n, _)| *n)
            .collect();
        if !legacy_present.is_empty() {
            return Err(ApiError::validation(format!(
                "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
                legacy_present.join(", "),
                present.join(", ")
            )));
        }
    }
    if names.is_some() && present.is_empty() {
        return Err(ApiError::validation(
            "ExpressionAttributeNames can only be specified when using expressions",
        ));
    }
    if values.is_some()
        && !value_expressions.is_empty()
        && value_expressions.iter().all(|(_, p)| !*p)
    {
        const MESSAGE: &str =
            "ExpressionAttributeValues can only be specified when using expressions";
        return Err(ApiError::validation(match null_expressions {
            NullExpressions::Unnamed => MESSAGE.to_string(),
            NullExpressions::Named => {
                let listed: Vec<&str> = value_expressions.iter().map(|(n, _)| *n).collect();
                let verb = if listed.len() > 1 { "are" } else { "is" };
                format!("{MESSAGE}: {} {verb} null", listed.join(" and "))
            }
        }));
    }
    // The maps' own shape is checked after which parameters may appear together, as
    // DynamoDB (per dynalite) does.
    if let Some(names) = names {
        if names.is_empty() {
            return Err(ApiError::validation(
                "ExpressionAttributeNames must not be empty",
            ));
        }
        let mut entries: Vec<(&String, &String)> = names.iter().collect();
        entries.sort();
        if let Some((bad, _)) = entries.iter().find(|(k, _)| !is_valid_key(k, '#')) {
            return Err(ApiError::validation(format!(
                "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
        for (key, name) in entries {
            if name.is_empty() {
                return Err(ApiError::validation(format!(
                    "ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}"
                )));
            }
            check_attribute_name(name)?;
        }
    }
    if let Some(values) = values {
        if values.is_empty() {
            return Err(ApiError::validation(
                "ExpressionAttributeValues must not be empty",
            ));
        }
        let mut keys: Vec<&String> = values.keys().collect();
        keys.sort();
        if let Some(bad) = keys.into_iter().find(|k| !is_valid_key(k, ':')) {
            return Err(ApiError::validation(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
