//! DynamoDB numbers: up to 38 significant digits, magnitude 1E-130 to 9.99..E+125, exact
//! arithmetic, normalized text (`"01.50"` → `"1.5"`, `"1E+2"` → `"100"`, `-0` → `0`).
//!
//! A [`Number`] keeps DynamoDB's normalized text (what responses carry) and, beside it, the
//! sign, the scientific exponent and where the significant digits sit in that text. That
//! makes comparison (on every sort-key and condition path) a few integer compares plus a
//! byte walk over at most 38 digits, with no allocation and no big-decimal arithmetic.
//! Only `add`/`sub` go through `bigdecimal`, and their results are validated exactly like
//! wire input.
//!
//! Grammar accepted (Java `BigDecimal`-like, which is what DynamoDB parses with): optional
//! `+`/`-`, digits with an optional `.` and fraction (`"5."` and `".5"` included), optional
//! `e`/`E` exponent with optional sign. No whitespace, no `Infinity`/`NaN`, no hex.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Most significant digits DynamoDB stores.
pub const MAX_DIGITS: usize = 38;
/// Largest scientific exponent (`9.99..E+125`).
pub const MAX_EXPONENT: i32 = 125;
/// Smallest scientific exponent of a non-zero number (`1E-130`).
pub const MIN_EXPONENT: i32 = -130;

/// A validated, normalized DynamoDB number. `Eq`/`Ord` are numeric.
#[derive(Debug, Clone)]
pub struct Number {
    /// The normalized text, as DynamoDB returns it.
    text: Box<str>,
    /// -1, 0 or 1.
    sign: i8,
    /// Scientific exponent: the value is `d.ddd × 10^exp` (0 for zero).
    exp: i16,
    /// Byte range in `text` holding the significant digits (may include one `.`).
    sig_start: u16,
    sig_end: u16,
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
        match self {
            NumberError::Empty => "The parameter cannot be converted to a numeric value".to_string(),
            NumberError::Unparseable(text) => {
                format!("The parameter cannot be converted to a numeric value: {text}")
            }
            NumberError::Overflow => "Number overflow. Attempting to store a number with magnitude larger than supported range".to_string(),
            NumberError::Underflow => "Number underflow. Attempting to store a number with magnitude smaller than supported range".to_string(),
            NumberError::TooManyDigits => {
                "Attempting to store more than 38 significant digits in a Number".to_string()
            }
        }
    }
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for NumberError {}

/// A number's text as a vector component: a finite 32-bit float (what DynamoDB's vector
/// indexes hold), `None` past that range. The one rule for search vectors and the
/// vectors of items.
pub fn vector_component(text: &str) -> Option<f32> {
    text.parse::<f32>().ok().filter(|f| f.is_finite())
}

/// How a number's text is read: as an attribute value, or as a PartiQL statement's
/// parameter, which DynamoDB reads as Java's `BigDecimal` reads a string before its own
/// checks (the dynamodb-conformance suite's captures, tier3/error-messages/
/// partiqlParameterNumbers.test.ts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NumberRule {
    #[default]
    Item,
    Parameter,
}

impl NumberRule {
    pub fn parse(self, text: &str) -> Result<Number, NumberError> {
        match self {
            NumberRule::Item => Number::parse(text),
            NumberRule::Parameter => Number::parse_parameter(text),
        }
    }
}

impl Number {
    /// [`Number::parse`] of a PartiQL parameter. `BigDecimal` reads the exponent as a
    /// 32-bit integer and keeps the scale (fraction digits minus exponent) in one, so text
    /// past either cannot be converted at all; and the magnitude check then computes
    /// precision minus scale in 32-bit arithmetic, which wraps past `i32::MAX` to a very
    /// negative magnitude: `1e2147483647` is an underflow there, not an overflow.
    pub fn parse_parameter(text: &str) -> Result<Number, NumberError> {
        let Some(shape) = DecimalShape::of(text) else {
            return Number::parse(text);
        };
        let unconvertible = || NumberError::Unparseable(text.to_string());
        let exponent = i32::try_from(shape.exponent).map_err(|_| unconvertible())?;
        let scale = i64::from(shape.fraction_digits) - i64::from(exponent);
        let scale = i32::try_from(scale).map_err(|_| unconvertible())?;
        if shape.significant_digits > 0 {
            let magnitude = i64::from(shape.significant_digits) - i64::from(scale);
            if magnitude > i64::from(i32::MAX) {
                return Err(NumberError::Underflow);
            }
        }
        Number::parse(text)
    }

