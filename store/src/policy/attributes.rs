//! `dynamodb:Attributes`: the top-level attribute names a call reads or writes, which
//! fine-grained access control conditions test (a role may see only some attributes of a
//! table's items: `ForAllValues:StringEquals` on the names it may touch, with
//! `StringEqualsIfExists` on `dynamodb:Select` = `SPECIFIC_ATTRIBUTES`, IAM's recipe).
//!
//! Read from the members its handler reads, through the same parsers and substitutions:
//! the names in `Key`, `Keys` and `Item`; `ProjectionExpression` or `AttributesToGet`;
//! what `KeyConditionExpression`, `ConditionExpression`, `FilterExpression` and
//! `UpdateExpression` read or write (a SET's operands too); the names the legacy
//! `KeyConditions`, `Expected`, `QueryFilter`, `ScanFilter` and `AttributeUpdates` map; and
//! for PartiQL, the statement's paths (its projection, WHERE, SET and REMOVE, an INSERT's
//! item).
//!
//! A call that returns whole items reads every attribute, which no list names: a GetItem
//! (or a BatchGetItem table, a transaction's Get) without a projection; a Query or Scan
//! selecting `ALL_ATTRIBUTES` (a table's default) or `ALL_PROJECTED_ATTRIBUTES` of an index
//! that projects all; `SELECT *`; a write returning `ALL_OLD`/`ALL_NEW` (`ReturnValues`,
//! `ReturnValuesOnConditionCheckFailure`, `RETURNING`). Those, and requests that cannot be
//! read (an expression that does not parse), yield `None`, and conditions on the key fail
//! closed as `dynamodb:LeadingKeys`' do: they hold in a `Deny`, not in an `Allow`. IAM
//! leaves writes returning whole items to a condition on `dynamodb:ReturnValues`; this
//! store counts them as reading every attribute, which refuses more, never less.

use std::collections::{BTreeSet, HashMap};

use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::expr::{self, ExprKind, Substitutions};
use shared::model::AttributeValue;
use shared::partiql::ast::{self, Literal, Operand, Returning, Statement};

use crate::app::App;
use crate::catalog::ProjectionType;

/// What a part of a call does with items, which decides whether it returns them whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// GetItem, a BatchGetItem table, a transaction's Get.
    ReadItems,
    /// PutItem, UpdateItem, DeleteItem, a transaction's writes and checks, a
    /// BatchWriteItem request.
    WriteItems,
    /// Query or Scan (of the table `TableName`, or of its index `IndexName`).
    Read,
}

/// The attribute names `part` of a call (the request, a transaction member's detail, a
/// BatchGetItem table's entry, a BatchWriteItem request) reads or writes; `None` when it
/// returns whole items or cannot be read (module docs).
pub fn of_part(app: &App, call: Call, part: &Value) -> Option<Vec<String>> {
    let mut names = named(part)?;
    match call {
        Call::ReadItems if !projects(part) => return None,
        Call::WriteItems if returns_whole_items(part) => return None,
        Call::Read => names.extend(selected(app, part)?),
        _ => {}
    }
    Some(names.into_iter().collect())
}

/// The attribute names of BatchWriteItem's requests for one table.
pub fn of_writes(writes: &Value) -> Option<Vec<String>> {
    let mut names = BTreeSet::new();
    for write in writes.as_array()? {
        for (kind, request) in write.as_object()? {
            if !matches!(kind.as_str(), "PutRequest" | "DeleteRequest") {
                return None;
            }
            names.extend(named(request)?);
        }
    }
    Some(names.into_iter().collect())
}

/// Whether a read names the attributes it returns.
fn projects(part: &Value) -> bool {
    part.get("ProjectionExpression").is_some() || part.get("AttributesToGet").is_some()
}

