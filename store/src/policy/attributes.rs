//! `dynamodb:Attributes`: the top-level attribute names a call reads or writes, which
//! fine-grained access control conditions test (a role may see only some attributes of a
//! table's items: `ForAllValues:StringEquals` on the names it may touch, with
//! `StringEqualsIfExists` on `dynamodb:Select` = `SPECIFIC_ATTRIBUTES`, IAM's recipe).
//!
//! Read from the members its handler reads (those its input has; `null` is absent, as the
//! handler's typed input takes it), through the same parsers and substitutions: the names
//! in `Key`, `Keys` and `Item`; `ProjectionExpression` or `AttributesToGet`; what
//! `KeyConditionExpression`, `ConditionExpression`, `FilterExpression` and
//! `UpdateExpression` read or write (a SET's operands too); the names the legacy
//! `KeyConditions`, `Expected`, `QueryFilter`, `ScanFilter` and `AttributeUpdates` map; for
//! PartiQL, the statement's paths (projection, WHERE, SET and REMOVE, an INSERT's item). A
//! Query, Scan or SELECT also names the table's key attributes and its index's, which its
//! page's `LastEvaluatedKey` (or `NextToken`) carries whatever it projects.
//!
//! A read that returns whole items reads every attribute, which no list names: a GetItem
//! (or a BatchGetItem table, a transaction's Get) without a projection; a Query or Scan
//! selecting `ALL_ATTRIBUTES` (a table's default) or `ALL_PROJECTED_ATTRIBUTES` of an index
//! that projects all; `SELECT *`. Those, and requests that cannot be read (an expression
//! that does not parse), yield `None`, and conditions on the key fail closed as
//! `dynamodb:LeadingKeys`' do: they hold in a `Deny`, not in an `Allow`.
//!
//! As in IAM, what a write returns (`ReturnValues`, a statement's `RETURNING`, which sets
//! `dynamodb:ReturnValues` too) is not counted, nor what it removes by replacing or
//! deleting a whole item: policies restrict those with `dynamodb:ReturnValues` and the
//! actions themselves. A write asking for the whole item when its condition fails
//! (`ReturnValuesOnConditionCheckFailure` ALL_OLD), which no condition key restricts,
//! reads every attribute.

use std::collections::{BTreeSet, HashMap};

use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::expr::{self, ExprKind, Substitutions};
use shared::model::AttributeValue;
use shared::partiql::ast::{self, Literal, Operand, Statement};

use crate::api::read_page::page_key_names;
use crate::app::App;
use crate::catalog::{IndexMeta, ProjectionType, TableMeta};

/// A part of a call, by the input its handler reads it as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    GetItem,
    /// A BatchGetItem table's entry.
    BatchGetTable,
    /// A transaction's Get.
    TransactGet,
    PutItem,
    UpdateItem,
    DeleteItem,
    /// A transaction's Put.
    TransactPut,
    /// A transaction's Update.
    TransactUpdate,
    /// A transaction's Delete or ConditionCheck.
    TransactDeleteOrCheck,
    /// A BatchWriteItem PutRequest.
    PutRequest,
    /// A BatchWriteItem DeleteRequest.
    DeleteRequest,
    Query,
    Scan,
}

const NAMES: &str = "ExpressionAttributeNames";
const VALUES: &str = "ExpressionAttributeValues";
const ON_FAILURE: &str = "ReturnValuesOnConditionCheckFailure";