    /// Parses and validates wire text (`"-12.5e3"`), normalizing it.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        if text.is_empty() {
            return Err(NumberError::Empty);
        }
        let unparseable = || NumberError::Unparseable(text.to_string());
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mantissa_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = i - mantissa_start;
        let mut frac_range = i..i;
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_range = start..i;
        }
        if int_digits == 0 && frac_range.is_empty() {
            return Err(unparseable());
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let exp_negative = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            // One past a 64-bit integer cannot be read at all, as DynamoDB answers it.
            let mut written: u64 = 0;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                written = written
                    .checked_mul(10)
                    .and_then(|w| w.checked_add(u64::from(bytes[i] - b'0')))
                    .filter(|w| i64::try_from(*w).is_ok())
                    .ok_or_else(unparseable)?;
                i += 1;
            }
            if i == start {
                return Err(unparseable());
            }
            // Saturated: anything beyond ±2^40 is out of range whatever the digits.
            exponent = written.min(1 << 40) as i64;
            if exp_negative {
                exponent = -exponent;
            }
        }
        if i != bytes.len() {
            return Err(unparseable());
        }

        // Significant digits: the mantissa digits without the point, leading and trailing
        // zeros stripped. `first` counts positions in the digit sequence (point excluded).
        let digit_at = |pos: usize| -> u8 {
            if pos < int_digits {
                bytes[mantissa_start + pos]
            } else {
                bytes[frac_range.start + (pos - int_digits)]
            }
        };
        let total = int_digits + frac_range.len();
        let first = match (0..total).find(|&p| digit_at(p) != b'0') {
            Some(p) => p,
            // Zero is held to the range by the exponent it is written with (`0e126`
            // overflows, as DynamoDB answers it).
            None if exponent > i64::from(MAX_EXPONENT) => return Err(NumberError::Overflow),
            None if exponent < i64::from(MIN_EXPONENT) => return Err(NumberError::Underflow),
            None => return Ok(Number::zero()),
        };
        let last = (0..total)
            .rev()
            .find(|&p| digit_at(p) != b'0')
            .unwrap_or(first);
        let sci_exp = clamp_i64(int_digits) - 1 - clamp_i64(first) + exponent;
        if sci_exp > i64::from(MAX_EXPONENT) {
            return Err(NumberError::Overflow);
        }
        if sci_exp < i64::from(MIN_EXPONENT) {
            return Err(NumberError::Underflow);
        }
        let count = last - first + 1;
        if count > MAX_DIGITS {
            return Err(NumberError::TooManyDigits);
        }
        let mut digits = [0u8; MAX_DIGITS];
        for (slot, pos) in digits.iter_mut().zip(first..=last) {
            *slot = digit_at(pos);
        }
        // In range by the checks above.
        let exp = sci_exp as i16;
        Ok(Number::from_validated(negative, &digits[..count], exp))
    }

    /// Zero.
    pub fn zero() -> Number {
        Number {
            text: "0".into(),
            sign: 0,
            exp: 0,
            sig_start: 0,
            sig_end: 1,
        }
    }

    /// Builds a number from ASCII significant digits (first and last non-zero, at most 38)
    /// and a scientific exponent within range. Callers guarantee those invariants.
    pub(crate) fn from_validated(negative: bool, digits: &[u8], exp: i16) -> Number {
        let n = digits.len() as i32;
        let e = i32::from(exp);
        // The exact length, so that boxing the text does not reallocate it.
        let unsigned_len = if e >= n - 1 {
            e + 1
        } else if e >= 0 {
            n + 1
        } else {
            n + 1 - e
        };
        let mut text = String::with_capacity(usize::from(negative) + unsigned_len as usize);
        if negative {
            text.push('-');
        }
        let sig_start;
        if e >= n - 1 {
            // Integer: digits then zeros.
            sig_start = text.len();
            push_ascii(&mut text, digits);
            let sig_end = text.len();
            for _ in 0..(e - (n - 1)) {
                text.push('0');
            }
            return Number::assemble(text, negative, exp, sig_start, sig_end);
        }
        if e >= 0 {
            // Point inside the digits.
            sig_start = text.len();
            let split = (e + 1) as usize;
            push_ascii(&mut text, &digits[..split]);
            text.push('.');
            push_ascii(&mut text, &digits[split..]);
        } else {
            text.push_str("0.");
            for _ in 0..(-e - 1) {
                text.push('0');
            }
            sig_start = text.len();
            push_ascii(&mut text, digits);
        }
        let sig_end = text.len();
        Number::assemble(text, negative, exp, sig_start, sig_end)
    }

    fn assemble(text: String, negative: bool, exp: i16, start: usize, end: usize) -> Number {
        debug_assert_eq!(text.len(), text.capacity(), "sized exactly: {text}");
        Number {
            text: text.into_boxed_str(),
            sign: if negative { -1 } else { 1 },
            exp,
            // Text is at most ~170 bytes, so positions fit.
            sig_start: start as u16,
            sig_end: end as u16,
        }
    }

    /// An integer.
    pub fn from_i64(value: i64) -> Number {
        let magnitude = value.unsigned_abs();
        let mut n = Number::from_u64(magnitude);
        if value < 0 {
            n = n.negated();
        }
        n
    }

    /// A non-negative integer.
    pub fn from_u64(value: u64) -> Number {
        if value == 0 {
            return Number::zero();
        }
        let text = value.to_string();
        let trimmed = text.trim_end_matches('0');
        let exp = (text.len() - 1) as i16;
        Number::from_validated(false, trimmed.as_bytes(), exp)
    }

    /// The normalized text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i8 {
        self.sign
    }

    pub fn is_zero(&self) -> bool {
        self.sign == 0
    }

    pub fn is_negative(&self) -> bool {
        self.sign < 0
    }

    /// Scientific exponent: the value is `d.ddd × 10^exponent` (0 for zero).
    pub fn exponent(&self) -> i32 {
        i32::from(self.exp)
    }

    /// The significant digits as ASCII (`"0"` for zero), without sign or point.
    pub fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        self.text.as_bytes()[usize::from(self.sig_start)..usize::from(self.sig_end)]
            .iter()
            .copied()
            .filter(|b| *b != b'.')
    }

    /// How many significant digits (1 for zero).
    pub fn digit_count(&self) -> usize {
        let range = usize::from(self.sig_end) - usize::from(self.sig_start);
        let has_point = self.text.as_bytes()
            [usize::from(self.sig_start)..usize::from(self.sig_end)]
            .contains(&b'.');
        range - usize::from(has_point)
    }

    /// The nearest `f64` (for approximate uses only: metrics, TTL seconds).
    pub fn to_f64(&self) -> f64 {
        self.text.parse::<f64>().unwrap_or(0.0)
    }

    /// The value as an `i64` if it is an integer that fits.
    pub fn to_i64(&self) -> Option<i64> {
        if self.text.contains('.') {
            return None;
        }
        self.text.parse::<i64>().ok()
    }

    /// The negation (`0` stays `0`).
    pub fn negated(&self) -> Number {
        match self.sign {
            0 => self.clone(),
            s => {
                let digits: Vec<u8> = self.digits().collect();
                Number::from_validated(s > 0, &digits, self.exp)
            }
        }
    }

    /// Exact sum; overflow past DynamoDB's range is `NumberError::Overflow`, a result that
    /// needs more than 38 digits is `NumberError::TooManyDigits`.
    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        if let (Some(a), Some(b)) = (self.small_int(), other.small_int()) {
            // Both below 10^18 in magnitude, so the sum cannot overflow i64.
            return Ok(Number::from_i64(a + b));
        }
        if self.is_zero() {
            return Ok(other.clone());
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        let sum = self.to_big() + other.to_big();
        Number::from_big(&sum)
    }

    /// Exact difference.
    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.add(&other.negated())
    }

    /// The value as an i64 when it is an integer of at most 18 digits (cheap arithmetic).
    fn small_int(&self) -> Option<i64> {
        if self.text.len() > 19 || self.text.contains('.') {
            return None;
        }
        self.text
            .parse::<i64>()
            .ok()
            .filter(|v| v.unsigned_abs() < 1_000_000_000_000_000_000)
    }

    fn to_big(&self) -> bigdecimal::BigDecimal {
        // Normalized text always parses; zero is the harmless fallback.
        bigdecimal::BigDecimal::from_str(&self.text).unwrap_or_default()
    }

    fn from_big(value: &bigdecimal::BigDecimal) -> Result<Number, NumberError> {
        let (int, scale) = value.as_bigint_and_exponent();
        let text = format!("{int}e{}", scale.saturating_neg());
        Number::parse(&text)
    }

    /// Compares significant digits of two numbers with equal sign and exponent.
    fn cmp_digits(&self, other: &Number) -> Ordering {
        self.digits().cmp(other.digits())
    }
}

