//! The shared state every request handler gets: storage, catalog, configuration.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::storage::Storage;

/// Built once in `server`, shared by reference count.
pub struct App {
    pub config: Config,
    pub storage: Arc<Storage>,
    pub catalog: Catalog,
}