impl Call {
    /// The members of its input that name attributes (substitutions included).
    fn members(self) -> &'static [&'static str] {
        const CONDITION: &str = "ConditionExpression";
        const PROJECTION: &str = "ProjectionExpression";
        match self {
            Call::GetItem => &["Key", PROJECTION, "AttributesToGet", NAMES],
            Call::BatchGetTable => &["Keys", PROJECTION, "AttributesToGet", NAMES],
            Call::TransactGet => &["Key", PROJECTION, NAMES],
            Call::PutItem => &["Item", CONDITION, "Expected", NAMES, VALUES, ON_FAILURE],
            Call::UpdateItem => &[
                "Key",
                "UpdateExpression",
                "AttributeUpdates",
                CONDITION,
                "Expected",
                NAMES,
                VALUES,
                ON_FAILURE,
            ],
            Call::DeleteItem => &["Key", CONDITION, "Expected", NAMES, VALUES, ON_FAILURE],
            Call::TransactPut => &["Item", CONDITION, NAMES, VALUES, ON_FAILURE],
            Call::TransactUpdate => &[
                "Key",
                "UpdateExpression",
                CONDITION,
                NAMES,
                VALUES,
                ON_FAILURE,
            ],
            Call::TransactDeleteOrCheck => &["Key", CONDITION, NAMES, VALUES, ON_FAILURE],
            Call::PutRequest => &["Item"],
            Call::DeleteRequest => &["Key"],
            Call::Query => &[
                "KeyConditionExpression",
                "KeyConditions",
                "FilterExpression",
                "QueryFilter",
                PROJECTION,
                "AttributesToGet",
                NAMES,
                VALUES,
            ],
            Call::Scan => &[
                "FilterExpression",
                "ScanFilter",
                PROJECTION,
                "AttributesToGet",
                NAMES,
                VALUES,
            ],
        }
    }
}

/// The attribute names `part` of a call (the request, a transaction member's detail, a
/// BatchGetItem table's entry) reads or writes; `None` when it returns whole items or
/// cannot be read (module docs).
pub fn of_part(app: &App, call: Call, part: &Value) -> Option<Vec<String>> {
    let mut names = named(call, part)?;
    match call {
        Call::GetItem | Call::BatchGetTable | Call::TransactGet if !projects(call, part) => {
            return None
        }
        _ if returns_old_item_on_failure(get(call, part, ON_FAILURE)) => return None,
        Call::Query | Call::Scan => names.extend(selected(app, call, part)?),
        _ => {}
    }
    Some(names.into_iter().collect())
}

/// The attribute names of BatchWriteItem's requests for one table.
pub fn of_writes(writes: &Value) -> Option<Vec<String>> {
    let mut names = BTreeSet::new();
    for write in writes.as_array()? {
        for (kind, request) in write.as_object()? {
            let call = match kind.as_str() {
                "PutRequest" => Call::PutRequest,
                "DeleteRequest" => Call::DeleteRequest,
                // The handler ignores other members.
                _ => continue,
            };
            names.extend(named(call, request)?);
        }
    }
    Some(names.into_iter().collect())
}

/// Member `name` of `part`, if its input has it and it is not `null`.
fn get<'v>(call: Call, part: &'v Value, name: &str) -> Option<&'v Value> {
    if !call.members().contains(&name) {
        return None;
    }
    part.get(name).filter(|v| !v.is_null())
}

/// Whether a write's `ReturnValuesOnConditionCheckFailure` (`on_failure`) asks for the
/// whole item when its condition fails (ALL_OLD), which no condition key restricts.
fn returns_old_item_on_failure(on_failure: Option<&Value>) -> bool {
    on_failure.and_then(Value::as_str) == Some("ALL_OLD")
}

/// Whether a read names the attributes it returns.
fn projects(call: Call, part: &Value) -> bool {
    ["ProjectionExpression", "AttributesToGet"]
        .iter()
        .any(|member| get(call, part, member).is_some())
}

