//! Recursive-descent parser from tokens to the raw (unresolved) syntax tree.
//!
//! The raw tree keeps `#name` / `:value` references and bare names as written; resolving
//! them and every semantic rule (reserved words, function arity, operand types, overlapping
//! paths) happens afterwards in `check.rs`, because DynamoDB reports any syntax error before
//! any semantic one. Conditions use precedence climbing `OR < AND < NOT < comparison`.
//!
//! Limits: DynamoDB allows [`MAX_OPERATORS`] operators and functions per expression
//! (comparisons, `BETWEEN`, `IN`, `AND`, `OR`, `NOT`, `+`, `-` and function calls) and
//! reports the first one past it (`The expression contains too many operators; operator
//! count: 301`). Parentheses and function arguments also go through [`Parser::enter`],
//! which caps their nesting at [`MAX_DEPTH`] so that no input can overflow the stack (runs
//! of `NOT` are read in a loop). The cap is above anything a valid expression reaches: each
//! level of parentheses in a valid expression holds operators (deeper parentheses are
//! redundant, which DynamoDB refuses), so the operator limit stops a valid-looking
//! expression first; only inputs DynamoDB refuses anyway (hundreds of redundant
//! parentheses, nested calls of unknown functions) meet the cap, as a syntax error.
//!
//! Syntax errors are built in one place, [`Parser::syntax_error`]: DynamoDB's
//! `Syntax error; token: "X", near: "Y"`, where `near` is the source text from the token
//! before the offending one to the token after it (`<EOF>` contributes nothing, so the text
//! runs to the end of the input).

use super::lexer::{lex, Token, TokenKind};

/// Most operators and functions one expression may hold (DynamoDB's documented limit).
pub(crate) const MAX_OPERATORS: usize = 300;

/// Most levels of a document path, the top-level attribute included (DynamoDB's limit on
/// nested attributes): `a.b[0]` has three.
pub(crate) const MAX_PATH_LEVELS: usize = 32;

/// Deepest nesting of parentheses and function calls accepted: above the 150 levels of
/// parentheses a valid expression can reach (each needs two operators, as in
/// `a<b OR (a<b OR (...))`), and low enough for a debug build on a 2 MiB tokio worker
/// stack (`deep_nesting_is_an_error_not_a_crash`).
pub(crate) const MAX_DEPTH: usize = 200;

/// A comparison operator (also PartiQL's, `crate::partiql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator with its operands swapped: `:v < k` is `k > :v`.
    pub fn swapped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Eq | CmpOp::Ne => self,
        }
    }
}

/// `+` or `-` in a SET value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Plus,
    Minus,
}

/// One element of a path as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawElem {
    /// A bare name (subject to the reserved-word rule).
    Name(String),
    /// `#name`, resolved through ExpressionAttributeNames.
    NameRef(String),
    Index(usize),
}

/// A document path as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPath {
    pub elems: Vec<RawElem>,
}

/// An operand as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawOperand {
    Path(RawPath),
    /// `:value`.
    Value(String),
    /// `name(args)`; the name is checked (case-sensitively) later.
    Call {
        name: String,
        args: Vec<RawOperand>,
    },
    /// `a + b` / `a - b` (SET values only).
    Arith(ArithOp, Box<RawOperand>, Box<RawOperand>),
    /// `( operand )`.
    Paren(Box<RawOperand>),
}

/// A condition as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawCond {
    Compare(CmpOp, RawOperand, RawOperand),
    Between(RawOperand, RawOperand, RawOperand),
    In(RawOperand, Vec<RawOperand>),
    /// A function call used as a condition (`attribute_exists(a)`).
    Function(RawOperand),
    And(Box<RawCond>, Box<RawCond>),
    Or(Box<RawCond>, Box<RawCond>),
    Not(Box<RawCond>),
    Parens(Box<RawCond>),
}

/// Which update clause an action belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clause {
    Set,
    Remove,
    Add,
    Delete,
}

