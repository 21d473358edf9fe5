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
//!              | [NOT] BETWEEN operand AND operand | [NOT] IN list | IS [NOT] (MISSING|NULL))
//! operand   := term {('+'|'-') term};  term := literal | path | function '(' args ')'
//! ```

use super::ast::*;
use super::lexer::Token;
use super::INCOMPLETE_KEY;

pub struct Parser {
    tokens: Vec<Token>,
    at: usize,
    params: usize,
    /// Nesting of the value or condition being parsed, bounded so that hostile input
    /// cannot exhaust the stack.
    depth: usize,
}

/// DynamoDB's refusal of a table alias, which it sends without the malformed-statement
/// envelope of other parse errors.
pub const ALIASING: &str = "Aliasing is not supported";

/// Deeper nesting than any real statement (DynamoDB documents nest 32 levels).
const MAX_DEPTH: usize = 64;

/// Functions usable as conditions: DynamoDB's list, with the ConditionExpression names
/// of `exists` and `missing`, which it takes too (the dynamodb-conformance suite's
/// tier2/partiql/whereFunctions.test.ts).
const CONDITION_FUNCTIONS: [&str; 7] = [
    "begins_with",
    "contains",
    "attribute_type",
    "exists",
    "missing",
    "attribute_exists",
    "attribute_not_exists",
];

/// The type names `x IS <type>` takes, with the DynamoDB type each tests for.
const IS_TYPES: [(&str, &str); 7] = [
    ("string", "S"),
    ("number", "N"),
    ("binary", "B"),
    ("bool", "BOOL"),
    ("boolean", "BOOL"),
    ("list", "L"),
    ("map", "M"),
];

/// Functions usable as values.
const VALUE_FUNCTIONS: [&str; 5] = [
    "size",
    "list_append",
    "set_add",
    "set_delete",
    "if_not_exists",
];

impl Parser {
    pub fn new(tokens: Vec<Token>) -> Self {
        Parser {
            tokens,
            at: 0,
            params: 0,
            depth: 0,
        }
    }

    /// The number of `?` parameters seen so far.
    pub fn param_count(&self) -> usize {
        self.params
    }

