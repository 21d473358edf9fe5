//! A statement as the DynamoDB requests it stands for.
//!
//! - SELECT with an equality on the partition key (a top-level AND conjunct) is a Query:
//!   that equality and one sort-key condition form the key condition, the other conjuncts
//!   the filter, key attributes included (a Query request's filter may not name them, a
//!   statement's may). `pk IN [...]` or ORed `pk` equalities (up to 50 values) make one
//!   Query per partition, in the order written or, under `ORDER BY pk`, in key order, all
//!   within one page's 1 MB. Any other SELECT is a Scan filtered by the whole WHERE, as in
//!   DynamoDB.
//! - INSERT is a PutItem that must not find the key (DuplicateItemException otherwise).
//! - UPDATE (or its FROM-first form, `FROM t WHERE ... SET ...`, parsed alike) is an
//!   UpdateItem of the item named by key equalities in the WHERE; the item must exist and
//!   the rest of the WHERE hold (ConditionalCheckFailedException).
//! - DELETE is a DeleteItem likewise, except that a missing item is a silent no-op.
//! - EXISTS(SELECT ...) is a transaction's ConditionCheck on the item its WHERE names.

use std::collections::HashMap;

use shared::model::{check_built_item, AttributeValue, ExpressionValues, Item, KeySchema};
use shared::partiql::ast::*;
use shared::partiql::bind::{bind, bind_item};
use shared::partiql::render::Renderer;
use shared::partiql::INCOMPLETE_KEY;
use shared::wire::error::ApiError;
use shared::wire::ops::query::QueryInput;
use shared::wire::ops::scan::ScanInput;

use super::next_token::Resume;
use super::overlap::refuse_overlap;
use crate::app::App;

/// What a SELECT runs. `keys_in_filter`: the Query's filter names key attributes.
pub enum Read {
    Query {
        query: QueryInput,
        keys_in_filter: bool,
    },
    /// One Query per partition of an `IN` list (or an OR of equalities) on the partition
    /// key: `query` with the value placeholder `placeholder` set to each of `partitions` in
    /// turn (`hash` names the partition key attribute).
    Queries {
        query: QueryInput,
        keys_in_filter: bool,
        hash: String,
        placeholder: String,
        partitions: Vec<AttributeValue>,
    },
    Scan(ScanInput),
}

pub struct ReadPlan {
    pub table: String,
    pub read: Read,
    /// The full primary key, when the statement reads one table item by key equalities
    /// alone (what BatchExecuteStatement and ExecuteTransaction accept).
    pub single_key: Option<Item>,
    /// The projection on its own, for a single-key read done as a GetItem.
    pub projection: Option<(String, HashMap<String, String>)>,
}

pub enum WriteKind {
    Insert(Item),
    Update {
        key: Item,
        expression: String,
    },
    Delete {
        key: Item,
    },
    /// EXISTS: the item must exist and the condition hold; nothing is written.
    Check {
        key: Item,
    },
}

pub struct WritePlan {
    pub table: String,
    pub kind: WriteKind,
    pub condition: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<ExpressionValues>,
    pub returning: Option<Returning>,
}

pub enum Plan {
    Read(Box<ReadPlan>),
    Write(WritePlan),
}

/// Options of the call that carries the statement.
#[derive(Default)]
pub struct ReadOptions {
    pub consistent_read: Option<bool>,
    pub limit: Option<i64>,
    /// ExecuteStatement's `NextToken`, read once the statement is known to be a SELECT.
    pub next_token: Option<Resume>,
    pub return_consumed_capacity: Option<String>,
}

/// The refusal of any statement reading a GSI whose key has several HASH or RANGE
/// attributes (DynamoDB's words: they name tables, though the rule follows the index).
const MULTI_ATTRIBUTE_INDEX: &str = "PartiQL statements cannot be executed on tables with multi-attribute HASH keys or multi-attribute RANGE keys.";

const PARAMETER_COUNT: &str = "Number of parameters in request and statement don't match.";

/// The most partition-key values an `IN` may list (DynamoDB's PartiQL operators).
const MAX_PARTITIONS: usize = 50;