fn clamp_i64(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX / 4)
}

fn push_ascii(text: &mut String, digits: &[u8]) {
    for &d in digits {
        text.push(char::from(d));
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        // Normalization is canonical, so equal values have equal text.
        self.text == other.text
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
        match self.sign.cmp(&other.sign) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        let magnitude = match self.exp.cmp(&other.exp) {
            Ordering::Equal => self.cmp_digits(other),
            unequal => unequal,
        };
        if self.sign < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Self {
        Number::from_i64(value)
    }
}

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Number::parse(&text).map_err(|e| {
            serde::de::Error::custom(format_args!(
                "{}{}",
                crate::model::value::VALIDATION_MARKER,
                e.message()
            ))
        })
    }
}

/// What `BigDecimal` sees in a decimal's text: its digits after leading zeros (its
/// precision, 0 for zero), its fraction digits, and its exponent as written (any size).
struct DecimalShape {
    significant_digits: u32,
    fraction_digits: u32,
    exponent: i128,
}

impl DecimalShape {
    /// `None` for text that is not `[+-]digits[.digits][e[+-]digits]` (the ordinary parse
    /// reports it).
    fn of(text: &str) -> Option<DecimalShape> {
        let body = text.strip_prefix(['+', '-']).unwrap_or(text);
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(at) => (&body[..at], Some(&body[at + 1..])),
            None => (body, None),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
            return None;
        }
        let exponent = match exponent {
            None => 0,
            Some(e) => {
                let magnitude = e.strip_prefix(['+', '-']).unwrap_or(e);
                if magnitude.is_empty() || !digits(magnitude) || magnitude.len() > 30 {
                    return None;
                }
                e.parse::<i128>().ok()?
            }
        };
        let all = whole.bytes().chain(fraction.bytes());
        let significant = all.skip_while(|b| *b == b'0').count();
        Some(DecimalShape {
            significant_digits: u32::try_from(significant).ok()?,
            fraction_digits: u32::try_from(fraction.len()).ok()?,
            exponent,
        })
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parameters_read_exponents_and_scales_as_32_bit_integers() {
        let unconvertible = |t: &str| Err(NumberError::Unparseable(t.to_string()));
        for text in [
            "1e2147483648",
            "1e-2147483648",
            "-1e99999999999",
            "0.5e-2147483647",
        ] {
            assert_eq!(Number::parse_parameter(text), unconvertible(text), "{text}");
        }
        // Precision minus scale past i32::MAX wraps to a tiny magnitude.
        assert_eq!(
            Number::parse_parameter("1e2147483647"),
            Err(NumberError::Underflow)
        );
        assert_eq!(
            Number::parse_parameter("10e2147483646"),
            Err(NumberError::Underflow)
        );
        // Inside both ranges the ordinary checks answer, as for any value.
        assert_eq!(
            Number::parse_parameter("1e2147483646"),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            Number::parse_parameter("0e2147483647"),
            Number::parse("0e2147483647")
        );
        assert_eq!(Number::parse_parameter("-12.50"), Number::parse("-12.5"));
        assert_eq!(Number::parse_parameter(""), Err(NumberError::Empty));
        assert_eq!(Number::parse_parameter("abc"), unconvertible("abc"));
        // An item's value reads the same exponents as numbers to range-check.
        assert_eq!(Number::parse("1e2147483647"), Err(NumberError::Overflow));
    }

