//! `dynamodb:LeadingKeys`: the partition key values of the items a call names, which
//! fine-grained access control conditions test (a tenant may only reach items whose
//! partition key is its own name, say).
//!
//! Read from the request as its handler will read it: the partition key attribute of the
//! table (or, for a Query of an index, of the index) in `Key`/`Item`, and for a Query the
//! equality on it in `KeyConditionExpression` (through the same parser and substitutions)
//! or in the legacy `KeyConditions`. A request this cannot read them from (an unknown
//! table, an item without its key, an expression that does not parse) yields `None`, and
//! conditions on the key then fail closed (`evaluate::LeadingKeys::Unknown`): were the
//! handler to read such a request differently, it still could not reach keys a policy
//! keeps from it.
//!
//! A value is its text: an S value itself, an N value in DynamoDB's canonical form, a B
//! value in base64.

use base64::Engine as _;
use serde_json::Value;
use shared::expr::{self, SortKeyCondition, Substitutions};
use shared::model::AttributeValue;
use shared::wire::ops::query::QueryInput;

use crate::api::read_page::IndexTarget;
use crate::app::App;

/// The partition key values of `items` (objects of attribute values) in table
/// `table` (a name or an ARN); `None` when the table is unknown or an item lacks a key
/// value.
pub fn of_items<'a>(
    app: &App,
    table: &str,
    items: impl IntoIterator<Item = &'a Value>,
) -> Option<Vec<String>> {
    let meta = app.catalog.get(app.catalog.resolve_name(table))?;
    let name = &meta.layout.schema.hash.name;
    items
        .into_iter()
        .map(|item| {
            let value = serde_json::from_value::<AttributeValue>(item.get(name)?.clone());
            text(&value.ok()?)
        })
        .collect()
}

/// The partition key value a Query asks for, as one value; `None` when the table or index
/// is unknown or the request too malformed to say.
pub fn of_query(app: &App, request: &Value) -> Option<Vec<String>> {
    let input: QueryInput = serde_json::from_value(request.clone()).ok()?;
    let meta = app
        .catalog
        .get(app.catalog.resolve_name(input.table_name.as_deref()?))?;
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
        SortKeyCondition::Eq(value) if *name == schema.hash.name => Some(vec![text(value)?]),
        _ => None,
    })
}

/// A key value's text; `None` for a type no key has.
fn text(value: &AttributeValue) -> Option<String> {
    match value {
        AttributeValue::S(s) => Some(s.clone()),
        AttributeValue::N(n) => Some(n.to_string()),
        AttributeValue::B(b) => Some(base64::engine::general_purpose::STANDARD.encode(b)),
        _ => None,
    }
}