/// Parses `text` and plans it against the table it names.
pub fn plan(
    app: &App,
    text: Option<&str>,
    params: Option<&[AttributeValue]>,
    options: ReadOptions,
) -> Result<Plan, ApiError> {
    let Some(text) = text else {
        return Err(ApiError::validation(
            "1 validation error detected: Value null at 'statement' failed to satisfy constraint: Member must not be null",
        ));
    };
    let parsed = shared::partiql::parse(text)?;
    let params = params.unwrap_or_default();
    if params.len() != parsed.param_count {
        return Err(ApiError::validation(PARAMETER_COUNT));
    }
    let table = app.catalog.table_for_data(parsed.statement.table())?;
    let mut renderer = Renderer::new(params);
    Ok(match &parsed.statement {
        Statement::Select(select) => {
            let schema = match &select.index {
                None => table.schema(),
                Some(name) => match table.index(name) {
                    // DynamoDB's PartiQL reads no index with a multi-attribute key, whatever
                    // the statement asks of it (the dynamodb-conformance suite's captures:
                    // only parse, literal and parameter errors come first).
                    Some(index) if index.schema.is_multi_attribute() => {
                        return Err(ApiError::validation(MULTI_ATTRIBUTE_INDEX));
                    }
                    Some(index) => &index.schema,
                    None => {
                        return Err(ApiError::validation(format!(
                            "The table does not have the specified index: {name}"
                        )))
                    }
                },
            };
            let read = plan_select(select, schema, params, &mut renderer, options)?;
            Plan::Read(Box::new(read))
        }
        Statement::Insert(insert) => {
            let AttributeValue::M(item) = bind_item(&insert.item, params)? else {
                return Err(ApiError::validation(
                    "Unsupported operation: Inserting a value that is not a tuple",
                ));
            };
            // Built from the statement's literals (and parameters placed inside them), not
            // parsed from JSON, whose reading caps nesting: capped here as PutItem's is.
            check_built_item(&item)?;
            let hash = renderer.name(&table.schema().hash.name);
            Plan::Write(WritePlan {
                table: insert.table.clone(),
                kind: WriteKind::Insert(item),
                condition: Some(format!("attribute_not_exists({hash})")),
                returning: None,
                ..WritePlan::placeholders(renderer)
            })
        }
        Statement::Update(update) => {
            let (key, rest) = key_of(&update.condition, table.schema(), params)?;
            let expression = renderer.update_actions(&update.actions)?;
            let condition = existing_and(&mut renderer, table.schema(), rest)?;
            Plan::Write(WritePlan {
                table: update.table.clone(),
                kind: WriteKind::Update { key, expression },
                condition: Some(condition),
                returning: update.returning,
                ..WritePlan::placeholders(renderer)
            })
        }
        Statement::Exists(select) => {
            let condition = select
                .condition
                .as_ref()
                .ok_or_else(|| ApiError::validation(INCOMPLETE_KEY))?;
            let (key, rest) = key_of(condition, table.schema(), params)?;
            // A check of nothing but the item's existence is refused (the
            // dynamodb-conformance suite's partiqlFunctions captures).
            if rest.is_none() {
                return Err(ApiError::validation(
                    "EXISTS() must contain a single item read with additional condition",
                ));
            }
            let condition = existing_and(&mut renderer, table.schema(), rest)?;
            Plan::Write(WritePlan {
                table: select.table.clone(),
                kind: WriteKind::Check { key },
                condition: Some(condition),
                returning: None,
                ..WritePlan::placeholders(renderer)
            })
        }
        Statement::Delete(delete) => {
            if let Some(returning) = delete.returning.filter(|r| *r != Returning::AllOld) {
                // DynamoDB's words, naming the clause as written (the dynamodb-conformance
                // suite's tier3 PartiQL RETURNING captures).
                return Err(ApiError::validation(format!(
                    "Invalid returning clause: RETURNING {} *. Only RETURNING ALL OLD * is allowed in DELETE statements.",
                    returning.clause()
                )));
            }
            let (key, rest) = key_of(&delete.condition, table.schema(), params)?;
            let condition = match rest {
                None => None,
                Some(rest) => {
                    let hash = renderer.name(&table.schema().hash.name);
                    let rest = render_all(&mut renderer, &rest)?;
                    Some(format!("attribute_not_exists({hash}) OR ({rest})"))
                }
            };
            Plan::Write(WritePlan {
                table: delete.table.clone(),
                kind: WriteKind::Delete { key },
                condition,
                returning: delete.returning,
                ..WritePlan::placeholders(renderer)
            })
        }
    })
}

