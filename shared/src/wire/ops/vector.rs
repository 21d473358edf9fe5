//! Vector search's shapes (SDK names): the `VectorIndexes` of CreateTable and
//! DescribeTable, UpdateTable's `VectorIndexUpdates`, and the SearchVectors request and
//! response. Every request member is optional so that the store's validation, with
//! DynamoDB's messages, decides what is missing.

use serde::{Deserialize, Serialize};

use super::create_table::Projection;
use crate::model::value::ExpressionValues;
use crate::model::{AttributeValue, Item};

/// `{AttributeName}`: the attribute holding an item's vector (a list of numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VectorAttributeDefinition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_name: Option<String>,
}

/// `{AttributeName, SearchSchemaElementType: HASH | INLINE_FILTER}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchSchemaElement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_schema_element_type: Option<String>,
}

/// A vector index as CreateTable and UpdateTable's `Create` ask for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VectorIndex {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_attribute: Option<VectorAttributeDefinition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<i64>,
    /// COSINE | EUCLIDEAN | DOT_PRODUCT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection: Option<Projection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_schema: Option<Vec<SearchSchemaElement>>,
}

/// `{IndexName}` of UpdateTable's `Delete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteVectorIndexAction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
}

/// One of UpdateTable's `VectorIndexUpdates`: a `Create` or a `Delete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VectorIndexUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<VectorIndex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<DeleteVectorIndexAction>,
}

/// A vector index as DescribeTable reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VectorIndexDescription {
    pub index_name: String,
    pub vector_attribute: VectorAttributeDefinition,
    pub dimensions: i64,
    pub distance_function: String,
    pub projection: Projection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_schema: Option<Vec<SearchSchemaElement>>,
    /// CREATING | UPDATING | DELETING | ACTIVE.
    pub index_status: String,
    pub backfilling: bool,
    pub index_size_bytes: i64,
    pub item_count: i64,
    pub index_arn: String,
}

/// SearchVectors' request.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchVectorsInput {
    pub table_name: Option<String>,
    pub index_name: Option<String>,
    pub search_vector: Option<Vec<AttributeValue>>,
    pub top_k: Option<i64>,
    pub search_condition_expression: Option<String>,
    pub projection_expression: Option<String>,
    pub expression_attribute_names: Option<std::collections::HashMap<String, String>>,
    pub expression_attribute_values: Option<ExpressionValues>,
    pub return_consumed_capacity: Option<String>,
}

/// One answer of a search: the item as the index projects it, and its score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchResultItem {
    pub item: Item,
    pub score: f64,
}

/// The capacity a vector search or write used, in bytes processed: a shape of its own,
/// without the classic `CapacityUnits` or `TableName`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VectorCapacity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_search_request_bytes: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_write_request_bytes: Option<f64>,
}

/// SearchVectors' response.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchVectorsOutput {
    pub search_results: Vec<SearchResultItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_capacity: Option<VectorCapacity>,
}

/// A search vector's value as DynamoDB takes it: an `N` that reads as a 32-bit float.
pub fn vector_component(value: &AttributeValue) -> Option<f32> {
    match value {
        AttributeValue::N(n) => crate::model::number::vector_component(n.as_str()),
        _ => None,
    }
}
