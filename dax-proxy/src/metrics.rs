//! Prometheus metrics of a proxy node, mirroring DAX's CloudWatch set (namespace AWS/DAX).
//!
//! | DAX metric | Prometheus name |
//! |---|---|
//! | ItemCacheHits / ItemCacheMisses | `dax_item_cache_hits_total` / `dax_item_cache_misses_total` |
//! | QueryCacheHits / QueryCacheMisses | `dax_query_cache_hits_total` / `dax_query_cache_misses_total` |
//! | ScanCacheHits / ScanCacheMisses | `dax_scan_cache_hits_total` / `dax_scan_cache_misses_total` |
//! | EvictedSize (as counts, by cause) | `dax_item_cache_evictions_total{cause}`, `dax_query_cache_evictions_total{cause}` |
//! | EstimatedDbSize | `dax_item_cache_bytes`, `dax_query_cache_bytes` (+ `_entries`) |
//! | TotalRequestCount, <Op>RequestCount | `dax_requests_total{op}` |
//! | ErrorRequestCount / FaultRequestCount | `dax_request_errors_total{op,kind="user"\|"fault"}` |
//! | ThrottledRequestCount | `dax_throttled_requests_total` |
//! | (load) | `dax_in_flight_requests` (API calls in progress at the scrape) |
//! | (latency) | `dax_request_duration_seconds{op}` |
//! | (forwarded writes) | `dax_forwarded_writes_total` |
//! | (store round trip) | `dax_store_request_duration_seconds{op}` |
//! | (role) | `dax_primary` (1 on the primary), `dax_primary_changes_total` |
//! | (coherence) | `dax_follower_records_total`, `dax_follower_errors_total`, `dax_follower_delay_seconds` (a change's commit in the store to its application on this node), `dax_following_feed` (1 while the node follows the change feed closely enough for its caches to answer; 0: reads go to the store) |
//!
//! The cache counters are registered once and kept as handles, so the hit path does no
//! registry lookup.

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram, Unit};
use metrics_exporter_prometheus::PrometheusHandle;

pub const REQUESTS_TOTAL: &str = "dax_requests_total";
pub const REQUEST_ERRORS_TOTAL: &str = "dax_request_errors_total";
/// Calls refused because the node had `--max-in-flight` in progress (DAX's
/// ThrottledRequestCount).
pub const THROTTLED_REQUESTS_TOTAL: &str = "dax_throttled_requests_total";
/// API calls in progress when metrics were scraped.
pub const IN_FLIGHT_REQUESTS: &str = "dax_in_flight_requests";
pub const REQUEST_DURATION_SECONDS: &str = "dax_request_duration_seconds";
pub const STORE_REQUEST_DURATION_SECONDS: &str = "dax_store_request_duration_seconds";
const ITEM_CACHE_HITS_TOTAL: &str = "dax_item_cache_hits_total";
const ITEM_CACHE_MISSES_TOTAL: &str = "dax_item_cache_misses_total";
const QUERY_CACHE_HITS_TOTAL: &str = "dax_query_cache_hits_total";
const QUERY_CACHE_MISSES_TOTAL: &str = "dax_query_cache_misses_total";
const SCAN_CACHE_HITS_TOTAL: &str = "dax_scan_cache_hits_total";
const SCAN_CACHE_MISSES_TOTAL: &str = "dax_scan_cache_misses_total";
const ITEM_CACHE_EVICTIONS_TOTAL: &str = "dax_item_cache_evictions_total";
const QUERY_CACHE_EVICTIONS_TOTAL: &str = "dax_query_cache_evictions_total";
const ITEM_CACHE_ENTRIES: &str = "dax_item_cache_entries";
const ITEM_CACHE_BYTES: &str = "dax_item_cache_bytes";
const QUERY_CACHE_ENTRIES: &str = "dax_query_cache_entries";
const QUERY_CACHE_BYTES: &str = "dax_query_cache_bytes";
const FORWARDED_WRITES_TOTAL: &str = "dax_forwarded_writes_total";
const PRIMARY: &str = "dax_primary";
const PRIMARY_CHANGES_TOTAL: &str = "dax_primary_changes_total";
const FOLLOWER_RECORDS_TOTAL: &str = "dax_follower_records_total";
const FOLLOWER_ERRORS_TOTAL: &str = "dax_follower_errors_total";
const FOLLOWER_DELAY_SECONDS: &str = "dax_follower_delay_seconds";
const FOLLOWING_FEED: &str = "dax_following_feed";

use shared::metric_families::{Family, Kind};

