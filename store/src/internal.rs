//! Internal endpoints for dax-proxy nodes: authentication, the primary lease and the
//! cluster's membership list.
//!
//! The lease is a conditional write on one record in the store's catalog keyspace: a node
//! gets it when it is free, expired or already its own, and every change of holder
//! increments the epoch so that a node can tell it lost and regained the role. The record
//! is durable before the answer, so a restarted store still knows the holder and its epoch
//! (the primary stays primary, with no change of role). The membership list is soft state
//! in the store's memory, which nodes renew every few hundred milliseconds.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use shared::wire::headers::carries_cluster_secret;

use crate::app::App;
use crate::error;
use crate::storage::{Storage, StorageError};

/// A member that has not been heard from for this long is dropped from the list.
const MEMBER_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the request carries the cluster secret (internal endpoints are on).
pub fn is_cluster_member(app: &App, headers: &HeaderMap) -> bool {
    app.config
        .cluster_secret
        .as_deref()
        .is_some_and(|secret| carries_cluster_secret(headers, secret))
}

/// Checks the cluster secret; the `Err` response is what to send instead.
#[allow(clippy::result_large_err)]
pub fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Response<Body>> {
    if app.config.cluster_secret.is_none() {
        return Err(error::plain(
            StatusCode::NOT_FOUND,
            "text/plain",
            "internal endpoints are disabled",
        ));
    }
    if is_cluster_member(app, headers) {
        Ok(())
    } else {
        Err(error::plain(
            StatusCode::FORBIDDEN,
            "text/plain",
            "bad cluster secret",
        ))
    }
}

#[derive(Debug, Deserialize)]
pub struct LeaseRequest {
    pub holder: String,
    pub address: String,
    pub ttl_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeaseState {
    pub holder: String,
    pub address: String,
    pub epoch: u64,
    pub expires_in_ms: u64,
}

/// `POST /internal/leave`: a node shutting down.
#[derive(Debug, Deserialize)]
pub struct Leave {
    pub node_id: String,
}

#[derive(Debug, Deserialize)]
pub struct Heartbeat {
    pub node_id: String,
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    pub node_id: String,
    pub address: String,
    pub primary: bool,
}

/// Where the lease is kept, among the catalog's records.
const LEASE_KEY: &str = "cluster/lease";

/// The lease record as written to the store. Its expiry is wall-clock time, so that it
/// means the same after a restart of the store (a clock stepped back lengthens the
/// current lease by the step, once).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Lease {
    holder: String,
    address: String,
    epoch: u64,
    expires_at_ms: u64,
}

/// The lease record a request leads to: the new record when the lease is free, expired or
/// already the requester's (a renewal keeps the epoch; a new holder increments it), or
/// `None` while another node holds it.
fn grant(current: Option<&Lease>, request: &LeaseRequest, now_ms: u64) -> Option<Lease> {
    let ttl_ms = request.ttl_ms.clamp(100, 60_000);
    let live = current.filter(|l| l.expires_at_ms > now_ms);
    if live.is_some_and(|l| l.holder != request.holder) {
        return None;
    }
    let epoch = current.map_or(0, |l| l.epoch);
    Some(Lease {
        holder: request.holder.clone(),
        address: request.address.clone(),
        epoch: if live.is_some() { epoch } else { epoch + 1 },
        expires_at_ms: now_ms.saturating_add(ttl_ms),
    })
}

/// Writes the lease record, durably.
async fn write_lease(storage: &Storage, lease: &Lease) -> Result<(), StorageError> {
    let record = serde_json::to_vec(lease)
        .map_err(|e| StorageError::Engine(format!("lease record: {e}")))?;
    storage.put_meta(LEASE_KEY, Some(record)).await
}

/// The cluster's state in the store: the primary lease, a record written durably by a
/// conditional write, and the membership list, soft state that nodes renew every few
/// hundred milliseconds.
pub struct ClusterState {
    /// The lease record as last written. Held across the check and the write, so that
    /// the two are one conditional write: no two nodes can both be granted.
    lease: tokio::sync::Mutex<Option<Lease>>,
    members: Mutex<HashMap<String, (String, u64)>>,
}

