//! Key schemas of the tables the node serves, learned from the store with DescribeTable.
//!
//! Write-through needs them: a PutItem names its item, not its key, and the node must know
//! which attributes form the key to find the cache entry the write changed. Entries expire
//! after a minute and are dropped when a table is deleted or created through this node, so
//! a table recreated with another schema is picked up.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::Bytes;
use moka::sync::Cache;
use serde::Deserialize;
use shared::model::{KeyAttr, KeySchema, ScalarType};
use shared::wire::Op;

use crate::upstream::Upstream;

pub struct Schemas {
    cache: Cache<String, Arc<KeySchema>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Described {
    table: DescribedTable,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribedTable {
    key_schema: Vec<KeyElement>,
    attribute_definitions: Vec<AttributeDefinition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyElement {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinition {
    attribute_name: String,
    attribute_type: String,
}

impl Schemas {
    pub fn new() -> Self {
        Schemas {
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }

    /// The table's key schema, from this node's cache or the store. `None` if the store does
    /// not know the table or cannot be reached.
    pub async fn get(
        &self,
        upstream: &Upstream,
        store: &str,
        table: &str,
        headers: &HeaderMap,
    ) -> Option<Arc<KeySchema>> {
        if let Some(schema) = self.cache.get(table) {
            return Some(schema);
        }
        let body = serde_json::to_vec(&serde_json::json!({ "TableName": table })).ok()?;
        let reply = upstream
            .call(
                store,
                Op::DescribeTable,
                "DynamoDB_20120810.DescribeTable",
                headers,
                &[],
                Bytes::from(body),
            )
            .await
            .ok()?;
        if !reply.is_success() {
            return None;
        }
        let described: Described = serde_json::from_slice(&reply.body).ok()?;
        let schema = Arc::new(to_schema(&described.table)?);
        self.cache.insert(table.to_string(), schema.clone());
        Some(schema)
    }

    pub fn forget(&self, table: &str) {
        self.cache.invalidate(table);
    }
}

impl Default for Schemas {
    fn default() -> Self {
        Self::new()
    }
}

fn to_schema(table: &DescribedTable) -> Option<KeySchema> {
    let attr = |name: &str| -> Option<KeyAttr> {
        let definition = table
            .attribute_definitions
            .iter()
            .find(|d| d.attribute_name == name)?;
        let ty = match definition.attribute_type.as_str() {
            "S" => ScalarType::S,
            "N" => ScalarType::N,
            "B" => ScalarType::B,
            _ => return None,
        };
        Some(KeyAttr {
            name: name.to_string(),
            ty,
        })
    };
    let hash = table.key_schema.iter().find(|k| k.key_type == "HASH")?;
    let range = table.key_schema.iter().find(|k| k.key_type == "RANGE");
    Some(KeySchema::new(
        attr(&hash.attribute_name)?,
        match range {
            Some(r) => Some(attr(&r.attribute_name)?),
            None => None,
        },
    ))
}
