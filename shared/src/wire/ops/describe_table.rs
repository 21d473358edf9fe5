//! DescribeTable's request and response, and `TableDescription`, which CreateTable,
//! UpdateTable and DeleteTable return too.
//!
//! Dates are epoch seconds as JSON numbers with a fraction, as DynamoDB sends them. Absent
//! members are omitted (DynamoDB never sends `null`); when parsing (the proxy reads
//! descriptions from the store), absent members take their defaults.

use serde::{Deserialize, Serialize};

use super::create_table::{
    AttributeDefinition, KeySchemaElement, OnDemandThroughput, Projection, StreamSpecification,
};

/// DescribeTable's request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTableInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
}

/// DescribeTable's response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeTableOutput {
    pub table: TableDescription,
}

/// `ProvisionedThroughputDescription`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ProvisionedThroughputDescription {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_increase_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_decrease_date_time: Option<f64>,
    pub number_of_decreases_today: i64,
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
}

/// `BillingModeSummary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BillingModeSummary {
    pub billing_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_to_pay_per_request_date_time: Option<f64>,
}

/// `LocalSecondaryIndexDescription` (no status, no throughput).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LocalSecondaryIndexDescription {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
    pub index_size_bytes: i64,
    pub item_count: i64,
    pub index_arn: String,
}

/// `GlobalSecondaryIndexDescription`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GlobalSecondaryIndexDescription {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub projection: Projection,
    /// CREATING | UPDATING | DELETING | ACTIVE.
    pub index_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfilling: Option<bool>,
    pub provisioned_throughput: ProvisionedThroughputDescription,
    pub index_size_bytes: i64,
    pub item_count: i64,
    pub index_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_throughput: Option<WarmThroughputDescription>,
}

/// `SSEDescription`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SseDescription {
    /// ENABLING | ENABLED | DISABLING | DISABLED | UPDATING.
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "SSEType", skip_serializing_if = "Option::is_none")]
    pub sse_type: Option<String>,
    #[serde(rename = "KMSMasterKeyArn", skip_serializing_if = "Option::is_none")]
    pub kms_master_key_arn: Option<String>,
}

/// `TableClassSummary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TableClassSummary {
    pub table_class: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_date_time: Option<f64>,
}

/// `TableDescription`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TableDescription {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub table_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    /// CREATING | UPDATING | DELETING | ACTIVE | ...
    pub table_status: String,
    pub creation_date_time: f64,
    pub provisioned_throughput: ProvisionedThroughputDescription,
    pub table_size_bytes: i64,
    pub item_count: i64,
    pub table_arn: String,
    pub table_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_mode_summary: Option<BillingModeSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_secondary_indexes: Option<Vec<LocalSecondaryIndexDescription>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<Vec<GlobalSecondaryIndexDescription>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_specification: Option<StreamSpecification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_stream_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_stream_arn: Option<String>,
    #[serde(rename = "SSEDescription", skip_serializing_if = "Option::is_none")]
    pub sse_description: Option<SseDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_class_summary: Option<TableClassSummary>,
    pub deletion_protection_enabled: bool,
    /// A global table's replica here only: whether it may be disassociated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disassociation_protection_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    /// `2019.11.21` for a replica of a global table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_table_version: Option<String>,
    /// The global table's other replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<ReplicaDescription>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_throughput: Option<WarmThroughputDescription>,
    /// A restored table's source and progress (kept as the store recorded it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_summary: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_indexes: Option<Vec<super::vector::VectorIndexDescription>>,
}

/// The warm throughput of a table or GSI: what it can take at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WarmThroughputDescription {
    pub read_units_per_second: i64,
    pub write_units_per_second: i64,
    /// ACTIVE | UPDATING | ...
    pub status: String,
}

/// One replica of a global table, as DescribeTable shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReplicaDescription {
    pub region_name: String,
    /// CREATING | ACTIVE | ...
    pub replica_status: String,
    /// How much of the replica's initial copy is done, while it is CREATING.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_status_percent_progress: Option<String>,
    /// Why the replica is in its status: what its region said when it refused to make it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_status_description: Option<String>,
    /// The replica's own read capacity, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput_override: Option<ProvisionedThroughputOverride>,
    /// The replica's own on-demand maximum reads, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput_override: Option<OnDemandThroughputOverride>,
    /// The replica's overrides of GSIs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<Vec<ReplicaGlobalSecondaryIndexDescription>>,
    /// The replica's own table class, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_table_class_summary: Option<TableClassSummary>,
}

/// A replica's read capacity of its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ProvisionedThroughputOverride {
    pub read_capacity_units: i64,
}

/// A replica's on-demand maximum reads of its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OnDemandThroughputOverride {
    pub max_read_request_units: i64,
}

/// A replica's overrides of one GSI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReplicaGlobalSecondaryIndexDescription {
    pub index_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput_override: Option<ProvisionedThroughputOverride>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput_override: Option<OnDemandThroughputOverride>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_members_are_omitted_and_names_match_the_wire() {
        let desc = TableDescription {
            table_name: "t".into(),
            table_status: "ACTIVE".into(),
            creation_date_time: 1700000000.5,
            sse_description: Some(SseDescription {
                status: "ENABLED".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let json = serde_json::to_value(&desc).unwrap_or_default();
        assert_eq!(json["CreationDateTime"], serde_json::json!(1700000000.5));
        assert_eq!(json["SSEDescription"]["Status"], "ENABLED");
        assert!(json.get("GlobalSecondaryIndexes").is_none());
        assert!(json.get("LatestStreamArn").is_none());
        assert_eq!(json["DeletionProtectionEnabled"], false);
    }

    #[test]
    fn parses_sparse_descriptions() {
        let parsed: Result<DescribeTableOutput, _> = serde_json::from_str(
            r#"{"Table":{"TableName":"t","TableStatus":"ACTIVE","CreationDateTime":1.5}}"#,
        );
        let table = parsed.map(|o| o.table).unwrap_or_default();
        assert_eq!(
            (table.table_name.as_str(), table.creation_date_time),
            ("t", 1.5)
        );
        assert_eq!(table.item_count, 0);
    }
}