impl ClusterState {
    /// The state as the store left it: the lease record (if any), no members yet.
    pub fn load(storage: &Storage) -> Result<ClusterState, StorageError> {
        let lease = storage
            .list_meta(LEASE_KEY)?
            .into_iter()
            .find(|(key, _)| key == LEASE_KEY)
            .and_then(|(_, value)| match serde_json::from_slice(&value) {
                Ok(lease) => Some(lease),
                Err(e) => {
                    // The lease is renewed within seconds; a record we cannot read is free.
                    tracing::warn!(error = %e, "unreadable lease record; treating it as free");
                    None
                }
            });
        Ok(ClusterState {
            lease: tokio::sync::Mutex::new(lease),
            members: Mutex::new(HashMap::new()),
        })
    }

    /// Grants or renews the lease if it is free, expired or the requester's, durably
    /// before answering; answers the current holder either way.
    pub async fn acquire(
        &self,
        storage: &Storage,
        request: &LeaseRequest,
        now_ms: u64,
    ) -> Result<LeaseState, StorageError> {
        let mut lease = self.lease.lock().await;
        if let Some(next) = grant(lease.as_ref(), request, now_ms) {
            write_lease(storage, &next).await?;
            *lease = Some(next);
        }
        Ok(match lease.as_ref() {
            Some(l) => LeaseState {
                holder: l.holder.clone(),
                address: l.address.clone(),
                epoch: l.epoch,
                expires_in_ms: l.expires_at_ms.saturating_sub(now_ms),
            },
            None => LeaseState {
                holder: String::new(),
                address: String::new(),
                epoch: 0,
                expires_in_ms: 0,
            },
        })
    }

    /// Whether `fence` (a [`shared::wire::headers::LEASE_FENCE`] value) names the live
    /// lease: its holder, at its epoch, not expired.
    pub async fn holds(&self, fence: &str, now_ms: u64) -> bool {
        let Some((holder, epoch)) = fence.split_once(' ') else {
            return false;
        };
        let lease = self.lease.lock().await;
        lease.as_ref().is_some_and(|l| {
            l.holder == holder && l.epoch.to_string() == epoch && l.expires_at_ms > now_ms
        })
    }

    /// A node shutting down: drops it from the members and, if it holds the lease, ends
    /// the lease now (durably), so that a replica takes over at its next request instead
    /// of when the lease would have lapsed. The epoch stays; the next holder increments it.
    pub async fn leave(
        &self,
        storage: &Storage,
        node_id: &str,
        now_ms: u64,
    ) -> Result<(), StorageError> {
        self.members.lock().remove(node_id);
        let mut lease = self.lease.lock().await;
        let Some(held) = lease
            .as_ref()
            .filter(|l| l.holder == node_id && l.expires_at_ms > now_ms)
        else {
            return Ok(());
        };
        let released = Lease {
            expires_at_ms: now_ms,
            ..held.clone()
        };
        write_lease(storage, &released).await?;
        *lease = Some(released);
        Ok(())
    }