impl WritePlan {
    /// A plan holding `renderer`'s placeholders and nothing else yet.
    fn placeholders(renderer: Renderer) -> WritePlan {
        WritePlan {
            table: String::new(),
            kind: WriteKind::Insert(Item::new()),
            condition: None,
            names: non_empty(renderer.names),
            values: non_empty(renderer.values).map(ExpressionValues),
            returning: None,
        }
    }
}

/// The condition of a write that needs its item: it exists, and `rest` holds.
fn existing_and(
    renderer: &mut Renderer,
    schema: &KeySchema,
    rest: Option<Vec<&Condition>>,
) -> Result<String, ApiError> {
    let hash = renderer.name(&schema.hash.name);
    Ok(match rest {
        None => format!("attribute_exists({hash})"),
        Some(rest) => format!(
            "attribute_exists({hash}) AND ({})",
            render_all(renderer, &rest)?
        ),
    })
}

/// Renders conjuncts joined by AND, each parenthesized when there are several (never one
/// alone: callers parenthesize, and DynamoDB refuses doubled parentheses as redundant).
fn render_all(renderer: &mut Renderer, conjuncts: &[&Condition]) -> Result<String, ApiError> {
    if let [one] = conjuncts {
        return renderer.condition(one);
    }
    let parts = conjuncts
        .iter()
        .map(|c| renderer.condition(c).map(|text| format!("({text})")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(" AND "))
}

/// The literal that a conjunct `attr = literal` (either way round) gives `attr`.
fn equality_on<'a>(condition: &'a Condition, attr: &str) -> Option<&'a Literal> {
    condition
        .equality()
        .and_then(|(name, literal)| (name == attr).then_some(literal))
}

/// The full primary key that a write's WHERE names, and the conjuncts left over.
fn key_of<'a>(
    condition: &'a Condition,
    schema: &KeySchema,
    params: &[AttributeValue],
) -> Result<(Item, Option<Vec<&'a Condition>>), ApiError> {
    let mut rest = condition.conjuncts();
    let mut key = Item::new();
    for attr in schema.attributes() {
        let Some(at) = rest
            .iter()
            .position(|c| equality_on(c, &attr.name).is_some())
        else {
            return Err(ApiError::validation(INCOMPLETE_KEY));
        };
        let conjunct = rest.remove(at);
        if let Some(literal) = equality_on(conjunct, &attr.name) {
            key.insert(attr.name.clone(), bind(literal, params)?);
        }
    }
    Ok((key, (!rest.is_empty()).then_some(rest)))
}

/// The values of `hash IN [v, ...]` or `hash = v OR hash = w ...` (literals only).
fn partition_list<'a>(condition: &'a Condition, hash: &str) -> Option<Vec<&'a Literal>> {
    match condition {
        Condition::In(Operand::Path(p), list) if p.is_attribute(hash) => list
            .iter()
            .map(|o| match o {
                Operand::Literal(l) => Some(l),
                _ => None,
            })
            .collect(),
        Condition::Or(..) => condition
            .disjuncts()
            .into_iter()
            .map(|d| equality_on(d, hash))
            .collect(),
        _ => None,
    }
}

/// Whether a conjunct can be part of a key condition on sort key `range`.
fn is_sort_condition(condition: &Condition, range: &str) -> bool {
    let literal = |o: &Operand| matches!(o, Operand::Literal(_));
    match condition {
        Condition::Compare(Operand::Path(p), cmp, value) => {
            p.is_attribute(range) && *cmp != CmpOp::Ne && literal(value)
        }
        Condition::Between(Operand::Path(p), low, high) => {
            p.is_attribute(range) && literal(low) && literal(high)
        }
        Condition::Function(name, args) => {
            name == "begins_with"
                && matches!(args.as_slice(), [Operand::Path(p), v] if p.is_attribute(range) && literal(v))
        }
        _ => false,
    }
}

