//! Per-replica overrides: what one replica of a global table may have of its own. DynamoDB
//! lets replicas differ in their read capacity (the table's and each GSI's, or their
//! on-demand maximum reads) and their table class; writes reach every replica, so write
//! capacity stays the table's everywhere.
//!
//! The region that adds or updates a replica has the replica's store apply its overrides
//! to its table and keep them as its own, keeps them beside the replica, and tells the
//! other regions, so that every region describes them. Capacity changes made to the global
//! table later, in any region, reach an overridden replica with its own reads in place of
//! the table's: the region making the change adjusts what it sends, and the replica adjusts
//! what it takes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::wire::error::ApiError;
use shared::wire::ops::describe_table::{
    OnDemandThroughputOverride, ProvisionedThroughputOverride, ReplicaDescription,
    ReplicaGlobalSecondaryIndexDescription, TableClassSummary,
};
use shared::wire::ops::update_table::UpdateTableInput;

use crate::catalog::{definition as def, BillingMode, IndexMeta, TableMeta};

/// Reads of the table or of one GSI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reads {
    /// Provisioned read capacity units (provisioned tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_units: Option<i64>,
    /// The on-demand maximum read request units (on-demand tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_units: Option<i64>,
}

/// One replica's overrides; nothing set means the table's own settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    #[serde(default)]
    pub reads: Reads,
    /// GSI name and its reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<(String, Reads)>,
    /// The class and when it was set (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_class: Option<(String, f64)>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }

    /// These overrides with those of a Create or Update replica action (`action`, its JSON)
    /// laid over them: what the action names replaces what was there, the rest stays.
    /// Checked against `table`, the global table in this region.
    pub fn merged(
        &self,
        action: &Value,
        table: &TableMeta,
        now: f64,
    ) -> Result<Overrides, ApiError> {
        let mut next = self.clone();
        let provisioned = table.billing_mode == BillingMode::Provisioned;
        overlay(&mut next.reads, action, provisioned, "the table")?;
        if let Some(indexes) = action
            .get("GlobalSecondaryIndexes")
            .filter(|v| !v.is_null())
        {
            let indexes = indexes.as_array().ok_or_else(|| {
                ApiError::validation("GlobalSecondaryIndexes of a replica must be a list")
            })?;
            for index in indexes {
                let name = index["IndexName"].as_str().unwrap_or_default();
                if table.global_index(name).is_none() {
                    return Err(ApiError::invalid_parameter(format!(
                        "Global secondary index {name} does not exist on table {}",
                        table.name()
                    )));
                }
                let at = match next.indexes.iter().position(|(n, _)| n == name) {
                    Some(at) => at,
                    None => {
                        next.indexes.push((name.to_string(), Reads::default()));
                        next.indexes.len() - 1
                    }
                };
                let what = format!("index {name}");
                overlay(&mut next.indexes[at].1, index, provisioned, &what)?;
            }
        }
        if let Some(class) = action.get("TableClassOverride").filter(|v| !v.is_null()) {
            let class = class.as_str().unwrap_or_default();
            def::check_table_class(Some(class))?;
            next.table_class = Some((class.to_string(), now));
        }
        Ok(next)
    }

    /// Gives `table` (a replica, in its own region) these overrides; `now` dates the
    /// capacity changes.
    pub fn apply_to(&self, table: &mut TableMeta, now: f64) {
        let provisioned = table.billing_mode == BillingMode::Provisioned;
        if provisioned {
            if let Some(read) = self.reads.capacity_units {
                let write = table.throughput.write;
                table.throughput.change(read, write, now);
            }
        } else if let Some(max) = self.reads.max_request_units {
            table
                .on_demand_throughput
                .get_or_insert_default()
                .max_read_request_units = Some(max);
        }
        for (name, reads) in &self.indexes {
            if let Some(index) = table.global_indexes.iter_mut().find(|i| &i.name == name) {
                apply_index(index, reads, provisioned, now);
            }
        }
        if let Some(class) = &self.table_class {
            table.table_class = Some(class.clone());
        }
    }

    /// A change of the global table's capacity (`input`) as this replica takes it: its own
    /// reads in place of the table's.
    pub fn adjust(&self, input: &mut UpdateTableInput) {
        if let (Some(read), Some(t)) = (
            self.reads.capacity_units,
            input.provisioned_throughput.as_mut(),
        ) {
            t.read_capacity_units = Some(read);
        }
        if let (Some(max), Some(o)) = (
            self.reads.max_request_units,
            input.on_demand_throughput.as_mut(),
        ) {
            o.max_read_request_units = Some(max);
        }
        for update in input.global_secondary_index_updates.iter_mut().flatten() {
            let Some(change) = update.update.as_mut() else {
                continue;
            };
            let name = change.index_name.as_deref().unwrap_or_default();
            let Some((_, reads)) = self.indexes.iter().find(|(n, _)| n == name) else {
                continue;
            };
            if let (Some(read), Some(t)) =
                (reads.capacity_units, change.provisioned_throughput.as_mut())
            {
                t.read_capacity_units = Some(read);
            }
            if let (Some(max), Some(o)) = (
                reads.max_request_units,
                change.on_demand_throughput.as_mut(),
            ) {
                o.max_read_request_units = Some(max);
            }
        }
    }

    /// Fills a replica's description with its overrides.
    pub fn describe(&self, into: &mut ReplicaDescription) {
        let (provisioned, on_demand) = describe_reads(&self.reads);
        into.provisioned_throughput_override = provisioned;
        into.on_demand_throughput_override = on_demand;
        into.global_secondary_indexes = (!self.indexes.is_empty()).then(|| {
            self.indexes
                .iter()
                .map(|(name, reads)| {
                    let (provisioned, on_demand) = describe_reads(reads);
                    ReplicaGlobalSecondaryIndexDescription {
                        index_name: name.clone(),
                        provisioned_throughput_override: provisioned,
                        on_demand_throughput_override: on_demand,
                    }
                })
                .collect()
        });
        into.replica_table_class_summary =
            self.table_class
                .as_ref()
                .map(|(class, at)| TableClassSummary {
                    table_class: class.clone(),
                    last_update_date_time: Some(*at),
                });
    }
}

