//! Recursive-descent parser from tokens to a [`Statement`].
//!
//! Grammar (keywords case-insensitive):
//! ```text
//! statement := select | insert | update | from_first | delete | EXISTS '(' select ')'
//! select    := SELECT ( '*' | path {',' path} ) FROM table ['.' name] [WHERE cond]
//!              [ORDER BY path [ASC|DESC]]
//! insert    := INSERT INTO table VALUE literal
//! update    := UPDATE table action {action} WHERE cond [returning]
//! from_first:= FROM table [WHERE cond] action {action} [returning]   (an update)
//! action    := SET path '=' operand {',' path '=' operand} | REMOVE path {',' path}
//! delete    := DELETE FROM table WHERE cond [returning]
//! returning := RETURNING (ALL|MODIFIED) (OLD|NEW) '*'
//! cond      := and {OR and};  and := not {AND not};  not := NOT not | predicate
//! predicate := '(' cond ')' | function '(' args ')' | operand (cmp operand
//!              | [NOT] BETWEEN operand AND operand | [NOT] IN list | IS [NOT] (MISSING|NULL|type))
//! operand   := term {('+'|'-') term};  term := literal | path | function '(' args ')'
//! ```
//!
//! A statement that reads but that DynamoDB will not run (an unknown function, a misused
//! `set_add`) is refused only once it is read whole: DynamoDB finds syntax errors anywhere
//! in a statement before it looks at what the statement means.

use super::ast::*;
use super::lexer::{Span, Token};
use super::INCOMPLETE_KEY;

/// Why a statement is refused. DynamoDB wraps a syntax error's detail in its
/// malformed-statement words, and sends other refusals bare.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Malformed(String),
    Plain(String),
}

type Parse<T> = Result<T, Refusal>;

fn malformed(detail: &str) -> Refusal {
    Refusal::Malformed(detail.into())
}

pub struct Parser {
    tokens: Vec<Token>,
    /// Where each token stands, for refusals that name a place.
    spans: Vec<Span>,
    at: usize,
    params: usize,
    /// Nesting of the value or condition being parsed, bounded so that hostile input
    /// cannot exhaust the stack.
    depth: usize,
    /// The functions a value may call in the clause being read.
    functions: &'static [&'static str],
    /// The first refusal of a statement that reads well but will not run, given once the
    /// whole statement is read (see the module notes).
    later: Option<String>,
}

/// DynamoDB's refusal of a table alias, which it sends without the malformed-statement
/// envelope of other parse errors.
const ALIASING: &str = "Aliasing is not supported";

/// DynamoDB's details for syntax errors: PartiQL's parser's words (the dynamodb-conformance
/// suite's partiqlGrammar captures).
const LEFTOVER: &str = "Unexpected token after expression";
const UNEXPECTED_TERM: &str = "Unexpected term";
const UNEXPECTED_KEYWORD: &str = "Unexpected keyword";
const UNEXPECTED_OPERATOR: &str = "Unexpected operator";
const MISSING_RIGHT_SIDE: &str = "Missing right-hand side expression of infix operator";
const EXPECTED_TYPE_NAME: &str = "Expected type name";
const EXPECTED_SIMPLE_PATH: &str = "Expected identifier for simple path";

/// DynamoDB's refusal of `INSERT INTO t <query>`, the form that inserts what a query
/// returns (DynamoDB Local's wording for it).
const INSERT_QUERY: &str = "Unsupported operation: Inserting multiple items in a single statement is not supported, use \"INSERT INTO tableName VALUE item\" instead";

/// Deeper nesting than any real statement (DynamoDB documents nest 32 levels).
const MAX_DEPTH: usize = 64;

/// Words PartiQL reserves that this grammar's statements use. Where a value should start,
/// one is "Unexpected keyword"; unquoted, none is a table's name or an attribute's.
const KEYWORDS: [&str; 18] = [
    "ALL",
    "AS",
    "ASC",
    "BY",
    "DELETE",
    "DESC",
    "EXISTS",
    "FROM",
    "INSERT",
    "INTO",
    "ORDER",
    "REMOVE",
    "RETURNING",
    "SELECT",
    "SET",
    "UPDATE",
    "VALUE",
    "WHERE",
];