impl Clause {
    pub fn name(self) -> &'static str {
        match self {
            Clause::Set => "SET",
            Clause::Remove => "REMOVE",
            Clause::Add => "ADD",
            Clause::Delete => "DELETE",
        }
    }
}

/// One action of an update expression, in text order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawAction {
    Set(RawPath, RawOperand),
    Remove(RawPath),
    Add(RawPath, RawOperand),
    Delete(RawPath, RawOperand),
}

/// Words that are keywords of the condition grammar, never attribute names there
/// (compared ignoring case). Elsewhere they are names, subject to the reserved-word rule.
const CONDITION_KEYWORDS: [&str; 5] = ["AND", "OR", "NOT", "BETWEEN", "IN"];

/// The clause keywords of the update grammar.
const UPDATE_KEYWORDS: [&str; 4] = ["SET", "REMOVE", "ADD", "DELETE"];

/// A condition or a bare operand: which one a parenthesized group is only becomes clear
/// after it (`(a) = :v` versus `(a = :v)`).
enum Either {
    Cond(RawCond),
    Operand(RawOperand),
}

/// Joins a chain `a AND b AND c ...` (or OR) into a balanced tree. Both operators are
/// associative, so the shape does not change the meaning, and a balanced tree keeps every
/// later recursion (resolution, evaluation, drop) logarithmic in the chain length.
fn balanced(mut terms: Vec<RawCond>, or: bool) -> RawCond {
    if terms.len() <= 1 {
        return terms
            .pop()
            .unwrap_or(RawCond::Function(RawOperand::Value(String::new())));
    }
    let right = terms.split_off(terms.len() / 2);
    let (l, r) = (balanced(terms, or), balanced(right, or));
    if or {
        RawCond::Or(Box::new(l), Box::new(r))
    } else {
        RawCond::And(Box::new(l), Box::new(r))
    }
}

/// The parser state over one expression's tokens.
pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Operators and functions seen so far.
    operators: usize,
    /// The keywords of the grammar being parsed.
    keywords: &'static [&'static str],
}

/// A parse failure: DynamoDB's message without the `Invalid X: ` prefix.
pub(crate) type ParseResult<T> = Result<T, String>;

impl<'a> Parser<'a> {
    pub fn new(src: &'a str) -> Self {
        Parser {
            src,
            toks: lex(src),
            pos: 0,
            depth: 0,
            operators: 0,
            keywords: &[],
        }
    }

