//! The shared state every request handler gets: storage, catalog, configuration.

use std::sync::Arc;

use crate::api::idempotency::{self, Tokens};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::storage::Storage;

/// Built once in `server`, shared by reference count.
pub struct App {
    pub config: Config,
    pub storage: Arc<Storage>,
    pub catalog: Catalog,
    /// Written while the stream registry is read and rewritten, so the maintenance pass and
    /// a request recording a stream change never overwrite each other's record; read by
    /// GetRecords while it takes a shard's range and the published sequence number, so
    /// that a shard rolling over meanwhile cannot hand out records its child will too.
    pub stream_registry: tokio::sync::RwLock<()>,
    /// Set once the process is stopping: requests that would wait (the change feed's long
    /// poll) answer at once, so a graceful stop does not wait out their polls.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Woken when an export, import or bulk operation is recorded: `transfer::run_jobs`
    /// then runs it.
    pub transfers: tokio::sync::Notify,
    /// Held from the checks that start an export, import or bulk operation (an earlier job
    /// of its ClientToken, a bulk operation already on its table, the table's replicas) to
    /// its record's saving, which waits for a commit: two starts racing on one token or one
    /// table both passed the checks before. Adding a global-table replica takes it too,
    /// against a bulk operation starting meanwhile.
    pub job_starts: tokio::sync::Mutex<()>,
    /// The bulk operations under way and those asked to stop (`transfer::bulk_put`).
    pub bulk_runs: crate::transfer::bulk_put::BulkRuns,
    /// What is known of resource-based policies (`crate::policy`).
    pub policies: crate::policy::State,
    /// TransactWriteItems' `ClientRequestToken`s (`api::idempotency`).
    pub tokens: crate::api::idempotency::Tokens,
    /// The metric series of tables, Kinesis destinations and triggers that must leave
    /// `/metrics` with them (`crate::owned_metrics`).
    pub owned_metrics: crate::owned_metrics::OwnedMetrics,
    /// This region's new global-table replicas waiting for their copy
    /// (`crate::replication::waiting`).
    pub waiting: crate::replication::waiting::Waiting,
}

impl App {
    pub fn new(config: Config, storage: Arc<Storage>, catalog: Catalog) -> App {
        crate::throttle::set_table_quota(config.quotas.table_max);
        let policies = crate::policy::State::default();
        if catalog
            .all()
            .iter()
            .any(|t| !crate::policy::policies(t).is_empty())
        {
            policies.note();
        }
        let tokens = Tokens::load(&storage, idempotency::MAX_TOKENS, shared::clock::now_ms())
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read the transaction tokens; starting without");
                Tokens::new(idempotency::MAX_TOKENS)
            });
        App {
            config,
            storage,
            catalog,
            stream_registry: tokio::sync::RwLock::new(()),
            stopping: tokio::sync::watch::Sender::new(false),
            transfers: tokio::sync::Notify::new(),
            job_starts: tokio::sync::Mutex::new(()),
            bulk_runs: Default::default(),
            policies,
            tokens,
            owned_metrics: Default::default(),
            waiting: Default::default(),
        }
    }

    /// Resolves once the process is stopping (at once if it already is).
    pub async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        // Err only if the sender is gone, which `self` rules out.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    /// An app on a fresh, non-durable storage in `dir` with the test configuration
    /// ([`Config::for_tests`]): what the handler tests run against, without HTTP.
    #[cfg(test)]
    pub fn for_tests(dir: &std::path::Path) -> App {
        App::for_tests_with(Config::for_tests(dir))
    }

    /// [`App::for_tests`] with a configuration of the test's own (data in its `data_dir`).
    #[cfg(test)]
    pub fn for_tests_with(config: Config) -> App {
        let options = crate::storage::StorageOptions {
            durable: false,
            ..config.storage.clone()
        };
        let storage =
            Storage::open(&config.data_dir, options).unwrap_or_else(|e| panic!("open: {e}"));
        let catalog = Catalog::load(&storage, &config).unwrap_or_else(|e| panic!("catalog: {e}"));
        App::new(config, storage, catalog)
    }
}
