//! Write-through: PutItem, UpdateItem, DeleteItem, BatchWriteItem and TransactWriteItems.
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
//! writes that bypassed the proxy. This differs from DAX, whose write-through stores the
//! written item directly; the difference is one extra miss after a write through the node.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use serde_json::Value;
use shared::model::Item;
use shared::wire::error::ApiError;
use shared::wire::Op;

use crate::cluster::{self, FORWARDED_HEADER};
use crate::keys::{item_key, partition_slot, table_name};
use crate::reply::{Answer, CacheStatus, Outcome};
use crate::upstream::Reply;
use crate::Node;

pub async fn write(node: &Node, op: Op, headers: &HeaderMap, body: Bytes) -> Outcome {
    let result = if node.is_forwarded(headers) || node.cluster.is_primary() {
        node.store_call(op, headers, body.clone()).await
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

/// Sends a write to the primary; if it is unreachable, waits (up to two lease TTLs) for a
/// new primary, which may turn out to be this node.
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
            return node.store_call(op, headers, body).await;
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
            match node
                .upstream
                .call(&url, op, &target, headers, &extra, body.clone())
                .await
            {
                Ok(reply) => {
                    node.metrics.forwarded_writes.increment(1);
                    return Ok(reply);
                }
                Err(e) => tracing::warn!(error = %e, "primary unreachable; waiting for a new one"),
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

/// One item a write touched: its table and either its key or its whole new item.
enum Written {
    Key(String, Item),
    Item(String, Item),
}

/// Drops every item the write touched from this node's caches and marks the partitions
/// (or, when a table's schema is unknown, every query) as changed.
async fn invalidate_written(node: &Node, op: Op, headers: &HeaderMap, body: &[u8]) {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    for written in touched(op, &request) {
        let (table, item, is_key) = match written {
            Written::Key(t, k) => (t, k, true),
            Written::Item(t, i) => (t, i, false),
        };
        let table = table_name(&table).to_string();
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
        let key = if is_key {
            item
        } else {
            match schema.key_of_item(&item) {
                Ok(pk) => schema.key_item(&pk),
                Err(_) => continue,
            }
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
                out.push(Written::Item(t, i));
            }
        }
        Op::UpdateItem | Op::DeleteItem => {
            if let (Some(t), Some(k)) = (table(request), parse(request.get("Key"))) {
                out.push(Written::Key(t, k));
            }
        }
        Op::BatchWriteItem => {
            let tables = request.get("RequestItems").and_then(Value::as_object);
            for (t, writes) in tables.into_iter().flatten() {
                for w in writes.as_array().into_iter().flatten() {
                    if let Some(i) = parse(w.pointer("/PutRequest/Item")) {
                        out.push(Written::Item(t.clone(), i));
                    } else if let Some(k) = parse(w.pointer("/DeleteRequest/Key")) {
                        out.push(Written::Key(t.clone(), k));
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
                        out.push(Written::Item(t, i));
                    }
                }
                for kind in ["Update", "Delete"] {
                    if let Some(a) = action.get(kind) {
                        if let (Some(t), Some(k)) = (table(a), parse(a.get("Key"))) {
                            out.push(Written::Key(t, k));
                        }
                    }
                }
            }
        }
        _ => {}
    }
    out
}