/// PartiQL's operators, worded and symbolic: where a value should start, one is
/// "Unexpected operator".
const OPERATOR_WORDS: [&str; 7] = ["AND", "BETWEEN", "IN", "IS", "LIKE", "NOT", "OR"];
const OPERATOR_SYMBOLS: [&str; 10] = ["=", "<>", "!=", "<", "<=", ">", ">=", "+", "-", "*"];

/// Symbols that close or separate: where a value should start, one is "Unexpected term".
const NOT_TERMS: [&str; 7] = [")", "]", "}", ",", ":", ".", ">>"];

/// Functions usable as conditions in a WHERE clause (DynamoDB's list: the
/// dynamodb-conformance suite's tier2/partiql/whereFunctions.test.ts).
const CONDITION_FUNCTIONS: [&str; 5] = [
    "begins_with",
    "contains",
    "attribute_type",
    "attribute_exists",
    "attribute_not_exists",
];

/// Functions usable as values in a WHERE clause; any other is "Unrecognized function" (the
/// partiqlFunctions captures: `EXISTS(ss)`, `set_add(...)` in a WHERE).
const WHERE_FUNCTIONS: [&str; 1] = ["size"];

/// Functions usable as values in a SET clause.
const SET_FUNCTIONS: [&str; 5] = [
    "size",
    "list_append",
    "set_add",
    "set_delete",
    "if_not_exists",
];

/// PartiQL's type names, as `x IS <type>` takes them (lower case; `double` and `character`
/// also open `double precision` and `character varying`), each with the DynamoDB type it
/// tests for, or `None` where it tests for no DynamoDB type. The types DynamoDB tests for
/// are those DynamoDB Local lists (BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST),
/// with the other names this parser has always taken for them.
const IS_TYPES: [(&str, Option<&str>); 37] = [
    ("bool", Some("BOOL")),
    ("boolean", Some("BOOL")),
    ("string", Some("S")),
    ("number", Some("N")),
    ("numeric", Some("N")),
    ("binary", Some("B")),
    ("blob", Some("B")),
    ("list", Some("L")),
    ("map", Some("M")),
    ("struct", Some("M")),
    ("tuple", Some("M")),
    ("smallint", None),
    ("int2", None),
    ("integer2", None),
    ("int", None),
    ("integer", None),
    ("int4", None),
    ("integer4", None),
    ("int8", None),
    ("integer8", None),
    ("bigint", None),
    ("float", None),
    ("real", None),
    ("double", None),
    ("decimal", None),
    ("dec", None),
    ("timestamp", None),
    ("char", None),
    ("character", None),
    ("varchar", None),
    ("symbol", None),
    ("clob", None),
    ("sexp", None),
    ("bag", None),
    ("date", None),
    ("time", None),
    ("any", None),
];

/// DynamoDB's refusal of an IS test for a type it has no values of (DynamoDB Local's
/// wording), with the type as written.
fn unsupported_is_type(name: &str) -> String {
    format!("Unsupported data type for IS operator: {name}. Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]")
}

fn is_one_of(word: &str, words: &[&str]) -> bool {
    words.iter().any(|w| word.eq_ignore_ascii_case(w))
}

/// PartiQL's name for the kind of a condition's outermost node, as DynamoDB names an
/// expression it will not run as a statement (`Unsupported operation: IsType`).
fn node_name(condition: &Condition) -> &'static str {
    match condition {
        Condition::Compare(_, cmp, _) => match cmp {
            CmpOp::Eq => "Eq",
            CmpOp::Ne => "Ne",
            CmpOp::Lt => "Lt",
            CmpOp::Le => "Lte",
            CmpOp::Gt => "Gt",
            CmpOp::Ge => "Gte",
        },
        Condition::Between(..) => "Between",
        Condition::In(..) => "InCollection",
        Condition::Function(..) => "Call",
        Condition::IsMissing(_, negated)
        | Condition::IsNull(_, negated)
        | Condition::IsType(_, _, negated) => {
            if *negated {
                "Not"
            } else {
                "IsType"
            }
        }
        Condition::And(..) => "And",
        Condition::Or(..) => "Or",
        Condition::Not(_) => "Not",
    }
}

