//! Tokens of a PartiQL statement.

use std::fmt;

/// One token. Unquoted identifiers double as keywords (matched case-insensitively by the
/// parser); double-quoted ones never are.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Ident(String),
    QuotedIdent(String),
    /// A single-quoted string, `''` unescaped.
    Str(String),
    Number(String),
    Param,
    Symbol(&'static str),
}

/// Where a token stands, as DynamoDB names places in a statement (`at 1:49:6`): its line
/// and column, counted in characters from 1, and its length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    line: usize,
    column: usize,
    length: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.line, self.column, self.length)
    }
}

/// Turns byte offsets into [`Span`]s, walking the text once as tokens are met in order.
struct Locator<'a> {
    text: &'a str,
    at: usize,
    line: usize,
    column: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Locator {
            text,
            at: 0,
            line: 1,
            column: 1,
        }
    }

    /// The span of the text from byte `start` to byte `end`, `start` not before the last.
    fn span(&mut self, start: usize, end: usize) -> Span {
        for c in self.text[self.at..start].chars() {
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.at = start;
        Span {
            line: self.line,
            column: self.column,
            length: self.text[start..end].chars().count(),
        }
    }
}

const SYMBOLS: [&str; 21] = [
    "<<", ">>", "<>", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "*", "=", "<",
    ">", "+", "-",
];

/// Splits the statement `rest` into tokens; a `;` may end it. Comments are skipped: `--`
/// to the end of its line and `/* ... */`, as DynamoDB reads them (a `--` taken for two
/// minus signs turned `SET c = 10 -- 5` into 15). An error's text is the detail DynamoDB
/// gives after its malformed-statement words: none for what it cannot read at all.
pub fn tokenize(rest: &str) -> Result<Vec<(Token, Span)>, String> {
    let mut tokens = Vec::new();
    let mut locator = Locator::new(rest);
    let bytes = rest.as_bytes();
    let mut i = 0;
    // Where a `;` ended the statement: only whitespace and comments may follow.
    let mut ended = false;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let token = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if rest[i..].starts_with("--") {
            i = rest[i..].find('\n').map_or(bytes.len(), |end| i + end + 1);
            continue;
        } else if rest[i..].starts_with("/*") {
            // DynamoDB says nothing more of this, nor of a character it cannot read.
            let Some(end) = rest[i + 2..].find("*/") else {
                return Err(String::new());
            };
            i += 2 + end + 2;
            continue;
        } else if ended {
            return Err("unexpected text after ';'".into());
        } else if c == b';' {
            ended = true;
            i += 1;
            continue;
        } else if c == b'\'' || c == b'"' {
            let (value, next) = quoted(rest, i, c)?;
            i = next;
            if c == b'\'' {
                Token::Str(value)
            } else {
                Token::QuotedIdent(value)
            }
        } else if c == b'?' {
            i += 1;
            Token::Param
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            i = number_end(bytes, i);
            let text = &rest[start..i];
            if !readable_number(text) {
                return Err(String::new());
            }
            Token::Number(text.to_string())
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Token::Ident(rest[start..i].to_string())
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| rest[i..].starts_with(**s)) {
            i += symbol.len();
            Token::Symbol(symbol)
        } else {
            return Err(String::new());
        };
        tokens.push((token, locator.span(start, i)));
    }
    Ok(tokens)
}

/// The index after the number literal that starts at `i`: digits and points, then an
/// optional exponent.
fn number_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    i
}

/// Whether DynamoDB can read number literal `text` as a decimal at all: its exponent, and
/// its scale (the digits after the point less the exponent), each within a 32-bit integer.
/// One that cannot be read is refused with nothing after the malformed-statement words
/// (`1e2147483648`, `1.5e-2147483647`: the dynamodb-conformance suite's partiqlGrammar
/// captures), before any range check that would name it an overflow or underflow.
fn readable_number(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, "0"),
    };
    let digits = exponent.trim_start_matches(['+', '-']);
    // More digits than any 32-bit exponent, leading zeros aside, cannot fit one.
    let significant = digits.trim_start_matches('0');
    if digits.is_empty() || significant.len() > 10 {
        return false;
    }
    let magnitude: i64 = significant.parse().unwrap_or(0);
    let exponent = if exponent.starts_with('-') {
        -magnitude
    } else {
        magnitude
    };
    let fraction_digits = mantissa
        .find('.')
        .map_or(0, |point| mantissa.len() - point - 1);
    let scale = i64::try_from(fraction_digits).unwrap_or(i64::MAX) - exponent;
    i32::try_from(exponent).is_ok() && i32::try_from(scale).is_ok()
}

