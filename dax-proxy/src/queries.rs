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
use shared::expr::{parse_key_condition_parts, SortKeyCondition, Substitutions};
use shared::model::AttributeValue;
use shared::wire::Op;

use crate::canonical;
use crate::config::Coherence;
use crate::keys::{partition_slot, table_definition_slot, table_name, table_slot};
use crate::reply::{Answer, CacheStatus, Outcome};
use crate::Node;

pub async fn query_or_scan(node: &Node, op: Op, headers: &HeaderMap, body: Bytes) -> Outcome {
    let Some(key) = cache_key(op, &body) else {
        return node.pass_through(op, headers, body).await;
    };
    // In `ttl-only` coherence entries do not follow writes (as DAX's), so they need no
    // feed; otherwise they are dropped by the writes the feed reports.
    let in_step = node.config.coherence == Coherence::TtlOnly || node.following();
    let Some(cache) = node.queries.as_ref().filter(|_| in_step) else {
        return node.pass_through(op, headers, body).await;
    };
    let (hits, misses) = match op {
        Op::Scan => (&node.metrics.scan_hits, &node.metrics.scan_misses),
        _ => (&node.metrics.query_hits, &node.metrics.query_misses),
    };
    if let Some(entry) = cache.get(&key) {
        hits.increment(1);
        return Outcome::new(Answer::Ready(entry.ready.clone()), CacheStatus::Hit);
    }
    misses.increment(1);
    let Some(slots) = dependencies(op, &body) else {
        return node.pass_through(op, headers, body).await;
    };
    let deps = cache.snapshot(&slots);
    let reply = match node.store_call(op, headers, body).await {
        Ok(reply) => reply,
        Err(e) => return Outcome::new(Answer::Error(e), CacheStatus::Miss),
    };
    if reply.is_success() {
        cache.fill(&key, deps, &reply.body);
    }
    Outcome::new(Answer::Upstream(reply), CacheStatus::Miss)
}

/// The cache key of a cacheable request (`None`: strongly consistent, asks for a capacity
/// report, or not a JSON object): the operation and the canonical request, made in one pass
/// over the body, since every hit pays for it.
fn cache_key(op: Op, body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    if text.trim_start().as_bytes().first() != Some(&b'{') {
        return None;
    }
    let mut key = Vec::with_capacity(op.name().len() + 1 + body.len());
    key.extend_from_slice(op.name().as_bytes());
    key.push(0);
    let cacheable = |name: &str, value: &[u8]| match name {
        "ConsistentRead" => value != b"true",
        "ReturnConsumedCapacity" => value == br#""NONE""#,
        _ => true,
    };
    canonical::write_canonical(text, &mut key, cacheable)?;
    Some(key)
}

/// The generation slots an entry for this request depends on (worked out on a miss only):
/// a base-table Query, its partition; a Scan, an index Query, or a Query whose partition
/// cannot be read from the request, the whole table. And every entry on its table's
/// definition (dropping the table, or changing what its indexes answer, retires it in
/// either coherence mode).
fn dependencies(op: Op, body: &[u8]) -> Option<Vec<u64>> {
    let request: serde_json::Map<String, Value> = serde_json::from_slice(body).ok()?;
    let table = table_name(request.get("TableName")?.as_str()?);
    let mut slots = match (op, request.contains_key("IndexName")) {
        (Op::Query, false) => partition_candidates(&request)
            .map(|equalities| {
                equalities
                    .iter()
                    .map(|(name, value)| partition_slot(table, name, value))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if slots.is_empty() {
        slots.push(table_slot(table));
    }
    slots.push(table_definition_slot(table.as_bytes()));
    Some(slots)
}

/// The equalities of a base-table Query's KeyConditionExpression: one of them names the
/// partition. Which one is the table's schema's to say, and the node may not know it; an
/// entry depends on the slots of all of them (writes bump the real partition's, the
/// other is never bumped), so `sk = :s AND pk = :p` is invalidated as `pk = :p` is.
fn partition_candidates(
    request: &serde_json::Map<String, Value>,
) -> Option<Vec<(String, AttributeValue)>> {
    let text = request.get("KeyConditionExpression")?.as_str()?;
    let names: Option<HashMap<String, String>> = request
        .get("ExpressionAttributeNames")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let values: Option<HashMap<String, AttributeValue>> = request
        .get("ExpressionAttributeValues")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let subs = Substitutions::new(names.as_ref(), values.as_ref());
    let parts = parse_key_condition_parts(text, &subs).ok()?;
    let equalities = parts
        .into_iter()
        .filter_map(|(name, condition)| match condition {
            SortKeyCondition::Eq(value) => Some((name, value)),
            _ => None,
        });
    Some(equalities.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_per_request_whatever_its_member_order() {
        let a = br#"{"TableName":"t","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"a"}}}"#;
        let b = br#"{"ExpressionAttributeValues":{":p":{"S":"a"}},"KeyConditionExpression":"pk = :p","TableName":"t"}"#;
        assert_eq!(cache_key(Op::Query, a), cache_key(Op::Query, b));
        assert!(cache_key(Op::Query, a).is_some());
        assert_ne!(cache_key(Op::Query, a), cache_key(Op::Scan, a));
    }

    #[test]
    fn consistent_reads_and_capacity_reports_are_not_cached() {
        for (body, cached) in [
            (r#"{"TableName":"t","ConsistentRead":true}"#, false),
            (r#"{"TableName":"t","ConsistentRead":false}"#, true),
            (
                r#"{"TableName":"t","ReturnConsumedCapacity":"TOTAL"}"#,
                false,
            ),
            (r#"{"TableName":"t","ReturnConsumedCapacity":"NONE"}"#, true),
            (r#"["TableName"]"#, false),
        ] {
            assert_eq!(
                cache_key(Op::Scan, body.as_bytes()).is_some(),
                cached,
                "{body}"
            );
        }
    }

    #[test]
    fn a_base_table_query_depends_on_its_partition_an_index_query_on_the_table() {
        let query = br##"{"TableName":"t","KeyConditionExpression":"#k = :p","ExpressionAttributeNames":{"#k":"pk"},"ExpressionAttributeValues":{":p":{"S":"a"}}}"##;
        let partition = partition_slot("t", "pk", &AttributeValue::S("a".into()));
        let dropped = table_definition_slot(b"t");
        assert_eq!(
            dependencies(Op::Query, query),
            Some(vec![partition, dropped])
        );
        // Two equalities, the sort key's first: the entry depends on both candidates, so
        // a write to the real partition still reaches it.
        let exact = br#"{"TableName":"t","KeyConditionExpression":"sk = :s AND pk = :p","ExpressionAttributeValues":{":p":{"S":"a"},":s":{"S":"x"}}}"#;
        let sort = partition_slot("t", "sk", &AttributeValue::S("x".into()));
        assert_eq!(
            dependencies(Op::Query, exact),
            Some(vec![sort, partition, dropped])
        );
        let index = br#"{"TableName":"t","IndexName":"i","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"a"}}}"#;
        assert_eq!(
            dependencies(Op::Query, index),
            Some(vec![table_slot("t"), dropped])
        );
        assert_eq!(
            dependencies(
                Op::Scan,
                br#"{"TableName":"arn:aws:dynamodb:us-east-1:0:table/t"}"#
            ),
            Some(vec![table_slot("t"), dropped])
        );
    }
}