impl Parser {
    pub fn new(tokens: Vec<(Token, Span)>) -> Self {
        let (tokens, spans) = tokens.into_iter().unzip();
        Parser {
            tokens,
            spans,
            at: 0,
            params: 0,
            depth: 0,
            functions: &WHERE_FUNCTIONS,
            later: None,
        }
    }

    /// The number of `?` parameters seen so far.
    pub fn param_count(&self) -> usize {
        self.params
    }

    pub fn statement(&mut self) -> Parse<Statement> {
        let statement = if self.keyword("SELECT") {
            Statement::Select(self.select()?)
        } else if self.keyword("INSERT") {
            Statement::Insert(self.insert()?)
        } else if self.keyword("UPDATE") {
            Statement::Update(self.update()?)
        } else if self.keyword("FROM") {
            Statement::Update(self.update_from_first()?)
        } else if self.keyword("DELETE") {
            Statement::Delete(self.delete()?)
        } else if self.keyword("EXISTS") {
            self.expect_symbol("(")?;
            self.expect_keyword("SELECT")?;
            let select = self.select()?;
            self.expect_symbol(")")?;
            Statement::Exists(select)
        } else {
            return self.expression_statement();
        };
        self.end()?;
        match self.later.take() {
            Some(message) => Err(Refusal::Plain(message)),
            None => Ok(statement),
        }
    }

    /// A statement that is an expression alone (`x IS INT4`): PartiQL reads it, and
    /// DynamoDB refuses it by the kind of its outermost node, before looking inside (the
    /// dynamodb-conformance suite's partiqlGrammar captures).
    fn expression_statement(&mut self) -> Parse<Statement> {
        let condition = self.condition()?;
        self.end()?;
        Err(Refusal::Plain(format!(
            "Unsupported operation: {}",
            node_name(&condition)
        )))
    }

    /// Refuses any token past a whole statement, in DynamoDB's words.
    fn end(&self) -> Parse<()> {
        if self.at < self.tokens.len() {
            return Err(malformed(LEFTOVER));
        }
        Ok(())
    }

    /// Notes why the statement, once read, will not run; the first reason is the one given.
    fn refuse_later(&mut self, message: String) {
        self.later.get_or_insert(message);
    }

    /// Refuses a table alias after a table's name (`FROM "t" x`, `AS x`): a word that is
    /// not one of the statement's own keywords. DynamoDB answers it with [`ALIASING`] alone.
    fn no_alias(&self) -> Parse<()> {
        const GOES_ON: [&str; 6] = ["WHERE", "ORDER", "SET", "REMOVE", "RETURNING", "VALUE"];
        match self.tokens.get(self.at) {
            Some(Token::Ident(word))
                if word.eq_ignore_ascii_case("AS") || !is_one_of(word, &GOES_ON) =>
            {
                Err(Refusal::Plain(ALIASING.into()))
            }
            _ => Ok(()),
        }
    }

    fn select(&mut self) -> Parse<Select> {
        let projection = if self.symbol("*") {
            None
        } else {
            let mut paths = vec![self.projected()?];
            while self.symbol(",") {
                paths.push(self.projected()?);
            }
            Some(paths)
        };
        self.expect_keyword("FROM")?;
        let table = self.table()?;
        let index = if self.symbol(".") {
            Some(self.name()?)
        } else {
            None
        };
        self.no_alias()?;
        let condition = if self.keyword("WHERE") {
            Some(self.where_clause()?)
        } else {
            None
        };
        let order_by = if self.keyword("ORDER") {
            self.expect_keyword("BY")?;
            let path = self.path()?;
            let descending = if self.keyword("DESC") {
                true
            } else {
                self.keyword("ASC");
                false
            };
            Some((path, descending))
        } else {
            None
        };
        Ok(Select {
            projection,
            table,
            index,
            condition,
            order_by,
        })
    }

    /// One path of a SELECT's projection. A call there reads, and is then refused as
    /// DynamoDB refuses it, at the function's name (the partiqlFunctions captures).
    fn projected(&mut self) -> Parse<Path> {
        if self.call_name().is_none() {
            return self.path();
        }
        let at = self.at;
        self.call()?;
        self.refuse_later(format!("Unexpected path component at {}", self.spans[at]));
        Ok(Path(Vec::new()))
    }