    fn peek(&self) -> &Token {
        // `lex` always ends with Eof and `pos` never moves past it.
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.pos.min(last)]
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.toks.get(self.pos + offset)
    }

    fn kind(&self) -> TokenKind {
        self.peek().kind
    }

    fn advance(&mut self) {
        if self.kind() != TokenKind::Eof {
            self.pos += 1;
        }
    }

    fn text(&self) -> &'a str {
        self.peek().text(self.src)
    }

    fn is_keyword(&self, word: &str) -> bool {
        self.keywords.iter().any(|k| k.eq_ignore_ascii_case(word))
    }

    /// Whether the current token is the keyword `kw` (any case).
    fn at_keyword(&self, kw: &str) -> bool {
        self.kind() == TokenKind::Ident && self.text().eq_ignore_ascii_case(kw)
    }

    /// DynamoDB's syntax error for the current token.
    pub fn syntax_error(&self) -> String {
        let idx = self.pos.min(self.toks.len().saturating_sub(1));
        let cur = &self.toks[idx];
        let start = if idx > 0 {
            self.toks[idx - 1].span.start
        } else {
            cur.span.start
        };
        let end = match self.toks.get(idx + 1) {
            Some(next) if cur.kind != TokenKind::Eof => next.span.end,
            _ => cur.span.end,
        };
        let near = self.src.get(start..end).unwrap_or("");
        format!(
            "Syntax error; token: \"{}\", near: \"{}\"",
            cur.text(self.src),
            near
        )
    }

    fn expect(&mut self, kind: TokenKind) -> ParseResult<()> {
        if self.kind() == kind {
            self.advance();
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    fn expect_eof(&self) -> ParseResult<()> {
        if self.kind() == TokenKind::Eof {
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    /// Counts one operator or function, failing on the first past [`MAX_OPERATORS`].
    fn operator(&mut self) -> ParseResult<()> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(format!(
                "The expression contains too many operators; operator count: {}",
                self.operators
            ));
        }
        Ok(())
    }

    /// Runs `f` one nesting level deeper, failing past [`MAX_DEPTH`].
    fn enter<T>(&mut self, f: impl FnOnce(&mut Self) -> ParseResult<T>) -> ParseResult<T> {
        if self.depth >= MAX_DEPTH {
            return Err(self.syntax_error());
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }

    // ------------------------------------------------------------ paths and operands

    /// `name ( '.' name | '[' digits ']' )*`
    pub fn path(&mut self) -> ParseResult<RawPath> {
        let mut elems = vec![self.path_name()?];
        loop {
            match self.kind() {
                TokenKind::Dot => {
                    self.advance();
                    elems.push(self.path_name()?);
                }
                TokenKind::LBracket => {
                    self.advance();
                    if self.kind() != TokenKind::Number {
                        return Err(self.syntax_error());
                    }
                    let text = self.text();
                    let index: usize = match text.parse::<u32>() {
                        Ok(i) => i as usize,
                        Err(_) if text.bytes().all(|b| b.is_ascii_digit()) => {
                            return Err(format!(
                                "List index is not within the allowable range; index: [{text}]"
                            ))
                        }
                        Err(_) => return Err(self.syntax_error()),
                    };
                    self.advance();
                    self.expect(TokenKind::RBracket)?;
                    elems.push(RawElem::Index(index));
                }
                _ => break,
            }
        }
        if elems.len() > MAX_PATH_LEVELS {
            return Err(format!(
                "The document path has too many nesting levels; nesting levels: {}",
                elems.len()
            ));
        }
        Ok(RawPath { elems })
    }

    fn path_name(&mut self) -> ParseResult<RawElem> {
        let text = self.text();
        let elem = match self.kind() {
            TokenKind::Ident if !self.is_keyword(text) => RawElem::Name(text.to_string()),
            TokenKind::NameRef => RawElem::NameRef(text.to_string()),
            _ => return Err(self.syntax_error()),
        };
        self.advance();
        Ok(elem)
    }

    /// A path, `:value`, function call or parenthesized operand.
    pub fn operand(&mut self) -> ParseResult<RawOperand> {
        match self.kind() {
            TokenKind::LParen => {
                self.advance();
                self.enter(Self::operand_group)
            }
            TokenKind::ValueRef => {
                let name = self.text().to_string();
                self.advance();
                Ok(RawOperand::Value(name))
            }
            TokenKind::Ident
                if !self.is_keyword(self.text())
                    && self.peek_at(1).map(|t| t.kind) == Some(TokenKind::LParen) =>
            {
                let name = self.text().to_string();
                self.operator()?;
                self.advance();
                self.advance();
                self.enter(|p| p.call(name))
            }
            TokenKind::Ident | TokenKind::NameRef => Ok(RawOperand::Path(self.path()?)),
            _ => Err(self.syntax_error()),
        }
    }

    /// The rest of `( operand )`.
    fn operand_group(&mut self) -> ParseResult<RawOperand> {
        let inner = self.operand()?;
        self.expect(TokenKind::RParen)?;
        Ok(RawOperand::Paren(Box::new(inner)))
    }

    /// The arguments and `)` of a call to `name`: at least one (`f()` is a syntax error at
    /// `)`).
    fn call(&mut self, name: String) -> ParseResult<RawOperand> {
        let mut args = vec![self.operand()?];
        while self.kind() == TokenKind::Comma {
            self.advance();
            args.push(self.operand()?);
        }
        self.expect(TokenKind::RParen)?;
        Ok(RawOperand::Call { name, args })
    }

    // ------------------------------------------------------------ conditions

    /// A whole condition expression.
    pub fn condition(&mut self) -> ParseResult<RawCond> {
        self.keywords = &CONDITION_KEYWORDS;
        let c = self.or()?;
        let c = self.to_cond(c)?;
        self.expect_eof()?;
        Ok(c)
    }

    /// Requires a condition where `e` stands: a bare function call is one, any other
    /// operand is a syntax error at the current token.
    fn to_cond(&self, e: Either) -> ParseResult<RawCond> {
        fn call_of(o: RawOperand) -> Option<RawCond> {
            match o {
                RawOperand::Call { .. } => Some(RawCond::Function(o)),
                RawOperand::Paren(inner) => call_of(*inner).map(|c| RawCond::Parens(Box::new(c))),
                _ => None,
            }
        }
        match e {
            Either::Cond(c) => Ok(c),
            Either::Operand(o) => call_of(o).ok_or_else(|| self.syntax_error()),
        }
    }

    // The functions on the recursive path (`or`, `and`, `not`, `primary`, `group`) keep
    // few locals and leave the rest of their work to helpers called after the recursion
    // returns: a debug build gives every local its own stack slot, and these frames repeat
    // once per nesting level.

    fn or(&mut self) -> ParseResult<Either> {
        let first = self.and()?;
        if !self.at_keyword("OR") {
            return Ok(first);
        }
        self.chain(first, true)
    }

    fn and(&mut self) -> ParseResult<Either> {
        let first = self.not()?;
        if !self.at_keyword("AND") {
            return Ok(first);
        }
        self.chain(first, false)
    }

    /// The rest of `first OR b OR c ...` (or AND), as a balanced tree.
    fn chain(&mut self, first: Either, or: bool) -> ParseResult<Either> {
        let keyword = if or { "OR" } else { "AND" };
        let mut terms = vec![self.to_cond(first)?];
        while self.at_keyword(keyword) {
            self.operator()?;
            self.advance();
            let rhs = if or { self.and()? } else { self.not()? };
            terms.push(self.to_cond(rhs)?);
        }
        Ok(Either::Cond(balanced(terms, or)))
    }

    /// A run of `NOT`s is read in a loop, not by recursion: its length is bounded by the
    /// operator limit alone (DynamoDB accepts up to 299 of them before a comparison).
    fn not(&mut self) -> ParseResult<Either> {
        let mut nots = 0;
        while self.at_keyword("NOT") {
            self.operator()?;
            self.advance();
            nots += 1;
        }
        let inner = self.primary()?;
        if nots == 0 {
            return Ok(inner);
        }
        let mut cond = self.to_cond(inner)?;
        for _ in 0..nots {
            cond = RawCond::Not(Box::new(cond));
        }
        Ok(Either::Cond(cond))
    }

    fn primary(&mut self) -> ParseResult<Either> {
        let lhs = if self.kind() == TokenKind::LParen {
            match self.group()? {
                Either::Cond(c) => return Ok(Either::Cond(RawCond::Parens(Box::new(c)))),
                Either::Operand(o) => RawOperand::Paren(Box::new(o)),
            }
        } else {
            self.operand()?
        };
        self.comparison(lhs)
    }

    /// `( condition-or-operand )`.
    fn group(&mut self) -> ParseResult<Either> {
        self.advance();
        self.enter(|p| {
            let inner = p.or()?;
            p.expect(TokenKind::RParen)?;
            Ok(inner)
        })
    }

    /// What may follow an operand in a condition: a comparison, BETWEEN or IN, or nothing.
    fn comparison(&mut self, lhs: RawOperand) -> ParseResult<Either> {
        let cmp = match self.kind() {
            TokenKind::Eq => Some(CmpOp::Eq),
            TokenKind::Ne => Some(CmpOp::Ne),
            TokenKind::Lt => Some(CmpOp::Lt),
            TokenKind::Le => Some(CmpOp::Le),
            TokenKind::Gt => Some(CmpOp::Gt),
            TokenKind::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = cmp {
            self.operator()?;
            self.advance();
            let rhs = self.operand()?;
            return Ok(Either::Cond(RawCond::Compare(op, lhs, rhs)));
        }
        if self.at_keyword("BETWEEN") {
            self.operator()?;
            self.advance();
            let lo = self.operand()?;
            if !self.at_keyword("AND") {
                return Err(self.syntax_error());
            }
            self.advance();
            let hi = self.operand()?;
            return Ok(Either::Cond(RawCond::Between(lhs, lo, hi)));
        }
        if self.at_keyword("IN") {
            self.operator()?;
            self.advance();
            self.expect(TokenKind::LParen)?;
            let mut list = vec![self.operand()?];
            while self.kind() == TokenKind::Comma {
                self.advance();
                list.push(self.operand()?);
            }
            self.expect(TokenKind::RParen)?;
            return Ok(Either::Cond(RawCond::In(lhs, list)));
        }
        Ok(Either::Operand(lhs))
    }

    // ------------------------------------------------------------ updates

    /// A whole update expression: its actions in text order. A clause keyword seen twice
    /// fails with DynamoDB's "section can only be used once" message.
    pub fn update(&mut self) -> ParseResult<Vec<RawAction>> {
        self.keywords = &UPDATE_KEYWORDS;
        let mut actions = Vec::new();
        let mut seen: Vec<Clause> = Vec::new();
        while self.kind() != TokenKind::Eof {
            let clause = if self.at_keyword("SET") {
                Clause::Set
            } else if self.at_keyword("REMOVE") {
                Clause::Remove
            } else if self.at_keyword("ADD") {
                Clause::Add
            } else if self.at_keyword("DELETE") {
                Clause::Delete
            } else {
                return Err(self.syntax_error());
            };
            if seen.contains(&clause) {
                return Err(format!(
                    "The \"{}\" section can only be used once in an update expression;",
                    clause.name()
                ));
            }
            seen.push(clause);
            self.advance();
            loop {
                actions.push(self.action(clause)?);
                if self.kind() != TokenKind::Comma {
                    break;
                }
                self.advance();
            }
        }
        Ok(actions)
    }

    fn action(&mut self, clause: Clause) -> ParseResult<RawAction> {
        let path = self.path()?;
        Ok(match clause {
            Clause::Set => {
                self.expect(TokenKind::Eq)?;
                RawAction::Set(path, self.set_value()?)
            }
            Clause::Remove => RawAction::Remove(path),
            Clause::Add => RawAction::Add(path, self.value_ref()?),
            Clause::Delete => RawAction::Delete(path, self.value_ref()?),
        })
    }

    /// A SET action's value: an operand, or two joined by `+` or `-`, where a value in
    /// parentheses may stand for an operand (`SET c = (c - :v)`, which DynamoDB takes).
    fn set_value(&mut self) -> ParseResult<RawOperand> {
        let lhs = self.set_term()?;
        let op = match self.kind() {
            TokenKind::Plus => ArithOp::Plus,
            TokenKind::Minus => ArithOp::Minus,
            _ => return Ok(lhs),
        };
        self.operator()?;
        self.advance();
        let rhs = self.set_term()?;
        Ok(RawOperand::Arith(op, Box::new(lhs), Box::new(rhs)))
    }

    /// One side of a SET value: `( value )` or an operand.
    fn set_term(&mut self) -> ParseResult<RawOperand> {
        if self.kind() != TokenKind::LParen {
            return self.operand();
        }
        self.advance();
        self.enter(|p| {
            let inner = p.set_value()?;
            p.expect(TokenKind::RParen)?;
            Ok(RawOperand::Paren(Box::new(inner)))
        })
    }

    /// A `:value` (the only operand ADD and DELETE take).
    fn value_ref(&mut self) -> ParseResult<RawOperand> {
        if self.kind() != TokenKind::ValueRef {
            return Err(self.syntax_error());
        }
        let name = self.text().to_string();
        self.advance();
        Ok(RawOperand::Value(name))
    }

    // ------------------------------------------------------------ projections

    /// `path (',' path)*`
    pub fn projection(&mut self) -> ParseResult<Vec<RawPath>> {
        let mut paths = vec![self.path()?];
        while self.kind() == TokenKind::Comma {
            self.advance();
            paths.push(self.path()?);
        }
        self.expect_eof()?;
        Ok(paths)
    }
}

// ---------------------------------------------------------------- canonical printing

/// Canonical text of raw trees: parsing it gives the same tree back (parentheses are
/// nodes of their own, so nothing needs to be added to keep the structure).
impl std::fmt::Display for RawPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.elems.iter().enumerate() {
            match e {
                RawElem::Name(n) | RawElem::NameRef(n) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(n)?;
                }
                RawElem::Index(x) => write!(f, "[{x}]")?,
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for RawOperand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawOperand::Path(p) => write!(f, "{p}"),
            RawOperand::Value(v) => f.write_str(v),
            RawOperand::Call { name, args } => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            RawOperand::Arith(op, a, b) => {
                let sym = match op {
                    ArithOp::Plus => "+",
                    ArithOp::Minus => "-",
                };
                write!(f, "{a} {sym} {b}")
            }
            RawOperand::Paren(o) => write!(f, "({o})"),
        }
    }
}

impl std::fmt::Display for RawCond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawCond::Compare(op, a, b) => write!(f, "{a} {} {b}", op.symbol()),
            RawCond::Between(a, lo, hi) => write!(f, "{a} BETWEEN {lo} AND {hi}"),
            RawCond::In(a, list) => {
                write!(f, "{a} IN (")?;
                for (i, o) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{o}")?;
                }
                f.write_str(")")
            }
            RawCond::Function(call) => write!(f, "{call}"),
            RawCond::And(a, b) => write!(f, "{a} AND {b}"),
            RawCond::Or(a, b) => write!(f, "{a} OR {b}"),
            RawCond::Not(a) => write!(f, "NOT {a}"),
            RawCond::Parens(a) => write!(f, "({a})"),
        }
    }
}

