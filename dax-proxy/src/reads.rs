//! Eventually consistent GetItem and BatchGetItem, answered from the item cache.
//!
//! Only requests the cache can answer exactly are served here: eventually consistent reads
//! with at most a ProjectionExpression (+ ExpressionAttributeNames) and no capacity report.
//! Anything else (ConsistentRead, legacy AttributesToGet, ReturnConsumedCapacity, a
//! projection that does not parse) bypasses the cache, so the store answers it, errors
//! included, exactly as it would without the proxy.
//!
//! A miss fetches the *whole* item (no projection) so that one entry serves every
//! projection; the projection is applied here with the shared expression code.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use shared::expr::{check_parameter_usage, parse_projection, Projection, Substitutions};
use shared::model::size::item_size;
use shared::model::Item;
use shared::wire::Op;

use crate::keys::{item_key, item_key_of_json, table_name, PlainKey};
use crate::reply::{Answer, CacheStatus, Outcome};
use crate::Node;

/// Largest BatchGetItem DynamoDB accepts; larger ones go to the store for its error.
const MAX_BATCH_KEYS: usize = 100;

/// Most item bytes one BatchGetItem answer carries (DynamoDB's 16 MB).
const RESPONSE_CAP: usize = 16 * 1024 * 1024;

/// A GetItem request's members; `K` is how its `Key` is read: as a [`PlainKey`] on the
/// hit path, where one pass over the body reads everything, or as raw JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetItemView<'a, K> {
    #[serde(rename = "TableName", borrow)]
    table_name: Cow<'a, str>,
    #[serde(rename = "Key")]
    key: K,
    #[serde(rename = "ConsistentRead")]
    consistent_read: Option<bool>,
    #[serde(rename = "ProjectionExpression", borrow)]
    projection: Option<Cow<'a, str>>,
    #[serde(rename = "ExpressionAttributeNames")]
    names: Option<HashMap<String, String>>,
    #[serde(rename = "ReturnConsumedCapacity", borrow)]
    return_consumed_capacity: Option<Cow<'a, str>>,
}

/// Whether a read may be served from cache: eventually consistent, no capacity report.
fn cacheable(consistent_read: Option<bool>, return_consumed_capacity: Option<&str>) -> bool {
    consistent_read != Some(true) && matches!(return_consumed_capacity, None | Some("NONE"))
}

/// Parses a projection exactly as the store would; `None` when it is invalid (the store
/// must then answer, with its error).
fn projection(
    text: Option<&str>,
    names: Option<&HashMap<String, String>>,
) -> Option<Option<Projection>> {
    let expressions = [("ProjectionExpression", text.is_some())];
    check_parameter_usage(&expressions, &[], names, None, &[]).ok()?;
    match text {
        None => names.is_none().then_some(None),
        Some(text) => {
            let subs = Substitutions::new(names, None);
            let parsed = parse_projection(text, &subs).ok()?;
            subs.check_all_used().ok()?;
            Some(Some(parsed))
        }
    }
}

impl<'a, K> GetItemView<'a, K> {
    fn split_key(self) -> (K, GetItemView<'a, ()>) {
        let GetItemView {
            table_name,
            key,
            consistent_read,
            projection,
            names,
            return_consumed_capacity,
        } = self;
        let rest = GetItemView {
            table_name,
            key: (),
            consistent_read,
            projection,
            names,
            return_consumed_capacity,
        };
        (key, rest)
    }
}

/// Reads a GetItem request and its item's cache key (`None`: not a key the cache can
/// hold; the store will answer). A key of plain S/N values is read in the same pass as
/// the rest; any other takes a second pass, over a raw `Key`.
fn read_get_item(body: &[u8]) -> Option<(GetItemView<'_, ()>, Option<Vec<u8>>)> {
    if let Ok(view) = serde_json::from_slice::<GetItemView<PlainKey>>(body) {
        let (key, view) = view.split_key();
        let key = key.item_key(table_name(&view.table_name));
        return Some((view, key));
    }
    let (key, view) = serde_json::from_slice::<GetItemView<&RawValue>>(body)
        .ok()?
        .split_key();
    let key = item_key_of_json(table_name(&view.table_name), key.get());
    Some((view, key))
}

