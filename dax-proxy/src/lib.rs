//! dax-proxy: a DAX-like write-through caching proxy node for the store.
//!
//! # Layout
//! - `config`: flags (each also a `DAX_*` variable) → [`config::Config`].
//! - `server`: the axum app; routes each operation to its path below, health, metrics.
//! - `reads`: GetItem/BatchGetItem from the item cache; `queries`: Query/Scan from the
//!   query cache; `writes`: write-through and forwarding to the primary.
//! - `cache/`: the moka caches and the generation counters that keep them coherent.
//! - `follower`: applies the store's change feed to the caches.
//! - `cluster/`: the primary lease and membership.
//! - `upstream`: the HTTP client to the store and to other nodes; `outage`: logging a
//!   failure that repeats on every retry once, then once a minute.
//! - `schemas`: table key schemas learned from the store.
//! - `keys`, `reply`, `metrics`.
//!
//! Everything not cached (strongly consistent reads, TransactGetItems, the control plane,
//! the Streams API) passes through to the store unchanged.

pub mod cache;
mod canonical;
pub mod cluster;
pub mod config;
pub mod follower;
pub mod keys;
pub mod loadgen;
pub mod metrics;
mod outage;
pub mod queries;
pub mod reads;
pub mod reply;
pub mod schemas;
pub mod server;
pub mod upstream;
pub mod writes;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use shared::wire::op_metrics::OpMetrics;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use shared::wire::error::ApiError;
use shared::wire::front::api_first;
use shared::wire::headers::{carries_cluster_secret, CLIENT_UNVERIFIED, LOG_POSITION};
use shared::wire::Op;

use crate::cache::generations::Generations;
use crate::cache::item::ItemCache;
use crate::cache::query::QueryCache;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::outage::Outage;
use crate::reply::{Answer, CacheStatus, Outcome};
use crate::schemas::Schemas;
use crate::upstream::{Reply, Upstream};

/// One proxy node's state.
pub struct Node {
    pub config: Config,
    pub address: SocketAddr,
    pub upstream: Upstream,
    pub gens: Arc<Generations>,
    pub items: ItemCache,
    /// `None` when the query TTL is 0 (query caching off).
    pub queries: Option<QueryCache>,
    pub schemas: Schemas,
    pub cluster: Cluster,
    pub metrics: Arc<Metrics>,
    /// Until when (ms since the epoch) the caches may answer: the change feed was last
    /// read successfully [`follower::FRESH_FOR_MS`] before it. See [`Node::following`].
    following_until_ms: std::sync::atomic::AtomicU64,
    /// The follower's failures to read the feed, until a read succeeds.
    feed_outage: Outage,
    /// Forwarded writes that could not reach the primary: logged once per outage (and
    /// reminded), not once per write every 100 ms.
    pub primary_outage: Outage,
}

impl Node {
    /// Whether this node follows the store's change feed closely enough for its caches
    /// to answer: a node that cannot read it (a wrong `--cluster-secret`, a cut) would
    /// otherwise serve entries that writes it never hears of made stale, until their TTL,
    /// falling back to DAX's staleness without a word. Until it reads the feed again,
    /// reads go to the store and fill nothing.
    pub fn following(&self) -> bool {
        let until = self
            .following_until_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        shared::clock::now_ms() < until
    }

    /// The follower read a page of the feed just now.
    pub fn feed_read(&self) {
        let until = shared::clock::now_ms().saturating_add(follower::FRESH_FOR_MS);
        self.following_until_ms
            .store(until, std::sync::atomic::Ordering::Relaxed);
        self.feed_outage.succeeded();
    }

    /// The follower's last read of the feed failed, for `why` (logged as an outage is).
    pub fn feed_failed(&self, why: &str) {
        self.feed_outage.failed(why);
    }

    /// Why the node cannot count on following the feed: a read of it has failed since the
    /// last that succeeded (at once: the caches may answer for [`follower::FRESH_FOR_MS`]
    /// after the last page, but a load balancer should not wait that long to prefer nodes
    /// whose store answers), or none has answered for that long. `None` while following,
    /// and while starting, before the first read.
    pub fn not_following_because(&self) -> Option<String> {
        if let Some(why) = self.feed_outage.why() {
            return Some(why);
        }
        let until = self
            .following_until_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        let read_once = until != 0;
        (read_once && !self.following()).then(|| {
            format!(
                "no page of it for {} s",
                Duration::from_millis(follower::FRESH_FOR_MS).as_secs()
            )
        })
    }

