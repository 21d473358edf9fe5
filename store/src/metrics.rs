//! Prometheus metrics of the store: names in one place, following Prometheus conventions,
//! and every family's `# HELP` text in [`FAMILIES`] (the names of a subsystem's own
//! metrics stay in its module; their descriptions are here too).

use std::fmt::Write as _;

use metrics::Unit;
use metrics_exporter_prometheus::PrometheusHandle;

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
/// Bytes in an index's entries (DynamoDB's IndexSizeBytes), by table and index.
pub const INDEX_SIZE_BYTES: &str = "store_index_size_bytes";
/// Entries in an index (DynamoDB's index ItemCount), by table and index.
pub const INDEX_ITEMS: &str = "store_index_items";
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
/// Query and index Query partition lookups the partition cache answered. This and the
/// three below are read from the cache at every scrape.
pub const PARTITION_CACHE_HITS_TOTAL: &str = "store_partition_cache_hits_total";
/// Partition lookups the partition cache did not hold (a partition read whole then fills it).
pub const PARTITION_CACHE_MISSES_TOTAL: &str = "store_partition_cache_misses_total";
/// Partitions the partition cache holds.
pub const PARTITION_CACHE_PARTITIONS: &str = "store_partition_cache_partitions";
/// Bytes the partition cache holds (keys, values and per-item overhead).
pub const PARTITION_CACHE_BYTES: &str = "store_partition_cache_bytes";

use shared::metric_families::Family;
pub use shared::metric_families::Kind;

/// Every metric family the store exposes: name, kind, unit, and the one line of `# HELP`.
/// Families rendered by the store itself rather than the exporter (`crate::table_metrics`,
/// `crate::owned_metrics`, `crate::contributors`) take their help from here as well
/// ([`help`]).
pub const FAMILIES: &[Family] = &[
    (REQUESTS_TOTAL, Kind::Counter, Unit::Count, "API calls served, by operation."),
    (REQUEST_ERRORS_TOTAL, Kind::Counter, Unit::Count, "API calls answered with an error, by operation and DynamoDB error code."),
    (REQUEST_DURATION_SECONDS, Kind::Histogram, Unit::Seconds, "Time to answer an API call, by operation."),
    (CONSUMED_READ_UNITS_TOTAL, Kind::Counter, Unit::Count, "Read capacity units consumed, by table (its indexes included)."),
    (CONSUMED_WRITE_UNITS_TOTAL, Kind::Counter, Unit::Count, "Write capacity units consumed, by table (its indexes included)."),
    (TABLE_SIZE_BYTES, Kind::Gauge, Unit::Bytes, "Bytes stored in a table's items (DynamoDB item sizes), by table."),
    (TABLE_ITEMS, Kind::Gauge, Unit::Count, "Items in a table, by table."),
    (INDEX_SIZE_BYTES, Kind::Gauge, Unit::Bytes, "Bytes in an index's entries (its IndexSizeBytes: local, global and vector indexes), by table and index."),
    (INDEX_ITEMS, Kind::Gauge, Unit::Count, "Entries in an index (its ItemCount: local, global and vector indexes), by table and index."),
    (THROTTLED_REQUESTS_TOTAL, Kind::Counter, Unit::Count, "Requests refused for their table's or index's capacity, by table."),
    (SHED_REQUESTS_TOTAL, Kind::Counter, Unit::Count, "API calls refused with ThrottlingException because --max-in-flight calls were in progress."),
    (IN_FLIGHT_REQUESTS, Kind::Gauge, Unit::Count, "API calls in progress."),
    (CHANGE_LOG_RECORDS, Kind::Gauge, Unit::Count, "Records the change log retains (for streams, PITR and dax-proxy nodes)."),
    (CHANGE_LOG_OLDEST_AGE_SECONDS, Kind::Gauge, Unit::Seconds, "Age of the change log's oldest record: the retention in effect."),
    (JOURNAL_SYNC_SECONDS, Kind::Histogram, Unit::Seconds, "Time each commit group's durable write took: its journal write and sync (fdatasync), then making it visible."),
    (COMMIT_GROUP_BATCHES, Kind::Histogram, Unit::Count, "Write batches made durable by each journal sync (group commit)."),
    (DISK_BYTES, Kind::Gauge, Unit::Bytes, "Bytes on disk, by part of the engine."),
    (ENGINE_TABLES, Kind::Gauge, Unit::Count, "The engine's tables on disk, by part."),
    (ENGINE_LEVEL0_TABLES, Kind::Gauge, Unit::Count, "The engine's tables in level 0, by part: each is one more seek per range read."),
    (ENGINE_SEALED_MEMTABLES, Kind::Gauge, Unit::Count, "Memtables sealed and waiting for their flush, by part."),
    (ENGINE_ENTRIES, Kind::Gauge, Unit::Count, "Entries in the engine, old versions and deletion markers included, by part."),
    (ENGINE_IDLE_COMPACTIONS_TOTAL, Kind::Counter, Unit::Count, "Compactions of the items keyspace run because writes stopped."),
    (PARTITION_CACHE_HITS_TOTAL, Kind::Counter, Unit::Count, "Query partition reads answered by the partition cache."),
    (PARTITION_CACHE_MISSES_TOTAL, Kind::Counter, Unit::Count, "Query partition reads the partition cache did not hold."),
    (PARTITION_CACHE_PARTITIONS, Kind::Gauge, Unit::Count, "Partitions held by the partition cache."),
    (PARTITION_CACHE_BYTES, Kind::Gauge, Unit::Bytes, "Bytes held by the partition cache."),
    (crate::ttl::DELETED_TOTAL, Kind::Counter, Unit::Count, "Expired items deleted by the TTL sweeper, by table."),
    (crate::ttl::SWEEPS_TOTAL, Kind::Counter, Unit::Count, "Completed TTL sweeps of all tables."),
    (crate::replication::CHANGES_SHIPPED_TOTAL, Kind::Counter, Unit::Count, "Changes sent to another region's replica, by table and region."),
    (crate::replication::CHANGES_APPLIED_TOTAL, Kind::Counter, Unit::Count, "Changes from another region applied to a replica here, by table."),
    (crate::replication::CHANGES_SUPERSEDED_TOTAL, Kind::Counter, Unit::Count, "Changes from another region not applied because a later version was here, by table."),
    (crate::replication::LAG_SECONDS, Kind::Gauge, Unit::Seconds, "Age of the oldest change not yet taken by another region's replica, by table and region."),
    (crate::replication::RETRIES_TOTAL, Kind::Counter, Unit::Count, "Shipments to another region sent again after a failure, by region."),
    (crate::replication::PENDING_CHANGES, Kind::Gauge, Unit::Count, "Changes of a global table's indexes, capacity or TTL made here that another region has not taken yet, by table and region."),
    (crate::replication::RESYNCS_TOTAL, Kind::Counter, Unit::Count, "Replicas copied again because the changes they missed were trimmed, by region."),
    (crate::replication::tombstones::VERSIONS_COLLECTED_TOTAL, Kind::Counter, Unit::Count, "Versions of global tables' items removed (expired tombstones), by table."),
    (crate::kinesis::RECORDS_DELIVERED_TOTAL, Kind::Counter, Unit::Count, "Records a Kinesis streaming destination accepted, by table."),
    (crate::kinesis::RETRIES_TOTAL, Kind::Counter, Unit::Count, "PutRecords calls sent again, by table."),
    (crate::kinesis::LAG_SECONDS, Kind::Gauge, Unit::Seconds, "Age of the oldest change not yet accepted by Kinesis, by table."),
    (crate::kinesis::TRIMMED_TOTAL, Kind::Counter, Unit::Count, "Changes trimmed from the log before Kinesis took them, by table."),
    (crate::kinesis::OVERSIZED_TOTAL, Kind::Counter, Unit::Count, "Changes not sent to Kinesis because their record is over PutRecords' 1 MiB limit, by table."),
    (crate::triggers::BATCHES_TOTAL, Kind::Counter, Unit::Count, "Batches handed to a trigger's target, by trigger and outcome."),
    (crate::triggers::RECORDS_DELIVERED_TOTAL, Kind::Counter, Unit::Count, "Stream records a trigger's target accepted, by trigger."),
    (crate::triggers::DEAD_LETTERED_TOTAL, Kind::Counter, Unit::Count, "Stream records written to a trigger's dead-letter table, by trigger."),
    (crate::triggers::RETRIES_TOTAL, Kind::Counter, Unit::Count, "Deliveries to a trigger's target sent again, by trigger."),
    (crate::triggers::TRIMMED_TOTAL, Kind::Counter, Unit::Count, "Stream records trimmed before a trigger delivered them, by trigger."),
    (crate::triggers::LAG_SECONDS, Kind::Gauge, Unit::Seconds, "Age of the oldest stream record a trigger has not delivered, by trigger."),
    (crate::triggers::DELIVERY_LATENCY_SECONDS, Kind::Histogram, Unit::Seconds, "Time from a change to its delivery by a trigger, by trigger."),
    (crate::contributors::CONSUMED_UNITS, Kind::Gauge, Unit::Count, "Capacity units consumed by the most accessed keys in the last complete period (Contributor Insights PKC, SKC)."),
    (crate::contributors::THROTTLED_REQUESTS, Kind::Gauge, Unit::Count, "Requests refused for capacity, by the most throttled keys, in the last complete period (Contributor Insights PKT, SKT)."),
];

