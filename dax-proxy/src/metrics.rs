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

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUESTS_TOTAL: &str = "dax_requests_total";
pub const REQUEST_ERRORS_TOTAL: &str = "dax_request_errors_total";
/// Calls refused because the node had `--max-in-flight` in progress (DAX's
/// ThrottledRequestCount).
pub const THROTTLED_REQUESTS_TOTAL: &str = "dax_throttled_requests_total";
/// API calls in progress when metrics were scraped.
pub const IN_FLIGHT_REQUESTS: &str = "dax_in_flight_requests";
pub const REQUEST_DURATION_SECONDS: &str = "dax_request_duration_seconds";
pub const STORE_REQUEST_DURATION_SECONDS: &str = "dax_store_request_duration_seconds";

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
            item_hits: counter!("dax_item_cache_hits_total"),
            item_misses: counter!("dax_item_cache_misses_total"),
            query_hits: counter!("dax_query_cache_hits_total"),
            query_misses: counter!("dax_query_cache_misses_total"),
            scan_hits: counter!("dax_scan_cache_hits_total"),
            scan_misses: counter!("dax_scan_cache_misses_total"),
            item_evicted_expired: counter!("dax_item_cache_evictions_total", "cause" => "expired"),
            item_evicted_size: counter!("dax_item_cache_evictions_total", "cause" => "size"),
            query_evicted_expired: counter!("dax_query_cache_evictions_total", "cause" => "expired"),
            query_evicted_size: counter!("dax_query_cache_evictions_total", "cause" => "size"),
            item_entries: gauge!("dax_item_cache_entries"),
            item_bytes: gauge!("dax_item_cache_bytes"),
            query_entries: gauge!("dax_query_cache_entries"),
            query_bytes: gauge!("dax_query_cache_bytes"),
            forwarded_writes: counter!("dax_forwarded_writes_total"),
            primary: gauge!("dax_primary"),
            primary_changes: counter!("dax_primary_changes_total"),
            follower_records: counter!("dax_follower_records_total"),
            follower_errors: counter!("dax_follower_errors_total"),
            follower_delay: histogram!("dax_follower_delay_seconds"),
            following_feed: gauge!("dax_following_feed"),
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
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())
}
