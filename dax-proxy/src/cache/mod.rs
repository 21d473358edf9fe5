//! The node's caches: items (GetItem, BatchGetItem) and query results (Query, Scan), and
//! the generation counters that keep both coherent with the store.

pub mod generations;
pub mod item;
pub mod query;

use axum::http::HeaderValue;
use bytes::Bytes;

/// A response body kept ready to send: the exact bytes and their `x-amz-crc32` header, so
/// that a hit is a reference-count increment and no serialization.
#[derive(Debug, Clone)]
pub struct ReadyBody {
    pub body: Bytes,
    pub crc: HeaderValue,
}

impl ReadyBody {
    pub fn new(body: Bytes) -> Self {
        let crc = HeaderValue::from_str(&shared::wire::crc32::header_value(&body))
            .unwrap_or_else(|_| HeaderValue::from_static("0"));
        ReadyBody { body, crc }
    }

    /// A body to keep in a cache. A body read from the network is a slice of the larger
    /// receive buffer it arrived in, and a cached slice would pin that whole buffer (several
    /// KB for a 1 KB item), so the bytes are copied into an allocation of their own size.
    pub fn to_keep(body: &[u8]) -> Self {
        ReadyBody::new(Bytes::copy_from_slice(body))
    }
}

/// moka weighs entries in u32; our entries are at most a few MB.
fn weight(key_len: usize, body_len: usize) -> u32 {
    // 96 bytes stand for moka's own per-entry bookkeeping and our Arc/headers.
    u32::try_from(key_len + body_len + 96).unwrap_or(u32::MAX)
}