/// The `# HELP` text of family `name` (empty for a name not in [`FAMILIES`], which the
/// unit tests below rule out for the families the store renders itself).
pub fn help(name: &str) -> &'static str {
    FAMILIES
        .iter()
        .find(|(n, ..)| *n == name)
        .map_or("", |(.., help)| help)
}

/// Appends family `name` to a Prometheus text exposition: its `# HELP` and `# TYPE` lines,
/// then `rows` (whole sample lines, each ending in a newline, and no blank line after
/// them); nothing when there are no rows, as the exporter leaves out a family with no
/// series.
pub fn write_family(out: &mut String, name: &str, kind: Kind, rows: &str) {
    if rows.is_empty() {
        return;
    }
    let kind = match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    let help = help(name);
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{rows}");
}

/// A Prometheus label value: backslash, double quote and newline escaped.
pub fn label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The histogram buckets of every `_seconds` family, the exporter's and
/// `crate::owned_metrics`' alike.
pub const SECONDS_BUCKETS: [f64; 15] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5,
];

/// Installs the global recorder and returns the handle that renders `/metrics`.
/// A second call (tests starting several servers in one process) reuses nothing and fails,
/// so the error is returned for the caller to log; metrics then go unrecorded.
pub fn install() -> Result<PrometheusHandle, String> {
    let group_sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    shared::metric_families::install(
        FAMILIES,
        &SECONDS_BUCKETS,
        &[(COMMIT_GROUP_BATCHES, &group_sizes)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_named_once_with_help() {
        for (i, (name, _, _, help)) in FAMILIES.iter().enumerate() {
            assert!(!help.is_empty(), "{name}");
            assert!(
                FAMILIES[..i].iter().all(|(n, ..)| n != name),
                "{name} is described twice"
            );
        }
    }
}