/// Lays the read overrides of `action` (a replica's, or one of its GSIs') over `reads`,
/// refusing the kind of override the table's billing mode does not have.
fn overlay(
    reads: &mut Reads,
    action: &Value,
    provisioned: bool,
    what: &str,
) -> Result<(), ApiError> {
    let given = |field: &str, member: &str| -> Result<Option<i64>, ApiError> {
        match action.get(field).filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(value) => match value[member].as_i64() {
                Some(n) if n >= 1 || (n == -1 && member == "MaxReadRequestUnits") => Ok(Some(n)),
                _ => Err(ApiError::invalid_parameter(format!(
                    "{field} for {what} needs {member} of at least 1"
                ))),
            },
        }
    };
    let capacity = given("ProvisionedThroughputOverride", "ReadCapacityUnits")?;
    let max = given("OnDemandThroughputOverride", "MaxReadRequestUnits")?;
    if capacity.is_some() && !provisioned {
        return Err(ApiError::invalid_parameter(format!(
            "ProvisionedThroughputOverride cannot be specified for {what} when the table BillingMode is PAY_PER_REQUEST"
        )));
    }
    if max.is_some() && provisioned {
        return Err(ApiError::invalid_parameter(format!(
            "OnDemandThroughputOverride cannot be specified for {what} when the table BillingMode is PROVISIONED"
        )));
    }
    if capacity.is_some() {
        reads.capacity_units = capacity;
    }
    if max.is_some() {
        reads.max_request_units = max;
    }
    Ok(())
}

fn apply_index(index: &mut IndexMeta, reads: &Reads, provisioned: bool, now: f64) {
    if provisioned {
        if let (Some(read), Some(throughput)) = (reads.capacity_units, index.throughput.as_mut()) {
            let write = throughput.write;
            throughput.change(read, write, now);
        }
    } else if let Some(max) = reads.max_request_units {
        index
            .on_demand_throughput
            .get_or_insert_default()
            .max_read_request_units = Some(max);
    }
}

