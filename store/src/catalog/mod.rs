//! The table catalog: every table's definition and status, kept in memory and persisted as
//! storage meta records so that it survives restarts.

use std::sync::Arc;

use shared::wire::error::ApiError;

use crate::config::Config;
use crate::storage::{Storage, StorageError, TableLayout};

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
    /// Loads every table's record from storage (at startup).
    pub fn load(storage: &Storage, config: &Config) -> Result<Catalog, StorageError> {
        let _ = (storage, config);
        todo!("catalog")
    }

    /// The table a data-plane call names (`TableName` may also be the table's ARN); a
    /// missing or not-yet-ACTIVE table is `ResourceNotFoundException: Requested resource not
    /// found`.
    pub fn table_for_data(&self, name: &str) -> Result<Arc<TableMeta>, ApiError> {
        let _ = name;
        todo!("catalog")
    }
}
