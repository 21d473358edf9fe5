//! The table catalog: every table's definition and status, kept in memory and persisted as
//! storage meta records so that it survives restarts.

use std::sync::Arc;

use shared::wire::error::ApiError;

use crate::storage::TableLayout;

/// One table's definition (what CreateTable and UpdateTable set).
#[derive(Debug, Clone)]
pub struct TableMeta {
    pub layout: TableLayout,
    pub arn: String,
}

/// All tables, by name.
pub struct Catalog {
    _private: (),
}

impl Catalog {
    /// The table a data-plane call names (`TableName` may also be the table's ARN); a
    /// missing or not-yet-ACTIVE table is `ResourceNotFoundException: Requested resource not
    /// found`.
    pub fn table_for_data(&self, name: &str) -> Result<Arc<TableMeta>, ApiError> {
        let _ = name;
        todo!("catalog")
    }
}
