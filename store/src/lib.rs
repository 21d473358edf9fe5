//! The store daemon: a DynamoDB-compatible server on an embedded, durable engine.
//!
//! # Layout
//! - `config`: command-line flags and environment variables → validated [`config::Config`].
//! - `server`: the axum app: `POST /` dispatch on `X-Amz-Target`, health, metrics,
//!   the internal change feed; errors rendered once, in `error`.
//! - `catalog`: tables and their descriptions, persisted through storage meta records.
//! - `api`: one module per operation, typed input → typed output, no axum types.
//! - `storage`: items, change log and durability on fjall.
//! - `streams`: DynamoDB Streams as a view of the change log (registry, shards, iterators,
//!   records, retention); `ttl`: TTL settings and the expiry sweeper; `triggers`:
//!   webhooks fed from streams (management API, dispatcher, dead letters).
//! - `replication`: global tables (replicas in other regions' stores), `kinesis`:
//!   Kinesis streaming destinations, `transfer`: export and import, `policy`:
//!   resource-based policies.
//! - `index_tasks`: GSI backfill and removal, following the catalog; `throttle`:
//!   provisioned-throughput token buckets and per-table capacity metering;
//!   `idle_compaction`: compacting the items keyspace once writes stop.
//! - `metrics`: metric names and their help text; `table_metrics`: the per-table
//!   families, rendered from live tables at each scrape; `owned_metrics`: the series of
//!   TTL, replication, Kinesis and triggers, rendered while their table, destination or
//!   trigger lives.
//!
//! # What the code adds to DESIGN.md
//! The team's design names the processes, the key layout and the change log. These are the
//! decisions made since, each explained where it lives:
//! - **What a change record carries** depends on who reads its table's log
//!   (`storage::LogDetail`): both images for point-in-time recovery or a
//!   NEW_AND_OLD_IMAGES stream, one image for a NEW_IMAGE or OLD_IMAGE stream, keys only
//!   for a KEYS_ONLY stream or a table only dax-proxy nodes follow (they then drop a cached
//!   item instead of replacing it). Only tables with a stream or PITR get the per-table
//!   index of the log. DeleteTable writes a table-drop record so nodes forget the name.
//! - **Log retention** (`streams`, "Retention"): the longest of `--feed-retention` (1 h),
//!   the streams' 24 h while any stream exists, and the longest PITR window. Below the
//!   trimmed floor the feed tells a follower to start over (`Storage::changes_after`), and
//!   the node empties its caches (dax-proxy `follower`).
//! - **Disk space** (`disk_reserve`): `/health` answers 503 while the data directory's
//!   filesystem has less free space than `--min-free-disk-mb`, so a store restarted on a
//!   still-full disk is not taken for a healthy one.
//! - **Group commit** (`storage::group_commit`): one commit thread applies each queued
//!   group as one engine batch whose journal entry is synced before it becomes visible,
//!   then answers the group: a read never sees a write a crash could lose.
//! - **The cluster's lease** (`internal`): a durable record the primary renews; a node
//!   stopped with SIGTERM hands it back (`/internal/leave`) so a replica takes over at
//!   once. Membership is soft state in memory.
//! - **Failure injection** (`storage::fault`, tests only): a failed journal sync makes the
//!   store refuse writes and fail `/health` until restarted, as fjall poisons itself.
//! - **Engine upkeep**: idle compaction (above), and `store_engine_*` gauges of each
//!   keyspace's tree shape, which explain a slow range read after heavy overwrites.
//! - **Streams' lifetime**: a disabled stream stays readable for its retention, then is
//!   forgotten (`streams::maintain`).
//! - **Throttling** (`throttle`): provisioned capacity with 300 s of burst, on-demand
//!   maximums with one second, both naming their limit in `ThrottlingReasons`; a
//!   transaction short of capacity is cancelled. A GSI's bucket is asked under the item's
//!   lock, once the write knows it reaches the GSI (`api::item_write::decide_within_capacity`).
//!   Separately, `--max-in-flight` sheds API calls past a count in progress
//!   (`shared::wire::admission`, as dax-proxy nodes do).
//! - **Export and import** (`transfer`): a directory (`--s3-dir`) stands in for S3; jobs
//!   run in the background from durable records, up to four at a time.
//! - **Contributor Insights** (`contributors`): the API's settings live in the catalog; the
//!   hottest and most throttled keys are Space-Saving counters per table and GSI, shown
//!   on `/metrics` for the last complete period instead of as CloudWatch rules.
//! - **Global tables** (`replication`): a store is one region; replicas in other regions'
//!   stores converge by last writer wins on item versions kept beside the items
//!   (`storage::versions`), each store shipping its own changes from its log.

pub mod api;
pub mod app;
pub mod arn;
pub mod backup;
pub mod capacity;
pub mod catalog;
pub mod change_quotas;
pub mod config;
pub mod contributors;
pub mod disk_reserve;
pub mod engine_usage;
pub mod error;
pub mod feed;
pub mod idle_compaction;
pub mod index_tasks;
pub mod internal;
pub mod kinesis;
pub mod log_cursor;
pub mod metrics;
pub mod own_endpoint;
pub mod owned_metrics;
pub mod policy;
pub mod replication;
pub mod server;
pub mod storage;
pub mod streams;
pub mod table_metrics;
pub mod throttle;
pub mod transfer;
pub mod triggers;
pub mod ttl;
pub mod vector;
pub mod workers;