/// Whether a write answers with whole items.
fn returns_whole_items(part: &Value) -> bool {
    let says = |member: &str, values: &[&str]| {
        part.get(member)
            .and_then(Value::as_str)
            .is_some_and(|v| values.contains(&v))
    };
    says("ReturnValues", &["ALL_OLD", "ALL_NEW"])
        || says("ReturnValuesOnConditionCheckFailure", &["ALL_OLD"])
}

/// The attributes a Query or Scan returns beyond those it names: none for COUNT or
/// SPECIFIC_ATTRIBUTES, an index's projected ones for ALL_PROJECTED_ATTRIBUTES (the
/// default on an index without a projection); `None` for every attribute.
fn selected(app: &App, part: &Value) -> Option<BTreeSet<String>> {
    let index = match part.get("IndexName") {
        None => None,
        Some(name) => Some(name.as_str()?),
    };
    let select = match part.get("Select") {
        None if projects(part) => "SPECIFIC_ATTRIBUTES",
        None if index.is_some() => "ALL_PROJECTED_ATTRIBUTES",
        None => "ALL_ATTRIBUTES",
        Some(select) => select.as_str()?,
    };
    match select {
        "COUNT" | "SPECIFIC_ATTRIBUTES" => Some(BTreeSet::new()),
        "ALL_PROJECTED_ATTRIBUTES" => {
            let table = part.get("TableName")?.as_str()?;
            let meta = app.catalog.get(app.catalog.resolve_name(table))?;
            let index = index?;
            let index = meta
                .local_index(index)
                .or_else(|| meta.global_index(index))?;
            if index.projection.kind == ProjectionType::All {
                return None;
            }
            let keys = [&meta.layout.schema, &index.schema]
                .into_iter()
                .flat_map(|schema| std::iter::once(&schema.hash).chain(&schema.range))
                .map(|key| key.name.clone());
            Some(
                keys.chain(index.projection.non_key_attributes.iter().cloned())
                    .collect(),
            )
        }
        _ => None,
    }
}

/// The names `part`'s members name (module docs).
fn named(part: &Value) -> Option<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    let maps = [
        "Key",
        "Item",
        "KeyConditions",
        "Expected",
        "QueryFilter",
        "ScanFilter",
        "AttributeUpdates",
    ];
    for member in maps {
        if let Some(map) = part.get(member) {
            names.extend(map.as_object()?.keys().cloned());
        }
    }
    if let Some(keys) = part.get("Keys") {
        for key in keys.as_array()? {
            names.extend(key.as_object()?.keys().cloned());
        }
    }
    if let Some(list) = member::<Vec<String>>(part, "AttributesToGet")? {
        names.extend(list);
    }
    let substituted = member::<HashMap<String, String>>(part, "ExpressionAttributeNames")?;
    let values = member::<HashMap<String, AttributeValue>>(part, "ExpressionAttributeValues")?;
    let subs = Substitutions::new(substituted.as_ref(), values.as_ref());
    let text = |member: &str| part.get(member).map(|v| v.as_str().ok_or(()));
    if let Some(text) = text("ProjectionExpression") {
        let projection = expr::parse_projection(text.ok()?, &subs).ok()?;
        names.extend(projection.top_level_attributes());
    }
    if let Some(text) = text("KeyConditionExpression") {
        let parts = expr::parse_key_condition_parts(text.ok()?, &subs).ok()?;
        names.extend(parts.into_iter().map(|(name, _)| name));
    }
    for (member, kind) in [
        ("ConditionExpression", ExprKind::Condition),
        ("FilterExpression", ExprKind::Filter),
    ] {
        if let Some(text) = text(member) {
            let condition = expr::parse_condition(kind, text.ok()?, &subs).ok()?;
            names.extend(condition.top_level_attributes());
        }
    }
    if let Some(text) = text("UpdateExpression") {
        let update = expr::parse_update(text.ok()?, &subs).ok()?;
        names.extend(update.top_level_attributes());
    }
    Some(names)
}