    /// Records a member's heartbeat and lists the live members.
    pub async fn heartbeat(&self, beat: &Heartbeat, now_ms: u64) -> Vec<Member> {
        let primary = self
            .lease
            .lock()
            .await
            .as_ref()
            .filter(|l| l.expires_at_ms > now_ms)
            .map(|l| l.holder.clone());
        let mut members = self.members.lock();
        members.insert(beat.node_id.clone(), (beat.address.clone(), now_ms));
        let timeout_ms = MEMBER_TIMEOUT.as_millis() as u64;
        members.retain(|_, (_, seen_ms)| now_ms.saturating_sub(*seen_ms) < timeout_ms);
        let mut list: Vec<Member> = members
            .iter()
            .map(|(id, (address, _))| Member {
                node_id: id.clone(),
                address: address.clone(),
                primary: primary.as_deref() == Some(id.as_str()),
            })
            .collect();
        list.sort_by(|a, b| {
            b.primary
                .cmp(&a.primary)
                .then_with(|| a.address.cmp(&b.address))
        });
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(holder: &str) -> LeaseRequest {
        LeaseRequest {
            holder: holder.into(),
            address: format!("{holder}:1"),
            ttl_ms: 1000,
        }
    }

    /// Applies `grant` as the store does, returning (holder, epoch) of the record after it.
    fn ask(lease: &mut Option<Lease>, holder: &str, now_ms: u64) -> (String, u64) {
        if let Some(next) = grant(lease.as_ref(), &request(holder), now_ms) {
            *lease = Some(next);
        }
        let l = lease.as_ref().unwrap();
        (l.holder.clone(), l.epoch)
    }

    #[test]
    fn lease_is_exclusive_until_it_expires() {
        let mut lease = None;
        assert_eq!(ask(&mut lease, "a", 10_000), ("a".into(), 1));
        assert_eq!(ask(&mut lease, "b", 10_500), ("a".into(), 1));
        // A renewal keeps the epoch and moves the expiry.
        assert_eq!(ask(&mut lease, "a", 10_600), ("a".into(), 1));
        assert_eq!(ask(&mut lease, "b", 11_500), ("a".into(), 1));
        assert_eq!(ask(&mut lease, "b", 11_600), ("b".into(), 2));
        // The old holder coming back after expiry is a new holder: a new epoch.
        assert_eq!(ask(&mut lease, "a", 13_000), ("a".into(), 3));
    }

    #[test]
    fn ttl_is_clamped() {
        let mut long = request("a");
        long.ttl_ms = u64::MAX;
        let granted = grant(None, &long, 1_000).unwrap();
        assert_eq!(granted.expires_at_ms, 61_000);
    }

    async fn state_with_lease(holder: &str, now_ms: u64) -> (tempfile::TempDir, ClusterState) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), Default::default()).unwrap();
        let state = ClusterState::load(&storage).unwrap();
        state
            .acquire(&storage, &request(holder), now_ms)
            .await
            .unwrap();
        (dir, state)
    }

    #[tokio::test]
    async fn the_lease_survives_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        {
            let storage = Storage::open(dir.path(), Default::default()).unwrap();
            let state = ClusterState::load(&storage).unwrap();
            let a = state.acquire(&storage, &request("a"), 5_000).await.unwrap();
            assert_eq!((a.holder.as_str(), a.epoch), ("a", 1));
        }
        let storage = Storage::open(dir.path(), Default::default()).unwrap();
        let state = ClusterState::load(&storage).unwrap();
        let b = state.acquire(&storage, &request("b"), 5_500).await.unwrap();
        assert_eq!((b.holder.as_str(), b.epoch, b.expires_in_ms), ("a", 1, 500));
    }

    #[tokio::test]
    async fn leaving_ends_the_holders_lease_only() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), Default::default()).unwrap();
        let state = ClusterState::load(&storage).unwrap();
        state.acquire(&storage, &request("a"), 1_000).await.unwrap();
        // Another node leaving changes nothing.
        state.leave(&storage, "b", 1_100).await.unwrap();
        let b = state.acquire(&storage, &request("b"), 1_200).await.unwrap();
        assert_eq!((b.holder.as_str(), b.epoch), ("a", 1));
        // The holder leaving frees the lease at once, for good: reopening keeps it free.
        state.leave(&storage, "a", 1_300).await.unwrap();
        drop(state);
        let state = ClusterState::load(&storage).unwrap();
        let b = state.acquire(&storage, &request("b"), 1_301).await.unwrap();
        assert_eq!((b.holder.as_str(), b.epoch), ("b", 2));
    }

    #[tokio::test]
    async fn members_list_marks_the_primary_and_drops_the_silent() {
        let t0 = 1_000_000;
        let (_dir, state) = state_with_lease("a", t0).await;
        let beat = |id: &str| Heartbeat {
            node_id: id.into(),
            address: format!("{id}:1"),
        };
        state.heartbeat(&beat("b"), t0).await;
        let list = state.heartbeat(&beat("a"), t0).await;
        assert_eq!(list.len(), 2);
        assert!(list[0].primary && list[0].node_id == "a");
        let later = t0 + MEMBER_TIMEOUT.as_millis() as u64 + 1_000;
        let list = state.heartbeat(&beat("a"), later).await;
        assert_eq!(list.len(), 1);
        // The lease expired meanwhile: nobody is marked primary.
        assert!(!list[0].primary);
    }
}