use std::io::Write;
use std::sync::Arc;

use axum::extract::State;
use shared::wire::front::api_first;
use shared::wire::op_metrics::OpMetrics;

use crate::app::App;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::storage::Storage;

/// Opens storage and the catalog, binds the listener, prints `store listening on ADDR` on
/// stdout (tests and scripts read it to learn the port), and serves until SIGINT/SIGTERM.
pub async fn serve(mut config: Config) -> Result<(), String> {
    let storage = Storage::open(&config.data_dir, config.storage.clone())
        .map_err(|e| format!("cannot open {}: {e}", config.data_dir.display()))?;
    // Tests reach DynamoDB's 10 GB item collection limit with a smaller one.
    if let Some(limit) = std::env::var("STORE_ITEM_COLLECTION_LIMIT_BYTES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        storage.set_collection_limit(limit);
    }
    // Tests act while a GSI backfill is under way, however fast the machine runs it.
    if let Some(ms) = std::env::var("STORE_BACKFILL_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        storage.set_backfill_pause(std::time::Duration::from_millis(ms));
    }
    let catalog =
        Catalog::load(&storage, &config).map_err(|e| format!("cannot load the catalog: {e}"))?;
    let cluster = internal::ClusterState::load(&storage)
        .map_err(|e| format!("cannot load the cluster lease: {e}"))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let listen = listener.local_addr().map_err(|e| e.to_string())?;
    config.listen = listen;
    config.endpoint = config.endpoint.bound_to(listen);
    let metrics = match metrics::install() {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!(error = %e, "metrics disabled");
            None
        }
    };
    let app = Arc::new(App::new(config, storage, catalog));
    backup::resume_interrupted_restores(&app).await;
    tokio::spawn(streams::run_maintenance(Arc::clone(&app)));
    tokio::spawn(ttl::run_sweeper(Arc::clone(&app)));
    tokio::spawn(index_tasks::run(Arc::clone(&app)));
    tokio::spawn(throttle::run_stats(Arc::clone(&app)));
    tokio::spawn(triggers::dispatch::run_supervisor(Arc::clone(&app)));
    tokio::spawn(idle_compaction::run(Arc::clone(&app)));
    tokio::spawn(contributors::run_sync(Arc::clone(&app)));
    tokio::spawn(transfer::run_jobs(Arc::clone(&app)));
    tokio::spawn(kinesis::deliver::run_supervisor(Arc::clone(&app)));
    tokio::spawn(replication::ship::run_supervisor(Arc::clone(&app)));
    tokio::spawn(replication::outbox::run(Arc::clone(&app)));
    tokio::spawn(replication::tombstones::run_collector(Arc::clone(&app)));
    tokio::spawn(replication::tell::resume(Arc::clone(&app)));
    tokio::spawn(replication::control::resume_leaving(Arc::clone(&app)));
    tokio::spawn(api::idempotency::run_expiry(Arc::clone(&app)));
    if let Some(keys) = app.config.keys.clone() {
        tokio::spawn(keys.watch());
    }
    let stopping = app.stopping.clone();
    let admission = shared::wire::admission::Admission::new(app.config.max_in_flight);
    let log_id = feed::new_log_id();
    let disk_reserve =
        disk_reserve::DiskReserve::new(app.config.data_dir.clone(), app.config.min_free_disk_bytes);
    // Looked at once now, so a store started on a full disk says so in its log at once.
    if let Some(reserve) = &disk_reserve {
        reserve.shortage();
    }
    let server = Arc::new(server::Server {
        app,
        disk_reserve,
        log_id,
        metrics,
        request_ids: Default::default(),
        op_metrics: OpMetrics::register(metrics::REQUESTS_TOTAL, metrics::REQUEST_DURATION_SECONDS),
        listen,
        cluster,
        admission,
        engine_usage: Default::default(),
    });
    // At zero from the start, so an overload alert has a series to watch.
    ::metrics::counter!(metrics::SHED_REQUESTS_TOTAL).absolute(0);
    // Every DynamoDB call straight to the API handler, the rest through the router. Each
    // connection's service knows its peer's address, which policies may name
    // (`aws:SourceIp`), without a per-request extension to allocate.
    let router = server::router(server.clone());
    let timeouts = server.app.config.connection_timeouts;
    let per_connection = move |peer: std::net::SocketAddr| {
        let peer = peer.ip();
        let server = server.clone();
        api_first(router.clone(), move |request| {
            server::api_call(State(server.clone()), request, peer)
        })
    };
    println!("store listening on {listen}");
    let _ = std::io::stdout().flush();
    tracing::info!(%listen, "serving");
    let body = axum::body::Body::new;
    shared::wire::serve::serve(listener, timeouts, body, per_connection, async move {
        shared::runtime::stop_gracefully().await;
        stopping.send_replace(true);
    })
    .await;
    Ok(())
}