/// Member `name` of `part` as a `T`: `Some(None)` when absent, `None` when malformed.
fn member<T: DeserializeOwned>(part: &Value, name: &str) -> Option<Option<T>> {
    match part.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(value) => serde_json::from_value(value.clone()).ok().map(Some),
    }
}

/// The attribute names PartiQL `statement` reads or writes; `entry` holds its
/// `Parameters` (an INSERT's item may be one) and `ReturnValuesOnConditionCheckFailure`.
pub fn of_statement(statement: &Statement, entry: &Value) -> Option<Vec<String>> {
    if returns_whole_items(entry) {
        return None;
    }
    let mut names = BTreeSet::new();
    match statement {
        Statement::Select(select) => {
            let projection = select.projection.as_ref()?;
            names.extend(projection.iter().map(root));
            names.extend(select.order_by.iter().map(|(path, _)| root(path)));
            if let Some(condition) = &select.condition {
                condition_names(condition, &mut names);
            }
        }
        Statement::Exists(select) => {
            if let Some(condition) = &select.condition {
                condition_names(condition, &mut names);
            }
        }
        Statement::Insert(insert) => match &insert.item {
            Literal::Map(members) => names.extend(members.iter().map(|(name, _)| name.clone())),
            Literal::Param(n) => {
                let item = entry.get("Parameters")?.get(n)?.get("M")?;
                names.extend(item.as_object()?.keys().cloned());
            }
            _ => return None,
        },
        Statement::Update(update) => {
            if whole(update.returning) {
                return None;
            }
            for action in &update.actions {
                match action {
                    ast::UpdateAction::Set(path, value) => {
                        names.insert(root(path));
                        operand_names(value, &mut names);
                    }
                    ast::UpdateAction::Remove(path) => {
                        names.insert(root(path));
                    }
                }
            }
            condition_names(&update.condition, &mut names);
        }
        Statement::Delete(delete) => {
            if whole(delete.returning) {
                return None;
            }
            condition_names(&delete.condition, &mut names);
        }
    }
    Some(names.into_iter().collect())
}

/// Whether a RETURNING clause answers with whole items.
fn whole(returning: Option<Returning>) -> bool {
    matches!(returning, Some(Returning::AllOld | Returning::AllNew))
}

fn root(path: &ast::Path) -> String {
    path.root().to_string()
}

fn condition_names(condition: &ast::Condition, names: &mut BTreeSet<String>) {
    use ast::Condition as C;
    match condition {
        C::Compare(a, _, b) => {
            operand_names(a, names);
            operand_names(b, names);
        }
        C::Between(a, b, c) => [a, b, c].into_iter().for_each(|o| operand_names(o, names)),
        C::In(a, list) => {
            operand_names(a, names);
            list.iter().for_each(|o| operand_names(o, names));
        }
        C::Function(_, operands) => operands.iter().for_each(|o| operand_names(o, names)),
        C::IsMissing(a, _) | C::IsNull(a, _) => operand_names(a, names),
        C::And(a, b) | C::Or(a, b) => {
            condition_names(a, names);
            condition_names(b, names);
        }
        C::Not(a) => condition_names(a, names),
    }
}

