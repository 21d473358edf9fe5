//! Write-through: PutItem, UpdateItem, DeleteItem, BatchWriteItem and TransactWriteItems,
//! and PartiQL requests holding an INSERT, UPDATE or DELETE ([`is_partiql_write`]).
//!
//! The primary sends the write to the store; a replica forwards it to the primary (with the
//! cluster secret), which executes it. The store's answer goes back unchanged, and only
//! after the store acknowledged does the node that took the client's request drop the
//! written items from its caches (bumping their generations, so that a read racing the
//! write cannot re-install the old state). A failed write (condition, validation,
//! throttling) changes nothing and leaves the caches alone.
//!
//! The new images come from the store's change feed, which every node follows
//! (`follower`): that is the one source of the items as the store committed them, also for
//! writes that bypassed the proxy (for tables with neither PITR nor a stream showing
//! images the store logs keys only, and the feed drops the item instead). This differs
//! from DAX, whose write-through stores the written item directly; the difference is one
//! extra miss after a write through the node.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use serde_json::Value;
use shared::model::{AttributeValue, Item, KeySchema};
use shared::partiql::ast::{Condition, Statement};
use shared::partiql::bind::bind;
use shared::wire::error::ApiError;
use shared::wire::Op;

use crate::cluster::{self, FORWARDED_HEADER};
use crate::keys::{item_key, partition_slot, table_name};
use crate::reply::{Answer, CacheStatus, Outcome};
use crate::upstream::Reply;
use crate::Node;

pub async fn write(node: &Node, op: Op, headers: &HeaderMap, body: Bytes) -> Outcome {
    let result = if node.is_forwarded(headers) || node.cluster.is_primary() {
        node.store_write_call(op, headers, body.clone()).await
    } else {
        forward_to_primary(node, op, headers, body.clone()).await
    };
    match result {
        Ok(reply) => {
            // A 5xx may or may not have been applied: treat it as applied.
            if reply.is_success() || reply.status.is_server_error() {
                invalidate_written(node, op, headers, &body).await;
            }
            Outcome::new(Answer::Upstream(reply), CacheStatus::Bypass)
        }
        Err(e) => {
            invalidate_written(node, op, headers, &body).await;
            Outcome::new(Answer::Error(e), CacheStatus::Bypass)
        }
    }
}

