//! Header names, as constants: the DynamoDB response headers' (inserting a header by `&str`
//! name copies a non-standard name into a fresh allocation on every response), and the
//! cluster's own.

use http::{HeaderMap, HeaderName};
use subtle::ConstantTimeEq;

pub const X_AMZ_CRC32: HeaderName = HeaderName::from_static("x-amz-crc32");
pub const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
/// Names the operation (`DynamoDB_20120810.GetItem`). Looked up by this constant rather
/// than by a `&str`, which `HeaderMap` would parse and validate on every request.
pub const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// Asked for by a dax-proxy node on the item reads it caches (GetItem, BatchGetItem) and
/// answered by the store: the newest change-log sequence number whose change the read sees,
/// taken before the read starts. The node then knows which records of its change feed an
/// entry already reflects, and does not let a late record of an older write replace it.
pub const LOG_POSITION: HeaderName = HeaderName::from_static("x-dax-log-position");

/// On a write a dax-proxy node sends to the store as the cluster's primary: `<node id>
/// <lease epoch>`, the lease it writes under. The store applies the write only while that
/// lease is the live one, so a primary that lost its lease (frozen, cut off) can no longer
/// apply a write it took before, one its client was already told had failed.
pub const LEASE_FENCE: HeaderName = HeaderName::from_static("x-dax-lease");

/// Carries the cluster secret on dax-proxy's calls to the store (and between nodes): the
/// internal endpoints require it, and the store trusts API calls that bear it.
pub const CLUSTER_SECRET: &str = "x-dax-cluster-secret";

/// Set by a dax-proxy node without `--credentials-file` on the API calls it relays (it
/// checked no signature) and on its reads of the change feed. A store (or node) that checks
/// signatures does not trust such a call for its cluster secret; the store refuses it
/// ([`UNVERIFIED_RELAY`]), and such a node's reads of its feed, and says so in
/// [`SIGNATURES_REQUIRED`], so that the node stops answering anyone, from its cache too.
/// The feed is what the node reads all the time, so it learns this within a moment of the
/// store's start with keys, with no call to relay; and it answers again once a page of the
/// feed says the store checks none (`signatures_required` false: a store restarted without
/// keys).
pub const CLIENT_UNVERIFIED: HeaderName = HeaderName::from_static("x-dax-client-unverified");

/// On a store's refusal of a call or feed read [`CLIENT_UNVERIFIED`]: the store checks
/// signatures.
pub const SIGNATURES_REQUIRED: HeaderName = HeaderName::from_static("x-dax-signatures-required");

/// AccessDeniedException's text for a call relayed by a node that checks no signatures to
/// a store that does.
pub const UNVERIFIED_RELAY: &str = "This call came through a dax-proxy node that checks no \
    signatures (started without --credentials-file) while its store checks them: the node \
    needs the store's credentials file";

/// The cluster secret both daemons default to, so that a local cluster needs no setup. It
/// is published (in the README), so it keeps out no one.
pub const DEFAULT_CLUSTER_SECRET: &str = "dax-local-cluster-secret";

/// Checks a daemon's `--cluster-secret` against how it is configured: a call bearing the
/// secret is trusted without a signature (a dax-proxy node checked its client), so beside
/// a `--credentials-file` the published default would let anyone past the signature check
/// the file asks for: refused, naming `env` (the daemon's variable for the flag). The
/// default on an address other than loopback is allowed (no keys: everything is open by
/// design) but warned about.
pub fn check_cluster_secret(
    secret: &str,
    checks_signatures: bool,
    listen: std::net::SocketAddr,
    env: &str,
) -> Result<(), String> {
    if secret != DEFAULT_CLUSTER_SECRET {
        return Ok(());
    }
    if checks_signatures {
        return Err(format!(
            "--credentials-file checks every call's signature, but calls bearing the cluster \
             secret are trusted without one, and --cluster-secret is still the published \
             default: set your own (--cluster-secret or {env}), the same on the store and \
             every dax-proxy node"
        ));
    }
    if !listen.ip().is_loopback() {
        tracing::warn!(%listen, "--cluster-secret is the published default on an address \
            other than loopback: anyone who can reach it can read the change feed and act as \
            a dax-proxy node; set your own ({env})");
    }
    Ok(())
}

/// Whether `headers` carry `secret` in [`CLUSTER_SECRET`] (compared in constant time).
pub fn carries_cluster_secret(headers: &HeaderMap, secret: &str) -> bool {
    headers
        .get(CLUSTER_SECRET)
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(secret.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_secret_is_refused_beside_keys_only() {
        let loopback = "127.0.0.1:8000".parse().unwrap();
        let open = "0.0.0.0:8000".parse().unwrap();
        let refused = check_cluster_secret(DEFAULT_CLUSTER_SECRET, true, loopback, "X_SECRET");
        assert!(refused.is_err_and(|e| e.contains("X_SECRET")));
        // Without keys everything is open by design: only a warning off loopback.
        assert!(check_cluster_secret(DEFAULT_CLUSTER_SECRET, false, loopback, "X").is_ok());
        assert!(check_cluster_secret(DEFAULT_CLUSTER_SECRET, false, open, "X").is_ok());
        assert!(check_cluster_secret("our-own", true, open, "X").is_ok());
    }
}
