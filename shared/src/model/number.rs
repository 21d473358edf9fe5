//! DynamoDB numbers: up to 38 significant digits, magnitude 1E-130 to 9.99..E+125, exact
//! arithmetic, normalized text (`"01.50"` → `"1.5"`, `"1E+2"` → `"100"`, `-0` → `0`).

use std::cmp::Ordering;

/// A validated, normalized DynamoDB number. `Eq`/`Ord` are numeric.
#[derive(Debug, Clone)]
pub struct Number {
    /// The normalized text, as DynamoDB returns it.
    text: Box<str>,
}

/// Why a string is not a DynamoDB number; `message()` is DynamoDB's exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberError {
    Empty,
    Unparseable(String),
    Overflow,
    Underflow,
    TooManyDigits,
}

impl NumberError {
    pub fn message(&self) -> String {
        todo!("model helper")
    }
}

impl Number {
    /// Parses and validates wire text (`"-12.5e3"`), normalizing it.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let _ = text;
        todo!("model helper")
    }

    /// The normalized text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Exact sum; overflow past DynamoDB's range is `NumberError::Overflow`.
    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        let _ = other;
        todo!("model helper")
    }

    /// Exact difference.
    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        let _ = other;
        todo!("model helper")
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Number {}
impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        let _ = other;
        todo!("model helper")
    }
}