pub async fn get_item(node: &Node, headers: &HeaderMap, body: Bytes) -> Outcome {
    let Some((view, key)) = read_get_item(&body) else {
        return node.pass_through(Op::GetItem, headers, body).await;
    };
    if !cacheable(
        view.consistent_read,
        view.return_consumed_capacity.as_deref(),
    ) {
        return node.pass_through(Op::GetItem, headers, body).await;
    }
    let Some(projection) = projection(view.projection.as_deref(), view.names.as_ref()) else {
        return node.pass_through(Op::GetItem, headers, body).await;
    };
    let Some(key) = key.filter(|_| node.following()) else {
        return node.pass_through(Op::GetItem, headers, body).await;
    };

    if let Some(ready) = node.items.get(&key) {
        node.metrics.item_hits.increment(1);
        let answer = match &projection {
            None => Answer::Ready(ready),
            Some(projection) => Answer::Built(project_body(ready.body(), projection)),
        };
        return Outcome::new(answer, CacheStatus::Hit);
    }
    node.metrics.item_misses.increment(1);
    let generation = node.items.generation(&key);
    // The whole item, whatever was projected: the raw Key as the client wrote it.
    let Ok(raw) = serde_json::from_slice::<GetItemView<&RawValue>>(&body) else {
        return node.pass_through(Op::GetItem, headers, body).await;
    };
    let whole = json!({ "TableName": raw.table_name, "Key": raw.key });
    let (reply, position) = match node
        .store_item_read(Op::GetItem, headers, Bytes::from(whole.to_string()))
        .await
    {
        Ok(answer) => answer,
        Err(e) => return Outcome::new(Answer::Error(e), CacheStatus::Miss),
    };
    if !reply.is_success() {
        return Outcome::new(Answer::Upstream(reply), CacheStatus::Miss);
    }
    node.items.fill(&key, generation, &reply.body, position);
    let answer = match &projection {
        None => Answer::Upstream(reply),
        Some(projection) => Answer::Built(project_body(&reply.body, projection)),
    };
    Outcome::new(answer, CacheStatus::Miss)
}

/// The item inside a GetItem body (`{"Item": {...}}`, or `{}` for none).
fn item_of(body: &[u8]) -> Option<Item> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(rename = "Item")]
        item: Option<Item>,
    }
    serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.item)
}