/// The attributes a Query or Scan returns beyond those it names: the keys of the table
/// and of its index, and for ALL_PROJECTED_ATTRIBUTES (the default on an index without a
/// projection) the index's projected ones; `None` for every attribute.
fn selected(app: &App, call: Call, part: &Value) -> Option<BTreeSet<String>> {
    let table = part.get("TableName")?.as_str()?;
    let meta = app.catalog.get(app.catalog.resolve_name(table))?;
    let index = match part.get("IndexName").filter(|v| !v.is_null()) {
        None => None,
        Some(name) => Some(meta.index(name.as_str()?)?),
    };
    let mut names = key_names(&meta, index);
    let select = match part.get("Select").filter(|v| !v.is_null()) {
        None if projects(call, part) => "SPECIFIC_ATTRIBUTES",
        None if index.is_some() => "ALL_PROJECTED_ATTRIBUTES",
        None => "ALL_ATTRIBUTES",
        Some(select) => select.as_str()?,
    };
    match select {
        "COUNT" | "SPECIFIC_ATTRIBUTES" => Some(names),
        "ALL_PROJECTED_ATTRIBUTES" => {
            let index = index?;
            if index.projection.kind == ProjectionType::All {
                return None;
            }
            names.extend(index.projection.non_key_attributes.iter().cloned());
            Some(names)
        }
        _ => None,
    }
}

/// The key attribute names a page of a read of `table` (or of its index `index`) carries
/// in its LastEvaluatedKey, as the read handlers list them.
fn key_names(table: &TableMeta, index: Option<&IndexMeta>) -> BTreeSet<String> {
    let index_schema = index.map(|i| &i.schema);
    page_key_names(&table.layout.schema, index_schema)
        .into_iter()
        .collect()
}

/// The names `part`'s members name (module docs).
fn named(call: Call, part: &Value) -> Option<BTreeSet<String>> {
    let get = |name: &str| get(call, part, name);
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
        if let Some(map) = get(member) {
            names.extend(map.as_object()?.keys().cloned());
        }
    }
    if let Some(keys) = get("Keys") {
        for key in keys.as_array()? {
            names.extend(key.as_object()?.keys().cloned());
        }
    }
    if let Some(list) = typed::<Vec<String>>(get("AttributesToGet"))? {
        names.extend(list);
    }
    let substituted = typed::<HashMap<String, String>>(get(NAMES))?;
    let values = typed::<HashMap<String, AttributeValue>>(get(VALUES))?;
    let subs = Substitutions::new(substituted.as_ref(), values.as_ref());
    let text = |member: &str| get(member).map(|v| v.as_str().ok_or(()));
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

/// A member's value (absent or `null`: `Some(None)`) as a `T`; `None` when malformed.
fn typed<T: DeserializeOwned>(value: Option<&Value>) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(value) => serde_json::from_value(value.clone()).ok().map(Some),
    }
}

