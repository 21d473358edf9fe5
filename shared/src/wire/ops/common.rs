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
}

impl ConsumedCapacity {
    /// Read units on a table (no index breakdown beyond the table's own share).
    pub fn read(table: &str, units: f64, mode: ReturnConsumedCapacity) -> Option<Self> {
        Self::build(table, units, true, mode)
    }

    /// Write units on a table.
    pub fn write(table: &str, units: f64, mode: ReturnConsumedCapacity) -> Option<Self> {
        Self::build(table, units, false, mode)
    }

    fn build(table: &str, units: f64, read: bool, mode: ReturnConsumedCapacity) -> Option<Self> {
        let (r, w) = if read {
            (Some(units), None)
        } else {
            (None, Some(units))
        };
        match mode {
            ReturnConsumedCapacity::None => None,
            ReturnConsumedCapacity::Total => Some(ConsumedCapacity {
                table_name: table.to_string(),
                capacity_units: units,
                read_capacity_units: r,
                write_capacity_units: w,
                ..Default::default()
            }),
            ReturnConsumedCapacity::Indexes => Some(ConsumedCapacity {
                table_name: table.to_string(),
                capacity_units: units,
                read_capacity_units: r,
                write_capacity_units: w,
                table: Some(Capacity {
                    read_capacity_units: r,
                    write_capacity_units: w,
                    capacity_units: units,
                }),
                ..Default::default()
            }),
        }
    }
}