/// Sends a write to the primary; if it is unreachable (the write never left this node),
/// waits (up to two lease TTLs) for a new primary, which may turn out to be this node. A
/// primary that fails once it has the write is not retried (see below).
async fn forward_to_primary(
    node: &Node,
    op: Op,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let deadline = Instant::now() + node.config.lease_ttl * 2;
    let target = op.target();
    loop {
        let view = node.cluster.view();
        if view.primary {
            return node.store_write_call(op, headers, body).await;
        }
        if let Some(address) = view
            .primary_address
            .filter(|a| *a != node.address.to_string())
        {
            let extra = [(
                HeaderName::from_static(FORWARDED_HEADER),
                HeaderValue::from_static("1"),
            )];
            let url = format!("http://{address}/");
            let call = node
                .upstream
                .call(&url, op, &target, headers, &extra, body.clone());
            // A primary that stops answering (frozen, cut off) loses its lease within a
            // TTL; its store writes carry that lease, so once another holds it the write
            // can no longer be applied unless it already was: the client hears so then,
            // not at the call's timeout a minute later.
            let outcome = tokio::select! {
                outcome = call => outcome,
                () = lease_moved(node, view.epoch) => {
                    return Err(ApiError::new(
                        shared::wire::ErrorCode::ServiceUnavailable,
                        PRIMARY_CHANGED,
                    ));
                }
            };
            match outcome {
                Ok(reply) => {
                    node.metrics.forwarded_writes.increment(1);
                    node.primary_outage.succeeded();
                    return Ok(reply);
                }
                Err(e) if e.unsent => node.primary_outage.failed(&e.to_string()),
                // The primary got the write and failed before answering: it may have
                // reached the store. Sending it again (to the next primary) could apply
                // it twice, an ADD counted twice, a conditional put refused by its own
                // first copy; the client is told, as DynamoDB tells of a call whose
                // outcome it cannot know, and its SDK decides whether to retry.
                Err(e) => {
                    tracing::warn!(error = %e, "the primary failed during a forwarded write");
                    return Err(ApiError::new(
                        shared::wire::ErrorCode::ServiceUnavailable,
                        PRIMARY_FAILED,
                    ));
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(ApiError::new(
                shared::wire::ErrorCode::ServiceUnavailable,
                "The cluster has no primary node right now. Please try again shortly.",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Err(e) = cluster::renew(node).await {
            tracing::warn!(error = %e, "cannot renew the cluster view");
        }
    }
}

/// The answer to a write forwarded to a primary that lost its lease before answering.
const PRIMARY_CHANGED: &str = "The cluster's primary changed while this write was with the \
     old one: it was applied only if the old primary had sent it to the store before losing \
     its lease. Please check or try again.";

/// The answer to a write forwarded to a primary that failed (crashed, was cut off) before
/// answering: an SDK retries a 5xx, which may apply the write twice (an ADD counted twice),
/// so the client is told what it needs to decide.
const PRIMARY_FAILED: &str = "The cluster's primary failed while this write was with it: it \
     was applied only if the primary had sent it to the store first. Please check or try \
     again.";

/// Resolves once this node sees a lease epoch other than `epoch` (another primary).
async fn lease_moved(node: &Node, epoch: u64) {
    while node.cluster.view().epoch == epoch {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One item a write touched: its table and attributes holding its key (exactly the key,
/// its whole new item, or for a PartiQL UPDATE or DELETE the equalities of its WHERE, the
/// key among them).
struct Written {
    table: String,
    attributes: Item,
}

/// Whether a PartiQL request writes (reads pass through to the store uncached, as in DAX,
/// which serves no PartiQL; writes take the write path, so the node drops what they wrote
/// before answering and a read through it right after sees the write). Well-formed JSON
/// this node cannot build into a `Value` (nested past serde_json's recursion limit: a
/// batch whose other statements the store runs, refusing only the deep one) is taken as
/// a write; malformed JSON is not (the store refuses it).
pub fn is_partiql_write(op: Op, body: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(body) {
        Ok(request) => !touched(op, &request).is_empty(),
        // Skipping a value does not recurse, so no depth stops this check.
        Err(_) => serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok(),
    }
}

/// Drops every item the write touched from this node's caches and marks the partitions
/// (or, when a table's schema is unknown, every query) as changed.
async fn invalidate_written(node: &Node, op: Op, headers: &HeaderMap, body: &[u8]) {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        // The store took a request this node cannot read (see `is_partiql_write`): what
        // it wrote is unknown, so nothing cached may answer for it.
        node.clear_caches();
        return;
    };
    for written in touched(op, &request) {
        let table = table_name(&written.table).to_string();
        node.bump_table(&table);
        let Some(schema) = node
            .schemas
            .get(&node.upstream, &node.config.store, &table, headers)
            .await
        else {
            // Without the schema the written key is unknown: drop what may hold it.
            node.clear_caches();
            continue;
        };
        let Some(key) = written_key(&schema, &written.attributes) else {
            // The store took a write whose key is not the one this node knows the table
            // by: the table was created again with another key schema (through another
            // node or at the store) and the feed's word of the drop is not here yet.
            // Nothing cached under the old definition may answer, nor its schema.
            node.forget_table(&table);
            continue;
        };
        if let Some(cache_key) = item_key(&table, &key) {
            node.items.invalidate(&cache_key);
        }
        if let Some(hash) = key.get(&schema.hash.name) {
            node.gens
                .bump(partition_slot(&table, &schema.hash.name, hash));
        }
    }
}

/// The key attributes of a written key or item under the schema this node knows its table
/// by; `None` when they are not there with its types (the store, which took the write,
/// knows the table by another schema). A PartiQL WHERE's other equalities are left out.
fn written_key(schema: &KeySchema, written: &Item) -> Option<Item> {
    let key = schema.key_of_item(written).ok()?;
    Some(schema.key_item(&key))
}

/// The items a write request names.
fn touched(op: Op, request: &Value) -> Vec<Written> {
    let parse = |v: Option<&Value>| v.and_then(|v| serde_json::from_value::<Item>(v.clone()).ok());
    let table = |v: &Value| {
        v.get("TableName")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut out = Vec::new();
    match op {
        Op::PutItem => {
            if let (Some(t), Some(i)) = (table(request), parse(request.get("Item"))) {
                out.push(Written {
                    table: t,
                    attributes: i,
                });
            }
        }
        Op::UpdateItem | Op::DeleteItem => {
            if let (Some(t), Some(k)) = (table(request), parse(request.get("Key"))) {
                out.push(Written {
                    table: t,
                    attributes: k,
                });
            }
        }
        Op::BatchWriteItem => {
            let tables = request.get("RequestItems").and_then(Value::as_object);
            for (t, writes) in tables.into_iter().flatten() {
                for w in writes.as_array().into_iter().flatten() {
                    if let Some(i) = parse(w.pointer("/PutRequest/Item")) {
                        out.push(Written {
                            table: t.clone(),
                            attributes: i,
                        });
                    } else if let Some(k) = parse(w.pointer("/DeleteRequest/Key")) {
                        out.push(Written {
                            table: t.clone(),
                            attributes: k,
                        });
                    }
                }
            }
        }
        Op::TransactWriteItems => {
            for action in request
                .get("TransactItems")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(put) = action.get("Put") {
                    if let (Some(t), Some(i)) = (table(put), parse(put.get("Item"))) {
                        out.push(Written {
                            table: t,
                            attributes: i,
                        });
                    }
                }
                for kind in ["Update", "Delete"] {
                    if let Some(a) = action.get(kind) {
                        if let (Some(t), Some(k)) = (table(a), parse(a.get("Key"))) {
                            out.push(Written {
                                table: t,
                                attributes: k,
                            });
                        }
                    }
                }
            }
        }
        Op::ExecuteStatement => out.extend(statement_written(request)),
        Op::BatchExecuteStatement | Op::ExecuteTransaction => {
            let list = if op == Op::BatchExecuteStatement {
                "Statements"
            } else {
                "TransactStatements"
            };
            for statement in request
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.extend(statement_written(statement));
            }
        }
        _ => {}
    }
    out
}

/// The item a PartiQL statement (`{"Statement", "Parameters"}`) writes, if it writes.
fn statement_written(request: &Value) -> Option<Written> {
    let parsed = shared::partiql::parse(request.get("Statement")?.as_str()?).ok()?;
    let params: Vec<AttributeValue> = match request.get("Parameters") {
        None => Vec::new(),
        Some(p) => serde_json::from_value(p.clone()).ok()?,
    };
    let equalities = |table: &str, condition: &Condition| {
        let mut bound = Item::new();
        for conjunct in condition.conjuncts() {
            if let Some((name, literal)) = conjunct.equality() {
                if let Ok(value) = bind(literal, &params) {
                    bound.entry(name.to_string()).or_insert(value);
                }
            }
        }
        Written {
            table: table.to_string(),
            attributes: bound,
        }
    };
    match &parsed.statement {
        Statement::Select(_) | Statement::Exists(_) => None,
        Statement::Insert(insert) => match bind(&insert.item, &params).ok()? {
            AttributeValue::M(item) => Some(Written {
                table: insert.table.clone(),
                attributes: item,
            }),
            _ => None,
        },
        Statement::Update(update) => Some(equalities(&update.table, &update.condition)),
        Statement::Delete(delete) => Some(equalities(&delete.table, &delete.condition)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::model::{KeyAttr, Number, ScalarType};

    fn written(op: Op, request: Value) -> Vec<(String, Item)> {
        touched(op, &request)
            .into_iter()
            .map(|w| (w.table, w.attributes))
            .collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn partiql_writes_name_their_items_and_reads_name_none() {
        let insert = json!({
            "Statement": "INSERT INTO \"t\" VALUE {'pk': ?, 'n': 1}",
            "Parameters": [{ "S": "a" }]
        });
        let got = written(Op::ExecuteStatement, insert.clone());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "t");
        assert_eq!(got[0].1["pk"], s("a"));
        assert_eq!(got[0].1.len(), 2, "the whole new item");

        let update = json!({
            "Statement": "UPDATE \"t\" SET v = 1 WHERE pk = ? AND sk = 2 AND other = 'x' AND n > 3"
            , "Parameters": [{ "S": "b" }]
        });
        let got = written(Op::ExecuteStatement, update);
        assert_eq!(got[0].1["pk"], s("b"));
        assert_eq!(
            got[0].1["sk"],
            AttributeValue::N(Number::parse("2").unwrap())
        );
        assert!(!got[0].1.contains_key("n"));

        let batch = json!({ "Statements": [
            { "Statement": "DELETE FROM \"u\" WHERE pk = 'c'" },
            { "Statement": "not partiql" },
            insert
        ] });
        let got = written(Op::BatchExecuteStatement, batch);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "u");

        let reads = json!({ "TransactStatements": [
            { "Statement": "SELECT * FROM \"t\" WHERE pk = 'a'" }
        ] });
        assert!(written(Op::ExecuteTransaction, reads.clone()).is_empty());
        assert!(!is_partiql_write(
            Op::ExecuteTransaction,
            reads.to_string().as_bytes()
        ));
        assert!(is_partiql_write(
            Op::ExecuteStatement,
            br#"{"Statement": "DELETE FROM \"t\" WHERE pk = 'a'"}"#
        ));
        assert!(!is_partiql_write(Op::ExecuteStatement, b"{not json"));
        let deep = format!(
            r#"{{"Statements": [{{"Statement": "x", "Parameters": [{}{{"S": "x"}}{}]}}]}}"#,
            r#"{"M": {"n": "#.repeat(100),
            "}}".repeat(100)
        );
        assert!(is_partiql_write(Op::BatchExecuteStatement, deep.as_bytes()));
        assert!(!is_partiql_write(
            Op::BatchExecuteStatement,
            &deep.as_bytes()[1..]
        ));
    }

    #[test]
    fn a_written_key_is_the_schemas_attributes_or_none_under_another_schema() {
        let attr = |name: &str, ty| KeyAttr {
            name: name.to_string(),
            ty,
        };
        let schema = KeySchema::new(attr("pk", ScalarType::S), Some(attr("sk", ScalarType::N)));
        let two = AttributeValue::N(Number::parse("2").unwrap());
        let item: Item = [("pk", s("a")), ("sk", two.clone()), ("v", s("x"))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let key = written_key(&schema, &item).unwrap();
        assert_eq!(key.len(), 2);
        assert_eq!((&key["pk"], &key["sk"]), (&s("a"), &two));

        // What a table created again as `id` (S) takes, or `sk` as a string: the node's
        // schema is stale, and the caller forgets the table instead of a wrong key.
        let other: Item = [("id".to_string(), s("a"))].into_iter().collect();
        assert_eq!(written_key(&schema, &other), None);
        let retyped: Item = [("pk", s("a")), ("sk", s("2"))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(written_key(&schema, &retyped), None);
    }
}