/// Reads a quoted run starting at `start` (the opening quote); a doubled quote stands for
/// one. Returns the text and the index after the closing quote.
fn quoted(text: &str, start: usize, quote: u8) -> Result<(String, usize), String> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut run = i;
    while i < bytes.len() {
        if bytes[i] == quote {
            out.push_str(&text[run..i]);
            if bytes.get(i + 1) == Some(&quote) {
                out.push(quote as char);
                i += 2;
                run = i;
                continue;
            }
            return Ok((out, i + 1));
        }
        i += 1;
    }
    Err("unterminated quoted text".into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The tokens of `text`, without their places.
    fn tokens(text: &str) -> Result<Vec<Token>, String> {
        tokenize(text).map(|spanned| spanned.into_iter().map(|(token, _)| token).collect())
    }

    #[test]
    fn comments_are_skipped_wherever_they_stand() {
        let plain = tokens("UPDATE t SET c = 10 WHERE pk = 'c'").unwrap();
        for text in [
            "UPDATE t SET c = 10 -- 5\nWHERE pk = 'c'",
            "-- first\nUPDATE t SET c = 10 WHERE pk = 'c' -- last",
            "UPDATE t /* a, b */ SET c = 10 WHERE pk = 'c';",
            "UPDATE t SET c = 10 WHERE pk = 'c'; -- done",
        ] {
            assert_eq!(tokens(text).unwrap(), plain, "{text}");
        }
        // Inside a string a dash pair is text.
        assert_eq!(tokens("'a--b'").unwrap(), vec![Token::Str("a--b".into())]);
        assert!(tokens("SELECT * FROM t /* open").is_err());
        assert!(tokens("SELECT * FROM t; SELECT").is_err());
    }

    #[test]
    fn splits_a_statement() {
        let tokens =
            tokens(r#"SELECT a, "b c" FROM "t" WHERE n >= 1.5e3 AND s = 'it''s' AND x <> ?;"#)
                .unwrap();
        assert_eq!(
            tokens,
            vec![
                Token::Ident("SELECT".into()),
                Token::Ident("a".into()),
                Token::Symbol(","),
                Token::QuotedIdent("b c".into()),
                Token::Ident("FROM".into()),
                Token::QuotedIdent("t".into()),
                Token::Ident("WHERE".into()),
                Token::Ident("n".into()),
                Token::Symbol(">="),
                Token::Number("1.5e3".into()),
                Token::Ident("AND".into()),
                Token::Ident("s".into()),
                Token::Symbol("="),
                Token::Str("it's".into()),
                Token::Ident("AND".into()),
                Token::Ident("x".into()),
                Token::Symbol("<>"),
                Token::Param,
            ]
        );
    }

    #[test]
    fn bags_and_errors() {
        assert_eq!(
            tokens("<<'a'>>").unwrap(),
            vec![
                Token::Symbol("<<"),
                Token::Str("a".into()),
                Token::Symbol(">>")
            ]
        );
        assert!(tokens("'open").is_err());
        assert!(tokens("a # b").is_err());
    }

    #[test]
    fn tokens_know_their_places() {
        let spanned = tokenize("SELECT x\n  FROM \"tä\" -- c\nWHERE n = 'é'").unwrap();
        let places: Vec<String> = spanned.iter().map(|(_, at)| at.to_string()).collect();
        assert_eq!(
            places,
            ["1:1:6", "1:8:1", "2:3:4", "2:8:4", "3:1:5", "3:7:1", "3:9:1", "3:11:3"]
        );
    }

    /// Exponents and scales beyond a 32-bit integer cannot be read, and are refused with no
    /// detail; ones within it are numbers, however large (their range is checked later).
    #[test]
    fn numbers_past_a_32_bit_exponent_or_scale_are_unreadable() {
        for text in [
            "1e2147483648",
            "1e99999999999",
            "1.5e-2147483647",
            "1e-2147483649",
            "1e",
            "1e+",
            "1E000000000000000000002147483648",
        ] {
            assert_eq!(tokens(text), Err(String::new()), "{text}");
        }
        for text in [
            "1e2147483647",
            "1e-2147483647",
            "15e-2147483647",
            "1E+0000000000000000000126",
            "1e126",
            ".5e3",
            "7.31E6",
        ] {
            assert_eq!(tokens(text), Ok(vec![Token::Number(text.into())]), "{text}");
        }
    }
}
