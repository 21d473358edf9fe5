//! The expression lexer: text to tokens with byte spans.
//!
//! Tokens keep their byte range in the source so that syntax errors can quote DynamoDB's
//! `near` text (the previous, current and next token with the whitespace between them)
//! straight from the input. A character that starts no token becomes a one-character
//! [`TokenKind::Unknown`] token, so the parser reports it like any other unexpected token
//! instead of the lexer needing its own error path. Keywords are not distinguished here:
//! whether `and` is a keyword depends on where it appears, which only the parser knows.

use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A bare name or keyword: `[A-Za-z][A-Za-z0-9_]*` (a leading `_` is DynamoDB's syntax
    /// error at `_`, so `_` alone is an unknown token).
    Ident,
    /// `#name`.
    NameRef,
    /// `:value`.
    ValueRef,
    /// Digits (only meaningful inside `[` `]`).
    Number,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    /// A character no token starts with.
    Unknown,
    /// The end of the input (empty span at the end).
    Eof,
}

/// One token and where it sits in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

impl Token {
    /// The token's text in `src` (`<EOF>` for the end of input, as DynamoDB prints it).
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        if self.kind == TokenKind::Eof {
            "<EOF>"
        } else {
            src.get(self.span.clone()).unwrap_or("")
        }
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `src` into tokens; the last one is always [`TokenKind::Eof`].
pub(crate) fn lex(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let run_end = |from: usize| {
            let mut j = from;
            while j < bytes.len() && is_ident_char(bytes[j]) {
                j += 1;
            }
            j
        };
        let (kind, end) = match b {
            b'#' | b':' => {
                let end = run_end(i + 1);
                if end == i + 1 {
                    (TokenKind::Unknown, i + 1)
                } else if b == b'#' {
                    (TokenKind::NameRef, end)
                } else {
                    (TokenKind::ValueRef, end)
                }
            }
            b'0'..=b'9' => {
                let mut j = i;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                (TokenKind::Number, j)
            }
            _ if is_ident_start(b) => (TokenKind::Ident, run_end(i)),
            b'(' => (TokenKind::LParen, i + 1),
            b')' => (TokenKind::RParen, i + 1),
            b'[' => (TokenKind::LBracket, i + 1),
            b']' => (TokenKind::RBracket, i + 1),
            b',' => (TokenKind::Comma, i + 1),
            b'.' => (TokenKind::Dot, i + 1),
            b'=' => (TokenKind::Eq, i + 1),
            b'+' => (TokenKind::Plus, i + 1),
            b'-' => (TokenKind::Minus, i + 1),
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => (TokenKind::Ne, i + 2),
                Some(b'=') => (TokenKind::Le, i + 2),
                _ => (TokenKind::Lt, i + 1),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => (TokenKind::Ge, i + 2),
                _ => (TokenKind::Gt, i + 1),
            },
            _ => {
                // One whole UTF-8 character, so spans always sit on char boundaries.
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                (TokenKind::Unknown, i + len)
            }
        };
        out.push(Token {
            kind,
            span: start..end,
        });
        i = end;
    }
    out.push(Token {
        kind: TokenKind::Eof,
        span: src.len()..src.len(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, String)> {
        lex(src)
            .iter()
            .map(|t| (t.kind, t.text(src).to_string()))
            .collect()
    }

    #[test]
    fn tokens_and_spans() {
        use TokenKind::*;
        assert_eq!(
            kinds("a.b[12] <> :v AND #n>=x"),
            vec![
                (Ident, "a".into()),
                (Dot, ".".into()),
                (Ident, "b".into()),
                (LBracket, "[".into()),
                (Number, "12".into()),
                (RBracket, "]".into()),
                (Ne, "<>".into()),
                (ValueRef, ":v".into()),
                (Ident, "AND".into()),
                (NameRef, "#n".into()),
                (Ge, ">=".into()),
                (Ident, "x".into()),
                (Eof, "<EOF>".into()),
            ]
        );
    }

    #[test]
    fn odd_characters_are_single_unknown_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("!é#"),
            vec![
                (Unknown, "!".into()),
                (Unknown, "é".into()),
                (Unknown, "#".into()),
                (Eof, "<EOF>".into()),
            ]
        );
    }
}
