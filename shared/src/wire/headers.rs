//! Header names, as constants: the DynamoDB response headers' (inserting a header by `&str`
//! name copies a non-standard name into a fresh allocation on every response), and the
//! cluster's own.

use http::HeaderName;

pub const X_AMZ_CRC32: HeaderName = HeaderName::from_static("x-amz-crc32");
pub const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// Carries the cluster secret on dax-proxy's calls to the store (and between nodes): the
/// internal endpoints require it, and the store trusts API calls that bear it.
pub const CLUSTER_SECRET: &str = "x-dax-cluster-secret";