    fn insert(&mut self) -> Parse<Insert> {
        self.expect_keyword("INTO")?;
        let table = self.table()?;
        if !self.keyword("VALUE") {
            return self.insert_query();
        }
        let item = self.literal()?;
        Ok(Insert { table, item })
    }

    /// `INSERT INTO t <query>`: read, so that a token after the query is a leftover (as in
    /// `INSERT INTO "t" x VALUE {...}`, the partiqlGrammar captures), then refused.
    fn insert_query(&mut self) -> Parse<Insert> {
        self.operand()?;
        self.end()?;
        Err(Refusal::Plain(INSERT_QUERY.into()))
    }

    fn update(&mut self) -> Parse<Update> {
        let table = self.table()?;
        self.no_alias()?;
        let actions = self.actions()?;
        self.expect_keyword("WHERE")?;
        let condition = self.where_clause()?;
        let returning = self.returning()?;
        Ok(Update {
            table,
            actions,
            condition,
            returning,
        })
    }

    /// PartiQL's FROM-first UPDATE, `FROM table [WHERE cond] action... [returning]`, which
    /// DynamoDB runs as `UPDATE table action... WHERE cond [returning]`. It parses without
    /// a WHERE (a WHERE after the actions is a leftover token), then is refused for naming
    /// no key in the words of a WHERE that names too little (the dynamodb-conformance
    /// suite's partiqlGrammar captures).
    fn update_from_first(&mut self) -> Parse<Update> {
        let table = self.table()?;
        self.no_alias()?;
        let condition = if self.keyword("WHERE") {
            Some(self.where_clause()?)
        } else {
            None
        };
        let actions = self.actions()?;
        let returning = self.returning()?;
        let Some(condition) = condition else {
            self.end()?;
            return Err(Refusal::Plain(INCOMPLETE_KEY.into()));
        };
        Ok(Update {
            table,
            actions,
            condition,
            returning,
        })
    }

    /// An UPDATE's SET and REMOVE clauses, in any order and at least one.
    fn actions(&mut self) -> Parse<Vec<UpdateAction>> {
        self.functions = &SET_FUNCTIONS;
        let mut actions = Vec::new();
        loop {
            if self.keyword("SET") {
                loop {
                    let path = self.path()?;
                    self.expect_symbol("=")?;
                    let at = self.at;
                    let value = self.after_infix(Self::operand)?;
                    if let Operand::Call(name, args) = &value {
                        self.check_set_call(&path, name, args, at);
                    }
                    actions.push(UpdateAction::Set(path, value));
                    if !self.symbol(",") {
                        break;
                    }
                }
            } else if self.keyword("REMOVE") {
                loop {
                    actions.push(UpdateAction::Remove(self.path()?));
                    if !self.symbol(",") {
                        break;
                    }
                }
            } else {
                break;
            }
        }
        if actions.is_empty() {
            return Err(self.unexpected("SET or REMOVE"));
        }
        Ok(actions)
    }

    /// `SET a = set_add(a, <<...>>)` adds to the set `a` (`set_delete` takes from it): one
    /// that does not name its target first and a set second is refused in DynamoDB's words,
    /// placed at the call whose value it is (`at`), or for the second argument's type at
    /// the first argument (the partiqlFunctions captures).
    fn check_set_call(&mut self, target: &Path, name: &str, args: &[Operand], at: usize) {
        let function = match name {
            "set_add" => "SET_ADD",
            "set_delete" => "SET_DELETE",
            _ => return,
        };
        let message = match args {
            [first, _] if *first != Operand::Path(target.clone()) => format!(
                "The first argument to {function} must equal the assignment value at {}",
                self.spans[at]
            ),
            [_, Operand::Literal(value)]
                if !matches!(value, Literal::Bag(_) | Literal::Param(_)) =>
            {
                format!(
                    "The second argument to {function} must be a value with type SET at {}",
                    self.spans[at + 2]
                )
            }
            [_, _] => return,
            _ => format!(
                "{function} must have exactly two arguments at {}",
                self.spans[at]
            ),
        };
        self.refuse_later(message);
    }