/// Whether a condition mentions top-level attribute `name` anywhere.
pub(super) fn mentions(condition: &Condition, name: &str) -> bool {
    fn operand(o: &Operand, name: &str) -> bool {
        match o {
            Operand::Path(p) => p.root() == name,
            Operand::Literal(_) => false,
            Operand::Call(_, args) => args.iter().any(|a| operand(a, name)),
            Operand::Arithmetic(a, _, b) => operand(a, name) || operand(b, name),
        }
    }
    match condition {
        Condition::Compare(a, _, b) => operand(a, name) || operand(b, name),
        Condition::Between(a, b, c) => [a, b, c].iter().any(|o| operand(o, name)),
        Condition::In(a, list) => operand(a, name) || list.iter().any(|o| operand(o, name)),
        Condition::Function(_, args) => args.iter().any(|o| operand(o, name)),
        Condition::IsMissing(a, _) | Condition::IsNull(a, _) | Condition::IsType(a, _, _) => {
            operand(a, name)
        }
        Condition::And(a, b) | Condition::Or(a, b) => mentions(a, name) || mentions(b, name),
        Condition::Not(a) => mentions(a, name),
    }
}

fn plan_select(
    select: &Select,
    schema: &KeySchema,
    params: &[AttributeValue],
    renderer: &mut Renderer,
    options: ReadOptions,
) -> Result<ReadPlan, ApiError> {
    let exclusive_start_key = options
        .next_token
        .as_ref()
        .map(Resume::start_key)
        .transpose()?;
    if let Some(condition) = &select.condition {
        refuse_overlap(condition, schema, params)?;
    }
    let conjuncts = select
        .condition
        .as_ref()
        .map(Condition::conjuncts)
        .unwrap_or_default();
    let hash = &schema.hash.name;
    let range = schema.range.as_ref().map(|r| r.name.as_str());

    // The key condition: the partition-key equality (or list of them) and at most one
    // sort-key condition; every other conjunct filters what the Query reads.
    let hash_at = conjuncts
        .iter()
        .position(|c| equality_on(c, hash).is_some())
        .or_else(|| {
            conjuncts
                .iter()
                .position(|c| partition_list(c, hash).is_some())
        });
    let mut key_parts: Vec<&Condition> = Vec::new();
    let mut filter: Vec<&Condition> = Vec::new();
    let is_query = hash_at.is_some();
    let mut keys_in_filter = false;
    if let Some(hash_at) = hash_at {
        key_parts.push(conjuncts[hash_at]);
        let mut range_taken = false;
        for (i, c) in conjuncts.iter().enumerate() {
            if i == hash_at {
                continue;
            }
            if let Some(range) = range {
                if !range_taken && is_sort_condition(c, range) {
                    key_parts.push(c);
                    range_taken = true;
                    continue;
                }
            }
            keys_in_filter |= mentions(c, hash) || range.is_some_and(|r| mentions(c, r));
            filter.push(c);
        }
    }

    let single_key = if is_query && filter.is_empty() && select.index.is_none() {
        let mut key = Item::new();
        for c in &key_parts {
            for attr in std::iter::once(hash.as_str()).chain(range) {
                if let Some(literal) = equality_on(c, attr) {
                    key.insert(attr.to_string(), bind(literal, params)?);
                }
            }
        }
        (key.len() == 1 + usize::from(range.is_some())).then_some(key)
    } else {
        None
    };
    let projection = match &select.projection {
        None => None,
        Some(paths) => {
            let mut alone = Renderer::new(params);
            let text = paths
                .iter()
                .map(|p| alone.path(p))
                .collect::<Vec<_>>()
                .join(", ");
            Some((text, alone.names))
        }
    };
    let projection_expression = select.projection.as_ref().map(|paths| {
        paths
            .iter()
            .map(|p| renderer.path(p))
            .collect::<Vec<_>>()
            .join(", ")
    });

    // Partitions listed in an IN come back in key order under `ORDER BY pk`.
    let mut partition_order = None;
    let forward = match &select.order_by {
        None => None,
        Some((path, descending)) => {
            if path.is_attribute(hash) {
                partition_order = Some(*descending);
            }
            let on_key = path.is_attribute(hash) || range.is_some_and(|r| path.is_attribute(r));
            if !is_query || !on_key {
                return Err(ApiError::validation(
                    "Must have WHERE clause in the statement when using ORDER BY clause, with an equality on the partition key; ORDER BY names a key attribute",
                ));
            }
            Some(!descending)
        }
    };

    let read = if is_query {
        let (hash_part, sort_part) = (key_parts[0], key_parts.get(1));
        let mut listed = None;
        let mut key_condition = match partition_list(hash_part, hash) {
            Some(literals) if equality_on(hash_part, hash).is_none() => {
                if literals.len() > MAX_PARTITIONS {
                    return Err(ApiError::validation(format!(
                        "Too many partition key values in the IN condition: at most {MAX_PARTITIONS} are allowed"
                    )));
                }
                let mut partitions: Vec<AttributeValue> = Vec::with_capacity(literals.len());
                for literal in literals {
                    let value = bind(literal, params)?;
                    if !partitions.contains(&value) {
                        partitions.push(value);
                    }
                }
                if let Some(descending) = partition_order {
                    // Key values of one type: the schema's (a mismatch fails in the Query).
                    partitions.sort_by(|a, b| a.scalar_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                    if descending {
                        partitions.reverse();
                    }
                }
                let placeholder = renderer.value(partitions[0].clone());
                let text = format!("{} = {placeholder}", renderer.name(hash));
                listed = Some((placeholder, partitions));
                text
            }
            // `#pk = :v` whichever way round the statement wrote it: a key condition
            // names the key first.
            _ => match equality_on(hash_part, hash) {
                Some(literal) => {
                    let value = renderer.value(bind(literal, params)?);
                    format!("{} = {value}", renderer.name(hash))
                }
                None => renderer.condition(hash_part)?,
            },
        };
        if let Some(sort) = sort_part {
            key_condition = format!("({key_condition}) AND ({})", renderer.condition(sort)?);
        }
        let filter_expression = if filter.is_empty() {
            None
        } else {
            Some(render_all(renderer, &filter)?)
        };
        let query = QueryInput {
            table_name: Some(select.table.clone()),
            index_name: select.index.clone(),
            limit: options.limit,
            consistent_read: options.consistent_read,
            scan_index_forward: forward,
            exclusive_start_key,
            return_consumed_capacity: options.return_consumed_capacity,
            projection_expression,
            filter_expression,
            key_condition_expression: Some(key_condition),
            expression_attribute_names: non_empty(std::mem::take(&mut renderer.names)),
            expression_attribute_values: non_empty(std::mem::take(&mut renderer.values))
                .map(ExpressionValues),
            ..Default::default()
        };
        match listed {
            None => Read::Query {
                query,
                keys_in_filter,
            },
            Some((placeholder, partitions)) => Read::Queries {
                query,
                keys_in_filter,
                hash: hash.clone(),
                placeholder,
                partitions,
            },
        }
    } else {
        let filter_expression = select
            .condition
            .as_ref()
            .map(|c| renderer.condition(c))
            .transpose()?;
        Read::Scan(ScanInput {
            table_name: Some(select.table.clone()),
            index_name: select.index.clone(),
            limit: options.limit,
            consistent_read: options.consistent_read,
            exclusive_start_key,
            return_consumed_capacity: options.return_consumed_capacity,
            projection_expression,
            filter_expression,
            expression_attribute_names: non_empty(std::mem::take(&mut renderer.names)),
            expression_attribute_values: non_empty(std::mem::take(&mut renderer.values))
                .map(ExpressionValues),
            ..Default::default()
        })
    };
    Ok(ReadPlan {
        table: select.table.clone(),
        read,
        single_key,
        projection,
    })
}

fn non_empty<K, V>(map: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}
