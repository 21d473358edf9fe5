//! Tokens of a PartiQL statement.

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

const SYMBOLS: [&str; 21] = [
    "<<", ">>", "<>", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "*", "=", "<",
    ">", "+", "-",
];

/// Splits the statement `rest` into tokens; a `;` may end it. Comments are skipped: `--`
/// to the end of its line and `/* ... */`, as DynamoDB reads them (a `--` taken for two
/// minus signs turned `SET c = 10 -- 5` into 15).
pub fn tokenize(rest: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let bytes = rest.as_bytes();
    let mut i = 0;
    // Where a `;` ended the statement: only whitespace and comments may follow.
    let mut ended = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if rest[i..].starts_with("--") {
            i = rest[i..].find('\n').map_or(bytes.len(), |end| i + end + 1);
        } else if rest[i..].starts_with("/*") {
            // DynamoDB says nothing more of this, nor of a character it cannot read.
            let Some(end) = rest[i + 2..].find("*/") else {
                return Err(String::new());
            };
            i += 2 + end + 2;
        } else if ended {
            return Err("unexpected text after ';'".into());
        } else if c == b';' {
            ended = true;
            i += 1;
        } else if c == b'\'' || c == b'"' {
            let (value, next) = quoted(rest, i, c)?;
            tokens.push(if c == b'\'' {
                Token::Str(value)
            } else {
                Token::QuotedIdent(value)
            });
            i = next;
        } else if c == b'?' {
            tokens.push(Token::Param);
            i += 1;
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
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
            tokens.push(Token::Number(rest[start..i].to_string()));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token::Ident(rest[start..i].to_string()));
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| rest[i..].starts_with(**s)) {
            tokens.push(Token::Symbol(symbol));
            i += symbol.len();
        } else {
            return Err(String::new());
        }
    }
    Ok(tokens)
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

    #[test]
    fn comments_are_skipped_wherever_they_stand() {
        let plain = tokenize("UPDATE t SET c = 10 WHERE pk = 'c'").unwrap();
        for text in [
            "UPDATE t SET c = 10 -- 5\nWHERE pk = 'c'",
            "-- first\nUPDATE t SET c = 10 WHERE pk = 'c' -- last",
            "UPDATE t /* a, b */ SET c = 10 WHERE pk = 'c';",
            "UPDATE t SET c = 10 WHERE pk = 'c'; -- done",
        ] {
            assert_eq!(tokenize(text).unwrap(), plain, "{text}");
        }
        // Inside a string a dash pair is text.
        assert_eq!(tokenize("'a--b'").unwrap(), vec![Token::Str("a--b".into())]);
        assert!(tokenize("SELECT * FROM t /* open").is_err());
        assert!(tokenize("SELECT * FROM t; SELECT").is_err());
    }

    #[test]
    fn splits_a_statement() {
        let tokens =
            tokenize(r#"SELECT a, "b c" FROM "t" WHERE n >= 1.5e3 AND s = 'it''s' AND x <> ?;"#)
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
            tokenize("<<'a'>>").unwrap(),
            vec![
                Token::Symbol("<<"),
                Token::Str("a".into()),
                Token::Symbol(">>")
            ]
        );
        assert!(tokenize("'open").is_err());
        assert!(tokenize("a # b").is_err());
    }
}