    fn delete(&mut self) -> Parse<Delete> {
        self.expect_keyword("FROM")?;
        let table = self.simple_path()?;
        self.no_alias()?;
        self.expect_keyword("WHERE")?;
        let condition = self.where_clause()?;
        let returning = self.returning()?;
        Ok(Delete {
            table,
            condition,
            returning,
        })
    }

    fn returning(&mut self) -> Parse<Option<Returning>> {
        if !self.keyword("RETURNING") {
            return Ok(None);
        }
        let all = if self.keyword("ALL") {
            true
        } else if self.keyword("MODIFIED") {
            false
        } else {
            return Err(self.unexpected("ALL or MODIFIED"));
        };
        let old = if self.keyword("OLD") {
            true
        } else if self.keyword("NEW") {
            false
        } else {
            return Err(self.unexpected("OLD or NEW"));
        };
        self.expect_symbol("*")?;
        Ok(Some(match (all, old) {
            (true, true) => Returning::AllOld,
            (false, true) => Returning::UpdatedOld,
            (true, false) => Returning::AllNew,
            (false, false) => Returning::UpdatedNew,
        }))
    }

    /// A WHERE clause's condition, whose values may call only [`WHERE_FUNCTIONS`].
    fn where_clause(&mut self) -> Parse<Condition> {
        self.functions = &WHERE_FUNCTIONS;
        self.condition()
    }

