//! Internal endpoints for dax-proxy nodes: authentication, the primary lease and the
//! cluster's membership list.
//!
//! The lease is a compare-and-set on one record: a node gets it when it is free, expired or
//! already its own, and every change of holder increments the epoch so that a node can tell
//! it lost and regained the role. Lease and members live in the store's memory: they are
//! soft state that nodes renew every few hundred milliseconds, so a restarted store simply
//! hands the lease to the first node that asks (no split brain: there is only one store).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use shared::wire::headers::carries_cluster_secret;

use crate::app::App;
use crate::error;

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

struct Lease {
    holder: String,
    address: String,
    epoch: u64,
    expires: Instant,
}

/// The cluster's soft state.
#[derive(Default)]
pub struct ClusterState {
    lease: Mutex<Option<Lease>>,
    members: Mutex<HashMap<String, (String, Instant)>>,
}

impl ClusterState {
    /// Grants or renews the lease if it is free, expired or the requester's; answers the
    /// current holder either way.
    pub fn acquire(&self, request: &LeaseRequest, now: Instant) -> LeaseState {
        let ttl = Duration::from_millis(request.ttl_ms.clamp(100, 60_000));
        let mut lease = self.lease.lock();
        let epoch = lease.as_ref().map(|l| l.epoch).unwrap_or(0);
        let grant = match lease.as_ref() {
            None => true,
            Some(current) => current.holder == request.holder || current.expires <= now,
        };
        if grant {
            let same_holder = lease
                .as_ref()
                .is_some_and(|l| l.holder == request.holder && l.expires > now);
            *lease = Some(Lease {
                holder: request.holder.clone(),
                address: request.address.clone(),
                epoch: if same_holder { epoch } else { epoch + 1 },
                expires: now + ttl,
            });
        }
        match lease.as_ref() {
            Some(l) => LeaseState {
                holder: l.holder.clone(),
                address: l.address.clone(),
                epoch: l.epoch,
                expires_in_ms: l.expires.saturating_duration_since(now).as_millis() as u64,
            },
            None => LeaseState {
                holder: String::new(),
                address: String::new(),
                epoch: 0,
                expires_in_ms: 0,
            },
        }
    }

    /// Records a member's heartbeat and lists the live members.
    pub fn heartbeat(&self, beat: &Heartbeat, now: Instant) -> Vec<Member> {
        let primary = {
            let lease = self.lease.lock();
            lease
                .as_ref()
                .filter(|l| l.expires > now)
                .map(|l| l.holder.clone())
        };
        let mut members = self.members.lock();
        members.insert(beat.node_id.clone(), (beat.address.clone(), now));
        members.retain(|_, (_, seen)| now.duration_since(*seen) < MEMBER_TIMEOUT);
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

    #[test]
    fn lease_is_exclusive_until_it_expires() {
        let state = ClusterState::default();
        let t0 = Instant::now();
        let a = state.acquire(&request("a"), t0);
        assert_eq!((a.holder.as_str(), a.epoch), ("a", 1));
        let b = state.acquire(&request("b"), t0 + Duration::from_millis(500));
        assert_eq!(b.holder, "a");
        let renewed = state.acquire(&request("a"), t0 + Duration::from_millis(600));
        assert_eq!((renewed.holder.as_str(), renewed.epoch), ("a", 1));
        let taken = state.acquire(&request("b"), t0 + Duration::from_millis(1700));
        assert_eq!((taken.holder.as_str(), taken.epoch), ("b", 2));
    }

    #[test]
    fn members_list_marks_the_primary_and_drops_the_silent() {
        let state = ClusterState::default();
        let t0 = Instant::now();
        state.acquire(&request("a"), t0);
        state.heartbeat(
            &Heartbeat {
                node_id: "b".into(),
                address: "b:1".into(),
            },
            t0,
        );
        let list = state.heartbeat(
            &Heartbeat {
                node_id: "a".into(),
                address: "a:1".into(),
            },
            t0,
        );
        assert_eq!(list.len(), 2);
        assert!(list[0].primary && list[0].node_id == "a");
        let later = t0 + MEMBER_TIMEOUT + Duration::from_secs(1);
        let list = state.heartbeat(
            &Heartbeat {
                node_id: "a".into(),
                address: "a:1".into(),
            },
            later,
        );
        assert_eq!(list.len(), 1);
    }
}