    pub fn new(config: Config, address: SocketAddr) -> Result<Node, String> {
        let metrics = Arc::new(Metrics::register());
        let gens = Arc::new(Generations::new());
        let items = ItemCache::new(
            config.item_cache_bytes,
            config.record_ttl,
            gens.clone(),
            metrics.clone(),
        );
        let queries = config.query_ttl.map(|ttl| {
            QueryCache::new(
                config.query_cache_bytes,
                ttl,
                config.coherence,
                gens.clone(),
                metrics.clone(),
            )
        });
        Ok(Node {
            address,
            upstream: Upstream::new(&config.cluster_secret, config.keys.is_some())?,
            gens,
            items,
            queries,
            schemas: Schemas::new(),
            cluster: Cluster::new(),
            metrics,
            following_until_ms: Default::default(),
            primary_outage: Outage::new(
                "primary unreachable; forwarded writes wait for a new one",
                "forwarding writes to the primary again",
            ),
            feed_outage: Outage::new(
                "cannot read the store's change feed",
                "reading the store's change feed again",
            ),
            config,
        })
    }

    /// Sends a call to the store; a transport failure becomes a retryable DynamoDB error.
    pub async fn store_call(
        &self,
        op: Op,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Reply, ApiError> {
        self.call_store(op, headers, &[], body).await
    }

    /// A write this node sends to the store as the primary (or for one), under its lease
    /// ([`crate::cluster::Cluster::lease_fence`]).
    pub async fn store_write_call(
        &self,
        op: Op,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Reply, ApiError> {
        let fence =
            HeaderValue::try_from(self.cluster.lease_fence()).map_err(|_| ApiError::internal())?;
        let fenced = [(shared::wire::headers::LEASE_FENCE, fence)];
        self.call_store(op, headers, &fenced, body).await
    }

    /// An item read whose answer this node caches: also asks the store for its change-log
    /// position before the read (0 from a store that does not say), which the cached entry
    /// keeps (`ItemCache::fill`).
    pub async fn store_item_read(
        &self,
        op: Op,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<(Reply, u64), ApiError> {
        let ask = [(LOG_POSITION, HeaderValue::from_static("1"))];
        let reply = self.call_store(op, headers, &ask, body).await?;
        let position = reply
            .headers
            .get(LOG_POSITION)
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .unwrap_or(0);
        Ok((reply, position))
    }

    /// [`Node::store_call`] with `extra` headers.
    async fn call_store(
        &self,
        op: Op,
        headers: &HeaderMap,
        extra: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Reply, ApiError> {
        let target = op.target();
        self.upstream
            .call(&self.config.store, op, &target, headers, extra, body)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "store call failed");
                e.to_api_error()
            })
    }

    /// Forwards a call the cache does not serve, unchanged.
    pub async fn pass_through(&self, op: Op, headers: &HeaderMap, body: Bytes) -> Outcome {
        match self.store_call(op, headers, body).await {
            Ok(reply) => Outcome::new(Answer::Upstream(reply), CacheStatus::Bypass),
            Err(e) => Outcome::new(Answer::Error(e), CacheStatus::Bypass),
        }
    }

    /// Whether a request is a write forwarded by another node of this cluster.
    /// One from a node that checks no signatures (`CLIENT_UNVERIFIED`) is not trusted by a
    /// node that does.
    pub fn is_forwarded(&self, headers: &HeaderMap) -> bool {
        headers.contains_key(cluster::FORWARDED_HEADER)
            && carries_cluster_secret(headers, &self.config.cluster_secret)
            && (self.config.keys.is_none() || !headers.contains_key(CLIENT_UNVERIFIED))
    }

    /// Marks every cached page of a table (Scans, index Queries) as changed.
    pub fn bump_table(&self, table: &str) {
        self.gens.bump(keys::table_slot(table));
    }

    /// Drops every cached item and page, and stops in-flight misses from filling either
    /// with what they fetched before: for a change whose keys are unknown.
    pub fn clear_caches(&self) {
        self.gens.bump_all();
        self.items.clear();
        if let Some(queries) = &self.queries {
            queries.clear();
        }
    }

    /// The table was deleted: nothing cached under its name, nor its key schema, may
    /// answer again; other tables keep their entries. Its entries are found by walking both
    /// caches (drops are rare, and the hit path pays nothing for them), and the table's
    /// definition slot, bumped first, refuses the fills of misses in flight.
    pub fn forget_table(&self, table: &str) {
        self.schemas.forget(table);
        self.items.forget_table(table);
        self.forget_pages(table);
    }

    /// What the table's indexes answer changed (an index was added, deleted, or finished
    /// its backfill): none of its cached Query or Scan pages may answer again, in either
    /// coherence mode, since no write the feed reports would ever retire an index page
    /// filled from the old index. All the table's pages go, not only its index pages: the
    /// walk finds them by the definition slot every page depends on, so the hit path pays
    /// nothing for this, and index changes are rare. Items and the key schema stay.
    pub fn forget_pages(&self, table: &str) {
        let definition_slot = keys::table_definition_slot(table.as_bytes());
        self.gens.bump(definition_slot);
        if let Some(queries) = &self.queries {
            queries.forget_table(definition_slot);
        }
    }

    /// Publishes cache sizes as gauges.
    pub fn refresh_gauges(&self) {
        self.metrics
            .following_feed
            .set(if self.following() { 1.0 } else { 0.0 });
        self.items.run_pending_tasks();
        self.metrics
            .item_entries
            .set(self.items.entry_count() as f64);
        self.metrics
            .item_bytes
            .set(self.items.weighted_size() as f64);
        if let Some(queries) = &self.queries {
            queries.run_pending_tasks();
            self.metrics.query_entries.set(queries.entry_count() as f64);
            self.metrics.query_bytes.set(queries.weighted_size() as f64);
        }
    }
}

/// Binds, prints `dax-proxy listening on ADDR`, starts the follower, the cluster loop and
/// the gauge refresher, and serves until SIGINT/SIGTERM; then finishes the requests under
/// way and leaves the cluster (see `cluster::leave`).
pub async fn serve(config: Config) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let prometheus = match metrics::install() {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!(error = %e, "metrics disabled");
            None
        }
    };
    let node = Arc::new(Node::new(config, address)?);
    tokio::spawn(follower::run(node.clone()));
    if let Some(keys) = node.config.keys.clone() {
        tokio::spawn(keys.watch());
    }
    // Dropping `stop_cluster` ends the cluster loop.
    let (stop_cluster, cluster_stopped) = tokio::sync::watch::channel(());
    let cluster_loop = tokio::spawn(cluster::run(node.clone(), cluster_stopped));
    let gauges = node.clone();
    tokio::spawn(async move {
        loop {
            gauges.refresh_gauges();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let server = Arc::new(server::Server {
        node: node.clone(),
        prometheus,
        request_ids: Default::default(),
        op_metrics: OpMetrics::register(metrics::REQUESTS_TOTAL, metrics::REQUEST_DURATION_SECONDS),
        admission: shared::wire::admission::Admission::new(node.config.max_in_flight),
    });
    // At zero from the start, so a throttling alert has a series to watch.
    ::metrics::counter!(metrics::THROTTLED_REQUESTS_TOTAL).absolute(0);
    // Every DynamoDB call straight to the API handler, the rest through the router.
    let service = api_first(server::router(server.clone()), move |request| {
        server::api_call(State(server.clone()), request)
    });
    println!("dax-proxy listening on {address}");
    let _ = std::io::stdout().flush();
    tracing::info!(%address, "serving");
    let timeouts = node.config.connection_timeouts;
    let body = axum::body::Body::new;
    let per_connection = |_| service.clone();
    shared::wire::serve::serve(
        listener,
        timeouts,
        body,
        per_connection,
        shared::runtime::stop_gracefully(),
    )
    .await;
    // Every request is answered. Stop renewing (after the renewal under way, so none
    // follows the leave), then hand the lease back.
    drop(stop_cluster);
    if let Err(e) = cluster_loop.await {
        tracing::warn!(error = %e, "the cluster loop ended abnormally");
    }
    cluster::leave(&node).await;
    Ok(())
}