fn describe_reads(
    reads: &Reads,
) -> (
    Option<ProvisionedThroughputOverride>,
    Option<OnDemandThroughputOverride>,
) {
    (
        reads
            .capacity_units
            .map(|read_capacity_units| ProvisionedThroughputOverride {
                read_capacity_units,
            }),
        reads
            .max_request_units
            .map(|max_read_request_units| OnDemandThroughputOverride {
                max_read_request_units,
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Throughput;
    use serde_json::json;

    fn provisioned_table() -> TableMeta {
        let mut table = TableMeta::for_tests(1, "t");
        table.billing_mode = BillingMode::Provisioned;
        table.throughput = Throughput::new(10, 5);
        table
    }

    #[test]
    fn an_action_lays_its_overrides_over_the_kept_ones() {
        let table = provisioned_table();
        let first = Overrides::default()
            .merged(
                &json!({"RegionName": "eu-west-1",
                    "ProvisionedThroughputOverride": {"ReadCapacityUnits": 3},
                    "TableClassOverride": "STANDARD_INFREQUENT_ACCESS"}),
                &table,
                1.5,
            )
            .unwrap();
        assert_eq!(first.reads.capacity_units, Some(3));
        assert_eq!(
            first.table_class,
            Some(("STANDARD_INFREQUENT_ACCESS".into(), 1.5))
        );
        // An update naming only the reads keeps the class.
        let second = first
            .merged(
                &json!({"ProvisionedThroughputOverride": {"ReadCapacityUnits": 4}}),
                &table,
                2.5,
            )
            .unwrap();
        assert_eq!(second.reads.capacity_units, Some(4));
        assert_eq!(second.table_class, first.table_class);

        let mut replica = provisioned_table();
        second.apply_to(&mut replica, 3.0);
        assert_eq!((replica.throughput.read, replica.throughput.write), (4, 5));
        assert_eq!(replica.table_class, first.table_class);

        // A later change of the table's capacity reaches the replica with its own reads.
        let mut change = UpdateTableInput {
            provisioned_throughput: Some(shared::wire::ops::create_table::ProvisionedThroughput {
                read_capacity_units: Some(50),
                write_capacity_units: Some(60),
            }),
            ..Default::default()
        };
        second.adjust(&mut change);
        let t = change.provisioned_throughput.unwrap();
        assert_eq!(
            (t.read_capacity_units, t.write_capacity_units),
            (Some(4), Some(60))
        );
    }

    #[test]
    fn overrides_the_table_cannot_have_are_refused() {
        let provisioned = provisioned_table();
        let on_demand = TableMeta::for_tests(2, "od");
        let reads = json!({"ProvisionedThroughputOverride": {"ReadCapacityUnits": 3}});
        let max = json!({"OnDemandThroughputOverride": {"MaxReadRequestUnits": 30}});
        assert!(Overrides::default()
            .merged(&reads, &on_demand, 0.0)
            .is_err());
        assert!(Overrides::default()
            .merged(&max, &provisioned, 0.0)
            .is_err());
        assert!(Overrides::default().merged(&max, &on_demand, 0.0).is_ok());
        let zero = json!({"ProvisionedThroughputOverride": {"ReadCapacityUnits": 0}});
        assert!(Overrides::default()
            .merged(&zero, &provisioned, 0.0)
            .is_err());
        let unknown_index = json!({"GlobalSecondaryIndexes": [{"IndexName": "nope",
            "ProvisionedThroughputOverride": {"ReadCapacityUnits": 3}}]});
        let e = Overrides::default()
            .merged(&unknown_index, &provisioned, 0.0)
            .unwrap_err();
        assert!(e.message.unwrap_or_default().contains("nope"));
        let class = json!({"TableClassOverride": "GLACIER"});
        assert!(Overrides::default()
            .merged(&class, &provisioned, 0.0)
            .is_err());
    }
}