    fn n(text: &str) -> Number {
        match Number::parse(text) {
            Ok(v) => v,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn normalizes() {
        for (given, want) in [
            ("1E+2", "100"),
            ("01.50", "1.5"),
            ("-0.0", "0"),
            ("-0", "0"),
            ("1e-5", "0.00001"),
            ("1.0", "1"),
            ("-0.50", "-0.5"),
            ("007", "7"),
            ("1.5e-3", "0.0015"),
            ("100", "100"),
            ("0.000", "0"),
            ("+3", "3"),
            (".5", "0.5"),
            ("5.", "5"),
            ("12.345e1", "123.45"),
            ("12.345e5", "1234500"),
            ("0.00e125", "0"),
            ("123e-2", "1.23"),
        ] {
            assert_eq!(n(given).as_str(), want, "{given}");
        }
    }

    #[test]
    fn keeps_38_digits() {
        for t in [
            "12345678901234567890123456789012345678",
            "-98765432109876543210987654321098765432",
            "0.12345678901234567890123456789012345678",
            "1234567890123456789.0123456789012345678",
        ] {
            assert_eq!(n(t).as_str(), t);
        }
        let many_zeros = format!("1{}", "0".repeat(45));
        assert_eq!(n(&many_zeros).as_str(), many_zeros);
    }

    #[test]
    fn errors_in_dynamodb_order() {
        assert_eq!(Number::parse(""), Err(NumberError::Empty));
        for bad in [
            "abc", "1..2", "0x10", "1e", " 1", "1 ", "Infinity", "NaN", "-", "+", ".", "e5", "1e+",
            "--1", "1.2.3",
        ] {
            assert_eq!(
                Number::parse(bad),
                Err(NumberError::Unparseable(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(Number::parse("1E+126"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("-1E+126"), Err(NumberError::Overflow));
        // An exponent past a 32-bit integer is out of range; past a 64-bit one it cannot
        // be read at all (the dynamodb-conformance suite's numberExponent captures).
        assert_eq!(Number::parse("1e99999999999"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("1e-99999999999"), Err(NumberError::Underflow));
        for unreadable in ["1e9223372036854775808", "1e-999999999999999999999"] {
            assert_eq!(
                Number::parse(unreadable),
                Err(NumberError::Unparseable(unreadable.into()))
            );
        }
        assert!(Number::parse("1e9223372036854775807").is_err());
        assert_eq!(Number::parse("1E-131"), Err(NumberError::Underflow));
        // Zero is held to the range by the exponent it is written with.
        assert_eq!(Number::parse("0e126"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("0e-131"), Err(NumberError::Underflow));
        assert_eq!(
            Number::parse("0e125").map(|z| z.as_str().to_string()),
            Ok("0".into())
        );
        assert_eq!(
            Number::parse("123456789012345678901234567890123456789"),
            Err(NumberError::TooManyDigits)
        );
        // Overflow is reported before too many digits.
        assert_eq!(
            Number::parse("1234567890123456789012345678901234567891e200"),
            Err(NumberError::Overflow)
        );
        assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
        assert!(Number::parse("1E-130").is_ok());
        assert!(Number::parse("-1E-130").is_ok());
    }

    #[test]
    fn messages_are_exact() {
        assert_eq!(
            NumberError::Unparseable("x".into()).message(),
            "The parameter cannot be converted to a numeric value: x"
        );
        assert_eq!(
            NumberError::Empty.message(),
            "The parameter cannot be converted to a numeric value"
        );
        assert_eq!(
            NumberError::Overflow.message(),
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        );
        assert_eq!(
            NumberError::Underflow.message(),
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        );
        assert_eq!(
            NumberError::TooManyDigits.message(),
            "Attempting to store more than 38 significant digits in a Number"
        );
    }

    #[test]
    fn compares_numerically() {
        let ordered = [
            "-100", "-12.5", "-1.01", "-1", "-0.5", "0", "0.001", "1", "1.01", "1.2", "9", "10",
            "100.5",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(n(a).cmp(&n(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(n("1.0"), n("1"));
        assert_eq!(n("12.50"), n("12.5"));
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(
            n("0.1").add(&n("0.2")).map(|v| v.to_string()),
            Ok("0.3".into())
        );
        assert_eq!(n("1").sub(&n("1")).map(|v| v.to_string()), Ok("0".into()));
        assert_eq!(
            n("5").sub(&n("7.5")).map(|v| v.to_string()),
            Ok("-2.5".into())
        );
        assert_eq!(
            n("999999999999999999").add(&n("1")).map(|v| v.to_string()),
            Ok("1000000000000000000".into())
        );
        assert_eq!(
            n("9.9999999999999999999999999999999999999E+125").add(&n("1E+125")),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            n("12345678901234567890123456789012345678").add(&n("0.1")),
            Err(NumberError::TooManyDigits)
        );
        assert_eq!(
            n("1e100").sub(&n("1e100")).map(|v| v.to_string()),
            Ok("0".into())
        );
    }

    #[test]
    fn integer_helpers() {
        assert_eq!(Number::from_i64(0).as_str(), "0");
        assert_eq!(Number::from_i64(-120).as_str(), "-120");
        assert_eq!(Number::from_i64(i64::MIN).as_str(), i64::MIN.to_string());
        assert_eq!(Number::from_u64(u64::MAX).as_str(), u64::MAX.to_string());
        assert_eq!(Number::from_i64(-120), n("-1.2e2"));
        assert_eq!(n("-1.2e2").to_i64(), Some(-120));
        assert_eq!(n("2.5").to_f64(), 2.5);
        assert_eq!(n("0.0120").digit_count(), 2);
        assert_eq!(n("0").digit_count(), 1);
    }

    fn decimal_text() -> impl Strategy<Value = String> {
        (
            "-?",
            "[0-9]{1,20}",
            proptest::option::of("[0-9]{1,20}"),
            proptest::option::of(-60i32..60),
        )
            .prop_map(|(sign, int, frac, exp)| {
                let mut s = format!("{sign}{int}");
                if let Some(f) = frac {
                    s.push('.');
                    s.push_str(&f);
                }
                if let Some(e) = exp {
                    s.push_str(&format!("e{e}"));
                }
                s
            })
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Number::parse(&s);
        }

        #[test]
        fn order_and_value_match_bigdecimal(a in decimal_text(), b in decimal_text()) {
            if let (Ok(x), Ok(y)) = (Number::parse(&a), Number::parse(&b)) {
                let bx = bigdecimal::BigDecimal::from_str(&a).unwrap_or_default();
                let by = bigdecimal::BigDecimal::from_str(&b).unwrap_or_default();
                prop_assert_eq!(x.cmp(&y), bx.cmp(&by));
                // The normalized text denotes the same value.
                let back = bigdecimal::BigDecimal::from_str(x.as_str()).unwrap_or_default();
                prop_assert_eq!(back, bx.clone());
                prop_assert_eq!(Number::parse(x.as_str()), Ok(x.clone()));
                prop_assert!(!x.as_str().contains('e'));
                if let Ok(sum) = x.add(&y) {
                    let bsum = bigdecimal::BigDecimal::from_str(sum.as_str()).unwrap_or_default();
                    prop_assert_eq!(bsum, bx + by);
                }
            }
        }
    }
}
