//! Shapes several operations share: ReturnConsumedCapacity, ConsumedCapacity.

use serde::{Deserialize, Serialize};

/// `ReturnConsumedCapacity`: NONE (default), TOTAL or INDEXES.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnConsumedCapacity {
    #[default]
    None,
    Total,
    Indexes,
}

impl ReturnConsumedCapacity {
    /// Parses the request member; anything else is DynamoDB's enum constraint error.
    pub fn parse(value: Option<&str>) -> Result<Self, crate::wire::ApiError> {
        match value {
            None | Some("NONE") => Ok(Self::None),
            Some("TOTAL") => Ok(Self::Total),
            Some("INDEXES") => Ok(Self::Indexes),
            Some(other) => Err(crate::wire::ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
            ))),
        }
    }
}

/// Units consumed on one table or index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Capacity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_capacity_units: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_capacity_units: Option<f64>,
    pub capacity_units: f64,
}

/// `ConsumedCapacity` as DynamoDB returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumedCapacity {
    pub table_name: String,
    pub capacity_units: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_capacity_units: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_capacity_units: Option<f64>,
    /// With INDEXES: the table's own share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Capacity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_secondary_indexes: Option<std::collections::BTreeMap<String, Capacity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_secondary_indexes: Option<std::collections::BTreeMap<String, Capacity>>,
    /// With INDEXES, a write's bytes on each vector index whose stored view it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_indexes: Option<std::collections::BTreeMap<String, super::vector::VectorCapacity>>,
}

fn add_units(total: &mut Option<f64>, more: Option<f64>) {
    if let Some(more) = more {
        *total = Some(total.unwrap_or(0.0) + more);
    }
}

impl Capacity {
    fn add(&mut self, other: &Capacity) {
        self.capacity_units += other.capacity_units;
        add_units(&mut self.read_capacity_units, other.read_capacity_units);
        add_units(&mut self.write_capacity_units, other.write_capacity_units);
    }
}

impl ConsumedCapacity {
    /// Adds what another call on the same table consumed (one PartiQL SELECT that runs
    /// several Queries answers with their sum).
    pub fn add(&mut self, other: &ConsumedCapacity) {
        self.capacity_units += other.capacity_units;
        add_units(&mut self.read_capacity_units, other.read_capacity_units);
        add_units(&mut self.write_capacity_units, other.write_capacity_units);
        if let Some(theirs) = &other.table {
            self.table.get_or_insert_with(Capacity::default).add(theirs);
        }
        for (mine, theirs) in [
            (
                &mut self.local_secondary_indexes,
                &other.local_secondary_indexes,
            ),
            (
                &mut self.global_secondary_indexes,
                &other.global_secondary_indexes,
            ),
        ] {
            for (name, units) in theirs.iter().flatten() {
                mine.get_or_insert_with(Default::default)
                    .entry(name.clone())
                    .or_default()
                    .add(units);
            }
        }
        for (name, bytes) in other.vector_indexes.iter().flatten() {
            let mine = self.vector_indexes.get_or_insert_with(Default::default);
            let total = &mut mine
                .entry(name.clone())
                .or_default()
                .vector_write_request_bytes;
            add_units(total, bytes.vector_write_request_bytes);
        }
    }

    /// Read units on a table as Query and Scan report them: the total, and with INDEXES
    /// the table's own share. Only transactions add `ReadCapacityUnits`
    /// ([`ConsumedCapacity::transaction_read`]); DynamoDB's single-item, batch, Query and
    /// Scan answers carry `CapacityUnits` alone (as measured against the service by
    /// ExtendDB's parity tests, extenddb#212).
    pub fn read(table: &str, units: f64, mode: ReturnConsumedCapacity) -> Option<Self> {
        Self::on_table(table, units, None, mode)
    }

    /// Read units on a table as a transaction reports them: `ReadCapacityUnits` beside
    /// `CapacityUnits`, in the total and in the table's share.
    pub fn transaction_read(table: &str, units: f64, mode: ReturnConsumedCapacity) -> Option<Self> {
        Self::on_table(table, units, Some(units), mode)
    }

    fn on_table(
        table: &str,
        units: f64,
        read_units: Option<f64>,
        mode: ReturnConsumedCapacity,
    ) -> Option<Self> {
        let table_share = Capacity {
            read_capacity_units: read_units,
            capacity_units: units,
            ..Default::default()
        };
        let used = ConsumedCapacity {
            table_name: table.to_string(),
            capacity_units: units,
            read_capacity_units: read_units,
            ..Default::default()
        };
        match mode {
            ReturnConsumedCapacity::None => None,
            ReturnConsumedCapacity::Total => Some(used),
            ReturnConsumedCapacity::Indexes => Some(ConsumedCapacity {
                table: Some(table_share),
                ..used
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_add_up_with_their_breakdowns() {
        let one = |units: f64| ConsumedCapacity {
            table_name: "t".into(),
            capacity_units: units,
            read_capacity_units: Some(units),
            write_capacity_units: None,
            table: Some(Capacity {
                read_capacity_units: Some(units),
                write_capacity_units: None,
                capacity_units: units,
            }),
            local_secondary_indexes: None,
            global_secondary_indexes: Some(
                [(
                    "g".to_string(),
                    Capacity {
                        read_capacity_units: Some(units),
                        write_capacity_units: None,
                        capacity_units: units,
                    },
                )]
                .into_iter()
                .collect(),
            ),
            vector_indexes: Some(
                [(
                    "v".to_string(),
                    super::super::vector::VectorCapacity {
                        vector_write_request_bytes: Some(units * 1024.0),
                        ..Default::default()
                    },
                )]
                .into_iter()
                .collect(),
            ),
        };
        let mut total = one(1.0);
        total.add(&one(0.5));
        assert_eq!(total.capacity_units, 1.5);
        assert_eq!(total.read_capacity_units, Some(1.5));
        assert_eq!(total.write_capacity_units, None);
        assert_eq!(total.table.as_ref().map(|t| t.capacity_units), Some(1.5));
        assert_eq!(
            total.global_secondary_indexes.unwrap()["g"].capacity_units,
            1.5
        );
        assert!(total.local_secondary_indexes.is_none());
        let vector = &total.vector_indexes.unwrap()["v"];
        assert_eq!(vector.vector_write_request_bytes, Some(1536.0));
    }
}
