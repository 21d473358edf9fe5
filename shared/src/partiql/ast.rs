//! The statements of DynamoDB's PartiQL subset, as parsed (parameters not yet bound).

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Select(Select),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    /// `EXISTS(SELECT * FROM "table" WHERE key AND cond)`: a transaction's condition check.
    Exists(Select),
}

impl Statement {
    /// The table the statement names.
    pub fn table(&self) -> &str {
        match self {
            Statement::Select(s) | Statement::Exists(s) => &s.table,
            Statement::Insert(s) => &s.table,
            Statement::Update(s) => &s.table,
            Statement::Delete(s) => &s.table,
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, Statement::Select(_))
    }
}

/// `SELECT projection FROM "table"[."index"] [WHERE cond] [ORDER BY path [ASC|DESC]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// `None` for `*`.
    pub projection: Option<Vec<Path>>,
    pub table: String,
    pub index: Option<String>,
    pub condition: Option<Condition>,
    /// The ordering path and whether it is descending.
    pub order_by: Option<(Path, bool)>,
}

/// `INSERT INTO "table" VALUE {...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: String,
    pub item: Literal,
}

/// `UPDATE "table" SET ... | REMOVE ... WHERE cond [RETURNING ...]`, or the same written
/// FROM-first: `FROM "table" WHERE cond SET ... | REMOVE ... [RETURNING ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub table: String,
    pub actions: Vec<UpdateAction>,
    pub condition: Condition,
    pub returning: Option<Returning>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction {
    Set(Path, Operand),
    Remove(Path),
}

/// `DELETE FROM "table" WHERE cond [RETURNING ALL OLD *]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub table: String,
    pub condition: Condition,
    pub returning: Option<Returning>,
}

/// `RETURNING ALL|MODIFIED OLD|NEW *`, named as UpdateItem's ReturnValues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returning {
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl Returning {
    /// The clause's words, as written after `RETURNING`.
    pub fn clause(self) -> &'static str {
        match self {
            Returning::AllOld => "ALL OLD",
            Returning::UpdatedOld => "MODIFIED OLD",
            Returning::AllNew => "ALL NEW",
            Returning::UpdatedNew => "MODIFIED NEW",
        }
    }

    pub fn return_values(self) -> &'static str {
        match self {
            Returning::AllOld => "ALL_OLD",
            Returning::UpdatedOld => "UPDATED_OLD",
            Returning::AllNew => "ALL_NEW",
            Returning::UpdatedNew => "UPDATED_NEW",
        }
    }
}

/// A document path: `a.b[2]."c d"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<PathElement>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    Name(String),
    Index(u32),
}

impl Path {
    /// The top-level attribute name.
    pub fn root(&self) -> &str {
        match self.0.first() {
            Some(PathElement::Name(name)) => name,
            _ => "",
        }
    }

    /// Whether the path is exactly the top-level attribute `name`.
    pub fn is_attribute(&self, name: &str) -> bool {
        self.0.len() == 1 && self.root() == name
    }
}

/// A literal value, which may hold positional parameters (`?`) anywhere inside.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// The n-th `?` of the statement (0-based).
    Param(usize),
    String(String),
    /// Number text as written.
    Number(String),
    Bool(bool),
    Null,
    /// `MISSING`: no value. `x = MISSING` tests that `x` is absent; a map member whose value
    /// is MISSING is left out.
    Missing,
    List(Vec<Literal>),
    /// `{'key': value, ...}` in the order written.
    Map(Vec<(String, Literal)>),
    /// `<<a, b>>`: a string, number or binary set.
    Bag(Vec<Literal>),
}

/// A value in a condition or a SET.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Path(Path),
    Literal(Literal),
    /// `size(path)`, `list_append(a, b)`, `set_add(a, b)`, `set_delete(a, b)`,
    /// `if_not_exists(path, value)` (name lower-cased).
    Call(String, Vec<Operand>),
    /// `a + b` or `a - b`.
    Arithmetic(Box<Operand>, char, Box<Operand>),
}

/// The expression language's comparison operators serve PartiQL unchanged.
pub use crate::expr::CmpOp;

/// A WHERE condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(Operand, CmpOp, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    /// `begins_with(...)`, `contains(...)`, `attribute_type(...)`, `attribute_exists(...)`,
    /// `attribute_not_exists(...)` (name lower-cased).
    Function(String, Vec<Operand>),
    /// `x IS [NOT] MISSING`: the flag is `true` for `IS NOT MISSING`.
    IsMissing(Operand, bool),
    /// `x IS [NOT] NULL`: the flag is `true` for `IS NOT NULL`.
    IsNull(Operand, bool),
    /// `x IS [NOT] <type>`, with the DynamoDB type (`S`, `BOOL`, ...) it tests for.
    IsType(Operand, &'static str, bool),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// `attr = literal` (either way round) with `attr` a top-level attribute: the
    /// attribute's name and the literal.
    pub fn equality(&self) -> Option<(&str, &Literal)> {
        match self {
            Condition::Compare(Operand::Path(p), CmpOp::Eq, Operand::Literal(l))
            | Condition::Compare(Operand::Literal(l), CmpOp::Eq, Operand::Path(p))
                if p.0.len() == 1 =>
            {
                Some((p.root(), l))
            }
            _ => None,
        }
    }

    /// The conjuncts of a chain of ANDs, left to right.
    pub fn conjuncts(&self) -> Vec<&Condition> {
        self.chain(|c| match c {
            Condition::And(a, b) => Some((a, b)),
            _ => None,
        })
    }

    /// The disjuncts of a chain of ORs, left to right.
    pub fn disjuncts(&self) -> Vec<&Condition> {
        self.chain(|c| match c {
            Condition::Or(a, b) => Some((a, b)),
            _ => None,
        })
    }

    /// The operands of nested binary nodes that `split` opens, left to right.
    fn chain(&self, split: fn(&Condition) -> Option<(&Condition, &Condition)>) -> Vec<&Condition> {
        match split(self) {
            Some((a, b)) => {
                let mut out = a.chain(split);
                out.extend(b.chain(split));
                out
            }
            None => vec![self],
        }
    }
}
