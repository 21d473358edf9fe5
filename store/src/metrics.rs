//! Prometheus metrics of the store: names in one place, following Prometheus conventions.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests served, by operation (`op`).
pub const REQUESTS_TOTAL: &str = "store_requests_total";
/// Requests that failed, by operation and DynamoDB error code (`op`, `code`).
pub const REQUEST_ERRORS_TOTAL: &str = "store_request_errors_total";
/// Request latency in seconds, by operation.
pub const REQUEST_DURATION_SECONDS: &str = "store_request_duration_seconds";
/// Read capacity units consumed, by table (`table`); whole units (`throttle` meters them).
pub const CONSUMED_READ_UNITS_TOTAL: &str = "store_consumed_read_capacity_units_total";
/// Write capacity units consumed, by table (`table`), index writes included.
pub const CONSUMED_WRITE_UNITS_TOTAL: &str = "store_consumed_write_capacity_units_total";
/// Bytes stored in a table's items (DynamoDB item sizes), by table.
pub const TABLE_SIZE_BYTES: &str = "store_table_size_bytes";
/// Items in a table, by table.
pub const TABLE_ITEMS: &str = "store_table_items";
/// Requests refused for their table's capacity (ProvisionedThroughputExceededException, or
/// ThrottlingException above an on-demand maximum), by table.
pub const THROTTLED_REQUESTS_TOTAL: &str = "store_throttled_requests_total";
/// API calls refused because `--max-in-flight` were in progress (load shedding).
pub const SHED_REQUESTS_TOTAL: &str = "store_shed_requests_total";
/// API calls in progress when metrics were scraped.
pub const IN_FLIGHT_REQUESTS: &str = "store_in_flight_requests";
/// Records the change log retains (streams keep 24 h of them; PITR its recovery period).
pub const CHANGE_LOG_RECORDS: &str = "store_change_log_records";
/// Age of the change log's oldest record: the retention in effect.
pub const CHANGE_LOG_OLDEST_AGE_SECONDS: &str = "store_change_log_oldest_age_seconds";

/// How long each journal sync (fdatasync) of a commit group took: the floor of a durable
/// write's latency, and what a slow or busy disk shows up in first.
pub const JOURNAL_SYNC_SECONDS: &str = "store_journal_sync_seconds";
/// Batches (one per write request) made durable by each journal sync: group commit at work.
pub const COMMIT_GROUP_BATCHES: &str = "store_commit_group_batches";

/// Bytes on disk, by part (`part`: items, changes, table_changes, meta, journal); read
/// from the engine at every scrape.
pub const DISK_BYTES: &str = "store_disk_bytes";
/// The engine's tables on disk, by part. This and the three below are read from the engine
/// at every scrape, like [`DISK_BYTES`]: the shape that range reads (Query, Scan) merge.
pub const ENGINE_TABLES: &str = "store_engine_tables";
/// Tables in level 0, by part: each is one more seek for every range read until a
/// compaction merges them.
pub const ENGINE_LEVEL0_TABLES: &str = "store_engine_level0_tables";
/// Memtables sealed and waiting for their flush, by part.
pub const ENGINE_SEALED_MEMTABLES: &str = "store_engine_sealed_memtables";
/// Entries in memtables and tables, every version and deletion marker counted, by part:
/// above the items' count by the old versions reads still step over.
pub const ENGINE_ENTRIES: &str = "store_engine_entries";
/// Compactions of the items keyspace run because writes stopped (`idle_compaction`).
pub const ENGINE_IDLE_COMPACTIONS_TOTAL: &str = "store_engine_idle_compactions_total";

/// Installs the global recorder and returns the handle that renders `/metrics`.
/// A second call (tests starting several servers in one process) reuses nothing and fails,
/// so the error is returned for the caller to log; metrics then go unrecorded.
pub fn install() -> Result<PrometheusHandle, String> {
    let buckets = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1.0, 2.5,
    ];
    let group_sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
        .map_err(|e| e.to_string())?
        .set_buckets_for_metric(Matcher::Full(COMMIT_GROUP_BATCHES.into()), &group_sizes)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())
}