    pub fn statement(&mut self) -> Result<Statement, String> {
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
            return Err(self.unexpected("SELECT, INSERT, UPDATE, FROM, DELETE or EXISTS"));
        };
        self.end()?;
        Ok(statement)
    }

    /// Refuses any token past a whole statement, in DynamoDB's words (the
    /// dynamodb-conformance suite's partiqlGrammar captures).
    fn end(&self) -> Result<(), String> {
        if self.at < self.tokens.len() {
            return Err("Unexpected token after expression".into());
        }
        Ok(())
    }

    /// Refuses a table alias after a table's name (`FROM "t" x`, `AS x`): a word that is
    /// not one of the statement's own keywords. DynamoDB answers it with [`ALIASING`] alone.
    fn no_alias(&self) -> Result<(), String> {
        const GOES_ON: [&str; 6] = ["WHERE", "ORDER", "SET", "REMOVE", "RETURNING", "VALUE"];
        match self.tokens.get(self.at) {
            Some(Token::Ident(word))
                if word.eq_ignore_ascii_case("AS")
                    || !GOES_ON.iter().any(|k| word.eq_ignore_ascii_case(k)) =>
            {
                Err(ALIASING.into())
            }
            _ => Ok(()),
        }
    }

    fn select(&mut self) -> Result<Select, String> {
        let projection = if self.symbol("*") {
            None
        } else {
            let mut paths = vec![self.path()?];
            while self.symbol(",") {
                paths.push(self.path()?);
            }
            Some(paths)
        };
        self.expect_keyword("FROM")?;
        let table = self.name()?;
        let index = if self.symbol(".") {
            Some(self.name()?)
        } else {
            None
        };
        self.no_alias()?;
        let condition = if self.keyword("WHERE") {
            Some(self.condition()?)
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

    fn insert(&mut self) -> Result<Insert, String> {
        self.expect_keyword("INTO")?;
        let table = self.name()?;
        self.expect_keyword("VALUE")?;
        let item = self.literal()?;
        Ok(Insert { table, item })
    }

    fn update(&mut self) -> Result<Update, String> {
        let table = self.name()?;
        self.no_alias()?;
        let actions = self.actions()?;
        self.expect_keyword("WHERE")?;
        let condition = self.condition()?;
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
    fn update_from_first(&mut self) -> Result<Update, String> {
        let table = self.name()?;
        self.no_alias()?;
        let condition = if self.keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let actions = self.actions()?;
        let returning = self.returning()?;
        let Some(condition) = condition else {
            self.end()?;
            return Err(INCOMPLETE_KEY.into());
        };
        Ok(Update {
            table,
            actions,
            condition,
            returning,
        })
    }

    /// An UPDATE's SET and REMOVE clauses, in any order and at least one.
    fn actions(&mut self) -> Result<Vec<UpdateAction>, String> {
        let mut actions = Vec::new();
        loop {
            if self.keyword("SET") {
                loop {
                    let path = self.path()?;
                    self.expect_symbol("=")?;
                    actions.push(UpdateAction::Set(path, self.operand()?));
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

    fn delete(&mut self) -> Result<Delete, String> {
        self.expect_keyword("FROM")?;
        let table = self.name()?;
        self.no_alias()?;
        self.expect_keyword("WHERE")?;
        let condition = self.condition()?;
        let returning = self.returning()?;
        Ok(Delete {
            table,
            condition,
            returning,
        })
    }

    fn returning(&mut self) -> Result<Option<Returning>, String> {
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

    fn condition(&mut self) -> Result<Condition, String> {
        let mut left = self.conjunction()?;
        while self.keyword("OR") {
            left = Condition::Or(Box::new(left), Box::new(self.conjunction()?));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Condition, String> {
        let mut left = self.negation()?;
        while self.keyword("AND") {
            left = Condition::And(Box::new(left), Box::new(self.negation()?));
        }
        Ok(left)
    }

    fn negation(&mut self) -> Result<Condition, String> {
        self.nested(|p| {
            if p.keyword("NOT") {
                return Ok(Condition::Not(Box::new(p.negation()?)));
            }
            p.predicate()
        })
    }

    /// Runs `parse` one nesting level deeper.
    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<T, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        self.depth += 1;
        let out = parse(self);
        self.depth -= 1;
        out
    }

    fn predicate(&mut self) -> Result<Condition, String> {
        // Values have no parentheses in this grammar, so `(` always opens a condition.
        if self.symbol("(") {
            let inner = self.condition()?;
            self.expect_symbol(")")?;
            return Ok(inner);
        }
        if let Some(name) = self.function_name(&CONDITION_FUNCTIONS) {
            self.at += 2;
            let args = self.arguments()?;
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
        if self.keyword("IS") {
            let negated = self.keyword("NOT");
            if let Some(ty) = self.type_name() {
                return Ok(Condition::IsType(left, ty, negated));
            }
            return if self.keyword("MISSING") {
                Ok(Condition::IsMissing(left, negated))
            } else if self.keyword("NULL") {
                Ok(Condition::IsNull(left, negated))
            } else {
                Err(self.unexpected("MISSING, NULL or a type name"))
            };
        }
        let negated = self.keyword("NOT");
        let condition = if self.keyword("BETWEEN") {
            let low = self.operand()?;
            self.expect_keyword("AND")?;
            Condition::Between(left, low, self.operand()?)
        } else if self.keyword("IN") {
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
            Condition::In(left, list)
        } else if negated {
            return Err(self.unexpected("BETWEEN or IN"));
        } else {
            let comparator = self.comparator()?;
            Condition::Compare(left, comparator, self.operand()?)
        };
        Ok(if negated {
            Condition::Not(Box::new(condition))
        } else {
            condition
        })
    }

    fn comparator(&mut self) -> Result<CmpOp, String> {
        let comparator = match self.tokens.get(self.at) {
            Some(Token::Symbol("=")) => CmpOp::Eq,
            Some(Token::Symbol("<>" | "!=")) => CmpOp::Ne,
            Some(Token::Symbol("<")) => CmpOp::Lt,
            Some(Token::Symbol("<=")) => CmpOp::Le,
            Some(Token::Symbol(">")) => CmpOp::Gt,
            Some(Token::Symbol(">=")) => CmpOp::Ge,
            _ => return Err(self.unexpected("a comparison")),
        };
        self.at += 1;
        Ok(comparator)
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let mut left = self.term()?;
        loop {
            let op = if self.symbol("+") {
                '+'
            } else if self.symbol("-") {
                '-'
            } else {
                return Ok(left);
            };
            left = Operand::Arithmetic(Box::new(left), op, Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> Result<Operand, String> {
        self.nested(Self::term_here)
    }

    fn term_here(&mut self) -> Result<Operand, String> {
        if let Some(name) = self.function_name(&VALUE_FUNCTIONS) {
            self.at += 2;
            return Ok(Operand::Call(name, self.arguments()?));
        }
        match self.tokens.get(self.at) {
            Some(Token::Ident(_) | Token::QuotedIdent(_)) if !self.is_literal_keyword() => {
                Ok(Operand::Path(self.path()?))
            }
            _ => Ok(Operand::Literal(self.literal()?)),
        }
    }

    /// After `name(`: the arguments and the closing parenthesis.
    fn arguments(&mut self) -> Result<Vec<Operand>, String> {
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
        Ok(args)
    }

    /// The lower-cased function name if the next tokens are `name (` with a name in `set`.
    /// The DynamoDB type an `IS <type>` names, consuming the name.
    fn type_name(&mut self) -> Option<&'static str> {
        let Some(Token::Ident(word)) = self.tokens.get(self.at) else {
            return None;
        };
        let lower = word.to_ascii_lowercase();
        let (_, ty) = IS_TYPES.iter().find(|(name, _)| *name == lower)?;
        self.at += 1;
        Some(ty)
    }

    fn function_name(&self, set: &[&str]) -> Option<String> {
        let Some(Token::Ident(name)) = self.tokens.get(self.at) else {
            return None;
        };
        let lower = name.to_ascii_lowercase();
        (set.contains(&lower.as_str()) && self.tokens.get(self.at + 1) == Some(&Token::Symbol("(")))
            .then_some(lower)
    }

    fn is_literal_keyword(&self) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Ident(word))
            if ["true", "false", "null", "missing"].contains(&word.to_ascii_lowercase().as_str()))
    }

    fn literal(&mut self) -> Result<Literal, String> {
        self.nested(Self::literal_here)
    }

    fn literal_here(&mut self) -> Result<Literal, String> {
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
                    return Err(self.unexpected("a value"));
                }
            },
            Some(Token::Symbol("[")) => Literal::List(self.literal_list("]")?),
            Some(Token::Symbol("<<")) => Literal::Bag(self.literal_list(">>")?),
            Some(Token::Symbol("{")) => {
                let mut entries = Vec::new();
                if !self.symbol("}") {
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
                }
                Literal::Map(entries)
            }
            _ => {
                self.at -= 1;
                return Err(self.unexpected("a value"));
            }
        })
    }

    fn literal_list(&mut self, close: &'static str) -> Result<Vec<Literal>, String> {
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
    fn path(&mut self) -> Result<Path, String> {
        let mut elements = vec![PathElement::Name(self.name()?)];
        loop {
            if self.symbol(".") {
                elements.push(PathElement::Name(self.name()?));
            } else if self.symbol("[") {
                let index = match self.tokens.get(self.at) {
                    Some(Token::Number(n)) => n
                        .parse::<u32>()
                        .map_err(|_| format!("invalid list index {n}"))?,
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

    /// An identifier, quoted or not.
    fn name(&mut self) -> Result<String, String> {
        match self.tokens.get(self.at) {
            Some(Token::Ident(name) | Token::QuotedIdent(name)) => {
                let name = name.clone();
                self.at += 1;
                Ok(name)
            }
            _ => Err(self.unexpected("a name")),
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

    fn expect_keyword(&mut self, word: &str) -> Result<(), String> {
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

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), String> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            Err(self.unexpected(symbol))
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.tokens.get(self.at) {
            None => format!("expected {wanted} at the end of the statement"),
            Some(token) => format!("expected {wanted}, found {}", describe(token)),
        }
    }
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
