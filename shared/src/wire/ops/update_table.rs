//! UpdateTable's request and response.

use serde::{Deserialize, Serialize};

use super::create_table::{
    AttributeDefinition, GlobalSecondaryIndex, OnDemandThroughput, ProvisionedThroughput,
    SseSpecification, StreamSpecification, WarmThroughput,
};
use super::describe_table::TableDescription;

/// `GlobalSecondaryIndexUpdates` entry: exactly one of Create, Update, Delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndexUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<GlobalSecondaryIndex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateGlobalSecondaryIndexAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<DeleteGlobalSecondaryIndexAction>,
}

/// `Update: {IndexName, ProvisionedThroughput, OnDemandThroughput, WarmThroughput}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateGlobalSecondaryIndexAction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_throughput: Option<WarmThroughput>,
}

/// `Delete: {IndexName}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteGlobalSecondaryIndexAction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
}

/// UpdateTable's request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTableInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_definitions: Option<Vec<AttributeDefinition>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_secondary_index_updates: Option<Vec<GlobalSecondaryIndexUpdate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_specification: Option<StreamSpecification>,
    #[serde(rename = "SSESpecification", skip_serializing_if = "Option::is_none")]
    pub sse_specification: Option<SseSpecification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_protection_enabled: Option<bool>,
    /// Whether this region's replica of a global table may be disassociated (a
    /// `ReplicaUpdates` Disassociate); true unless set false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disassociation_protection_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    /// Global-table replica changes: `[{Create|Update|Delete: {RegionName, ...}}]`, read by
    /// the store's `replication::control`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_updates: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_throughput: Option<WarmThroughput>,
    /// `EVENTUAL` or `STRONG`: the consistency of a global table being made by the
    /// `ReplicaUpdates` beside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_region_consistency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_index_updates: Option<Vec<super::vector::VectorIndexUpdate>>,
}

/// UpdateTable's response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateTableOutput {
    pub table_description: TableDescription,
}
