//! `dynamodb:LeadingKeys`: the partition key values of the items a call names, which
//! fine-grained access control conditions test (a tenant may only reach items whose
//! partition key is its own name, say).
//!
//! Read from the request as its handler will read it: the partition key attribute of the
//! table (or, for a Query of an index, of the index) in `Key`/`Item`, and for a Query the
//! equality on it in `KeyConditionExpression` (through the same parser and substitutions)
//! or in the legacy `KeyConditions`; a PartiQL statement's, from its plan (the Query,
//! Queries or key it is planned as; a SELECT planned as a Scan names none). A request
//! this cannot read them from (an unknown
//! table, an item without its key, an expression that does not parse) yields `None`, and
//! conditions on the key then fail closed (`evaluate::LeadingKeys::Unknown`): were the
//! handler to read such a request differently, it still could not reach keys a policy
//! keeps from it.
//!
//! A value is its text: an S value itself, an N value in DynamoDB's canonical form, a B
//! value in base64.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;
use shared::expr::{self, SortKeyCondition, Substitutions};
use shared::model::AttributeValue;
use shared::wire::ops::query::QueryInput;

use crate::api::partiql::plan::{self, Plan, Read, ReadOptions, WriteKind};
use crate::api::read_page::IndexTarget;
use crate::app::App;
use crate::catalog::TableMeta;

/// The table `name` (a name or an ARN) names, if it exists.
fn table(app: &App, name: &str) -> Option<Arc<TableMeta>> {
    app.catalog.get(app.catalog.resolve_name(name))
}

/// The partition key values of `items` (objects of attribute values) in table
/// `table` (a name or an ARN); `None` when the table is unknown or an item lacks a key
/// value.
pub fn of_items<'a>(
    app: &App,
    table: &str,
    items: impl IntoIterator<Item = &'a Value>,
) -> Option<Vec<String>> {
    let meta = self::table(app, table)?;
    let name = &meta.layout.schema.hash.name;
    items
        .into_iter()
        .map(|item| {
            let value = serde_json::from_value::<AttributeValue>(item.get(name)?.clone());
            text_of(&value.ok()?)
        })
        .collect()
}

/// The partition key value a Query asks for, as one value; `None` when the table or index
/// is unknown or the request too malformed to say.
pub fn of_query(app: &App, request: &Value) -> Option<Vec<String>> {
    of_query_input(app, &serde_json::from_value(request.clone()).ok()?)
}

/// [`of_query`] of a Query's input.
fn of_query_input(app: &App, input: &QueryInput) -> Option<Vec<String>> {
    let meta = table(app, input.table_name.as_deref()?)?;
    let schema = match &input.index_name {
        None => meta.layout.schema.clone(),
        Some(index) => IndexTarget::of(&meta, index)?.layout.schema,
    };
    let values = input.expression_attribute_values.as_ref().map(|v| &v.0);
    let subs = Substitutions::new(input.expression_attribute_names.as_ref(), values);
    let parts = match (&input.key_condition_expression, &input.key_conditions) {
        (Some(text), _) => expr::parse_key_condition_parts(text, &subs).ok()?,
        (None, Some(conditions)) => expr::legacy::key_conditions(conditions).ok()?,
        (None, None) => return None,
    };
    parts.iter().find_map(|(name, condition)| match condition {
        SortKeyCondition::Eq(value) if *name == schema.hash.name => Some(vec![text_of(value)?]),
        _ => None,
    })
}

/// What a PartiQL statement names, planned as its handler plans it.
pub struct Planned {
    /// The partition keys of the items it reads or writes; `None` for a Scan, which
    /// names none.
    pub keys: Option<Vec<String>>,
    /// Whether it reads the whole table (a SELECT planned as a Scan).
    pub full_scan: bool,
}

/// What the PartiQL statement `entry` (its `Statement` and `Parameters`) names; `None`
/// when it does not plan (an unknown table, parameters that do not match), which its
/// handler refuses.
pub fn of_statement(app: &App, entry: &Value) -> Option<Planned> {
    let text = entry.get("Statement")?.as_str()?;
    let params: Option<Vec<AttributeValue>> = match entry.get("Parameters") {
        None | Some(Value::Null) => None,
        Some(list) => Some(serde_json::from_value(list.clone()).ok()?),
    };
    let planned = plan::plan(app, Some(text), params.as_deref(), ReadOptions::default()).ok()?;
    let (keys, full_scan) = match planned {
        Plan::Read(read) => match read.read {
            Read::Scan(_) => (None, true),
            Read::Query { query, .. } => (Some(of_query_input(app, &query)?), false),
            Read::Queries { partitions, .. } => {
                let keys = partitions.iter().map(text_of).collect::<Option<_>>()?;
                (Some(keys), false)
            }
        },
        Plan::Write(write) => {
            let item = match &write.kind {
                WriteKind::Insert(item) => item,
                WriteKind::Update { key, .. }
                | WriteKind::Delete { key }
                | WriteKind::Check { key } => key,
            };
            let meta = table(app, &write.table)?;
            let value = item.get(&meta.layout.schema.hash.name)?;
            (Some(vec![text_of(value)?]), false)
        }
    };
    Some(Planned { keys, full_scan })
}

/// A key value's text; `None` for a type no key has.
fn text_of(value: &AttributeValue) -> Option<String> {
    match value {
        AttributeValue::S(s) => Some(s.clone()),
        AttributeValue::N(n) => Some(n.to_string()),
        AttributeValue::B(b) => Some(base64::engine::general_purpose::STANDARD.encode(b)),
        _ => None,
    }
}