/// The attribute names PartiQL `statement` reads or writes; `entry` holds its
/// `Parameters` (an INSERT's item may be one) and `ReturnValuesOnConditionCheckFailure`.
pub fn of_statement(app: &App, statement: &Statement, entry: &Value) -> Option<Vec<String>> {
    if returns_old_item_on_failure(entry.get(ON_FAILURE)) {
        return None;
    }
    let mut names = BTreeSet::new();
    match statement {
        Statement::Select(select) => {
            let projection = select.projection.as_ref()?;
            let table = app.catalog.get(app.catalog.resolve_name(&select.table))?;
            let index = match select.index.as_deref() {
                None => None,
                Some(name) => Some(table.index(name)?),
            };
            names.extend(key_names(&table, index));
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
        Statement::Delete(delete) => condition_names(&delete.condition, &mut names),
    }
    Some(names.into_iter().collect())
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
        C::IsMissing(a, _) | C::IsNull(a, _) | C::IsType(a, _, _) => operand_names(a, names),
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

    /// The member names a wire input type deserializes, as serde's derive lists them.
    fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
        use serde::de::value::Error;
        /// A deserializer that only records the fields a struct asks for.
        struct Fields<'f>(&'f mut &'static [&'static str]);
        impl<'de> serde::Deserializer<'de> for Fields<'_> {
            type Error = Error;
            fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
                Err(serde::de::Error::custom("fields only"))
            }
            fn deserialize_struct<V: serde::de::Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Error> {
                *self.0 = fields;
                Err(serde::de::Error::custom("fields only"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
                enum identifier ignored_any
            }
        }
        let mut fields: &'static [&'static str] = &[];
        let _ = T::deserialize(Fields(&mut fields));
        fields
    }

    /// Every member of each input that can name an attribute is in its `Call`'s list (a
    /// member added to a wire struct and missed here would be a way past the check).
    #[test]
    fn the_member_lists_follow_the_wire_inputs() {
        use shared::wire::ops::{batch_get_item, batch_write_item, delete_item, get_item};
        use shared::wire::ops::{put_item, query, scan, transact_get_items as tg};
        use shared::wire::ops::{transact_write_items as tw, update_item};
        // Members that name no attribute of an item.
        const NAMING_NONE: [&str; 14] = [
            "TableName",
            "IndexName",
            "ConsistentRead",
            "ReturnConsumedCapacity",
            "ReturnItemCollectionMetrics",
            "ReturnValues",
            "ConditionalOperator",
            "Select",
            "Limit",
            "ScanIndexForward",
            "Segment",
            "TotalSegments",
            // The key of an item the read resumes after: the table's and index's key
            // attributes, which Query and Scan name already.
            "ExclusiveStartKey",
            "ClientRequestToken",
        ];
        let inputs = [
            (Call::GetItem, fields_of::<get_item::GetItemInput>()),
            (
                Call::BatchGetTable,
                fields_of::<batch_get_item::KeysAndAttributes>(),
            ),
            (Call::TransactGet, fields_of::<tg::Get>()),
            (Call::PutItem, fields_of::<put_item::PutItemInput>()),
            (
                Call::UpdateItem,
                fields_of::<update_item::UpdateItemInput>(),
            ),
            (
                Call::DeleteItem,
                fields_of::<delete_item::DeleteItemInput>(),
            ),
            (Call::TransactPut, fields_of::<tw::Put>()),
            (Call::TransactUpdate, fields_of::<tw::Update>()),
            (Call::TransactDeleteOrCheck, fields_of::<tw::Delete>()),
            (
                Call::TransactDeleteOrCheck,
                fields_of::<tw::ConditionCheck>(),
            ),
            (
                Call::PutRequest,
                fields_of::<batch_write_item::PutRequest>(),
            ),
            (
                Call::DeleteRequest,
                fields_of::<batch_write_item::DeleteRequest>(),
            ),
            (Call::Query, fields_of::<query::QueryInput>()),
            (Call::Scan, fields_of::<scan::ScanInput>()),
        ];
        for (call, fields) in inputs {
            assert!(!fields.is_empty(), "{call:?}: no fields read");
            let mut naming: Vec<&str> = fields
                .iter()
                .copied()
                .filter(|f| !NAMING_NONE.contains(f))
                .collect();
            let mut listed = call.members().to_vec();
            naming.sort_unstable();
            listed.sort_unstable();
            assert_eq!(naming, listed, "{call:?}");
        }
    }

    fn list(names: &[&str]) -> Option<Vec<String>> {
        Some(names.iter().map(|n| n.to_string()).collect())
    }

    fn of(call: Call, part: Value) -> Option<Vec<String>> {
        named(call, &part).map(|n| n.into_iter().collect())
    }

    /// An app with table `tbl` keyed pk/sk and its index `by_team` on team, projecting
    /// `name` besides the keys.
    async fn app(dir: &tempfile::TempDir) -> App {
        let app = App::for_tests(dir.path());
        let table = json!({"TableName": "tbl", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"},
                                     {"AttributeName": "team", "AttributeType": "S"}],
            "GlobalSecondaryIndexes": [{"IndexName": "by_team",
                "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]}}]});
        let input = serde_json::from_value(table).unwrap_or_else(|e| panic!("{e}"));
        crate::api::create_table::handle(&app, input)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        app
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
        let expected = list(&["gone", "pk", "state", "tags", "total"]);
        assert_eq!(of(Call::UpdateItem, update), expected);
        let legacy = json!({
            "Item": {"pk": {"S": "a"}, "b": {"N": "1"}},
            "Expected": {"c": {"Exists": false}},
        });
        assert_eq!(of(Call::PutItem, legacy), list(&["b", "c", "pk"]));
        let query = json!({
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :p)",
            "FilterExpression": "#n > :p",
            "ProjectionExpression": "a.b[1], c",
            "ExpressionAttributeNames": {"#n": "n"},
            "ExpressionAttributeValues": {":p": {"S": "x"}},
        });
        assert_eq!(of(Call::Query, query), list(&["a", "c", "n", "pk", "sk"]));
        let batch = json!({"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}, "sk": {"N": "1"}}],
                           "AttributesToGet": ["x"]});
        assert_eq!(of(Call::BatchGetTable, batch), list(&["pk", "sk", "x"]));
        let writes = json!([
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "b"}}}},
        ]);
        assert_eq!(of_writes(&writes), list(&["pk", "v"]));
        // Members the handler ignores are not its business.
        let extra = json!([{"DeleteRequest": {"Key": {"pk": {"S": "b"}}}, "Other": {}}]);
        assert_eq!(of_writes(&extra), list(&["pk"]));
        assert_eq!(of_writes(&json!([{"PutRequest": {"Item": []}}])), None);
    }

    #[test]
    fn what_cannot_be_read_is_unknown() {
        let cases = [
            (Call::GetItem, json!({"ProjectionExpression": "a, "})),
            (Call::GetItem, json!({"ProjectionExpression": 7})),
            (Call::GetItem, json!({"Key": ["pk"]})),
            (Call::GetItem, json!({"AttributesToGet": "a"})),
            (
                Call::DeleteItem,
                json!({"ConditionExpression": "a = :missing"}),
            ),
            (
                Call::DeleteItem,
                json!({"ExpressionAttributeValues": {":v": {"Q": "1"}}}),
            ),
            (
                Call::UpdateItem,
                json!({"UpdateExpression": "SET #x = :v", "ExpressionAttributeValues": {":v": {"S": "1"}}}),
            ),
        ];
        for (call, part) in cases {
            assert_eq!(of(call, part.clone()), None, "{call:?} {part}");
        }
    }

    #[test]
    fn only_members_the_input_has_count_and_null_is_absent() {
        // A GetItem takes no values: malformed ones are not its business.
        let get = json!({"Key": {"pk": {"S": "a"}}, "ProjectionExpression": "a",
                         "ExpressionAttributeValues": {":v": {"Q": 1}}, "Item": {"z": {"S": "1"}}});
        assert_eq!(of(Call::GetItem, get), list(&["a", "pk"]));
        let update = json!({"Key": {"pk": {"S": "a"}}, "UpdateExpression": null,
                            "AttributeUpdates": {"u": {"Action": "DELETE"}}});
        assert_eq!(of(Call::UpdateItem, update.clone()), list(&["pk", "u"]));
        // A transaction's Update has no AttributeUpdates.
        assert_eq!(of(Call::TransactUpdate, update), list(&["pk"]));
    }

    #[tokio::test]
    async fn reads_of_whole_items_name_every_attribute() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let app = app(&dir).await;
        let key = json!({"pk": {"S": "a"}, "sk": {"N": "1"}});
        let cases = [
            (Call::GetItem, json!({"Key": key}), None),
            (
                Call::GetItem,
                json!({"Key": key, "AttributesToGet": null}),
                None,
            ),
            (
                Call::GetItem,
                json!({"Key": key, "AttributesToGet": ["a"]}),
                list(&["a", "pk", "sk"]),
            ),
            // A transaction's Get has only ProjectionExpression.
            (
                Call::TransactGet,
                json!({"Key": key, "AttributesToGet": ["a"]}),
                None,
            ),
            (
                Call::TransactGet,
                json!({"Key": key, "ProjectionExpression": "a"}),
                list(&["a", "pk", "sk"]),
            ),
            (Call::Scan, json!({"TableName": "tbl"}), None),
            (
                Call::Scan,
                json!({"TableName": "tbl", "AttributesToGet": null}),
                None,
            ),
            (
                Call::Scan,
                json!({"TableName": "tbl", "Select": "ALL_ATTRIBUTES", "ProjectionExpression": "a"}),
                None,
            ),
            // A page's LastEvaluatedKey carries the table's and the index's keys.
            (
                Call::Scan,
                json!({"TableName": "tbl", "IndexName": "by_team", "ProjectionExpression": "a"}),
                list(&["a", "pk", "sk", "team"]),
            ),
            (
                Call::Scan,
                json!({"TableName": "tbl", "Select": "COUNT"}),
                list(&["pk", "sk"]),
            ),
            (
                Call::Query,
                json!({"TableName": "tbl", "IndexName": "by_team",
                                 "KeyConditionExpression": "team = :t",
                                 "ExpressionAttributeValues": {":t": {"S": "x"}}}),
                list(&["name", "pk", "sk", "team"]),
            ),
            (
                Call::Query,
                json!({"TableName": "tbl", "IndexName": "nope", "Select": "COUNT"}),
                None,
            ),
            // A failed condition answered with the whole item reads every attribute.
            (
                Call::UpdateItem,
                json!({"Key": key, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
                None,
            ),
            (
                Call::UpdateItem,
                json!({"Key": key, "ReturnValuesOnConditionCheckFailure": "NONE"}),
                list(&["pk", "sk"]),
            ),
            (
                Call::TransactDeleteOrCheck,
                json!({"Key": key, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
                None,
            ),
        ];
        for (call, part, expected) in cases {
            assert_eq!(of_part(&app, call, &part), expected, "{call:?} {part}");
        }
    }

    #[tokio::test]
    async fn statements_name_their_paths() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let app = app(&dir).await;
        let none = json!({});
        let cases = [
            (
                r#"SELECT a, b.c FROM "tbl" WHERE pk = 'x' AND size(d) > 1"#,
                none.clone(),
                list(&["a", "b", "d", "pk", "sk"]),
            ),
            (
                r#"SELECT a FROM "tbl"."by_team" WHERE team = 'x'"#,
                none.clone(),
                list(&["a", "pk", "sk", "team"]),
            ),
            (r#"SELECT * FROM "tbl" WHERE pk = 'x'"#, none.clone(), None),
            (r#"SELECT a FROM "nope""#, none.clone(), None),
            (
                r#"INSERT INTO "tbl" VALUE {'pk': 'x', 'v': 1}"#,
                none.clone(),
                list(&["pk", "v"]),
            ),
            (
                r#"INSERT INTO "tbl" VALUE ?"#,
                json!({"Parameters": [{"M": {"pk": {"S": "x"}, "w": {"N": "2"}}}]}),
                list(&["pk", "w"]),
            ),
            (
                r#"UPDATE "tbl" SET a = b + 1 REMOVE c WHERE pk = 'x' RETURNING ALL NEW *"#,
                none.clone(),
                list(&["a", "b", "c", "pk"]),
            ),
            (
                r#"DELETE FROM "tbl" WHERE pk = 'x' AND v < 3"#,
                none.clone(),
                list(&["pk", "v"]),
            ),
            (
                r#"DELETE FROM "tbl" WHERE pk = 'x'"#,
                json!({"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
                None,
            ),
            (
                r#"EXISTS(SELECT * FROM "tbl" WHERE pk = 'x' AND v = 1)"#,
                none,
                list(&["pk", "v"]),
            ),
        ];
        for (text, entry, expected) in cases {
            let statement = shared::partiql::parse(text).map(|p| p.statement);
            let statement = statement.unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(of_statement(&app, &statement, &entry), expected, "{text}");
        }
    }
}
