//! Conditions, operands and update actions as DynamoDB expression text.
//!
//! Every attribute name becomes a `#pN` placeholder and every value a `:pN` placeholder, so
//! that reserved words and special characters in names need no care and the store's
//! expression parser, evaluator and validation apply unchanged.

use std::collections::HashMap;

use super::ast::*;
use super::bind::bind;
use crate::model::AttributeValue;
use crate::wire::error::ApiError;

/// Builds expression text and collects the placeholders it uses.
pub struct Renderer<'a> {
    params: &'a [AttributeValue],
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
    name_of: HashMap<String, String>,
}

impl<'a> Renderer<'a> {
    pub fn new(params: &'a [AttributeValue]) -> Self {
        Renderer {
            params,
            names: HashMap::new(),
            values: HashMap::new(),
            name_of: HashMap::new(),
        }
    }

    /// The placeholder for attribute name `name` (one per distinct name).
    pub fn name(&mut self, name: &str) -> String {
        if let Some(placeholder) = self.name_of.get(name) {
            return placeholder.clone();
        }
        let placeholder = format!("#p{}", self.name_of.len());
        self.names.insert(placeholder.clone(), name.to_string());
        self.name_of.insert(name.to_string(), placeholder.clone());
        placeholder
    }

    /// A placeholder for `value`.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":p{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    pub fn path(&mut self, path: &Path) -> String {
        let mut out = String::new();
        for element in &path.0 {
            match element {
                PathElement::Name(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&self.name(name));
                }
                PathElement::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    pub fn literal(&mut self, literal: &Literal) -> Result<String, ApiError> {
        let value = bind(literal, self.params)?;
        Ok(self.value(value))
    }

    pub fn operand(&mut self, operand: &Operand) -> Result<String, ApiError> {
        Ok(match operand {
            Operand::Path(path) => self.path(path),
            Operand::Literal(literal) => self.literal(literal)?,
            Operand::Call(name, args) => self.call(name, args)?,
            Operand::Arithmetic(a, op, b) => {
                format!("{} {op} {}", self.operand(a)?, self.operand(b)?)
            }
        })
    }

    /// A function call. DynamoDB counts the operands of one called with none, which the
    /// expression language cannot write (the partiqlFunctions captures).
    fn call(&mut self, name: &str, args: &[Operand]) -> Result<String, ApiError> {
        if args.is_empty() {
            return Err(ApiError::validation(format!(
                "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: 0"
            )));
        }
        let args = args
            .iter()
            .map(|a| self.operand(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("{name}({})", args.join(", ")))
    }

    pub fn condition(&mut self, condition: &Condition) -> Result<String, ApiError> {
        Ok(match condition {
            // `x = MISSING` / `x <> MISSING`: whether x is absent / present.
            Condition::Compare(x, cmp @ (CmpOp::Eq | CmpOp::Ne), missing)
            | Condition::Compare(missing, cmp @ (CmpOp::Eq | CmpOp::Ne), x)
                if *missing == Operand::Literal(Literal::Missing) =>
            {
                let function = if *cmp == CmpOp::Eq {
                    "attribute_not_exists"
                } else {
                    "attribute_exists"
                };
                format!("{function}({})", self.operand(x)?)
            }
            Condition::Compare(a, cmp, b) => {
                format!("{} {} {}", self.operand(a)?, cmp.symbol(), self.operand(b)?)
            }
            Condition::Between(a, low, high) => format!(
                "{} BETWEEN {} AND {}",
                self.operand(a)?,
                self.operand(low)?,
                self.operand(high)?
            ),
            Condition::In(a, list) => {
                let a = self.operand(a)?;
                let list = list
                    .iter()
                    .map(|v| self.operand(v))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("{a} IN ({})", list.join(", "))
            }
            Condition::Function(name, args) => self.call(name, args)?,
            Condition::IsMissing(a, negated) => {
                let function = if *negated {
                    "attribute_exists"
                } else {
                    "attribute_not_exists"
                };
                format!("{function}({})", self.operand(a)?)
            }
            Condition::IsType(a, ty, negated) => {
                let a = self.operand(a)?;
                let ty = self.value(AttributeValue::S((*ty).to_string()));
                // No parentheses of its own, as IS NOT NULL's.
                let not = if *negated { "NOT " } else { "" };
                format!("{not}attribute_type({a}, {ty})")
            }
            Condition::IsNull(a, negated) => {
                let a = self.operand(a)?;
                let null = self.value(AttributeValue::S("NULL".into()));
                if *negated {
                    // No parentheses of its own: callers add them, and doubled ones are
                    // refused as redundant.
                    format!("attribute_exists({a}) AND NOT attribute_type({a}, {null})")
                } else {
                    format!("attribute_type({a}, {null})")
                }
            }
            Condition::And(a, b) => {
                format!("({}) AND ({})", self.condition(a)?, self.condition(b)?)
            }
            Condition::Or(a, b) => format!("({}) OR ({})", self.condition(a)?, self.condition(b)?),
            Condition::Not(a) => format!("NOT ({})", self.condition(a)?),
        })
    }

    /// UPDATE's actions as an UpdateExpression: `SET a = v` stays a SET, except
    /// `set_add(a, v)` and `set_delete(a, v)` with `a` the target, which become `ADD a v`
    /// and `DELETE a v` (the parser refuses any other use of the two).
    pub fn update_actions(&mut self, actions: &[UpdateAction]) -> Result<String, ApiError> {
        let (mut set, mut remove, mut add, mut delete) = (vec![], vec![], vec![], vec![]);
        for action in actions {
            match action {
                UpdateAction::Set(path, Operand::Call(name, args))
                    if (name == "set_add" || name == "set_delete")
                        && matches!(args.as_slice(), [Operand::Path(first), _] if first == path) =>
                {
                    let clause = format!("{} {}", self.path(path), self.operand(&args[1])?);
                    if name == "set_add" {
                        add.push(clause);
                    } else {
                        delete.push(clause);
                    }
                }
                UpdateAction::Set(path, value) => {
                    set.push(format!("{} = {}", self.path(path), self.operand(value)?))
                }
                UpdateAction::Remove(path) => remove.push(self.path(path)),
            }
        }
        let mut clauses = Vec::new();
        for (keyword, parts) in [
            ("SET", set),
            ("REMOVE", remove),
            ("ADD", add),
            ("DELETE", delete),
        ] {
            if !parts.is_empty() {
                clauses.push(format!("{keyword} {}", parts.join(", ")));
            }
        }
        Ok(clauses.join(" "))
    }
}