/// A GetItem body with the projection applied to the cached whole item.
fn project_body(whole: &[u8], projection: &Projection) -> Bytes {
    let body = match item_of(whole) {
        Some(item) => json!({ "Item": projection.apply(&item) }),
        None => json!({}),
    };
    Bytes::from(body.to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchGetView<'a> {
    #[serde(rename = "RequestItems", borrow)]
    request_items: HashMap<String, TableKeys<'a>>,
    #[serde(rename = "ReturnConsumedCapacity", borrow)]
    return_consumed_capacity: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableKeys<'a> {
    #[serde(rename = "Keys", borrow)]
    keys: Vec<&'a RawValue>,
    #[serde(rename = "ConsistentRead")]
    consistent_read: Option<bool>,
    #[serde(rename = "ProjectionExpression")]
    projection: Option<String>,
    #[serde(rename = "ExpressionAttributeNames")]
    names: Option<HashMap<String, String>>,
}

/// One requested key of a batch.
struct Wanted {
    table: String,
    key_item: Item,
    key: Vec<u8>,
    raw: Value,
}

pub async fn batch_get_item(node: &Node, headers: &HeaderMap, body: Bytes) -> Outcome {
    match plan_batch(&body).filter(|_| node.following()) {
        Some(plan) => serve_batch(node, headers, plan).await,
        None => node.pass_through(Op::BatchGetItem, headers, body).await,
    }
}

struct BatchPlan {
    wanted: Vec<Wanted>,
    /// Per table: its projection and the request's per-table members to echo in UnprocessedKeys.
    tables: HashMap<String, (Option<Projection>, Value)>,
}

fn plan_batch(body: &[u8]) -> Option<BatchPlan> {
    let view: BatchGetView = serde_json::from_slice(body).ok()?;
    if !cacheable(None, view.return_consumed_capacity.as_deref()) || view.request_items.is_empty() {
        return None;
    }
    let total: usize = view.request_items.values().map(|t| t.keys.len()).sum();
    if total == 0 || total > MAX_BATCH_KEYS {
        return None;
    }
    let mut wanted = Vec::with_capacity(total);
    let mut tables = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for (name, spec) in &view.request_items {
        if !cacheable(spec.consistent_read, None) || spec.keys.is_empty() {
            return None;
        }
        let projection = projection(spec.projection.as_deref(), spec.names.as_ref())?;
        let mut echo = serde_json::Map::new();
        if let Some(p) = &spec.projection {
            echo.insert("ProjectionExpression".into(), Value::String(p.clone()));
        }
        if let Some(n) = &spec.names {
            echo.insert("ExpressionAttributeNames".into(), json!(n));
        }
        tables.insert(name.clone(), (projection, Value::Object(echo)));
        for raw in &spec.keys {
            let key_item: Item = serde_json::from_str(raw.get()).ok()?;
            let key = item_key(table_name(name), &key_item)?;
            // Duplicates are the store's ValidationException: let it answer.
            if !seen.insert(key.clone()) {
                return None;
            }
            let raw = serde_json::from_str(raw.get()).ok()?;
            wanted.push(Wanted {
                table: name.clone(),
                key_item,
                key,
                raw,
            });
        }
    }
    Some(BatchPlan { wanted, tables })
}

/// Hands a requested key back in `UnprocessedKeys` (with its table's request members, as
/// DynamoDB echoes them).
fn defer(
    unprocessed: &mut serde_json::Map<String, Value>,
    plan: &BatchPlan,
    table: &str,
    raw: Value,
) {
    let echo = plan
        .tables
        .get(table)
        .map(|(_, e)| e.clone())
        .unwrap_or_else(|| json!({}));
    let entry = unprocessed.entry(table.to_string()).or_insert(echo);
    let keys = entry
        .as_object_mut()
        .map(|o| o.entry("Keys").or_insert_with(|| json!([])));
    if let Some(Value::Array(keys)) = keys {
        keys.push(raw);
    }
}

async fn serve_batch(node: &Node, headers: &HeaderMap, plan: BatchPlan) -> Outcome {
    // Per table, each item found with the key the request named it by.
    let mut found: HashMap<String, Vec<(Value, Item)>> = HashMap::new();
    let mut misses = Vec::new();
    for wanted in &plan.wanted {
        match node.items.get(&wanted.key) {
            Some(ready) => {
                node.metrics.item_hits.increment(1);
                if let Some(item) = item_of(ready.body()) {
                    let entry = found.entry(wanted.table.clone()).or_default();
                    entry.push((wanted.raw.clone(), item));
                }
            }
            None => {
                node.metrics.item_misses.increment(1);
                let generation = node.items.generation(&wanted.key);
                misses.push((wanted, generation));
            }
        }
    }
    let status = if misses.is_empty() {
        CacheStatus::Hit
    } else {
        CacheStatus::Miss
    };
    let mut unprocessed = serde_json::Map::new();
    if !misses.is_empty() {
        let mut request = serde_json::Map::new();
        for (wanted, _) in &misses {
            let entry = request
                .entry(wanted.table.clone())
                .or_insert_with(|| json!({ "Keys": [] }));
            if let Some(keys) = entry.get_mut("Keys").and_then(Value::as_array_mut) {
                keys.push(wanted.raw.clone());
            }
        }
        let body = json!({ "RequestItems": request }).to_string();
        let (reply, position) = match node
            .store_item_read(Op::BatchGetItem, headers, Bytes::from(body))
            .await
        {
            Ok(answer) => answer,
            Err(e) => return Outcome::new(Answer::Error(e), status),
        };
        if !reply.is_success() {
            return Outcome::new(Answer::Upstream(reply), status);
        }
        let Ok(parsed) = serde_json::from_slice::<BatchReply>(&reply.body) else {
            return Outcome::new(Answer::Upstream(reply), status);
        };
        let mut returned: HashMap<Vec<u8>, Item> = HashMap::new();
        for (table, items) in parsed.responses.unwrap_or_default() {
            for item in items {
                if let Some(key) = key_of_returned(&table, &item, &misses) {
                    returned.insert(key, item);
                }
            }
        }
        let pending: std::collections::HashSet<Vec<u8>> = parsed
            .unprocessed_keys
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(table, keys)| {
                keys.keys
                    .into_iter()
                    .filter_map(move |k| item_key(table_name(&table), &k))
            })
            .collect();
        for (wanted, generation) in misses {
            if pending.contains(&wanted.key) {
                defer(&mut unprocessed, &plan, &wanted.table, wanted.raw.clone());
                continue;
            }
            match returned.remove(&wanted.key) {
                Some(item) => {
                    let body = json!({ "Item": item }).to_string();
                    node.items
                        .fill(&wanted.key, generation, body.as_bytes(), position);
                    let entry = found.entry(wanted.table.clone()).or_default();
                    entry.push((wanted.raw.clone(), item));
                }
                None => node.items.fill(&wanted.key, generation, b"{}", position),
            }
        }
    }
    // At most 16 MB of items, as DynamoDB answers (the store caps only its own part):
    // the rest go back unprocessed.
    let mut bytes = 0;
    let mut responses = serde_json::Map::new();
    for (table, (projection, _)) in &plan.tables {
        let mut items = Vec::new();
        for (raw, item) in found.remove(table).unwrap_or_default() {
            let item = match projection {
                Some(p) => p.apply(&item),
                None => item,
            };
            let size = item_size(&item);
            if bytes + size > RESPONSE_CAP {
                defer(&mut unprocessed, &plan, table, raw);
                continue;
            }
            bytes += size;
            items.push(item);
        }
        responses.insert(table.clone(), json!(items));
    }
    let body = json!({ "Responses": responses, "UnprocessedKeys": unprocessed });
    Outcome::new(Answer::Built(Bytes::from(body.to_string())), status)
}