    fn condition(&mut self) -> Parse<Condition> {
        let mut left = self.conjunction()?;
        while self.keyword("OR") {
            let right = self.after_infix(Self::conjunction)?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Parse<Condition> {
        let mut left = self.negation()?;
        while self.keyword("AND") {
            let right = self.after_infix(Self::negation)?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn negation(&mut self) -> Parse<Condition> {
        self.nested(|p| {
            if p.keyword("NOT") {
                return Ok(Condition::Not(Box::new(p.negation()?)));
            }
            p.predicate()
        })
    }

    /// Runs `parse` one nesting level deeper.
    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> Parse<T>) -> Parse<T> {
        if self.depth >= MAX_DEPTH {
            return Err(Refusal::Malformed(format!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        self.depth += 1;
        let out = parse(self);
        self.depth -= 1;
        out
    }

    /// Runs `parse` for what stands right of an infix operator just read; a statement that
    /// ends there is refused in DynamoDB's words.
    fn after_infix<T>(&mut self, parse: impl FnOnce(&mut Self) -> Parse<T>) -> Parse<T> {
        if self.at >= self.tokens.len() {
            return Err(malformed(MISSING_RIGHT_SIDE));
        }
        parse(self)
    }

    fn predicate(&mut self) -> Parse<Condition> {
        // Values have no parentheses in this grammar, so `(` always opens a condition.
        if self.symbol("(") {
            let inner = self.condition()?;
            self.expect_symbol(")")?;
            return Ok(inner);
        }
        if self
            .call_name()
            .is_some_and(|name| CONDITION_FUNCTIONS.contains(&name.as_str()))
        {
            let (name, args) = self.call()?;
            let call = Condition::Function(name, args);
            // `f(...) = true` is the call itself, `= false` its negation.
            if !self.symbol("=") {
                return Ok(call);
            }
            return if self.keyword("TRUE") {
                Ok(call)
            } else if self.keyword("FALSE") {
                Ok(Condition::Not(Box::new(call)))
            } else {
                Err(self.unexpected("true or false"))
            };
        }
        let left = self.operand()?;
        // Any other call is a condition of its own, as PartiQL reads it, when nothing
        // compares it (`EXISTS(ss)`, refused once read as an unknown function).
        if let Operand::Call(name, args) = &left {
            if !self.continues_predicate() {
                return Ok(Condition::Function(name.clone(), args.clone()));
            }
        }
        if self.keyword("IS") {
            return self.after_infix(|p| p.is_test(left));
        }
        let negated = self.keyword("NOT");
        let condition = if self.keyword("BETWEEN") {
            let low = self.after_infix(Self::operand)?;
            self.expect_keyword("AND")?;
            Condition::Between(left, low, self.after_infix(Self::operand)?)
        } else if self.keyword("IN") {
            self.after_infix(|p| p.in_list(left))?
        } else if negated {
            return Err(self.unexpected("BETWEEN or IN"));
        } else {
            let comparator = self.comparator()?;
            Condition::Compare(left, comparator, self.after_infix(Self::operand)?)
        };
        Ok(if negated {
            Condition::Not(Box::new(condition))
        } else {
            condition
        })
    }

    /// Whether the next token carries on a predicate after its left operand.
    fn continues_predicate(&self) -> bool {
        match self.tokens.get(self.at) {
            Some(Token::Ident(word)) => is_one_of(word, &["IS", "NOT", "BETWEEN", "IN"]),
            _ => self.next_comparator().is_some(),
        }
    }

    /// After `left IS`: `[NOT] MISSING | NULL | <type>`. A type DynamoDB has no values of
    /// reads, then is refused.
    fn is_test(&mut self, left: Operand) -> Parse<Condition> {
        let negated = self.keyword("NOT");
        if self.keyword("MISSING") {
            return Ok(Condition::IsMissing(left, negated));
        }
        if self.keyword("NULL") {
            return Ok(Condition::IsNull(left, negated));
        }
        let Some((name, tested)) = self.type_name() else {
            return Err(malformed(EXPECTED_TYPE_NAME));
        };
        let tested = tested.unwrap_or_else(|| {
            self.refuse_later(unsupported_is_type(&name));
            // Never run: the statement is refused once read.
            ""
        });
        Ok(Condition::IsType(left, tested, negated))
    }

    /// After `left IN`: `[v, ...]` or `(v, ...)`.
    fn in_list(&mut self, left: Operand) -> Parse<Condition> {
        let close = if self.symbol("[") {
            "]"
        } else if self.symbol("(") {
            ")"
        } else {
            return Err(self.unexpected("[ or ("));
        };
        let mut list = vec![self.operand()?];
        while self.symbol(",") {
            list.push(self.operand()?);
        }
        self.expect_symbol(close)?;
        Ok(Condition::In(left, list))
    }

    fn comparator(&mut self) -> Parse<CmpOp> {
        let Some(comparator) = self.next_comparator() else {
            return Err(self.unexpected("a comparison"));
        };
        self.at += 1;
        Ok(comparator)
    }

    /// The comparison operator the next token is, if it is one.
    fn next_comparator(&self) -> Option<CmpOp> {
        Some(match self.tokens.get(self.at)? {
            Token::Symbol("=") => CmpOp::Eq,
            Token::Symbol("<>" | "!=") => CmpOp::Ne,
            Token::Symbol("<") => CmpOp::Lt,
            Token::Symbol("<=") => CmpOp::Le,
            Token::Symbol(">") => CmpOp::Gt,
            Token::Symbol(">=") => CmpOp::Ge,
            _ => return None,
        })
    }

    fn operand(&mut self) -> Parse<Operand> {
        let mut left = self.term()?;
        loop {
            let op = if self.symbol("+") {
                '+'
            } else if self.symbol("-") {
                '-'
            } else {
                return Ok(left);
            };
            let right = self.after_infix(Self::term)?;
            left = Operand::Arithmetic(Box::new(left), op, Box::new(right));
        }
    }

    fn term(&mut self) -> Parse<Operand> {
        self.nested(Self::term_here)
    }

    fn term_here(&mut self) -> Parse<Operand> {
        if self.call_name().is_some() {
            let at = self.at;
            let (name, args) = self.call()?;
            if !self.functions.contains(&name.as_str()) {
                self.refuse_later(format!(
                    "Unrecognized function: {name} at {}",
                    self.spans[at]
                ));
            }
            return Ok(Operand::Call(name, args));
        }
        match self.tokens.get(self.at) {
            Some(Token::Ident(word)) if !self.is_literal_keyword() && !is_reserved(word) => {
                Ok(Operand::Path(self.path()?))
            }
            Some(Token::QuotedIdent(_)) => Ok(Operand::Path(self.path()?)),
            _ => Ok(Operand::Literal(self.literal()?)),
        }
    }

    /// The lower-cased name if the next tokens are `name (`.
    fn call_name(&self) -> Option<String> {
        let Some(Token::Ident(name)) = self.tokens.get(self.at) else {
            return None;
        };
        (self.tokens.get(self.at + 1) == Some(&Token::Symbol("(")))
            .then(|| name.to_ascii_lowercase())
    }

    /// At `name (`: the lower-cased name and the arguments, through the closing parenthesis.
    fn call(&mut self) -> Parse<(String, Vec<Operand>)> {
        let name = self.call_name().unwrap_or_default();
        self.at += 2;
        let mut args = Vec::new();
        if !self.symbol(")") {
            loop {
                args.push(self.operand()?);
                if !self.symbol(",") {
                    break;
                }
            }
            self.expect_symbol(")")?;
        }
        Ok((name, args))
    }

    /// The type an `IS <type>` names, as written (upper-cased) and with the DynamoDB type
    /// it tests for; consumes the name.
    fn type_name(&mut self) -> Option<(String, Option<&'static str>)> {
        let Some(Token::Ident(word)) = self.tokens.get(self.at) else {
            return None;
        };
        let lower = word.to_ascii_lowercase();
        let (_, tested) = IS_TYPES.iter().find(|(name, _)| *name == lower)?;
        self.at += 1;
        let mut name = lower.to_ascii_uppercase();
        let second = match lower.as_str() {
            "double" => Some("PRECISION"),
            "character" => Some("VARYING"),
            _ => None,
        };
        if let Some(second) = second {
            // `DOUBLE` alone is no type; `CHARACTER` alone is one.
            if self.keyword(second) {
                name = format!("{name} {second}");
            } else if lower == "double" {
                return None;
            }
        }
        Some((name, *tested))
    }

    fn is_literal_keyword(&self) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Ident(word))
            if ["true", "false", "null", "missing"].contains(&word.to_ascii_lowercase().as_str()))
    }

    fn literal(&mut self) -> Parse<Literal> {
        self.nested(Self::literal_here)
    }

    fn literal_here(&mut self) -> Parse<Literal> {
        if self.call_name().is_some() {
            return self.call_in_literal();
        }
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        Ok(match token {
            Some(Token::Param) => {
                self.params += 1;
                Literal::Param(self.params - 1)
            }
            Some(Token::Str(s)) => Literal::String(s),
            Some(Token::Number(n)) => Literal::Number(n),
            Some(Token::Symbol("-")) => match self.tokens.get(self.at).cloned() {
                Some(Token::Number(n)) => {
                    self.at += 1;
                    Literal::Number(format!("-{n}"))
                }
                _ => return Err(self.unexpected("a number")),
            },
            Some(Token::Ident(word)) => match word.to_ascii_lowercase().as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "null" => Literal::Null,
                "missing" => Literal::Missing,
                _ => {
                    self.at -= 1;
                    return Err(self.no_value());
                }
            },
            Some(Token::Symbol("[")) => Literal::List(self.literal_list("]")?),
            Some(Token::Symbol("<<")) => Literal::Bag(self.literal_list(">>")?),
            Some(Token::Symbol("{")) => Literal::Map(self.tuple()?),
            _ => {
                self.at -= 1;
                return Err(self.no_value());
            }
        })
    }

    /// A function call where a literal value should be: it reads, and is then refused as
    /// no data type (DynamoDB's words for an INSERT attribute's value, where each value is
    /// read from its own root: the partiqlFunctions captures).
    fn call_in_literal(&mut self) -> Parse<Literal> {
        let at = self.at;
        let (name, _) = self.call()?;
        self.refuse_later(format!(
            "Unsupported data type: {name} under key root at {}",
            self.spans[at]
        ));
        // Never bound: the statement is refused once read.
        Ok(Literal::Null)
    }

    /// After `{`: a tuple's entries and its closing brace.
    fn tuple(&mut self) -> Parse<Vec<(String, Literal)>> {
        let mut entries = Vec::new();
        if self.symbol("}") {
            return Ok(entries);
        }
        loop {
            let key = match self.tokens.get(self.at).cloned() {
                Some(Token::Str(key)) => key,
                _ => return Err(self.unexpected("a quoted attribute name")),
            };
            self.at += 1;
            self.expect_symbol(":")?;
            entries.push((key, self.literal()?));
            if !self.symbol(",") {
                break;
            }
        }
        self.expect_symbol("}")?;
        Ok(entries)
    }

    fn literal_list(&mut self, close: &'static str) -> Parse<Vec<Literal>> {
        let mut items = Vec::new();
        if self.symbol(close) {
            return Ok(items);
        }
        loop {
            items.push(self.literal()?);
            if !self.symbol(",") {
                break;
            }
        }
        self.expect_symbol(close)?;
        Ok(items)
    }

    /// `name {'.' name | '[' index ']'}`.
    fn path(&mut self) -> Parse<Path> {
        let mut elements = vec![PathElement::Name(self.name()?)];
        loop {
            if self.symbol(".") {
                elements.push(PathElement::Name(self.name()?));
            } else if self.symbol("[") {
                let index = match self.tokens.get(self.at) {
                    Some(Token::Number(n)) => n
                        .parse::<u32>()
                        .map_err(|_| Refusal::Malformed(format!("invalid list index {n}")))?,
                    _ => return Err(self.unexpected("a list index")),
                };
                self.at += 1;
                self.expect_symbol("]")?;
                elements.push(PathElement::Index(index));
            } else {
                return Ok(Path(elements));
            }
        }
    }

    /// A table's name where PartiQL reads an expression: where there is none, DynamoDB's
    /// words for a missing value (`SELECT * FROM` is "Unexpected term").
    fn table(&mut self) -> Parse<String> {
        match self.tokens.get(self.at) {
            Some(Token::Ident(word)) if is_reserved(word) => Err(self.no_value()),
            _ => self.name(),
        }
    }

    /// DELETE's table, which PartiQL reads as a simple path: anything but an identifier
    /// there (the end, a keyword) is refused in DynamoDB's words for it.
    fn simple_path(&mut self) -> Parse<String> {
        match self.tokens.get(self.at) {
            Some(Token::Ident(word)) if !is_reserved(word) => self.name(),
            Some(Token::QuotedIdent(_)) => self.name(),
            _ => Err(malformed(EXPECTED_SIMPLE_PATH)),
        }
    }

    /// An identifier, quoted or not.
    fn name(&mut self) -> Parse<String> {
        match self.tokens.get(self.at) {
            Some(Token::Ident(name) | Token::QuotedIdent(name)) => {
                let name = name.clone();
                self.at += 1;
                Ok(name)
            }
            _ => Err(self.no_value()),
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.tokens.get(self.at),
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word));
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_keyword(&mut self, word: &str) -> Parse<()> {
        if self.keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected(word))
        }
    }

