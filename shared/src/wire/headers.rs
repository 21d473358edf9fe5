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

/// Carries the cluster secret on dax-proxy's calls to the store (and between nodes): the
/// internal endpoints require it, and the store trusts API calls that bear it.
pub const CLUSTER_SECRET: &str = "x-dax-cluster-secret";

/// Whether `headers` carry `secret` in [`CLUSTER_SECRET`] (compared in constant time).
pub fn carries_cluster_secret(headers: &HeaderMap, secret: &str) -> bool {
    headers
        .get(CLUSTER_SECRET)
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(secret.as_bytes())))
}