#[derive(Deserialize)]
struct BatchReply {
    #[serde(rename = "Responses")]
    responses: Option<HashMap<String, Vec<Item>>>,
    #[serde(rename = "UnprocessedKeys")]
    unprocessed_keys: Option<HashMap<String, UnprocessedTable>>,
}

#[derive(Deserialize)]
struct UnprocessedTable {
    #[serde(rename = "Keys")]
    keys: Vec<Item>,
}

/// The cache key of an item the store returned: its values of the attributes the request's
/// key named (the request keys tell us the key attributes without knowing the schema).
fn key_of_returned(table: &str, item: &Item, misses: &[(&Wanted, u64)]) -> Option<Vec<u8>> {
    let (sample, _) = misses.iter().find(|(w, _)| w.table == table)?;
    let mut key = Item::new();
    for name in sample.key_item.keys() {
        key.insert(name.clone(), item.get(name)?.clone());
    }
    item_key(table_name(table), &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_item_is_read_alike_whatever_its_key_looks_like() {
        let key_of = |body: &str| read_get_item(body.as_bytes()).map(|(_, key)| key);
        let plain = r#"{"TableName":"t","Key":{"sk":{"N":"1.0"},"pk":{"S":"a"}}}"#;
        let general = r#"{"Key":{"pk":{"S":"a","NULL":null},"sk":{"N":"1"}},"TableName":"t"}"#;
        assert!(key_of(plain).flatten().is_some());
        assert_eq!(key_of(plain), key_of(general));
        // A binary key has a cache key too; a repeated name has none; a bad body no view.
        assert!(key_of(r#"{"TableName":"t","Key":{"pk":{"B":"AAE="}}}"#)
            .flatten()
            .is_some());
        assert_eq!(
            key_of(r#"{"TableName":"t","Key":{"pk":{"S":"a"},"pk":{"S":"a"}}}"#),
            Some(None)
        );
        assert_eq!(key_of(r#"{"TableName":"t","Key":{},"Bogus":1}"#), None);

        let (view, _) = read_get_item(
            br##"{"TableName":"arn:aws:dynamodb:us-east-1:0:table/t","Key":{"pk":{"S":"a"}},"ConsistentRead":false,"ProjectionExpression":"#a","ExpressionAttributeNames":{"#a":"x"},"ReturnConsumedCapacity":"NONE"}"##,
        )
        .expect("a valid request");
        assert_eq!(table_name(&view.table_name), "t");
        assert_eq!(view.consistent_read, Some(false));
        assert_eq!(view.projection.as_deref(), Some("#a"));
        assert_eq!(view.return_consumed_capacity.as_deref(), Some("NONE"));
    }
}