/// Every metric family a node exposes: name, kind, unit, and the one line of `# HELP`.
const FAMILIES: &[Family] = &[
    (REQUESTS_TOTAL, Kind::Counter, Unit::Count, "API calls served, by operation."),
    (REQUEST_ERRORS_TOTAL, Kind::Counter, Unit::Count, "API calls answered with an error, by operation and kind (user: 4xx, fault: 5xx)."),
    (THROTTLED_REQUESTS_TOTAL, Kind::Counter, Unit::Count, "API calls refused with ThrottlingException because --max-in-flight calls were in progress."),
    (IN_FLIGHT_REQUESTS, Kind::Gauge, Unit::Count, "API calls in progress."),
    (REQUEST_DURATION_SECONDS, Kind::Histogram, Unit::Seconds, "Time to answer an API call, by operation."),
    (STORE_REQUEST_DURATION_SECONDS, Kind::Histogram, Unit::Seconds, "Time of a call to the store, by operation."),
    (ITEM_CACHE_HITS_TOTAL, Kind::Counter, Unit::Count, "Item reads answered from the item cache."),
    (ITEM_CACHE_MISSES_TOTAL, Kind::Counter, Unit::Count, "Item reads the item cache could not answer (read from the store)."),
    (QUERY_CACHE_HITS_TOTAL, Kind::Counter, Unit::Count, "Queries answered from the query cache."),
    (QUERY_CACHE_MISSES_TOTAL, Kind::Counter, Unit::Count, "Queries the query cache could not answer (sent to the store)."),
    (SCAN_CACHE_HITS_TOTAL, Kind::Counter, Unit::Count, "Scans answered from the query cache."),
    (SCAN_CACHE_MISSES_TOTAL, Kind::Counter, Unit::Count, "Scans the query cache could not answer (sent to the store)."),
    (ITEM_CACHE_EVICTIONS_TOTAL, Kind::Counter, Unit::Count, "Item cache entries evicted, by cause (expired, size)."),
    (QUERY_CACHE_EVICTIONS_TOTAL, Kind::Counter, Unit::Count, "Query cache entries evicted, by cause (expired, size)."),
    (ITEM_CACHE_ENTRIES, Kind::Gauge, Unit::Count, "Entries in the item cache."),
    (ITEM_CACHE_BYTES, Kind::Gauge, Unit::Bytes, "Bytes the item cache's entries weigh."),
    (QUERY_CACHE_ENTRIES, Kind::Gauge, Unit::Count, "Entries in the query cache."),
    (QUERY_CACHE_BYTES, Kind::Gauge, Unit::Bytes, "Bytes the query cache's entries weigh."),
    (FORWARDED_WRITES_TOTAL, Kind::Counter, Unit::Count, "Writes this node forwarded to the cluster's primary."),
    (PRIMARY, Kind::Gauge, Unit::Count, "1 while this node is the cluster's primary, else 0."),
    (PRIMARY_CHANGES_TOTAL, Kind::Counter, Unit::Count, "Times this node became or stopped being the primary."),
    (FOLLOWER_RECORDS_TOTAL, Kind::Counter, Unit::Count, "Change feed records applied to the caches."),
    (FOLLOWER_ERRORS_TOTAL, Kind::Counter, Unit::Count, "Failed reads of the store's change feed."),
    (FOLLOWER_DELAY_SECONDS, Kind::Histogram, Unit::Seconds, "Time from a change's commit in the store to its application on this node."),
    (FOLLOWING_FEED, Kind::Gauge, Unit::Count, "1 while the node follows the change feed closely enough for its caches to answer; 0: reads go to the store."),
];

/// Handles of the metrics the node updates on hot paths.
pub struct Metrics {
    pub item_hits: Counter,
    pub item_misses: Counter,
    pub query_hits: Counter,
    pub query_misses: Counter,
    pub scan_hits: Counter,
    pub scan_misses: Counter,
    pub item_evicted_expired: Counter,
    pub item_evicted_size: Counter,
    pub query_evicted_expired: Counter,
    pub query_evicted_size: Counter,
    pub item_entries: Gauge,
    pub item_bytes: Gauge,
    pub query_entries: Gauge,
    pub query_bytes: Gauge,
    pub forwarded_writes: Counter,
    pub primary: Gauge,
    pub primary_changes: Counter,
    pub follower_records: Counter,
    pub follower_errors: Counter,
    pub follower_delay: Histogram,
    pub following_feed: Gauge,
}

impl Metrics {
    pub fn register() -> Self {
        Metrics {
            item_hits: counter!(ITEM_CACHE_HITS_TOTAL),
            item_misses: counter!(ITEM_CACHE_MISSES_TOTAL),
            query_hits: counter!(QUERY_CACHE_HITS_TOTAL),
            query_misses: counter!(QUERY_CACHE_MISSES_TOTAL),
            scan_hits: counter!(SCAN_CACHE_HITS_TOTAL),
            scan_misses: counter!(SCAN_CACHE_MISSES_TOTAL),
            item_evicted_expired: counter!(ITEM_CACHE_EVICTIONS_TOTAL, "cause" => "expired"),
            item_evicted_size: counter!(ITEM_CACHE_EVICTIONS_TOTAL, "cause" => "size"),
            query_evicted_expired: counter!(QUERY_CACHE_EVICTIONS_TOTAL, "cause" => "expired"),
            query_evicted_size: counter!(QUERY_CACHE_EVICTIONS_TOTAL, "cause" => "size"),
            item_entries: gauge!(ITEM_CACHE_ENTRIES),
            item_bytes: gauge!(ITEM_CACHE_BYTES),
            query_entries: gauge!(QUERY_CACHE_ENTRIES),
            query_bytes: gauge!(QUERY_CACHE_BYTES),
            forwarded_writes: counter!(FORWARDED_WRITES_TOTAL),
            primary: gauge!(PRIMARY),
            primary_changes: counter!(PRIMARY_CHANGES_TOTAL),
            follower_records: counter!(FOLLOWER_RECORDS_TOTAL),
            follower_errors: counter!(FOLLOWER_ERRORS_TOTAL),
            follower_delay: histogram!(FOLLOWER_DELAY_SECONDS),
            following_feed: gauge!(FOLLOWING_FEED),
        }
    }
}

/// Installs the global recorder; `Err` if one is already installed (metrics then go
/// unrecorded, which the caller logs).
pub fn install() -> Result<PrometheusHandle, String> {
    let buckets = [
        0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
        0.1, 0.25, 0.5, 1.0, 2.5,
    ];
    shared::metric_families::install(FAMILIES, &buckets, &[])
}