    fn peek_symbol(&self, symbol: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Symbol(s)) if *s == symbol)
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        let found = self.peek_symbol(symbol);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_symbol(&mut self, symbol: &str) -> Parse<()> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            Err(self.unexpected(symbol))
        }
    }

    /// Why no value starts at the next token: PartiQL's words where that token cannot start
    /// one at all (the end, a keyword, an operator, a closing symbol), else ours.
    fn no_value(&self) -> Refusal {
        let detail = match self.tokens.get(self.at) {
            None => UNEXPECTED_TERM,
            Some(Token::Ident(word)) if is_one_of(word, &OPERATOR_WORDS) => UNEXPECTED_OPERATOR,
            Some(Token::Ident(word)) if is_one_of(word, &KEYWORDS) => UNEXPECTED_KEYWORD,
            Some(Token::Symbol(s)) if OPERATOR_SYMBOLS.contains(s) => UNEXPECTED_OPERATOR,
            Some(Token::Symbol(s)) if NOT_TERMS.contains(s) => UNEXPECTED_TERM,
            Some(_) => return self.unexpected("a value"),
        };
        malformed(detail)
    }

    fn unexpected(&self, wanted: &str) -> Refusal {
        Refusal::Malformed(match self.tokens.get(self.at) {
            None => format!("expected {wanted} at the end of the statement"),
            Some(token) => format!("expected {wanted}, found {}", describe(token)),
        })
    }
}

/// Whether an unquoted word is PartiQL's rather than a name: a keyword or an operator.
fn is_reserved(word: &str) -> bool {
    is_one_of(word, &KEYWORDS) || is_one_of(word, &OPERATOR_WORDS)
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(s) => s.clone(),
        Token::QuotedIdent(s) => format!("\"{s}\""),
        Token::Str(s) => format!("'{s}'"),
        Token::Number(n) => n.clone(),
        Token::Param => "?".into(),
        Token::Symbol(s) => (*s).into(),
    }
}