/// Canonical text of an update expression's actions (clauses in their original order).
#[cfg(test)]
pub(crate) fn print_update(actions: &[RawAction]) -> String {
    let mut out = String::new();
    let mut current: Option<Clause> = None;
    for a in actions {
        let clause = match a {
            RawAction::Set(..) => Clause::Set,
            RawAction::Remove(_) => Clause::Remove,
            RawAction::Add(..) => Clause::Add,
            RawAction::Delete(..) => Clause::Delete,
        };
        if current == Some(clause) {
            out.push_str(", ");
        } else {
            if current.is_some() {
                out.push(' ');
            }
            out.push_str(clause.name());
            out.push(' ');
            current = Some(clause);
        }
        let text = match a {
            RawAction::Set(p, v) => format!("{p} = {v}"),
            RawAction::Remove(p) => p.to_string(),
            RawAction::Add(p, v) | RawAction::Delete(p, v) => format!("{p} {v}"),
        };
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond_err(src: &str) -> String {
        match Parser::new(src).condition() {
            Ok(c) => format!("ok {c:?}"),
            Err(e) => e,
        }
    }

    fn update_err(src: &str) -> String {
        match Parser::new(src).update() {
            Ok(c) => format!("ok {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn syntax_errors_quote_neighbouring_tokens() {
        assert_eq!(
            cond_err("a = = :v"),
            "Syntax error; token: \"=\", near: \"= = :v\""
        );
        assert_eq!(
            cond_err("a = :v AND"),
            "Syntax error; token: \"<EOF>\", near: \"AND\""
        );
        assert_eq!(
            cond_err("attribute_type()"),
            "Syntax error; token: \")\", near: \"()\""
        );
        assert_eq!(
            Parser::new("#l[].#c").projection(),
            Err("Syntax error; token: \"]\", near: \"[].\"".to_string())
        );
        assert_eq!(
            cond_err("#l[-1].#c = :v"),
            "Syntax error; token: \"-\", near: \"[-1\""
        );
        assert_eq!(
            update_err("SET #l[0.#c = :v"),
            "Syntax error; token: \".\", near: \"0.#c\""
        );
        assert_eq!(
            update_err("SET numx = numx * :v"),
            "Syntax error; token: \"*\", near: \"numx * :v\""
        );
        assert_eq!(
            update_err("ADD numx 1"),
            "Syntax error; token: \"1\", near: \"numx 1\""
        );
        assert_eq!(
            update_err("DELETE setx a"),
            "Syntax error; token: \"a\", near: \"setx a\""
        );
        assert!(Parser::new("(a) = :v AND ((b)) <> (:w)")
            .condition()
            .is_ok());
        assert!(Parser::new("(attribute_exists(a))").condition().is_ok());
        assert_eq!(
            cond_err("(a)"),
            "Syntax error; token: \"<EOF>\", near: \")\""
        );
        // Keywords belong to their grammar: ADD is a name in a projection.
        assert!(Parser::new("ADD, and").projection().is_ok());
        assert_eq!(cond_err("a b"), "Syntax error; token: \"b\", near: \"a b\"");
        assert_eq!(cond_err("!!"), "Syntax error; token: \"!\", near: \"!!\"");
        assert_eq!(
            cond_err("x[a] = :v"),
            "Syntax error; token: \"a\", near: \"[a]\""
        );
        assert_eq!(
            cond_err("(a = :v"),
            "Syntax error; token: \"<EOF>\", near: \":v\""
        );
        assert_eq!(
            cond_err("a BETWEEN :v"),
            "Syntax error; token: \"<EOF>\", near: \":v\""
        );
        assert_eq!(
            update_err("SET a = :v,"),
            "Syntax error; token: \"<EOF>\", near: \",\""
        );
        assert_eq!(
            update_err("REMOVE"),
            "Syntax error; token: \"<EOF>\", near: \"REMOVE\""
        );
        assert_eq!(
            update_err("ADD numx"),
            "Syntax error; token: \"<EOF>\", near: \"numx\""
        );
        assert_eq!(
            update_err("UPSERT a = :v"),
            "Syntax error; token: \"UPSERT\", near: \"UPSERT a\""
        );
        assert_eq!(
            update_err("SET a :v"),
            "Syntax error; token: \":v\", near: \"a :v\""
        );
        assert_eq!(
            update_err("SET a = :v SET b = :v"),
            "The \"SET\" section can only be used once in an update expression;"
        );
    }

    #[test]
    fn precedence() {
        let c = Parser::new("a = :a OR b = :b AND NOT c = :c").condition();
        let Ok(RawCond::Or(_, rhs)) = c else {
            panic!("expected OR at the top: {c:?}")
        };
        let RawCond::And(_, not) = *rhs else {
            panic!("expected AND under OR")
        };
        assert!(matches!(*not, RawCond::Not(_)));
    }

    proptest::proptest! {
        #[test]
        fn printing_round_trips(tokens in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("a"), proptest::strategy::Just("#b"),
                proptest::strategy::Just(":v"), proptest::strategy::Just("("),
                proptest::strategy::Just(")"), proptest::strategy::Just("[1]"),
                proptest::strategy::Just("."), proptest::strategy::Just(","),
                proptest::strategy::Just("="), proptest::strategy::Just("<="),
                proptest::strategy::Just("+"), proptest::strategy::Just("and"),
                proptest::strategy::Just("OR"), proptest::strategy::Just("NOT"),
                proptest::strategy::Just("BETWEEN"), proptest::strategy::Just("IN"),
                proptest::strategy::Just("SET"), proptest::strategy::Just("REMOVE"),
                proptest::strategy::Just("ADD"), proptest::strategy::Just("f"),
            ],
            0..24,
        )) {
            let text = tokens.join(" ");
            if let Ok(c) = Parser::new(&text).condition() {
                let printed = c.to_string();
                proptest::prop_assert_eq!(Parser::new(&printed).condition(), Ok(c));
            }
            if let Ok(u) = Parser::new(&text).update() {
                let printed = print_update(&u);
                proptest::prop_assert_eq!(Parser::new(&printed).update(), Ok(u));
            }
            if let Ok(p) = Parser::new(&text).projection() {
                let printed: Vec<String> = p.iter().map(|x| x.to_string()).collect();
                proptest::prop_assert_eq!(Parser::new(&printed.join(", ")).projection(), Ok(p));
            }
        }
    }

    #[test]
    fn round_trip_examples() {
        let text = "NOT (a.b[1] = :v OR f(a, :v)) AND c BETWEEN :v AND :v AND d IN (:v, a)";
        let c = Parser::new(text).condition();
        assert_eq!(c.as_ref().map(|c| c.to_string()).as_deref(), Ok(text));
        let u = "SET a = b + :v, c = f(a, :v) REMOVE d[0] ADD e :v";
        let parsed = Parser::new(u).update();
        assert_eq!(parsed.as_ref().map(|a| print_update(a)).as_deref(), Ok(u));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // A tokio worker's stack, on which requests are parsed.
        let parse_all = || {
            let deep = format!("{}a = :v{}", "(".repeat(100_000), ")".repeat(100_000));
            assert!(Parser::new(&deep).condition().is_err());
            let nots = format!("{}a = :v", "NOT ".repeat(100_000));
            assert!(Parser::new(&nots).condition().is_err());
            let calls = format!("{}a{}", "size(".repeat(100_000), ")".repeat(100_000));
            assert!(Parser::new(&calls).condition().is_err());
            // Just inside the cap, parsing succeeds.
            let at_cap = format!("{}a = :v{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
            assert!(Parser::new(&at_cap).condition().is_ok());
        };
        let joined = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(parse_all)
            .map(|h| h.join());
        assert!(matches!(joined, Ok(Ok(()))));
    }

    #[test]
    fn document_paths_have_at_most_32_levels() {
        let path = |levels: usize| format!("a{}", ".b".repeat(levels - 1));
        assert!(Parser::new(&path(32)).path().is_ok());
        assert!(Parser::new("a[0][1].b").path().is_ok());
        assert_eq!(
            Parser::new(&path(33)).path().err().as_deref(),
            Some("The document path has too many nesting levels; nesting levels: 33")
        );
        let indexes = format!("a{}", "[0]".repeat(32));
        assert!(Parser::new(&indexes).path().is_err());
        assert_eq!(
            Parser::new("a[99999999999999]").path().err().as_deref(),
            Some("List index is not within the allowable range; index: [99999999999999]")
        );
    }

    #[test]
    fn operators_are_limited_to_300() {
        // 150 `<` and 149 `or` nested 149 deep: DynamoDB's own accepted example.
        let nested =
            |depth: usize| format!("a<b {}{}", "or (a<b ".repeat(depth), ")".repeat(depth));
        assert!(Parser::new(&nested(149)).condition().is_ok());
        let too_many = "The expression contains too many operators; operator count: 301";
        assert_eq!(
            Parser::new(&nested(150)).condition().err().as_deref(),
            Some(too_many)
        );
        let flat = format!("a<b{}", " or a<b".repeat(300));
        assert_eq!(
            Parser::new(&flat).condition().err().as_deref(),
            Some(too_many)
        );
        // NOT, BETWEEN, IN and function calls count too.
        let nots = format!("{}a = :v", "NOT ".repeat(300));
        assert_eq!(
            Parser::new(&nots).condition().err().as_deref(),
            Some(too_many)
        );
        let mixed = format!(
            "a BETWEEN :x AND :y{}",
            " OR a IN (:x) OR attribute_exists(a)".repeat(100)
        );
        assert_eq!(
            Parser::new(&mixed).condition().err().as_deref(),
            Some(too_many)
        );
        let sets = (0..151)
            .map(|i| format!("a{i} = :v + if_not_exists(b, :v)"))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(
            Parser::new(&format!("SET {sets}"))
                .update()
                .err()
                .as_deref(),
            Some("The expression contains too many operators; operator count: 301")
        );
    }
}
