//! Cluster roles: one primary and any number of read replicas, decided by a lease kept in
//! the store.
//!
//! Every node runs [`run`]: every third of the lease TTL it asks the store for the lease
//! (granted when free, expired or already its own) and sends a membership heartbeat. The
//! holder is the primary and writes through to the store; the others forward writes to the
//! holder's address. When the primary dies its lease lapses within one TTL and the next
//! replica to ask takes it, so writes go on within seconds. A primary that cannot renew for
//! a whole TTL steps down, since another node may hold the lease by then. A node shut down
//! (SIGTERM, Ctrl-C) finishes its requests, then [`leave`]s: its lease ends at once, and
//! writes pause for about 100 ms instead of a TTL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::Deserialize;
use tokio::sync::watch;

use crate::outage::Outage;
use crate::Node;

/// Marks a write forwarded by a replica, which the receiver executes itself.
pub const FORWARDED_HEADER: &str = "x-dax-forwarded";

/// What this node knows of the cluster.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub primary: bool,
    pub primary_address: Option<String>,
    pub epoch: u64,
    /// Addresses of the live nodes, primary first.
    pub members: Vec<String>,
}

pub struct Cluster {
    pub node_id: String,
    view: RwLock<View>,
}

#[derive(Deserialize)]
struct LeaseState {
    holder: String,
    address: String,
    epoch: u64,
}

#[derive(Deserialize)]
struct Member {
    address: String,
}

impl Cluster {
    pub fn new() -> Self {
        Cluster {
            node_id: uuid::Uuid::new_v4().to_string(),
            view: RwLock::new(View::default()),
        }
    }

    pub fn view(&self) -> View {
        self.view.read().clone()
    }

    pub fn is_primary(&self) -> bool {
        self.view.read().primary
    }

    /// The [`shared::wire::headers::LEASE_FENCE`] of this node's writes: its id and the
    /// epoch of the lease it last saw. The store refuses them unless that lease is live
    /// and this node's, so a write this node took as primary and sends after losing the
    /// lease is never applied.
    pub fn lease_fence(&self) -> String {
        format!("{} {}", self.node_id, self.view.read().epoch)
    }
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

/// Keeps the lease and membership current until `stop` changes (or its sender is gone),
/// finishing the renewal under way first so none reaches the store after [`leave`].
pub async fn run(node: Arc<Node>, mut stop: watch::Receiver<()>) {
    let interval = (node.config.lease_ttl / 3).max(Duration::from_millis(100));
    let mut last_renewal = Instant::now();
    // Logged when renewals start failing and then once a minute, not three times a TTL.
    let outage = Outage::new(
        "cannot reach the store for the cluster lease",
        "renewing the cluster lease again",
    );
    loop {
        match renew(&node).await {
            Ok(()) => {
                last_renewal = Instant::now();
                outage.succeeded();
            }
            Err(e) => {
                outage.failed(&e);
                if last_renewal.elapsed() >= node.config.lease_ttl {
                    step_down(&node);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Tells the store this node is going away: it leaves the members list and, if it holds
/// the lease, the lease ends now, so a replica takes over at its next request (a write
/// waiting at a replica retries every 100 ms) rather than when the lease would have
/// lapsed. Bounded: a store that does not answer in time is left to expire the lease.
pub async fn leave(node: &Node) {
    let url = format!("{}/internal/leave", node.config.store);
    let body = serde_json::json!({ "node_id": node.cluster.node_id });
    match tokio::time::timeout(LEAVE_TIMEOUT, node.upstream.post_internal(&url, &body)).await {
        Ok(Ok(_)) => tracing::info!("left the cluster"),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot tell the store this node leaves"),
        Err(_) => tracing::warn!("the store did not answer this node's leave in time"),
    }
}

/// How long a shutting-down node waits for the store to take note that it leaves.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks for the lease once and refreshes the view; used by the loop and by a replica that
/// found the primary unreachable.
pub async fn renew(node: &Node) -> Result<(), String> {
    let address = node.address.to_string();
    let lease_url = format!("{}/internal/lease", node.config.store);
    let body = serde_json::json!({
        "holder": node.cluster.node_id,
        "address": address,
        "ttl_ms": node.config.lease_ttl.as_millis() as u64,
    });
    let reply = node
        .upstream
        .post_internal(&lease_url, &body)
        .await
        .map_err(|e| e.to_string())?;
    let lease: LeaseState = serde_json::from_slice(&reply).map_err(|e| e.to_string())?;
    let members_url = format!("{}/internal/members", node.config.store);
    let beat = serde_json::json!({ "node_id": node.cluster.node_id, "address": address });
    let reply = node
        .upstream
        .post_internal(&members_url, &beat)
        .await
        .map_err(|e| e.to_string())?;
    let members: Vec<Member> = serde_json::from_slice(&reply).map_err(|e| e.to_string())?;

    let primary = lease.holder == node.cluster.node_id;
    let mut view = node.cluster.view.write();
    if view.primary != primary || view.epoch != lease.epoch {
        tracing::info!(primary, holder = %lease.address, epoch = lease.epoch, "cluster role");
    }
    // What the counter's help says: this node's own role changed (not another node's
    // lease, nor this node's first view as a replica).
    if view.primary != primary {
        node.metrics.primary_changes.increment(1);
    }
    view.primary = primary;
    view.primary_address = Some(lease.address).filter(|a| !a.is_empty());
    view.epoch = lease.epoch;
    view.members = members.into_iter().map(|m| m.address).collect();
    node.metrics.primary.set(if primary { 1.0 } else { 0.0 });
    Ok(())
}

fn step_down(node: &Node) {
    let mut view = node.cluster.view.write();
    if view.primary {
        tracing::warn!("lease not renewed for a whole TTL: stepping down");
        view.primary = false;
        node.metrics.primary.set(0.0);
        node.metrics.primary_changes.increment(1);
    }
}
