//! Query and Scan from the query cache.
//!
//! The cache key is the whole request, normalized (members in sorted order, re-serialized),
//! so two requests share an entry exactly when they ask the same thing: same table, index,
//! conditions, substitutions, filter, projection, Limit, ExclusiveStartKey, direction,
//! Select and segment. Strongly consistent reads and capacity reports bypass the cache.
//!
//! What an entry depends on, for `invalidate` coherence: a Query on the table itself depends
//! on the one partition its key condition names; a Scan, an index Query, or a Query whose
//! partition cannot be read from the request, on the whole table.

use std::collections::HashMap;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::Value;
use shared::expr::{parse_key_condition, Substitutions};
use shared::model::AttributeValue;
use shared::wire::Op;

use crate::keys::{partition_slot, table_name, table_slot};
use crate::reply::{Answer, CacheStatus, Outcome};
use crate::Node;

pub async fn query_or_scan(node: &Node, op: Op, headers: &HeaderMap, body: Bytes) -> Outcome {
    let Some(plan) = plan(op, &body) else {
        return node.pass_through(op, headers, body).await;
    };
    let Some(cache) = node.queries.as_ref() else {
        return node.pass_through(op, headers, body).await;
    };
    let (hits, misses) = match op {
        Op::Scan => (&node.metrics.scan_hits, &node.metrics.scan_misses),
        _ => (&node.metrics.query_hits, &node.metrics.query_misses),
    };
    if let Some(entry) = cache.get(&plan.key) {
        hits.increment(1);
        return Outcome::new(Answer::Ready(entry.ready.clone()), CacheStatus::Hit);
    }
    misses.increment(1);
    let deps = cache.snapshot(&plan.dependencies(op));
    let reply = match node.store_call(op, headers, body).await {
        Ok(reply) => reply,
        Err(e) => return Outcome::new(Answer::Error(e), CacheStatus::Miss),
    };
    if reply.is_success() {
        cache.fill(&plan.key, deps, &reply.body);
    }
    Outcome::new(Answer::Upstream(reply), CacheStatus::Miss)
}

/// A cacheable request: its cache key, and what a miss needs to work out its dependencies
/// (kept apart so that a hit does not parse the key condition).
struct Plan {
    key: Vec<u8>,
    table: String,
    request: serde_json::Map<String, Value>,
}

impl Plan {
    /// The generation slots an entry for this request depends on.
    fn dependencies(&self, op: Op) -> Vec<u64> {
        let slot = match (op, self.request.contains_key("IndexName")) {
            (Op::Query, false) => partition_of(&self.request)
                .map(|(name, value)| partition_slot(&self.table, &name, &value))
                .unwrap_or_else(|| table_slot(&self.table)),
            _ => table_slot(&self.table),
        };
        vec![slot]
    }
}

fn plan(op: Op, body: &[u8]) -> Option<Plan> {
    let request: serde_json::Map<String, Value> = serde_json::from_slice(body).ok()?;
    if request.get("ConsistentRead").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    match request
        .get("ReturnConsumedCapacity")
        .and_then(Value::as_str)
    {
        None | Some("NONE") => {}
        Some(_) => return None,
    }
    let table = table_name(request.get("TableName")?.as_str()?).to_string();
    let mut key = op.name().as_bytes().to_vec();
    key.push(0);
    // serde_json's Map is ordered by key here (no preserve_order), so this is canonical.
    serde_json::to_writer(&mut key, &request).ok()?;
    Some(Plan {
        key,
        table,
        request,
    })
}

/// The partition a base-table Query reads, from its KeyConditionExpression.
fn partition_of(request: &serde_json::Map<String, Value>) -> Option<(String, AttributeValue)> {
    let text = request.get("KeyConditionExpression")?.as_str()?;
    let names: Option<HashMap<String, String>> = request
        .get("ExpressionAttributeNames")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let values: Option<HashMap<String, AttributeValue>> = request
        .get("ExpressionAttributeValues")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let subs = Substitutions::new(names.as_ref(), values.as_ref());
    let condition = parse_key_condition(text, &subs).ok()?;
    Some((condition.hash_name, condition.hash_value))
}