fn operand_names(operand: &Operand, names: &mut BTreeSet<String>) {
    match operand {
        Operand::Path(path) => {
            names.insert(root(path));
        }
        Operand::Literal(_) => {}
        Operand::Call(_, operands) => operands.iter().for_each(|o| operand_names(o, names)),
        Operand::Arithmetic(a, _, b) => {
            operand_names(a, names);
            operand_names(b, names);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(of: Option<BTreeSet<String>>) -> Option<Vec<String>> {
        of.map(|n| n.into_iter().collect())
    }

    fn list(names: &[&str]) -> Option<Vec<String>> {
        Some(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn a_request_names_its_keys_items_and_expressions() {
        let update = json!({
            "Key": {"pk": {"S": "a"}},
            "UpdateExpression": "SET #t = #t + :one REMOVE gone",
            "ConditionExpression": "attribute_exists(#s) AND size(tags) > :one",
            "ExpressionAttributeNames": {"#t": "total", "#s": "state"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        });
        assert_eq!(
            names(named(&update)),
            list(&["gone", "pk", "state", "tags", "total"])
        );
        let legacy = json!({
            "Item": {"pk": {"S": "a"}, "b": {"N": "1"}},
            "Expected": {"c": {"Exists": false}},
        });
        assert_eq!(names(named(&legacy)), list(&["b", "c", "pk"]));
        let query = json!({
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :p)",
            "FilterExpression": "#n > :p",
            "ProjectionExpression": "a.b[1], c",
            "ExpressionAttributeNames": {"#n": "n"},
            "ExpressionAttributeValues": {":p": {"S": "x"}},
        });
        assert_eq!(names(named(&query)), list(&["a", "c", "n", "pk", "sk"]));
        let batch = json!({"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}, "sk": {"N": "1"}}],
                           "AttributesToGet": ["x"]});
        assert_eq!(names(named(&batch)), list(&["pk", "sk", "x"]));
    }

    #[test]
    fn what_cannot_be_read_is_unknown() {
        for bad in [
            json!({"ProjectionExpression": "a, "}),
            json!({"ProjectionExpression": 7}),
            json!({"ConditionExpression": "a = :missing"}),
            json!({"UpdateExpression": "SET #x = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}}),
            json!({"Key": ["pk"]}),
            json!({"AttributesToGet": "a"}),
            json!({"ExpressionAttributeValues": {":v": {"Q": "1"}}}),
        ] {
            assert_eq!(named(&bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_returning_whole_items_name_every_attribute() {
        assert!(returns_whole_items(&json!({"ReturnValues": "ALL_NEW"})));
        assert!(returns_whole_items(
            &json!({"ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
        ));
        assert!(!returns_whole_items(
            &json!({"ReturnValues": "UPDATED_NEW"})
        ));
        let writes = json!([
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "b"}}}},
        ]);
        assert_eq!(of_writes(&writes), list(&["pk", "v"]));
        assert_eq!(of_writes(&json!([{"Other": {}}])), None);
    }

    #[test]
    fn statements_name_their_paths() {
        let none = json!({});
        let cases = [
            (
                r#"SELECT a, b.c FROM "t" WHERE pk = 'x' AND size(d) > 1"#,
                none.clone(),
                list(&["a", "b", "d", "pk"]),
            ),
            (r#"SELECT * FROM "t" WHERE pk = 'x'"#, none.clone(), None),
            (
                r#"INSERT INTO "t" VALUE {'pk': 'x', 'v': 1}"#,
                none.clone(),
                list(&["pk", "v"]),
            ),
            (
                r#"INSERT INTO "t" VALUE ?"#,
                json!({"Parameters": [{"M": {"pk": {"S": "x"}, "w": {"N": "2"}}}]}),
                list(&["pk", "w"]),
            ),
            (
                r#"UPDATE "t" SET a = b + 1 REMOVE c WHERE pk = 'x' RETURNING MODIFIED NEW *"#,
                none.clone(),
                list(&["a", "b", "c", "pk"]),
            ),
            (
                r#"UPDATE "t" SET a = 1 WHERE pk = 'x' RETURNING ALL NEW *"#,
                none.clone(),
                None,
            ),
            (
                r#"DELETE FROM "t" WHERE pk = 'x' AND v < 3"#,
                none.clone(),
                list(&["pk", "v"]),
            ),
            (
                r#"DELETE FROM "t" WHERE pk = 'x'"#,
                json!({"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
                None,
            ),
            (
                r#"EXISTS(SELECT * FROM "t" WHERE pk = 'x' AND v = 1)"#,
                none,
                list(&["pk", "v"]),
            ),
        ];
        for (text, entry, expected) in cases {
            let statement = shared::partiql::parse(text).map(|p| p.statement);
            let statement = statement.unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(of_statement(&statement, &entry), expected, "{text}");
        }
    }
}
